/*
 * scram.c -- SCRAM-SHA-1 (RFC 5802) and SCRAM-SHA-256 (RFC 7677): credential
 * derivation, the message parsers, and both sides of the conversation as
 * small state machines over byte strings. No sockets and no storage here: the
 * SASL commands (mongod/commands/sasl.c) feed the server side, and
 * wire_scram_authenticate drives the client side over a caller's transport.
 *
 * Every primitive is OpenSSL's; nothing cryptographic is written here. The
 * parsers treat their input as hostile (a client sends it before it is
 * authenticated): every field is length-checked, nothing is NUL-assumed, and
 * tests/fuzz/fuzz_wire_scram.c runs them under libFuzzer.
 *
 * MongoDB's details that differ from the bare RFCs:
 *   - SCRAM-SHA-1 salts hex(MD5(user ":mongo:" password)), not the password;
 *   - salts are hash length - 4 bytes (16 / 28), nonces 24 random bytes in base64;
 *   - the conversation may end one round early (saslStart's
 *     options.skipEmptyExchange), which drivers ask for.
 */
#include "wire/wire.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* WIRE_SCRAM_NONCE_BYTES -- random bytes per nonce (MongoDB's 3 x 8), 32 base64 characters. */
#define WIRE_SCRAM_NONCE_BYTES 24
/* WIRE_SCRAM_MAX_MSG -- no SCRAM message of ours or a client's is near this long. */
#define WIRE_SCRAM_MAX_MSG 4096
/* WIRE_SCRAM_MAX_NONCE -- a client nonce longer than this is refused (ours are 32). */
#define WIRE_SCRAM_MAX_NONCE 512
/* WIRE_SCRAM_MAX_ITERATIONS -- a server asking for more is refused (a cheap denial of service). */
#define WIRE_SCRAM_MAX_ITERATIONS 10000000

/* wire_scram_mech_name -- the SASL mechanism name. */
const char *wire_scram_mech_name(wire_scram_mech_t mech)
{
    return mech == WIRE_SCRAM_SHA1 ? "SCRAM-SHA-1" : "SCRAM-SHA-256";
}

/* wire_scram_mech_by_name -- 0 for anything we do not speak. */
wire_scram_mech_t wire_scram_mech_by_name(const char *name)
{
    if (name != NULL && strcmp(name, "SCRAM-SHA-1") == 0)
        return WIRE_SCRAM_SHA1;
    if (name != NULL && strcmp(name, "SCRAM-SHA-256") == 0)
        return WIRE_SCRAM_SHA256;
    return (wire_scram_mech_t)0;
}

/* wire_scram_hash_len -- the digest length of mech. */
size_t wire_scram_hash_len(wire_scram_mech_t mech)
{
    return mech == WIRE_SCRAM_SHA1 ? 20 : 32;
}

/* md -- OpenSSL's digest for mech. */
static const EVP_MD *md(wire_scram_mech_t mech)
{
    return mech == WIRE_SCRAM_SHA1 ? EVP_sha1() : EVP_sha256();
}

/* wire_scram_wipe_free -- zero then free a NUL-terminated secret. */
void wire_scram_wipe_free(char *secret)
{
    if (secret == NULL)
        return;
    OPENSSL_cleanse(secret, strlen(secret));
    bson_free(secret);
}

/* ------------------------------------------------------------------------ */
/* base64                                                                    */
/* ------------------------------------------------------------------------ */

/* wire_scram_b64_encode -- OpenSSL's EVP_EncodeBlock, bounded by out_cap. */
size_t wire_scram_b64_encode(const uint8_t *in, size_t len, char *out, size_t out_cap)
{
    size_t need = 4 * ((len + 2) / 3) + 1;
    if (out_cap < need || len > INT32_MAX / 2)
        return 0;
    return (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

/* b64_char_ok -- the standard alphabet. */
static bool b64_char_ok(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

/*
 * wire_scram_b64_decode -- strict: length a multiple of 4, only the alphabet,
 * at most two '=' at the very end. EVP_DecodeBlock alone accepts whitespace and
 * counts padding as zero bytes, so the checks come first.
 */
bool wire_scram_b64_decode(const char *in, size_t len, uint8_t *out, size_t out_cap,
                           size_t *out_len)
{
    size_t pad = 0, n;
    uint8_t tmp[3 * (WIRE_SCRAM_MAX_MSG / 4)];

    *out_len = 0;
    if (len % 4 != 0 || len > WIRE_SCRAM_MAX_MSG)
        return false;
    if (len == 0)
        return true;
    if (in[len - 1] == '=')
        pad++;
    if (in[len - 2] == '=')
        pad++;
    if (pad == 1 && in[len - 2] == '=')
        return false;
    for (size_t i = 0; i < len - pad; i++)
        if (!b64_char_ok(in[i]))
            return false;
    n = 3 * (len / 4) - pad;
    if (n > out_cap)
        return false;
    if (EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)len) < 0)
        return false;
    memcpy(out, tmp, n);
    OPENSSL_cleanse(tmp, sizeof(tmp));
    *out_len = n;
    return true;
}

/* ------------------------------------------------------------------------ */
/* Credentials                                                               */
/* ------------------------------------------------------------------------ */

/* hmac -- HMAC(key, data) with mech's digest into out (hash length bytes). */
static int hmac(wire_scram_mech_t mech, const uint8_t *key, size_t klen, const void *data,
                size_t dlen, uint8_t *out, status_t *st)
{
    unsigned int olen = 0;
    if (HMAC(md(mech), key, (int)klen, data, dlen, out, &olen) == NULL ||
        olen != wire_scram_hash_len(mech))
        return status_set(st, ERR_InternalError, "HMAC failed");
    return 0;
}

/* hash -- H(data) with mech's digest. */
static int hash(wire_scram_mech_t mech, const uint8_t *data, size_t len, uint8_t *out, status_t *st)
{
    unsigned int olen = 0;
    if (EVP_Digest(data, len, out, &olen, md(mech), NULL) != 1)
        return status_set(st, ERR_InternalError, "digest failed");
    return 0;
}

/* wire_scram_password_input -- MongoDB's SCRAM-SHA-1 digest, or the password. */
int wire_scram_password_input(wire_scram_mech_t mech, const char *user, const char *password,
                              char **out, status_t *st)
{
    *out = NULL;
    if (password == NULL || password[0] == '\0')
        return status_set(st, ERR_BadValue, "Password cannot be empty");
    if (mech == WIRE_SCRAM_SHA256) {
        *out = bson_strdup(password);
        return 0;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t d[16];
    unsigned int dlen = 0;
    int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, user, strlen(user)) == 1 &&
             EVP_DigestUpdate(ctx, ":mongo:", 7) == 1 &&
             EVP_DigestUpdate(ctx, password, strlen(password)) == 1 &&
             EVP_DigestFinal_ex(ctx, d, &dlen) == 1 && dlen == 16;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return status_set(st, ERR_InternalError, "MD5 digest failed");
    *out = bson_malloc(33);
    for (int i = 0; i < 16; i++)
        (void)snprintf(*out + 2 * i, 3, "%02x", d[i]);
    OPENSSL_cleanse(d, sizeof(d));
    return 0;
}

/* wire_scram_cred_derive -- SaltedPassword, then StoredKey and ServerKey. */
int wire_scram_cred_derive(wire_scram_mech_t mech, const char *password_input, const uint8_t *salt,
                           size_t salt_len, int iterations, wire_scram_cred_t *out, status_t *st)
{
    uint8_t salted[WIRE_SCRAM_MAX_HASH], client_key[WIRE_SCRAM_MAX_HASH];
    size_t hl = wire_scram_hash_len(mech);
    int ret = 0;

    memset(out, 0, sizeof(*out));
    if (salt_len == 0 || salt_len > WIRE_SCRAM_MAX_SALT)
        return status_set(st, ERR_BadValue, "invalid SCRAM salt length %zu", salt_len);
    if (iterations < 1)
        return status_set(st, ERR_BadValue, "invalid SCRAM iteration count %d", iterations);
    if (PKCS5_PBKDF2_HMAC(password_input, (int)strlen(password_input), salt, (int)salt_len,
                          iterations, md(mech), (int)hl, salted) != 1)
        return status_set(st, ERR_InternalError, "PBKDF2 failed");
    out->mech = mech;
    out->iterations = iterations;
    memcpy(out->salt, salt, salt_len);
    out->salt_len = salt_len;
    ST_ERR(hmac(mech, salted, hl, "Client Key", 10, client_key, st));
    ST_ERR(hash(mech, client_key, hl, out->stored_key, st));
    ST_ERR(hmac(mech, salted, hl, "Server Key", 10, out->server_key, st));
err:
    OPENSSL_cleanse(salted, sizeof(salted));
    OPENSSL_cleanse(client_key, sizeof(client_key));
    return ret;
}

/* wire_scram_cred_new -- a random salt, then derive. */
int wire_scram_cred_new(wire_scram_mech_t mech, const char *user, const char *password,
                        int iterations, wire_scram_cred_t *out, status_t *st)
{
    uint8_t salt[WIRE_SCRAM_MAX_HASH];
    size_t salt_len = wire_scram_hash_len(mech) - 4;
    char *input = NULL;
    int ret;

    if (RAND_bytes(salt, (int)salt_len) != 1)
        return status_set(st, ERR_InternalError, "RAND_bytes failed");
    ST_RET(wire_scram_password_input(mech, user, password, &input, st));
    ret = wire_scram_cred_derive(mech, input, salt, salt_len, iterations, out, st);
    wire_scram_wipe_free(input);
    return ret;
}

/* wire_scram_cred_to_bson -- MongoDB's credentials.<mech> sub-document. */
void wire_scram_cred_to_bson(const wire_scram_cred_t *c, bson_t *out)
{
    char b[128];
    size_t hl = wire_scram_hash_len(c->mech);

    BSON_APPEND_INT32(out, "iterationCount", c->iterations);
    wire_scram_b64_encode(c->salt, c->salt_len, b, sizeof(b));
    BSON_APPEND_UTF8(out, "salt", b);
    wire_scram_b64_encode(c->stored_key, hl, b, sizeof(b));
    BSON_APPEND_UTF8(out, "storedKey", b);
    wire_scram_b64_encode(c->server_key, hl, b, sizeof(b));
    BSON_APPEND_UTF8(out, "serverKey", b);
}

/* b64_field -- a base64 string field of exactly want bytes (or up to cap when want is 0). */
static bool b64_field(const bson_t *doc, const char *key, uint8_t *out, size_t cap, size_t want,
                      size_t *got)
{
    bson_iter_t it;
    uint32_t len;
    const char *s;

    if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_UTF8(&it))
        return false;
    s = bson_iter_utf8(&it, &len);
    if (!wire_scram_b64_decode(s, len, out, cap, got) || *got == 0)
        return false;
    return want == 0 || *got == want;
}

/* wire_scram_cred_from_bson -- parse a stored credential. */
int wire_scram_cred_from_bson(wire_scram_mech_t mech, const bson_t *doc, wire_scram_cred_t *out,
                              status_t *st)
{
    bson_iter_t it;
    size_t hl = wire_scram_hash_len(mech), got;

    memset(out, 0, sizeof(*out));
    out->mech = mech;
    if (!bson_iter_init_find(&it, doc, "iterationCount") || !BSON_ITER_HOLDS_NUMBER(&it) ||
        bson_iter_as_int64(&it) < 1 || bson_iter_as_int64(&it) > WIRE_SCRAM_MAX_ITERATIONS)
        return status_set(st, ERR_BadValue, "invalid %s credential: iterationCount",
                          wire_scram_mech_name(mech));
    out->iterations = (int)bson_iter_as_int64(&it);
    if (!b64_field(doc, "salt", out->salt, sizeof(out->salt), 0, &out->salt_len) ||
        !b64_field(doc, "storedKey", out->stored_key, sizeof(out->stored_key), hl, &got) ||
        !b64_field(doc, "serverKey", out->server_key, sizeof(out->server_key), hl, &got))
        return status_set(st, ERR_BadValue, "invalid %s credential", wire_scram_mech_name(mech));
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Message parsing                                                           */
/* ------------------------------------------------------------------------ */

/* attr_t -- one "k=value" attribute of a SCRAM message, a view. */
typedef struct attr {
    char key;
    const char *val;
    size_t len;
} attr_t;

/* next_attr -- the attribute at *p (up to the next ',' or end); false if malformed. */
static bool next_attr(const char **p, const char *end, attr_t *a)
{
    const char *s = *p, *comma;

    if (end - s < 2 || s[1] != '=' ||
        !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return false;
    comma = memchr(s + 2, ',', (size_t)(end - s - 2));
    a->key = s[0];
    a->val = s + 2;
    a->len = (size_t)((comma ? comma : end) - a->val);
    *p = comma ? comma + 1 : end;
    return true;
}

/* printable -- RFC 5802's "printable" (0x21-0x7E except ','): nonces. */
static bool printable(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e || s[i] == ',')
            return false;
    return len > 0;
}

/* has_nul -- a NUL byte inside a message is never valid. */
static bool has_nul(const uint8_t *msg, size_t len)
{
    return memchr(msg, '\0', len) != NULL;
}

/* decode_saslname -- "=2C" -> ',' and "=3D" -> '='; any other '=' is an error. */
static bool decode_saslname(const char *s, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '=') {
            if (len - i < 3)
                return false;
            if (s[i + 1] == '2' && s[i + 2] == 'C')
                c = ',';
            else if (s[i + 1] == '3' && s[i + 2] == 'D')
                c = '=';
            else
                return false;
            i += 2;
        }
        if (o + 1 >= cap)
            return false;
        out[o++] = c;
    }
    out[o] = '\0';
    return o > 0;
}

/* dup_n -- a NUL-terminated copy of s[0..len). */
static char *dup_n(const char *s, size_t len)
{
    char *d = bson_malloc(len + 1);
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

/* bad -- the one error for a malformed SCRAM message (the detail helps a driver author). */
static int bad(status_t *st, const char *what)
{
    return status_set(st, ERR_BadValue, "Invalid SCRAM message: %s", what);
}

/* ------------------------------------------------------------------------ */
/* Server side                                                               */
/* ------------------------------------------------------------------------ */

/* wire_scram_server_init -- nothing received yet. */
void wire_scram_server_init(wire_scram_server_t *s, wire_scram_mech_t mech)
{
    memset(s, 0, sizeof(*s));
    s->mech = mech;
}

/* wire_scram_server_destroy -- free and wipe the conversation's keys. */
void wire_scram_server_destroy(wire_scram_server_t *s)
{
    if (s == NULL)
        return;
    bson_free(s->client_first_bare);
    bson_free(s->server_first);
    bson_free(s->nonce);
    OPENSSL_cleanse(s, sizeof(*s));
}

/* wire_scram_server_parse_first -- gs2 header, then n=user,r=nonce[,ext...]. */
int wire_scram_server_parse_first(wire_scram_server_t *s, const uint8_t *msg, size_t len,
                                  status_t *st)
{
    const char *p = (const char *)msg, *end = p + len, *bare;
    const char *authzid = NULL;
    size_t authzid_len = 0;
    attr_t a;

    if (s->step != 0)
        return bad(st, "client-first-message out of order");
    if (len == 0 || len > WIRE_SCRAM_MAX_MSG || has_nul(msg, len))
        return bad(st, "client-first-message length");
    /* gs2-cbind-flag: 'n' (no binding) or 'y' (client could, thinks we cannot). */
    if (p[0] == 'p')
        return status_set(st, ERR_BadValue, "Server does not support channel binding");
    if ((p[0] != 'n' && p[0] != 'y') || len < 3 || p[1] != ',')
        return bad(st, "gs2 header");
    p += 2;
    if (p < end && p[0] == 'a') {
        if (!next_attr(&p, end, &a) || a.key != 'a' || a.len == 0)
            return bad(st, "authzid");
        authzid = a.val;
        authzid_len = a.len;
    } else {
        if (p >= end || p[0] != ',')
            return bad(st, "gs2 header");
        p++;
    }
    bare = p;
    if ((size_t)(bare - (const char *)msg) >= sizeof(s->gs2_header))
        return bad(st, "gs2 header");
    memcpy(s->gs2_header, msg, (size_t)(bare - (const char *)msg));
    s->gs2_header[bare - (const char *)msg] = '\0';
    if (p < end && p[0] == 'm')
        return bad(st, "mandatory extension not supported");
    if (!next_attr(&p, end, &a) || a.key != 'n' ||
        !decode_saslname(a.val, a.len, s->user, sizeof(s->user)))
        return bad(st, "user name");
    if (authzid != NULL &&
        (authzid_len != strlen(s->user) || memcmp(authzid, s->user, authzid_len) != 0))
        return status_set(st, ERR_BadValue,
                          "SCRAM user name does not match the authorization identity");
    if (!next_attr(&p, end, &a) || a.key != 'r' || a.len > WIRE_SCRAM_MAX_NONCE ||
        !printable(a.val, a.len))
        return bad(st, "client nonce");
    /* extensions after the nonce are allowed and ignored (RFC 5802 5.1) */
    while (p < end)
        if (!next_attr(&p, end, &a))
            return bad(st, "attribute");
    s->nonce = dup_n(a.val, a.len); /* the client's part for now */
    s->client_first_bare = dup_n(bare, (size_t)(end - bare));
    return 0;
}

/* wire_scram_server_first -- r=<client+server nonce>,s=<salt>,i=<iterations>. */
int wire_scram_server_first(wire_scram_server_t *s, const wire_scram_cred_t *cred,
                            const char *server_nonce, char **out, status_t *st)
{
    char snonce[64], salt[128];
    uint8_t rnd[WIRE_SCRAM_NONCE_BYTES];

    *out = NULL;
    if (s->step != 0 || s->nonce == NULL)
        return bad(st, "server-first-message out of order");
    if (cred->mech != s->mech)
        return status_set(st, ERR_InternalError, "credential of another mechanism");
    if (server_nonce == NULL) {
        if (RAND_bytes(rnd, sizeof(rnd)) != 1)
            return status_set(st, ERR_InternalError, "RAND_bytes failed");
        wire_scram_b64_encode(rnd, sizeof(rnd), snonce, sizeof(snonce));
        server_nonce = snonce;
    }
    s->cred = *cred;
    char *combined = bson_strdup_printf("%s%s", s->nonce, server_nonce);
    bson_free(s->nonce);
    s->nonce = combined;
    wire_scram_b64_encode(cred->salt, cred->salt_len, salt, sizeof(salt));
    s->server_first = bson_strdup_printf("r=%s,s=%s,i=%d", s->nonce, salt, cred->iterations);
    *out = bson_strdup(s->server_first);
    s->step = 1;
    return 0;
}

/* wire_scram_server_final -- c=<binding>,r=<nonce>[,ext],p=<proof> -> v=<signature>. */
int wire_scram_server_final(wire_scram_server_t *s, const uint8_t *msg, size_t len, char **out,
                            status_t *st)
{
    const char *p = (const char *)msg, *end = p + len, *proof_at = NULL;
    size_t hl = wire_scram_hash_len(s->mech), got;
    uint8_t bind[WIRE_SCRAM_MAX_USER + 16], proof[WIRE_SCRAM_MAX_HASH];
    uint8_t client_sig[WIRE_SCRAM_MAX_HASH], client_key[WIRE_SCRAM_MAX_HASH];
    uint8_t stored[WIRE_SCRAM_MAX_HASH], server_sig[WIRE_SCRAM_MAX_HASH];
    char sig64[64];
    bson_string_t *auth = NULL;
    attr_t a;
    int ret = 0;

    *out = NULL;
    if (s->step != 1)
        return bad(st, "client-final-message out of order");
    if (len == 0 || len > WIRE_SCRAM_MAX_MSG || has_nul(msg, len))
        return bad(st, "client-final-message length");
    if (!next_attr(&p, end, &a) || a.key != 'c' ||
        !wire_scram_b64_decode(a.val, a.len, bind, sizeof(bind), &got) ||
        got != strlen(s->gs2_header) || memcmp(bind, s->gs2_header, got) != 0)
        return bad(st, "channel binding");
    if (!next_attr(&p, end, &a) || a.key != 'r' || a.len != strlen(s->nonce) ||
        memcmp(a.val, s->nonce, a.len) != 0)
        return bad(st, "nonce");
    for (;;) {
        const char *at = p;
        if (p >= end || !next_attr(&p, end, &a))
            return bad(st, "missing proof");
        if (a.key == 'p') {
            proof_at = at;
            break;
        }
    }
    if (p != end || !wire_scram_b64_decode(a.val, a.len, proof, sizeof(proof), &got) || got != hl)
        return bad(st, "proof");

    auth = bson_string_new(s->client_first_bare);
    bson_string_append_c(auth, ',');
    bson_string_append(auth, s->server_first);
    bson_string_append_c(auth, ',');
    bson_string_append_printf(auth, "%.*s", (int)(proof_at - 1 - (const char *)msg),
                              (const char *)msg);
    ST_ERR(hmac(s->mech, s->cred.stored_key, hl, auth->str, auth->len, client_sig, st));
    for (size_t i = 0; i < hl; i++)
        client_key[i] = proof[i] ^ client_sig[i];
    ST_ERR(hash(s->mech, client_key, hl, stored, st));
    if (CRYPTO_memcmp(stored, s->cred.stored_key, hl) != 0) {
        ret = status_set(st, ERR_AuthenticationFailed, "Authentication failed.");
        goto err;
    }
    ST_ERR(hmac(s->mech, s->cred.server_key, hl, auth->str, auth->len, server_sig, st));
    wire_scram_b64_encode(server_sig, hl, sig64, sizeof(sig64));
    *out = bson_strdup_printf("v=%s", sig64);
    s->step = 2;
err:
    if (auth != NULL)
        bson_string_free(auth, true);
    OPENSSL_cleanse(client_key, sizeof(client_key));
    OPENSSL_cleanse(proof, sizeof(proof));
    return ret;
}

/* ------------------------------------------------------------------------ */
/* Client side                                                               */
/* ------------------------------------------------------------------------ */

/* wire_scram_client_init_input -- keep the password input for the proof. */
int wire_scram_client_init_input(wire_scram_client_t *c, wire_scram_mech_t mech,
                                 const char *password_input, status_t *st)
{
    memset(c, 0, sizeof(*c));
    if (mech != WIRE_SCRAM_SHA1 && mech != WIRE_SCRAM_SHA256)
        return status_set(st, ERR_BadValue, "unknown SCRAM mechanism");
    c->mech = mech;
    c->password_input = bson_strdup(password_input);
    return 0;
}

/* wire_scram_client_init -- derive the password input from user and password. */
int wire_scram_client_init(wire_scram_client_t *c, wire_scram_mech_t mech, const char *user,
                           const char *password, status_t *st)
{
    char *input = NULL;
    memset(c, 0, sizeof(*c));
    ST_RET(wire_scram_password_input(mech, user, password, &input, st));
    c->mech = mech;
    c->password_input = input;
    return 0;
}

/* wire_scram_client_destroy -- wipe the password and free. */
void wire_scram_client_destroy(wire_scram_client_t *c)
{
    if (c == NULL)
        return;
    wire_scram_wipe_free(c->password_input);
    bson_free(c->client_first_bare);
    bson_free(c->client_nonce);
    OPENSSL_cleanse(c, sizeof(*c));
}

/* wire_scram_client_first -- "n,,n=<user escaped>,r=<nonce>". */
int wire_scram_client_first(wire_scram_client_t *c, const char *user, const char *nonce, char **out,
                            status_t *st)
{
    char rnd64[64];
    uint8_t rnd[WIRE_SCRAM_NONCE_BYTES];
    bson_string_t *b;

    *out = NULL;
    if (c->step != 0 || user == NULL || user[0] == '\0' || strlen(user) > WIRE_SCRAM_MAX_USER)
        return status_set(st, ERR_BadValue, "invalid SCRAM user name");
    if (nonce == NULL) {
        if (RAND_bytes(rnd, sizeof(rnd)) != 1)
            return status_set(st, ERR_InternalError, "RAND_bytes failed");
        wire_scram_b64_encode(rnd, sizeof(rnd), rnd64, sizeof(rnd64));
        nonce = rnd64;
    }
    c->client_nonce = bson_strdup(nonce);
    b = bson_string_new("n=");
    for (const char *u = user; *u; u++) {
        if (*u == ',')
            bson_string_append(b, "=2C");
        else if (*u == '=')
            bson_string_append(b, "=3D");
        else
            bson_string_append_c(b, *u);
    }
    bson_string_append_printf(b, ",r=%s", nonce);
    c->client_first_bare = bson_string_free(b, false);
    *out = bson_strdup_printf("n,,%s", c->client_first_bare);
    c->step = 1;
    return 0;
}

/* wire_scram_client_final -- parse r,s,i; prove knowledge of the password. */
int wire_scram_client_final(wire_scram_client_t *c, const uint8_t *msg, size_t len, char **out,
                            status_t *st)
{
    const char *p = (const char *)msg, *end = p + len;
    attr_t r, s, i;
    uint8_t salt[WIRE_SCRAM_MAX_SALT], client_sig[WIRE_SCRAM_MAX_HASH];
    uint8_t salted[WIRE_SCRAM_MAX_HASH], client_key[WIRE_SCRAM_MAX_HASH];
    uint8_t stored[WIRE_SCRAM_MAX_HASH], server_key[WIRE_SCRAM_MAX_HASH];
    uint8_t proof[WIRE_SCRAM_MAX_HASH];
    size_t hl = wire_scram_hash_len(c->mech), salt_len;
    char num[16], proof64[64], *final_np = NULL;
    bson_string_t *auth = NULL;
    long iters;
    int ret = 0;

    *out = NULL;
    if (c->step != 1)
        return bad(st, "server-first-message out of order");
    if (len == 0 || len > WIRE_SCRAM_MAX_MSG || has_nul(msg, len))
        return bad(st, "server-first-message length");
    if (p[0] == 'm')
        return bad(st, "mandatory extension not supported");
    if (!next_attr(&p, end, &r) || r.key != 'r' || !next_attr(&p, end, &s) || s.key != 's' ||
        !next_attr(&p, end, &i) || i.key != 'i')
        return bad(st, "server-first-message");
    if (r.len <= strlen(c->client_nonce) || r.len > WIRE_SCRAM_MAX_NONCE ||
        memcmp(r.val, c->client_nonce, strlen(c->client_nonce)) != 0 || !printable(r.val, r.len))
        return bad(st, "server nonce does not extend the client nonce");
    if (!wire_scram_b64_decode(s.val, s.len, salt, sizeof(salt), &salt_len) || salt_len == 0)
        return bad(st, "salt");
    if (i.len == 0 || i.len >= sizeof(num))
        return bad(st, "iteration count");
    memcpy(num, i.val, i.len);
    num[i.len] = '\0';
    for (size_t k = 0; k < i.len; k++)
        if (num[k] < '0' || num[k] > '9')
            return bad(st, "iteration count");
    iters = strtol(num, NULL, 10);
    if (iters < WIRE_SCRAM_MIN_ITERATIONS || iters > WIRE_SCRAM_MAX_ITERATIONS)
        return status_set(st, ERR_BadValue, "SCRAM iteration count %ld is out of range", iters);

    if (PKCS5_PBKDF2_HMAC(c->password_input, (int)strlen(c->password_input), salt, (int)salt_len,
                          (int)iters, md(c->mech), (int)hl, salted) != 1)
        return status_set(st, ERR_InternalError, "PBKDF2 failed");
    final_np = bson_strdup_printf("c=biws,r=%.*s", (int)r.len, r.val);
    auth = bson_string_new(c->client_first_bare);
    bson_string_append_printf(auth, ",%.*s,%s", (int)len, (const char *)msg, final_np);
    ST_ERR(hmac(c->mech, salted, hl, "Client Key", 10, client_key, st));
    ST_ERR(hash(c->mech, client_key, hl, stored, st));
    ST_ERR(hmac(c->mech, stored, hl, auth->str, auth->len, client_sig, st));
    for (size_t k = 0; k < hl; k++)
        proof[k] = client_key[k] ^ client_sig[k];
    ST_ERR(hmac(c->mech, salted, hl, "Server Key", 10, server_key, st));
    ST_ERR(hmac(c->mech, server_key, hl, auth->str, auth->len, c->server_signature, st));
    wire_scram_b64_encode(proof, hl, proof64, sizeof(proof64));
    *out = bson_strdup_printf("%s,p=%s", final_np, proof64);
    c->step = 2;
err:
    bson_free(final_np);
    if (auth != NULL)
        bson_string_free(auth, true);
    OPENSSL_cleanse(salted, sizeof(salted));
    OPENSSL_cleanse(client_key, sizeof(client_key));
    OPENSSL_cleanse(server_key, sizeof(server_key));
    return ret;
}

/* wire_scram_client_verify -- "v=<ServerSignature>", compared in constant time. */
int wire_scram_client_verify(wire_scram_client_t *c, const uint8_t *msg, size_t len, status_t *st)
{
    const char *p = (const char *)msg, *end = p + len;
    uint8_t sig[WIRE_SCRAM_MAX_HASH];
    size_t hl = wire_scram_hash_len(c->mech), got;
    attr_t v;

    if (c->step != 2)
        return bad(st, "server-final-message out of order");
    if (len == 0 || len > WIRE_SCRAM_MAX_MSG || has_nul(msg, len) || !next_attr(&p, end, &v))
        return bad(st, "server-final-message");
    if (v.key == 'e')
        return status_set(st, ERR_AuthenticationFailed, "Authentication failed.");
    if (v.key != 'v' || !wire_scram_b64_decode(v.val, v.len, sig, sizeof(sig), &got) || got != hl ||
        CRYPTO_memcmp(sig, c->server_signature, hl) != 0)
        return status_set(st, ERR_AuthenticationFailed,
                          "Authentication failed: the server's signature does not match");
    c->step = 3;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The client conversation over saslStart / saslContinue                     */
/* ------------------------------------------------------------------------ */

/* reply_payload -- {ok, conversationId, done, payload} of a SASL reply. */
static int reply_payload(const bson_t *reply, int32_t *conv, bool *done, const uint8_t **payload,
                         uint32_t *plen, status_t *st)
{
    bson_iter_t it;
    bson_subtype_t sub;

    if (bson_iter_init_find(&it, reply, "ok") && !bson_iter_as_bool(&it)) {
        int code = ERR_AuthenticationFailed;
        const char *msg = "Authentication failed.";
        if (bson_iter_init_find(&it, reply, "code") && BSON_ITER_HOLDS_NUMBER(&it))
            code = (int)bson_iter_as_int64(&it);
        if (bson_iter_init_find(&it, reply, "errmsg") && BSON_ITER_HOLDS_UTF8(&it))
            msg = bson_iter_utf8(&it, NULL);
        return status_set(st, code, "%s", msg);
    }
    if (!bson_iter_init_find(&it, reply, "conversationId") || !BSON_ITER_HOLDS_NUMBER(&it))
        return status_set(st, ERR_ProtocolError, "SASL reply without conversationId");
    *conv = (int32_t)bson_iter_as_int64(&it);
    *done = bson_iter_init_find(&it, reply, "done") && bson_iter_as_bool(&it);
    if (!bson_iter_init_find(&it, reply, "payload") || !BSON_ITER_HOLDS_BINARY(&it))
        return status_set(st, ERR_ProtocolError, "SASL reply without payload");
    bson_iter_binary(&it, &sub, plen, payload);
    return 0;
}

/* wire_scram_authenticate -- saslStart, then saslContinue until done. */
int wire_scram_authenticate(wire_scram_mech_t mech, const char *db, const char *user,
                            const char *password_input, wire_scram_call_fn call, void *ctx,
                            status_t *st)
{
    wire_scram_client_t c;
    char *first = NULL, *final = NULL;
    bson_t cmd, reply, opts;
    const uint8_t *payload;
    uint32_t plen;
    int32_t conv;
    bool done;
    int ret = 0;

    bson_init(&reply);
    ST_ERR(wire_scram_client_init_input(&c, mech, password_input, st));
    ST_ERR(wire_scram_client_first(&c, user, NULL, &first, st));
    bson_init(&cmd);
    BSON_APPEND_INT32(&cmd, "saslStart", 1);
    BSON_APPEND_UTF8(&cmd, "mechanism", wire_scram_mech_name(mech));
    BSON_APPEND_BINARY(&cmd, "payload", BSON_SUBTYPE_BINARY, (const uint8_t *)first,
                       (uint32_t)strlen(first));
    BSON_APPEND_BOOL(&cmd, "autoAuthorize", true);
    BSON_APPEND_DOCUMENT_BEGIN(&cmd, "options", &opts);
    BSON_APPEND_BOOL(&opts, "skipEmptyExchange", true);
    bson_append_document_end(&cmd, &opts);
    bson_destroy(&reply);
    ret = call(ctx, db, &cmd, &reply, st);
    bson_destroy(&cmd);
    ST_ERR(ret);
    ST_ERR(reply_payload(&reply, &conv, &done, &payload, &plen, st));
    ST_ERR(wire_scram_client_final(&c, payload, plen, &final, st));
    bson_init(&cmd);
    BSON_APPEND_INT32(&cmd, "saslContinue", 1);
    BSON_APPEND_INT32(&cmd, "conversationId", conv);
    BSON_APPEND_BINARY(&cmd, "payload", BSON_SUBTYPE_BINARY, (const uint8_t *) final,
                       (uint32_t)strlen(final));
    bson_destroy(&reply);
    ret = call(ctx, db, &cmd, &reply, st);
    bson_destroy(&cmd);
    ST_ERR(ret);
    ST_ERR(reply_payload(&reply, &conv, &done, &payload, &plen, st));
    ST_ERR(wire_scram_client_verify(&c, payload, plen, st));
    if (!done) {
        bson_init(&cmd);
        BSON_APPEND_INT32(&cmd, "saslContinue", 1);
        BSON_APPEND_INT32(&cmd, "conversationId", conv);
        BSON_APPEND_BINARY(&cmd, "payload", BSON_SUBTYPE_BINARY, (const uint8_t *)"", 0);
        bson_destroy(&reply);
        ret = call(ctx, db, &cmd, &reply, st);
        bson_destroy(&cmd);
        ST_ERR(ret);
        ST_ERR(reply_payload(&reply, &conv, &done, &payload, &plen, st));
        if (!done)
            ret = status_set(st, ERR_ProtocolError, "SASL conversation did not finish");
    }
err:
    bson_destroy(&reply);
    bson_free(first);
    if (final != NULL)
        wire_scram_wipe_free(final);
    wire_scram_client_destroy(&c);
    return ret;
}

/* ------------------------------------------------------------------------ */
/* The client conversation as a wire_client_auth_t (intra-cluster pools)     */
/* ------------------------------------------------------------------------ */

/* auth_arg_t -- who to be: shared by every connection of a pool. */
typedef struct auth_arg {
    wire_scram_mech_t mech;
    char db[64];
    char user[WIRE_SCRAM_MAX_USER + 1];
    char *password_input;
} auth_arg_t;

/* auth_state_t -- one connection's conversation. */
typedef struct auth_state {
    wire_scram_client_t c;
    int32_t conv;
    int step; /* 1 saslStart sent, 2 proof sent, 3 closing round sent */
} auth_state_t;

/* sasl_cmd -- saslStart or saslContinue with a payload. */
static void sasl_cmd(const auth_arg_t *a, const auth_state_t *s, const char *payload, bson_t *cmd)
{
    if (s->step == 0) {
        bson_t opts;
        BSON_APPEND_INT32(cmd, "saslStart", 1);
        BSON_APPEND_UTF8(cmd, "mechanism", wire_scram_mech_name(a->mech));
        BSON_APPEND_BINARY(cmd, "payload", BSON_SUBTYPE_BINARY, (const uint8_t *)payload,
                           (uint32_t)strlen(payload));
        BSON_APPEND_DOCUMENT_BEGIN(cmd, "options", &opts);
        BSON_APPEND_BOOL(&opts, "skipEmptyExchange", true);
        bson_append_document_end(cmd, &opts);
    } else {
        BSON_APPEND_INT32(cmd, "saslContinue", 1);
        BSON_APPEND_INT32(cmd, "conversationId", s->conv);
        BSON_APPEND_BINARY(cmd, "payload", BSON_SUBTYPE_BINARY, (const uint8_t *)payload,
                           (uint32_t)strlen(payload));
    }
    BSON_APPEND_UTF8(cmd, "$db", a->db);
}

/* auth_step -- wire_client_auth_t.step: one SCRAM round per reply. */
static int auth_step(void *arg, void **state, const char *host, const bson_t *reply,
                     bson_t *next_cmd, status_t *st)
{
    auth_arg_t *a = arg;
    auth_state_t *s = *state;
    const uint8_t *payload;
    uint32_t plen;
    char *out = NULL;
    bool done;
    int ret = 0;

    (void)host;
    if (s == NULL) { /* the hello reply: start */
        s = bson_malloc0(sizeof(*s));
        *state = s;
        ST_RET(wire_scram_client_init_input(&s->c, a->mech, a->password_input, st));
        ST_RET(wire_scram_client_first(&s->c, a->user, NULL, &out, st));
        sasl_cmd(a, s, out, next_cmd);
        bson_free(out);
        s->step = 1;
        return 0;
    }
    ST_RET(reply_payload(reply, &s->conv, &done, &payload, &plen, st));
    switch (s->step) {
    case 1:
        ST_RET(wire_scram_client_final(&s->c, payload, plen, &out, st));
        sasl_cmd(a, s, out, next_cmd);
        wire_scram_wipe_free(out);
        s->step = 2;
        return 0;
    case 2:
        ST_RET(wire_scram_client_verify(&s->c, payload, plen, st));
        if (done)
            return 0; /* authenticated: next_cmd stays empty */
        sasl_cmd(a, s, "", next_cmd);
        s->step = 3;
        return 0;
    default:
        if (!done)
            ret = status_set(st, ERR_ProtocolError, "SASL conversation did not finish");
        return ret;
    }
}

/* auth_free_state -- a connection's conversation is over. */
static void auth_free_state(void *arg, void *state)
{
    auth_state_t *s = state;
    (void)arg;
    wire_scram_client_destroy(&s->c);
    bson_free(s);
}

/* wire_scram_client_auth_init -- a wire_client_auth_t that logs every new connection in. */
int wire_scram_client_auth_init(wire_client_auth_t *out, wire_scram_mech_t mech, const char *db,
                                const char *user, const char *password_input, status_t *st)
{
    auth_arg_t *a;
    memset(out, 0, sizeof(*out));
    if (strlen(db) >= sizeof(a->db) || strlen(user) > WIRE_SCRAM_MAX_USER)
        return status_set(st, ERR_BadValue, "user or database name too long");
    a = bson_malloc0(sizeof(*a));
    a->mech = mech;
    memcpy(a->db, db, strlen(db) + 1);
    memcpy(a->user, user, strlen(user) + 1);
    a->password_input = bson_strdup(password_input);
    out->step = auth_step;
    out->free_state = auth_free_state;
    out->arg = a;
    return 0;
}

/* wire_scram_client_auth_destroy -- after the pools using it are gone; wipes the password. */
void wire_scram_client_auth_destroy(wire_client_auth_t *auth)
{
    auth_arg_t *a = auth ? auth->arg : NULL;
    if (a == NULL)
        return;
    wire_scram_wipe_free(a->password_input);
    bson_free(a);
    auth->arg = NULL;
}

/*
 * test_scram.c -- SCRAM-SHA-1 and SCRAM-SHA-256 (wire/scram.c): the RFC 5802
 * and RFC 7677 test vectors on both sides of the conversation, MongoDB's
 * SCRAM-SHA-1 password digest and its driver-spec conversation, round trips,
 * a wrong password, and a table of malformed messages each side must refuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "wire/wire.h"

/* vector_t -- one published conversation. */
typedef struct vector {
    const char *name;
    wire_scram_mech_t mech;
    const char *password_input; /* what SCRAM salts (MongoDB's digest for SHA-1) */
    const char *client_nonce;
    const char *server_nonce; /* the part the server appends */
    const char *salt64;
    int iterations;
    const char *client_first;
    const char *server_first;
    const char *client_final;
    const char *server_final;
} vector_t;

static const vector_t vectors[] = {
    {"RFC 5802 (SCRAM-SHA-1)", WIRE_SCRAM_SHA1, "pencil", "fyko+d2lbbFgONRv9qkxdawL",
     "3rfcNHYJY1ZVvWVs7j", "QSXCR+Q6sek8bf92", 4096, "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
     "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
     "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
     "v=rmF9pqV8S7suAoZWja4dJRkFsKQ="},
    {"RFC 7677 (SCRAM-SHA-256)", WIRE_SCRAM_SHA256, "pencil", "rOprNGfwEbeRWgbNEkqO",
     "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0", "W22ZaJ0SNY7soEsUEjb6gQ==", 4096,
     "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
     "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
     "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+"
     "Ute9ytag9zjfMHgsq"
     "mmiz7AndVQ=",
     "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="},
};

/* cred_for -- the stored credential a server would hold for v. */
static void cred_for(const vector_t *v, wire_scram_cred_t *cred)
{
    uint8_t salt[64];
    size_t n;
    status_t st = STATUS_INIT;
    assert_true(wire_scram_b64_decode(v->salt64, strlen(v->salt64), salt, sizeof(salt), &n));
    assert_int_equal(
        wire_scram_cred_derive(v->mech, v->password_input, salt, n, v->iterations, cred, &st), 0);
}

/* rfc_vectors_client_side -- the client produces exactly the published messages. */
static void test_rfc_vectors_client_side(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        const vector_t *v = &vectors[i];
        wire_scram_client_t c;
        status_t st = STATUS_INIT;
        char *out = NULL;
        assert_int_equal(wire_scram_client_init_input(&c, v->mech, v->password_input, &st), 0);
        assert_int_equal(wire_scram_client_first(&c, "user", v->client_nonce, &out, &st), 0);
        assert_string_equal(out, v->client_first);
        bson_free(out);
        assert_int_equal(wire_scram_client_final(&c, (const uint8_t *)v->server_first,
                                                 strlen(v->server_first), &out, &st),
                         0);
        assert_string_equal(out, v->client_final);
        bson_free(out);
        assert_int_equal(wire_scram_client_verify(&c, (const uint8_t *)v->server_final,
                                                  strlen(v->server_final), &st),
                         0);
        wire_scram_client_destroy(&c);
    }
}

/* rfc_vectors_server_side -- the server accepts the published proof and signs as published. */
static void test_rfc_vectors_server_side(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        const vector_t *v = &vectors[i];
        wire_scram_server_t s;
        wire_scram_cred_t cred;
        status_t st = STATUS_INIT;
        char *out = NULL;
        cred_for(v, &cred);
        wire_scram_server_init(&s, v->mech);
        assert_int_equal(wire_scram_server_parse_first(&s, (const uint8_t *)v->client_first,
                                                       strlen(v->client_first), &st),
                         0);
        assert_string_equal(s.user, "user");
        assert_int_equal(wire_scram_server_first(&s, &cred, v->server_nonce, &out, &st), 0);
        assert_string_equal(out, v->server_first);
        bson_free(out);
        assert_int_equal(wire_scram_server_final(&s, (const uint8_t *)v->client_final,
                                                 strlen(v->client_final), &out, &st),
                         0);
        assert_string_equal(out, v->server_final);
        bson_free(out);
        wire_scram_server_destroy(&s);
    }
}

/* mongodb_sha1_digest -- SCRAM-SHA-1 salts hex(MD5("user:mongo:pencil")). */
static void test_mongodb_sha1_digest(void **state)
{
    status_t st = STATUS_INIT;
    char *d = NULL;
    (void)state;
    assert_int_equal(wire_scram_password_input(WIRE_SCRAM_SHA1, "user", "pencil", &d, &st), 0);
    assert_string_equal(d, "1c33006ec1ffd90f9cadcbcc0e118200");
    wire_scram_wipe_free(d);
    assert_int_equal(wire_scram_password_input(WIRE_SCRAM_SHA256, "user", "pencil", &d, &st), 0);
    assert_string_equal(d, "pencil");
    wire_scram_wipe_free(d);
    assert_int_equal(wire_scram_password_input(WIRE_SCRAM_SHA256, "user", "", &d, &st),
                     ERR_BadValue);
}

/* converse -- a full exchange between our client (password pw) and server (cred). */
static int converse(wire_scram_mech_t mech, const char *user, const char *pw,
                    const wire_scram_cred_t *cred, status_t *st)
{
    wire_scram_client_t c;
    wire_scram_server_t s;
    char *m1 = NULL, *m2 = NULL, *m3 = NULL, *m4 = NULL;
    int ret = 0;

    wire_scram_server_init(&s, mech);
    ST_ERR(wire_scram_client_init(&c, mech, user, pw, st));
    ST_ERR(wire_scram_client_first(&c, user, NULL, &m1, st));
    ST_ERR(wire_scram_server_parse_first(&s, (uint8_t *)m1, strlen(m1), st));
    assert_string_equal(s.user, user);
    ST_ERR(wire_scram_server_first(&s, cred, NULL, &m2, st));
    ST_ERR(wire_scram_client_final(&c, (uint8_t *)m2, strlen(m2), &m3, st));
    ST_ERR(wire_scram_server_final(&s, (uint8_t *)m3, strlen(m3), &m4, st));
    ST_ERR(wire_scram_client_verify(&c, (uint8_t *)m4, strlen(m4), st));
err:
    bson_free(m1);
    bson_free(m2);
    bson_free(m3);
    bson_free(m4);
    wire_scram_client_destroy(&c);
    wire_scram_server_destroy(&s);
    return ret;
}

/* round_trip_and_wrong_password -- fresh credentials; a wrong password is AuthenticationFailed. */
static void test_round_trip_and_wrong_password(void **state)
{
    static const wire_scram_mech_t mechs[] = {WIRE_SCRAM_SHA1, WIRE_SCRAM_SHA256};
    static const char *const users[] = {"alice", "we,ird=name"};
    (void)state;
    for (size_t m = 0; m < 2; m++) {
        for (size_t u = 0; u < 2; u++) {
            wire_scram_cred_t cred, back;
            status_t st = STATUS_INIT;
            bson_t doc = BSON_INITIALIZER;
            assert_int_equal(wire_scram_cred_new(mechs[m], users[u], "s3cret", 4096, &cred, &st),
                             0);
            assert_int_equal(cred.salt_len, wire_scram_hash_len(mechs[m]) - 4);
            /* stored as MongoDB stores it, and read back */
            wire_scram_cred_to_bson(&cred, &doc);
            assert_int_equal(wire_scram_cred_from_bson(mechs[m], &doc, &back, &st), 0);
            assert_memory_equal(&back, &cred, sizeof(cred));
            bson_destroy(&doc);
            assert_int_equal(converse(mechs[m], users[u], "s3cret", &cred, &st), 0);
            status_reset(&st);
            assert_int_equal(converse(mechs[m], users[u], "wrong", &cred, &st),
                             ERR_AuthenticationFailed);
            assert_string_equal(st.msg, "Authentication failed.");
        }
    }
}

/* bad_client_first -- malformed client-first-messages the server refuses (BadValue). */
static void test_bad_client_first(void **state)
{
    static const char *const cases[] = {
        "",                        /* empty */
        "p=tls-unique,,n=u,r=abc", /* channel binding */
        "x,,n=u,r=abc",            /* unknown flag */
        "n,n=u,r=abc",             /* missing authzid comma */
        "n,,r=abc",                /* no user */
        "n,,n=,r=abc",             /* empty user */
        "n,,n=u=2X,r=abc",         /* bad escape */
        "n,,n=u=2",                /* truncated escape */
        "n,,n=u",                  /* no nonce */
        "n,,n=u,r=",               /* empty nonce */
        "n,,n=u,r=a b",            /* nonce not printable */
        "n,,m=ext,n=u,r=abc",      /* mandatory extension */
        "n,a=other,n=u,r=abc",     /* authzid differs */
        "n,,n=u,r=abc,junk",       /* not an attribute */
        "n,,n=u,r=abc,=x",         /* empty key */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        wire_scram_server_t s;
        status_t st = STATUS_INIT;
        wire_scram_server_init(&s, WIRE_SCRAM_SHA256);
        int rc =
            wire_scram_server_parse_first(&s, (const uint8_t *)cases[i], strlen(cases[i]), &st);
        if (rc != ERR_BadValue)
            fail_msg("case %zu (%s) gave %d", i, cases[i], rc);
        wire_scram_server_destroy(&s);
    }
}

/* bad_client_final -- after a good first round, malformed finals are refused. */
static void test_bad_client_final(void **state)
{
    const vector_t *v = &vectors[1];
    static const char *const cases[] = {
        "",
        "c=biws",
        "c=eSws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=AAAA", /* binding "y,," */
        "c=biws,r=rOprNGfwEbeRWgbNEkqO,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", /* nonce */
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",        /* no proof */
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=AAAA", /* short */
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjf"
        "MHgsqmmiz7AndVQ=,x=1", /* after the proof */
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjf"
        "MHgsqmmiz7AndV!=", /* bad base64 */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        wire_scram_server_t s;
        wire_scram_cred_t cred;
        status_t st = STATUS_INIT;
        char *out = NULL;
        cred_for(v, &cred);
        wire_scram_server_init(&s, v->mech);
        assert_int_equal(wire_scram_server_parse_first(&s, (const uint8_t *)v->client_first,
                                                       strlen(v->client_first), &st),
                         0);
        assert_int_equal(wire_scram_server_first(&s, &cred, v->server_nonce, &out, &st), 0);
        bson_free(out);
        out = NULL;
        int rc =
            wire_scram_server_final(&s, (const uint8_t *)cases[i], strlen(cases[i]), &out, &st);
        if (rc != ERR_BadValue)
            fail_msg("case %zu gave %d", i, rc);
        assert_null(out);
        wire_scram_server_destroy(&s);
    }
}

/* bad_server_first -- the client refuses a server that lowers iterations or swaps nonces. */
static void test_bad_server_first(void **state)
{
    static const char *const cases[] = {
        "r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=4095", /* too few iterations */
        "r=other3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",      /* not our nonce */
        "r=fyko+d2lbbFgONRv9qkxdawL,s=QSXCR+Q6sek8bf92,i=4096",     /* nothing appended */
        "r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=!!!!,i=4096",             /* salt */
        "r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=4e3",  /* number */
        "m=x,r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=4096",
        "r=fyko+d2lbbFgONRv9qkxdawL3rfc,i=4096",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        wire_scram_client_t c;
        status_t st = STATUS_INIT;
        char *out = NULL;
        assert_int_equal(wire_scram_client_init_input(&c, WIRE_SCRAM_SHA1, "pencil", &st), 0);
        assert_int_equal(wire_scram_client_first(&c, "user", "fyko+d2lbbFgONRv9qkxdawL", &out, &st),
                         0);
        bson_free(out);
        out = NULL;
        int rc =
            wire_scram_client_final(&c, (const uint8_t *)cases[i], strlen(cases[i]), &out, &st);
        if (rc != ERR_BadValue)
            fail_msg("case %zu gave %d", i, rc);
        wire_scram_client_destroy(&c);
    }
}

/* server_reply -- what saslStart/saslContinue would answer, from our server state machine. */
static void server_reply(wire_scram_server_t *srv, const wire_scram_cred_t *cred, const bson_t *cmd,
                         bson_t *reply)
{
    bson_iter_t it;
    const uint8_t *p;
    uint32_t len;
    bson_subtype_t sub;
    char *out = NULL;
    status_t st = STATUS_INIT;
    bool start = bson_iter_init_find(&it, cmd, "saslStart");

    assert_true(bson_iter_init_find(&it, cmd, "$db"));
    assert_string_equal(bson_iter_utf8(&it, NULL), "local");
    assert_true(bson_iter_init_find(&it, cmd, "payload"));
    bson_iter_binary(&it, &sub, &len, &p);
    if (start) {
        assert_int_equal(wire_scram_server_parse_first(srv, p, len, &st), 0);
        assert_int_equal(wire_scram_server_first(srv, cred, NULL, &out, &st), 0);
    } else {
        assert_int_equal(wire_scram_server_final(srv, p, len, &out, &st), 0);
    }
    BSON_APPEND_DOUBLE(reply, "ok", 1.0);
    BSON_APPEND_INT32(reply, "conversationId", 1);
    BSON_APPEND_BOOL(reply, "done", !start); /* skipEmptyExchange: done with the signature */
    BSON_APPEND_BINARY(reply, "payload", BSON_SUBTYPE_BINARY, (uint8_t *)out,
                       (uint32_t)strlen(out));
    bson_free(out);
}

/* client_auth_step_machine -- the wire_client_auth_t form logs in against our server. */
static void test_client_auth_step_machine(void **state)
{
    wire_client_auth_t auth;
    wire_scram_cred_t cred;
    wire_scram_server_t srv;
    status_t st = STATUS_INIT;
    void *conn_state = NULL;
    bson_t reply = BSON_INITIALIZER, next;
    int rounds = 0;
    (void)state;
    assert_int_equal(
        wire_scram_cred_new(WIRE_SCRAM_SHA256, "__system", "k3yf1le", 4096, &cred, &st), 0);
    wire_scram_server_init(&srv, WIRE_SCRAM_SHA256);
    assert_int_equal(
        wire_scram_client_auth_init(&auth, WIRE_SCRAM_SHA256, "local", "__system", "k3yf1le", &st),
        0);
    for (;;) {
        bson_init(&next);
        assert_int_equal(auth.step(auth.arg, &conn_state, "h:1", &reply, &next, &st), 0);
        bson_reinit(&reply);
        if (bson_empty(&next)) {
            bson_destroy(&next);
            break;
        }
        server_reply(&srv, &cred, &next, &reply);
        bson_destroy(&next);
        assert_true(++rounds <= 3);
    }
    assert_int_equal(rounds, 2);
    auth.free_state(auth.arg, conn_state);
    wire_scram_client_auth_destroy(&auth);
    wire_scram_server_destroy(&srv);
    bson_destroy(&reply);
}

/* base64_strict -- canonical base64 only. */
static void test_base64_strict(void **state)
{
    uint8_t out[16];
    size_t n;
    (void)state;
    assert_true(wire_scram_b64_decode("biws", 4, out, sizeof(out), &n));
    assert_int_equal(n, 3);
    assert_memory_equal(out, "n,,", 3);
    assert_true(wire_scram_b64_decode("YQ==", 4, out, sizeof(out), &n));
    assert_int_equal(n, 1);
    assert_false(wire_scram_b64_decode("YQ=", 3, out, sizeof(out), &n));
    assert_false(wire_scram_b64_decode("Y=Q=", 4, out, sizeof(out), &n));
    assert_false(wire_scram_b64_decode("Y Q=", 4, out, sizeof(out), &n));
    assert_false(wire_scram_b64_decode("YWJjZGVmZ2hpamtsbW5vcHFy", 24, out, 4, &n));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define MICA_TEST(fn) cmocka_unit_test(fn),
#include "tests.gen.h"
#undef MICA_TEST
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * fuzz_wire_scram.c -- libFuzzer target for the SASL/SCRAM message parsers
 * (wire/scram.c). A client sends these bytes before it is authenticated, so
 * they are the most exposed parser after the frame itself.
 *
 * The first input byte picks the mechanism and which message the rest is:
 *   0: a client-first-message (server side);
 *   1: a client-final-message, after a fixed good first round (server side);
 *   2: a server-first-message, after a fixed client-first (client side);
 *   3: a server-final-message, after a fixed exchange (client side);
 *   4: base64 decoding.
 * Properties: a refusal has a code and a message; an accepted client-first
 * yields a non-empty user name with no NUL inside; nothing crashes or leaks.
 */
#include "wire/wire.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The RFC 7677 conversation, as fixed context for the later messages. */
#define CF "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
#define SF "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"

static wire_scram_cred_t creds[3];

/* init -- the credentials for "pencil", once per mechanism (PBKDF2 is slow). */
static void init(void)
{
    static bool done;
    uint8_t salt[16];
    size_t n;
    status_t st = STATUS_INIT;
    if (done)
        return;
    if (!wire_scram_b64_decode("W22ZaJ0SNY7soEsUEjb6gQ==", 24, salt, sizeof(salt), &n))
        __builtin_trap();
    for (int m = 1; m <= 2; m++)
        if (wire_scram_cred_derive((wire_scram_mech_t)m, "pencil", salt, n, 4096, &creds[m], &st))
            __builtin_trap();
    done = true;
}

/* check_status -- a failure must say what and why. */
static void check_status(int rc, const status_t *st)
{
    if (rc != 0 && (st->code != rc || st->msg[0] == '\0'))
        __builtin_trap();
}

/* LLVMFuzzerTestOneInput -- one message, its kind chosen by the first byte. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    status_t st = STATUS_INIT;
    char *out = NULL;
    int rc;

    if (size < 1)
        return 0;
    init();
    wire_scram_mech_t mech = (data[0] & 0x80) ? WIRE_SCRAM_SHA1 : WIRE_SCRAM_SHA256;
    const uint8_t *msg = data + 1;
    size_t len = size - 1;

    switch (data[0] & 0x7f) {
    case 0: {
        wire_scram_server_t s;
        wire_scram_server_init(&s, mech);
        rc = wire_scram_server_parse_first(&s, msg, len, &st);
        check_status(rc, &st);
        if (rc == 0) {
            if (s.user[0] == '\0')
                __builtin_trap();
            rc = wire_scram_server_first(&s, &creds[mech], NULL, &out, &st);
            check_status(rc, &st);
        }
        wire_scram_server_destroy(&s);
        break;
    }
    case 1: {
        wire_scram_server_t s;
        wire_scram_server_init(&s, mech);
        if (wire_scram_server_parse_first(&s, (const uint8_t *)CF, strlen(CF), &st) != 0 ||
            wire_scram_server_first(&s, &creds[mech], "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0", &out,
                                    &st) != 0)
            __builtin_trap();
        bson_free(out);
        out = NULL;
        rc = wire_scram_server_final(&s, msg, len, &out, &st);
        check_status(rc, &st);
        wire_scram_server_destroy(&s);
        break;
    }
    case 2:
    case 3: {
        wire_scram_client_t c;
        if (wire_scram_client_init_input(&c, mech, "pencil", &st) != 0 ||
            wire_scram_client_first(&c, "user", "rOprNGfwEbeRWgbNEkqO", &out, &st) != 0)
            __builtin_trap();
        bson_free(out);
        out = NULL;
        if ((data[0] & 0x7f) == 2) {
            /* PBKDF2 runs as many rounds as the message asks: cap them for speed */
            const char *i = memmem(msg, len, ",i=", 3);
            if (i != NULL && (size_t)((const uint8_t *)i - msg) + 9 <= len &&
                memchr(i + 3, ',', 6) == NULL && i[3] >= '0' && i[3] <= '9' && i[4] >= '0' &&
                i[4] <= '9' && i[5] >= '0' && i[5] <= '9' && i[6] >= '0' && i[6] <= '9' &&
                i[7] >= '0' && i[7] <= '9' && i[8] >= '0' && i[8] <= '9') {
                wire_scram_client_destroy(&c);
                return 0;
            }
            rc = wire_scram_client_final(&c, msg, len, &out, &st);
        } else {
            if (wire_scram_client_final(&c, (const uint8_t *)SF, strlen(SF), &out, &st) != 0)
                __builtin_trap();
            rc = wire_scram_client_verify(&c, msg, len, &st);
        }
        check_status(rc, &st);
        wire_scram_client_destroy(&c);
        break;
    }
    case 4: {
        uint8_t buf[4096];
        size_t n;
        (void)wire_scram_b64_decode((const char *)msg, len, buf, sizeof(buf), &n);
        if (n > sizeof(buf))
            __builtin_trap();
        break;
    }
    default:
        break;
    }
    bson_free(out);
    return 0;
}

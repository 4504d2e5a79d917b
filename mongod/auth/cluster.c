/*
 * cluster.c -- the security of intra-cluster connections. Every client pool
 * micad opens to other members (replication's heartbeats, votes, oplog
 * fetching and position reports) is created here, so that
 *   - it speaks TLS when this member's tlsMode says so: preferTLS and
 *     requireTLS dial TLS, allowTLS and disabled dial plain (mongod's rule).
 *     The member presents tlsClusterFile (else tlsCertificateKeyFile) and
 *     verifies the peer's chain against tlsCAFile and its name against the
 *     host in the replica set config (tlsAllowInvalidCertificates /
 *     tlsAllowInvalidHostnames turn those checks off);
 *   - with a keyFile, every new connection logs in as __system@local with
 *     SCRAM-SHA-256 and the key as the password before its first command
 *     (wire_client_pool_set_auth); a peer with another key answers
 *     AuthenticationFailed, the connection is closed and the calls waiting
 *     for it fail with that status.
 * The SCRAM exchange object is made once and shared by every pool; it holds
 * the key's derived password input and is wiped at shutdown.
 *
 * With clusterAuthMode x509 the members authenticate with their certificates
 * instead: each new connection runs MONGODB-X509 on $external, and the
 * accepting member takes a verified certificate whose O, OU and DC attributes
 * (non-empty) equal those of its own server certificate (tlsCertificateKeyFile)
 * for a member and logs it in as __system (mongod's rule); any other
 * certificate is an ordinary $external user.
 */
#include "mongod/auth.h"

#include <pthread.h>
#include <string.h>

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static wire_client_auth_t g_auth; /* the __system conversation (arg NULL until made) */
static bool g_auth_made, g_auth_on;
static bool g_x509;               /* clusterAuthMode x509 */
static char g_member_attrs[1024]; /* O/OU/DC of our server certificate ("" : none) */

/* micad_cluster_config -- see micad.h. */
int micad_cluster_config(const opts_t *o, status_t *st)
{
    char *subject = NULL;
    g_x509 = o->cluster_auth_mode != NULL && strcmp(o->cluster_auth_mode, "x509") == 0;
    if (!g_x509)
        return 0;
    ST_RET(wire_tls_pem_subject(o->tls_certificate_key_file, &subject, st));
    wire_x509_member_attrs(subject, g_member_attrs, sizeof(g_member_attrs));
    if (g_member_attrs[0] == '\0')
        LOG(WARNING, ACCESS, 23212,
            "The server certificate has no O, OU or DC attribute: no cluster member can "
            "authenticate with x.509",
            "subject", BCON_UTF8(subject));
    bson_free(subject);
    return 0;
}

/* micad_cluster_x509_member -- see micad.h. */
bool micad_cluster_x509_member(const char *subject)
{
    char attrs[sizeof(g_member_attrs)];
    if (!g_x509 || subject == NULL || g_member_attrs[0] == '\0')
        return false;
    wire_x509_member_attrs(subject, attrs, sizeof(attrs));
    return strcmp(attrs, g_member_attrs) == 0;
}

/* x509_step -- wire_client_auth_t.step: one MONGODB-X509 authenticate after hello. */
static int x509_step(void *arg, void **state, const char *host, const bson_t *reply,
                     bson_t *next_cmd, status_t *st)
{
    (void)arg;
    (void)host;
    (void)reply;
    (void)st;
    if (*state != NULL)
        return 0; /* the authenticate reply (ok: 1, else the pool failed already): done */
    *state = (void *)1;
    BSON_APPEND_INT32(next_cmd, "authenticate", 1);
    BSON_APPEND_UTF8(next_cmd, "mechanism", "MONGODB-X509");
    BSON_APPEND_UTF8(next_cmd, "$db", "$external");
    return 0;
}

/* cluster_tls -- whether members dial each other over TLS (preferTLS / requireTLS). */
static bool cluster_tls(const opts_t *o)
{
    return o->tls_mode != NULL &&
           (strcmp(o->tls_mode, "preferTLS") == 0 || strcmp(o->tls_mode, "requireTLS") == 0);
}

/* micad_cluster_pool_create -- see micad.h. */
int micad_cluster_pool_create(const opts_t *o, const wire_client_opts_t *co,
                              wire_client_pool_t **out, status_t *st)
{
    wire_client_opts_t copts = *co;
    wire_tls_client_config_t tls = {0};
    int ret = 0;

    *out = NULL;
    if (cluster_tls(o)) {
        tls.certificate_key_file =
            o->tls_cluster_file != NULL ? o->tls_cluster_file : o->tls_certificate_key_file;
        tls.ca_file = o->tls_ca_file;
        tls.allow_invalid_certificates = o->tls_allow_invalid_certificates;
        tls.allow_invalid_hostnames = o->tls_allow_invalid_hostnames;
        copts.tls = &tls;
    }
    if (g_x509) {
        wire_client_auth_t x509 = {.step = x509_step, .free_state = NULL, .arg = NULL};
        ST_RET(wire_client_pool_create(&copts, out, st));
        wire_client_pool_set_auth(*out, &x509);
        LOG(DEBUG1, ACCESS, 23211, "Cluster client pool", "tls", BCON_BOOL(true), "x509",
            BCON_BOOL(true));
        return 0;
    }
    pthread_mutex_lock(&g_lock);
    if (!g_auth_made) {
        ret = micad_auth_internal_client_auth(&g_auth, &g_auth_on, st);
        g_auth_made = ret == 0;
    }
    pthread_mutex_unlock(&g_lock);
    ST_RET(ret);
    ST_RET(wire_client_pool_create(&copts, out, st));
    if (g_auth_on)
        wire_client_pool_set_auth(*out, &g_auth);
    LOG(DEBUG1, ACCESS, 23211, "Cluster client pool", "tls", BCON_BOOL(copts.tls != NULL),
        "keyFile", BCON_BOOL(g_auth_on));
    return 0;
}

/* micad_cluster_shutdown -- after every pool is destroyed: wipe the exchange's secret. */
void micad_cluster_shutdown(void)
{
    pthread_mutex_lock(&g_lock);
    if (g_auth_made)
        wire_scram_client_auth_destroy(&g_auth);
    g_auth_made = g_auth_on = false;
    pthread_mutex_unlock(&g_lock);
}

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
 */
#include "mongod/auth.h"

#include <pthread.h>
#include <string.h>

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static wire_client_auth_t g_auth; /* the __system conversation (arg NULL until made) */
static bool g_auth_made, g_auth_on;

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

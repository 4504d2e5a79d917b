/*
 * keyfile.c -- --keyFile: the shared secret of a cluster's members, checked
 * as mongod checks it (owner-only permissions; 6 to 1024 base64 characters
 * once whitespace is dropped), and the start-up decision whether access
 * control is on (--auth, security.authorization, or implied by a keyFile).
 *
 * The key is the password of the internal user __system: members
 * authenticate to each other with SCRAM-SHA-256 as __system@local, the
 * server side deriving its credential from the key (mongod/auth/users.c),
 * the client side through wire_scram_authenticate with micad_auth_internal_*.
 * The key itself is never logged, returned by getCmdLineOpts, or kept in
 * more than one buffer, which is wiped at shutdown.
 */
#include "mongod/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* MICAD_KEYFILE_MAX_BYTES -- a keyFile is at most 1024 key characters plus whitespace. */
#define MICAD_KEYFILE_MAX_BYTES 65536

/* b64_char -- the characters mongod accepts in a key. */
static bool b64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/' || c == '=';
}

/* micad_auth_load_keyfile -- read, check permissions and content, strip whitespace. */
int micad_auth_load_keyfile(const char *path, char **secret, status_t *st)
{
    struct stat sb;
    char *buf = NULL, *key = NULL;
    ssize_t n;
    size_t k = 0;
    int fd, ret = 0;

    *secret = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return status_set(st, ERR_BadValue, "error opening file: %s: %s", path, strerror(errno));
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return status_set(st, ERR_BadValue, "%s is not a regular file", path);
    }
    if ((sb.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        close(fd);
        return status_set(st, ERR_BadValue, "permissions on %s are too open", path);
    }
    if (sb.st_size > MICAD_KEYFILE_MAX_BYTES) {
        close(fd);
        return status_set(st, ERR_BadValue, "key file %s is too large", path);
    }
    buf = bson_malloc((size_t)sb.st_size + 1);
    n = read(fd, buf, (size_t)sb.st_size);
    close(fd);
    if (n < 0)
        ST_ERR(status_set(st, ERR_BadValue, "error reading file %s: %s", path, strerror(errno)));
    key = bson_malloc0((size_t)n + 1);
    for (ssize_t i = 0; i < n; i++) {
        char c = buf[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')
            continue;
        if (!b64_char(c))
            ST_ERR(status_set(st, ERR_BadValue, "invalid char in key file %s: %c", path, c));
        key[k++] = c;
    }
    key[k] = '\0';
    if (k < 6 || k > 1024)
        ST_ERR(status_set(st, ERR_BadValue,
                          "security key in %s has length %zu, must be between 6 and 1024 chars",
                          path, k));
    *secret = key;
    key = NULL;
err:
    if (buf != NULL) {
        OPENSSL_cleanse(buf, (size_t)sb.st_size + 1);
        bson_free(buf);
    }
    wire_scram_wipe_free(key);
    return ret;
}

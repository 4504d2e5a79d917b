/*
 * spill.c -- temporary files for blocking stages over their memory limit.
 *
 * A spill is one file holding several runs, each a sequence of BSON documents
 * written back to back (a document carries its own length). The file is
 * unlinked the moment it is created, so it disappears when closed -- also when
 * the process dies -- and no error path can leave a temp file behind. Readers
 * use pread with their own buffer, so several runs are merged at once from one
 * descriptor.
 */
#include "query/pipeline_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Read buffer per run reader: big enough that a k-way merge does few syscalls. */
#define SPILL_READ_BUF (64 * 1024)

typedef struct spill_run {
    off_t off;
    off_t len;
} spill_run_t;

struct pl_spill {
    int fd;
    off_t end;
    spill_run_t *runs;
    size_t nruns;
};

struct pl_spill_reader {
    pl_spill_t *sp;
    off_t pos, end;
    uint8_t *buf;
    size_t cap, have, at; /* buf[at..have) is unread data from file offset pos - (have - at) */
};

/* qry__spill_new -- create and unlink a temp file in dir. */
int qry__spill_new(const char *dir, pl_spill_t **out, status_t *st)
{
    *out = NULL;
    if (!dir || !*dir)
        dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/mica-spill-XXXXXX", dir);
    if (n < 0 || (size_t)n >= sizeof path)
        return status_set(st, ERR_BadValue, "temp directory path too long");
    int fd = mkstemp(path);
    if (fd < 0)
        return status_set(st, 16819, "could not create a temporary file in %s: %s", dir,
                          strerror(errno));
    unlink(path);
    pl_spill_t *sp = calloc(1, sizeof *sp);
    INVARIANT(sp != NULL);
    sp->fd = fd;
    *out = sp;
    return 0;
}

static int write_all(int fd, off_t off, const uint8_t *p, size_t len, status_t *st)
{
    while (len > 0) {
        ssize_t w = pwrite(fd, p, len, off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return status_set(st, 16819, "error writing to a spill file: %s", strerror(errno));
        p += w;
        off += w;
        len -= (size_t)w;
    }
    return 0;
}

/* qry__spill_write_run -- append docs[0..n) as one run (buffered writes). */
int qry__spill_write_run(pl_spill_t *sp, bson_t *const *docs, size_t n, status_t *st)
{
    off_t start = sp->end;
    uint8_t *buf = malloc(SPILL_READ_BUF);
    INVARIANT(buf != NULL);
    size_t used = 0;
    int ret = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *d = bson_get_data(docs[i]);
        size_t len = docs[i]->len;
        if (used + len > SPILL_READ_BUF) {
            ST_ERR(write_all(sp->fd, sp->end, buf, used, st));
            sp->end += (off_t)used;
            used = 0;
        }
        if (len > SPILL_READ_BUF) {
            ST_ERR(write_all(sp->fd, sp->end, d, len, st));
            sp->end += (off_t)len;
            continue;
        }
        memcpy(buf + used, d, len);
        used += len;
    }
    ST_ERR(write_all(sp->fd, sp->end, buf, used, st));
    sp->end += (off_t)used;
    sp->runs = realloc(sp->runs, (sp->nruns + 1) * sizeof *sp->runs);
    INVARIANT(sp->runs != NULL);
    sp->runs[sp->nruns].off = start;
    sp->runs[sp->nruns].len = sp->end - start;
    sp->nruns++;
err:
    free(buf);
    return ret;
}

/* qry__spill_nruns -- runs written. */
size_t qry__spill_nruns(const pl_spill_t *sp)
{
    return sp ? sp->nruns : 0;
}

/* qry__spill_reader -- a reader over run i. */
int qry__spill_reader(pl_spill_t *sp, size_t i, pl_spill_reader_t **out, status_t *st)
{
    *out = NULL;
    if (i >= sp->nruns)
        return status_set(st, ERR_InternalError, "no spill run %zu", i);
    pl_spill_reader_t *r = calloc(1, sizeof *r);
    INVARIANT(r != NULL);
    r->sp = sp;
    r->pos = sp->runs[i].off;
    r->end = sp->runs[i].off + sp->runs[i].len;
    r->cap = SPILL_READ_BUF;
    r->buf = malloc(r->cap);
    INVARIANT(r->buf != NULL);
    *out = r;
    return 0;
}

/* fill -- make at least need bytes available at buf[at]. */
static int fill(pl_spill_reader_t *r, size_t need, status_t *st)
{
    if (r->have - r->at >= need)
        return 0;
    memmove(r->buf, r->buf + r->at, r->have - r->at);
    r->have -= r->at;
    r->at = 0;
    if (need > r->cap) {
        r->cap = need;
        r->buf = realloc(r->buf, r->cap);
        INVARIANT(r->buf != NULL);
    }
    while (r->have < need) {
        size_t want = r->cap - r->have;
        if ((off_t)want > r->end - r->pos)
            want = (size_t)(r->end - r->pos);
        if (want == 0)
            return status_set(st, 16820, "spill file truncated");
        ssize_t n = pread(r->sp->fd, r->buf + r->have, want, r->pos);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return status_set(st, 16820, "error reading a spill file: %s",
                              n < 0 ? strerror(errno) : "short read");
        r->have += (size_t)n;
        r->pos += n;
    }
    return 0;
}

/* qry__spill_read -- next document of the run (*out NULL at the end). */
int qry__spill_read(pl_spill_reader_t *r, bson_t **out, status_t *st)
{
    *out = NULL;
    if (r->have == r->at && r->pos >= r->end)
        return 0;
    ST_RET(fill(r, 4, st));
    int32_t len;
    memcpy(&len, r->buf + r->at, 4);
    len = (int32_t)BSON_UINT32_FROM_LE((uint32_t)len);
    if (len < 5)
        return status_set(st, 16820, "corrupt spill file");
    ST_RET(fill(r, (size_t)len, st));
    *out = bson_new_from_data(r->buf + r->at, (size_t)len);
    if (!*out)
        return status_set(st, 16820, "corrupt spill file");
    r->at += (size_t)len;
    return 0;
}

/* qry__spill_reader_free -- free a reader (NULL-safe). */
void qry__spill_reader_free(pl_spill_reader_t *r)
{
    if (!r)
        return;
    free(r->buf);
    free(r);
}

/* qry__spill_free -- close the file, which removes it (NULL-safe). */
void qry__spill_free(pl_spill_t *sp)
{
    if (!sp)
        return;
    close(sp->fd);
    free(sp->runs);
    free(sp);
}

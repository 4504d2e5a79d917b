/*
 * cursors.h -- private to mongod/: the cursor manager. A find (or any later
 * cursor-returning command) whose results do not fit one batch parks its
 * executor here under a random 64-bit id; getMore checks it out, runs one
 * batch, and checks it back in; killCursors, killSessions/endSessions and the
 * idle reaper (10 minutes, MongoDB's cursorTimeoutMillis) destroy it.
 *
 * A cursor is used by one operation at a time: a second checkout gets
 * CursorInUse (143). Killing a cursor that is in use marks it; the operation
 * using it destroys it on check-in and its next getMore gets CursorNotFound.
 */
#ifndef MICA_MONGOD_CURSORS_H
#define MICA_MONGOD_CURSORS_H

#include "mongod/exec.h"

/*
 * MICAD_CURSOR_TIMEOUT_MS -- idle cursors die after this long (MongoDB's
 * cursorTimeoutMillis default, 10 minutes), unless noCursorTimeout.
 */
#define MICAD_CURSOR_TIMEOUT_MS (10 * 60 * 1000)
/* MICAD_BATCH_BYTES -- a batch stops before its documents pass 16 MiB (one is always sent). */
#define MICAD_BATCH_BYTES (16 * 1024 * 1024)
/* MICAD_FIRST_BATCH_DOCS -- the first batch's size when find gives no batchSize (MongoDB's). */
#define MICAD_FIRST_BATCH_DOCS 101

/* micad_cursor_t -- a parked cursor (fields read by getMore while checked out). */
typedef struct micad_cursor {
    int64_t id;
    char ns[MICAD_NS_MAX + 1];
    micad_exec_t *exec;
    int64_t batch_size; /* getMore's default batch size; 0: up to 16 MiB */
    bool has_lsid;
    bson_t lsid; /* the session it belongs to (copy) */
    bool tailable, await_data, no_timeout;
    int64_t last_used_ms; /* monotonic ms */
    int64_t n_returned;
    bool in_use;
    bool killed; /* killed while in use: destroyed at check-in */
    struct micad_cursor *next;
} micad_cursor_t;

/* micad_cursor_opts_t -- what a new cursor remembers besides its executor. */
typedef struct micad_cursor_opts {
    int64_t batch_size;
    bool tailable, await_data, no_timeout;
    int64_t n_returned;
} micad_cursor_opts_t;

/*
 * micad_cursors_add -- park ex (ownership passes) for ns under a new id,
 * belonging to op's session (lsid) if it has one. Starts the reaper on first use.
 */
int64_t micad_cursors_add(micad_exec_t *ex, const char *ns, const wire_opctx_t *op,
                          const micad_cursor_opts_t *o);
/*
 * micad_cursors_checkout -- take cursor id for a getMore on ns: CursorNotFound
 * (43) "cursor id N not found", Unauthorized (13) for another namespace,
 * CursorInUse (143), 50738 for another session.
 */
int micad_cursors_checkout(int64_t id, const char *ns, const wire_opctx_t *op, micad_cursor_t **out,
                           status_t *st);
/* micad_cursors_checkin -- give it back after a batch (destroys it if it was killed meanwhile). */
void micad_cursors_checkin(micad_cursor_t *c);
/* micad_cursors_release -- a checked-out cursor is done (exhausted or failed): destroy it. */
void micad_cursors_release(micad_cursor_t *c);

/* Results of micad_cursors_kill. */
typedef enum micad_kill_result {
    MICAD_KILL_KILLED,
    MICAD_KILL_NOT_FOUND,
} micad_kill_result_t;

/* micad_cursors_kill -- killCursors: kill id if it belongs to ns. */
micad_kill_result_t micad_cursors_kill(int64_t id, const char *ns);
/*
 * micad_cursors_kill_session -- kill every cursor of the session whose lsid
 * is given ({id: UUID, ...}; compared by its "id"). For killSessions and
 * endSessions. Returns how many were killed.
 */
size_t micad_cursors_kill_session(const bson_t *lsid);
/*
 * micad_cursors_kill_session_list -- for endSessions / killSessions: cmd's
 * first field is the (already validated) array of {id: UUID}; kill the
 * cursors of each. An empty list with kill_all_if_empty (killSessions: "all
 * my sessions") kills every cursor that belongs to a session. Returns how many.
 */
size_t micad_cursors_kill_session_list(const bson_t *cmd, bool kill_all_if_empty);
/* micad_cursors_kill_all -- kill every cursor (killAllSessions). Returns how many. */
size_t micad_cursors_kill_all(void);
/* micad_cursors_reap -- kill cursors idle longer than timeout_ms at now_ms; returns how many. */
size_t micad_cursors_reap(int64_t now_ms, int64_t timeout_ms);
/* micad_cursors_set_timeout -- the reaper's idle limit (cursorTimeoutMillis). */
void micad_cursors_set_timeout(int64_t timeout_ms);
/* micad_cursors_open_count -- cursors parked or in use (serverStatus metrics.cursor.open). */
size_t micad_cursors_open_count(void);
/* micad_cursors_timed_out_count -- cursors the reaper killed since start. */
int64_t micad_cursors_timed_out_count(void);
/*
 * micad_batch_fill -- run one batch of ex into arr (an array being built):
 * at most max_docs documents (<= 0: no count limit) and, past the first, no
 * more than MICAD_BATCH_BYTES of them; *n is how many.
 */
int micad_batch_fill(micad_exec_t *ex, int64_t max_docs, int64_t deadline_us, bson_t *arr,
                     int64_t *n, status_t *st);
/*
 * micad_query_natural_sort -- find's sort {$natural: +-1} is not a field sort
 * but the collection scan's direction: turn it into the hint {$natural: +-1}
 * (an explicit hint wins) and drop the sort. Call after parsing, before
 * micad_exec_create (find and explain of find). BadValue for a $natural
 * combined with other sort or hint fields, or a $natural sort with an index hint.
 */
int micad_query_natural_sort(micad_query_t *q, status_t *st);

/*
 * micad_cursors_shutdown -- stop the reaper and destroy every cursor (their
 * storage sessions included). Call after the workers stopped, before the
 * storage engine closes.
 */
void micad_cursors_shutdown(void);

#endif /* MICA_MONGOD_CURSORS_H */

/*
 * stepdown.c -- which running operations a step-down interrupts (stepdown.h).
 */
#include "mongod/repl/stepdown.h"

#include <string.h>

/* pipeline_writes -- the pipeline's last stage is $out or $merge. */
static bool pipeline_writes(const bson_t *body)
{
    bson_iter_t it, arr, stage;
    const char *last = NULL;
    if (body == NULL || !bson_iter_init_find(&it, body, "pipeline") ||
        !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &arr))
        return false;
    while (bson_iter_next(&arr)) {
        last = NULL;
        if (BSON_ITER_HOLDS_DOCUMENT(&arr) && bson_iter_recurse(&arr, &stage) &&
            bson_iter_next(&stage))
            last = bson_iter_key(&stage);
    }
    return last != NULL && (strcmp(last, "$out") == 0 || strcmp(last, "$merge") == 0);
}

/* repl_stepdown_interrupts -- see stepdown.h. */
bool repl_stepdown_interrupts(const char *name, bool write_cmd, const bson_t *body,
                              repl_rc_level_t level)
{
    if (write_cmd || level == REPL_RC_LINEARIZABLE)
        return true;
    if (name == NULL || strcmp(name, "aggregate") != 0)
        return false;
    bson_iter_t it;
    if (body != NULL && bson_iter_init_find(&it, body, "explain") && bson_iter_as_bool(&it))
        return false;
    return pipeline_writes(body);
}

/* repl_stepdown_victim -- see stepdown.h. */
bool repl_stepdown_victim(bool marked, bool is_self, bool kill_pending)
{
    return marked && !is_self && !kill_pending;
}

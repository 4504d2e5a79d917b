/*
 * stmt_fields.c -- the field names of write statements, checked before a
 * batch runs. MongoDB parses the whole command with IDL before executing any
 * statement, so an unknown field in the third update statement (e.g. `sort`,
 * an 8.0 option) is a command error (Location40415) and nothing is written --
 * not a write error on that statement after the first two were applied.
 */
#include "mongod/db.h"

#include <string.h>

/* known -- whether k is in the NULL-terminated list. */
static bool known(const char *const *names, const char *k)
{
    for (int i = 0; names[i] != NULL; i++)
        if (strcmp(names[i], k) == 0)
            return true;
    return false;
}

/* micad_check_statement_fields -- see db.h. */
int micad_check_statement_fields(const wire_opctx_t *op, const bson_t *cmd, const char *array,
                                 const char *const *names, const char *where, status_t *st)
{
    micad_db_docs_t d;
    bson_t stmt;
    bson_iter_t f;
    if (micad_db_docs_init(op, cmd, array, &d, st) != 0) {
        status_reset(st);
        return 0; /* the command's own parse reports a missing or mistyped array */
    }
    while (micad_db_docs_next(&d, &stmt)) {
        if (!bson_iter_init(&f, &stmt))
            continue;
        while (bson_iter_next(&f))
            if (!known(names, bson_iter_key(&f)))
                return micad_db_unknown_field(where, bson_iter_key(&f), st);
    }
    return 0;
}

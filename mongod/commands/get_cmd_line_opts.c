/*
 * get_cmd_line_opts.c -- {getCmdLineOpts: 1}: argv as given and the parsed
 * options nested by their YAML names, as mongod reports them.
 */
#include "mongod/micad.h"

/* micad_cmd_get_cmd_line_opts -- {argv: [...], parsed: {...}}. */
int micad_cmd_get_cmd_line_opts(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    micad_t *m = micad_of(op);
    (void)cmd;
    (void)st;
    BSON_APPEND_ARRAY(reply, "argv", &m->opts->argv);
    BSON_APPEND_DOCUMENT(reply, "parsed", &m->opts->parsed);
    return 0;
}

/*
 * list_commands.c -- {listCommands: 1}: every row of the command table, by
 * name, with its help text and flags, in mongod's shape.
 */
#include "mongod/micad.h"

/* micad_cmd_list_commands -- {commands: {name: {help, adminOnly, ...}}}. */
int micad_cmd_list_commands(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    micad_t *m = micad_of(op);
    bson_t all, one, arr;
    (void)cmd;
    (void)st;
    BSON_APPEND_DOCUMENT_BEGIN(reply, "commands", &all);
    for (size_t i = 0; i < m->table.n; i++) {
        const wire_command_t *c = m->table.sorted[i];
        bson_append_document_begin(&all, c->name, -1, &one);
        BSON_APPEND_UTF8(&one, "help", c->help ? c->help : "");
        BSON_APPEND_BOOL(&one, "requiresAuth", (c->flags & WIRE_CMD_NO_AUTH) == 0);
        BSON_APPEND_BOOL(&one, "secondaryOk", (c->flags & WIRE_CMD_OK_SECONDARY) != 0);
        BSON_APPEND_BOOL(&one, "adminOnly", (c->flags & WIRE_CMD_ADMIN_ONLY) != 0);
        BSON_APPEND_ARRAY_BEGIN(&one, "apiVersions", &arr);
        bson_append_array_end(&one, &arr);
        BSON_APPEND_ARRAY_BEGIN(&one, "deprecatedApiVersions", &arr);
        bson_append_array_end(&one, &arr);
        bson_append_document_end(&all, &one);
    }
    bson_append_document_end(reply, &all);
    return 0;
}

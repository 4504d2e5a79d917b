/*
 * table.c -- micad's command table, generated from mongod/commands.def.
 */
#include "mongod/micad.h"

const wire_command_t micad_commands[] = {
#define MICAD_CMD(name, fn, flags, help) {name, fn, flags, help},
#include "mongod/commands.def"
#undef MICAD_CMD
};

const size_t micad_n_commands = sizeof(micad_commands) / sizeof(micad_commands[0]);

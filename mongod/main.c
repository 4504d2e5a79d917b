/*
 * main.c -- micad entry point (the transport and command table arrive with issue #2).
 */
#include <stdio.h>
#include <string.h>

#include "common/common.h"

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("micad version v%s\n", MICA_VERSION);
        return 0;
    }
    fprintf(stderr, "micad: not yet able to serve\n");
    return 2;
}

/*
 * storage.h -- the public header of storage/: the only module that talks to
 * WiredTiger. Engine, catalog, record stores, KeyString, indexes, units of
 * work with timestamps, durability, the oplog table. No knowledge of commands
 * or the wire. Depends on common/ and libwiredtiger.
 */
#ifndef MICA_STORAGE_H
#define MICA_STORAGE_H

#include "common/common.h"

/* STOR_KEYSTRING_SECTION_BEGIN -- KeyString encoding (storage/keystring.c) */
/* STOR_KEYSTRING_SECTION_END */

/* STOR_ENGINE_SECTION_BEGIN -- engine, catalog, record stores, indexes, oplog */
/* STOR_ENGINE_SECTION_END */

#endif /* MICA_STORAGE_H */

/*
 * query.h -- the public header of query/: MongoDB's query language as pure
 * functions over libbson values -- match expressions, projection, sort, update
 * operators (and, later, aggregation expressions and stages, the planner).
 *
 * query/ sees data only through bson_t documents and iterator interfaces; it
 * never includes a storage/ header. It depends on common/ and PCRE2.
 */
#ifndef MICA_QUERY_H
#define MICA_QUERY_H

#include "common/common.h"

/* QRY_MATCH_SECTION_BEGIN -- match expressions (query/match*.c) */
/* QRY_MATCH_SECTION_END */

/* QRY_PROJECTION_SECTION_BEGIN -- projection (query/projection.c) */
/* QRY_PROJECTION_SECTION_END */

/* QRY_SORT_SECTION_BEGIN -- sort (query/sort.c) */
/* QRY_SORT_SECTION_END */

/* QRY_UPDATE_SECTION_BEGIN -- update operators (query/update*.c) */
/* QRY_UPDATE_SECTION_END */

#endif /* MICA_QUERY_H */

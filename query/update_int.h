/*
 * update_int.h -- private declarations shared by query/update*.c: the mutable
 * document tree (update_dom.c) that the update operators edit, and small
 * formatting helpers for MongoDB-shaped error messages. Not for use outside
 * query/.
 */
#ifndef MICA_QUERY_UPDATE_INT_H
#define MICA_QUERY_UPDATE_INT_H

#include "query/query.h"

/*
 * udom_t -- one field of a document being updated. A document or array node
 * is either expanded (kids hold its elements, in order) or opaque (val holds
 * the embedded bytes, expanded on demand when a path enters it). Scalars keep
 * their value in val. Array element names are ignored and renumbered on
 * output.
 */
typedef struct udom udom_t;
struct udom {
    char *name;
    bson_type_t type;
    bool has_val;  /* val is owned */
    bool expanded; /* document/array with kids[] */
    bson_value_t val;
    udom_t **kids;
    size_t n, cap;
};

udom_t *qry__udom_new(const char *name, bson_type_t type);
udom_t *qry__udom_new_value(const char *name, const bson_value_t *v);
void qry__udom_free(udom_t *n);
void qry__udom_append(udom_t *parent, udom_t *child);
void qry__udom_insert(udom_t *parent, size_t pos, udom_t *child);
udom_t *qry__udom_remove(udom_t *parent, size_t i);
int qry__udom_expand(udom_t *n, status_t *st);
int qry__udom_from_bson(const bson_t *doc, udom_t **out, status_t *st);
int qry__udom_write_children(const udom_t *n, bson_t *b, int depth, status_t *st);
int qry__udom_to_bson(const udom_t *root, bson_t *out, status_t *st);
int qry__udom_value(const udom_t *n, bson_value_t *out, bson_t *scratch, status_t *st);
udom_t *qry__udom_find(const udom_t *n, const char *name, size_t *pos);
void qry__udom_set_value(udom_t *n, const bson_value_t *v);
bool qry__udom_same(const udom_t *a, const udom_t *b);
bool qry__value_same(const bson_value_t *a, const bson_value_t *b);
char *qry__fmt_value(const bson_value_t *v);
char *qry__fmt_node(const udom_t *n);

/* The parsed plan (update.c builds it, update_apply.c runs it). */
/* Path component kinds. */
enum { UC_FIELD, UC_POS, UC_ALL, UC_FILTER };

typedef struct upath {
    size_t n;
    char **comp;   /* for UC_FILTER: the identifier */
    uint8_t *kind; /* UC_* */
    char *dotted;  /* as written */
} upath_t;

typedef enum ukind {
    U_SET,
    U_UNSET,
    U_INC,
    U_MUL,
    U_MIN,
    U_MAX,
    U_RENAME,
    U_CURDATE,
    U_SETONINSERT,
    U_PUSH,
    U_ADDTOSET,
    U_POP,
    U_PULL,
    U_PULLALL,
    U_BIT,
} ukind_t;

enum { BIT_AND, BIT_OR, BIT_XOR };

/* $bit allows and/or/xor, each at most a few times; more is pointless but legal. */
#define UOP_MAX_BITS 16

typedef struct uop {
    ukind_t kind;
    const char *opname;
    upath_t path;
    upath_t to; /* $rename */
    bson_value_t arg;
    /* $push / $addToSet */
    bool has_each;
    bson_value_t each; /* array */
    bool has_position;
    int64_t position;
    bool has_slice;
    int64_t slice;
    int sort_mode; /* 0 none, 1 whole element, 2 by fields */
    int sort_dir;
    qry_sort_t *sort;
    /* $currentDate */
    bool cur_ts;
    /* $pop */
    int pop_dir;
    /* $pull */
    qry_match_t *pull_m;
    bool pull_wrap; /* operator condition: matched as {v: element} */
    bool pull_doc;  /* field condition: matched against document elements */
    /* $bit */
    int nbits;
    int bit_op[UOP_MAX_BITS];
    bson_value_t bit_val[UOP_MAX_BITS];
} uop_t;

typedef struct ufilter {
    char *id;
    qry_match_t *m;
    bool used;
} ufilter_t;

struct qry_update {
    bool replacement;
    bson_t *repl; /* heap: bson_t wants 128-byte alignment */
    uop_t *ops;
    size_t nops, cap;
    ufilter_t *filters;
    size_t nfilters;
    bool positional;
};

bool qry__upd_is_index(const char *s, size_t *out);

/*
 * qry__view -- a static bson_t over embedded bytes; a malformed embedded
 * document reads as empty instead of leaving *out uninitialised (inputs are
 * validated, but a parser must never crash on what validation let through).
 */
static inline void qry__view(const uint8_t *data, uint32_t len, bson_t *out)
{
    static const uint8_t empty_doc[5] = {5, 0, 0, 0, 0};
    if (!data || !bson_init_static(out, data, len))
        bson_init_static(out, empty_doc, sizeof empty_doc);
}

#endif /* MICA_QUERY_UPDATE_INT_H */

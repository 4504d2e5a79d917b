/*
 * expr_string.c -- string operators: $concat $substr $substrBytes $substrCP
 * $strLenBytes $strLenCP $toLower $toUpper $trim $ltrim $rtrim $split
 * $indexOfBytes $indexOfCP $strcasecmp $regexMatch $regexFind $regexFindAll
 * $replaceOne $replaceAll.
 *
 * Strings are UTF-8. "Bytes" operators count bytes and refuse to cut a
 * character in half; "CP" operators count code points. Case mapping and
 * $strcasecmp are ASCII-only, as in MongoDB. Regexes are PCRE2 in UTF mode;
 * a constant pattern is compiled once at parse time, a computed one per
 * evaluation.
 */
#include "query/expr_int.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Evaluate every argument into an arena array. */
static int eval_args(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t **vals, status_t *st)
{
    *vals = qry__expr_alloc(cx, (node->nargs ? node->nargs : 1) * sizeof(bson_value_t));
    for (size_t i = 0; i < node->nargs; i++)
        ST_RET(qry__expr_eval(cx, node->args[i], &(*vals)[i], st));
    return 0;
}

static bool is_cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

/* Byte length of the UTF-8 character starting with c (1 for stray bytes). */
static size_t cp_len(unsigned char c)
{
    return c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
}

static size_t count_cp(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (!is_cont((unsigned char)s[i]))
            n++;
    return n;
}

/* Byte offset of code point index cp (len if past the end). */
static size_t cp_offset(const char *s, size_t len, size_t cp)
{
    size_t i = 0;
    while (cp > 0 && i < len) {
        i += cp_len((unsigned char)s[i]);
        cp--;
    }
    return i > len ? len : i;
}

static int eval_concat(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    bson_value_t *v;
    size_t total = 0;
    ST_RET(eval_args(cx, node, &v, st));
    for (size_t i = 0; i < node->nargs; i++) {
        if (qry__expr_is_nullish(&v[i])) {
            qry__expr_set_null(out);
            return 0;
        }
        if (v[i].value_type != BSON_TYPE_UTF8)
            return status_set(st, 16702, "$concat only supports strings, not %s",
                              qry__expr_type_name(&v[i]));
        total += v[i].value.v_utf8.len;
    }
    if (total > 16 * 1024 * 1024)
        return status_set(st, ERR_BSONObjectTooLarge, "$concat result too large");
    char *buf = qry__expr_alloc(cx, total + 1);
    size_t off = 0;
    for (size_t i = 0; i < node->nargs; i++) {
        memcpy(buf + off, v[i].value.v_utf8.str, v[i].value.v_utf8.len);
        off += v[i].value.v_utf8.len;
    }
    buf[off] = '\0';
    memset(out, 0, sizeof(*out));
    out->value_type = BSON_TYPE_UTF8;
    out->value.v_utf8.str = buf;
    out->value.v_utf8.len = (uint32_t)off;
    return 0;
}

static int eval_substr_bytes(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out,
                             status_t *st)
{
    bson_value_t *v, s;
    const char *op = node->op->name;
    ST_RET(eval_args(cx, node, &v, st));
    ST_RET(qry__expr_coerce_string(cx, &v[0], &s, op, st));
    if (!bsonu_is_number(v[1].value_type))
        return status_set(st, 16034, "%s:  starting index must be a numeric type (is BSON type %s)",
                          op, qry__expr_type_name(&v[1]));
    if (!bsonu_is_number(v[2].value_type))
        return status_set(st, 16035, "%s:  length must be a numeric type (is BSON type %s)", op,
                          qry__expr_type_name(&v[2]));
    double startd, lend;
    bsonu_number_as_double(&v[1], &startd);
    bsonu_number_as_double(&v[2], &lend);
    /* NaN converts to no integer: read it as 0, as the cast below must never see it */
    if (isnan(startd))
        startd = 0;
    if (isnan(lend))
        lend = 0;
    if (startd < 0)
        return status_set(st, 50752, "%s:  starting index must be non-negative (got: %lld)", op,
                          (long long)startd);
    const char *str = s.value.v_utf8.str;
    size_t len = s.value.v_utf8.len;
    size_t start = startd >= (double)len ? len : (size_t)startd;
    size_t n = (lend < 0 || lend >= (double)(len - start)) ? len - start : (size_t)lend;
    if (start < len && is_cont((unsigned char)str[start]))
        return status_set(st, 28656,
                          "%s:  Invalid range, starting index is a UTF-8 continuation byte.", op);
    if (start + n < len && is_cont((unsigned char)str[start + n]))
        return status_set(st, 28657,
                          "%s:  Invalid range, ending index is in the middle of a UTF-8 character.",
                          op);
    qry__expr_str(cx, str + start, n, out);
    return 0;
}

static int eval_substr_cp(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out,
                          status_t *st)
{
    bson_value_t *v, s;
    int64_t start, n;
    ST_RET(eval_args(cx, node, &v, st));
    ST_RET(qry__expr_coerce_string(cx, &v[0], &s, "$substrCP", st));
    if (!bsonu_is_number(v[1].value_type))
        return status_set(st, 34450,
                          "$substrCP: starting index must be a numeric type (is BSON type %s)",
                          qry__expr_type_name(&v[1]));
    if (!bsonu_is_number(v[2].value_type))
        return status_set(st, 34451, "$substrCP: length must be a numeric type (is BSON type %s)",
                          qry__expr_type_name(&v[2]));
    if (!bsonu_number_as_int64(&v[1], &start) || start > INT32_MAX || start < INT32_MIN)
        return status_set(st, 34452,
                          "$substrCP: starting index cannot be represented as a 32-bit integral "
                          "value");
    if (!bsonu_number_as_int64(&v[2], &n) || n > INT32_MAX || n < INT32_MIN)
        return status_set(st, 34453,
                          "$substrCP: length cannot be represented as a 32-bit integral value");
    if (start < 0)
        return status_set(st, 34455, "$substrCP: the starting index must be nonnegative integer.");
    if (n < 0)
        return status_set(st, 34454, "$substrCP: length must be a nonnegative integer.");
    const char *str = s.value.v_utf8.str;
    size_t len = s.value.v_utf8.len;
    size_t b = cp_offset(str, len, (size_t)start);
    size_t e = b + cp_offset(str + b, len - b, (size_t)n);
    qry__expr_str(cx, str + b, e - b, out);
    return 0;
}

static int eval_strlen(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    bson_value_t v;
    bool cp = strcmp(node->op->name, "$strLenCP") == 0;
    ST_RET(qry__expr_eval(cx, node->args[0], &v, st));
    if (v.value_type != BSON_TYPE_UTF8)
        return status_set(st, cp ? 34471 : 34473, "%s requires a string argument, found: %s",
                          node->op->name, qry__expr_type_name(&v));
    qry__expr_set_int(
        out, (int32_t)(cp ? count_cp(v.value.v_utf8.str, v.value.v_utf8.len) : v.value.v_utf8.len));
    return 0;
}

static int eval_case(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    bson_value_t v, s;
    bool upper = strcmp(node->op->name, "$toUpper") == 0;
    ST_RET(qry__expr_eval(cx, node->args[0], &v, st));
    ST_RET(qry__expr_coerce_string(cx, &v, &s, node->op->name, st));
    qry__expr_str(cx, s.value.v_utf8.str, s.value.v_utf8.len, out);
    char *p = (char *)out->value.v_utf8.str;
    for (uint32_t i = 0; i < out->value.v_utf8.len; i++) {
        if (upper && p[i] >= 'a' && p[i] <= 'z')
            p[i] = (char)(p[i] - 32);
        else if (!upper && p[i] >= 'A' && p[i] <= 'Z')
            p[i] = (char)(p[i] + 32);
    }
    return 0;
}

static int eval_strcasecmp(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out,
                           status_t *st)
{
    bson_value_t *v, a, b;
    ST_RET(eval_args(cx, node, &v, st));
    ST_RET(qry__expr_coerce_string(cx, &v[0], &a, "$strcasecmp", st));
    ST_RET(qry__expr_coerce_string(cx, &v[1], &b, "$strcasecmp", st));
    size_t la = a.value.v_utf8.len, lb = b.value.v_utf8.len, n = la < lb ? la : lb;
    int c = 0;
    for (size_t i = 0; i < n && c == 0; i++) {
        int x = tolower((unsigned char)a.value.v_utf8.str[i]);
        int y = tolower((unsigned char)b.value.v_utf8.str[i]);
        c = x - y;
    }
    if (c == 0)
        c = la < lb ? -1 : la > lb ? 1 : 0;
    qry__expr_set_int(out, c < 0 ? -1 : c > 0 ? 1 : 0);
    return 0;
}

/* ---- trim ------------------------------------------------------------------------ */

/* Decode one code point at s (len bytes left); returns its byte length. */
static size_t decode_cp(const unsigned char *s, size_t len, uint32_t *cp)
{
    size_t n = cp_len(s[0]);
    if (n > len)
        n = len;
    uint32_t c = n == 1 ? s[0] : n == 2 ? (s[0] & 0x1Fu) : n == 3 ? (s[0] & 0x0Fu) : (s[0] & 0x07u);
    for (size_t i = 1; i < n; i++)
        c = (c << 6) | (s[i] & 0x3Fu);
    *cp = c;
    return n ? n : 1;
}

static bool default_ws(uint32_t c)
{
    return c == 0 || c == ' ' || (c >= 0x09 && c <= 0x0D) || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

static bool in_chars(uint32_t c, const bson_value_t *chars)
{
    if (chars == NULL)
        return default_ws(c);
    const unsigned char *p = (const unsigned char *)chars->value.v_utf8.str;
    size_t len = chars->value.v_utf8.len;
    for (size_t i = 0; i < len;) {
        uint32_t x;
        i += decode_cp(p + i, len - i, &x);
        if (x == c)
            return true;
    }
    return false;
}

static int parse_trim(qry__expr_parser_t *p, qry_expr_t *node, const bson_value_t *arg,
                      status_t *st)
{
    static const char *const names[] = {"input", "chars"};
    if (arg->value_type != BSON_TYPE_DOCUMENT)
        return status_set(st, 50696, "%s only supports an object as an argument, found: %s",
                          node->op->name, qry__expr_type_name(arg));
    ST_RET(qry__expr_parse_named(p, node, arg, names, 2, 50696, 50694, 50695, st));
    if (node->args[0] == NULL)
        return status_set(st, 50695, "%s requires an 'input' field", node->op->name);
    return 0;
}

static int eval_trim(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    bson_value_t in, chars;
    bool left = strcmp(node->op->name, "$rtrim") != 0;
    bool right = strcmp(node->op->name, "$ltrim") != 0;
    ST_RET(qry__expr_eval(cx, node->args[0], &in, st));
    ST_RET(qry__expr_eval(cx, node->args[1], &chars, st));
    if (qry__expr_is_nullish(&in)) {
        qry__expr_set_null(out);
        return 0;
    }
    if (in.value_type != BSON_TYPE_UTF8)
        return status_set(st, 50699, "%s requires its input to be a string, got %s", node->op->name,
                          qry__expr_type_name(&in));
    if (node->args[1] != NULL) {
        if (qry__expr_is_nullish(&chars)) {
            qry__expr_set_null(out);
            return 0;
        }
        if (chars.value_type != BSON_TYPE_UTF8)
            return status_set(st, 50700, "%s requires 'chars' to be a string, got %s",
                              node->op->name, qry__expr_type_name(&chars));
    }
    const bson_value_t *set = node->args[1] ? &chars : NULL;
    const unsigned char *s = (const unsigned char *)in.value.v_utf8.str;
    size_t len = in.value.v_utf8.len, b = 0, e = len;
    if (left) {
        while (b < len) {
            uint32_t c;
            size_t n = decode_cp(s + b, len - b, &c);
            if (!in_chars(c, set))
                break;
            b += n;
        }
    }
    if (right) {
        while (e > b) {
            size_t k = e - 1;
            while (k > b && is_cont(s[k]))
                k--;
            uint32_t c;
            decode_cp(s + k, e - k, &c);
            if (!in_chars(c, set))
                break;
            e = k;
        }
    }
    qry__expr_str(cx, (const char *)s + b, e - b, out);
    return 0;
}

/* ---- split, indexOf, replace --------------------------------------------------------- */

static const char *memfind(const char *h, size_t hl, const char *n, size_t nl)
{
    if (nl == 0)
        return h;
    if (nl > hl)
        return NULL;
    return memmem(h, hl, n, nl);
}

static int eval_split(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    bson_value_t *v;
    ST_RET(eval_args(cx, node, &v, st));
    if (qry__expr_is_nullish(&v[0]) || qry__expr_is_nullish(&v[1])) {
        qry__expr_set_null(out);
        return 0;
    }
    if (v[0].value_type != BSON_TYPE_UTF8)
        return status_set(st, 40085,
                          "$split requires an expression that evaluates to a string as a first "
                          "argument, found: %s",
                          qry__expr_type_name(&v[0]));
    if (v[1].value_type != BSON_TYPE_UTF8)
        return status_set(st, 40086,
                          "$split requires an expression that evaluates to a string as a second "
                          "argument, found: %s",
                          qry__expr_type_name(&v[1]));
    if (v[1].value.v_utf8.len == 0)
        return status_set(st, 40087, "$split requires a non-empty separator");
    const char *s = v[0].value.v_utf8.str, *d = v[1].value.v_utf8.str;
    size_t len = v[0].value.v_utf8.len, dl = v[1].value.v_utf8.len, pos = 0;
    uint32_t i = 0;
    bson_t arr;
    bson_init(&arr);
    for (;;) {
        const char *f = memfind(s + pos, len - pos, d, dl);
        size_t end = f ? (size_t)(f - s) : len;
        char kb[16];
        const char *key;
        size_t kl = bson_uint32_to_string(i++, &key, kb, sizeof(kb));
        bson_append_utf8(&arr, key, (int)kl, s + pos, (int)(end - pos));
        if (!f)
            break;
        pos = end + dl;
    }
    qry__expr_doc_finish(cx, &arr, true, out);
    return 0;
}

static int eval_index_of(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out,
                         status_t *st)
{
    bson_value_t *v;
    bool cp = strcmp(node->op->name, "$indexOfCP") == 0;
    const char *op = node->op->name;
    ST_RET(eval_args(cx, node, &v, st));
    if (qry__expr_is_nullish(&v[0])) {
        qry__expr_set_null(out);
        return 0;
    }
    if (v[0].value_type != BSON_TYPE_UTF8)
        return status_set(st, cp ? 40093 : 40091,
                          "%s requires a string as the first argument, found: %s", op,
                          qry__expr_type_name(&v[0]));
    if (v[1].value_type != BSON_TYPE_UTF8)
        return status_set(st, cp ? 40094 : 40092,
                          "%s requires a string as the second argument, found: %s", op,
                          qry__expr_type_name(&v[1]));
    const char *s = v[0].value.v_utf8.str, *n = v[1].value.v_utf8.str;
    size_t len = v[0].value.v_utf8.len, nl = v[1].value.v_utf8.len;
    size_t units = cp ? count_cp(s, len) : len;
    int64_t bounds[2] = {0, (int64_t)units};
    for (size_t i = 2; i < node->nargs; i++) {
        int64_t x;
        if (!bsonu_is_number(v[i].value_type) || !bsonu_number_as_int64(&v[i], &x))
            return status_set(st, 40096,
                              "%s requires an integral %s index, found a value of type: %s", op,
                              i == 2 ? "starting" : "ending", qry__expr_type_name(&v[i]));
        if (x < 0)
            return status_set(st, 40097, "%s requires a nonnegative %s index, found: %lld", op,
                              i == 2 ? "start" : "ending", (long long)x);
        bounds[i - 2] = x;
    }
    if (bounds[1] > (int64_t)units)
        bounds[1] = (int64_t)units;
    if (bounds[0] > bounds[1]) {
        qry__expr_set_int(out, -1);
        return 0;
    }
    size_t b = cp ? cp_offset(s, len, (size_t)bounds[0]) : (size_t)bounds[0];
    size_t e = cp ? cp_offset(s, len, (size_t)bounds[1]) : (size_t)bounds[1];
    const char *f = memfind(s + b, e - b, n, nl);
    if (f == NULL) {
        qry__expr_set_int(out, -1);
        return 0;
    }
    size_t at = (size_t)(f - s);
    qry__expr_set_int(out, (int32_t)(cp ? count_cp(s, at) : at));
    return 0;
}

static int parse_replace(qry__expr_parser_t *p, qry_expr_t *node, const bson_value_t *arg,
                         status_t *st)
{
    static const char *const names[] = {"!input", "!find", "!replacement"};
    return qry__expr_parse_named(p, node, arg, names, 3, 51751, 51750, 51749, st);
}

static int eval_replace(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    static const char *const what[] = {"input", "find", "replacement"};
    bson_value_t *v;
    bool all = strcmp(node->op->name, "$replaceAll") == 0;
    ST_RET(eval_args(cx, node, &v, st));
    bool null = false;
    for (int i = 0; i < 3; i++) {
        if (qry__expr_is_nullish(&v[i]))
            null = true;
        else if (v[i].value_type != BSON_TYPE_UTF8)
            return status_set(st, 51746 - i, "%s requires that '%s' be a string, found: %s",
                              node->op->name, what[i], qry__expr_type_name(&v[i]));
    }
    if (null) {
        qry__expr_set_null(out);
        return 0;
    }
    const char *s = v[0].value.v_utf8.str, *f = v[1].value.v_utf8.str, *r = v[2].value.v_utf8.str;
    size_t len = v[0].value.v_utf8.len, fl = v[1].value.v_utf8.len, rl = v[2].value.v_utf8.len;
    bson_string_t *b = bson_string_new(NULL);
    size_t pos = 0;
    bool first = true;
    for (;;) {
        if (!all && !first)
            break;
        const char *m = memfind(s + pos, len - pos, f, fl);
        if (m == NULL)
            break;
        size_t at = (size_t)(m - s);
        bson_string_append_printf(b, "%.*s%.*s", (int)(at - pos), s + pos, (int)rl, r);
        if (b->len > 16 * 1024 * 1024) {
            bson_string_free(b, true);
            return status_set(st, ERR_BSONObjectTooLarge, "%s result too large", node->op->name);
        }
        pos = at + fl;
        first = false;
        if (fl == 0) {
            /* an empty needle matches between characters: step over one code point */
            if (pos >= len)
                break;
            size_t n = cp_len((unsigned char)s[pos]);
            if (pos + n > len)
                n = len - pos;
            bson_string_append_printf(b, "%.*s", (int)n, s + pos);
            pos += n;
            if (pos == len && all) {
                bson_string_append_printf(b, "%.*s", (int)rl, r);
                break;
            }
        }
    }
    if (pos < len)
        bson_string_append_printf(b, "%.*s", (int)(len - pos), s + pos);
    qry__expr_str(cx, b->str, b->len, out);
    bson_string_free(b, true);
    return 0;
}

/* ---- regex ------------------------------------------------------------------------- */

typedef struct re_data {
    pcre2_code *code; /* compiled at parse time when regex and options are constant */
} re_data_t;

static void re_free(void *p)
{
    re_data_t *d = p;
    if (d != NULL)
        pcre2_code_free(d->code);
    free(d);
}

/* Pattern and flags from the regex and options values; code set on error. */
static int re_source(const char *op, const bson_value_t *re, const bson_value_t *opts,
                     const char **pattern, char flags[16], status_t *st)
{
    flags[0] = '\0';
    if (re->value_type == BSON_TYPE_REGEX) {
        *pattern = re->value.v_regex.regex;
        const char *f = re->value.v_regex.options ? re->value.v_regex.options : "";
        if (*f && opts->value_type == BSON_TYPE_UTF8 && opts->value.v_utf8.len > 0)
            return status_set(st, 51107,
                              "%s: found regex option(s) specified in both 'regex' and 'option' "
                              "fields",
                              op);
        snprintf(flags, 16, "%s", f);
    } else if (re->value_type == BSON_TYPE_UTF8) {
        *pattern = re->value.v_utf8.str;
        if (strlen(*pattern) != re->value.v_utf8.len)
            return status_set(st, 51109,
                              "%s: regular expression cannot contain an embedded null "
                              "byte",
                              op);
    } else {
        return status_set(st, 51105, "%s needs 'regex' to be of type string or regex", op);
    }
    if (opts->value_type == BSON_TYPE_UTF8) {
        if (strlen(opts->value.v_utf8.str) != opts->value.v_utf8.len)
            return status_set(st, 51110,
                              "%s:  regular expression options cannot contain an "
                              "embedded null byte",
                              op);
        if (re->value_type != BSON_TYPE_REGEX || flags[0] == '\0')
            snprintf(flags, 16, "%.15s", opts->value.v_utf8.str);
    } else if (!qry__expr_is_nullish(opts)) {
        return status_set(st, 51106, "%s needs 'options' to be of type string", op);
    }
    return 0;
}

static int re_compile(const char *op, const char *pattern, const char *flags, pcre2_code **out,
                      status_t *st)
{
    uint32_t o = PCRE2_UTF;
    for (const char *f = flags; *f; f++) {
        switch (*f) {
        case 'i':
            o |= PCRE2_CASELESS;
            break;
        case 'm':
            o |= PCRE2_MULTILINE;
            break;
        case 's':
            o |= PCRE2_DOTALL;
            break;
        case 'x':
            o |= PCRE2_EXTENDED;
            break;
        case 'u':
            break;
        default:
            return status_set(st, 51108, "%s invalid flag in regex options: %c", op, *f);
        }
    }
    int err;
    PCRE2_SIZE off;
    *out = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, o, &err, &off, NULL);
    if (*out == NULL) {
        PCRE2_UCHAR buf[256];
        pcre2_get_error_message(err, buf, sizeof(buf));
        return status_set(st, 51111, "Invalid Regex in %s: %s", op, (const char *)buf);
    }
    return 0;
}

/* args = input, regex, options */
static int parse_regex(qry__expr_parser_t *p, qry_expr_t *node, const bson_value_t *arg,
                       status_t *st)
{
    static const char *const names[] = {"!input", "!regex", "options"};
    if (arg->value_type != BSON_TYPE_DOCUMENT)
        return status_set(st, 51103, "%s expects an object of named arguments but found: %s",
                          node->op->name, qry__expr_type_name(arg));
    ST_RET(qry__expr_parse_named(p, node, arg, names, 3, 51103, 31024, 31022, st));
    const bson_value_t *re = qry_expr_constant(node->args[1]);
    bson_value_t none;
    memset(&none, 0, sizeof(none));
    const bson_value_t *opts = node->args[2] ? qry_expr_constant(node->args[2]) : &none;
    if (re != NULL && opts != NULL && !qry__expr_is_nullish(re)) {
        const char *pattern;
        char flags[16];
        ST_RET(re_source(node->op->name, re, opts, &pattern, flags, st));
        re_data_t *d = calloc(1, sizeof(*d));
        INVARIANT(d != NULL);
        node->data = d;
        ST_RET(re_compile(node->op->name, pattern, flags, &d->code, st));
    }
    return 0;
}

/* Append {match, idx, captures} for one match (ov from pcre2) to a document. */
static void append_match(bson_t *doc, const char *s, size_t len, PCRE2_SIZE *ov, int rc,
                         uint32_t ncap)
{
    bson_t caps;
    bson_append_utf8(doc, "match", 5, s + ov[0], (int)(ov[1] - ov[0]));
    bson_append_int32(doc, "idx", 3, (int32_t)count_cp(s, ov[0]));
    bson_append_array_begin(doc, "captures", 8, &caps);
    for (uint32_t g = 1; g <= ncap; g++) {
        char kb[16];
        const char *key;
        size_t kl = bson_uint32_to_string(g - 1, &key, kb, sizeof(kb));
        if ((int)g < rc && ov[2 * g] != PCRE2_UNSET)
            bson_append_utf8(&caps, key, (int)kl, s + ov[2 * g], (int)(ov[2 * g + 1] - ov[2 * g]));
        else
            bson_append_null(&caps, key, (int)kl);
    }
    bson_append_array_end(doc, &caps);
    (void)len;
}

static int eval_regex(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    const char *op = node->op->name;
    int mode = strcmp(op, "$regexMatch") == 0 ? 0 : strcmp(op, "$regexFind") == 0 ? 1 : 2;
    bson_value_t in, re, opts;
    pcre2_code *code = node->data ? ((re_data_t *)node->data)->code : NULL, *own = NULL;
    ST_RET(qry__expr_eval(cx, node->args[0], &in, st));
    ST_RET(qry__expr_eval(cx, node->args[1], &re, st));
    ST_RET(qry__expr_eval(cx, node->args[2], &opts, st));
    if (in.value_type != BSON_TYPE_UTF8 && !qry__expr_is_nullish(&in))
        return status_set(st, 51104, "%s needs 'input' to be of type string", op);
    if (code == NULL) {
        if (qry__expr_is_nullish(&re))
            goto nomatch;
        const char *pattern;
        char flags[16];
        ST_RET(re_source(op, &re, &opts, &pattern, flags, st));
        ST_RET(re_compile(op, pattern, flags, &own, st));
        code = own;
    }
    if (qry__expr_is_nullish(&in)) {
        pcre2_code_free(own);
        goto nomatch;
    }
    const char *s = in.value.v_utf8.str;
    size_t len = in.value.v_utf8.len;
    uint32_t ncap = 0;
    pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &ncap);
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(code, NULL);
    INVARIANT(md != NULL);
    bson_t arr;
    uint32_t n = 0;
    size_t pos = 0;
    int ret = 0;
    bson_init(&arr);
    for (;;) {
        int rc = pcre2_match(code, (PCRE2_SPTR)s, len, pos, 0, md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH)
            break;
        if (rc < 0) {
            ret = status_set(st, 51156,
                             "Error occurred while executing the regular expression "
                             "in %s. Result code: %d",
                             op, rc);
            break;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        if (mode == 0) {
            n = 1;
            break;
        }
        char kb[16];
        const char *key;
        size_t kl = bson_uint32_to_string(n++, &key, kb, sizeof(kb));
        bson_t m;
        bson_append_document_begin(&arr, key, (int)kl, &m);
        append_match(&m, s, len, ov, rc, ncap);
        bson_append_document_end(&arr, &m);
        if (mode == 1)
            break;
        if (ov[1] > ov[0]) {
            pos = ov[1];
        } else {
            /* empty match: move on one character so the scan ends */
            if (ov[1] >= len)
                break;
            pos = ov[1] + cp_len((unsigned char)s[ov[1]]);
        }
        if (pos > len)
            break;
    }
    pcre2_match_data_free(md);
    pcre2_code_free(own);
    if (ret != 0) {
        bson_destroy(&arr);
        return ret;
    }
    if (mode == 0) {
        bson_destroy(&arr);
        qry__expr_set_bool(out, n > 0);
        return 0;
    }
    if (mode == 1) {
        if (n == 0) {
            bson_destroy(&arr);
            qry__expr_set_null(out);
            return 0;
        }
        bson_value_t arrv, first;
        bson_iter_t it;
        bson_t view;
        qry__expr_doc_finish(cx, &arr, true, &arrv);
        qry__expr_view(&arrv, &view);
        if (bson_iter_init(&it, &view) && bson_iter_next(&it))
            first = *bson_iter_value(&it);
        else
            qry__expr_set_null(&first);
        *out = first;
        return 0;
    }
    qry__expr_doc_finish(cx, &arr, true, out);
    return 0;
nomatch:
    if (mode == 0)
        qry__expr_set_bool(out, false);
    else if (mode == 1)
        qry__expr_set_null(out);
    else {
        bson_t empty = BSON_INITIALIZER;
        qry__expr_doc_finish(cx, &empty, true, out);
    }
    return 0;
}

static const qry__expr_op_t string_ops[] = {
    {"$concat", 0, QRY__EXPR_ARGS_ANY, NULL, eval_concat, NULL, 0},
    {"$substr", 3, 3, NULL, eval_substr_bytes, NULL, 0},
    {"$substrBytes", 3, 3, NULL, eval_substr_bytes, NULL, 0},
    {"$substrCP", 3, 3, NULL, eval_substr_cp, NULL, 0},
    {"$strLenBytes", 1, 1, NULL, eval_strlen, NULL, 0},
    {"$strLenCP", 1, 1, NULL, eval_strlen, NULL, 0},
    {"$toLower", 1, 1, NULL, eval_case, NULL, 0},
    {"$toUpper", 1, 1, NULL, eval_case, NULL, 0},
    {"$strcasecmp", 2, 2, NULL, eval_strcasecmp, NULL, 0},
    {"$trim", 0, 0, parse_trim, eval_trim, NULL, 0},
    {"$ltrim", 0, 0, parse_trim, eval_trim, NULL, 0},
    {"$rtrim", 0, 0, parse_trim, eval_trim, NULL, 0},
    {"$split", 2, 2, NULL, eval_split, NULL, 0},
    {"$indexOfBytes", 2, 4, NULL, eval_index_of, NULL, 0},
    {"$indexOfCP", 2, 4, NULL, eval_index_of, NULL, 0},
    {"$replaceOne", 0, 0, parse_replace, eval_replace, NULL, 0},
    {"$replaceAll", 0, 0, parse_replace, eval_replace, NULL, 0},
    {"$regexMatch", 0, 0, parse_regex, eval_regex, re_free, 0},
    {"$regexFind", 0, 0, parse_regex, eval_regex, re_free, 0},
    {"$regexFindAll", 0, 0, parse_regex, eval_regex, re_free, 0},
};

const qry__expr_table_t qry__expr_string_table = {string_ops,
                                                  sizeof(string_ops) / sizeof(string_ops[0])};

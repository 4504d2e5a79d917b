/*
 * regex.c -- $regex through PCRE2, with MongoDB's option letters.
 *
 * MongoDB accepts the flags i (caseless), m (multiline), s (dot matches
 * newline), x (extended) and u (unicode; always on, since BSON strings are
 * UTF-8). Anything else fails with 51108 "invalid flag in regex options".
 * Compile errors fail with 51091 "Regular expression is invalid: ...".
 */
#include "query/query_int.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdlib.h>
#include <string.h>

/* MongoDB's location codes for regex errors (its error_codes.yml has no names for them). */
#define QRY_ERR_REGEX_INVALID 51091
#define QRY_ERR_REGEX_FLAG    51108

struct qry__regex {
    pcre2_code *code;
    char *pattern;
    char flags[8];
};

/* qry__regex_compile -- compile pattern with flags. */
int qry__regex_compile(const char *pattern, size_t pattern_len, const char *flags,
                       qry__regex_t **out, status_t *st)
{
    uint32_t opts = PCRE2_UTF;
    char seen[8] = {0};
    size_t nseen = 0;
    *out = NULL;

    if (pattern_len > QRY__REGEX_MAX_LEN)
        return status_set(st, QRY_ERR_REGEX_INVALID, "Regular expression is too long");
    if (memchr(pattern, '\0', pattern_len) != NULL)
        return status_set(st, ERR_BadValue,
                          "Regular expression cannot contain an embedded null byte");

    for (const char *f = flags ? flags : ""; *f; f++) {
        switch (*f) {
        case 'i':
            opts |= PCRE2_CASELESS;
            break;
        case 'm':
            opts |= PCRE2_MULTILINE;
            break;
        case 's':
            opts |= PCRE2_DOTALL;
            break;
        case 'x':
            opts |= PCRE2_EXTENDED;
            break;
        case 'u':
            break;
        default:
            return status_set(st, QRY_ERR_REGEX_FLAG, "invalid flag in regex options: %c", *f);
        }
        /* Keep each letter once, so the stored flags compare like BSON's. */
        if (memchr(seen, *f, nseen) == NULL && nseen < sizeof(seen) - 1)
            seen[nseen++] = *f;
    }

    int err = 0;
    PCRE2_SIZE off = 0;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)pattern, pattern_len, opts, &err, &off, NULL);
    if (code == NULL) {
        PCRE2_UCHAR buf[256];
        pcre2_get_error_message(err, buf, sizeof(buf));
        return status_set(st, QRY_ERR_REGEX_INVALID, "Regular expression is invalid: %s",
                          (const char *)buf);
    }

    qry__regex_t *re = calloc(1, sizeof(*re));
    char *pat = malloc(pattern_len + 1);
    if (re == NULL || pat == NULL) {
        free(re);
        free(pat);
        pcre2_code_free(code);
        return status_set(st, ERR_ExceededMemoryLimit, "out of memory compiling a regex");
    }
    memcpy(pat, pattern, pattern_len);
    pat[pattern_len] = '\0';
    /* BSON stores regex flags sorted; sort ours so {$regex, $options} equals /p/flags. */
    for (size_t i = 1; i < nseen; i++)
        for (size_t j = i; j > 0 && seen[j - 1] > seen[j]; j--) {
            char t = seen[j];
            seen[j] = seen[j - 1];
            seen[j - 1] = t;
        }
    memcpy(re->flags, seen, sizeof(seen));
    re->code = code;
    re->pattern = pat;
    *out = re;
    return 0;
}

/* qry__regex_match -- whether re matches anywhere in subject. */
bool qry__regex_match(const qry__regex_t *re, const char *subject, size_t len)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re->code, NULL);
    if (md == NULL)
        return false;
    /* Invalid UTF-8 in a stored string is a non-match, never an error. */
    int rc = pcre2_match(re->code, (PCRE2_SPTR)subject, len, 0, 0, md, NULL);
    pcre2_match_data_free(md);
    return rc >= 0;
}

/* qry__regex_destroy -- free a compiled regex. */
void qry__regex_destroy(qry__regex_t *re)
{
    if (re == NULL)
        return;
    pcre2_code_free(re->code);
    free(re->pattern);
    free(re);
}

/* qry__regex_pattern -- the pattern as compiled. */
const char *qry__regex_pattern(const qry__regex_t *re)
{
    return re->pattern;
}

/* qry__regex_flags -- the distinct flags, sorted. */
const char *qry__regex_flags(const qry__regex_t *re)
{
    return re->flags;
}

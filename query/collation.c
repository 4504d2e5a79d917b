/*
 * collation.c -- collations through ICU, behind query/'s own small interface
 * (qry_collation_*): nothing else in Mica includes an ICU header.
 *
 * qry_collation_parse validates a collation document as MongoDB's ICU
 * collator factory does -- locale first ("simple" is the byte order and
 * admits no other field; otherwise ICU must know the locale exactly as
 * written, or the error suggests the one ICU would use), then caseLevel,
 * caseFirst, strength, numericOrdering, alternate, maxVariable,
 * normalization, backwards and version, each typed, unknown fields refused,
 * and the two invalid combinations (backwards at strength 1; caseFirst
 * without caseLevel at strength 1-2) -- and builds an ICU collator with those
 * attributes. Fields left out take the locale's own defaults, which
 * qry_collation_spec reports back in full, as MongoDB's listIndexes and
 * listCollections do. Comparisons and sort keys work on UTF-8 directly.
 */
#include "query/query_int.h"

#include <string.h>
#include <unicode/ucol.h>
#include <unicode/uiter.h>
#include <unicode/uloc.h>
#include <unicode/uvernum.h>

struct qry_collation {
    UCollator *coll;
    char locale[ULOC_FULLNAME_CAPACITY];
    bool case_level, numeric_ordering, normalization, backwards;
    const char *case_first, *alternate, *max_variable;
    int strength;
};

/* type_error -- MongoDB's bsonExtract*Field message for a field of the wrong type. */
static int type_error(const bson_iter_t *it, const char *want, status_t *st)
{
    return status_set(st, ERR_TypeMismatch, "\"%s\" had the wrong type. Expected %s, found %s",
                      bson_iter_key(it), want, bsonu_type_name(bson_iter_type(it)));
}

/* get_bool / get_string -- one optional field; *present. */
static int get_bool(const bson_t *spec, const char *f, bool *out, bool *present, status_t *st)
{
    bson_iter_t it;
    *present = bson_iter_init_find(&it, spec, f);
    if (!*present)
        return 0;
    if (!BSON_ITER_HOLDS_BOOL(&it))
        return type_error(&it, "bool", st);
    *out = bson_iter_bool(&it);
    return 0;
}

static int get_string(const bson_t *spec, const char *f, const char **out, bool *present,
                      status_t *st)
{
    bson_iter_t it;
    *present = bson_iter_init_find(&it, spec, f);
    if (!*present)
        return 0;
    if (!BSON_ITER_HOLDS_UTF8(&it))
        return type_error(&it, "string", st);
    *out = bson_iter_utf8(&it, NULL);
    return 0;
}

/* one_of -- s is one of the allowed values, else MongoDB's FailedToParse message. */
static int one_of(const char *field, const char *s, const char *const *ok, status_t *st)
{
    for (int i = 0; ok[i] != NULL; i++)
        if (strcmp(ok[i], s) == 0)
            return 0;
    if (ok[2] == NULL)
        return status_set(st, ERR_FailedToParse, "Field '%s' must be '%s' or '%s'. Got: %s", field,
                          ok[0], ok[1], s);
    return status_set(st, ERR_FailedToParse, "Field '%s' must be '%s', '%s', or '%s'. Got: %s",
                      field, ok[0], ok[1], ok[2], s);
}

static bool attr_on(UCollator *c, UColAttribute a)
{
    UErrorCode e = U_ZERO_ERROR;
    return ucol_getAttribute(c, a, &e) == UCOL_ON;
}

static int set_attr(UCollator *c, UColAttribute a, UColAttributeValue v, status_t *st)
{
    UErrorCode e = U_ZERO_ERROR;
    ucol_setAttribute(c, a, v, &e);
    if (U_FAILURE(e))
        return status_set(st, ERR_OperationFailed, "Failed to set collation attribute: %s",
                          u_errorName(e));
    return 0;
}

/* open_locale -- an ICU collator for exactly the locale asked for. */
static int open_locale(const char *id, qry_collation_t *c, status_t *st)
{
    UErrorCode e = U_ZERO_ERROR;
    if (id[0] == '\0')
        return status_set(st, ERR_BadValue, "Field 'locale' cannot be the empty string");
    c->coll = ucol_open(id, &e);
    if (U_FAILURE(e) || c->coll == NULL)
        return status_set(st, ERR_BadValue, "Field 'locale' is not valid: %s", id);
    const char *valid = ucol_getLocaleByType(c->coll, ULOC_VALID_LOCALE, &e);
    if (U_FAILURE(e) || valid == NULL)
        valid = "";
    if (strcmp(valid, id) != 0) {
        /* ICU fell back or canonicalised: the locale is not one it has data for */
        if (valid[0] != '\0' && strcmp(valid, "root") != 0)
            return status_set(st, ERR_BadValue,
                              "Field 'locale' is invalid with value: %s. Did you mean '%s'?", id,
                              valid);
        return status_set(st, ERR_BadValue, "Field 'locale' is invalid with value: %s", id);
    }
    snprintf(c->locale, sizeof(c->locale), "%s", id);
    return 0;
}

/* qry_collation_parse -- see query.h. */
int qry_collation_parse(const bson_t *spec, qry_collation_t **out, status_t *st)
{
    static const char *const case_firsts[] = {"upper", "lower", "off", NULL};
    static const char *const alternates[] = {"non-ignorable", "shifted", NULL};
    static const char *const max_vars[] = {"punct", "space", NULL};
    bson_iter_t it;
    const char *locale;
    bool present;
    int nfields = 1, ret = 0;

    *out = NULL;
    if (!bson_iter_init_find(&it, spec, "locale"))
        return status_set(st, ERR_BadValue, "Missing expected field \"locale\"");
    if (!BSON_ITER_HOLDS_UTF8(&it))
        return type_error(&it, "string", st);
    uint32_t len;
    locale = bson_iter_utf8(&it, &len);
    if (strlen(locale) != len)
        return status_set(st, ERR_BadValue, "Field 'locale' cannot contain null byte");
    if (strcmp(locale, "simple") == 0) {
        if (bson_count_keys(spec) > 1)
            return status_set(st, ERR_FailedToParse,
                              "If locale=simple, no other fields should be present");
        return 0; /* NULL: the simple binary comparison */
    }

    qry_collation_t *c = calloc(1, sizeof(*c));
    INVARIANT(c != NULL);
    ST_ERR(open_locale(locale, c, st));

    bool b;
    const char *s;
    ST_ERR(get_bool(spec, "caseLevel", &b, &present, st));
    if (present) {
        nfields++;
        ST_ERR(set_attr(c->coll, UCOL_CASE_LEVEL, b ? UCOL_ON : UCOL_OFF, st));
    }
    ST_ERR(get_string(spec, "caseFirst", &s, &present, st));
    if (present) {
        nfields++;
        ST_ERR(one_of("caseFirst", s, case_firsts, st));
        ST_ERR(set_attr(c->coll, UCOL_CASE_FIRST,
                        s[0] == 'u'   ? UCOL_UPPER_FIRST
                        : s[0] == 'l' ? UCOL_LOWER_FIRST
                                      : UCOL_OFF,
                        st));
    }
    if (bson_iter_init_find(&it, spec, "strength")) {
        int64_t v;
        nfields++;
        if (!bsonu_is_number(bson_iter_type(&it)))
            ST_ERR(type_error(&it, "number", st));
        if (!bsonu_number_as_int64(bson_iter_value(&it), &v) || v < 1 || v > 5) {
            double d = 0;
            bsonu_number_as_double(bson_iter_value(&it), &d);
            ret = status_set(st, ERR_FailedToParse,
                             "Field 'strength' must be an integer 1 through 5. Got: %g", d);
            goto err;
        }
        static const UColAttributeValue levels[] = {UCOL_PRIMARY, UCOL_SECONDARY, UCOL_TERTIARY,
                                                    UCOL_QUATERNARY, UCOL_IDENTICAL};
        ST_ERR(set_attr(c->coll, UCOL_STRENGTH, levels[v - 1], st));
    }
    ST_ERR(get_bool(spec, "numericOrdering", &b, &present, st));
    if (present) {
        nfields++;
        ST_ERR(set_attr(c->coll, UCOL_NUMERIC_COLLATION, b ? UCOL_ON : UCOL_OFF, st));
    }
    ST_ERR(get_string(spec, "alternate", &s, &present, st));
    if (present) {
        nfields++;
        ST_ERR(one_of("alternate", s, alternates, st));
        ST_ERR(set_attr(c->coll, UCOL_ALTERNATE_HANDLING,
                        s[0] == 's' ? UCOL_SHIFTED : UCOL_NON_IGNORABLE, st));
    }
    ST_ERR(get_string(spec, "maxVariable", &s, &present, st));
    if (present) {
        UErrorCode e = U_ZERO_ERROR;
        nfields++;
        ST_ERR(one_of("maxVariable", s, max_vars, st));
        ucol_setMaxVariable(
            c->coll, s[0] == 'p' ? UCOL_REORDER_CODE_PUNCTUATION : UCOL_REORDER_CODE_SPACE, &e);
    }
    ST_ERR(get_bool(spec, "normalization", &b, &present, st));
    if (present) {
        nfields++;
        ST_ERR(set_attr(c->coll, UCOL_NORMALIZATION_MODE, b ? UCOL_ON : UCOL_OFF, st));
    }
    ST_ERR(get_bool(spec, "backwards", &b, &present, st));
    if (present) {
        nfields++;
        ST_ERR(set_attr(c->coll, UCOL_FRENCH_COLLATION, b ? UCOL_ON : UCOL_OFF, st));
    }
    ST_ERR(get_string(spec, "version", &s, &present, st));
    if (present) {
        nfields++;
        if (strcmp(s, U_ICU_VERSION) != 0) {
            ret = status_set(st, ERR_IncompatibleCollationVersion,
                             "Requested collation version %s but the only available collator "
                             "version was %s",
                             s, U_ICU_VERSION);
            goto err;
        }
    }
    if ((uint32_t)nfields < bson_count_keys(spec)) {
        ret = status_set(st, ERR_FailedToParse, "Collation spec contains unknown field");
        goto err;
    }

    /* the effective values, the locale's defaults included */
    UErrorCode e = U_ZERO_ERROR;
    c->case_level = attr_on(c->coll, UCOL_CASE_LEVEL);
    c->numeric_ordering = attr_on(c->coll, UCOL_NUMERIC_COLLATION);
    c->normalization = attr_on(c->coll, UCOL_NORMALIZATION_MODE);
    c->backwards = attr_on(c->coll, UCOL_FRENCH_COLLATION);
    UColAttributeValue cf = ucol_getAttribute(c->coll, UCOL_CASE_FIRST, &e);
    c->case_first = cf == UCOL_UPPER_FIRST ? "upper" : cf == UCOL_LOWER_FIRST ? "lower" : "off";
    c->alternate = ucol_getAttribute(c->coll, UCOL_ALTERNATE_HANDLING, &e) == UCOL_SHIFTED
                       ? "shifted"
                       : "non-ignorable";
    c->max_variable = ucol_getMaxVariable(c->coll) == UCOL_REORDER_CODE_SPACE ? "space" : "punct";
    switch (ucol_getAttribute(c->coll, UCOL_STRENGTH, &e)) {
    case UCOL_PRIMARY:
        c->strength = 1;
        break;
    case UCOL_SECONDARY:
        c->strength = 2;
        break;
    case UCOL_QUATERNARY:
        c->strength = 4;
        break;
    case UCOL_IDENTICAL:
        c->strength = 5;
        break;
    default:
        c->strength = 3;
        break;
    }
    if (c->backwards && c->strength == 1) {
        ret = status_set(st, ERR_BadValue, "'backwards' is invalid with 'strength' of 1");
        goto err;
    }
    if (strcmp(c->case_first, "off") != 0 && !c->case_level && c->strength <= 2) {
        ret = status_set(st, ERR_BadValue,
                         "'caseFirst' is invalid unless 'caseLevel' is on or 'strength' is "
                         "greater than 2");
        goto err;
    }
    *out = c;
    return 0;
err:
    qry_collation_destroy(c);
    return ret;
}

/* qry_collation_destroy -- see query.h. */
void qry_collation_destroy(qry_collation_t *c)
{
    if (c == NULL)
        return;
    if (c->coll != NULL)
        ucol_close(c->coll);
    free(c);
}

/* qry_collation_spec -- see query.h. */
void qry_collation_spec(const qry_collation_t *c, bson_t *out)
{
    if (c == NULL) {
        BSON_APPEND_UTF8(out, "locale", "simple");
        return;
    }
    BSON_APPEND_UTF8(out, "locale", c->locale);
    BSON_APPEND_BOOL(out, "caseLevel", c->case_level);
    BSON_APPEND_UTF8(out, "caseFirst", c->case_first);
    BSON_APPEND_INT32(out, "strength", c->strength);
    BSON_APPEND_BOOL(out, "numericOrdering", c->numeric_ordering);
    BSON_APPEND_UTF8(out, "alternate", c->alternate);
    BSON_APPEND_UTF8(out, "maxVariable", c->max_variable);
    BSON_APPEND_BOOL(out, "normalization", c->normalization);
    BSON_APPEND_BOOL(out, "backwards", c->backwards);
    BSON_APPEND_UTF8(out, "version", U_ICU_VERSION);
}

/* qry_collation_compare -- see query.h. */
int qry_collation_compare(const qry_collation_t *c, const char *a, size_t alen, const char *b,
                          size_t blen)
{
    if (c == NULL) {
        int r = memcmp(a, b, alen < blen ? alen : blen);
        return r != 0 ? (r < 0 ? -1 : 1) : (alen < blen ? -1 : alen > blen);
    }
    UErrorCode e = U_ZERO_ERROR;
    UCollationResult r = ucol_strcollUTF8(c->coll, a, (int32_t)alen, b, (int32_t)blen, &e);
    if (U_FAILURE(e)) /* malformed UTF-8 cannot be stored; fall back to bytes */
        return qry_collation_compare(NULL, a, alen, b, blen);
    return r == UCOL_LESS ? -1 : r == UCOL_GREATER ? 1 : 0;
}

/* qry_collation_sort_key -- see query.h. */
size_t qry_collation_sort_key(const qry_collation_t *c, const char *s, size_t len, uint8_t *out,
                              size_t cap)
{
    if (c == NULL) {
        if (len <= cap)
            memcpy(out, s, len);
        return len;
    }
    UCharIterator iter;
    uiter_setUTF8(&iter, s, (int32_t)len);
    /* ucol_nextSortKeyPart writes the key in pieces; count then copy up to cap */
    uint32_t state[2] = {0, 0};
    size_t total = 0;
    uint8_t chunk[256];
    for (;;) {
        UErrorCode e = U_ZERO_ERROR;
        int32_t n = ucol_nextSortKeyPart(c->coll, &iter, state, chunk, (int32_t)sizeof(chunk), &e);
        if (U_FAILURE(e) || n <= 0)
            break;
        if (total < cap)
            memcpy(out + total, chunk, (size_t)n <= cap - total ? (size_t)n : cap - total);
        total += (size_t)n;
        if (n < (int32_t)sizeof(chunk))
            break;
    }
    return total;
}

/*
 * test_projection.c -- table-driven tests of find projections
 * (query/projection.c): spec, input document, expected output or MongoDB
 * error code, written from MongoDB's documented behaviour. JSON in the
 * tables uses single quotes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "query/query.h"
#include "tests/unit/query/test_json.h"

typedef struct pcase {
    const char *name;
    const char *spec;
    const char *doc;
    int matched;        /* positional index, -1 for none */
    const char *expect; /* NULL: error expected */
    int code;
} pcase_t;

#define OK(n, s, d, e)                                                                             \
    {                                                                                              \
        n, s, d, -1, e, 0                                                                          \
    }
#define OKP(n, s, d, m, e)                                                                         \
    {                                                                                              \
        n, s, d, m, e, 0                                                                           \
    }
#define ERR(n, s, c)                                                                               \
    {                                                                                              \
        n, s, "{}", -1, NULL, c                                                                    \
    }

static const pcase_t cases[] = {
    OK("empty_projection_returns_all", "{}", "{'_id': 1, 'a': 1, 'b': 2}",
       "{'_id': 1, 'a': 1, 'b': 2}"),
    OK("inclusion_keeps_id", "{'a': 1}", "{'_id': 1, 'a': 1, 'b': 2}", "{'_id': 1, 'a': 1}"),
    OK("inclusion_true", "{'a': true}", "{'_id': 1, 'a': 1, 'b': 2}", "{'_id': 1, 'a': 1}"),
    OK("inclusion_without_id", "{'a': 1, '_id': 0}", "{'_id': 1, 'a': 1, 'b': 2}", "{'a': 1}"),
    OK("inclusion_follows_document_order", "{'b': 1, 'a': 1}", "{'_id': 1, 'a': 1, 'b': 2}",
       "{'_id': 1, 'a': 1, 'b': 2}"),
    OK("inclusion_missing_field_omitted", "{'z': 1}", "{'_id': 1, 'a': 1}", "{'_id': 1}"),
    OK("only_id", "{'_id': 1}", "{'_id': 1, 'a': 1}", "{'_id': 1}"),
    OK("exclude_only_id", "{'_id': 0}", "{'_id': 1, 'a': 1}", "{'a': 1}"),
    OK("exclusion", "{'b': 0}", "{'_id': 1, 'a': 1, 'b': 2}", "{'_id': 1, 'a': 1}"),
    OK("exclusion_false", "{'b': false}", "{'_id': 1, 'a': 1, 'b': 2}", "{'_id': 1, 'a': 1}"),
    OK("exclusion_with_id", "{'b': 0, '_id': 0}", "{'_id': 1, 'a': 1, 'b': 2}", "{'a': 1}"),
    OK("exclusion_with_id_included", "{'_id': 1, 'b': 0}", "{'_id': 1, 'a': 1, 'b': 2}",
       "{'_id': 1, 'a': 1}"),
    OK("dotted_inclusion", "{'a.b': 1}", "{'_id': 1, 'a': {'b': 1, 'c': 2}, 'd': 3}",
       "{'_id': 1, 'a': {'b': 1}}"),
    OK("nested_document_spec_is_dotted", "{'a': {'b': 1}}", "{'_id': 1, 'a': {'b': 1, 'c': 2}}",
       "{'_id': 1, 'a': {'b': 1}}"),
    OK("dotted_inclusion_scalar_parent_omitted", "{'a.b': 1}", "{'_id': 1, 'a': 5}", "{'_id': 1}"),
    OK("dotted_inclusion_empty_subdoc", "{'a.b': 1}", "{'_id': 1, 'a': {'c': 1}}",
       "{'_id': 1, 'a': {}}"),
    OK("dotted_inclusion_through_array", "{'a.b': 1}",
       "{'_id': 1, 'a': [{'b': 1, 'c': 1}, {'c': 2}, 5, {'b': 3}]}",
       "{'_id': 1, 'a': [{'b': 1}, {}, {'b': 3}]}"),
    OK("dotted_exclusion", "{'a.b': 0}", "{'_id': 1, 'a': {'b': 1, 'c': 2}}",
       "{'_id': 1, 'a': {'c': 2}}"),
    OK("dotted_exclusion_through_array_keeps_scalars", "{'a.b': 0}",
       "{'_id': 1, 'a': [{'b': 1, 'c': 1}, 5]}", "{'_id': 1, 'a': [{'c': 1}, 5]}"),
    OK("dotted_exclusion_scalar_parent_kept", "{'a.b': 0}", "{'_id': 1, 'a': 5}",
       "{'_id': 1, 'a': 5}"),
    OK("id_subfield_inclusion", "{'_id.x': 1}", "{'_id': {'x': 1, 'y': 2}, 'a': 1}",
       "{'_id': {'x': 1}}"),
    OK("slice_first_n", "{'a': {'$slice': 2}}", "{'_id': 1, 'a': [1, 2, 3], 'b': 1}",
       "{'_id': 1, 'a': [1, 2], 'b': 1}"),
    OK("slice_last_n", "{'a': {'$slice': -2}}", "{'_id': 1, 'a': [1, 2, 3]}",
       "{'_id': 1, 'a': [2, 3]}"),
    OK("slice_more_than_length", "{'a': {'$slice': 10}}", "{'_id': 1, 'a': [1, 2]}",
       "{'_id': 1, 'a': [1, 2]}"),
    OK("slice_negative_more_than_length", "{'a': {'$slice': -10}}", "{'_id': 1, 'a': [1, 2]}",
       "{'_id': 1, 'a': [1, 2]}"),
    OK("slice_zero", "{'a': {'$slice': 0}}", "{'_id': 1, 'a': [1, 2]}", "{'_id': 1, 'a': []}"),
    OK("slice_skip_limit", "{'a': {'$slice': [1, 2]}}", "{'_id': 1, 'a': [1, 2, 3, 4]}",
       "{'_id': 1, 'a': [2, 3]}"),
    OK("slice_negative_skip", "{'a': {'$slice': [-3, 2]}}", "{'_id': 1, 'a': [1, 2, 3, 4]}",
       "{'_id': 1, 'a': [2, 3]}"),
    OK("slice_skip_past_end", "{'a': {'$slice': [10, 2]}}", "{'_id': 1, 'a': [1, 2]}",
       "{'_id': 1, 'a': []}"),
    OK("slice_non_array_unchanged", "{'a': {'$slice': 1}}", "{'_id': 1, 'a': 5}",
       "{'_id': 1, 'a': 5}"),
    OK("slice_with_inclusion", "{'a': {'$slice': 1}, 'b': 1}",
       "{'_id': 1, 'a': [1, 2], 'b': 2, 'c': 3}", "{'_id': 1, 'a': [1], 'b': 2}"),
    OK("slice_with_exclusion", "{'a': {'$slice': 1}, 'c': 0}",
       "{'_id': 1, 'a': [1, 2], 'b': 2, 'c': 3}", "{'_id': 1, 'a': [1], 'b': 2}"),
    OK("slice_nested_path", "{'x.a': {'$slice': 1}}", "{'_id': 1, 'x': {'a': [1, 2], 'b': 1}}",
       "{'_id': 1, 'x': {'a': [1], 'b': 1}}"),
    OK("elemmatch_first_matching", "{'a': {'$elemMatch': {'b': {'$gt': 1}}}}",
       "{'_id': 1, 'a': [{'b': 1}, {'b': 2}, {'b': 3}], 'c': 1}", "{'_id': 1, 'a': [{'b': 2}]}"),
    OK("elemmatch_no_match_omits_field", "{'a': {'$elemMatch': {'b': 9}}}",
       "{'_id': 1, 'a': [{'b': 1}]}", "{'_id': 1}"),
    OK("elemmatch_value_form", "{'a': {'$elemMatch': {'$gt': 5}}}", "{'_id': 1, 'a': [1, 6, 7]}",
       "{'_id': 1, 'a': [6]}"),
    OK("elemmatch_non_array_omitted", "{'a': {'$elemMatch': {'b': 1}}}",
       "{'_id': 1, 'a': {'b': 1}}", "{'_id': 1}"),
    OKP("positional_element", "{'a.$': 1}", "{'_id': 1, 'a': [5, 6, 7], 'b': 1}", 1,
        "{'_id': 1, 'a': [6]}"),
    OKP("positional_with_other_field", "{'a.$': 1, 'b': 1}", "{'_id': 1, 'a': [5, 6], 'b': 1}", 0,
        "{'_id': 1, 'a': [5], 'b': 1}"),
    {"positional_without_match_fails", "{'a.$': 1}", "{'_id': 1, 'a': [5]}", -1, NULL, 51246},
    OK("literal_value_sets_field", "{'a': 1, 'x': 'lit'}", "{'_id': 1, 'a': 1, 'b': 2}",
       "{'_id': 1, 'a': 1, 'x': 'lit'}"),
    OK("literal_replaces_existing_value", "{'a': 'lit'}", "{'_id': 1, 'a': 1}",
       "{'_id': 1, 'a': 'lit'}"),
    ERR("mix_exclusion_into_inclusion", "{'a': 1, 'b': 0}", 31254),
    ERR("mix_inclusion_into_exclusion", "{'a': 0, 'b': 1}", 31253),
    ERR("path_collision_parent_first", "{'a': 1, 'a.b': 1}", 31249),
    ERR("path_collision_child_first", "{'a.b': 1, 'a': 1}", 31250),
    ERR("empty_field_component", "{'a..b': 1}", 15998),
    ERR("dollar_field", "{'$a': 1}", 16410),
    ERR("empty_subprojection", "{'a': {}}", 51270),
    ERR("expression_not_supported", "{'a': '$b'}", 238),
    ERR("operator_expression_not_supported", "{'a': {'$add': [1, 2]}}", 238),
    ERR("slice_bad_argument", "{'a': {'$slice': 'x'}}", 2),
    ERR("slice_limit_not_positive", "{'a': {'$slice': [1, 0]}}", 28724),
    ERR("elemmatch_not_object", "{'a': {'$elemMatch': 1}}", 31274),
    ERR("elemmatch_nested_field", "{'a.b': {'$elemMatch': {'c': 1}}}", 31275),
    ERR("positional_then_elemmatch", "{'a.$': 1, 'b': {'$elemMatch': {'c': 1}}}", 31255),
    ERR("elemmatch_then_positional", "{'b': {'$elemMatch': {'c': 1}}, 'a.$': 1}", 31256),
    ERR("two_positionals", "{'a.$': 1, 'b.$': 1}", 31276),
    ERR("positional_in_middle", "{'a.$.b': 1}", 31394),
    ERR("meta_unknown", "{'a': {'$meta': 'foo'}}", 17308),
};

/* meta_score -- a $meta callback that answers textScore 1.5. */
static int meta_score(void *arg, const char *name, const bson_t *doc, bson_value_t *out,
                      status_t *st)
{
    (void)arg;
    (void)doc;
    if (strcmp(name, "textScore") != 0)
        return status_set(st, ERR_BadValue, "no %s", name);
    out->value_type = BSON_TYPE_DOUBLE;
    out->value.v_double = 1.5;
    return 0;
}

static void run_case(const pcase_t *c)
{
    bson_t *spec = J(c->spec), *doc = J(c->doc), out;
    qry_projection_t *p = NULL;
    status_t st = STATUS_INIT;
    int rc = qry_projection_parse(spec, &p, &st);
    bson_init(&out);
    if (rc == 0) {
        qry_projection_ctx_t ctx = QRY_PROJECTION_CTX_INIT;
        ctx.matched_index = c->matched;
        bson_destroy(&out);
        rc = qry_projection_apply(p, doc, &ctx, &out, &st);
    }
    if (c->expect && rc != 0) {
        CASE_FAIL("case '%s': unexpected error %d: %s", c->name, st.code, st.msg);
    } else if (c->expect) {
        bson_t *want = J(c->expect);
        if (!bson_equal(&out, want)) {
            char *g = bson_as_relaxed_extended_json(&out, NULL);
            char *w = bson_as_relaxed_extended_json(want, NULL);
            CASE_FAIL("case '%s':\n  got  %s\n  want %s", c->name, g, w);
            bson_free(g);
            bson_free(w);
        }
        bson_destroy(want);
    } else if (rc == 0) {
        CASE_FAIL("case '%s': expected error %d, got success", c->name, c->code);
    } else if (st.code != c->code) {
        CASE_FAIL("case '%s': got error %d (%s), want %d", c->name, st.code, st.msg, c->code);
    }
    bson_destroy(&out);
    qry_projection_destroy(p);
    bson_destroy(spec);
    bson_destroy(doc);
}

static void test_projection_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
    assert_int_equal(failures, 0);
}

static void test_meta_textscore_appended(void **state)
{
    (void)state;
    bson_t *spec = J("{'s': {'$meta': 'textScore'}}"), *doc = J("{'_id': 1, 'a': 1}"), out;
    bson_t *want = J("{'_id': 1, 'a': 1, 's': 1.5}");
    qry_projection_t *p = NULL;
    status_t st = STATUS_INIT;
    assert_int_equal(qry_projection_parse(spec, &p, &st), 0);
    assert_false(qry_projection_is_inclusion(p));
    qry_projection_ctx_t ctx = QRY_PROJECTION_CTX_INIT;
    ctx.meta = meta_score;
    assert_int_equal(qry_projection_apply(p, doc, &ctx, &out, &st), 0);
    assert_true(bson_equal(&out, want));
    bson_destroy(&out);
    bson_destroy(want);
    bson_destroy(spec);
    bson_destroy(doc);
    qry_projection_destroy(p);
}

static void test_meta_without_callback_is_error(void **state)
{
    (void)state;
    bson_t *spec = J("{'s': {'$meta': 'textScore'}}"), *doc = J("{'_id': 1}"), out;
    qry_projection_t *p = NULL;
    status_t st = STATUS_INIT;
    assert_int_equal(qry_projection_parse(spec, &p, &st), 0);
    assert_int_not_equal(qry_projection_apply(p, doc, NULL, &out, &st), 0);
    assert_int_equal(st.code, ERR_NotImplemented);
    bson_destroy(&out);
    bson_destroy(spec);
    bson_destroy(doc);
    qry_projection_destroy(p);
}

static void test_positional_flag(void **state)
{
    (void)state;
    bson_t *spec = J("{'a.$': 1}");
    qry_projection_t *p = NULL;
    status_t st = STATUS_INIT;
    assert_int_equal(qry_projection_parse(spec, &p, &st), 0);
    assert_true(qry_projection_uses_positional(p));
    assert_true(qry_projection_is_inclusion(p));
    qry_projection_destroy(p);
    bson_destroy(spec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define MICA_TEST(fn) cmocka_unit_test(fn),
#include "tests.gen.h"
#undef MICA_TEST
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

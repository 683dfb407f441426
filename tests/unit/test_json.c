/* Unit: strict JSON input and RFC 8785 canonical output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "journal.h"
#include "json.h"

static int accepted(const char *text)
{
    const char *detail = NULL;
    json_t *value = json_parse_strict(text, strlen(text), &detail);
    json_decref(value);
    return value != NULL;
}

static void test_strict_parsing(void **state)
{
    (void)state;
    assert_true(accepted("{\"member\":\"m\",\"points\":1}"));
    assert_false(accepted("{\"a\":1,\"a\":2}")); /* duplicate key */
    assert_false(accepted("{\"points\":1.0}"));  /* not an integer */
    assert_false(accepted("{\"points\":1e3}"));
    assert_false(accepted("{\"a\":1} x")); /* trailing garbage */
    assert_false(accepted("{\"a\":1}{}"));
    assert_false(accepted("[1]"));                          /* not an object */
    assert_false(accepted("{\"a\":\"\xff\"}"));             /* invalid UTF-8 */
    assert_false(accepted("{\"a\":\"\\u0000\"}"));          /* NUL */
    assert_false(accepted("{\"a\":99999999999999999999}")); /* overflow */
    assert_false(accepted("{\"a\":9007199254740992}"));     /* beyond 2^53 - 1 (found by fuzzing) */
    assert_true(accepted("{\"a\":9007199254740991}"));
    assert_false(accepted(""));
    assert_false(accepted("{"));
    char deep[200] = "{\"a\":";
    for (int i = 0; i < 40; i++)
        strcat(deep, "[");
    for (int i = 0; i < 40; i++)
        strcat(deep, "]");
    strcat(deep, "}");
    assert_false(accepted(deep));
}

static void test_jcs_ordering_and_escapes(void **state)
{
    (void)state;
    /* RFC 8785 3.2.3 sorting example: keys ordered by UTF-16 code units. */
    const char *input =
        "{\"\\u20ac\":\"Euro Sign\",\"\\r\":\"Carriage Return\",\"\\ufb33\":\"Hebrew Letter Dalet With Dagesh\","
        "\"1\":\"One\",\"\\ud83d\\ude00\":\"Emoji: Grinning Face\",\"\\u0080\":\"Control\","
        "\"\\u00f6\":\"Latin Small Letter O With Diaeresis\"}";
    json_t *value = json_loads(input, 0, NULL);
    assert_non_null(value);
    char *text = json_canonical(value);
    const char *expected =
        "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xc2\x80\":\"Control\","
        "\"\xc3\xb6\":\"Latin Small Letter O With Diaeresis\",\"\xe2\x82\xac\":\"Euro Sign\","
        "\"\xf0\x9f\x98\x80\":\"Emoji: Grinning Face\",\"\xef\xac\xb3\":\"Hebrew Letter Dalet With Dagesh\"}";
    assert_string_equal(text, expected);
    free(text);
    json_decref(value);
    value = json_pack("{s:s,s:I,s:[i,b,n]}", "s", "a\"\\/\b\f\n\r\t\x1f", "n", (json_int_t)-42, "z", 1, 1);
    text = json_canonical(value);
    assert_string_equal(text, "{\"n\":-42,\"s\":\"a\\\"\\\\/\\b\\f\\n\\r\\t\\u001f\",\"z\":[1,true,null]}");
    free(text);
    json_decref(value);
}

static void test_fields(void **state)
{
    (void)state;
    const char *detail = NULL, *bad = NULL, *text = NULL;
    int64_t points = 0;
    int present = 0;
    json_t *body = json_parse_strict("{\"points\":5,\"member\":\"m\"}", 25, &detail);
    assert_non_null(body);
    assert_int_equal(json_only_fields(body, (const char *const[]){"points", "member", NULL}, &bad), RESULT_OK);
    assert_int_equal(json_only_fields(body, (const char *const[]){"points", NULL}, &bad), RESULT_INVALID_FIELD);
    assert_string_equal(bad, "member");
    assert_int_equal(json_get_int(body, "points", 1, 1, 5, &points, &present), RESULT_OK);
    assert_int_equal(points, 5);
    assert_int_equal(json_get_int(body, "points", 1, 1, 4, &points, &present), RESULT_INVALID_FIELD);
    assert_int_equal(json_get_int(body, "missing", 1, 1, 4, &points, &present), RESULT_INVALID_FIELD);
    assert_int_equal(json_get_int(body, "missing", 0, 1, 4, &points, &present), RESULT_OK);
    assert_int_equal(present, 0);
    assert_int_equal(json_get_string(body, "points", 1, &text), RESULT_INVALID_FIELD);
    json_decref(body);
    /* an optional member stated as null is refused, not read as absent (issue 16: the entry
     * would hold the default while the signed body says null, and ledger-verify rejects that) */
    body = json_parse_strict("{\"points\":null,\"name\":null}", 27, &detail);
    assert_non_null(body);
    assert_int_equal(json_get_int(body, "points", 0, 1, 5, &points, &present), RESULT_INVALID_FIELD);
    assert_int_equal(present, 0);
    assert_int_equal(json_get_string(body, "name", 0, &text), RESULT_INVALID_FIELD);
    json_decref(body);
}

static void test_entry_text_and_view(void **state)
{
    (void)state;
    ledger_postings_t postings = LEDGER_POSTINGS_INIT;
    ledger_earn_postings("m1", "brand-a", 10, &postings);
    json_t *fields = json_pack("{s:s,s:I}", "member", "m1", "points", (json_int_t)10);
    journal_request_t request = {"POST", "/v1/earn", "?", "k1", "(\"@method\");created=1;keyid=\"a\"", "c2ln", "{}", 2};
    char *text = journal_entry_text(7, 0, "earn", "brand-a", fields, &postings, &request);
    assert_string_equal(text,
                        "{\"member\":\"m1\",\"partner\":\"brand-a\",\"points\":10,\"postings\":["
                        "{\"account\":\"issued:brand-a\",\"amount\":-10},{\"account\":\"member:m1\",\"amount\":10}],"
                        "\"request\":{\"body\":\"e30=\",\"idempotency_key\":\"k1\",\"method\":\"POST\","
                        "\"path\":\"/v1/earn\",\"query\":\"?\",\"signature\":\"c2ln\","
                        "\"signature_input\":\"(\\\"@method\\\");created=1;keyid=\\\"a\\\"\"},"
                        "\"seq\":7,\"time\":\"1970-01-01T00:00:00Z\",\"type\":\"earn\"}");
    json_t *view = journal_transaction_view(text);
    assert_string_equal(json_string_value(json_object_get(view, "id")), "tx-7");
    assert_null(json_object_get(view, "request"));
    assert_string_equal(json_string_value(json_object_get(view, "created_at")), "1970-01-01T00:00:00Z");
    int64_t seq = 0;
    assert_int_equal(journal_id_parse("tx-7", "tx", &seq), 0);
    assert_int_equal(seq, 7);
    assert_int_equal(journal_id_parse("tx-07", "tx", &seq), -1);
    assert_int_equal(journal_id_parse("tx-", "tx", &seq), -1);
    assert_int_equal(journal_id_parse("lot-7", "tx", &seq), -1);
    assert_int_equal(journal_id_parse("tx-7x", "tx", &seq), -1);
    assert_int_equal(journal_id_parse("tx-99999999999999999999", "tx", &seq), -1);
    /* the writer's view, built from the same values, is the parsed text's view exactly */
    json_t *built = NULL;
    char *again = journal_entry_text_view(7, 0, "earn", "brand-a", fields, &postings, &request, &built);
    assert_string_equal(again, text);
    char *built_text = json_canonical(built), *parsed_text = json_canonical(view);
    assert_string_equal(built_text, parsed_text);
    free(built_text);
    free(parsed_text);
    free(again);
    json_decref(built);
    json_decref(view);
    json_decref(fields);
    free(text);
    ledger_postings_free(&postings);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strict_parsing),
        cmocka_unit_test(test_jcs_ordering_and_escapes),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_entry_text_and_view),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

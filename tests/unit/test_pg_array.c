/* Unit: PostgreSQL array text literals (pg_array.c) without a database. The real parser is the
 * oracle in tests/integration/test_pg_array.c; here every escape is pinned byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pg_array.h"

/* The literal of an array of the given text elements. */
static void expect_texts(const char *const *values, size_t count, const char *expected)
{
    pg_array_t array = {BUF_INIT, 0};
    for (size_t i = 0; i < count; i++)
        pg_array_text(&array, values[i]);
    assert_string_equal(pg_array_done(&array), expected);
    pg_arrays_free(&array, 1);
}

#define TEXTS(expected, ...)                                                                                           \
    expect_texts((const char *const[]){__VA_ARGS__}, sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *),      \
                 expected)

static void test_empty_array(void **state)
{
    (void)state;
    pg_array_t array = {BUF_INIT, 0};
    assert_string_equal(pg_array_done(&array), "{}");
    pg_arrays_free(&array, 1);
    pg_array_t never_used[3];
    memset(never_used, 0, sizeof never_used);
    pg_arrays_free(never_used, 3); /* nothing appended: nothing to free, no crash */
}

static void test_text_elements_are_quoted(void **state)
{
    (void)state;
    TEXTS("{\"a\"}", "a");
    TEXTS("{\"a\",\"b\",\"c\"}", "a", "b", "c");
    TEXTS("{\"\"}", "");          /* empty string, not an empty array */
    TEXTS("{\"\",\"\"}", "", ""); /* two empty strings */
    TEXTS("{\"NULL\"}", "NULL");  /* quoted: the text NULL, never SQL NULL */
    TEXTS("{\"null\",\"NuLl\"}", "null", "NuLl");
    TEXTS("{\"a,b\"}", "a,b"); /* comma stays inside the element */
    TEXTS("{\"{x}\",\"}\",\"{\"}", "{x}", "}", "{");
    TEXTS("{\" lead\",\"trail \",\" \"}", " lead", "trail ", " ");
    TEXTS("{\"tab\there\",\"line\nbreak\"}", "tab\there", "line\nbreak");
    TEXTS("{\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
}

static void test_quotes_and_backslashes_escaped(void **state)
{
    (void)state;
    TEXTS("{\"a\\\"b\"}", "a\"b");
    TEXTS("{\"\\\"\"}", "\"");
    TEXTS("{\"\\\"\\\"\"}", "\"\"");
    TEXTS("{\"a\\\\b\"}", "a\\b");
    TEXTS("{\"\\\\\"}", "\\");
    TEXTS("{\"\\\\\\\"\"}", "\\\"");       /* backslash then quote: both escaped */
    TEXTS("{\"x\\\\\"}", "x\\");           /* trailing backslash cannot eat the closing quote */
    TEXTS("{\"\\\"},{\\\"\"}", "\"},{\""); /* an attempt to close the element and open another */
    TEXTS("{\"NULL\\\"\",\"\\\\NULL\"}", "NULL\"", "\\NULL");
}

static void test_int64_elements(void **state)
{
    (void)state;
    pg_array_t array = {BUF_INIT, 0};
    pg_array_i64(&array, INT64_MIN);
    pg_array_i64(&array, -1);
    pg_array_i64(&array, 0);
    pg_array_i64(&array, 1);
    pg_array_i64(&array, INT64_MAX);
    assert_string_equal(pg_array_done(&array), "{-9223372036854775808,-1,0,1,9223372036854775807}");
    pg_arrays_free(&array, 1);
}

static void test_bytea_hex_form(void **state)
{
    (void)state;
    const uint8_t bytes[3] = {0x00, 0xff, 0x1a};
    pg_array_t array = {BUF_INIT, 0};
    pg_array_bytes(&array, bytes, sizeof bytes);
    pg_array_bytes(&array, bytes, 0);
    /* the element is the bytea input "\x00ff1a", its backslash escaped inside the quotes */
    assert_string_equal(pg_array_done(&array), "{\"\\\\x00ff1a\",\"\\\\x\"}");
    pg_arrays_free(&array, 1);

    uint8_t largest[PG_ARRAY_BYTES_MAX];
    memset(largest, 0xab, sizeof largest);
    pg_array_t big = {BUF_INIT, 0};
    pg_array_bytes(&big, largest, sizeof largest);
    const char *text = pg_array_done(&big);
    assert_int_equal(strlen(text), 2 + 1 + 3 + 2 * PG_ARRAY_BYTES_MAX + 1);
    assert_memory_equal(text, "{\"\\\\xabab", 9);
    assert_string_equal(text + strlen(text) - 4, "ab\"}");
    pg_arrays_free(&big, 1);
}

static void test_mixed_and_many(void **state)
{
    (void)state;
    pg_array_t arrays[2];
    memset(arrays, 0, sizeof arrays);
    for (int i = 0; i < 1000; i++) {
        pg_array_text(&arrays[0], "\"");
        pg_array_i64(&arrays[1], i);
    }
    const char *quotes = pg_array_done(&arrays[0]);
    assert_int_equal(strlen(quotes), 2 + 1000 * 4 + 999);
    const char *numbers = pg_array_done(&arrays[1]);
    assert_memory_equal(numbers, "{0,1,2,", 7);
    assert_string_equal(numbers + strlen(numbers) - 5, ",999}");
    pg_arrays_free(arrays, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_array),
        cmocka_unit_test(test_text_elements_are_quoted),
        cmocka_unit_test(test_quotes_and_backslashes_escaped),
        cmocka_unit_test(test_int64_elements),
        cmocka_unit_test(test_bytea_hex_form),
        cmocka_unit_test(test_mixed_and_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

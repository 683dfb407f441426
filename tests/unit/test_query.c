/* Unit: query.c — named values out of a raw query and bounded decimals, at every boundary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "query.h"

/* query_value with an out of out_max bytes; checks the status and (when found) the value. */
static void expect_found(const char *query, const char *name, size_t out_max, query_status_t status, const char *value)
{
    char out[64];
    assert_true(out_max <= sizeof out);
    memset(out, 'X', sizeof out);
    query_status_t got = query_value(query, name, out, out_max);
    if (got != status) fail_msg("[%s] %s (out_max %zu): status %d, want %d", query, name, out_max, got, status);
    assert_string_equal(out, status == QUERY_FOUND ? value : "");
}

static void test_value_found_and_absent(void **state)
{
    (void)state;
    expect_found("?limit=5", "limit", 32, QUERY_FOUND, "5");
    expect_found("limit=5", "limit", 32, QUERY_FOUND, "5"); /* the '?' is optional */
    expect_found("?a=1&limit=5&b=2", "limit", 32, QUERY_FOUND, "5");
    expect_found("?a=1&b=2&limit=5", "limit", 32, QUERY_FOUND, "5");
    expect_found("?limit=", "limit", 32, QUERY_FOUND, ""); /* empty value: found, empty */
    expect_found("?limit=&a=1", "limit", 32, QUERY_FOUND, "");
    expect_found("?limit=a=b", "limit", 32, QUERY_FOUND, "a=b"); /* the first '=' splits */
    expect_found("?&&limit=5&&", "limit", 32, QUERY_FOUND, "5"); /* empty pairs skipped */
    expect_found(NULL, "limit", 32, QUERY_ABSENT, NULL);
    expect_found("", "limit", 32, QUERY_ABSENT, NULL);
    expect_found("?", "limit", 32, QUERY_ABSENT, NULL);
    expect_found("?limit", "limit", 32, QUERY_ABSENT, NULL); /* a name without '=' has no value */
    expect_found("?limit&a=1", "limit", 32, QUERY_ABSENT, NULL);
    expect_found("?limitx=5", "limit", 32, QUERY_ABSENT, NULL); /* longer name */
    expect_found("?xlimit=5", "limit", 32, QUERY_ABSENT, NULL);
    expect_found("?limi=5", "limit", 32, QUERY_ABSENT, NULL);
    expect_found("?LIMIT=5", "limit", 32, QUERY_ABSENT, NULL); /* names are case-sensitive */
    expect_found("?a=limit=5", "limit", 32, QUERY_ABSENT, NULL);
    expect_found("??limit=5", "limit", 32, QUERY_ABSENT, NULL); /* only one '?' is skipped */
}

/* Nothing is decoded: the value is the signed bytes, so "%35" is not "5" and "+" is not " ". */
static void test_value_raw_percent_escapes(void **state)
{
    (void)state;
    expect_found("?limit=%35", "limit", 32, QUERY_FOUND, "%35");
    expect_found("?limit=1+2", "limit", 32, QUERY_FOUND, "1+2");
    expect_found("?limit=%26x", "limit", 32, QUERY_FOUND, "%26x"); /* an encoded '&' does not split */
    expect_found("?%6Cimit=5", "limit", 32, QUERY_ABSENT, NULL);
    expect_found("?limit%3D5", "limit", 32, QUERY_ABSENT, NULL);
}

/* out holds out_max - 1 characters: that fits, one more is QUERY_TOO_LONG. */
static void test_value_length_bounds(void **state)
{
    (void)state;
    expect_found("?v=", "v", 1, QUERY_FOUND, "");
    expect_found("?v=1", "v", 1, QUERY_TOO_LONG, NULL);
    expect_found("?v=1", "v", 2, QUERY_FOUND, "1");
    expect_found("?v=12", "v", 2, QUERY_TOO_LONG, NULL);
    char query[128] = "?v=", longest[64];
    memset(longest, '7', 31);
    longest[31] = '\0';
    strcat(query, longest);
    expect_found(query, "v", 32, QUERY_FOUND, longest);
    strcat(query, "7&w=1");
    expect_found(query, "v", 32, QUERY_TOO_LONG, NULL);
    expect_found(query, "w", 32, QUERY_FOUND, "1"); /* a long neighbour does not matter */
}

/* A name given twice is ambiguous whatever the values: refused, not first- or last-wins. */
static void test_value_repeated(void **state)
{
    (void)state;
    expect_found("?limit=1&limit=2", "limit", 32, QUERY_REPEATED, NULL);
    expect_found("?limit=1&limit=1", "limit", 32, QUERY_REPEATED, NULL);
    expect_found("?limit=&limit=5", "limit", 32, QUERY_REPEATED, NULL);
    expect_found("?limit=5&a=1&limit=", "limit", 32, QUERY_REPEATED, NULL);
    expect_found("?limit=12345&limit=1", "limit", 4, QUERY_REPEATED, NULL); /* too long, then a fit */
    expect_found("?limit=1&limit=12345", "limit", 4, QUERY_REPEATED, NULL);
    expect_found("?limit=1&limit", "limit", 32, QUERY_FOUND, "1"); /* a bare name is no second value */
    expect_found("?limit=1&limits=2", "limit", 32, QUERY_FOUND, "1");
}

static void expect_int(const char *text, int64_t minimum, int64_t maximum, int ok, int64_t value)
{
    int64_t got = -12345;
    int result = query_int(text, minimum, maximum, &got);
    if (result != (ok ? 0 : -1))
        fail_msg("[%s] in %lld..%lld: %d", text, (long long)minimum, (long long)maximum, result);
    assert_int_equal(got, ok ? value : -12345); /* untouched on refusal */
}

static void test_int_bounds(void **state)
{
    (void)state;
    expect_int("0", 0, 10, 1, 0);
    expect_int("0", 1, 200, 0, 0);
    expect_int("1", 1, 200, 1, 1);
    expect_int("200", 1, 200, 1, 200);
    expect_int("201", 1, 200, 0, 0);
    expect_int("366", 1, 366, 1, 366);
    expect_int("367", 1, 366, 0, 0);
    expect_int("007", 1, 200, 1, 7); /* leading zeros, as strtoll read them */
    expect_int("0000000000000000000000000000000000000001", 1, 200, 1, 1);
    expect_int("9223372036854775807", 1, INT64_MAX, 1, INT64_MAX);
    expect_int("9223372036854775806", 1, INT64_MAX - 1, 1, INT64_MAX - 1);
    expect_int("9223372036854775807", 1, INT64_MAX - 1, 0, 0);
    expect_int("9223372036854775808", 1, INT64_MAX, 0, 0); /* overflow by one */
    expect_int("9223372036854775810", 1, INT64_MAX, 0, 0);
    expect_int("18446744073709551616", 1, INT64_MAX, 0, 0);
    expect_int("99999999999999999999999999999", 1, INT64_MAX, 0, 0);
}

static void test_int_shapes_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",    "-1",  "-0",  "+1",   "+0",  " 1",   "1 ",  "\t1",      "1\n",
        "1,0", "1.0", "1e2", "0x10", "%31", "1%00", "one", "\xd9\xa3", /* ARABIC-INDIC DIGIT THREE */
        "1-",  "--1", "1+1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_int(bad[i], 0, INT64_MAX, 0, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value_found_and_absent),
        cmocka_unit_test(test_value_raw_percent_escapes),
        cmocka_unit_test(test_value_length_bounds),
        cmocka_unit_test(test_value_repeated),
        cmocka_unit_test(test_int_bounds),
        cmocka_unit_test(test_int_shapes_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

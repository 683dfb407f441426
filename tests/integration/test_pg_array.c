/* Integration: the array literals of pg_array.c read back by PostgreSQL's own array parser
 * ($1::text[] / bigint[] / bytea[] unnested in order): every hostile string comes back the same,
 * as text (never SQL NULL), in the same position. The real parser is the oracle. */
#include <libpq-fe.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "crypto.h"
#include "pg_array.h"
#include "support.h"

static PGconn *pg;

static int setup(void **state)
{
    (void)state;
    char url[512];
    test_db_create("integration_pg_array", url, sizeof url);
    pg = PQconnectdb(url);
    assert_int_equal(PQstatus(pg), CONNECTION_OK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    PQfinish(pg);
    return 0;
}

/* Sends literal as $1 of sql (which yields (value, is_null) rows in element order) and checks
 * that the rows are exactly expected[0..count). */
static void expect_round_trip(const char *sql, const char *literal, const char *const *expected, size_t count)
{
    const char *params[1] = {literal};
    PGresult *res = PQexecParams(pg, sql, 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) fail_msg("%s: %s", literal, PQresultErrorMessage(res));
    assert_int_equal(PQntuples(res), (int)count);
    for (size_t i = 0; i < count; i++) {
        assert_string_equal(PQgetvalue(res, (int)i, 1), "f"); /* not SQL NULL */
        if (strcmp(PQgetvalue(res, (int)i, 0), expected[i]) != 0)
            fail_msg("element %zu of %s came back as [%s], sent [%s]", i, literal, PQgetvalue(res, (int)i, 0),
                     expected[i]);
    }
    PQclear(res);
}

static const char *const text_sql =
    "SELECT x, x IS NULL FROM unnest($1::text[]) WITH ORDINALITY AS u(x, i) ORDER BY i";

static void test_hostile_texts(void **state)
{
    (void)state;
    static const char *const hostile[] = {
        "", "NULL", "null", "\"NULL\"", "\\N", "a\"b", "\"", "\\", "\\\\", "x\\", "\\\"", "\"},{\"", "a,b", "{", "}",
        "{}", "{a,b}", " ", "  lead", "trail  ", "\t", "line\nbreak", "\r\n", "caf\xc3\xa9", "\xe2\x82\xac",
        "\xf0\x9f\x98\x80", "'; DROP TABLE x; --", "$1", "ARRAY[1]", "[1:2]={a,b}", "\"\\\"\\\"",
    };
    size_t count = sizeof hostile / sizeof hostile[0];
    pg_array_t array = {BUF_INIT, 0};
    for (size_t i = 0; i < count; i++)
        pg_array_text(&array, hostile[i]);
    expect_round_trip(text_sql, pg_array_done(&array), hostile, count);
    pg_arrays_free(&array, 1);

    pg_array_t empty = {BUF_INIT, 0};
    expect_round_trip(text_sql, pg_array_done(&empty), NULL, 0);
    pg_arrays_free(&empty, 1);
}

/* Every printable ASCII character and the awkward ones, alone and in random strings. */
static void test_random_texts(void **state)
{
    (void)state;
    static const char alphabet[] = "\"\\,{} \tNULna\n'$[]:=";
    enum { STRINGS = 400, LENGTH_MAX = 12 };
    char *strings[STRINGS + 95];
    size_t count = 0;
    for (int c = 32; c < 127; c++) {
        strings[count] = xmalloc(2);
        strings[count][0] = (char)c, strings[count][1] = '\0';
        count++;
    }
    uint32_t seed = 17;
    for (int s = 0; s < STRINGS; s++) {
        seed = seed * 1103515245u + 12345u;
        size_t len = (seed >> 16) % (LENGTH_MAX + 1);
        char *text = xmalloc(len + 1);
        for (size_t k = 0; k < len; k++) {
            seed = seed * 1103515245u + 12345u;
            text[k] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
        }
        text[len] = '\0';
        strings[count++] = text;
    }
    pg_array_t array = {BUF_INIT, 0};
    for (size_t i = 0; i < count; i++)
        pg_array_text(&array, strings[i]);
    expect_round_trip(text_sql, pg_array_done(&array), (const char *const *)strings, count);
    pg_arrays_free(&array, 1);
    for (size_t i = 0; i < count; i++)
        free(strings[i]);
}

static void test_bigints_and_bytea(void **state)
{
    (void)state;
    pg_array_t numbers = {BUF_INIT, 0};
    const int64_t values[] = {INT64_MIN, -1, 0, 1, INT64_MAX};
    for (size_t i = 0; i < 5; i++)
        pg_array_i64(&numbers, values[i]);
    static const char *const number_text[] = {"-9223372036854775808", "-1", "0", "1", "9223372036854775807"};
    expect_round_trip("SELECT x::text, x IS NULL FROM unnest($1::bigint[]) WITH ORDINALITY AS u(x, i) ORDER BY i",
                      pg_array_done(&numbers), number_text, 5);
    pg_arrays_free(&numbers, 1);

    uint8_t bytes[PG_ARRAY_BYTES_MAX];
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (uint8_t)(i * 37 + 5);
    char hex[2 * PG_ARRAY_BYTES_MAX + 1];
    crypto_hex(bytes, sizeof bytes, hex);
    pg_array_t blobs = {BUF_INIT, 0};
    pg_array_bytes(&blobs, bytes, sizeof bytes);
    pg_array_bytes(&blobs, bytes, 0);
    pg_array_bytes(&blobs, (const uint8_t *)"\"\\", 2);
    static const char *blob_hex[3];
    blob_hex[0] = hex, blob_hex[1] = "", blob_hex[2] = "225c";
    expect_round_trip(
        "SELECT encode(x, 'hex'), x IS NULL FROM unnest($1::bytea[]) WITH ORDINALITY AS u(x, i) ORDER BY i",
        pg_array_done(&blobs), blob_hex, 3);
    pg_arrays_free(&blobs, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_texts),
        cmocka_unit_test(test_random_texts),
        cmocka_unit_test(test_bigints_and_bytea),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

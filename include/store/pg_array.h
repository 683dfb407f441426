/* pg_array.h — PostgreSQL array parameters in the array text form ("{\"a\",\"b\"}", "{1,2}"),
 * built one element at a time, for statements that unnest their rows ($1::text[]). Pure: no
 * libpq, so the escaping is unit-tested without a database (tests/unit/test_pg_array.c) and
 * checked against PostgreSQL's own parser (tests/integration/test_pg_array.c). */
#ifndef LEDGER_PG_ARRAY_H
#define LEDGER_PG_ARRAY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* One array under construction; zero-initialise it ({0} or memset) before the first element. */
typedef struct {
    buf_t text;
    size_t count; /* elements appended so far */
} pg_array_t;

/* Appends value (borrowed, NUL-terminated) as a quoted text element: every element is quoted, so
 * "", "NULL", spaces, commas and braces stay text; '"' and '\' are backslash-escaped. */
void pg_array_text(pg_array_t *array, const char *value);
/* Appends a bigint element in decimal. */
void pg_array_i64(pg_array_t *array, int64_t value);
/* Appends len bytes (at most PG_ARRAY_BYTES_MAX) as a bytea element in hex form ("\\x..."). */
#define PG_ARRAY_BYTES_MAX 64
void pg_array_bytes(pg_array_t *array, const uint8_t *bytes, size_t len);
/* Closes the array and returns its text ("{}" when empty), borrowed from array until freed. */
const char *pg_array_done(pg_array_t *array);
/* Frees count arrays' text (NULL-safe per element: a never-used array is fine). */
void pg_arrays_free(pg_array_t *arrays, size_t count);

#endif

/* pg_array.c — see pg_array.h. The text form of PostgreSQL arrays (docs: "Array Value Input"):
 * inside double quotes only '"' and '\' need a backslash; a quoted element is never NULL. */
#include "pg_array.h"

#include <string.h>

#include "assert_always.h"
#include "crypto.h"

static void pg_array_next(pg_array_t *array)
{
    buf_append_str(&array->text, array->count++ ? "," : "{");
}

void pg_array_text(pg_array_t *array, const char *value)
{
    pg_array_next(array);
    buf_append_str(&array->text, "\"");
    for (const char *c = value;;) {
        size_t plain = strcspn(c, "\"\\");
        buf_append(&array->text, c, plain);
        if (c[plain] == '\0') break;
        char escaped[2] = {'\\', c[plain]};
        buf_append(&array->text, escaped, 2);
        c += plain + 1;
    }
    buf_append_str(&array->text, "\"");
}

void pg_array_i64(pg_array_t *array, int64_t value)
{
    pg_array_next(array);
    buf_printf(&array->text, "%lld", (long long)value);
}

/* bytea input is "\x<hex>"; inside the quoted element its backslash is escaped by pg_array_text */
void pg_array_bytes(pg_array_t *array, const uint8_t *bytes, size_t len)
{
    char hex[2 + 2 * PG_ARRAY_BYTES_MAX + 1];
    ASSERT_ALWAYS(len <= PG_ARRAY_BYTES_MAX);
    hex[0] = '\\', hex[1] = 'x';
    crypto_hex(bytes, len, hex + 2);
    pg_array_text(array, hex);
}

const char *pg_array_done(pg_array_t *array)
{
    if (array->count == 0) buf_append_str(&array->text, "{");
    buf_append_str(&array->text, "}");
    return array->text.data;
}

void pg_arrays_free(pg_array_t *arrays, size_t count)
{
    for (size_t i = 0; i < count; i++)
        buf_free(&arrays[i].text);
}

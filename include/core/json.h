/* json.h — strict JSON input (jansson) and RFC 8785 canonical output (JCS).
 * Strict means: one object, UTF-8, no duplicate keys, integers only (within ±(2^53-1), I-JSON),
 * no trailing bytes,
 * nesting at most LIMIT_JSON_DEPTH_MAX. */
#ifndef LEDGER_JSON_H
#define LEDGER_JSON_H

#include <jansson.h>
#include <stdint.h>

#include "result.h"

/* Parses a request body. Returns an owned object, or NULL with *detail set (static text). */
json_t *json_parse_strict(const char *data, size_t len, const char **detail);

/* RFC 8785 text of value (objects, arrays, strings, integers, true/false/null; no reals).
 * Returns owned NUL-terminated text. value must be json_canonical_holds. */
char *json_canonical(const json_t *value);
/* 1 when json_canonical can write value: no real anywhere, and every integer one an IEEE double
 * holds exactly (|n| <= LIMIT_JSON_INTEGER_MAX). Text from outside (an export, a journal entry)
 * is checked with this before it is put in canonical form. */
int json_canonical_holds(const json_t *value);

/* Field readers for a parsed request object. Each returns RESULT_OK or RESULT_INVALID_FIELD.
 * An optional member is absent or of its type: `null` is refused, because the signed body would
 * then state a value (null) that the entry, holding the default, contradicts (spec 12).
 * Borrowed strings live as long as obj. */
/* Refuses members not listed in allowed (NULL-terminated names). */
result_t json_only_fields(const json_t *object, const char *const *allowed, const char **bad_field);
result_t json_get_string(const json_t *object, const char *name, int required, const char **out);
result_t json_get_int(const json_t *object, const char *name, int required, int64_t minimum, int64_t maximum,
                      int64_t *out, int *present);

#endif

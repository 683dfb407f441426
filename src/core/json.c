/* json.c — strict parsing on top of jansson, and RFC 8785 (JCS) serialization.
 * We serialize ourselves because jansson's escapes (uppercase \u, byte-order key sort) are not JCS. */
#include "json.h"

#include <stdlib.h>
#include <string.h>

#include "assert_always.h"
#include "buf.h"
#include "limits.h"

static int json_tree_is_strict(const json_t *value, int depth)
{
    if (depth > LIMIT_JSON_DEPTH_MAX) return 0;
    switch (json_typeof(value)) {
    case JSON_REAL: return 0;
    case JSON_INTEGER: /* I-JSON (RFC 7493): integers a double holds exactly, as JCS requires */
        return json_integer_value(value) <= LIMIT_JSON_INTEGER_MAX &&
               json_integer_value(value) >= -LIMIT_JSON_INTEGER_MAX;
    case JSON_OBJECT: {
        const char *key;
        json_t *member;
        json_object_foreach((json_t *)value, key, member)
        {
            if (!json_tree_is_strict(member, depth + 1)) return 0;
        }
        return 1;
    }
    case JSON_ARRAY: {
        size_t index;
        json_t *member;
        json_array_foreach(value, index, member)
        {
            if (!json_tree_is_strict(member, depth + 1)) return 0;
        }
        return 1;
    }
    default: return 1;
    }
}

json_t *json_parse_strict(const char *data, size_t len, const char **detail)
{
    json_error_t error;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &error);
    if (root == NULL) {
        *detail = "body is not valid JSON (syntax, UTF-8, duplicate key, or trailing data)";
        return NULL;
    }
    if (!json_is_object(root)) {
        *detail = "body must be a JSON object";
        json_decref(root);
        return NULL;
    }
    if (!json_tree_is_strict(root, 0)) {
        *detail = "only integers within ±(2^53-1) are accepted as numbers; nesting is limited";
        json_decref(root);
        return NULL;
    }
    return root;
}

static void jcs_string(buf_t *out, const char *text, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    buf_append(out, "\"", 1);
    size_t plain = 0; /* start of the run of characters copied as they are */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        buf_append(out, text + plain, i - plain);
        plain = i + 1;
        switch (c) {
        case '"': buf_append(out, "\\\"", 2); break;
        case '\\': buf_append(out, "\\\\", 2); break;
        case '\b': buf_append(out, "\\b", 2); break;
        case '\f': buf_append(out, "\\f", 2); break;
        case '\n': buf_append(out, "\\n", 2); break;
        case '\r': buf_append(out, "\\r", 2); break;
        case '\t': buf_append(out, "\\t", 2); break;
        default: {
            char escape[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            buf_append(out, escape, 6);
        }
        }
    }
    buf_append(out, text + plain, len - plain);
    buf_append(out, "\"", 1);
}

/* Next UTF-16 code unit of a UTF-8 string (valid UTF-8 guaranteed by jansson). */
typedef struct {
    const unsigned char *at;
    unsigned pending_low; /* low surrogate waiting, or 0 */
} utf16_cursor_t;

static unsigned utf16_next(utf16_cursor_t *cursor)
{
    if (cursor->pending_low) {
        unsigned unit = cursor->pending_low;
        cursor->pending_low = 0;
        return unit;
    }
    const unsigned char *s = cursor->at;
    unsigned point;
    if (*s < 0x80)
        point = *s++;
    else if ((*s & 0xe0) == 0xc0)
        point = ((unsigned)(s[0] & 0x1f) << 6) | (s[1] & 0x3f), s += 2;
    else if ((*s & 0xf0) == 0xe0)
        point = ((unsigned)(s[0] & 0x0f) << 12) | ((unsigned)(s[1] & 0x3f) << 6) | (s[2] & 0x3f), s += 3;
    else
        point = ((unsigned)(s[0] & 0x07) << 18) | ((unsigned)(s[1] & 0x3f) << 12) | ((unsigned)(s[2] & 0x3f) << 6) |
                (s[3] & 0x3f),
        s += 4;
    cursor->at = s;
    if (point < 0x10000) return point;
    point -= 0x10000;
    cursor->pending_low = 0xdc00 | (point & 0x3ff);
    return 0xd800 | (point >> 10);
}

/* JCS orders keys by UTF-16 code units (RFC 8785 3.2.3). */
static int jcs_key_compare(const void *left, const void *right)
{
    utf16_cursor_t a = {(const unsigned char *)*(const char *const *)left, 0};
    utf16_cursor_t b = {(const unsigned char *)*(const char *const *)right, 0};
    for (;;) {
        int a_done = *a.at == 0 && a.pending_low == 0;
        int b_done = *b.at == 0 && b.pending_low == 0;
        if (a_done || b_done) return a_done == b_done ? 0 : (a_done ? -1 : 1);
        unsigned ua = utf16_next(&a), ub = utf16_next(&b);
        if (ua != ub) return ua < ub ? -1 : 1;
    }
}

static void jcs_value(buf_t *out, const json_t *value)
{
    switch (json_typeof(value)) {
    case JSON_OBJECT: {
        size_t count = json_object_size(value), index = 0;
        const char **keys = xcalloc(count, sizeof *keys);
        const char *key;
        json_t *member;
        json_object_foreach((json_t *)value, key, member) keys[index++] = key;
        qsort(keys, count, sizeof *keys, jcs_key_compare);
        buf_append(out, "{", 1);
        for (size_t i = 0; i < count; i++) {
            if (i) buf_append(out, ",", 1);
            jcs_string(out, keys[i], strlen(keys[i]));
            buf_append(out, ":", 1);
            jcs_value(out, json_object_get(value, keys[i]));
        }
        buf_append(out, "}", 1);
        free(keys);
        break;
    }
    case JSON_ARRAY: {
        buf_append(out, "[", 1);
        for (size_t i = 0; i < json_array_size(value); i++) {
            if (i) buf_append(out, ",", 1);
            jcs_value(out, json_array_get(value, i));
        }
        buf_append(out, "]", 1);
        break;
    }
    case JSON_STRING: jcs_string(out, json_string_value(value), json_string_length(value)); break;
    case JSON_INTEGER: {
        json_int_t number = json_integer_value(value);
        /* JCS numbers are IEEE doubles: integers beyond 2^53 would not round-trip. */
        ASSERT_ALWAYS(number <= LIMIT_JSON_INTEGER_MAX && number >= -LIMIT_JSON_INTEGER_MAX);
        buf_printf(out, "%lld", (long long)number);
        break;
    }
    case JSON_TRUE: buf_append_str(out, "true"); break;
    case JSON_FALSE: buf_append_str(out, "false"); break;
    case JSON_NULL: buf_append_str(out, "null"); break;
    case JSON_REAL: ASSERT_ALWAYS(!"reals are never serialized"); break;
    }
}

int json_canonical_holds(const json_t *value)
{
    const char *key;
    const json_t *member;
    size_t index;
    switch (json_typeof(value)) {
    case JSON_REAL: return 0;
    case JSON_INTEGER: {
        json_int_t number = json_integer_value(value);
        return number <= LIMIT_JSON_INTEGER_MAX && number >= -LIMIT_JSON_INTEGER_MAX;
    }
    case JSON_OBJECT:
        json_object_foreach((json_t *)(uintptr_t)value, key, member) if (!json_canonical_holds(member)) return 0;
        return 1;
    case JSON_ARRAY:
        json_array_foreach(value, index, member) if (!json_canonical_holds(member)) return 0;
        return 1;
    default: return 1;
    }
}

char *json_canonical(const json_t *value)
{
    buf_t out = BUF_INIT;
    jcs_value(&out, value);
    return buf_take(&out);
}

result_t json_only_fields(const json_t *object, const char *const *allowed, const char **bad_field)
{
    const char *key;
    json_t *member;
    json_object_foreach((json_t *)object, key, member)
    {
        int known = 0;
        for (size_t i = 0; allowed[i] != NULL && !known; i++)
            known = strcmp(allowed[i], key) == 0;
        if (!known) {
            *bad_field = key;
            return RESULT_INVALID_FIELD;
        }
    }
    return RESULT_OK;
}

result_t json_get_string(const json_t *object, const char *name, int required, const char **out)
{
    json_t *member = json_object_get(object, name);
    *out = NULL;
    if (member == NULL) return required ? RESULT_INVALID_FIELD : RESULT_OK;
    if (!json_is_string(member)) return RESULT_INVALID_FIELD; /* null too: a stated value, not an absent one */
    *out = json_string_value(member);
    return RESULT_OK;
}

result_t json_get_int(const json_t *object, const char *name, int required, int64_t minimum, int64_t maximum,
                      int64_t *out, int *present)
{
    json_t *member = json_object_get(object, name);
    if (present) *present = 0;
    if (member == NULL) return required ? RESULT_INVALID_FIELD : RESULT_OK;
    if (!json_is_integer(member)) return RESULT_INVALID_FIELD; /* null too: a stated value, not an absent one */
    json_int_t value = json_integer_value(member);
    if (value < minimum || value > maximum) return RESULT_INVALID_FIELD;
    *out = (int64_t)value;
    if (present) *present = 1;
    return RESULT_OK;
}

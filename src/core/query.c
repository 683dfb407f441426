/* query.c — see query.h. Both functions read their input once, left to right, with no
 * allocation: the query is bounded by the request line (MHD connection memory). */
#include "query.h"

#include <string.h>

#include "assert_always.h"

query_status_t query_value(const char *query, const char *name, char *out, size_t out_max)
{
    query_status_t status = QUERY_ABSENT;
    size_t name_len = strlen(name);
    ASSERT_ALWAYS(out_max >= 1 && name_len > 0);
    out[0] = '\0';
    const char *s = query == NULL ? "" : query[0] == '?' ? query + 1 : query;
    while (*s) {
        size_t len = strcspn(s, "&");
        if (len > name_len && strncmp(s, name, name_len) == 0 && s[name_len] == '=') {
            size_t value_len = len - name_len - 1;
            if (status != QUERY_ABSENT) {
                status = QUERY_REPEATED;
                break;
            }
            status = value_len < out_max ? QUERY_FOUND : QUERY_TOO_LONG;
            if (status == QUERY_FOUND) {
                memcpy(out, s + name_len + 1, value_len);
                out[value_len] = '\0';
            }
        }
        s += len + (s[len] == '&');
    }
    if (status != QUERY_FOUND) out[0] = '\0'; /* a repeated name's first value is not left behind */
    return status;
}

int query_int(const char *text, int64_t minimum, int64_t maximum, int64_t *value)
{
    int64_t parsed = 0;
    int ok = text[0] != '\0';
    ASSERT_ALWAYS(minimum >= 0 && minimum <= maximum);
    for (const char *c = text; ok && *c; c++) {
        int digit = *c - '0';
        if (digit < 0 || digit > 9 || parsed > (INT64_MAX - digit) / 10)
            ok = 0;
        else
            parsed = parsed * 10 + digit;
    }
    ok = ok && parsed >= minimum && parsed <= maximum;
    if (ok) *value = parsed;
    return ok ? 0 : -1;
}

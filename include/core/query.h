/* query.h — the one parser of request query strings ("?limit=5&after=9"): a named value copied
 * out of the raw query, and a bounded decimal. Pure; used by http.c and the service operations.
 * The query is taken raw, as it is signed (spec 8): nothing is percent-decoded, '+' is not a
 * space, and names match byte for byte ("%6Cimit" is not "limit"). */
#ifndef LEDGER_QUERY_H
#define LEDGER_QUERY_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    QUERY_ABSENT,   /* no name=value pair with this name ("name" alone, without '=', is none) */
    QUERY_FOUND,    /* exactly one, its value (possibly "") copied to out */
    QUERY_TOO_LONG, /* its value does not fit out (out_max - 1 characters) */
    QUERY_REPEATED, /* the name appears twice or more: which one was meant is unknowable */
} query_status_t;

/* Looks name up in query (borrowed; a leading '?' is skipped; NULL is an empty query). On
 * QUERY_FOUND out (out_max >= 1 bytes) holds the NUL-terminated raw value; otherwise out holds
 * "" (out_max >= 1). */
query_status_t query_value(const char *query, const char *name, char *out, size_t out_max);

/* Parses text as a decimal in [minimum, maximum] (minimum >= 0): ASCII digits only — no sign,
 * '+', space, or empty text — leading zeros allowed. Returns 0 and sets *value, or -1 (value
 * untouched) when text is not such a number or is out of range (overflow included). */
int query_int(const char *text, int64_t minimum, int64_t maximum, int64_t *value);

#endif

/* store_internal.h — shared by the store_*.c files only: statement runner and error mapping. */
#ifndef LEDGER_STORE_INTERNAL_H
#define LEDGER_STORE_INTERNAL_H

#include <libpq-fe.h>

#include "store.h"

#define STORE_PREPARED_MAX 96

struct store_conn {
    PGconn *pg;                               /* owned */
    const char *prepared[STORE_PREPARED_MAX]; /* names of statements prepared on this session */
    size_t prepared_count;
    char sqlstate[6];    /* of the last failed statement */
    char constraint[64]; /* of the last failed statement, if any */
};

/* Runs a named prepared statement (prepared on first use per connection) with text params
 * (NULL = SQL NULL). Returns an owned result, or NULL with *result set (RESULT_OK never). */
PGresult *store_run(store_conn_t *conn, const char *name, const char *sql, int count, const char *const *params,
                    result_t *result);
/* Runs a statement for its effect only. */
result_t store_exec(store_conn_t *conn, const char *name, const char *sql, int count, const char *const *params);

/* int64 → decimal text into a caller buffer of at least 24 bytes; returns the buffer. */
const char *store_i64(char *out, int64_t value);
int64_t store_get_i64(const PGresult *res, int row, int column);

#endif

/* store_internal.h — shared by the store_*.c files only: statement runner and error mapping. */
#ifndef LEDGER_STORE_INTERNAL_H
#define LEDGER_STORE_INTERNAL_H

#include <libpq-fe.h>
#include <stdint.h>

#include "limits.h"
#include "store.h"

/* A statement sent in pipeline mode whose result is read at the next flush. */
typedef struct {
    const char *name;
    const char *constraint; /* a unique violation of this constraint ... */
    result_t mapped;        /* ... is reported as this result */
    PGresult **keep;        /* NULL, or receives the result (rows) when it succeeds */
    uint64_t number;        /* its place among the statements sent on the session (store_sent) */
} store_pending_t;

struct store_conn {
    PGconn *pg;                                     /* owned */
    const char *prepared[LIMIT_STORE_PREPARED_MAX]; /* names of statements prepared on this session */
    size_t prepared_count;
    store_pending_t pending[LIMIT_STORE_PIPELINE_MAX]; /* sent, not yet read (pipeline mode) */
    size_t pending_count;
    uint64_t sent;      /* statements sent in pipeline mode on this session */
    uint64_t failed_at; /* the number of the statement the last flush found failed first, 0: none */
    int broken;                                /* the protocol state is unknown: reconnect */
    int abandoned;                             /* a wait passed its bound: the socket was shut (the session is gone) */
    int wait_ms;                               /* the longest wait for one exchange (store_profile_t) */
    int64_t deadline_us;                       /* 0, or a monotonic time no wait may pass (store_deadline_set) */
    int head_read;                             /* this transaction read the journal head (store_guard.c) */
    uint64_t database_key;                     /* the fence's name for the database (store_guard.c) */
    int warned;                                /* a WARNING arrived since the COMMIT was queued */
    char sqlstate[6];                          /* of the last failed statement */
    char constraint[LIMIT_PG_NAME_TEXT_BYTES]; /* of the last failed statement, if any */
    char detail[LIMIT_PG_DETAIL_TEXT_BYTES];   /* its DETAIL, if any (cut: does not match) */
};

/* Opens a libpq session for application_name within LIMIT_DB_CONNECT_MS (unix socket or TCP,
 * startup and authentication included: a stopped postmaster does not hang it); NULL on failure
 * (logged). The session is in nonblocking mode. Owned. */
PGconn *store_pg_connect(const char *url, const char *application_name);
/* Runs sql (trusted text, one or more statements) on pg, waiting at most wait_ms; the last
 * result (owned), or NULL when the session was lost or the wait passed its bound. */
PGresult *store_pg_exec(PGconn *pg, const char *sql, int wait_ms);

/* store_guard.c: the session's durability settings (sent at connect; the last statement's
 * result is the settings) and why they are refused (NULL: accepted); the fence. */
const char *store_session_durability_sql(void);
const char *store_session_durability_refusal(const PGresult *settings);
/* RESULT_LEDGER_FENCED when committed_head (a head read at a transaction's start) is below the
 * highest committed head this process knows, and ever after. */
result_t store_fence_check(const store_conn_t *conn, int64_t committed_head);
void store_fence_raise(const store_conn_t *conn, int64_t committed_head);
/* The fence's name for a database: a hash of the conninfo the session was opened with. */
uint64_t store_database_key(const char *url);

/* The bytea input form "\\x<hex>" of len bytes into out (2 * len + 3 characters). */
void store_bytea_text(const uint8_t *bytes, size_t len, char *out);

/* Runs a named prepared statement (prepared on first use per connection) with text params
 * (NULL = SQL NULL). Returns an owned result, or NULL with *result set (RESULT_OK never). */
PGresult *store_run(store_conn_t *conn, const char *name, const char *sql, int count, const char *const *params,
                    result_t *result);
/* Runs a statement for its effect only. */
result_t store_exec(store_conn_t *conn, const char *name, const char *sql, int count, const char *const *params);
/* Sends a statement for its effect only without waiting for it (libpq pipeline mode): its
 * outcome is read, with every other pending one, by the next statement, savepoint, commit or
 * store_flush, which then reports the first failure. A unique violation of constraint (may be
 * NULL) is reported as mapped. Statements keep their order; one failure skips the rest. */
result_t store_exec_later(store_conn_t *conn, const char *name, const char *sql, int count, const char *const *params,
                          const char *constraint, result_t mapped);
/* Like store_exec_later, and *keep (set NULL now) receives the owned result once read. */
result_t store_run_later(store_conn_t *conn, const char *name, const char *sql, int count, const char *const *params,
                         PGresult **keep);

/* int64 → decimal text into a caller buffer of at least 24 bytes; returns the buffer. */
const char *store_i64(char *out, int64_t value);
int64_t store_get_i64(const PGresult *res, int row, int column);
/* A keys row from column first on: role, partner ('' for staff), public_key, revoked_seq (0: live). */
result_t store_key_row(const PGresult *res, int row, int first, store_key_t *key);

#endif

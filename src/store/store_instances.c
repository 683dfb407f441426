/* store_instances.c — the statements about the deployment's instances on one database (issue 18):
 * the writer lease, the identity every instance must share (origin and ledger key, checked against
 * the genesis), how many instances run now, and the fence's reading of the committed journal head.
 * The rules they serve (durability, the fence) are in store_guard.c. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_internal.h"

/* The writer lease --------------------------------------------------------------------------- */
/* A session-level advisory lock: held while the session lives, released by PostgreSQL when the
 * session ends (a killed ledgerd included). The balancer sends writes to its holder. */

#define STORE_WRITER_LEASE_KEY "5495873993171927041" /* 0x4c45444745520001: "LEDGER" 1 */

/* The one-row boolean answer of sql into *held. */
static result_t writer_lease_query(store_conn_t *conn, const char *name, const char *sql, int *held)
{
    result_t result;
    *held = 0;
    PGresult *res = store_run(conn, name, sql, 0, NULL, &result);
    if (res == NULL) return result;
    *held = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return RESULT_OK;
}

result_t store_writer_lease_try(store_conn_t *conn, int *held)
{
    return writer_lease_query(conn, "writer_lease", "SELECT pg_try_advisory_lock(" STORE_WRITER_LEASE_KEY ")", held);
}

/* A bigint advisory key is (classid, objid) = (high, low 32 bits) with objsubid 1 in pg_locks. */
result_t store_writer_lease_check(store_conn_t *conn, int *held)
{
    return writer_lease_query(conn, "writer_lease_check",
                              "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
                              "AND pid = pg_backend_pid() AND objsubid = 1 "
                              "AND (classid::bigint << 32 | objid::bigint) = " STORE_WRITER_LEASE_KEY ")",
                              held);
}

/* The deployment's identity ------------------------------------------------------------------ */
result_t store_identity_check(store_conn_t *conn, const char *origin,
                              const uint8_t ledger_key[CRYPTO_ED25519_PUBLIC_BYTES], const char **why,
                              int *initialized)
{
    char hex[LIMIT_BYTEA_TEXT_BYTES(CRYPTO_ED25519_PUBLIC_BYTES)];
    result_t result;
    *why = NULL;
    *initialized = 0;
    store_bytea_text(ledger_key, CRYPTO_ED25519_PUBLIC_BYTES, hex);
    /* the first instance records its key; the row exists once the ledger is initialized. Two
     * statements: an instance recording its key at the same time makes this UPDATE wait and
     * then skip the row, and only a later statement's snapshot sees the key it recorded (one
     * statement's would still read NULL and refuse an instance with the same key) */
    result = store_exec(conn, "identity_record",
                        "UPDATE ledger_meta SET ledger_key = $1::bytea WHERE ledger_key IS NULL AND origin = $2", 2,
                        (const char *const[]){hex, origin}); /* an instance of another origin records nothing */
    if (result != RESULT_OK) return result;
    PGresult *res = store_run(conn, "identity_check", "SELECT origin, ledger_key = $1::bytea FROM ledger_meta", 1,
                              (const char *const[]){hex}, &result);
    if (res == NULL) return result;
    *initialized = PQntuples(res) == 1;
    if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), origin) != 0) {
        *why = "LEDGER_ORIGIN differs from the origin recorded at genesis";
    } else if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 1), "t") != 0) {
        *why = "LEDGER_KEY_FILE holds another key than the one this ledger's instances sign with";
    }
    PQclear(res);
    return result;
}

/* Instances ------------------------------------------------------------------------------------ */
/* The ledgerd instances on this database now: each has one writer session (application_name
 * ledger-writer), which PostgreSQL ends when the instance dies. A hung session counts until its
 * backend ends: the count errs high, and shares of a rate err low, never high. */
result_t store_instances_count(store_conn_t *conn, int *instances)
{
    result_t result;
    PGresult *res = store_run(conn, "instances_count",
                              "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                              "AND application_name = 'ledger-writer'",
                              0, NULL, &result);
    if (res == NULL) return result;
    int64_t count = store_get_i64(res, 0, 0);
    *instances = count < 1 ? 1 : count > LIMIT_INSTANCES_MAX ? LIMIT_INSTANCES_MAX : (int)count;
    PQclear(res);
    return RESULT_OK;
}

result_t store_fence_observe(store_conn_t *conn)
{
    result_t result;
    PGresult *res = store_run(conn, "fence_observe", "SELECT seq FROM journal_head", 0, NULL, &result);
    if (res == NULL) return result;
    if (PQntuples(res) == 1) {
        int64_t head = store_get_i64(res, 0, 0); /* committed: read outside any transaction of ours */
        result = store_fence_check(conn, head);
        if (result == RESULT_OK) store_fence_raise(conn, head);
    }
    PQclear(res);
    return result;
}

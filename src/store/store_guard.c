/* store_guard.c — what the store guarantees across failover (issue 18): every session is durable
 * (synchronous_commit on, and a server whose settings cannot keep a commit is refused), a
 * ledgerd never writes to a database whose journal is behind what it has acknowledged (the
 * fence), and one session of the deployment holds the writer lease.
 *
 * Durability: a 2xx is sent only after COMMIT returned, and every session sets
 * synchronous_commit = on, so the commit is flushed on the primary and, when the server names a
 * synchronous standby, on that standby. The server must not be able to lose a flushed commit:
 * fsync and full_page_writes must be on. LEDGER_UNSAFE_DURABILITY relaxes this, for two uses
 * only: `test-cluster` accepts fsync/full_page_writes off (throwaway test clusters; sessions are
 * still synchronous), `off` neither sets nor checks anything (the failover test's negative
 * control, which must see a write lost). Any other value is refused. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_internal.h"

static store_durability_t durability_mode = STORE_DURABILITY_REQUIRED;
static pthread_once_t durability_once = PTHREAD_ONCE_INIT;

static void durability_read(void)
{
    const char *value = getenv("LEDGER_UNSAFE_DURABILITY");
    if (value == NULL || value[0] == '\0')
        durability_mode = STORE_DURABILITY_REQUIRED;
    else if (strcmp(value, "test-cluster") == 0)
        durability_mode = STORE_DURABILITY_TEST_CLUSTER;
    else if (strcmp(value, "off") == 0)
        durability_mode = STORE_DURABILITY_OFF;
    else
        durability_mode = STORE_DURABILITY_INVALID;
    if (durability_mode == STORE_DURABILITY_TEST_CLUSTER || durability_mode == STORE_DURABILITY_OFF)
        log_write("warn", "LEDGER_UNSAFE_DURABILITY is set: acknowledged writes may be lost",
                  json_pack("{s:s}", "value", value));
}

store_durability_t store_durability(void)
{
    pthread_once(&durability_once, durability_read);
    return durability_mode;
}

const char *store_session_durability_sql(void)
{
    switch (store_durability()) {
    case STORE_DURABILITY_OFF: return "SELECT 'on', 'on', 'on'";
    default:
        return "SET synchronous_commit = on; "
               "SELECT current_setting('fsync'), current_setting('full_page_writes'), "
               "current_setting('synchronous_commit')";
    }
}

const char *store_session_durability_refusal(const PGresult *settings)
{
    store_durability_t mode = store_durability();
    if (mode == STORE_DURABILITY_INVALID) return "LEDGER_UNSAFE_DURABILITY must be unset, test-cluster or off";
    if (mode == STORE_DURABILITY_OFF) return NULL;
    if (PQresultStatus(settings) != PGRES_TUPLES_OK || PQntuples(settings) != 1) return "cannot read its settings";
    if (strcmp(PQgetvalue(settings, 0, 2), "on") != 0) return "synchronous_commit cannot be set on";
    if (mode == STORE_DURABILITY_TEST_CLUSTER) return NULL;
    if (strcmp(PQgetvalue(settings, 0, 0), "on") != 0) return "fsync is off: a crash can lose acknowledged commits";
    if (strcmp(PQgetvalue(settings, 0, 1), "on") != 0)
        return "full_page_writes is off: a crash can corrupt pages of acknowledged commits";
    return NULL;
}

/* The fence ---------------------------------------------------------------------------------- */
/* The highest journal head this process has seen committed (a transaction's head read, or the
 * head a transaction of ours committed). A head read below it means the database is not the one
 * that took our writes (an old primary, a restored backup): from then on nothing is written. */
static pthread_mutex_t fence_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t fence_floor;
static int fence_tripped;
static int64_t fence_found; /* the head that tripped it */

result_t store_fence_check(int64_t committed_head)
{
    result_t result = RESULT_OK;
    int tripped_now = 0;
    pthread_mutex_lock(&fence_lock);
    if (!fence_tripped && committed_head < fence_floor) {
        fence_tripped = tripped_now = 1;
        fence_found = committed_head;
    }
    if (fence_tripped) result = RESULT_LEDGER_FENCED;
    int64_t floor = fence_floor;
    pthread_mutex_unlock(&fence_lock);
    if (tripped_now)
        log_error("fenced: the database's journal is behind what this instance acknowledged; no more writes",
                  json_pack("{s:I,s:I}", "journal_head", (json_int_t)committed_head, "acknowledged", (json_int_t)floor));
    return result;
}

void store_fence_raise(int64_t committed_head)
{
    pthread_mutex_lock(&fence_lock);
    if (committed_head > fence_floor) fence_floor = committed_head;
    pthread_mutex_unlock(&fence_lock);
}

int store_fenced(int64_t *journal_head, int64_t *acknowledged)
{
    pthread_mutex_lock(&fence_lock);
    int tripped = fence_tripped;
    *journal_head = fence_found;
    *acknowledged = fence_floor;
    pthread_mutex_unlock(&fence_lock);
    return tripped;
}

/* The writer lease --------------------------------------------------------------------------- */
/* A session-level advisory lock: held while the session lives, released by PostgreSQL when the
 * session ends (a killed ledgerd included). The balancer sends writes to its holder. */

result_t store_writer_lease_try(store_conn_t *conn, int *held)
{
    result_t result;
    *held = 0;
    PGresult *res =
        store_run(conn, "writer_lease", "SELECT pg_try_advisory_lock(5495873993171927041)" /* 0x4c45444745520001: "LEDGER" 1 */, 0, NULL, &result);
    if (res == NULL) return result;
    *held = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return RESULT_OK;
}

/* The deployment's identity ------------------------------------------------------------------ */
result_t store_identity_check(store_conn_t *conn, const char *origin,
                              const uint8_t ledger_key[CRYPTO_ED25519_PUBLIC_BYTES], const char **why)
{
    char hex[LIMIT_BYTEA_TEXT_BYTES(CRYPTO_ED25519_PUBLIC_BYTES)];
    result_t result;
    *why = NULL;
    store_bytea_text(ledger_key, CRYPTO_ED25519_PUBLIC_BYTES, hex);
    /* the first instance records its key; the row exists once the ledger is initialized */
    PGresult *res = store_run(conn, "identity_check",
                              "WITH recorded AS (UPDATE ledger_meta SET ledger_key = $1::bytea WHERE ledger_key IS NULL "
                              "RETURNING origin, ledger_key) "
                              "SELECT origin, ledger_key = $1::bytea FROM recorded "
                              "UNION ALL SELECT origin, ledger_key = $1::bytea FROM ledger_meta "
                              "WHERE NOT EXISTS (SELECT 1 FROM recorded)",
                              1, (const char *const[]){hex}, &result);
    if (res == NULL) return result;
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

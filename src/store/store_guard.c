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
/* Per database (the conninfo a session was opened with: one ledger, whichever node of a
 * failover pair answers it), the highest journal head this process has seen committed (a
 * transaction's head read, or the head a transaction of ours committed). A head read below it
 * means the database is not the one that took our writes (an old primary, a restored backup):
 * from then on nothing is written there. ledgerd has one conninfo; a test process or tool may
 * open several databases, each with its own floor (past LIMIT_FENCE_DATABASES_MAX, unfenced). */
typedef struct {
    uint64_t database; /* store_conn's database_key; 0: free */
    int64_t floor;
    int tripped;
    int64_t found; /* the head that tripped it */
} fence_t;

static pthread_mutex_t fence_lock = PTHREAD_MUTEX_INITIALIZER;
static fence_t fences[LIMIT_FENCE_DATABASES_MAX];

uint64_t store_database_key(const char *url)
{
    uint64_t hash = 1469598103934665603ULL; /* FNV-1a: a name for the conninfo, not a secret */
    for (const unsigned char *c = (const unsigned char *)url; *c != '\0'; c++)
        hash = (hash ^ *c) * 1099511628211ULL;
    return hash == 0 ? 1 : hash;
}

/* Caller holds fence_lock. The database's fence, made when new; NULL when the table is full. */
static fence_t *fence_of(uint64_t database)
{
    for (size_t i = 0; i < LIMIT_FENCE_DATABASES_MAX; i++) {
        if (fences[i].database == database) return &fences[i];
        if (fences[i].database == 0) {
            fences[i].database = database;
            return &fences[i];
        }
    }
    return NULL;
}

result_t store_fence_check(const store_conn_t *conn, int64_t committed_head)
{
    result_t result = RESULT_OK;
    int tripped_now = 0;
    int64_t floor = 0;
    pthread_mutex_lock(&fence_lock);
    fence_t *fence = fence_of(conn->database_key);
    if (fence != NULL) {
        if (!fence->tripped && committed_head < fence->floor) {
            fence->tripped = tripped_now = 1;
            fence->found = committed_head;
        }
        if (fence->tripped) result = RESULT_LEDGER_FENCED;
        floor = fence->floor;
    }
    pthread_mutex_unlock(&fence_lock);
    if (tripped_now)
        log_error("fenced: the database's journal is behind what this instance acknowledged; no more writes",
                  json_pack("{s:I,s:I}", "journal_head", (json_int_t)committed_head, "acknowledged", (json_int_t)floor));
    return result;
}

void store_fence_raise(const store_conn_t *conn, int64_t committed_head)
{
    pthread_mutex_lock(&fence_lock);
    fence_t *fence = fence_of(conn->database_key);
    if (fence != NULL && committed_head > fence->floor) fence->floor = committed_head;
    pthread_mutex_unlock(&fence_lock);
}

int store_fenced(int64_t *journal_head, int64_t *acknowledged)
{
    int tripped = 0;
    pthread_mutex_lock(&fence_lock);
    for (size_t i = 0; i < LIMIT_FENCE_DATABASES_MAX && !tripped; i++) {
        if (!fences[i].tripped) continue;
        tripped = 1;
        *journal_head = fences[i].found;
        *acknowledged = fences[i].floor;
    }
    pthread_mutex_unlock(&fence_lock);
    return tripped;
}

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

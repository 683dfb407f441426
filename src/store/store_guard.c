/* store_guard.c — what the store guarantees across failover (issue 18): every session is durable
 * (synchronous_commit on, and a server whose settings cannot keep a commit is refused), a
 * ledgerd never writes to a database whose journal is behind what it has acknowledged (the
 * fence). The statements that read what these rules need (the lease, the identity, the
 * committed head) are in store_instances.c; this file runs none.
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

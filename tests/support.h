/* support.h — test harness: throwaway databases on the harness's PostgreSQL (TEST_PG_HOST, the
 * socket directory tools/test.sh started), a real ledgerd on an ephemeral port, signed calls. */
#ifndef LEDGER_TEST_SUPPORT_H
#define LEDGER_TEST_SUPPORT_H

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "crypto.h"
#include "store.h"

typedef struct {
    char keyid[65];
    crypto_signer_t *signer; /* owned */
    char public_b64[64];
} test_key_t;

typedef struct {
    char db_url[512];
    char db_name[64];
    pid_t pid;
    uint16_t port;
    test_key_t operator_key;
    char key_file[256];          /* the ledger key ledgerd signs reports with */
    const char *expiry_interval; /* LEDGER_EXPIRY_INTERVAL_S for ledgerd; NULL = "0" (off) */
    const char *rate_limits;     /* LEDGER_RATE_LIMITS for ledgerd; NULL = none */
    const char *clock_skew;      /* LEDGER_CLOCK_SKEW_S for ledgerd and ledger-verify; NULL = default */
    int damaged; /* the journal is not a ledger's on purpose (rows written by hand, a test that broke it
                  * after verifying it): test_env_stop skips its closing export */
} test_env_t;

typedef struct {
    int status;
    json_t *json; /* owned, NULL when the body is not JSON */
    char *body;   /* owned */
} test_reply_t;

/* The origin of every test ledger (genesis, ledgerd, ledgerctl). */
#define TEST_ORIGIN "test.ledger"

/* Creates (or recreates) database name, returns its conninfo. Aborts on failure. */
void test_db_create(const char *name, char *url, size_t url_max);
/* Database + migrations + genesis with a fresh operator key. */
void test_db_ready(test_env_t *env, const char *name);
/* test_db_ready + ledgerd started and healthy. extra_env: NULL-terminated "K=V" list or NULL. */
void test_env_start(test_env_t *env, const char *name);
/* Stops ledgerd, then exports env's journal and runs ledger-verify on it: every suite ends by
 * showing its journal verifies (spec 12), and aborts when it does not. */
void test_env_stop(test_env_t *env);
/* Exports env's journal with ledgerctl and runs ledger-verify on it; 0 when it verifies. */
int test_journal_verifies(const test_env_t *env);
/* Spawns ledgerd for env->db_url on a free port; returns 0 when healthy, -1 if it exited. */
int test_ledgerd_spawn(test_env_t *env);

/* Seconds on the monotonic clock, for timing bounds in tests. */
double test_now_s(void);

/* Path of one of our binaries: $TEST_BIN_DIR/name (default bin/name). */
void test_binary(char *out, size_t out_max, const char *name);

void test_key_new(test_key_t *key, const char *keyid);
void test_key_free(test_key_t *key);
/* Creates partner code (validity_s 0 = default) with one key keyid "<code>-1". */
void test_partner(test_env_t *env, const char *code, int64_t validity_s, test_key_t *key);

/* Signed call; idempotency_key NULL means a fresh random key for POST. */
test_reply_t test_call(test_env_t *env, const test_key_t *key, const char *method, const char *target, const char *body,
                       const char *idempotency_key);
/* Signed GET with an Accept header (e.g. "text/csv"), logged like test_call. */
test_reply_t test_call_accept(test_env_t *env, const test_key_t *key, const char *target, const char *accept);
/* Sends raw bytes to ledgerd. */
test_reply_t test_raw(test_env_t *env, const char *request, size_t len);
void test_reply_free(test_reply_t *reply);
/* Asserts the reply's status (and problem code unless code is NULL), then frees it. */
void test_expect(test_reply_t reply, int status, const char *code);
/* POST {"member","points","reference"} to path (an earn, burn or hold) signed by key. */
test_reply_t test_move(test_env_t *env, const test_key_t *key, const char *path, const char *member, int64_t points,
                       const char *reference);
/* The problem `code`, or "" */
const char *test_code(const test_reply_t *reply);
/* Integer at a dotted path ("balance.available"); aborts if absent. */
int64_t test_int(const json_t *json, const char *path);
/* First column of the first row of sql against env's database, as int64. */
int64_t test_sql_int(test_env_t *env, const char *sql);
/* Runs sql; returns 0 when it succeeded. */
int test_sql_exec(test_env_t *env, const char *sql);

/* One signed call, timed, made by test_async_run in this thread or by test_async_start in its
 * own (then test_async_join). With a reference it is a POST of {"member","points":5,"reference"}
 * under the Idempotency-Key "<reference>-key"; without, a bodiless call. */
typedef struct {
    uint16_t port;
    const test_key_t *key;
    const char *method, *target;
    char body[160];
    char idempotency_key[64];
    int status; /* 0: no answer */
    int retry_after_s;
    char code[64];       /* the problem's code, or "" */
    int outcome_unknown; /* the problem's detail says the outcome is unknown */
    double took_s;
    pthread_t thread;
} test_async_t;

void test_async_run(test_async_t *call, const test_env_t *env, const test_key_t *key, const char *method,
                    const char *target, const char *member, const char *reference);
void test_async_start(test_async_t *call, const test_env_t *env, const test_key_t *key, const char *method,
                      const char *target, const char *member, const char *reference);
void test_async_join(test_async_t *call);
/* Transactions committed with reference. */
int64_t test_reference_count(test_env_t *env, const char *reference);
/* The retry a client makes after a 503 or 409: test_async_run's earn of member and reference again
 * (same body and key) until it is neither; asserts it ends 201 with exactly one effect. */
void test_retry_until_applied(test_env_t *env, const test_key_t *key, const char *member, const char *reference);

#endif

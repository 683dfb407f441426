/* store.h — the only module with libpq and SQL. Connections, the pool, transactions, and one
 * function per statement the service needs. Every SQL statement is prepared with parameters.
 * Functions return RESULT_OK, a domain result the database decided (e.g. a unique reference),
 * RESULT_DATABASE_BUSY (retry), RESULT_DATABASE_UNAVAILABLE, or RESULT_INTERNAL (logged). */
#ifndef LEDGER_STORE_H
#define LEDGER_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "ledger.h"
#include "limits.h"
#include "merkle.h"
#include "migrations.h"
#include "result.h"
#include "settlement.h"

typedef struct store_conn store_conn_t;
typedef struct store_pool store_pool_t;

/* Connections ------------------------------------------------------------------------------ */
/* Bounded waits (spec 12): every exchange with the database waits on the socket with a bound;
 * past it the session is taken for hung (a stopped backend cannot time itself out), its socket
 * is shut and the call returns RESULT_DATABASE_UNAVAILABLE. The pool or the owner reconnects. */
typedef struct {
    const char *application_name; /* shown in pg_stat_activity: operators (and tests) find it */
    int statement_timeout_ms;     /* server side */
    int lock_timeout_ms;          /* server side */
    int wait_ms;                  /* client side: the longest wait for one exchange */
} store_profile_t;
extern const store_profile_t store_profile_default;     /* pool sessions, ledgerctl, exports */
extern const store_profile_t store_profile_writer;      /* the group-commit writer */
extern const store_profile_t store_profile_maintenance; /* the expiry scheduler and housekeeping */
extern const store_profile_t store_profile_webhooks;    /* the webhook dispatcher's workers */
/* Owned connection or NULL (reason logged). Applies session timeouts. */
store_conn_t *store_connect(const char *url);
store_conn_t *store_connect_profile(const char *url, const store_profile_t *profile);
/* Monotonic clock, microseconds. */
int64_t store_clock_us(void);
/* Until cleared with 0, no wait on conn goes past the monotonic time deadline_us (store_clock_us):
 * one bound for a whole transaction, its retries included. */
void store_deadline_set(store_conn_t *conn, int64_t deadline_us);
/* 1 when conn was closed because a wait passed its bound: what was sent may or may not have
 * been applied (a COMMIT among it: the outcome is unknown). */
int store_conn_abandoned(const store_conn_t *conn);
/* Sessions closed because a wait passed its bound, since start (all threads). */
uint64_t store_sessions_abandoned(void);
/* Takes the journal head lock (what every write needs) and rolls back: RESULT_OK when a write
 * could proceed now. */
result_t store_write_probe(store_conn_t *conn);
void store_disconnect(store_conn_t *conn);
int store_conn_ok(store_conn_t *conn);

/* Guarantees across failover (store_guard.c; their statements: store_instances.c) ------------ */
/* LEDGER_UNSAFE_DURABILITY, read once: every session refuses a server that cannot keep an
 * acknowledged commit unless relaxed (test clusters) or off (the failover test's control). */
typedef enum {
    STORE_DURABILITY_REQUIRED,     /* synchronous_commit on; fsync and full_page_writes on */
    STORE_DURABILITY_TEST_CLUSTER, /* synchronous_commit on; the server's crash safety unchecked */
    STORE_DURABILITY_OFF,          /* nothing set, nothing checked */
    STORE_DURABILITY_INVALID,      /* an unknown value: every session refused */
} store_durability_t;
store_durability_t store_durability(void);
/* 1 once a write found the journal head below a head this process saw committed: the database
 * is not the one that took its writes, and nothing is written any more (RESULT_LEDGER_FENCED). */
int store_fenced(int64_t *journal_head, int64_t *acknowledged);
/* Reads the committed journal head outside a transaction: checks it against the fence and
 * raises the floor to it, so that every instance's floor follows the deployment's head, not
 * only what it wrote itself (the writer does this every LIMIT_INSTANCES_REFRESH_MS). */
result_t store_fence_observe(store_conn_t *conn);
/* Tries to take the deployment's writer lease on conn's session (held until the session ends;
 * call again only when not held). */
result_t store_writer_lease_try(store_conn_t *conn, int *held);
/* Whether conn's session still holds the writer lease (a session ended by the server, a
 * failover or pg_terminate_backend, took the lease with it; another instance may hold it now). */
result_t store_writer_lease_check(store_conn_t *conn, int *held);
/* The ledgerd instances running on this database (their writer sessions), 1..LIMIT_INSTANCES_MAX. */
result_t store_instances_count(store_conn_t *conn, int *instances);
/* Compares this instance's origin and ledger public key with the ledger's (the origin recorded
 * at genesis; the key recorded by the first instance that started on it): *why says what
 * differs, NULL when they agree or the ledger is not initialized yet (*initialized 0). */
result_t store_identity_check(store_conn_t *conn, const char *origin,
                              const uint8_t ledger_key[CRYPTO_ED25519_PUBLIC_BYTES], const char **why,
                              int *initialized);

/* size sessions, connected on first use; first (taken, may be NULL) is one already connected. */
store_pool_t *store_pool_create(const char *url, unsigned size, store_conn_t *first);
void store_pool_destroy(store_pool_t *pool);
/* Borrowed connection (reconnected if needed) or NULL when the database is unreachable. */
store_conn_t *store_pool_acquire(store_pool_t *pool);
void store_pool_release(store_pool_t *pool, store_conn_t *conn);
void store_pool_stats(store_pool_t *pool, unsigned *size, unsigned *in_use, uint64_t *waits);
/* /healthz: RESULT_OK when a pooled session answers a statement within wait_ms (connecting
 * included, up to LIMIT_DB_CONNECT_MS more when the pool has no live session). */
result_t store_pool_check(store_pool_t *pool, int wait_ms);

/* Runs fixed, trusted SQL text (benchmarks and tests only — never text built from input). */
result_t store_exec_script(store_conn_t *conn, const char *sql);

result_t store_begin(store_conn_t *conn);
result_t store_commit(store_conn_t *conn);
/* BEGIN sent without waiting (read with the next statement), and COMMIT sent after whatever is
 * pending, all read in one round trip: RESULT_OK only when everything and the commit succeeded. */
result_t store_begin_later(store_conn_t *conn);
/* Plans every prepared statement once (the group-commit writer: its statements are key lookups
 * and multi-row inserts whose best plan does not depend on the values). */
result_t store_generic_plans(store_conn_t *conn);
result_t store_commit_flush(store_conn_t *conn);
void store_rollback(store_conn_t *conn);
result_t store_savepoint(store_conn_t *conn);
result_t store_rollback_to_savepoint(store_conn_t *conn);
/* Reads the outcome of statements sent without waiting (see store_exec_later); RESULT_OK or
 * the first failure, after which the transaction must be rolled back (to a savepoint). */
result_t store_flush(store_conn_t *conn);
/* Statements sent on the session so far (a mark taken before sending some), and the number of
 * the first one that failed in the last flush (0: none failed): the statements after a mark up
 * to that number ran, the rest were skipped. */
uint64_t store_sent(const store_conn_t *conn);
uint64_t store_failed_at(const store_conn_t *conn);
/* The outer savepoint around one request of a group-commit batch: opened, kept, or undone. */
result_t store_item_begin(store_conn_t *conn);
result_t store_item_keep(store_conn_t *conn);
result_t store_item_undo(store_conn_t *conn);

/* Migrations and bootstrap (store_admin.c) ------------------------------------------------- */
/* Applies every embedded migration not yet applied, each once, recording its checksum. */
result_t store_migrate(store_conn_t *conn, int *applied);
/* RESULT_OK when the database has exactly the embedded migrations; else why (static text). */
result_t store_migrations_check(store_conn_t *conn, const char **why);
int store_journal_empty(store_conn_t *conn, result_t *result);

/* Keys and principals ------------------------------------------------------------------------ */
typedef enum { STORE_ROLE_PARTNER, STORE_ROLE_OPERATOR, STORE_ROLE_AUDITOR } store_role_t;
typedef struct {
    store_role_t role;
    char partner[LIMIT_PARTNER_CODE_MAX + 1]; /* partner code, or "" for staff */
    uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES];
    int revoked;
    int64_t revoked_seq; /* the key_revoke entry's seq; 0: live */
} store_key_t;
/* RESULT_AUTH_UNKNOWN_KEY when absent (store_keycache.c). */
result_t store_key_get(store_conn_t *conn, const char *keyid, store_key_t *key);
/* Keys kept in memory, emptied on every change to the keys table (LISTEN/NOTIFY, by a thread
 * with its own session) and by store_keycache_clear; bypassed while that session is down
 * (store_keycache.c). NULL: no cache (store_key_get_cached then always reads). */
typedef struct store_keycache store_keycache_t;
store_keycache_t *store_keycache_start(const char *database_url);
void store_keycache_stop(store_keycache_t *cache);
void store_keycache_clear(store_keycache_t *cache);
/* store_key_get through the cache; conn reads on a miss. */
result_t store_key_get_cached(store_keycache_t *cache, store_conn_t *conn, const char *keyid, store_key_t *key);

/* Idempotency and replay ------------------------------------------------------------------- */
typedef enum {
    STORE_IDEMPOTENCY_NEW,
    STORE_IDEMPOTENCY_BUSY,
    STORE_IDEMPOTENCY_REPLAY,
    STORE_IDEMPOTENCY_MISMATCH
} store_idempotency_t;
/* Takes the (principal, key) lock for this transaction and reports what to do. On REPLAY,
 * *status and *body (owned) hold the first response. A found record is locked FOR KEY SHARE:
 * a WAL write, so the transaction's COMMIT waits for the synchronous standby like a new answer's
 * and a replay is never acknowledged before the record it replays is durable (the group reads
 * of store_bulk.c do the same). */
result_t store_idempotency_begin(store_conn_t *conn, const char *principal, const char *key,
                                 const uint8_t hash[CRYPTO_SHA256_BYTES], store_idempotency_t *state, int *status,
                                 char **body);
/* A request's claim on its Idempotency-Key, for work spanning transactions (settlement, expiry
 * runs): its answer is saved (store_idempotency_save) in the transaction that commits the work,
 * so a retry either replays it or finds nothing done. Borrowed fields. */
typedef struct {
    const char *principal, *key;
    const uint8_t *request_hash; /* CRYPTO_SHA256_BYTES */
} store_idempotency_claim_t;
/* 1 when (principal, key) has an answer (committed), 0 when not or on failure (*result). */
int store_idempotency_answered(store_conn_t *conn, const char *principal, const char *key, result_t *result);
result_t store_idempotency_save(store_conn_t *conn, const char *principal, const char *key,
                                const uint8_t hash[CRYPTO_SHA256_BYTES], int status, const char *body);
/* Claims the signature for (principal, key), sent without waiting: after the next flush,
 * store_signature_claimed gives the outcome — RESULT_AUTH_SIGNATURE_REUSED when the signature
 * was seen for another (principal, key); RESULT_INTERNAL when the claim itself failed. */
typedef struct store_claim {
    struct pg_result *result;
} store_claim_t;
result_t store_signature_claim(store_conn_t *conn, const uint8_t signature[CRYPTO_ED25519_SIGNATURE_BYTES],
                               const char *principal, const char *key, store_claim_t *claim);
result_t store_signature_claimed(store_claim_t *claim);
void store_claim_free(store_claim_t *claim);

/* Journal ---------------------------------------------------------------------------------- */
/* Locks the journal head and allocates the next seq; time is max(last time, database clock). */
result_t store_journal_next(store_conn_t *conn, int64_t *seq, int64_t *time_s);
result_t store_journal_insert(store_conn_t *conn, int64_t seq, int64_t time_s, const char *type, const char *text,
                              const ledger_postings_t *postings);
/* Owned text of entry seq in *text, or RESULT_NOT_FOUND. */
result_t store_journal_text(store_conn_t *conn, int64_t seq, char **text);

/* Partner transactions --------------------------------------------------------------------- */
typedef struct {
    int64_t seq;
    char partner[LIMIT_PARTNER_CODE_MAX + 1];
    char type[LIMIT_WORD_TEXT_BYTES];
    char member[LIMIT_MEMBER_REF_MAX + 1];
    int64_t points;
    int64_t reversed;
} store_transaction_t;

/* reference_unique: the reference came with this request (unique per partner and type). */
result_t store_transaction_insert(store_conn_t *conn, int64_t seq, const char *partner, const char *type,
                                  const char *member, int64_t points, const char *reference, int reference_unique,
                                  int64_t original_seq);
/* lock: take FOR UPDATE. RESULT_NOT_FOUND when absent. */
result_t store_transaction_get(store_conn_t *conn, int64_t seq, int lock, store_transaction_t *row);
result_t store_transaction_add_reversed(store_conn_t *conn, int64_t seq, int64_t points);
/* Owned JSON array of the partner's transaction views for member, newest first, seq < before. */
result_t store_member_transactions(store_conn_t *conn, const char *partner, const char *member, int64_t before_seq,
                                   int limit, json_t **views, int64_t *last_seq);

/* The partner event feed (issue 20 item 3) ---------------------------------------------------- */
/* One page of partner's events (core/events.h) after seq `after` (0: from the start), in seq
 * order, at most limit (1..LIMIT_EVENTS_PAGE_MAX) of them: *events (owned) the exact JSON event
 * objects GET /v1/events answers, *next the seq to resume after when the page is full (more may
 * follow), else 0. The feed's one query; the webhook dispatcher calls it too. Reads the journal
 * through partner_events (partner, seq), so a page costs the same on any journal length. */
result_t store_events_page(store_conn_t *conn, const char *partner, int64_t after, int limit, json_t **events,
                           int64_t *next);

/* One line of an expiry_notice entry: a live lot that entered a threshold (points.expiring). */
typedef struct {
    int64_t lot_id;
    char issuer[LIMIT_PARTNER_CODE_MAX + 1];
    char member[LIMIT_MEMBER_REF_MAX + 1];
    int64_t points, expires_s;
    int threshold_days;
} store_notice_t;
/* The (lot, threshold) pairs not yet announced of lots live at time_s (remaining > 0, expires_s >
 * time_s) that expire within threshold_days of time_s, at most limit, by lot id then widest
 * threshold first: *lines owned (free). Call with the journal head locked: lots and notices are
 * then exactly as of the entry being written. */
result_t store_notice_candidates(store_conn_t *conn, int64_t time_s, const int *days, size_t day_count, size_t limit,
                                 store_notice_t **lines, size_t *count);
/* Records lines as announced by entry seq (the primary key (lot, threshold) refuses a repeat). */
result_t store_notices_insert(store_conn_t *conn, int64_t seq, const store_notice_t *lines, size_t count);

/* Partners ----------------------------------------------------------------------------------- */
/* RESULT_UNKNOWN_PARTNER when absent. */
result_t store_partner_validity(store_conn_t *conn, const char *code, int64_t *validity_s);

/* Members and lots ------------------------------------------------------------------------- */
typedef struct {
    int64_t balance;
    int64_t past_due;   /* remaining of lots with expires_s <= now */
    int64_t held;       /* active holds with expires_s > now */
    ledger_lot_t *lots; /* owned: spendable lots in FIFO order, at most LIMIT_BURN_LOTS_MAX + 1 */
    size_t lot_count;
} store_member_state_t;

/* Locks the member (creating its account row) for this transaction. */
result_t store_member_lock(store_conn_t *conn, const char *member);
/* Reads the member's totals at now_s (call after store_member_lock when planning a write) and,
 * when need_points > 0, the FIFO prefix of spendable lots that covers need_points. */
result_t store_member_state(store_conn_t *conn, const char *member, int64_t now_s, int64_t need_points,
                            store_member_state_t *state);
void store_member_state_free(store_member_state_t *state);
/* Member view: balance, available, expiring by UTC date (owned JSON array). */
result_t store_member_expiring(store_conn_t *conn, const char *member, int64_t now_s, json_t **expiring);

/* lock: FOR UPDATE. RESULT_NOT_FOUND when absent. */
result_t store_lot_get(store_conn_t *conn, int64_t id, ledger_lot_t *lot);
result_t store_lot_adjust(store_conn_t *conn, int64_t id, int64_t delta);

result_t store_portions_insert(store_conn_t *conn, int64_t burn_seq, const char *redeemer, const ledger_lot_t *lots,
                               const ledger_burn_plan_t *plan);
/* Owned array of the burn's portions in consumption order. */
result_t store_portions_get(store_conn_t *conn, int64_t burn_seq, ledger_consumed_t **consumed, size_t *count);
/* Records that reversal_seq restored points of portion (burn_seq, index). */
result_t store_portion_add_reversed(store_conn_t *conn, int64_t burn_seq, int index, int64_t points,
                                    int64_t reversal_seq);

/* Holds ---------------------------------------------------------------------------------- */
typedef struct {
    int64_t seq;
    char partner[LIMIT_PARTNER_CODE_MAX + 1];
    char member[LIMIT_MEMBER_REF_MAX + 1];
    char reference[LIMIT_REFERENCE_MAX + 1];
    int64_t points;
    int64_t expires_s;
    char status[LIMIT_WORD_TEXT_BYTES];
    int64_t captured_points;
} store_hold_t;

result_t store_hold_insert(store_conn_t *conn, int64_t seq, const char *partner, const char *member, int64_t points,
                           const char *reference, int64_t expires_s);
result_t store_hold_get(store_conn_t *conn, int64_t seq, int lock, store_hold_t *hold);
result_t store_hold_close(store_conn_t *conn, int64_t seq, const char *status, int64_t captured_points,
                          int64_t closed_seq);

/* Operator data (store_admin.c) ------------------------------------------------------------ */
result_t store_genesis(store_conn_t *conn, const char *currency, const char *origin, const char *keyid,
                       const uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES], int64_t *seq);
result_t store_partner_insert(store_conn_t *conn, const char *code, const char *name, int64_t validity_s, int64_t seq);
result_t store_key_insert(store_conn_t *conn, const char *keyid, store_role_t role, const char *partner,
                          const uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES], int64_t seq);
/* RESULT_NOT_FOUND, RESULT_KEY_ALREADY_REVOKED, RESULT_LAST_OPERATOR_KEY. */
result_t store_key_revoke(store_conn_t *conn, const char *keyid, int64_t seq, int64_t time_s, json_t **key);
result_t store_point_value_insert(store_conn_t *conn, int64_t seq, int64_t value_num, int64_t value_den,
                                  int64_t effective_s);
result_t store_trial_balance(store_conn_t *conn, json_t **report);
result_t store_liability(store_conn_t *conn, int64_t now_s, json_t **report);
/* Expiry (store_expiry.c) ------------------------------------------------------------------- */
typedef struct {
    int64_t id;
    int64_t as_of_s;
    int64_t chunks; /* entries written so far */
    char requested_by[LIMIT_KEYID_MAX + 16];
    /* the Idempotency-Key of the request that started it ("" for both: none; migration 0013) */
    char claim_principal[LIMIT_PARTNER_CODE_MAX + 1];
    char claim_key[LIMIT_IDEMPOTENCY_KEY_MAX + 1];
    char claim_hash[LIMIT_HEX_TEXT_BYTES(CRYPTO_SHA256_BYTES)]; /* its request hash, hex ("": none; 0014) */
} store_expiry_run_t;

/* One expiry runner at a time (session advisory lock). Returns 1 when taken, 0 when busy. */
int store_expiry_lock(store_conn_t *conn, result_t *result);
/* Saves 201 with body under the claim run_id was started with, if any and if that key has no
 * answer yet (decision 188), in conn's open transaction. */
result_t store_expiry_answer_save(store_conn_t *conn, int64_t run_id, const char *body);
void store_expiry_unlock(store_conn_t *conn);
/* The interrupted run, if any (RESULT_NOT_FOUND when none). */
result_t store_expiry_run_running(store_conn_t *conn, store_expiry_run_t *run);
/* claim (may be NULL): the requester's Idempotency-Key, kept with the run. */
result_t store_expiry_run_create(store_conn_t *conn, int64_t as_of_s, const char *requested_by,
                                 const store_idempotency_claim_t *claim, store_expiry_run_t *run);
/* Due lots (remaining > 0, expires_s <= as_of) in lot order; with ids == NULL the first `limit`
 * ones unlocked, else exactly those of ids still due, locked FOR UPDATE. Owned array. */
result_t store_due_lots(store_conn_t *conn, int64_t as_of_s, size_t limit, const int64_t *ids, size_t id_count,
                        ledger_expiring_t **lots, size_t *count);
/* Locks the member accounts of lots (in account order, the order every writer uses). */
result_t store_members_lock(store_conn_t *conn, const ledger_expiring_t *lots, size_t count);
int store_due_exists(store_conn_t *conn, int64_t as_of_s, result_t *result);
/* Sets the lots' remaining to 0 (asserting they held exactly `points`). */
result_t store_lots_expire(store_conn_t *conn, const ledger_expiring_t *lots, size_t count);
result_t store_expired_insert(store_conn_t *conn, int64_t seq, int64_t run_id, const ledger_expiring_t *lots,
                              size_t count);
/* Records entry seq as the run's latest; *first_seq receives the run's first entry. */
result_t store_expiry_run_progress(store_conn_t *conn, int64_t run_id, int64_t seq, int64_t *first_seq);
/* {"lots","points","members","by_issuer":[{"issuer","lots","points"}]} of the run so far. */
result_t store_expiry_run_totals(store_conn_t *conn, int64_t run_id, json_t **totals);
result_t store_expiry_run_finish(store_conn_t *conn, int64_t run_id, const char *report, const char *signature);
/* Owned report text and signature of a finished run; RESULT_NOT_FOUND if absent or unfinished. */
result_t store_expiry_run_report(store_conn_t *conn, int64_t run_id, char **report, char **signature);
/* Points of live lots expiring in (now, now + days] per issuer. */
result_t store_expiring_report(store_conn_t *conn, int64_t now_s, int64_t days, json_t **report);
/* Drops idempotency records older than keep_s and seen signatures older than signatures_keep_s. */
result_t store_housekeeping(store_conn_t *conn, int64_t keep_s, int64_t signatures_keep_s);

/* Settlement (store_settlement.c) ----------------------------------------------------------- */
/* One settlement runner at a time (session advisory lock). Returns 1 when taken. */
int store_settlement_lock(store_conn_t *conn, result_t *result);
void store_settlement_unlock(store_conn_t *conn);
/* The latest settlement's cutoff and period end (0, 0 when none). */
result_t store_settlement_last(store_conn_t *conn, int64_t *cutoff_seq, int64_t *period_end_s);
/* After every writer holding a seq has committed: the last seq with time <= period_end. */
result_t store_settlement_cutoff(store_conn_t *conn, int64_t period_end_s, int64_t *cutoff_seq);
/* Net points per (redeemer, issuer, point value) of burns and burn reversals in [from, to]. */
result_t store_settlement_flows(store_conn_t *conn, int64_t from_seq, int64_t to_seq, settlement_flow_t **flows,
                                size_t *count);
/* Owned array of owned partner codes registered at or before seq. */
result_t store_partner_codes(store_conn_t *conn, int64_t seq, char ***codes, size_t *count);
result_t store_currency(store_conn_t *conn, char currency[4]);
result_t store_settlement_next_id(store_conn_t *conn, int64_t *id);
result_t store_settlement_insert(store_conn_t *conn, int64_t id, int64_t seq, int64_t period_end_s, int64_t from_seq,
                                 int64_t cutoff_seq, int64_t fee_bp, const char *report, const char *signature);
/* Owned report text and signature; RESULT_NOT_FOUND when absent. */
result_t store_settlement_get(store_conn_t *conn, int64_t id, char **report, char **signature);

/* Merkle tree and checkpoints (store_merkle.c) ---------------------------------------------- */
/* The committed tree: size (= last seq) and frontier, read together. */
result_t store_tree_head(store_conn_t *conn, merkle_frontier_t *frontier);
/* merkle_subtree_fn over the stored tree; context is the store_conn_t. */
int store_subtree(void *conn, int level, uint64_t index, merkle_hash_t out);
/* The latest signed checkpoint (RESULT_NOT_FOUND when none). */
result_t store_checkpoint_last(store_conn_t *conn, uint64_t *size, merkle_hash_t root);
result_t store_checkpoint_insert(store_conn_t *conn, uint64_t size, const merkle_hash_t root, const char *note);
/* Entry texts with after_seq < seq <= to_seq, at most limit, in seq order; calls row(context, seq, text). */
result_t store_journal_scan(store_conn_t *conn, int64_t after_seq, int64_t to_seq, int limit,
                            void (*row)(void *context, int64_t seq, const char *text, size_t len), void *context);

/* Unix seconds of the database clock. */
result_t store_now(store_conn_t *conn, int64_t *now_s);

/* Set-based group commit (store_bulk.c) ---------------------------------------------------- */
/* One request of a group of earns and burns, as the database needs it. */
typedef struct {
    const char *principal;
    const char *key;             /* idempotency key */
    const uint8_t *request_hash; /* CRYPTO_SHA256_BYTES */
    const uint8_t *signature;    /* CRYPTO_ED25519_SIGNATURE_BYTES */
    const char *type;            /* "earn" or "burn": the reference's namespace */
    const char *member;          /* NULL when the body did not parse */
    const char *reference;       /* NULL when the body did not parse */
    int64_t burn_points;         /* > 0: also read the FIFO prefix of lots covering it */
    const char *keyid;           /* the signing key, read as committed */
} store_bulk_item_t;

/* What the database holds for one item, read under the journal head lock. */
typedef struct {
    store_idempotency_t idempotency;
    int replay_status;
    char *replay_body;     /* owned, on STORE_IDEMPOTENCY_REPLAY */
    int signature_seen;    /* claimed before by this same request identity */
    int signature_foreign; /* claimed before by another request identity */
    int reference_used;    /* (principal, type, reference) is taken */
    int partner_known;
    int64_t validity_s;
    store_member_state_t state; /* at *time_s; lots only for burns */
    int key_known;              /* the signing key is registered: key holds it */
    store_key_t key;
} store_bulk_read_t;

/* One round trip: locks the journal head (allocating no seq yet: *last_seq is the last one
 * used, *time_s the group's time), takes the idempotency locks and reads reads[0..count). */
result_t store_bulk_read(store_conn_t *conn, const store_bulk_item_t *items, size_t count, int64_t *last_seq,
                         int64_t *time_s, store_bulk_read_t *reads);
void store_bulk_read_free(store_bulk_read_t *reads, size_t count);

/* The rows a group writes, collected in memory and written by store_bulk_write: one
 * multi-row statement per table in one round trip, and the head's seq moved to the last entry. */
typedef struct store_bulk_rows store_bulk_rows_t;
store_bulk_rows_t *store_bulk_rows_new(void);
void store_bulk_rows_free(store_bulk_rows_t *rows);
void store_bulk_claim(store_bulk_rows_t *rows, const uint8_t signature[CRYPTO_ED25519_SIGNATURE_BYTES],
                      const char *principal, const char *key);
void store_bulk_entry(store_bulk_rows_t *rows, int64_t seq, int64_t time_s, const char *type, const char *text,
                      const ledger_postings_t *postings);
/* reference_unique: the reference came with this request (unique per partner and type);
 * original_seq: the reversed transaction, 0 for none. */
void store_bulk_transaction(store_bulk_rows_t *rows, int64_t seq, const char *partner, const char *type,
                            const char *member, int64_t points, const char *reference, int reference_unique,
                            int64_t original_seq);
void store_bulk_lot(store_bulk_rows_t *rows, int64_t id, const char *issuer, const char *member, int64_t points,
                    int64_t expires_s);
void store_bulk_portions(store_bulk_rows_t *rows, int64_t burn_seq, const char *redeemer, const ledger_lot_t *lots,
                         const ledger_burn_plan_t *plan);
void store_bulk_idempotency(store_bulk_rows_t *rows, const char *principal, const char *key,
                            const uint8_t hash[CRYPTO_SHA256_BYTES], int status, const char *body);
/* Sends the rows without waiting: the next statement, store_flush or store_commit_flush reads
 * the outcome (and reports the first failure). */
result_t store_bulk_write(store_conn_t *conn, store_bulk_rows_t *rows);
/* After a write refused as RESULT_DUPLICATE_REFERENCE: whether the database's report names this
 * transaction's reference (a unique violation's DETAIL names the key it found taken), so the
 * refusal is known to be this request's without narrowing it down (decision 197). */
int store_bulk_refused_reference(const store_conn_t *conn, const char *partner, const char *type,
                                 const char *reference);

#endif

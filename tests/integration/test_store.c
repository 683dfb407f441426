/* Integration: migrations and the database's own enforcement of the ledger's invariants,
 * against a real PostgreSQL (no mocks): the rules hold even if the code above were wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "store.h"
#include "support.h"

static test_env_t env;

static int setup(void **state)
{
    (void)state;
    test_db_ready(&env, "integration_store");
    env.damaged = 1; /* rows written by hand to test the store, not signed requests */
    /* one partner and one earn written straight through the store, as the service does */
    store_conn_t *conn = store_connect(env.db_url);
    int64_t seq = 0, time_s = 0;
    ledger_postings_t postings = LEDGER_POSTINGS_INIT;
    assert_int_equal(store_begin(conn), RESULT_OK);
    assert_int_equal(store_journal_next(conn, &seq, &time_s), RESULT_OK);
    assert_int_equal(seq, 2);
    ledger_postings_t none = LEDGER_POSTINGS_INIT;
    assert_int_equal(store_journal_insert(conn, seq, time_s, "partner", "{\"seq\":2}", &none), RESULT_OK);
    assert_int_equal(store_partner_insert(conn, "brand-a", "Brand A", 1000, seq), RESULT_OK);
    assert_int_equal(store_journal_next(conn, &seq, &time_s), RESULT_OK);
    ledger_earn_postings("m1", "brand-a", 10, &postings);
    assert_int_equal(store_journal_insert(conn, seq, time_s, "earn", "{\"seq\":3}", &postings), RESULT_OK);
    assert_int_equal(store_transaction_insert(conn, seq, "brand-a", "earn", "m1", 10, "r1", 1, 0), RESULT_OK);
    store_bulk_rows_t *rows = store_bulk_rows_new(); /* an earn's lot, written as the service writes it */
    store_bulk_lot(rows, seq, "brand-a", "m1", 10, time_s + 1000);
    assert_int_equal(store_bulk_write(conn, rows), RESULT_OK);
    assert_int_equal(store_flush(conn), RESULT_OK);
    store_bulk_rows_free(rows);
    assert_int_equal(store_commit(conn), RESULT_OK);
    ledger_postings_free(&postings);
    store_disconnect(conn);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_env_stop(&env);
    return 0;
}

static void test_migrations_are_recorded_once(void **state)
{
    (void)state;
    const char *why = NULL;
    int applied = -1;
    store_conn_t *conn = store_connect(env.db_url);
    assert_int_equal(store_migrate(conn, &applied), RESULT_OK);
    assert_int_equal(applied, 0);
    assert_int_equal(store_migrations_check(conn, &why), RESULT_OK);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM schema_migrations"), (int64_t)migrations_embedded_count);
    result_t result = RESULT_OK;
    assert_false(store_journal_empty(conn, &result));
    uint8_t key[32] = {0};
    int64_t seq = 0;
    assert_int_equal(store_genesis(conn, "KZT", "o", "op-2", key, &seq), RESULT_LEDGER_ALREADY_INITIALIZED);
    store_disconnect(conn);
}

static void test_database_refuses_broken_invariants(void **state)
{
    (void)state;
    /* a member balance below zero */
    assert_int_not_equal(
        test_sql_exec(&env, "BEGIN; UPDATE journal_head SET seq = seq + 1;"
                            "INSERT INTO journal VALUES (4, 0, 'burn', '{}');"
                            "INSERT INTO postings VALUES (4, 'member:m1', -11), (4, 'redeemed:brand-a:brand-a', 11);"
                            "COMMIT"),
        0);
    /* postings that do not sum to zero (checked at commit) */
    assert_int_not_equal(test_sql_exec(&env, "BEGIN; INSERT INTO journal VALUES (4, 2000000000, 'burn', '{}');"
                                             "INSERT INTO postings VALUES (4, 'member:m1', -1);"
                                             "COMMIT"),
                         0);
    /* a gap in seq */
    assert_int_not_equal(test_sql_exec(&env, "INSERT INTO journal VALUES (9, 2000000000, 'burn', '{}')"), 0);
    /* time going backwards */
    assert_int_not_equal(test_sql_exec(&env, "INSERT INTO journal VALUES (4, 0, 'burn', '{}')"), 0);
    /* the same rules within one multi-row statement: a gap, time going backwards in seq order */
    assert_int_not_equal(
        test_sql_exec(&env, "INSERT INTO journal VALUES (4, 2000000000, 'burn', '{}'), (6, 2000000000, 'burn', '{}')"),
        0);
    assert_int_not_equal(
        test_sql_exec(&env, "INSERT INTO journal VALUES (5, 2000000000, 'burn', '{}'), (4, 2000000001, 'burn', '{}')"),
        0);
    assert_int_not_equal(
        test_sql_exec(&env, "INSERT INTO journal VALUES (4, 2000000001, 'burn', '{}'), (5, 2000000000, 'burn', '{}')"),
        0);
    /* history is append-only */
    assert_int_not_equal(test_sql_exec(&env, "UPDATE journal SET text = '{}' WHERE seq = 3"), 0);
    assert_int_not_equal(test_sql_exec(&env, "DELETE FROM journal WHERE seq = 3"), 0);
    assert_int_not_equal(test_sql_exec(&env, "DELETE FROM postings WHERE seq = 3"), 0);
    /* lots never go below zero or above their points */
    assert_int_not_equal(test_sql_exec(&env, "UPDATE lots SET remaining = -1"), 0);
    assert_int_not_equal(test_sql_exec(&env, "UPDATE lots SET remaining = 11"), 0);
    /* references are unique per partner and type */
    assert_int_not_equal(test_sql_exec(&env, "INSERT INTO transactions (seq, partner, type, member, points, reference, "
                                             "reference_key) VALUES (2, 'brand-a', 'earn', 'm1', 1, 'r1', 'earn')"),
                         0);
    /* cumulative reversals never exceed the original */
    assert_int_not_equal(test_sql_exec(&env, "UPDATE transactions SET reversed = 11 WHERE seq = 3"), 0);
    /* nothing above changed the books */
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM journal"), 3);
    assert_int_equal(test_sql_int(&env, "SELECT coalesce(sum(balance),0) FROM accounts"), 0);
    assert_int_equal(test_sql_int(&env, "SELECT balance FROM accounts WHERE account = 'member:m1'"), 10);
}

/* A hash of the Merkle frontier after appending two entries, rolled back afterwards. */
static int64_t frontier_after(const char *inserts)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "BEGIN; %s; SELECT ('x' || left(md5(frontier::text), 15))::bit(60)::bigint FROM journal_head", inserts);
    return test_sql_int(&env, sql);
}

static void test_multi_row_append_extends_the_tree_like_single_rows(void **state)
{
    (void)state;
    int64_t single = frontier_after("INSERT INTO journal VALUES (4, 2000000000, 'burn', '{\"a\":1}');"
                                    "INSERT INTO journal VALUES (5, 2000000000, 'burn', '{\"b\":2}')");
    int64_t multi = frontier_after(
        "INSERT INTO journal VALUES (4, 2000000000, 'burn', '{\"a\":1}'), (5, 2000000000, 'burn', '{\"b\":2}')");
    int64_t other = frontier_after(
        "INSERT INTO journal VALUES (4, 2000000000, 'burn', '{\"b\":2}'), (5, 2000000000, 'burn', '{\"a\":1}')");
    assert_int_equal(single, multi);
    assert_int_not_equal(single, other);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM journal"), 3); /* all rolled back */
}

static void test_pool_reconnects(void **state)
{
    (void)state;
    store_pool_t *pool = store_pool_create(env.db_url, 1, NULL);
    store_conn_t *conn = store_pool_acquire(pool);
    assert_non_null(conn);
    int64_t now = 0;
    assert_int_equal(store_now(conn, &now), RESULT_OK);
    /* the server drops the session; the pool replaces it on the next acquisition */
    test_sql_exec(&env,
                  "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name = 'ledger'");
    assert_int_equal(store_now(conn, &now), RESULT_DATABASE_UNAVAILABLE);
    store_pool_release(pool, conn);
    conn = store_pool_acquire(pool);
    assert_non_null(conn);
    assert_int_equal(store_now(conn, &now), RESULT_OK);
    store_pool_release(pool, conn);
    store_pool_destroy(pool);
}

/* Statements sent without waiting (pipeline mode): a failure is reported, mapped, by the next
 * statement; what followed it is not applied; a savepoint restores a usable transaction. */
static void test_pipelined_writes_report_their_failure(void **state)
{
    (void)state;
    store_conn_t *conn = store_connect(env.db_url);
    int64_t seq = 0, time_s = 0, now = 0;
    assert_int_equal(store_begin(conn), RESULT_OK);
    assert_int_equal(store_savepoint(conn), RESULT_OK);
    assert_int_equal(store_journal_next(conn, &seq, &time_s), RESULT_OK);
    /* "r1" is taken: the duplicate surfaces, mapped, at the next statement; the savepoint recovers */
    assert_int_equal(store_transaction_insert(conn, seq, "brand-a", "earn", "m1", 5, "r1", 1, 0), RESULT_OK);
    assert_int_equal(store_transaction_insert(conn, seq, "brand-a", "earn", "m1", 5, "r9", 1, 0), RESULT_OK);
    assert_int_equal(store_now(conn, &now), RESULT_DUPLICATE_REFERENCE);
    assert_int_equal(store_rollback_to_savepoint(conn), RESULT_OK);
    assert_int_equal(store_now(conn, &now), RESULT_OK);
    /* a signature belongs to one (principal, key) */
    uint8_t signature[CRYPTO_ED25519_SIGNATURE_BYTES] = {7};
    store_claim_t claim = {NULL};
    assert_int_equal(store_signature_claim(conn, signature, "brand-a", "k-1", &claim), RESULT_OK);
    assert_int_equal(store_flush(conn), RESULT_OK);
    assert_int_equal(store_signature_claimed(&claim), RESULT_OK);
    assert_int_equal(store_signature_claim(conn, signature, "brand-a", "k-1", &claim), RESULT_OK);
    assert_int_equal(store_flush(conn), RESULT_OK);
    assert_int_equal(store_signature_claimed(&claim), RESULT_OK); /* the same request again */
    assert_int_equal(store_signature_claim(conn, signature, "brand-b", "k-1", &claim), RESULT_OK);
    assert_int_equal(store_flush(conn), RESULT_OK);
    assert_int_equal(store_signature_claimed(&claim), RESULT_AUTH_SIGNATURE_REUSED);
    /* the idempotency key is locked by this transaction: another session sees it in progress */
    uint8_t hash[CRYPTO_SHA256_BYTES] = {1};
    store_idempotency_t idempotency = STORE_IDEMPOTENCY_NEW;
    int status = 0;
    char *body = NULL;
    assert_int_equal(store_idempotency_begin(conn, "brand-a", "key-1", hash, &idempotency, &status, &body), RESULT_OK);
    assert_int_equal(idempotency, STORE_IDEMPOTENCY_NEW);
    store_conn_t *other = store_connect(env.db_url);
    assert_int_equal(store_begin(other), RESULT_OK);
    assert_int_equal(store_idempotency_begin(other, "brand-a", "key-1", hash, &idempotency, &status, &body), RESULT_OK);
    assert_int_equal(idempotency, STORE_IDEMPOTENCY_BUSY);
    store_rollback(other);
    store_disconnect(other);
    store_rollback(conn);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM transactions"), 1);
    store_disconnect(conn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrations_are_recorded_once),
        cmocka_unit_test(test_database_refuses_broken_invariants),
        cmocka_unit_test(test_multi_row_append_extends_the_tree_like_single_rows),
        cmocka_unit_test(test_pool_reconnects),
        cmocka_unit_test(test_pipelined_writes_report_their_failure),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

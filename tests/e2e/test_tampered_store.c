/* End-to-end: database rows altered by hand (an operator with SQL, triggers disabled) that used to
 * reach an assertion in the store layer or the checkpoint code and abort ledgerd (issue 16's
 * sweep, spec 12). Each is now a logged 500 problem, ledgerd stays up, nothing is written, and
 * after the rows are put back the service answers as before and the export verifies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "client.h"
#include "json.h"
#include "support.h"

static test_env_t env;
static test_key_t shop;

static int setup(void **state)
{
    (void)state;
    test_env_start(&env, "e2e_tampered_store");
    test_partner(&env, "shop", 0, &shop);
    for (int i = 0; i < 3; i++) {
        char reference[32];
        snprintf(reference, sizeof reference, "e-%d", i);
        test_reply_t reply = test_move(&env, &shop, "/v1/earn", "m-1", 10, reference);
        test_expect(reply, 201, NULL); /* frees it */
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_env_stop(&env);
    test_key_free(&shop);
    return 0;
}

static void alive(void)
{
    int status = 0;
    if (env.pid != 0 && waitpid(env.pid, &status, WNOHANG) == env.pid) {
        env.pid = 0;
        env.damaged = 1; /* the rows of the failing case stay altered */
        test_ledgerd_spawn(&env); /* so each later case shows its own outcome */
        fail_msg("ledgerd died (status %d): see %s.ledgerd.log", status, env.db_name);
    }
}

static void expect(test_reply_t reply, int status, const char *code)
{
    alive();
    if (reply.status != status || (code && strcmp(test_code(&reply), code) != 0))
        fprintf(stderr, "expected %d %s, got %d: %s\n", status, code ? code : "", reply.status,
                reply.body ? reply.body : "");
    assert_int_equal(reply.status, status);
    if (code) assert_string_equal(test_code(&reply), code);
    test_reply_free(&reply);
}

static test_reply_t op(const char *target)
{
    return test_call(&env, &env.operator_key, "GET", target, NULL, NULL);
}

static void sql(const char *statement)
{
    if (test_sql_exec(&env, statement) != 0) fail_msg("SQL failed: %s", statement);
}

static int64_t journal_count(void)
{
    return test_sql_int(&env, "SELECT count(*) FROM journal");
}

/* journal_head.frontier not 32-byte hashes, or not one per set bit of seq: checkpoint and export. */
static void test_tree_head_altered(void **state)
{
    (void)state;
    sql("DROP TABLE IF EXISTS saved_head; CREATE TABLE saved_head AS SELECT * FROM journal_head");
    sql("UPDATE journal_head SET frontier = frontier || '\\x00'::bytea");
    expect(op("/v1/admin/checkpoint"), 500, "internal_error");
    expect(op("/v1/admin/export"), 500, "internal_error");
    sql("UPDATE journal_head SET frontier = (SELECT frontier FROM saved_head) || (SELECT frontier FROM saved_head)");
    expect(op("/v1/admin/checkpoint"), 500, "internal_error");
    sql("UPDATE journal_head SET frontier = (SELECT frontier FROM saved_head); DROP TABLE saved_head");
    expect(op("/v1/admin/checkpoint"), 200, NULL);
}

/* A transaction's journal text altered so it no longer parses, or so it parses with points no
 * JSON answer can state (beyond 2^53 - 1: no canonical form, decision 199): the member's history
 * is a 500 problem, and ledgerd keeps answering. */
static void test_transaction_entry_altered(void **state)
{
    (void)state;
    sql("DROP TABLE IF EXISTS saved_entry; CREATE TABLE saved_entry AS SELECT seq, text FROM journal WHERE seq = (SELECT min(seq) FROM transactions); "
        "ALTER TABLE journal DISABLE TRIGGER journal_immutable; "
        "UPDATE journal SET text = '{' WHERE seq = (SELECT seq FROM saved_entry); "
        "ALTER TABLE journal ENABLE TRIGGER journal_immutable");
    expect(test_call(&env, &shop, "GET", "/v1/members/m-1/transactions", NULL, NULL), 500, "internal_error");
    sql("ALTER TABLE journal DISABLE TRIGGER journal_immutable; "
        "UPDATE journal SET text = regexp_replace(s.text, '\"points\":[0-9]+', '\"points\":9007199254740993') "
        "FROM saved_entry s WHERE journal.seq = s.seq; "
        "ALTER TABLE journal ENABLE TRIGGER journal_immutable");
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM journal WHERE text LIKE '%9007199254740993%'"), 1);
    expect(test_call(&env, &shop, "GET", "/v1/members/m-1/transactions", NULL, NULL), 500, "internal_error");
    sql("ALTER TABLE journal DISABLE TRIGGER journal_immutable; "
        "UPDATE journal SET text = s.text FROM saved_entry s WHERE journal.seq = s.seq; "
        "ALTER TABLE journal ENABLE TRIGGER journal_immutable; DROP TABLE saved_entry");
    expect(test_call(&env, &shop, "GET", "/v1/members/m-1/transactions", NULL, NULL), 200, NULL);
}

/* Balances whose sum leaves int64 (each within the CHECK, 1100 of them): the trial balance. */
static void test_trial_balance_overflow(void **state)
{
    (void)state;
    sql("INSERT INTO accounts (account, balance) SELECT 'member:over-' || g, 9007199254740991 "
        "FROM generate_series(1, 1100) g");
    expect(op("/v1/admin/trial-balance"), 500, "internal_error");
    sql("DELETE FROM accounts WHERE account LIKE 'member:over-%'");
    expect(op("/v1/admin/trial-balance"), 200, NULL);
}

/* The journal_head row deleted: a write answers 500 and writes nothing. */
static void test_head_row_deleted(void **state)
{
    (void)state;
    int64_t before = journal_count();
    sql("DROP TABLE IF EXISTS saved_head; CREATE TABLE saved_head AS SELECT * FROM journal_head; DELETE FROM journal_head");
    expect(test_move(&env, &shop, "/v1/earn", "m-2", 5, "no-head"), 500, "internal_error");
    assert_int_equal(journal_count(), before);
    sql("INSERT INTO journal_head SELECT * FROM saved_head; DROP TABLE saved_head");
    expect(test_move(&env, &shop, "/v1/earn", "m-2", 5, "head-back"), 201, NULL);
}

/* A journal row deleted below the signed size (its leaf covered by a stored subtree, so the
 * checkpoint still signs): the export stops with an error instead of aborting ledgerd. */
static void test_journal_gap(void **state)
{
    (void)state;
    sql("DROP TABLE IF EXISTS saved_first; CREATE TABLE saved_first AS SELECT * FROM journal WHERE seq = 1; "
        "SET session_replication_role = replica; DELETE FROM journal WHERE seq = 1");
    client_response_t response;
    int status = client_call("127.0.0.1", env.port, env.operator_key.keyid, env.operator_key.signer, "GET",
                             "/v1/admin/export", NULL, NULL, &response);
    alive();
    /* either refused before the first byte or cut short: never the full export with its checkpoint */
    if (status == 0) {
        assert_true(response.status != 200 || response.body == NULL || strstr(response.body, "\"checkpoint\"") == NULL);
        client_response_free(&response);
    }
    expect(op("/healthz"), 200, NULL);
    sql("SET session_replication_role = replica; INSERT INTO journal SELECT * FROM saved_first; "
        "SET session_replication_role = origin; DROP TABLE saved_first");
    expect(op("/v1/admin/export"), 200, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree_head_altered),
        cmocka_unit_test(test_transaction_entry_altered),
        cmocka_unit_test(test_trial_balance_overflow),
        cmocka_unit_test(test_head_row_deleted),
        cmocka_unit_test(test_journal_gap),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

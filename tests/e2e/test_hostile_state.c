/* End-to-end: no input crashes the service (issue 16 items 4 and 5, spec 12). States that
 * partners can create with ordinary signed requests, and that used to abort ledgerd on every
 * request touching them: a hold outliving the lots it reserved (available below zero), and a
 * settlement whose pair amount leaves int64 (and the journal's 2^53 - 1 integers). Each is now a
 * problem answer, ledgerd stays up, nothing partial is written, and the export still verifies. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "crypto.h"
#include "json.h"
#include "limits.h"
#include "support.h"

/* brief's lots expire this soon: an earn and the hold on it must happen within it (at least
 * BRIEF_VALIDITY_S - 1 s, as times are whole seconds), even on a loaded machine under ASan. */
#define BRIEF_VALIDITY_S 4

static test_env_t env;
static test_key_t brief, steady, issuer, redeemer;

static int setup(void **state)
{
    (void)state;
    test_env_start(&env, "e2e_hostile_state");
    test_partner(&env, "brief", BRIEF_VALIDITY_S, &brief); /* lots live a few seconds */
    test_partner(&env, "steady", 0, &steady);
    test_partner(&env, "issuer", 0, &issuer);
    test_partner(&env, "redeemer", 0, &redeemer);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_env_stop(&env);
    test_key_free(&brief);
    test_key_free(&steady);
    test_key_free(&issuer);
    test_key_free(&redeemer);
    return 0;
}

static void alive(void)
{
    int status = 0;
    if (waitpid(env.pid, &status, WNOHANG) == env.pid) {
        env.pid = 0;
        fail_msg("ledgerd died (status %d): see %s.ledgerd.log", status, env.db_name);
    }
}

/* Asserts status (and code), that ledgerd is still up, and returns the reply (caller frees). */
static test_reply_t expect(test_reply_t reply, int status, const char *code)
{
    alive();
    if (reply.status != status || (code && strcmp(test_code(&reply), code) != 0))
        fprintf(stderr, "expected %d %s, got %d: %s\n", status, code ? code : "", reply.status,
                reply.body ? reply.body : "");
    assert_int_equal(reply.status, status);
    if (code) assert_string_equal(test_code(&reply), code);
    return reply;
}

static test_reply_t op(const char *method, const char *target, const char *body)
{
    return test_call(&env, &env.operator_key, method, target, body, NULL);
}

static int64_t member_field(const test_key_t *key, const char *member, const char *field)
{
    char target[128];
    snprintf(target, sizeof target, "/v1/members/%s", member);
    test_reply_t reply = expect(test_call(&env, key, "GET", target, NULL, NULL), 200, NULL);
    int64_t value = test_int(reply.json, field);
    test_reply_free(&reply);
    return value;
}

/* Item 4: a hold on points whose lot then passes expires_at. */
static void test_hold_outlives_its_lots(void **state)
{
    (void)state;
    char target[128];
    test_reply_t reply = expect(test_move(&env, &brief, "/v1/earn", "m-hold", 100, "e-brief"), 201, NULL);
    test_reply_free(&reply);
    reply = expect(test_move(&env, &brief, "/v1/holds", "m-hold", 100, "h-all"), 201, NULL);
    assert_int_equal(test_int(reply.json, "balance.available"), 0);
    char hold_id[64];
    snprintf(hold_id, sizeof hold_id, "%s", json_string_value(json_object_get(json_object_get(reply.json, "hold"), "id")));
    test_reply_free(&reply);
    sleep(BRIEF_VALIDITY_S + 1); /* the lot is now past expires_at; the hold (900 s) is still active */
    /* raw figure 100 - 100 - 100 = -100: shown as 0, never negative */
    assert_int_equal(member_field(&steady, "m-hold", "balance"), 100);
    assert_int_equal(member_field(&steady, "m-hold", "available"), 0);
    /* an earn is always allowed: it used to abort ledgerd here ("available >= 0") */
    reply = expect(test_move(&env, &steady, "/v1/earn", "m-hold", 50, "e-steady"), 201, NULL);
    assert_int_equal(test_int(reply.json, "balance.balance"), 150);
    assert_int_equal(test_int(reply.json, "balance.available"), 0); /* the hold still reserves 100: raw -50 */
    test_reply_free(&reply);
    assert_int_equal(member_field(&brief, "m-hold", "available"), 0);
    /* burns and new holds are refused while nothing is available */
    reply = expect(test_move(&env, &steady, "/v1/burn", "m-hold", 1, "b-none"), 422, "insufficient_points");
    assert_int_equal(test_int(reply.json, "available"), 0);
    test_reply_free(&reply);
    test_expect(test_move(&env, &steady, "/v1/holds", "m-hold", 1, "h-none"), 422, "insufficient_points");
    alive();
    /* the capture can only consume lots live now: 50 of steady's, not the expired 100 */
    snprintf(target, sizeof target, "/v1/holds/%s/capture", hold_id);
    reply = expect(test_call(&env, &brief, "POST", target, "{}", NULL), 422, "insufficient_points");
    assert_int_equal(test_int(reply.json, "available"), 50);
    test_reply_free(&reply);
    reply = expect(test_call(&env, &brief, "POST", target, "{\"points\":51}", NULL), 422, "insufficient_points");
    test_reply_free(&reply);
    /* the hold stays active until voided */
    snprintf(target, sizeof target, "/v1/holds/%s/void", hold_id);
    reply = expect(test_call(&env, &brief, "POST", target, "{}", NULL), 200, NULL);
    assert_int_equal(test_int(reply.json, "balance.available"), 50);
    test_reply_free(&reply);
    assert_int_equal(member_field(&brief, "m-hold", "available"), 50);
    /* the expiry run books the dead lot; the export replays every step and verifies */
    test_expect(op("POST", "/v1/admin/expiry-runs", "{}"), 201, NULL);
    assert_int_equal(member_field(&brief, "m-hold", "balance"), 50);
    assert_int_equal(test_journal_verifies(&env), 0);
}

/* Item 4, the capture side: a partial capture of what live lots hold succeeds, FIFO over them. */
static void test_partial_capture_of_live_lots(void **state)
{
    (void)state;
    char target[128];
    test_expect(test_move(&env, &brief, "/v1/earn", "m-part", 30, "e-part-brief"), 201, NULL);
    test_expect(test_move(&env, &steady, "/v1/earn", "m-part", 20, "e-part-steady"), 201, NULL);
    test_reply_t reply = expect(test_move(&env, &steady, "/v1/holds", "m-part", 50, "h-part"), 201, NULL);
    snprintf(target, sizeof target, "/v1/holds/%s/capture",
             json_string_value(json_object_get(json_object_get(reply.json, "hold"), "id")));
    test_reply_free(&reply);
    sleep(BRIEF_VALIDITY_S + 1);
    assert_int_equal(member_field(&steady, "m-part", "available"), 0); /* 50 - 30 past due - 50 held */
    reply = expect(test_call(&env, &steady, "POST", target, "{\"points\":20}", NULL), 201, NULL);
    json_t *consumed = json_object_get(json_object_get(reply.json, "transaction"), "consumed");
    assert_int_equal(json_array_size(consumed), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(consumed, 0), "issuer")), "steady");
    assert_int_equal(test_int(reply.json, "balance.available"), 0);
    test_reply_free(&reply);
    assert_int_equal(test_journal_verifies(&env), 0);
}

static void move_many(const test_key_t *key, const char *path, const char *prefix, int count)
{
    char reference[64];
    for (int i = 0; i < count; i++) {
        snprintf(reference, sizeof reference, "%s-%d", prefix, i);
        test_reply_t reply = expect(test_move(&env, key, path, "m-whale", 1000000000, reference), 201, NULL);
        test_reply_free(&reply);
    }
}

/* Item 5: a pair amount beyond int64 minor units (point value 1e9/1, ten 1e9-point burns). */
static void test_settlement_overflow(void **state)
{
    (void)state;
    test_expect(op("POST", "/v1/admin/point-values", "{\"value_num\":1000000000,\"value_den\":1}"), 201, NULL);
    move_many(&issuer, "/v1/earn", "whale-earn", 10);
    char burns[10][64];
    for (int i = 0; i < 10; i++) {
        char reference[32];
        snprintf(reference, sizeof reference, "whale-burn-%d", i);
        test_reply_t reply = expect(test_move(&env, &redeemer, "/v1/burn", "m-whale", 1000000000, reference), 201, NULL);
        snprintf(burns[i], sizeof burns[i], "%.63s",
                 json_string_value(json_object_get(json_object_get(reply.json, "transaction"), "id")));
        test_reply_free(&reply);
    }
    int64_t head = test_sql_int(&env, "SELECT max(seq) FROM journal");
    for (int attempt = 0; attempt < 2; attempt++) { /* it used to abort ledgerd on every retry */
        test_reply_t reply = expect(op("POST", "/v1/admin/settlements", "{}"), 422, "settlement_overflow");
        assert_non_null(json_object_get(reply.json, "detail"));
        test_reply_free(&reply);
    }
    /* nothing was written */
    assert_int_equal(test_sql_int(&env, "SELECT max(seq) FROM journal"), head);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM settlements"), 0);
    /* the way out: reverse burns until the period's amount fits (here 1000 points × 1e9 = 1e12) */
    char target[160];
    for (int i = 0; i < 10; i++) {
        snprintf(target, sizeof target, "/v1/transactions/%.64s/reverse", burns[i]);
        char body[96];
        if (i < 9) /* all of it */
            snprintf(body, sizeof body, "{\"reference\":\"r-%d\"}", i);
        else
            snprintf(body, sizeof body, "{\"points\":999999000,\"reference\":\"r-%d\"}", i);
        test_expect(test_call(&env, &redeemer, "POST", target, body, NULL), 201, NULL);
    }
    alive();
    test_reply_t reply = expect(op("POST", "/v1/admin/settlements", "{}"), 201, NULL);
    json_t *pair = json_array_get(json_object_get(json_object_get(reply.json, "settlement"), "pairs"), 0);
    assert_int_equal(test_int(pair, "points"), 1000);
    assert_int_equal(test_int(pair, "amount"), 1000000000000LL);
    test_reply_free(&reply);
    assert_int_equal(test_journal_verifies(&env), 0);
}

/* Sweep: bytes that are not UTF-8 in a signed request's query used to reach the journal entry
 * (stored with it) and abort ledgerd (journal.c "object != NULL"). Now 400 before anything runs. */
static void test_non_ascii_target(void **state)
{
    (void)state;
    test_reply_t reply = expect(test_call(&env, &steady, "POST", "/v1/earn?x=\xff\xfe",
                                          "{\"member\":\"m-utf\",\"points\":1,\"reference\":\"e-utf\"}", NULL),
                                400, "invalid_request_target");
    test_reply_free(&reply);
    reply = expect(test_call(&env, &steady, "GET", "/v1/members/m-utf?x=\xc3", NULL, NULL), 400,
                   "invalid_request_target");
    test_reply_free(&reply);
    reply = expect(test_call(&env, &steady, "POST", "/v1/earn?x=%ff",
                             "{\"member\":\"m-utf\",\"points\":1,\"reference\":\"e-utf\"}", NULL),
                   201, NULL); /* percent-encoded is ASCII: fine */
    test_reply_free(&reply);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM transactions WHERE member = 'm-utf'"), 1);
    assert_int_equal(test_journal_verifies(&env), 0);
}

/* Sweep: a member balance beyond 2^53 - 1 cannot be written as JSON (json_canonical aborted on
 * the earn's answer, and on every read of that member after). ~9e6 earns of 1e9 points reach it;
 * the test starts the account near the bound instead. */
static void test_balance_bound(void **state)
{
    (void)state;
    char sql[160];
    test_expect(test_move(&env, &steady, "/v1/earn", "m-big", 10, "e-big-1"), 201, NULL);
    snprintf(sql, sizeof sql, "UPDATE accounts SET balance = %lld WHERE account = 'member:m-big'",
             (long long)(LIMIT_BALANCE_MAX - 10));
    assert_int_equal(test_sql_exec(&env, sql), 0);
    test_reply_t reply = expect(test_move(&env, &steady, "/v1/earn", "m-big", 20, "e-big-2"), 422, "balance_limit");
    assert_int_equal(test_int(reply.json, "balance"), LIMIT_BALANCE_MAX - 10);
    test_reply_free(&reply);
    reply = expect(test_move(&env, &steady, "/v1/earn", "m-big", 10, "e-big-3"), 201, NULL); /* exactly the bound */
    assert_int_equal(test_int(reply.json, "balance.balance"), LIMIT_BALANCE_MAX);
    test_reply_free(&reply);
    test_expect(test_move(&env, &steady, "/v1/earn", "m-big", 1, "e-big-4"), 422, "balance_limit");
    reply = expect(test_call(&env, &brief, "GET", "/v1/members/m-big", NULL, NULL), 200, NULL);
    assert_int_equal(test_int(reply.json, "balance"), LIMIT_BALANCE_MAX);
    test_reply_free(&reply);
    test_expect(test_move(&env, &steady, "/v1/burn", "m-big", 5, "b-big"), 201, NULL);
    snprintf(sql, sizeof sql, "UPDATE accounts SET balance = 15 WHERE account = 'member:m-big'");
    assert_int_equal(test_sql_exec(&env, sql), 0); /* back to what the journal says */
    assert_int_equal(test_journal_verifies(&env), 0);
}

/* An issuer's total issued points stay within what JSON can state (migration 0008): past it the
 * trial balance and the liability report could not be answered (json.c aborted ledgerd). */
static void test_issuer_total_bound(void **state)
{
    (void)state;
    char sql[200];
    test_expect(test_move(&env, &issuer, "/v1/earn", "m-issued", 10, "e-issued-1"), 201, NULL);
    int64_t issued = test_sql_int(&env, "SELECT balance FROM accounts WHERE account = 'issued:issuer'");
    snprintf(sql, sizeof sql, "UPDATE accounts SET balance = %lld WHERE account = 'issued:issuer'",
             (long long)-(LIMIT_BALANCE_MAX - 10));
    assert_int_equal(test_sql_exec(&env, sql), 0);
    test_reply_t reply = expect(test_move(&env, &issuer, "/v1/earn", "m-issued", 20, "e-issued-2"), 422, "balance_limit");
    test_reply_free(&reply);
    reply = expect(test_move(&env, &issuer, "/v1/earn", "m-issued", 10, "e-issued-3"), 201, NULL); /* exactly */
    test_reply_free(&reply);
    reply = expect(op("GET", "/v1/admin/trial-balance", NULL), 200, NULL);
    test_reply_free(&reply);
    reply = expect(op("GET", "/v1/admin/liability", NULL), 200, NULL);
    /* issue 19: the money of an issuer beyond 2^53 - 1 minor units is null, the view still answers */
    json_t *row;
    size_t i;
    int nulls = 0;
    json_array_foreach(json_object_get(reply.json, "issuers"), i, row)
    {
        json_t *liability = json_object_get(row, "liability");
        assert_true(json_is_integer(liability) || json_is_null(liability));
        nulls += json_is_null(liability);
    }
    assert_true(nulls >= 1);
    test_reply_free(&reply);
    snprintf(sql, sizeof sql, "UPDATE accounts SET balance = %lld WHERE account = 'issued:issuer'",
             (long long)(issued - 10));
    assert_int_equal(test_sql_exec(&env, sql), 0); /* back to what the journal says */
}

/* Sweep: rows altered outside the service (an operator with SQL, triggers off) answer problems
 * where they used to abort ledgerd: each call below aborted it before. */
static void test_altered_rows(void **state)
{
    (void)state;
    char target[128], sql[256];
    /* a lot holding less than the member's balance says: the burn is refused with what it holds */
    test_expect(test_move(&env, &steady, "/v1/earn", "m-alter", 10, "e-alter"), 201, NULL);
    assert_int_equal(test_sql_exec(&env, "UPDATE lots SET remaining = 2 WHERE member = 'm-alter'"), 0);
    test_reply_t reply = expect(test_move(&env, &steady, "/v1/burn", "m-alter", 5, "b-alter"), 422, "insufficient_points");
    assert_int_equal(test_int(reply.json, "available"), 2);
    test_reply_free(&reply);
    assert_int_equal(test_sql_exec(&env, "UPDATE lots SET remaining = 10 WHERE member = 'm-alter'"), 0);
    /* burn portions holding less than the burn: the reversal is a 500, nothing written */
    reply = expect(test_move(&env, &steady, "/v1/burn", "m-alter", 10, "b-alter-2"), 201, NULL);
    snprintf(target, sizeof target, "/v1/transactions/%.64s/reverse",
             json_string_value(json_object_get(json_object_get(reply.json, "transaction"), "id")));
    test_reply_free(&reply);
    assert_int_equal(test_sql_exec(&env, "UPDATE burn_portions SET points = 4 WHERE burn_seq = "
                                         "(SELECT max(seq) FROM transactions WHERE reference = 'b-alter-2')"),
                     0);
    int64_t head = test_sql_int(&env, "SELECT max(seq) FROM journal");
    test_expect(test_call(&env, &steady, "POST", target, "{\"reference\":\"r-alter\"}", NULL), 500, "internal_error");
    alive();
    assert_int_equal(test_sql_int(&env, "SELECT max(seq) FROM journal"), head);
    /* stored reports that no longer parse: 500 for the report, its CSV and the statement */
    int64_t settlement = test_sql_int(&env, "SELECT max(id) FROM settlements");
    int64_t run = test_sql_int(&env, "SELECT max(id) FROM expiry_runs WHERE status = 'done'");
    assert_true(settlement > 0 && run > 0);
    snprintf(sql, sizeof sql,
             "SET session_replication_role = replica; UPDATE settlements SET report = '{\"pairs\":' WHERE id = %lld; "
             "UPDATE expiry_runs SET report = 'x' WHERE id = %lld",
             (long long)settlement, (long long)run);
    assert_int_equal(test_sql_exec(&env, sql), 0);
    snprintf(target, sizeof target, "/v1/admin/settlements/stl-%lld", (long long)settlement);
    test_expect(op("GET", target, NULL), 500, "internal_error");
    snprintf(target, sizeof target, "/v1/settlements/stl-%lld/statement", (long long)settlement);
    test_expect(test_call(&env, &issuer, "GET", target, NULL, NULL), 500, "internal_error");
    snprintf(target, sizeof target, "/v1/admin/expiry-runs/exp-%lld", (long long)run);
    test_expect(op("GET", target, NULL), 500, "internal_error");
    alive();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hold_outlives_its_lots),
        cmocka_unit_test(test_partial_capture_of_live_lots),
        cmocka_unit_test(test_settlement_overflow),
        cmocka_unit_test(test_non_ascii_target),
        cmocka_unit_test(test_balance_bound),
        cmocka_unit_test(test_issuer_total_bound),
        cmocka_unit_test(test_altered_rows),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

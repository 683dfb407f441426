/* End-to-end: settlement (spec 7) — pair amounts, fees, positions, payments, signed reports and
 * statements, empty periods, reversals across periods, value changes, random traffic checked
 * against an independent recomputation from the journal, and traffic during a run. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <libpq-fe.h>

#include "buf.h"
#include "client.h"
#include "journal.h"
#include "json.h"
#include "ledger.h"
#include "support.h"

#define BRANDS 4
static test_env_t env;
static test_key_t brand[BRANDS];
static const char *const codes[BRANDS] = {"alpha", "beta", "gamma", "delta"};

static int setup(void **state)
{
    (void)state;
    test_env_start(&env, "e2e_settlement");
    for (int i = 0; i < BRANDS; i++)
        test_partner(&env, codes[i], 0, &brand[i]);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_env_stop(&env);
    for (int i = 0; i < BRANDS; i++)
        test_key_free(&brand[i]);
    return 0;
}

static test_reply_t op(const char *method, const char *target, const char *body)
{
    return test_call(&env, &env.operator_key, method, target, body, NULL);
}

static void ok(test_reply_t reply, int status)
{
    if (reply.status != status) fprintf(stderr, "unexpected %d: %s\n", reply.status, reply.body);
    assert_int_equal(reply.status, status);
    test_reply_free(&reply);
}

static test_reply_t move(int who, const char *path, const char *member, int64_t points)
{
    static int counter;
    char body[256];
    snprintf(body, sizeof body, "{\"member\":\"%s\",\"points\":%lld,\"reference\":\"ref-%d-%ld\"}", member,
             (long long)points, __sync_add_and_fetch(&counter, 1), (long)time(NULL));
    return test_call(&env, &brand[who], "POST", path, body, NULL);
}

static void value(int64_t num, int64_t den)
{
    char body[96];
    snprintf(body, sizeof body, "{\"value_num\":%lld,\"value_den\":%lld}", (long long)num, (long long)den);
    ok(op("POST", "/v1/admin/point-values", body), 201);
}

static test_reply_t settle(const char *body)
{
    test_reply_t reply = op("POST", "/v1/admin/settlements", body);
    if (reply.status == 201) {
        /* the report is signed by the ledger key over its JCS text */
        crypto_signer_t *ledger = crypto_signer_load_file(env.key_file);
        uint8_t public_key[32], signature[64];
        size_t len = 0;
        crypto_signer_public_key(ledger, public_key);
        crypto_signer_free(ledger);
        const char *b64 = json_string_value(json_object_get(reply.json, "signature"));
        assert_int_equal(crypto_base64_decode(b64, strlen(b64), signature, 64, &len), 0);
        char *text = json_canonical(json_object_get(reply.json, "settlement"));
        assert_int_equal(crypto_ed25519_verify(public_key, text, strlen(text), signature), 1);
        free(text);
    }
    return reply;
}

static const json_t *pair(const json_t *settlement, const char *redeemer, const char *issuer)
{
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(settlement, "pairs"), i, row)
    {
        if (strcmp(json_string_value(json_object_get(row, "redeemer")), redeemer) == 0 &&
            strcmp(json_string_value(json_object_get(row, "issuer")), issuer) == 0)
            return row;
    }
    return NULL;
}

static const json_t *position(const json_t *settlement, const char *partner)
{
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(settlement, "positions"), i, row)
    {
        if (strcmp(json_string_value(json_object_get(row, "partner")), partner) == 0) return row;
    }
    return NULL;
}

/* Σ net = 0 and the payments settle every net exactly, in at most n - 1 payments. */
static void assert_balanced(const json_t *settlement)
{
    const json_t *positions = json_object_get(settlement, "positions");
    size_t n = json_array_size(positions), i;
    int64_t total = 0, *left = calloc(n + 1, sizeof *left);
    json_t *row;
    json_array_foreach(positions, i, row)
    {
        left[i] = test_int(row, "net");
        total += left[i];
        int64_t net = left[i];
        assert_int_equal(net, test_int(row, "receivable") - test_int(row, "payable") - test_int(row, "fees"));
        assert_string_equal(json_string_value(json_object_get(row, "role")), net < 0   ? "donor"
                                                                             : net > 0 ? "recipient"
                                                                                       : "even");
    }
    assert_int_equal(total, 0);
    const json_t *payments = json_object_get(settlement, "payments");
    assert_true(json_array_size(payments) + 1 <= n || json_array_size(payments) == 0);
    json_array_foreach(payments, i, row)
    {
        size_t j;
        json_t *p;
        json_array_foreach(positions, j, p)
        {
            const char *partner = json_string_value(json_object_get(p, "partner"));
            if (strcmp(partner, json_string_value(json_object_get(row, "from"))) == 0)
                left[j] += test_int(row, "amount");
            if (strcmp(partner, json_string_value(json_object_get(row, "to"))) == 0) left[j] -= test_int(row, "amount");
        }
    }
    for (size_t k = 0; k < n; k++)
        assert_int_equal(left[k], 0);
    free(left);
}

static void test_pairs_positions_payments(void **state)
{
    (void)state;
    value(1, 2); /* 1 point = 0.5 minor units */
    ok(move(0, "/v1/earn", "s-1", 1000), 201);
    ok(move(1, "/v1/earn", "s-2", 1000), 201);
    ok(move(1, "/v1/burn", "s-1", 301), 201); /* beta takes 301 alpha points: 150.5 -> 150 */
    ok(move(0, "/v1/burn", "s-2", 100), 201); /* alpha takes 100 beta points: 50 */
    ok(move(0, "/v1/burn", "s-1", 10), 201);  /* same brand: information only */
    test_reply_t reply = settle("{}");
    assert_int_equal(reply.status, 201);
    json_t *s = json_object_get(reply.json, "settlement");
    assert_int_equal(test_int(pair(s, "beta", "alpha"), "points"), 301);
    assert_int_equal(test_int(pair(s, "beta", "alpha"), "amount"), 150);
    assert_int_equal(test_int(pair(s, "alpha", "beta"), "amount"), 50);
    assert_null(pair(s, "alpha", "alpha"));
    assert_int_equal(json_array_size(json_object_get(s, "same_brand")), 1);
    assert_int_equal(test_int(position(s, "alpha"), "net"), -100);
    assert_int_equal(test_int(position(s, "beta"), "net"), 100);
    assert_string_equal(json_string_value(json_object_get(position(s, "alpha"), "role")), "donor");
    assert_string_equal(json_string_value(json_object_get(position(s, "gamma"), "role")), "even");
    assert_int_equal(json_array_size(json_object_get(s, "payments")), 1);
    assert_int_equal(test_int(s, "payments.0.amount"), 100);
    assert_balanced(s);
    /* the entry moved redeemed to settled; nothing is left to settle */
    assert_int_equal(
        test_sql_int(&env, "SELECT coalesce(sum(balance),0) FROM accounts WHERE account LIKE 'redeemed:%'"), 0);
    assert_int_equal(test_sql_int(&env, "SELECT balance FROM accounts WHERE account = 'settled:beta:alpha'"), 301);
    char target[96];
    snprintf(target, sizeof target, "/v1/admin/journal/%lld", (long long)test_int(s, "seq"));
    test_reply_t entry = op("GET", target, NULL);
    assert_string_equal(json_string_value(json_object_get(entry.json, "type")), "settlement");
    test_reply_free(&entry);
    /* the same report later, and as CSV */
    snprintf(target, sizeof target, "/v1/admin/settlements/%s", json_string_value(json_object_get(s, "id")));
    test_reply_t again = op("GET", target, NULL);
    assert_string_equal(again.body, reply.body);
    test_reply_free(&again);
    client_response_t csv;
    assert_int_equal(client_call_accept("127.0.0.1", env.port, env.operator_key.keyid, env.operator_key.signer, "GET",
                                        target, NULL, NULL, "text/csv", &csv),
                     0);
    assert_int_equal(csv.status, 200);
    assert_non_null(strstr(csv.body, "pair,beta,alpha,301,150,0,,,,,\r\n"));
    assert_non_null(strstr(csv.body, "payment,alpha,beta,,100,,,,,,\r\n"));
    client_response_free(&csv);
    /* statements: own lines only, signed */
    char statement_target[128];
    snprintf(statement_target, sizeof statement_target, "/v1/settlements/%s/statement",
             json_string_value(json_object_get(s, "id")));
    test_reply_t statement = test_call(&env, &brand[2], "GET", statement_target, NULL, NULL);
    assert_int_equal(statement.status, 200);
    assert_int_equal(json_array_size(json_object_get(json_object_get(statement.json, "statement"), "pairs")), 0);
    assert_int_equal(test_int(statement.json, "statement.position.net"), 0);
    test_reply_free(&statement);
    statement = test_call(&env, &brand[1], "GET", statement_target, NULL, NULL);
    assert_int_equal(json_array_size(json_object_get(json_object_get(statement.json, "statement"), "pairs")), 2);
    assert_non_null(json_object_get(statement.json, "signature"));
    test_reply_free(&statement);
    test_reply_free(&reply);
}

static void test_empty_period_and_refusals(void **state)
{
    (void)state;
    test_reply_t reply = settle("{}");
    assert_int_equal(reply.status, 201);
    json_t *s = json_object_get(reply.json, "settlement");
    assert_int_equal(json_array_size(json_object_get(s, "pairs")), 0);
    assert_int_equal(json_array_size(json_object_get(s, "payments")), 0);
    assert_balanced(s);
    char early[96], late[96];
    snprintf(early, sizeof early, "{\"period_end\":\"2000-01-01T00:00:00Z\"}");
    char future[21];
    ledger_time_format((int64_t)time(NULL) + 3600, future);
    snprintf(late, sizeof late, "{\"period_end\":\"%s\"}", future);
    test_reply_free(&reply);
    reply = op("POST", "/v1/admin/settlements", early);
    assert_int_equal(reply.status, 422);
    assert_string_equal(test_code(&reply), "period_end_before_previous");
    test_reply_free(&reply);
    reply = op("POST", "/v1/admin/settlements", late);
    assert_string_equal(test_code(&reply), "period_end_in_future");
    test_reply_free(&reply);
    reply = op("POST", "/v1/admin/settlements", "{\"fee_bp\":10001}");
    assert_string_equal(test_code(&reply), "invalid_field");
    test_reply_free(&reply);
    reply = test_call(&env, &brand[0], "POST", "/v1/admin/settlements", "{}", NULL);
    assert_int_equal(reply.status, 403);
    test_reply_free(&reply);
    reply = op("GET", "/v1/admin/settlements/stl-9999", NULL);
    assert_int_equal(reply.status, 404);
    test_reply_free(&reply);
}

static void test_reversal_across_periods_and_value_change(void **state)
{
    (void)state;
    value(1, 3);
    ok(move(2, "/v1/earn", "x-1", 100), 201);
    test_reply_t burn = move(3, "/v1/burn", "x-1", 9); /* 9 × 1/3 = 3 */
    assert_int_equal(burn.status, 201);
    char target[96];
    snprintf(target, sizeof target, "/v1/transactions/%s/reverse",
             json_string_value(json_object_get(json_object_get(burn.json, "transaction"), "id")));
    test_reply_free(&burn);
    test_reply_t reply = settle("{}");
    json_t *s = json_object_get(reply.json, "settlement");
    assert_int_equal(test_int(pair(s, "delta", "gamma"), "amount"), 3);
    test_reply_free(&reply);
    value(5, 1); /* a new value: the late reversal is still valued as its burn was */
    ok(test_call(&env, &brand[3], "POST", target, "{\"points\":3,\"reference\":\"late\"}", NULL), 201);
    reply = settle("{}");
    s = json_object_get(reply.json, "settlement");
    assert_int_equal(test_int(pair(s, "delta", "gamma"), "points"), -3);
    assert_int_equal(test_int(pair(s, "delta", "gamma"), "amount"), -1);
    assert_string_equal(json_string_value(json_object_get(position(s, "gamma"), "role")), "recipient");
    assert_balanced(s);
    test_reply_free(&reply);
    value(1, 2);
}

/* Independent recomputation ------------------------------------------------------------------ */
static int64_t half_even(__int128 n, __int128 d)
{
    int sign = n < 0 ? -1 : 1;
    __int128 a = n * sign, q = a / d, r = a % d;
    if (2 * r > d || (2 * r == d && q % 2 == 1)) q++;
    return (int64_t)(sign * q);
}

typedef struct {
    int64_t points;
    __int128 num, den; /* exact money */
} flow_sum_t;

static void flow_add(flow_sum_t *f, int64_t points, int64_t num, int64_t den)
{
    f->points += points;
    /* a/b + c/d with the test's own arithmetic: common denominator b*d, no reduction needed here */
    f->num = f->num * den + (__int128)points * num * f->den;
    f->den = f->den * den;
    __int128 a = f->num < 0 ? -f->num : f->num, b = f->den; /* keep numbers small */
    while (b) {
        __int128 t = a % b;
        a = b;
        b = t;
    }
    if (a > 1) f->num /= a, f->den /= a;
}

static int brand_index(const char *code)
{
    for (int i = 0; i < BRANDS; i++)
        if (strcmp(codes[i], code) == 0) return i;
    fail_msg("unknown brand %s", code);
    return -1;
}

/* Replays the journal up to cutoff and recomputes the period's pairs from entry texts alone. */
static void recompute(int64_t from_seq, int64_t cutoff_seq, flow_sum_t flows[BRANDS][BRANDS])
{
    PGconn *pg = PQconnectdb(env.db_url);
    PGresult *res = PQexec(pg, "SELECT text FROM journal ORDER BY seq");
    int64_t value_num = 0, value_den = 1;
    int64_t *burn_num = calloc(100000, sizeof *burn_num), *burn_den = calloc(100000, sizeof *burn_den);
    memset(flows, 0, sizeof(flow_sum_t) * BRANDS * BRANDS);
    for (int i = 0; i < BRANDS; i++)
        for (int j = 0; j < BRANDS; j++)
            flows[i][j].den = 1;
    for (int row = 0; row < PQntuples(res); row++) {
        json_t *entry = json_loads(PQgetvalue(res, row, 0), 0, NULL);
        int64_t seq = test_int(entry, "seq");
        const char *type = json_string_value(json_object_get(entry, "type"));
        if (strcmp(type, "point_value") == 0) {
            value_num = test_int(entry, "value_num");
            value_den = test_int(entry, "value_den");
        }
        if (strcmp(type, "burn") == 0) burn_num[seq] = value_num, burn_den[seq] = value_den;
        int in_period = seq >= from_seq && seq <= cutoff_seq;
        const char *partner = json_string_value(json_object_get(entry, "partner"));
        if (in_period && strcmp(type, "burn") == 0) {
            size_t i;
            json_t *c;
            json_array_foreach(json_object_get(entry, "consumed"), i, c)
                flow_add(&flows[brand_index(partner)][brand_index(json_string_value(json_object_get(c, "issuer")))],
                         test_int(c, "points"), value_num, value_den);
        }
        if (in_period && strcmp(type, "reversal") == 0 && json_object_get(entry, "restored")) {
            int64_t original = 0;
            assert_int_equal(journal_id_parse(json_string_value(json_object_get(entry, "original")), "tx", &original),
                             0);
            size_t i;
            json_t *r;
            json_array_foreach(json_object_get(entry, "restored"), i, r)
                flow_add(&flows[brand_index(partner)][brand_index(json_string_value(json_object_get(r, "issuer")))],
                         -test_int(r, "points"), burn_num[original], burn_den[original]);
        }
        json_decref(entry);
    }
    free(burn_num);
    free(burn_den);
    PQclear(res);
    PQfinish(pg);
}

static void assert_matches_recomputation(const json_t *s)
{
    flow_sum_t flows[BRANDS][BRANDS];
    int64_t fee_bp = test_int(s, "fee_bp"), net[BRANDS] = {0}, fees = 0;
    recompute(test_int(s, "from_seq"), test_int(s, "cutoff_seq"), flows);
    size_t expected_pairs = 0;
    for (int b = 0; b < BRANDS; b++)
        for (int i = 0; i < BRANDS; i++) {
            if (b == i || (flows[b][i].points == 0 && flows[b][i].num == 0)) continue;
            expected_pairs++;
            const json_t *line = pair(s, codes[b], codes[i]);
            assert_non_null(line);
            int64_t amount = half_even(flows[b][i].num, flows[b][i].den);
            int64_t fee = half_even((__int128)amount * fee_bp, 10000);
            assert_int_equal(test_int(line, "points"), flows[b][i].points);
            assert_int_equal(test_int(line, "amount"), amount);
            assert_int_equal(test_int(line, "fee"), fee);
            net[b] += amount;
            net[i] -= amount + fee;
            fees += fee;
        }
    assert_int_equal(json_array_size(json_object_get(s, "pairs")), expected_pairs);
    assert_true(expected_pairs >= 3); /* the traffic really crossed brands */
    for (int b = 0; b < BRANDS; b++)
        assert_int_equal(test_int(position(s, codes[b]), "net"), net[b]);
    if (fees != 0) assert_int_equal(test_int(position(s, "operator"), "net"), fees);
    assert_balanced(s);
}

static void random_traffic(unsigned seed, int operations)
{
    srand(seed);
    char burns[64][32];
    int burn_count = 0;
    for (int i = 0; i < operations; i++) {
        char member[16];
        snprintf(member, sizeof member, "r-%d", rand() % 6);
        int who = rand() % BRANDS, kind = rand() % 10;
        if (kind < 4) {
            ok(move(who, "/v1/earn", member, 1 + rand() % 200), 201);
        } else if (kind < 8) {
            test_reply_t reply = move(who, "/v1/burn", member, 1 + rand() % 90);
            assert_true(reply.status == 201 || reply.status == 422);
            if (reply.status == 201 && burn_count < 64)
                snprintf(burns[burn_count++], 32, "%s|%d",
                         json_string_value(json_object_get(json_object_get(reply.json, "transaction"), "id")), who);
            test_reply_free(&reply);
        } else if (burn_count > 0) {
            int pick = rand() % burn_count, owner = atoi(strchr(burns[pick], '|') + 1);
            char target[96], body[96];
            snprintf(target, sizeof target, "/v1/transactions/%.*s/reverse",
                     (int)(strchr(burns[pick], '|') - burns[pick]), burns[pick]);
            snprintf(body, sizeof body, "{\"points\":%d,\"reference\":\"rr-%u-%d\"}", 1 + rand() % 5, seed, i);
            test_reply_t reply = test_call(&env, &brand[owner], "POST", target, body, NULL);
            assert_true(reply.status == 201 || reply.status == 422);
            test_reply_free(&reply);
        }
    }
}

static void test_random_traffic_matches_independent_recomputation(void **state)
{
    (void)state;
    for (int period = 0; period < 3; period++) {
        random_traffic(100 + (unsigned)period, 120);
        if (period == 1) value(7, 3); /* a value change between periods */
        test_reply_t reply = settle(period == 2 ? "{\"fee_bp\":125}" : "{\"fee_bp\":37}");
        assert_int_equal(reply.status, 201);
        assert_matches_recomputation(json_object_get(reply.json, "settlement"));
        test_reply_free(&reply);
    }
    assert_true(test_sql_int(&env, "SELECT count(*) FROM reversal_portions") >= 5);
}

static volatile int traffic_running;

static void *background_burns(void *arg)
{
    (void)arg;
    int i = 0;
    while (traffic_running) {
        test_reply_t reply = move(i % BRANDS, "/v1/burn", "bg", 1);
        test_reply_free(&reply);
        i++;
    }
    return NULL;
}

static void test_traffic_during_settlement_counted_once(void **state)
{
    (void)state;
    ok(move(0, "/v1/earn", "bg", 100000), 201);
    pthread_t thread;
    traffic_running = 1;
    pthread_create(&thread, NULL, background_burns, NULL);
    for (int i = 0; i < 3; i++) {
        usleep(300000);
        test_reply_t reply = settle("{}");
        assert_int_equal(reply.status, 201);
        test_reply_free(&reply);
    }
    traffic_running = 0;
    pthread_join(thread, NULL);
    assert_true(test_sql_int(&env, "SELECT count(*) FROM transactions WHERE member = 'bg' AND type = 'burn'") > 50);
    /* every burned point is either settled once or still waiting in redeemed */
    int64_t activity = test_sql_int(&env, "SELECT (SELECT coalesce(sum(points),0) FROM burn_portions) - "
                                          "(SELECT coalesce(sum(points),0) FROM reversal_portions)");
    int64_t books = test_sql_int(&env, "SELECT coalesce(sum(balance),0) FROM accounts WHERE account LIKE 'redeemed:%' "
                                       "OR account LIKE 'settled:%'");
    assert_int_equal(books, activity);
    /* the periods chain: each starts right after the previous cutoff */
    assert_int_equal(
        test_sql_int(&env, "SELECT count(*) FROM settlements s WHERE from_seq <> coalesce("
                           "(SELECT cutoff_seq FROM settlements p WHERE p.id < s.id ORDER BY id DESC LIMIT 1), 0) + 1"),
        0);
    assert_int_equal(test_sql_int(&env, "SELECT coalesce(sum(balance),0) FROM accounts"), 0);
}

static void test_ledgerctl_settle(void **state)
{
    (void)state;
    char command[1024];
    snprintf(command, sizeof command,
             "LEDGER_DATABASE_URL='%s' LEDGER_KEY_FILE='%s' %s/ledgerctl settle --fee-bp 10 >/dev/null", env.db_url,
             env.key_file, getenv("TEST_BIN_DIR") ? getenv("TEST_BIN_DIR") : "bin");
    assert_int_equal(system(command), 0);
    assert_int_equal(test_sql_int(&env, "SELECT fee_bp FROM settlements ORDER BY id DESC LIMIT 1"), 10);
}

/* issue 18: the answers to a settlement and an expiry run are saved with them, in the transaction
 * that commits them. The database fails that save once (a trigger raising a serialization failure
 * on the idempotency row): no entry is written, the request is answered 503 database_busy, and
 * the retry with the same Idempotency-Key makes exactly one settlement (resumes and finishes its
 * one run) and a third call replays it byte for byte. Failed before the fix: the work committed in its own transaction, its
 * answer was not recorded (only logged), and the retry made a second settlement. */
static void test_answer_saved_with_the_run(void **state)
{
    (void)state;
    assert_int_equal(test_sql_exec(&env, "CREATE TABLE test_fail_once (key text PRIMARY KEY); "
                                         "INSERT INTO test_fail_once VALUES ('stl-once'), ('exp-once'); "
                                         "CREATE FUNCTION test_fail_once() RETURNS trigger LANGUAGE plpgsql AS $$ "
                                         "BEGIN IF EXISTS (SELECT 1 FROM test_fail_once WHERE key = NEW.key) THEN "
                                         "RAISE EXCEPTION 'test: refused' USING ERRCODE = '40001'; END IF; "
                                         "RETURN NEW; END $$; "
                                         "CREATE TRIGGER test_fail_once BEFORE INSERT ON idempotency "
                                         "FOR EACH ROW EXECUTE FUNCTION test_fail_once()"),
                     0);
    const char *keys[] = {"stl-once", "exp-once"}, *targets[] = {"/v1/admin/settlements", "/v1/admin/expiry-runs"};
    const char *tables[] = {"settlements", "expiry_runs"};
    for (int i = 0; i < 2; i++) {
        char count_sql[96], clear_sql[96];
        snprintf(count_sql, sizeof count_sql, "SELECT count(*) FROM %s", tables[i]);
        snprintf(clear_sql, sizeof clear_sql, "DELETE FROM test_fail_once WHERE key = '%s'", keys[i]);
        int64_t before = test_sql_int(&env, count_sql), seq = test_sql_int(&env, "SELECT max(seq) FROM journal");
        test_reply_t failed = test_call(&env, &env.operator_key, "POST", targets[i], "{}", keys[i]);
        int64_t after_failure = test_sql_int(&env, count_sql);
        int64_t seq_after_failure = test_sql_int(&env, "SELECT max(seq) FROM journal");
        assert_int_equal(test_sql_exec(&env, clear_sql), 0);
        test_reply_t retried = test_call(&env, &env.operator_key, "POST", targets[i], "{}", keys[i]);
        test_reply_t replayed = test_call(&env, &env.operator_key, "POST", targets[i], "{}", keys[i]);
        int64_t after = test_sql_int(&env, count_sql);
        if (failed.status != 503) fprintf(stderr, "%s: %d %s\n", targets[i], failed.status, failed.body);
        assert_int_equal(failed.status, 503);
        assert_string_equal(test_code(&failed), "database_busy");
        /* nothing of it written; an expiry run is recorded 'running' before its chunks, and the retry
         * resumes that same run (its own: started under this key) rather than starting another */
        assert_int_equal(after_failure, before + i);
        assert_int_equal(seq_after_failure, seq);
        assert_int_equal(retried.status, 201);
        assert_int_equal(after, before + 1); /* one settlement (one run), not two */
        assert_int_equal(replayed.status, 201);
        assert_string_equal(replayed.body, retried.body);
        test_reply_free(&failed);
        test_reply_free(&retried);
        test_reply_free(&replayed);
    }
    assert_int_equal(test_sql_exec(&env, "DROP TRIGGER test_fail_once ON idempotency; DROP FUNCTION test_fail_once(); "
                                         "DROP TABLE test_fail_once"),
                     0);
}

/* review13: an interrupted expiry run belongs to the request that started it, body included: the
 * same key with another body is a reused key (422), not the owner of that run; and when another
 * runner (another key, the scheduler, ledgerctl) finishes the run, the owner's retry gets that
 * run's answer rather than starting a second run. */
static void test_interrupted_run_owner(void **state)
{
    (void)state;
    assert_int_equal(test_sql_exec(&env, "CREATE TABLE test_fail_own (key text PRIMARY KEY); "
                                         "INSERT INTO test_fail_own VALUES ('exp-body'), ('exp-other'); "
                                         "CREATE FUNCTION test_fail_own() RETURNS trigger LANGUAGE plpgsql AS $$ "
                                         "BEGIN IF EXISTS (SELECT 1 FROM test_fail_own WHERE key = NEW.key) THEN "
                                         "RAISE EXCEPTION 'test: refused' USING ERRCODE = '40001'; END IF; "
                                         "RETURN NEW; END $$; "
                                         "CREATE TRIGGER test_fail_own BEFORE INSERT ON idempotency "
                                         "FOR EACH ROW EXECUTE FUNCTION test_fail_own()"),
                     0);
    char body[64], as_of[32];
    time_t t = (time_t)(test_sql_int(&env, "SELECT floor(extract(epoch from now()))::bigint") - 5);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(as_of, sizeof as_of, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(body, sizeof body, "{\"as_of\":\"%s\"}", as_of);
    /* 1. same key, another body */
    test_reply_t failed = test_call(&env, &env.operator_key, "POST", "/v1/admin/expiry-runs", body, "exp-body");
    assert_int_equal(failed.status, 503);
    assert_int_equal(test_sql_exec(&env, "DELETE FROM test_fail_own WHERE key = 'exp-body'"), 0);
    int64_t runs = test_sql_int(&env, "SELECT count(*) FROM expiry_runs");
    test_reply_t other = test_call(&env, &env.operator_key, "POST", "/v1/admin/expiry-runs", "{}", "exp-body");
    if (other.status != 422) fprintf(stderr, "same key, other body: %d %s\n", other.status, other.body);
    test_expect(other, 422, "idempotency_key_reused");
    test_reply_t own = test_call(&env, &env.operator_key, "POST", "/v1/admin/expiry-runs", body, "exp-body");
    assert_int_equal(own.status, 201);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM expiry_runs"), runs);
    test_reply_free(&failed);
    test_reply_free(&own);
    /* 2. the run finished by another request; the owner's retry answers with it */
    failed = test_call(&env, &env.operator_key, "POST", "/v1/admin/expiry-runs", body, "exp-other");
    assert_int_equal(failed.status, 503);
    assert_int_equal(test_sql_exec(&env, "DELETE FROM test_fail_own WHERE key = 'exp-other'"), 0);
    int64_t started = test_sql_int(&env, "SELECT max(id) FROM expiry_runs");
    test_reply_t by_other = test_call(&env, &env.operator_key, "POST", "/v1/admin/expiry-runs", "{}", "exp-other-2");
    assert_int_equal(by_other.status, 201);
    runs = test_sql_int(&env, "SELECT count(*) FROM expiry_runs");
    int64_t seq = test_sql_int(&env, "SELECT max(seq) FROM journal");
    test_reply_t retried = test_call(&env, &env.operator_key, "POST", "/v1/admin/expiry-runs", body, "exp-other");
    if (retried.status != 201) fprintf(stderr, "owner's retry: %d %s\n", retried.status, retried.body);
    assert_int_equal(retried.status, 201);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM expiry_runs"), runs); /* no second run */
    assert_int_equal(test_sql_int(&env, "SELECT max(seq) FROM journal"), seq);
    json_t *answer = json_loads(retried.body, 0, NULL);
    assert_non_null(answer);
    char started_id[LIMIT_ID_TEXT_BYTES];
    journal_id_format(started_id, sizeof started_id, "exp", started);
    assert_string_equal(json_string_value(json_object_get(json_object_get(answer, "run"), "id")), started_id);
    json_decref(answer);
    test_reply_free(&failed);
    test_reply_free(&by_other);
    test_reply_free(&retried);
    assert_int_equal(test_sql_exec(&env, "DROP TRIGGER test_fail_own ON idempotency; DROP FUNCTION test_fail_own(); "
                                         "DROP TABLE test_fail_own"),
                     0);
}

/* review13: one Idempotency-Key used by two run requests at once (a settlement, an expiry run):
 * the one that finishes second finds the key answered; it answers as the key's second use would
 * (422), with nothing of it written, never 500. */
typedef struct {
    const char *target, *key;
    client_response_t response;
    int sent;
} same_key_call_t;

static void *same_key_main(void *arg)
{
    same_key_call_t *call = arg;
    call->sent = client_call("127.0.0.1", env.port, env.operator_key.keyid, env.operator_key.signer, "POST",
                             call->target, "{}", call->key, &call->response);
    return NULL;
}

static void test_same_key_two_runs_at_once(void **state)
{
    (void)state;
    /* the expiry run's chunk sleeps after its journal entry, holding the journal head */
    assert_int_equal(test_sql_exec(&env, "CREATE FUNCTION test_slow() RETURNS trigger LANGUAGE plpgsql AS $$ "
                                         "BEGIN PERFORM pg_sleep(1.5); RETURN NEW; END $$; "
                                         "CREATE TRIGGER test_slow BEFORE UPDATE ON expiry_runs "
                                         "FOR EACH ROW WHEN (NEW.status = 'running') EXECUTE FUNCTION test_slow()"),
                     0);
    int64_t settlements = test_sql_int(&env, "SELECT count(*) FROM settlements");
    same_key_call_t expiry = {"/v1/admin/expiry-runs", "same-key-runs", {0}, -1};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, same_key_main, &expiry), 0);
    for (int i = 0; i < 200 && test_sql_int(&env, "SELECT count(*) FROM pg_stat_activity "
                                                   "WHERE wait_event = 'PgSleep' AND query LIKE '%expiry_runs%'") == 0;
         i++)
        usleep(20 * 1000);
    /* the settlement finds the key unused, then waits for the journal head the run holds */
    test_reply_t settle = test_call(&env, &env.operator_key, "POST", "/v1/admin/settlements", "{}", "same-key-runs");
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_int_equal(expiry.sent, 0);
    assert_int_equal(expiry.response.status, 201);
    if (settle.status != 422) fprintf(stderr, "settlement: %d %s\n", settle.status, settle.body);
    assert_int_equal(settle.status, 422);
    assert_string_equal(test_code(&settle), "idempotency_key_reused");
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM settlements"), settlements);
    client_response_free(&expiry.response);
    test_reply_free(&settle);
    assert_int_equal(test_sql_exec(&env, "DROP TRIGGER test_slow ON expiry_runs; DROP FUNCTION test_slow()"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pairs_positions_payments),
        cmocka_unit_test(test_empty_period_and_refusals),
        cmocka_unit_test(test_reversal_across_periods_and_value_change),
        cmocka_unit_test(test_random_traffic_matches_independent_recomputation),
        cmocka_unit_test(test_traffic_during_settlement_counted_once),
        cmocka_unit_test(test_ledgerctl_settle),
        cmocka_unit_test(test_answer_saved_with_the_run),
        cmocka_unit_test(test_interrupted_run_owner),
        cmocka_unit_test(test_same_key_two_runs_at_once),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

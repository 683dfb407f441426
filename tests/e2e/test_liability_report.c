/* End-to-end: the liability and breakage report (issue 19) against real traffic — the KPMG
 * IFRS 15 Example 10A numbers over two periods with operator rates (4,175 then 3,552), the
 * points invariant opening + issued − redeemed − expired ± reversals = closing = the issuer's
 * balance from postings up to cutoff_seq (computed here independently), expiry closing the
 * breakage with the history rate, the signature over the JCS text, CSV, roles and bad input;
 * the redemption-rate entries (POST, list, bad input) and, at teardown, ledger-verify accepting
 * an export that holds them. */
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

#include "buf.h"
#include "ledger.h"
#include "limits.h"

#include "client.h"
#include "crypto.h"
#include "json.h"
#include "support.h"

static test_env_t env;
static test_key_t alpha, beta, gamma_, auditor;
static int64_t t0, t1, t2; /* period boundaries (unix s) */

static int64_t db_now(void)
{
    return test_sql_int(&env, "SELECT floor(extract(epoch from clock_timestamp()))::bigint");
}

/* Waits until the database clock is past t: later entries have a later time. */
static void pass(int64_t t)
{
    while (db_now() <= t)
        usleep(100 * 1000);
}

static test_reply_t op(const char *method, const char *target, const char *body)
{
    return test_call(&env, &env.operator_key, method, target, body, NULL);
}

static json_t *move(const test_key_t *key, const char *path, const char *member, int points, const char *reference)
{
    test_reply_t reply = test_move(&env, key, path, member, points, reference);
    if (reply.status != 201) fprintf(stderr, "%s: %d %s\n", path, reply.status, reply.body);
    assert_int_equal(reply.status, 201);
    json_t *transaction = json_incref(json_object_get(reply.json, "transaction"));
    test_reply_free(&reply);
    return transaction;
}

static void rate(const char *issuer, int bp)
{
    char body[96];
    snprintf(body, sizeof body, "{\"issuer\":\"%s\",\"rate_bp\":%d}", issuer, bp);
    test_reply_t reply = op("POST", "/v1/admin/redemption-rates", body);
    assert_int_equal(reply.status, 201);
    assert_string_equal(json_string_value(json_object_get(json_object_get(reply.json, "redemption_rate"), "issuer")),
                        issuer);
    assert_int_equal(test_int(reply.json, "redemption_rate.rate_bp"), bp);
    test_reply_free(&reply);
}

static void reverse(const test_key_t *key, json_t *transaction, int points, const char *reference)
{
    char target[96], body[96];
    snprintf(target, sizeof target, "/v1/transactions/%s/reverse",
             json_string_value(json_object_get(transaction, "id")));
    snprintf(body, sizeof body, "{\"points\":%d,\"reference\":\"%s\"}", points, reference);
    test_expect(test_call(&env, key, "POST", target, body, NULL), 201, NULL);
    json_decref(transaction);
}

/* Two KPMG periods for alpha (10,000 points, value 9/10: 9,000 allocated), and gamma's points
 * (1 s validity) earned, redeemed, reversed both ways, settled and expired in the second. */
static int setup(void **state)
{
    (void)state;
    char body[256];
    test_env_start(&env, "e2e_liability_report");
    test_partner(&env, "alpha", 0, &alpha);
    test_partner(&env, "beta", 0, &beta);
    test_partner(&env, "gamma", 4, &gamma_); /* lots valid 4 s */
    test_key_new(&auditor, "auditor-1");
    snprintf(body, sizeof body, "{\"keyid\":\"auditor-1\",\"public_key\":\"%s\",\"role\":\"auditor\"}",
             auditor.public_b64);
    test_expect(op("POST", "/v1/admin/staff-keys", body), 201, NULL);
    test_expect(op("POST", "/v1/admin/point-values", "{\"value_num\":9,\"value_den\":10}"), 201, NULL);
    rate("alpha", 9700);
    t0 = db_now();
    pass(t0);
    json_decref(move(&alpha, "/v1/earn", "m-1", 6000, "a-e1"));
    json_decref(move(&alpha, "/v1/earn", "m-2", 4000, "a-e2"));
    json_decref(move(&beta, "/v1/burn", "m-1", 3000, "a-b1"));
    json_decref(move(&alpha, "/v1/burn", "m-2", 1500, "a-b2")); /* own redemption */
    t1 = db_now();
    pass(t1);
    rate("alpha", 9900); /* Year 3: 9,900 expected */
    json_decref(move(&beta, "/v1/burn", "m-1", 3000, "a-b3"));
    json_decref(move(&beta, "/v1/burn", "m-2", 1000, "a-b4"));
    int64_t gamma_start = db_now();
    json_t *earn = move(&gamma_, "/v1/earn", "g-1", 700, "g-e1");
    json_decref(earn);
    earn = move(&gamma_, "/v1/earn", "g-1", 300, "g-e2");
    json_t *burn = move(&beta, "/v1/burn", "g-1", 200, "g-b1"); /* from the 700 lot (older) */
    reverse(&beta, burn, 50, "g-r1");                          /* restored: 550 left in it */
    reverse(&gamma_, earn, 100, "g-r2");                        /* 200 left of the 300 lot */
    test_expect(op("POST", "/v1/admin/settlements", "{}"), 201, NULL);
    pass(gamma_start + 4); /* gamma's lots are past due */
    test_expect(op("POST", "/v1/admin/expiry-runs", "{}"), 201, NULL);
    t2 = db_now();
    pass(t2);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_env_stop(&env); /* ledger-verify accepts the export, redemption_rate entries included */
    test_key_free(&alpha);
    test_key_free(&beta);
    test_key_free(&gamma_);
    test_key_free(&auditor);
    return 0;
}

/* GET the report; checks the signature over the JCS text of "report"; the report (owned). */
static json_t *report(const test_key_t *key, const char *path, const char *issuer, int64_t from, int64_t to)
{
    char target[256];
    if (issuer)
        snprintf(target, sizeof target, "%s?issuer=%s&from=%lld&to=%lld", path, issuer, (long long)from,
                 (long long)to);
    else
        snprintf(target, sizeof target, "%s?from=%lld&to=%lld", path, (long long)from, (long long)to);
    test_reply_t reply = test_call(&env, key, "GET", target, NULL, NULL);
    if (reply.status != 200) fprintf(stderr, "%s: %d %s\n", target, reply.status, reply.body);
    assert_int_equal(reply.status, 200);
    crypto_signer_t *ledger = crypto_signer_load_file(env.key_file);
    uint8_t public_key[32], signature[64];
    size_t len = 0;
    crypto_signer_public_key(ledger, public_key);
    crypto_signer_free(ledger);
    const char *b64 = json_string_value(json_object_get(reply.json, "signature"));
    assert_int_equal(crypto_base64_decode(b64, strlen(b64), signature, 64, &len), 0);
    char *text = json_canonical(json_object_get(reply.json, "report"));
    assert_int_equal(crypto_ed25519_verify(public_key, text, strlen(text), signature), 1);
    free(text);
    json_t *out = json_incref(json_object_get(reply.json, "report"));
    test_reply_free(&reply);
    return out;
}

/* The issuer's outstanding points at seq from postings alone (spec 3), independently of the
 * service's queries: minus the sum of its issued, redeemed, settled and expired accounts. */
static int64_t ledger_balance(const char *issuer, int64_t seq)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT coalesce(-sum(amount), 0) FROM postings WHERE seq <= %lld AND (account = 'issued:%s' OR "
             "account = 'expired:%s' OR split_part(account, ':', 1) IN ('redeemed', 'settled') AND "
             "split_part(account, ':', 3) = '%s')",
             (long long)seq, issuer, issuer, issuer);
    return test_sql_int(&env, sql);
}

/* opening + issued − redeemed − expired + reversed = closing = the ledger at cutoff (and the
 * opening = the ledger at from_seq − 1). */
static void assert_invariant(const json_t *r, const char *issuer)
{
    const json_t *p = json_object_get(r, "points");
    int64_t closing = test_int(p, "opening") + test_int(p, "issued") - test_int(p, "redeemed") -
                      test_int(p, "expired") + test_int(p, "reversed");
    assert_int_equal(closing, test_int(p, "closing"));
    assert_int_equal(test_int(p, "closing"), ledger_balance(issuer, test_int(r, "cutoff_seq")));
    assert_int_equal(test_int(p, "opening"), ledger_balance(issuer, test_int(r, "from_seq") - 1));
    /* redeemed = own + Σ by other redeemers */
    int64_t by = test_int(p, "redeemed_own");
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(p, "redeemed_by"), i, row) by += test_int(row, "points");
    assert_int_equal(by, test_int(p, "redeemed"));
    /* cutoff_seq: the last seq committed at or before `to` */
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT coalesce(max(seq), 0) FROM journal WHERE time_s <= %lld",
             (long long)test_int(r, "to"));
    assert_int_equal(test_int(r, "cutoff_seq"), test_sql_int(&env, sql));
}

static const json_t *at(const json_t *r, const char *path)
{
    const json_t *value = r;
    char name[64];
    for (const char *part = path; *part;) {
        size_t len = strcspn(part, ".");
        snprintf(name, sizeof name, "%.*s", (int)len, part);
        value = json_object_get(value, name);
        part += len + (part[len] == '.');
    }
    return value;
}

static void expect(const json_t *r, const char *path, int64_t value)
{
    const json_t *found = at(r, path);
    if (!json_is_integer(found) || json_integer_value(found) != value)
        fprintf(stderr, "%s: expected %lld, report: %s\n", path, (long long)value, json_dumps(r, JSON_COMPACT));
    assert_true(json_is_integer(found));
    assert_int_equal(json_integer_value(found), value);
}

static void expect_text(const json_t *r, const char *path, const char *value)
{
    const char *found = json_string_value(at(r, path));
    assert_non_null(found);
    assert_string_equal(found, value);
}

static void test_kpmg_periods(void **state)
{
    (void)state;
    /* Year 2 of Example 10A: 4,500 of 10,000 points redeemed, 97% expected → 4,175 */
    json_t *r = report(&env.operator_key, "/v1/admin/liability-report", "alpha", t0, t1);
    expect_text(r, "issuer", "alpha");
    expect_text(r, "currency", "KZT");
    expect(r, "from", t0);
    expect(r, "to", t1);
    expect(r, "points.opening", 0);
    expect(r, "points.issued", 10000);
    expect(r, "points.redeemed", 4500);
    expect(r, "points.redeemed_own", 1500);
    assert_int_equal(json_array_size(at(r, "points.redeemed_by")), 1);
    expect_text(json_array_get(at(r, "points.redeemed_by"), 0), "redeemer", "beta");
    expect(json_array_get(at(r, "points.redeemed_by"), 0), "points", 3000);
    expect(r, "points.reversed", 0);
    expect(r, "points.expired", 0);
    expect(r, "points.closing", 5500);
    expect(r, "money.issued", 9000); /* at 9/10 */
    expect(r, "money.redeemed_own", 1350);
    expect(r, "money.closing", 4950);
    expect(json_array_get(at(r, "money.redeemed_by"), 0), "amount", 2700);
    expect(r, "rate.bp", 9700);
    expect_text(r, "rate.source", "operator");
    assert_true(json_is_integer(at(r, "rate.seq")));
    expect(r, "allocated", 9000);
    expect(r, "revenue.cumulative_before", 0);
    expect(r, "revenue.cumulative", 4175);
    expect(r, "revenue.period", 4175);
    expect(r, "revenue.from_redemptions", 4050);
    expect(r, "revenue.from_breakage", 125);
    expect(r, "deferred_revenue", 4825);
    assert_invariant(r, "alpha");
    json_decref(r);
    /* Year 3: 4,000 more, 99% expected → 3,552 (cumulative 7,727 − 4,175); the auditor may read it */
    r = report(&auditor, "/v1/admin/liability-report", "alpha", t1, t2);
    expect(r, "points.opening", 5500);
    expect(r, "points.issued", 0);
    expect(r, "points.redeemed", 4000);
    expect(r, "points.closing", 1500);
    expect(r, "rate.bp", 9900);
    expect(r, "rate_before.bp", 9700);
    expect(r, "revenue.cumulative_before", 4175);
    expect(r, "revenue.cumulative", 7727);
    expect(r, "revenue.period", 3552);
    expect(r, "revenue.from_redemptions", 3600);
    expect(r, "revenue.from_breakage", -48);
    expect(r, "deferred_revenue", 1273);
    assert_invariant(r, "alpha");
    json_decref(r);
    /* a closed period's report is a function of the journal: asked again, the same signed text */
    r = report(&env.operator_key, "/v1/admin/liability-report", "alpha", t1, t2);
    json_t *again = report(&env.operator_key, "/v1/admin/liability-report", "alpha", t1, t2);
    char *text = json_canonical(r), *text_again = json_canonical(again);
    assert_string_equal(text, text_again);
    free(text);
    free(text_again);
    json_decref(again);
    json_decref(r);
    /* the partner's own report is the same numbers */
    r = report(&alpha, "/v1/liability-report", NULL, t1, t2);
    expect_text(r, "issuer", "alpha");
    expect(r, "revenue.period", 3552);
    json_decref(r);
}

static void test_expiry_closes_breakage(void **state)
{
    (void)state;
    /* gamma: 1,000 earned, 200 redeemed at beta, 50 of them restored, 100 of an earn taken back,
     * the remaining 750 expired: nothing outstanding, all allocated is revenue */
    json_t *r = report(&env.operator_key, "/v1/admin/liability-report", "gamma", t1, t2);
    expect(r, "points.opening", 0);
    expect(r, "points.issued", 1000);
    expect(r, "points.redeemed", 200);
    expect(r, "points.reversed", -50);
    expect(r, "reversals.earn", 100);
    expect(r, "reversals.burn", 50);
    expect(r, "points.expired", 750);
    expect(r, "points.closing", 0);
    expect(r, "allocated", 810); /* (1,000 − 100) × 9/10 */
    /* no operator rate: the closed lots' history, 150 ÷ (150 + 750) = 16.67% */
    expect(r, "rate.bp", 1667);
    expect_text(r, "rate.source", "history");
    assert_true(json_is_null(at(r, "rate.seq")));
    expect_text(r, "rate_before.source", "none");
    expect(r, "rate_before.bp", 10000);
    expect(r, "revenue.cumulative", 810);
    expect(r, "revenue.period", 810);
    expect(r, "revenue.from_redemptions", 135); /* 150 net × 810 / 900 */
    expect(r, "revenue.from_breakage", 675);
    expect(r, "deferred_revenue", 0);
    assert_invariant(r, "gamma");
    json_decref(r);
    /* an issuer with nothing issued: zeros, rate "none" */
    r = report(&env.operator_key, "/v1/admin/liability-report", "beta", t0, t2);
    expect(r, "points.closing", 0);
    expect(r, "allocated", 0);
    expect(r, "revenue.cumulative", 0);
    expect_text(r, "rate.source", "none");
    assert_invariant(r, "beta");
    json_decref(r);
    /* the whole span at once: alpha's cumulative and its opening of 0 */
    r = report(&env.operator_key, "/v1/admin/liability-report", "alpha", t0 - 3600, t2);
    expect(r, "revenue.cumulative_before", 0);
    expect(r, "revenue.cumulative", 7727);
    assert_invariant(r, "alpha");
    json_decref(r);
}

static void test_csv(void **state)
{
    (void)state;
    char target[160];
    client_response_t csv;
    snprintf(target, sizeof target, "/v1/admin/liability-report?issuer=alpha&from=%lld&to=%lld", (long long)t1,
             (long long)t2);
    assert_int_equal(client_call_accept("127.0.0.1", env.port, env.operator_key.keyid, env.operator_key.signer, "GET",
                                        target, NULL, NULL, "text/csv", &csv),
                     0);
    assert_int_equal(csv.status, 200);
    assert_non_null(strstr(csv.content_type, "text/csv"));
    assert_true(strncmp(csv.body, "line,value\r\n", 12) == 0);
    assert_non_null(strstr(csv.body, "\r\nrevenue.period,3552\r\n"));
    assert_non_null(strstr(csv.body, "\r\npoints.redeemed_by.beta,4000\r\n"));
    assert_non_null(strstr(csv.body, "\r\nmoney.closing,1350\r\n"));
    assert_non_null(strstr(csv.body, "\r\ndeferred_revenue,1273\r\n"));
    assert_non_null(strstr(csv.body, "\r\nrate.source,operator\r\n"));
    assert_non_null(strstr(csv.body, "\r\nsignature,"));
    client_response_free(&csv);
}

static void refused(const test_key_t *key, const char *target, int status, const char *code, const char *field)
{
    test_reply_t reply = test_call(&env, key, "GET", target, NULL, NULL);
    if (reply.status != status) fprintf(stderr, "%s: %d %s\n", target, reply.status, reply.body);
    assert_int_equal(reply.status, status);
    assert_string_equal(test_code(&reply), code);
    if (field) assert_string_equal(json_string_value(json_object_get(reply.json, "field")), field);
    test_reply_free(&reply);
}

static void test_roles_and_bad_input(void **state)
{
    (void)state;
    char target[192];
    const char *admin = "/v1/admin/liability-report";
    snprintf(target, sizeof target, "%s?from=%lld&to=%lld", admin, (long long)t0, (long long)t1);
    refused(&env.operator_key, target, 400, "invalid_field", "issuer");
    refused(&alpha, target, 403, "forbidden", NULL); /* partners: their own route only */
    snprintf(target, sizeof target, "%s?issuer=Alpha!&from=%lld&to=%lld", admin, (long long)t0, (long long)t1);
    refused(&env.operator_key, target, 400, "invalid_field", "issuer");
    snprintf(target, sizeof target, "%s?issuer=alpha&issuer=beta&from=1&to=2", admin);
    refused(&env.operator_key, target, 400, "invalid_field", "issuer");
    snprintf(target, sizeof target, "%s?issuer=alpha&to=%lld", admin, (long long)t1);
    refused(&env.operator_key, target, 400, "invalid_field", "from");
    snprintf(target, sizeof target, "%s?issuer=alpha&from=-1&to=%lld", admin, (long long)t1);
    refused(&env.operator_key, target, 400, "invalid_field", "from");
    snprintf(target, sizeof target, "%s?issuer=alpha&from=%lld&to=%lld", admin, (long long)t1, (long long)t1);
    refused(&env.operator_key, target, 400, "invalid_field", "to");
    snprintf(target, sizeof target, "%s?issuer=alpha&from=%lld&to=99999999999999999999", admin, (long long)t1);
    refused(&env.operator_key, target, 400, "invalid_field", "to");
    snprintf(target, sizeof target, "%s?issuer=alpha&from=%lld&to=%lld", admin, (long long)t1,
             (long long)db_now() + 3600);
    refused(&auditor, target, 422, "to_in_future", NULL);
    snprintf(target, sizeof target, "%s?issuer=zeta&from=%lld&to=%lld", admin, (long long)t0, (long long)t1);
    refused(&env.operator_key, target, 404, "unknown_partner", NULL);
    /* a partner reads its own issuer only */
    snprintf(target, sizeof target, "/v1/liability-report?issuer=beta&from=%lld&to=%lld", (long long)t0,
             (long long)t1);
    refused(&alpha, target, 403, "forbidden", NULL);
    snprintf(target, sizeof target, "/v1/liability-report?from=%lld&to=%lld", (long long)t0, (long long)t1);
    refused(&env.operator_key, target, 403, "forbidden", NULL);
    json_t *r = report(&beta, "/v1/liability-report", "beta", t0, t1);
    expect_text(r, "issuer", "beta");
    json_decref(r);
}

static void test_redemption_rates(void **state)
{
    (void)state;
    test_expect(op("POST", "/v1/admin/redemption-rates", "{\"issuer\":\"beta\",\"rate_bp\":10001}"), 400,
                "invalid_field");
    test_expect(op("POST", "/v1/admin/redemption-rates", "{\"issuer\":\"beta\",\"rate_bp\":-1}"), 400,
                "invalid_field");
    test_expect(op("POST", "/v1/admin/redemption-rates", "{\"issuer\":\"beta\",\"rate_bp\":\"9000\"}"), 400,
                "invalid_field");
    test_expect(op("POST", "/v1/admin/redemption-rates", "{\"issuer\":\"beta\"}"), 400, "invalid_field");
    test_expect(op("POST", "/v1/admin/redemption-rates", "{\"issuer\":\"beta\",\"rate_bp\":1,\"x\":1}"), 400,
                "invalid_field");
    test_expect(op("POST", "/v1/admin/redemption-rates", "{\"issuer\":\"zeta\",\"rate_bp\":9000}"), 404,
                "unknown_partner");
    test_expect(test_call(&env, &auditor, "POST", "/v1/admin/redemption-rates", "{\"issuer\":\"beta\",\"rate_bp\":1}",
                          NULL),
                403, "forbidden");
    test_expect(test_call(&env, &beta, "POST", "/v1/admin/redemption-rates", "{\"issuer\":\"beta\",\"rate_bp\":1}",
                          NULL),
                403, "forbidden");
    /* a retry with the same Idempotency-Key replays the first answer (one entry); another body is refused */
    test_reply_t first = test_call(&env, &env.operator_key, "POST", "/v1/admin/redemption-rates",
                                   "{\"issuer\":\"beta\",\"rate_bp\":0}", "rate-key-1");
    test_reply_t again = test_call(&env, &env.operator_key, "POST", "/v1/admin/redemption-rates",
                                   "{\"issuer\":\"beta\",\"rate_bp\":0}", "rate-key-1");
    assert_int_equal(first.status, 201);
    assert_int_equal(again.status, 201);
    assert_string_equal(first.body, again.body);
    test_reply_free(&first);
    test_reply_free(&again);
    test_expect(test_call(&env, &env.operator_key, "POST", "/v1/admin/redemption-rates",
                          "{\"issuer\":\"beta\",\"rate_bp\":1}", "rate-key-1"),
                422, "idempotency_key_reused");
    rate("beta", 10000);
    /* versions newest first, paginated, filtered by issuer */
    test_reply_t page = test_call(&env, &auditor, "GET", "/v1/admin/redemption-rates?issuer=beta&limit=1", NULL, NULL);
    assert_int_equal(page.status, 200);
    json_t *rates = json_object_get(page.json, "redemption_rates");
    assert_int_equal(json_array_size(rates), 1);
    assert_int_equal(test_int(json_array_get(rates, 0), "rate_bp"), 10000);
    char target[128];
    snprintf(target, sizeof target, "/v1/admin/redemption-rates?issuer=beta&limit=1&after=%s",
             json_string_value(json_object_get(page.json, "next")));
    test_reply_free(&page);
    page = test_call(&env, &auditor, "GET", target, NULL, NULL);
    rates = json_object_get(page.json, "redemption_rates");
    assert_int_equal(test_int(json_array_get(rates, 0), "rate_bp"), 0);
    test_reply_free(&page);
    page = test_call(&env, &env.operator_key, "GET", "/v1/admin/redemption-rates", NULL, NULL);
    assert_int_equal(json_array_size(json_object_get(page.json, "redemption_rates")), 4); /* alpha 2, beta 2 */
    assert_true(json_is_null(json_object_get(page.json, "next")));
    test_reply_free(&page);
    refused(&env.operator_key, "/v1/admin/redemption-rates?issuer=B", 400, "invalid_field", "issuer");
    refused(&env.operator_key, "/v1/admin/redemption-rates?after=x", 400, "invalid_field", "after");
    /* the entry is in the journal as a signed operator entry */
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM journal WHERE type = 'redemption_rate'"), 4);
}

/* Runs command, returns its stdout (owned) and exit status. */
static char *run(const char *command, int *status)
{
    FILE *pipe = popen(command, "r");
    assert_non_null(pipe);
    buf_t out = BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, pipe)) > 0)
        buf_append(&out, chunk, n);
    int raw = pclose(pipe);
    *status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    buf_append(&out, "", 1);
    return buf_take(&out);
}

static void test_ledgerctl_report(void **state)
{
    (void)state;
    char ctl[256], key_file[300], command[2048], body[256], from[LIMIT_TIME_TEXT_BYTES];
    int status = 0;
    test_binary(ctl, sizeof ctl, "ledgerctl");
    snprintf(key_file, sizeof key_file, "%s/report-auditor-%d.pem", getenv("TEST_LOG_DIR") ? getenv("TEST_LOG_DIR") : "/tmp",
             (int)getpid());
    unlink(key_file);
    snprintf(command, sizeof command, "%s keygen --out %s >/dev/null && %s pubkey --key-file %s", ctl, key_file, ctl,
             key_file);
    char *public_key = run(command, &status);
    assert_int_equal(status, 0);
    public_key[strcspn(public_key, "\n")] = '\0';
    snprintf(body, sizeof body, "{\"keyid\":\"auditor-ctl\",\"public_key\":\"%s\",\"role\":\"auditor\"}",
             public_key);
    free(public_key);
    test_expect(op("POST", "/v1/admin/staff-keys", body), 201, NULL);
    /* JSON, with --from as RFC 3339 and --to as unix seconds */
    ledger_time_format(t1, from);
    snprintf(command, sizeof command,
             "%s report liability --issuer alpha --from %s --to %lld --url http://127.0.0.1:%u --key-id auditor-ctl "
             "--key-file %s",
             ctl, from, (long long)t2, env.port, key_file);
    char *out = run(command, &status);
    assert_int_equal(status, 0);
    json_t *reply = json_loads(out, 0, NULL);
    assert_non_null(reply);
    expect(json_object_get(reply, "report"), "revenue.period", 3552);
    assert_non_null(json_object_get(reply, "signature"));
    json_decref(reply);
    free(out);
    /* CSV */
    snprintf(command, sizeof command,
             "%s report liability --issuer alpha --from %lld --to %lld --csv --url http://127.0.0.1:%u "
             "--key-id auditor-ctl --key-file %s",
             ctl, (long long)t1, (long long)t2, env.port, key_file);
    out = run(command, &status);
    assert_int_equal(status, 0);
    assert_non_null(strstr(out, "revenue.cumulative,7727\r\n"));
    free(out);
    /* a refusal exits 1 with the problem printed; bad usage exits 2 */
    snprintf(command, sizeof command,
             "%s report liability --issuer zeta --from %lld --to %lld --url http://127.0.0.1:%u --key-id auditor-ctl "
             "--key-file %s 2>/dev/null",
             ctl, (long long)t1, (long long)t2, env.port, key_file);
    out = run(command, &status);
    assert_int_equal(status, 1);
    assert_non_null(strstr(out, "unknown_partner"));
    free(out);
    snprintf(command, sizeof command, "%s report liability --issuer alpha --from x --to 1 2>/dev/null", ctl);
    free(run(command, &status));
    assert_int_equal(status, 2);
    unlink(key_file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kpmg_periods),     cmocka_unit_test(test_expiry_closes_breakage),
        cmocka_unit_test(test_csv),              cmocka_unit_test(test_roles_and_bad_input),
        cmocka_unit_test(test_redemption_rates), cmocka_unit_test(test_ledgerctl_report),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* End-to-end: the partner event feed GET /v1/events (issue 20 item 3) — three brands earning and
 * burning across each other, a hold captured and one voided, a burn reversal, an expiry run and a
 * settlement; each brand sees exactly its own entries and what touched its lots, never another
 * brand's own entries or members; pages of any size resume exactly from `next`; bad cursors and
 * limits are refused naming the field; staff keys are refused. */
#include <setjmp.h>
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

#include "json.h"
#include "support.h"

static test_env_t env;
static test_key_t alpha, beta, gamma_key; /* gamma: lots valid 1 s, for the expiry run */
static test_key_t month, week;            /* lots valid 20 and 5 days: inside the 30 (and 7) day thresholds */

static int setup(void **state)
{
    (void)state;
    test_env_start(&env, "e2e_events");
    test_partner(&env, "alpha", 0, &alpha);
    test_partner(&env, "beta", 0, &beta);
    test_partner(&env, "gamma", 1, &gamma_key);
    test_partner(&env, "month", 20 * 86400, &month);
    test_partner(&env, "week", 5 * 86400, &week);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_env_stop(&env);
    test_key_free(&alpha);
    test_key_free(&beta);
    test_key_free(&gamma_key);
    test_key_free(&month);
    test_key_free(&week);
    return 0;
}

/* The whole feed of key, followed page by page with limit (0: the default), as one array. */
static json_t *feed(const test_key_t *key, int limit)
{
    json_t *all = json_array();
    char after[32] = "0", target[96];
    for (int pages = 0; pages < 100; pages++) {
        if (limit > 0)
            snprintf(target, sizeof target, "/v1/events?after=%s&limit=%d", after, limit);
        else
            snprintf(target, sizeof target, "/v1/events?after=%s", after);
        test_reply_t reply = test_call(&env, key, "GET", target, NULL, NULL);
        assert_int_equal(reply.status, 200);
        json_t *events = json_object_get(reply.json, "events");
        assert_true(json_is_array(events));
        if (limit > 0) assert_true(json_array_size(events) <= (size_t)limit);
        json_array_extend(all, events);
        json_t *next = json_object_get(reply.json, "next");
        if (json_is_null(next)) {
            test_reply_free(&reply);
            return all;
        }
        snprintf(after, sizeof after, "%s", json_string_value(next));
        test_reply_free(&reply);
    }
    fail_msg("the feed did not end");
    return NULL;
}

static void assert_types(const json_t *events, const char *const *types, size_t count)
{
    size_t i;
    json_t *event;
    json_int_t last_seq = 0;
    for (i = 0; json_array_size(events) != count && i < json_array_size(events); i++)
        fprintf(stderr, "  %s\n", json_string_value(json_object_get(json_array_get(events, i), "type")));
    assert_int_equal(json_array_size(events), count);
    json_array_foreach(events, i, event)
    {
        assert_string_equal(json_string_value(json_object_get(event, "type")), types[i]);
        json_int_t seq = json_integer_value(json_object_get(event, "seq"));
        assert_true(seq > last_seq); /* seq order, each entry once */
        char id[32];
        snprintf(id, sizeof id, "evt-%lld", (long long)seq);
        assert_string_equal(json_string_value(json_object_get(event, "id")), id);
        last_seq = seq;
    }
}

static json_t *nth(const json_t *events, size_t i)
{
    return json_object_get(json_array_get(events, i), "data");
}

static const char *tx_id(const test_reply_t *reply)
{
    return json_string_value(json_object_get(json_object_get(reply->json, "transaction"), "id"));
}

static void post_ok(const test_key_t *key, const char *target, const char *body, int status)
{
    test_reply_t reply = test_call(&env, key, "POST", target, body, NULL);
    assert_int_equal(reply.status, status);
    test_reply_free(&reply);
}

static void test_feed_across_brands(void **state)
{
    (void)state;
    char target[128];
    post_ok(&env.operator_key, "/v1/admin/point-values", "{\"value_num\":1,\"value_den\":1}", 201);
    test_expect(test_move(&env, &alpha, "/v1/earn", "m1", 100, "alpha-e1"), 201, NULL);
    test_expect(test_move(&env, &beta, "/v1/earn", "m1", 50, "beta-e1"), 201, NULL);
    /* FIFO: alpha's lot expires first: 100 of alpha's, 20 of beta's */
    test_reply_t burn = test_move(&env, &beta, "/v1/burn", "m1", 120, "beta-b1");
    assert_int_equal(burn.status, 201);
    /* a hold captured (beta's own lot only is left), and one voided */
    test_reply_t hold = test_move(&env, &beta, "/v1/holds", "m1", 10, "beta-h1");
    assert_int_equal(hold.status, 201);
    snprintf(target, sizeof target, "/v1/holds/%s/capture",
             json_string_value(json_object_get(json_object_get(hold.json, "hold"), "id")));
    post_ok(&beta, target, "{}", 201);
    test_reply_free(&hold);
    hold = test_move(&env, &beta, "/v1/holds", "m1", 5, "beta-h2");
    snprintf(target, sizeof target, "/v1/holds/%s/void",
             json_string_value(json_object_get(json_object_get(hold.json, "hold"), "id")));
    post_ok(&beta, target, "{}", 200);
    test_reply_free(&hold);
    /* the reversal restores the last consumed first: beta's 20, then 10 of alpha's */
    snprintf(target, sizeof target, "/v1/transactions/%s/reverse", tx_id(&burn));
    post_ok(&beta, target, "{\"points\":30,\"reference\":\"beta-r1\"}", 201);
    /* gamma's lot expires after a second; the expiry run books it */
    test_expect(test_move(&env, &gamma_key, "/v1/earn", "m2", 5, "gamma-e1"), 201, NULL);
    double until = test_now_s() + 5;
    while (test_sql_int(&env, "SELECT count(*) FROM lots WHERE expires_s < extract(epoch FROM now())") == 0 &&
           test_now_s() < until)
        usleep(50 * 1000);
    post_ok(&env.operator_key, "/v1/admin/expiry-runs", "{}", 201);
    post_ok(&env.operator_key, "/v1/admin/settlements", "{\"fee_bp\":100}", 201); /* an operator fee line too */

    json_t *a = feed(&alpha, 0), *b = feed(&beta, 0), *g = feed(&gamma_key, 0);
    static const char *const alpha_types[] = {"earn.created", "points.redeemed", "points.reversed",
                                              "settlement.completed"};
    static const char *const beta_types[] = {"earn.created",  "burn.created", "hold.created",
                                             "burn.created",  "hold.created", "hold.voided",
                                             "reversal.created", "settlement.completed"};
    static const char *const gamma_types[] = {"earn.created", "points.expired", "settlement.completed"};
    assert_types(a, alpha_types, 4);
    assert_types(b, beta_types, 8);
    assert_types(g, gamma_types, 3);
    /* alpha's view of beta's burn: its own 100 points, the member reference, beta as redeemer */
    assert_int_equal(test_int(nth(a, 1), "points"), 100);
    assert_string_equal(json_string_value(json_object_get(nth(a, 1), "redeemer")), "beta");
    assert_string_equal(json_string_value(json_object_get(nth(a, 1), "member")), "m1");
    assert_string_equal(json_string_value(json_object_get(nth(a, 1), "transaction")), tx_id(&burn));
    assert_int_equal(test_int(nth(a, 2), "points"), 10);
    assert_string_equal(json_string_value(json_object_get(nth(a, 2), "original")), tx_id(&burn));
    assert_string_equal(json_string_value(json_object_get(json_object_get(nth(a, 3), "position"), "partner")),
                        "alpha");
    assert_int_equal(test_int(nth(a, 3), "position.net"), -91); /* 100 redeemed at beta, 10 reversed, 1% fee */
    assert_int_equal(test_int(nth(g, 1), "points"), 5);
    /* beta's own burn: the transaction view GET /v1/transactions/{id} gives */
    assert_string_equal(json_string_value(json_object_get(json_object_get(nth(b, 1), "transaction"), "id")),
                        tx_id(&burn));
    /* nothing of another brand's own entries or members */
    char *text = json_dumps(a, JSON_COMPACT);
    assert_null(strstr(text, "beta-"));  /* beta's references */
    assert_null(strstr(text, "gamma"));  /* gamma's brand, */
    assert_null(strstr(text, "\"m2\"")); /* member, */
    assert_null(strstr(text, "request"));
    assert_null(strstr(text, "\"issuer\":\"beta\"")); /* beta's share of its own burn */
    free(text);
    text = json_dumps(g, JSON_COMPACT);
    assert_null(strstr(text, "m1"));
    assert_null(strstr(text, "alpha"));
    free(text);
    /* any page size resumes exactly */
    for (int limit = 1; limit <= 4; limit++) {
        json_t *paged = feed(&beta, limit);
        assert_true(json_equal(paged, b));
        json_decref(paged);
    }
    /* resume from the middle: exactly the events after that seq */
    snprintf(target, sizeof target, "/v1/events?after=%lld",
             (long long)json_integer_value(json_object_get(json_array_get(b, 4), "seq")));
    test_reply_t rest = test_call(&env, &beta, "GET", target, NULL, NULL);
    assert_int_equal(rest.status, 200);
    assert_int_equal(json_array_size(json_object_get(rest.json, "events")), 3);
    assert_true(json_equal(json_array_get(json_object_get(rest.json, "events"), 0), json_array_get(b, 5)));
    assert_true(json_is_null(json_object_get(rest.json, "next")));
    test_reply_free(&rest);
    /* the absent cursor is the start */
    rest = test_call(&env, &alpha, "GET", "/v1/events", NULL, NULL);
    assert_true(json_equal(json_object_get(rest.json, "events"), a));
    test_reply_free(&rest);
    test_reply_free(&burn);
    json_decref(a);
    json_decref(b);
    json_decref(g);
}

/* Runs bin/ledgerctl with args against env's database; its stdout into out. Returns the exit status. */
static int ledgerctl(const char *const *args, char *out, size_t out_max)
{
    int pipe_fds[2];
    assert_int_equal(pipe(pipe_fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char *argv[8] = {"ledgerctl"};
        for (int i = 0; args[i] != NULL && i < 6; i++)
            argv[i + 1] = (char *)args[i];
        setenv("LEDGER_DATABASE_URL", env.db_url, 1);
        setenv("LEDGER_KEY_FILE", env.key_file, 1);
        dup2(pipe_fds[1], 1);
        close(pipe_fds[0]);
        char binary[256];
        test_binary(binary, sizeof binary, "ledgerctl");
        execv(binary, argv);
        _exit(127);
    }
    close(pipe_fds[1]);
    size_t len = 0;
    ssize_t got;
    while (len + 1 < out_max && (got = read(pipe_fds[0], out + len, out_max - 1 - len)) > 0)
        len += (size_t)got;
    out[len] = '\0';
    close(pipe_fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The events of type in key's whole feed. */
static json_t *of_type(const test_key_t *key, const char *type)
{
    json_t *all = feed(key, 0), *found = json_array();
    size_t i;
    json_t *event;
    json_array_foreach(all, i, event)
    {
        if (strcmp(json_string_value(json_object_get(event, "type")), type) == 0) json_array_append(found, event);
    }
    json_decref(all);
    return found;
}

/* points.expiring: each lot once per threshold it entered (default 30 and 7 days), only to its
 * issuer, never again on a second run; a lot outside every threshold is not announced. */
static void test_expiring_notices(void **state)
{
    (void)state;
    char out[256];
    test_expect(test_move(&env, &month, "/v1/earn", "m3", 40, "month-e1"), 201, NULL);
    test_expect(test_move(&env, &week, "/v1/earn", "m3", 15, "week-e1"), 201, NULL);
    test_expect(test_move(&env, &alpha, "/v1/earn", "m3", 10, "alpha-e9"), 201, NULL);
    assert_int_equal(ledgerctl((const char *const[]){"expiry-notices", NULL}, out, sizeof out), 0);
    assert_string_equal(out, "{\"entries\":1,\"lines\":3}\n");
    assert_int_equal(ledgerctl((const char *const[]){"expiry-notices", NULL}, out, sizeof out), 0);
    assert_string_equal(out, "{\"entries\":0,\"lines\":0}\n"); /* once per lot and threshold */
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM journal WHERE type = 'expiry_notice'"), 1);

    json_t *m = of_type(&month, "points.expiring"), *w = of_type(&week, "points.expiring");
    assert_int_equal(json_array_size(m), 1);
    json_t *lots = json_object_get(json_object_get(json_array_get(m, 0), "data"), "lots");
    assert_int_equal(json_array_size(lots), 1);
    assert_int_equal(test_int(json_array_get(lots, 0), "threshold_days"), 30);
    assert_int_equal(test_int(json_array_get(lots, 0), "points"), 40);
    assert_string_equal(json_string_value(json_object_get(json_array_get(lots, 0), "member")), "m3");
    assert_int_equal(json_array_size(w), 1);
    lots = json_object_get(json_object_get(json_array_get(w, 0), "data"), "lots");
    assert_int_equal(json_array_size(lots), 2); /* 5 days out: inside both thresholds */
    assert_int_equal(test_int(json_array_get(lots, 0), "threshold_days"), 30);
    assert_int_equal(test_int(json_array_get(lots, 1), "threshold_days"), 7);
    char *text = json_dumps(w, JSON_COMPACT);
    assert_null(strstr(text, "month")); /* the month brand's line is not the week brand's business */
    free(text);
    json_t *a = of_type(&alpha, "points.expiring");
    assert_int_equal(json_array_size(a), 0); /* 180 days out */
    json_decref(a);
    json_decref(m);
    json_decref(w);
    /* the scheduler runs the same job: a second ledgerd would find nothing left either */
    assert_int_equal(test_journal_verifies(&env), 0);
}

/* Migration 0011 indexes the entries written before it with the feed's rule in SQL: run on
 * this journal, its SELECT must give exactly the rows the write path wrote (core/events.c). */
static void test_migration_backfill_agrees(void **state)
{
    (void)state;
    FILE *file = fopen("migrations/0011_partner_events.sql", "r");
    assert_non_null(file);
    static char text[16384], sql[20000];
    size_t len = fread(text, 1, sizeof text - 1, file);
    fclose(file);
    text[len] = '\0';
    const char *marker = "INSERT INTO partner_events (partner, seq)\n";
    char *select = strstr(text, marker), *end = NULL;
    assert_non_null(select);
    select += strlen(marker);
    end = strchr(select, ';');
    assert_non_null(end);
    *end = '\0';
    const char *written = "SELECT e.partner, e.seq FROM partner_events e JOIN journal j ON j.seq = e.seq "
                          "WHERE j.type <> 'expiry_notice'";
    assert_true(test_sql_int(&env, "SELECT count(*) FROM partner_events") > 20);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM ((%s) EXCEPT (%s)) x", select, written);
    assert_int_equal(test_sql_int(&env, sql), 0);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM ((%s) EXCEPT (%s)) x", written, select);
    assert_int_equal(test_sql_int(&env, sql), 0);
}

static void test_bad_input(void **state)
{
    (void)state;
    static const struct {
        const char *target, *field;
    } bad[] = {
        {"/v1/events?after=-1", "after"},   {"/v1/events?after=abc", "after"},
        {"/v1/events?after=1.5", "after"},  {"/v1/events?after=", "after"},
        {"/v1/events?after=99999999999999999999", "after"},
        {"/v1/events?limit=0", "limit"},    {"/v1/events?limit=201", "limit"},
        {"/v1/events?limit=x", "limit"},    {"/v1/events?after=1&limit=-3", "limit"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        test_reply_t reply = test_call(&env, &alpha, "GET", bad[i].target, NULL, NULL);
        assert_int_equal(reply.status, 400);
        assert_string_equal(test_code(&reply), "invalid_field");
        assert_string_equal(json_string_value(json_object_get(reply.json, "field")), bad[i].field);
        test_reply_free(&reply);
    }
    /* a cursor beyond the journal is an empty page, not an error: the consumer is up to date */
    test_reply_t reply = test_call(&env, &alpha, "GET", "/v1/events?after=9223372036854775807", NULL, NULL);
    assert_int_equal(reply.status, 200);
    assert_int_equal(json_array_size(json_object_get(reply.json, "events")), 0);
    test_reply_free(&reply);
    /* the feed is a partner's: staff keys are refused (decision 146) */
    test_expect(test_call(&env, &env.operator_key, "GET", "/v1/events", NULL, NULL), 403, NULL);
}

/* ledger-verify checks each notice line against its replay: the same (lot, threshold) announced
 * again by an entry appended by hand (triggers keep the journal's chain and leaves) is named. */
static void test_verifier_refuses_a_repeated_notice(void **state)
{
    (void)state;
    int64_t seq = test_sql_int(&env, "SELECT max(seq) FROM journal WHERE type = 'expiry_notice'");
    int64_t last = test_sql_int(&env, "SELECT max(seq) FROM journal");
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO journal (seq, time_s, type, text) SELECT %lld, (SELECT max(time_s) FROM journal), type, "
             "replace(replace(text, '\"seq\":%lld,', '\"seq\":%lld,'), '\"time\":\"' || (text::jsonb->>'time'), "
             "'\"time\":\"' || to_char(to_timestamp((SELECT max(time_s) FROM journal)) AT TIME ZONE 'UTC', "
             "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')) FROM journal WHERE seq = %lld",
             (long long)(last + 1), (long long)seq, (long long)(last + 1), (long long)seq);
    assert_int_equal(test_sql_exec(&env, sql), 0);
    env.damaged = 1;
    assert_int_not_equal(test_journal_verifies(&env), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_feed_across_brands),
        cmocka_unit_test(test_expiring_notices),
        cmocka_unit_test(test_migration_backfill_agrees),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_verifier_refuses_a_repeated_notice),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

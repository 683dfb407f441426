/* End-to-end: GET /openapi.json serves docs/openapi.json unsigned, and a tour that calls every
 * route of the document once with a successful request (issue 19's console routes included), so
 * the response check of `make test` (tools/openapi/validate.mjs over TEST_RESPONSE_LOG) sees a
 * success of each route, and each CSV answer (Accept: text/csv) once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "support.h"

static test_env_t env;
static test_key_t coffee, books;

static int setup(void **state)
{
    (void)state;
    test_env_start(&env, "e2e_openapi");
    test_partner(&env, "coffee", 0, &coffee);
    test_partner(&env, "books", 0, &books);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_env_stop(&env);
    test_key_free(&coffee);
    test_key_free(&books);
    return 0;
}

static void test_document_is_served_unsigned(void **state)
{
    (void)state;
    test_reply_t reply = test_call(&env, NULL, "GET", "/openapi.json", NULL, NULL);
    assert_int_equal(reply.status, 200);
    assert_non_null(reply.json); /* parses as JSON */
    assert_string_equal(json_string_value(json_object_get(reply.json, "openapi")), "3.1.0");
    assert_non_null(json_object_get(json_object_get(reply.json, "paths"), "/v1/earn"));
    /* issue 19's routes are described too (the served document is the one built in) */
    assert_non_null(json_object_get(json_object_get(reply.json, "paths"), "/v1/whoami"));
    assert_non_null(json_object_get(json_object_get(reply.json, "paths"), "/v1/admin/liability-report"));
    test_reply_free(&reply);
    /* the document describes itself, and only GET is served */
    test_expect(test_call(&env, NULL, "POST", "/openapi.json", "{}", NULL), 404, "not_found");
}

/* A CSV answer (Accept: text/csv) of an operator route: 200 and CSV text, not JSON. */
static void op_csv_ok(const char *target)
{
    test_reply_t reply = test_call_accept(&env, &env.operator_key, target, "text/csv");
    assert_int_equal(reply.status, 200);
    assert_null(reply.json);
    assert_non_null(strchr(reply.body, ','));
    test_reply_free(&reply);
}

static void op_ok(const char *method, const char *target, const char *body, int status)
{
    test_expect(test_call(&env, &env.operator_key, method, target, body, NULL), status, NULL);
}

static void partner_ok(const test_key_t *key, const char *method, const char *target, const char *body, int status)
{
    test_expect(test_call(&env, key, method, target, body, NULL), status, NULL);
}

/* Every partner route once, with a success. */
static void test_partner_tour(void **state)
{
    (void)state;
    char target[128];
    test_reply_t earn = test_move(&env, &coffee, "/v1/earn", "m-tour", 500, "order-1001");
    assert_int_equal(earn.status, 201);
    int64_t earn_seq = test_int(earn.json, "transaction.seq");
    test_reply_free(&earn);
    test_expect(test_move(&env, &books, "/v1/burn", "m-tour", 120, "sale-2001"), 201, NULL);
    test_reply_t hold = test_move(&env, &books, "/v1/holds", "m-tour", 80, "basket-3001");
    assert_int_equal(hold.status, 201);
    snprintf(target, sizeof target, "/v1/holds/%s/capture",
             json_string_value(json_object_get(json_object_get(hold.json, "hold"), "id")));
    test_reply_free(&hold);
    partner_ok(&books, "POST", target, "{\"points\":50}", 201);
    hold = test_call(&env, &books, "POST", "/v1/holds", "{\"member\":\"m-tour\",\"points\":10,\"reference\":\"basket-3002\","
                                                        "\"ttl_seconds\":600}", NULL);
    assert_int_equal(hold.status, 201);
    snprintf(target, sizeof target, "/v1/holds/%s/void",
             json_string_value(json_object_get(json_object_get(hold.json, "hold"), "id")));
    test_reply_free(&hold);
    partner_ok(&books, "POST", target, "{}", 200);
    snprintf(target, sizeof target, "/v1/transactions/tx-%lld/reverse", (long long)earn_seq);
    partner_ok(&coffee, "POST", target, "{\"points\":100,\"reference\":\"refund-1001\"}", 201);
    snprintf(target, sizeof target, "/v1/transactions/tx-%lld", (long long)earn_seq);
    partner_ok(&coffee, "GET", target, NULL, 200);
    partner_ok(&coffee, "GET", "/v1/members/m-tour", NULL, 200);
    partner_ok(&coffee, "GET", "/v1/members/m-tour/transactions?limit=2", NULL, 200);
    snprintf(target, sizeof target, "/v1/journal/%lld/proof", (long long)earn_seq);
    partner_ok(&coffee, "GET", target, NULL, 200);
    partner_ok(&coffee, "GET", "/v1/journal/consistency?first=2&second=4", NULL, 200);
}

/* Every operator route once, with a success (after the partner tour: there is something to settle). */
static void test_operator_tour(void **state)
{
    (void)state;
    char body[256];
    test_key_t staff;
    test_key_new(&staff, "auditor-1");
    snprintf(body, sizeof body, "{\"keyid\":\"auditor-1\",\"public_key\":\"%s\",\"role\":\"auditor\"}", staff.public_b64);
    op_ok("POST", "/v1/admin/staff-keys", body, 201);
    op_ok("POST", "/v1/admin/keys/auditor-1/revoke", "{}", 200);
    test_key_free(&staff);
    op_ok("POST", "/v1/admin/point-values", "{\"value_num\":1,\"value_den\":2}", 201);
    op_ok("GET", "/v1/admin/trial-balance", NULL, 200);
    op_ok("GET", "/v1/admin/liability", NULL, 200);
    op_ok("GET", "/v1/admin/journal/3", NULL, 200);
    test_reply_t run = test_call(&env, &env.operator_key, "POST", "/v1/admin/expiry-runs", "{}", NULL);
    assert_int_equal(run.status, 201);
    char target[128];
    snprintf(target, sizeof target, "/v1/admin/expiry-runs/%s",
             json_string_value(json_object_get(json_object_get(run.json, "run"), "id")));
    test_reply_free(&run);
    op_ok("GET", target, NULL, 200);
    op_csv_ok(target);
    op_ok("GET", "/v1/admin/expiring?days=400", NULL, 400);
    op_ok("GET", "/v1/admin/expiring?days=200", NULL, 200);
    test_reply_t settlement = test_call(&env, &env.operator_key, "POST", "/v1/admin/settlements", "{\"fee_bp\":150}", NULL);
    assert_int_equal(settlement.status, 201);
    const char *id = json_string_value(json_object_get(json_object_get(settlement.json, "settlement"), "id"));
    snprintf(target, sizeof target, "/v1/admin/settlements/%s", id);
    op_ok("GET", target, NULL, 200);
    op_csv_ok(target);
    snprintf(target, sizeof target, "/v1/settlements/%s/statement", id);
    test_reply_free(&settlement);
    partner_ok(&coffee, "GET", target, NULL, 200);
    /* issue 19's console reads and the redemption rate */
    partner_ok(&coffee, "GET", "/v1/whoami", NULL, 200);
    op_ok("GET", "/v1/admin/settlements?limit=1", NULL, 200);
    partner_ok(&coffee, "GET", "/v1/settlements?limit=1", NULL, 200);
    op_ok("GET", "/v1/admin/expiry-runs?limit=1", NULL, 200);
    op_ok("GET", "/v1/admin/expiry-forecast?weeks=30", NULL, 200);
    partner_ok(&coffee, "GET", "/v1/liability", NULL, 200);
    test_reply_t rate =
        test_call(&env, &env.operator_key, "POST", "/v1/admin/redemption-rates", "{\"issuer\":\"coffee\",\"rate_bp\":9500}", NULL);
    assert_int_equal(rate.status, 201);
    snprintf(target, sizeof target, "/v1/admin/journal/%lld", (long long)test_int(rate.json, "redemption_rate.seq"));
    test_reply_free(&rate);
    op_ok("GET", target, NULL, 200); /* the redemption_rate entry as stored */
    op_ok("GET", "/v1/admin/redemption-rates?issuer=coffee", NULL, 200);
    long long now_s = (long long)time(NULL); /* a closed period: the last hour up to a second ago */
    snprintf(target, sizeof target, "/v1/admin/liability-report?issuer=coffee&from=%lld&to=%lld", now_s - 3600, now_s - 1);
    op_ok("GET", target, NULL, 200);
    op_csv_ok(target);
    snprintf(target, sizeof target, "/v1/liability-report?from=%lld&to=%lld", now_s - 3600, now_s - 1);
    partner_ok(&coffee, "GET", target, NULL, 200);
    op_ok("GET", "/v1/admin/checkpoint", NULL, 200);
    op_ok("GET", "/v1/admin/export", NULL, 200);
    test_expect(test_call(&env, NULL, "GET", "/healthz", NULL, NULL), 200, NULL);
    test_expect(test_call(&env, NULL, "GET", "/healthz/writer", NULL, NULL), 200, NULL);
    test_expect(test_call(&env, NULL, "GET", "/metrics", NULL, NULL), 200, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_document_is_served_unsigned),
        cmocka_unit_test(test_partner_tour),
        cmocka_unit_test(test_operator_tour),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

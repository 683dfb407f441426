/* End-to-end: RFC 9421 refusals (every 401 code), roles (403), idempotency semantics and strict
 * input handling — and that no refused request writes anything. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <libpq-fe.h>

#include "auth.h"
#include "buf.h"
#include "client.h"
#include "support.h"

static test_env_t env;
static test_key_t coffee, auditor;

static int setup(void **state)
{
    (void)state;
    char body[256];
    test_env_start(&env, "e2e_auth_input");
    test_partner(&env, "coffee", 0, &coffee);
    test_key_new(&auditor, "auditor-1");
    snprintf(body, sizeof body, "{\"keyid\":\"auditor-1\",\"public_key\":\"%s\",\"role\":\"auditor\"}",
             auditor.public_b64);
    test_reply_t reply = test_call(&env, &env.operator_key, "POST", "/v1/admin/staff-keys", body, NULL);
    assert_int_equal(reply.status, 201);
    test_reply_free(&reply);
    reply =
        test_call(&env, &coffee, "POST", "/v1/earn", "{\"member\":\"m\",\"points\":50,\"reference\":\"seed\"}", NULL);
    assert_int_equal(reply.status, 201);
    test_reply_free(&reply);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_env_stop(&env);
    test_key_free(&coffee);
    test_key_free(&auditor);
    return 0;
}

/* A request whose signature headers come from signing (sign_*) but whose line/body may differ. */
typedef struct {
    const char *method, *target, *body, *idempotency_key;
    const char *sign_target, *sign_body;
    int64_t created_s;
    const char *content_type;
    int omit_idempotency_header;
} craft_t;

static test_reply_t send_crafted(const test_key_t *key, const craft_t *craft)
{
    buf_t request = BUF_INIT, headers = BUF_INIT;
    const char *sign_body = craft->sign_body ? craft->sign_body : craft->body;
    client_sign(&headers, key->keyid, key->signer, craft->method,
                craft->sign_target ? craft->sign_target : craft->target, sign_body, sign_body ? strlen(sign_body) : 0,
                craft->idempotency_key, craft->created_s);
    buf_printf(&request, "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n", craft->method, craft->target);
    const char *h = headers.data;
    while (*h) { /* copy the signature headers, optionally dropping Idempotency-Key */
        const char *end = strstr(h, "\r\n") + 2;
        if (!(craft->omit_idempotency_header && strncmp(h, "Idempotency-Key:", 16) == 0))
            buf_append(&request, h, (size_t)(end - h));
        h = end;
    }
    if (craft->body) {
        buf_printf(&request, "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n%s",
                   craft->content_type ? craft->content_type : "application/json", strlen(craft->body), craft->body);
    } else {
        buf_append_str(&request, "\r\n");
    }
    test_reply_t reply = test_raw(&env, request.data, request.len);
    buf_free(&request);
    buf_free(&headers);
    return reply;
}

static int64_t journal_size(void)
{
    return test_sql_int(&env, "SELECT count(*) FROM journal");
}

static const char earn_body[] = "{\"member\":\"m\",\"points\":5,\"reference\":\"auth\"}";

static void test_signature_refusals(void **state)
{
    (void)state;
    int64_t before = journal_size();
    const char *raw = "POST /v1/earn HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}";
    test_expect(test_raw(&env, raw, strlen(raw)), 401, "signature_missing");
    craft_t craft = {"POST", "/v1/earn", earn_body, "k-auth-1", NULL, NULL, 0, NULL, 0};
    craft.sign_body = "{\"member\":\"m\",\"points\":500,\"reference\":\"auth\"}";
    test_expect(send_crafted(&coffee, &craft), 401, "digest_mismatch"); /* body changed after signing */
    craft.sign_body = NULL;
    craft.created_s = (int64_t)time(NULL) - 301;
    test_expect(send_crafted(&coffee, &craft), 401, "signature_expired");
    craft.created_s = (int64_t)time(NULL) + 301;
    test_expect(send_crafted(&coffee, &craft), 401, "signature_expired");
    craft.created_s = 0;
    craft.sign_target = "/v1/burn"; /* signed for another path */
    test_expect(send_crafted(&coffee, &craft), 401, "signature_invalid");
    craft.sign_target = NULL;
    craft.omit_idempotency_header = 1;
    test_expect(send_crafted(&coffee, &craft), 400, "idempotency_key_missing");
    craft.omit_idempotency_header = 0;
    test_key_t stranger;
    test_key_new(&stranger, "stranger-1");
    test_expect(send_crafted(&stranger, &craft), 401, "unknown_key");
    snprintf(stranger.keyid, sizeof stranger.keyid, "coffee-1"); /* right keyid, wrong private key */
    test_expect(send_crafted(&stranger, &craft), 401, "signature_invalid");
    test_key_free(&stranger);
    /* a GET signed without its query */
    craft_t get = {"GET", "/v1/members/m/transactions?limit=1", NULL, NULL, "/v1/members/m/transactions", NULL, 0, NULL,
                   0};
    test_expect(send_crafted(&coffee, &get), 401, "signature_invalid");
    /* components in another order */
    char field[256], request[1024];
    snprintf(field, sizeof field, "(\"@path\" \"@method\" \"@query\");created=%lld;keyid=\"coffee-1\"",
             (long long)time(NULL));
    snprintf(request, sizeof request,
             "GET /v1/members/m HTTP/1.1\r\nHost: x\r\nConnection: close\r\nSignature-Input: sig1=%s\r\n"
             "Signature: sig1=:%s:\r\n\r\n",
             field, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==");
    test_expect(test_raw(&env, request, strlen(request)), 401, "signature_invalid");
    assert_int_equal(journal_size(), before);
}

static void test_replay_of_captured_request(void **state)
{
    (void)state;
    craft_t craft = {"POST",     "/v1/earn", "{\"member\":\"m\",\"points\":5,\"reference\":\"replay\"}",
                     "k-replay", NULL,       NULL,
                     0,          NULL,       0};
    test_reply_t first = send_crafted(&coffee, &craft);
    assert_int_equal(first.status, 201);
    test_reply_t again = send_crafted(&coffee, &craft); /* the same signed request, replayed */
    assert_int_equal(again.status, 201);
    assert_string_equal(again.body, first.body); /* the first response, no second effect */
    test_reply_free(&first);
    test_reply_free(&again);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM transactions WHERE reference = 'replay'"), 1);
}

static void test_roles(void **state)
{
    (void)state;
    test_expect(test_call(&env, &coffee, "GET", "/v1/admin/trial-balance", NULL, NULL), 403, "forbidden");
    test_expect(test_call(&env, &coffee, "POST", "/v1/admin/partners", "{\"code\":\"evil\",\"name\":\"x\"}", NULL), 403,
                "forbidden");
    test_expect(test_call(&env, &auditor, "POST", "/v1/admin/partners", "{\"code\":\"evil\",\"name\":\"x\"}", NULL),
                403, "forbidden");
    test_expect(test_call(&env, &env.operator_key, "POST", "/v1/earn", earn_body, NULL), 403, "forbidden");
    test_reply_t reply = test_call(&env, &auditor, "GET", "/v1/admin/trial-balance", NULL, NULL);
    assert_int_equal(reply.status, 200);
    assert_int_equal(test_int(reply.json, "total"), 0);
    test_reply_free(&reply);
}

static void test_idempotency(void **state)
{
    (void)state;
    const char *body = "{\"member\":\"m\",\"points\":1,\"reference\":\"idem-1\"}";
    test_reply_t first = test_call(&env, &coffee, "POST", "/v1/earn", body, "idem-key-1");
    test_reply_t second = test_call(&env, &coffee, "POST", "/v1/earn", body, "idem-key-1");
    assert_int_equal(first.status, 201);
    assert_int_equal(second.status, 201);
    assert_string_equal(first.body, second.body);
    test_reply_free(&first);
    test_reply_free(&second);
    test_expect(test_call(&env, &coffee, "POST", "/v1/earn", "{\"member\":\"m\",\"points\":2,\"reference\":\"idem-1\"}",
                          "idem-key-1"),
                422, "idempotency_key_reused");
    /* a refusal is a response too: replayed as it was */
    const char *greedy = "{\"member\":\"m\",\"points\":999999,\"reference\":\"idem-2\"}";
    test_expect(test_call(&env, &coffee, "POST", "/v1/burn", greedy, "idem-key-2"), 422, "insufficient_points");
    test_expect(test_call(&env, &coffee, "POST", "/v1/burn", greedy, "idem-key-2"), 422, "insufficient_points");
    /* keys are scoped per partner */
    test_key_t books;
    test_partner(&env, "books", 0, &books);
    test_reply_t other = test_call(&env, &books, "POST", "/v1/earn", body, "idem-key-1");
    assert_int_equal(other.status, 201);
    test_reply_free(&other);
    test_key_free(&books);
    test_expect(test_call(&env, &coffee, "POST", "/v1/earn", "{\"member\":\"m\",\"points\":1,\"reference\":\"idem-3\"}",
                          "bad\x01key"),
                400, "idempotency_key_invalid");
}

static void test_request_in_progress(void **state)
{
    (void)state;
    /* hold the (principal, key) lock the way an in-flight request does */
    PGconn *pg = PQconnectdb(env.db_url);
    assert_int_equal(PQstatus(pg), CONNECTION_OK);
    PGresult *res = PQexec(pg, "SELECT pg_advisory_lock(hashtextextended('coffee' || chr(10) || 'busy-key', 7))");
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    PQclear(res);
    const char *body = "{\"member\":\"m\",\"points\":1,\"reference\":\"busy\"}";
    test_expect(test_call(&env, &coffee, "POST", "/v1/earn", body, "busy-key"), 409, "request_in_progress");
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM transactions WHERE reference = 'busy'"), 0);
    /* the first request "finishes": unlock synchronously (a closed session unlocks asynchronously) */
    res = PQexec(pg, "SELECT pg_advisory_unlock(hashtextextended('coffee' || chr(10) || 'busy-key', 7))");
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    PQclear(res);
    PQfinish(pg);
    test_reply_t reply = test_call(&env, &coffee, "POST", "/v1/earn", body, "busy-key");
    assert_int_equal(reply.status, 201);
    test_reply_free(&reply);
}

static void test_bad_input_writes_nothing(void **state)
{
    (void)state;
    int64_t before = journal_size();
    static const char *const malformed[] = {
        "{\"member\":\"m\",\"points\":5,\"reference\":\"r\",\"points\":6}", /* duplicate key */
        "{\"member\":\"m\",\"points\":5.0,\"reference\":\"r\"}",
        "{\"member\":\"m\",\"points\":5,\"reference\":\"r\"} trailing",
        "{\"member\":\"m\xff\",\"points\":5,\"reference\":\"r\"}",
        "[]",
        "",
        "{",
    };
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++)
        test_expect(test_call(&env, &coffee, "POST", "/v1/earn", malformed[i], NULL), 400, "malformed_json");
    static const char *const invalid[] = {
        "{\"member\":\"m\",\"points\":0,\"reference\":\"r\"}",
        "{\"member\":\"m\",\"points\":1000000001,\"reference\":\"r\"}",
        "{\"member\":\"m\",\"points\":-5,\"reference\":\"r\"}",
        "{\"member\":\"m\",\"points\":\"5\",\"reference\":\"r\"}",
        "{\"member\":\"a b\",\"points\":5,\"reference\":\"r\"}",
        "{\"member\":\"m\",\"points\":5}",
        "{\"member\":\"m\",\"points\":5,\"reference\":\"r\",\"bonus\":1}",
        "{\"points\":5,\"reference\":\"r\"}",
    };
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
        test_expect(test_call(&env, &coffee, "POST", "/v1/earn", invalid[i], NULL), 400, "invalid_field");
    craft_t craft = {"POST", "/v1/earn", earn_body, "k-media", NULL, NULL, 0, "text/plain", 0};
    test_expect(send_crafted(&coffee, &craft), 415, "unsupported_media_type");
    test_expect(test_call(&env, &coffee, "GET", "/v1/nowhere", NULL, NULL), 404, "not_found");
    test_expect(test_call(&env, &coffee, "GET", "/v1/earn", NULL, NULL), 405, "method_not_allowed");
    /* 1 MiB + 1 body: refused before it is read */
    size_t size = 1024 * 1024 + 1;
    char *big = malloc(size + 1);
    memset(big, ' ', size);
    big[0] = '{', big[size - 1] = '}', big[size] = '\0';
    test_expect(test_call(&env, &coffee, "POST", "/v1/earn", big, NULL), 413, "body_too_large");
    free(big);
    const char *claims = "POST /v1/earn HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 9999999\r\n\r\n";
    test_expect(test_raw(&env, claims, strlen(claims)), 413, "body_too_large");
    assert_int_equal(journal_size(), before);
    /* the service is still healthy */
    test_reply_t reply = test_call(&env, NULL, "GET", "/healthz", NULL, NULL);
    assert_int_equal(reply.status, 200);
    test_reply_free(&reply);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signature_refusals),
        cmocka_unit_test(test_replay_of_captured_request),
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_idempotency),
        cmocka_unit_test(test_request_in_progress),
        cmocka_unit_test(test_bad_input_writes_nothing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

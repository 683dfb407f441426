/* End-to-end: webhooks (issue 20 item 4). A receiver on loopback run by this test (libmicrohttpd
 * in its own threads) records every delivery and can answer 500, hang, or be stopped and started
 * again. Shown: registrations refused naming the field (unknown, empty, duplicate and oversized
 * event_types, bad and private URLs without LEDGER_WEBHOOK_ALLOW_PRIVATE, a loopback address in
 * a numeric form curl understands refused when the delivery connects); every subscribed event
 * arrives in seq order, signed (Standard Webhooks v1a) by the ledger key the API shows; 500 then
 * 200 retried with backoff and recorded; a receiver stopped and started again gets everything; a
 * kill -9 of ledgerd mid-delivery loses nothing and duplicates only the event in flight, same id;
 * redelivery from a cursor; disable; a hung receiver does not slow earns. */
#include <microhttpd.h>
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

#include "buf.h"
#include "crypto.h"
#include "json.h"
#include "support.h"
#include "webhook.h"

/* ---- the receiver ---------------------------------------------------------------------- */
#define RECEIVED_MAX 512

typedef struct {
    char id[64];
    int64_t timestamp_s;
    int signature_valid;
    char *body; /* owned */
    int answered; /* the status it answered */
} received_t;

static struct {
    pthread_mutex_t lock;
    struct MHD_Daemon *daemon;
    uint16_t port;
    received_t items[RECEIVED_MAX];
    int count;
    int fail_next;    /* answer 500 to this many requests */
    int delay_ms;     /* wait this long before answering */
    int stopping;
    int inflight, inflight_max; /* requests being answered at once, and the most seen */
    uint8_t ledger_public[CRYPTO_ED25519_PUBLIC_BYTES];
} receiver = {.lock = PTHREAD_MUTEX_INITIALIZER};

static enum MHD_Result receive(void *cls, struct MHD_Connection *connection, const char *url, const char *method,
                               const char *version, const char *upload_data, size_t *upload_data_size, void **state)
{
    (void)cls, (void)url, (void)method, (void)version;
    buf_t *body = *state;
    if (body == NULL) {
        *state = body = calloc(1, sizeof *body);
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        buf_append(body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    buf_append(body, "", 1); /* NUL */
    body->len--;
    const char *id = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "webhook-id");
    const char *ts = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "webhook-timestamp");
    const char *sig = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "webhook-signature");
    pthread_mutex_lock(&receiver.lock);
    int status = 200;
    if (receiver.fail_next > 0) {
        receiver.fail_next--;
        status = 500;
    }
    if (++receiver.inflight > receiver.inflight_max) receiver.inflight_max = receiver.inflight;
    /* recorded on arrival, in the order deliveries were sent */
    if (receiver.count < RECEIVED_MAX) {
        received_t *item = &receiver.items[receiver.count++];
        snprintf(item->id, sizeof item->id, "%s", id ? id : "");
        item->timestamp_s = ts ? strtoll(ts, NULL, 10) : 0;
        item->signature_valid = id && ts && sig &&
                                webhook_signature_verify(receiver.ledger_public, sig, id, item->timestamp_s,
                                                         body->data);
        item->body = xstrdup(body->data);
        item->answered = status;
    }
    pthread_mutex_unlock(&receiver.lock);
    for (int waited = 0;; waited += 10) { /* a slow or hung receiver, that the test can release */
        pthread_mutex_lock(&receiver.lock);
        int release = receiver.stopping || waited >= receiver.delay_ms;
        pthread_mutex_unlock(&receiver.lock);
        if (release) break;
        usleep(10000);
    }
    pthread_mutex_lock(&receiver.lock);
    receiver.inflight--;
    pthread_mutex_unlock(&receiver.lock);
    struct MHD_Response *response = MHD_create_response_from_buffer(2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result result = MHD_queue_response(connection, (unsigned)status, response);
    MHD_destroy_response(response);
    return result;
}

static void receive_done(void *cls, struct MHD_Connection *connection, void **state,
                         enum MHD_RequestTerminationCode code)
{
    (void)cls, (void)connection, (void)code;
    buf_t *body = *state;
    if (body != NULL) buf_free(body);
    free(body);
    *state = NULL;
}

static void receiver_start(void)
{
    receiver.stopping = 0;
    receiver.daemon = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                                           MHD_USE_ERROR_LOG,
                                       receiver.port, NULL, NULL, receive, NULL, MHD_OPTION_NOTIFY_COMPLETED,
                                       receive_done, NULL, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, MHD_OPTION_END);
    assert_non_null(receiver.daemon);
    if (receiver.port == 0) receiver.port = MHD_get_daemon_info(receiver.daemon, MHD_DAEMON_INFO_BIND_PORT)->port;
}

static void receiver_stop(void)
{
    pthread_mutex_lock(&receiver.lock);
    receiver.stopping = 1;
    pthread_mutex_unlock(&receiver.lock);
    MHD_stop_daemon(receiver.daemon);
    receiver.daemon = NULL;
}

static void receiver_set(int fail_next, int delay_ms)
{
    pthread_mutex_lock(&receiver.lock);
    receiver.fail_next = fail_next;
    receiver.delay_ms = delay_ms;
    pthread_mutex_unlock(&receiver.lock);
}

/* Requests answered 2xx so far. */
static int receiver_accepted(void)
{
    int accepted = 0;
    pthread_mutex_lock(&receiver.lock);
    for (int i = 0; i < receiver.count; i++) accepted += receiver.items[i].answered == 200;
    pthread_mutex_unlock(&receiver.lock);
    return accepted;
}

static int receiver_count(void)
{
    pthread_mutex_lock(&receiver.lock);
    int count = receiver.count;
    pthread_mutex_unlock(&receiver.lock);
    return count;
}

/* Polls (bounded: 20 s, a sanitizer build is slow) until at least want requests were accepted. */
static void await_accepted(int want)
{
    double until = test_now_s() + 20;
    while (receiver_accepted() < want && test_now_s() < until) usleep(20000);
    assert_true(receiver_accepted() >= want);
}

static void receiver_clear(void)
{
    pthread_mutex_lock(&receiver.lock);
    for (int i = 0; i < receiver.count; i++) free(receiver.items[i].body);
    receiver.count = 0;
    pthread_mutex_unlock(&receiver.lock);
}

/* ---- the ledger ------------------------------------------------------------------------ */
static test_env_t env;
static test_key_t alpha, beta, delta;
static char receiver_url[128];

static void ledgerd_restart(void)
{
    kill(env.pid, SIGKILL);
    waitpid(env.pid, NULL, 0);
    env.pid = 0;
    assert_int_equal(test_ledgerd_spawn(&env), 0);
}

static int setup(void **state)
{
    (void)state;
    /* short backoff and poll so the suite takes seconds; private addresses refused at first */
    setenv("LEDGER_WEBHOOK_BACKOFF_MS", "50", 1);
    setenv("LEDGER_WEBHOOK_BACKOFF_CAP_MS", "200", 1);
    setenv("LEDGER_WEBHOOK_POLL_MS", "50", 1);
    setenv("LEDGER_WEBHOOK_TIMEOUT_MS", "10000", 1);
    unsetenv("LEDGER_WEBHOOK_ALLOW_PRIVATE");
    test_env_start(&env, "e2e_webhooks");
    test_partner(&env, "alpha", 0, &alpha);
    test_partner(&env, "beta", 0, &beta);
    test_partner(&env, "delta", 0, &delta);
    crypto_signer_t *ledger_key = crypto_signer_load_file(env.key_file);
    assert_non_null(ledger_key);
    crypto_signer_public_key(ledger_key, receiver.ledger_public);
    crypto_signer_free(ledger_key);
    receiver_start();
    snprintf(receiver_url, sizeof receiver_url, "http://127.0.0.1:%u/hook", receiver.port);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    receiver_stop();
    receiver_clear();
    test_env_stop(&env);
    test_key_free(&alpha);
    test_key_free(&beta);
    test_key_free(&delta);
    return 0;
}

static test_reply_t register_webhook(const test_key_t *key, const char *url, const char *types)
{
    char body[4096];
    snprintf(body, sizeof body, "{\"url\":\"%s\",\"event_types\":%s}", url, types);
    return test_call(&env, key, "POST", "/v1/webhooks", body, NULL);
}

static void expect_field(test_reply_t reply, const char *field)
{
    if (reply.status != 400) fprintf(stderr, "unexpected: %d %s\n", reply.status, reply.body);
    assert_int_equal(reply.status, 400);
    assert_string_equal(test_code(&reply), "invalid_field");
    assert_string_equal(json_string_value(json_object_get(reply.json, "field")), field);
    test_reply_free(&reply);
}

static void test_registration_refused(void **state)
{
    (void)state;
    char url[3000];
    const char *earn = "[\"earn.created\"]";
    expect_field(register_webhook(&alpha, "https://example.com/h", "[\"earn.made\"]"), "event_types");
    expect_field(register_webhook(&alpha, "https://example.com/h", "[]"), "event_types");
    expect_field(register_webhook(&alpha, "https://example.com/h", "[\"earn.created\",\"earn.created\"]"),
                 "event_types");
    expect_field(register_webhook(&alpha, "https://example.com/h", "\"earn.created\""), "event_types");
    buf_t many = BUF_INIT;
    buf_append_str(&many, "[");
    for (int i = 0; i < LIMIT_WEBHOOK_EVENT_TYPES_MAX + 1; i++) buf_printf(&many, "%s\"earn.created\"", i ? "," : "");
    buf_append_str(&many, "]");
    expect_field(register_webhook(&alpha, "https://example.com/h", many.data), "event_types"); /* oversized */
    buf_free(&many);
    expect_field(register_webhook(&alpha, "ftp://example.com/h", earn), "url");
    expect_field(register_webhook(&alpha, "example.com/h", earn), "url");
    expect_field(register_webhook(&alpha, "https://user:pw@example.com/h", earn), "url");
    expect_field(register_webhook(&alpha, "https://example.com/h#frag", earn), "url");
    memset(url, 'a', sizeof url);
    memcpy(url, "https://example.com/", 20);
    url[LIMIT_WEBHOOK_URL_MAX + 1] = '\0';
    expect_field(register_webhook(&alpha, url, earn), "url"); /* too long */
    /* private and loopback hosts, without LEDGER_WEBHOOK_ALLOW_PRIVATE */
    expect_field(register_webhook(&alpha, receiver_url, earn), "url");
    expect_field(register_webhook(&alpha, "http://10.1.2.3/h", earn), "url");
    expect_field(register_webhook(&alpha, "http://169.254.169.254/latest", earn), "url");
    expect_field(register_webhook(&alpha, "http://[::1]:8080/h", earn), "url");
    expect_field(register_webhook(&alpha, "http://[::ffff:192.168.0.1]/h", earn), "url");
    expect_field(register_webhook(&alpha, "http://localhost:8080/h", earn), "url");
    test_expect(test_call(&env, &alpha, "POST", "/v1/webhooks",
                          "{\"url\":\"https://example.com/h\",\"event_types\":[\"earn.created\"],\"x\":1}", NULL),
                400, "invalid_field");
    /* staff keys are not partners */
    test_expect(register_webhook(&env.operator_key, "https://example.com/h", earn), 403, "forbidden");
    /* at most LIMIT_WEBHOOKS_PER_PARTNER_MAX active endpoints (delta never earns: nothing is sent) */
    for (int i = 0; i < LIMIT_WEBHOOKS_PER_PARTNER_MAX; i++) {
        snprintf(url, sizeof url, i == 0 ? "https://example.com/@delta/%d?x=a@b" : "https://example.com/delta/%d", i);
        test_expect(register_webhook(&delta, url, earn), 201, NULL);
    }
    test_expect(register_webhook(&delta, "https://example.com/delta/x", earn), 422, "webhook_limit");
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM webhooks WHERE partner = 'alpha'"), 0);
}

/* The numeric form curl reads as 127.0.0.1 passes the registration's literal check (it is a
 * name there); the delivery's socket check refuses it and the receiver gets nothing. */
static void test_loopback_refused_at_delivery(void **state)
{
    (void)state;
    char url[128];
    snprintf(url, sizeof url, "http://2130706433:%u/hook", receiver.port);
    test_reply_t reply = register_webhook(&beta, url, "[\"earn.created\"]");
    assert_int_equal(reply.status, 201);
    char id[64];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(json_object_get(reply.json, "webhook"), "id")));
    test_reply_free(&reply);
    test_expect(test_move(&env, &beta, "/v1/earn", "m-refused", 5, "refused-1"), 201, NULL);
    double until = test_now_s() + 20;
    while (test_sql_int(&env, "SELECT count(*) FROM webhook_deliveries d JOIN webhooks w ON w.seq = d.webhook "
                              "WHERE w.partner = 'beta'") < 2 &&
           test_now_s() < until)
        usleep(20000);
    char target[128];
    snprintf(target, sizeof target, "/v1/webhooks/%s/deliveries", id);
    reply = test_call(&env, &beta, "GET", target, NULL, NULL);
    assert_int_equal(reply.status, 200);
    json_t *first = json_array_get(json_object_get(reply.json, "deliveries"), 0);
    assert_non_null(first);
    assert_true(json_is_false(json_object_get(first, "ok")));
    assert_null(json_object_get(first, "status"));
    assert_non_null(strstr(json_string_value(json_object_get(first, "error")), "private"));
    test_reply_free(&reply);
    assert_int_equal(receiver_count(), 0);
    snprintf(target, sizeof target, "/v1/webhooks/%s/disable", id);
    test_expect(test_call(&env, &beta, "POST", target, "{}", NULL), 200, NULL);
}

static char alpha_hook[64];

/* Every received body parsed, with checks common to all: the signature holds, the id is the
 * body's, the timestamp is now. */
static json_t *received_bodies(int from)
{
    json_t *bodies = json_array();
    pthread_mutex_lock(&receiver.lock);
    for (int i = from; i < receiver.count; i++) {
        received_t *item = &receiver.items[i];
        assert_true(item->signature_valid);
        json_t *body = json_loads(item->body, 0, NULL);
        assert_non_null(body);
        assert_string_equal(json_string_value(json_object_get(body, "id")), item->id);
        assert_true(llabs(item->timestamp_s - (int64_t)time(NULL)) < 120);
        json_object_set_new(body, "answered", json_integer(item->answered));
        json_array_append_new(bodies, body);
    }
    pthread_mutex_unlock(&receiver.lock);
    return bodies;
}

/* The accepted deliveries' seqs strictly increase from `from`: in order, no duplicate. */
static void assert_in_order(int from, int want)
{
    json_t *bodies = received_bodies(from);
    size_t i;
    json_t *body;
    int64_t last = 0, accepted = 0;
    json_array_foreach(bodies, i, body)
    {
        if (json_integer_value(json_object_get(body, "answered")) != 200) continue;
        int64_t seq = (int64_t)json_integer_value(json_object_get(body, "seq"));
        assert_true(seq > last);
        last = seq;
        accepted++;
    }
    assert_int_equal(accepted, want);
    json_decref(bodies);
}

static void test_delivered_in_order_signed(void **state)
{
    (void)state;
    /* from here on loopback receivers are allowed (the test's receiver is on 127.0.0.1) */
    setenv("LEDGER_WEBHOOK_ALLOW_PRIVATE", "1", 1);
    ledgerd_restart();
    test_reply_t reply = register_webhook(&alpha, receiver_url, "[\"earn.created\",\"burn.created\"]");
    assert_int_equal(reply.status, 201);
    json_t *webhook = json_object_get(reply.json, "webhook");
    snprintf(alpha_hook, sizeof alpha_hook, "%s", json_string_value(json_object_get(webhook, "id")));
    assert_string_equal(json_string_value(json_object_get(webhook, "status")), "active");
    /* the key the API shows receivers is the ledger's */
    char *whpk = webhook_public_key_text(receiver.ledger_public);
    assert_string_equal(json_string_value(json_object_get(reply.json, "signing_key")), whpk);
    free(whpk);
    test_reply_free(&reply);
    for (int i = 0; i < 5; i++) {
        char reference[32];
        snprintf(reference, sizeof reference, "order-%d", i);
        test_expect(test_move(&env, &alpha, "/v1/earn", "m-1", 10, reference), 201, NULL);
    }
    test_expect(test_move(&env, &alpha, "/v1/holds", "m-1", 1, "hold-1"), 201, NULL); /* not subscribed */
    test_expect(test_move(&env, &alpha, "/v1/burn", "m-1", 3, "burn-1"), 201, NULL);
    await_accepted(6);
    assert_in_order(0, 6);
    json_t *bodies = received_bodies(0);
    assert_string_equal(json_string_value(json_object_get(json_array_get(bodies, 0), "type")), "earn.created");
    assert_string_equal(json_string_value(json_object_get(json_array_get(bodies, 5), "type")), "burn.created");
    json_decref(bodies);
    /* the cursor stands at the burn (the hold passed over before it): it moves in its own commit
     * after the receiver's 2xx, so the receiver may have the burn a moment before it does */
    int64_t burn_seq = test_sql_int(&env, "SELECT max(seq) FROM journal WHERE type = 'burn'"), cursor = 0;
    for (int i = 0; i < 50 && cursor != burn_seq; i++) {
        if (i > 0) usleep(100000);
        reply = test_call(&env, &alpha, "GET", "/v1/webhooks", NULL, NULL);
        assert_int_equal(reply.status, 200);
        json_t *listed = json_array_get(json_object_get(reply.json, "webhooks"), 0);
        assert_string_equal(json_string_value(json_object_get(listed, "id")), alpha_hook);
        cursor = json_integer_value(json_object_get(listed, "cursor"));
        test_reply_free(&reply);
    }
    assert_int_equal(cursor, burn_seq);
    /* own only */
    reply = test_call(&env, &beta, "GET", "/v1/webhooks", NULL, NULL);
    assert_int_equal(reply.status, 200);
    json_t *beta_list = json_object_get(reply.json, "webhooks");
    for (size_t i = 0; i < json_array_size(beta_list); i++)
        assert_string_not_equal(json_string_value(json_object_get(json_array_get(beta_list, i), "id")), alpha_hook);
    test_reply_free(&reply);
    char target[128];
    snprintf(target, sizeof target, "/v1/webhooks/%s/deliveries", alpha_hook);
    test_expect(test_call(&env, &beta, "GET", target, NULL, NULL), 404, "not_found");
}

static void test_500_then_200(void **state)
{
    (void)state;
    int before = receiver_count(), accepted = receiver_accepted();
    receiver_set(2, 0);
    test_expect(test_move(&env, &alpha, "/v1/earn", "m-2", 10, "retry-1"), 201, NULL);
    await_accepted(accepted + 1);
    assert_int_equal(receiver_count(), before + 3); /* 500, 500, 200: the same event */
    json_t *bodies = received_bodies(before);
    const char *id = json_string_value(json_object_get(json_array_get(bodies, 0), "id"));
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(json_string_value(json_object_get(json_array_get(bodies, i), "id")), id);
    /* the attempts are recorded: 1 and 2 answered 500, 3 ok */
    char target[160];
    snprintf(target, sizeof target, "/v1/webhooks/%s/deliveries?limit=200", alpha_hook);
    test_reply_t reply = test_call(&env, &alpha, "GET", target, NULL, NULL);
    assert_int_equal(reply.status, 200);
    json_t *deliveries = json_object_get(reply.json, "deliveries");
    size_t n = json_array_size(deliveries);
    assert_true(n >= 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *attempt = json_array_get(deliveries, n - 3 + i);
        assert_string_equal(json_string_value(json_object_get(attempt, "event_id")), id);
        assert_int_equal(json_integer_value(json_object_get(attempt, "attempt")), (json_int_t)(i + 1));
        assert_int_equal(json_integer_value(json_object_get(attempt, "status")), i < 2 ? 500 : 200);
    }
    test_reply_free(&reply);
    json_decref(bodies);
}

static void test_receiver_stopped_and_started(void **state)
{
    (void)state;
    int accepted = receiver_accepted(), before = receiver_count();
    receiver_stop();
    for (int i = 0; i < 3; i++) {
        char reference[32];
        snprintf(reference, sizeof reference, "down-%d", i);
        test_expect(test_move(&env, &alpha, "/v1/earn", "m-3", 10, reference), 201, NULL);
    }
    /* failed attempts (connection refused) are recorded while it is down */
    double until = test_now_s() + 20;
    while (test_sql_int(&env, "SELECT count(*) FROM webhook_deliveries WHERE NOT ok AND status IS NULL AND "
                              "webhook IN (SELECT seq FROM webhooks WHERE partner = 'alpha')") < 2 &&
           test_now_s() < until)
        usleep(20000);
    assert_true(test_sql_int(&env, "SELECT count(*) FROM webhook_deliveries WHERE NOT ok AND status IS NULL AND "
                                   "webhook IN (SELECT seq FROM webhooks WHERE partner = 'alpha')") >= 2);
    receiver_start();
    await_accepted(accepted + 3);
    assert_in_order(before, 3);
}

static void test_killed_mid_delivery(void **state)
{
    (void)state;
    int before = receiver_count();
    receiver_set(0, 1500); /* each answer takes 1.5 s: ledgerd is killed while one waits */
    for (int i = 0; i < 3; i++) {
        char reference[32];
        snprintf(reference, sizeof reference, "kill-%d", i);
        test_expect(test_move(&env, &alpha, "/v1/earn", "m-4", 10, reference), 201, NULL);
    }
    /* the first delivery is in flight (the receiver holds it): kill -9 */
    double until = test_now_s() + 20;
    while (receiver_count() == before && test_now_s() < until) usleep(10000);
    assert_true(receiver_count() > before);
    usleep(200000);
    ledgerd_restart();
    receiver_set(0, 0);
    until = test_now_s() + 20;
    json_t *bodies = NULL;
    int distinct = 0;
    while (test_now_s() < until) { /* until the 3 events were all accepted */
        json_decref(bodies);
        bodies = received_bodies(before);
        json_t *seen = json_object();
        for (size_t i = 0; i < json_array_size(bodies); i++) {
            json_t *body = json_array_get(bodies, i);
            if (json_integer_value(json_object_get(body, "answered")) == 200)
                json_object_set_new(seen, json_string_value(json_object_get(body, "id")), json_true());
        }
        distinct = (int)json_object_size(seen);
        json_decref(seen);
        if (distinct == 3) break;
        usleep(20000);
    }
    assert_int_equal(distinct, 3); /* nothing lost */
    /* the one duplicate is the event that was in flight: the same id and the same bytes */
    assert_int_equal(json_array_size(bodies), 4);
    json_t *first = json_array_get(bodies, 0), *again = json_array_get(bodies, 1);
    assert_string_equal(json_string_value(json_object_get(first, "id")),
                        json_string_value(json_object_get(again, "id")));
    pthread_mutex_lock(&receiver.lock);
    assert_string_equal(receiver.items[before].body, receiver.items[before + 1].body);
    pthread_mutex_unlock(&receiver.lock);
    /* in order of first arrival; a repeat is only ever the event just before (the one in flight) */
    int64_t last = 0;
    for (size_t i = 0; i < json_array_size(bodies); i++) {
        int64_t seq = (int64_t)json_integer_value(json_object_get(json_array_get(bodies, i), "seq"));
        assert_true(seq >= last);
        last = seq;
    }
    json_decref(bodies);
}

static void test_hung_receiver_does_not_slow_earns(void **state)
{
    (void)state;
    receiver_set(0, 5000);
    test_expect(test_move(&env, &alpha, "/v1/earn", "m-5", 10, "slow-0"), 201, NULL);
    usleep(200000); /* the delivery of slow-0 now hangs in the receiver */
    for (int i = 1; i <= 10; i++) {
        char reference[32];
        snprintf(reference, sizeof reference, "slow-%d", i);
        double started = test_now_s();
        test_expect(test_move(&env, &alpha, "/v1/earn", "m-5", 10, reference), 201, NULL);
        assert_true(test_now_s() - started < 1.0);
    }
    /* a stop does not wait out the hung delivery (5 s here, LEDGER_WEBHOOK_TIMEOUT_MS 10 s) */
    assert_true(receiver_count() > 0);
    double stopping = test_now_s();
    kill(env.pid, SIGTERM);
    waitpid(env.pid, NULL, 0);
    env.pid = 0;
    assert_true(test_now_s() - stopping < 2.0);
    assert_int_equal(test_ledgerd_spawn(&env), 0);
    receiver_set(0, 0);
}

static void test_redeliver_and_disable(void **state)
{
    (void)state;
    char target[128], body[64];
    int64_t cursor = test_sql_int(&env, "SELECT max(seq) FROM transactions WHERE type = 'earn' AND partner = 'alpha'");
    double until = test_now_s() + 30;
    while (test_sql_int(&env, "SELECT max(delivered_cursor) FROM webhooks WHERE partner = 'alpha' AND "
                              "disabled_seq IS NULL") < cursor &&
           test_now_s() < until)
        usleep(20000);
    int64_t from = test_sql_int(&env, "SELECT min(seq) FROM transactions WHERE reference = 'down-0'");
    snprintf(target, sizeof target, "/v1/webhooks/%s/redeliver", alpha_hook);
    snprintf(body, sizeof body, "{\"after\":%lld}", (long long)(from - 1));
    int accepted = receiver_accepted(), before = receiver_count();
    test_reply_t first = test_call(&env, &alpha, "POST", target, body, "redeliver-1");
    assert_int_equal(first.status, 200);
    test_reply_t again = test_call(&env, &alpha, "POST", target, body, "redeliver-1"); /* replayed, one effect */
    assert_int_equal(again.status, 200);
    assert_string_equal(first.body, again.body);
    test_reply_free(&first);
    test_reply_free(&again);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM journal WHERE type = 'webhook_redeliver'"), 1);
    /* every alpha earn from down-0 on again (down 3, kill 3, slow 11), same ids, in order */
    await_accepted(accepted + 17);
    assert_in_order(before, 17);
    json_t *bodies = received_bodies(before);
    char want[32];
    snprintf(want, sizeof want, "evt-%lld", (long long)from);
    assert_string_equal(json_string_value(json_object_get(json_array_get(bodies, 0), "id")), want);
    json_decref(bodies);
    /* forward is refused: it would skip events */
    snprintf(body, sizeof body, "{\"after\":%lld}", (long long)INT64_C(999999999));
    expect_field(test_call(&env, &alpha, "POST", target, body, NULL), "after");
    expect_field(test_call(&env, &alpha, "POST", target, "{\"after\":-1}", NULL), "after");
    expect_field(test_call(&env, &alpha, "POST", target, "{}", NULL), "after");
    /* another partner's webhook is not found */
    test_expect(test_call(&env, &beta, "POST", target, "{\"after\":0}", NULL), 404, "not_found");
    /* disable: nothing more is sent */
    snprintf(target, sizeof target, "/v1/webhooks/%s/disable", alpha_hook);
    test_reply_t reply = test_call(&env, &alpha, "POST", target, "{}", NULL);
    assert_int_equal(reply.status, 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(reply.json, "webhook"), "status")),
                        "disabled");
    test_reply_free(&reply);
    test_expect(test_call(&env, &alpha, "POST", target, "{}", NULL), 409, "webhook_disabled");
    before = receiver_count();
    test_expect(test_move(&env, &alpha, "/v1/earn", "m-6", 10, "after-disable"), 201, NULL);
    usleep(500000); /* ten polls */
    assert_int_equal(receiver_count(), before);
    /* metrics count the attempts */
    reply = test_call(&env, NULL, "GET", "/metrics", NULL, NULL);
    assert_non_null(strstr(reply.body, "ledger_webhook_deliveries_total{outcome=\"ok\"}"));
    test_reply_free(&reply);
}

/* Two ledgerd on one database: each endpoint is delivered by one worker of one instance at a
 * time (the advisory lock), so deliveries never overlap and keep their order, none twice. */
static void test_two_instances_one_dispatcher(void **state)
{
    (void)state;
    test_env_t second = env;
    assert_int_equal(test_ledgerd_spawn(&second), 0);
    test_reply_t reply = register_webhook(&beta, receiver_url, "[\"earn.created\"]");
    assert_int_equal(reply.status, 201);
    test_reply_free(&reply);
    pthread_mutex_lock(&receiver.lock);
    receiver.inflight_max = 0;
    pthread_mutex_unlock(&receiver.lock);
    receiver_set(0, 50);
    int accepted = receiver_accepted(), before = receiver_count();
    for (int i = 0; i < 10; i++) {
        char reference[32];
        snprintf(reference, sizeof reference, "two-%d", i);
        test_expect(test_move(i % 2 ? &second : &env, &beta, "/v1/earn", "m-7", 10, reference), 201, NULL);
    }
    await_accepted(accepted + 10);
    assert_in_order(before, 10);
    assert_int_equal(receiver_count(), before + 10); /* none twice */
    pthread_mutex_lock(&receiver.lock);
    assert_int_equal(receiver.inflight_max, 1);
    pthread_mutex_unlock(&receiver.lock);
    receiver_set(0, 0);
    kill(second.pid, SIGTERM);
    waitpid(second.pid, NULL, 0);
}

/* An event built from a journal entry altered by hand to hold points no JSON text can state
 * (beyond 2^53 - 1, decision 199): the attempt is recorded as failed with the reason and nothing
 * is sent, ledgerd keeps running; once the entry is restored the same event is delivered. */
static void test_altered_entry_not_sent(void **state)
{
    (void)state;
    test_key_t gamma;
    test_partner(&env, "gamma", 0, &gamma);
    test_expect(test_move(&env, &gamma, "/v1/earn", "m-alt", 5, "altered-1"), 201, NULL);
    int64_t seq = test_sql_int(&env, "SELECT seq FROM transactions WHERE reference = 'altered-1'");
    test_reply_t reply = register_webhook(&gamma, receiver_url, "[\"earn.created\"]");
    assert_int_equal(reply.status, 201);
    char id[64], target[128], body[64], sql[512], event_id[32];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(json_object_get(reply.json, "webhook"), "id")));
    test_reply_free(&reply);
    snprintf(sql, sizeof sql,
             "CREATE TABLE saved_alt AS SELECT seq, text FROM journal WHERE seq = %lld; "
             "ALTER TABLE journal DISABLE TRIGGER journal_immutable; "
             "UPDATE journal SET text = regexp_replace(text, '\"points\":5', '\"points\":9007199254740993') "
             "WHERE seq = %lld; ALTER TABLE journal ENABLE TRIGGER journal_immutable",
             (long long)seq, (long long)seq);
    assert_int_equal(test_sql_exec(&env, sql), 0);
    int before = receiver_count();
    snprintf(target, sizeof target, "/v1/webhooks/%s/redeliver", id);
    snprintf(body, sizeof body, "{\"after\":%lld}", (long long)(seq - 1));
    test_expect(test_call(&env, &gamma, "POST", target, body, NULL), 200, NULL);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM webhook_deliveries d JOIN webhooks w ON w.seq = d.webhook WHERE w.partner = "
             "'gamma' AND d.event_seq = %lld AND NOT d.ok AND d.error LIKE '%%no canonical JSON form%%'",
             (long long)seq);
    double until = test_now_s() + 20;
    while (test_sql_int(&env, sql) < 2 && test_now_s() < until) /* retried with backoff, never sent */
        usleep(20000);
    assert_true(test_sql_int(&env, sql) >= 2);
    assert_int_equal(receiver_count(), before);
    test_expect(test_call(&env, NULL, "GET", "/healthz", NULL, NULL), 200, NULL);
    assert_int_equal(test_sql_exec(&env, "ALTER TABLE journal DISABLE TRIGGER journal_immutable; "
                                         "UPDATE journal SET text = s.text FROM saved_alt s WHERE journal.seq = s.seq; "
                                         "ALTER TABLE journal ENABLE TRIGGER journal_immutable; DROP TABLE saved_alt"),
                     0);
    await_accepted(receiver_accepted() + 1);
    json_t *bodies = received_bodies(before);
    snprintf(event_id, sizeof event_id, "evt-%lld", (long long)seq);
    assert_string_equal(json_string_value(json_object_get(json_array_get(bodies, 0), "id")), event_id);
    json_decref(bodies);
    snprintf(target, sizeof target, "/v1/webhooks/%s/disable", id);
    test_expect(test_call(&env, &gamma, "POST", target, "{}", NULL), 200, NULL);
    test_key_free(&gamma);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registration_refused),
        cmocka_unit_test(test_loopback_refused_at_delivery),
        cmocka_unit_test(test_delivered_in_order_signed),
        cmocka_unit_test(test_500_then_200),
        cmocka_unit_test(test_receiver_stopped_and_started),
        cmocka_unit_test(test_killed_mid_delivery),
        cmocka_unit_test(test_hung_receiver_does_not_slow_earns),
        cmocka_unit_test(test_redeliver_and_disable),
        cmocka_unit_test(test_two_instances_one_dispatcher),
        cmocka_unit_test(test_altered_entry_not_sent),
    };
    signal(SIGPIPE, SIG_IGN);
    receiver.port = 0;
    int status = cmocka_run_group_tests(tests, setup, teardown);
    return status;
}

/* End-to-end: the HTTP layer against hostile clients (issue 16 items 1, 6, 7, 9) — a Content-Digest
 * signed with trailing whitespace, message framing that a proxy and ledgerd could read differently
 * (request smuggling), too many query parameters, media types, bodies refused from their headers
 * before they are read, the bound on bodies in flight, slow clients cut at the request deadline
 * and the per-address connection limit, while a client from another address is served. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "auth.h"
#include "buf.h"
#include "client.h"
#include "support.h"

/* ledgerd for this suite: a 2 s request deadline, 40 connections per address, 2.5 MiB of bodies */
#define DEADLINE_S        2
#define PER_ADDRESS       40
#define IN_FLIGHT_BYTES   2621440
#define BIG_BODY_BYTES    1000000

static test_env_t env;
static test_key_t coffee, tea, juice;

static int setup(void **state)
{
    (void)state;
    char value[32];
    snprintf(value, sizeof value, "%d", DEADLINE_S);
    setenv("LEDGER_HTTP_REQUEST_DEADLINE_S", value, 1);
    snprintf(value, sizeof value, "%d", PER_ADDRESS);
    setenv("LEDGER_HTTP_CONNECTIONS_PER_ADDRESS", value, 1);
    snprintf(value, sizeof value, "%d", IN_FLIGHT_BYTES);
    setenv("LEDGER_HTTP_BODY_BYTES_IN_FLIGHT", value, 1);
    test_env_start(&env, "e2e_http_hostile");
    test_partner(&env, "coffee", 0, &coffee);
    test_partner(&env, "tea", 0, &tea);
    test_partner(&env, "juice", 0, &juice);
    test_reply_t reply =
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
    test_key_free(&tea);
    test_key_free(&juice);
    return 0;
}

static int64_t journal_size(void)
{
    return test_sql_int(&env, "SELECT count(*) FROM journal");
}

/* A TCP connection to the ledgerd on port from source (a loopback address: 127.0.0.1, 127.0.0.2, ...). */
static int connect_to(const char *source, uint16_t port)
{
    struct sockaddr_in local = {0}, remote = {0};
    local.sin_family = remote.sin_family = AF_INET;
    inet_pton(AF_INET, source, &local.sin_addr);
    inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
    remote.sin_port = htons(port);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&local, sizeof local), 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&remote, sizeof remote), 0);
    return fd;
}

/* A TCP connection to the suite's ledgerd from source. */
static int connect_from(const char *source)
{
    return connect_to(source, env.port);
}

static void send_all(int fd, const char *data, size_t len)
{
    size_t sent = 0;
    while (sent < len) {
        ssize_t n = send(fd, data + sent, len - sent, MSG_NOSIGNAL);
        assert_true(n > 0);
        sent += (size_t)n;
    }
}

/* What came back on a connection within timeout_s: the bytes, and whether the server closed it. */
typedef struct {
    buf_t raw;
    int closed;
    int status;
} answer_t;

static answer_t read_answer(int fd, double timeout_s)
{
    answer_t answer = {BUF_INIT, 0, 0};
    double end = test_now_s() + timeout_s;
    char chunk[4096];
    while (!answer.closed && test_now_s() < end) {
        struct pollfd wait = {fd, POLLIN, 0};
        if (poll(&wait, 1, (int)((end - test_now_s()) * 1000) + 1) <= 0) continue;
        ssize_t n = recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) answer.closed = 1;
        else buf_append(&answer.raw, chunk, (size_t)n);
    }
    buf_append(&answer.raw, "", 1);
    answer.raw.len--;
    if (answer.raw.len > 0) sscanf(answer.raw.data, "HTTP/1.1 %d", &answer.status);
    return answer;
}

static int answer_has_code(const answer_t *answer, const char *code)
{
    char needle[96];
    snprintf(needle, sizeof needle, "\"code\":\"%s\"", code);
    return answer->raw.len > 0 && strstr(answer->raw.data, needle) != NULL;
}

/* Number of HTTP responses in the bytes read. */
static int answer_count(const answer_t *answer)
{
    int count = 0;
    for (const char *s = answer->raw.data; s != NULL && (s = strstr(s, "HTTP/1.1 ")) != NULL; s++)
        count++;
    return count;
}

/* Sends request on a fresh connection from source; reads for up to timeout_s. */
static answer_t exchange(const char *source, const char *request, size_t len, double timeout_s)
{
    int fd = connect_from(source);
    send_all(fd, request, len);
    answer_t answer = read_answer(fd, timeout_s);
    close(fd);
    return answer;
}

/* The header lines (no final CRLF) of a POST to target signed by key over body; content_digest
 * and signed_digest override the header's and the signed base's Content-Digest (NULL: canonical). */
static void signed_post_headers(buf_t *out, const test_key_t *key, const char *target, const char *body,
                                const char *idempotency_key, const char *content_digest, const char *signed_digest)
{
    char *canonical = auth_content_digest(body, strlen(body));
    char params[256];
    snprintf(params, sizeof params,
             "(\"@method\" \"@path\" \"@query\" \"content-digest\" \"idempotency-key\");created=%lld;keyid=\"%s\"",
             (long long)time(NULL), key->keyid);
    auth_component_t components[5] = {{"@method", "POST"},
                                      {"@path", target},
                                      {"@query", "?"},
                                      {"content-digest", signed_digest ? signed_digest : canonical},
                                      {"idempotency-key", idempotency_key}};
    char *base = auth_signature_base(components, 5, params);
    uint8_t signature[CRYPTO_ED25519_SIGNATURE_BYTES];
    assert_int_equal(crypto_signer_sign(key->signer, base, strlen(base), signature), 0);
    char *signature_b64 = crypto_base64_encode(signature, sizeof signature);
    buf_printf(out,
               "POST %s HTTP/1.1\r\nHost: x\r\nContent-Digest: %s\r\nIdempotency-Key: %s\r\n"
               "Signature-Input: sig1=%s\r\nSignature: sig1=:%s:\r\n",
               target, content_digest ? content_digest : canonical, idempotency_key, params, signature_b64);
    free(signature_b64);
    free(base);
    free(canonical);
}

/* Issue item 1: what the service accepts, the offline verifier accepts. */
static void test_content_digest_signed_with_trailing_space(void **state)
{
    (void)state;
    const char *body = "{\"member\":\"m\",\"points\":5,\"reference\":\"digest-space\"}";
    char *canonical = auth_content_digest(body, strlen(body));
    buf_t spaced = BUF_INIT, request = BUF_INIT;
    buf_printf(&spaced, "%s ", canonical);
    int64_t before = journal_size();
    /* signed over "sha-256=:…: " (the space in the header and in the signed base): refused */
    signed_post_headers(&request, &coffee, "/v1/earn", body, "k-digest-space", spaced.data, spaced.data);
    buf_printf(&request, "Content-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
               strlen(body), body);
    answer_t answer = exchange("127.0.0.1", request.data, request.len, 5);
    assert_int_equal(answer.status, 401);
    assert_true(answer_has_code(&answer, "signature_invalid"));
    buf_free(&answer.raw);
    assert_int_equal(journal_size(), before);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM transactions WHERE reference = 'digest-space'"), 0);
    /* whitespace around a field value is not part of it (RFC 9110 5.5): signed over the value, accepted */
    buf_reset(&request);
    signed_post_headers(&request, &coffee, "/v1/earn", body, "k-digest-space-2", spaced.data, NULL);
    buf_printf(&request, "Content-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
               strlen(body), body);
    answer = exchange("127.0.0.1", request.data, request.len, 5);
    assert_int_equal(answer.status, 201);
    buf_free(&answer.raw);
    /* any other digest text is a mismatch */
    buf_reset(&request);
    buf_reset(&spaced);
    buf_printf(&spaced, "sha-256=:%s:, sha-512=:AA==:", canonical + strlen("sha-256=:"));
    signed_post_headers(&request, &coffee, "/v1/earn", body, "k-digest-space-3", spaced.data, spaced.data);
    buf_printf(&request, "Content-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
               strlen(body), body);
    answer = exchange("127.0.0.1", request.data, request.len, 5);
    assert_int_equal(answer.status, 401);
    assert_true(answer_has_code(&answer, "digest_mismatch"));
    buf_free(&answer.raw);
    free(canonical);
    buf_free(&spaced);
    buf_free(&request);
}

/* Issue item 9: Content-Length with Transfer-Encoding; the request hidden behind is never run. */
static void test_smuggled_request_is_not_executed(void **state)
{
    (void)state;
    const char *body = "{\"member\":\"m\",\"points\":5,\"reference\":\"smuggled\"}";
    buf_t smuggled = BUF_INIT, request = BUF_INIT;
    signed_post_headers(&smuggled, &coffee, "/v1/earn", body, "k-smuggled", NULL, NULL);
    buf_printf(&smuggled, "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", strlen(body), body);
    /* a proxy honouring Content-Length forwards all of it as one request's body */
    buf_printf(&request,
               "POST /v1/earn HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
               "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
               strlen("0\r\n\r\n") + smuggled.len);
    buf_append(&request, smuggled.data, smuggled.len);
    answer_t answer = exchange("127.0.0.1", request.data, request.len, 3);
    assert_int_equal(answer.status, 400);
    assert_true(answer_has_code(&answer, "malformed_request"));
    assert_int_equal(answer_count(&answer), 1);
    assert_true(answer.closed);
    buf_free(&answer.raw);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM transactions WHERE reference = 'smuggled'"), 0);
    buf_free(&smuggled);
    buf_free(&request);
}

/* Issue item 9: every other ambiguous framing: 400 malformed_request at once, connection closed. */
static void test_ambiguous_framing_refused(void **state)
{
    (void)state;
    static const char *const requests[] = {
        /* two Content-Lengths, conflicting */
        "POST /v1/earn HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}x",
        /* two Content-Lengths, equal */
        "POST /v1/earn HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
        /* an unknown Transfer-Encoding with a Content-Length (hung before) */
        "POST /v1/earn HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nContent-Length: 2\r\n\r\n{}",
        /* an unknown Transfer-Encoding alone */
        "POST /v1/earn HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        /* two Transfer-Encodings */
        "POST /v1/earn HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    };
    int64_t before = journal_size();
    for (size_t i = 0; i < sizeof requests / sizeof requests[0]; i++) {
        double start = test_now_s();
        answer_t answer = exchange("127.0.0.1", requests[i], strlen(requests[i]), 3);
        print_message("framing case %zu: status %d\n", i, answer.status);
        assert_int_equal(answer.status, 400);
        assert_true(answer_has_code(&answer, "malformed_request"));
        assert_true(answer.closed);
        assert_true(test_now_s() - start < 1.5);
        buf_free(&answer.raw);
    }
    assert_int_equal(journal_size(), before);
}

/* Issue item 9: 300 query parameters got no answer and held the socket for the idle timeout. */
static void test_too_many_query_parameters(void **state)
{
    (void)state;
    buf_t request = BUF_INIT;
    buf_append_str(&request, "GET /healthz?");
    for (int i = 0; i < 300; i++)
        buf_printf(&request, "%sa%d=b", i ? "&" : "", i);
    buf_append_str(&request, " HTTP/1.1\r\nHost: x\r\n\r\n");
    double start = test_now_s();
    answer_t answer = exchange("127.0.0.1", request.data, request.len, 3);
    assert_int_equal(answer.status, 400);
    assert_true(answer_has_code(&answer, "malformed_request"));
    assert_true(answer.closed);
    assert_true(test_now_s() - start < 1.5);
    buf_free(&answer.raw);
    buf_free(&request);
    /* a few parameters are fine, and the query still reaches the handler */
    test_reply_t reply = test_call(&env, &coffee, "GET", "/v1/members/m/transactions?limit=1&after=1", NULL, NULL);
    assert_int_equal(reply.status, 200);
    test_reply_free(&reply);
}

/* Issue item 9: the media type is parsed, not prefix-compared. */
static void test_media_type(void **state)
{
    (void)state;
    static const struct {
        const char *type;
        int status;
    } cases[] = {
        {"application/jsonp", 415},
        {"application/json-seq", 415},
        {"application/jsonx; charset=utf-8", 415},
        {"Application/JSON; charset=utf-8", 201},
        {"application/json ;charset=utf-8", 201},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char body[128], idempotency_key[32];
        snprintf(body, sizeof body, "{\"member\":\"m\",\"points\":1,\"reference\":\"media-%zu\"}", i);
        snprintf(idempotency_key, sizeof idempotency_key, "k-media-%zu", i);
        buf_t request = BUF_INIT;
        signed_post_headers(&request, &coffee, "/v1/earn", body, idempotency_key, NULL, NULL);
        buf_printf(&request, "Content-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s", cases[i].type,
                   strlen(body), body);
        answer_t answer = exchange("127.0.0.1", request.data, request.len, 5);
        print_message("media type %s: status %d\n", cases[i].type, answer.status);
        assert_int_equal(answer.status, cases[i].status);
        if (cases[i].status == 415) assert_true(answer_has_code(&answer, "unsupported_media_type"));
        buf_free(&answer.raw);
        buf_free(&request);
    }
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM transactions WHERE reference LIKE 'media-%'"), 2);
}

/* Issue item 7: a large body is refused from its headers; the client never has to send it. */
static void test_body_refused_before_it_is_read(void **state)
{
    (void)state;
    char request[1024];
    snprintf(request, sizeof request,
             "POST /v1/earn HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
             BIG_BODY_BYTES);
    answer_t answer = exchange("127.0.0.1", request, strlen(request), 2);
    assert_int_equal(answer.status, 401);
    assert_true(answer_has_code(&answer, "signature_missing"));
    assert_true(answer.closed);
    buf_free(&answer.raw);
    /* signed by a key the ledger does not know */
    test_key_t stranger;
    test_key_new(&stranger, "stranger-1");
    buf_t headers = BUF_INIT;
    signed_post_headers(&headers, &stranger, "/v1/earn", "{}", "k-stranger", NULL, NULL);
    buf_printf(&headers, "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n", BIG_BODY_BYTES);
    answer = exchange("127.0.0.1", headers.data, headers.len, 2);
    assert_int_equal(answer.status, 401);
    assert_true(answer_has_code(&answer, "unknown_key"));
    assert_true(answer.closed);
    buf_free(&answer.raw);
    buf_free(&headers);
    test_key_free(&stranger);
    /* a route that does not exist */
    snprintf(request, sizeof request, "POST /v1/nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n",
             BIG_BODY_BYTES);
    answer = exchange("127.0.0.1", request, strlen(request), 2);
    assert_int_equal(answer.status, 404);
    buf_free(&answer.raw);
}

/* A signed upload of BIG_BODY_BYTES by key to the ledgerd on port that sends its headers and a few
 * bytes, then stalls. */
static int stalled_upload_to(const test_key_t *key, uint16_t port, const char *idempotency_key)
{
    buf_t headers = BUF_INIT;
    signed_post_headers(&headers, key, "/v1/earn", "{}", idempotency_key, NULL, NULL);
    buf_printf(&headers, "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n{   ", BIG_BODY_BYTES);
    int fd = connect_to("127.0.0.1", port);
    send_all(fd, headers.data, headers.len);
    buf_free(&headers);
    return fd;
}

static char *big_earn(const char *reference)
{
    char *body = malloc(BIG_BODY_BYTES + 1);
    int head = snprintf(body, BIG_BODY_BYTES, "{\"member\":\"m\",\"points\":1,\"reference\":\"%s\"", reference);
    memset(body + head, ' ', (size_t)(BIG_BODY_BYTES - head - 1));
    body[BIG_BODY_BYTES - 1] = '}';
    body[BIG_BODY_BYTES] = '\0';
    return body;
}

/* Issue item 7: bodies in flight are bounded (2.5 MiB here): past it 503 server_busy + Retry-After.
 * The stalled uploads are two other partners' (each within its share of the bound). */
static void test_bodies_in_flight_bounded(void **state)
{
    (void)state;
    int first = stalled_upload_to(&tea, env.port, "k-stall-1");
    int second = stalled_upload_to(&juice, env.port, "k-stall-2");
    usleep(200 * 1000);
    char *body = big_earn("in-flight");
    client_response_t response;
    buf_t request = BUF_INIT;
    signed_post_headers(&request, &coffee, "/v1/earn", body, "k-in-flight", NULL, NULL);
    buf_printf(&request, "Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
               BIG_BODY_BYTES);
    buf_append(&request, body, BIG_BODY_BYTES);
    assert_int_equal(client_send_raw("127.0.0.1", env.port, request.data, request.len, &response), 0);
    assert_int_equal(response.status, 503);
    assert_non_null(strstr(response.body, "\"code\":\"server_busy\""));
    assert_true(response.retry_after_s >= 1);
    client_response_free(&response);
    /* the stalled uploads end: their reservations are released, the same request now goes through */
    close(first);
    close(second);
    usleep(300 * 1000);
    assert_int_equal(client_send_raw("127.0.0.1", env.port, request.data, request.len, &response), 0);
    assert_int_equal(response.status, 201);
    client_response_free(&response);
    buf_free(&request);
    free(body);
}

/* A signed GET and /healthz from source: both must be answered 200 within limit_s. */
static void served_promptly(const char *source, double limit_s)
{
    buf_t request = BUF_INIT;
    buf_append_str(&request, "GET /v1/members/m HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    client_sign(&request, coffee.keyid, coffee.signer, "GET", "/v1/members/m", NULL, 0, NULL, 0);
    buf_append_str(&request, "\r\n");
    double start = test_now_s();
    answer_t answer = exchange(source, request.data, request.len, limit_s + 1);
    assert_int_equal(answer.status, 200);
    buf_free(&answer.raw);
    const char *health = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    answer = exchange(source, health, strlen(health), limit_s + 1);
    assert_int_equal(answer.status, 200);
    buf_free(&answer.raw);
    assert_true(test_now_s() - start < limit_s);
    buf_free(&request);
}

/* Issue item 6: dribbling clients are cut at the request deadline, whatever pace keeps them under
 * the idle timeout, while another address is served throughout. */
static void test_slow_clients_cut_at_deadline(void **state)
{
    (void)state;
    enum { SLOW = 30 };
    int slow[SLOW];
    double opened = test_now_s(), cut_at[SLOW];
    for (int i = 0; i < SLOW; i++) {
        slow[i] = connect_from("127.0.0.1");
        cut_at[i] = 0;
        buf_t start = BUF_INIT;
        if (i % 2) { /* dribbled headers */
            buf_append_str(&start, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ");
        } else { /* a signed upload, its body dribbled */
            char idempotency_key[32];
            snprintf(idempotency_key, sizeof idempotency_key, "k-slow-%d", i);
            signed_post_headers(&start, &coffee, "/v1/earn", "{}", idempotency_key, NULL, NULL);
            /* 15 x 50,000 bytes: within one key's share of the bound */
            buf_append_str(&start, "Content-Type: application/json\r\nContent-Length: 50000\r\n\r\n");
        }
        send_all(slow[i], start.data, start.len);
        buf_free(&start);
    }
    int remaining = SLOW;
    while (remaining > 0 && test_now_s() - opened < DEADLINE_S + 4) {
        for (int i = 0; i < SLOW; i++) {
            if (cut_at[i] != 0) continue;
            char byte[512];
            ssize_t n = recv(slow[i], byte, sizeof byte, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) ||
                send(slow[i], "a", 1, MSG_NOSIGNAL) < 0) {
                cut_at[i] = test_now_s() - opened;
                remaining--;
            }
        }
        served_promptly("127.0.0.2", 1.0);
        usleep(200 * 1000);
    }
    for (int i = 0; i < SLOW; i++) {
        print_message("slow client %d cut after %.2f s\n", i, cut_at[i]);
        assert_true(cut_at[i] >= DEADLINE_S - 0.5 && cut_at[i] <= DEADLINE_S + 2.0);
        close(slow[i]);
    }
}

/* Issue item 6: one address holds at most PER_ADDRESS connections; the rest are closed at once. */
static void test_connections_per_address(void **state)
{
    (void)state;
    enum { HELD = PER_ADDRESS + 20 };
    int held[HELD], refused = 0;
    usleep(300 * 1000); /* earlier connections are cleaned up */
    for (int i = 0; i < HELD; i++)
        held[i] = connect_from("127.0.0.1");
    usleep(500 * 1000);
    for (int i = 0; i < HELD; i++) {
        char byte;
        ssize_t n = recv(held[i], &byte, 1, MSG_DONTWAIT);
        refused += n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
    }
    print_message("%d of %d connections from one address refused\n", refused, HELD);
    assert_true(refused >= HELD - PER_ADDRESS);
    served_promptly("127.0.0.2", 1.0);
    for (int i = 0; i < HELD; i++)
        close(held[i]);
    usleep(300 * 1000);
    served_promptly("127.0.0.1", 1.0); /* the address is served again once its connections are gone */
}

/* The new variables are bounded like every LEDGER_* one: nonsense stops ledgerd at start-up. */
static void test_bad_http_configuration_refused(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"LEDGER_HTTP_REQUEST_DEADLINE_S", "0"},
        {"LEDGER_HTTP_REQUEST_DEADLINE_S", "10s"},
        {"LEDGER_HTTP_CONNECTIONS_PER_ADDRESS", "-1"},
        {"LEDGER_HTTP_BODY_BYTES_IN_FLIGHT", "1000"}, /* less than one full-size body */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *saved = getenv(bad[i][0]) ? strdup(getenv(bad[i][0])) : NULL;
        setenv(bad[i][0], bad[i][1], 1);
        test_env_t other = env; /* the same database; this ledgerd must not start */
        int started = test_ledgerd_spawn(&other);
        if (started == 0) {
            kill(other.pid, SIGTERM);
            waitpid(other.pid, NULL, 0);
        }
        if (saved != NULL) setenv(bad[i][0], saved, 1);
        free(saved);
        print_message("%s=%s: %s\n", bad[i][0], bad[i][1], started == 0 ? "started" : "refused");
        assert_int_equal(started, -1);
    }
}

/* The outside review: unauthenticated uploads naming a known (public) keyid, with a random
 * signature and a random Content-Digest, each declaring 1 MiB and stalling after one byte, held
 * the whole bound on bodies in flight, so every real partner's upload got 503 server_busy. The
 * signature is now verified from the headers, before the body: each gets 401 at once and holds
 * nothing, and a correctly signed 1 MB earn of the partner they impersonate is served. */
static void test_unsigned_uploads_reserve_nothing(void **state)
{
    (void)state;
    enum { ATTACKERS = 8 };
    int attacker[ATTACKERS];
    int64_t before = journal_size();
    for (int i = 0; i < ATTACKERS; i++) {
        uint8_t junk[CRYPTO_ED25519_SIGNATURE_BYTES];
        crypto_random_bytes(junk, sizeof junk);
        char *signature_b64 = crypto_base64_encode(junk, sizeof junk);
        char *digest_b64 = crypto_base64_encode(junk, CRYPTO_SHA256_BYTES);
        buf_t headers = BUF_INIT;
        buf_printf(&headers,
                   "POST /v1/earn HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                   "Content-Digest: sha-256=:%s:\r\nIdempotency-Key: k-attack-%d\r\n"
                   "Signature-Input: sig1=(\"@method\" \"@path\" \"@query\" \"content-digest\" \"idempotency-key\")"
                   ";created=%lld;keyid=\"%s\"\r\nSignature: sig1=:%s:\r\n\r\n{",
                   LIMIT_BODY_BYTES_MAX, digest_b64, i, (long long)time(NULL), coffee.keyid, signature_b64);
        attacker[i] = connect_from("127.0.0.1");
        send_all(attacker[i], headers.data, headers.len);
        buf_free(&headers);
        free(signature_b64);
        free(digest_b64);
    }
    usleep(200 * 1000);
    char *body = big_earn("after-attack");
    buf_t request = BUF_INIT;
    client_response_t response;
    signed_post_headers(&request, &coffee, "/v1/earn", body, "k-after-attack", NULL, NULL);
    buf_printf(&request, "Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
               BIG_BODY_BYTES);
    buf_append(&request, body, BIG_BODY_BYTES);
    assert_int_equal(client_send_raw("127.0.0.1", env.port, request.data, request.len, &response), 0);
    print_message("signed earn while %d forged uploads stall: status %d\n", ATTACKERS, response.status);
    assert_int_equal(response.status, 201);
    client_response_free(&response);
    for (int i = 0; i < ATTACKERS; i++) {
        answer_t answer = read_answer(attacker[i], 2);
        assert_int_equal(answer.status, 401);
        assert_true(answer_has_code(&answer, "signature_invalid"));
        assert_true(answer.closed);
        buf_free(&answer.raw);
        close(attacker[i]);
    }
    assert_int_equal(journal_size(), before + 1);
    buf_free(&request);
    free(body);
}

/* A signed partner stalling its own uploads holds at most its share of the bound (a quarter:
 * 2 MiB of 8 MiB on a ledgerd of this test's own): its next upload gets 503 server_busy with
 * Retry-After, another partner's upload is served, and the share is free again once they end. */
static test_env_t other; /* the same database, a second ledgerd with an 8 MiB bound */

static void test_body_share_per_key(void **state)
{
    (void)state;
    char value[32];
    other = env;
    setenv("LEDGER_HTTP_BODY_BYTES_IN_FLIGHT", "8388608", 1);
    int started = test_ledgerd_spawn(&other);
    snprintf(value, sizeof value, "%d", IN_FLIGHT_BYTES);
    setenv("LEDGER_HTTP_BODY_BYTES_IN_FLIGHT", value, 1);
    assert_int_equal(started, 0);
    int first = stalled_upload_to(&coffee, other.port, "k-share-1");
    int second = stalled_upload_to(&coffee, other.port, "k-share-2");
    usleep(200 * 1000);
    char *coffee_body = big_earn("share-coffee"), *tea_body = big_earn("share-tea");
    buf_t coffee_request = BUF_INIT, tea_request = BUF_INIT;
    client_response_t response;
    signed_post_headers(&coffee_request, &coffee, "/v1/earn", coffee_body, "k-share-coffee", NULL, NULL);
    buf_printf(&coffee_request, "Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
               BIG_BODY_BYTES);
    buf_append(&coffee_request, coffee_body, BIG_BODY_BYTES);
    assert_int_equal(client_send_raw("127.0.0.1", other.port, coffee_request.data, coffee_request.len, &response), 0);
    print_message("coffee's third upload while two stall: status %d\n", response.status);
    assert_int_equal(response.status, 503);
    assert_non_null(strstr(response.body, "\"code\":\"server_busy\""));
    assert_true(response.retry_after_s >= 1);
    client_response_free(&response);
    signed_post_headers(&tea_request, &tea, "/v1/earn", tea_body, "k-share-tea", NULL, NULL);
    buf_printf(&tea_request, "Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
               BIG_BODY_BYTES);
    buf_append(&tea_request, tea_body, BIG_BODY_BYTES);
    assert_int_equal(client_send_raw("127.0.0.1", other.port, tea_request.data, tea_request.len, &response), 0);
    assert_int_equal(response.status, 201);
    client_response_free(&response);
    close(first);
    close(second);
    usleep(300 * 1000);
    assert_int_equal(client_send_raw("127.0.0.1", other.port, coffee_request.data, coffee_request.len, &response), 0);
    assert_int_equal(response.status, 201);
    client_response_free(&response);
    int status = 0;
    kill(other.pid, SIGTERM);
    waitpid(other.pid, &status, 0);
    other.pid = 0;
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    buf_free(&coffee_request);
    buf_free(&tea_request);
    free(coffee_body);
    free(tea_body);
}

/* Stops the second ledgerd when test_body_share_per_key failed before it did. */
static int other_stop(void **state)
{
    (void)state;
    if (other.pid > 0) {
        kill(other.pid, SIGTERM);
        waitpid(other.pid, NULL, 0);
        other.pid = 0;
    }
    return 0;
}

/* A Content-Digest validly signed but not the body's: 401 digest_mismatch after the body, nothing
 * written (the signature was verified before the body over the header's digest). */
static void test_body_not_the_signed_digest(void **state)
{
    (void)state;
    const char *signed_body = "{\"member\":\"m\",\"points\":500,\"reference\":\"swapped\"}";
    const char *sent_body = "{\"member\":\"m\",\"points\":5,\"reference\":\"swapped\"}";
    int64_t before = journal_size();
    buf_t request = BUF_INIT;
    signed_post_headers(&request, &coffee, "/v1/earn", signed_body, "k-swapped", NULL, NULL);
    buf_printf(&request, "Content-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
               strlen(sent_body), sent_body);
    answer_t answer = exchange("127.0.0.1", request.data, request.len, 5);
    assert_int_equal(answer.status, 401);
    assert_true(answer_has_code(&answer, "digest_mismatch"));
    buf_free(&answer.raw);
    assert_int_equal(journal_size(), before);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM transactions WHERE reference = 'swapped'"), 0);
    buf_free(&request);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_digest_signed_with_trailing_space),
        cmocka_unit_test(test_smuggled_request_is_not_executed),
        cmocka_unit_test(test_ambiguous_framing_refused),
        cmocka_unit_test(test_too_many_query_parameters),
        cmocka_unit_test(test_media_type),
        cmocka_unit_test(test_body_refused_before_it_is_read),
        cmocka_unit_test(test_bodies_in_flight_bounded),
        cmocka_unit_test(test_slow_clients_cut_at_deadline),
        cmocka_unit_test(test_connections_per_address),
        cmocka_unit_test(test_bad_http_configuration_refused),
        cmocka_unit_test(test_unsigned_uploads_reserve_nothing),
        cmocka_unit_test_teardown(test_body_share_per_key, other_stop),
        cmocka_unit_test(test_body_not_the_signed_digest),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

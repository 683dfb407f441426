/* http.c — libmicrohttpd glue. Owns the per-request context (raw URI, bounded body), turns
 * each request into a service_request_t after authenticating it, and sends the response.
 * Also owns the HTTP layer's defences (issue 16): message framing checks, the checks made from
 * the headers before a body is read (the signature included), the bound on body bytes in flight
 * and each key's share of it, and the per-request deadline (a sweeper thread shuts down
 * connections whose request is overdue). And the console's answers (issue 19): its files, kept in
 * memory by console.c, sent unsigned under a strict Content-Security-Policy. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "assert_always.h"
#include "auth.h"
#include "buf.h"
#include "router.h"
#include "routes.h"
#include "json.h"
#include "limits.h"
#include "log.h"
#include "metrics.h"
#include "openapi.h"
#include "query.h"
#include "ratelimit.h"
#include "service.h"
#include "service_writer.h"

/* Bytes of the bound on bodies in flight one key holds; bytes 0: a free slot. */
typedef struct {
    char keyid[LIMIT_KEYID_MAX + 1];
    long long bytes;
} http_key_bytes_t;

struct http_server {
    struct MHD_Daemon *daemon;
    store_pool_t *pool;                /* borrowed */
    const crypto_signer_t *ledger_key; /* borrowed */
    service_writer_t *writer;          /* borrowed; NULL: one transaction per mutation */
    const char *database_url;          /* borrowed from config */
    const char *origin;                /* borrowed from config */
    ratelimit_t *limits;               /* owned; NULL: no limits */
    const console_t *console;          /* borrowed; NULL: no console */
    store_keycache_t *keys;            /* borrowed; NULL: every request reads its key */
    int64_t clock_skew_s;
    int webhook_allow_private;
    uint64_t request_deadline_us;
    long long body_bytes_in_flight_max;
    long long body_bytes_per_key_max; /* one key's share of body_bytes_in_flight_max */
    pthread_mutex_t lock;             /* guards links, body_bytes_in_flight, body_keys and stopping */
    pthread_cond_t sweeper_wake;      /* signalled at stop */
    struct http_link *links;          /* owned: every open TCP connection */
    long long body_bytes_in_flight;   /* reserved by requests whose body is (being) buffered */
    http_key_bytes_t body_keys[LIMIT_HTTP_BODY_KEYS_MAX]; /* the same, per key */
    int stopping;
    pthread_t sweeper;
};

/* One TCP connection: its socket and the moment its current request must be complete by. */
typedef struct http_link {
    struct http_link *prev, *next;
    MHD_socket fd;        /* MHD's; valid while the link is listed (removed before MHD closes it) */
    uint64_t deadline_us; /* 0: none (the request is complete and being answered) */
    unsigned requests;    /* requests begun on this connection */
} http_link_t;

#define HTTP_HANDLER_ROW(method, pattern, kind, handler) handler,
static const service_handler_t http_handlers[] = {LEDGER_ROUTES(HTTP_HANDLER_ROW)};

typedef struct http_call http_call_t;

/* Everything http_dispatch works out about one request. */
struct http_call {
    const char *method;
    char path[LIMIT_HTTP_PATH_TEXT_BYTES];
    char query[LIMIT_HTTP_QUERY_TEXT_BYTES]; /* the @query component: "?" + raw query */
    const route_t *route;
    service_handler_t handler;
    char param[ROUTER_PARAM_MAX];
    auth_signature_input_t input;
    store_key_t key;
    service_request_t request;
    char signature_b64[LIMIT_BASE64_TEXT_BYTES(CRYPTO_ED25519_SIGNATURE_BYTES)];
    json_t *body; /* owned: parsed POST body (the writer may read it after http_call returns) */
    char content_digest[AUTH_CONTENT_DIGEST_SIZE]; /* the header's, canonical: signed, then the body's */
    int headers_checked; /* http_authenticate_headers passed (signature verified), before the body if any */
};

typedef struct {
    char *raw_uri; /* owned: request target exactly as received */
    buf_t body;
    int started;
    int dispatched; /* the request was handed to http_dispatch: a later call is its resume */
    int body_too_large;
    int server_busy;                      /* the body did not fit the in-flight bound: discarded, 503 */
    int close_connection;                 /* answer with Connection: close (malformed framing) */
    long long body_declared;              /* Content-Length, -1 chunked, 0 none */
    long long body_reserved;              /* bytes of the in-flight bound this request holds */
    char body_keyid[LIMIT_KEYID_MAX + 1]; /* the key they are counted against */
    uint64_t start_us;
    char request_id[LIMIT_HEX_TEXT_BYTES(LIMIT_REQUEST_ID_RANDOM_BYTES)];
    struct MHD_Connection *connection;
    http_call_t *call;           /* owned while the request is being answered */
    service_response_t response; /* filled by the handler, or later by the writer */
    const char *route_label;     /* static */
    int console;                 /* a request under /console: answered with the console's headers */
    const console_file_t *console_file; /* borrowed: the file sent (the body, not response->body) */
} http_context_t;

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The deadline sweeper's view of connections (MHD_OPTION_NOTIFY_CONNECTION). MHD notifies CLOSED
 * before it closes the socket, and the link leaves the list under the lock then: the sweeper, which
 * shuts sockets down only under that lock, never touches a descriptor reused by another connection. */
static void http_connection_notify(void *cls, struct MHD_Connection *connection, void **socket_context,
                                   enum MHD_ConnectionNotificationCode code)
{
    http_server_t *server = cls;
    http_link_t *link = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
        link = xcalloc(1, sizeof *link);
        link->fd = info != NULL ? info->connect_fd : MHD_INVALID_SOCKET;
        link->deadline_us = now_us() + server->request_deadline_us; /* the first request: from accept */
        pthread_mutex_lock(&server->lock);
        link->next = server->links;
        if (server->links != NULL) server->links->prev = link;
        server->links = link;
        pthread_mutex_unlock(&server->lock);
        *socket_context = link;
    } else if (link != NULL) {
        pthread_mutex_lock(&server->lock);
        if (link->prev != NULL)
            link->prev->next = link->next;
        else
            server->links = link->next;
        if (link->next != NULL) link->next->prev = link->prev;
        pthread_mutex_unlock(&server->lock);
        free(link);
        *socket_context = NULL;
    }
}

typedef enum { HTTP_LINK_REQUEST_BEGUN, HTTP_LINK_REQUEST_READ, HTTP_LINK_REQUEST_DONE } http_link_event_t;

/* Moves a connection's deadline: a kept-alive connection's next request gets the full deadline from
 * its request line; a request read in full has none while it is answered; after an answer the
 * next request line must come within the idle timeout (a dribbled request line cannot extend it). */
static void http_link_event(http_server_t *server, struct MHD_Connection *connection, http_link_event_t event)
{
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    http_link_t *link = info != NULL ? info->socket_context : NULL;
    if (link == NULL) return;
    uint64_t now = now_us();
    pthread_mutex_lock(&server->lock);
    if (event == HTTP_LINK_REQUEST_BEGUN) {
        if (link->requests++ > 0) link->deadline_us = now + server->request_deadline_us;
    } else if (event == HTTP_LINK_REQUEST_READ) {
        link->deadline_us = 0;
    } else {
        link->deadline_us = now + (uint64_t)LIMIT_HTTP_CONNECTION_TIMEOUT_S * 1000000u;
    }
    pthread_mutex_unlock(&server->lock);
}

/* Every LIMIT_HTTP_SWEEP_INTERVAL_MS: shuts down (both ways) each connection whose request is
 * overdue; MHD then sees the end of its socket and closes the connection itself. */
static void *http_sweeper(void *arg)
{
    http_server_t *server = arg;
    pthread_mutex_lock(&server->lock);
    while (!server->stopping) {
        struct timespec wake;
        clock_gettime(CLOCK_REALTIME, &wake);
        wake.tv_nsec += LIMIT_HTTP_SWEEP_INTERVAL_MS * 1000000L;
        wake.tv_sec += wake.tv_nsec / 1000000000L;
        wake.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&server->sweeper_wake, &server->lock, &wake);
        uint64_t now = now_us();
        unsigned cut = 0;
        for (http_link_t *link = server->links; link != NULL; link = link->next) {
            if (link->deadline_us == 0 || link->deadline_us > now || link->fd == MHD_INVALID_SOCKET) continue;
            shutdown(link->fd, SHUT_RDWR);
            link->deadline_us = 0;
            cut++;
        }
        if (cut > 0) log_info("request deadline passed: connections shut down", json_pack("{s:i}", "connections", cut));
    }
    pthread_mutex_unlock(&server->lock);
    return NULL;
}

/* The slot counting keyid's bytes in flight, else a free one, else NULL. Called under server->lock. */
static http_key_bytes_t *http_key_slot(http_server_t *server, const char *keyid)
{
    http_key_bytes_t *free_slot = NULL;
    for (size_t i = 0; i < LIMIT_HTTP_BODY_KEYS_MAX; i++) {
        http_key_bytes_t *slot = &server->body_keys[i];
        if (slot->bytes > 0 && strcmp(slot->keyid, keyid) == 0) return slot;
        if (slot->bytes == 0 && free_slot == NULL) free_slot = slot;
    }
    return free_slot;
}

/* Reserves bytes of the bound on bodies in flight, and of its key's share, for context's request,
 * which has been authenticated (only a verified signature may hold body bytes). Returns
 * RESULT_OK, or RESULT_SERVER_BUSY with *detail when they do not fit. */
static result_t http_body_reserve(http_server_t *server, http_context_t *context, long long bytes, const char **detail)
{
    const http_call_t *call = context->call;
    ASSERT_ALWAYS(call != NULL && call->headers_checked && bytes > 0);
    ASSERT_ALWAYS(context->body_reserved == 0 || strcmp(context->body_keyid, call->input.keyid) == 0);
    pthread_mutex_lock(&server->lock);
    http_key_bytes_t *slot = http_key_slot(server, call->input.keyid);
    int all_fit = server->body_bytes_in_flight + bytes <= server->body_bytes_in_flight_max;
    int key_fits = slot != NULL && slot->bytes + bytes <= server->body_bytes_per_key_max;
    if (all_fit && key_fits) {
        if (slot->bytes == 0) snprintf(slot->keyid, sizeof slot->keyid, "%s", call->input.keyid);
        slot->bytes += bytes;
        server->body_bytes_in_flight += bytes;
        context->body_reserved += bytes;
        snprintf(context->body_keyid, sizeof context->body_keyid, "%s", call->input.keyid);
    }
    pthread_mutex_unlock(&server->lock);
    *detail = !all_fit    ? "too many request bodies in flight; retry"
              : !key_fits ? "this key has its share of the request bodies in flight; retry"
                          : NULL;
    return all_fit && key_fits ? RESULT_OK : RESULT_SERVER_BUSY;
}

/* Gives back what context's request holds of the bound and of its key's share (however the request
 * ends: http_completed, or a body that overflowed). */
static void http_body_release(http_server_t *server, http_context_t *context)
{
    if (context->body_reserved == 0) return;
    pthread_mutex_lock(&server->lock);
    http_key_bytes_t *slot = http_key_slot(server, context->body_keyid);
    ASSERT_ALWAYS(slot != NULL && slot->bytes >= context->body_reserved &&
                  strcmp(slot->keyid, context->body_keyid) == 0);
    slot->bytes -= context->body_reserved;
    server->body_bytes_in_flight -= context->body_reserved;
    ASSERT_ALWAYS(server->body_bytes_in_flight >= 0);
    pthread_mutex_unlock(&server->lock);
    context->body_reserved = 0;
}

/* Runs before MHD parses the URI: keeps the raw target for @path/@query. */
static void *http_uri_logger(void *cls, const char *uri, struct MHD_Connection *connection)
{
    http_server_t *server = cls;
    http_context_t *context = xcalloc(1, sizeof *context);
    uint8_t random[LIMIT_REQUEST_ID_RANDOM_BYTES];
    context->raw_uri = xstrdup(uri);
    /* MHD 0.9.75 next parses every query argument into the connection's 16 KiB memory pool, and when
     * that runs out (~300 arguments) it neither answers nor closes until the idle timeout. We read
     * the query from raw_uri only (query_value), so the arguments are blanked out of MHD's own
     * request-line buffer (writable: MHD cuts it in place) and the query is judged in http_begin. */
    char *question = strchr((char *)(uintptr_t)uri, '?');
    if (question != NULL) memset(question, 0, strlen(question));
    http_link_event(server, connection, HTTP_LINK_REQUEST_BEGUN);
    context->connection = connection;
    context->start_us = now_us();
    crypto_random_bytes(random, sizeof random);
    crypto_hex(random, sizeof random, context->request_id);
    return context;
}

static void http_call_free(http_call_t *call);

static void http_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                           enum MHD_RequestTerminationCode code)
{
    http_server_t *server = cls;
    http_context_t *context = *con_cls;
    if (context == NULL) return;
    http_body_release(server, context);
    if (code == MHD_REQUEST_TERMINATED_COMPLETED_OK) http_link_event(server, connection, HTTP_LINK_REQUEST_DONE);
    /* a suspended connection completes only after its resume, i.e. after the writer is done with
     * it (a client that left while waiting is noticed then) */
    http_call_free(context->call);
    service_response_free(&context->response);
    free(context->raw_uri);
    buf_free(&context->body);
    free(context);
    *con_cls = NULL;
}

/* Keep the path exactly as sent: it is a signed component. */
static size_t http_unescape_none(void *cls, struct MHD_Connection *connection, char *text)
{
    (void)cls, (void)connection;
    return strlen(text);
}

/* A streamed body: pulls pieces from the producer as MHD asks for bytes (bounded memory). */
typedef struct {
    int (*next)(void *context, buf_t *out);
    void (*release)(void *context);
    void *context;
    buf_t pending;
    size_t offset;
    int finished;
} http_stream_t;

static ssize_t http_stream_read(void *cls, uint64_t position, char *out, size_t max)
{
    http_stream_t *stream = cls;
    (void)position;
    while (stream->offset == stream->pending.len) {
        if (stream->finished) return MHD_CONTENT_READER_END_OF_STREAM;
        buf_reset(&stream->pending);
        stream->offset = 0;
        int more = stream->next(stream->context, &stream->pending);
        if (more < 0) return MHD_CONTENT_READER_END_WITH_ERROR;
        if (more == 0) stream->finished = 1;
    }
    size_t n = stream->pending.len - stream->offset < max ? stream->pending.len - stream->offset : max;
    memcpy(out, stream->pending.data + stream->offset, n);
    stream->offset += n;
    return (ssize_t)n;
}

static void http_stream_free(void *cls)
{
    http_stream_t *stream = cls;
    stream->release(stream->context);
    buf_free(&stream->pending);
    free(stream);
}

static struct MHD_Response *http_reply(service_response_t *response)
{
    if (response->stream_next == NULL) {
        struct MHD_Response *reply =
            MHD_create_response_from_buffer(strlen(response->body), response->body, MHD_RESPMEM_MUST_FREE);
        response->body = NULL;
        return reply;
    }
    http_stream_t *stream = xcalloc(1, sizeof *stream);
    stream->next = response->stream_next;
    stream->release = response->stream_release;
    stream->context = response->stream_context;
    response->stream_next = NULL;
    return MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, LIMIT_HTTP_STREAM_BLOCK_BYTES, http_stream_read, stream,
                                             http_stream_free);
}

/* The console's page may load its own files and call this origin's API, nothing else: no inline
 * script or style, no plugin, no framing, no form posting elsewhere, no referrer. */
#define HTTP_CONSOLE_CSP                                                                                               \
    "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

static void http_console_headers(struct MHD_Response *reply, int status)
{
    MHD_add_response_header(reply, "Content-Security-Policy", HTTP_CONSOLE_CSP);
    MHD_add_response_header(reply, "X-Frame-Options", "DENY");
    MHD_add_response_header(reply, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(reply, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header(reply, "Cross-Origin-Resource-Policy", "same-origin");
    if (status == 308) MHD_add_response_header(reply, "Location", CONSOLE_PREFIX);
    if (status == 405) MHD_add_response_header(reply, "Allow", "GET, HEAD");
}

static enum MHD_Result http_send(struct MHD_Connection *connection, http_context_t *context, const char *method,
                                 const char *route, const char *principal, service_response_t *response)
{
    const console_file_t *file = context->console_file;
    struct MHD_Response *reply =
        file != NULL ? MHD_create_response_from_buffer(file->len, (void *)(uintptr_t)file->data, MHD_RESPMEM_PERSISTENT)
                     : http_reply(response);
    ASSERT_ALWAYS(reply != NULL);
    MHD_add_response_header(reply, "Content-Type", file != NULL ? file->content_type : response->content_type);
    MHD_add_response_header(reply, "X-Request-Id", context->request_id);
    MHD_add_response_header(reply, "Cache-Control", "no-store");
    MHD_add_response_header(reply, "X-Content-Type-Options", "nosniff");
    if (context->console) http_console_headers(reply, response->status);
    if (response->status == 503 && response->retry_after_s == 0) response->retry_after_s = LIMIT_DB_RETRY_AFTER_S;
    if (context->close_connection) MHD_add_response_header(reply, "Connection", "close");
    if (response->retry_after_s > 0) {
        char retry[LIMIT_INT64_TEXT_BYTES];
        snprintf(retry, sizeof retry, "%d", response->retry_after_s);
        MHD_add_response_header(reply, "Retry-After", retry);
    }
    enum MHD_Result queued = MHD_queue_response(connection, (unsigned)response->status, reply);
    MHD_destroy_response(reply);
    uint64_t duration_us = now_us() - context->start_us;
    metrics_request(route, response->status, duration_us);
    log_info("request", json_pack("{s:s,s:s,s:s,s:i,s:I,s:s?}", "request_id", context->request_id, "method", method,
                                  "route", route, "status", response->status, "duration_us", (json_int_t)duration_us,
                                  "principal", principal));
    return queued;
}

static const char *header(struct MHD_Connection *connection, const char *name)
{
    return MHD_lookup_connection_value(connection, MHD_HEADER_KIND, name);
}

static void http_call_free(http_call_t *call)
{
    if (call == NULL) return;
    auth_signature_input_free(&call->input);
    json_decref(call->body);
    free(call);
}

/* The one place the signature base is built, exactly as the verifier rebuilds it from the stored
 * entry (verify_signed_request), and verified. With a body the content-digest component is the
 * header's digest in canonical form (call->content_digest); http_authenticate later requires the
 * body's canonical digest to be that same text, so the base is the verifier's. A valid signature
 * is recorded in the memo the commit-time check uses to skip re-verifying the same bytes. */
static result_t http_signature_verify(http_call_t *call, int has_body, const char *idempotency_key)
{
    auth_component_t components[5] = {{"@method", call->method},
                                      {"@path", call->path},
                                      {"@query", call->query},
                                      {"content-digest", call->content_digest},
                                      {"idempotency-key", idempotency_key}};
    char *base = auth_signature_base(components, has_body ? 5 : 3, call->input.member_value);
    int valid = crypto_ed25519_verify(call->key.public_key, base, strlen(base), call->request.signature);
    if (valid) verify_memo_record(&call->request.signature_memo, call->key.public_key, call->request.signature, base);
    free(base);
    return valid ? RESULT_OK : RESULT_AUTH_SIGNATURE_INVALID;
}

/* What the headers alone show (run before the body is read when there is one): signature fields
 * present and well formed, key known and not revoked, created window, profile, Content-Digest in
 * canonical form and Idempotency-Key present, then the signature itself (the base needs the
 * Content-Digest header, not the body). */
static result_t http_authenticate_headers(struct MHD_Connection *connection, http_server_t *server, store_conn_t *conn,
                                          http_call_t *call, const char **detail)
{
    const char *input_field = header(connection, "Signature-Input");
    const char *signature_field = header(connection, "Signature");
    int has_body = strcmp(call->method, "GET") != 0 && strcmp(call->method, "HEAD") != 0;
    const char *idempotency_key = header(connection, "Idempotency-Key");
    if (input_field == NULL || signature_field == NULL) return RESULT_AUTH_SIGNATURE_MISSING;
    result_t result = auth_signature_input_parse(input_field, &call->input);
    if (result != RESULT_OK) {
        *detail = "Signature-Input must be sig1=(...);created=…;keyid=\"…\"[;alg=\"ed25519\"]";
        return result;
    }
    result = auth_signature_parse(signature_field, call->request.signature);
    if (result != RESULT_OK) return result;
    result = store_key_get_cached(server->keys, conn, call->input.keyid, &call->key);
    if (result != RESULT_OK) return result;
    if (call->key.revoked) return RESULT_AUTH_KEY_REVOKED;
    result = auth_time_check(&call->input, (int64_t)time(NULL), server->clock_skew_s);
    if (result != RESULT_OK) return result;
    result = auth_profile_check(&call->input, has_body);
    if (result != RESULT_OK) {
        *detail = has_body ? "covered components must be (\"@method\" \"@path\" \"@query\" \"content-digest\" "
                             "\"idempotency-key\")"
                           : "covered components must be (\"@method\" \"@path\" \"@query\")";
        return result;
    }
    if (has_body) {
        const char *digest_field = header(connection, "Content-Digest");
        if (auth_content_digest_parse(digest_field, call->content_digest) != RESULT_OK) {
            *detail = digest_field == NULL ? "Content-Digest is required with a body"
                                           : "Content-Digest must be sha-256=:<base64 of 32 bytes>:";
            return RESULT_AUTH_DIGEST_MISMATCH;
        }
        if (idempotency_key == NULL) return RESULT_IDEMPOTENCY_KEY_MISSING;
        if (!ledger_idempotency_key_valid(idempotency_key)) return RESULT_IDEMPOTENCY_KEY_INVALID;
    }
    result = http_signature_verify(call, has_body, idempotency_key);
    if (result != RESULT_OK) return result;
    call->headers_checked = 1;
    return RESULT_OK;
}

/* The whole authentication once the body is in: the header checks and the signature (unless they
 * ran before the body), then the body's canonical digest must be the signed Content-Digest. */
static result_t http_authenticate(struct MHD_Connection *connection, http_server_t *server, store_conn_t *conn,
                                  http_call_t *call, const http_context_t *context, const char **detail)
{
    int has_body = strcmp(call->method, "GET") != 0 && strcmp(call->method, "HEAD") != 0;
    result_t result = RESULT_OK;
    if (!call->headers_checked) {
        result = http_authenticate_headers(connection, server, conn, call, detail);
        if (result != RESULT_OK) return result;
    } else {
        result = auth_time_check(&call->input, (int64_t)time(NULL), server->clock_skew_s); /* the body took time */
        if (result != RESULT_OK) return result;
    }
    if (has_body) {
        char *digest = auth_content_digest(context->body.data ? context->body.data : "", context->body.len);
        int same = strcmp(digest, call->content_digest) == 0;
        free(digest);
        if (!same) {
            *detail = "Content-Digest is not the digest of the body";
            return RESULT_AUTH_DIGEST_MISMATCH;
        }
    }
    call->request.signed_request.idempotency_key = header(connection, "Idempotency-Key");
    return RESULT_OK;
}

static result_t http_authorize(const http_call_t *call)
{
    if (call->route->kind == ROUTE_ANY) return RESULT_OK;
    if (call->route->kind == ROUTE_PARTNER) return call->key.role == STORE_ROLE_PARTNER ? RESULT_OK : RESULT_FORBIDDEN;
    if (call->key.role == STORE_ROLE_OPERATOR) return RESULT_OK;
    if (call->key.role == STORE_ROLE_AUDITOR && strcmp(call->method, "GET") == 0) return RESULT_OK;
    return RESULT_FORBIDDEN;
}

/* The raw value of ?name= for an operation: NULL when absent; "" when the name is repeated or
 * its value too long for out, which no operation accepts (each answers its invalid-field problem). */
static const char *http_query(const char *query, const char *name, char *out, size_t out_max)
{
    query_status_t status = query_value(query, name, out, out_max);
    return status == QUERY_ABSENT ? NULL : out; /* out is "" unless QUERY_FOUND */
}

static void request_hash(const http_call_t *call, const buf_t *body, uint8_t out[CRYPTO_SHA256_BYTES])
{
    buf_t material = BUF_INIT;
    buf_printf(&material, "%s\n%s\n%s\n", call->method, call->path, call->query);
    buf_append(&material, body->data ? body->data : "", body->len);
    crypto_sha256(material.data, material.len, out);
    buf_free(&material);
}

static int route_find(http_call_t *call, service_response_t *response)
{
    int path_known = 0, index = router_find(call->method, call->path, call->param, &path_known);
    if (index >= 0) {
        call->route = &router_routes[index];
        call->handler = http_handlers[index];
        return 1;
    }
    service_problem(response, path_known ? RESULT_METHOD_NOT_ALLOWED : RESULT_NOT_FOUND, NULL, NULL);
    return 0;
}

/* Content-Type is application/json (case-insensitive), optionally with parameters: not a prefix
 * compare, which took application/jsonp. */
static int http_media_type_json(const char *type)
{
    static const char json[] = "application/json";
    while (*type == ' ' || *type == '\t')
        type++;
    if (strncasecmp(type, json, sizeof json - 1) != 0) return 0;
    type += sizeof json - 1;
    while (*type == ' ' || *type == '\t')
        type++;
    return *type == '\0' || *type == ';';
}

/* A mutation waits for the writer's commit without holding this thread (service_writer.c). */
static void http_suspend(void *arg)
{
    http_context_t *context = arg;
    MHD_suspend_connection(context->connection);
}

static void http_resume(void *arg)
{
    http_context_t *context = arg;
    MHD_resume_connection(context->connection); /* MHD then calls http_access again: http_finish */
}

/* Authenticated, authorized, parsed: runs the route's handler. */
static void http_call(struct MHD_Connection *connection, http_server_t *server, http_context_t *context,
                      http_call_t *call, service_response_t *response)
{
    const char *detail = NULL;
    char limit[LIMIT_QUERY_VALUE_TEXT_BYTES], after[LIMIT_QUERY_VALUE_TEXT_BYTES], days[LIMIT_QUERY_VALUE_TEXT_BYTES];
    store_conn_t *conn = store_pool_acquire(server->pool);
    if (conn == NULL) {
        service_problem(response, RESULT_DATABASE_UNAVAILABLE, NULL, NULL);
        return;
    }
    result_t result = http_authenticate(connection, server, conn, call, context, &detail);
    if (result == RESULT_OK) result = http_authorize(call);
    if (result == RESULT_OK && call->key.role == STORE_ROLE_PARTNER) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        response->retry_after_s =
            ratelimit_take(server->limits, call->key.partner, (double)now.tv_sec + (double)now.tv_nsec / 1e9,
                           service_writer_instances(server->writer));
        if (response->retry_after_s > 0) result = RESULT_RATE_LIMITED;
    }
    if (result != RESULT_OK) goto out;
    if (strcmp(call->method, "POST") == 0) {
        const char *type = header(connection, "Content-Type");
        if (type != NULL && !http_media_type_json(type)) {
            result = RESULT_UNSUPPORTED_MEDIA_TYPE;
            detail = "send application/json";
            goto out;
        }
        call->body = json_parse_strict(context->body.data ? context->body.data : "", context->body.len, &detail);
        if (call->body == NULL) {
            result = RESULT_MALFORMED_JSON;
            goto out;
        }
    }
    service_request_t *request = &call->request;
    request->signed_request.method = call->method;
    request->signed_request.path = call->path;
    request->signed_request.query = call->query;
    request->signed_request.signature_input = call->input.member_value;
    char *signature_b64 = crypto_base64_encode(request->signature, CRYPTO_ED25519_SIGNATURE_BYTES);
    snprintf(call->signature_b64, sizeof call->signature_b64, "%s", signature_b64);
    free(signature_b64);
    request->signed_request.signature = call->signature_b64;
    request->signed_request.body = context->body.data ? context->body.data : "";
    request->signed_request.body_len = context->body.len;
    request_hash(call, &context->body, request->request_hash);
    request->role = call->key.role;
    snprintf(request->principal, sizeof request->principal, "%s",
             call->key.role == STORE_ROLE_PARTNER    ? call->key.partner
             : call->key.role == STORE_ROLE_OPERATOR ? "operator"
                                                     : "auditor");
    request->body = call->body;
    request->param = call->param;
    request->query_limit = http_query(call->query, "limit", limit, sizeof limit);
    request->query_after = http_query(call->query, "after", after, sizeof after);
    request->query_days = http_query(call->query, "days", days, sizeof days);
    request->keyid = call->input.keyid;
    request->clock_skew_s = server->clock_skew_s;
    request->webhook_allow_private = server->webhook_allow_private;
    request->database_url = server->database_url;
    request->origin = server->origin;
    request->signed_request.query = call->query;
    request->ledger_key = server->ledger_key;
    request->writer = server->writer;
    request->keycache = server->keys;
    request->on_wait = http_suspend;
    request->on_done = http_resume;
    request->on_done_arg = context;
    const char *accept = header(connection, "Accept");
    request->wants_csv = accept != NULL && strstr(accept, "text/csv") != NULL;
    call->handler(conn, request, response);
out:
    if (result != RESULT_OK) service_problem(response, result, detail, NULL);
    store_pool_release(server->pool, conn);
}

/* Spec 12: 200 only while writes can proceed. The writer's state needs no database round trip;
 * the database check waits LIMIT_DB_HEALTH_WAIT_MS at most, so health answers even when every
 * backend is stopped. */
static void http_health(http_server_t *server, service_response_t *response)
{
    const char *writer = service_writer_trouble(server->writer);
    result_t database = writer == NULL ? store_pool_check(server->pool, LIMIT_DB_HEALTH_WAIT_MS) : RESULT_OK;
    if (writer != NULL) {
        service_problem(response, RESULT_DATABASE_UNAVAILABLE, writer, json_pack("{s:s}", "writer", "down"));
    } else if (database != RESULT_OK) {
        service_problem(response, database, "the database is unreachable or did not answer in time",
                        json_pack("{s:s}", "database", "down"));
    } else {
        service_json(response, 200, json_pack("{s:s,s:s,s:s}", "status", "ok", "database", "ok", "writer", "ok"));
    }
    if (response->status == 503) response->retry_after_s = LIMIT_DB_RETRY_AFTER_S;
}

/* The balancer's writer check (docker/haproxy.cfg): 200 only where writes should go. */
static void http_health_writer(http_server_t *server, service_response_t *response)
{
    if (service_writer_leads(server->writer)) {
        service_json(response, 200, json_pack("{s:s,s:s}", "status", "ok", "writer", "leader"));
    } else {
        service_problem(response, RESULT_DATABASE_UNAVAILABLE,
                        "this instance does not hold the writer lease (or cannot write now): send writes to the one that does",
                        json_pack("{s:s}", "writer", "standby"));
        response->retry_after_s = LIMIT_DB_RETRY_AFTER_S;
    }
}

/* Sends the response and forgets the call. */
static enum MHD_Result http_finish(struct MHD_Connection *connection, http_context_t *context, const char *method)
{
    http_call_t *call = context->call;
    ASSERT_ALWAYS(call != NULL);
    context->response.pending = 0;
    ASSERT_ALWAYS(context->response.body != NULL || context->response.stream_next != NULL);
    enum MHD_Result queued = http_send(connection, context, method, context->route_label,
                                       call->request.principal[0] ? call->request.principal : NULL, &context->response);
    service_response_free(&context->response);
    http_call_free(call);
    context->call = NULL;
    return queued;
}

/* RFC 9112: a request target is visible ASCII. Anything else could not be stored in the journal
 * entry's JSON (not UTF-8) nor verified later: refused (issue 16 sweep). */
static int http_target_visible_ascii(const char *target)
{
    for (const unsigned char *at = (const unsigned char *)target; *at; at++)
        if (*at < 0x21 || *at > 0x7e) return 0;
    return 1;
}

/* Splits the raw target into the call's @path and @query. Returns 0 when it is too long. */
static int http_call_target(http_call_t *call, const http_context_t *context)
{
    size_t path_len = strcspn(context->raw_uri, "?");
    const char *query = context->raw_uri + path_len;
    if (path_len >= sizeof call->path || strlen(query) >= sizeof call->query) return 0;
    memcpy(call->path, context->raw_uri, path_len);
    snprintf(call->query, sizeof call->query, "%s", query[0] == '?' ? query : "?");
    return 1;
}

static http_call_t *http_call_begin(http_context_t *context, const char *method)
{
    if (context->call == NULL) {
        context->call = xcalloc(1, sizeof *context->call);
        context->call->method = method;
        context->route_label = "unmatched";
    }
    return context->call;
}

/* A request under /console: unsigned (the page has no key yet; the files are public), GET or HEAD
 * only, one of the files loaded at start-up or a problem. "/console" is sent to "/console/" so the
 * page's relative module URLs resolve under the mount point. */
static void http_console(http_server_t *server, http_context_t *context, const char *method, const char *path,
                         service_response_t *response)
{
    context->console = 1;
    context->route_label = CONSOLE_PREFIX;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        service_problem(response, RESULT_METHOD_NOT_ALLOWED, "the console's files are read with GET", NULL);
        return;
    }
    if (strcmp(path, "/console") == 0) {
        service_json(response, 308, json_pack("{s:s}", "location", CONSOLE_PREFIX));
        return;
    }
    result_t result = console_lookup(server->console, path, &context->console_file);
    if (result == RESULT_INVALID_REQUEST_TARGET) {
        service_problem(response, result, "a console file is named [A-Za-z0-9_-][A-Za-z0-9._-]*, without '..' or escapes",
                        NULL);
    } else if (result != RESULT_OK) {
        service_problem(response, result, server->console == NULL ? "this ledgerd serves no console" : "no such console file",
                        NULL);
    } else {
        response->status = 200;
        response->body = xstrdup(""); /* the file's bytes are sent from the console's memory */
        response->content_type = context->console_file->content_type;
    }
}

static enum MHD_Result http_dispatch(struct MHD_Connection *connection, http_server_t *server, http_context_t *context,
                                     const char *method)
{
    http_call_t *call = http_call_begin(context, method);
    service_response_t *response = &context->response;
    context->dispatched = 1;
    http_link_event(server, connection, HTTP_LINK_REQUEST_READ);
    if (!http_call_target(call, context)) {
        service_problem(response, RESULT_NOT_FOUND, "request target too long", NULL);
    } else if (!http_target_visible_ascii(context->raw_uri)) {
        service_problem(response, RESULT_INVALID_REQUEST_TARGET, "the request target must be visible ASCII", NULL);
    } else if (context->body_too_large) {
        service_problem(response, RESULT_BODY_TOO_LARGE, "bodies are limited to 1 MiB", NULL);
    } else if (context->server_busy) {
        response->retry_after_s = 1;
        service_problem(response, RESULT_SERVER_BUSY, "too many request bodies in flight (or this key's share); retry",
                        NULL);
    } else if (strcmp(call->path, "/healthz") == 0 && strcmp(method, "GET") == 0) {
        context->route_label = "/healthz";
        http_health(server, response);
    } else if (strcmp(call->path, "/healthz/writer") == 0 && strcmp(method, "GET") == 0) {
        context->route_label = "/healthz/writer";
        http_health_writer(server, response);
    } else if (strcmp(call->path, "/metrics") == 0 && strcmp(method, "GET") == 0) {
        context->route_label = "/metrics";
        response->status = 200;
        metrics_database_t database = {server->pool != NULL, 0, 0, 0, store_sessions_abandoned()};
        if (server->pool != NULL)
            store_pool_stats(server->pool, &database.pool_size, &database.pool_in_use, &database.pool_waits);
        response->body = metrics_render(&database);
        response->content_type = "text/plain; version=0.0.4";
    } else if (strcmp(call->path, "/openapi.json") == 0 && strcmp(method, "GET") == 0) {
        context->route_label = "/openapi.json"; /* docs/openapi.json, embedded at build time */
        response->status = 200;
        response->body = xstrdup((const char *)openapi_json);
        response->content_type = "application/json";
    } else if (call->route == NULL && console_path_is_console(call->path)) {
        http_console(server, context, method, call->path, response);
    } else if (call->route != NULL || route_find(call, response)) {
        context->route_label = call->route->pattern;
        http_call(connection, server, context, call, response);
    }
    if (response->pending) return MHD_YES; /* suspended: the writer resumes it */
    return http_finish(connection, context, method);
}

/* Answers a request from its headers alone; its body is never read (MHD then closes the connection). */
static enum MHD_Result http_refuse(struct MHD_Connection *connection, http_server_t *server, http_context_t *context,
                                   const char *method, result_t result, const char *detail)
{
    http_call_begin(context, method);
    context->dispatched = 1;
    http_link_event(server, connection, HTTP_LINK_REQUEST_READ);
    if (result == RESULT_SERVER_BUSY) context->response.retry_after_s = 1;
    if (result == RESULT_MALFORMED_REQUEST) context->close_connection = 1;
    service_problem(&context->response, result, detail, NULL);
    return http_finish(connection, context, method);
}

/* Counts the header fields that frame the body (duplicates included: MHD keeps each one). */
typedef struct {
    unsigned content_length, transfer_encoding;
    const char *length, *encoding;
} http_framing_t;

static enum MHD_Result http_framing_field(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    http_framing_t *framing = cls;
    (void)kind;
    if (strcasecmp(key, "Content-Length") == 0) framing->content_length++, framing->length = value;
    if (strcasecmp(key, "Transfer-Encoding") == 0) framing->transfer_encoding++, framing->encoding = value;
    return MHD_YES;
}

/* RFC 9112 6.3: one unambiguous framing or none; what MHD 0.9.75 would read otherwise is not what
 * a proxy in front of it may have read (request smuggling). Also bounds the query's parameters. */
static result_t http_framing_check(struct MHD_Connection *connection, http_context_t *context, const char **detail)
{
    http_framing_t framing = {0, 0, NULL, NULL};
    MHD_get_connection_values(connection, MHD_HEADER_KIND, http_framing_field, &framing);
    size_t parameters = 0;
    for (const char *s = strchr(context->raw_uri, '?'); s != NULL && s[1] != '\0'; s = strchr(s + 1, '&'))
        parameters++;
    *detail = NULL;
    if (framing.content_length > 1)
        *detail = "one Content-Length field only";
    else if (framing.transfer_encoding > 1)
        *detail = "one Transfer-Encoding field only";
    else if (framing.content_length > 0 && framing.transfer_encoding > 0)
        *detail = "Content-Length and Transfer-Encoding together";
    else if (framing.transfer_encoding > 0 && strcasecmp(framing.encoding, "chunked") != 0)
        *detail = "the only Transfer-Encoding accepted is chunked";
    else if (framing.length != NULL &&
             (framing.length[0] == '\0' || strspn(framing.length, "0123456789") != strlen(framing.length)))
        *detail = "Content-Length must be digits";
    else if (parameters > LIMIT_QUERY_PARAMETERS_MAX)
        *detail = "too many query parameters";
    if (*detail != NULL) return RESULT_MALFORMED_REQUEST;
    context->body_declared = framing.transfer_encoding > 0 ? -1 : 0;
    if (framing.length != NULL) {
        errno = 0;
        unsigned long long length = strtoull(framing.length, NULL, 10);
        context->body_declared =
            errno != 0 || length > LIMIT_BODY_BYTES_MAX ? LIMIT_BODY_BYTES_MAX + 1LL : (long long)length;
    }
    return RESULT_OK;
}

/* Before a body is read: the route and what the headers show of the authentication. */
static result_t http_precheck(struct MHD_Connection *connection, http_server_t *server, http_context_t *context,
                              const char *method, const char **detail)
{
    http_call_t *call = http_call_begin(context, method);
    if (!http_call_target(call, context)) {
        *detail = "request target too long";
        return RESULT_NOT_FOUND;
    }
    if (console_path_is_console(call->path)) {
        context->console = 1; /* a request with a body: the console's files are read with GET */
        return RESULT_METHOD_NOT_ALLOWED;
    }
    int path_known = 0, index = router_find(call->method, call->path, call->param, &path_known);
    if (index < 0) return path_known ? RESULT_METHOD_NOT_ALLOWED : RESULT_NOT_FOUND;
    call->route = &router_routes[index];
    call->handler = http_handlers[index];
    context->route_label = call->route->pattern;
    store_conn_t *conn = store_pool_acquire(server->pool);
    if (conn == NULL) return RESULT_DATABASE_UNAVAILABLE;
    result_t result = http_authenticate_headers(connection, server, conn, call, detail);
    store_pool_release(server->pool, conn);
    return result;
}

/* First call, headers complete and body not read: refuses what the headers already show, and
 * reserves the declared body in the bound on bodies in flight. */
static enum MHD_Result http_begin(struct MHD_Connection *connection, http_server_t *server, http_context_t *context,
                                  const char *method)
{
    const char *detail = NULL;
    result_t result = http_framing_check(connection, context, &detail);
    if (result == RESULT_OK && context->body_declared == 0) return MHD_YES; /* no body: all checks at the end */
    if (result == RESULT_OK && context->body_declared > LIMIT_BODY_BYTES_MAX) {
        result = RESULT_BODY_TOO_LARGE;
        detail = "bodies are limited to 1 MiB";
    }
    if (result == RESULT_OK) result = http_precheck(connection, server, context, method, &detail);
    /* only now, authenticated: an unsigned client reserves nothing */
    if (result == RESULT_OK && context->body_declared > 0)
        result = http_body_reserve(server, context, context->body_declared, &detail);
    if (result == RESULT_OK) return MHD_YES;
    return http_refuse(connection, server, context, method, result, detail);
}

/* A piece of the body: buffered within the 1 MiB limit; a chunked body reserves as it grows. */
static void http_body_take(http_server_t *server, http_context_t *context, const char *data, size_t size)
{
    const char *detail = NULL;
    if (context->body_too_large || context->server_busy) return; /* discarded; answered at the end */
    if (context->body.len + size > LIMIT_BODY_BYTES_MAX) {
        context->body_too_large = 1;
    } else if (context->body_declared < 0 &&
               http_body_reserve(server, context, (long long)size, &detail) != RESULT_OK) {
        context->server_busy = 1;
    } else {
        buf_append(&context->body, data, size);
        return;
    }
    buf_free(&context->body);
    http_body_release(server, context);
}

static enum MHD_Result http_access(void *cls, struct MHD_Connection *connection, const char *url, const char *method,
                                   const char *version, const char *upload_data, size_t *upload_data_size,
                                   void **con_cls)
{
    (void)url, (void)version;
    http_server_t *server = cls;
    http_context_t *context = *con_cls;
    ASSERT_ALWAYS(context != NULL);
    if (context->dispatched) return http_finish(connection, context, method); /* resumed */
    if (!context->started) {
        context->started = 1;
        return http_begin(connection, server, context, method);
    }
    if (*upload_data_size > 0) {
        http_body_take(server, context, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    return http_dispatch(connection, server, context, method);
}

static int resolve(const char *host, uint16_t port, struct sockaddr_storage *address, socklen_t *len)
{
    struct addrinfo hints = {0}, *found = NULL;
    char port_text[LIMIT_PORT_TEXT_BYTES];
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(port_text, sizeof port_text, "%u", port);
    if (getaddrinfo(host, port_text, &hints, &found) != 0 || found == NULL) return -1;
    memcpy(address, found->ai_addr, found->ai_addrlen);
    *len = found->ai_addrlen;
    freeaddrinfo(found);
    return 0;
}

/* Idle keep-alive connections are cheap (epoll): as many as the open-files limit allows, raised
 * to its hard value, keeping a reserve for database sessions and files. */
static unsigned http_connection_limit(void)
{
    struct rlimit files;
    if (getrlimit(RLIMIT_NOFILE, &files) != 0) return LIMIT_HTTP_CONNECTIONS_MAX;
    files.rlim_cur = files.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &files) != 0) getrlimit(RLIMIT_NOFILE, &files);
    if (files.rlim_cur == RLIM_INFINITY || files.rlim_cur >= (rlim_t)LIMIT_HTTP_CONNECTIONS_MAX + LIMIT_FILES_RESERVE)
        return LIMIT_HTTP_CONNECTIONS_MAX;
    return files.rlim_cur > 2 * LIMIT_FILES_RESERVE ? (unsigned)(files.rlim_cur - LIMIT_FILES_RESERVE)
                                                    : LIMIT_FILES_RESERVE;
}

http_server_t *http_start(const http_options_t *config, store_pool_t *pool, store_keycache_t *keys,
                          const crypto_signer_t *ledger_key, service_writer_t *writer, uint16_t *bound_port)
{
    struct sockaddr_storage address;
    socklen_t address_len = 0;
    if (resolve(config->listen_host, config->listen_port, &address, &address_len) != 0) return NULL;
    http_server_t *server = xcalloc(1, sizeof *server);
    server->pool = pool;
    server->keys = keys;
    server->ledger_key = ledger_key;
    server->writer = writer;
    server->database_url = config->database_url;
    server->origin = config->origin;
    server->console = config->console;
    const char *error = NULL;
    server->limits = ratelimit_create(getenv("LEDGER_RATE_LIMITS"), &error);
    if (error != NULL) {
        log_error("bad configuration", json_pack("{s:s}", "error", error));
        free(server);
        return NULL;
    }
    server->clock_skew_s = config->clock_skew_s;
    server->webhook_allow_private = config->webhook_allow_private;
    server->request_deadline_us = (uint64_t)config->http_request_deadline_s * 1000000u;
    server->body_bytes_in_flight_max = config->http_body_bytes_in_flight;
    server->body_bytes_per_key_max = server->body_bytes_in_flight_max / LIMIT_HTTP_BODY_BYTES_KEY_SHARE_DIVISOR;
    if (server->body_bytes_per_key_max < LIMIT_BODY_BYTES_MAX) server->body_bytes_per_key_max = LIMIT_BODY_BYTES_MAX;
    pthread_mutex_init(&server->lock, NULL);
    pthread_cond_init(&server->sweeper_wake, NULL);
    unsigned connections = http_connection_limit();
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    if (address.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    server->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, http_access, server, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&address,
        MHD_OPTION_THREAD_POOL_SIZE, config->http_threads, MHD_OPTION_URI_LOG_CALLBACK, http_uri_logger, server,
        MHD_OPTION_NOTIFY_COMPLETED, http_completed, server, MHD_OPTION_UNESCAPE_CALLBACK, http_unescape_none, server,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)LIMIT_CONNECTION_MEMORY_BYTES, MHD_OPTION_CONNECTION_LIMIT,
        connections, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)LIMIT_HTTP_CONNECTION_TIMEOUT_S,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, config->http_connections_per_address, MHD_OPTION_NOTIFY_CONNECTION,
        http_connection_notify, server, MHD_OPTION_END);
    if (server->daemon == NULL || pthread_create(&server->sweeper, NULL, http_sweeper, server) != 0) {
        if (server->daemon != NULL) MHD_stop_daemon(server->daemon);
        pthread_cond_destroy(&server->sweeper_wake);
        pthread_mutex_destroy(&server->lock);
        ratelimit_destroy(server->limits);
        free(server);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(server->daemon, MHD_DAEMON_INFO_BIND_PORT);
    *bound_port = info ? info->port : config->listen_port;
    return server;
}

void http_stop(http_server_t *server)
{
    if (server == NULL) return;
    /* no new connections; the writer answers (and resumes) every suspended request; then stop */
    MHD_socket listener = MHD_quiesce_daemon(server->daemon);
    service_writer_stop(server->writer);
    MHD_stop_daemon(server->daemon); /* every connection is closed: every link is freed */
    if (listener != MHD_INVALID_SOCKET) close(listener);
    pthread_mutex_lock(&server->lock);
    server->stopping = 1;
    pthread_cond_signal(&server->sweeper_wake);
    pthread_mutex_unlock(&server->lock);
    pthread_join(server->sweeper, NULL);
    ASSERT_ALWAYS(server->links == NULL && server->body_bytes_in_flight == 0);
    for (size_t i = 0; i < LIMIT_HTTP_BODY_KEYS_MAX; i++)
        ASSERT_ALWAYS(server->body_keys[i].bytes == 0);
    pthread_cond_destroy(&server->sweeper_wake);
    pthread_mutex_destroy(&server->lock);
    ratelimit_destroy(server->limits);
    free(server);
}

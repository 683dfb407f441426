/* http.c — libmicrohttpd glue. Owns the per-request context (raw URI, bounded body), turns
 * each request into a service_request_t after authenticating it, and sends the response. */
#include "http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
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
#include "ratelimit.h"
#include "service.h"

struct http_server {
    struct MHD_Daemon *daemon;
    store_pool_t *pool;                /* borrowed */
    const crypto_signer_t *ledger_key; /* borrowed */
    service_writer_t *writer;          /* borrowed; NULL: one transaction per mutation */
    const char *database_url;          /* borrowed from config */
    const char *origin;                /* borrowed from config */
    ratelimit_t *limits;               /* owned; NULL: no limits */
    store_keycache_t *keys;            /* borrowed; NULL: every request reads its key */
    int64_t clock_skew_s;
};

#define HTTP_HANDLER_ROW(method, pattern, kind, handler) handler,
static const service_handler_t http_handlers[] = {LEDGER_ROUTES(HTTP_HANDLER_ROW)};

typedef struct http_call http_call_t;

typedef struct {
    char *raw_uri; /* owned: request target exactly as received */
    buf_t body;
    int started;
    int body_too_large;
    uint64_t start_us;
    char request_id[33];
    struct MHD_Connection *connection;
    http_call_t *call;           /* owned while the request is being answered */
    service_response_t response; /* filled by the handler, or later by the writer */
    const char *route_label;     /* static */
} http_context_t;

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Runs before MHD parses the URI: keeps the raw target for @path/@query. */
static void *http_uri_logger(void *cls, const char *uri, struct MHD_Connection *connection)
{
    (void)cls;
    http_context_t *context = xcalloc(1, sizeof *context);
    uint8_t random[16];
    context->raw_uri = xstrdup(uri);
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
    (void)cls, (void)connection, (void)code;
    http_context_t *context = *con_cls;
    if (context == NULL) return;
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
    return MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, http_stream_read, stream, http_stream_free);
}

static enum MHD_Result http_send(struct MHD_Connection *connection, http_context_t *context, const char *method,
                                 const char *route, const char *principal, service_response_t *response)
{
    struct MHD_Response *reply = http_reply(response);
    ASSERT_ALWAYS(reply != NULL);
    MHD_add_response_header(reply, "Content-Type", response->content_type);
    MHD_add_response_header(reply, "X-Request-Id", context->request_id);
    MHD_add_response_header(reply, "Cache-Control", "no-store");
    if (response->status == 503 && response->retry_after_s == 0) response->retry_after_s = LIMIT_DB_RETRY_AFTER_S;
    if (response->retry_after_s > 0) {
        char retry[16];
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

/* Everything http_dispatch works out about one request. */
struct http_call {
    const char *method;
    char path[2048];
    char query[2049]; /* the @query component: "?" + raw query */
    const route_t *route;
    service_handler_t handler;
    char param[ROUTER_PARAM_MAX];
    auth_signature_input_t input;
    store_key_t key;
    service_request_t request;
    char signature_b64[96];
    json_t *body; /* owned: parsed POST body (the writer may read it after http_call returns) */
};

static void http_call_free(http_call_t *call)
{
    if (call == NULL) return;
    auth_signature_input_free(&call->input);
    json_decref(call->body);
    free(call);
}

static result_t http_authenticate(struct MHD_Connection *connection, http_server_t *server, store_conn_t *conn,
                                  http_call_t *call, const http_context_t *context, const char **detail)
{
    const char *input_field = header(connection, "Signature-Input");
    const char *signature_field = header(connection, "Signature");
    int has_body = strcmp(call->method, "GET") != 0 && strcmp(call->method, "HEAD") != 0;
    const char *digest = header(connection, "Content-Digest");
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
        if (digest == NULL) {
            *detail = "Content-Digest is required with a body";
            return RESULT_AUTH_DIGEST_MISMATCH;
        }
        result = auth_content_digest_check(digest, context->body.data ? context->body.data : "", context->body.len);
        if (result != RESULT_OK) return result;
        if (idempotency_key == NULL) return RESULT_IDEMPOTENCY_KEY_MISSING;
        if (!ledger_idempotency_key_valid(idempotency_key)) return RESULT_IDEMPOTENCY_KEY_INVALID;
    }
    auth_component_t components[5] = {{"@method", call->method},
                                      {"@path", call->path},
                                      {"@query", call->query},
                                      {"content-digest", digest},
                                      {"idempotency-key", idempotency_key}};
    char *base = auth_signature_base(components, has_body ? 5 : 3, call->input.member_value);
    int valid = crypto_ed25519_verify(call->key.public_key, base, strlen(base), call->request.signature);
    if (valid) verify_memo_record(&call->request.signature_memo, call->key.public_key, call->request.signature, base);
    free(base);
    if (!valid) return RESULT_AUTH_SIGNATURE_INVALID;
    call->request.signed_request.idempotency_key = idempotency_key;
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

static void query_value(const char *query, const char *name, char *out, size_t out_max, const char **value)
{
    size_t name_len = strlen(name);
    const char *s = query[0] == '?' ? query + 1 : query;
    *value = NULL;
    while (*s) {
        size_t len = strcspn(s, "&");
        if (len > name_len && strncmp(s, name, name_len) == 0 && s[name_len] == '=' && len - name_len - 1 < out_max) {
            memcpy(out, s + name_len + 1, len - name_len - 1);
            out[len - name_len - 1] = '\0';
            *value = out;
        }
        s += len;
        if (*s == '&') s++;
    }
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
    char limit[32], after[32], days[32];
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
            ratelimit_take(server->limits, call->key.partner, (double)now.tv_sec + (double)now.tv_nsec / 1e9);
        if (response->retry_after_s > 0) result = RESULT_RATE_LIMITED;
    }
    if (result != RESULT_OK) goto out;
    if (strcmp(call->method, "POST") == 0) {
        const char *type = header(connection, "Content-Type");
        if (type != NULL && strncasecmp(type, "application/json", 16) != 0) {
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
    query_value(call->query, "limit", limit, sizeof limit, &request->query_limit);
    query_value(call->query, "after", after, sizeof after, &request->query_after);
    query_value(call->query, "days", days, sizeof days, &request->query_days);
    request->keyid = call->input.keyid;
    request->clock_skew_s = server->clock_skew_s;
    request->database_url = server->database_url;
    request->origin = server->origin;
    request->signed_request.query = call->query;
    request->ledger_key = server->ledger_key;
    request->writer = server->writer;
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

/* Sends the response and forgets the call. */
static enum MHD_Result http_finish(struct MHD_Connection *connection, http_server_t *server, http_context_t *context,
                                   const char *method)
{
    http_call_t *call = context->call;
    context->response.pending = 0;
    /* a revocation is committed: no later request of this instance may use a cached copy */
    if (call->handler == service_key_revoke && context->response.status < 300) store_keycache_clear(server->keys);
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

static enum MHD_Result http_dispatch(struct MHD_Connection *connection, http_server_t *server, http_context_t *context,
                                     const char *method)
{
    http_call_t *call = xcalloc(1, sizeof *call);
    service_response_t *response = &context->response;
    context->call = call;
    context->route_label = "unmatched";
    call->method = method;
    size_t path_len = strcspn(context->raw_uri, "?");
    const char *query = context->raw_uri + path_len;
    if (path_len >= sizeof call->path || strlen(query) >= sizeof call->query) {
        service_problem(response, RESULT_NOT_FOUND, "request target too long", NULL);
    } else if (!http_target_visible_ascii(context->raw_uri)) {
        service_problem(response, RESULT_INVALID_REQUEST_TARGET, "the request target must be visible ASCII", NULL);
    } else if (context->body_too_large) {
        service_problem(response, RESULT_BODY_TOO_LARGE, "bodies are limited to 1 MiB", NULL);
    } else {
        memcpy(call->path, context->raw_uri, path_len);
        snprintf(call->query, sizeof call->query, "%s", query[0] == '?' ? query : "?");
        if (strcmp(call->path, "/healthz") == 0 && strcmp(method, "GET") == 0) {
            context->route_label = "/healthz";
            http_health(server, response);
        } else if (strcmp(call->path, "/metrics") == 0 && strcmp(method, "GET") == 0) {
            context->route_label = "/metrics";
            response->status = 200;
            response->body = metrics_render(server->pool);
            response->content_type = "text/plain; version=0.0.4";
        } else if (route_find(call, response)) {
            context->route_label = call->route->pattern;
            http_call(connection, server, context, call, response);
        }
    }
    if (response->pending) return MHD_YES; /* suspended: the writer resumes it */
    return http_finish(connection, server, context, method);
}

static enum MHD_Result http_access(void *cls, struct MHD_Connection *connection, const char *url, const char *method,
                                   const char *version, const char *upload_data, size_t *upload_data_size,
                                   void **con_cls)
{
    (void)url, (void)version;
    http_server_t *server = cls;
    http_context_t *context = *con_cls;
    ASSERT_ALWAYS(context != NULL);
    if (context->call != NULL) return http_finish(connection, server, context, method); /* resumed */
    if (!context->started) {
        context->started = 1;
        const char *length = header(connection, "Content-Length");
        if (length != NULL && strtoull(length, NULL, 10) > LIMIT_BODY_BYTES_MAX) {
            context->body_too_large = 1;
            return http_dispatch(connection, server, context, method); /* refuse before reading it */
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (!context->body_too_large && context->body.len + *upload_data_size > LIMIT_BODY_BYTES_MAX) {
            context->body_too_large = 1;
            buf_free(&context->body);
        }
        if (!context->body_too_large) buf_append(&context->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    return http_dispatch(connection, server, context, method);
}

static int resolve(const char *host, uint16_t port, struct sockaddr_storage *address, socklen_t *len)
{
    struct addrinfo hints = {0}, *found = NULL;
    char port_text[8];
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

http_server_t *http_start(const config_t *config, store_pool_t *pool, store_keycache_t *keys,
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
    const char *error = NULL;
    server->limits = ratelimit_create(getenv("LEDGER_RATE_LIMITS"), &error);
    if (error != NULL) {
        log_error("bad configuration", json_pack("{s:s}", "error", error));
        free(server);
        return NULL;
    }
    server->clock_skew_s = config->clock_skew_s;
    unsigned connections = http_connection_limit();
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    if (address.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    server->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, http_access, server, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&address,
        MHD_OPTION_THREAD_POOL_SIZE, config->http_threads, MHD_OPTION_URI_LOG_CALLBACK, http_uri_logger, server,
        MHD_OPTION_NOTIFY_COMPLETED, http_completed, server, MHD_OPTION_UNESCAPE_CALLBACK, http_unescape_none, server,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)LIMIT_CONNECTION_MEMORY_BYTES, MHD_OPTION_CONNECTION_LIMIT,
        connections, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)LIMIT_HTTP_CONNECTION_TIMEOUT_S, MHD_OPTION_END);
    if (server->daemon == NULL) {
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
    MHD_stop_daemon(server->daemon);
    if (listener != MHD_INVALID_SOCKET) close(listener);
    ratelimit_destroy(server->limits);
    free(server);
}

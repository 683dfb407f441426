/* support.c — see support.h. */
#include "support.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "assert_always.h"
#include "buf.h"
#include "client.h"

static const char *pg_host(void)
{
    const char *host = getenv("TEST_PG_HOST");
    if (host == NULL) {
        fprintf(stderr, "TEST_PG_HOST is not set: run the suite through `make test`\n");
        exit(1);
    }
    return host;
}

static void quiet(void *arg, const char *message)
{
    (void)arg, (void)message;
}

static PGconn *pg_connect(const char *url)
{
    PGconn *pg = PQconnectdb(url);
    if (PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "test: cannot connect to %s: %s\n", url, PQerrorMessage(pg));
        exit(1);
    }
    PQsetNoticeProcessor(pg, quiet, NULL);
    return pg;
}

void test_db_create(const char *name, char *url, size_t url_max)
{
    char admin[512], sql[256];
    snprintf(admin, sizeof admin, "host=%s user=postgres dbname=postgres", pg_host());
    PGconn *pg = pg_connect(admin);
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", name);
    PQclear(PQexec(pg, sql));
    snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\"", name);
    PGresult *res = PQexec(pg, sql);
    ASSERT_ALWAYS(PQresultStatus(res) == PGRES_COMMAND_OK);
    PQclear(res);
    PQfinish(pg);
    snprintf(url, url_max, "host=%s user=postgres dbname=%s", pg_host(), name);
}

void test_key_new(test_key_t *key, const char *keyid)
{
    char *pem = NULL;
    uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES];
    snprintf(key->keyid, sizeof key->keyid, "%s", keyid);
    key->signer = crypto_signer_generate(&pem);
    free(pem);
    crypto_signer_public_key(key->signer, public_key);
    char *b64 = crypto_base64_encode(public_key, sizeof public_key);
    snprintf(key->public_b64, sizeof key->public_b64, "%s", b64);
    free(b64);
}

void test_key_free(test_key_t *key)
{
    crypto_signer_free(key->signer);
    key->signer = NULL;
}

void test_db_ready(test_env_t *env, const char *name)
{
    int applied = 0;
    int64_t seq = 0;
    uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES];
    size_t len = 0;
    memset(env, 0, sizeof *env);
    snprintf(env->db_name, sizeof env->db_name, "%s", name);
    test_db_create(name, env->db_url, sizeof env->db_url);
    store_conn_t *conn = store_connect(env->db_url);
    ASSERT_ALWAYS(conn != NULL);
    ASSERT_ALWAYS(store_migrate(conn, &applied) == RESULT_OK);
    test_key_new(&env->operator_key, "operator-1");
    ASSERT_ALWAYS(crypto_base64_decode(env->operator_key.public_b64, strlen(env->operator_key.public_b64), public_key,
                                       sizeof public_key, &len) == 0);
    ASSERT_ALWAYS(store_genesis(conn, "KZT", TEST_ORIGIN, "operator-1", public_key, &seq) == RESULT_OK);
    setenv("LEDGER_ORIGIN", TEST_ORIGIN, 1); /* ledgerd and ledgerctl sign as the ledger's origin */
    ASSERT_ALWAYS(seq == 1);
    store_disconnect(conn);
    char *pem = NULL;
    crypto_signer_free(crypto_signer_generate(&pem));
    snprintf(env->key_file, sizeof env->key_file, "%s/%s.ledger.pem",
             getenv("TEST_LOG_DIR") ? getenv("TEST_LOG_DIR") : "/tmp", name);
    FILE *file = fopen(env->key_file, "w");
    ASSERT_ALWAYS(file != NULL && fputs(pem, file) >= 0);
    fclose(file);
    free(pem);
}

double test_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void test_binary(char *out, size_t out_max, const char *name)
{
    snprintf(out, out_max, "%s/%s", getenv("TEST_BIN_DIR") ? getenv("TEST_BIN_DIR") : "bin", name);
}

static uint16_t free_port(void)
{
    struct sockaddr_in address = {0};
    socklen_t len = sizeof address;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_ALWAYS(bind(fd, (struct sockaddr *)&address, sizeof address) == 0);
    ASSERT_ALWAYS(getsockname(fd, (struct sockaddr *)&address, &len) == 0);
    close(fd);
    return ntohs(address.sin_port);
}

int test_ledgerd_spawn(test_env_t *env)
{
    char listen[64], log_path[256];
    char binary[256];
    test_binary(binary, sizeof binary, "ledgerd");
    env->port = free_port();
    snprintf(listen, sizeof listen, "127.0.0.1:%u", env->port);
    snprintf(log_path, sizeof log_path, "%s/%s.ledgerd.log", getenv("TEST_LOG_DIR") ? getenv("TEST_LOG_DIR") : "/tmp",
             env->db_name);
    env->pid = fork();
    ASSERT_ALWAYS(env->pid >= 0);
    if (env->pid == 0) {
        FILE *log = freopen(log_path, "a", stderr);
        (void)log;
        setenv("LEDGER_DATABASE_URL", env->db_url, 1);
        setenv("LEDGER_LISTEN", listen, 1);
        setenv("LEDGER_HTTP_THREADS", "8", 1);
        setenv("LEDGER_KEY_FILE", env->key_file, 1);
        setenv("LEDGER_EXPIRY_INTERVAL_S", env->expiry_interval ? env->expiry_interval : "0", 1);
        if (env->rate_limits) setenv("LEDGER_RATE_LIMITS", env->rate_limits, 1);
        if (env->clock_skew) setenv("LEDGER_CLOCK_SKEW_S", env->clock_skew, 1);
        execl(binary, binary, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        int status = 0;
        if (waitpid(env->pid, &status, WNOHANG) == env->pid) {
            env->pid = 0;
            return -1;
        }
        client_response_t response;
        if (client_call("127.0.0.1", env->port, NULL, NULL, "GET", "/healthz", NULL, NULL, &response) == 0) {
            int healthy = response.status == 200;
            client_response_free(&response);
            if (healthy) return 0;
        }
        usleep(50000);
    }
    return -1;
}

void test_env_start(test_env_t *env, const char *name)
{
    test_db_ready(env, name);
    ASSERT_ALWAYS(test_ledgerd_spawn(env) == 0);
}

void test_env_stop(test_env_t *env)
{
    if (env->pid > 0) {
        int status = 0;
        kill(env->pid, SIGTERM);
        waitpid(env->pid, &status, 0);
        env->pid = 0;
        /* a clean stop: under ASan this is also the leak check */
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "ledgerd did not stop cleanly (status %d)\n", status);
            abort();
        }
    }
    if (env->db_name[0] != '\0' && !env->damaged && test_journal_verifies(env) != 0) {
        fprintf(stderr, "the journal of %s does not verify\n", env->db_name);
        abort();
    }
    test_key_free(&env->operator_key);
}

int test_journal_verifies(const test_env_t *env)
{
    char command[4096], ctl[256], verify[256], path[300];
    test_binary(ctl, sizeof ctl, "ledgerctl");
    test_binary(verify, sizeof verify, "ledger-verify");
    snprintf(path, sizeof path, "%s/%s.export.jsonl", getenv("TEST_LOG_DIR") ? getenv("TEST_LOG_DIR") : "/tmp",
             env->db_name);
    unlink(path);
    snprintf(command, sizeof command,
             "LEDGER_DATABASE_URL='%s' LEDGER_KEY_FILE='%s' %s export --out %s >/dev/null && "
             "%s %s --ledger-key \"$(%s pubkey --key-file %s)\" --skew-seconds %s >&2",
             env->db_url, env->key_file, ctl, path, verify, path, ctl, env->key_file,
             env->clock_skew ? env->clock_skew : "300");
    return system(command) == 0 ? 0 : -1;
}

void test_partner(test_env_t *env, const char *code, int64_t validity_s, test_key_t *key)
{
    char body[512], target[128], keyid[80];
    if (validity_s > 0)
        snprintf(body, sizeof body, "{\"code\":\"%s\",\"name\":\"%s\",\"validity_seconds\":%lld}", code, code,
                 (long long)validity_s);
    else
        snprintf(body, sizeof body, "{\"code\":\"%s\",\"name\":\"%s\"}", code, code);
    test_reply_t reply = test_call(env, &env->operator_key, "POST", "/v1/admin/partners", body, NULL);
    ASSERT_ALWAYS(reply.status == 201);
    test_reply_free(&reply);
    snprintf(keyid, sizeof keyid, "%s-1", code);
    test_key_new(key, keyid);
    snprintf(target, sizeof target, "/v1/admin/partners/%s/keys", code);
    snprintf(body, sizeof body, "{\"keyid\":\"%s\",\"public_key\":\"%s\"}", keyid, key->public_b64);
    reply = test_call(env, &env->operator_key, "POST", target, body, NULL);
    ASSERT_ALWAYS(reply.status == 201);
    test_reply_free(&reply);
}

/* TEST_RESPONSE_LOG names a file: each response test_call and test_call_accept receive is appended to it as one JSON
 * line {"method","target","request_body","status","content_type","body"}, which tools/openapi/validate.mjs then
 * checks against docs/openapi.json (make test). */
static void response_log(const char *method, const char *target, const char *request_body,
                         const client_response_t *response)
{
    const char *path = getenv("TEST_RESPONSE_LOG");
    if (path == NULL || path[0] == '\0') return;
    json_t *line = json_pack("{s:s,s:s,s:s?,s:i,s:s,s:s}", "method", method, "target", target, "request_body",
                             request_body, "status", response->status, "content_type",
                             response->content_type ? response->content_type : "", "body",
                             response->body ? response->body : "");
    if (line == NULL) return; /* a body that is not UTF-8: nothing a JSON schema could check */
    buf_t text = BUF_INIT;
    char *dumped = json_dumps(line, JSON_COMPACT);
    ASSERT_ALWAYS(dumped != NULL);
    buf_printf(&text, "%s\n", dumped);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    ASSERT_ALWAYS(fd >= 0);
    /* one write to an O_APPEND file: lines from concurrent callers never interleave */
    ASSERT_ALWAYS(write(fd, text.data, text.len) == (ssize_t)text.len);
    close(fd);
    free(dumped);
    buf_free(&text);
    json_decref(line);
}

static test_reply_t reply_from(client_response_t *response, int sent)
{
    test_reply_t reply = {0, NULL, NULL};
    if (sent != 0) {
        reply.body = xstrdup("");
        return reply;
    }
    reply.status = response->status;
    reply.body = response->body ? response->body : xstrdup("");
    response->body = NULL;
    reply.json = json_loads(reply.body, JSON_DECODE_ANY, NULL);
    client_response_free(response);
    return reply;
}

test_reply_t test_call(test_env_t *env, const test_key_t *key, const char *method, const char *target, const char *body,
                       const char *idempotency_key)
{
    char generated[40];
    client_response_t response;
    if (body != NULL && idempotency_key == NULL) {
        uint8_t random[16];
        crypto_random_bytes(random, sizeof random);
        for (size_t i = 0; i < sizeof random; i++)
            snprintf(generated + 2 * i, 3, "%02x", random[i]);
        idempotency_key = generated;
    }
    int sent = client_call("127.0.0.1", env->port, key ? key->keyid : NULL, key ? key->signer : NULL, method, target,
                           body, idempotency_key, &response);
    if (sent == 0) response_log(method, target, body, &response);
    return reply_from(&response, sent);
}

test_reply_t test_call_accept(test_env_t *env, const test_key_t *key, const char *target, const char *accept)
{
    client_response_t response;
    int sent = client_call_accept("127.0.0.1", env->port, key->keyid, key->signer, "GET", target, NULL, NULL, accept,
                                  &response);
    if (sent == 0) response_log("GET", target, NULL, &response);
    return reply_from(&response, sent);
}

test_reply_t test_raw(test_env_t *env, const char *request, size_t len)
{
    client_response_t response;
    int sent = client_send_raw("127.0.0.1", env->port, request, len, &response);
    return reply_from(&response, sent);
}

void test_reply_free(test_reply_t *reply)
{
    json_decref(reply->json);
    free(reply->body);
    reply->json = NULL;
    reply->body = NULL;
}

const char *test_code(const test_reply_t *reply)
{
    const char *code = json_string_value(json_object_get(reply->json, "code"));
    return code ? code : "";
}

int64_t test_int(const json_t *json, const char *path)
{
    char part[64];
    const json_t *at = json;
    while (*path) {
        size_t len = strcspn(path, ".");
        ASSERT_ALWAYS(len < sizeof part);
        memcpy(part, path, len);
        part[len] = '\0';
        at = json_is_array(at) ? json_array_get(at, (size_t)atoi(part)) : json_object_get(at, part);
        if (at == NULL) {
            fprintf(stderr, "test_int: no %s\n", part);
            abort();
        }
        path += len + (path[len] == '.');
    }
    ASSERT_ALWAYS(json_is_integer(at));
    return (int64_t)json_integer_value(at);
}

int64_t test_sql_int(test_env_t *env, const char *sql)
{
    PGconn *pg = pg_connect(env->db_url);
    PGresult *res = PQexec(pg, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) < 1) {
        fprintf(stderr, "test_sql_int: %s: %s\n", sql, PQresultErrorMessage(res));
        abort();
    }
    int64_t value = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    PQfinish(pg);
    return value;
}

int test_sql_exec(test_env_t *env, const char *sql)
{
    PGconn *pg = pg_connect(env->db_url);
    PGresult *res = PQexec(pg, sql);
    ExecStatusType status = PQresultStatus(res);
    PQclear(res);
    PQfinish(pg);
    return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK ? 0 : -1;
}

void test_expect(test_reply_t reply, int status, const char *code)
{
    if (reply.status != status || (code && strcmp(test_code(&reply), code) != 0))
        fprintf(stderr, "unexpected reply %d: %s\n", reply.status, reply.body);
    ASSERT_ALWAYS(reply.status == status);
    if (code) ASSERT_ALWAYS(strcmp(test_code(&reply), code) == 0);
    test_reply_free(&reply);
}

test_reply_t test_move(test_env_t *env, const test_key_t *key, const char *path, const char *member, int64_t points,
                       const char *reference)
{
    char body[256];
    snprintf(body, sizeof body, "{\"member\":\"%s\",\"points\":%lld,\"reference\":\"%s\"}", member, (long long)points,
             reference);
    return test_call(env, key, "POST", path, body, NULL);
}

/* Calls made from threads --------------------------------------------------------------- */
static void *async_main(void *arg)
{
    test_async_t *call = arg;
    client_response_t response;
    double start = test_now_s();
    int sent = client_call("127.0.0.1", call->port, call->key->keyid, call->key->signer, call->method, call->target,
                           call->body[0] ? call->body : NULL, call->idempotency_key[0] ? call->idempotency_key : NULL,
                           &response);
    call->took_s = test_now_s() - start;
    if (sent != 0) return NULL;
    call->status = response.status;
    call->retry_after_s = response.retry_after_s;
    const char *code = response.body ? strstr(response.body, "\"code\":\"") : NULL;
    if (code != NULL) snprintf(call->code, sizeof call->code, "%.*s", (int)strcspn(code + 8, "\""), code + 8);
    call->outcome_unknown = response.body != NULL && strstr(response.body, "outcome is unknown") != NULL;
    client_response_free(&response);
    return NULL;
}

static void async_prepare(test_async_t *call, const test_env_t *env, const test_key_t *key, const char *method,
                          const char *target, const char *member, const char *reference)
{
    memset(call, 0, sizeof *call);
    call->port = env->port;
    call->key = key;
    call->method = method;
    call->target = target;
    if (reference != NULL) {
        snprintf(call->body, sizeof call->body, "{\"member\":\"%s\",\"points\":5,\"reference\":\"%s\"}", member,
                 reference);
        snprintf(call->idempotency_key, sizeof call->idempotency_key, "%s-key", reference);
    }
}

void test_async_run(test_async_t *call, const test_env_t *env, const test_key_t *key, const char *method,
                    const char *target, const char *member, const char *reference)
{
    async_prepare(call, env, key, method, target, member, reference);
    async_main(call);
}

void test_async_start(test_async_t *call, const test_env_t *env, const test_key_t *key, const char *method,
                      const char *target, const char *member, const char *reference)
{
    async_prepare(call, env, key, method, target, member, reference);
    ASSERT_ALWAYS(pthread_create(&call->thread, NULL, async_main, call) == 0);
}

void test_async_join(test_async_t *call)
{
    ASSERT_ALWAYS(pthread_join(call->thread, NULL) == 0);
}

int64_t test_reference_count(test_env_t *env, const char *reference)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM transactions WHERE reference = '%s'", reference);
    return test_sql_int(env, sql);
}

void test_retry_until_applied(test_env_t *env, const test_key_t *key, const char *member, const char *reference)
{
    test_async_t call = {.status = 503};
    for (int attempt = 0; attempt < 60 && (call.status == 503 || call.status == 409 || call.status == 0); attempt++) {
        if (attempt > 0) usleep(250000);
        test_async_run(&call, env, key, "POST", "/v1/earn", member, reference);
        if (call.status == 409) ASSERT_ALWAYS(strcmp(call.code, "request_in_progress") == 0); /* the first still commits */
    }
    if (call.status != 201) fprintf(stderr, "the retries of %s ended %d %s\n", reference, call.status, call.code);
    ASSERT_ALWAYS(call.status == 201);
    ASSERT_ALWAYS(test_reference_count(env, reference) == 1); /* exactly one effect */
}

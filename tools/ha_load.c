/* ha_load.c — the load of tools/ha-test.sh (issue 18): signed earns and burns through the
 * balancer over N keep-alive connections until a stop file appears, every request with a fresh
 * Idempotency-Key, and every 5xx, connection error or timeout (10 s) retried with the SAME key and
 * body until a non-5xx answer (or a grace period after the stop). Every attempt is one log line;
 * a poller collects signed checkpoints (GET /v1/admin/checkpoint) the whole time. Also
 * `ha-load stats`: the outage and the throughput around one event, read back from that log.
 *
 * usage: ha-load run HOST:PORT KEYID KEYFILE OP_KEYID OP_KEYFILE TAG CLIENTS RATE LOG CHECKPOINTS STOPFILE
 *        ha-load stats LOG EVENT_MS SETTLED_MS WINDOW_MS
 * Log line (tab-separated): start_ms end_ms worker key kind attempt status seq code retry_after
 *   status -1 = connection error or timeout (no answer); seq 0 = none in the answer; code: the
 *   problem code of a ledgerd answer, "balancer:<code>" for haproxy's own, "-" on 2xx, "none";
 *   retry_after: the Retry-After header's seconds, -1 when absent.
 * Checkpoints file: one line per poll that answered 200: time_ms base64(note). */
#define _GNU_SOURCE /* strcasestr: header names arrive in either case through the balancer */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <jansson.h>

#include "buf.h"
#include "client.h"
#include "crypto.h"

#define HA_ANSWER_TIMEOUT_S   10    /* a request with no answer by then counts as failed and is retried */
#define HA_CONNECT_TIMEOUT_MS 2000  /* loopback: a refused or dropped connect is known at once */
#define HA_RETRY_PAUSE_MS     100   /* between attempts of one request: a failover is seconds long */
#define HA_STOP_GRACE_MS      30000 /* after the stop file: unanswered requests keep being retried */
#define HA_RESIGN_AFTER_S     120   /* re-sign a retried request well inside the ±300 s window */
#define HA_MEMBERS_PER_WORKER 8
#define HA_BURN_EVERY         4 /* one request in four burns a point earned earlier */
#define HA_CHECKPOINT_POLL_MS 500

typedef struct {
    const char *keyid, *tag, *stop_file;
    const char *op_keyid;
    crypto_signer_t *key, *op_key;
    char host[128];
    struct sockaddr_in server;
    double per_worker_interval_s; /* 0: no pacing */
    FILE *log, *checkpoints;
    pthread_mutex_t log_lock;
    atomic_int stopping;
    atomic_llong stop_ms;
} load_t;

typedef struct {
    load_t *load;
    int index;
    int64_t balance[HA_MEMBERS_PER_WORKER]; /* acknowledged points per member of this worker */
} worker_t;

static long long now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Whether the run is over for new requests (the stop file exists), and, past the grace, for retries. */
static int stopped(load_t *load, int for_retry)
{
    if (!atomic_load(&load->stopping)) {
        struct stat st;
        if (stat(load->stop_file, &st) != 0) return 0;
        atomic_store(&load->stop_ms, now_ms());
        atomic_store(&load->stopping, 1);
    }
    return !for_retry || now_ms() - atomic_load(&load->stop_ms) > HA_STOP_GRACE_MS;
}

/* A connected socket with send/receive timeouts, or -1. */
static int connect_server(const struct sockaddr_in *server)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1, error = 0;
    if (fd < 0) return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval timeout = {HA_ANSWER_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    int rc = connect(fd, (const struct sockaddr *)server, sizeof *server);
    if (rc != 0 && errno == EINPROGRESS) {
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        socklen_t len = sizeof error;
        rc = poll(&pfd, 1, HA_CONNECT_TIMEOUT_MS) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0 &&
                     error == 0
                 ? 0
                 : -1;
    }
    fcntl(fd, F_SETFL, flags);
    if (rc != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

typedef struct {
    int status;       /* -1: no answer (connection error or timeout) */
    char *body;       /* owned */
    int from_ledgerd; /* ledgerd sets X-Request-Id on every answer; the balancer's own answers lack it */
    int retry_after;  /* the Retry-After header, or -1 */
} answer_t;

/* The value of header name (with its ':') in the head [start, end), or NULL. */
static const char *header(const char *start, const char *end, const char *name)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\r\n%s", name);
    const char *found = strcasestr(start, pattern);
    return found != NULL && found < end ? found + strlen(pattern) : NULL;
}

/* Reads one Content-Length framed response. Returns 0, or -1 when the connection closed or timed
 * out first. */
static int read_response(int fd, buf_t *in, answer_t *answer)
{
    char chunk[8192];
    for (;;) {
        char *end = in->data ? strstr(in->data, "\r\n\r\n") : NULL;
        if (end) {
            const char *length = header(in->data, end, "content-length:");
            const char *retry = header(in->data, end, "retry-after:");
            size_t size = length ? strtoul(length, NULL, 10) : 0, head = (size_t)(end + 4 - in->data);
            if (in->len >= head + size) {
                answer->status = atoi(in->data + 9);
                answer->from_ledgerd = header(in->data, end, "x-request-id:") != NULL;
                answer->retry_after = retry ? atoi(retry) : -1;
                answer->body = xstrndup(in->data + head, size);
                size_t rest = in->len - head - size;
                memmove(in->data, in->data + head + size, rest);
                in->len = rest;
                in->data[rest] = '\0';
                return 0;
            }
        }
        ssize_t got = recv(fd, chunk, sizeof chunk, 0);
        if (got <= 0) return -1;
        buf_append(in, chunk, (size_t)got);
    }
}

/* One exchange on *fd (connecting when -1); answer->body is owned by the caller. */
static void exchange(const struct sockaddr_in *server, int *fd, buf_t *in, const buf_t *request, answer_t *answer)
{
    memset(answer, 0, sizeof *answer);
    answer->status = -1;
    answer->retry_after = -1;
    if (*fd < 0) *fd = connect_server(server);
    if (*fd >= 0 && send(*fd, request->data, request->len, MSG_NOSIGNAL) == (ssize_t)request->len &&
        read_response(*fd, in, answer) != 0)
        answer->status = -1;
    /* the balancer closes a connection after a 5xx of its own: start afresh after any failure */
    if (answer->status < 0 || answer->status >= 500) {
        if (*fd >= 0) close(*fd);
        *fd = -1;
        buf_reset(in);
    }
}

static void build_request(const load_t *load, buf_t *raw, const char *target, const char *body, const char *key)
{
    buf_reset(raw);
    buf_printf(raw, "POST %s HTTP/1.1\r\nHost: %s\r\n", target, load->host);
    client_sign(raw, load->keyid, load->key, "POST", target, body, strlen(body), key, 0);
    buf_printf(raw, "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", strlen(body), body);
}

/* From an answer: the transaction's seq (2xx; else 0) and who answered what: "-" on 2xx, the
 * problem's code (ledgerd), "balancer:" and its code (or "-") for haproxy's own, "none". */
static long long read_answer(const answer_t *answer, char *code, size_t code_max)
{
    json_t *root = answer->body ? json_loads(answer->body, 0, NULL) : NULL;
    json_t *seq = json_object_get(json_object_get(root, "transaction"), "seq");
    const char *problem = json_string_value(json_object_get(root, "code"));
    int ok = answer->status >= 200 && answer->status < 300;
    long long value = ok && json_is_integer(seq) ? (long long)json_integer_value(seq) : 0;
    if (problem == NULL || strlen(problem) > 40 || strpbrk(problem, "\t\n ")) problem = "-";
    if (answer->status < 0) snprintf(code, code_max, "none");
    else if (ok) snprintf(code, code_max, "-");
    else snprintf(code, code_max, "%s%s", answer->from_ledgerd ? "" : "balancer:", problem);
    json_decref(root);
    return value;
}

static void log_attempt(load_t *load, long long start, int worker, const char *key, const char *kind, int attempt,
                        const answer_t *answer)
{
    char code[64];
    long long seq = read_answer(answer, code, sizeof code);
    pthread_mutex_lock(&load->log_lock);
    fprintf(load->log, "%lld\t%lld\t%d\t%s\t%s\t%d\t%d\t%lld\t%s\t%d\n", start, now_ms(), worker, key, kind, attempt,
            answer->status, seq, code, answer->retry_after);
    pthread_mutex_unlock(&load->log_lock);
}

/* Sends one request until it has a non-5xx answer (or the run is over). Returns the final status. */
static int send_until_answered(worker_t *worker, int *fd, buf_t *in, const char *target, const char *body,
                               const char *key, const char *kind)
{
    load_t *load = worker->load;
    buf_t raw = BUF_INIT;
    int status = -1;
    long long first = now_ms(), signed_at = first;
    build_request(load, &raw, target, body, key);
    for (int attempt = 1;; attempt++) {
        if (now_ms() - signed_at > HA_RESIGN_AFTER_S * 1000LL) {
            build_request(load, &raw, target, body, key);
            signed_at = now_ms();
        }
        long long start = now_ms();
        answer_t answer;
        exchange(&load->server, fd, in, &raw, &answer);
        log_attempt(load, start, worker->index, key, kind, attempt, &answer);
        free(answer.body);
        status = answer.status;
        if ((status > 0 && status < 500) || stopped(load, 1)) break;
        sleep_ms(HA_RETRY_PAUSE_MS);
    }
    buf_free(&raw);
    return status;
}

static void *worker_main(void *arg)
{
    worker_t *worker = arg;
    load_t *load = worker->load;
    buf_t in = BUF_INIT;
    int fd = -1;
    double next = (double)now_ms() / 1000;
    for (long n = 0; !stopped(load, 0); n++) {
        int member = (int)(n % HA_MEMBERS_PER_WORKER);
        int burn = n % HA_BURN_EVERY == HA_BURN_EVERY - 1 && worker->balance[member] > 0;
        char body[256], key[96];
        snprintf(key, sizeof key, "%s-w%d-n%ld", load->tag, worker->index, n);
        snprintf(body, sizeof body, "{\"member\":\"ha-%s-w%d-m%d\",\"points\":%d,\"reference\":\"%s\"}", load->tag,
                 worker->index, member, burn ? 1 : 10, key);
        int status = send_until_answered(worker, &fd, &in, burn ? "/v1/burn" : "/v1/earn", body, key,
                                         burn ? "burn" : "earn");
        if (status >= 200 && status < 300) worker->balance[member] += burn ? -1 : 10;
        if (load->per_worker_interval_s > 0) {
            next += load->per_worker_interval_s;
            double wait = next - (double)now_ms() / 1000;
            if (wait > 0) sleep_ms((long)(wait * 1000));
            else next = (double)now_ms() / 1000; /* behind (an outage): no burst to catch up */
        }
    }
    if (fd >= 0) close(fd);
    buf_free(&in);
    return NULL;
}

/* Polls signed checkpoints through the balancer for as long as the load runs. */
static void *checkpoint_main(void *arg)
{
    load_t *load = arg;
    buf_t in = BUF_INIT, raw = BUF_INIT;
    int fd = -1;
    while (!stopped(load, 0)) {
        buf_reset(&raw);
        buf_printf(&raw, "GET /v1/admin/checkpoint HTTP/1.1\r\nHost: %s\r\n", load->host);
        client_sign(&raw, load->op_keyid, load->op_key, "GET", "/v1/admin/checkpoint", NULL, 0, NULL, 0);
        buf_append_str(&raw, "\r\n");
        answer_t answer;
        exchange(&load->server, &fd, &in, &raw, &answer);
        if (answer.status == 200 && answer.body != NULL) {
            char *b64 = crypto_base64_encode((const uint8_t *)answer.body, strlen(answer.body));
            fprintf(load->checkpoints, "%lld\t%s\n", now_ms(), b64);
            fflush(load->checkpoints);
            free(b64);
        }
        free(answer.body);
        sleep_ms(HA_CHECKPOINT_POLL_MS);
    }
    if (fd >= 0) close(fd);
    buf_free(&in);
    buf_free(&raw);
    return NULL;
}

static int run(char **argv)
{
    static load_t load;
    uint16_t port = 0;
    load.keyid = argv[2];
    load.key = crypto_signer_load_file(argv[3]);
    load.op_keyid = argv[4];
    load.op_key = crypto_signer_load_file(argv[5]);
    load.tag = argv[6];
    int clients = atoi(argv[7]);
    double rate = atof(argv[8]);
    load.log = fopen(argv[9], "a");
    load.checkpoints = fopen(argv[10], "a");
    load.stop_file = argv[11];
    if (client_parse_url(argv[1], load.host, sizeof load.host, &port) != 0 || load.key == NULL ||
        load.op_key == NULL || clients < 1 || clients > 256 || load.log == NULL || load.checkpoints == NULL) {
        fprintf(stderr, "ha-load: bad arguments\n");
        return 2;
    }
    setvbuf(load.log, NULL, _IOLBF, 0);
    load.server.sin_family = AF_INET;
    load.server.sin_port = htons(port);
    inet_pton(AF_INET, strcmp(load.host, "localhost") == 0 ? "127.0.0.1" : load.host, &load.server.sin_addr);
    load.per_worker_interval_s = rate > 0 ? clients / rate : 0;
    pthread_mutex_init(&load.log_lock, NULL);
    worker_t *workers = xcalloc((size_t)clients, sizeof *workers);
    pthread_t *threads = xcalloc((size_t)clients + 1, sizeof *threads);
    for (int i = 0; i < clients; i++) {
        workers[i].load = &load;
        workers[i].index = i;
        pthread_create(&threads[i], NULL, worker_main, &workers[i]);
    }
    pthread_create(&threads[clients], NULL, checkpoint_main, &load);
    for (int i = 0; i <= clients; i++)
        pthread_join(threads[i], NULL);
    fclose(load.log);
    fclose(load.checkpoints);
    crypto_signer_free(load.key);
    crypto_signer_free(load.op_key);
    free(workers);
    free(threads);
    return 0;
}

typedef struct {
    long long start, end;
    int status;
    char key[96];
    int attempt;
    char code[48];
} attempt_t;

/* Reads the log. Returns the attempts (owned) and their count in *count. */
static attempt_t *read_log(const char *path, size_t *count)
{
    FILE *in = fopen(path, "r");
    attempt_t *all = NULL;
    size_t cap = 0;
    char line[512];
    *count = 0;
    while (in != NULL && fgets(line, sizeof line, in) != NULL) {
        attempt_t a;
        int worker = 0;
        char kind[16];
        long long seq = 0;
        if (strchr(line, '\n') == NULL ||
            sscanf(line, "%lld\t%lld\t%d\t%95s\t%15s\t%d\t%d\t%lld\t%47s", &a.start, &a.end, &worker, a.key, kind,
                   &a.attempt, &a.status, &seq, a.code) != 9)
            continue;
        if (*count == cap) all = xrealloc(all, (cap = cap ? cap * 2 : 4096) * sizeof *all);
        all[(*count)++] = a;
    }
    if (in != NULL) fclose(in);
    return all;
}

static int succeeded(const attempt_t *a)
{
    return a->status > 0 && a->status < 500;
}

/* The longest any one request that failed at least once waited, first attempt to final answer. */
static long long slowest_request(const attempt_t *all, size_t count, long long event, long long settled)
{
    long long slowest = 0;
    for (size_t i = 0; i < count; i++) {
        if (!succeeded(&all[i]) || all[i].attempt == 1 || all[i].end < event || all[i].start >= settled) continue;
        for (size_t j = i; j-- > 0;)
            if (all[j].attempt == 1 && strcmp(all[j].key, all[i].key) == 0) {
                if (all[i].end - all[j].start > slowest) slowest = all[i].end - all[j].start;
                break;
            }
    }
    return slowest;
}

/* Failed attempts counted by "status:code" (at most HA_FAILURE_KINDS kinds; the rest as "more"). */
#define HA_FAILURE_KINDS 8
typedef struct {
    char label[64];
    long count;
} failure_kind_t;

static void count_failure(failure_kind_t *kinds, const attempt_t *a)
{
    char label[64];
    snprintf(label, sizeof label, "%d:%s", a->status, a->code);
    for (int i = 0; i < HA_FAILURE_KINDS; i++) {
        if (kinds[i].count == 0 || i == HA_FAILURE_KINDS - 1) snprintf(kinds[i].label, sizeof kinds[i].label, "%s",
                                                                       i == HA_FAILURE_KINDS - 1 ? "more" : label);
        if (strcmp(kinds[i].label, label) == 0 || i == HA_FAILURE_KINDS - 1) {
            kinds[i].count++;
            return;
        }
    }
}

/* Around one event (the log is in order of end time):
 *  outage_ms: from the first failed attempt after the event to the first answer after it;
 *  no_answer_ms: the longest time from the event to its settling in which no request was answered;
 *  failed attempts by status and code (-1:none is no answer); the slowest retried request;
 *  requests answered 2xx per second in the window before the event and the window after it settled. */
static int stats(char **argv)
{
    long long event = atoll(argv[3]), settled = atoll(argv[4]), window = atoll(argv[5]);
    size_t count = 0;
    attempt_t *all = read_log(argv[2], &count);
    long long first_fail = 0, first_answer = 0, last_answer = event, no_answer = 0, before = 0, after = 0;
    failure_kind_t kinds[HA_FAILURE_KINDS];
    memset(kinds, 0, sizeof kinds);
    for (size_t i = 0; i < count; i++) {
        const attempt_t *a = &all[i];
        if (a->end >= event && a->start < settled && !succeeded(a)) {
            count_failure(kinds, a);
            if (first_fail == 0) first_fail = a->start;
        }
        if (succeeded(a) && first_fail != 0 && first_answer == 0 && a->end > first_fail) first_answer = a->end;
        if (succeeded(a) && a->end >= event && a->end <= settled) {
            if (a->end - last_answer > no_answer) no_answer = a->end - last_answer;
            last_answer = a->end;
        }
        if (a->status >= 200 && a->status < 300) {
            if (a->end >= event - window && a->end < event) before++;
            if (a->end >= settled && a->end < settled + window) after++;
        }
    }
    if (settled - last_answer > no_answer) no_answer = settled - last_answer;
    printf("outage_ms=%lld no_answer_ms=%lld slowest_request_ms=%lld before_per_s=%.0f after_per_s=%.0f failed:",
           first_answer ? first_answer - first_fail : 0, no_answer, slowest_request(all, count, event, settled),
           (double)before * 1000 / (double)window, (double)after * 1000 / (double)window);
    for (int i = 0; i < HA_FAILURE_KINDS && kinds[i].count > 0; i++)
        printf(" %s=%ld", kinds[i].label, kinds[i].count);
    printf("%s\n", kinds[0].count ? "" : " none");
    free(all);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 13 && strcmp(argv[1], "run") == 0) return run(argv + 1);
    if (argc == 6 && strcmp(argv[1], "stats") == 0) return stats(argv);
    fprintf(stderr, "usage: ha-load run HOST:PORT KEYID KEYFILE OP_KEYID OP_KEYFILE TAG CLIENTS RATE LOG CHECKPOINTS "
                    "STOPFILE\n       ha-load stats LOG EVENT_MS SETTLED_MS WINDOW_MS\n");
    return 2;
}

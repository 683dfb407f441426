/* bench_load.c — drives pre-signed earn/burn traffic at a running ledgerd over N keep-alive
 * connections and reports ops/s and latency percentiles. Part of tools/bench-load.sh, which
 * also measures the raw-SQL pgbench baseline in the same run and checks the ledger afterwards.
 * It also accounts for the machine's CPU over the load: busy time from /proc/stat (every process:
 * server, database, this generator, the kernel) per request, the share of it spent by the server
 * (BENCH_SERVER_PID) and by this generator, and the ceiling that budget implies when every core
 * is busy — the most any design of the same per-request work could reach on this machine.
 * usage: bench-load HOST:PORT KEYID KEYFILE MODE(earn|burn|mixed) MEMBERS CLIENTS REQUESTS DUP_PCT TAG */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "buf.h"
#include "client.h"
#include "crypto.h"

typedef struct {
    char *bytes;
    size_t len;
    int duplicate; /* an exact replay of an earlier request */
    long original; /* index of the request this one repeats (itself if not a duplicate) */
} prepared_t;

static prepared_t *requests;
static long request_count;
static atomic_long next_request;
static double *latency_ms;
static int *status_of;
static struct sockaddr_in server;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds: the whole machine's busy time (not idle, not waiting for I/O) from /proc/stat. */
static double machine_busy_s(void)
{
    unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    FILE *stat = fopen("/proc/stat", "r");
    if (stat == NULL) return 0;
    int fields = fscanf(stat, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &system, &idle, &iowait,
                        &irq, &softirq, &steal);
    fclose(stat);
    if (fields < 8) return 0;
    return (double)(user + nice + system + irq + softirq + steal) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU seconds (user + system) of one process, 0 when it cannot be read. */
static double process_cpu_s(const char *pid)
{
    char path[64], line[1024];
    unsigned long long utime = 0, stime = 0;
    snprintf(path, sizeof path, "/proc/%s/stat", pid);
    FILE *stat = fopen(path, "r");
    if (stat == NULL) return 0;
    char *after_name = fgets(line, sizeof line, stat) != NULL ? strrchr(line, ')') : NULL;
    fclose(stat);
    /* after the name: state, ppid, pgrp, session, tty, tpgid, flags, minflt, cminflt, majflt, cmajflt */
    if (after_name == NULL || sscanf(after_name, ") %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                                     &utime, &stime) != 2)
        return 0;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_s(void)
{
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 + (double)usage.ru_stime.tv_sec +
           (double)usage.ru_stime.tv_usec / 1e6;
}

static int connect_server(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&server, sizeof server) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads one response (Content-Length framed). Returns its status, or -1 if the connection closed. */
static int read_response(int fd, buf_t *in)
{
    char chunk[8192];
    for (;;) {
        char *end = in->data ? strstr(in->data, "\r\n\r\n") : NULL;
        if (end) {
            const char *length = strstr(in->data, "Content-Length:");
            if (length == NULL) length = strstr(in->data, "content-length:");
            size_t body = length ? strtoul(length + 15, NULL, 10) : 0, head = (size_t)(end + 4 - in->data);
            if (in->len >= head + body) {
                int status = atoi(in->data + 9);
                size_t rest = in->len - head - body;
                memmove(in->data, in->data + head + body, rest);
                in->len = rest;
                in->data[rest] = '\0';
                return status;
            }
        }
        ssize_t got = recv(fd, chunk, sizeof chunk, 0);
        if (got <= 0) return -1;
        buf_append(in, chunk, (size_t)got);
    }
}

static void *worker(void *arg)
{
    (void)arg;
    buf_t in = BUF_INIT;
    int fd = connect_server();
    for (long i; (i = atomic_fetch_add(&next_request, 1)) < request_count;) {
        double start = now_s();
        int status = -1;
        for (int attempt = 0; attempt < 3 && status < 0; attempt++) {
            if (fd < 0) fd = connect_server();
            if (fd >= 0 && send(fd, requests[i].bytes, requests[i].len, MSG_NOSIGNAL) == (ssize_t)requests[i].len)
                status = read_response(fd, &in);
            if (status < 0) {
                close(fd);
                fd = -1;
                buf_reset(&in);
            }
        }
        latency_ms[i] = (now_s() - start) * 1000;
        status_of[i] = status;
    }
    if (fd >= 0) close(fd);
    buf_free(&in);
    return NULL;
}

static int compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void prepare(const char *host, const char *keyid, const crypto_signer_t *signer, const char *mode, long members,
                    int dup_pct, const char *tag)
{
    srand(42);
    for (long i = 0; i < request_count; i++) {
        if (i > 10 && rand() % 100 < dup_pct) { /* a client retry: the very same signed bytes */
            long original = rand() % i;
            while (requests[original].duplicate)
                original--;
            requests[i] = requests[original];
            requests[i].bytes = strdup(requests[original].bytes);
            requests[i].duplicate = 1;
            requests[i].original = original;
            continue;
        }
        int burn = strcmp(mode, "burn") == 0 || (strcmp(mode, "mixed") == 0 && rand() % 100 < 20);
        char body[192], key[64], target[16];
        snprintf(target, sizeof target, "/v1/%s", burn ? "burn" : "earn");
        snprintf(body, sizeof body, "{\"member\":\"bench-%ld\",\"points\":1,\"reference\":\"%s-%ld\"}",
                 members > 0 ? rand() % members : 0, tag, i);
        snprintf(key, sizeof key, "%s-%ld", tag, i);
        buf_t raw = BUF_INIT;
        buf_printf(&raw, "POST %s HTTP/1.1\r\nHost: %s\r\n", target, host);
        client_sign(&raw, keyid, signer, "POST", target, body, strlen(body), key, 0);
        buf_printf(&raw, "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", strlen(body), body);
        requests[i].len = raw.len;
        requests[i].bytes = buf_take(&raw);
        requests[i].duplicate = 0;
        requests[i].original = i;
    }
}

int main(int argc, char **argv)
{
    if (argc != 10) {
        fprintf(stderr, "usage: bench-load HOST:PORT KEYID KEYFILE MODE MEMBERS CLIENTS REQUESTS DUP_PCT TAG\n");
        return 2;
    }
    char host[128];
    uint16_t port = 0;
    crypto_signer_t *key = crypto_signer_load_file(argv[3]);
    if (client_parse_url(argv[1], host, sizeof host, &port) != 0 || key == NULL) return 2;
    server.sin_family = AF_INET;
    server.sin_port = htons(port);
    inet_pton(AF_INET, strcmp(host, "localhost") == 0 ? "127.0.0.1" : host, &server.sin_addr);
    int clients = atoi(argv[6]);
    request_count = atol(argv[7]);
    requests = calloc((size_t)request_count, sizeof *requests);
    latency_ms = calloc((size_t)request_count, sizeof *latency_ms);
    status_of = calloc((size_t)request_count, sizeof *status_of);
    prepare(host, argv[2], key, argv[4], atol(argv[5]), atoi(argv[8]), argv[9]);
    pthread_t *threads = calloc((size_t)clients, sizeof *threads);
    const char *server_pid = getenv("BENCH_SERVER_PID");
    double busy0 = machine_busy_s(), self0 = self_cpu_s(), server0 = server_pid ? process_cpu_s(server_pid) : 0;
    double start = now_s();
    for (int i = 0; i < clients; i++)
        pthread_create(&threads[i], NULL, worker, NULL);
    for (int i = 0; i < clients; i++)
        pthread_join(threads[i], NULL);
    double elapsed = now_s() - start;
    double busy = machine_busy_s() - busy0, self = self_cpu_s() - self0;
    double served = server_pid ? process_cpu_s(server_pid) - server0 : 0;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    long ok = 0, refused = 0, failed = 0, unique_ok = 0;
    char *acknowledged = calloc((size_t)request_count, 1); /* per distinct request: any 2xx */
    for (long i = 0; i < request_count; i++) {
        if (status_of[i] >= 200 && status_of[i] < 300)
            ok++, acknowledged[requests[i].original] = 1;
        else if (status_of[i] >= 400 && status_of[i] < 500)
            refused++; /* 409 in flight, 422 no points */
        else
            failed++;
    }
    for (long i = 0; i < request_count; i++)
        unique_ok += acknowledged[i];
    free(acknowledged);
    qsort(latency_ms, (size_t)request_count, sizeof *latency_ms, compare);
    printf("RESULT mode=%s clients=%d requests=%ld ops_per_s=%.0f p50_ms=%.2f p99_ms=%.2f p999_ms=%.2f "
           "ok=%ld unique_ok=%ld refused=%ld failed=%ld\n",
           argv[4], clients, request_count, (double)request_count / elapsed, latency_ms[request_count / 2],
           latency_ms[request_count * 99 / 100], latency_ms[request_count * 999 / 1000], ok, unique_ok, refused,
           failed);
    double per_op_us = busy * 1e6 / (double)request_count;
    printf("CPU mode=%s cores=%ld busy=%.0f%% cpu_us_per_op=%.0f server_us_per_op=%.0f generator_us_per_op=%.0f "
           "rest_us_per_op=%.0f ceiling_ops_per_s=%.0f\n",
           argv[4], cores, 100 * busy / ((double)cores * elapsed), per_op_us, served * 1e6 / (double)request_count,
           self * 1e6 / (double)request_count, (busy - served - self) * 1e6 / (double)request_count,
           per_op_us > 0 ? (double)cores * 1e6 / per_op_us : 0);
    crypto_signer_free(key);
    return failed == 0 ? 0 : 1;
}

/* metrics.h — Prometheus text metrics: requests by route and status, latency histogram per
 * route, database pool gauges. Route labels are the route patterns, so cardinality is bounded. */
#ifndef LEDGER_METRICS_H
#define LEDGER_METRICS_H

#include <stddef.h>
#include <stdint.h>

void metrics_request(const char *route, int status, uint64_t duration_us);
/* Earns and burns the writer applied set-based (counted when written). */
void metrics_write_bulk(size_t requests, int written);
/* One group-commit batch of requests: committed together, or fell back (applied again isolated). */
void metrics_write_batch(size_t requests, int committed);
/* A set-based write the database refused, narrowed down in place to the refused requests. */
void metrics_write_fallback(void);
/* A fallback whose refused request the database named (decision 197): counted as a fallback too. */
void metrics_write_refusal_named(void);
/* Mutations answered 503 because they waited in the writer's queue past its bound. */
void metrics_write_queue_timeouts(size_t requests);
/* A mutation answered 503 at once because the writer's queue was full (LIMIT_WRITE_QUEUE_MAX). */
void metrics_write_queue_full(void);

/* Where the group-commit writer's time goes (ledger_write_seconds_total{phase}): reading what
 * a group of earns and burns needs, applying the rules and building its rows, the round trips
 * sending a group's rows, the round trip of COMMIT, handing the answers back to the HTTP
 * threads, and waiting for work (idle, with the idle writer's probes and lease checks). Most of a
 * batch, not all: a few round trips (preparing a statement, the session check) are in none. The
 * direct path (no writer) adds its read, plan, write and commit time too. */
typedef enum {
    METRICS_WRITE_READ,
    METRICS_WRITE_PLAN,
    METRICS_WRITE_WRITE,
    METRICS_WRITE_COMMIT,
    METRICS_WRITE_ANSWER,
    METRICS_WRITE_WAIT
} metrics_phase_t;
void metrics_write_time(metrics_phase_t phase, uint64_t since_us);
/* Microseconds of a monotonic clock (the since_us of metrics_write_time). */
uint64_t metrics_clock_us(void);
/* Webhooks (issue 20 item 4): one delivery attempt, and the endpoints as the dispatcher last
 * counted them (active, and failing: waiting out a backoff). Labels are fixed: bounded. */
void metrics_webhook_attempt(int ok);
void metrics_webhook_endpoints(int64_t active, int64_t failing);
/* The database gauges, read by the caller (the HTTP layer) from the pool and the store. */
typedef struct {
    int has_pool;
    unsigned pool_size, pool_in_use;
    uint64_t pool_waits;
    uint64_t sessions_abandoned;
} metrics_database_t;
/* Owned text/plain exposition. */
char *metrics_render(const metrics_database_t *database);

#endif

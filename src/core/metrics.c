/* metrics.c — counters behind one mutex; a request updates one row. */
#include "metrics.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "limits.h"

static const double metrics_buckets_s[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
#define METRICS_BUCKETS (sizeof metrics_buckets_s / sizeof metrics_buckets_s[0])

typedef struct {
    const char *route; /* static string */
    int statuses[LIMIT_METRICS_STATUSES_MAX];
    uint64_t counts[LIMIT_METRICS_STATUSES_MAX];
    uint64_t buckets[METRICS_BUCKETS];
    uint64_t observations;
    uint64_t sum_us;
} metrics_route_t;

static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static metrics_route_t metrics_routes[LIMIT_METRICS_ROUTES_MAX];
static size_t metrics_route_count;

static metrics_route_t *route_row(const char *route)
{
    for (size_t i = 0; i < metrics_route_count; i++)
        if (strcmp(metrics_routes[i].route, route) == 0) return &metrics_routes[i];
    if (metrics_route_count == LIMIT_METRICS_ROUTES_MAX) return NULL;
    metrics_routes[metrics_route_count].route = route;
    return &metrics_routes[metrics_route_count++];
}

void metrics_request(const char *route, int status, uint64_t duration_us)
{
    pthread_mutex_lock(&metrics_lock);
    metrics_route_t *row = route_row(route);
    if (row != NULL) {
        for (size_t i = 0; i < LIMIT_METRICS_STATUSES_MAX; i++) {
            if (row->statuses[i] == 0) row->statuses[i] = status;
            if (row->statuses[i] == status) {
                row->counts[i]++;
                break;
            }
        }
        for (size_t i = 0; i < METRICS_BUCKETS; i++)
            if ((double)duration_us / 1e6 <= metrics_buckets_s[i]) row->buckets[i]++;
        row->observations++;
        row->sum_us += duration_us;
    }
    pthread_mutex_unlock(&metrics_lock);
}

static uint64_t metrics_batches, metrics_batch_requests, metrics_batch_fallbacks, metrics_bulk_requests;
static uint64_t metrics_refusals_named;
static uint64_t metrics_queue_timeouts;
static uint64_t metrics_queue_full;
static uint64_t metrics_webhook_ok, metrics_webhook_failed;
static int64_t metrics_webhook_active, metrics_webhook_failing;

void metrics_webhook_attempt(int ok)
{
    pthread_mutex_lock(&metrics_lock);
    if (ok)
        metrics_webhook_ok++;
    else
        metrics_webhook_failed++;
    pthread_mutex_unlock(&metrics_lock);
}

void metrics_webhook_endpoints(int64_t active, int64_t failing)
{
    pthread_mutex_lock(&metrics_lock);
    metrics_webhook_active = active;
    metrics_webhook_failing = failing;
    pthread_mutex_unlock(&metrics_lock);
}

void metrics_write_queue_timeouts(size_t requests)
{
    pthread_mutex_lock(&metrics_lock);
    metrics_queue_timeouts += requests;
    pthread_mutex_unlock(&metrics_lock);
}

void metrics_write_refusal_named(void)
{
    pthread_mutex_lock(&metrics_lock);
    metrics_batch_fallbacks++;
    metrics_refusals_named++;
    pthread_mutex_unlock(&metrics_lock);
}

void metrics_write_fallback(void)
{
    pthread_mutex_lock(&metrics_lock);
    metrics_batch_fallbacks++;
    pthread_mutex_unlock(&metrics_lock);
}

void metrics_write_queue_full(void)
{
    pthread_mutex_lock(&metrics_lock);
    metrics_queue_full++;
    pthread_mutex_unlock(&metrics_lock);
}

void metrics_write_bulk(size_t requests, int written)
{
    pthread_mutex_lock(&metrics_lock);
    if (written) metrics_bulk_requests += requests;
    pthread_mutex_unlock(&metrics_lock);
}

static const char *const metrics_phases[] = {"read", "plan", "write", "commit", "answer", "wait"};
static uint64_t metrics_phase_us[sizeof metrics_phases / sizeof metrics_phases[0]];
_Static_assert(sizeof metrics_phases / sizeof metrics_phases[0] == METRICS_WRITE_WAIT + 1,
               "one label per metrics_phase_t, in its order");

uint64_t metrics_clock_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void metrics_write_time(metrics_phase_t phase, uint64_t since_us)
{
    uint64_t elapsed = metrics_clock_us() - since_us;
    pthread_mutex_lock(&metrics_lock);
    metrics_phase_us[phase] += elapsed;
    pthread_mutex_unlock(&metrics_lock);
}

void metrics_write_batch(size_t requests, int committed)
{
    pthread_mutex_lock(&metrics_lock);
    metrics_batches++;
    metrics_batch_requests += requests;
    if (!committed) metrics_batch_fallbacks++;
    pthread_mutex_unlock(&metrics_lock);
}

char *metrics_render(const metrics_database_t *database)
{
    buf_t out = BUF_INIT;
    buf_append_str(&out, "# HELP ledger_http_requests_total HTTP requests by route and status.\n"
                         "# TYPE ledger_http_requests_total counter\n");
    pthread_mutex_lock(&metrics_lock);
    for (size_t r = 0; r < metrics_route_count; r++)
        for (size_t i = 0; i < LIMIT_METRICS_STATUSES_MAX && metrics_routes[r].statuses[i]; i++)
            buf_printf(&out, "ledger_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n", metrics_routes[r].route,
                       metrics_routes[r].statuses[i], (unsigned long long)metrics_routes[r].counts[i]);
    buf_append_str(&out, "# HELP ledger_http_request_duration_seconds Request latency by route.\n"
                         "# TYPE ledger_http_request_duration_seconds histogram\n");
    for (size_t r = 0; r < metrics_route_count; r++) {
        const metrics_route_t *row = &metrics_routes[r];
        for (size_t i = 0; i < METRICS_BUCKETS; i++)
            buf_printf(&out, "ledger_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n", row->route,
                       metrics_buckets_s[i], (unsigned long long)row->buckets[i]);
        buf_printf(&out, "ledger_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n", row->route,
                   (unsigned long long)row->observations);
        buf_printf(&out, "ledger_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", row->route,
                   (double)row->sum_us / 1e6);
        buf_printf(&out, "ledger_http_request_duration_seconds_count{route=\"%s\"} %llu\n", row->route,
                   (unsigned long long)row->observations);
    }
    buf_printf(&out,
               "# HELP ledger_write_batches_total Group-commit transactions of the writer.\n"
               "# TYPE ledger_write_batches_total counter\nledger_write_batches_total %llu\n"
               "# HELP ledger_write_batch_requests_total Mutations applied through group commit.\n"
               "# TYPE ledger_write_batch_requests_total counter\nledger_write_batch_requests_total %llu\n"
               "# HELP ledger_write_batch_fallbacks_total Fallbacks: a set-based write the database refused "
               "(the refused request named by the database, or narrowed down in place), or a batch that could not "
               "commit (applied again isolated).\n"
               "# TYPE ledger_write_batch_fallbacks_total counter\nledger_write_batch_fallbacks_total %llu\n"
               "# HELP ledger_write_refusals_named_total Refused writes whose request the database's report named "
               "(a reference taken first): planned again as that refusal, without narrowing down.\n"
               "# TYPE ledger_write_refusals_named_total counter\nledger_write_refusals_named_total %llu\n"
               "# HELP ledger_write_bulk_requests_total Earns and burns applied set-based (multi-row statements).\n"
               "# TYPE ledger_write_bulk_requests_total counter\nledger_write_bulk_requests_total %llu\n"
               "# HELP ledger_write_queue_timeouts_total Mutations answered 503 after waiting in the writer's "
               "queue past its bound.\n"
               "# TYPE ledger_write_queue_timeouts_total counter\nledger_write_queue_timeouts_total %llu\n"
               "# HELP ledger_write_queue_full_total Mutations answered 503 database_busy at once because the "
               "writer's queue was full.\n"
               "# TYPE ledger_write_queue_full_total counter\nledger_write_queue_full_total %llu\n"
               "# HELP ledger_db_sessions_abandoned_total Database sessions closed because a wait passed its "
               "bound (a hung database).\n"
               "# TYPE ledger_db_sessions_abandoned_total counter\nledger_db_sessions_abandoned_total %llu\n",
               (unsigned long long)metrics_batches, (unsigned long long)metrics_batch_requests,
               (unsigned long long)metrics_batch_fallbacks, (unsigned long long)metrics_refusals_named,
               (unsigned long long)metrics_bulk_requests, (unsigned long long)metrics_queue_timeouts,
               (unsigned long long)metrics_queue_full, (unsigned long long)database->sessions_abandoned);
    buf_append_str(&out, "# HELP ledger_write_seconds_total Time of the group-commit writer by phase.\n"
                         "# TYPE ledger_write_seconds_total counter\n");
    for (size_t i = 0; i < sizeof metrics_phases / sizeof metrics_phases[0]; i++)
        buf_printf(&out, "ledger_write_seconds_total{phase=\"%s\"} %.6f\n", metrics_phases[i],
                   (double)metrics_phase_us[i] / 1e6);
    buf_printf(&out,
               "# HELP ledger_webhook_deliveries_total Webhook delivery attempts by outcome (ok: a 2xx answer).\n"
               "# TYPE ledger_webhook_deliveries_total counter\n"
               "ledger_webhook_deliveries_total{outcome=\"ok\"} %llu\n"
               "ledger_webhook_deliveries_total{outcome=\"failed\"} %llu\n"
               "# HELP ledger_webhook_endpoints Active webhook endpoints as the dispatcher last counted them.\n"
               "# TYPE ledger_webhook_endpoints gauge\nledger_webhook_endpoints %lld\n"
               "# HELP ledger_webhook_endpoints_failing Active endpoints waiting out a backoff after a failure.\n"
               "# TYPE ledger_webhook_endpoints_failing gauge\nledger_webhook_endpoints_failing %lld\n",
               (unsigned long long)metrics_webhook_ok, (unsigned long long)metrics_webhook_failed,
               (long long)metrics_webhook_active, (long long)metrics_webhook_failing);
    pthread_mutex_unlock(&metrics_lock);
    if (database->has_pool) {
        buf_printf(&out,
                   "# HELP ledger_db_pool_size Database connections in the pool.\n# TYPE ledger_db_pool_size gauge\n"
                   "ledger_db_pool_size %u\n"
                   "# HELP ledger_db_pool_in_use Connections lent to requests.\n# TYPE ledger_db_pool_in_use gauge\n"
                   "ledger_db_pool_in_use %u\n"
                   "# HELP ledger_db_pool_waits_total Acquisitions that had to wait.\n"
                   "# TYPE ledger_db_pool_waits_total counter\nledger_db_pool_waits_total %llu\n",
                   database->pool_size, database->pool_in_use, (unsigned long long)database->pool_waits);
    }
    return buf_take(&out);
}

/* webhook_dispatch.c — the dispatcher's workers (webhook_dispatch.h) and the one HTTP client of
 * the service (libcurl). A worker scans the due endpoints, takes one it can lock, delivers its
 * pending events in order until one fails or a page is done, and looks again; an idle worker
 * sleeps poll_ms. The address check runs in curl's open-socket callback, on the address curl is
 * about to connect to: a name that resolves (or rebinds) to a private address is refused there. */
#include "webhook_dispatch.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <time.h>

#include "assert_always.h"
#include "buf.h"
#include "event_types.h"
#include "json.h"
#include "limits.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "store_webhook.h"
#include "webhook.h"

/* Endpoints one scan looks at (the due ones, soonest first). */
#define WEBHOOK_SCAN_MAX 1024

typedef struct {
    struct webhook_dispatch *dispatch;
    unsigned index;
    int64_t seqs[WEBHOOK_SCAN_MAX]; /* the worker's last scan */
} worker_t;

struct webhook_dispatch {
    webhook_dispatch_options_t options;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping;
    pthread_t threads[LIMIT_WEBHOOK_WORKERS_MAX];
    worker_t workers[LIMIT_WEBHOOK_WORKERS_MAX];
    unsigned started;
};

static int stopping(struct webhook_dispatch *d)
{
    pthread_mutex_lock(&d->lock);
    int value = d->stopping;
    pthread_mutex_unlock(&d->lock);
    return value;
}

/* One delivery's outcome. */
typedef struct {
    struct webhook_dispatch *dispatch;
    int status;                 /* the receiver's HTTP status, 0 when none */
    char error[256];            /* why, when it failed */
    int address_refused;        /* the open-socket callback refused the address */
    int allow_private;
    size_t kept;                /* bytes of the answer read (and dropped) */
} delivery_t;

static curl_socket_t open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *address)
{
    delivery_t *delivery = arg;
    int public_address = 0;
    if (purpose == CURLSOCKTYPE_IPCXN && address->family == AF_INET)
        public_address = webhook_address_public(4, (const uint8_t *)&((struct sockaddr_in *)&address->addr)->sin_addr);
    else if (purpose == CURLSOCKTYPE_IPCXN && address->family == AF_INET6)
        public_address =
            webhook_address_public(6, (const uint8_t *)&((struct sockaddr_in6 *)&address->addr)->sin6_addr);
    if (!public_address && !delivery->allow_private) {
        delivery->address_refused = 1;
        return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype, address->protocol);
}

/* Stop does not wait out a slow receiver: the transfer in flight is abandoned (and retried by
 * whichever worker takes the endpoint next). */
static int transfer_progress(void *arg, curl_off_t download_total, curl_off_t downloaded, curl_off_t upload_total,
                             curl_off_t uploaded)
{
    delivery_t *delivery = arg;
    (void)download_total, (void)downloaded, (void)upload_total, (void)uploaded;
    return stopping(delivery->dispatch);
}

static size_t answer_drop(char *data, size_t size, size_t count, void *arg)
{
    delivery_t *delivery = arg;
    (void)data;
    delivery->kept += size * count;
    return size * count;
}

/* POSTs body to url with the Standard Webhooks headers; fills *delivery. */
static void deliver(struct webhook_dispatch *d, const char *url, const char *id, const char *body,
                    delivery_t *delivery)
{
    struct curl_slist *headers = NULL;
    buf_t line = BUF_INIT;
    int64_t timestamp_s = (int64_t)time(NULL);
    char *signature = webhook_signature(d->options.ledger_key, id, timestamp_s, body);
    memset(delivery, 0, sizeof *delivery);
    delivery->dispatch = d;
    delivery->allow_private = d->options.allow_private;
    CURL *curl = curl_easy_init();
    if (curl == NULL) {
        snprintf(delivery->error, sizeof delivery->error, "cannot start an HTTP client");
        goto out;
    }
    headers = curl_slist_append(headers, "Content-Type: application/json");
    buf_printf(&line, "webhook-id: %s", id);
    headers = curl_slist_append(headers, line.data);
    line.len = 0;
    buf_printf(&line, "webhook-timestamp: %lld", (long long)timestamp_s);
    headers = curl_slist_append(headers, line.data);
    line.len = 0;
    buf_printf(&line, "webhook-signature: %s", signature);
    headers = curl_slist_append(headers, line.data);
    headers = curl_slist_append(headers, "Expect:"); /* no 100-continue round trip */
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L); /* a 3xx is a failure (Standard Webhooks) */
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");       /* the address checked is the one reached */
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)LIMIT_WEBHOOK_CONNECT_MS);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)d->options.timeout_ms);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "coalition-ledger-webhooks/1");
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, delivery);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, transfer_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, delivery);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, answer_drop);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, delivery);
    CURLcode code = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (code == CURLE_OK && status >= 100 && status <= 599) delivery->status = (int)status;
    if (delivery->address_refused)
        snprintf(delivery->error, sizeof delivery->error,
                 "the host resolves to a private, loopback or reserved address (LEDGER_WEBHOOK_ALLOW_PRIVATE is off)");
    else if (code != CURLE_OK)
        snprintf(delivery->error, sizeof delivery->error, "%s", curl_easy_strerror(code));
    else if (delivery->status < 200 || delivery->status > 299)
        snprintf(delivery->error, sizeof delivery->error, "the receiver answered %d", delivery->status);
out:
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    buf_free(&line);
    free(signature);
}

static int subscribed(const store_webhook_t *webhook, const char *type)
{
    size_t index;
    json_t *name;
    json_array_foreach(webhook->event_types, index, name) if (strcmp(json_string_value(name), type) == 0) return 1;
    return 0;
}

/* One event to the endpoint: the attempt recorded, then the cursor moved (2xx) or the backoff
 * set. Returns 1 when delivered and the cursor moved to event_seq. */
static int deliver_event(struct webhook_dispatch *d, store_conn_t *conn, store_webhook_t *webhook, const json_t *event,
                         int64_t event_seq)
{
    delivery_t delivery;
    int moved = 0;
    const char *id = json_string_value(json_object_get(event, "id"));
    int sendable = json_canonical_holds(event); /* not: stored text altered by hand (decision 199) */
    char *body = sendable ? json_canonical(event) : NULL;
    int64_t started_us = store_clock_us();
    if (sendable) {
        deliver(d, webhook->url, id != NULL ? id : "", body, &delivery);
    } else { /* a failed attempt, nothing sent: the endpoint backs off, later events wait (in order) */
        memset(&delivery, 0, sizeof delivery);
        snprintf(delivery.error, sizeof delivery.error, "the event has no canonical JSON form (stored entry altered?)");
    }
    int64_t duration_ms = (store_clock_us() - started_us) / 1000;
    int ok = delivery.status >= 200 && delivery.status <= 299;
    metrics_webhook_attempt(ok);
    /* the attempt's record is history: losing it (database gone) does not change what is sent */
    (void)store_webhook_attempt(conn, webhook->seq, id != NULL ? id : "", event_seq, webhook->failures + 1,
                                delivery.status, ok ? NULL : delivery.error, duration_ms);
    if (ok && store_webhook_advance(conn, webhook->seq, webhook->cursor, event_seq, &moved) == RESULT_OK && moved) {
        webhook->cursor = event_seq;
        webhook->failures = 0;
    } else if (!ok) {
        int64_t delay_ms =
            webhook_backoff_ms(webhook->failures + 1, d->options.backoff_ms, d->options.backoff_cap_ms);
        (void)store_webhook_failed(conn, webhook->seq, webhook->cursor, delay_ms);
    }
    free(body);
    return ok && moved;
}

/* Delivers one locked endpoint's pending events (one page at most). Returns 1 when its cursor
 * moved (more may be waiting), 0 when there was nothing to do or a delivery failed. */
static int endpoint_work(struct webhook_dispatch *d, store_conn_t *conn, int64_t seq)
{
    store_webhook_t webhook;
    json_t *events = NULL;
    int64_t next = 0, skipped_to = 0;
    int progress = 0, stop = 0, moved = 0;
    /* read after taking the lock: the cursor another worker left is the one to continue from */
    if (store_webhook_get(conn, seq, NULL, 0, &webhook) != RESULT_OK) return 0;
    if (webhook.disabled || !webhook.due ||
        store_events_page(conn, webhook.partner, webhook.cursor, LIMIT_WEBHOOK_PAGE_EVENTS, &events, &next) !=
            RESULT_OK)
        goto out;
    size_t index;
    json_t *event;
    json_array_foreach(events, index, event)
    {
        int64_t event_seq = (int64_t)json_integer_value(json_object_get(event, "seq"));
        const char *type = json_string_value(json_object_get(event, "type"));
        if (stop || event_seq <= webhook.cursor) break;
        if (type == NULL || !subscribed(&webhook, type)) { /* not asked for: passed over */
            skipped_to = event_seq;
            continue;
        }
        if (skipped_to > webhook.cursor) {
            if (store_webhook_advance(conn, seq, webhook.cursor, skipped_to, &moved) != RESULT_OK || !moved) break;
            webhook.cursor = skipped_to;
            progress = 1;
        }
        if (!deliver_event(d, conn, &webhook, event, event_seq)) break;
        progress = 1;
        stop = stopping(d);
    }
    if (!stop && skipped_to > webhook.cursor && index == json_array_size(events) &&
        store_webhook_advance(conn, seq, webhook.cursor, skipped_to, &moved) == RESULT_OK && moved)
        progress = 1;
out:
    json_decref(events);
    store_webhook_free(&webhook);
    return progress;
}

/* One scan: every due endpoint this worker can lock, starting at its own offset. Returns 1 when
 * an endpoint made progress. */
static int worker_scan(struct webhook_dispatch *d, worker_t *worker, store_conn_t *conn)
{
    int64_t *seqs = worker->seqs;
    unsigned index = worker->index;
    size_t count = 0;
    int progress = 0;
    if (store_webhook_due(conn, seqs, WEBHOOK_SCAN_MAX, &count) != RESULT_OK) return 0;
    for (size_t i = 0; i < count && !stopping(d); i++) {
        int64_t seq = seqs[(i + index) % count];
        int held = 0;
        if (store_webhook_try_lock(conn, seq, &held) != RESULT_OK) break;
        if (!held) continue; /* another worker (of this or another ledgerd) has it */
        progress |= endpoint_work(d, conn, seq);
        store_webhook_unlock(conn, seq);
    }
    return progress;
}

static void worker_housekeeping(store_conn_t *conn)
{
    int64_t active = 0, failing = 0;
    if (store_webhook_counts(conn, &active, &failing) == RESULT_OK) metrics_webhook_endpoints(active, failing);
    (void)store_webhook_purge(conn, LIMIT_WEBHOOK_DELIVERY_KEEP_S);
}

static void *worker_main(void *arg)
{
    worker_t *worker = arg;
    struct webhook_dispatch *d = worker->dispatch;
    store_conn_t *conn = NULL;
    int64_t housekeeping_us = 0;
    while (!stopping(d)) {
        if (!store_conn_ok(conn)) {
            store_disconnect(conn);
            conn = store_connect_profile(d->options.database_url, &store_profile_webhooks);
        }
        int progress = 0;
        if (conn != NULL) {
            progress = worker_scan(d, worker, conn);
            if (worker->index == 0 && store_clock_us() - housekeeping_us > 60 * 1000000) {
                worker_housekeeping(conn);
                housekeeping_us = store_clock_us();
            }
        }
        if (progress) continue;
        int64_t wait_ms = conn == NULL ? LIMIT_MAINTENANCE_RECONNECT_S * 1000 : d->options.poll_ms;
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += (time_t)(wait_ms / 1000);
        deadline.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&d->lock);
        while (!d->stopping && pthread_cond_timedwait(&d->wake, &d->lock, &deadline) == 0) {
        }
        pthread_mutex_unlock(&d->lock);
    }
    store_disconnect(conn);
    return NULL;
}

webhook_dispatch_t *webhook_dispatch_start(const webhook_dispatch_options_t *options)
{
    if (options->workers == 0) return NULL;
    ASSERT_ALWAYS(options->workers <= LIMIT_WEBHOOK_WORKERS_MAX);
    curl_global_init(CURL_GLOBAL_DEFAULT); /* before any thread uses libcurl */
    struct webhook_dispatch *d = xcalloc(1, sizeof *d);
    d->options = *options;
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->wake, NULL);
    for (unsigned i = 0; i < options->workers; i++) {
        d->workers[i].dispatch = d;
        d->workers[i].index = i;
        if (pthread_create(&d->threads[i], NULL, worker_main, &d->workers[i]) != 0) break;
        d->started++;
    }
    log_info("webhook dispatcher started", json_pack("{s:i}", "workers", (int)d->started));
    return d;
}

void webhook_dispatch_stop(webhook_dispatch_t *dispatch)
{
    if (dispatch == NULL) return;
    pthread_mutex_lock(&dispatch->lock);
    dispatch->stopping = 1;
    pthread_cond_broadcast(&dispatch->wake);
    pthread_mutex_unlock(&dispatch->lock);
    for (unsigned i = 0; i < dispatch->started; i++) pthread_join(dispatch->threads[i], NULL);
    pthread_mutex_destroy(&dispatch->lock);
    pthread_cond_destroy(&dispatch->wake);
    free(dispatch);
    curl_global_cleanup();
}

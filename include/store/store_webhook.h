/* store_webhook.h — SQL of webhooks (issue 20 item 4; migration 0012): the endpoints registered
 * by 'webhook' entries, their delivery progress, and the record of every delivery attempt. */
#ifndef LEDGER_STORE_WEBHOOK_H
#define LEDGER_STORE_WEBHOOK_H

#include <jansson.h>
#include <stdint.h>

#include "limits.h"
#include "store.h"

/* The public id of an endpoint: "whk-<seq of its registration entry>". */
#define STORE_WEBHOOK_ID_PREFIX "whk"

typedef struct {
    int64_t seq;
    char partner[LIMIT_PARTNER_CODE_MAX + 1];
    char url[LIMIT_WEBHOOK_URL_MAX + 1];
    json_t *event_types; /* owned array of names */
    int disabled;
    int64_t cursor;   /* the feed cursor delivered (or skipped) up to */
    int64_t failures; /* consecutive failed attempts at the event after cursor */
    int64_t next_attempt_us;
    int due; /* next_attempt_us has passed on the database's clock */
} store_webhook_t;

void store_webhook_free(store_webhook_t *webhook);

/* Registration (inside the mutation's transaction): active endpoints of partner; the row of a
 * new endpoint, delivering from cursor (its own seq: events after the registration). */
result_t store_webhook_count_active(store_conn_t *conn, const char *partner, int64_t *count);
result_t store_webhook_insert(store_conn_t *conn, int64_t seq, const char *partner, const char *url,
                              const json_t *event_types, const char *description, int64_t created_s);
/* One endpoint of partner (NULL: any partner's); RESULT_NOT_FOUND when there is none. lock:
 * FOR UPDATE (disable and redeliver against each other). */
result_t store_webhook_get(store_conn_t *conn, int64_t seq, const char *partner, int lock, store_webhook_t *webhook);
/* The partner's endpoints as API objects, oldest first (owned array). */
result_t store_webhook_list(store_conn_t *conn, const char *partner, json_t **webhooks);
/* The API object of one endpoint (owned). */
result_t store_webhook_object(store_conn_t *conn, int64_t seq, json_t **webhook);
result_t store_webhook_disable(store_conn_t *conn, int64_t seq, int64_t disabled_seq, int64_t time_s);
/* Redelivery: deliver again every event after cursor; the run of failures is forgotten. */
result_t store_webhook_rewind(store_conn_t *conn, int64_t seq, int64_t cursor);
/* Delivery attempts of an endpoint with id > after_id, oldest first, at most limit (owned array). */
result_t store_webhook_deliveries(store_conn_t *conn, int64_t seq, int64_t after_id, int limit, json_t **deliveries,
                                  int64_t *last_id);

/* The dispatcher (its own session, autocommit) -------------------------------------------- */
/* Up to max active endpoints due now, soonest first. */
result_t store_webhook_due(store_conn_t *conn, int64_t *seqs, size_t max, size_t *count);
/* A session-level advisory lock per endpoint: one dispatcher per endpoint at a time, across
 * every ledgerd on the database; released by unlock or when the session ends (kill -9). */
result_t store_webhook_try_lock(store_conn_t *conn, int64_t seq, int *held);
void store_webhook_unlock(store_conn_t *conn, int64_t seq);
/* Records one attempt (status 0: no answer; error NULL when it succeeded). */
result_t store_webhook_attempt(store_conn_t *conn, int64_t seq, const char *event_id, int64_t event_seq,
                               int64_t attempt, int status, const char *error, int64_t duration_ms);
/* Moves the cursor from `from` to `to` (failures forgotten) in its own commit; *moved 0 when the
 * cursor is no longer `from` (a redelivery moved it meanwhile). */
result_t store_webhook_advance(store_conn_t *conn, int64_t seq, int64_t from, int64_t to, int *moved);
/* One more failure at cursor `from`: next attempt not before now + delay_ms. */
result_t store_webhook_failed(store_conn_t *conn, int64_t seq, int64_t from, int64_t delay_ms);
/* Forgets attempts older than keep_s. */
result_t store_webhook_purge(store_conn_t *conn, int64_t keep_s);
/* For /metrics: active endpoints, and those with failures. */
result_t store_webhook_counts(store_conn_t *conn, int64_t *active, int64_t *failing);

#endif

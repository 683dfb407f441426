/* store_webhook.c — SQL of webhooks (store_webhook.h, migration 0012). */
#include "store_webhook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "ledger.h"
#include "log.h"
#include "pg_array.h"
#include "store_internal.h"

#define P(...) ((const char *const[]){__VA_ARGS__})
/* The advisory lock class of endpoints (7431001.. are the ledger's other locks). */
#define STORE_WEBHOOK_LOCK_CLASS "7431004"
/* The columns of an endpoint, in the order webhook_row reads them. */
#define WEBHOOK_COLUMNS                                                                                                \
    "seq, partner, url, array_to_json(event_types)::text, disabled_seq IS NOT NULL, delivered_cursor, failures, "       \
    "next_attempt_us, next_attempt_us <= (extract(epoch FROM clock_timestamp()) * 1000000)::bigint"
/* The API object of an endpoint. */
#define WEBHOOK_OBJECT                                                                                                 \
    "json_strip_nulls(json_build_object('id', 'whk-' || seq, 'url', url, 'event_types', event_types, "                 \
    "'description', description, 'status', CASE WHEN disabled_seq IS NULL THEN 'active' ELSE 'disabled' END, "         \
    "'created_at', to_char(to_timestamp(created_s) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "            \
    "'cursor', delivered_cursor, 'failures', failures))::text"

void store_webhook_free(store_webhook_t *webhook)
{
    if (webhook == NULL) return;
    json_decref(webhook->event_types);
    webhook->event_types = NULL;
}

static void webhook_row(const PGresult *res, int row, store_webhook_t *webhook)
{
    memset(webhook, 0, sizeof *webhook);
    webhook->seq = store_get_i64(res, row, 0);
    snprintf(webhook->partner, sizeof webhook->partner, "%s", PQgetvalue(res, row, 1));
    snprintf(webhook->url, sizeof webhook->url, "%s", PQgetvalue(res, row, 2));
    webhook->event_types = json_loads(PQgetvalue(res, row, 3), 0, NULL);
    if (!json_is_array(webhook->event_types)) {
        json_decref(webhook->event_types);
        webhook->event_types = json_array();
    }
    webhook->disabled = PQgetvalue(res, row, 4)[0] == 't';
    webhook->cursor = store_get_i64(res, row, 5);
    webhook->failures = store_get_i64(res, row, 6);
    webhook->next_attempt_us = store_get_i64(res, row, 7);
    webhook->due = PQgetvalue(res, row, 8)[0] == 't';
}

result_t store_webhook_count_active(store_conn_t *conn, const char *partner, int64_t *count)
{
    result_t result;
    PGresult *res = store_run(conn, "webhook_count",
                              "SELECT count(*) FROM webhooks WHERE partner = $1 AND disabled_seq IS NULL", 1,
                              P(partner), &result);
    if (res == NULL) return result;
    *count = store_get_i64(res, 0, 0);
    PQclear(res);
    return RESULT_OK;
}

result_t store_webhook_insert(store_conn_t *conn, int64_t seq, const char *partner, const char *url,
                              const json_t *event_types, const char *description, int64_t created_s)
{
    char seq_text[LIMIT_INT64_TEXT_BYTES], created_text[LIMIT_INT64_TEXT_BYTES];
    pg_array_t types = {0};
    size_t index;
    json_t *name;
    json_array_foreach(event_types, index, name) pg_array_text(&types, json_string_value(name));
    result_t result = store_exec(conn, "webhook_insert",
                                 "INSERT INTO webhooks (seq, partner, url, event_types, description, created_s, "
                                 "delivered_cursor) VALUES ($1, $2, $3, $4::text[], $5, $6, $1)",
                                 6,
                                 P(store_i64(seq_text, seq), partner, url, pg_array_done(&types), description,
                                   store_i64(created_text, created_s)));
    pg_arrays_free(&types, 1);
    return result;
}

result_t store_webhook_get(store_conn_t *conn, int64_t seq, const char *partner, int lock, store_webhook_t *webhook)
{
    char seq_text[LIMIT_INT64_TEXT_BYTES];
    result_t result;
    memset(webhook, 0, sizeof *webhook);
    PGresult *res =
        lock ? store_run(conn, "webhook_get_lock",
                         "SELECT " WEBHOOK_COLUMNS " FROM webhooks WHERE seq = $1 AND ($2::text IS NULL OR "
                         "partner = $2) FOR UPDATE",
                         2, P(store_i64(seq_text, seq), partner), &result)
             : store_run(conn, "webhook_get",
                         "SELECT " WEBHOOK_COLUMNS " FROM webhooks WHERE seq = $1 AND ($2::text IS NULL OR "
                         "partner = $2)",
                         2, P(store_i64(seq_text, seq), partner), &result);
    if (res == NULL) return result;
    result = PQntuples(res) == 1 ? RESULT_OK : RESULT_NOT_FOUND;
    if (result == RESULT_OK) webhook_row(res, 0, webhook);
    PQclear(res);
    return result;
}

/* Rows of one text column holding JSON objects, as an array (owned). */
static result_t json_rows(PGresult *res, int column, json_t **array)
{
    *array = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        json_t *object = json_loads(PQgetvalue(res, i, column), 0, NULL);
        if (object == NULL) {
            json_decref(*array);
            *array = NULL;
            return RESULT_INTERNAL;
        }
        json_array_append_new(*array, object);
    }
    return RESULT_OK;
}

result_t store_webhook_list(store_conn_t *conn, const char *partner, json_t **webhooks)
{
    result_t result;
    PGresult *res = store_run(conn, "webhook_list", "SELECT " WEBHOOK_OBJECT " FROM webhooks WHERE partner = $1 ORDER BY seq",
                              1, P(partner), &result);
    if (res == NULL) return result;
    result = json_rows(res, 0, webhooks);
    PQclear(res);
    return result;
}

result_t store_webhook_object(store_conn_t *conn, int64_t seq, json_t **webhook)
{
    char seq_text[LIMIT_INT64_TEXT_BYTES];
    json_t *rows = NULL;
    result_t result;
    *webhook = NULL;
    PGresult *res = store_run(conn, "webhook_object", "SELECT " WEBHOOK_OBJECT " FROM webhooks WHERE seq = $1", 1,
                              P(store_i64(seq_text, seq)), &result);
    if (res == NULL) return result;
    result = json_rows(res, 0, &rows);
    PQclear(res);
    if (result == RESULT_OK && json_array_size(rows) != 1) result = RESULT_NOT_FOUND;
    if (result == RESULT_OK) *webhook = json_incref(json_array_get(rows, 0));
    json_decref(rows);
    return result;
}

result_t store_webhook_disable(store_conn_t *conn, int64_t seq, int64_t disabled_seq, int64_t time_s)
{
    char seq_text[LIMIT_INT64_TEXT_BYTES], disabled_text[LIMIT_INT64_TEXT_BYTES], time_text[LIMIT_INT64_TEXT_BYTES];
    return store_exec(conn, "webhook_disable",
                      "UPDATE webhooks SET disabled_seq = $2, disabled_s = $3 WHERE seq = $1 AND disabled_seq IS NULL",
                      3, P(store_i64(seq_text, seq), store_i64(disabled_text, disabled_seq), store_i64(time_text, time_s)));
}

result_t store_webhook_rewind(store_conn_t *conn, int64_t seq, int64_t cursor)
{
    char seq_text[LIMIT_INT64_TEXT_BYTES], cursor_text[LIMIT_INT64_TEXT_BYTES];
    return store_exec(conn, "webhook_rewind",
                      "UPDATE webhooks SET delivered_cursor = $2, failures = 0, next_attempt_us = 0 WHERE seq = $1", 2,
                      P(store_i64(seq_text, seq), store_i64(cursor_text, cursor)));
}

result_t store_webhook_deliveries(store_conn_t *conn, int64_t seq, int64_t after_id, int limit, json_t **deliveries,
                                  int64_t *last_id)
{
    char seq_text[LIMIT_INT64_TEXT_BYTES], after_text[LIMIT_INT64_TEXT_BYTES], limit_text[LIMIT_INT64_TEXT_BYTES];
    result_t result;
    *last_id = 0;
    PGresult *res = store_run(
        conn, "webhook_deliveries",
        "SELECT id, json_strip_nulls(json_build_object('id', id, 'event_id', event_id, 'event_seq', event_seq, "
        "'attempt', attempt, 'ok', ok, 'status', status, 'error', error, 'at', to_char(to_timestamp(at_us / 1000000) "
        "AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'duration_ms', duration_ms))::text "
        "FROM webhook_deliveries WHERE webhook = $1 AND id > $2 ORDER BY id LIMIT $3",
        3, P(store_i64(seq_text, seq), store_i64(after_text, after_id), store_i64(limit_text, limit)), &result);
    if (res == NULL) return result;
    result = json_rows(res, 1, deliveries);
    if (PQntuples(res) > 0) *last_id = store_get_i64(res, PQntuples(res) - 1, 0);
    PQclear(res);
    return result;
}

#define NOW_US "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint"

result_t store_webhook_due(store_conn_t *conn, int64_t *seqs, size_t max, size_t *count)
{
    char max_text[LIMIT_INT64_TEXT_BYTES];
    result_t result;
    *count = 0;
    PGresult *res = store_run(conn, "webhook_due",
                              "SELECT seq FROM webhooks WHERE disabled_seq IS NULL AND next_attempt_us <= " NOW_US
                              " ORDER BY next_attempt_us, seq LIMIT $1",
                              1, P(store_i64(max_text, (int64_t)max)), &result);
    if (res == NULL) return result;
    for (int i = 0; i < PQntuples(res) && (size_t)i < max; i++) seqs[(*count)++] = store_get_i64(res, i, 0);
    PQclear(res);
    return RESULT_OK;
}

result_t store_webhook_try_lock(store_conn_t *conn, int64_t seq, int *held)
{
    char seq_text[LIMIT_INT64_TEXT_BYTES];
    result_t result;
    *held = 0;
    PGresult *res = store_run(conn, "webhook_lock",
                              "SELECT pg_try_advisory_lock(" STORE_WEBHOOK_LOCK_CLASS ", ($1::bigint % 2147483647)::int)",
                              1, P(store_i64(seq_text, seq)), &result);
    if (res == NULL) return result;
    *held = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return RESULT_OK;
}

void store_webhook_unlock(store_conn_t *conn, int64_t seq)
{
    char seq_text[LIMIT_INT64_TEXT_BYTES];
    (void)store_exec(conn, "webhook_unlock",
                     "SELECT pg_advisory_unlock(" STORE_WEBHOOK_LOCK_CLASS ", ($1::bigint % 2147483647)::int)", 1,
                     P(store_i64(seq_text, seq)));
}

result_t store_webhook_attempt(store_conn_t *conn, int64_t seq, const char *event_id, int64_t event_seq,
                               int64_t attempt, int status, const char *error, int64_t duration_ms)
{
    char seq_text[LIMIT_INT64_TEXT_BYTES], event_text[LIMIT_INT64_TEXT_BYTES], attempt_text[LIMIT_INT64_TEXT_BYTES];
    char status_text[LIMIT_INT64_TEXT_BYTES], duration_text[LIMIT_INT64_TEXT_BYTES];
    char error_text[512];
    if (error != NULL) snprintf(error_text, sizeof error_text, "%s", error);
    return store_exec(conn, "webhook_attempt",
                      "INSERT INTO webhook_deliveries (webhook, event_id, event_seq, attempt, ok, status, error, "
                      "at_us, duration_ms) VALUES ($1, $2, $3, $4, coalesce($5::int BETWEEN 200 AND 299, false), $5, "
                      "$6, " NOW_US ", $7)",
                      7,
                      P(store_i64(seq_text, seq), event_id, store_i64(event_text, event_seq),
                        store_i64(attempt_text, attempt), status > 0 ? store_i64(status_text, status) : NULL,
                        error != NULL ? error_text : NULL, store_i64(duration_text, duration_ms)));
}

result_t store_webhook_advance(store_conn_t *conn, int64_t seq, int64_t from, int64_t to, int *moved)
{
    char seq_text[LIMIT_INT64_TEXT_BYTES], from_text[LIMIT_INT64_TEXT_BYTES], to_text[LIMIT_INT64_TEXT_BYTES];
    result_t result;
    *moved = 0;
    PGresult *res = store_run(conn, "webhook_advance",
                              "UPDATE webhooks SET delivered_cursor = $3, failures = 0, next_attempt_us = 0 "
                              "WHERE seq = $1 AND delivered_cursor = $2 RETURNING seq",
                              3, P(store_i64(seq_text, seq), store_i64(from_text, from), store_i64(to_text, to)),
                              &result);
    if (res == NULL) return result;
    *moved = PQntuples(res) == 1;
    PQclear(res);
    return RESULT_OK;
}

result_t store_webhook_failed(store_conn_t *conn, int64_t seq, int64_t from, int64_t delay_ms)
{
    char seq_text[LIMIT_INT64_TEXT_BYTES], from_text[LIMIT_INT64_TEXT_BYTES], delay_text[LIMIT_INT64_TEXT_BYTES];
    return store_exec(conn, "webhook_failed",
                      "UPDATE webhooks SET failures = failures + 1, next_attempt_us = " NOW_US " + $3::bigint * 1000 "
                      "WHERE seq = $1 AND delivered_cursor = $2",
                      3, P(store_i64(seq_text, seq), store_i64(from_text, from), store_i64(delay_text, delay_ms)));
}

result_t store_webhook_purge(store_conn_t *conn, int64_t keep_s)
{
    char keep_text[LIMIT_INT64_TEXT_BYTES];
    return store_exec(conn, "webhook_purge",
                      "DELETE FROM webhook_deliveries WHERE at_us < " NOW_US " - $1::bigint * 1000000", 1,
                      P(store_i64(keep_text, keep_s)));
}

result_t store_webhook_counts(store_conn_t *conn, int64_t *active, int64_t *failing)
{
    result_t result;
    PGresult *res = store_run(conn, "webhook_counts",
                              "SELECT count(*), count(*) FILTER (WHERE failures > 0) FROM webhooks "
                              "WHERE disabled_seq IS NULL",
                              0, NULL, &result);
    if (res == NULL) return result;
    *active = store_get_i64(res, 0, 0);
    *failing = store_get_i64(res, 0, 1);
    PQclear(res);
    return RESULT_OK;
}

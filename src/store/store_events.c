/* store_events.c — SQL of the partner event feed (issue 20 item 3): one page of a partner's
 * events, through the partner_events index the write path fills (store_bulk.c); and the lots an
 * expiry notice announces (points.expiring), once per lot and threshold (expiry_notices). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assert_always.h"
#include "buf.h"
#include "events.h"
#include "limits.h"
#include "log.h"
#include "pg_array.h"
#include "store_internal.h"

#define P(...) ((const char *const[]){__VA_ARGS__})

result_t store_events_page(store_conn_t *conn, const char *partner, int64_t after, int limit, json_t **events,
                           int64_t *next)
{
    char after_text[LIMIT_INT64_TEXT_BYTES], limit_text[LIMIT_INT64_TEXT_BYTES];
    result_t result = RESULT_OK;
    ASSERT_ALWAYS(limit >= 1 && limit <= LIMIT_EVENTS_PAGE_MAX && after >= 0);
    *events = NULL;
    *next = 0;
    /* j.seq > $2 repeats the bound on the journal's side: a merge join then starts at the cursor
     * instead of at seq 1 (measured in docs/decisions.md 141: a page in < 3 ms on 100k entries) */
    PGresult *res = store_run(conn, "events_page",
                              "SELECT e.seq, j.text FROM partner_events e JOIN journal j ON j.seq = e.seq "
                              "WHERE e.partner = $1 AND e.seq > $2 AND j.seq > $2 ORDER BY e.seq LIMIT $3",
                              3, P(partner, store_i64(after_text, after), store_i64(limit_text, limit)), &result);
    if (res == NULL) return result;
    json_t *page = json_array();
    int64_t last = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        last = store_get_i64(res, i, 0);
        json_t *entry = json_loads(PQgetvalue(res, i, 1), 0, NULL);
        json_t *event = entry != NULL ? events_entry_event(entry, partner) : NULL;
        json_decref(entry);
        if (event == NULL) { /* only an entry or index row altered by hand is not one we wrote */
            log_error("journal entry of a partner event gives no event",
                      json_pack("{s:I,s:s}", "seq", (json_int_t)last, "partner", partner));
            result = RESULT_INTERNAL;
            break;
        }
        json_array_append_new(page, event);
    }
    if (result == RESULT_OK && PQntuples(res) == limit) *next = last;
    PQclear(res);
    if (result == RESULT_OK)
        *events = page;
    else
        json_decref(page);
    return result;
}

result_t store_notice_candidates(store_conn_t *conn, int64_t time_s, const int *days, size_t day_count, size_t limit,
                                 store_notice_t **lines, size_t *count)
{
    char time_text[LIMIT_INT64_TEXT_BYTES], limit_text[LIMIT_INT64_TEXT_BYTES];
    result_t result = RESULT_OK;
    pg_array_t day_array;
    memset(&day_array, 0, sizeof day_array);
    ASSERT_ALWAYS(limit >= 1 && limit <= LIMIT_EXPIRY_NOTICE_LOTS && day_count >= 1);
    *lines = NULL;
    *count = 0;
    for (size_t i = 0; i < day_count; i++)
        pg_array_i64(&day_array, days[i]);
    /* lots_due (expires_s, id) WHERE remaining > 0 bounds the scan to the lots expiring within the
     * widest threshold; the primary key of expiry_notices answers each (lot, threshold) probe */
    PGresult *res = store_run(
        conn, "notice_candidates",
        "SELECT l.id, l.issuer, l.member, l.remaining, l.expires_s, t.d FROM unnest($2::int[]) AS t(d) "
        "JOIN lots l ON l.remaining > 0 AND l.expires_s > $1 AND l.expires_s <= $1 + t.d::bigint * " LIMIT_TEXT(
            LIMIT_DAY_S) " "
                         "WHERE NOT EXISTS (SELECT 1 FROM expiry_notices n WHERE n.lot_id = l.id AND n.threshold_days = t.d) "
                         "ORDER BY l.id, t.d DESC LIMIT $3",
        3, P(store_i64(time_text, time_s), pg_array_done(&day_array), store_i64(limit_text, (int64_t)limit)), &result);
    pg_arrays_free(&day_array, 1);
    if (res == NULL) return result;
    size_t rows = (size_t)PQntuples(res);
    *lines = xcalloc(rows ? rows : 1, sizeof **lines);
    for (size_t i = 0; i < rows; i++) {
        store_notice_t *line = &(*lines)[i];
        line->lot_id = store_get_i64(res, (int)i, 0);
        snprintf(line->issuer, sizeof line->issuer, "%s", PQgetvalue(res, (int)i, 1));
        snprintf(line->member, sizeof line->member, "%s", PQgetvalue(res, (int)i, 2));
        line->points = store_get_i64(res, (int)i, 3);
        line->expires_s = store_get_i64(res, (int)i, 4);
        line->threshold_days = (int)store_get_i64(res, (int)i, 5);
    }
    *count = rows;
    PQclear(res);
    return RESULT_OK;
}

result_t store_notices_insert(store_conn_t *conn, int64_t seq, const store_notice_t *lines, size_t count)
{
    char seq_text[LIMIT_INT64_TEXT_BYTES];
    pg_array_t a[2];
    memset(a, 0, sizeof a);
    for (size_t i = 0; i < count; i++) {
        pg_array_i64(&a[0], lines[i].lot_id);
        pg_array_i64(&a[1], lines[i].threshold_days);
    }
    result_t result = store_exec(conn, "notices_insert",
                                 "INSERT INTO expiry_notices (lot_id, threshold_days, seq) "
                                 "SELECT l, d, $1 FROM unnest($2::bigint[], $3::int[]) AS u(l, d)",
                                 3, P(store_i64(seq_text, seq), pg_array_done(&a[0]), pg_array_done(&a[1])));
    pg_arrays_free(a, 2);
    return result;
}

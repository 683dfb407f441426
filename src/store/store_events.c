/* store_events.c — SQL of the partner event feed (issue 20 item 3): one page of a partner's
 * events, through the partner_events index the write path fills (store_bulk.c). */
#include <stdlib.h>

#include "assert_always.h"
#include "events.h"
#include "limits.h"
#include "log.h"
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
    PGresult *res = store_run(conn, "events_page",
                              "SELECT e.seq, j.text FROM partner_events e JOIN journal j ON j.seq = e.seq "
                              "WHERE e.partner = $1 AND e.seq > $2 ORDER BY e.seq LIMIT $3",
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

/* service_events.c — GET /v1/events (issue 20 item 3): one page of the calling partner's event
 * feed, resumable from any seq (decisions 140-147). Partners only: the route refuses operator
 * and auditor keys (403), who read the journal itself through the export. */
#include "json.h"
#include "limits.h"
#include "query.h"
#include "service_lists.h"
#include "service_outcome.h"

void service_events(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    int64_t limit = LIMIT_EVENTS_PAGE_DEFAULT, after = 0, next = 0;
    json_t *events = NULL;
    if (request->query_limit && query_int(request->query_limit, 1, LIMIT_EVENTS_PAGE_MAX, &limit) != 0) {
        service_problem(response, RESULT_INVALID_FIELD, "limit must be 1.." LIMIT_TEXT(LIMIT_EVENTS_PAGE_MAX),
                        json_pack("{s:s}", "field", "limit"));
        return;
    }
    /* after: the seq of the last event consumed (0 or absent: from the start) */
    if (request->query_after && query_int(request->query_after, 0, INT64_MAX, &after) != 0) {
        service_problem(response, RESULT_INVALID_FIELD, "after must be a seq (a cursor from `next`), 0 or more",
                        json_pack("{s:s}", "field", "after"));
        return;
    }
    result_t result = store_events_page(conn, request->principal, after, (int)limit, &events, &next);
    if (result != RESULT_OK) {
        service_problem(response, result, NULL, NULL);
        return;
    }
    service_page_answer(response, "events", events, limit, NULL, next);
}

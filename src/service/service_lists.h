/* service_lists.h — pagination shared by the list operations (service_lists.c). */
#ifndef LEDGER_SERVICE_LISTS_H
#define LEDGER_SERVICE_LISTS_H

#include "service.h"

/* ?limit= (1..LIMIT_PAGE_MAX, default LIMIT_PAGE_DEFAULT) into *limit and ?after= (a cursor from
 * `next`: the public id "<prefix>-N" of the last item, or a seq when prefix is NULL) into
 * *before (INT64_MAX when absent). Returns 1, or 0 after answering 400 invalid_field naming
 * the field. */
int service_page(const service_request_t *request, const char *prefix, int64_t *limit, int64_t *before,
                 service_response_t *response);
/* Answers 200 {"<key>": items (taken), "next": the cursor of last, or null when the page is not
 * full}. */
void service_page_answer(service_response_t *response, const char *key, json_t *items, int64_t limit,
                         const char *prefix, int64_t last);

#endif

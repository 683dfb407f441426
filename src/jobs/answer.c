/* answer.c — a run's answer saved with the run (include/jobs/answer.h). */
#include "answer.h"

#include <stdlib.h>

#include "json.h"

char *jobs_answer_text(json_t *(*response)(const char *report, const char *signature), const char *report,
                       const char *signature)
{
    json_t *body = response(report, signature);
    if (body == NULL) return NULL;
    char *text = json_canonical(body);
    json_decref(body);
    return text;
}

result_t jobs_answer_save(store_conn_t *conn, const store_idempotency_claim_t *claim,
                          json_t *(*response)(const char *report, const char *signature), const char *report,
                          const char *signature)
{
    char *text = jobs_answer_text(response, report, signature);
    if (text == NULL) return RESULT_INTERNAL; /* the report just built does not parse: a bug */
    result_t result = store_idempotency_save(conn, claim->principal, claim->key, claim->request_hash, 201, text);
    free(text);
    return result;
}

/* answer.h — the answer to a run requested over the API (settlement, expiry), saved under the
 * requester's Idempotency-Key in the transaction that commits the run: a retry then replays it,
 * or finds nothing done (issue 18; before, the record was a transaction of its own after the
 * run's, and its failure let a retry run the work again). */
#ifndef LEDGER_ANSWER_H
#define LEDGER_ANSWER_H

#include <jansson.h>

#include "result.h"
#include "store.h"

/* Saves 201 with the canonical text of response(report, signature) (owned JSON, as the service
 * answers it) under claim, in conn's open transaction. */
result_t jobs_answer_save(store_conn_t *conn, const store_idempotency_claim_t *claim,
                          json_t *(*response)(const char *report, const char *signature), const char *report,
                          const char *signature);

/* The canonical text of response(report, signature) (owned; NULL when the report does not parse). */
char *jobs_answer_text(json_t *(*response)(const char *report, const char *signature), const char *report,
                       const char *signature);

#endif

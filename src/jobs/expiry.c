/* expiry.c — orchestrates expiry runs over the store; the postings come from ledger.c. */
#include "expiry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "assert_always.h"
#include "buf.h"
#include "journal.h"
#include "json.h"
#include "ledger.h"
#include "limits.h"
#include "log.h"
#include "verify.h"

void expiry_result_free(expiry_result_t *result)
{
    if (result == NULL) return;
    free(result->report);
    free(result->signature);
    result->report = result->signature = NULL;
}

int expiry_run_id_parse(const char *text, int64_t *run_id)
{
    return journal_id_parse(text, "exp", run_id);
}

static json_t *lots_json(const ledger_expiring_t *lots, size_t count)
{
    json_t *array = json_array();
    char lot_id[LIMIT_ID_TEXT_BYTES];
    for (size_t i = 0; i < count; i++) {
        journal_id_format(lot_id, sizeof lot_id, "lot", lots[i].lot_id);
        json_array_append_new(array, json_pack("{s:s,s:s,s:s,s:I}", "lot", lot_id, "issuer", lots[i].issuer, "member",
                                               lots[i].member, "points", (json_int_t)lots[i].points));
    }
    return array;
}

/* Builds, signs and stores the report of a run whose last entry is seq. */
static result_t finish_run(store_conn_t *conn, const crypto_signer_t *key, const store_expiry_run_t *run,
                           int64_t first_seq, int64_t last_seq, int64_t time_s, expiry_result_t *out)
{
    json_t *report = NULL;
    char run_id[LIMIT_ID_TEXT_BYTES], as_of[LIMIT_TIME_TEXT_BYTES], completed_at[LIMIT_TIME_TEXT_BYTES];
    result_t result = store_expiry_run_totals(conn, run->id, &report);
    if (result != RESULT_OK) return result;
    journal_id_format(run_id, sizeof run_id, "exp", run->id);
    ledger_time_format(run->as_of_s, as_of);
    ledger_time_format(time_s, completed_at);
    json_t *header = json_pack("{s:s,s:s,s:I,s:I,s:s,s:s,s:I}", "id", run_id, "as_of", as_of, "from_seq",
                               (json_int_t)first_seq, "to_seq", (json_int_t)last_seq, "completed_at", completed_at,
                               "requested_by", run->requested_by, "chunks", (json_int_t)(run->chunks + 1));
    json_object_update(report, header);
    json_decref(header);
    out->run_id = run->id;
    out->report = json_canonical(report);
    out->signature = crypto_sign_text(key, out->report);
    json_decref(report);
    return store_expiry_run_finish(conn, run->id, out->report, out->signature);
}

/* One chunk: one transaction, one journal entry. Sets *final when the run is complete. */
static result_t expiry_chunk(store_conn_t *conn, const crypto_signer_t *key, size_t chunk_lots, int *final,
                             expiry_result_t *out)
{
    store_expiry_run_t run;
    ledger_expiring_t *candidates = NULL, *lots = NULL;
    size_t candidate_count = 0, count = 0;
    ledger_postings_t postings = LEDGER_POSTINGS_INIT;
    json_t *fields = NULL;
    char *text = NULL, run_id[LIMIT_ID_TEXT_BYTES], as_of[LIMIT_TIME_TEXT_BYTES];
    int64_t seq = 0, time_s = 0, *ids = NULL;
    *final = 0;
    result_t result = store_begin(conn);
    if (result == RESULT_OK) result = store_expiry_run_running(conn, &run);
    if (result == RESULT_OK)
        result = store_due_lots(conn, run.as_of_s, chunk_lots, NULL, 0, &candidates, &candidate_count);
    if (result != RESULT_OK) goto out;
    /* members first, then the journal head: the lock order of every writer */
    result = store_members_lock(conn, candidates, candidate_count);
    ids = xcalloc(candidate_count, sizeof *ids);
    for (size_t i = 0; i < candidate_count; i++)
        ids[i] = candidates[i].lot_id;
    if (result == RESULT_OK && candidate_count > 0)
        result = store_due_lots(conn, run.as_of_s, 0, ids, candidate_count, &lots, &count);
    if (result == RESULT_OK) result = store_journal_next(conn, &seq, &time_s);
    if (result == RESULT_OK && count > 0) result = store_lots_expire(conn, lots, count);
    if (result != RESULT_OK) goto out;
    /* Under the head lock no writer can restore a due lot: "none left" is exact here. */
    *final = !store_due_exists(conn, run.as_of_s, &result);
    if (result != RESULT_OK) goto out;
    if (count == 0 && !*final) goto out; /* raced with a restoration: the next chunk picks it up */
    json_t *entry_lots = lots_json(lots, count);
    ledger_expiry_postings(lots, count, &postings);
    journal_id_format(run_id, sizeof run_id, "exp", run.id);
    ledger_time_format(run.as_of_s, as_of);
    fields = json_pack("{s:s,s:s,s:I,s:b,s:o}", "run", run_id, "as_of", as_of, "chunk", (json_int_t)(run.chunks + 1),
                       "final", *final, "lots", entry_lots);
    text = journal_entry_text(seq, time_s, "expiry", "operator", fields, &postings, NULL);
    const char *why = NULL;
    result = verify_entry_alone(text, seq, time_s, 0, NULL, NULL, NULL, &why); /* spec 12, as every entry */
    if (result != RESULT_OK) log_error("refusing an entry ledger-verify would reject", json_pack("{s:s}", "why", why));
    if (result == RESULT_OK) result = store_journal_insert(conn, seq, time_s, "expiry", text, &postings);
    if (result == RESULT_OK && count > 0) result = store_expired_insert(conn, seq, run.id, lots, count);
    int64_t first_seq = 0;
    if (result == RESULT_OK) result = store_expiry_run_progress(conn, run.id, seq, &first_seq);
    if (result == RESULT_OK && *final) result = finish_run(conn, key, &run, first_seq, seq, time_s, out);
    /* the answer of the request that started the run, whoever finishes it (decision 188) */
    if (result == RESULT_OK && *final) {
        char *answer = jobs_answer_text(expiry_response, out->report, out->signature);
        result = answer == NULL ? RESULT_INTERNAL : store_expiry_answer_save(conn, run.id, answer);
        free(answer);
    }
    if (result == RESULT_OK) result = store_commit(conn);
out:
    if (result != RESULT_OK) {
        store_rollback(conn);
        *final = 0;
        expiry_result_free(out); /* a report built for a commit that did not happen */
    }
    json_decref(fields);
    ledger_postings_free(&postings);
    free(text);
    free(ids);
    free(candidates);
    free(lots);
    return result;
}

/* Runs chunks of the current 'running' run until it is final (or stop_after chunks). */
static result_t run_to_end(store_conn_t *conn, const crypto_signer_t *key, size_t chunk_lots, int *stop_after,
                           expiry_result_t *out)
{
    int final = 0, busy = 0;
    while (!final) {
        result_t result = expiry_chunk(conn, key, chunk_lots, &final, out);
        if (result == RESULT_DATABASE_BUSY && ++busy < LIMIT_DB_RETRIES) continue;
        if (result != RESULT_OK) return result;
        busy = 0;
        if (*stop_after > 0 && --*stop_after == 0 && !final) return RESULT_REQUEST_IN_PROGRESS;
    }
    return RESULT_OK;
}

result_t expiry_run(store_conn_t *conn, const crypto_signer_t *ledger_key, int64_t as_of_s, const char *requested_by,
                    size_t chunk_lots, int stop_after_chunks, const store_idempotency_claim_t *claim,
                    expiry_result_t *out)
{
    store_expiry_run_t run;
    result_t result = RESULT_OK;
    memset(out, 0, sizeof *out);
    if (chunk_lots == 0 || chunk_lots > LIMIT_EXPIRY_CHUNK_LOTS) chunk_lots = LIMIT_EXPIRY_CHUNK_LOTS;
    if (!store_expiry_lock(conn, &result)) return result != RESULT_OK ? result : RESULT_REQUEST_IN_PROGRESS;
    /* 1. an interrupted run is finished first, with its own as_of; when this request started it
     * (a retry with the same Idempotency-Key), it is this request's run, and its answer */
    int own = 0;
    /* the key answered since the request looked (the same request twice at once, the first now
     * done): nothing to run; the service answers from the key (decision 189) */
    if (claim != NULL && store_idempotency_answered(conn, claim->principal, claim->key, &result))
        result = RESULT_IDEMPOTENCY_KEY_REUSED;
    if (result == RESULT_OK) result = store_expiry_run_running(conn, &run);
    if (result == RESULT_OK) {
        own = claim != NULL && strcmp(run.claim_principal, claim->principal) == 0 &&
              strcmp(run.claim_key, claim->key) == 0;
        char hash[LIMIT_HEX_TEXT_BYTES(CRYPTO_SHA256_BYTES)] = "";
        if (own) crypto_hex(claim->request_hash, CRYPTO_SHA256_BYTES, hash);
        /* the same key with another body is not that request: the key is reused (decision 188) */
        if (own && strcmp(run.claim_hash, hash) != 0) result = RESULT_IDEMPOTENCY_KEY_REUSED;
    }
    if (result == RESULT_OK) {
        log_info("resuming interrupted expiry run", json_pack("{s:I,s:b}", "run", (json_int_t)run.id, "own", own));
        result = run_to_end(conn, ledger_key, chunk_lots, &stop_after_chunks, out);
        if (!own) expiry_result_free(out);
    } else if (result == RESULT_NOT_FOUND) {
        result = RESULT_OK;
    }
    /* 2. the requested run */
    if (result == RESULT_OK && !own) result = store_expiry_run_create(conn, as_of_s, requested_by, claim, &run);
    if (result == RESULT_OK && !own)
        result = run_to_end(conn, ledger_key, chunk_lots, &stop_after_chunks, out);
    if (result == RESULT_OK)
        log_info("expiry run done",
                 json_pack("{s:I,s:s}", "run", (json_int_t)out->run_id, "requested_by", requested_by));
    else
        expiry_result_free(out);
    store_expiry_unlock(conn);
    return result;
}

json_t *expiry_response(const char *report, const char *signature)
{
    json_t *run = json_loads(report, 0, NULL);
    if (run == NULL) return NULL; /* a stored row altered outside the service */
    return json_pack("{s:o,s:s}", "run", run, "signature", signature);
}

char *expiry_csv(const char *report)
{
    json_t *run = json_loads(report, 0, NULL);
    if (run == NULL) return NULL; /* a stored row altered outside the service */
    buf_t out = BUF_INIT;
    const char *id = json_string_value(json_object_get(run, "id"));
    const char *as_of = json_string_value(json_object_get(run, "as_of"));
    if (id == NULL || as_of == NULL) {
        json_decref(run);
        return NULL;
    }
    buf_append_str(&out, "run,as_of,issuer,lots,points\r\n");
    size_t index;
    json_t *row;
    json_array_foreach(json_object_get(run, "by_issuer"), index, row)
    {
        const char *issuer = json_string_value(json_object_get(row, "issuer"));
        buf_printf(&out, "%s,%s,%s,%lld,%lld\r\n", id, as_of, issuer ? issuer : "",
                   (long long)json_integer_value(json_object_get(row, "lots")),
                   (long long)json_integer_value(json_object_get(row, "points")));
    }
    buf_printf(&out, "%s,%s,TOTAL,%lld,%lld\r\n", id, as_of,
               (long long)json_integer_value(json_object_get(run, "lots")),
               (long long)json_integer_value(json_object_get(run, "points")));
    json_decref(run);
    return buf_take(&out);
}

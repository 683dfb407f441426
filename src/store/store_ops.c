/* store_ops.c — SQL of the partner operations: idempotency, journal, transactions, lots, holds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assert_always.h"
#include "buf.h"
#include "journal.h"
#include "log.h"
#include "store_internal.h"

#define P(...) ((const char *const[]){__VA_ARGS__})

result_t store_idempotency_begin(store_conn_t *conn, const char *principal, const char *key,
                                 const uint8_t hash[CRYPTO_SHA256_BYTES], store_idempotency_t *state, int *status,
                                 char **body)
{
    PGresult *lock = NULL;
    *body = NULL;
    /* one round trip: the lookup runs after the lock, as its own statement with its own snapshot */
    result_t result =
        store_run_later(conn, "idem_lock", "SELECT pg_try_advisory_xact_lock(hashtextextended($1 || chr(10) || $2, 7))",
                        2, P(principal, key), &lock);
    PGresult *res =
        result != RESULT_OK
            ? NULL
            : store_run(conn, "idem_get",
                        "SELECT request_hash, status, body FROM idempotency WHERE principal = $1 AND key = $2 "
                        "FOR KEY SHARE",
                        2,
                        P(principal, key), &result);
    if (res == NULL) {
        PQclear(lock);
        return result;
    }
    ASSERT_ALWAYS(lock != NULL);
    int locked = strcmp(PQgetvalue(lock, 0, 0), "t") == 0;
    PQclear(lock);
    if (!locked) {
        *state = STORE_IDEMPOTENCY_BUSY;
    } else if (PQntuples(res) == 0) {
        *state = STORE_IDEMPOTENCY_NEW;
    } else {
        char expected[LIMIT_BYTEA_TEXT_BYTES(CRYPTO_SHA256_BYTES)];
        store_bytea_text(hash, CRYPTO_SHA256_BYTES, expected);
        if (strcmp(PQgetvalue(res, 0, 0), expected) != 0) {
            *state = STORE_IDEMPOTENCY_MISMATCH;
        } else {
            *state = STORE_IDEMPOTENCY_REPLAY;
            *status = (int)store_get_i64(res, 0, 1);
            *body = xstrdup(PQgetvalue(res, 0, 2));
        }
    }
    PQclear(res);
    return RESULT_OK;
}

int store_idempotency_answered(store_conn_t *conn, const char *principal, const char *key, result_t *result)
{
    PGresult *res = store_run(conn, "idem_answered",
                              "SELECT EXISTS (SELECT 1 FROM idempotency WHERE principal = $1 AND key = $2)", 2,
                              P(principal, key), result);
    if (res == NULL) return 0;
    int answered = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return answered;
}

result_t store_idempotency_save(store_conn_t *conn, const char *principal, const char *key,
                                const uint8_t hash[CRYPTO_SHA256_BYTES], int status, const char *body)
{
    char hash_text[LIMIT_BYTEA_TEXT_BYTES(CRYPTO_SHA256_BYTES)], status_text[LIMIT_INT64_TEXT_BYTES];
    store_bytea_text(hash, CRYPTO_SHA256_BYTES, hash_text);
    return store_exec_later(conn, "idem_save",
                            "INSERT INTO idempotency (principal, key, request_hash, status, body, created_s) "
                            "VALUES ($1, $2, $3, $4, $5, floor(extract(epoch from now()))::bigint)",
                            5, P(principal, key, hash_text, store_i64(status_text, status), body), NULL, RESULT_OK);
}

result_t store_signature_claim(store_conn_t *conn, const uint8_t signature[CRYPTO_ED25519_SIGNATURE_BYTES],
                               const char *principal, const char *key, store_claim_t *claim)
{
    char signature_text[LIMIT_BYTEA_TEXT_BYTES(CRYPTO_ED25519_SIGNATURE_BYTES)];
    store_bytea_text(signature, CRYPTO_ED25519_SIGNATURE_BYTES, signature_text);
    return store_run_later(conn, "sig_claim",
                           "WITH claimed AS (INSERT INTO signatures_seen (signature, principal, key, seen_s) "
                           "VALUES ($1, $2, $3, floor(extract(epoch from now()))::bigint) "
                           "ON CONFLICT (signature) DO NOTHING RETURNING 1) "
                           "SELECT (SELECT count(*) FROM claimed), "
                           "(SELECT count(*) FROM signatures_seen WHERE signature = $1 "
                           " AND principal = $2 AND key = $3)",
                           3, P(signature_text, principal, key), &claim->result);
}

void store_claim_free(store_claim_t *claim)
{
    PQclear(claim->result);
    claim->result = NULL;
}

result_t store_signature_claimed(store_claim_t *claim)
{
    PGresult *res = claim->result;
    claim->result = NULL;
    result_t result = res == NULL ? RESULT_INTERNAL : RESULT_OK; /* it failed: the flush reported why */
    if (result == RESULT_OK) {
        int claimed = store_get_i64(res, 0, 0) == 1, same_identity = store_get_i64(res, 0, 1) == 1;
        result = claimed || same_identity ? RESULT_OK : RESULT_AUTH_SIGNATURE_REUSED;
    }
    PQclear(res);
    return result;
}

result_t store_journal_next(store_conn_t *conn, int64_t *seq, int64_t *time_s)
{
    result_t result;
    PGresult *res = store_run(conn, "journal_next",
                              "UPDATE journal_head SET seq = seq + 1, "
                              "time_s = greatest(time_s, floor(extract(epoch from clock_timestamp()))::bigint) "
                              "RETURNING seq, time_s",
                              0, NULL, &result);
    if (res == NULL) return result;
    if (PQntuples(res) != 1) { /* the head row deleted by hand */
        log_error("journal_head has no row", NULL);
        result = RESULT_INTERNAL;
    } else {
        *seq = store_get_i64(res, 0, 0);
        *time_s = store_get_i64(res, 0, 1);
        conn->head_read = 1;
        result = store_fence_check(conn, *seq - 1);
    }
    PQclear(res);
    return result;
}

result_t store_journal_text(store_conn_t *conn, int64_t seq, char **text)
{
    char seq_text[LIMIT_INT64_TEXT_BYTES];
    result_t result;
    PGresult *res = store_run(conn, "journal_text", "SELECT text FROM journal WHERE seq = $1", 1,
                              P(store_i64(seq_text, seq)), &result);
    if (res == NULL) return result;
    result = PQntuples(res) == 1 ? RESULT_OK : RESULT_NOT_FOUND;
    if (result == RESULT_OK) *text = xstrdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return result;
}

result_t store_transaction_get(store_conn_t *conn, int64_t seq, int lock, store_transaction_t *row)
{
    char seq_text[LIMIT_INT64_TEXT_BYTES];
    result_t result;
    const char *name = lock ? "tx_get_lock" : "tx_get";
    const char *sql = lock ? "SELECT seq, partner, type, member, points, reversed FROM transactions "
                             "WHERE seq = $1 FOR UPDATE"
                           : "SELECT seq, partner, type, member, points, reversed FROM transactions "
                             "WHERE seq = $1";
    PGresult *res = store_run(conn, name, sql, 1, P(store_i64(seq_text, seq)), &result);
    if (res == NULL) return result;
    result = PQntuples(res) == 1 ? RESULT_OK : RESULT_NOT_FOUND;
    if (result == RESULT_OK) {
        row->seq = store_get_i64(res, 0, 0);
        snprintf(row->partner, sizeof row->partner, "%s", PQgetvalue(res, 0, 1));
        snprintf(row->type, sizeof row->type, "%s", PQgetvalue(res, 0, 2));
        snprintf(row->member, sizeof row->member, "%s", PQgetvalue(res, 0, 3));
        row->points = store_get_i64(res, 0, 4);
        row->reversed = store_get_i64(res, 0, 5);
    }
    PQclear(res);
    return result;
}

result_t store_transaction_add_reversed(store_conn_t *conn, int64_t seq, int64_t points)
{
    char seq_text[LIMIT_INT64_TEXT_BYTES], points_text[LIMIT_INT64_TEXT_BYTES];
    return store_exec_later(conn, "tx_reversed", "UPDATE transactions SET reversed = reversed + $2 WHERE seq = $1", 2,
                            P(store_i64(seq_text, seq), store_i64(points_text, points)), NULL, RESULT_OK);
}

result_t store_member_transactions(store_conn_t *conn, const char *partner, const char *member, int64_t before_seq,
                                   int limit, json_t **views, int64_t *last_seq)
{
    char before_text[LIMIT_INT64_TEXT_BYTES], limit_text[LIMIT_INT64_TEXT_BYTES];
    result_t result;
    PGresult *res =
        store_run(conn, "member_history",
                  "SELECT t.seq, j.text FROM transactions t JOIN journal j ON j.seq = t.seq "
                  "WHERE t.partner = $1 AND t.member = $2 AND t.seq < $3 "
                  "ORDER BY t.seq DESC LIMIT $4",
                  4, P(partner, member, store_i64(before_text, before_seq), store_i64(limit_text, limit)), &result);
    if (res == NULL) return result;
    *views = json_array();
    *last_seq = 0;
    for (int i = 0; i < PQntuples(res) && result == RESULT_OK; i++) {
        json_t *view = journal_transaction_view(PQgetvalue(res, i, 1));
        if (view == NULL) { /* only an entry altered by hand (triggers off) is not one we wrote */
            log_error("journal entry of a transaction does not parse",
                      json_pack("{s:I}", "seq", (json_int_t)store_get_i64(res, i, 0)));
            result = RESULT_INTERNAL;
            break;
        }
        json_array_append_new(*views, view);
        *last_seq = store_get_i64(res, i, 0);
    }
    PQclear(res);
    if (result != RESULT_OK) {
        json_decref(*views);
        *views = NULL;
    }
    return result;
}

result_t store_partner_validity(store_conn_t *conn, const char *code, int64_t *validity_s)
{
    result_t result;
    PGresult *res =
        store_run(conn, "partner_validity", "SELECT validity_s FROM partners WHERE code = $1", 1, P(code), &result);
    if (res == NULL) return result;
    result = PQntuples(res) == 1 ? RESULT_OK : RESULT_UNKNOWN_PARTNER;
    if (result == RESULT_OK) *validity_s = store_get_i64(res, 0, 0);
    PQclear(res);
    return result;
}

result_t store_member_lock(store_conn_t *conn, const char *member)
{
    char account[LEDGER_ACCOUNT_MAX + 1];
    ledger_account_member(account, member);
    result_t result = store_exec_later(conn, "member_create",
                                       "INSERT INTO accounts (account, balance) VALUES ($1, 0) ON CONFLICT DO NOTHING",
                                       1, P(account), NULL, RESULT_OK);
    if (result != RESULT_OK) return result;
    return store_exec_later(conn, "member_lock", "SELECT 1 FROM accounts WHERE account = $1 FOR UPDATE", 1, P(account),
                            NULL, RESULT_OK);
}

void store_member_state_free(store_member_state_t *state)
{
    if (state == NULL) return;
    free(state->lots);
    state->lots = NULL;
}

result_t store_member_expiring(store_conn_t *conn, const char *member, int64_t now_s, json_t **expiring)
{
    char now_text[LIMIT_INT64_TEXT_BYTES], days_text[LIMIT_INT64_TEXT_BYTES];
    result_t result;
    PGresult *res = store_run(
        conn, "member_expiring",
        "SELECT to_char(to_timestamp(expires_s) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, "
        "sum(remaining) FROM lots WHERE member = $1 AND remaining > 0 AND expires_s > $2 "
        "GROUP BY day ORDER BY day LIMIT $3",
        3, P(member, store_i64(now_text, now_s), store_i64(days_text, LIMIT_MEMBER_EXPIRING_DAYS_MAX)), &result);
    if (res == NULL) return result;
    *expiring = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(*expiring, json_pack("{s:s,s:I}", "date", PQgetvalue(res, i, 0), "points",
                                                   (json_int_t)store_get_i64(res, i, 1)));
    PQclear(res);
    return RESULT_OK;
}

result_t store_lot_get(store_conn_t *conn, int64_t id, ledger_lot_t *lot)
{
    char id_text[LIMIT_INT64_TEXT_BYTES];
    result_t result;
    PGresult *res =
        store_run(conn, "lot_get", "SELECT id, issuer, remaining, expires_s FROM lots WHERE id = $1 FOR UPDATE", 1,
                  P(store_i64(id_text, id)), &result);
    if (res == NULL) return result;
    result = PQntuples(res) == 1 ? RESULT_OK : RESULT_NOT_FOUND;
    if (result == RESULT_OK) {
        lot->id = store_get_i64(res, 0, 0);
        snprintf(lot->issuer, sizeof lot->issuer, "%s", PQgetvalue(res, 0, 1));
        lot->remaining = store_get_i64(res, 0, 2);
        lot->expires_s = store_get_i64(res, 0, 3);
    }
    PQclear(res);
    return result;
}

result_t store_lot_adjust(store_conn_t *conn, int64_t id, int64_t delta)
{
    char id_text[LIMIT_INT64_TEXT_BYTES], delta_text[LIMIT_INT64_TEXT_BYTES];
    return store_exec_later(conn, "lot_adjust", "UPDATE lots SET remaining = remaining + $2 WHERE id = $1", 2,
                            P(store_i64(id_text, id), store_i64(delta_text, delta)), NULL, RESULT_OK);
}

result_t store_portions_get(store_conn_t *conn, int64_t burn_seq, ledger_consumed_t **consumed, size_t *count)
{
    char seq_text[LIMIT_INT64_TEXT_BYTES];
    result_t result;
    PGresult *res = store_run(conn, "portions_get",
                              "SELECT idx, lot_id, issuer, points, reversed FROM burn_portions "
                              "WHERE burn_seq = $1 ORDER BY idx FOR UPDATE",
                              1, P(store_i64(seq_text, burn_seq)), &result);
    if (res == NULL) return result;
    *count = (size_t)PQntuples(res);
    *consumed = xcalloc(*count, sizeof **consumed);
    for (size_t i = 0; i < *count; i++) {
        int row = (int)i;
        (*consumed)[i].index = (int)store_get_i64(res, row, 0);
        (*consumed)[i].lot_id = store_get_i64(res, row, 1);
        snprintf((*consumed)[i].issuer, sizeof(*consumed)[i].issuer, "%s", PQgetvalue(res, row, 2));
        (*consumed)[i].points = store_get_i64(res, row, 3);
        (*consumed)[i].reversed = store_get_i64(res, row, 4);
    }
    PQclear(res);
    return RESULT_OK;
}

result_t store_portion_add_reversed(store_conn_t *conn, int64_t burn_seq, int index, int64_t points,
                                    int64_t reversal_seq)
{
    char seq_text[LIMIT_INT64_TEXT_BYTES], index_text[LIMIT_INT64_TEXT_BYTES], points_text[LIMIT_INT64_TEXT_BYTES],
        reversal_text[LIMIT_INT64_TEXT_BYTES];
    return store_exec_later(
        conn, "portion_reversed",
        "WITH portion AS (UPDATE burn_portions SET reversed = reversed + $3 "
        "  WHERE burn_seq = $1 AND idx = $2 RETURNING redeemer, issuer, value_seq) "
        "INSERT INTO reversal_portions (reversal_seq, burn_seq, idx, redeemer, issuer, points, value_seq) "
        "SELECT $4, $1, $2, redeemer, issuer, $3, value_seq FROM portion",
        4,
        P(store_i64(seq_text, burn_seq), store_i64(index_text, index), store_i64(points_text, points),
          store_i64(reversal_text, reversal_seq)),
        NULL, RESULT_OK);
}

result_t store_hold_insert(store_conn_t *conn, int64_t seq, const char *partner, const char *member, int64_t points,
                           const char *reference, int64_t expires_s)
{
    char seq_text[LIMIT_INT64_TEXT_BYTES], points_text[LIMIT_INT64_TEXT_BYTES], expires_text[LIMIT_INT64_TEXT_BYTES];
    return store_exec_later(conn, "hold_insert",
                            "INSERT INTO holds (seq, partner, member, points, reference, expires_s) "
                            "VALUES ($1, $2, $3, $4, $5, $6)",
                            6,
                            P(store_i64(seq_text, seq), partner, member, store_i64(points_text, points), reference,
                              store_i64(expires_text, expires_s)),
                            NULL, RESULT_OK);
}

result_t store_hold_get(store_conn_t *conn, int64_t seq, int lock, store_hold_t *hold)
{
    char seq_text[LIMIT_INT64_TEXT_BYTES];
    result_t result;
    const char *sql = lock ? "SELECT seq, partner, member, reference, points, expires_s, status, "
                             "coalesce(captured_points, 0) FROM holds WHERE seq = $1 FOR UPDATE"
                           : "SELECT seq, partner, member, reference, points, expires_s, status, "
                             "coalesce(captured_points, 0) FROM holds WHERE seq = $1";
    PGresult *res = store_run(conn, lock ? "hold_get_lock" : "hold_get", sql, 1, P(store_i64(seq_text, seq)), &result);
    if (res == NULL) return result;
    result = PQntuples(res) == 1 ? RESULT_OK : RESULT_NOT_FOUND;
    if (result == RESULT_OK) {
        hold->seq = store_get_i64(res, 0, 0);
        snprintf(hold->partner, sizeof hold->partner, "%s", PQgetvalue(res, 0, 1));
        snprintf(hold->member, sizeof hold->member, "%s", PQgetvalue(res, 0, 2));
        snprintf(hold->reference, sizeof hold->reference, "%s", PQgetvalue(res, 0, 3));
        hold->points = store_get_i64(res, 0, 4);
        hold->expires_s = store_get_i64(res, 0, 5);
        snprintf(hold->status, sizeof hold->status, "%s", PQgetvalue(res, 0, 6));
        hold->captured_points = store_get_i64(res, 0, 7);
    }
    PQclear(res);
    return result;
}

result_t store_hold_close(store_conn_t *conn, int64_t seq, const char *status, int64_t captured_points,
                          int64_t closed_seq)
{
    char seq_text[LIMIT_INT64_TEXT_BYTES], captured_text[LIMIT_INT64_TEXT_BYTES], closed_text[LIMIT_INT64_TEXT_BYTES];
    return store_exec_later(conn, "hold_close",
                            "UPDATE holds SET status = $2, captured_points = $3, closed_seq = $4 "
                            "WHERE seq = $1 AND status = 'active'",
                            4,
                            P(store_i64(seq_text, seq), status,
                              captured_points ? store_i64(captured_text, captured_points) : NULL,
                              store_i64(closed_text, closed_seq)),
                            NULL, RESULT_OK);
}

/* store_expiry.c — SQL of expiry runs: due lots, member locks, run bookkeeping, reports. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assert_always.h"
#include "buf.h"
#include "limits.h"
#include "store_internal.h"

#define P(...)                ((const char *const[]){__VA_ARGS__})
#define STORE_EXPIRY_LOCK_KEY "7431002"

int store_expiry_lock(store_conn_t *conn, result_t *result)
{
    PGresult *res =
        store_run(conn, "expiry_lock", "SELECT pg_try_advisory_lock(" STORE_EXPIRY_LOCK_KEY ")", 0, NULL, result);
    if (res == NULL) return 0;
    int taken = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return taken;
}

result_t store_expiry_answer_save(store_conn_t *conn, int64_t run_id, const char *body)
{
    char id_text[LIMIT_INT64_TEXT_BYTES];
    /* nothing when the key was answered already: its owner used it for another request meanwhile */
    return store_exec(conn, "expiry_answer_save",
                      "INSERT INTO idempotency (principal, key, request_hash, status, body, created_s) "
                      "SELECT claim_principal, claim_key, claim_hash, 201, $2, floor(extract(epoch from now()))::bigint "
                      "FROM expiry_runs WHERE id = $1 AND claim_hash IS NOT NULL ON CONFLICT DO NOTHING",
                      2, P(store_i64(id_text, run_id), body));
}

void store_expiry_unlock(store_conn_t *conn)
{
    (void)store_exec(conn, "expiry_unlock", "SELECT pg_advisory_unlock(" STORE_EXPIRY_LOCK_KEY ")", 0, NULL);
}

static void run_from_row(const PGresult *res, store_expiry_run_t *run)
{
    run->id = store_get_i64(res, 0, 0);
    run->as_of_s = store_get_i64(res, 0, 1);
    run->chunks = store_get_i64(res, 0, 2);
    snprintf(run->requested_by, sizeof run->requested_by, "%s", PQgetvalue(res, 0, 3));
    snprintf(run->claim_principal, sizeof run->claim_principal, "%s", PQgetvalue(res, 0, 4));
    snprintf(run->claim_key, sizeof run->claim_key, "%s", PQgetvalue(res, 0, 5));
    snprintf(run->claim_hash, sizeof run->claim_hash, "%s", PQgetvalue(res, 0, 6));
}

result_t store_expiry_run_running(store_conn_t *conn, store_expiry_run_t *run)
{
    result_t result;
    PGresult *res =
        store_run(conn, "expiry_running",
                  "SELECT id, as_of_s, chunks, requested_by, coalesce(claim_principal, ''), coalesce(claim_key, ''), "
                  "coalesce(encode(claim_hash, 'hex'), '') FROM expiry_runs WHERE status = 'running' FOR UPDATE", 0,
                  NULL, &result);
    if (res == NULL) return result;
    result = PQntuples(res) == 1 ? RESULT_OK : RESULT_NOT_FOUND;
    if (result == RESULT_OK) run_from_row(res, run);
    PQclear(res);
    return result;
}

result_t store_expiry_run_create(store_conn_t *conn, int64_t as_of_s, const char *requested_by,
                                 const store_idempotency_claim_t *claim, store_expiry_run_t *run)
{
    char as_of_text[LIMIT_INT64_TEXT_BYTES], hash_text[LIMIT_BYTEA_TEXT_BYTES(CRYPTO_SHA256_BYTES)];
    result_t result;
    if (claim != NULL) store_bytea_text(claim->request_hash, CRYPTO_SHA256_BYTES, hash_text);
    PGresult *res = store_run(conn, "expiry_create",
                              "INSERT INTO expiry_runs (as_of_s, requested_by, started_s, claim_principal, claim_key, claim_hash) "
                              "VALUES ($1, $2, floor(extract(epoch from clock_timestamp()))::bigint, $3, $4, $5) "
                              "RETURNING id, as_of_s, chunks, requested_by, coalesce(claim_principal, ''), "
                              "coalesce(claim_key, ''), coalesce(encode(claim_hash, 'hex'), '')",
                              5,
                              P(store_i64(as_of_text, as_of_s), requested_by, claim ? claim->principal : NULL,
                                claim ? claim->key : NULL, claim ? hash_text : NULL),
                              &result);
    if (res == NULL) return result;
    run_from_row(res, run);
    PQclear(res);
    return RESULT_OK;
}

static void id_array(buf_t *out, const int64_t *ids, size_t count)
{
    buf_append_str(out, "{");
    for (size_t i = 0; i < count; i++)
        buf_printf(out, "%s%lld", i ? "," : "", (long long)ids[i]);
    buf_append_str(out, "}");
}

result_t store_due_lots(store_conn_t *conn, int64_t as_of_s, size_t limit, const int64_t *ids, size_t id_count,
                        ledger_expiring_t **lots, size_t *count)
{
    char as_of_text[LIMIT_INT64_TEXT_BYTES], limit_text[LIMIT_INT64_TEXT_BYTES];
    buf_t array = BUF_INIT;
    result_t result;
    PGresult *res;
    store_i64(as_of_text, as_of_s);
    if (ids == NULL) {
        res = store_run(conn, "due_lots",
                        "SELECT id, member, issuer, remaining FROM lots "
                        "WHERE remaining > 0 AND expires_s <= $1 ORDER BY expires_s, id LIMIT $2",
                        2, P(as_of_text, store_i64(limit_text, (int64_t)limit)), &result);
    } else {
        id_array(&array, ids, id_count);
        res = store_run(
            conn, "due_lots_lock",
            "SELECT id, member, issuer, remaining FROM lots "
            "WHERE id = ANY($2::bigint[]) AND remaining > 0 AND expires_s <= $1 ORDER BY expires_s, id FOR UPDATE",
            2, P(as_of_text, array.data), &result);
    }
    buf_free(&array);
    if (res == NULL) return result;
    *count = (size_t)PQntuples(res);
    *lots = xcalloc(*count, sizeof **lots);
    for (size_t i = 0; i < *count; i++) {
        int row = (int)i;
        (*lots)[i].lot_id = store_get_i64(res, row, 0);
        snprintf((*lots)[i].member, sizeof(*lots)[i].member, "%s", PQgetvalue(res, row, 1));
        snprintf((*lots)[i].issuer, sizeof(*lots)[i].issuer, "%s", PQgetvalue(res, row, 2));
        (*lots)[i].points = store_get_i64(res, row, 3);
    }
    PQclear(res);
    return RESULT_OK;
}

result_t store_members_lock(store_conn_t *conn, const ledger_expiring_t *lots, size_t count)
{
    buf_t array = BUF_INIT;
    buf_append_str(&array, "{");
    for (size_t i = 0; i < count; i++)
        buf_printf(&array, "%s\"member:%s\"", i ? "," : "", lots[i].member);
    buf_append_str(&array, "}");
    result_t result = store_exec(conn, "members_lock",
                                 "SELECT 1 FROM accounts WHERE account = ANY($1::text[]) ORDER BY account FOR UPDATE",
                                 1, P(array.data));
    buf_free(&array);
    return result;
}

int store_due_exists(store_conn_t *conn, int64_t as_of_s, result_t *result)
{
    char as_of_text[LIMIT_INT64_TEXT_BYTES];
    PGresult *res =
        store_run(conn, "due_exists", "SELECT EXISTS (SELECT 1 FROM lots WHERE remaining > 0 AND expires_s <= $1)", 1,
                  P(store_i64(as_of_text, as_of_s)), result);
    if (res == NULL) return 0;
    int exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return exists;
}

static void lot_arrays(const ledger_expiring_t *lots, size_t count, buf_t *ids, buf_t *points)
{
    buf_append_str(ids, "{");
    buf_append_str(points, "{");
    for (size_t i = 0; i < count; i++) {
        const char *comma = i ? "," : "";
        buf_printf(ids, "%s%lld", comma, (long long)lots[i].lot_id);
        buf_printf(points, "%s%lld", comma, (long long)lots[i].points);
    }
    buf_append_str(ids, "}");
    buf_append_str(points, "}");
}

result_t store_lots_expire(store_conn_t *conn, const ledger_expiring_t *lots, size_t count)
{
    buf_t ids = BUF_INIT, points = BUF_INIT;
    result_t result;
    lot_arrays(lots, count, &ids, &points);
    PGresult *res = store_run(conn, "lots_expire",
                              "UPDATE lots SET remaining = 0 FROM unnest($1::bigint[], $2::bigint[]) AS e(id, points) "
                              "WHERE lots.id = e.id AND lots.remaining = e.points",
                              2, P(ids.data, points.data), &result);
    buf_free(&ids);
    buf_free(&points);
    if (res == NULL) return result;
    /* every lot was locked and read in this transaction: all must match */
    ASSERT_ALWAYS(strtoull(PQcmdTuples(res), NULL, 10) == count);
    PQclear(res);
    return RESULT_OK;
}

result_t store_expired_insert(store_conn_t *conn, int64_t seq, int64_t run_id, const ledger_expiring_t *lots,
                              size_t count)
{
    char seq_text[LIMIT_INT64_TEXT_BYTES], run_text[LIMIT_INT64_TEXT_BYTES];
    buf_t ids = BUF_INIT, points = BUF_INIT;
    lot_arrays(lots, count, &ids, &points);
    result_t result = store_exec(conn, "expired_insert",
                                 "INSERT INTO expired_lots (seq, lot_id, run_id, points) "
                                 "SELECT $1, id, $2, p FROM unnest($3::bigint[], $4::bigint[]) AS e(id, p)",
                                 4, P(store_i64(seq_text, seq), store_i64(run_text, run_id), ids.data, points.data));
    buf_free(&ids);
    buf_free(&points);
    return result;
}

result_t store_expiry_run_progress(store_conn_t *conn, int64_t run_id, int64_t seq, int64_t *first_seq)
{
    char run_text[LIMIT_INT64_TEXT_BYTES], seq_text[LIMIT_INT64_TEXT_BYTES];
    result_t result;
    PGresult *res = store_run(conn, "expiry_progress",
                              "UPDATE expiry_runs SET chunks = chunks + 1, first_seq = coalesce(first_seq, $2), "
                              "last_seq = $2 WHERE id = $1 AND status = 'running' RETURNING first_seq",
                              2, P(store_i64(run_text, run_id), store_i64(seq_text, seq)), &result);
    if (res == NULL) return result;
    ASSERT_ALWAYS(PQntuples(res) == 1);
    *first_seq = store_get_i64(res, 0, 0);
    PQclear(res);
    return RESULT_OK;
}

result_t store_expiry_run_totals(store_conn_t *conn, int64_t run_id, json_t **totals)
{
    char run_text[LIMIT_INT64_TEXT_BYTES];
    result_t result;
    store_i64(run_text, run_id);
    PGresult *res = store_run(conn, "expiry_totals",
                              "SELECT count(*), coalesce(sum(e.points), 0), count(DISTINCT l.member) "
                              "FROM expired_lots e JOIN lots l ON l.id = e.lot_id WHERE e.run_id = $1",
                              1, P(run_text), &result);
    if (res == NULL) return result;
    *totals = json_pack("{s:I,s:I,s:I}", "lots", (json_int_t)store_get_i64(res, 0, 0), "points",
                        (json_int_t)store_get_i64(res, 0, 1), "members", (json_int_t)store_get_i64(res, 0, 2));
    PQclear(res);
    res = store_run(conn, "expiry_by_issuer",
                    "SELECT l.issuer, count(*), sum(e.points) FROM expired_lots e JOIN lots l ON l.id = e.lot_id "
                    "WHERE e.run_id = $1 GROUP BY l.issuer ORDER BY l.issuer",
                    1, P(run_text), &result);
    if (res == NULL) {
        json_decref(*totals);
        return result;
    }
    json_t *by_issuer = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(by_issuer, json_pack("{s:s,s:I,s:I}", "issuer", PQgetvalue(res, i, 0), "lots",
                                                   (json_int_t)store_get_i64(res, i, 1), "points",
                                                   (json_int_t)store_get_i64(res, i, 2)));
    PQclear(res);
    json_object_set_new(*totals, "by_issuer", by_issuer);
    return RESULT_OK;
}

result_t store_expiry_run_finish(store_conn_t *conn, int64_t run_id, const char *report, const char *signature)
{
    char run_text[LIMIT_INT64_TEXT_BYTES];
    return store_exec(conn, "expiry_finish",
                      "UPDATE expiry_runs SET status = 'done', report = $2, signature = $3 WHERE id = $1", 3,
                      P(store_i64(run_text, run_id), report, signature));
}

result_t store_expiry_run_report(store_conn_t *conn, int64_t run_id, char **report, char **signature)
{
    char run_text[LIMIT_INT64_TEXT_BYTES];
    result_t result;
    PGresult *res =
        store_run(conn, "expiry_report", "SELECT report, signature FROM expiry_runs WHERE id = $1 AND status = 'done'",
                  1, P(store_i64(run_text, run_id)), &result);
    if (res == NULL) return result;
    result = PQntuples(res) == 1 ? RESULT_OK : RESULT_NOT_FOUND;
    if (result == RESULT_OK) {
        *report = xstrdup(PQgetvalue(res, 0, 0));
        *signature = xstrdup(PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return result;
}

result_t store_expiring_report(store_conn_t *conn, int64_t now_s, int64_t days, json_t **report)
{
    char now_text[LIMIT_INT64_TEXT_BYTES], until_text[LIMIT_INT64_TEXT_BYTES];
    result_t result;
    PGresult *res =
        store_run(conn, "expiring_report",
                  "SELECT issuer, count(*), sum(remaining), count(DISTINCT member) FROM lots "
                  "WHERE remaining > 0 AND expires_s > $1 AND expires_s <= $2 GROUP BY issuer ORDER BY issuer",
                  2, P(store_i64(now_text, now_s), store_i64(until_text, now_s + days * 86400)), &result);
    if (res == NULL) return result;
    json_t *issuers = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(issuers, json_pack("{s:s,s:I,s:I,s:I}", "issuer", PQgetvalue(res, i, 0), "lots",
                                                 (json_int_t)store_get_i64(res, i, 1), "points",
                                                 (json_int_t)store_get_i64(res, i, 2), "members",
                                                 (json_int_t)store_get_i64(res, i, 3)));
    PQclear(res);
    char until[LIMIT_TIME_TEXT_BYTES];
    ledger_time_format(now_s + days * 86400, until);
    *report = json_pack("{s:I,s:s,s:o}", "days", (json_int_t)days, "until", until, "issuers", issuers);
    return RESULT_OK;
}

result_t store_housekeeping(store_conn_t *conn, int64_t keep_s, int64_t signatures_keep_s)
{
    char keep_text[LIMIT_INT64_TEXT_BYTES], signatures_text[LIMIT_INT64_TEXT_BYTES];
    result_t result =
        store_exec(conn, "purge_idempotency",
                   "DELETE FROM idempotency WHERE created_s < floor(extract(epoch from now()))::bigint - $1", 1,
                   P(store_i64(keep_text, keep_s)));
    if (result != RESULT_OK) return result;
    return store_exec(conn, "purge_signatures",
                      "DELETE FROM signatures_seen WHERE seen_s < floor(extract(epoch from now()))::bigint - $1", 1,
                      P(store_i64(signatures_text, signatures_keep_s)));
}

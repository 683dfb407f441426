/* store_settlement.c — SQL of settlements: cutoff, flows by pair and point value, the chain. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assert_always.h"
#include "buf.h"
#include "limits.h"
#include "store_internal.h"

#define P(...)                    ((const char *const[]){__VA_ARGS__})
#define STORE_SETTLEMENT_LOCK_KEY "7431003"

int store_settlement_lock(store_conn_t *conn, result_t *result)
{
    PGresult *res = store_run(conn, "settlement_lock", "SELECT pg_try_advisory_lock(" STORE_SETTLEMENT_LOCK_KEY ")", 0,
                              NULL, result);
    if (res == NULL) return 0;
    int taken = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return taken;
}

void store_settlement_unlock(store_conn_t *conn)
{
    (void)store_exec(conn, "settlement_unlock", "SELECT pg_advisory_unlock(" STORE_SETTLEMENT_LOCK_KEY ")", 0, NULL);
}

result_t store_settlement_last(store_conn_t *conn, int64_t *cutoff_seq, int64_t *period_end_s)
{
    result_t result;
    PGresult *res = store_run(conn, "settlement_last",
                              "SELECT coalesce(max(cutoff_seq), 0), coalesce(max(period_end_s), 0) FROM settlements", 0,
                              NULL, &result);
    if (res == NULL) return result;
    *cutoff_seq = store_get_i64(res, 0, 0);
    *period_end_s = store_get_i64(res, 0, 1);
    PQclear(res);
    return RESULT_OK;
}

result_t store_settlement_cutoff(store_conn_t *conn, int64_t period_end_s, int64_t *cutoff_seq)
{
    char end_text[LIMIT_INT64_TEXT_BYTES];
    /* Waiting for the head lock waits out every writer that already holds a seq. */
    result_t result = store_begin(conn);
    if (result == RESULT_OK) result = store_exec(conn, "head_wait", "SELECT 1 FROM journal_head FOR UPDATE", 0, NULL);
    PGresult *res = result != RESULT_OK ? NULL
                                        : store_run(conn, "settlement_cutoff",
                                                    "SELECT coalesce((SELECT seq FROM journal WHERE time_s <= $1 "
                                                    "ORDER BY time_s DESC, seq DESC LIMIT 1), 0)",
                                                    1, P(store_i64(end_text, period_end_s)), &result);
    if (res != NULL) {
        *cutoff_seq = store_get_i64(res, 0, 0);
        PQclear(res);
    }
    store_rollback(conn);
    return result;
}

result_t store_settlement_flows(store_conn_t *conn, int64_t from_seq, int64_t to_seq, settlement_flow_t **flows,
                                size_t *count)
{
    char from_text[LIMIT_INT64_TEXT_BYTES], to_text[LIMIT_INT64_TEXT_BYTES];
    result_t result;
    PGresult *res = store_run(
        conn, "settlement_flows",
        "SELECT f.redeemer, f.issuer, coalesce(pv.value_num, 0), coalesce(pv.value_den, 1), sum(f.points) FROM ("
        "  SELECT redeemer, issuer, value_seq, points FROM burn_portions WHERE burn_seq BETWEEN $1 AND $2 "
        "  UNION ALL "
        "  SELECT redeemer, issuer, value_seq, -points FROM reversal_portions WHERE reversal_seq BETWEEN $1 AND $2"
        ") f LEFT JOIN point_values pv ON pv.seq = f.value_seq "
        "GROUP BY f.redeemer, f.issuer, f.value_seq, pv.value_num, pv.value_den ORDER BY 1, 2, f.value_seq",
        2, P(store_i64(from_text, from_seq), store_i64(to_text, to_seq)), &result);
    if (res == NULL) return result;
    *count = (size_t)PQntuples(res);
    *flows = xcalloc(*count, sizeof **flows);
    for (size_t i = 0; i < *count; i++) {
        int row = (int)i;
        settlement_flow_t *f = &(*flows)[i];
        snprintf(f->redeemer, sizeof f->redeemer, "%s", PQgetvalue(res, row, 0));
        snprintf(f->issuer, sizeof f->issuer, "%s", PQgetvalue(res, row, 1));
        f->value_num = store_get_i64(res, row, 2);
        f->value_den = store_get_i64(res, row, 3);
        f->points = store_get_i64(res, row, 4);
    }
    PQclear(res);
    return RESULT_OK;
}

result_t store_partner_codes(store_conn_t *conn, int64_t seq, char ***codes, size_t *count)
{
    char seq_text[LIMIT_INT64_TEXT_BYTES];
    result_t result;
    PGresult *res = store_run(conn, "partner_codes", "SELECT code FROM partners WHERE created_seq <= $1 ORDER BY code",
                              1, P(store_i64(seq_text, seq)), &result);
    if (res == NULL) return result;
    *count = (size_t)PQntuples(res);
    *codes = xcalloc(*count, sizeof **codes);
    for (size_t i = 0; i < *count; i++)
        (*codes)[i] = xstrdup(PQgetvalue(res, (int)i, 0));
    PQclear(res);
    return RESULT_OK;
}

result_t store_currency(store_conn_t *conn, char currency[4])
{
    result_t result;
    PGresult *res = store_run(conn, "currency", "SELECT currency FROM ledger_meta", 0, NULL, &result);
    if (res == NULL) return result;
    result = PQntuples(res) == 1 ? RESULT_OK : RESULT_LEDGER_NOT_INITIALIZED;
    if (result == RESULT_OK) snprintf(currency, 4, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return result;
}

result_t store_settlement_next_id(store_conn_t *conn, int64_t *id)
{
    result_t result;
    PGresult *res = store_run(conn, "settlement_id", "SELECT nextval('settlements_id_seq')", 0, NULL, &result);
    if (res == NULL) return result;
    *id = store_get_i64(res, 0, 0);
    PQclear(res);
    return RESULT_OK;
}

result_t store_settlement_insert(store_conn_t *conn, int64_t id, int64_t seq, int64_t period_end_s, int64_t from_seq,
                                 int64_t cutoff_seq, int64_t fee_bp, const char *report, const char *signature)
{
    char id_text[LIMIT_INT64_TEXT_BYTES], seq_text[LIMIT_INT64_TEXT_BYTES], end_text[LIMIT_INT64_TEXT_BYTES],
        from_text[LIMIT_INT64_TEXT_BYTES], cutoff_text[LIMIT_INT64_TEXT_BYTES], fee_text[LIMIT_INT64_TEXT_BYTES];
    return store_exec(
        conn, "settlement_insert",
        "INSERT INTO settlements (id, seq, period_end_s, from_seq, cutoff_seq, fee_bp, report, signature) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        8,
        P(store_i64(id_text, id), store_i64(seq_text, seq), store_i64(end_text, period_end_s),
          store_i64(from_text, from_seq), store_i64(cutoff_text, cutoff_seq), store_i64(fee_text, fee_bp), report,
          signature));
}

result_t store_settlement_get(store_conn_t *conn, int64_t id, char **report, char **signature)
{
    char id_text[LIMIT_INT64_TEXT_BYTES];
    result_t result;
    PGresult *res = store_run(conn, "settlement_get", "SELECT report, signature FROM settlements WHERE id = $1", 1,
                              P(store_i64(id_text, id)), &result);
    if (res == NULL) return result;
    result = PQntuples(res) == 1 ? RESULT_OK : RESULT_NOT_FOUND;
    if (result == RESULT_OK) {
        *report = xstrdup(PQgetvalue(res, 0, 0));
        *signature = xstrdup(PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return result;
}

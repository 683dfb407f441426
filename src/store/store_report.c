/* store_report.c — SQL of issue 19's reads (store_report.h): lists, the expiry forecast, the
 * values and rates in force at a seq, and the liability report's totals over journal-derived
 * tables (lots, burn_portions, reversal_portions, expired_lots, transactions, postings). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "ledger.h"
#include "log.h"
#include "store_internal.h"
#include "store_report.h"

#define P(...) ((const char *const[]){__VA_ARGS__})

/* Rows (id, report text) as parsed report objects. */
static result_t report_rows(PGresult *res, json_t **reports, int64_t *last_id)
{
    *reports = json_array();
    *last_id = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        json_t *report = json_loads(PQgetvalue(res, i, 1), JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(report)) { /* only a row altered by hand */
            log_error("a stored report does not parse", json_pack("{s:I}", "id", (json_int_t)store_get_i64(res, i, 0)));
            json_decref(report);
            json_decref(*reports);
            *reports = NULL;
            return RESULT_INTERNAL;
        }
        json_array_append_new(*reports, report);
        *last_id = store_get_i64(res, i, 0);
    }
    return RESULT_OK;
}

result_t store_settlement_list(store_conn_t *conn, int64_t before_id, int limit, json_t **reports, int64_t *last_id)
{
    char before_text[LIMIT_INT64_TEXT_BYTES], limit_text[LIMIT_INT64_TEXT_BYTES];
    result_t result;
    PGresult *res = store_run(conn, "settlement_list",
                              "SELECT id, report FROM settlements WHERE id < $1 ORDER BY id DESC LIMIT $2", 2,
                              P(store_i64(before_text, before_id), store_i64(limit_text, limit)), &result);
    if (res == NULL) return result;
    result = report_rows(res, reports, last_id);
    PQclear(res);
    return result;
}

result_t store_expiry_run_list(store_conn_t *conn, int64_t before_id, int limit, json_t **reports, int64_t *last_id)
{
    char before_text[LIMIT_INT64_TEXT_BYTES], limit_text[LIMIT_INT64_TEXT_BYTES];
    result_t result;
    PGresult *res =
        store_run(conn, "expiry_run_list",
                  "SELECT id, report FROM expiry_runs WHERE status = 'done' AND id < $1 ORDER BY id DESC LIMIT $2", 2,
                  P(store_i64(before_text, before_id), store_i64(limit_text, limit)), &result);
    if (res == NULL) return result;
    result = report_rows(res, reports, last_id);
    PQclear(res);
    return result;
}

result_t store_expiry_forecast(store_conn_t *conn, int64_t now_s, int64_t weeks, json_t **forecast)
{
    char now_text[LIMIT_INT64_TEXT_BYTES], weeks_text[LIMIT_INT64_TEXT_BYTES], week_text[LIMIT_INT64_TEXT_BYTES];
    result_t result;
    PGresult *res = store_run(conn, "expiry_forecast",
                              "SELECT (expires_s - $1 - 1) / $3::bigint, issuer, sum(remaining) FROM lots "
                              "WHERE remaining > 0 AND expires_s > $1 AND expires_s <= $1 + $2::bigint * $3::bigint "
                              "GROUP BY 1, 2 ORDER BY 1, 2",
                              3,
                              P(store_i64(now_text, now_s), store_i64(weeks_text, weeks),
                                store_i64(week_text, LIMIT_WEEK_S)),
                              &result);
    if (res == NULL) return result;
    *forecast = json_array();
    for (int64_t week = 0; week < weeks; week++)
        json_array_append_new(*forecast, json_pack("{s:I,s:I,s:[]}", "start", (json_int_t)(now_s + week * LIMIT_WEEK_S),
                                                   "end", (json_int_t)(now_s + (week + 1) * LIMIT_WEEK_S), "issuers"));
    for (int i = 0; i < PQntuples(res); i++) {
        int64_t week = store_get_i64(res, i, 0);
        if (week < 0 || week >= weeks) continue; /* the WHERE keeps 0..weeks-1 */
        json_array_append_new(json_object_get(json_array_get(*forecast, (size_t)week), "issuers"),
                              json_pack("{s:s,s:I}", "issuer", PQgetvalue(res, i, 1), "points",
                                        (json_int_t)store_get_i64(res, i, 2)));
    }
    PQclear(res);
    return RESULT_OK;
}

result_t store_point_value_at(store_conn_t *conn, int64_t seq, int64_t *value_num, int64_t *value_den,
                              int64_t *value_seq)
{
    char seq_text[LIMIT_INT64_TEXT_BYTES];
    result_t result;
    PGresult *res = store_run(conn, "point_value_at",
                              "SELECT seq, value_num, value_den FROM point_values WHERE seq <= $1 "
                              "ORDER BY seq DESC LIMIT 1",
                              1, P(store_i64(seq_text, seq)), &result);
    if (res == NULL) return result;
    *value_seq = 0;
    *value_num = 0;
    *value_den = 1;
    if (PQntuples(res) == 1) {
        *value_seq = store_get_i64(res, 0, 0);
        *value_num = store_get_i64(res, 0, 1);
        *value_den = store_get_i64(res, 0, 2);
    }
    PQclear(res);
    return RESULT_OK;
}

result_t store_redemption_rate_insert(store_conn_t *conn, int64_t seq, const char *issuer, int64_t rate_bp,
                                      int64_t effective_s)
{
    char seq_text[LIMIT_INT64_TEXT_BYTES], rate_text[LIMIT_INT64_TEXT_BYTES], time_text[LIMIT_INT64_TEXT_BYTES];
    return store_exec(conn, "redemption_rate_insert",
                      "INSERT INTO redemption_rates (seq, issuer, rate_bp, effective_s) VALUES ($1, $2, $3, $4)", 4,
                      P(store_i64(seq_text, seq), issuer, store_i64(rate_text, rate_bp),
                        store_i64(time_text, effective_s)));
}

result_t store_redemption_rate_at(store_conn_t *conn, const char *issuer, int64_t seq, int64_t *rate_bp,
                                  int64_t *rate_seq)
{
    char seq_text[LIMIT_INT64_TEXT_BYTES];
    result_t result;
    PGresult *res = store_run(conn, "redemption_rate_at",
                              "SELECT seq, rate_bp FROM redemption_rates WHERE issuer = $1 AND seq <= $2 "
                              "ORDER BY seq DESC LIMIT 1",
                              2, P(issuer, store_i64(seq_text, seq)), &result);
    if (res == NULL) return result;
    result = PQntuples(res) == 1 ? RESULT_OK : RESULT_NOT_FOUND;
    if (result == RESULT_OK) {
        *rate_seq = store_get_i64(res, 0, 0);
        *rate_bp = store_get_i64(res, 0, 1);
    }
    PQclear(res);
    return result;
}

result_t store_redemption_rate_list(store_conn_t *conn, const char *issuer, int64_t before_seq, int limit,
                                    json_t **rates, int64_t *last_seq)
{
    char before_text[LIMIT_INT64_TEXT_BYTES], limit_text[LIMIT_INT64_TEXT_BYTES];
    result_t result;
    PGresult *res = store_run(conn, "redemption_rate_list",
                              "SELECT seq, issuer, rate_bp, effective_s FROM redemption_rates "
                              "WHERE ($1::text IS NULL OR issuer = $1) AND seq < $2 ORDER BY seq DESC LIMIT $3",
                              3, P(issuer, store_i64(before_text, before_seq), store_i64(limit_text, limit)), &result);
    if (res == NULL) return result;
    *rates = json_array();
    *last_seq = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        char effective_at[LIMIT_TIME_TEXT_BYTES];
        ledger_time_format(store_get_i64(res, i, 3), effective_at);
        *last_seq = store_get_i64(res, i, 0);
        json_array_append_new(*rates, json_pack("{s:s,s:I,s:I,s:s}", "issuer", PQgetvalue(res, i, 1), "rate_bp",
                                                (json_int_t)store_get_i64(res, i, 2), "seq", (json_int_t)*last_seq,
                                                "effective_at", effective_at));
    }
    PQclear(res);
    return RESULT_OK;
}

result_t store_report_flows(store_conn_t *conn, const char *issuer, int64_t from_seq, int64_t to_seq,
                            store_report_flows_t *flows)
{
    char from_text[LIMIT_INT64_TEXT_BYTES], to_text[LIMIT_INT64_TEXT_BYTES];
    result_t result;
    memset(flows, 0, sizeof *flows);
    const char *const *params = P(issuer, store_i64(from_text, from_seq), store_i64(to_text, to_seq));
    /* earn reversals are reversals whose original is a lot (an earn); burn reversals restore portions */
    PGresult *res = store_run(
        conn, "report_flows",
        "SELECT (SELECT coalesce(sum(points), 0) FROM lots WHERE issuer = $1 AND id BETWEEN $2 AND $3), "
        "(SELECT coalesce(sum(r.points), 0) FROM transactions r JOIN lots l ON l.id = r.original_seq "
        "  WHERE r.type = 'reversal' AND l.issuer = $1 AND r.seq BETWEEN $2 AND $3), "
        "(SELECT coalesce(sum(points), 0) FROM burn_portions WHERE issuer = $1 AND burn_seq BETWEEN $2 AND $3), "
        "(SELECT coalesce(sum(points), 0) FROM reversal_portions WHERE issuer = $1 AND reversal_seq BETWEEN $2 AND $3), "
        "(SELECT coalesce(sum(e.points), 0) FROM expired_lots e JOIN lots l ON l.id = e.lot_id "
        "  WHERE l.issuer = $1 AND e.seq BETWEEN $2 AND $3)",
        3, params, &result);
    if (res == NULL) return result;
    flows->issued = store_get_i64(res, 0, 0);
    flows->earn_reversed = store_get_i64(res, 0, 1);
    flows->redeemed = store_get_i64(res, 0, 2);
    flows->burn_reversed = store_get_i64(res, 0, 3);
    flows->expired = store_get_i64(res, 0, 4);
    PQclear(res);
    res = store_run(conn, "report_redeemed_by",
                    "SELECT redeemer, sum(points) FROM burn_portions WHERE issuer = $1 AND burn_seq BETWEEN $2 AND $3 "
                    "GROUP BY redeemer ORDER BY redeemer",
                    3, params, &result);
    if (res == NULL) return result;
    flows->redeemed_by = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(flows->redeemed_by, json_pack("{s:s,s:I}", "redeemer", PQgetvalue(res, i, 0), "points",
                                                            (json_int_t)store_get_i64(res, i, 1)));
    PQclear(res);
    return RESULT_OK;
}

result_t store_report_ledger_balance(store_conn_t *conn, const char *issuer, int64_t to_seq, int64_t *outstanding)
{
    char to_text[LIMIT_INT64_TEXT_BYTES];
    result_t result;
    /* partner codes hold no ':', '%' or '_': the patterns match the issuer's accounts only */
    PGresult *res = store_run(conn, "report_ledger_balance",
                              "SELECT coalesce(-sum(amount), 0) FROM postings WHERE seq <= $2 AND "
                              "(account = 'issued:' || $1 OR account = 'expired:' || $1 OR "
                              " account LIKE 'redeemed:%:' || $1 OR account LIKE 'settled:%:' || $1)",
                              2, P(issuer, store_i64(to_text, to_seq)), &result);
    if (res == NULL) return result;
    *outstanding = store_get_i64(res, 0, 0);
    PQclear(res);
    return RESULT_OK;
}

result_t store_report_allocation(store_conn_t *conn, const char *issuer, int64_t to_seq, settlement_flow_t **flows,
                                 size_t *count)
{
    char to_text[LIMIT_INT64_TEXT_BYTES];
    result_t result;
    /* the value in force at an earn: the latest point_value entry before it (as burns record it) */
    PGresult *res = store_run(
        conn, "report_allocation",
        "WITH issued AS (SELECT l.id, l.points - coalesce((SELECT sum(r.points) FROM transactions r "
        "    WHERE r.type = 'reversal' AND r.original_seq = l.id AND r.seq <= $2), 0) AS points, "
        "    (SELECT max(seq) FROM point_values WHERE seq < l.id) AS value_seq "
        "  FROM lots l WHERE l.issuer = $1 AND l.id <= $2) "
        "SELECT coalesce(pv.value_num, 0), coalesce(pv.value_den, 1), sum(i.points) "
        "FROM issued i LEFT JOIN point_values pv ON pv.seq = i.value_seq "
        "GROUP BY i.value_seq, pv.value_num, pv.value_den ORDER BY i.value_seq NULLS FIRST",
        2, P(issuer, store_i64(to_text, to_seq)), &result);
    if (res == NULL) return result;
    *count = (size_t)PQntuples(res);
    *flows = xcalloc(*count ? *count : 1, sizeof **flows);
    for (size_t i = 0; i < *count; i++) {
        settlement_flow_t *flow = &(*flows)[i];
        snprintf(flow->issuer, sizeof flow->issuer, "%s", issuer);
        flow->value_num = store_get_i64(res, (int)i, 0);
        flow->value_den = store_get_i64(res, (int)i, 1);
        flow->points = store_get_i64(res, (int)i, 2);
    }
    PQclear(res);
    return RESULT_OK;
}

result_t store_report_closed_lots(store_conn_t *conn, const char *issuer, int64_t to_seq, int64_t *redeemed,
                                  int64_t *expired)
{
    char to_text[LIMIT_INT64_TEXT_BYTES];
    result_t result;
    PGresult *res = store_run(
        conn, "report_closed_lots",
        "WITH l AS (SELECT id, points FROM lots WHERE issuer = $1 AND id <= $2), "
        "b AS (SELECT lot_id, sum(points) AS p FROM burn_portions WHERE issuer = $1 AND burn_seq <= $2 GROUP BY lot_id), "
        "rv AS (SELECT bp.lot_id, sum(rp.points) AS p FROM reversal_portions rp JOIN burn_portions bp "
        "  ON bp.burn_seq = rp.burn_seq AND bp.idx = rp.idx WHERE rp.issuer = $1 AND rp.reversal_seq <= $2 "
        "  GROUP BY bp.lot_id), "
        "e AS (SELECT lot_id, sum(points) AS p FROM expired_lots WHERE seq <= $2 "
        "  AND lot_id IN (SELECT id FROM l) GROUP BY lot_id), "
        "er AS (SELECT original_seq AS lot_id, sum(points) AS p FROM transactions WHERE type = 'reversal' "
        "  AND seq <= $2 AND original_seq IN (SELECT id FROM l) GROUP BY original_seq), "
        "lot AS (SELECT l.points - coalesce(er.p, 0) - coalesce(b.p, 0) + coalesce(rv.p, 0) - coalesce(e.p, 0) AS left_, "
        "  coalesce(b.p, 0) - coalesce(rv.p, 0) AS redeemed, coalesce(e.p, 0) AS expired FROM l "
        "  LEFT JOIN b ON b.lot_id = l.id LEFT JOIN rv ON rv.lot_id = l.id LEFT JOIN e ON e.lot_id = l.id "
        "  LEFT JOIN er ON er.lot_id = l.id) "
        "SELECT coalesce(sum(redeemed), 0), coalesce(sum(expired), 0) FROM lot WHERE left_ = 0",
        2, P(issuer, store_i64(to_text, to_seq)), &result);
    if (res == NULL) return result;
    *redeemed = store_get_i64(res, 0, 0);
    *expired = store_get_i64(res, 0, 1);
    PQclear(res);
    return RESULT_OK;
}

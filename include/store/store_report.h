/* store_report.h — the SQL of issue 19's reads (store_report.c): the lists of settlements and
 * expiry runs, the expiry forecast, point values and redemption rates in force, and the liability
 * report's totals, all from journal-derived tables up to a seq. */
#ifndef LEDGER_STORE_REPORT_H
#define LEDGER_STORE_REPORT_H

#include <jansson.h>
#include <stdint.h>

#include "result.h"
#include "settlement.h"
#include "store.h"

/* Stored signed reports, newest first, id < before_id, at most limit: an owned array of the
 * parsed report objects ({"id":"stl-N",…} / {"id":"exp-N",…}); *last_id the last row's id.
 * RESULT_INTERNAL when a stored report no longer parses (altered outside the service). */
result_t store_settlement_list(store_conn_t *conn, int64_t before_id, int limit, json_t **reports, int64_t *last_id);
/* Finished runs only. */
result_t store_expiry_run_list(store_conn_t *conn, int64_t before_id, int limit, json_t **reports, int64_t *last_id);

/* Remaining points of unexpired lots (expires_s > now_s) by week (now + 7d·i, now + 7d·(i+1)],
 * i < weeks, per issuer: an owned array of weeks {"start","end","issuers":[{"issuer","points"}]}. */
result_t store_expiry_forecast(store_conn_t *conn, int64_t now_s, int64_t weeks, json_t **forecast);

/* The point value in force at seq (the latest point_value entry at or before it): 0/1 and
 * *value_seq 0 when none. */
result_t store_point_value_at(store_conn_t *conn, int64_t seq, int64_t *value_num, int64_t *value_den,
                              int64_t *value_seq);

/* Redemption rates (0010_redemption_rates.sql). */
result_t store_redemption_rate_insert(store_conn_t *conn, int64_t seq, const char *issuer, int64_t rate_bp,
                                      int64_t effective_s);
/* The latest rate of issuer at or before seq: RESULT_NOT_FOUND when none. */
result_t store_redemption_rate_at(store_conn_t *conn, const char *issuer, int64_t seq, int64_t *rate_bp,
                                  int64_t *rate_seq);
/* Versions, newest first, seq < before_seq, at most limit; issuer NULL: every issuer. Owned array
 * of {"issuer","rate_bp","seq","effective_at"}; *last_seq the last row's seq. */
result_t store_redemption_rate_list(store_conn_t *conn, const char *issuer, int64_t before_seq, int limit,
                                    json_t **rates, int64_t *last_seq);

/* An issuer's points movements in the entries from_seq..to_seq. */
typedef struct {
    int64_t issued;        /* earns (lots created) */
    int64_t earn_reversed; /* taken back by earn reversals */
    int64_t redeemed;      /* burns, all redeemers */
    int64_t burn_reversed; /* restored by burn reversals */
    int64_t expired;
    json_t *redeemed_by; /* owned: [{"redeemer","points"}] of the burns, by redeemer code */
} store_report_flows_t;
result_t store_report_flows(store_conn_t *conn, const char *issuer, int64_t from_seq, int64_t to_seq,
                            store_report_flows_t *flows);
/* The issuer's outstanding points at seq from its accounts' postings alone:
 * -(issued:I + Σ redeemed:*:I + Σ settled:*:I + expired:I) over postings with seq <= to_seq
 * (spec 3's invariant) — the check of the report's closing line. */
result_t store_report_ledger_balance(store_conn_t *conn, const char *issuer, int64_t to_seq, int64_t *outstanding);
/* Net points issued up to seq (earns - earn reversals) by the point value in force at each earn,
 * for settlement_value: an owned array (issuer in .issuer, "" redeemer). */
result_t store_report_allocation(store_conn_t *conn, const char *issuer, int64_t to_seq, settlement_flow_t **flows,
                                 size_t *count);
/* Over the issuer's lots closed at seq (nothing left: every point redeemed, expired or reversed),
 * net points redeemed and points expired (the history rate). */
result_t store_report_closed_lots(store_conn_t *conn, const char *issuer, int64_t to_seq, int64_t *redeemed,
                                  int64_t *expired);

#endif

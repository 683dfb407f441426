/* routes.h — the route table as an X-macro: router.c takes method, pattern and kind; http.c
 * takes the handler of the same row. One list, so the two can never drift apart. */
#ifndef LEDGER_ROUTES_H
#define LEDGER_ROUTES_H

/* X(method, pattern, kind, handler); ':' in a pattern matches one path segment. */
#define LEDGER_ROUTES(X)                                                                                               \
    X("POST", "/v1/earn", ROUTE_PARTNER, service_earn)                                                                 \
    X("POST", "/v1/burn", ROUTE_PARTNER, service_burn)                                                                 \
    X("POST", "/v1/holds", ROUTE_PARTNER, service_hold)                                                                \
    X("POST", "/v1/holds/:/capture", ROUTE_PARTNER, service_hold_capture)                                              \
    X("POST", "/v1/holds/:/void", ROUTE_PARTNER, service_hold_void)                                                    \
    X("POST", "/v1/transactions/:/reverse", ROUTE_PARTNER, service_reverse)                                            \
    X("GET", "/v1/transactions/:", ROUTE_PARTNER, service_transaction_get)                                             \
    X("GET", "/v1/members/:", ROUTE_PARTNER, service_member_get)                                                       \
    X("GET", "/v1/members/:/transactions", ROUTE_PARTNER, service_member_history)                                      \
    X("POST", "/v1/admin/partners", ROUTE_ADMIN, service_partner_create)                                               \
    X("POST", "/v1/admin/partners/:/keys", ROUTE_ADMIN, service_partner_key_create)                                    \
    X("POST", "/v1/admin/staff-keys", ROUTE_ADMIN, service_staff_key_create)                                           \
    X("POST", "/v1/admin/keys/:/revoke", ROUTE_ADMIN, service_key_revoke)                                              \
    X("POST", "/v1/admin/point-values", ROUTE_ADMIN, service_point_value_create)                                       \
    X("GET", "/v1/admin/trial-balance", ROUTE_ADMIN, service_trial_balance)                                            \
    X("GET", "/v1/admin/liability", ROUTE_ADMIN, service_liability)                                                    \
    X("GET", "/v1/admin/journal/:", ROUTE_ADMIN, service_journal_entry)                                                \
    X("POST", "/v1/admin/expiry-runs", ROUTE_ADMIN, service_expiry_run)                                                \
    X("GET", "/v1/admin/expiry-runs/:", ROUTE_ADMIN, service_expiry_run_get)                                           \
    X("GET", "/v1/admin/expiring", ROUTE_ADMIN, service_expiring)                                                      \
    X("POST", "/v1/admin/settlements", ROUTE_ADMIN, service_settlement_run)                                            \
    X("GET", "/v1/admin/settlements/:", ROUTE_ADMIN, service_settlement_get)                                           \
    X("GET", "/v1/settlements/:/statement", ROUTE_PARTNER, service_settlement_statement)                               \
    X("GET", "/v1/admin/checkpoint", ROUTE_ADMIN, service_checkpoint)                                                  \
    X("GET", "/v1/admin/export", ROUTE_ADMIN, service_export)                                                          \
    X("GET", "/v1/journal/consistency", ROUTE_ANY, service_consistency_proof)                                          \
    X("GET", "/v1/journal/:/proof", ROUTE_ANY, service_inclusion_proof)                                                \
    X("GET", "/v1/whoami", ROUTE_ANY, service_whoami)                                                                  \
    X("GET", "/v1/admin/settlements", ROUTE_ADMIN, service_settlement_list)                                            \
    X("GET", "/v1/settlements", ROUTE_PARTNER, service_settlement_list_own)                                            \
    X("GET", "/v1/admin/expiry-runs", ROUTE_ADMIN, service_expiry_run_list)                                            \
    X("GET", "/v1/admin/expiry-forecast", ROUTE_ADMIN, service_expiry_forecast)                                        \
    X("GET", "/v1/liability", ROUTE_PARTNER, service_liability_own)                                                    \
    X("GET", "/v1/admin/liability-report", ROUTE_ADMIN, service_liability_report)                                      \
    X("GET", "/v1/liability-report", ROUTE_PARTNER, service_liability_report_own)                                      \
    X("POST", "/v1/admin/redemption-rates", ROUTE_ADMIN, service_redemption_rate_create)                               \
    X("GET", "/v1/admin/redemption-rates", ROUTE_ADMIN, service_redemption_rate_list)                                \
    X("GET", "/v1/events", ROUTE_PARTNER, service_events)

#endif

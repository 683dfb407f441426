/* http_routes.h — the route table (http.c only). */
#ifndef LEDGER_HTTP_ROUTES_H
#define LEDGER_HTTP_ROUTES_H

#include "service.h"

/* PARTNER: partner keys; ADMIN: operators (auditors GET only); ANY: every valid key. */
typedef enum { ROUTE_PARTNER, ROUTE_ADMIN, ROUTE_ANY } route_kind_t;

typedef struct {
    const char *method;
    const char *pattern; /* "/v1/holds/:/capture": ':' matches one path segment */
    route_kind_t kind;
    service_handler_t handler;
} route_t;

static const route_t http_routes[] = {
    {"POST", "/v1/earn", ROUTE_PARTNER, service_earn},
    {"POST", "/v1/burn", ROUTE_PARTNER, service_burn},
    {"POST", "/v1/holds", ROUTE_PARTNER, service_hold},
    {"POST", "/v1/holds/:/capture", ROUTE_PARTNER, service_hold_capture},
    {"POST", "/v1/holds/:/void", ROUTE_PARTNER, service_hold_void},
    {"POST", "/v1/transactions/:/reverse", ROUTE_PARTNER, service_reverse},
    {"GET", "/v1/transactions/:", ROUTE_PARTNER, service_transaction_get},
    {"GET", "/v1/members/:", ROUTE_PARTNER, service_member_get},
    {"GET", "/v1/members/:/transactions", ROUTE_PARTNER, service_member_history},
    {"POST", "/v1/admin/partners", ROUTE_ADMIN, service_partner_create},
    {"POST", "/v1/admin/partners/:/keys", ROUTE_ADMIN, service_partner_key_create},
    {"POST", "/v1/admin/staff-keys", ROUTE_ADMIN, service_staff_key_create},
    {"POST", "/v1/admin/keys/:/revoke", ROUTE_ADMIN, service_key_revoke},
    {"POST", "/v1/admin/point-values", ROUTE_ADMIN, service_point_value_create},
    {"GET", "/v1/admin/trial-balance", ROUTE_ADMIN, service_trial_balance},
    {"GET", "/v1/admin/liability", ROUTE_ADMIN, service_liability},
    {"GET", "/v1/admin/journal/:", ROUTE_ADMIN, service_journal_entry},
    {"POST", "/v1/admin/expiry-runs", ROUTE_ADMIN, service_expiry_run},
    {"GET", "/v1/admin/expiry-runs/:", ROUTE_ADMIN, service_expiry_run_get},
    {"GET", "/v1/admin/expiring", ROUTE_ADMIN, service_expiring},
    {"POST", "/v1/admin/settlements", ROUTE_ADMIN, service_settlement_run},
    {"GET", "/v1/admin/settlements/:", ROUTE_ADMIN, service_settlement_get},
    {"GET", "/v1/settlements/:/statement", ROUTE_PARTNER, service_settlement_statement},
    {"GET", "/v1/admin/checkpoint", ROUTE_ADMIN, service_checkpoint},
    {"GET", "/v1/admin/export", ROUTE_ADMIN, service_export},
    {"GET", "/v1/journal/consistency", ROUTE_ANY, service_consistency_proof},
    {"GET", "/v1/journal/:/proof", ROUTE_ANY, service_inclusion_proof},
};

#endif

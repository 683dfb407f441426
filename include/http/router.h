/* router.h — maps (method, raw path) to a route of the table in routes.h. Pure. */
#ifndef LEDGER_ROUTER_H
#define LEDGER_ROUTER_H

#include <stddef.h>

#include "limits.h"

/* PARTNER: partner keys; ADMIN: operators (auditors GET only); ANY: every valid key. */
typedef enum { ROUTE_PARTNER, ROUTE_ADMIN, ROUTE_ANY } route_kind_t;

typedef struct {
    const char *method;
    const char *pattern;
    route_kind_t kind;
} route_t;

#define ROUTER_PARAM_MAX LIMIT_ROUTER_PARAM_TEXT_BYTES

extern const route_t router_routes[];
extern const size_t router_route_count;

/* Index of the route for method and path (its ':' segment copied to param), or -1; then
 * *path_known tells a known path with another method (405) from an unknown one (404). */
int router_find(const char *method, const char *path, char param[ROUTER_PARAM_MAX], int *path_known);

#endif

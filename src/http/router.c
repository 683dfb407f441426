/* router.c — see router.h. Patterns are matched segment by segment on the raw path. */
#include "router.h"

#include <string.h>

#include "routes.h"

#define ROUTER_ROW(method, pattern, kind, handler) {method, pattern, kind},
const route_t router_routes[] = {LEDGER_ROUTES(ROUTER_ROW)};
const size_t router_route_count = sizeof router_routes / sizeof router_routes[0];

static int route_match(const char *pattern, const char *path, char param[ROUTER_PARAM_MAX])
{
    while (*pattern && *path) {
        if (*pattern == ':') {
            size_t len = strcspn(path, "/");
            if (len == 0 || len >= ROUTER_PARAM_MAX) return 0;
            memcpy(param, path, len);
            param[len] = '\0';
            path += len;
            pattern++;
        } else if (*pattern++ != *path++) {
            return 0;
        }
    }
    return *pattern == '\0' && *path == '\0';
}

int router_find(const char *method, const char *path, char param[ROUTER_PARAM_MAX], int *path_known)
{
    *path_known = 0;
    for (size_t i = 0; i < router_route_count; i++) {
        if (!route_match(router_routes[i].pattern, path, param)) continue;
        *path_known = 1;
        if (strcmp(router_routes[i].method, method) == 0) return (int)i;
    }
    return -1;
}

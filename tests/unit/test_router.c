/* Unit: the route table (routes.h) through router_find: every row reached by its method and a
 * concrete path with its parameter extracted, 405 against 404, and hostile paths. The cases
 * list must cover every row: a route added without a case here fails test_every_route_found. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "router.h"

typedef struct {
    const char *method, *pattern, *path, *param; /* param "" when the pattern has no ':' */
} route_case_t;

static const route_case_t cases[] = {
    {"POST", "/v1/earn", "/v1/earn", ""},
    {"POST", "/v1/burn", "/v1/burn", ""},
    {"POST", "/v1/holds", "/v1/holds", ""},
    {"POST", "/v1/holds/:/capture", "/v1/holds/h-1/capture", "h-1"},
    {"POST", "/v1/holds/:/void", "/v1/holds/h-2/void", "h-2"},
    {"POST", "/v1/transactions/:/reverse", "/v1/transactions/77/reverse", "77"},
    {"GET", "/v1/transactions/:", "/v1/transactions/78", "78"},
    {"GET", "/v1/members/:", "/v1/members/m%2Fx", "m%2Fx"},
    {"GET", "/v1/members/:/transactions", "/v1/members/m-1/transactions", "m-1"},
    {"POST", "/v1/admin/partners", "/v1/admin/partners", ""},
    {"POST", "/v1/admin/partners/:/keys", "/v1/admin/partners/coffee/keys", "coffee"},
    {"POST", "/v1/admin/staff-keys", "/v1/admin/staff-keys", ""},
    {"POST", "/v1/admin/keys/:/revoke", "/v1/admin/keys/k.1/revoke", "k.1"},
    {"POST", "/v1/admin/point-values", "/v1/admin/point-values", ""},
    {"GET", "/v1/admin/trial-balance", "/v1/admin/trial-balance", ""},
    {"GET", "/v1/admin/liability", "/v1/admin/liability", ""},
    {"GET", "/v1/admin/journal/:", "/v1/admin/journal/9", "9"},
    {"POST", "/v1/admin/expiry-runs", "/v1/admin/expiry-runs", ""},
    {"GET", "/v1/admin/expiry-runs/:", "/v1/admin/expiry-runs/3", "3"},
    {"GET", "/v1/admin/expiring", "/v1/admin/expiring", ""},
    {"POST", "/v1/admin/settlements", "/v1/admin/settlements", ""},
    {"GET", "/v1/admin/settlements/:", "/v1/admin/settlements/s-4", "s-4"},
    {"GET", "/v1/settlements/:/statement", "/v1/settlements/s-5/statement", "s-5"},
    {"GET", "/v1/admin/checkpoint", "/v1/admin/checkpoint", ""},
    {"GET", "/v1/admin/export", "/v1/admin/export", ""},
    {"GET", "/v1/journal/consistency", "/v1/journal/consistency", ""},
    {"GET", "/v1/journal/:/proof", "/v1/journal/12/proof", "12"},
    {"GET", "/v1/whoami", "/v1/whoami", ""},
    {"GET", "/v1/admin/settlements", "/v1/admin/settlements", ""},
    {"GET", "/v1/settlements", "/v1/settlements", ""},
    {"GET", "/v1/admin/expiry-runs", "/v1/admin/expiry-runs", ""},
    {"GET", "/v1/admin/expiry-forecast", "/v1/admin/expiry-forecast", ""},
    {"GET", "/v1/liability", "/v1/liability", ""},
    {"GET", "/v1/admin/liability-report", "/v1/admin/liability-report", ""},
    {"GET", "/v1/liability-report", "/v1/liability-report", ""},
    {"POST", "/v1/admin/redemption-rates", "/v1/admin/redemption-rates", ""},
    {"GET", "/v1/admin/redemption-rates", "/v1/admin/redemption-rates", ""},
    {"GET", "/v1/events", "/v1/events", ""},
};
#define CASE_COUNT (sizeof cases / sizeof cases[0])

/* router_find's index, or -1; *known and param as it left them. */
static int find(const char *method, const char *path, char param[ROUTER_PARAM_MAX], int *known)
{
    memset(param, 0, ROUTER_PARAM_MAX);
    *known = -1;
    return router_find(method, path, param, known);
}

static void test_every_route_found(void **state)
{
    (void)state;
    char param[ROUTER_PARAM_MAX];
    int known = 0, covered[64] = {0};
    assert_true(router_route_count <= 64);
    for (size_t c = 0; c < CASE_COUNT; c++) {
        int index = find(cases[c].method, cases[c].path, param, &known);
        if (index < 0) fail_msg("%s %s: not found", cases[c].method, cases[c].path);
        assert_int_equal(known, 1);
        assert_string_equal(router_routes[index].method, cases[c].method);
        assert_string_equal(router_routes[index].pattern, cases[c].pattern);
        if (strchr(cases[c].pattern, ':')) assert_string_equal(param, cases[c].param);
        covered[index]++;
    }
    /* the table itself: every row reached by exactly one case, no row without a case */
    for (size_t i = 0; i < router_route_count; i++)
        if (covered[i] != 1)
            fail_msg("route %s %s has %d test cases in tests/unit/test_router.c (want 1)", router_routes[i].method,
                     router_routes[i].pattern, covered[i]);
    assert_int_equal(router_route_count, CASE_COUNT);
}

/* The other method on every known path: path_known, so the answer is 405, not 404. */
static void test_wrong_method_is_405(void **state)
{
    (void)state;
    char param[ROUTER_PARAM_MAX];
    int known = 0;
    static const char *const methods[] = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "post", ""};
    for (size_t c = 0; c < CASE_COUNT; c++) {
        for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
            int index = find(methods[m], cases[c].path, param, &known), routed = 0;
            for (size_t other = 0; other < CASE_COUNT; other++) /* a path may take GET and POST (issue 19) */
                routed |= strcmp(cases[other].path, cases[c].path) == 0 && strcmp(cases[other].method, methods[m]) == 0;
            if (routed) {
                assert_true(index >= 0);
            } else {
                if (index >= 0) fail_msg("%s %s: found %s", methods[m], cases[c].path, router_routes[index].pattern);
                assert_int_equal(known, 1);
            }
        }
    }
}

static void expect_unknown(const char *method, const char *path)
{
    char param[ROUTER_PARAM_MAX];
    int known = 0;
    int index = find(method, path, param, &known);
    if (index >= 0 || known != 0) fail_msg("%s [%s]: index %d, path_known %d (want 404)", method, path, index, known);
}

static void test_unknown_paths_are_404(void **state)
{
    (void)state;
    expect_unknown("GET", "/");
    expect_unknown("GET", "");
    expect_unknown("POST", "/v1");
    expect_unknown("POST", "/v1/");
    expect_unknown("POST", "/v2/earn");
    expect_unknown("POST", "/V1/EARN"); /* case matters */
    expect_unknown("POST", "v1/earn");  /* no leading slash */
    expect_unknown("POST", "//v1/earn");
    expect_unknown("GET", "/v1/nothing");
    /* trailing slash is another path */
    expect_unknown("POST", "/v1/earn/");
    expect_unknown("GET", "/v1/admin/liability/");
    expect_unknown("GET", "/v1/journal/12/proof/");
    /* a prefix of a route, and a route with more after it */
    expect_unknown("POST", "/v1/ear");
    expect_unknown("POST", "/v1/earnings");
    expect_unknown("POST", "/v1/holds/h-1");        /* the prefix of /v1/holds/:/capture */
    expect_unknown("POST", "/v1/holds/h-1/captur"); /* a prefix of its last segment */
    expect_unknown("POST", "/v1/holds/h-1/capture/x");
    expect_unknown("GET", "/v1/journal/12");
    expect_unknown("GET", "/v1/admin/journal");
    expect_unknown("GET", "/v1/admin/journal/");
    expect_unknown("GET", "/v1/members/m-1/transactions/x");
    expect_unknown("GET", "/v1/journal/consistency/x");
    expect_unknown("GET", "/v1/earn?x=1"); /* the query is never part of the path given */
}

static void test_parameter_shapes(void **state)
{
    (void)state;
    char param[ROUTER_PARAM_MAX];
    int known = 0;
    /* an empty parameter matches no route (not a route with an empty id) */
    expect_unknown("GET", "/v1/members/");
    expect_unknown("GET", "/v1/members//transactions");
    expect_unknown("POST", "/v1/holds//capture");
    expect_unknown("GET", "/v1/transactions/");
    /* a '/' ends a parameter: it is never inside one */
    expect_unknown("GET", "/v1/transactions/a/b");
    expect_unknown("POST", "/v1/holds/a/b/capture");
    /* encoded bytes stay raw: the router does not decode */
    assert_true(find("GET", "/v1/members/a%2Fb", param, &known) >= 0);
    assert_string_equal(param, "a%2Fb");
    assert_true(find("GET", "/v1/members/%00", param, &known) >= 0);
    assert_string_equal(param, "%00");
    /* one character, and the longest parameter that fits (ROUTER_PARAM_MAX - 1) */
    assert_true(find("GET", "/v1/transactions/x", param, &known) >= 0);
    assert_string_equal(param, "x");
    char path[64 + 2 * ROUTER_PARAM_MAX], longest[ROUTER_PARAM_MAX];
    memset(longest, 'p', ROUTER_PARAM_MAX - 1);
    longest[ROUTER_PARAM_MAX - 1] = '\0';
    snprintf(path, sizeof path, "/v1/holds/%s/capture", longest);
    int index = find("POST", path, param, &known);
    assert_true(index >= 0);
    assert_string_equal(router_routes[index].pattern, "/v1/holds/:/capture");
    assert_string_equal(param, longest);
    /* one more does not fit: no route, 404 (never a truncated id) */
    snprintf(path, sizeof path, "/v1/holds/%sp/capture", longest);
    expect_unknown("POST", path);
    snprintf(path, sizeof path, "/v1/members/%sp", longest);
    expect_unknown("GET", path);
    char huge[8192] = "/v1/members/";
    memset(huge + strlen(huge), 'h', sizeof huge - strlen(huge) - 1);
    huge[sizeof huge - 1] = '\0';
    expect_unknown("GET", huge);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_route_found),
        cmocka_unit_test(test_wrong_method_is_405),
        cmocka_unit_test(test_unknown_paths_are_404),
        cmocka_unit_test(test_parameter_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* End-to-end: ledgerd serves the console (issue 19) from a folder read once at start-up — the
 * page and its modules unsigned with the right content types and a strict Content-Security-Policy,
 * nosniff, no cookie; traversal ('..', encoded, a slash, a hidden name) refused; an unknown name a
 * 404 problem; files outside the folder, of unserved kinds or changed after start never served;
 * other methods 405; a LEDGER_CONSOLE_DIR that cannot be served stops start-up, an empty one turns
 * the console off. Raw requests. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "limits.h"
#include "support.h"

static test_env_t env;
static char root[64] = "/tmp/console-e2e-XXXXXX"; /* root/console is the console folder */
static char folder[128];

#define PAGE_TEXT "<!doctype html><title>console</title><script type=\"module\" src=\"app.js\"></script>\n"
#define APP_TEXT  "export const ok = 1;\n"

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs(text, file);
    fclose(file);
}

static int setup(void **state)
{
    (void)state;
    char path[256];
    assert_non_null(mkdtemp(root));
    snprintf(folder, sizeof folder, "%s/console", root);
    assert_int_equal(mkdir(folder, 0755), 0);
    write_file(folder, "index.html", PAGE_TEXT);
    write_file(folder, "app.js", APP_TEXT);
    write_file(folder, "style.css", "body { margin: 0 }\n");
    write_file(folder, "notes.md", "not a kind the console serves\n");
    write_file(folder, ".hidden.js", "export const hidden = 1;\n");
    snprintf(path, sizeof path, "%s/sub", folder);
    assert_int_equal(mkdir(path, 0755), 0);
    write_file(path, "inner.js", "export const inner = 1;\n");
    write_file(root, "secret.js", "export const secret = 'outside the console folder';\n");
    setenv("LEDGER_CONSOLE_DIR", folder, 1);
    test_env_start(&env, "e2e_console");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_env_stop(&env);
    char command[256];
    snprintf(command, sizeof command, "rm -rf '%s'", root);
    assert_int_equal(system(command), 0);
    return 0;
}

/* Sends request (raw bytes, "Connection: close" in it) and returns everything the server sent
 * until it closed, within 5 s. *status: the status line's code. */
static char *exchange(const char *request, int *status)
{
    struct sockaddr_in remote = {0};
    remote.sin_family = AF_INET;
    remote.sin_port = htons(env.port);
    inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&remote, sizeof remote), 0);
    assert_int_equal(send(fd, request, strlen(request), MSG_NOSIGNAL), (ssize_t)strlen(request));
    buf_t raw = BUF_INIT;
    char chunk[4096];
    double end = test_now_s() + 5;
    for (;;) {
        struct pollfd wait = {fd, POLLIN, 0};
        assert_true(test_now_s() < end);
        if (poll(&wait, 1, 100) <= 0) continue;
        ssize_t n = recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) break;
        buf_append(&raw, chunk, (size_t)n);
    }
    close(fd);
    buf_append(&raw, "", 1);
    *status = 0;
    sscanf(raw.data, "HTTP/1.1 %d", status);
    return raw.data;
}

static char *get(const char *target, int *status)
{
    char request[1024];
    snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", target);
    return exchange(request, status);
}

/* The value of header name in a raw answer ("" when absent), case-insensitive name. */
static const char *header_value(const char *raw, const char *name, char *out, size_t out_max)
{
    const char *end = strstr(raw, "\r\n\r\n");
    out[0] = '\0';
    for (const char *line = strstr(raw, "\r\n"); line != NULL && line < end; line = strstr(line + 2, "\r\n")) {
        const char *start = line + 2;
        if (strncasecmp(start, name, strlen(name)) == 0 && start[strlen(name)] == ':') {
            const char *value = start + strlen(name) + 1;
            while (*value == ' ')
                value++;
            size_t len = strcspn(value, "\r");
            snprintf(out, out_max, "%.*s", (int)(len < out_max ? len : out_max - 1), value);
            break;
        }
    }
    return out;
}

static const char *body_of(const char *raw)
{
    const char *end = strstr(raw, "\r\n\r\n");
    return end != NULL ? end + 4 : "";
}

/* Every console answer, file or problem: the strict policy, nosniff, no cookie. */
static void expect_console_headers(const char *raw)
{
    char value[512];
    header_value(raw, "Content-Security-Policy", value, sizeof value);
    assert_non_null(strstr(value, "default-src 'self'"));
    assert_non_null(strstr(value, "frame-ancestors 'none'"));
    assert_null(strstr(value, "unsafe-inline"));
    assert_null(strstr(value, "unsafe-eval"));
    assert_string_equal(header_value(raw, "X-Content-Type-Options", value, sizeof value), "nosniff");
    assert_string_equal(header_value(raw, "Set-Cookie", value, sizeof value), "");
}

static void test_page_and_modules_served(void **state)
{
    (void)state;
    int status = 0;
    char value[256];
    char *raw = get("/console/", &status);
    assert_int_equal(status, 200);
    assert_string_equal(header_value(raw, "Content-Type", value, sizeof value), "text/html; charset=utf-8");
    assert_string_equal(body_of(raw), PAGE_TEXT);
    expect_console_headers(raw);
    free(raw);
    raw = get("/console/index.html", &status);
    assert_int_equal(status, 200);
    assert_string_equal(body_of(raw), PAGE_TEXT);
    free(raw);
    raw = get("/console/app.js?v=1", &status);
    assert_int_equal(status, 200);
    assert_string_equal(header_value(raw, "Content-Type", value, sizeof value), "text/javascript; charset=utf-8");
    assert_string_equal(body_of(raw), APP_TEXT);
    expect_console_headers(raw);
    free(raw);
    raw = get("/console/style.css", &status);
    assert_int_equal(status, 200);
    assert_string_equal(header_value(raw, "Content-Type", value, sizeof value), "text/css; charset=utf-8");
    free(raw);
    raw = get("/console", &status); /* relative module URLs need the trailing slash */
    assert_int_equal(status, 308);
    assert_string_equal(header_value(raw, "Location", value, sizeof value), "/console/");
    free(raw);
}

static void test_traversal_refused(void **state)
{
    (void)state;
    static const char *const targets[] = {
        "/console/../secret.js",      "/console/..%2fsecret.js",   "/console/%2e%2e/secret.js",
        "/console/%2E%2E%2Fsecret.js", "/console/..",              "/console/.hidden.js",
        "/console/sub/inner.js",       "/console/sub%2finner.js",  "/console//etc/passwd",
        "/console/..\\secret.js",      "/console/%00index.html",   "/console/app.js%00.html",
        "/console/a..js",
    };
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        int status = 0;
        char *raw = get(targets[i], &status);
        if (status != 400 || strstr(raw, "\"code\":\"invalid_request_target\"") == NULL) {
            fprintf(stderr, "%s answered:\n%s\n", targets[i], raw);
            fail();
        }
        assert_null(strstr(raw, "outside the console folder"));
        expect_console_headers(raw);
        free(raw);
    }
}

static void test_unknown_file_is_a_404_problem(void **state)
{
    (void)state;
    static const char *const targets[] = {"/console/missing.js", "/console/notes.md", "/console/secret.js",
                                          "/console/sub", "/consoles/index.html"};
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        int status = 0;
        char value[256];
        char *raw = get(targets[i], &status);
        if (status != 404 || strstr(raw, "\"code\":\"not_found\"") == NULL) {
            fprintf(stderr, "%s answered:\n%s\n", targets[i], raw);
            fail();
        }
        assert_string_equal(header_value(raw, "Content-Type", value, sizeof value), "application/problem+json");
        assert_null(strstr(raw, "not a kind the console serves"));
        if (strncmp(targets[i], "/console/", 9) == 0) expect_console_headers(raw);
        free(raw);
    }
}

static void test_other_methods_refused(void **state)
{
    (void)state;
    int status = 0;
    char value[64];
    char *raw = exchange("HEAD /console/app.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &status);
    assert_int_equal(status, 200);
    assert_string_equal(body_of(raw), "");
    free(raw);
    raw = exchange("POST /console/index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
                   &status);
    assert_int_equal(status, 405);
    expect_console_headers(raw);
    free(raw);
    raw = exchange("DELETE /console/index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &status);
    assert_int_equal(status, 405);
    assert_string_equal(header_value(raw, "Allow", value, sizeof value), "GET, HEAD");
    free(raw);
}

/* The files are read at start-up: a file changed or added afterwards is not what is served. */
static void test_files_held_in_memory(void **state)
{
    (void)state;
    int status = 0;
    write_file(folder, "app.js", "export const changed = 1;\n");
    write_file(folder, "late.js", "export const late = 1;\n");
    char *raw = get("/console/app.js", &status);
    assert_int_equal(status, 200);
    assert_string_equal(body_of(raw), APP_TEXT);
    free(raw);
    raw = get("/console/late.js", &status);
    assert_int_equal(status, 404);
    free(raw);
    write_file(folder, "app.js", APP_TEXT);
    char path[256];
    snprintf(path, sizeof path, "%s/late.js", folder);
    unlink(path);
}

/* The API keeps its own answers (signed, no console policy), with nosniff added. */
static void test_api_unchanged(void **state)
{
    (void)state;
    int status = 0;
    char value[256];
    char *raw = get("/v1/admin/checkpoint", &status);
    assert_int_equal(status, 401);
    assert_string_equal(header_value(raw, "Content-Security-Policy", value, sizeof value), "");
    assert_string_equal(header_value(raw, "X-Content-Type-Options", value, sizeof value), "nosniff");
    free(raw);
    test_reply_t reply = test_call(&env, &env.operator_key, "GET", "/v1/admin/trial-balance", NULL, NULL);
    assert_int_equal(reply.status, 200);
    test_reply_free(&reply);
}

/* A second ledgerd on the same database with a folder it cannot serve exits instead of listening. */
static void expect_refused_start(const char *dir)
{
    test_env_t other = env;
    other.pid = 0;
    setenv("LEDGER_CONSOLE_DIR", dir, 1);
    assert_int_equal(test_ledgerd_spawn(&other), -1);
    setenv("LEDGER_CONSOLE_DIR", folder, 1);
}

static void test_bad_console_folder_stops_start(void **state)
{
    (void)state;
    char dir[256], big_dir[256], many_dir[256], name[64];
    snprintf(dir, sizeof dir, "%s/missing", root);
    expect_refused_start(dir);
    /* no index.html */
    snprintf(dir, sizeof dir, "%s/empty", root);
    assert_int_equal(mkdir(dir, 0755), 0);
    write_file(dir, "app.js", APP_TEXT);
    expect_refused_start(dir);
    /* one file past LIMIT_CONSOLE_FILE_BYTES_MAX */
    snprintf(big_dir, sizeof big_dir, "%s/big", root);
    assert_int_equal(mkdir(big_dir, 0755), 0);
    write_file(big_dir, "index.html", PAGE_TEXT);
    char *big = malloc(LIMIT_CONSOLE_FILE_BYTES_MAX + 2);
    memset(big, 'x', LIMIT_CONSOLE_FILE_BYTES_MAX + 1);
    big[LIMIT_CONSOLE_FILE_BYTES_MAX + 1] = '\0';
    write_file(big_dir, "big.js", big);
    free(big);
    expect_refused_start(big_dir);
    /* more than LIMIT_CONSOLE_FILES_MAX files */
    snprintf(many_dir, sizeof many_dir, "%s/many", root);
    assert_int_equal(mkdir(many_dir, 0755), 0);
    write_file(many_dir, "index.html", PAGE_TEXT);
    for (int i = 0; i < LIMIT_CONSOLE_FILES_MAX; i++) {
        snprintf(name, sizeof name, "m%d.js", i);
        write_file(many_dir, name, APP_TEXT);
    }
    expect_refused_start(many_dir);
}

/* LEDGER_CONSOLE_DIR set empty: no console, the ledger still serves its API. */
static void test_console_turned_off(void **state)
{
    (void)state;
    test_env_t other = env;
    other.pid = 0;
    setenv("LEDGER_CONSOLE_DIR", "", 1);
    assert_int_equal(test_ledgerd_spawn(&other), 0);
    setenv("LEDGER_CONSOLE_DIR", folder, 1);
    test_env_t saved = env;
    env.port = other.port; /* get() talks to env's ledgerd */
    int status = 0;
    char *raw = get("/console/", &status);
    assert_int_equal(status, 404);
    assert_non_null(strstr(raw, "this ledgerd serves no console"));
    free(raw);
    env = saved;
    kill(other.pid, SIGTERM);
    waitpid(other.pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_page_and_modules_served),
        cmocka_unit_test(test_traversal_refused),
        cmocka_unit_test(test_unknown_file_is_a_404_problem),
        cmocka_unit_test(test_other_methods_refused),
        cmocka_unit_test(test_files_held_in_memory),
        cmocka_unit_test(test_api_unchanged),
        cmocka_unit_test(test_bad_console_folder_stops_start),
        cmocka_unit_test(test_console_turned_off),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

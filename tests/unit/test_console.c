/* Unit: the console's files (console.c) without a server — the name rule at its boundaries
 * (1 and LIMIT_CONSOLE_NAME_MAX characters, one more, '..', a leading dot, a slash, escapes),
 * content types by extension, and console_load on planted folders: what it serves, skips and
 * refuses (no index.html, a file one byte past LIMIT_CONSOLE_FILE_BYTES_MAX, one file too many). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "console.h"
#include "limits.h"

static void test_name_rule(void **state)
{
    (void)state;
    char name[LIMIT_CONSOLE_NAME_MAX + 2];
    memset(name, 'a', sizeof name);
    name[LIMIT_CONSOLE_NAME_MAX] = '\0';
    assert_true(console_name_valid(name));
    name[LIMIT_CONSOLE_NAME_MAX] = 'a';
    name[LIMIT_CONSOLE_NAME_MAX + 1] = '\0';
    assert_false(console_name_valid(name));
    assert_true(console_name_valid("a"));
    assert_true(console_name_valid("pages-staff.js"));
    assert_true(console_name_valid("a_b.min.css"));
    static const char *const refused[] = {"", ".", "..", "...", ".hidden.js", "a..js", "../x.js", "a/b.js", "a\\b.js",
                                          "%2e%2e", "a%2fb.js", "a b.js", "a\tb", "é.js", "a?b", "a;b"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (console_name_valid(refused[i])) fail_msg("accepted \"%s\"", refused[i]);
}

static void test_content_types(void **state)
{
    (void)state;
    assert_string_equal(console_content_type("index.html"), "text/html; charset=utf-8");
    assert_string_equal(console_content_type("app.js"), "text/javascript; charset=utf-8");
    assert_string_equal(console_content_type("console.css"), "text/css; charset=utf-8");
    assert_string_equal(console_content_type("favicon.svg"), "image/svg+xml");
    assert_null(console_content_type("notes.md"));
    assert_null(console_content_type("key.pem"));
    assert_null(console_content_type("Makefile"));
    assert_null(console_content_type("app.js.bak"));
}

static void plant(const char *dir, const char *name, size_t bytes)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    for (size_t i = 0; i < bytes; i++)
        fputc('x', file);
    fclose(file);
}

static char *folder(void)
{
    char *dir = strdup("/tmp/console-unit-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return dir;
}

static void remove_folder(char *dir)
{
    char command[256];
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    assert_int_equal(system(command), 0);
    free(dir);
}

static void test_load_serves_and_skips(void **state)
{
    (void)state;
    char *dir = folder(), sub[300];
    const console_file_t *file = NULL;
    const char *error = NULL;
    plant(dir, "index.html", 10);
    plant(dir, "app.js", LIMIT_CONSOLE_FILE_BYTES_MAX); /* exactly the bound: served */
    plant(dir, "notes.md", 3);
    plant(dir, ".secret.js", 3);
    snprintf(sub, sizeof sub, "%s/sub.js", dir); /* a folder named like a file: skipped */
    assert_int_equal(mkdir(sub, 0755), 0);
    console_t *console = console_load(dir, &error);
    assert_non_null(console);
    assert_int_equal(console_count(console), 2);
    assert_int_equal(console_lookup(console, "/console/", &file), RESULT_OK);
    assert_string_equal(file->name, "index.html");
    assert_int_equal(file->len, 10);
    assert_int_equal(console_lookup(console, "/console/app.js", &file), RESULT_OK);
    assert_int_equal(file->len, LIMIT_CONSOLE_FILE_BYTES_MAX);
    assert_int_equal(console_lookup(console, "/console/notes.md", &file), RESULT_NOT_FOUND);
    assert_null(file);
    assert_int_equal(console_lookup(console, "/console/sub.js", &file), RESULT_NOT_FOUND);
    assert_int_equal(console_lookup(console, "/console/.secret.js", &file), RESULT_INVALID_REQUEST_TARGET);
    assert_int_equal(console_lookup(console, "/console/../app.js", &file), RESULT_INVALID_REQUEST_TARGET);
    assert_int_equal(console_lookup(NULL, "/console/app.js", &file), RESULT_NOT_FOUND);
    assert_true(console_path_is_console("/console"));
    assert_true(console_path_is_console("/console/x"));
    assert_false(console_path_is_console("/consoles"));
    assert_false(console_path_is_console("/v1/console/"));
    console_free(console);
    console_free(NULL);
    remove_folder(dir);
}

static void test_load_refuses(void **state)
{
    (void)state;
    const char *error = NULL;
    assert_null(console_load("/nonexistent/console", &error));
    assert_non_null(error);
    char *dir = folder();
    plant(dir, "app.js", 3);
    error = NULL;
    assert_null(console_load(dir, &error));
    assert_string_equal(error, "the console folder has no index.html");
    plant(dir, "index.html", 3);
    plant(dir, "big.js", LIMIT_CONSOLE_FILE_BYTES_MAX + 1);
    assert_null(console_load(dir, &error));
    assert_string_equal(error, "a console file is larger than LIMIT_CONSOLE_FILE_BYTES_MAX");
    remove_folder(dir);
    dir = folder();
    plant(dir, "index.html", 3);
    for (int i = 1; i < LIMIT_CONSOLE_FILES_MAX; i++) { /* exactly the bound: loads */
        char name[32];
        snprintf(name, sizeof name, "m%d.js", i);
        plant(dir, name, 1);
    }
    console_t *console = console_load(dir, &error);
    assert_non_null(console);
    assert_int_equal(console_count(console), LIMIT_CONSOLE_FILES_MAX);
    console_free(console);
    plant(dir, "one-more.js", 1);
    assert_null(console_load(dir, &error));
    assert_string_equal(error, "the console folder has more than LIMIT_CONSOLE_FILES_MAX files");
    remove_folder(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_rule),
        cmocka_unit_test(test_content_types),
        cmocka_unit_test(test_load_serves_and_skips),
        cmocka_unit_test(test_load_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

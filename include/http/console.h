/* console.h — the finance and audit console's static files (issue 19): a folder read once at
 * start-up into memory (bounded: limits.h LIMIT_CONSOLE_*), then looked up by name per request.
 * Pure: no MHD here; http.c sends what console_lookup finds. */
#ifndef LEDGER_CONSOLE_H
#define LEDGER_CONSOLE_H

#include <stddef.h>

#include "result.h"

typedef struct console console_t;

/* One loaded file. data is owned by the console and lives as long as it. */
typedef struct {
    const char *name;         /* "index.html" */
    const char *content_type; /* static */
    const char *data;
    size_t len;
} console_file_t;

/* The mount point: "/console/" serves index.html, "/console/NAME" the file NAME. */
#define CONSOLE_PREFIX "/console/"

/* Reads every regular file of dir whose name is a console name with a known extension (others,
 * subfolders and hidden files are skipped). Returns an owned console, or NULL with *error (static
 * text) when dir cannot be read, a file cannot be read, or a bound is passed. */
console_t *console_load(const char *dir, const char **error);
void console_free(console_t *console);
size_t console_count(const console_t *console);

/* Is path (the raw @path, not unescaped) under the console's mount point ("/console" included)? */
int console_path_is_console(const char *path);
/* The file for path (under CONSOLE_PREFIX): RESULT_OK with *file (borrowed), RESULT_INVALID_REQUEST_TARGET when the name
 * is not a console name (traversal "..", a '/', any '%' escape, a leading '.'), RESULT_NOT_FOUND
 * when no such file was loaded (console NULL: none). */
result_t console_lookup(const console_t *console, const char *path, const console_file_t **file);
/* A console name: [A-Za-z0-9_-][A-Za-z0-9._-]*, no "..", 1..LIMIT_CONSOLE_NAME_MAX characters. */
int console_name_valid(const char *name);
/* The content type of name by its extension, NULL when the console does not serve that kind. */
const char *console_content_type(const char *name);

#endif

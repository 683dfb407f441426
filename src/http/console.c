/* console.c — the console's static files (issue 19). Owns reading the folder once at start-up
 * (every bound in limits.h LIMIT_CONSOLE_*), the name rule a request path must meet, and each
 * file's content type. After console_load nothing here touches the file system: a request is a
 * lookup by exact name among the loaded files, so no path from a request ever reaches open(2). */
#include "console.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "assert_always.h"
#include "buf.h"
#include "limits.h"

struct console {
    console_file_t files[LIMIT_CONSOLE_FILES_MAX];
    char names[LIMIT_CONSOLE_FILES_MAX][LIMIT_CONSOLE_NAME_MAX + 1];
    size_t count;
    size_t bytes; /* all files together, <= LIMIT_CONSOLE_BYTES_MAX */
};

static const struct {
    const char *extension;
    const char *content_type;
} console_types[] = {
    {".html", "text/html; charset=utf-8"},  {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},               {".png", "image/png"},
    {".ico", "image/x-icon"},                {".txt", "text/plain; charset=utf-8"},
};

int console_name_valid(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > LIMIT_CONSOLE_NAME_MAX || name[0] == '.') return 0;
    if (strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != len) return 0;
    return strstr(name, "..") == NULL;
}

const char *console_content_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot == NULL) return NULL;
    for (size_t i = 0; i < sizeof console_types / sizeof console_types[0]; i++)
        if (strcmp(dot, console_types[i].extension) == 0) return console_types[i].content_type;
    return NULL;
}

int console_path_is_console(const char *path)
{
    return strcmp(path, "/console") == 0 || strncmp(path, CONSOLE_PREFIX, strlen(CONSOLE_PREFIX)) == 0;
}

/* Reads the regular file at path whole into a new buffer (*data owned, NUL-terminated) within
 * LIMIT_CONSOLE_FILE_BYTES_MAX. Returns NULL or a reason (static text). */
static const char *console_read(const char *path, char **data, size_t *len)
{
    const char *why = NULL;
    char *bytes = NULL;
    struct stat info;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &info) != 0) {
        why = "a console file cannot be opened";
        goto out;
    }
    if (!S_ISREG(info.st_mode)) goto out; /* not a file (a folder named like one): skipped, *data NULL */
    if (info.st_size > LIMIT_CONSOLE_FILE_BYTES_MAX) {
        why = "a console file is larger than LIMIT_CONSOLE_FILE_BYTES_MAX";
        goto out;
    }
    size_t size = (size_t)info.st_size, got = 0;
    bytes = xmalloc(size + 1);
    while (got < size) {
        ssize_t n = read(fd, bytes + got, size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    if (got != size) {
        why = "a console file changed or failed while it was read";
        goto out;
    }
    bytes[size] = '\0';
    *data = bytes, *len = size;
    bytes = NULL;
out:
    free(bytes);
    if (fd >= 0) close(fd);
    return why;
}

/* Adds dir/name to console when it is a file the console serves. Returns NULL or a reason. */
static const char *console_add(console_t *console, const char *dir, const char *name)
{
    char path[LIMIT_CONSOLE_PATH_TEXT_BYTES];
    char *data = NULL;
    size_t len = 0;
    if (!console_name_valid(name) || console_content_type(name) == NULL) return NULL; /* not served */
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) return "LEDGER_CONSOLE_DIR is too long";
    const char *why = console_read(path, &data, &len);
    if (why != NULL || data == NULL) return why;
    if (console->count == LIMIT_CONSOLE_FILES_MAX) why = "the console folder has more than LIMIT_CONSOLE_FILES_MAX files";
    else if (console->bytes + len > LIMIT_CONSOLE_BYTES_MAX) why = "the console files pass LIMIT_CONSOLE_BYTES_MAX";
    if (why != NULL) {
        free(data);
        return why;
    }
    console_file_t *file = &console->files[console->count];
    snprintf(console->names[console->count], sizeof console->names[0], "%s", name);
    file->name = console->names[console->count];
    file->content_type = console_content_type(name);
    file->data = data;
    file->len = len;
    console->count++;
    console->bytes += len;
    return NULL;
}

console_t *console_load(const char *dir, const char **error)
{
    console_t *console = xcalloc(1, sizeof *console);
    const char *why = NULL;
    DIR *folder = opendir(dir);
    if (folder == NULL) {
        why = "the console folder (LEDGER_CONSOLE_DIR) cannot be read";
        goto out;
    }
    for (struct dirent *entry = readdir(folder); entry != NULL && why == NULL; entry = readdir(folder))
        why = console_add(console, dir, entry->d_name);
    if (why == NULL && console_lookup(console, CONSOLE_PREFIX, &(const console_file_t *){NULL}) != RESULT_OK)
        why = "the console folder has no index.html";
out:
    if (folder != NULL) closedir(folder);
    if (why != NULL) {
        console_free(console);
        console = NULL;
        *error = why;
    }
    return console;
}

void console_free(console_t *console)
{
    if (console == NULL) return;
    for (size_t i = 0; i < console->count; i++)
        free((char *)(uintptr_t)console->files[i].data);
    free(console);
}

size_t console_count(const console_t *console)
{
    return console != NULL ? console->count : 0;
}

result_t console_lookup(const console_t *console, const char *path, const console_file_t **file)
{
    ASSERT_ALWAYS(strncmp(path, CONSOLE_PREFIX, strlen(CONSOLE_PREFIX)) == 0);
    *file = NULL;
    const char *name = path + strlen(CONSOLE_PREFIX);
    if (name[0] == '\0') name = "index.html";
    if (!console_name_valid(name)) return RESULT_INVALID_REQUEST_TARGET;
    for (size_t i = 0; console != NULL && i < console->count; i++) {
        if (strcmp(console->files[i].name, name) == 0) {
            *file = &console->files[i];
            return RESULT_OK;
        }
    }
    return RESULT_NOT_FOUND;
}

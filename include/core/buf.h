/* buf.h — growable byte buffer, always NUL-terminated. Allocation failure aborts (the service
 * cannot do anything useful without memory; this keeps every caller's error paths honest). */
#ifndef LEDGER_BUF_H
#define LEDGER_BUF_H

#include <stddef.h>

typedef struct {
    char *data; /* owned; NUL-terminated when non-NULL */
    size_t len;
    size_t cap;
} buf_t;

#define BUF_INIT                                                                                                       \
    {                                                                                                                  \
        NULL, 0, 0                                                                                                     \
    }

void buf_append(buf_t *buf, const void *bytes, size_t len);
void buf_append_str(buf_t *buf, const char *text);
void buf_printf(buf_t *buf, const char *format, ...) __attribute__((format(printf, 2, 3)));
void buf_reset(buf_t *buf);
/* Returns the owned string (never NULL) and leaves buf empty; caller frees. */
char *buf_take(buf_t *buf);
void buf_free(buf_t *buf);

/* Allocation helpers that abort on failure. */
void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *pointer, size_t size);
char *xstrdup(const char *text);
char *xstrndup(const char *text, size_t len);

#endif

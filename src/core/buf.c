/* buf.c — growable byte buffer and aborting allocators. */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assert_always.h"
#include "limits.h"

void *xmalloc(size_t size)
{
    void *pointer = malloc(size ? size : 1);
    ASSERT_ALWAYS(pointer != NULL);
    return pointer;
}

void *xcalloc(size_t count, size_t size)
{
    void *pointer = calloc(count ? count : 1, size ? size : 1);
    ASSERT_ALWAYS(pointer != NULL);
    return pointer;
}

void *xrealloc(void *pointer, size_t size)
{
    void *grown = realloc(pointer, size ? size : 1);
    ASSERT_ALWAYS(grown != NULL);
    return grown;
}

char *xstrdup(const char *text)
{
    return xstrndup(text, strlen(text));
}

char *xstrndup(const char *text, size_t len)
{
    char *copy = xmalloc(len + 1);
    memcpy(copy, text, len);
    copy[len] = '\0';
    return copy;
}

static void buf_reserve(buf_t *buf, size_t extra)
{
    ASSERT_ALWAYS(buf->len + extra + 1 > buf->len);
    if (buf->len + extra + 1 <= buf->cap) return;
    size_t cap = buf->cap ? buf->cap : 64;
    while (cap < buf->len + extra + 1) {
        ASSERT_ALWAYS(cap < LIMIT_BUF_BYTES_MAX);
        cap *= 2;
    }
    buf->data = xrealloc(buf->data, cap);
    buf->cap = cap;
}

void buf_append(buf_t *buf, const void *bytes, size_t len)
{
    buf_reserve(buf, len);
    if (len) memcpy(buf->data + buf->len, bytes, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
}

void buf_append_str(buf_t *buf, const char *text)
{
    buf_append(buf, text, strlen(text));
}

void buf_printf(buf_t *buf, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    va_list copy;
    va_copy(copy, args);
    int needed = vsnprintf(NULL, 0, format, copy);
    va_end(copy);
    ASSERT_ALWAYS(needed >= 0);
    buf_reserve(buf, (size_t)needed);
    vsnprintf(buf->data + buf->len, (size_t)needed + 1, format, args);
    buf->len += (size_t)needed;
    va_end(args);
}

void buf_reset(buf_t *buf)
{
    buf->len = 0;
    if (buf->data) buf->data[0] = '\0';
}

char *buf_take(buf_t *buf)
{
    if (buf->data == NULL) buf_reserve(buf, 0), buf->data[0] = '\0';
    char *data = buf->data;
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
    return data;
}

void buf_free(buf_t *buf)
{
    if (buf == NULL) return;
    free(buf->data);
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
}

/* log.c — one JSON object per line on stderr. */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

#include "limits.h"

void log_write(const char *level, const char *msg, json_t *fields)
{
    struct timeval now;
    struct tm tm;
    char ts[LIMIT_LOG_TIME_TEXT_BYTES];
    gettimeofday(&now, NULL);
    gmtime_r(&now.tv_sec, &tm);
    size_t len = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + len, sizeof ts - len, ".%03dZ", (int)(now.tv_usec / 1000));
    json_t *line = json_pack("{s:s,s:s,s:s}", "ts", ts, "level", level, "msg", msg);
    if (line != NULL && fields != NULL) json_object_update(line, fields);
    char *text = line ? json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (text != NULL) {
        flockfile(stderr);
        fputs(text, stderr);
        fputc('\n', stderr);
        funlockfile(stderr);
    }
    free(text);
    json_decref(line);
    json_decref(fields);
}

void log_info(const char *msg, json_t *fields)
{
    log_write("info", msg, fields);
}

void log_error(const char *msg, json_t *fields)
{
    log_write("error", msg, fields);
}

/* log.h — JSON-lines logs on stderr: {"ts","level","msg",...fields}. Never bodies or secrets. */
#ifndef LEDGER_LOG_H
#define LEDGER_LOG_H

#include <jansson.h>

/* fields: taken (decref'd), may be NULL. Thread-safe: one write per line. */
void log_write(const char *level, const char *msg, json_t *fields);
void log_info(const char *msg, json_t *fields);
void log_error(const char *msg, json_t *fields);

#endif

/* config.c — parses and bounds every LEDGER_* variable; refuses nonsense at start-up. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "limits.h"

static int parse_integer(const char *text, long long minimum, long long maximum, long long *out)
{
    char *end = NULL;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < minimum || value > maximum) return -1;
    *out = value;
    return 0;
}

/* The HTTP layer's bounds (issue 16): absent variables keep the limits.h defaults. */
static int config_load_http(config_t *config, const char **error)
{
    long long value = 0;
    config->http_request_deadline_s = LIMIT_HTTP_REQUEST_DEADLINE_DEFAULT_S;
    config->http_connections_per_address = LIMIT_HTTP_CONNECTIONS_PER_ADDRESS_DEFAULT;
    config->http_body_bytes_in_flight = LIMIT_HTTP_BODY_BYTES_IN_FLIGHT_DEFAULT;
    const char *deadline = getenv("LEDGER_HTTP_REQUEST_DEADLINE_S");
    if (deadline != NULL) {
        if (parse_integer(deadline, 1, LIMIT_HTTP_REQUEST_DEADLINE_MAX_S, &value) != 0) {
            *error = "LEDGER_HTTP_REQUEST_DEADLINE_S must be 1.." LIMIT_TEXT(LIMIT_HTTP_REQUEST_DEADLINE_MAX_S);
            return -1;
        }
        config->http_request_deadline_s = (unsigned)value;
    }
    const char *per_address = getenv("LEDGER_HTTP_CONNECTIONS_PER_ADDRESS");
    if (per_address != NULL) {
        if (parse_integer(per_address, 0, LIMIT_HTTP_CONNECTIONS_MAX, &value) != 0) {
            *error = "LEDGER_HTTP_CONNECTIONS_PER_ADDRESS must be 0.." LIMIT_TEXT(
                LIMIT_HTTP_CONNECTIONS_MAX) " (0: no limit)";
            return -1;
        }
        config->http_connections_per_address = (unsigned)value;
    }
    const char *in_flight = getenv("LEDGER_HTTP_BODY_BYTES_IN_FLIGHT");
    if (in_flight != NULL) {
        if (parse_integer(in_flight, LIMIT_BODY_BYTES_MAX, LIMIT_HTTP_BODY_BYTES_IN_FLIGHT_MAX, &value) != 0) {
            *error = "LEDGER_HTTP_BODY_BYTES_IN_FLIGHT must be 1048576..17179869184";
            return -1;
        }
        config->http_body_bytes_in_flight = value;
    }
    return 0;
}

int config_load(config_t *config, const char **error)
{
    long long value = 0;
    memset(config, 0, sizeof *config);
    config->database_url = getenv("LEDGER_DATABASE_URL");
    config->key_file = getenv("LEDGER_KEY_FILE");
    config->origin = getenv("LEDGER_ORIGIN") ? getenv("LEDGER_ORIGIN") : "coalition-ledger";
    config->clock_skew_s = LIMIT_CLOCK_SKEW_DEFAULT_S;
    config->http_threads = LIMIT_HTTP_THREADS_DEFAULT;
    snprintf(config->listen_host, sizeof config->listen_host, "127.0.0.1");
    config->listen_port = LIMIT_LISTEN_PORT_DEFAULT;
    if (config->database_url == NULL) config->database_url = "";
    /* the console (issue 19): the repo's console/ when ledgerd runs from the repo (make run, make
     * test); an explicit folder must load; an empty value turns the console off */
    config->console_dir = getenv("LEDGER_CONSOLE_DIR");
    config->console_required = config->console_dir != NULL && config->console_dir[0] != '\0';
    if (config->console_dir == NULL) config->console_dir = "console";
    const char *listen = getenv("LEDGER_LISTEN");
    if (listen != NULL) {
        const char *colon = strrchr(listen, ':');
        if (colon == NULL || (size_t)(colon - listen) >= sizeof config->listen_host ||
            parse_integer(colon + 1, 0, 65535, &value) != 0) {
            *error = "LEDGER_LISTEN must be host:port";
            return -1;
        }
        memcpy(config->listen_host, listen, (size_t)(colon - listen));
        config->listen_host[colon - listen] = '\0';
        config->listen_port = (uint16_t)value;
    }
    const char *skew = getenv("LEDGER_CLOCK_SKEW_S");
    if (skew != NULL) {
        if (parse_integer(skew, 1, LIMIT_CLOCK_SKEW_MAX_S, &value) != 0) {
            *error = "LEDGER_CLOCK_SKEW_S must be 1.." LIMIT_TEXT(LIMIT_CLOCK_SKEW_MAX_S);
            return -1;
        }
        config->clock_skew_s = value;
    }
    config->expiry_interval_s = LIMIT_EXPIRY_INTERVAL_DEFAULT_S;
    const char *interval = getenv("LEDGER_EXPIRY_INTERVAL_S");
    if (interval != NULL) {
        if (parse_integer(interval, 0, LIMIT_EXPIRY_INTERVAL_MAX_S, &value) != 0) {
            *error = "LEDGER_EXPIRY_INTERVAL_S must be 0.." LIMIT_TEXT(LIMIT_EXPIRY_INTERVAL_MAX_S);
            return -1;
        }
        config->expiry_interval_s = value;
    }
    const char *thresholds = getenv("LEDGER_EXPIRING_THRESHOLDS_DAYS");
    if (events_thresholds_parse(thresholds ? thresholds : LIMIT_EXPIRING_THRESHOLDS_DEFAULT,
                                config->expiring_thresholds_days, &config->expiring_threshold_count) != 0) {
        *error = "LEDGER_EXPIRING_THRESHOLDS_DAYS must list 1.." LIMIT_TEXT(
            LIMIT_EXPIRING_THRESHOLDS_MAX) " distinct day counts 1.." LIMIT_TEXT(LIMIT_EXPIRING_THRESHOLD_DAYS_MAX) ", "
                                           "comma-separated (default " LIMIT_EXPIRING_THRESHOLDS_DEFAULT ")";
        return -1;
    }
    const char *threads = getenv("LEDGER_HTTP_THREADS");
    if (threads != NULL) {
        if (parse_integer(threads, 1, LIMIT_HTTP_THREADS_MAX, &value) != 0) {
            *error = "LEDGER_HTTP_THREADS must be 1.." LIMIT_TEXT(LIMIT_HTTP_THREADS_MAX);
            return -1;
        }
        config->http_threads = (unsigned)value;
    }
    config->write_batch_max = LIMIT_WRITE_BATCH_DEFAULT;
    const char *batch = getenv("LEDGER_WRITE_BATCH");
    if (batch != NULL) {
        if (parse_integer(batch, 0, LIMIT_WRITE_BATCH_MAX, &value) != 0) {
            *error = "LEDGER_WRITE_BATCH must be 0.." LIMIT_TEXT(LIMIT_WRITE_BATCH_MAX);
            return -1;
        }
        config->write_batch_max = (unsigned)value;
    }
    if (strlen(config->origin) < 1 || strlen(config->origin) > LIMIT_ORIGIN_MAX || strchr(config->origin, '\n')) {
        *error = "LEDGER_ORIGIN must be 1.." LIMIT_TEXT(LIMIT_ORIGIN_MAX) " characters on one line";
        return -1;
    }
    return config_load_http(config, error);
}

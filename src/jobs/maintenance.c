/* maintenance.c — one thread, one database connection, woken by its interval or by stop. */
#include "maintenance.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "assert_always.h"
#include "buf.h"
#include "expiry.h"
#include "limits.h"
#include "log.h"
#include "notice.h"
#include "store.h"

struct maintenance {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping;
    const char *database_url;
    const crypto_signer_t *ledger_key;
    int64_t interval_s;
    int64_t clock_skew_s;
    const int *thresholds_days;
    size_t threshold_count;
};

static void maintenance_tick(struct maintenance *m, store_conn_t *conn)
{
    int64_t now_s = 0;
    expiry_result_t out;
    store_expiry_run_t interrupted;
    result_t pending = RESULT_OK;
    /* the scheduler writes a run only when there is something to do: a due lot or a run to resume */
    if (m->interval_s > 0 && store_now(conn, &now_s) == RESULT_OK &&
        (store_due_exists(conn, now_s, &pending) || store_expiry_run_running(conn, &interrupted) == RESULT_OK)) {
        result_t result = expiry_run(conn, m->ledger_key, now_s, "scheduler", 0, 0, NULL, &out);
        if (result != RESULT_OK && result != RESULT_REQUEST_IN_PROGRESS)
            log_error("scheduled expiry run failed", json_pack("{s:s}", "code", result_info(result)->code));
        expiry_result_free(&out);
    }
    /* points.expiring: after the expiry run, so a lot it expired is no longer announced */
    int64_t entries = 0, lines = 0;
    if (m->interval_s > 0 && m->threshold_count > 0) {
        result_t result = expiry_notice_run(conn, m->thresholds_days, m->threshold_count, &entries, &lines);
        if (result != RESULT_OK)
            log_error("scheduled expiry notices failed", json_pack("{s:s}", "code", result_info(result)->code));
    }
    /* signatures are remembered for twice the skew window at least (spec 9); we keep a day more */
    if (store_housekeeping(conn, LIMIT_IDEMPOTENCY_KEEP_S, 2 * m->clock_skew_s + LIMIT_SIGNATURE_KEEP_EXTRA_S) !=
        RESULT_OK)
        log_error("housekeeping failed", NULL);
}

static void *maintenance_main(void *arg)
{
    struct maintenance *m = arg;
    store_conn_t *conn = NULL;
    pthread_mutex_lock(&m->lock);
    while (!m->stopping) {
        pthread_mutex_unlock(&m->lock);
        if (!store_conn_ok(conn)) {
            store_disconnect(conn);
            conn = store_connect_profile(m->database_url, &store_profile_maintenance);
        }
        if (conn != NULL) maintenance_tick(m, conn);
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += conn == NULL ? LIMIT_MAINTENANCE_RECONNECT_S
                                        : (m->interval_s > 0 ? m->interval_s : LIMIT_HOUSEKEEPING_INTERVAL_S);
        pthread_mutex_lock(&m->lock);
        while (!m->stopping && pthread_cond_timedwait(&m->wake, &m->lock, &deadline) == 0) {
        }
    }
    pthread_mutex_unlock(&m->lock);
    store_disconnect(conn);
    return NULL;
}

maintenance_t *maintenance_start(const char *database_url, const crypto_signer_t *ledger_key, int64_t interval_s,
                                 int64_t clock_skew_s, const int *thresholds_days, size_t threshold_count)
{
    struct maintenance *m = xcalloc(1, sizeof *m);
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->wake, NULL);
    m->database_url = database_url;
    m->ledger_key = ledger_key;
    m->interval_s = interval_s;
    m->clock_skew_s = clock_skew_s;
    m->thresholds_days = thresholds_days;
    m->threshold_count = threshold_count;
    ASSERT_ALWAYS(pthread_create(&m->thread, NULL, maintenance_main, m) == 0);
    return m;
}

void maintenance_stop(maintenance_t *m)
{
    if (m == NULL) return;
    pthread_mutex_lock(&m->lock);
    m->stopping = 1;
    pthread_cond_signal(&m->wake);
    pthread_mutex_unlock(&m->lock);
    pthread_join(m->thread, NULL);
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->wake);
    free(m);
}

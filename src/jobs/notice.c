/* notice.c — expiry_notice entries (include/jobs/notice.h). */
#include "notice.h"

#include <stdlib.h>

#include "journal.h"
#include "json.h"
#include "ledger.h"
#include "limits.h"
#include "log.h"
#include "verify.h"

static json_t *notice_fields(const int *days, size_t day_count, const store_notice_t *lines, size_t count)
{
    json_t *thresholds = json_array(), *lots = json_array();
    char lot_id[LIMIT_ID_TEXT_BYTES], expires_at[LIMIT_TIME_TEXT_BYTES];
    for (size_t i = 0; i < day_count; i++)
        json_array_append_new(thresholds, json_integer(days[i]));
    for (size_t i = 0; i < count; i++) {
        journal_id_format(lot_id, sizeof lot_id, "lot", lines[i].lot_id);
        ledger_time_format(lines[i].expires_s, expires_at);
        json_array_append_new(lots, json_pack("{s:s,s:s,s:s,s:I,s:s,s:i}", "lot", lot_id, "issuer", lines[i].issuer,
                                              "member", lines[i].member, "points", (json_int_t)lines[i].points,
                                              "expires_at", expires_at, "threshold_days", lines[i].threshold_days));
    }
    return json_pack("{s:o,s:o}", "thresholds_days", thresholds, "lots", lots);
}

/* One entry in one transaction; *count the lines it announced (0: nothing left, nothing written). */
static result_t notice_once(store_conn_t *conn, const int *days, size_t day_count, size_t *count)
{
    store_notice_t *lines = NULL;
    ledger_postings_t postings = LEDGER_POSTINGS_INIT; /* a notice moves no point */
    json_t *fields = NULL;
    char *text = NULL;
    int64_t seq = 0, time_s = 0;
    *count = 0;
    result_t result = store_begin(conn);
    /* the head lock first: the candidates are then exact as of this entry, and a second
     * instance waits here and afterwards sees this one's notices */
    if (result == RESULT_OK) result = store_journal_next(conn, &seq, &time_s);
    if (result == RESULT_OK)
        result = store_notice_candidates(conn, time_s, days, day_count, LIMIT_EXPIRY_NOTICE_LOTS, &lines, count);
    if (result != RESULT_OK || *count == 0) goto out;
    fields = notice_fields(days, day_count, lines, *count);
    text = journal_entry_text(seq, time_s, "expiry_notice", "operator", fields, &postings, NULL);
    const char *why = NULL;
    result = verify_entry_alone(text, seq, time_s, 0, NULL, NULL, NULL, &why); /* spec 12, as every entry */
    if (result != RESULT_OK) log_error("refusing an entry ledger-verify would reject", json_pack("{s:s}", "why", why));
    if (result == RESULT_OK) result = store_journal_insert(conn, seq, time_s, "expiry_notice", text, &postings);
    if (result == RESULT_OK) result = store_notices_insert(conn, seq, lines, *count);
    if (result == RESULT_OK) result = store_commit(conn);
out:
    if (result != RESULT_OK || *count == 0) store_rollback(conn);
    if (result != RESULT_OK) *count = 0;
    json_decref(fields);
    free(text);
    free(lines);
    return result;
}

result_t expiry_notice_run(store_conn_t *conn, const int *days, size_t count, int64_t *entries, int64_t *lines)
{
    result_t result = RESULT_OK;
    size_t written = 0;
    int busy = 0;
    *entries = *lines = 0;
    if (count == 0) return RESULT_OK;
    do {
        result = notice_once(conn, days, count, &written);
        if (result == RESULT_DATABASE_BUSY && ++busy < LIMIT_DB_RETRIES) continue;
        if (result != RESULT_OK) break;
        if (written > 0) {
            ++*entries;
            *lines += (int64_t)written;
        }
    } while (result != RESULT_OK || written == LIMIT_EXPIRY_NOTICE_LOTS);
    if (result == RESULT_OK && *entries > 0)
        log_info("expiry notices written", json_pack("{s:I,s:I}", "entries", (json_int_t)*entries, "lines",
                                                     (json_int_t)*lines));
    return result;
}

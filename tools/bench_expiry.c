/* bench_expiry.c — expires N due lots through the real expiry code (the path `ledgerctl expire`
 * and the scheduler use) and, in the same run, a raw-SQL baseline doing the same bookkeeping in
 * one statement set (rolled back). Prints time, throughput, ratio and this process's peak RSS.
 * Usage: LEDGER_DATABASE_URL=... bench-expiry [LOTS] [LOTS_PER_MEMBER]  (see tools/bench-expiry.sh) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "crypto.h"
#include "expiry.h"
#include "bench_common.h"
#include "store.h"

static int seed(store_conn_t *conn, long lots, long per_member)
{
    char text[2048];
    snprintf(text, sizeof text,
             "INSERT INTO journal (seq, time_s, type, text) SELECT 2 + g, (SELECT time_s FROM journal_head), 'earn', "
             "'{\"bench\":' || g || '}' "
             "FROM generate_series(1, %ld) g",
             lots);
    if (bench_sql(conn, "SET statement_timeout = 0") || bench_sql(conn, "BEGIN") ||
        bench_sql(conn, "INSERT INTO journal SELECT 2, time_s, 'partner', '{}' FROM journal_head") ||
        bench_sql(conn, "INSERT INTO partners VALUES ('bench', 'Bench', 1, 2)") || bench_sql(conn, text))
        return -1;
    snprintf(text, sizeof text,
             "INSERT INTO transactions (seq, partner, type, member, points, reference) "
             "SELECT 2 + g, 'bench', 'earn', 'm' || (g %% %ld), 10, 'r' || g FROM generate_series(1, %ld) g",
             (lots + per_member - 1) / per_member, lots);
    if (bench_sql(conn, text)) return -1;
    snprintf(text, sizeof text,
             "INSERT INTO lots (id, issuer, member, points, remaining, expires_s) "
             "SELECT seq, 'bench', member, 10, 10, floor(extract(epoch from now()))::bigint - 10 FROM transactions");
    if (bench_sql(conn, text)) return -1;
    /* balances as the earns' postings would have made them */
    snprintf(text, sizeof text, "UPDATE journal_head SET seq = 2 + %ld", lots);
    if (bench_sql(conn, text) ||
        bench_sql(conn, "INSERT INTO accounts SELECT 'member:' || member, sum(remaining) FROM lots GROUP BY member") ||
        bench_sql(conn, "INSERT INTO accounts SELECT 'issued:bench', -sum(remaining) FROM lots") ||
        bench_sql(conn, "COMMIT") || bench_sql(conn, "VACUUM ANALYZE"))
        return -1;
    return 0;
}

/* The same state change with no journal entries, lot lists or reports, then rolled back. */
static double baseline(store_conn_t *conn)
{
    double start = bench_now_s();
    if (bench_sql(conn, "BEGIN") ||
        bench_sql(conn,
                  "WITH due AS (UPDATE lots SET remaining = 0 WHERE remaining > 0 AND "
                  "expires_s <= floor(extract(epoch from now()))::bigint RETURNING member, issuer, points), "
                  "m AS (UPDATE accounts a SET balance = a.balance - d.s FROM (SELECT member, sum(points) s FROM due "
                  "GROUP BY member) d WHERE a.account = 'member:' || d.member) "
                  "INSERT INTO accounts SELECT 'expired:' || issuer, sum(points) FROM due GROUP BY issuer") ||
        bench_sql(conn, "COMMIT"))
        return -1;
    double elapsed = bench_now_s() - start;
    return elapsed;
}

int main(int argc, char **argv)
{
    long lots = argc > 1 ? atol(argv[1]) : 1000000, per_member = argc > 2 ? atol(argv[2]) : 10;
    char *pem = NULL;
    const char *url = getenv("LEDGER_DATABASE_URL");
    store_conn_t *conn = url ? store_connect(url) : NULL;
    if (conn == NULL || lots < 1 || per_member < 1) {
        fprintf(stderr, "usage: LEDGER_DATABASE_URL=... bench-expiry [LOTS] [LOTS_PER_MEMBER]\n");
        return 2;
    }
    crypto_signer_t *key = crypto_signer_generate(&pem);
    if (bench_ready(conn, key) != 0) return 1;
    double start = bench_now_s();
    if (seed(conn, lots, per_member) != 0) return 1;
    printf("seeded %ld due lots over %ld members in %.1f s\n", lots, (lots + per_member - 1) / per_member,
           bench_now_s() - start);
    /* baseline first, on a copy of the state (rolled back by re-seeding the same values) */
    if (bench_sql(conn, "BEGIN") || bench_sql(conn, "CREATE TEMP TABLE lots_copy AS SELECT id, remaining FROM lots") ||
        bench_sql(conn, "CREATE TEMP TABLE accounts_copy AS SELECT * FROM accounts") || bench_sql(conn, "COMMIT"))
        return 1;
    double raw = baseline(conn);
    if (raw < 0 || bench_sql(conn, "BEGIN") ||
        bench_sql(conn, "UPDATE lots SET remaining = c.remaining FROM lots_copy c WHERE lots.id = c.id") ||
        bench_sql(conn, "DELETE FROM accounts") ||
        bench_sql(conn, "INSERT INTO accounts SELECT * FROM accounts_copy") || bench_sql(conn, "COMMIT") ||
        bench_sql(conn, "VACUUM ANALYZE lots"))
        return 1;
    expiry_result_t out;
    start = bench_now_s();
    result_t result = expiry_run(conn, key, (int64_t)time(NULL), "bench", 0, 0, &out);
    double elapsed = bench_now_s() - start;
    if (result != RESULT_OK) {
        fprintf(stderr, "bench: expiry failed: %s\n", result_info(result)->code);
        return 1;
    }
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    printf("expiry run: %s\n", out.report);
    printf(
        "RESULT lots=%ld expiry_s=%.2f lots_per_s=%.0f baseline_sql_s=%.2f ratio_vs_baseline=%.2f peak_rss_mb=%.1f\n",
        lots, elapsed, (double)lots / elapsed, raw, elapsed / raw, (double)usage.ru_maxrss / 1024.0);
    expiry_result_free(&out);
    crypto_signer_free(key);
    free(pem);
    store_disconnect(conn);
    return 0;
}

/* bench_settlement.c — settles a period of N burn entries across B brands through the real
 * settlement code (the path of POST /v1/admin/settlements and `ledgerctl settle`), and, in the
 * same run, a raw-SQL baseline: the bare GROUP BY of the same rows. Prints time, ratio, peak RSS.
 * Usage: LEDGER_DATABASE_URL=... bench-settlement [ENTRIES] [BRANDS]  (see tools/bench-settlement.sh) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "crypto.h"
#include "settle.h"
#include "bench_common.h"
#include "store.h"

/* seq 2..B+1 partners, B+2 a point value, then one lot per brand, then N burns. Triggers are off
 * while seeding (replica role), so the leaf is written here; the bench signs no checkpoint. */
static int seed(store_conn_t *conn, long entries, long brands)
{
    char text[2048];
    long lots_seq = brands + 3, first_burn = lots_seq + brands;
    if (bench_sql(conn, "SET statement_timeout = 0") || bench_sql(conn, "SET session_replication_role = replica") ||
        bench_sql(conn, "BEGIN"))
        return -1;
    snprintf(
        text, sizeof text,
        "INSERT INTO journal SELECT g, (SELECT time_s FROM journal_head), "
        "CASE WHEN g <= %ld THEN 'partner' WHEN g = %ld THEN 'point_value' WHEN g < %ld THEN 'earn' ELSE 'burn' END,"
        " '{}', sha256('\\x007b7d'::bytea) FROM generate_series(2, %ld) g",
        brands + 1, brands + 2, first_burn, first_burn + entries - 1);
    if (bench_sql(conn, text)) return -1;
    snprintf(text, sizeof text,
             "INSERT INTO partners SELECT 'brand-' || g, 'Brand ' || g, 15552000, g + 1 FROM generate_series(1, %ld) g",
             brands);
    if (bench_sql(conn, text)) return -1;
    snprintf(text, sizeof text, "INSERT INTO point_values VALUES (%ld, 1, 3, 0)", brands + 2);
    if (bench_sql(conn, text)) return -1;
    snprintf(
        text, sizeof text,
        "INSERT INTO transactions (seq, partner, type, member, points, reference) SELECT %ld + g, 'brand-' || (g + 1), "
        "'earn', 'm', 1000000000, 'lot' || g FROM generate_series(0, %ld) g",
        lots_seq, brands - 1);
    if (bench_sql(conn, text)) return -1;
    snprintf(text, sizeof text,
             "INSERT INTO lots SELECT seq, partner, 'm', 1000000000, 1000000000, 2000000000 FROM transactions");
    if (bench_sql(conn, text)) return -1;
    snprintf(text, sizeof text,
             "INSERT INTO transactions (seq, partner, type, member, points, reference) SELECT g, "
             "'brand-' || (1 + (g * 7) %% %ld), 'burn', 'm', 1 + g %% 50, 'b' || g FROM generate_series(%ld, %ld) g",
             brands, first_burn, first_burn + entries - 1);
    if (bench_sql(conn, text)) return -1;
    snprintf(
        text, sizeof text,
        "INSERT INTO burn_portions (burn_seq, idx, lot_id, issuer, redeemer, points, value_seq) "
        "SELECT t.seq, 0, %ld + (t.seq * 13) %% %ld, 'brand-' || (1 + (t.seq * 13) %% %ld), t.partner, t.points, %ld "
        "FROM transactions t WHERE t.type = 'burn'",
        lots_seq, brands, brands, brands + 2);
    if (bench_sql(conn, text)) return -1;
    snprintf(text, sizeof text, "UPDATE journal_head SET seq = %ld", first_burn + entries - 1);
    if (bench_sql(conn, text) ||
        bench_sql(conn, "INSERT INTO ledger_meta VALUES (true, 'KZT', 'bench') ON CONFLICT DO NOTHING") ||
        bench_sql(conn, "COMMIT") || bench_sql(conn, "SET session_replication_role = origin") ||
        bench_sql(conn, "VACUUM ANALYZE"))
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    long entries = argc > 1 ? atol(argv[1]) : 5000000, brands = argc > 2 ? atol(argv[2]) : 20;
    char *pem = NULL;
    const char *url = getenv("LEDGER_DATABASE_URL");
    store_conn_t *conn = url ? store_connect(url) : NULL;
    if (conn == NULL || entries < 1 || brands < 2) {
        fprintf(stderr, "usage: LEDGER_DATABASE_URL=... bench-settlement [ENTRIES] [BRANDS]\n");
        return 2;
    }
    crypto_signer_t *key = crypto_signer_generate(&pem);
    if (bench_ready(conn, key) != 0) return 1;
    double start = bench_now_s();
    if (seed(conn, entries, brands) != 0) return 1;
    printf("seeded %ld burn entries across %ld brands in %.1f s\n", entries, brands, bench_now_s() - start);
    start = bench_now_s();
    if (bench_sql(conn, "SET statement_timeout = 0") ||
        bench_sql(conn, "SELECT redeemer, issuer, value_seq, sum(points) FROM burn_portions GROUP BY 1, 2, 3"))
        return 1;
    double raw = bench_now_s() - start;
    settle_result_t out;
    start = bench_now_s();
    result_t result = settle_run(conn, key, 1, (int64_t)time(NULL) - 1, 25, &out); /* a closed period: no clock wait */
    double elapsed = bench_now_s() - start;
    if (result != RESULT_OK) {
        fprintf(stderr, "bench: settlement failed: %s\n", result_info(result)->code);
        return 1;
    }
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    printf("RESULT entries=%ld brands=%ld settlement_s=%.2f baseline_groupby_s=%.2f ratio_vs_baseline=%.2f "
           "report_bytes=%zu peak_rss_mb=%.1f\n",
           entries, brands, elapsed, raw, elapsed / raw, strlen(out.report), (double)usage.ru_maxrss / 1024.0);
    settle_result_free(&out);
    crypto_signer_free(key);
    free(pem);
    store_disconnect(conn);
    return 0;
}

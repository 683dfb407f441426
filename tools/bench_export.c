/* bench_export.c — export and verify N journal entries, each with a baseline measured in the
 * same run: export vs a bare ordered read of the same texts (COPY TO), verification vs bare
 * SHA-256 of the same lines. The entries are real: a genesis, a partner, its key, then earns
 * signed with RFC 9421 by that key (generated here, then loaded with COPY; the database's own
 * trigger builds the Merkle tree). Usage: LEDGER_DATABASE_URL=... bench-export [ENTRIES] */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"
#include "client.h"
#include "journal.h"
#include "json.h"
#include "store.h"
#include "verify.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One earn entry exactly as the service writes it, signed by key "bench-1". */
static char *earn_text(int64_t seq, int64_t time_s, const crypto_signer_t *partner)
{
    char body[160], member[32], reference[32], key[32], target[] = "/v1/earn", lot[32], expires[21];
    snprintf(member, sizeof member, "m%lld", (long long)(seq % 100000));
    snprintf(reference, sizeof reference, "r%lld", (long long)seq);
    snprintf(key, sizeof key, "k%lld", (long long)seq);
    snprintf(body, sizeof body, "{\"member\":\"%s\",\"points\":10,\"reference\":\"%s\"}", member, reference);
    buf_t headers = BUF_INIT;
    client_sign(&headers, "bench-1", partner, "POST", target, body, strlen(body), key, time_s);
    char *input = strstr(headers.data, "Signature-Input: sig1=") + 22, *input_end = strstr(input, "\r\n");
    char *signature = strstr(headers.data, "Signature: sig1=:") + 17, *signature_end = strchr(signature, ':');
    *input_end = '\0', *signature_end = '\0';
    journal_request_t request = {"POST", target, "?", key, input, signature, body, strlen(body)};
    ledger_postings_t postings = LEDGER_POSTINGS_INIT;
    ledger_earn_postings(member, "bench", 10, &postings);
    journal_id_format(lot, sizeof lot, "lot", seq);
    ledger_time_format(time_s + 15552000, expires);
    json_t *fields = json_pack("{s:s,s:i,s:s,s:[{s:s,s:i,s:s}]}", "member", member, "points", 10, "reference",
                               reference, "lots", "id", lot, "points", 10, "expires_at", expires);
    char *text = journal_entry_text(seq, time_s, "earn", "bench", fields, &postings, &request);
    json_decref(fields);
    ledger_postings_free(&postings);
    buf_free(&headers);
    return text;
}

static char *registry_text(int64_t seq, int64_t time_s, const char *type, json_t *fields, const crypto_signer_t *op,
                           const char *path)
{
    ledger_postings_t none = LEDGER_POSTINGS_INIT;
    if (op == NULL) return journal_entry_text(seq, time_s, type, "operator", fields, &none, NULL);
    char *body = json_canonical(fields), key[32];
    snprintf(key, sizeof key, "reg%lld", (long long)seq);
    buf_t headers = BUF_INIT;
    client_sign(&headers, "op", op, "POST", path, body, strlen(body), key, time_s);
    char *input = strstr(headers.data, "Signature-Input: sig1=") + 22, *input_end = strstr(input, "\r\n");
    char *signature = strstr(headers.data, "Signature: sig1=:") + 17, *signature_end = strchr(signature, ':');
    *input_end = '\0', *signature_end = '\0';
    journal_request_t request = {"POST", path, "?", key, input, signature, body, strlen(body)};
    char *text = journal_entry_text(seq, time_s, type, "operator", fields, &none, &request);
    free(body);
    buf_free(&headers);
    return text;
}

/* COPY text format escaping for a journal text (backslashes only: texts hold no tabs/newlines). */
static void copy_row(buf_t *out, int64_t seq, int64_t time_s, const char *type, const char *text)
{
    buf_printf(out, "%lld\t%lld\t%s\t", (long long)seq, (long long)time_s, type);
    for (const char *s = text; *s; s++) {
        if (*s == '\\')
            buf_append(out, "\\\\", 2);
        else
            buf_append(out, s, 1);
    }
    buf_append(out, "\n", 1);
}

static int load(const char *url, long entries, const crypto_signer_t *op, const crypto_signer_t *partner, int64_t t)
{
    PGconn *pg = PQconnectdb(url);
    buf_t rows = BUF_INIT;
    uint8_t op_key[32], partner_key[32];
    crypto_signer_public_key(op, op_key);
    crypto_signer_public_key(partner, partner_key);
    char *op_b64 = crypto_base64_encode(op_key, 32), *partner_b64 = crypto_base64_encode(partner_key, 32);
    PQclear(PQexec(pg, "SET statement_timeout = 0"));
    json_t *genesis = json_pack("{s:s,s:s,s:[{s:s,s:s,s:s}]}", "currency", "KZT", "origin", "bench", "keys", "keyid",
                                "op", "role", "operator", "public_key", op_b64);
    json_t *partner_fields = json_pack("{s:s,s:s,s:i}", "code", "bench", "name", "Bench", "validity_seconds", 15552000);
    json_t *key_fields = json_pack("{s:s,s:s,s:s,s:s}", "keyid", "bench-1", "role", "partner", "public_key",
                                   partner_b64, "owner", "bench");
    char *texts[3] = {registry_text(1, t, "genesis", genesis, NULL, NULL),
                      registry_text(2, t, "partner", partner_fields, op, "/v1/admin/partners"),
                      registry_text(3, t, "key", key_fields, op, "/v1/admin/partners/bench/keys")};
    const char *types[3] = {"genesis", "partner", "key"};
    for (int i = 0; i < 3; i++)
        copy_row(&rows, i + 1, t, types[i], texts[i]), free(texts[i]);
    int ok = 1;
    /* one COPY (one transaction) per 100 rows: the head row is rewritten per entry, and a
     * single huge transaction would make every rewrite scan all the versions before it */
    for (long seq = 4; seq <= entries + 1 && ok; seq++) {
        if (seq <= entries) {
            char *text = earn_text(seq, t, partner);
            copy_row(&rows, seq, t, "earn", text);
            free(text);
        }
        if (seq % 100 == 0 || seq == entries + 1) {
            PGresult *res = PQexec(pg, "COPY journal (seq, time_s, type, text) FROM STDIN");
            ok = PQresultStatus(res) == PGRES_COPY_IN && PQputCopyData(pg, rows.data, (int)rows.len) == 1 &&
                 PQputCopyEnd(pg, NULL) == 1;
            PQclear(res);
            res = PQgetResult(pg);
            ok = ok && PQresultStatus(res) == PGRES_COMMAND_OK;
            if (!ok) fprintf(stderr, "bench: %s", PQerrorMessage(pg));
            PQclear(res);
            PQclear(PQgetResult(pg));
            buf_reset(&rows);
        }
    }
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE journal_head SET seq = %ld, time_s = %lld", entries, (long long)t);
    PQclear(PQexec(pg, sql));
    PQfinish(pg);
    json_decref(genesis), json_decref(partner_fields), json_decref(key_fields);
    free(op_b64), free(partner_b64);
    buf_free(&rows);
    return ok ? 0 : -1;
}

/* Baseline: the bare ordered read of the same texts, in the same run. */
static double baseline_read(const char *url)
{
    PGconn *pg = PQconnectdb(url);
    double start = now_s();
    PGresult *res = PQexec(pg, "COPY (SELECT text FROM journal ORDER BY seq) TO STDOUT");
    char *row = NULL;
    if (PQresultStatus(res) == PGRES_COPY_OUT)
        while (PQgetCopyData(pg, &row, 0) > 0)
            PQfreemem(row);
    PQclear(res);
    PQclear(PQgetResult(pg));
    double elapsed = now_s() - start;
    PQfinish(pg);
    return elapsed;
}

/* Baseline: SHA-256 of every line of the export, nothing else. */
static double baseline_hash(const char *path)
{
    FILE *in = fopen(path, "rb");
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    uint8_t digest[32];
    double start = now_s();
    while ((got = getline(&line, &cap, in)) > 0)
        crypto_sha256(line, (size_t)got, digest);
    double elapsed = now_s() - start;
    free(line);
    fclose(in);
    return elapsed;
}

int main(int argc, char **argv)
{
    long entries = argc > 1 ? atol(argv[1]) : 1000000;
    const char *url = getenv("LEDGER_DATABASE_URL");
    char path[256], *pem = NULL;
    int applied = 0;
    store_conn_t *conn = url ? store_connect(url) : NULL;
    if (conn == NULL || entries < 4 || store_migrate(conn, &applied) != RESULT_OK) {
        fprintf(stderr, "usage: LEDGER_DATABASE_URL=<empty database> bench-export [ENTRIES >= 4]\n");
        return 2;
    }
    crypto_signer_t *ledger = crypto_signer_generate(&pem), *op = crypto_signer_generate(&pem),
                    *partner = crypto_signer_generate(&pem);
    double start = now_s();
    if (load(url, entries, op, partner, (int64_t)time(NULL)) != 0) return 1;
    printf("loaded %ld signed entries in %.1f s\n", entries, now_s() - start);
    snprintf(path, sizeof path, "/tmp/bench-export-%ld.jsonl", (long)getpid());
    FILE *out = fopen(path, "wx");
    if (out == NULL) return 1;
    result_t result;
    start = now_s();
    export_stream_t *stream = export_open(conn, ledger, "bench", &result);
    buf_t piece = BUF_INIT;
    int more = stream ? 1 : -1;
    size_t bytes = 0;
    while (more == 1) {
        buf_reset(&piece);
        more = export_next(stream, &piece);
        bytes += piece.len;
        fwrite(piece.data, 1, piece.len, out);
    }
    fclose(out);
    double export_s = now_s() - start;
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    double export_rss = (double)usage.ru_maxrss / 1024.0;
    double read_s = baseline_read(url), hash_s = baseline_hash(path);
    uint8_t key[32];
    crypto_signer_public_key(ledger, key);
    start = now_s();
    pid_t pid = fork();
    if (pid == 0) { /* verify in a child: its peak memory is measured alone */
        FILE *in = fopen(path, "rb");
        verify_report_t report;
        _exit(verify_export(in, key, 300, &report) == 0 ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    double verify_s = now_s() - start;
    getrusage(RUSAGE_CHILDREN, &usage);
    printf("RESULT entries=%ld export_bytes=%zu export_s=%.2f export_entries_per_s=%.0f baseline_copy_s=%.2f "
           "export_ratio=%.2f export_peak_rss_mb=%.1f verify_ok=%d verify_s=%.2f verify_entries_per_s=%.0f "
           "baseline_sha256_s=%.2f verify_ratio=%.1f verify_peak_rss_mb=%.1f\n",
           entries, bytes, export_s, (double)entries / export_s, read_s, export_s / read_s, export_rss,
           WIFEXITED(status) && WEXITSTATUS(status) == 0, verify_s, (double)entries / verify_s, hash_s,
           verify_s / hash_s, (double)usage.ru_maxrss / 1024.0);
    unlink(path);
    buf_free(&piece);
    export_close(stream);
    store_disconnect(conn);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

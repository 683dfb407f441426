/* ha_check.c — the ledger-side checks of tools/ha-test.sh (issue 18), against a full export
 * (ledgerctl export; ledger-verify checks the rest of it separately):
 *  - every request the load log shows answered 2xx is in the journal exactly once, at the seq
 *    its answer named, signed by the partner with that Idempotency-Key;
 *  - no (partner, Idempotency-Key) appears twice in the journal;
 *  - every 503 the load received carried Retry-After (spec 12), the balancer's own included;
 *  - every checkpoint collected during the run is signed by the ledger key for the origin and its
 *    root is the Merkle root of the export's prefix of that size.
 * Prints what fails (the missing keys by name) and exits 1; 0 when all hold.
 * usage: ha-check EXPORT LOG CHECKPOINTS LEDGER_PUBLIC_KEY PARTNER */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "crypto.h"
#include "map.h"
#include "merkle.h"
#include "note.h"

#define HA_MISSING_SHOWN 20 /* keys named in the report; the count covers the rest */

typedef struct {
    char origin[256];
    merkle_hash_t *leaves;
    size_t count, cap;
    map_t seq_of; /* "partner\tkey" -> seq (of the first entry holding it) */
    long duplicates;
} journal_t;

/* One entry line: its leaf and its (partner, Idempotency-Key). Returns 0 on success. */
static int add_entry(journal_t *journal, const char *line, size_t len)
{
    if (journal->count == journal->cap)
        journal->leaves = xrealloc(journal->leaves, (journal->cap = journal->cap ? journal->cap * 2 : 4096) *
                                                        sizeof *journal->leaves);
    merkle_leaf_hash(line, len, journal->leaves[journal->count++]);
    json_t *entry = json_loadb(line, len, 0, NULL);
    if (entry == NULL) return -1;
    const char *partner = json_string_value(json_object_get(entry, "partner"));
    const char *key = json_string_value(json_object_get(json_object_get(entry, "request"), "idempotency_key"));
    if (partner != NULL && key != NULL) {
        buf_t id = BUF_INIT;
        buf_printf(&id, "%s\t%s", partner, key);
        int64_t *seq = map_slot(&journal->seq_of, id.data);
        if (*seq != 0) {
            if (journal->duplicates++ < HA_MISSING_SHOWN)
                printf("DUPLICATE (partner, key) (%s, %s) at seq %lld and %zu\n", partner, key, (long long)*seq,
                       journal->count);
        } else {
            *seq = (int64_t)journal->count;
        }
        buf_free(&id);
    }
    json_decref(entry);
    return 0;
}

static int read_export(const char *path, journal_t *journal)
{
    FILE *in = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = in == NULL ? -1 : 0, first = 1;
    while (rc == 0 && (len = getline(&line, &cap, in)) > 0) {
        if (line[len - 1] == '\n') line[--len] = '\0';
        if (first) { /* the header */
            json_t *header = json_loads(line, 0, NULL);
            const char *origin = json_string_value(json_object_get(header, "origin"));
            snprintf(journal->origin, sizeof journal->origin, "%s", origin ? origin : "");
            rc = origin ? 0 : -1;
            json_decref(header);
            first = 0;
        } else if (strncmp(line, "{\"checkpoint\":", 14) != 0) {
            rc = add_entry(journal, line, (size_t)len);
        }
    }
    free(line);
    if (in != NULL) fclose(in);
    if (rc != 0) printf("FAIL: cannot read the export %s\n", path);
    return rc;
}

/* A 503 without Retry-After (spec 12: past its bound a request gets 503 with Retry-After). */
static void no_retry_after(long *count, const char *key, const char *code)
{
    if ((*count)++ < HA_MISSING_SHOWN) printf("NO RETRY-AFTER: key %s answered 503 %s\n", key, code);
}

/* Every 2xx in the log: present, once, at the seq its answer named; every 503 with Retry-After.
 * Returns the failures. */
static long check_acknowledged(const char *log_path, const char *partner, const journal_t *journal, long *acked,
                               long *bare_503)
{
    FILE *in = fopen(log_path, "r");
    char line[512];
    long failures = 0;
    *acked = 0;
    while (in != NULL && fgets(line, sizeof line, in) != NULL) {
        long long start, end, seq;
        int worker, attempt, status, retry_after = -1;
        char key[96], kind[16], code[64];
        if (strchr(line, '\n') == NULL || sscanf(line, "%lld\t%lld\t%d\t%95s\t%15s\t%d\t%d\t%lld\t%63s\t%d", &start,
                                                 &end, &worker, key, kind, &attempt, &status, &seq, code,
                                                 &retry_after) < 8)
            continue;
        if (status == 503 && retry_after < 0) no_retry_after(bare_503, key, code);
        if (status < 200 || status >= 300) continue;
        (*acked)++;
        char id[256];
        snprintf(id, sizeof id, "%s\t%s", partner, key);
        int64_t *found = map_find(&journal->seq_of, id);
        if (found == NULL || *found != seq) {
            if (failures < HA_MISSING_SHOWN) {
                if (found == NULL)
                    printf("LOST: key %s answered %d with seq %lld is not in the journal\n", key, status, seq);
                else
                    printf("MOVED: key %s answered with seq %lld is at seq %lld\n", key, seq, (long long)*found);
            }
            failures++;
        }
    }
    if (in == NULL) {
        printf("FAIL: cannot read the load log %s\n", log_path);
        failures++;
    }
    if (in != NULL) fclose(in);
    return failures;
}

typedef struct {
    uint64_t size;
    merkle_hash_t root;
} checkpoint_t;

static int by_size(const void *a, const void *b)
{
    uint64_t x = ((const checkpoint_t *)a)->size, y = ((const checkpoint_t *)b)->size;
    return x < y ? -1 : x > y;
}

/* Reads and opens (signature, origin) every collected checkpoint. Returns the count or -1. */
static long read_checkpoints(const char *path, const char *origin, const uint8_t *key, checkpoint_t **out)
{
    FILE *in = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0, n = 0, room = 0;
    long bad = 0;
    *out = NULL;
    while (in != NULL && getline(&line, &cap, in) > 0) {
        char *b64 = strchr(line, '\t');
        if (b64 == NULL || strchr(b64, '\n') == NULL) continue;
        *strchr(b64, '\n') = '\0';
        uint8_t note[4096];
        size_t note_len = 0;
        char *body = NULL, found_origin[256];
        checkpoint_t checkpoint;
        if (crypto_base64_decode(b64 + 1, strlen(b64 + 1), note, sizeof note - 1, &note_len) != 0 ||
            note_open((const char *)note, note_len, origin, key, &body) != 0 ||
            note_checkpoint_parse(body, found_origin, sizeof found_origin, &checkpoint.size, checkpoint.root) != 0 ||
            strcmp(found_origin, origin) != 0) {
            printf("BAD CHECKPOINT (signature or origin): %.80s\n", b64 + 1);
            bad++;
        } else {
            if (n == room) *out = xrealloc(*out, (room = room ? room * 2 : 256) * sizeof **out);
            (*out)[n++] = checkpoint;
        }
        free(body);
    }
    free(line);
    if (in != NULL) fclose(in);
    return in == NULL || bad ? -1 : (long)n;
}

/* Each checkpoint's root against the export's prefix of its size. Returns the failures. */
static long check_checkpoints(checkpoint_t *checkpoints, long count, const journal_t *journal)
{
    long failures = 0, i = 0;
    merkle_frontier_t frontier;
    memset(&frontier, 0, sizeof frontier);
    qsort(checkpoints, (size_t)count, sizeof *checkpoints, by_size);
    for (size_t seq = 0; seq <= journal->count && i < count; seq++) {
        if (seq > 0) merkle_frontier_append(&frontier, journal->leaves[seq - 1]);
        merkle_hash_t root;
        merkle_frontier_root(&frontier, root);
        for (; i < count && checkpoints[i].size == seq; i++)
            if (memcmp(root, checkpoints[i].root, sizeof root) != 0) {
                printf("FORK: the checkpoint of size %llu is not the root of the export's prefix\n",
                       (unsigned long long)seq);
                failures++;
            }
    }
    for (; i < count; i++, failures++)
        printf("FORK: a checkpoint of size %llu is beyond the export (%zu entries)\n",
               (unsigned long long)checkpoints[i].size, journal->count);
    return failures;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: ha-check EXPORT LOG CHECKPOINTS LEDGER_PUBLIC_KEY PARTNER\n");
        return 2;
    }
    uint8_t key[CRYPTO_ED25519_PUBLIC_BYTES];
    journal_t journal;
    memset(&journal, 0, sizeof journal);
    checkpoint_t *checkpoints = NULL;
    long acked = 0, failures = 0, collected = 0, bare_503 = 0;
    if (crypto_public_key_parse(argv[4], key) != 0 || read_export(argv[1], &journal) != 0) {
        failures = 1;
        goto out;
    }
    failures = check_acknowledged(argv[2], argv[5], &journal, &acked, &bare_503);
    if (failures > 0) printf("FAIL: %ld of %ld acknowledged requests are not in the journal as answered\n", failures,
                             acked);
    failures += journal.duplicates + bare_503;
    collected = read_checkpoints(argv[3], journal.origin, key, &checkpoints);
    failures += collected < 0 ? 1 : check_checkpoints(checkpoints, collected, &journal);
    printf("%s: entries=%zu acknowledged=%ld duplicates=%ld checkpoints=%ld 503_without_retry_after=%ld\n",
           failures ? "FAIL" : "ok", journal.count, acked, journal.duplicates, collected, bare_503);
out:
    free(journal.leaves);
    map_free(&journal.seq_of);
    free(checkpoints);
    return failures ? 1 : 0;
}

/* verify_export.c — ledger-verify EXPORT: reads a full export line by line, checks each entry's
 * bytes (canonical form, seq, Merkle leaf), its signer (key valid at that seq, RFC 9421
 * signature, digest, body), its meaning (verify_replay.c) and its postings, then the signed
 * checkpoint against the recomputed root. Stops at the first failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "buf.h"
#include "journal.h"
#include "json.h"
#include "limits.h"
#include "note.h"
#include "verify_internal.h"

typedef struct {
    char origin[LIMIT_ORIGIN_MAX + 1];
    uint8_t key[CRYPTO_ED25519_PUBLIC_BYTES];
    int64_t to_seq;
} vheader_t;

static int fail(verify_report_t *report, int64_t seq, const char *reason)
{
    report->failed_seq = seq;
    snprintf(report->reason, sizeof report->reason, "%s", reason);
    return -1;
}

static const char *str(const json_t *object, const char *name)
{
    const char *value = json_string_value(json_object_get(object, name));
    return value ? value : "";
}

static json_t *parse_canonical(const char *line, size_t len)
{
    json_t *value = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
    if (value == NULL || !json_is_object(value) || !json_canonical_holds(value)) {
        json_decref(value);
        return NULL;
    }
    char *canonical = json_canonical(value);
    int same = strlen(canonical) == len && memcmp(canonical, line, len) == 0;
    free(canonical);
    if (!same) {
        json_decref(value);
        return NULL;
    }
    return value;
}

static int header_check(const char *line, size_t len, const uint8_t *ledger_key, vheader_t *header,
                        verify_report_t *report)
{
    json_t *value = parse_canonical(line, len);
    size_t key_len = 0;
    uint8_t key[CRYPTO_ED25519_PUBLIC_BYTES + 3];
    const char *key_b64 = value ? str(value, "ledger_key") : "";
    int ok = value && strcmp(str(value, "format"), "coalition-ledger-export/1") == 0 &&
             json_integer_value(json_object_get(value, "from_seq")) == 1 &&
             json_integer_value(json_object_get(value, "to_seq")) >= 1 &&
             crypto_base64_decode(key_b64, strlen(key_b64), key, sizeof key, &key_len) == 0 &&
             key_len == CRYPTO_ED25519_PUBLIC_BYTES && memcmp(key, ledger_key, key_len) == 0 &&
             strlen(str(value, "origin")) > 0 && strlen(str(value, "origin")) < sizeof header->origin;
    if (ok) {
        snprintf(header->origin, sizeof header->origin, "%s", str(value, "origin"));
        memcpy(header->key, key, sizeof header->key);
        header->to_seq = (int64_t)json_integer_value(json_object_get(value, "to_seq"));
    }
    json_decref(value);
    return ok ? 0 : fail(report, 0, "line 1 is not a full-export header for this ledger key");
}

static const verify_key_t *key_find(void *context, const char *keyid)
{
    return vstate_key(context, keyid);
}

/* The signer: a key registered before this seq, not revoked before it, of the right party. */
static int signer_check(vstate_t *state, const json_t *entry, int64_t seq, int64_t time_s, verify_report_t *report)
{
    const char *why = NULL;
    if (verify_entry_signer(entry, seq, time_s, state->skew_s, key_find, state, NULL, &why) != RESULT_OK)
        return fail(report, seq, why);
    return 0;
}

/* Postings: balanced, exactly those the rules give, applied without a negative member. */
static int postings_check(vstate_t *state, const json_t *entry, int64_t seq, ledger_postings_t *expected,
                          verify_report_t *report)
{
    ledger_postings_finish(expected);
    json_t *want = journal_postings_json(expected);
    int same = json_equal(want, json_object_get(entry, "postings"));
    json_decref(want);
    if (!ledger_postings_balanced(expected) || !same)
        return fail(report, seq, "postings are unbalanced or differ from the posting rules");
    for (size_t i = 0; i < expected->count; i++) {
        int64_t *balance = map_slot(&state->accounts, expected->lines[i].account);
        *balance += expected->lines[i].amount;
        const char *account = expected->lines[i].account;
        if ((strncmp(account, "member:", 7) == 0 && *balance < 0) ||
            (strncmp(account, "issued:", 7) == 0 && *balance > 0) ||
            (strncmp(account, "expired:", 8) == 0 && *balance < 0))
            return fail(report, seq, "an account goes below its floor (negative member balance)");
    }
    return 0;
}

static int entry_check(vstate_t *state, const char *line, size_t len, int64_t seq, verify_report_t *report)
{
    json_t *entry = parse_canonical(line, len);
    const char *why = NULL;
    int64_t time_s = 0, previous = seq > 1 ? state->times.items[seq - 1] : 0;
    ledger_postings_t expected = LEDGER_POSTINGS_INIT;
    int has_expected = 0, status = -1;
    if (entry == NULL) {
        status = fail(report, seq, "the line is not canonical JSON (RFC 8785)");
        goto out;
    }
    if (json_integer_value(json_object_get(entry, "seq")) != seq) {
        status = fail(report, seq, "seq is not the next one (missing, duplicated or reordered line)");
        goto out;
    }
    if (ledger_time_parse(str(entry, "time"), &time_s) != 0 || time_s < previous) {
        status = fail(report, seq, "time is malformed or goes backwards");
        goto out;
    }
    VEC_PUSH(state->times, time_s);
    if (signer_check(state, entry, seq, time_s, report) != 0) goto out;
    if (verify_replay(state, entry, seq, time_s, &expected, &has_expected, &why) != 0) {
        status = fail(report, seq, why);
        goto out;
    }
    if (has_expected && postings_check(state, entry, seq, &expected, report) != 0) goto out;
    merkle_hash_t leaf;
    merkle_leaf_hash(line, len, leaf);
    merkle_frontier_append(&state->tree, leaf);
    status = 0;
out:
    ledger_postings_free(&expected);
    json_decref(entry);
    return status;
}

static int checkpoint_check(const vstate_t *state, const vheader_t *header, const char *line, size_t len,
                            verify_report_t *report)
{
    json_t *value = parse_canonical(line, len);
    const char *note = value ? str(value, "checkpoint") : "";
    char *body = NULL, origin[LIMIT_ORIGIN_MAX + 1];
    uint64_t size = 0;
    merkle_hash_t root, computed;
    int status = -1;
    if (value == NULL || json_object_size(value) != 1) {
        fail(report, 0, "the last line is not {\"checkpoint\": note}");
    } else if (note_open(note, strlen(note), header->origin, header->key, &body) != 0) {
        fail(report, 0, "the checkpoint is not signed by the ledger key");
    } else if (note_checkpoint_parse(body, origin, sizeof origin, &size, root) != 0 ||
               strcmp(origin, header->origin) != 0 || size != (uint64_t)header->to_seq || size != state->tree.size) {
        fail(report, 0, "the checkpoint's origin or tree size does not match the export");
    } else {
        merkle_frontier_root(&state->tree, computed);
        if (memcmp(root, computed, MERKLE_HASH_BYTES) != 0)
            fail(report, 0, "the Merkle root differs from the checkpoint");
        else
            status = 0;
    }
    free(body);
    json_decref(value);
    return status;
}

static void state_free(vstate_t *state)
{
    map_free(&state->accounts);
    map_free(&state->members);
    map_free(&state->notices);
    for (size_t i = 0; i < state->member_list.count; i++) {
        free(state->member_list.items[i].lots.items);
        free(state->member_list.items[i].holds.items);
    }
    free(state->member_list.items);
    free(state->keys.items);
    free(state->partners.items);
    free(state->lots.items);
    free(state->portions.items);
    free(state->burns.items);
    free(state->holds.items);
    free(state->webhooks.items);
    free(state->flows.items);
    free(state->times.items);
    free(state->by_seq.items);
}

int verify_export(FILE *in, const uint8_t ledger_key[CRYPTO_ED25519_PUBLIC_BYTES], int64_t skew_s,
                  verify_report_t *report)
{
    vstate_t state;
    vheader_t header;
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int status = -1, done = 0;
    memset(&state, 0, sizeof state);
    memset(report, 0, sizeof *report);
    state.skew_s = skew_s;
    VEC_PUSH(state.times, 0); /* times are indexed by seq */
    while (!done && (got = getline(&line, &cap, in)) > 0) {
        report->failed_line++;
        if (line[got - 1] != '\n' || (size_t)got > LIMIT_EXPORT_LINE_BYTES_MAX) {
            fail(report, 0, "a line is not newline-terminated or too long");
            break;
        }
        size_t len = (size_t)got - 1;
        if (report->failed_line == 1) {
            if (header_check(line, len, ledger_key, &header, report) != 0) break;
        } else if (report->entries < header.to_seq) {
            if (entry_check(&state, line, len, report->entries + 1, report) != 0) break;
            report->entries++;
        } else {
            done = 1;
            status = checkpoint_check(&state, &header, line, len, report);
        }
    }
    if (!done && report->reason[0] == '\0') {
        if (report->failed_line > 0 && report->entries == header.to_seq)
            fail(report, 0, "the checkpoint line is missing");
        else
            fail(report, report->entries + 1, "the export ends early (missing lines)");
    }
    if (status == 0 && getline(&line, &cap, in) > 0) status = fail(report, 0, "lines after the checkpoint");
    if (status == 0) {
        merkle_hash_t root;
        merkle_frontier_root(&state.tree, root);
        char *b64 = crypto_base64_encode(root, MERKLE_HASH_BYTES);
        snprintf(report->root_b64, sizeof report->root_b64, "%s", b64);
        free(b64);
    }
    free(line);
    state_free(&state);
    return status;
}

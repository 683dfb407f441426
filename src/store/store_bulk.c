/* store_bulk.c — the statements of a set-based group of earns and burns (service_movement.c):
 * one round trip reads everything the group needs, one round trip writes all its rows, each table
 * in one multi-row statement. Rows travel as array parameters unnested by the database. A single
 * member's state (store_member_state: holds, captures, reversals, reads) comes from the same
 * statements with arrays of one: one SQL for each read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assert_always.h"
#include "buf.h"
#include "events.h"
#include "log.h"
#include "pg_array.h"
#include "store_internal.h"

#define P(...) ((const char *const[]){__VA_ARGS__})

/* Reads ------------------------------------------------------------------------------------ */
/* Each lookup is a LATERAL subquery with LIMIT, so it stays an index probe per item: a join
 * could be planned as a hash join that reads the whole table. */
enum { R_HEAD, R_LOCKS, R_RECORDS, R_SIGNATURES, R_REFERENCES, R_PARTNERS, R_TOTALS, R_LOTS, R_KEYS, R_COUNT };

static const char *const read_sql[R_COUNT] = {
    [R_HEAD] = "UPDATE journal_head SET "
               "time_s = greatest(time_s, floor(extract(epoch from clock_timestamp()))::bigint) RETURNING seq, time_s",
    [R_LOCKS] = "SELECT pg_try_advisory_xact_lock(hashtextextended(p || chr(10) || k, 7)) "
                "FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(p, k, i) ORDER BY i",
    [R_RECORDS] = "SELECT u.i, r.request_hash, r.status, r.body FROM unnest($1::text[], $2::text[]) "
                  "WITH ORDINALITY AS u(p, k, i) CROSS JOIN LATERAL (SELECT request_hash, status, body "
                  "FROM idempotency WHERE principal = u.p AND key = u.k LIMIT 1 FOR KEY SHARE) r",
    [R_SIGNATURES] = "SELECT u.i, s.principal = u.p AND s.key = u.k FROM unnest($1::bytea[], $2::text[], $3::text[]) "
                     "WITH ORDINALITY AS u(sig, p, k, i) CROSS JOIN LATERAL (SELECT principal, key "
                     "FROM signatures_seen WHERE signature = u.sig LIMIT 1) s",
    [R_REFERENCES] = "SELECT u.i FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS u(p, t, r, i) "
                     "CROSS JOIN LATERAL (SELECT 1 FROM transactions x "
                     "  WHERE x.partner = u.p AND x.reference_key = u.t AND x.reference = u.r LIMIT 1) x",
    [R_PARTNERS] = "SELECT u.i, p.validity_s FROM unnest($1::text[]) WITH ORDINALITY AS u(c, i) "
                   "CROSS JOIN LATERAL (SELECT validity_s FROM partners WHERE code = u.c LIMIT 1) p",
    /* a member's totals at $3, or at the journal head's time when $3 is null (a group being planned);
     * store_member_state runs the same statement for one member */
    [R_TOTALS] = "SELECT u.i, (SELECT coalesce(max(balance), 0) FROM accounts WHERE account = u.a), "
                 "(SELECT coalesce(sum(remaining), 0) FROM lots "
                 " WHERE member = u.m AND remaining > 0 AND expires_s <= coalesce($3::bigint, h.time_s)), "
                 "(SELECT coalesce(sum(points), 0) FROM holds "
                 " WHERE member = u.m AND status = 'active' AND expires_s > coalesce($3::bigint, h.time_s)) "
                 "FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(m, a, i), journal_head h WHERE u.m <> ''",
    /* per burn, the FIFO prefix of spendable lots covering its points at $4 (null: the head's time);
     * earns (need 0) skip the subquery altogether */
    [R_LOTS] =
        "SELECT u.i, l.id, l.issuer, l.remaining, l.expires_s "
        "FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS u(m, need, i) CROSS JOIN journal_head h "
        "CROSS JOIN LATERAL (SELECT id, issuer, remaining, expires_s FROM ("
        "  SELECT id, issuer, remaining, expires_s, "
        "    sum(remaining) OVER (ORDER BY expires_s, id) - remaining AS before FROM lots "
        "  WHERE u.need > 0 AND member = u.m AND remaining > 0 AND expires_s > coalesce($4::bigint, h.time_s)) f "
        "  WHERE f.before < u.need ORDER BY expires_s, id LIMIT $3) l "
        "ORDER BY u.i, l.expires_s, l.id",
    /* each request's signing key as committed now (after the head lock: a revocation committed
     * before this group's seqs is seen) */
    [R_KEYS] = "SELECT u.i, k.role, coalesce(k.partner, ''), k.public_key, coalesce(k.revoked_seq, 0) "
               "FROM unnest($1::text[]) WITH ORDINALITY AS u(keyid, i) CROSS JOIN LATERAL (SELECT role, partner, "
               "public_key, revoked_seq FROM keys WHERE keyid = u.keyid LIMIT 1) k",
};
static const char *const read_name[R_COUNT] = {"bulk_read_head",       "bulk_read_locks",      "bulk_read_records",
                                               "bulk_read_signatures", "bulk_read_references", "bulk_read_partners",
                                               "bulk_read_totals",     "bulk_read_lots",       "bulk_read_keys"};

/* The 0-based item index in column 0 of row (WITH ORDINALITY counts from 1). */
static size_t row_item(const PGresult *res, int row, size_t count)
{
    int64_t ordinal = store_get_i64(res, row, 0);
    ASSERT_ALWAYS(ordinal >= 1 && (uint64_t)ordinal <= count);
    return (size_t)(ordinal - 1);
}

static void read_records(const PGresult *locks, const PGresult *records, const store_bulk_item_t *items, size_t count,
                         store_bulk_read_t *reads)
{
    ASSERT_ALWAYS((size_t)PQntuples(locks) == count);
    for (size_t i = 0; i < count; i++)
        reads[i].idempotency =
            strcmp(PQgetvalue(locks, (int)i, 0), "t") == 0 ? STORE_IDEMPOTENCY_NEW : STORE_IDEMPOTENCY_BUSY;
    for (int row = 0; row < PQntuples(records); row++) {
        size_t i = row_item(records, row, count);
        if (reads[i].idempotency == STORE_IDEMPOTENCY_BUSY) continue;
        char expected[LIMIT_BYTEA_TEXT_BYTES(CRYPTO_SHA256_BYTES)];
        store_bytea_text(items[i].request_hash, CRYPTO_SHA256_BYTES, expected);
        int same = strcmp(PQgetvalue(records, row, 1), expected) == 0;
        reads[i].idempotency = same ? STORE_IDEMPOTENCY_REPLAY : STORE_IDEMPOTENCY_MISMATCH;
        if (same) {
            reads[i].replay_status = (int)store_get_i64(records, row, 2);
            reads[i].replay_body = xstrdup(PQgetvalue(records, row, 3));
        }
    }
}

/* A row of R_TOTALS (column 0 is the item) into state. */
static void totals_row(const PGresult *res, int row, store_member_state_t *state)
{
    state->balance = store_get_i64(res, row, 1);
    state->past_due = store_get_i64(res, row, 2);
    state->held = store_get_i64(res, row, 3);
}

/* A row of R_LOTS appended to state's lots (FIFO order). */
static void lot_row(const PGresult *res, int row, store_member_state_t *state)
{
    state->lots = xrealloc(state->lots, (state->lot_count + 1) * sizeof *state->lots);
    ledger_lot_t *lot = &state->lots[state->lot_count++];
    memset(lot, 0, sizeof *lot);
    lot->id = store_get_i64(res, row, 1);
    snprintf(lot->issuer, sizeof lot->issuer, "%s", PQgetvalue(res, row, 2));
    lot->remaining = store_get_i64(res, row, 3);
    lot->expires_s = store_get_i64(res, row, 4);
}

static void read_rest(PGresult *const *res, size_t count, store_bulk_read_t *reads)
{
    for (int row = 0; row < PQntuples(res[R_SIGNATURES]); row++) {
        size_t i = row_item(res[R_SIGNATURES], row, count);
        int same = strcmp(PQgetvalue(res[R_SIGNATURES], row, 1), "t") == 0;
        reads[i].signature_seen = same;
        reads[i].signature_foreign = !same;
    }
    for (int row = 0; row < PQntuples(res[R_REFERENCES]); row++)
        reads[row_item(res[R_REFERENCES], row, count)].reference_used = 1;
    for (int row = 0; row < PQntuples(res[R_PARTNERS]); row++) {
        size_t i = row_item(res[R_PARTNERS], row, count);
        reads[i].partner_known = 1;
        reads[i].validity_s = store_get_i64(res[R_PARTNERS], row, 1);
    }
    for (int row = 0; row < PQntuples(res[R_TOTALS]); row++)
        totals_row(res[R_TOTALS], row, &reads[row_item(res[R_TOTALS], row, count)].state);
    for (int row = 0; row < PQntuples(res[R_LOTS]); row++)
        lot_row(res[R_LOTS], row, &reads[row_item(res[R_LOTS], row, count)].state);
    const PGresult *keys = res[R_KEYS];
    for (int row = 0; row < PQntuples(keys); row++) {
        store_bulk_read_t *read = &reads[row_item(keys, row, count)];
        read->key_known = store_key_row(keys, row, 1, &read->key) == RESULT_OK;
    }
}

result_t store_bulk_read(store_conn_t *conn, const store_bulk_item_t *items, size_t count, int64_t *last_seq,
                         int64_t *time_s, store_bulk_read_t *reads)
{
    enum { A_PRINCIPAL, A_KEY, A_SIGNATURE, A_TYPE, A_REFERENCE, A_MEMBER, A_ACCOUNT, A_NEED, A_KEYID, A_COUNT };
    pg_array_t a[A_COUNT];
    PGresult *res[R_COUNT] = {NULL};
    char account[LEDGER_ACCOUNT_MAX + 1], limit[LIMIT_INT64_TEXT_BYTES];
    memset(a, 0, sizeof a);
    memset(reads, 0, count * sizeof *reads);
    for (size_t i = 0; i < count; i++) {
        pg_array_text(&a[A_PRINCIPAL], items[i].principal);
        pg_array_text(&a[A_KEY], items[i].key);
        pg_array_bytes(&a[A_SIGNATURE], items[i].signature, CRYPTO_ED25519_SIGNATURE_BYTES);
        pg_array_text(&a[A_TYPE], items[i].type);
        pg_array_text(&a[A_REFERENCE], items[i].reference ? items[i].reference : "");
        pg_array_text(&a[A_MEMBER], items[i].member ? items[i].member : "");
        if (items[i].member) ledger_account_member(account, items[i].member);
        pg_array_text(&a[A_ACCOUNT], items[i].member ? account : "");
        pg_array_i64(&a[A_NEED], items[i].member ? items[i].burn_points : 0);
        pg_array_text(&a[A_KEYID], items[i].keyid);
    }
    const char *t[A_COUNT];
    for (int k = 0; k < A_COUNT; k++)
        t[k] = pg_array_done(&a[k]);
    const char *const *params[R_COUNT] = {
        [R_HEAD] = NULL,
        [R_LOCKS] = P(t[A_PRINCIPAL], t[A_KEY]),
        [R_RECORDS] = P(t[A_PRINCIPAL], t[A_KEY]),
        [R_SIGNATURES] = P(t[A_SIGNATURE], t[A_PRINCIPAL], t[A_KEY]),
        [R_REFERENCES] = P(t[A_PRINCIPAL], t[A_TYPE], t[A_REFERENCE]),
        [R_PARTNERS] = P(t[A_PRINCIPAL]),
        [R_TOTALS] = P(t[A_MEMBER], t[A_ACCOUNT], NULL),
        [R_LOTS] = P(t[A_MEMBER], t[A_NEED], store_i64(limit, LIMIT_BURN_LOTS_MAX + 1), NULL),
        [R_KEYS] = P(t[A_KEYID]),
    };
    static const int param_count[R_COUNT] = {0, 2, 2, 3, 3, 1, 3, 4, 1};
    result_t result = RESULT_OK;
    for (int r = 0; r < R_COUNT && result == RESULT_OK; r++)
        result = store_run_later(conn, read_name[r], read_sql[r], param_count[r], params[r], &res[r]);
    result_t flushed = store_flush(conn);
    if (result == RESULT_OK) result = flushed;
    for (int r = 0; r < R_COUNT && result == RESULT_OK; r++)
        if (res[r] == NULL) result = RESULT_INTERNAL;
    if (result == RESULT_OK && PQntuples(res[R_HEAD]) != 1) { /* the head row deleted by hand */
        log_error("journal_head has no row", NULL);
        result = RESULT_INTERNAL;
    }
    if (result == RESULT_OK) {
        *last_seq = store_get_i64(res[R_HEAD], 0, 0);
        *time_s = store_get_i64(res[R_HEAD], 0, 1);
        conn->head_read = 1;
        result = store_fence_check(conn, *last_seq);
    }
    if (result == RESULT_OK) {
        read_records(res[R_LOCKS], res[R_RECORDS], items, count, reads);
        read_rest(res, count, reads);
    }
    for (int r = 0; r < R_COUNT; r++)
        PQclear(res[r]);
    pg_arrays_free(a, A_COUNT);
    return result;
}

void store_bulk_read_free(store_bulk_read_t *reads, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(reads[i].replay_body);
        reads[i].replay_body = NULL;
        store_member_state_free(&reads[i].state);
    }
}

/* One member's state at now_s: the same statements as a group's read, for a single member. */
result_t store_member_state(store_conn_t *conn, const char *member, int64_t now_s, int64_t need_points,
                            store_member_state_t *state)
{
    pg_array_t a[3];
    char account[LEDGER_ACCOUNT_MAX + 1], now_text[LIMIT_INT64_TEXT_BYTES], limit[LIMIT_INT64_TEXT_BYTES];
    result_t result = RESULT_OK;
    memset(a, 0, sizeof a);
    memset(state, 0, sizeof *state);
    ledger_account_member(account, member);
    pg_array_text(&a[0], member);
    pg_array_text(&a[1], account);
    pg_array_i64(&a[2], need_points > 0 ? need_points : 0);
    const char *members = pg_array_done(&a[0]), *accounts = pg_array_done(&a[1]), *needs = pg_array_done(&a[2]);
    store_i64(now_text, now_s);
    PGresult *res =
        store_run(conn, read_name[R_TOTALS], read_sql[R_TOTALS], 3, P(members, accounts, now_text), &result);
    if (res != NULL && PQntuples(res) == 1) totals_row(res, 0, state);
    PQclear(res);
    if (result == RESULT_OK && need_points > 0) {
        res = store_run(conn, read_name[R_LOTS], read_sql[R_LOTS], 4,
                        P(members, needs, store_i64(limit, LIMIT_BURN_LOTS_MAX + 1), now_text), &result);
        for (int row = 0; res != NULL && row < PQntuples(res); row++)
            lot_row(res, row, state);
        PQclear(res);
    }
    pg_arrays_free(a, 3);
    return result;
}

/* Writes ----------------------------------------------------------------------------------- */
enum {
    W_CLAIM_SIGNATURE,
    W_CLAIM_PRINCIPAL,
    W_CLAIM_KEY,
    W_ENTRY_SEQ,
    W_ENTRY_TIME,
    W_ENTRY_TYPE,
    W_ENTRY_TEXT,
    W_POSTING_SEQ,
    W_POSTING_ACCOUNT,
    W_POSTING_AMOUNT,
    W_TX_SEQ,
    W_TX_PARTNER,
    W_TX_TYPE,
    W_TX_MEMBER,
    W_TX_POINTS,
    W_TX_REFERENCE,
    W_TX_UNIQUE,
    W_TX_ORIGINAL,
    W_LOT_ID,
    W_LOT_ISSUER,
    W_LOT_MEMBER,
    W_LOT_POINTS,
    W_LOT_EXPIRES,
    W_PORTION_BURN,
    W_PORTION_IDX,
    W_PORTION_LOT,
    W_PORTION_ISSUER,
    W_PORTION_REDEEMER,
    W_PORTION_POINTS,
    W_EVENT_PARTNER,
    W_EVENT_SEQ,
    W_IDEM_PRINCIPAL,
    W_IDEM_KEY,
    W_IDEM_HASH,
    W_IDEM_STATUS,
    W_IDEM_BODY,
    W_COUNT
};

struct store_bulk_rows {
    pg_array_t a[W_COUNT];
};

store_bulk_rows_t *store_bulk_rows_new(void)
{
    return xcalloc(1, sizeof(store_bulk_rows_t));
}

void store_bulk_rows_free(store_bulk_rows_t *rows)
{
    if (rows == NULL) return;
    pg_arrays_free(rows->a, W_COUNT);
    free(rows);
}

void store_bulk_claim(store_bulk_rows_t *rows, const uint8_t signature[CRYPTO_ED25519_SIGNATURE_BYTES],
                      const char *principal, const char *key)
{
    pg_array_bytes(&rows->a[W_CLAIM_SIGNATURE], signature, CRYPTO_ED25519_SIGNATURE_BYTES);
    pg_array_text(&rows->a[W_CLAIM_PRINCIPAL], principal);
    pg_array_text(&rows->a[W_CLAIM_KEY], key);
}

void store_bulk_entry(store_bulk_rows_t *rows, int64_t seq, int64_t time_s, const char *type, const char *text,
                      const ledger_postings_t *postings)
{
    ASSERT_ALWAYS(ledger_postings_balanced(postings));
    pg_array_i64(&rows->a[W_ENTRY_SEQ], seq);
    pg_array_i64(&rows->a[W_ENTRY_TIME], time_s);
    pg_array_text(&rows->a[W_ENTRY_TYPE], type);
    pg_array_text(&rows->a[W_ENTRY_TEXT], text);
    /* the feed's index (decision 141): the partners that see an event for this entry, by the
     * feed's own rule (core/events.c), written with the entry */
    json_t *partners = events_text_partners(text);
    ASSERT_ALWAYS(partners != NULL); /* the service built text as a JSON object */
    size_t index;
    json_t *partner;
    json_array_foreach(partners, index, partner)
    {
        pg_array_text(&rows->a[W_EVENT_PARTNER], json_string_value(partner));
        pg_array_i64(&rows->a[W_EVENT_SEQ], seq);
    }
    json_decref(partners);
    for (size_t i = 0; i < postings->count; i++) {
        pg_array_i64(&rows->a[W_POSTING_SEQ], seq);
        pg_array_text(&rows->a[W_POSTING_ACCOUNT], postings->lines[i].account);
        pg_array_i64(&rows->a[W_POSTING_AMOUNT], postings->lines[i].amount);
    }
}

void store_bulk_transaction(store_bulk_rows_t *rows, int64_t seq, const char *partner, const char *type,
                            const char *member, int64_t points, const char *reference, int reference_unique,
                            int64_t original_seq)
{
    pg_array_i64(&rows->a[W_TX_SEQ], seq);
    pg_array_text(&rows->a[W_TX_PARTNER], partner);
    pg_array_text(&rows->a[W_TX_TYPE], type);
    pg_array_text(&rows->a[W_TX_MEMBER], member);
    pg_array_i64(&rows->a[W_TX_POINTS], points);
    pg_array_text(&rows->a[W_TX_REFERENCE], reference);
    pg_array_i64(&rows->a[W_TX_UNIQUE], reference_unique != 0);
    pg_array_i64(&rows->a[W_TX_ORIGINAL], original_seq);
}

void store_bulk_lot(store_bulk_rows_t *rows, int64_t id, const char *issuer, const char *member, int64_t points,
                    int64_t expires_s)
{
    pg_array_i64(&rows->a[W_LOT_ID], id);
    pg_array_text(&rows->a[W_LOT_ISSUER], issuer);
    pg_array_text(&rows->a[W_LOT_MEMBER], member);
    pg_array_i64(&rows->a[W_LOT_POINTS], points);
    pg_array_i64(&rows->a[W_LOT_EXPIRES], expires_s);
}

void store_bulk_portions(store_bulk_rows_t *rows, int64_t burn_seq, const char *redeemer, const ledger_lot_t *lots,
                         const ledger_burn_plan_t *plan)
{
    for (size_t i = 0; i < plan->count; i++) {
        const ledger_lot_t *lot = &lots[plan->portions[i].lot_index];
        pg_array_i64(&rows->a[W_PORTION_BURN], burn_seq);
        pg_array_i64(&rows->a[W_PORTION_IDX], (int64_t)i);
        pg_array_i64(&rows->a[W_PORTION_LOT], lot->id);
        pg_array_text(&rows->a[W_PORTION_ISSUER], lot->issuer);
        pg_array_text(&rows->a[W_PORTION_REDEEMER], redeemer);
        pg_array_i64(&rows->a[W_PORTION_POINTS], plan->portions[i].points);
    }
}

void store_bulk_idempotency(store_bulk_rows_t *rows, const char *principal, const char *key,
                            const uint8_t hash[CRYPTO_SHA256_BYTES], int status, const char *body)
{
    pg_array_text(&rows->a[W_IDEM_PRINCIPAL], principal);
    pg_array_text(&rows->a[W_IDEM_KEY], key);
    pg_array_bytes(&rows->a[W_IDEM_HASH], hash, CRYPTO_SHA256_BYTES);
    pg_array_i64(&rows->a[W_IDEM_STATUS], status);
    pg_array_text(&rows->a[W_IDEM_BODY], body);
}

typedef struct {
    const char *name;
    const char *sql;
    int first; /* the statement's parameters are arrays first .. first + count - 1 */
    int count;
} write_t;

/* In foreign-key order: journal, then transactions before postings: a row the database refuses at
 * write time (a reference another instance took first) is most often a transactions row, and a
 * refused write then stops before the postings and their balance updates (decision 101). */
static const write_t writes[] = {
    {"bulk_claims",
     "INSERT INTO signatures_seen (signature, principal, key, seen_s) "
     "SELECT s, p, k, floor(extract(epoch from now()))::bigint FROM unnest($1::bytea[], $2::text[], $3::text[]) "
     "AS u(s, p, k)",
     W_CLAIM_SIGNATURE, 3},
    {"bulk_entries",
     "INSERT INTO journal (seq, time_s, type, text) "
     "SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) AS u(s, t, y, x) ORDER BY s",
     W_ENTRY_SEQ, 4},
    {"bulk_transactions",
     "INSERT INTO transactions (seq, partner, type, member, points, reference, reference_key, original_seq) "
     "SELECT s, p, t, m, n, r, CASE WHEN q = 1 THEN t END, nullif(o, 0) FROM unnest($1::bigint[], $2::text[], "
     "$3::text[], $4::text[], $5::bigint[], $6::text[], $7::int[], $8::bigint[]) AS u(s, p, t, m, n, r, q, o)",
     W_TX_SEQ, 8},
    {"bulk_postings",
     "INSERT INTO postings (seq, account, amount) SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[])",
     W_POSTING_SEQ, 3},
    {"bulk_lots",
     "INSERT INTO lots (id, issuer, member, points, remaining, expires_s) "
     "SELECT i, s, m, p, p, e FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[]) "
     "AS u(i, s, m, p, e)",
     W_LOT_ID, 5},
    {"bulk_portions",
     "WITH c AS (SELECT * FROM unnest($1::bigint[], $2::int[], $3::bigint[], $4::text[], $5::text[], $6::bigint[]) "
     "  AS u(burn_seq, idx, lot_id, issuer, redeemer, points)), "
     "inserted AS (INSERT INTO burn_portions (burn_seq, idx, lot_id, issuer, redeemer, points, value_seq) "
     "  SELECT burn_seq, idx, lot_id, issuer, redeemer, points, (SELECT max(seq) FROM point_values) FROM c) "
     "UPDATE lots SET remaining = remaining - (SELECT sum(points) FROM c WHERE c.lot_id = lots.id) "
     "WHERE id = ANY ($3::bigint[])",
     W_PORTION_BURN, 6},
    {"bulk_idempotency",
     "INSERT INTO idempotency (principal, key, request_hash, status, body, created_s) "
     "SELECT p, k, h, s, b, floor(extract(epoch from now()))::bigint "
     "FROM unnest($1::text[], $2::text[], $3::bytea[], $4::int[], $5::text[]) AS u(p, k, h, s, b)",
     W_IDEM_PRINCIPAL, 5},
    /* last: the feed's index refuses nothing a well-formed entry can hold */
    {"bulk_events",
     "INSERT INTO partner_events (partner, seq) SELECT * FROM unnest($1::text[], $2::bigint[])", W_EVENT_PARTNER, 2},
};

result_t store_bulk_write(store_conn_t *conn, store_bulk_rows_t *rows)
{
    result_t result = RESULT_OK;
    for (size_t w = 0; w < sizeof writes / sizeof writes[0] && result == RESULT_OK; w++) {
        const write_t *write = &writes[w];
        if (rows->a[write->first].count == 0) continue;
        const char *params[8];
        ASSERT_ALWAYS(write->count <= 8);
        for (int i = 0; i < write->count; i++) {
            ASSERT_ALWAYS(rows->a[write->first + i].count > 0);
            params[i] = pg_array_done(&rows->a[write->first + i]);
        }
        result = store_exec_later(conn, write->name, write->sql, write->count, params, "transactions_reference_unique",
                                  RESULT_DUPLICATE_REFERENCE);
    }
    return result; /* the journal's trigger moves the head's seq to the entries just written */
}

int store_bulk_refused_reference(const store_conn_t *conn, const char *partner, const char *type, const char *reference)
{
    /* PostgreSQL's words for transactions_reference_unique (partner, reference_key, reference),
     * reference_key being the type: a partner code holds no ", ", so one text names one key */
    if (strcmp(conn->sqlstate, "23505") != 0 || strcmp(conn->constraint, "transactions_reference_unique") != 0)
        return 0;
    char expected[LIMIT_PG_DETAIL_TEXT_BYTES];
    int length =
        snprintf(expected, sizeof expected, "Key (partner, reference_key, reference)=(%s, %s, %s) already exists.",
                 partner, type, reference);
    return length > 0 && (size_t)length < sizeof expected && strcmp(conn->detail, expected) == 0;
}

/* The single-row writes of the operations that run one request at a time (holds, captures,
 * reversals, admin, expiry, settlement): the same statements as a group's, with one row. */
static result_t rows_write(store_conn_t *conn, store_bulk_rows_t *rows)
{
    result_t result = store_bulk_write(conn, rows);
    store_bulk_rows_free(rows);
    return result;
}

result_t store_journal_insert(store_conn_t *conn, int64_t seq, int64_t time_s, const char *type, const char *text,
                              const ledger_postings_t *postings)
{
    store_bulk_rows_t *rows = store_bulk_rows_new();
    store_bulk_entry(rows, seq, time_s, type, text, postings);
    return rows_write(conn, rows);
}

result_t store_transaction_insert(store_conn_t *conn, int64_t seq, const char *partner, const char *type,
                                  const char *member, int64_t points, const char *reference, int reference_unique,
                                  int64_t original_seq)
{
    store_bulk_rows_t *rows = store_bulk_rows_new();
    store_bulk_transaction(rows, seq, partner, type, member, points, reference, reference_unique, original_seq);
    return rows_write(conn, rows);
}

result_t store_portions_insert(store_conn_t *conn, int64_t burn_seq, const char *redeemer, const ledger_lot_t *lots,
                               const ledger_burn_plan_t *plan)
{
    store_bulk_rows_t *rows = store_bulk_rows_new();
    store_bulk_portions(rows, burn_seq, redeemer, lots, plan);
    return rows_write(conn, rows);
}

/* ledger.h — the domain rules of spec 2–5: identifier shapes, accounts, lots, FIFO burning,
 * availability, reversals and double-entry postings. Pure: no I/O, no database, no OpenSSL. */
#ifndef LEDGER_LEDGER_H
#define LEDGER_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"
#include "result.h"

/* Account names are "<kind>:<a>[:<b>]", bounded by the identifier limits. */
#define LEDGER_ACCOUNT_MAX (16 + LIMIT_MEMBER_REF_MAX + 2 * LIMIT_PARTNER_CODE_MAX)

int ledger_partner_code_valid(const char *code);
int ledger_member_ref_valid(const char *ref);
int ledger_reference_valid(const char *reference);
int ledger_keyid_valid(const char *keyid);
int ledger_idempotency_key_valid(const char *key);
int ledger_partner_name_valid(const char *name);

typedef struct {
    char account[LEDGER_ACCOUNT_MAX + 1];
    int64_t amount;
} ledger_posting_t;

/* A list of postings, at most one per account (amounts merged on add; zero lines dropped).
 * Owns its lines; ledger_postings_free releases them. */
typedef struct {
    ledger_posting_t *lines;
    size_t count;
    size_t cap;
} ledger_postings_t;

#define LEDGER_POSTINGS_INIT                                                                                           \
    {                                                                                                                  \
        NULL, 0, 0                                                                                                     \
    }
void ledger_postings_free(ledger_postings_t *postings);

void ledger_postings_add(ledger_postings_t *postings, const char *account, int64_t amount);
/* Appends without merging: the caller guarantees account is not in the list yet. */
void ledger_postings_append(ledger_postings_t *postings, const char *account, int64_t amount);
/* Drops zero lines and sorts by account (the stored order). */
void ledger_postings_finish(ledger_postings_t *postings);
/* 1 when the amounts sum to zero without overflow. */
int ledger_postings_balanced(const ledger_postings_t *postings);

void ledger_account_member(char out[LEDGER_ACCOUNT_MAX + 1], const char *member);
void ledger_account_issued(char out[LEDGER_ACCOUNT_MAX + 1], const char *issuer);
void ledger_account_redeemed(char out[LEDGER_ACCOUNT_MAX + 1], const char *redeemer, const char *issuer);

typedef struct {
    int64_t id; /* the earn's seq */
    char issuer[LIMIT_PARTNER_CODE_MAX + 1];
    int64_t remaining;
    int64_t expires_s;
} ledger_lot_t;

typedef struct {
    size_t lot_index; /* index into the lots array given to the planner */
    int64_t points;
} ledger_portion_t;

typedef struct {
    ledger_portion_t portions[LIMIT_BURN_LOTS_MAX];
    size_t count;
} ledger_burn_plan_t;

/* Spec 4: a lot is spendable at now_s iff remaining > 0 and expires_s > now_s. */
int ledger_lot_spendable(const ledger_lot_t *lot, int64_t now_s);

/* Spec 4 and docs/decisions.md 68: available = max(0, balance - past_due - held), computed
 * wide so any int64 inputs give an answer. past_due: remaining points of lots past expires_s;
 * held: points of active, unexpired holds (for a capture, without the captured hold's own).
 * The raw figure is negative when a hold outlives the lots it reserved (they expired before
 * capture): the member then shows 0 available, burns and new holds are refused, earns are
 * not, and a capture can only take what live lots hold. The one availability rule: the
 * service (every operation) and the offline verifier both call it. */
int64_t ledger_available(int64_t balance, int64_t past_due, int64_t held);
/* Remaining points of lots[] that are past due at now_s (remaining > 0, expires_s <= now_s). */
int64_t ledger_past_due(const ledger_lot_t *lots, size_t lot_count, int64_t now_s);
/* Remaining points of lots[] still spendable at now_s (saturating sum). */
int64_t ledger_spendable(const ledger_lot_t *lots, size_t lot_count, int64_t now_s);

/* Spec 4: consumes points from lots in (expires_s ASC, id ASC) order, skipping past-due lots.
 * lots must already be in that order (asserted). The caller checks availability first, but the
 * lots decide: RESULT_INSUFFICIENT_POINTS when they hold less (plan->count 0), RESULT_TOO_MANY_LOTS,
 * RESULT_INVALID_FIELD for points outside 1..LIMIT_POINTS_MAX; lots are never touched. */
result_t ledger_burn_plan(const ledger_lot_t *lots, size_t lot_count, int64_t points, int64_t now_s,
                          ledger_burn_plan_t *plan);

/* 1 when an earn of points keeps the member's balance within LIMIT_BALANCE_MAX (any int64 in). */
int ledger_earn_fits(int64_t balance, int64_t points);

/* Postings of an earn (member +p, issued:issuer -p). */
void ledger_earn_postings(const char *member, const char *issuer, int64_t points, ledger_postings_t *postings);
/* Postings of a burn at redeemer: member -Σ, redeemed:redeemer:issuer +q per issuer. sign = -1
 * gives the exact negation (a burn reversal). */
void ledger_burn_postings(const char *member, const char *redeemer, const ledger_lot_t *lots,
                          const ledger_burn_plan_t *plan, int sign, ledger_postings_t *postings);

/* Spec 5, earn reversal: how much can still be taken back. */
int64_t ledger_earn_reversible(int64_t original_points, int64_t already_reversed, int64_t lot_remaining,
                               int lot_spendable, int64_t member_available);

/* Spec 5, burn reversal: a consumed portion with what is left to restore. */
typedef struct {
    int64_t lot_id;
    char issuer[LIMIT_PARTNER_CODE_MAX + 1];
    int64_t points;
    int64_t reversed;
    int index; /* portion index within the burn */
} ledger_consumed_t;

/* Restores up to `points` last-consumed first. Writes per-portion amounts to restore[i]
 * (same indexing as consumed). Returns the total restored. */
int64_t ledger_burn_reversal_plan(const ledger_consumed_t *consumed, size_t count, int64_t points, int64_t *restore);

/* Spec 6: one lot amount an expiry books. */
typedef struct {
    int64_t lot_id;
    char member[LIMIT_MEMBER_REF_MAX + 1];
    char issuer[LIMIT_PARTNER_CODE_MAX + 1];
    int64_t points; /* the lot's remaining points, all of which expire */
} ledger_expiring_t;

/* Postings of an expiry chunk: member -r per member, expired:<issuer> +r per issuer.
 * Sorts lots by (member, lot_id) in place. */
void ledger_expiry_postings(ledger_expiring_t *lots, size_t count, ledger_postings_t *postings);

/* Checked int64 addition; returns 0 on overflow. */
int ledger_add_checked(int64_t a, int64_t b, int64_t *out);

/* 9999-12-31T23:59:59Z: the last time the RFC 3339 shape below can write. */
#define LEDGER_TIME_MAX_S 253402300799LL
/* RFC 3339 UTC "YYYY-MM-DDTHH:MM:SSZ" (21 bytes with NUL). Times outside 0..LEDGER_TIME_MAX_S
 * are written as the nearest end of that range: callers that accept times from outside (the
 * verifier) check the range first. */
void ledger_time_format(int64_t unix_s, char out[LIMIT_TIME_TEXT_BYTES]);
/* Parses that exact shape (fractional seconds refused). Returns 0 on success. */
int ledger_time_parse(const char *text, int64_t *unix_s);

#endif

/* verify_internal.h — the offline verifier's replay state (verify_export.c, verify_replay.c). */
#ifndef LEDGER_VERIFY_INTERNAL_H
#define LEDGER_VERIFY_INTERNAL_H

#include <jansson.h>
#include <stdint.h>

#include "ledger.h"
#include "map.h"
#include "merkle.h"
#include "settlement.h"
#include "verify.h"

#define VEC(type)                                                                                                      \
    struct {                                                                                                           \
        type *items;                                                                                                   \
        size_t count, cap;                                                                                             \
    }
#define VEC_PUSH(vec, value)                                                                                           \
    do {                                                                                                               \
        if ((vec).count == (vec).cap) {                                                                                \
            (vec).cap = (vec).cap ? 2 * (vec).cap : 16;                                                                \
            (vec).items = xrealloc((vec).items, (vec).cap * sizeof *(vec).items);                                      \
        }                                                                                                              \
        (vec).items[(vec).count++] = (value);                                                                          \
    } while (0)

typedef struct {
    char code[LIMIT_PARTNER_CODE_MAX + 1];
    int64_t validity_s;
    int64_t seq;
} vpartner_t;

typedef struct {
    int64_t id; /* the earn's seq */
    int64_t member;
    char issuer[LIMIT_PARTNER_CODE_MAX + 1];
    int64_t points, remaining, expires_s, reversed;
} vlot_t;

typedef struct {
    int64_t lot; /* index into lots */
    int64_t points, reversed, value_num, value_den;
} vportion_t;

typedef struct {
    char partner[LIMIT_PARTNER_CODE_MAX + 1];
    int64_t member;
    int64_t points, reversed;
    size_t first_portion, portion_count;
} vburn_t;

typedef struct {
    char partner[LIMIT_PARTNER_CODE_MAX + 1];
    int64_t member, points, expires_s;
    int open;
} vhold_t;

typedef struct {
    VEC(int64_t) lots;
    VEC(int64_t) holds;
} vmember_t;

typedef struct {
    int64_t seq;
    settlement_flow_t flow;
} vflow_t;

typedef struct {
    map_t accounts; /* account -> balance */
    map_t members;  /* member ref -> index + 1 */
    map_t notices;  /* "<lot seq>:<threshold days>" announced by an expiry_notice -> 1 */
    VEC(vmember_t) member_list;
    VEC(verify_key_t) keys;
    VEC(vpartner_t) partners;
    VEC(vlot_t) lots;
    VEC(vportion_t) portions;
    VEC(vburn_t) burns;
    VEC(vhold_t) holds;
    VEC(vflow_t) flows;  /* redemptions since the last settlement's cutoff */
    VEC(int64_t) times;  /* entry time by seq (index seq) */
    VEC(int64_t) by_seq; /* seq -> index + 1 of the lot (earn), burn, or hold created there */
    int64_t value_num, value_den;
    int64_t last_cutoff, last_period_end;
    merkle_frontier_t tree;
    int64_t skew_s;
} vstate_t;

/* Type-specific replay of one entry (verify_replay.c); the postings are checked by the caller
 * against *expected when the function sets it (owned by the caller). Returns 0 or -1 + *why. */
int verify_replay(vstate_t *state, const json_t *entry, int64_t seq, int64_t time_s, ledger_postings_t *expected,
                  int *has_expected, const char **why);

verify_key_t *vstate_key(vstate_t *state, const char *keyid);
vpartner_t *vstate_partner(vstate_t *state, const char *code);

#endif

/* service_movement.h — earns and burns: one implementation of each rule (service_movement.c),
 * applied set-based in batches of any size (a request alone is a batch of one). Hold capture
 * uses the same burn rule. */
#ifndef LEDGER_SERVICE_MOVEMENT_H
#define LEDGER_SERVICE_MOVEMENT_H

#include "service.h"

/* Earn and burn bodies: {member, points, reference}. */
typedef struct {
    const char *member;
    const char *reference;
    int64_t points;
    int has_points;
} service_movement_t;

/* 1 when body holds only the allowed fields and a valid member, points (required or not) and
 * reference; else 0 with the refusal (400 invalid_field with its field) in outcome. */
int service_movement_parse(const json_t *body, const char *const *allowed, int points_required,
                           service_movement_t *movement, service_outcome_t *outcome);

extern const service_operation_t service_earn_operation;
extern const service_operation_t service_burn_operation;

/* A burn of points of member's lots at time_s; hold_seq > 0: the capture of that hold, whose own
 * reservation hold_points is counted in the member's held points and so available to it. */
typedef struct {
    const char *member;
    const char *reference;
    int64_t points;
    int64_t hold_seq;
    int64_t hold_points;
} service_burn_t;

/* The burn rule on the member's state read at time_s (lots: the FIFO prefix covering the points):
 * availability (ledger_available), the FIFO plan, the entry's postings and fields. 1 with plan,
 * postings and *fields (owned) filled; 0 with the refusal in outcome. */
int service_burn_rule(const service_burn_t *burn, const char *redeemer, const store_member_state_t *state,
                      int64_t time_s, ledger_burn_plan_t *plan, ledger_postings_t *postings, json_t **fields,
                      service_outcome_t *outcome);

#endif

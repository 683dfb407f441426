/* ratelimit.h — per-partner token buckets (requests per second, burst of one second's worth),
 * configured by LEDGER_RATE_LIMITS="*=200,coffee=1000" ("*" applies to every other partner). */
#ifndef LEDGER_RATELIMIT_H
#define LEDGER_RATELIMIT_H

typedef struct ratelimit ratelimit_t;

/* spec NULL or "" means no limits (returns NULL, *error NULL). On a bad spec returns NULL and
 * sets *error (static text): a rule not partner=rate with 0 < rate <= 1e6, a partner code over
 * LIMIT_PARTNER_CODE_MAX, more than LIMIT_RATELIMIT_RULES_MAX rules, or a partner named twice. */
ratelimit_t *ratelimit_create(const char *spec, const char **error);
/* 0 when partner may proceed now, else the whole seconds to wait before a token is available.
 * The configured rates are the deployment's: with instances (>= 1) ledgerd running, each allows
 * its share, rate / instances per second (burst of one second's share, at least one token), so
 * the instances together allow the configured rate when the balancer spreads the load evenly
 * and less, never more, when it does not. */
int ratelimit_take(ratelimit_t *limits, const char *partner, double now_s, int instances);
void ratelimit_destroy(ratelimit_t *limits);

#endif

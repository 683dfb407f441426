/* ratelimit.c — see ratelimit.h. One mutex; buckets are created on a partner's first request
 * and bounded by the number of partners. */
#include "ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assert_always.h"
#include "buf.h"
#include "limits.h"
#include "map.h"

typedef struct {
    char partner[LIMIT_PARTNER_CODE_MAX + 1]; /* "*" for the default */
    double per_second;
} rule_t;

typedef struct {
    double tokens;
    double last_s;
} bucket_t;

struct ratelimit {
    pthread_mutex_t lock;
    rule_t rules[LIMIT_RATELIMIT_RULES_MAX];
    size_t rule_count;
    map_t index; /* partner -> bucket index + 1 */
    bucket_t *buckets;
    size_t bucket_count, bucket_cap;
};

static int parse_rule(const char *text, size_t len, rule_t *rule)
{
    const char *equals = memchr(text, '=', len);
    if (equals == NULL || equals == text || (size_t)(equals - text) > LIMIT_PARTNER_CODE_MAX) return -1;
    memcpy(rule->partner, text, (size_t)(equals - text));
    rule->partner[equals - text] = '\0';
    char number[LIMIT_RATELIMIT_RATE_TEXT_BYTES], *end = NULL;
    size_t number_len = len - (size_t)(equals - text) - 1;
    if (number_len == 0 || number_len >= sizeof number) return -1;
    memcpy(number, equals + 1, number_len);
    number[number_len] = '\0';
    rule->per_second = strtod(number, &end);
    return *end == '\0' && rule->per_second > 0 && rule->per_second <= 1e6 ? 0 : -1;
}

/* The rule just parsed (at rule_count) names a partner an earlier rule names: which one meant? */
static int rule_repeated(const ratelimit_t *limits)
{
    const char *partner = limits->rules[limits->rule_count].partner;
    for (size_t i = 0; i < limits->rule_count; i++)
        if (strcmp(limits->rules[i].partner, partner) == 0) return 1;
    return 0;
}

ratelimit_t *ratelimit_create(const char *spec, const char **error)
{
    *error = NULL;
    if (spec == NULL || spec[0] == '\0') return NULL;
    ratelimit_t *limits = xcalloc(1, sizeof *limits);
    pthread_mutex_init(&limits->lock, NULL);
    for (const char *s = spec; *s;) {
        size_t len = strcspn(s, ",");
        if (limits->rule_count == LIMIT_RATELIMIT_RULES_MAX ||
            parse_rule(s, len, &limits->rules[limits->rule_count]) != 0)
            *error = "LEDGER_RATE_LIMITS must be partner=requests_per_second[,…] (\"*\" for every other partner)";
        else if (rule_repeated(limits))
            *error = "LEDGER_RATE_LIMITS names a partner (or \"*\") twice";
        if (*error != NULL) {
            ratelimit_destroy(limits);
            return NULL;
        }
        limits->rule_count++;
        s += len + (s[len] == ',');
    }
    return limits;
}

static double rate_of(const ratelimit_t *limits, const char *partner)
{
    double fallback = 0;
    for (size_t i = 0; i < limits->rule_count; i++) {
        if (strcmp(limits->rules[i].partner, partner) == 0) return limits->rules[i].per_second;
        if (strcmp(limits->rules[i].partner, "*") == 0) fallback = limits->rules[i].per_second;
    }
    return fallback;
}

int ratelimit_take(ratelimit_t *limits, const char *partner, double now_s, int instances)
{
    if (limits == NULL) return 0;
    ASSERT_ALWAYS(instances >= 1);
    double rate = rate_of(limits, partner) / instances; /* this instance's share of the deployment's rate */
    if (rate <= 0) return 0;
    double burst = rate < 1 ? 1 : rate;
    int wait_s = 0;
    pthread_mutex_lock(&limits->lock);
    int64_t *slot = map_slot(&limits->index, partner);
    if (*slot == 0) {
        if (limits->bucket_count == limits->bucket_cap) {
            limits->bucket_cap = limits->bucket_cap ? 2 * limits->bucket_cap : 16;
            limits->buckets = xrealloc(limits->buckets, limits->bucket_cap * sizeof *limits->buckets);
        }
        limits->buckets[limits->bucket_count++] = (bucket_t){burst, now_s};
        *slot = (int64_t)limits->bucket_count;
    }
    bucket_t *bucket = &limits->buckets[*slot - 1];
    bucket->tokens = fmin(burst, bucket->tokens + (now_s - bucket->last_s) * rate);
    bucket->last_s = now_s;
    if (bucket->tokens >= 1)
        bucket->tokens -= 1;
    else
        wait_s = (int)ceil((1 - bucket->tokens) / rate);
    pthread_mutex_unlock(&limits->lock);
    return wait_s;
}

void ratelimit_destroy(ratelimit_t *limits)
{
    if (limits == NULL) return;
    map_free(&limits->index);
    free(limits->buckets);
    pthread_mutex_destroy(&limits->lock);
    free(limits);
}

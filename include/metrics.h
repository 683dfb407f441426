/* metrics.h — Prometheus text metrics: requests by route and status, latency histogram per
 * route, database pool gauges. Route labels are the route patterns, so cardinality is bounded. */
#ifndef LEDGER_METRICS_H
#define LEDGER_METRICS_H

#include <stdint.h>

#include "store.h"

void metrics_request(const char *route, int status, uint64_t duration_us);
/* One group-commit batch of requests: committed together, or fell back to one transaction each. */
/* Earns and burns the writer applied set-based (counted when written). */
void metrics_write_bulk(size_t requests, int written);
void metrics_write_batch(size_t requests, int committed);
/* Owned text/plain exposition. pool may be NULL. */
char *metrics_render(store_pool_t *pool);

#endif

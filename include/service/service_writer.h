/* service_writer.h — how a mutation reaches its commit. With a writer (group commit), one thread
 * and session applies queued mutations in batches of up to max_batch per transaction; without
 * one, the caller's session applies it at once. Either way through service_batch.c: the same
 * planning code and SQL for a batch of one as for a batch of many. */
#ifndef LEDGER_SERVICE_WRITER_H
#define LEDGER_SERVICE_WRITER_H

#include <stddef.h>

#include "service.h"

/* Applies request with operation: queued to request->writer (then request->on_done is required;
 * response->pending until the writer has filled it, 503 database_busy with Retry-After at once
 * when LIMIT_WRITE_QUEUE_MAX mutations are already queued), else in its own transaction on conn. */
void service_mutate(store_conn_t *conn, const service_request_t *request, const service_operation_t *operation,
                    service_response_t *response);

/* Owned writer, or NULL when its thread cannot start. After stop (which answers everything
 * queued), submissions are answered 503 at once. */
service_writer_t *service_writer_start(const char *database_url, size_t max_batch);
void service_writer_stop(service_writer_t *writer);
void service_writer_free(service_writer_t *writer);
/* /healthz (spec 12): NULL while the writer (or, with none, the direct path) can take writes,
 * else why not (static text): a batch in progress or a mutation queued longer than
 * LIMIT_WRITE_STUCK_MS (without a writer: mutations in progress that long with none committed),
 * or no working database session (reconnected and probed every LIMIT_WRITE_PROBE_MS), or this
 * process fenced (store_fenced; with or without a writer). */
const char *service_writer_trouble(service_writer_t *writer);
/* 1 when this instance's writer holds the deployment's writer lease and has no trouble: the
 * balancer sends writes here (GET /healthz/writer). Any instance may still write: the journal
 * head serializes writers; the lease only keeps the append point's queue in one place. */
int service_writer_leads(service_writer_t *writer);
/* The ledgerd instances on this database, as last counted (every LIMIT_INSTANCES_REFRESH_MS);
 * 1 without a writer. Rate limits divide by it. */
int service_writer_instances(service_writer_t *writer);

#endif

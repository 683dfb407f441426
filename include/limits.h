/* limits.h — every bound in the service, in one place, with the reason for it.
 * Included as "limits.h" (quote include path only), never shadowing <limits.h>. */
#ifndef LEDGER_LIMITS_H
#define LEDGER_LIMITS_H

/* Spec 2: points per request are 1..1e9; keeps every sum of a few thousand lines in int64. */
#define LIMIT_POINTS_MIN 1
#define LIMIT_POINTS_MAX 1000000000LL

/* Spec 2: identifier shapes. */
#define LIMIT_PARTNER_CODE_MAX 32
#define LIMIT_MEMBER_REF_MAX   64
#define LIMIT_REFERENCE_MAX    128
#define LIMIT_KEYID_MAX        64
#define LIMIT_PARTNER_NAME_MAX 200
/* Spec 8: Idempotency-Key is 1..128 chars. */
#define LIMIT_IDEMPOTENCY_KEY_MAX 128

/* Spec 4: hold ttl 1..86400 s, default 900 s. */
#define LIMIT_HOLD_TTL_MIN_S     1
#define LIMIT_HOLD_TTL_MAX_S     86400
#define LIMIT_HOLD_TTL_DEFAULT_S 900
/* Spec 4: default lot validity 180 days; at most 10 years so expires_at stays a sane date. */
#define LIMIT_VALIDITY_DEFAULT_S 15552000LL
#define LIMIT_VALIDITY_MAX_S     315360000LL

/* Issue 2: request bodies above 1 MiB are refused with 413 before parsing. */
#define LIMIT_BODY_BYTES_MAX (1024 * 1024)
/* Header bytes per connection (MHD connection memory); oversize headers get 431/413 from MHD. */
#define LIMIT_CONNECTION_MEMORY_BYTES (16 * 1024)
/* JSON nesting depth accepted; requests are flat, 32 is generous. */
#define LIMIT_JSON_DEPTH_MAX 32
/* Signature-Input / Signature header length; a real one is < 300 bytes. */
#define LIMIT_SIGNATURE_HEADER_MAX 1024
/* Number of covered components we ever parse (profile needs 5). */
#define LIMIT_SIGNATURE_COMPONENTS_MAX 8

/* A burn may touch at most this many lots: bounds the work and the entry size of one request.
 * A member with more live lots than this can still burn; the burn just needs fewer lots than this. */
#define LIMIT_BURN_LOTS_MAX 1000
/* Lots loaded for one member when planning a burn (FIFO window). */
#define LIMIT_MEMBER_LOTS_LOAD_MAX 5000

/* Expiry runs work in chunks of at most this many lots per journal entry and transaction:
 * bounded memory and entry size (~100 bytes per lot), and short lock holds for concurrent burns. */
#define LIMIT_EXPIRY_CHUNK_LOTS 5000
/* Default interval of the scheduled expiry run inside ledgerd (LEDGER_EXPIRY_INTERVAL_S). */
#define LIMIT_EXPIRY_INTERVAL_DEFAULT_S 3600
/* Operator report of points expiring in the next N days: 1..LIMIT_EXPIRING_DAYS_MAX. */
#define LIMIT_EXPIRING_DAYS_MAX 366

/* Member history pagination. */
#define LIMIT_PAGE_DEFAULT 50
#define LIMIT_PAGE_MAX     200

/* Spec 9: default clock skew window, seconds. */
#define LIMIT_CLOCK_SKEW_DEFAULT_S 300

/* HTTP worker threads and database connections (one connection per worker). */
#define LIMIT_HTTP_THREADS_DEFAULT      8
#define LIMIT_WRITE_BATCH_DEFAULT       64 /* mutations per group-commit transaction */
#define LIMIT_WRITE_BATCH_MAX           1024
#define LIMIT_HTTP_CONNECTIONS_MAX      16384 /* and below the open-files limit, less a reserve */
#define LIMIT_FILES_RESERVE             256
#define LIMIT_HTTP_CONNECTION_TIMEOUT_S 30

/* Transient database failures (serialization, deadlock) are retried at most this often. */
#define LIMIT_DB_RETRIES 5

/* Idempotency keys are kept at least 7 days (spec 8); we keep them 8. */
#define LIMIT_IDEMPOTENCY_KEEP_S (8 * 86400)

/* ledgerctl call: response bytes read at most. */
#define LIMIT_CLIENT_RESPONSE_BYTES_MAX (256 * 1024 * 1024)

/* Issue 16 (HTTP hardening). MHD's connection timeout is only an idle timeout: a client sending one
 * byte per idle window held a connection for ever. A request (headers and body) must arrive
 * complete within this many seconds of its start (the connection's accept; on a kept-alive
 * connection, its request line), else the connection is shut down. 1 MiB at 1 Mbit/s takes 8 s. */
#define LIMIT_HTTP_REQUEST_DEADLINE_DEFAULT_S 10
#define LIMIT_HTTP_REQUEST_DEADLINE_MAX_S     3600
/* How often the deadline sweeper looks for overdue requests (the deadline's precision). */
#define LIMIT_HTTP_SWEEP_INTERVAL_MS 250
/* Connections one client address may hold at once (LEDGER_HTTP_CONNECTIONS_PER_ADDRESS; 0 = no
 * limit, for deployments behind a reverse proxy). 512: a partner's connection pool behind one NAT
 * address fits, one address can no longer take the 16,384 slots (512 x 16 KiB = 8 MiB of headers). */
#define LIMIT_HTTP_CONNECTIONS_PER_ADDRESS_DEFAULT 512
/* Bytes of request bodies buffered at once across all connections (LEDGER_HTTP_BODY_BYTES_IN_FLIGHT):
 * 64 full-size bodies; past it a request gets 503 server_busy before its body is read. */
#define LIMIT_HTTP_BODY_BYTES_IN_FLIGHT_DEFAULT (64LL * 1024 * 1024)
#define LIMIT_HTTP_BODY_BYTES_IN_FLIGHT_MAX     (16LL * 1024 * 1024 * 1024)
/* Query parameters in a request target; the API reads at most three (limit, after, days). */
#define LIMIT_QUERY_PARAMETERS_MAX 32

#endif

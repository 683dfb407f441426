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
/* Spec 10: an entry's time may follow its signature's `created` by the skew window plus this
 * much, the longest a request accepted at the edge of the window may wait for its commit. The
 * write path refuses (401 signature_expired) an entry that would fall outside it, because
 * ledger-verify would reject it (spec 12). */
#define LIMIT_SIGNATURE_COMMIT_GRACE_S 60

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

/* Every integer the service writes is JCS (RFC 8785) JSON, whose numbers are IEEE doubles: it
 * must stay within ±(2^53 - 1) (json_canonical). The bounds below keep what partners can grow
 * inside it. */
#define LIMIT_JSON_INTEGER_MAX 9007199254740991LL
/* Money in a settlement (pair amounts, fees, positions, payments) and points per settlement line:
 * beyond it, 422 settlement_overflow and nothing is written. */
#define LIMIT_SETTLEMENT_AMOUNT_MAX LIMIT_JSON_INTEGER_MAX
/* A member's balance (answered with every earn, burn and read): an earn beyond it is 422
 * balance_limit. ~9e6 earns of the maximum 1e9 points; no real member comes near it. Migration
 * 0008 repeats it as a CHECK on every account (issuers' totals included), mapped to the same 422. */
#define LIMIT_BALANCE_MAX LIMIT_JSON_INTEGER_MAX

/* ledgerctl call: response bytes read at most. */
#define LIMIT_CLIENT_RESPONSE_BYTES_MAX (256 * 1024 * 1024)

/* Issue 16 (spec 12, bounded waits): no request waits without bound on the database. */
/* Server-side session limits (SET per session): a slow statement or lock wait ends itself. */
#define LIMIT_DB_STATEMENT_TIMEOUT_MS 10000
#define LIMIT_DB_LOCK_TIMEOUT_MS      5000
/* Client side: the longest wait for one exchange (a statement's results, a pipeline's) on a
 * session; a little above statement_timeout, so a statement that is merely slow ends on the
 * server first. Past it the backend is taken for hung (stopped, partitioned): the session is
 * closed and the call answers 503. */
#define LIMIT_DB_WAIT_MS (LIMIT_DB_STATEMENT_TIMEOUT_MS + 2000)
/* Opening a session (TCP or unix socket, startup, authentication, the session settings). */
#define LIMIT_DB_CONNECT_MS 3000
/* A request waits this long for a free pooled session at most. */
#define LIMIT_DB_POOL_WAIT_MS 5000
/* /healthz's own database check: short, so that a hung database shows quickly. */
#define LIMIT_DB_HEALTH_WAIT_MS 2000
/* The group-commit writer's session: its statements are key lookups and short inserts, so its
 * server-side limits are tighter, and a whole batch (every exchange of it, the COMMIT and any
 * per-request fallback) must finish within LIMIT_WRITE_BATCH_WAIT_MS or its session is closed
 * and every request of the batch gets 503 (outcome unknown: retry with the same key). */
#define LIMIT_WRITE_STATEMENT_TIMEOUT_MS 3000
#define LIMIT_WRITE_LOCK_TIMEOUT_MS      2000
#define LIMIT_WRITE_BATCH_WAIT_MS        4000
/* Mutations queued for the writer at most: past it a mutation is answered 503 database_busy with
 * Retry-After at once (the queue never grows without bound; each queued mutation also holds a
 * suspended connection). 16 full batches: at the measured ~3,000 writes/s, under 0.4 s of work. */
#define LIMIT_WRITE_QUEUE_MAX 1024
/* A mutation still queued behind a busy writer after this long is answered 503 (never applied). */
#define LIMIT_WRITE_QUEUE_WAIT_MS 3000
/* /healthz reports the writer stuck when a batch has been in progress, or a mutation queued,
 * this long (a healthy batch takes milliseconds). */
#define LIMIT_WRITE_STUCK_MS 2000
/* How often the writer's watchdog looks at the queue, and how often a writer whose database
 * failed retries its session (and with it /healthz recovers without traffic). */
#define LIMIT_WRITE_WATCH_MS 250
#define LIMIT_WRITE_PROBE_MS 1000
/* Retry-After on 503 answers of an unavailable or hung database. */
#define LIMIT_DB_RETRY_AFTER_S 1

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
/* One key's share of that bound: a quarter (the bound divided by this). A signed partner stalling
 * its own uploads (each cut at the request deadline, then resent) can then hold a quarter, not all,
 * and every other key is still served. Never less than one full-size body (LIMIT_BODY_BYTES_MAX),
 * so any key can always send one: with a bound under 4 MiB a quarter would refuse it for ever. */
#define LIMIT_HTTP_BODY_BYTES_KEY_SHARE_DIVISOR 4
/* Keys with bodies in flight at once: a fixed table under the HTTP lock, scanned on each
 * reservation (256 x 72 bytes). A coalition has tens of keys; should all slots be other keys',
 * the request gets 503 server_busy like a full bound. */
#define LIMIT_HTTP_BODY_KEYS_MAX 256
/* Query parameters in a request target; the API reads at most three (limit, after, days). */
#define LIMIT_QUERY_PARAMETERS_MAX 32

#endif

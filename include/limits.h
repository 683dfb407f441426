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

/* Every integer the service writes is JCS (RFC 8785) JSON, whose numbers are IEEE doubles: it
 * must stay within ±(2^53 - 1) (json_canonical). The bounds below keep what partners can grow
 * inside it. */
#define LIMIT_JSON_INTEGER_MAX 9007199254740991LL
/* Money in a settlement (pair amounts, fees, positions, payments) and points per settlement line:
 * beyond it, 422 settlement_overflow and nothing is written. */
#define LIMIT_SETTLEMENT_AMOUNT_MAX LIMIT_JSON_INTEGER_MAX
/* A member's balance (answered with every earn, burn and read): an earn beyond it is 422
 * balance_limit. ~9e6 earns of the maximum 1e9 points; no real member comes near it. */
#define LIMIT_BALANCE_MAX LIMIT_JSON_INTEGER_MAX

/* ledgerctl call: response bytes read at most. */
#define LIMIT_CLIENT_RESPONSE_BYTES_MAX (256 * 1024 * 1024)

#endif

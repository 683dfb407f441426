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

/* The partner event feed (GET /v1/events, issue 20): events per page, default and most. A page
 * of the largest expiry chunk's events is LIMIT_EVENTS_PAGE_MAX entries of at most
 * LIMIT_EXPIRY_CHUNK_LOTS lots each, so the bound is kept small. */
#define LIMIT_EVENTS_PAGE_DEFAULT 50
#define LIMIT_EVENTS_PAGE_MAX     200

/* points.expiring (issue 20): LEDGER_EXPIRING_THRESHOLDS_DAYS lists at most this many distinct
 * thresholds of 1..LIMIT_EXPIRING_THRESHOLD_DAYS_MAX days (a year and a day, as the operator's
 * expiring report; migration 0011 repeats the range); the default is a month and a week. One
 * expiry_notice entry lists at most LIMIT_EXPIRY_NOTICE_LOTS (lot, threshold) lines, the size
 * bound of an expiry chunk, for the same reasons (entry size, lock hold). */
#define LIMIT_EXPIRING_THRESHOLDS_MAX      8
#define LIMIT_EXPIRING_THRESHOLD_DAYS_MAX  366
#define LIMIT_EXPIRING_THRESHOLDS_DEFAULT  "30,7"
#define LIMIT_EXPIRING_THRESHOLDS_TEXT_MAX 64
#define LIMIT_EXPIRY_NOTICE_LOTS           LIMIT_EXPIRY_CHUNK_LOTS
#define LIMIT_DAY_S                        86400

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
/* After the database refused a group's write (a row only it could see: a reference another
 * instance took first), the next LIMIT_WRITE_CHUNKED_GROUPS groups are written in chunks of this
 * many requests, each under its own savepoint in one pipeline: a refusal then costs its chunk,
 * not the whole group; a refused chunk is sent again as single requests (decisions 101, 185). */
#define LIMIT_WRITE_CHUNK_REQUESTS 4
#define LIMIT_WRITE_CHUNKED_GROUPS 64
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
/* Instances of a deployment (issue 18): how often each counts the others (for its share of the
 * rate limits), and the most it counts (a bound for the arithmetic, far above any real one). */
#define LIMIT_INSTANCES_REFRESH_MS 5000
#define LIMIT_INSTANCES_MAX        64
/* Databases one process keeps a fence for (store_guard.c): ledgerd has one; a test process opens
 * a few. Past it a database is not fenced. */
#define LIMIT_FENCE_DATABASES_MAX 64

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

/* ---- Configuration ranges (src/cmd/config.c): a value outside is refused at start. ---- */
/* A limit whose value is a plain number, as a string literal (for messages that name the range). */
#define LIMIT_TEXT_(value) #value
#define LIMIT_TEXT(value)  LIMIT_TEXT_(value)
/* LEDGER_LISTEN's port when the variable is absent. */
#define LIMIT_LISTEN_PORT_DEFAULT 8080
/* LEDGER_LISTEN's host part (a name or an address literal), characters. */
#define LIMIT_LISTEN_HOST_MAX 63
/* LEDGER_CLOCK_SKEW_S: an hour; beyond it a captured request stays replayable for too long. */
#define LIMIT_CLOCK_SKEW_MAX_S 3600
/* LEDGER_EXPIRY_INTERVAL_S: a year at most (0 disables the scheduled run). */
#define LIMIT_EXPIRY_INTERVAL_MAX_S 31536000
/* LEDGER_HTTP_THREADS: one database session each, so well below PostgreSQL's max_connections. */
#define LIMIT_HTTP_THREADS_MAX 256
/* LEDGER_ORIGIN: the checkpoint note's first line (C2SP signed note), characters. */
#define LIMIT_ORIGIN_MAX 255

/* ---- Domain ranges. ---- */
/* A settlement fee in basis points: 10,000 bp is the whole amount. */
#define LIMIT_FEE_BP_MAX 10000
/* A point value's numerator and denominator (value_num / value_den): 1..1e9 each, so their products
 * with points (<= LIMIT_POINTS_MAX) stay far inside int64 and __int128 settlement math. */
#define LIMIT_POINT_VALUE_TERM_MAX 1000000000LL
/* Issue 19. An expected redemption rate in basis points: 10,000 bp is every point redeemed. */
#define LIMIT_REDEMPTION_RATE_BP_MAX 10000
/* The liability report's points and money lines and revenue: JSON (JCS) integers, like settlement
 * amounts; beyond it, 422 report_overflow (nothing is signed). */
#define LIMIT_REPORT_AMOUNT_MAX LIMIT_JSON_INTEGER_MAX
/* GET /v1/admin/expiry-forecast?weeks=: 1..104 weeks (two years; the default lot validity is 26
 * weeks, the longest allowed 10 years, whose tail a forecast by week does not need). */
#define LIMIT_FORECAST_WEEKS_DEFAULT 26
#define LIMIT_FORECAST_WEEKS_MAX     104
#define LIMIT_WEEK_S                 (7 * 86400)
/* The liability view's further expiring columns (expiring_60d, expiring_90d). */
#define LIMIT_LIABILITY_EXPIRING_60D_S (60 * 86400)
#define LIMIT_LIABILITY_EXPIRING_90D_S (90 * 86400)
/* A query value naming a partner (?issuer=): the code and its NUL. */
#define LIMIT_QUERY_PARTNER_TEXT_BYTES (LIMIT_PARTNER_CODE_MAX + 1)
/* GET /v1/admin/reports/expiring without ?days: the next 30 days. */
#define LIMIT_EXPIRING_DAYS_DEFAULT 30
/* A member's read lists its points expiring per calendar day, for the first this-many days that
 * have lots (store_member_expiring: a query cap, so one member's answer stays small). */
#define LIMIT_MEMBER_EXPIRING_DAYS_MAX 366
/* The liability report's "expiring_30d" column: lots expiring within this window from now. */
#define LIMIT_LIABILITY_EXPIRING_WINDOW_S (30 * 86400)
/* A public id "<prefix>-<seq>" (tx, lot, hold, exp, stl) is parsed with at most 18 digits, so a seq
 * read from a request always fits int64 (10^18 - 1 < 2^63 - 1). */
#define LIMIT_ID_SEQ_DIGITS_MAX 18

/* ---- Text buffers: sizes derived from what they hold, the NUL included. ---- */
/* A decimal int64 ("-9223372036854775808": 20 characters), rounded up. */
#define LIMIT_INT64_TEXT_BYTES 24
/* An RFC 3339 UTC time as the journal writes it (ledger_time_format; years 0000..9999). */
#define LIMIT_TIME_TEXT_BYTES (sizeof "YYYY-MM-DDTHH:MM:SSZ")
/* A log line's time, with milliseconds. */
#define LIMIT_LOG_TIME_TEXT_BYTES (sizeof "YYYY-MM-DDTHH:MM:SS.mmmZ")
/* A public id "<prefix>-<seq>": a prefix of at most LIMIT_ID_PREFIX_MAX characters, '-', an int64. */
#define LIMIT_ID_PREFIX_MAX 4
#define LIMIT_ID_TEXT_BYTES 32
/* Bytes as lowercase hex (crypto_hex), and as PostgreSQL bytea hex input ("\x" + hex). */
#define LIMIT_HEX_TEXT_BYTES(bytes)   (2 * (bytes) + 1)
#define LIMIT_BYTEA_TEXT_BYTES(bytes) (2 + 2 * (bytes) + 1)
/* Standard base64 with padding (RFC 4648 section 4). */
#define LIMIT_BASE64_TEXT_BYTES(bytes) (4 * (((bytes) + 2) / 3) + 1)
/* A TCP port in decimal. */
#define LIMIT_PORT_TEXT_BYTES (sizeof "65535")
/* A request target's path (@path): a longer target is answered 404 not_found ("request target too
 * long"). ledgerctl signs only targets within it. */
#define LIMIT_HTTP_PATH_TEXT_BYTES 2048
/* The @query component: "?" and a raw query as long as the path bound. */
#define LIMIT_HTTP_QUERY_TEXT_BYTES (LIMIT_HTTP_PATH_TEXT_BYTES + 1)
/* One query parameter's value (limit, after, days: integers); a longer value is read as absent. */
#define LIMIT_QUERY_VALUE_TEXT_BYTES 32
/* One path parameter ({seq}, {keyid}, a hold or transaction id); longer paths are 404. */
#define LIMIT_ROUTER_PARAM_TEXT_BYTES 256
/* LEDGER_RATE_LIMITS: one rule's rate (requests per second, a decimal); longer rules are refused. */
#define LIMIT_RATELIMIT_RATE_TEXT_BYTES 32
/* RFC 9421 parsing: a covered component's name ("@method", "content-digest") and a parameter's
 * key ("created", "keyid"); longer ones are not in the profile and refused signature_invalid. */
#define LIMIT_SIGNATURE_COMPONENT_TEXT_BYTES 64
#define LIMIT_SIGNATURE_PARAMETER_TEXT_BYTES 16
/* X-Request-Id: this many random bytes, as hex. */
#define LIMIT_REQUEST_ID_RANDOM_BYTES 16
/* ledgerctl's generated Idempotency-Key: this many random bytes, as hex. */
#define LIMIT_CLIENT_IDEMPOTENCY_KEY_RANDOM_BYTES 16
/* ledgerctl --url host part (a DNS name is at most 253 characters). */
#define LIMIT_URL_HOST_TEXT_BYTES 256
/* The statements that set up one session (store_connect_profile): timeouts, then durability. */
#define LIMIT_SESSION_SETTINGS_TEXT_BYTES 512
/* A PostgreSQL name (constraint): NAMEDATALEN - 1 = 63 bytes. */
#define LIMIT_PG_NAME_TEXT_BYTES 64
/* A PostgreSQL error's DETAIL as kept: long enough for a unique violation of a transaction's
 * reference, "Key (partner, reference_key, reference)=(P, T, R) already exists." (decision 197). */
#define LIMIT_PG_DETAIL_TEXT_BYTES 256
/* Short words read back from the database: an entry type ("settlement"), a hold status ("captured"). */
#define LIMIT_WORD_TEXT_BYTES 16
/* ledger-verify: the reason it names with the first failing seq (truncated beyond). */
#define LIMIT_VERIFY_REASON_TEXT_BYTES 256

/* ---- Input read whole, and I/O blocks. ---- */
/* A key file (PKCS#8 PEM, a few hundred bytes) is read up to 64 KiB. */
#define LIMIT_KEY_FILE_BYTES_MAX (64 * 1024)
/* ledger-verify entry: one stored entry (GET /v1/admin/journal/{seq}) is read up to 16 MiB. */
#define LIMIT_VERIFY_ENTRY_BYTES_MAX (16u << 20)
/* ledger-verify: one line of an export (an entry; the bound on its request body is 1 MiB). */
#define LIMIT_EXPORT_LINE_BYTES_MAX (64u << 20)
/* read(2)/fread(3) block for the programs' input and ledgerctl's responses. */
#define LIMIT_READ_CHUNK_BYTES (16 * 1024)
/* Block of a streamed response (journal export) handed to MHD. */
#define LIMIT_HTTP_STREAM_BLOCK_BYTES (64 * 1024)
/* A buffer (buf.c) never grows this large: only a bug gets there (ASSERT_ALWAYS). */
#define LIMIT_BUF_BYTES_MAX ((size_t)1 << 40)

/* ---- The console's static files (issue 19), read once at start-up into memory. ---- */
/* Files in the console folder: it ships about a dozen (page, style, ES modules); a folder with
 * more is not the one the repo ships, and ledgerd refuses to start on it. */
#define LIMIT_CONSOLE_FILES_MAX 64
/* One file: the largest hand-written module is a few tens of KiB; a bigger file is a bundle or an
 * asset that does not belong in the console, and is refused at start-up. */
#define LIMIT_CONSOLE_FILE_BYTES_MAX (512 * 1024)
/* All of them together: what the console may hold in memory for the life of the process. */
#define LIMIT_CONSOLE_BYTES_MAX (4 * 1024 * 1024)
/* A file's name ("settlements.js"): [A-Za-z0-9_-][A-Za-z0-9._-]*, no "..", at most this long. */
#define LIMIT_CONSOLE_NAME_MAX 64
/* The folder's path (LEDGER_CONSOLE_DIR) with a file's name joined to it. */
#define LIMIT_CONSOLE_PATH_TEXT_BYTES 1024

/* ---- Fixed tables. ---- */
/* Routes and statuses /metrics counts (the route table has ~40 rows; unknown paths share one). */
#define LIMIT_METRICS_ROUTES_MAX   64
#define LIMIT_METRICS_STATUSES_MAX 24
/* LEDGER_RATE_LIMITS rules (one per partner, and the default "*"). */
#define LIMIT_RATELIMIT_RULES_MAX 256
/* Statements prepared on one session (each store_run name once; ~90 today). */
#define LIMIT_STORE_PREPARED_MAX 128
/* Statements sent in one pipeline before their results are read (a full pipeline is read, then
 * sending goes on): a group written in chunks after a refusal sends up to 9 per chunk. */
#define LIMIT_STORE_PIPELINE_MAX 128
/* Key cache: open addressing, emptied when half full (a coalition has tens of keys). */
#define LIMIT_KEYCACHE_SLOTS 1024
/* A Merkle tree of up to 2^64 leaves has at most 64 levels: proofs and frontiers never exceed it. */
#define LIMIT_MERKLE_DEPTH_MAX 64
/* A signed note (checkpoint): origin, size, root and a few signature lines. */
#define LIMIT_NOTE_BYTES_MAX 4096
/* Journal export: rows read per query while streaming. */
#define LIMIT_EXPORT_BATCH_ROWS 1000

/* ---- Background intervals and client waits. ---- */
/* The maintenance thread retries its database session this often while it has none. */
#define LIMIT_MAINTENANCE_RECONNECT_S 5
/* Housekeeping (idempotency keys, seen signatures) runs this often when the scheduled expiry run
 * is disabled (LEDGER_EXPIRY_INTERVAL_S=0); else at the expiry interval. */
#define LIMIT_HOUSEKEEPING_INTERVAL_S 3600
/* Seen signatures are kept twice the skew window (spec 9) and this much more. */
#define LIMIT_SIGNATURE_KEEP_EXTRA_S 86400
/* The key cache's listener wakes this often: to see stop, and to reopen a lost session. */
#define LIMIT_KEYCACHE_LISTEN_WAIT_MS 1000
/* A session idle inside a transaction this long is ended by the server (a leaked transaction). */
#define LIMIT_DB_IDLE_IN_TRANSACTION_S 60
/* The server ends a TCP session whose client machine stopped answering (dead, or cut off) after
 * IDLE s of silence and COUNT unanswered probes INTERVAL s apart, and one whose sent bytes stay
 * unacknowledged for USER_TIMEOUT: the writer lease (a session-level advisory lock) of a dead
 * machine is then free within ~11 s instead of the kernel's default two hours (issue 18).
 * PostgreSQL ignores them on unix-socket sessions. */
#define LIMIT_DB_TCP_KEEPALIVE_IDLE_S     5
#define LIMIT_DB_TCP_KEEPALIVE_INTERVAL_S 2
#define LIMIT_DB_TCP_KEEPALIVE_COUNT      3
#define LIMIT_DB_TCP_USER_TIMEOUT_MS                                                                       \
    ((LIMIT_DB_TCP_KEEPALIVE_IDLE_S + LIMIT_DB_TCP_KEEPALIVE_INTERVAL_S * LIMIT_DB_TCP_KEEPALIVE_COUNT) * 1000)
/* A settlement waits for the database clock to pass period_end, looking this often. */
#define LIMIT_SETTLEMENT_CLOCK_POLL_MS 100
/* ledgerctl call: the longest wait for the server's bytes. */
#define LIMIT_CLIENT_RECEIVE_TIMEOUT_S 60

/* ---- Relations the comments above claim, checked at compile time. ---- */
#define LIMIT_INT64_MAX 9223372036854775807LL
_Static_assert(LIMIT_POINTS_MIN >= 1 && LIMIT_POINTS_MIN <= LIMIT_POINTS_MAX, "points range is empty");
_Static_assert(LIMIT_POINTS_MAX <= LIMIT_INT64_MAX / LIMIT_BURN_LOTS_MAX,
               "a burn's lots at the maximum points each must sum within int64");
_Static_assert(LIMIT_POINTS_MAX <= LIMIT_JSON_INTEGER_MAX / LIMIT_BURN_LOTS_MAX,
               "a burn's lots at the maximum points each must sum within a JSON (JCS) integer");
_Static_assert(LIMIT_POINTS_MAX <= LIMIT_INT64_MAX / LIMIT_EXPIRY_CHUNK_LOTS,
               "an expiry chunk's lots at the maximum points each must sum within int64");
_Static_assert(LIMIT_POINTS_MAX <= LIMIT_JSON_INTEGER_MAX / LIMIT_EXPIRY_CHUNK_LOTS,
               "an expiry chunk's total is written in its journal entry: it must stay a JSON (JCS) integer");
_Static_assert(LIMIT_POINTS_MAX <= LIMIT_BALANCE_MAX, "one earn of the maximum points must fit an empty balance");
_Static_assert(LIMIT_BALANCE_MAX <= LIMIT_JSON_INTEGER_MAX, "balances are answered as JSON (JCS) integers");
_Static_assert(LIMIT_SETTLEMENT_AMOUNT_MAX <= LIMIT_JSON_INTEGER_MAX, "settlement amounts are JSON (JCS) integers");
_Static_assert(LIMIT_JSON_INTEGER_MAX == (1LL << 53) - 1, "JCS integers are those an IEEE double holds: 2^53 - 1");
_Static_assert(LIMIT_POINT_VALUE_TERM_MAX <= LIMIT_JSON_INTEGER_MAX, "point value terms are JSON integers");

_Static_assert(LIMIT_HOLD_TTL_MIN_S >= 1 && LIMIT_HOLD_TTL_MIN_S <= LIMIT_HOLD_TTL_DEFAULT_S &&
                   LIMIT_HOLD_TTL_DEFAULT_S <= LIMIT_HOLD_TTL_MAX_S,
               "the default hold ttl must lie within [min, max]");
_Static_assert(LIMIT_VALIDITY_DEFAULT_S >= 1 && LIMIT_VALIDITY_DEFAULT_S <= LIMIT_VALIDITY_MAX_S,
               "the default lot validity must lie within 1..max");
_Static_assert(LIMIT_EXPIRING_THRESHOLD_DAYS_MAX == LIMIT_EXPIRING_DAYS_MAX,
               "a notice threshold and the operator's expiring report share the range (migration 0011's CHECK)");
_Static_assert(LIMIT_EXPIRING_THRESHOLDS_TEXT_MAX >= LIMIT_EXPIRING_THRESHOLDS_MAX * 4,
               "the thresholds variable holds its most thresholds of three digits and a comma each");
_Static_assert(LIMIT_EVENTS_PAGE_DEFAULT >= 1 && LIMIT_EVENTS_PAGE_DEFAULT <= LIMIT_EVENTS_PAGE_MAX,
               "the feed's default page is a valid page");
_Static_assert(LIMIT_PAGE_DEFAULT >= 1 && LIMIT_PAGE_DEFAULT <= LIMIT_PAGE_MAX,
               "the default page must lie within 1..max");
_Static_assert(LIMIT_EXPIRING_DAYS_DEFAULT >= 1 && LIMIT_EXPIRING_DAYS_DEFAULT <= LIMIT_EXPIRING_DAYS_MAX,
               "the default expiring-report window must lie within 1..max");
_Static_assert(LIMIT_FORECAST_WEEKS_DEFAULT >= 1 && LIMIT_FORECAST_WEEKS_DEFAULT <= LIMIT_FORECAST_WEEKS_MAX,
               "the default forecast must lie within 1..max weeks");
_Static_assert(LIMIT_REPORT_AMOUNT_MAX <= LIMIT_JSON_INTEGER_MAX, "report numbers are JSON (JCS) integers");
_Static_assert(LIMIT_IDEMPOTENCY_KEEP_S >= 7 * 86400, "spec 8: idempotency keys are kept at least 7 days");

_Static_assert(LIMIT_CLOCK_SKEW_DEFAULT_S >= 1 && LIMIT_CLOCK_SKEW_DEFAULT_S <= LIMIT_CLOCK_SKEW_MAX_S,
               "the default clock skew must be a valid LEDGER_CLOCK_SKEW_S");
_Static_assert(LIMIT_EXPIRY_INTERVAL_DEFAULT_S >= 0 && LIMIT_EXPIRY_INTERVAL_DEFAULT_S <= LIMIT_EXPIRY_INTERVAL_MAX_S,
               "the default expiry interval must be a valid LEDGER_EXPIRY_INTERVAL_S");
_Static_assert(LIMIT_HTTP_THREADS_DEFAULT >= 1 && LIMIT_HTTP_THREADS_DEFAULT <= LIMIT_HTTP_THREADS_MAX,
               "the default thread count must be a valid LEDGER_HTTP_THREADS");
_Static_assert(LIMIT_WRITE_BATCH_DEFAULT <= LIMIT_WRITE_BATCH_MAX, "the default write batch must be <= its max");
_Static_assert(LIMIT_LISTEN_PORT_DEFAULT >= 1 && LIMIT_LISTEN_PORT_DEFAULT <= 65535, "the default port is a TCP port");
_Static_assert(LIMIT_HTTP_REQUEST_DEADLINE_DEFAULT_S >= 1 &&
                   LIMIT_HTTP_REQUEST_DEADLINE_DEFAULT_S <= LIMIT_HTTP_REQUEST_DEADLINE_MAX_S,
               "the default request deadline must be a valid LEDGER_HTTP_REQUEST_DEADLINE_S");
_Static_assert(LIMIT_HTTP_CONNECTIONS_PER_ADDRESS_DEFAULT <= LIMIT_HTTP_CONNECTIONS_MAX,
               "the default per-address bound must be a valid LEDGER_HTTP_CONNECTIONS_PER_ADDRESS");
_Static_assert(LIMIT_HTTP_BODY_BYTES_IN_FLIGHT_DEFAULT >= LIMIT_BODY_BYTES_MAX &&
                   LIMIT_HTTP_BODY_BYTES_IN_FLIGHT_DEFAULT <= LIMIT_HTTP_BODY_BYTES_IN_FLIGHT_MAX,
               "the default in-flight body bound must be a valid LEDGER_HTTP_BODY_BYTES_IN_FLIGHT (>= one full body)");
_Static_assert(LIMIT_HTTP_BODY_BYTES_IN_FLIGHT_DEFAULT == 64LL * LIMIT_BODY_BYTES_MAX,
               "the comment says the default in-flight bound is 64 full-size bodies");
_Static_assert(LIMIT_HTTP_BODY_BYTES_KEY_SHARE_DIVISOR >= 1, "a key's share is the bound divided by >= 1");
_Static_assert(LIMIT_HTTP_SWEEP_INTERVAL_MS < LIMIT_HTTP_REQUEST_DEADLINE_DEFAULT_S * 1000,
               "the deadline sweeper must look more often than the deadline");
_Static_assert(LIMIT_QUERY_PARAMETERS_MAX >= 3, "the API reads three query parameters (limit, after, days)");
_Static_assert(LIMIT_SIGNATURE_COMPONENTS_MAX >= 5, "the signature profile covers five components");

_Static_assert(LIMIT_DB_WAIT_MS > LIMIT_DB_STATEMENT_TIMEOUT_MS,
               "a merely slow statement must end on the server (statement_timeout) before the client's wait");
_Static_assert(LIMIT_DB_WAIT_MS > LIMIT_DB_LOCK_TIMEOUT_MS,
               "a lock wait must end on the server (lock_timeout) before the client's wait");
_Static_assert(LIMIT_DB_HEALTH_WAIT_MS < LIMIT_DB_WAIT_MS, "/healthz's database check is the short wait");
_Static_assert(LIMIT_WRITE_STATEMENT_TIMEOUT_MS < LIMIT_DB_STATEMENT_TIMEOUT_MS &&
                   LIMIT_WRITE_LOCK_TIMEOUT_MS < LIMIT_DB_LOCK_TIMEOUT_MS,
               "the writer's session limits are the tighter ones");
_Static_assert(LIMIT_WRITE_STATEMENT_TIMEOUT_MS < LIMIT_WRITE_BATCH_WAIT_MS &&
                   LIMIT_WRITE_LOCK_TIMEOUT_MS < LIMIT_WRITE_BATCH_WAIT_MS,
               "a writer's statement or lock wait must end on the server within the batch's wait");
_Static_assert(LIMIT_WRITE_STUCK_MS < LIMIT_WRITE_QUEUE_WAIT_MS,
               "a queued mutation must show the writer stuck before it is answered 503");
_Static_assert(LIMIT_WRITE_STUCK_MS < LIMIT_WRITE_BATCH_WAIT_MS,
               "a batch in progress must show the writer stuck before its session is closed");
_Static_assert(LIMIT_WRITE_WATCH_MS < LIMIT_WRITE_STUCK_MS && LIMIT_WRITE_WATCH_MS < LIMIT_WRITE_QUEUE_WAIT_MS,
               "the writer's watchdog must look more often than the waits it enforces");
_Static_assert(LIMIT_DB_RETRIES >= 1, "a transient failure is tried at least once more");

_Static_assert(LIMIT_CONSOLE_FILE_BYTES_MAX <= LIMIT_CONSOLE_BYTES_MAX,
               "one console file must fit the console's memory bound");
_Static_assert(LIMIT_CONSOLE_PATH_TEXT_BYTES > LIMIT_CONSOLE_NAME_MAX + 1,
               "a console file's path holds its name and a separator");
_Static_assert(LIMIT_INT64_TEXT_BYTES >= sizeof "-9223372036854775808", "an int64 in decimal must fit");
_Static_assert(LIMIT_TIME_TEXT_BYTES == 21, "RFC 3339 UTC time: 20 characters and NUL");
_Static_assert(LIMIT_ID_TEXT_BYTES >= LIMIT_ID_PREFIX_MAX + 1 + sizeof "9223372036854775807",
               "a public id of the longest prefix and any seq must fit");
_Static_assert(LIMIT_HEX_TEXT_BYTES(LIMIT_CLIENT_IDEMPOTENCY_KEY_RANDOM_BYTES) - 1 <= LIMIT_IDEMPOTENCY_KEY_MAX,
               "ledgerctl's generated Idempotency-Key must be a valid one");
_Static_assert(LIMIT_ROUTER_PARAM_TEXT_BYTES <= LIMIT_HTTP_PATH_TEXT_BYTES, "a path parameter is part of the path");
_Static_assert(LIMIT_ROUTER_PARAM_TEXT_BYTES > LIMIT_KEYID_MAX &&
                   LIMIT_ROUTER_PARAM_TEXT_BYTES > LIMIT_PARTNER_CODE_MAX,
               "a path parameter must hold any keyid or partner code");
_Static_assert(LIMIT_QUERY_VALUE_TEXT_BYTES >= LIMIT_INT64_TEXT_BYTES, "a query value holds any int64");
_Static_assert(LIMIT_LISTEN_HOST_MAX >= sizeof "255.255.255.255", "an IPv4 literal must fit LEDGER_LISTEN's host");
_Static_assert(LIMIT_ORIGIN_MAX < LIMIT_NOTE_BYTES_MAX, "a checkpoint note holds its origin line");
_Static_assert(LIMIT_PG_DETAIL_TEXT_BYTES > 64 + LIMIT_PARTNER_CODE_MAX + LIMIT_REFERENCE_MAX + LIMIT_WORD_TEXT_BYTES,
               "a reference's unique violation, as PostgreSQL words it, fits its buffer whole");
_Static_assert(LIMIT_WRITE_CHUNK_REQUESTS >= 1 && LIMIT_WRITE_CHUNK_REQUESTS < LIMIT_WRITE_BATCH_DEFAULT,
               "a chunk is part of a default batch");
_Static_assert(LIMIT_STORE_PIPELINE_MAX >= 2 * 10,
               "a pipeline holds two chunks' statements (savepoint, 8 writes with partner_events, release)");
_Static_assert(LIMIT_DB_TCP_USER_TIMEOUT_MS < LIMIT_DB_IDLE_IN_TRANSACTION_S * 1000,
               "a dead client's session ends before a leaked transaction's would");

/* ---- Webhooks (issue 20 item 4; docs/decisions.md 155-174). ---- */
/* A webhook URL: browsers and proxies handle 2048 characters everywhere; longer is refused. */
#define LIMIT_WEBHOOK_URL_MAX 2048
/* Its host (a DNS name is at most 253 characters; an IPv6 literal 45 inside its brackets). */
#define LIMIT_WEBHOOK_HOST_MAX 253
/* A webhook's optional description (free text for the partner's operators). */
#define LIMIT_WEBHOOK_DESCRIPTION_MAX 256
/* Active endpoints per partner: each costs a dispatcher slot and a feed read per poll. */
#define LIMIT_WEBHOOKS_PER_PARTNER_MAX 10
/* Event types in one subscription: at most every type there is (duplicates are refused). */
#define LIMIT_WEBHOOK_EVENT_TYPES_MAX 16
/* Backoff after a failed delivery: base doubling per consecutive failure, capped (defaults;
 * LEDGER_WEBHOOK_BACKOFF_MS and LEDGER_WEBHOOK_BACKOFF_CAP_MS set them, tests make them short). */
#define LIMIT_WEBHOOK_BACKOFF_DEFAULT_MS 1000
#define LIMIT_WEBHOOK_BACKOFF_CAP_DEFAULT_MS (5 * 60 * 1000)
#define LIMIT_WEBHOOK_BACKOFF_MAX_MS (24 * 3600 * 1000)
/* One delivery: connecting, and the whole exchange (Standard Webhooks recommends 15-30 s); a slow
 * receiver holds only its own endpoint's worker this long. LEDGER_WEBHOOK_TIMEOUT_MS sets the total. */
#define LIMIT_WEBHOOK_CONNECT_MS 5000
#define LIMIT_WEBHOOK_TIMEOUT_DEFAULT_MS 15000
#define LIMIT_WEBHOOK_TIMEOUT_MAX_MS 60000
/* The receiver's answer is read up to this much (kept in the delivery record, truncated). */
#define LIMIT_WEBHOOK_RESPONSE_KEEP_BYTES 256
/* How often an idle dispatcher worker looks for due endpoints (LEDGER_WEBHOOK_POLL_MS). */
#define LIMIT_WEBHOOK_POLL_DEFAULT_MS 500
#define LIMIT_WEBHOOK_POLL_MAX_MS 60000
/* Dispatcher workers per ledgerd (LEDGER_WEBHOOK_WORKERS; 0 disables delivery in that instance):
 * a slow endpoint holds one worker, the others serve the rest. */
#define LIMIT_WEBHOOK_WORKERS_DEFAULT 4
#define LIMIT_WEBHOOK_WORKERS_MAX 32
/* Events read from the feed per page while delivering one endpoint. */
#define LIMIT_WEBHOOK_PAGE_EVENTS 50
/* Delivery attempts are kept this long, then purged by the dispatcher. */
#define LIMIT_WEBHOOK_DELIVERY_KEEP_S (8 * 86400)
_Static_assert(LIMIT_WEBHOOK_EVENT_TYPES_MAX >= 11, "a subscription may name every event type there is");
_Static_assert(LIMIT_WEBHOOK_BACKOFF_DEFAULT_MS <= LIMIT_WEBHOOK_BACKOFF_CAP_DEFAULT_MS &&
                   LIMIT_WEBHOOK_BACKOFF_CAP_DEFAULT_MS <= LIMIT_WEBHOOK_BACKOFF_MAX_MS,
               "the backoff's base is below its cap, within the bound");
_Static_assert(LIMIT_WEBHOOK_CONNECT_MS < LIMIT_WEBHOOK_TIMEOUT_DEFAULT_MS, "connecting is part of the exchange");
_Static_assert(LIMIT_WEBHOOK_PAGE_EVENTS <= LIMIT_EVENTS_PAGE_MAX, "a dispatcher page is a feed page");

#endif

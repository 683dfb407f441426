#!/usr/bin/env bash
# The compile-time relations of include/core/limits.h: the header as it stands compiles, and each
# relation its comments claim, broken in a copy, is refused by the compiler with that relation's
# _Static_assert message. `tests/limits/test_limits_asserts.sh ROOT` checks another tree's header.
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
header=$root/include/core/limits.h
cc=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/planted"
printf '#include "limits.h"\nint main(void) { return 0; }\n' >"$tmp/use.c"
compile() { "$cc" -std=c11 -Wall -Wextra -Werror -fsyntax-only -iquote "$1" "$tmp/use.c" 2>"$tmp/err"; }
compile "$(dirname "$header")" || { cat "$tmp/err" >&2; echo "FAIL: limits.h does not compile" >&2; exit 1; }

planted=0
expect_refused() { # NAME VALUE MESSAGE: "#define NAME VALUE" in a copy must fail with MESSAGE
  sed -E "s|^(#define $1)[[:space:]]+[^/]*|\\1 $2 |" "$header" >"$tmp/planted/limits.h"
  if cmp -s "$header" "$tmp/planted/limits.h"; then
    echo "FAIL: $1 is not defined in limits.h" >&2
    exit 1
  fi
  if compile "$tmp/planted"; then
    echo "FAIL: $1 = $2 compiled; expected: $3" >&2
    exit 1
  fi
  # gcc prints the message's ' as \'
  if ! sed "s/\\\\'/'/g" "$tmp/err" | grep -qF "$3"; then
    cat "$tmp/err" >&2
    echo "FAIL: $1 = $2 refused without: $3" >&2
    exit 1
  fi
  planted=$((planted + 1))
}
expect_refused LIMIT_POINTS_MAX 10000000000000000LL "a burn's lots at the maximum points each must sum within int64"
expect_refused LIMIT_BURN_LOTS_MAX 10000000 "a burn's lots at the maximum points each must sum within a JSON (JCS) integer"
expect_refused LIMIT_EXPIRY_CHUNK_LOTS 10000000 "an expiry chunk's total is written in its journal entry"
expect_refused LIMIT_EXPIRY_CHUNK_LOTS 10000000000 "an expiry chunk's lots at the maximum points each must sum within int64"
expect_refused LIMIT_BALANCE_MAX 100 "one earn of the maximum points must fit an empty balance"
expect_refused LIMIT_HOLD_TTL_DEFAULT_S 90000 "the default hold ttl must lie within [min, max]"
expect_refused LIMIT_HOLD_TTL_MIN_S 0 "the default hold ttl must lie within [min, max]"
expect_refused LIMIT_VALIDITY_DEFAULT_S 315360001LL "the default lot validity must lie within 1..max"
expect_refused LIMIT_PAGE_DEFAULT 500 "the default page must lie within 1..max"
expect_refused LIMIT_EXPIRING_DAYS_DEFAULT 400 "the default expiring-report window must lie within 1..max"
expect_refused LIMIT_IDEMPOTENCY_KEEP_S "(6 * 86400)" "spec 8: idempotency keys are kept at least 7 days"
expect_refused LIMIT_CLOCK_SKEW_DEFAULT_S 7200 "the default clock skew must be a valid LEDGER_CLOCK_SKEW_S"
expect_refused LIMIT_EXPIRY_INTERVAL_DEFAULT_S 40000000 "the default expiry interval must be a valid"
expect_refused LIMIT_HTTP_THREADS_DEFAULT 512 "the default thread count must be a valid LEDGER_HTTP_THREADS"
expect_refused LIMIT_WRITE_BATCH_DEFAULT 2048 "the default write batch must be <= its max"
expect_refused LIMIT_HTTP_REQUEST_DEADLINE_DEFAULT_S 7200 "the default request deadline must be a valid"
expect_refused LIMIT_HTTP_CONNECTIONS_PER_ADDRESS_DEFAULT 20000 "the default per-address bound must be a valid"
expect_refused LIMIT_HTTP_BODY_BYTES_IN_FLIGHT_DEFAULT "(512LL * 1024)" "(>= one full body)"
expect_refused LIMIT_HTTP_BODY_BYTES_IN_FLIGHT_DEFAULT "(32LL * 1024 * 1024)" "64 full-size bodies"
expect_refused LIMIT_HTTP_BODY_BYTES_KEY_SHARE_DIVISOR 0 "a key's share is the bound divided by >= 1"
expect_refused LIMIT_HTTP_SWEEP_INTERVAL_MS 20000 "the deadline sweeper must look more often than the deadline"
expect_refused LIMIT_QUERY_PARAMETERS_MAX 2 "the API reads three query parameters"
expect_refused LIMIT_SIGNATURE_COMPONENTS_MAX 4 "the signature profile covers five components"
expect_refused LIMIT_DB_WAIT_MS "(LIMIT_DB_STATEMENT_TIMEOUT_MS - 2000)" "a merely slow statement must end on the server"
expect_refused LIMIT_DB_LOCK_TIMEOUT_MS 15000 "a lock wait must end on the server (lock_timeout) before the client's wait"
expect_refused LIMIT_DB_HEALTH_WAIT_MS 20000 "/healthz's database check is the short wait"
expect_refused LIMIT_WRITE_LOCK_TIMEOUT_MS 6000 "the writer's session limits are the tighter ones"
expect_refused LIMIT_WRITE_STATEMENT_TIMEOUT_MS 4500 "a writer's statement or lock wait must end on the server within the batch's wait"
expect_refused LIMIT_WRITE_STUCK_MS 3500 "a queued mutation must show the writer stuck before it is answered 503"
expect_refused LIMIT_WRITE_BATCH_WAIT_MS 1500 "a batch in progress must show the writer stuck before its session is closed"
expect_refused LIMIT_WRITE_WATCH_MS 2500 "the writer's watchdog must look more often than the waits it enforces"
expect_refused LIMIT_DB_RETRIES 0 "a transient failure is tried at least once more"
expect_refused LIMIT_INT64_TEXT_BYTES 20 "an int64 in decimal must fit"
expect_refused LIMIT_ID_TEXT_BYTES 24 "a public id of the longest prefix and any seq must fit"
expect_refused LIMIT_CLIENT_IDEMPOTENCY_KEY_RANDOM_BYTES 65 "ledgerctl's generated Idempotency-Key must be a valid one"
expect_refused LIMIT_ROUTER_PARAM_TEXT_BYTES 64 "a path parameter must hold any keyid or partner code"
expect_refused LIMIT_QUERY_VALUE_TEXT_BYTES 16 "a query value holds any int64"
expect_refused LIMIT_LISTEN_HOST_MAX 8 "an IPv4 literal must fit"
expect_refused LIMIT_ORIGIN_MAX 5000 "a checkpoint note holds its origin line"
expect_refused LIMIT_CONSOLE_FILE_BYTES_MAX "(8 * 1024 * 1024)" "one console file must fit the console's memory bound"
expect_refused LIMIT_CONSOLE_PATH_TEXT_BYTES 64 "a console file's path holds its name and a separator"
expect_refused LIMIT_DB_TCP_KEEPALIVE_IDLE_S 100 "a dead client's session ends before a leaked transaction's would"
echo "ok: limits.h compiles; $planted planted violations refused"

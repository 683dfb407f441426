#!/usr/bin/env bash
# Issue 18: the failover test. On loopback only, in a temp dir: a pg_auto_failover monitor and two
# PostgreSQL nodes (synchronous standby: number_sync_standbys 0 with replication-quorum true, the
# default, so the primary commits only once the standby has the WAL while the standby is healthy),
# two ledgerd on the engine's multi-host URI (target_session_attrs=read-write), the committed
# docker/haproxy.cfg in front, and bin/ha-load driving signed earns and burns through haproxy
# (every request's key, attempts and answer logged; 5xx and timeouts retried with the same key).
# Events, in turn: switchover; kill the standby (SIGKILL keeper + postgres) and bring it back;
# SIGKILL one ledgerd and restart it; hard-kill the primary (keeper + postmaster, SIGKILL); restart
# the old primary (it must rejoin as a standby and take no writes). After each: every 2xx in the
# journal exactly once at its seq, no (partner, key) twice, seq gapless, trial balance 0, the export
# verifies, every collected checkpoint is the root of an export prefix, exactly one writable node.
# It prints each event's outage and the throughput before and after.
#
# --negative-control: synchronous_commit=local forced on both nodes (ALTER SYSTEM) and ledgerd's
# own durability settings off (LEDGER_UNSAFE_DURABILITY=off); the standby's walreceiver is stopped,
# writes go on, the primary is hard-killed and the lagging standby promoted. The checks must find
# acknowledged writes missing: the script then exits 3 naming them (any other exit: the control
# did not work). `make test-ha` runs both and passes only when the control exits 3.
#
# Authentication is `trust` and SSL is off: every socket is 127.0.0.1 and the cluster is thrown
# away at the end (never do this beyond loopback; README "Several instances" says what to use instead).
# Bounded: the whole run is under HA_TEST_TIMEOUT_S (default 600, 300 for the control) and every
# wait inside has its own bound; everything started is killed on exit.
# usage: tools/ha-test.sh [--negative-control]
set -euo pipefail
cd "$(dirname "$0")/.."
mode=normal
[ "${1:-}" = --negative-control ] && mode=negative
if [ -z "${HA_TEST_INNER:-}" ]; then
  limit=${HA_TEST_TIMEOUT_S:-$([ $mode = normal ] && echo 600 || echo 300)}
  HA_TEST_INNER=1 exec timeout -k 20 "$limit" bash "$0" "$@"
fi

bash tools/deps.sh --ha
make -s all bin/ha-load bin/ha-check
tools=${HA_TOOLS_DIR:-bin} # the load and the checker (build/san/bin: their sanitizer build)
pgbin=/usr/lib/postgresql/15/bin
tmp=$(mktemp -d /tmp/ha-test.XXXXXX)
chmod 755 "$tmp"
[ "$(id -u)" -eq 0 ] && chown postgres "$tmp"
log() { echo "[$(date +%T)] $*"; }
now_ms() { date +%s%3N; }

# --- processes: every pid started here, killed (with its descendants) on exit -------------------
declare -A keeper=() # node name -> pg_autoctl pid
ledgerd=() haproxy_pid='' load_pid='' monitor_pid=''
# A pid is only killed when it is this run's (a stale postmaster.pid may name a reused pid): its
# command line names the run's directory (pg_autoctl, a postmaster, ha-load), or its environment
# carries the marker every process started here inherits (ledgerd, haproxy), or its parent is
# such a process (postgres children retitle themselves over their argv and environment).
export HA_TEST_RUN=$tmp
run_of() { # (no pipes: grep -q would end the pipe early, and pipefail make that a failure)
  grep -qzF "$tmp/" "/proc/$1/cmdline" 2>/dev/null || grep -qzxF "HA_TEST_RUN=$tmp" "/proc/$1/environ" 2>/dev/null
}
ours() { run_of "$1" || run_of "$(awk '{ print $4 }' "/proc/$1/stat" 2>/dev/null)"; }
descendants() { # the PIDs given and all their descendants, from one snapshot of the process table
  ps -e -o pid=,ppid= | awk -v roots="$*" '
    { parent[$1] = $2 }
    END { n = split(roots, r, " "); for (i = 1; i <= n; i++) keep[r[i]] = 1
          do { grew = 0; for (p in parent) if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; grew = 1 } } while (grew)
          for (p in keep) if (p in parent) print p }'
}
postmaster_of() { [ -f "$tmp/$1/postmaster.pid" ] && head -n 1 "$tmp/$1/postmaster.pid" || true; }
hard_kill() { # hard_kill PID... : SIGKILL the processes and their descendants, all at once
  local pids=() roots=() p
  for p in "$@"; do [ -n "$p" ] && ours "$p" && roots+=("$p"); done # (a stale pid may be reused)
  [ ${#roots[@]} -gt 0 ] && pids=($(descendants "${roots[@]}"))
  [ ${#pids[@]} -gt 0 ] || return 0
  kill -9 "${pids[@]}" 2>/dev/null || true
  for _ in $(seq 40); do alive "${pids[@]}" || return 0; sleep 0.125; done
}
kill_node() { # kill_node NODE [PID...]: SIGKILL the node's keeper and postmaster (and the PIDs given)
  local pids=("${keeper[$1]}" "$(postmaster_of "$1")" "${@:2}")
  hard_kill "${pids[@]}"
  if alive "${pids[@]}"; then log "could not kill $1 (${pids[*]})"; exit 1; fi
}
alive() { # whether any of the pids is still running (a zombie is not)
  local p
  for p in "$@"; do [ -r "/proc/$p/stat" ] && [ "$(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null)" != Z ] && return 0; done
  return 1
}
cleanup() {
  local rc=$?
  set +e
  touch "$tmp/stop"
  hard_kill "$load_pid" "$haproxy_pid" "${ledgerd[@]}" "$monitor_pid" "${keeper[@]}"
  for d in monitor node1 node2; do hard_kill "$(postmaster_of $d)"; done
  # and anything of this run that escaped its parent (an orphaned keeper, a postgres a keeper's
  # controller restarted): twice, a moment apart
  local strays p round
  for round in 1 2; do
    strays=()
    for p in $(ls /proc | grep -E '^[0-9]+$'); do [ "$p" != $$ ] && run_of "$p" && strays+=("$p"); done
    for d in monitor node1 node2; do p=$(postmaster_of $d); [ -n "$p" ] && ours "$p" && strays+=("$p"); done
    [ ${#strays[@]} -gt 0 ] && hard_kill "${strays[@]}"
    sleep 0.5
  done
  wait 2>/dev/null
  if [ "$rc" -ne 0 ] && ! { [ $mode = negative ] && [ "$rc" -eq 3 ]; }; then
    log "FAILED (exit $rc); logs kept in $tmp"
    for f in "$tmp"/*.log; do echo "== $f (tail)"; tail -n 15 "$f"; done
  elif [ -z "${HA_TEST_KEEP:-}" ]; then
    rm -rf "$tmp"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 124' TERM INT

# --- ports: six free loopback ports ---------------------------------------------------------------
# below the kernel's ephemeral range (32768..), so that no outgoing connection holds one of them
port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && ! ss -Htan "( sport = :$1 )" 2>/dev/null | grep -q .
}
for try in $(seq 20); do
  base=$((20000 + RANDOM % 12000))
  ok=1
  for p in $(seq "$base" $((base + 5))); do port_free "$p" || ok=0; done
  [ $ok = 1 ] && break
done
declare -A pg_port=([monitor]=$base [node1]=$((base + 1)) [node2]=$((base + 2)))
ledgerd_port=($((base + 3)) $((base + 4)))
balancer=127.0.0.1:$((base + 5))

# --- pg_auto_failover ------------------------------------------------------------------------------
# Commands as the cluster's owner (root cannot run postgres), with the temp dir's XDG dirs. A
# prefix, not a function: in the background, "${as_postgres[@]}" cmd & execs down to cmd, so $!
# is the pg_autoctl process itself (a function would leave a subshell between them).
as_postgres=(env HOME="$tmp" XDG_CONFIG_HOME="$tmp/xdg/config" XDG_DATA_HOME="$tmp/xdg/data"
       XDG_RUNTIME_DIR="$tmp/xdg/run" PATH="$pgbin:/usr/bin:/bin")
[ "$(id -u)" -eq 0 ] \
  && as_postgres=(setpriv --reuid postgres --regid postgres --init-groups "${as_postgres[@]}")
as_pg() { "${as_postgres[@]}" "$@"; }
sql() { # sql NODE DATABASE QUERY: one value (empty when the node does not answer), as the superuser
  as_pg psql -X -h 127.0.0.1 -p "${pg_port[$1]}" -U postgres -d "$2" -tAc "$3" 2>/dev/null || true
}
monitor_uri() { echo "postgres://autoctl_node@127.0.0.1:${pg_port[monitor]}/pg_auto_failover?sslmode=prefer"; }
state() { as_pg pg_autoctl show state --pgdata "$tmp/monitor" 2>/dev/null || true; }
# "name reported assigned" per node
states() { state | awk -F'|' 'NR > 2 && NF >= 7 { gsub(/ /, ""); print $1, $6, $7 }'; }
start_keeper() { # start_keeper NODE: runs its pg_autoctl (keeper + postgres) in the background
  "${as_postgres[@]}" pg_autoctl run --pgdata "$tmp/$1" >>"$tmp/$1.log" 2>&1 &
  keeper[$1]=$!
  disown
}
writable() { [ "$(sql "$1" postgres "SELECT NOT pg_is_in_recovery()")" = t ]; }
primary() { local n; for n in node1 node2; do writable $n && { echo $n; return; }; done; echo none; }
other() { [ "$1" = node1 ] && echo node2 || echo node1; }
# wait_state TIMEOUT_S CONDITION...: until every "node=state" holds (reported and assigned alike)
wait_state() {
  local deadline=$(($(date +%s) + $1)) i=0 cond all s
  shift
  while :; do
    s=$(states)
    all=1
    for cond in "$@"; do
      grep -qE "^${cond%%=*} (${cond#*=}) (${cond#*=})$" <<<"$s" || all=0
    done
    [ $all = 1 ] && return 0
    i=$((i + 1))
    if [ "$(date +%s)" -gt $deadline ]; then log "TIMEOUT waiting for $*"; echo "$s"; return 1; fi
    # pg_basebackup waits for a spread checkpoint on the primary: ask for it now (every ~2 s)
    if [ $((i % 8)) = 0 ]; then
      for n in node1 node2; do writable $n && sql $n postgres CHECKPOINT >/dev/null || true; done
    fi
    sleep 0.25
  done
}

log "mode=$mode ports $base..$((base + 5)) dir $tmp"
mkdir -p "$tmp/xdg"
[ "$(id -u)" -eq 0 ] && chown -R postgres "$tmp/xdg"
as_pg pg_autoctl create monitor --pgdata "$tmp/monitor" --pgport "${pg_port[monitor]}" --pgctl "$pgbin/pg_ctl" \
  --hostname 127.0.0.1 --listen 127.0.0.1 --auth trust --no-ssl >"$tmp/monitor.log" 2>&1
"${as_postgres[@]}" pg_autoctl run --pgdata "$tmp/monitor" >>"$tmp/monitor.log" 2>&1 &
monitor_pid=$!
disown
for i in $(seq 60); do [ "$(sql monitor pg_auto_failover "SELECT 1")" = 1 ] && break; sleep 0.25; done
# Failure detection (defaults in brackets; README "Several instances" says why):
#   health_check_period 1 s [5 s], health_check_timeout 1 s [5 s], max_retries 1 [2], retry_delay
#   0.5 s [2 s]: a dead node's health check fails within ~2.5 s;
#   node_considered_unhealthy_timeout 2 s [20 s]: and its keeper has not reported for 2 s;
#   primary_demote_timeout 5 s [30 s]: what the monitor gives a primary it lost to demote itself
#   before promoting the standby; kept above the keepers' network_partition_timeout (3 s [20 s]),
#   after which a primary cut off from monitor and standby stops itself: no two primaries.
tune_monitor=(health_check_period=1000 health_check_timeout=1000 health_check_max_retries=1
  health_check_retry_delay=500 node_considered_unhealthy_timeout=2000 primary_demote_timeout=5000)
# the control promotes a standby that lags on purpose: let the monitor allow it
[ $mode = negative ] && tune_monitor+=(promote_wal_log_threshold=1073741824)
for setting in "${tune_monitor[@]}"; do # one statement each: ALTER SYSTEM refuses a transaction block
  sql monitor pg_auto_failover "ALTER SYSTEM SET pgautofailover.${setting%%=*} = ${setting#*=}" >/dev/null
done
sql monitor pg_auto_failover "SELECT pg_reload_conf()" >/dev/null
[ "$(sql monitor pg_auto_failover "SHOW pgautofailover.primary_demote_timeout")" = 5s ] \
  || { log "the monitor's timeouts were not set"; exit 1; }
create_node() { # create_node NAME
  "${as_postgres[@]}" pg_autoctl create postgres --pgdata "$tmp/$1" --pgport "${pg_port[$1]}" --pgctl "$pgbin/pg_ctl" \
    --hostname 127.0.0.1 --listen 127.0.0.1 --name "$1" --dbname ledger --monitor "$(monitor_uri)" \
    --auth trust --no-ssl --run >>"$tmp/$1.log" 2>&1 &
  keeper[$1]=$!
  disown
}
create_node node1
wait_state 60 "node1=single"
create_node node2
wait_state 120 "node1=primary" "node2=secondary"
for n in node1 node2; do # keeper timeouts (seconds), reloaded by the running keeper
  as_pg pg_autoctl config set --pgdata "$tmp/$n" timeout.network_partition_timeout 3 >>"$tmp/$n.log" 2>&1
  as_pg pg_autoctl config set --pgdata "$tmp/$n" timeout.prepare_promotion_catchup 10 >>"$tmp/$n.log" 2>&1
  as_pg pg_autoctl config set --pgdata "$tmp/$n" timeout.postgresql_restart_failure_timeout 5 >>"$tmp/$n.log" 2>&1
done
[ -n "$(sql node1 postgres "SHOW synchronous_standby_names")" ] || { log "no synchronous standby"; exit 1; }
if [ $mode = negative ]; then # the unsafe server setting the service must not be trusted with
  for n in node1 node2; do sql $n postgres "ALTER SYSTEM SET synchronous_commit = local" >/dev/null
    sql $n postgres "SELECT pg_reload_conf()" >/dev/null; done
  export LEDGER_UNSAFE_DURABILITY=off
fi
state

# --- the ledger: one migration and genesis, two ledgerd, haproxy ----------------------------------
export PGUSER=postgres PGCONNECT_TIMEOUT=2
LEDGER_DATABASE_URL=$(as_pg pg_autoctl show uri --pgdata "$tmp/monitor" --formation default)
export LEDGER_DATABASE_URL LEDGER_KEY_FILE=$tmp/ledger.pem LEDGER_ORIGIN=ha-test.example/ledger
export LEDGER_EXPIRY_INTERVAL_S=0 LEDGER_HTTP_CONNECTIONS_PER_ADDRESS=0 # every client is haproxy, 127.0.0.1
log "LEDGER_DATABASE_URL=$LEDGER_DATABASE_URL"
for k in ledger op alpha; do bin/ledgerctl keygen --out "$tmp/$k.pem" >/dev/null; done
ledger_pub=$(bin/ledgerctl pubkey --key-file "$tmp/ledger.pem")
bin/ledgerctl migrate >/dev/null
bin/ledgerctl init --operator-key-id op --operator-public-key "$(bin/ledgerctl pubkey --key-file "$tmp/op.pem")" >/dev/null
start_ledgerd() { # start_ledgerd INDEX (0 or 1)
  LEDGER_LISTEN=127.0.0.1:${ledgerd_port[$1]} bin/ledgerd >>"$tmp/ledgerd$(($1 + 1)).log" 2>&1 &
  ledgerd[$1]=$!
  disown
  for i in $(seq 80); do curl -fs "http://127.0.0.1:${ledgerd_port[$1]}/healthz" >/dev/null && return 0; sleep 0.25; done
  log "ledgerd $(($1 + 1)) did not become healthy"; return 1
}
start_ledgerd 0
start_ledgerd 1
HAPROXY_BIND=$balancer LEDGERD1=127.0.0.1:${ledgerd_port[0]} LEDGERD2=127.0.0.1:${ledgerd_port[1]} \
  haproxy -db -f docker/haproxy.cfg >"$tmp/haproxy.log" 2>&1 &
haproxy_pid=$!
disown
for i in $(seq 40); do curl -fs "http://$balancer/healthz" >/dev/null && break; sleep 0.25; done
op=(--url "http://$balancer" --key-id op --key-file "$tmp/op.pem")
bin/ledgerctl call POST /v1/admin/partners '{"code":"alpha","name":"alpha"}' "${op[@]}" >/dev/null
bin/ledgerctl call POST /v1/admin/partners/alpha/keys \
  "{\"keyid\":\"alpha-1\",\"public_key\":\"$(bin/ledgerctl pubkey --key-file "$tmp/alpha.pem")\"}" "${op[@]}" >/dev/null

# --- the load -------------------------------------------------------------------------------------
clients=${HA_CLIENTS:-8} rate=${HA_RATE:-150} window_ms=${HA_WINDOW_MS:-8000}
"$tools/ha-load" run "$balancer" alpha-1 "$tmp/alpha.pem" op "$tmp/op.pem" "ha$$" "$clients" "$rate" \
  "$tmp/requests.tsv" "$tmp/checkpoints.tsv" "$tmp/stop" 2>"$tmp/load.log" &
load_pid=$!
disown
log "load: $clients connections, $rate requests/s through haproxy $balancer"
sleep $((window_ms / 1000 + 2))

# --- the checks -----------------------------------------------------------------------------------
# check NAME: the journal against the load log and the collected checkpoints (2xx answered before
# the export began: those are committed in its snapshot), seq, trial balance, ledger-verify, and
# exactly one writable node; every 503 carried Retry-After. Returns 3 when acknowledged writes are
# missing, 1 on other failures.
check() {
  local p rc=0 cutoff export=$tmp/export-$1.ndjson
  p=$(primary)
  [ "$p" != none ] || { log "CHECK $1: no writable node"; return 1; }
  cutoff=$(now_ms)
  bin/ledgerctl export --out "$export" >/dev/null || { log "CHECK $1: export failed"; return 1; }
  # the log and checkpoints as of the cutoff (the load goes on writing them)
  awk -F'\t' -v c="$cutoff" '$2 < c' "$tmp/requests.tsv" >"$tmp/requests.cut"
  awk -F'\t' -v c="$cutoff" '$1 < c' "$tmp/checkpoints.tsv" >"$tmp/checkpoints.cut"
  if ! "$tools/ha-check" "$export" "$tmp/requests.cut" "$tmp/checkpoints.cut" "$ledger_pub" alpha >"$tmp/check-$1.out"; then
    rc=1
    grep -qE '^(LOST|MOVED)' "$tmp/check-$1.out" && rc=3
  fi
  grep -v '^ok' "$tmp/check-$1.out" | head -n 25 || true
  bin/ledger-verify "$export" --ledger-key "$ledger_pub" >"$tmp/verify-$1.out" 2>&1 \
    || { log "CHECK $1: ledger-verify failed: $(tail -n 2 "$tmp/verify-$1.out")"; [ $rc = 0 ] && rc=1; }
  local seqs books writers=0 n
  seqs=$(sql "$p" ledger "SELECT count(*) = max(seq) AND min(seq) = 1 FROM journal")
  books=$(sql "$p" ledger "SELECT coalesce(sum(balance), 0) FROM accounts")
  for n in node1 node2; do writable $n && writers=$((writers + 1)); done
  [ "$seqs" = t ] || { log "CHECK $1: seq has gaps"; [ $rc = 0 ] && rc=1; }
  [ "$books" = 0 ] || { log "CHECK $1: trial balance $books"; [ $rc = 0 ] && rc=1; }
  [ $writers = 1 ] || { log "CHECK $1: $writers writable nodes"; [ $rc = 0 ] && rc=1; }
  log "CHECK $1: $(tail -n 1 "$tmp/check-$1.out"); verify: $(head -c 90 "$tmp/verify-$1.out");" \
      "seq gapless=$seqs books=$books writable=$p"
  return $rc
}
# The checks must be able to fail: against the first export, an invented 2xx, a duplicated entry
# and an altered entry (under the collected checkpoints) must each be reported.
checker_selftest() {
  local e=$tmp/export-start.ndjson args
  args=("$tmp/checkpoints.cut" "$ledger_pub" alpha)
  cp "$tmp/requests.cut" "$tmp/forged.tsv"
  printf '1\t2\t0\tinvented-key\tearn\t1\t201\t7\t-\n' >>"$tmp/forged.tsv"
  grep -q '^LOST: key invented-key' <<<"$("$tools/ha-check" "$e" "$tmp/forged.tsv" "${args[@]}" || true)" \
    || { log "SELFTEST: an acknowledged key missing from the journal went unnoticed"; return 1; }
  awk 'NR == 3 { print } { print }' "$e" >"$tmp/forged.ndjson"
  grep -q '^DUPLICATE' <<<"$("$tools/ha-check" "$tmp/forged.ndjson" "$tmp/requests.cut" "${args[@]}" || true)" \
    || { log "SELFTEST: a (partner, key) twice went unnoticed"; return 1; }
  awk 'NR == 3 { sub(/"type":"partner"/, "\"type\":\"partnEr\"") } { print }' "$e" >"$tmp/forged.ndjson"
  grep -q '^FORK' <<<"$("$tools/ha-check" "$tmp/forged.ndjson" "$tmp/requests.cut" "${args[@]}" || true)" \
    || { log "SELFTEST: a journal that is not the checkpoints' went unnoticed"; return 1; }
  log "SELFTEST: the checker reports a lost 2xx, a duplicate key and a forked journal"
}
# settled_after T LIMIT_S: the time of the first 2xx that ended after T (waits up to LIMIT_S for one)
settled_after() {
  local t deadline=$(($(date +%s) + $2))
  while [ "$(date +%s)" -le $deadline ]; do
    t=$(awk -F'\t' -v t="$1" '$2 >= t && $7 >= 200 && $7 < 300 { print $2; exit }' "$tmp/requests.tsv")
    [ -n "$t" ] && { echo "$t"; return 0; }
    sleep 0.25
  done
  log "no request succeeded within $2 s after the event" >&2; return 1
}
report() { # report NAME EVENT_MS: outage and throughput, after a window of load past the settle
  local settled
  # the control may leave no instance writing (a ledgerd that finds the journal behind what it
  # acknowledged fences itself for good): its report then ends at the window
  if [ $mode = negative ]; then settled=$(settled_after "$(now_ms)" 20) || settled=$(now_ms)
  else settled=$(settled_after "$(now_ms)" 60); fi
  sleep $((window_ms / 1000))
  log "EVENT $1: $("$tools/ha-load" stats "$tmp/requests.tsv" "$2" "$settled" "$window_ms")" \
      "formation_settled_after_ms=$((settled - $2))"
}

# --- negative control -----------------------------------------------------------------------------
if [ $mode = negative ]; then
  p=$(primary) s=$(other "$(primary)")
  walreceiver=$(ps -o pid=,cmd= --ppid "$(postmaster_of "$s")" | awk '/walreceiver/ { print $1 }')
  [ -n "$walreceiver" ] || { log "no walreceiver on $s"; exit 1; }
  log "CONTROL: SIGSTOP the walreceiver of $s ($walreceiver), writes go on with synchronous_commit=local"
  kill -STOP "$walreceiver"
  sleep 3
  t=$(now_ms)
  # the stopped walreceiver dies with the primary (its socket buffer, WAL never written, with it):
  # the standby restarts its recovery at once, well before the monitor asks it to promote
  log "CONTROL: hard-kill the primary $p and the stopped walreceiver of $s; $s gets promoted"
  kill_node "$p" "$walreceiver"
  wait_state 60 "$s=wait_primary|primary"
  report control "$t"
  touch "$tmp/stop"
  for i in $(seq 140); do alive "$load_pid" || break; sleep 0.25; done
  hard_kill "$load_pid"
  rc=0
  check control || rc=$?
  if [ $rc = 3 ]; then
    log "NEGATIVE CONTROL: lost acknowledged writes DETECTED (as expected):"
    grep -E '^(LOST|MOVED|DUPLICATE)' "$tmp/check-control.out" | head -n 20
    exit 3
  fi
  log "NEGATIVE CONTROL FAILED: no acknowledged write was found missing (check exit $rc)"
  exit 1
fi

# keepalive_check: the server probes each ledgerd's writer session after 5 s of silence (limits.h
# LIMIT_DB_TCP_KEEPALIVE_*), so a dead machine's writer lease is freed within ~11 s, not the
# kernel's default two hours: the server side of each session has a keepalive timer of at most 5 s
keepalive_check() {
  local p port line seconds checked=0
  p=$(primary)
  for port in $(sql "$p" postgres "SELECT client_port FROM pg_stat_activity
                                   WHERE datname = 'ledger' AND application_name = 'ledger-writer'"); do
    for i in $(seq 40); do # a session sending at this instant shows its retransmit timer: look again
      line=$(ss -Htno state established "( sport = :${pg_port[$p]} and dport = :$port )")
      seconds=$(sed -nE 's/.*timer:\(keepalive,([0-9.]+)(ms|sec|min).*/\1 \2/p' <<<"$line" |
        awk '{ print $2 == "ms" ? $1 / 1000 : $2 == "min" ? $1 * 60 : $1 }')
      [ -n "$seconds" ] && break
      sleep 0.05
    done
    if [ -z "$seconds" ] || awk -v s="$seconds" 'BEGIN { exit !(s > 5) }'; then
      log "CHECK keepalive: the writer session from port $port has no short keepalive timer: ${line:-none}"
      return 1
    fi
    checked=$((checked + 1))
  done
  [ "$checked" -eq 2 ] || { log "CHECK keepalive: $checked writer sessions found on $p, expected 2"; return 1; }
  log "check keepalive: both writer sessions probed by the server within 5 s of silence"
}

# --- events ---------------------------------------------------------------------------------------
check start
keepalive_check
checker_selftest
p=$(primary)
log "EVENT switchover (primary $p)"
t=$(now_ms)
as_pg pg_autoctl perform switchover --pgdata "$tmp/monitor" >>"$tmp/switchover.log" 2>&1
wait_state 60 "$p=secondary" "$(other "$p")=primary"
report switchover "$t"
check switchover

p=$(primary) s=$(other "$(primary)")
log "EVENT kill the standby $s (keeper + postgres, SIGKILL), then bring it back"
t=$(now_ms)
kill_node "$s"
wait_state 30 "$p=wait_primary"
start_keeper "$s"
wait_state 90 "$p=primary" "$s=secondary"
report standby-kill "$t"
check standby-kill

log "EVENT SIGKILL ledgerd 1, then restart it"
t=$(now_ms)
hard_kill "${ledgerd[0]}"
if alive "${ledgerd[0]}"; then log "could not kill ledgerd 1"; exit 1; fi
sleep 2
start_ledgerd 0
report ledgerd-kill "$t"
check ledgerd-kill

p=$(primary) s=$(other "$(primary)")
log "EVENT hard-kill the primary $p (keeper + postmaster, SIGKILL)"
t=$(now_ms)
kill_node "$p"
wait_state 60 "$s=wait_primary|primary"
report primary-kill "$t"
check primary-kill

log "EVENT restart the old primary $p: it must rejoin as a standby and take no writes"
t=$(now_ms)
start_keeper "$p"
wait_state 90 "$s=primary" "$p=secondary"
report old-primary-rejoin "$t"
[ "$(sql "$p" postgres "SELECT pg_is_in_recovery()")" = t ] || { log "the old primary $p is not a standby"; exit 1; }
if as_pg psql -X -h 127.0.0.1 -p "${pg_port[$p]}" -U postgres -d ledger -c "CREATE TEMP TABLE ha_probe (x int)" \
     >/dev/null 2>&1; then log "the old primary $p took a write"; exit 1; fi
check rejoin

log "stopping the load (unanswered requests are retried for up to 30 s)"
touch "$tmp/stop"
for i in $(seq 160); do alive "$load_pid" || break; sleep 0.25; done
check final
awk -F'\t' '$6 == 1 { n++ } $7 >= 200 && $7 < 300 { ok++ } $7 < 0 || $7 >= 500 { bad++ }
  END { printf "requests=%d acknowledged=%d failed_attempts_retried=%d\n", n, ok, bad }' "$tmp/requests.tsv"
state
log "PASS: no acknowledged write lost, journal and checkpoints consistent after every event"

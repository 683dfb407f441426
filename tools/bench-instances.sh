#!/usr/bin/env bash
# Issue 18 benchmark: does adding a ledgerd lower total throughput? Signed earns at CLIENTS
# connections through haproxy (docker/haproxy.cfg, the deployment's routing) to one database,
# interleaved in the same run, ROUNDS times:
#   one    — one ledgerd behind the balancer (the second stopped);
#   two    — two ledgerd: reads to both, writes to the writer-lease holder (the shipped config);
#   spread — two ledgerd with writes spread over both (the lease routing removed): the design the
#            issue measured, for comparison.
# Durable PostgreSQL settings (fsync on). Each load checks committed entries = unique 2xx and
# balanced books. Prints each figure and the ratios two/one and spread/one per round.
# usage: tools/bench-instances.sh [REQUESTS per load] [CLIENTS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-20000}
clients=${2:-32}
rounds=${3:-3}
bash tools/deps.sh
command -v haproxy >/dev/null || bash tools/deps.sh --ha
make -j"$(nproc)" all bin/bench-load >/dev/null
tmp=$(mktemp -d)
chmod 755 "$tmp"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  bash tools/pg.sh stop "$tmp/pg"
  rm -rf "$tmp"
}
trap cleanup EXIT
export LEDGER_DATABASE_URL=$(bash tools/pg.sh start "$tmp/pg")
export LEDGER_KEY_FILE=$tmp/ledger.pem LEDGER_ORIGIN=bench.instances LEDGER_EXPIRY_INTERVAL_S=0
export LEDGER_HTTP_THREADS=${LEDGER_HTTP_THREADS:-32} LEDGER_HTTP_CONNECTIONS_PER_ADDRESS=0
for k in ledger op alpha; do bin/ledgerctl keygen --out "$tmp/$k.pem" >/dev/null; done
bin/ledgerctl migrate >/dev/null
bin/ledgerctl init --operator-key-id op --operator-public-key "$(bin/ledgerctl pubkey --key-file "$tmp/op.pem")" >/dev/null
declare -A ledgerd_pid
start_ledgerd() { # start_ledgerd N (port 1818N)
  LEDGER_LISTEN=127.0.0.1:1818$1 bin/ledgerd 2>>"$tmp/ledgerd$1.log" &
  ledgerd_pid[$1]=$!
  pids+=($!)
  until curl -fs "http://127.0.0.1:1818$1/healthz" >/dev/null 2>&1; do sleep 0.05; done
}
stop_ledgerd() { kill "${ledgerd_pid[$1]}"; wait "${ledgerd_pid[$1]}" 2>/dev/null || true; }
# the shipped routing, and the same without the writer-lease rule (writes round-robin)
cp docker/haproxy.cfg "$tmp/lease.cfg"
sed '/use_backend writer if/d' docker/haproxy.cfg >"$tmp/spread.cfg"
haproxy_pid=
start_haproxy() { # start_haproxy CONFIG
  [ -n "$haproxy_pid" ] && { kill "$haproxy_pid"; wait "$haproxy_pid" 2>/dev/null || true; }
  HAPROXY_BIND=127.0.0.1:18180 LEDGERD1=127.0.0.1:18181 LEDGERD2=127.0.0.1:18182 haproxy -f "$1" -db 2>>"$tmp/haproxy.log" &
  haproxy_pid=$!
  pids+=($!)
  until curl -fs http://127.0.0.1:18180/healthz >/dev/null 2>&1; do sleep 0.05; done
}
# haproxy sees the set of healthy ledgerd (checks every 500 ms, down after 2, up after 1)
settle() { sleep 2; }
start_ledgerd 1
start_ledgerd 2
export LEDGER_URL=http://127.0.0.1:18181
op=(--key-id op --key-file "$tmp/op.pem")
bin/ledgerctl call POST /v1/admin/partners '{"code":"alpha","name":"alpha"}' "${op[@]}" >/dev/null
bin/ledgerctl call POST /v1/admin/partners/alpha/keys \
  "{\"keyid\":\"alpha-1\",\"public_key\":\"$(bin/ledgerctl pubkey --key-file "$tmp/alpha.pem")\"}" "${op[@]}" >/dev/null
psql_ledger() { runuser -u postgres -- psql -h "$tmp/pg" -U postgres -d ledger -tAc "$1"; }
load() { # load NAME: earns through the balancer; prints ops/s
  local out unique committed total
  out=$(bin/bench-load 127.0.0.1:18180 alpha-1 "$tmp/alpha.pem" earn 1000 "$clients" "$requests" 5 "$1")
  unique=$(sed -n 's/.*unique_ok=\([0-9]*\).*/\1/p' <<<"$out")
  committed=$(psql_ledger "SELECT count(*) FROM transactions WHERE reference LIKE '$1-%'")
  total=$(psql_ledger "SELECT coalesce(sum(balance),0) FROM accounts")
  [ "$committed" = "$unique" ] && [ "$total" = 0 ] || { echo "CHECK FAILED $1: committed=$committed unique=$unique total=$total" >&2; exit 1; }
  sed -n 's/^RESULT.* ops_per_s=\([0-9]*\).*/\1/p' <<<"$out"
}
start_haproxy "$tmp/lease.cfg"
settle
requests=2000 load warm >/dev/null
echo "leader: $(curl -s http://127.0.0.1:18181/healthz/writer | head -c 80) | $(curl -s http://127.0.0.1:18182/healthz/writer | head -c 80)"
ratio() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }
declare -A rate
measure() { # measure MODE ROUND
  case $1 in
  one) # the instance that does not hold the lease is stopped (the holder keeps it)
    start_haproxy "$tmp/lease.cfg"
    if curl -fs http://127.0.0.1:18181/healthz/writer >/dev/null; then other=2; else other=1; fi
    stop_ledgerd "$other"
    settle
    rate[one]=$(load "one$2")
    start_ledgerd "$other" ;;
  two) start_haproxy "$tmp/lease.cfg"; settle; rate[two]=$(load "two$2") ;;
  spread) start_haproxy "$tmp/spread.cfg"; settle; rate[spread]=$(load "spread$2") ;;
  esac
}
for r in $(seq 1 "$rounds"); do
  # the order alternates, so that a drift of the machine over the run favours no mode
  if [ $((r % 2)) = 1 ]; then order="one two spread"; else order="spread two one"; fi
  for mode in $order; do measure "$mode" "$r"; done
  echo "ROUND $r ($order) earns/s at $clients connections: one=${rate[one]} two=${rate[two]} spread=${rate[spread]}" \
       "two/one=$(ratio "${rate[two]}" "${rate[one]}")x spread/one=$(ratio "${rate[spread]}" "${rate[one]}")x"
done

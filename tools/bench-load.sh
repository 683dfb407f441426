#!/usr/bin/env bash
# Issue 7 benchmark: signed REST earn, burn, mixed (80/20) and hot-member traffic against a real
# ledgerd over keep-alive connections (5% exact duplicate retries), and in the same run the
# raw-SQL pgbench baseline of the same work (one transaction per request, 8 clients), so every
# figure is a ratio. Durable PostgreSQL settings (fsync, synchronous_commit on). After each run
# it checks that the committed entries equal the unique 2xx count and that the books balance.
# Also: the same earn load with one request in 16 refused by the database at write time (a
# trigger raising the unique violation PostgreSQL raises when another instance took the reference:
# the request is named, decision 197), right after the plain earn load once more on the same
# tables (earn2: the fallback's own baseline, decision 191); the same with a refusal that names no
# request (anonymous: narrowed down in chunks under savepoints, decision 185), the same earn load with group commit off (LEDGER_WRITE_BATCH=0, one transaction per request), idle latency (one client), start-up time, and memory for IDLE idle keep-alive
# connections. Each load also reports the machine's CPU time per request (server, database,
# generator, kernel) and the ceiling it implies with every core busy; the CEILING line sets each
# target's required rate against it.
# usage: tools/bench-load.sh [REQUESTS per run] [CLIENTS] [IDLE connections]
#        tools/bench-load.sh webhooks [REQUESTS per run] [CLIENTS] [ENDPOINTS] [DELAY_MS]
# The webhooks mode (issue 20 item 4): the earn load, then ENDPOINTS (default 4) webhooks of the
# loading partner pointed at a slow loopback receiver (bin/bench-receiver, DELAY_MS per delivery,
# default 200) and the same earn load again while they deliver; the ratio of the two is the cost
# of deliveries to the write path (README "Webhooks"), and the run checks deliveries happened.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=load
if [ "${1:-}" = webhooks ]; then
  mode=webhooks
  shift
  endpoints=${3:-4}
  delay_ms=${4:-200}
  export LEDGER_WEBHOOK_ALLOW_PRIVATE=1 # the receiver is on loopback
fi
requests=${1:-20000}
clients=${2:-32}
idle=${3:-10000}
bash tools/deps.sh
make -j"$(nproc)" all bin/bench-load bin/bench-idle bin/bench-verify bin/bench-receiver >/dev/null
[ "$mode" = webhooks ] || bin/bench-verify 10 # Ed25519: libsodium (used) against OpenSSL EVP, same run
tmp=$(mktemp -d)
chmod 755 "$tmp"
pid=
receiver_pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ -n "$receiver_pid" ] && kill "$receiver_pid" 2>/dev/null && wait "$receiver_pid" 2>/dev/null
  bash tools/pg.sh stop "$tmp/pg"
  rm -rf "$tmp"
}
trap cleanup EXIT
export LEDGER_DATABASE_URL=$(bash tools/pg.sh start "$tmp/pg")
export LEDGER_KEY_FILE=$tmp/ledger.pem LEDGER_LISTEN=127.0.0.1:18181 LEDGER_URL=http://127.0.0.1:18181
export LEDGER_HTTP_THREADS=${LEDGER_HTTP_THREADS:-32} LEDGER_EXPIRY_INTERVAL_S=0
# every load (and the 10,000 idle connections) comes from 127.0.0.1: no per-address limit here
export LEDGER_HTTP_CONNECTIONS_PER_ADDRESS=0
for k in ledger op alpha beta; do bin/ledgerctl keygen --out "$tmp/$k.pem" >/dev/null; done
bin/ledgerctl migrate >/dev/null
bin/ledgerctl init --operator-key-id op --operator-public-key "$(bin/ledgerctl pubkey --key-file "$tmp/op.pem")" >/dev/null
start_ledgerd() { # start-up time: exec to the first healthy answer
  local t0 t1
  t0=$(date +%s%N)
  bin/ledgerd 2>>"$tmp/ledgerd.log" &
  pid=$!
  until curl -fs "$LEDGER_URL/healthz" >/dev/null 2>&1; do sleep 0.002; done
  t1=$(date +%s%N)
  startup_ms=$(( (t1 - t0) / 1000000 ))
}
stop_ledgerd() { kill "$pid"; wait "$pid" || true; pid=; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
start_ledgerd
echo "startup: ${startup_ms} ms from exec to the first healthy answer"
op=(--key-id op --key-file "$tmp/op.pem")
for p in alpha beta; do
  bin/ledgerctl call POST /v1/admin/partners "{\"code\":\"$p\",\"name\":\"$p\"}" "${op[@]}" >/dev/null
  bin/ledgerctl call POST "/v1/admin/partners/$p/keys" \
    "{\"keyid\":\"$p-1\",\"public_key\":\"$(bin/ledgerctl pubkey --key-file "$tmp/$p.pem")\"}" "${op[@]}" >/dev/null
done
psql_ledger() { runuser -u postgres -- psql -h "$tmp/pg" -U postgres -d ledger -tAc "$1" 2>/dev/null || psql -h "$tmp/pg" -U postgres -d ledger -tAc "$1"; }
declare -A rest ceiling
# the writer's counters (batches, requests, seconds by phase) as "name value" lines
writer_metrics() {
  curl -fs "$LEDGER_URL/metrics" | sed -n -e 's/^ledger_write_\(batches_total\|batch_requests_total\) /\1 /p' \
    -e 's/^ledger_write_seconds_total{phase="\([a-z]*\)"} /\1 /p'
}
# per batch over a load: its size and the writer's milliseconds in each phase
writer_line() { # writer_line NAME BEFORE AFTER
  awk -v name="$1" 'FNR == NR { before[$1] = $2; next } { d[$1] = $2 - before[$1] }
    END { b = d["batches_total"]; if (b == 0) exit;
          printf "WRITER mode=%s batches=%d requests_per_batch=%.1f ms_per_batch: read=%.2f plan=%.2f write=%.2f commit=%.2f answer=%.2f wait=%.2f\n",
                 name, b, d["batch_requests_total"] / b, 1000 * d["read"] / b, 1000 * d["plan"] / b,
                 1000 * d["write"] / b, 1000 * d["commit"] / b, 1000 * d["answer"] / b, 1000 * d["wait"] / b }' <(echo "$2") <(echo "$3")
}
run() { # run NAME PARTNER MODE MEMBERS
  local out before
  before=$(writer_metrics)
  out=$(BENCH_SERVER_PID=$pid bin/bench-load 127.0.0.1:18181 "$2-1" "$tmp/$2.pem" "$3" "$4" "$clients" "$requests" 5 "$1")
  echo "$out"
  writer_line "$1" "$before" "$(writer_metrics)"
  local unique committed total
  unique=$(sed -n 's/.*unique_ok=\([0-9]*\).*/\1/p' <<<"$out")
  committed=$(psql_ledger "SELECT count(*) FROM transactions WHERE reference LIKE '$1-%'")
  total=$(psql_ledger "SELECT coalesce(sum(balance),0) FROM accounts")
  echo "check $1: committed=$committed unique_2xx=$unique books_total=$total"
  [ "$committed" = "$unique" ] && [ "$total" = 0 ] || { echo "CHECK FAILED" >&2; exit 1; }
  rest[$1]=$(sed -n 's/^RESULT.* ops_per_s=\([0-9]*\).*/\1/p' <<<"$out")
  ceiling[$1]=$(sed -n 's/.*ceiling_ops_per_s=\([0-9]*\).*/\1/p' <<<"$out")
}
# warm-up, not reported: every pool session prepares its statements, the key cache fills and the
# empty tables grow their first pages before anything is timed
requests=2000 run warm alpha earn 1000 >/dev/null
run earn alpha earn 1000
if [ "$mode" = webhooks ]; then
  bin/bench-receiver 18199 "$delay_ms" >"$tmp/receiver" &
  receiver_pid=$!
  for i in $(seq 1 "$endpoints"); do
    bin/ledgerctl call POST /v1/webhooks "{\"url\":\"http://127.0.0.1:18199/hook/$i\",\"event_types\":[\"earn.created\"]}" \
      --key-id alpha-1 --key-file "$tmp/alpha.pem" >/dev/null
  done
  run hooked alpha earn 1000
  ok=$(curl -fs "$LEDGER_URL/metrics" | sed -n 's/^ledger_webhook_deliveries_total{outcome="ok"} //p')
  pending=$(psql_ledger "SELECT coalesce(sum(e.n), 0) FROM webhooks w, LATERAL (SELECT count(*) AS n FROM partner_events pe
    WHERE pe.partner = w.partner AND pe.seq > w.delivered_cursor) e WHERE w.disabled_seq IS NULL")
  kill "$receiver_pid"; wait "$receiver_pid" || true; receiver_pid=
  echo "webhooks: $endpoints endpoints, receiver ${delay_ms} ms per delivery: $ok delivered during the load," \
       "$pending events still pending; $(cat "$tmp/receiver")"
  [ "${ok:-0}" -gt 0 ] || { echo "CHECK FAILED: no webhook delivered" >&2; exit 1; }
  awk "BEGIN { printf \"RATIO earn_with_webhooks/earn=%.2fx (within noise: about 0.9-1.1x)\n\", ${rest[hooked]} / ${rest[earn]} }"
  exit 0
fi
run burn beta burn 1000
run mixed alpha mixed 1000
run hot alpha earn 1
# the set-based earn again, just before the fallback, on the database as the loads above left it:
# the fallback's ratio is also given against it (same tables, same moment; decision 191)
run earn2 alpha earn 1000
# the writer's fallback: a trigger refuses one earn in 16 at write time, as the database does when
# another instance took the reference first: a unique violation the planner could not foresee,
# raised with PostgreSQL's own words (its DETAIL names the key), so the refused request is known
# and planned again as the refusal with the rest of its group (decision 197)
psql_ledger "CREATE FUNCTION bench_refuse_row() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN
  IF NEW.reference LIKE 'fallback-%' AND substr(NEW.reference, 10)::bigint % 16 = 0 THEN
    RAISE unique_violation USING CONSTRAINT = 'transactions_reference_unique',
      MESSAGE = 'duplicate key value violates unique constraint \"transactions_reference_unique\"',
      DETAIL = format('Key (partner, reference_key, reference)=(%s, %s, %s) already exists.',
                      NEW.partner, NEW.reference_key, NEW.reference);
  END IF; RETURN NEW; END \$\$;
  CREATE TRIGGER bench_refuse_row BEFORE INSERT ON transactions FOR EACH ROW EXECUTE FUNCTION bench_refuse_row()" >/dev/null
fallbacks() { curl -fs "$LEDGER_URL/metrics" | sed -n 's/^ledger_write_batch_fallbacks_total //p'; }
named() { curl -fs "$LEDGER_URL/metrics" | sed -n 's/^ledger_write_refusals_named_total //p'; }
fallbacks_before=$(fallbacks) named_before=$(named)
run fallback alpha earn 1000
fallbacks_after=$(fallbacks) named_after=$(named)
echo "fallback: $((fallbacks_after - fallbacks_before)) refused writes, $((named_after - named_before)) named by the database" \
     "(each planned again with its group)"
[ "$named_after" -gt "$named_before" ] || { echo "CHECK FAILED: no refusal was named" >&2; exit 1; }
psql_ledger "DROP TRIGGER bench_refuse_row ON transactions; DROP FUNCTION bench_refuse_row()" >/dev/null
# the same with a refusal that names no request (one statement's check, no DETAIL): a group
# holding one is narrowed down in place, in chunks, to the refused one (decision 185)
psql_ledger "CREATE FUNCTION bench_refuse_batch() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN
  IF EXISTS (SELECT 1 FROM written WHERE reference LIKE 'anonymous-%'
             AND substr(reference, 11)::bigint % 16 = 0) THEN
    RAISE unique_violation USING CONSTRAINT = 'transactions_reference_unique', MESSAGE = 'bench: refused';
  END IF; RETURN NULL; END \$\$;
  CREATE TRIGGER bench_refuse_batch AFTER INSERT ON transactions REFERENCING NEW TABLE AS written
  FOR EACH STATEMENT EXECUTE FUNCTION bench_refuse_batch()" >/dev/null
fallbacks_before=$(fallbacks)
run anonymous alpha earn 1000
fallbacks_after=$(fallbacks)
echo "anonymous: $((fallbacks_after - fallbacks_before)) refused writes narrowed down"
[ "$fallbacks_after" -gt "$fallbacks_before" ] || { echo "CHECK FAILED: no batch fell back" >&2; exit 1; }
psql_ledger "DROP TRIGGER bench_refuse_batch ON transactions; DROP FUNCTION bench_refuse_batch()" >/dev/null
# idle means idle: the maintenance the loads above left due (autovacuum, checkpoint) is done first
psql_ledger "VACUUM ANALYZE" >/dev/null
psql_ledger "CHECKPOINT" >/dev/null
clients=1 requests=1000 run idle alpha earn 1000 # latency with no load (assignments are local to the call)
# idle keep-alive connections: ledgerd's resident memory before and while they are open
rss_before=$(rss_kb)
bin/bench-idle 127.0.0.1 18181 "$idle" 5 >"$tmp/idle" &
idle_pid=$!
until grep -qs open= "$tmp/idle" || ! kill -0 "$idle_pid" 2>/dev/null; do sleep 0.1; done
rss_open=$(rss_kb)
wait "$idle_pid" || { echo "CHECK FAILED: idle connections dropped" >&2; cat "$tmp/idle" >&2; exit 1; }
echo "idle: $(tr '\n' ' ' <"$tmp/idle")keep-alive connections: ledgerd RSS ${rss_before} kB -> ${rss_open} kB" \
     "($(( (rss_open - rss_before) * 1024 / idle )) bytes per connection)"
# the same earn load with group commit off: one transaction per request
stop_ledgerd
LEDGER_WRITE_BATCH=0 start_ledgerd
run direct alpha earn 1000
stop_ledgerd
# the raw-SQL baseline in the same cluster, 8 clients, one transaction per request
pgbench=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/pgbench
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
as_pg "$(dirname "$pgbench")/createdb" -h "$tmp/pg" -U postgres baseline
as_pg "$(dirname "$pgbench")/psql" -q -h "$tmp/pg" -U postgres -d baseline -f tools/pgbench/schema.sql
tps() { as_pg "$pgbench" -n -h "$tmp/pg" -U postgres -c 8 -j 2 -T 10 -D members="$2" -f "tools/pgbench/$1.sql" baseline \
          | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | cut -d. -f1; }
base_earn=$(tps earn 1000); base_burn=$(tps burn 1000); base_hot=$(tps earn 1)
echo "baseline pgbench (8 clients, one commit per request): earn=$base_earn/s burn=$base_burn/s hot_earn=$base_hot/s"
ratio() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }
echo "RATIO earn=$(ratio "${rest[earn]}" "$base_earn")x burn=$(ratio "${rest[burn]}" "$base_burn")x" \
     "mixed=$(ratio "${rest[mixed]}" "$base_earn")x hot=$(ratio "${rest[hot]}" "$base_hot")x (signed REST / raw SQL)"
# what each ratio target needs, against the most this machine's CPU allows for the same work
echo "CEILING earn: 1.5x needs $(( base_earn * 3 / 2 ))/s, CPU allows ${ceiling[earn]}/s;" \
     "burn: 1.0x needs ${base_burn}/s, CPU allows ${ceiling[burn]}/s;" \
     "hot: 5x needs $(( base_hot * 5 ))/s, CPU allows ${ceiling[hot]}/s;" \
     "p99 < 10 ms at $clients connections needs a mean under 10 ms: more than $(( clients * 100 ))/s (Little's law)"
echo "RATIO group_commit_earn/per_request_earn=$(ratio "${rest[earn]}" "${rest[direct]}")x" \
     "fallback_earn/set_based_earn=$(ratio "${rest[fallback]}" "${rest[earn]}")x (target >= 0.5x)" \
     "fallback_earn/set_based_earn_just_before=$(ratio "${rest[fallback]}" "${rest[earn2]}")x" \
     "anonymous_refusal_earn/set_based_earn=$(ratio "${rest[anonymous]}" "${rest[earn]}")x"

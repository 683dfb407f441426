#!/usr/bin/env bash
# `make run`: dependencies, build, a private PostgreSQL under .local/ (unless LEDGER_DATABASE_URL
# is set), migrations, a ledger key, a demo coalition (operator + 3 brands with key files), ledgerd.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh
make -j2 all >/dev/null
state=$PWD/.local
mkdir -p "$state/keys"
own_pg=0
if [ -z "${LEDGER_DATABASE_URL:-}" ]; then
  LEDGER_DATABASE_URL=$(bash tools/pg.sh start "$state/pg")
  own_pg=1
fi
export LEDGER_DATABASE_URL
export LEDGER_LISTEN=${LEDGER_LISTEN:-127.0.0.1:8080}
export LEDGER_KEY_FILE=${LEDGER_KEY_FILE:-$state/keys/ledger.pem}
export LEDGER_ORIGIN=${LEDGER_ORIGIN:-demo.coalition-ledger.example}
export LEDGER_URL=http://$LEDGER_LISTEN
[ -f "$LEDGER_KEY_FILE" ] || bin/ledgerctl keygen --out "$LEDGER_KEY_FILE" >/dev/null

key() { # key NAME -> prints the public key of .local/keys/NAME.pem, creating it once
  [ -f "$state/keys/$1.pem" ] || bin/ledgerctl keygen --out "$state/keys/$1.pem" >/dev/null
  bin/ledgerctl pubkey --key-file "$state/keys/$1.pem"
}
bin/ledgerctl migrate >/dev/null
fresh=0
if out=$(bin/ledgerctl init --operator-key-id operator-1 --operator-public-key "$(key operator)" --currency KZT 2>&1); then
  fresh=1
elif ! grep -q "not empty" <<<"$out"; then
  echo "$out" >&2; exit 1
fi

bin/ledgerd 2>>"$state/ledgerd.log" &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ "$own_pg" = 1 ]; then bash tools/pg.sh stop "$state/pg"; fi
}
trap cleanup EXIT
trap 'exit 0' INT TERM
for _ in $(seq 1 50); do
  curl -fs "$LEDGER_URL/healthz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { tail -5 "$state/ledgerd.log" >&2; exit 1; }
  sleep 0.1
done

if [ "$fresh" = 1 ]; then
  op=(--key-id operator-1 --key-file "$state/keys/operator.pem")
  for brand in "coffee:Coffee House" "books:Book Corner" "cinema:City Cinema"; do
    code=${brand%%:*}
    bin/ledgerctl call POST /v1/admin/partners "{\"code\":\"$code\",\"name\":\"${brand#*:}\"}" "${op[@]}" >/dev/null
    bin/ledgerctl call POST "/v1/admin/partners/$code/keys" \
      "{\"keyid\":\"$code-1\",\"public_key\":\"$(key "$code")\"}" "${op[@]}" >/dev/null
  done
  bin/ledgerctl call POST /v1/admin/point-values '{"value_num":1,"value_den":2}' "${op[@]}" >/dev/null
  # an auditor for the console's read-only view
  bin/ledgerctl call POST /v1/admin/staff-keys \
    "{\"keyid\":\"auditor-1\",\"public_key\":\"$(key auditor)\",\"role\":\"auditor\"}" "${op[@]}" >/dev/null
fi

cat <<TXT

Coalition Ledger is running on $LEDGER_URL (logs: .local/ledgerd.log, Ctrl-C stops it).
Demo coalition: operator key operator-1; brands coffee, books, cinema with keys <brand>-1.
Key files are in .local/keys/.

Finance and audit console: $LEDGER_URL/console/
  sign in with a key file from .local/keys/ and its key id: operator.pem (operator-1),
  auditor.pem (auditor-1), coffee.pem (coffee-1), ...; pin the ledger key once to check signatures:
  $(bin/ledgerctl pubkey --key-file "$LEDGER_KEY_FILE")

In another shell, from this folder:

  export LEDGER_URL=$LEDGER_URL
  bin/ledgerctl call POST /v1/earn '{"member":"card-1001","points":500,"reference":"till-1"}' \\
      --key-id coffee-1 --key-file .local/keys/coffee.pem
  bin/ledgerctl call POST /v1/burn '{"member":"card-1001","points":200,"reference":"order-9"}' \\
      --key-id books-1 --key-file .local/keys/books.pem
  bin/ledgerctl call GET /v1/members/card-1001 --key-id books-1 --key-file .local/keys/books.pem
  bin/ledgerctl call GET /v1/admin/trial-balance --key-id operator-1 --key-file .local/keys/operator.pem

TXT
wait "$pid"

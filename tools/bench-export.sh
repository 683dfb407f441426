#!/usr/bin/env bash
# Benchmark of issue 5: export and verify ENTRIES (default 1,000,000) journal entries. Starts its own PostgreSQL
# (durable settings: fsync and synchronous_commit on) in a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
entries=${1:-1000000}
bash tools/deps.sh
make -j"$(nproc)" bin/bench-export >/dev/null
tmp=$(mktemp -d)
chmod 755 "$tmp"
trap 'bash tools/pg.sh stop "$tmp/pg"; rm -rf "$tmp"' EXIT
export LEDGER_DATABASE_URL=$(bash tools/pg.sh start "$tmp/pg")
echo "machine: $(nproc) cores, $(uname -m), PostgreSQL $(psql --version | awk '{print $3}')"
bin/bench-export "$entries"

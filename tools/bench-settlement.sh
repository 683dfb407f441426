#!/usr/bin/env bash
# Benchmark of issue 4: settle ENTRIES (default 5,000,000) burn entries across 20 brands. Starts its own PostgreSQL
# (durable settings: fsync and synchronous_commit on) in a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
entries=${1:-5000000}
bash tools/deps.sh
make -j"$(nproc)" bin/bench-settlement >/dev/null
tmp=$(mktemp -d)
chmod 755 "$tmp"
trap 'bash tools/pg.sh stop "$tmp/pg"; rm -rf "$tmp"' EXIT
export LEDGER_DATABASE_URL=$(bash tools/pg.sh start "$tmp/pg")
echo "machine: $(nproc) cores, $(uname -m), PostgreSQL $(psql --version | awk '{print $3}')"
bin/bench-settlement "$entries" 20

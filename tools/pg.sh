#!/usr/bin/env bash
# A private PostgreSQL 15 cluster in a directory: `tools/pg.sh start DIR [--fast]` prints a libpq
# conninfo for database "ledger"; `tools/pg.sh stop DIR`; `tools/pg.sh crash DIR` (immediate). Unix socket only (no TCP port).
# initdb/postgres refuse to run as root: as root the cluster runs as the `postgres` user.
set -euo pipefail
cmd=$1
dir=$(realpath -m "$2")
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bindir" ] || { echo "PostgreSQL server binaries not found (tools/deps.sh installs them)" >&2; exit 1; }
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "$cmd" in
start)
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir"; chmod 700 "$dir"; fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
  fi
  opts="-c listen_addresses='' -c unix_socket_directories='$dir' -c max_connections=200"
  # --fast (tests): no fsync, but commits still reach the WAL before they are acknowledged, so a
  # database crash (tools/pg.sh crash) loses nothing acknowledged; only a machine crash could.
  if [ "${3:-}" = "--fast" ]; then opts="$opts -c fsync=off -c full_page_writes=off"; fi
  if ! as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 -o "$opts" start >/dev/null \
      || { cat "$dir/postgres.log" >&2; exit 1; }
  fi
  if ! as_owner "$bindir/psql" -h "$dir" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='ledger'" | grep -q 1; then
    as_owner "$bindir/createdb" -h "$dir" -U postgres ledger
  fi
  echo "host=$dir user=postgres dbname=ledger"
  ;;
stop|crash)
  # crash: an immediate shutdown, as a power cut would leave it (tests of database faults)
  mode=fast; [ "$cmd" = crash ] && mode=immediate
  if [ -f "$dir/data/PG_VERSION" ]; then
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m "$mode" -w stop >/dev/null 2>&1 || true
  fi
  ;;
*) echo "usage: tools/pg.sh start|stop|crash DIR [--fast]" >&2; exit 2 ;;
esac

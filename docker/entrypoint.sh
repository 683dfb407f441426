#!/bin/sh
# ledgerd's container entrypoint: makes the mounted ledger key readable by `ledger` only, applies
# migrations (idempotent, one migrator at a time), then runs ledgerd in the foreground.
# Migrations run as LEDGER_MIGRATE_DATABASE_URL's role when it is set (compose: the owner of the
# ledger's tables), ledgerd as LEDGER_DATABASE_URL's (compose: a role with row privileges only;
# decision 194); without it, both use LEDGER_DATABASE_URL.
#
# The key arrives as a bind mount (compose secret, or -v) that keeps the host file's owner and mode
# (0600, owned by whoever made it): the image's `ledger` user cannot read it. Started as root, this
# script copies it into /run/ledger (a tmpfs in compose: never written to disk), owned by `ledger`,
# mode 0400, points LEDGER_KEY_FILE there, and re-runs itself as `ledger` with no capabilities.
set -eu

if [ "$(id -u)" = 0 ]; then
  : "${LEDGER_KEY_FILE:?LEDGER_KEY_FILE must name the mounted ledger key}"
  if [ ! -r "$LEDGER_KEY_FILE" ]; then
    echo "ledger-entrypoint: cannot read LEDGER_KEY_FILE=$LEDGER_KEY_FILE" >&2
    exit 1
  fi
  install -d -o ledger -g ledger -m 0700 /run/ledger
  install -o ledger -g ledger -m 0400 "$LEDGER_KEY_FILE" /run/ledger/ledger.pem
  export LEDGER_KEY_FILE=/run/ledger/ledger.pem
  export HOME=/var/lib/ledger   # not /root: libpq looks there for ~/.postgresql client files
  exec setpriv --reuid=ledger --regid=ledger --init-groups --inh-caps=-all --bounding-set=-all \
    --no-new-privs -- "$0" "$@"
fi

# The database may still be starting (or failing over): retry for a bounded time, then exit
# non-zero and let the restart policy start the container again.
tries=${LEDGER_MIGRATE_TRIES:-60}
until LEDGER_DATABASE_URL=${LEDGER_MIGRATE_DATABASE_URL:-${LEDGER_DATABASE_URL:-}} ledgerctl migrate; do
  tries=$((tries - 1))
  if [ "$tries" -le 0 ]; then
    echo "ledger-entrypoint: migrations failed; giving up (the restart policy retries)" >&2
    exit 1
  fi
  sleep 2
done
unset LEDGER_MIGRATE_DATABASE_URL   # ledgerd needs only its own role's conninfo
exec ledgerd "$@"

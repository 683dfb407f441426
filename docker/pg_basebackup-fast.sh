#!/bin/sh
# pg_basebackup with an immediate checkpoint (docker/Dockerfile, postgres stage: why).
# --version and --help are only recognized as the first argument: pass those through unchanged.
real=/usr/lib/postgresql/15/bin/pg_basebackup.spread
case "${1:-}" in
  --version|-V|--help|-\?) exec "$real" "$@" ;;
esac
exec "$real" --checkpoint=fast "$@"

#!/usr/bin/env bash
# container-test.sh (`make test-containers`): builds docker/ with Podman and runs the whole stack —
# pg_auto_failover monitor + two PostgreSQL nodes, two ledgerd, haproxy — then checks it end to end:
# both nodes in the formation (primary + secondary), `ledgerctl init`, one partner and one signed
# earn through haproxy, a switchover and one more earn on the new primary, /healthz of both
# ledgerd; before and after the switchover, that every session of ledgerd's on the primary is its
# own role's (LEDGER_DB_ROLE), not a superuser's, with row privileges only (decisions 193, 194). Tears everything down on exit (trap). Every step is bounded (`timeout`); the only
# published port is haproxy's, on 127.0.0.1.
#
# No image registry is needed: the Debian 12 base image is made here with debootstrap and
# `podman import` (once; reused while it exists). Podman settings: docker/podman/ (why: README
# "Containers"). CONTAINER_TEST_FRESH=1 first removes every image this test makes (cold timing);
# --build-only stops once the images are built (to run the stack by hand).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

BASE_IMAGE=${LEDGER_BASE_IMAGE:-localhost/debian:bookworm}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
IMAGES=(postgres:localhost/coalition-ledger-postgres:latest haproxy:localhost/coalition-ledger-haproxy:latest
        ledgerd:localhost/coalition-ledger:latest)
export CONTAINERS_CONF=$root/docker/podman/containers.conf
export CONTAINERS_STORAGE_CONF=$root/docker/podman/storage.conf
export BUILDAH_FORMAT=docker   # keeps HEALTHCHECK (Podman drops it in the OCI format)

t0=$SECONDS
phase() { printf '== %-44s (%3d s)\n' "$1" $((SECONDS - t0)); }
fail() { echo "container-test: FAIL: $*" >&2; exit 1; }

bash tools/deps.sh --containers
make -j2 all >/dev/null

work=$(mktemp -d /tmp/container-test.XXXXXX)
project=cltest$$
compose=(podman-compose --project-name "$project" -f "$root/docker/compose.yaml")
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$rc" -ne 0 ] && [ -n "${stack_up:-}" ]; then
    for s in monitor node1 node2 ledgerd1 ledgerd2 haproxy; do
      echo "--- logs of $s (last 15 lines)" >&2
      timeout 20 podman logs --tail 15 "${project}_${s}_1" >&2 2>&1 || true
    done
  fi
  if [ -n "${stack_up:-}" ]; then
    timeout 120 "${compose[@]}" down -v >/dev/null 2>&1 || true
    timeout 30 podman network rm -f "${project}_default" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "${CONTAINER_TEST_FRESH:-0}" = 1 ]; then
  for spec in "${IMAGES[@]}"; do podman rmi -f "${spec#*:}" >/dev/null 2>&1 || true; done
  podman rmi -f "$BASE_IMAGE" >/dev/null 2>&1 || true
  podman image prune -a -f >/dev/null 2>&1 || true
  phase "removed every image (fresh start)"
fi

# The Debian 12 base image: debootstrap (minbase) + the apt sources debian:12-slim has.
if ! podman image exists "$BASE_IMAGE"; then
  rootfs=$work/rootfs
  timeout 900 debootstrap --variant=minbase bookworm "$rootfs" "$DEBIAN_MIRROR" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; fail "debootstrap"; }
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $DEBIAN_MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | timeout 600 podman import --change 'CMD ["bash"]' - "$BASE_IMAGE" >/dev/null
  rm -rf "$rootfs"
  phase "base image $BASE_IMAGE (debootstrap)"
fi

# The three images, from the one Dockerfile (docker format: HEALTHCHECK kept; host network: the
# build's apt reaches the mirrors the way the host does). Each image is also tagged with a digest
# of its inputs (base image, Dockerfile, every file it copies): when that tag exists the build is
# skipped — even a fully cached `podman build` copies whole layers with vfs (30-90 s per image).
# (A tag, not a label: Podman 4.3 does not apply --label when every step comes from the cache.)
inputs=$( { podman image inspect --format '{{.Id}}' "$BASE_IMAGE";
            find Makefile include src migrations tools/embed-migrations.sh docker/Dockerfile* docker/*.sh \
              docker/haproxy.cfg -type f \
              -print0 | sort -z | xargs -0 sha256sum; } | sha256sum | cut -c1-24)
for spec in "${IMAGES[@]}"; do
  target=${spec%%:*} image=${spec#*:}
  stamp=${image%:*}:inputs-$inputs
  if podman image exists "$stamp"; then
    podman tag "$stamp" "$image"
    phase "image $image (inputs unchanged)"
    continue
  fi
  timeout 1800 podman build --network host --format docker --build-arg "BASE=$BASE_IMAGE" \
    --target "$target" -t "$image" -t "$stamp" -f docker/Dockerfile --ignorefile docker/Dockerfile.dockerignore . \
    >"$work/build-$target.log" 2>&1 || { tail -30 "$work/build-$target.log" >&2; fail "podman build --target $target"; }
  for old in $(podman images --format '{{.Repository}}:{{.Tag}}' "${image%:*}" | grep ':inputs-' | grep -vx "$stamp"); do
    podman untag "$old" "$old" >/dev/null 2>&1 || true
  done
  phase "image $image"
done
if [ "${1:-}" = "--build-only" ]; then exit 0; fi

# The stack: a private key set, a free loopback port, one compose project of its own.
mkdir -m 0700 "$work/keys"
for k in ledger operator coffee; do bin/ledgerctl keygen --out "$work/keys/$k.pem" >/dev/null; done
port=
for _ in $(seq 1 50); do
  p=$((20000 + RANDOM % 20000))
  if ! ss -Htln "sport = :$p" | grep -q .; then port=$p; break; fi
done
[ -n "$port" ] || fail "no free loopback port"
export LEDGER_KEY_PATH=$work/keys/ledger.pem LEDGER_HTTP_PORT=$port LEDGER_BASE_IMAGE=$BASE_IMAGE
export LEDGER_ORIGIN=container-test.coalition-ledger.example
stack_up=1
timeout 300 "${compose[@]}" up -d --no-build >"$work/up.log" 2>&1 || { tail -30 "$work/up.log" >&2; fail "compose up"; }
phase "stack created ($project, 127.0.0.1:$port)"

# Health: Podman runs HEALTHCHECKs from systemd timers, absent here; `podman healthcheck run` runs
# the image's check on demand (and records it). Bounded wait for every service, then for the
# formation: one primary, one secondary (synchronous standby).
ctr() { echo "${project}_$1_1"; }
healthy() { timeout 20 podman healthcheck run "$(ctr "$1")" >/dev/null 2>&1; }   # 0: healthy
wait_for() { # wait_for SECONDS WHAT COMMAND...
  local until=$((SECONDS + $1)) what=$2; shift 2
  until "$@"; do
    [ "$SECONDS" -lt "$until" ] || fail "timed out waiting for $what"
    sleep 2
  done
}
formation_ready() {
  local state
  state=$(timeout 20 podman exec "$(ctr monitor)" pg_autoctl show state 2>/dev/null) || return 1
  grep -Eq '\| +primary \| +primary$' <<<"$state" && grep -Eq '\| +secondary \| +secondary$' <<<"$state"
}
for s in monitor node1 node2; do wait_for 180 "$s healthy" healthy "$s"; done
wait_for 240 "the formation (primary + secondary)" formation_ready
phase "formation: primary + synchronous standby"
timeout 20 podman exec "$(ctr monitor)" pg_autoctl show state
for s in ledgerd1 ledgerd2; do wait_for 180 "$s healthy" healthy "$s"; done
curl_ok() { curl -fsS -m 5 -o /dev/null "$1"; }
wait_for 60 "haproxy" curl_ok "http://127.0.0.1:$port/healthz"
phase "ledgerd1, ledgerd2, haproxy healthy"

# ledgerd's database role (decisions 193, 194): every session from a ledgerd container, on the
# primary, is LEDGER_DB_ROLE's and not a superuser's, both writer sessions among them; the role owns
# nothing (the tables are LEDGER_DB_OWNER's, who ran the migrations) and is refused a TRUNCATE of
# the journal; both nodes' pg_hba.conf carry the roles' lines (the standby's too: it serves after a
# switchover).
DB_ROLE=ledger_app DB_OWNER=ledger_owner
node_sql() { timeout 20 podman exec "$(ctr "$1")" psql -X -At -h 127.0.0.1 -U postgres -d ledger -c "$2"; }
primary() { local n; for n in node1 node2; do [ "$(node_sql "$n" 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ] && { echo "$n"; return 0; }; done; return 1; }
ledgerd_ips=$(for s in ledgerd1 ledgerd2; do
  podman inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$(ctr "$s")"; done | paste -sd, -)
ledgerd_sessions() { # writer sessions, sessions not LEDGER_DB_ROLE's or a superuser's, all sessions
  local p; p=$(primary) || return 1
  node_sql "$p" "SELECT count(*) FILTER (WHERE a.application_name = 'ledger-writer') || ' ' ||
                        count(*) FILTER (WHERE a.usename IS DISTINCT FROM '$DB_ROLE' OR coalesce(r.rolsuper, true)) || ' ' || count(*)
                   FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid
                  WHERE a.client_addr = ANY ('{$ledgerd_ips}'::inet[])"
}
check_db_role() {
  local got writers bad total
  got=$(ledgerd_sessions) || fail "ledgerd's sessions on the primary: $got"
  read -r writers bad total <<<"$got"
  echo "ledgerd's sessions on the primary ($(primary)): $total, writers $writers, not $DB_ROLE or superuser $bad"
  [ "$writers" = 2 ] && [ "$bad" = 0 ] || fail "ledgerd's sessions: want 2 writers and none but $DB_ROLE's (not a superuser)"
  got=$(node_sql "$(primary)" "SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = '$DB_OWNER') || ' ' ||
                                      (SELECT rolsuper FROM pg_roles WHERE rolname = '$DB_ROLE')")
  [ "$got" = "false false" ] || fail "$DB_OWNER, $DB_ROLE: want both, neither a superuser (rolsuper: $got)"
  got=$(node_sql "$(primary)" "SELECT (SELECT count(*) FROM pg_class WHERE relowner = '$DB_ROLE'::regrole) || ' ' ||
                                      pg_get_userbyid((SELECT relowner FROM pg_class WHERE oid = 'journal'::regclass))")
  [ "$got" = "0 $DB_OWNER" ] || fail "$DB_ROLE must own nothing and $DB_OWNER the journal: $got"
  got=$(timeout 20 podman exec "$(ctr "$(primary)")" psql -X -h 127.0.0.1 -U "$DB_ROLE" -d ledger \
          -v ON_ERROR_STOP=1 -c 'BEGIN' -c 'TRUNCATE journal' -c 'ROLLBACK' 2>&1) \
    && fail "$DB_ROLE may TRUNCATE the journal"
  grep -q 'permission denied' <<<"$got" || fail "TRUNCATE as $DB_ROLE: $got"
  for n in node1 node2; do
    for r in "$DB_ROLE" "$DB_OWNER"; do
      timeout 20 podman exec "$(ctr "$n")" grep -q "\"$r\"" /var/lib/postgresql/pgaf/data/pg_hba.conf \
        || fail "$n: no pg_hba.conf line for $r"
    done
  done
}
writers_on_primary() { local got; got=$(ledgerd_sessions 2>/dev/null) && [ "${got%% *}" = 2 ]; }
wait_for 60 "both ledgerd writer sessions on the primary" writers_on_primary
check_db_role
phase "ledgerd's database role: $DB_ROLE (rows only, not a superuser)"

# The operator's one-time init, then one partner and one signed earn, all through haproxy.
operator_pub=$(bin/ledgerctl pubkey --key-file "$work/keys/operator.pem")
timeout 60 podman exec "$(ctr ledgerd1)" ledgerctl init --operator-key-id operator-1 \
  --operator-public-key "$operator_pub" --currency KZT || fail "ledgerctl init"
export LEDGER_URL=http://127.0.0.1:$port
op=(--key-id operator-1 --key-file "$work/keys/operator.pem")
call() { timeout 30 bin/ledgerctl call "$@"; }
call POST /v1/admin/partners '{"code":"coffee","name":"Coffee House"}' "${op[@]}" >/dev/null \
  || fail "create partner"
call POST /v1/admin/partners/coffee/keys \
  "{\"keyid\":\"coffee-1\",\"public_key\":\"$(bin/ledgerctl pubkey --key-file "$work/keys/coffee.pem")\"}" \
  "${op[@]}" >/dev/null || fail "register partner key"
earn=$(call POST /v1/earn '{"member":"card-1001","points":500,"reference":"till-1"}' \
  --key-id coffee-1 --key-file "$work/keys/coffee.pem") || fail "signed earn: $earn"
echo "earn through haproxy: $earn"
grep -q '"points": *500' <<<"$earn" || fail "the earn's answer does not carry its 500 points"
member=$(call GET /v1/members/card-1001 --key-id coffee-1 --key-file "$work/keys/coffee.pem") \
  || fail "member read: $member"
grep -q '"balance": *500' <<<"$member" || fail "member balance is not 500: $member"
phase "init, partner, signed earn (balance 500)"

# The engine's switchover: ledgerd follows the new primary (target_session_attrs=read-write).
# A write in flight at the switch may be refused (5xx): retried with the same Idempotency-Key.
timeout 90 podman exec "$(ctr monitor)" pg_autoctl perform switchover >/dev/null 2>&1 || fail "switchover"
wait_for 120 "the formation after the switchover" formation_ready
timeout 20 podman exec "$(ctr monitor)" pg_autoctl show state
for i in $(seq 1 20); do
  earn=$(call POST /v1/earn '{"member":"card-1001","points":500,"reference":"till-2"}' \
    --idempotency-key after-switchover --key-id coffee-1 --key-file "$work/keys/coffee.pem") && break
  [ "$i" -lt 20 ] || fail "earn after the switchover: $earn"
  sleep 1
done
member=$(call GET /v1/members/card-1001 --key-id coffee-1 --key-file "$work/keys/coffee.pem") \
  || fail "member read: $member"
grep -q '"balance": *1000' <<<"$member" || fail "member balance is not 1000 after the switchover: $member"
phase "switchover, signed earn on the new primary (balance 1000)"
wait_for 60 "both ledgerd writer sessions on the new primary" writers_on_primary
check_db_role
phase "ledgerd's database role on the new primary"

# Each ledgerd answers /healthz itself (inside its container: no port of theirs is published).
for s in ledgerd1 ledgerd2; do
  h=$(timeout 20 podman exec "$(ctr "$s")" curl -fsS -m 5 http://127.0.0.1:8080/healthz) || fail "$s /healthz: $h"
  echo "$s /healthz: $h"
done
phase "PASS"

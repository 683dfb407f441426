#!/usr/bin/env bash
# Installs the Debian packages the build, the tests and `make run` need (only when one is missing);
# `--test` adds what `make test` needs, `--ha` what `make test-ha` needs.
set -euo pipefail
# libcurl4-openssl-dev: the webhook dispatcher's HTTP client (README "Webhooks", decision 160)
packages=(gcc make pkg-config libc6-dev libpq-dev libmicrohttpd-dev libjansson-dev libssl-dev libsodium-dev libcmocka-dev
          libcurl4-openssl-dev postgresql-15 postgresql-client-15 curl)
# the test command also fuzzes (clang's libFuzzer) and runs the unit tests under valgrind
if [ "${1:-}" = "--test" ]; then packages+=(clang libclang-rt-14-dev valgrind); fi
# and checks docs/openapi.json with npm packages pinned in tools/openapi/ (Debian's node and npm,
# unless a node and npm are already on the PATH)
if [ "${1:-}" = "--test" ] && ! { command -v node && command -v npm; } >/dev/null; then packages+=(nodejs npm); fi
# the console's browser tests (tests/browser): Debian's chromium, driven by playwright-core from npm
# (package-lock.json at the top, `npm ci` below)
if [ "${1:-}" = "--test" ]; then packages+=(chromium); fi
# the reference clients' tests (tests/clients): the Python client runs on Debian's python3 with
# Debian's python3-cryptography (Ed25519; PyPI is not used); the openssl CLI signs webhook samples
# with the ledger's key file, independently of the clients' code
if [ "${1:-}" = "--test" ]; then packages+=(python3 python3-cryptography openssl); fi
# the failover test (tools/ha-test.sh): pg_auto_failover (monitor + keepers) and haproxy
if [ "${1:-}" = "--ha" ]; then packages+=(postgresql-15-auto-failover pg-auto-failover-cli haproxy); fi
# `make test-containers` (tools/container-test.sh): Podman builds and runs docker/ with a base image
# made here by debootstrap (no image registry); runc because crun fails on this kernel's limits;
# dnsname so compose service names resolve
if [ "${1:-}" = "--containers" ]; then
  packages+=(podman podman-compose buildah runc golang-github-containernetworking-plugin-dnsname debootstrap)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# playwright-core exactly as package-lock.json pins it, reinstalled when the lock file changes
npm_ci() {
  [ "${1:-}" = "--test" ] || return 0
  local stamp=node_modules/.package-lock.sha256 want
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -d node_modules/playwright-core ] && return 0
  echo "npm ci (package-lock.json)" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$want" >"$stamp"
}
cd "$(dirname "$0")/.."
if [ ${#missing[@]} -eq 0 ]; then npm_ci "${1:-}"; exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]} — run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
npm_ci "${1:-}"

#!/usr/bin/env bash
# tools/check-calls.sh passes on the build and fails on each kind of violation, planted in tiny
# objects of its own (a folder per layer, as the build lays them out).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bash "$here/tools/check-calls.sh" "${1:-$here/build/release}" >/dev/null
object() { # LAYER NAME C-TEXT: build/LAYER/NAME.o in a fresh tree
  mkdir -p "$tmp/tree/$1"
  printf '%s\n' "$3" >"$tmp/$2.c"
  cc -std=c11 -c "$tmp/$2.c" -o "$tmp/tree/$1/$2.o"
}
expect() { # NAME pass|fail [PATTERN]
  local status=0
  bash "$here/tools/check-calls.sh" "$tmp/tree" >/dev/null 2>"$tmp/err" || status=$?
  if [ "$2" = pass ] && [ "$status" -ne 0 ]; then cat "$tmp/err" >&2; echo "FAIL: $1 was refused" >&2; exit 1; fi
  if [ "$2" = fail ] && { [ "$status" -eq 0 ] || ! grep -q "$3" "$tmp/err"; }; then
    cat "$tmp/err" >&2; echo "FAIL: $1 was not refused" >&2; exit 1
  fi
  echo "ok: $1 ${2}ed${3:+: $(head -1 "$tmp/err")}"
  rm -rf "$tmp/tree"
}
object core ledger 'int ledger_f(void) { return 1; }'
object store store 'int ledger_f(void); int store_f(void) { return ledger_f(); }'
expect "a call downwards" pass
object store store_a 'int store_b(void); int store_a(void) { return store_b(); }'
object store store_b 'int store_a(void); int store_b(void) { return store_a() + 1; }'
expect "two store modules calling each other" fail "circle"
object store store_a 'int service_f(void); int store_a(void) { return service_f(); }'
object service service 'int service_f(void) { return 2; }'
expect "store calling service" fail "higher layer"
object core one 'int two_f(void); int one_f(void) { return two_f(); }'
object core two 'int three_f(void); int two_f(void) { return three_f(); }'
object core three 'int one_f(void); int three_f(void) { return one_f(); }'
expect "a circle of three" fail "circle"
# review13: a tree without objects (a wrong OBJROOT, a build not made) checks nothing: refused,
# not "no circle"; and a weak definition is a definition (a circle through one is a circle)
mkdir -p "$tmp/tree/store"
expect "a tree without objects" fail "no objects"
object store store_a 'int store_b(void); __attribute__((weak)) int store_a(void) { return store_b(); }'
object store store_b 'int store_a(void); int store_b(void) { return store_a() + 1; }'
expect "a circle through a weak definition" fail "circle"

#!/usr/bin/env bash
# The counting of `make test` (tools/test-count.sh) on made-up step outputs: cmocka passes and
# failures, a crash with no summary, a valgrind error after every case passed, steps without
# cmocka output. Exits non-zero, naming the case, when a count is wrong.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/test-count.sh
out=$(mktemp)
trap 'rm -f "$out"' EXIT
failures=0
expect() { # expect NAME STATUS "PASSED FAILED" (the output is in $out)
  local got
  got=$(test_count "$out" "$2")
  if [ "$got" != "$3" ]; then echo "test_count: $1: got '$got', want '$3'" >&2; failures=$((failures + 1)); fi
}

printf '[==========] Running 6 test(s).\n[ RUN      ] a\n[       OK ] a\n[==========] 6 test(s) run.\n[  PASSED  ] 6 test(s).\n' >"$out"
expect "cmocka all passed" 0 "6 0"
printf '[==========] 6 test(s) run.[  PASSED  ] 6 test(s).\n' >"$out" # stdout and stderr on one line
expect "summary on one line" 0 "6 0"
printf '[  PASSED  ] 4 test(s).\n[  FAILED  ] 2 test(s), listed below:\n[  FAILED  ] test_a\n[  FAILED  ] test_b\n\n 2 FAILED TEST(S)\n' >"$out"
expect "cmocka some failed" 2 "4 2"
printf '[  PASSED  ] 0 test(s).\n[  FAILED  ] 3 test(s), listed below:\n' >"$out"
expect "cmocka all failed" 3 "0 3"
printf '[ RUN      ] test_a\nAddressSanitizer: heap-buffer-overflow\n' >"$out"
expect "crash before the summary" 134 "0 1"
printf '[  PASSED  ] 5 test(s).\n==123== 16 bytes definitely lost\n' >"$out"
expect "valgrind error after all passed" 1 "5 1"
printf '[  ERROR   ] --- setup failed\n[  FAILED  ] GROUP SETUP\n' >"$out"
expect "group setup failed" 1 "0 1"
printf 'check-layers: 7 layers, 235 module edges, no violation\n' >"$out"
expect "step without cmocka output" 0 "1 0"
: >"$out"
expect "silent failing step" 2 "0 1"
printf '[  PASSED  ] 2 test(s).\n[  PASSED  ] 3 test(s).\n' >"$out"
expect "two runs in one step" 0 "5 0"
printf 'TAP version 13\nok 1 - a\n1..12\n# tests 12\n# suites 0\n# pass 12\n# fail 0\n# cancelled 0\n' >"$out"
expect "node test runner all passed" 0 "12 0"
printf 'not ok 3 - c\n# tests 12\n# pass 9\n# fail 3\n' >"$out"
expect "node test runner some failed" 1 "9 3"
printf '# pass 0\n# fail 0\n' >"$out"
expect "node test runner ran nothing yet failed" 1 "0 1"

[ "$failures" -eq 0 ] || exit 1
echo "test_count: 13 cases counted right"

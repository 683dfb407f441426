#!/usr/bin/env bash
# `make test`: dependencies, a -Werror build (plain and ASan+UBSan), a throwaway PostgreSQL, then
# unit, integration and end-to-end tests. The end-to-end tests run against the plain ledgerd and
# again against the sanitizer build; docs/openapi.json is linted, checked against the route table
# and against every response the e2e suites received (tools/openapi/). A failed build stops it;
# after that every step runs, a failing step's log is printed as it fails, and the last line is
# "N passed, M failed" counting every test case it ran (tools/test-count.sh); the exit status is
# non-zero when M > 0.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/test-count.sh
bash tools/deps.sh --test
jobs=$(nproc 2>/dev/null || echo 2)
echo "== build (warnings are errors)"
make -j"$jobs" all tests >/dev/null
echo "== build with SANITIZE=address,undefined"
make -j"$jobs" SANITIZE=address,undefined all tests >/dev/null

tmp=$(mktemp -d)
chmod 755 "$tmp"
mkdir -p "$tmp/logs"
cleanup() {
  bash tools/pg.sh stop "$tmp/pg" || true
  rm -rf "$tmp"
}
trap cleanup EXIT
bash tools/pg.sh start "$tmp/pg" --fast >/dev/null
# the throwaway cluster runs with fsync off (--fast): sessions stay synchronous, the check is relaxed
export LEDGER_UNSAFE_DURABILITY=test-cluster
export TEST_PG_HOST=$tmp/pg TEST_LOG_DIR=$tmp/logs
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# every response the e2e harness receives (tests/support.c), checked against docs/openapi.json at the end
export TEST_RESPONSE_LOG=$tmp/responses.jsonl

passed=0
failed=0
run() { # run LABEL COMMAND [ARGS...]: one step, counted; never stops the script
  local label=$1 status=0 counts
  shift
  local start=$SECONDS
  touch "$tmp/step-start"
  "$@" >"$tmp/logs/out" 2>&1 || status=$?
  counts=$(test_count "$tmp/logs/out" "$status")
  passed=$((passed + ${counts% *}))
  failed=$((failed + ${counts#* }))
  if [ "$status" -eq 0 ] && [ "${counts#* }" -eq 0 ]; then
    echo "ok   $label ($((SECONDS - start)) s)"
  else
    echo "FAIL $label"
    cat "$tmp/logs/out"
    # the logs of the ledgerd processes this step started
    find "$tmp/logs" -name '*.ledgerd.log' -newer "$tmp/step-start" | sort | while read -r log; do
      echo "--- $log"
      tail -n 30 "$log"
    done
  fi
}

run "layers (tools/check-layers.sh and its planted violations)" bash tests/layers/test_check_layers.sh
run "calls (tools/check-calls.sh on the build and its planted circles)" bash tests/layers/test_check_calls.sh
run "limits (limits.h static asserts and planted violations)" bash tests/limits/test_limits_asserts.sh
run "counting of make test (tools/test-count.sh)" bash tests/tools/test_count.sh
# docs/openapi.json (README "The API document", decisions 129-136): the pinned linter and validator, the lint, the route
# table against the document, and the planted faults each check must catch
run "openapi: npm ci in tools/openapi (pinned Redocly CLI, Ajv)" bash tools/openapi/check.sh install
run "openapi: lint docs/openapi.json (Redocly CLI)" bash tools/openapi/check.sh lint
run "openapi: routes.h and http.c against docs/openapi.json" bash tools/openapi/check.sh routes
run "openapi: the checks fail on planted faults" bash tests/tools/test_openapi_checks.sh
for t in bin/test/unit_*; do run "unit $(basename "$t")" "$t"; done
for t in build/san/bin/test/unit_*; do run "unit (asan) $(basename "$t")" "$t"; done
for t in bin/test/unit_*; do
  run "unit (valgrind) $(basename "$t")" valgrind --quiet --error-exitcode=1 --leak-check=full \
    --errors-for-leak-kinds=definite,indirect "$t"
done
echo "== fuzz: each harness ${FUZZ_SECONDS:-15} s on its seed corpus (longer: make fuzz-run FUZZ_SECONDS=600)"
run "fuzz (json, router, signature, verify)" make fuzz-run FUZZ_SECONDS="${FUZZ_SECONDS:-15}"
for t in bin/test/integration_*; do run "integration $(basename "$t")" "$t"; done
for t in bin/test/e2e_*; do run "e2e $(basename "$t")" env TEST_BIN_DIR=bin "$t"; done
# no writer (LEDGER_WRITE_BATCH=0): every mutation a batch of one on the HTTP thread's session,
# through the same planning code and SQL (the writer's own tests need the writer)
for t in partner_api auth_input expiry settlement verify_on_commit hostile_state events; do
  run "e2e (no writer) test_$t" env LEDGER_WRITE_BATCH=0 TEST_BIN_DIR=bin "bin/test/e2e_test_$t"
done
# the console in a real browser (issue 19): headless Debian chromium driven by playwright-core against
# the plain ledgerd on this PostgreSQL; node's test runner, counted from its TAP summary
run "browser tests/browser/console.test.mjs (headless chromium)" env TEST_BIN_DIR=bin \
  node --test --test-reporter=tap tests/browser/console.test.mjs
# the whole suite again built with ASan+UBSan: test drivers, ledgerd, ledgerctl, ledger-verify
for t in build/san/bin/test/integration_*; do run "integration (asan) $(basename "$t")" "$t"; done
for t in build/san/bin/test/e2e_*; do
  run "e2e (asan) $(basename "$t")" env TEST_BIN_DIR=build/san/bin "$t"
done
run "openapi: every e2e response matches docs/openapi.json" bash tools/openapi/check.sh responses "$TEST_RESPONSE_LOG"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

# test-count.sh — sourced by tools/test.sh: how many test cases one step of `make test` passed and
# failed, from its output and exit status. cmocka ends a run with "[  PASSED  ] N test(s)" and,
# when some failed, "[  FAILED  ] M test(s)"; those are counted, and so are node's test runner's
# TAP closing lines "# pass N" / "# fail M" (the browser tests, tests/browser). A step without them (fuzz, the
# layering check) is one test. A step that exits non-zero with no failed case counted (a crash,
# a sanitizer abort, a valgrind error after every case passed, a failed group setup) counts one
# failure more, so a failing step is never counted as passed.

# test_count OUTPUT_FILE EXIT_STATUS: prints "PASSED FAILED".
test_count() {
  local file=$1 status=$2 passed failed
  passed=$(grep -oE '\[  PASSED  \] [0-9]+ test' "$file" | grep -oE '[0-9]+' | awk '{ s += $1 } END { print s + 0 }') || true
  failed=$(grep -oE '\[  FAILED  \] [0-9]+ test' "$file" | grep -oE '[0-9]+' | awk '{ s += $1 } END { print s + 0 }') || true
  passed=$((passed + $(grep -E '^# pass [0-9]+$' "$file" | grep -oE '[0-9]+' | awk '{ s += $1 } END { print s + 0 }'))) || true
  failed=$((failed + $(grep -E '^# fail [0-9]+$' "$file" | grep -oE '[0-9]+' | awk '{ s += $1 } END { print s + 0 }'))) || true
  if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
    failed=1
  elif [ "$status" -eq 0 ] && [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
    passed=1
  fi
  echo "$passed $failed"
}

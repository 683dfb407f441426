#!/usr/bin/env bash
# The OpenAPI checks of `make test` (tools/openapi/check.sh) fail when they must: the lint on a
# broken document, the route-table check both ways (a route the document lacks, an operation
# ledgerd does not serve), and the response check on a body, a status and a content type the
# document does not allow. Each case runs on a copy; exits non-zero naming any check that passed.
set -euo pipefail
cd "$(dirname "$0")/../.."
check=tools/openapi/check.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
must_fail() { # must_fail NAME COMMAND...: the command must exit non-zero
  local name=$1
  shift
  if "$@" >"$work/out" 2>&1; then
    echo "openapi checks: '$name' passed but must fail:" >&2
    cat "$work/out" >&2
    failures=$((failures + 1))
  else
    echo "ok: $name fails: $(grep -m1 -E 'error|check-routes: (ledgerd|docs)|MISMATCH' "$work/out" | cut -c1-200)"
  fi
}
must_pass() {
  local name=$1
  shift
  if ! "$@" >"$work/out" 2>&1; then
    echo "openapi checks: '$name' failed on the real tree:" >&2
    cat "$work/out" >&2
    failures=$((failures + 1))
  fi
}
# a copy of the files the checks read, edited with node
copy() {
  rm -rf "$work/tree"
  mkdir -p "$work/tree/include/http" "$work/tree/src/http" "$work/tree/docs"
  cp include/http/routes.h "$work/tree/include/http/"
  cp src/http/http.c "$work/tree/src/http/"
  cp docs/openapi.json "$work/tree/docs/"
}
edit_doc() { # edit_doc JS: runs JS with `doc` bound to the copy's document, then writes it back
  node -e "const fs=require('fs');const f='$work/tree/docs/openapi.json';const doc=JSON.parse(fs.readFileSync(f));$1;fs.writeFileSync(f,JSON.stringify(doc,null,2))"
}

# (the lint of the real document is its own step of make test)
must_pass "route check of the tree" bash "$check" routes

# lint: an unresolvable $ref, two operations with one operationId and an example its schema refuses,
# planted together (one lint run: it takes seconds on the whole document); each must be reported
# by its rule
copy
edit_doc "doc.paths['/v1/earn'].post.responses['201'].content['application/json'].schema={\$ref:'#/components/schemas/Nowhere'};doc.paths['/v1/burn'].post.operationId='earn';doc.paths['/v1/holds'].post.requestBody.content['application/json'].examples.captured.value.points=0"
must_fail "lint: unresolved \$ref, duplicate operationId, invalid example" bash "$check" lint "$work/tree/docs/openapi.json"
for rule in no-unresolved-refs operation-operationId-unique no-invalid-media-type-examples; do
  if ! grep -q "$rule" "$work/out"; then
    echo "openapi checks: the lint did not report $rule" >&2
    failures=$((failures + 1))
  fi
done

# routes: one missing from the document, one the document has that ledgerd does not serve
copy
edit_doc "delete doc.paths['/v1/holds/{id}/void']"
must_fail "routes: POST /v1/holds/:/void missing from the document" bash "$check" routes "$work/tree"
copy
edit_doc "doc.paths['/v1/refunds']={post:doc.paths['/v1/earn'].post}"
must_fail "routes: the document has POST /v1/refunds, not served" bash "$check" routes "$work/tree"
copy
edit_doc "doc.paths['/v1/earn'].get=doc.paths['/v1/transactions/{id}'].get"
must_fail "routes: the document has GET /v1/earn, not served" bash "$check" routes "$work/tree"
copy
sed -i 's|X("GET", "/v1/admin/liability"|X("GET", "/v1/admin/liability2", ROUTE_ADMIN, service_liability) X("GET", "/v1/admin/liability"|' \
  "$work/tree/include/http/routes.h"
must_fail "routes: a new route in routes.h" bash "$check" routes "$work/tree"
copy
sed -i 's|strcmp(call->path, "/metrics") == 0|strcmp(call->path, "/metricz") == 0|' "$work/tree/src/http/http.c"
must_fail "routes: an unsigned route renamed in http.c" bash "$check" routes "$work/tree"

# responses: a logged answer the document does not allow
log() { printf '%s\n' "$1" >"$work/log.jsonl"; }
good='{"method":"GET","target":"/v1/members/m-1","status":200,"content_type":"application/json","body":"{\"available\":0,\"balance\":0,\"expiring\":[],\"member\":\"m-1\"}"}'
log "$good"
must_pass "responses: a valid member answer" bash "$check" responses "$work/log.jsonl"
log '{"method":"GET","target":"/v1/members/m-1","status":200,"content_type":"application/json","body":"{\"balance\":0,\"expiring\":[],\"member\":\"m-1\"}"}'
must_fail "responses: a body without a required member" bash "$check" responses "$work/log.jsonl"
log '{"method":"GET","target":"/v1/members/m-1","status":200,"content_type":"application/json","body":"{\"available\":0,\"balance\":0,\"expiring\":[],\"member\":\"m-1\",\"brand\":\"x\"}"}'
must_fail "responses: a body with an undocumented member" bash "$check" responses "$work/log.jsonl"
log '{"method":"POST","target":"/v1/burn","status":422,"content_type":"application/problem+json","body":"{\"code\":\"hold_expired\",\"status\":409,\"title\":\"Hold expired\",\"type\":\"about:blank\"}"}'
must_fail "responses: a problem code the route cannot answer" bash "$check" responses "$work/log.jsonl"
log '{"method":"GET","target":"/v1/members/m-1","status":418,"content_type":"application/json","body":"{}"}'
must_fail "responses: an undocumented status" bash "$check" responses "$work/log.jsonl"
log '{"method":"GET","target":"/v1/members/m-1","status":200,"content_type":"text/html","body":"<p>"}'
must_fail "responses: an undocumented content type" bash "$check" responses "$work/log.jsonl"
log '{"method":"GET","target":"/v1/nowhere","status":200,"content_type":"application/json","body":"{}"}'
must_fail "responses: a path no operation has, answered 200" bash "$check" responses "$work/log.jsonl"
: >"$work/log.jsonl"
must_fail "responses: an empty log (TEST_RESPONSE_LOG not set)" bash "$check" responses "$work/log.jsonl"

if [ "$failures" -gt 0 ]; then
  echo "$failures openapi check(s) did not fail as they must" >&2
  exit 1
fi
echo "openapi checks: every planted fault was caught"

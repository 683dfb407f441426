#!/usr/bin/env bash
# The OpenAPI checks of `make test` (README "The API document", decisions 129-136), each a step of tools/test.sh:
#   check.sh install            npm ci of the pinned linter and validator (package-lock.json here)
#   check.sh lint [DOC]         Redocly CLI lint with redocly.yaml (default DOC: docs/openapi.json)
#   check.sh routes [ROOT]      the document has exactly the routes ledgerd serves (check-routes.mjs)
#   check.sh responses LOG [DOC]  the e2e suite's responses (TEST_RESPONSE_LOG) match the document
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
case "${1:-}" in
  install)
    cd "$here"
    npm ci --no-audit --no-fund --loglevel=error
    ;;
  lint)
    doc=${2:-$repo/docs/openapi.json}
    "$here/node_modules/.bin/redocly" lint --config "$here/redocly.yaml" --format=stylish "$doc"
    ;;
  routes)
    node "$here/check-routes.mjs" "${2:-$repo}"
    ;;
  responses)
    node "$here/validate.mjs" "${3:-$repo/docs/openapi.json}" "$2"
    ;;
  *)
    echo "usage: $0 install | lint [DOC] | routes [ROOT] | responses LOG [DOC]" >&2
    exit 2
    ;;
esac

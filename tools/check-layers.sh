#!/usr/bin/env bash
# The layering check (`make check-layers`, run by `make test`). src/ and include/ hold one folder
# per layer, lowest first: core verify store jobs service http cmd. It fails, naming the file and
# the line, when
#   - a file includes a header of a higher layer (core includes nothing of ours above it; verify
#     uses core only), or another layer's internal header (src/<layer>/*.h);
#   - SQL or libpq appears outside store/, libmicrohttpd outside http/, OpenSSL outside
#     core/crypto.c, libcurl (the webhook client) outside jobs/webhook_dispatch.c;
#   - modules include each other in a circle (a module is x.c with its header x.h).
# `tools/check-layers.sh ROOT` checks another tree (its own test plants violations in a copy).
set -euo pipefail
root=${1:-$(dirname "$0")/..}
cd "$root"
layers=(core verify store jobs service http cmd)
declare -A rank
for i in "${!layers[@]}"; do rank[${layers[$i]}]=$i; done

declare -A header_layer header_internal
for layer in "${layers[@]}"; do
  for h in include/"$layer"/*.h; do [ -e "$h" ] && header_layer[${h##*/}]=$layer; done
  for h in src/"$layer"/*.h; do [ -e "$h" ] && { header_layer[${h##*/}]=$layer; header_internal[${h##*/}]=1; }; done
done

failures=0
fail() { echo "check-layers: $*" >&2; failures=$((failures + 1)); }
edges=$(mktemp)
trap 'rm -f "$edges"' EXIT

for layer in "${layers[@]}"; do
  own=${rank[$layer]}
  for file in src/"$layer"/*.[ch] include/"$layer"/*.h; do
    [ -e "$file" ] || continue
    module=${file##*/}; module=${module%.*}; module=${module%_internal} # x_internal.h is x's
    while IFS=: read -r line header; do
      target=${header_layer[$header]:-}
      if [ -z "$target" ]; then
        [ "$header" = migrations_embedded.h ] || fail "$file:$line includes \"$header\", which is in no layer"
        continue
      fi
      if [ "${rank[$target]}" -gt "$own" ]; then
        fail "$file:$line: $layer/ includes \"$header\" of $target/, a higher layer"
      elif [ -n "${header_internal[$header]:-}" ] && [ "$target" != "$layer" ]; then
        fail "$file:$line: $layer/ includes \"$header\", internal to $target/"
      fi
      included=${header%.h}; included=${included%_internal}
      [ "$included" != "$module" ] && echo "$module $included" >>"$edges"
    done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file" |
      sed -E 's/^([0-9]+):[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1:\2/')
  done
done

# Foreign libraries and SQL where they belong.
while IFS= read -r hit; do fail "$hit: libpq outside store/"; done < <(grep -rn 'libpq-fe.h' src include | grep -v '^src/store/\|^include/store/' || true)
while IFS= read -r hit; do fail "$hit: libmicrohttpd outside http/"; done < <(grep -rn 'microhttpd.h' src include | grep -v '^src/http/' || true)
while IFS= read -r hit; do fail "$hit: OpenSSL outside core/crypto.c"; done < <(grep -rn '<openssl/' src include | grep -v '^src/core/crypto.c:' || true)
while IFS= read -r hit; do fail "$hit: libcurl outside jobs/webhook_dispatch.c"; done < <(grep -rn '<curl/' src include | grep -v '^src/jobs/webhook_dispatch.c:' || true)
sql='"[^"]*\b(SELECT [a-z*(]|INSERT INTO |UPDATE [a-z_]+ SET |DELETE FROM |CREATE (TABLE|INDEX|FUNCTION) |LOCK TABLE )'
while IFS= read -r hit; do fail "$hit: SQL outside store/"; done < <(grep -rniE "$sql" src include | grep -v '^src/store/\|^include/store/' || true)

# No circle: tsort reports any loop among the module edges.
if ! tsort "$edges" >/dev/null 2>"$edges.err"; then
  fail "modules include each other in a circle: $(grep -v 'input contains a loop' "$edges.err" | sed 's/^tsort: //' | tr '\n' ' ')"
fi
rm -f "$edges.err"

if [ "$failures" -gt 0 ]; then
  echo "check-layers: $failures violation(s)" >&2
  exit 1
fi
echo "check-layers: ${#layers[@]} layers, $(sort -u "$edges" | wc -l) module edges, no violation"

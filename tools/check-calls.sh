#!/usr/bin/env bash
# The call check (`make check-layers`, run by `make test` after the build): what the include check
# (tools/check-layers.sh) cannot see, because every store/ file includes the one store_internal.h,
# or because a function can be declared by hand. From the symbols of the built objects (nm), a
# module (x.o) calls a module that defines a function it uses. It fails, naming the modules, when
#   - a module calls a function of a higher layer (the layer is the object's folder, as in src/);
#   - modules call each other in a circle, inside a layer or across layers.
# `tools/check-calls.sh OBJROOT` checks another build (default build/release; its test plants
# violations in tiny objects of its own).
set -euo pipefail
root=${1:-$(dirname "$0")/../build/release}
layers=(core verify store jobs service http cmd)
declare -A rank
for i in "${!layers[@]}"; do rank[${layers[$i]}]=$i; done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# "symbol module layer" for every function or object defined (weak ones too), "module symbol"
# for every use
# (a module is named layer/x)
for layer in "${layers[@]}"; do
  for object in "$root/$layer"/*.o; do
    [ -e "$object" ] || continue
    module=${object##*/}; module=$layer/${module%.o}
    echo "$module $layer" >>"$tmp/module_layer"
    nm "$object" | awk -v m="$module" -v l="$layer" '
      NF == 3 && $2 ~ /^[TDBRVW]$/ { print $3, m, l >> "'"$tmp/defined"'" }
      NF == 2 && $1 == "U" { print m, $2 >> "'"$tmp/used"'" }'
  done
done
touch "$tmp/defined" "$tmp/used" "$tmp/module_layer"
if [ ! -s "$tmp/module_layer" ]; then # a wrong OBJROOT or no build: nothing checked is no pass
  echo "check-calls: no objects under $root/{$(IFS=,; echo "${layers[*]}")}" >&2
  exit 1
fi
# module -> module edges, with the layers of both ends
awk 'NR == FNR { module[$1] = $2; layer[$1] = $3; next }
     ($2 in module) && module[$2] != $1 { print $1, module[$2], layer[$2], $2 }' "$tmp/defined" "$tmp/used" |
  sort -u >"$tmp/calls"

failures=0
declare -A module_layer
while read -r module layer; do module_layer[$module]=$layer; done <"$tmp/module_layer"
while read -r caller callee callee_layer symbol; do
  caller_layer=${module_layer[$caller]}
  if [ "${rank[$callee_layer]}" -gt "${rank[$caller_layer]}" ]; then
    echo "check-calls: $caller.c calls $symbol of $callee.c, a higher layer" >&2
    failures=$((failures + 1))
  fi
done <"$tmp/calls"
awk '{ print $1, $2 }' "$tmp/calls" | sort -u >"$tmp/edges"
if ! tsort "$tmp/edges" >/dev/null 2>"$tmp/loop"; then
  echo "check-calls: modules call each other in a circle: $(grep -v 'input contains a loop' "$tmp/loop" |
    sed 's/^tsort: //' | tr '\n' ' ')" >&2
  failures=$((failures + 1))
fi
if [ "$failures" -gt 0 ]; then
  echo "check-calls: $failures violation(s)" >&2
  exit 1
fi
echo "check-calls: $(wc -l <"$tmp/edges") module call edges, no circle, no call upwards"

#!/bin/sh
# same_search.sh BEFORE AFTER SUITE_DIR [INSTANCES] [TIMEOUT] [NODE_CAP]
# Does a change leave the search as it was?  Runs two certnn binaries (e.g. the
# build trees of two commits) on every instance of a VNN-COMP style suite with
# the deterministic settings (one thread, no node sampling) and prints, side by
# side, each one's verdict and node count.  Where either run reaches TIMEOUT
# (default 30 s) the node count depends on speed, so both are run again with a
# node cap instead (NODE_CAP, default 1000, no timeout) and compared by nodes,
# the largest open set and the depth, which do not.  Exit 1 if any row differs.
set -eu
before=${1:?usage: same_search.sh BEFORE AFTER SUITE_DIR [INSTANCES] [TIMEOUT] [NODE_CAP]}
after=${2:?usage: same_search.sh BEFORE AFTER SUITE_DIR [INSTANCES] [TIMEOUT] [NODE_CAP]}
suite=${3:?usage: same_search.sh BEFORE AFTER SUITE_DIR [INSTANCES] [TIMEOUT] [NODE_CAP]}
list=${4:-$suite/instances.csv}
timeout=${5:-30}
cap=${6:-1000}
for f in "$before" "$after" "$list"; do
    [ -e "$f" ] || { echo "same_search: $f: not found" >&2; exit 66; }
done

# run BIN ONNX VNNLIB OPTIONS...: "verdict nodes max_open depth" of one run
run() {
    bin=$1 onnx=$2 prop=$3
    shift 3
    "$bin" verify "$suite/$onnx" --vnnlib "$suite/$prop" --threads 1 --node-samples 0 \
        --json -q "$@" 2>/dev/null |
        python3 -c 'import json, sys
d = json.load(sys.stdin)
print(d["verdict"], d["nodes"], d["max_open"], d["depth"])' 2>/dev/null || echo "error - - -"
}

same=0 total=0
printf '%-58s %-22s %-22s %s\n' instance before after same
while IFS=, read -r onnx prop _rest; do
    [ -n "$onnx" ] || continue
    b=$(run "$before" "$onnx" "$prop" --timeout "$timeout")
    a=$(run "$after" "$onnx" "$prop" --timeout "$timeout")
    how=""
    case "$b $a" in
    *timeout*)
        b=$(run "$before" "$onnx" "$prop" --timeout 0 --max-nodes "$cap")
        a=$(run "$after" "$onnx" "$prop" --timeout 0 --max-nodes "$cap")
        how=" (at $cap nodes)"
        ;;
    esac
    total=$((total + 1))
    if [ "$b" = "$a" ] && [ "${b%% *}" != error ]; then ok=yes; same=$((same + 1)); else ok=NO; fi
    name="$(basename "$onnx" .onnx) $(basename "$prop" .vnnlib)"
    # verdict and nodes in the table; max_open and depth only decide "same"
    printf '%-58s %-22s %-22s %s%s\n' "$name" "$(echo "$b" | cut -d' ' -f1-2)" \
        "$(echo "$a" | cut -d' ' -f1-2)" "$ok" "$how"
done <"$list"
echo "same verdict, nodes, largest open set and depth: $same of $total"
[ "$same" -eq "$total" ]

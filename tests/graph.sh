#!/bin/sh
# graph.sh — `certnn info` shows the ONNX graph (models/onnx_graph.c) of every
# network in the shared benchmarks: every node once, in topological order
# (each computed input is the graph input or an earlier node's output), every
# shape inferred, and the last node's shape holding as many values as the
# declared output.
set -u
. "${CN_SRCDIR:-.}/tests/tap.sh"

if [ ! -d "$D/benchmarks" ]; then
    echo "# shared benchmarks not found: skipped"
    tap_end graph.sh
    exit $?
fi
for m in $(find "$D/benchmarks" -name '*.onnx' -o -name '*.onnx.gz' | sort); do
    name=${m#"$D/benchmarks/"}
    if ! "$C" info --json "$m" >"$T/info.json" 2>"$T/err"; then
        nok "$name: info --json failed: $(head -1 "$T/err")"
        continue
    fi
    if python3 - "$T/info.json" >"$T/why" 2>&1 <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
g, bad, seen = d["graph"], [], set()
made = {v["output"] for v in g}
free = {t for v in g for t in v["inputs"] if t not in made}
if len(free) != 1:
    bad.append("computed inputs made by no node: %s (expected the graph input only)" % sorted(free))
for i, v in enumerate(g):
    for t in v["inputs"]:
        if t not in seen and t not in free:
            bad.append("node %d (%s) reads '%s' before it is made" % (i, v["op"], t))
    if v["shape"] is None:
        bad.append("node %d (%s): shape not inferred" % (i, v["op"]))
    seen.add(v["output"])
size = 1
for k in d["output_dims"]:
    size *= k
last = 1
for k in g[-1]["shape"] or [0]:
    last *= k
if last != size:
    bad.append("last node gives %d values, output has %d" % (last, size))
print("\n".join(bad) if bad else "ok")
sys.exit(1 if bad else 0)
PY
    then ok "$name: graph of $(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['graph']))" "$T/info.json") nodes, topological, shapes inferred"
    else nok "$name: $(head -3 "$T/why" | tr '\n' ' ')"; fi
done
# the text form lists the graph after the layers
"$C" info "$D/benchmarks/cifar10_resnet/onnx/resnet_2b.onnx" >"$T/info.txt" 2>&1
has "$T/info.txt" "^graph: +17 nodes" "resnet_2b: text graph header"
has "$T/info.txt" "Add +\[1,16,8,8\] +'23' <- '21' '22'" "resnet_2b: the shortcut Add with both operands"
tap_end graph.sh

#!/bin/sh
# json.sh — the JSON contract (docs/json.md): every command's --json document is
# run here and checked against the page's `keys:` lists and its rules
# (schema_version, times in *_s, null for absent values, exact strings, one
# form of counterexample).
set -u
. "${CN_SRCDIR:-.}/tests/tap.sh"

Z="$S/models/zoo"
A="$D/benchmarks/acasxu"
TS="$D/benchmarks/test"
FM=/usr/share/datasets/fashion-mnist
DATA="--data $FM/t10k-images-idx3-ubyte.gz --labels $FM/t10k-labels-idx1-ubyte.gz"
SAT_ONNX="$A/onnx/ACASXU_run2a_1_7_batch_2000.onnx"
SAT_PROP="$A/vnnlib/prop_3.vnnlib"

# doc SECTION FILE: checks FILE (one JSON document) against docs/json.md's
# section "### SECTION" and the rules.
doc() {
    if python3 - "$S/docs/json.md" "$1" "$2" >"$T/why" 2>&1 <<'PY'
import json, re, sys
page, section, path = sys.argv[1], sys.argv[2], sys.argv[3]
want, rows, cur = None, {}, None
for line in open(page):
    if line.startswith("### "):
        cur = line[4:].strip()
    elif cur == section and line.startswith("keys: "):
        want = set(line[6:].strip().split(", "))
    elif cur == section and line.startswith("row keys ("):
        m = re.match(r"row keys \((\w+)\): (.*)", line.strip())
        rows[m.group(1)] = set(m.group(2).split(", "))
assert want, "no keys: line for %r in docs/json.md" % section
d = json.load(open(path))
bad = []
if set(d) != want:
    bad.append("keys: missing %s, not documented %s" % (sorted(want - set(d)), sorted(set(d) - want)))
if d.get("schema_version") != 1:
    bad.append("schema_version %r" % d.get("schema_version"))
for key, keys in rows.items():
    for i, r in enumerate(d.get(key) or []):
        if set(r) != keys:
            bad.append("%s[%d]: missing %s, not documented %s" % (key, i, sorted(keys - set(r)), sorted(set(r) - keys)))
EXACT = re.compile(r"-?[0-9]+(\.[0-9]+)?|-?[0-9]+/[0-9]+")
def walk(v, where):
    if isinstance(v, dict):
        for k, x in v.items():
            w = where + "." + k
            if k.endswith("_ms"):
                bad.append(w + ": a time not in seconds")
            if k.endswith("_s") and not (x is None or isinstance(x, (int, float))):
                bad.append(w + ": a time that is not a number or null")
            if k.endswith("_exact") and x is not None and not isinstance(x, bool):
                for e in (x if isinstance(x, list) else [x]):
                    if e is not None and not (isinstance(e, str) and EXACT.fullmatch(e)):
                        bad.append(w + ": %r is not an exact decimal or p/q" % (e,))
            if k == "counterexample" and x is not None:
                ck = {"x", "x_exact", "y", "case", "disjunct", "exact_slacks"}
                if set(x) != ck:
                    bad.append(w + ": keys %s" % sorted(x))
                elif len(x["x"]) != len(x["x_exact"]) or not x["y"]:
                    bad.append(w + ": x, x_exact and y do not match")
                else:
                    for s in x["exact_slacks"]:
                        if not EXACT.fullmatch(s) or s.startswith("-"):
                            bad.append(w + ": slack %r is not an exact value >= 0" % s)
            walk(x, w)
    elif isinstance(v, list):
        for i, x in enumerate(v):
            walk(x, "%s[%d]" % (where, i))
walk(d, section)
print("\n".join(bad) if bad else "ok")
sys.exit(1 if bad else 0)
PY
    then ok "$1: the documented keys and rules"; else nok "$1: $(head -3 "$T/why" | tr '\n' ' ')"; fi
}
# phases FILE WHAT: where the engine's time went (docs/json.md): in the document (verify)
# or in every row that is not an error (bench), `phases` holds the five phase times, each
# a number >= 0, summing to at most the time plus 0.1 s, and nodes_per_second a number >= 0
phases() {
    if python3 - "$1" >"$T/why" 2>&1 <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
docs = [r for r in d["results"] if r["verdict"] != "error"] if "results" in d else [d]
assert docs, "no document with phases"
for r in docs:
    ph = r["phases"]
    assert set(ph) == {"attack_s", "bounds_s", "optimise_s", "lp_s", "branch_s"}, sorted(ph)
    for k, v in ph.items():
        assert isinstance(v, (int, float)) and v >= 0, (k, v)
    assert sum(ph.values()) <= r["time_s"] + 0.1, (sum(ph.values()), r["time_s"])
    n = r["nodes_per_second"]
    assert isinstance(n, (int, float)) and n >= 0, n
print("ok")
PY
    then ok "$2"; else nok "$2: $(tail -1 "$T/why")"; fi
}
# has_cex FILE PATH WHAT: the counterexample at PATH (python expression on d) is not null
has_cex() {
    check "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if $2 else 1)' '$1'" "$3"
}

"$C" info "$Z/fmnist_ibp.onnx" --json >"$T/info.json" && doc info "$T/info.json"
"$C" spec "$Z/acasxu_prop3.vnnlib" --json >"$T/spec.json" && doc spec "$T/spec.json"
printf '0 0 0 0 0\n0.1 0.2 0.3 0.4 0.5\n' >"$T/in.txt"
"$C" eval "$Z/acasxu_1_1.nnet" --input "$T/in.txt" --exact --json >"$T/evali.json" && doc "eval --input" "$T/evali.json"

"$C" verify "$Z/acasxu_1_1.nnet" --vnnlib "$Z/acasxu_prop3.vnnlib" --json -j 2 >"$T/vc.json"
doc "verify --vnnlib" "$T/vc.json"
phases "$T/vc.json" "verify --vnnlib: phase times >= 0 that sum to at most time_s, nodes per second"
"$C" verify "$Z/acasxu_1_1.nnet" --vnnlib "$Z/acasxu_prop3.vnnlib" --json --incomplete >"$T/vi.json"
doc "verify --vnnlib" "$T/vi.json"
has_cex "$T/vi.json" 'd["phases"] is None and d["nodes_per_second"] is None' \
    "verify --incomplete: no engine, so phases and nodes_per_second are null"
"$C" verify "$SAT_ONNX" --vnnlib "$SAT_PROP" --json >"$T/vs.json"
doc "verify --vnnlib" "$T/vs.json"
has_cex "$T/vs.json" 'd["counterexample"]' "verify --vnnlib sat: the counterexample is there"
phases "$T/vs.json" "verify --vnnlib sat: phase times"
"$C" attack "$SAT_ONNX" --vnnlib "$SAT_PROP" --json >"$T/as.json"
doc "attack --vnnlib" "$T/as.json"
has_cex "$T/as.json" 'd["counterexample"]' "attack --vnnlib: the counterexample is there"
check "python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); sys.exit(0 if set(a[\"counterexample\"]) == set(b[\"counterexample\"]) else 1)' '$T/vs.json' '$T/as.json'" \
    "verify and attack write the same counterexample object"
"$C" attack "$Z/acasxu_1_1.nnet" --vnnlib "$Z/acasxu_prop3.vnnlib" --json --timeout 0.3 >"$T/au.json"
doc "attack --vnnlib" "$T/au.json"
has_cex "$T/au.json" 'd["counterexample"] is None and d["reason"]' "attack --vnnlib without a point: counterexample null, a reason"

"$C" bench "$TS" --json -q >"$T/bench.json" 2>/dev/null
doc "bench --json" "$T/bench.json"
phases "$T/bench.json" "bench --json: every row's phase times >= 0 sum to at most its time_s"
"$C" verify "$Z/acasxu_1_1.nnet" --vnnlib "$Z/acasxu_prop3.vnnlib" --cert "$T/p3.cert" -q >/dev/null
"$C" check "$T/p3.cert" --allow-unsigned --json >"$T/check.json"
doc "check --json" "$T/check.json"

if [ -r "$FM/t10k-images-idx3-ubyte.gz" ]; then
    "$C" verify "$Z/fmnist_plain.onnx" $DATA --eps 0.05 --samples 4 --json >"$T/vd.json"
    doc "verify --data" "$T/vd.json"
    has_cex "$T/vd.json" 'any(r["counterexample"] for r in d["results"] if r["verdict"] == "not-robust") and all(r["counterexample"] is None for r in d["results"] if r["verdict"] in ("robust", "unknown"))' \
        "verify --data: a counterexample exactly on the not-robust rows"
    "$C" attack "$Z/fmnist_plain.onnx" $DATA --eps 0.05 --samples 2 --timeout 1 --json >"$T/ad.json"
    doc "attack --data" "$T/ad.json"
    "$C" eval "$Z/fmnist_ibp.onnx" $DATA --samples 5 --json >"$T/evald.json"
    doc "eval --data" "$T/evald.json"
    "$C" radius "$Z/fmnist_ibp.onnx" $DATA --samples 2 --json -j 1 --attack-time 0.2 >"$T/radius.json"
    doc radius "$T/radius.json"
    "$C" compare "$Z/fmnist_ibp.onnx" $DATA --samples 2 --eps 0.01 --out "$T/cmp" -q -j 1 >/dev/null
    doc "compare (P.json)" "$T/cmp.json"
else
    ok "# SKIP no Fashion-MNIST test set"
fi

tap_end json

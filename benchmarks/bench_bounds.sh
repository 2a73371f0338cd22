#!/bin/sh
# bench_bounds.sh — verified counts and CPU time per image of `certnn verify`
# for every bounds method on the first 100 MNIST test images, compared with
# the reference figures of ELINA's DeepPoly and auto_LiRPA (CROWN, alpha-CROWN)
# in ../shared/reference, and DeepPoly's margin lower bounds compared with
# ELINA's per-image CSVs (max absolute difference).
#
# Usage (from the top of the build tree):
#     benchmarks/bench_bounds.sh [SHARED_DIR] [CERTNN]
# Runs on one core (OPENBLAS_NUM_THREADS=1, taskset when available).  Needs
# python3 to read the JSON.  Takes about two minutes (alpha on 6x100 dominates).
set -eu
SHARED=${1:-${CN_SHARED:-../shared}}
CERTNN=${2:-./certnn}
B=$SHARED/benchmarks
REF=$SHARED/reference
DATA=$B/data/mnist_test.csv
OUT=${TMPDIR:-/tmp}/bench_bounds.$$
mkdir -p "$OUT"
trap 'rm -rf "$OUT"' EXIT INT TERM
export OPENBLAS_NUM_THREADS=1
PIN=
if command -v taskset >/dev/null 2>&1; then PIN="taskset -c 0"; fi

# name|model|eps|methods
RUNS="FFNNSmall|$B/eran/onnx/FFNNSmall.onnx|0.026|interval deeppoly crown alpha
mnist_6_100_nat|$B/eran/onnx/mnist_6_100_nat.onnx|0.026|interval deeppoly crown alpha
256x2|$B/mnist_fc/onnx/mnist-net_256x2.onnx|0.02|interval deeppoly crown alpha"

echo "$RUNS" | while IFS='|' read -r name model eps methods; do
    for m in $methods; do
        # bounds only (--attack 0): the time is that of the bound computation.
        # certnn exits 2 when some sample is not verified (1 when one is shown
        # not robust): that is data, not failure
        $PIN "$CERTNN" verify "$model" --data "$DATA" --eps "$eps" --samples 100 \
            --method "$m" --attack 0 --json > "$OUT/$name.$m.json" || [ $? -le 2 ]
    done
done

python3 - "$OUT" "$REF" <<'EOF'
import csv, json, math, os, sys
out, ref = sys.argv[1], sys.argv[2]
# reference figures (../shared/reference/README.md): (verified, median CPU ms)
REFS = {
    ("FFNNSmall", "deeppoly"): ("ELINA DeepPoly", 21, 1012),
    ("256x2", "deeppoly"): ("ELINA DeepPoly", 70, 159),
    ("mnist_6_100_nat", "crown"): ("auto_LiRPA CROWN", 22, 34),
    ("256x2", "crown"): ("auto_LiRPA CROWN", 69, 10),
    ("mnist_6_100_nat", "alpha"): ("auto_LiRPA alpha-CROWN", 27, 8900),
    ("256x2", "alpha"): ("auto_LiRPA alpha-CROWN", 78, 1300),
    ("mnist_6_100_nat", "interval"): ("auto_LiRPA IBP", 0, None),
    ("256x2", "interval"): ("auto_LiRPA IBP", 0, None),
}
# targets: counts >= reference; time: CROWN <= reference, alpha <= reference / 5
print("%-16s %-6s %-9s %8s %12s   %-24s %8s %10s  %s" % (
    "network", "eps", "method", "verified", "median ms", "reference", "ref ver", "ref ms", "status"))
for name, eps in (("FFNNSmall", "0.026"), ("mnist_6_100_nat", "0.026"), ("256x2", "0.02")):
    for m in ("interval", "deeppoly", "crown", "alpha"):
        p = os.path.join(out, "%s.%s.json" % (name, m))
        if not os.path.exists(p):
            continue
        r = json.load(open(p))
        rv = REFS.get((name, m))
        status = ""
        if rv:
            ok = r["verified"] >= rv[1]
            if rv[2] is not None and m == "crown":
                ok = ok and (1e3 * r["median_cpu_s"]) <= rv[2]
            if rv[2] is not None and m == "alpha":
                ok = ok and (1e3 * r["median_cpu_s"]) <= rv[2] / 5
            if rv[2] is not None and m == "deeppoly":
                ok = ok and (1e3 * r["median_cpu_s"]) <= rv[2]
            status = "ok" if ok else "BELOW TARGET"
        print("%-16s %-6s %-9s %5d/%-3d %12.2f   %-24s %8s %10s  %s" % (
            name, eps, m, r["verified"], r["total"], (1e3 * r["median_cpu_s"]),
            rv[0] if rv else "-", rv[1] if rv else "-",
            (rv[2] if rv and rv[2] is not None else "-"), status))

def compare(name, csvname):
    p = os.path.join(out, "%s.deeppoly.json" % name)
    if not os.path.exists(p):
        return
    r = json.load(open(p))
    rows = {int(x["idx"]): x for x in csv.DictReader(open(os.path.join(ref, "elina-deeppoly", csvname)))}
    worst, arg, n, tighter, looser = 0.0, None, 0, 0, 0
    for s in r["results"]:
        e = rows.get(s["index"])
        if e is None or s["verdict"] == "misclassified":
            continue
        for j, v in enumerate(s["margins"]):
            ev = e.get("lb_t_minus_%d" % j, "nan")
            if v is None or ev == "nan":
                continue
            d = v - float(ev)
            n += 1
            tighter += d > 1e-6
            looser += d < -1e-6
            if abs(d) > worst:
                worst, arg = abs(d), (s["index"], j)
    print("DeepPoly vs ELINA on %s: %d margins, max |certnn - ELINA| = %.3g (image %s, j %s); "
          "%d tighter, %d looser by > 1e-6" % (name, n, worst, arg[0] if arg else "-",
                                               arg[1] if arg else "-", tighter, looser))

compare("FFNNSmall", "FFNNSmall_eps0.026.csv")
compare("256x2", "mnist-net_256x2_eps0.02.csv")
EOF

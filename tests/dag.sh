#!/bin/sh
# dag.sh — graphs that are not chains, end to end: an inception-like block
# (three ReLU branches of different depths, one a Pad scaled by -1/2, joined
# by Concat and read by a Gemm) and a pre-activation residual block
# x + W2 relu(W1 relu(x)) of a Gemm output x (which may be negative, so it
# crosses the ReLU layers as pairs relu(x), relu(-x)); both written by
# tests/test_dag, as is an AveragePool branch beside a Conv branch (loaded,
# `certnn info` only); and a PyTorch-exported pre-activation residual network with
# BatchNormalization inside the live branches (below).  `certnn info` shows
# the graph and the layers it is lowered to; `certnn verify --cert` decides eps-ball properties around a
# point (never unsat where `certnn eval` at sampled points of the ball found
# another class; both verdicts occur over the radii) and `certnn check`
# accepts every certificate.
set -u
. "${CN_SRCDIR:-.}/tests/tap.sh"

# balls NAME: eps-balls around one point of model $M, decided with a
# certificate and checked
balls() {
    echo "0.1 -0.2 0.3 0.05" >"$T/pt"
    n_sat=0 n_unsat=0
    expect 0 "$1: eval at the centre" "$C" eval "$M" --input "$T/pt"
    cls=$(sed 's/.*argmax *//' "$T/out")
    for eps in 0.001 0.03 0.3 3; do
        P="$T/${1}_eps_$eps.vnnlib"
        python3 - "$eps" "$cls" >"$P" <<'PY'
import sys
eps, cls = float(sys.argv[1]), int(sys.argv[2])
c = [0.1, -0.2, 0.3, 0.05]
for i in range(4):
    print("(declare-const X_%d Real)" % i)
for j in range(3):
    print("(declare-const Y_%d Real)" % j)
for i, v in enumerate(c):
    print("(assert (>= X_%d %r))\n(assert (<= X_%d %r))" % (i, v - eps, i, v + eps))
print("(assert (or %s))" % " ".join("(and (>= Y_%d Y_%d))" % (j, cls) for j in range(3) if j != cls))
PY
        python3 - "$eps" >"$T/pts" <<'PY'
import random, sys
eps, r = float(sys.argv[1]), random.Random(25)
c = [0.1, -0.2, 0.3, 0.05]
for _ in range(300):
    print(" ".join(repr(v + eps * r.choice([-1, 1, r.uniform(-1, 1)])) for v in c))
PY
        "$C" eval "$M" --input "$T/pts" >"$T/evals" 2>"$T/err"
        want=$(awk -v k="$cls" '$NF != k { f = 1 } END { print f ? "sat" : "unknown" }' "$T/evals")
        check '[ "$(wc -l <"$T/evals")" -eq 300 ]' "$1, eps $eps: 300 sampled points evaluated ($want)"
        decide_spec "$M" "$P" "$want"
    done
    check '[ "$n_unsat" -ge 1 ] && [ "$n_sat" -ge 1 ]' "$1: both verdicts occur ($n_unsat unsat, $n_sat sat)"
}

M="$T/inception.onnx"
CN_DAG_WRITE="$M" CN_TEST_FILTER=test_write "$B/tests/test_dag" >"$T/gen" 2>&1
check '[ -s "$M" ]' "test_dag wrote the model"
expect 0 "info" "$C" info "$M"
has "$T/out" "Concat +\[1,15\]" "info shows the Concat node and its shape"
has "$T/out" "^layers: +7$" "info shows the lowered layers"
expect 0 "keygen" "$C" keygen --out "$T/k"
balls inception

M="$T/preact.onnx"
CN_DAG_WRITE="$M" CN_DAG_SHAPE=8 CN_TEST_FILTER=test_write "$B/tests/test_dag" >"$T/gen" 2>&1
check '[ -s "$M" ]' "test_dag wrote the pre-activation residual model"
expect 0 "info (pre-activation residual)" "$C" info "$M"
has "$T/out" "Add +\[1,4\] +'t6' <- 't1' 't5'" "info shows the residual Add of the Gemm output"
has "$T/out" "^layers: +7$" "info shows the lowered layers"
balls preact

# an AveragePool 2x2 beside a strided Conv branch (a linear node while the
# other branch is live): loads, the pool's branch in the dense layers
M="$T/avgpool.onnx"
CN_DAG_WRITE="$M" CN_DAG_SHAPE=10 CN_TEST_FILTER=test_write "$B/tests/test_dag" >"$T/gen" 2>&1
check '[ -s "$M" ]' "test_dag wrote the average pool model"
expect 0 "info (average pool branch)" "$C" info "$M"
has "$T/out" "AveragePool +\[1,2,2,1\] +'t5' <- 't2'" "info shows the AveragePool in a branch"
has "$T/out" "^layers: +5$" "info shows the lowered layers"

# a pre-activation residual network as PyTorch exports it (tests/data/preact,
# tests/data/make_preact.py): the block's BatchNormalization reads the stem
# Conv's output x, which is also the skip, so it runs while another branch is
# live; its irrational scale makes the rows of the next dense layer an
# enclosure.  certnn's outputs agree with torch's (float64; the exporter fused
# the branch's second BatchNormalization into its Conv in float32, hence 1e-6);
# every eps-ball spec is decided (never unsat where sampling found a
# counterexample) with a certificate that `certnn check` accepts.
M="$S/tests/data/preact"
expect 0 "info (PyTorch pre-activation block)" "$C" info "$M/preact.onnx"
has "$T/out" "BatchNormalization +\[1,4,8,8\] +'/bn1/BatchNormalization_output_0' <- '/stem/Conv_output_0'" \
    "info shows the BatchNormalization on the skip tensor"
has "$T/out" "dense .*enclosure: " "info shows the dense layer's enclosure"
expect 0 "torch preact: eval at the sample points" "$C" eval "$M/preact.onnx" --input "$M/preact_points.txt"
sed 's/ *argmax.*//' "$T/out" >"$T/ours"
check "paste -d' ' '$T/ours' '$M/preact_outputs.txt' | awk -v t=1e-6 '{h=NF/2; for(i=1;i<=h;i++){d=\$i-\$(i+h); if(d<0)d=-d; a=\$(i+h); if(a<0)a=-a; if(d>t*(1+a)) exit 1}} END{exit NR!=3}'" \
    "torch preact: outputs agree with torch's within 1e-6"
n_unsat=0 n_sat=0
for spec in "$M"/preact_p*.vnnlib; do
    b=$(basename "$spec")
    want=$(grep "^$b," "$M/expected.csv" | cut -d, -f2)
    check '[ -n "$want" ]' "$b: expected.csv has it"
    decide_spec "$M/preact.onnx" "$spec" "$want"
done
check '[ "$n_unsat" -ge 3 ] && [ "$n_sat" -ge 3 ]' "torch preact: both verdicts occur ($n_unsat unsat, $n_sat sat)"
tap_end dag.sh

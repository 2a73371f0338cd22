#!/bin/sh
# ops.sh — LeakyRelu, Clip, BatchNormalization at any position and a final
# Softmax, end to end on the PyTorch-exported networks of tests/data/ops
# (tests/data/make_ops_nets.py): certnn's outputs agree with torch's at the
# sample points; every eps-ball spec is decided (never unsat where sampling
# found a counterexample) with a certificate that `certnn check` accepts; a
# property with a constant on the Softmax network is refused.
set -u
. "${CN_SRCDIR:-.}/tests/tap.sh"

M="$S/tests/data/ops"
expect 0 "keygen" "$C" keygen --out "$T/k"
# outputs vs torch (float64 on the file's weights): act_mlp's lowering is exact,
# so they agree to rounding; bn_conv's exporter fused one Conv+BatchNormalization
# itself in float32, which torch's float64 model does not, hence 1e-6
for m in act_mlp:1e-12 bn_conv:1e-6; do
    net=${m%%:*} tol=${m#*:}
    expect 0 "$net: eval at the sample points" "$C" eval "$M/$net.onnx" --input "$M/${net}_points.txt"
    sed 's/ *argmax.*//' "$T/out" >"$T/ours"
    check "paste -d' ' '$T/ours' '$M/${net}_outputs.txt' | awk -v t=$tol '{h=NF/2; for(i=1;i<=h;i++){d=\$i-\$(i+h); if(d<0)d=-d; a=\$(i+h); if(a<0)a=-a; if(d>t*(1+a)) exit 1}} END{exit NR==0}'" \
        "$net: outputs agree with torch's within $tol"
done
n_unsat=0 n_sat=0
for spec in "$M"/*_p*.vnnlib; do
    b=$(basename "$spec")
    net=${b%%_p*}
    want=$(grep "^$b," "$M/expected.csv" | cut -d, -f2)
    decide_spec "$M/$net.onnx" "$spec" "$want"
done
check '[ "$n_unsat" -ge 5 ] && [ "$n_sat" -ge 3 ]' "both verdicts occur ($n_unsat unsat, $n_sat sat)"
expect 65 "a constant on a Softmax output is refused" "$C" verify "$M/act_mlp.onnx" \
    --vnnlib "$M/act_mlp_const.vnnlib" --timeout 30
has_text "$T/err" "the network ends in Softmax, so its outputs may only be compared with each other" \
    "the refusal says why"
expect 65 "... also by the bounds-only path" "$C" verify "$M/act_mlp.onnx" \
    --vnnlib "$M/act_mlp_const.vnnlib" --incomplete
tap_end ops.sh

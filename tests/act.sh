#!/bin/sh
# act.sh — sigmoid/tanh networks end to end: the PyTorch-exported tanh/sigmoid
# MLP of tests/data/tanh (tests/data/make_tanh_mlp.py) against each of its
# eps-ball specs: a verdict (sat or unsat; never unsat where sampling found a
# counterexample), a signed certificate, and `certnn check` accepting it; a
# tampered counterexample is refused; activation splitting (--split act)
# proves the tight spec with a certificate that checks.
set -u
. "${CN_SRCDIR:-.}/tests/tap.sh"

M="$S/tests/data/tanh"
expect 0 "keygen" "$C" keygen --out "$T/k"
expect 0 "info on the tanh MLP" "$C" info "$M/tanh_mlp.onnx"
has "$T/out" " tanh " "info lists the tanh layer"
has "$T/out" " sigmoid " "info lists the sigmoid layer"
n_unsat=0 n_sat=0
for spec in "$M"/*.vnnlib; do
    b=$(basename "$spec")
    want=$(grep "^$b," "$M/expected.csv" | cut -d, -f2)
    decide_spec "$M/tanh_mlp.onnx" "$spec" "$want"
    if [ "$v" = sat ]; then
        # move the point's first coordinate: the checker must refuse it (or the
        # signature fails first); either way exit non-zero
        sed 's/"x":\["\([^"]*\)"/"x":["0x1p+9"/' "$T/c.json" >"$T/bad.json"
        "$C" check "$T/bad.json" --pubkey "$T/k.pub" >"$T/out" 2>"$T/err"
        check '[ $? -ne 0 ]' "$b: a tampered counterexample is refused"
    fi
done
check '[ "$n_unsat" -ge 5 ] && [ "$n_sat" -ge 5 ]' "both verdicts occur ($n_unsat unsat, $n_sat sat)"
# activation splitting (--split act): the tight spec needs branching; its
# proof splits tanh/sigmoid pre-activations ("a" nodes) and must check
b=tanh_mlp_p4_eps_0.35_tight.vnnlib
expect 0 "$b: --split act" "$C" verify "$M/tanh_mlp.onnx" --vnnlib "$M/$b" --timeout 30 \
    --seed 1 --split act --cert "$T/a.json" --sign "$T/k.key"
check '[ "$(head -1 "$T/out")" = unsat ]' "$b: --split act decides unsat"
check 'grep -q "\[\"a\"," "$T/a.json"' "$b: the proof has activation splits"
expect 0 "$b: its certificate checks" "$C" check "$T/a.json" --pubkey "$T/k.pub" \
    --model "$M/tanh_mlp.onnx" --vnnlib "$M/$b"
tap_end act.sh

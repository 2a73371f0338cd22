#!/bin/sh
# findings.sh — every finding of the adversarial review (../shared/findings,
# README.md there) replayed through the command line, asserting the behaviour
# asked for.  tests/test_findings.c covers F3/F7/F9 through the library;
# tests/certs.sh covers the checker on the hostile certificates (F2, F4, F8,
# and F6's round trip) in detail; tests/test_fold.c F1's enclosures.
set -u
. "${CN_SRCDIR:-.}/tests/tap.sh"

F="$D/findings"
TS="$D/benchmarks/test"
cp "$F/k1.key" "$T/k1.key"
chmod 600 "$T/k1.key"
# not_unsat WHAT: the last command did not claim unsat (exit 0 / "unsat")
not_unsat() {
    if [ "$rc" -ne 0 ] && ! grep -q '^unsat' "$T/out"; then ok "$1 (exit $rc)"; else
        nok "$1: exit $rc"; sed 's/^/#   /' "$T/out" "$T/err" | head -8; fi
}
run() { "$@" >"$T/out" 2>"$T/err"; rc=$?; }

# F1: folding that rounds.  divfold2 computes y = x0/3 - fl(1/3) x1, which is
# 1/(3 2^54) > 0 at x = (1,1): the property is violated, so `unsat` is wrong;
# `sat` (exactly checked) or `unknown`/`timeout` are acceptable.
for f in divfold2 div10; do
    run "$C" verify "$F/F1_fold_rounding_unsat/$f.onnx" --vnnlib "$F/F1_fold_rounding_unsat/$f.vnnlib" \
        --timeout 10 --threads 1
    not_unsat "F1: verify $f.onnx is not unsat"
done
expect 0 "F1: info on div10.onnx" "$C" info "$F/F1_fold_rounding_unsat/div10.onnx"
has "$T/out" "enclosure" "F1: info says the rounding fold is verified with an enclosure"
# the review's signed certificate of the wrong unsat no longer re-proves
expect 1 "F1: check of the forged-by-folding div10.cert is invalid" "$C" check \
    "$F/F1_fold_rounding_unsat/div10.cert" --pubkey "$F/k1.pub" \
    --model "$F/F1_fold_rounding_unsat/div10.onnx" --vnnlib "$F/F1_fold_rounding_unsat/div10.vnnlib"

# F3: counterexamples that are not doubles: sat, exit 1, the exact point.
for p in point01 tinybox hugeX; do
    expect 1 "F3: verify $p is sat" "$C" verify "$TS/test_small.onnx" \
        --vnnlib "$F/F3_verify_sat_crash/$p.vnnlib" --timeout 5
    has "$T/out" "^sat" "F3: $p prints sat"
    expect 1 "F3: verify --cert $p" "$C" verify "$TS/test_small.onnx" \
        --vnnlib "$F/F3_verify_sat_crash/$p.vnnlib" --timeout 5 --cert "$T/$p.cert" --sign "$T/k1.key" -q
    expect 0 "F3: the $p certificate checks" "$C" check "$T/$p.cert" --pubkey "$F/k1.pub" \
        --model "$TS/test_small.onnx" --vnnlib "$F/F3_verify_sat_crash/$p.vnnlib"
done
expect 1 "F3: point01 --json" "$C" verify "$TS/test_small.onnx" \
    --vnnlib "$F/F3_verify_sat_crash/point01.vnnlib" --json
has "$T/out" '^ *"0\.1"' "F3: --json carries the exact point 1/10 (x_exact, as the decimal 0.1)"

# F5: a GLPK failure never kills certnn: no abort, and no unsat.
run "$C" verify "$F/F5_glpk_abort/ovf.onnx" --vnnlib "$F/F5_glpk_abort/ovf_1e309.vnnlib" \
    --split relu --timeout 5 --threads 1
check '[ "$rc" -ne 134 ] && [ "$rc" -lt 128 ]' "F5: no abort (exit $rc)"
not_unsat "F5: not unsat"

# F6: non-terminating rational constants travel exactly in certificates.
for p in third_rhs third_box; do
    expect 0 "F6: verify --cert $p" "$C" verify "$TS/test_small.onnx" \
        --vnnlib "$F/F6_cert_rational_constant/$p.vnnlib" --cert "$T/$p.cert" --sign "$T/k1.key" -q
    expect 0 "F6: the $p certificate checks" "$C" check "$T/$p.cert" --pubkey "$F/k1.pub" \
        --model "$TS/test_small.onnx" --vnnlib "$F/F6_cert_rational_constant/$p.vnnlib"
done

# F7: an empty box: still unsat (vacuously), but said so.
expect 0 "F7: verify empty.vnnlib is unsat" "$C" verify "$TS/test_small.onnx" \
    --vnnlib "$F/F7_empty_box_unsat/empty.vnnlib" -q
has "$T/err" "warning: .*empty input box" "F7: a warning, even with -q"
expect 0 "F7: --json" "$C" verify "$TS/test_small.onnx" --vnnlib "$F/F7_empty_box_unsat/empty.vnnlib" --json -q
has "$T/out" '"empty_cases": 1' "F7: --json field empty_cases"
expect 1 "F7: a non-empty box (point01, sat)" "$C" verify "$TS/test_small.onnx" \
    --vnnlib "$F/F3_verify_sat_crash/point01.vnnlib" -q
check '! grep -q "empty input box" "$T/err"' "F7: no warning on a non-empty box"

# F9: a box of finite rationals beyond the doubles: sat with the exact point
# or unknown naming the input, never an internal message from bounds/.
run "$C" verify "$TS/test_small.onnx" --vnnlib "$F/F9_infinite_box_verify_error/bigexp.vnnlib"
check '[ "$rc" -eq 1 ] || { [ "$rc" -eq 2 ] && grep -q "X_0" "$T/err"; }' "F9: bigexp is sat or unknown naming X_0 (exit $rc)"
check '! grep -q "bounds:" "$T/err"' "F9: no internal message from bounds/"
printf '(declare-const X_0 Real)\n(declare-const Y_0 Real)\n(assert (>= X_0 -1e400))\n(assert (<= X_0 1e400))\n(assert (>= Y_0 1e999))\n' >"$T/far.vnnlib"
expect 2 "F9: an unreachable output over a box beyond the doubles is unknown" "$C" verify \
    "$TS/test_small.onnx" --vnnlib "$T/far.vnnlib"
has "$T/err" "X_0 .*beyond the double range" "F9: the reason names the input"

tap_end findings

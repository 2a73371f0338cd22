#!/bin/sh
# certs.sh — certificates from the command line: keygen, verify --cert --sign
# on real instances (sat and unsat, ACAS Xu, a sweep), check, and tampered
# copies.  Prints "ok N - what" / "not ok N - what"; exits non-zero on failure.
set -u
. "${CN_SRCDIR:-.}/tests/tap.sh"

TB="$D/benchmarks/test"
ACAS="$D/benchmarks/acasxu/onnx/ACASXU_run2a_1_1_batch_2000.onnx"
P3="$D/benchmarks/acasxu/vnnlib/prop_3.vnnlib"
MN="$D/benchmarks/mnist_fc/onnx/mnist-net_256x2.onnx"
DATA="$D/benchmarks/data/mnist_test.csv"

# ---- keys
expect 0 "keygen" "$C" keygen --out "$T/k"
mode=$(stat -c %a "$T/k.key")
if [ "$mode" = 600 ]; then ok "secret key has mode 0600"; else nok "secret key has mode $mode"; fi
has "$T/k.pub" "^[0-9a-f]{64}$" "public key is 64 hex digits"
expect 66 "keygen refuses to overwrite" "$C" keygen --out "$T/k"
has "$T/err" "refusing to overwrite" "overwrite refusal is explained"
expect 0 "a second key" "$C" keygen --out "$T/other" -q
expect 64 "keygen without --out" "$C" keygen
expect 64 "--sign without --cert" "$C" verify "$TB/test_nano.onnx" --vnnlib "$TB/test_nano.vnnlib" --sign "$T/k.key"
cp "$T/k.key" "$T/open.key" && chmod 644 "$T/open.key"
expect 65 "a world-readable secret key is refused" "$C" verify "$TB/test_nano.onnx" --vnnlib "$TB/test_nano.vnnlib" --cert "$T/x.cert" --sign "$T/open.key"

# ---- sat and unsat certificates on the test instances
expect 1 "verify sat --cert --sign" "$C" verify "$TB/test_sat.onnx" --vnnlib "$TB/test_prop.vnnlib" --timeout 60 --cert "$T/sat.cert" --sign "$T/k.key" -j 2
has "$T/out" "^sat" "verdict sat"
expect 0 "check the sat certificate" "$C" check "$T/sat.cert" --pubkey "$T/k.pub" --vnnlib "$TB/test_prop.vnnlib"
has "$T/out" "1 counterexample confirmed" "the counterexample is confirmed"
expect 0 "verify unsat --cert --sign" "$C" verify "$TB/test_unsat.onnx" --vnnlib "$TB/test_prop.vnnlib" --timeout 60 --cert "$T/unsat.cert" --sign "$T/k.key" -j 2
expect 0 "check the unsat certificate" "$C" check "$T/unsat.cert" --pubkey "$T/k.pub" --vnnlib "$TB/test_prop.vnnlib" --model "$TB/test_unsat.onnx"
has "$T/out" "1 proven" "the proof is re-proved"
expect 0 "verify test_small --cert" "$C" verify "$TB/test_small.onnx" --vnnlib "$TB/test_small.vnnlib" --cert "$T/small.cert" --sign "$T/k.key"
expect 0 "check test_small" "$C" check "$T/small.cert" --pubkey "$T/k.pub"

# ---- a branch-and-bound proof: ACAS Xu 1_1 property 3
expect 0 "ACAS 1_1 prop 3 --cert --sign" "$C" verify "$ACAS" --vnnlib "$P3" --timeout 120 --cert "$T/p3.cert" --sign "$T/k.key"
expect 0 "check ACAS 1_1 prop 3" "$C" check "$T/p3.cert" --pubkey "$T/k.pub" --vnnlib "$P3" --json
has "$T/out" '"valid": true' "--json says valid"
has "$T/out" '"refutations": [1-9][0-9]+' "many refutations re-proved"

# ---- failures of check
expect 1 "unsigned check without --pubkey" "$C" check "$T/p3.cert"
has "$T/out" "no trusted public key" "untrusted signature explained"
expect 0 "--allow-unsigned accepts it" "$C" check "$T/p3.cert" --allow-unsigned
expect 1 "signed by another key" "$C" check "$T/p3.cert" --pubkey "$T/other.pub"
has "$T/out" "another key" "other key named"
expect 1 "a different model file" "$C" check "$T/p3.cert" --pubkey "$T/k.pub" --model "$D/benchmarks/acasxu/onnx/ACASXU_run2a_1_2_batch_2000.onnx"
has "$T/out" "SHA-256 differs" "model hash mismatch named"
expect 1 "a different property file" "$C" check "$T/p3.cert" --pubkey "$T/k.pub" --vnnlib "$D/benchmarks/acasxu/vnnlib/prop_4.vnnlib"
has "$T/out" "property: SHA-256 differs" "property hash mismatch named"
# tampered copies: a changed split point digit, a dropped refutation, a
# changed counterexample digit, the file reformatted
sed 's/\("i",[0-9]*,"0x[0-9a-f.]*\)1/\12/' "$T/p3.cert" >"$T/t1.cert"
if cmp -s "$T/p3.cert" "$T/t1.cert"; then nok "tamper 1 changed nothing"; else
    expect 1 "tampered split point" "$C" check "$T/t1.cert" --pubkey "$T/k.pub"; fi
sed 's/\["l",\[0\]\]/["l"]/' "$T/p3.cert" >"$T/t2.cert"
expect 1 "a dropped refutation" "$C" check "$T/t2.cert" --pubkey "$T/k.pub"
has "$T/out" "signature" "... caught by the signature"
expect 0 "... unsigned, without the signature" sh -c "sed 's/^{\"signature\":{[^}]*},/{/' '$T/t2.cert' >'$T/t3.cert'"
expect 1 "... and then by the proof check" "$C" check "$T/t3.cert" --allow-unsigned
has "$T/out" "not refuted on its path" "... naming the leaf"
# the first coordinate's last hex digit changed
sed -e 's/\("x":\["[-0-9a-fx.]*\)[1-9a-f]p/\10p/' -e t -e 's/\("x":\["[-0-9a-fx.]*\)0p/\11p/' \
    "$T/sat.cert" >"$T/t4.cert"
if cmp -s "$T/sat.cert" "$T/t4.cert"; then nok "tamper 4 changed nothing"; else
    expect 1 "a changed counterexample" "$C" check "$T/t4.cert" --pubkey "$T/k.pub"; fi
python3 -m json.tool "$T/sat.cert" >"$T/t5.cert" 2>/dev/null || cp "$T/sat.cert" "$T/t5.cert" && echo " " >>"$T/t5.cert"
expect 1 "a reformatted certificate" "$C" check "$T/t5.cert" --pubkey "$T/k.pub"
has "$T/out" "canonical" "non-canonical form named"
expect 66 "a missing certificate" "$C" check "$T/none.cert"

# ---- a sweep: one document, one entry per sample
expect 1 "sweep --cert" "$C" verify "$MN" --data "$DATA" --eps 0.05 --samples 3 --cert "$T/sw.cert" --sign "$T/k.key" -q
expect 0 "check the sweep" "$C" check "$T/sw.cert" --pubkey "$T/k.pub" --data "$DATA"
has "$T/out" "3 results" "three entries"
sed '1s/,0,/,1,/' "$DATA" >"$T/data2.csv"
expect 1 "sweep against changed data" "$C" check "$T/sw.cert" --pubkey "$T/k.pub" --data "$T/data2.csv"
has "$T/out" "data SHA-256 differs" "data hash mismatch named"

tap_end certs

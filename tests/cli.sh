#!/bin/sh
# cli.sh — command-line behaviour of ./certnn: exit codes, messages, --json fields.
# Prints "ok N - what" / "not ok N - what" lines and exits non-zero on any failure.
set -u
. "${CN_SRCDIR:-.}/tests/tap.sh"

ACAS="$D/benchmarks/acasxu/onnx/ACASXU_run2a_1_1_batch_2000.onnx"
ACASN="$D/benchmarks/acasxu/nnet/ACASXU_experimental_v2a_1_1.nnet"

expect 0 "--help" "$C" --help
has "$T/out" "Exit codes" "--help documents exit codes"
expect 0 "--version" "$C" --version
expect 64 "no subcommand" "$C"
expect 64 "unknown subcommand" "$C" frobnicate
has "$T/err" "^certnn: unknown subcommand 'frobnicate'" "unknown subcommand is named"
expect 64 "unknown option" "$C" info --bogus "$ACAS"
expect 64 "missing positional" "$C" info
expect 0 "info --help" "$C" info --help
has "$T/out" "Usage: certnn info" "info --help usage line"

expect 0 "info on ACAS ONNX" "$C" info "$ACAS"
has "$T/out" "relus: +300" "info reports 300 ReLUs"
expect 0 "info --json on ACAS ONNX" "$C" info --json "$ACAS"
for f in inputs outputs relus layers sha256; do has "$T/out" "\"$f\"" "info --json has field $f"; done
sha=$(sha256sum "$ACAS" | cut -d' ' -f1)
has "$T/out" "$sha" "info --json sha256 equals sha256sum of the file"
expect 0 "info on the bundled default" "$C" info "$S/models/zoo/acasxu_1_1.nnet"
has "$T/out" "rounded once to the nearest double" "info states how NNet decimals become doubles"
expect 66 "info on a missing file" "$C" info "$T/nope.onnx"
has "$T/err" "nope.onnx" "missing file is named"
: >"$T/empty.onnx"
expect 65 "info on an empty ONNX file" "$C" info "$T/empty.onnx"
has "$T/err" "empty.onnx" "empty file is named"
expect 65 "info refuses the Sigmoid network" "$C" info "$D/benchmarks/eran/onnx/ffnnSIGMOID__Point_6x200.onnx"
has "$T/err" "unsupported activation" "Sigmoid refusal says 'unsupported activation'"

# eval: double and exact agree; NNet and ONNX agree on a normalised input.
printf '0.1 -0.2 0.3 0.25 -0.4\n# comment line\n0,0,0,0,0\n' >"$T/in.txt"
expect 0 "eval double" "$C" eval "$ACAS" --input "$T/in.txt"
cp "$T/out" "$T/d.txt"
expect 0 "eval --exact" "$C" eval "$ACAS" --input "$T/in.txt" --exact
cp "$T/out" "$T/e.txt"
if awk 'NR==FNR { for (i = 1; i <= 5; i++) a[FNR, i] = $i; next }
        { for (i = 1; i <= 5; i++) { d = $i - a[FNR, i]; if (d < 0) d = -d; if (d > 1e-9) exit 1 } }' \
    "$T/d.txt" "$T/e.txt"; then ok "eval double and exact agree to 1e-9"; else nok "eval double vs exact"; fi
expect 0 "eval NNet" "$C" eval "$ACASN" --input "$T/in.txt"
if awk 'NR==FNR { for (i = 1; i <= 5; i++) a[FNR, i] = $i; next }
        { for (i = 1; i <= 5; i++) { d = $i - a[FNR, i]; if (d < 0) d = -d; if (d > 1e-6) exit 1 } }' \
    "$T/d.txt" "$T/out"; then ok "NNet and ONNX agree to 1e-6"; else nok "NNet vs ONNX eval"; fi
expect 0 "eval --json --exact" "$C" eval "$ACAS" --input "$T/in.txt" --exact --json
has "$T/out" '"exact"' "eval --json --exact gives exact fractions"
printf '0.1 0.2\n' >"$T/short.txt"
expect 65 "eval with the wrong input count" "$C" eval "$ACAS" --input "$T/short.txt"
has "$T/err" "short.txt:1: expected 5 values" "wrong count names file, line and expectation"
printf '0.1 0.2 abc 0 0\n' >"$T/junk.txt"
expect 65 "eval with a non-number" "$C" eval "$ACAS" --input "$T/junk.txt"
has "$T/err" "junk.txt:1:9: expected a decimal number" "bad token names file:line:col"
expect 64 "eval without --input" "$C" eval "$ACAS"

# spec: parsed summaries, JSON, located errors.
expect 0 "spec on ACAS prop 6 (two input boxes)" "$C" spec "$D/benchmarks/acasxu/vnnlib/prop_6.vnnlib"
has "$T/out" "cases: +2" "prop 6 has two cases"
expect 0 "spec --json" "$C" spec --json "$D/benchmarks/mnist_fc/vnnlib/prop_0_0.03.vnnlib"
has "$T/out" '"cases"' "spec --json has the cases"
printf '(declare-const X_0 Real)\n(declare-const Y_0 Real)\n(assert (< X_0 1))\n' >"$T/strict.vnnlib"
expect 65 "spec refuses a strict comparison" "$C" spec "$T/strict.vnnlib"
has "$T/err" "strict.vnnlib:3:10: strict comparison" "the refusal names file:line:col"
expect 65 "spec --model with the wrong sizes" "$C" spec "$D/benchmarks/acasxu/vnnlib/prop_1.vnnlib" --model "$D/benchmarks/test/test_tiny.onnx"

# verify: the complete engine, exit codes, counterexamples, VNN-COMP result files.
TS="$D/benchmarks/test"
expect 0 "verify test_nano is unsat" "$C" verify "$TS/test_nano.onnx" --vnnlib "$TS/test_nano.vnnlib" -q
has "$T/out" "^unsat$" "verify prints unsat"
expect 1 "verify test_sat is sat" "$C" verify "$TS/test_sat.onnx" --vnnlib "$TS/test_prop.vnnlib" --vnncomp-result "$T/res.txt" -q
has "$T/out" "^sat$" "verify prints sat"
has "$T/res.txt" "^sat$" "the VNN-COMP result file says sat"
has "$T/res.txt" "^\(\(X_0 " "the VNN-COMP result file holds the counterexample"
has "$T/res.txt" "\(Y_4 .*\)\)$" "the counterexample lists the outputs"
expect 0 "verify test_unsat is unsat" "$C" verify "$TS/test_unsat.onnx" --vnnlib "$TS/test_prop.vnnlib" --json -q
has "$T/out" '"verdict": "unsat"' "verify --json has the verdict"
expect 2 "verify --incomplete on a sat instance is unknown, never unsat" "$C" verify "$TS/test_sat.onnx" --vnnlib "$TS/test_prop.vnnlib" --incomplete
has "$T/out" "^unknown$" "incomplete verify says unknown"
AP5="$D/benchmarks/acasxu/vnnlib/prop_5.vnnlib"
expect 64 "verify --lp-tail out of range" "$C" verify "$ACAS" --vnnlib "$AP5" --lp-tail 17
has "$T/err" "lp-tail" "the out-of-range --lp-tail is named"
expect 0 "verify --lp-tail 6: ACAS 1_1 prop_5 unsat, the tail used" "$C" verify "$ACAS" --vnnlib "$AP5" --lp-tail 6 --threads 1 --json -q
has "$T/out" '"closed": [1-9]' "--json reports the LP tail's closed boxes"
expect 64 "verify with both --vnnlib and --data" "$C" verify "$TS/test_sat.onnx" --vnnlib "$TS/test_prop.vnnlib" --data x.csv
expect 64 "verify --split with a bad value" "$C" verify "$TS/test_sat.onnx" --vnnlib "$TS/test_prop.vnnlib" --split sideways
expect 65 "verify a property with the wrong sizes" "$C" verify "$TS/test_tiny.onnx" --vnnlib "$TS/test_prop.vnnlib" -q
has "$T/err" "inputs" "the size mismatch is explained"

# verify --data: eps-balls over the test images.
FF="$D/benchmarks/eran/onnx/FFNNSmall.onnx"
MN="$D/benchmarks/data/mnist_test.csv"
expect 0 "verify --data at a small eps proves every sample" "$C" verify "$FF" --data "$MN" --samples 3 --eps 0.001 --json
has "$T/out" '"verified": 3' "three samples verified"
expect 1 "verify --data --complete refutes at a large eps" "$C" verify "$FF" --data "$MN" --samples 2 --eps 0.3 --complete --timeout 20 --json
has "$T/out" '"verdict": "not-robust"' "a sample is not robust"

# attack
expect 1 "attack finds the test_sat counterexample" "$C" attack "$TS/test_sat.onnx" --vnnlib "$TS/test_prop.vnnlib" --seed 3 --json
has "$T/out" '"verdict": "sat"' "attack --json verdict"
expect 2 "attack on an unsat instance stays unknown" "$C" attack "$TS/test_nano.onnx" --vnnlib "$TS/test_nano.vnnlib" --timeout 1

# VNN-COMP scripts drive the same binary.
VC="$S/benchmarks/vnncomp"
if CERTNN="$C" "$VC/prepare_instance.sh" v1 test "$TS/test_tiny.onnx" "$TS/test_tiny.vnnlib" >"$T/out" 2>"$T/err"; then
    ok "prepare_instance.sh accepts test_tiny"; else nok "prepare_instance.sh"; fi
CERTNN="$C" "$VC/run_instance.sh" v1 test "$TS/test_tiny.onnx" "$TS/test_tiny.vnnlib" "$T/vc.txt" 60 >/dev/null 2>&1
has "$T/vc.txt" "^unsat$" "run_instance.sh writes unsat for test_tiny"
CERTNN="$C" "$VC/run_instance.sh" v1 test "$TS/test_sat.onnx" "$TS/test_prop.vnnlib" "$T/vc2.txt" 60 >/dev/null 2>&1
has "$T/vc2.txt" "^sat$" "run_instance.sh writes sat for test_sat"

# SIGINT stops a long run with the verdict timeout (exit 3), results kept.
"$C" verify "$D/benchmarks/acasxu/onnx/ACASXU_run2a_1_9_batch_2000.onnx" --vnnlib "$D/benchmarks/acasxu/vnnlib/prop_7.vnnlib" --timeout 120 --vnncomp-result "$T/int.txt" -q >"$T/out" 2>"$T/err" &
pid=$!
sleep 3
kill -INT $pid
wait $pid
rc=$?
if [ "$rc" -eq 3 ] || [ "$rc" -eq 1 ]; then ok "SIGINT ends verify with exit $rc"; else nok "SIGINT: exit $rc"; fi
if grep -Eq '^(timeout|sat)$' "$T/int.txt"; then ok "the interrupted run still wrote its result file"; else nok "no result file after SIGINT"; fi


# One table of options: an option shared by several commands shows the same
# default and range in each one's --help, and a value just outside its range
# is refused with the option named.
shared() { # WHAT OPTION CMD...: WHAT is "range" or "default and range"
    what=$1 opt=$2
    shift 2
    first= same=yes
    for cmd in "$@"; do
        "$C" "$cmd" --help >"$T/h" 2>&1
        if [ "$what" = range ]; then re='\[[^]]*\]$'; else re='(\(default [^)]*\) )?\[[^]]*\]$'; fi
        got=$(grep -E -- "^  (-., |    )--$opt " "$T/h" | grep -Eo "$re")
        [ -n "$got" ] || same=no
        [ -z "$first" ] && first=$got
        [ "$got" = "$first" ] || same=no
    done
    if [ "$same" = yes ]; then ok "--$opt: one $what in $* ($first)"; else nok "--$opt: $what differs in $*"; fi
}
shared "default and range" seed verify bench radius compare attack train
shared "default and range" threads verify bench radius compare
shared "default and range" offset verify attack radius compare eval
shared range samples verify attack radius compare eval
shared range timeout verify radius compare
for cmd in verify bench radius compare; do
    expect 64 "$cmd --threads 1025 is refused" "$C" "$cmd" x --threads 1025
    has_text "$T/err" "--threads: 1025 is out of range" "$cmd names --threads"
done
for cmd in verify bench radius compare attack train; do
    expect 64 "$cmd --seed -1 is refused" "$C" "$cmd" x --seed -1
    has_text "$T/err" "--seed: -1 is out of range" "$cmd names --seed"
done
expect 64 "eval --offset 1000000001 is refused" "$C" eval x --offset 1000000001
has_text "$T/err" "--offset: 1000000001 is out of range" "eval names --offset"
expect 64 "verify --split sideways is refused" "$C" verify "$ACAS" --vnnlib "$D/benchmarks/acasxu/vnnlib/prop_1.vnnlib" --split sideways
has_text "$T/err" "--split: expected input, relu or auto, got 'sideways'" "the message lists --split's choices"

# SIGINT stops the complete engine on the --data path too: the sample the
# bounds cannot prove ends with the verdict timeout (counted unknown: exit 2).
FM=/usr/share/datasets/fashion-mnist
if [ -r "$FM/t10k-images-idx3-ubyte.gz" ]; then
    "$C" verify "$S/models/zoo/fmnist_plain.onnx" --data "$FM/t10k-images-idx3-ubyte.gz" --labels "$FM/t10k-labels-idx1-ubyte.gz" --eps 0.02 --samples 1 --complete --timeout 100 -q >"$T/out" 2>"$T/err" &
    pid=$!
    sleep 1
    kill -INT $pid
    wait $pid
    rc=$?
    if [ "$rc" -eq 2 ]; then ok "SIGINT ends verify --data --complete with exit 2"; else nok "verify --data --complete after SIGINT: exit $rc"; fi
    has "$T/out" "^sample 0: label 9, timeout," "the interrupted sample's verdict is timeout"
else
    ok "# SKIP no Fashion-MNIST test set"
fi

tap_end cli

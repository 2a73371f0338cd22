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
expect 0 "info reads the Sigmoid network" "$C" info "$D/benchmarks/eran/onnx/ffnnSIGMOID__Point_6x200.onnx"
has "$T/out" "sigmoid" "info lists the sigmoid layers"

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
has_text "$T/err" "--split: expected input, relu, act or auto, got 'sideways'" "the message lists --split's choices"

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

# Messages and exit codes, as a new user meets them (issue 26).
expect 64 "an option without its argument" "$C" verify "$TS/test_nano.onnx" --vnnlib
has_text "$T/err" "certnn: verify: option '--vnnlib' needs an argument" "the option and the command are named"
check '! grep -q "certnn: certnn" "$T/err"' "no doubled 'certnn: certnn:' prefix"
expect 64 "verify without a property" "$C" verify "$TS/test_nano.onnx"
has_text "$T/err" "verify: missing --vnnlib FILE or --data FILE" "the missing options are named"
expect 64 "verify with both --vnnlib and --data" "$C" verify "$TS/test_nano.onnx" --vnnlib "$TS/test_nano.vnnlib" --data "$MN"
has_text "$T/err" "--vnnlib and --data exclude each other" "... and the clash is named"
expect 64 "train without --arch" "$C" train --data "$MN" --out "$T/never.onnx"
has_text "$T/err" "train: missing --arch W0-W1-...-WL (--data, --arch and --out are required" "train names only the missing option"
expect 64 "check without a certificate" "$C" check
has_text "$T/err" "check: missing the CERT argument" "the missing argument is named"
expect 0 "keygen" "$C" keygen --out "$T/k" -q
expect 65 "--sign with the public key" "$C" verify "$TS/test_nano.onnx" --vnnlib "$TS/test_nano.vnnlib" --cert "$T/pub.cert" --sign "$T/k.pub"
has_text "$T/err" "k.pub: this is an Ed25519 public key; signing needs the secret key" "a public key is called a public key"
check '! grep -q "mode" "$T/err"' "... not a secret key with mode 644"
check '[ ! -e "$T/pub.cert" ]' "... and no certificate is written"
printf '{"verdict": "unsat"}\n' >"$T/notcert.json"
expect 65 "check on a JSON file that is no certificate" "$C" check "$T/notcert.json"
has_text "$T/err" "notcert.json: not a certnn certificate" "the file is named as no certificate"
expect 65 "check on an ONNX file" "$C" check "$TS/test_nano.onnx"
has_text "$T/err" "test_nano.onnx: not a certnn certificate" "... an ONNX file too"
# --eps: inputs are pixel/255 in [0, 1], so one range for verify and train.
shared range eps verify train attack
expect 64 "verify --eps 1.5 is refused" "$C" verify "$FF" --data "$MN" --eps 1.5
has_text "$T/err" "--eps: 1.5 is out of range [0, 1]" "verify names --eps and its range"
expect 64 "train --eps 1.5 is refused" "$C" train --data "$MN" --arch 784-10 --out "$T/never.onnx" --eps 1.5
has_text "$T/err" "--eps: 1.5 is out of range [0, 1]" "train: the same message"
expect 64 "verify --eps just above 1, read exactly" "$C" verify "$FF" --data "$MN" --eps 1.00000000000000000001
expect 2 "verify --eps 1 (the whole input box) is accepted: unknown without an attack" "$C" verify "$FF" --data "$MN" --samples 1 --eps 1 --attack 0
# A misclassified sample is a counterexample: exit 1, like a not-robust one.
expect 0 "eval --data finds the misclassified samples" "$C" eval "$FF" --data "$MN"
mis=$(sed -n 's/^misclassified (sample: label -> predicted): \([0-9]*\):.*/\1/p' "$T/out")
check '[ -n "$mis" ]' "eval names a misclassified sample ($mis)"
expect 1 "verify --data on the misclassified sample" "$C" verify "$FF" --data "$MN" --offset "${mis:-0}" --samples 1 --eps 0 --json
has "$T/out" '"misclassified": 1' "it is counted misclassified"
has "$T/out" '"verdict": "misclassified"' "its verdict says so"
# --samples beyond the data: a warning naming the option, the samples there are.
total=$(grep -c . "$MN")
expect 0 "verify --samples beyond the end of the data" "$C" verify "$FF" --data "$MN" --offset $((total - 3)) --samples 50 --eps 0
has_text "$T/err" "warning: --samples 50: $MN has only 3 samples from offset $((total - 3))" "the clipped --samples is said"
has "$T/out" "^3 of 3 verified" "... and the 3 samples there are run"
expect 0 "eval --samples beyond the end of the data" "$C" eval "$FF" --data "$MN" --samples $((total + 1))
has_text "$T/err" "warning: --samples $((total + 1)): $MN has only $total samples" "eval says so too"
# eval --data: the first 20 misclassified samples, then how many more.
awk -F, '{ $1 = ($1 + 1) % 10 } 1' OFS=, "$MN" >"$T/wrong.csv"
expect 0 "eval on data with wrong labels" "$C" eval "$FF" --data "$T/wrong.csv"
wrong=$(sed -n 's|^accuracy: \([0-9]*\)/\([0-9]*\) .*|\2 \1|p' "$T/out" | awk '{ print $1 - $2 }')
line=$(grep '^misclassified' "$T/out")
check '[ "$(printf "%s" "$line" | grep -o "[0-9]*: [0-9] -> [0-9]" | wc -l)" -eq 20 ]' "20 misclassified samples listed"
has_text "$T/out" "... and $((wrong - 20)) more (--json lists every prediction)" "then how many more ($wrong misclassified)"

# VNN-COMP ships gzipped models and properties: the same verdict read directly.
A1="$D/benchmarks/acasxu/onnx/ACASXU_run2a_1_1_batch_2000.onnx"
P3="$D/benchmarks/acasxu/vnnlib/prop_3.vnnlib"
gzip -c "$A1" >"$T/a.onnx.gz"
gzip -c "$P3" >"$T/p3.vnnlib.gz"
"$C" verify "$A1" --vnnlib "$P3" -q >"$T/plain.out" 2>&1
prc=$?
expect $prc "verify on the gzipped ACAS 1_1 and prop 3 (exit of the plain files)" "$C" verify "$T/a.onnx.gz" --vnnlib "$T/p3.vnnlib.gz" -q
check 'cmp -s "$T/out" "$T/plain.out"' "the same verdict as on the plain files ($(cat "$T/out"))"
expect 0 "info on a gzipped model" "$C" info --json "$T/a.onnx.gz"
has "$T/out" "$(sha256sum "$T/a.onnx.gz" | cut -d' ' -f1)" "its sha256 is the file's as stored"
expect 0 "spec on a gzipped property" "$C" spec "$T/p3.vnnlib.gz" --model "$T/a.onnx.gz"
gzip -c "$S/models/zoo/acasxu_1_1.nnet" >"$T/z.nnet.gz"
expect 0 "info on a gzipped NNet file" "$C" info "$T/z.nnet.gz"
has "$T/out" "relus: +300" "... read as NNet"
gzip -c "$TS/test_nano.onnx" >"$T/nano.onnx.gz"
gzip -c "$TS/test_nano.vnnlib" >"$T/nano.vnnlib.gz"
expect 0 "a certificate for gzipped files" "$C" verify "$T/nano.onnx.gz" --vnnlib "$T/nano.vnnlib.gz" --cert "$T/nano.cert" --sign "$T/k.key" -q
expect 0 "... checks" "$C" check "$T/nano.cert" --pubkey "$T/k.pub"
if CERTNN="$C" "$VC/prepare_instance.sh" v1 acasxu "$T/a.onnx.gz" "$T/p3.vnnlib.gz" >"$T/out" 2>"$T/err"; then
    ok "prepare_instance.sh accepts the gzipped files"; else nok "prepare_instance.sh on .gz"; fi
head -c 1000 "$T/a.onnx.gz" >"$T/cut.onnx.gz"
expect 65 "a truncated .onnx.gz" "$C" verify "$T/cut.onnx.gz" --vnnlib "$P3"
has_text "$T/err" "cut.onnx.gz: corrupt gzip file: truncated" "the truncated file is named"
cp "$T/p3.vnnlib.gz" "$T/bad.vnnlib.gz"
printf 'XXXXXXXXXXXXXXXX' | dd of="$T/bad.vnnlib.gz" bs=1 seek=20 conv=notrunc 2>/dev/null
expect 65 "a corrupt .vnnlib.gz" "$C" verify "$A1" --vnnlib "$T/bad.vnnlib.gz"
has_text "$T/err" "bad.vnnlib.gz: corrupt gzip file" "the corrupt file is named"
printf '(declare-const X_0 Real)\n' >"$T/plain.vnnlib.gz"
expect 65 "a .gz that is not gzip data" "$C" spec "$T/plain.vnnlib.gz"
has_text "$T/err" "plain.vnnlib.gz: not gzip data" "... is named as such"
# The harness scripts: install_tool.sh checks its arguments; run_instance.sh
# prints one line and leaves the counterexample in the result file.
if "$VC/install_tool.sh" v2 >"$T/out" 2>"$T/err"; then nok "install_tool.sh v2 is refused"; else
    ok "install_tool.sh v2 is refused"; fi
has_text "$T/err" "usage: install_tool.sh v1" "install_tool.sh names its arguments"
CERTNN="$C" "$VC/run_instance.sh" v1 test "$TS/test_sat.onnx" "$TS/test_prop.vnnlib" "$T/vc3.txt" 60 >"$T/out" 2>"$T/err"
check '[ "$(wc -l <"$T/out")" -eq 1 ]' "run_instance.sh prints one line"
has "$T/out" "^run_instance.sh: sat " "... the verdict"
has "$T/vc3.txt" "^\(\(X_0 " "the result file holds the counterexample"
CERTNN="$C" "$VC/run_instance.sh" v1 acasxu "$T/a.onnx.gz" "$T/p3.vnnlib.gz" "$T/vc4.txt" 60 >/dev/null 2>&1
has "$T/vc4.txt" "^$(cat "$T/plain.out")$" "run_instance.sh on the gzipped files: the same verdict"

# Output paths are checked before any work: a missing or unwritable folder, or
# a folder given as the file, is refused at once with exit 73 naming the path.
expect 73 "verify --cert into a missing folder" "$C" verify "$ACAS" --vnnlib "$S/models/zoo/acasxu_prop3.vnnlib" --cert "$T/nodir/x.cert"
has_text "$T/err" "--cert: cannot write '$T/nodir/x.cert': folder '$T/nodir' does not exist" "... names the option, the path and the folder"
expect 73 "train --out a folder" "$C" train --data x --arch 784-10 --out "$T"
has_text "$T/err" "--out: '$T' is a folder, not a file" "... says it is a folder"
expect 73 "keygen --out into a missing folder" "$C" keygen --out "$T/nodir/k"
expect 73 "spec --write into a missing folder" "$C" spec "$S/models/zoo/acasxu_prop3.vnnlib" --write "$T/nodir/p.vnnlib"
if [ "$(id -u)" -ne 0 ]; then
    mkdir "$T/ro" && chmod 555 "$T/ro"
    expect 73 "verify --cert into a read-only folder" "$C" verify "$ACAS" --vnnlib "$S/models/zoo/acasxu_prop3.vnnlib" --cert "$T/ro/x.cert"
    has_text "$T/err" "is not writable" "... says so"
    chmod 755 "$T/ro"
fi

# SIGINT during `verify --data` and `attack --data`: each sample's line is out as
# soon as it is decided; the run ends after the sample at hand with a summary of
# the samples done, and verify's certificate holds exactly those.
FM=/usr/share/datasets/fashion-mnist
if [ -r "$FM/t10k-images-idx3-ubyte.gz" ]; then
    # wait_lines FILE N PID: until FILE has N "sample" lines (or PID ended)
    # (a file the background job has not opened yet counts 0 lines: grep -c
    # on a missing file prints nothing, which ended the wait at once and sent
    # SIGINT before certnn had its handler)
    wait_lines() { while [ "$(cat "$1" 2>/dev/null | grep -c '^sample ')" -lt "$2" ] && kill -0 "$3" 2>/dev/null; do sleep 0.05; done; }
    rm -f "$T/int.out"
    "$C" verify "$S/models/zoo/fmnist_ibp.onnx" --data "$FM/t10k-images-idx3-ubyte.gz" --labels "$FM/t10k-labels-idx1-ubyte.gz" --eps 0.05 --method alpha --attack 0 --cert "$T/int.cert" >"$T/int.out" 2>"$T/int.err" &
    pid=$!
    wait_lines "$T/int.out" 3 $pid
    kill -INT $pid
    wait $pid
    rc=$?
    k=$(grep -c '^sample ' "$T/int.out")
    check '[ "$rc" -eq 1 ] || [ "$rc" -eq 2 ]' "verify --data after SIGINT: the verdicts' exit code ($rc)"
    check '[ "$k" -ge 3 ] && [ "$k" -lt 10000 ]' "verify --data printed the samples decided before SIGINT ($k)"
    has_text "$T/int.err" "interrupted by signal 2 after $k of 10000 samples" "the interruption names the samples done"
    has "$T/int.out" " of $k verified \(" "the summary covers the $k samples done"
    expect 0 "the interrupted run's certificate checks" "$C" check "$T/int.cert" --allow-unsigned
    has_text "$T/out" "valid: $k results" "... with one result per sample done"
    # (the file goes first: wait_lines must not count the previous run's lines
    # while the new process has not yet caught SIGINT, which a background job
    # of a non-interactive shell starts out ignoring)
    rm -f "$T/int.out"
    "$C" attack "$S/models/zoo/fmnist_plain.onnx" --data "$FM/t10k-images-idx3-ubyte.gz" --labels "$FM/t10k-labels-idx1-ubyte.gz" --eps 0.01 --timeout 1 >"$T/int.out" 2>"$T/int.err" &
    pid=$!
    wait_lines "$T/int.out" 2 $pid
    kill -INT $pid
    wait $pid
    k=$(grep -c '^sample ' "$T/int.out")
    check '[ "$k" -ge 2 ] && [ "$k" -lt 10000 ]' "attack --data printed the samples decided before SIGINT ($k)"
    has_text "$T/int.err" "interrupted by signal 2 after $k of 10000 samples" "attack names the samples done"
    has "$T/int.out" "sat \(attack success\)|unknown" "attack's summary is printed"
else
    ok "# SKIP no Fashion-MNIST test set"
fi

# Inputs users have (issue 26): decimal CSV and .npy datasets, --mean/--std.
# One set of exact inputs in three files: 8-bit CSV (0/255), decimal CSV
# (0.0/1.0) and a float32 .npy (0.0/1.0), binarised from three MNIST samples:
# every command must treat them alike.
head -3 "$MN" | awk -F, '{printf "%s", $1; for (i = 2; i <= NF; i++) printf ",%d", ($i > 127 ? 255 : 0); print ""}' >"$T/bin8.csv"
sed 's/,255/,1.0/g; s/,0/,0.0/g' "$T/bin8.csv" >"$T/binf.csv"
# npy_write FILE DESCR SHAPE DATA: a .npy 1.0 file; DATA as printf escapes
npy_write() {
    h="{'descr': '$2', 'fortran_order': False, 'shape': $3, }"
    l=$((${#h} + 1))
    while [ $(((10 + l) % 64)) -ne 0 ]; do h="$h "; l=$((l + 1)); done
    printf '\223NUMPY\001\000'"\\$(printf %03o $((l % 256)))\\$(printf %03o $((l / 256)))" >"$1"
    printf '%s\n' "$h" >>"$1"
    printf "$4" >>"$1"
}
npy_write "$T/bin.npy" '<f4' '(3, 1, 28, 28)' "$(cut -d, -f2- "$T/bin8.csv" | tr ',' '\n' | sed 's/^255$/\\000\\000\\200\\077/; s/^0$/\\000\\000\\000\\000/' | tr -d '\n')"
npy_write "$T/lab.npy" '|u1' '(3,)' "$(cut -d, -f1 "$T/bin8.csv" | while read -r v; do printf '\\%03o' "$v"; done)"
expect 0 "eval --data: 8-bit CSV" "$C" eval "$FF" --data "$T/bin8.csv" --json
mv "$T/out" "$T/e8.json"
expect 0 "eval --data: decimal CSV" "$C" eval "$FF" --data "$T/binf.csv" --json
sed 's/binf.csv/bin8.csv/' "$T/out" >"$T/ef.json"
check 'cmp -s "$T/e8.json" "$T/ef.json"' "a decimal CSV gives the 8-bit CSV's predictions"
expect 0 "eval --data: .npy with .npy labels" "$C" eval "$FF" --data "$T/bin.npy" --labels "$T/lab.npy" --json
sed 's/bin.npy/bin8.csv/; /"labels"/d' "$T/out" >"$T/en.json"
grep -v '"labels"' "$T/e8.json" >"$T/e8b.json"
check 'cmp -s "$T/e8b.json" "$T/en.json"' "a float32 .npy gives the 8-bit CSV's predictions"
notime() { sed 's/ ([0-9.]* ms)//; s/, [0-9.]* s, median.*//' "$@"; }
for f in bin8.csv binf.csv bin.npy; do
    lab=; [ "$f" = bin.npy ] && lab="--labels $T/lab.npy"
    # shellcheck disable=SC2086
    "$C" verify "$FF" --data "$T/$f" $lab --eps 0.02 --attack 0 >"$T/v-$f.out" 2>"$T/err"
    echo $? >>"$T/v-$f.out"
done
has "$T/v-bin8.csv.out" "^sample 0: label 7, robust" "verify --data on the binarised samples proves one"
check '{ notime "$T/v-binf.csv.out" >"$T/n2"; notime "$T/v-bin8.csv.out" | cmp -s - "$T/n2"; }' "verify --data: decimal CSV, same verdicts and margins as 8-bit"
check '{ notime "$T/v-bin.npy.out" >"$T/n3"; notime "$T/v-bin8.csv.out" | cmp -s - "$T/n3"; }' "verify --data: .npy, same verdicts and margins as 8-bit"
sed 's/,1.0/,2.5/' "$T/binf.csv" >"$T/big.csv"
expect 65 "verify --data refuses float data outside [0,1]" "$C" verify "$FF" --data "$T/big.csv" --eps 0.01
has_text "$T/err" "big.csv: sample 0, value 203 is '2.5': float data must lie in [0, 1]" "... naming the file, sample and value"
expect 65 "radius refuses it too (no vacuous radius on an empty ball)" "$C" radius "$FF" --data "$T/big.csv" --samples 1
expect 0 "eval --data takes float data outside [0,1]" "$C" eval "$FF" --data "$T/big.csv"
expect 65 "a .npy without labels" "$C" eval "$FF" --data "$T/bin.npy"
has_text "$T/err" "bin.npy: a .npy data file needs a labels file" "... says labels are needed"
printf '\223NUMPY\002\000' >"$T/trunc.npy"
expect 65 "a truncated .npy" "$C" eval "$FF" --data "$T/trunc.npy" --labels "$T/lab.npy"
has_text "$T/err" "trunc.npy: file ends early" "... names the file"
expect 64 "verify --data --cert with float data" "$C" verify "$FF" --data "$T/binf.csv" --eps 0.01 --cert "$T/f.cert"
has_text "$T/err" "--cert records 8-bit samples; this file holds float data" "... is refused with the reason"
# --mean/--std: the identity changes nothing; wrong counts and values refused
"$C" verify "$FF" --data "$T/bin8.csv" --eps 0.02 --attack 0 --mean 0 --std 1 >"$T/vid.out" 2>"$T/err"
echo $? >>"$T/vid.out"
check '{ notime "$T/vid.out" >"$T/n4"; notime "$T/v-bin8.csv.out" | cmp -s - "$T/n4"; }' "--mean 0 --std 1: the same verdicts and margins"
expect 0 "eval --data --mean/--std" "$C" eval "$FF" --data "$MN" --mean 0.1307 --std 0.3081
has "$T/out" "^accuracy: [0-9]+/100 " "... prints the accuracy"
expect 64 "--mean with two values on a one-channel network" "$C" verify "$FF" --data "$MN" --eps 0.01 --mean 0.1,0.2
has_text "$T/err" "--mean: 2 values, but the network's input has 1 channel: give one value" "... says how many"
expect 64 "--std 0" "$C" attack "$FF" --data "$MN" --eps 0.01 --std 0
has_text "$T/err" "--std: value 1: expected a positive number" "... is refused"
expect 64 "--std not a number" "$C" eval "$FF" --data "$MN" --std 0.3x
has_text "$T/err" "--std: value 1: expected a decimal number, got '0.3x'" "... names the value"
expect 64 "--mean with --vnnlib" "$C" verify "$FF" --vnnlib "$D/benchmarks/mnist_fc/vnnlib/prop_0_0.03.vnnlib" --mean 0.1
expect 64 "--mean with --cert" "$C" verify "$FF" --data "$MN" --eps 0.01 --mean 0.1 --cert "$T/m.cert"
has_text "$T/err" "--cert cannot record --mean/--std" "... is refused with the reason"
expect 1 "attack --data --mean/--std at a large eps" "$C" attack "$FF" --data "$MN" -n 2 --eps 0.3 --mean 0.1307 --std 0.3081 --timeout 5 --json
has "$T/out" '"verdict": "sat"' "... finds exactly confirmed counterexamples"

# '-' reads the model or the property from stdin (gzipped or not)
"$C" verify - --vnnlib "$TS/test_nano.vnnlib" -q <"$TS/test_nano.onnx" >"$T/out" 2>"$T/err"
check '[ $? -eq 0 ] && grep -qx unsat "$T/out"' "verify - (model on stdin) proves test_nano"
gzip -c "$TS/test_sat.onnx" | "$C" verify - --vnnlib "$TS/test_prop.vnnlib" -q >"$T/out" 2>"$T/err"
check '[ $? -eq 1 ] && grep -qx sat "$T/out"' "verify - (gzipped model on stdin) refutes test_sat"
"$C" verify "$TS/test_nano.onnx" --vnnlib - -q <"$TS/test_nano.vnnlib" >"$T/out" 2>"$T/err"
check '[ $? -eq 0 ] && grep -qx unsat "$T/out"' "verify --vnnlib - (property on stdin)"
"$C" attack - --vnnlib "$TS/test_prop.vnnlib" --seed 3 <"$TS/test_sat.onnx" >"$T/out" 2>"$T/err"
check '[ $? -eq 1 ]' "attack - (model on stdin) finds the counterexample"
expect 64 "model and property both on stdin" "$C" verify - --vnnlib - </dev/null
has_text "$T/err" "the model and --vnnlib cannot both be read from stdin" "... is refused"
expect 64 "--cert with a model on stdin" "$C" verify - --vnnlib "$TS/test_nano.vnnlib" --cert "$T/s.cert" <"$TS/test_nano.onnx"
has_text "$T/err" "--cert needs the model as a file, not stdin" "... is refused with the reason"
echo garbage | "$C" verify - --vnnlib "$TS/test_nano.vnnlib" >"$T/out" 2>"$T/err"
check '[ $? -eq 65 ] && grep -q "<stdin>: not an ONNX model" "$T/err"' "a bad model on stdin is named <stdin>"
printf '0.25\n-1.5\n' | "$C" eval "$TS/test_nano.onnx" --input - --exact >"$T/out" 2>"$T/err"
printf '0.25\n-1.5\n' >"$T/in.txt"
"$C" eval "$TS/test_nano.onnx" --input "$T/in.txt" --exact >"$T/out2" 2>>"$T/err"
check 'cmp -s "$T/out" "$T/out2" && [ -s "$T/out" ]' "eval --input - reads the inputs from stdin"

# --norm 2: L2 balls.  The L2 ball of radius eps lies inside the L-infinity
# ball of the same eps: at 0.1 the L-infinity balls are not proven but the L2
# balls are; at eps 1 PGD in L2 finds points, each exactly inside the ball.
"$C" verify "$FF" --data "$MN" --samples 10 --eps 0.1 --attack 0 >"$T/linf.out" 2>"$T/err"
expect 0 "verify --data --norm 2 at eps 0.02 proves every sample" "$C" verify "$FF" --data "$MN" --samples 10 --eps 0.02 --norm 2
has "$T/out" "^10 of 10 verified .*method crown \(L2 balls\)" "... and says the balls are L2"
"$C" verify "$FF" --data "$MN" --samples 10 --eps 0.1 --norm 2 >"$T/l2.out" 2>"$T/err"
kl2=$(grep -c ', robust,' "$T/l2.out")
kinf=$(grep -c ', robust,' "$T/linf.out")
check '[ "$kl2" -gt "$kinf" ]' "L2 balls at eps 0.1 proven more often than L-infinity ones ($kl2 > $kinf)"
expect 1 "verify --data --norm 2 at eps 1: PGD in L2 refutes a sample" "$C" verify "$FF" --data "$MN" --samples 1 --offset 2 --eps 1 --norm 2 --attack 20
has "$T/out" "not-robust" "... reported not-robust"
expect 1 "attack --data --norm 2 at eps 1" "$C" attack "$FF" --data "$MN" --samples 1 --offset 2 --eps 1 --norm 2 --timeout 0 --restarts 256 --seed 1 --json
has "$T/out" '"verdict": "sat"' "... finds a counterexample"
# the point is inside the L2 ball, checked here independently: the sum of
# (x_k - p_k/255)^2 over the first sample's 784 values (awk, in doubles with a
# margin well above their rounding) is at most 1
awk -v row="$(sed -n 3p "$MN")" 'BEGIN { n = split(row, p, ","); k = 0 }
    /"x": \[/ { on = 1; next } on && /\]/ { on = 0; exit }
    on { gsub(/[", ]/, ""); split($0, q, "/"); v = (q[2] == "" ? q[1] : q[1] / q[2]); d = v - p[k + 2] / 255; s += d * d; k++ }
    END { printf "%d %.17g\n", k, s }' "$T/out" >"$T/d2"
check 'read k s <"$T/d2" && [ "$k" -eq 784 ] && awk -v s="$s" "BEGIN { exit !(s <= 1 + 1e-9 && s > 0.5) }"' "the first counterexample lies in the L2 ball ($(cat "$T/d2"))"
expect 64 "attack --norm 2 --method fgsm" "$C" attack "$FF" --data "$MN" --eps 0.5 --norm 2 --method fgsm
has_text "$T/err" "--norm 2 goes with --data and --method pgd or deepfool" "... is refused"
expect 64 "--norm 2 with --complete" "$C" verify "$FF" --data "$MN" --eps 0.1 --norm 2 --complete
has_text "$T/err" "--norm 2 goes with --data and the bounds alone" "... is refused with the reason"
expect 64 "--norm 2 with --cert" "$C" verify "$FF" --data "$MN" --eps 0.1 --norm 2 --cert "$T/l2.cert"
expect 64 "--norm 1" "$C" verify "$FF" --data "$MN" --eps 0.1 --norm 1
has_text "$T/err" "--norm: expected inf or 2, got '1'" "... names the choices"

# '-' for standard output where a command writes a file: spec --write - puts the
# VNN-LIB on stdout (the summary on stderr), the same text as --write FILE; an
# output option without '-' support refuses it.
P3Z="$S/models/zoo/acasxu_prop3.vnnlib"
expect 0 "spec --write -" "$C" spec "$P3Z" --write -
cp "$T/out" "$T/stdout.vnnlib"
has_text "$T/err" "property: $P3Z" "spec --write -: the summary goes to stderr"
"$C" spec "$P3Z" --write "$T/file.vnnlib" >/dev/null 2>&1
check 'cmp -s "$T/stdout.vnnlib" "$T/file.vnnlib"' "spec --write - writes what --write FILE writes"
expect 0 "the property written on stdout reads back" "$C" spec "$T/stdout.vnnlib"
expect 64 "spec --write - with --json" "$C" spec "$P3Z" --write - --json
has_text "$T/err" "both want stdout" "... says why"
expect 73 "verify --cert - (a certificate needs a file)" "$C" verify "$ACAS" --vnnlib "$P3Z" --cert -
has_text "$T/err" "--cert: '-' (standard output) is not supported here" "... says so"

tap_end cli

#!/bin/sh
# train.sh — `certnn train` from the command line (refused arguments with
# their messages, a small --limit run that loads and classifies, determinism
# of the written file) and the shipped Fashion-MNIST models of models/zoo:
# they load, their test accuracy is the one models/zoo/README.md states, and
# on the first 100 test images the IBP model's median certified radius is at
# least twice the plain model's and the PGD model's PGD accuracy is higher.
# Prints "ok N - what" / "not ok N - what" lines and exits non-zero on any failure.
set -u
. "${CN_SRCDIR:-.}/tests/tap.sh"
export OPENBLAS_NUM_THREADS=1

F=/usr/share/datasets/fashion-mnist
if [ ! -r "$F/train-images-idx3-ubyte.gz" ]; then
    echo "1..0 # SKIP $F missing (Debian package dataset-fashion-mnist; ./bootstrap deps)"
    exit 77
fi
TR="--data $F/train-images-idx3-ubyte.gz --labels $F/train-labels-idx1-ubyte.gz"
TE="--data $F/t10k-images-idx3-ubyte.gz --labels $F/t10k-labels-idx1-ubyte.gz"
A="--arch 784-32-10"

# ---- refused arguments
expect 64 "train without --out" "$C" train $TR $A
has_text "$T/err" "train: missing --out MODEL.onnx (--data, --arch and --out are required" "message names the missing option"
expect 64 "a malformed --arch" "$C" train $TR --arch 784-x-10 --out "$T/m.onnx"
has_text "$T/err" "--arch '784-x-10': expected widths like 784-100-100-10" "message quotes the bad --arch"
expect 64 "an --arch with commas" "$C" train $TR --arch 784,10 --out "$T/m.onnx"
has_text "$T/err" "--arch '784,10': unexpected ','" "message names the bad separator"
expect 64 "an --arch of one width" "$C" train $TR --arch 784 --out "$T/m.onnx"
has_text "$T/err" "need at least an input and an output width" "message asks for two widths"
expect 64 "an input width that does not match the data" "$C" train $TR --arch 100-10 --limit 10 --out "$T/m.onnx"
has_text "$T/err" "--arch 100-10: the input width 100 does not match" "message names both sizes"
has_text "$T/err" "whose samples have 784 values" "message gives the data's size"
expect 64 "too few outputs for the labels" "$C" train $TR --arch 784-5 --limit 100 --out "$T/m.onnx"
has_text "$T/err" "--arch 784-5: 5 outputs, but sample" "message names the label"
expect 64 "an unknown defense" "$C" train $TR $A --defense trades --out "$T/m.onnx"
has_text "$T/err" "--defense: expected none, fgsm, pgd or ibp, got 'trades'" "message lists the defenses"
expect 64 "eps out of range" "$C" train $TR $A --defense pgd --eps 2 --out "$T/m.onnx"
has_text "$T/err" "--eps: 2 is out of range [0, 1]" "message gives the range"
expect 64 "eps 0 with a defense" "$C" train $TR $A --defense ibp --eps 0 --out "$T/m.onnx"
has_text "$T/err" "--eps: --defense ibp needs a positive radius" "message asks for a positive radius"
expect 64 "an unknown optimizer" "$C" train $TR $A --optimizer rmsprop --out "$T/m.onnx"
has_text "$T/err" "--optimizer: expected adam or sgd, got 'rmsprop'" "message lists the optimizers"
expect 64 "the ramp ending before the warm-up" "$C" train $TR $A --defense ibp --warmup 0.5 --ramp-end 0.2 --out "$T/m.onnx"
expect 66 "unreadable --data" "$C" train --data "$T/none.gz" --labels "$T/none-labels.gz" $A --out "$T/m.onnx"
has_text "$T/err" "none.gz" "message names the data file"
expect 73 "an --out in a missing directory" "$C" train $TR $A --out "$T/no/such/dir/m.onnx"
has_text "$T/err" "--out: cannot write '$T/no/such/dir/m.onnx': folder '$T/no/such/dir' does not exist" "message names --out"
check '[ ! -e "$T/m.onnx" ]' "no model written by a refused command"

# ---- a small run
expect 0 "train 784-32-10 on 3000 samples, 3 epochs" "$C" train $TR $A --limit 3000 --epochs 3 --seed 4 --out "$T/m.onnx"
has_text "$T/out" "wrote $T/m.onnx: 784-32-10, defense none, 25450 parameters, float32" "summary on stdout"
has_text "$T/out" "training time: " "training time reported"
check '[ "$(grep -c "^certnn: epoch [1-3]/3  loss [0-9.]*  train acc [0-9.]*%" "$T/err")" -eq 3 ]' \
    "one progress line per epoch on stderr"
expect 0 "certnn info reads the model" "$C" info "$T/m.onnx"
expect 0 "certnn eval --data on 1000 test images" "$C" eval "$T/m.onnx" $TE --samples 1000
acc=$(sed -n 's|^accuracy: \([0-9]*\)/1000 .*|\1|p' "$T/out")
check '[ "${acc:-0}" -ge 600 ]' "test accuracy of the small model ($acc/1000) is well above chance"
expect 0 "the same command again" "$C" train $TR $A --limit 3000 --epochs 3 --seed 4 --out "$T/m2.onnx" -q
check 'cmp -s "$T/m.onnx" "$T/m2.onnx"' "the same seed writes a bit-identical file"
check '[ ! -s "$T/err" ]' "--quiet prints nothing on stderr"
expect 0 "another seed" "$C" train $TR $A --limit 3000 --epochs 3 --seed 5 --out "$T/m3.onnx" -q
check '! cmp -s "$T/m.onnx" "$T/m3.onnx"' "another seed writes a different file"
for d in fgsm pgd ibp; do
    expect 0 "train with --defense $d on 500 samples" "$C" train $TR $A --limit 500 --epochs 2 --defense $d --eps 0.05 --out "$T/$d.onnx"
    has_text "$T/out" "defense $d (eps 0.05)" "the $d summary names the defense"
done
has_text "$T/err" "ibp-verified" "ibp progress reports the verified fraction"
check '! ls "$T" | grep -q "\.tmp\."' "no temporary files left"

# ---- the shipped models
Z="$S/models/zoo"
for m in plain fgsm pgd ibp; do
    f="$Z/fmnist_$m.onnx"
    expect 0 "models/zoo/fmnist_$m.onnx loads" "$C" info "$f"
    has_text "$T/out" "89610" "fmnist_$m has 89,610 parameters"
    doc=$(grep "^| \`fmnist_$m.onnx\`" "$Z/README.md" | grep -o '[0-9]*/10000' | head -1)
    expect 0 "fmnist_$m on the 10,000 test images" "$C" eval "$f" $TE
    got=$(sed -n 's|^accuracy: \([0-9]*/10000\) .*|\1|p' "$T/out")
    check '[ -n "$doc" ] && [ "$got" = "$doc" ]' "fmnist_$m test accuracy $got is the README's ${doc:-(none)}"
done

# The claims on the first 100 test images (as benchmarks/bench_defenses.sh).
R="--samples 100 --max-eps 0.25 --tol 0.002 --attack-time 0.5 --attack-restarts 16 -j 1 -q --json"
med() { sed -n 's/^ *"median_certified": \([0-9.e+-]*\),\{0,1\}$/\1/p' "$1"; }
"$C" radius "$Z/fmnist_plain.onnx" $TE $R > "$T/rp.json"
"$C" radius "$Z/fmnist_ibp.onnx" $TE $R > "$T/ri.json"
rp=$(med "$T/rp.json")
ri=$(med "$T/ri.json")
check 'awk -v a="${ri:-0}" -v b="${rp:-1}" "BEGIN { exit !(a >= 2 * b && a > 0) }"' \
    "median certified radius: IBP ${ri:-?} >= 2 x plain ${rp:-?}"
"$C" compare "$Z/fmnist_plain.onnx" "$Z/fmnist_pgd.onnx" $TE --samples 100 --eps 0.03 --out "$T/cmp" -q -j 1 >/dev/null
pp=$(awk -F, '$1 == "fmnist_plain" { print $9 }' "$T/cmp.csv")
pq=$(awk -F, '$1 == "fmnist_pgd" { print $9 }' "$T/cmp.csv")
check 'awk -v a="${pq:-0}" -v b="${pp:-1}" "BEGIN { exit !(a > b) }"' \
    "PGD accuracy at eps 0.03: PGD-trained ${pq:-?} > plain ${pp:-?}"

tap_end train

#!/bin/sh
# bench_defenses.sh — the defenses lab: retrains the four Fashion-MNIST models
# of models/zoo (plain, FGSM, PGD, IBP) from their documented commands, says
# whether each retrained file is bit-identical to the shipped one, and
# reports per defense on the first N test images: clean accuracy, PGD
# accuracy and certified accuracy at each eps (`certnn compare`, DeepPoly
# bounds), the median certified and attacked L-inf radius (`certnn radius`)
# and the training time.  A table on stdout and OUT/defenses.csv.
#
# Usage (from the top of the build tree):
#     benchmarks/bench_defenses.sh [--no-train] [--samples N] [--eps E1,E2,...]
#                                  [--out DIR] [--certnn PATH]
# --no-train evaluates the shipped models only (training time: the figure
# documented in models/zoo/README.md).  Defaults: N = 100, eps 0.03,0.1,
# OUT = ./bench-defenses, ./certnn.  Training takes about six minutes on one
# core; the evaluation about two.  Exit 1 when a claim of models/zoo/README.md
# fails: the IBP model's median certified radius must be at least twice the
# plain model's, and the PGD model's PGD accuracy must exceed the plain
# model's at every eps.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
CERTNN=./certnn
TRAIN=1
N=100
EPS=0.03,0.1
OUT=./bench-defenses
while [ $# -gt 0 ]; do
    case $1 in
    --no-train) TRAIN=0 ;;
    --samples) N=$2; shift ;;
    --eps) EPS=$2; shift ;;
    --out) OUT=$2; shift ;;
    --certnn) CERTNN=$2; shift ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench_defenses.sh: unknown argument '$1' (see --help)" >&2; exit 64 ;;
    esac
    shift
done
F=/usr/share/datasets/fashion-mnist
[ -r "$F/t10k-images-idx3-ubyte.gz" ] ||
    { echo "bench_defenses.sh: $F missing (Debian package dataset-fashion-mnist)" >&2; exit 66; }
TEST="--data $F/t10k-images-idx3-ubyte.gz --labels $F/t10k-labels-idx1-ubyte.gz"
ZOO=$SRC/models/zoo
mkdir -p "$OUT"
export OPENBLAS_NUM_THREADS=1

# The documented training commands (models/zoo/README.md), one per defense:
# name|certnn train arguments (data, arch, defense, eps, epochs, seed)
ARCH="--arch 784-100-100-10 --epochs 20 --seed 1"
DATA="--data $F/train-images-idx3-ubyte.gz --labels $F/train-labels-idx1-ubyte.gz"
MODELS="plain|--defense none
fgsm|--defense fgsm --eps 0.1
pgd|--defense pgd --eps 0.1
ibp|--defense ibp --eps 0.1"

# Training time of the shipped model, from the zoo README's table row.
documented_time() {
    grep "^| \`fmnist_$1.onnx\` | .* s |$" "$ZOO/README.md" | head -1 | awk -F'|' '{ print $(NF-1) }' |
        sed 's/[^0-9.]//g'
}

paths=""
: > "$OUT/runs.txt.tmp"
echo "$MODELS" > "$OUT/models.txt"
while IFS='|' read -r name args; do
    shipped=$ZOO/fmnist_$name.onnx
    if [ "$TRAIN" = 1 ]; then
        model=$OUT/fmnist_$name.onnx
        # shellcheck disable=SC2086
        "$CERTNN" train $DATA $ARCH $args --out "$model" -q > "$OUT/train_$name.txt" < /dev/null
        secs=$(sed -n 's/^training time: \([0-9.]*\) s$/\1/p' "$OUT/train_$name.txt")
        if cmp -s "$model" "$shipped"; then same=identical; else same=differs; fi
        echo "trained $name in $secs s: $same to the shipped models/zoo/fmnist_$name.onnx" >&2
    else
        model=$shipped
        secs=$(documented_time "$name")
        same=shipped
    fi
    echo "$name|$model|$secs|$same" >> "$OUT/runs.txt.tmp"
    paths="$paths $model"
done < "$OUT/models.txt"
mv "$OUT/runs.txt.tmp" "$OUT/runs.txt"

# Clean, certified and PGD accuracy at each eps (exit 0; the CSV is the data).
# shellcheck disable=SC2086
"$CERTNN" compare $paths $TEST --samples "$N" --eps "$EPS" --out "$OUT/compare" -q -j 1 > /dev/null

# Radii: certified (DeepPoly, the default) and attacked (DeepFool + PGD), median over N samples.
while IFS='|' read -r name model secs same; do
    # shellcheck disable=SC2086
    "$CERTNN" radius "$model" $TEST --samples "$N" --max-eps 0.25 --tol 0.002 \
        --attack-time 0.5 --attack-restarts 16 -j 1 -q --json > "$OUT/radius_$name.json" < /dev/null
done < "$OUT/runs.txt"

median() { sed -n "s/^ *\"median_$2\": \([0-9.e+-]*\|null\),\{0,1\}$/\1/p" "$OUT/radius_$1.json"; }

CSV=$OUT/defenses.csv
epss=$(echo "$EPS" | tr ',' ' ')
{
    printf 'defense,samples,clean_acc'
    for e in $epss; do printf ',pgd_acc_%s,certified_acc_%s' "$e" "$e"; done
    printf ',median_certified_radius,median_attacked_radius,train_time_s,retrained\n'
} > "$CSV"
while IFS='|' read -r name model secs same; do
    stem=$(basename "$model" .onnx)
    clean=$(awk -F, -v m="$stem" 'NR > 1 && $1 == m { print $7; exit }' "$OUT/compare.csv")
    row="$name,$N,$clean"
    for e in $epss; do
        row="$row,$(awk -F, -v m="$stem" -v e="$e" 'NR > 1 && $1 == m && $2 == e { print $9 "," $8 }' "$OUT/compare.csv")"
    done
    echo "$row,$(median "$name" certified),$(median "$name" attacked),$secs,$same" >> "$CSV"
done < "$OUT/runs.txt"

# The table (Markdown) on stdout.
echo "Fashion-MNIST, first $N test images; accuracies in %, radii in input units (pixel/255)."
echo "certified: DeepPoly bounds; PGD: 64 restarts, <= 2 s per image and eps; radius: grid step 0.002 up to 0.25"
echo
awk -F, '
NR == 1 { n = NF; for (i = 1; i <= NF; i++) h[i] = $i
          printf "| defense | clean %%"
          for (i = 4; i <= n - 4; i += 2) { e = h[i]; sub("pgd_acc_", "", e); printf " | PGD %% @%s | certified %% @%s", e, e }
          printf " | median certified radius | median attacked radius | training s | retrained |\n"
          printf "| ---"; for (i = 3; i <= n; i++) printf " | ---"; printf " |\n"; next }
{ printf "| %s | %.1f", $1, 100 * $3
  for (i = 4; i <= n - 4; i += 2) printf " | %.1f | %.1f", 100 * $i, 100 * $(i + 1)
  printf " | %.4f | %.4f | %s | %s |\n", $(n - 3), $(n - 2), $(n - 1), $n }' "$CSV"
echo
echo "CSV: $CSV; compare tables and plot: $OUT/compare.{md,csv,json,png,svg}"

# The claims.
fail=0
col() { awk -F, -v d="$1" -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next }
                                      $1 == d { print $k }' "$CSV"; }
rp=$(col plain median_certified_radius)
ri=$(col ibp median_certified_radius)
if awk -v a="$ri" -v b="$rp" 'BEGIN { exit !(a >= 2 * b && a > 0) }'; then
    echo "ok: median certified radius IBP $ri >= 2 x plain $rp"
else
    echo "FAILED: median certified radius IBP $ri is not >= 2 x plain $rp"; fail=1
fi
for e in $epss; do
    pp=$(col plain "pgd_acc_$e")
    pq=$(col pgd "pgd_acc_$e")
    if awk -v a="$pq" -v b="$pp" 'BEGIN { exit !(a > b) }'; then
        echo "ok: PGD accuracy at eps $e: PGD-trained $pq > plain $pp"
    else
        echo "FAILED: PGD accuracy at eps $e: PGD-trained $pq is not > plain $pp"; fail=1
    fi
done
exit $fail

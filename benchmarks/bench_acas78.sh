#!/bin/sh
# bench_acas78.sh BUILDDIR [SHARED] [THREADS]
# The ACAS Xu slice of 78 instances that ../shared/reference/README.md compares
# complete verifiers on (properties 1-4 on networks 1_1..2_9, plus the six
# property 5-10 instances; 60 s timeout, 2 cores): the instance list is taken
# from the reference's own per-instance file, run with benchmarks/bench_complete
# (per-instance verdict, time, nodes; counts; incorrect verdicts exit 1), and
# the reference tools' figures from the same file are printed beside ours.
set -eu
b=${1:?usage: bench_acas78.sh BUILDDIR [SHARED] [THREADS]}
shared=${2:-$(dirname "$0")/../../shared}
threads=${3:-2}
ref=$shared/reference/complete/acasxu78_abcrown_cpu.csv
nnref=$shared/reference/complete/acasxu78_nnenum_marabou.csv
suite=$shared/benchmarks/acasxu
for f in "$ref" "$nnref" "$suite/instances.csv" "$b/benchmarks/bench_complete"; do
    [ -e "$f" ] || { echo "bench_acas78: $f: not found" >&2; exit 66; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# reference rows: onnx,vnnlib,result,abcrown_status,time_s -> the suite's instance lines
tail -n +2 "$ref" | while IFS=, read -r onnx prop _rest; do
    line=$(grep -F "onnx/$onnx,vnnlib/$prop," "$suite/instances.csv") ||
        { echo "bench_acas78: $onnx $prop: not in $suite/instances.csv" >&2; exit 65; }
    echo "$line"
done >"$tmp/instances.csv"
n=$(wc -l <"$tmp/instances.csv")
[ "$n" -eq 78 ] || { echo "bench_acas78: expected 78 instances, found $n" >&2; exit 65; }
"$b/benchmarks/bench_complete" "$suite" --instances "$tmp/instances.csv" --max-timeout 60 \
    --threads "$threads"
echo "reference (same slice, 60 s, 2 cores; $shared/reference/README.md):"
awk -F, 'NR > 1 && ($4 == "safe" || $4 ~ /unsafe/) { n++; t += $5 }
         END { printf "  alpha,beta-CROWN (CPU): %d solved, %.1f s on solved\n", n, t }' "$ref"
awk -F, 'NR > 1 { if ($2 == "sat" || $2 == "unsat") { n++; t += $3 }
                  if ($6 == "sat" || $6 == "unsat") { m++; u += $7 } }
         END { printf "  nnenum (2 processes, quiet rerun): %d solved, %.1f s on solved\n", n, t;
               printf "  Marabou (1 thread): %d solved, %.1f s on solved\n", m, u }' "$nnref"

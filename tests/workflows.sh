#!/bin/sh
# workflows.sh — `certnn radius`, `compare` and `bench` from the command line:
# output files, exit codes, expected results, baselines and interruption.
# Prints "ok N - what" / "not ok N - what" lines and exits non-zero on any failure.
set -u
. "${CN_SRCDIR:-.}/tests/tap.sh"
# png FILE: the 8-byte PNG signature
png() { [ "$(od -An -tx1 -N8 "$1" 2>/dev/null | tr -d ' \n')" = "89504e470d0a1a0a" ]; }
# results_ok FILE: a results CSV whose every row has 11 fields, a known verdict, a time
# and the timing (five phase times and nodes per second)
results_ok() {
    awk -F, 'NR == 1 { if ($0 != "onnx,vnnlib,verdict,time_s,nodes,attack_s,bounds_s,optimise_s,lp_s,branch_s,nodes_per_second") exit 1; next }
             NF != 11 || $3 !~ /^(sat|unsat|timeout|unknown|error)$/ || $4 !~ /^[0-9.]+$/ { exit 1 }
             { for (i = 6; i <= 11; i++) if ($i !~ /^[0-9.]+$/) exit 1 }
             END { if (NR < 1) exit 1 }' "$1"
}

FF="$D/benchmarks/eran/onnx/FFNNSmall.onnx"
M6="$D/benchmarks/eran/onnx/mnist_6_100_nat.onnx"
MN="$D/benchmarks/data/mnist_test.csv"
TS="$D/benchmarks/test"
FAST="--attack-time 0.5 --attack-restarts 16"

# ---- radius
expect 0 "radius on FFNNSmall, 3 samples" "$C" radius "$FF" --data "$MN" --samples 3 --tol 0.004 $FAST --json --csv "$T/r.csv" -q
has "$T/out" '"median_certified": 0\.0' "radius --json summary has median_certified"
has "$T/out" '"median_attacked": 0\.' "radius --json summary has median_attacked"
check '[ "$(grep -c "\"certified_exact\"" "$T/out")" -eq 3 ]' "radius reports 3 samples"
check 'awk -F, "NR > 1 { if (\$5 != \"inf\" && \$4 + 0 > \$5 + 0) exit 1; k++ } END { exit k != 3 }" "$T/r.csv"' \
    "radius CSV: 3 rows, certified <= attacked in each"
check 'awk -F, "NR > 1 && \$4 + 0 <= 0 { exit 1 }" "$T/r.csv"' "radius certifies a positive radius on each sample"
expect 0 "radius text output" "$C" radius "$FF" --data "$MN" --samples 1 --offset 2 --tol 0.004 $FAST
has "$T/out" "^  certified: median" "radius text summary"
expect 64 "radius with a bad --method" "$C" radius "$FF" --data "$MN" --method sideways
expect 64 "radius with a bad --max-eps" "$C" radius "$FF" --data "$MN" --max-eps 1/3
expect 64 "radius without --data" "$C" radius "$FF"

# ---- compare
expect 0 "compare two networks, 3 samples, 2 eps" "$C" compare "$FF" "$M6" --data "$MN" --samples 3 --eps 0.02,0.005 $FAST --out "$T/cmp" -q
for ext in md csv json png svg; do
    check '[ -s "$T/cmp.$ext" ]' "compare wrote cmp.$ext"
done
check 'png "$T/cmp.png"' "cmp.png starts with the PNG signature"
has "$T/cmp.svg" "<svg" "cmp.svg is SVG"
has "$T/cmp.md" '^\| FFNNSmall \| 0\.005 \| 3 \|' "the Markdown table has FFNNSmall at eps 0.005 (sorted)"
has "$T/cmp.md" '^\| mnist_6_100_nat \| 0\.02 \|' "the Markdown table has the second model"
check '[ "$(wc -l <"$T/cmp.csv")" -eq 5 ]' "compare CSV: header + 2 models x 2 eps"
check 'awk -F, "NR > 1 && (\$5 > \$6 || \$6 > \$4) { exit 1 }" "$T/cmp.csv"' \
    "compare CSV: certified <= PGD-robust <= clean in each row"
has "$T/cmp.json" '"models"' "compare JSON has the models"
ls "$T" | grep -q '\.tmp\.' && nok "no temporary files left" || ok "no temporary files left"
expect 64 "compare without --out" "$C" compare "$FF" --data "$MN" --eps 0.01
expect 64 "compare with a bad eps list" "$C" compare "$FF" --data "$MN" --eps 0.01,,0.02 --out "$T/x"

# ---- bench
expect 0 "bench on the test suite" "$C" bench "$TS" --out "$T/res.csv"
has "$T/out" "5 of 5 instances: solved 5 \(sat 1, unsat 4\).* incorrect 0" "bench reproduces the expected results"
has "$T/out" "^score 50 " "bench score 50"
check 'results_ok "$T/res.csv" && [ "$(wc -l <"$T/res.csv")" -eq 6 ]' "bench results CSV: 5 valid rows"
expect 0 "bench against its own results as baseline" "$C" bench "$TS" --baseline "$T/res.csv" -q
has "$T/out" "0 regressions" "no regression against itself"
sed 's/^test_unsat.onnx,test_prop.vnnlib,unsat/test_unsat.onnx,test_prop.vnnlib,sat/' "$T/res.csv" >"$T/corrupt.csv"
expect 1 "bench against a corrupted baseline exits 1" "$C" bench "$TS" --baseline "$T/corrupt.csv" -q
has "$T/out" "regression: test_unsat.onnx test_prop.vnnlib: sat in the baseline, now unsat" "the regression is named"
printf 'onnx,vnnlib,verdict,time_s,nodes\ntest_nano.onnx,test_nano.vnnlib\n' >"$T/broken.csv"
expect 65 "bench with a malformed baseline" "$C" bench "$TS" --baseline "$T/broken.csv" -q
has "$T/err" "broken.csv:2" "the malformed line is named"
# A suite whose expected results are wrong: the verdict is reported incorrect.
mkdir "$T/suite"
for f in "$TS"/*.onnx "$TS"/*.vnnlib "$TS"/instances.csv; do ln -s "$f" "$T/suite/"; done
sed 's/^test_sat.onnx,test_prop.vnnlib,sat/test_sat.onnx,test_prop.vnnlib,unsat/' "$TS/expected_results.csv" >"$T/suite/expected_results.csv"
expect 1 "bench exits 1 on an incorrect verdict" "$C" bench "$T/suite" -q
has "$T/out" "incorrect 1" "one incorrect verdict counted"
has "$T/out" "^score -60 " "score 4 x 10 - 100"
expect 66 "bench on a missing suite" "$C" bench "$T/nope"

# ---- interruption: SIGINT during a longer suite leaves a valid partial results file
"$C" bench "$D/benchmarks/acasxu" --max-timeout 5 --out "$T/part.csv" -q >"$T/kout" 2>"$T/kerr" &
pid=$!
i=0
while [ $i -lt 60 ] && ! [ -s "$T/part.csv" ]; do sleep 0.1; i=$((i + 1)); done
sleep 2
kill -INT $pid
wait $pid
rc=$?
check '[ "$rc" -eq 130 ]' "bench interrupted by SIGINT exits 130 (got $rc)"
check 'results_ok "$T/part.csv"' "the partial results file is a valid results CSV"
rows=$(($(wc -l <"$T/part.csv") - 1))
check '[ "$rows" -ge 1 ] && [ "$rows" -lt 186 ]' "the partial results file holds $rows of 186 instances"
has "$T/kerr" "interrupted by signal 2" "the interruption is reported"
ls "$T" | grep -q '\.tmp\.' && nok "no temporary file after the kill" || ok "no temporary file after the kill"

# ---- radius: bounds that are not monotone in eps, several bound methods
# (Fashion-MNIST test image 1 on the IBP model: CROWN proves 0.25 but not 0.11)
FM=/usr/share/datasets/fashion-mnist
FMD="--data $FM/t10k-images-idx3-ubyte.gz --labels $FM/t10k-labels-idx1-ubyte.gz"
IBP="$S/models/zoo/fmnist_ibp.onnx"
expect 0 "radius with CROWN on fmnist_ibp image 1" "$C" radius "$IBP" $FMD --offset 1 --samples 1 --bounds crown $FAST -q --csv "$T/r1.csv"
has "$T/out" "^sample 1: label 2, certified 0\.25 \(crown\)" "radius reports 0.25, proven by CROWN above its first failure"
check 'awk -F, "NR == 1 { ok = \$10 == \"certified_by\" && \$11 == \"probes_scan\" } NR == 2 { ok = ok && \$4 == \"0.25\" && \$10 == \"crown\" && \$11 >= 1 } END { exit !ok }" "$T/r1.csv"' \
    "radius CSV: certified_by crown and the scan's probes"
expect 0 "radius with the bisection alone (--scan 0)" "$C" radius "$IBP" $FMD --offset 1 --samples 1 --bounds crown --scan 0 $FAST -q --json
check 'grep -q "\"certified_exact\": \"0\.10" "$T/out" && grep -q "\"probes_scan\": 0" "$T/out"' \
    "without the scan radius stops below 0.11"
expect 0 "radius with the default bounds" "$C" radius "$IBP" $FMD --offset 1 --samples 1 $FAST -q --json
check 'grep -q "\"certified_exact\": \"0\.25\"" "$T/out" && grep -q "\"certified_by\": \"deeppoly\"" "$T/out" && grep -q "\"bounds\": \"deeppoly\"" "$T/out"' \
    "radius --json: certified 0.25 by deeppoly, the default bounds named"
expect 0 "radius with two bound methods" "$C" radius "$IBP" $FMD --offset 2 --samples 1 --tol 0.004 --bounds deeppoly,alpha $FAST -q --json
has "$T/out" '"certified_by": "(deeppoly|alpha)"' "radius --json: the method that proved the certified radius"
expect 64 "radius with a repeated bound method" "$C" radius "$IBP" $FMD --bounds crown,crown
has "$T/err" "--bounds: expected a comma-separated list" "the bad --bounds list is named"
expect 64 "radius with a negative --scan" "$C" radius "$IBP" $FMD --scan -1

# ---- compare: model labels, partial results, duplicate eps
expect 0 "compare with --name and a repeated eps" "$C" compare "$FF" "$M6" --data "$MN" --samples 2 --eps 0.01,0.005,0.010 --name small,six_100 $FAST --out "$T/cn" --json
has "$T/err" "note: --eps: 0\.010 \(= 0\.01\) given more than once" "the repeated eps is noted"
check '[ "$(wc -l <"$T/cn.csv")" -eq 5 ]' "compare CSV: header + 2 models x 2 distinct eps"
has "$T/cn.md" '^\| small \| 0\.005 \| 2 \|.*\| complete \|$' "the table names the first model by --name"
has "$T/cn.md" '^\| six_100 \| 0\.01 \|' "the table names the second model by --name"
check '! grep -q "FFNNSmall\|mnist_6_100_nat |" "$T/cn.md"' "the file names are not the labels"
has "$T/cn.json" '"eps_duplicates": \[' "compare JSON lists the dropped duplicates"
has "$T/cn.json" '"0\.010 \(= 0\.01\)"' "compare JSON names the duplicate"
check 'awk -F, "NR > 1 && \$11 != 0 { exit 1 }" "$T/cn.csv"' "compare CSV: no partial row"
expect 64 "compare with too few names" "$C" compare "$FF" "$M6" --data "$MN" --eps 0.01 --name one --out "$T/x"
has "$T/err" "--name: expected 2 comma-separated names \(one per model, in order\), got 1" "the name count is named"
expect 64 "compare with an empty name" "$C" compare "$FF" "$M6" --data "$MN" --eps 0.01 --name one, --out "$T/x"
# a model that fails (5 inputs, the samples have 784): its row is partial, the other one complete
AX="$D/benchmarks/acasxu/onnx/ACASXU_run2a_1_1_batch_2000.onnx"
expect 65 "compare with a model that does not fit the data" "$C" compare "$FF" "$AX" --data "$MN" --samples 2 --eps 0.01 $FAST --out "$T/ce" -q
check '[ -s "$T/ce.md" ] && [ -s "$T/ce.png" ] && [ -s "$T/ce.json" ]' "the outputs are written all the same"
check 'awk -F, "\$1 == \"FFNNSmall\" && \$11 == 0 { a++ } \$1 ~ /ACASXU/ && \$11 == 1 { b++ } END { exit !(a == 1 && b == 1) }" "$T/ce.csv"' \
    "compare CSV: partial 1 for the failed model, 0 for the other"
has "$T/ce.md" '^\| ACASXU_run2a_1_1_batch_2000 \| 0\.01 \| 0 \|.*\*\*partial\*\*: 0 of 2 samples, stopped by an error' "the table marks the failed model partial"
has "$T/ce.md" 'error: .*network takes 5 inputs' "the table gives the model's error"
has "$T/ce.json" '"partial": true' "compare JSON: partial"
has "$T/ce.json" '"error": ".*takes 5 inputs' "compare JSON: the error"
# interrupted during the first model: it is partial, the second one has no samples
"$C" compare "$FF" "$M6" --data "$MN" --samples 100 --eps 0.02,0.03 --attack-time 0.5 --attack-restarts 16 --out "$T/ci" -q >"$T/cout" 2>"$T/cerr" &
pid=$!
sleep 2
kill -INT $pid
wait $pid
rc=$?
check '[ "$rc" -eq 130 ]' "compare interrupted by SIGINT exits 130 (got $rc)"
has "$T/ci.json" '"interrupted": true' "compare JSON: interrupted"
has "$T/ci.md" '^\| FFNNSmall \| 0\.02 \| [0-9]+ \|.*\*\*partial\*\*: [0-9]+ of 100 samples, interrupted' "the interrupted model is marked partial"
has "$T/ci.md" '^\| mnist_6_100_nat \| 0\.02 \| 0 \|.*\*\*partial\*\*: 0 of 100 samples' "the model not reached is marked partial"
check 'awk -F, "NR > 1 && \$11 != 1 { exit 1 }" "$T/ci.csv"' "compare CSV: every row partial"
check 'png "$T/ci.png"' "the plot of the partial run is written"

tap_end workflows

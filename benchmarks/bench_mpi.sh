#!/bin/sh
# bench_mpi.sh — certnn-mpi (Open MPI) on this machine:
#   suite     the ACAS Xu suite (186 instances) with `certnn bench` (one process) and with
#             `mpirun -np 1 | 2 | --oversubscribe -np 4 certnn-mpi bench`: wall time of
#             each, and the verdicts compared with certnn bench's, instance by instance;
#   bab       hard single ACAS Xu instances with `certnn verify` and `mpirun -np 1 | 2
#             certnn-mpi verify`: wall time, nodes, subproblems, frontier and
#             subproblem time (the per-node costs of the scaling estimate);
#   overhead  the cost of handing out one task: `certnn-mpi bench` on 400 trivial
#             instances (test_nano, ~1 ms each) with 1 and 2 ranks.
# Every engine runs 1 thread per rank (--threads 1), so ranks are the only parallelism.
#
# Usage: benchmarks/bench_mpi.sh [PART...]      (default: suite bab overhead)
# Environment: CN_BUILD (default .: certnn and certnn-mpi), CN_SHARED (default ../shared),
#   CN_MAX_TIMEOUT (suite cap per instance, default 20 s), CN_BAB_TIMEOUT (default 120 s),
#   CN_OUT (directory for the CSVs and logs, default ./bench_mpi.out), MPIRUN (mpirun).
set -u
if [ "$(id -u)" -eq 0 ]; then  # Open MPI refuses root unless told twice
    OMPI_ALLOW_RUN_AS_ROOT=1
    OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    export OMPI_ALLOW_RUN_AS_ROOT OMPI_ALLOW_RUN_AS_ROOT_CONFIRM
fi
B=${CN_BUILD:-.}
D=${CN_SHARED:-../shared}/benchmarks
CAP=${CN_MAX_TIMEOUT:-20}
BTO=${CN_BAB_TIMEOUT:-120}
OUT=${CN_OUT:-./bench_mpi.out}
# not bound to cores: on a shared machine a rank bound to a busy core starves
MPIRUN="${MPIRUN:-mpirun} --oversubscribe --bind-to none"
mkdir -p "$OUT" || exit 1
[ $# -eq 0 ] && set -- suite bab overhead
for x in "$B/certnn" "$B/certnn-mpi"; do
    [ -x "$x" ] || { echo "bench_mpi: $x not found (configure found MPI? build first)" >&2; exit 66; }
done

now() { date +%s.%N; }
sub() { echo "$1 $2" | awk '{printf "%.1f", $1 - $2}'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "# bench_mpi: $(nproc) cores, $(mpirun --version 2>/dev/null | head -1), load $(load) at $(date -u +%H:%M)"

# compare REF GOT: instances of REF with the same verdict in GOT / differing with a
# timeout on one side / sat against unsat (must be 0) / missing in GOT
compare() {
    awk -F, 'NR == FNR { if (FNR > 1) ref[$1 "," $2] = $3; next }
             FNR > 1 { got[$1 "," $2] = $3 }
             END { for (k in ref) { if (!(k in got)) miss++
                                    else if (ref[k] == got[k]) same++
                                    else if (ref[k] == "timeout" || got[k] == "timeout") to++
                                    else bad++ }
                   printf "%d %d %d %d", same, to, bad, miss }' "$1" "$2"
}
counts() {
    awk -F, 'NR > 1 { n++; if ($3 == "sat" || $3 == "unsat") s++; if ($3 == "timeout") t++ }
             END { printf "%d %d %d", n, s, t }' "$1"
}

suite() {
    A="$D/acasxu"
    echo
    echo "## ACAS Xu suite, --max-timeout $CAP, 1 thread per rank"
    echo
    echo "| run | ranks | wall s | instances | solved | timeouts | same verdict as certnn bench | differ (one side timeout) | sat vs unsat | missing | load before |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    l=$(load)
    t0=$(now)
    "$B/certnn" bench "$A" --max-timeout "$CAP" --threads 1 --out "$OUT/suite_ref.csv" -q >"$OUT/suite_ref.log" 2>&1
    w=$(sub "$(now)" "$t0")
    set -- $(counts "$OUT/suite_ref.csv")
    echo "| certnn bench | 1 process | $w | $1 | $2 | $3 | - | - | - | - | $l |"
    for np in 1 2 4; do
        l=$(load)
        t0=$(now)
        $MPIRUN -np $np "$B/certnn-mpi" bench "$A" --max-timeout "$CAP" --threads 1 \
            --out "$OUT/suite_np$np.csv" -q >"$OUT/suite_np$np.log" 2>&1
        w=$(sub "$(now)" "$t0")
        set -- $(counts "$OUT/suite_np$np.csv") $(compare "$OUT/suite_ref.csv" "$OUT/suite_np$np.csv")
        echo "| certnn-mpi bench | $np | $w | $1 | $2 | $3 | $4 | $5 | $6 | $7 | $l |"
    done
    # per-instance time summed (the work) and the longest instance (the floor of any split)
    awk -F, 'NR > 1 { s += $4; if ($4 > m) m = $4 } END {
        printf "\nwork in certnn bench: %.1f s summed over instances, longest instance %.1f s\n", s, m }' \
        "$OUT/suite_ref.csv"
}

# field SED-SCRIPT: the first match in the last run's stderr
field() { sed -n "$1" "$OUT/bab.err" | head -1; }

bab() {
    A="$D/acasxu"
    echo
    echo "## Branch and bound on one instance, 1 thread per rank, --timeout $BTO"
    echo
    echo "| instance | run | wall s | verdict | nodes | subproblems | frontier s | s in subproblems | longest subproblem s | nodes/s per busy rank | bytes sent (tasks + results) |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    for x in "4_6 1" "1_1 5" "1_6 2" "2_8 1"; do
        set -- $x
        M="$A/onnx/ACASXU_run2a_$1_batch_2000.onnx"
        P="$A/vnnlib/prop_$2.vnnlib"
        t0=$(now)
        "$B/certnn" verify "$M" --vnnlib "$P" --threads 1 --timeout "$BTO" >"$OUT/bab.out" 2>"$OUT/bab.err"
        w=$(sub "$(now)" "$t0")
        nodes=$(field 's/.*, \([0-9]*\) nodes$/\1/p')
        echo "| $1 prop_$2 | certnn verify | $w | $(head -1 "$OUT/bab.out") | $nodes | - | - | - | - | - | - |"
        for np in 1 2; do
            t0=$(now)
            $MPIRUN -np $np "$B/certnn-mpi" verify "$M" --vnnlib "$P" --threads 1 --timeout "$BTO" \
                >"$OUT/bab.out" 2>"$OUT/bab.err"
            w=$(sub "$(now)" "$t0")
            sed -n 's/^certnn-mpi: \(.*\)/\1/p' "$OUT/bab.err" >>"$OUT/bab_stats.log"
            fs=$(field 's/.*frontier \([0-9.]*\) s, .*/\1/p')
            ns=$(field 's/.*, \([0-9]*\) subproblems (.*/\1/p')
            ss=$(field 's/.*, \([0-9.]*\) s in subproblems.*/\1/p')
            nd=$(field 's/.* \([0-9]*\) nodes, [0-9]* + .*/\1/p')
            by=$(field 's/.* \([0-9]* + [0-9]*\) bytes sent.*/\1/p')
            lg=$(field 's/.*longest subproblem \([0-9.]*\) s$/\1/p')
            rate=$(echo "${nd:-0} ${ss:-0}" | awk '{ if ($2 > 0) printf "%.0f", $1 / $2; else print "-" }')
            echo "| $1 prop_$2 | certnn-mpi -np $np | $w | $(head -1 "$OUT/bab.out") | ${nd:--} | ${ns:--} | ${fs:--} | ${ss:--} | ${lg:--} | $rate | ${by:--} |"
        done
    done
}

overhead() {
    T="$OUT/nano"
    rm -rf "$T"
    mkdir -p "$T"
    cp "$D/test/test_nano.onnx" "$D/test/test_nano.vnnlib" "$T/"
    i=0
    while [ $i -lt 400 ]; do echo "test_nano.onnx,test_nano.vnnlib,10"; i=$((i + 1)); done >"$T/instances.csv"
    echo
    echo "## Cost of one task: 400 trivial instances (test_nano)"
    echo
    echo "| run | wall s (in the program) | s summed over instances | overhead per instance ms |"
    echo "| --- | --- | --- | --- |"
    "$B/certnn" bench "$T" --threads 1 -q --out "$OUT/nano_ref.csv" >"$OUT/nano_ref.log" 2>&1
    awk -F, 'NR > 1 { s += $4 } END { printf "| certnn bench | - | %.2f | - |\n", s }' "$OUT/nano_ref.csv"
    for np in 1 2; do
        $MPIRUN -np $np "$B/certnn-mpi" bench "$T" --threads 1 -q --out "$OUT/nano_np$np.csv" \
            >"$OUT/nano_np$np.log" 2>&1
        wall=$(sed -n 's/.* wall \([0-9.]*\) s$/\1/p' "$OUT/nano_np$np.log")
        awk -F, -v w="${wall:-0}" -v r=$np 'NR > 1 { s += $4; n++ } END {
            printf "| certnn-mpi -np %d | %s | %.2f | %.2f |\n", r, w, s, 1000 * (w - s / r) / n }' \
            "$OUT/nano_np$np.csv"
    done
}

for part in "$@"; do
    case $part in
    suite) suite ;;
    bab) bab ;;
    overhead) overhead ;;
    *) echo "bench_mpi: unknown part '$part' (suite, bab, overhead)" >&2; exit 64 ;;
    esac
done
echo
echo "# load $(load) at $(date -u +%H:%M); CSVs and logs in $OUT"

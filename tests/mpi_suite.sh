#!/bin/sh
# mpi_suite.sh — `mpirun certnn-mpi bench` against `certnn bench` on a small ACAS Xu
# suite made on the fly: the same verdicts with 2 and 3 ranks, --resume, and a worker
# rank killed (kill -9) in the middle of the run that still leaves the complete, correct
# results file.  Built and run only when configure found MPI.
# Prints "ok N - what" / "not ok N - what" lines and exits non-zero on any failure.
set -u
. "${CN_SRCDIR:-.}/tests/tap.sh"
. "$S/tests/mpi_env.sh"
CM="$B/certnn-mpi"

# same REF GOT: every instance of REF is in GOT (once) with the same verdict, where
# neither is a timeout (an instance at its time limit may end either way)
same() {
    awk -F, 'NR == FNR { if (FNR > 1) { ref[$1 "," $2] = $3; n++ } next }
             FNR > 1 { k = $1 "," $2; if (!(k in ref) || (k in got)) exit 1; got[k] = $3; m++ }
             END { if (m != n) exit 1
                   for (k in ref) if (ref[k] != got[k] && ref[k] != "timeout" && got[k] != "timeout") exit 1 }' "$1" "$2"
}

# ---- a small suite: fast instances (sat and unsat) and one that cannot finish in 2 s
A="$D/benchmarks/acasxu"
SU="$T/suite"
mkdir -p "$SU"
ln -s "$A/onnx" "$SU/onnx"
ln -s "$A/vnnlib" "$SU/vnnlib"
cp "$A/expected_results.csv" "$SU/"
for x in 2_8:1 1_1:1 1_5:1 4_2:1 1_8:3 2_3:3 4_1:3 1_3:4; do
    echo "onnx/ACASXU_run2a_${x%:*}_batch_2000.onnx,vnnlib/prop_${x#*:}.vnnlib,116"
done >"$SU/instances.csv"
N=$(wc -l <"$SU/instances.csv")
OPTS="--threads 1 --max-timeout 2 --lost-after 2 --heartbeat 0.2"

expect 0 "certnn bench on the suite (the reference)" "$C" bench "$SU" --threads 1 --max-timeout 2 --out "$T/ref.csv"
check '[ "$(grep -c ",sat," "$T/ref.csv")" -ge 1 ] && [ "$(grep -c ",unsat," "$T/ref.csv")" -ge 4 ]' \
    "the reference has sat and unsat verdicts"

expect 0 "certnn-mpi bench, 2 ranks" $MPIRUN -np 2 "$CM" bench "$SU" $OPTS --out "$T/np2.csv"
has "$T/out" "^mpi: 2 ranks x 1 thread, 0 ranks lost" "2 ranks took part"
has "$T/out" "^$N of $N instances: .* incorrect 0" "2 ranks: summary as certnn bench"
check 'same "$T/ref.csv" "$T/np2.csv"' "2 ranks: every instance, verdicts as certnn bench"

expect 0 "certnn-mpi bench, 3 ranks (oversubscribed)" $MPIRUN -np 3 "$CM" bench "$SU" $OPTS --out "$T/np3.csv"
has "$T/out" "^mpi: 3 ranks" "3 ranks took part"
check 'same "$T/ref.csv" "$T/np3.csv"' "3 ranks: every instance, verdicts as certnn bench"
check '[ "$(head -1 "$T/np3.csv")" = "onnx,vnnlib,verdict,time_s,nodes,attack_s,bounds_s,optimise_s,lp_s,branch_s,nodes_per_second" ] &&
       [ "$(cut -d, -f1,2 "$T/np3.csv" | tail -n +2)" = "$(cut -d, -f1,2 "$SU/instances.csv")" ]' \
    "the results file is in the suite's order"

# ---- --resume: rows already in --out are kept, only the missing ones run
head -4 "$T/np2.csv" >"$T/part.csv"
expect 0 "certnn-mpi bench --resume" $MPIRUN -np 2 "$CM" bench "$SU" $OPTS --out "$T/part.csv" --resume
has "$T/err" "--resume: 3 of $N instances already in" "--resume keeps the 3 finished rows"
check 'same "$T/ref.csv" "$T/part.csv"' "--resume completes the results file"
check '[ "$(grep -c "^onnx/" "$T/out")" -eq $((N - 3)) ]' "--resume runs only the missing instances"

# ---- usage
expect 0 "certnn-mpi --help" $MPIRUN -np 1 "$CM" --help
expect 0 "certnn-mpi bench --help" $MPIRUN -np 1 "$CM" bench --help
has "$T/out" "^Usage: certnn-mpi bench" "bench --help names certnn-mpi"
expect 64 "unknown subcommand" $MPIRUN -np 1 "$CM" frobnicate
expect 64 "--resume without --out" $MPIRUN -np 1 "$CM" bench "$SU" --resume
expect 66 "a missing suite" $MPIRUN -np 1 "$CM" bench "$T/nowhere"

# ---- a worker rank killed with SIGKILL while it works on an instance
mkdir -p "$T/pids"
rm -f "$T/kill.csv"
(
    i=0
    while [ $i -lt 600 ]; do
        if [ -f "$T/pids/rank-1.pid" ] && [ -f "$T/kill.csv" ] && [ "$(wc -l <"$T/kill.csv")" -ge 2 ]; then
            kill -9 "$(cat "$T/pids/rank-1.pid")" && echo killed >"$T/killed"
            break
        fi
        sleep 0.05
        i=$((i + 1))
    done
) &
killer=$!
CERTNN_MPI_PIDDIR="$T/pids" $MPIRUN --enable-recovery -np 2 "$CM" bench "$SU" $OPTS --out "$T/kill.csv" \
    >"$T/kout" 2>"$T/kerr"
wait $killer
check '[ -f "$T/killed" ]' "rank 1 was killed during the run"
has "$T/kerr" "rank 1 .*presumed dead; task [0-9]+ handed out again" "its unfinished instance was handed out again"
has "$T/kout" "^mpi: 2 ranks x 1 thread, 1 rank lost, 1 task handed out again" "the summary counts the lost rank"
has "$T/kout" "^$N of $N instances: .* incorrect 0" "the run completed every instance"
check 'same "$T/ref.csv" "$T/kill.csv"' "the results file is complete and its verdicts are those of certnn bench"

tap_end mpi_suite

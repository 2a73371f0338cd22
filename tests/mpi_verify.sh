#!/bin/sh
# mpi_verify.sh — `mpirun certnn-mpi verify`: branch-and-bound subproblems spread over
# ranks give the verdicts of `certnn verify` on ACAS Xu instances (unsat, and sat found
# inside a subproblem), and a distributed run's certificate is one document that
# `certnn check` validates, while a tampered copy fails.  Built and run only when
# configure found MPI.  Prints "ok N - what" / "not ok N - what" lines.
set -u
. "${CN_SRCDIR:-.}/tests/tap.sh"
. "$S/tests/mpi_env.sh"
CM="$B/certnn-mpi"

A="$D/benchmarks/acasxu"
net() { echo "$A/onnx/ACASXU_run2a_$1_batch_2000.onnx"; }
P1="$A/vnnlib/prop_1.vnnlib"
P2="$A/vnnlib/prop_2.vnnlib"

# ---- verdicts: unsat (4_6 prop 1) and sat found by branch and bound (1_2 prop 2)
for inst in "4_6 $P1 0 unsat" "1_2 $P2 1 sat"; do
    set -- $inst
    id=$1 pp=$2 code=$3 want=$4
    expect "$code" "certnn verify $id $(basename "$pp")" "$C" verify "$(net "$id")" --vnnlib "$pp" --threads 1 --timeout 60
    v1=$(head -1 "$T/out")
    expect "$code" "certnn-mpi verify $id $(basename "$pp"), 2 ranks" $MPIRUN -np 2 "$CM" verify "$(net "$id")" --vnnlib "$pp" --timeout 60 --subproblems 8
    v2=$(head -1 "$T/out")
    check '[ "$v1" = "$want" ] && [ "$v2" = "$want" ]' "$id $(basename "$pp"): $want from both"
    has "$T/err" "2 ranks x 1 thread; frontier .*, [1-9][0-9]* subproblems" "$id: subproblems were handed out"
done
has "$T/out" "^  X_4 = " "the counterexample is printed as by certnn verify"
has "$T/err" "^certnn: sat in [0-9.]+ s \((node|attack)\)" "the verdict line says how it was found"

# ---- one certificate from a distributed run, checked like any other
expect 0 "keygen" "$C" keygen --out "$T/k"
expect 0 "certnn-mpi verify --json --cert --sign, 3 ranks" $MPIRUN -np 3 "$CM" verify "$(net 4_6)" --vnnlib "$P1" --subproblems 8 --json --cert "$T/u.cert" --sign "$T/k.key"
has "$T/out" '"verdict": "unsat"' "--json: verdict unsat"
has "$T/out" '"found_by": "bab"' "--json: decided by branch and bound"
check 'sed -n "s/.* \([0-9]*\) subproblems (\([0-9]*\) unsat.*/\1 \2/p" "$T/err" | awk "{ r = \$1 >= 24 && \$1 == \$2 } END { exit !r }"' \
    "3 ranks: at least 24 subproblems, every one closed"
expect 0 "certnn check accepts the grafted proof" "$C" check "$T/u.cert" --pubkey "$T/k.pub" --vnnlib "$P1" --model "$(net 4_6)"
has "$T/out" "^valid: 1 result \(1 proven" "check: 1 proven result"
sed 's/^{"signature":{[^}]*},/{/' "$T/u.cert" >"$T/v.cert"
expect 0 "... also unsigned, with --allow-unsigned" "$C" check "$T/v.cert" --allow-unsigned --model "$(net 4_6)"
sed 's/\["l",\[0\]\]/["l"]/' "$T/v.cert" >"$T/t1.cert"
if cmp -s "$T/v.cert" "$T/t1.cert"; then nok "tamper 1 changed nothing"; else
    expect 1 "a leaf without its refutation fails the check" "$C" check "$T/t1.cert" --allow-unsigned --model "$(net 4_6)"; fi
sed 's/\["l",\[0\]\]/["l",[0]],["l",[0]]/' "$T/v.cert" >"$T/t2.cert"
if cmp -s "$T/v.cert" "$T/t2.cert"; then nok "tamper 2 changed nothing"; else
    expect 1 "an extra leaf fails the check" "$C" check "$T/t2.cert" --allow-unsigned --model "$(net 4_6)"; fi
expect 1 "the signed certificate with a changed byte fails" sh -c "sed 's/\"i\",1,/\"i\",2,/' '$T/u.cert' >'$T/t3.cert' && '$C' check '$T/t3.cert' --pubkey '$T/k.pub' --model '$(net 4_6)'"
expect 1 "a sat certificate from a distributed run" $MPIRUN -np 2 "$CM" verify "$(net 1_2)" --vnnlib "$P2" --subproblems 8 --cert "$T/s.cert"
expect 0 "... checks (the counterexample re-evaluated exactly)" "$C" check "$T/s.cert" --allow-unsigned --model "$(net 1_2)"

# ---- a worker rank killed with SIGKILL while it decides a subproblem: 1_8 prop 2 split
# into 2 subproblems of 1.2 and 1.7 s (9,455 nodes in all); rank 1 writes the id of the
# task it starts (the CERTNN_MPI_PIDDIR hook) and is killed as soon as it has, so it dies
# holding that task however fast or slow (sanitizers) the build is
mkdir -p "$T/pids"
(
    i=0
    while [ $i -lt 1200 ] && [ ! -f "$T/pids/rank-1.task" ]; do sleep 0.05; i=$((i + 1)); done
    [ -f "$T/pids/rank-1.task" ] && kill -9 "$(cat "$T/pids/rank-1.pid")" && echo killed >"$T/killed"
) &
killer=$!
CERTNN_MPI_PIDDIR="$T/pids" $MPIRUN --enable-recovery -np 2 "$CM" verify "$(net 1_8)" --vnnlib "$P2" \
    --threads 1 --subproblems 1 --lost-after 2 --heartbeat 0.2 >"$T/kout" 2>"$T/kerr"
wait $killer
check '[ -f "$T/killed" ]' "rank 1 was killed during branch and bound"
has "$T/kerr" "rank 1 .*presumed dead; task $(cat "$T/pids/rank-1.task" 2>/dev/null) handed out again" "the subproblem it held was handed out again"
has "$T/kerr" " 2 subproblems \(2 unsat, 0 timeout, 0 unknown\).* 1 rank lost, 1 handed out again" "both subproblems closed after the loss"
check '[ "$(head -1 "$T/kout")" = unsat ]' "the verdict is still unsat"

# ---- a time limit reached inside the subproblems (3_3 prop 2 needs far more than 2 s)
expect 3 "timeout" $MPIRUN -np 2 "$CM" verify "$(net 3_3)" --vnnlib "$P2" --timeout 2 --subproblems 4
check '[ "$(head -1 "$T/out")" = timeout ]' "the verdict is timeout"
expect 64 "verify without --vnnlib" $MPIRUN -np 1 "$CM" verify "$(net 4_6)"

tap_end mpi_verify

#!/bin/sh
# bench_soundness.sh BUILDDIR [N] [SEED]
# The longer setting of the engine-vs-MILP soundness test (tests/test_engine):
# N random small networks and properties (default 20000) whose branch-and-bound
# verdict must equal the exact MILP verdict, every time.  Prints the counts and
# the time; exits non-zero on any disagreement.
set -eu
b=${1:?usage: bench_soundness.sh BUILDDIR [N] [SEED]}
n=${2:-20000}
seed=${3:-}
start=$(date +%s)
if [ -n "$seed" ]; then
    CN_ENGINE_N=$n CN_SEED=$seed "$b/tests/test_engine"
else
    CN_ENGINE_N=$n "$b/tests/test_engine"
fi
echo "bench_soundness: $n instances in $(($(date +%s) - start)) s"

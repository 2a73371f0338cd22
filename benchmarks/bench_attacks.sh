#!/bin/sh
# bench_attacks.sh — the attacks alone on the shared suites (see README.md,
# "Attacks").  Usage: benchmarks/bench_attacks.sh [BUILDDIR [TIMEOUT_S [SEED]]]
# Needs `make benchmarks/bench_attacks` in BUILDDIR.  Writes the per-instance
# lines and SUMMARY lines to stdout.
set -eu
B=${1:-.}
T=${2:-10}
SEED=${3:-1}
S=${CN_SHARED:-$(cd "$(dirname "$0")/../.." && pwd)/shared}/benchmarks
X="$B/benchmarks/bench_attacks"
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
rc=0
"$X" suite "$S/acasxu" "$S/acasxu/instances.csv" "$S/acasxu/expected_results.csv" "$T" "$SEED" || rc=1
"$X" suite "$S/mnist_fc" "$S/mnist_fc/instances.csv" "$S/mnist_fc/expected_results.csv" "$T" "$SEED" || rc=1
"$X" suite "$S/eran" "$S/eran/instances_ffnnsmall.csv" "$S/eran/expected_results_ffnnsmall.csv" "$T" "$SEED" || rc=1
# the official eran instances use a Sigmoid network (gradients through sigmoid)
"$X" suite "$S/eran" "$S/eran/instances.csv" "$S/eran/expected_results.csv" "$T" "$SEED" || rc=1
"$X" radius "$S/eran/onnx/FFNNSmall.onnx" "$S/data/mnist_test.csv" 100 0.026 "$T" "$SEED" || rc=1
exit $rc

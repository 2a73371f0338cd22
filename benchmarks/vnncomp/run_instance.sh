#!/bin/bash
# VNN-COMP tool interface, v1:
#   run_instance.sh v1 CATEGORY ONNX VNNLIB RESULTS_FILE TIMEOUT
# Writes RESULTS_FILE in VNN-COMP's format: one of sat / unsat / timeout /
# unknown / error on the first line; for sat, the counterexample follows as
# ((X_0 v) ... (Y_0 v) ...).
set -u
if [ "$#" -ne 6 ] || [ "$1" != "v1" ]; then
    echo "usage: run_instance.sh v1 CATEGORY ONNX VNNLIB RESULTS_FILE TIMEOUT" >&2
    exit 1
fi
here=$(cd "$(dirname "$0")" && pwd)
certnn=${CERTNN:-$here/../../certnn}
onnx=$3 vnnlib=$4 result=$5 timeout=$6
"$certnn" verify "$onnx" --vnnlib "$vnnlib" --timeout "$timeout" --vnncomp-result "$result" -q
rc=$?
# certnn writes the result file itself (atomically); make sure one exists.
if [ ! -s "$result" ]; then
    echo "error" >"$result"
fi
case $rc in 0 | 1 | 2 | 3) exit 0 ;; *) exit "$rc" ;; esac

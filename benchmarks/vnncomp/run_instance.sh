#!/bin/bash
# VNN-COMP tool interface, v1:
#   run_instance.sh v1 CATEGORY ONNX VNNLIB RESULTS_FILE TIMEOUT
# Writes RESULTS_FILE in VNN-COMP's format: one of sat / unsat / timeout /
# unknown / error on the first line; for sat, the counterexample follows as
# ((X_0 v) ... (Y_0 v) ...).  Prints only the verdict line.  ONNX and VNNLIB
# may be gzipped (.onnx.gz, .vnnlib.gz), as VNN-COMP 2022 and later ship them.
set -u
if [ "$#" -ne 6 ] || [ "$1" != "v1" ]; then
    echo "usage: run_instance.sh v1 CATEGORY ONNX VNNLIB RESULTS_FILE TIMEOUT" >&2
    exit 1
fi
here=$(cd "$(dirname "$0")" && pwd)
certnn=${CERTNN:-$here/../../certnn}
onnx=$3 vnnlib=$4 result=$5 timeout=$6
# The verdict and counterexample go to the result file (written atomically
# by certnn); stdout (the counterexample again, one line per input: long for
# images) is dropped, so the harness log gets one line; errors stay on stderr.
# A result file left from an earlier run must not pass for this one's.
rm -f "$result"
"$certnn" verify "$onnx" --vnnlib "$vnnlib" --timeout "$timeout" --vnncomp-result "$result" -q >/dev/null
rc=$?
# make sure a result file exists
if [ ! -s "$result" ]; then
    echo "error" >"$result"
fi
echo "run_instance.sh: $(head -n 1 "$result") (exit $rc), result in $result"
case $rc in 0 | 1 | 2 | 3) exit 0 ;; *) exit "$rc" ;; esac

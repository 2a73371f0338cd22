#!/bin/bash
# VNN-COMP tool interface, v1: prepare_instance.sh v1 CATEGORY ONNX VNNLIB
# Checks that certnn is built and that it reads the network and the property,
# so that run_instance.sh spends its time budget on verification only.
set -u
if [ "$#" -ne 4 ] || [ "$1" != "v1" ]; then
    echo "usage: prepare_instance.sh v1 CATEGORY ONNX VNNLIB" >&2
    exit 1
fi
here=$(cd "$(dirname "$0")" && pwd)
certnn=${CERTNN:-$here/../../certnn}
if [ ! -x "$certnn" ]; then
    echo "prepare_instance.sh: $certnn not found; build certnn first (./bootstrap build)" >&2
    exit 1
fi
"$certnn" info "$3" >/dev/null || exit 1
"$certnn" spec "$4" --model "$3" >/dev/null || exit 1
exit 0

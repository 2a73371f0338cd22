#!/bin/sh
# run.sh BUILD_DIR SECONDS — runs each libFuzzer target built in
# BUILD_DIR/tests/fuzz (configure --enable-fuzzing CC=clang) for SECONDS,
# CN_FUZZ_JOBS targets at a time (default 2), seeded with the shared benchmark
# files (fuzz_onnx also with the graphs in tests/fuzz/seeds: Concat, Transpose,
# Slice, branches, tensors crossing ReLU layers as pairs, BatchNormalization
# and average pooling in a live branch, which no shared network has;
# fuzz_cert: the shared findings' certificates and the valid ones it writes
# itself).  Exits non-zero if a target crashes (its reproducer is kept in
# BUILD_DIR/tests/fuzz/artifacts/).
# The shared data is found through $CN_SHARED (default: ../shared next to
# the source tree).
set -u
if [ $# -ne 2 ]; then
    echo "usage: $0 BUILD_DIR SECONDS" >&2
    exit 64
fi
build=$1
secs=$2
case $secs in
    '' | *[!0-9]*) echo "$0: SECONDS must be a whole number, got '$secs'" >&2; exit 64 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
shared=${CN_SHARED:-$here/../../../shared}
bench=$shared/benchmarks
if [ ! -d "$bench" ]; then
    echo "$0: no benchmark data at $bench (set CN_SHARED)" >&2
    exit 66
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
arts=$build/tests/fuzz/artifacts
mkdir -p "$arts"
failed=0
ran=0
jobs=${CN_FUZZ_JOBS:-2}
case $jobs in
    '' | *[!0-9]* | 0) echo "$0: CN_FUZZ_JOBS must be a positive whole number, got '$jobs'" >&2; exit 64 ;;
esac
started=

# seed DIR FIND-ARGS...: copies matching benchmark files into DIR
seed() {
    dir=$1
    shift
    mkdir -p "$dir"
    find "$bench" -type f "$@" -exec cp {} "$dir"/ \;
}

for target in fuzz_vnnlib fuzz_onnx fuzz_nnet fuzz_cert; do
    bin=$build/tests/fuzz/$target
    if [ ! -x "$bin" ]; then
        echo "$target: not built ($bin missing), skipped"
        continue
    fi
    corpus=$tmp/$target
    extra=
    case $target in
        fuzz_vnnlib)
            # the small specs whole; a few image specs (they are large)
            seed "$corpus" -name '*.vnnlib' -size -20k
            seed "$corpus" -name 'prop_0_0.03.vnnlib'
            seed "$corpus" -name 'ffnnsmall_idx_0_*.vnnlib'
            if [ -d "$here/../data/bad" ]; then
                cp "$here"/../data/bad/*.vnnlib "$corpus"/ 2>/dev/null
            fi
            ;;
        fuzz_onnx)
            seed "$corpus" -name '*.onnx' -size -70k
            cp "$here"/seeds/*.onnx "$corpus"/
            extra=-max_len=70000
            ;;
        fuzz_nnet)
            seed "$corpus" -name '*.nnet' -path '*1_1*'
            seed "$corpus" -name '*.nnet' -path '*5_9*'
            ;;
        fuzz_cert)
            # the forged certificates of the review, and valid ones for the
            # target's own networks (it writes them when asked)
            mkdir -p "$corpus"
            if [ -d "$shared/findings" ]; then
                find "$shared/findings" -type f -name '*.cert' -size -64k -exec cp {} "$corpus"/ \;
            fi
            mkdir -p "$tmp/empty_$target"
            CN_FUZZ_CERT_SEEDS=$corpus "$bin" -runs=0 "$tmp/empty_$target" >/dev/null 2>&1 ||
                echo "$target: could not write its valid seeds"
            extra="-max_len=16384 -dict=$here/cert.dict"
            ;;
    esac
    echo "$target: $(ls "$corpus" | wc -l) seed file(s), $secs s"
    ran=$((ran + 1))
    # shellcheck disable=SC2086
    ("$bin" "$corpus" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$arts/$target-" -print_final_stats=1 $extra \
        >"$tmp/$target.log" 2>&1
     echo $? >"$tmp/$target.rc") &
    started="$started $target"
    if [ $((ran % jobs)) -eq 0 ]; then
        wait
    fi
done
wait
for target in $started; do
    if [ "$(cat "$tmp/$target.rc")" -eq 0 ]; then
        tail -n 12 "$tmp/$target.log" | grep -E 'stat::number_of_executed_units|stat::peak_rss_mb|Done' || true
        echo "$target: ok"
    else
        failed=$((failed + 1))
        echo "$target: FAILED; last lines of its log:"
        tail -n 40 "$tmp/$target.log"
        echo "$target: reproducers in $arts"
    fi
done
if [ "$ran" -eq 0 ]; then
    echo "$0: no fuzz target found in $build/tests/fuzz" >&2
    exit 66
fi
[ "$failed" -eq 0 ]

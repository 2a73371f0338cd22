#!/bin/sh
# bench_certs.sh — certificates on VNN-COMP instances: for each instance,
# `certnn verify --cert --sign` then `certnn check --pubkey`; prints a
# markdown table (verdict, verify time, certificate bytes, check time, check
# result) and a summary.
#
# Usage: benchmarks/bench_certs.sh [-t TIMEOUT] [-j THREADS] [-c 'CHECK THREADS']
#                                  [-x 'VERIFY OPTIONS'] [SUITE...]
#   -j: threads of verify (-j) and check (--threads); 0, the default: all cores.
#   -c: check each certificate once per thread count listed (e.g. '1 2'); the
#       check column then shows one time per count, " / " between them.
#   -x: more options for `certnn verify` (e.g. '--lp-tail 6'), split at blanks.
#   SUITE: acas (props 1-4 on networks 1_x and the prop 5-10 instances),
#          acas-all, mnist (the 30 mnist_fc instances), test.  Default: acas mnist.
# Environment: CERTNN (default ./certnn), CN_SHARED (default ../shared).
set -u
CERTNN=${CERTNN:-./certnn}
D=${CN_SHARED:-../shared}/benchmarks
TO=20
J=0
CJ=
X=
while getopts t:j:c:x: o; do
    case $o in
    t) TO=$OPTARG ;;
    j) J=$OPTARG ;;
    c) CJ=$OPTARG ;;
    x) X=$OPTARG ;;
    *) echo "usage: $0 [-t TIMEOUT] [-j THREADS] [-c 'CHECK THREADS'] [-x 'OPTIONS'] [acas|acas-all|mnist|test]..." >&2; exit 64 ;;
    esac
done
CJ=${CJ:-$J}
shift $((OPTIND - 1))
[ $# -eq 0 ] && set -- acas mnist
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
"$CERTNN" keygen --out "$W/key" -q || exit 1

now() { date +%s.%N; }
sub() { echo "$1 $2" | awk '{printf "%.2f", $1 - $2}'; }

# instances: "suite_dir onnx vnnlib" lines
list() {
    case $1 in
    acas)
        awk -F, '$1 ~ /_1_[0-9]_batch/ && $2 ~ /prop_[1-4]\.vnnlib/ {print "acasxu", $1, $2}
                 $2 ~ /prop_([5-9]|10)\.vnnlib/ {print "acasxu", $1, $2}' "$D/acasxu/instances.csv" ;;
    acas-all) awk -F, '{print "acasxu", $1, $2}' "$D/acasxu/instances.csv" ;;
    mnist) awk -F, '{print "mnist_fc", $1, $2}' "$D/mnist_fc/instances.csv" ;;
    test) awk -F, '{print "test", $1, $2}' "$D/test/instances.csv" ;;
    *) echo "unknown suite $1" >&2; exit 64 ;;
    esac
}

echo "| instance | verdict | verify s | nodes | certificate | bytes | LP items | check s | check |"
echo "|---|---|---:|---:|---|---:|---:|---:|---|"
n=0 solved=0 certified=0 valid=0 lp=0 lp_items=0 bytes_total=0 vt=0 ct="" slower=0
for s in "$@"; do
    list "$s" >"$W/list" || exit 64
    while read -r dir onnx vnn; do
        n=$((n + 1))
        name="$(basename "$onnx" .onnx | sed 's/ACASXU_run2a_//; s/_batch_2000//')/$(basename "$vnn" .vnnlib)"
        cert="$W/c$n.cert"
        t0=$(now)
        # shellcheck disable=SC2086 # X: options split at blanks
        "$CERTNN" verify "$D/$dir/$onnx" --vnnlib "$D/$dir/$vnn" --timeout "$TO" -j "$J" $X \
            --cert "$cert" --sign "$W/key.key" >"$W/out" 2>"$W/err" </dev/null
        t1=$(now)
        verdict=$(head -1 "$W/out")
        nodes=$(sed -n 's/.*, \([0-9]*\) nodes$/\1/p' "$W/err")
        vs=$(sub "$t1" "$t0")
        case $verdict in sat|unsat) solved=$((solved + 1)) ;; esac
        if [ -f "$cert" ]; then
            certified=$((certified + 1))
            b=$(wc -c <"$cert")
            bytes_total=$((bytes_total + b))
            res=valid cs="" k=0 cts=""
            for cj in $CJ; do
                k=$((k + 1))
                t0=$(now)
                if ! "$CERTNN" check "$cert" --pubkey "$W/key.pub" --vnnlib "$D/$dir/$vnn" \
                    --model "$D/$dir/$onnx" --threads "$cj" >"$W/chk" 2>&1; then
                    res="INVALID: $(head -c 200 "$W/chk")"
                fi
                t1=$(now)
                c1=$(sub "$t1" "$t0")
                cs="${cs:+$cs / }$c1"
                # the last count's check against verify; totals per count
                last=$c1
                cts="$cts $(echo "$ct" | awk -v k=$k -v c="$c1" '{print $k + c}')"
            done
            ct=${cts# }
            case $res in valid) valid=$((valid + 1)) ;; esac
            slower=$((slower + $(echo "$last $vs" | awk '{print ($1 > $2)}')))
            lpi=$(grep -o '\["lp",' "$cert" | wc -l)
            lp_items=$((lp_items + lpi))
            vt=$(echo "$vt $vs" | awk '{print $1 + $2}')
            echo "| $name | $verdict | $vs | ${nodes:--} | written | $b | $lpi | $cs | $res |"
        else
            why=$(grep -o 'no certificate written: .*' "$W/err" | head -1 | cut -c 25-90)
            case $why in *LP*) lp=$((lp + 1)) ;; esac
            lpi=0
            echo "| $name | $verdict | $vs | ${nodes:--} | none ($why) | - | - | - | - |"
        fi
        rm -f "$cert"
    done <"$W/list"
done
echo
echo "instances $n, solved (sat/unsat) $solved, certificates written $certified, checked valid $valid,"
echo "unsat without a certificate because of LP leaves $lp; LP refutations in certificates $lp_items;"
echo "certificate bytes $bytes_total in total;"
echo "over certified instances: verify $vt s, check $ct s (--threads $CJ, in that order);"
echo "checks slower than their verify (--threads ${CJ##* }): $slower."
[ "$valid" -eq "$certified" ]

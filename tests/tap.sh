# tap.sh — sourced by the shell tests (tests/*.sh): the build and source trees,
# a scratch directory, and the TAP helpers.  Each test prints "ok N - what" /
# "not ok N - what" lines and ends with tap_end (exit status non-zero on any
# failure).
B=${CN_BUILDDIR:-.}
S=${CN_SRCDIR:-.}
D=${CN_SHARED:-$S/../shared}
C="$B/certnn"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0
bad=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); bad=$((bad + 1)); echo "not ok $n - $1"; }
# check 'SHELL TEST' WHAT
check() { if eval "$1"; then ok "$2"; else nok "$2"; fi; }
# expect CODE WHAT CMD...: runs CMD, checks its exit code; output in $T/out, $T/err
expect() {
    code=$1 what=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err"
    rc=$?
    if [ "$rc" -eq "$code" ]; then ok "$what (exit $rc)"; else
        nok "$what: exit $rc, expected $code"; sed 's/^/#   /' "$T/err" "$T/out" | head -12; fi
}
# has FILE REGEX WHAT: FILE has a line matching the extended REGEX
has() {
    if grep -Eq -- "$2" "$1"; then ok "$3"; else nok "$3: no '$2' in $1"; sed 's/^/#   /' "$1" | head -8; fi
}
# has_text FILE TEXT WHAT: FILE contains TEXT literally
has_text() {
    if grep -Fq -- "$2" "$1"; then ok "$3"; else nok "$3: no '$2' in $1"; sed 's/^/#   /' "$1" | head -8; fi
}
# decide_spec NET SPEC WANT: verify NET on the VNN-LIB SPEC with a signed
# certificate ($T/c.json, key $T/k); the verdict must be sat or unsat, never
# unsat where WANT (the spec's expected answer) is sat, and the certificate
# must check.  Sets v to the verdict and counts it in n_sat / n_unsat.
decide_spec() {
    b=$(basename "$2") want=$3
    "$C" verify "$1" --vnnlib "$2" --timeout 30 --seed 1 \
        --cert "$T/c.json" --sign "$T/k.key" >"$T/out" 2>"$T/err"
    v=$(head -1 "$T/out")
    case "$v" in
    unsat) n_unsat=$((n_unsat + 1)) ;;
    sat) n_sat=$((n_sat + 1)) ;;
    esac
    check '[ "$v" = sat ] || [ "$v" = unsat ]' "$b: decided ($v)"
    check '! { [ "$want" = sat ] && [ "$v" = unsat ]; }' "$b: not unsat where sampling found a counterexample"
    expect 0 "$b: certificate checks" "$C" check "$T/c.json" --pubkey "$T/k.pub" \
        --model "$1" --vnnlib "$2"
}
# tap_end NAME: the plan line and the summary; the exit status of the test
tap_end() {
    echo "1..$n"
    echo "# $1: $((n - bad)) passed, $bad failed"
    [ "$bad" -eq 0 ]
}

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
# tap_end NAME: the plan line and the summary; the exit status of the test
tap_end() {
    echo "1..$n"
    echo "# $1: $((n - bad)) passed, $bad failed"
    [ "$bad" -eq 0 ]
}

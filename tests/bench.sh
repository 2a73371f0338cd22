#!/bin/sh
# bench.sh — `certnn bench` and benchmarks/nightly as a nightly job uses them:
# JUnit XML and JSON, a run turned red by a baseline (a time regression, a
# different verdict), a baseline of another suite, error verdicts with their
# reason in the results file, and progress lines in a log that is not a
# terminal.  Prints "ok N - what" / "not ok N - what" lines and exits non-zero
# on any failure.
set -u
. "${CN_SRCDIR:-.}/tests/tap.sh"
TS="$D/benchmarks/test"
NIGHTLY="$S/benchmarks/nightly"

# py 'PYTHON' FILE...: runs a Python check (exit status is the check)
py() { prog=$1; shift; python3 -c "$prog" "$@" 2>"$T/py.err"; }
# junit FILE TESTS FAILURES ERRORS SKIPPED: well-formed JUnit XML with these counts on
# <testsuites> and <testsuite>, as many <testcase> elements as TESTS, each with a time
junit() {
    py '
import sys, xml.etree.ElementTree as E
root = E.parse(sys.argv[1]).getroot()
want = dict(zip(("tests", "failures", "errors", "skipped"), sys.argv[2:6]))
suites = root.findall("testsuite")
assert root.tag == "testsuites" and len(suites) == 1, "one testsuite"
for el in (root, suites[0]):
    for k, v in want.items():
        assert el.get(k) == v, (el.tag, k, el.get(k), v)
cases = suites[0].findall("testcase")
assert len(cases) == int(want["tests"]), len(cases)
for c in cases:
    assert float(c.get("time")) >= 0 and c.get("classname") and c.get("name")
' "$@"
}
# failure_on FILE TYPE NAME: the testcase named NAME holds <failure type="TYPE">
failure_on() {
    py '
import sys, xml.etree.ElementTree as E
root = E.parse(sys.argv[1]).getroot()
c = [c for c in root.iter("testcase") if c.get("name") == sys.argv[3]]
assert len(c) == 1, "testcase " + sys.argv[3]
f = c[0].findall("failure")
assert len(f) == 1 and f[0].get("type") == sys.argv[2] and f[0].get("message"), f
' "$@"
}
# no_cr FILE: no carriage return in FILE
no_cr() { ! od -An -c "$1" | grep -q '\\r'; }
# rows_counted FILE N: lines ending in k/N for k = 1..N, each once
rows_counted() {
    k=1
    while [ "$k" -le "$2" ]; do
        [ "$(grep -Ec " $k/$2( |\$)" "$1")" -eq 1 ] || return 1
        k=$((k + 1))
    done
}

# ---- a nightly run on the test suite: results, JUnit XML and a plain log
H1="$T/h1"
expect 0 "nightly on the test suite" env CN_SHARED="$D" CN_BUILD="$B" CN_HISTORY="$H1" \
    CN_JUNIT_DIR="$T/ci" sh "$NIGHTLY" test
csv1=$(ls "$H1"/*-test.csv 2>/dev/null | head -n 1)
xml1=$(ls "$H1"/*-test.xml 2>/dev/null | head -n 1)
log1=$(ls "$H1"/*-test.log 2>/dev/null | head -n 1)
check '[ -s "$csv1" ] && [ -s "$xml1" ] && [ -s "$log1" ]' "nightly wrote DATE-test.csv, .xml and .log"
check 'junit "$xml1" 5 0 0 0' "the JUnit XML holds 5 passing testcases"
check 'cmp -s "$xml1" "$T/ci/test.xml"' "CN_JUNIT_DIR gets a copy as test.xml"
check 'no_cr "$log1"' "the nightly log has no carriage return"
check 'rows_counted "$log1" 5' "the nightly log has one line per instance, 1/5 to 5/5"
has "$log1" "^5 of 5 instances: solved 5 " "the nightly log ends with the summary"

# ---- a faked baseline with much smaller times: the same verdicts, now too slow
H2="$T/h2"
mkdir "$H2"
awk -F, 'BEGIN { OFS = "," } NR > 1 { $4 = "0.000" } { print }' "$csv1" \
    >"$H2/2000-01-01-000000-test.csv"
expect 1 "nightly against a baseline 0 s per instance (max slowdown 2, floor 0) is red" \
    env CN_SHARED="$D" CN_BUILD="$B" CN_HISTORY="$H2" CN_MAX_SLOWDOWN=2 CN_SLOWDOWN_FLOOR=0 \
    sh "$NIGHTLY" test
has "$T/err" "test: certnn bench exited 1" "nightly names the red suite"
xml2=$(ls "$H2"/2*-test.xml | grep -v 2000-01-01 | head -n 1)
check 'junit "$xml2" 5 5 0 0' "the JUnit XML counts 5 failures"
check 'failure_on "$xml2" slower "test_unsat.onnx test_prop.vnnlib"' \
    "test_unsat's testcase holds <failure type=\"slower\">"
has "$T/out" "^slower: test_nano.onnx test_nano.vnnlib: unsat in .* 0.000 s in the baseline" \
    "the log names the slower instance and its baseline time"
has "$T/out" "certnn: 5 instances slower than --max-slowdown" "the reason for red is on stderr"

# ---- a faked baseline with a different verdict: a regression
H3="$T/h3"
mkdir "$H3"
sed 's/^test_unsat.onnx,test_prop.vnnlib,unsat,/test_unsat.onnx,test_prop.vnnlib,sat,/' "$csv1" \
    >"$H3/2000-01-01-000000-test.csv"
check '! cmp -s "$csv1" "$H3/2000-01-01-000000-test.csv"' "the faked baseline differs in one verdict"
expect 1 "nightly against a baseline with another verdict is red" \
    env CN_SHARED="$D" CN_BUILD="$B" CN_HISTORY="$H3" CN_MAX_SLOWDOWN=0 sh "$NIGHTLY" test
xml3=$(ls "$H3"/2*-test.xml | grep -v 2000-01-01 | head -n 1)
check 'junit "$xml3" 5 1 0 0' "the JUnit XML counts 1 failure"
check 'failure_on "$xml3" regression "test_unsat.onnx test_prop.vnnlib"' \
    "test_unsat's testcase holds <failure type=\"regression\">"
has "$T/out" "regression: test_unsat.onnx test_prop.vnnlib: sat in the baseline, now unsat" \
    "the log names the regression"

# ---- certnn bench directly: the floor of --max-slowdown (its default documented)
expect 0 "bench with --max-slowdown 2 against 0 s times: a floor of an hour absorbs them" \
    "$C" bench "$TS" --baseline "$H2/2000-01-01-000000-test.csv" --max-slowdown 2 \
    --slowdown-floor 3600 -q
has "$T/out" "0 regressions, 0 improvements, 0 slower than 2 x the baseline time \+ 3600 s" \
    "the summary states the slowdown limit"
expect 0 "bench --help" "$C" bench --help
has "$T/out" "--slowdown-floor S .*\(default 0\.5\)" "--help gives the floor's default, 0.5 s"
has "$T/out" "<skipped> for timeout and unknown" "--help says how timeouts appear in JUnit"
expect 64 "--max-slowdown without --baseline" "$C" bench "$TS" --max-slowdown 2
has "$T/err" "max-slowdown .*needs --baseline" "the message names the missing option"

expect 73 "an unwritable --junit path fails before any instance runs" "$C" bench "$TS" \
    --junit "$T/nodir/r.xml" --out "$T/unw.csv"
has_text "$T/err" "--junit: cannot write '$T/nodir/r.xml': folder '$T/nodir' does not exist" "the message names the option and the path"
check '[ ! -s "$T/out" ] && [ ! -e "$T/unw.csv" ]' "no instance was run"

# ---- a baseline that shares no instance with the run
printf 'onnx,vnnlib,verdict,time_s,nodes\nother.onnx,other.vnnlib,unsat,1.000,3\n' >"$T/other.csv"
expect 65 "a baseline sharing no instance is an error" "$C" bench "$TS" --baseline "$T/other.csv" \
    --out "$T/none.csv"
has "$T/err" "other.csv: the baseline shares no instance" "the message names the baseline file"
check '[ ! -e "$T/none.csv" ] && [ ! -s "$T/out" ]' "nothing was run"

# ---- error verdicts: a missing model, a property of the wrong size, a name to escape
mkdir "$T/suite"
for f in "$TS"/*.onnx "$TS"/*.vnnlib "$TS"/expected_results.csv; do ln -s "$f" "$T/suite/"; done
ln -s "$TS/test_nano.onnx" "$T/suite/we&ird<1>.onnx"
cat "$TS/instances.csv" - >"$T/suite/instances.csv" <<'EOF'
missing.onnx,test_prop.vnnlib,10
test_nano.onnx,test_prop.vnnlib,10
we&ird<1>.onnx,test_nano.vnnlib,10
EOF
expect 65 "bench with two instances that cannot be run exits 65" "$C" bench "$T/suite" \
    --out "$T/err.csv" --junit "$T/err.xml"
has "$T/out" "^8 of 8 instances: solved 6 .* error 2, incorrect 0" "two error verdicts counted"
has "$T/err" "2 instances ended in error" "stderr says why the run failed"
has "$T/err.csv" "^onnx,vnnlib,verdict,time_s,nodes,reason,attack_s,bounds_s,optimise_s,lp_s,branch_s,nodes_per_second$" \
    "the results file gains a reason column (the timing columns after it)"
has "$T/err.csv" "^missing.onnx,test_prop.vnnlib,error,[0-9.]+,0,.*,,,,,,$" \
    "an error row has no timing"
has "$T/err.csv" "^missing.onnx,test_prop.vnnlib,error,[0-9.]+,0,.*missing.onnx: cannot open" \
    "the missing model's row has verdict error and the reason"
has "$T/err.csv" "^test_nano.onnx,test_prop.vnnlib,error,.*5 inputs and 5 outputs" \
    "the size mismatch's row names the sizes"
check 'awk -F, "NR > 1 && \$3 != \"error\" && \$6 != \"\" { exit 1 }" "$T/err.csv"' \
    "rows without error have an empty reason"
check 'junit "$T/err.xml" 8 0 2 0' "the JUnit XML counts 2 errors"
check 'py "
import sys, xml.etree.ElementTree as E
cs = {c.get(\"name\"): c for c in E.parse(sys.argv[1]).getroot().iter(\"testcase\")}
e = cs[\"missing.onnx test_prop.vnnlib\"].find(\"error\")
assert e is not None and \"cannot open\" in e.get(\"message\")
assert cs[\"we&ird<1>.onnx test_nano.vnnlib\"].find(\"failure\") is None
" "$T/err.xml"' "the error element carries the reason; the escaped name reads back"
has_text "$T/err.xml" 'name="we&amp;ird&lt;1&gt;.onnx test_nano.vnnlib"' "& and < are escaped in the XML"
# the results file with its reason column serves as a baseline
expect 0 "a results file with a reason column is a valid baseline" "$C" bench "$TS" \
    --baseline "$T/err.csv" -q
has "$T/out" "baseline .*err.csv: 0 regressions" "no regression against it"
{ cat "$csv1"; echo "missing.onnx,test_prop.vnnlib,unsat,0.500,3"; } >"$T/had.csv"
expect 1 "an error where the baseline had a verdict is a regression (exit 1 before 65)" \
    "$C" bench "$T/suite" --baseline "$T/had.csv" -q
has "$T/out" "^regression: missing.onnx test_prop.vnnlib: unsat in the baseline, now error" \
    "the regression is named"

# ---- --json: the summary and every row, nothing else on stdout
expect 65 "bench --json on the suite with errors" "$C" bench "$T/suite" --json
check 'py "
import sys, json
d = json.load(open(sys.argv[1]))
for k in (\"counts\", \"score\", \"time_s\", \"results\", \"baseline\", \"expected_results\"):
    assert k in d, k
assert d[\"baseline\"] is None and d[\"interrupted\"] is False
c = d[\"counts\"]
assert (c[\"instances\"], c[\"run\"], c[\"error\"], c[\"sat\"], c[\"unsat\"]) == (8, 8, 2, 1, 5), c
r = {(x[\"onnx\"], x[\"vnnlib\"]): x for x in d[\"results\"]}
for x in d[\"results\"]:
    assert set((\"onnx\", \"vnnlib\", \"verdict\", \"expected\", \"time_s\", \"nodes\", \"reason\")) <= set(x)
m = r[(\"missing.onnx\", \"test_prop.vnnlib\")]
assert m[\"verdict\"] == \"error\" and \"cannot open\" in m[\"reason\"] and m[\"expected\"] is None
s = r[(\"test_sat.onnx\", \"test_prop.vnnlib\")]
assert s[\"verdict\"] == \"sat\" and s[\"expected\"] == \"sat\" and s[\"reason\"] is None
assert d[\"score\"] == 60, d[\"score\"]
" "$T/out"' "--json: counts, score, rows with reason and null expected"
check 'rows_counted "$T/err" 8' "--json: the per-instance lines go to stderr"

# ---- progress in a log that is not a terminal
expect 0 "bench with stdout and stderr to files" "$C" bench "$TS"
check 'no_cr "$T/out" && no_cr "$T/err"' "no carriage return when not on a terminal"
check 'rows_counted "$T/out" 5' "one line per finished instance, 1/5 to 5/5"
has "$T/out" "^test_sat.onnx +test_prop.vnnlib +sat +sat +[0-9]+\.[0-9]{3} +[0-9]+ +4/5( +[0-9]+\.[0-9]{2}){5} +[0-9]+\.[0-9]$" \
    "a row: onnx, vnnlib, verdict, expected, time, nodes, done/total, the timing"
ls "$T" "$T/h1" "$T/h2" "$T/h3" | grep -q '\.tmp\.' && nok "no temporary files left" ||
    ok "no temporary files left"

tap_end bench

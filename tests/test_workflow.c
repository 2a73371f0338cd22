/* test_workflow.c — the helpers of the workflow commands (cli/workflow.c,
 * cli/plot.c): atomic files, CSV / Markdown, statistics, exact decimals,
 * VNN-COMP score, results files and baseline comparison, plots.  The
 * engine's library work they call (verifier/: atoms as rows, bounds only,
 * probes, radius) is test_workflow_radius.c (same program). */
#include "config.h"

#include <math.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/groups.h"
#include "tests/wffix.h"

static char *slurp(const char *path, size_t *len)
{
    unsigned char *d = NULL;
    cn_err err;
    if (cn_read_file(path, &d, len, &err) != CN_OK)
        return NULL;
    char *s = malloc(*len + 1);
    memcpy(s, d, *len + 1);
    cn_free(d);
    return s;
}

static int count_entries(const char *dir)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p) {
        if (fscanf(p, "%d", &n) != 1)
            n = -1;
        pclose(p);
    }
    return n;
}

/* ---- atomic writes ------------------------------------------------------------ */

static void test_atomic_replaces(void **state)
{
    (void)state;
    cn_err err;
    const char *p = tpath("a.txt");
    assert_int_equal(wf_write_atomic(p, "old\n", 4, &err), CN_OK);
    assert_int_equal(wf_write_atomic(p, "new content\n", 12, &err), CN_OK);
    size_t len;
    char *s = slurp(p, &len);
    assert_non_null(s);
    assert_int_equal(len, 12);
    assert_string_equal(s, "new content\n");
    free(s);
    /* no temporary file left behind */
    char sub[300];
    snprintf(sub, sizeof sub, "%s/only", tmpdir);
    assert_int_equal(mkdir(sub, 0700), 0);
    char f[340];
    snprintf(f, sizeof f, "%s/x.csv", sub);
    assert_int_equal(wf_write_atomic(f, "1", 1, &err), CN_OK);
    assert_int_equal(wf_write_atomic(f, "22", 2, &err), CN_OK);
    assert_int_equal(count_entries(sub), 1);
}

static void test_atomic_failure_keeps_old(void **state)
{
    (void)state;
    cn_err err;
    /* the target is a non-empty directory: rename fails, nothing changes */
    char d[300], inner[340];
    snprintf(d, sizeof d, "%s/isdir", tmpdir);
    assert_int_equal(mkdir(d, 0700), 0);
    snprintf(inner, sizeof inner, "%s/keep", d);
    assert_int_equal(wf_write_atomic(inner, "kept", 4, &err), CN_OK);
    assert_int_equal(wf_write_atomic(d, "x", 1, &err), CN_EIO);
    assert_non_null(strstr(err.msg, "isdir"));
    size_t len;
    char *s = slurp(inner, &len);
    assert_non_null(s);
    assert_string_equal(s, "kept");
    free(s);
    assert_int_equal(count_entries(d), 1);               /* no temporary file left */
    char tmp[400];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", d, (long)getpid());
    assert_int_not_equal(access(tmp, F_OK), 0);
}

/* A writer process alternates two contents while this process reads: every
 * read sees one of them whole, never a mixture or a truncated file. */
static void test_atomic_concurrent_readers(void **state)
{
    (void)state;
    const char *p = tpath("race.txt");
    size_t na = 100000, nb = 200000;
    char *a = malloc(na), *b = malloc(nb);
    memset(a, 'a', na);
    memset(b, 'b', nb);
    cn_err err;
    assert_int_equal(wf_write_atomic(p, a, na, &err), CN_OK);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        for (int i = 0; i < 60; i++)
            if (wf_write_atomic(p, i % 2 ? a : b, i % 2 ? na : nb, &err) != CN_OK)
                _exit(1);
        _exit(0);
    }
    int seen_a = 0, seen_b = 0, bad = 0;
    for (int r = 0; r < 300; r++) {
        size_t len;
        char *s = slurp(p, &len);
        if (!s) {
            bad++;
            continue;
        }
        char c = len ? s[0] : '?';
        bool whole = (len == na && c == 'a') || (len == nb && c == 'b');
        for (size_t i = 0; whole && i < len; i++)
            whole = s[i] == c;
        seen_a += whole && c == 'a';
        seen_b += whole && c == 'b';
        bad += !whole;
        free(s);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(bad, 0);
    assert_int_equal(seen_a + seen_b, 300);
    free(a);
    free(b);
}

static void test_vnncomp_result(void **state)
{
    (void)state;
    vfy_result r;
    vfy_result_init(&r);
    double x[2] = {0.5, -1.25}, y[2] = {3, 0.1};
    r.verdict = VFY_SAT;
    r.n_in = 2;
    r.n_out = 2;
    r.x_d = x;
    r.y_d = y;
    cn_err err;
    const char *p = tpath("res.txt");
    assert_int_equal(wf_write_vnncomp_result(p, &r, &err), CN_OK);
    size_t len;
    char *s = slurp(p, &len);
    assert_string_equal(s, "sat\n((X_0 0.5)\n (X_1 -1.25)\n (Y_0 3)\n (Y_1 0.10000000000000001))\n");
    free(s);
    r.verdict = VFY_UNSAT;
    assert_int_equal(wf_write_vnncomp_result(p, &r, &err), CN_OK);
    s = slurp(p, &len);
    assert_string_equal(s, "unsat\n");
    free(s);
}

/* ---- CSV and Markdown ------------------------------------------------------------ */

static void test_csv_quoting_roundtrip(void **state)
{
    (void)state;
    const char *in[] = {"plain", "a,b", "say \"hi\"", "", "x\ny"};
    wf_buf b;
    wf_buf_init(&b);
    for (int i = 0; i < 5; i++) {
        if (i)
            wf_buf_put(&b, ",", 1);
        wf_buf_csv(&b, in[i]);
    }
    assert_false(b.failed);
    assert_string_equal(b.data, "plain,\"a,b\",\"say \"\"hi\"\"\",,\"x\ny\"");
    char *fl[8];
    int k = wf_csv_split(b.data, fl, 8);
    assert_int_equal(k, 5);
    for (int i = 0; i < 5; i++)
        assert_string_equal(fl[i], in[i]);
    wf_buf_clear(&b);
    char line[] = "onnx/a.onnx,vnnlib/p.vnnlib,116\r\n";
    k = wf_csv_split(line, fl, 8);
    assert_int_equal(k, 3);
    assert_string_equal(fl[2], "116");
}

static void test_markdown(void **state)
{
    (void)state;
    wf_buf b;
    wf_buf_init(&b);
    const char *h[] = {"model", "eps"}, *r[] = {"a|b", "0.01"};
    wf_md_row(&b, 2, h);
    wf_md_rule(&b, 2);
    wf_md_row(&b, 2, r);
    assert_string_equal(b.data, "| model | eps |\n| --- | --- |\n| a\\|b | 0.01 |\n");
    wf_buf_clear(&b);
    wf_buf_printf(&b, "%d-%s", 42, "x");
    assert_string_equal(b.data, "42-x");
    assert_int_equal(b.len, 4);
    wf_buf_clear(&b);
}

/* ---- numbers ------------------------------------------------------------------------ */

static void test_quantiles(void **state)
{
    (void)state;
    double v[] = {4, 1, 3, 2};
    wf_sort(v, 4);
    assert_double_near(wf_quantile(v, 4, 0.5), 2.5, 0);
    assert_double_near(wf_quantile(v, 4, 0.25), 1.75, 0);
    assert_double_near(wf_quantile(v, 4, 0.75), 3.25, 0);
    assert_double_near(wf_quantile(v, 4, 0), 1, 0);
    assert_double_near(wf_quantile(v, 4, 1), 4, 0);
    double w[] = {0.1, INFINITY, INFINITY};
    assert_true(isinf(wf_quantile(w, 3, 0.5)));
    assert_double_near(wf_quantile(w, 3, 0), 0.1, 0);
    assert_true(isinf(wf_quantile(w, 3, 0.25)));   /* between 0.1 and inf */
    assert_true(isnan(wf_quantile(w, 0, 0.5)));
    double one[] = {7};
    assert_double_near(wf_quantile(one, 1, 0.25), 7, 0);
}

static void test_mpq_decimal(void **state)
{
    (void)state;
    mpq_t q;
    mpq_init(q);
    char buf[64];
    struct { long n; unsigned long d; const char *s; } ok[] = {
        {1, 20, "0.05"}, {255, 1024, "0.2490234375"}, {-25, 2, "-12.5"}, {0, 1, "0"},
        {3, 1, "3"}, {1, 1, "1"}, {7, 1000, "0.007"}, {1024, 1000, "1.024"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        mpq_set_si(q, ok[i].n, ok[i].d);
        mpq_canonicalize(q);
        assert_true(vfy_mpq_decimal(q, buf, sizeof buf));
        assert_string_equal(buf, ok[i].s);
        /* and it reads back to the same rational */
        mpq_t r;
        mpq_init(r);
        assert_true(cn_mpq_set_decimal(r, buf, strlen(buf)));
        assert_true(mpq_equal(q, r));
        mpq_clear(r);
    }
    mpq_set_ui(q, 1, 3);
    assert_false(vfy_mpq_decimal(q, buf, sizeof buf));
    mpq_set_ui(q, 1, 1024);
    assert_false(vfy_mpq_decimal(q, buf, 5));   /* does not fit */
    mpq_clear(q);
}

static void test_decimal_up(void **state)
{
    (void)state;
    double ds[] = {0.1, 0.0703125, 0.07031250001, 1e-7, 123.456789, 9.9999999, 0.5, 0};
    mpq_t c, x;
    mpq_inits(c, x, NULL);
    for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++) {
        char buf[64];
        vfy_decimal_up(ds[i], 6, buf, sizeof buf, c);
        mpq_set_d(x, ds[i]);
        assert_true(mpq_cmp(c, x) >= 0);            /* never below */
        double cd = mpq_get_d(c);
        assert_true(cd - ds[i] <= 1e-5 * ds[i] + 1e-300);  /* 6 digits */
        mpq_t r;
        mpq_init(r);
        assert_true(cn_mpq_set_decimal(r, buf, strlen(buf)));
        assert_true(mpq_equal(r, c));              /* the text is the value */
        mpq_clear(r);
    }
    char buf[64];
    vfy_decimal_up(0.0703125, 6, buf, sizeof buf, NULL);
    assert_string_equal(buf, "0.0703125");   /* 6 significant digits: exact */
    mpq_clears(c, x, NULL);
}

/* ---- VNN-COMP suites, score and baselines ------------------------------------------------ */

static void test_score(void **state)
{
    (void)state;
    bool bad;
    assert_int_equal(wf_score("sat", "sat", &bad), 10);
    assert_false(bad);
    assert_int_equal(wf_score("unsat", "unsat", &bad), 10);
    assert_int_equal(wf_score("sat", "unsat", &bad), -100);
    assert_true(bad);
    assert_int_equal(wf_score("unsat", "sat", &bad), -100);
    assert_true(bad);
    assert_int_equal(wf_score("timeout", "sat", &bad), 0);
    assert_false(bad);
    assert_int_equal(wf_score("unknown", "unsat", &bad), 0);
    assert_int_equal(wf_score("sat", "", &bad), 10);          /* exactly checked cex */
    assert_int_equal(wf_score("unsat", "unknown", &bad), 10);
    assert_false(bad);
    char name[64];
    wf_expected_name("instances.csv", name, sizeof name);
    assert_string_equal(name, "expected_results.csv");
    wf_expected_name("instances_ffnnsmall.csv", name, sizeof name);
    assert_string_equal(name, "expected_results_ffnnsmall.csv");
    wf_expected_name("/x/instances_a.csv", name, sizeof name);
    assert_string_equal(name, "expected_results_a.csv");
}

static void test_suite_files(void **state)
{
    (void)state;
    cn_err err;
    const char *ip = tpath("instances.csv");
    write_text(ip, "a.onnx,p.vnnlib,60\n\nb.onnx,q.vnnlib,300.0\r\n");
    wf_suite s;
    assert_int_equal(wf_suite_load(ip, &s, &err), CN_OK);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.v[1].onnx, "b.onnx");
    assert_double_near(s.v[1].timeout, 300, 0);
    const char *ep = tpath("expected_results.csv");
    write_text(ep, "onnx,vnnlib,expected,evidence,n_unsat,n_sat,fastest_s,untrusted_votes\n"
                   "b.onnx,q.vnnlib,sat,cex,0,8,0.26,X@2021:sat\n");
    assert_int_equal(wf_suite_expected(&s, ep, &err), CN_OK);
    assert_string_equal(s.v[0].expected, "");
    assert_string_equal(s.v[1].expected, "sat");
    assert_double_near(s.v[1].fastest_s, 0.26, 0);
    wf_suite_free(&s);
    write_text(ip, "a.onnx,p.vnnlib,60\nb.onnx,q.vnnlib\n");
    assert_int_equal(wf_suite_load(ip, &s, &err), CN_EPARSE);
    assert_non_null(strstr(err.msg, "instances.csv:2"));
    write_text(ip, "a.onnx,p.vnnlib,-1\n");
    assert_int_equal(wf_suite_load(ip, &s, &err), CN_EPARSE);
    assert_int_equal(wf_suite_load(tpath("nope.csv"), &s, &err), CN_EIO);
}

static void test_results_and_baseline(void **state)
{
    (void)state;
    cn_err err;
    wf_results base, cur, back;
    wf_results_init(&base);
    wf_results_init(&cur);
    assert_int_equal(wf_results_add(&base, "n1.onnx", "p1", "unsat", 1.5, 10, &err), CN_OK);
    assert_int_equal(wf_results_add(&base, "n1.onnx", "p2", "sat", 0.1, 0, &err), CN_OK);
    assert_int_equal(wf_results_add(&base, "n2.onnx", "p1", "timeout", 60, 99, &err), CN_OK);
    assert_int_equal(wf_results_add(&base, "n,3.onnx", "p1", "unsat", 2, 5, &err), CN_OK);
    const char *p = tpath("base.csv");
    assert_int_equal(wf_results_write(p, &base, &err), CN_OK);
    assert_int_equal(wf_results_load(p, &back, &err), CN_OK);
    assert_int_equal(back.n, 4);
    assert_string_equal(back.v[3].onnx, "n,3.onnx");
    assert_string_equal(back.v[0].verdict, "unsat");
    assert_double_near(back.v[0].time_s, 1.5, 0);
    assert_int_equal(back.v[2].nodes, 99);
    /* identical run: nothing to report */
    assert_int_equal(wf_baseline_compare(&back, &base, NULL, NULL), 0);
    /* now: p1 no longer solved, p2 flipped, n2 newly solved, n,3 unchanged */
    assert_int_equal(wf_results_add(&cur, "n1.onnx", "p1", "timeout", 60, 1, &err), CN_OK);
    assert_int_equal(wf_results_add(&cur, "n1.onnx", "p2", "unsat", 0.1, 0, &err), CN_OK);
    assert_int_equal(wf_results_add(&cur, "n2.onnx", "p1", "unsat", 3, 7, &err), CN_OK);
    assert_int_equal(wf_results_add(&cur, "n,3.onnx", "p1", "unsat", 2, 5, &err), CN_OK);
    wf_buf rep;
    wf_buf_init(&rep);
    int imp = -1;
    assert_int_equal(wf_baseline_compare(&back, &cur, &rep, &imp), 2);
    assert_int_equal(imp, 1);
    assert_non_null(strstr(rep.data, "regression: n1.onnx p1: unsat in the baseline, now timeout"));
    assert_non_null(strstr(rep.data, "regression: n1.onnx p2: sat in the baseline, now unsat"));
    assert_non_null(strstr(rep.data, "improvement: n2.onnx p1"));
    wf_buf_clear(&rep);
    /* a partial run (first instance only) compares only what it ran */
    cur.n = 1;
    assert_int_equal(wf_baseline_compare(&back, &cur, NULL, NULL), 1);
    cur.n = 4;
    /* a malformed results file is refused with its line */
    write_text(p, "onnx,vnnlib,verdict,time_s,nodes\na,b,sat,notanumber,1\n");
    wf_results bad;
    assert_int_equal(wf_results_load(p, &bad, &err), CN_EPARSE);
    assert_non_null(strstr(err.msg, "base.csv:2"));
    wf_results_free(&back);
    wf_results_free(&base);
    wf_results_free(&cur);
}

/* Reasons in results files, time regressions, and the JUnit XML and JSON of
 * a suite run from rows made up here (a timeout and an unknown, which a fast
 * real suite does not produce on demand). */
static void test_bench_reports(void **state)
{
    (void)state;
    cn_err err;
    const char *p = tpath("reason.csv");
    /* a reason with a comma, a quote and a newline stays one CSV field on one line */
    wf_results r;
    wf_results_init(&r);
    assert_int_equal(wf_results_add(&r, "a.onnx", "p", "unsat", 1.0, 4, &err), CN_OK);
    assert_int_equal(wf_results_add_reason(&r, "b.onnx", "p", "error", 0, 0,
                                           "b.onnx: bad, \"very\"\nbad", &err), CN_OK);
    assert_int_equal(wf_results_write(p, &r, &err), CN_OK);
    size_t len;
    char *text = slurp(p, &len);
    assert_non_null(text);
    assert_non_null(strstr(text, "onnx,vnnlib,verdict,time_s,nodes,reason," WF_TIMING_COLUMNS "\n"));
    assert_non_null(strstr(text, "\nb.onnx,p,error,0.000,0,\"b.onnx: bad, \"\"very\"\" bad\",,,,,,\n"));
    free(text);
    wf_results back;
    assert_int_equal(wf_results_load(p, &back, &err), CN_OK);
    assert_int_equal(back.n, 2);
    assert_null(back.v[0].reason);
    assert_string_equal(back.v[1].reason, "b.onnx: bad, \"very\" bad");
    assert_false(back.v[0].timing.known);
    wf_results_free(&back);
    /* the timing columns: written after the reason, read back by their names */
    wf_timing tm = {true, {0.25, 1.5, 0, 0.125, 0.5}, 1234.5};
    wf_results_set_timing(&r, &tm);
    assert_int_equal(wf_results_write(p, &r, &err), CN_OK);
    text = slurp(p, &len);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"b.onnx: bad, \"\"very\"\" bad\",0.250,1.500,0.000,0.125,0.500,1234.5\n"));
    free(text);
    assert_int_equal(wf_results_load(p, &back, &err), CN_OK);
    assert_true(back.v[1].timing.known);
    assert_true(back.v[1].timing.phases.bounds_s == 1.5 && back.v[1].timing.phases.lp_s == 0.125);
    assert_true(back.v[1].timing.nodes_per_s == 1234.5);
    wf_results_free(&back);
    /* without a header the sixth column is the reason; a named column elsewhere too */
    write_text(p, "a.onnx,p,unknown,2.5,7,node limit 10 reached\n");
    assert_int_equal(wf_results_load(p, &back, &err), CN_OK);
    assert_string_equal(back.v[0].reason, "node limit 10 reached");
    wf_results_free(&back);
    write_text(p, "onnx,vnnlib,verdict,time_s,nodes,host,reason\na.onnx,p,error,0,0,h1,gone\n");
    assert_int_equal(wf_results_load(p, &back, &err), CN_OK);
    assert_string_equal(back.v[0].reason, "gone");
    wf_results_free(&back);
    wf_results_free(&r);

    /* the suite, its run and a baseline */
    write_text(tpath("ri.csv"), "a.onnx,p1,60\na.onnx,p2,60\nb.onnx,p1,60\nb.onnx,p2,60\n"
                                "c&<.onnx,p1,60\n");
    wf_suite s;
    assert_int_equal(wf_suite_load(tpath("ri.csv"), &s, &err), CN_OK);
    snprintf(s.v[0].expected, sizeof s.v[0].expected, "sat");
    wf_results base, cur;
    wf_results_init(&base);
    wf_results_init(&cur);
    assert_int_equal(wf_results_add(&base, "a.onnx", "p1", "unsat", 1.0, 1, &err), CN_OK);
    assert_int_equal(wf_results_add(&base, "a.onnx", "p2", "unsat", 1.0, 1, &err), CN_OK);
    assert_int_equal(wf_results_add(&base, "b.onnx", "p1", "unsat", 1.0, 1, &err), CN_OK);
    assert_int_equal(wf_results_add(&base, "zzz.onnx", "p9", "sat", 1.0, 1, &err), CN_OK);
    /* a.p1: unsat where sat is expected (incorrect); a.p2: 2.6 s > 2 x 1 + 0.5 (slower);
     * b.p1: 2.4 s within the limit; b.p2: unknown; c&<: timeout */
    assert_int_equal(wf_results_add(&cur, "a.onnx", "p1", "unsat", 1.0, 1, &err), CN_OK);
    assert_int_equal(wf_results_add(&cur, "a.onnx", "p2", "unsat", 2.6, 1, &err), CN_OK);
    assert_int_equal(wf_results_add(&cur, "b.onnx", "p1", "unsat", 2.4, 1, &err), CN_OK);
    assert_int_equal(wf_results_add_reason(&cur, "b.onnx", "p2", "unknown", 3, 9,
                                           "node limit 9 reached", &err), CN_OK);
    assert_int_equal(wf_results_add(&cur, "c&<.onnx", "p1", "timeout", 60, 9, &err), CN_OK);
    wf_bench_run br = {"/x/suite", "ri.csv", &s, NULL, {&base, "old.csv", 2, 0.5}, 0};
    wf_check k;
    wf_bench_check(&cur.v[1], "", &br.bl, &k);
    assert_true(k.slower);
    assert_false(k.regressed);
    assert_double_near(k.limit_s, 2.5, 1e-12);
    wf_bench_check(&cur.v[2], "", &br.bl, &k);
    assert_false(k.slower);
    wf_bench_check(&cur.v[0], "sat", &br.bl, &k);
    assert_true(k.incorrect);
    assert_false(k.slower);
    /* the baseline shares a.onnx p1 with the suite, another one nothing */
    assert_int_equal(wf_baseline_shares(&base, "old.csv", &s, "ri.csv", &err), CN_OK);
    wf_results other;
    wf_results_init(&other);
    assert_int_equal(wf_results_add(&other, "zzz.onnx", "p9", "sat", 1.0, 1, &err), CN_OK);
    assert_int_equal(wf_baseline_shares(&other, "other.csv", &s, "ri.csv", &err), CN_EINVAL);
    assert_non_null(strstr(err.msg, "other.csv: the baseline shares no instance"));
    wf_results_free(&other);
    /* the summary, the JUnit XML and the JSON agree on the counts */
    wf_tally t;
    memset(&t, 0, sizeof t);
    for (int i = 0; i < cur.n; i++)
        wf_tally_add(&t, &s.v[i], cur.v[i].verdict, cur.v[i].time_s);
    wf_buf b;
    wf_buf_init(&b);
    wf_base_counts bc;
    wf_bench_summary(&br, &t, &cur, &b, &bc);
    assert_int_equal(bc.regressions, 0);
    assert_int_equal(bc.slower, 1);
    assert_non_null(strstr(b.data, "slower: a.onnx p2: unsat in 2.600 s, 1.000 s in the baseline"));
    wf_buf_clear(&b);
    wf_bench_junit(&br, &cur, &b);
    assert_non_null(strstr(b.data, "tests=\"5\" failures=\"2\" errors=\"0\" skipped=\"2\""));
    assert_non_null(strstr(b.data, "<testsuite name=\"suite\""));
    assert_non_null(strstr(b.data, "<failure type=\"incorrect\" message=\"unsat where the "
                                   "expected result is sat\"/>"));
    assert_non_null(strstr(b.data, "<failure type=\"slower\""));
    assert_non_null(strstr(b.data, "<skipped message=\"unknown: node limit 9 reached\"/>"));
    assert_non_null(strstr(b.data, "<skipped message=\"timeout\"/>"));
    assert_non_null(strstr(b.data, "name=\"c&amp;&lt;.onnx p1\" time=\"60.000\""));
    assert_null(strstr(b.data, "c&<"));
    wf_buf_clear(&b);
    wf_buf_xml(&b, "a\"'\t\x01>");
    assert_string_equal(b.data, "a&quot;&apos;&#9;?&gt;");
    wf_buf_clear(&b);
    json_t *j = wf_bench_json(&br, &t, &cur, false);
    assert_non_null(j);
    json_t *c = json_object_get(j, "counts");
    assert_int_equal(json_integer_value(json_object_get(c, "slower")), 1);
    assert_int_equal(json_integer_value(json_object_get(c, "incorrect")), 1);
    assert_int_equal(json_integer_value(json_object_get(j, "score")), -80); /* -100 + 10 + 10 */
    json_t *rows = json_object_get(j, "results");
    assert_int_equal(json_array_size(rows), 5);
    assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 1), "regression")),
                        "time");
    assert_true(json_is_null(json_object_get(json_array_get(rows, 2), "regression")));
    assert_true(json_is_null(json_object_get(json_array_get(rows, 4), "baseline_verdict")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 3), "reason")),
                        "node limit 9 reached");
    json_decref(j);
    wf_results_free(&base);
    wf_results_free(&cur);
    wf_suite_free(&s);
}

/* ---- out of memory ------------------------------------------------------------------------------ */

/* Each under the out-of-memory loop (oom_each, wffix.h). */
static cn_status oom_suite(void *u, cn_err *err)
{
    (void)u;
    wf_suite s;
    cn_status st = wf_suite_load(tpath("oom_instances.csv"), &s, err);
    if (st != CN_OK)
        return st;
    st = wf_suite_expected(&s, tpath("oom_expected.csv"), err);
    if (st == CN_OK && (s.n != 3 || strcmp(s.v[2].expected, "unsat") != 0))
        fail_msg("suite read back wrong");
    wf_suite_free(&s);
    return st;
}

static cn_status oom_results(void *u, cn_err *err)
{
    (void)u;
    wf_results r, back;
    wf_results_init(&r);
    cn_status st = CN_OK;
    for (int i = 0; i < 70 && st == CN_OK; i++) /* (past the first growth at 64 rows) */
        st = wf_results_add_reason(&r, i % 2 ? "n,1.onnx" : "n2.onnx", "p.vnnlib",
                                   i == 69 ? "error" : "unsat", 0.5 * i, i,
                                   i == 69 ? "n,1.onnx: cannot open" : NULL, err);
    if (st == CN_OK)
        st = wf_results_write(tpath("oom_results.csv"), &r, err);
    if (st == CN_OK) {
        st = wf_results_load(tpath("oom_results.csv"), &back, err);
        if (st == CN_OK) {
            if (back.n != 70 || strcmp(back.v[69].onnx, "n,1.onnx") != 0 ||
                !back.v[69].reason || strcmp(back.v[69].reason, "n,1.onnx: cannot open") != 0)
                fail_msg("results read back wrong");
            wf_results_free(&back);
        }
    }
    wf_results_free(&r);
    return st;
}

static cn_status oom_json(void *u, cn_err *err)
{
    (void)u;
    json_t *root = json_pack("{s:s, s:i}", "verdict", "unsat", "nodes", 7);
    cn_status st = wf_write_json(tpath("oom.json"), root, err);
    json_decref(root);
    return st;
}

static void test_workflow_oom(void **state)
{
    (void)state;
    write_text(tpath("oom_instances.csv"), "a.onnx,p.vnnlib,60\nb.onnx,q.vnnlib,30\n"
                                           "\"c,d.onnx\",r.vnnlib,1\n");
    write_text(tpath("oom_expected.csv"), "onnx,vnnlib,expected\n\"c,d.onnx\",r.vnnlib,unsat\n");
    oom_each(oom_suite, NULL, false, "wf_suite_load + wf_suite_expected");
    oom_each(oom_results, NULL, false, "wf_results_add / write / load");
    oom_each(oom_json, NULL, false, "wf_write_json");
}

/* ---- plot ------------------------------------------------------------------------------------- */

static void test_plot_files(void **state)
{
    (void)state;
    double x[] = {0.005, 0.01, 0.02}, c1[] = {90, 70, 20}, a1[] = {95, 90, 80}, c2[] = {80, 50, 0},
           a2[] = {85, 75, 60};
    wf_series s[] = {{"net-a", c1, a1, NULL}, {"net-b", c2, a2, NULL}};
    wf_plot p = {"title", "eps", "accuracy (%)", 3, x, 2, s};
    cn_err err;
    char png[400], svg[400];
    snprintf(png, sizeof png, "%s/p.png", tmpdir);
    snprintf(svg, sizeof svg, "%s/p.svg", tmpdir);
    assert_int_equal(wf_plot_write(&p, png, svg, 640, 480, &err), CN_OK);
    size_t len;
    char *d = slurp(png, &len);
    assert_non_null(d);
    assert_true(len > 1000);
    assert_memory_equal(d, "\x89PNG\r\n\x1a\n", 8);
    /* IHDR: width and height, big-endian */
    const unsigned char *u = (const unsigned char *)d;
    assert_int_equal((u[16] << 24) | (u[17] << 16) | (u[18] << 8) | u[19], 640);
    assert_int_equal((u[20] << 24) | (u[21] << 16) | (u[22] << 8) | u[23], 480);
    free(d);
    d = slurp(svg, &len);
    assert_non_null(d);
    assert_non_null(strstr(d, "<svg"));
    assert_non_null(strstr(d, "stroke-dasharray"));   /* the dashed attacked curves */
    free(d);
    assert_int_equal(wf_plot_write(&p, "/nonexistent-dir/p.png", NULL, 64, 64, &err), CN_EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_atomic_replaces),
        cmocka_unit_test(test_atomic_failure_keeps_old),
        cmocka_unit_test(test_atomic_concurrent_readers),
        cmocka_unit_test(test_vnncomp_result),
        cmocka_unit_test(test_csv_quoting_roundtrip),
        cmocka_unit_test(test_markdown),
        cmocka_unit_test(test_quantiles),
        cmocka_unit_test(test_mpq_decimal),
        cmocka_unit_test(test_decimal_up),
        cmocka_unit_test(test_score),
        cmocka_unit_test(test_suite_files),
        cmocka_unit_test(test_results_and_baseline),
        cmocka_unit_test(test_bench_reports),
        cmocka_unit_test(test_plot_files),
        cmocka_unit_test(test_workflow_oom),
    };
    int failed = cmocka_run_group_tests_name("workflow", tests, scratch_setup, scratch_teardown);
    return failed + test_workflow_radius_group();
}

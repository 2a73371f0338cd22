/* test_findings.c — the adversarial review's engine-level findings
 * (../shared/findings/README.md), each as a regression test through the
 * library: F3 (a counterexample that is not a double), F7 (an empty box),
 * F9 (a box beyond the doubles).  tests/findings.sh drives every finding
 * through the command line. */
#include "config.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "tests/engfix.h"

/* Initialises res and runs the engine, which must not fail. */
static void verify_ok(const net *n, const prop *p, const vfy_opts *o, vfy_result *res)
{
    cn_err err;
    vfy_result_init(res);
    cn_status st = vfy_verify(n, p, o, NULL, res, &err);
    if (st != CN_OK)
        fail_msg("vfy_verify: status %d (%s)", (int)st, err.msg);
}

static void parse_text(const char *text, prop **p)
{
    cn_err err;
    assert_int_equal(prop_parse_vnnlib_mem(text, strlen(text), "inline", 0, p, &err), CN_OK);
}

/* Options that leave a counterexample to the search itself: no attack. */
static void search_only(vfy_opts *o)
{
    vfy_opts_init(o);
    o->threads = 1;
    o->timeout_s = 20;
    o->attack_s = 0;
    o->attack_bursts = false;
}

/* F3: boxes that hold no double or reach beyond the doubles.  The engine's
 * own search (the attack off) must report `sat` with the exact rational
 * point, never fail its exact re-check. */
static void test_f3_exact_counterexample(void **state)
{
    static const struct {
        const char *file;
        const char *x;               /* the expected point, exactly */
    } cases[] = {
        {"findings/F3_verify_sat_crash/point01.vnnlib", "1/10"},
        {"findings/F3_verify_sat_crash/tinybox.vnnlib", NULL}, /* in [1e-400, 2e-400] */
        {"findings/F3_verify_sat_crash/hugeX.vnnlib", NULL},   /* in [1e400, 1e401] */
    };
    for (int k = 0; k < 3; k++) {
        net *n = NULL;
        prop *p = NULL;
        load_instance("benchmarks/test/test_small.onnx", cases[k].file, &n, &p);
        for (int attack = 0; attack < 2; attack++) {
            vfy_opts o;
            search_only(&o);
            if (attack)
                o.attack_s = 0.2; /* the attack's own exact point */
            vfy_result res;
            verify_ok(n, p, &o, &res);
            printf("# F3 %s (attack %d): %s by %s\n", cases[k].file, attack,
                   vfy_verdict_name(res.verdict), res.found_by);
            assert_int_equal(res.verdict, VFY_SAT);
            assert_true(res.check.violated);
            const prop_case *pc = prop_case_at(p, res.check.case_idx);
            assert_true(mpq_cmp(res.x[0], pc->lo[0]) >= 0 && mpq_cmp(res.x[0], pc->hi[0]) <= 0);
            if (cases[k].x) {
                mpq_t want;
                mpq_init(want);
                assert_int_equal(mpq_set_str(want, cases[k].x, 10), 0);
                assert_true(mpq_equal(res.x[0], want));
                mpq_clear(want);
            }
            assert_true(isfinite(res.x_d[0])); /* display value: nearest finite double */
            vfy_result_clear(&res);
        }
        prop_free(p);
        net_free(n);
    }
}

/* F7: swapped input bounds: `unsat` (vacuously true), reported as such. */
static void test_f7_empty_box(void **state)
{
    net *n = NULL;
    prop *p = NULL;
    load_instance("benchmarks/test/test_small.onnx", "findings/F7_empty_box_unsat/empty.vnnlib",
                  &n, &p);
    vfy_opts o;
    search_only(&o);
    vfy_result res;
    verify_ok(n, p, &o, &res);
    assert_int_equal(res.verdict, VFY_UNSAT);
    assert_int_equal(res.empty_cases, 1);
    vfy_result_clear(&res);
    prop_free(p);
    /* a box that is empty only in exact arithmetic: 1/10 + 10^-30 > 1/10,
     * while both bounds round to overlapping doubles */
    parse_text("(declare-const X_0 Real)\n(declare-const Y_0 Real)\n"
               "(assert (>= X_0 0.100000000000000000000000000001))\n(assert (<= X_0 0.1))\n"
               "(assert (>= Y_0 -1000))\n",
               &p);
    assert_true(prop_case_at(p, 0)->lo_d[0] <= prop_case_at(p, 0)->hi_d[0]);
    verify_ok(n, p, &o, &res);
    assert_int_equal(res.verdict, VFY_UNSAT);
    assert_int_equal(res.empty_cases, 1);
    vfy_result_clear(&res);
    prop_free(p);
    /* a non-empty box is not reported */
    cn_err err;
    assert_int_equal(prop_parse_vnnlib(tu_shared("findings/F3_verify_sat_crash/point01.vnnlib"), &p,
                                       &err),
                     CN_OK);
    verify_ok(n, p, &o, &res);
    assert_int_equal(res.empty_cases, 0);
    vfy_result_clear(&res);
    prop_free(p);
    net_free(n);
}

/* F9: a box of finite rationals beyond the doubles: a counterexample at an
 * exact corner when there is one (the attack off), otherwise `unknown` with
 * a reason naming the input — never an error from bounds/. */
static void test_f9_box_beyond_doubles(void **state)
{
    net *n = NULL;
    prop *p = NULL;
    load_instance("benchmarks/test/test_small.onnx",
                  "findings/F9_infinite_box_verify_error/bigexp.vnnlib", &n, &p);
    vfy_opts o;
    search_only(&o);
    vfy_result res;
    verify_ok(n, p, &o, &res);
    printf("# F9 bigexp: %s (%s)\n", vfy_verdict_name(res.verdict), res.reason);
    assert_true(res.verdict == VFY_SAT || res.verdict == VFY_UNKNOWN);
    if (res.verdict == VFY_SAT)
        assert_true(res.check.violated);
    else
        assert_non_null(strstr(res.reason, "X_0"));
    vfy_result_clear(&res);
    prop_free(p);
    /* no output can reach 10^999 from |x| <= 10^400: unknown, naming X_0 */
    parse_text("(declare-const X_0 Real)\n(declare-const Y_0 Real)\n"
               "(assert (>= X_0 -1e400))\n(assert (<= X_0 1e400))\n"
               "(assert (>= Y_0 1e999))\n",
               &p);
    verify_ok(n, p, &o, &res);
    assert_int_equal(res.verdict, VFY_UNKNOWN);
    assert_non_null(strstr(res.reason, "X_0"));
    vfy_result_clear(&res);
    prop_free(p);
    net_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f3_exact_counterexample),
        cmocka_unit_test(test_f7_empty_box),
        cmocka_unit_test(test_f9_box_beyond_doubles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

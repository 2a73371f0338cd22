/* test_workflow_radius.c — test_workflow's verifier part (verifier/: atoms as
 * rows, bounds only, probes, radius): atoms with coefficients that are not
 * doubles, and the radius search on a 1-D network whose radius is known in
 * closed form, also under the out-of-memory loop. */
#include "config.h"

#include <math.h>

#include "tests/groups.h"
#include "tests/wffix.h"

/* ---- radius on a 1-D network with a closed-form radius --------------------------------------- */
/*
 * x in [0,1];  h = relu([1; -1] x);  y0 = 0.5 - h0,  y1 = h0 - h1.
 * On [0,1]: y0 = 0.5 - x, y1 = x, so label 0 iff x < 0.25 (x = 0.25 is a tie,
 * which counts as misclassified: unsafe is y_j >= y_label).
 * Radius of x0 < 0.25 (label 0): r* = 0.25 - x0; of x0 > 0.25 (label 1): x0 - 0.25.
 */
static net *toy(void)
{
    cn_err err;
    net *n = net_new((net_shape){1, 1, 1});
    net_layer *l = net_add_dense(n, 2, &err);
    l->W[0] = 1;
    l->W[1] = -1;
    assert_non_null(net_add_relu(n, &err));
    l = net_add_dense(n, 2, &err);
    l->W[0] = -1;   /* y0 = -h0 + 0.5 */
    l->W[1] = 0;
    l->W[2] = 1;    /* y1 = h0 - h1 */
    l->W[3] = -1;
    l->b[0] = 0.5;
    return n;
}

typedef struct {
    vfy_prober pr;
    net *n;
} toy_ctx;

static void toy_init(toy_ctx *t)
{
    cn_err err;
    memset(t, 0, sizeof *t);
    t->n = toy();
    t->pr.n = t->n;
    t->pr.bc = bnd_ctx_new(t->n, &err);
    assert_non_null(t->pr.bc);
    bnd_opts_init(&t->pr.bounds, BND_CROWN);
    vfy_opts_init(&t->pr.engine);
    t->pr.engine.threads = 1;
    t->pr.engine.timeout_s = 10;
    atk_opts_init(&t->pr.pgd);
    t->pr.pgd.time_limit = 5;
    t->pr.pgd.max_restarts = 32;
}

static void toy_free(toy_ctx *t)
{
    bnd_ctx_free(t->pr.bc);
    net_free(t->n);
}

static void radius_of(toy_ctx *t, int pixel, int label, bool complete, bool deepfool,
                      vfy_radius_result *r)
{
    cn_err err;
    mpq_t x0[1];
    mpq_init(x0[0]);
    mpq_set_ui(x0[0], (unsigned long)pixel, 255);
    mpq_canonicalize(x0[0]);
    vfy_radius_opts o;
    o.max_eps = "0.5";
    o.bits = vfy_radius_bits(0.5, 0.001);
    o.deepfool = deepfool;
    atk_opts_init(&o.deepfool_opts);
    t->pr.complete = complete;
    assert_int_equal(vfy_radius(&t->pr, x0, label, &o, r, &err), CN_OK);
    mpq_clear(x0[0]);
}

static void test_radius_bits(void **state)
{
    (void)state;
    assert_int_equal(vfy_radius_bits(0.5, 0.001), 9);    /* 0.5/512 = 0.00098 */
    assert_int_equal(vfy_radius_bits(0.25, 0.001), 8);
    assert_int_equal(vfy_radius_bits(1, 1), 1);
}

static void test_prop_bounds_toy(void **state)
{
    (void)state;
    toy_ctx t;
    toy_init(&t);
    cn_err err;
    mpq_t x0[1], e;
    mpq_init(x0[0]);
    mpq_init(e);
    mpq_set_d(e, 0.2);   /* ball [0, 0.2]: robust (true radius 0.25) */
    vfy_probe_verdict v;
    assert_int_equal(vfy_probe_certify(&t.pr, x0, 0, e, &v, &err), CN_OK);
    assert_int_equal(v, VFY_PROBE_ROBUST);
    mpq_set_d(e, 0.3);   /* ball [0, 0.3] holds x = 0.25.. */
    assert_int_equal(vfy_probe_certify(&t.pr, x0, 0, e, &v, &err), CN_OK);
    assert_int_equal(v, VFY_PROBE_OPEN);
    assert_int_equal(vfy_probe_attack(&t.pr, x0, 0, e, &v, &err), CN_OK);
    assert_int_equal(v, VFY_PROBE_ATTACKED);
    bool correct;
    assert_int_equal(vfy_probe_clean(&t.pr, x0, 0, &correct, &err), CN_OK);
    assert_true(correct);
    assert_int_equal(vfy_probe_clean(&t.pr, x0, 1, &correct, &err), CN_OK);
    assert_false(correct);
    mpq_clear(x0[0]);
    mpq_clear(e);
    toy_free(&t);
}

/* Atoms whose coefficients are not doubles (0.1): the rows carry the
 * nearest double and its rounding error (vfy_case_rows, rule (R)), and the
 * bounds-only verifier proves such an atom false where the margin allows
 * (before, it left every such atom unbounded). */
static void test_bounds_inexact_coefs(void **state)
{
    (void)state;
    toy_ctx t;
    toy_init(&t);
    cn_err err;
    /* unsafe: 0.1 y0 <= 0.1 y1, i.e. 0.1 (y0 - y1) = 0.1 (0.5 - 2x) <= 0; on
     * [0, 0.2] its left side is >= 0.01, on [0, 0.3] it reaches -0.01 */
    const char *fmt = "(declare-const X_0 Real)\n(declare-const Y_0 Real)\n"
                      "(declare-const Y_1 Real)\n(assert (>= X_0 0.0))\n"
                      "(assert (<= X_0 %s))\n(assert (<= (* 0.1 Y_0) (* 0.1 Y_1)))\n";
    const char *hi[2] = {"0.2", "0.3"};
    for (int i = 0; i < 2; i++) {
        char text[400];
        snprintf(text, sizeof text, fmt, hi[i]);
        write_text(tpath("inexact.vnnlib"), text);
        prop *p = NULL;
        assert_int_equal(prop_parse_vnnlib(tpath("inexact.vnnlib"), &p, &err), CN_OK);
        const prop_case *pc = prop_case_at(p, 0);
        assert_int_equal(vfy_case_n_atoms(pc), 1);
        double C[2], cerr[2], r_up[1];
        int dstart[2];
        assert_int_equal(vfy_case_rows(pc, 2, C, cerr, r_up, dstart, &err), CN_OK);
        assert_int_equal(dstart[0], 0);
        assert_int_equal(dstart[1], 1);
        mpq_t a, c;
        mpq_inits(a, c, NULL);
        for (int j = 0; j < 2; j++) { /* |a_j - C_j| <= cerr_j, with a_j = +-1/10 */
            mpq_set_si(a, j == 0 ? 1 : -1, 10);
            mpq_set_d(c, C[j]);
            mpq_sub(c, a, c);
            mpq_abs(c, c);
            assert_true(cerr[j] > 0);
            mpq_set_d(a, cerr[j]);
            assert_true(mpq_cmp(c, a) <= 0);
        }
        mpq_clears(a, c, NULL);
        assert_true(r_up[0] == 0.0);
        double lb[1];
        bool out = false, proven = false;
        assert_int_equal(vfy_bounds_case(t.n, t.pr.bc, &t.pr.bounds, p, 0, lb, &out, &err), CN_OK);
        printf("# 0.1 (y0 - y1) on [0, %s]: lower bound %.17g\n", hi[i], lb[0]);
        if (i == 0) { /* sound and proven: 0 < lb <= 0.01 */
            assert_true(out);
            assert_true(lb[0] > 0 && lb[0] <= 0.01);
        } else {      /* sound: lb <= -0.01 */
            assert_false(out);
            assert_true(lb[0] <= -0.01);
        }
        assert_int_equal(vfy_bounds_prop(t.n, t.pr.bc, &t.pr.bounds, p, &proven, NULL, &err),
                         CN_OK);
        assert_int_equal(proven, i == 0);
        prop_free(p);
    }
    /* a coefficient beyond the double range (before: SIGFPE in mpq_set_d of
     * an infinity): a zero row that is never ruled out */
    write_text(tpath("huge.vnnlib"), "(declare-const X_0 Real)\n(declare-const Y_0 Real)\n"
                                     "(declare-const Y_1 Real)\n(assert (>= X_0 0.0))\n"
                                     "(assert (<= X_0 0.2))\n(assert (<= (* 1e400 Y_0) Y_1))\n");
    prop *p = NULL;
    assert_int_equal(prop_parse_vnnlib(tpath("huge.vnnlib"), &p, &err), CN_OK);
    double C[2], cerr[2], r_up[1], lb[1];
    assert_int_equal(vfy_case_rows(prop_case_at(p, 0), 2, C, cerr, r_up, NULL, &err), CN_OK);
    assert_true(C[0] == 0 && C[1] == 0 && cerr[0] == 0 && cerr[1] == 0 && r_up[0] == INFINITY);
    bool out = true;
    assert_int_equal(vfy_bounds_case(t.n, t.pr.bc, &t.pr.bounds, p, 0, lb, &out, &err), CN_OK);
    assert_false(out);
    assert_true(lb[0] == -INFINITY);
    prop_free(p);
    toy_free(&t);
}

static void check_bracket(const vfy_radius_result *r, double truth, double step)
{
    printf("# radius: certified %s, attacked %s (%s), truth %.17g\n", r->certified, r->attacked,
           r->attacked_by, truth);
    assert_false(r->misclassified);
    assert_true(r->cert_k >= 0);
    assert_true(r->attacked_found);
    /* sound: certified < truth <= attacked */
    assert_true(r->certified_d < truth);
    assert_double_le(truth, r->attacked_d);
    /* tight on this network: exact bounds, and attacks reach the grid point above */
    assert_double_le(truth - step, r->certified_d);
    assert_double_le(r->attacked_d, truth + step);
    assert_double_le(r->certified_d, r->attacked_d);
}

static void test_radius_toy(void **state)
{
    (void)state;
    toy_ctx t;
    toy_init(&t);
    double step = 0.5 / 512;
    vfy_radius_result r;
    radius_of(&t, 0, 0, false, true, &r);          /* x0 = 0: r* = 0.25, on the grid */
    check_bracket(&r, 0.25, step);
    assert_string_equal(r.certified, "0.2490234375"); /* 255/1024: the grid point below */
    assert_string_equal(r.attacked, "0.25");
    radius_of(&t, 51, 0, false, true, &r);         /* x0 = 0.2: r* = 0.05, off the grid */
    check_bracket(&r, 0.05, step);
    assert_string_equal(r.certified, "0.0498046875"); /* 51/1024 */
    radius_of(&t, 51, 0, true, true, &r);          /* the complete engine agrees */
    check_bracket(&r, 0.05, step);
    radius_of(&t, 51, 0, false, false, &r);        /* PGD alone: the grid point above */
    check_bracket(&r, 0.05, step);
    assert_string_equal(r.attacked, "0.05078125");   /* 52/1024 */
    assert_string_equal(r.attacked_by, "pgd");
    radius_of(&t, 204, 1, false, true, &r);        /* x0 = 0.8: r* = 0.55 > max eps 0.5 */
    assert_string_equal(r.certified, "0.5");        /* the whole grid is proven */
    assert_true(r.attacked_found);                  /* DeepFool is not bounded by max eps */
    assert_string_equal(r.attacked_by, "deepfool");
    assert_double_le(0.55, r.attacked_d);
    assert_double_le(r.attacked_d, 0.55 * (1 + 1e-5));
    radius_of(&t, 204, 1, false, false, &r);       /* without DeepFool: no attack up to 0.5 */
    assert_false(r.attacked_found);
    assert_string_equal(r.attacked_by, "none");
    assert_true(isinf(r.attacked_d));
    assert_string_equal(r.certified, "0.5");
    radius_of(&t, 0, 1, false, true, &r);          /* wrong label: misclassified */
    assert_true(r.misclassified);
    assert_int_equal(r.cert_k, -1);
    assert_double_near(r.attacked_d, 0, 0);
    toy_free(&t);
}

static void test_radius_stop(void **state)
{
    (void)state;
    toy_ctx t;
    toy_init(&t);
    volatile sig_atomic_t stop = 1;
    t.pr.stop = &stop;
    vfy_radius_result r;
    radius_of(&t, 0, 0, false, true, &r);
    assert_true(r.interrupted);
    assert_int_equal(r.probes_certify, 0);
    assert_int_equal(r.probes_attack, 0);
    toy_free(&t);
}

/* ---- out of memory ------------------------------------------------------------------------------ */

typedef struct {
    toy_ctx *t;
    double eps;
    vfy_probe_verdict want, got;
} oom_probe_arg;

/* vfy_probe_certify with the complete engine: bounds, then vfy_verify */
static cn_status oom_probe(void *u, cn_err *err)
{
    oom_probe_arg *a = u;
    mpq_t x0[1], e;
    mpq_init(x0[0]);
    mpq_init(e);
    mpq_set_d(e, a->eps);
    vfy_probe_verdict v = VFY_PROBE_OPEN;
    cn_status st = vfy_probe_certify(&a->t->pr, x0, 0, e, &v, err);
    if (st == CN_OK && v != a->want && v != VFY_PROBE_OPEN) /* (open: an undecided engine) */
        fail_msg("probe of eps %g: verdict %d, expected %d", a->eps, (int)v, (int)a->want);
    a->got = v;
    mpq_clear(x0[0]);
    mpq_clear(e);
    return st;
}

/* The probe under the out-of-memory loop (wffix.h), robust and attacked balls. */
static void test_probe_oom(void **state)
{
    (void)state;
    toy_ctx t;
    toy_init(&t);
    t.pr.complete = true;
    t.pr.engine.attack_s = 0;   /* deterministic: no time-limited attack */
    t.pr.engine.attack_bursts = false;
    oom_probe_arg robust = {&t, 0.2, VFY_PROBE_ROBUST, 0}, attacked = {&t, 0.3, VFY_PROBE_ATTACKED, 0};
    oom_each(oom_probe, &robust, true, "vfy_probe_certify, robust ball");
    assert_int_equal(robust.got, VFY_PROBE_ROBUST);   /* (the last call ran without a failure) */
    oom_each(oom_probe, &attacked, true, "vfy_probe_certify (complete engine), attacked ball");
    assert_int_equal(attacked.got, VFY_PROBE_ATTACKED);
    toy_free(&t);
}

int test_workflow_radius_group(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_radius_bits),
        cmocka_unit_test(test_prop_bounds_toy),
        cmocka_unit_test(test_bounds_inexact_coefs),
        cmocka_unit_test(test_radius_toy),
        cmocka_unit_test(test_radius_stop),
        cmocka_unit_test(test_probe_oom),
    };
    return cmocka_run_group_tests_name("workflow_radius", tests, scratch_setup, scratch_teardown);
}

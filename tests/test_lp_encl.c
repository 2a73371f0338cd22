/* test_lp_encl.c — the LP on convolutions and on networks with an
 * enclosure (finding F1): the rigorous bound holds for every network of the
 * enclosure (checked exactly, exact.h) and is tight where it should be. */
#include "config.h"

#include <fenv.h>
#include <math.h>

#include "lp/lp.h"
#include "tests/exact.h"
#include "tests/lpfix.h"
#include "tests/testutil.h"

/* ---- enclosures (finding F1) ---------------------------------------------
 * A layer whose W, b only enclose the file's values (models.h, net_layer:
 * wrel, wabs, brad) stands for every network with W* = W + t R,
 * R = wrel |W| + wabs (over the receptive field), b* = b + s brad,
 * t, s in [-1, 1].  The LP's rigorous bound must hold for each of them. */

/* The networks of the enclosure checked (exact.h, pert). */
static const pert perts[] = {{PT_CORNER, 1, 0},  {PT_CORNER, -1, 0}, {PT_RANDOM, 0, 21},
                             {PT_RANDOM, 0, 22}, {PT_PUSH, 1, 0},    {PT_PUSH, -1, 0}};
#define N_PERTS ((int)(sizeof perts / sizeof perts[0]))

/* Exact c.y + d (rounded down) at x for the network of n's enclosure that
 * pt names; false when a ReLU input breaks split (NULL: none) there. */
static bool exact_obj_pert(const net *n, const double *x, const pert *pt,
                           const signed char *const *split, const double *c, double d,
                           double *value)
{
    trace t;
    trace_init(&t, n);
    eval_encl(n, x, pt, &t);
    bool ok = true;
    for (int i = 0; i < t.nl; i++) {
        if (net_layer_at(n, i)->op != NET_RELU || !split || !split[i])
            continue;
        for (int j = 0; j < t.w[i]; j++) {
            int sg = mpq_sgn(t.z[i][j]), sp = split[i][j];
            if ((sp > 0 && sg < 0) || (sp < 0 && sg > 0))
                ok = false;
        }
    }
    mpq_t q, acc;
    mpq_inits(q, acc, NULL);
    mpq_set_d(acc, d);
    for (int k = 0; k < t.w[t.nl]; k++) {
        mpq_set_d(q, c[k]);
        mpq_mul(q, q, t.z[t.nl][k]);
        mpq_add(acc, acc, q);
    }
    *value = cn_mpq_get_d_down(acc);
    mpq_clears(q, acc, NULL);
    trace_clear(&t);
    return ok;
}

/* Random radii on every affine layer of f's net, large enough for the
 * LP to see: wrel 10^U(-6,-3) (or 0), wabs 10^U(-7,-4) (or 0), brad
 * 10^U(-6,-3) (or NULL; every output of the last layer has one); then the
 * pre-activation bounds again, widened. */
static void fixture_enclosure(fixture *f, tu_rng *r)
{
    for (int i = 0; i < f->L; i++) {
        net_layer *l = (net_layer *)net_layer_at(f->n, i); /* the test's own net */
        if (l->op == NET_RELU)
            continue;
        bool last = i + 1 == f->L;
        l->wrel = tu_unif(r) < 0.8 ? pow(10.0, -6 + 3 * tu_unif(r)) : 0.0;
        l->wabs = tu_unif(r) < 0.5 ? pow(10.0, -7 + 3 * tu_unif(r)) : 0.0;
        if (last || tu_unif(r) < 0.6) {
            int nb = l->op == NET_CONV ? l->out_shape.c : l->out;
            assert_non_null(l->brad = cn_calloc((size_t)nb, sizeof(double)));
            for (int o = 0; o < nb; o++)
                l->brad[o] = last || tu_unif(r) < 0.8 ? pow(10.0, -6 + 3 * tu_unif(r)) : 0.0;
        }
    }
    interval_bounds(f->n, f->lo, f->hi, f->pre_lo, f->pre_hi);
}

/* The LP's rigorous bound and the MILP's minimum on a net with an
 * enclosure lie below c.y + d of every network of pts at the box's
 * vertices and random points (those meeting the split, when one is set),
 * and below the same net's without the enclosure: strictly for the LP
 * (the last layer's bias radii alone move every output). */
static void test_lp_enclosure_sound(void **state)
{
    tu_rng r = {tu_seed("lp_enclosure_sound", 1207)};
    cn_err err;
    lp_opts o;
    lp_opts_init(&o);
    int checked = 0, split_trials = 0;
    for (int trial = 0; trial < 40; trial++) {
        int nin = 2 + (int)(tu_next(&r) % 2), h1 = 3 + (int)(tu_next(&r) % 4),
            h2 = 3 + (int)(tu_next(&r) % 4);
        tu_rng r2 = r;
        fixture fe, fn;
        make_fixture(&fe, &r, nin, h1, h2, 3);
        make_fixture(&fn, &r2, nin, h1, h2, 3);
        fixture_enclosure(&fe, &r);
        double c[3] = {rw(&r), rw(&r), rw(&r)}, d = rw(&r);
        /* odd trials: a split on the first neuron of layer 1 unstable in both */
        signed char s1[8] = {0};
        const signed char *sp[5] = {NULL, s1, NULL, NULL, NULL};
        if (trial % 2)
            for (int j = 0; j < h1; j++)
                if (fn.pre_lo[1][j] < 0 && fn.pre_hi[1][j] > 0) {
                    s1[j] = tu_unif(&r) < 0.5 ? 1 : -1;
                    split_trials++;
                    break;
                }
        lp_region re = {fe.lo, fe.hi, (const double *const *)fe.pre_lo,
                        (const double *const *)fe.pre_hi, sp, 0, NULL};
        lp_region rn = {fn.lo, fn.hi, (const double *const *)fn.pre_lo,
                        (const double *const *)fn.pre_hi, sp, 0, NULL};
        lp_ctx *ce = lp_ctx_new(fe.n, &err), *cn = lp_ctx_new(fn.n, &err);
        assert_non_null(ce);
        assert_non_null(cn);
        lp_outcome out;
        double lbe, lbn, me, mn;
        assert_int_equal(lp_lower_bound(ce, &re, &o, c, d, &out, &lbe, NULL, &err), CN_OK);
        assert_int_equal(out, LP_BOUND);
        assert_int_equal(lp_lower_bound(cn, &rn, &o, c, d, &out, &lbn, NULL, &err), CN_OK);
        assert_int_equal(out, LP_BOUND);
        assert_true(isfinite(lbe) && isfinite(lbn));
        if (!(lbe < lbn))
            fail_msg("trial %d: LP bound with the enclosure %a not below %a without", trial, lbe,
                     lbn);
        assert_int_equal(lp_milp_min(fe.n, &re, &o, c, d, &out, &me, NULL, &err), CN_OK);
        assert_int_equal(out, LP_BOUND);
        assert_int_equal(lp_milp_min(fn.n, &rn, &o, c, d, &out, &mn, NULL, &err), CN_OK);
        assert_int_equal(out, LP_BOUND);
        assert_double_le(lbe, me + 1e-9);
        assert_double_le(me, mn + 1e-9);
        double x[3];
        for (int s = 0; s < 60; s++) {
            sample(&r, &fe, x, s < (1 << nin) ? s : -1);
            for (int pi = 0; pi < N_PERTS; pi++) {
                double v;
                if (!exact_obj_pert(fe.n, x, &perts[pi], sp, c, d, &v))
                    continue;
                if (!(lbe <= v))
                    fail_msg("trial %d, point %d, network %d: LP bound %a > exact %a", trial, s,
                             pi, lbe, v);
                assert_double_le(me, v + 1e-7);
                checked++;
            }
        }
        lp_ctx_free(ce);
        lp_ctx_free(cn);
        free_fixture(&fe);
        free_fixture(&fn);
    }
    printf("# %d (point, network) pairs checked against LP and MILP bounds, %d trials with a "
           "split\n", checked, split_trials);
    assert_true(checked > 40 * 30 * N_PERTS);
    assert_true(split_trials > 5);
}

/* (2,3,3) -> conv 2x2, 2 channels, stride 1 -> (2,2,2) -> relu -> dense 2:
 * the LP on a convolution (its bias is per channel), with and without an
 * enclosure, below the exact value of every network at sampled points. */
static void test_lp_conv(void **state)
{
    tu_rng r = {tu_seed("lp_conv", 31)};
    cn_err err;
    int checked = 0;
    for (int trial = 0; trial < 20; trial++) {
        fixture f;
        f.n_in = 18;
        f.n_out = 2;
        f.n = net_new((net_shape){2, 3, 3});
        net_layer *l = net_add_conv(f.n, 2, 2, 2, 1, 1, 0, 0, 0, 0, &err);
        assert_non_null(l);
        for (int k = 0; k < 2 * 2 * 4; k++)
            l->W[k] = rw(&r);
        l->b[0] = 0.5 + 0.5 * tu_unif(&r); /* distinct channel biases */
        l->b[1] = -0.5 - 0.5 * tu_unif(&r);
        assert_non_null(net_add_relu(f.n, &err));
        l = net_add_dense(f.n, 2, &err);
        assert_non_null(l);
        for (int k = 0; k < 2 * 8; k++)
            l->W[k] = rw(&r);
        f.L = net_n_layers(f.n);
        f.lo = calloc(18, sizeof(double));
        f.hi = calloc(18, sizeof(double));
        for (int k = 0; k < 18; k++) {
            double ctr = rw(&r), w = 0.05 + 0.3 * tu_unif(&r);
            f.lo[k] = ctr - w;
            f.hi[k] = ctr + w;
        }
        f.pre_lo = calloc(3, sizeof(double *));
        f.pre_hi = calloc(3, sizeof(double *));
        f.pre_lo[1] = calloc(8, sizeof(double));
        f.pre_hi[1] = calloc(8, sizeof(double));
        if (trial % 2)
            fixture_enclosure(&f, &r);
        else
            interval_bounds(f.n, f.lo, f.hi, f.pre_lo, f.pre_hi);
        double c[2] = {rw(&r), rw(&r)}, lb;
        lp_region reg = {f.lo, f.hi, (const double *const *)f.pre_lo,
                         (const double *const *)f.pre_hi, NULL, 0, NULL};
        lp_ctx *ctx = lp_ctx_new(f.n, &err);
        assert_non_null(ctx);
        lp_outcome out;
        assert_int_equal(lp_lower_bound(ctx, &reg, NULL, c, 0.0, &out, &lb, NULL, &err), CN_OK);
        assert_int_equal(out, LP_BOUND);
        double x[18], vmin = INFINITY;
        for (int s = 0; s < 100; s++) {
            sample(&r, &f, x, -1);
            for (int pi = 0; pi < (trial % 2 ? N_PERTS : 1); pi++) {
                double v;
                assert_true(exact_obj_pert(f.n, x, &perts[pi], NULL, c, 0.0, &v));
                if (!(lb <= v))
                    fail_msg("trial %d, point %d, network %d: LP bound %a > exact %a", trial, s,
                             pi, lb, v);
                vmin = fmin(vmin, v);
                checked++;
            }
        }
        /* not vacuous: within the relaxation's gap of the sampled minimum */
        assert_true(lb > vmin - 10.0);
        lp_ctx_free(ctx);
        free_fixture(&f);
    }
    printf("# %d (point, network) pairs checked against conv LP bounds\n", checked);
}

/* y = W x + b (one dense layer) on a box symmetric about 0, so |x| = m at
 * every vertex: there the network pushed down (t = -sign(x), s = -1) attains
 * c.y + d = the nominal minimum - |c| E, E = wrel |W| m + wabs sum m + brad.
 * The LP (exact on an affine net) must be below it and within rounding of
 * it — with each radius alone, so that each term of E is needed. */
static void test_lp_enclosure_tight(void **state)
{
    tu_rng r = {tu_seed("lp_enclosure_tight", 808)};
    cn_err err;
    for (int trial = 0; trial < 16; trial++) {
        int nin = 2 + trial % 3, which = trial % 4; /* wrel, wabs, brad, all */
        fixture f;
        f.n_in = nin;
        f.n_out = 1;
        f.n = net_new((net_shape){nin, 1, 1});
        net_layer *l = net_add_dense(f.n, 1, &err);
        assert_non_null(l);
        for (int k = 0; k < nin; k++)
            l->W[k] = rw(&r);
        l->b[0] = rw(&r);
        if (which == 0 || which == 3)
            l->wrel = 1e-3;
        if (which == 1 || which == 3)
            l->wabs = 1e-4;
        if (which == 2 || which == 3) {
            assert_non_null(l->brad = cn_calloc(1, sizeof(double)));
            l->brad[0] = 1e-3;
        }
        f.L = 1;
        f.lo = calloc((size_t)nin, sizeof(double));
        f.hi = calloc((size_t)nin, sizeof(double));
        for (int k = 0; k < nin; k++) {
            f.hi[k] = 0.5 + tu_unif(&r);
            f.lo[k] = -f.hi[k];
        }
        f.pre_lo = calloc(1, sizeof(double *));
        f.pre_hi = calloc(1, sizeof(double *));
        double c = tu_unif(&r) < 0.5 ? 1.0 : -1.0, lb;
        lp_region reg = {f.lo, f.hi, NULL, NULL, NULL, 0, NULL};
        lp_ctx *ctx = lp_ctx_new(f.n, &err);
        assert_non_null(ctx);
        lp_outcome out;
        assert_int_equal(lp_lower_bound(ctx, &reg, NULL, &c, 0.0, &out, &lb, NULL, &err), CN_OK);
        assert_int_equal(out, LP_BOUND);
        double x[4], best = INFINITY;
        const pert down = {PT_PUSH, c > 0 ? -1 : 1, 0};
        for (int v = 0; v < (1 << nin); v++) {
            sample(&r, &f, x, v);
            double val;
            assert_true(exact_obj_pert(f.n, x, &down, NULL, &c, 0.0, &val));
            if (!(lb <= val))
                fail_msg("trial %d (radius %d): LP bound %a > exact %a at vertex %d", trial, which,
                         lb, val, v);
            best = fmin(best, val);
        }
        assert_double_near(lb, best, 1e-9);
        lp_ctx_free(ctx);
        free_fixture(&f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lp_enclosure_sound),
        cmocka_unit_test(test_lp_enclosure_tight),
        cmocka_unit_test(test_lp_conv),
    };
    return cmocka_run_group_tests_name("lp_encl", tests, NULL, NULL);
}

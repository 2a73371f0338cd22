/* test_act.c — sigmoid / tanh networks: the MPFR enclosure of the exact
 * evaluator (models/eval_mpfr.c), the exact check deciding at increasing
 * precision (prop_check_point), and, on random small networks, that the
 * bounds of every method (bounds/act.c) and the checker's (certs/relax.c,
 * relax_act.c) enclose the exact outputs' enclosure at sampled points. */
#include "config.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <mpfr.h>

#include "bounds/bounds.h"
#include "certs/certs.h"
#include "models/models.h"
#include "tests/testutil.h"

/* in -> [dense h -> act]* -> dense out, weights in [-2, 2] (float values). */
static net *random_net(tu_rng *r, int in, int out, int hidden, int width)
{
    cn_err err;
    net *n = net_new((net_shape){in, 1, 1});
    int w = in;
    for (int k = 0; k <= hidden; k++) {
        int o = k == hidden ? out : width;
        net_layer *l = net_add_dense(n, o, &err);
        assert_non_null(l);
        for (int i = 0; i < o * w; i++)
            l->W[i] = (float)(4.0 * tu_unif(r) - 2.0);
        for (int i = 0; i < o; i++)
            l->b[i] = (float)(2.0 * tu_unif(r) - 1.0);
        w = o;
        if (k == hidden)
            break;
        double u = tu_unif(r);
        net_op op = u < 0.45 ? NET_SIGMOID : u < 0.9 ? NET_TANH : NET_RELU;
        assert_non_null(net_add_act(n, op, &err));
    }
    return n;
}

/* lb <= hi (as rationals) */
static bool le_q(double lb, const mpq_t hi)
{
    mpq_t t;
    mpq_init(t);
    mpq_set_d(t, lb);
    bool ok = mpq_cmp(t, hi) <= 0;
    mpq_clear(t);
    return ok;
}

static void check_point(const net *n, const double *x, const double *lbr, int n_out,
                        const char *what)
{
    int in = net_in_size(n);
    mpq_t *xq = malloc((size_t)in * sizeof(mpq_t)), *lo = malloc((size_t)n_out * sizeof(mpq_t)),
          *hi = malloc((size_t)n_out * sizeof(mpq_t));
    for (int i = 0; i < in; i++) {
        mpq_init(xq[i]);
        mpq_set_d(xq[i], x[i]);
    }
    for (int j = 0; j < n_out; j++) {
        mpq_init(lo[j]);
        mpq_init(hi[j]);
    }
    cn_err err;
    assert_int_equal(net_eval_enclose_prec(n, xq, lo, hi, 128, &err), CN_OK);
    for (int j = 0; j < n_out; j++) {
        /* row j: y_j >= lbr[j]; row n_out + j: -y_j >= lbr[n_out + j] */
        if (!le_q(lbr[j], hi[j]))
            fail_msg("%s: output %d: lower bound %a above the exact value (<= %a)", what, j,
                     lbr[j], mpq_get_d(hi[j]));
        if (!le_q(lbr[n_out + j], lo[j]) && !(-lbr[n_out + j] >= mpq_get_d(lo[j]) + 1.0)) {
            mpq_t t;
            mpq_init(t);
            mpq_set_d(t, -lbr[n_out + j]);
            bool ok = mpq_cmp(t, lo[j]) >= 0;
            mpq_clear(t);
            if (!ok)
                fail_msg("%s: output %d: upper bound %a below the exact value (>= %a)", what,
                         j, -lbr[n_out + j], mpq_get_d(lo[j]));
        }
    }
    for (int i = 0; i < in; i++)
        mpq_clear(xq[i]);
    for (int j = 0; j < n_out; j++) {
        mpq_clear(lo[j]);
        mpq_clear(hi[j]);
    }
    free(xq);
    free(lo);
    free(hi);
}

/* Every method's bounds and the checker's enclose the exact outputs. */
static void test_bounds_enclose(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("act_bounds_enclose", 20261207)};
    const bnd_method methods[] = {BND_INTERVAL, BND_DEEPPOLY, BND_CROWN, BND_ALPHA};
    int proper = 0;
    for (int t = 0; t < 40; t++) {
        int in = 1 + (int)(tu_next(&r) % 4), out = 2 + (int)(tu_next(&r) % 2);
        int hidden = 1 + (int)(tu_next(&r) % 3), width = 2 + (int)(tu_next(&r) % 6);
        net *n = random_net(&r, in, out, hidden, width);
        double lo[4], hi[4], x[4];
        double rad = t % 3 == 0 ? 2.0 : t % 3 == 1 ? 0.3 : 0.01;
        for (int i = 0; i < in; i++) {
            double c = 2.0 * tu_unif(&r) - 1.0;
            lo[i] = c - rad * tu_unif(&r);
            hi[i] = c + rad * tu_unif(&r);
        }
        double C[2 * 3 * 3] = {0}, lb[6], clb[6];
        for (int j = 0; j < out; j++) {
            C[j * out + j] = 1.0;
            C[(out + j) * out + j] = -1.0;
        }
        cn_err err;
        bnd_ctx *bc = bnd_ctx_new(n, &err);
        assert_non_null(bc);
        cert_bounds *cb = cert_bounds_new(n, &err);
        assert_non_null(cb);
        assert_int_equal(cert_bounds_region(cb, lo, hi, NULL), CERT_REGION_OK);
        for (int q = 0; q < 2 * out; q++)
            clb[q] = cert_bounds_row(cb, C + q * out);
        for (size_t mi = 0; mi < sizeof methods / sizeof methods[0]; mi++) {
            bnd_opts o;
            bnd_opts_init(&o, methods[mi]);
            bnd_region rg = {lo, hi, NULL, NULL, NULL, NULL, NULL};
            bnd_result res;
            assert_int_equal(bnd_run(bc, &o, &rg, 2 * out, C, NULL, lb, &res, &err), CN_OK);
            for (int q = 0; q < 2 * out; q++)
                assert_false(isnan(lb[q]));
            if (isfinite(lb[0]) && isfinite(lb[out]) && -lb[out] - lb[0] < 1e3)
                proper++;
            for (int s = 0; s < 12; s++) {
                for (int i = 0; i < in; i++) {
                    double u = s < 2 ? (double)s : tu_unif(&r);
                    x[i] = lo[i] + u * (hi[i] - lo[i]);
                    if (x[i] > hi[i])
                        x[i] = hi[i];
                }
                char what[96];
                snprintf(what, sizeof what, "net %d, %s, point %d", t,
                         bnd_method_name(methods[mi]), s);
                check_point(n, x, lb, out, what);
                if (mi == 0) {
                    snprintf(what, sizeof what, "net %d, checker, point %d", t, s);
                    check_point(n, x, clb, out, what);
                }
            }
        }
        cert_bounds_free(cb);
        bnd_ctx_free(bc);
        net_free(n);
    }
    assert_true(proper > 100);
}

/* A linear method is never worse than interval propagation (it is
 * intersected with it) and, on a narrow box, much better. */
static void test_linear_tighter(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("act_linear_tighter", 99)};
    int better = 0;
    for (int t = 0; t < 20; t++) {
        net *n = random_net(&r, 3, 2, 2, 6);
        double lo[3], hi[3];
        for (int i = 0; i < 3; i++) {
            double c = tu_unif(&r);
            lo[i] = c - 0.05;
            hi[i] = c + 0.05;
        }
        double C[8] = {1, 0, 0, 1, -1, 0, 0, -1}, li[4], lc[4];
        cn_err err;
        bnd_ctx *bc = bnd_ctx_new(n, &err);
        bnd_region rg = {lo, hi, NULL, NULL, NULL, NULL, NULL};
        bnd_opts o;
        bnd_opts_init(&o, BND_INTERVAL);
        assert_int_equal(bnd_run(bc, &o, &rg, 4, C, NULL, li, NULL, &err), CN_OK);
        bnd_opts_init(&o, BND_CROWN);
        assert_int_equal(bnd_run(bc, &o, &rg, 4, C, NULL, lc, NULL, &err), CN_OK);
        for (int q = 0; q < 4; q++)
            assert_true(lc[q] >= li[q]);
        if (lc[0] + lc[2] > li[0] + li[2] + 1e-3)
            better++;
        /* parameters cannot be recomputed for these networks */
        double al[1] = {0}, be[1] = {0}, lp[4];
        assert_int_equal(bnd_run_param(bc, NULL, 4, C, NULL, al, be, 0, 0, 0, lp, &err),
                         CN_EINVAL);
        bnd_ctx_free(bc);
        net_free(n);
    }
    assert_true(better >= 10);
}

/* f and f' in double (the tests' own reference, not bounds/act.c's). */
static double act_f(net_op op, double z) { return op == NET_SIGMOID ? 1.0 / (1.0 + exp(-z)) : tanh(z); }
static double act_d(net_op op, double z)
{
    double f = act_f(op, z);
    return op == NET_SIGMOID ? f * (1.0 - f) : 1.0 - f * f;
}

/* The tangent of f at d, evaluated at z. */
static double tangent_at(net_op op, double d, double z) { return act_f(op, d) + act_d(op, d) * (z - d); }

/* The point d between a and b whose tangent passes through (p, f(p))
 * (bisection on the sign of tangent(p) - f(p), which changes once). */
static double tangent_through(net_op op, double a, double b, double p)
{
    double ha = tangent_at(op, a, p) - act_f(op, p);
    for (int i = 0; i < 200; i++) {
        double m = 0.5 * (a + b), hm = tangent_at(op, m, p) - act_f(op, p);
        if ((hm > 0.0) == (ha > 0.0)) {
            a = m;
            ha = hm;
        } else {
            b = m;
        }
    }
    return 0.5 * (a + b);
}

/* y = f(x) - f(x) (= 0) on x in [l, u]: a linear method's lower bound of y
 * is min over the two end points of (lower line - upper line), so it pins
 * the lines themselves.  The reference lines (bounds/act.c's comment):
 * convex part (u <= 0): lower = tangent at the midpoint, upper = chord;
 * concave part (l >= 0): lower = chord, upper = tangent at the midpoint;
 * straddling: the tangent at d <= 0 through (u, f(u)) below, the one at
 * d >= 0 through (l, f(l)) above, or the chord where that tangent point
 * would lie outside [l, u] (f'(l) or f'(u) >= the chord's slope).  The engine's bound may differ from the
 * reference by its rounding slack only (1e-9 here, the slack is a few
 * ulps): a looser relaxation, or a slack much larger than needed, fails. */
static void test_lines_pinned(void **state)
{
    (void)state;
    const double iv[][2] = {{0.5, 3.0}, {-4.0, -0.25}, {-1.5, 2.5}, {-3.0, 0.5},
                            {2.0, 9.0}, {-0.2, 0.3},   {-7.0, 6.0}};
    const net_op ops[] = {NET_SIGMOID, NET_TANH};
    for (size_t oi = 0; oi < 2; oi++)
        for (size_t t = 0; t < sizeof iv / sizeof iv[0]; t++) {
            net_op op = ops[oi];
            double l = iv[t][0], u = iv[t][1];
            cn_err err;
            net *n = net_new((net_shape){1, 1, 1});
            net_layer *a = net_add_dense(n, 2, &err);
            a->W[0] = a->W[1] = 1.0;
            assert_non_null(net_add_act(n, op, &err));
            net_layer *b = net_add_dense(n, 1, &err);
            b->W[0] = 1.0;
            b->W[1] = -1.0;
            /* reference lines: lower lo(z), upper up(z), as functions */
            double gap = INFINITY;
            double ends[2] = {l, u};
            double dlo = 0.0, dup = 0.0;
            if (u > 0.0 && l < 0.0) {
                dlo = tangent_through(op, l, 0.0, u);
                dup = tangent_through(op, 0.0, u, l);
            }
            for (int e = 0; e < 2; e++) {
                double z = ends[e], lo, up;
                double chord = act_f(op, l) + (act_f(op, u) - act_f(op, l)) / (u - l) * (z - l);
                double mid = tangent_at(op, 0.5 * (l + u), z);
                if (u <= 0.0) {
                    lo = mid;
                    up = chord;
                } else if (l >= 0.0) {
                    lo = chord;
                    up = mid;
                } else {
                    double k = (act_f(op, u) - act_f(op, l)) / (u - l);
                    lo = act_d(op, l) >= k ? chord : tangent_at(op, dlo, z);
                    up = act_d(op, u) >= k ? chord : tangent_at(op, dup, z);
                }
                gap = fmin(gap, lo - up);
            }
            double ref = fmax(gap, act_f(op, l) - act_f(op, u));   /* and the interval bound */
            double lo_b[1] = {l}, hi_b[1] = {u}, C[1] = {1.0}, lb[1];
            bnd_ctx *bc = bnd_ctx_new(n, &err);
            assert_non_null(bc);
            bnd_region rg = {lo_b, hi_b, NULL, NULL, NULL, NULL, NULL};
            const bnd_method ms[] = {BND_DEEPPOLY, BND_CROWN};
            for (int mi = 0; mi < 2; mi++) {
                bnd_opts o;
                bnd_opts_init(&o, ms[mi]);
                assert_int_equal(bnd_run(bc, &o, &rg, 1, C, NULL, lb, NULL, &err), CN_OK);
                if (!(lb[0] <= 0.0 && lb[0] >= ref - 1e-9))
                    fail_msg("%s on [%g, %g], %s: bound %.17g, reference lines %.17g",
                             op == NET_SIGMOID ? "sigmoid" : "tanh", l, u,
                             bnd_method_name(ms[mi]), lb[0], ref);
            }
            /* the checker's relaxation (certs/relax_act.c) reaches the same */
            cert_bounds *cb = cert_bounds_new(n, &err);
            assert_non_null(cb);
            assert_int_equal(cert_bounds_region(cb, lo_b, hi_b, NULL), CERT_REGION_OK);
            double cl = cert_bounds_row(cb, C);
            if (!(cl <= 0.0 && cl >= ref - 1e-9))
                fail_msg("checker: %s on [%g, %g]: bound %.17g, reference lines %.17g",
                         op == NET_SIGMOID ? "sigmoid" : "tanh", l, u, cl, ref);
            cert_bounds_free(cb);
            bnd_ctx_free(bc);
            net_free(n);
        }
}

/* Every line is valid inside [l, u], not only at the end points:
 * y = f(x) - c t(x) with t(x) = f(s x) for a tiny s (almost linear, its
 * own lines almost exact), so for c = k / (s f'(0)) y is f(x) - k x up to
 * a constant: a linear method bounds y by the intercept of f's lower line
 * of slope near k, and -y by the upper one.  Both bounds must lie below
 * the exact minimum over a fine grid of [l, u] (MPFR enclosure at each
 * point), for slopes around the chord's, on intervals that straddle 0
 * (tangents made valid on the other side, and the chord where the tangent
 * point would lie outside [l, u]) and on one-sided ones. */
static void test_lines_valid_inside(void **state)
{
    (void)state;
    const double iv[][2] = {{-3.0, 0.5}, {-0.5, 3.0}, {-1.5, 2.5}, {-6.0, 0.2},
                            {-0.1, 5.0}, {0.3, 4.0},  {-5.0, -1.0}};
    const net_op ops[] = {NET_SIGMOID, NET_TANH};
    const double s = 0x1p-20;
    for (size_t oi = 0; oi < 2; oi++)
        for (size_t t = 0; t < sizeof iv / sizeof iv[0]; t++)
            for (int ki = 0; ki < 3; ki++) {
                net_op op = ops[oi];
                double l = iv[t][0], u = iv[t][1];
                double k = (act_f(op, u) - act_f(op, l)) / (u - l) * (0.5 + 0.5 * ki);
                cn_err err;
                net *n = net_new((net_shape){1, 1, 1});
                net_layer *a = net_add_dense(n, 2, &err);
                a->W[0] = 1.0;
                a->W[1] = s;
                assert_non_null(net_add_act(n, op, &err));
                net_layer *b = net_add_dense(n, 1, &err);
                b->W[0] = 1.0;
                b->W[1] = -k / (s * act_d(op, 0.0));
                double lo_b[1] = {l}, hi_b[1] = {u}, C[2] = {1.0, -1.0}, lb[2];
                bnd_ctx *bc = bnd_ctx_new(n, &err);
                assert_non_null(bc);
                bnd_region rg = {lo_b, hi_b, NULL, NULL, NULL, NULL, NULL};
                bnd_opts o;
                bnd_opts_init(&o, BND_CROWN);
                assert_int_equal(bnd_run(bc, &o, &rg, 2, C, NULL, lb, NULL, &err), CN_OK);
                cert_bounds *cb = cert_bounds_new(n, &err);
                assert_non_null(cb);
                assert_int_equal(cert_bounds_region(cb, lo_b, hi_b, NULL), CERT_REGION_OK);
                double cl[2] = {cert_bounds_row(cb, C), cert_bounds_row(cb, C + 1)};
                mpq_t xq, ylo, yhi, q;
                mpq_inits(xq, ylo, yhi, q, NULL);
                for (int g = 0; g <= 400; g++) {
                    double x = g == 400 ? u : l + (u - l) * g / 400.0;
                    mpq_set_d(xq, x);
                    assert_int_equal(net_eval_enclose_prec(n, &xq, &ylo, &yhi, 128, &err), CN_OK);
                    for (int r = 0; r < 2; r++) {
                        double v[2] = {lb[r], cl[r]};
                        for (int e = 0; e < 2; e++) {
                            mpq_set_d(q, r == 0 ? v[e] : -v[e]);
                            /* row 0: y >= v; row 1: -y >= v, i.e. y <= -v */
                            bool ok = r == 0 ? mpq_cmp(q, yhi) <= 0 : mpq_cmp(q, ylo) >= 0;
                            if (!ok)
                                fail_msg("%s %s on [%g, %g], slope %g: %s line not valid at "
                                         "x = %.17g",
                                         e ? "checker" : "engine",
                                         op == NET_SIGMOID ? "sigmoid" : "tanh", l, u, k,
                                         r ? "upper" : "lower", x);
                        }
                    }
                }
                mpq_clears(xq, ylo, yhi, q, NULL);
                cert_bounds_free(cb);
                bnd_ctx_free(bc);
                net_free(n);
            }
}

/* On a fixed network (2 inputs, three sigmoid/tanh layers of 8, fixed
 * weights and box) the linear bound of each output is at least the
 * interval bound, below the minimum over a 201 x 201 grid of the box, and
 * within the gap measured when this test was written (plus 10%) of that
 * minimum: a looser relaxation fails here.  Deterministic (no seed from
 * the environment: the network is part of the test). */
static void test_fixed_net_gap(void **state)
{
    (void)state;
    tu_rng r = {20261207};
    cn_err err;
    net *n = net_new((net_shape){2, 1, 1});
    int w = 2;
    for (int k = 0; k < 4; k++) {
        int o = k == 3 ? 2 : 8;
        net_layer *l = net_add_dense(n, o, &err);
        for (int i = 0; i < o * w; i++)
            l->W[i] = (float)(2.0 * tu_unif(&r) - 1.0);
        for (int i = 0; i < o; i++)
            l->b[i] = (float)(tu_unif(&r) - 0.5);
        w = o;
        if (k < 3)
            assert_non_null(net_add_act(n, k == 1 ? NET_TANH : NET_SIGMOID, &err));
    }
    double lo[2] = {-0.6, 0.1}, hi[2] = {0.4, 0.9};
    double C[8] = {1, 0, 0, 1, -1, 0, 0, -1}, li[4], ll[4];
    bnd_ctx *bc = bnd_ctx_new(n, &err);
    assert_non_null(bc);
    bnd_region rg = {lo, hi, NULL, NULL, NULL, NULL, NULL};
    bnd_opts o;
    bnd_opts_init(&o, BND_INTERVAL);
    assert_int_equal(bnd_run(bc, &o, &rg, 4, C, NULL, li, NULL, &err), CN_OK);
    bnd_opts_init(&o, BND_DEEPPOLY);
    assert_int_equal(bnd_run(bc, &o, &rg, 4, C, NULL, ll, NULL, &err), CN_OK);
    double smin[4] = {INFINITY, INFINITY, INFINITY, INFINITY};
    for (int i = 0; i <= 200; i++)
        for (int j = 0; j <= 200; j++) {
            double x[2] = {lo[0] + (hi[0] - lo[0]) * i / 200.0, lo[1] + (hi[1] - lo[1]) * j / 200.0},
                   y[2];
            assert_int_equal(net_forward(n, 1, x, y, &err), CN_OK);
            for (int q = 0; q < 4; q++) {
                double v = C[2 * q] * y[0] + C[2 * q + 1] * y[1];
                smin[q] = fmin(smin[q], v);
            }
        }
    /* gaps sampled minimum - linear bound when written (see the comment);
     * before the straddling tangent points were fixed: 0.0362, 0.0169,
     * 0.0174, 0.0186; before tangent points per row: 0.0326, 0.0123,
     * 0.0140, 0.0188 */
    const double gap0[4] = {0.000881, 0.007878, 0.000837, 0.012289};
    /* the checker (certs/relax.c, relax_act.c: its own code) reaches the
     * engine's bounds, or certificates of what the engine proves fail */
    cert_bounds *cb = cert_bounds_new(n, &err);
    assert_non_null(cb);
    assert_int_equal(cert_bounds_region(cb, lo, hi, NULL), CERT_REGION_OK);
    for (int q = 0; q < 4; q++) {
        double cl = cert_bounds_row(cb, C + 2 * q);
        if (!(cl >= ll[q] - 1e-12 * (1.0 + fabs(ll[q]))))
            fail_msg("row %d: checker %.17g below the engine's %.17g", q, cl, ll[q]);
    }
    cert_bounds_free(cb);
    for (int q = 0; q < 4; q++) {
        printf("# row %d: interval %.6f, linear %.6f, sampled min %.6f, gap %.6f\n", q, li[q],
               ll[q], smin[q], smin[q] - ll[q]);
        assert_true(ll[q] >= li[q]);
        assert_true(ll[q] <= smin[q] + 1e-12);
        assert_true(smin[q] - ll[q] <= 1.1 * gap0[q] + 1e-9);
        assert_true(smin[q] - li[q] > 1.5 * (smin[q] - ll[q]));  /* linear clearly tighter */
    }
    bnd_ctx_free(bc);
    net_free(n);
}

/* 1 input -> dense(1) -> sigmoid -> dense(1), identity weights. */
static net *one_sigmoid(void)
{
    cn_err err;
    net *n = net_new((net_shape){1, 1, 1});
    net_layer *l = net_add_dense(n, 1, &err);
    l->W[0] = 1.0;
    assert_non_null(net_add_act(n, NET_SIGMOID, &err));
    l = net_add_dense(n, 1, &err);
    l->W[0] = 1.0;
    return n;
}

static prop *parse(const char *text)
{
    prop *p = NULL;
    cn_err err;
    if (prop_parse_vnnlib_mem(text, strlen(text), "act", 0, &p, &err) != CN_OK)
        fail_msg("%s", err.msg);
    return p;
}

/* sigmoid(1/2) to `digits` decimals, rounded down (MPFR at 8000 bits). */
static char *sigmoid_half_decimal(int digits)
{
    mpfr_t t;
    mpfr_init2(t, 8000);
    mpfr_set_d(t, -0.5, MPFR_RNDN);
    mpfr_exp(t, t, MPFR_RNDN);
    mpfr_add_ui(t, t, 1, MPFR_RNDN);
    mpfr_ui_div(t, 1, t, MPFR_RNDN);
    mpfr_exp_t e;
    char *s = mpfr_get_str(NULL, &e, 10, (size_t)digits, t, MPFR_RNDD);
    assert_int_equal(e, 0);                        /* 0.6224... */
    char *buf = malloc(strlen(s) + 3);
    sprintf(buf, "0.%s", s);
    mpfr_free_str(s);
    mpfr_clear(t);
    return buf;
}

/* The exact check raises the precision until it decides; a threshold
 * closer than NET_EVAL_PREC_MAX bits stays undecided and is never called a
 * counterexample. */
static void test_exact_decides(void **state)
{
    (void)state;
    net *n = one_sigmoid();
    const char *head = "(declare-const X_0 Real)(declare-const Y_0 Real)"
                       "(assert (>= X_0 0.5))(assert (<= X_0 0.5))";
    mpq_t x;
    mpq_init(x);
    mpq_set_d(x, 0.5);
    cn_err err;
    prop_check chk;
    prop_check_init(&chk);
    char *c = sigmoid_half_decimal(50);            /* below by < 1e-50 */
    char *text = malloc(strlen(head) + 2000);

    sprintf(text, "%s(assert (>= Y_0 %s))", head, c);
    prop *p = parse(text);
    assert_int_equal(prop_check_point(p, n, &x, &chk, &err), CN_OK);
    assert_true(chk.decided);
    assert_true(chk.violated);
    assert_true(chk.prec > NET_EVAL_PREC0);        /* 64 bits cannot tell */
    prop_free(p);

    sprintf(text, "%s(assert (<= Y_0 %s))", head, c);
    p = parse(text);
    assert_int_equal(prop_check_point(p, n, &x, &chk, &err), CN_OK);
    assert_true(chk.decided);
    assert_false(chk.violated);
    assert_true(chk.prec > NET_EVAL_PREC0);
    prop_free(p);
    free(c);

    /* 1400 digits: closer than 2^-4096, beyond the last precision */
    c = sigmoid_half_decimal(1400);
    sprintf(text, "%s(assert (>= Y_0 %s))", head, c);
    p = parse(text);
    assert_int_equal(prop_check_point(p, n, &x, &chk, &err), CN_OK);
    assert_false(chk.decided);
    assert_false(chk.violated);
    assert_int_equal(chk.prec, NET_EVAL_PREC_MAX);
    prop_free(p);
    free(c);
    free(text);

    /* sigmoid(0) = 1/2 exactly (MPFR's enclosure is the point itself) */
    p = parse("(declare-const X_0 Real)(declare-const Y_0 Real)"
              "(assert (>= X_0 0))(assert (<= X_0 0))(assert (>= Y_0 0.5))");
    mpq_set_ui(x, 0, 1);
    assert_int_equal(prop_check_point(p, n, &x, &chk, &err), CN_OK);
    assert_true(chk.decided && chk.violated);
    assert_int_equal(chk.prec, NET_EVAL_PREC0);
    prop_free(p);

    prop_check_clear(&chk);
    mpq_clear(x);
    /* no exact rational value */
    mpq_t y;
    mpq_init(y);
    mpq_init(x);
    assert_int_equal(net_eval_exact(n, &x, &y, &err), CN_EUNSUPPORTED);
    assert_contains(err.msg, "sigmoid/tanh");
    mpq_clears(x, y, NULL);
    net_free(n);
}

/* The enclosure narrows with the precision and contains the true value. */
static void test_enclosure_narrows(void **state)
{
    (void)state;
    cn_err err;
    net *n = net_new((net_shape){1, 1, 1});
    net_layer *l = net_add_dense(n, 1, &err);
    l->W[0] = 1.0;
    assert_non_null(net_add_act(n, NET_TANH, &err));
    l = net_add_dense(n, 1, &err);
    l->W[0] = 1.0;
    mpq_t x, lo, hi, w1, w2;
    mpq_inits(x, lo, hi, w1, w2, NULL);
    mpq_set_d(x, 0.75);
    assert_int_equal(net_eval_enclose_prec(n, &x, &lo, &hi, 64, &err), CN_OK);
    assert_true(mpq_get_d(lo) <= tanh(0.75) + 1e-15 && mpq_get_d(hi) >= tanh(0.75) - 1e-15);
    mpq_sub(w1, hi, lo);
    assert_true(mpq_sgn(w1) > 0);
    assert_int_equal(net_eval_enclose_prec(n, &x, &lo, &hi, 256, &err), CN_OK);
    mpq_sub(w2, hi, lo);
    assert_true(mpq_cmp(w2, w1) < 0);
    assert_true(mpq_get_d(w2) < 0x1p-250);
    mpq_clears(x, lo, hi, w1, w2, NULL);
    net_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounds_enclose),
        cmocka_unit_test(test_linear_tighter),
        cmocka_unit_test(test_lines_pinned),
        cmocka_unit_test(test_lines_valid_inside),
        cmocka_unit_test(test_fixed_net_gap),
        cmocka_unit_test(test_exact_decides),
        cmocka_unit_test(test_enclosure_narrows),
    };
    return cmocka_run_group_tests_name("act", tests, NULL, NULL);
}

/* test_bounds_l2.c — bounds/ over a box cut to an L2 ball (bnd_run_ball):
 * every method's bounds hold for the exact rational network at sampled
 * points of box ∩ ball (the centre, the sphere, inside, the axis ends) and
 * at box vertices inside the ball, and a hand-computed net shows the ball's
 * bound tighter than the box's. */
#include "config.h"

#include <fenv.h>
#include <math.h>

#include "bounds/bounds.h"
#include "models/models.h"
#include "tests/bnd_check.h"
#include "tests/exact.h"
#include "tests/netgen.h"
#include "tests/testutil.h"

/* ---- L2 balls (bnd_region.l2_c, issue 26) ----------------------------------
 * The region box ∩ {||x - c||_2 <= r}: every method's bounds must contain the
 * exact values at points of the region — the centre, points on the sphere
 * (clipped into [0,1], which keeps them in the ball), random points inside,
 * the ends of the axes and those box vertices that lie in the ball — each
 * checked in rationals to lie in the ball before it counts.  The ball must
 * also tighten some bounds against the box alone. */

/* sum (x_j - c_j)^2 <= r^2, exactly. */
static bool in_ball_exact(int n, const double *x, const double *c, double r)
{
    mpq_t s, t, u;
    mpq_inits(s, t, u, NULL);
    for (int j = 0; j < n; j++) {
        mpq_set_d(t, x[j]);
        mpq_set_d(u, c[j]);
        mpq_sub(t, t, u);
        mpq_mul(t, t, t);
        mpq_add(s, s, t);
    }
    mpq_set_d(t, r);
    mpq_mul(t, t, t);
    bool in = mpq_cmp(s, t) <= 0;
    mpq_clears(s, t, u, NULL);
    return in;
}

/* Point p of the ball ∩ [0,1]^n (c in [0,1]^n): p == 0 the centre, p odd a
 * point on the sphere, p even a random point inside, p < 2n+1 the ends of
 * the axes; clipped into [0,1]. */
static void ball_point(tu_rng *rg, int p, int n, const double *c, double r, double *x)
{
    double u[64], nn = 0.0;
    if (p == 0) {
        memcpy(x, c, sizeof(double) * (size_t)n);
        return;
    }
    if (p <= 2 * n) {
        for (int j = 0; j < n; j++)
            u[j] = 0.0;
        u[(p - 1) / 2] = p % 2 ? 1.0 : -1.0;
        nn = 1.0;
    } else {
        for (int j = 0; j < n; j++) {
            /* a normal deviate (Box-Muller) for a uniform direction */
            double a = tu_unif(rg) + 1e-300, b = tu_unif(rg);
            u[j] = sqrt(-2.0 * log(a)) * cos(6.283185307179586 * b);
            nn += u[j] * u[j];
        }
        nn = sqrt(nn);
    }
    double t = p % 2 || p <= 2 * n ? 1.0 : pow(tu_unif(rg), 1.0 / n);
    for (int j = 0; j < n; j++) {
        x[j] = c[j] + r * t * u[j] / nn;
        x[j] = x[j] < 0.0 ? 0.0 : x[j] > 1.0 ? 1.0 : x[j];
    }
}

static void test_l2_ball(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("l2_ball", 2612)};
    long checked = 0, skipped = 0, verts = 0, tighter = 0, rows = 0;
    cn_err err;
    for (int trial = 0; trial < 40; trial++) {
        net *n;
        if (trial % 10 == 9) {
            n = random_conv(&r, 1);
        } else {
            net_cfg g = {.depth = 1 + trial % 4, .width = 3 + trial % 5, .n_in = 2 + trial % 5,
                         .n_out = 2 + trial % 3, .wexp = trial % 3 == 0 ? 2 : 1,
                         .out_relu = trial % 6 == 5};
            n = random_dense(&r, &g);
        }
        int nin = net_in_size(n), no = net_out_size(n);
        double c[64], lo[64], hi[64], x[64];
        assert_true(nin <= 64);
        double rad = 0.02 + 0.5 * tu_unif(&r);
        for (int j = 0; j < nin; j++) {
            c[j] = tu_unif(&r);
            if (trial % 4 == 1 && j == 0)
                c[j] = 0.0;            /* on a face of [0,1] */
            lo[j] = fmax(0.0, c[j] - rad);
            hi[j] = fmin(1.0, c[j] + rad);
        }
        int m = no * (no - 1) + 3;
        double *C = calloc((size_t)m * no, sizeof(double)), *d = calloc((size_t)m, sizeof(double));
        assert_int_equal(margin_rows(&r, no, 3, 2, C, d), m);
        bnd_ctx *bc = bnd_ctx_new(n, &err);
        assert_non_null(bc);
        trace t;
        trace_init(&t, n);
        for (int k = 0; k < N_METHODS; k++) {
            bnd_opts o;
            bnd_opts_init(&o, methods[k]);
            o.alpha_iters = 8;
            snapshot sb = {.m = m, .C = C, .d = d, .lb = calloc((size_t)m, sizeof(double))};
            double *lbox = calloc((size_t)m, sizeof(double));
            bnd_region box = {lo, hi, NULL, NULL, NULL, NULL, NULL};
            assert_int_equal(bnd_run(bc, &o, &box, m, C, d, lbox, NULL, &err), CN_OK);
            bnd_ball ball = {c, rad};
            bnd_result res;
            assert_int_equal(bnd_run_ball(bc, &o, &box, &ball, m, C, d, sb.lb, &res, &err),
                             CN_OK);
            assert_int_equal(fegetround(), FE_TONEAREST);
            assert_false(res.infeasible);
            snap_take(bc, n, &sb, &t);
            for (int rr = 0; rr < m; rr++) {
                if (methods[k] == BND_INTERVAL)
                    assert_true(sb.lb[rr] == lbox[rr]);   /* interval: the box only */
                else if (isfinite(sb.lb[rr]) && isfinite(lbox[rr])) {
                    rows++;
                    tighter += sb.lb[rr] > lbox[rr];
                }
            }
            for (int p = 0; p < 2 * nin + 1 + 60; p++) {
                ball_point(&r, p, nin, c, rad, x);
                if (!in_ball_exact(nin, x, c, rad)) {
                    skipped++;
                    continue;
                }
                eval_trace(n, x, &t);
                if (!check_point(n, &t, &sb, bnd_method_name(methods[k])))
                    fail_msg("trial %d, %s, point %d: an L2 bound is violated", trial,
                             bnd_method_name(methods[k]), p);
                checked++;
            }
            /* box vertices inside the ball (few inputs) */
            for (int v = 0; nin <= 6 && v < (1 << nin); v++) {
                for (int j = 0; j < nin; j++)
                    x[j] = v >> j & 1 ? hi[j] : lo[j];
                if (!in_ball_exact(nin, x, c, rad))
                    continue;
                eval_trace(n, x, &t);
                if (!check_point(n, &t, &sb, bnd_method_name(methods[k])))
                    fail_msg("trial %d, %s, vertex %d: an L2 bound is violated", trial,
                             bnd_method_name(methods[k]), v);
                verts++;
            }
            snap_free(&sb, t.nl);
            free(lbox);
        }
        trace_clear(&t);
        bnd_ctx_free(bc);
        free(C);
        free(d);
        net_free(n);
    }
    printf("# l2_ball: %ld points and %ld box vertices checked exactly (%ld sampled points "
           "rounded out of the ball, skipped); %ld of %ld linear rows tighter than the box's\n",
           checked, verts, skipped, tighter, rows);
    assert_true(checked > 40 * 4 * 40);
    assert_true(verts > 0);
    assert_true(tighter > rows / 4);
}

/* A hand-computable case: y = (3 x0 + 4 x1, 0), row y0 - y1 over the ball of
 * radius 1/4 around (1/2, 1/2): min = 3.5 - 0.25 * 5 = 2.25, attained at
 * (0.35, 0.3) inside the box [1/4, 3/4]^2, whose own minimum is 1.75. */
static void test_l2_hand(void **state)
{
    (void)state;
    cn_err err;
    net *n = net_new((net_shape){2, 1, 1});
    net_layer *l = net_add_dense(n, 2, &err);
    assert_non_null(l);
    l->W[0] = 3.0;
    l->W[1] = 4.0;
    double c[2] = {0.5, 0.5}, lo[2] = {0.25, 0.25}, hi[2] = {0.75, 0.75}, C[2] = {1.0, -1.0};
    bnd_ctx *bc = bnd_ctx_new(n, &err);
    assert_non_null(bc);
    for (int k = 0; k < N_METHODS; k++) {
        bnd_opts o;
        bnd_opts_init(&o, methods[k]);
        double lb;
        bnd_region box = {lo, hi, NULL, NULL, NULL, NULL, NULL};
        bnd_ball ball = {c, 0.25};
        assert_int_equal(bnd_run_ball(bc, &o, &box, &ball, 1, C, NULL, &lb, NULL, &err), CN_OK);
        printf("# l2_hand: %s lb %.17g\n", bnd_method_name(methods[k]), lb);
        if (methods[k] == BND_INTERVAL)
            assert_true(lb <= 1.75 && lb > 1.75 - 1e-12);
        else
            assert_true(lb <= 2.25 && lb > 2.25 - 1e-12);
    }
    /* a bad ball is refused */
    double lb;
    bnd_opts o;
    bnd_opts_init(&o, BND_CROWN);
    bnd_region box = {lo, hi, NULL, NULL, NULL, NULL, NULL};
    bnd_ball bad = {c, -1.0};
    assert_int_equal(bnd_run_ball(bc, &o, &box, &bad, 1, C, NULL, &lb, NULL, &err), CN_EINVAL);
    assert_non_null(strstr(err.msg, "L2 radius"));
    bnd_ctx_free(bc);
    net_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_l2_ball),
        cmocka_unit_test(test_l2_hand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

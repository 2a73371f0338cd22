/* test_bounds_param.c — bounds with parameters (bnd_run_param: per-row
 * slopes alpha and split multipliers beta, beta-CROWN): for random alpha in
 * [0,1] and beta >= 0, and for the optimised ones, every query row's bound
 * holds at every sampled point of the region (exact rationals) and never
 * exceeds the exact minimum found by MILP; the optimised bound is at least
 * CROWN's; values out of range are clamped, never trusted; the rounding
 * mode is restored.  On random small networks, boxes and splits taken at a
 * point (so the region is not empty). */
#include "config.h"

#include <fenv.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bounds/bounds.h"
#include "lp/lp.h"
#include "models/models.h"
#include "tests/bnd_check.h"
#include "tests/exact.h"
#include "tests/netgen.h"
#include "tests/testutil.h"

enum { MAXL = 16 };

/* MILP minimum of row r over the region (the box and splits), from the
 * context's layer bounds of its last run. */
static double milp_row(const net *n, bnd_ctx *c, const double *lo, const double *hi,
                       const signed char *split, const double *C, double d)
{
    cn_err err;
    const double *pl[MAXL], *ph[MAXL];
    const signed char *sp[MAXL];
    int off = 0;
    for (int i = 0; i < net_n_layers(n); i++) {
        pl[i] = ph[i] = NULL;
        sp[i] = NULL;
        if (net_layer_at(n, i)->op == NET_RELU) {
            bnd_layer_bounds(c, i, &pl[i], &ph[i]);
            sp[i] = split + off;
            off += net_layer_at(n, i)->in;
        }
    }
    lp_region lr = {lo, hi, pl, ph, sp, 0, NULL};
    lp_outcome out;
    double m;
    assert_int_equal(lp_milp_min(n, &lr, NULL, C, d, &out, &m, NULL, &err), CN_OK);
    return out == LP_BOUND ? m : NAN;
}

typedef struct {
    int trials, rows, improved, milp_checked, points, fixed, fixed_points;
} stats;

static void one(tu_rng *r, stats *st)
{
    cn_err err;
    net_cfg g = {.depth = 2 + (int)(tu_next(r) % 3), .width = 5 + (int)(tu_next(r) % 6),
                 .n_in = 3, .n_out = 3, .wexp = 1, .out_relu = false};
    net *n = random_dense(r, &g);
    int nin = 3, no = 3, nr = net_n_relus(n);
    double lo[3], hi[3], xs[3];
    random_box(r, nin, 1, 0, lo, hi, xs);
    for (int j = 0; j < nin; j++)
        xs[j] = lo[j] + tu_unif(r) * (hi[j] - lo[j]);
    signed char *split = splits_at(r, n, xs, 0.3);
    bnd_ctx *c = bnd_ctx_new(n, &err);
    assert_non_null(c);
    int m = no * (no - 1);
    double C[6 * 3] = {0}, d[6] = {0};
    assert_int_equal(margin_rows(r, no, 0, 3, C, d), m);
    bnd_opts o;
    bnd_opts_init(&o, BND_CROWN);
    bnd_region rg = {.lo = lo, .hi = hi, .split = split};
    double lb_crown[6], lb_rand[6], lb_opt[6];
    bnd_result res;
    assert_int_equal(bnd_run(c, &o, &rg, m, C, d, lb_crown, &res, &err), CN_OK);
    if (res.infeasible) { /* cannot be: xs meets the splits */
        fail_msg("splits taken at a point made the region empty");
    }
    double *al = calloc((size_t)m * (size_t)nr, sizeof(double));
    double *be = calloc((size_t)m * (size_t)nr, sizeof(double));
    /* random parameters, some out of range (clamped) */
    for (int k = 0; k < m * nr; k++) {
        al[k] = tu_unif(r) < 0.05 ? 1.5 - 3 * tu_unif(r) : tu_unif(r);
        be[k] = tu_unif(r) < 0.05 ? -1 : pow(10, -3 + 5 * tu_unif(r));
    }
    assert_int_equal(bnd_run_param(c, NULL, m, C, d, al, be, 0, 0, 0, lb_rand, &err), CN_OK);
    assert_int_equal(fegetround(), FE_TONEAREST);
    for (int k = 0; k < m * nr; k++) { /* written back: the values used */
        assert_true(al[k] >= 0 && al[k] <= 1);
        assert_true(be[k] >= 0 && (be[k] == 0 || split[k % nr]));
    }
    /* optimised from CROWN's slopes and zero multipliers */
    for (int q = 0; q < m; q++) {
        bnd_default_slopes(c, al + (size_t)q * (size_t)nr);
        for (int j = 0; j < nr; j++)
            be[(size_t)q * (size_t)nr + j] = 0;
    }
    assert_int_equal(bnd_run_param(c, NULL, m, C, d, al, be, 25, 0.3, 0.3, lb_opt, &err), CN_OK);
    /* the recorded parameters give exactly the recorded bound */
    double lb_again[6];
    assert_int_equal(bnd_run_param(c, NULL, m, C, d, al, be, 0, 0, 0, lb_again, &err), CN_OK);
    for (int q = 0; q < m; q++) {
        assert_true(lb_again[q] == lb_opt[q] || (isnan(lb_again[q]) && isnan(lb_opt[q])));
        if (isfinite(lb_crown[q]))
            assert_true(lb_opt[q] >= lb_crown[q] - 1e-9 * (1 + fabs(lb_crown[q])));
        if (lb_opt[q] > lb_crown[q] + 1e-6 * (1 + fabs(lb_crown[q])))
            st->improved++;
        st->rows++;
    }
    /* exact checks at points of the region */
    trace t;
    trace_init(&t, n);
    snapshot s[2];
    double *lbs[2] = {lb_rand, lb_opt};
    for (int k = 0; k < 2; k++) {
        s[k].m = m;
        s[k].C = C;
        s[k].d = d;
        s[k].lb = malloc(sizeof(double) * (size_t)m);
        memcpy(s[k].lb, lbs[k], sizeof(double) * (size_t)m);
        s[k].infeasible = false;
        snap_take(c, n, &s[k], &t);
    }
    double x[3];
    for (int p = -1; p < box_vertices(nin, 8) + 150; p++) {
        if (!box_point(r, p, nin, 8, lo, hi, xs, x))
            continue;
        eval_trace(n, x, &t);
        if (!meets_splits(n, &t, split))
            continue;
        for (int k = 0; k < 2; k++)
            if (!check_point(n, &t, &s[k], k ? "optimised" : "random"))
                fail_msg("bound with %s parameters violated at point %d",
                         k ? "optimised" : "random", p);
        st->points++;
    }
    /* against the exact minimum (MILP, an oracle in floating point) */
    for (int q = 0; q < m; q++) {
        double mn = milp_row(n, c, lo, hi, split, C + q * no, d[q]);
        if (isnan(mn))
            continue;
        double tol = 1e-7 * (1 + fabs(mn));
        if (!(lb_rand[q] <= mn + tol) || !(lb_opt[q] <= mn + tol))
            fail_msg("row %d: bound above the MILP minimum %.17g (random %.17g, optimised %.17g)",
                     q, mn, lb_rand[q], lb_opt[q]);
        st->milp_checked++;
    }
    /* a candidate split scored without bounding the child
     * (bnd_run_param_fixed): a lower bound on the region cut by it, and the
     * last run's state comes back unchanged */
    int fj = -1, off = 0;
    for (int i = 0; i < net_n_layers(n) && fj < 0; i++) {
        const net_layer *l = net_layer_at(n, i);
        if (l->op != NET_RELU)
            continue;
        const double *pl, *ph;
        bnd_layer_bounds(c, i, &pl, &ph);
        for (int j = 0; j < l->in && fj < 0; j++)
            if (!split[off + j] && pl[j] < 0 && ph[j] > 0)
                fj = off + j;
        off += l->in;
    }
    if (fj >= 0) {
        int fs = tu_unif(r) < 0.5 ? 1 : -1;
        double *al2 = malloc(sizeof(double) * (size_t)m * (size_t)nr);
        double *be2 = malloc(sizeof(double) * (size_t)m * (size_t)nr);
        memcpy(al2, al, sizeof(double) * (size_t)m * (size_t)nr);
        memcpy(be2, be, sizeof(double) * (size_t)m * (size_t)nr);
        double lb_fix[6], lb_back[6];
        assert_int_equal(
            bnd_run_param_fixed(c, NULL, m, C, d, al2, be2, fj, fs, lb_fix, &err), CN_OK);
        assert_int_equal(fegetround(), FE_TONEAREST);
        assert_int_equal(bnd_run_param(c, NULL, m, C, d, al, be, 0, 0, 0, lb_back, &err), CN_OK);
        for (int q = 0; q < m; q++)
            assert_true(lb_back[q] == lb_opt[q] || (isnan(lb_back[q]) && isnan(lb_opt[q])));
        signed char *split2 = malloc((size_t)nr + 1);
        memcpy(split2, split, (size_t)nr);
        split2[fj] = (signed char)fs;
        snapshot sf = {.m = m, .C = C, .d = d, .lb = malloc(sizeof(double) * (size_t)m)};
        memcpy(sf.lb, lb_fix, sizeof(double) * (size_t)m);
        snap_take(c, n, &sf, &t);
        for (int p = -1; p < box_vertices(nin, 8) + 150; p++) {
            if (!box_point(r, p, nin, 8, lo, hi, xs, x))
                continue;
            eval_trace(n, x, &t);
            if (!meets_splits(n, &t, split2))
                continue;
            if (!check_point(n, &t, &sf, "phase fixed"))
                fail_msg("bound with ReLU %d fixed to %d violated at point %d", fj, fs, p);
            st->fixed_points++;
        }
        for (int q = 0; q < m; q++) {
            double mn = milp_row(n, c, lo, hi, split2, C + q * no, d[q]);
            if (!isnan(mn) && !(lb_fix[q] <= mn + 1e-7 * (1 + fabs(mn))))
                fail_msg("row %d: phase-fixed bound %.17g above the MILP minimum %.17g", q,
                         lb_fix[q], mn);
        }
        st->fixed++;
        snap_free(&sf, t.nl);
        free(split2);
        free(al2);
        free(be2);
    }
    for (int k = 0; k < 2; k++)
        snap_free(&s[k], t.nl);
    trace_clear(&t);
    free(al);
    free(be);
    free(split);
    bnd_ctx_free(c);
    net_free(n);
    st->trials++;
}

static void test_param_sound(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("param_sound", 2407)};
    stats st = {0};
    const char *e = getenv("CN_PARAM_N"); /* networks (default 300) */
    int N = e ? atoi(e) : 300;
    for (int i = 0; i < N; i++)
        one(&r, &st);
    print_message("# %d networks, %d rows: optimised above CROWN on %d; %d MILP minima and %d "
                  "region points checked; %d phase-fixed bounds at %d points\n",
                  st.trials, st.rows, st.improved, st.milp_checked, st.points, st.fixed,
                  st.fixed_points);
    assert_true(st.milp_checked > N);
    assert_true(st.points > N);
    assert_true(st.improved > 0); /* the optimisation does something */
    assert_true(st.fixed > N / 4 && st.fixed_points > N);
}

/* Without a previous linear run there is nothing to recompute. */
static void test_param_needs_run(void **state)
{
    (void)state;
    cn_err err;
    tu_rng r = {1};
    net_cfg g = {.depth = 2, .width = 4, .n_in = 2, .n_out = 2, .wexp = 1, .out_relu = false};
    net *n = random_dense(&r, &g);
    bnd_ctx *c = bnd_ctx_new(n, &err);
    double C[2] = {1, -1}, lb[1], al[8] = {0}, be[8] = {0};
    assert_int_equal(bnd_run_param(c, NULL, 1, C, NULL, al, be, 0, 0, 0, lb, &err), CN_EINVAL);
    double lo[2] = {-1, -1}, hi[2] = {1, 1};
    bnd_region rg = {.lo = lo, .hi = hi, .split = NULL};
    bnd_opts o;
    bnd_opts_init(&o, BND_INTERVAL);
    assert_int_equal(bnd_run(c, &o, &rg, 1, C, NULL, lb, NULL, &err), CN_OK);
    assert_int_equal(bnd_run_param(c, NULL, 1, C, NULL, al, be, 0, 0, 0, lb, &err), CN_EINVAL);
    bnd_ctx_free(c);
    net_free(n);
}

/* bnd_param_relu_coef: after bnd_run_param, the row's coefficient over the
 * output of the last hidden ReLU layer is the row times the last affine
 * layer's weights (nothing lies between); none before a bnd_run_param, for
 * a row out of range, or after the next bnd_run. */
static void test_param_relu_coef(void **state)
{
    (void)state;
    cn_err err;
    tu_rng r = {tu_seed("param_coef", 77)};
    for (int t = 0; t < 20; t++) {
        net_cfg g = {.depth = 2 + t % 2, .width = 4 + t % 3, .n_in = 3, .n_out = 3, .wexp = 1,
                     .out_relu = false};
        net *n = random_dense(&r, &g);
        bnd_ctx *c = bnd_ctx_new(n, &err);
        assert_non_null(c);
        int nr = net_n_relus(n), m = 2;
        double lo[3], hi[3], C[6], lb[2];
        for (int j = 0; j < 3; j++) {
            lo[j] = -tu_unif(&r);
            hi[j] = lo[j] + 0.1 + tu_unif(&r);
        }
        for (int k = 0; k < 6; k++)
            C[k] = 2 * tu_unif(&r) - 1;
        double *al = calloc((size_t)(m * nr), sizeof(double));
        double *be = calloc((size_t)(m * nr), sizeof(double));
        double *co = calloc((size_t)nr, sizeof(double));
        bnd_region rg = {.lo = lo, .hi = hi};
        bnd_opts o;
        bnd_opts_init(&o, BND_CROWN);
        assert_int_equal(bnd_run(c, &o, &rg, m, C, NULL, lb, NULL, &err), CN_OK);
        assert_false(bnd_param_relu_coef(c, 0, co));
        for (int k = 0; k < m; k++)
            bnd_default_slopes(c, al + (size_t)k * (size_t)nr);
        assert_int_equal(bnd_run_param(c, NULL, m, C, NULL, al, be, 0, 0, 0, lb, &err), CN_OK);
        assert_false(bnd_param_relu_coef(c, m, co));
        int nl = net_n_layers(n);
        const net_layer *last = net_layer_at(n, nl - 1);
        assert_int_equal(net_layer_at(n, nl - 2)->op, NET_RELU);
        int off = nr - last->in;
        for (int k = 0; k < m; k++) {
            assert_true(bnd_param_relu_coef(c, k, co));
            for (int j = 0; j < last->in; j++) {
                double want = 0;
                for (int o2 = 0; o2 < last->out; o2++)
                    want += C[k * 3 + o2] * last->W[(size_t)o2 * (size_t)last->in + j];
                assert_true(fabs(co[off + j] - want) <= 1e-12 * (1 + fabs(want)));
            }
        }
        assert_int_equal(bnd_run(c, &o, &rg, m, C, NULL, lb, NULL, &err), CN_OK);
        assert_false(bnd_param_relu_coef(c, 0, co));
        free(al);
        free(be);
        free(co);
        bnd_ctx_free(c);
        net_free(n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_param_sound),
        cmocka_unit_test(test_param_needs_run),
        cmocka_unit_test(test_param_relu_coef),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

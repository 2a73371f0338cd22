/* test_lp.c — the LP relaxation's rigorous bounds and the MILP oracle, on
 * random small networks checked against exact rational evaluation; also on
 * convolutions and on networks with an enclosure (finding F1). */
#include "config.h"

#include <fenv.h>
#include <math.h>

#include "lp/lp.h"
#include "tests/testutil.h"

/* Row o of affine layer l over its whole input: row[in] (a convolution
 * unrolled: 0 outside the receptive field), field[k] whether input k is in
 * o's receptive field (NULL: not wanted) and the bias. */
static double affine_row(const net_layer *l, int o, double *row, bool *field)
{
    if (l->op == NET_DENSE) {
        memcpy(row, l->W + (size_t)o * l->in, sizeof(double) * (size_t)l->in);
        for (int k = 0; field && k < l->in; k++)
            field[k] = true;
        return l->b[o];
    }
    net_shape is = l->in_shape, os = l->out_shape;
    int co = o / (os.h * os.w), oy = o / os.w % os.h, ox = o % os.w;
    memset(row, 0, sizeof(double) * (size_t)l->in);
    for (int k = 0; field && k < l->in; k++)
        field[k] = false;
    for (int ci = 0; ci < is.c; ci++)
        for (int ky = 0; ky < l->kh; ky++)
            for (int kx = 0; kx < l->kw; kx++) {
                int iy = oy * l->stride_h + ky - l->pad_t, ix = ox * l->stride_w + kx - l->pad_l;
                if (iy < 0 || iy >= is.h || ix < 0 || ix >= is.w)
                    continue;
                int k = (ci * is.h + iy) * is.w + ix;
                row[k] = l->W[((co * is.c + ci) * l->kh + ky) * l->kw + kx];
                if (field)
                    field[k] = true;
            }
    return l->b[co];
}

/* Bias radius of output o (models.h: brad has one entry per channel of a
 * convolution), 0 without. */
static double brad_of(const net_layer *l, int o)
{
    if (!l->brad)
        return 0.0;
    return l->brad[l->op == NET_CONV ? o / (l->out_shape.h * l->out_shape.w) : o];
}

/* Sound interval bounds on every ReLU input, with outward rounding: the
 * test's own oracle, independent of bounds/. pre_lo[i]/pre_hi[i] are filled
 * for ReLU layers i.  A layer with an enclosure is widened by
 * E_o = wrel (|W| m)_o + wabs sum m + brad_o (rounded up), m = max(|a|, |b|). */
static void interval_bounds(const net *n, const double *lo, const double *hi, double **pre_lo,
                            double **pre_hi)
{
    int w = net_max_width(n);
    double *a = calloc((size_t)w, sizeof *a), *b = calloc((size_t)w, sizeof *b);
    double *na = calloc((size_t)w, sizeof *a), *nb = calloc((size_t)w, sizeof *b);
    memcpy(a, lo, sizeof(double) * (size_t)net_in_size(n));
    memcpy(b, hi, sizeof(double) * (size_t)net_in_size(n));
    for (int i = 0; i < net_n_layers(n); i++) {
        const net_layer *l = net_layer_at(n, i);
        if (l->op == NET_RELU) {
            memcpy(pre_lo[i], a, sizeof(double) * (size_t)l->in);
            memcpy(pre_hi[i], b, sizeof(double) * (size_t)l->in);
            for (int k = 0; k < l->in; k++) {
                a[k] = fmax(a[k], 0.0);
                b[k] = fmax(b[k], 0.0);
            }
            continue;
        }
        int saved = fegetround();
        double *row = calloc((size_t)l->in, sizeof(double));
        for (int o = 0; o < l->out; o++) {
            double bias = affine_row(l, o, row, NULL);
            double sl = bias, sh = bias, e = 0.0;
            for (int k = 0; k < l->in; k++) {
                double wk = row[k];
                fesetround(FE_DOWNWARD);
                sl += wk >= 0 ? wk * a[k] : wk * b[k];
                fesetround(FE_UPWARD);
                sh += wk >= 0 ? wk * b[k] : wk * a[k];
                double m = fmax(fabs(a[k]), fabs(b[k]));
                e += (l->wrel * fabs(wk) + l->wabs) * m;
            }
            fesetround(FE_UPWARD);
            e += brad_of(l, o);
            sh += e;
            fesetround(FE_DOWNWARD);
            sl -= e;
            na[o] = sl;
            nb[o] = sh;
        }
        free(row);
        fesetround(saved);
        memcpy(a, na, sizeof(double) * (size_t)l->out);
        memcpy(b, nb, sizeof(double) * (size_t)l->out);
    }
    free(a);
    free(b);
    free(na);
    free(nb);
}

typedef struct {
    net *n;
    int n_in, n_out, L;
    double *lo, *hi;
    double **pre_lo, **pre_hi;
} fixture;

static double rw(tu_rng *r) { return (double)(float)(2.0 * tu_unif(r) - 1.0); }

static void make_fixture(fixture *f, tu_rng *r, int n_in, int h1, int h2, int n_out)
{
    cn_err err;
    f->n_in = n_in;
    f->n_out = n_out;
    f->n = net_new((net_shape){n_in, 1, 1});
    int widths[3] = {h1, h2, n_out};
    for (int i = 0; i < 3; i++) {
        net_layer *l = net_add_dense(f->n, widths[i], &err);
        assert_non_null(l);
        for (int k = 0; k < l->in * l->out; k++)
            l->W[k] = rw(r);
        for (int k = 0; k < l->out; k++)
            l->b[k] = 0.3 * rw(r);
        if (i < 2)
            assert_non_null(net_add_relu(f->n, &err));
    }
    f->L = net_n_layers(f->n);
    f->lo = calloc((size_t)n_in, sizeof(double));
    f->hi = calloc((size_t)n_in, sizeof(double));
    for (int k = 0; k < n_in; k++) {
        double c = rw(r), w = 0.05 + 0.5 * tu_unif(r);
        f->lo[k] = c - w;
        f->hi[k] = c + w;
    }
    f->pre_lo = calloc((size_t)f->L, sizeof(double *));
    f->pre_hi = calloc((size_t)f->L, sizeof(double *));
    for (int i = 0; i < f->L; i++)
        if (net_layer_at(f->n, i)->op == NET_RELU) {
            f->pre_lo[i] = calloc((size_t)net_layer_at(f->n, i)->in, sizeof(double));
            f->pre_hi[i] = calloc((size_t)net_layer_at(f->n, i)->in, sizeof(double));
        }
    interval_bounds(f->n, f->lo, f->hi, f->pre_lo, f->pre_hi);
}

static void free_fixture(fixture *f)
{
    for (int i = 0; i < f->L; i++) {
        free(f->pre_lo[i]);
        free(f->pre_hi[i]);
    }
    free(f->pre_lo);
    free(f->pre_hi);
    free(f->lo);
    free(f->hi);
    net_free(f->n);
}

/* Exact value of c.y + d at x (doubles), as a double rounded down, and
 * whether the ReLU inputs satisfy the split. */
static double exact_obj(const net *n, const double *x, const double *c, double d)
{
    int out = net_out_size(n);
    mpq_t y[8], acc, t;
    assert_true(out <= 8);
    for (int k = 0; k < out; k++)
        mpq_init(y[k]);
    mpq_init(acc);
    mpq_init(t);
    cn_err err;
    assert_int_equal(net_eval_exact_d(n, x, y, &err), CN_OK);
    mpq_set_d(acc, d);
    for (int k = 0; k < out; k++) {
        mpq_set_d(t, c[k]);
        mpq_mul(t, t, y[k]);
        mpq_add(acc, acc, t);
    }
    double v = cn_mpq_get_d_down(acc);
    for (int k = 0; k < out; k++)
        mpq_clear(y[k]);
    mpq_clear(acc);
    mpq_clear(t);
    return v;
}

static void sample(tu_rng *r, const fixture *f, double *x, int vertex)
{
    for (int k = 0; k < f->n_in; k++) {
        if (vertex >= 0)
            x[k] = (vertex >> k) & 1 ? f->hi[k] : f->lo[k];
        else
            x[k] = f->lo[k] + (f->hi[k] - f->lo[k]) * tu_unif(r);
    }
}

/* The rigorous LP bound never exceeds the exact objective at any sampled
 * point or vertex of the box, and the MILP optimum lies between the LP bound
 * and every sampled value, and is attained (exactly re-evaluated) at its x. */
static void test_lp_bound_sound_and_milp(void **state)
{
    tu_rng r = {tu_seed("lp_bound_sound_and_milp", 2024)};
    cn_err err;
    lp_opts o;
    lp_opts_init(&o);
    int checked = 0;
    for (int trial = 0; trial < 60; trial++) {
        fixture f;
        make_fixture(&f, &r, 2 + (int)(tu_next(&r) % 3), 3 + (int)(tu_next(&r) % 5),
                     3 + (int)(tu_next(&r) % 5), 3);
        double c[3] = {rw(&r), rw(&r), rw(&r)}, d = rw(&r);
        lp_region reg = {f.lo, f.hi, (const double *const *)f.pre_lo,
                         (const double *const *)f.pre_hi, NULL, 0, NULL};
        lp_ctx *ctx = lp_ctx_new(f.n, &err);
        assert_non_null(ctx);
        lp_outcome out;
        double lb, xo[4];
        assert_int_equal(lp_lower_bound(ctx, &reg, &o, c, d, &out, &lb, xo, &err), CN_OK);
        assert_int_equal(out, LP_BOUND);
        assert_true(isfinite(lb));
        double mmin, xm[4];
        assert_int_equal(lp_milp_min(f.n, &reg, &o, c, d, &out, &mmin, xm, &err), CN_OK);
        assert_int_equal(out, LP_BOUND);
        assert_double_le(lb, mmin + 1e-9);
        /* attained: the MILP's input, evaluated exactly */
        double at = exact_obj(f.n, xm, c, d);
        assert_double_near(at, mmin, 1e-6);
        double x[4];
        for (int s = 0; s < 300; s++) {
            sample(&r, &f, x, s < (1 << f.n_in) ? s : -1);
            double v = exact_obj(f.n, x, c, d);
            assert_double_le(lb, v);
            assert_double_le(mmin, v + 1e-7);
            checked++;
        }
        /* warm start: a second call on the same context gives the same bound */
        double lb2;
        assert_int_equal(lp_lower_bound(ctx, &reg, &o, c, d, &out, &lb2, NULL, &err), CN_OK);
        assert_double_near(lb, lb2, 1e-9 * (1 + fabs(lb)));
        lp_ctx_free(ctx);
        free_fixture(&f);
    }
    printf("# %d exact evaluations checked against LP and MILP bounds\n", checked);
}

/* max_k (C_k y - rr_k) at x, exactly (rounded down). */
static double exact_conj(const net *n, const double *x, int m, const double *C, const double *rr)
{
    double worst = -INFINITY;
    for (int k = 0; k < m; k++)
        worst = fmax(worst, exact_obj(n, x, C + 3 * k, -rr[k]));
    return worst;
}

/* The conjunction LP: GLPK's t is at most max_k (C_k y - rr_k) at every
 * sampled point (the LP relaxes the network), its multipliers are >= 0 and
 * sum to about 1, and lp_conj_bound of their combination is a rigorous
 * lower bound of that combination's exact value.  Calls alternate with
 * single-objective LPs on the same context, which must not see the
 * conjunction's rows. */
static void test_lp_conjunction(void **state)
{
    tu_rng r = {tu_seed("lp_conjunction", 4242)};
    cn_err err;
    lp_opts o;
    lp_opts_init(&o);
    int checked = 0, positive = 0;
    for (int trial = 0; trial < 60; trial++) {
        fixture f;
        make_fixture(&f, &r, 2 + (int)(tu_next(&r) % 2), 3 + (int)(tu_next(&r) % 4),
                     3 + (int)(tu_next(&r) % 4), 3);
        int m = 2 + (int)(tu_next(&r) % 2);
        double C[9], rr[3], lam[3], t, xo[3];
        for (int k = 0; k < 3 * m; k++)
            C[k] = rw(&r);
        for (int k = 0; k < m; k++)
            rr[k] = 0.3 * rw(&r);
        lp_region reg = {f.lo, f.hi, (const double *const *)f.pre_lo,
                         (const double *const *)f.pre_hi, NULL, 0, NULL};
        lp_ctx *ctx = lp_ctx_new(f.n, &err);
        assert_non_null(ctx);
        double c1[3] = {1.0, 0.0, 0.0}, lb1, lb1b;
        lp_outcome out;
        assert_int_equal(lp_lower_bound(ctx, &reg, &o, c1, 0.0, &out, &lb1, NULL, &err), CN_OK);
        for (int round = 0; round < 2; round++) {
            assert_int_equal(lp_conj_solve(ctx, &reg, &o, m, C, rr, lam, &t, xo, &err), CN_OK);
            assert_true(isfinite(t));
            double sum = 0.0, cy[3] = {0, 0, 0};
            for (int k = 0; k < m; k++) {
                assert_true(lam[k] >= 0.0);
                sum += lam[k];
                for (int j = 0; j < 3; j++)
                    cy[j] += lam[k] * C[3 * k + j];
            }
            assert_double_near(sum, 1.0, 1e-6);
            double lb = lp_conj_bound(ctx, cy);
            assert_true(isfinite(lb));
            /* a second call without a new solve has nothing to use */
            assert_true(lp_conj_bound(ctx, cy) == -INFINITY);
            double x[3];
            for (int s = 0; s < 200; s++) {
                sample(&r, &f, x, s < (1 << f.n_in) ? s : -1);
                assert_double_le(t, exact_conj(f.n, x, m, C, rr) + 1e-7);
                assert_double_le(lb, exact_obj(f.n, x, cy, 0.0));
                checked++;
            }
            positive += round == 0 && t > 1e-6;
            /* the conjunction's rows are inert for a plain LP */
            assert_int_equal(lp_lower_bound(ctx, &reg, &o, c1, 0.0, &out, &lb1b, NULL, &err),
                             CN_OK);
            assert_double_near(lb1, lb1b, 1e-9 * (1 + fabs(lb1)));
        }
        lp_ctx_free(ctx);
        free_fixture(&f);
    }
    printf("# %d exact evaluations checked against conjunction LPs; %d of 60 refuted by t > 0\n",
           checked, positive);
    assert_true(positive > 0);
}

/* Splits: a neuron fixed active or inactive; the bound holds at every point
 * satisfying the split, and both children bound at least the parent. */
static void test_lp_splits(void **state)
{
    tu_rng r = {tu_seed("lp_splits", 77)};
    cn_err err;
    lp_opts o;
    lp_opts_init(&o);
    int splits_done = 0;
    for (int trial = 0; trial < 40; trial++) {
        fixture f;
        make_fixture(&f, &r, 2, 6, 6, 2);
        double c[2] = {1.0, -1.0}, d = 0.0;
        /* first unstable neuron of the first ReLU layer (layer 1) */
        int k = -1;
        for (int j = 0; j < 6; j++)
            if (f.pre_lo[1][j] < 0 && f.pre_hi[1][j] > 0) {
                k = j;
                break;
            }
        if (k < 0) {
            free_fixture(&f);
            continue;
        }
        signed char s1[6] = {0}, s3[6] = {0};
        const signed char *sp[4] = {NULL, s1, NULL, s3};
        lp_region reg = {f.lo, f.hi, (const double *const *)f.pre_lo,
                         (const double *const *)f.pre_hi, sp, 0, NULL};
        lp_ctx *ctx = lp_ctx_new(f.n, &err);
        lp_outcome out;
        double parent, child[2];
        assert_int_equal(lp_lower_bound(ctx, &reg, &o, c, d, &out, &parent, NULL, &err), CN_OK);
        for (int side = 0; side < 2; side++) {
            s1[k] = side ? 1 : -1;
            assert_int_equal(lp_lower_bound(ctx, &reg, &o, c, d, &out, &child[side], NULL, &err),
                             CN_OK);
            assert_int_equal(out, LP_BOUND);
            assert_double_le(parent, child[side] + 1e-9 * (1 + fabs(parent)));
        }
        s1[k] = 0;
        /* points satisfy exactly one side; check the matching child bound */
        const net_layer *l0 = net_layer_at(f.n, 0);
        for (int s = 0; s < 200; s++) {
            double x[2];
            sample(&r, &f, x, -1);
            double z = l0->b[k] + l0->W[k * 2] * x[0] + l0->W[k * 2 + 1] * x[1];
            double v = exact_obj(f.n, x, c, d);
            if (z > 1e-9)
                assert_double_le(child[1], v);
            else if (z < -1e-9)
                assert_double_le(child[0], v);
        }
        splits_done++;
        lp_ctx_free(ctx);
        free_fixture(&f);
    }
    assert_true(splits_done > 10);
}

/* A split that contradicts the sound bounds makes the subproblem empty. */
static void test_lp_contradictory_split(void **state)
{
    tu_rng r = {5};
    cn_err err;
    fixture f;
    make_fixture(&f, &r, 2, 3, 3, 2);
    f.pre_hi[1][0] = -0.5;
    f.pre_lo[1][0] = -1.0;
    signed char s1[3] = {1, 0, 0};
    const signed char *sp[4] = {NULL, s1, NULL, NULL};
    lp_region reg = {f.lo, f.hi, (const double *const *)f.pre_lo, (const double *const *)f.pre_hi,
                     sp, 0, NULL};
    lp_ctx *ctx = lp_ctx_new(f.n, &err);
    double c[2] = {1, 0}, lb;
    lp_outcome out;
    assert_int_equal(lp_lower_bound(ctx, &reg, NULL, c, 0.0, &out, &lb, NULL, &err), CN_OK);
    assert_int_equal(out, LP_BOUND);
    assert_true(lb == INFINITY);
    lp_ctx_free(ctx);
    free_fixture(&f);
}

/* Splits that are each possible but not together: z1 = x >= 0 and
 * z2 = -x - 0.5 >= 0.  Interval bounds cannot see it; the LP must, and must
 * prove it (Farkas certificate), giving +inf. */
static void test_lp_infeasible_splits_certified(void **state)
{
    cn_err err;
    net *n = net_new((net_shape){1, 1, 1});
    net_layer *l = net_add_dense(n, 2, &err);
    l->W[0] = 1.0;
    l->W[1] = -1.0;
    l->b[1] = -0.5;
    net_add_relu(n, &err);
    l = net_add_dense(n, 1, &err);
    l->W[0] = 1.0;
    l->W[1] = 1.0;
    double lo = -1, hi = 1, plo[2] = {-1, -1.5}, phi[2] = {1, 0.5};
    double *pl[3] = {NULL, plo, NULL}, *ph[3] = {NULL, phi, NULL};
    signed char s1[2] = {1, 1};
    const signed char *sp[3] = {NULL, s1, NULL};
    lp_region reg = {&lo, &hi, (const double *const *)pl, (const double *const *)ph, sp, 0, NULL};
    lp_ctx *ctx = lp_ctx_new(n, &err);
    double c = 1.0, lb;
    lp_outcome out;
    assert_int_equal(lp_lower_bound(ctx, &reg, NULL, &c, 0.0, &out, &lb, NULL, &err), CN_OK);
    assert_int_equal(out, LP_BOUND);
    assert_true(lb == INFINITY);
    /* one split alone is feasible: a finite bound (min of y = x + 0 at x = 0) */
    s1[1] = 0;
    assert_int_equal(lp_lower_bound(ctx, &reg, NULL, &c, 0.0, &out, &lb, NULL, &err), CN_OK);
    assert_true(isfinite(lb));
    assert_double_le(lb, 0.0);
    lp_ctx_free(ctx);
    net_free(n);
}

/* y = relu(x) on [-1, 1]: min of -y is -1, and the triangle relaxation is
 * exact at the vertex, so the rigorous bound is within rounding of -1. */
static void test_lp_known_value(void **state)
{
    cn_err err;
    net *n = net_new((net_shape){1, 1, 1});
    net_layer *l = net_add_dense(n, 1, &err);
    l->W[0] = 1.0;
    net_add_relu(n, &err);
    l = net_add_dense(n, 1, &err);
    l->W[0] = 1.0;
    double lo = -1, hi = 1, plo = -1, phi = 1;
    double *pl[3] = {NULL, &plo, NULL}, *ph[3] = {NULL, &phi, NULL};
    lp_region reg = {&lo, &hi, (const double *const *)pl, (const double *const *)ph, NULL, 0, NULL};
    lp_ctx *ctx = lp_ctx_new(n, &err);
    double c = -1.0, lb;
    lp_outcome out;
    assert_int_equal(lp_lower_bound(ctx, &reg, NULL, &c, 0.0, &out, &lb, NULL, &err), CN_OK);
    assert_double_near(lb, -1.0, 1e-12);
    assert_double_le(lb, -1.0);
    /* and the max of -y ... i.e. min of +y is 0 */
    c = 1.0;
    assert_int_equal(lp_lower_bound(ctx, &reg, NULL, &c, 0.0, &out, &lb, NULL, &err), CN_OK);
    assert_double_near(lb, 0.0, 1e-12);
    assert_double_le(lb, 0.0);
    assert_int_equal(fegetround(), FE_TONEAREST);
    lp_ctx_free(ctx);
    net_free(n);
}

/* A linear input constraint x0 + x1 <= 0 (exact rationals) cuts the region;
 * the bound holds at every sample satisfying it and is tighter than without. */
static void test_lp_linear_input_constraint(void **state)
{
    tu_rng r = {tu_seed("lp_linear_input_constraint", 9)};
    cn_err err;
    fixture f;
    make_fixture(&f, &r, 2, 5, 5, 1);
    for (int k = 0; k < 2; k++) {
        f.lo[k] = -1;
        f.hi[k] = 1;
    }
    interval_bounds(f.n, f.lo, f.hi, f.pre_lo, f.pre_hi);
    prop_lin lin;
    int var[2] = {0, 1};
    mpq_t coef[2];
    mpq_init(coef[0]);
    mpq_init(coef[1]);
    mpq_set_ui(coef[0], 1, 10); /* 0.1 x0 + 0.1 x1 <= 0: 0.1 is not a double */
    mpq_set_ui(coef[1], 1, 10);
    mpq_init(lin.rhs);
    lin.n = 2;
    lin.var = var;
    lin.coef = coef;
    double c = 1.0, with, without;
    lp_region reg = {f.lo, f.hi, (const double *const *)f.pre_lo, (const double *const *)f.pre_hi,
                     NULL, 0, NULL};
    lp_ctx *ctx = lp_ctx_new(f.n, &err);
    lp_outcome out;
    assert_int_equal(lp_lower_bound(ctx, &reg, NULL, &c, 0.0, &out, &without, NULL, &err), CN_OK);
    reg.n_lin = 1;
    reg.lin = &lin;
    assert_int_equal(lp_lower_bound(ctx, &reg, NULL, &c, 0.0, &out, &with, NULL, &err), CN_OK);
    assert_double_le(without, with + 1e-9);
    for (int s = 0; s < 500; s++) {
        double x[2] = {2 * tu_unif(&r) - 1, 2 * tu_unif(&r) - 1};
        if (x[0] + x[1] <= 0)
            assert_double_le(with, exact_obj(f.n, x, &c, 0.0));
    }
    /* removing the constraint again restores the unconstrained bound */
    reg.n_lin = 0;
    double again;
    assert_int_equal(lp_lower_bound(ctx, &reg, NULL, &c, 0.0, &out, &again, NULL, &err), CN_OK);
    assert_double_near(again, without, 1e-9 * (1 + fabs(without)));
    mpq_clear(coef[0]);
    mpq_clear(coef[1]);
    mpq_clear(lin.rhs);
    lp_ctx_free(ctx);
    free_fixture(&f);
}

static void test_lp_rejects_consecutive_affine(void **state)
{
    cn_err err;
    net *n = net_new((net_shape){2, 1, 1});
    net_add_dense(n, 2, &err);
    net_add_dense(n, 2, &err);
    assert_null(lp_ctx_new(n, &err));
    assert_int_equal(err.status, CN_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "both affine"));
    net_free(n);
}

/* ---- enclosures (finding F1) ---------------------------------------------
 * A layer whose W, b only enclose the file's values (models.h, net_layer:
 * wrel, wabs, brad) stands for every network with W* = W + t R,
 * R = wrel |W| + wabs (over the receptive field), b* = b + s brad,
 * t, s in [-1, 1].  The LP's rigorous bound must hold for each of them. */

/* Which network of the enclosure: PT_CORNER t = s = sg (W +- R, b +- brad);
 * PT_RANDOM t, s from seed, the same at every point; PT_PUSH each neuron
 * at its extreme at this point (t_ok = sg sign(z_k), s_o = sg). */
enum { PT_CORNER, PT_RANDOM, PT_PUSH };
typedef struct {
    int mode, sg;
    uint64_t seed;
} pert;

static const pert perts[] = {{PT_CORNER, 1, 0},  {PT_CORNER, -1, 0}, {PT_RANDOM, 0, 21},
                             {PT_RANDOM, 0, 22}, {PT_PUSH, 1, 0},    {PT_PUSH, -1, 0}};
#define N_PERTS ((int)(sizeof perts / sizeof perts[0]))

static double pert_coef(const pert *pt, int i, int part, long idx, int sgn_z)
{
    if (pt->mode == PT_CORNER)
        return pt->sg;
    if (pt->mode == PT_PUSH)
        return part ? pt->sg : pt->sg * sgn_z;
    tu_rng h = {pt->seed ^ ((uint64_t)i << 40) ^ ((uint64_t)part << 36) ^ (uint64_t)idx};
    return 2 * tu_unif(&h) - 1;
}

/* Exact c.y + d (rounded down) at x for the network of n's enclosure that
 * pt names; false when a ReLU input breaks split (NULL: none) there. */
static bool exact_obj_pert(const net *n, const double *x, const pert *pt,
                           const signed char *const *split, const double *c, double d,
                           double *value)
{
    int w = net_max_width(n);
    mpq_t *z = malloc(sizeof(mpq_t) * (size_t)w), *t = malloc(sizeof(mpq_t) * (size_t)w);
    double *row = malloc(sizeof(double) * (size_t)w);
    bool *field = malloc(sizeof(bool) * (size_t)w), ok = true;
    mpq_t q, rad;
    mpq_inits(q, rad, NULL);
    for (int j = 0; j < w; j++) {
        mpq_init(z[j]);
        mpq_init(t[j]);
    }
    for (int j = 0; j < net_in_size(n); j++)
        mpq_set_d(z[j], x[j]);
    for (int i = 0; i < net_n_layers(n); i++) {
        const net_layer *l = net_layer_at(n, i);
        if (l->op == NET_RELU) {
            for (int j = 0; j < l->in; j++) {
                int sg = mpq_sgn(z[j]), sp = split && split[i] ? split[i][j] : 0;
                if ((sp > 0 && sg < 0) || (sp < 0 && sg > 0))
                    ok = false;
                if (sg < 0)
                    mpq_set_ui(z[j], 0, 1);
            }
            continue;
        }
        for (int o = 0; o < l->out; o++) {
            mpq_set_d(t[o], affine_row(l, o, row, field));
            mpq_set_d(q, brad_of(l, o));
            mpq_set_d(rad, pert_coef(pt, i, 1, o, 0));
            mpq_mul(q, q, rad);
            mpq_add(t[o], t[o], q);
            for (int k = 0; k < l->in; k++) {
                if (!field[k])
                    continue;
                /* (W + t (wrel |W| + wabs)) z */
                mpq_set_d(rad, l->wrel);
                mpq_set_d(q, fabs(row[k]));
                mpq_mul(rad, rad, q);
                mpq_set_d(q, l->wabs);
                mpq_add(rad, rad, q);
                mpq_set_d(q, pert_coef(pt, i, 0, (long)o * l->in + k, mpq_sgn(z[k])));
                mpq_mul(rad, rad, q);
                mpq_set_d(q, row[k]);
                mpq_add(q, q, rad);
                mpq_mul(q, q, z[k]);
                mpq_add(t[o], t[o], q);
            }
        }
        for (int o = 0; o < l->out; o++)
            mpq_set(z[o], t[o]);
    }
    mpq_set_d(rad, d);
    for (int k = 0; k < net_out_size(n); k++) {
        mpq_set_d(q, c[k]);
        mpq_mul(q, q, z[k]);
        mpq_add(rad, rad, q);
    }
    *value = cn_mpq_get_d_down(rad);
    for (int j = 0; j < w; j++) {
        mpq_clear(z[j]);
        mpq_clear(t[j]);
    }
    mpq_clears(q, rad, NULL);
    free(z);
    free(t);
    free(row);
    free(field);
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

/* ---- GLPK faults and out of memory (lp.h "GLPK faults") -------------------- */

/* Finding F5's network: z = (1e308 x, 1e308 x, x), a = relu(z), y0 = a0 - a1
 * + 1, y1 = 1e308 a2, on x in [1, 2].  GLPK's dual simplex fails an
 * internal assertion on it ("p != 0", spychuzr.c), which used to abort. */
static net *f5_net(void)
{
    cn_err err;
    net *n = net_new((net_shape){1, 1, 1});
    net_layer *l = net_add_dense(n, 3, &err);
    l->W[0] = l->W[1] = 1e308;
    l->W[2] = 1;
    assert_non_null(net_add_relu(n, &err));
    l = net_add_dense(n, 2, &err);
    l->W[0] = 1;
    l->W[1] = -1;
    l->W[5] = 1e308;
    l->b[0] = 1;
    return n;
}

static void test_lp_glpk_fault(void **state)
{
    (void)state;
    cn_err err;
    /* a sane context of the same thread, solved before and after the fault */
    tu_rng r = {5};
    fixture f;
    make_fixture(&f, &r, 2, 4, 4, 1);
    lp_region sane = {f.lo, f.hi, (const double *const *)f.pre_lo, (const double *const *)f.pre_hi,
                      NULL, 0, NULL};
    lp_ctx *other = lp_ctx_new(f.n, &err);
    assert_non_null(other);
    double c1 = 1.0, before, after;
    lp_outcome out;
    assert_int_equal(lp_lower_bound(other, &sane, NULL, &c1, 0.0, &out, &before, NULL, &err), CN_OK);
    assert_int_equal(out, LP_BOUND);
    assert_null(lp_fault(other));

    net *n = f5_net();
    double lo = 1, hi = 2;
    double *pl[3] = {NULL, NULL, NULL}, *ph[3] = {NULL, NULL, NULL};
    pl[1] = calloc(3, sizeof(double));
    ph[1] = calloc(3, sizeof(double));
    interval_bounds(n, &lo, &hi, pl, ph);
    lp_region reg = {&lo, &hi, (const double *const *)pl, (const double *const *)ph, NULL, 0, NULL};
    lp_ctx *ctx = lp_ctx_new(n, &err);
    assert_non_null(ctx);
    const double objs[][2] = {{0, -1}, {0, 1}, {1, 0}, {-1, 0}, {1, -1}};
    int faults = 0;
    for (int q = 0; q < 5; q++) {
        double lb = 0, x = 0;
        assert_int_equal(lp_lower_bound(ctx, &reg, NULL, objs[q], 0.0, &out, &lb, &x, &err), CN_OK);
        assert_int_equal(fegetround(), FE_TONEAREST);
        if (lp_fault(ctx)) {
            faults++;
            printf("# F5 objective (%g, %g): %s\n", objs[q][0], objs[q][1], lp_fault(ctx));
            assert_int_equal(out, LP_FAILED);
            assert_non_null(strstr(lp_fault(ctx), "GLPK"));
        } else {
            assert_true(out == LP_BOUND || out == LP_FAILED);
        }
        double lam[2], t;
        const double C[4] = {0, -1, -1, 0}, rr[2] = {-1e300, 0};
        assert_int_equal(lp_conj_solve(ctx, &reg, NULL, 2, C, rr, lam, &t, NULL, &err), CN_OK);
        if (lp_fault(ctx)) {
            faults++;
            assert_true(t == -INFINITY && lam[0] == 0 && lam[1] == 0);
        }
        (void)lp_conj_bound(ctx, objs[q]);
    }
    printf("# F5: %d GLPK faults caught in 10 calls\n", faults);
    assert_true(faults > 0); /* (the regression: each of them used to abort) */
    /* the thread's other context lost its problem with the environment:
     * rebuilt, it gives the same bound */
    assert_int_equal(lp_lower_bound(other, &sane, NULL, &c1, 0.0, &out, &after, NULL, &err), CN_OK);
    assert_null(lp_fault(other));
    assert_int_equal(out, LP_BOUND);
    assert_double_near(after, before, 1e-9 * (1 + fabs(before)));
    /* the MILP on F5 fails the same way: a failed call, no abort */
    double m;
    assert_int_equal(lp_milp_min(n, &reg, NULL, objs[0], 0.0, &out, &m, NULL, &err), CN_OK);
    lp_ctx_free(ctx);
    lp_ctx_free(other);
    free(pl[1]);
    free(ph[1]);
    net_free(n);
    free_fixture(&f);
}

/* The out-of-memory loop of STYLE.md over the LP API: lp_ctx_new, bounds
 * with and without a linear input row, a conjunction, an empty split, and
 * the MILP; allocation k of this thread fails, k = 1, 2, ...: every call
 * with a failed allocation returns CN_ENOMEM (lp_ctx_new: NULL), nothing
 * leaks, and once no allocation fails the results are those of a clean run. */
static cn_status lp_oom_run(const fixture *f, const lp_region *reg, const prop_lin *lin,
                            double *res, cn_err *err)
{
    lp_ctx *ctx = lp_ctx_new(f->n, err);
    if (!ctx)
        return err->status;
    double c = 1.0;
    lp_outcome out;
    lp_region rl = *reg;
    cn_status st = lp_lower_bound(ctx, reg, NULL, &c, 0.0, &out, &res[0], NULL, err);
    if (st == CN_OK) {
        rl.n_lin = 1;
        rl.lin = lin;
        st = lp_lower_bound(ctx, &rl, NULL, &c, 0.0, &out, &res[1], NULL, err);
    }
    if (st == CN_OK) {
        double C[2] = {1.0, -1.0}, rr[2] = {0.0, 0.0}, lam[2], t;
        st = lp_conj_solve(ctx, &rl, NULL, 2, C, rr, lam, &t, NULL, err);
        res[2] = t;
    }
    lp_ctx_free(ctx);
    if (st == CN_OK)
        st = lp_milp_min(f->n, reg, NULL, &c, 0.0, &out, &res[3], NULL, err);
    return st;
}

static void test_lp_oom(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("lp_oom", 13)};
    fixture f;
    make_fixture(&f, &r, 2, 5, 5, 1);
    prop_lin lin;
    int var[2] = {0, 1};
    mpq_t coef[2];
    mpq_init(coef[0]);
    mpq_init(coef[1]);
    mpq_set_ui(coef[0], 1, 10);
    mpq_set_ui(coef[1], 1, 10);
    mpq_init(lin.rhs);
    lin.n = 2;
    lin.var = var;
    lin.coef = coef;
    lp_region reg = {f.lo, f.hi, (const double *const *)f.pre_lo, (const double *const *)f.pre_hi,
                     NULL, 0, NULL};
    cn_err err;
    double want[4], got[4];
    assert_int_equal(lp_oom_run(&f, &reg, &lin, want, &err), CN_OK);
    for (long k = 1;; k++) {
        assert_true(k < 100000);
        long live = cn_alloc_live();
        cn_alloc_fail_after(k);
        cn_status st = lp_oom_run(&f, &reg, &lin, got, &err);
        bool reached = true; /* allocation k was reached unless one of the next k fails */
        for (long i = 0; st == CN_OK && reached && i < k; i++) {
            void *q = cn_malloc(1);
            reached = q != NULL;
            cn_free(q);
        }
        cn_alloc_fail_after(0);
        if (cn_alloc_live() != live)
            fail_msg("LP, allocation %ld fails: %ld blocks leaked", k, cn_alloc_live() - live);
        if (!reached) {
            for (int q = 0; q < 4; q++)
                assert_true(got[q] == want[q] || (isnan(got[q]) && isnan(want[q])));
            printf("# LP: out of memory at each of %ld allocations\n", k - 1);
            break;
        }
        if (st != CN_ENOMEM)
            fail_msg("LP, allocation %ld fails: status %d (%s)", k, (int)st, err.msg);
    }
    mpq_clear(coef[0]);
    mpq_clear(coef[1]);
    mpq_clear(lin.rhs);
    free_fixture(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lp_bound_sound_and_milp),
        cmocka_unit_test(test_lp_conjunction),
        cmocka_unit_test(test_lp_splits),
        cmocka_unit_test(test_lp_contradictory_split),
        cmocka_unit_test(test_lp_infeasible_splits_certified),
        cmocka_unit_test(test_lp_known_value),
        cmocka_unit_test(test_lp_linear_input_constraint),
        cmocka_unit_test(test_lp_rejects_consecutive_affine),
        cmocka_unit_test(test_lp_enclosure_sound),
        cmocka_unit_test(test_lp_enclosure_tight),
        cmocka_unit_test(test_lp_conv),
        cmocka_unit_test(test_lp_glpk_fault),
        cmocka_unit_test(test_lp_oom),
    };
    return cmocka_run_group_tests_name("lp", tests, NULL, NULL);
}

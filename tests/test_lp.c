/* test_lp.c — the LP relaxation's rigorous bounds and the MILP oracle, on
 * random small networks checked against exact rational evaluation, GLPK's
 * faults and out of memory; convolutions and networks with an enclosure
 * (finding F1): test_lp_encl.c. */
#include "config.h"

#include <fenv.h>
#include <math.h>

#include "lp/lp.h"
#include "tests/lpfix.h"
#include "tests/testutil.h"

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
        cmocka_unit_test(test_lp_glpk_fault),
        cmocka_unit_test(test_lp_oom),
    };
    return cmocka_run_group_tests_name("lp", tests, NULL, NULL);
}

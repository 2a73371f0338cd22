/* test_bounds_batch.c — bnd_run_batch (bounds.h, "Batches"): on random
 * dense ReLU networks and batches of regions (siblings one split apart,
 * regions of different points and boxes, duplicates, infeasible split
 * combinations, B = 1), every batched bound holds for the exact network at
 * sampled points of its region (mpq), and equals bnd_run's bound of the
 * same region up to rounding (equal bound quality); other methods give
 * bnd_run's bounds exactly.  Also: stopped batches report nothing, bad
 * boxes are named, out of memory leaks nothing, the context has no last
 * run afterwards. */
#include "config.h"

#include <fenv.h>
#include <math.h>
#include <string.h>

#include "bounds/bounds.h"
#include "models/models.h"
#include "tests/bnd_check.h"
#include "tests/exact.h"
#include "tests/netgen.h"
#include "tests/testutil.h"

enum { MAXB = 48, MAXIN = 8 };

/* Equal up to rounding: both the same infinity, or within 1e-9 relative. */
static bool close_to(double a, double b)
{
    if (a == b)
        return true;
    if (!isfinite(a) || !isfinite(b))
        return false;
    return fabs(a - b) <= 1e-9 * (1.0 + fabs(b));
}

typedef struct {
    int regions, compared, infeasible, points;
} stats;

static int width(const net *n, int i) { return i == 0 ? net_in_size(n) : net_layer_at(n, i - 1)->out; }

/* Bounds the B regions in one batch and each alone with method m, compares
 * them (exactly for a method other than CROWN), and checks the batch's
 * bounds at sampled points of each region. */
static void check_batch(tu_rng *r, const net *n, bnd_ctx *c, bnd_method m, int B,
                        const bnd_region *rg, int mq, const double *C, const double *d, stats *st)
{
    cn_err err;
    int nl = net_n_layers(n), nin = net_in_size(n), no = net_out_size(n);
    bnd_opts o;
    bnd_opts_init(&o, m);
    o.alpha_iters = 4;
    double *lb = calloc((size_t)B * mq + 1, sizeof(double)), *lb1 = calloc((size_t)mq + 1, 8);
    bnd_result res[MAXB], r1;
    assert_int_equal(fegetround(), FE_TONEAREST);
    assert_int_equal(bnd_run_batch(c, &o, B, rg, mq, C, d, lb, res, &err), CN_OK);
    assert_int_equal(fegetround(), FE_TONEAREST);
    /* the batch's layer bounds, copied before the runs alone */
    double **blo = calloc((size_t)B * (nl + 1), sizeof(double *));
    double **bhi = calloc((size_t)B * (nl + 1), sizeof(double *));
    for (int b = 0; b < B; b++)
        for (int i = 0; i <= nl; i++) {
            const double *lo, *hi;
            bnd_batch_layer_bounds(c, b, i, &lo, &hi);
            size_t w = (size_t)width(n, i);
            blo[b * (nl + 1) + i] = malloc(w * sizeof(double) + 1);
            bhi[b * (nl + 1) + i] = malloc(w * sizeof(double) + 1);
            memcpy(blo[b * (nl + 1) + i], lo, w * sizeof(double));
            memcpy(bhi[b * (nl + 1) + i], hi, w * sizeof(double));
        }
    for (int b = 0; b < B; b++) {
        st->regions++;
        assert_false(res[b].stopped);
        assert_int_equal(res[b].n_relus, net_n_relus(n));
        assert_int_equal(bnd_run(c, &o, &rg[b], mq, C, d, lb1, &r1, &err), CN_OK);
        if (r1.infeasible != res[b].infeasible)
            fail_msg("region %d: infeasible %d alone, %d in the batch", b, r1.infeasible,
                     res[b].infeasible);
        if (r1.infeasible) {
            st->infeasible++;
            for (int q = 0; q < mq; q++)
                assert_true(lb[b * mq + q] == INFINITY);
            continue;
        }
        assert_int_equal(r1.unstable, res[b].unstable);
        for (int q = 0; q < mq; q++) {
            double v = lb[b * mq + q];
            if (m == BND_CROWN ? !close_to(v, lb1[q]) : !(v == lb1[q]))
                fail_msg("region %d row %d (%s): batch %.17g, alone %.17g", b, q,
                         bnd_method_name(m), v, lb1[q]);
            st->compared++;
        }
        for (int i = 0; i <= nl; i++) {
            const double *lo, *hi;
            bnd_layer_bounds(c, i, &lo, &hi);
            for (int j = 0; j < width(n, i); j++) {
                double a = blo[b * (nl + 1) + i][j], h = bhi[b * (nl + 1) + i][j];
                if (m == BND_CROWN ? !close_to(a, lo[j]) || !close_to(h, hi[j])
                                   : !(a == lo[j] && h == hi[j]))
                    fail_msg("region %d z_%d[%d]: batch [%.17g, %.17g], alone [%.17g, %.17g]", b,
                             i, j, a, h, lo[j], hi[j]);
            }
        }
    }
    /* soundness at points of each region (the batch's own bounds) */
    trace t;
    trace_init(&t, n);
    double x[MAXIN];
    mpq_t v, p;
    mpq_init(v);
    mpq_init(p);
    for (int b = 0; b < B; b++) {
        for (int pt = 0; pt < 24; pt++) {
            if (!box_point(r, pt < 4 ? pt : 1 << 20, nin, 2, rg[b].lo, rg[b].hi, NULL, x))
                continue;
            eval_trace(n, x, &t);
            if (!meets_splits(n, &t, rg[b].split))
                continue;
            if (res[b].infeasible)
                fail_msg("region %d called infeasible, but a point meets its splits", b);
            st->points++;
            for (int i = 0; i <= nl; i++)
                for (int j = 0; j < width(n, i); j++)
                    if (!d_le_q(blo[b * (nl + 1) + i][j], t.z[i][j]) ||
                        !q_le_d(t.z[i][j], bhi[b * (nl + 1) + i][j]))
                        fail_msg("region %d: z_%d[%d] = %g outside [%g, %g]", b, i, j,
                                 mpq_get_d(t.z[i][j]), blo[b * (nl + 1) + i][j],
                                 bhi[b * (nl + 1) + i][j]);
            for (int q = 0; q < mq; q++) {
                mpq_set_d(v, d ? d[q] : 0.0);
                for (int k = 0; k < no; k++) {
                    mpq_set_d(p, C[q * no + k]);
                    mpq_mul(p, p, t.z[nl][k]);
                    mpq_add(v, v, p);
                }
                assert_lb_le(lb[b * mq + q], v, "batch", b, q);
            }
        }
    }
    mpq_clear(v);
    mpq_clear(p);
    trace_clear(&t);
    for (int k = 0; k < B * (nl + 1); k++) {
        free(blo[k]);
        free(bhi[k]);
    }
    free(blo);
    free(bhi);
    free(lb);
    free(lb1);
}

/* A random point of the box [lo, hi]. */
static void point_in(tu_rng *r, int nin, const double *lo, const double *hi, double *x)
{
    for (int j = 0; j < nin; j++)
        x[j] = lo[j] + tu_unif(r) * (hi[j] - lo[j]);
}

/* Random networks and batches: siblings of one node (the engine's trials:
 * the node's splits plus one, either phase, some infeasible), regions of
 * different points with their own sub-boxes, duplicates; CROWN compared up
 * to rounding, DEEPPOLY and ALPHA (bnd_run per region) exactly. */
static void test_batch_random(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("batch_random", 20261207)};
    stats st = {0};
    static const int BS[] = {1, 2, 5, 8, 17};
    for (int trial = 0; trial < 70; trial++) {
        /* a few wide ones (relaxations differing at many neurons), and deep
         * ones with many regions (rows in several chunks) */
        bool wide = trial % 10 == 9, deep = trial % 10 == 8;
        net_cfg g = {.depth = deep ? 4 : 2 + (int)(tu_next(&r) % 3),
                     .width = wide ? 40 : deep ? 14 : 3 + (int)(tu_next(&r) % 8),
                     .n_in = 2 + (int)(tu_next(&r) % 4),
                     .n_out = 2 + (int)(tu_next(&r) % 3),
                     .wexp = trial % 3 == 2 ? 2 : 1,
                     .out_relu = false};
        net *n = random_dense(&r, &g);
        cn_err err;
        bnd_ctx *c = bnd_ctx_new(n, &err);
        assert_non_null(c);
        int nin = g.n_in, no = net_out_size(n), nr = net_n_relus(n);
        double lo[MAXIN], hi[MAXIN], x0[MAXIN];
        random_box(&r, nin, 1, 0, lo, hi, x0);
        int B = deep || wide ? 40 : BS[trial % 5];
        int mode = trial % 3; /* 0 siblings, 1 points and boxes, 2 mixed with duplicates */
        double blo[MAXB][MAXIN], bhi[MAXB][MAXIN], x[MAXIN];
        signed char *sp[MAXB];
        bnd_region rg[MAXB];
        point_in(&r, nin, lo, hi, x);
        signed char *base = splits_at(&r, n, x, 0.3);
        for (int b = 0; b < B; b++) {
            memcpy(blo[b], lo, sizeof(double) * nin);
            memcpy(bhi[b], hi, sizeof(double) * nin);
            if (mode == 0 || (mode == 2 && b % 2 == 0)) {
                sp[b] = malloc((size_t)nr + 1);
                memcpy(sp[b], base, (size_t)nr);
                int j = (int)(tu_next(&r) % (uint64_t)nr);
                sp[b][j] = (tu_next(&r) & 1) ? 1 : -1;
            } else if (mode == 2 && b % 4 == 1 && b > 1) {
                sp[b] = malloc((size_t)nr + 1);
                memcpy(sp[b], sp[b - 2], (size_t)nr); /* a duplicate */
                memcpy(blo[b], blo[b - 2], sizeof(double) * nin);
                memcpy(bhi[b], bhi[b - 2], sizeof(double) * nin);
            } else {
                point_in(&r, nin, lo, hi, x);
                sp[b] = splits_at(&r, n, x, wide ? 0.9 : 0.5);
                if (tu_next(&r) & 1) /* a sub-box around the point */
                    for (int j = 0; j < nin; j++) {
                        double w = (hi[j] - lo[j]) * tu_unif(&r);
                        blo[b][j] = fmax(lo[j], x[j] - w);
                        bhi[b][j] = fmin(hi[j], x[j] + w);
                    }
            }
            rg[b] = (bnd_region){blo[b], bhi[b], sp[b], NULL, NULL};
        }
        int mq = no * (no - 1) + 2;
        double *C = calloc((size_t)mq * no, sizeof(double)), *d = calloc((size_t)mq, 8);
        assert_int_equal(margin_rows(&r, no, 2, 2, C, d), mq);
        check_batch(&r, n, c, BND_CROWN, B, rg, mq, C, trial % 2 ? d : NULL, &st);
        if (trial % 7 == 0)
            check_batch(&r, n, c, trial % 14 ? BND_ALPHA : BND_DEEPPOLY, B < 5 ? B : 5, rg, mq, C,
                        d, &st);
        for (int b = 0; b < B; b++)
            free(sp[b]);
        free(base);
        free(C);
        free(d);
        bnd_ctx_free(c);
        net_free(n);
    }
    printf("# batch_random: %d regions, %d rows compared, %d infeasible, %d points\n", st.regions,
           st.compared, st.infeasible, st.points);
    assert_true(st.compared > 2000);
    assert_true(st.infeasible > 10);
    assert_true(st.points > 2000);
}

/* A split against a neuron's sign on the whole box: infeasible in the batch
 * as alone, the other regions unaffected; B = 0 does nothing. */
static void test_batch_infeasible(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("batch_infeasible", 5)};
    int found = 0;
    for (int trial = 0; trial < 40 && found < 5; trial++) {
        net_cfg g = {.depth = 2, .width = 6, .n_in = 3, .n_out = 2, .wexp = 1};
        net *n = random_dense(&r, &g);
        cn_err err;
        bnd_ctx *c = bnd_ctx_new(n, &err);
        double lo[3], hi[3], x0[3];
        random_box(&r, 3, 1, 0, lo, hi, x0);
        int nr = net_n_relus(n);
        bnd_opts o;
        bnd_opts_init(&o, BND_CROWN);
        bnd_region r0 = {lo, hi, NULL, NULL, NULL};
        bnd_result res[3];
        assert_int_equal(bnd_run(c, &o, &r0, 0, NULL, NULL, NULL, res, &err), CN_OK);
        /* a neuron of the first ReLU layer that is inactive on the whole box */
        const double *L, *H;
        bnd_layer_bounds(c, 1, &L, &H);
        int j = -1;
        for (int k = 0; k < net_layer_at(n, 0)->out && j < 0; k++)
            if (H[k] < 0)
                j = k;
        if (j < 0) {
            bnd_ctx_free(c);
            net_free(n);
            continue;
        }
        found++;
        signed char *sp = calloc((size_t)nr, 1);
        sp[j] = 1;
        bnd_region rg[3] = {r0, {lo, hi, sp, NULL, NULL}, r0};
        double C[2] = {1, -1}, lb[3];
        assert_int_equal(bnd_run_batch(c, &o, 3, rg, 1, C, NULL, lb, res, &err), CN_OK);
        assert_false(res[0].infeasible);
        assert_true(res[1].infeasible);
        assert_false(res[2].infeasible);
        assert_true(lb[1] == INFINITY);
        assert_true(isfinite(lb[0]) && lb[0] == lb[2]);
        assert_int_equal(bnd_run_batch(c, &o, 0, NULL, 1, C, NULL, NULL, NULL, &err), CN_OK);
        free(sp);
        bnd_ctx_free(c);
        net_free(n);
    }
    assert_true(found >= 5);
}

/* A stop callback that says "stop" from its at-th call on. */
typedef struct {
    int calls, at;
} stop_after;

static bool stop_at(void *arg)
{
    stop_after *s = arg;
    return ++s->calls >= s->at;
}

/* Stopped batches report nothing for any region, whenever they stop; a
 * batch not stopped gives the bounds of one without a stop; a deadline
 * past stops at once. */
static void test_batch_stop(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("batch_stop", 9)};
    net_cfg g = {.depth = 3, .width = 10, .n_in = 4, .n_out = 3, .wexp = 1};
    net *n = random_dense(&r, &g);
    cn_err err;
    bnd_ctx *c = bnd_ctx_new(n, &err);
    double lo[4], hi[4], x0[4];
    random_box(&r, 4, 1, 0, lo, hi, x0);
    int nr = net_n_relus(n), nl = net_n_layers(n);
    signed char *sp = calloc((size_t)4 * nr, 1);
    bnd_region rg[4];
    for (int b = 0; b < 4; b++) {
        sp[b * nr + b] = b % 2 ? 1 : -1;
        rg[b] = (bnd_region){lo, hi, sp + b * nr, NULL, NULL};
    }
    double C[6] = {1, -1, 0, 0, 1, -1}, ref[8], lb[8];
    bnd_result res[4];
    bnd_opts o;
    bnd_opts_init(&o, BND_CROWN);
    assert_int_equal(bnd_run_batch(c, &o, 4, rg, 2, C, NULL, ref, res, &err), CN_OK);
    int at = 1;
    for (; at < 100000; at++) {
        stop_after s = {0, at};
        o.stop = stop_at;
        o.stop_arg = &s;
        assert_int_equal(bnd_run_batch(c, &o, 4, rg, 2, C, NULL, lb, res, &err), CN_OK);
        assert_int_equal(fegetround(), FE_TONEAREST);
        if (!res[0].stopped)
            break;
        for (int b = 0; b < 4; b++) {
            assert_true(res[b].stopped);
            assert_false(res[b].infeasible);
            for (int q = 0; q < 2; q++)
                assert_true(lb[b * 2 + q] == -INFINITY);
            for (int i = 0; i <= nl; i++) {
                const double *L, *H;
                bnd_batch_layer_bounds(c, b, i, &L, &H);
                for (int j = 0; j < width(n, i); j++)
                    assert_true(L[j] == -INFINITY && H[j] == INFINITY);
            }
        }
    }
    assert_true(at > 2 && at < 100000);
    for (int b = 0; b < 4; b++)
        assert_false(res[b].stopped);
    for (int q = 0; q < 8; q++)
        assert_true(lb[q] == ref[q]);
    o.stop = NULL;
    o.deadline = cn_now() - 1.0;
    assert_int_equal(bnd_run_batch(c, &o, 4, rg, 2, C, NULL, lb, res, &err), CN_OK);
    for (int b = 0; b < 4; b++)
        assert_true(res[b].stopped && lb[2 * b] == -INFINITY);
    free(sp);
    bnd_ctx_free(c);
    net_free(n);
}

/* A region's box that is not finite is named; after a batch the context has
 * no last run (no input coefficients, bnd_run_param refuses); out of
 * memory at any allocation reports CN_ENOMEM and leaks nothing. */
static void test_batch_misc(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("batch_misc", 3)};
    net_cfg g = {.depth = 2, .width = 8, .n_in = 3, .n_out = 2, .wexp = 1};
    net *n = random_dense(&r, &g);
    cn_err err;
    bnd_ctx *c = bnd_ctx_new(n, &err);
    double lo[3], hi[3], x0[3], bad[3];
    random_box(&r, 3, 1, 0, lo, hi, x0);
    memcpy(bad, hi, sizeof bad);
    bad[2] = INFINITY;
    bnd_region rg[2] = {{lo, hi, NULL, NULL, NULL}, {lo, bad, NULL, NULL, NULL}};
    double C[2] = {1, -1}, lb[2], al[64], bt[64];
    bnd_result res[2];
    bnd_opts o;
    bnd_opts_init(&o, BND_CROWN);
    assert_int_equal(bnd_run_batch(c, &o, 2, rg, 1, C, NULL, lb, res, &err), CN_EINVAL);
    assert_non_null(strstr(err.msg, "region 1"));
    rg[1].hi = hi;
    assert_int_equal(bnd_run(c, &o, &rg[0], 1, C, NULL, lb, res, &err), CN_OK);
    assert_int_equal(bnd_run_batch(c, &o, 2, rg, 1, C, NULL, lb, res, &err), CN_OK);
    const double *A;
    bnd_input_coef(c, 0, &A);
    assert_null(A);
    memset(al, 0, sizeof al);
    memset(bt, 0, sizeof bt);
    assert_int_equal(bnd_run_param(c, NULL, 1, C, NULL, al, bt, 0, 0, 0, lb, &err), CN_EINVAL);
    bnd_ctx_free(c);

    long live = cn_alloc_live();
    for (long k = 1;; k++) {
        c = bnd_ctx_new(n, &err);
        assert_non_null(c);
        cn_alloc_fail_after(k);
        cn_status s = bnd_run_batch(c, &o, 2, rg, 1, C, NULL, lb, res, &err);
        cn_alloc_fail_after(0);
        bnd_ctx_free(c);
        assert_int_equal(cn_alloc_live(), live);
        if (s == CN_OK)
            break;
        assert_int_equal(s, CN_ENOMEM);
        assert_int_equal(fegetround(), FE_TONEAREST);
        assert_true(k < 1000);
    }
    net_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_random),
        cmocka_unit_test(test_batch_infeasible),
        cmocka_unit_test(test_batch_stop),
        cmocka_unit_test(test_batch_misc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

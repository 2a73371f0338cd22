/* test_prop.c — the property IR: the eps-ball (exact p/255 +- eps bounds,
 * clipping, the 9-disjunct unsafe set), the exact point check at
 * constraint boundaries where double arithmetic decides wrongly, and the
 * conservative check on a network known within an enclosure. */
#include "config.h"

#include <math.h>
#include <stdbool.h>

#include "models/models.h"
#include "tests/testutil.h"

static void q_dec(mpq_t q, const char *s)
{
    assert_true(cn_mpq_set_decimal(q, s, strlen(s)));
}

static prop *parse_ok(const char *text)
{
    cn_err err;
    prop *p = NULL;
    if (prop_parse_vnnlib_mem(text, strlen(text), "mem", 0, &p, &err) != CN_OK)
        fail_msg("%s", err.msg);
    return p;
}

/* y = W x + b with one dense layer (n_out x n_in). */
static net *affine(int n_in, int n_out, const double *W, const double *b)
{
    cn_err err;
    net *n = net_new((net_shape){n_in, 1, 1});
    assert_non_null(n);
    net_layer *l = net_add_dense(n, n_out, &err);
    assert_non_null(l);
    memcpy(l->W, W, sizeof(double) * (size_t)(n_in * n_out));
    memcpy(l->b, b, sizeof(double) * (size_t)n_out);
    return n;
}

static prop_check check_q(const prop *p, const net *n, mpq_t *x)
{
    prop_check r;
    prop_check_init(&r);
    cn_err err;
    if (prop_check_point(p, n, x, &r, &err) != CN_OK)
        fail_msg("%s", err.msg);
    return r;
}

static prop_check check_d(const prop *p, const net *n, const double *x)
{
    prop_check r;
    prop_check_init(&r);
    cn_err err;
    if (prop_check_point_d(p, n, x, &r, &err) != CN_OK)
        fail_msg("%s", err.msg);
    return r;
}

/* ---- eps-ball ---------------------------------------------------------- */

static void test_eps_ball(void **state)
{
    (void)state;
    enum { N = 4 };
    static const int pix[N] = {0, 3, 128, 255};
    mpq_t x0[N], eps, lo, hi, t;
    for (int i = 0; i < N; i++) {
        mpq_init(x0[i]);
        mpq_set_ui(x0[i], (unsigned long)pix[i], 255);
        mpq_canonicalize(x0[i]);
    }
    mpq_inits(eps, lo, hi, t, NULL);
    q_dec(eps, "0.026");
    mpq_set_ui(lo, 0, 1);
    mpq_set_ui(hi, 1, 1);
    prop *p = NULL;
    cn_err err;
    assert_int_equal(prop_eps_ball(N, x0, eps, lo, hi, 10, 7, &p, &err), CN_OK);
    assert_int_equal(prop_n_in(p), N);
    assert_int_equal(prop_n_out(p), 10);
    assert_int_equal(prop_n_cases(p), 1);
    assert_non_null(strstr(prop_name(p), "eps-ball"));
    const prop_case *c = prop_case_at(p, 0);
    /* pixel 0: [0, 0.026] (clipped below); pixel 255: [1 - 0.026, 1] */
    assert_int_equal(mpq_sgn(c->lo[0]), 0);
    assert_true(mpq_equal(c->hi[0], eps));
    assert_true(mpq_equal(c->hi[3], hi));
    mpq_sub(t, hi, eps);
    assert_true(mpq_equal(c->lo[3], t));
    /* pixel 3: 3/255 - 0.026 < 0 is clipped; upper 3/255 + 13/500 exactly */
    assert_int_equal(mpq_sgn(c->lo[1]), 0);
    mpq_set_ui(t, 3 * 500 + 13 * 255, 255 * 500);
    mpq_canonicalize(t);
    assert_true(mpq_equal(c->hi[1], t));
    /* pixel 128: 128/255 -+ 0.026, and the doubles enclose them strictly
     * (128/255 +- 13/500 is not a double) */
    mpq_sub(t, x0[2], eps);
    assert_true(mpq_equal(c->lo[2], t));
    mpq_set_d(t, c->lo_d[2]);
    assert_true(mpq_cmp(t, c->lo[2]) < 0);
    mpq_set_d(t, c->hi_d[2]);
    assert_true(mpq_cmp(t, c->hi[2]) > 0);
    assert_double_near(c->hi_d[2], 128.0 / 255.0 + 0.026, 1e-15);
    /* unsafe: for each j != 7, y_7 - y_j <= 0 */
    assert_int_equal(c->n_disj, 9);
    assert_int_equal(c->n_lin, 0);
    for (int d = 0, j = 0; d < 9; d++, j++) {
        if (j == 7)
            j++;
        const prop_lin *a = &c->disj[d].atoms[0];
        assert_int_equal(c->disj[d].n, 1);
        assert_int_equal(a->n, 2);
        assert_int_equal(mpq_sgn(a->rhs), 0);
        int k7 = a->var[0] == 7 ? 0 : 1;
        assert_int_equal(a->var[k7], 7);
        assert_int_equal(a->var[1 - k7], j);
        assert_true(a->var[0] < a->var[1]);
        assert_int_equal(mpq_cmp_si(a->coef[k7], 1, 1), 0);
        assert_int_equal(mpq_cmp_si(a->coef[1 - k7], -1, 1), 0);
    }
    /* written: p/255 does not terminate, so it is written exactly as (/ P Q) */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    bool exact = false;
    assert_int_equal(prop_write_vnnlib(p, f, &exact, &err), CN_OK);
    fclose(f);
    assert_true(exact);
    assert_non_null(strstr(buf, "(/ "));
    prop *q = NULL;
    assert_int_equal(prop_parse_vnnlib_mem(buf, len, "w", 0, &q, &err), CN_OK);
    assert_true(prop_equal(p, q));
    const prop_case *cq = prop_case_at(q, 0);
    for (int i = 0; i < N; i++) {
        assert_true(mpq_equal(cq->lo[i], c->lo[i]));
        assert_true(mpq_equal(cq->hi[i], c->hi[i]));
    }
    /* the output part is written exactly */
    assert_int_equal(cq->n_disj, 9);
    for (int d = 0; d < 9; d++)
        assert_int_equal(mpq_cmp(cq->disj[d].atoms[0].coef[0], c->disj[d].atoms[0].coef[0]), 0);
    prop_free(q);
    free(buf);
    prop_free(p);

    /* a ball of terminating decimals round-trips to an equal property */
    for (int i = 0; i < N; i++)
        mpq_set_ui(x0[i], (unsigned long)pix[i], 256);
    q_dec(eps, "0.0625");
    assert_int_equal(prop_eps_ball(N, x0, eps, lo, hi, 3, 0, &p, &err), CN_OK);
    buf = NULL;
    f = open_memstream(&buf, &len);
    assert_int_equal(prop_write_vnnlib(p, f, &exact, &err), CN_OK);
    fclose(f);
    assert_true(exact);
    assert_int_equal(prop_parse_vnnlib_mem(buf, len, "w", 0, &q, &err), CN_OK);
    assert_true(prop_equal(p, q));
    prop_free(q);
    free(buf);
    prop_free(p);

    /* runtime errors */
    assert_int_equal(prop_eps_ball(N, x0, eps, lo, hi, 10, 10, &p, &err), CN_EINVAL);
    assert_non_null(strstr(err.msg, "label 10"));
    assert_int_equal(prop_eps_ball(N, x0, eps, lo, hi, 1, 0, &p, &err), CN_EINVAL);
    mpq_neg(t, eps);
    assert_int_equal(prop_eps_ball(N, x0, t, lo, hi, 10, 0, &p, &err), CN_EINVAL);
    assert_int_equal(prop_eps_ball(N, x0, eps, hi, lo, 10, 0, &p, &err), CN_EINVAL);

    /* out of memory at every allocation */
    long live = cn_alloc_live();
    int fails = 0;
    for (long k = 1;; k++) {
        cn_alloc_fail_after(k);
        cn_status st = prop_eps_ball(N, x0, eps, lo, hi, 10, 3, &p, &err);
        cn_alloc_fail_after(0);
        if (st == CN_OK) {
            prop_free(p);
            break;
        }
        assert_int_equal(st, CN_ENOMEM);
        assert_int_equal(cn_alloc_live(), live);
        fails++;
    }
    assert_int_equal(cn_alloc_live(), live);
    assert_true(fails >= 10);
    for (int i = 0; i < N; i++)
        mpq_clear(x0[i]);
    mpq_clears(eps, lo, hi, t, NULL);
}

/* ---- exact point checks ------------------------------------------------ */

/* A point exactly on X_0 <= 0.1, where 0.1 is not a double, and an output
 * margin of exactly 0 on the boundary of Y_0 >= 0.1. */
static void test_check_boundary_decimal(void **state)
{
    (void)state;
    net *n = affine(1, 1, (double[]){1.0}, (double[]){0.0});      /* y = x */
    prop *p = parse_ok("(declare-const X_0 Real)(declare-const Y_0 Real)"
                       "(assert (>= X_0 0)) (assert (<= X_0 0.1)) (assert (>= Y_0 0.1))");
    mpq_t x[1];
    mpq_init(x[0]);
    q_dec(x[0], "0.1");
    /* x = 1/10: on both boundaries, violated with slack exactly 0 */
    prop_check r = check_q(p, n, x);
    assert_true(r.violated);
    assert_int_equal(r.case_idx, 0);
    assert_int_equal(r.disj_idx, 0);
    assert_int_equal(r.n_margin, 1);
    assert_int_equal(mpq_sgn(r.margin[0]), 0);
    assert_double_near(r.worst_margin_d, 0.0, 0.0);
    prop_check_clear(&r);
    /* x = the double 0.1 (0.1000000000000000055...): double arithmetic says
     * 0.1 <= 0.1, but the point is outside the region */
    r = check_d(p, n, (double[]){0.1});
    assert_false(r.violated);
    assert_int_equal(r.case_idx, -1);
    assert_int_equal(r.disj_idx, -1);
    assert_int_equal(r.n_margin, 0);
    prop_check_clear(&r);
    /* the double below 0.1 is inside, and y < 1/10 misses the unsafe set by
     * exactly 1/10 - x */
    double below = nextafter(0.1, 0.0);
    r = check_d(p, n, (double[]){below});
    assert_false(r.violated);
    assert_int_equal(r.case_idx, 0);
    assert_int_equal(r.disj_idx, 0);
    mpq_t want;
    mpq_init(want);
    mpq_set_d(want, below);
    mpq_sub(want, want, x[0]);                   /* slack = y - 1/10 < 0 */
    assert_true(mpq_equal(r.margin[0], want));
    assert_true(r.worst_margin_d < 0.0 && r.worst_margin_d > -1e-17);
    prop_check_clear(&r);
    mpq_clear(want);
    mpq_clear(x[0]);
    prop_free(p);
    net_free(n);
}

/* Output margins 0, one ulp inside and one ulp outside. */
static void test_check_ulp(void **state)
{
    (void)state;
    net *n = affine(1, 1, (double[]){1.0}, (double[]){0.0});
    prop *p = parse_ok("(declare-const X_0 Real)(declare-const Y_0 Real)"
                       "(assert (>= X_0 0)) (assert (<= X_0 1)) (assert (>= Y_0 0.5))");
    prop_check r = check_d(p, n, (double[]){0.5});
    assert_true(r.violated);
    assert_int_equal(mpq_sgn(r.margin[0]), 0);
    prop_check_clear(&r);
    r = check_d(p, n, (double[]){nextafter(0.5, 1.0)});
    assert_true(r.violated);
    assert_double_near(r.worst_margin_d, 0x1p-53, 0.0);
    prop_check_clear(&r);
    r = check_d(p, n, (double[]){nextafter(0.5, 0.0)});
    assert_false(r.violated);
    assert_double_near(r.worst_margin_d, -0x1p-54, 0.0);
    prop_check_clear(&r);
    prop_free(p);
    net_free(n);

    /* y = x_0 + x_1 at x = (1, 2^-60): double says y = 1, so "Y_0 <= 1"
     * would hold; exactly, y = 1 + 2^-60 and it does not */
    n = affine(2, 1, (double[]){1.0, 1.0}, (double[]){0.0});
    p = parse_ok("(declare-const X_0 Real)(declare-const X_1 Real)(declare-const Y_0 Real)"
                 "(assert (>= X_0 0)) (assert (<= X_0 2)) (assert (>= X_1 0)) "
                 "(assert (<= X_1 1)) (assert (<= Y_0 1))");
    double x[2] = {1.0, 0x1p-60}, y[1];
    cn_err err;
    assert_int_equal(net_forward(n, 1, x, y, &err), CN_OK);
    assert_true(y[0] <= 1.0);                    /* what double arithmetic sees */
    r = check_d(p, n, x);
    assert_false(r.violated);
    mpq_t want;
    mpq_init(want);
    mpq_set_d(want, -0x1p-60);
    assert_true(mpq_equal(r.margin[0], want));
    prop_check_clear(&r);
    prop_free(p);

    /* 0.1 + 0.2 vs 0.3: exactly on "Y_0 >= 0.3" for the decimal inputs, and
     * off it for their doubles */
    p = parse_ok("(declare-const X_0 Real)(declare-const X_1 Real)(declare-const Y_0 Real)"
                 "(assert (>= X_0 0)) (assert (<= X_0 1)) (assert (>= X_1 0)) "
                 "(assert (<= X_1 1)) (assert (>= Y_0 0.3))");
    mpq_t xq[2];
    mpq_init(xq[0]);
    mpq_init(xq[1]);
    q_dec(xq[0], "0.1");
    q_dec(xq[1], "0.2");
    r = check_q(p, n, xq);
    assert_true(r.violated);
    assert_int_equal(mpq_sgn(r.margin[0]), 0);
    prop_check_clear(&r);
    r = check_d(p, n, (double[]){0.1, 0.2});
    assert_true(r.violated);                     /* 0.1d + 0.2d > 3/10 */
    mpq_set_d(want, 0.1);
    mpq_set_d(xq[0], 0.2);
    mpq_add(want, want, xq[0]);
    q_dec(xq[1], "0.3");
    mpq_sub(want, want, xq[1]);                  /* slack = y - 3/10 */
    assert_true(mpq_equal(r.margin[0], want));
    assert_true(mpq_sgn(want) > 0);
    prop_check_clear(&r);
    mpq_clear(xq[0]);
    mpq_clear(xq[1]);
    mpq_clear(want);
    prop_free(p);
    net_free(n);
}

/* Several disjuncts and cases: the violated one is reported, otherwise the
 * closest (largest min slack) of the first case holding x. */
static void test_check_disjuncts_cases(void **state)
{
    (void)state;
    /* y = (x, 2x, 3x) */
    net *n = affine(1, 3, (double[]){1.0, 2.0, 3.0}, (double[]){0.0, 0.0, 0.0});
    prop *p = parse_ok("(declare-const X_0 Real)(declare-const Y_0 Real)(declare-const Y_1 Real)"
                       "(declare-const Y_2 Real)\n"
                       "(assert (or (and (>= X_0 0) (<= X_0 1) (>= Y_0 5))\n"
                       "            (and (>= X_0 0) (<= X_0 1) (>= Y_1 3) (>= Y_2 10))\n"
                       "            (and (>= X_0 0.5) (<= X_0 2) (>= Y_2 4.5))))");
    assert_int_equal(prop_n_cases(p), 2);
    /* x = 0.25: in case 0 only; min slacks: d0: 0.25 - 5 = -4.75;
     * d1: min(0.5 - 3, 0.75 - 10) = -9.25.  Closest: d0 */
    prop_check r = check_d(p, n, (double[]){0.25});
    assert_false(r.violated);
    assert_int_equal(r.case_idx, 0);
    assert_int_equal(r.disj_idx, 0);
    assert_int_equal(r.n_margin, 1);
    assert_double_near(mpq_get_d(r.margin[0]), -4.75, 0.0);
    assert_double_near(r.worst_margin_d, -4.75, 0.0);
    prop_check_clear(&r);
    /* the closest disjunct can have several atoms: all its slacks are given */
    prop *p2 = parse_ok("(declare-const X_0 Real)(declare-const Y_0 Real)"
                        "(declare-const Y_1 Real)(declare-const Y_2 Real)"
                        "(assert (>= X_0 0)) (assert (<= X_0 1))"
                        "(assert (or (and (>= Y_0 5)) (and (>= Y_1 1) (>= Y_2 3))))");
    r = check_d(p2, n, (double[]){0.25});       /* d0: -4.75; d1: min(-0.5, -2.25) */
    assert_false(r.violated);
    assert_int_equal(r.disj_idx, 1);
    assert_int_equal(r.n_margin, 2);
    assert_double_near(mpq_get_d(r.margin[0]), -0.5, 0.0);
    assert_double_near(mpq_get_d(r.margin[1]), -2.25, 0.0);
    assert_double_near(r.worst_margin_d, -2.25, 0.0);
    prop_check_clear(&r);
    prop_free(p2);
    /* x = 1.5: in case 1 only, y_2 = 4.5 on the boundary: violated */
    r = check_d(p, n, (double[]){1.5});
    assert_true(r.violated);
    assert_int_equal(r.case_idx, 1);
    assert_int_equal(r.disj_idx, 0);
    assert_int_equal(mpq_sgn(r.margin[0]), 0);
    prop_check_clear(&r);
    /* x = 0.75: in both regions, violated in neither (y_2 = 2.25 < 4.5);
     * reported: case 0, the first holding x */
    r = check_d(p, n, (double[]){0.75});
    assert_false(r.violated);
    assert_int_equal(r.case_idx, 0);
    prop_check_clear(&r);
    /* x = 3: outside every region */
    r = check_d(p, n, (double[]){3.0});
    assert_false(r.violated);
    assert_int_equal(r.case_idx, -1);
    prop_check_clear(&r);
    prop_free(p);
    /* overlapping regions: the later case is violated although the first is not */
    p = parse_ok("(declare-const X_0 Real)(declare-const Y_0 Real)(declare-const Y_1 Real)"
                 "(declare-const Y_2 Real)\n"
                 "(assert (or (and (>= X_0 0) (<= X_0 1) (>= Y_0 5))\n"
                 "            (and (>= X_0 0.5) (<= X_0 2) (<= Y_1 Y_2))))");
    r = check_d(p, n, (double[]){0.75});
    assert_true(r.violated);
    assert_int_equal(r.case_idx, 1);
    assert_double_near(r.worst_margin_d, 0.75, 0.0);   /* y_2 - y_1 = x */
    prop_check_clear(&r);
    /* a size mismatch is a runtime error */
    net *m = affine(2, 3, (double[]){1, 1, 1, 1, 1, 1}, (double[]){0, 0, 0});
    prop_check_init(&r);
    cn_err err;
    assert_int_equal(prop_check_point_d(p, m, (double[]){0, 0}, &r, &err), CN_EINVAL);
    assert_non_null(strstr(err.msg, "1 inputs and 3 outputs, the network 2 and 3"));
    assert_int_equal(prop_check_point_d(p, n, (double[]){NAN}, &r, &err), CN_EINVAL);
    prop_check_clear(&r);
    net_free(m);
    prop_free(p);
    net_free(n);
}

/* A network known within an enclosure (folding rounded): y = x + b with the
 * bias radii (1/4, 1/2), so at x = (1, 2) y_0 in [3/4, 5/4] and y_1 in
 * [3/2, 5/2].  An atom counts only when it holds over the whole enclosure;
 * its slack is the worst case (a mixed-sign atom takes each y at its worst
 * end). */
static void test_check_enclosure(void **state)
{
    (void)state;
    net *n = affine(2, 2, (double[]){1, 0, 0, 1}, (double[]){0, 0});
    net *exact = affine(2, 2, (double[]){1, 0, 0, 1}, (double[]){0, 0});
    net_layer *l = (net_layer *)net_layer_at(n, 0);
    l->brad = cn_calloc(2, sizeof(double));          /* owned by n */
    assert_non_null(l->brad);
    l->brad[0] = 0.25;
    l->brad[1] = 0.5;
    static const char *head = "(declare-const X_0 Real)(declare-const X_1 Real)"
                              "(declare-const Y_0 Real)(declare-const Y_1 Real)"
                              "(assert (>= X_0 1))(assert (<= X_0 1))"
                              "(assert (>= X_1 2))(assert (<= X_1 2))";
    static const struct {
        const char *unsafe;
        bool violated;                               /* over the enclosure */
        int disj;
        const char *margin;                          /* worst slack of that disjunct */
        bool exact_violated;                         /* y = (1, 2) exactly */
    } cases[] = {
        /* max (y_0 - y_1) = 5/4 - 3/2 = -1/4: holds everywhere, slack 0 */
        {"(assert (<= (- Y_0 Y_1) -0.25))", true, 0, "0", true},
        /* -0.3 - (-1/4) = -1/20: not everywhere (the exact y has -1) */
        {"(assert (<= (- Y_0 Y_1) -0.3))", false, 0, "-1/20", true},
        /* Y_1 >= 1.5 holds (slack 0); Y_0 >= 1 does not (3/4 - 1) */
        {"(assert (and (>= Y_1 1.5) (>= Y_0 1)))", false, 0, "-1/4", true},
        /* a disjunct not decided, then one decided */
        {"(assert (or (>= Y_0 1) (<= Y_1 2.5)))", true, 1, "0", true},
    };
    mpq_t x[2], want;
    mpq_inits(x[0], x[1], want, NULL);
    mpq_set_ui(x[0], 1, 1);
    mpq_set_ui(x[1], 2, 1);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "%s%s", head, cases[i].unsafe);
        prop *p = parse_ok(text);
        prop_check r = check_q(p, n, x);
        if (r.violated != cases[i].violated || r.disj_idx != cases[i].disj)
            fail_msg("%s: violated %d, disjunct %d", cases[i].unsafe, r.violated, r.disj_idx);
        assert_int_equal(mpq_set_str(want, cases[i].margin, 10), 0);
        mpq_t *m = &r.margin[0];
        for (int k = 1; k < r.n_margin; k++)
            if (mpq_cmp(r.margin[k], *m) < 0)
                m = &r.margin[k];
        if (!mpq_equal(*m, want))
            fail_msg("%s: worst slack %g, expected %s", cases[i].unsafe, mpq_get_d(*m),
                     cases[i].margin);
        prop_check_clear(&r);
        r = check_q(p, exact, x);
        assert_int_equal(r.violated, cases[i].exact_violated);
        prop_check_clear(&r);
        prop_free(p);
    }
    mpq_clears(x[0], x[1], want, NULL);
    net_free(exact);
    net_free(n);
}

/* The check on an ACAS Xu network and property 1 (through a ReLU net):
 * the box centre is checked exactly, and the result agrees with double
 * evaluation far from the threshold. */
static void test_check_acas(void **state)
{
    (void)state;
    net *n = NULL;
    cn_err err;
    if (net_load(tu_shared("benchmarks/acasxu/onnx/ACASXU_run2a_1_1_batch_2000.onnx"), &n, &err) !=
        CN_OK)
        fail_msg("%s", err.msg);
    prop *p = NULL;
    assert_int_equal(prop_parse_vnnlib(tu_shared("benchmarks/acasxu/vnnlib/prop_1.vnnlib"), &p,
                                       &err),
                     CN_OK);
    const prop_case *c = prop_case_at(p, 0);
    mpq_t x[5];
    for (int i = 0; i < 5; i++) {
        mpq_init(x[i]);
        mpq_add(x[i], c->lo[i], c->hi[i]);
        mpq_div_2exp(x[i], x[i], 1);
    }
    prop_check r = check_q(p, n, x);
    assert_false(r.violated);                   /* prop 1 holds on net 1_1 */
    assert_int_equal(r.case_idx, 0);
    assert_int_equal(r.n_margin, 1);
    double xd[5], y[5];
    for (int i = 0; i < 5; i++)
        xd[i] = mpq_get_d(x[i]);
    assert_int_equal(net_forward(n, 1, xd, y, &err), CN_OK);
    /* slack = Y_0 - 3.991125645861615 */
    assert_double_near(r.worst_margin_d, y[0] - 3.991125645861615, 1e-6);
    prop_check_clear(&r);
    for (int i = 0; i < 5; i++)
        mpq_clear(x[i]);
    prop_free(p);
    net_free(n);
}

static void test_check_oom(void **state)
{
    (void)state;
    net *n = affine(1, 2, (double[]){1.0, -1.0}, (double[]){0.0, 0.0});
    prop *p = parse_ok("(declare-const X_0 Real)(declare-const Y_0 Real)(declare-const Y_1 Real)"
                       "(assert (>= X_0 0)) (assert (<= X_0 1)) (assert (>= Y_0 Y_1))");
    long live = cn_alloc_live();
    int fails = 0;
    for (long k = 1;; k++) {
        prop_check r;
        prop_check_init(&r);
        cn_err err;
        cn_alloc_fail_after(k);
        cn_status st = prop_check_point_d(p, n, (double[]){0.5}, &r, &err);
        cn_alloc_fail_after(0);
        if (st == CN_OK) {
            assert_true(r.violated);
            assert_double_near(r.worst_margin_d, 1.0, 0.0);
            prop_check_clear(&r);
            break;
        }
        assert_int_equal(st, CN_ENOMEM);
        assert_int_equal(r.n_margin, 0);        /* not written on failure */
        assert_int_equal(cn_alloc_live(), live);
        fails++;
    }
    assert_int_equal(cn_alloc_live(), live);
    assert_true(fails >= 3);
    prop_free(p);
    net_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eps_ball),
        cmocka_unit_test(test_check_boundary_decimal),
        cmocka_unit_test(test_check_ulp),
        cmocka_unit_test(test_check_disjuncts_cases),
        cmocka_unit_test(test_check_enclosure),
        cmocka_unit_test(test_check_acas),
        cmocka_unit_test(test_check_oom),
    };
    return cmocka_run_group_tests_name("prop", tests, NULL, NULL);
}

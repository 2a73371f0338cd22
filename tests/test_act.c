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
            bnd_region rg = {lo, hi, NULL, NULL, NULL};
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
        bnd_region rg = {lo, hi, NULL, NULL, NULL};
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
        cmocka_unit_test(test_exact_decides),
        cmocka_unit_test(test_enclosure_narrows),
    };
    return cmocka_run_group_tests_name("act", tests, NULL, NULL);
}

/* test_pool.c — pooling: the ONNX readers of Pad, AveragePool,
 * GlobalAveragePool and MaxPool (lowering, exactness, attribute errors);
 * NET_MAXPOOL's evaluation (double vs exact), its bounds in every method and
 * the checker's (certs/) against exact values at sampled points, and the
 * attacks' gradient through it against finite differences.
 * CN_SEED_TEST_POOL=S replays a seed. */
#include "config.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "attacks/attacks.h"
#include "bounds/bounds.h"
#include "certs/certs.h"
#include "tests/onnx_mb.h"
#include "tests/bnd_check.h"
#include "tests/testutil.h"

/* ---- ONNX readers ------------------------------------------------------ */

/* x [1,2,5,5] -> Conv 2->2 k2 (4x4) -> Relu -> Pad(0) -> pool -> Flatten ->
 * Gemm 3; pool: "avg2" AveragePool k2 s2 (2x2 out), "avg3" AveragePool k3
 * s1 (2x2 out, weight 1/9), "max" MaxPool k2 s1 (3x3 out), "gap"
 * GlobalAveragePool (1x1 out). */
typedef struct {
    float cw[16], cb[2], gw[3 * 18], gb[3];
} pool_w;

static mb *pool_model(pool_w *w, const char *kind, int pooled)
{
    static const int64_t din[4] = {1, 2, 5, 5}, dout[2] = {1, 3}, dcw[4] = {2, 2, 2, 2},
                         dcb[1] = {2}, dgb[1] = {3}, pads[8] = {0};
    static int64_t dgw[2];
    dgw[0] = 3;
    dgw[1] = pooled;
    mb *b = mb_new(din, 4, dout, 2);
    mb_tensor t[] = {{"cw", dcw, 4, w->cw}, {"cb", dcb, 1, w->cb}, {"gw", dgw, 2, w->gw},
                     {"gb", dgb, 1, w->gb}};
    mb_inits(b, 4, t);
    mb_node(b, "Conv", "conv", "c", "x", "cw", "cb", NULL);
    mb_node(b, "Relu", "relu", "r", "c", NULL);
    int p = mb_node(b, "Pad", "pad", "p", "r", NULL);
    mb_attr_ints(b, p, "pads", 4, pads);   /* the builder holds 4 ints: point at 8 */
    b->attr[p][0].ints = (int64_t *)pads;
    b->attr[p][0].n_ints = 8;
    mb_attr_s(b, p, "mode", "constant");
    int q;
    if (strcmp(kind, "gap") == 0) {
        q = mb_node(b, "GlobalAveragePool", "pool", "q", "p", NULL);
    } else {
        int k = strcmp(kind, "avg3") == 0 ? 3 : 2;
        int s = strcmp(kind, "avg2") == 0 ? 2 : 1;
        int64_t ks[2] = {k, k}, st[2] = {s, s};
        q = mb_node(b, kind[0] == 'm' ? "MaxPool" : "AveragePool", "pool", "q", "p", NULL);
        mb_attr_ints(b, q, "kernel_shape", 2, ks);
        mb_attr_ints(b, q, "strides", 2, st);
    }
    (void)q;
    int f = mb_node(b, "Flatten", "flat", "f", "q", NULL);
    mb_attr_i(b, f, "axis", 1);
    int g = mb_node(b, "Gemm", "fc", "y", "f", "gw", "gb", NULL);
    mb_attr_i(b, g, "transB", 1);
    return b;
}

/* The model's value at x [50] in double (reference for small weights). */
static void pool_ref(const pool_w *w, const char *kind, const double *x, double *y)
{
    double r[2][4][4];
    for (int co = 0; co < 2; co++)
        for (int oy = 0; oy < 4; oy++)
            for (int ox = 0; ox < 4; ox++) {
                double s = w->cb[co];
                for (int ci = 0; ci < 2; ci++)
                    for (int ky = 0; ky < 2; ky++)
                        for (int kx = 0; kx < 2; kx++)
                            s += (double)w->cw[((co * 2 + ci) * 2 + ky) * 2 + kx] *
                                 x[(ci * 5 + oy + ky) * 5 + ox + kx];
                r[co][oy][ox] = s > 0 ? s : 0;
            }
    int k = kind[0] == 'g' ? 4 : strcmp(kind, "avg3") == 0 ? 3 : 2;
    int s = strcmp(kind, "avg2") == 0 ? 2 : 1;
    int o = (4 - k) / s + 1;
    double q[18];
    for (int c = 0; c < 2; c++)
        for (int py = 0; py < o; py++)
            for (int px = 0; px < o; px++) {
                double acc = 0, mx = -INFINITY;
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) {
                        double v = r[c][py * s + ky][px * s + kx];
                        acc += v;
                        mx = v > mx ? v : mx;
                    }
                q[(c * o + py) * o + px] = kind[0] == 'm' ? mx : acc / (k * k);
            }
    for (int j = 0; j < 3; j++) {
        double t = w->gb[j];
        for (int i = 0; i < 2 * o * o; i++)
            t += (double)w->gw[j * 2 * o * o + i] * q[i];
        y[j] = t;
    }
}

static void check_pool_model(const char *kind, int pooled, int n_layers, bool exact)
{
    tu_rng r = {tu_seed("test_pool", 11)};
    (void)pooled;
    pool_w w;
    rndf_fill(&r, w.cw, 16);
    rndf_fill(&r, w.cb, 2);
    rndf_fill(&r, w.gw, 3 * pooled);
    rndf_fill(&r, w.gb, 3);
    mb *b = pool_model(&w, kind, pooled);
    net *n = mb_load_ok(b);
    assert_int_equal(net_n_layers(n), n_layers);
    net_info in;
    net_get_info(n, &in);
    assert_true(in.fold_exact == exact);
    assert_true(net_has_enclosure(n) == !exact);
    for (int t = 0; t < 20; t++) {
        double x[50], y[3], ref[3];
        for (int i = 0; i < 50; i++)
            x[i] = 2 * tu_unif(&r) - 1;
        assert_int_equal(net_forward(n, 1, x, y, NULL), CN_OK);
        pool_ref(&w, kind, x, ref);
        for (int j = 0; j < 3; j++)
            if (fabs(y[j] - ref[j]) > 1e-12)
                fail_msg("%s: output %d: %a, reference %a", kind, j, y[j], ref[j]);
    }
    net_free(n);
    free(b);
}

static void test_avgpool_composed(void **state)
{
    (void)state;
    /* k2 s2 on a 4x4 map: exact 1/4, folded into the Gemm (conv, relu, dense) */
    check_pool_model("avg2", 8, 3, true);
}

static void test_avgpool_inexact(void **state)
{
    (void)state;
    /* 1/9 is not a double: a convolution with an enclosure */
    check_pool_model("avg3", 8, 4, false);
}

static void test_global_avgpool(void **state)
{
    (void)state;
    check_pool_model("gap", 2, 3, true);
}

static void test_maxpool_loads(void **state)
{
    (void)state;
    check_pool_model("max", 18, 4, true);
}

/* Loading fails with st and a message naming the node and containing what. */
static void expect_fail(mb *b, cn_status st, const char *what)
{
    net *n = NULL;
    cn_err e;
    assert_int_equal(mb_load(b, &n, &e), st);
    assert_null(n);
    assert_contains(e.msg, "'pool'");
    assert_contains(e.msg, what);
    free(b);
}

static void test_pool_attr_errors(void **state)
{
    (void)state;
    pool_w w;
    memset(&w, 0, sizeof w);
    static const int64_t one[4] = {1, 1, 1, 1}, two[2] = {2, 2};
    mb *b = pool_model(&w, "avg2", 8);
    mb_attr_i(b, 3, "ceil_mode", 1);
    expect_fail(b, CN_EUNSUPPORTED, "ceil_mode");
    b = pool_model(&w, "max", 18);
    mb_attr_ints(b, 3, "pads", 4, one);
    expect_fail(b, CN_EUNSUPPORTED, "pads");
    b = pool_model(&w, "max", 18);
    mb_attr_ints(b, 3, "dilations", 2, two);
    expect_fail(b, CN_EUNSUPPORTED, "dilations");
    b = pool_model(&w, "avg2", 8);
    mb_attr_i(b, 3, "frobnicate", 1);
    expect_fail(b, CN_EUNSUPPORTED, "frobnicate");
    /* a non-zero Pad names its node */
    b = pool_model(&w, "avg2", 8);
    static const int64_t pads[8] = {0, 0, 1, 0, 0, 0, 0, 0};
    b->attr[2][0].ints = (int64_t *)pads;
    net *n = NULL;
    cn_err e;
    assert_int_equal(mb_load(b, &n, &e), CN_EUNSUPPORTED);
    assert_contains(e.msg, "'pad'");
    assert_contains(e.msg, "pads");
    free(b);
}

/* Pad in the input form (opset 11+): pads as an int64 initializer. */
static void test_pad_input_form(void **state)
{
    (void)state;
    static const int64_t din[4] = {1, 1, 4, 4}, dout[2] = {1, 2}, dp[1] = {8}, dgw[2] = {2, 4},
                         dgb[1] = {2}, ks[2] = {2, 2};
    static int64_t zeros[8] = {0}, one[8] = {0, 0, 0, 1, 0, 0, 0, 0};
    static float gw[8] = {1, 2, 3, 4, -1, -2, -3, -4}, gb[2] = {0.5f, -0.5f}, fake[8];
    for (int bad = 0; bad < 2; bad++) {
        mb *b = mb_new(din, 4, dout, 2);
        Onnx__TensorProto *t = mb_init_f(b, "pads", dp, 1, fake);
        t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
        t->n_float_data = 0;
        t->float_data = NULL;
        t->n_int64_data = 8;
        t->int64_data = bad ? one : zeros;
        mb_init_f(b, "gw", dgw, 2, gw);
        mb_init_f(b, "gb", dgb, 1, gb);
        mb_node(b, "Pad", "pad", "p", "x", "pads", NULL);
        int q = mb_node(b, "AveragePool", "pool", "q", "p", NULL);
        mb_attr_ints(b, q, "kernel_shape", 2, ks);
        mb_attr_ints(b, q, "strides", 2, ks);
        mb_node(b, "Flatten", "flat", "f", "q", NULL);
        int g = mb_node(b, "Gemm", "fc", "y", "f", "gw", "gb", NULL);
        mb_attr_i(b, g, "transB", 1);
        if (bad) {
            net *n = NULL;
            cn_err e;
            assert_int_equal(mb_load(b, &n, &e), CN_EUNSUPPORTED);
            assert_contains(e.msg, "'pad'");
            assert_contains(e.msg, "pads");
            free(b);
            continue;
        }
        net *n = mb_load_ok(b);
        assert_int_equal(net_n_layers(n), 1); /* the pool folded into the Gemm */
        double x[16], y[2];
        for (int i = 0; i < 16; i++)
            x[i] = i;
        assert_int_equal(net_forward(n, 1, x, y, NULL), CN_OK);
        /* window means 2.5, 4.5, 10.5, 12.5 */
        assert_true(y[0] == 0.5 + 2.5 + 9 + 31.5 + 50);
        assert_true(y[1] == -0.5 - 2.5 - 9 - 31.5 - 50);
        net_free(n);
        free(b);
    }
}

/* ---- NET_MAXPOOL: evaluation, bounds, checker, gradient ---------------- */

/* (c,h,w) input -> conv 3x3 p1 (cout) -> relu -> maxpool (k, s) -> [relu ->]
 * dense 4, weights small binary fractions. */
static net *random_pool_net(tu_rng *r, bool overlap, bool relu2)
{
    net *n = net_new((net_shape){2, 6, 6});
    net_layer *l = net_add_conv(n, 3, 3, 3, 1, 1, 1, 1, 1, 1, NULL);
    for (int i = 0; i < 3 * 2 * 9; i++)
        l->W[i] = ldexp(floor(tu_unif(r) * 64) - 32, -5);
    for (int i = 0; i < 3; i++)
        l->b[i] = ldexp(floor(tu_unif(r) * 64) - 32, -6);
    assert_non_null(net_add_relu(n, NULL));
    assert_non_null(net_add_maxpool(n, overlap ? 3 : 2, overlap ? 3 : 2, overlap ? 1 : 2,
                                    overlap ? 1 : 2, NULL));
    if (relu2) {
        l = net_add_dense(n, 6, NULL);
        for (int i = 0; i < l->in * l->out; i++)
            l->W[i] = ldexp(floor(tu_unif(r) * 64) - 32, -5);
        for (int i = 0; i < l->out; i++)
            l->b[i] = ldexp(floor(tu_unif(r) * 64) - 32, -6);
        assert_non_null(net_add_relu(n, NULL));
    }
    l = net_add_dense(n, 4, NULL);
    for (int i = 0; i < l->in * l->out; i++)
        l->W[i] = ldexp(floor(tu_unif(r) * 64) - 32, -5);
    for (int i = 0; i < l->out; i++)
        l->b[i] = tu_unif(r) - 0.5;
    return n;
}

/* (1,10,10) -> conv 2x2 (3) -> relu -> conv 2x2 (2) -> relu -> maxpool 2x2
 * s2 -> dense 4: both convolutions have few taps per row (4 and 12 of 100
 * and 243 inputs), so bounds/ takes their products over the taps
 * (bounds/conv.c). */
static net *random_tap_net(tu_rng *r)
{
    net *n = net_new((net_shape){1, 10, 10});
    for (int k = 0; k < 2; k++) {
        net_layer *l = net_add_conv(n, 3 - k, 2, 2, 1, 1, 0, 0, 0, 0, NULL);
        int nw = l->out_shape.c * l->in_shape.c * 4;
        for (int i = 0; i < nw; i++)
            l->W[i] = ldexp(floor(tu_unif(r) * 64) - 32, -5);
        for (int i = 0; i < l->out_shape.c; i++)
            l->b[i] = ldexp(floor(tu_unif(r) * 64) - 32, -6);
        assert_non_null(net_add_relu(n, NULL));
    }
    assert_non_null(net_add_maxpool(n, 2, 2, 2, 2, NULL));
    net_layer *l = net_add_dense(n, 4, NULL);
    for (int i = 0; i < l->in * l->out; i++)
        l->W[i] = ldexp(floor(tu_unif(r) * 64) - 32, -5);
    for (int i = 0; i < l->out; i++)
        l->b[i] = tu_unif(r) - 0.5;
    return n;
}

static void test_maxpool_eval(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("test_pool", 12)};
    for (int t = 0; t < 20; t++) {
        net *n = random_pool_net(&r, t % 2, t % 3 == 0);
        int in = net_in_size(n);
        double x[72], y[4];
        mpq_t q[4];
        for (int j = 0; j < 4; j++)
            mpq_init(q[j]);
        for (int i = 0; i < in; i++)
            x[i] = 2 * tu_unif(&r) - 1;
        assert_int_equal(net_forward(n, 1, x, y, NULL), CN_OK);
        assert_int_equal(net_eval_exact_d(n, x, q, NULL), CN_OK);
        for (int j = 0; j < 4; j++) {
            double e = mpq_get_d(q[j]);
            if (fabs(e - y[j]) > 1e-12 * (1 + fabs(e)))
                fail_msg("output %d: double %a, exact %a", j, y[j], e);
            mpq_clear(q[j]);
        }
        net_free(n);
    }
}

static void test_maxpool_bounds(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("test_pool", 13)};
    const bnd_method ms[4] = {BND_INTERVAL, BND_DEEPPOLY, BND_CROWN, BND_ALPHA};
    for (int t = 0; t < 36; t++) {
        net *n = t % 3 == 2 ? random_tap_net(&r) : random_pool_net(&r, t % 2, t % 3 == 0);
        int in = net_in_size(n), m = 4;
        double lo[100], hi[100], C[16];
        double eps = t % 4 == 0 ? 1e-3 : 0.1;
        for (int i = 0; i < in; i++) {
            double c = 2 * tu_unif(&r) - 1;
            lo[i] = c - eps;
            hi[i] = c + eps;
        }
        for (int i = 0; i < m * 4; i++)
            C[i] = floor(tu_unif(&r) * 5) - 2;
        bnd_ctx *bc = bnd_ctx_new(n, NULL);
        cert_bounds *cb = cert_bounds_new(n, NULL);
        assert_non_null(bc);
        assert_non_null(cb);
        double lb[4][4], clb[4];
        for (int k = 0; k < 4; k++) {
            bnd_opts o;
            bnd_opts_init(&o, ms[k]);
            o.alpha_iters = 5;
            bnd_region rg = {.lo = lo, .hi = hi};
            assert_int_equal(bnd_run(bc, &o, &rg, m, C, NULL, lb[k], NULL, NULL), CN_OK);
        }
        /* the linear methods are no worse than intervals (they intersect) */
        for (int k = 1; k < 4; k++)
            for (int j = 0; j < m; j++) {
                assert_true(lb[k][j] >= lb[0][j]);
                if (eps < 0.01)                  /* a small box: finite bounds */
                    assert_true(isfinite(lb[k][j]));
            }
        assert_int_equal(cert_bounds_region(cb, lo, hi, NULL), CERT_REGION_OK);
        for (int j = 0; j < m; j++)
            clb[j] = cert_bounds_row(cb, C + 4 * j);
        for (int p = 0; p < 40; p++) {
            double x[100];
            for (int i = 0; i < in; i++)
                x[i] = p < 2 ? (p ? hi[i] : lo[i]) : lo[i] + (hi[i] - lo[i]) * tu_unif(&r);
            mpq_t y[4], q, s;
            mpq_inits(q, s, NULL);
            for (int j = 0; j < 4; j++)
                mpq_init(y[j]);
            assert_int_equal(net_eval_exact_d(n, x, y, NULL), CN_OK);
            for (int j = 0; j < m; j++) {
                mpq_set_ui(q, 0, 1);
                for (int o = 0; o < 4; o++) {
                    mpq_set_d(s, C[4 * j + o]);
                    mpq_mul(s, s, y[o]);
                    mpq_add(q, q, s);
                }
                for (int k = 0; k < 4; k++)
                    assert_lb_le(lb[k][j], q, bnd_method_name(ms[k]), t, j);
                assert_lb_le(clb[j], q, "checker", t, j);
            }
            for (int j = 0; j < 4; j++)
                mpq_clear(y[j]);
            mpq_clears(q, s, NULL);
        }
        bnd_ctx_free(bc);
        cert_bounds_free(cb);
        net_free(n);
    }
}

/* (1,4,4) -> maxpool 2x2 s2 -> y = -(sum of the 4 maxima).  Each window's
 * first input is in [0.5, 0.6]; the others in [0, top].  top = 1: the
 * window is undecided, min y = -4 (the others reach 1; a relaxation that
 * took y >= -z_a would claim -2.4); top = 0.4: the first input is the max,
 * min y = -2.4 exactly, and every linear method finds it. */
static void test_maxpool_relaxation(void **state)
{
    (void)state;
    const bnd_method ms[4] = {BND_INTERVAL, BND_DEEPPOLY, BND_CROWN, BND_ALPHA};
    for (int dec = 0; dec < 2; dec++) {
        net *n = net_new((net_shape){1, 4, 4});
        assert_non_null(net_add_maxpool(n, 2, 2, 2, 2, NULL));
        net_layer *l = net_add_dense(n, 1, NULL);
        for (int i = 0; i < 4; i++)
            l->W[i] = -1.0;
        double lo[16], hi[16], C[1] = {1.0}, lb;
        double top = dec ? 0.4 : 1.0, want = dec ? -4 * 0.6 : -4.0;
        for (int i = 0; i < 16; i++) {
            bool first = (i / 4) % 2 == 0 && i % 2 == 0;
            lo[i] = first ? 0.5 : 0.0;
            hi[i] = first ? 0.6 : top;
        }
        bnd_ctx *bc = bnd_ctx_new(n, NULL);
        for (int k = 0; k < 4; k++) {
            bnd_opts o;
            bnd_opts_init(&o, ms[k]);
            bnd_region rg = {.lo = lo, .hi = hi};
            assert_int_equal(bnd_run(bc, &o, &rg, 1, C, NULL, &lb, NULL, NULL), CN_OK);
            if (lb > want || lb < want - 1e-12)
                fail_msg("%s, %s: bound %a, expected %a", dec ? "decided" : "undecided",
                         bnd_method_name(ms[k]), lb, want);
        }
        cert_bounds *cb = cert_bounds_new(n, NULL);
        assert_int_equal(cert_bounds_region(cb, lo, hi, NULL), CERT_REGION_OK);
        lb = cert_bounds_row(cb, C);
        if (lb > want || lb < want - 1e-12)
            fail_msg("checker, %s: bound %a, expected %a", dec ? "decided" : "undecided", lb,
                     want);
        cert_bounds_free(cb);
        bnd_ctx_free(bc);
        net_free(n);
    }
}

static void test_maxpool_gradient(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("test_pool", 14)};
    for (int t = 0; t < 10; t++) {
        net *n = random_pool_net(&r, t % 2, false);
        int in = net_in_size(n);
        double x[72], g[72], c[4] = {1, -1, 0.5, 0}, y[4], y2[4];
        for (int i = 0; i < in; i++)
            x[i] = 2 * tu_unif(&r) - 1;
        assert_int_equal(atk_gradient(n, 1, x, c, y, g, NULL), CN_OK);
        /* piecewise linear: a tiny step stays on the same piece (generic x) */
        for (int i = 0; i < in; i++) {
            double h = 1e-7, xs = x[i];
            x[i] = xs + h;
            assert_int_equal(net_forward(n, 1, x, y2, NULL), CN_OK);
            x[i] = xs;
            double fd = 0;
            for (int o = 0; o < 4; o++)
                fd += c[o] * (y2[o] - y[o]) / h;
            if (fabs(fd - g[i]) > 1e-5 * (1 + fabs(g[i])))
                fail_msg("net %d input %d: gradient %g, difference quotient %g", t, i, g[i], fd);
        }
        net_free(n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_avgpool_composed), cmocka_unit_test(test_avgpool_inexact),
        cmocka_unit_test(test_global_avgpool),   cmocka_unit_test(test_maxpool_loads),
        cmocka_unit_test(test_pool_attr_errors), cmocka_unit_test(test_pad_input_form),
        cmocka_unit_test(test_maxpool_eval),
        cmocka_unit_test(test_maxpool_bounds),   cmocka_unit_test(test_maxpool_relaxation),
        cmocka_unit_test(test_maxpool_gradient),
    };
    return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}

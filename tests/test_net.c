/* test_net.c — the network IR: building, double vs exact evaluation, and the
 * convolution layer against the same map unrolled into a dense matrix. */
#include "config.h"

#include <math.h>

#include "models/models.h"
#include "tests/netgen.h"
#include "tests/testutil.h"

/* float32 weights and biases uniform in [-1, 1) */
static double f32(tu_rng *r, bool bias, double arg)
{
    (void)bias;
    (void)arg;
    return (double)(float)(2.0 * tu_unif(r) - 1.0);
}

/* The same network with every conv replaced by its dense unrolling, built by
 * evaluating the conv on unit vectors in exact arithmetic. */
static net *unrolled(const net *c)
{
    cn_err err;
    net *d = net_new((net_shape){net_in_size(c), 1, 1});
    for (int i = 0; i < net_n_layers(c); i++) {
        const net_layer *l = net_layer_at(c, i);
        if (l->op == NET_RELU) {
            assert_non_null(net_add_relu(d, &err));
            continue;
        }
        net_layer *m = net_add_dense(d, l->out, &err);
        assert_non_null(m);
        if (l->op == NET_DENSE) {
            memcpy(m->W, l->W, sizeof(double) * (size_t)l->in * (size_t)l->out);
            memcpy(m->b, l->b, sizeof(double) * (size_t)l->out);
            continue;
        }
        /* one-layer copy of the conv, evaluated on e_k and on 0 */
        net *one = net_new(l->in_shape);
        net_layer *cl = net_add_conv(one, l->out_shape.c, l->kh, l->kw, l->stride_h, l->stride_w,
                                     l->pad_t, l->pad_l, l->pad_b, l->pad_r, &err);
        memcpy(cl->W, l->W,
               sizeof(double) * (size_t)(l->out_shape.c * l->in_shape.c * l->kh * l->kw));
        memcpy(cl->b, l->b, sizeof(double) * (size_t)l->out_shape.c);
        double *x = calloc((size_t)l->in, sizeof(double)), *y0 = calloc((size_t)l->out, sizeof(double)),
               *y = calloc((size_t)l->out, sizeof(double));
        assert_int_equal(net_forward(one, 1, x, y0, &err), CN_OK);
        for (int o = 0; o < l->out; o++)
            m->b[o] = y0[o];
        for (int k = 0; k < l->in; k++) {
            x[k] = 1.0;
            assert_int_equal(net_forward(one, 1, x, y, &err), CN_OK);
            for (int o = 0; o < l->out; o++)
                m->W[(size_t)o * l->in + k] = y[o] - y0[o]; /* one product + bias: exact here */
            x[k] = 0.0;
        }
        free(x);
        free(y0);
        free(y);
        net_free(one);
    }
    return d;
}

static void test_build_and_shapes(void **state)
{
    tu_rng r = {1};
    net *n = conv_net(&r, f32, 0);
    assert_int_equal(net_in_size(n), 50);
    assert_int_equal(net_out_size(n), 4);
    assert_int_equal(net_n_relus(n), 75 + 18);
    assert_int_equal(net_n_layers(n), 5);
    const net_layer *l = net_layer_at(n, 2);
    assert_int_equal(net_layer_at(n, 0)->out_shape.h, 5);
    assert_int_equal(l->out_shape.c, 2);
    assert_int_equal(l->out_shape.h, 3);
    assert_int_equal(l->out_shape.w, 3);
    assert_int_equal(net_layer_at(n, 4)->in, 18);
    net_info in;
    net_get_info(n, &in);
    assert_int_equal(in.params, 3 * 2 * 9 + 3 + 2 * 3 * 4 + 2 + 4 * 18 + 4);
    assert_true(in.fold_exact);
    net_free(n);
    net_free(NULL);
}

static void test_conv_matches_unrolled(void **state)
{
    tu_rng r = {tu_seed("conv_matches_unrolled", 7)};
    net *c = conv_net(&r, f32, 0);
    net *d = unrolled(c);
    mpq_t x[50], yc[4], yd[4];
    for (int k = 0; k < 50; k++)
        mpq_init(x[k]);
    for (int k = 0; k < 4; k++) {
        mpq_init(yc[k]);
        mpq_init(yd[k]);
    }
    cn_err err;
    for (int t = 0; t < 20; t++) {
        for (int k = 0; k < 50; k++)
            mpq_set_d(x[k], (double)(float)(2 * tu_unif(&r) - 1));
        assert_int_equal(net_eval_exact(c, x, yc, &err), CN_OK);
        assert_int_equal(net_eval_exact(d, x, yd, &err), CN_OK);
        for (int k = 0; k < 4; k++)
            assert_true(mpq_equal(yc[k], yd[k]));
    }
    for (int k = 0; k < 50; k++)
        mpq_clear(x[k]);
    for (int k = 0; k < 4; k++) {
        mpq_clear(yc[k]);
        mpq_clear(yd[k]);
    }
    net_free(c);
    net_free(d);
}

/* The taps of a (2,3,3) -conv 2x2 s1 pads (1,1,0,0)-> (2,3,3) layer by hand
 * (models.h, "Convolution taps"): output (oy,ox) = (0,0) reads only input
 * pixel (0,0) through kernel entry (1,1); (1,2) reads its whole 2x2 field,
 * channel 0 before channel 1.  The dense unrolling and the per-output bias
 * radius follow them. */
static void test_conv_taps(void **state)
{
    (void)state;
    cn_err err;
    net *n = net_new((net_shape){2, 3, 3});
    net_layer *l = net_add_conv(n, 2, 2, 2, 1, 1, 1, 1, 0, 0, &err);
    assert_non_null(l);
    for (int k = 0; k < 16; k++)
        l->W[k] = k + 1;
    l->b[0] = 0.5;
    l->b[1] = -0.5;
    assert_int_equal(net_conv_fan(l), 8);
    net_tap t[8];
    assert_int_equal(net_conv_taps(l, 0, 0, t), 2);
    assert_true(t[0].in == 0 && t[0].w == 3 && t[1].in == 9 && t[1].w == 7);
    static const int in12[8] = {1, 2, 4, 5, 10, 11, 13, 14};
    assert_int_equal(net_conv_taps(l, 1, 2, t), 8);
    for (int k = 0; k < 8; k++) {
        assert_int_equal(t[k].in, in12[k]);
        assert_int_equal(t[k].w, k);
    }
    net_conv_map m;
    assert_int_equal(net_conv_map_init(&m, l, &err), CN_OK);
    assert_int_equal(m.fan, 8);
    assert_int_equal(m.n[0], 2);
    assert_int_equal(m.n[5], 8);
    assert_int_equal(m.tap[5 * 8 + 4].in, 10);
    net_conv_map_clear(&m);
    double *W, *b;
    assert_int_equal(net_conv_dense(l, &W, &b, &err), CN_OK);
    /* output (1,1,2) = 14: channel 1's weights 9..16 on its field */
    for (int k = 0; k < 18; k++) {
        double want = 0.0;
        for (int q = 0; q < 8; q++)
            if (in12[q] == k)
                want = 9 + q;
        assert_true(W[14 * 18 + k] == want);
    }
    assert_true(b[14] == -0.5 && b[0] == 0.5);
    cn_free(W);
    cn_free(b);
    assert_false(net_layer_has_radius(l));
    assert_non_null(l->brad = cn_calloc(2, sizeof(double)));   /* owned by the net */
    assert_false(net_layer_has_radius(l));
    l->brad[1] = 0x1p-10;
    assert_true(net_layer_has_radius(l));
    assert_true(net_layer_brad(l, 14) == 0x1p-10 && net_layer_brad(l, 8) == 0.0);
    net_free(n);
}

/* Batched double evaluation agrees with exact evaluation. */
static void test_forward_vs_exact(void **state)
{
    tu_rng r = {tu_seed("forward_vs_exact", 11)};
    cn_err err;
    const int sizes[] = {6, 20, 20, 20, 3};
    net *n = dense_net(&r, sizes, 5, f32, 0);
    enum { B = 17 };
    double x[B * 6], y[B * 3];
    for (int k = 0; k < B * 6; k++)
        x[k] = 2 * tu_unif(&r) - 1;
    assert_int_equal(net_forward(n, B, x, y, &err), CN_OK);
    mpq_t yq[3];
    for (int k = 0; k < 3; k++)
        mpq_init(yq[k]);
    for (int s = 0; s < B; s++) {
        assert_int_equal(net_eval_exact_d(n, x + 6 * s, yq, &err), CN_OK);
        for (int k = 0; k < 3; k++)
            assert_double_near(y[3 * s + k], mpq_get_d(yq[k]), 1e-9);
    }
    for (int k = 0; k < 3; k++)
        mpq_clear(yq[k]);
    net_free(n);
}

/* Every allocation failure inside evaluation reports CN_ENOMEM and leaks nothing. */
static void test_forward_oom(void **state)
{
    cn_err err;
    net *n = net_new((net_shape){3, 1, 1});
    net_add_dense(n, 2, &err);
    double x[3] = {1, 2, 3}, y[2];
    long live = cn_alloc_live();
    for (long k = 1;; k++) {
        cn_alloc_fail_after(k);
        cn_status s = net_forward(n, 1, x, y, &err);
        cn_alloc_fail_after(0);
        assert_int_equal(cn_alloc_live(), live);
        if (s == CN_OK)
            break;
        assert_int_equal(s, CN_ENOMEM);
        assert_true(k < 10);
    }
    net_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_and_shapes),
        cmocka_unit_test(test_conv_matches_unrolled),
        cmocka_unit_test(test_conv_taps),
        cmocka_unit_test(test_forward_vs_exact),
        cmocka_unit_test(test_forward_oom),
    };
    return cmocka_run_group_tests_name("net", tests, NULL, NULL);
}

/* test_onnx_ops.c — the ONNX loader's operators on hand-built models
 * (Conv + BatchNormalization, Sub/Div normalisation, MatMul orientation,
 * Reshape/Identity/Dropout/Constant) checked against a direct evaluation,
 * and the attributes and graph shapes it refuses.  Part of test_onnx. */
#include "config.h"

#include <math.h>

#include "models/models.h"
#include "models/onnx.pb-c.h"
#include "tests/exact.h"
#include "tests/onnx_mb.h"
#include "tests/groups.h"
#include "tests/testutil.h"

/* ------------------------------------------------------------------------ */
/* Hand-built models                                                         */
/* ------------------------------------------------------------------------ */

/* Conv(pads, strides) -> BatchNormalization -> Relu -> Flatten -> Gemm, against a
 * direct evaluation of the same operators. */
static void conv_bn_case(tu_rng *r, int64_t stride, const int64_t pads[4])
{
    enum { CI = 2, H = 5, W = 5, CO = 3, K = 3, OUT = 4 };
    int oh = (int)((H + pads[0] + pads[2] - K) / stride + 1);
    int ow = (int)((W + pads[1] + pads[3] - K) / stride + 1);
    int flat = CO * oh * ow;
    float cw[CO * CI * K * K], cb[CO], g[CO], be[CO], mu[CO], var[CO];
    float *gw = malloc(sizeof(float) * OUT * (size_t)flat), gb[OUT];
    rndf_fill(r, cw, CO * CI * K * K);
    for (int i = 0; i < CO; i++) {
        cb[i] = rndf(r);
        g[i] = rndf(r);
        be[i] = rndf(r);
        mu[i] = rndf(r);
        var[i] = (float)(0.5 + tu_unif(r));
    }
    rndf_fill(r, gw, OUT * flat);
    rndf_fill(r, gb, OUT);
    int64_t din[4] = {1, CI, H, W}, dout[2] = {1, OUT};
    mb *b = mb_new(din, 4, dout, 2);
    int64_t dcw[4] = {CO, CI, K, K}, dc[1] = {CO}, dgw[2] = {OUT, flat}, dgb[1] = {OUT};
    mb_inits(b, 8, (const mb_tensor[]){{"cw", dcw, 4, cw}, {"cb", dc, 1, cb}, {"g", dc, 1, g},
                                       {"be", dc, 1, be}, {"mu", dc, 1, mu}, {"var", dc, 1, var},
                                       {"gw", dgw, 2, gw}, {"gb", dgb, 1, gb}});
    int c = mb_node(b, "Conv", "conv", "c", "x", "cw", "cb", NULL);
    int64_t st[2] = {stride, stride}, ks[2] = {K, K}, dil[2] = {1, 1};
    mb_attr_ints(b, c, "strides", 2, st);
    mb_attr_ints(b, c, "pads", 4, pads);
    mb_attr_ints(b, c, "kernel_shape", 2, ks);
    mb_attr_ints(b, c, "dilations", 2, dil);
    mb_attr_i(b, c, "group", 1);
    int bn = mb_node(b, "BatchNormalization", "bn", "n", "c", "g", "be", "mu", "var", NULL);
    mb_attr_f(b, bn, "epsilon", 1e-3f);
    mb_attr_f(b, bn, "momentum", 0.9f);
    mb_node(b, "Relu", "relu", "r", "n", NULL);
    int f = mb_node(b, "Flatten", "flat", "f", "r", NULL);
    mb_attr_i(b, f, "axis", 1);
    int ge = mb_node(b, "Gemm", "fc", "y", "f", "gw", "gb", NULL);
    mb_attr_i(b, ge, "transB", 1);
    net *n = mb_load_ok(b);
    cn_err err;
    assert_int_equal(net_n_layers(n), 3);
    assert_int_equal(net_layer_at(n, 0)->op, NET_CONV);
    assert_int_equal(net_layer_at(n, 0)->pad_t, (int)pads[0]);
    assert_int_equal(net_layer_at(n, 0)->pad_l, (int)pads[1]);
    assert_int_equal(net_layer_at(n, 0)->pad_b, (int)pads[2]);
    assert_int_equal(net_layer_at(n, 0)->pad_r, (int)pads[3]);
    assert_int_equal(net_layer_at(n, 0)->out, flat);
    assert_int_equal(net_n_relus(n), flat);
    net_info in;
    net_get_info(n, &in);
    assert_int_equal(in.folded, 1);
    assert_false(in.fold_exact);                 /* 1/sqrt(var + eps) is not exact */
    assert_true(net_has_enclosure(n));
    double x[CI * H * W], y[OUT], ref[OUT], *hid = malloc(sizeof(double) * (size_t)flat);
    for (int t = 0; t < 10; t++) {
        for (int i = 0; i < CI * H * W; i++)
            x[i] = rndf(r);
        for (int co = 0; co < CO; co++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    double s = cb[co];
                    for (int ci = 0; ci < CI; ci++)
                        for (int ky = 0; ky < K; ky++)
                            for (int kx = 0; kx < K; kx++) {
                                long iy = oy * stride + ky - pads[0], ix = ox * stride + kx - pads[1];
                                if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                                    s += cw[((co * CI + ci) * K + ky) * K + kx] *
                                         x[(ci * H + iy) * W + ix];
                            }
                    s = g[co] * (s - mu[co]) / sqrt((double)var[co] + (double)1e-3f) + be[co];
                    hid[(co * oh + oy) * ow + ox] = s > 0 ? s : 0;
                }
        for (int o = 0; o < OUT; o++) {
            ref[o] = gb[o];
            for (int k = 0; k < flat; k++)
                ref[o] += gw[o * flat + k] * hid[k];
        }
        assert_int_equal(net_forward(n, 1, x, y, &err), CN_OK);
        for (int o = 0; o < OUT; o++)
            assert_double_near(y[o], ref[o], 1e-9);
    }
    free(hid);
    free(gw);
    net_free(n);
    free(b);
}

static void test_conv_bn_gemm(void **state)
{
    tu_rng r = {tu_seed("conv_bn_gemm", 21)};
    int64_t p1[4] = {1, 1, 1, 1}, p2[4] = {0, 1, 1, 0};
    conv_bn_case(&r, 1, p1);
    conv_bn_case(&r, 2, p2);
}

/* x [1,1,2,2] -> Sub m -> Div d -> Flatten -> Gemm -> Relu; exact reference in mpq. */
static void norm_case(tu_rng *r, float *m, int64_t nm, float d, bool expect_exact)
{
    int64_t din[4] = {1, 1, 2, 2}, dout[2] = {1, 3};
    mb *b = mb_new(din, 4, dout, 2);
    float w[12], c[3], dd[1] = {d};
    rndf_fill(r, w, 12);
    rndf_fill(r, c, 3);
    int64_t dm[4] = {1, 1, nm == 4 ? 2 : 1, nm == 4 ? 2 : 1}, dsc[1] = {1}, dw[2] = {3, 4},
            dc[1] = {3};
    mb_inits(b, 4, (const mb_tensor[]){{"m", dm, 4, m}, {"d", dsc, 1, dd}, {"w", dw, 2, w},
                                       {"c", dc, 1, c}});
    mb_node(b, "Sub", "sub", "s", "x", "m", NULL);
    mb_node(b, "Div", "div", "q", "s", "d", NULL);
    mb_node(b, "Flatten", "flat", "f", "q", NULL);
    int g = mb_node(b, "Gemm", "fc", "h", "f", "w", "c", NULL);
    mb_attr_i(b, g, "transB", 1);
    mb_node(b, "Relu", "relu", "y", "h", NULL);
    net *n = mb_load_ok(b);
    cn_err err;
    net_info in;
    net_get_info(n, &in);
    assert_int_equal(in.folded, 2);
    assert_int_equal(in.fold_exact, expect_exact);
    assert_int_equal(net_has_enclosure(n), !expect_exact);
    assert_int_equal(net_n_layers(n), 2);
    mpq_t *q = qv(4), *xq = qv(4), *y = qv(3), *yh = qv(3), ref, t;
    mpq_inits(ref, t, NULL);
    for (int trial = 0; trial < 20; trial++) {
        double x[4];
        for (int i = 0; i < 4; i++) {
            x[i] = rndf(r);
            mpq_set_d(xq[i], x[i]);
            mpq_set_d(q[i], x[i]);           /* (x - m) / d exactly */
            mpq_set_d(t, m[nm == 4 ? i : 0]);
            mpq_sub(q[i], q[i], t);
            mpq_set_d(t, d);
            mpq_div(q[i], q[i], t);
        }
        /* rounded folding: no single exact value, an enclosure of the file's */
        assert_int_equal(net_eval_exact_d(n, x, y, &err), expect_exact ? CN_OK : CN_EUNSUPPORTED);
        assert_int_equal(net_eval_enclose(n, xq, y, yh, &err), CN_OK);
        for (int o = 0; o < 3; o++) {
            mpq_set_d(ref, c[o]);
            for (int k = 0; k < 4; k++) {
                mpq_set_d(t, w[o * 4 + k]);
                mpq_mul(t, t, q[k]);
                mpq_add(ref, ref, t);
            }
            if (mpq_sgn(ref) < 0)
                mpq_set_ui(ref, 0, 1);
            if (expect_exact) {
                assert_true(mpq_equal(ref, y[o]) && mpq_equal(ref, yh[o]));
            } else {
                assert_true(mpq_cmp(y[o], ref) <= 0 && mpq_cmp(ref, yh[o]) <= 0);
                assert_double_near(mpq_get_d(y[o]), mpq_get_d(yh[o]), 1e-12);
            }
        }
    }
    qv_free(q, 4);
    qv_free(xq, 4);
    qv_free(y, 3);
    qv_free(yh, 3);
    mpq_clears(ref, t, NULL);
    net_free(n);
    free(b);
}

static void test_sub_div_normalisation(void **state)
{
    tu_rng r = {tu_seed("sub_div_normalisation", 5)};
    float m1[1] = {0.5f}, m4[4] = {0.25f, -0.5f, 0.125f, 1.0f}, z[1] = {0.0f};
    norm_case(&r, m1, 1, 0.25f, true);             /* powers of two: exact */
    norm_case(&r, m4, 4, 2.0f, true);              /* per-pixel mean */
    norm_case(&r, z, 1, 1.0f, true);               /* identity (FFNNSmall) */
    norm_case(&r, m1, 1, 0.3081f, false);          /* 1/0.3081 rounds */
}

/* Sub / Div / Mul in other positions: constant first, after the layer, before a Conv. */
static void test_more_folding(void **state)
{
    cn_err err;
    net *n = NULL;
    /* y = 3 - relu(...)?  no: y = Mul(2, Sub(1, Add(MatMul(x, W), b))) : affine only */
    {
        int64_t din[2] = {1, 2}, dout[2] = {1, 2};
        mb *b = mb_new(din, 2, dout, 2);
        float w[4] = {1, 2, 3, 4}, bb[2] = {0.5f, -0.5f}, one[1] = {1}, two[1] = {2};
        int64_t dw[2] = {2, 2}, db[1] = {2}, ds[1] = {1};
        mb_inits(b, 4, (const mb_tensor[]){{"w", dw, 2, w}, {"b", db, 1, bb}, {"one", ds, 1, one},
                                           {"two", ds, 1, two}});
        mb_node(b, "MatMul", "mm", "a", "x", "w", NULL);     /* x·W, W [in,out] */
        mb_node(b, "Add", "bias", "c", "a", "b", NULL);
        mb_node(b, "Sub", "flip", "d", "one", "c", NULL);     /* 1 - c */
        mb_node(b, "Mul", "scale", "y", "two", "d", NULL);    /* 2 * (1 - c) */
        n = mb_load_ok(b);
        assert_int_equal(net_n_layers(n), 1);
        double x[2] = {0.25, -1}, y[2];
        assert_int_equal(net_forward(n, 1, x, y, &err), CN_OK);
        /* x·W = [0.25*1 - 1*3, 0.25*2 - 1*4] = [-2.75, -3.5]; +b = [-2.25, -4] */
        assert_true(y[0] == 2 * (1 + 2.25) && y[1] == 2 * (1 + 4));
        net_info in;
        net_get_info(n, &in);
        assert_int_equal(in.folded, 2);
        assert_true(in.fold_exact);
        net_free(n);
        free(b);
    }
    /* MatMul(W, x) with an asymmetric W [3,2] and a 1-D input */
    {
        int64_t din[1] = {2}, dout[1] = {3};
        mb *b = mb_new(din, 1, dout, 1);
        float w[6] = {1, 2, 3, 4, 5, 6};
        int64_t dw[2] = {3, 2};
        mb_init_f(b, "w", dw, 2, w);
        mb_node(b, "MatMul", "mm", "y", "w", "x", NULL);
        n = mb_load_ok(b);
        double x[2] = {1, 10}, y[3];
        assert_int_equal(net_forward(n, 1, x, y, &err), CN_OK);
        assert_true(y[0] == 21 && y[1] == 43 && y[2] == 65);
        net_free(n);
        free(b);
    }
    /* a scale is folded into a zero-padded Conv; a shift cannot be (the
     * border would change) and becomes its own 1x1 convolution before it */
    for (int shift = 0; shift < 2; shift++) {
        int64_t din[4] = {1, 1, 3, 3}, dout[4] = {1, 1, 3, 3};
        mb *b = mb_new(din, 4, dout, 4);
        float w[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, k[1] = {4.0f};
        int64_t dw[4] = {1, 1, 3, 3}, ds[1] = {1}, pads[4] = {1, 1, 1, 1};
        mb_init_f(b, "w", dw, 4, w);
        mb_init_f(b, "k", ds, 1, k);
        mb_node(b, shift ? "Sub" : "Div", "norm", "s", "x", "k", NULL);
        int c = mb_node(b, "Conv", "conv", "y", "s", "w", NULL);
        mb_attr_ints(b, c, "pads", 4, pads);
        net *m = mb_load_ok(b);
        double x[9] = {4, 8, 12, 0, 4, 0, 0, 0, 4}, y[9];
        assert_int_equal(net_forward(m, 1, x, y, &err), CN_OK);
        if (shift) {
            assert_int_equal(net_n_layers(m), 2);
            assert_int_equal(net_layer_at(m, 0)->op, NET_CONV);
            assert_int_equal(net_layer_at(m, 0)->kh, 1);
            /* x - 4 = {0,4,8,-4,0,-4,-4,-4,0}; centre: sum w (x - 4) */
            assert_true(y[4] == 2 * 4 + 3 * 8 - 4 * 4 - 6 * 4 - 7 * 4 - 8 * 4);
            /* top-left: w[4],w[5],w[7],w[8] on (x-4)[0,1,3,4]; the border reads 0 */
            assert_true(y[0] == 6 * 4 - 8 * 4);
        } else {
            assert_int_equal(net_n_layers(m), 1);
            /* centre output: sum w*x/4 = (1*1+2*2+3*3+0+5*1+0+0+0+9*1) = 28 */
            assert_true(y[4] == 28);
            /* top-left output sees x[0..1], x[3..4] with w[4],w[5],w[7],w[8] */
            assert_true(y[0] == 5 * 1 + 6 * 2 + 8 * 0 + 9 * 1);
        }
        net_free(m);
        free(b);
    }
}

/* Reshape (shape from a Constant), Identity, Dropout, Constant value_float and
 * a conv after a dense input: the net's input shape is retagged. */
static void test_misc_ops(void **state)
{
    int64_t din[2] = {1, 16}, dout[2] = {1, 2};
    mb *b = mb_new(din, 2, dout, 2);
    for (int k = 0; k < 2; k++) {                /* symbolic batch dimensions */
        b->dim[k][0].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
        b->dim[k][0].dim_param = "batch";
    }
    float w[4] = {1, 0, 0, -1}, gw[2 * 9], gb[2] = {0.5f, -0.25f};
    for (int i = 0; i < 18; i++)
        gw[i] = (float)(i % 5) - 2;
    int64_t dw[4] = {1, 1, 2, 2}, dgw[2] = {2, 9}, dgb[1] = {2};
    mb_inits(b, 3, (const mb_tensor[]){{"w", dw, 4, w}, {"gw", dgw, 2, gw}, {"gb", dgb, 1, gb}});
    int64_t shape[4] = {1, 1, 4, 4}, dshape[1] = {4};
    Onnx__TensorProto st = ONNX__TENSOR_PROTO__INIT;
    st.n_dims = 1;
    st.dims = dshape;
    st.has_data_type = 1;
    st.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
    st.n_int64_data = 4;
    st.int64_data = shape;
    int k = mb_node(b, "Constant", "shape", "shp", NULL);
    b->attr[k][0] = (Onnx__AttributeProto)ONNX__ATTRIBUTE_PROTO__INIT;
    b->attr[k][0].name = "value";
    b->attr[k][0].has_type = 1;
    b->attr[k][0].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
    b->attr[k][0].t = &st;
    b->attrs[k][0] = &b->attr[k][0];
    b->node[k].n_attribute = 1;
    int two = mb_node(b, "Constant", "two", "two", NULL);
    mb_attr_f(b, two, "value_float", 2.0f);
    mb_node(b, "Reshape", "reshape", "img", "x", "shp", NULL);
    mb_node(b, "Identity", "id", "img2", "img", NULL);
    mb_node(b, "Conv", "conv", "c", "img2", "w", NULL);          /* 2x2 valid: [1,1,3,3] */
    mb_node(b, "Mul", "dbl", "c2", "c", "two", NULL);
    mb_node(b, "Relu", "relu", "r", "c2", NULL);
    int dr = mb_node(b, "Dropout", "drop", "d", "r", NULL);
    mb_attr_f(b, dr, "ratio", 0.5f);
    mb_node(b, "Flatten", "flat", "f", "d", NULL);
    int g = mb_node(b, "Gemm", "fc", "y", "f", "gw", "gb", NULL);
    mb_attr_i(b, g, "transB", 1);
    mb_attr_f(b, g, "alpha", 0.5f);
    mb_attr_f(b, g, "beta", 4.0f);
    net *n = mb_load_ok(b);
    cn_err err;
    assert_int_equal(net_n_layers(n), 3);
    assert_int_equal(net_layer_at(n, 0)->op, NET_CONV);
    assert_int_equal(net_layer_at(n, 0)->in_shape.h, 4);
    assert_int_equal(net_layer_at(n, 0)->out, 9);
    net_info in;
    net_get_info(n, &in);
    assert_int_equal(in.n_in_dims, 2);
    assert_int_equal(in.in_dims[0], 1);          /* dim_param reads as 1 */
    assert_int_equal(in.in_dims[1], 16);
    assert_int_equal(in.n_out_dims, 2);
    assert_int_equal(in.out_dims[0], 1);
    assert_int_equal(in.out_dims[1], 2);
    assert_int_equal(in.folded, 1);
    assert_true(in.fold_exact);
    double x[16], y[2], c[9], ref[2];
    for (int i = 0; i < 16; i++)
        x[i] = (i * 7) % 16 - 7.5;
    for (int oy = 0; oy < 3; oy++)
        for (int ox = 0; ox < 3; ox++) {
            double s = x[oy * 4 + ox] - x[(oy + 1) * 4 + ox + 1];
            c[oy * 3 + ox] = 2 * s > 0 ? 2 * s : 0;
        }
    for (int o = 0; o < 2; o++) {
        ref[o] = 4.0 * gb[o];
        for (int i = 0; i < 9; i++)
            ref[o] += 0.5 * gw[o * 9 + i] * c[i];
    }
    assert_int_equal(net_forward(n, 1, x, y, &err), CN_OK);
    assert_true(y[0] == ref[0] && y[1] == ref[1]);
    net_free(n);
    free(b);
}

/* Attribute values and graph shapes certnn refuses, each with its message. */
static void test_refusals(void **state)
{
    static const struct {
        const char *what, *msg;
        cn_status status;
    } cases[] = {
        {"transA", "node 'fc' (Gemm): transA=1; only transA=0 is supported", CN_EUNSUPPORTED},
        {"group", "node 'conv' (Conv): group=2", CN_EUNSUPPORTED},
        {"dilations", "node 'conv' (Conv): dilations [2,2]", CN_EUNSUPPORTED},
        {"auto_pad", "node 'conv' (Conv): auto_pad must be NOTSET", CN_EUNSUPPORTED},
        {"unknown_attr", "node 'relu' (Relu): unsupported attribute 'alpha'", CN_EUNSUPPORTED},
        {"bn_training", "node 'bn' (BatchNormalization): only inference-mode", CN_EUNSUPPORTED},
        {"square", "node 'sq' (Mul): multiplies two computed tensors", CN_EUNSUPPORTED},
        {"custom_domain", "operator domain 'com.microsoft'", CN_EUNSUPPORTED},
        {"div_by_zero", "node 'div' (Div): division by a zero constant", CN_EPARSE},
    };
    float w[4 * 4 * 9], wc[4], one[1] = {1}, zero[1] = {0}, bnp[4] = {1, 1, 1, 1};
    for (int i = 0; i < 4 * 4 * 9; i++)
        w[i] = 0.25f;
    for (int i = 0; i < 4; i++)
        wc[i] = 1;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *what = cases[i].what;
        int64_t din[4] = {1, 4, 3, 3}, dout[2] = {1, 4};
        mb *b = mb_new(din, 4, dout, 2);
        int64_t dcw[4] = {4, 4, 3, 3}, dfc[2] = {4, 36}, d4[1] = {4}, d1[1] = {1};
        mb_inits(b, 6, (const mb_tensor[]){{"cw", dcw, 4, w}, {"fw", dfc, 2, w}, {"c4", d4, 1, wc},
                                           {"bnp", d4, 1, bnp}, {"one", d1, 1, one},
                                           {"zero", d1, 1, zero}});
        int c = mb_node(b, "Conv", "conv", "c", "x", "cw", "c4", NULL);
        int64_t pads[4] = {1, 1, 1, 1}, two[2] = {2, 2};
        mb_attr_ints(b, c, "pads", 4, pads);
        if (!strcmp(what, "group"))
            mb_attr_i(b, c, "group", 2);
        if (!strcmp(what, "dilations"))
            mb_attr_ints(b, c, "dilations", 2, two);
        if (!strcmp(what, "auto_pad"))
            mb_attr_s(b, c, "auto_pad", "SAME_UPPER");
        int bn = mb_node(b, "BatchNormalization", "bn", "n", "c", "bnp", "c4", "c4", "bnp", NULL);
        if (!strcmp(what, "bn_training"))
            mb_attr_i(b, bn, "training_mode", 1);
        int r = mb_node(b, "Relu", "relu", "r", "n", NULL);
        if (!strcmp(what, "unknown_attr"))
            mb_attr_f(b, r, "alpha", 0.1f);
        if (!strcmp(what, "custom_domain"))
            b->node[r].domain = "com.microsoft";
        const char *prev = "r";
        if (!strcmp(what, "square")) {
            mb_node(b, "Mul", "sq", "r2", "r", "r", NULL);
            prev = "r2";
        }
        if (!strcmp(what, "div_by_zero")) {
            mb_node(b, "Div", "div", "r2", "r", "zero", NULL);
            prev = "r2";
        }
        mb_node(b, "Flatten", "flat", "f", prev, NULL);
        int g = mb_node(b, "Gemm", "fc", "y", "f", "fw", "c4", NULL);
        mb_attr_i(b, g, "transB", 1);
        if (!strcmp(what, "transA"))
            mb_attr_i(b, g, "transA", 1);
        net *n = (net *)&n;
        cn_err err;
        long live = cn_alloc_live();
        cn_status s = mb_load(b, &n, &err);
        if (s != cases[i].status)
            fail_msg("%s: status %d: %s", what, s, err.msg);
        assert_ptr_equal(n, (net *)&n);
        assert_int_equal(cn_alloc_live(), live);
        assert_contains(err.msg, "hand.onnx: ");
        assert_contains(err.msg, cases[i].msg);
        free(b);
    }
}

int test_onnx_ops_group(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_bn_gemm),
        cmocka_unit_test(test_sub_div_normalisation),
        cmocka_unit_test(test_more_folding),
        cmocka_unit_test(test_misc_ops),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests_name("onnx_ops", tests, NULL, NULL);
}

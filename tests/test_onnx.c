/* test_onnx.c — the ONNX loader and writer: every shared benchmark network,
 * numerical checks on the tiny nets, the malformed corpus tests/data/bad,
 * hand-built models (Conv + BatchNormalization, Sub/Div normalisation,
 * MatMul orientation, Reshape/Identity/Dropout/Constant) checked against a
 * direct evaluation, refused attributes, save -> load round trips and an
 * out-of-memory loop. */
#include "config.h"

#include <math.h>
#include <unistd.h>

#include <protobuf-c/protobuf-c.h>

#include "models/models.h"
#include "models/onnx.pb-c.h"
#include "tests/onnx_mb.h"
#include "tests/testutil.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

static net *load_ok(const char *path)
{
    net *n = NULL;
    cn_err err;
    cn_status s = net_load_onnx(path, &n, &err);
    if (s != CN_OK)
        fail_msg("%s: %s", path, err.msg);
    assert_non_null(n);
    return n;
}

static void assert_contains(const char *msg, const char *sub)
{
    if (!strstr(msg, sub))
        fail_msg("message \"%s\" does not contain \"%s\"", msg, sub);
}

static int count_op(const net *n, net_op op)
{
    int c = 0;
    for (int i = 0; i < net_n_layers(n); i++)
        c += net_layer_at(n, i)->op == op;
    return c;
}

static size_t layer_nw(const net_layer *l)
{
    if (l->op == NET_DENSE)
        return (size_t)l->in * l->out;
    if (l->op == NET_CONV)
        return (size_t)l->out_shape.c * l->in_shape.c * l->kh * l->kw;
    return 0;
}

static size_t layer_nb(const net_layer *l)
{
    return l->op == NET_DENSE ? (size_t)l->out : l->op == NET_CONV ? (size_t)l->out_shape.c : 0;
}

/* Same layers, shapes and bit-identical weights. */
static void assert_same_net(const net *a, const net *b)
{
    assert_int_equal(net_n_layers(a), net_n_layers(b));
    assert_int_equal(net_in_size(a), net_in_size(b));
    for (int i = 0; i < net_n_layers(a); i++) {
        const net_layer *x = net_layer_at(a, i), *y = net_layer_at(b, i);
        assert_int_equal(x->op, y->op);
        assert_int_equal(x->in, y->in);
        assert_int_equal(x->out, y->out);
        assert_memory_equal(&x->out_shape, &y->out_shape, sizeof x->out_shape);
        if (x->op == NET_CONV) {
            assert_memory_equal(&x->in_shape, &y->in_shape, sizeof x->in_shape);
            assert_int_equal(x->kh, y->kh);
            assert_int_equal(x->kw, y->kw);
            assert_int_equal(x->stride_h, y->stride_h);
            assert_int_equal(x->stride_w, y->stride_w);
            assert_int_equal(x->pad_t, y->pad_t);
            assert_int_equal(x->pad_l, y->pad_l);
            assert_int_equal(x->pad_b, y->pad_b);
            assert_int_equal(x->pad_r, y->pad_r);
        }
        if (layer_nw(x))
            assert_memory_equal(x->W, y->W, layer_nw(x) * sizeof(double));
        if (layer_nb(x))
            assert_memory_equal(x->b, y->b, layer_nb(x) * sizeof(double));
    }
}

/* Exact outputs of a and b agree at random float32 points in [-1, 1]. */
static void assert_same_outputs(const net *a, const net *b, tu_rng *r, int points)
{
    int in = net_in_size(a), out = net_out_size(a);
    assert_int_equal(out, net_out_size(b));
    double *x = calloc((size_t)in, sizeof *x);
    mpq_t *ya = malloc((size_t)out * sizeof *ya), *yb = malloc((size_t)out * sizeof *yb);
    for (int k = 0; k < out; k++) {
        mpq_init(ya[k]);
        mpq_init(yb[k]);
    }
    cn_err err;
    for (int t = 0; t < points; t++) {
        for (int k = 0; k < in; k++)
            x[k] = (double)(float)(2 * tu_unif(r) - 1);
        assert_int_equal(net_eval_exact_d(a, x, ya, &err), CN_OK);
        assert_int_equal(net_eval_exact_d(b, x, yb, &err), CN_OK);
        for (int k = 0; k < out; k++)
            assert_true(mpq_equal(ya[k], yb[k]));
    }
    for (int k = 0; k < out; k++) {
        mpq_clear(ya[k]);
        mpq_clear(yb[k]);
    }
    free(ya);
    free(yb);
    free(x);
}

static const char *tmp_path(const char *tag)
{
    static char buf[512];
    const char *d = getenv("TMPDIR");
    snprintf(buf, sizeof buf, "%s/certnn_test_onnx_%s_%ld.onnx", d && *d ? d : "/tmp", tag,
             (long)getpid());
    return buf;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t cap = 1 << 16, n = 0;
    unsigned char *b = malloc(cap);
    size_t got;
    while ((got = fread(b + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            b = realloc(b, cap *= 2);
    }
    fclose(f);
    *len = n;
    return b;
}

static float rndf(tu_rng *r) { return (float)(2 * tu_unif(r) - 1); }

/* ------------------------------------------------------------------------ */
/* Shared benchmark networks                                                 */
/* ------------------------------------------------------------------------ */

static void test_acasxu_all(void **state)
{
    char rel[128];
    for (int a = 1; a <= 5; a++)
        for (int b = 1; b <= 9; b++) {
            snprintf(rel, sizeof rel, "benchmarks/acasxu/onnx/ACASXU_run2a_%d_%d_batch_2000.onnx",
                     a, b);
            const char *path = tu_shared(rel);
            net *n = load_ok(path);
            assert_int_equal(net_in_size(n), 5);
            assert_int_equal(net_out_size(n), 5);
            assert_int_equal(net_n_relus(n), 300);
            assert_int_equal(count_op(n, NET_DENSE), 7);
            assert_int_equal(count_op(n, NET_RELU), 6);
            assert_int_equal(net_layer_at(n, net_n_layers(n) - 1)->op, NET_DENSE);
            net_info in;
            net_get_info(n, &in);
            assert_int_equal(in.format, NET_FMT_ONNX);
            assert_string_equal(in.path, path);
            assert_string_equal(in.in_name, "input");
            assert_string_equal(in.out_name, "linear_7_Add");
            assert_int_equal(in.n_in_dims, 4);
            assert_int_equal(in.in_dims[3], 5);
            assert_int_equal(in.n_out_dims, 2);
            assert_int_equal(in.out_dims[1], 5);
            /* 13,310 initializer elements minus the 5-element zero Sub constant */
            assert_int_equal(in.params, 13305);
            assert_int_equal(in.folded, 1);
            assert_true(in.fold_exact);
            size_t len;
            unsigned char *bytes = slurp(path, &len);
            char hex[65];
            cn_sha256_hex(bytes, len, hex);
            assert_string_equal(in.sha256, hex);
            free(bytes);
            net_free(n);
        }
}

static void test_mnist_fc(void **state)
{
    net *n = load_ok(tu_shared("benchmarks/mnist_fc/onnx/mnist-net_256x2.onnx"));
    assert_int_equal(net_in_size(n), 784);
    assert_int_equal(net_out_size(n), 10);
    assert_int_equal(net_n_relus(n), 512);
    assert_int_equal(count_op(n, NET_DENSE), 3);
    net_info in;
    net_get_info(n, &in);
    assert_int_equal(in.params, 269322);
    assert_int_equal(in.n_in_dims, 3);
    assert_int_equal(in.in_dims[1], 784);
    assert_string_equal(in.in_name, "0");
    assert_string_equal(in.out_name, "12");
    assert_int_equal(in.folded, 0);
    net_free(n);
}

static void test_eran_relu_nets(void **state)
{
    net *n = load_ok(tu_shared("benchmarks/eran/onnx/FFNNSmall.onnx"));
    assert_int_equal(net_in_size(n), 784);
    assert_int_equal(net_out_size(n), 10);
    assert_int_equal(net_n_relus(n), 510);
    assert_int_equal(net_layer_at(n, net_n_layers(n) - 1)->op, NET_RELU);
    net_info in;
    net_get_info(n, &in);
    assert_int_equal(in.params, 119910);
    assert_int_equal(in.folded, 2);        /* Sub 0 and Div 1 */
    assert_true(in.fold_exact);
    assert_int_equal(in.n_in_dims, 4);
    assert_int_equal(in.in_dims[2], 28);
    net *m = load_ok(tu_shared("benchmarks/eran/onnx/mnist_6_100_nat.onnx"));
    assert_int_equal(net_in_size(m), 784);
    assert_int_equal(net_n_relus(m), 500);
    assert_int_equal(net_layer_at(m, net_n_layers(m) - 1)->op, NET_DENSE);
    /* the same weights as FFNNSmall up to float32 rounding of the re-export
     * (eran/README.md); FFNNSmall's Sub 0 / Div 1 fold away */
    for (int i = 0; i < net_n_layers(n) - 1; i++) {
        const net_layer *a = net_layer_at(n, i), *b = net_layer_at(m, i);
        assert_int_equal(a->op, b->op);
        for (size_t k = 0; k < layer_nw(a); k++)
            assert_double_near(a->W[k], b->W[k], 1e-7);
        for (size_t k = 0; k < layer_nb(a); k++)
            assert_double_near(a->b[k], b->b[k], 1e-7);
    }
    net_free(n);
    net_free(m);
}

static void test_sigmoid_refused(void **state)
{
    const char *path = tu_shared("benchmarks/eran/onnx/ffnnSIGMOID__Point_6x200.onnx");
    net *n = (net *)&n;
    cn_err err;
    long live = cn_alloc_live();
    assert_int_equal(net_load_onnx(path, &n, &err), CN_EUNSUPPORTED);
    assert_ptr_equal(n, (net *)&n);
    assert_int_equal(cn_alloc_live(), live);
    assert_contains(err.msg, "unsupported activation");
    assert_contains(err.msg, "'Sigmoid_6' (Sigmoid)");
    assert_contains(err.msg, "ffnnSIGMOID__Point_6x200.onnx");
    assert_null(strchr(err.msg, '\n'));
}

/* y over a grid of x in [-1, 1], evaluated exactly. */
static void grid_range(const net *n, double *lo, double *hi)
{
    mpq_t x, y;
    mpq_init(x);
    mpq_init(y);
    *lo = INFINITY;
    *hi = -INFINITY;
    cn_err err;
    for (int k = -1000; k <= 1000; k++) {
        mpq_set_si(x, k, 1000);
        assert_int_equal(net_eval_exact(n, &x, &y, &err), CN_OK);
        double d = mpq_get_d(y);
        *lo = d < *lo ? d : *lo;
        *hi = d > *hi ? d : *hi;
    }
    mpq_clear(x);
    mpq_clear(y);
}

static void test_test_suite_nets(void **state)
{
    double lo, hi;
    net *n = load_ok(tu_shared("benchmarks/test/test_nano.onnx"));
    assert_int_equal(net_in_size(n), 1);
    assert_int_equal(net_out_size(n), 1);
    assert_int_equal(net_n_relus(n), 1);
    /* the weight comes from float_data, not raw_data */
    assert_int_equal(net_layer_at(n, 0)->op, NET_DENSE);
    assert_true(net_layer_at(n, 0)->W[0] == 0.5);
    assert_true(net_layer_at(n, 0)->b[0] == 0.0);
    grid_range(n, &lo, &hi);
    assert_true(lo == 0.0 && hi == 0.5);
    net_free(n);

    n = load_ok(tu_shared("benchmarks/test/test_tiny.onnx"));
    assert_int_equal(net_n_relus(n), 1);
    assert_int_equal(count_op(n, NET_DENSE), 2);
    net_info in;
    net_get_info(n, &in);
    assert_string_equal(in.in_name, "X_0");
    assert_string_equal(in.out_name, "Y_0");
    assert_int_equal(in.params, 4);
    grid_range(n, &lo, &hi);
    assert_true(lo == 0.0 && hi == 1.0);
    net_free(n);

    n = load_ok(tu_shared("benchmarks/test/test_small.onnx"));
    assert_int_equal(net_in_size(n), 1);
    assert_int_equal(net_out_size(n), 1);
    assert_int_equal(net_n_relus(n), 4);
    assert_int_equal(count_op(n, NET_DENSE), 3);
    assert_int_equal(net_layer_at(n, 0)->out, 2);
    net_get_info(n, &in);
    assert_int_equal(in.params, 13);
    grid_range(n, &lo, &hi);
    assert_true(lo == 30.5 && hi == 78.5);
    net_free(n);

    /* test_sat / test_unsat are ACAS Xu 1_7 / 1_6 */
    const char *pairs[2][2] = {
        {"benchmarks/test/test_sat.onnx", "benchmarks/acasxu/onnx/ACASXU_run2a_1_7_batch_2000.onnx"},
        {"benchmarks/test/test_unsat.onnx", "benchmarks/acasxu/onnx/ACASXU_run2a_1_6_batch_2000.onnx"}};
    for (int i = 0; i < 2; i++) {
        net *a = load_ok(tu_shared(pairs[i][0]));
        net *b = load_ok(tu_shared(pairs[i][1]));
        assert_int_equal(net_n_relus(a), 300);
        assert_same_net(a, b);
        net_info ia, ib;
        net_get_info(a, &ia);
        net_get_info(b, &ib);
        assert_string_equal(ia.sha256, ib.sha256);
        net_free(a);
        net_free(b);
    }
}

/* ------------------------------------------------------------------------ */
/* Malformed inputs                                                          */
/* ------------------------------------------------------------------------ */

static const struct {
    const char *file;
    cn_status status;
    const char *msg;
} bad[] = {
    {"empty", CN_EPARSE, "empty.onnx: empty file"},
    {"random_bytes", CN_EPARSE, "not an ONNX model (protobuf decoding failed"},
    {"truncated", CN_EPARSE, "not an ONNX model (protobuf decoding failed"},
    {"no_graph", CN_EPARSE, "not an ONNX model (no graph)"},
    {"unsupported_op", CN_EUNSUPPORTED, "node #2 (Transpose): unsupported operator"},
    {"sigmoid", CN_EUNSUPPORTED, "node #2 (Sigmoid): unsupported activation"},
    {"not_a_chain", CN_EUNSUPPORTED, "node #1 (Add): input 'X_0' is neither a constant nor the "
                                     "previous layer's output; the graph is not a chain"},
    {"bad_raw_data_length", CN_EPARSE,
     "node #3 (MatMul): tensor 'W1': raw_data has 12 bytes; dims [2,2] of float32 need 16"},
    {"missing_initializer", CN_EPARSE, "node #4 (Add): input 'B1' is not defined"},
    {"shape_mismatch", CN_EPARSE, "node #3 (MatMul): shape mismatch: input [2], weight [4,1]"},
    {"nan_weight", CN_EPARSE, "tensor 'B0': value 1 is not finite"},
    {"external_data", CN_EUNSUPPORTED, "tensor 'W0' uses external data"},
    {"output_not_end", CN_EUNSUPPORTED, "graph output 'M2' is not the end of the layer chain"},
    {"huge_input_dims", CN_ELIMIT, "tensor 'X_0' has an invalid shape [1099511627776]"},
    {"int_weight", CN_EUNSUPPORTED, "tensor 'W1' has data type 6"},
};

static void test_bad_corpus(void **state)
{
    char rel[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(rel, sizeof rel, "tests/data/bad/%s.onnx", bad[i].file);
        const char *path = tu_src(rel);
        net *n = (net *)&n;
        cn_err err;
        cn_err_clear(&err);
        long live = cn_alloc_live();
        cn_status s = net_load_onnx(path, &n, &err);
        printf("# %s.onnx: %s\n", bad[i].file, err.msg);
        if (s != bad[i].status)
            fail_msg("%s: status %d (%s), expected %d", rel, s, err.msg, bad[i].status);
        assert_int_equal(err.status, s);
        assert_ptr_equal(n, (net *)&n);              /* out untouched */
        assert_int_equal(cn_alloc_live(), live);     /* nothing leaked */
        assert_contains(err.msg, bad[i].msg);
        assert_contains(err.msg, bad[i].file);       /* names the file */
        assert_null(strchr(err.msg, '\n'));
    }
    /* a missing file is an I/O error */
    net *n = NULL;
    cn_err err;
    assert_int_equal(net_load_onnx(tu_src("tests/data/bad/no_such_file.onnx"), &n, &err), CN_EIO);
    assert_null(n);
}

/* Every prefix of a real model: an error or (rarely) a smaller model, never a crash. */
static void test_all_truncations(void **state)
{
    size_t len;
    unsigned char *b = slurp(tu_shared("benchmarks/test/test_small.onnx"), &len);
    int ok = 0;
    for (size_t k = 0; k < len; k++) {
        net *n = NULL;
        cn_err err;
        long live = cn_alloc_live();
        cn_status s = net_load_onnx_mem(b, k, "cut.onnx", &n, &err);
        if (s == CN_OK) {
            ok++;
            net_free(n);
        } else {
            assert_null(n);
            assert_contains(err.msg, "cut.onnx: ");
        }
        assert_int_equal(cn_alloc_live(), live);
    }
    assert_true(ok < 5);
    free(b);
}

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
    for (int i = 0; i < CO * CI * K * K; i++)
        cw[i] = rndf(r);
    for (int i = 0; i < CO; i++) {
        cb[i] = rndf(r);
        g[i] = rndf(r);
        be[i] = rndf(r);
        mu[i] = rndf(r);
        var[i] = (float)(0.5 + tu_unif(r));
    }
    for (int i = 0; i < OUT * flat; i++)
        gw[i] = rndf(r);
    for (int i = 0; i < OUT; i++)
        gb[i] = rndf(r);
    int64_t din[4] = {1, CI, H, W}, dout[2] = {1, OUT};
    mb *b = mb_new(din, 4, dout, 2);
    int64_t dcw[4] = {CO, CI, K, K}, dc[1] = {CO}, dgw[2] = {OUT, flat}, dgb[1] = {OUT};
    mb_init_f(b, "cw", dcw, 4, cw);
    mb_init_f(b, "cb", dc, 1, cb);
    mb_init_f(b, "g", dc, 1, g);
    mb_init_f(b, "be", dc, 1, be);
    mb_init_f(b, "mu", dc, 1, mu);
    mb_init_f(b, "var", dc, 1, var);
    mb_init_f(b, "gw", dgw, 2, gw);
    mb_init_f(b, "gb", dgb, 1, gb);
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
    net *n = NULL;
    cn_err err;
    if (mb_load(b, &n, &err))
        fail_msg("%s", err.msg);
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
    for (int i = 0; i < 12; i++)
        w[i] = rndf(r);
    for (int i = 0; i < 3; i++)
        c[i] = rndf(r);
    int64_t dm[4] = {1, 1, nm == 4 ? 2 : 1, nm == 4 ? 2 : 1}, dsc[1] = {1}, dw[2] = {3, 4},
            dc[1] = {3};
    mb_init_f(b, "m", dm, 4, m);
    mb_init_f(b, "d", dsc, 1, dd);
    mb_init_f(b, "w", dw, 2, w);
    mb_init_f(b, "c", dc, 1, c);
    mb_node(b, "Sub", "sub", "s", "x", "m", NULL);
    mb_node(b, "Div", "div", "q", "s", "d", NULL);
    mb_node(b, "Flatten", "flat", "f", "q", NULL);
    int g = mb_node(b, "Gemm", "fc", "h", "f", "w", "c", NULL);
    mb_attr_i(b, g, "transB", 1);
    mb_node(b, "Relu", "relu", "y", "h", NULL);
    net *n = NULL;
    cn_err err;
    if (mb_load(b, &n, &err))
        fail_msg("%s", err.msg);
    net_info in;
    net_get_info(n, &in);
    assert_int_equal(in.folded, 2);
    assert_int_equal(in.fold_exact, expect_exact);
    assert_int_equal(net_has_enclosure(n), !expect_exact);
    assert_int_equal(net_n_layers(n), 2);
    mpq_t q[4], xq[4], y[3], yh[3], ref, t;
    mpq_init(ref);
    mpq_init(t);
    for (int i = 0; i < 4; i++) {
        mpq_init(q[i]);
        mpq_init(xq[i]);
    }
    for (int i = 0; i < 3; i++) {
        mpq_init(y[i]);
        mpq_init(yh[i]);
    }
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
    for (int i = 0; i < 4; i++) {
        mpq_clear(q[i]);
        mpq_clear(xq[i]);
    }
    for (int i = 0; i < 3; i++) {
        mpq_clear(y[i]);
        mpq_clear(yh[i]);
    }
    mpq_clear(ref);
    mpq_clear(t);
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
        mb_init_f(b, "w", dw, 2, w);
        mb_init_f(b, "b", db, 1, bb);
        mb_init_f(b, "one", ds, 1, one);
        mb_init_f(b, "two", ds, 1, two);
        mb_node(b, "MatMul", "mm", "a", "x", "w", NULL);     /* x·W, W [in,out] */
        mb_node(b, "Add", "bias", "c", "a", "b", NULL);
        mb_node(b, "Sub", "flip", "d", "one", "c", NULL);     /* 1 - c */
        mb_node(b, "Mul", "scale", "y", "two", "d", NULL);    /* 2 * (1 - c) */
        if (mb_load(b, &n, &err))
            fail_msg("%s", err.msg);
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
        if (mb_load(b, &n, &err))
            fail_msg("%s", err.msg);
        double x[2] = {1, 10}, y[3];
        assert_int_equal(net_forward(n, 1, x, y, &err), CN_OK);
        assert_true(y[0] == 21 && y[1] == 43 && y[2] == 65);
        net_free(n);
        free(b);
    }
    /* a shift before a zero-padded Conv is refused; a scale is folded */
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
        net *m = (net *)&m;
        long live = cn_alloc_live();
        cn_status s = mb_load(b, &m, &err);
        if (shift) {
            assert_int_equal(s, CN_EUNSUPPORTED);
            assert_ptr_equal(m, (net *)&m);
            assert_int_equal(cn_alloc_live(), live);
            assert_contains(err.msg, "hand.onnx: node 'conv' (Conv): cannot fold the preceding "
                                     "input shift");
        } else {
            assert_int_equal(s, CN_OK);
            double x[9] = {4, 8, 12, 0, 4, 0, 0, 0, 4}, y[9];
            assert_int_equal(net_forward(m, 1, x, y, &err), CN_OK);
            /* centre output: sum w*x/4 = (1*1+2*2+3*3+0+5*1+0+0+0+9*1) = 28 */
            assert_true(y[4] == 28);
            /* top-left output sees x[0..1], x[3..4] with w[4],w[5],w[7],w[8] */
            assert_true(y[0] == 5 * 1 + 6 * 2 + 8 * 0 + 9 * 1);
            net_free(m);
        }
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
    mb_init_f(b, "w", dw, 4, w);
    mb_init_f(b, "gw", dgw, 2, gw);
    mb_init_f(b, "gb", dgb, 1, gb);
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
    net *n = NULL;
    cn_err err;
    if (mb_load(b, &n, &err))
        fail_msg("%s", err.msg);
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
        {"join", "node 'join' (Add): input 'r' is neither a constant nor the previous layer's "
                 "output", CN_EUNSUPPORTED},
        {"square", "node 'sq' (Mul): uses 'r' twice", CN_EUNSUPPORTED},
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
        mb_init_f(b, "cw", dcw, 4, w);
        mb_init_f(b, "fw", dfc, 2, w);
        mb_init_f(b, "c4", d4, 1, wc);
        mb_init_f(b, "bnp", d4, 1, bnp);
        mb_init_f(b, "one", d1, 1, one);
        mb_init_f(b, "zero", d1, 1, zero);
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
        if (!strcmp(what, "join")) {
            mb_node(b, "Mul", "m", "r2", "r", "one", NULL);
            mb_node(b, "Add", "join", "r3", "r2", "r", NULL);
            prev = "r3";
        }
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

/* ------------------------------------------------------------------------ */
/* Writer                                                                    */
/* ------------------------------------------------------------------------ */

/* Element type of every initializer of a saved file (-1 if they differ) and
 * its opset. */
static int saved_elem_type(const char *path, long *opset)
{
    size_t len;
    unsigned char *b = slurp(path, &len);
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, b);
    assert_non_null(m);
    assert_non_null(m->graph);
    *opset = m->n_opset_import ? (long)m->opset_import[0]->version : -1;
    int t = -2;
    for (size_t i = 0; i < m->graph->n_initializer; i++) {
        int dt = m->graph->initializer[i]->data_type;
        if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT64)
            continue;
        t = t == -2 || t == dt ? dt : -1;
    }
    onnx__model_proto__free_unpacked(m, NULL);
    free(b);
    return t;
}

static void test_roundtrip_acas(void **state)
{
    tu_rng r = {tu_seed("roundtrip_acas", 3)};
    net *a = load_ok(tu_shared("benchmarks/acasxu/onnx/ACASXU_run2a_2_3_batch_2000.onnx"));
    const char *path = tmp_path("acas");
    cn_err err;
    assert_int_equal(net_save_onnx(a, path, &err), CN_OK);
    long opset;
    assert_int_equal(saved_elem_type(path, &opset), ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
    assert_int_equal(opset, 13);
    net *b = load_ok(path);
    assert_same_net(a, b);
    assert_same_outputs(a, b, &r, 20);
    net_info in;
    net_get_info(b, &in);
    assert_int_equal(in.n_in_dims, 4);        /* (1,1,5) is image-shaped: [1,1,1,5] */
    assert_int_equal(in.folded, 0);
    /* saving the reloaded net reproduces the same bytes */
    size_t l1, l2;
    unsigned char *b1 = slurp(path, &l1);
    net_free(a);
    assert_int_equal(net_save_onnx(b, path, &err), CN_OK);
    unsigned char *b2 = slurp(path, &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(b1, b2, l1);
    free(b1);
    free(b2);
    remove(path);
    net_free(b);
}

/* A conv net built in code: (2,5,5) conv 3x3 s1 p1 -> relu -> conv 2x2 s2
 * p(0,0,1,1) -> relu -> dense 4 -> relu -> dense 3.  doubles: float64 file;
 * float32 values: float32 file. */
static net *built_conv(tu_rng *r, bool f32)
{
    cn_err err;
    net *n = net_new((net_shape){2, 5, 5});
    net_layer *ls[4];
    ls[0] = net_add_conv(n, 3, 3, 3, 1, 1, 1, 1, 1, 1, &err);
    net_add_relu(n, &err);
    ls[1] = net_add_conv(n, 2, 2, 2, 2, 2, 0, 0, 1, 1, &err);
    net_add_relu(n, &err);
    ls[2] = net_add_dense(n, 4, &err);
    net_add_relu(n, &err);
    ls[3] = net_add_dense(n, 3, &err);
    for (int i = 0; i < 4; i++) {
        assert_non_null(ls[i]);
        for (size_t k = 0; k < layer_nw(ls[i]); k++)
            ls[i]->W[k] = f32 ? (double)rndf(r) : 2 * tu_unif(r) - 1;
        for (size_t k = 0; k < layer_nb(ls[i]); k++)
            ls[i]->b[k] = f32 ? (double)rndf(r) : 2 * tu_unif(r) - 1;
    }
    return n;
}

static void test_roundtrip_conv(void **state)
{
    tu_rng r = {tu_seed("roundtrip_conv", 9)};
    for (int f32 = 0; f32 < 2; f32++) {
        net *a = built_conv(&r, f32);
        const char *path = tmp_path("conv");
        cn_err err;
        assert_int_equal(net_save_onnx(a, path, &err), CN_OK);
        long opset;
        assert_int_equal(saved_elem_type(path, &opset),
                         f32 ? ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT
                             : ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE);
        net *b = load_ok(path);
        assert_same_net(a, b);
        assert_same_outputs(a, b, &r, 10);
        net_info in;
        net_get_info(b, &in);
        assert_int_equal(in.n_in_dims, 4);
        assert_int_equal(in.in_dims[1], 2);
        assert_int_equal(in.in_dims[3], 5);
        remove(path);
        net_free(a);
        net_free(b);
    }
    /* dense then conv: the writer inserts a Reshape, the reader retags */
    cn_err err;
    net *a = net_new((net_shape){6, 1, 1});
    net_layer *d = net_add_dense(a, 8, &err);
    for (int k = 0; k < 48; k++)
        d->W[k] = rndf(&r);
    net_add_relu(a, &err);
    /* the conv reads the 8 values as (8,1,1) with a 1x1 kernel */
    net_layer *c = net_add_conv(a, 2, 1, 1, 1, 1, 0, 0, 0, 0, &err);
    assert_non_null(c);
    for (int k = 0; k < 16; k++)
        c->W[k] = rndf(&r);
    const char *path = tmp_path("dense_conv");
    assert_int_equal(net_save_onnx(a, path, &err), CN_OK);
    net *b = load_ok(path);
    assert_same_net(a, b);
    assert_same_outputs(a, b, &r, 10);
    remove(path);
    net_free(a);
    net_free(b);
    /* an unwritable path is an I/O error */
    a = built_conv(&r, true);
    assert_int_equal(net_save_onnx(a, "/nonexistent-dir/x.onnx", &err), CN_EIO);
    assert_contains(err.msg, "/nonexistent-dir/x.onnx");
    net_free(a);
}

/* ------------------------------------------------------------------------ */
/* Out of memory                                                             */
/* ------------------------------------------------------------------------ */

static void test_oom_load(void **state)
{
    size_t len;
    unsigned char *bytes = slurp(tu_shared("benchmarks/test/test_small.onnx"), &len);
    /* plus a model that exercises folding (Conv + BN + Gemm) */
    tu_rng r = {17};
    int64_t din[4] = {1, 1, 3, 3}, dout[2] = {1, 2};
    mb *b = mb_new(din, 4, dout, 2);
    float cw[4 * 9], one[2] = {1, 1}, fw[2 * 4 * 9], m[1] = {0.5f}, d[1] = {0.25f};
    for (int i = 0; i < 36; i++)
        cw[i] = rndf(&r);
    for (int i = 0; i < 72; i++)
        fw[i] = rndf(&r);
    int64_t dcw[4] = {4, 1, 3, 3}, d4[1] = {4}, d2[1] = {2}, dfw[2] = {2, 36}, d1[1] = {1};
    float c4[4] = {1, 2, 3, 4};
    mb_init_f(b, "cw", dcw, 4, cw);
    mb_init_f(b, "c4", d4, 1, c4);
    mb_init_f(b, "fw", dfw, 2, fw);
    mb_init_f(b, "one", d2, 1, one);
    mb_init_f(b, "m", d1, 1, m);
    mb_init_f(b, "d", d1, 1, d);
    mb_node(b, "Div", "div", "q", "x", "d", NULL);
    int c = mb_node(b, "Conv", "conv", "c", "q", "cw", "c4", NULL);
    int64_t pads[4] = {1, 1, 1, 1};
    mb_attr_ints(b, c, "pads", 4, pads);
    mb_node(b, "BatchNormalization", "bn", "n", "c", "c4", "c4", "c4", "c4", NULL);
    mb_node(b, "Relu", "relu", "r", "n", NULL);
    mb_node(b, "Flatten", "flat", "f", "r", NULL);
    int g = mb_node(b, "Gemm", "fc", "g", "f", "fw", "one", NULL);
    mb_attr_i(b, g, "transB", 1);
    mb_node(b, "Sub", "sub", "y", "g", "m", NULL);
    size_t hlen;
    unsigned char *hand = mb_pack(b, &hlen);
    const unsigned char *models[2] = {bytes, hand};
    size_t lens[2] = {len, hlen};
    for (int mi = 0; mi < 2; mi++) {
        long k;
        for (k = 1; k < 100000; k++) {
            net *n = (net *)&n;
            cn_err err;
            long live = cn_alloc_live();
            cn_alloc_fail_after(k);
            cn_status s = net_load_onnx_mem(models[mi], lens[mi], "oom.onnx", &n, &err);
            cn_alloc_fail_after(0);
            if (s == CN_OK) {
                assert_int_equal(net_n_relus(n), mi == 0 ? 4 : 36);
                /* the hand model's BN rounds: the enclosure's allocations are covered */
                assert_int_equal(net_has_enclosure(n), mi == 1);
                net_free(n);
                assert_int_equal(cn_alloc_live(), live);
                break;
            }
            if (s != CN_ENOMEM)
                fail_msg("k=%ld: status %d: %s", k, s, err.msg);
            assert_ptr_equal(n, (net *)&n);
            assert_int_equal(cn_alloc_live(), live);
        }
        printf("# oom load model %d: succeeded at k=%ld\n", mi, k);
        assert_true(k > 5 && k < 100000);
    }
    free(hand);
    free(b);
    free(bytes);
}

static void test_oom_save(void **state)
{
    tu_rng r = {23};
    net *a = built_conv(&r, false);
    const char *path = tmp_path("oom");
    long k;
    for (k = 1; k < 100000; k++) {
        cn_err err;
        long live = cn_alloc_live();
        cn_alloc_fail_after(k);
        cn_status s = net_save_onnx(a, path, &err);
        cn_alloc_fail_after(0);
        assert_int_equal(cn_alloc_live(), live);
        if (s == CN_OK)
            break;
        if (s != CN_ENOMEM)
            fail_msg("k=%ld: status %d: %s", k, s, err.msg);
    }
    assert_true(k > 5 && k < 100000);
    net *b = load_ok(path);
    assert_same_net(a, b);
    remove(path);
    net_free(a);
    net_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acasxu_all),
        cmocka_unit_test(test_mnist_fc),
        cmocka_unit_test(test_eran_relu_nets),
        cmocka_unit_test(test_sigmoid_refused),
        cmocka_unit_test(test_test_suite_nets),
        cmocka_unit_test(test_bad_corpus),
        cmocka_unit_test(test_all_truncations),
        cmocka_unit_test(test_conv_bn_gemm),
        cmocka_unit_test(test_sub_div_normalisation),
        cmocka_unit_test(test_more_folding),
        cmocka_unit_test(test_misc_ops),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_roundtrip_acas),
        cmocka_unit_test(test_roundtrip_conv),
        cmocka_unit_test(test_oom_load),
        cmocka_unit_test(test_oom_save),
    };
    return cmocka_run_group_tests_name("onnx", tests, NULL, NULL);
}

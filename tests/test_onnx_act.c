/* test_onnx_act.c — LeakyRelu, Clip and a final Softmax on hand-built
 * models, and BatchNormalization where it cannot fold into the preceding
 * layer (at the input, after a ReLU, before a padded Conv).  The lowered
 * networks are compared with a direct evaluation of the operators: exactly
 * (mpq) for LeakyRelu and Clip, whose lowering must be exact, and in double
 * for BatchNormalization.  Also the refusals and their messages, and the
 * properties a Softmax network accepts.  Part of test_onnx. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "models/models.h"
#include "models/onnx.pb-c.h"
#include "tests/onnx_mb.h"
#include "tests/groups.h"
#include "tests/testutil.h"

enum { NI = 4, NH = 6, NO = 3 };

typedef enum { K_LEAKY, K_CLIP2, K_CLIP_LO, K_CLIP_HI, K_CLIP_ATTR } kind;

typedef struct {
    float w1[NH * NI], b1[NH], w2[NO * NH], b2[NO];
    float a, lo, hi;
} mlp;

/* Gemm NI->NH -> op -> Gemm NH->NO. */
static mb *build(const mlp *m, kind k, const char *softmax_axis)
{
    int64_t din[2] = {1, NI}, dout[2] = {1, NO}, d1[2] = {NH, NI}, db1[1] = {NH},
            d2[2] = {NO, NH}, db2[1] = {NO}, ds[1] = {1};
    mb *b = mb_new(din, 2, dout, 2);
    mb_inits(b, 6, (const mb_tensor[]){{"w1", d1, 2, (float *)m->w1}, {"b1", db1, 1, (float *)m->b1},
                                       {"w2", d2, 2, (float *)m->w2}, {"b2", db2, 1, (float *)m->b2},
                                       {"lo", ds, 0, (float *)&m->lo}, {"hi", ds, 0, (float *)&m->hi}});
    int g = mb_node(b, "Gemm", "fc1", "h", "x", "w1", "b1", NULL);
    mb_attr_i(b, g, "transB", 1);
    int a;
    switch (k) {
    case K_LEAKY:
        a = mb_node(b, "LeakyRelu", "act", "r", "h", NULL);
        mb_attr_f(b, a, "alpha", m->a);
        break;
    case K_CLIP2: mb_node(b, "Clip", "act", "r", "h", "lo", "hi", NULL); break;
    case K_CLIP_LO: mb_node(b, "Clip", "act", "r", "h", "lo", NULL); break;
    case K_CLIP_HI: mb_node(b, "Clip", "act", "r", "h", "", "hi", NULL); break;
    case K_CLIP_ATTR:
        a = mb_node(b, "Clip", "act", "r", "h", NULL);
        mb_attr_f(b, a, "min", m->lo);
        mb_attr_f(b, a, "max", m->hi);
        break;
    }
    g = mb_node(b, "Gemm", "fc2", softmax_axis ? "z" : "y", "r", "w2", "b2", NULL);
    mb_attr_i(b, g, "transB", 1);
    if (softmax_axis) {
        int s = mb_node(b, "Softmax", "sm", "y", "z", NULL);
        if (*softmax_axis)
            mb_attr_i(b, s, "axis", atoi(softmax_axis));
    }
    return b;
}

/* q <- op(q), exactly. */
static void op_q(const mlp *m, kind k, mpq_t q, mpq_t t)
{
    if (k == K_LEAKY) {
        if (mpq_sgn(q) < 0) {
            mpq_set_d(t, m->a);
            mpq_mul(q, q, t);
        }
        return;
    }
    if (k != K_CLIP_HI) {
        mpq_set_d(t, m->lo);
        if (mpq_cmp(q, t) < 0)
            mpq_set(q, t);
    }
    if (k != K_CLIP_LO) {
        mpq_set_d(t, m->hi);
        if (mpq_cmp(q, t) > 0)
            mpq_set(q, t);
    }
}

/* The network on x, directly and exactly: y[NO]. */
static void ref_q(const mlp *m, kind k, const double *x, mpq_t *y)
{
    mpq_t h[NH], t, u;
    mpq_inits(t, u, NULL);
    for (int j = 0; j < NH; j++) {
        mpq_init(h[j]);
        mpq_set_d(h[j], m->b1[j]);
        for (int i = 0; i < NI; i++) {
            mpq_set_d(t, m->w1[j * NI + i]);
            mpq_set_d(u, x[i]);
            mpq_mul(t, t, u);
            mpq_add(h[j], h[j], t);
        }
        op_q(m, k, h[j], t);
    }
    for (int o = 0; o < NO; o++) {
        mpq_set_d(y[o], m->b2[o]);
        for (int j = 0; j < NH; j++) {
            mpq_set_d(t, m->w2[o * NH + j]);
            mpq_mul(t, t, h[j]);
            mpq_add(y[o], y[o], t);
        }
    }
    for (int j = 0; j < NH; j++)
        mpq_clear(h[j]);
    mpq_clears(t, u, NULL);
}

static void fill(tu_rng *r, mlp *m)
{
    rndf_fill(r, m->w1, NH * NI);
    rndf_fill(r, m->b1, NH);
    rndf_fill(r, m->w2, NO * NH);
    rndf_fill(r, m->b2, NO);
    m->a = 0.1f + 0.3f * (float)tu_unif(r);       /* not a power of 2: a float32's value */
    m->lo = -0.3f * (float)tu_unif(r);
    m->hi = 0.2f + 0.5f * (float)tu_unif(r);
}

static void check_kind(tu_rng *r, kind k)
{
    mlp m;
    fill(r, &m);
    mb *b = build(&m, k, NULL);
    net *n = mb_load_ok(b);
    net_info in;
    net_get_info(n, &in);
    assert_true(in.fold_exact);                  /* the lowering rounds nothing */
    assert_false(net_has_enclosure(n));
    assert_false(net_softmax_output(n));
    cn_err err;
    mpq_t y[NO], ref[NO];
    for (int o = 0; o < NO; o++)
        mpq_inits(y[o], ref[o], NULL);
    for (int t = 0; t < 40; t++) {
        double x[NI], yd[NO];
        for (int i = 0; i < NI; i++)
            x[i] = 2.0 * rndf(r);
        assert_int_equal(net_eval_exact_d(n, x, y, &err), CN_OK);
        ref_q(&m, k, x, ref);
        assert_int_equal(net_forward(n, 1, x, yd, &err), CN_OK);
        for (int o = 0; o < NO; o++) {
            if (!mpq_equal(y[o], ref[o]))
                fail_msg("kind %d point %d output %d: lowered %.17g, direct %.17g", (int)k, t,
                         o, mpq_get_d(y[o]), mpq_get_d(ref[o]));
            assert_double_near(yd[o], mpq_get_d(ref[o]), 1e-12);
        }
    }
    for (int o = 0; o < NO; o++)
        mpq_clears(y[o], ref[o], NULL);
    net_free(n);
    free(b);
}

static void test_leaky_clip_exact(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("leaky_clip_exact", 25)};
    for (int rep = 0; rep < 3; rep++)
        for (kind k = K_LEAKY; k <= K_CLIP_ATTR; k++)
            check_kind(&r, k);
}

/* BatchNormalization at the input and after a ReLU, each before a Conv with
 * zero padding (the shift cannot fold into it): BN -> Conv(pad 1) -> Relu ->
 * BN -> Conv(pad 1) -> Flatten, against a direct evaluation in double. */
static void test_bn_anywhere(void **state)
{
    (void)state;
    enum { C = 2, H = 4, W = 4, K = 3 };
    tu_rng r = {tu_seed("bn_anywhere", 26)};
    float cw1[C * C * K * K], cw2[C * C * K * K], cb[C], g[2][C], be[2][C], mu[2][C], var[2][C];
    rndf_fill(&r, cw1, C * C * K * K);
    rndf_fill(&r, cw2, C * C * K * K);
    rndf_fill(&r, cb, C);
    for (int k = 0; k < 2; k++)
        for (int c = 0; c < C; c++) {
            g[k][c] = rndf(&r);
            be[k][c] = rndf(&r);
            mu[k][c] = rndf(&r);
            var[k][c] = (float)(0.5 + tu_unif(&r));
        }
    int64_t din[4] = {1, C, H, W}, dout[2] = {1, C * H * W}, dcw[4] = {C, C, K, K}, dc[1] = {C};
    mb *b = mb_new(din, 4, dout, 2);
    mb_inits(b, 11, (const mb_tensor[]){{"cw1", dcw, 4, cw1}, {"cw2", dcw, 4, cw2}, {"cb", dc, 1, cb},
                                        {"g0", dc, 1, g[0]}, {"be0", dc, 1, be[0]},
                                        {"mu0", dc, 1, mu[0]}, {"var0", dc, 1, var[0]},
                                        {"g1", dc, 1, g[1]}, {"be1", dc, 1, be[1]},
                                        {"mu1", dc, 1, mu[1]}, {"var1", dc, 1, var[1]}});
    int64_t pads[4] = {1, 1, 1, 1};
    mb_node(b, "BatchNormalization", "bn0", "n0", "x", "g0", "be0", "mu0", "var0", NULL);
    int c1 = mb_node(b, "Conv", "conv1", "c1", "n0", "cw1", "cb", NULL);
    mb_attr_ints(b, c1, "pads", 4, pads);
    mb_node(b, "Relu", "relu", "r", "c1", NULL);
    mb_node(b, "BatchNormalization", "bn1", "n1", "r", "g1", "be1", "mu1", "var1", NULL);
    int c2 = mb_node(b, "Conv", "conv2", "c2", "n1", "cw2", "cb", NULL);
    mb_attr_ints(b, c2, "pads", 4, pads);
    mb_node(b, "Flatten", "flat", "y", "c2", NULL);
    net *n = mb_load_ok(b);
    assert_int_equal(net_n_layers(n), 5);            /* 1x1, conv, relu, 1x1, conv */
    assert_int_equal(net_layer_at(n, 0)->kh, 1);
    assert_int_equal(net_layer_at(n, 3)->kh, 1);
    assert_true(net_has_enclosure(n));               /* 1/sqrt(var + eps) */
    cn_err err;
    double x[C * H * W], a[C * H * W], z[C * H * W], y[C * H * W];
    for (int t = 0; t < 10; t++) {
        for (int i = 0; i < C * H * W; i++)
            x[i] = rndf(&r);
        const float *cw = cw1;
        memcpy(a, x, sizeof a);
        for (int k = 0; k < 2; k++) {
            for (int c = 0; c < C; c++)
                for (int i = 0; i < H * W; i++) {
                    double v = a[c * H * W + i];
                    a[c * H * W + i] =
                        g[k][c] * (v - mu[k][c]) / sqrt((double)var[k][c] + (double)1e-5f) + be[k][c];
                }
            for (int co = 0; co < C; co++)
                for (int oy = 0; oy < H; oy++)
                    for (int ox = 0; ox < W; ox++) {
                        double s = cb[co];
                        for (int ci = 0; ci < C; ci++)
                            for (int ky = 0; ky < K; ky++)
                                for (int kx = 0; kx < K; kx++) {
                                    int iy = oy + ky - 1, ix = ox + kx - 1;
                                    if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                                        s += cw[((co * C + ci) * K + ky) * K + kx] *
                                             a[(ci * H + iy) * W + ix];
                                }
                        z[(co * H + oy) * W + ox] = k == 0 && s < 0 ? 0 : s;
                    }
            memcpy(a, z, sizeof a);
            cw = cw2;
        }
        assert_int_equal(net_forward(n, 1, x, y, &err), CN_OK);
        for (int i = 0; i < C * H * W; i++)
            assert_double_near(y[i], a[i], 1e-9);
    }
    net_free(n);
    free(b);
}

/* A final Softmax: the net computes the logits and is marked; pairwise
 * properties are accepted, any other is refused by name. */
static void test_softmax(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("softmax", 27)};
    mlp m;
    fill(&r, &m);
    mb *b = build(&m, K_LEAKY, "1");
    net *n = mb_load_ok(b);
    assert_true(net_softmax_output(n));
    assert_int_equal(net_out_size(n), NO);
    static const char head[] = "(declare-const X_0 Real)(declare-const X_1 Real)"
                               "(declare-const X_2 Real)(declare-const X_3 Real)"
                               "(declare-const Y_0 Real)(declare-const Y_1 Real)"
                               "(declare-const Y_2 Real)"
                               "(assert (<= X_0 1))(assert (>= X_0 0))(assert (<= X_1 1))"
                               "(assert (>= X_1 0))(assert (<= X_2 1))(assert (>= X_2 0))"
                               "(assert (<= X_3 1))(assert (>= X_3 0))";
    static const struct {
        const char *tail;
        bool ok;
    } cases[] = {
        {"(assert (or (and (>= Y_1 Y_0)) (and (<= Y_2 Y_0))))", true},
        {"(assert (>= (* 2 Y_1) (* 2 Y_0)))", true},
        {"(assert (>= Y_1 0.5))", false},
        {"(assert (>= Y_1 (+ Y_0 0.1)))", false},
        {"(assert (>= Y_1 (* 2 Y_0)))", false},
        {"(assert (>= Y_1 (+ Y_0 Y_2)))", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[1024];
        snprintf(text, sizeof text, "%s%s", head, cases[i].tail);
        prop *p = NULL;
        cn_err err;
        assert_int_equal(prop_parse_vnnlib_mem(text, strlen(text), "sm.vnnlib", 0, &p, &err), CN_OK);
        cn_status s = prop_softmax_ok(p, n, &err);
        if (cases[i].ok) {
            assert_int_equal(s, CN_OK);
        } else {
            assert_int_equal(s, CN_EUNSUPPORTED);
            assert_contains(err.msg, "sm.vnnlib: the network ends in Softmax");
            mpq_t x[NI];
            for (int k = 0; k < NI; k++)
                mpq_init(x[k]);
            prop_check res;
            prop_check_init(&res);
            assert_int_equal(prop_check_point(p, n, x, &res, &err), CN_EUNSUPPORTED);
            prop_check_clear(&res);
            for (int k = 0; k < NI; k++)
                mpq_clear(x[k]);
        }
        prop_free(p);
    }
    cn_err err;
    assert_int_equal(net_save_onnx(n, "/nonexistent/sm.onnx", &err), CN_EUNSUPPORTED);
    net_free(n);
    free(b);
}

/* Refusals name the node and what was expected. */
static void test_act_refusals(void **state)
{
    (void)state;
    mlp m;
    memset(&m, 0, sizeof m);
    m.lo = 1.0f;
    m.hi = -1.0f;
    static const struct {
        const char *what, *msg;
    } cases[] = {
        {"min_above_max", "node 'act' (Clip): min 1 is greater than max -1"},
        {"both", "node 'act' (Clip): a bound is given both as attribute and as input"},
        {"leaky_attr", "node 'act' (LeakyRelu): unsupported attribute 'beta'"},
        {"after_softmax", "node 'late' (Relu): follows a Softmax"},
        {"softmax_axis", "node 'sm' (Softmax): Softmax must act on all the outputs"},
        {"prelu", "node 'act' (PRelu): unsupported activation"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *w = cases[i].what;
        int64_t din[2] = {1, NI}, dout[2] = {1, NO}, d1[2] = {NH, NI}, db1[1] = {NH},
                d2[2] = {NO, NH}, db2[1] = {NO}, ds[1] = {1};
        mb *b = mb_new(din, 2, dout, 2);
        mb_inits(b, 6, (const mb_tensor[]){{"w1", d1, 2, m.w1}, {"b1", db1, 1, m.b1},
                                           {"w2", d2, 2, m.w2}, {"b2", db2, 1, m.b2},
                                           {"lo", ds, 0, &m.lo}, {"hi", ds, 0, &m.hi}});
        int g = mb_node(b, "Gemm", "fc1", "h", "x", "w1", "b1", NULL);
        mb_attr_i(b, g, "transB", 1);
        int a;
        if (!strcmp(w, "min_above_max")) {
            mb_node(b, "Clip", "act", "r", "h", "lo", "hi", NULL);
        } else if (!strcmp(w, "both")) {
            a = mb_node(b, "Clip", "act", "r", "h", "lo", NULL);
            mb_attr_f(b, a, "min", 0.0f);
        } else if (!strcmp(w, "leaky_attr")) {
            a = mb_node(b, "LeakyRelu", "act", "r", "h", NULL);
            mb_attr_f(b, a, "beta", 0.5f);
        } else if (!strcmp(w, "prelu")) {
            mb_node(b, "PRelu", "act", "r", "h", "lo", NULL);
        } else {
            mb_node(b, "Relu", "act", "r", "h", NULL);
        }
        const char *last = "y";
        if (!strcmp(w, "after_softmax") || !strcmp(w, "softmax_axis"))
            last = "z";
        g = mb_node(b, "Gemm", "fc2", last, "r", "w2", "b2", NULL);
        mb_attr_i(b, g, "transB", 1);
        if (!strcmp(w, "after_softmax")) {
            mb_node(b, "Softmax", "sm", "s", "z", NULL);
            mb_node(b, "Relu", "late", "y", "s", NULL);
        }
        if (!strcmp(w, "softmax_axis")) {
            a = mb_node(b, "Softmax", "sm", "y", "z", NULL);
            mb_attr_i(b, a, "axis", 0);
        }
        net *n = NULL;
        cn_err err;
        long live = cn_alloc_live();
        cn_status s = mb_load(b, &n, &err);
        if (s == CN_OK)
            fail_msg("%s: loaded", w);
        assert_null(n);
        assert_int_equal(cn_alloc_live(), live);
        assert_contains(err.msg, "hand.onnx: ");
        assert_contains(err.msg, cases[i].msg);
        free(b);
    }
}

int test_onnx_act_group(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leaky_clip_exact),
        cmocka_unit_test(test_bn_anywhere),
        cmocka_unit_test(test_softmax),
        cmocka_unit_test(test_act_refusals),
    };
    return cmocka_run_group_tests_name("onnx_act", tests, NULL, NULL);
}

/* test_residual.c — residual blocks (models/onnx_residual.c): the lowered
 * chain must be the graph's function exactly.
 *
 *   - hand-made residual ONNX models (identity and strided 1x1-conv
 *     shortcuts, nodes out of order, Add operands either way) evaluated in
 *     exact rationals two ways: the graph directly, node by node (a reference
 *     evaluator written here), and the lowered network (net_eval_exact); the
 *     two must be equal, not just close;
 *   - the shared cifar10_resnet networks: a double reference evaluator of the
 *     ONNX graph (any node order) against net_forward and net_eval_exact on
 *     random inputs, within a tolerance;
 *   - a block whose input is not a Relu output, and a join that is no
 *     residual block, go to the general route (the first with pairs);
 *   - bounds of random small residual networks (convolutions bounded as
 *     convolutions) against exact values at sampled points, and against
 *     the bounds of the same network unrolled into dense layers;
 *   - engine against exact MILP on random small residual networks, every
 *     unsat proof re-checked by the certificate checker.
 * CN_SEED replays; CN_RES_N sets the number of engine instances (default 60).
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/bnd_check.h"
#include "tests/engfix.h"
#include "tests/exact.h"
#include "tests/onnx_mb.h"

/* ------------------------------------------------------------------------ */
/* Hand-made residual models                                                 */
/* ------------------------------------------------------------------------ */

enum { C0 = 2, HIN = 5 };

typedef struct {
    bool conv_sc;                  /* 1x1 strided Conv shortcut (else identity) */
    bool swap;                     /* Add(shortcut, main) instead of Add(main, shortcut) */
    bool shuffle;                  /* shortcut Conv listed last, nodes out of order */
    int cin, c1, hin;              /* x: [1,cin,hin,hin]; block input has c1 channels */
    int nout;
    float w0[4 * 4 * 9], b0[4];    /* Conv0 cin -> c1, 3x3 p1 s1 */
    float w1[4 * 4 * 9], b1[4];    /* block Conv1 c1 -> c2, 3x3 p1 s(stride) */
    float w2[4 * 4 * 9], b2[4];    /* block Conv2 c2 -> c2, 3x3 p1 s1 */
    float ws[4 * 4], bs[4];        /* shortcut c1 -> c2, 1x1 s(stride) */
    float wg[3 * 4 * 25], bg[3];   /* Gemm [nout, c2*h*h], transB */
    int c2, stride, hb;            /* block output channels, stride, map side */
} resmodel;

static void draw(resmodel *m, tu_rng *r, bool conv_sc, int cin, int hin, float scale)
{
    memset(m, 0, sizeof *m);
    m->conv_sc = conv_sc;
    m->swap = tu_next(r) % 2;
    m->shuffle = tu_next(r) % 2;
    m->cin = cin;
    m->hin = hin;
    m->c1 = 2 + (int)(tu_next(r) % 2);
    m->c2 = conv_sc ? 2 + (int)(tu_next(r) % 3) : m->c1;
    m->stride = conv_sc ? 1 + (int)(tu_next(r) % 2) : 1;
    m->hb = (hin - 1) / m->stride + 1;
    m->nout = 3;
    float *all[] = {m->w0, m->b0, m->w1, m->b1, m->w2, m->b2, m->ws, m->bs, m->wg, m->bg};
    int len[] = {m->c1 * cin * 9, m->c1, m->c2 * m->c1 * 9, m->c2, m->c2 * m->c2 * 9, m->c2,
                 m->c2 * m->c1, m->c2, m->nout * m->c2 * m->hb * m->hb, m->nout};
    for (int i = 0; i < 10; i++) {
        rndf_fill(r, all[i], len[i]);
        for (int k = 0; k < len[i]; k++)
            all[i][k] *= scale;
    }
}

static void conv_attrs(mb *b, int nd, int k, int s, int p)
{
    mb_attr_ints(b, nd, "kernel_shape", 2, (int64_t[]){k, k});
    mb_attr_ints(b, nd, "strides", 2, (int64_t[]){s, s});
    mb_attr_ints(b, nd, "pads", 4, (int64_t[]){p, p, p, p});
}

typedef struct {
    int64_t din[4], dout[2];
    int64_t d0[4], db0[1], d1[4], db1[1], d2[4], db2[1], ds[4], dbs[1], dg[2], dbg[1];
} mdims;

static mb *build(resmodel *m, mdims *d)
{
    *d = (mdims){{1, m->cin, m->hin, m->hin}, {1, m->nout},
                 {m->c1, m->cin, 3, 3}, {m->c1}, {m->c2, m->c1, 3, 3}, {m->c2},
                 {m->c2, m->c2, 3, 3}, {m->c2}, {m->c2, m->c1, 1, 1}, {m->c2},
                 {m->nout, m->c2 * m->hb * m->hb}, {m->nout}};
    mb *b = mb_new(d->din, 4, d->dout, 2);
    mb_tensor t[] = {{"W0", d->d0, 4, m->w0}, {"B0", d->db0, 1, m->b0}, {"W1", d->d1, 4, m->w1},
                     {"B1", d->db1, 1, m->b1}, {"W2", d->d2, 4, m->w2}, {"B2", d->db2, 1, m->b2},
                     {"WS", d->ds, 4, m->ws}, {"BS", d->dbs, 1, m->bs}, {"WG", d->dg, 2, m->wg},
                     {"BG", d->dbg, 1, m->bg}};
    mb_inits(b, m->conv_sc ? 10 : 8, m->conv_sc ? t : (mb_tensor[]){t[0], t[1], t[2], t[3], t[4],
                                                                   t[5], t[8], t[9]});
    conv_attrs(b, mb_node(b, "Conv", "conv0", "t0", "x", "W0", "B0", NULL), 3, 1, 1);
    mb_node(b, "Relu", "relu0", "u", "t0", NULL);
    const char *skip = m->conv_sc ? "s" : "u";
    if (m->conv_sc && !m->shuffle)
        conv_attrs(b, mb_node(b, "Conv", "short", "s", "u", "WS", "BS", NULL), 1, m->stride, 0);
    conv_attrs(b, mb_node(b, "Conv", "conv1", "t1", "u", "W1", "B1", NULL), 3, m->stride, 1);
    mb_node(b, "Relu", "relu1", "t2", "t1", NULL);
    conv_attrs(b, mb_node(b, "Conv", "conv2", "t3", "t2", "W2", "B2", NULL), 3, 1, 1);
    if (m->conv_sc && m->shuffle)
        conv_attrs(b, mb_node(b, "Conv", "short", "s", "u", "WS", "BS", NULL), 1, m->stride, 0);
    mb_node(b, "Add", "add", "t5", m->swap ? skip : "t3", m->swap ? "t3" : skip, NULL);
    mb_node(b, "Relu", "relu2", "t6", "t5", NULL);
    mb_node(b, "Flatten", "flat", "t7", "t6", NULL);
    int g = mb_node(b, "Gemm", "fc", "y", "t7", "WG", "BG", NULL);
    mb_attr_i(b, g, "transB", 1);
    return b;
}

/* ---- exact reference: the graph evaluated node by node in rationals ---- */

static void conv_q(const mpq_t *in, int C, int H, const float *w, const float *bias, int co,
                   int k, int s, int p, mpq_t *out, int *oh_out)
{
    int oh = (H + 2 * p - k) / s + 1;
    mpq_t t, wq;
    mpq_inits(t, wq, NULL);
    for (int o = 0; o < co; o++)
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < oh; x++) {
                mpq_t *z = &out[(o * oh + y) * oh + x];
                cn_mpq_set_d(*z, bias[o]);
                for (int c = 0; c < C; c++)
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++) {
                            int iy = y * s + ky - p, ix = x * s + kx - p;
                            if (iy < 0 || iy >= H || ix < 0 || ix >= H)
                                continue;
                            cn_mpq_set_d(wq, w[((o * C + c) * k + ky) * k + kx]);
                            mpq_mul(t, wq, in[(c * H + iy) * H + ix]);
                            mpq_add(*z, *z, t);
                        }
            }
    mpq_clears(t, wq, NULL);
    *oh_out = oh;
}

static void relu_q(mpq_t *v, int n)
{
    for (int i = 0; i < n; i++)
        if (mpq_sgn(v[i]) < 0)
            mpq_set_ui(v[i], 0, 1);
}

static mpq_t *qvec(int n)
{
    mpq_t *v = malloc((size_t)n * sizeof *v);
    assert_non_null(v);
    for (int i = 0; i < n; i++)
        mpq_init(v[i]);
    return v;
}

static void qfree(mpq_t *v, int n)
{
    for (int i = 0; i < n; i++)
        mpq_clear(v[i]);
    free(v);
}

static void ref_eval_q(const resmodel *m, mpq_t *x, mpq_t *y)
{
    enum { N = 4 * 25 };
    mpq_t *u = qvec(N), *t2 = qvec(N), *t3 = qvec(N), *s = qvec(N), *q = qvec(1);
    int h, h1, h2, hs;
    conv_q(x, m->cin, m->hin, m->w0, m->b0, m->c1, 3, 1, 1, u, &h);
    relu_q(u, m->c1 * h * h);
    conv_q(u, m->c1, h, m->w1, m->b1, m->c2, 3, m->stride, 1, t2, &h1);
    relu_q(t2, m->c2 * h1 * h1);
    conv_q(t2, m->c2, h1, m->w2, m->b2, m->c2, 3, 1, 1, t3, &h2);
    if (m->conv_sc) {
        conv_q(u, m->c1, h, m->ws, m->bs, m->c2, 1, m->stride, 0, s, &hs);
        assert_int_equal(hs, h2);
    } else {
        for (int i = 0; i < m->c2 * h2 * h2; i++)
            mpq_set(s[i], u[i]);
    }
    int n = m->c2 * h2 * h2;
    for (int i = 0; i < n; i++)
        mpq_add(t3[i], m->swap ? s[i] : t3[i], m->swap ? t3[i] : s[i]);
    relu_q(t3, n);
    for (int o = 0; o < m->nout; o++) {
        cn_mpq_set_d(y[o], m->bg[o]);
        for (int i = 0; i < n; i++) {
            cn_mpq_set_d(q[0], m->wg[o * n + i]);
            mpq_mul(q[0], q[0], t3[i]);
            mpq_add(y[o], y[o], q[0]);
        }
    }
    qfree(u, N), qfree(t2, N), qfree(t3, N), qfree(s, N), qfree(q, 1);
}

/* The lowered chain equals the graph exactly at random inputs. */
static void test_hand_exact(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("residual_hand_exact", 25)};
    for (int t = 0; t < 40; t++) {
        resmodel m;
        draw(&m, &r, t % 2, 1 + (int)(tu_next(&r) % 2), 4 + (int)(tu_next(&r) % 2), 1.0f);
        mdims d;
        mb *b = build(&m, &d);
        net *n = mb_load_ok(b);
        int nin = m.cin * m.hin * m.hin;
        assert_int_equal(net_in_size(n), nin);
        assert_int_equal(net_out_size(n), m.nout);
        net_info info;
        net_get_info(n, &info);
        for (int s = 0; s < 5; s++) {
            mpq_t *x = qvec(nin), *y = qvec(3), *yr = qvec(3);
            for (int i = 0; i < nin; i++)
                cn_mpq_set_d(x[i], rndf(&r));
            ref_eval_q(&m, x, yr);
            cn_err err;
            if (info.fold_exact) {
                assert_int_equal(net_eval_exact(n, x, y, &err), CN_OK);
                for (int o = 0; o < 3; o++)
                    assert_true(mpq_equal(y[o], yr[o]));
            } else {                 /* b2 + bS rounded: the enclosure holds the file's value */
                mpq_t *yh = qvec(3);
                assert_int_equal(net_eval_enclose(n, x, y, yh, &err), CN_OK);
                for (int o = 0; o < 3; o++)
                    assert_true(mpq_cmp(y[o], yr[o]) <= 0 && mpq_cmp(yr[o], yh[o]) <= 0);
                qfree(yh, 3);
            }
            qfree(x, nin), qfree(y, 3), qfree(yr, 3);
        }
        net_free(n);
        free(b);
    }
}

/* The graph view and the loaded network do not depend on the file's node
 * order: the nodes reversed give the same graph (op, output, shape, inputs)
 * and the same outputs, bit for bit. */
static void test_node_order(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("residual_node_order", 29)};
    for (int t = 0; t < 4; t++) {
        resmodel m;
        draw(&m, &r, t % 2, 2, 5, 1.0f);
        mdims d;
        mb *b[2] = {build(&m, &d), build(&m, &d)};
        size_t nn = b[1]->g.n_node;
        for (size_t i = 0; i < nn / 2; i++) {
            Onnx__NodeProto *x = b[1]->nodes[i];
            b[1]->nodes[i] = b[1]->nodes[nn - 1 - i];
            b[1]->nodes[nn - 1 - i] = x;
        }
        net_graph *g[2];
        net *n[2];
        unsigned char *bytes[2];
        for (int k = 0; k < 2; k++) {
            size_t len;
            cn_err err;
            bytes[k] = mb_pack(b[k], &len);
            if (net_graph_load_mem(bytes[k], len, "hand.onnx", &g[k], &err) != CN_OK)
                fail_msg("%s", err.msg);
            n[k] = mb_load_ok(b[k]);
        }
        assert_int_equal(net_graph_n(g[0]), (int)nn);
        assert_int_equal(net_graph_n(g[1]), (int)nn);
        for (int i = 0; i < (int)nn; i++) {
            const net_gnode *u = net_graph_node(g[0], i), *v = net_graph_node(g[1], i);
            assert_string_equal(u->op, v->op);
            assert_string_equal(u->out, v->out);
            assert_int_equal(u->nd, v->nd);
            assert_true(u->nd >= 0);
            assert_memory_equal(u->dims, v->dims, (size_t)u->nd * sizeof *u->dims);
            assert_int_equal(u->n_in, v->n_in);
            for (int k = 0; k < u->n_in; k++)
                assert_string_equal(u->in[k], v->in[k]);
        }
        double x[50], y0[3], y1[3];
        for (int i = 0; i < net_in_size(n[0]); i++)
            x[i] = rndf(&r);
        cn_err err;
        assert_int_equal(net_forward(n[0], 1, x, y0, &err), CN_OK);
        assert_int_equal(net_forward(n[1], 1, x, y1, &err), CN_OK);
        assert_memory_equal(y0, y1, sizeof y0);
        for (int k = 0; k < 2; k++) {
            net_graph_free(g[k]);
            net_free(n[k]);
            free(bytes[k]);
            free(b[k]);
        }
    }
}

/* Joins that are not residual blocks go to the general route. */
static void test_refusals(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("residual_refusals", 26)};
    resmodel m;
    draw(&m, &r, true, 1, 4, 1.0f);
    mdims d;
    net *n = NULL;
    /* the block's input u is a Conv output (no Relu: u >= 0 unknown): the
     * residual walk refuses it; the general route (onnx_dag.c) carries it
     * across relu1 as pairs relu(u), relu(-u) next to relu1's rows, so the
     * IR has 2 |u| ReLU neurons beyond the graph's (test_dag checks such
     * crossings exactly) */
    mb *b = build(&m, &d);
    b->node[1].op_type = (char *)"Identity";
    n = mb_load_ok(b);
    assert_int_equal(net_out_size(n), m.nout);
    assert_int_equal(net_n_relus(n), 2 * m.c2 * m.hb * m.hb + 2 * m.c1 * m.hin * m.hin);
    net_free(n);
    free(b);
    /* Sub instead of Add: no residual block, but a graph the general route
     * lowers (test_dag checks such joins exactly) */
    b = build(&m, &d);
    for (size_t i = 0; i < b->g.n_node; i++)
        if (strcmp(b->node[i].name, "add") == 0)
            b->node[i].op_type = (char *)"Sub";
    n = mb_load_ok(b);
    assert_int_equal(net_out_size(n), m.nout);
    net_free(n);
    free(b);
}

/* ------------------------------------------------------------------------ */
/* The shared networks: a double reference evaluator of the ONNX graph       */
/* ------------------------------------------------------------------------ */

typedef struct {
    const char *name;
    int nd;
    int64_t d[4];
    double *v;
} rtensor;

static rtensor *rt_find(rtensor *t, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0)
            return &t[i];
    return NULL;
}

static int64_t rt_size(const rtensor *t)
{
    int64_t p = 1;
    for (int i = 0; i < t->nd; i++)
        p *= t->d[i];
    return p;
}

static void attr_ints(const Onnx__NodeProto *nd, const char *name, int64_t *v, size_t n)
{
    for (size_t i = 0; i < nd->n_attribute; i++)
        if (strcmp(nd->attribute[i]->name, name) == 0)
            for (size_t k = 0; k < n && k < nd->attribute[i]->n_ints; k++)
                v[k] = nd->attribute[i]->ints[k];
}

/* Evaluates node nd (all inputs known) into out. */
static void ref_node(const Onnx__NodeProto *nd, rtensor *const in[3], rtensor *out)
{
    const char *op = nd->op_type;
    out->name = nd->output[0];
    if (strcmp(op, "Relu") == 0 || strcmp(op, "Add") == 0 || strcmp(op, "Flatten") == 0) {
        *out = *in[0];
        out->name = nd->output[0];
        int64_t n = rt_size(in[0]);
        out->v = malloc((size_t)n * sizeof(double));
        for (int64_t i = 0; i < n; i++)
            out->v[i] = strcmp(op, "Relu") == 0 ? fmax(in[0]->v[i], 0)
                        : strcmp(op, "Add") == 0 ? in[0]->v[i] + in[1]->v[i] : in[0]->v[i];
        if (strcmp(op, "Add") == 0)
            assert_int_equal(rt_size(in[1]), n);
        if (strcmp(op, "Flatten") == 0) {
            out->nd = 2;
            out->d[0] = 1;
            out->d[1] = n;
        }
    } else if (strcmp(op, "Gemm") == 0) {
        int64_t no = in[1]->d[0], ni = in[1]->d[1];
        assert_int_equal(rt_size(in[0]), ni);
        *out = (rtensor){nd->output[0], 2, {1, no}, malloc((size_t)no * sizeof(double))};
        for (int64_t o = 0; o < no; o++) {
            double s = in[2]->v[o];
            for (int64_t i = 0; i < ni; i++)
                s += in[1]->v[o * ni + i] * in[0]->v[i];
            out->v[o] = s;
        }
    } else {
        assert_string_equal(op, "Conv");
        int64_t st[2] = {1, 1}, p[4] = {0, 0, 0, 0};
        attr_ints(nd, "strides", st, 2);
        attr_ints(nd, "pads", p, 4);
        const rtensor *x = in[0], *w = in[1];
        int64_t C = x->d[1], H = x->d[2], W = x->d[3], co = w->d[0], kh = w->d[2], kw = w->d[3];
        int64_t oh = (H + p[0] + p[2] - kh) / st[0] + 1, ow = (W + p[1] + p[3] - kw) / st[1] + 1;
        *out = (rtensor){nd->output[0], 4, {1, co, oh, ow},
                         malloc((size_t)(co * oh * ow) * sizeof(double))};
        for (int64_t o = 0; o < co; o++)
            for (int64_t y = 0; y < oh; y++)
                for (int64_t xx = 0; xx < ow; xx++) {
                    double s = in[2] ? in[2]->v[o] : 0;
                    for (int64_t c = 0; c < C; c++)
                        for (int64_t ky = 0; ky < kh; ky++)
                            for (int64_t kx = 0; kx < kw; kx++) {
                                int64_t iy = y * st[0] + ky - p[0], ix = xx * st[1] + kx - p[1];
                                if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                                    s += w->v[((o * C + c) * kh + ky) * kw + kx] *
                                         x->v[(c * H + iy) * W + ix];
                            }
                    out->v[(o * oh + y) * ow + xx] = s;
                }
    }
}

/* Evaluates the graph at x (any node order: a node runs once its inputs are
 * known); y gets the output. */
static void ref_eval_graph(const Onnx__GraphProto *g, const double *x, int nin, double *y, int nout)
{
    int cap = (int)(g->n_initializer + g->n_node + 1), nt = 0;
    rtensor *t = calloc((size_t)cap, sizeof *t);
    for (size_t i = 0; i < g->n_initializer; i++) {
        const Onnx__TensorProto *p = g->initializer[i];
        rtensor *r = &t[nt++];
        r->name = p->name;
        r->nd = (int)p->n_dims;
        for (size_t k = 0; k < p->n_dims; k++)
            r->d[k] = p->dims[k];
        int64_t n = rt_size(r);
        r->v = malloc((size_t)n * sizeof(double));
        for (int64_t k = 0; k < n; k++) {
            float f;
            if (p->has_raw_data)
                memcpy(&f, p->raw_data.data + 4 * k, 4);
            else
                f = p->float_data[k];
            r->v[k] = f;
        }
    }
    rtensor *xi = &t[nt++];
    *xi = (rtensor){g->input[0]->name, 4, {1, 3, 32, 32}, malloc((size_t)nin * sizeof(double))};
    memcpy(xi->v, x, (size_t)nin * sizeof(double));
    bool *done = calloc(g->n_node, 1);
    for (size_t left = g->n_node; left;) {
        size_t before = left;
        for (size_t i = 0; i < g->n_node; i++) {
            if (done[i])
                continue;
            rtensor *in[3] = {NULL, NULL, NULL};
            bool ready = true;
            for (size_t k = 0; k < g->node[i]->n_input && k < 3; k++)
                ready = ready && (in[k] = rt_find(t, nt, g->node[i]->input[k])) != NULL;
            if (!ready)
                continue;
            ref_node(g->node[i], in, &t[nt++]);
            done[i] = true;
            left--;
        }
        assert_true(left < before);
    }
    rtensor *o = rt_find(t, nt, g->output[0]->name);
    assert_non_null(o);
    assert_int_equal(rt_size(o), nout);
    memcpy(y, o->v, (size_t)nout * sizeof(double));
    for (int i = 0; i < nt; i++)
        free(t[i].v);
    free(t);
    free(done);
}

static void test_cifar_resnets(void **state)
{
    (void)state;
    static const char *const nets[] = {"benchmarks/cifar10_resnet/onnx/resnet_2b.onnx",
                                       "benchmarks/cifar10_resnet/onnx/resnet_4b.onnx"};
    tu_rng r = {tu_seed("residual_cifar", 27)};
    for (int k = 0; k < 2; k++) {
        const char *path = tu_shared(nets[k]);
        FILE *probe = fopen(path, "rb");
        if (probe)
            fclose(probe);
        else {
            printf("# %s: shared benchmarks not found, skipped\n", nets[k]);
            continue;
        }
        cn_err err;
        net *n = NULL;
        if (net_load(path, &n, &err) != CN_OK)
            fail_msg("%s", err.msg);
        unsigned char *data;
        size_t len;
        assert_int_equal(cn_read_file(path, &data, &len, &err), CN_OK);
        Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, data);
        assert_non_null(m);
        int nin = net_in_size(n), nout = net_out_size(n);
        assert_int_equal(nin, 3072);
        assert_int_equal(nout, 10);
        double *x = malloc(3072 * sizeof *x), yr[10], yf[10], worst = 0;
        for (int s = 0; s < 3; s++) {
            for (int i = 0; i < nin; i++)
                x[i] = 4 * tu_unif(&r) - 2;           /* normalised pixels */
            ref_eval_graph(m->graph, x, nin, yr, nout);
            assert_int_equal(net_forward(n, 1, x, yf, &err), CN_OK);
            mpq_t *yq = qvec(nout);
            if (s == 0)
                assert_int_equal(net_eval_exact_d(n, x, yq, &err), CN_OK);
            for (int o = 0; o < nout; o++) {
                double tol = 1e-9 * (1 + fabs(yr[o]));
                double e = fabs(yf[o] - yr[o]);
                worst = fmax(worst, e);
                if (e > tol)
                    fail_msg("%s output %d: lowered %.17g, graph %.17g", nets[k], o, yf[o], yr[o]);
                if (s == 0 && fabs(mpq_get_d(yq[o]) - yr[o]) > tol)
                    fail_msg("%s output %d: exact %.17g, graph %.17g", nets[k], o,
                             mpq_get_d(yq[o]), yr[o]);
            }
            qfree(yq, nout);
        }
        printf("# %s: lowered chain vs graph, largest difference %.3g over 3 inputs\n", nets[k],
               worst);
        free(x);
        onnx__model_proto__free_unpacked(m, NULL);
        cn_free(data);
        net_free(n);
    }
}

/* ------------------------------------------------------------------------ */
/* Bounds of the lowered networks: convolutions bounded as convolutions      */
/* ------------------------------------------------------------------------ */

/* n with every convolution unrolled into a dense layer of the same values
 * (and the same enclosure): bounds/ then takes its dense path, reading W row
 * by row, where on n it forms the products as convolutions (conv.c). */
static net *dense_twin(const net *n)
{
    cn_err err;
    net *d = net_new(net_layer_at(n, 0)->in_shape);
    assert_non_null(d);
    for (int i = 0; i < net_n_layers(n); i++) {
        const net_layer *l = net_layer_at(n, i);
        if (l->op == NET_RELU) {
            assert_non_null(net_add_relu(d, &err));
            continue;
        }
        assert_true(l->op == NET_CONV || l->op == NET_DENSE);
        net_layer *t = net_add_dense(d, l->out, &err);
        assert_non_null(t);
        double *W = l->W, *b = l->b;
        if (l->op == NET_CONV)
            assert_int_equal(net_conv_dense(l, &W, &b, &err), CN_OK);
        memcpy(t->W, W, (size_t)l->out * (size_t)l->in * sizeof *W);
        memcpy(t->b, b, (size_t)l->out * sizeof *b);
        if (l->op == NET_CONV)
            cn_free(W), cn_free(b);
        t->wrel = l->wrel;
        t->wabs = l->wabs;
        if (l->brad) {
            t->brad = cn_mallocarray((size_t)l->out, sizeof *t->brad);
            assert_non_null(t->brad);
            for (int o = 0; o < l->out; o++)
                t->brad[o] = net_layer_brad(l, o);
        }
    }
    return d;
}

/* |a - b| <= tol (1 + |a|), or both the same infinity. */
static bool close_to(double a, double b, double tol)
{
    if (isinf(a) || isinf(b))
        return a == b;
    return fabs(a - b) <= tol * (1.0 + fabs(a));
}

/* On random residual networks, for DeepPoly (every neuron's rows), CROWN and
 * alpha: the bounds of the lowered network (convolutions as convolutions:
 * taps for few rows, im2col / col2im around BLAS for many; 36 query rows and
 * DeepPoly's 2 rows per neuron take the BLAS route) hold for the exact
 * rational network at the box's vertices and random points (every layer
 * bound and every query row, in mpq), and agree with the bounds of the same
 * network unrolled into dense layers within rounding (1e-9 relative). */
static void test_conv_bounds(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("residual_conv_bounds", 31)};
    const bnd_method ms[3] = {BND_DEEPPOLY, BND_CROWN, BND_ALPHA};
    int checked = 0, compared = 0;
    for (int t = 0; t < 10; t++) {
        resmodel m;
        /* 50 inputs: too many for the reduced coordinates (bounds/reduced.c),
         * so bounds/ keeps no dense matrix of the convolutions */
        draw(&m, &r, t % 2, 2, 5, 1.0f);
        mdims dm;
        mb *b = build(&m, &dm);
        net *n = mb_load_ok(b), *dn = dense_twin(n);
        int nin = net_in_size(n), no = net_out_size(n), nl = net_n_layers(n);
        double lo[50], hi[50], x[50];
        double rad = pow(10.0, -2.0 + 1.5 * tu_unif(&r));
        for (int k = 0; k < nin; k++) {
            double c = rndf(&r);
            lo[k] = c - rad * tu_unif(&r);
            hi[k] = c + rad * tu_unif(&r);
        }
        double C[36 * 3] = {0}, d[36] = {0};
        int q = margin_rows(&r, no, 30, 2, C, d);
        assert_int_equal(q, 36);
        cn_err err;
        bnd_ctx *c = bnd_ctx_new(n, &err), *cd = bnd_ctx_new(dn, &err);
        assert_non_null(c);
        assert_non_null(cd);
        trace tr;
        trace_init(&tr, n);
        snapshot s[3];
        bnd_region rg = {lo, hi, NULL, NULL, NULL, NULL, NULL};
        for (int k = 0; k < 3; k++) {
            bnd_opts o;
            bnd_opts_init(&o, ms[k]);
            o.alpha_iters = 5;
            double lbd[36];
            s[k].m = q;
            s[k].C = C;
            s[k].d = d;
            s[k].lb = calloc((size_t)q, sizeof(double));
            assert_int_equal(bnd_run(c, &o, &rg, q, C, d, s[k].lb, NULL, &err), CN_OK);
            snap_take(c, n, &s[k], &tr);
            assert_int_equal(bnd_run(cd, &o, &rg, q, C, d, lbd, NULL, &err), CN_OK);
            for (int row = 0; row < q; row++)
                if (!close_to(s[k].lb[row], lbd[row], 1e-9))
                    fail_msg("net %d, %s, row %d: %.17g as convolutions, %.17g dense", t,
                             bnd_method_name(ms[k]), row, s[k].lb[row], lbd[row]);
            for (int i = 1; i <= nl; i++) {
                const double *a, *bh, *e, *f;
                bnd_layer_bounds(c, i, &a, &bh);
                bnd_layer_bounds(cd, i, &e, &f);
                for (int j = 0; j < tr.w[i]; j++)
                    if (!close_to(a[j], e[j], 1e-9) || !close_to(bh[j], f[j], 1e-9))
                        fail_msg("net %d, %s, z_%d[%d]: [%.17g, %.17g] as convolutions, "
                                 "[%.17g, %.17g] dense", t, bnd_method_name(ms[k]), i, j, a[j],
                                 bh[j], e[j], f[j]);
            }
            compared++;
        }
        int nv = box_vertices(nin, 6);
        for (int p = 0; p < nv + 40; p++) {
            if (!box_point(&r, p, nin, 6, lo, hi, NULL, x))
                continue;
            eval_trace(n, x, &tr);
            for (int k = 0; k < 3; k++)
                if (!check_point(n, &tr, &s[k], bnd_method_name(ms[k])))
                    fail_msg("net %d: bound violated (%s, point %d)", t, bnd_method_name(ms[k]),
                             p);
            checked++;
        }
        for (int k = 0; k < 3; k++)
            snap_free(&s[k], tr.nl);
        trace_clear(&tr);
        bnd_ctx_free(c);
        bnd_ctx_free(cd);
        net_free(dn);
        net_free(n);
        free(b);
    }
    printf("# %d residual networks x 3 methods agree with their dense unrolling; %d points "
           "checked exactly\n", compared / 3, checked);
    assert_int_equal(compared, 30);
    assert_true(checked >= 10 * 40);
}

/* ------------------------------------------------------------------------ */
/* Engine against the exact MILP on small residual networks                  */
/* ------------------------------------------------------------------------ */

static void test_engine_vs_milp(void **state)
{
    (void)state;
    const char *e = getenv("CN_RES_N");
    int count = e && *e ? atoi(e) : 60, n_sat = 0, n_unsat = 0, ties = 0;
    tu_rng r = {tu_seed("residual_engine_milp", 28)};
    for (int t = 0; t < count; t++) {
        resmodel m;
        draw(&m, &r, t % 2, 1, 2, 0.8f);
        m.nout = 3;
        mdims d;
        mb *b = build(&m, &d);
        net *n = mb_load_ok(b);
        assert_true(net_n_layers(n) <= ENG_MAX_LAYERS);
        int v = engine_vs_milp_box(n, &r, t, "residual");
        if (v < 0)
            ties++;
        else if (v)
            n_sat++;
        else
            n_unsat++;
        net_free(n);
        free(b);
    }
    printf("# %d residual instances: %d sat, %d unsat agree with the MILP (%d ties skipped); "
           "every unsat proof accepted by the checker\n", count, n_sat, n_unsat, ties);
    if (count >= 20)
        assert_true(n_sat > 0 && n_unsat > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_exact),
        cmocka_unit_test(test_node_order),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_cifar_resnets),
        cmocka_unit_test(test_conv_bounds),
        cmocka_unit_test(test_engine_vs_milp),
    };
    return run_filtered_group("residual", tests, sizeof tests / sizeof *tests);
}

/* test_dag.c — ONNX graphs that are not chains (models/onnx_dag.c): Concat,
 * Transpose, Slice, Pad, Add and Sub of computed tensors, branches of
 * different depths, lowered to the chain IR.
 *
 *   - random small graphs of twelve shapes (branches of different depths
 *     joined by Concat; residual Add and Sub of computed tensors, MatMul and
 *     a Div; Reshape, Transpose and Slices with positive and negative steps,
 *     as inputs and as attributes; an inception-like block with a Pad and a
 *     negative scale; strided convolution branches joined by Concat over
 *     channels; a chain prefix (scale, Gemm, Relu) before the branches; a
 *     MaxPool after a join, where no other branch is live, then a residual
 *     Add; two with AveragePool 2x2 stride 2 inside a live branch, beside a
 *     strided Conv branch, over a Relu output and over a Conv output that
 *     may be negative (crossing the other branch's ReLU layer as pairs),
 *     the latter with a GlobalAveragePool branch too; every Concat feeds a
 *     Gemm; and three where a tensor that may be negative crosses a ReLU
 *     layer as a pair relu(y), relu(-y): the graph
 *     input needed after two ReLU layers, a pre-activation residual block
 *     x + W2 relu(W1 relu(x)) of a Gemm output, a Gemm output and a negated
 *     Relu output needed after another branch's Relu) are evaluated two ways
 *     in exact rationals: node by node by a reference evaluator written
 *     here, and as the lowered chain (net_eval_exact); the two must be equal;
 *   - bounds (interval, DeepPoly, CROWN, alpha) of those graphs hold for the
 *     exact values at the vertices and random points of random boxes, at
 *     every layer and for every query row;
 *   - the engine against the exact MILP on small such graphs (but the one
 *     with max pooling, which the MILP lacks, and the average pools of a
 *     Conv output, whose chain has two affine layers in a row, which the
 *     MILP encoding refuses): the verdicts agree, and every
 *     unsat proof is accepted by the certificate checker;
 *   - BatchNormalization inside live branches: pre-activation residual
 *     blocks x + f(x), f = W2 relu(BN2(W1 relu(BN1(x)))), dense (x the graph
 *     input) and convolutional (x a Conv output), with irrational scales and
 *     with exact ones (var + eps = 1/4): the chain's net_eval_enclose
 *     contains the graph's value (the reference's scale from MPFR at 320
 *     bits; within 2^-200) and is narrow, equals it with no enclosure when
 *     the scales are exact; the bounds of every method hold for the graph's
 *     value (query rows) and the nominal network (every layer); the exact
 *     dense variant against the MILP, unsat proofs re-checked;
 *   - the graphs refused before the pairs (the graph input, a Gemm output,
 *     a negated Relu output needed after a Relu) load as the layers worked
 *     out by hand and equal the graph exactly;
 *   - every allocation failing in turn: out of memory, nothing leaked (the
 *     BatchNormalization blocks too);
 *   - the refusals, each naming the node: a chain-only operator (Tanh)
 *     while another branch is live, a 3x3 AveragePool there (1/9 is not a
 *     double), a BatchNormalization there with var +
 *     eps = 0, an operator no route reads, a product of two computed
 *     tensors.
 * CN_SEED replays; CN_DAG_N sets the number of engine instances (default 40).
 * CN_DAG_WRITE=FILE writes one inception-like model there (tests/dag.sh;
 * CN_DAG_SHAPE: another shape).
 */
#include "config.h"

#include <math.h>
#include <mpfr.h>
#include <stdlib.h>
#include <string.h>

#include "tests/bnd_check.h"
#include "tests/engfix.h"
#include "tests/exact.h"
#include "tests/onnx_mb.h"

/* ------------------------------------------------------------------------ */
/* Graph specs: one description, built as ONNX and evaluated here            */
/* ------------------------------------------------------------------------ */

enum { GEMM, RELU, ADD, SUB, CONCAT, RESHAPE3, TRANSPOSE, FLATTEN, SLICE, PAD, MUL, CONV,
       TANH, MATMUL, DIV, MAXPOOL, BNORM, AVGPOOL, GAVGPOOL };
enum { MAXT = MB_NODES + 1, MAXW = 1 << 16 };

typedef struct {
    int op, nin, in[3];
    int n;                         /* GEMM, MATMUL: outputs; CONV: channels; SLICE: 1 for
                                      the attribute form (opset < 10) */
    int a, b, step;                /* RESHAPE3 dims; SLICE start, end, step; PAD p0, p1;
                                      CONV: step = stride (0: 1); AVGPOOL: a x a window,
                                      stride step */
    float c;                       /* MUL, DIV; BNORM: epsilon */
    int w, bias;                   /* offsets of the weights in the spec's pool (BNORM:
                                      w: scale, B, mean, var, C values each) */
} snode;

typedef struct {
    int nin, nout, nn;
    snode nd[MB_NODES];
    int nd_of[MAXT], dims[MAXT][4]; /* rank and dims of tensor t (0: x; k: node k-1) */
    float pool[MAXW];
    int np;
    int64_t ipool[MB_NODES][4], idims[MB_NODES][1];
    char tname[MAXT][8], nname[MB_NODES][8], iname[MB_INITS][8];
    float *own;
} spec;

static int size_of(const spec *s, int t)
{
    int n = 1;
    for (int i = 0; i < s->nd_of[t]; i++)
        n *= s->dims[t][i];
    return n;
}

static int take(spec *s, int n, tu_rng *r)
{
    int at = s->np;
    assert_true(s->np + n <= MAXW);
    for (int i = 0; i < n; i++)
        s->pool[at + i] = rndf(r);
    s->np += n;
    return at;
}

/* Appends a node; its output is tensor s->nn (after the increment). */
static int add(spec *s, tu_rng *r, snode v)
{
    int t = s->nn + 1;
    assert_true(s->nn < MB_NODES);
    int i0 = v.in[0];
    s->nd_of[t] = s->nd_of[i0];
    memcpy(s->dims[t], s->dims[i0], sizeof s->dims[t]);
    switch (v.op) {
    case GEMM:
    case MATMUL:
        v.w = take(s, v.n * size_of(s, i0), r);
        v.bias = v.op == GEMM ? take(s, v.n, r) : 0;
        s->nd_of[t] = 2;
        s->dims[t][0] = 1;
        s->dims[t][1] = v.n;
        break;
    case CONV:                     /* 3x3, pad 1, stride step on [1,C,H,W] */
        v.w = take(s, v.n * s->dims[i0][1] * 9, r);
        v.bias = take(s, v.n, r);
        if (v.step < 1)
            v.step = 1;
        s->dims[t][1] = v.n;
        s->dims[t][2] = (s->dims[i0][2] - 1) / v.step + 1;
        s->dims[t][3] = (s->dims[i0][3] - 1) / v.step + 1;
        break;
    case CONCAT:
        for (int k = 1; k < v.nin; k++)
            s->dims[t][1] += s->dims[v.in[k]][1];
        break;
    case RESHAPE3:
        s->nd_of[t] = 3;
        s->dims[t][1] = v.a;
        s->dims[t][2] = v.b;
        break;
    case TRANSPOSE:
        s->dims[t][1] = s->dims[i0][2];
        s->dims[t][2] = s->dims[i0][1];
        break;
    case FLATTEN:
        s->nd_of[t] = 2;
        s->dims[t][1] = size_of(s, i0);
        break;
    case SLICE: {
        int len = v.step > 0 ? (v.b - v.a + v.step - 1) / v.step : (v.a - v.b - v.step - 1) / -v.step;
        s->dims[t][1] = len;
        break;
    }
    case PAD:
        s->dims[t][1] += v.a + v.b;
        break;
    case AVGPOOL:                  /* a x a, stride step, floor */
        s->dims[t][2] = (s->dims[i0][2] - v.a) / v.step + 1;
        s->dims[t][3] = (s->dims[i0][3] - v.a) / v.step + 1;
        break;
    case GAVGPOOL:
        s->dims[t][2] = s->dims[t][3] = 1;
        break;
    case MAXPOOL:                  /* 2x2, stride 2, floor */
        s->dims[t][2] = s->dims[i0][2] / 2;
        s->dims[t][3] = s->dims[i0][3] / 2;
        break;
    default:
        break;
    }
    if (v.nin == 0)
        v.nin = 1;
    s->nd[s->nn++] = v;
    return t;
}

/* Inputs of a shape: conv (4) 2 x nin/2 (conv), 6: 4 x 2, 10 and 11: 2 x 2 (conv <= 4,
 * for the MILP) or 4 x 2; else the vector. */
static int nin_of(int shape, int conv, int vec)
{
    return shape == 4 ? conv : shape == 6 ? 8 : shape >= 10 ? (conv <= 4 ? 4 : 8) : vec;
}

static snode N1(int op, int in) { return (snode){.op = op, .nin = 1, .in = {in}}; }
static snode N2(int op, int a, int b) { return (snode){.op = op, .nin = 2, .in = {a, b}}; }
static snode G(int in, int n) { return (snode){.op = GEMM, .nin = 1, .in = {in}, .n = n}; }

/* The twelve shapes; w: hidden width (small), nout outputs. */
static void draw(spec *s, tu_rng *r, int shape, int nin, int w, int nout)
{
    memset(s, 0, sizeof *s);
    s->nin = nin;
    s->nout = nout;
    s->nd_of[0] = 2;
    s->dims[0][0] = 1;
    s->dims[0][1] = nin;
    int t1, t2, t3, t4, t5;
    switch (shape) {
    case 0: /* branches of depths 1 and 2 joined by Concat */
        t1 = add(s, r, N1(RELU, add(s, r, G(0, w))));
        t2 = add(s, r, N1(RELU, add(s, r, G(t1, w))));
        t3 = add(s, r, N1(RELU, add(s, r, G(add(s, r, N1(RELU, add(s, r, G(t1, w)))), w))));
        t4 = add(s, r, (snode){.op = CONCAT, .nin = 2, .in = {t3, t2}});
        add(s, r, G(t4, nout));
        break;
    case 1: /* residual Add and Sub of computed tensors */
        t1 = add(s, r, N1(RELU, add(s, r, G(0, w))));
        t2 = add(s, r, N1(RELU, add(s, r, G(t1, w))));
        t3 = add(s, r, N2(ADD, add(s, r, G(t2, w)), t1));
        t4 = add(s, r, N1(RELU, t3));
        t5 = add(s, r, (snode){.op = MATMUL, .nin = 1, .in = {t4}, .n = nout});
        t5 = add(s, r, N2(SUB, t5, add(s, r, G(t2, nout))));
        add(s, r, (snode){.op = DIV, .nin = 1, .in = {t5}, .c = 4.0f});
        break;
    case 2: { /* Reshape, Transpose, Flatten, two Slices, Concat */
        int a = 2, b = w;
        t1 = add(s, r, N1(RELU, add(s, r, G(0, a * b))));
        t2 = add(s, r, N1(FLATTEN, add(s, r, N1(TRANSPOSE, add(s, r, (snode){.op = RESHAPE3,
                                                   .nin = 1, .in = {t1}, .a = a, .b = b})))));
        t3 = add(s, r, (snode){.op = SLICE, .nin = 1, .in = {t2}, .a = 1, .b = a * b, .step = 2});
        t4 = add(s, r, (snode){.op = SLICE, .nin = 1, .in = {t2}, .a = a * b - 1, .b = 0,
                               .step = -1});
        t5 = add(s, r, (snode){.op = SLICE, .nin = 1, .in = {t2}, .a = 0, .b = b, .step = 1,
                               .n = 1});
        t5 = add(s, r, (snode){.op = CONCAT, .nin = 3, .in = {t3, t4, t5}});
        t5 = add(s, r, N1(RELU, add(s, r, G(t5, w))));
        add(s, r, G(t5, nout));
        break;
    }
    case 3: /* inception-like: three branches, one a Pad scaled by -1/2 */
        t1 = add(s, r, N1(RELU, add(s, r, G(0, w))));
        t2 = add(s, r, N1(RELU, add(s, r, G(t1, w))));
        t3 = add(s, r, N1(RELU, add(s, r, G(add(s, r, N1(RELU, add(s, r, G(t1, w)))), w))));
        t4 = add(s, r, (snode){.op = PAD, .nin = 1, .in = {t1}, .a = 1, .b = 2});
        t4 = add(s, r, (snode){.op = MUL, .nin = 1, .in = {t4}, .c = -0.5f});
        t5 = add(s, r, (snode){.op = CONCAT, .nin = 3, .in = {t2, t4, t3}});
        add(s, r, G(t5, nout));
        break;
    case 5: /* a chain prefix (a scale, Gemm, Relu) read by the chain reader, then
             * branches of depths 1 and 2 joined by Add */
        t1 = add(s, r, (snode){.op = MUL, .nin = 1, .in = {0}, .c = 2.0f});
        t1 = add(s, r, N1(RELU, add(s, r, G(t1, w))));
        t2 = add(s, r, N1(RELU, add(s, r, G(t1, w))));
        t3 = add(s, r, N1(RELU, add(s, r, G(add(s, r, N1(RELU, add(s, r, G(t1, w)))), w))));
        add(s, r, G(add(s, r, N2(ADD, t2, t3)), nout));
        break;
    case 6: { /* two Conv branches joined by Concat, then MaxPool (no other branch
               * live: read as in a chain) and a residual Add of a Conv */
        s->nd_of[0] = 4;
        s->dims[0][0] = 1;
        s->dims[0][1] = 1;
        s->dims[0][2] = 4;
        s->dims[0][3] = nin / 4;
        t1 = add(s, r, N1(RELU, add(s, r, (snode){.op = CONV, .nin = 1, .in = {0}, .n = 2})));
        t2 = add(s, r, N1(RELU, add(s, r, (snode){.op = CONV, .nin = 1, .in = {t1}, .n = 1})));
        t3 = add(s, r, N1(RELU, add(s, r, (snode){.op = CONV, .nin = 1, .in = {t1}, .n = 1})));
        /* in the order of the chain's vector, or not (then a dense layer first) */
        t4 = tu_next(r) % 2 ? add(s, r, N2(CONCAT, t2, t3)) : add(s, r, N2(CONCAT, t3, t2));
        t4 = add(s, r, (snode){.op = MAXPOOL, .nin = 1, .in = {t4}});
        t5 = add(s, r, N2(ADD, t4, add(s, r, N1(RELU, add(s, r, (snode){.op = CONV, .nin = 1,
                                                                     .in = {t4}, .n = 2})))));
        add(s, r, G(add(s, r, N1(FLATTEN, t5)), nout));
        break;
    }
    case 7: /* the graph input (may be negative) crosses two ReLU layers, then a
             * Sub, a Relu and a Gemm */
        t1 = add(s, r, N1(RELU, add(s, r, G(0, w))));
        t2 = add(s, r, N1(RELU, add(s, r, G(t1, w))));
        t3 = add(s, r, N1(RELU, add(s, r, N2(SUB, add(s, r, G(t2, nin)), 0))));
        add(s, r, G(t3, nout));
        break;
    case 8: /* a pre-activation residual block x + W2 relu(W1 relu(x)), x a Gemm
             * output (read by the chain reader), then a Relu and a Gemm */
        t1 = add(s, r, G(0, w));
        t2 = add(s, r, N1(RELU, add(s, r, G(add(s, r, N1(RELU, t1)), w))));
        t3 = add(s, r, N2(ADD, t1, add(s, r, G(t2, w))));
        add(s, r, G(add(s, r, N1(RELU, t3)), nout));
        break;
    case 9: /* a Gemm output and a negated Relu output cross a ReLU layer of
             * another branch; Sub and Concat */
        t1 = add(s, r, G(0, w));
        t2 = add(s, r, N1(RELU, t1));
        t3 = add(s, r, (snode){.op = MUL, .nin = 1, .in = {t2}, .c = -0.5f});
        t4 = add(s, r, N1(RELU, t3));
        t5 = add(s, r, N1(RELU, add(s, r, G(t2, w))));
        t5 = add(s, r, N2(SUB, t5, t1));
        add(s, r, G(add(s, r, (snode){.op = CONCAT, .nin = 3, .in = {t5, t3, t4}}), nout));
        break;
    case 10:  /* inception-like with an average pool: a Conv + Relu read as a chain,
               * then a strided Conv + Relu branch beside a 2x2 stride-2 AveragePool
               * of the Relu output (known >= 0), joined by Concat */
    case 11: { /* the same over a Conv output without Relu (may be negative, so it
                * crosses the other branch's ReLU layer as pairs), with a third
                * branch GlobalAveragePool(Relu(.)); flattened, then joined */
        s->nd_of[0] = 4;
        s->dims[0][0] = 1;
        s->dims[0][1] = 1;
        s->dims[0][2] = nin >= 8 ? 4 : 2;
        s->dims[0][3] = nin / s->dims[0][2];
        t1 = add(s, r, (snode){.op = CONV, .nin = 1, .in = {0}, .n = 2});
        if (shape == 10)
            t1 = add(s, r, N1(RELU, t1));
        t2 = add(s, r, N1(RELU, add(s, r, (snode){.op = CONV, .nin = 1, .in = {t1}, .n = 1,
                                                  .step = 2})));
        t3 = add(s, r, (snode){.op = AVGPOOL, .nin = 1, .in = {t1}, .a = 2, .step = 2});
        if (shape == 10) {
            t4 = add(s, r, N2(CONCAT, t2, t3));
            add(s, r, G(add(s, r, N1(FLATTEN, t4)), nout));
            break;
        }
        t4 = add(s, r, N1(GAVGPOOL, add(s, r, N1(RELU, t1))));
        t5 = add(s, r, (snode){.op = CONCAT, .nin = 3, .in = {add(s, r, N1(FLATTEN, t2)),
                                                            add(s, r, N1(FLATTEN, t3)),
                                                            add(s, r, N1(FLATTEN, t4))}});
        add(s, r, G(t5, nout));
        break;
    }
    case 4: { /* convolutions: a Conv read as a chain, then two strided Conv
               * branches concatenated over channels */
        s->nd_of[0] = 4;
        s->dims[0][0] = 1;
        s->dims[0][1] = 1;
        s->dims[0][2] = 2;
        s->dims[0][3] = nin / 2;
        t1 = add(s, r, N1(RELU, add(s, r, (snode){.op = CONV, .nin = 1, .in = {0}, .n = 2})));
        t2 = add(s, r, N1(RELU, add(s, r, (snode){.op = CONV, .nin = 1, .in = {t1}, .n = 1,
                                                  .step = 2})));
        t3 = add(s, r, N1(RELU, add(s, r, (snode){.op = CONV, .nin = 1, .in = {t1}, .n = 2,
                                                  .step = 2})));
        t3 = add(s, r, N2(CONCAT, t2, t3));
        add(s, r, G(add(s, r, N1(FLATTEN, t3)), nout));
        break;
    }
    }
}

/* Shape 8 written without crossing (SHAPE_NOCROSS; for the figures in
 * benchmarks/README.md and test_crossings): the same weights, but the skip
 * tensor x (a Gemm output) is computed a second time from the input, moved
 * by 64 through an identity Gemm, passed through a Relu (a value >= 0, which
 * crosses as one neuron) and moved back: relu(x + 64) - 64, which is x
 * wherever x > -64. */
enum { SHAPE_NOCROSS = 12 };
static void draw_nocross(spec *s, tu_rng *r, int nin, int w, int nout)
{
    draw(s, r, 8, nin, w, nout);
    snode last = s->nd[7];
    s->nn = 5;                                   /* t1 .. t5: x, the block's branch */
    int t6 = add(s, r, G(0, w));
    s->nd[t6 - 1].w = s->nd[0].w;
    s->nd[t6 - 1].bias = s->nd[0].bias;
    int up = add(s, r, G(t6, w)), down;
    int t8 = add(s, r, N1(RELU, up));
    down = add(s, r, G(t8, w));
    for (int k = 0; k < 2; k++) {
        const snode *v = &s->nd[(k ? down : up) - 1];
        for (int i = 0; i < w; i++) {
            for (int j = 0; j < w; j++)
                s->pool[v->w + i * w + j] = i == j;
            s->pool[v->bias + i] = k ? -64.0f : 64.0f;
        }
    }
    int t10 = add(s, r, N1(RELU, add(s, r, N2(ADD, down, 5))));
    int y = add(s, r, G(t10, nout));
    s->nd[y - 1].w = last.w;
    s->nd[y - 1].bias = last.bias;
}

/* BatchNormalization inside a pre-activation residual block, x + f(x) with
 * f = W2 relu(BN2(W1 relu(BN1(x)))): BN1 reads the skip tensor x, BN2 a
 * branch while x is live.  conv: x = Conv(input) (may be negative: it
 * crosses the ReLU layers as a pair), 3x3 Convs, then Flatten and a Gemm;
 * else x = the graph input (3 values, crossing as pairs too), Gemm
 * branches, a Relu after the Add (as in shape 8: the last Gemm's sums then
 * round into no extra layer) and a Gemm.  exact: every scale
 * and shift is a double exactly (var + eps = 1/4, the rest multiples of
 * 1/16); else random running statistics (irrational scales). */
static int bn_node(spec *s, tu_rng *r, int in, bool exact)
{
    int C = s->dims[in][1];
    snode v = N1(BNORM, in);
    v.w = take(s, 4 * C, r);
    v.c = exact ? 0.125f : 1e-5f;
    float *pr = s->pool + v.w;
    for (int c = 0; c < C; c++) {
        if (exact) {
            for (int j = 0; j < 3; j++)
                pr[j * C + c] = (float)((int)(tu_next(r) % 49) - 24) / 16.0f;
            pr[3 * C + c] = 0.125f;
        } else {
            pr[2 * C + c] *= 0.5f;                          /* mean */
            pr[3 * C + c] = 0.05f + (float)tu_unif(r);      /* var */
        }
    }
    return add(s, r, v);
}

/* test_bn's variant v: v % 2 conv, v >= 2 exact scales. */
static const char *bn_name(int v)
{
    static const char *const nm[] = {"dense, irrational BN", "conv, irrational BN",
                                     "dense, exact BN", "conv, exact BN"};
    return nm[v];
}

static void draw_bn(spec *s, tu_rng *r, bool conv, bool exact, int w, int nout)
{
    memset(s, 0, sizeof *s);
    s->nout = nout;
    int x, t;
    if (conv) {
        s->nin = 8;
        s->nd_of[0] = 4;
        s->dims[0][0] = 1;
        s->dims[0][1] = 1;
        s->dims[0][2] = 2;
        s->dims[0][3] = 4;
        x = add(s, r, (snode){.op = CONV, .nin = 1, .in = {0}, .n = 2});
        t = add(s, r, N1(RELU, bn_node(s, r, x, exact)));
        t = add(s, r, (snode){.op = CONV, .nin = 1, .in = {t}, .n = 2});
        t = add(s, r, N1(RELU, bn_node(s, r, t, exact)));
        t = add(s, r, (snode){.op = CONV, .nin = 1, .in = {t}, .n = 2});
        t = add(s, r, N1(FLATTEN, add(s, r, N2(ADD, x, t))));
    } else {
        s->nin = 3;
        s->nd_of[0] = 2;
        s->dims[0][0] = 1;
        s->dims[0][1] = 3;
        x = 0;
        t = add(s, r, N1(RELU, bn_node(s, r, x, exact)));
        t = add(s, r, N1(RELU, bn_node(s, r, add(s, r, G(t, w)), exact)));
        t = add(s, r, N1(RELU, add(s, r, N2(ADD, x, add(s, r, G(t, 3))))));
    }
    add(s, r, G(t, nout));
}

static const char *opname(int op)
{
    static const char *const n[] = {"Gemm", "Relu", "Add", "Sub", "Concat", "Reshape",
                                    "Transpose", "Flatten", "Slice", "Pad", "Mul", "Conv", "Tanh",
                                    "MatMul", "Div", "MaxPool", "BatchNormalization",
                                    "AveragePool", "GlobalAveragePool"};
    return n[op];
}

/* The spec as an ONNX model: tensor t is "t<t>" (x the input, the last "y"). */
static mb *build(spec *s)
{
    int last = s->nn;
    int64_t din[4], dout[2] = {1, s->nout};
    for (int i = 0; i < s->nd_of[0]; i++)
        din[i] = s->dims[0][i];
    mb *b = mb_new(din, s->nd_of[0], dout, 2);
    strcpy(s->tname[0], "x");
    for (int t = 1; t <= last; t++)
        snprintf(s->tname[t], sizeof s->tname[t], t == last ? "y" : "t%d", t);
    int ni = 0;
    for (int k = 0; k < s->nn; k++) {
        snode *v = &s->nd[k];
        const char *out = s->tname[k + 1], *i0 = s->tname[v->in[0]];
        snprintf(s->nname[k], sizeof s->nname[k], "n%d", k + 1);
        const char *nm = s->nname[k];
        int c;
        switch (v->op) {
        case GEMM: {
            int K = size_of(s, v->in[0]);
            int64_t dw[2] = {v->n, K}, db[1] = {v->n};
            snprintf(s->iname[ni], 8, "W%d", k);
            snprintf(s->iname[ni + 1], 8, "B%d", k);
            mb_init_f(b, s->iname[ni], dw, 2, s->pool + v->w);
            mb_init_f(b, s->iname[ni + 1], db, 1, s->pool + v->bias);
            c = mb_node(b, "Gemm", nm, out, i0, s->iname[ni], s->iname[ni + 1], NULL);
            mb_attr_i(b, c, "transB", 1);
            ni += 2;
            break;
        }
        case MATMUL: {              /* x [1,K] times W [K,N] */
            int64_t dw[2] = {size_of(s, v->in[0]), v->n};
            snprintf(s->iname[ni], 8, "W%d", k);
            mb_init_f(b, s->iname[ni], dw, 2, s->pool + v->w);
            mb_node(b, "MatMul", nm, out, i0, s->iname[ni++], NULL);
            break;
        }
        case CONV: {
            int64_t dw[4] = {v->n, s->dims[v->in[0]][1], 3, 3}, db[1] = {v->n}, p[4] = {1, 1, 1, 1};
            int64_t st[2] = {v->step, v->step};
            snprintf(s->iname[ni], 8, "W%d", k);
            snprintf(s->iname[ni + 1], 8, "B%d", k);
            mb_init_f(b, s->iname[ni], dw, 4, s->pool + v->w);
            mb_init_f(b, s->iname[ni + 1], db, 1, s->pool + v->bias);
            c = mb_node(b, "Conv", nm, out, i0, s->iname[ni], s->iname[ni + 1], NULL);
            mb_attr_ints(b, c, "pads", 4, p);
            mb_attr_ints(b, c, "strides", 2, st);
            ni += 2;
            break;
        }
        case ADD:
        case SUB:
            mb_node(b, opname(v->op), nm, out, i0, s->tname[v->in[1]], NULL);
            break;
        case CONCAT:
            c = mb_node(b, "Concat", nm, out, i0, s->tname[v->in[1]],
                        v->nin > 2 ? s->tname[v->in[2]] : NULL, NULL);
            mb_attr_i(b, c, "axis", 1);
            break;
        case RESHAPE3:
            s->ipool[k][0] = 1;
            s->ipool[k][1] = v->a;
            s->ipool[k][2] = v->b;
            s->idims[k][0] = 3;
            snprintf(s->iname[ni], 8, "S%d", k);
            mb_init_i64(b, s->iname[ni], s->idims[k], 1, s->ipool[k]);
            mb_node(b, "Reshape", nm, out, i0, s->iname[ni++], NULL);
            break;
        case TRANSPOSE: {
            int64_t perm[3] = {0, 2, 1};
            c = mb_node(b, "Transpose", nm, out, i0, NULL);
            mb_attr_ints(b, c, "perm", 3, perm);
            break;
        }
        case SLICE:                    /* starts, ends, axes, steps as int64 inputs */
            if (v->n == 1) {           /* or attributes (opset < 10: step 1 only) */
                int64_t st[1] = {v->a}, en[1] = {v->b}, ax[1] = {1};
                c = mb_node(b, "Slice", nm, out, i0, NULL);
                mb_attr_ints(b, c, "starts", 1, st);
                mb_attr_ints(b, c, "ends", 1, en);
                mb_attr_ints(b, c, "axes", 1, ax);
                break;
            }
            s->ipool[k][0] = v->a;
            s->ipool[k][1] = v->b;
            s->ipool[k][2] = 1;
            s->ipool[k][3] = v->step;
            s->idims[k][0] = 1;
            for (int j = 0; j < 4; j++) {
                snprintf(s->iname[ni + j], 8, "L%d_%d", k, j);
                mb_init_i64(b, s->iname[ni + j], s->idims[k], 1, &s->ipool[k][j]);
            }
            mb_node(b, "Slice", nm, out, i0, s->iname[ni], s->iname[ni + 1], s->iname[ni + 2],
                    s->iname[ni + 3], NULL);
            ni += 4;
            break;
        case MAXPOOL: {
            int64_t two[2] = {2, 2};
            c = mb_node(b, "MaxPool", nm, out, i0, NULL);
            mb_attr_ints(b, c, "kernel_shape", 2, two);
            mb_attr_ints(b, c, "strides", 2, two);
            break;
        }
        case AVGPOOL: {
            int64_t ks[2] = {v->a, v->a}, st[2] = {v->step, v->step};
            c = mb_node(b, "AveragePool", nm, out, i0, NULL);
            mb_attr_ints(b, c, "kernel_shape", 2, ks);
            mb_attr_ints(b, c, "strides", 2, st);
            break;
        }
        case PAD: {
            int64_t p[4] = {0, v->a, 0, v->b};
            c = mb_node(b, "Pad", nm, out, i0, NULL);
            mb_attr_ints(b, c, "pads", 4, p);
            break;
        }
        case MUL:
        case DIV: {
            int64_t d1[1] = {1};
            snprintf(s->iname[ni], 8, "C%d", k);
            mb_init_f(b, s->iname[ni], d1, 1, &v->c);
            mb_node(b, opname(v->op), nm, out, i0, s->iname[ni++], NULL);
            break;
        }
        case BNORM: {
            int64_t dc[1] = {s->dims[v->in[0]][1]};
            for (int j = 0; j < 4; j++) {
                snprintf(s->iname[ni + j], 8, "N%d_%d", k, j);
                mb_init_f(b, s->iname[ni + j], dc, 1, s->pool + v->w + j * dc[0]);
            }
            c = mb_node(b, "BatchNormalization", nm, out, i0, s->iname[ni], s->iname[ni + 1],
                        s->iname[ni + 2], s->iname[ni + 3], NULL);
            mb_attr_f(b, c, "epsilon", v->c);
            ni += 4;
            break;
        }
        default:
            mb_node(b, opname(v->op), nm, out, i0, NULL);
        }
        assert_true(ni <= MB_INITS);
    }
    return b;
}

/* Bits of the reference's BatchNormalization scale: its value is within
 * 2^-(BN_PREC-2) relative of the file's real one (test_bn's tolerance). */
enum { BN_PREC = 320 };

/* The graph evaluated node by node in exact rationals: y[nout] from x (a
 * BatchNormalization's irrational scale to BN_PREC bits). */
static void ref_eval(const spec *s, const double *x, mpq_t *y)
{
    mpq_t *v[MAXT];
    int nt = s->nn + 1;
    v[0] = qv(size_of(s, 0));
    for (int i = 0; i < size_of(s, 0); i++)
        mpq_set_d(v[0][i], x[i]);
    mpq_t p;
    mpq_init(p);
    for (int k = 0; k < s->nn; k++) {
        const snode *d = &s->nd[k];
        int t = k + 1, n = size_of(s, t), i0 = d->in[0], m0 = size_of(s, i0);
        mpq_t *o = v[t] = qv(n), *a = v[i0];
        switch (d->op) {
        case GEMM:
            for (int j = 0; j < n; j++) {
                mpq_set_d(o[j], s->pool[d->bias + j]);
                for (int q = 0; q < m0; q++) {
                    mpq_set_d(p, s->pool[d->w + j * m0 + q]);
                    mpq_mul(p, p, a[q]);
                    mpq_add(o[j], o[j], p);
                }
            }
            break;
        case MATMUL:
            for (int j = 0; j < n; j++)
                for (int q = 0; q < m0; q++) {
                    mpq_set_d(p, s->pool[d->w + q * n + j]);
                    mpq_mul(p, p, a[q]);
                    mpq_add(o[j], o[j], p);
                }
            break;
        case CONV: {
            int C = s->dims[i0][1], H = s->dims[i0][2], W = s->dims[i0][3];
            int OH = s->dims[t][2], OW = s->dims[t][3];
            for (int co = 0; co < d->n; co++)
                for (int yy = 0; yy < OH; yy++)
                    for (int xx = 0; xx < OW; xx++) {
                        mpq_t *z = &o[(co * OH + yy) * OW + xx];
                        mpq_set_d(*z, s->pool[d->bias + co]);
                        for (int ci = 0; ci < C; ci++)
                            for (int ky = 0; ky < 3; ky++)
                                for (int kx = 0; kx < 3; kx++) {
                                    int iy = yy * d->step + ky - 1, ix = xx * d->step + kx - 1;
                                    if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                                        continue;
                                    mpq_set_d(p, s->pool[d->w + ((co * C + ci) * 3 + ky) * 3 + kx]);
                                    mpq_mul(p, p, a[(ci * H + iy) * W + ix]);
                                    mpq_add(*z, *z, p);
                                }
                    }
            break;
        }
        case RELU:
            for (int j = 0; j < n; j++)
                if (mpq_sgn(a[j]) > 0)
                    mpq_set(o[j], a[j]);
            break;
        case ADD:
        case SUB:
            for (int j = 0; j < n; j++)
                (d->op == ADD ? mpq_add : mpq_sub)(o[j], a[j], v[d->in[1]][j]);
            break;
        case CONCAT: {         /* axis 1: per leading index, each input's block */
            int j = 0, inner = 1;
            for (int q = 2; q < s->nd_of[t]; q++)
                inner *= s->dims[t][q];
            for (int q = 0; q < d->nin; q++) {
                int m = size_of(s, d->in[q]);
                for (int e = 0; e < m; e++)
                    mpq_set(o[j++], v[d->in[q]][e]);
            }
            (void)inner;       /* leading dims are 1: blocks follow each other */
            break;
        }
        case RESHAPE3:
        case FLATTEN:
            for (int j = 0; j < n; j++)
                mpq_set(o[j], a[j]);
            break;
        case TRANSPOSE: {
            int A = s->dims[i0][1], B = s->dims[i0][2];
            for (int i = 0; i < A; i++)
                for (int j = 0; j < B; j++)
                    mpq_set(o[j * A + i], a[i * B + j]);
            break;
        }
        case SLICE:
            for (int j = 0; j < n; j++)
                mpq_set(o[j], a[d->a + j * d->step]);
            break;
        case PAD:
            for (int j = 0; j < m0; j++)
                mpq_set(o[d->a + j], a[j]);
            break;
        case MAXPOOL: {
            int C = s->dims[t][1], OH = s->dims[t][2], OW = s->dims[t][3];
            int H = s->dims[i0][2], W = s->dims[i0][3];
            for (int c = 0; c < C; c++)
                for (int yy = 0; yy < OH; yy++)
                    for (int xx = 0; xx < OW; xx++) {
                        mpq_t *z = &o[(c * OH + yy) * OW + xx];
                        mpq_set(*z, a[(c * H + 2 * yy) * W + 2 * xx]);
                        for (int u = 1; u < 4; u++) {
                            const mpq_t *q = &a[(c * H + 2 * yy + u / 2) * W + 2 * xx + u % 2];
                            if (mpq_cmp(*q, *z) > 0)
                                mpq_set(*z, *q);
                        }
                    }
            break;
        }
        case AVGPOOL:          /* the mean of each window */
        case GAVGPOOL: {
            int C = s->dims[t][1], OH = s->dims[t][2], OW = s->dims[t][3];
            int H = s->dims[i0][2], W = s->dims[i0][3];
            int ka = d->op == AVGPOOL ? d->a : H, kb = d->op == AVGPOOL ? d->a : W;
            int sy = d->op == AVGPOOL ? d->step : 1, sx = d->op == AVGPOOL ? d->step : 1;
            for (int c = 0; c < C; c++)
                for (int yy = 0; yy < OH; yy++)
                    for (int xx = 0; xx < OW; xx++) {
                        mpq_t *z = &o[(c * OH + yy) * OW + xx];
                        for (int u = 0; u < ka; u++)
                            for (int w = 0; w < kb; w++)
                                mpq_add(*z, *z, a[(c * H + yy * sy + u) * W + xx * sx + w]);
                        mpq_set_si(p, ka * kb, 1);
                        mpq_div(*z, *z, p);
                    }
            break;
        }
        case MUL:
        case DIV:
            mpq_set_d(p, d->c);
            for (int j = 0; j < n; j++)
                (d->op == MUL ? mpq_mul : mpq_div)(o[j], a[j], p);
            break;
        case BNORM: {          /* s* = g / sqrt(var + eps) to BN_PREC bits (exact when
                                  var + eps is a square of a short rational) */
            int C = s->dims[i0][1], sp = n / C;
            mpfr_t f, g;
            mpfr_inits2(BN_PREC, f, g, (mpfr_ptr)0);
            for (int c = 0; c < C; c++) {
                const float *pr = s->pool + d->w;
                mpfr_set_flt(f, pr[3 * C + c], MPFR_RNDN);        /* var, exactly */
                mpfr_add_d(f, f, (double)d->c, MPFR_RNDN);      /* exact at BN_PREC bits */
                mpfr_sqrt(f, f, MPFR_RNDN);
                mpfr_set_flt(g, pr[c], MPFR_RNDN);
                mpfr_div(f, g, f, MPFR_RNDN);
                mpfr_get_q(p, f);                               /* s */
                mpq_t mc, bc;
                mpq_inits(mc, bc, NULL);
                mpq_set_d(mc, pr[2 * C + c]);
                mpq_set_d(bc, pr[C + c]);
                for (int j = 0; j < sp; j++) {
                    mpq_sub(o[c * sp + j], a[c * sp + j], mc);
                    mpq_mul(o[c * sp + j], o[c * sp + j], p);
                    mpq_add(o[c * sp + j], o[c * sp + j], bc);
                }
                mpq_clears(mc, bc, NULL);
            }
            mpfr_clears(f, g, (mpfr_ptr)0);
            break;
        }
        default:
            fail_msg("no reference for op %d", d->op);
        }
    }
    for (int j = 0; j < s->nout; j++)
        mpq_set(y[j], v[s->nn][j]);
    for (int t = 0; t < nt; t++)
        qv_free(v[t], size_of(s, t));
    mpq_clear(p);
}

/* The MILP has no max pooling (not shape 6) and refuses two affine layers in a
 * row (not shape 11: the chain reader's Conv, then the flush's dense layer). */
enum { NSHAPES = 12, NSHAPES_MILP = 10 };
static const char *const shape_name[NSHAPES] = {
    "concat of depths 1 and 2", "residual add and sub", "transpose and slices", "inception-like",
    "convolution branches", "chain prefix, then branches", "max pooling after a join",
    "input crosses two ReLU layers", "pre-activation residual block",
    "negative branches cross a Relu", "average pool branch",
    "average pools of a negative tensor"};
static const int milp_shape[NSHAPES_MILP] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 10};

/* ------------------------------------------------------------------------ */
/* (a) the lowered chain is the graph's function                             */
/* ------------------------------------------------------------------------ */

static void test_exact(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("dag_exact", 25)};
    int points = 0;
    for (int t = 0; t < 50; t++) {
        spec s;
        int shape = t % NSHAPES;
        draw(&s, &r, shape, nin_of(shape, 6, 2 + t % 3), 2 + t % 3, 2 + t % 2);
        mb *b = build(&s);
        long live = cn_alloc_live();
        net *n = mb_load_ok(b);
        assert_int_equal(net_in_size(n), size_of(&s, 0));
        assert_int_equal(net_out_size(n), s.nout);
        assert_false(net_has_enclosure(n));
        if (shape == 5) {              /* the scale was folded by the chain reader */
            net_info in;
            net_get_info(n, &in);
            assert_int_equal(in.folded, 1);
            assert_int_equal(net_layer_at(n, 1)->op, NET_RELU);
        }
        int nin = net_in_size(n);
        double x[8];
        mpq_t *y = qv(s.nout), *yr = qv(s.nout);
        for (int p = 0; p < 20; p++) {
            for (int k = 0; k < nin; k++)
                x[k] = p == 0 ? 0.0 : 3 * rndf(&r);
            cn_err err;
            assert_int_equal(net_eval_exact_d(n, x, y, &err), CN_OK);
            ref_eval(&s, x, yr);
            for (int o = 0; o < s.nout; o++)
                if (!mpq_equal(y[o], yr[o]))
                    fail_msg("%s (net %d), point %d, output %d: chain %.17g, graph %.17g",
                             shape_name[shape], t, p, o, mpq_get_d(y[o]), mpq_get_d(yr[o]));
            points++;
        }
        qv_free(y, s.nout);
        qv_free(yr, s.nout);
        net_free(n);
        assert_int_equal(cn_alloc_live(), live);     /* the loader kept nothing */
        free(b);
    }
    printf("# 50 graphs (%d shapes), %d points: the lowered chain equals the graph exactly\n",
           NSHAPES, points);
}

/* ------------------------------------------------------------------------ */
/* (b) bounds enclose the exact values                                       */
/* ------------------------------------------------------------------------ */

/* sn[k]: the bounds of method k (alpha: 5 steps) on the box lo..hi and the q
 * rows C, d (sn[k].lb allocated; snap_free), the box never infeasible. */
static void snap_methods(bnd_ctx *c, const net *n, const double *lo, const double *hi, int q,
                         double *C, double *d, snapshot *sn, const trace *tr)
{
    cn_err err;
    bnd_region rg = {lo, hi, NULL, NULL, NULL, NULL, NULL};
    for (int k = 0; k < N_METHODS; k++) {
        bnd_opts o;
        bnd_opts_init(&o, methods[k]);
        o.alpha_iters = 5;
        sn[k].m = q;
        sn[k].C = C;
        sn[k].d = d;
        sn[k].lb = calloc((size_t)q, sizeof(double));
        bnd_result res;
        assert_int_equal(bnd_run(c, &o, &rg, q, C, d, sn[k].lb, &res, &err), CN_OK);
        sn[k].infeasible = res.infeasible;    /* a box: never, but read later */
        assert_false(res.infeasible);
        snap_take(c, n, &sn[k], tr);
    }
}

static void test_bounds(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("dag_bounds", 25)};
    int checked = 0;
    for (int t = 0; t < 30; t++) {
        spec s;
        int shape = t % NSHAPES;
        draw(&s, &r, shape, nin_of(shape, 6, 3), 3, 3);
        mb *b = build(&s);
        net *n = mb_load_ok(b);
        int nin = net_in_size(n), no = net_out_size(n);
        double lo[8], hi[8], x[8], rad = pow(10.0, -1.5 + 1.5 * tu_unif(&r));
        for (int k = 0; k < nin; k++) {
            double c = rndf(&r);
            lo[k] = c - rad * tu_unif(&r);
            hi[k] = c + rad * tu_unif(&r);
        }
        double C[16 * 3] = {0}, d[16] = {0};
        int q = margin_rows(&r, no, 10, 2, C, d);
        cn_err err;
        bnd_ctx *c = bnd_ctx_new(n, &err);
        assert_non_null(c);
        trace tr;
        trace_init(&tr, n);
        snapshot sn[N_METHODS];
        snap_methods(c, n, lo, hi, q, C, d, sn, &tr);
        int nv = box_vertices(nin, 6);
        for (int p = 0; p < nv + 30; p++) {
            if (!box_point(&r, p, nin, 6, lo, hi, NULL, x))
                continue;
            eval_trace(n, x, &tr);
            for (int k = 0; k < N_METHODS; k++)
                if (!check_point(n, &tr, &sn[k], bnd_method_name(methods[k])))
                    fail_msg("%s (net %d): bound violated (%s, point %d)", shape_name[shape], t,
                             bnd_method_name(methods[k]), p);
            checked++;
        }
        assert_inside_interval(sn, &tr);
        for (int k = 0; k < N_METHODS; k++)
            snap_free(&sn[k], tr.nl);
        trace_clear(&tr);
        bnd_ctx_free(c);
        net_free(n);
        free(b);
    }
    printf("# 30 graphs x %d bound methods: %d points inside every layer bound and query row\n",
           N_METHODS, checked);
    assert_true(checked >= 30 * 30);
}

/* ------------------------------------------------------------------------ */
/* (c) the engine against the exact MILP                                     */
/* ------------------------------------------------------------------------ */

static void test_engine_vs_milp(void **state)
{
    (void)state;
    const char *e = getenv("CN_DAG_N");
    int count = e && *e ? atoi(e) : 40, n_sat = 0, n_unsat = 0, ties = 0;
    tu_rng r = {tu_seed("dag_engine_milp", 25)};
    for (int t = 0; t < count; t++) {
        spec s;
        int shape = milp_shape[t % NSHAPES_MILP];
        draw(&s, &r, shape, nin_of(shape, 4, 2), 3, 3);
        mb *b = build(&s);
        net *n = mb_load_ok(b);
        assert_true(net_n_layers(n) <= ENG_MAX_LAYERS);
        int v = engine_vs_milp_box(n, &r, t, shape_name[shape]);
        if (v < 0)
            ties++;
        else if (v)
            n_sat++;
        else
            n_unsat++;
        net_free(n);
        free(b);
    }
    printf("# %d graph instances: %d sat, %d unsat agree with the MILP (%d ties skipped); "
           "every unsat proof accepted by the checker\n", count, n_sat, n_unsat, ties);
    if (count >= 20)
        assert_true(n_sat > 0 && n_unsat > 0);
}

/* ------------------------------------------------------------------------ */
/* (d) tensors that may be negative cross a ReLU layer as pairs              */
/* ------------------------------------------------------------------------ */

/* A spec with a vector input of n values. */
static void vec_spec(spec *s, int n)
{
    memset(s, 0, sizeof *s);
    s->nin = n;
    s->nout = n;
    s->nd_of[0] = 2;
    s->dims[0][0] = 1;
    s->dims[0][1] = n;
}

/* The graph loads, as layers of the sizes want[nl] (0: a ReLU layer), and
 * equals the graph exactly at 30 random points. */
static void crosses(spec *s, tu_rng *r, const char *what, int nl, const int *want)
{
    mb *b = build(s);
    net *n = mb_load_ok(b);
    if (net_n_layers(n) != nl)
        fail_msg("%s: %d layers, expected %d", what, net_n_layers(n), nl);
    for (int i = 0; i < nl; i++) {
        const net_layer *l = net_layer_at(n, i);
        if ((want[i] == 0) != (l->op == NET_RELU) || (want[i] && l->out != want[i]))
            fail_msg("%s: layer %d is op %d of %d values, expected %d", what, i, (int)l->op,
                     l->out, want[i]);
    }
    int nin = net_in_size(n);
    double x[8];
    mpq_t *y = qv(s->nout), *yr = qv(s->nout);
    for (int p = 0; p < 30; p++) {
        for (int k = 0; k < nin; k++)
            x[k] = 3 * rndf(r);
        cn_err err;
        assert_int_equal(net_eval_exact_d(n, x, y, &err), CN_OK);
        ref_eval(s, x, yr);
        for (int o = 0; o < s->nout; o++)
            if (!mpq_equal(y[o], yr[o]))
                fail_msg("%s, point %d, output %d: chain %.17g, graph %.17g", what, p, o,
                         mpq_get_d(y[o]), mpq_get_d(yr[o]));
    }
    qv_free(y, s->nout);
    qv_free(yr, s->nout);
    net_free(n);
    free(b);
}

/* The graphs refused before pairs: each loads with the layer sizes worked
 * out by hand (rows: identity rows, then element rows, then pairs). */
static void test_crossings(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("dag_crossings", 25)};
    spec s;
    /* the graph input is needed after the first Relu: x (3 identity rows)
     * and its 3 pairs cross next to the Relu's 3 rows; then y = t1 + p - n */
    vec_spec(&s, 3);
    int t1 = add(&s, &r, N1(RELU, add(&s, &r, G(0, 3))));
    add(&s, &r, N2(ADD, t1, 0));
    crosses(&s, &r, "input crosses a Relu", 3, (const int[]){9, 0, 3});
    /* a Gemm output t1 (the chain prefix's layer) is a Relu's input and
     * needed later: 2 rows and 2 pairs (merged into the Gemm's layer: they
     * only copy and negate its rows); at the second Relu it is p - n over
     * values >= 0, which cross unchanged (4 identity rows next to 2) */
    vec_spec(&s, 2);
    t1 = add(&s, &r, G(0, 2));
    int t2 = add(&s, &r, N1(RELU, t1));
    int t3 = add(&s, &r, N1(RELU, add(&s, &r, G(t2, 2))));
    add(&s, &r, N2(SUB, t3, t1));
    crosses(&s, &r, "negative branch crosses a Relu", 5, (const int[]){4, 0, 6, 0, 2});
    /* a Relu output scaled by -1/2 (the chain prefix: Gemm, Relu, the scale
     * as a dense layer), the next Relu's input and needed after it: 2 rows
     * and 2 pairs, merged into the scale's layer */
    vec_spec(&s, 2);
    t1 = add(&s, &r, N1(RELU, add(&s, &r, G(0, 2))));
    t2 = add(&s, &r, (snode){.op = MUL, .nin = 1, .in = {t1}, .c = -0.5f});
    t3 = add(&s, &r, N1(RELU, t2));
    add(&s, &r, G(add(&s, &r, N2(CONCAT, t3, t2)), 2));
    crosses(&s, &r, "negated Relu output crosses a Relu", 5, (const int[]){2, 0, 4, 0, 2});
    /* a negated Relu output, read by the next Relu's input (an Add) and
     * needed after it, crosses as its expression over values >= 0: no pair
     * (2 identity rows next to the Add's 2 rows) */
    vec_spec(&s, 2);
    t1 = add(&s, &r, N1(RELU, add(&s, &r, G(0, 2))));
    t2 = add(&s, &r, (snode){.op = MUL, .nin = 1, .in = {t1}, .c = -0.5f});
    t3 = add(&s, &r, N1(RELU, add(&s, &r, N2(ADD, add(&s, &r, G(t1, 2)), t2))));
    add(&s, &r, G(add(&s, &r, N2(CONCAT, t3, t2)), 2));
    crosses(&s, &r, "negated Relu output crosses as it is", 5, (const int[]){2, 0, 4, 0, 2});
    /* the pre-activation block (shape 8) and the same block written without
     * crossing are the same function where the skip tensor is above -64
     * (inputs in [-3, 3], weights in [-1, 1]): equal exactly; the pairs are
     * the only difference in the ReLU neurons (w of them) */
    for (int t = 0; t < 6; t++) {
        int w = 2 + t % 3;
        tu_rng r2 = r;
        spec s2;
        draw(&s, &r, 8, 3, w, 3);
        draw_nocross(&s2, &r2, 3, w, 3);
        mb *b = build(&s), *b2 = build(&s2);
        net *n = mb_load_ok(b), *n2 = mb_load_ok(b2);
        assert_int_equal(net_n_relus(n), net_n_relus(n2) + w);
        mpq_t *y = qv(3), *y2 = qv(3);
        for (int p = 0; p < 20; p++) {
            double x[3];
            for (int k = 0; k < 3; k++)
                x[k] = 3 * rndf(&r);
            cn_err err;
            assert_int_equal(net_eval_exact_d(n, x, y, &err), CN_OK);
            assert_int_equal(net_eval_exact_d(n2, x, y2, &err), CN_OK);
            for (int o = 0; o < 3; o++)
                if (!mpq_equal(y[o], y2[o]))
                    fail_msg("pre-activation block %d, point %d, output %d: %.17g with pairs, "
                             "%.17g without", t, p, o, mpq_get_d(y[o]), mpq_get_d(y2[o]));
        }
        qv_free(y, 3);
        qv_free(y2, 3);
        net_free(n);
        net_free(n2);
        free(b);
        free(b2);
    }
    printf("# 4 graphs that cross a ReLU layer with values that may be negative: the layers "
           "expected, equal to the graph at 30 points each; 6 pre-activation blocks equal to "
           "the same blocks written without crossing\n");
}

/* ------------------------------------------------------------------------ */
/* (e) refusals                                                              */
/* ------------------------------------------------------------------------ */

static void refused(spec *s, const char *what, const char *msg)
{
    mb *b = build(s);
    net *n = (net *)&n;
    cn_err err;
    long live = cn_alloc_live();
    cn_status st = mb_load(b, &n, &err);
    if (st != CN_EUNSUPPORTED)
        fail_msg("%s: status %d (%s); expected a refusal", what, st, st ? err.msg : "loaded");
    assert_ptr_equal(n, (net *)&n);
    assert_int_equal(cn_alloc_live(), live);
    if (!strstr(err.msg, msg))
        fail_msg("%s: message '%s' lacks '%s'", what, err.msg, msg);
    free(b);
}

static void test_refusals(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("dag_refusals", 25)};
    spec s;
    int t1;
    /* an unsupported operator inside a branch */
    draw(&s, &r, 0, 2, 3, 2);
    s.nd[7].op = TANH;
    refused(&s, "Tanh in a branch",
            "node 'n8' (Tanh): in a graph that is not a chain, Tanh is supported only where every "
            "other branch has ended, and 't4' is still needed");
    /* a BatchNormalization in a live branch with var + eps = 0 */
    draw_bn(&s, &r, false, false, 2, 3);
    s.pool[s.nd[0].w + 3 * 3] = -s.nd[0].c;     /* channel 0's var */
    {
        mb *bg = build(&s);
        net *ng = NULL;
        cn_err eg;
        cn_status st = mb_load(bg, &ng, &eg);
        if (st == CN_OK || !strstr(eg.msg, "node 'n1' (BatchNormalization): var + epsilon <= 0 "
                                           "in channel 0"))
            fail_msg("BatchNormalization with var + eps = 0: status %d, %s", st,
                     st ? eg.msg : "loaded");
        free(bg);
    }
    /* an average whose factor is not a double (3x3: 1/9) in a live branch */
    draw(&s, &r, 10, 16, 3, 2);        /* a 4x4 map: 3x3 stride 1 and 2x2 stride 2 agree */
    s.nd[4].a = 3;
    s.nd[4].step = 1;
    refused(&s, "3x3 AveragePool in a branch",
            "node 'n5' (AveragePool): in a graph that is not a chain, a 3x3 average (1/9 is not "
            "a double) is supported only where every other branch has ended");
    /* an operator no route reads */
    draw(&s, &r, 0, 2, 3, 2);
    {
        mb *bg = build(&s);
        bg->node[7].op_type = (char *)"Gather";
        net *ng = NULL;
        cn_err eg;
        assert_int_equal(mb_load(bg, &ng, &eg), CN_EUNSUPPORTED);
        if (!strstr(eg.msg, "node 'n8' (Gather): unsupported operator in a graph that is not a "
                            "chain"))
            fail_msg("Gather: %s", eg.msg);
        free(bg);
    }
    /* a node without its data input (found by fuzz_onnx: no read past the
     * node's inputs) */
    draw(&s, &r, 0, 2, 3, 2);
    {
        mb *bg = build(&s);
        bg->node[7].op_type = (char *)"Transpose";
        bg->node[7].n_input = 0;
        net *ng = NULL;
        cn_err eg;
        cn_status st = mb_load(bg, &ng, &eg);
        if (st == CN_OK || !strstr(eg.msg, "node 'n8' (Transpose): input 0 is missing"))
            fail_msg("Transpose without inputs: status %d, %s", st, st ? eg.msg : "loaded");
        free(bg);
    }
    /* the product of two computed tensors */
    memset(&s, 0, sizeof s);
    s.nin = 2;
    s.nout = 2;
    s.nd_of[0] = 2;
    s.dims[0][0] = 1;
    s.dims[0][1] = 2;
    t1 = add(&s, &r, N1(RELU, add(&s, &r, G(0, 2))));
    add(&s, &r, N2(ADD, t1, t1));
    mb *b = build(&s);
    b->node[2].op_type = (char *)"Mul";
    net *n = NULL;
    cn_err err;
    assert_int_equal(mb_load(b, &n, &err), CN_EUNSUPPORTED);
    if (!strstr(err.msg, "node 'n3' (Mul): multiplies two computed tensors"))
        fail_msg("product: %s", err.msg);
    free(b);
}

/* Allocation k failing, for every k until the load succeeds: each failure
 * is CN_ENOMEM, writes no net and leaks nothing (one graph of each shape;
 * the residual walk's retry included: shape 1 forks only through Adds). */
static void test_oom(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("dag_oom", 25)};
    for (int shape = 0; shape < NSHAPES + 3; shape++) {
        spec s;
        int bv = shape - NSHAPES;        /* BatchNormalization in live branches: */
        if (bv >= 0)                     /* dense and conv irrational, dense exact */
            draw_bn(&s, &r, bv == 1, bv == 2, 2, 2);
        else
            draw(&s, &r, shape, nin_of(shape, 4, 2), 2, 2);
        const char *what = bv >= 0 ? bn_name(bv == 2 ? 2 : bv) : shape_name[shape];
        mb *b = build(&s);
        size_t len;
        unsigned char *buf = mb_pack(b, &len);
        long k;
        for (k = 1; k < 100000; k++) {
            net *n = (net *)&n;
            cn_err err;
            long live = cn_alloc_live();
            cn_alloc_fail_after(k);
            cn_status st = net_load_onnx_mem(buf, len, "oom.onnx", &n, &err);
            cn_alloc_fail_after(0);
            if (st == CN_OK) {
                net_free(n);
                assert_int_equal(cn_alloc_live(), live);
                break;
            }
            if (st != CN_ENOMEM)
                fail_msg("%s, allocation %ld failing: status %d (%s)", what, k, st, err.msg);
            assert_ptr_equal(n, (net *)&n);
            assert_int_equal(cn_alloc_live(), live);
        }
        assert_true(k > 10);
        free(buf);
        free(b);
    }
}

/* CN_DAG_WRITE=FILE: one inception-like model (4 inputs, 3 outputs) for
 * tests/dag.sh (CN_DAG_SHAPE, CN_DAG_WIDTH: another shape or width; shape 12:
 * shape 8 without crossing, draw_nocross; 13 / 14: a dense / conv
 * pre-activation block with irrational BatchNormalization, draw_bn, e.g. as
 * fuzzing seeds); otherwise nothing. */
static void test_write(void **state)
{
    (void)state;
    const char *path = getenv("CN_DAG_WRITE");
    if (!path || !*path)
        return;
    tu_rng r = {tu_seed("dag_write", 25)};
    spec s;
    /* CN_DAG_SHAPE / CN_DAG_WIDTH: another shape or hidden width (load-time figures) */
    const char *sh = getenv("CN_DAG_SHAPE"), *wd = getenv("CN_DAG_WIDTH");
    int shape = sh && *sh ? atoi(sh) : 3, w = wd && *wd ? atoi(wd) : 4;
    assert_true(shape >= 0 && shape <= SHAPE_NOCROSS + 2 && w >= 2 && w <= 100);
    if (shape == SHAPE_NOCROSS)
        draw_nocross(&s, &r, 4, w, 3);
    else if (shape > SHAPE_NOCROSS)
        draw_bn(&s, &r, shape == SHAPE_NOCROSS + 2, false, w, 3);
    else
        draw(&s, &r, shape, nin_of(shape, 6, 4), w, 3);
    mb *b = build(&s);
    size_t len;
    unsigned char *buf = mb_pack(b, &len);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    printf("# wrote %s (%s, width %d): %d float weights\n", path,
           shape == SHAPE_NOCROSS  ? "pre-activation residual block without crossing"
           : shape > SHAPE_NOCROSS ? bn_name(shape - SHAPE_NOCROSS - 1)
                                   : shape_name[shape],
           w, s.np);
    free(buf);
    free(b);
}

/* ------------------------------------------------------------------------ */
/* (e) BatchNormalization inside live branches                               */
/* ------------------------------------------------------------------------ */

/* q within 2^-200 of [lo, hi] (the reference's scale is within 2^-318 of the
 * file's, so its outputs are far closer than that to the file's). */
static bool near_in(const mpq_t lo, const mpq_t q, const mpq_t hi)
{
    mpq_t t, tol;
    mpq_inits(t, tol, NULL);
    mpq_set_ui(tol, 1, 1);
    mpq_div_2exp(tol, tol, 200);
    mpq_add(t, q, tol);
    bool ok = mpq_cmp(lo, t) <= 0;
    mpq_sub(t, q, tol);
    ok = ok && mpq_cmp(t, hi) <= 0;
    mpq_clears(t, tol, NULL);
    return ok;
}

/* (a) the chain encloses the graph's value (equals it when every scale is
 * exact: no enclosure then), (b) every bound method's query rows hold for the
 * graph's value and its layer bounds for the nominal network, (c) engine
 * against the exact MILP on the exact variant, unsat proofs re-checked. */
static void test_bn(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("dag_bn", 25)};
    int points = 0, encl = 0, n_sat = 0, n_unsat = 0, ties = 0;
    double wmax = 0.0;
    for (int t = 0; t < 24; t++) {
        int v = t % 4;
        bool conv = v % 2, exact = v >= 2;
        spec s;
        draw_bn(&s, &r, conv, exact, 2 + t % 3, 3);
        mb *b = build(&s);
        long live = cn_alloc_live();
        net *n = mb_load_ok(b);
        net_info in;
        net_get_info(n, &in);
        assert_int_equal(in.folded, 2);
        if (exact) {
            assert_false(net_has_enclosure(n));
            assert_true(in.fold_exact);
        } else {
            assert_true(net_has_enclosure(n));     /* the scales are irrational */
            assert_false(in.fold_exact);
            encl++;
        }
        int nin = net_in_size(n), no = net_out_size(n);
        assert_int_equal(nin, s.nin);
        assert_int_equal(no, s.nout);
        mpq_t *lo = qv(no), *hi = qv(no), *yr = qv(no);
        double x[8];
        cn_err err;
        for (int p = 0; p < 12; p++) {
            for (int k = 0; k < nin; k++)
                x[k] = p == 0 ? 0.0 : 2 * rndf(&r);
            mpq_t *xq = qv(nin);
            for (int k = 0; k < nin; k++)
                mpq_set_d(xq[k], x[k]);
            assert_int_equal(net_eval_enclose(n, xq, lo, hi, &err), CN_OK);
            qv_free(xq, nin);
            ref_eval(&s, x, yr);
            for (int o = 0; o < no; o++) {
                if (exact ? !mpq_equal(lo[o], yr[o]) || !mpq_equal(hi[o], yr[o])
                          : !near_in(lo[o], yr[o], hi[o]))
                    fail_msg("%s (net %d), point %d, output %d: chain [%.17g, %.17g], graph "
                             "%.17g", bn_name(v), t, p, o, mpq_get_d(lo[o]), mpq_get_d(hi[o]),
                             mpq_get_d(yr[o]));
                double wd = mpq_get_d(hi[o]) - mpq_get_d(lo[o]);
                assert_true(wd < 1e-9);             /* an enclosure, not a blur */
                wmax = fmax(wmax, wd);
            }
            points++;
        }
        /* (b) bounds on a box */
        double blo[8], bhi[8], rad = pow(10.0, -1.5 + 1.5 * tu_unif(&r));
        for (int k = 0; k < nin; k++) {
            double c = rndf(&r);
            blo[k] = c - rad * tu_unif(&r);
            bhi[k] = c + rad * tu_unif(&r);
        }
        double C[16 * 3] = {0}, d[16] = {0};
        int q = margin_rows(&r, no, 6, 2, C, d);
        bnd_ctx *c = bnd_ctx_new(n, &err);
        assert_non_null(c);
        trace tr;
        trace_init(&tr, n);
        snapshot sn[N_METHODS];
        snap_methods(c, n, blo, bhi, q, C, d, sn, &tr);
        mpq_t val, pq;
        mpq_inits(val, pq, NULL);
        int nv = box_vertices(nin, 6);
        for (int p = 0; p < nv + 12; p++) {
            if (!box_point(&r, p, nin, 6, blo, bhi, NULL, x))
                continue;
            eval_trace(n, x, &tr);                /* the nominal network */
            ref_eval(&s, x, yr);                  /* the file's */
            for (int k = 0; k < N_METHODS; k++) {
                if (!check_point(n, &tr, &sn[k], bnd_method_name(methods[k])))
                    fail_msg("%s (net %d): bound violated (%s, point %d)", bn_name(v), t,
                             bnd_method_name(methods[k]), p);
                for (int row = 0; row < q; row++) {
                    mpq_set_d(val, d[row]);
                    for (int o = 0; o < no; o++) {
                        mpq_set_d(pq, C[row * no + o]);
                        mpq_mul(pq, pq, yr[o]);
                        mpq_add(val, val, pq);
                    }
                    mpq_set_d(pq, sn[k].lb[row]);
                    if (!near_in(pq, val, val) && mpq_cmp(pq, val) > 0)
                        fail_msg("%s (net %d): %s row %d: bound %.17g above the graph's "
                                 "%.17g (point %d)", bn_name(v), t,
                                 bnd_method_name(methods[k]), row, sn[k].lb[row],
                                 mpq_get_d(val), p);
                }
            }
            points++;
        }
        mpq_clears(val, pq, NULL);
        assert_inside_interval(sn, &tr);
        for (int k = 0; k < N_METHODS; k++)
            snap_free(&sn[k], tr.nl);
        trace_clear(&tr);
        bnd_ctx_free(c);
        /* (c) the exact variant against the MILP (which needs exact weights
         * and no two affine layers in a row: the dense shape) */
        if (exact && !conv) {
            assert_true(net_n_layers(n) <= ENG_MAX_LAYERS);
            int vv = engine_vs_milp_box(n, &r, t, bn_name(v));
            if (vv < 0)
                ties++;
            else if (vv)
                n_sat++;
            else
                n_unsat++;
        }
        qv_free(lo, no);
        qv_free(hi, no);
        qv_free(yr, no);
        net_free(n);
        assert_int_equal(cn_alloc_live(), live);
        free(b);
    }
    printf("# 24 pre-activation blocks with BatchNormalization in live branches (%d with an "
           "enclosure, widest output enclosure %.3g), %d points: the chain encloses the "
           "graph, every bound holds; exact variant vs MILP: %d sat, %d unsat (%d ties)\n",
           encl, wmax, points, n_sat, n_unsat, ties);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_engine_vs_milp),
        cmocka_unit_test(test_crossings),
        cmocka_unit_test(test_bn),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_oom),
        cmocka_unit_test(test_write),
    };
    return run_filtered_group("dag", tests, sizeof tests / sizeof *tests);
}

/* onnx_dag.c — ONNX graphs that are not chains (Concat, Transpose, Slice,
 * Pad, Add/Sub of two computed tensors, branches of any shape), lowered
 * exactly to the chain IR.
 *
 * The chain's vector z (the output of the last layer appended, at first the
 * graph input) holds the computed tensors that are still needed: the live
 * set.  Every element of a live tensor is kept as an affine expression over
 * z,  b + sum_j a_j z_j  (sparse).  A linear node (Gemm, MatMul, Conv with
 * constant weights; Add, Sub, Mul, Div with a constant; Add/Sub of two
 * computed tensors; Concat, Transpose, Slice, Pad, Flatten, Reshape,
 * Identity, Dropout) appends no layer: it computes its output's expressions
 * from its inputs' as  beta_o + sum w * x_e  with w and beta the file's
 * values (or 1, -1, 0).  Each product and each sum is checked to be exact
 * (fma and two-sum, in round-to-nearest); when one would round, the live set
 * is first *flushed* — one NET_DENSE layer whose rows are the expressions of
 * the live elements (identity rows for elements that are already a single
 * z_j) — after which every element is +-z_j or a constant 0 and the node is
 * computed again (with a single distinct z_j per input element, only two
 * coefficients landing on the same z_j can round, which is refused).  So
 * every weight of every appended layer is a sum computed exactly, and the
 * chain is the same rational function as the graph.
 *
 * A Relu node needs a layer: the live set is flushed so that each element
 * of the Relu's input is +z_j (or a constant), and a NET_RELU layer acts on
 * the whole vector.  Every other live tensor must cross that ReLU.  A value
 * z_j known to be >= 0 (the output of an earlier ReLU, or a row with a
 * nonnegative bias and nonnegative coefficients on such values) crosses
 * unchanged, as one neuron; so does an element that reads only such values
 * (with any coefficients: a negated Relu output) — it keeps its expression.
 * A value y that may be negative (the graph input, a Gemm output, the skip
 * tensor x of a pre-activation residual block x + f(relu(x))) crosses as a
 * pair: the flush's layer has the row y and a row -y (exact negations), and
 * after the ReLU the element reads p - n, p = relu(y), n = relu(-y), which
 * is y for every real y (weights +-1, so the chain is still the graph's
 * function).  When that layer only copies and negates the rows of the
 * dense layer before it, the two are merged (the negated rows are exact),
 * so no two affine layers follow each other.  A pair is an unstable ReLU
 * wherever y straddles 0, so the bounds there are looser than for a graph
 * that needs no crossing (relu(y) - relu(-y) is relaxed neuron by neuron;
 * benchmarks/README.md has figures).  To keep such crossings rare, the
 * nodes run in phases: Relu node r runs in the ReLU layer s(r) = 1 + the
 * largest s of the Relus before it (all Relus of a phase share one layer),
 * and a linear node runs as late as possible, just before the first layer
 * that needs its output.
 *
 * The chain before the first fork (input normalisation, Conv +
 * BatchNormalization, pooling, ...) is read by the chain reader as in any
 * chain (onnx_ops.c, with onnx_fold.c's exact folding or enclosure), and
 * this route starts from its output, known >= 0 when it ends in a ReLU.
 * Where the graph narrows again to one live tensor, the operators only the
 * chain reader knows (BatchNormalization, MaxPool, AveragePool,
 * GlobalAveragePool, Sigmoid, Tanh, LeakyRelu, Clip) are read by it the
 * same way, on a vector laid out as that tensor (run_chain_node); while
 * another branch is live they are refused by name, as are the operators no
 * route reads — but AveragePool and GlobalAveragePool over windows of 2^k
 * elements, linear nodes (each output 2^-k times its window's sum, the
 * chain reader's attributes: no padding, ceil_mode 0; net__dag_op_avgpool;
 * other windows, whose 1/k is not a double, are refused there), and
 * BatchNormalization (run_bn), the per-channel map y =
 * s* x + t*, s* = g / sqrt(var + eps), t* = beta - mean s*.  When every s
 * and t is a double exactly (the chain reader's test: sqrt(var + eps)
 * bracketed by doubles whose squares are compared exactly), it is a linear
 * node like Mul and Add.  Otherwise its output's elements become rows of
 * their own in a flush (their expressions: its input's; every other live
 * expression kept, its values copied by identity rows), and those rows are
 * multiplied by s and shifted by t in place, rounded to nearest, the layer
 * getting the enclosure of models.h (E) (bn_scale_rows: the nominal s is
 * exact rational with |s* - s| <= rs, the radii are computed in mpq and
 * rounded up; the identity rows are exact and so within any radii).  A
 * flush that only copies or negates its rows is merged into it keeping the
 * radii row by row (merge_selection), and the rest of the argument above is
 * unchanged: the chain is then a set of networks that contains the graph's
 * function (as with the chain reader's enclosures before the first fork).
 * A dense layer
 * above 2^26 entries is refused naming the node that needed it.  The
 * residual blocks of onnx_residual.c are lowered there, as convolutions
 * (the dense layers here would be far too large for a ResNet); this route
 * reads the graphs that walk refuses, and those with a Concat, Transpose or
 * Slice or another join.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "models/onnx_dag_int.h"

#define DAG_MAX_LAYER ((int64_t)1 << 26)   /* entries of one dense layer */

static bool is_op(const Onnx__NodeProto *n, const char *op) { return strcmp(S(n->op_type), op) == 0; }

/* ------------------------------------------------------------------------ */
/* Tensors and maps                                                          */
/* ------------------------------------------------------------------------ */

static void expr_free(dten *t)
{
    cn_free(t->rp);
    cn_free(t->col);
    cn_free(t->val);
    cn_free(t->b);
    t->rp = t->col = NULL;
    t->val = t->b = NULL;
    t->have = false;
}

dten *net__dag_find(dg *D, const char *name)
{
    for (size_t i = 0; i < D->nt; i++)
        if (strcmp(D->t[i].name, name) == 0)
            return &D->t[i];
    return NULL;
}

static void lin_free(lin *m)
{
    cn_free(m->rp);
    cn_free(m->slot);
    cn_free(m->el);
    cn_free(m->w);
    cn_free(m->beta);
    memset(m, 0, sizeof *m);
}

cn_status net__dag_lin_init(dg *D, lin *m, int64_t n)
{
    memset(m, 0, sizeof *m);
    if (n < 1 || n > MAX_ELEMWISE)
        return net__onnx_fail(D->L, CN_ELIMIT, "result has %lld elements; at most %d supported",
                              (long long)n, MAX_ELEMWISE);
    m->n = (int)n;
    m->rp = cn_calloc((size_t)n + 1, sizeof *m->rp);
    m->beta = cn_calloc((size_t)n, sizeof *m->beta);
    if (!m->rp || !m->beta) {
        lin_free(m);
        return net__onnx_nomem(D->L);
    }
    return CN_OK;
}

/* Appends the term w * (slot, el) to the current row. */
cn_status net__dag_lin_push(dg *D, lin *m, double w, int slot, int el)
{
    if (m->nk == m->capk) {
        size_t cap = m->capk ? 2 * m->capk : 64;
        if (cap > DAG_MAX_TERMS)
            return net__onnx_fail(D->L, CN_ELIMIT, "the operation has more than %zu terms",
                                  DAG_MAX_TERMS);
        int *s = cn_reallocarray(m->slot, cap, sizeof *s);
        if (s)
            m->slot = s;
        int *e = cn_reallocarray(m->el, cap, sizeof *e);
        if (e)
            m->el = e;
        double *w2 = cn_reallocarray(m->w, cap, sizeof *w2);
        if (w2)
            m->w = w2;
        if (!s || !e || !w2)
            return net__onnx_nomem(D->L);
        m->capk = cap;
    }
    m->slot[m->nk] = slot;
    m->el[m->nk] = el;
    m->w[m->nk] = w;
    m->nk++;
    return CN_OK;
}

/* Ends row o (its terms are those pushed since the previous row). */
void net__dag_lin_row(lin *m, int o, double beta)
{
    m->beta[o] = beta;
    m->rp[o + 1] = (int)m->nk;
}

static cn_status scratch(dg *D)
{
    if (D->cap >= D->width)
        return CN_OK;
    int cap = D->width;
    double *a = cn_reallocarray(D->acc, (size_t)cap, sizeof *a);
    if (a)
        D->acc = a;
    int *st = cn_reallocarray(D->stamp, (size_t)cap, sizeof *st);
    if (st)
        D->stamp = st;
    int *tc = cn_reallocarray(D->touched, (size_t)cap, sizeof *tc);
    if (tc)
        D->touched = tc;
    if (!a || !st || !tc)
        return net__onnx_nomem(D->L);
    for (int i = D->cap; i < cap; i++)
        D->stamp[i] = 0;
    D->cap = cap;
    return CN_OK;
}

/* out's expressions = m applied to the inputs' (tin[slot]).  *inexact: some
 * product or sum would round (out is then left without expressions). */
static cn_status apply(dg *D, const lin *m, dten *const *tin, dten *out, bool *inexact)
{
    cn_status s;
    *inexact = false;
    if ((s = scratch(D)))
        return s;
    size_t cap = 0, nz = 0;
    int *rp = cn_calloc((size_t)m->n + 1, sizeof *rp), *col = NULL;
    double *b = cn_calloc((size_t)m->n, sizeof *b), *val = NULL;
    if (!rp || !b)
        goto nomem;
    for (int o = 0; o < m->n; o++) {
        double bias = m->beta[o];
        int nt = 0;
        if (++D->cur == INT32_MAX) {
            for (int i = 0; i < D->cap; i++)
                D->stamp[i] = 0;
            D->cur = 1;
        }
        for (int k = m->rp[o]; k < m->rp[o + 1]; k++) {
            const dten *x = tin[m->slot[k]];
            int e = m->el[k];
            double w = m->w[k], p;
            if (x->b[e] != 0.0 && (!net__dag_mul_exact(w, x->b[e], &p) || !net__dag_add_exact(bias, p, &bias)))
                goto inexact;
            for (int j = x->rp[e]; j < x->rp[e + 1]; j++) {
                int c = x->col[j];
                if (!net__dag_mul_exact(w, x->val[j], &p))
                    goto inexact;
                if (D->stamp[c] != D->cur) {
                    D->stamp[c] = D->cur;
                    D->acc[c] = p;
                    D->touched[nt++] = c;
                } else if (!net__dag_add_exact(D->acc[c], p, &D->acc[c])) {
                    goto inexact;
                }
            }
        }
        if (nz + (size_t)nt > cap) {
            size_t nc = cap ? 2 * cap : 64;
            while (nc < nz + (size_t)nt)
                nc *= 2;
            if (nc > DAG_MAX_TERMS) {
                cn_free(rp), cn_free(b), cn_free(col), cn_free(val);
                return net__onnx_fail(D->L, CN_ELIMIT,
                                      "the expressions of '%s' have more than %zu terms",
                                      out->name, DAG_MAX_TERMS);
            }
            int *c2 = cn_reallocarray(col, nc, sizeof *c2);
            if (c2)
                col = c2;
            double *v2 = cn_reallocarray(val, nc, sizeof *v2);
            if (v2)
                val = v2;
            if (!c2 || !v2)
                goto nomem;
            cap = nc;
        }
        for (int i = 0; i < nt; i++)
            if (D->acc[D->touched[i]] != 0.0) {
                col[nz] = D->touched[i];
                val[nz++] = D->acc[D->touched[i]];
            }
        rp[o + 1] = (int)nz;
        b[o] = bias;
    }
    out->rp = rp;
    out->col = col;
    out->val = val;
    out->b = b;
    out->n = m->n;
    out->have = true;
    return CN_OK;
inexact:
    *inexact = true;
    cn_free(rp), cn_free(b), cn_free(col), cn_free(val);
    return CN_OK;
nomem:
    cn_free(rp), cn_free(b), cn_free(col), cn_free(val);
    return net__onnx_nomem(D->L);
}

/* ------------------------------------------------------------------------ */
/* Flushing the live set into a layer                                        */
/* ------------------------------------------------------------------------ */

/* KEEP_CROSS: as KEEP_PLAIN, and an element whose own row might be negative
 * but which reads only values known >= 0 (a negated Relu output, or relu(y)
 * - relu(-y) after an earlier crossing) keeps its expression: those values
 * cross the ReLU layer unchanged.  KEEP_ALL: every element keeps its
 * expression (the values it reads get identity rows). */
enum { KEEP_PLAIN, KEEP_STRICT, KEEP_POS, KEEP_NONE, KEEP_CROSS, KEEP_ALL };

/* Is row e of t, when it gets a row of its own, known >= 0 (a nonnegative
 * bias and nonnegative coefficients on values known >= 0)? */
static bool row_nn(const dg *D, const dten *t, int e)
{
    bool pos = t->b[e] >= 0.0;
    for (int j = t->rp[e]; j < t->rp[e + 1] && pos; j++)
        pos = t->val[j] >= 0.0 && D->nn[t->col[j]];
    return pos;
}

/* May element e of t stay as it is (no row of its own) under policy pol? */
static bool keeps(const dg *D, const dten *t, int e, int pol)
{
    int k = t->rp[e + 1] - t->rp[e];
    if (pol == KEEP_NONE)
        return false;
    if (pol == KEEP_ALL)
        return true;
    if (k == 0)
        return pol != KEEP_STRICT || t->b[e] == 0.0;
    if (pol == KEEP_CROSS && !row_nn(D, t, e)) {
        bool all = true;
        for (int j = t->rp[e]; j < t->rp[e + 1] && all; j++)
            all = D->nn[t->col[j]];
        if (all)
            return true;
    }
    if (k != 1 || t->b[e] != 0.0)
        return false;
    double a = t->val[t->rp[e]];
    return a == 1.0 || (a == -1.0 && pol != KEEP_POS);
}

/* When the dense layer just appended only selects and negates values
 * (each row one entry +-1, no bias) and the layer before it is dense (the
 * callers: after a flush with pairs, or one right after run_bn's layer), the
 * two become one: the earlier rows, copied or negated (exact).  Then no two
 * affine layers follow each other (the LP encoding wants them merged).
 * When the earlier layer carries an enclosure (run_bn's, or the chain
 * reader's from a folding), a copied or negated row keeps it: (E) holds for -W, -b with the
 * same wrel, wabs and brad, so the row's brad is copied.  Nothing to do
 * otherwise. */
static cn_status merge_selection(dg *D)
{
    net *n = D->L->n;
    int nl = n->n_layers;
    if (nl < 2)
        return CN_OK;
    net_layer *a = &n->layers[nl - 2], *b = &n->layers[nl - 1];
    if (a->op != NET_DENSE || b->op != NET_DENSE || (int64_t)b->out * a->in > DAG_MAX_LAYER)
        return CN_OK;
    int *sel = cn_mallocarray((size_t)b->out, sizeof *sel);
    if (!sel)
        return net__onnx_nomem(D->L);
    for (int r = 0; r < b->out; r++) {
        sel[r] = -1;
        const double *w = b->W + (size_t)r * (size_t)b->in;
        for (int j = 0; j < b->in; j++)
            if (w[j] != 0.0) {
                if (sel[r] >= 0 || fabs(w[j]) != 1.0) {
                    cn_free(sel);
                    return CN_OK;
                }
                sel[r] = j;
            }
        if (b->b[r] != 0.0) {
            cn_free(sel);
            return CN_OK;
        }
    }
    double *W = cn_calloc((size_t)b->out * (size_t)a->in, sizeof *W);
    double *bb = cn_calloc((size_t)b->out, sizeof *bb);
    double *br = a->brad ? cn_calloc((size_t)b->out, sizeof *br) : NULL;
    if (!W || !bb || (a->brad && !br)) {
        cn_free(sel), cn_free(W), cn_free(bb), cn_free(br);
        return net__onnx_nomem(D->L);
    }
    for (int r = 0; r < b->out; r++) {
        int j = sel[r];
        if (j < 0)
            continue;
        double sg = b->W[(size_t)r * (size_t)b->in + (size_t)j];
        const double *src = a->W + (size_t)j * (size_t)a->in;
        for (int k = 0; k < a->in; k++)
            W[(size_t)r * (size_t)a->in + (size_t)k] = src[k] != 0.0 ? sg * src[k] : 0.0;
        bb[r] = a->b[j] != 0.0 ? sg * a->b[j] : 0.0;
        if (br)
            br[r] = a->brad[j];
    }
    cn_free(sel);
    cn_free(a->W), cn_free(a->b), cn_free(a->brad);
    a->W = W;
    a->b = bb;
    a->brad = br;
    a->out = b->out;
    a->out_shape = b->out_shape;
    cn_free(b->W), cn_free(b->b);
    n->n_layers--;
    return CN_OK;
}

/* One dense layer whose rows are the live elements that may not stay (by
 * pol[i] for live tensor live[i]) and identity rows for the values the others
 * read; afterwards every live element is +-z_j or a constant (or, under
 * KEEP_CROSS, an expression over values known >= 0).  With cross
 * (non-NULL), each row read by a tensor with cross[i] that may be negative
 * gets a second row, its negation, at the end of the layer: *pair_out
 * ([new width], freed by the caller) holds that row's index, or -1. */
static cn_status flush(dg *D, size_t nl, dten *const *live, const int *pol, const bool *cross,
                       int **pair_out)
{
    ld *L = D->L;
    cn_status s = CN_OK;
    int W = D->width;
    int *map = cn_mallocarray(W ? (size_t)W : 1, sizeof *map);
    int64_t rows = 0, cnt = 0, npair = 0;
    if (pair_out)
        *pair_out = NULL;
    if (!map)
        return net__onnx_nomem(L);
    for (int j = 0; j < W; j++)
        map[j] = -1;
    /* new positions: identity rows first come first; then element rows */
    for (size_t i = 0; i < nl; i++)
        for (int e = 0; e < live[i]->n; e++) {
            const dten *t = live[i];
            if (!keeps(D, t, e, pol[i]))
                cnt++;
            else
                for (int j = t->rp[e]; j < t->rp[e + 1]; j++)
                    if (map[t->col[j]] < 0)
                        map[t->col[j]] = (int)rows++;
        }
    rows += cnt;
    if (rows < 1 || rows > MAX_ELEMWISE) {
        cn_free(map);
        return net__onnx_fail(L, rows < 1 ? CN_EUNSUPPORTED : CN_ELIMIT,
                              rows < 1 ? "the graph's values do not depend on its input"
                                       : "the live tensors hold %lld values; at most %d",
                              (long long)rows, MAX_ELEMWISE);
    }
    int *pair = NULL;
    if (cross) {
        /* the rows that cross the next ReLU layer and may be negative */
        if (!(pair = cn_mallocarray((size_t)rows, sizeof *pair))) {
            cn_free(map);
            return net__onnx_nomem(L);
        }
        for (int64_t j = 0; j < rows; j++)
            pair[j] = -1;
        int64_t r = rows - cnt;
        for (size_t i = 0; i < nl; i++)
            for (int e = 0; e < live[i]->n; e++) {
                const dten *t = live[i];
                if (!keeps(D, t, e, pol[i])) {
                    int64_t at = r++;
                    if (cross[i] && !row_nn(D, t, e))
                        pair[at] = (int)(rows + npair++);
                    continue;
                }
                for (int j = t->rp[e]; j < t->rp[e + 1]; j++) {
                    int at = map[t->col[j]];
                    if (cross[i] && !D->nn[t->col[j]] && pair[at] < 0)
                        pair[at] = (int)(rows + npair++);
                }
            }
    }
    int64_t total = rows + npair;
    if (total > MAX_ELEMWISE) {
        cn_free(map);
        cn_free(pair);
        return net__onnx_fail(L, CN_ELIMIT,
                              "the live tensors hold %lld values with the pairs that cross a "
                              "ReLU layer; at most %d", (long long)total, MAX_ELEMWISE);
    }
    bool ident = rows == W && cnt == 0 && npair == 0;
    for (int j = 0; j < W && ident; j++)
        ident = map[j] == j;
    if (ident) {
        cn_free(map);
        cn_free(pair);
        return CN_OK;
    }
    if (total * (int64_t)(W ? W : 1) > DAG_MAX_LAYER) {
        cn_free(map);
        cn_free(pair);
        return net__onnx_fail(L, CN_ELIMIT,
                              "lowering the graph needs a dense layer of %lld x %d entries; at "
                              "most 2^26 are supported", (long long)total, W);
    }
    cn_err e2;
    net_layer *ly = net_add_dense(L->n, (int)total, &e2);
    bool *nn = cn_calloc((size_t)total, sizeof *nn);
    int *pr = pair ? cn_mallocarray((size_t)total, sizeof *pr) : NULL;
    if (!ly || !nn || (pair && !pr)) {
        cn_free(map);
        cn_free(nn);
        cn_free(pair);
        cn_free(pr);
        return ly ? net__onnx_nomem(L) : net__onnx_fail(L, e2.status, "%s", e2.msg);
    }
    for (int j = 0; j < W; j++)
        if (map[j] >= 0) {
            ly->W[(size_t)map[j] * (size_t)W + (size_t)j] = 1.0;
            nn[map[j]] = D->nn[j];
        }
    int r = (int)(rows - cnt);
    for (size_t i = 0; i < nl; i++) {
        dten *t = live[i];
        size_t cap = (size_t)t->n + (size_t)t->rp[t->n];   /* kept expressions too */
        int *col = cn_mallocarray(cap, sizeof *col);
        double *val = cn_mallocarray(cap, sizeof *val);
        int *rp = cn_mallocarray((size_t)t->n + 1, sizeof *rp);
        if (!col || !val || !rp) {
            cn_free(col), cn_free(val), cn_free(rp);
            s = net__onnx_nomem(L);
            break;
        }
        int nz = 0;
        rp[0] = 0;
        for (int e = 0; e < t->n; e++) {
            if (!keeps(D, t, e, pol[i])) {
                for (int j = t->rp[e]; j < t->rp[e + 1]; j++)
                    ly->W[(size_t)r * (size_t)W + (size_t)t->col[j]] = t->val[j];
                ly->b[r] = t->b[e];
                nn[r] = row_nn(D, t, e);
                col[nz] = r++;
                val[nz++] = 1.0;
                t->b[e] = 0.0;
            } else {
                for (int j = t->rp[e]; j < t->rp[e + 1]; j++) {
                    col[nz] = map[t->col[j]];
                    val[nz++] = t->val[j];
                }
            }
            rp[e + 1] = nz;
        }
        cn_free(t->rp), cn_free(t->col), cn_free(t->val);
        t->rp = rp;
        t->col = col;
        t->val = val;
    }
    if (pair) {
        /* the negated rows (negation is exact) */
        for (int64_t j = 0; j < total; j++)
            pr[j] = j < rows ? pair[j] : -1;
        for (int64_t j = 0; j < rows; j++)
            if (pair[j] >= 0) {
                const double *src = ly->W + (size_t)j * (size_t)W;
                double *dst = ly->W + (size_t)pair[j] * (size_t)W;
                for (int c = 0; c < W; c++)
                    dst[c] = src[c] != 0.0 ? -src[c] : 0.0;
                ly->b[pair[j]] = ly->b[j] != 0.0 ? -ly->b[j] : 0.0;
            }
        cn_free(pair);
        *pair_out = pr;
    }
    if (!s && (npair > 0 || (D->bn_layer && D->bn_layer == L->n->n_layers - 1)))
        s = merge_selection(D);
    cn_free(map);
    cn_free(D->nn);
    D->nn = nn;
    D->width = (int)total;
    return s;
}

/* The live tensors (expressions kept and reads to come). */
static cn_status live_set(dg *D, dten ***out, size_t *nl)
{
    dten **lv = cn_mallocarray(D->nt ? D->nt : 1, sizeof *lv);
    if (!lv)
        return net__onnx_nomem(D->L);
    size_t k = 0;
    for (size_t i = 0; i < D->nt; i++)
        if (D->t[i].have && D->t[i].uses > 0)
            lv[k++] = &D->t[i];
    *out = lv;
    *nl = k;
    return CN_OK;
}

/* Flushes every live tensor with policy pol. */
static cn_status flush_all(dg *D, int pol)
{
    dten **lv;
    size_t nl;
    cn_status s = live_set(D, &lv, &nl);
    if (s)
        return s;
    int *p = cn_mallocarray(nl ? nl : 1, sizeof *p);
    if (!p) {
        cn_free(lv);
        return net__onnx_nomem(D->L);
    }
    for (size_t i = 0; i < nl; i++)
        p[i] = pol;
    s = flush(D, nl, lv, p, NULL, NULL);
    cn_free(p);
    cn_free(lv);
    return s;
}

/* ------------------------------------------------------------------------ */
/* Running the nodes                                                         */
/* ------------------------------------------------------------------------ */

/* Registers the output of the current node with dims od and the reads to
 * come; returns it. */
static dten *new_tensor(dg *D, const int64_t *od, int ond, int stage, int uses)
{
    dten *t = &D->t[D->nt++];
    memset(t, 0, sizeof *t);
    t->name = S(D->L->node->output[0]);
    t->nd = ond;
    memcpy(t->dims, od, (size_t)ond * sizeof *od);
    t->n = (int)net__dag_prod(od, ond);
    t->stage = stage;
    t->uses = uses;
    return t;
}

/* Reads still to come of tensor name: node inputs, plus the graph output. */
static int count_uses(const ld *L, const char *name)
{
    int u = strcmp(S(L->g->output[0]->name), name) == 0;
    for (size_t i = 0; i < L->g->n_node; i++)
        if (!is_op(L->g->node[i], "Constant"))
            for (size_t j = 0; j < L->g->node[i]->n_input; j++)
                u += strcmp(S(L->g->node[i]->input[j]), name) == 0;
    return u;
}

/* One read of each computed input of the current node is done. */
static void release_inputs(dg *D)
{
    const Onnx__NodeProto *n = D->L->node;
    for (size_t j = 0; j < n->n_input; j++) {
        dten *t = *S(n->input[j]) ? net__dag_find(D, n->input[j]) : NULL;
        if (t && --t->uses == 0)
            expr_free(t);
    }
}

static const char *const dag_ops =
    "MatMul, Gemm, Conv, Add, Sub, Mul, Div, Relu, Concat, Transpose, Slice, Pad, Flatten, "
    "Reshape, Identity, Dropout, Constant, Softmax (last), BatchNormalization, AveragePool and "
    "GlobalAveragePool (windows of 2^k elements); where no other branch is live also MaxPool, "
    "AveragePool and GlobalAveragePool of any window, Sigmoid, Tanh, LeakyRelu, Clip";

/* Operators only the chain reader reads: where the graph narrows to one
 * tensor, they are read as in a chain (run_chain_node). */
static bool chain_only(const char *op)
{
    static const char *const ops[] = {"BatchNormalization", "MaxPool", "AveragePool",
                                      "GlobalAveragePool", "Sigmoid", "Tanh", "LeakyRelu",
                                      "Clip", NULL};
    for (const char *const *o = ops; *o; o++)
        if (!strcmp(op, *o))
            return true;
    return false;
}

/* A chain-only operator on tensor x when nothing else is live: the chain's
 * vector becomes x in order, the chain reader reads the node (its layers
 * appended), and the output is the new vector.  Otherwise refused. */
static cn_status run_chain_node(dg *D, const dnode *v)
{
    ld *L = D->L;
    const Onnx__NodeProto *n = v->nd;
    char nm[96];
    cn_status s;
    dten *x = NULL;
    for (size_t j = 0; j < n->n_input; j++) {
        dten *t = *S(n->input[j]) ? net__dag_find(D, n->input[j]) : NULL;
        if (t && x && t != x)
            return net__onnx_fail(L, CN_EUNSUPPORTED, "reads two computed tensors");
        x = t ? t : x;
    }
    if (!x || !x->have)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "reads no computed tensor");
    for (size_t i = 0; i < D->nt; i++)
        if (&D->t[i] != x && D->t[i].have && D->t[i].uses > 0)
            return net__onnx_fail(L, CN_EUNSUPPORTED,
                                  "in a graph that is not a chain, %s is supported only where "
                                  "every other branch has ended, and '%s' is still needed",
                                  S(n->op_type), net__onnx_clean(nm, sizeof nm, D->t[i].name));
    if (x->uses != 1)
        return net__onnx_fail(L, CN_EUNSUPPORTED,
                              "in a graph that is not a chain, %s is supported only where "
                              "its input '%s' has no other reader", S(n->op_type),
                              net__onnx_clean(nm, sizeof nm, x->name));
    bool ident = x->n == D->width;
    for (int e = 0; e < x->n && ident; e++)
        ident = x->rp[e + 1] - x->rp[e] == 1 && x->col[x->rp[e]] == e &&
                x->val[x->rp[e]] == 1.0 && x->b[e] == 0.0;
    int pol = KEEP_NONE;
    if (!ident && (s = flush(D, 1, &x, &pol, NULL, NULL)))
        return s;
    bool all_nn = true;                     /* x >= 0 (the max of such is too) */
    for (int j = 0; j < D->width; j++)
        all_nn = all_nn && D->nn[j];
    int nl0 = L->n->n_layers;
    if (nl0 && x->nd == 4 && x->dims[0] == 1) {
        /* the vector is x's feature map, for the pooling and per-channel
         * readers (as the chain reader does after a Flatten) */
        net_layer *l = &L->n->layers[nl0 - 1];
        net_shape fm = {(int)x->dims[1], (int)x->dims[2], (int)x->dims[3]};
        if (l->op == NET_DENSE || l->op == NET_RELU) {
            l->out_shape = fm;
            if (l->op == NET_RELU)
                l->in_shape = fm;
        }
    }
    L->cur = x->name;
    L->nd = x->nd;
    memcpy(L->dims, x->dims, sizeof L->dims);
    if ((s = net__onnx_read_node(L)) || (s = net__onnx_flush(L)) ||
        (s = net__onnx_materialize(L)))
        return s;
    int w = net__onnx_cur_size(L), nl = L->n->n_layers;
    if (w < 1 || w > MAX_ELEMWISE || (nl && net_out_size(L->n) != w))
        return net__onnx_fail(L, CN_EINTERNAL, "chain node size bookkeeping");
    x->uses = 0;
    expr_free(x);
    dten *out = new_tensor(D, L->dims, L->nd, 0, count_uses(L, S(n->output[0])));
    out->rp = cn_mallocarray((size_t)w + 1, sizeof *out->rp);
    out->col = cn_mallocarray((size_t)w, sizeof *out->col);
    out->val = cn_mallocarray((size_t)w, sizeof *out->val);
    out->b = cn_calloc((size_t)w, sizeof *out->b);
    bool *nn = cn_calloc((size_t)w, sizeof *nn);
    if (!out->rp || !out->col || !out->val || !out->b || !nn) {
        cn_free(nn);
        return net__onnx_nomem(L);
    }
    out->have = true;
    out->rp[0] = 0;
    for (int e = 0; e < w; e++) {
        out->col[e] = e;
        out->val[e] = 1.0;
        out->rp[e + 1] = e + 1;
    }
    net_op last = nl ? L->n->layers[nl - 1].op : 0;
    for (int e = 0; e < w; e++)         /* a ReLU or sigmoid output is >= 0 */
        nn[e] = last == NET_RELU || last == NET_SIGMOID ||
                (last == NET_MAXPOOL && nl == nl0 + 1 && all_nn);
    cn_free(D->nn);
    D->nn = nn;
    D->width = w;
    return CN_OK;
}

/* ------------------------------------------------------------------------ */
/* BatchNormalization on a live tensor                                       */
/* ------------------------------------------------------------------------ */

#define BN_U 0x1p-52                   /* relative bound of one rounding */
#define BN_ETA 0x1p-1074               /* absolute (subnormal range) */

/* The double nearest q (either on a tie); +-inf when out of range. */
static double q_nearest(const mpq_t q, mpq_t t)
{
    double d = mpq_get_d(q);                 /* truncated toward zero */
    if (!isfinite(d))
        return d;
    mpq_set_d(t, d);
    if (mpq_equal(t, q))
        return d;
    double d2 = nextafter(d, mpq_sgn(q) > 0 ? INFINITY : -INFINITY);
    if (!isfinite(d2))
        return d2;
    mpq_sub(t, q, t);
    mpq_abs(t, t);                           /* |q - d| */
    mpq_t u;
    mpq_init(u);
    mpq_set_d(u, d2);
    mpq_sub(u, u, q);
    mpq_abs(u, u);                           /* |d2 - q| */
    bool up = mpq_cmp(u, t) < 0;
    mpq_clear(u);
    return up ? d2 : d;
}

/* The smallest double >= q (q >= 0); +inf when out of range. */
static double q_up(const mpq_t q, mpq_t t)
{
    double d = mpq_get_d(q);
    if (!isfinite(d))
        return INFINITY;
    mpq_set_d(t, d);
    return mpq_cmp(t, q) < 0 ? nextafter(d, INFINITY) : d;
}

/* Channel c of BatchNormalization: y = s* x + t*,  s* = g / sqrt(var +
 * eps),  t* = beta - mean s*.  Nominal s (exact rational, bn_scale) with
 * |s* - s| <= rs, t = beta - mean s, so |t* - t| <= |mean| rs. */
typedef struct {
    mpq_t s, rs, t;
    double mean;
} bnch;

/* Multiplies the rows of the dense layer ly (just appended by a flush) that
 * hold the elements of out (+z_r each, channel c = e / sp) by s_c and adds
 * t_c.  The file's layer has rows w s* and biases b s* + t*; the stored
 * doubles are w' = fl(w s), b' = fl(b s + t) (nearest), with, by (W1) of
 * onnx_fold.c (w exact, rho_c = rs_c / |s_c|, R = max rho_c),
 *     |w s* - w'| <= |w s| rho + U |w'| + ETA <= (U + (1 + U) R) |w'| + ETA (1 + R),
 * (just R |w'| when no weight rounded) and
 *     |b s* + t* - b'| <= (|b| + |mean_c|) rs_c + |b s + t - b'|,
 * each rounded up: the layer's wrel, wabs and brad[r] (models.h, (E)).  The
 * other rows (identity rows, exact) obey (E) for any radii.  *inexact:
 * some value is not the file's (for net_info.fold_exact). */
static cn_status bn_scale_rows(dg *D, net_layer *ly, const dten *out, int sp, const bnch *ch,
                               int nch, bool *inexact)
{
    ld *L = D->L;
    cn_status s = CN_OK;
    bool rounded = false;
    mpq_t q, t, r, R;
    mpq_inits(q, t, r, R, NULL);
    if (!(ly->brad = cn_calloc((size_t)ly->out, sizeof *ly->brad))) {
        mpq_clears(q, t, r, R, NULL);
        return net__onnx_nomem(L);
    }
    *inexact = false;
    for (int c = 0; c < nch; c++)
        if (mpq_sgn(ch[c].rs) != 0) {
            *inexact = true;
            mpq_abs(t, ch[c].s);              /* s = 0 only with g = 0, then rs = 0 */
            mpq_div(t, ch[c].rs, t);
            if (mpq_cmp(t, R) > 0)
                mpq_set(R, t);
        }
    for (int e = 0; e < out->n && !s; e++) {
        const bnch *k = &ch[e / sp];
        int row = out->col[out->rp[e]];
        double *w = ly->W + (size_t)row * (size_t)ly->in;
        for (int j = 0; j < ly->in; j++) {
            if (w[j] == 0.0)
                continue;
            mpq_set_d(q, w[j]);
            mpq_mul(q, q, k->s);
            double d = q_nearest(q, t);
            mpq_set_d(t, d);
            if (!isfinite(d)) {
                s = net__onnx_fail(L, CN_EUNSUPPORTED,
                                   "a weight times the BatchNormalization scale is out of "
                                   "the range of doubles");
                break;
            }
            rounded = rounded || !mpq_equal(t, q);
            w[j] = d;
        }
        if (s)
            break;
        /* bias: b s + t, radius (|b| + |mean|) rs + rounding */
        double b = ly->b[row];
        mpq_set_d(q, b);
        mpq_mul(q, q, k->s);
        mpq_add(q, q, k->t);
        double d = q_nearest(q, t);
        if (!isfinite(d)) {
            s = net__onnx_fail(L, CN_EUNSUPPORTED, "a bias after BatchNormalization is out of "
                               "the range of doubles");
            break;
        }
        mpq_set_d(t, d);
        mpq_sub(r, q, t);
        mpq_abs(r, r);
        if (mpq_sgn(r) != 0)
            *inexact = true;
        mpq_set_d(t, fabs(b) + 0.0);
        mpq_set_d(q, fabs(k->mean));
        mpq_add(t, t, q);
        mpq_mul(t, t, k->rs);
        mpq_add(r, r, t);
        ly->b[row] = d;
        ly->brad[row] = q_up(r, t);
        if (!isfinite(ly->brad[row]))
            s = net__onnx_fail(L, CN_EUNSUPPORTED, "BatchNormalization's enclosure is out of "
                               "the range of doubles");
    }
    if (!s) {
        *inexact = *inexact || rounded;
        if (rounded) {
            mpq_set_d(t, BN_U);
            mpq_set_d(q, 1.0 + BN_U);
            mpq_mul(q, q, R);
            mpq_add(q, q, t);                 /* U + (1 + U) R */
            ly->wrel = q_up(q, t);
            mpq_set_ui(q, 1, 1);
            mpq_add(q, q, R);
            mpq_set_d(t, BN_ETA);
            mpq_mul(q, q, t);                 /* ETA (1 + R) */
            ly->wabs = q_up(q, t);
        } else {
            ly->wrel = q_up(R, t);
            ly->wabs = 0.0;
        }
        bool any = ly->wrel != 0.0 || ly->wabs != 0.0;
        for (int o = 0; o < ly->out && !any; o++)
            any = ly->brad[o] != 0.0;
        if (!any) {
            cn_free(ly->brad);
            ly->brad = NULL;
        }
        if (!isfinite(ly->wrel) || !isfinite(ly->wabs))
            s = net__onnx_fail(L, CN_EUNSUPPORTED, "BatchNormalization's enclosure is out of "
                               "the range of doubles");
    }
    mpq_clears(q, t, r, R, NULL);
    return s;
}

/* BatchNormalization (inference mode) on tensor x.  Where nothing else is
 * live, the chain reader reads it (run_chain_node).  Otherwise, when every
 * channel's s and t are doubles exactly (rs = 0), it is a linear node (w =
 * s, beta = t), exact like any other; else (or when its products round)
 * the live set is flushed with the output's elements as rows of their own
 * (their expressions: x's) and every other expression kept, and those rows
 * are scaled in place with the enclosure of bn_scale_rows.  The output's
 * elements are then +z_r; the layer is the flush's, so a ReLU layer (or
 * the negated copies of merge_selection, which keep the enclosure) follows
 * it as after any flush. */
static cn_status run_bn(dg *D, const dnode *v)
{
    ld *L = D->L;
    const Onnx__NodeProto *n = v->nd;
    cn_status s = CN_OK;
    dten *x = n->n_input ? net__dag_find(D, S(n->input[0])) : NULL;
    if (!x || !x->have)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "its input X is not a computed tensor");
    bool alone = x->uses == 1;
    for (size_t i = 0; i < D->nt && alone; i++)
        alone = &D->t[i] == x || !D->t[i].have || D->t[i].uses == 0;
    if (alone)
        return run_chain_node(D, v);
    if (x->nd < 2 || x->dims[0] != 1 || x->dims[1] < 1)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "input must have shape [1, C, ...]");
    int nch = (int)x->dims[1], sp = x->n / nch;
    double eps;
    cst *prm[4];
    if ((s = net__onnx_bn_read(L, nch, &eps, prm)))
        return s;
    bnch *ch = cn_calloc((size_t)nch, sizeof *ch);
    if (!ch)
        return net__onnx_nomem(L);
    for (int c = 0; c < nch; c++)
        mpq_inits(ch[c].s, ch[c].rs, ch[c].t, NULL);
    bool exact = true;
    mpq_t q;
    mpq_init(q);
    for (int c = 0; c < nch && !s; c++) {
        double g = prm[0]->v[c], beta = prm[1]->v[c], mean = prm[2]->v[c], var = prm[3]->v[c];
        if ((s = net__onnx_bn_scale(L, c, g, var, eps, ch[c].s, ch[c].rs)))
            break;
        ch[c].mean = mean;
        mpq_set_d(q, mean);
        mpq_mul(q, q, ch[c].s);
        mpq_set_d(ch[c].t, beta);
        mpq_sub(ch[c].t, ch[c].t, q);         /* t = beta - mean s */
        mpq_set_d(q, mpq_get_d(ch[c].s));
        exact = exact && mpq_sgn(ch[c].rs) == 0 && mpq_equal(q, ch[c].s);
        mpq_set_d(q, mpq_get_d(ch[c].t));
        exact = exact && mpq_equal(q, ch[c].t);
    }
    mpq_clear(q);
    dten *out = NULL;
    if (!s)
        out = new_tensor(D, x->dims, x->nd, x->stage, count_uses(L, S(n->output[0])));
    bool inexact = true;
    if (!s && exact) {
        lin m;
        if (!(s = net__dag_lin_init(D, &m, x->n))) {
            for (int e = 0; e < x->n && !s; e++) {
                s = net__dag_lin_push(D, &m, mpq_get_d(ch[e / sp].s), 0, e);
                net__dag_lin_row(&m, e, mpq_get_d(ch[e / sp].t));
            }
            if (!s)
                s = apply(D, &m, &x, out, &inexact);
            lin_free(&m);
        }
    }
    if (!s && inexact) {
        /* out's expressions: x's, each to a row of its own */
        size_t nz = (size_t)x->rp[x->n];
        out->rp = cn_mallocarray((size_t)x->n + 1, sizeof *out->rp);
        out->col = cn_mallocarray(nz ? nz : 1, sizeof *out->col);
        out->val = cn_mallocarray(nz ? nz : 1, sizeof *out->val);
        out->b = cn_mallocarray((size_t)x->n, sizeof *out->b);
        out->n = x->n;
        out->have = true;
        if (!out->rp || !out->col || !out->val || !out->b) {
            s = net__onnx_nomem(L);
        } else {
            memcpy(out->rp, x->rp, ((size_t)x->n + 1) * sizeof *out->rp);
            if (nz > 0) { /* (no terms: x's arrays may be NULL) */
                memcpy(out->col, x->col, nz * sizeof *out->col);
                memcpy(out->val, x->val, nz * sizeof *out->val);
            }
            if (x->n > 0)
                memcpy(out->b, x->b, (size_t)x->n * sizeof *out->b);
        }
        release_inputs(D);
        dten **lv = NULL;
        size_t nl = 0;
        int *pol = NULL;
        if (!s && out->uses > 0 && !(s = live_set(D, &lv, &nl)) &&
            !(pol = cn_mallocarray(nl, sizeof *pol)))
            s = net__onnx_nomem(L);
        if (!s && out->uses > 0) {
            for (size_t i = 0; i < nl; i++)
                pol[i] = lv[i] == out ? KEEP_NONE : KEEP_ALL;
            int nl0 = L->n->n_layers;
            if (!(s = flush(D, nl, lv, pol, NULL, NULL))) {
                net_layer *ly = &L->n->layers[L->n->n_layers - 1];
                bool inx = false;
                if (L->n->n_layers != nl0 + 1 || ly->op != NET_DENSE || ly->brad)
                    s = net__onnx_fail(L, CN_EINTERNAL, "BatchNormalization flush bookkeeping");
                else if (!(s = bn_scale_rows(D, ly, out, sp, ch, nch, &inx))) {
                    D->bn_layer = L->n->n_layers;
                    for (int e = 0; e < out->n; e++)
                        D->nn[out->col[out->rp[e]]] = false;
                    if (inx)
                        L->exact = false;
                }
            }
        }
        cn_free(pol);
        cn_free(lv);
    } else if (!s) {
        release_inputs(D);
    }
    if (!s)
        L->folded++;
    for (int c = 0; c < nch; c++)
        mpq_clears(ch[c].s, ch[c].rs, ch[c].t, NULL);
    cn_free(ch);
    return s;
}

/* Whether node v's computed input is the only live tensor and v its only
 * reader (where run_chain_node reads it). */
static bool narrowed(dg *D, const dnode *v)
{
    const Onnx__NodeProto *n = v->nd;
    dten *x = NULL;
    for (size_t j = 0; j < n->n_input; j++) {
        dten *t = *S(n->input[j]) ? net__dag_find(D, n->input[j]) : NULL;
        if (t && x && t != x)
            return false;
        x = t ? t : x;
    }
    if (!x || !x->have || x->uses != 1)
        return false;
    for (size_t i = 0; i < D->nt; i++)
        if (&D->t[i] != x && D->t[i].have && D->t[i].uses > 0)
            return false;
    return true;
}

static cn_status run_linear(dg *D, const dnode *v)
{
    ld *L = D->L;
    const char *op = S(v->nd->op_type);
    bool avg = !strcmp(op, "AveragePool") || !strcmp(op, "GlobalAveragePool");
    if (!strcmp(op, "BatchNormalization"))
        return run_bn(D, v);
    if (chain_only(op) && (!avg || narrowed(D, v)))
        return run_chain_node(D, v);
    job J;
    memset(&J, 0, sizeof J);
    J.D = D;
    cn_status s;
    if (!strcmp(op, "Add") || !strcmp(op, "Sub") || !strcmp(op, "Mul") || !strcmp(op, "Div"))
        s = net__dag_op_arith(&J, op[0]);
    else if (!strcmp(op, "Gemm"))
        s = net__dag_op_gemm(&J);
    else if (!strcmp(op, "MatMul"))
        s = net__dag_op_matmul(&J);
    else if (!strcmp(op, "Conv"))
        s = net__dag_op_conv(&J);
    else if (!strcmp(op, "Transpose"))
        s = net__dag_op_transpose(&J);
    else if (!strcmp(op, "Slice"))
        s = net__dag_op_slice(&J);
    else if (!strcmp(op, "Pad"))
        s = net__dag_op_pad(&J);
    else if (!strcmp(op, "Concat"))
        s = net__dag_op_concat(&J);
    else if (avg)
        s = net__dag_op_avgpool(&J, op[0] == 'G');
    else if (!strcmp(op, "Flatten") || !strcmp(op, "Reshape") || !strcmp(op, "Identity") ||
             !strcmp(op, "Dropout") || !strcmp(op, "Softmax"))
        s = net__dag_op_shape(&J, op);
    else
        s = net__onnx_fail(L, CN_EUNSUPPORTED,
                           "unsupported operator in a graph that is not a chain; supported "
                           "there: %s", dag_ops);
    if (!s && !strcmp(op, "Softmax") &&
        (count_uses(L, S(v->nd->output[0])) != 1 ||
         strcmp(S(v->nd->output[0]), S(L->g->output[0]->name)) != 0))
        s = net__onnx_fail(L, CN_EUNSUPPORTED, "Softmax is supported only as the last node");
    if (!s && J.ntin == 0)
        s = net__onnx_fail(L, CN_EUNSUPPORTED, "reads no computed tensor (constant folding is "
                           "unsupported)");
    int stage = 0;
    for (int i = 0; i < J.ntin; i++)
        stage = J.tin[i]->stage > stage ? J.tin[i]->stage : stage;
    if (!s) {
        dten *out = new_tensor(D, J.od, J.ond, stage, count_uses(L, S(v->nd->output[0])));
        bool inexact;
        s = apply(D, &J.m, J.tin, out, &inexact);
        if (!s && inexact) {
            if (!(s = flush_all(D, KEEP_STRICT)) && !(s = apply(D, &J.m, J.tin, out, &inexact)) &&
                inexact)
                s = net__onnx_fail(L, CN_EUNSUPPORTED,
                                   "coefficients that meet on one value sum inexactly in double");
        }
        if (!s)
            release_inputs(D);
    }
    lin_free(&J.m);
    return s;
}

/* After the ReLU layer of a flush with pairs: each term a z_c of t whose
 * value c was paired with row p becomes a z_c - a z_p (relu(y) - relu(-y) =
 * y; a is +-1, so -a is exact). */
static cn_status cross_pairs(dg *D, dten *t, const int *pair)
{
    int nz = 0;
    for (int e = 0; e < t->n; e++)
        for (int j = t->rp[e]; j < t->rp[e + 1]; j++)
            nz += 1 + (pair[t->col[j]] >= 0);
    if (nz == t->rp[t->n])
        return CN_OK;
    int *rp = cn_mallocarray((size_t)t->n + 1, sizeof *rp);
    int *col = cn_mallocarray((size_t)nz, sizeof *col);
    double *val = cn_mallocarray((size_t)nz, sizeof *val);
    if (!rp || !col || !val) {
        cn_free(rp), cn_free(col), cn_free(val);
        return net__onnx_nomem(D->L);
    }
    int k = 0;
    rp[0] = 0;
    for (int e = 0; e < t->n; e++) {
        for (int j = t->rp[e]; j < t->rp[e + 1]; j++) {
            int c = t->col[j], p = pair[c];
            col[k] = c;
            val[k++] = t->val[j];
            if (p >= 0) {
                col[k] = p;
                val[k++] = -t->val[j];
            }
        }
        rp[e + 1] = k;
    }
    cn_free(t->rp), cn_free(t->col), cn_free(t->val);
    t->rp = rp;
    t->col = col;
    t->val = val;
    return CN_OK;
}

/* The Relu nodes rs[nr] of one stage: one ReLU layer. */
static cn_status run_relus(dg *D, const dnode *const *rs, size_t nr, int stage)
{
    ld *L = D->L;
    cn_status s;
    dten **in = cn_mallocarray(nr, sizeof *in);
    if (!in)
        return net__onnx_nomem(L);
    for (size_t i = 0; i < nr; i++) {
        L->node = rs[i]->nd;
        L->node_idx = rs[i]->idx;
        const Onnx__NodeProto *n = rs[i]->nd;
        if ((s = net__onnx_attrs_known(L, net__onnx_no_attrs)))
            goto done;
        if (n->n_input != 1 || !(in[i] = net__dag_find(D, S(n->input[0]))) || !in[i]->have) {
            s = net__onnx_fail(L, CN_EUNSUPPORTED, "expected one computed input");
            goto done;
        }
    }
    /* live after the layer: reads to come beyond these Relus */
    for (size_t i = 0; i < nr; i++)
        in[i]->uses--;
    dten **lv;
    size_t nl;
    if ((s = live_set(D, &lv, &nl)))
        goto done;
    dten **all = cn_mallocarray(nl + nr, sizeof *all);
    int *pol = cn_mallocarray(nl + nr, sizeof *pol), *pair = NULL;
    bool *cross = cn_mallocarray(nl + nr, sizeof *cross);
    size_t na = 0;
    if (!all || !pol || !cross) {
        s = net__onnx_nomem(L);
        goto done2;
    }
    for (size_t i = 0; i < nl; i++) {
        all[na] = lv[i];
        pol[na++] = KEEP_CROSS;
    }
    for (size_t i = 0; i < nr; i++) {
        size_t j = 0;
        while (j < na && all[j] != in[i])
            j++;
        if (j == na)
            all[na++] = in[i];
        pol[j] = KEEP_POS;
    }
    /* what stays live crosses the layer: a value that may be negative as a
     * pair of rows, y and -y */
    for (size_t i = 0; i < na; i++) {
        cross[i] = false;
        for (size_t j = 0; j < nl; j++)
            cross[i] = cross[i] || all[i] == lv[j];
    }
    L->node = rs[0]->nd;
    L->node_idx = rs[0]->idx;
    if ((s = flush(D, na, all, pol, cross, &pair)))
        goto done2;
    cn_err e2;
    if (!net_add_relu(L->n, &e2)) {
        s = net__onnx_fail(L, e2.status, "%s", e2.msg);
        goto done2;
    }
    for (int j = 0; j < D->width; j++)
        D->nn[j] = true;
    for (size_t i = 0; i < nr && !s; i++) {
        L->node = rs[i]->nd;
        L->node_idx = rs[i]->idx;
        dten *x = net__dag_find(D, S(rs[i]->nd->input[0]));
        dten *out = new_tensor(D, x->dims, x->nd, stage, count_uses(L, S(rs[i]->nd->output[0])));
        lin m;
        bool inexact;
        if ((s = net__dag_lin_init(D, &m, x->n)))
            break;
        for (int e = 0; e < x->n && !s; e++) {
            int k = x->rp[e + 1] - x->rp[e];
            if (k)
                s = net__dag_lin_push(D, &m, 1.0, 0, e);
            net__dag_lin_row(&m, e, k ? 0.0 : fmax(x->b[e], 0.0));
        }
        if (!s)
            s = apply(D, &m, &x, out, &inexact);
        lin_free(&m);
    }
    /* y = relu(y) - relu(-y), once the Relus' outputs are read */
    for (size_t i = 0; i < nl && pair && !s; i++)
        s = cross_pairs(D, lv[i], pair);
    for (size_t i = 0; i < nr && !s; i++)  /* their reads were counted before the layer */
        if (in[i]->uses == 0 && in[i]->have)
            expr_free(in[i]);
done2:
    cn_free(all);
    cn_free(pol);
    cn_free(cross);
    cn_free(pair);
    cn_free(lv);
done:
    cn_free(in);
    return s;
}

/* ------------------------------------------------------------------------ */
/* Order                                                                     */
/* ------------------------------------------------------------------------ */

static bool is_relu(const Onnx__NodeProto *n) { return is_op(n, "Relu"); }

static int producer_of(const dg *D, const char *t)
{
    for (size_t i = 0; i < D->nv; i++)
        if (D->v[i].nd->n_output && strcmp(S(D->v[i].nd->output[0]), t) == 0)
            return (int)i;
    return -1;
}

/* Sorts D->v topologically (file order among the ready ones) and computes
 * the stages and phases; *S_out: the number of ReLU layers. */
static cn_status order(dg *D, const char *input, int *S_out)
{
    ld *L = D->L;
    size_t nv = D->nv;
    char nm[96];
    dnode *o = cn_mallocarray(nv ? nv : 1, sizeof *o);
    bool *done = cn_calloc(nv ? nv : 1, sizeof *done);
    int **pr = cn_calloc(nv ? nv : 1, sizeof *pr);
    cn_status s = CN_OK;
    if (!o || !done || !pr) {
        s = net__onnx_nomem(L);
        goto out;
    }
    for (size_t i = 0; i < nv && !s; i++) {
        const Onnx__NodeProto *n = D->v[i].nd;
        L->node = n;
        L->node_idx = D->v[i].idx;
        if (n->n_output < 1 || !*S(n->output[0]))
            s = net__onnx_fail(L, CN_EPARSE, "node has no output");
        else if (!(pr[i] = cn_mallocarray(n->n_input + 1, sizeof **pr)))
            s = net__onnx_nomem(L);
        for (size_t j = 0; !s && j < n->n_input; j++) {
            const char *t = S(n->input[j]);
            pr[i][j] = -1;
            if (!*t || net__onnx_const_find(L, t) || !strcmp(t, input))
                continue;
            if ((pr[i][j] = producer_of(D, t)) < 0)
                s = net__onnx_fail(L, CN_EPARSE,
                                   "input '%s' is not defined by any initializer, Constant, "
                                   "node or graph input", net__onnx_clean(nm, sizeof nm, t));
        }
        for (size_t j = 0; !s && j < i; j++)
            if (!strcmp(S(D->v[j].nd->output[0]), S(n->output[0])) ||
                net__onnx_const_find(L, n->output[0]) || !strcmp(S(n->output[0]), input))
                s = net__onnx_fail(L, CN_EPARSE, "output '%s' is defined twice",
                                   net__onnx_clean(nm, sizeof nm, n->output[0]));
    }
    size_t k = 0;
    while (!s && k < nv) {
        size_t pick = nv;
        for (size_t i = 0; i < nv && pick == nv; i++) {
            if (done[i])
                continue;
            bool ready = true;
            for (size_t j = 0; j < D->v[i].nd->n_input && ready; j++)
                ready = pr[i][j] < 0 || done[pr[i][j]];
            if (ready)
                pick = i;
        }
        if (pick == nv) {
            L->node = NULL;
            s = net__onnx_fail(L, CN_EPARSE, "the graph has a cycle");
            break;
        }
        int m = 0;
        for (size_t j = 0; j < D->v[pick].nd->n_input; j++)
            if (pr[pick][j] >= 0) {
                int p = pr[pick][j];
                int so = D->v[p].stage;
                m = so > m ? so : m;
            }
        D->v[pick].relu = is_relu(D->v[pick].nd);
        D->v[pick].stage = m + D->v[pick].relu;
        done[pick] = true;
        o[k++] = D->v[pick];
    }
    if (!s) {
        int ns = 0;
        for (size_t i = 0; i < nv; i++)
            ns = o[i].stage > ns ? o[i].stage : ns;
        /* phases, latest first: before the first ReLU layer that needs it */
        for (size_t i = nv; i-- > 0;) {
            int ph = ns + 1;
            const char *out = S(o[i].nd->output[0]);
            for (size_t c = i + 1; c < nv; c++)
                for (size_t j = 0; j < o[c].nd->n_input; j++)
                    if (!strcmp(S(o[c].nd->input[j]), out)) {
                        int need = o[c].relu ? o[c].stage : o[c].phase;
                        ph = need < ph ? need : ph;
                    }
            o[i].phase = ph;
        }
        memcpy(D->v, o, nv * sizeof *o);
        *S_out = ns;
    }
out:
    if (pr)
        for (size_t i = 0; i < nv; i++)
            cn_free(pr[i]);
    cn_free(pr);
    cn_free(done);
    cn_free(o);
    return s;
}

/* ------------------------------------------------------------------------ */
/* Entry points                                                              */
/* ------------------------------------------------------------------------ */

/* An initializer or a Constant node's output (Constant nodes are read
 * later, so the table does not know them yet). */
static bool constant_name(const ld *L, const char *t)
{
    if (net__onnx_const_find(L, t))
        return true;
    for (size_t i = 0; i < L->g->n_node; i++)
        if (is_op(L->g->node[i], "Constant") && L->g->node[i]->n_output == 1 &&
            strcmp(S(L->g->node[i]->output[0]), t) == 0)
            return true;
    return false;
}

bool net__onnx_dag_wanted(const ld *L)
{
    for (size_t i = 0; i < L->g->n_node; i++) {
        const Onnx__NodeProto *n = L->g->node[i];
        if (is_op(n, "Concat") || is_op(n, "Transpose") || is_op(n, "Slice"))
            return true;
        if (is_op(n, "Constant") || is_op(n, "Add"))
            continue;
        size_t k = 0;
        for (size_t j = 0; j < n->n_input; j++)
            k += *S(n->input[j]) && !constant_name(L, n->input[j]);
        if (k > 1)
            return true;
    }
    return false;
}

static void dg_free(dg *D)
{
    for (size_t i = 0; i < D->nt; i++)
        expr_free(&D->t[i]);
    cn_free(D->t);
    cn_free(D->v);
    cn_free(D->nn);
    cn_free(D->acc);
    cn_free(D->stamp);
    cn_free(D->touched);
    cn_free(D->pre);
}

/* The chain before the first fork: while the current tensor is read by one
 * node only (and is not the graph output), that node reads nothing else
 * computed and is no Concat, Transpose, Slice or Pad, the chain reader reads
 * it (folding normalisation and BatchNormalization as in any chain); its
 * pending layer is then appended. */
static cn_status prefix(dg *D)
{
    ld *L = D->L;
    const Onnx__GraphProto *g = L->g;
    cn_status s;
    for (;;) {
        size_t at = SIZE_MAX, k = 0;
        for (size_t i = 0; i < g->n_node; i++)
            if (!is_op(g->node[i], "Constant"))
                for (size_t j = 0; j < g->node[i]->n_input; j++)
                    if (strcmp(S(g->node[i]->input[j]), L->cur) == 0) {
                        k++;
                        at = i;
                    }
        if (k != 1 || strcmp(S(g->output[0]->name), L->cur) == 0)
            break;
        const Onnx__NodeProto *n = g->node[at];
        if (is_op(n, "Concat") || is_op(n, "Transpose") || is_op(n, "Slice") || is_op(n, "Pad"))
            break;
        bool other = false;
        for (size_t j = 0; j < n->n_input; j++)
            other = other || (*S(n->input[j]) && strcmp(S(n->input[j]), L->cur) != 0 &&
                              !net__onnx_const_find(L, n->input[j]));
        if (other)
            break;
        L->node = n;
        L->node_idx = at;
        if (D->pre[at])   /* (found by fuzz_onnx: the walk went round forever) */
            return net__onnx_fail(L, CN_EPARSE,
                                  "reached twice along the chain: a tensor is defined twice "
                                  "or the graph has a cycle");
        if ((s = net__onnx_read_node(L)))
            return s;
        D->pre[at] = true;
    }
    L->node = NULL;
    if ((s = net__onnx_flush(L)) || (s = net__onnx_materialize(L)))
        return s;
    if (L->n->n_layers && net_out_size(L->n) != net__onnx_cur_size(L))
        return net__onnx_fail(L, CN_EINTERNAL, "chain prefix size bookkeeping");
    return CN_OK;
}

static cn_status dag_run(dg *D)
{
    ld *L = D->L;
    const Onnx__GraphProto *g = L->g;
    cn_status s;
    for (L->node_idx = 0; L->node_idx < g->n_node; L->node_idx++) {
        L->node = g->node[L->node_idx];
        if (is_op(L->node, "Constant") && (s = net__onnx_read_node(L)))
            return s;
    }
    L->node = NULL;
    if (!(D->pre = cn_calloc(g->n_node ? g->n_node : 1, sizeof *D->pre)))
        return net__onnx_nomem(L);
    if ((s = prefix(D)))
        return s;
    D->v = cn_mallocarray(g->n_node ? g->n_node : 1, sizeof *D->v);
    D->t = cn_mallocarray(g->n_node + 1, sizeof *D->t);
    if (!D->v || !D->t)
        return net__onnx_nomem(L);
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        if (is_op(n, "Constant") || D->pre[i])
            continue;
        L->node = n;
        L->node_idx = i;
        const char *dom = S(n->domain);
        char nm[96];
        if (*dom && strcmp(dom, "ai.onnx") != 0)
            return net__onnx_fail(L, CN_EUNSUPPORTED, "operator domain '%s' is not supported",
                                  net__onnx_clean(nm, sizeof nm, dom));
        size_t mo = is_op(n, "Dropout") ? 2 : 1;
        if (n->n_output > mo)
            return net__onnx_fail(L, CN_EUNSUPPORTED, "expected one output, got %zu",
                                  n->n_output);
        D->v[D->nv++] = (dnode){n, i, 0, 0, false};
    }
    L->node = NULL;
    const char *input = L->cur;
    int ns = 0;
    if ((s = order(D, input, &ns)))
        return s;
    /* the graph input: z itself */
    dten *x = &D->t[D->nt++];
    memset(x, 0, sizeof *x);
    x->name = input;
    x->nd = L->nd;
    memcpy(x->dims, L->dims, sizeof x->dims);
    x->n = net__onnx_cur_size(L);
    x->uses = count_uses(L, input);
    D->width = x->n;
    x->rp = cn_mallocarray((size_t)x->n + 1, sizeof *x->rp);
    x->col = cn_mallocarray((size_t)x->n, sizeof *x->col);
    x->val = cn_mallocarray((size_t)x->n, sizeof *x->val);
    x->b = cn_calloc((size_t)x->n, sizeof *x->b);
    D->nn = cn_calloc((size_t)x->n, sizeof *D->nn);
    if (!x->rp || !x->col || !x->val || !x->b || !D->nn)
        return net__onnx_nomem(L);
    int nl = L->n->n_layers;               /* the prefix ends in a ReLU (or sigmoid) */
    if (nl && (L->n->layers[nl - 1].op == NET_RELU || L->n->layers[nl - 1].op == NET_SIGMOID))
        for (int i = 0; i < x->n; i++)
            D->nn[i] = true;
    x->have = true;
    for (int i = 0; i <= x->n; i++)
        x->rp[i] = i;
    for (int i = 0; i < x->n; i++) {
        x->col[i] = i;
        x->val[i] = 1.0;
    }
    for (int ph = 1; ph <= ns + 1; ph++) {
        for (size_t i = 0; i < D->nv; i++)
            if (!D->v[i].relu && D->v[i].phase == ph) {
                L->node = D->v[i].nd;
                L->node_idx = D->v[i].idx;
                if ((s = run_linear(D, &D->v[i])))
                    return s;
            }
        if (ph > ns)
            break;
        const dnode **rs = cn_mallocarray(D->nv, sizeof *rs);
        size_t nr = 0;
        if (!rs)
            return net__onnx_nomem(L);
        for (size_t i = 0; i < D->nv; i++)
            if (D->v[i].relu && D->v[i].stage == ph)
                rs[nr++] = &D->v[i];
        s = run_relus(D, rs, nr, ph);
        cn_free(rs);
        if (s)
            return s;
    }
    /* the output, in order, as the chain's last vector */
    L->node = NULL;
    char nm[96];
    const char *yn = S(g->output[0]->name);
    dten *y = net__dag_find(D, yn);
    if (!y || !y->have)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "graph output '%s' is not a computed tensor",
                              net__onnx_clean(nm, sizeof nm, yn));
    bool ident = y->n == D->width;
    for (int e = 0; e < y->n && ident; e++)
        ident = y->rp[e + 1] - y->rp[e] == 1 && y->col[y->rp[e]] == e &&
                y->val[y->rp[e]] == 1.0 && y->b[e] == 0.0;
    if (!ident) {
        int pol = KEEP_NONE;
        if ((s = flush(D, 1, &y, &pol, NULL, NULL)))
            return s;
    }
    L->cur = y->name;
    L->nd = y->nd;
    memcpy(L->dims, y->dims, sizeof L->dims);
    return CN_OK;
}

/* Reads the whole graph by the scheme at the top of this file. */
cn_status net__onnx_dag(ld *L)
{
    dg D;
    memset(&D, 0, sizeof D);
    D.L = L;
    cn_status s = dag_run(&D);
    dg_free(&D);
    return s;
}

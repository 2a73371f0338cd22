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
 * the whole vector.  Every other live tensor crosses that ReLU unchanged
 * only if each z_j it reads is known to be >= 0: z_j is the output of an
 * earlier ReLU, or a row with a nonnegative bias and nonnegative
 * coefficients on such values.  If a tensor that may be negative would have
 * to cross, the load is refused naming the Relu node and the tensor.  To
 * keep such crossings rare, the nodes run in phases: Relu node r runs in the
 * ReLU layer s(r) = 1 + the largest s of the Relus before it (all Relus of a
 * phase share one layer), and a linear node runs as late as possible, just
 * before the first layer that needs its output.
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
 * route reads.  A dense layer
 * above 2^26 entries is refused naming the node that needed it.  The
 * residual blocks of onnx_residual.c are lowered there, as convolutions
 * (the dense layers here would be far too large for a ResNet); this route
 * reads the graphs that walk refuses, and those with a Concat, Transpose or
 * Slice or another join.
 */
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "models/onnx_int.h"

#define DAG_MAX_LAYER ((int64_t)1 << 26)   /* entries of one dense layer */
#define DAG_MAX_TERMS ((size_t)1 << 26)    /* terms of one tensor's expressions */

/* A computed tensor: dims and, while live, its elements' expressions in
 * compressed rows over the chain vector. */
typedef struct {
    const char *name;
    int nd;
    int64_t dims[MAX_RANK];
    int n;
    int *rp, *col;                 /* rp[n+1]; col[rp[n]] */
    double *val, *b;               /* val[rp[n]], b[n] */
    int uses;                      /* reads still to come (+1: the graph output) */
    int stage;                     /* ReLU layers it has passed */
    bool have;
} dten;

typedef struct {
    const Onnx__NodeProto *nd;
    size_t idx;                    /* index in the file */
    int stage, phase;
    bool relu;
} dnode;

typedef struct {
    ld *L;
    dten *t;
    size_t nt;
    dnode *v;
    size_t nv;
    int width;                     /* the chain vector's length */
    bool *nn;                      /* [width]: known >= 0 */
    double *acc;                   /* scratch [width] */
    int *stamp, *touched, cur;
    int cap;                       /* scratch capacity */
    bool *pre;                     /* [n_node]: read by the chain prefix */
} dg;

/* A linear node's map: output o = beta[o] + sum over k in [rp[o], rp[o+1])
 * of w[k] * (input slot[k], element el[k]). */
typedef struct {
    int n;
    int *rp, *slot, *el;
    double *w, *beta;
    size_t nk, capk;
} lin;

static bool is_op(const Onnx__NodeProto *n, const char *op) { return strcmp(S(n->op_type), op) == 0; }

/* ------------------------------------------------------------------------ */
/* Exact arithmetic checks (round-to-nearest, set by the loader)             */
/* ------------------------------------------------------------------------ */

/* *p = w a when that product is a double exactly. */
static bool mul_exact(double w, double a, double *p)
{
    if (w == 1.0 || a == 1.0) {
        *p = w == 1.0 ? a : w;
        return true;
    }
    if (w == -1.0 || a == -1.0) {
        *p = w == -1.0 ? -a : -w;
        return true;
    }
    if (w == 0.0 || a == 0.0) {
        *p = 0.0;
        return true;
    }
    double q = w * a;
    *p = q;
    return isfinite(q) && fabs(q) >= 0x1p-900 && fma(w, a, -q) == 0.0;
}

/* *s = x + y when that sum is a double exactly (two-sum). */
static bool add_exact(double x, double y, double *s)
{
    double t = x + y;
    if (!isfinite(t))
        return false;
    double bb = t - x;
    *s = t;
    return (x - (t - bb)) + (y - bb) == 0.0;
}

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

static dten *find_t(dg *D, const char *name)
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

static cn_status lin_init(dg *D, lin *m, int64_t n)
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
static cn_status lin_push(dg *D, lin *m, double w, int slot, int el)
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
static void lin_row(lin *m, int o, double beta)
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
            if (x->b[e] != 0.0 && (!mul_exact(w, x->b[e], &p) || !add_exact(bias, p, &bias)))
                goto inexact;
            for (int j = x->rp[e]; j < x->rp[e + 1]; j++) {
                int c = x->col[j];
                if (!mul_exact(w, x->val[j], &p))
                    goto inexact;
                if (D->stamp[c] != D->cur) {
                    D->stamp[c] = D->cur;
                    D->acc[c] = p;
                    D->touched[nt++] = c;
                } else if (!add_exact(D->acc[c], p, &D->acc[c])) {
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

enum { KEEP_PLAIN, KEEP_STRICT, KEEP_POS, KEEP_NONE };

/* May element e of t stay as it is (no row of its own) under policy pol? */
static bool keeps(const dten *t, int e, int pol)
{
    int k = t->rp[e + 1] - t->rp[e];
    if (pol == KEEP_NONE)
        return false;
    if (k == 0)
        return pol != KEEP_STRICT || t->b[e] == 0.0;
    if (k != 1 || t->b[e] != 0.0)
        return false;
    double a = t->val[t->rp[e]];
    return a == 1.0 || (a == -1.0 && pol != KEEP_POS);
}

/* One dense layer whose rows are the live elements that may not stay (by
 * pol[i] for live tensor live[i]) and identity rows for the values the others
 * read; afterwards every live element is +-z_j or a constant. */
static cn_status flush(dg *D, size_t nl, dten *const *live, const int *pol)
{
    ld *L = D->L;
    cn_status s = CN_OK;
    int W = D->width;
    int *map = cn_mallocarray(W ? (size_t)W : 1, sizeof *map);
    int64_t rows = 0, cnt = 0;
    if (!map)
        return net__onnx_nomem(L);
    for (int j = 0; j < W; j++)
        map[j] = -1;
    /* new positions: identity rows first come first; then element rows */
    for (size_t i = 0; i < nl; i++)
        for (int e = 0; e < live[i]->n; e++) {
            const dten *t = live[i];
            if (!keeps(t, e, pol[i]))
                cnt++;
            else if (t->rp[e + 1] > t->rp[e] && map[t->col[t->rp[e]]] < 0)
                map[t->col[t->rp[e]]] = (int)rows++;
        }
    rows += cnt;
    if (rows < 1 || rows > MAX_ELEMWISE) {
        cn_free(map);
        return net__onnx_fail(L, rows < 1 ? CN_EUNSUPPORTED : CN_ELIMIT,
                              rows < 1 ? "the graph's values do not depend on its input"
                                       : "the live tensors hold %lld values; at most %d",
                              (long long)rows, MAX_ELEMWISE);
    }
    bool ident = rows == W && cnt == 0;
    for (int j = 0; j < W && ident; j++)
        ident = map[j] == j;
    if (ident) {
        cn_free(map);
        return CN_OK;
    }
    if (rows * (int64_t)(W ? W : 1) > DAG_MAX_LAYER) {
        cn_free(map);
        return net__onnx_fail(L, CN_ELIMIT,
                              "lowering the graph needs a dense layer of %lld x %d entries; at "
                              "most 2^26 are supported", (long long)rows, W);
    }
    cn_err e2;
    net_layer *ly = net_add_dense(L->n, (int)rows, &e2);
    bool *nn = cn_calloc((size_t)rows, sizeof *nn);
    if (!ly || !nn) {
        cn_free(map);
        cn_free(nn);
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
        int *col = cn_mallocarray((size_t)t->n, sizeof *col);
        double *val = cn_mallocarray((size_t)t->n, sizeof *val);
        int *rp = cn_mallocarray((size_t)t->n + 1, sizeof *rp);
        if (!col || !val || !rp) {
            cn_free(col), cn_free(val), cn_free(rp);
            s = net__onnx_nomem(L);
            break;
        }
        int nz = 0;
        rp[0] = 0;
        for (int e = 0; e < t->n; e++) {
            if (!keeps(t, e, pol[i])) {
                bool pos = t->b[e] >= 0.0;
                for (int j = t->rp[e]; j < t->rp[e + 1]; j++) {
                    ly->W[(size_t)r * (size_t)W + (size_t)t->col[j]] = t->val[j];
                    pos = pos && t->val[j] >= 0.0 && D->nn[t->col[j]];
                }
                ly->b[r] = t->b[e];
                nn[r] = pos;
                col[nz] = r++;
                val[nz++] = 1.0;
                t->b[e] = 0.0;
            } else if (t->rp[e + 1] > t->rp[e]) {
                col[nz] = map[t->col[t->rp[e]]];
                val[nz++] = t->val[t->rp[e]];
            }
            rp[e + 1] = nz;
        }
        cn_free(t->rp), cn_free(t->col), cn_free(t->val);
        t->rp = rp;
        t->col = col;
        t->val = val;
    }
    cn_free(map);
    cn_free(D->nn);
    D->nn = nn;
    D->width = (int)rows;
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
    s = flush(D, nl, lv, p);
    cn_free(p);
    cn_free(lv);
    return s;
}

/* ------------------------------------------------------------------------ */
/* Shapes and broadcasting                                                   */
/* ------------------------------------------------------------------------ */

static int64_t prod(const int64_t *d, int nd) { return net__onnx_dims_prod(d, nd, false); }

/* For each element of an od[ond] tensor, the index of the element of an
 * id[ind] tensor that broadcasts onto it (ind <= ond, dims equal or 1). */
static void bc_index(const int64_t *od, int ond, const int64_t *id, int ind, int *idx)
{
    int64_t n = prod(od, ond), cnt[MAX_RANK] = {0}, str[MAX_RANK];
    int64_t st = 1;
    for (int j = ond - 1; j >= 0; j--) {
        int k = j - (ond - ind);
        int64_t d = k >= 0 ? id[k] : 1;
        str[j] = d == 1 ? 0 : st;
        st *= d;
    }
    int64_t at = 0;
    for (int64_t i = 0; i < n; i++) {
        idx[i] = (int)at;
        for (int j = ond - 1; j >= 0; j--) {
            at += str[j];
            if (++cnt[j] < od[j])
                break;
            at -= str[j] * cnt[j];
            cnt[j] = 0;
        }
    }
}

/* Numpy broadcasting of two shapes. */
static cn_status bc_dims(dg *D, const int64_t *a, int na, const int64_t *b, int nb, int64_t *o,
                         int *no)
{
    char b1[128], b2[128];
    int r = na > nb ? na : nb;
    for (int j = 0; j < r; j++) {
        int64_t x = j < na ? a[na - 1 - j] : 1, y = j < nb ? b[nb - 1 - j] : 1;
        if (x != y && x != 1 && y != 1)
            return net__onnx_fail(D->L, CN_EPARSE, "shapes %s and %s do not broadcast",
                                  net__onnx_fmt_dims(b1, sizeof b1, a, na),
                                  net__onnx_fmt_dims(b2, sizeof b2, b, nb));
        o[r - 1 - j] = x == 1 ? y : x;
    }
    *no = r;
    return CN_OK;
}

/* ------------------------------------------------------------------------ */
/* Operands                                                                  */
/* ------------------------------------------------------------------------ */

/* An input of a node: a computed tensor or a float constant. */
typedef struct {
    dten *t;                       /* or NULL */
    cst *k;                        /* or NULL */
    int nd;
    const int64_t *dims;
} opnd;

static cn_status operand(dg *D, size_t i, opnd *o)
{
    ld *L = D->L;
    memset(o, 0, sizeof *o);
    const char *name = S(L->node->input[i]);
    if ((o->t = find_t(D, name))) {
        o->nd = o->t->nd;
        o->dims = o->t->dims;
        return CN_OK;
    }
    cn_status s = net__onnx_node_const(L, i, "input", &o->k);
    if (s)
        return s;
    o->nd = o->k->nd;
    o->dims = o->k->dims;
    return CN_OK;
}

/* Element e of operand o as slot/constant: pushes w * o[e] into row. */
static cn_status push_opnd(dg *D, lin *m, const opnd *o, int slot, int e, double w,
                           double *beta)
{
    if (o->t)
        return lin_push(D, m, w, slot, e);
    double p;
    if (!mul_exact(w, o->k->v[e], &p) || !add_exact(*beta, p, beta))
        return net__onnx_fail(D->L, CN_EUNSUPPORTED,
                              "a constant operand's contribution is not a double exactly");
    return CN_OK;
}

/* ------------------------------------------------------------------------ */
/* Linear operators                                                          */
/* ------------------------------------------------------------------------ */

/* Each builder reads L->node and fills the map m (slots index tin) and the
 * output dims od/ond. */
typedef struct {
    dg *D;
    lin m;
    dten *tin[8];
    int ntin;
    int64_t od[MAX_RANK];
    int ond;
} job;

static int slot_of(job *J, dten *t)
{
    for (int i = 0; i < J->ntin; i++)
        if (J->tin[i] == t)
            return i;
    J->tin[J->ntin] = t;
    return J->ntin++;
}

/* Add, Sub (any two operands, broadcast), Mul and Div (one constant). */
static cn_status op_arith(job *J, char op)
{
    dg *D = J->D;
    ld *L = D->L;
    static const char *const known[] = {"consumed_inputs", NULL};
    opnd a, b;
    cn_status s;
    if ((s = net__onnx_attrs_known(L, known)))
        return s;
    if (L->node->n_input != 2)
        return net__onnx_fail(L, CN_EPARSE, "expected 2 inputs, got %zu", L->node->n_input);
    if ((s = operand(D, 0, &a)) || (s = operand(D, 1, &b)))
        return s;
    if ((op == 'M' || op == 'D') && a.t && b.t)
        return net__onnx_fail(L, CN_EUNSUPPORTED,
                              "multiplies two computed tensors; not an affine map");
    if (op == 'D' && b.t)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "dividing by a computed tensor is not affine");
    if ((s = bc_dims(D, a.dims, a.nd, b.dims, b.nd, J->od, &J->ond)))
        return s;
    int64_t n = prod(J->od, J->ond);
    if ((s = lin_init(D, &J->m, n)))
        return s;
    int *ia = cn_mallocarray((size_t)n, sizeof *ia), *ib = cn_mallocarray((size_t)n, sizeof *ib);
    if (!ia || !ib) {
        cn_free(ia), cn_free(ib);
        return net__onnx_nomem(L);
    }
    bc_index(J->od, J->ond, a.dims, a.nd, ia);
    bc_index(J->od, J->ond, b.dims, b.nd, ib);
    int sa = a.t ? slot_of(J, a.t) : -1, sb = b.t ? slot_of(J, b.t) : -1;
    for (int64_t o = 0; o < n && !s; o++) {
        double beta = 0.0;
        if (op == 'A' || op == 'S') {
            s = push_opnd(D, &J->m, &a, sa, ia[o], 1.0, &beta);
            if (!s)
                s = push_opnd(D, &J->m, &b, sb, ib[o], op == 'A' ? 1.0 : -1.0, &beta);
        } else {
            const opnd *x = a.t ? &a : &b, *c = a.t ? &b : &a;
            double w = c->k->v[(a.t ? ib : ia)[o]];
            if (op == 'D') {
                double q = 1.0 / w;
                if (w == 0.0)
                    s = net__onnx_fail(L, CN_EPARSE, "division by a zero constant");
                else if (!isfinite(q) || fma(q, w, -1.0) != 0.0)
                    s = net__onnx_fail(L, CN_EUNSUPPORTED,
                                       "1/%.17g is not a double; in a graph that is not a "
                                       "chain only exact divisions are supported", w);
                w = q;
            }
            if (!s)
                s = push_opnd(D, &J->m, x, x == &a ? sa : sb, (a.t ? ia : ib)[o], w, &beta);
        }
        lin_row(&J->m, (int)o, beta);
    }
    cn_free(ia), cn_free(ib);
    return s;
}

/* Gemm(A, B[, C]) with A computed [M,K], B constant, alpha = beta = 1. */
static cn_status op_gemm(job *J)
{
    dg *D = J->D;
    ld *L = D->L;
    static const char *const known[] = {"alpha", "beta", "transA", "transB", NULL};
    char b1[128], b2[128];
    cn_status s;
    int64_t ta, tb;
    double al, be;
    opnd a, w, c = {0};
    if ((s = net__onnx_attrs_known(L, known)) || (s = net__onnx_attr_int(L, "transA", 0, &ta)) ||
        (s = net__onnx_attr_int(L, "transB", 0, &tb)) ||
        (s = net__onnx_attr_float(L, "alpha", 1.0, &al)) ||
        (s = net__onnx_attr_float(L, "beta", 1.0, &be)))
        return s;
    if (ta || al != 1.0 || be != 1.0)
        return net__onnx_fail(L, CN_EUNSUPPORTED,
                              "transA=%lld alpha=%g beta=%g; only 0, 1, 1 are supported",
                              (long long)ta, al, be);
    if (L->node->n_input < 2 || L->node->n_input > 3)
        return net__onnx_fail(L, CN_EPARSE, "expected inputs A, B[, C]");
    if ((s = operand(D, 0, &a)) || (s = operand(D, 1, &w)) ||
        (L->node->n_input == 3 && *S(L->node->input[2]) && (s = operand(D, 2, &c))))
        return s;
    if (!a.t || w.t || c.t)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "expected a computed A and constant B and C");
    int64_t K = tb ? (w.nd == 2 ? w.dims[1] : -1) : (w.nd == 2 ? w.dims[0] : -1);
    int64_t N = w.nd == 2 ? (tb ? w.dims[0] : w.dims[1]) : -1;
    if (a.nd != 2 || w.nd != 2 || a.dims[1] != K)
        return net__onnx_fail(L, CN_EPARSE, "shape mismatch: A %s, B %s",
                              net__onnx_fmt_dims(b1, sizeof b1, a.dims, a.nd),
                              net__onnx_fmt_dims(b2, sizeof b2, w.dims, w.nd));
    int64_t M = a.dims[0];
    J->ond = 2;
    J->od[0] = M;
    J->od[1] = N;
    int *ic = NULL;
    if (c.k) {
        int64_t t[MAX_RANK];
        int nt;
        if ((s = bc_dims(D, J->od, 2, c.dims, c.nd, t, &nt)))
            return s;
        if (nt != 2 || t[0] != M || t[1] != N)
            return net__onnx_fail(L, CN_EPARSE, "C does not broadcast to [M,N]");
        if (!(ic = cn_mallocarray((size_t)(M * N), sizeof *ic)))
            return net__onnx_nomem(L);
        bc_index(J->od, 2, c.dims, c.nd, ic);
    }
    if ((s = lin_init(D, &J->m, M * N))) {
        cn_free(ic);
        return s;
    }
    int sa = slot_of(J, a.t);
    for (int64_t i = 0; i < M && !s; i++)
        for (int64_t o = 0; o < N && !s; o++) {
            for (int64_t k = 0; k < K && !s; k++) {
                double v = w.k->v[tb ? o * K + k : k * N + o];
                if (v != 0.0)
                    s = lin_push(D, &J->m, v, sa, (int)(i * K + k));
            }
            lin_row(&J->m, (int)(i * N + o), ic ? c.k->v[ic[i * N + o]] : 0.0);
        }
    cn_free(ic);
    return s;
}

/* MatMul(x, W) with x computed [..., K] and W constant [K, N], or
 * MatMul(W, x) with W constant [N, K] and x computed [K, M] or [K]. */
static cn_status op_matmul(job *J)
{
    dg *D = J->D;
    ld *L = D->L;
    char b1[128], b2[128];
    cn_status s;
    opnd a, b;
    if ((s = net__onnx_attrs_known(L, net__onnx_no_attrs)))
        return s;
    if (L->node->n_input != 2)
        return net__onnx_fail(L, CN_EPARSE, "expected 2 inputs, got %zu", L->node->n_input);
    if ((s = operand(D, 0, &a)) || (s = operand(D, 1, &b)))
        return s;
    if (!a.t == !b.t)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "expected one computed and one constant input");
    if (a.t) {
        int64_t K = a.dims[a.nd - 1];
        if (a.nd < 1 || b.nd != 2 || b.dims[0] != K)
            goto mismatch;
        int64_t N = b.dims[1], R = prod(a.dims, a.nd) / K;
        memcpy(J->od, a.dims, sizeof J->od);
        J->ond = a.nd;
        J->od[a.nd - 1] = N;
        if ((s = lin_init(D, &J->m, R * N)))
            return s;
        for (int64_t r = 0; r < R && !s; r++)
            for (int64_t o = 0; o < N && !s; o++) {
                for (int64_t k = 0; k < K && !s; k++)
                    if (b.k->v[k * N + o] != 0.0)
                        s = lin_push(D, &J->m, b.k->v[k * N + o], slot_of(J, a.t), (int)(r * K + k));
                lin_row(&J->m, (int)(r * N + o), 0.0);
            }
        return s;
    }
    if (a.nd != 2 || (b.nd != 2 && b.nd != 1) || a.dims[1] != b.dims[0])
        goto mismatch;
    int64_t N = a.dims[0], K = a.dims[1], M = b.nd == 2 ? b.dims[1] : 1;
    J->ond = b.nd;                                 /* [N, M], or [N] for a vector x */
    J->od[0] = N;
    J->od[1] = M;
    if ((s = lin_init(D, &J->m, N * M)))
        return s;
    for (int64_t i = 0; i < N && !s; i++)
        for (int64_t j = 0; j < M && !s; j++) {
            for (int64_t k = 0; k < K && !s; k++)
                if (a.k->v[i * K + k] != 0.0)
                    s = lin_push(D, &J->m, a.k->v[i * K + k], slot_of(J, b.t), (int)(k * M + j));
            lin_row(&J->m, (int)(i * M + j), 0.0);
        }
    return s;
mismatch:
    return net__onnx_fail(L, CN_EPARSE, "shape mismatch: %s times %s",
                          net__onnx_fmt_dims(b1, sizeof b1, a.dims, a.nd),
                          net__onnx_fmt_dims(b2, sizeof b2, b.dims, b.nd));
}

/* Conv (2-D, group 1) of a computed [1,C,H,W] with constant weights. */
static cn_status op_conv(job *J)
{
    dg *D = J->D;
    ld *L = D->L;
    static const char *const known[] = {"auto_pad", "dilations", "group", "kernel_shape",
                                        "pads", "strides", NULL};
    char b1[128], b2[128];
    cn_status s;
    opnd x, w, bb = {0};
    int64_t st[2] = {1, 1}, pads[4] = {0, 0, 0, 0}, dil[2] = {1, 1}, ks[2], grp;
    bool has;
    if ((s = net__onnx_attrs_known(L, known)) || (s = net__onnx_attr_int(L, "group", 1, &grp)) ||
        (s = net__onnx_attr_ints(L, "strides", 2, st, &has)) ||
        (s = net__onnx_attr_ints(L, "pads", 4, pads, &has)) ||
        (s = net__onnx_attr_ints(L, "dilations", 2, dil, &has)))
        return s;
    const Onnx__AttributeProto *ap = net__onnx_attr(L, "auto_pad");
    if (ap && ap->has_s && ap->s.len && !(ap->s.len == 6 && !memcmp(ap->s.data, "NOTSET", 6)) &&
        !(ap->s.len == 5 && !memcmp(ap->s.data, "VALID", 5)))
        return net__onnx_fail(L, CN_EUNSUPPORTED, "auto_pad must be NOTSET or VALID");
    if (grp != 1)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "group=%lld; only 1 is supported", (long long)grp);
    if (L->node->n_input < 2 || L->node->n_input > 3)
        return net__onnx_fail(L, CN_EPARSE, "expected inputs X, W[, B]");
    if ((s = operand(D, 0, &x)) || (s = operand(D, 1, &w)) ||
        (L->node->n_input == 3 && *S(L->node->input[2]) && (s = operand(D, 2, &bb))))
        return s;
    if (!x.t || w.t || bb.t)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "expected a computed X and constant W and B");
    if (x.nd != 4 || x.dims[0] != 1 || w.nd != 4 || w.dims[1] != x.dims[1] ||
        (bb.k && (int64_t)bb.k->n != w.dims[0]))
        return net__onnx_fail(L, CN_EPARSE, "shape mismatch: X %s, W %s",
                              net__onnx_fmt_dims(b1, sizeof b1, x.dims, x.nd),
                              net__onnx_fmt_dims(b2, sizeof b2, w.dims, w.nd));
    if ((s = net__onnx_attr_ints(L, "kernel_shape", 2, ks, &has)))
        return s;
    if (has && (ks[0] != w.dims[2] || ks[1] != w.dims[3]))
        return net__onnx_fail(L, CN_EPARSE, "kernel_shape does not match the weight");
    for (int i = 0; i < 2; i++)
        if (st[i] < 1 || st[i] > MAX_CONV_PARAM || dil[i] < 1 || dil[i] > MAX_CONV_PARAM)
            return net__onnx_fail(L, CN_EPARSE, "stride or dilation out of range");
    for (int i = 0; i < 4; i++)
        if (pads[i] < 0 || pads[i] > MAX_CONV_PARAM)
            return net__onnx_fail(L, CN_EPARSE, "pad out of range");
    int64_t C = x.dims[1], H = x.dims[2], Wd = x.dims[3], M = w.dims[0], kh = w.dims[2],
            kw = w.dims[3];
    int64_t oh = (H + pads[0] + pads[2] - ((kh - 1) * dil[0] + 1));
    int64_t ow = (Wd + pads[1] + pads[3] - ((kw - 1) * dil[1] + 1));
    if (oh < 0 || ow < 0)
        return net__onnx_fail(L, CN_EPARSE, "kernel larger than the padded input");
    oh = oh / st[0] + 1;
    ow = ow / st[1] + 1;
    J->ond = 4;
    J->od[0] = 1, J->od[1] = M, J->od[2] = oh, J->od[3] = ow;
    if ((s = lin_init(D, &J->m, prod(J->od, 4))))
        return s;
    int sx = slot_of(J, x.t);
    for (int64_t co = 0; co < M && !s; co++)
        for (int64_t oy = 0; oy < oh && !s; oy++)
            for (int64_t ox = 0; ox < ow && !s; ox++) {
                for (int64_t ci = 0; ci < C && !s; ci++)
                    for (int64_t ky = 0; ky < kh && !s; ky++)
                        for (int64_t kx = 0; kx < kw && !s; kx++) {
                            int64_t iy = oy * st[0] + ky * dil[0] - pads[0];
                            int64_t ix = ox * st[1] + kx * dil[1] - pads[1];
                            double v = w.k->v[((co * C + ci) * kh + ky) * kw + kx];
                            if (iy >= 0 && iy < H && ix >= 0 && ix < Wd && v != 0.0)
                                s = lin_push(D, &J->m, v, sx, (int)((ci * H + iy) * Wd + ix));
                        }
                lin_row(&J->m, (int)((co * oh + oy) * ow + ox), bb.k ? bb.k->v[co] : 0.0);
            }
    return s;
}

/* Multi-index of flat index i in dims d[nd]. */
static void unflat(int64_t i, const int64_t *d, int nd, int64_t *ix)
{
    for (int j = nd - 1; j >= 0; j--) {
        ix[j] = i % d[j];
        i /= d[j];
    }
}

static int64_t flat(const int64_t *ix, const int64_t *d, int nd)
{
    int64_t f = 0;
    for (int j = 0; j < nd; j++)
        f = f * d[j] + ix[j];
    return f;
}

/* Copy map: output o reads input element src[o] (-1: the constant fill). */
static cn_status copy_map(job *J, dten *t, const int64_t *src, double fill)
{
    int64_t n = prod(J->od, J->ond);
    cn_status s = lin_init(J->D, &J->m, n);
    int sl = slot_of(J, t);
    for (int64_t o = 0; o < n && !s; o++) {
        if (src[o] >= 0)
            s = lin_push(J->D, &J->m, 1.0, sl, (int)src[o]);
        lin_row(&J->m, (int)o, src[o] >= 0 ? 0.0 : fill);
    }
    return s;
}

static cn_status the_input(job *J, opnd *x)
{
    cn_status s = operand(J->D, 0, x);
    if (!s && !x->t)
        s = net__onnx_fail(J->D->L, CN_EUNSUPPORTED, "the data input must be a computed tensor");
    return s;
}

static cn_status op_transpose(job *J)
{
    ld *L = J->D->L;
    static const char *const known[] = {"perm", NULL};
    opnd x;
    cn_status s;
    if ((s = net__onnx_attrs_known(L, known)) || (s = the_input(J, &x)))
        return s;
    int64_t perm[MAX_RANK];
    const Onnx__AttributeProto *a = net__onnx_attr(L, "perm");
    bool seen[MAX_RANK] = {false};
    for (int i = 0; i < x.nd; i++)
        perm[i] = a ? (i < (int)a->n_ints ? a->ints[i] : -1) : x.nd - 1 - i;
    if (a && (int)a->n_ints != x.nd)
        return net__onnx_fail(L, CN_EPARSE, "perm has %zu values for rank %d", a->n_ints, x.nd);
    for (int i = 0; i < x.nd; i++) {
        if (perm[i] < 0 || perm[i] >= x.nd || seen[perm[i]])
            return net__onnx_fail(L, CN_EPARSE, "perm is not a permutation of 0..%d", x.nd - 1);
        seen[perm[i]] = true;
        J->od[i] = x.dims[perm[i]];
    }
    J->ond = x.nd;
    int64_t n = prod(J->od, J->ond), ix[MAX_RANK], iy[MAX_RANK];
    int64_t *src = cn_mallocarray((size_t)n, sizeof *src);
    if (!src)
        return net__onnx_nomem(L);
    for (int64_t o = 0; o < n; o++) {
        unflat(o, J->od, J->ond, ix);
        for (int i = 0; i < x.nd; i++)
            iy[perm[i]] = ix[i];
        src[o] = flat(iy, x.dims, x.nd);
    }
    s = copy_map(J, x.t, src, 0.0);
    cn_free(src);
    return s;
}

/* A list of int64 values from attribute name, or from constant input i. */
static cn_status ints_arg(ld *L, const char *name, size_t i, int64_t *v, size_t *n, bool *has)
{
    const Onnx__AttributeProto *a = net__onnx_attr(L, name);
    *has = false;
    if (a) {
        if (a->n_ints > MAX_RANK)
            return net__onnx_fail(L, CN_EUNSUPPORTED, "'%s' has %zu values", name, a->n_ints);
        memcpy(v, a->ints, a->n_ints * sizeof *v);
        *n = a->n_ints;
        *has = true;
        return CN_OK;
    }
    if (i >= L->node->n_input || !*S(L->node->input[i]))
        return CN_OK;
    cst *k = net__onnx_const_find(L, L->node->input[i]);
    if (!k)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "'%s' must be a constant", name);
    cn_status s = net__onnx_const_int64(L, k);
    if (s)
        return s;
    memcpy(v, k->iv, k->n * sizeof *v);
    *n = k->n;
    *has = true;
    return CN_OK;
}

static cn_status op_slice(job *J)
{
    ld *L = J->D->L;
    static const char *const known[] = {"starts", "ends", "axes", NULL};
    opnd x;
    cn_status s;
    int64_t st[MAX_RANK], en[MAX_RANK], ax[MAX_RANK], sp[MAX_RANK];
    size_t ns = 0, ne = 0, na = 0, nsp = 0;
    bool hs, he, ha, hsp;
    if ((s = net__onnx_attrs_known(L, known)) || (s = the_input(J, &x)) ||
        (s = ints_arg(L, "starts", 1, st, &ns, &hs)) || (s = ints_arg(L, "ends", 2, en, &ne, &he)) ||
        (s = ints_arg(L, "axes", 3, ax, &na, &ha)) || (s = ints_arg(L, "steps", 4, sp, &nsp, &hsp)))
        return s;
    if (!hs || !he || ns != ne || (ha && na != ns) || (hsp && nsp != ns) || ns > (size_t)x.nd)
        return net__onnx_fail(L, CN_EPARSE, "starts, ends, axes and steps do not match");
    int64_t lo[MAX_RANK], step[MAX_RANK];
    bool seen[MAX_RANK] = {false};
    for (int d = 0; d < x.nd; d++) {
        lo[d] = 0;
        step[d] = 1;
        J->od[d] = x.dims[d];
    }
    J->ond = x.nd;
    for (size_t i = 0; i < ns; i++) {
        int64_t a = ha ? ax[i] : (int64_t)i, stp = hsp ? sp[i] : 1;
        if (a < 0)
            a += x.nd;
        if (a < 0 || a >= x.nd || seen[a] || stp == 0 || stp < -MAX_ELEMS || stp > MAX_ELEMS)
            return net__onnx_fail(L, CN_EPARSE, "invalid axis or step in entry %zu", i);
        seen[a] = true;
        int64_t dim = x.dims[a], b = st[i], e = en[i];
        if (b < 0)
            b += dim;
        if (e < 0)
            e += dim;
        if (stp > 0) {
            b = b < 0 ? 0 : b > dim ? dim : b;
            e = e < 0 ? 0 : e > dim ? dim : e;
        } else {
            b = b < 0 ? 0 : b > dim - 1 ? dim - 1 : b;
            e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
        }
        int64_t len = stp > 0 ? (e - b + stp - 1) / stp : (b - e - stp - 1) / -stp;
        if (len < 1)
            return net__onnx_fail(L, CN_EUNSUPPORTED, "slice on axis %lld is empty", (long long)a);
        lo[a] = b;
        step[a] = stp;
        J->od[a] = len;
    }
    int64_t n = prod(J->od, J->ond), ix[MAX_RANK];
    int64_t *src = cn_mallocarray((size_t)n, sizeof *src);
    if (!src)
        return net__onnx_nomem(L);
    for (int64_t o = 0; o < n; o++) {
        unflat(o, J->od, J->ond, ix);
        for (int d = 0; d < x.nd; d++)
            ix[d] = lo[d] + ix[d] * step[d];
        src[o] = flat(ix, x.dims, x.nd);
    }
    s = copy_map(J, x.t, src, 0.0);
    cn_free(src);
    return s;
}

static cn_status op_pad(job *J)
{
    ld *L = J->D->L;
    static const char *const known[] = {"mode", "pads", "value", NULL};
    opnd x;
    cn_status s;
    int64_t p[2 * MAX_RANK];
    size_t np = 0;
    double fill = 0.0;
    if ((s = net__onnx_attrs_known(L, known)) || (s = the_input(J, &x)))
        return s;
    const Onnx__AttributeProto *m = net__onnx_attr(L, "mode");
    if (m && !(m->s.len == 8 && !memcmp(m->s.data, "constant", 8)))
        return net__onnx_fail(L, CN_EUNSUPPORTED, "only mode 'constant' is supported");
    const Onnx__AttributeProto *a = net__onnx_attr(L, "pads");
    if (a) {
        if (a->n_ints > 2 * MAX_RANK)
            return net__onnx_fail(L, CN_EPARSE, "too many pads");
        np = a->n_ints;
        memcpy(p, a->ints, np * sizeof *p);
    } else {
        cst *k = L->node->n_input > 1 ? net__onnx_const_find(L, L->node->input[1]) : NULL;
        if (!k)
            return net__onnx_fail(L, CN_EUNSUPPORTED, "'pads' must be a constant");
        const Onnx__TensorProto *t = k->t;
        if (!t || t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__INT64)
            return net__onnx_fail(L, CN_EPARSE, "'pads' is not an int64 tensor");
        /* up to 2 * MAX_RANK values: read directly */
        size_t n = t->has_raw_data ? t->raw_data.len / 8 : t->n_int64_data;
        if (n > 2 * MAX_RANK)
            return net__onnx_fail(L, CN_EPARSE, "too many pads");
        for (size_t i = 0; i < n; i++) {
            if (t->has_raw_data) {
                uint64_t u = 0;
                for (int j = 7; j >= 0; j--)
                    u = u << 8 | t->raw_data.data[8 * i + (size_t)j];
                p[i] = (int64_t)u;
            } else {
                p[i] = t->int64_data[i];
            }
        }
        np = n;
    }
    if (np != (size_t)(2 * x.nd))
        return net__onnx_fail(L, CN_EPARSE, "'pads' has %zu values; expected %d", np, 2 * x.nd);
    if ((s = net__onnx_attr_float(L, "value", 0.0, &fill)))
        return s;
    if (L->node->n_input > 2 && *S(L->node->input[2])) {
        cst *k;
        if ((s = net__onnx_node_const(L, 2, "constant_value", &k)))
            return s;
        if (k->n != 1)
            return net__onnx_fail(L, CN_EPARSE, "constant_value must be a scalar");
        fill = k->v[0];
    }
    for (int d = 0; d < x.nd; d++) {
        if (p[d] < 0 || p[d + x.nd] < 0 || p[d] > MAX_CONV_PARAM || p[d + x.nd] > MAX_CONV_PARAM)
            return net__onnx_fail(L, CN_EUNSUPPORTED, "negative or huge pads are not supported");
        J->od[d] = x.dims[d] + p[d] + p[d + x.nd];
    }
    J->ond = x.nd;
    int64_t n = prod(J->od, J->ond), ix[MAX_RANK];
    if (n < 0)
        return net__onnx_fail(L, CN_ELIMIT, "padded tensor too large");
    int64_t *src = cn_mallocarray((size_t)n, sizeof *src);
    if (!src)
        return net__onnx_nomem(L);
    for (int64_t o = 0; o < n; o++) {
        unflat(o, J->od, J->ond, ix);
        bool in = true;
        for (int d = 0; d < x.nd; d++) {
            ix[d] -= p[d];
            in = in && ix[d] >= 0 && ix[d] < x.dims[d];
        }
        src[o] = in ? flat(ix, x.dims, x.nd) : -1;
    }
    s = copy_map(J, x.t, src, fill);
    cn_free(src);
    return s;
}

static cn_status op_concat(job *J)
{
    dg *D = J->D;
    ld *L = D->L;
    static const char *const known[] = {"axis", NULL};
    cn_status s;
    int64_t axis;
    char b1[128];
    if ((s = net__onnx_attrs_known(L, known)) || (s = net__onnx_attr_int(L, "axis", INT64_MIN, &axis)))
        return s;
    size_t ni = L->node->n_input;
    if (ni < 1 || ni > 8 || axis == INT64_MIN)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "expected 1 to 8 inputs and an axis");
    opnd in[8];
    for (size_t i = 0; i < ni; i++)
        if ((s = operand(D, i, &in[i])))
            return s;
    int nd = in[0].nd;
    if (axis < 0)
        axis += nd;
    if (axis < 0 || axis >= nd)
        return net__onnx_fail(L, CN_EPARSE, "axis out of range for rank %d", nd);
    memcpy(J->od, in[0].dims, (size_t)nd * sizeof *J->od);
    J->ond = nd;
    J->od[axis] = 0;
    for (size_t i = 0; i < ni; i++) {
        bool ok = in[i].nd == nd;
        for (int d = 0; d < nd && ok; d++)
            ok = d == axis || in[i].dims[d] == in[0].dims[d];
        if (!ok)
            return net__onnx_fail(L, CN_EPARSE, "input %zu has shape %s; it does not concatenate",
                                  i, net__onnx_fmt_dims(b1, sizeof b1, in[i].dims, in[i].nd));
        J->od[axis] += in[i].dims[axis];
    }
    int64_t n = prod(J->od, nd), ix[MAX_RANK];
    if ((s = lin_init(D, &J->m, n)))
        return s;
    for (int64_t o = 0; o < n && !s; o++) {
        unflat(o, J->od, nd, ix);
        size_t i = 0;
        while (ix[axis] >= in[i].dims[axis])
            ix[axis] -= in[i++].dims[axis];
        int e = (int)flat(ix, in[i].dims, nd);
        double beta = 0.0;
        s = push_opnd(D, &J->m, &in[i], in[i].t ? slot_of(J, in[i].t) : -1, e, 1.0, &beta);
        lin_row(&J->m, (int)o, beta);
    }
    return s;
}

/* Flatten, Reshape, Identity, Dropout, a final Softmax: the chain readers
 * compute the new dims (their checks included); the values are copied. */
static cn_status op_shape(job *J, const char *op)
{
    ld *L = J->D->L;
    opnd x;
    cn_status s;
    if ((s = the_input(J, &x)))
        return s;
    L->nd = x.nd;
    memcpy(L->dims, x.dims, sizeof L->dims);
    if (!strcmp(op, "Flatten"))
        s = net__onnx_op_flatten(L);
    else if (!strcmp(op, "Reshape"))
        s = net__onnx_op_reshape(L);
    else if (!strcmp(op, "Dropout"))
        s = net__onnx_op_dropout(L);
    else if (!strcmp(op, "Softmax"))
        s = net__onnx_op_softmax(L);
    else
        s = net__onnx_attrs_known(L, net__onnx_no_attrs + 1);
    if (s)
        return s;
    J->ond = L->nd;
    memcpy(J->od, L->dims, sizeof J->od);
    int64_t n = prod(J->od, J->ond);
    int64_t *src = cn_mallocarray((size_t)n, sizeof *src);
    if (!src)
        return net__onnx_nomem(L);
    for (int64_t o = 0; o < n; o++)
        src[o] = o;
    s = copy_map(J, x.t, src, 0.0);
    cn_free(src);
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
    t->n = (int)prod(od, ond);
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
        dten *t = *S(n->input[j]) ? find_t(D, n->input[j]) : NULL;
        if (t && --t->uses == 0)
            expr_free(t);
    }
}

static const char *const dag_ops =
    "MatMul, Gemm, Conv, Add, Sub, Mul, Div, Relu, Concat, Transpose, Slice, Pad, Flatten, "
    "Reshape, Identity, Dropout, Constant, Softmax (last); where no other branch is live also "
    "BatchNormalization, MaxPool, AveragePool, GlobalAveragePool, Sigmoid, Tanh, LeakyRelu, "
    "Clip";

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
        dten *t = *S(n->input[j]) ? find_t(D, n->input[j]) : NULL;
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
    if (!ident && (s = flush(D, 1, &x, &pol)))
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

static cn_status run_linear(dg *D, const dnode *v)
{
    ld *L = D->L;
    const char *op = S(v->nd->op_type);
    if (chain_only(op))
        return run_chain_node(D, v);
    job J;
    memset(&J, 0, sizeof J);
    J.D = D;
    cn_status s;
    if (!strcmp(op, "Add") || !strcmp(op, "Sub") || !strcmp(op, "Mul") || !strcmp(op, "Div"))
        s = op_arith(&J, op[0]);
    else if (!strcmp(op, "Gemm"))
        s = op_gemm(&J);
    else if (!strcmp(op, "MatMul"))
        s = op_matmul(&J);
    else if (!strcmp(op, "Conv"))
        s = op_conv(&J);
    else if (!strcmp(op, "Transpose"))
        s = op_transpose(&J);
    else if (!strcmp(op, "Slice"))
        s = op_slice(&J);
    else if (!strcmp(op, "Pad"))
        s = op_pad(&J);
    else if (!strcmp(op, "Concat"))
        s = op_concat(&J);
    else if (!strcmp(op, "Flatten") || !strcmp(op, "Reshape") || !strcmp(op, "Identity") ||
             !strcmp(op, "Dropout") || !strcmp(op, "Softmax"))
        s = op_shape(&J, op);
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

/* The Relu nodes rs[nr] of one stage: one ReLU layer. */
static cn_status run_relus(dg *D, const dnode *const *rs, size_t nr, int stage)
{
    ld *L = D->L;
    cn_status s;
    char nm[96];
    dten **in = cn_mallocarray(nr, sizeof *in);
    if (!in)
        return net__onnx_nomem(L);
    for (size_t i = 0; i < nr; i++) {
        L->node = rs[i]->nd;
        L->node_idx = rs[i]->idx;
        const Onnx__NodeProto *n = rs[i]->nd;
        if ((s = net__onnx_attrs_known(L, net__onnx_no_attrs)))
            goto done;
        if (n->n_input != 1 || !(in[i] = find_t(D, S(n->input[0]))) || !in[i]->have) {
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
    int *pol = cn_mallocarray(nl + nr, sizeof *pol);
    size_t na = 0;
    if (!all || !pol) {
        s = net__onnx_nomem(L);
        goto done2;
    }
    for (size_t i = 0; i < nl; i++) {
        all[na] = lv[i];
        pol[na++] = KEEP_PLAIN;
    }
    for (size_t i = 0; i < nr; i++) {
        size_t j = 0;
        while (j < na && all[j] != in[i])
            j++;
        if (j == na)
            all[na++] = in[i];
        pol[j] = KEEP_POS;
    }
    L->node = rs[0]->nd;
    L->node_idx = rs[0]->idx;
    if ((s = flush(D, na, all, pol)))
        goto done2;
    /* what stays live must read only values >= 0 */
    for (size_t i = 0; i < nl; i++)
        for (int e = 0; e < lv[i]->n; e++)
            for (int j = lv[i]->rp[e]; j < lv[i]->rp[e + 1]; j++)
                if (!D->nn[lv[i]->col[j]]) {
                    s = net__onnx_fail(L, CN_EUNSUPPORTED,
                                       "tensor '%s' is still needed after this Relu but may be "
                                       "negative (it is not built from Relu outputs with "
                                       "nonnegative weights), so it cannot cross the ReLU layer "
                                       "exactly", net__onnx_clean(nm, sizeof nm, lv[i]->name));
                    goto done2;
                }
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
        dten *x = find_t(D, S(rs[i]->nd->input[0]));
        dten *out = new_tensor(D, x->dims, x->nd, stage, count_uses(L, S(rs[i]->nd->output[0])));
        lin m;
        bool inexact;
        if ((s = lin_init(D, &m, x->n)))
            break;
        for (int e = 0; e < x->n && !s; e++) {
            int k = x->rp[e + 1] - x->rp[e];
            if (k)
                s = lin_push(D, &m, 1.0, 0, e);
            lin_row(&m, e, k ? 0.0 : fmax(x->b[e], 0.0));
        }
        if (!s)
            s = apply(D, &m, &x, out, &inexact);
        lin_free(&m);
    }
    for (size_t i = 0; i < nr && !s; i++)  /* their reads were counted before the layer */
        if (in[i]->uses == 0 && in[i]->have)
            expr_free(in[i]);
done2:
    cn_free(all);
    cn_free(pol);
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
    dten *y = find_t(D, yn);
    if (!y || !y->have)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "graph output '%s' is not a computed tensor",
                              net__onnx_clean(nm, sizeof nm, yn));
    bool ident = y->n == D->width;
    for (int e = 0; e < y->n && ident; e++)
        ident = y->rp[e + 1] - y->rp[e] == 1 && y->col[y->rp[e]] == e &&
                y->val[y->rp[e]] == 1.0 && y->b[e] == 0.0;
    if (!ident) {
        int pol = KEEP_NONE;
        if ((s = flush(D, 1, &y, &pol)))
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

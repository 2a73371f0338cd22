/* onnx_dag_ops.c — the linear operators of the general graph route
 * (onnx_dag.c): for node L->node, each output element as a file value
 * (bias, constant operand, pad value) plus file weights (or 1, -1) times
 * elements of the computed inputs, and the output's shape.  The products and
 * sums are formed by onnx_dag.c (apply), exactly or not at all; a constant
 * operand's contribution is checked here the same way.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "models/onnx_dag_int.h"

/* ------------------------------------------------------------------------ */
/* Shapes and broadcasting                                                   */
/* ------------------------------------------------------------------------ */

/* For each element of an od[ond] tensor, the index of the element of an
 * id[ind] tensor that broadcasts onto it (ind <= ond, dims equal or 1). */
static void bc_index(const int64_t *od, int ond, const int64_t *id, int ind, int *idx)
{
    int64_t n = net__dag_prod(od, ond), cnt[MAX_RANK] = {0}, str[MAX_RANK];
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
    if (i >= L->node->n_input || !*S(L->node->input[i]))
        return net__onnx_fail(L, CN_EPARSE, "input %zu is missing (the node has %zu)", i,
                              L->node->n_input);
    const char *name = S(L->node->input[i]);
    if ((o->t = net__dag_find(D, name))) {
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
        return net__dag_lin_push(D, m, w, slot, e);
    double p;
    if (!net__dag_mul_exact(w, o->k->v[e], &p) || !net__dag_add_exact(*beta, p, beta))
        return net__onnx_fail(D->L, CN_EUNSUPPORTED,
                              "a constant operand's contribution is not a double exactly");
    return CN_OK;
}

/* ------------------------------------------------------------------------ */
/* Linear operators                                                          */
/* ------------------------------------------------------------------------ */

static int slot_of(job *J, dten *t)
{
    for (int i = 0; i < J->ntin; i++)
        if (J->tin[i] == t)
            return i;
    J->tin[J->ntin] = t;
    return J->ntin++;
}

/* Add, Sub (any two operands, broadcast), Mul and Div (one constant). */
cn_status net__dag_op_arith(job *J, char op)
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
    int64_t n = net__dag_prod(J->od, J->ond);
    if ((s = net__dag_lin_init(D, &J->m, n)))
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
        net__dag_lin_row(&J->m, (int)o, beta);
    }
    cn_free(ia), cn_free(ib);
    return s;
}

/* Gemm(A, B[, C]) with A computed [M,K], B constant, alpha = beta = 1. */
cn_status net__dag_op_gemm(job *J)
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
    if ((s = net__dag_lin_init(D, &J->m, M * N))) {
        cn_free(ic);
        return s;
    }
    int sa = slot_of(J, a.t);
    for (int64_t i = 0; i < M && !s; i++)
        for (int64_t o = 0; o < N && !s; o++) {
            for (int64_t k = 0; k < K && !s; k++) {
                double v = w.k->v[tb ? o * K + k : k * N + o];
                if (v != 0.0)
                    s = net__dag_lin_push(D, &J->m, v, sa, (int)(i * K + k));
            }
            net__dag_lin_row(&J->m, (int)(i * N + o), ic ? c.k->v[ic[i * N + o]] : 0.0);
        }
    cn_free(ic);
    return s;
}

/* MatMul(x, W) with x computed [..., K] and W constant [K, N], or
 * MatMul(W, x) with W constant [N, K] and x computed [K, M] or [K]. */
cn_status net__dag_op_matmul(job *J)
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
        int64_t N = b.dims[1], R = net__dag_prod(a.dims, a.nd) / K;
        memcpy(J->od, a.dims, sizeof J->od);
        J->ond = a.nd;
        J->od[a.nd - 1] = N;
        if ((s = net__dag_lin_init(D, &J->m, R * N)))
            return s;
        for (int64_t r = 0; r < R && !s; r++)
            for (int64_t o = 0; o < N && !s; o++) {
                for (int64_t k = 0; k < K && !s; k++)
                    if (b.k->v[k * N + o] != 0.0)
                        s = net__dag_lin_push(D, &J->m, b.k->v[k * N + o], slot_of(J, a.t), (int)(r * K + k));
                net__dag_lin_row(&J->m, (int)(r * N + o), 0.0);
            }
        return s;
    }
    if (a.nd != 2 || (b.nd != 2 && b.nd != 1) || a.dims[1] != b.dims[0])
        goto mismatch;
    int64_t N = a.dims[0], K = a.dims[1], M = b.nd == 2 ? b.dims[1] : 1;
    J->ond = b.nd;                                 /* [N, M], or [N] for a vector x */
    J->od[0] = N;
    J->od[1] = M;
    if ((s = net__dag_lin_init(D, &J->m, N * M)))
        return s;
    for (int64_t i = 0; i < N && !s; i++)
        for (int64_t j = 0; j < M && !s; j++) {
            for (int64_t k = 0; k < K && !s; k++)
                if (a.k->v[i * K + k] != 0.0)
                    s = net__dag_lin_push(D, &J->m, a.k->v[i * K + k], slot_of(J, b.t), (int)(k * M + j));
            net__dag_lin_row(&J->m, (int)(i * M + j), 0.0);
        }
    return s;
mismatch:
    return net__onnx_fail(L, CN_EPARSE, "shape mismatch: %s times %s",
                          net__onnx_fmt_dims(b1, sizeof b1, a.dims, a.nd),
                          net__onnx_fmt_dims(b2, sizeof b2, b.dims, b.nd));
}

/* Conv (2-D, group 1) of a computed [1,C,H,W] with constant weights. */
cn_status net__dag_op_conv(job *J)
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
    if ((s = net__dag_lin_init(D, &J->m, net__dag_prod(J->od, 4))))
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
                                s = net__dag_lin_push(D, &J->m, v, sx, (int)((ci * H + iy) * Wd + ix));
                        }
                net__dag_lin_row(&J->m, (int)((co * oh + oy) * ow + ox), bb.k ? bb.k->v[co] : 0.0);
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
    int64_t n = net__dag_prod(J->od, J->ond);
    cn_status s = net__dag_lin_init(J->D, &J->m, n);
    int sl = slot_of(J, t);
    for (int64_t o = 0; o < n && !s; o++) {
        if (src[o] >= 0)
            s = net__dag_lin_push(J->D, &J->m, 1.0, sl, (int)src[o]);
        net__dag_lin_row(&J->m, (int)o, src[o] >= 0 ? 0.0 : fill);
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

cn_status net__dag_op_transpose(job *J)
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
    int64_t n = net__dag_prod(J->od, J->ond), ix[MAX_RANK], iy[MAX_RANK];
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
        if (a->n_ints)   /* (an empty list has no array: fuzz_onnx) */
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
    if (k->n)
        memcpy(v, k->iv, k->n * sizeof *v);
    *n = k->n;
    *has = true;
    return CN_OK;
}

cn_status net__dag_op_slice(job *J)
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
    int64_t n = net__dag_prod(J->od, J->ond), ix[MAX_RANK];
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

cn_status net__dag_op_pad(job *J)
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
        if (np)
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
    int64_t n = net__dag_prod(J->od, J->ond), ix[MAX_RANK];
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

cn_status net__dag_op_concat(job *J)
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
    int64_t n = net__dag_prod(J->od, nd), ix[MAX_RANK];
    if ((s = net__dag_lin_init(D, &J->m, n)))
        return s;
    for (int64_t o = 0; o < n && !s; o++) {
        unflat(o, J->od, nd, ix);
        size_t i = 0;
        while (ix[axis] >= in[i].dims[axis])
            ix[axis] -= in[i++].dims[axis];
        int e = (int)flat(ix, in[i].dims, nd);
        double beta = 0.0;
        s = push_opnd(D, &J->m, &in[i], in[i].t ? slot_of(J, in[i].t) : -1, e, 1.0, &beta);
        net__dag_lin_row(&J->m, (int)o, beta);
    }
    return s;
}

/* Flatten, Reshape, Identity, Dropout, a final Softmax: the chain readers
 * compute the new dims (their checks included); the values are copied. */
cn_status net__dag_op_shape(job *J, const char *op)
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
    int64_t n = net__dag_prod(J->od, J->ond);
    int64_t *src = cn_mallocarray((size_t)n, sizeof *src);
    if (!src)
        return net__onnx_nomem(L);
    for (int64_t o = 0; o < n; o++)
        src[o] = o;
    s = copy_map(J, x.t, src, 0.0);
    cn_free(src);
    return s;
}


/* AveragePool and GlobalAveragePool (global) on a [1,C,H,W] tensor while
 * another branch is live: output (c,oy,ox) = sum over the window of
 * f x[c, oy sh + ky, ox sw + kx], f = 1/(kh kw), with the chain reader's
 * attributes (no padding, so every window holds kh kw inputs).  Only a
 * window of 2^k elements: f is then a double and the map exact like any
 * other (apply checks every product and sum); another size would need an
 * enclosure and is refused. */
cn_status net__dag_op_avgpool(job *J, bool global)
{
    ld *L = J->D->L;
    static const char *const known[] = {"auto_pad",     "ceil_mode", "count_include_pad",
                                        "kernel_shape", "pads",      "strides",
                                        NULL};
    opnd x;
    pool_geom g;
    cn_status s;
    if ((s = net__onnx_attrs_known(L, global ? net__onnx_no_attrs + 1 : known)) ||
        (s = the_input(J, &x)))
        return s;
    if (global) {
        if (x.nd != 4 || x.dims[0] != 1)
            return net__onnx_fail(L, CN_EUNSUPPORTED, "expected a [1,C,H,W] input");
        g = (pool_geom){.kh = (int)x.dims[2], .kw = (int)x.dims[3],
                        .sh = (int)x.dims[2], .sw = (int)x.dims[3],
                        .c = (int)x.dims[1], .h = (int)x.dims[2], .w = (int)x.dims[3],
                        .oh = 1, .ow = 1};
    } else if ((s = net__onnx_pool_attrs(L, x.nd, x.dims, &g))) {
        return s;
    }
    int64_t k = (int64_t)g.kh * g.kw;
    if (k & (k - 1))
        return net__onnx_fail(L, CN_EUNSUPPORTED,
                              "in a graph that is not a chain, a %dx%d average (1/%lld is not a "
                              "double) is supported only where every other branch has ended",
                              g.kh, g.kw, (long long)k);
    double f = 1.0 / (double)k;              /* exact: k is a power of two */
    J->ond = 4;
    J->od[0] = 1;
    J->od[1] = g.c;
    J->od[2] = g.oh;
    J->od[3] = g.ow;
    int64_t n = net__dag_prod(J->od, J->ond);
    if ((s = net__dag_lin_init(J->D, &J->m, n)))
        return s;
    int sl = slot_of(J, x.t);
    for (int c = 0; c < g.c; c++)
        for (int oy = 0; oy < g.oh; oy++)
            for (int ox = 0; ox < g.ow; ox++) {
                int o = (c * g.oh + oy) * g.ow + ox;
                for (int ky = 0; ky < g.kh && !s; ky++)
                    for (int kx = 0; kx < g.kw && !s; kx++)
                        s = net__dag_lin_push(J->D, &J->m, f, sl,
                                              (c * g.h + oy * g.sh + ky) * g.w + ox * g.sw + kx);
                if (s)
                    return s;
                net__dag_lin_row(&J->m, o, 0.0);
            }
    return CN_OK;
}

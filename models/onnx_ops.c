/* onnx_ops.c — the ONNX loader's operator readers: node attributes,
 * broadcasting a constant onto the chain tensor, one reader per supported
 * operator and the dispatch of a node (net__onnx_read_node).  An affine
 * operator starts a pending layer and elementwise constants are collected in
 * the exact map L->e; onnx_fold.c folds them (see onnx_int.h for the state).
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "models/onnx_int.h"

/* ------------------------------------------------------------------------ */
/* Shapes                                                                    */
/* ------------------------------------------------------------------------ */

/* Gives the current tensor the dims d[nd] (same number of elements). */
static cn_status set_dims(ld *L, const int64_t *d, int nd)
{
    if (nd > MAX_RANK)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "result has rank %d; at most %d supported", nd,
                              MAX_RANK);
    int64_t p = net__onnx_dims_prod(d, nd, false);
    char b[128];
    if (p < 0)
        return net__onnx_fail(L, CN_EPARSE, "invalid result shape %s",
                              net__onnx_fmt_dims(b, sizeof b, d, nd));
    if (p != net__onnx_cur_size(L))
        return net__onnx_fail(L, CN_EPARSE, "result shape %s has %lld elements, input has %d",
                              net__onnx_fmt_dims(b, sizeof b, d, nd), (long long)p,
                              net__onnx_cur_size(L));
    memmove(L->dims, d, (size_t)nd * sizeof *d);
    L->nd = nd;
    return CN_OK;
}

/* ------------------------------------------------------------------------ */
/* Attributes                                                                */
/* ------------------------------------------------------------------------ */

static const Onnx__AttributeProto *attr(const ld *L, const char *name)
{
    for (size_t i = 0; i < L->node->n_attribute; i++)
        if (strcmp(S(L->node->attribute[i]->name), name) == 0)
            return L->node->attribute[i];
    return NULL;
}

/* Refuses attributes not in the NULL-terminated list: an unknown attribute
 * might change the op's meaning. */
static cn_status attrs_known(ld *L, const char *const *known)
{
    char nm[96];
    for (size_t i = 0; i < L->node->n_attribute; i++) {
        const char *a = S(L->node->attribute[i]->name);
        bool ok = false;
        for (const char *const *k = known; *k; k++)
            ok = ok || strcmp(*k, a) == 0;
        if (!ok)
            return net__onnx_fail(L, CN_EUNSUPPORTED, "unsupported attribute '%s'",
                                  net__onnx_clean(nm, sizeof nm, a));
    }
    return CN_OK;
}

static bool attr_is(const Onnx__AttributeProto *a, Onnx__AttributeProto__AttributeType t,
                    bool has)
{
    return a->type == t || (a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED && has);
}

static cn_status attr_int(ld *L, const char *name, int64_t dflt, int64_t *out)
{
    const Onnx__AttributeProto *a = attr(L, name);
    if (!a) {
        *out = dflt;
        return CN_OK;
    }
    if (!attr_is(a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT, a->has_i))
        return net__onnx_fail(L, CN_EPARSE, "attribute '%s' must be an int", name);
    *out = a->i;
    return CN_OK;
}

static cn_status attr_float(ld *L, const char *name, double dflt, double *out)
{
    const Onnx__AttributeProto *a = attr(L, name);
    if (!a) {
        *out = dflt;
        return CN_OK;
    }
    if (!attr_is(a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT, a->has_f) || !isfinite(a->f))
        return net__onnx_fail(L, CN_EPARSE, "attribute '%s' must be a finite float", name);
    *out = a->f;
    return CN_OK;
}

/* Ints attribute of exactly n values (absent: *present = false). */
static cn_status attr_ints(ld *L, const char *name, size_t n, int64_t *out, bool *present)
{
    const Onnx__AttributeProto *a = attr(L, name);
    *present = a != NULL;
    if (!a)
        return CN_OK;
    if (!attr_is(a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS, a->n_ints > 0))
        return net__onnx_fail(L, CN_EPARSE, "attribute '%s' must be a list of ints", name);
    if (a->n_ints != n)
        return net__onnx_fail(L, CN_EUNSUPPORTED,
                              "attribute '%s' has %zu values; expected %zu (2-D)", name, a->n_ints,
                              n);
    memcpy(out, a->ints, n * sizeof *out);
    return CN_OK;
}

/* ------------------------------------------------------------------------ */
/* Broadcasting a constant onto a tensor                                     */
/* ------------------------------------------------------------------------ */

/* For each element of a tensor of dims td (the tensor itself must not grow),
 * idx[i] = index of the constant's value that broadcasts onto it.  rd/rnd:
 * the broadcast result's dims (td with leading 1s added). */
static cn_status bcast(ld *L, const cst *k, const int64_t *td, int tnd, size_t *idx,
                       int64_t *rd, int *rnd)
{
    char b1[128], b2[128], nm[96];
    int r = tnd > k->nd ? tnd : k->nd;
    int64_t kstr[MAX_RANK], cnt[MAX_RANK];
    if (r > MAX_RANK)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "rank %d too large", r);
    int64_t stride = 1;
    for (int j = 0; j < r; j++) {                  /* j counts from the right */
        int64_t xd = j < tnd ? td[tnd - 1 - j] : 1, kd = j < k->nd ? k->dims[k->nd - 1 - j] : 1;
        if (kd != xd && !(kd == 1))
            return net__onnx_fail(L, CN_EPARSE,
                                  "constant '%s' of shape %s does not broadcast to %s",
                                  net__onnx_clean(nm, sizeof nm, k->name),
                                  net__onnx_fmt_dims(b1, sizeof b1, k->dims, k->nd),
                                  net__onnx_fmt_dims(b2, sizeof b2, td, tnd));
        rd[r - 1 - j] = xd;
        kstr[r - 1 - j] = kd == 1 ? 0 : stride;
        stride *= kd;
        cnt[r - 1 - j] = 0;
    }
    *rnd = r;
    int64_t n = net__onnx_dims_prod(rd, r, false);
    size_t ki = 0;
    for (int64_t i = 0; i < n; i++) {
        idx[i] = ki;
        for (int j = r - 1; j >= 0; j--) {         /* odometer */
            ki += (size_t)kstr[j];
            if (++cnt[j] < rd[j])
                break;
            ki -= (size_t)(kstr[j] * cnt[j]);
            cnt[j] = 0;
        }
    }
    return CN_OK;
}

/* ------------------------------------------------------------------------ */
/* Operators                                                                 */
/* ------------------------------------------------------------------------ */

static const char *const NO_ATTRS[] = {"consumed_inputs", NULL};

/* Add / Sub / Mul / Div with one constant operand; xi: the tensor's slot. */
static cn_status op_arith(ld *L, const char *op, size_t xi)
{
    static const char *const known[] = {"broadcast", "consumed_inputs", NULL};
    cn_status s;
    cst *k;
    if ((s = attrs_known(L, known)))
        return s;
    if (L->node->n_input != 2)
        return net__onnx_fail(L, CN_EPARSE, "expected 2 inputs, got %zu", L->node->n_input);
    if ((s = net__onnx_node_const(L, 1 - xi, "operand", &k)))
        return s;
    bool add = op[0] == 'A', sub = op[0] == 'S', mul = op[0] == 'M';
    if (op[0] == 'D' && xi == 1)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "dividing a constant by the input is not affine");
    /* a bias directly after MatMul/Gemm/Conv is part of that layer */
    bool bias = L->p.op && !L->has_e && !L->p.has_bias && (add || (sub && xi == 0));
    size_t n = (size_t)net__onnx_cur_size(L);
    if (n > MAX_ELEMWISE)
        return net__onnx_fail(L, CN_ELIMIT,
                              "elementwise operation on %zu values; at most %d supported", n,
                              MAX_ELEMWISE);
    size_t *idx = cn_mallocarray(n, sizeof *idx);
    int64_t rd[MAX_RANK];
    int rnd;
    if (!idx)
        return net__onnx_nomem(L);
    if ((s = bcast(L, k, L->dims, L->nd, idx, rd, &rnd)) || (s = net__onnx_need_e(L))) {
        cn_free(idx);
        return s;
    }
    mpq_t v, av;
    mpq_inits(v, av, NULL);
    for (size_t i = 0; i < n; i++) {
        mpq_set_d(v, k->v[idx[i]]);
        mpq_abs(av, v);
        elem *e = &L->e;
        if (add) {
            mpq_add(e->c[i], e->c[i], v);
        } else if (sub && xi == 0) {
            mpq_sub(e->c[i], e->c[i], v);
        } else if (sub) {                          /* v - x */
            mpq_neg(e->a[i], e->a[i]);
            mpq_sub(e->c[i], v, e->c[i]);
        } else if (mul) {                          /* radii scale by |v| */
            mpq_mul(e->a[i], e->a[i], v);
            mpq_mul(e->c[i], e->c[i], v);
            if (e->ra) {
                mpq_mul(e->ra[i], e->ra[i], av);
                mpq_mul(e->rc[i], e->rc[i], av);
            }
        } else {
            if (mpq_sgn(v) == 0) {
                mpq_clears(v, av, NULL);
                cn_free(idx);
                return net__onnx_fail(L, CN_EPARSE, "division by a zero constant");
            }
            mpq_div(e->a[i], e->a[i], v);
            mpq_div(e->c[i], e->c[i], v);
            if (e->ra) {
                mpq_div(e->ra[i], e->ra[i], av);
                mpq_div(e->rc[i], e->rc[i], av);
            }
        }
    }
    mpq_clears(v, av, NULL);
    cn_free(idx);
    if (bias)
        L->p.has_bias = true;
    else
        L->folded++;
    return set_dims(L, rd, rnd);
}

/* BatchNormalization's scale s* = g / sqrt(q), q = var + eps, is irrational
 * in general.  Its nominal value is s = g / r exactly, r = fl(sqrt(fl(var +
 * eps))); doubles rl <= sqrt(q) <= ru are found by comparing their squares
 * with q exactly, so s* lies between g/ru and g/rl and
 *     |s* - s| <= rs = max(|g/rl - s|, |g/ru - s|)
 * (rs = 0 when r*r = q exactly; s = 0 exactly when g = 0, then rs = 0). */
static cn_status bn_scale(ld *L, int c, double g, double var, double eps, mpq_t s, mpq_t rs)
{
    cn_status st = CN_OK;
    mpq_t q, t;
    mpq_inits(q, t, NULL);
    mpq_set_d(q, var);
    mpq_set_d(t, eps);
    mpq_add(q, q, t);
    double r = sqrt(var + eps), rl = r, ru = r;
    int il = 0, iu = 0;
    if (mpq_sgn(q) <= 0) {
        st = net__onnx_fail(L, CN_EPARSE, "var + epsilon <= 0 in channel %d", c);
        goto done;
    }
    for (; il < 64 && rl > 0 && isfinite(rl); il++, rl = nextafter(rl, 0.0)) {
        mpq_set_d(t, rl);
        mpq_mul(t, t, t);
        if (mpq_cmp(t, q) <= 0)
            break;
    }
    for (; iu < 64 && ru > 0 && isfinite(ru); iu++, ru = nextafter(ru, INFINITY)) {
        mpq_set_d(t, ru);
        mpq_mul(t, t, t);
        if (mpq_cmp(t, q) >= 0)
            break;
    }
    if (il == 64 || iu == 64 || !(rl > 0) || !isfinite(ru) || !(r > 0) || !isfinite(r)) {
        st = net__onnx_fail(L, CN_EUNSUPPORTED,
                            "cannot enclose sqrt(var + epsilon) in channel %d (var %g, "
                            "epsilon %g)",
                            c, var, eps);
        goto done;
    }
    mpq_set_d(s, g);
    mpq_set_d(t, r);
    mpq_div(s, s, t);
    mpq_set_d(rs, g);
    mpq_set_d(t, rl);
    mpq_div(rs, rs, t);
    mpq_sub(rs, rs, s);
    mpq_abs(rs, rs);                            /* |g/rl - s| */
    mpq_set_d(q, g);
    mpq_set_d(t, ru);
    mpq_div(q, q, t);
    mpq_sub(q, q, s);
    mpq_abs(q, q);                              /* |g/ru - s| */
    if (mpq_cmp(q, rs) > 0)
        mpq_set(rs, q);
done:
    mpq_clears(q, t, NULL);
    return st;
}

static cn_status op_batchnorm(ld *L)
{
    static const char *const known[] = {"epsilon", "momentum", "training_mode", "spatial",
                                        "is_test", "consumed_inputs", NULL};
    cn_status s;
    int64_t tm, spatial;
    double eps;
    if ((s = attrs_known(L, known)) || (s = attr_int(L, "training_mode", 0, &tm)) ||
        (s = attr_int(L, "spatial", 1, &spatial)) || (s = attr_float(L, "epsilon", 1e-5, &eps)))
        return s;
    if (tm != 0 || spatial != 1)
        return net__onnx_fail(L, CN_EUNSUPPORTED,
                              "only inference-mode BatchNormalization is supported");
    for (size_t i = 1; i < L->node->n_output; i++)
        if (*S(L->node->output[i]))
            return net__onnx_fail(L, CN_EUNSUPPORTED, "training-mode outputs are not supported");
    if (L->node->n_input != 5)
        return net__onnx_fail(L, CN_EPARSE, "expected 5 inputs (X, scale, B, mean, var), got %zu",
                              L->node->n_input);
    if (L->nd < 2 || L->dims[0] != 1)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "input must have shape [1, C, ...]");
    int ch = (int)L->dims[1], sp = net__onnx_cur_size(L) / ch;
    cst *prm[4];
    static const char *const what[] = {"scale", "B", "mean", "var"};
    for (int i = 0; i < 4; i++) {
        if ((s = net__onnx_node_const(L, (size_t)i + 1, what[i], &prm[i])))
            return s;
        if (prm[i]->n != (size_t)ch)
            return net__onnx_fail(L, CN_EPARSE, "%s has %zu values; expected %d (channels)",
                                  what[i], prm[i]->n, ch);
    }
    if ((s = net__onnx_need_e(L)))
        return s;
    mpq_t sq, rs, cq, rt, t;
    mpq_inits(sq, rs, cq, rt, t, NULL);
    for (int c = 0; c < ch; c++) {
        double g = prm[0]->v[c], beta = prm[1]->v[c], mean = prm[2]->v[c], var = prm[3]->v[c];
        if ((s = bn_scale(L, c, g, var, eps, sq, rs)))
            break;
        if (mpq_sgn(rs) != 0) {
            L->exact = false;
            if ((s = net__onnx_need_r(L)))
                break;
        }
        /* y = s* (x - mean) + beta = s* x + t*,  t* = beta - s* mean, with
         * |t* - t| <= rt = |mean| rs for t = beta - s mean */
        mpq_set_d(cq, mean);
        mpq_abs(rt, cq);
        mpq_mul(rt, rt, rs);
        mpq_mul(cq, cq, sq);
        mpq_set_d(t, beta);
        mpq_sub(cq, t, cq);
        for (int i = 0; i < sp; i++) {
            size_t j = (size_t)c * sp + i;
            elem *e = &L->e;
            if (e->ra) {
                /* |s* a* - s a| <= (|s| + rs) ra + |a| rs; likewise for c,
                 * plus rt */
                mpq_abs(t, sq);
                mpq_add(t, t, rs);
                mpq_mul(e->ra[j], e->ra[j], t);
                mpq_mul(e->rc[j], e->rc[j], t);
                mpq_abs(t, e->a[j]);
                mpq_mul(t, t, rs);
                mpq_add(e->ra[j], e->ra[j], t);
                mpq_abs(t, e->c[j]);
                mpq_mul(t, t, rs);
                mpq_add(e->rc[j], e->rc[j], t);
                mpq_add(e->rc[j], e->rc[j], rt);
            }
            mpq_mul(e->a[j], e->a[j], sq);
            mpq_mul(e->c[j], e->c[j], sq);
            mpq_add(e->c[j], e->c[j], cq);
        }
    }
    mpq_clears(sq, rs, cq, rt, t, NULL);
    if (s)
        return s;
    L->folded++;
    return CN_OK;
}

/* MatMul(x, W) with W [in, out], or MatMul(W, x) with W [out, in]. */
static cn_status op_matmul(ld *L, size_t xi)
{
    cn_status s;
    cst *w;
    char b1[128], b2[128];
    if ((s = attrs_known(L, NO_ATTRS)))
        return s;
    if (L->node->n_input != 2)
        return net__onnx_fail(L, CN_EPARSE, "expected 2 inputs, got %zu", L->node->n_input);
    if (L->nd < 1)
        return net__onnx_fail(L, CN_EPARSE, "input is a scalar; expected a vector");
    if ((s = net__onnx_node_const(L, 1 - xi, "weight", &w)))
        return s;
    if (w->nd != 2 || w->dims[0] < 1 || w->dims[1] < 1)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "weight must be a 2-D matrix, got shape %s",
                              net__onnx_fmt_dims(b1, sizeof b1, w->dims, w->nd));
    int64_t r = w->dims[0], c = w->dims[1], od[MAX_RANK];
    int ond = L->nd, in, out;
    memcpy(od, L->dims, sizeof od);
    bool ok = true;
    if (xi == 0) {                                 /* x [..., in] W [in, out] */
        for (int i = 0; i + 1 < L->nd; i++)
            ok = ok && L->dims[i] == 1;
        ok = ok && L->dims[L->nd - 1] == r;
        in = (int)r;
        out = (int)c;
        od[L->nd - 1] = c;
    } else {                                       /* W [out, in] x [in] or [..., in, 1] */
        if (L->nd == 1) {
            ok = L->dims[0] == c;
            od[0] = r;
        } else {
            for (int i = 0; i + 2 < L->nd; i++)
                ok = ok && L->dims[i] == 1;
            ok = ok && L->dims[L->nd - 2] == c && L->dims[L->nd - 1] == 1;
            od[L->nd - 2] = r;
        }
        in = (int)c;
        out = (int)r;
    }
    if (!ok || L->nd < 1)
        return net__onnx_fail(L, CN_EPARSE, "shape mismatch: input %s, weight %s (%s)",
                              net__onnx_fmt_dims(b1, sizeof b1, L->dims, L->nd),
                              net__onnx_fmt_dims(b2, sizeof b2, w->dims, 2),
                              xi == 0 ? "x*W needs x [..1, in] and W [in, out]"
                                      : "W*x needs W [out, in] and x [in] or [in, 1]");
    pend np;
    if ((s = net__onnx_pend_alloc(L, &np, NET_DENSE, in, out, (size_t)in * out, (size_t)out)))
        return s;
    for (int o = 0; o < out; o++)
        for (int k = 0; k < in; k++)
            np.W[(size_t)o * in + k] =
                xi == 0 ? w->v[(size_t)k * out + o] : w->v[(size_t)o * in + k];
    np.ishape = (net_shape){in, 1, 1};
    np.oshape = (net_shape){out, 1, 1};
    if ((s = net__onnx_begin_affine(L, &np)))
        return s;
    /* the layer's output shape, relabelled */
    int64_t p = net__onnx_dims_prod(od, ond, false);
    if (p != out)
        return net__onnx_fail(L, CN_EINTERNAL, "MatMul result size");
    memcpy(L->dims, od, sizeof od);
    L->nd = ond;
    return CN_OK;
}

/* The weight (input 1) and the optional bias (input 2, else *bias is left
 * alone) of a Gemm or Conv node. */
static cn_status weight_bias(ld *L, cst **w, cst **bias)
{
    cn_status s;
    if (L->node->n_input < 2 || L->node->n_input > 3)
        return net__onnx_fail(L, CN_EPARSE, "expected 2 or 3 inputs, got %zu", L->node->n_input);
    if ((s = net__onnx_node_const(L, 1, "weight", w)))
        return s;
    if (L->node->n_input == 3 && *S(L->node->input[2]))
        return net__onnx_node_const(L, 2, "bias", bias);
    return CN_OK;
}

static cn_status op_gemm(ld *L, size_t xi)
{
    static const char *const known[] = {"alpha", "beta", "transA", "transB", "broadcast", NULL};
    cn_status s;
    int64_t ta, tb;
    double alpha, beta;
    cst *w, *c = NULL;
    char b1[128], b2[128];
    if ((s = attrs_known(L, known)) || (s = attr_int(L, "transA", 0, &ta)) ||
        (s = attr_int(L, "transB", 0, &tb)) || (s = attr_float(L, "alpha", 1.0, &alpha)) ||
        (s = attr_float(L, "beta", 1.0, &beta)))
        return s;
    if (xi != 0)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "the input must be operand A (Gemm(x, W, C))");
    if (ta != 0)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "transA=%lld; only transA=0 is supported",
                              (long long)ta);
    if (tb != 0 && tb != 1)
        return net__onnx_fail(L, CN_EPARSE, "transB=%lld; expected 0 or 1", (long long)tb);
    if ((s = weight_bias(L, &w, &c)))
        return s;
    if (w->nd != 2 || w->dims[0] < 1 || w->dims[1] < 1)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "weight must be a 2-D matrix, got shape %s",
                              net__onnx_fmt_dims(b1, sizeof b1, w->dims, w->nd));
    int in = (int)(tb ? w->dims[1] : w->dims[0]), out = (int)(tb ? w->dims[0] : w->dims[1]);
    if (L->nd != 2 || L->dims[0] != 1 || L->dims[1] != in)
        return net__onnx_fail(L, CN_EPARSE, "shape mismatch: input %s, weight %s with transB=%lld",
                              net__onnx_fmt_dims(b1, sizeof b1, L->dims, L->nd),
                              net__onnx_fmt_dims(b2, sizeof b2, w->dims, 2), (long long)tb);
    int64_t od[2] = {1, out}, rd[MAX_RANK];
    int rnd;
    size_t *idx = NULL;
    if (c) {
        if (!(idx = cn_mallocarray((size_t)out, sizeof *idx)))
            return net__onnx_nomem(L);
        if ((s = bcast(L, c, od, 2, idx, rd, &rnd)))
            goto out;
        if (rnd != 2) {
            s = net__onnx_fail(L, CN_EPARSE, "bias has rank %d; expected at most 2", rnd);
            goto out;
        }
    }
    pend np;
    if ((s = net__onnx_pend_alloc(L, &np, NET_DENSE, in, out, (size_t)in * out, (size_t)out)))
        goto out;
    for (int o = 0; o < out; o++)
        for (int k = 0; k < in; k++)
            np.W[(size_t)o * in + k] = tb ? w->v[(size_t)o * in + k] : w->v[(size_t)k * out + o];
    np.ishape = (net_shape){in, 1, 1};
    np.oshape = (net_shape){out, 1, 1};
    if ((s = net__onnx_begin_affine(L, &np)))
        goto out;
    L->dims[1] = out;
    if (alpha != 1.0 || c) {
        if ((s = net__onnx_need_e(L)))
            goto out;
        for (int o = 0; o < out; o++) {
            mpq_set_d(L->e.a[o], alpha);
            if (c) {
                mpq_set_d(L->e.c[o], c->v[idx[o]]);
                mpq_set_d(L->t3, beta);
                mpq_mul(L->e.c[o], L->e.c[o], L->t3);
            }
        }
        L->p.has_bias = c != NULL;
    }
out:
    cn_free(idx);
    return s;
}

static cn_status op_conv(ld *L, size_t xi)
{
    static const char *const known[] = {"auto_pad", "dilations", "group", "kernel_shape",
                                        "pads", "strides", NULL};
    cn_status s;
    cst *w, *bias = NULL;
    char b1[128], b2[128];
    int64_t group, st[2] = {1, 1}, pads[4] = {0, 0, 0, 0}, dil[2] = {1, 1}, ks[2];
    bool has_st, has_pads, has_dil, has_ks;
    if ((s = attrs_known(L, known)) || (s = attr_int(L, "group", 1, &group)) ||
        (s = attr_ints(L, "strides", 2, st, &has_st)) ||
        (s = attr_ints(L, "pads", 4, pads, &has_pads)) ||
        (s = attr_ints(L, "dilations", 2, dil, &has_dil)) ||
        (s = attr_ints(L, "kernel_shape", 2, ks, &has_ks)))
        return s;
    const Onnx__AttributeProto *ap = attr(L, "auto_pad");
    if (ap) {
        const char *v = ap->has_s ? (const char *)ap->s.data : "";
        size_t len = ap->has_s ? ap->s.len : 0;
        bool notset = len == 0 || (len == 6 && memcmp(v, "NOTSET", 6) == 0);
        bool valid = len == 5 && memcmp(v, "VALID", 5) == 0;
        if (!notset && !(valid && !has_pads))
            return net__onnx_fail(L, CN_EUNSUPPORTED,
                                  "auto_pad must be NOTSET (give explicit pads)");
    }
    if (xi != 0)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "the input must be the first operand");
    if (group != 1)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "group=%lld; only group=1 is supported",
                              (long long)group);
    if (dil[0] != 1 || dil[1] != 1)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "dilations [%lld,%lld]; only 1 is supported",
                              (long long)dil[0], (long long)dil[1]);
    for (int i = 0; i < 2; i++)
        if (st[i] < 1 || st[i] > MAX_CONV_PARAM)
            return net__onnx_fail(L, CN_EPARSE, "stride %lld out of range", (long long)st[i]);
    for (int i = 0; i < 4; i++)
        if (pads[i] < 0 || pads[i] > MAX_CONV_PARAM)
            return net__onnx_fail(L, CN_EPARSE, "pad %lld out of range", (long long)pads[i]);
    if ((s = weight_bias(L, &w, &bias)))
        return s;
    if (w->nd != 4 || net__onnx_dims_prod(w->dims, 4, false) < 1)
        return net__onnx_fail(L, CN_EUNSUPPORTED,
                              "weight shape %s; only 2-D convolution is supported",
                              net__onnx_fmt_dims(b1, sizeof b1, w->dims, w->nd));
    if (L->nd != 4 || L->dims[0] != 1 || L->dims[1] != w->dims[1])
        return net__onnx_fail(L, CN_EPARSE,
                              "shape mismatch: input %s, weight %s (expected [1,C,H,W] "
                              "and [M,C,kH,kW])",
                              net__onnx_fmt_dims(b1, sizeof b1, L->dims, L->nd),
                              net__onnx_fmt_dims(b2, sizeof b2, w->dims, 4));
    if (has_ks && (ks[0] != w->dims[2] || ks[1] != w->dims[3]))
        return net__onnx_fail(L, CN_EPARSE, "kernel_shape [%lld,%lld] disagrees with weight %s",
                              (long long)ks[0], (long long)ks[1],
                              net__onnx_fmt_dims(b1, sizeof b1, w->dims, 4));
    int cout = (int)w->dims[0], cin = (int)w->dims[1], kh = (int)w->dims[2], kw = (int)w->dims[3];
    int h = (int)L->dims[2], wd = (int)L->dims[3];
    int64_t oh = h + pads[0] + pads[2] - kh, ow = wd + pads[1] + pads[3] - kw;
    if (oh < 0 || ow < 0)
        return net__onnx_fail(L, CN_EPARSE, "kernel %dx%d larger than the padded input", kh, kw);
    oh = oh / st[0] + 1;
    ow = ow / st[1] + 1;
    if (oh * ow > MAX_ELEMS / cout)
        return net__onnx_fail(L, CN_ELIMIT, "output feature map too large");
    if (bias && bias->n != (size_t)cout)
        return net__onnx_fail(L, CN_EPARSE, "bias has %zu values; expected %d", bias->n, cout);
    pend np;
    size_t nw = (size_t)cout * cin * kh * kw;
    if ((s = net__onnx_pend_alloc(L, &np, NET_CONV, cin * h * wd, (int)(cout * oh * ow), nw,
                                  (size_t)cout)))
        return s;
    memcpy(np.W, w->v, nw * sizeof(double));
    if (bias)
        memcpy(np.b, bias->v, (size_t)cout * sizeof(double));
    np.has_bias = bias != NULL;
    np.kh = kh;
    np.kw = kw;
    np.sh = (int)st[0];
    np.sw = (int)st[1];
    np.pt = (int)pads[0];
    np.pl = (int)pads[1];
    np.pb = (int)pads[2];
    np.pr = (int)pads[3];
    np.ishape = (net_shape){cin, h, wd};
    np.oshape = (net_shape){cout, (int)oh, (int)ow};
    if ((s = net__onnx_begin_affine(L, &np)))
        return s;
    L->dims[1] = cout;
    L->dims[2] = oh;
    L->dims[3] = ow;
    return CN_OK;
}

static cn_status op_relu(ld *L)
{
    cn_status s;
    cn_err e2;
    if ((s = attrs_known(L, NO_ATTRS)) || (s = net__onnx_flush(L)) ||
        (s = net__onnx_materialize(L)))
        return s;
    net_shape sh = net__tail_shape(L->n);
    if (sh.c * sh.h * sh.w != net__onnx_cur_size(L))
        return net__onnx_fail(L, CN_EINTERNAL, "ReLU size bookkeeping");
    if (!net_add_relu(L->n, &e2))
        return net__onnx_fail(L, e2.status, "%s", e2.msg);
    return CN_OK;
}

static cn_status op_flatten(ld *L)
{
    static const char *const known[] = {"axis", NULL};
    cn_status s;
    int64_t axis;
    if ((s = attrs_known(L, known)) || (s = attr_int(L, "axis", 1, &axis)))
        return s;
    if (axis < 0)
        axis += L->nd;
    if (axis < 0 || axis > L->nd)
        return net__onnx_fail(L, CN_EPARSE, "axis out of range for rank %d", L->nd);
    int64_t d[2] = {net__onnx_dims_prod(L->dims, (int)axis, false),
                    net__onnx_dims_prod(L->dims + axis, L->nd - (int)axis, false)};
    return set_dims(L, d, 2);
}

static cn_status op_reshape(ld *L)
{
    static const char *const known[] = {"allowzero", "shape", "consumed_inputs", NULL};
    cn_status s;
    int64_t allow0, sh[MAX_RANK], d[MAX_RANK];
    size_t ns;
    if ((s = attrs_known(L, known)) || (s = attr_int(L, "allowzero", 0, &allow0)))
        return s;
    const Onnx__AttributeProto *a = attr(L, "shape");
    if (L->node->n_input == 2) {
        cst *k = net__onnx_const_find(L, L->node->input[1]);
        if (!k)
            return net__onnx_fail(L, CN_EUNSUPPORTED, "the target shape must be a constant");
        if ((s = net__onnx_const_int64(L, k)))
            return s;
        ns = k->n;
        if (ns)
            memcpy(sh, k->iv, ns * sizeof *sh);
    } else if (L->node->n_input == 1 && a && a->n_ints <= MAX_RANK) {
        ns = a->n_ints;
        if (ns)
            memcpy(sh, a->ints, ns * sizeof *sh);
    } else {
        return net__onnx_fail(L, CN_EPARSE, "expected a data input and a shape");
    }
    int infer = -1;
    int64_t known_p = 1;
    for (size_t i = 0; i < ns; i++) {
        d[i] = sh[i];
        if (sh[i] == 0 && !allow0) {
            if ((int)i >= L->nd)
                return net__onnx_fail(L, CN_EPARSE, "shape entry %zu is 0 beyond the input's rank",
                                      i);
            d[i] = L->dims[i];
        } else if (sh[i] == -1) {
            if (infer >= 0)
                return net__onnx_fail(L, CN_EPARSE, "more than one -1 in the target shape");
            infer = (int)i;
            continue;
        } else if (sh[i] < 1 || sh[i] > MAX_ELEMS) {
            return net__onnx_fail(L, CN_EPARSE, "invalid target dimension %lld", (long long)sh[i]);
        }
        known_p *= d[i];
        if (known_p > MAX_ELEMS)
            return net__onnx_fail(L, CN_EPARSE, "target shape too large");
    }
    if (infer >= 0) {
        if (net__onnx_cur_size(L) % known_p)
            return net__onnx_fail(L, CN_EPARSE,
                                  "cannot infer -1: %d elements do not divide by %lld",
                                  net__onnx_cur_size(L), (long long)known_p);
        d[infer] = net__onnx_cur_size(L) / known_p;
    }
    return set_dims(L, d, (int)ns);
}

static cn_status op_dropout(ld *L)
{
    static const char *const known[] = {"ratio", "seed", "is_test", "consumed_inputs", NULL};
    cn_status s;
    if ((s = attrs_known(L, known)))
        return s;
    if (L->node->n_input == 3 && *S(L->node->input[2])) {
        cst *k = net__onnx_const_find(L, L->node->input[2]);
        bool on = true;
        if (k && k->t && k->t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL && k->nd == 0)
            on = k->t->has_raw_data ? (k->t->raw_data.len == 1 && k->t->raw_data.data[0])
                                    : (k->t->n_int32_data == 1 && k->t->int32_data[0]);
        if (on)
            return net__onnx_fail(L, CN_EUNSUPPORTED, "training_mode must be a constant false");
    }
    return CN_OK;
}

/* A Constant node: registers its value. */
static cn_status op_constant(ld *L)
{
    char nm[96];
    if (L->node->n_output != 1 || L->node->n_input != 0)
        return net__onnx_fail(L, CN_EPARSE, "expected no inputs and one output");
    if (L->node->n_attribute != 1)
        return net__onnx_fail(L, CN_EPARSE, "expected exactly one value attribute");
    const Onnx__AttributeProto *a = L->node->attribute[0];
    const char *an = S(a->name);
    const char *out = L->node->output[0];
    if (L->cur && strcmp(S(out), L->cur) == 0)
        return net__onnx_fail(L, CN_EPARSE, "output '%s' redefines the input",
                              net__onnx_clean(nm, sizeof nm, out));
    cst *k;
    cn_status s = net__onnx_const_add(L, out, &k);
    if (s)
        return s;
    if (strcmp(an, "value") == 0) {
        if (!a->t)
            return net__onnx_fail(L, CN_EPARSE, "attribute 'value' holds no tensor");
        k->t = a->t;
        return net__onnx_tensor_dims(L, k, a->t);
    }
    bool fl = strcmp(an, "value_float") == 0, fls = strcmp(an, "value_floats") == 0;
    bool in = strcmp(an, "value_int") == 0, ins = strcmp(an, "value_ints") == 0;
    if (!fl && !fls && !in && !ins)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "unsupported attribute '%s'",
                              net__onnx_clean(nm, sizeof nm, an));
    size_t n = fl || in ? 1 : fls ? a->n_floats : a->n_ints;
    if (ins && n > MAX_RANK)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "value_ints with %zu values", n);
    if (fl || fls) {
        if (!(k->v = cn_mallocarray(n, sizeof(double))))
            return net__onnx_nomem(L);
        for (size_t i = 0; i < n; i++) {
            k->v[i] = fl ? a->f : a->floats[i];
            if (!isfinite(k->v[i]))
                return net__onnx_fail(L, CN_EPARSE, "value is not finite");
        }
    } else {
        if (!(k->iv = cn_mallocarray(n, sizeof(int64_t))))
            return net__onnx_nomem(L);
        for (size_t i = 0; i < n; i++)
            k->iv[i] = in ? a->i : a->ints[i];
    }
    k->n = n;
    k->nd = fl || in ? 0 : 1;
    k->dims[0] = (int64_t)n;
    return CN_OK;
}

static bool is_activation(const char *op)
{
    static const char *const acts[] = {
        "Sigmoid", "Tanh", "LeakyRelu", "PRelu", "Elu", "Selu", "Celu", "Softplus",
        "Softsign", "HardSigmoid", "HardSwish", "ThresholdedRelu", "Softmax", "LogSoftmax",
        "Gelu", "Mish", "Clip", "Erf", "Exp", "Log", "Sin", "Cos", "Abs", "Sign", "Max",
        "Min", "Pow", "Sqrt", "Reciprocal", NULL};
    for (const char *const *a = acts; *a; a++)
        if (strcmp(op, *a) == 0)
            return true;
    return false;
}

/* Is name a graph input or some node's output?  (Only asked on errors.) */
static bool defined(const ld *L, const char *name)
{
    for (size_t i = 0; i < L->g->n_input; i++)
        if (strcmp(S(L->g->input[i]->name), name) == 0)
            return true;
    for (size_t i = 0; i < L->g->n_node; i++)
        for (size_t j = 0; j < L->g->node[i]->n_output; j++)
            if (strcmp(S(L->g->node[i]->output[j]), name) == 0)
                return true;
    return false;
}

/* Reads one node of the chain. */
cn_status net__onnx_read_node(ld *L)
{
    const Onnx__NodeProto *nd = L->node;
    const char *op = S(nd->op_type);
    char nm[96];
    const char *dom = S(nd->domain);
    if (*dom && strcmp(dom, "ai.onnx") != 0)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "operator domain '%s' is not supported",
                              net__onnx_clean(nm, sizeof nm, dom));
    if (strcmp(op, "Constant") == 0)
        return op_constant(L);
    /* exactly one input is the chain's current tensor; the rest are constants */
    size_t xi = SIZE_MAX;
    for (size_t i = 0; i < nd->n_input; i++) {
        const char *in = S(nd->input[i]);
        if (!*in)
            continue;
        if (strcmp(in, L->cur) == 0) {
            if (xi != SIZE_MAX)
                return net__onnx_fail(L, CN_EUNSUPPORTED,
                                      "uses '%s' twice; not an affine map of it",
                                      net__onnx_clean(nm, sizeof nm, in));
            xi = i;
        } else if (!net__onnx_const_find(L, in)) {
            if (!defined(L, in))
                return net__onnx_fail(
                    L, CN_EPARSE,
                    "input '%s' is not defined by any initializer, Constant, node or "
                    "graph input (missing initializer?)",
                    net__onnx_clean(nm, sizeof nm, in));
            return net__onnx_fail(
                L, CN_EUNSUPPORTED,
                "input '%s' is neither a constant nor the previous layer's output; the "
                "graph is not a chain (branches and joins are unsupported)",
                net__onnx_clean(nm, sizeof nm, in));
        }
    }
    if (xi == SIZE_MAX)
        return net__onnx_fail(
            L, CN_EUNSUPPORTED,
            "does not consume the chain tensor '%s' (constant folding and branches "
            "are unsupported)",
            net__onnx_clean(nm, sizeof nm, L->cur));
    if (nd->n_output < 1 || !*S(nd->output[0]))
        return net__onnx_fail(L, CN_EPARSE, "node has no output");
    size_t max_out = strcmp(op, "Dropout") == 0 || strcmp(op, "BatchNormalization") == 0 ? 5 : 1;
    if (nd->n_output > max_out)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "expected one output, got %zu", nd->n_output);
    if (net__onnx_const_find(L, nd->output[0]))
        return net__onnx_fail(L, CN_EPARSE, "output '%s' redefines a constant",
                              net__onnx_clean(nm, sizeof nm, nd->output[0]));
    cn_status s;
    if (strcmp(op, "Relu") == 0)
        s = op_relu(L);
    else if (strcmp(op, "MatMul") == 0)
        s = op_matmul(L, xi);
    else if (strcmp(op, "Gemm") == 0)
        s = op_gemm(L, xi);
    else if (strcmp(op, "Conv") == 0)
        s = op_conv(L, xi);
    else if (strcmp(op, "Add") == 0 || strcmp(op, "Sub") == 0 || strcmp(op, "Mul") == 0 ||
             strcmp(op, "Div") == 0)
        s = op_arith(L, op, xi);
    else if (strcmp(op, "BatchNormalization") == 0)
        s = xi == 0 ? op_batchnorm(L) : net__onnx_fail(L, CN_EUNSUPPORTED, "the input must be X");
    else if (strcmp(op, "Flatten") == 0)
        s = op_flatten(L);
    else if (strcmp(op, "Reshape") == 0)
        s = xi == 0 ? op_reshape(L)
                    : net__onnx_fail(L, CN_EUNSUPPORTED, "the input must be the data");
    else if (strcmp(op, "Identity") == 0)
        s = attrs_known(L, NO_ATTRS + 1);
    else if (strcmp(op, "Dropout") == 0)
        s = xi == 0 ? op_dropout(L)
                    : net__onnx_fail(L, CN_EUNSUPPORTED, "the input must be the data");
    else if (is_activation(op))
        return net__onnx_fail(L, CN_EUNSUPPORTED,
                              "unsupported activation; certnn verifies ReLU networks only");
    else
        return net__onnx_fail(
            L, CN_EUNSUPPORTED,
            "unsupported operator; supported: MatMul, Gemm, Conv, Add, Sub, Mul, Div, "
            "BatchNormalization, Relu, Flatten, Reshape, Identity, Dropout, Constant");
    if (s)
        return s;
    L->cur = nd->output[0];
    return CN_OK;
}

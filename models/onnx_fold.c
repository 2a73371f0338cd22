/* onnx_fold.c — the ONNX loader's pending affine layer and exact folding of
 * elementwise maps (the state is described in onnx_int.h).
 *
 * Folding computes every new weight and bias exactly (mpq) from the stored
 * doubles and rounds it once to the nearest double; net->fold_exact becomes
 * false when some rounding was inexact (models.h, "Exactness").  A ReLU or
 * the end of the graph appends the pending layer.
 *
 * A shift (c != 0) cannot be moved through the zero padding of a following
 * Conv (the padded border would see -c instead of 0), so that case is
 * refused rather than misread.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "models/onnx_int.h"

static bool is_even(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return (u & 1) == 0;
}

/* Rounds q to the nearest double (ties to even); clears L->exact when the
 * rounding is inexact. */
static cn_status round_q(ld *L, const mpq_t q, double *out)
{
    double d = mpq_get_d(q);                 /* truncated toward zero */
    if (!isfinite(d))
        goto overflow;
    mpq_set_d(L->t1, d);
    if (mpq_equal(L->t1, q)) {
        *out = d;
        return CN_OK;
    }
    L->exact = false;
    double e = nextafter(d, mpq_sgn(q) > 0 ? INFINITY : -INFINITY);
    if (!isfinite(e))
        goto overflow;
    mpq_set_d(L->t2, e);
    mpq_add(L->t2, L->t2, L->t1);
    mpq_div_2exp(L->t2, L->t2, 1);           /* midpoint */
    int c = mpq_cmp(q, L->t2);
    if (mpq_sgn(q) < 0)
        c = -c;
    *out = c < 0 ? d : c > 0 ? e : (is_even(d) ? d : e);
    return CN_OK;
overflow:
    return net__onnx_fail(L, CN_EUNSUPPORTED, "a folded weight overflows the double range");
}

static void elem_clear(elem *e)
{
    if (e->a)
        for (int i = 0; i < e->n; i++)
            mpq_clear(e->a[i]);
    if (e->c)
        for (int i = 0; i < e->n; i++)
            mpq_clear(e->c[i]);
    cn_free(e->a);
    cn_free(e->c);
    memset(e, 0, sizeof *e);
}

static void drop_e(ld *L)
{
    elem_clear(&L->e);
    L->has_e = false;
}

/* Makes sure L->e exists for the current tensor (identity when new). */
cn_status net__onnx_need_e(ld *L)
{
    if (L->has_e)
        return CN_OK;
    int n = net__onnx_cur_size(L);
    if (n > MAX_ELEMWISE)
        return net__onnx_fail(L, CN_ELIMIT,
                              "elementwise operation on %d values; at most %d supported", n,
                              MAX_ELEMWISE);
    L->e.a = cn_mallocarray((size_t)n, sizeof(mpq_t));
    L->e.c = cn_mallocarray((size_t)n, sizeof(mpq_t));
    if (!L->e.a || !L->e.c) {
        cn_free(L->e.a);
        cn_free(L->e.c);
        L->e.a = L->e.c = NULL;
        return net__onnx_nomem(L);
    }
    for (int i = 0; i < n; i++) {
        mpq_init(L->e.a[i]);
        mpq_set_ui(L->e.a[i], 1, 1);
        mpq_init(L->e.c[i]);
    }
    L->e.n = n;
    L->has_e = true;
    return CN_OK;
}

static bool q_is_one(const mpq_t q) { return mpq_cmp_ui(q, 1, 1) == 0; }

/* Is e the same for every element of each channel (ch channels, sp elements
 * each)?  Then entry ch*sp is the channel's value. */
static bool per_channel(const elem *e, int ch, int sp)
{
    for (int c = 0; c < ch; c++)
        for (int i = 1; i < sp; i++)
            if (!mpq_equal(e->a[c * sp], e->a[c * sp + i]) ||
                !mpq_equal(e->c[c * sp], e->c[c * sp + i]))
                return false;
    return true;
}

/* w <- round(w * a) */
static cn_status scale_d(ld *L, double *w, const mpq_t a)
{
    mpq_set_d(L->t3, *w);
    mpq_mul(L->t3, L->t3, a);
    return round_q(L, L->t3, w);
}

/* Folds L->e applied to the pending layer's output: y' = a ⊙ (W x + b) + c. */
static cn_status fold_post(ld *L)
{
    pend *p = &L->p;
    elem *e = &L->e;
    cn_status s;
    int groups = p->op == NET_CONV ? p->oshape.c : p->out;
    int sp = p->op == NET_CONV ? p->oshape.h * p->oshape.w : 1;
    int per = p->op == NET_CONV ? p->in / (p->ishape.h * p->ishape.w) * p->kh * p->kw : p->in;
    if (p->op == NET_CONV && !per_channel(e, groups, sp))
        return net__onnx_fail(L, CN_EUNSUPPORTED,
                              "an elementwise constant after a Conv varies within a channel; only "
                              "per-channel constants can be folded");
    for (int o = 0; o < groups; o++) {
        const mpq_t *a = &e->a[o * sp], *c = &e->c[o * sp];
        if (!q_is_one(*a))
            for (int k = 0; k < per; k++)
                if ((s = scale_d(L, &p->W[(size_t)o * per + k], *a)))
                    return s;
        mpq_set_d(L->t3, p->b[o]);
        mpq_mul(L->t3, L->t3, *a);
        mpq_add(L->t3, L->t3, *c);
        if ((s = round_q(L, L->t3, &p->b[o])))
            return s;
    }
    drop_e(L);
    return CN_OK;
}

/* Folds L->e applied to the new layer's input: W (a ⊙ x + c) + b. */
static cn_status fold_pre(ld *L, pend *p)
{
    elem *e = &L->e;
    cn_status s;
    bool shift = false;
    for (int k = 0; k < e->n && !shift; k++)
        shift = mpq_sgn(e->c[k]) != 0;
    if (p->op == NET_DENSE) {
        mpq_t acc;
        mpq_init(acc);
        for (int o = 0; o < p->out && shift; o++) {
            const double *row = p->W + (size_t)o * p->in;
            mpq_set_d(acc, p->b[o]);
            for (int k = 0; k < p->in; k++) {
                if (row[k] == 0.0 || mpq_sgn(e->c[k]) == 0)
                    continue;
                mpq_set_d(L->t3, row[k]);
                mpq_mul(L->t3, L->t3, e->c[k]);
                mpq_add(acc, acc, L->t3);
            }
            if ((s = round_q(L, acc, &p->b[o]))) {
                mpq_clear(acc);
                return s;
            }
        }
        mpq_clear(acc);
        for (int k = 0; k < p->in; k++)
            if (!q_is_one(e->a[k]))
                for (int o = 0; o < p->out; o++)
                    if ((s = scale_d(L, &p->W[(size_t)o * p->in + k], e->a[k])))
                        return s;
    } else {
        int cin = p->ishape.c, sp = p->ishape.h * p->ishape.w, cout = p->oshape.c;
        int ksz = p->kh * p->kw;
        if (!per_channel(e, cin, sp))
            return net__onnx_fail(L, CN_EUNSUPPORTED,
                                  "a preceding elementwise constant varies within a channel; only "
                                  "per-channel normalisation can be folded into a Conv");
        if (shift && (p->pt || p->pl || p->pb || p->pr))
            return net__onnx_fail(
                L, CN_EUNSUPPORTED,
                "cannot fold the preceding input shift (Sub/Add/BatchNormalization) "
                "into a zero-padded Conv: the padded border would change; use pads 0 "
                "or remove the shift");
        mpq_t acc;
        mpq_init(acc);
        for (int o = 0; o < cout && shift; o++) {
            mpq_set_d(acc, p->b[o]);
            for (int ci = 0; ci < cin; ci++)
                for (int k = 0; k < ksz; k++) {
                    double w = p->W[((size_t)o * cin + ci) * ksz + k];
                    if (w == 0.0 || mpq_sgn(e->c[ci * sp]) == 0)
                        continue;
                    mpq_set_d(L->t3, w);
                    mpq_mul(L->t3, L->t3, e->c[ci * sp]);
                    mpq_add(acc, acc, L->t3);
                }
            if ((s = round_q(L, acc, &p->b[o]))) {
                mpq_clear(acc);
                return s;
            }
        }
        mpq_clear(acc);
        for (int ci = 0; ci < cin; ci++)
            if (!q_is_one(e->a[ci * sp]))
                for (int o = 0; o < cout; o++)
                    for (int k = 0; k < ksz; k++)
                        if ((s = scale_d(L, &p->W[((size_t)o * cin + ci) * ksz + k],
                                         e->a[ci * sp])))
                            return s;
    }
    drop_e(L);
    return CN_OK;
}

static void pend_clear(pend *p)
{
    cn_free(p->W);
    cn_free(p->b);
    memset(p, 0, sizeof *p);
}

static bool shape_eq(net_shape a, net_shape b) { return a.c == b.c && a.h == b.h && a.w == b.w; }

/* Gives the tail of the net the shape s (same size): the input shape when
 * there are no layers, otherwise the output of trailing ReLU/dense layers. */
static cn_status retag_tail(ld *L, net_shape s)
{
    net *n = L->n;
    if (shape_eq(net__tail_shape(n), s))
        return CN_OK;
    if (n->n_layers == 0) {
        n->in_shape = s;
        return CN_OK;
    }
    for (int i = n->n_layers - 1; i >= 0; i--) {
        net_layer *l = &n->layers[i];
        if (l->op == NET_RELU) {
            l->in_shape = l->out_shape = s;
            continue;
        }
        if (l->op == NET_CONV)
            return net__onnx_fail(L, CN_EUNSUPPORTED,
                                  "a Reshape between convolutions changes the feature-map layout");
        l->out_shape = s;
        return CN_OK;
    }
    n->in_shape = s;
    return CN_OK;
}

/* Appends the pending layer (with any elementwise map on its output). */
cn_status net__onnx_flush(ld *L)
{
    pend *p = &L->p;
    cn_status s;
    if (!p->op)
        return CN_OK;
    if (L->has_e && (s = fold_post(L)))
        return s;
    /* a dense layer reads the flattened tail; a conv needs its (c,h,w) */
    if (p->op == NET_CONV && (s = retag_tail(L, p->ishape)))
        return s;
    if (net_out_size(L->n) != p->in)
        return net__onnx_fail(L, CN_EINTERNAL, "layer input size bookkeeping disagrees");
    cn_err e2;
    net_layer *l;
    if (p->op == NET_DENSE)
        l = net_add_dense(L->n, p->out, &e2);
    else
        l = net_add_conv(L->n, p->oshape.c, p->kh, p->kw, p->sh, p->sw, p->pt, p->pl, p->pb,
                         p->pr, &e2);
    if (!l)
        return net__onnx_fail(L, e2.status, "%s", e2.msg);
    if (l->in != p->in || l->out != p->out || !shape_eq(l->out_shape, p->oshape))
        return net__onnx_fail(L, CN_EINTERNAL, "layer shape bookkeeping disagrees");
    cn_free(l->W);
    cn_free(l->b);
    l->W = p->W;
    l->b = p->b;
    p->W = p->b = NULL;
    pend_clear(p);
    return CN_OK;
}

/* Appends an elementwise map with no affine layer to fold into as an
 * explicit diagonal dense layer. */
cn_status net__onnx_materialize(ld *L)
{
    cn_status s;
    if (!L->has_e)
        return CN_OK;
    int n = L->e.n;
    if (n > MAX_DIAG)
        return net__onnx_fail(
            L, CN_EUNSUPPORTED,
            "an elementwise constant on %d values is not next to an affine layer it "
            "could be folded into",
            n);
    cn_err e2;
    net_layer *l = net_add_dense(L->n, n, &e2);
    if (!l)
        return net__onnx_fail(L, e2.status, "%s", e2.msg);
    for (int k = 0; k < n; k++) {
        if ((s = round_q(L, L->e.a[k], &l->W[(size_t)k * n + k])) ||
            (s = round_q(L, L->e.c[k], &l->b[k])))
            return s;
    }
    drop_e(L);
    return CN_OK;
}

/* Makes np the pending layer: appends the previous one and folds a pending
 * elementwise map into np's input. */
cn_status net__onnx_begin_affine(ld *L, pend *np)
{
    cn_status s;
    if ((s = net__onnx_flush(L)))
        goto fail;
    if (L->has_e && (s = fold_pre(L, np)))
        goto fail;
    L->p = *np;
    memset(np, 0, sizeof *np);
    return CN_OK;
fail:
    pend_clear(np);
    return s;
}

cn_status net__onnx_pend_alloc(ld *L, pend *p, net_op op, int in, int out, size_t nw, size_t nb)
{
    memset(p, 0, sizeof *p);
    p->op = op;
    p->in = in;
    p->out = out;
    p->W = cn_mallocarray(nw, sizeof(double));
    p->b = cn_calloc(nb, sizeof(double));
    if (!p->W || !p->b) {
        pend_clear(p);
        return net__onnx_nomem(L);
    }
    return CN_OK;
}

/* Frees the pending layer and elementwise map (after success or failure). */
void net__onnx_fold_clear(ld *L)
{
    drop_e(L);
    pend_clear(&L->p);
}

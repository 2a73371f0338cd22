/* onnx_ops_pool.c — readers of Pad, AveragePool, GlobalAveragePool and
 * MaxPool.
 *
 * Pad with all-zero pads is the identity (whatever its mode and value) and
 * is read as nothing; other pads are refused by name.
 *
 * AveragePool (no padding, ceil_mode 0, so every window holds kh*kw inputs
 * and count_include_pad does not matter) is linear: output (c,oy,ox) is
 *     sum_{ky,kx} f z[c, oy*sh+ky, ox*sw+kx],   f = 1/(kh kw).
 * It becomes a pending NET_CONV layer with C output channels whose filter c
 * is f on input channel c and 0 elsewhere; W = fl(f).  When f is not a
 * double (kh kw not a power of two) the layer carries the enclosure of
 * models.h, |f - W| <= 2^-53 |W| <= U |W| (wrel = U, wabs = 0), and the
 * fold is inexact (net_info.fold_exact).  GlobalAveragePool is the case
 * kh x kw = H x Wd.
 *
 * Composition with a following dense layer.  When the pool's windows do not
 * overlap (stride >= kernel), each input feeds at most one pool output q(k),
 * so a dense layer D after it gives the dense map D P with entries
 *     (D P)[o][k] = D[o][q(k)] f     (0 when k feeds no window),
 * a single product.  With f a power of two that product is exact unless it
 * falls below the normal range, which is checked entry by entry (the
 * product is recomputed from the result and compared).  Then the two layers
 * are one exact dense layer over the pool's input: no pooled intermediate
 * layer is left for bounds to propagate (a verivital-sized pool as a dense
 * unrolled convolution would be 1152 x 23328).  Otherwise the pool stays a
 * convolution layer of its own.
 *
 * MaxPool (no padding, dilation 1, ceil_mode 0, one output) becomes a
 * NET_MAXPOOL layer (models.h, pool.c).
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "models/onnx_int.h"


/* Pad: accepts only pads that are all zero (the identity). */
cn_status net__onnx_op_pad(ld *L)
{
    static const char *const known[] = {"mode", "pads", "value", NULL};
    cn_status s;
    if ((s = net__onnx_attrs_known(L, known)))
        return s;
    const Onnx__AttributeProto *a = net__onnx_attr(L, "pads");
    const int64_t *p = NULL;
    size_t np = 0;
    if (a) {
        if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS && a->n_ints == 0)
            return net__onnx_fail(L, CN_EPARSE, "attribute 'pads' must be a list of ints");
        p = a->ints;
        np = a->n_ints;
    } else if (L->node->n_input >= 2 && *S(L->node->input[1])) {
        cst *k = net__onnx_const_find(L, L->node->input[1]);
        if (!k)
            return net__onnx_fail(L, CN_EUNSUPPORTED, "input 'pads' must be a constant");
        if ((s = net__onnx_const_int64(L, k)))
            return s;
        p = k->iv;
        np = k->n;
    } else {
        return net__onnx_fail(L, CN_EPARSE, "no 'pads' attribute or input");
    }
    if (np != (size_t)2 * (size_t)L->nd && !(L->node->n_input >= 4 && np % 2 == 0))
        return net__onnx_fail(L, CN_EPARSE, "'pads' has %zu values; expected %d for rank %d", np,
                              2 * L->nd, L->nd);
    for (size_t i = 0; i < np; i++)
        if (p[i] != 0)
            return net__onnx_fail(L, CN_EUNSUPPORTED,
                                  "'pads' value %zu is %lld; only all-zero pads (the identity) "
                                  "are supported",
                                  i, (long long)p[i]);
    return CN_OK;
}

cn_status net__onnx_pool_attrs(ld *L, int nd, const int64_t *dims, pool_geom *g)
{
    cn_status s;
    int64_t ks[2], st[2] = {1, 1}, pads[4] = {0, 0, 0, 0}, dil[2] = {1, 1}, ceil;
    bool has_ks, has_st, has_pads, has_dil;
    if ((s = net__onnx_attr_ints(L, "kernel_shape", 2, ks, &has_ks)) ||
        (s = net__onnx_attr_ints(L, "strides", 2, st, &has_st)) ||
        (s = net__onnx_attr_ints(L, "pads", 4, pads, &has_pads)) ||
        (s = net__onnx_attr_ints(L, "dilations", 2, dil, &has_dil)) ||
        (s = net__onnx_attr_int(L, "ceil_mode", 0, &ceil)))
        return s;
    if (!has_ks)
        return net__onnx_fail(L, CN_EPARSE, "attribute 'kernel_shape' is required");
    const Onnx__AttributeProto *ap = net__onnx_attr(L, "auto_pad");
    if (ap && ap->has_s && ap->s.len &&
        !(ap->s.len == 6 && memcmp(ap->s.data, "NOTSET", 6) == 0) &&
        !(ap->s.len == 5 && memcmp(ap->s.data, "VALID", 5) == 0))
        return net__onnx_fail(L, CN_EUNSUPPORTED, "attribute 'auto_pad' must be NOTSET or VALID");
    for (int i = 0; i < 4; i++)
        if (pads[i] != 0)
            return net__onnx_fail(L, CN_EUNSUPPORTED,
                                  "attribute 'pads' [%lld,%lld,%lld,%lld]; only zero padding "
                                  "is supported",
                                  (long long)pads[0], (long long)pads[1], (long long)pads[2],
                                  (long long)pads[3]);
    if (ceil != 0)
        return net__onnx_fail(L, CN_EUNSUPPORTED,
                              "attribute 'ceil_mode' = %lld; only 0 (floor) is supported",
                              (long long)ceil);
    if (dil[0] != 1 || dil[1] != 1)
        return net__onnx_fail(L, CN_EUNSUPPORTED,
                              "attribute 'dilations' [%lld,%lld]; only 1 is supported",
                              (long long)dil[0], (long long)dil[1]);
    for (int i = 0; i < 2; i++) {
        if (ks[i] < 1 || ks[i] > MAX_CONV_PARAM)
            return net__onnx_fail(L, CN_EPARSE, "attribute 'kernel_shape' value %lld out of range",
                                  (long long)ks[i]);
        if (st[i] < 1 || st[i] > MAX_CONV_PARAM)
            return net__onnx_fail(L, CN_EPARSE, "attribute 'strides' value %lld out of range",
                                  (long long)st[i]);
    }
    if (nd != 4 || dims[0] != 1)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "expected a [1,C,H,W] input");
    g->kh = (int)ks[0];
    g->kw = (int)ks[1];
    g->sh = (int)st[0];
    g->sw = (int)st[1];
    g->c = (int)dims[1];
    g->h = (int)dims[2];
    g->w = (int)dims[3];
    if (g->kh > g->h || g->kw > g->w)
        return net__onnx_fail(L, CN_EPARSE,
                              "attribute 'kernel_shape' [%d,%d] larger than the %dx%d input",
                              g->kh, g->kw, g->h, g->w);
    if ((int64_t)g->kh * g->kw > NET_MAXPOOL_WINDOW)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "a %dx%d window; at most %d values supported",
                              g->kh, g->kw, NET_MAXPOOL_WINDOW);
    g->oh = (g->h - g->kh) / g->sh + 1;
    g->ow = (g->w - g->kw) / g->sw + 1;
    return CN_OK;
}

static void set_pool_dims(ld *L, const pool_geom *g)
{
    L->dims[2] = g->oh;
    L->dims[3] = g->ow;
}

/* The average of g's windows as a pending convolution (see the top). */
static cn_status avg_layer(ld *L, const pool_geom *g)
{
    cn_status s;
    if ((s = net__onnx_flush(L)) || (s = net__onnx_materialize(L)))
        return s;
    pend np;
    size_t fan = (size_t)g->c * (size_t)g->kh * (size_t)g->kw;
    if ((s = net__onnx_pend_alloc(L, &np, NET_CONV, g->c * g->h * g->w, g->c * g->oh * g->ow,
                                  (size_t)g->c * fan, (size_t)g->c)))
        return s;
    int k = g->kh * g->kw;
    double f = 1.0 / (double)k;              /* round to nearest */
    bool exact = (k & (k - 1)) == 0;
    memset(np.W, 0, (size_t)g->c * fan * sizeof(double));
    for (int c = 0; c < g->c; c++)
        for (int t = 0; t < k; t++)
            np.W[(size_t)c * fan + (size_t)c * (size_t)k + (size_t)t] = f;
    np.kh = g->kh;
    np.kw = g->kw;
    np.sh = g->sh;
    np.sw = g->sw;
    np.ishape = (net_shape){g->c, g->h, g->w};
    np.oshape = (net_shape){g->c, g->oh, g->ow};
    np.has_bias = true;                      /* a following Add is not its bias */
    np.avg_pool = exact && g->sh >= g->kh && g->sw >= g->kw;
    if (!exact) {
        np.wrel = 0x1p-52;
        L->exact = false;
        L->rounded++;
    }
    if ((s = net__onnx_begin_affine(L, &np)))
        return s;
    L->folded++;
    set_pool_dims(L, g);
    return CN_OK;
}

cn_status net__onnx_op_avgpool(ld *L)
{
    static const char *const known[] = {"auto_pad",     "ceil_mode", "count_include_pad",
                                        "kernel_shape", "pads",      "strides",
                                        NULL};
    cn_status s;
    pool_geom g;
    if ((s = net__onnx_attrs_known(L, known)) ||
        (s = net__onnx_pool_attrs(L, L->nd, L->dims, &g)))
        return s;
    return avg_layer(L, &g);
}

cn_status net__onnx_op_globalavgpool(ld *L)
{
    cn_status s;
    if ((s = net__onnx_attrs_known(L, net__onnx_no_attrs + 1)))
        return s;
    if (L->nd != 4 || L->dims[0] != 1)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "expected a [1,C,H,W] input");
    /* one window: strides equal to it make it "non-overlapping" */
    pool_geom g = {.kh = (int)L->dims[2], .kw = (int)L->dims[3],
                   .sh = (int)L->dims[2], .sw = (int)L->dims[3],
                   .c = (int)L->dims[1], .h = (int)L->dims[2], .w = (int)L->dims[3],
                   .oh = 1, .ow = 1};
    return avg_layer(L, &g);
}

cn_status net__onnx_op_maxpool(ld *L)
{
    static const char *const known[] = {"auto_pad", "ceil_mode",     "dilations", "kernel_shape",
                                        "pads",     "storage_order", "strides",   NULL};
    cn_status s;
    pool_geom g;
    int64_t order;
    if ((s = net__onnx_attrs_known(L, known)) ||
        (s = net__onnx_pool_attrs(L, L->nd, L->dims, &g)) ||
        (s = net__onnx_attr_int(L, "storage_order", 0, &order)))
        return s;
    if ((s = net__onnx_flush(L)) || (s = net__onnx_materialize(L)))
        return s;
    net_shape sh = net__tail_shape(L->n);
    if (sh.c * sh.h * sh.w != net__onnx_cur_size(L))
        return net__onnx_fail(L, CN_EINTERNAL, "max pool size bookkeeping");
    if (sh.c != g.c || sh.h != g.h || sh.w != g.w) {
        /* a Reshape/Flatten before the pool: take the ONNX shape */
        if (L->n->n_layers == 0)
            L->n->in_shape = (net_shape){g.c, g.h, g.w};
        else {
            net_layer *l = &L->n->layers[L->n->n_layers - 1];
            if (l->op != NET_RELU)
                return net__onnx_fail(L, CN_EUNSUPPORTED,
                                      "the pool's input layout is not a feature map");
            l->in_shape = l->out_shape = (net_shape){g.c, g.h, g.w};
        }
    }
    cn_err e2;
    if (!net_add_maxpool(L->n, g.kh, g.kw, g.sh, g.sw, &e2))
        return net__onnx_fail(L, e2.status, "%s", e2.msg);
    set_pool_dims(L, &g);
    return CN_OK;
}

/* Composes the pending average pool (p->avg_pool) with the dense layer np
 * that follows it (see the top); false when some product is not exact
 * (np unchanged).  On success np reads the pool's input. */
static cn_status compose(ld *L, pend *np, bool *done)
{
    pend *p = &L->p;
    *done = false;
    int in = p->in, out = np->out, kh = p->kh, kw = p->kw;
    const net_shape is = p->ishape, os = p->oshape;
    double f = p->W[0];                      /* channel 0's first tap: 1/(kh kw) */
    double *W = cn_calloc((size_t)in * (size_t)out, sizeof(double));
    if (!W)
        return net__onnx_nomem(L);
    for (int c = 0; c < os.c; c++)
        for (int oy = 0; oy < os.h; oy++)
            for (int ox = 0; ox < os.w; ox++) {
                int q = (c * os.h + oy) * os.w + ox;
                for (int ky = 0; ky < kh; ky++)
                    for (int kx = 0; kx < kw; kx++) {
                        int k = (c * is.h + oy * p->sh + ky) * is.w + ox * p->sw + kx;
                        for (int o = 0; o < out; o++) {
                            double d = np->W[(size_t)o * (size_t)np->in + (size_t)q];
                            double v = d * f;
                            if (v / f != d) {
                                cn_free(W);
                                return CN_OK;
                            }
                            W[(size_t)o * (size_t)in + (size_t)k] = v;
                        }
                    }
            }
    cn_free(np->W);
    np->W = W;
    np->in = in;
    np->ishape = (net_shape){in, 1, 1};
    cn_free(p->W);
    cn_free(p->b);
    cn_free(p->brad);
    memset(p, 0, sizeof *p);
    *done = true;
    return CN_OK;
}

cn_status net__onnx_pool_compose(ld *L, pend *np)
{
    if (!L->p.op || !L->p.avg_pool || L->has_e || np->op != NET_DENSE || np->in != L->p.out)
        return CN_OK;
    bool done;
    return compose(L, np, &done);
}

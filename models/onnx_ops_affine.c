/* onnx_ops_affine.c — readers of the ONNX operators that make an affine
 * layer: MatMul, Gemm, Conv (weights from the constants table, exactly),
 * and BatchNormalization (a per-channel affine map folded exactly, or with an
 * enclosure of its irrational scale). */
#include "config.h"

#include <math.h>
#include <string.h>

#include "models/onnx_int.h"

/* BatchNormalization's scale s* = g / sqrt(q), q = var + eps, is irrational
 * in general.  Its nominal value is s = g / r exactly, r = fl(sqrt(fl(var +
 * eps))); doubles rl <= sqrt(q) <= ru are found by comparing their squares
 * with q exactly, so s* lies between g/ru and g/rl and
 *     |s* - s| <= rs = max(|g/rl - s|, |g/ru - s|)
 * (rs = 0 when r*r = q exactly; s = 0 exactly when g = 0, then rs = 0). */
cn_status net__onnx_bn_scale(ld *L, int c, double g, double var, double eps, mpq_t s, mpq_t rs)
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

cn_status net__onnx_bn_read(ld *L, int ch, double *eps, cst *prm[4])
{
    static const char *const known[] = {"epsilon", "momentum", "training_mode", "spatial",
                                        "is_test", "consumed_inputs", NULL};
    cn_status s;
    int64_t tm, spatial;
    if ((s = net__onnx_attrs_known(L, known)) ||
        (s = net__onnx_attr_int(L, "training_mode", 0, &tm)) ||
        (s = net__onnx_attr_int(L, "spatial", 1, &spatial)) ||
        (s = net__onnx_attr_float(L, "epsilon", 1e-5, eps)))
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
    static const char *const what[] = {"scale", "B", "mean", "var"};
    for (int i = 0; i < 4; i++) {
        if ((s = net__onnx_node_const(L, (size_t)i + 1, what[i], &prm[i])))
            return s;
        if (prm[i]->n != (size_t)ch)
            return net__onnx_fail(L, CN_EPARSE, "%s has %zu values; expected %d (channels)",
                                  what[i], prm[i]->n, ch);
    }
    return CN_OK;
}

cn_status net__onnx_op_batchnorm(ld *L)
{
    cn_status s;
    double eps;
    cst *prm[4];
    if (L->nd < 2 || L->dims[0] != 1)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "input must have shape [1, C, ...]");
    int ch = (int)L->dims[1], sp = net__onnx_cur_size(L) / ch;
    if ((s = net__onnx_bn_read(L, ch, &eps, prm)))
        return s;
    if ((s = net__onnx_need_e(L)))
        return s;
    mpq_t sq, rs, cq, rt, t;
    mpq_inits(sq, rs, cq, rt, t, NULL);
    for (int c = 0; c < ch; c++) {
        double g = prm[0]->v[c], beta = prm[1]->v[c], mean = prm[2]->v[c], var = prm[3]->v[c];
        if ((s = net__onnx_bn_scale(L, c, g, var, eps, sq, rs)))
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
cn_status net__onnx_op_matmul(ld *L, size_t xi)
{
    cn_status s;
    cst *w;
    char b1[128], b2[128];
    if ((s = net__onnx_attrs_known(L, net__onnx_no_attrs)))
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

cn_status net__onnx_op_gemm(ld *L, size_t xi)
{
    static const char *const known[] = {"alpha", "beta", "transA", "transB", "broadcast", NULL};
    cn_status s;
    int64_t ta, tb;
    double alpha, beta;
    cst *w, *c = NULL;
    char b1[128], b2[128];
    if ((s = net__onnx_attrs_known(L, known)) || (s = net__onnx_attr_int(L, "transA", 0, &ta)) ||
        (s = net__onnx_attr_int(L, "transB", 0, &tb)) ||
        (s = net__onnx_attr_float(L, "alpha", 1.0, &alpha)) ||
        (s = net__onnx_attr_float(L, "beta", 1.0, &beta)))
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
        if ((s = net__onnx_bcast(L, c, od, 2, idx, rd, &rnd)))
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

cn_status net__onnx_op_conv(ld *L, size_t xi)
{
    static const char *const known[] = {"auto_pad", "dilations", "group", "kernel_shape",
                                        "pads", "strides", NULL};
    cn_status s;
    cst *w, *bias = NULL;
    char b1[128], b2[128];
    int64_t group, st[2] = {1, 1}, pads[4] = {0, 0, 0, 0}, dil[2] = {1, 1}, ks[2];
    bool has_st, has_pads, has_dil, has_ks;
    if ((s = net__onnx_attrs_known(L, known)) || (s = net__onnx_attr_int(L, "group", 1, &group)) ||
        (s = net__onnx_attr_ints(L, "strides", 2, st, &has_st)) ||
        (s = net__onnx_attr_ints(L, "pads", 4, pads, &has_pads)) ||
        (s = net__onnx_attr_ints(L, "dilations", 2, dil, &has_dil)) ||
        (s = net__onnx_attr_ints(L, "kernel_shape", 2, ks, &has_ks)))
        return s;
    const Onnx__AttributeProto *ap = net__onnx_attr(L, "auto_pad");
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


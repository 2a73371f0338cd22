/* onnx_ops_act.c — the piecewise-linear activations LeakyRelu and Clip,
 * lowered exactly into the chain's affine and ReLU layers, and Softmax at the
 * output.
 *
 * Lowering.  On the current tensor x (C channels of H*W values; a vector of
 * n values is (n,1,1)) a "lift" layer makes m copies of x, copy j scaled by
 * s_j and shifted by t_j (a 1x1 convolution C -> m C, or a dense layer when
 * H = W = 1: both store W[out][in] the same way), a ReLU follows, and a
 * "recombine" layer m C -> C adds the copies back with factors u_j and a
 * bias v.  Every factor and shift is 0, +-1, or a value of the file (a float
 * attribute or a float/double constant), so every weight and bias is a
 * double *equal* to the file's value and the lowered chain is the same real
 * function — no rounding, no enclosure:
 *
 *   LeakyRelu(a):   y = relu(x) - a relu(-x)                       (m = 2)
 *                   (x >= 0: x;  x < 0: -a (-x) = a x)
 *   Clip(lo, hi):   y = lo + relu(x - lo) - relu(x - hi)            (m = 2)
 *                   (x <= lo: lo;  lo <= x <= hi: x;  x >= hi: hi; lo <= hi)
 *   Clip(lo, -):    y = lo + relu(x - lo)                           (m = 1)
 *   Clip(-, hi):    y = hi - relu(hi - x)                           (m = 1)
 *
 * The recombine layer stays pending, so a following constant or
 * BatchNormalization folds into it as into any affine layer.
 *
 * Softmax.  softmax(y)_i = exp(y_i) / sum_k exp(y_k): exp is increasing and
 * the denominators are equal, so softmax_i >= softmax_j iff y_i >= y_j
 * (also strictly).  A Softmax that is the last node over all the outputs is
 * therefore kept as a mark on the net (net_softmax_output) and the logits y
 * are the layers' output; a property may then only compare outputs pairwise
 * (prop_softmax_ok), which is decided on the logits with the same answer.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "models/onnx_int.h"

/* Appends the lift layer: output block j (channels j*C .. j*C+C-1) is
 * s[j] x + t[j]. */
static cn_status add_lift(ld *L, net_shape sh, int m, const double *sc, const double *t)
{
    cn_err e2;
    int C = sh.c;
    bool conv = sh.h * sh.w > 1;
    net_layer *l = conv ? net_add_conv(L->n, m * C, 1, 1, 1, 1, 0, 0, 0, 0, &e2)
                        : net_add_dense(L->n, m * C, &e2);
    if (!l)
        return net__onnx_fail(L, e2.status, "%s", e2.msg);
    for (int j = 0; j < m; j++)
        for (int c = 0; c < C; c++) {
            l->W[(size_t)(j * C + c) * C + c] = sc[j];
            l->b[j * C + c] = t[j];
        }
    return CN_OK;
}

/* Makes the recombine layer y = sum_j u[j] z_j + v the pending layer. */
static cn_status set_recombine(ld *L, net_shape sh, int m, const double *u, double v)
{
    cn_status s;
    int C = sh.c, sp = sh.h * sh.w;
    bool conv = sp > 1;
    pend np;
    if ((s = net__onnx_pend_alloc(L, &np, conv ? NET_CONV : NET_DENSE, m * C * sp, C * sp,
                                  (size_t)m * C * C, (size_t)C)))
        return s;
    memset(np.W, 0, sizeof(double) * (size_t)m * C * C);   /* pend_alloc leaves W unset */
    for (int c = 0; c < C; c++) {
        for (int j = 0; j < m; j++)
            np.W[(size_t)c * m * C + j * C + c] = u[j];
        np.b[c] = v;
    }
    np.ishape = (net_shape){m * C, sh.h, sh.w};
    np.oshape = sh;
    if (conv)
        np.kh = np.kw = np.sh = np.sw = 1;
    return net__onnx_begin_affine(L, &np);
}

/* x -> sum_j u_j relu(s_j x + t_j) + v on the current tensor. */
static cn_status lower(ld *L, int m, const double *sc, const double *t, const double *u, double v)
{
    cn_status s;
    cn_err e2;
    if ((s = net__onnx_flush(L)) || (s = net__onnx_materialize(L)))
        return s;
    net_shape sh = net__tail_shape(L->n);
    if (sh.c * sh.h * sh.w != net__onnx_cur_size(L))
        return net__onnx_fail(L, CN_EINTERNAL, "activation size bookkeeping");
    if ((int64_t)m * sh.c * sh.h * sh.w > MAX_ELEMS / 4)
        return net__onnx_fail(L, CN_ELIMIT, "tensor too large to lower");
    /* on a vector the lift and recombine layers are dense: m n^2 weights */
    if (sh.h * sh.w == 1 && sh.c > MAX_DIAG)
        return net__onnx_fail(L, CN_EUNSUPPORTED,
                              "on a vector of %d values (more than %d) the exact lowering into "
                              "dense layers would be too large",
                              sh.c, MAX_DIAG);
    if ((s = add_lift(L, sh, m, sc, t)))
        return s;
    if (!net_add_act(L->n, NET_RELU, &e2))
        return net__onnx_fail(L, e2.status, "%s", e2.msg);
    return set_recombine(L, sh, m, u, v);
}

cn_status net__onnx_op_leakyrelu(ld *L)
{
    static const char *const known[] = {"alpha", NULL};
    cn_status s;
    double a;
    if ((s = net__onnx_attrs_known(L, known)) || (s = net__onnx_attr_float(L, "alpha", 0.01, &a)))
        return s;
    const double sc[2] = {1.0, -1.0}, t[2] = {0.0, 0.0}, u[2] = {1.0, -a};
    return lower(L, 2, sc, t, u, 0.0);
}

/* The bound given as input i (a scalar constant; absent or "": *has = false). */
static cn_status clip_input(ld *L, size_t i, const char *what, double *v, bool *has)
{
    cn_status s;
    cst *k;
    *has = false;
    if (i >= L->node->n_input || !*S(L->node->input[i]))
        return CN_OK;
    if ((s = net__onnx_node_const(L, i, what, &k)))
        return s;
    if (k->n != 1)
        return net__onnx_fail(L, CN_EPARSE, "%s has %zu values; expected a scalar", what, k->n);
    if (!isfinite(k->v[0]))
        return net__onnx_fail(L, CN_EUNSUPPORTED, "%s is not finite", what);
    *v = k->v[0];
    *has = true;
    return CN_OK;
}

/* The legacy (opset < 11) attribute form of a bound. */
static cn_status clip_attr(ld *L, const char *name, double *v, bool *has)
{
    *has = net__onnx_attr(L, name) != NULL;
    return *has ? net__onnx_attr_float(L, name, 0.0, v) : CN_OK;
}

cn_status net__onnx_op_clip(ld *L, size_t xi)
{
    static const char *const known[] = {"min", "max", NULL};
    cn_status s;
    double lo = 0, hi = 0;
    bool hl, hh, al, ah;
    if (xi != 0)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "the input must be the data");
    if ((s = net__onnx_attrs_known(L, known)) || (s = clip_attr(L, "min", &lo, &al)) ||
        (s = clip_attr(L, "max", &hi, &ah)) || (s = clip_input(L, 1, "min", &lo, &hl)) ||
        (s = clip_input(L, 2, "max", &hi, &hh)))
        return s;
    if ((al && hl) || (ah && hh))
        return net__onnx_fail(L, CN_EPARSE, "a bound is given both as attribute and as input");
    hl = hl || al;
    hh = hh || ah;
    if (hl && hh && lo > hi)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "min %g is greater than max %g", lo, hi);
    if (hl && hh) {
        const double sc[2] = {1.0, 1.0}, t[2] = {-lo, -hi}, u[2] = {1.0, -1.0};
        return lower(L, 2, sc, t, u, lo);
    }
    if (hl) {
        const double sc[1] = {1.0}, t[1] = {-lo}, u[1] = {1.0};
        return lower(L, 1, sc, t, u, lo);
    }
    if (hh) {
        const double sc[1] = {-1.0}, t[1] = {hi}, u[1] = {-1.0};
        return lower(L, 1, sc, t, u, hi);
    }
    return CN_OK;                             /* no bounds: the identity */
}

cn_status net__onnx_op_softmax(ld *L)
{
    static const char *const known[] = {"axis", NULL};
    cn_status s;
    int64_t axis;
    if ((s = net__onnx_attrs_known(L, known)) || (s = net__onnx_attr_int(L, "axis", -1, &axis)))
        return s;
    if (axis < 0)
        axis += L->nd;
    if (axis < 0 || axis >= L->nd)
        return net__onnx_fail(L, CN_EPARSE, "axis out of range for rank %d", L->nd);
    for (int d = 0; d < L->nd; d++)
        if (d != axis && L->dims[d] != 1)
            return net__onnx_fail(L, CN_EUNSUPPORTED,
                                  "Softmax must act on all the outputs at once (every dimension "
                                  "but the axis of size 1)");
    L->softmax = true;
    return CN_OK;
}

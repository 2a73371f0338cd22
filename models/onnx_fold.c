/* onnx_fold.c — the ONNX loader's pending affine layer, the folding of
 * elementwise maps into it and the enclosure of the file's values (the state
 * is described in onnx_int.h).
 *
 * Folding computes every new weight and bias exactly (mpq) from the stored
 * doubles and the nominal map e, and rounds it once to the nearest double
 * (round_q); net->fold_exact becomes false when some rounding was inexact
 * (or a BatchNormalization scale is irrational).  A ReLU or the end of the
 * graph appends the pending layer.
 *
 * Enclosure.  A layer that an inexact fold touches keeps its nominal doubles
 * W, b and gets radii (models.h, net_layer) with, entry by entry,
 *     |W*_k - W_k| <= wrel |W_k| + wabs,      |b*_o - b_o| <= brad[o]
 * for the file's real-number values W*, b*.  One rounding to nearest obeys
 * |q - fl(q)| <= 2^-53 |fl(q)| + 2^-1075 (normal / subnormal range); we use
 * the larger U = 2^-52 and ETA = 2^-1074.  The rules:
 *
 *   (W1) Weights W' = fl(W f): W known within (wrel0, wabs0) (zero for a
 *        weight read from the file), the factor f within ra of its nominal
 *        value (rho = ra / |f|; f = 0 implies ra = 0).  Then
 *          |W* f* - W f| <= |W f| R + wabs0 (|f| + ra),  R = wrel0 + rho + wrel0 rho,
 *        and |W f| <= (1 + U) |W'| + ETA, so for the whole layer
 *          wrel' = U + (1 + U) R_max,   wabs' = ETA (1 + R_max) + wabs0 max (|f| + ra),
 *        or wrel' = R_max, wabs' = wabs0 max (|f| + ra) when no weight of the
 *        layer rounded.  (An unscaled weight is the case f = 1.)
 *   (B1) A bias b' = fl(q), q its exact nominal value known within r:
 *          brad' = r + (U |b'| + ETA if fl(q) != q),
 *        where r = sum_k |w_k| rc_k for an input shift folded through the
 *        row w (fold_pre), and r = (|a| + ra) brad0 + |b| ra + rc for
 *        b -> a b + c (fold_post; the diagonal layer: b = 0).
 *
 * All radius arithmetic is exact (mpq) and each radius is rounded up once.
 *
 * A shift (c != 0) cannot be moved through the zero padding of a following
 * Conv (the padded border would see -c instead of 0), so in that case the
 * map becomes its own layer (net__onnx_materialize: a 1x1 convolution with
 * diagonal weights when it is per channel) before the Conv.  A shift known only within rc around c = 0
 * can: the border terms sum_k w_k c*_k it drops are within the bias radius.
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
    L->rounded++;
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

static void mpq_arr_free(mpq_t *v, int n)
{
    if (v)
        for (int i = 0; i < n; i++)
            mpq_clear(v[i]);
    cn_free(v);
}

static void elem_clear(elem *e)
{
    mpq_arr_free(e->a, e->n);
    mpq_arr_free(e->c, e->n);
    mpq_arr_free(e->ra, e->n);
    mpq_arr_free(e->rc, e->n);
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

/* Makes sure L->e has radius arrays (zero when new). */
cn_status net__onnx_need_r(ld *L)
{
    elem *e = &L->e;
    if (e->ra)
        return CN_OK;
    e->ra = cn_mallocarray((size_t)e->n, sizeof(mpq_t));
    e->rc = cn_mallocarray((size_t)e->n, sizeof(mpq_t));
    if (!e->ra || !e->rc) {
        cn_free(e->ra);
        cn_free(e->rc);
        e->ra = e->rc = NULL;
        return net__onnx_nomem(L);
    }
    for (int i = 0; i < e->n; i++) {
        mpq_init(e->ra[i]);
        mpq_init(e->rc[i]);
    }
    return CN_OK;
}

static bool q_is_one(const mpq_t q) { return mpq_cmp_ui(q, 1, 1) == 0; }

/* Is e (with its radii) the same for every element of each channel (ch
 * channels, sp elements each)?  Then entry ch*sp is the channel's value. */
static bool per_channel(const elem *e, int ch, int sp)
{
    for (int c = 0; c < ch; c++)
        for (int i = 1; i < sp; i++) {
            int j = c * sp, k = c * sp + i;
            if (!mpq_equal(e->a[j], e->a[k]) || !mpq_equal(e->c[j], e->c[k]) ||
                (e->ra && (!mpq_equal(e->ra[j], e->ra[k]) || !mpq_equal(e->rc[j], e->rc[k]))))
                return false;
        }
    return true;
}

/* *out = q rounded up to a double (a radius). */
static cn_status rad_up(ld *L, const mpq_t q, double *out)
{
    double d = cn_mpq_get_d_up(q);
    if (!isfinite(d))
        return net__onnx_fail(L, CN_EUNSUPPORTED,
                              "the error bound of a folded value overflows the double range");
    *out = d;
    return CN_OK;
}

/* r += U |d| + ETA: the error of one inexact rounding to the double d. */
static void add_round_err(mpq_t r, double d)
{
    mpq_t t;
    mpq_init(t);
    mpq_set_d(t, fabs(d));
    mpq_div_2exp(t, t, 52);
    mpq_add(r, r, t);
    mpq_set_ui(t, 1, 1);
    mpq_div_2exp(t, t, 1074);
    mpq_add(r, r, t);
    mpq_clear(t);
}

/* b = fl(q), and r (the radius of q) becomes the radius of b (B1). */
static cn_status round_bias(ld *L, const mpq_t q, mpq_t r, double *b)
{
    long k = L->rounded;
    cn_status s = round_q(L, q, b);
    if (!s && L->rounded != k)
        add_round_err(r, *b);
    return s;
}

/* brad[o] = r rounded up; brad[nb] is allocated (zero) at the first nonzero
 * radius and stays NULL while all are zero. */
static cn_status set_brad(ld *L, double **brad, int nb, int o, const mpq_t r)
{
    if (mpq_sgn(r) == 0) {
        if (*brad)
            (*brad)[o] = 0.0;
        return CN_OK;
    }
    if (!*brad && !(*brad = cn_calloc((size_t)nb, sizeof(double))))
        return net__onnx_nomem(L);
    return rad_up(L, r, &(*brad)[o]);
}

/* Over the factors a_i, i = j*step for j < count: rho = max ra_i / |a_i|
 * and amax = max |a_i| + ra_i (both 0 without radii, amax = max |a_i|). */
static cn_status factor_stats(ld *L, const elem *e, int count, int step, mpq_t rho, mpq_t amax)
{
    mpq_set_ui(rho, 0, 1);
    mpq_set_ui(amax, 0, 1);
    for (int j = 0; j < count; j++) {
        int i = j * step;
        mpq_abs(L->t3, e->a[i]);
        if (e->ra && mpq_sgn(e->ra[i]) != 0) {
            if (mpq_sgn(e->a[i]) == 0)
                return net__onnx_fail(L, CN_EINTERNAL, "an uncertain factor has nominal value 0");
            mpq_div(L->t1, e->ra[i], L->t3);
            if (mpq_cmp(L->t1, rho) > 0)
                mpq_set(rho, L->t1);
            mpq_add(L->t3, L->t3, e->ra[i]);
        }
        if (mpq_cmp(L->t3, amax) > 0)
            mpq_set(amax, L->t3);
    }
    return CN_OK;
}

/* The weight radii (W1) of a layer after multiplying its weights by factors
 * with max relative radius rho and max |f| + ra = amax; inexact: some weight
 * rounded.  *wrel, *wabs hold wrel0, wabs0 on entry. */
static cn_status set_wrad(ld *L, double *wrel, double *wabs, const mpq_t rho, const mpq_t amax,
                          bool inexact)
{
    mpq_t R, t, u;
    mpq_inits(R, t, u, NULL);
    mpq_set_d(t, *wrel);
    mpq_mul(R, t, rho);
    mpq_add(R, R, t);
    mpq_add(R, R, rho);                      /* R = wrel0 + rho + wrel0 rho */
    mpq_set_d(u, *wabs);
    mpq_mul(u, u, amax);                     /* wabs0 max(|f| + ra) */
    if (inexact) {
        mpq_set_ui(t, 1, 1);
        mpq_add(t, t, R);                    /* 1 + R */
        mpq_div_2exp(t, t, 52);
        mpq_add(R, R, t);                    /* R + U (1 + R) = U + (1 + U) R */
        mpq_div_2exp(t, t, 1074 - 52);
        mpq_add(u, u, t);                    /* + ETA (1 + R) */
    }
    cn_status s = rad_up(L, R, wrel);
    if (!s)
        s = rad_up(L, u, wabs);
    mpq_clears(R, t, u, NULL);
    return s;
}

/* w <- round(w * a) */
static cn_status scale_d(ld *L, double *w, const mpq_t a)
{
    mpq_set_d(L->t3, *w);
    mpq_mul(L->t3, L->t3, a);
    return round_q(L, L->t3, w);
}

/* Folds L->e applied to the pending layer's output: y' = a ⊙ (W x + b) + c,
 * with the radii (W1) and (B1). */
static cn_status fold_post(ld *L)
{
    pend *p = &L->p;
    elem *e = &L->e;
    cn_status s = CN_OK;
    bool conv = p->op == NET_CONV;
    int groups = conv ? p->oshape.c : p->out;
    int sp = conv ? p->oshape.h * p->oshape.w : 1;
    int per = conv ? p->in / (p->ishape.h * p->ishape.w) * p->kh * p->kw : p->in;
    if (conv && !per_channel(e, groups, sp))
        return net__onnx_fail(L, CN_EUNSUPPORTED,
                              "an elementwise constant after a Conv varies within a channel; only "
                              "per-channel constants can be folded");
    long r0 = L->rounded;
    for (int o = 0; o < groups; o++)
        if (!q_is_one(e->a[o * sp]))
            for (int k = 0; k < per; k++)
                if ((s = scale_d(L, &p->W[(size_t)o * per + k], e->a[o * sp])))
                    return s;
    mpq_t rho, amax, q, r;
    mpq_inits(rho, amax, q, r, NULL);
    if ((s = factor_stats(L, e, groups, sp, rho, amax)) ||
        (s = set_wrad(L, &p->wrel, &p->wabs, rho, amax, L->rounded != r0)))
        goto done;
    for (int o = 0; o < groups; o++) {
        const mpq_t *a = &e->a[o * sp], *c = &e->c[o * sp];
        mpq_set_d(q, p->b[o]);
        mpq_set_ui(r, 0, 1);                 /* (|a| + ra) brad0 + |b| ra + rc */
        if (p->brad && p->brad[o] != 0.0) {
            mpq_abs(L->t3, *a);
            if (e->ra)
                mpq_add(L->t3, L->t3, e->ra[o * sp]);
            mpq_set_d(r, p->brad[o]);
            mpq_mul(r, r, L->t3);
        }
        if (e->ra) {
            mpq_abs(L->t3, q);
            mpq_mul(L->t3, L->t3, e->ra[o * sp]);
            mpq_add(r, r, L->t3);
            mpq_add(r, r, e->rc[o * sp]);
        }
        mpq_mul(q, q, *a);
        mpq_add(q, q, *c);
        if ((s = round_bias(L, q, r, &p->b[o])) || (s = set_brad(L, &p->brad, groups, o, r)))
            goto done;
    }
    drop_e(L);
done:
    mpq_clears(rho, amax, q, r, NULL);
    return s;
}

static bool has_shift(const elem *e)
{
    for (int k = 0; k < e->n; k++)
        if (mpq_sgn(e->c[k]) != 0)
            return true;
    return false;
}

/* Folds L->e applied to the new layer's input: W (a ⊙ x + c) + b, with the
 * radii (W1) and (B1).  p comes from the file (no radii yet). */
static cn_status fold_pre(ld *L, pend *p)
{
    elem *e = &L->e;
    cn_status s = CN_OK;
    bool shift = false, conv = p->op == NET_CONV;
    for (int k = 0; k < e->n && !shift; k++)
        shift = mpq_sgn(e->c[k]) != 0;
    /* W[o][ci][k]: cin input groups of per weights each (dense: per = 1) */
    int cin = conv ? p->ishape.c : p->in, sp = conv ? p->ishape.h * p->ishape.w : 1;
    int nb = conv ? p->oshape.c : p->out, per = conv ? p->kh * p->kw : 1;
    if (conv && !per_channel(e, cin, sp))
        return net__onnx_fail(L, CN_EUNSUPPORTED,
                              "a preceding elementwise constant varies within a channel; only "
                              "per-channel normalisation can be folded into a Conv");
    if (conv && shift && (p->pt || p->pl || p->pb || p->pr))
        return net__onnx_fail(
            L, CN_EUNSUPPORTED,
            "cannot fold the preceding input shift (Sub/Add/BatchNormalization) "
            "into a zero-padded Conv: the padded border would change; use pads 0 "
            "or remove the shift");
    mpq_t acc, r, t, rho, amax;
    mpq_inits(acc, r, t, rho, amax, NULL);
    /* b_o + sum w_ok c_k, radius sum |w_ok| rc_k */
    for (int o = 0; o < nb && (shift || e->rc); o++) {
        mpq_set_d(acc, p->b[o]);
        mpq_set_ui(r, 0, 1);
        for (int ci = 0; ci < cin; ci++) {
            const mpq_t *c = &e->c[ci * sp], *rc = e->rc ? &e->rc[ci * sp] : NULL;
            bool hc = mpq_sgn(*c) != 0, hr = rc && mpq_sgn(*rc) != 0;
            for (int k = 0; k < per && (hc || hr); k++) {
                double w = p->W[((size_t)o * cin + ci) * per + k];
                if (w == 0.0)
                    continue;
                mpq_set_d(L->t3, w);
                if (hc) {
                    mpq_mul(t, L->t3, *c);
                    mpq_add(acc, acc, t);
                }
                if (hr) {
                    mpq_abs(L->t3, L->t3);
                    mpq_mul(L->t3, L->t3, *rc);
                    mpq_add(r, r, L->t3);
                }
            }
        }
        if ((s = round_bias(L, acc, r, &p->b[o])) || (s = set_brad(L, &p->brad, nb, o, r)))
            goto done;
    }
    long r0 = L->rounded;
    for (int ci = 0; ci < cin; ci++)
        if (!q_is_one(e->a[ci * sp]))
            for (int o = 0; o < nb; o++)
                for (int k = 0; k < per; k++)
                    if ((s = scale_d(L, &p->W[((size_t)o * cin + ci) * per + k],
                                     e->a[ci * sp])))
                        goto done;
    if ((s = factor_stats(L, e, cin, sp, rho, amax)) ||
        (s = set_wrad(L, &p->wrel, &p->wabs, rho, amax, L->rounded != r0)))
        goto done;
    drop_e(L);
done:
    mpq_clears(acc, r, t, rho, amax, NULL);
    return s;
}

static void pend_clear(pend *p)
{
    cn_free(p->W);
    cn_free(p->b);
    cn_free(p->brad);
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
        if (net_op_act(l->op)) {
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
    l->wrel = p->wrel;
    l->wabs = p->wabs;
    l->brad = p->brad;
    p->W = p->b = p->brad = NULL;
    pend_clear(p);
    return CN_OK;
}

/* Appends a per-channel map e on a (C,H,W) tensor as a 1x1 convolution
 * C -> C with the diagonal weights fl(a_c) and biases fl(c_c): the same
 * rules (W1), (B1) as the dense diagonal layer below, per channel.  The
 * off-diagonal weights are exactly 0.  This is how a BatchNormalization
 * that cannot be folded (after a ReLU and before a MaxPool, a padded Conv
 * or the output) becomes its own exact affine layer. */
static cn_status materialize_conv(ld *L, net_shape sh)
{
    cn_status s;
    int C = sh.c, sp = sh.h * sh.w;
    cn_err e2;
    net_layer *l = net_add_conv(L->n, C, 1, 1, 1, 1, 0, 0, 0, 0, &e2);
    if (!l)
        return net__onnx_fail(L, e2.status, "%s", e2.msg);
    long r0 = L->rounded;
    for (int c = 0; c < C; c++)
        if ((s = round_q(L, L->e.a[c * sp], &l->W[(size_t)c * C + c])))
            return s;
    mpq_t rho, amax, r;
    mpq_inits(rho, amax, r, NULL);
    if ((s = factor_stats(L, &L->e, C, sp, rho, amax)) ||
        (s = set_wrad(L, &l->wrel, &l->wabs, rho, amax, L->rounded != r0)))
        goto done;
    for (int c = 0; c < C; c++) {
        if (L->e.rc)
            mpq_set(r, L->e.rc[c * sp]);
        else
            mpq_set_ui(r, 0, 1);
        if ((s = round_bias(L, L->e.c[c * sp], r, &l->b[c])) ||
            (s = set_brad(L, &l->brad, C, c, r)))
            goto done;
    }
    drop_e(L);
done:
    mpq_clears(rho, amax, r, NULL);
    return s;
}

/* Appends an elementwise map with no affine layer to fold into as an
 * explicit diagonal layer: a 1x1 convolution when the map is per channel on
 * a feature map, else a diagonal dense layer. */
cn_status net__onnx_materialize(ld *L)
{
    cn_status s;
    if (!L->has_e)
        return CN_OK;
    int n = L->e.n;
    net_shape sh = net__tail_shape(L->n);
    if (sh.h * sh.w > 1 && sh.c * sh.h * sh.w == n && per_channel(&L->e, sh.c, sh.h * sh.w))
        return materialize_conv(L, sh);
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
    /* W = diag(fl(a)): (W1) with W = 1 exact; b = fl(c): (B1) with r = rc */
    long r0 = L->rounded;
    for (int k = 0; k < n; k++)
        if ((s = round_q(L, L->e.a[k], &l->W[(size_t)k * n + k])))
            return s;
    mpq_t rho, amax, r;
    mpq_inits(rho, amax, r, NULL);
    if ((s = factor_stats(L, &L->e, n, 1, rho, amax)) ||
        (s = set_wrad(L, &l->wrel, &l->wabs, rho, amax, L->rounded != r0)))
        goto done;
    for (int k = 0; k < n; k++) {
        if (L->e.rc)
            mpq_set(r, L->e.rc[k]);
        else
            mpq_set_ui(r, 0, 1);
        if ((s = round_bias(L, L->e.c[k], r, &l->b[k])) || (s = set_brad(L, &l->brad, n, k, r)))
            goto done;
    }
    drop_e(L);
done:
    mpq_clears(rho, amax, r, NULL);
    return s;
}

/* Makes np the pending layer: appends the previous one and folds a pending
 * elementwise map into np's input. */
cn_status net__onnx_begin_affine(ld *L, pend *np)
{
    cn_status s;
    if ((s = net__onnx_pool_compose(L, np)) || (s = net__onnx_flush(L)))
        goto fail;
    /* a shift cannot pass a Conv's zero padding (fold_pre): the map becomes
     * its own layer instead */
    if (L->has_e && np->op == NET_CONV && (np->pt || np->pl || np->pb || np->pr) &&
        has_shift(&L->e) &&
        ((s = retag_tail(L, np->ishape)) || (s = net__onnx_materialize(L))))
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

/* eval.c — forward evaluation: batched double (BLAS), exact rational, and an
 * exact rational enclosure for networks whose folding rounded. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <cblas.h>

#include "models/models_int.h"

/* y = conv(x) + b for one sample, from the layer's taps. */
static void conv_forward(const net_layer *l, const net_conv_map *cm, const double *x, double *y)
{
    const net_shape os = l->out_shape;
    for (int co = 0; co < os.c; co++) {
        const double *f = l->W + (size_t)co * (size_t)cm->fan;
        for (int p = 0; p < os.h * os.w; p++) {
            const net_tap *tp = cm->tap + (size_t)p * (size_t)cm->fan;
            double s = l->b[co];
            for (int t = 0; t < cm->n[p]; t++)
                s += f[tp[t].w] * x[tp[t].in];
            y[co * os.h * os.w + p] = s;
        }
    }
}

/* Max pooling of one sample (pool.c's windows). */
static void maxpool_forward(const net_layer *l, const double *x, double *y)
{
    int idx[l->kh * l->kw];
    for (int o = 0; o < l->out; o++) {
        int n = net_pool_window(l, o, idx);
        double m = x[idx[0]];
        for (int k = 1; k < n; k++)
            if (x[idx[k]] > m || x[idx[k]] != x[idx[k]])
                m = x[idx[k]];
        y[o] = m;
    }
}

void net_affine_forward(const net_layer *l, const net_conv_map *cm, int batch, const double *a,
                        double *b)
{
    if (l->op == NET_CONV) {
        CN_REQUIRE(cm, "the taps of a convolution");
        for (int s = 0; s < batch; s++)
            conv_forward(l, cm, a + (size_t)s * l->in, b + (size_t)s * l->out);
        return;
    }
    CN_REQUIRE(l->op == NET_DENSE, "an affine layer");
    /* b[batch x out] = a[batch x in] * W^T + 1 * bias^T */
    for (int s = 0; s < batch; s++)
        memcpy(b + (size_t)s * l->out, l->b, (size_t)l->out * sizeof(double));
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, l->out, l->in, 1.0, a, l->in,
                l->W, l->in, 1.0, b, l->out);
}

cn_status net_forward(const net *n, int batch, const double *x, double *y, cn_err *err)
{
    CN_REQUIRE(n && batch >= 0 && (batch == 0 || (x && y)), "network and buffers");
    if (batch == 0)
        return CN_OK;
    size_t w = (size_t)net_max_width(n);
    double *a = cn_mallocarray((size_t)batch * w, sizeof(double));
    double *b = cn_mallocarray((size_t)batch * w, sizeof(double));
    if (!a || !b) {
        cn_free(a);
        cn_free(b);
        return cn_fail(err, CN_ENOMEM, "out of memory evaluating a batch of %d", batch);
    }
    int in = net_in_size(n);
    memcpy(a, x, (size_t)batch * (size_t)in * sizeof(double));
    for (int i = 0; i < n->n_layers; i++) {
        const net_layer *l = &n->layers[i];
        switch (l->op) {
        case NET_DENSE:
            net_affine_forward(l, NULL, batch, a, b);
            break;
        case NET_CONV: {
            net_conv_map cm;
            if (net_conv_map_init(&cm, l, err) != CN_OK) {
                cn_free(a);
                cn_free(b);
                return CN_ENOMEM;
            }
            net_affine_forward(l, &cm, batch, a, b);
            net_conv_map_clear(&cm);
            break;
        }
        case NET_RELU:
            for (size_t k = 0; k < (size_t)batch * (size_t)l->out; k++)
                b[k] = a[k] > 0.0 ? a[k] : 0.0;
            break;
        case NET_SIGMOID:
            for (size_t k = 0; k < (size_t)batch * (size_t)l->out; k++)
                b[k] = 1.0 / (1.0 + exp(-a[k]));
            break;
        case NET_TANH:
            for (size_t k = 0; k < (size_t)batch * (size_t)l->out; k++)
                b[k] = tanh(a[k]);
            break;
        case NET_MAXPOOL:
            for (int s = 0; s < batch; s++)
                maxpool_forward(l, a + (size_t)s * l->in, b + (size_t)s * l->out);
            break;
        }
        double *t = a;
        a = b;
        b = t;
    }
    memcpy(y, a, (size_t)batch * (size_t)net_out_size(n) * sizeof(double));
    cn_free(a);
    cn_free(b);
    return CN_OK;
}

/* Exact evaluation in midpoint-radius form: every value z_k of a layer lies
 * in [m_k - r_k, m_k + r_k].  For a network without enclosure r stays 0 and
 * m is its exact value.  An affine layer with radii (models.h, net_layer)
 * maps the intervals to
 *     m'_o = b_o + sum_k W_ok m_k,
 *     r'_o = brad_o + sum_k |W_ok| t_k + wabs sum_k s_k,
 *     s_k = |m_k| + r_k,   t_k = r_k + wrel s_k,
 * since, for |z_k - m_k| <= r_k (so |z_k| <= s_k),
 *     |W*_ok z_k - W_ok m_k| <= |W*_ok - W_ok| |z_k| + |W_ok| |z_k - m_k|
 *                            <= (wrel |W_ok| + wabs) s_k + |W_ok| r_k
 * (a CONV output sums over its receptive field; padding is exactly 0).
 * ReLU is monotone: [lo, hi] -> [max(lo, 0), max(hi, 0)]. */
typedef struct {
    mpq_t *m, *r, *m2, *r2;        /* [w] current values, next layer's */
    mpq_t *s, *t;                  /* [w] s_k, t_k of the layer's inputs */
    mpq_t acc, rad, ssum, p;       /* scratch */
    bool on;                       /* radii in use (some layer so far had them) */
} qeval;

static mpq_t *mpq_vec_new(size_t n)
{
    mpq_t *v = cn_mallocarray(n, sizeof(mpq_t));
    if (v)
        for (size_t i = 0; i < n; i++)
            mpq_init(v[i]);
    return v;
}

static void mpq_vec_free(mpq_t *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        mpq_clear(v[i]);
    cn_free(v);
}

static void qeval_clear(qeval *q, size_t w)
{
    mpq_vec_free(q->m, w);
    mpq_vec_free(q->m2, w);
    mpq_vec_free(q->r, w);
    mpq_vec_free(q->r2, w);
    mpq_vec_free(q->s, w);
    mpq_vec_free(q->t, w);
    mpq_clears(q->acc, q->rad, q->ssum, q->p, NULL);
}

/* The radius vectors are allocated only for a network with enclosure. */
static bool qeval_init(qeval *q, size_t w, bool radii)
{
    memset(q, 0, sizeof *q);
    mpq_inits(q->acc, q->rad, q->ssum, q->p, NULL);
    q->m = mpq_vec_new(w);
    q->m2 = mpq_vec_new(w);
    if (radii) {
        q->r = mpq_vec_new(w);
        q->r2 = mpq_vec_new(w);
        q->s = mpq_vec_new(w);
        q->t = mpq_vec_new(w);
    }
    return q->m && q->m2 && (!radii || (q->r && q->r2 && q->s && q->t));
}

static bool has_radius(const net_layer *l)
{
    return l->wrel != 0.0 || l->wabs != 0.0 || l->brad;
}

/* Adds weight wd applied to input k to the output being summed. */
static void tap(qeval *q, const net_layer *l, double wd, int k)
{
    if (wd != 0.0 && mpq_sgn(q->m[k]) != 0) {
        mpq_set_d(q->p, wd);
        mpq_mul(q->p, q->p, q->m[k]);
        mpq_add(q->acc, q->acc, q->p);
    }
    if (!q->on)
        return;
    if (wd != 0.0 && mpq_sgn(q->t[k]) != 0) {
        mpq_set_d(q->p, fabs(wd));
        mpq_mul(q->p, q->p, q->t[k]);
        mpq_add(q->rad, q->rad, q->p);
    }
    if (l->wabs != 0.0)
        mpq_add(q->ssum, q->ssum, q->s[k]);
}

/* Starts output o: acc = b, rad = brad, ssum = 0. */
static void start(qeval *q, const net_layer *l, int o)
{
    mpq_set_d(q->acc, l->b[o]);
    if (!q->on)
        return;
    if (l->brad)
        mpq_set_d(q->rad, l->brad[o]);
    else
        mpq_set_ui(q->rad, 0, 1);
    mpq_set_ui(q->ssum, 0, 1);
}

/* Ends output j: m2 = acc, r2 = rad + wabs ssum. */
static void finish(qeval *q, const net_layer *l, int j)
{
    mpq_set(q->m2[j], q->acc);
    if (!q->on)
        return;
    if (l->wabs != 0.0) {
        mpq_set_d(q->p, l->wabs);
        mpq_mul(q->p, q->p, q->ssum);
        mpq_add(q->rad, q->rad, q->p);
    }
    mpq_set(q->r2[j], q->rad);
}

/* Affine layer l (cm: its taps when it is a convolution). */
static void affine_q(qeval *q, const net_layer *l, const net_conv_map *cm)
{
    q->on = q->on || has_radius(l);
    if (q->on) {
        mpq_set_d(q->p, l->wrel);
        for (int k = 0; k < l->in; k++) {
            mpq_abs(q->s[k], q->m[k]);
            mpq_add(q->s[k], q->s[k], q->r[k]);          /* s_k = |m_k| + r_k */
            mpq_mul(q->t[k], q->p, q->s[k]);
            mpq_add(q->t[k], q->t[k], q->r[k]);          /* t_k = r_k + wrel s_k */
        }
    }
    if (l->op == NET_DENSE) {
        for (int o = 0; o < l->out; o++) {
            const double *row = l->W + (size_t)o * l->in;
            start(q, l, o);
            for (int k = 0; k < l->in; k++)
                tap(q, l, row[k], k);
            finish(q, l, o);
        }
        return;
    }
    const net_shape os = l->out_shape;
    for (int co = 0; co < os.c; co++) {
        const double *f = l->W + (size_t)co * (size_t)cm->fan;
        for (int p = 0; p < os.h * os.w; p++) {
            const net_tap *tp = cm->tap + (size_t)p * (size_t)cm->fan;
            start(q, l, co);
            for (int t = 0; t < cm->n[p]; t++)
                tap(q, l, f[tp[t].w], tp[t].in);
            finish(q, l, co * os.h * os.w + p);
        }
    }
}

static void relu_q(qeval *q, const net_layer *l)
{
    for (int k = 0; k < l->out; k++) {
        if (!q->on) {
            if (mpq_sgn(q->m[k]) > 0)
                mpq_set(q->m2[k], q->m[k]);
            else
                mpq_set_ui(q->m2[k], 0, 1);
            continue;
        }
        mpq_sub(q->p, q->m[k], q->r[k]);                 /* lo */
        if (mpq_sgn(q->p) >= 0) {
            mpq_set(q->m2[k], q->m[k]);
            mpq_set(q->r2[k], q->r[k]);
            continue;
        }
        mpq_add(q->p, q->m[k], q->r[k]);                 /* hi */
        if (mpq_sgn(q->p) <= 0) {
            mpq_set_ui(q->m2[k], 0, 1);
            mpq_set_ui(q->r2[k], 0, 1);
        } else {                                         /* [0, hi] */
            mpq_div_2exp(q->m2[k], q->p, 1);
            mpq_set(q->r2[k], q->m2[k]);
        }
    }
}

/* Max pooling is monotone in each input: [lo_k, hi_k] -> [max lo_k, max hi_k],
 * kept as midpoint (lo+hi)/2 and radius (hi-lo)/2; without radii the max. */
static void maxpool_q(qeval *q, const net_layer *l)
{
    int idx[l->kh * l->kw];
    for (int o = 0; o < l->out; o++) {
        int n = net_pool_window(l, o, idx);
        if (!q->on) {
            int best = idx[0];
            for (int k = 1; k < n; k++)
                if (mpq_cmp(q->m[idx[k]], q->m[best]) > 0)
                    best = idx[k];
            mpq_set(q->m2[o], q->m[best]);
            continue;
        }
        mpq_sub(q->acc, q->m[idx[0]], q->r[idx[0]]);     /* max lo */
        mpq_add(q->rad, q->m[idx[0]], q->r[idx[0]]);     /* max hi */
        for (int k = 1; k < n; k++) {
            mpq_sub(q->p, q->m[idx[k]], q->r[idx[k]]);
            if (mpq_cmp(q->p, q->acc) > 0)
                mpq_set(q->acc, q->p);
            mpq_add(q->p, q->m[idx[k]], q->r[idx[k]]);
            if (mpq_cmp(q->p, q->rad) > 0)
                mpq_set(q->rad, q->p);
        }
        mpq_add(q->m2[o], q->acc, q->rad);
        mpq_div_2exp(q->m2[o], q->m2[o], 1);
        mpq_sub(q->r2[o], q->rad, q->acc);
        mpq_div_2exp(q->r2[o], q->r2[o], 1);
    }
}

/* Runs the layers from x.  Writes ylo = m - r and yhi = m + r, or ylo = m
 * when yhi is NULL (only for a network without enclosure). */
static cn_status eval_q(const net *n, mpq_t *x, mpq_t *ylo, mpq_t *yhi, long prec, cn_err *err)
{
    size_t w = (size_t)net_max_width(n);
    bool radii = net_has_enclosure(n) || net_n_smooth(n) > 0;
    qeval q;
    if (!qeval_init(&q, w, radii)) {
        qeval_clear(&q, w);
        return cn_fail(err, CN_ENOMEM, "out of memory for exact evaluation");
    }
    int in = net_in_size(n);
    for (int k = 0; k < in; k++)
        mpq_set(q.m[k], x[k]);
    for (int i = 0; i < n->n_layers; i++) {
        const net_layer *l = &n->layers[i];
        if (l->op == NET_RELU) {
            relu_q(&q, l);
        } else if (net_op_smooth(l->op)) {
            q.on = true;                 /* r is all 0 until the first radius */
            net__smooth_q(l->op, prec, l->out, q.m, q.r, q.m2, q.r2);
        } else if (l->op == NET_MAXPOOL) {
            maxpool_q(&q, l);
        } else if (l->op == NET_DENSE) {
            affine_q(&q, l, NULL);
        } else {
            net_conv_map cm;
            if (net_conv_map_init(&cm, l, err) != CN_OK) {
                qeval_clear(&q, w);
                return CN_ENOMEM;
            }
            affine_q(&q, l, &cm);
            net_conv_map_clear(&cm);
        }
        mpq_t *s = q.m;
        q.m = q.m2;
        q.m2 = s;
        s = q.r;
        q.r = q.r2;
        q.r2 = s;
    }
    int out = net_out_size(n);
    for (int k = 0; k < out; k++) {
        if (q.on) {
            mpq_sub(ylo[k], q.m[k], q.r[k]);
            mpq_add(yhi[k], q.m[k], q.r[k]);
        } else {
            mpq_set(ylo[k], q.m[k]);
            if (yhi)
                mpq_set(yhi[k], q.m[k]);
        }
    }
    qeval_clear(&q, w);
    return CN_OK;
}

cn_status net_eval_exact(const net *n, mpq_t *x, mpq_t *y, cn_err *err)
{
    CN_REQUIRE(n && x && y, "network and vectors");
    if (net_n_smooth(n) > 0)
        return cn_fail(err, CN_EUNSUPPORTED,
                       "%s: sigmoid/tanh layers have no exact rational value; the outputs "
                       "are known within an enclosure (use net_eval_enclose)",
                       n->path && *n->path ? n->path : "network");
    if (net_has_enclosure(n))
        return cn_fail(err, CN_EUNSUPPORTED,
                       "%s: folding a normalisation rounded some weights, so the file's exact "
                       "outputs are known only within an enclosure (use net_eval_enclose)",
                       n->path && *n->path ? n->path : "network");
    return eval_q(n, x, y, NULL, NET_EVAL_PREC0, err);
}

cn_status net_eval_enclose(const net *n, mpq_t *x, mpq_t *ylo, mpq_t *yhi, cn_err *err)
{
    CN_REQUIRE(n && x && ylo && yhi, "network and vectors");
    return eval_q(n, x, ylo, yhi, NET_EVAL_PREC0, err);
}

cn_status net_eval_enclose_prec(const net *n, mpq_t *x, mpq_t *ylo, mpq_t *yhi, long prec,
                                cn_err *err)
{
    CN_REQUIRE(n && x && ylo && yhi && prec >= 2 && prec <= 1 << 20,
               "network, vectors and a precision");
    return eval_q(n, x, ylo, yhi, prec, err);
}

cn_status net_eval_exact_d(const net *n, const double *x, mpq_t *y, cn_err *err)
{
    int in = net_in_size(n);
    mpq_t *q = mpq_vec_new((size_t)in);
    if (!q)
        return cn_fail(err, CN_ENOMEM, "out of memory for exact evaluation");
    for (int k = 0; k < in; k++)
        cn_mpq_set_d(q[k], x[k]);
    cn_status s = net_eval_exact(n, q, y, err);
    mpq_vec_free(q, (size_t)in);
    return s;
}

void net_nnet_normalise(const net_nnet_norm *nn, const double *raw, double *norm)
{
    for (int i = 0; i < nn->n_in; i++) {
        double v = raw[i];
        if (v < nn->in_min[i])
            v = nn->in_min[i];
        if (v > nn->in_max[i])
            v = nn->in_max[i];
        norm[i] = (v - nn->in_mean[i]) / nn->in_range[i];
    }
}

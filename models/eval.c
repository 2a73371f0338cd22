/* eval.c — forward evaluation: batched double (BLAS) and exact rational. */
#include "config.h"

#include <string.h>

#include <cblas.h>

#include "models/models_int.h"

/* One conv layer on one sample, in double (round-to-nearest). */
static void conv_d(const net_layer *l, const double *x, double *y)
{
    const net_shape is = l->in_shape, os = l->out_shape;
    for (int co = 0; co < os.c; co++)
        for (int oy = 0; oy < os.h; oy++)
            for (int ox = 0; ox < os.w; ox++) {
                double s = l->b[co];
                for (int ci = 0; ci < is.c; ci++)
                    for (int ky = 0; ky < l->kh; ky++) {
                        int iy = oy * l->stride_h + ky - l->pad_t;
                        if (iy < 0 || iy >= is.h)
                            continue;
                        for (int kx = 0; kx < l->kw; kx++) {
                            int ix = ox * l->stride_w + kx - l->pad_l;
                            if (ix < 0 || ix >= is.w)
                                continue;
                            s += l->W[((co * is.c + ci) * l->kh + ky) * l->kw + kx] *
                                 x[(ci * is.h + iy) * is.w + ix];
                        }
                    }
                y[(co * os.h + oy) * os.w + ox] = s;
            }
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
            /* b[batch x out] = a[batch x in] * W^T + 1 * bias^T */
            for (int s = 0; s < batch; s++)
                memcpy(b + (size_t)s * l->out, l->b, (size_t)l->out * sizeof(double));
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, l->out, l->in, 1.0, a,
                        l->in, l->W, l->in, 1.0, b, l->out);
            break;
        case NET_CONV:
            for (int s = 0; s < batch; s++)
                conv_d(l, a + (size_t)s * l->in, b + (size_t)s * l->out);
            break;
        case NET_RELU:
            for (size_t k = 0; k < (size_t)batch * (size_t)l->out; k++)
                b[k] = a[k] > 0.0 ? a[k] : 0.0;
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

static void conv_q(const net_layer *l, mpq_t *x, mpq_t *y, mpq_t w)
{
    const net_shape is = l->in_shape, os = l->out_shape;
    for (int co = 0; co < os.c; co++)
        for (int oy = 0; oy < os.h; oy++)
            for (int ox = 0; ox < os.w; ox++) {
                mpq_t *acc = &y[(co * os.h + oy) * os.w + ox];
                mpq_set_d(*acc, l->b[co]);
                for (int ci = 0; ci < is.c; ci++)
                    for (int ky = 0; ky < l->kh; ky++) {
                        int iy = oy * l->stride_h + ky - l->pad_t;
                        if (iy < 0 || iy >= is.h)
                            continue;
                        for (int kx = 0; kx < l->kw; kx++) {
                            int ix = ox * l->stride_w + kx - l->pad_l;
                            if (ix < 0 || ix >= is.w)
                                continue;
                            double wd = l->W[((co * is.c + ci) * l->kh + ky) * l->kw + kx];
                            if (wd == 0.0)
                                continue;
                            mpq_set_d(w, wd);
                            mpq_mul(w, w, x[(ci * is.h + iy) * is.w + ix]);
                            mpq_add(*acc, *acc, w);
                        }
                    }
            }
}

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

cn_status net_eval_exact(const net *n, mpq_t *x, mpq_t *y, cn_err *err)
{
    CN_REQUIRE(n && x && y, "network and vectors");
    size_t w = (size_t)net_max_width(n);
    mpq_t *a = mpq_vec_new(w), *b = mpq_vec_new(w);
    if (!a || !b) {
        mpq_vec_free(a, w);
        mpq_vec_free(b, w);
        return cn_fail(err, CN_ENOMEM, "out of memory for exact evaluation");
    }
    mpq_t t;
    mpq_init(t);
    int in = net_in_size(n);
    for (int k = 0; k < in; k++)
        mpq_set(a[k], x[k]);
    for (int i = 0; i < n->n_layers; i++) {
        const net_layer *l = &n->layers[i];
        switch (l->op) {
        case NET_DENSE:
            for (int o = 0; o < l->out; o++) {
                const double *row = l->W + (size_t)o * l->in;
                mpq_set_d(b[o], l->b[o]);
                for (int k = 0; k < l->in; k++) {
                    if (row[k] == 0.0 || mpq_sgn(a[k]) == 0)
                        continue;
                    mpq_set_d(t, row[k]);
                    mpq_mul(t, t, a[k]);
                    mpq_add(b[o], b[o], t);
                }
            }
            break;
        case NET_CONV:
            conv_q(l, a, b, t);
            break;
        case NET_RELU:
            for (int k = 0; k < l->out; k++) {
                if (mpq_sgn(a[k]) > 0)
                    mpq_set(b[k], a[k]);
                else
                    mpq_set_ui(b[k], 0, 1);
            }
            break;
        }
        mpq_t *s = a;
        a = b;
        b = s;
    }
    int out = net_out_size(n);
    for (int k = 0; k < out; k++)
        mpq_set(y[k], a[k]);
    mpq_clear(t);
    mpq_vec_free(a, w);
    mpq_vec_free(b, w);
    return CN_OK;
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

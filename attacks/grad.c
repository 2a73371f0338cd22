/* grad.c — batched forward pass with cached ReLU pattern, and reverse-mode
 * input gradients of linear functions of the outputs (equation (4) of
 * attacks.h).  Double precision, round-to-nearest: search only. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <cblas.h>

#include "attacks/attacks_int.h"

struct atk_grad {
    const net *n;
    int max_batch;
    int width;                     /* net_max_width */
    unsigned char **mask;          /* [n_layers]; ReLU layers: [max_batch*out] */
    double **dact;                 /* [n_layers]; sigmoid/tanh layers: f'(z) [max_batch*out] */
    net_conv_map *cmap;            /* [n_layers]; conv layers: their taps */
    int **arg;                     /* [n_layers]; max pool layers: [max_batch*out]
                                      the input index each output took (the
                                      subgradient of max at the first argmax) */
    double *a, *b;                 /* [max_batch*width] ping-pong buffers */
    int cached;                    /* batch of the last forward, 0 if none */
};

void atk_grad_free(atk_grad *g)
{
    if (!g)
        return;
    if (g->dact)
        for (int i = 0; i < net_n_layers(g->n); i++)
            cn_free(g->dact[i]);
    cn_free(g->dact);
    if (g->mask)
        for (int i = 0; i < net_n_layers(g->n); i++)
            cn_free(g->mask[i]);
    if (g->cmap)
        for (int i = 0; i < net_n_layers(g->n); i++)
            net_conv_map_clear(&g->cmap[i]);
    for (int i = 0; g->arg && i < net_n_layers(g->n); i++)
        cn_free(g->arg[i]);
    cn_free(g->arg);
    cn_free(g->mask);
    cn_free(g->cmap);
    cn_free(g->a);
    cn_free(g->b);
    cn_free(g);
}

cn_status atk_grad_new(const net *n, int max_batch, atk_grad **out, cn_err *err)
{
    CN_REQUIRE(n && out && max_batch > 0, "network, positive batch, out");
    atk_grad *g = cn_calloc(1, sizeof *g);
    if (!g)
        goto fail;
    g->n = n;
    g->max_batch = max_batch;
    g->width = net_max_width(n);
    int L = net_n_layers(n);
    g->mask = cn_calloc(L > 0 ? (size_t)L : 1, sizeof *g->mask);
    g->cmap = cn_calloc(L > 0 ? (size_t)L : 1, sizeof *g->cmap);
    g->arg = cn_calloc(L > 0 ? (size_t)L : 1, sizeof *g->arg);
    g->a = cn_mallocarray((size_t)max_batch * (size_t)g->width, sizeof(double));
    g->b = cn_mallocarray((size_t)max_batch * (size_t)g->width, sizeof(double));
    g->dact = cn_calloc(L > 0 ? (size_t)L : 1, sizeof *g->dact);
    if (!g->mask || !g->dact || !g->cmap || !g->arg || !g->a || !g->b)
        goto fail;
    for (int i = 0; i < L; i++) {
        const net_layer *l = net_layer_at(n, i);
        if (l->op == NET_CONV && net_conv_map_init(&g->cmap[i], l, NULL) != CN_OK)
            goto fail;
        if (net_op_smooth(l->op)) {
            g->dact[i] = cn_mallocarray((size_t)max_batch * (size_t)l->out, sizeof(double));
            if (!g->dact[i])
                goto fail;
        }
        if (l->op == NET_MAXPOOL &&
            !(g->arg[i] = cn_mallocarray((size_t)max_batch * (size_t)l->out, sizeof(int))))
            goto fail;
        if (l->op != NET_RELU)
            continue;
        g->mask[i] = cn_mallocarray((size_t)max_batch * (size_t)l->out, 1);
        if (!g->mask[i])
            goto fail;
    }
    *out = g;
    return CN_OK;
fail:
    atk_grad_free(g);
    return cn_fail(err, CN_ENOMEM, "out of memory for a gradient workspace (batch %d)",
                   max_batch);
}

/* gx = (d conv / dx)^T gy for one sample (the transposed convolution): each
 * tap sends W[co][ci][ky][kx] gy[co,oy,ox] back to its input. */
static void conv_bwd(const net_layer *l, const net_conv_map *cm, const double *gy, double *gx)
{
    const net_shape os = l->out_shape;
    memset(gx, 0, (size_t)l->in * sizeof(double));
    for (int co = 0; co < os.c; co++) {
        const double *f = l->W + (size_t)co * (size_t)cm->fan;
        for (int p = 0; p < os.h * os.w; p++) {
            double gv = gy[co * os.h * os.w + p];
            if (gv == 0.0)
                continue;
            const net_tap *tp = cm->tap + (size_t)p * (size_t)cm->fan;
            for (int t = 0; t < cm->n[p]; t++)
                gx[tp[t].in] += f[tp[t].w] * gv;
        }
    }
}

/* Max pooling of one sample, recording each output's argmax (the first
 * largest input, the one net_forward's value comes from). */
static void maxpool_fwd(const net_layer *l, const double *x, double *y, int *arg)
{
    int idx[l->kh * l->kw];
    for (int o = 0; o < l->out; o++) {
        int n = net_pool_window(l, o, idx), best = idx[0];
        for (int k = 1; k < n; k++)
            if (x[idx[k]] > x[best] || x[idx[k]] != x[idx[k]])
                best = idx[k];
        y[o] = x[best];
        arg[o] = best;
    }
}

void atk_grad_forward(atk_grad *g, int batch, const double *x, double *y)
{
    CN_REQUIRE(g && x && y && batch >= 1 && batch <= g->max_batch, "batch within the workspace");
    const net *n = g->n;
    double *a = g->a, *b = g->b;
    memcpy(a, x, (size_t)batch * (size_t)net_in_size(n) * sizeof(double));
    for (int i = 0; i < net_n_layers(n); i++) {
        const net_layer *l = net_layer_at(n, i);
        switch (l->op) {
        case NET_DENSE:
        case NET_CONV:
            net_affine_forward(l, &g->cmap[i], batch, a, b);     /* as net_forward */
            break;
        case NET_RELU: {
            unsigned char *m = g->mask[i];
            for (size_t k = 0; k < (size_t)batch * (size_t)l->out; k++) {
                m[k] = a[k] > 0.0;
                b[k] = m[k] ? a[k] : 0.0;
            }
            break;
        }
        case NET_SIGMOID:
        case NET_TANH: {
            /* f and f' in double (an attack's guide, not a proof) */
            double *d = g->dact[i];
            bool sg = l->op == NET_SIGMOID;
            for (size_t k = 0; k < (size_t)batch * (size_t)l->out; k++) {
                double f = sg ? 1.0 / (1.0 + exp(-a[k])) : tanh(a[k]);
                b[k] = f;
                d[k] = sg ? f * (1.0 - f) : 1.0 - f * f;
            }
            break;
        }
        case NET_MAXPOOL:
            for (int s = 0; s < batch; s++)
                maxpool_fwd(l, a + (size_t)s * l->in, b + (size_t)s * l->out,
                            g->arg[i] + (size_t)s * l->out);
            break;
        }
        double *t = a;
        a = b;
        b = t;
    }
    memcpy(y, a, (size_t)batch * (size_t)net_out_size(n) * sizeof(double));
    g->cached = batch;
}

void atk_grad_backward(atk_grad *g, int batch, const double *c, double *gx)
{
    CN_REQUIRE(g && c && gx && batch >= 1 && batch <= g->cached,
               "a forward pass over at least this batch first");
    const net *n = g->n;
    double *a = g->a, *b = g->b;
    memcpy(a, c, (size_t)batch * (size_t)net_out_size(n) * sizeof(double));
    for (int i = net_n_layers(n) - 1; i >= 0; i--) {
        const net_layer *l = net_layer_at(n, i);
        switch (l->op) {
        case NET_DENSE:
            /* b[batch x in] = a[batch x out] * W[out x in] */
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, l->in, l->out, 1.0, a,
                        l->out, l->W, l->in, 0.0, b, l->in);
            break;
        case NET_CONV:
            for (int s = 0; s < batch; s++)
                conv_bwd(l, &g->cmap[i], a + (size_t)s * l->out, b + (size_t)s * l->in);
            break;
        case NET_RELU: {
            const unsigned char *m = g->mask[i];
            for (size_t k = 0; k < (size_t)batch * (size_t)l->out; k++)
                b[k] = m[k] ? a[k] : 0.0;
            break;
        }
        case NET_SIGMOID:
        case NET_TANH: {
            const double *d = g->dact[i];
            for (size_t k = 0; k < (size_t)batch * (size_t)l->out; k++)
                b[k] = d[k] * a[k];
            break;
        }
        case NET_MAXPOOL:
            /* the gradient of each output goes to the input it took */
            memset(b, 0, (size_t)batch * (size_t)l->in * sizeof(double));
            for (int s = 0; s < batch; s++) {
                const int *ag = g->arg[i] + (size_t)s * l->out;
                for (int o = 0; o < l->out; o++)
                    b[(size_t)s * l->in + (size_t)ag[o]] += a[(size_t)s * l->out + o];
            }
            break;
        }
        double *t = a;
        a = b;
        b = t;
    }
    memcpy(gx, a, (size_t)batch * (size_t)net_in_size(n) * sizeof(double));
}

cn_status atk_gradient(const net *n, int batch, const double *x, const double *c, double *y,
                       double *gx, cn_err *err)
{
    CN_REQUIRE(n && x && c && gx && batch >= 1, "network, inputs, coefficients, output");
    atk_grad *g = NULL;
    double *yy = y;
    cn_status s = atk_grad_new(n, batch, &g, err);
    if (s != CN_OK)
        return s;
    if (!yy) {
        yy = cn_mallocarray((size_t)batch * (size_t)net_out_size(n), sizeof(double));
        if (!yy) {
            atk_grad_free(g);
            return cn_fail(err, CN_ENOMEM, "out of memory for outputs (batch %d)", batch);
        }
    }
    atk_grad_forward(g, batch, x, yy);
    atk_grad_backward(g, batch, c, gx);
    if (yy != y)
        cn_free(yy);
    atk_grad_free(g);
    return CN_OK;
}

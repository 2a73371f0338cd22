/* conv.c — the taps of a convolution (models.h, "Convolution taps"): the one
 * place the index arithmetic of NET_CONV is written; and the per-output form
 * of an affine layer's enclosure (a convolution's bias radius per channel). */
#include "config.h"

#include "models/models_int.h"

int net_conv_fan(const net_layer *l)
{
    CN_REQUIRE(l && l->op == NET_CONV, "a convolution layer");
    return l->in_shape.c * l->kh * l->kw;
}

int net_conv_taps(const net_layer *l, int oy, int ox, net_tap *taps)
{
    CN_REQUIRE(l && l->op == NET_CONV && taps, "a convolution layer and a tap buffer");
    CN_REQUIRE(oy >= 0 && oy < l->out_shape.h && ox >= 0 && ox < l->out_shape.w,
               "an output position");
    const net_shape is = l->in_shape;
    int n = 0;
    for (int ci = 0; ci < is.c; ci++)
        for (int ky = 0; ky < l->kh; ky++) {
            int iy = oy * l->stride_h + ky - l->pad_t;
            if (iy < 0 || iy >= is.h)
                continue;                                /* zero padding */
            for (int kx = 0; kx < l->kw; kx++) {
                int ix = ox * l->stride_w + kx - l->pad_l;
                if (ix < 0 || ix >= is.w)
                    continue;
                taps[n].in = (ci * is.h + iy) * is.w + ix;
                taps[n].w = (ci * l->kh + ky) * l->kw + kx;
                n++;
            }
        }
    return n;
}

cn_status net_conv_map_init(net_conv_map *m, const net_layer *l, cn_err *err)
{
    int fan = net_conv_fan(l), npos = l->out_shape.h * l->out_shape.w;
    int *cnt = cn_mallocarray((size_t)npos, sizeof *cnt);
    net_tap *tap = cn_mallocarray((size_t)npos * (size_t)fan, sizeof *tap);
    if (!cnt || !tap) {
        cn_free(cnt);
        cn_free(tap);
        return cn_fail(err, CN_ENOMEM, "out of memory for the taps of a %dx%d convolution",
                       l->kh, l->kw);
    }
    for (int oy = 0; oy < l->out_shape.h; oy++)
        for (int ox = 0; ox < l->out_shape.w; ox++) {
            int p = oy * l->out_shape.w + ox;
            cnt[p] = net_conv_taps(l, oy, ox, tap + (size_t)p * (size_t)fan);
        }
    m->fan = fan;
    m->n = cnt;
    m->tap = tap;
    return CN_OK;
}

void net_conv_map_clear(net_conv_map *m)
{
    if (!m)
        return;
    cn_free(m->n);
    cn_free(m->tap);
    m->n = NULL;
    m->tap = NULL;
    m->fan = 0;
}

bool net_layer_has_radius(const net_layer *l)
{
    CN_REQUIRE(l && l->op != NET_RELU, "an affine layer");
    if (l->wrel != 0.0 || l->wabs != 0.0)
        return true;
    int nb = l->op == NET_CONV ? l->out_shape.c : l->out;
    for (int o = 0; l->brad && o < nb; o++)
        if (l->brad[o] != 0.0)
            return true;
    return false;
}

double net_layer_brad(const net_layer *l, int o)
{
    if (!l->brad)
        return 0.0;
    return l->brad[l->op == NET_CONV ? o / (l->out_shape.h * l->out_shape.w) : o];
}

cn_status net_conv_dense(const net_layer *l, double **W, double **b, cn_err *err)
{
    int fan = net_conv_fan(l);
    const net_shape os = l->out_shape;
    double *Wd = cn_calloc((size_t)l->out * (size_t)l->in, sizeof *Wd);
    double *bd = cn_mallocarray((size_t)l->out, sizeof *bd);
    net_tap *taps = cn_mallocarray((size_t)fan, sizeof *taps);
    if (!Wd || !bd || !taps) {
        cn_free(Wd);
        cn_free(bd);
        cn_free(taps);
        return cn_fail(err, CN_ENOMEM, "out of memory unrolling a %dx%d convolution",
                       l->kh, l->kw);
    }
    for (int oy = 0; oy < os.h; oy++)
        for (int ox = 0; ox < os.w; ox++) {
            int nt = net_conv_taps(l, oy, ox, taps);
            for (int co = 0; co < os.c; co++) {
                size_t o = (size_t)(co * os.h + oy) * (size_t)os.w + (size_t)ox;
                const double *f = l->W + (size_t)co * (size_t)fan;
                double *row = Wd + o * (size_t)l->in;
                bd[o] = l->b[co];
                for (int t = 0; t < nt; t++)
                    row[taps[t].in] = f[taps[t].w];
            }
        }
    cn_free(taps);
    *W = Wd;
    *b = bd;
    return CN_OK;
}

/* pool.c — max pooling windows (NET_MAXPOOL), the one place their index
 * arithmetic is written.
 *
 * A NET_MAXPOOL layer with input (C,H,Wd), window kh x kw and strides
 * (sh,sw) has output (C, oh, ow), oh = (H-kh)/sh + 1, ow = (Wd-kw)/sw + 1
 * (floor: the rows and columns past the last whole window feed nothing),
 *     z'[c,oy,ox] = max_{ky<kh, kx<kw} z[c, oy*sh+ky, ox*sw+kx].
 * There is no padding, so every window holds kh*kw inputs of its channel.
 * The max of rationals is one of them, so the layer is exact: evaluation in
 * double (net_forward) and in rationals (net_eval_exact) pick the same input
 * up to ties, and a tie gives the same value. */
#include "config.h"

#include "models/models_int.h"

int net_pool_window(const net_layer *l, int o, int *idx)
{
    CN_REQUIRE(l && l->op == NET_MAXPOOL && idx, "a max pooling layer and a buffer");
    CN_REQUIRE(o >= 0 && o < l->out, "an output index");
    const net_shape is = l->in_shape, os = l->out_shape;
    int hw = os.h * os.w, c = o / hw, p = o % hw;
    int y0 = (p / os.w) * l->stride_h, x0 = (p % os.w) * l->stride_w;
    int k = 0;
    for (int ky = 0; ky < l->kh; ky++)
        for (int kx = 0; kx < l->kw; kx++)
            idx[k++] = (c * is.h + y0 + ky) * is.w + x0 + kx;
    return k;
}

bool net_has_maxpool(const net *n)
{
    for (int i = 0; i < net_n_layers(n); i++)
        if (net_layer_at(n, i)->op == NET_MAXPOOL)
            return true;
    return false;
}

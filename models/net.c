/* net.c — the network IR: construction, accessors and provenance. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "models/models_int.h"

net *net_new(net_shape in_shape)
{
    CN_REQUIRE(in_shape.c > 0 && in_shape.h > 0 && in_shape.w > 0, "positive input shape");
    net *n = cn_calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->in_shape = in_shape;
    n->fold_exact = true;
    n->format = NET_FMT_BUILT;
    n->n_in_dims = 1;
    n->in_dims[0] = in_shape.c * in_shape.h * in_shape.w;
    return n;
}

static void nnet_norm_free(net_nnet_norm *nn)
{
    if (!nn)
        return;
    cn_free(nn->in_min);
    cn_free(nn->in_max);
    cn_free(nn->in_mean);
    cn_free(nn->in_range);
    cn_free(nn);
}

void net_free(net *n)
{
    if (!n)
        return;
    for (int i = 0; i < n->n_layers; i++) {
        cn_free(n->layers[i].W);
        cn_free(n->layers[i].b);
        cn_free(n->layers[i].brad);
    }
    cn_free(n->layers);
    cn_free(n->path);
    cn_free(n->in_name);
    cn_free(n->out_name);
    nnet_norm_free(n->nnet);
    cn_free(n);
}

net_shape net__tail_shape(const net *n)
{
    return n->n_layers ? n->layers[n->n_layers - 1].out_shape : n->in_shape;
}

static int shape_size(net_shape s) { return s.c * s.h * s.w; }

static net_layer *push_layer(net *n, cn_err *err)
{
    if (n->n_layers == n->cap_layers) {
        int cap = n->cap_layers ? 2 * n->cap_layers : 8;
        net_layer *l = cn_reallocarray(n->layers, (size_t)cap, sizeof *l);
        if (!l) {
            cn_fail(err, CN_ENOMEM, "out of memory adding a layer");
            return NULL;
        }
        n->layers = l;
        n->cap_layers = cap;
    }
    net_layer *l = &n->layers[n->n_layers];
    memset(l, 0, sizeof *l);
    l->in_shape = net__tail_shape(n);
    l->in = shape_size(l->in_shape);
    return l;
}

net_layer *net_add_dense(net *n, int out, cn_err *err)
{
    CN_REQUIRE(n && out > 0, "positive layer width");
    net_layer *l = push_layer(n, err);
    if (!l)
        return NULL;
    l->op = NET_DENSE;
    l->out = out;
    l->out_shape = (net_shape){out, 1, 1};
    l->W = cn_calloc((size_t)l->in * (size_t)out, sizeof(double));
    l->b = cn_calloc((size_t)out, sizeof(double));
    if (!l->W || !l->b) {
        cn_free(l->W);
        cn_free(l->b);
        cn_fail(err, CN_ENOMEM, "out of memory for a %dx%d dense layer", out, l->in);
        return NULL;
    }
    n->n_layers++;
    return l;
}

net_layer *net_add_conv(net *n, int cout, int kh, int kw, int stride_h, int stride_w,
                        int pad_t, int pad_l, int pad_b, int pad_r, cn_err *err)
{
    CN_REQUIRE(n && cout > 0 && kh > 0 && kw > 0 && stride_h > 0 && stride_w > 0,
               "positive conv sizes");
    CN_REQUIRE(pad_t >= 0 && pad_l >= 0 && pad_b >= 0 && pad_r >= 0, "non-negative padding");
    net_shape s = net__tail_shape(n);
    int oh_num = s.h + pad_t + pad_b - kh, ow_num = s.w + pad_l + pad_r - kw;
    if (oh_num < 0 || ow_num < 0) {
        cn_fail(err, CN_EINVAL, "conv kernel %dx%d larger than padded input %dx%d", kh, kw,
                s.h + pad_t + pad_b, s.w + pad_l + pad_r);
        return NULL;
    }
    net_layer *l = push_layer(n, err);
    if (!l)
        return NULL;
    l->op = NET_CONV;
    l->kh = kh;
    l->kw = kw;
    l->stride_h = stride_h;
    l->stride_w = stride_w;
    l->pad_t = pad_t;
    l->pad_l = pad_l;
    l->pad_b = pad_b;
    l->pad_r = pad_r;
    l->out_shape = (net_shape){cout, oh_num / stride_h + 1, ow_num / stride_w + 1};
    l->out = shape_size(l->out_shape);
    l->W = cn_calloc((size_t)cout * (size_t)s.c * (size_t)kh * (size_t)kw, sizeof(double));
    l->b = cn_calloc((size_t)cout, sizeof(double));
    if (!l->W || !l->b) {
        cn_free(l->W);
        cn_free(l->b);
        cn_fail(err, CN_ENOMEM, "out of memory for a conv layer");
        return NULL;
    }
    n->n_layers++;
    return l;
}

net_layer *net_add_relu(net *n, cn_err *err)
{
    return net_add_act(n, NET_RELU, err);
}

net_layer *net_add_act(net *n, net_op op, cn_err *err)
{
    CN_REQUIRE(n && net_op_act(op), "a network and an activation");
    net_layer *l = push_layer(n, err);
    if (!l)
        return NULL;
    l->op = op;
    l->out_shape = l->in_shape;
    l->out = l->in;
    n->n_layers++;
    return l;
}

net_layer *net_add_maxpool(net *n, int kh, int kw, int stride_h, int stride_w, cn_err *err)
{
    CN_REQUIRE(n && kh > 0 && kw > 0 && stride_h > 0 && stride_w > 0, "positive pool sizes");
    net_shape s = net__tail_shape(n);
    if (kh > s.h || kw > s.w || (long)kh * kw > NET_MAXPOOL_WINDOW) {
        cn_fail(err, CN_EINVAL, "max pool window %dx%d: larger than the %dx%d map or than %d values",
                kh, kw, s.h, s.w, NET_MAXPOOL_WINDOW);
        return NULL;
    }
    net_layer *l = push_layer(n, err);
    if (!l)
        return NULL;
    l->op = NET_MAXPOOL;
    l->kh = kh;
    l->kw = kw;
    l->stride_h = stride_h;
    l->stride_w = stride_w;
    l->out_shape = (net_shape){s.c, (s.h - kh) / stride_h + 1, (s.w - kw) / stride_w + 1};
    l->out = shape_size(l->out_shape);
    n->n_layers++;
    return l;
}

int net_n_layers(const net *n) { return n->n_layers; }

bool net_has_enclosure(const net *n)
{
    for (int i = 0; i < n->n_layers; i++) {
        const net_layer *l = &n->layers[i];
        if (l->wrel != 0.0 || l->wabs != 0.0 || l->brad)
            return true;
    }
    return false;
}

const net_layer *net_layer_at(const net *n, int i)
{
    CN_REQUIRE(i >= 0 && i < n->n_layers, "layer index in range");
    return &n->layers[i];
}

int net_in_size(const net *n) { return shape_size(n->in_shape); }
int net_out_size(const net *n) { return shape_size(net__tail_shape(n)); }

int net_n_relus(const net *n)
{
    int r = 0;
    for (int i = 0; i < n->n_layers; i++)
        if (n->layers[i].op == NET_RELU)
            r += n->layers[i].out;
    return r;
}

int net_n_smooth(const net *n)
{
    int r = 0;
    for (int i = 0; i < n->n_layers; i++)
        if (net_op_smooth(n->layers[i].op))
            r++;
    return r;
}

int net_max_width(const net *n)
{
    int m = net_in_size(n);
    for (int i = 0; i < n->n_layers; i++)
        if (n->layers[i].out > m)
            m = n->layers[i].out;
    return m;
}

static long layer_params(const net_layer *l)
{
    switch (l->op) {
    case NET_DENSE: return (long)l->in * l->out + l->out;
    case NET_CONV:
        return (long)l->out_shape.c * l->in_shape.c * l->kh * l->kw + l->out_shape.c;
    case NET_RELU:
    case NET_SIGMOID:
    case NET_TANH:
    default: return 0;
    }
}

/* Bias entries of an affine layer: out (DENSE) or cout (CONV). */
static size_t layer_nb(const net_layer *l)
{
    return l->op == NET_DENSE ? (size_t)l->out : l->op == NET_CONV ? (size_t)l->out_shape.c : 0;
}

void net_get_info(const net *n, net_info *info)
{
    memset(info, 0, sizeof *info);
    info->format = n->format;
    info->path = n->path ? n->path : "";
    memcpy(info->sha256, n->sha256, sizeof info->sha256);
    info->n_in_dims = n->n_in_dims;
    memcpy(info->in_dims, n->in_dims, sizeof info->in_dims);
    if (n->n_out_dims) {
        info->n_out_dims = n->n_out_dims;
        memcpy(info->out_dims, n->out_dims, sizeof info->out_dims);
    } else {
        info->n_out_dims = 1;
        info->out_dims[0] = net_out_size(n);
    }
    info->in_name = n->in_name ? n->in_name : "";
    info->out_name = n->out_name ? n->out_name : "";
    for (int i = 0; i < n->n_layers; i++)
        info->params += layer_params(&n->layers[i]);
    info->fold_exact = n->fold_exact;
    info->folded = n->folded;
    for (int i = 0; i < n->n_layers; i++) {
        const net_layer *l = &n->layers[i];
        info->max_wrel = fmax(info->max_wrel, l->wrel);
        info->max_wabs = fmax(info->max_wabs, l->wabs);
        for (size_t o = 0; l->brad && o < layer_nb(l); o++)
            info->max_brad = fmax(info->max_brad, l->brad[o]);
    }
    info->nnet = n->nnet;
    switch (n->format) {
    case NET_FMT_ONNX:
        info->weights_note = "float32/float64 tensors, converted to double exactly";
        break;
    case NET_FMT_NNET:
        info->weights_note = "decimal text, each value rounded once to the nearest double at load";
        break;
    default:
        info->weights_note = "doubles set in code";
        break;
    }
}

cn_status net__set_names(net *n, const char *path, const char *in_name,
                         const char *out_name, cn_err *err)
{
    char *p = cn_strdup(path ? path : "");
    char *i = cn_strdup(in_name ? in_name : "");
    char *o = cn_strdup(out_name ? out_name : "");
    if (!p || !i || !o) {
        cn_free(p);
        cn_free(i);
        cn_free(o);
        return cn_fail(err, CN_ENOMEM, "out of memory");
    }
    cn_free(n->path);
    cn_free(n->in_name);
    cn_free(n->out_name);
    n->path = p;
    n->in_name = i;
    n->out_name = o;
    return CN_OK;
}

cn_status net_load(const char *path, net **out, cn_err *err)
{
    size_t len = strlen(path);
    if ((len >= 5 && strcmp(path + len - 5, ".nnet") == 0) ||
        (len >= 8 && strcmp(path + len - 8, ".nnet.gz") == 0))
        return net_load_nnet(path, out, err);
    return net_load_onnx(path, out, err);
}

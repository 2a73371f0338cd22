/* onnx_save.c — network IR to ONNX (opset 13).
 *
 * Layer by layer:  NET_DENSE -> [Flatten(axis=1)] Gemm(x, W [out,in], b, transB=1)
 *                  NET_CONV  -> [Reshape to [1,c,h,w]] Conv(x, W, b) with explicit
 *                               pads/strides, dilations 1, group 1
 *                  NET_RELU  -> Relu (NET_SIGMOID -> Sigmoid, NET_TANH -> Tanh)
 * The input is declared [1,c,h,w] when the input shape is image-like (h or w
 * > 1), [1,n] otherwise.  Tensors go in raw_data, little-endian: float32 when
 * every weight and bias of the net is exactly a float32, float64 otherwise
 * (one element type for the whole model, as ONNX requires), so that
 * net_load_onnx reads back bit-identical doubles.
 *
 * The protobuf structures are built in an arena of cn_ allocations and
 * serialised with the generated protobuf-c packer.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "models/models_int.h"
#include "models/onnx.pb-c.h"

/* Every allocation of one save, freed together. */
typedef struct {
    void **p;
    size_t n, cap;
    bool failed;
} arena;

static void *ar_alloc(arena *a, size_t count, size_t size)
{
    if (a->failed)
        return NULL;
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 64;
        void **np = cn_reallocarray(a->p, cap, sizeof *np);
        if (!np) {
            a->failed = true;
            return NULL;
        }
        a->p = np;
        a->cap = cap;
    }
    void *q = cn_calloc(count ? count : 1, size);
    if (!q) {
        a->failed = true;
        return NULL;
    }
    a->p[a->n++] = q;
    return q;
}

static void ar_free(arena *a)
{
    for (size_t i = 0; i < a->n; i++)
        cn_free(a->p[i]);
    cn_free(a->p);
}

static char *ar_name(arena *a, const char *prefix, int i)
{
    char *s = ar_alloc(a, 32, 1);
    if (s)
        snprintf(s, 32, "%s%d", prefix, i);
    return s;
}

/* Growable list of pointers kept in the arena's style (cn_ allocations). */
typedef struct {
    void **v;
    size_t n, cap;
} plist;

static bool pl_push(arena *a, plist *l, void *x)
{
    if (!x)
        return false;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        void **nv = ar_alloc(a, cap, sizeof *nv);
        if (!nv)
            return false;
        if (l->n)
            memcpy(nv, l->v, l->n * sizeof *nv);
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = x;
    return true;
}

typedef struct {
    arena *a;
    bool f32;
    plist nodes, inits;
} sv;

static Onnx__TensorProto *tensor(sv *S, const char *name, const int64_t *dims, int nd,
                                 const double *v, size_t n)
{
    Onnx__TensorProto *t = ar_alloc(S->a, 1, sizeof *t);
    int64_t *d = ar_alloc(S->a, (size_t)nd, sizeof *d);
    size_t esz = S->f32 ? 4 : 8;
    uint8_t *raw = ar_alloc(S->a, n, esz);
    if (!t || !d || !raw)
        return NULL;
    *t = (Onnx__TensorProto)ONNX__TENSOR_PROTO__INIT;
    memcpy(d, dims, (size_t)nd * sizeof *d);
    t->n_dims = (size_t)nd;
    t->dims = d;
    t->has_data_type = true;
    t->data_type = S->f32 ? ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT : ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE;
    t->name = (char *)name;
    for (size_t i = 0; i < n; i++) {
        uint64_t u = 0;
        if (S->f32) {
            float f = (float)v[i];
            uint32_t w;
            memcpy(&w, &f, 4);
            u = w;
        } else {
            memcpy(&u, &v[i], 8);
        }
        for (size_t b = 0; b < esz; b++)
            raw[i * esz + b] = (uint8_t)(u >> (8 * b));
    }
    t->has_raw_data = true;
    t->raw_data.len = n * esz;
    t->raw_data.data = raw;
    return pl_push(S->a, &S->inits, t) ? t : NULL;
}

static Onnx__TensorProto *shape_tensor(sv *S, const char *name, const int64_t *vals, int n)
{
    Onnx__TensorProto *t = ar_alloc(S->a, 1, sizeof *t);
    int64_t *d = ar_alloc(S->a, 1, sizeof *d);
    uint8_t *raw = ar_alloc(S->a, (size_t)n, 8);
    if (!t || !d || !raw)
        return NULL;
    *t = (Onnx__TensorProto)ONNX__TENSOR_PROTO__INIT;
    d[0] = n;
    t->n_dims = 1;
    t->dims = d;
    t->has_data_type = true;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
    t->name = (char *)name;
    for (int i = 0; i < n; i++)
        for (int b = 0; b < 8; b++)
            raw[i * 8 + b] = (uint8_t)((uint64_t)vals[i] >> (8 * b));
    t->has_raw_data = true;
    t->raw_data.len = (size_t)n * 8;
    t->raw_data.data = raw;
    return pl_push(S->a, &S->inits, t) ? t : NULL;
}

static Onnx__NodeProto *node(sv *S, const char *op, const char *name, char *in0, char *in1,
                             char *in2, char *out)
{
    Onnx__NodeProto *nd = ar_alloc(S->a, 1, sizeof *nd);
    char **ins = ar_alloc(S->a, 3, sizeof *ins);
    char **outs = ar_alloc(S->a, 1, sizeof *outs);
    Onnx__AttributeProto **at = ar_alloc(S->a, 8, sizeof *at);
    if (!nd || !ins || !outs || !at || !name || !in0 || !out)
        return NULL;
    *nd = (Onnx__NodeProto)ONNX__NODE_PROTO__INIT;
    ins[0] = in0;
    ins[1] = in1;
    ins[2] = in2;
    nd->n_input = in2 ? 3 : in1 ? 2 : 1;
    nd->input = ins;
    outs[0] = out;
    nd->n_output = 1;
    nd->output = outs;
    nd->name = (char *)name;
    nd->op_type = (char *)op;
    nd->attribute = at;
    return pl_push(S->a, &S->nodes, nd) ? nd : NULL;
}

static bool attr_i(sv *S, Onnx__NodeProto *nd, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = ar_alloc(S->a, 1, sizeof *a);
    if (!a)
        return false;
    *a = (Onnx__AttributeProto)ONNX__ATTRIBUTE_PROTO__INIT;
    a->name = (char *)name;
    a->has_type = true;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    a->has_i = true;
    a->i = v;
    nd->attribute[nd->n_attribute++] = a;
    return true;
}

static bool attr_ints(sv *S, Onnx__NodeProto *nd, const char *name, const int64_t *v, size_t n)
{
    Onnx__AttributeProto *a = ar_alloc(S->a, 1, sizeof *a);
    int64_t *w = ar_alloc(S->a, n, sizeof *w);
    if (!a || !w)
        return false;
    *a = (Onnx__AttributeProto)ONNX__ATTRIBUTE_PROTO__INIT;
    a->name = (char *)name;
    a->has_type = true;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    memcpy(w, v, n * sizeof *w);
    a->n_ints = n;
    a->ints = w;
    nd->attribute[nd->n_attribute++] = a;
    return true;
}

static Onnx__ValueInfoProto *value_info(sv *S, const char *name, const int64_t *dims, int nd)
{
    Onnx__ValueInfoProto *v = ar_alloc(S->a, 1, sizeof *v);
    Onnx__TypeProto *t = ar_alloc(S->a, 1, sizeof *t);
    Onnx__TypeProto__Tensor *tt = ar_alloc(S->a, 1, sizeof *tt);
    Onnx__TensorShapeProto *sh = ar_alloc(S->a, 1, sizeof *sh);
    Onnx__TensorShapeProto__Dimension **dp = ar_alloc(S->a, (size_t)nd, sizeof *dp);
    if (!v || !t || !tt || !sh || !dp)
        return NULL;
    for (int i = 0; i < nd; i++) {
        Onnx__TensorShapeProto__Dimension *d = ar_alloc(S->a, 1, sizeof *d);
        if (!d)
            return NULL;
        *d = (Onnx__TensorShapeProto__Dimension)ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
        d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        d->dim_value = dims[i];
        dp[i] = d;
    }
    *sh = (Onnx__TensorShapeProto)ONNX__TENSOR_SHAPE_PROTO__INIT;
    sh->n_dim = (size_t)nd;
    sh->dim = dp;
    *tt = (Onnx__TypeProto__Tensor)ONNX__TYPE_PROTO__TENSOR__INIT;
    tt->has_elem_type = true;
    tt->elem_type = S->f32 ? ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT : ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE;
    tt->shape = sh;
    *t = (Onnx__TypeProto)ONNX__TYPE_PROTO__INIT;
    t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    t->tensor_type = tt;
    *v = (Onnx__ValueInfoProto)ONNX__VALUE_INFO_PROTO__INIT;
    v->name = (char *)name;
    v->type = t;
    return v;
}

static bool all_float32(const net *n)
{
    for (int i = 0; i < n->n_layers; i++) {
        const net_layer *l = &n->layers[i];
        size_t nw = l->op == NET_DENSE  ? (size_t)l->in * l->out
                    : l->op == NET_CONV ? (size_t)l->out_shape.c * l->in_shape.c * l->kh * l->kw
                                        : 0;
        size_t nb = l->op == NET_DENSE ? (size_t)l->out : l->op == NET_CONV ? (size_t)l->out_shape.c : 0;
        for (size_t k = 0; k < nw; k++)
            if ((double)(float)l->W[k] != l->W[k])
                return false;
        for (size_t k = 0; k < nb; k++)
            if ((double)(float)l->b[k] != l->b[k])
                return false;
    }
    return true;
}

/* Builds the graph's nodes and initializers; returns false when out of memory. */
static bool build(sv *S, const net *n, Onnx__GraphProto *g)
{
    arena *a = S->a;
    net_shape is = n->in_shape;
    int64_t dims[4];
    int nd;
    if (is.h > 1 || is.w > 1) {
        int64_t d[4] = {1, is.c, is.h, is.w};
        memcpy(dims, d, sizeof d);
        nd = 4;
    } else {
        dims[0] = 1;
        dims[1] = (int64_t)is.c * is.h * is.w;
        nd = 2;
    }
    char *cur = "input";
    Onnx__ValueInfoProto *vin = value_info(S, cur, dims, nd);
    if (!vin)
        return false;
    for (int i = 0; i < n->n_layers; i++) {
        const net_layer *l = &n->layers[i];
        char *out = i == n->n_layers - 1 ? "output" : ar_name(a, "t", i);
        Onnx__NodeProto *nd_;
        if (l->op == NET_DENSE) {
            if (nd != 2) {
                char *f = ar_name(a, "flat", i);
                if (!(nd_ = node(S, "Flatten", ar_name(a, "Flatten_", i), cur, NULL, NULL, f)) ||
                    !attr_i(S, nd_, "axis", 1))
                    return false;
                cur = f;
                nd = 2;
                dims[0] = 1;
                dims[1] = l->in;
            }
            int64_t wd[2] = {l->out, l->in}, bd[1] = {l->out};
            Onnx__TensorProto *W = tensor(S, ar_name(a, "W", i), wd, 2, l->W, (size_t)l->in * l->out);
            Onnx__TensorProto *B = tensor(S, ar_name(a, "B", i), bd, 1, l->b, (size_t)l->out);
            if (!W || !B || !W->name || !B->name)
                return false;
            if (!(nd_ = node(S, "Gemm", ar_name(a, "Gemm_", i), cur, W->name, B->name, out)) ||
                !attr_i(S, nd_, "transB", 1))
                return false;
            dims[1] = l->out;
        } else if (l->op == NET_CONV) {
            net_shape s = l->in_shape, o = l->out_shape;
            if (nd != 4 || dims[1] != s.c || dims[2] != s.h || dims[3] != s.w) {
                int64_t sv4[4] = {1, s.c, s.h, s.w};
                char *r = ar_name(a, "img", i);
                Onnx__TensorProto *sh = shape_tensor(S, ar_name(a, "shape", i), sv4, 4);
                if (!sh || !sh->name || !node(S, "Reshape", ar_name(a, "Reshape_", i), cur, sh->name, NULL, r))
                    return false;
                cur = r;
            }
            int64_t wd[4] = {o.c, s.c, l->kh, l->kw}, bd[1] = {o.c};
            Onnx__TensorProto *W = tensor(S, ar_name(a, "W", i), wd, 4, l->W,
                                          (size_t)o.c * s.c * l->kh * l->kw);
            Onnx__TensorProto *B = tensor(S, ar_name(a, "B", i), bd, 1, l->b, (size_t)o.c);
            if (!W || !B || !W->name || !B->name)
                return false;
            int64_t ks[2] = {l->kh, l->kw}, st[2] = {l->stride_h, l->stride_w},
                    pads[4] = {l->pad_t, l->pad_l, l->pad_b, l->pad_r}, dil[2] = {1, 1};
            if (!(nd_ = node(S, "Conv", ar_name(a, "Conv_", i), cur, W->name, B->name, out)) ||
                !attr_ints(S, nd_, "kernel_shape", ks, 2) || !attr_ints(S, nd_, "strides", st, 2) ||
                !attr_ints(S, nd_, "pads", pads, 4) || !attr_ints(S, nd_, "dilations", dil, 2) ||
                !attr_i(S, nd_, "group", 1))
                return false;
            int64_t d[4] = {1, o.c, o.h, o.w};
            memcpy(dims, d, sizeof d);
            nd = 4;
        } else {
            const char *opn = l->op == NET_SIGMOID ? "Sigmoid" : l->op == NET_TANH ? "Tanh" : "Relu";
            char pre[16];
            snprintf(pre, sizeof pre, "%s_", opn);
            if (!node(S, opn, ar_name(a, pre, i), cur, NULL, NULL, out))
                return false;
        }
        cur = out;
    }
    Onnx__ValueInfoProto *vout = value_info(S, "output", dims, nd);
    Onnx__ValueInfoProto **ins = ar_alloc(a, 1, sizeof *ins), **outs = ar_alloc(a, 1, sizeof *outs);
    if (!vout || !ins || !outs)
        return false;
    ins[0] = vin;
    outs[0] = vout;
    g->name = "certnn";
    g->n_input = 1;
    g->input = ins;
    g->n_output = 1;
    g->output = outs;
    g->n_node = S->nodes.n;
    g->node = (Onnx__NodeProto **)S->nodes.v;
    g->n_initializer = S->inits.n;
    g->initializer = (Onnx__TensorProto **)S->inits.v;
    return true;
}

cn_status net_save_onnx(const net *n, const char *path, cn_err *err)
{
    CN_REQUIRE(n && path, "network and path");
    if (n->n_layers == 0)
        return cn_fail(err, CN_EINVAL, "%s: the network has no layers to write", path);
    if (net_has_maxpool(n))
        return cn_fail(err, CN_EUNSUPPORTED, "%s: max pooling layers are not written", path);
    if (net_softmax_output(n))
        return cn_fail(err, CN_EUNSUPPORTED, "%s: a final Softmax is not written", path);
    if (net_has_enclosure(n))
        return cn_fail(err, CN_EUNSUPPORTED,
                       "%s: the network's folded weights are rounded values with an error "
                       "enclosure of the original file's; an ONNX file would lose the "
                       "enclosure (save the original model instead)",
                       path);
    arena a = {0};
    sv S = {&a, all_float32(n), {0}, {0}};
    Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
    Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    Onnx__OperatorSetIdProto *opsets[1] = {&opset};
    Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
    uint8_t *buf = NULL;
    cn_status s = CN_OK;
    if (!build(&S, n, &g)) {
        s = cn_fail(err, CN_ENOMEM, "%s: out of memory building the ONNX model", path);
        goto done;
    }
    opset.domain = "";
    opset.has_version = true;
    opset.version = 13;
    m.has_ir_version = true;
    m.ir_version = 7;
    m.n_opset_import = 1;
    m.opset_import = opsets;
    m.producer_name = "certnn";
    m.producer_version = PACKAGE_VERSION;
    m.graph = &g;
    size_t len = onnx__model_proto__get_packed_size(&m);
    if (!(buf = cn_malloc(len))) {
        s = cn_fail(err, CN_ENOMEM, "%s: out of memory serialising the ONNX model", path);
        goto done;
    }
    if (onnx__model_proto__pack(&m, buf) != len) {
        s = cn_fail(err, CN_EINTERNAL, "%s: protobuf packing size mismatch", path);
        goto done;
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        s = cn_fail(err, CN_EIO, "%s: cannot create: %s", path, strerror(errno));
        goto done;
    }
    bool ok = fwrite(buf, 1, len, f) == len;
    int e = errno;
    if (fclose(f) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (!ok) {
        remove(path);
        s = cn_fail(err, CN_EIO, "%s: write error: %s", path, strerror(e));
    }
done:
    cn_free(buf);
    ar_free(&a);
    return s;
}

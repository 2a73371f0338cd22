/* onnx_graph.c — a read-only graph view of an ONNX model (net_graph): its
 * nodes with op, name, input and output tensors and inferred output shapes,
 * in a topological order that does not depend on the file's node order.
 *
 * This is a description for people and tools (`certnn info`), not the
 * network certnn verifies: the loader (onnx_load.c) builds the IR and is the
 * only reader whose meaning counts.  Nothing here is trusted by a proof.
 *
 * Order.  Each node gets its depth, the length of the longest path to it from
 * the graph input and the constants (depth 1 for a node that reads only
 * those); nodes are listed by depth, ties broken by output name, then by node
 * name.  A producer is always deeper-first, so the list is topological, and
 * it is the same list for any permutation of the file's nodes.
 *
 * Shapes are inferred from the graph input's declared shape and the
 * constants' dims for the operators certnn reads and a few shape-preserving
 * others; an operator not known here, or an input of unknown shape, gives an
 * unknown shape (nd = -1), never a guess.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "models/models_int.h"
#include "models/onnx.pb-c.h"

enum { G_RANK = NET_GRAPH_MAX_RANK };

struct net_graph {
    ProtobufCAllocator pa;
    Onnx__ModelProto *m;
    const char *input;             /* graph input name */
    int n;
    net_gnode *nodes;              /* [n], topological order */
    const char **names;            /* storage of the nodes' input lists */
};

static const char *S(const char *s) { return s ? s : ""; }

static void *pb_alloc(void *st, size_t n) { (void)st; return cn_malloc(n); }
static void pb_free(void *st, void *p) { (void)st; cn_free(p); }

/* A known tensor: constant (initializer / Constant output) or computed. */
typedef struct {
    const char *name;
    bool is_const;
    int producer;                  /* node index, -1: graph input or constant */
    int nd;                        /* -1: unknown */
    int64_t d[G_RANK];
    const Onnx__TensorProto *t;    /* constant's value, or NULL */
} gtensor;

typedef struct {
    const Onnx__GraphProto *g;
    gtensor *t;
    size_t nt, cap;
    const char *path;
    cn_err *err;
} gctx;

static gtensor *tfind(const gctx *c, const char *name)
{
    for (size_t i = 0; i < c->nt; i++)
        if (strcmp(c->t[i].name, name) == 0)
            return &c->t[i];
    return NULL;
}

static void tdims(gtensor *x, const Onnx__TensorProto *t)
{
    x->t = t;
    x->nd = t->n_dims <= G_RANK ? (int)t->n_dims : -1;
    for (int i = 0; i < x->nd; i++)
        x->d[i] = t->dims[i];
}

static const Onnx__AttributeProto *attr(const Onnx__NodeProto *n, const char *name)
{
    for (size_t i = 0; i < n->n_attribute; i++)
        if (strcmp(S(n->attribute[i]->name), name) == 0)
            return n->attribute[i];
    return NULL;
}

static int64_t attr_i(const Onnx__NodeProto *n, const char *name, int64_t dflt)
{
    const Onnx__AttributeProto *a = attr(n, name);
    return a && a->has_i ? a->i : dflt;
}

/* ints attribute of n values into v (absent: v unchanged). */
static void attr_ints(const Onnx__NodeProto *n, const char *name, int64_t *v, size_t k)
{
    const Onnx__AttributeProto *a = attr(n, name);
    if (a && a->n_ints == k)
        memcpy(v, a->ints, k * sizeof *v);
}

/* int64 values of a constant tensor (at most G_RANK); -1: not readable. */
static int const_ints(const gtensor *x, int64_t *v)
{
    const Onnx__TensorProto *t = x ? x->t : NULL;
    if (!t || t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__INT64)
        return -1;
    size_t n = t->has_raw_data ? t->raw_data.len / 8 : t->n_int64_data;
    if (n > G_RANK || (t->has_raw_data && t->raw_data.len % 8))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (t->has_raw_data) {
            uint64_t u = 0;
            for (int b = 7; b >= 0; b--)
                u = u << 8 | t->raw_data.data[8 * i + (size_t)b];
            v[i] = (int64_t)u;
        } else {
            v[i] = t->int64_data[i];
        }
    }
    return (int)n;
}

static int64_t prod(const int64_t *d, int a, int b)
{
    int64_t p = 1;
    for (int i = a; i < b; i++)
        p *= d[i];
    return p;
}

/* numpy broadcasting of x and y into o; false when they do not broadcast. */
static bool bcast(const gtensor *x, const gtensor *y, gtensor *o)
{
    int nd = x->nd > y->nd ? x->nd : y->nd;
    for (int i = 0; i < nd; i++) {
        int ix = i - (nd - x->nd), iy = i - (nd - y->nd);
        int64_t a = ix >= 0 ? x->d[ix] : 1, b = iy >= 0 ? y->d[iy] : 1;
        if (a != b && a != 1 && b != 1)
            return false;
        o->d[i] = a == 1 ? b : a;
    }
    o->nd = nd;
    return true;
}

/* Spatial output size of a window of k (dilated) over in with strides and pads. */
static int64_t win(int64_t in, int64_t k, int64_t s, int64_t p0, int64_t p1)
{
    int64_t t = in + p0 + p1 - k;
    return t < 0 || s < 1 ? -1 : t / s + 1;
}

/* Infers node n's output shape into o (o->nd = -1 when unknown). */
static void infer(const gctx *c, const Onnx__NodeProto *n, gtensor *o)
{
    const char *op = S(n->op_type);
    gtensor *in[3] = {NULL, NULL, NULL};
    for (size_t i = 0; i < n->n_input && i < 3; i++)
        in[i] = *S(n->input[i]) ? tfind(c, n->input[i]) : NULL;
    o->nd = -1;
    if (strcmp(op, "Constant") == 0) {
        const Onnx__AttributeProto *a = attr(n, "value");
        if (a && a->t)
            tdims(o, a->t);
        return;
    }
    gtensor *x = in[0];
    if (!x || x->nd < 0)
        return;
    static const char *const same[] = {"Relu", "Sigmoid", "Tanh", "BatchNormalization",
                                       "Dropout", "Identity", "Softmax", "LeakyRelu", "Elu",
                                       "Softplus", "Clip", "Abs", "Neg", "Exp", "Log", NULL};
    for (const char *const *s = same; *s; s++)
        if (strcmp(op, *s) == 0) {
            *o = (gtensor){.nd = x->nd};
            memcpy(o->d, x->d, sizeof o->d);
            return;
        }
    if (strcmp(op, "Add") == 0 || strcmp(op, "Sub") == 0 || strcmp(op, "Mul") == 0 ||
        strcmp(op, "Div") == 0) {
        if (in[1] && in[1]->nd >= 0 && !bcast(x, in[1], o))
            o->nd = -1;
        return;
    }
    gtensor *w = in[1];
    if (strcmp(op, "Conv") == 0 || strcmp(op, "MaxPool") == 0 || strcmp(op, "AveragePool") == 0) {
        bool conv = op[0] == 'C';
        if (x->nd != 4 || (conv && (!w || w->nd != 4)))
            return;
        int64_t k[2] = {conv ? w->d[2] : 1, conv ? w->d[3] : 1}, s[2] = {1, 1},
                p[4] = {0, 0, 0, 0}, dl[2] = {1, 1};
        attr_ints(n, "kernel_shape", k, 2);
        attr_ints(n, "strides", s, 2);
        attr_ints(n, "pads", p, 4);
        attr_ints(n, "dilations", dl, 2);
        int64_t oh = win(x->d[2], dl[0] * (k[0] - 1) + 1, s[0], p[0], p[2]);
        int64_t ow = win(x->d[3], dl[1] * (k[1] - 1) + 1, s[1], p[1], p[3]);
        if (oh < 1 || ow < 1 || attr_i(n, "ceil_mode", 0))
            return;
        *o = (gtensor){.nd = 4, .d = {x->d[0], conv ? w->d[0] : x->d[1], oh, ow}};
        return;
    }
    if (strcmp(op, "GlobalAveragePool") == 0 && x->nd == 4) {
        *o = (gtensor){.nd = 4, .d = {x->d[0], x->d[1], 1, 1}};
        return;
    }
    if (strcmp(op, "Gemm") == 0 && w && w->nd == 2 && x->nd == 2) {
        bool ta = attr_i(n, "transA", 0), tb = attr_i(n, "transB", 0);
        *o = (gtensor){.nd = 2, .d = {ta ? x->d[1] : x->d[0], tb ? w->d[0] : w->d[1]}};
        return;
    }
    if (strcmp(op, "MatMul") == 0 && w && w->nd >= 1 && x->nd >= 1 && x->nd + w->nd > 2) {
        /* numpy matmul; batch dims from the operand of higher rank */
        const gtensor *hi = x->nd >= w->nd ? x : w;
        int nd = hi->nd - (x->nd == 1 || w->nd == 1 ? 1 : 0);
        *o = (gtensor){.nd = nd};
        memcpy(o->d, hi->d, sizeof o->d);
        if (w->nd == 1)
            ;                      /* x [..., K] w [K]: x's dims without K */
        else if (x->nd == 1)
            o->d[nd - 1] = w->d[w->nd - 1];   /* [K] x [..., K, N]: [..., N] */
        else {
            o->d[nd - 2] = x->d[x->nd - 2];
            o->d[nd - 1] = w->d[w->nd - 1];
        }
        return;
    }
    if (strcmp(op, "Flatten") == 0) {
        int64_t a = attr_i(n, "axis", 1);
        if (a < 0)
            a += x->nd;
        if (a < 0 || a > x->nd)
            return;
        *o = (gtensor){.nd = 2, .d = {prod(x->d, 0, (int)a), prod(x->d, (int)a, x->nd)}};
        return;
    }
    if (strcmp(op, "Reshape") == 0) {
        int64_t v[G_RANK];
        int k = const_ints(w, v), neg = -1;
        if (k < 0)
            return;
        int64_t known = 1;
        for (int i = 0; i < k; i++) {
            if (v[i] == 0 && i < x->nd)
                v[i] = x->d[i];
            if (v[i] == -1)
                neg = i;
            else
                known *= v[i];
        }
        if (neg >= 0)
            v[neg] = known ? prod(x->d, 0, x->nd) / known : 0;
        *o = (gtensor){.nd = k};
        memcpy(o->d, v, (size_t)k * sizeof *v);
        return;
    }
    if (strcmp(op, "Pad") == 0) {
        int64_t p[2 * G_RANK];
        int k = -1;
        if (w && w->t)
            k = const_ints(w, p);   /* at most G_RANK values readable */
        const Onnx__AttributeProto *a = attr(n, "pads");
        if (a && a->n_ints == (size_t)(2 * x->nd) && a->n_ints <= 2 * G_RANK) {
            memcpy(p, a->ints, a->n_ints * sizeof *p);
            k = (int)a->n_ints;
        }
        if (k != 2 * x->nd)
            return;
        *o = (gtensor){.nd = x->nd};
        for (int i = 0; i < x->nd; i++)
            o->d[i] = x->d[i] + p[i] + p[i + x->nd];
        return;
    }
    if (strcmp(op, "Concat") == 0) {
        int64_t a = attr_i(n, "axis", 0);
        if (a < 0)
            a += x->nd;
        if (a < 0 || a >= x->nd)
            return;
        *o = (gtensor){.nd = x->nd};
        memcpy(o->d, x->d, sizeof o->d);
        for (size_t i = 1; i < n->n_input; i++) {
            gtensor *y = tfind(c, S(n->input[i]));
            if (!y || y->nd != x->nd) {
                o->nd = -1;
                return;
            }
            o->d[a] += y->d[a];
        }
    }
}

/* ------------------------------------------------------------------------ */

static cn_status add_tensor(gctx *c, const char *name, bool is_const, int producer,
                            gtensor **out)
{
    if (tfind(c, name))
        return cn_fail(c->err, CN_EPARSE, "%s: tensor '%s' is defined twice", c->path, name);
    if (c->nt == c->cap)
        return cn_fail(c->err, CN_EINTERNAL, "%s: tensor table full", c->path);
    gtensor *t = &c->t[c->nt++];
    *t = (gtensor){.name = name, .is_const = is_const, .producer = producer, .nd = -1};
    *out = t;
    return CN_OK;
}

static int cmp_nodes(const void *a, const void *b)
{
    const net_gnode *x = a, *y = b;
    if (x->depth != y->depth)
        return x->depth < y->depth ? -1 : 1;
    int k = strcmp(x->out, y->out);
    return k ? k : strcmp(x->name, y->name);
}

/* Depths by repeated relaxation (Kahn's order), shapes in that order. */
static cn_status order(gctx *c, net_graph *G)
{
    const Onnx__GraphProto *g = c->g;
    size_t nn = g->n_node;
    int *depth = cn_calloc(nn ? nn : 1, sizeof *depth);
    if (!depth)
        return cn_fail(c->err, CN_ENOMEM, "%s: out of memory", c->path);
    size_t done = 0;
    cn_status s = CN_OK;
    while (done < nn) {
        size_t before = done;
        for (size_t i = 0; i < nn; i++) {
            const Onnx__NodeProto *n = g->node[i];
            if (depth[i])
                continue;
            int d = 1;
            bool ready = true;
            for (size_t k = 0; k < n->n_input && ready; k++) {
                const char *nm = S(n->input[k]);
                if (!*nm)
                    continue;
                gtensor *t = tfind(c, nm);
                if (!t) {
                    s = cn_fail(c->err, CN_EPARSE,
                                "%s: node '%s' (%s): input '%s' is not defined by any "
                                "initializer, node or graph input", c->path, S(n->name),
                                S(n->op_type), nm);
                    goto out;
                }
                if (t->producer >= 0 && !depth[t->producer])
                    ready = false;
                else if (t->producer >= 0 && depth[t->producer] + 1 > d)
                    d = depth[t->producer] + 1;
            }
            if (!ready)
                continue;
            depth[i] = d;
            done++;
            for (size_t k = 0; k < n->n_output; k++) {
                gtensor *t = *S(n->output[k]) ? tfind(c, n->output[k]) : NULL;
                if (t && k == 0) {
                    gtensor o;
                    infer(c, n, &o);
                    t->nd = o.nd;
                    memcpy(t->d, o.d, sizeof t->d);
                }
            }
        }
        if (done == before) {
            s = cn_fail(c->err, CN_EPARSE, "%s: the graph has a cycle (or a node reads a "
                        "tensor that depends on itself)", c->path);
            goto out;
        }
    }
    size_t nin = 0;
    for (size_t i = 0; i < nn; i++)
        nin += g->node[i]->n_input;
    G->nodes = cn_calloc(nn ? nn : 1, sizeof *G->nodes);
    G->names = cn_calloc(nin ? nin : 1, sizeof *G->names);
    if (!G->nodes || !G->names) {
        s = cn_fail(c->err, CN_ENOMEM, "%s: out of memory", c->path);
        goto out;
    }
    size_t ni = 0;
    for (size_t i = 0; i < nn; i++) {
        const Onnx__NodeProto *n = g->node[i];
        net_gnode *v = &G->nodes[i];
        v->name = S(n->name);
        v->op = S(n->op_type);
        v->out = n->n_output ? S(n->output[0]) : "";
        v->depth = depth[i];
        v->in = &G->names[ni];
        for (size_t k = 0; k < n->n_input; k++) {
            const char *nm = S(n->input[k]);
            gtensor *t = *nm ? tfind(c, nm) : NULL;
            if (t && !t->is_const)
                G->names[ni + (size_t)v->n_in++] = nm;
            else if (t)
                v->n_const++;
        }
        ni += (size_t)v->n_in;
        gtensor *o = *v->out ? tfind(c, v->out) : NULL;
        v->nd = o ? o->nd : -1;
        for (int k = 0; k < v->nd; k++)
            v->dims[k] = o->d[k];
    }
    G->n = (int)nn;
    qsort(G->nodes, nn, sizeof *G->nodes, cmp_nodes);
out:
    cn_free(depth);
    return s;
}

static cn_status build(net_graph *G, const char *path, cn_err *err)
{
    const Onnx__GraphProto *g = G->m->graph;
    gctx c = {g, NULL, 0, 0, path, err};
    c.cap = g->n_initializer + g->n_input + 1;
    for (size_t i = 0; i < g->n_node; i++)
        c.cap += g->node[i]->n_output;
    c.t = cn_calloc(c.cap, sizeof *c.t);
    if (!c.t)
        return cn_fail(err, CN_ENOMEM, "%s: out of memory", path);
    cn_status s = CN_OK;
    gtensor *t;
    for (size_t i = 0; i < g->n_initializer && !s; i++)
        if (!(s = add_tensor(&c, S(g->initializer[i]->name), true, -1, &t)))
            tdims(t, g->initializer[i]);
    for (size_t i = 0; i < g->n_input && !s; i++) {
        const Onnx__ValueInfoProto *v = g->input[i];
        if (tfind(&c, S(v->name)))
            continue;              /* an initializer listed as input */
        if ((s = add_tensor(&c, S(v->name), false, -1, &t)))
            break;
        G->input = S(v->name);
        const Onnx__TypeProto *tp = v->type;
        const Onnx__TensorShapeProto *sh =
            tp && tp->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && tp->tensor_type ?
                tp->tensor_type->shape : NULL;
        if (sh && sh->n_dim <= G_RANK) {
            t->nd = (int)sh->n_dim;
            for (size_t k = 0; k < sh->n_dim; k++)
                t->d[k] = sh->dim[k]->value_case ==
                                  ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE ?
                              sh->dim[k]->dim_value : 1;
        }
    }
    for (size_t i = 0; i < g->n_node && !s; i++) {
        const Onnx__NodeProto *n = g->node[i];
        bool cst = strcmp(S(n->op_type), "Constant") == 0;
        for (size_t k = 0; k < n->n_output && !s; k++)
            if (*S(n->output[k]))
                s = add_tensor(&c, n->output[k], cst, cst ? -1 : (int)i, &t);
        if (!s && cst && n->n_output) {
            const Onnx__AttributeProto *a = attr(n, "value");
            if (a && a->t)
                tdims(tfind(&c, S(n->output[0])), a->t);
        }
    }
    if (!s)
        s = order(&c, G);
    cn_free(c.t);
    return s;
}

cn_status net_graph_load_mem(const unsigned char *data, size_t len, const char *name,
                             net_graph **out, cn_err *err)
{
    CN_REQUIRE(out && (data || !len), "output pointer and data");
    const char *path = name ? name : "<memory>";
    net_graph *G = cn_calloc(1, sizeof *G);
    if (!G)
        return cn_fail(err, CN_ENOMEM, "%s: out of memory", path);
    G->pa = (ProtobufCAllocator){pb_alloc, pb_free, NULL};
    G->input = "";
    G->m = len ? onnx__model_proto__unpack(&G->pa, len, data) : NULL;
    if (!G->m || !G->m->graph) {
        net_graph_free(G);
        return cn_fail(err, CN_EPARSE, "%s: not an ONNX model", path);
    }
    cn_status s = build(G, path, err);
    if (s) {
        net_graph_free(G);
        return s;
    }
    *out = G;
    return CN_OK;
}

cn_status net_graph_load(const char *path, net_graph **out, cn_err *err)
{
    CN_REQUIRE(path && out, "path and output pointer");
    unsigned char *data;
    size_t len;
    cn_status s = cn_read_input(path, &data, &len, NULL, err);
    if (s)
        return s;
    s = net_graph_load_mem(data, len, path, out, err);
    cn_free(data);
    return s;
}

int net_graph_n(const net_graph *g) { return g->n; }
const net_gnode *net_graph_node(const net_graph *g, int i)
{
    CN_REQUIRE(i >= 0 && i < g->n, "node index in range");
    return &g->nodes[i];
}
const char *net_graph_input(const net_graph *g) { return g->input; }

void net_graph_free(net_graph *g)
{
    if (!g)
        return;
    if (g->m)
        onnx__model_proto__free_unpacked(g->m, &g->pa);
    cn_free(g->nodes);
    cn_free(g->names);
    cn_free(g);
}

/* onnx_load.c — ONNX model (protobuf) to the network IR.
 *
 * The protobuf is decoded by the protobuf-c code generated from the system's
 * onnx.proto; the loader only interprets the decoded graph.  A chain (starting
 * from the one graph input that is not an initializer, every node takes the
 * previous node's output plus constants, initializers or Constant nodes, and
 * the last node's output is the graph output) is read node by node; a chain
 * of such nodes and residual blocks is lowered exactly by onnx_residual.c;
 * any other graph (Concat, Transpose, Slice, other joins, or one the residual
 * walk refuses: then the load is tried again that way) by onnx_dag.c.
 *
 * This file holds the messages, shapes, the constants table and tensor
 * decoding, the graph walk and the entry points; the reader's state (ld) is
 * described in onnx_int.h, the operators are read by onnx_ops.c and their
 * elementwise constants folded exactly by onnx_fold.c.
 *
 * Every tensor size is validated against its dims, element counts are
 * capped (MAX_ELEMS) and computed in 64 bits, and every message names the
 * file, the node (name or #index) and its op.
 */
#include "config.h"

#include <fenv.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "models/onnx_int.h"

/* ------------------------------------------------------------------------ */
/* Messages                                                                  */
/* ------------------------------------------------------------------------ */

/* Copies s into dst for a one-line message: control bytes become '?', long
 * names are cut. */
const char *net__onnx_clean(char *dst, size_t cap, const char *s)
{
    size_t i = 0;
    s = S(s);
    for (; s[i] && i + 4 < cap && i < 80; i++) {
        unsigned char ch = (unsigned char)s[i];
        dst[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
    }
    if (s[i])
        dst[i++] = '~';
    dst[i] = '\0';
    return dst;
}

const char *net__onnx_fmt_dims(char *buf, size_t cap, const int64_t *d, int nd)
{
    size_t k = 0;
    buf[k++] = '[';
    for (int i = 0; i < nd && k + 24 < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? "," : "", (long long)d[i]);
    snprintf(buf + k, cap - k, "]");
    return buf;
}

/* Fails naming the file and, when reading a node, the node and its op. */
cn_status net__onnx_fail(ld *L, cn_status st, const char *fmt, ...)
{
    char what[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (!L->node)
        return cn_fail(L->err, st, "%s: %s", L->path, what);
    char nm[96], op[96];
    const char *name = S(L->node->name);
    if (*name)
        return cn_fail(L->err, st, "%s: node '%s' (%s): %s", L->path,
                       net__onnx_clean(nm, sizeof nm, name),
                       net__onnx_clean(op, sizeof op, L->node->op_type), what);
    return cn_fail(L->err, st, "%s: node #%zu (%s): %s", L->path, L->node_idx,
                   net__onnx_clean(op, sizeof op, L->node->op_type), what);
}

cn_status net__onnx_nomem(ld *L) { return net__onnx_fail(L, CN_ENOMEM, "out of memory"); }

/* ------------------------------------------------------------------------ */
/* Shapes                                                                    */
/* ------------------------------------------------------------------------ */

/* Product of dims, each in [1, MAX_ELEMS] (0 allowed when allow0), total
 * capped.  Returns -1 on a bad dim, -2 on overflow of the cap. */
int64_t net__onnx_dims_prod(const int64_t *d, int nd, bool allow0)
{
    int64_t p = 1;
    for (int i = 0; i < nd; i++) {
        if (d[i] < (allow0 ? 0 : 1))
            return -1;
        if (d[i] > MAX_ELEMS)
            return -2;
        p *= d[i];
        if (p > MAX_ELEMS)
            return -2;
    }
    return p;
}

int net__onnx_cur_size(const ld *L) { return (int)net__onnx_dims_prod(L->dims, L->nd, false); }

/* ------------------------------------------------------------------------ */
/* Tensors and constants                                                     */
/* ------------------------------------------------------------------------ */

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static size_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)h;
}

cst *net__onnx_const_find(const ld *L, const char *name)
{
    if (!name || !*name || !L->ntab)
        return NULL;
    for (size_t h = hash_str(name) & (L->ntab - 1);; h = (h + 1) & (L->ntab - 1)) {
        size_t i = L->tab[h];
        if (i == SIZE_MAX)
            return NULL;
        if (strcmp(L->cs[i].name, name) == 0)
            return &L->cs[i];
    }
}

/* Adds a constant (the table has room: capacity is reserved up front). */
cn_status net__onnx_const_add(ld *L, const char *name, cst **out)
{
    char nm[96];
    if (!*S(name))
        return net__onnx_fail(L, CN_EPARSE, "constant without a name");
    if (net__onnx_const_find(L, name))
        return net__onnx_fail(L, CN_EPARSE, "constant '%s' defined twice",
                              net__onnx_clean(nm, sizeof nm, name));
    cst *k = &L->cs[L->ncs];
    memset(k, 0, sizeof *k);
    k->name = name;
    size_t h = hash_str(name) & (L->ntab - 1);
    while (L->tab[h] != SIZE_MAX)
        h = (h + 1) & (L->ntab - 1);
    L->tab[h] = L->ncs++;
    *out = k;
    return CN_OK;
}

cn_status net__onnx_tensor_dims(ld *L, cst *k, const Onnx__TensorProto *t)
{
    char nm[96];
    if (t->n_dims > MAX_RANK)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "tensor '%s' has rank %zu; at most %d supported",
                              net__onnx_clean(nm, sizeof nm, k->name), t->n_dims, MAX_RANK);
    k->nd = (int)t->n_dims;
    if (t->n_dims)
        memcpy(k->dims, t->dims, t->n_dims * sizeof *t->dims);
    return CN_OK;
}

/* Decodes k's tensor as float values (float32 or float64 tensor). */
static cn_status const_float(ld *L, cst *k)
{
    if (k->v)
        return CN_OK;
    char nm[96], b[128];
    net__onnx_clean(nm, sizeof nm, k->name);
    const Onnx__TensorProto *t = k->t;
    if (!t)
        return net__onnx_fail(L, CN_EPARSE, "constant '%s' is not a float tensor", nm);
    int64_t n = net__onnx_dims_prod(k->dims, k->nd, true);
    if (n < 0)
        return net__onnx_fail(L, n == -1 ? CN_EPARSE : CN_ELIMIT, "tensor '%s' has invalid dims %s",
                              nm, net__onnx_fmt_dims(b, sizeof b, k->dims, k->nd));
    if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return net__onnx_fail(L, CN_EUNSUPPORTED,
                              "tensor '%s' uses external data; embed the weights", nm);
    if (t->segment)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "tensor '%s' is segmented", nm);
    int dt = t->data_type;
    if (dt != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT && dt != ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE)
        return net__onnx_fail(L, CN_EUNSUPPORTED,
                              "tensor '%s' has data type %d; expected float32 (1) or float64 (11)",
                              nm, dt);
    bool f32 = dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    size_t typed = f32 ? t->n_float_data : t->n_double_data;
    size_t other = t->n_int32_data + t->n_int64_data + t->n_uint64_data + t->n_string_data +
                   (f32 ? t->n_double_data : t->n_float_data);
    bool raw = t->has_raw_data;
    if (other || (raw && typed))
        return net__onnx_fail(L, CN_EPARSE, "tensor '%s' stores its values in more than one field",
                              nm);
    size_t esz = f32 ? 4 : 8;
    if (raw && t->raw_data.len != (size_t)n * esz)
        return net__onnx_fail(L, CN_EPARSE,
                              "tensor '%s': raw_data has %zu bytes; dims %s of %s need %zu", nm,
                              t->raw_data.len, net__onnx_fmt_dims(b, sizeof b, k->dims, k->nd),
                              f32 ? "float32" : "float64", (size_t)n * esz);
    if (!raw && typed != (size_t)n)
        return net__onnx_fail(L, CN_EPARSE,
                              "tensor '%s': %s_data has %zu values; dims %s need %lld", nm,
                              f32 ? "float" : "double", typed,
                              net__onnx_fmt_dims(b, sizeof b, k->dims, k->nd), (long long)n);
    double *v = cn_mallocarray((size_t)n, sizeof *v);
    if (!v)
        return net__onnx_nomem(L);
    for (size_t i = 0; i < (size_t)n; i++) {
        double d;
        if (raw && f32) {
            uint32_t u = rd32(t->raw_data.data + 4 * i);
            float f;
            memcpy(&f, &u, 4);
            d = f;
        } else if (raw) {
            uint64_t u = rd64(t->raw_data.data + 8 * i);
            memcpy(&d, &u, 8);
        } else {
            d = f32 ? (double)t->float_data[i] : t->double_data[i];
        }
        if (!isfinite(d)) {
            cn_free(v);
            return net__onnx_fail(L, CN_EPARSE, "tensor '%s': value %zu is not finite", nm, i);
        }
        v[i] = d;
    }
    k->v = v;
    k->n = (size_t)n;
    return CN_OK;
}

/* Decodes k's tensor as int64 values (shape tensors). */
cn_status net__onnx_const_int64(ld *L, cst *k)
{
    if (k->iv)
        return CN_OK;
    char nm[96], b[128];
    net__onnx_clean(nm, sizeof nm, k->name);
    const Onnx__TensorProto *t = k->t;
    if (!t || t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__INT64)
        return net__onnx_fail(L, CN_EPARSE, "constant '%s' is not an int64 tensor", nm);
    int64_t n = net__onnx_dims_prod(k->dims, k->nd, true);
    if (n < 0 || n > MAX_RANK)
        return net__onnx_fail(L, CN_EPARSE,
                              "shape tensor '%s' has dims %s; expected at most %d values", nm,
                              net__onnx_fmt_dims(b, sizeof b, k->dims, k->nd), MAX_RANK);
    if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "tensor '%s' uses external data", nm);
    bool raw = t->has_raw_data;
    if (raw ? (t->raw_data.len != (size_t)n * 8 || t->n_int64_data)
            : t->n_int64_data != (size_t)n)
        return net__onnx_fail(L, CN_EPARSE, "shape tensor '%s': data size does not match dims %s",
                              nm, net__onnx_fmt_dims(b, sizeof b, k->dims, k->nd));
    int64_t *v = cn_mallocarray((size_t)n, sizeof *v);
    if (!v)
        return net__onnx_nomem(L);
    for (size_t i = 0; i < (size_t)n; i++)
        v[i] = raw ? (int64_t)rd64(t->raw_data.data + 8 * i) : t->int64_data[i];
    k->iv = v;
    k->n = (size_t)n;
    return CN_OK;
}

/* The constant named by input i of the current node, decoded as float. */
cn_status net__onnx_node_const(ld *L, size_t i, const char *what, cst **out)
{
    char nm[96];
    const char *name = L->node->input[i];
    cst *k = net__onnx_const_find(L, name);
    if (!k)
        return net__onnx_fail(L, CN_EPARSE, "%s '%s' is not an initializer or Constant", what,
                              net__onnx_clean(nm, sizeof nm, name));
    cn_status s = const_float(L, k);
    if (s)
        return s;
    *out = k;
    return CN_OK;
}

/* ------------------------------------------------------------------------ */
/* Graph                                                                     */
/* ------------------------------------------------------------------------ */

/* Declared shape of a value (dim_param and unknown dims read as 1). */
static cn_status value_dims(ld *L, const Onnx__ValueInfoProto *v, int64_t *d, int *nd,
                            bool *has)
{
    char nm[96], b[128];
    *has = false;
    const Onnx__TypeProto *t = v->type;
    if (!t || t->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !t->tensor_type)
        return CN_OK;
    const Onnx__TypeProto__Tensor *tt = t->tensor_type;
    if (tt->has_elem_type && tt->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT &&
        tt->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE &&
        tt->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__UNDEFINED)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "tensor '%s' has element type %d; expected float",
                              net__onnx_clean(nm, sizeof nm, v->name), tt->elem_type);
    if (!tt->shape)
        return CN_OK;
    if (tt->shape->n_dim > MAX_RANK)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "tensor '%s' has rank %zu; at most %d supported",
                              net__onnx_clean(nm, sizeof nm, v->name), tt->shape->n_dim, MAX_RANK);
    for (size_t i = 0; i < tt->shape->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *dm = tt->shape->dim[i];
        d[i] = dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE ?
                   dm->dim_value : 1;
    }
    *nd = (int)tt->shape->n_dim;
    *has = true;
    int64_t p = net__onnx_dims_prod(d, *nd, false);
    if (p < 0)
        return net__onnx_fail(
            L, p == -1 ? CN_EPARSE : CN_ELIMIT, "tensor '%s' has an invalid shape %s",
            net__onnx_clean(nm, sizeof nm, v->name), net__onnx_fmt_dims(b, sizeof b, d, *nd));
    return CN_OK;
}

/* The net's input shape: [1, c, h, w] -> (c,h,w), anything else -> (n,1,1). */
static net_shape in_shape_of(const int64_t *d, int nd)
{
    if (nd >= 2 && d[0] == 1) {
        d++;
        nd--;
    }
    if (nd == 3)
        return (net_shape){(int)d[0], (int)d[1], (int)d[2]};
    return (net_shape){(int)net__onnx_dims_prod(d, nd, false), 1, 1};
}

static cn_status read_graph(ld *L, const unsigned char *data, size_t len, net **out)
{
    const Onnx__GraphProto *g = L->g;
    char nm[96], b1[128];
    cn_status s;
    size_t nconst = g->n_initializer;
    for (size_t i = 0; i < g->n_node; i++)
        if (strcmp(S(g->node[i]->op_type), "Constant") == 0)
            nconst++;
        else if (strcmp(S(g->node[i]->op_type), "Add") == 0)
            nconst += NET__ONNX_RES_CONSTS;
    L->capcs = nconst;
    for (L->ntab = 16; L->ntab < 2 * nconst; L->ntab *= 2)
        ;
    L->cs = cn_mallocarray(nconst ? nconst : 1, sizeof *L->cs);
    L->tab = cn_mallocarray(L->ntab, sizeof *L->tab);
    if (!L->cs || !L->tab)
        return net__onnx_nomem(L);
    for (size_t i = 0; i < L->ntab; i++)
        L->tab[i] = SIZE_MAX;
    for (size_t i = 0; i < g->n_initializer; i++) {
        cst *k;
        if ((s = net__onnx_const_add(L, g->initializer[i]->name, &k)))
            return s;
        k->t = g->initializer[i];
        if ((s = net__onnx_tensor_dims(L, k, k->t)))
            return s;
    }
    if (g->n_sparse_initializer)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "sparse initializers are not supported");
    /* the one graph input that is not an initializer */
    const Onnx__ValueInfoProto *in = NULL;
    size_t n_real = 0;
    for (size_t i = 0; i < g->n_input; i++)
        if (!net__onnx_const_find(L, g->input[i]->name)) {
            n_real++;
            in = g->input[i];
        }
    if (n_real != 1)
        return net__onnx_fail(L, CN_EUNSUPPORTED,
                              "graph has %zu inputs that are not initializers; expected exactly 1",
                              n_real);
    if (!*S(in->name))
        return net__onnx_fail(L, CN_EPARSE, "graph input has no name");
    bool has;
    if ((s = value_dims(L, in, L->dims, &L->nd, &has)))
        return s;
    if (!has)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "graph input '%s' has no declared tensor shape",
                              net__onnx_clean(nm, sizeof nm, in->name));
    if (L->nd == 0) {
        L->nd = 1;
        L->dims[0] = 1;
    }
    if (g->n_output != 1)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "graph has %zu outputs; expected exactly 1",
                              g->n_output);
    const Onnx__ValueInfoProto *gout = g->output[0];
    int64_t in_d[MAX_RANK];
    int in_nd = L->nd;
    memcpy(in_d, L->dims, sizeof in_d);
    L->cur = in->name;
    L->n = net_new(in_shape_of(L->dims, L->nd));
    if (!L->n)
        return net__onnx_nomem(L);
    if (L->dag || net__onnx_dag_wanted(L)) { /* any DAG: onnx_dag.c */
        if ((s = net__onnx_dag(L)))
            return s;
    } else if (net__onnx_graph_forks(L)) {  /* residual blocks: onnx_residual.c */
        L->walked = true;
        if ((s = net__onnx_walk(L)))
            return s;
    } else {
        for (L->node_idx = 0; L->node_idx < g->n_node; L->node_idx++) {
            L->node = g->node[L->node_idx];
            if ((s = net__onnx_read_node(L)))
                return s;
        }
    }
    L->node = NULL;
    if ((s = net__onnx_flush(L)) || (s = net__onnx_materialize(L)))
        return s;
    if (strcmp(S(gout->name), L->cur) != 0)
        return net__onnx_fail(
            L, CN_EUNSUPPORTED,
            "graph output '%s' is not the end of the layer chain (which ends at '%s')",
            net__onnx_clean(nm, sizeof nm, gout->name), net__onnx_clean(b1, sizeof b1, L->cur));
    if (L->n->n_layers == 0)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "graph has no layers");
    int64_t od[MAX_RANK];
    int ond;
    if ((s = value_dims(L, gout, od, &ond, &has)))
        return s;
    if (!has) {
        memcpy(od, L->dims, sizeof od);
        ond = L->nd;
    }
    if (net__onnx_dims_prod(od, ond, false) != net_out_size(L->n))
        return net__onnx_fail(L, CN_EPARSE,
                              "graph output '%s' declared as %s but the layers give %d values",
                              net__onnx_clean(nm, sizeof nm, gout->name),
                              net__onnx_fmt_dims(b1, sizeof b1, od, ond), net_out_size(L->n));
    net *n = L->n;
    n->softmax_out = L->softmax;
    if ((s = net__set_names(n, L->path, in->name, gout->name, L->err)))
        return s;
    n->format = NET_FMT_ONNX;
    cn_sha256_hex(data, len, n->sha256);
    n->n_in_dims = in_nd;
    for (int i = 0; i < in_nd; i++)
        n->in_dims[i] = (int)in_d[i];
    n->n_out_dims = ond;
    for (int i = 0; i < ond; i++)
        n->out_dims[i] = (int)od[i];
    n->fold_exact = L->exact;
    n->folded = L->folded;
    *out = n;
    L->n = NULL;
    return CN_OK;
}

/* protobuf-c allocations go through cn_malloc (fault injection, leak
 * accounting); a failed allocation is remembered so that a NULL from unpack
 * can be told apart from malformed bytes. */
typedef struct {
    bool failed;
} pb_alloc_state;

static void *pb_alloc(void *st, size_t n)
{
    void *p = cn_malloc(n);
    if (!p)
        ((pb_alloc_state *)st)->failed = true;
    return p;
}

static void pb_free(void *st, void *p)
{
    (void)st;
    cn_free(p);
}

/* read_graph with L's scratch, and everything it built freed (*out kept). */
static cn_status load_graph(ld *L, const unsigned char *data, size_t len, net **out)
{
    mpq_init(L->t1);
    mpq_init(L->t2);
    mpq_init(L->t3);
    /* the error-free checks of folded values need round-to-nearest */
    int saved = cn_round_push(FE_TONEAREST);
    cn_status s = read_graph(L, data, len, out);
    cn_round_pop(saved);
    mpq_clear(L->t1);
    mpq_clear(L->t2);
    mpq_clear(L->t3);
    net__onnx_fold_clear(L);
    net__onnx_res_free(L);
    net_free(L->n);
    L->n = NULL;
    for (size_t i = 0; i < L->ncs; i++) {
        cn_free(L->cs[i].v);
        cn_free(L->cs[i].iv);
    }
    cn_free(L->cs);
    cn_free(L->tab);
    return s;
}

cn_status net_load_onnx_mem(const unsigned char *data, size_t len, const char *name, net **out,
                            cn_err *err)
{
    CN_REQUIRE(out && (data || !len), "output pointer and data");
    ld L;
    memset(&L, 0, sizeof L);
    L.path = name ? name : "<memory>";
    L.err = err;
    L.exact = true;
    cn_status s;
    if (len == 0)
        return cn_fail(err, CN_EPARSE, "%s: empty file; expected an ONNX model", L.path);
    pb_alloc_state st = {false};
    ProtobufCAllocator pa = {pb_alloc, pb_free, &st};
    Onnx__ModelProto *m = onnx__model_proto__unpack(&pa, len, data);
    if (!m) {
        if (st.failed)
            return cn_fail(err, CN_ENOMEM, "%s: out of memory decoding the ONNX protobuf", L.path);
        return cn_fail(err, CN_EPARSE,
                       "%s: not an ONNX model (protobuf decoding failed: truncated or corrupt)",
                       L.path);
    }
    if (!m->graph) {
        onnx__model_proto__free_unpacked(m, &pa);
        return cn_fail(err, CN_EPARSE, "%s: not an ONNX model (no graph)", L.path);
    }
    L.g = m->graph;
    s = load_graph(&L, data, len, out);
    if (s == CN_EUNSUPPORTED && L.walked) {
        /* the residual walk refused the graph: read it as a general DAG */
        memset(&L, 0, sizeof L);
        L.path = name ? name : "<memory>";
        L.err = err;
        L.exact = true;
        L.g = m->graph;
        L.dag = true;
        s = load_graph(&L, data, len, out);
    }
    onnx__model_proto__free_unpacked(m, &pa);
    return s;
}

cn_status net_load_onnx(const char *path, net **out, cn_err *err)
{
    CN_REQUIRE(path && out, "path and output pointer");
    unsigned char *data;
    size_t len;
    char sha[65];
    cn_status s = cn_read_input(path, &data, &len, sha, err);
    if (s)
        return s;
    s = net_load_onnx_mem(data, len, path, out, err);
    cn_free(data);
    if (s == CN_OK)               /* the file's hash, also when it was gzipped */
        memcpy((*out)->sha256, sha, sizeof sha);
    return s;
}

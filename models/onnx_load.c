/* onnx_load.c — ONNX model (protobuf) to the network IR.
 *
 * The protobuf is decoded by the protobuf-c code generated from the system's
 * onnx.proto; this file only interprets the decoded graph.  The graph must be
 * a chain: starting from the one graph input that is not an initializer,
 * every node takes the previous node's output plus constants (initializers
 * or Constant nodes) and the last node's output is the graph output.
 *
 * The chain is read left to right with a small amount of state:
 *
 *   cur, dims      the current tensor's name and ONNX shape;
 *   pend           an affine layer being assembled (MatMul/Gemm/Conv), not
 *                  yet appended to the net;
 *   e              a pending elementwise affine map  x -> a ⊙ x + c  kept in
 *                  exact rationals (Add/Sub/Mul/Div by constants, folded
 *                  BatchNormalization).  When pend exists e applies to its
 *                  output (a bias, a scale); otherwise e applies to the
 *                  current tensor and is folded into the *next* affine layer
 *                  (input normalisation).
 *
 * Folding computes every new weight and bias exactly (mpq) from the stored
 * doubles and rounds it once to the nearest double; net->fold_exact becomes
 * false when some rounding was inexact (models.h, "Exactness").  A ReLU or
 * the end of the graph appends the pending layer.
 *
 * A shift (c != 0) cannot be moved through the zero padding of a following
 * Conv (the padded border would see -c instead of 0), so that case is
 * refused rather than misread.
 *
 * Every tensor size is validated against its dims, element counts are
 * capped (MAX_ELEMS) and computed in 64 bits, and every message names the
 * file, the node (name or #index) and its op.
 */
#include "config.h"

#include <fenv.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "models/models_int.h"
#include "models/onnx.pb-c.h"

enum {
    MAX_RANK = 8,
    MAX_DIAG = 1024,               /* largest explicit diagonal layer */
    MAX_CONV_PARAM = 1 << 16,      /* strides and pads */
    MAX_ELEMWISE = 1 << 20         /* values under one elementwise (folded) op */
};
#define MAX_ELEMS ((int64_t)1 << 27)

/* ------------------------------------------------------------------------ */
/* State                                                                     */
/* ------------------------------------------------------------------------ */

/* A constant tensor: an initializer or a Constant node's output. */
typedef struct {
    const char *name;                       /* borrowed from the model */
    const Onnx__TensorProto *t;             /* source, or NULL (value_float...) */
    int nd;
    int64_t dims[MAX_RANK];
    size_t n;                               /* elements, once decoded */
    double *v;                              /* owned: float values, or NULL */
    int64_t *iv;                            /* owned: int64 values, or NULL */
} cst;

/* Elementwise exact affine map x -> a ⊙ x + c over n elements. */
typedef struct {
    int n;
    mpq_t *a, *c;                           /* [n] */
} elem;

/* An affine layer being assembled (IR layout). */
typedef struct {
    net_op op;                              /* 0: none */
    int in, out;
    double *W, *b;                          /* owned */
    int kh, kw, sh, sw, pt, pl, pb, pr;     /* CONV */
    net_shape ishape, oshape;
    bool has_bias;                          /* a bias was already added */
} pend;

typedef struct {
    const char *path;
    cn_err *err;
    const Onnx__GraphProto *g;
    /* constants: hash table of indices into cs (open addressing) */
    cst *cs;
    size_t ncs, capcs;
    size_t *tab;                            /* [ntab], SIZE_MAX: empty */
    size_t ntab;
    /* chain */
    const char *cur;
    int nd;
    int64_t dims[MAX_RANK];
    net *n;
    pend p;
    elem e;
    bool has_e;
    bool exact;
    int folded;
    /* node being read, for messages */
    const Onnx__NodeProto *node;
    size_t node_idx;
    mpq_t t1, t2, t3;                       /* scratch */
} ld;

static const char *S(const char *s) { return s ? s : ""; }

/* Copies s into dst for a one-line message: control bytes become '?', long
 * names are cut. */
static const char *clean(char *dst, size_t cap, const char *s)
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

static const char *fmt_dims(char *buf, size_t cap, const int64_t *d, int nd)
{
    size_t k = 0;
    buf[k++] = '[';
    for (int i = 0; i < nd && k + 24 < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? "," : "", (long long)d[i]);
    snprintf(buf + k, cap - k, "]");
    return buf;
}

/* Fails naming the file and, when reading a node, the node and its op. */
CN_PRINTF(3, 4)
static cn_status lfail(ld *L, cn_status st, const char *fmt, ...)
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
        return cn_fail(L->err, st, "%s: node '%s' (%s): %s", L->path, clean(nm, sizeof nm, name),
                       clean(op, sizeof op, L->node->op_type), what);
    return cn_fail(L->err, st, "%s: node #%zu (%s): %s", L->path, L->node_idx,
                   clean(op, sizeof op, L->node->op_type), what);
}

static cn_status nomem(ld *L) { return lfail(L, CN_ENOMEM, "out of memory"); }

/* ------------------------------------------------------------------------ */
/* Shapes                                                                    */
/* ------------------------------------------------------------------------ */

/* Product of dims, each in [1, MAX_ELEMS] (0 allowed when allow0), total
 * capped.  Returns -1 on a bad dim, -2 on overflow of the cap. */
static int64_t dims_prod(const int64_t *d, int nd, bool allow0)
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

static int cur_size(const ld *L) { return (int)dims_prod(L->dims, L->nd, false); }

static cn_status set_dims(ld *L, const int64_t *d, int nd)
{
    if (nd > MAX_RANK)
        return lfail(L, CN_EUNSUPPORTED, "result has rank %d; at most %d supported", nd, MAX_RANK);
    int64_t p = dims_prod(d, nd, false);
    char b[128];
    if (p < 0)
        return lfail(L, CN_EPARSE, "invalid result shape %s", fmt_dims(b, sizeof b, d, nd));
    if (p != cur_size(L))
        return lfail(L, CN_EPARSE, "result shape %s has %lld elements, input has %d",
                     fmt_dims(b, sizeof b, d, nd), (long long)p, cur_size(L));
    memmove(L->dims, d, (size_t)nd * sizeof *d);
    L->nd = nd;
    return CN_OK;
}

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

static cst *const_find(const ld *L, const char *name)
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
static cn_status const_add(ld *L, const char *name, cst **out)
{
    char nm[96];
    if (!*S(name))
        return lfail(L, CN_EPARSE, "constant without a name");
    if (const_find(L, name))
        return lfail(L, CN_EPARSE, "constant '%s' defined twice", clean(nm, sizeof nm, name));
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

static cn_status tensor_dims(ld *L, cst *k, const Onnx__TensorProto *t)
{
    char nm[96];
    if (t->n_dims > MAX_RANK)
        return lfail(L, CN_EUNSUPPORTED, "tensor '%s' has rank %zu; at most %d supported",
                     clean(nm, sizeof nm, k->name), t->n_dims, MAX_RANK);
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
    clean(nm, sizeof nm, k->name);
    const Onnx__TensorProto *t = k->t;
    if (!t)
        return lfail(L, CN_EPARSE, "constant '%s' is not a float tensor", nm);
    int64_t n = dims_prod(k->dims, k->nd, true);
    if (n < 0)
        return lfail(L, n == -1 ? CN_EPARSE : CN_ELIMIT, "tensor '%s' has invalid dims %s", nm,
                     fmt_dims(b, sizeof b, k->dims, k->nd));
    if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return lfail(L, CN_EUNSUPPORTED, "tensor '%s' uses external data; embed the weights", nm);
    if (t->segment)
        return lfail(L, CN_EUNSUPPORTED, "tensor '%s' is segmented", nm);
    int dt = t->data_type;
    if (dt != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT && dt != ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE)
        return lfail(L, CN_EUNSUPPORTED,
                     "tensor '%s' has data type %d; expected float32 (1) or float64 (11)", nm, dt);
    bool f32 = dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    size_t typed = f32 ? t->n_float_data : t->n_double_data;
    size_t other = t->n_int32_data + t->n_int64_data + t->n_uint64_data + t->n_string_data +
                   (f32 ? t->n_double_data : t->n_float_data);
    bool raw = t->has_raw_data;
    if (other || (raw && typed))
        return lfail(L, CN_EPARSE, "tensor '%s' stores its values in more than one field", nm);
    size_t esz = f32 ? 4 : 8;
    if (raw && t->raw_data.len != (size_t)n * esz)
        return lfail(L, CN_EPARSE,
                     "tensor '%s': raw_data has %zu bytes; dims %s of %s need %zu", nm,
                     t->raw_data.len, fmt_dims(b, sizeof b, k->dims, k->nd),
                     f32 ? "float32" : "float64", (size_t)n * esz);
    if (!raw && typed != (size_t)n)
        return lfail(L, CN_EPARSE, "tensor '%s': %s_data has %zu values; dims %s need %lld", nm,
                     f32 ? "float" : "double", typed, fmt_dims(b, sizeof b, k->dims, k->nd),
                     (long long)n);
    double *v = cn_mallocarray((size_t)n, sizeof *v);
    if (!v)
        return nomem(L);
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
            return lfail(L, CN_EPARSE, "tensor '%s': value %zu is not finite", nm, i);
        }
        v[i] = d;
    }
    k->v = v;
    k->n = (size_t)n;
    return CN_OK;
}

/* Decodes k's tensor as int64 values (shape tensors). */
static cn_status const_int64(ld *L, cst *k)
{
    if (k->iv)
        return CN_OK;
    char nm[96], b[128];
    clean(nm, sizeof nm, k->name);
    const Onnx__TensorProto *t = k->t;
    if (!t || t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__INT64)
        return lfail(L, CN_EPARSE, "constant '%s' is not an int64 tensor", nm);
    int64_t n = dims_prod(k->dims, k->nd, true);
    if (n < 0 || n > MAX_RANK)
        return lfail(L, CN_EPARSE, "shape tensor '%s' has dims %s; expected at most %d values",
                     nm, fmt_dims(b, sizeof b, k->dims, k->nd), MAX_RANK);
    if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return lfail(L, CN_EUNSUPPORTED, "tensor '%s' uses external data", nm);
    bool raw = t->has_raw_data;
    if (raw ? (t->raw_data.len != (size_t)n * 8 || t->n_int64_data)
            : t->n_int64_data != (size_t)n)
        return lfail(L, CN_EPARSE, "shape tensor '%s': data size does not match dims %s", nm,
                     fmt_dims(b, sizeof b, k->dims, k->nd));
    int64_t *v = cn_mallocarray((size_t)n, sizeof *v);
    if (!v)
        return nomem(L);
    for (size_t i = 0; i < (size_t)n; i++)
        v[i] = raw ? (int64_t)rd64(t->raw_data.data + 8 * i) : t->int64_data[i];
    k->iv = v;
    k->n = (size_t)n;
    return CN_OK;
}

/* The constant named by input i of the current node, decoded as float. */
static cn_status node_const(ld *L, size_t i, const char *what, cst **out)
{
    char nm[96];
    const char *name = L->node->input[i];
    cst *k = const_find(L, name);
    if (!k)
        return lfail(L, CN_EPARSE, "%s '%s' is not an initializer or Constant",
                     what, clean(nm, sizeof nm, name));
    cn_status s = const_float(L, k);
    if (s)
        return s;
    *out = k;
    return CN_OK;
}

/* ------------------------------------------------------------------------ */
/* Attributes                                                                */
/* ------------------------------------------------------------------------ */

static const Onnx__AttributeProto *attr(const ld *L, const char *name)
{
    for (size_t i = 0; i < L->node->n_attribute; i++)
        if (strcmp(S(L->node->attribute[i]->name), name) == 0)
            return L->node->attribute[i];
    return NULL;
}

/* Refuses attributes not in the NULL-terminated list: an unknown attribute
 * might change the op's meaning. */
static cn_status attrs_known(ld *L, const char *const *known)
{
    char nm[96];
    for (size_t i = 0; i < L->node->n_attribute; i++) {
        const char *a = S(L->node->attribute[i]->name);
        bool ok = false;
        for (const char *const *k = known; *k; k++)
            ok = ok || strcmp(*k, a) == 0;
        if (!ok)
            return lfail(L, CN_EUNSUPPORTED, "unsupported attribute '%s'", clean(nm, sizeof nm, a));
    }
    return CN_OK;
}

static bool attr_is(const Onnx__AttributeProto *a, Onnx__AttributeProto__AttributeType t,
                    bool has)
{
    return a->type == t || (a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED && has);
}

static cn_status attr_int(ld *L, const char *name, int64_t dflt, int64_t *out)
{
    const Onnx__AttributeProto *a = attr(L, name);
    if (!a) {
        *out = dflt;
        return CN_OK;
    }
    if (!attr_is(a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT, a->has_i))
        return lfail(L, CN_EPARSE, "attribute '%s' must be an int", name);
    *out = a->i;
    return CN_OK;
}

static cn_status attr_float(ld *L, const char *name, double dflt, double *out)
{
    const Onnx__AttributeProto *a = attr(L, name);
    if (!a) {
        *out = dflt;
        return CN_OK;
    }
    if (!attr_is(a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT, a->has_f) || !isfinite(a->f))
        return lfail(L, CN_EPARSE, "attribute '%s' must be a finite float", name);
    *out = a->f;
    return CN_OK;
}

/* Ints attribute of exactly n values (absent: *present = false). */
static cn_status attr_ints(ld *L, const char *name, size_t n, int64_t *out, bool *present)
{
    const Onnx__AttributeProto *a = attr(L, name);
    *present = a != NULL;
    if (!a)
        return CN_OK;
    if (!attr_is(a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS, a->n_ints > 0))
        return lfail(L, CN_EPARSE, "attribute '%s' must be a list of ints", name);
    if (a->n_ints != n)
        return lfail(L, CN_EUNSUPPORTED, "attribute '%s' has %zu values; expected %zu (2-D)",
                     name, a->n_ints, n);
    memcpy(out, a->ints, n * sizeof *out);
    return CN_OK;
}

/* ------------------------------------------------------------------------ */
/* Exact folding                                                             */
/* ------------------------------------------------------------------------ */

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
    return lfail(L, CN_EUNSUPPORTED, "a folded weight overflows the double range");
}

static void elem_clear(elem *e)
{
    if (e->a)
        for (int i = 0; i < e->n; i++)
            mpq_clear(e->a[i]);
    if (e->c)
        for (int i = 0; i < e->n; i++)
            mpq_clear(e->c[i]);
    cn_free(e->a);
    cn_free(e->c);
    memset(e, 0, sizeof *e);
}

static void drop_e(ld *L)
{
    elem_clear(&L->e);
    L->has_e = false;
}

/* Makes sure L->e exists for the current tensor (identity when new). */
static cn_status need_e(ld *L)
{
    if (L->has_e)
        return CN_OK;
    int n = cur_size(L);
    if (n > MAX_ELEMWISE)
        return lfail(L, CN_ELIMIT, "elementwise operation on %d values; at most %d supported", n,
                     MAX_ELEMWISE);
    L->e.a = cn_mallocarray((size_t)n, sizeof(mpq_t));
    L->e.c = cn_mallocarray((size_t)n, sizeof(mpq_t));
    if (!L->e.a || !L->e.c) {
        cn_free(L->e.a);
        cn_free(L->e.c);
        L->e.a = L->e.c = NULL;
        return nomem(L);
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

static bool q_is_one(const mpq_t q) { return mpq_cmp_ui(q, 1, 1) == 0; }

/* Is e the same for every element of each channel (ch channels, sp elements
 * each)?  Then entry ch*sp is the channel's value. */
static bool per_channel(const elem *e, int ch, int sp)
{
    for (int c = 0; c < ch; c++)
        for (int i = 1; i < sp; i++)
            if (!mpq_equal(e->a[c * sp], e->a[c * sp + i]) ||
                !mpq_equal(e->c[c * sp], e->c[c * sp + i]))
                return false;
    return true;
}

/* w <- round(w * a) */
static cn_status scale_d(ld *L, double *w, const mpq_t a)
{
    mpq_set_d(L->t3, *w);
    mpq_mul(L->t3, L->t3, a);
    return round_q(L, L->t3, w);
}

/* Folds L->e applied to the pending layer's output: y' = a ⊙ (W x + b) + c. */
static cn_status fold_post(ld *L)
{
    pend *p = &L->p;
    elem *e = &L->e;
    cn_status s;
    int groups = p->op == NET_CONV ? p->oshape.c : p->out;
    int sp = p->op == NET_CONV ? p->oshape.h * p->oshape.w : 1;
    int per = p->op == NET_CONV ? p->in / (p->ishape.h * p->ishape.w) * p->kh * p->kw : p->in;
    if (p->op == NET_CONV && !per_channel(e, groups, sp))
        return lfail(L, CN_EUNSUPPORTED,
                     "an elementwise constant after a Conv varies within a channel; only "
                     "per-channel constants can be folded");
    for (int o = 0; o < groups; o++) {
        const mpq_t *a = &e->a[o * sp], *c = &e->c[o * sp];
        if (!q_is_one(*a))
            for (int k = 0; k < per; k++)
                if ((s = scale_d(L, &p->W[(size_t)o * per + k], *a)))
                    return s;
        mpq_set_d(L->t3, p->b[o]);
        mpq_mul(L->t3, L->t3, *a);
        mpq_add(L->t3, L->t3, *c);
        if ((s = round_q(L, L->t3, &p->b[o])))
            return s;
    }
    drop_e(L);
    return CN_OK;
}

/* Folds L->e applied to the new layer's input: W (a ⊙ x + c) + b. */
static cn_status fold_pre(ld *L, pend *p)
{
    elem *e = &L->e;
    cn_status s;
    bool shift = false;
    for (int k = 0; k < e->n && !shift; k++)
        shift = mpq_sgn(e->c[k]) != 0;
    if (p->op == NET_DENSE) {
        mpq_t acc;
        mpq_init(acc);
        for (int o = 0; o < p->out && shift; o++) {
            const double *row = p->W + (size_t)o * p->in;
            mpq_set_d(acc, p->b[o]);
            for (int k = 0; k < p->in; k++) {
                if (row[k] == 0.0 || mpq_sgn(e->c[k]) == 0)
                    continue;
                mpq_set_d(L->t3, row[k]);
                mpq_mul(L->t3, L->t3, e->c[k]);
                mpq_add(acc, acc, L->t3);
            }
            if ((s = round_q(L, acc, &p->b[o]))) {
                mpq_clear(acc);
                return s;
            }
        }
        mpq_clear(acc);
        for (int k = 0; k < p->in; k++)
            if (!q_is_one(e->a[k]))
                for (int o = 0; o < p->out; o++)
                    if ((s = scale_d(L, &p->W[(size_t)o * p->in + k], e->a[k])))
                        return s;
    } else {
        int cin = p->ishape.c, sp = p->ishape.h * p->ishape.w, cout = p->oshape.c;
        int ksz = p->kh * p->kw;
        if (!per_channel(e, cin, sp))
            return lfail(L, CN_EUNSUPPORTED,
                         "a preceding elementwise constant varies within a channel; only "
                         "per-channel normalisation can be folded into a Conv");
        if (shift && (p->pt || p->pl || p->pb || p->pr))
            return lfail(L, CN_EUNSUPPORTED,
                         "cannot fold the preceding input shift (Sub/Add/BatchNormalization) "
                         "into a zero-padded Conv: the padded border would change; use pads 0 "
                         "or remove the shift");
        mpq_t acc;
        mpq_init(acc);
        for (int o = 0; o < cout && shift; o++) {
            mpq_set_d(acc, p->b[o]);
            for (int ci = 0; ci < cin; ci++)
                for (int k = 0; k < ksz; k++) {
                    double w = p->W[((size_t)o * cin + ci) * ksz + k];
                    if (w == 0.0 || mpq_sgn(e->c[ci * sp]) == 0)
                        continue;
                    mpq_set_d(L->t3, w);
                    mpq_mul(L->t3, L->t3, e->c[ci * sp]);
                    mpq_add(acc, acc, L->t3);
                }
            if ((s = round_q(L, acc, &p->b[o]))) {
                mpq_clear(acc);
                return s;
            }
        }
        mpq_clear(acc);
        for (int ci = 0; ci < cin; ci++)
            if (!q_is_one(e->a[ci * sp]))
                for (int o = 0; o < cout; o++)
                    for (int k = 0; k < ksz; k++)
                        if ((s = scale_d(L, &p->W[((size_t)o * cin + ci) * ksz + k],
                                         e->a[ci * sp])))
                            return s;
    }
    drop_e(L);
    return CN_OK;
}

static void pend_clear(pend *p)
{
    cn_free(p->W);
    cn_free(p->b);
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
        if (l->op == NET_RELU) {
            l->in_shape = l->out_shape = s;
            continue;
        }
        if (l->op == NET_CONV)
            return lfail(L, CN_EUNSUPPORTED,
                         "a Reshape between convolutions changes the feature-map layout");
        l->out_shape = s;
        return CN_OK;
    }
    n->in_shape = s;
    return CN_OK;
}

/* Appends the pending layer (with any elementwise map on its output). */
static cn_status flush(ld *L)
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
        return lfail(L, CN_EINTERNAL, "layer input size bookkeeping disagrees");
    cn_err e2;
    net_layer *l;
    if (p->op == NET_DENSE)
        l = net_add_dense(L->n, p->out, &e2);
    else
        l = net_add_conv(L->n, p->oshape.c, p->kh, p->kw, p->sh, p->sw, p->pt, p->pl, p->pb,
                         p->pr, &e2);
    if (!l)
        return lfail(L, e2.status, "%s", e2.msg);
    if (l->in != p->in || l->out != p->out || !shape_eq(l->out_shape, p->oshape))
        return lfail(L, CN_EINTERNAL, "layer shape bookkeeping disagrees");
    cn_free(l->W);
    cn_free(l->b);
    l->W = p->W;
    l->b = p->b;
    p->W = p->b = NULL;
    pend_clear(p);
    return CN_OK;
}

/* Appends an elementwise map with no affine layer to fold into as an
 * explicit diagonal dense layer. */
static cn_status materialize(ld *L)
{
    cn_status s;
    if (!L->has_e)
        return CN_OK;
    int n = L->e.n;
    if (n > MAX_DIAG)
        return lfail(L, CN_EUNSUPPORTED,
                     "an elementwise constant on %d values is not next to an affine layer it "
                     "could be folded into", n);
    cn_err e2;
    net_layer *l = net_add_dense(L->n, n, &e2);
    if (!l)
        return lfail(L, e2.status, "%s", e2.msg);
    for (int k = 0; k < n; k++) {
        if ((s = round_q(L, L->e.a[k], &l->W[(size_t)k * n + k])) ||
            (s = round_q(L, L->e.c[k], &l->b[k])))
            return s;
    }
    drop_e(L);
    return CN_OK;
}

/* Makes np the pending layer: appends the previous one and folds a pending
 * elementwise map into np's input. */
static cn_status begin_affine(ld *L, pend *np)
{
    cn_status s;
    if ((s = flush(L)))
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

static cn_status pend_alloc(ld *L, pend *p, net_op op, int in, int out, size_t nw, size_t nb)
{
    memset(p, 0, sizeof *p);
    p->op = op;
    p->in = in;
    p->out = out;
    p->W = cn_mallocarray(nw, sizeof(double));
    p->b = cn_calloc(nb, sizeof(double));
    if (!p->W || !p->b) {
        pend_clear(p);
        return nomem(L);
    }
    return CN_OK;
}

/* ------------------------------------------------------------------------ */
/* Broadcasting a constant onto a tensor                                     */
/* ------------------------------------------------------------------------ */

/* For each element of a tensor of dims td (the tensor itself must not grow),
 * idx[i] = index of the constant's value that broadcasts onto it.  rd/rnd:
 * the broadcast result's dims (td with leading 1s added). */
static cn_status bcast(ld *L, const cst *k, const int64_t *td, int tnd, size_t *idx,
                       int64_t *rd, int *rnd)
{
    char b1[128], b2[128], nm[96];
    int r = tnd > k->nd ? tnd : k->nd;
    int64_t kstr[MAX_RANK], cnt[MAX_RANK];
    if (r > MAX_RANK)
        return lfail(L, CN_EUNSUPPORTED, "rank %d too large", r);
    int64_t stride = 1;
    for (int j = 0; j < r; j++) {                  /* j counts from the right */
        int64_t xd = j < tnd ? td[tnd - 1 - j] : 1, kd = j < k->nd ? k->dims[k->nd - 1 - j] : 1;
        if (kd != xd && !(kd == 1))
            return lfail(L, CN_EPARSE, "constant '%s' of shape %s does not broadcast to %s",
                         clean(nm, sizeof nm, k->name), fmt_dims(b1, sizeof b1, k->dims, k->nd),
                         fmt_dims(b2, sizeof b2, td, tnd));
        rd[r - 1 - j] = xd;
        kstr[r - 1 - j] = kd == 1 ? 0 : stride;
        stride *= kd;
        cnt[r - 1 - j] = 0;
    }
    *rnd = r;
    int64_t n = dims_prod(rd, r, false);
    size_t ki = 0;
    for (int64_t i = 0; i < n; i++) {
        idx[i] = ki;
        for (int j = r - 1; j >= 0; j--) {         /* odometer */
            ki += (size_t)kstr[j];
            if (++cnt[j] < rd[j])
                break;
            ki -= (size_t)(kstr[j] * cnt[j]);
            cnt[j] = 0;
        }
    }
    return CN_OK;
}

/* ------------------------------------------------------------------------ */
/* Operators                                                                 */
/* ------------------------------------------------------------------------ */

static const char *const NO_ATTRS[] = {"consumed_inputs", NULL};

/* Add / Sub / Mul / Div with one constant operand; xi: the tensor's slot. */
static cn_status op_arith(ld *L, const char *op, size_t xi)
{
    static const char *const known[] = {"broadcast", "consumed_inputs", NULL};
    cn_status s;
    cst *k;
    if ((s = attrs_known(L, known)))
        return s;
    if (L->node->n_input != 2)
        return lfail(L, CN_EPARSE, "expected 2 inputs, got %zu", L->node->n_input);
    if ((s = node_const(L, 1 - xi, "operand", &k)))
        return s;
    bool add = op[0] == 'A', sub = op[0] == 'S', mul = op[0] == 'M';
    if (op[0] == 'D' && xi == 1)
        return lfail(L, CN_EUNSUPPORTED, "dividing a constant by the input is not affine");
    /* a bias directly after MatMul/Gemm/Conv is part of that layer */
    bool bias = L->p.op && !L->has_e && !L->p.has_bias && (add || (sub && xi == 0));
    size_t n = (size_t)cur_size(L);
    if (n > MAX_ELEMWISE)
        return lfail(L, CN_ELIMIT, "elementwise operation on %zu values; at most %d supported", n,
                     MAX_ELEMWISE);
    size_t *idx = cn_mallocarray(n, sizeof *idx);
    int64_t rd[MAX_RANK];
    int rnd;
    if (!idx)
        return nomem(L);
    if ((s = bcast(L, k, L->dims, L->nd, idx, rd, &rnd)) || (s = need_e(L))) {
        cn_free(idx);
        return s;
    }
    mpq_t v;
    mpq_init(v);
    for (size_t i = 0; i < n; i++) {
        mpq_set_d(v, k->v[idx[i]]);
        elem *e = &L->e;
        if (add) {
            mpq_add(e->c[i], e->c[i], v);
        } else if (sub && xi == 0) {
            mpq_sub(e->c[i], e->c[i], v);
        } else if (sub) {                          /* v - x */
            mpq_neg(e->a[i], e->a[i]);
            mpq_sub(e->c[i], v, e->c[i]);
        } else if (mul) {
            mpq_mul(e->a[i], e->a[i], v);
            mpq_mul(e->c[i], e->c[i], v);
        } else {
            if (mpq_sgn(v) == 0) {
                mpq_clear(v);
                cn_free(idx);
                return lfail(L, CN_EPARSE, "division by a zero constant");
            }
            mpq_div(e->a[i], e->a[i], v);
            mpq_div(e->c[i], e->c[i], v);
        }
    }
    mpq_clear(v);
    cn_free(idx);
    if (bias)
        L->p.has_bias = true;
    else
        L->folded++;
    return set_dims(L, rd, rnd);
}

static cn_status op_batchnorm(ld *L)
{
    static const char *const known[] = {"epsilon", "momentum", "training_mode", "spatial",
                                        "is_test", "consumed_inputs", NULL};
    cn_status s;
    int64_t tm, spatial;
    double eps;
    if ((s = attrs_known(L, known)) || (s = attr_int(L, "training_mode", 0, &tm)) ||
        (s = attr_int(L, "spatial", 1, &spatial)) || (s = attr_float(L, "epsilon", 1e-5, &eps)))
        return s;
    if (tm != 0 || spatial != 1)
        return lfail(L, CN_EUNSUPPORTED, "only inference-mode BatchNormalization is supported");
    for (size_t i = 1; i < L->node->n_output; i++)
        if (*S(L->node->output[i]))
            return lfail(L, CN_EUNSUPPORTED, "training-mode outputs are not supported");
    if (L->node->n_input != 5)
        return lfail(L, CN_EPARSE, "expected 5 inputs (X, scale, B, mean, var), got %zu",
                     L->node->n_input);
    if (L->nd < 2 || L->dims[0] != 1)
        return lfail(L, CN_EUNSUPPORTED, "input must have shape [1, C, ...]");
    int ch = (int)L->dims[1], sp = cur_size(L) / ch;
    cst *prm[4];
    static const char *const what[] = {"scale", "B", "mean", "var"};
    for (int i = 0; i < 4; i++) {
        if ((s = node_const(L, (size_t)i + 1, what[i], &prm[i])))
            return s;
        if (prm[i]->n != (size_t)ch)
            return lfail(L, CN_EPARSE, "%s has %zu values; expected %d (channels)", what[i],
                         prm[i]->n, ch);
    }
    if ((s = need_e(L)))
        return s;
    mpq_t sq, cq;
    mpq_init(sq);
    mpq_init(cq);
    for (int c = 0; c < ch; c++) {
        double g = prm[0]->v[c], beta = prm[1]->v[c], mean = prm[2]->v[c], var = prm[3]->v[c];
        double v = var + eps;
        if (!(v > 0)) {
            mpq_clear(sq);
            mpq_clear(cq);
            return lfail(L, CN_EPARSE, "var + epsilon <= 0 in channel %d", c);
        }
        double r = sqrt(v), sc = g / r;
        if (!net__add_exact(var, eps, v) || !net__mul_exact(r, r, v) ||
            !net__div_exact(g, r, sc))
            L->exact = false;
        /* y = sc * (x - mean) + beta = sc * x + (beta - sc * mean), sc as computed */
        mpq_set_d(sq, sc);
        mpq_set_d(cq, mean);
        mpq_mul(cq, cq, sq);
        mpq_set_d(L->t3, beta);
        mpq_sub(cq, L->t3, cq);
        for (int i = 0; i < sp; i++) {
            size_t j = (size_t)c * sp + i;
            mpq_mul(L->e.a[j], L->e.a[j], sq);
            mpq_mul(L->e.c[j], L->e.c[j], sq);
            mpq_add(L->e.c[j], L->e.c[j], cq);
        }
    }
    mpq_clear(sq);
    mpq_clear(cq);
    L->folded++;
    return CN_OK;
}

/* MatMul(x, W) with W [in, out], or MatMul(W, x) with W [out, in]. */
static cn_status op_matmul(ld *L, size_t xi)
{
    cn_status s;
    cst *w;
    char b1[128], b2[128];
    if ((s = attrs_known(L, NO_ATTRS)))
        return s;
    if (L->node->n_input != 2)
        return lfail(L, CN_EPARSE, "expected 2 inputs, got %zu", L->node->n_input);
    if (L->nd < 1)
        return lfail(L, CN_EPARSE, "input is a scalar; expected a vector");
    if ((s = node_const(L, 1 - xi, "weight", &w)))
        return s;
    if (w->nd != 2 || w->dims[0] < 1 || w->dims[1] < 1)
        return lfail(L, CN_EUNSUPPORTED, "weight must be a 2-D matrix, got shape %s",
                     fmt_dims(b1, sizeof b1, w->dims, w->nd));
    int64_t r = w->dims[0], c = w->dims[1], od[MAX_RANK];
    int ond = L->nd, in, out;
    memcpy(od, L->dims, sizeof od);
    bool ok = true;
    if (xi == 0) {                                 /* x [..., in] W [in, out] */
        for (int i = 0; i + 1 < L->nd; i++)
            ok = ok && L->dims[i] == 1;
        ok = ok && L->dims[L->nd - 1] == r;
        in = (int)r;
        out = (int)c;
        od[L->nd - 1] = c;
    } else {                                       /* W [out, in] x [in] or [..., in, 1] */
        if (L->nd == 1) {
            ok = L->dims[0] == c;
            od[0] = r;
        } else {
            for (int i = 0; i + 2 < L->nd; i++)
                ok = ok && L->dims[i] == 1;
            ok = ok && L->dims[L->nd - 2] == c && L->dims[L->nd - 1] == 1;
            od[L->nd - 2] = r;
        }
        in = (int)c;
        out = (int)r;
    }
    if (!ok || L->nd < 1)
        return lfail(L, CN_EPARSE, "shape mismatch: input %s, weight %s (%s)",
                     fmt_dims(b1, sizeof b1, L->dims, L->nd), fmt_dims(b2, sizeof b2, w->dims, 2),
                     xi == 0 ? "x*W needs x [..1, in] and W [in, out]"
                             : "W*x needs W [out, in] and x [in] or [in, 1]");
    pend np;
    if ((s = pend_alloc(L, &np, NET_DENSE, in, out, (size_t)in * out, (size_t)out)))
        return s;
    for (int o = 0; o < out; o++)
        for (int k = 0; k < in; k++)
            np.W[(size_t)o * in + k] = xi == 0 ? w->v[(size_t)k * out + o] : w->v[(size_t)o * in + k];
    np.ishape = (net_shape){in, 1, 1};
    np.oshape = (net_shape){out, 1, 1};
    if ((s = begin_affine(L, &np)))
        return s;
    /* the layer's output shape, relabelled */
    int64_t p = dims_prod(od, ond, false);
    if (p != out)
        return lfail(L, CN_EINTERNAL, "MatMul result size");
    memcpy(L->dims, od, sizeof od);
    L->nd = ond;
    return CN_OK;
}

static cn_status op_gemm(ld *L, size_t xi)
{
    static const char *const known[] = {"alpha", "beta", "transA", "transB", "broadcast", NULL};
    cn_status s;
    int64_t ta, tb;
    double alpha, beta;
    cst *w, *c = NULL;
    char b1[128], b2[128];
    if ((s = attrs_known(L, known)) || (s = attr_int(L, "transA", 0, &ta)) ||
        (s = attr_int(L, "transB", 0, &tb)) || (s = attr_float(L, "alpha", 1.0, &alpha)) ||
        (s = attr_float(L, "beta", 1.0, &beta)))
        return s;
    if (xi != 0)
        return lfail(L, CN_EUNSUPPORTED, "the input must be operand A (Gemm(x, W, C))");
    if (ta != 0)
        return lfail(L, CN_EUNSUPPORTED, "transA=%lld; only transA=0 is supported", (long long)ta);
    if (tb != 0 && tb != 1)
        return lfail(L, CN_EPARSE, "transB=%lld; expected 0 or 1", (long long)tb);
    if (L->node->n_input < 2 || L->node->n_input > 3)
        return lfail(L, CN_EPARSE, "expected 2 or 3 inputs, got %zu", L->node->n_input);
    if ((s = node_const(L, 1, "weight", &w)))
        return s;
    if (L->node->n_input == 3 && *S(L->node->input[2]) && (s = node_const(L, 2, "bias", &c)))
        return s;
    if (w->nd != 2 || w->dims[0] < 1 || w->dims[1] < 1)
        return lfail(L, CN_EUNSUPPORTED, "weight must be a 2-D matrix, got shape %s",
                     fmt_dims(b1, sizeof b1, w->dims, w->nd));
    int in = (int)(tb ? w->dims[1] : w->dims[0]), out = (int)(tb ? w->dims[0] : w->dims[1]);
    if (L->nd != 2 || L->dims[0] != 1 || L->dims[1] != in)
        return lfail(L, CN_EPARSE, "shape mismatch: input %s, weight %s with transB=%lld",
                     fmt_dims(b1, sizeof b1, L->dims, L->nd), fmt_dims(b2, sizeof b2, w->dims, 2),
                     (long long)tb);
    int64_t od[2] = {1, out}, rd[MAX_RANK];
    int rnd;
    size_t *idx = NULL;
    if (c) {
        if (!(idx = cn_mallocarray((size_t)out, sizeof *idx)))
            return nomem(L);
        if ((s = bcast(L, c, od, 2, idx, rd, &rnd)))
            goto out;
        if (rnd != 2) {
            s = lfail(L, CN_EPARSE, "bias has rank %d; expected at most 2", rnd);
            goto out;
        }
    }
    pend np;
    if ((s = pend_alloc(L, &np, NET_DENSE, in, out, (size_t)in * out, (size_t)out)))
        goto out;
    for (int o = 0; o < out; o++)
        for (int k = 0; k < in; k++)
            np.W[(size_t)o * in + k] = tb ? w->v[(size_t)o * in + k] : w->v[(size_t)k * out + o];
    np.ishape = (net_shape){in, 1, 1};
    np.oshape = (net_shape){out, 1, 1};
    if ((s = begin_affine(L, &np)))
        goto out;
    L->dims[1] = out;
    if (alpha != 1.0 || c) {
        if ((s = need_e(L)))
            goto out;
        for (int o = 0; o < out; o++) {
            mpq_set_d(L->e.a[o], alpha);
            if (c) {
                mpq_set_d(L->e.c[o], c->v[idx[o]]);
                mpq_set_d(L->t3, beta);
                mpq_mul(L->e.c[o], L->e.c[o], L->t3);
            }
        }
        L->p.has_bias = c != NULL;
    }
out:
    cn_free(idx);
    return s;
}

static cn_status op_conv(ld *L, size_t xi)
{
    static const char *const known[] = {"auto_pad", "dilations", "group", "kernel_shape",
                                        "pads", "strides", NULL};
    cn_status s;
    cst *w, *bias = NULL;
    char b1[128], b2[128];
    int64_t group, st[2] = {1, 1}, pads[4] = {0, 0, 0, 0}, dil[2] = {1, 1}, ks[2];
    bool has_st, has_pads, has_dil, has_ks;
    if ((s = attrs_known(L, known)) || (s = attr_int(L, "group", 1, &group)) ||
        (s = attr_ints(L, "strides", 2, st, &has_st)) ||
        (s = attr_ints(L, "pads", 4, pads, &has_pads)) ||
        (s = attr_ints(L, "dilations", 2, dil, &has_dil)) ||
        (s = attr_ints(L, "kernel_shape", 2, ks, &has_ks)))
        return s;
    const Onnx__AttributeProto *ap = attr(L, "auto_pad");
    if (ap) {
        const char *v = ap->has_s ? (const char *)ap->s.data : "";
        size_t len = ap->has_s ? ap->s.len : 0;
        bool notset = len == 0 || (len == 6 && memcmp(v, "NOTSET", 6) == 0);
        bool valid = len == 5 && memcmp(v, "VALID", 5) == 0;
        if (!notset && !(valid && !has_pads))
            return lfail(L, CN_EUNSUPPORTED, "auto_pad must be NOTSET (give explicit pads)");
    }
    if (xi != 0)
        return lfail(L, CN_EUNSUPPORTED, "the input must be the first operand");
    if (group != 1)
        return lfail(L, CN_EUNSUPPORTED, "group=%lld; only group=1 is supported", (long long)group);
    if (dil[0] != 1 || dil[1] != 1)
        return lfail(L, CN_EUNSUPPORTED, "dilations [%lld,%lld]; only 1 is supported",
                     (long long)dil[0], (long long)dil[1]);
    for (int i = 0; i < 2; i++)
        if (st[i] < 1 || st[i] > MAX_CONV_PARAM)
            return lfail(L, CN_EPARSE, "stride %lld out of range", (long long)st[i]);
    for (int i = 0; i < 4; i++)
        if (pads[i] < 0 || pads[i] > MAX_CONV_PARAM)
            return lfail(L, CN_EPARSE, "pad %lld out of range", (long long)pads[i]);
    if (L->node->n_input < 2 || L->node->n_input > 3)
        return lfail(L, CN_EPARSE, "expected 2 or 3 inputs, got %zu", L->node->n_input);
    if ((s = node_const(L, 1, "weight", &w)))
        return s;
    if (L->node->n_input == 3 && *S(L->node->input[2]) && (s = node_const(L, 2, "bias", &bias)))
        return s;
    if (w->nd != 4 || dims_prod(w->dims, 4, false) < 1)
        return lfail(L, CN_EUNSUPPORTED, "weight shape %s; only 2-D convolution is supported",
                     fmt_dims(b1, sizeof b1, w->dims, w->nd));
    if (L->nd != 4 || L->dims[0] != 1 || L->dims[1] != w->dims[1])
        return lfail(L, CN_EPARSE, "shape mismatch: input %s, weight %s (expected [1,C,H,W] "
                     "and [M,C,kH,kW])", fmt_dims(b1, sizeof b1, L->dims, L->nd),
                     fmt_dims(b2, sizeof b2, w->dims, 4));
    if (has_ks && (ks[0] != w->dims[2] || ks[1] != w->dims[3]))
        return lfail(L, CN_EPARSE, "kernel_shape [%lld,%lld] disagrees with weight %s",
                     (long long)ks[0], (long long)ks[1], fmt_dims(b1, sizeof b1, w->dims, 4));
    int cout = (int)w->dims[0], cin = (int)w->dims[1], kh = (int)w->dims[2], kw = (int)w->dims[3];
    int h = (int)L->dims[2], wd = (int)L->dims[3];
    int64_t oh = h + pads[0] + pads[2] - kh, ow = wd + pads[1] + pads[3] - kw;
    if (oh < 0 || ow < 0)
        return lfail(L, CN_EPARSE, "kernel %dx%d larger than the padded input", kh, kw);
    oh = oh / st[0] + 1;
    ow = ow / st[1] + 1;
    if (oh * ow > MAX_ELEMS / cout)
        return lfail(L, CN_ELIMIT, "output feature map too large");
    if (bias && bias->n != (size_t)cout)
        return lfail(L, CN_EPARSE, "bias has %zu values; expected %d", bias->n, cout);
    pend np;
    size_t nw = (size_t)cout * cin * kh * kw;
    if ((s = pend_alloc(L, &np, NET_CONV, cin * h * wd, (int)(cout * oh * ow), nw, (size_t)cout)))
        return s;
    memcpy(np.W, w->v, nw * sizeof(double));
    if (bias)
        memcpy(np.b, bias->v, (size_t)cout * sizeof(double));
    np.has_bias = bias != NULL;
    np.kh = kh;
    np.kw = kw;
    np.sh = (int)st[0];
    np.sw = (int)st[1];
    np.pt = (int)pads[0];
    np.pl = (int)pads[1];
    np.pb = (int)pads[2];
    np.pr = (int)pads[3];
    np.ishape = (net_shape){cin, h, wd};
    np.oshape = (net_shape){cout, (int)oh, (int)ow};
    if ((s = begin_affine(L, &np)))
        return s;
    L->dims[1] = cout;
    L->dims[2] = oh;
    L->dims[3] = ow;
    return CN_OK;
}

static cn_status op_relu(ld *L)
{
    cn_status s;
    cn_err e2;
    if ((s = attrs_known(L, NO_ATTRS)) || (s = flush(L)) || (s = materialize(L)))
        return s;
    net_shape sh = net__tail_shape(L->n);
    if (sh.c * sh.h * sh.w != cur_size(L))
        return lfail(L, CN_EINTERNAL, "ReLU size bookkeeping");
    if (!net_add_relu(L->n, &e2))
        return lfail(L, e2.status, "%s", e2.msg);
    return CN_OK;
}

static cn_status op_flatten(ld *L)
{
    static const char *const known[] = {"axis", NULL};
    cn_status s;
    int64_t axis;
    if ((s = attrs_known(L, known)) || (s = attr_int(L, "axis", 1, &axis)))
        return s;
    if (axis < 0)
        axis += L->nd;
    if (axis < 0 || axis > L->nd)
        return lfail(L, CN_EPARSE, "axis out of range for rank %d", L->nd);
    int64_t d[2] = {dims_prod(L->dims, (int)axis, false),
                    dims_prod(L->dims + axis, L->nd - (int)axis, false)};
    return set_dims(L, d, 2);
}

static cn_status op_reshape(ld *L)
{
    static const char *const known[] = {"allowzero", "shape", "consumed_inputs", NULL};
    cn_status s;
    int64_t allow0, sh[MAX_RANK], d[MAX_RANK];
    size_t ns;
    if ((s = attrs_known(L, known)) || (s = attr_int(L, "allowzero", 0, &allow0)))
        return s;
    const Onnx__AttributeProto *a = attr(L, "shape");
    if (L->node->n_input == 2) {
        cst *k = const_find(L, L->node->input[1]);
        if (!k)
            return lfail(L, CN_EUNSUPPORTED, "the target shape must be a constant");
        if ((s = const_int64(L, k)))
            return s;
        ns = k->n;
        if (ns)
            memcpy(sh, k->iv, ns * sizeof *sh);
    } else if (L->node->n_input == 1 && a && a->n_ints <= MAX_RANK) {
        ns = a->n_ints;
        if (ns)
            memcpy(sh, a->ints, ns * sizeof *sh);
    } else {
        return lfail(L, CN_EPARSE, "expected a data input and a shape");
    }
    int infer = -1;
    int64_t known_p = 1;
    for (size_t i = 0; i < ns; i++) {
        d[i] = sh[i];
        if (sh[i] == 0 && !allow0) {
            if ((int)i >= L->nd)
                return lfail(L, CN_EPARSE, "shape entry %zu is 0 beyond the input's rank", i);
            d[i] = L->dims[i];
        } else if (sh[i] == -1) {
            if (infer >= 0)
                return lfail(L, CN_EPARSE, "more than one -1 in the target shape");
            infer = (int)i;
            continue;
        } else if (sh[i] < 1 || sh[i] > MAX_ELEMS) {
            return lfail(L, CN_EPARSE, "invalid target dimension %lld", (long long)sh[i]);
        }
        known_p *= d[i];
        if (known_p > MAX_ELEMS)
            return lfail(L, CN_EPARSE, "target shape too large");
    }
    if (infer >= 0) {
        if (cur_size(L) % known_p)
            return lfail(L, CN_EPARSE, "cannot infer -1: %d elements do not divide by %lld",
                         cur_size(L), (long long)known_p);
        d[infer] = cur_size(L) / known_p;
    }
    return set_dims(L, d, (int)ns);
}

static cn_status op_dropout(ld *L)
{
    static const char *const known[] = {"ratio", "seed", "is_test", "consumed_inputs", NULL};
    cn_status s;
    if ((s = attrs_known(L, known)))
        return s;
    if (L->node->n_input == 3 && *S(L->node->input[2])) {
        cst *k = const_find(L, L->node->input[2]);
        bool on = true;
        if (k && k->t && k->t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL && k->nd == 0)
            on = k->t->has_raw_data ? (k->t->raw_data.len == 1 && k->t->raw_data.data[0])
                                    : (k->t->n_int32_data == 1 && k->t->int32_data[0]);
        if (on)
            return lfail(L, CN_EUNSUPPORTED, "training_mode must be a constant false");
    }
    return CN_OK;
}

/* A Constant node: registers its value. */
static cn_status op_constant(ld *L)
{
    char nm[96];
    if (L->node->n_output != 1 || L->node->n_input != 0)
        return lfail(L, CN_EPARSE, "expected no inputs and one output");
    if (L->node->n_attribute != 1)
        return lfail(L, CN_EPARSE, "expected exactly one value attribute");
    const Onnx__AttributeProto *a = L->node->attribute[0];
    const char *an = S(a->name);
    const char *out = L->node->output[0];
    if (L->cur && strcmp(S(out), L->cur) == 0)
        return lfail(L, CN_EPARSE, "output '%s' redefines the input", clean(nm, sizeof nm, out));
    cst *k;
    cn_status s = const_add(L, out, &k);
    if (s)
        return s;
    if (strcmp(an, "value") == 0) {
        if (!a->t)
            return lfail(L, CN_EPARSE, "attribute 'value' holds no tensor");
        k->t = a->t;
        return tensor_dims(L, k, a->t);
    }
    bool fl = strcmp(an, "value_float") == 0, fls = strcmp(an, "value_floats") == 0;
    bool in = strcmp(an, "value_int") == 0, ins = strcmp(an, "value_ints") == 0;
    if (!fl && !fls && !in && !ins)
        return lfail(L, CN_EUNSUPPORTED, "unsupported attribute '%s'", clean(nm, sizeof nm, an));
    size_t n = fl || in ? 1 : fls ? a->n_floats : a->n_ints;
    if (ins && n > MAX_RANK)
        return lfail(L, CN_EUNSUPPORTED, "value_ints with %zu values", n);
    if (fl || fls) {
        if (!(k->v = cn_mallocarray(n, sizeof(double))))
            return nomem(L);
        for (size_t i = 0; i < n; i++) {
            k->v[i] = fl ? a->f : a->floats[i];
            if (!isfinite(k->v[i]))
                return lfail(L, CN_EPARSE, "value is not finite");
        }
    } else {
        if (!(k->iv = cn_mallocarray(n, sizeof(int64_t))))
            return nomem(L);
        for (size_t i = 0; i < n; i++)
            k->iv[i] = in ? a->i : a->ints[i];
    }
    k->n = n;
    k->nd = fl || in ? 0 : 1;
    k->dims[0] = (int64_t)n;
    return CN_OK;
}

static bool is_activation(const char *op)
{
    static const char *const acts[] = {
        "Sigmoid", "Tanh", "LeakyRelu", "PRelu", "Elu", "Selu", "Celu", "Softplus",
        "Softsign", "HardSigmoid", "HardSwish", "ThresholdedRelu", "Softmax", "LogSoftmax",
        "Gelu", "Mish", "Clip", "Erf", "Exp", "Log", "Sin", "Cos", "Abs", "Sign", "Max",
        "Min", "Pow", "Sqrt", "Reciprocal", NULL};
    for (const char *const *a = acts; *a; a++)
        if (strcmp(op, *a) == 0)
            return true;
    return false;
}

/* Is name a graph input or some node's output?  (Only asked on errors.) */
static bool defined(const ld *L, const char *name)
{
    for (size_t i = 0; i < L->g->n_input; i++)
        if (strcmp(S(L->g->input[i]->name), name) == 0)
            return true;
    for (size_t i = 0; i < L->g->n_node; i++)
        for (size_t j = 0; j < L->g->node[i]->n_output; j++)
            if (strcmp(S(L->g->node[i]->output[j]), name) == 0)
                return true;
    return false;
}

/* Reads one node of the chain. */
static cn_status read_node(ld *L)
{
    const Onnx__NodeProto *nd = L->node;
    const char *op = S(nd->op_type);
    char nm[96];
    const char *dom = S(nd->domain);
    if (*dom && strcmp(dom, "ai.onnx") != 0)
        return lfail(L, CN_EUNSUPPORTED, "operator domain '%s' is not supported",
                     clean(nm, sizeof nm, dom));
    if (strcmp(op, "Constant") == 0)
        return op_constant(L);
    /* exactly one input is the chain's current tensor; the rest are constants */
    size_t xi = SIZE_MAX;
    for (size_t i = 0; i < nd->n_input; i++) {
        const char *in = S(nd->input[i]);
        if (!*in)
            continue;
        if (strcmp(in, L->cur) == 0) {
            if (xi != SIZE_MAX)
                return lfail(L, CN_EUNSUPPORTED, "uses '%s' twice; not an affine map of it",
                             clean(nm, sizeof nm, in));
            xi = i;
        } else if (!const_find(L, in)) {
            if (!defined(L, in))
                return lfail(L, CN_EPARSE,
                             "input '%s' is not defined by any initializer, Constant, node or "
                             "graph input (missing initializer?)", clean(nm, sizeof nm, in));
            return lfail(L, CN_EUNSUPPORTED,
                         "input '%s' is neither a constant nor the previous layer's output; the "
                         "graph is not a chain (branches and joins are unsupported)",
                         clean(nm, sizeof nm, in));
        }
    }
    if (xi == SIZE_MAX)
        return lfail(L, CN_EUNSUPPORTED,
                     "does not consume the chain tensor '%s' (constant folding and branches "
                     "are unsupported)", clean(nm, sizeof nm, L->cur));
    if (nd->n_output < 1 || !*S(nd->output[0]))
        return lfail(L, CN_EPARSE, "node has no output");
    size_t max_out = strcmp(op, "Dropout") == 0 || strcmp(op, "BatchNormalization") == 0 ? 5 : 1;
    if (nd->n_output > max_out)
        return lfail(L, CN_EUNSUPPORTED, "expected one output, got %zu", nd->n_output);
    if (const_find(L, nd->output[0]))
        return lfail(L, CN_EPARSE, "output '%s' redefines a constant",
                     clean(nm, sizeof nm, nd->output[0]));
    cn_status s;
    if (strcmp(op, "Relu") == 0)
        s = op_relu(L);
    else if (strcmp(op, "MatMul") == 0)
        s = op_matmul(L, xi);
    else if (strcmp(op, "Gemm") == 0)
        s = op_gemm(L, xi);
    else if (strcmp(op, "Conv") == 0)
        s = op_conv(L, xi);
    else if (strcmp(op, "Add") == 0 || strcmp(op, "Sub") == 0 || strcmp(op, "Mul") == 0 ||
             strcmp(op, "Div") == 0)
        s = op_arith(L, op, xi);
    else if (strcmp(op, "BatchNormalization") == 0)
        s = xi == 0 ? op_batchnorm(L) : lfail(L, CN_EUNSUPPORTED, "the input must be X");
    else if (strcmp(op, "Flatten") == 0)
        s = op_flatten(L);
    else if (strcmp(op, "Reshape") == 0)
        s = xi == 0 ? op_reshape(L) : lfail(L, CN_EUNSUPPORTED, "the input must be the data");
    else if (strcmp(op, "Identity") == 0)
        s = attrs_known(L, NO_ATTRS + 1);
    else if (strcmp(op, "Dropout") == 0)
        s = xi == 0 ? op_dropout(L) : lfail(L, CN_EUNSUPPORTED, "the input must be the data");
    else if (is_activation(op))
        return lfail(L, CN_EUNSUPPORTED,
                     "unsupported activation; certnn verifies ReLU networks only");
    else
        return lfail(L, CN_EUNSUPPORTED,
                     "unsupported operator; supported: MatMul, Gemm, Conv, Add, Sub, Mul, Div, "
                     "BatchNormalization, Relu, Flatten, Reshape, Identity, Dropout, Constant");
    if (s)
        return s;
    L->cur = nd->output[0];
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
        return lfail(L, CN_EUNSUPPORTED, "tensor '%s' has element type %d; expected float",
                     clean(nm, sizeof nm, v->name), tt->elem_type);
    if (!tt->shape)
        return CN_OK;
    if (tt->shape->n_dim > MAX_RANK)
        return lfail(L, CN_EUNSUPPORTED, "tensor '%s' has rank %zu; at most %d supported",
                     clean(nm, sizeof nm, v->name), tt->shape->n_dim, MAX_RANK);
    for (size_t i = 0; i < tt->shape->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *dm = tt->shape->dim[i];
        d[i] = dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE ?
                   dm->dim_value : 1;
    }
    *nd = (int)tt->shape->n_dim;
    *has = true;
    int64_t p = dims_prod(d, *nd, false);
    if (p < 0)
        return lfail(L, p == -1 ? CN_EPARSE : CN_ELIMIT, "tensor '%s' has an invalid shape %s",
                     clean(nm, sizeof nm, v->name), fmt_dims(b, sizeof b, d, *nd));
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
    return (net_shape){(int)dims_prod(d, nd, false), 1, 1};
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
    L->capcs = nconst;
    for (L->ntab = 16; L->ntab < 2 * nconst; L->ntab *= 2)
        ;
    L->cs = cn_mallocarray(nconst ? nconst : 1, sizeof *L->cs);
    L->tab = cn_mallocarray(L->ntab, sizeof *L->tab);
    if (!L->cs || !L->tab)
        return nomem(L);
    for (size_t i = 0; i < L->ntab; i++)
        L->tab[i] = SIZE_MAX;
    for (size_t i = 0; i < g->n_initializer; i++) {
        cst *k;
        if ((s = const_add(L, g->initializer[i]->name, &k)))
            return s;
        k->t = g->initializer[i];
        if ((s = tensor_dims(L, k, k->t)))
            return s;
    }
    if (g->n_sparse_initializer)
        return lfail(L, CN_EUNSUPPORTED, "sparse initializers are not supported");
    /* the one graph input that is not an initializer */
    const Onnx__ValueInfoProto *in = NULL;
    size_t n_real = 0;
    for (size_t i = 0; i < g->n_input; i++)
        if (!const_find(L, g->input[i]->name)) {
            n_real++;
            in = g->input[i];
        }
    if (n_real != 1)
        return lfail(L, CN_EUNSUPPORTED,
                     "graph has %zu inputs that are not initializers; expected exactly 1", n_real);
    if (!*S(in->name))
        return lfail(L, CN_EPARSE, "graph input has no name");
    bool has;
    if ((s = value_dims(L, in, L->dims, &L->nd, &has)))
        return s;
    if (!has)
        return lfail(L, CN_EUNSUPPORTED, "graph input '%s' has no declared tensor shape",
                     clean(nm, sizeof nm, in->name));
    if (L->nd == 0) {
        L->nd = 1;
        L->dims[0] = 1;
    }
    if (g->n_output != 1)
        return lfail(L, CN_EUNSUPPORTED, "graph has %zu outputs; expected exactly 1", g->n_output);
    const Onnx__ValueInfoProto *gout = g->output[0];
    int64_t in_d[MAX_RANK];
    int in_nd = L->nd;
    memcpy(in_d, L->dims, sizeof in_d);
    L->cur = in->name;
    L->n = net_new(in_shape_of(L->dims, L->nd));
    if (!L->n)
        return nomem(L);
    for (L->node_idx = 0; L->node_idx < g->n_node; L->node_idx++) {
        L->node = g->node[L->node_idx];
        if ((s = read_node(L)))
            return s;
    }
    L->node = NULL;
    if ((s = flush(L)) || (s = materialize(L)))
        return s;
    if (strcmp(S(gout->name), L->cur) != 0)
        return lfail(L, CN_EUNSUPPORTED,
                     "graph output '%s' is not the end of the layer chain (which ends at '%s')",
                     clean(nm, sizeof nm, gout->name), clean(b1, sizeof b1, L->cur));
    if (L->n->n_layers == 0)
        return lfail(L, CN_EUNSUPPORTED, "graph has no layers");
    int64_t od[MAX_RANK];
    int ond;
    if ((s = value_dims(L, gout, od, &ond, &has)))
        return s;
    if (!has) {
        memcpy(od, L->dims, sizeof od);
        ond = L->nd;
    }
    if (dims_prod(od, ond, false) != net_out_size(L->n))
        return lfail(L, CN_EPARSE, "graph output '%s' declared as %s but the layers give %d values",
                     clean(nm, sizeof nm, gout->name), fmt_dims(b1, sizeof b1, od, ond),
                     net_out_size(L->n));
    net *n = L->n;
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
    mpq_init(L.t1);
    mpq_init(L.t2);
    mpq_init(L.t3);
    /* the error-free checks of folded values need round-to-nearest */
    int saved = cn_round_push(FE_TONEAREST);
    s = read_graph(&L, data, len, out);
    cn_round_pop(saved);
    mpq_clear(L.t1);
    mpq_clear(L.t2);
    mpq_clear(L.t3);
    drop_e(&L);
    pend_clear(&L.p);
    net_free(L.n);
    for (size_t i = 0; i < L.ncs; i++) {
        cn_free(L.cs[i].v);
        cn_free(L.cs[i].iv);
    }
    cn_free(L.cs);
    cn_free(L.tab);
    onnx__model_proto__free_unpacked(m, &pa);
    return s;
}

cn_status net_load_onnx(const char *path, net **out, cn_err *err)
{
    CN_REQUIRE(path && out, "path and output pointer");
    unsigned char *data;
    size_t len;
    cn_status s = cn_read_file(path, &data, &len, err);
    if (s)
        return s;
    s = net_load_onnx_mem(data, len, path, out, err);
    cn_free(data);
    return s;
}

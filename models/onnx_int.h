/* onnx_int.h — internals shared by the files of the ONNX loader (not for
 * other files):
 *
 *   onnx_load.c   messages, shapes, the constants table and tensor decoding,
 *                 the graph and the entry points (net_load_onnx...);
 *   onnx_fold.c   the pending affine layer, the exact folding of
 *                 elementwise maps into it and the enclosure radii of the
 *                 folded layers;
 *   onnx_ops.c    node attributes, broadcasting and the dispatch of a node;
 *   onnx_ops_affine.c, onnx_ops_elem.c, onnx_ops_pool.c, onnx_ops_act.c
 *                 one reader per operator (MatMul, Gemm, Conv,
 *                 BatchNormalization; elementwise and shapes; pooling;
 *                 LeakyRelu, Clip, Softmax);
 *   onnx_residual.c   graphs with residual blocks: the walk along consumers
 *                 and the exact lowering of a block to the chain;
 *   onnx_dag.c, onnx_dag_ops.c (onnx_dag_int.h)   any other graph of
 *                 linear operators and Relu (Concat, Transpose, Slice,
 *                 joins): the live tensors kept on the chain's vector, every
 *                 layer exact.
 * (onnx_graph.c, the read-only graph view for `certnn info`, shares nothing
 * with the loader.)
 *
 * The chain is read left to right with a small amount of state (ld):
 *
 *   cur, dims      the current tensor's name and ONNX shape;
 *   pend           an affine layer being assembled (MatMul/Gemm/Conv), not
 *                  yet appended to the net;
 *   e              a pending elementwise affine map  x -> a ⊙ x + c  kept in
 *                  exact rationals (Add/Sub/Mul/Div by constants, folded
 *                  BatchNormalization), with radii enclosing the file's
 *                  real map when BatchNormalization's scale is irrational.  When pend exists e applies to its
 *                  output (a bias, a scale); otherwise e applies to the
 *                  current tensor and is folded into the *next* affine layer
 *                  (input normalisation).
 *
 * Every function that fails fills L->err through net__onnx_fail, so the
 * message names the file and, while a node is read, the node and its op.
 */
#ifndef CERTNN_MODELS_ONNX_INT_H
#define CERTNN_MODELS_ONNX_INT_H

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

/* Elementwise affine map x -> a ⊙ x + c over n elements, in exact
 * rationals, with an enclosure of the file's real-number map
 * x -> a* ⊙ x + c*:   |a*_i - a_i| <= ra_i,  |c*_i - c_i| <= rc_i.
 * The radii are nonzero only after an irrational BatchNormalization scale
 * (NULL: all zero), and a_i = 0 implies ra_i = 0. */
typedef struct {
    int n;
    mpq_t *a, *c;                           /* [n] */
    mpq_t *ra, *rc;                         /* [n] or NULL */
} elem;

/* An affine layer being assembled (IR layout). */
typedef struct {
    net_op op;                              /* 0: none */
    int in, out;
    double *W, *b;                          /* owned */
    int kh, kw, sh, sw, pt, pl, pb, pr;     /* CONV */
    net_shape ishape, oshape;
    bool has_bias;                          /* a bias was already added */
    bool avg_pool;                          /* an AveragePool with non-overlapping
                                               windows and exact weights 2^-m
                                               (onnx_ops_pool.c) */
    /* enclosure of the file's values, as in net_layer (models.h) */
    double wrel, wabs;
    double *brad;                           /* owned: [out] DENSE, [cout] CONV, or NULL */
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
    long rounded;                           /* inexact roundings so far (round_q) */
    int folded;
    bool softmax;                           /* a Softmax was read (the last node) */
    /* node being read, for messages */
    const Onnx__NodeProto *node;
    size_t node_idx;
    mpq_t t1, t2, t3;                       /* scratch */
    struct net__onnx_res *res;              /* lowered residual blocks (onnx_residual.c) */
    bool dag;                               /* read by onnx_dag.c (set for the retry) */
    bool walked;                            /* the residual walk was tried */
} ld;

/* protobuf-c leaves absent strings NULL; this reads them as "". */
static inline const char *S(const char *s) { return s ? s : ""; }

/* ---- onnx_load.c: messages, shapes, constants ---- */

/* Copies s into dst[cap] for a one-line message (control bytes become '?',
 * long names are cut with '~'); returns dst. */
const char *net__onnx_clean(char *dst, size_t cap, const char *s);
/* Writes d[nd] as "[d0,d1,...]" into buf[cap]; returns buf. */
const char *net__onnx_fmt_dims(char *buf, size_t cap, const int64_t *d, int nd);
/* Fails with status st: "path: what" or "path: node 'name' (Op): what". */
CN_PRINTF(3, 4)
cn_status net__onnx_fail(ld *L, cn_status st, const char *fmt, ...);
/* net__onnx_fail(L, CN_ENOMEM, "out of memory"). */
cn_status net__onnx_nomem(ld *L);
/* Product of dims, each in [1, MAX_ELEMS] (0 allowed when allow0), total
 * capped.  Returns -1 on a bad dim, -2 on overflow of the cap. */
int64_t net__onnx_dims_prod(const int64_t *d, int nd, bool allow0);
/* Elements of the current tensor (L->dims). */
int net__onnx_cur_size(const ld *L);
/* The constant called name, or NULL. */
cst *net__onnx_const_find(const ld *L, const char *name);
/* Adds an empty constant called name (refuses "" and duplicates). */
cn_status net__onnx_const_add(ld *L, const char *name, cst **out);
/* Copies t's dims into k (rank at most MAX_RANK). */
cn_status net__onnx_tensor_dims(ld *L, cst *k, const Onnx__TensorProto *t);
/* Decodes k as int64 values (shape tensors, at most MAX_RANK values). */
cn_status net__onnx_const_int64(ld *L, cst *k);
/* The constant named by input i of the current node, decoded as float;
 * what names the operand in messages. */
cn_status net__onnx_node_const(ld *L, size_t i, const char *what, cst **out);

/* ---- onnx_fold.c: the pending layer and exact folding ---- */

/* Makes sure L->e exists for the current tensor (identity when new). */
cn_status net__onnx_need_e(ld *L);
/* Makes sure L->e has radius arrays (zero when new); L->e must exist. */
cn_status net__onnx_need_r(ld *L);
/* Zeroes *p, then allocates W[nw] and b[nb] (b = 0) for a layer op in -> out. */
cn_status net__onnx_pend_alloc(ld *L, pend *p, net_op op, int in, int out, size_t nw, size_t nb);
/* Makes *np (takes ownership, also on failure) the pending layer: appends the
 * previous one and folds a pending elementwise map into np's input. */
cn_status net__onnx_begin_affine(ld *L, pend *np);
/* Appends the pending layer, if any (with any elementwise map on its output). */
cn_status net__onnx_flush(ld *L);
/* Appends a pending elementwise map that had no affine layer to fold into as
 * an explicit diagonal dense layer. */
cn_status net__onnx_materialize(ld *L);
/* Frees the pending layer and elementwise map. */
void net__onnx_fold_clear(ld *L);

/* ---- onnx_ops.c: shapes, attributes, broadcasting, dispatch ---- */

/* Reads node L->node (index L->node_idx) of the chain. */
cn_status net__onnx_read_node(ld *L);
/* The attributes of an operator that takes none (ONNX's legacy
 * "consumed_inputs" tolerated): NULL-terminated. */
extern const char *const net__onnx_no_attrs[];
/* Gives the current tensor the dims d[nd] (same number of elements). */
cn_status net__onnx_set_dims(ld *L, const int64_t *d, int nd);
const Onnx__AttributeProto *net__onnx_attr(const ld *L, const char *name);
/* Refuses attributes not in the NULL-terminated list: an unknown attribute
 * might change the op's meaning. */
cn_status net__onnx_attrs_known(ld *L, const char *const *known);
cn_status net__onnx_attr_int(ld *L, const char *name, int64_t dflt, int64_t *out);
cn_status net__onnx_attr_float(ld *L, const char *name, double dflt, double *out);
/* Ints attribute of exactly n values (absent: *present = false). */
cn_status net__onnx_attr_ints(ld *L, const char *name, size_t n, int64_t *out, bool *present);
/* For each element of a tensor of dims td (the tensor itself must not grow),
 * idx[i] = index of the constant's value that broadcasts onto it.  rd/rnd:
 * the broadcast result's dims (td with leading 1s added). */
cn_status net__onnx_bcast(ld *L, const cst *k, const int64_t *td, int tnd, size_t *idx,
                          int64_t *rd, int *rnd);

/* ---- onnx_ops_affine.c, onnx_ops_elem.c: one reader per operator ----
 * Each reads node L->node; xi is the slot of the chain tensor among the
 * node's inputs where the other operand is a constant. */
/* MatMul(x, W) with W [in, out], or MatMul(W, x) with W [out, in]. */
cn_status net__onnx_op_matmul(ld *L, size_t xi);
cn_status net__onnx_op_gemm(ld *L, size_t xi);
cn_status net__onnx_op_conv(ld *L, size_t xi);
cn_status net__onnx_op_batchnorm(ld *L);
/* BatchNormalization node L->node on C = ch channels: its attributes and
 * inputs checked, *eps and the constants scale, B, mean, var (ch values each)
 * read.  The input's shape is the caller's to check. */
cn_status net__onnx_bn_read(ld *L, int ch, double *eps, cst *prm[4]);
/* Channel c's scale s* = g / sqrt(var + eps): s its nominal value (exact
 * rational), |s* - s| <= rs (onnx_ops_affine.c). */
cn_status net__onnx_bn_scale(ld *L, int c, double g, double var, double eps, mpq_t s, mpq_t rs);
/* Add / Sub / Mul / Div with one constant operand. */
cn_status net__onnx_op_arith(ld *L, const char *op, size_t xi);
cn_status net__onnx_op_relu(ld *L);
cn_status net__onnx_op_act(ld *L, net_op op);
cn_status net__onnx_op_flatten(ld *L);
cn_status net__onnx_op_reshape(ld *L);
cn_status net__onnx_op_dropout(ld *L);
/* onnx_ops_pool.c: Pad (all-zero pads only), AveragePool and
 * GlobalAveragePool (a pending convolution), MaxPool (NET_MAXPOOL). */
cn_status net__onnx_op_pad(ld *L);
cn_status net__onnx_op_avgpool(ld *L);
cn_status net__onnx_op_globalavgpool(ld *L);
cn_status net__onnx_op_maxpool(ld *L);
/* The geometry of a 2-D pool: kernel, strides, after checking the
 * attributes that would change the meaning (padding, ceil_mode,
 * dilations, auto_pad). */
typedef struct {
    int kh, kw, sh, sw;
    int c, h, w, oh, ow;
} pool_geom;
/* Reads node L->node's pool attributes for an input of dims[nd] (refusing
 * what the pool readers refuse). */
cn_status net__onnx_pool_attrs(ld *L, int nd, const int64_t *dims, pool_geom *g);
/* Before np becomes the pending layer: folds a pending average pool into a
 * dense np when that is exact (np then reads the pool's input). */
cn_status net__onnx_pool_compose(ld *L, pend *np);
/* onnx_ops_act.c: LeakyRelu and Clip lowered exactly into affine and ReLU
 * layers; Softmax (the last node) marks the net (net_softmax_output). */
cn_status net__onnx_op_leakyrelu(ld *L);
cn_status net__onnx_op_clip(ld *L, size_t xi);
cn_status net__onnx_op_softmax(ld *L);
/* A Constant node: registers its value. */
cn_status net__onnx_op_constant(ld *L);

/* ---- onnx_residual.c: graphs with residual blocks ---- */

/* Extra constants a lowered residual block registers (the const table's
 * capacity grows by this per Add node). */
enum { NET__ONNX_RES_CONSTS = 5 };
/* True when a computed tensor feeds more than one node input. */
bool net__onnx_graph_forks(const ld *L);
/* Reads a forking graph from its input along consumers, lowering residual
 * blocks exactly to the chain (see the file's top comment). */
cn_status net__onnx_walk(ld *L);
/* Frees the lowered blocks' storage. */
void net__onnx_res_free(ld *L);

/* ---- onnx_dag.c: graphs that are not chains ---- */

/* True when the graph has a Concat, Transpose or Slice node, or a node other
 * than Add that reads two computed tensors: onnx_residual.c cannot lower it. */
bool net__onnx_dag_wanted(const ld *L);
/* Reads the whole graph (any DAG of the supported linear operators and
 * Relu) by keeping the live tensors on the chain's vector (see the file's
 * top comment); L->cur ends at the graph output. */
cn_status net__onnx_dag(ld *L);

#endif

/* onnx_dag_int.h — internals shared by the two files of the general graph
 * route (not for other files):
 *
 *   onnx_dag.c      the scheme: live tensors as exact affine expressions over
 *                   the chain's vector, the flushes into dense layers, the
 *                   ReLU stages, the order of the nodes, the chain prefix and
 *                   the chain-only operators where the graph narrows;
 *   onnx_dag_ops.c  each linear operator's map (an output element is a file
 *                   value plus file weights times input elements) and shape.
 */
#ifndef CERTNN_MODELS_ONNX_DAG_INT_H
#define CERTNN_MODELS_ONNX_DAG_INT_H

#include <math.h>

#include "models/onnx_int.h"

#define DAG_MAX_TERMS ((size_t)1 << 26)    /* terms of one tensor's expressions */

/* A computed tensor: dims and, while live, its elements' expressions in
 * compressed rows over the chain vector. */
typedef struct {
    const char *name;
    int nd;
    int64_t dims[MAX_RANK];
    int n;
    int *rp, *col;                 /* rp[n+1]; col[rp[n]] */
    double *val, *b;               /* val[rp[n]], b[n] */
    int uses;                      /* reads still to come (+1: the graph output) */
    int stage;                     /* ReLU layers it has passed */
    bool have;
} dten;

/* A node after the chain prefix: its ReLU layer (a Relu) or the ReLU layers
 * its output has passed, and the phase it runs in (onnx_dag.c, order). */
typedef struct {
    const Onnx__NodeProto *nd;
    size_t idx;                    /* index in the file */
    int stage, phase;
    bool relu;
} dnode;

/* The route's state, one per load. */
typedef struct {
    ld *L;
    dten *t;
    size_t nt;
    dnode *v;
    size_t nv;
    int width;                     /* the chain vector's length */
    bool *nn;                      /* [width]: known >= 0 */
    double *acc;                   /* scratch [width] */
    int *stamp, *touched, cur;
    int cap;                       /* scratch capacity */
    bool *pre;                     /* [n_node]: read by the chain prefix */
    int bn_layer;                  /* 1 + index of the last layer run_bn scaled, or 0 */
} dg;

/* A linear node's map: output o = beta[o] + sum over k in [rp[o], rp[o+1])
 * of w[k] * (input slot[k], element el[k]). */
typedef struct {
    int n;
    int *rp, *slot, *el;
    double *w, *beta;
    size_t nk, capk;
} lin;

/* Elements of a tensor of dims d[nd] (net__onnx_dims_prod). */
static inline int64_t net__dag_prod(const int64_t *d, int nd)
{
    return net__onnx_dims_prod(d, nd, false);
}

/* Exact arithmetic checks (round-to-nearest, which the loader sets). */

/* *p = w a when that product is a double exactly. */
static inline bool net__dag_mul_exact(double w, double a, double *p)
{
    if (w == 1.0 || a == 1.0) {
        *p = w == 1.0 ? a : w;
        return true;
    }
    if (w == -1.0 || a == -1.0) {
        *p = w == -1.0 ? -a : -w;
        return true;
    }
    if (w == 0.0 || a == 0.0) {
        *p = 0.0;
        return true;
    }
    double q = w * a;
    *p = q;
    return isfinite(q) && fabs(q) >= 0x1p-900 && fma(w, a, -q) == 0.0;
}

/* *s = x + y when that sum is a double exactly (two-sum). */
static inline bool net__dag_add_exact(double x, double y, double *s)
{
    double t = x + y;
    if (!isfinite(t))
        return false;
    double bb = t - x;
    *s = t;
    return (x - (t - bb)) + (y - bb) == 0.0;
}

/* Each builder reads L->node and fills the map m (slots index tin) and the
 * output dims od/ond. */
typedef struct {
    dg *D;
    lin m;
    dten *tin[8];
    int ntin;
    int64_t od[MAX_RANK];
    int ond;
} job;

/* The live tensor called name, or NULL (onnx_dag.c). */
dten *net__dag_find(dg *D, const char *name);
/* A map of n outputs (at most MAX_ELEMWISE; on failure nothing to free). */
cn_status net__dag_lin_init(dg *D, lin *m, int64_t n);
/* Appends the term w * (slot, el) to the row being built. */
cn_status net__dag_lin_push(dg *D, lin *m, double w, int slot, int el);
/* Ends row o with the constant beta (its terms: those pushed since the last row). */
void net__dag_lin_row(lin *m, int o, double beta);

/* onnx_dag_ops.c: the maps of the linear operators, for node L->node. */
cn_status net__dag_op_arith(job *J, char op);      /* Add, Sub, Mul, Div: op[0] */
cn_status net__dag_op_gemm(job *J);
cn_status net__dag_op_matmul(job *J);
cn_status net__dag_op_conv(job *J);
cn_status net__dag_op_transpose(job *J);
cn_status net__dag_op_slice(job *J);
cn_status net__dag_op_pad(job *J);
cn_status net__dag_op_concat(job *J);
/* AveragePool, GlobalAveragePool (global) with a window of 2^k elements. */
cn_status net__dag_op_avgpool(job *J, bool global);
/* Flatten, Reshape, Identity, Dropout, a final Softmax. */
cn_status net__dag_op_shape(job *J, const char *op);

#endif

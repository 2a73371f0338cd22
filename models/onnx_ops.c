/* onnx_ops.c — the ONNX loader's node reading: shapes, node attributes,
 * broadcasting a constant onto the chain tensor, and the dispatch of a node
 * to its operator's reader (net__onnx_read_node): onnx_ops_affine.c
 * (MatMul, Gemm, Conv, BatchNormalization) and onnx_ops_elem.c (Add / Sub /
 * Mul / Div, Relu, Sigmoid, Tanh, Flatten, Reshape, Dropout, Constant).  An affine
 * operator starts a pending layer and elementwise constants are collected in
 * the exact map L->e; onnx_fold.c folds them (see onnx_int.h for the state).
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "models/onnx_int.h"

const char *const net__onnx_no_attrs[] = {"consumed_inputs", NULL};

/* ------------------------------------------------------------------------ */
/* Shapes                                                                    */
/* ------------------------------------------------------------------------ */

/* Gives the current tensor the dims d[nd] (same number of elements). */
cn_status net__onnx_set_dims(ld *L, const int64_t *d, int nd)
{
    if (nd > MAX_RANK)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "result has rank %d; at most %d supported", nd,
                              MAX_RANK);
    int64_t p = net__onnx_dims_prod(d, nd, false);
    char b[128];
    if (p < 0)
        return net__onnx_fail(L, CN_EPARSE, "invalid result shape %s",
                              net__onnx_fmt_dims(b, sizeof b, d, nd));
    if (p != net__onnx_cur_size(L))
        return net__onnx_fail(L, CN_EPARSE, "result shape %s has %lld elements, input has %d",
                              net__onnx_fmt_dims(b, sizeof b, d, nd), (long long)p,
                              net__onnx_cur_size(L));
    memmove(L->dims, d, (size_t)nd * sizeof *d);
    L->nd = nd;
    return CN_OK;
}

/* ------------------------------------------------------------------------ */
/* Attributes                                                                */
/* ------------------------------------------------------------------------ */

const Onnx__AttributeProto *net__onnx_attr(const ld *L, const char *name)
{
    for (size_t i = 0; i < L->node->n_attribute; i++)
        if (strcmp(S(L->node->attribute[i]->name), name) == 0)
            return L->node->attribute[i];
    return NULL;
}

/* Refuses attributes not in the NULL-terminated list: an unknown attribute
 * might change the op's meaning. */
cn_status net__onnx_attrs_known(ld *L, const char *const *known)
{
    char nm[96];
    for (size_t i = 0; i < L->node->n_attribute; i++) {
        const char *a = S(L->node->attribute[i]->name);
        bool ok = false;
        for (const char *const *k = known; *k; k++)
            ok = ok || strcmp(*k, a) == 0;
        if (!ok)
            return net__onnx_fail(L, CN_EUNSUPPORTED, "unsupported attribute '%s'",
                                  net__onnx_clean(nm, sizeof nm, a));
    }
    return CN_OK;
}

static bool attr_is(const Onnx__AttributeProto *a, Onnx__AttributeProto__AttributeType t,
                    bool has)
{
    return a->type == t || (a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED && has);
}

cn_status net__onnx_attr_int(ld *L, const char *name, int64_t dflt, int64_t *out)
{
    const Onnx__AttributeProto *a = net__onnx_attr(L, name);
    if (!a) {
        *out = dflt;
        return CN_OK;
    }
    if (!attr_is(a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT, a->has_i))
        return net__onnx_fail(L, CN_EPARSE, "attribute '%s' must be an int", name);
    *out = a->i;
    return CN_OK;
}

cn_status net__onnx_attr_float(ld *L, const char *name, double dflt, double *out)
{
    const Onnx__AttributeProto *a = net__onnx_attr(L, name);
    if (!a) {
        *out = dflt;
        return CN_OK;
    }
    if (!attr_is(a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT, a->has_f) || !isfinite(a->f))
        return net__onnx_fail(L, CN_EPARSE, "attribute '%s' must be a finite float", name);
    *out = a->f;
    return CN_OK;
}

/* Ints attribute of exactly n values (absent: *present = false). */
cn_status net__onnx_attr_ints(ld *L, const char *name, size_t n, int64_t *out, bool *present)
{
    const Onnx__AttributeProto *a = net__onnx_attr(L, name);
    *present = a != NULL;
    if (!a)
        return CN_OK;
    if (!attr_is(a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS, a->n_ints > 0))
        return net__onnx_fail(L, CN_EPARSE, "attribute '%s' must be a list of ints", name);
    if (a->n_ints != n)
        return net__onnx_fail(L, CN_EUNSUPPORTED,
                              "attribute '%s' has %zu values; expected %zu (2-D)", name, a->n_ints,
                              n);
    memcpy(out, a->ints, n * sizeof *out);
    return CN_OK;
}

/* ------------------------------------------------------------------------ */
/* Broadcasting a constant onto a tensor                                     */
/* ------------------------------------------------------------------------ */

/* For each element of a tensor of dims td (the tensor itself must not grow),
 * idx[i] = index of the constant's value that broadcasts onto it.  rd/rnd:
 * the broadcast result's dims (td with leading 1s added). */
cn_status net__onnx_bcast(ld *L, const cst *k, const int64_t *td, int tnd, size_t *idx,
                          int64_t *rd, int *rnd)
{
    char b1[128], b2[128], nm[96];
    int r = tnd > k->nd ? tnd : k->nd;
    int64_t kstr[MAX_RANK], cnt[MAX_RANK];
    if (r > MAX_RANK)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "rank %d too large", r);
    int64_t stride = 1;
    for (int j = 0; j < r; j++) {                  /* j counts from the right */
        int64_t xd = j < tnd ? td[tnd - 1 - j] : 1, kd = j < k->nd ? k->dims[k->nd - 1 - j] : 1;
        if (kd != xd && !(kd == 1))
            return net__onnx_fail(L, CN_EPARSE,
                                  "constant '%s' of shape %s does not broadcast to %s",
                                  net__onnx_clean(nm, sizeof nm, k->name),
                                  net__onnx_fmt_dims(b1, sizeof b1, k->dims, k->nd),
                                  net__onnx_fmt_dims(b2, sizeof b2, td, tnd));
        rd[r - 1 - j] = xd;
        kstr[r - 1 - j] = kd == 1 ? 0 : stride;
        stride *= kd;
        cnt[r - 1 - j] = 0;
    }
    *rnd = r;
    int64_t n = net__onnx_dims_prod(rd, r, false);
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

static bool is_activation(const char *op)
{
    static const char *const acts[] = {
        "LeakyRelu", "PRelu", "Elu", "Selu", "Celu", "Softplus",
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
cn_status net__onnx_read_node(ld *L)
{
    const Onnx__NodeProto *nd = L->node;
    const char *op = S(nd->op_type);
    char nm[96];
    const char *dom = S(nd->domain);
    if (*dom && strcmp(dom, "ai.onnx") != 0)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "operator domain '%s' is not supported",
                              net__onnx_clean(nm, sizeof nm, dom));
    if (strcmp(op, "Constant") == 0)
        return net__onnx_op_constant(L);
    /* exactly one input is the chain's current tensor; the rest are constants */
    size_t xi = SIZE_MAX;
    for (size_t i = 0; i < nd->n_input; i++) {
        const char *in = S(nd->input[i]);
        if (!*in)
            continue;
        if (strcmp(in, L->cur) == 0) {
            if (xi != SIZE_MAX)
                return net__onnx_fail(L, CN_EUNSUPPORTED,
                                      "uses '%s' twice; not an affine map of it",
                                      net__onnx_clean(nm, sizeof nm, in));
            xi = i;
        } else if (!net__onnx_const_find(L, in)) {
            if (!defined(L, in))
                return net__onnx_fail(
                    L, CN_EPARSE,
                    "input '%s' is not defined by any initializer, Constant, node or "
                    "graph input (missing initializer?)",
                    net__onnx_clean(nm, sizeof nm, in));
            return net__onnx_fail(
                L, CN_EUNSUPPORTED,
                "input '%s' is neither a constant nor the previous layer's output; the "
                "graph is not a chain (branches and joins are unsupported)",
                net__onnx_clean(nm, sizeof nm, in));
        }
    }
    if (xi == SIZE_MAX)
        return net__onnx_fail(
            L, CN_EUNSUPPORTED,
            "does not consume the chain tensor '%s' (constant folding and branches "
            "are unsupported)",
            net__onnx_clean(nm, sizeof nm, L->cur));
    if (nd->n_output < 1 || !*S(nd->output[0]))
        return net__onnx_fail(L, CN_EPARSE, "node has no output");
    size_t max_out = strcmp(op, "Dropout") == 0 || strcmp(op, "BatchNormalization") == 0 ? 5 : 1;
    if (nd->n_output > max_out)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "expected one output, got %zu", nd->n_output);
    if (net__onnx_const_find(L, nd->output[0]))
        return net__onnx_fail(L, CN_EPARSE, "output '%s' redefines a constant",
                              net__onnx_clean(nm, sizeof nm, nd->output[0]));
    cn_status s;
    if (L->softmax)
        return net__onnx_fail(L, CN_EUNSUPPORTED,
                              "follows a Softmax; Softmax is supported only as the last node");
    if (strcmp(op, "Relu") == 0)
        s = net__onnx_op_relu(L);
    else if (strcmp(op, "Sigmoid") == 0)
        s = net__onnx_op_act(L, NET_SIGMOID);
    else if (strcmp(op, "Tanh") == 0)
        s = net__onnx_op_act(L, NET_TANH);
    else if (strcmp(op, "LeakyRelu") == 0)
        s = net__onnx_op_leakyrelu(L);
    else if (strcmp(op, "Clip") == 0)
        s = net__onnx_op_clip(L, xi);
    else if (strcmp(op, "Softmax") == 0)
        s = net__onnx_op_softmax(L);
    else if (strcmp(op, "MatMul") == 0)
        s = net__onnx_op_matmul(L, xi);
    else if (strcmp(op, "Gemm") == 0)
        s = net__onnx_op_gemm(L, xi);
    else if (strcmp(op, "Conv") == 0)
        s = net__onnx_op_conv(L, xi);
    else if (strcmp(op, "Add") == 0 || strcmp(op, "Sub") == 0 || strcmp(op, "Mul") == 0 ||
             strcmp(op, "Div") == 0)
        s = net__onnx_op_arith(L, op, xi);
    else if (strcmp(op, "BatchNormalization") == 0)
        s = xi == 0 ? net__onnx_op_batchnorm(L)
                    : net__onnx_fail(L, CN_EUNSUPPORTED, "the input must be X");
    else if (strcmp(op, "Flatten") == 0)
        s = net__onnx_op_flatten(L);
    else if (strcmp(op, "Reshape") == 0)
        s = xi == 0 ? net__onnx_op_reshape(L)
                    : net__onnx_fail(L, CN_EUNSUPPORTED, "the input must be the data");
    else if (strcmp(op, "Pad") == 0)
        s = xi == 0 ? net__onnx_op_pad(L)
                    : net__onnx_fail(L, CN_EUNSUPPORTED, "the input must be the data");
    else if (strcmp(op, "AveragePool") == 0)
        s = net__onnx_op_avgpool(L);
    else if (strcmp(op, "GlobalAveragePool") == 0)
        s = net__onnx_op_globalavgpool(L);
    else if (strcmp(op, "MaxPool") == 0)
        s = net__onnx_op_maxpool(L);
    else if (strcmp(op, "Identity") == 0)
        s = net__onnx_attrs_known(L, net__onnx_no_attrs + 1);
    else if (strcmp(op, "Dropout") == 0)
        s = xi == 0 ? net__onnx_op_dropout(L)
                    : net__onnx_fail(L, CN_EUNSUPPORTED, "the input must be the data");
    else if (is_activation(op))
        return net__onnx_fail(L, CN_EUNSUPPORTED,
                              "unsupported activation; certnn verifies Relu, LeakyRelu, Clip, Sigmoid, "
                              "Tanh and a final Softmax");
    else
        return net__onnx_fail(
            L, CN_EUNSUPPORTED,
            "unsupported operator; supported: MatMul, Gemm, Conv, Add, Sub, Mul, Div, "
            "BatchNormalization, Relu, LeakyRelu, Clip, Sigmoid, Tanh, Softmax (last), "
            "Flatten, Reshape, Identity, Dropout, Constant, Pad, AveragePool, "
            "GlobalAveragePool, MaxPool");
    if (s)
        return s;
    L->cur = nd->output[0];
    return CN_OK;
}

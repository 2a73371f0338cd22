/* onnx_ops_elem.c — readers of the elementwise and shape ONNX operators:
 * Add / Sub / Mul / Div with a constant (collected in the exact map L->e),
 * Relu, Sigmoid, Tanh, Flatten, Reshape, Dropout (inference: identity) and Constant. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "models/onnx_int.h"

/* Add / Sub / Mul / Div with one constant operand; xi: the tensor's slot. */
cn_status net__onnx_op_arith(ld *L, const char *op, size_t xi)
{
    static const char *const known[] = {"broadcast", "consumed_inputs", NULL};
    cn_status s;
    cst *k;
    if ((s = net__onnx_attrs_known(L, known)))
        return s;
    if (L->node->n_input != 2)
        return net__onnx_fail(L, CN_EPARSE, "expected 2 inputs, got %zu", L->node->n_input);
    if ((s = net__onnx_node_const(L, 1 - xi, "operand", &k)))
        return s;
    bool add = op[0] == 'A', sub = op[0] == 'S', mul = op[0] == 'M';
    if (op[0] == 'D' && xi == 1)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "dividing a constant by the input is not affine");
    /* a bias directly after MatMul/Gemm/Conv is part of that layer */
    bool bias = L->p.op && !L->has_e && !L->p.has_bias && (add || (sub && xi == 0));
    size_t n = (size_t)net__onnx_cur_size(L);
    if (n > MAX_ELEMWISE)
        return net__onnx_fail(L, CN_ELIMIT,
                              "elementwise operation on %zu values; at most %d supported", n,
                              MAX_ELEMWISE);
    size_t *idx = cn_mallocarray(n, sizeof *idx);
    int64_t rd[MAX_RANK];
    int rnd;
    if (!idx)
        return net__onnx_nomem(L);
    if ((s = net__onnx_bcast(L, k, L->dims, L->nd, idx, rd, &rnd)) || (s = net__onnx_need_e(L))) {
        cn_free(idx);
        return s;
    }
    mpq_t v, av;
    mpq_inits(v, av, NULL);
    for (size_t i = 0; i < n; i++) {
        mpq_set_d(v, k->v[idx[i]]);
        mpq_abs(av, v);
        elem *e = &L->e;
        if (add) {
            mpq_add(e->c[i], e->c[i], v);
        } else if (sub && xi == 0) {
            mpq_sub(e->c[i], e->c[i], v);
        } else if (sub) {                          /* v - x */
            mpq_neg(e->a[i], e->a[i]);
            mpq_sub(e->c[i], v, e->c[i]);
        } else if (mul) {                          /* radii scale by |v| */
            mpq_mul(e->a[i], e->a[i], v);
            mpq_mul(e->c[i], e->c[i], v);
            if (e->ra) {
                mpq_mul(e->ra[i], e->ra[i], av);
                mpq_mul(e->rc[i], e->rc[i], av);
            }
        } else {
            if (mpq_sgn(v) == 0) {
                mpq_clears(v, av, NULL);
                cn_free(idx);
                return net__onnx_fail(L, CN_EPARSE, "division by a zero constant");
            }
            mpq_div(e->a[i], e->a[i], v);
            mpq_div(e->c[i], e->c[i], v);
            if (e->ra) {
                mpq_div(e->ra[i], e->ra[i], av);
                mpq_div(e->rc[i], e->rc[i], av);
            }
        }
    }
    mpq_clears(v, av, NULL);
    cn_free(idx);
    if (bias)
        L->p.has_bias = true;
    else
        L->folded++;
    return net__onnx_set_dims(L, rd, rnd);
}

cn_status net__onnx_op_relu(ld *L)
{
    return net__onnx_op_act(L, NET_RELU);
}

/* Relu, Sigmoid, Tanh: no attributes (opset 6+), one elementwise layer. */
cn_status net__onnx_op_act(ld *L, net_op op)
{
    cn_status s;
    cn_err e2;
    if ((s = net__onnx_attrs_known(L, net__onnx_no_attrs)) || (s = net__onnx_flush(L)) ||
        (s = net__onnx_materialize(L)))
        return s;
    net_shape sh = net__tail_shape(L->n);
    if (sh.c * sh.h * sh.w != net__onnx_cur_size(L))
        return net__onnx_fail(L, CN_EINTERNAL, "activation size bookkeeping");
    if (!net_add_act(L->n, op, &e2))
        return net__onnx_fail(L, e2.status, "%s", e2.msg);
    return CN_OK;
}

cn_status net__onnx_op_flatten(ld *L)
{
    static const char *const known[] = {"axis", NULL};
    cn_status s;
    int64_t axis;
    if ((s = net__onnx_attrs_known(L, known)) || (s = net__onnx_attr_int(L, "axis", 1, &axis)))
        return s;
    if (axis < 0)
        axis += L->nd;
    if (axis < 0 || axis > L->nd)
        return net__onnx_fail(L, CN_EPARSE, "axis out of range for rank %d", L->nd);
    int64_t d[2] = {net__onnx_dims_prod(L->dims, (int)axis, false),
                    net__onnx_dims_prod(L->dims + axis, L->nd - (int)axis, false)};
    return net__onnx_set_dims(L, d, 2);
}

cn_status net__onnx_op_reshape(ld *L)
{
    static const char *const known[] = {"allowzero", "shape", "consumed_inputs", NULL};
    cn_status s;
    int64_t allow0, sh[MAX_RANK], d[MAX_RANK];
    size_t ns;
    if ((s = net__onnx_attrs_known(L, known)) ||
        (s = net__onnx_attr_int(L, "allowzero", 0, &allow0)))
        return s;
    const Onnx__AttributeProto *a = net__onnx_attr(L, "shape");
    if (L->node->n_input == 2) {
        cst *k = net__onnx_const_find(L, L->node->input[1]);
        if (!k)
            return net__onnx_fail(L, CN_EUNSUPPORTED, "the target shape must be a constant");
        if ((s = net__onnx_const_int64(L, k)))
            return s;
        ns = k->n;
        if (ns)
            memcpy(sh, k->iv, ns * sizeof *sh);
    } else if (L->node->n_input == 1 && a && a->n_ints <= MAX_RANK) {
        ns = a->n_ints;
        if (ns)
            memcpy(sh, a->ints, ns * sizeof *sh);
    } else {
        return net__onnx_fail(L, CN_EPARSE, "expected a data input and a shape");
    }
    int infer = -1;
    int64_t known_p = 1;
    for (size_t i = 0; i < ns; i++) {
        d[i] = sh[i];
        if (sh[i] == 0 && !allow0) {
            if ((int)i >= L->nd)
                return net__onnx_fail(L, CN_EPARSE, "shape entry %zu is 0 beyond the input's rank",
                                      i);
            d[i] = L->dims[i];
        } else if (sh[i] == -1) {
            if (infer >= 0)
                return net__onnx_fail(L, CN_EPARSE, "more than one -1 in the target shape");
            infer = (int)i;
            continue;
        } else if (sh[i] < 1 || sh[i] > MAX_ELEMS) {
            return net__onnx_fail(L, CN_EPARSE, "invalid target dimension %lld", (long long)sh[i]);
        }
        known_p *= d[i];
        if (known_p > MAX_ELEMS)
            return net__onnx_fail(L, CN_EPARSE, "target shape too large");
    }
    if (infer >= 0) {
        if (net__onnx_cur_size(L) % known_p)
            return net__onnx_fail(L, CN_EPARSE,
                                  "cannot infer -1: %d elements do not divide by %lld",
                                  net__onnx_cur_size(L), (long long)known_p);
        d[infer] = net__onnx_cur_size(L) / known_p;
    }
    return net__onnx_set_dims(L, d, (int)ns);
}

cn_status net__onnx_op_dropout(ld *L)
{
    static const char *const known[] = {"ratio", "seed", "is_test", "consumed_inputs", NULL};
    cn_status s;
    if ((s = net__onnx_attrs_known(L, known)))
        return s;
    if (L->node->n_input == 3 && *S(L->node->input[2])) {
        cst *k = net__onnx_const_find(L, L->node->input[2]);
        bool on = true;
        if (k && k->t && k->t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL && k->nd == 0)
            on = k->t->has_raw_data ? (k->t->raw_data.len == 1 && k->t->raw_data.data[0])
                                    : (k->t->n_int32_data == 1 && k->t->int32_data[0]);
        if (on)
            return net__onnx_fail(L, CN_EUNSUPPORTED, "training_mode must be a constant false");
    }
    return CN_OK;
}

/* A Constant node: registers its value. */
cn_status net__onnx_op_constant(ld *L)
{
    char nm[96];
    if (L->node->n_output != 1 || L->node->n_input != 0)
        return net__onnx_fail(L, CN_EPARSE, "expected no inputs and one output");
    if (L->node->n_attribute != 1)
        return net__onnx_fail(L, CN_EPARSE, "expected exactly one value attribute");
    const Onnx__AttributeProto *a = L->node->attribute[0];
    const char *an = S(a->name);
    const char *out = L->node->output[0];
    if (L->cur && strcmp(S(out), L->cur) == 0)
        return net__onnx_fail(L, CN_EPARSE, "output '%s' redefines the input",
                              net__onnx_clean(nm, sizeof nm, out));
    cst *k;
    cn_status s = net__onnx_const_add(L, out, &k);
    if (s)
        return s;
    if (strcmp(an, "value") == 0) {
        if (!a->t)
            return net__onnx_fail(L, CN_EPARSE, "attribute 'value' holds no tensor");
        k->t = a->t;
        return net__onnx_tensor_dims(L, k, a->t);
    }
    bool fl = strcmp(an, "value_float") == 0, fls = strcmp(an, "value_floats") == 0;
    bool in = strcmp(an, "value_int") == 0, ins = strcmp(an, "value_ints") == 0;
    if (!fl && !fls && !in && !ins)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "unsupported attribute '%s'",
                              net__onnx_clean(nm, sizeof nm, an));
    size_t n = fl || in ? 1 : fls ? a->n_floats : a->n_ints;
    if (ins && n > MAX_RANK)
        return net__onnx_fail(L, CN_EUNSUPPORTED, "value_ints with %zu values", n);
    if (fl || fls) {
        if (!(k->v = cn_mallocarray(n, sizeof(double))))
            return net__onnx_nomem(L);
        for (size_t i = 0; i < n; i++) {
            k->v[i] = fl ? a->f : a->floats[i];
            if (!isfinite(k->v[i]))
                return net__onnx_fail(L, CN_EPARSE, "value is not finite");
        }
    } else {
        if (!(k->iv = cn_mallocarray(n, sizeof(int64_t))))
            return net__onnx_nomem(L);
        for (size_t i = 0; i < n; i++)
            k->iv[i] = in ? a->i : a->ints[i];
    }
    k->n = n;
    k->nd = fl || in ? 0 : 1;
    k->dims[0] = (int64_t)n;
    return CN_OK;
}


/* onnx_mb.c — the tests' in-memory ONNX model builder (onnx_mb.h). */
#include "config.h"

#include "tests/onnx_mb.h"
#include "tests/testutil.h"

static void mb_vi(mb *b, int k, const char *name, const int64_t *d, int nd)
{
    for (int i = 0; i < nd; i++) {
        b->dim[k][i] = (Onnx__TensorShapeProto__Dimension)ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
        b->dim[k][i].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        b->dim[k][i].dim_value = d[i];
        b->dimp[k][i] = &b->dim[k][i];
    }
    b->sh[k] = (Onnx__TensorShapeProto)ONNX__TENSOR_SHAPE_PROTO__INIT;
    b->sh[k].n_dim = (size_t)nd;
    b->sh[k].dim = b->dimp[k];
    b->tt[k] = (Onnx__TypeProto__Tensor)ONNX__TYPE_PROTO__TENSOR__INIT;
    b->tt[k].has_elem_type = 1;
    b->tt[k].elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    b->tt[k].shape = &b->sh[k];
    b->tp[k] = (Onnx__TypeProto)ONNX__TYPE_PROTO__INIT;
    b->tp[k].value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    b->tp[k].tensor_type = &b->tt[k];
    b->vi[k] = (Onnx__ValueInfoProto)ONNX__VALUE_INFO_PROTO__INIT;
    b->vi[k].name = (char *)name;
    b->vi[k].type = &b->tp[k];
}

mb *mb_new(const int64_t *din, int nin, const int64_t *dout, int nout)
{
    mb *b = calloc(1, sizeof *b);
    assert_non_null(b);
    b->m = (Onnx__ModelProto)ONNX__MODEL_PROTO__INIT;
    b->g = (Onnx__GraphProto)ONNX__GRAPH_PROTO__INIT;
    b->op = (Onnx__OperatorSetIdProto)ONNX__OPERATOR_SET_ID_PROTO__INIT;
    b->op.has_version = 1;
    b->op.version = 13;
    b->ops[0] = &b->op;
    b->m.has_ir_version = 1;
    b->m.ir_version = 7;
    b->m.n_opset_import = 1;
    b->m.opset_import = b->ops;
    b->m.graph = &b->g;
    mb_vi(b, 0, "x", din, nin);
    mb_vi(b, 1, "y", dout, nout);
    b->vin[0] = &b->vi[0];
    b->vout[0] = &b->vi[1];
    b->g.n_input = 1;
    b->g.input = b->vin;
    b->g.n_output = 1;
    b->g.output = b->vout;
    b->g.node = b->nodes;
    b->g.initializer = b->inits;
    return b;
}

/* Float initializer stored in float_data (data must outlive b). */
Onnx__TensorProto *mb_init_f(mb *b, const char *name, const int64_t *d, int nd, float *data)
{
    size_t k = b->g.n_initializer++;
    assert_true(k < MB_INITS);
    Onnx__TensorProto *t = &b->init[k];
    *t = (Onnx__TensorProto)ONNX__TENSOR_PROTO__INIT;
    size_t n = 1;
    for (int i = 0; i < nd; i++) {
        b->idims[k][i] = d[i];
        n *= (size_t)d[i];
    }
    t->n_dims = (size_t)nd;
    t->dims = b->idims[k];
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    t->name = (char *)name;
    t->n_float_data = n;
    t->float_data = data;
    b->inits[k] = t;
    return t;
}

/* int64 initializer stored in int64_data (data must outlive b). */
Onnx__TensorProto *mb_init_i64(mb *b, const char *name, const int64_t *d, int nd, int64_t *data)
{
    Onnx__TensorProto *t = mb_init_f(b, name, d, nd, NULL);
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
    t->n_int64_data = t->n_float_data;
    t->int64_data = data;
    t->n_float_data = 0;
    return t;
}

/* Node with inputs given as a NULL-terminated list. */
int mb_node(mb *b, const char *op, const char *name, const char *out, ...)
{
    size_t k = b->g.n_node++;
    assert_true(k < MB_NODES);
    Onnx__NodeProto *nd = &b->node[k];
    *nd = (Onnx__NodeProto)ONNX__NODE_PROTO__INIT;
    va_list ap;
    va_start(ap, out);
    const char *in;
    while ((in = va_arg(ap, const char *)) != NULL)
        b->nin[k][nd->n_input++] = (char *)in;
    va_end(ap);
    nd->input = b->nin[k];
    b->nout[k][0] = (char *)out;
    nd->n_output = 1;
    nd->output = b->nout[k];
    nd->name = (char *)name;
    nd->op_type = (char *)op;
    nd->attribute = b->attrs[k];
    b->nodes[k] = nd;
    return (int)k;
}

static Onnx__AttributeProto *mb_attr(mb *b, int node, const char *name,
                                     Onnx__AttributeProto__AttributeType type)
{
    Onnx__NodeProto *nd = &b->node[node];
    size_t k = nd->n_attribute++;
    assert_true(k < MB_ATTRS);
    Onnx__AttributeProto *a = &b->attr[node][k];
    *a = (Onnx__AttributeProto)ONNX__ATTRIBUTE_PROTO__INIT;
    a->name = (char *)name;
    a->has_type = 1;
    a->type = type;
    b->attrs[node][k] = a;
    return a;
}

void mb_attr_i(mb *b, int node, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = mb_attr(b, node, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = v;
}

void mb_attr_f(mb *b, int node, const char *name, float v)
{
    Onnx__AttributeProto *a = mb_attr(b, node, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1;
    a->f = v;
}

void mb_attr_s(mb *b, int node, const char *name, const char *v)
{
    Onnx__AttributeProto *a = mb_attr(b, node, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    a->has_s = 1;
    a->s.len = strlen(v);
    a->s.data = (uint8_t *)v;
}

void mb_attr_ints(mb *b, int node, const char *name, int n, const int64_t *v)
{
    Onnx__AttributeProto *a = mb_attr(b, node, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    int64_t *w = b->aints[node][b->node[node].n_attribute - 1];
    memcpy(w, v, (size_t)n * sizeof *w);
    a->n_ints = (size_t)n;
    a->ints = w;
}

unsigned char *mb_pack(const mb *b, size_t *len)
{
    *len = onnx__model_proto__get_packed_size(&b->m);
    unsigned char *buf = malloc(*len ? *len : 1);
    assert_int_equal(onnx__model_proto__pack(&b->m, buf), *len);
    return buf;
}

cn_status mb_load(const mb *b, net **out, cn_err *err)
{
    size_t len;
    unsigned char *buf = mb_pack(b, &len);
    /* CN_ONNX_SEEDS=DIR keeps every hand-built model (fuzzing seeds) */
    const char *dir = getenv("CN_ONNX_SEEDS");
    if (dir && *dir) {
        static int seq;
        char path[512];
        snprintf(path, sizeof path, "%s/hand_%d.onnx", dir, seq++);
        FILE *f = fopen(path, "wb");
        if (f) {
            fwrite(buf, 1, len, f);
            fclose(f);
        }
    }
    cn_status s = net_load_onnx_mem(buf, len, "hand.onnx", out, err);
    free(buf);
    return s;
}

net *mb_load_ok(const mb *b)
{
    net *n = NULL;
    cn_err err;
    if (mb_load(b, &n, &err) != CN_OK)
        fail_msg("%s", err.msg);
    return n;
}

float rndf(tu_rng *r) { return (float)(2 * tu_unif(r) - 1); }

void rndf_fill(tu_rng *r, float *v, int n)
{
    for (int i = 0; i < n; i++)
        v[i] = rndf(r);
}

void mb_inits(mb *b, int n, const mb_tensor *t)
{
    for (int i = 0; i < n; i++)
        mb_init_f(b, t[i].name, t[i].d, t[i].nd, t[i].data);
}

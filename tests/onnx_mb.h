/* onnx_mb.h — a small ONNX model builder over the generated protobuf-c
 * structs, shared by the tests that build models in memory (test_onnx,
 * test_fold).  A model has input "x" and output "y"; nodes, initializers
 * and attributes point to caller data that must outlive the builder (free
 * the builder with free()).  mb_load loads the packed bytes as "hand.onnx";
 * CN_ONNX_SEEDS=DIR keeps each model there (fuzzing seeds). */
#ifndef CERTNN_TESTS_ONNX_MB_H
#define CERTNN_TESTS_ONNX_MB_H

#include "models/models.h"
#include "models/onnx.pb-c.h"
#include "tests/testutil.h"

enum { MB_NODES = 24, MB_ATTRS = 6, MB_INITS = 32 };

typedef struct {
    Onnx__ModelProto m;
    Onnx__GraphProto g;
    Onnx__OperatorSetIdProto op, *ops[1];
    Onnx__NodeProto node[MB_NODES], *nodes[MB_NODES];
    char *nin[MB_NODES][5], *nout[MB_NODES][1];
    Onnx__AttributeProto attr[MB_NODES][MB_ATTRS], *attrs[MB_NODES][MB_ATTRS];
    int64_t aints[MB_NODES][MB_ATTRS][4];
    Onnx__TensorProto init[MB_INITS], *inits[MB_INITS];
    int64_t idims[MB_INITS][4];
    Onnx__ValueInfoProto vi[2], *vin[1], *vout[1];
    Onnx__TypeProto tp[2];
    Onnx__TypeProto__Tensor tt[2];
    Onnx__TensorShapeProto sh[2];
    Onnx__TensorShapeProto__Dimension dim[2][4], *dimp[2][4];
} mb;

/* New model with input "x" of dims din and output "y" of dims dout. */
mb *mb_new(const int64_t *din, int nin, const int64_t *dout, int nout);
Onnx__TensorProto *mb_init_f(mb *b, const char *name, const int64_t *d, int nd, float *data);
/* An int64 initializer (shapes, Slice's starts / ends / axes / steps). */
Onnx__TensorProto *mb_init_i64(mb *b, const char *name, const int64_t *d, int nd, int64_t *data);
/* One float initializer: name, dims d[nd], data (the caller's). */
typedef struct {
    const char *name;
    const int64_t *d;
    int nd;
    float *data;
} mb_tensor;
/* mb_init_f for each of the n tensors t, in order. */
void mb_inits(mb *b, int n, const mb_tensor *t);
int mb_node(mb *b, const char *op, const char *name, const char *out, ...);
void mb_attr_i(mb *b, int node, const char *name, int64_t v);
void mb_attr_f(mb *b, int node, const char *name, float v);
void mb_attr_s(mb *b, int node, const char *name, const char *v);
void mb_attr_ints(mb *b, int node, const char *name, int n, const int64_t *v);
unsigned char *mb_pack(const mb *b, size_t *len);
cn_status mb_load(const mb *b, net **out, cn_err *err);
/* mb_load, or the test fails with the loader's message. */
net *mb_load_ok(const mb *b);

/* A float32 value uniform in [-1, 1) (the hand-built models' weights and inputs). */
float rndf(tu_rng *r);
/* v[0..n-1] = rndf(r), in order. */
void rndf_fill(tu_rng *r, float *v, int n);

#endif

/* make_bad_onnx.c — regenerates tests/data/bad/<defect>.onnx from the shared
 * test_small.onnx.  Not part of the build; the corpus files are committed.
 *
 *   cc -I BUILDDIR -I SRCDIR tests/data/make_bad_onnx.c BUILDDIR/models/onnx.pb-c.c \
 *      -lprotobuf-c -o /tmp/make_bad_onnx
 *   /tmp/make_bad_onnx ../shared/benchmarks/test/test_small.onnx tests/data/bad
 *
 * test_small: X_0 [1] -> MatMul(W0 [2,1], X_0) -> Add B0 -> Relu -> MatMul(W1 [2,2])
 *             -> Add B1 -> Relu -> MatMul(W2 [1,2]) -> Add B2 -> Y_0
 * The expected message of each file is asserted in tests/test_onnx.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/onnx.pb-c.h"

static unsigned char *orig;
static size_t orig_len;
static const char *dir;

static void write_bytes(const char *name, const void *p, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.onnx", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
        perror(path);
        exit(1);
    }
}

static Onnx__ModelProto *fresh(void)
{
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, orig_len, orig);
    if (!m) {
        fprintf(stderr, "cannot decode the source model\n");
        exit(1);
    }
    return m;
}

static void write_model(const char *name, Onnx__ModelProto *m)
{
    size_t n = onnx__model_proto__get_packed_size(m);
    unsigned char *b = malloc(n);
    onnx__model_proto__pack(m, b);
    write_bytes(name, b, n);
    free(b);
}

static Onnx__TensorProto *init(Onnx__ModelProto *m, const char *name)
{
    for (size_t i = 0; i < m->graph->n_initializer; i++)
        if (strcmp(m->graph->initializer[i]->name, name) == 0)
            return m->graph->initializer[i];
    fprintf(stderr, "no initializer %s\n", name);
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s test_small.onnx OUTDIR\n", argv[0]);
        return 2;
    }
    dir = argv[2];
    FILE *f = fopen(argv[1], "rb");
    if (!f)
        return 1;
    orig = malloc(1 << 20);
    orig_len = fread(orig, 1, 1 << 20, f);
    fclose(f);

    write_bytes("empty", "", 0);

    unsigned char rnd[256];
    unsigned long long s = 12345;
    for (size_t i = 0; i < sizeof rnd; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        rnd[i] = (unsigned char)(s >> 56);
    }
    write_bytes("random_bytes", rnd, sizeof rnd);
    write_bytes("truncated", orig, orig_len / 2);

    Onnx__ModelProto *m = fresh();
    m->graph->node[2]->op_type = "Gather";                   /* the first Relu */
    write_model("unsupported_op", m);

    m = fresh();
    m->graph->node[2]->op_type = "Softplus";              /* an activation certnn lacks */
    write_model("softplus", m);

    m = fresh();
    init(m, "W1")->raw_data.len = 12;                        /* dims [2,2] need 16 */
    write_model("bad_raw_data_length", m);

    m = fresh();
    {
        Onnx__GraphProto *g = m->graph;                      /* drop B1 */
        size_t k = 0;
        for (size_t i = 0; i < g->n_initializer; i++)
            if (strcmp(g->initializer[i]->name, "B1") != 0)
                g->initializer[k++] = g->initializer[i];
        g->n_initializer = k;
    }
    write_model("missing_initializer", m);

    m = fresh();
    {
        Onnx__TensorProto *t = init(m, "W1");               /* [2,2] -> [4,1] */
        t->dims[0] = 4;
        t->dims[1] = 1;
    }
    write_model("shape_mismatch", m);

    m = fresh();
    {
        Onnx__TensorProto *t = init(m, "B0");
        float nan = NAN;
        memcpy(t->raw_data.data + 4, &nan, 4);
    }
    write_model("nan_weight", m);

    m = fresh();
    m->graph = NULL;                                         /* a ModelProto with no graph */
    write_model("no_graph", m);

    m = fresh();
    init(m, "W0")->has_data_location = 1;
    init(m, "W0")->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    write_model("external_data", m);

    m = fresh();
    m->graph->output[0]->name = "M2";                        /* before the last Add */
    write_model("output_not_end", m);

    m = fresh();
    m->graph->input[0]->type->tensor_type->shape->dim[0]->dim_value = 1LL << 40;
    write_model("huge_input_dims", m);

    m = fresh();
    init(m, "W1")->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT32;
    write_model("int_weight", m);
    return 0;
}

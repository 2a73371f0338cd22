/* test_onnx.c — the ONNX loader and writer: every shared benchmark network,
 * numerical checks on the tiny nets, the malformed corpus tests/data/bad,
 * save -> load round trips and an out-of-memory loop; with the hand-built
 * models of test_onnx_ops.c, one program. */
#include "config.h"

#include <math.h>
#include <unistd.h>

#include <protobuf-c/protobuf-c.h>

#include "models/models.h"
#include "models/onnx.pb-c.h"
#include "tests/exact.h"
#include "tests/onnx_mb.h"
#include "tests/groups.h"
#include "tests/testutil.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

static net *load_ok(const char *path)
{
    net *n = NULL;
    cn_err err;
    cn_status s = net_load_onnx(path, &n, &err);
    if (s != CN_OK)
        fail_msg("%s: %s", path, err.msg);
    assert_non_null(n);
    return n;
}

static int count_op(const net *n, net_op op)
{
    int c = 0;
    for (int i = 0; i < net_n_layers(n); i++)
        c += net_layer_at(n, i)->op == op;
    return c;
}

static size_t layer_nw(const net_layer *l)
{
    if (l->op == NET_DENSE)
        return (size_t)l->in * l->out;
    if (l->op == NET_CONV)
        return (size_t)l->out_shape.c * l->in_shape.c * l->kh * l->kw;
    return 0;
}

static size_t layer_nb(const net_layer *l)
{
    return l->op == NET_DENSE ? (size_t)l->out : l->op == NET_CONV ? (size_t)l->out_shape.c : 0;
}

/* Same layers, shapes and bit-identical weights. */
static void assert_same_net(const net *a, const net *b)
{
    assert_int_equal(net_n_layers(a), net_n_layers(b));
    assert_int_equal(net_in_size(a), net_in_size(b));
    for (int i = 0; i < net_n_layers(a); i++) {
        const net_layer *x = net_layer_at(a, i), *y = net_layer_at(b, i);
        assert_int_equal(x->op, y->op);
        assert_int_equal(x->in, y->in);
        assert_int_equal(x->out, y->out);
        assert_memory_equal(&x->out_shape, &y->out_shape, sizeof x->out_shape);
        if (x->op == NET_CONV) {
            assert_memory_equal(&x->in_shape, &y->in_shape, sizeof x->in_shape);
            assert_int_equal(x->kh, y->kh);
            assert_int_equal(x->kw, y->kw);
            assert_int_equal(x->stride_h, y->stride_h);
            assert_int_equal(x->stride_w, y->stride_w);
            assert_int_equal(x->pad_t, y->pad_t);
            assert_int_equal(x->pad_l, y->pad_l);
            assert_int_equal(x->pad_b, y->pad_b);
            assert_int_equal(x->pad_r, y->pad_r);
        }
        if (layer_nw(x))
            assert_memory_equal(x->W, y->W, layer_nw(x) * sizeof(double));
        if (layer_nb(x))
            assert_memory_equal(x->b, y->b, layer_nb(x) * sizeof(double));
    }
}

/* Exact outputs of a and b agree at random float32 points in [-1, 1]. */
static void assert_same_outputs(const net *a, const net *b, tu_rng *r, int points)
{
    int in = net_in_size(a), out = net_out_size(a);
    assert_int_equal(out, net_out_size(b));
    double *x = calloc((size_t)in, sizeof *x);
    mpq_t *ya = qv(out), *yb = qv(out);
    cn_err err;
    for (int t = 0; t < points; t++) {
        for (int k = 0; k < in; k++)
            x[k] = (double)(float)(2 * tu_unif(r) - 1);
        assert_int_equal(net_eval_exact_d(a, x, ya, &err), CN_OK);
        assert_int_equal(net_eval_exact_d(b, x, yb, &err), CN_OK);
        for (int k = 0; k < out; k++)
            assert_true(mpq_equal(ya[k], yb[k]));
    }
    qv_free(ya, out);
    qv_free(yb, out);
    free(x);
}

static const char *tmp_path(const char *tag)
{
    static char buf[512];
    const char *d = getenv("TMPDIR");
    snprintf(buf, sizeof buf, "%s/certnn_test_onnx_%s_%ld.onnx", d && *d ? d : "/tmp", tag,
             (long)getpid());
    return buf;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t cap = 1 << 16, n = 0;
    unsigned char *b = malloc(cap);
    size_t got;
    while ((got = fread(b + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            b = realloc(b, cap *= 2);
    }
    fclose(f);
    *len = n;
    return b;
}

/* ------------------------------------------------------------------------ */
/* Shared benchmark networks                                                 */
/* ------------------------------------------------------------------------ */

static void test_acasxu_all(void **state)
{
    char rel[128];
    for (int a = 1; a <= 5; a++)
        for (int b = 1; b <= 9; b++) {
            snprintf(rel, sizeof rel, "benchmarks/acasxu/onnx/ACASXU_run2a_%d_%d_batch_2000.onnx",
                     a, b);
            const char *path = tu_shared(rel);
            net *n = load_ok(path);
            assert_int_equal(net_in_size(n), 5);
            assert_int_equal(net_out_size(n), 5);
            assert_int_equal(net_n_relus(n), 300);
            assert_int_equal(count_op(n, NET_DENSE), 7);
            assert_int_equal(count_op(n, NET_RELU), 6);
            assert_int_equal(net_layer_at(n, net_n_layers(n) - 1)->op, NET_DENSE);
            net_info in;
            net_get_info(n, &in);
            assert_int_equal(in.format, NET_FMT_ONNX);
            assert_string_equal(in.path, path);
            assert_string_equal(in.in_name, "input");
            assert_string_equal(in.out_name, "linear_7_Add");
            assert_int_equal(in.n_in_dims, 4);
            assert_int_equal(in.in_dims[3], 5);
            assert_int_equal(in.n_out_dims, 2);
            assert_int_equal(in.out_dims[1], 5);
            /* 13,310 initializer elements minus the 5-element zero Sub constant */
            assert_int_equal(in.params, 13305);
            assert_int_equal(in.folded, 1);
            assert_true(in.fold_exact);
            size_t len;
            unsigned char *bytes = slurp(path, &len);
            char hex[65];
            cn_sha256_hex(bytes, len, hex);
            assert_string_equal(in.sha256, hex);
            free(bytes);
            net_free(n);
        }
}

static void test_mnist_fc(void **state)
{
    net *n = load_ok(tu_shared("benchmarks/mnist_fc/onnx/mnist-net_256x2.onnx"));
    assert_int_equal(net_in_size(n), 784);
    assert_int_equal(net_out_size(n), 10);
    assert_int_equal(net_n_relus(n), 512);
    assert_int_equal(count_op(n, NET_DENSE), 3);
    net_info in;
    net_get_info(n, &in);
    assert_int_equal(in.params, 269322);
    assert_int_equal(in.n_in_dims, 3);
    assert_int_equal(in.in_dims[1], 784);
    assert_string_equal(in.in_name, "0");
    assert_string_equal(in.out_name, "12");
    assert_int_equal(in.folded, 0);
    net_free(n);
}

static void test_eran_relu_nets(void **state)
{
    net *n = load_ok(tu_shared("benchmarks/eran/onnx/FFNNSmall.onnx"));
    assert_int_equal(net_in_size(n), 784);
    assert_int_equal(net_out_size(n), 10);
    assert_int_equal(net_n_relus(n), 510);
    assert_int_equal(net_layer_at(n, net_n_layers(n) - 1)->op, NET_RELU);
    net_info in;
    net_get_info(n, &in);
    assert_int_equal(in.params, 119910);
    assert_int_equal(in.folded, 2);        /* Sub 0 and Div 1 */
    assert_true(in.fold_exact);
    assert_int_equal(in.n_in_dims, 4);
    assert_int_equal(in.in_dims[2], 28);
    net *m = load_ok(tu_shared("benchmarks/eran/onnx/mnist_6_100_nat.onnx"));
    assert_int_equal(net_in_size(m), 784);
    assert_int_equal(net_n_relus(m), 500);
    assert_int_equal(net_layer_at(m, net_n_layers(m) - 1)->op, NET_DENSE);
    /* the same weights as FFNNSmall up to float32 rounding of the re-export
     * (eran/README.md); FFNNSmall's Sub 0 / Div 1 fold away */
    for (int i = 0; i < net_n_layers(n) - 1; i++) {
        const net_layer *a = net_layer_at(n, i), *b = net_layer_at(m, i);
        assert_int_equal(a->op, b->op);
        for (size_t k = 0; k < layer_nw(a); k++)
            assert_double_near(a->W[k], b->W[k], 1e-7);
        for (size_t k = 0; k < layer_nb(a); k++)
            assert_double_near(a->b[k], b->b[k], 1e-7);
    }
    net_free(n);
    net_free(m);
}

static void test_sigmoid_loads(void **state)
{
    (void)state;
    const char *path = tu_shared("benchmarks/eran/onnx/ffnnSIGMOID__Point_6x200.onnx");
    net *n = NULL;
    cn_err err;
    long live = cn_alloc_live();
    assert_int_equal(net_load_onnx(path, &n, &err), CN_OK);
    assert_int_equal(net_n_layers(n), 13);
    assert_int_equal(net_n_relus(n), 0);
    assert_int_equal(net_n_smooth(n), 6);
    for (int i = 1; i < 13; i += 2)
        assert_int_equal(net_layer_at(n, i)->op, NET_SIGMOID);
    assert_int_equal(net_layer_at(n, 12)->op, NET_DENSE);
    net_free(n);
    assert_int_equal(cn_alloc_live(), live);
}

/* y over a grid of x in [-1, 1], evaluated exactly. */
static void grid_range(const net *n, double *lo, double *hi)
{
    mpq_t x, y;
    mpq_init(x);
    mpq_init(y);
    *lo = INFINITY;
    *hi = -INFINITY;
    cn_err err;
    for (int k = -1000; k <= 1000; k++) {
        mpq_set_si(x, k, 1000);
        assert_int_equal(net_eval_exact(n, &x, &y, &err), CN_OK);
        double d = mpq_get_d(y);
        *lo = d < *lo ? d : *lo;
        *hi = d > *hi ? d : *hi;
    }
    mpq_clear(x);
    mpq_clear(y);
}

static void test_test_suite_nets(void **state)
{
    double lo, hi;
    net *n = load_ok(tu_shared("benchmarks/test/test_nano.onnx"));
    assert_int_equal(net_in_size(n), 1);
    assert_int_equal(net_out_size(n), 1);
    assert_int_equal(net_n_relus(n), 1);
    /* the weight comes from float_data, not raw_data */
    assert_int_equal(net_layer_at(n, 0)->op, NET_DENSE);
    assert_true(net_layer_at(n, 0)->W[0] == 0.5);
    assert_true(net_layer_at(n, 0)->b[0] == 0.0);
    grid_range(n, &lo, &hi);
    assert_true(lo == 0.0 && hi == 0.5);
    net_free(n);

    n = load_ok(tu_shared("benchmarks/test/test_tiny.onnx"));
    assert_int_equal(net_n_relus(n), 1);
    assert_int_equal(count_op(n, NET_DENSE), 2);
    net_info in;
    net_get_info(n, &in);
    assert_string_equal(in.in_name, "X_0");
    assert_string_equal(in.out_name, "Y_0");
    assert_int_equal(in.params, 4);
    grid_range(n, &lo, &hi);
    assert_true(lo == 0.0 && hi == 1.0);
    net_free(n);

    n = load_ok(tu_shared("benchmarks/test/test_small.onnx"));
    assert_int_equal(net_in_size(n), 1);
    assert_int_equal(net_out_size(n), 1);
    assert_int_equal(net_n_relus(n), 4);
    assert_int_equal(count_op(n, NET_DENSE), 3);
    assert_int_equal(net_layer_at(n, 0)->out, 2);
    net_get_info(n, &in);
    assert_int_equal(in.params, 13);
    grid_range(n, &lo, &hi);
    assert_true(lo == 30.5 && hi == 78.5);
    net_free(n);

    /* test_sat / test_unsat are ACAS Xu 1_7 / 1_6 */
    const char *pairs[2][2] = {
        {"benchmarks/test/test_sat.onnx", "benchmarks/acasxu/onnx/ACASXU_run2a_1_7_batch_2000.onnx"},
        {"benchmarks/test/test_unsat.onnx", "benchmarks/acasxu/onnx/ACASXU_run2a_1_6_batch_2000.onnx"}};
    for (int i = 0; i < 2; i++) {
        net *a = load_ok(tu_shared(pairs[i][0]));
        net *b = load_ok(tu_shared(pairs[i][1]));
        assert_int_equal(net_n_relus(a), 300);
        assert_same_net(a, b);
        net_info ia, ib;
        net_get_info(a, &ia);
        net_get_info(b, &ib);
        assert_string_equal(ia.sha256, ib.sha256);
        net_free(a);
        net_free(b);
    }
}

/* ------------------------------------------------------------------------ */
/* Malformed inputs                                                          */
/* ------------------------------------------------------------------------ */

static const struct {
    const char *file;
    cn_status status;
    const char *msg;
} bad[] = {
    {"empty", CN_EPARSE, "empty.onnx: empty file"},
    {"random_bytes", CN_EPARSE, "not an ONNX model (protobuf decoding failed"},
    {"truncated", CN_EPARSE, "not an ONNX model (protobuf decoding failed"},
    {"no_graph", CN_EPARSE, "not an ONNX model (no graph)"},
    {"unsupported_op", CN_EUNSUPPORTED, "node #2 (Gather): unsupported operator"},
    {"softplus", CN_EUNSUPPORTED, "node #2 (Softplus): unsupported activation"},
    {"bad_raw_data_length", CN_EPARSE,
     "node #3 (MatMul): tensor 'W1': raw_data has 12 bytes; dims [2,2] of float32 need 16"},
    {"missing_initializer", CN_EPARSE, "node #4 (Add): input 'B1' is not defined"},
    {"shape_mismatch", CN_EPARSE, "node #3 (MatMul): shape mismatch: input [2], weight [4,1]"},
    {"nan_weight", CN_EPARSE, "tensor 'B0': value 1 is not finite"},
    {"external_data", CN_EUNSUPPORTED, "tensor 'W0' uses external data"},
    {"output_not_end", CN_EUNSUPPORTED, "graph output 'M2' is not the end of the layer chain"},
    {"huge_input_dims", CN_ELIMIT, "tensor 'X_0' has an invalid shape [1099511627776]"},
    {"int_weight", CN_EUNSUPPORTED, "tensor 'W1' has data type 6"},
    /* found by fuzz_onnx: the walk before a fork went round forever */
    {"defined_twice", CN_EPARSE, "node #3 (MatMul): reached twice along the chain: a tensor is "
                                 "defined twice or the graph has a cycle"},
    {"relu_output_reused", CN_EPARSE, "node 'n2' (Relu): reached twice along the chain"},
    /* found by fuzz_onnx: Slice's lists empty (no array to copy; UBSan) */
    {"slice_empty_lists", CN_EPARSE,
     "node 'n8' (Slice): starts, ends, axes and steps do not match"},
    /* found by fuzz_onnx: a BatchNormalization in a branch over a tensor
     * whose expressions have no terms (no array to copy; UBSan) */
    {"bn_branch_no_terms", CN_EUNSUPPORTED,
     "node 'n7' (Conv): attribute 'pads' has 3 values; expected 4 (2-D)"},
};

static void test_bad_corpus(void **state)
{
    char rel[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(rel, sizeof rel, "tests/data/bad/%s.onnx", bad[i].file);
        const char *path = tu_src(rel);
        net *n = (net *)&n;
        cn_err err;
        cn_err_clear(&err);
        long live = cn_alloc_live();
        cn_status s = net_load_onnx(path, &n, &err);
        printf("# %s.onnx: %s\n", bad[i].file, err.msg);
        if (s != bad[i].status)
            fail_msg("%s: status %d (%s), expected %d", rel, s, err.msg, bad[i].status);
        assert_int_equal(err.status, s);
        assert_ptr_equal(n, (net *)&n);              /* out untouched */
        assert_int_equal(cn_alloc_live(), live);     /* nothing leaked */
        assert_contains(err.msg, bad[i].msg);
        assert_contains(err.msg, bad[i].file);       /* names the file */
        assert_null(strchr(err.msg, '\n'));
    }
    /* a missing file is an I/O error */
    net *n = NULL;
    cn_err err;
    assert_int_equal(net_load_onnx(tu_src("tests/data/bad/no_such_file.onnx"), &n, &err), CN_EIO);
    assert_null(n);
}

/* Every prefix of a real model: an error or (rarely) a smaller model, never a crash. */
static void test_all_truncations(void **state)
{
    size_t len;
    unsigned char *b = slurp(tu_shared("benchmarks/test/test_small.onnx"), &len);
    int ok = 0;
    for (size_t k = 0; k < len; k++) {
        net *n = NULL;
        cn_err err;
        long live = cn_alloc_live();
        cn_status s = net_load_onnx_mem(b, k, "cut.onnx", &n, &err);
        if (s == CN_OK) {
            ok++;
            net_free(n);
        } else {
            assert_null(n);
            assert_contains(err.msg, "cut.onnx: ");
        }
        assert_int_equal(cn_alloc_live(), live);
    }
    assert_true(ok < 5);
    free(b);
}

/* ------------------------------------------------------------------------ */
/* Writer                                                                    */
/* ------------------------------------------------------------------------ */

/* Element type of every initializer of a saved file (-1 if they differ) and
 * its opset. */
static int saved_elem_type(const char *path, long *opset)
{
    size_t len;
    unsigned char *b = slurp(path, &len);
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, b);
    assert_non_null(m);
    assert_non_null(m->graph);
    *opset = m->n_opset_import ? (long)m->opset_import[0]->version : -1;
    int t = -2;
    for (size_t i = 0; i < m->graph->n_initializer; i++) {
        int dt = m->graph->initializer[i]->data_type;
        if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT64)
            continue;
        t = t == -2 || t == dt ? dt : -1;
    }
    onnx__model_proto__free_unpacked(m, NULL);
    free(b);
    return t;
}

static void test_roundtrip_acas(void **state)
{
    tu_rng r = {tu_seed("roundtrip_acas", 3)};
    net *a = load_ok(tu_shared("benchmarks/acasxu/onnx/ACASXU_run2a_2_3_batch_2000.onnx"));
    const char *path = tmp_path("acas");
    cn_err err;
    assert_int_equal(net_save_onnx(a, path, &err), CN_OK);
    long opset;
    assert_int_equal(saved_elem_type(path, &opset), ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
    assert_int_equal(opset, 13);
    net *b = load_ok(path);
    assert_same_net(a, b);
    assert_same_outputs(a, b, &r, 20);
    net_info in;
    net_get_info(b, &in);
    assert_int_equal(in.n_in_dims, 4);        /* (1,1,5) is image-shaped: [1,1,1,5] */
    assert_int_equal(in.folded, 0);
    /* saving the reloaded net reproduces the same bytes */
    size_t l1, l2;
    unsigned char *b1 = slurp(path, &l1);
    net_free(a);
    assert_int_equal(net_save_onnx(b, path, &err), CN_OK);
    unsigned char *b2 = slurp(path, &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(b1, b2, l1);
    free(b1);
    free(b2);
    remove(path);
    net_free(b);
}

/* A conv net built in code: (2,5,5) conv 3x3 s1 p1 -> relu -> conv 2x2 s2
 * p(0,0,1,1) -> relu -> dense 4 -> relu -> dense 3.  doubles: float64 file;
 * float32 values: float32 file. */
static net *built_conv(tu_rng *r, bool f32)
{
    cn_err err;
    net *n = net_new((net_shape){2, 5, 5});
    net_layer *ls[4];
    ls[0] = net_add_conv(n, 3, 3, 3, 1, 1, 1, 1, 1, 1, &err);
    net_add_relu(n, &err);
    ls[1] = net_add_conv(n, 2, 2, 2, 2, 2, 0, 0, 1, 1, &err);
    net_add_relu(n, &err);
    ls[2] = net_add_dense(n, 4, &err);
    net_add_relu(n, &err);
    ls[3] = net_add_dense(n, 3, &err);
    for (int i = 0; i < 4; i++) {
        assert_non_null(ls[i]);
        for (size_t k = 0; k < layer_nw(ls[i]); k++)
            ls[i]->W[k] = f32 ? (double)rndf(r) : 2 * tu_unif(r) - 1;
        for (size_t k = 0; k < layer_nb(ls[i]); k++)
            ls[i]->b[k] = f32 ? (double)rndf(r) : 2 * tu_unif(r) - 1;
    }
    return n;
}

static void test_roundtrip_conv(void **state)
{
    tu_rng r = {tu_seed("roundtrip_conv", 9)};
    for (int f32 = 0; f32 < 2; f32++) {
        net *a = built_conv(&r, f32);
        const char *path = tmp_path("conv");
        cn_err err;
        assert_int_equal(net_save_onnx(a, path, &err), CN_OK);
        long opset;
        assert_int_equal(saved_elem_type(path, &opset),
                         f32 ? ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT
                             : ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE);
        net *b = load_ok(path);
        assert_same_net(a, b);
        assert_same_outputs(a, b, &r, 10);
        net_info in;
        net_get_info(b, &in);
        assert_int_equal(in.n_in_dims, 4);
        assert_int_equal(in.in_dims[1], 2);
        assert_int_equal(in.in_dims[3], 5);
        remove(path);
        net_free(a);
        net_free(b);
    }
    /* dense then conv: the writer inserts a Reshape, the reader retags */
    cn_err err;
    net *a = net_new((net_shape){6, 1, 1});
    net_layer *d = net_add_dense(a, 8, &err);
    for (int k = 0; k < 48; k++)
        d->W[k] = rndf(&r);
    net_add_relu(a, &err);
    /* the conv reads the 8 values as (8,1,1) with a 1x1 kernel */
    net_layer *c = net_add_conv(a, 2, 1, 1, 1, 1, 0, 0, 0, 0, &err);
    assert_non_null(c);
    for (int k = 0; k < 16; k++)
        c->W[k] = rndf(&r);
    const char *path = tmp_path("dense_conv");
    assert_int_equal(net_save_onnx(a, path, &err), CN_OK);
    net *b = load_ok(path);
    assert_same_net(a, b);
    assert_same_outputs(a, b, &r, 10);
    remove(path);
    net_free(a);
    net_free(b);
    /* an unwritable path is an I/O error */
    a = built_conv(&r, true);
    assert_int_equal(net_save_onnx(a, "/nonexistent-dir/x.onnx", &err), CN_EIO);
    assert_contains(err.msg, "/nonexistent-dir/x.onnx");
    net_free(a);
}

/* ------------------------------------------------------------------------ */
/* Out of memory                                                             */
/* ------------------------------------------------------------------------ */

static void test_oom_load(void **state)
{
    size_t len;
    unsigned char *bytes = slurp(tu_shared("benchmarks/test/test_small.onnx"), &len);
    /* plus a model that exercises folding (Conv + BN + Gemm) */
    tu_rng r = {17};
    int64_t din[4] = {1, 1, 3, 3}, dout[2] = {1, 2};
    mb *b = mb_new(din, 4, dout, 2);
    float cw[4 * 9], one[2] = {1, 1}, fw[2 * 4 * 9], m[1] = {0.5f}, d[1] = {0.25f};
    rndf_fill(&r, cw, 36);
    rndf_fill(&r, fw, 72);
    int64_t dcw[4] = {4, 1, 3, 3}, d4[1] = {4}, d2[1] = {2}, dfw[2] = {2, 36}, d1[1] = {1};
    float c4[4] = {1, 2, 3, 4};
    mb_inits(b, 6, (const mb_tensor[]){{"cw", dcw, 4, cw}, {"c4", d4, 1, c4}, {"fw", dfw, 2, fw},
                                       {"one", d2, 1, one}, {"m", d1, 1, m}, {"d", d1, 1, d}});
    mb_node(b, "Div", "div", "q", "x", "d", NULL);
    int c = mb_node(b, "Conv", "conv", "c", "q", "cw", "c4", NULL);
    int64_t pads[4] = {1, 1, 1, 1};
    mb_attr_ints(b, c, "pads", 4, pads);
    mb_node(b, "BatchNormalization", "bn", "n", "c", "c4", "c4", "c4", "c4", NULL);
    mb_node(b, "Relu", "relu", "r", "n", NULL);
    mb_node(b, "Flatten", "flat", "f", "r", NULL);
    int g = mb_node(b, "Gemm", "fc", "g", "f", "fw", "one", NULL);
    mb_attr_i(b, g, "transB", 1);
    mb_node(b, "Sub", "sub", "y", "g", "m", NULL);
    size_t hlen;
    unsigned char *hand = mb_pack(b, &hlen);
    const unsigned char *models[2] = {bytes, hand};
    size_t lens[2] = {len, hlen};
    for (int mi = 0; mi < 2; mi++) {
        long k;
        for (k = 1; k < 100000; k++) {
            net *n = (net *)&n;
            cn_err err;
            long live = cn_alloc_live();
            cn_alloc_fail_after(k);
            cn_status s = net_load_onnx_mem(models[mi], lens[mi], "oom.onnx", &n, &err);
            cn_alloc_fail_after(0);
            if (s == CN_OK) {
                assert_int_equal(net_n_relus(n), mi == 0 ? 4 : 36);
                /* the hand model's BN rounds: the enclosure's allocations are covered */
                assert_int_equal(net_has_enclosure(n), mi == 1);
                net_free(n);
                assert_int_equal(cn_alloc_live(), live);
                break;
            }
            if (s != CN_ENOMEM)
                fail_msg("k=%ld: status %d: %s", k, s, err.msg);
            assert_ptr_equal(n, (net *)&n);
            assert_int_equal(cn_alloc_live(), live);
        }
        printf("# oom load model %d: succeeded at k=%ld\n", mi, k);
        assert_true(k > 5 && k < 100000);
    }
    free(hand);
    free(b);
    free(bytes);
}

static void test_oom_save(void **state)
{
    tu_rng r = {23};
    net *a = built_conv(&r, false);
    const char *path = tmp_path("oom");
    long k;
    for (k = 1; k < 100000; k++) {
        cn_err err;
        long live = cn_alloc_live();
        cn_alloc_fail_after(k);
        cn_status s = net_save_onnx(a, path, &err);
        cn_alloc_fail_after(0);
        assert_int_equal(cn_alloc_live(), live);
        if (s == CN_OK)
            break;
        if (s != CN_ENOMEM)
            fail_msg("k=%ld: status %d: %s", k, s, err.msg);
    }
    assert_true(k > 5 && k < 100000);
    net *b = load_ok(path);
    assert_same_net(a, b);
    remove(path);
    net_free(a);
    net_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acasxu_all),
        cmocka_unit_test(test_mnist_fc),
        cmocka_unit_test(test_eran_relu_nets),
        cmocka_unit_test(test_sigmoid_loads),
        cmocka_unit_test(test_test_suite_nets),
        cmocka_unit_test(test_bad_corpus),
        cmocka_unit_test(test_all_truncations),
        cmocka_unit_test(test_roundtrip_acas),
        cmocka_unit_test(test_roundtrip_conv),
        cmocka_unit_test(test_oom_load),
        cmocka_unit_test(test_oom_save),
    };
    int failed = cmocka_run_group_tests_name("onnx", tests, NULL, NULL);
    return failed + test_onnx_ops_group() + test_onnx_act_group();
}

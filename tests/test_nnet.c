/* test_nnet.c — the NNet text loader: the 45 ACAS Xu networks, a small
 * hand-checked network, the malformed-input corpus tests/data/bad/<defect>.nnet and
 * an out-of-memory loop. */
#include "config.h"

#include <fenv.h>
#include <math.h>

#include "models/models.h"
#include "tests/testutil.h"

/* 2 -> 3 (ReLU) -> 2.  Line numbers matter to the corpus (same base text). */
static const char small_text[] =
    "// small test network\n"      /* 1 */
    "2,2,2,3,\n"                   /* 2 */
    "2,3,2,\n"                     /* 3 */
    "0,\n"                         /* 4 */
    "-1.0,-2.0,\n"                 /* 5 mins */
    "1.0,2.0,\n"                   /* 6 maxs */
    "0.0,0.5,1.0,\n"               /* 7 means */
    "2.0,4.0,3.0,\n"               /* 8 ranges */
    "1.0,-1.0,\n"                  /* 9  W1 row 1 */
    "0.5,0.25,\n"                  /* 10 W1 row 2 */
    "-2,3e-1,\n"                   /* 11 W1 row 3 */
    "0.1,\n"                       /* 12 b1 */
    "-0.2,\n"
    "0.0,\n"
    "1,0,1,\n"                     /* 15 W2 row 1 */
    "0,1,-1,\n"                    /* 16 W2 row 2 */
    "0.5,\n"                       /* 17 b2 */
    "-0.5,\n";

/* The same network written differently: CRLF, spaces, no trailing commas,
 * a blank line, a comment in the middle, no final newline. */
static const char small_text_alt[] =
    "// small test network\r\n"
    "2, 2, 2, 3\r\n"
    "2,3,2\r\n"
    "0\r\n"
    "-1,-2\r\n"
    "1,2\r\n"
    "0,.5,1\r\n"
    "2,4,3\r\n"
    "\r\n"
    "1.0 , -1.0\r\n"
    "// a comment between records\r\n"
    "5e-1,25E-2\r\n"
    "-2.0,0.3\r\n"
    "0.1\r\n"
    "-0.2\r\n"
    "0\r\n"
    "1,0,1\r\n"
    "0,1,-1\r\n"
    "+0.5\r\n"
    "-0.5";

static net *load_small(const char *text)
{
    net *n = NULL;
    cn_err err;
    cn_err_clear(&err);
    cn_status st = net_load_nnet_mem(text, strlen(text), "small.nnet", &n, &err);
    if (st != CN_OK)
        fail_msg("small.nnet: %s", err.msg);
    assert_non_null(n);
    return n;
}

static void check_small(const net *n)
{
    assert_int_equal(net_in_size(n), 2);
    assert_int_equal(net_out_size(n), 2);
    assert_int_equal(net_n_layers(n), 3);
    assert_int_equal(net_n_relus(n), 3);
    const net_layer *l0 = net_layer_at(n, 0), *l1 = net_layer_at(n, 1), *l2 = net_layer_at(n, 2);
    assert_int_equal(l0->op, NET_DENSE);
    assert_int_equal(l1->op, NET_RELU);
    assert_int_equal(l2->op, NET_DENSE);
    const double w0[6] = {1.0, -1.0, 0.5, 0.25, -2.0, 0.3}, b0[3] = {0.1, -0.2, 0.0};
    const double w2[6] = {1, 0, 1, 0, 1, -1}, b2[2] = {0.5, -0.5};
    /* compared exactly: each decimal is the nearest double, as the compiler reads it */
    for (int i = 0; i < 6; i++) {
        assert_true(l0->W[i] == w0[i]);
        assert_true(l2->W[i] == w2[i]);
    }
    for (int i = 0; i < 3; i++)
        assert_true(l0->b[i] == b0[i]);
    for (int i = 0; i < 2; i++)
        assert_true(l2->b[i] == b2[i]);
    net_info info;
    net_get_info(n, &info);
    assert_int_equal(info.format, NET_FMT_NNET);
    assert_string_equal(info.path, "small.nnet");
    assert_int_equal(info.params, 6 + 3 + 6 + 2);
    assert_non_null(info.nnet);
    const net_nnet_norm *nn = info.nnet;
    assert_int_equal(nn->n_in, 2);
    assert_true(nn->in_min[0] == -1.0 && nn->in_min[1] == -2.0);
    assert_true(nn->in_max[0] == 1.0 && nn->in_max[1] == 2.0);
    assert_true(nn->in_mean[0] == 0.0 && nn->in_mean[1] == 0.5);
    assert_true(nn->in_range[0] == 2.0 && nn->in_range[1] == 4.0);
    assert_true(nn->out_mean == 1.0 && nn->out_range == 3.0);

    /* raw (5, -1): clamp to (1, -1), normalise to (0.5, -0.375) */
    const double raw[2] = {5.0, -1.0};
    double x[2], y[2];
    net_nnet_normalise(nn, raw, x);
    assert_true(x[0] == 0.5 && x[1] == -0.375);
    cn_err err;
    assert_int_equal(net_forward(n, 1, x, y, &err), CN_OK);
    /* h = relu(0.5+0.375+0.1, 0.25-0.09375-0.2, -1-0.1125) = (0.975, 0, 0) */
    assert_double_near(y[0], 0.975 + 0.5, 1e-15);
    assert_double_near(y[1], -0.5, 1e-15);
}

static void test_small(void **state)
{
    (void)state;
    long live = cn_alloc_live();
    net *n = load_small(small_text);
    check_small(n);
    net_info info;
    net_get_info(n, &info);
    char hex[65];
    cn_sha256_hex((const unsigned char *)small_text, strlen(small_text), hex);
    assert_string_equal(info.sha256, hex);
    net_free(n);

    n = load_small(small_text_alt);
    check_small(n);
    net_free(n);
    assert_int_equal(cn_alloc_live(), live);
}

/* strtod obeys the rounding mode; the loader must not. */
static void test_rounding_scope(void **state)
{
    (void)state;
    static const int modes[] = {FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO};
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        net *n = NULL;
        cn_err err;
        int saved = cn_round_push(modes[m]);
        cn_status st = net_load_nnet_mem(small_text, strlen(small_text), "small.nnet", &n, &err);
        int after = fegetround();
        cn_round_pop(saved);
        assert_int_equal(st, CN_OK);
        assert_int_equal(after, modes[m]);       /* the caller's mode is restored */
        check_small(n);                           /* 0.1, 0.3, -0.2 still nearest */
        net_free(n);
    }
}

static void test_acas_all(void **state)
{
    (void)state;
    int loaded = 0;
    for (int a = 1; a <= 5; a++)
        for (int b = 1; b <= 9; b++) {
            char rel[128];
            snprintf(rel, sizeof rel, "benchmarks/acasxu/nnet/ACASXU_experimental_v2a_%d_%d.nnet",
                     a, b);
            const char *path = tu_shared(rel);
            long live = cn_alloc_live();
            net *n = NULL;
            cn_err err;
            cn_status st = net_load(path, &n, &err);   /* dispatch by extension */
            if (st != CN_OK)
                fail_msg("%s", err.msg);
            assert_int_equal(net_in_size(n), 5);
            assert_int_equal(net_out_size(n), 5);
            assert_int_equal(net_n_relus(n), 300);
            assert_int_equal(net_n_layers(n), 13);
            assert_int_equal(net_max_width(n), 50);
            for (int i = 0; i < 13; i++)
                assert_int_equal(net_layer_at(n, i)->op, i % 2 ? NET_RELU : NET_DENSE);
            net_info info;
            net_get_info(n, &info);
            assert_int_equal(info.format, NET_FMT_NNET);
            assert_int_equal(info.params, 13305);
            assert_string_equal(info.path, path);
            assert_non_null(info.nnet);
            assert_int_equal(info.nnet->n_in, 5);
            /* the header block every ACAS Xu network shares */
            assert_true(info.nnet->in_mean[0] == 19791.091);
            assert_true(info.nnet->in_range[0] == 60261.0);
            assert_true(info.nnet->in_range[1] == 6.28318530718);
            assert_true(info.nnet->in_min[1] == -3.141593);
            assert_true(info.nnet->in_max[0] == 60760.0);
            assert_true(info.nnet->out_mean == 7.5188840201005975);
            assert_true(info.nnet->out_range == 373.94992);
            /* the hash is of the file bytes */
            unsigned char *data;
            size_t len;
            assert_int_equal(cn_read_file(path, &data, &len, &err), CN_OK);
            char hex[65];
            cn_sha256_hex(data, len, hex);
            cn_free(data);
            assert_string_equal(info.sha256, hex);
            if (a == 1 && b == 1) {
                /* first and last values of the file, checked against the text */
                assert_true(net_layer_at(n, 0)->W[0] == 5.40062e-02);
                assert_true(net_layer_at(n, 0)->W[1] == -2.61092e+00);
                assert_true(net_layer_at(n, 0)->W[5] == -1.12374e+00);
                assert_true(net_layer_at(n, 12)->b[4] == -1.48281e-02);
                assert_true(net_layer_at(n, 12)->b[0] == -1.02815e-02);
            }
            net_free(n);
            assert_int_equal(cn_alloc_live(), live);
            loaded++;
        }
    assert_int_equal(loaded, 45);
}

/* The malformed-input corpus: each file with its status and a message
 * fragment naming the line (and field) and what was expected. */
static const struct {
    const char *file;
    cn_status status;
    const char *msg;
} bad[] = {
    {"empty", CN_EPARSE, "empty.nnet: empty file: expected the NNet header line"},
    {"only_comments", CN_EPARSE, "only_comments.nnet: empty file"},
    {"wrong_layer_count", CN_EPARSE,
     "wrong_layer_count.nnet:3: layer sizes (numLayers+1 = 4 values): expected 4 numbers, got 3"},
    {"too_few_weights", CN_EPARSE,
     "too_few_weights.nnet:10: layer 1 (2 -> 3) weight row 2 of 3: expected 2 numbers, got 1"},
    {"too_many_weights", CN_EPARSE,
     "too_many_weights.nnet:10: layer 1 (2 -> 3) weight row 2 of 3: expected 2 numbers, got 3"},
    {"bad_number", CN_EPARSE,
     "bad_number.nnet:9: layer 1 (2 -> 3) weight row 1 of 3: field 2: expected a decimal "
     "number, got '-1.0x'"},
    {"truncated", CN_EPARSE,
     "truncated.nnet:16: unexpected end of file: expected layer 2 (3 -> 2) weight row 2 of 2"},
    {"truncated_midline", CN_EPARSE,
     "truncated_midline.nnet:16: layer 2 (3 -> 2) weight row 2 of 2: expected 3 numbers, got 2"},
    {"huge_header", CN_ELIMIT,
     "huge_header.nnet:3: the header declares 3000007000002 numbers"},
    {"huge_size", CN_ELIMIT, "huge_size.nnet:1: maxLayerSize 2000000000 exceeds the limit"},
    {"huge_layer", CN_EPARSE,
     "huge_layer.nnet: after line 7: layer 1 (5 -> 100000) needs 600000 numbers, but only 21 "
     "bytes follow"},
    {"negative_size", CN_EPARSE, "negative_size.nnet:2: inputSize must be positive, got -2"},
    {"zero_layer", CN_EPARSE, "zero_layer.nnet:3: layer size 1 must be positive, got 0"},
    {"non_integer_size", CN_EPARSE, "non_integer_size.nnet:3: layer sizes (numLayers+1 = 3 "
     "values): field 2: expected an integer, got '3.5'"},
    {"input_mismatch", CN_EPARSE,
     "input_mismatch.nnet:3: layer sizes start with 2 and end with 2, but the header says "
     "inputSize 3"},
    {"missing_norm", CN_EPARSE,
     "missing_norm.nnet:5: unexpected end of file: expected input minimums (2 values)"},
    {"min_above_max", CN_EPARSE, "min_above_max.nnet:6: input maximums: field 2: maximum -3 is "
     "below the minimum -2"},
    {"zero_range", CN_EPARSE, "zero_range.nnet:8: ranges: field 2: range must be non-zero"},
    {"trailing_data", CN_EPARSE,
     "trailing_data.nnet:19: unexpected data after the last layer's biases"},
    {"overflow", CN_EPARSE, "overflow.nnet:11: layer 1 (2 -> 3) weight row 3 of 3: field 2: "
     "'3e999' is outside the double range"},
    {"nan", CN_EPARSE, "nan.nnet:11: layer 1 (2 -> 3) weight row 3 of 3: field 1: expected a "
     "decimal number, got 'nan'"},
    {"hex_float", CN_EPARSE, "hex_float.nnet:11: layer 1 (2 -> 3) weight row 3 of 3: field 1: "
     "expected a decimal number, got '0x1p3'"},
    {"empty_field", CN_EPARSE, "empty_field.nnet:9: layer 1 (2 -> 3) weight row 1 of 3: field 2 "
     "is empty"},
    {"long_number", CN_EPARSE, "long_number.nnet:9: layer 1 (2 -> 3) weight row 1 of 3: "
     "field 2: number longer than 255 characters"},
    {"bias_row", CN_EPARSE, "bias_row.nnet:12: layer 1 (2 -> 3) bias 1 of 3: expected 1 number, "
     "got 2"},
};

static void test_bad_corpus(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "tests/data/bad/%s.nnet", bad[i].file);
        long live = cn_alloc_live();
        net *sentinel = (net *)&live, *n = sentinel;
        cn_err err;
        cn_err_clear(&err);
        cn_status st = net_load_nnet(tu_src(rel), &n, &err);
        printf("# %s: %s\n", bad[i].file, err.msg);
        if (st != bad[i].status)
            fail_msg("%s: status %d (%s), expected %d", bad[i].file, st, err.msg, bad[i].status);
        assert_int_equal(err.status, st);
        if (!strstr(err.msg, bad[i].msg))
            fail_msg("%s: message '%s' lacks '%s'", bad[i].file, err.msg, bad[i].msg);
        assert_ptr_equal(n, sentinel);            /* out written only on success */
        assert_int_equal(cn_alloc_live(), live);  /* nothing leaked */
    }
}

static void test_missing_file(void **state)
{
    (void)state;
    net *n = NULL;
    cn_err err;
    assert_int_equal(net_load_nnet(tu_src("tests/data/bad/no_such_file.nnet"), &n, &err), CN_EIO);
    assert_non_null(strstr(err.msg, "no_such_file.nnet: cannot open"));
    assert_null(n);
}

/* Fail the k-th allocation for k = 1, 2, ... until loading succeeds. */
static void test_oom(void **state)
{
    (void)state;
    long live = cn_alloc_live();
    long k;
    for (k = 1; k < 1000; k++) {
        net *sentinel = (net *)&live, *n = sentinel;
        cn_err err;
        cn_err_clear(&err);
        cn_alloc_fail_after(k);
        cn_status st = net_load_nnet_mem(small_text, strlen(small_text), "small.nnet", &n, &err);
        cn_alloc_fail_after(0);
        if (st == CN_OK) {
            check_small(n);
            net_free(n);
            break;
        }
        if (st != CN_ENOMEM)
            fail_msg("k=%ld: status %d (%s), expected CN_ENOMEM", k, st, err.msg);
        assert_non_null(strstr(err.msg, "small.nnet"));
        assert_ptr_equal(n, sentinel);
        assert_int_equal(cn_alloc_live(), live);
    }
    printf("# oom: loading succeeded once %ld allocations could succeed\n", k);
    assert_true(k > 8 && k < 1000);   /* the loop did fail real allocations */
    assert_int_equal(cn_alloc_live(), live);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small),
        cmocka_unit_test(test_rounding_scope),
        cmocka_unit_test(test_acas_all),
        cmocka_unit_test(test_bad_corpus),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_oom),
    };
    return cmocka_run_group_tests_name("nnet", tests, NULL, NULL);
}

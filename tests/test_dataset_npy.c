/* test_dataset_npy.c — NumPy .npy datasets (the second file of test_dataset):
 * every supported type, version and shape read exactly, gzipped too, and
 * malformed headers refused with a message naming the file. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "models/models.h"
#include "tests/dsfix.h"
#include "tests/groups.h"
#include "tests/testutil.h"

/* ------------------------------------------------------------------------ */
/* NumPy .npy                                                                */
/* ------------------------------------------------------------------------ */

static unsigned char npy_buf[4096], npy_lab[512];

static void test_npy(void **state)
{
    (void)state;
    long live = cn_alloc_live();
    /* 5 samples of 2x3 values; value (i,k) = (i*6+k)/64 (exact in float32) */
    float f32[30];
    double f64[30];
    uint8_t u8[30];
    for (int k = 0; k < 30; k++) {
        f32[k] = (float)k / 64.0f;
        f64[k] = (double)k / 64.0 + 1e-17 * (k == 7);
        u8[k] = (uint8_t)(7 * k);
    }
    int64_t lab64[5] = {4, 0, 9, 1, 65535};
    size_t ll = npy_build(npy_lab, 1, "<i8", "(5,)", lab64, sizeof lab64);
    char lp[512];                      /* (tmp_path's buffers rotate) */
    snprintf(lp, sizeof lp, "%s", tmp_path("lab.npy"));
    write_file(lp, npy_lab, ll, false);
    for (int major = 1; major <= 2; major++)
        for (int ty = 0; ty < 3; ty++) {
            const char *descr = ty == 0 ? "<f4" : ty == 1 ? "<f8" : "|u1";
            const void *data = ty == 0 ? (const void *)f32 : ty == 1 ? (const void *)f64 : u8;
            size_t nb = ty == 0 ? sizeof f32 : ty == 1 ? sizeof f64 : sizeof u8;
            size_t len = npy_build(npy_buf, major, descr, "(5, 2, 3)", data, nb);
            const char *p = tmp_path(major == 1 ? "d.npy" : "d.npy.gz");
            write_file(p, npy_buf, len, major == 2);
            ds_set *d = load_ok(p, lp, 0, -1);
            assert_int_equal(d->n, 5);
            assert_int_equal(d->dim, 6);
            assert_int_equal(d->rows, 2);
            assert_int_equal(d->cols, 3);
            assert_int_equal(d->labels[0], 4);
            assert_int_equal(d->labels[4], 65535);
            assert_true(d->is_float == (ty != 2));
            assert_true(d->in_unit);
            mpq_t q[6], t;
            double x[6];
            for (int k = 0; k < 6; k++)
                mpq_init(q[k]);
            mpq_init(t);
            ds_input_q(d, 1, q);
            ds_input_d(d, 1, x);
            for (int k = 0; k < 6; k++) {
                int v = 6 + k;
                if (ty == 2) {
                    mpq_set_ui(t, (unsigned long)(7 * v), 255);
                } else {
                    mpq_set_d(t, ty == 0 ? (double)f32[v] : f64[v]);
                    assert_true(x[k] == (ty == 0 ? (double)f32[v] : f64[v]));
                }
                mpq_canonicalize(t);
                assert_true(mpq_equal(q[k], t));
            }
            for (int k = 0; k < 6; k++)
                mpq_clear(q[k]);
            mpq_clear(t);
            ds_free(d);
            d = load_ok(p, lp, 3, 10);     /* offset, count cut to the end */
            assert_int_equal(d->n, 2);
            assert_int_equal(d->labels[0], 1);
            ds_input_d(d, 0, x);
            if (ty != 2)
                assert_true(x[0] == (ty == 0 ? (double)f32[18] : f64[18]));
            else
                assert_int_equal(d->pixels[0], u8[18]);
            ds_free(d);
        }
    /* values outside [0,1] load, flagged */
    f32[29] = 1.5f;
    size_t len = npy_build(npy_buf, 1, "<f4", "(5, 6)", f32, sizeof f32);
    char p[512];
    snprintf(p, sizeof p, "%s", tmp_path("d.npy"));
    write_file(p, npy_buf, len, false);
    ds_set *d = NULL;
    cn_err err;
    assert_int_equal(ds_load_any_range(p, lp, 0, -1, &d, &err), CN_OK);
    assert_false(d->in_unit);
    assert_int_equal(d->rows, 6);
    assert_int_equal(d->cols, 1);
    ds_free(d);
    load_bad(p, lp, 0, -1, CN_EPARSE, "d.npy: sample 4, value 5 is 1.5: float data must lie in "
             "[0, 1]");
    d = load_ok(p, lp, 0, 4);          /* the selected samples are in [0,1] */
    assert_true(d->in_unit);
    ds_free(d);
    /* bad data and labels, each with its message */
    f32[3] = NAN;
    len = npy_build(npy_buf, 1, "<f4", "(5, 6)", f32, sizeof f32);
    write_file(p, npy_buf, len, false);
    load_bad(p, lp, 0, -1, CN_EPARSE, "d.npy: sample 0, value 3 (byte offset 140): expected a "
             "finite number, got NaN");
    f32[3] = 0;
    static const struct {
        const char *descr, *shape, *msg;
        size_t nbytes;
        int major;
    } bad[] = {
        {">f4", "(5, 6)", "dtype '>f4' is big-endian", 120, 1},
        {"<c8", "(5, 6)", "dtype '<c8': expected float32", 120, 1},
        {"<f2", "(5, 6)", "dtype '<f2': expected float32", 120, 1},
        {"<i4", "(5, 6)", "integers of 4 bytes: expected float32, float64 or uint8", 120, 1},
        {"<f4", "(0, 6)", "expected (N, ...) with N >= 1", 0, 1},
        {"<f4", "()", "expected (N, ...) with N >= 1", 4, 1},
        {"<f4", "(5, 0)", "0 values per sample is outside 1..", 0, 1},
        {"<f4", "(5, 6)", "file ends early: .npy data (5 samples of 6 values, from byte offset "
         "128) is truncated", 100, 1},
        {"<f4", "(5, 6", "bad 'shape'", 120, 1},
        {"<f4", "[5, 6]", "expected a 'shape' tuple", 120, 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        len = npy_build(npy_buf, bad[i].major, bad[i].descr, bad[i].shape, f32, bad[i].nbytes);
        write_file(p, npy_buf, len, false);
        load_bad(p, lp, 0, -1, CN_EPARSE, bad[i].msg);
    }
    len = npy_build(npy_buf, 1, "<f4", "(5, 6)", f32, sizeof f32);
    write_file(p, npy_buf, len, false);
    load_bad(p, NULL, 0, -1, CN_EINVAL, "d.npy: a .npy data file needs a labels file");
    load_bad(p, p, 0, -1, CN_EPARSE, "d.npy: .npy labels of dtype float: expected integers");
    int32_t l4[4] = {1, 2, 3, 4};
    char lp2[512];
    snprintf(lp2, sizeof lp2, "%s", tmp_path("lab2.npy"));
    ll = npy_build(npy_lab, 1, "<i4", "(4,)", l4, sizeof l4);
    write_file(lp2, npy_lab, ll, false);
    load_bad(p, lp2, 0, -1, CN_EPARSE, "lab2.npy: .npy labels: expected shape (5,) to match");
    int32_t l5[5] = {1, 2, -3, 4, 5};
    ll = npy_build(npy_lab, 1, "<i4", "(5, 1)", l5, sizeof l5);
    write_file(lp2, npy_lab, ll, false);
    load_bad(p, lp2, 0, -1, CN_EPARSE, "lab2.npy: label 2 (byte offset 136): expected an integer "
             "0..65535, got -3");
    write_file(lp2, "1,0,0\n", 6, false);
    load_bad(p, lp2, 0, -1, CN_EPARSE, "lab2.npy: offset 0: not a .npy file");
    assert_int_equal(cn_alloc_live(), live);
}

/* Malformed .npy headers: every byte of a valid file's first 80 bytes set to
 * each of a few values, and the file cut at every length.  Each load either
 * succeeds with a sane set or fails with a message naming the file, leaving
 * *out alone and leaking nothing. */
static void test_npy_fuzz(void **state)
{
    (void)state;
    float f32[12];
    for (int k = 0; k < 12; k++)
        f32[k] = (float)k / 16.0f;
    uint8_t lab[3] = {1, 2, 3};
    char lp[512], p[512];
    snprintf(lp, sizeof lp, "%s", tmp_path("fl.npy"));
    snprintf(p, sizeof p, "%s", tmp_path("fz.npy"));
    size_t ll = npy_build(npy_lab, 1, "|u1", "(3,)", lab, sizeof lab);
    write_file(lp, npy_lab, ll, false);
    size_t len = npy_build(npy_buf, 1, "<f4", "(3, 4)", f32, sizeof f32);
    static unsigned char mut[4096];
    static const unsigned char vals[] = {0, 0xff, '(', ')', '9', ' ', '\'', ',', 'L', 0x7f};
    long live = cn_alloc_live();
    int ok = 0, bad = 0;
    for (size_t pos = 0; pos < 80 + 1; pos++)
        for (size_t v = 0; v <= sizeof vals; v++) {
            size_t n = len;
            memcpy(mut, npy_buf, len);
            if (pos == 80)
                n = v * 8 < len ? v * 8 : len - 1;   /* truncations */
            else if (v < sizeof vals)
                mut[pos] = vals[v];
            else
                mut[pos] ^= 0x20;
            write_file(p, mut, n, false);
            ds_set *sentinel = (ds_set *)&live, *d = sentinel;
            cn_err err;
            cn_err_clear(&err);
            cn_status st = ds_load(p, lp, 0, -1, &d, &err);
            if (st == CN_OK) {
                assert_true(d->n >= 1 && d->n <= 3 && d->dim >= 1 && d->dim <= 12);
                ok++;
                ds_free(d);
            } else {
                assert_ptr_equal(d, sentinel);
                if (!strstr(err.msg, "fz.npy"))
                    fail_msg("byte %zu = 0x%02x: message '%s' does not name the file", pos,
                             (unsigned)mut[pos], err.msg);
                bad++;
            }
            assert_int_equal(cn_alloc_live(), live);
        }
    /* truncation at every length */
    for (size_t n = 0; n < len; n++) {
        write_file(p, npy_buf, n, false);
        ds_set *d = NULL;
        cn_err err;
        assert_int_not_equal(ds_load(p, lp, 0, -1, &d, &err), CN_OK);
        assert_true(strstr(err.msg, "fz.npy") != NULL);
        bad++;
    }
    assert_int_equal(cn_alloc_live(), live);
    printf("# npy fuzz: %d loaded, %d refused with a message\n", ok, bad);
    assert_true(ok > 0 && bad > 0);
}

int test_dataset_npy_group(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_npy),
        cmocka_unit_test(test_npy_fuzz),
    };
    return cmocka_run_group_tests_name("dataset_npy", tests, ds_fix_setup, ds_fix_teardown);
}

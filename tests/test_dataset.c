/* test_dataset.c — datasets: the shared ERAN CSV, malformed CSV, IDX fixtures
 * (plain and gzipped, generated here) and Debian's Fashion-MNIST test set. */
#include "config.h"

#include <fenv.h>
#include <math.h>
#include <unistd.h>

#include <zlib.h>

#include "models/models.h"
#include "tests/dsfix.h"
#include "tests/groups.h"
#include "tests/testutil.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

/* ------------------------------------------------------------------------ */
/* ERAN CSV                                                                  */
/* ------------------------------------------------------------------------ */

/* An independent, naive reading of the shared CSV (fscanf). */
static int naive_csv(const char *path, int *labels, unsigned char *pix, int max)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int n = 0, v;
    while (n < max && fscanf(f, "%d", &v) == 1) {
        labels[n] = v;
        for (int k = 0; k < 784; k++) {
            assert_int_equal(fscanf(f, " ,%d", &v), 1);
            pix[n * 784 + k] = (unsigned char)v;
        }
        n++;
    }
    fclose(f);
    return n;
}

static void test_csv_shared(void **state)
{
    (void)state;
    const char *path = tu_shared("benchmarks/data/mnist_test.csv");
    static int labels[128];
    static unsigned char pix[128 * 784];
    int nn = naive_csv(path, labels, pix, 128);
    assert_int_equal(nn, 100);
    long live = cn_alloc_live();
    static const int first[10] = {7, 2, 1, 0, 4, 1, 4, 9, 5, 9};
    ds_set *d = load_expect(path, NULL, 100, 784, 1, first);
    for (int i = 0; i < 100; i++)
        assert_int_equal(d->labels[i], labels[i]);
    assert_memory_equal(d->pixels, pix, 100 * 784);
    ds_free(d);
    assert_int_equal(cn_alloc_live(), live);
}

static void test_csv_offset_count(void **state)
{
    (void)state;
    const char *path = tu_shared("benchmarks/data/mnist_test.csv");
    long live = cn_alloc_live();
    ds_set *all = load_ok(path, NULL, 0, -1);
    ds_set *d = load_ok(path, NULL, 5, 3);
    assert_int_equal(d->n, 3);
    assert_int_equal(d->labels[0], 1);
    assert_int_equal(d->labels[1], 4);
    assert_int_equal(d->labels[2], 9);
    assert_memory_equal(d->pixels, all->pixels + 5 * 784, 3 * 784);
    ds_free(d);
    d = load_ok(path, NULL, 98, -1);           /* to the end */
    assert_int_equal(d->n, 2);
    assert_memory_equal(d->pixels, all->pixels + 98 * 784, 2 * 784);
    ds_free(d);
    d = load_ok(path, NULL, 90, 500);          /* cut to what the file has */
    assert_int_equal(d->n, 10);
    assert_int_equal(d->labels[9], all->labels[99]);
    ds_free(d);
    d = load_ok(path, NULL, 99, 0);            /* nothing selected */
    assert_int_equal(d->n, 0);
    assert_int_equal(d->dim, 784);
    ds_free(d);
    ds_free(all);
    load_bad(path, NULL, 100, 1, CN_EINVAL,
             "mnist_test.csv: sample offset 100 is past the end: the file has 100 samples");
    load_bad(path, NULL, -1, 1, CN_EINVAL, "negative sample offset -1");
    assert_int_equal(cn_alloc_live(), live);
}

static void test_csv_bad(void **state)
{
    (void)state;
    static const struct {
        const char *name, *text, *msg;
    } bad[] = {
        {"bad_label.csv", "1,0,255,3\nx,1,2,3\n", "bad_label.csv:2: field 1: expected a label "
         "(integer 0..65535), got 'x'"},
        {"negative_label.csv", "-1,0,0,0\n", "negative_label.csv:1: field 1: expected a label"},
        {"pixel_256.csv", "1,0,255,3\n2,4,256,6\n", "pixel_256.csv:2: field 3 (pixel 1): "
         "expected an integer 0..255, got '256'"},
        /* (a value with '-' or '.' makes a float CSV: see test_csv_float) */
        {"float_bad.csv", "1,0,-1,x3\n", "float_bad.csv:1: field 4 (value 2): expected a "
         "decimal number, got 'x3'"},
        {"float_bad2.csv", "1,0.5,1e,3\n", "float_bad2.csv:1: field 3 (value 1): expected a "
         "decimal number, got '1e'"},
        {"float_range.csv", "1,0.5,1e400,3\n", "float_range.csv:1: field 3 (value 1): '1e400' "
         "is outside the range of a double"},
        {"float_label.csv", "1.0,0.5,0.25\n", "float_label.csv:1: field 1: expected a label"},
        {"float_count.csv", "1,0.5,0.25\n2,0.5\n", "float_count.csv:2: expected 2 decimal "
         "values (as on line 1), got 1"},
        {"wrong_count.csv", "1,0,0,0\n2,0,0,0\n3,0,0\n", "wrong_count.csv:3: expected 3 pixel "
         "values (as on line 1), got 2"},
        {"too_many.csv", "1,0,0,0\n\n2,0,0,0,0\n", "too_many.csv:3: expected 3 pixel values (as "
         "on line 1), got 4"},
        {"empty_field.csv", "1,0,,0\n", "empty_field.csv:1: field 3 (pixel 1): expected an "
         "integer 0..255, got ''"},
        {"label_only.csv", "7\n", "label_only.csv:1: expected a label and 1..16777216 pixel "
         "values, got 1 field"},
        {"empty.csv", "", "empty.csv: empty file"},
        {"blank.csv", "\n  \n", "blank.csv: empty file"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *p = tmp_path(bad[i].name);
        write_file(p, bad[i].text, strlen(bad[i].text), false);
        load_bad(p, NULL, 0, -1, CN_EPARSE, bad[i].msg);
    }
    /* a malformed line after the selected range is still an error */
    const char *p = tmp_path("late.csv");
    const char *late = "1,0,0\n2,0,0\n3,0,300\n";
    write_file(p, late, strlen(late), false);
    load_bad(p, NULL, 0, 1, CN_EPARSE, "late.csv:3: field 3 (pixel 1)");
    /* missing file */
    load_bad(tmp_path("no_such.csv"), NULL, 0, -1, CN_EIO, "no_such.csv: cannot open");
    /* a CSV with a labels file is refused */
    const char *ok = "1,0,0\n";
    write_file(p, ok, strlen(ok), false);
    load_bad(p, p, 0, -1, CN_EPARSE, "not an IDX image file");
}

static void test_csv_good_variants(void **state)
{
    (void)state;
    /* CRLF, spaces, no final newline, gzipped */
    const char *text = "3, 0,128 ,255\r\n\r\n9,1,2,3";
    for (int gz = 0; gz < 2; gz++) {
        const char *p = tmp_path(gz ? "var.csv.gz" : "var.csv");
        write_file(p, text, strlen(text), gz);
        ds_set *d = load_ok(p, NULL, 0, -1);
        assert_int_equal(d->n, 2);
        assert_int_equal(d->dim, 3);
        assert_int_equal(d->labels[0], 3);
        assert_int_equal(d->labels[1], 9);
        static const uint8_t px[6] = {0, 128, 255, 1, 2, 3};
        assert_memory_equal(d->pixels, px, 6);
        ds_free(d);
    }
}

/* ------------------------------------------------------------------------ */
/* IDX                                                                       */
/* ------------------------------------------------------------------------ */

enum { FX_N = 7, FX_R = 4, FX_C = 3 };

static void put32(unsigned char *b, unsigned v)
{
    b[0] = (unsigned char)(v >> 24);
    b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8);
    b[3] = (unsigned char)v;
}

static unsigned char fx_images[16 + FX_N * FX_R * FX_C], fx_labels[8 + FX_N];

/* An MNIST-style fixture: 7 images of 4x3, pixel (i,k) = (37*i + 11*k) mod 256. */
static void make_fixture(void)
{
    put32(fx_images, 0x803);
    put32(fx_images + 4, FX_N);
    put32(fx_images + 8, FX_R);
    put32(fx_images + 12, FX_C);
    for (int i = 0; i < FX_N; i++)
        for (int k = 0; k < FX_R * FX_C; k++)
            fx_images[16 + i * FX_R * FX_C + k] = (unsigned char)((37 * i + 11 * k) % 256);
    put32(fx_labels, 0x801);
    put32(fx_labels + 4, FX_N);
    for (int i = 0; i < FX_N; i++)
        fx_labels[8 + i] = (unsigned char)((3 * i + 1) % 10);
}

static void check_fixture(const ds_set *d, int first, int n)
{
    assert_int_equal(d->n, n);
    assert_int_equal(d->dim, FX_R * FX_C);
    assert_int_equal(d->rows, FX_R);
    assert_int_equal(d->cols, FX_C);
    for (int i = 0; i < n; i++) {
        assert_int_equal(d->labels[i], (3 * (first + i) + 1) % 10);
        for (int k = 0; k < FX_R * FX_C; k++)
            assert_int_equal(d->pixels[i * FX_R * FX_C + k], (37 * (first + i) + 11 * k) % 256);
    }
}

static void test_idx(void **state)
{
    (void)state;
    make_fixture();
    long live = cn_alloc_live();
    for (int gz = 0; gz < 2; gz++) {
        const char *img = tmp_path(gz ? "img-idx3-ubyte.gz" : "img-idx3-ubyte");
        const char *lab = tmp_path(gz ? "lab-idx1-ubyte.gz" : "lab-idx1-ubyte");
        write_file(img, fx_images, sizeof fx_images, gz);
        write_file(lab, fx_labels, sizeof fx_labels, gz);
        ds_set *d = load_ok(img, lab, 0, -1);
        check_fixture(d, 0, FX_N);
        ds_free(d);
        d = load_ok(img, lab, 2, 3);
        check_fixture(d, 2, 3);
        ds_free(d);
        d = load_ok(img, lab, 6, 10);
        check_fixture(d, 6, 1);
        ds_free(d);
        load_bad(img, lab, 7, -1, CN_EINVAL, "sample offset 7 is past the end: the file has 7 "
                 "samples");
        load_bad(img, NULL, 0, -1, CN_EINVAL, "needs a labels file");
        load_bad(lab, NULL, 0, -1, CN_EINVAL, "this is an IDX labels file");
        load_bad(img, img, 0, -1, CN_EPARSE, "not an IDX labels file: magic 0x00000803");
        load_bad(img, tmp_path("missing-labels"), 0, -1, CN_EIO, "missing-labels: cannot open");
    }
    /* mixed: plain images, gzipped labels */
    ds_set *d = load_ok(tmp_path("img-idx3-ubyte"), tmp_path("lab-idx1-ubyte.gz"), 1, 2);
    check_fixture(d, 1, 2);
    ds_free(d);
    assert_int_equal(cn_alloc_live(), live);
}

static void test_idx_bad(void **state)
{
    (void)state;
    make_fixture();
    const char *lab = tmp_path("lab-idx1-ubyte");
    write_file(lab, fx_labels, sizeof fx_labels, false);
    const char *img = tmp_path("bad-idx3-ubyte");
    /* image data cut short */
    write_file(img, fx_images, sizeof fx_images - 5, false);
    load_bad(img, lab, 0, -1, CN_EPARSE, "file ends early: image data (7 images of 12 pixels) is "
             "truncated");
    /* header cut short */
    write_file(img, fx_images, 10, true);
    load_bad(img, lab, 0, -1, CN_EPARSE, "file ends early: the IDX header is truncated");
    /* a header promising far more than the file holds: no huge allocation */
    unsigned char h[sizeof fx_images];
    memcpy(h, fx_images, sizeof h);
    put32(h + 4, 1000000);
    put32(h + 8, 4096);
    put32(h + 12, 4096);
    write_file(img, h, sizeof h, false);
    unsigned char l[sizeof fx_labels];
    memcpy(l, fx_labels, sizeof l);
    put32(l + 4, 1000000);
    const char *lab2 = tmp_path("lab2-idx1-ubyte");
    write_file(lab2, l, sizeof l, false);
    load_bad(img, lab2, 0, -1, CN_EPARSE, "image data (1000000 images of 16777216 pixels) is "
             "truncated");
    /* zero-size images */
    put32(h + 4, FX_N);
    put32(h + 8, 0);
    write_file(img, h, sizeof h, false);
    load_bad(img, lab, 0, -1, CN_EPARSE, "IDX header: image size 0x4096 is outside");
    /* label count differs from the image count */
    memcpy(l, fx_labels, sizeof l);
    put32(l + 4, FX_N - 1);
    write_file(lab2, l, sizeof l - 1, false);
    write_file(img, fx_images, sizeof fx_images, false);
    load_bad(img, lab2, 0, -1, CN_EPARSE, "IDX header: 6 labels, but");
    /* labels cut short */
    write_file(lab2, fx_labels, sizeof fx_labels - 2, false);
    load_bad(img, lab2, 0, -1, CN_EPARSE, "lab2-idx1-ubyte: file ends early: label data (7 "
             "labels) is truncated");
}

static unsigned char npy_buf[4096], npy_lab[512];

/* Fail the k-th allocation for every k until loading succeeds. */
static void test_oom(void **state)
{
    (void)state;
    make_fixture();
    const char *img = tmp_path("oom-idx3-ubyte.gz"), *lab = tmp_path("oom-idx1-ubyte.gz");
    write_file(img, fx_images, sizeof fx_images, true);
    write_file(lab, fx_labels, sizeof fx_labels, true);
    const char *csv = tu_shared("benchmarks/data/mnist_test.csv");
    /* a float CSV and a .npy pair too */
    char fcsv[512], npy[512], npl[512];
    snprintf(fcsv, sizeof fcsv, "%s/oom-f.csv", tmp_dir());  /* (tmp_path's buffers rotate) */
    snprintf(npy, sizeof npy, "%s/oom.npy", tmp_dir());
    snprintf(npl, sizeof npl, "%s/oom-l.npy", tmp_dir());
    const char *ft = "1,0.5,0.25\n2,1.0,0\n3,0.75,1e-1\n";
    write_file(fcsv, ft, strlen(ft), false);
    static const double fv[6] = {0, 0.5, 1, 0.25, 0.125, 1};
    static const uint8_t lv[3] = {0, 1, 2};
    write_file(npy, npy_buf, npy_build(npy_buf, 1, "<f8", "(3, 2)", fv, sizeof fv), false);
    write_file(npl, npy_lab, npy_build(npy_lab, 2, "|u1", "(3,)", lv, sizeof lv), false);
    for (int which = 0; which < 4; which++) {
        long live = cn_alloc_live(), k;
        for (k = 1; k < 1000; k++) {
            ds_set *sentinel = (ds_set *)&live, *d = sentinel;
            cn_err err;
            cn_alloc_fail_after(k);
            cn_status st = which == 1   ? ds_load(csv, NULL, 3, 4, &d, &err)
                           : which == 2 ? ds_load(fcsv, NULL, 1, 2, &d, &err)
                           : which == 3 ? ds_load(npy, npl, 1, 2, &d, &err)
                                        : ds_load(img, lab, 1, 5, &d, &err);
            cn_alloc_fail_after(0);
            if (st == CN_OK) {
                assert_int_equal(d->n, which == 1 ? 4 : which == 0 ? 5 : 2);
                ds_free(d);
                break;
            }
            if (st != CN_ENOMEM)
                fail_msg("k=%ld: status %d (%s), expected CN_ENOMEM", k, st, err.msg);
            assert_ptr_equal(d, sentinel);
            assert_int_equal(cn_alloc_live(), live);
        }
        printf("# oom %s: succeeded once %ld allocations could succeed\n",
               which == 1 ? "csv" : which == 2 ? "float csv" : which == 3 ? "npy" : "idx", k);
        assert_true(k > 2 && k < 1000);
        assert_int_equal(cn_alloc_live(), live);
    }
}

/* ------------------------------------------------------------------------ */
/* Network inputs                                                            */
/* ------------------------------------------------------------------------ */

static void test_inputs(void **state)
{
    (void)state;
    /* one sample holding every pixel value 0..255 */
    char *text = malloc(256 * 4 + 8);
    assert_non_null(text);
    size_t len = (size_t)sprintf(text, "4");
    for (int p = 0; p < 256; p++)
        len += (size_t)sprintf(text + len, ",%d", p);
    text[len++] = '\n';
    const char *path = tmp_path("all.csv");
    write_file(path, text, len, false);
    free(text);
    ds_set *d = load_ok(path, NULL, 0, -1);
    assert_int_equal(d->dim, 256);
    double x[256], xu[256];
    mpq_t q[256], t;
    for (int k = 0; k < 256; k++)
        mpq_init(q[k]);
    mpq_init(t);
    ds_input_d(d, 0, x);
    ds_input_q(d, 0, q);
    int saved = cn_round_push(FE_UPWARD);
    ds_input_d(d, 0, xu);           /* the caller's rounding mode does not matter */
    cn_round_pop(saved);
    for (int p = 0; p < 256; p++) {
        /* exact: q = p/255 */
        mpq_set_ui(t, (unsigned long)p, 255);
        mpq_canonicalize(t);
        assert_true(mpq_equal(q[p], t));
        /* nearest: x is the nearer of the two doubles around p/255 */
        double lo = cn_mpq_get_d_down(q[p]), hi = cn_mpq_get_d_up(q[p]);
        assert_true(x[p] == lo || x[p] == hi);
        mpq_t a, b;
        mpq_inits(a, b, NULL);
        mpq_set_d(a, x[p]);
        mpq_sub(a, a, q[p]);
        mpq_abs(a, a);
        mpq_set_d(b, x[p] == lo ? hi : lo);
        mpq_sub(b, b, q[p]);
        mpq_abs(b, b);
        assert_true(mpq_cmp(a, b) <= 0);
        mpq_clears(a, b, NULL);
        assert_true(xu[p] == x[p]);
    }
    assert_true(x[0] == 0.0 && x[255] == 1.0);
    for (int k = 0; k < 256; k++)
        mpq_clear(q[k]);
    mpq_clear(t);
    ds_free(d);
    ds_free(NULL);
}

/* ------------------------------------------------------------------------ */
/* Fashion-MNIST (Debian package dataset-fashion-mnist)                      */
/* ------------------------------------------------------------------------ */

static void test_fashion_mnist(void **state)
{
    (void)state;
    const char *img = FASHION_DIR "/t10k-images-idx3-ubyte.gz";
    const char *lab = FASHION_DIR "/t10k-labels-idx1-ubyte.gz";
    if (access(img, R_OK) != 0 || access(lab, R_OK) != 0)
        fail_msg("%s or %s is missing: install the Debian package dataset-fashion-mnist", img,
                 lab);
    long live = cn_alloc_live();
    static const int first[10] = {9, 2, 1, 1, 6, 1, 4, 6, 5, 7};
    ds_set *d = load_expect(img, lab, 10000, 28, 28, first);
    int per_class[10] = {0};
    for (int i = 0; i < d->n; i++) {
        assert_in_range(d->labels[i], 0, 9);
        per_class[d->labels[i]]++;
    }
    for (int c = 0; c < 10; c++)
        assert_int_equal(per_class[c], 1000);
    /* pixel sums (computed independently with Python's gzip module) */
    unsigned long long sum = 0, sum0 = 0, sum_last = 0;
    for (size_t k = 0; k < (size_t)d->n * 784; k++)
        sum += d->pixels[k];
    for (int k = 0; k < 784; k++) {
        sum0 += d->pixels[k];
        sum_last += d->pixels[9999 * 784 + k];
    }
    assert_int_equal(sum, 573469082ull);
    assert_int_equal(sum0, 33456);
    assert_int_equal(sum_last, 24390);
    ds_set *tail = load_ok(img, lab, 9990, 20);
    assert_int_equal(tail->n, 10);
    assert_memory_equal(tail->pixels, d->pixels + 9990 * 784, 10 * 784);
    assert_memory_equal(tail->labels, d->labels + 9990, 10 * sizeof(int));
    ds_free(tail);
    ds_free(d);
    load_bad(img, lab, 10000, 1, CN_EINVAL, "the file has 10000 samples");
    assert_int_equal(cn_alloc_live(), live);
}

/* ------------------------------------------------------------------------ */
/* Float CSV                                                                 */
/* ------------------------------------------------------------------------ */

static void expect_q(const mpq_t q, const char *want)
{
    mpq_t w;
    mpq_init(w);
    assert_int_equal(mpq_set_str(w, want, 10), 0);
    mpq_canonicalize(w);
    if (!mpq_equal(q, w)) {
        char *g = mpq_get_str(NULL, 10, q);
        fail_msg("got %s, expected %s", g, want);
    }
    mpq_clear(w);
}

static void test_csv_float(void **state)
{
    (void)state;
    long live = cn_alloc_live();
    /* decimals read exactly; integers in a float CSV are taken as given (not /255) */
    const char *text = "3, 0.1 ,1,2.5e-1\r\n\n7,-0.0,1.000,0\n9,1e-400,0.3,1E0";
    for (int gz = 0; gz < 2; gz++) {
        const char *p = tmp_path(gz ? "f.csv.gz" : "f.csv");
        write_file(p, text, strlen(text), gz);
        ds_set *d = load_ok(p, NULL, 0, -1);
        assert_true(d->is_float);
        assert_true(d->in_unit);
        assert_null(d->pixels);
        assert_int_equal(d->n, 3);
        assert_int_equal(d->dim, 3);
        assert_int_equal(d->labels[0], 3);
        assert_int_equal(d->labels[2], 9);
        mpq_t q[3];
        double x[3];
        for (int k = 0; k < 3; k++)
            mpq_init(q[k]);
        ds_input_q(d, 0, q);
        expect_q(q[0], "1/10");
        expect_q(q[1], "1");
        expect_q(q[2], "1/4");
        ds_input_d(d, 0, x);
        assert_true(x[0] == 0.1 && x[1] == 1.0 && x[2] == 0.25);
        ds_input_q(d, 2, q);
        assert_true(mpq_sgn(q[0]) > 0);    /* 1e-400 is not zero, though its double is */
        expect_q(q[1], "3/10");
        ds_input_d(d, 2, x);
        assert_true(x[0] == 0.0 && x[1] == 0.3 && x[2] == 1.0);
        for (int k = 0; k < 3; k++)
            mpq_clear(q[k]);
        ds_free(d);
        /* offset/count select from a float file too */
        d = load_ok(p, NULL, 1, 1);
        assert_int_equal(d->n, 1);
        assert_int_equal(d->labels[0], 7);
        ds_free(d);
        d = load_ok(p, NULL, 2, 0);
        assert_int_equal(d->n, 0);
        ds_free(d);
    }
    /* in_unit is decided exactly, at the end points too */
    static const struct {
        const char *text;
        bool unit;
    } r[] = {{"1,0.5,-1e-400\n", false}, {"1,0.5,1.00000000000000000001\n", false},
             {"1,0.5,-0\n", true},      {"1,1.0,0.0\n", true},
             {"1,0.5,-0.25\n", false},  {"1,0.5,2.5\n", false}};
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
        const char *p = tmp_path("unit.csv");
        write_file(p, r[i].text, strlen(r[i].text), false);
        ds_set *d = NULL;
        cn_err err;
        assert_int_equal(ds_load_any_range(p, NULL, 0, -1, &d, &err), CN_OK);
        if (d->in_unit != r[i].unit)
            fail_msg("'%s': in_unit %d, expected %d", r[i].text, d->in_unit, r[i].unit);
        ds_free(d);
        /* ds_load refuses it, naming the value */
        if (!r[i].unit) {
            const char *want = i == 0   ? "sample 0, value 1 is '-1e-400': float data must lie "
                                          "in [0, 1]"
                               : i == 1 ? "value 1 is '1.00000000000000000001'"
                               : i == 4 ? "value 1 is '-0.25'"
                                        : "value 1 is '2.5'";
            load_bad(p, NULL, 0, -1, CN_EPARSE, want);
        } else {
            ds_free(load_ok(p, NULL, 0, -1));
        }
    }
    /* an 8-bit CSV is still 8-bit */
    const char *p = tmp_path("int.csv");
    write_file(p, "1,0,255\n", 8, false);
    ds_set *d = load_ok(p, NULL, 0, -1);
    assert_false(d->is_float);
    assert_true(d->in_unit);
    assert_int_equal(d->pixels[1], 255);
    ds_free(d);
    assert_int_equal(cn_alloc_live(), live);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_shared),
        cmocka_unit_test(test_csv_offset_count),
        cmocka_unit_test(test_csv_bad),
        cmocka_unit_test(test_csv_good_variants),
        cmocka_unit_test(test_idx),
        cmocka_unit_test(test_idx_bad),
        cmocka_unit_test(test_oom),
        cmocka_unit_test(test_inputs),
        cmocka_unit_test(test_fashion_mnist),
        cmocka_unit_test(test_csv_float),
    };
    return cmocka_run_group_tests_name("dataset", tests, ds_fix_setup, ds_fix_teardown) +
           test_dataset_npy_group();
}

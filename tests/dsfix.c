/* dsfix.c — the dataset tests' fixtures (dsfix.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "tests/dsfix.h"

/* The group's scratch folder (one group runs at a time). */
static char tmpdir[256];

int ds_fix_setup(void **state)
{
    (void)state;
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/certnn-dataset-XXXXXX", t && *t ? t : "/tmp");
    return mkdtemp(tmpdir) ? 0 : -1;
}

int ds_fix_teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

const char *tmp_dir(void) { return tmpdir; }

const char *tmp_path(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

/* Writes bytes to a file, gzipped when gz. */
void write_file(const char *path, const void *data, size_t len, bool gz)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(gzwrite(f, data, (unsigned)len), (int)len);
        assert_int_equal(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
    }
}

ds_set *load_ok(const char *path, const char *labels, int offset, int count)
{
    ds_set *d = NULL;
    cn_err err;
    cn_err_clear(&err);
    if (ds_load(path, labels, offset, count, &d, &err) != CN_OK)
        fail_msg("%s", err.msg);
    assert_non_null(d);
    return d;
}

/* load_ok of a whole file, checked: n samples of rows x cols (dim rows * cols),
 * and the first ten labels. */
ds_set *load_expect(const char *path, const char *labels, int n, int rows, int cols,
                    const int first[10])
{
    ds_set *d = load_ok(path, labels, 0, -1);
    assert_int_equal(d->n, n);
    assert_int_equal(d->dim, rows * cols);
    assert_int_equal(d->rows, rows);
    assert_int_equal(d->cols, cols);
    for (int i = 0; i < 10; i++)
        assert_int_equal(d->labels[i], first[i]);
    return d;
}

/* Loads and expects failure with status st and a message containing want;
 * checks that nothing leaked and *out was left alone. */
void load_bad(const char *path, const char *labels, int offset, int count, cn_status st,
              const char *want)
{
    long live = cn_alloc_live();
    ds_set *sentinel = (ds_set *)&live, *d = sentinel;
    cn_err err;
    cn_err_clear(&err);
    cn_status got = ds_load(path, labels, offset, count, &d, &err);
    printf("# %s\n", err.msg);
    if (got != st)
        fail_msg("status %d (%s), expected %d", got, err.msg, st);
    if (!strstr(err.msg, want))
        fail_msg("message '%s' lacks '%s'", err.msg, want);
    assert_ptr_equal(d, sentinel);
    assert_int_equal(cn_alloc_live(), live);
}

/* Builds a .npy file image (format major 1 or 2): returns its length. */
size_t npy_build(unsigned char *buf, int major, const char *descr, const char *shape,
                 const void *data, size_t nbytes)
{
    char dict[256];
    int dl = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                      descr, shape);
    size_t pre = major == 1 ? 10 : 12;
    size_t hl = (size_t)dl + 1;
    while ((pre + hl) % 64)
        hl++;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    buf[8] = (unsigned char)(hl & 0xff);
    buf[9] = (unsigned char)(hl >> 8);
    if (major != 1)
        buf[10] = buf[11] = 0;
    memset(buf + pre, ' ', hl);
    memcpy(buf + pre, dict, (size_t)dl);
    buf[pre + hl - 1] = '\n';
    memcpy(buf + pre + hl, data, nbytes);
    return pre + hl + nbytes;
}

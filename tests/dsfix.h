/* dsfix.h — the dataset tests' fixtures (test_dataset.c, test_dataset_npy.c):
 * a scratch folder per cmocka group, files written into it, loads checked. */
#ifndef CERTNN_TESTS_DSFIX_H
#define CERTNN_TESTS_DSFIX_H

#include "models/models.h"
#include "tests/testutil.h"

/* Group setup / teardown: make and remove the scratch folder. */
int ds_fix_setup(void **state);
int ds_fix_teardown(void **state);
/* The scratch folder. */
const char *tmp_dir(void);
/* NAME in the scratch folder (four buffers in turn). */
const char *tmp_path(const char *name);
/* Writes bytes to a file, gzipped when gz. */
void write_file(const char *path, const void *data, size_t len, bool gz);
/* ds_load that must succeed. */
ds_set *load_ok(const char *path, const char *labels, int offset, int count);
/* load_ok of a whole file, checked: n samples of rows x cols (dim rows * cols),
 * and the first ten labels. */
ds_set *load_expect(const char *path, const char *labels, int n, int rows, int cols,
                    const int first[10]);
/* Loads and expects failure with status st and a message containing want;
 * checks that nothing leaked and *out was left alone. */
void load_bad(const char *path, const char *labels, int offset, int count, cn_status st,
              const char *want);
/* Builds a .npy file image (format major 1 or 2) in buf: returns its length. */
size_t npy_build(unsigned char *buf, int major, const char *descr, const char *shape,
                 const void *data, size_t nbytes);

#endif

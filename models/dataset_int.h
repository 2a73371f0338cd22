/* dataset_int.h — what the dataset readers share (models/, not for other
 * modules): size limits, gzip-transparent reading and the sample range. */
#ifndef CERTNN_MODELS_DATASET_INT_H
#define CERTNN_MODELS_DATASET_INT_H

#include <zlib.h>

#include "models/models_int.h"

enum {
    DS_MAX_DIM = 1 << 24,          /* values per sample */
    DS_MAX_LABEL = 65535,
    DS_MAX_FILE = 1 << 30          /* bytes of (decompressed) CSV text */
};

/* Reads exactly n bytes of `what` (named in the message at a short read). */
cn_status ds__gz_read_exact(gzFile f, const char *path, void *buf, size_t n, const char *what,
                            cn_err *err) CN_WUR;
/* Reads `need` bytes into a new buffer *out. */
cn_status ds__gz_read_grow(gzFile f, const char *path, size_t need, const char *what,
                           unsigned char **buf, cn_err *err) CN_WUR;
/* Opens a (possibly gzipped) file for reading. */
cn_status ds__gz_open(const char *path, gzFile *out, cn_err *err) CN_WUR;
/* Samples [offset, offset + count) of a file of `total` (count < 0: to the
 * end; cut at the end): *n_out of them; an offset past the end is an error. */
cn_status ds__select_range(const char *path, long total, int offset, int count, int *n_out,
                           cn_err *err) CN_WUR;
/* A NumPy .npy file (dataset_npy.c); head: its first 4 bytes, already read. */
cn_status ds__load_npy(gzFile fi, const unsigned char head[4], const char *path,
                       const char *labels_path, int offset, int count, ds_set **out,
                       cn_err *err) CN_WUR;

#endif

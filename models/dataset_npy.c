/* dataset_npy.c — NumPy .npy samples and labels (the format is described in
 * dataset.c's opening comment): the header dict parsed strictly, the data
 * read in C order, every error naming the file and the offset. */
#include "config.h"

#include <errno.h>
#include <fenv.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/dataset_int.h"

/* ------------------------------------------------------------------------ */
/* NumPy .npy                                                                */
/* ------------------------------------------------------------------------ */

enum { NPY_MAX_HEADER = 1 << 16, NPY_MAX_DIMS = 8 };

typedef struct {
    char kind;                     /* 'f' float, 'u' unsigned, 'i' signed */
    int size;                      /* bytes per element */
    long long shape[NPY_MAX_DIMS];
    int ndim;
    unsigned long long header_bytes;   /* offset of the data */
} npy_hdr;

/* Skips blanks in a header dict. */
static const char *npy_ws(const char *s, const char *e)
{
    while (s < e && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
        s++;
    return s;
}

/* Finds the value of key 'name' in the dict text [s, e); NULL when absent. */
static const char *npy_key(const char *s, const char *e, const char *name)
{
    char q1[32], q2[32];
    snprintf(q1, sizeof q1, "'%s'", name);
    snprintf(q2, sizeof q2, "\"%s\"", name);
    size_t k = strlen(q1);
    for (const char *t = s; t + k <= e; t++)
        if (!memcmp(t, q1, k) || !memcmp(t, q2, k)) {
            t = npy_ws(t + k, e);
            if (t < e && *t == ':')
                return npy_ws(t + 1, e);
        }
    return NULL;
}

/* Reads and checks a .npy header (the 4 bytes in head already read);
 * what ("data", "labels") names the file's role in messages. */
static cn_status npy_header(gzFile f, const char *path, const unsigned char *head, size_t nhead,
                            npy_hdr *h, cn_err *err)
{
    unsigned char pre[12];
    memcpy(pre, head, nhead);
    cn_status st = ds__gz_read_exact(f, path, pre + nhead, 10 - nhead, "the .npy preamble", err);
    if (st)
        return st;
    if (memcmp(pre, "\x93NUMPY", 6) != 0)
        return cn_fail(err, CN_EPARSE, "%s: offset 0: not a .npy file: expected the magic "
                       "bytes \\x93NUMPY", path);
    unsigned major = pre[6];
    unsigned long hlen;
    size_t pre_len;
    if (major == 1) {
        hlen = (unsigned long)pre[8] | (unsigned long)pre[9] << 8;
        pre_len = 10;
    } else if (major == 2 || major == 3) {
        if ((st = ds__gz_read_exact(f, path, pre + 10, 2, "the .npy preamble", err)))
            return st;
        hlen = (unsigned long)pre[8] | (unsigned long)pre[9] << 8 | (unsigned long)pre[10] << 16 |
               (unsigned long)pre[11] << 24;
        pre_len = 12;
    } else {
        return cn_fail(err, CN_EPARSE, "%s: offset 6: .npy format version %u.%u: expected 1.0, "
                       "2.0 or 3.0", path, major, (unsigned)pre[7]);
    }
    if (hlen == 0 || hlen > NPY_MAX_HEADER)
        return cn_fail(err, CN_EPARSE, "%s: offset 8: .npy header length %lu: expected 1..%d",
                       path, hlen, NPY_MAX_HEADER);
    char *txt = cn_malloc(hlen + 1);
    if (!txt)
        return cn_fail(err, CN_ENOMEM, "%s: out of memory", path);
    if ((st = ds__gz_read_exact(f, path, txt, hlen, "the .npy header", err))) {
        cn_free(txt);
        return st;
    }
    txt[hlen] = '\0';
    const char *s = txt, *e = txt + hlen;
    const unsigned long off = (unsigned long)pre_len;
    const char *v;
    char ds[16];
    /* the dict */
    const char *t = npy_ws(s, e);
    if (t == e || *t != '{') {
        st = cn_fail(err, CN_EPARSE, "%s: offset %lu: .npy header: expected a dict '{...}'",
                     path, off);
        goto done;
    }
    /* descr: '<f4', '<f8', '|u1', ... */
    if (!(v = npy_key(s, e, "descr")) || v >= e || (*v != '\'' && *v != '"')) {
        st = cn_fail(err, CN_EPARSE, "%s: offset %lu: .npy header: expected a 'descr' string "
                     "such as '<f4'", path, off);
        goto done;
    }
    {
        char qc = *v++;
        size_t k = 0;
        while (v < e && *v != qc && k + 1 < sizeof ds)
            ds[k++] = *v++;
        ds[k] = '\0';
        if (v >= e || *v != qc || k < 2) {
            st = cn_fail(err, CN_EPARSE, "%s: offset %lu: .npy header: unterminated or bad "
                         "'descr'", path, off);
            goto done;
        }
        const char *ty = ds;
        char order = '|';
        if (*ty == '<' || *ty == '>' || *ty == '|' || *ty == '=')
            order = *ty++;
        int size = 0;
        bool okty = (ty[0] == 'f' || ty[0] == 'u' || ty[0] == 'i') && ty[1] >= '1' &&
                    ty[1] <= '8' && ty[2] == '\0';
        if (okty)
            size = ty[1] - '0';
        okty = okty && (ty[0] == 'f' ? size == 4 || size == 8
                                     : size == 1 || size == 2 || size == 4 || size == 8);
        if (!okty) {
            st = cn_fail(err, CN_EPARSE, "%s: offset %lu: .npy dtype '%s': expected float32 "
                         "('<f4'), float64 ('<f8') or an integer type ('|u1', '<i8', ...)",
                         path, off, ds);
            goto done;
        }
        if (order == '>' && size > 1) {
            st = cn_fail(err, CN_EPARSE, "%s: offset %lu: .npy dtype '%s' is big-endian: "
                         "expected little-endian ('<'); save with arr.astype('<%s')", path, off,
                         ds, ty);
            goto done;
        }
        h->kind = ty[0];
        h->size = size;
    }
    if (!(v = npy_key(s, e, "fortran_order"))) {
        st = cn_fail(err, CN_EPARSE, "%s: offset %lu: .npy header: expected 'fortran_order'",
                     path, off);
        goto done;
    }
    if (e - v >= 4 && !memcmp(v, "True", 4)) {
        st = cn_fail(err, CN_EPARSE, "%s: .npy data in Fortran order: expected C order; save "
                     "with numpy.ascontiguousarray", path);
        goto done;
    }
    if (e - v < 5 || memcmp(v, "False", 5) != 0) {
        st = cn_fail(err, CN_EPARSE, "%s: offset %lu: .npy header: 'fortran_order' must be "
                     "True or False", path, off);
        goto done;
    }
    if (!(v = npy_key(s, e, "shape")) || v >= e || *v != '(') {
        st = cn_fail(err, CN_EPARSE, "%s: offset %lu: .npy header: expected a 'shape' tuple",
                     path, off);
        goto done;
    }
    v++;
    h->ndim = 0;
    for (;;) {
        v = npy_ws(v, e);
        if (v < e && *v == ')')
            break;
        if (v >= e || *v < '0' || *v > '9' || h->ndim == NPY_MAX_DIMS) {
            st = cn_fail(err, CN_EPARSE, "%s: offset %lu: .npy header: bad 'shape': expected "
                         "up to %d non-negative integers in '(...)'", path, off, NPY_MAX_DIMS);
            goto done;
        }
        long long x = 0;
        while (v < e && *v >= '0' && *v <= '9') {
            x = x * 10 + (*v++ - '0');
            if (x > (long long)INT_MAX * 16) {
                st = cn_fail(err, CN_ELIMIT, "%s: .npy shape: a dimension exceeds %d", path,
                             INT_MAX);
                goto done;
            }
        }
        if (v < e && *v == 'L')    /* Python 2 long */
            v++;
        h->shape[h->ndim++] = x;
        v = npy_ws(v, e);
        if (v < e && *v == ',')
            v++;
    }
    h->header_bytes = pre_len + hlen;
done:
    cn_free(txt);
    return st;
}

/* Reads element k of little-endian data as a double (integers exactly:
 * labels stay within DS_MAX_LABEL, checked by the caller). */
static double npy_elem(const npy_hdr *h, const unsigned char *b)
{
    unsigned long long u = 0;
    for (int k = h->size - 1; k >= 0; k--)
        u = u << 8 | b[k];
    if (h->kind == 'f' && h->size == 4) {
        uint32_t w = (uint32_t)u;
        float x;
        memcpy(&x, &w, 4);
        return x;
    }
    if (h->kind == 'f') {
        double x;
        memcpy(&x, &u, 8);
        return x;
    }
    if (h->kind == 'i') {
        int sh = 64 - 8 * h->size;
        long long sv = (long long)(u << sh) >> sh;
        return sv < -1e18 ? -1e18 : (double)sv;
    }
    return u > (1ULL << 53) ? 9.1e15 : (double)u;
}

cn_status ds__load_npy(gzFile fi, const unsigned char head[4], const char *path,
                       const char *labels_path, int offset, int count, ds_set **out,
                       cn_err *err)
{
    cn_status st;
    gzFile fl = NULL;
    ds_set *d = NULL;
    unsigned char *raw = NULL, *lraw = NULL;
    npy_hdr h, lh;
    if ((st = npy_header(fi, path, head, 4, &h, err)))
        goto fail;
    if (h.kind == 'i' || (h.kind == 'u' && h.size != 1)) {
        st = cn_fail(err, CN_EPARSE, "%s: .npy data of integers of %d bytes: expected float32, "
                     "float64 or uint8", path, h.size);
        goto fail;
    }
    if (h.ndim < 1 || h.shape[0] == 0) {
        st = cn_fail(err, CN_EPARSE, "%s: .npy shape: expected (N, ...) with N >= 1 samples",
                     path);
        goto fail;
    }
    if (h.shape[0] > INT_MAX) {
        st = cn_fail(err, CN_ELIMIT, "%s: .npy shape: %lld samples exceeds the limit of %d", path,
                     h.shape[0], INT_MAX);
        goto fail;
    }
    long long dimll = 1;
    for (int k = 1; k < h.ndim; k++) {
        dimll *= h.shape[k];
        if (dimll > DS_MAX_DIM)
            break;
    }
    if (dimll < 1 || dimll > DS_MAX_DIM) {
        st = cn_fail(err, CN_EPARSE, "%s: .npy shape: %lld values per sample is outside 1..%d",
                     path, dimll, DS_MAX_DIM);
        goto fail;
    }
    long total = (long)h.shape[0];
    int dim = (int)dimll;
    if (!labels_path) {
        st = cn_fail(err, CN_EINVAL, "%s: a .npy data file needs a labels file (a .npy of %ld "
                     "integers; --labels FILE)", path, total);
        goto fail;
    }
    if ((st = ds__gz_open(labels_path, &fl, err)))
        goto fail;
    unsigned char lhead[4];
    int got = gzread(fl, lhead, 4);
    if (got != 4 || memcmp(lhead, "\x93NUM", 4) != 0) {
        st = cn_fail(err, CN_EPARSE, "%s: offset 0: not a .npy file (magic \\x93NUMPY): the "
                     "labels of a .npy data file are a .npy of integers", labels_path);
        goto fail;
    }
    if ((st = npy_header(fl, labels_path, lhead, 4, &lh, err)))
        goto fail;
    if (lh.kind == 'f') {
        st = cn_fail(err, CN_EPARSE, "%s: .npy labels of dtype float: expected integers",
                     labels_path);
        goto fail;
    }
    if (!(lh.ndim == 1 || (lh.ndim == 2 && lh.shape[1] == 1)) || lh.shape[0] != total) {
        st = cn_fail(err, CN_EPARSE, "%s: .npy labels: expected shape (%ld,) to match %s, got "
                     "%d dimension%s with %lld entries", labels_path, total, path, lh.ndim,
                     lh.ndim == 1 ? "" : "s", lh.ndim ? lh.shape[0] : 0LL);
        goto fail;
    }
    int n;
    if ((st = ds__select_range(path, total, offset, count, &n, err)))
        goto fail;
    d = cn_calloc(1, sizeof *d);
    if (!d) {
        st = cn_fail(err, CN_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    d->dim = dim;
    if (h.ndim == 3 || (h.ndim == 4 && h.shape[1] == 1)) {
        d->rows = (int)h.shape[h.ndim - 2];
        d->cols = (int)h.shape[h.ndim - 1];
    } else {
        d->rows = dim;
        d->cols = 1;
    }
    if (offset > 0 &&
        (gzseek(fi, (z_off_t)offset * dim * h.size, SEEK_CUR) < 0 ||
         gzseek(fl, (z_off_t)offset * lh.size, SEEK_CUR) < 0)) {
        st = cn_fail(err, CN_EIO, "%s: cannot skip to sample %d", path, offset);
        goto fail;
    }
    char what[128];
    snprintf(what, sizeof what, ".npy data (%ld samples of %d values, from byte offset %llu)",
             total, dim, h.header_bytes);
    size_t nv = (size_t)n * (size_t)dim;
    if (n == 0) {                  /* count == 0: nothing to read */
        raw = cn_malloc(1);
        lraw = cn_malloc(1);
        if (!raw || !lraw)
            goto nomem;
    } else {
        if ((st = ds__gz_read_grow(fi, path, nv * (size_t)h.size, what, &raw, err)))
            goto fail;
        snprintf(what, sizeof what, ".npy labels (%ld labels, from byte offset %llu)", total,
                 lh.header_bytes);
        if ((st = ds__gz_read_grow(fl, labels_path, (size_t)n * (size_t)lh.size, what, &lraw, err)))
            goto fail;
    }
    d->labels = cn_mallocarray((size_t)(n ? n : 1), sizeof(int));
    if (!d->labels)
        goto nomem;
    for (int i = 0; i < n; i++) {
        double l = npy_elem(&lh, lraw + (size_t)i * (size_t)lh.size);
        if (l < 0 || l > DS_MAX_LABEL) {
            st = cn_fail(err, CN_EPARSE, "%s: label %d (byte offset %llu): expected an integer "
                         "0..%d, got %.0f", labels_path, offset + i,
                         lh.header_bytes + (unsigned long long)(offset + i) * lh.size,
                         DS_MAX_LABEL, l);
            goto fail;
        }
        d->labels[i] = (int)l;
    }
    d->in_unit = true;
    if (h.kind == 'u') {
        d->pixels = raw;
        raw = NULL;
    } else {
        d->is_float = true;
        d->values = cn_mallocarray(nv ? nv : 1, sizeof(double));
        if (!d->values)
            goto nomem;
        for (size_t k = 0; k < nv; k++) {
            double x = npy_elem(&h, raw + k * (size_t)h.size);
            if (!isfinite(x)) {
                st = cn_fail(err, CN_EPARSE, "%s: sample %d, value %d (byte offset %llu): "
                             "expected a finite number, got %s", path,
                             offset + (int)(k / (size_t)dim), (int)(k % (size_t)dim),
                             h.header_bytes + ((unsigned long long)offset * dim + k) * h.size,
                             isnan(x) ? "NaN" : "an infinity");
                goto fail;
            }
            if (x < 0 || x > 1)
                d->in_unit = false;
            d->values[k] = x;
        }
    }
    d->n = n;
    cn_free(raw);
    cn_free(lraw);
    gzclose(fl);
    *out = d;
    return CN_OK;
nomem:
    st = cn_fail(err, CN_ENOMEM, "%s: out of memory", path);
fail:
    cn_free(raw);
    cn_free(lraw);
    if (fl)
        gzclose(fl);
    ds_free(d);
    return st;
}


/* dataset.c — image samples: ERAN CSV and IDX (MNIST-style) files.
 *
 * CSV (ERAN's mnist_test.csv): one sample per line, the label then `dim`
 * integer pixel values 0..255, comma-separated.  Every line must have the
 * same number of values; blank lines are skipped.
 *
 * IDX (LeCun's MNIST format, also Fashion-MNIST): big-endian header
 *   images: magic 0x00000803, N, rows, cols, then N*rows*cols uint8 pixels;
 *   labels: magic 0x00000801, N, then N uint8 labels.
 * Either file may be gzipped: zlib's gzread reads plain files unchanged.
 *
 * offset/count select samples [offset, offset+count) of the file; count < 0
 * means "to the end", and a count running past the end is cut to what the
 * file has (d->n says how many were read).  An offset at or past the end is
 * an error naming how many samples the file has.
 */
#include "config.h"

#include <errno.h>
#include <fenv.h>
#include <limits.h>
#include <string.h>

#include <zlib.h>

#include "models/models_int.h"

enum {
    DS_MAX_DIM = 1 << 24,          /* values per sample */
    DS_MAX_LABEL = 65535,
    DS_MAX_FILE = 1 << 30          /* bytes of (decompressed) CSV text */
};

static const unsigned IDX_IMAGES = 0x00000803u, IDX_LABELS = 0x00000801u;

void ds_free(ds_set *d)
{
    if (!d)
        return;
    cn_free(d->pixels);
    cn_free(d->labels);
    cn_free(d);
}

/* Reads exactly n bytes; a short read is reported as truncation. */
static cn_status gz_read_exact(gzFile f, const char *path, void *buf, size_t n, const char *what,
                               cn_err *err)
{
    unsigned char *p = buf;
    while (n > 0) {
        unsigned chunk = n > (1u << 30) ? (1u << 30) : (unsigned)n;
        int got = gzread(f, p, chunk);
        if (got < 0) {
            int zerr;
            const char *m = gzerror(f, &zerr);
            return cn_fail(err, CN_EIO, "%s: read error in %s: %s", path, what, m);
        }
        if (got == 0)
            return cn_fail(err, CN_EPARSE, "%s: file ends early: %s is truncated", path, what);
        p += got;
        n -= (size_t)got;
    }
    return CN_OK;
}

/* Reads exactly `need` bytes into a new buffer (*buf, owned by the caller on
 * success).  The buffer grows as data arrives, so a header that promises
 * more than the file holds costs no more memory than the file itself. */
static cn_status gz_read_grow(gzFile f, const char *path, size_t need, const char *what,
                              unsigned char **buf, cn_err *err)
{
    size_t cap = need < (1u << 20) ? need : (1u << 20), have = 0;
    unsigned char *b = cn_malloc(cap);
    if (!b)
        return cn_fail(err, CN_ENOMEM, "%s: out of memory reading %s", path, what);
    while (have < need) {
        if (have == cap) {
            size_t nc = cap > need / 2 ? need : 2 * cap;
            unsigned char *nb = cn_realloc(b, nc);
            if (!nb) {
                cn_free(b);
                return cn_fail(err, CN_ENOMEM, "%s: out of memory reading %s", path, what);
            }
            b = nb;
            cap = nc;
        }
        cn_status st = gz_read_exact(f, path, b + have, cap - have, what, err);
        if (st) {
            cn_free(b);
            return st;
        }
        have = cap;
    }
    *buf = b;
    return CN_OK;
}

static cn_status gz_open(const char *path, gzFile *out, cn_err *err)
{
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (!f) {
        if (errno == ENOMEM || errno == 0)
            return cn_fail(err, errno ? CN_ENOMEM : CN_EIO, "%s: cannot open%s", path,
                           errno ? ": out of memory" : "");
        return cn_fail(err, CN_EIO, "%s: cannot open: %s", path, strerror(errno));
    }
    *out = f;
    return CN_OK;
}

static unsigned be32(const unsigned char *b)
{
    return (unsigned)b[0] << 24 | (unsigned)b[1] << 16 | (unsigned)b[2] << 8 | (unsigned)b[3];
}

/* Works out which samples to take, given the file's total. */
static cn_status select_range(const char *path, long total, int offset, int count, int *n_out,
                              cn_err *err)
{
    if (offset < 0)
        return cn_fail(err, CN_EINVAL, "%s: negative sample offset %d", path, offset);
    if ((long)offset >= total)
        return cn_fail(err, CN_EINVAL, "%s: sample offset %d is past the end: the file has %ld "
                       "sample%s", path, offset, total, total == 1 ? "" : "s");
    long avail = total - offset;
    *n_out = (int)(count < 0 || count > avail ? avail : count);
    return CN_OK;
}

/* ------------------------------------------------------------------------ */
/* IDX                                                                       */
/* ------------------------------------------------------------------------ */

static cn_status load_idx(gzFile fi, const unsigned char hdr4[4], const char *path,
                          const char *labels_path, int offset, int count, ds_set **out,
                          cn_err *err)
{
    cn_status st;
    gzFile fl = NULL;
    ds_set *d = NULL;
    unsigned char h[16], lh[8];
    memcpy(h, hdr4, 4);
    if ((st = gz_read_exact(fi, path, h + 4, 12, "the IDX header", err)))
        goto fail;
    unsigned long total = be32(h + 4), rows = be32(h + 8), cols = be32(h + 12);
    if (rows == 0 || cols == 0 || rows > DS_MAX_DIM || cols > DS_MAX_DIM ||
        rows * cols > DS_MAX_DIM) {
        st = cn_fail(err, CN_EPARSE, "%s: IDX header: image size %lux%lu is outside 1..%d values",
                     path, rows, cols, DS_MAX_DIM);
        goto fail;
    }
    if (total > INT_MAX) {
        st = cn_fail(err, CN_ELIMIT, "%s: IDX header: %lu images exceeds the limit of %d", path,
                     total, INT_MAX);
        goto fail;
    }
    if (!labels_path) {
        st = cn_fail(err, CN_EINVAL, "%s: an IDX image file needs a labels file", path);
        goto fail;
    }
    if ((st = gz_open(labels_path, &fl, err)))
        goto fail;
    if ((st = gz_read_exact(fl, labels_path, lh, 8, "the IDX header", err)))
        goto fail;
    if (be32(lh) != IDX_LABELS) {
        st = cn_fail(err, CN_EPARSE, "%s: not an IDX labels file: magic 0x%08x, expected 0x%08x",
                     labels_path, be32(lh), IDX_LABELS);
        goto fail;
    }
    if (be32(lh + 4) != total) {
        st = cn_fail(err, CN_EPARSE, "%s: IDX header: %u labels, but %s has %lu images",
                     labels_path, be32(lh + 4), path, total);
        goto fail;
    }
    int n;
    if ((st = select_range(path, (long)total, offset, count, &n, err)))
        goto fail;
    int dim = (int)(rows * cols);
    d = cn_calloc(1, sizeof *d);
    if (!d) {
        st = cn_fail(err, CN_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    d->dim = dim;
    d->rows = (int)rows;
    d->cols = (int)cols;
    /* skip to the first selected sample (gzseek forward is emulated by reading) */
    if (offset > 0) {
        if (gzseek(fi, (z_off_t)offset * dim, SEEK_CUR) < 0 ||
            gzseek(fl, (z_off_t)offset, SEEK_CUR) < 0) {
            st = cn_fail(err, CN_EIO, "%s: cannot skip to sample %d", path, offset);
            goto fail;
        }
    }
    char what[96];
    snprintf(what, sizeof what, "image data (%lu images of %d pixels)", total, dim);
    if ((st = gz_read_grow(fi, path, (size_t)n * (size_t)dim, what, &d->pixels, err)))
        goto fail;
    unsigned char *lb;
    snprintf(what, sizeof what, "label data (%lu labels)", total);
    if ((st = gz_read_grow(fl, labels_path, (size_t)n, what, &lb, err)))
        goto fail;
    d->labels = cn_mallocarray((size_t)n, sizeof(int));
    if (!d->labels) {
        cn_free(lb);
        st = cn_fail(err, CN_ENOMEM, "%s: out of memory for labels", labels_path);
        goto fail;
    }
    for (int i = 0; i < n; i++)
        d->labels[i] = lb[i];
    cn_free(lb);
    d->n = n;
    gzclose(fl);
    *out = d;
    return CN_OK;
fail:
    if (fl)
        gzclose(fl);
    ds_free(d);
    return st;
}

/* ------------------------------------------------------------------------ */
/* CSV                                                                       */
/* ------------------------------------------------------------------------ */

/* Reads the rest of the (possibly gzipped) file; head holds bytes already read. */
static cn_status gz_slurp(gzFile f, const char *path, const unsigned char *head, size_t nhead,
                          char **text, size_t *len, cn_err *err)
{
    size_t cap = 1 << 16, n = nhead;
    char *buf = cn_malloc(cap + 1);
    if (!buf)
        return cn_fail(err, CN_ENOMEM, "%s: out of memory reading file", path);
    memcpy(buf, head, nhead);
    for (;;) {
        if (n == cap) {
            if (cap >= DS_MAX_FILE) {
                cn_free(buf);
                return cn_fail(err, CN_ELIMIT, "%s: file larger than %d bytes", path, DS_MAX_FILE);
            }
            char *nb = cn_realloc(buf, 2 * cap + 1);
            if (!nb) {
                cn_free(buf);
                return cn_fail(err, CN_ENOMEM, "%s: out of memory reading file", path);
            }
            buf = nb;
            cap *= 2;
        }
        int got = gzread(f, buf + n, (unsigned)(cap - n));
        if (got < 0) {
            int zerr;
            const char *m = gzerror(f, &zerr);
            cn_free(buf);
            return cn_fail(err, CN_EIO, "%s: read error: %s", path, m);
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return CN_OK;
}

static bool csv_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Parses a field [s, e) as a decimal integer in [0, max]; *v set on success. */
static bool csv_int(const char *s, const char *e, long max, long *v)
{
    while (s < e && csv_blank(*s))
        s++;
    while (e > s && csv_blank(e[-1]))
        e--;
    if (s < e && *s == '+')
        s++;
    if (s == e)
        return false;
    long x = 0;
    for (; s < e; s++) {
        if (*s < '0' || *s > '9')
            return false;
        x = x * 10 + (*s - '0');
        if (x > max)
            return false;
    }
    *v = x;
    return true;
}

static void field_text(const char *s, const char *e, char *buf, size_t cap)
{
    while (s < e && csv_blank(*s))
        s++;
    while (e > s && csv_blank(e[-1]))
        e--;
    size_t n = (size_t)(e - s);
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
}

static cn_status load_csv(const char *path, const char *text, size_t len, int offset, int count,
                          ds_set **out, cn_err *err)
{
    cn_status st = CN_OK;
    ds_set *d = NULL;
    int dim = -1, first_line = 0;
    long total = 0, line = 0;
    size_t cap = 0;                /* samples allocated in d */
    const char *p = text, *end = text + len;
    char ft[48];

    if (offset < 0)
        return cn_fail(err, CN_EINVAL, "%s: negative sample offset %d", path, offset);
    d = cn_calloc(1, sizeof *d);
    if (!d)
        return cn_fail(err, CN_ENOMEM, "%s: out of memory", path);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *ls = p, *le = nl ? nl : end;
        p = nl ? nl + 1 : end;
        line++;
        const char *t = ls;
        while (t < le && csv_blank(*t))
            t++;
        if (t == le)
            continue;
        /* count fields */
        long nf = 1;
        for (const char *q = ls; (q = memchr(q, ',', (size_t)(le - q))) != NULL; q++)
            nf++;
        if (dim < 0) {
            if (nf < 2 || nf - 1 > DS_MAX_DIM) {
                st = cn_fail(err, CN_EPARSE, "%s:%ld: expected a label and 1..%d pixel values, "
                             "got %ld field%s", path, line, DS_MAX_DIM, nf, nf == 1 ? "" : "s");
                goto fail;
            }
            dim = (int)(nf - 1);
            first_line = (int)line;
        } else if (nf - 1 != dim) {
            st = cn_fail(err, CN_EPARSE, "%s:%ld: expected %d pixel values (as on line %d), got %ld",
                         path, line, dim, first_line, nf - 1);
            goto fail;
        }
        bool keep = total >= offset && (count < 0 || total < (long)offset + count);
        if (total == INT_MAX) {
            st = cn_fail(err, CN_ELIMIT, "%s:%ld: more than %d samples", path, line, INT_MAX);
            goto fail;
        }
        if (keep && (size_t)d->n == cap) {
            size_t nc = cap ? 2 * cap : 128;
            uint8_t *px = cn_reallocarray(d->pixels, nc, (size_t)dim);
            if (!px)
                goto nomem;
            d->pixels = px;
            int *lb = cn_reallocarray(d->labels, nc, sizeof(int));
            if (!lb)
                goto nomem;
            d->labels = lb;
            cap = nc;
        }
        const char *fs = ls;
        for (long f = 0; f < nf; f++) {
            const char *c = memchr(fs, ',', (size_t)(le - fs));
            const char *fe = c ? c : le;
            long v;
            if (f == 0) {
                if (!csv_int(fs, fe, DS_MAX_LABEL, &v)) {
                    field_text(fs, fe, ft, sizeof ft);
                    st = cn_fail(err, CN_EPARSE, "%s:%ld: field 1: expected a label (integer "
                                 "0..%d), got '%s'", path, line, DS_MAX_LABEL, ft);
                    goto fail;
                }
                if (keep)
                    d->labels[d->n] = (int)v;
            } else {
                if (!csv_int(fs, fe, 255, &v)) {
                    field_text(fs, fe, ft, sizeof ft);
                    st = cn_fail(err, CN_EPARSE, "%s:%ld: field %ld (pixel %ld): expected an "
                                 "integer 0..255, got '%s'", path, line, f + 1, f - 1, ft);
                    goto fail;
                }
                if (keep)
                    d->pixels[(size_t)d->n * (size_t)dim + (size_t)(f - 1)] = (uint8_t)v;
            }
            fs = c ? c + 1 : le;
        }
        if (keep)
            d->n++;
        total++;
    }
    if (total == 0) {
        st = cn_fail(err, CN_EPARSE, "%s: empty file: expected lines 'label,pixel,...'", path);
        goto fail;
    }
    int n;
    if ((st = select_range(path, total, offset, count, &n, err)))
        goto fail;
    if (n != d->n) {
        st = cn_fail(err, CN_EINTERNAL, "%s: selected %d samples, kept %d", path, n, d->n);
        goto fail;
    }
    if (d->n == 0) {               /* count == 0: keep the arrays non-NULL */
        d->pixels = cn_malloc(1);
        d->labels = cn_malloc(sizeof(int));
        if (!d->pixels || !d->labels)
            goto nomem;
    }
    d->dim = dim;
    d->rows = dim;
    d->cols = 1;
    *out = d;
    return CN_OK;
nomem:
    st = cn_fail(err, CN_ENOMEM, "%s: out of memory", path);
fail:
    ds_free(d);
    return st;
}

cn_status ds_load(const char *path, const char *labels_path, int offset, int count, ds_set **out,
                  cn_err *err)
{
    CN_REQUIRE(path && out, "path and out");
    gzFile f;
    cn_status st = gz_open(path, &f, err);
    if (st)
        return st;
    unsigned char head[4];
    int got = gzread(f, head, 4);
    if (got < 0) {
        int zerr;
        st = cn_fail(err, CN_EIO, "%s: read error: %s", path, gzerror(f, &zerr));
    } else if (got == 4 && be32(head) == IDX_IMAGES) {
        st = load_idx(f, head, path, labels_path, offset, count, out, err);
    } else if (got == 4 && be32(head) == IDX_LABELS) {
        st = cn_fail(err, CN_EINVAL, "%s: this is an IDX labels file; give the images file "
                     "first and the labels file second", path);
    } else if (labels_path) {
        st = cn_fail(err, CN_EPARSE, "%s: not an IDX image file (magic 0x00000803), but a labels "
                     "file was given", path);
    } else {
        char *text = NULL;
        size_t len = 0;
        st = gz_slurp(f, path, head, (size_t)got, &text, &len, err);
        if (st == CN_OK) {
            st = load_csv(path, text, len, offset, count, out, err);
            cn_free(text);
        }
    }
    gzclose(f);
    return st;
}

void ds_input_d(const ds_set *d, int i, double *x)
{
    CN_REQUIRE(d && x && i >= 0 && i < d->n, "sample index in range");
    const uint8_t *p = d->pixels + (size_t)i * (size_t)d->dim;
    /* the nearest double to p/255, whatever the caller's rounding mode */
    int saved = cn_round_push(FE_TONEAREST);
    for (int k = 0; k < d->dim; k++)
        x[k] = (double)p[k] / 255.0;
    cn_round_pop(saved);
}

void ds_input_q(const ds_set *d, int i, mpq_t *x)
{
    CN_REQUIRE(d && x && i >= 0 && i < d->n, "sample index in range");
    const uint8_t *p = d->pixels + (size_t)i * (size_t)d->dim;
    for (int k = 0; k < d->dim; k++) {
        mpq_set_ui(x[k], p[k], 255);
        mpq_canonicalize(x[k]);
    }
}

/* dataset.c — image samples: ERAN CSV, IDX (MNIST-style) and NumPy .npy files.
 *
 * CSV (ERAN's mnist_test.csv): one sample per line, the label then `dim`
 * integer pixel values 0..255, comma-separated.  Every line must have the
 * same number of values; blank lines are skipped.  A CSV in which some value
 * is written with '.', 'e', 'E' or '-' is float data: every value is then a
 * decimal ([+-]digits[.digits][(e|E)[+-]digits]) taken as given, exactly.
 *
 * IDX (LeCun's MNIST format, also Fashion-MNIST): big-endian header
 *   images: magic 0x00000803, N, rows, cols, then N*rows*cols uint8 pixels;
 *   labels: magic 0x00000801, N, then N uint8 labels.
 * Either file may be gzipped: zlib's gzread reads plain files unchanged.
 *
 * NumPy .npy (format 1.0, 2.0 or 3.0): magic "\x93NUMPY", version, header
 * length (2 bytes little-endian in 1.0, 4 in 2.0/3.0), a Python dict literal
 * {'descr': ..., 'fortran_order': False, 'shape': (N, ...)}, then the data in
 * C order.  Data: '<f4', '<f8' (float data) or '|u1' (8-bit pixels); labels
 * (a second .npy, labels_path): N integers ('|u1', '|i1', '<i2', '<u2',
 * '<i4', '<u4', '<i8', '<u8'), shape (N,) or (N, 1).
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
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "models/dataset_int.h"


static const unsigned IDX_IMAGES = 0x00000803u, IDX_LABELS = 0x00000801u;

void ds_free(ds_set *d)
{
    if (!d)
        return;
    cn_free(d->pixels);
    cn_free(d->labels);
    cn_free(d->values);
    cn_free(d->text_);
    cn_free(d->field_);
    cn_free(d);
}

/* Reads exactly n bytes; a short read is reported as truncation. */
cn_status ds__gz_read_exact(gzFile f, const char *path, void *buf, size_t n, const char *what,
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
cn_status ds__gz_read_grow(gzFile f, const char *path, size_t need, const char *what,
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
        cn_status st = ds__gz_read_exact(f, path, b + have, cap - have, what, err);
        if (st) {
            cn_free(b);
            return st;
        }
        have = cap;
    }
    *buf = b;
    return CN_OK;
}

cn_status ds__gz_open(const char *path, gzFile *out, cn_err *err)
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
cn_status ds__select_range(const char *path, long total, int offset, int count, int *n_out,
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
    if ((st = ds__gz_read_exact(fi, path, h + 4, 12, "the IDX header", err)))
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
    if ((st = ds__gz_open(labels_path, &fl, err)))
        goto fail;
    if ((st = ds__gz_read_exact(fl, labels_path, lh, 8, "the IDX header", err)))
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
    if ((st = ds__select_range(path, (long)total, offset, count, &n, err)))
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
    if ((st = ds__gz_read_grow(fi, path, (size_t)n * (size_t)dim, what, &d->pixels, err)))
        goto fail;
    unsigned char *lb;
    snprintf(what, sizeof what, "label data (%lu labels)", total);
    if ((st = ds__gz_read_grow(fl, labels_path, (size_t)n, what, &lb, err)))
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
    d->in_unit = true;
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

/* [s, e) is a decimal in cn_mpq_set_decimal's grammar:
 * [+-]? digits [. digits]? ([eE] [+-]? digits)?, at least one mantissa digit. */
static bool dec_syntax(const char *s, const char *e)
{
    if (s < e && (*s == '+' || *s == '-'))
        s++;
    int nd = 0;
    while (s < e && *s >= '0' && *s <= '9')
        s++, nd++;
    if (s < e && *s == '.') {
        s++;
        while (s < e && *s >= '0' && *s <= '9')
            s++, nd++;
    }
    if (nd == 0)
        return false;
    if (s < e && (*s == 'e' || *s == 'E')) {
        s++;
        if (s < e && (*s == '+' || *s == '-'))
            s++;
        int ne = 0;
        while (s < e && *s >= '0' && *s <= '9' && ne < 6)
            s++, ne++;
        if (ne == 0 || ne >= 6)    /* cn_mpq_set_decimal takes exponents below 100000 */
            return false;
    }
    return s == e;
}

/* A float CSV value (NUL-terminated, syntax checked): the nearest double
 * (*v), false when it is outside the double range; *unit cleared unless the
 * exact value lies in [0, 1]. */
static bool dec_value(const char *s, double *v, bool *unit, bool *nomem)
{
    int saved = cn_round_push(FE_TONEAREST);
    errno = 0;
    double x = strtod(s, NULL);
    cn_round_pop(saved);
    if (!isfinite(x))
        return false;
    *v = x;
    if (x < 0 || x > 1) {
        *unit = false;
    } else if (x == 0 || x == 1) {
        /* the nearest double is an end point: decide exactly */
        mpq_t q;
        mpq_init(q);
        if (!cn_mpq_set_decimal(q, s, strlen(s)))
            *nomem = true;
        else if (mpq_sgn(q) < 0 || mpq_cmp_ui(q, 1, 1) > 0)
            *unit = false;
        mpq_clear(q);
    }
    return true;
}

/* Takes ownership of text (float data keep it, d->text_). */
static cn_status load_csv(const char *path, char *text, size_t len, int offset, int count,
                          ds_set **out, cn_err *err)
{
    cn_status st = CN_OK;
    ds_set *d = NULL;
    int dim = -1, first_line = 0;
    long total = 0, line = 0;
    size_t cap = 0;                /* samples allocated in d */
    char *p = text, *end = text + len;
    char ft[48];
    bool is_float = false;

    if (offset < 0) {
        cn_free(text);
        return cn_fail(err, CN_EINVAL, "%s: negative sample offset %d", path, offset);
    }
    for (size_t k = 0; k < len && !is_float; k++)
        is_float = text[k] == '.' || text[k] == 'e' || text[k] == 'E' || text[k] == '-';
    d = cn_calloc(1, sizeof *d);
    if (!d) {
        cn_free(text);
        return cn_fail(err, CN_ENOMEM, "%s: out of memory", path);
    }
    d->is_float = is_float;
    d->in_unit = true;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *ls = p, *le = nl ? nl : end;
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
                st = cn_fail(err, CN_EPARSE, "%s:%ld: expected a label and 1..%d %s values, "
                             "got %ld field%s", path, line, DS_MAX_DIM, is_float ? "decimal"
                             : "pixel", nf, nf == 1 ? "" : "s");
                goto fail;
            }
            dim = (int)(nf - 1);
            first_line = (int)line;
        } else if (nf - 1 != dim) {
            st = cn_fail(err, CN_EPARSE, "%s:%ld: expected %d %s values (as on line %d), got %ld",
                         path, line, dim, is_float ? "decimal" : "pixel", first_line, nf - 1);
            goto fail;
        }
        bool keep = total >= offset && (count < 0 || total < (long)offset + count);
        if (total == INT_MAX) {
            st = cn_fail(err, CN_ELIMIT, "%s:%ld: more than %d samples", path, line, INT_MAX);
            goto fail;
        }
        if (keep && (size_t)d->n == cap) {
            size_t nc = cap ? 2 * cap : 128;
            if (is_float) {
                double *v = cn_reallocarray(d->values, nc, (size_t)dim);
                if (!v)
                    goto nomem;
                d->values = v;
                size_t *fo = cn_reallocarray(d->field_, nc, (size_t)dim * sizeof(size_t));
                if (!fo)
                    goto nomem;
                d->field_ = fo;
            } else {
                uint8_t *px = cn_reallocarray(d->pixels, nc, (size_t)dim);
                if (!px)
                    goto nomem;
                d->pixels = px;
            }
            int *lb = cn_reallocarray(d->labels, nc, sizeof(int));
            if (!lb)
                goto nomem;
            d->labels = lb;
            cap = nc;
        }
        char *fs = ls;
        for (long f = 0; f < nf; f++) {
            char *c = memchr(fs, ',', (size_t)(le - fs));
            char *fe = c ? c : le;
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
            } else if (is_float) {
                char *s0 = fs, *e0 = fe;
                while (s0 < e0 && csv_blank(*s0))
                    s0++;
                while (e0 > s0 && csv_blank(e0[-1]))
                    e0--;
                if (!dec_syntax(s0, e0)) {
                    field_text(fs, fe, ft, sizeof ft);
                    st = cn_fail(err, CN_EPARSE, "%s:%ld: field %ld (value %ld): expected a "
                                 "decimal number, got '%s'", path, line, f + 1, f - 1, ft);
                    goto fail;
                }
                if (keep) {
                    size_t at = (size_t)d->n * (size_t)dim + (size_t)(f - 1);
                    *e0 = '\0';    /* e0 is a separator, a blank or the end: no longer read */
                    bool nomem = false;
                    if (!dec_value(s0, &d->values[at], &d->in_unit, &nomem)) {
                        st = cn_fail(err, CN_EPARSE, "%s:%ld: field %ld (value %ld): '%.40s' is "
                                     "outside the range of a double", path, line, f + 1, f - 1,
                                     s0);
                        goto fail;
                    }
                    if (nomem)
                        goto nomem;
                    d->field_[at] = (size_t)(s0 - text);
                }
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
    if ((st = ds__select_range(path, total, offset, count, &n, err)))
        goto fail;
    if (n != d->n) {
        st = cn_fail(err, CN_EINTERNAL, "%s: selected %d samples, kept %d", path, n, d->n);
        goto fail;
    }
    if (d->n == 0) {               /* count == 0: keep the arrays non-NULL */
        if (is_float) {
            d->values = cn_malloc(sizeof(double));
            d->field_ = cn_malloc(sizeof(size_t));
            if (!d->values || !d->field_)
                goto nomem;
        } else {
            d->pixels = cn_malloc(1);
            if (!d->pixels)
                goto nomem;
        }
        d->labels = cn_malloc(sizeof(int));
        if (!d->labels)
            goto nomem;
    }
    d->dim = dim;
    d->rows = dim;
    d->cols = 1;
    if (is_float)
        d->text_ = text;
    else
        cn_free(text);
    *out = d;
    return CN_OK;
nomem:
    st = cn_fail(err, CN_ENOMEM, "%s: out of memory", path);
fail:
    cn_free(text);
    ds_free(d);
    return st;
}

static cn_status load_any(const char *path, const char *labels_path, int offset, int count,
                          ds_set **out, cn_err *err);

cn_status ds_load(const char *path, const char *labels_path, int offset, int count, ds_set **out,
                  cn_err *err)
{
    ds_set *d = NULL;
    cn_status st = load_any(path, labels_path, offset, count, &d, err);
    if (st != CN_OK)
        return st;
    if (!d->in_unit) {
        /* name the first value outside [0, 1] (by its double; an end point
         * exceeded only exactly is named by its sample) */
        size_t nv = (size_t)d->n * (size_t)d->dim, k = 0;
        for (; k < nv; k++) {
            double v = d->values[k];
            if (v < 0.0 || v > 1.0)
                break;
            if ((v == 0.0 || v == 1.0) && d->text_) {
                bool unit = true, nomem = false;
                (void)dec_value(d->text_ + d->field_[k], &v, &unit, &nomem);
                if (!unit)
                    break;
            }
        }
        if (k == nv)
            k = 0;
        char val[64];
        if (d->text_)
            snprintf(val, sizeof val, "'%.40s'", d->text_ + d->field_[k]);
        else
            snprintf(val, sizeof val, "%.17g", d->values[k]);
        st = cn_fail(err, CN_EPARSE, "%s: sample %d, value %d is %s: float data must lie in "
                     "[0, 1], the range eps-balls are clipped to (give the network's "
                     "normalisation with --mean/--std)", path, offset + (int)(k / (size_t)d->dim),
                     (int)(k % (size_t)d->dim), val);
        ds_free(d);
        return st;
    }
    *out = d;
    return CN_OK;
}

cn_status ds_load_any_range(const char *path, const char *labels_path, int offset, int count,
                            ds_set **out, cn_err *err)
{
    return load_any(path, labels_path, offset, count, out, err);
}

static cn_status load_any(const char *path, const char *labels_path, int offset, int count,
                          ds_set **out, cn_err *err)
{
    CN_REQUIRE(path && out, "path and out");
    gzFile f;
    cn_status st = ds__gz_open(path, &f, err);
    if (st)
        return st;
    unsigned char head[4];
    int got = gzread(f, head, 4);
    if (got < 0) {
        int zerr;
        st = cn_fail(err, CN_EIO, "%s: read error: %s", path, gzerror(f, &zerr));
    } else if (got == 4 && be32(head) == IDX_IMAGES) {
        st = load_idx(f, head, path, labels_path, offset, count, out, err);
    } else if (got == 4 && !memcmp(head, "\x93NUM", 4)) {
        st = ds__load_npy(f, head, path, labels_path, offset, count, out, err);
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
        if (st == CN_OK)
            st = load_csv(path, text, len, offset, count, out, err);
    }
    gzclose(f);
    return st;
}

void ds_input_d(const ds_set *d, int i, double *x)
{
    CN_REQUIRE(d && x && i >= 0 && i < d->n, "sample index in range");
    if (d->is_float) {
        memcpy(x, d->values + (size_t)i * (size_t)d->dim, sizeof(double) * (size_t)d->dim);
        return;
    }
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
    size_t base = (size_t)i * (size_t)d->dim;
    if (d->is_float) {
        for (int k = 0; k < d->dim; k++) {
            if (d->text_) {
                const char *s = d->text_ + d->field_[base + (size_t)k];
                bool ok = cn_mpq_set_decimal(x[k], s, strlen(s));
                CN_REQUIRE(ok, "memory for a decimal sample value (its syntax was checked)");
            } else {
                mpq_set_d(x[k], d->values[base + (size_t)k]);
            }
        }
        return;
    }
    const uint8_t *p = d->pixels + base;
    for (int k = 0; k < d->dim; k++) {
        mpq_set_ui(x[k], p[k], 255);
        mpq_canonicalize(x[k]);
    }
}

/* nnet.c — loader for the NNet text format (Reluplex / ACAS Xu).
 *
 * Layout (one record per line; fields separated by commas, a trailing comma
 * allowed; blank lines and lines starting with "//" are skipped):
 *
 *   numLayers, inputSize, outputSize, maxLayerSize      L, n_0, n_L, m
 *   n_0, n_1, ..., n_L                                  layer sizes (L+1)
 *   flag                                                legacy, ignored
 *   min_0 .. min_{n_0-1}                                input minimums
 *   max_0 .. max_{n_0-1}                                input maximums
 *   mean_0 .. mean_{n_0-1}, mean_out                    means (inputs + output)
 *   range_0 .. range_{n_0-1}, range_out                 ranges (inputs + output)
 *   for each layer i = 0 .. L-1:
 *       n_{i+1} lines of n_i weights (row o holds W[o][*])
 *       n_{i+1} lines of one bias each
 *
 * The network is  z_{i+1} = W_i z_i + b_i  with ReLU after every layer but
 * the last, applied to the normalised input (clamp, subtract mean, divide by
 * range).  The normalisation block is kept as metadata (net_nnet_norm); the
 * IR's layers take the normalised input, as the ONNX versions do.
 *
 * Numbers are decimal literals; each is rounded once to the nearest double
 * by strtod (the rounding mode is forced to nearest for the whole parse, so
 * a caller's rounding scope cannot change what is read).  Hexadecimal
 * floats, "inf" and "nan" are refused, as are values outside the double
 * range.
 *
 * A hostile header cannot make us allocate much: sizes are capped, every
 * product is computed in 64 bits, the whole network is capped at INT_MAX
 * numbers, and before each block larger than 4096 numbers is allocated, its
 * numbers must fit in the bytes that follow (each takes at least two bytes:
 * a digit and a separator).  maxLayerSize is checked for range only (it is
 * informational; the layer sizes line is what the layers are built from).
 */
#include "config.h"

#include <fenv.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/models_int.h"

enum {
    NNET_MAX_LAYERS = 4096,        /* affine layers */
    NNET_MAX_WIDTH = 1 << 24,      /* neurons in one layer */
    NNET_MAX_TOKEN = 255           /* characters in one number */
};

/* Reader state: the whole text, a cursor and the current line. */
typedef struct {
    const char *name;
    const char *p, *end;           /* unread text */
    const char *ls, *le;           /* current line [ls, le), without "\r\n" */
    long line;                     /* 1-based number of the current line */
    long next_line;                /* number of the line at p */
    cn_err *err;
} rd;

static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

/* Advances to the next line that is neither blank nor a comment.  Returns
 * false at the end of the text. */
static bool next_line(rd *r)
{
    while (r->p < r->end) {
        const char *s = r->p;
        const char *nl = memchr(s, '\n', (size_t)(r->end - s));
        const char *e = nl ? nl : r->end;
        r->p = nl ? nl + 1 : r->end;
        r->line = r->next_line++;
        while (s < e && is_blank(*s))
            s++;
        while (e > s && is_blank(e[-1]))
            e--;
        if (s == e || (e - s >= 2 && s[0] == '/' && s[1] == '/'))
            continue;
        r->ls = s;
        r->le = e;
        return true;
    }
    r->line = r->next_line;
    return false;
}

/* Decimal literal:  [+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?  */
static bool is_decimal(const char *s, size_t n)
{
    size_t i = 0, d = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++, d++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++, d++;
    }
    if (d == 0)
        return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t e = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++, e++;
        if (e == 0)
            return false;
    }
    return i == n;
}

/* Number of non-empty comma-separated fields in [s, e). */
static int count_fields(const char *s, const char *e)
{
    int k = 0;
    while (s < e) {
        const char *c = memchr(s, ',', (size_t)(e - s));
        const char *fe = c ? c : e;
        for (const char *t = s; t < fe; t++)
            if (!is_blank(*t)) {
                k++;
                break;
            }
        s = c ? c + 1 : e;
    }
    return k;
}

/* Splits the current line into fields and parses each as a double.
 * Exactly `want` numbers must be present.  `what` names the record for
 * messages.  If `integer`, each value must be an integer literal. */
static cn_status parse_line(rd *r, const char *what, int want, double *out, bool integer)
{
    const char *s = r->ls;
    int got = 0;
    for (;;) {
        const char *comma = memchr(s, ',', (size_t)(r->le - s));
        const char *fe = comma ? comma : r->le;
        const char *fs = s;
        while (fs < fe && is_blank(*fs))
            fs++;
        while (fe > fs && is_blank(fe[-1]))
            fe--;
        if (fs == fe) {
            /* one trailing comma is allowed: "1,2,3," */
            if (!comma && got > 0)
                break;
            return cn_fail(r->err, CN_EPARSE, "%s:%ld: %s: field %d is empty", r->name, r->line,
                           what, got + 1);
        }
        size_t n = (size_t)(fe - fs);
        if (got >= want) {
            /* count the rest so the message says how many there are */
            int total = got + count_fields(fs, r->le);
            return cn_fail(r->err, CN_EPARSE, "%s:%ld: %s: expected %d number%s, got %d", r->name,
                           r->line, what, want, want == 1 ? "" : "s", total);
        }
        if (n > NNET_MAX_TOKEN)
            return cn_fail(r->err, CN_EPARSE,
                           "%s:%ld: %s: field %d: number longer than %d characters ('%.20s...')",
                           r->name, r->line, what, got + 1, NNET_MAX_TOKEN, fs);
        if (!is_decimal(fs, n))
            return cn_fail(r->err, CN_EPARSE,
                           "%s:%ld: %s: field %d: expected a decimal number, got '%.*s'", r->name,
                           r->line, what, got + 1, n > 40 ? 40 : (int)n, fs);
        char buf[NNET_MAX_TOKEN + 1];
        memcpy(buf, fs, n);
        buf[n] = '\0';
        char *endp;
        double v = strtod(buf, &endp);
        if (endp != buf + n)  /* e.g. a locale whose decimal point is not '.' */
            return cn_fail(r->err, CN_EPARSE, "%s:%ld: %s: field %d: cannot convert '%s'", r->name,
                           r->line, what, got + 1, buf);
        if (!isfinite(v))
            return cn_fail(r->err, CN_EPARSE,
                           "%s:%ld: %s: field %d: '%s' is outside the double range", r->name,
                           r->line, what, got + 1, buf);
        if (integer && (memchr(buf, '.', n) || memchr(buf, 'e', n) || memchr(buf, 'E', n)))
            return cn_fail(r->err, CN_EPARSE, "%s:%ld: %s: field %d: expected an integer, got '%s'",
                           r->name, r->line, what, got + 1, buf);
        out[got++] = v;
        if (!comma)
            break;
        s = comma + 1;
    }
    if (got < want)
        return cn_fail(r->err, CN_EPARSE, "%s:%ld: %s: expected %d number%s, got %d", r->name,
                       r->line, what, want, want == 1 ? "" : "s", got);
    return CN_OK;
}

/* Reads the next record, failing with "unexpected end of file" if none. */
static cn_status read_record(rd *r, const char *what, int want, double *out, bool integer)
{
    if (!next_line(r))
        return cn_fail(r->err, CN_EPARSE, "%s:%ld: unexpected end of file: expected %s", r->name,
                       r->line, what);
    return parse_line(r, what, want, out, integer);
}

/* A size from the header: an integer in [1, cap]. */
static cn_status check_size(rd *r, const char *what, double v, long cap, int *out)
{
    if (v < 1)
        return cn_fail(r->err, CN_EPARSE, "%s:%ld: %s must be positive, got %.0f", r->name, r->line,
                       what, v);
    if (v > (double)cap)
        return cn_fail(r->err, CN_ELIMIT, "%s:%ld: %s %.0f exceeds the limit of %ld", r->name,
                       r->line, what, v, cap);
    *out = (int)v;
    return CN_OK;
}

/* Before a large allocation: `count` numbers must fit in the bytes left
 * (each takes at least a digit and a separator), so a hostile header cannot
 * make us allocate much more than the file's size.  Small blocks are let
 * through so that a short file fails at its end, with the line named. */
static cn_status check_room(rd *r, unsigned long long count, const char *what)
{
    size_t rest = (size_t)(r->end - r->p);
    if (count <= 4096 || count <= rest / 2 + 1)
        return CN_OK;
    return cn_fail(r->err, CN_EPARSE, "%s: after line %ld: %s needs %llu numbers, but only %zu "
                   "bytes follow (file truncated or header wrong)", r->name, r->line, what, count,
                   rest);
}

static cn_status parse(rd *r, net **out)
{
    cn_err *err = r->err;
    cn_status st;
    net *n = NULL;
    int *sizes = NULL;
    double hdr[4];
    char what[128];

    if (!next_line(r))
        return cn_fail(err, CN_EPARSE, "%s: empty file: expected the NNet header line "
                       "'numLayers,inputSize,outputSize,maxLayerSize'", r->name);
    st = parse_line(r, "header (numLayers,inputSize,outputSize,maxLayerSize)", 4, hdr, true);
    if (st)
        return st;
    int L, n_in, n_out, maxw;
    if ((st = check_size(r, "numLayers", hdr[0], NNET_MAX_LAYERS, &L)) ||
        (st = check_size(r, "inputSize", hdr[1], NNET_MAX_WIDTH, &n_in)) ||
        (st = check_size(r, "outputSize", hdr[2], NNET_MAX_WIDTH, &n_out)) ||
        (st = check_size(r, "maxLayerSize", hdr[3], NNET_MAX_WIDTH, &maxw)))
        return st;

    /* layer sizes: L+1 <= 4097 numbers, small */
    double *szd = cn_mallocarray((size_t)L + 1, sizeof(double));
    sizes = cn_mallocarray((size_t)L + 1, sizeof(int));
    if (!szd || !sizes) {
        cn_free(szd);
        st = cn_fail(err, CN_ENOMEM, "%s: out of memory reading layer sizes", r->name);
        goto fail;
    }
    snprintf(what, sizeof what, "layer sizes (numLayers+1 = %d values)", L + 1);
    st = read_record(r, what, L + 1, szd, true);
    for (int i = 0; st == CN_OK && i <= L; i++) {
        char nm[48];
        snprintf(nm, sizeof nm, "layer size %d", i);
        st = check_size(r, nm, szd[i], NNET_MAX_WIDTH, &sizes[i]);
    }
    cn_free(szd);
    if (st)
        goto fail;
    if (sizes[0] != n_in || sizes[L] != n_out) {
        st = cn_fail(err, CN_EPARSE,
                     "%s:%ld: layer sizes start with %d and end with %d, but the header says "
                     "inputSize %d and outputSize %d",
                     r->name, r->line, sizes[0], sizes[L], n_in, n_out);
        goto fail;
    }

    /* The whole network must stay within the size limit. */
    unsigned long long need = 4ull * (unsigned long long)n_in + 2;
    for (int i = 0; i < L; i++)
        need += (unsigned long long)sizes[i + 1] * ((unsigned long long)sizes[i] + 1);
    if (need > (unsigned long long)INT_MAX) {
        st = cn_fail(err, CN_ELIMIT, "%s:%ld: the header declares %llu numbers (normalisation, "
                     "weights and biases), more than the limit of %d", r->name, r->line, need,
                     INT_MAX);
        goto fail;
    }

    /* legacy flag line */
    double flag;
    if ((st = read_record(r, "legacy flag line (one number)", 1, &flag, false)))
        goto fail;

    if ((st = check_room(r, 4ull * (unsigned long long)n_in + 2, "the normalisation block")))
        goto fail;
    n = net_new((net_shape){n_in, 1, 1});
    net_nnet_norm *nn = n ? cn_calloc(1, sizeof *nn) : NULL;
    if (!nn) {
        st = cn_fail(err, CN_ENOMEM, "%s: out of memory", r->name);
        goto fail;
    }
    n->nnet = nn;
    nn->n_in = n_in;
    nn->in_min = cn_mallocarray((size_t)n_in, sizeof(double));
    nn->in_max = cn_mallocarray((size_t)n_in, sizeof(double));
    nn->in_mean = cn_mallocarray((size_t)n_in + 1, sizeof(double));
    nn->in_range = cn_mallocarray((size_t)n_in + 1, sizeof(double));
    if (!nn->in_min || !nn->in_max || !nn->in_mean || !nn->in_range) {
        st = cn_fail(err, CN_ENOMEM, "%s: out of memory for the normalisation block", r->name);
        goto fail;
    }
    snprintf(what, sizeof what, "input minimums (%d values)", n_in);
    if ((st = read_record(r, what, n_in, nn->in_min, false)))
        goto fail;
    snprintf(what, sizeof what, "input maximums (%d values)", n_in);
    if ((st = read_record(r, what, n_in, nn->in_max, false)))
        goto fail;
    for (int i = 0; i < n_in; i++)
        if (nn->in_min[i] > nn->in_max[i]) {
            st = cn_fail(err, CN_EPARSE, "%s:%ld: input maximums: field %d: maximum %.17g is "
                         "below the minimum %.17g", r->name, r->line, i + 1, nn->in_max[i],
                         nn->in_min[i]);
            goto fail;
        }
    snprintf(what, sizeof what, "means (inputSize+1 = %d values)", n_in + 1);
    if ((st = read_record(r, what, n_in + 1, nn->in_mean, false)))
        goto fail;
    nn->out_mean = nn->in_mean[n_in];
    snprintf(what, sizeof what, "ranges (inputSize+1 = %d values)", n_in + 1);
    if ((st = read_record(r, what, n_in + 1, nn->in_range, false)))
        goto fail;
    nn->out_range = nn->in_range[n_in];
    for (int i = 0; i <= n_in; i++)
        if (nn->in_range[i] == 0.0) {
            st = cn_fail(err, CN_EPARSE, "%s:%ld: ranges: field %d: range must be non-zero",
                         r->name, r->line, i + 1);
            goto fail;
        }

    for (int li = 0; li < L; li++) {
        int in = sizes[li], o = sizes[li + 1];
        snprintf(what, sizeof what, "layer %d (%d -> %d)", li + 1, in, o);
        if ((st = check_room(r, (unsigned long long)o * ((unsigned long long)in + 1), what)))
            goto fail;
        net_layer *l = net_add_dense(n, o, err);
        if (!l) {
            st = cn_fail(err, CN_ENOMEM, "%s: out of memory for layer %d (%dx%d)", r->name,
                         li + 1, o, in);
            goto fail;
        }
        for (int k = 0; k < o; k++) {
            snprintf(what, sizeof what, "layer %d (%d -> %d) weight row %d of %d", li + 1, in, o,
                     k + 1, o);
            if ((st = read_record(r, what, in, l->W + (size_t)k * (size_t)in, false)))
                goto fail;
        }
        for (int k = 0; k < o; k++) {
            snprintf(what, sizeof what, "layer %d (%d -> %d) bias %d of %d", li + 1, in, o, k + 1,
                     o);
            if ((st = read_record(r, what, 1, &l->b[k], false)))
                goto fail;
        }
        if (li + 1 < L && !net_add_relu(n, err)) {
            st = cn_fail(err, CN_ENOMEM, "%s: out of memory adding a ReLU", r->name);
            goto fail;
        }
    }
    if (next_line(r)) {
        st = cn_fail(err, CN_EPARSE,
                     "%s:%ld: unexpected data after the last layer's biases (the header "
                     "declares %d layers): '%.*s'",
                     r->name, r->line, L, (int)(r->le - r->ls > 40 ? 40 : r->le - r->ls), r->ls);
        goto fail;
    }
    n->format = NET_FMT_NNET;
    cn_free(sizes);
    *out = n;
    return CN_OK;
fail:
    cn_free(sizes);
    net_free(n);
    return st;
}

cn_status net_load_nnet_mem(const char *text, size_t len, const char *name, net **out,
                            cn_err *err)
{
    CN_REQUIRE(text || len == 0, "text");
    CN_REQUIRE(name && out, "name and out");
    rd r = {.name = name, .p = text ? text : "", .end = (text ? text : "") + len,
            .line = 0, .next_line = 1, .err = err};
    net *n = NULL;
    /* strtod obeys the rounding mode: read every number round-to-nearest. */
    int saved = cn_round_push(FE_TONEAREST);
    cn_status st = parse(&r, &n);
    cn_round_pop(saved);
    if (st)
        return st;
    if ((st = net__set_names(n, name, "", "", err))) {
        net_free(n);
        return cn_fail(err, CN_ENOMEM, "%s: out of memory", name);
    }
    cn_sha256_hex((const unsigned char *)text, len, n->sha256);
    *out = n;
    return CN_OK;
}

cn_status net_load_nnet(const char *path, net **out, cn_err *err)
{
    CN_REQUIRE(path && out, "path and out");
    unsigned char *data;
    size_t len;
    char sha[65];
    cn_status st = cn_read_input(path, &data, &len, sha, err);
    if (st)
        return st;
    st = net_load_nnet_mem((const char *)data, len, path, out, err);
    cn_free(data);
    if (st == CN_OK)              /* the file's hash, also when it was gzipped */
        memcpy((*out)->sha256, sha, sizeof sha);
    return st;
}

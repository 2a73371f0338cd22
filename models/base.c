/* base.c — cn_ base: errors, allocation with fault injection, file reading,
 * gzipped inputs, hashing, rounding scopes, the monotonic clock and exact
 * rational conversions. */
#include "config.h"

#include <errno.h>
#include <fenv.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>
#include <zlib.h>

#include "models/models.h"

cn_status cn_fail(cn_err *err, cn_status status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->status = status;
    }
    return status;
}

void cn_err_clear(cn_err *err)
{
    if (err) {
        err->status = CN_OK;
        err->msg[0] = '\0';
    }
}

const char *cn_status_str(cn_status s)
{
    switch (s) {
    case CN_OK: return "ok";
    case CN_ENOMEM: return "out of memory";
    case CN_EIO: return "cannot read input";
    case CN_EPARSE: return "parse error";
    case CN_EUNSUPPORTED: return "unsupported";
    case CN_EINVAL: return "invalid value";
    case CN_ELIMIT: return "limit exceeded";
    case CN_EINTERNAL: return "internal error";
    }
    return "unknown status";
}

_Noreturn void cn__require_failed(const char *func, const char *cond, const char *what)
{
    fprintf(stderr, "certnn: misuse in %s: %s (%s)\n", func, what, cond);
    abort();
}

/* Fault injection and leak accounting are per thread, so concurrent tests
 * and worker threads do not disturb each other. */
static _Thread_local long fail_after;   /* 0: off; k: the k-th next call fails */
static _Thread_local long live_blocks;

static bool inject_failure(void)
{
    if (fail_after > 0 && --fail_after == 0)
        return true;
    return false;
}

void cn_alloc_fail_after(long k) { fail_after = k; }
long cn_alloc_live(void) { return live_blocks; }

void *cn_malloc(size_t n)
{
    if (inject_failure())
        return NULL;
    void *p = malloc(n ? n : 1);
    if (p)
        live_blocks++;
    return p;
}

void *cn_mallocarray(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    return cn_malloc(count * size);
}

void *cn_calloc(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    if (inject_failure())
        return NULL;
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (p)
        live_blocks++;
    return p;
}

void *cn_realloc(void *p, size_t n)
{
    if (!p)
        return cn_malloc(n);
    if (inject_failure())
        return NULL;
    return realloc(p, n ? n : 1);
}

void *cn_reallocarray(void *p, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    return cn_realloc(p, count * size);
}

char *cn_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = cn_malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

void cn_free(void *p)
{
    if (p) {
        live_blocks--;
        free(p);
    }
}

cn_status cn_read_file(const char *path, unsigned char **data, size_t *len, cn_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return cn_fail(err, CN_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = cn_malloc(cap + 1);
    if (!buf)
        goto nomem;
    for (;;) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap) {
            if (ferror(f)) {
                cn_free(buf);
                fclose(f);
                return cn_fail(err, CN_EIO, "%s: read error: %s", path, strerror(errno));
            }
            break;
        }
        if (cap > SIZE_MAX / 2 - 1)
            goto nomem;
        unsigned char *nb = cn_realloc(buf, 2 * cap + 1);
        if (!nb)
            goto nomem;
        buf = nb;
        cap *= 2;
    }
    fclose(f);
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return CN_OK;
nomem:
    cn_free(buf);
    fclose(f);
    return cn_fail(err, CN_ENOMEM, "%s: out of memory reading file", path);
}

/* zlib allocates through cn_ so that its failures are counted and injected too. */
static voidpf gz_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    return cn_mallocarray(items, size);
}

static void gz_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    cn_free(p);
}

static bool gz_magic(const unsigned char *b, size_t n)
{
    return n >= 2 && b[0] == 0x1f && b[1] == 0x8b;
}

cn_status cn_gunzip_mem(const unsigned char *in, size_t n, const char *path, size_t max_bytes,
                        unsigned char **data, size_t *len, cn_err *err)
{
    CN_REQUIRE(in && path && data && len && max_bytes > 0, "input, a name and outputs");
    if (!gz_magic(in, n))
        return cn_fail(err, CN_EPARSE, "%s: not gzip data (expected the gzip magic bytes 1f 8b "
                                       "at byte 0)", path);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    zs.zalloc = gz_alloc;
    zs.zfree = gz_free;
    int zr = inflateInit2(&zs, 16 + MAX_WBITS);       /* gzip wrapper only */
    if (zr != Z_OK)
        return cn_fail(err, zr == Z_MEM_ERROR ? CN_ENOMEM : CN_EINTERNAL,
                       "%s: cannot start gzip decompression (zlib error %d)", path, zr);
    size_t cap = n < max_bytes / 4 ? 4 * n : max_bytes, have = 0, used = 0;
    if (cap < 4096)
        cap = max_bytes < 4096 ? max_bytes : 4096;
    unsigned char *buf = cn_malloc(cap + 1);
    cn_status s = CN_OK;
    if (!buf) {
        s = cn_fail(err, CN_ENOMEM, "%s: out of memory decompressing", path);
        goto done;
    }
    for (;;) {
        if (have == cap) {
            if (cap == max_bytes) {
                s = cn_fail(err, CN_ELIMIT, "%s: decompresses to more than %zu bytes (the limit "
                                            "for a gzipped input)", path, max_bytes);
                goto done;
            }
            size_t ncap = cap < max_bytes / 2 ? 2 * cap : max_bytes;
            unsigned char *nb = cn_realloc(buf, ncap + 1);
            if (!nb) {
                s = cn_fail(err, CN_ENOMEM, "%s: out of memory decompressing", path);
                goto done;
            }
            buf = nb;
            cap = ncap;
        }
        /* zlib counts in uInt: feed both sides in chunks */
        size_t in_chunk = n - used < UINT_MAX ? n - used : UINT_MAX;
        size_t out_chunk = cap - have < UINT_MAX ? cap - have : UINT_MAX;
        zs.next_in = (Bytef *)(uintptr_t)(in + used);
        zs.avail_in = (uInt)in_chunk;
        zs.next_out = buf + have;
        zs.avail_out = (uInt)out_chunk;
        zr = inflate(&zs, Z_NO_FLUSH);
        used += in_chunk - zs.avail_in;
        have += out_chunk - zs.avail_out;
        if (zr == Z_STREAM_END) {
            if (used == n)
                break;
            if (!gz_magic(in + used, n - used)) {
                s = cn_fail(err, CN_EPARSE, "%s: corrupt gzip file: %zu bytes of something "
                                            "else after the compressed data (at byte %zu)",
                            path, n - used, used);
                goto done;
            }
            zr = inflateReset(&zs);                      /* another gzip member follows */
            if (zr != Z_OK) {
                s = cn_fail(err, CN_EINTERNAL, "%s: zlib error %d", path, zr);
                goto done;
            }
            continue;
        }
        if (zr == Z_OK)
            continue;
        if (zr == Z_BUF_ERROR && have == cap)
            continue;                                   /* output full: grow */
        if (zr == Z_BUF_ERROR) {
            s = cn_fail(err, CN_EPARSE, "%s: corrupt gzip file: truncated (the compressed data "
                                        "ends after %zu bytes without its end marker)", path, n);
            goto done;
        }
        if (zr == Z_MEM_ERROR) {
            s = cn_fail(err, CN_ENOMEM, "%s: out of memory decompressing", path);
            goto done;
        }
        s = cn_fail(err, CN_EPARSE, "%s: corrupt gzip file at byte %zu: %s", path, used,
                    zs.msg ? zs.msg : "invalid data");
        goto done;
    }
    buf[have] = '\0';
    *data = buf;
    *len = have;
    buf = NULL;
done:
    inflateEnd(&zs);
    cn_free(buf);
    return s;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

cn_status cn_read_input(const char *path, unsigned char **data, size_t *len, char sha256[65],
                        cn_err *err)
{
    unsigned char *raw = NULL;
    size_t n = 0;
    cn_status s = cn_read_file(path, &raw, &n, err);
    if (s != CN_OK)
        return s;
    if (sha256)
        cn_sha256_hex(raw, n, sha256);
    if (!gz_magic(raw, n) && !ends_with(path, ".gz")) {
        *data = raw;
        *len = n;
        return CN_OK;
    }
    s = cn_gunzip_mem(raw, n, path, CN_GZ_MAX_BYTES, data, len, err);
    cn_free(raw);
    return s;
}

void cn_sha256_hex(const unsigned char *data, size_t len, char hex[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, data, len);
    sodium_bin2hex(hex, 65, h, sizeof h);
}

int cn_round_push(int mode)
{
    int saved = fegetround();
    fesetround(mode);
    return saved;
}

void cn_round_pop(int saved) { fesetround(saved); }

double cn_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void cn_mpq_set_d(mpq_t q, double d)
{
    CN_REQUIRE(isfinite(d), "value must be finite");
    mpq_set_d(q, d);
}

/* The double nearest to q in the given direction: start from the nearest
 * double (mpq_get_d truncates toward zero) and step until the order holds. */
static double mpq_get_d_dir(const mpq_t q, bool up)
{
    double d = mpq_get_d(q);          /* truncation: |d| <= |q| ... */
    if (!isfinite(d))                 /* ... except that GMP gives inf beyond the
                                         doubles: truncation is then +-DBL_MAX */
        d = mpq_sgn(q) > 0 ? DBL_MAX : -DBL_MAX;
    mpq_t t;
    mpq_init(t);
    for (int guard = 0; guard < 4; guard++) {
        if (!isfinite(d))
            break;
        mpq_set_d(t, d);
        int c = mpq_cmp(t, q);
        if (up ? c >= 0 : c <= 0)
            break;
        d = nextafter(d, up ? INFINITY : -INFINITY);
    }
    mpq_clear(t);
    return d;
}

double cn_mpq_get_d_down(const mpq_t q) { return mpq_get_d_dir(q, false); }
double cn_mpq_get_d_up(const mpq_t q) { return mpq_get_d_dir(q, true); }

bool cn_mpq_set_decimal(mpq_t q, const char *s, size_t len)
{
    /* [+-]? digits [. digits]? ([eE] [+-]? digits)?  with at least one digit */
    size_t i = 0;
    bool neg = false;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    size_t int_start = i;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    size_t int_end = i, frac_start = i, frac_end = i;
    if (i < len && s[i] == '.') {
        frac_start = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        frac_end = i;
    }
    if (int_end == int_start && frac_end == frac_start)
        return false;
    long exp10 = 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        size_t es = i;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (exp10 < 100000)
                exp10 = exp10 * 10 + (s[i] - '0');
            i++;
        }
        if (i == es || exp10 >= 100000)
            return false;
        if (eneg)
            exp10 = -exp10;
    }
    if (i != len)
        return false;
    size_t nd = (int_end - int_start) + (frac_end - frac_start);
    char *digits = malloc(nd + 1);
    if (!digits)
        return false;
    memcpy(digits, s + int_start, int_end - int_start);
    memcpy(digits + (int_end - int_start), s + frac_start, frac_end - frac_start);
    digits[nd] = '\0';
    mpz_t num, den;
    mpz_init(num);
    mpz_init_set_ui(den, 1);
    mpz_set_str(num, nd ? digits : "0", 10);
    free(digits);
    exp10 -= (long)(frac_end - frac_start);
    mpz_t p;
    mpz_init(p);
    mpz_ui_pow_ui(p, 10, (unsigned long)labs(exp10));
    if (exp10 >= 0)
        mpz_mul(num, num, p);
    else
        mpz_set(den, p);
    if (neg)
        mpz_neg(num, num);
    mpq_set_num(q, num);
    mpq_set_den(q, den);
    mpq_canonicalize(q);
    mpz_clear(p);
    mpz_clear(num);
    mpz_clear(den);
    return true;
}

/* base.c — cn_ base: errors, allocation with fault injection, file reading,
 * hashing, rounding scopes and exact rational conversions. */
#include "config.h"

#include <errno.h>
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

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

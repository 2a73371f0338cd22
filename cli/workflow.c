/* workflow.c — helpers shared by `certnn radius`, `compare` and `bench`
 * (see workflow.h). */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/workflow.h"

/* ---- text buffers ------------------------------------------------------------ */

void wf_buf_init(wf_buf *b) { memset(b, 0, sizeof *b); }

void wf_buf_clear(wf_buf *b)
{
    cn_free(b->data);
    wf_buf_init(b);
}

static bool buf_reserve(wf_buf *b, size_t extra)
{
    if (b->failed)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) {
        if (cap > ((size_t)-1) / 2) {
            b->failed = true;
            return false;
        }
        cap *= 2;
    }
    char *d = cn_realloc(b->data, cap);
    if (!d) {
        b->failed = true;
        return false;
    }
    b->data = d;
    b->cap = cap;
    return true;
}

void wf_buf_put(wf_buf *b, const char *s, size_t n)
{
    if (!buf_reserve(b, n))
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void wf_buf_printf(wf_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k < 0) {
        b->failed = true;
        return;
    }
    if (!buf_reserve(b, (size_t)k))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)k + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)k;
}

void wf_buf_csv(wf_buf *b, const char *field)
{
    if (!strpbrk(field, ",\"\r\n")) {
        wf_buf_put(b, field, strlen(field));
        return;
    }
    wf_buf_put(b, "\"", 1);
    for (const char *s = field; *s; s++) {
        if (*s == '"')
            wf_buf_put(b, "\"", 1);
        wf_buf_put(b, s, 1);
    }
    wf_buf_put(b, "\"", 1);
}

void wf_md_row(wf_buf *b, int n, const char *const cells[])
{
    wf_buf_put(b, "|", 1);
    for (int i = 0; i < n; i++) {
        wf_buf_put(b, " ", 1);
        for (const char *s = cells[i]; *s; s++) {
            if (*s == '|')
                wf_buf_put(b, "\\|", 2);
            else if (*s == '\n' || *s == '\r')
                wf_buf_put(b, " ", 1);
            else
                wf_buf_put(b, s, 1);
        }
        wf_buf_put(b, " |", 2);
    }
    wf_buf_put(b, "\n", 1);
}

void wf_md_rule(wf_buf *b, int n)
{
    wf_buf_put(b, "|", 1);
    for (int i = 0; i < n; i++)
        wf_buf_put(b, " --- |", 6);
    wf_buf_put(b, "\n", 1);
}

int wf_csv_split(char *line, char **fields, int max)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    int k = 0;
    char *r = line, *w = line;
    while (k < max) {
        fields[k++] = w;
        if (*r == '"') {
            r++;
            for (;;) {
                if (!*r)
                    break;
                if (*r == '"' && r[1] == '"') {
                    *w++ = '"';
                    r += 2;
                } else if (*r == '"') {
                    r++;
                    break;
                } else {
                    *w++ = *r++;
                }
            }
            while (*r && *r != ',')
                *w++ = *r++;
        } else {
            while (*r && *r != ',')
                *w++ = *r++;
        }
        bool more = *r == ',';
        *w++ = '\0';
        if (!more)
            break;
        r++;
    }
    return k;
}

/* ---- atomic output -------------------------------------------------------------- */

cn_status wf_write_atomic(const char *path, const void *data, size_t len, cn_err *err)
{
    CN_REQUIRE(path && (data || len == 0), "a path and the data");
    size_t plen = strlen(path) + 32;
    char *tmp = cn_malloc(plen);
    if (!tmp)
        return cn_fail(err, CN_ENOMEM, "%s: out of memory", path);
    snprintf(tmp, plen, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        cn_status s = cn_fail(err, CN_EIO, "%s: cannot create: %s", tmp, strerror(errno));
        cn_free(tmp);
        return s;
    }
    bool ok = fwrite(data, 1, len, f) == len;
    ok = ok && fflush(f) == 0;
    ok = ok && fsync(fileno(f)) == 0;
    int e = errno;
    ok = (fclose(f) == 0) && ok;
    if (!ok) {
        remove(tmp);
        cn_free(tmp);
        return cn_fail(err, CN_EIO, "%s: cannot write: %s", path, strerror(e ? e : EIO));
    }
    if (rename(tmp, path) != 0) {
        e = errno;
        remove(tmp);
        cn_free(tmp);
        return cn_fail(err, CN_EIO, "%s: cannot replace: %s", path, strerror(e));
    }
    cn_free(tmp);
    return CN_OK;
}

cn_status wf_write_buf(const char *path, const wf_buf *b, cn_err *err)
{
    if (b->failed)
        return cn_fail(err, CN_ENOMEM, "%s: out of memory building the file", path);
    return wf_write_atomic(path, b->data ? b->data : "", b->len, err);
}

cn_status wf_write_json(const char *path, const json_t *root, cn_err *err)
{
    char *s = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(17)); /* jansson's malloc */
    if (!s)
        return cn_fail(err, CN_ENOMEM, "%s: out of memory printing JSON", path);
    size_t n = strlen(s);
    char *t = cn_malloc(n + 2);
    if (!t) {
        free(s);
        return cn_fail(err, CN_ENOMEM, "%s: out of memory printing JSON", path);
    }
    memcpy(t, s, n);
    free(s);
    t[n] = '\n';
    t[n + 1] = '\0';
    cn_status st = wf_write_atomic(path, t, n + 1, err);
    cn_free(t);
    return st;
}

cn_status wf_write_vnncomp_result(const char *path, const vfy_result *r, cn_err *err)
{
    wf_buf b;
    wf_buf_init(&b);
    wf_buf_printf(&b, "%s\n", vfy_verdict_name(r->verdict));
    if (r->verdict == VFY_SAT && r->x_d && r->y_d) {
        wf_buf_put(&b, "(", 1);
        for (int k = 0; k < r->n_in; k++)
            wf_buf_printf(&b, "%s(X_%d %.17g)\n", k ? " " : "", k, r->x_d[k]);
        for (int k = 0; k < r->n_out; k++)
            wf_buf_printf(&b, " (Y_%d %.17g)%s\n", k, r->y_d[k], k + 1 == r->n_out ? ")" : "");
    }
    cn_status s = wf_write_buf(path, &b, err);
    wf_buf_clear(&b);
    return s;
}

/* ---- progress, signals, clock ------------------------------------------------------ */

double wf_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void wf_progress_init(wf_progress *p, bool quiet)
{
    p->on = !quiet && isatty(STDERR_FILENO);
    p->t0 = wf_now();
    p->last = -1e9;
    p->dirty = false;
}

static void fmt_duration(double s, char *buf, size_t size)
{
    if (!isfinite(s) || s < 0)
        snprintf(buf, size, "?");
    else if (s < 60)
        snprintf(buf, size, "%.0fs", s);
    else if (s < 3600)
        snprintf(buf, size, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
    else
        snprintf(buf, size, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
}

void wf_progress_show(wf_progress *p, int done, int total, const char *current, bool force)
{
    if (!p->on)
        return;
    double t = wf_now();
    if (!force && t - p->last < 0.2)
        return;
    p->last = t;
    double el = t - p->t0;
    char e[32], eta[32];
    fmt_duration(el, e, sizeof e);
    fmt_duration(done > 0 ? el / done * (total - done) : NAN, eta, sizeof eta);
    if (total <= 1) /* one job: no count, no ETA */
        fprintf(stderr, "\r\033[Kcertnn: %.70s | elapsed %s", current ? current : "", e);
    else
        fprintf(stderr, "\r\033[Kcertnn: [%d/%d] %.60s | elapsed %s | ETA %s", done, total,
                current ? current : "", e, eta);
    fflush(stderr);
    p->dirty = true;
}

void wf_progress_clear(wf_progress *p)
{
    if (p->on && p->dirty) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    p->dirty = false;
}

/* The only process-global state of the front end: what a signal handler sets. */
static volatile sig_atomic_t wf_caught;
static struct sigaction wf_old_int, wf_old_term;

static void wf_on_signal(int sig) { wf_caught = sig; }

volatile sig_atomic_t *wf_signals_catch(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = wf_on_signal;
    sigemptyset(&sa.sa_mask);
    wf_caught = 0;
    sigaction(SIGINT, &sa, &wf_old_int);
    sigaction(SIGTERM, &sa, &wf_old_term);
    return &wf_caught;
}

void wf_signals_restore(void)
{
    sigaction(SIGINT, &wf_old_int, NULL);
    sigaction(SIGTERM, &wf_old_term, NULL);
}

/* ---- numbers -------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void wf_sort(double *v, int n)
{
    if (n > 1)
        qsort(v, (size_t)n, sizeof *v, cmp_double);
}

double wf_quantile(const double *x, int n, double q)
{
    CN_REQUIRE(q >= 0 && q <= 1, "q in [0, 1]");
    if (n <= 0)
        return NAN;
    double h = (n - 1) * q;
    int lo = (int)floor(h);
    if (lo >= n - 1)
        return x[n - 1];
    double f = h - lo;
    if (f == 0)
        return x[lo];
    if (isinf(x[lo + 1]) || isinf(x[lo]))
        return x[lo + 1];
    return x[lo] + f * (x[lo + 1] - x[lo]);
}

bool wf_mpq_decimal(const mpq_t q, char *buf, size_t size)
{
    mpz_t num, den, t;
    mpz_inits(num, den, t, NULL);
    mpz_abs(num, mpq_numref(q));
    mpz_set(den, mpq_denref(q));
    int digits = 0;
    while (digits <= 60) {
        mpz_mod(t, num, den);
        if (mpz_sgn(t) == 0)
            break;
        mpz_mul_ui(num, num, 10);
        digits++;
    }
    bool ok = digits <= 60;
    if (ok) {
        mpz_divexact(num, num, den);   /* |q| * 10^digits, an integer */
        char *s = mpz_get_str(NULL, 10, num);
        size_t len = strlen(s);
        char tmp[200];
        size_t w = 0;
        ok = len < 120 && s;
        if (ok) {
            if (mpq_sgn(q) < 0)
                tmp[w++] = '-';
            size_t d = (size_t)digits, width = len > d ? len : d + 1;  /* digits shown */
            for (size_t i = 0; i < width; i++) {
                if (i == width - d && d > 0)
                    tmp[w++] = '.';
                tmp[w++] = i < width - len ? '0' : s[i - (width - len)];
            }
            tmp[w] = '\0';
            ok = w < size;
            if (ok)
                memcpy(buf, tmp, w + 1);
        }
        free(s); /* (GMP's allocation: the default functions are malloc / free) */
    }
    mpz_clears(num, den, t, NULL);
    return ok;
}

void wf_decimal_up(double d, int sig, char *buf, size_t size, mpq_t out)
{
    CN_REQUIRE(isfinite(d) && d >= 0 && sig >= 1 && sig <= 17, "finite d >= 0, 1..17 digits");
    mpq_t x, c;
    mpq_inits(x, c, NULL);
    mpq_set_d(x, d);
    if (d == 0) {
        mpq_set_ui(c, 0, 1);
    } else {
        /* c = ceil(x * 10^(sig-1-e)) / 10^(sig-1-e), e = floor(log10 x) */
        int e = (int)floor(log10(d));
        mpz_t p, num;
        mpz_inits(p, num, NULL);
        for (int pass = 0; pass < 2; pass++) {
            int sh = sig - 1 - e;
            mpz_ui_pow_ui(p, 10, (unsigned long)(sh < 0 ? -sh : sh));
            mpq_t s;
            mpq_init(s);
            if (sh >= 0)
                mpq_set_z(s, p);
            else {
                mpq_set_z(s, p);
                mpq_inv(s, s);
            }
            mpq_mul(c, x, s);
            mpz_cdiv_q(num, mpq_numref(c), mpq_denref(c));
            /* log10 rounding may be off by one: keep num below 10^sig */
            mpz_ui_pow_ui(p, 10, (unsigned long)sig);
            if (mpz_cmp(num, p) >= 0 && pass == 0) {
                mpq_clear(s);
                e++;
                continue;
            }
            mpq_set_z(c, num);
            mpq_div(c, c, s);
            mpq_clear(s);
            break;
        }
        mpz_clears(p, num, NULL);
    }
    if (!wf_mpq_decimal(c, buf, size))
        snprintf(buf, size, "%.17g", d);   /* not reached for sig <= 17 */
    if (out)
        mpq_set(out, c);
    mpq_clears(x, c, NULL);
}

/* ---- robustness probes ------------------------------------------------------------------ */

cn_status wf_prop_bounds(bnd_ctx *bc, const bnd_opts *o, const prop *p, bool *proven,
                         double *min_margin, cn_err *err)
{
    int n_out = prop_n_out(p);
    bool all = true;
    double minm = INFINITY;
    cn_status st = CN_OK;
    mpq_t t, *acc = cn_mallocarray((size_t)n_out, sizeof(mpq_t));
    if (!acc)
        return cn_fail(err, CN_ENOMEM, "out of memory");
    for (int j = 0; j < n_out; j++)
        mpq_init(acc[j]);
    mpq_init(t);
    for (int ci = 0; ci < prop_n_cases(p) && all; ci++) {
        const prop_case *pc = prop_case_at(p, ci);
        int m = 0;
        for (int k = 0; k < pc->n_disj; k++)
            m += pc->disj[k].n;
        size_t mm = (size_t)(m ? m : 1);
        double *C = cn_calloc(mm * (size_t)n_out, sizeof(double));
        double *d = cn_calloc(mm, sizeof(double)), *lb = cn_calloc(mm, sizeof(double));
        bool *usable = cn_calloc(mm, sizeof(bool));
        if (!C || !d || !lb || !usable) {
            cn_free(C), cn_free(d), cn_free(lb), cn_free(usable);
            st = cn_fail(err, CN_ENOMEM, "out of memory");
            break;
        }
        /* Row r: lb(C_r y + d_r) <= lhs - rhs, so lb > 0 rules the atom out. */
        int r = 0;
        for (int k = 0; k < pc->n_disj; k++)
            for (int a = 0; a < pc->disj[k].n; a++, r++) {
                const prop_lin *at = &pc->disj[k].atoms[a];
                for (int j = 0; j < n_out; j++)
                    mpq_set_ui(acc[j], 0, 1);
                for (int e = 0; e < at->n; e++)
                    mpq_add(acc[at->var[e]], acc[at->var[e]], at->coef[e]);
                bool ok = true;
                for (int j = 0; j < n_out; j++) {
                    double v = mpq_get_d(acc[j]);
                    mpq_set_d(t, v);
                    ok &= isfinite(v) && mpq_equal(t, acc[j]);
                    C[(size_t)r * (size_t)n_out + (size_t)j] = v;
                }
                double rhs_up = cn_mpq_get_d_up(at->rhs);
                ok &= isfinite(rhs_up) != 0;
                usable[r] = ok;
                d[r] = ok ? -rhs_up : 0.0;
                if (!ok)
                    memset(C + (size_t)r * (size_t)n_out, 0, sizeof(double) * (size_t)n_out);
            }
        bnd_region rg = {pc->lo_d, pc->hi_d, NULL};
        bnd_result res;
        st = bnd_run(bc, o, &rg, m, C, d, lb, &res, err);
        if (st == CN_OK) {
            r = 0;
            for (int k = 0; k < pc->n_disj; k++) {
                bool out = false;
                for (int a = 0; a < pc->disj[k].n; a++, r++) {
                    double v = usable[r] || res.infeasible ? lb[r] : -INFINITY;
                    out |= v > 0.0;
                    if (v < minm)
                        minm = v;
                }
                all &= out;
            }
        }
        cn_free(C), cn_free(d), cn_free(lb), cn_free(usable);
        if (st != CN_OK)
            break;
    }
    mpq_clear(t);
    for (int j = 0; j < n_out; j++)
        mpq_clear(acc[j]);
    cn_free(acc);
    if (st != CN_OK)
        return st;
    *proven = all;
    if (min_margin)
        *min_margin = minm;
    return CN_OK;
}

static cn_status ball(const wf_prober *pr, mpq_t *x0, int label, const mpq_t eps, prop **p,
                      cn_err *err)
{
    mpq_t lo, hi;
    mpq_init(lo);
    mpq_init(hi);
    mpq_set_ui(hi, 1, 1);
    cn_status s = prop_eps_ball(net_in_size(pr->n), x0, eps, lo, hi, net_out_size(pr->n), label,
                                p, err);
    mpq_clear(lo);
    mpq_clear(hi);
    return s;
}

cn_status wf_probe_clean(const wf_prober *pr, mpq_t *x0, int label, bool *correct, cn_err *err)
{
    mpq_t z;
    mpq_init(z);
    prop *p = NULL;
    prop_check c;
    prop_check_init(&c);
    cn_status s = ball(pr, x0, label, z, &p, err);
    if (s == CN_OK)
        s = prop_check_point(p, pr->n, x0, &c, err);
    if (s == CN_OK)
        *correct = !c.violated;
    prop_check_clear(&c);
    prop_free(p);
    mpq_clear(z);
    return s;
}

cn_status wf_probe_certify(const wf_prober *pr, mpq_t *x0, int label, const mpq_t eps,
                           wf_probe_verdict *v, cn_err *err)
{
    prop *p = NULL;
    cn_status s = ball(pr, x0, label, eps, &p, err);
    if (s != CN_OK)
        return s;
    bool proven = false;
    wf_probe_verdict out = WF_OPEN;
    s = wf_prop_bounds(pr->bc, &pr->bounds, p, &proven, NULL, err);
    if (s == CN_OK && proven)
        out = WF_ROBUST;
    if (s == CN_OK && !proven && pr->complete && !(pr->stop && *pr->stop)) {
        vfy_result r;
        vfy_result_init(&r);
        s = vfy_verify(pr->n, p, &pr->engine, pr->stop, &r, err);
        if (s == CN_OK)
            out = r.verdict == VFY_UNSAT ? WF_ROBUST : r.verdict == VFY_SAT ? WF_ATTACKED : WF_OPEN;
        vfy_result_clear(&r);
    }
    prop_free(p);
    if (s == CN_OK)
        *v = out;
    return s;
}

cn_status wf_probe_attack(const wf_prober *pr, mpq_t *x0, int label, const mpq_t eps,
                          wf_probe_verdict *v, cn_err *err)
{
    prop *p = NULL;
    cn_status s = ball(pr, x0, label, eps, &p, err);
    if (s != CN_OK)
        return s;
    atk_result r;
    atk_result_init(&r);
    s = atk_run(pr->n, p, &pr->pgd, &r, err);
    if (s == CN_OK)
        *v = r.found ? WF_ATTACKED : WF_OPEN;
    atk_result_clear(&r);
    prop_free(p);
    return s;
}

/* ---- robustness radius -------------------------------------------------------------------- */

int wf_radius_bits(double max_eps, double tol)
{
    int bits = 1;
    while (bits < 30 && max_eps / (double)(1L << bits) > tol)
        bits++;
    return bits;
}

/* eps_k = k * max_eps / 2^bits */
static void grid_eps(mpq_t out, const mpq_t max_eps, int bits, long k)
{
    mpq_set_si(out, k, 1);
    mpq_mul(out, out, max_eps);
    mpq_div_2exp(out, out, (unsigned long)bits);
}

static bool stopped(const wf_prober *pr) { return pr->stop && *pr->stop; }

cn_status wf_radius(const wf_prober *pr, mpq_t *x0, int label, const wf_radius_opts *o,
                    wf_radius_result *res, cn_err *err)
{
    CN_REQUIRE(o->bits >= 1 && o->bits <= 30, "grid of 2^1 .. 2^30 steps");
    double t0 = wf_now();
    wf_radius_result r;
    memset(&r, 0, sizeof r);
    r.cert_k = -1;
    r.attacked_by = "none";
    r.attacked_d = INFINITY;
    snprintf(r.certified, sizeof r.certified, "0");
    mpq_t maxe, eps, att;
    mpq_inits(maxe, eps, att, NULL);
    cn_status s = CN_OK;
    if (!cn_mpq_set_decimal(maxe, o->max_eps, strlen(o->max_eps)) || mpq_sgn(maxe) <= 0) {
        s = cn_fail(err, CN_EINVAL, "max eps '%s' is not a positive decimal", o->max_eps);
        goto done;
    }
    long N = 1L << o->bits;
    bool correct = false;
    s = wf_probe_clean(pr, x0, label, &correct, err);
    if (s != CN_OK)
        goto done;
    if (!correct) {
        r.misclassified = true;
        r.attacked_found = true;
        r.attacked_by = "clean";
        snprintf(r.attacked, sizeof r.attacked, "0");
        r.attacked_d = 0;
        goto finish;
    }
    r.cert_k = 0;                      /* the ball of radius 0 is x0, checked exactly */
    long att_k = N + 1;                /* smallest grid index known attackable */
    long pgd_k = -1;                   /* smallest grid index where a probe confirmed a point */
    const char *pgd_by = "pgd";
    bool df_found = false;
    if (o->deepfool) {
        atk_df_result df;
        atk_df_result_init(&df);
        s = atk_deepfool(pr->n, x0, label, 0.0, 1.0, &o->deepfool_opts, &df, err);
        if (s == CN_OK && df.found && isfinite(df.linf)) {
            df_found = true;
            wf_decimal_up(df.linf, 6, r.attacked, sizeof r.attacked, att);
            /* smallest k with eps_k >= att */
            mpq_div(eps, att, maxe);
            mpq_mul_2exp(eps, eps, (unsigned long)o->bits);
            mpz_t k;
            mpz_init(k);
            mpz_cdiv_q(k, mpq_numref(eps), mpq_denref(eps));
            att_k = mpz_cmp_si(k, N) > 0 ? N + 1 : mpz_get_si(k);
            mpz_clear(k);
        }
        atk_df_result_clear(&df);
        if (s != CN_OK)
            goto done;
    }
    /* Certified: bisection for a proven grid point in (cert_k, att_k). */
    long lo = r.cert_k, hi = att_k;
    while (hi - lo > 1 && !stopped(pr)) {
        long m = lo + (hi - lo) / 2;
        grid_eps(eps, maxe, o->bits, m);
        wf_probe_verdict v;
        s = wf_probe_certify(pr, x0, label, eps, &v, err);
        r.probes_certify++;
        if (s != CN_OK)
            goto done;
        if (v == WF_ROBUST) {
            lo = m;
        } else {
            hi = m;
            if (v == WF_ATTACKED && (pgd_k < 0 || m < pgd_k)) {
                pgd_k = m;
                pgd_by = "complete";
            }
        }
    }
    r.cert_k = lo;
    /* Attacked: bisection for the smallest grid point PGD confirms in (cert_k, att_k]. */
    long alo = r.cert_k, ahi = att_k;
    if (pgd_k >= 0 && pgd_k < ahi)
        ahi = pgd_k;
    if (ahi > N && !stopped(pr)) {     /* nothing known: try the largest ball first */
        grid_eps(eps, maxe, o->bits, N);
        wf_probe_verdict v;
        s = wf_probe_attack(pr, x0, label, eps, &v, err);
        r.probes_attack++;
        if (s != CN_OK)
            goto done;
        if (v == WF_ATTACKED) {
            ahi = N;
            pgd_k = N;
            pgd_by = "pgd";
        } else {
            alo = N;                   /* give up: no attack up to max eps */
        }
    }
    while (ahi - alo > 1 && !stopped(pr)) {
        long m = alo + (ahi - alo) / 2;
        grid_eps(eps, maxe, o->bits, m);
        wf_probe_verdict v;
        s = wf_probe_attack(pr, x0, label, eps, &v, err);
        r.probes_attack++;
        if (s != CN_OK)
            goto done;
        if (v == WF_ATTACKED) {
            ahi = m;
            pgd_k = m;
            pgd_by = "pgd";
        } else {
            alo = m;
        }
    }
    if (pgd_k >= 0) {
        grid_eps(eps, maxe, o->bits, pgd_k);
        if (!df_found || mpq_cmp(eps, att) < 0) {
            mpq_set(att, eps);
            if (!wf_mpq_decimal(att, r.attacked, sizeof r.attacked))
                snprintf(r.attacked, sizeof r.attacked, "%.17g", cn_mpq_get_d_up(att));
            r.attacked_by = pgd_by;
            df_found = true;
        } else {
            r.attacked_by = "deepfool";
        }
    } else if (df_found) {
        r.attacked_by = "deepfool";
    }
    if (df_found) {
        r.attacked_found = true;
        r.attacked_d = mpq_get_d(att);
    }
finish:
    if (r.cert_k >= 0) {
        grid_eps(eps, maxe, o->bits, r.cert_k);
        if (!wf_mpq_decimal(eps, r.certified, sizeof r.certified))
            snprintf(r.certified, sizeof r.certified, "%.17g", cn_mpq_get_d_down(eps));
        r.certified_d = mpq_get_d(eps);
    }
    r.interrupted = stopped(pr);
    r.seconds = wf_now() - t0;
    *res = r;
done:
    mpq_clears(maxe, eps, att, NULL);
    return s;
}

/* ---- VNN-COMP suites --------------------------------------------------------------------------- */

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

void wf_suite_free(wf_suite *s)
{
    for (int i = 0; i < s->n; i++) {
        cn_free(s->v[i].onnx);
        cn_free(s->v[i].vnnlib);
    }
    cn_free(s->v);
    s->n = 0;
    s->v = NULL;
}

cn_status wf_suite_load(const char *path, wf_suite *out, cn_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return cn_fail(err, CN_EIO, "%s: cannot open: %s", path, strerror(errno));
    wf_suite s = {0, NULL};
    int cap = 0, line_no = 0;
    char line[8192];
    cn_status st = CN_OK;
    while (fgets(line, sizeof line, f)) {
        line_no++;
        char *fl[4];
        char *l = trim(line);
        if (!*l || *l == '#' || *l == '\n' || *l == '\r')
            continue;
        int k = wf_csv_split(l, fl, 4);
        if (k == 1 && !*trim(fl[0]))
            continue;
        char *end = NULL;
        double t = k >= 3 ? strtod(trim(fl[2]), &end) : NAN;
        if (k != 3 || !*trim(fl[0]) || !*trim(fl[1]) || !end || *end || !(t > 0) ||
            !isfinite(t)) {
            st = cn_fail(err, CN_EPARSE,
                         "%s:%d: expected 'onnx,vnnlib,timeout' with a positive timeout", path,
                         line_no);
            break;
        }
        if (s.n == cap) {
            int nc = cap ? 2 * cap : 64;
            wf_instance *v = cn_reallocarray(s.v, (size_t)nc, sizeof *v);
            if (!v) {
                st = cn_fail(err, CN_ENOMEM, "%s: out of memory", path);
                break;
            }
            s.v = v;
            cap = nc;
        }
        wf_instance *in = &s.v[s.n];
        memset(in, 0, sizeof *in);
        in->onnx = cn_strdup(trim(fl[0]));
        in->vnnlib = cn_strdup(trim(fl[1]));
        in->timeout = t;
        in->fastest_s = NAN;
        s.n++;
        if (!in->onnx || !in->vnnlib) {
            st = cn_fail(err, CN_ENOMEM, "%s: out of memory", path);
            break;
        }
    }
    fclose(f);
    if (st == CN_OK && s.n == 0)
        st = cn_fail(err, CN_EPARSE, "%s: no instances", path);
    if (st != CN_OK) {
        wf_suite_free(&s);
        return st;
    }
    *out = s;
    return CN_OK;
}

cn_status wf_suite_expected(wf_suite *s, const char *path, cn_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return cn_fail(err, CN_EIO, "%s: cannot open: %s", path, strerror(errno));
    char line[8192];
    int line_no = 0;
    while (fgets(line, sizeof line, f)) {
        line_no++;
        char *fl[8];
        int k = wf_csv_split(line, fl, 8);
        if (k < 3 || (line_no == 1 && !strcmp(trim(fl[0]), "onnx")))
            continue;
        const char *a = trim(fl[0]), *b = trim(fl[1]), *c = trim(fl[2]);
        for (int i = 0; i < s->n; i++)
            if (!strcmp(s->v[i].onnx, a) && !strcmp(s->v[i].vnnlib, b)) {
                snprintf(s->v[i].expected, sizeof s->v[i].expected, "%s", c);
                if (k >= 7) {
                    char *end;
                    double t = strtod(trim(fl[6]), &end);
                    s->v[i].fastest_s = end != fl[6] && isfinite(t) ? t : NAN;
                }
            }
    }
    fclose(f);
    return CN_OK;
}

void wf_expected_name(const char *instances, char *buf, size_t size)
{
    const char *base = strrchr(instances, '/');
    base = base ? base + 1 : instances;
    const char *pre = "instances";
    if (!strncmp(base, pre, strlen(pre)))
        snprintf(buf, size, "expected_results%s", base + strlen(pre));
    else
        snprintf(buf, size, "expected_results.csv");
}

int wf_score(const char *verdict, const char *expected, bool *incorrect)
{
    bool sat = !strcmp(verdict, "sat"), unsat = !strcmp(verdict, "unsat");
    bool wrong = (sat && !strcmp(expected, "unsat")) || (unsat && !strcmp(expected, "sat"));
    if (incorrect)
        *incorrect = wrong;
    return wrong ? -100 : sat || unsat ? 10 : 0;
}

void wf_results_init(wf_results *r) { memset(r, 0, sizeof *r); }

void wf_results_free(wf_results *r)
{
    for (int i = 0; i < r->n; i++) {
        cn_free(r->v[i].onnx);
        cn_free(r->v[i].vnnlib);
    }
    cn_free(r->v);
    wf_results_init(r);
}

cn_status wf_results_add(wf_results *r, const char *onnx, const char *vnnlib,
                         const char *verdict, double time_s, long nodes, cn_err *err)
{
    if (r->n == r->cap) {
        int nc = r->cap ? 2 * r->cap : 64;
        wf_row *v = cn_reallocarray(r->v, (size_t)nc, sizeof *v);
        if (!v)
            return cn_fail(err, CN_ENOMEM, "out of memory");
        r->v = v;
        r->cap = nc;
    }
    wf_row *w = &r->v[r->n];
    memset(w, 0, sizeof *w);
    w->onnx = cn_strdup(onnx);
    w->vnnlib = cn_strdup(vnnlib);
    if (!w->onnx || !w->vnnlib) {
        cn_free(w->onnx);
        cn_free(w->vnnlib);
        return cn_fail(err, CN_ENOMEM, "out of memory");
    }
    snprintf(w->verdict, sizeof w->verdict, "%s", verdict);
    w->time_s = time_s;
    w->nodes = nodes;
    r->n++;
    return CN_OK;
}

void wf_results_csv(const wf_results *r, wf_buf *b)
{
    wf_buf_printf(b, "onnx,vnnlib,verdict,time_s,nodes\n");
    for (int i = 0; i < r->n; i++) {
        const wf_row *w = &r->v[i];
        wf_buf_csv(b, w->onnx);
        wf_buf_put(b, ",", 1);
        wf_buf_csv(b, w->vnnlib);
        wf_buf_printf(b, ",%s,%.3f,%ld\n", w->verdict, w->time_s, w->nodes);
    }
}

cn_status wf_results_write(const char *path, const wf_results *r, cn_err *err)
{
    wf_buf b;
    wf_buf_init(&b);
    wf_results_csv(r, &b);
    cn_status s = wf_write_buf(path, &b, err);
    wf_buf_clear(&b);
    return s;
}

cn_status wf_results_load(const char *path, wf_results *out, cn_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return cn_fail(err, CN_EIO, "%s: cannot open: %s", path, strerror(errno));
    wf_results r;
    wf_results_init(&r);
    char line[8192];
    int line_no = 0;
    cn_status st = CN_OK;
    while (fgets(line, sizeof line, f)) {
        line_no++;
        char *fl[8];
        int k = wf_csv_split(line, fl, 8);
        if (k == 1 && !*trim(fl[0]))
            continue;
        if (line_no == 1 && !strcmp(trim(fl[0]), "onnx"))
            continue;
        char *end = NULL;
        double t = k >= 4 ? strtod(trim(fl[3]), &end) : NAN;
        if (k < 4 || !end || *end || !*trim(fl[2])) {
            st = cn_fail(err, CN_EPARSE, "%s:%d: expected 'onnx,vnnlib,verdict,time_s[,nodes]'",
                         path, line_no);
            break;
        }
        long nodes = k >= 5 ? strtol(trim(fl[4]), NULL, 10) : 0;
        st = wf_results_add(&r, trim(fl[0]), trim(fl[1]), trim(fl[2]), t, nodes, err);
        if (st != CN_OK)
            break;
    }
    fclose(f);
    if (st != CN_OK) {
        wf_results_free(&r);
        return st;
    }
    *out = r;
    return CN_OK;
}

static bool solved(const char *v) { return !strcmp(v, "sat") || !strcmp(v, "unsat"); }

int wf_baseline_compare(const wf_results *base, const wf_results *cur, wf_buf *report,
                        int *improved)
{
    int reg = 0, imp = 0;
    for (int i = 0; i < cur->n; i++) {
        const wf_row *c = &cur->v[i], *b = NULL;
        for (int j = 0; j < base->n && !b; j++)
            if (!strcmp(base->v[j].onnx, c->onnx) && !strcmp(base->v[j].vnnlib, c->vnnlib))
                b = &base->v[j];
        if (!b)
            continue;
        if (solved(b->verdict) && strcmp(b->verdict, c->verdict) != 0) {
            reg++;
            if (report)
                wf_buf_printf(report, "regression: %s %s: %s in the baseline, now %s\n", c->onnx,
                              c->vnnlib, b->verdict, c->verdict);
        } else if (!solved(b->verdict) && solved(c->verdict)) {
            imp++;
            if (report)
                wf_buf_printf(report, "improvement: %s %s: %s in the baseline, now %s\n",
                              c->onnx, c->vnnlib, b->verdict, c->verdict);
        }
    }
    if (improved)
        *improved = imp;
    return reg;
}

/* radius.c — the bracket [certified, attacked] of the L-infinity
 * robustness radius on an exact grid of radii (see verifier.h, "Robustness
 * radius"): bisection for the first failure, then a bounded scan of the grid
 * points above it, since bounds are not monotone in eps; and the exact
 * decimals it reports. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attacks/attacks.h"
#include "verifier/verifier.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

bool vfy_mpq_decimal(const mpq_t q, char *buf, size_t size)
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

void vfy_decimal_up(double d, int sig, char *buf, size_t size, mpq_t out)
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
    if (!vfy_mpq_decimal(c, buf, size))
        snprintf(buf, size, "%.17g", d);   /* not reached for sig <= 17 */
    if (out)
        mpq_set(out, c);
    mpq_clears(x, c, NULL);
}

int vfy_radius_bits(double max_eps, double tol)
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

static bool stopped(const vfy_prober *pr) { return pr->stop && *pr->stop; }

/* Grid indices the bisection for the certified side saw refuted or left
 * open (at most one per halving: <= 31), skipped by the scan. */
typedef struct {
    int n;
    long k[32];
} open_set;

static bool is_open(const open_set *f, long k)
{
    for (int i = 0; i < f->n; i++)
        if (f->k[i] == k)
            return true;
    return false;
}

/* Bisection on the grid for the boundary in (*lo, *hi]: *lo stays an index
 * where the probe says no (certification: not proven; attack: nothing
 * found), *hi one where it says yes; with first, eps_N is probed before
 * bisecting.  The smallest index where a probe confirmed a misclassified
 * point goes to *pgd_k (with who confirmed it, *pgd_by); on the
 * certification side, who proved *lo goes to *lo_by and every index left
 * open to *fails.  eps is scratch. */
static cn_status bisect(const vfy_prober *pr, mpq_t *x0, int label, int bits, const mpq_t maxe,
                        bool attack, bool first, long *lo, long *hi, long *pgd_k,
                        const char **pgd_by, const char **lo_by, open_set *fails, mpq_t eps,
                        vfy_radius_result *r, cn_err *err)
{
    while ((first || *hi - *lo > 1) && !stopped(pr)) {
        long m = first ? 1L << bits : *lo + (*hi - *lo) / 2;
        grid_eps(eps, maxe, bits, m);
        vfy_probe_verdict v;
        const char *by = NULL;
        cn_status s = attack ? vfy_probe_attack(pr, x0, label, eps, &v, err)
                             : vfy_probe_prove(pr, x0, label, eps, pr->complete, &v, &by, err);
        *(attack ? &r->probes_attack : &r->probes_certify) += 1;
        if (s != CN_OK)
            return s;
        bool found = v == VFY_PROBE_ATTACKED;
        if (attack ? found : v != VFY_PROBE_ROBUST) {
            *hi = m;
            if (!attack && fails->n < 32)
                fails->k[fails->n++] = m;
        } else {
            *lo = m;                   /* first: give up, no attack up to max eps */
            if (!attack)
                *lo_by = by;
        }
        if (found && (*pgd_k < 0 || m < *pgd_k)) {
            *pgd_k = m;
            *pgd_by = attack ? "pgd" : "complete";
        }
        first = false;
    }
    return CN_OK;
}

/* One probe of the scan at grid index k: *proven, and who proved it. */
static cn_status scan_probe(const vfy_prober *pr, mpq_t *x0, int label, int bits,
                            const mpq_t maxe, long k, mpq_t eps, bool *proven, const char **by,
                            vfy_radius_result *r, cn_err *err)
{
    grid_eps(eps, maxe, bits, k);
    vfy_probe_verdict v;
    cn_status s = vfy_probe_prove(pr, x0, label, eps, false, &v, by, err);
    r->probes_scan++;
    if (s == CN_OK)
        *proven = v == VFY_PROBE_ROBUST;
    return s;
}

/* Step (2) of verifier.h: the largest index in (*cert_k, top) the bound
 * methods prove, from the top down, in rounds of at most `budget` probes on
 * a stride; a round that proves an index on a stride > 1 leaves the gap
 * above it to the next round. */
static cn_status scan(const vfy_prober *pr, mpq_t *x0, int label, int bits, const mpq_t maxe,
                      long top, int budget, const open_set *fails, long *cert_k,
                      const char **cert_by, mpq_t eps, vfy_radius_result *r, cn_err *err)
{
    long lo = *cert_k, hi = top, best = -1;
    const char *best_by = NULL;
    while (budget > 0 && hi - lo > 1 && !stopped(pr)) {
        long stride = (hi - lo - 1 + budget - 1) / budget, found = -1, above = hi;
        const char *by = NULL;
        for (long k = hi - 1; k > lo && found < 0 && !stopped(pr);) {
            if (is_open(fails, k)) {   /* refuted by the bisection already */
                k--;
                continue;
            }
            bool proven = false;
            cn_status s = scan_probe(pr, x0, label, bits, maxe, k, eps, &proven, &by, r, err);
            if (s != CN_OK)
                return s;
            if (proven) {
                found = k;
            } else {
                above = k;
                k -= stride;
            }
        }
        if (found < 0)
            break;
        best = found;
        best_by = by;
        if (stride == 1)
            break;
        lo = found;                    /* the gap between it and the index above */
        hi = above;
    }
    if (best >= 0) {
        *cert_k = best;
        *cert_by = best_by;
    }
    return CN_OK;
}

void vfy_radius_opts_init(vfy_radius_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_eps = "0.25";
    o->bits = 8;
    o->deepfool = true;
    atk_opts_init(&o->deepfool_opts);
    o->scan = 256;
}

cn_status vfy_radius(const vfy_prober *pr, mpq_t *x0, int label, const vfy_radius_opts *o,
                     vfy_radius_result *res, cn_err *err)
{
    CN_REQUIRE(o->bits >= 1 && o->bits <= 30, "grid of 2^1 .. 2^30 steps");
    CN_REQUIRE(o->scan >= 0, "a scan budget >= 0");
    double t0 = now_s();
    vfy_radius_result r;
    memset(&r, 0, sizeof r);
    r.cert_k = -1;
    r.certified_by = "none";
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
    s = vfy_probe_clean(pr, x0, label, &correct, err);
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
    r.certified_by = "clean";
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
            vfy_decimal_up(df.linf, 6, r.attacked, sizeof r.attacked, att);
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
    /* (1) Certified: bisection for a proven grid point in (cert_k, att_k). */
    long lo = r.cert_k, hi = att_k;
    open_set fails = {0, {0}};
    s = bisect(pr, x0, label, o->bits, maxe, false, false, &lo, &hi, &pgd_k, &pgd_by,
               &r.certified_by, &fails, eps, &r, err);
    if (s != CN_OK)
        goto done;
    r.cert_k = lo;
    /* Attacked: bisection for the smallest grid point PGD confirms in (cert_k, att_k];
     * when nothing is known, the largest ball first. */
    long alo = r.cert_k, ahi = att_k;
    if (pgd_k >= 0 && pgd_k < ahi)
        ahi = pgd_k;
    const char *unused = NULL;
    s = bisect(pr, x0, label, o->bits, maxe, true, ahi > N, &alo, &ahi, &pgd_k, &pgd_by, &unused,
               &fails, eps, &r, err);
    if (s != CN_OK)
        goto done;
    /* (2) The scan of the grid points below the smallest attacked one. */
    long top = att_k;
    if (pgd_k >= 0 && pgd_k < top)
        top = pgd_k;
    s = scan(pr, x0, label, o->bits, maxe, top, o->scan, &fails, &r.cert_k, &r.certified_by, eps,
             &r, err);
    if (s != CN_OK)
        goto done;
    if (pgd_k >= 0) {
        grid_eps(eps, maxe, o->bits, pgd_k);
        if (!df_found || mpq_cmp(eps, att) < 0) {
            mpq_set(att, eps);
            if (!vfy_mpq_decimal(att, r.attacked, sizeof r.attacked))
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
        if (!vfy_mpq_decimal(eps, r.certified, sizeof r.certified))
            snprintf(r.certified, sizeof r.certified, "%.17g", cn_mpq_get_d_down(eps));
        r.certified_d = mpq_get_d(eps);
        /* A ball proven robust holds no misclassified point: a proof at or
         * above a confirmed attack means something is unsound. */
        if (r.attacked_found && mpq_cmp(eps, att) >= 0) {
            s = cn_fail(err, CN_EINTERNAL,
                        "radius: eps %s proven robust (%s) but a misclassified point was "
                        "confirmed at eps %s (%s): unsound bounds or attack, result withheld",
                        r.certified, r.certified_by, r.attacked, r.attacked_by);
            goto done;
        }
    }
    r.interrupted = stopped(pr);
    r.seconds = now_s() - t0;
    *res = r;
done:
    mpq_clears(maxe, eps, att, NULL);
    return s;
}

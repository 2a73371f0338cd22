/* kernel.c — the inner loops of bounds/ (declared in bounds_int.h).
 *
 * Every function here is called inside the FE_UPWARD scope of bnd_run.
 * Sums are accumulated in several partial sums (vector lanes and a scalar
 * tail) and added at the end: each product and each addition rounds up and
 * addition is monotone, so whatever the order the result is an upper bound
 * of the exact sum — which is all the callers need.  Negation and absolute
 * value are exact; a max of two upward-rounded products is the upward-
 * rounded max.  For a given length and code path the order is fixed, so
 * each result is also monotone in its inputs (bnd__k_ibp on a smaller box
 * never gives a wider interval: linear bounds stay inside interval bounds).
 *
 * The bodies are in kernel_body.h, compiled here once per vector width:
 *   - GCC or Clang: 2-lane double vectors (SSE2 on x86-64; -O2 does not
 *     vectorise these loops by itself);
 *   - GCC on x86-64, in addition: 4 lanes under `#pragma GCC target("avx2")`,
 *     chosen at run time by __builtin_cpu_supports (the MXCSR rounding mode
 *     governs VEX-encoded instructions as well);
 *   - otherwise (or with BND_NO_VEC) plain loops.
 * Results may differ by rounding between the paths, never in soundness.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "bounds/bounds_int.h"

#if (defined(__GNUC__) || defined(__clang__)) && !defined(BND_NO_VEC)
#define BND_VEC 1
#endif
#if defined(BND_VEC) && defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(BND_NO_AVX2)
#define BND_AVX2 1
#endif

#ifdef BND_VEC
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#ifdef BND_AVX2
#include <immintrin.h>
#endif

/* ---- 2 lanes ------------------------------------------------------------ */
typedef double v2d __attribute__((vector_size(16)));
typedef long long v2i __attribute__((vector_size(16)));

static inline v2d ld2(const double *p)
{
    v2d v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void st2(double *p, v2d v) { memcpy(p, &v, sizeof v); }

static inline v2d abs2(v2d a)
{
    const v2i m = {0x7fffffffffffffffLL, 0x7fffffffffffffffLL};
    return (v2d)((v2i)a & m);
}

/* lanes of a where m is all ones, else of b */
static inline v2d sel2(v2i m, v2d a, v2d b) { return (v2d)(((v2i)a & m) | ((v2i)b & ~m)); }

#ifdef __SSE2__
static inline v2d max2(v2d a, v2d b) { return (v2d)_mm_max_pd((__m128d)a, (__m128d)b); }
#else
static inline v2d max2(v2d a, v2d b) { return sel2(a > b, a, b); }
#endif

#define KN(name) name##_v2
#define VL 2
#define VD v2d
#define VI v2i
#define LD(p) ld2(p)
#define ST(p, v) st2(p, v)
#define SPLAT(x) ((v2d){(x), (x)})
#define VABS(v) abs2(v)
#define VMAX(a, b) max2(a, b)
#define VSEL(m, a, b) sel2(m, a, b)
#define HSUM(v) ((v)[0] + (v)[1])
#include "bounds/kernel_body.h"
#undef KN
#undef VL
#undef VD
#undef VI
#undef LD
#undef ST
#undef SPLAT
#undef VABS
#undef VMAX
#undef VSEL
#undef HSUM

/* ---- 4 lanes (AVX2) ----------------------------------------------------- */
#ifdef BND_AVX2
#pragma GCC push_options
#pragma GCC target("avx2")
typedef double v4d __attribute__((vector_size(32)));
typedef long long v4i __attribute__((vector_size(32)));

static inline v4d ld4(const double *p)
{
    v4d v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void st4(double *p, v4d v) { memcpy(p, &v, sizeof v); }

static inline v4d abs4(v4d a)
{
    const v4i m = {0x7fffffffffffffffLL, 0x7fffffffffffffffLL, 0x7fffffffffffffffLL,
                   0x7fffffffffffffffLL};
    return (v4d)((v4i)a & m);
}

static inline v4d sel4(v4i m, v4d a, v4d b) { return (v4d)(((v4i)a & m) | ((v4i)b & ~m)); }

static inline v4d max4(v4d a, v4d b) { return (v4d)_mm256_max_pd((__m256d)a, (__m256d)b); }

#define KN(name) name##_v4
#define VL 4
#define VD v4d
#define VI v4i
#define LD(p) ld4(p)
#define ST(p, v) st4(p, v)
#define SPLAT(x) ((v4d){(x), (x), (x), (x)})
#define VABS(v) abs4(v)
#define VMAX(a, b) max4(a, b)
#define VSEL(m, a, b) sel4(m, a, b)
#define HSUM(v) (((v)[0] + (v)[1]) + ((v)[2] + (v)[3]))
#include "bounds/kernel_body.h"
#undef KN
#undef VL
#undef VD
#undef VI
#undef LD
#undef ST
#undef SPLAT
#undef VABS
#undef VMAX
#undef VSEL
#undef HSUM
#pragma GCC pop_options
#endif

#else /* !BND_VEC */
#define KN(name) name##_v2
#define VL 0
#include "bounds/kernel_body.h"
#undef KN
#undef VL
#endif

/* ---- dispatch ----------------------------------------------------------- */
#ifdef BND_AVX2
#define DISPATCH(name, ...)                                                                        \
    (__builtin_cpu_supports("avx2") ? name##_v4(__VA_ARGS__) : name##_v2(__VA_ARGS__))
#else
#define DISPATCH(name, ...) name##_v2(__VA_ARGS__)
#endif

void bnd__k_ibp(int in, int out, const double *W, const double *b, const double *lo,
                const double *hi, const double *x2, double *olo, double *ohi, double *av)
{
    DISPATCH(ibp, in, out, W, b, lo, hi, x2, olo, ohi, av);
}

void bnd__k_relu_row(int n, const double *lam, const double *sp, const double *sn,
                     const double *cn, const double *em, const double *b, const double *v,
                     double *p, double out[4])
{
    DISPATCH(relu_row, n, lam, sp, sn, cn, em, b, v, p, out);
}

void bnd__k_affine_row(int n, const double *lam, const double *b, const double *v, double out[2])
{
    DISPATCH(affine_row, n, lam, b, v, out);
}

double bnd__k_concretise(int n, const double *lam, const double *lo, const double *hi,
                         double *abs_sum)
{
    return DISPATCH(concretise, n, lam, lo, hi, abs_sum);
}

double bnd__k_concretise_upd(int n, const double *q0, int nd, const double *const *rows,
                             const double *a, const double *lo, const double *hi,
                             double *abs_sum)
{
    return DISPATCH(concretise_upd, n, q0, nd, rows, a, lo, hi, abs_sum);
}

void bnd__k_axpy(int n, double a, const double *x, double *y) { DISPATCH(axpy, n, a, x, y); }

double bnd__k_absdot(int n, const double *x, const double *mag)
{
    return DISPATCH(absdot, n, x, mag);
}

void bnd__k_red_col(int R, double *mu, double al, double ua, double uc, double mz, double Bj,
                    double Ej, double *p, double *nc, double *er)
{
    DISPATCH(red_col, R, mu, al, ua, uc, mz, Bj, Ej, p, nc, er);
}

void bnd__k_red_rank1(int w, int R, const double *z, const double *p, double *G,
                      const double *mag, double *ue)
{
    DISPATCH(red_rank1, w, R, z, p, G, mag, ue);
}

void bnd__k_concretise_cols(int n, int R, const double *G, const double *lo, const double *hi,
                            double *s, double *chk)
{
    DISPATCH(concretise_cols, n, R, G, lo, hi, s, chk);
}

double bnd__l2_neg_lb(int n, const double *lam, size_t stride, const double *c, double r)
{
    /* in the caller's FE_UPWARD scope: every operation rounds up, and each
     * term is >= its exact value, so the sums are too */
    double s = 0.0, q = 0.0;
    for (int j = 0; j < n; j++) {
        double l = lam[(size_t)j * stride];
        s += (-l) * c[j];
        q += l * l;
    }
    double v = s + r * sqrt(q);
    return isnan(v) ? INFINITY : v;
}

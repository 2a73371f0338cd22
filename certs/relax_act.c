/* relax_act.c — the checker's relaxation of the smooth activations
 * (NET_SIGMOID, NET_TANH), written independently of the search's
 * bounds/act.c: for an input interval [l, u] of a neuron, an enclosure of
 * f([l, u]) and two lines
 *     lw z + lc  <=  f(z)  <=  uw z + uc         for every z in [l, u]
 * that hold for the real function (certs.h, section 3).
 *
 * Why the lines hold.  Both functions are increasing; f' is even and
 * decreasing in |z|, so f is convex for z <= 0 and concave for z >= 0, and
 * the minimum of f' over [l, u] is min(f'(l), f'(u)).  For any slope
 * s <= that minimum and z in [l, u]:
 *     f(z) >= f(l) + s (z - l),    f(z) <= f(u) - s (u - z)
 * (integrate f' >= s).  A line that lies below f at l and at u lies below
 * f on [l, u] when f is concave there (l >= 0): f - line is concave and
 * >= 0 at both ends; a line above f at both ends lies above f on [l, u]
 * when f is convex there (u <= 0).  So:
 *   f convex on [l, u] (u <= 0): lower = tangent at the middle, upper =
 *     chord; f concave (l >= 0): lower = chord, upper = tangent at the
 *     middle; straddling 0: CROWN's tangents (lower: touching at d <= 0 and
 *     passing through (u, f(u)), upper: the mirror image), each valid on
 *     its own side by the tangent property and made valid on the other
 *     side by moving the intercept until the line clears f at that side's
 *     two end points (0 and u, or l and 0): there f - line is concave
 *     (convex), so the end points suffice.  Straddling with a chord slope
 *     k <= f'(u) (the tangent point through (l, f(l)) would lie beyond u),
 *     the upper line is the chord: g = chord - f is 0 at l and u, convex on
 *     [0, u] with g'(u) = k - f'(u) <= 0, hence decreasing and >= 0 there,
 *     and concave on [l, 0] with g(l), g(0) >= 0, hence >= 0.  Mirrored:
 *     k <= f'(l) makes the chord the lower line.
 * A tangent is only approximate in floating point: with a slope s near
 * f'(d) and del >= |f'(d) - s| (from an enclosure of f'(d)), the line
 * f(d) + s (z - d) -+ del w is below / above the exact tangent for
 * |z - d| <= w.  The chord's slope is any double; its intercept is the
 * worse of the two end points.  Slope 0 through f(l) (below) and f(u)
 * (above) is the fallback for narrow or awkward intervals.
 *
 * Rounding.  f(p) is enclosed by MPFR at 64 bits: sigmoid(p) =
 * 1 / (1 + exp(-p)) with exp and the addition rounded opposite to the
 * division, tanh by mpfr_tanh (correctly rounded in the direction asked);
 * then rounded to a double in the same direction.  Everything else runs in
 * the caller's FE_DOWNWARD scope: a lower quantity is computed directly,
 * an upper one as -(lower bound of its negation).  A slope s is a lower
 * bound of f' from the enclosures (sigmoid' = f (1 - f), tanh' = 1 - f^2),
 * clamped at 0.
 */
#include "config.h"

#include <fenv.h>
#include <math.h>

#include <mpfr.h>

#include "certs/certs_int.h"

/* f(p) rounded down (up = false) or up, as a double. */
static double f_enclose(net_op op, double p, bool up)
{
    int saved = cn_round_push(FE_TONEAREST);
    mpfr_rnd_t r = up ? MPFR_RNDU : MPFR_RNDD, q = up ? MPFR_RNDD : MPFR_RNDU;
    mpfr_t t;
    mpfr_init2(t, 64);
    mpfr_set_d(t, p, MPFR_RNDN);                 /* exact */
    if (op == NET_TANH) {
        mpfr_tanh(t, t, r);
    } else {
        mpfr_neg(t, t, MPFR_RNDN);
        mpfr_exp(t, t, q);
        mpfr_add_ui(t, t, 1, q);
        mpfr_ui_div(t, 1, t, r);
    }
    double v = mpfr_get_d(t, r);
    mpfr_clear(t);
    cn_round_pop(saved);
    return v;
}

/* Bounds of f' where f is in [lo, hi] (FE_DOWNWARD; the upper one as a
 * negated downward value): sigmoid' = f (1 - f), concave in f with its top
 * at f = 1/2; tanh' = 1 - f^2. */
static double dlow(net_op op, double lo, double hi)
{
    double d;
    if (op == NET_SIGMOID) {
        double a = lo * (1.0 - lo), b = hi * (1.0 - hi);
        d = a < b ? a : b;
    } else {
        double m = fabs(lo) > fabs(hi) ? fabs(lo) : fabs(hi);
        d = 1.0 + (-m) * m;                      /* <= 1 - m^2 */
    }
    return d > 0.0 ? d : 0.0;
}

static double dhigh(net_op op, double lo, double hi)
{
    if (op == NET_SIGMOID) {
        double f = lo > 0.5 ? lo : hi < 0.5 ? hi : 0.5;
        double one_m = -(f - 1.0);               /* >= 1 - f */
        double d = -((-f) * one_m);              /* >= f (1 - f) */
        return d < 0.25 ? d : 0.25;
    }
    double m = lo > 0.0 ? lo : hi < 0.0 ? -hi : 0.0;
    return -(m * m - 1.0);                       /* >= 1 - m^2 */
}

/* A double near f'(p); any value will do (tangent_c accounts for it). */
static double slope_near(net_op op, double p)
{
    if (op == NET_SIGMOID) {
        double f = 1.0 / (1.0 + exp(-p));
        return f * (1.0 - f);
    }
    double t = tanh(p);
    return 1.0 - t * t;
}

/* Slope *k near f'(d) and an intercept making k z + c a lower (up false)
 * or upper line of f on { z : |z - d| <= w } where f is convex (lower) or
 * concave (upper): f(z) >= f(d) + f'(d)(z - d) there, and |f'(d) - k|
 * |z - d| <= del w with del >= |f'(d) - k|. */
static double tangent_c(net_op op, double d, double w, bool up, double *k)
{
    double flo = f_enclose(op, d, false), fhi = f_enclose(op, d, true);
    double dl = dlow(op, flo, fhi), dh = dhigh(op, flo, fhi);
    double s = slope_near(op, d);
    s = s < dl ? dl : s > dh ? dh : s;
    if (s != s)
        s = dl;
    double e1 = -(s - dh), e2 = -(dl - s);       /* >= dh - s, s - dl */
    double slack = -((-(e1 > e2 ? e1 : e2)) * w); /* >= del w */
    *k = s;
    if (up)
        return -((s * d - fhi) - slack);         /* >= f(d) - s d + del w */
    return (flo - (-((-s) * d))) - slack;        /* <= f(d) - s d - del w */
}

/* CROWN's tangent point when [l, u] straddles 0 (heuristic only). */
static double crown_point(net_op op, double l, double u, bool up)
{
    double a = up ? 0.0 : l, b = up ? u : 0.0, p = up ? l : u;
    double fp = op == NET_SIGMOID ? 1.0 / (1.0 + exp(-p)) : tanh(p);
    for (int i = 0; i < 40; i++) {
        double m = 0.5 * (a + b);
        double fm = op == NET_SIGMOID ? 1.0 / (1.0 + exp(-m)) : tanh(m);
        double h = fm + slope_near(op, m) * (p - m) - fp;  /* increasing in m */
        if (h > 0.0)
            b = m;
        else
            a = m;
    }
    return up ? b : a;
}

void cert__smooth_relax(net_op op, int n, const double *lo, const double *hi, double *olo,
                        double *ohi, double *lw, double *lc, double *uw, double *uc)
{
    const double f0 = op == NET_SIGMOID ? 0.5 : 0.0;   /* f(0), exact */
    for (int j = 0; j < n; j++) {
        double l = lo[j], u = hi[j];
        double fl = f_enclose(op, l, false), flu = f_enclose(op, l, true);
        double fu = f_enclose(op, u, true), fud = f_enclose(op, u, false);
        olo[j] = fl;
        ohi[j] = fu;
        lw[j] = uw[j] = 0.0;
        lc[j] = fl;
        uc[j] = fu;
        if (!(u - l > 0x1p-30 * (fabs(l) + fabs(u) + 1.0)))
            continue;
        double k = (fud - flu) / (u - l);
        if (!(k >= 0.0 && k < INFINITY))
            k = 0.0;
        double wid = -(l - u);                   /* >= u - l */
        double a, c;
        /* lower line */
        if (l >= 0.0 || (u > 0.0 && k <= dlow(op, fl, flu))) {
            /* concave, or straddling with k <= f'(l): chord, both ends */
            double c1 = fl + (-k) * l, c2 = fud + (-k) * u;
            a = k;
            c = c1 < c2 ? c1 : c2;
        } else if (u <= 0.0) {                   /* convex: tangent at the middle */
            c = tangent_c(op, 0.5 * l + 0.5 * u, wid, false, &a);
        } else {                                 /* tangent on [l, 0]; ends 0, u */
            double d = crown_point(op, l, u, false);
            double w1 = -(l - d), w2 = -d;
            c = tangent_c(op, d, w1 > w2 ? w1 : w2, false, &a);
            double cu0 = fud + (-a) * u;         /* <= f(u) - a u */
            if (f0 < c)
                c = f0;
            if (cu0 < c)
                c = cu0;
        }
        if (c > -INFINITY && a < INFINITY) {
            lw[j] = a;
            lc[j] = c;
        }
        /* upper line */
        if (u <= 0.0 || (l < 0.0 && k <= dlow(op, fud, fu))) {
            /* convex, or straddling with k <= f'(u): chord, both ends */
            double n1 = (-flu) + k * l, n2 = (-fu) + k * u;  /* <= -(f(p) - k p) */
            a = k;
            c = -(n1 < n2 ? n1 : n2);
        } else if (l >= 0.0) {                   /* concave: tangent at the middle */
            c = tangent_c(op, 0.5 * l + 0.5 * u, wid, true, &a);
        } else {                                 /* tangent on [0, u]; ends l, 0 */
            double d = crown_point(op, l, u, true);
            double w1 = -(d - u), w2 = d;
            c = tangent_c(op, d, w1 > w2 ? w1 : w2, true, &a);
            double cl0 = -((-flu) + a * l);      /* >= f(l) - a l */
            if (f0 > c)
                c = f0;
            if (cl0 > c)
                c = cl0;
        }
        if (c < INFINITY && a < INFINITY) {
            uw[j] = a;
            uc[j] = c;
        }
    }
}

/* The line on one side (up: the upper one) of f on [l, u] with its tangent
 * at the point of a 17-point grid nearest to p, where cert__smooth_relax's
 * line on that side is a tangent: the grid spans [l, u], or for a
 * straddling neuron the part from l to CROWN's point (lower) or from
 * CROWN's point to u (upper), where the tangent needs no lowering; it is
 * still made valid on the other side as in cert__smooth_relax.  Any point
 * gives a valid line (the tangent property, the slack for the slope, the
 * end-point checks).  Returns false, leaving *a, *c alone, where that side
 * is a chord, the interval is too narrow, p is NaN or the line is not
 * finite.  cache: the neuron's CERT_LINE_CACHE doubles, all NaN for a new
 * [l, u].  FE_DOWNWARD scope. */
bool cert__smooth_line_at(net_op op, double l, double u, double p, bool up, double *cache,
                          double *a, double *c)
{
    double *m = cache + (up ? CERT_LINE_CACHE / 2 : 0);  /* state, e0, e1, (a, c) x 17 */
    if (m[0] != m[0]) {
        m[0] = 0.0;
        if (!(u - l > 0x1p-30 * (fabs(l) + fabs(u) + 1.0)) || (up ? u <= 0.0 : l >= 0.0))
            return false;                        /* narrow, or a chord */
        double fl = f_enclose(op, l, false), flu = f_enclose(op, l, true);
        double fu = f_enclose(op, u, true), fud = f_enclose(op, u, false);
        double k = (fud - flu) / (u - l);
        if (!(k >= 0.0 && k < INFINITY))
            k = 0.0;
        bool straddle = l < 0.0 && u > 0.0;
        if (straddle && k <= (up ? dlow(op, fud, fu) : dlow(op, fl, flu)))
            return false;                        /* the chord */
        m[1] = straddle && up ? crown_point(op, l, u, true) : l;
        m[2] = straddle && !up ? crown_point(op, l, u, false) : u;
        m[0] = m[2] >= m[1] ? 1.0 : 0.0;
    }
    if (m[0] != 1.0 || p != p)
        return false;
    double e0 = m[1], e1 = m[2];
    double q = (p - e0) / (e1 - e0) * 16;
    int g = !(q > 0.0) ? 0 : q >= 16 ? 16 : (int)(q + 0.5);
    double *ln = m + 3 + 2 * g;
    if (ln[0] == ln[0]) {
        *a = ln[0];
        *c = ln[1];
        return true;
    }
    double d = g == 16 ? e1 : e0 + (e1 - e0) * ((double)g / 16);
    bool straddle = l < 0.0 && u > 0.0;
    const double f0 = op == NET_SIGMOID ? 0.5 : 0.0;
    double s, t;
    if (!up) {
        d = d < l ? l : d > e1 ? e1 : d;
        double w1 = -(l - d), w2 = straddle ? -d : -(d - u);
        t = tangent_c(op, d, w1 > w2 ? w1 : w2, false, &s);
        if (straddle) {
            double cu0 = f_enclose(op, u, false) + (-s) * u;   /* <= f(u) - s u */
            if (f0 < t)
                t = f0;
            if (cu0 < t)
                t = cu0;
        }
    } else {
        d = d > u ? u : d < e0 ? e0 : d;
        double w1 = -(d - u), w2 = straddle ? d : -(l - d);
        t = tangent_c(op, d, w1 > w2 ? w1 : w2, true, &s);
        if (straddle) {
            double cl0 = -((-f_enclose(op, l, true)) + s * l);  /* >= f(l) - s l */
            if (f0 > t)
                t = f0;
            if (cl0 > t)
                t = cl0;
        }
    }
    if (!(t > -INFINITY && t < INFINITY && s < INFINITY)) {
        m[0] = 0.0;
        return false;
    }
    ln[0] = *a = s;
    ln[1] = *c = t;
    return true;
}

void cert__thread_exit(void) { mpfr_free_cache2(MPFR_FREE_LOCAL_CACHE); }

/* act.c — bounds for networks with sigmoid / tanh layers (NET_SIGMOID,
 * NET_TANH; ReLU layers may be mixed in): interval propagation and a
 * DeepPoly / CROWN linear relaxation with back-substitution, used by
 * bnd_run for every network with a smooth layer (net_n_smooth > 0).
 *
 * RELAXATION.  An activation f on an input interval [l, u] (the bounds of
 * its input z_i) is replaced by two lines per neuron,
 *     al z + cl  <=  f(z)  <=  au z + cu        for every z in [l, u].
 * For sigmoid and tanh (increasing; f' even, increasing on (-inf, 0],
 * decreasing on [0, inf), so f is convex on (-inf, 0] and concave on
 * [0, inf)) the lines are CROWN's (Zhang et al., NeurIPS 2018):
 *   u <= 0 (convex):   lower = tangent at the midpoint, upper = chord;
 *   l >= 0 (concave):  lower = chord, upper = tangent at the midpoint;
 *   l < 0 < u:         lower = the tangent at some d in [l, 0] (the one
 *                      through (u, f(u)), found by bisection), upper = the
 *                      tangent at some d in [0, u] (through (l, f(l)));
 *                      where that point would lie outside [l, u] the
 *                      chord (valid then: smooth_lines).
 * Why they hold: a tangent at d lies below a convex / above a concave f on
 * the whole part where f is so; a chord lies above a convex / below a
 * concave f between its end points (f - line is convex / concave and has
 * the right sign at both ends).  When [l, u] straddles 0 the lower tangent
 * (valid on [l, 0]) is made valid on [0, u] by lowering its intercept until
 * it lies below f at 0 and at u: f - line is concave on [0, u], so the two
 * end points suffice (the upper line mirrored: raised to clear f at l, 0).
 * ReLU: the lines of bounds.h (upper chord u/(u-l), lower slope by
 * bnd_opts.slope, splits clip [l, u]).
 *
 * SOUNDNESS IN FLOATING POINT.  The lines are made valid for the REAL f:
 *   - f(p) is enclosed with MPFR at 64 bits in directed rounding
 *     (sigmoid = 1/(1 + exp(-z)): exp and + rounded against the quotient;
 *     tanh: mpfr_tanh, correctly rounded) and rounded outward to a double;
 *   - a tangent's slope k is only near f'(d); f'(d) is enclosed in
 *     [dl, dh] from the enclosure of f(d) (sigmoid' = f (1 - f), tanh' =
 *     1 - f^2, rounded outward), del >= max(dh - k, k - dl) >= |f'(d) - k|,
 *     and for |z - d| <= w the exact tangent f(d) + f'(d)(z - d) differs
 *     from f(d) + k (z - d) by at most del w: the intercept is
 *     f_down(d) - k d - del w rounded down (lower), the mirror for upper;
 *   - a chord's slope may be any double; its intercept is the worse of
 *     f_down(p) - k p (lower; the product rounded up) over p = l, u, and
 *     the end-point conditions at 0, l or u above are met the same way, so
 *     every condition the argument needs holds exactly;
 *   - slope 0 through f_down(l) (below) and f_up(u) (above) is the fallback
 *     for narrow intervals and anything non-finite (f is increasing).
 * Back-substitution keeps bounds.h's invariant "target >= lam . z + c for
 * the double row lam actually held", as the checker's relax.c does: every
 * operation runs in an FE_DOWNWARD scope; a product lam a is held as its
 * downward value p_lo, and the difference to the exact lam a (at most
 * D = p_hi - p_lo, p_hi computed as -(downward of -lam a)) costs
 * min(0, D l) in the constant; an affine step keeps the downward row
 * P_lo = lam W and adds sum_j min(0, D_j l_j), D_j >= (lam W)_hi - P_lo;
 * an enclosure of the layer (models.h, E) adds -|lam| E.  Concretisation
 * at the input box (and, for DeepPoly, at each layer passed) rounds down.
 * Interval propagation rounds outward.  Anything non-finite gives -inf.
 * Every linear method (DEEPPOLY, CROWN, ALPHA) runs the same here: the
 * lines above, and back-substitution that also concretises at every layer
 * it passes (DeepPoly's best-of; each is a valid lower bound, and on these
 * networks it is much tighter than concretising at the input only); the
 * checker (certs/relax.c) does the same.
 * TANGENT POINTS PER ROW (backsub_refined).  Any tangent point in range
 * gives valid lines, so each row (an intermediate bound or a query) is
 * back-substituted again with its own points: x* = the input corner that
 * minimised the previous pass's row over z_0, carried up through the
 * lines that pass used (forward_point); a neuron whose line on that side
 * is a tangent gets it at the nearest of ACT_GRID + 1 points spread over
 * its range ([l, u], or for a straddling neuron the part between l (u)
 * and CROWN's point, so the tangent needs no lowering), the chord sides
 * unchanged (point_line; lines cached per grid point and run).  ACT_REFINE
 * such passes; every pass is a lower bound, the best per row is kept.
 * The same accounting as above (the lines are smooth_lines' with another
 * point).  BND_ALPHA optimises nothing more here, and bnd_run_param
 * refuses these networks (no parameters).
 */
#include "config.h"

#include <fenv.h>
#include <math.h>
#include <string.h>

#include <mpfr.h>

#include "bounds/bounds_int.h"

#define ACT_CHUNK 32                /* rows back-substituted at once */
#define ACT_GRID 16                 /* tangent points per neuron and side: a grid */
#define ACT_REFINE 2                /* passes with tangents at each row's worst point */

struct bnd__act {
    int nl, maxw;
    double **al, **cl, **au, **cu;  /* [nl]: activation layers [in], else NULL */
    double **E;                     /* [nl]: enclosed affine layers [out] */
    /* smooth layers [in], for lines at other tangent points (point_line):
     * f(l) rounded up, f(u) rounded down, and the range of tangent points
     * that keeps a straddling neuron's tangent valid (lower: d <= tl,
     * upper: d >= tu; CROWN's points) */
    double **flh, **fud, **tl, **tu;
    double **gk, **gc;              /* [in * 2 * (ACT_GRID + 1)]: lines at grid points (NaN: not yet) */
    double *A, *P, *N;              /* [ACT_CHUNK * maxw] */
    double *cst, *best;             /* [ACT_CHUNK] */
    /* refinement (backsub_refined): the rows and constants as given, the
     * rows over z_0 of the last pass and of the best, the bounds of the
     * last pass, and the points z_i(x*) [ACT_CHUNK * poff[nl]] */
    double *A0, *cst0, *cf, *cfb, *lb1;
    double *pt, *ra, *rc;           /* points; the lines a row used (ra NaN: none) */
    int *poff;                      /* [nl + 1]: offset of z_i in a row of pt */
    const signed char *split;       /* this run's ReLU splits (borrowed) or NULL */
    const double *alo, *ahi;        /* this run's smooth restrictions (bnd_region) or NULL */
};

static bool is_act(const bnd_ctx *c, int i) { return net_op_act(net_layer_at(c->n, i)->op); }
static int width(const bnd_ctx *c, int i) { return i == 0 ? c->n_in : c->L[i - 1].out; }

void bnd__act_free(bnd__act *a)
{
    if (!a)
        return;
    for (int i = 0; i < a->nl; i++) {
        if (a->al)
            cn_free(a->al[i]);
        if (a->cl)
            cn_free(a->cl[i]);
        if (a->au)
            cn_free(a->au[i]);
        if (a->cu)
            cn_free(a->cu[i]);
        if (a->E)
            cn_free(a->E[i]);
        if (a->flh)
            cn_free(a->flh[i]);
        if (a->fud)
            cn_free(a->fud[i]);
        if (a->tl)
            cn_free(a->tl[i]);
        if (a->tu)
            cn_free(a->tu[i]);
        if (a->gk)
            cn_free(a->gk[i]);
        if (a->gc)
            cn_free(a->gc[i]);
    }
    cn_free(a->gk);
    cn_free(a->gc);
    cn_free(a->flh);
    cn_free(a->fud);
    cn_free(a->tl);
    cn_free(a->tu);
    cn_free(a->A0);
    cn_free(a->cst0);
    cn_free(a->cf);
    cn_free(a->cfb);
    cn_free(a->lb1);
    cn_free(a->pt);
    cn_free(a->ra);
    cn_free(a->rc);
    cn_free(a->poff);
    cn_free(a->al);
    cn_free(a->cl);
    cn_free(a->au);
    cn_free(a->cu);
    cn_free(a->E);
    cn_free(a->A);
    cn_free(a->P);
    cn_free(a->N);
    cn_free(a->cst);
    cn_free(a->best);
    cn_free(a);
}

bnd__act *bnd__act_new(const bnd_ctx *c)
{
    bnd__act *a = cn_calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->nl = c->nl;
    a->maxw = c->maxw;
    size_t nl = (size_t)c->nl;
    a->al = cn_calloc(nl, sizeof(double *));
    a->cl = cn_calloc(nl, sizeof(double *));
    a->au = cn_calloc(nl, sizeof(double *));
    a->cu = cn_calloc(nl, sizeof(double *));
    a->E = cn_calloc(nl, sizeof(double *));
    a->flh = cn_calloc(nl, sizeof(double *));
    a->fud = cn_calloc(nl, sizeof(double *));
    a->tl = cn_calloc(nl, sizeof(double *));
    a->tu = cn_calloc(nl, sizeof(double *));
    a->poff = cn_calloc(nl + 1, sizeof(int));
    a->gk = cn_calloc(nl, sizeof(double *));
    a->gc = cn_calloc(nl, sizeof(double *));
    if (!a->gk || !a->gc || !a->flh || !a->fud || !a->tl || !a->tu || !a->poff)
        goto fail;
    for (int i = 0; i < c->nl; i++)
        a->poff[i + 1] = a->poff[i] + width(c, i);
    size_t rw = (size_t)ACT_CHUNK * (size_t)c->maxw;
    a->A = cn_mallocarray(rw, sizeof(double));
    a->P = cn_mallocarray(rw, sizeof(double));
    a->N = cn_mallocarray(rw, sizeof(double));
    a->cst = cn_mallocarray(ACT_CHUNK, sizeof(double));
    a->best = cn_mallocarray(ACT_CHUNK, sizeof(double));
    a->A0 = cn_mallocarray(rw, sizeof(double));
    a->cst0 = cn_mallocarray(ACT_CHUNK, sizeof(double));
    a->lb1 = cn_mallocarray(ACT_CHUNK, sizeof(double));
    a->cf = cn_mallocarray((size_t)ACT_CHUNK * (size_t)c->n_in, sizeof(double));
    a->cfb = cn_mallocarray((size_t)ACT_CHUNK * (size_t)c->n_in, sizeof(double));
    a->pt = cn_mallocarray((size_t)ACT_CHUNK * (size_t)a->poff[nl], sizeof(double));
    a->ra = cn_mallocarray((size_t)ACT_CHUNK * (size_t)a->poff[nl], sizeof(double));
    a->rc = cn_mallocarray((size_t)ACT_CHUNK * (size_t)a->poff[nl], sizeof(double));
    if (!a->A0 || !a->cst0 || !a->lb1 || !a->cf || !a->cfb || !a->pt || !a->ra || !a->rc)
        goto fail;
    if (!a->al || !a->cl || !a->au || !a->cu || !a->E || !a->A || !a->P || !a->N || !a->cst ||
        !a->best)
        goto fail;
    for (int i = 0; i < c->nl; i++) {
        size_t in = (size_t)c->L[i].in;
        if (is_act(c, i)) {
            a->al[i] = cn_mallocarray(in, sizeof(double));
            a->cl[i] = cn_mallocarray(in, sizeof(double));
            a->au[i] = cn_mallocarray(in, sizeof(double));
            a->cu[i] = cn_mallocarray(in, sizeof(double));
            a->flh[i] = cn_mallocarray(in, sizeof(double));
            a->fud[i] = cn_mallocarray(in, sizeof(double));
            a->tl[i] = cn_mallocarray(in, sizeof(double));
            a->tu[i] = cn_mallocarray(in, sizeof(double));
            a->gk[i] = cn_mallocarray(in * 2 * (size_t)(ACT_GRID + 1), sizeof(double));
            a->gc[i] = cn_mallocarray(in * 2 * (size_t)(ACT_GRID + 1), sizeof(double));
            if (!a->gk[i] || !a->gc[i] || !a->al[i] || !a->cl[i] || !a->au[i] || !a->cu[i] || !a->flh[i] || !a->fud[i] ||
                !a->tl[i] || !a->tu[i])
                goto fail;
        } else if (c->L[i].encl) {
            a->E[i] = cn_mallocarray((size_t)c->L[i].out, sizeof(double));
            if (!a->E[i])
                goto fail;
        }
    }
    return a;
fail:
    bnd__act_free(a);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* The real activation, enclosed                                              */
/* ------------------------------------------------------------------------ */

/* f(x) rounded in direction rnd to a double (MPFR at 64 bits, then rounded
 * again the same way: both steps err the same way). */
static double f_round(net_op op, double x, mpfr_rnd_t rnd)
{
    int saved = cn_round_push(FE_TONEAREST);       /* MPFR expects the default mode */
    mpfr_t t;
    mpfr_init2(t, 64);
    mpfr_set_d(t, x, MPFR_RNDN);                   /* exact: 53 <= 64 bits */
    if (op == NET_TANH) {
        mpfr_tanh(t, t, rnd);
    } else {
        mpfr_rnd_t rev = rnd == MPFR_RNDD ? MPFR_RNDU : MPFR_RNDD;
        mpfr_neg(t, t, MPFR_RNDN);
        mpfr_exp(t, t, rev);
        mpfr_add_ui(t, t, 1, rev);
        mpfr_ui_div(t, 1, t, rnd);
    }
    double r = mpfr_get_d(t, rnd);
    mpfr_clear(t);
    cn_round_pop(saved);
    return r;
}

/* A lower bound (>= 0) of f' at a point where f lies in [flo, fhi].
 * FE_DOWNWARD scope. */
static double dmin_at(net_op op, double flo, double fhi)
{
    double d;
    if (op == NET_SIGMOID) {
        d = flo * (1.0 - fhi);                     /* f (1 - f), factors >= 0 */
    } else {
        double m = fmax(fabs(flo), fabs(fhi));
        d = 1.0 - (-((-m) * m));                   /* 1 - m^2, m^2 rounded up */
    }
    return d > 0.0 ? d : 0.0;                      /* also turns NaN into 0 */
}

/* An upper bound of f' where f lies in [flo, fhi] (FE_DOWNWARD: upward
 * results as negated downward ones).  sigmoid' = g(f) = f (1 - f) is
 * largest at f = 1/2; tanh' = 1 - f^2 at the smallest |f|. */
static double dmax_at(net_op op, double flo, double fhi)
{
    if (op == NET_SIGMOID) {
        double f = flo > 0.5 ? flo : fhi < 0.5 ? fhi : 0.5;
        double d = -((-f) * (-((-1.0) + f)));      /* f (1 - f), rounded up */
        return d < 0.25 ? d : 0.25;
    }
    double m = flo > 0.0 ? flo : fhi < 0.0 ? -fhi : 0.0;
    return -((-1.0) + m * m);                      /* 1 - m^2, rounded up */
}

/* f(0): sigmoid 1/2, tanh 0 (exact). */
static double f_zero(net_op op) { return op == NET_SIGMOID ? 0.5 : 0.0; }

/* A double near f'(p) (any value does: the slack below accounts for it). */
static double dnear(net_op op, double p)
{
    double f = op == NET_SIGMOID ? 1.0 / (1.0 + exp(-p)) : tanh(p);
    return op == NET_SIGMOID ? f * (1.0 - f) : 1.0 - f * f;
}

/* The tangent at d with slack, valid where f is concave (upper, up = true)
 * or convex (lower) on an interval of half-width w around... any x with
 * |x - d| <= w:  f(x) <= f(d) + f'(d)(x - d) (concave part) and
 * f'(d)(x - d) <= k (x - d) + del |x - d|, del >= |f'(d) - k|, so
 *     upper: k x + (f_up(d) - k d + del w),  lower mirrored.
 * Writes the slope k and returns the intercept (FE_DOWNWARD). */
static double tangent(net_op op, double d, double w, bool up, double *k)
{
    double flo = f_round(op, d, MPFR_RNDD), fhi = f_round(op, d, MPFR_RNDU);
    double kk = dnear(op, d);
    double dl = dmin_at(op, flo, fhi), dh = dmax_at(op, flo, fhi);
    if (!(kk >= dl))
        kk = dl;
    if (!(kk <= dh))
        kk = dh;
    double del = fmax(-((-dh) + kk), -((-kk) + dl)); /* >= |f'(d) - k| */
    double sw = -((-del) * w);                     /* del w, rounded up */
    *k = kk;
    if (up)
        return -((-fhi) + kk * d) + sw;            /* f(d) - k d + del w, up... */
    return flo - (-((-kk) * d)) - sw;             /* f(d) - k d - del w, down */
}
/* CROWN's tangent point for an interval straddling 0 (a heuristic: any
 * value in range keeps the lines valid): lower line (up = false): d in
 * [l, 0] whose tangent passes through (u, f(u)); upper: d in [0, u]
 * through (l, f(l)).  Bisection in doubles. */
static double tangent_point(net_op op, double l, double u, bool up)
{
    double a = up ? 0.0 : l, b = up ? u : 0.0, p = up ? l : u;
    double fp = op == NET_SIGMOID ? 1.0 / (1.0 + exp(-p)) : tanh(p);
    for (int it = 0; it < 40; it++) {
        double d = 0.5 * (a + b);
        double fd = op == NET_SIGMOID ? 1.0 / (1.0 + exp(-d)) : tanh(d);
        double h = fd + dnear(op, d) * (p - d) - fp;  /* tangent at d, measured at p */
        /* h grows with d on both sides (the tangent at d rises at p: p > d
         * on the convex part below, p < d on the concave part above), so
         * h > 0 means d too far right, for the lower line and the upper
         * alike; h(a) <= 0 < h(b) throughout */
        if (h > 0.0)
            b = d;
        else
            a = d;
    }
    return up ? b : a;                             /* the side whose line needs no lowering */
}

/* Lines of a smooth activation on [l, u] (finite, l <= u).  FE_DOWNWARD
 * scope: an upward result is written -((-x) ...).  Where f is convex
 * (u <= 0) the lower line is the tangent at the midpoint and the upper the
 * chord; where concave (l >= 0) the mirror image; straddling 0, CROWN's
 * tangents (tangent_point), each made valid on the other part by raising
 * (lowering) the intercept to clear f at that part's end points 0 and l
 * (u): there f - line is concave (convex), so the end points suffice.
 * Straddling, the chord (slope k, intercept from both end points) is the
 * upper line when k <= f'(u) (CROWN's tangent point would lie beyond u):
 * g = line - f is >= 0 at l and u, convex on [0, u] with g'(u) <= 0, so
 * decreasing there and >= g(u) >= 0; concave on [l, 0] and >= 0 at both
 * ends (0 lies in [0, u]), so >= 0.  The mirror image: the chord is the
 * lower line when k <= f'(l).  f'(u) is bounded below from the enclosure
 * of f(u) (dmin_at), so the test holds for the real f'. */
static void smooth_lines(net_op op, double l, double u, double *al, double *cl, double *au,
                         double *cu, double *flh, double *fud, double *tl, double *tu)
{
    double fl_lo = f_round(op, l, MPFR_RNDD), fl_hi = f_round(op, l, MPFR_RNDU);
    double fu_lo = f_round(op, u, MPFR_RNDD), fu_hi = f_round(op, u, MPFR_RNDU);
    *flh = fl_hi;
    *fud = fu_lo;
    *tl = u;
    *tu = l;
    /* slope 0 (f increasing) as the fallback */
    *al = 0.0;
    *cl = fl_lo;
    *au = 0.0;
    *cu = fu_hi;
    if (!(u - l > 0x1p-30 * (fabs(l) + fabs(u) + 1.0)))
        return;
    double k = (fu_lo - fl_hi) / (u - l), f0 = f_zero(op);
    if (!(k >= 0.0) || !isfinite(k))
        k = 0.0;
    double width = -(l - u);                       /* u - l, rounded up */
    double a, c, d;
    if (l >= 0.0 || (u > 0.0 && k <= dmin_at(op, fl_lo, fl_hi))) {
        /* lower: chord, below f at both ends: c <= f(p) - k p for p = l, u */
        a = k;
        if (l < 0.0)
            *tl = NAN;
        c = fmin(fl_lo - (-((-k) * l)), fu_lo - (-((-k) * u)));
    } else if (u <= 0.0) {
        c = tangent(op, 0.5 * l + 0.5 * u, width, false, &a);
    } else {
        d = tangent_point(op, l, u, false);
        *tl = d;
        c = tangent(op, d, fmax(-(l - d), -d), false, &a);  /* valid on [l, 0] */
        c = fmin(c, fmin(f0, fu_lo - (-((-a) * u))));       /* and at 0, u */
    }
    if (isfinite(c) && isfinite(a)) {
        *al = a;
        *cl = c;
    }
    if (u <= 0.0 || (l < 0.0 && k <= dmin_at(op, fu_lo, fu_hi))) {
        /* upper: chord, above f at both ends: c >= f(p) - k p */
        a = k;
        if (u > 0.0)
            *tu = NAN;
        c = fmax(-((-fl_hi) + k * l), -((-fu_hi) + k * u));
    } else if (l >= 0.0) {
        c = tangent(op, 0.5 * l + 0.5 * u, width, true, &a);
    } else {
        d = tangent_point(op, l, u, true);
        *tu = d;
        c = tangent(op, d, fmax(-(d - u), d), true, &a);    /* valid on [0, u] */
        c = fmax(c, fmax(f0, -((-fl_hi) + a * l)));         /* and at l, 0 */
    }
    if (isfinite(c) && isfinite(a)) {
        *au = a;
        *cu = c;
    }
}

/* The line of neuron j of smooth layer i on the side of a coefficient of
 * sign up (upper line for a negative coefficient) with the tangent, where
 * that side has one, at the point p instead of the default one (any point
 * gives a valid line, as in smooth_lines): p is clamped to [l, tl] (lower)
 * or [tu, u] (upper), so a straddling neuron's tangent stays the one that
 * clears f on the other side (tl, tu: CROWN's points); the chord side and
 * anything non-finite keep the default line.  FE_DOWNWARD scope. */
static void point_line(const bnd_ctx *c, bnd__act *a, int i, int j, bool up, double p,
                       double *k, double *cc)
{
    net_op op = net_layer_at(c->n, i)->op;
    double l = c->lo[i][j], u = c->hi[i][j];
    *k = up ? a->au[i][j] : a->al[i][j];
    *cc = up ? a->cu[i][j] : a->cl[i][j];
    if (up ? u <= 0.0 : l >= 0.0)
        return;                                    /* chord */
    if (!(u - l > 0x1p-30 * (fabs(l) + fabs(u) + 1.0)) || !(p == p))
        return;                                    /* default (slope 0) */
    double e0 = up ? a->tu[i][j] : l, e1 = up ? u : a->tl[i][j];
    if (!(e1 >= e0))
        return;
    double q = (p - e0) / (e1 - e0) * ACT_GRID;    /* the nearest grid point */
    int g = !(q > 0.0) ? 0 : q >= ACT_GRID ? ACT_GRID : (int)(q + 0.5);
    size_t gi = ((size_t)j * 2 + (up ? 1 : 0)) * (ACT_GRID + 1) + (size_t)g;
    if (a->gk[i][gi] == a->gk[i][gi]) {
        *k = a->gk[i][gi];
        *cc = a->gc[i][gi];
        return;
    }
    double s, t, f0 = f_zero(op);
    double d = g == ACT_GRID ? e1 : e0 + (e1 - e0) * ((double)g / ACT_GRID);
    if (!up) {
        d = fmin(fmax(d, l), a->tl[i][j]);
        if (u <= 0.0) {
            t = tangent(op, d, fmax(-(l - d), -(d - u)), false, &s);
        } else {
            t = tangent(op, d, fmax(-(l - d), -d), false, &s);
            t = fmin(t, fmin(f0, a->fud[i][j] - (-((-s) * u))));
        }
    } else {
        d = fmax(fmin(d, u), a->tu[i][j]);
        if (l >= 0.0) {
            t = tangent(op, d, fmax(-(l - d), -(d - u)), true, &s);
        } else {
            t = tangent(op, d, fmax(-(d - u), d), true, &s);
            t = fmax(t, fmax(f0, -((-a->flh[i][j]) + s * l)));
        }
    }
    if (!(isfinite(t) && isfinite(s))) {
        s = *k;
        t = *cc;
    }
    a->gk[i][gi] = *k = s;
    a->gc[i][gi] = *cc = t;
}

/* ReLU lines (bounds.h); FE_DOWNWARD scope. */
static void relu_lines(bnd_slope sl, double l, double u, double *al, double *cl, double *au,
                       double *cu, int *unstable)
{
    *cl = 0.0;
    if (u <= 0.0) {
        *al = *au = *cu = 0.0;
    } else if (l >= 0.0) {
        *al = *au = 1.0;
        *cu = 0.0;
    } else {
        double a = u / (u - l);
        *au = a;
        *cu = fmax(-(a * l), -((-u) + a * u));  /* max(-a l, u - a u), rounded up */
        *al = sl == BND_SLOPE_ZERO ? 0.0 : sl == BND_SLOPE_ONE ? 1.0 : u >= -l ? 1.0 : 0.0;
        (*unstable)++;
    }
}

/* ------------------------------------------------------------------------ */
/* Interval propagation                                                       */
/* ------------------------------------------------------------------------ */

/* Enclosure E of affine layer i over the bounds of its input (rounded up:
 * computed as negated downward sums). */
static void enclosure(bnd_ctx *c, bnd__act *a, int i)
{
    const bnd__layer *L = &c->L[i];
    const double *lo = c->lo[i], *hi = c->hi[i];
    double msum = 0.0;
    for (int j = 0; j < L->in; j++)
        msum -= fmax(fabs(lo[j]), fabs(hi[j]));    /* -sum m, rounded down */
    for (int o = 0; o < L->out; o++) {
        const double *w = L->W + (size_t)o * (size_t)L->in;
        double t = 0.0;                            /* -sum |w| m, rounded down */
        for (int j = 0; j < L->in; j++)
            t += (-fabs(w[j])) * fmax(fabs(lo[j]), fabs(hi[j]));
        double e = L->wrel * t + L->wabs * msum;   /* -(wrel S + wabs M), down */
        if (L->brad)
            e -= L->brad[o];
        a->E[i][o] = -e;                           /* rounded up */
    }
}

static void ibp_affine(bnd_ctx *c, bnd__act *a, int i)
{
    const bnd__layer *L = &c->L[i];
    const double *lo = c->lo[i], *hi = c->hi[i];
    double *olo = c->lo[i + 1], *ohi = c->hi[i + 1];
    if (L->encl)
        enclosure(c, a, i);
    for (int o = 0; o < L->out; o++) {
        const double *w = L->W + (size_t)o * (size_t)L->in;
        double s = L->b[o], t = -L->b[o];
        for (int j = 0; j < L->in; j++) {
            double x = w[j];
            s += fmin(x * lo[j], x * hi[j]);
            t += fmin((-x) * lo[j], (-x) * hi[j]);
        }
        if (L->encl) {
            s -= a->E[i][o];
            t -= a->E[i][o];
        }
        olo[o] = s;
        ohi[o] = -t;
    }
}

/* ------------------------------------------------------------------------ */
/* Back-substitution                                                          */
/* ------------------------------------------------------------------------ */

/* min over z_i's bounds of lam . z, rounded down (-inf when not finite). */
static double concretise(int n, const double *lam, const double *lo, const double *hi)
{
    double s = 0.0;
    for (int j = 0; j < n; j++) {
        double x = lam[j];
        if (x > 0.0)
            s += x * lo[j];
        else if (x < 0.0)
            s += x * hi[j];
    }
    return isfinite(s) ? s : -INFINITY;
}

/* One activation step of row lam (over z_{i+1}) to z_i, in place; pt
 * (NULL: the layer's lines): the row's tangent points on z_i. */
static double step_act(const bnd_ctx *bc, bnd__act *a, int i, int n, double *lam,
                       const double *lo, const double *pt, double *ra, double *rc)
{
    double c = 0.0;
    const double *al = a->al[i], *cl = a->cl[i], *au = a->au[i], *cu = a->cu[i];
    bool smooth = pt && net_op_smooth(net_layer_at(bc->n, i)->op);
    if (ra)
        for (int j = 0; j < n; j++)
            ra[j] = NAN;
    for (int j = 0; j < n; j++) {
        double x = lam[j];
        if (x == 0.0)
            continue;
        double s = x >= 0.0 ? al[j] : au[j], k = x >= 0.0 ? cl[j] : cu[j];
        if (smooth)
            point_line(bc, a, i, j, x < 0.0, pt[j], &s, &k);
        if (ra) {
            ra[j] = s;
            rc[j] = k;
        }
        double plo = x * s, phi = -((-x) * s);
        double D = -(plo - phi);                   /* >= phi - plo */
        c += x * k;
        if (lo[j] < 0.0)
            c += D * lo[j];
        lam[j] = plo;
    }
    return c;
}

/* One affine step of R rows A (over z_{i+1}, width out) to P (over z_i). */
static void step_affine(bnd_ctx *c, bnd__act *a, int i, int R, double *cst)
{
    const bnd__layer *L = &c->L[i];
    int in = L->in, out = L->out;
    const double *lo = c->lo[i];
    for (int r = 0; r < R; r++) {
        const double *lam = a->A + (size_t)r * (size_t)out;
        double *P = a->P + (size_t)r * (size_t)in, *N = a->N + (size_t)r * (size_t)in;
        memset(P, 0, (size_t)in * sizeof(double));
        memset(N, 0, (size_t)in * sizeof(double));
        double k = 0.0;
        for (int o = 0; o < out; o++) {
            double x = lam[o];
            if (x == 0.0)
                continue;
            k += x * L->b[o];
            if (L->encl)
                k += (-fabs(x)) * a->E[i][o];
            const double *w = L->W + (size_t)o * (size_t)in;
            double nx = -x;
            for (int j = 0; j < in; j++) {
                P[j] += x * w[j];
                N[j] += nx * w[j];
            }
        }
        for (int j = 0; j < in; j++) {
            double D = -(P[j] + N[j]);             /* >= P_hi - P_lo >= 0 */
            if (D != 0.0 && lo[j] < 0.0)
                k += D * lo[j];
        }
        cst[r] += k;
    }
    /* the rows over z_i become the current rows */
    double *t = a->A;
    a->A = a->P;
    a->P = t;
}

/* Lower bounds of R rows a->A over z_s ("target >= A z_s + cst") by
 * back-substitution to the input; concr: also concretise at every layer
 * passed.  coef (NULL or [R * n_in]): the rows over z_0.  Returns false
 * when the run was halted. */
static bool backsub(bnd_ctx *c, bnd__act *a, int s, int R, bool concr, double *lb, double *coef,
                    const double *pts, bool rec)
{
    for (int r = 0; r < R; r++)
        a->best[r] = -INFINITY;
    for (int i = s - 1; i >= 0; i--) {
        if (bnd__halted(c))
            return false;
        int w_out = width(c, i + 1);
        if (concr && i + 1 < s)
            for (int r = 0; r < R; r++) {
                double v = a->cst[r] + concretise(w_out, a->A + (size_t)r * (size_t)w_out,
                                                  c->lo[i + 1], c->hi[i + 1]);
                if (v > a->best[r])
                    a->best[r] = v;
            }
        if (is_act(c, i)) {
            for (int r = 0; r < R; r++)
            {
                size_t o = (size_t)r * (size_t)a->poff[c->nl] + (size_t)a->poff[i];
                a->cst[r] += step_act(c, a, i, w_out, a->A + (size_t)r * (size_t)w_out, c->lo[i],
                                      pts ? pts + o : NULL, rec ? a->ra + o : NULL,
                                      rec ? a->rc + o : NULL);
            }
        } else {
            step_affine(c, a, i, R, a->cst);
        }
    }
    for (int r = 0; r < R; r++) {
        const double *lam = a->A + (size_t)r * (size_t)c->n_in;
        double v = a->cst[r] + concretise(c->n_in, lam, c->lo[0], c->hi[0]);
        if (isnan(v))
            v = -INFINITY;
        lb[r] = fmax(v, a->best[r]);
        if (coef)
            memcpy(coef + (size_t)r * (size_t)c->n_in, lam, (size_t)c->n_in * sizeof(double));
    }
    return true;
}

/* The point x carried up to z_i (i < s) in double, round-to-nearest, into
 * pt [poff[nl]]: affine layers exactly so, an activation neuron through
 * the line the row used there (ra, rc; NaN: none, then f itself), so pt is
 * where the row's relaxed network puts x (a heuristic: only where tangents
 * touch). */
static void forward_point(const bnd_ctx *c, const bnd__act *a, int s, const double *x,
                          double *pt, const double *ra, const double *rc)
{
    memcpy(pt, x, (size_t)c->n_in * sizeof(double));
    for (int i = 0; i + 1 < s; i++) {
        const double *z = pt + a->poff[i];
        double *o = pt + a->poff[i + 1];
        const bnd__layer *L = &c->L[i];
        net_op op = net_layer_at(c->n, i)->op;
        if (!is_act(c, i)) {
            for (int q = 0; q < L->out; q++) {
                const double *w = L->W + (size_t)q * (size_t)L->in;
                double t = L->b[q];
                for (int j = 0; j < L->in; j++)
                    t += w[j] * z[j];
                o[q] = t;
            }
        } else {
            const double *la = ra + a->poff[i], *lc = rc + a->poff[i];
            for (int j = 0; j < L->in; j++)
                o[j] = op != NET_RELU && !isnan(la[j]) ? la[j] * z[j] + lc[j]
                       : op == NET_RELU           ? fmax(z[j], 0.0)
                       : op == NET_SIGMOID ? 1.0 / (1.0 + exp(-z[j]))
                                           : tanh(z[j]);
        }
    }
}

/* backsub, then ACT_REFINE more passes in which each row's tangents touch
 * at z_i(x*), x* the input minimising the previous pass's row over z_0
 * (where CROWN's heuristics put the row's worst case; any tangent point in
 * range gives valid lines, so every pass is a lower bound): the best per
 * row.  Same contract as backsub. */
static bool backsub_refined(bnd_ctx *c, bnd__act *a, int s, int R, bool concr, double *lb,
                            double *coef)
{
    int w = width(c, s), n0 = c->n_in;
    size_t rw = (size_t)R * (size_t)w, rn = (size_t)R * (size_t)n0;
    if (ACT_REFINE > 0) {
        memcpy(a->A0, a->A, rw * sizeof(double));
        memcpy(a->cst0, a->cst, (size_t)R * sizeof(double));
    }
    if (!backsub(c, a, s, R, concr, lb, a->cf, NULL, true))
        return false;
    memcpy(a->cfb, a->cf, rn * sizeof(double));
    for (int it = 0; it < ACT_REFINE; it++) {
        int saved = cn_round_push(FE_TONEAREST);
        size_t np = (size_t)a->poff[c->nl];
        for (int r = 0; r < R; r++) {
            double *pt = a->pt + (size_t)r * np;
            const double *lam = a->cf + (size_t)r * (size_t)n0;
            for (int j = 0; j < n0; j++)
                pt[j] = lam[j] > 0.0   ? c->lo[0][j]
                        : lam[j] < 0.0 ? c->hi[0][j]
                                       : 0.5 * c->lo[0][j] + 0.5 * c->hi[0][j];
            forward_point(c, a, s, pt, pt, a->ra + (size_t)r * np, a->rc + (size_t)r * np);
        }
        cn_round_pop(saved);
        memcpy(a->A, a->A0, rw * sizeof(double));
        memcpy(a->cst, a->cst0, (size_t)R * sizeof(double));
        if (!backsub(c, a, s, R, concr, a->lb1, a->cf, a->pt, true))
            return false;
        for (int r = 0; r < R; r++)
            if (a->lb1[r] > lb[r]) {
                lb[r] = a->lb1[r];
                memcpy(a->cfb + (size_t)r * (size_t)n0, a->cf + (size_t)r * (size_t)n0,
                       (size_t)n0 * sizeof(double));
            }
    }
    if (coef)
        memcpy(coef, a->cfb, rn * sizeof(double));
    return true;
}

/* Linear bounds of z_s (the input of activation layer s, s >= 1),
 * intersected with its interval bounds.  Returns false when halted. */
static bool linear_layer(bnd_ctx *c, bnd__act *a, int s, bool concr)
{
    int w = width(c, s);
    double lb[ACT_CHUNK];
    for (int j0 = 0; j0 < w; j0 += ACT_CHUNK / 2) {
        int nj = w - j0 < ACT_CHUNK / 2 ? w - j0 : ACT_CHUNK / 2, R = 2 * nj;
        memset(a->A, 0, (size_t)R * (size_t)w * sizeof(double));
        for (int q = 0; q < nj; q++) {
            a->A[(size_t)(2 * q) * (size_t)w + j0 + q] = 1.0;       /* z_j >= ... */
            a->A[(size_t)(2 * q + 1) * (size_t)w + j0 + q] = -1.0;  /* -z_j >= ... */
            a->cst[2 * q] = a->cst[2 * q + 1] = 0.0;
        }
        if (!backsub_refined(c, a, s, R, concr, lb, NULL))
            return false;
        for (int q = 0; q < nj; q++) {
            int j = j0 + q;
            if (lb[2 * q] > c->lo[s][j])
                c->lo[s][j] = lb[2 * q];
            if (-lb[2 * q + 1] < c->hi[s][j])
                c->hi[s][j] = -lb[2 * q + 1];
        }
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* The driver                                                                 */
/* ------------------------------------------------------------------------ */

/* Activation layer i: clip by splits (ReLU) or restrictions (sigmoid /
 * tanh, bnd_region.act_lo / act_hi; *soff: the layer's first smooth
 * neuron), set lines and interval bounds of its output.  Returns false when
 * the splits or restrictions make the region empty. */
static bool act_layer(bnd_ctx *c, bnd__act *a, const bnd_opts *o, int i, int *roff,
                      int *soff, int *unstable)
{
    net_op op = net_layer_at(c->n, i)->op;
    int n = c->L[i].in;
    double *lo = c->lo[i], *hi = c->hi[i];
    bool ok = true;
    for (int j = 0; j < n; j++) {
        if (op == NET_RELU) {
            signed char sp = a->split ? a->split[*roff + j] : 0;
            if (sp > 0 && lo[j] < 0.0)
                lo[j] = 0.0;
            if (sp < 0 && hi[j] > 0.0)
                hi[j] = 0.0;
            if (lo[j] > hi[j])
                ok = false;
            relu_lines(o->slope, lo[j], hi[j], &a->al[i][j], &a->cl[i][j], &a->au[i][j],
                       &a->cu[i][j], unstable);
            c->lo[i + 1][j] = lo[j] > 0.0 ? lo[j] : 0.0;
            c->hi[i + 1][j] = hi[j] > 0.0 ? hi[j] : 0.0;
        } else {
            if (a->alo) { /* the restriction: a subset of X's pre-activations */
                double rl = a->alo[*soff + j], rh = a->ahi[*soff + j];
                if (rl > lo[j])
                    lo[j] = rl;
                if (rh < hi[j])
                    hi[j] = rh;
                if (lo[j] > hi[j]) {
                    ok = false;
                    break;
                }
            }
            smooth_lines(op, lo[j], hi[j], &a->al[i][j], &a->cl[i][j], &a->au[i][j],
                         &a->cu[i][j], &a->flh[i][j], &a->fud[i][j], &a->tl[i][j], &a->tu[i][j]);
            for (int g = 0; g < 2 * (ACT_GRID + 1); g++)
                a->gk[i][(size_t)j * 2 * (ACT_GRID + 1) + (size_t)g] = NAN;
            c->lo[i + 1][j] = f_round(op, lo[j], MPFR_RNDD);
            c->hi[i + 1][j] = f_round(op, hi[j], MPFR_RNDU);
        }
    }
    if (op == NET_RELU)
        *roff += n;
    else
        *soff += n;
    return ok;
}

static bool finite_layer(const bnd_ctx *c, int i)
{
    for (int j = 0; j < width(c, i); j++)
        if (!isfinite(c->lo[i][j]) || !isfinite(c->hi[i][j]))
            return false;
    return true;
}

static void report_nothing(bnd_ctx *c, int m, double *lb)
{
    for (int r = 0; r < m; r++)
        lb[r] = -INFINITY;
    for (int i = 0; i <= c->nl; i++)
        for (int j = 0; j < width(c, i); j++) {
            c->lo[i][j] = -INFINITY;
            c->hi[i][j] = INFINITY;
        }
}

/* Query rows C y + d: interval bound, and the linear one for linear
 * methods; the better of the two. */
static bool query_rows(bnd_ctx *c, bnd__act *a, bool linear, bool concr, int m, const double *C,
                       const double *d, double *lb)
{
    int saved = cn_round_push(FE_UPWARD);
    bnd__ibp_rows(c, m, C, d, lb);
    cn_round_pop(saved);
    if (!linear)
        return true;
    int w = c->n_out;
    double lr[ACT_CHUNK];
    for (int r0 = 0; r0 < m; r0 += ACT_CHUNK) {
        int R = m - r0 < ACT_CHUNK ? m - r0 : ACT_CHUNK;
        memcpy(a->A, C + (size_t)r0 * (size_t)w, (size_t)R * (size_t)w * sizeof(double));
        for (int r = 0; r < R; r++)
            a->cst[r] = d ? d[r0 + r] : 0.0;
        if (!backsub_refined(c, a, c->nl, R, concr, lr, c->coef + (size_t)r0 * (size_t)c->n_in))
            return false;
        for (int r = 0; r < R; r++)
            if (lr[r] > lb[r0 + r])
                lb[r0 + r] = lr[r];
    }
    c->coef_m = m;
    return true;
}

cn_status bnd__act_run(bnd_ctx *c, const bnd_opts *o, const bnd_region *rg, int m,
                       const double *C, const double *d, double *lb, bnd_result *res,
                       cn_err *err)
{
    bnd__act *a = c->act;
    if (bnd__ensure_rows(c, m, err) != CN_OK)
        return err ? err->status : CN_ENOMEM;
    bool linear = o->method != BND_INTERVAL;
    bool concr = linear;                /* DeepPoly's best-of for every linear method */
    bnd_result rs = {.infeasible = false, .unstable = 0, .n_relus = c->n_relus};
    c->run_o = o;
    c->halted = false;
    c->infeasible = false;
    c->coef_m = 0;
    c->last_ok = false;
    a->split = rg->split;
    a->alo = rg->act_lo && rg->act_hi ? rg->act_lo : NULL;
    a->ahi = a->alo ? rg->act_hi : NULL;
    int saved = cn_round_push(FE_DOWNWARD);
    memcpy(c->lo[0], rg->lo, (size_t)c->n_in * sizeof(double));
    memcpy(c->hi[0], rg->hi, (size_t)c->n_in * sizeof(double));
    bool ok = true, feasible = true, halted = false;
    for (int j = 0; j < c->n_in; j++)
        if (rg->lo[j] > rg->hi[j])
            feasible = false;
    int roff = 0, soff = 0;
    for (int i = 0; i < c->nl && feasible && ok; i++) {
        if (bnd__halted(c)) {
            halted = true;
            break;
        }
        if (!finite_layer(c, i)) {
            ok = false;
            break;
        }
        if (!is_act(c, i)) {
            ibp_affine(c, a, i);
            continue;
        }
        if (linear && i > 0 && !linear_layer(c, a, i, concr)) {
            halted = true;
            break;
        }
        feasible = act_layer(c, a, o, i, &roff, &soff, &rs.unstable);
    }
    if (!halted && ok && feasible && !finite_layer(c, c->nl))
        ok = false;
    if (!halted && ok && feasible) {
        if (!query_rows(c, a, linear, concr, m, C, d, lb))
            halted = true;
    }
    cn_round_pop(saved);
    c->run_o = NULL;
    if (halted) {
        report_nothing(c, m, lb);
        c->coef_m = 0;
        rs.stopped = true;
    } else if (!feasible) {
        for (int r = 0; r < m; r++)
            lb[r] = INFINITY;
        rs.infeasible = true;
        c->infeasible = true;
    } else if (!ok) {
        for (int r = 0; r < m; r++)
            lb[r] = -INFINITY;
        for (int i = 0; i <= c->nl; i++)
            if (!finite_layer(c, i))
                for (int k = i; k <= c->nl; k++)
                    for (int j = 0; j < width(c, k); j++) {
                        c->lo[k][j] = -INFINITY;
                        c->hi[k][j] = INFINITY;
                    }
    }
    if (res)
        *res = rs;
    return CN_OK;
}

void bnd_thread_exit(void) { mpfr_free_cache2(MPFR_FREE_LOCAL_CACHE); }

/* relax.c — the checker's bounds: interval propagation and CROWN
 * back-substitution over a box with fixed ReLU phases, every operation
 * rounded downward (certs.h, section 3, explains why each step is sound).
 *
 * Notation: z_0 = x, z_{k+1} = L_k(z_k).  lo[k], hi[k] bound z_k.  For a
 * ReLU layer k, lo[k]/hi[k] are its input (pre-activation) bounds after the
 * splits, and st/ua/uc its relaxation.  A lower-bound computation keeps
 * "target >= lam . z_k + c" with c rounded down.  Everything between
 * cn_round_push(FE_DOWNWARD) and cn_round_pop runs downward; an upper bound
 * is computed as -(lower bound of the negation).
 *
 * Enclosures (models.h, net_layer: wrel, wabs, brad).  When a layer's W, b
 * only enclose the file's values, the exact layer is z_{k+1} = W z_k + b + e
 * with, for m_j = max(|lo_j|, |hi_j|) over z_k,
 *     |e_o| <= E_o = wrel (|W| m)_o + wabs sum_j m_j + brad_o.
 * ne[o] <= -E_o is computed downward (sums of non-positive terms), and
 * every affine step adds it: the interval of z_{k+1}[o] becomes
 * [lo + ne_o, hi - ne_o], a row's constant lam . b gets sum |lam_o| ne_o
 * (lam . e >= -|lam| . E), and a starting row +-W_o gets ne_o.  The bounds
 * then hold for every network of the enclosure.
 *
 * Speed (issue 24), without changing a bit of any result: linear_affine
 * back-substitutes its rows blk at a time (backsub_rows: the loops
 * reordered, each row's operations and their order kept), and an affine
 * layer's interval bounds are reused while its input bounds recur bit for
 * bit (ibp_affine; the regions of ReLU splits share their box).  Also
 * bit for bit, in a context that takes blocks (cert__bounds_set_block > 1;
 * one row at a time is the reference the tests compare with): back_relu
 * walks per-region lists of the zero and unstable inputs (prep_relu)
 * instead of branching on each entry's state or sign (selects on the
 * bits, select_bits; so does the compaction of a row's non-zero
 * entries in back_affine_rows), and under an affine layer
 * leaves the zero inputs' entries, which back_affine_rows does not read
 * (it walks the ReLU's other inputs); back_affine_rows forms no -P_hi sums
 * over inputs that are all >= 0 (every layer after a ReLU: -P_hi only
 * enters the rounding terms, which are 0 there) and adds four rows'
 * constants side by side; a single row (cert_bounds_row, a claim) takes
 * backsub_rows too; ibp_affine sums four outputs side by side.
 */
#include "config.h"

#include <fenv.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "certs/certs_int.h"

enum { ST_ZERO = 0, ST_ID = 1, ST_UNSTABLE = 2 };

typedef struct {
    bool relu;
    bool smooth;              /* sigmoid/tanh (relax_act.c): lines lw z + lc <= f <= ua z + uc */
    net_op op;
    const net_layer *pool;    /* max pooling (relax_pool.c), else NULL */
    int *parg, *pwin;         /* pool: [out] chosen inputs, [kh*kw] scratch */
    bool *pdec;               /* pool: [out] decided windows */
    double *plam;             /* pool: [out] the row over the outputs */
    int in, out;
    const double *W, *b;      /* affine: [out*in] row-major, [out] */
    double *W_own, *b_own;    /* a convolution's dense unrolling */
    net_conv_map *cm;         /* a convolution's taps (back_affine), else NULL */
    const double *cf;         /* conv: the filters [cout * fan] */
    int chw;                  /* conv: output positions oh*ow */
    int roff;                 /* relu: global index of its first neuron */
    int soff;                 /* smooth: global index of its first neuron (layer order) */
    signed char *st;          /* relu: [in] ST_* */
    int *izero, *iunst, *ilive; /* relu: [in] the j with st ZERO, UNSTABLE, not ZERO */
    int nzero, nunst, nlive;  /*   (increasing j; set with st by prep_relu)       */
    double *alpha;            /* relu: [in] lower slope (0 or 1) */
    double *ua, *uc;          /* relu: [in] upper line ua z + uc (unstable); smooth too */
    double *lw, *lc;          /* smooth: [in] lower line lw z + lc */
    double *lcache;           /* smooth: [in * CERT_LINE_CACHE] lines at other points */
    bool encl;                /* affine with a nonzero enclosure radius */
    double wrel, wabs;
    const double *brad;       /* [out] or NULL (the net's, or brad_own) */
    double *brad_own;         /* conv: brad[cout] per output */
    double *ne;               /* encl: [out] <= -E_o for the current region */
    /* affine: ibp_affine's last input bounds (lo, hi: [2*in]) and what it
     * computed from them (lo, hi, ne: [3*out]), reused while they recur
     * bit for bit (ReLU splits of one box share z_0's box); ibp_ok: set. */
    bool ibp_ok;
    double *ibp_in, *ibp_out;
} layer;

struct cert_bounds {
    const net *n;
    bool smooth;              /* the network has sigmoid/tanh layers: backsub also
                                 concretises at every layer it passes */
    int nl, n_in, n_out, maxw;
    int n_smooth;             /* sigmoid/tanh neurons */
    layer *L;                 /* [nl] */
    double **lo, **hi;        /* [nl+1][width of z_k] */
    double *lam, *plo, *nhi;  /* [maxw] row workspaces */
    bool ok;                  /* the last region was CERT_REGION_OK */
    /* During cert_bounds_row_ab only (NULL otherwise): the slopes q of every
     * ReLU (slope q / CERT_ALPHA_DEN) and the multipliers beta (dense over
     * the ReLUs, 0 where none) of the split constraints in split. */
    const unsigned char *aq;
    const double *bd;
    const signed char *bsplit;
    double *bdense;           /* [n_relus] */
    int n_relus;
    double **rlo, **rhi;      /* [nl] known bounds of ReLU layers' inputs (or NULL) */
    /* Tangent points per row (backsub_points; smooth networks): offset of
     * z_k in pt, ra, rc [poff[nl]]; the row's points (pts: pt during a
     * pass that uses them, else NULL) and the lines it used at each smooth
     * neuron (ra NaN: none); lam0 [maxw] the row as given. */
    int *poff;
    double *pt, *ra, *rc, *lam0;
    const double *pts;
    /* linear_affine's rows back-substituted together (backsub_rows): at most
     * blk rows (1: one at a time, backsub), blam/bplo/bnhi [blk * maxw]
     * their rows and back_affine's sums. */
    int blk;
    bool lazy;                /* back_relu leaves the zero inputs (backsub_rows) */
    double *blam, *bplo, *bnhi;
    int *bnz, bnn[CERT_BLOCK_MAX];    /* [blk * maxw]: each row's o with lam_o != 0 */
};

static int width(const cert_bounds *b, int k) { return k == 0 ? b->n_in : b->L[k - 1].out; }

void cert_bounds_free(cert_bounds *b)
{
    if (!b)
        return;
    for (int k = 0; b->L && k < b->nl; k++) {
        cn_free(b->L[k].W_own);
        cn_free(b->L[k].b_own);
        net_conv_map_clear(b->L[k].cm);
        cn_free(b->L[k].cm);
        cn_free(b->L[k].st);
        cn_free(b->L[k].izero);
        cn_free(b->L[k].iunst);
        cn_free(b->L[k].ilive);
        cn_free(b->L[k].alpha);
        cn_free(b->L[k].ua);
        cn_free(b->L[k].uc);
        cn_free(b->L[k].lw);
        cn_free(b->L[k].lc);
        cn_free(b->L[k].lcache);
        cn_free(b->L[k].brad_own);
        cn_free(b->L[k].ne);
        cn_free(b->L[k].ibp_in);
        cn_free(b->L[k].ibp_out);
        cn_free(b->L[k].parg);
        cn_free(b->L[k].pwin);
        cn_free(b->L[k].pdec);
        cn_free(b->L[k].plam);
    }
    for (int k = 0; k <= b->nl; k++) {
        if (b->lo)
            cn_free(b->lo[k]);
        if (b->hi)
            cn_free(b->hi[k]);
    }
    cn_free(b->lo);
    cn_free(b->hi);
    cn_free(b->L);
    cn_free(b->lam);
    cn_free(b->plo);
    cn_free(b->nhi);
    cn_free(b->bdense);
    for (int k = 0; k < b->nl; k++) {
        if (b->rlo)
            cn_free(b->rlo[k]);
        if (b->rhi)
            cn_free(b->rhi[k]);
    }
    cn_free(b->rlo);
    cn_free(b->rhi);
    cn_free(b->poff);
    cn_free(b->pt);
    cn_free(b->ra);
    cn_free(b->rc);
    cn_free(b->lam0);
    cn_free(b->blam);
    cn_free(b->bplo);
    cn_free(b->bnhi);
    cn_free(b->bnz);
    cn_free(b);
}

/* The dense matrix of a convolution (models.h, net_conv_dense): each entry
 * is a weight or 0 (exact); and its taps (net_conv_map), over which
 * back_affine forms its products. */
static bool unroll(const net_layer *nl, layer *l)
{
    if (net_conv_dense(nl, &l->W_own, &l->b_own, NULL) != CN_OK)
        return false;
    l->W = l->W_own;
    l->b = l->b_own;
    if (!(l->cm = cn_calloc(1, sizeof *l->cm)) || net_conv_map_init(l->cm, nl, NULL) != CN_OK)
        return false;
    l->cf = nl->W;
    l->chw = nl->out_shape.h * nl->out_shape.w;
    return true;
}

/* The enclosure of an affine layer, if its radius is not zero. */
static bool enclosure(const net_layer *nl, layer *l)
{
    if (!net_layer_has_radius(nl))
        return true;
    l->encl = true;
    l->wrel = nl->wrel;
    l->wabs = nl->wabs;
    if (!(l->ne = cn_mallocarray((size_t)l->out, sizeof(double))))
        return false;
    if (nl->brad && nl->op == NET_CONV) {
        if (!(l->brad_own = cn_mallocarray((size_t)l->out, sizeof(double))))
            return false;
        for (int o = 0; o < l->out; o++)
            l->brad_own[o] = net_layer_brad(nl, o);
        l->brad = l->brad_own;
    } else {
        l->brad = nl->brad;
    }
    return true;
}

cert_bounds *cert_bounds_new(const net *n, cn_err *err)
{
    CN_REQUIRE(n, "a network");
    if (net_n_smooth(n) > 0 && net_has_maxpool(n)) { /* relax_act.c knows no pooling */
        cn_fail(err, CN_EUNSUPPORTED, "checker: sigmoid/tanh layers together with max pooling "
                                      "are not supported");
        return NULL;
    }
    cert_bounds *b = cn_calloc(1, sizeof *b);
    if (!b)
        goto nomem;
    b->n = n;
    b->smooth = net_n_smooth(n) > 0;
    b->nl = net_n_layers(n);
    b->n_in = net_in_size(n);
    b->n_out = net_out_size(n);
    b->maxw = net_max_width(n);
    if (b->nl == 0) {
        cert_bounds_free(b);
        cn_fail(err, CN_EINVAL, "checker: the network has no layers");
        return NULL;
    }
    b->L = cn_calloc((size_t)b->nl, sizeof *b->L);
    b->lo = cn_calloc((size_t)b->nl + 1, sizeof(double *));
    b->hi = cn_calloc((size_t)b->nl + 1, sizeof(double *));
    b->lam = cn_mallocarray((size_t)b->maxw, sizeof(double));
    b->plo = cn_mallocarray((size_t)b->maxw, sizeof(double));
    b->nhi = cn_mallocarray((size_t)b->maxw, sizeof(double));
    if (!b->L || !b->lo || !b->hi || !b->lam || !b->plo || !b->nhi)
        goto nomem;
    int roff = 0, soff = 0;
    for (int k = 0; k < b->nl; k++) {
        const net_layer *nl = net_layer_at(n, k);
        layer *l = &b->L[k];
        l->in = nl->in;
        l->out = nl->out;
        l->op = nl->op;
        if (net_op_smooth(nl->op)) {
            size_t w = (size_t)l->in;
            l->smooth = true;
            l->soff = soff;
            soff += l->in;
            l->ua = cn_mallocarray(w, sizeof(double));
            l->uc = cn_mallocarray(w, sizeof(double));
            l->lw = cn_mallocarray(w, sizeof(double));
            l->lc = cn_mallocarray(w, sizeof(double));
            l->lcache = cn_mallocarray(w * CERT_LINE_CACHE, sizeof(double));
            if (!l->ua || !l->uc || !l->lw || !l->lc || !l->lcache)
                goto nomem;
        } else if (nl->op == NET_RELU) {
            size_t w = (size_t)l->in;
            l->relu = true;
            l->roff = roff;
            roff += l->in;
            l->st = cn_mallocarray(w, 1);
            l->alpha = cn_mallocarray(w, sizeof(double));
            l->ua = cn_mallocarray(w, sizeof(double));
            l->uc = cn_mallocarray(w, sizeof(double));
            l->izero = cn_mallocarray(w, sizeof(int));
            l->iunst = cn_mallocarray(w, sizeof(int));
            l->ilive = cn_mallocarray(w, sizeof(int));
            if (!l->st || !l->alpha || !l->ua || !l->uc || !l->izero || !l->iunst || !l->ilive)
                goto nomem;
        } else if (nl->op == NET_MAXPOOL) {
            l->pool = nl;
            l->parg = cn_mallocarray((size_t)l->out, sizeof(int));
            l->pwin = cn_mallocarray((size_t)nl->kh * (size_t)nl->kw, sizeof(int));
            l->pdec = cn_mallocarray((size_t)l->out, sizeof(bool));
            l->plam = cn_mallocarray((size_t)l->out, sizeof(double));
            if (!l->parg || !l->pwin || !l->pdec || !l->plam)
                goto nomem;
        } else {
            if (nl->op == NET_CONV) {
                if (!unroll(nl, l))
                    goto nomem;
            } else {
                l->W = nl->W;
                l->b = nl->b;
            }
            if (!enclosure(nl, l))
                goto nomem;
            l->ibp_in = cn_mallocarray(2 * (size_t)l->in, sizeof(double));
            l->ibp_out = cn_mallocarray(3 * (size_t)l->out, sizeof(double));
            if (!l->ibp_in || !l->ibp_out)
                goto nomem;
        }
    }
    b->n_relus = roff;
    b->n_smooth = soff;
    if (!(b->bdense = cn_calloc((size_t)(roff ? roff : 1), sizeof(double))))
        goto nomem;
    b->rlo = cn_calloc((size_t)b->nl, sizeof(double *));
    b->rhi = cn_calloc((size_t)b->nl, sizeof(double *));
    if (!b->rlo || !b->rhi)
        goto nomem;
    for (int k = 0; k < b->nl; k++)
        if (b->L[k].relu) {
            b->rlo[k] = cn_mallocarray((size_t)b->L[k].in, sizeof(double));
            b->rhi[k] = cn_mallocarray((size_t)b->L[k].in, sizeof(double));
            if (!b->rlo[k] || !b->rhi[k])
                goto nomem;
        }
    cert_bounds_ref_reset(b);
    if (b->smooth) {
        if (!(b->poff = cn_calloc((size_t)b->nl + 1, sizeof(int))))
            goto nomem;
        for (int k = 0; k < b->nl; k++)
            b->poff[k + 1] = b->poff[k] + width(b, k);
        size_t np = (size_t)b->poff[b->nl];
        b->pt = cn_mallocarray(np, sizeof(double));
        b->ra = cn_mallocarray(np, sizeof(double));
        b->rc = cn_mallocarray(np, sizeof(double));
        b->lam0 = cn_mallocarray((size_t)b->maxw, sizeof(double));
        if (!b->pt || !b->ra || !b->rc || !b->lam0)
            goto nomem;
    }
    if (!b->smooth && cert__bounds_set_block(b, CERT_BLOCK_ROWS) != CN_OK)
        goto nomem;
    for (int k = 0; k <= b->nl; k++) {
        b->lo[k] = cn_mallocarray((size_t)width(b, k), sizeof(double));
        b->hi[k] = cn_mallocarray((size_t)width(b, k), sizeof(double));
        if (!b->lo[k] || !b->hi[k])
            goto nomem;
    }
    return b;
nomem:
    cert_bounds_free(b);
    cn_fail(err, CN_ENOMEM, "checker: out of memory for the bounds of a network");
    return NULL;
}

/* ---- the three steps of a back-substitution (rounding downward) -------- */

/* lam over z_{k+1} = W z_k + b  ->  lam over z_k; returns the constant added
 * (lam . b plus the rounding term of the new lam).  A convolution's row o
 * is added over its taps only: the products the dense row would add besides
 * are v * 0 = 0 (lam is finite here), so P_lo and -P_hi are the same sums,
 * in the same order of o. */
static double back_affine(cert_bounds *b, int k, double *lam)
{
    const layer *l = &b->L[k];
    double *plo = b->plo, *nhi = b->nhi, c = 0.0;
    const double *zl = b->lo[k];
    for (int j = 0; j < l->in; j++)
        plo[j] = nhi[j] = 0.0;
    for (int o = 0; o < l->out; o++) {
        double v = lam[o], nv = -v;
        if (v == 0.0)
            continue;
        c += v * l->b[o];
        if (l->encl)
            c += fabs(v) * l->ne[o];  /* lam_o e_o >= -|lam_o| E_o */
        if (l->cm) {
            const int fan = l->cm->fan, p = o % l->chw;
            const double *f = l->cf + (size_t)(o / l->chw) * (size_t)fan;
            const net_tap *tp = l->cm->tap + (size_t)p * (size_t)fan;
            for (int t = 0; t < l->cm->n[p]; t++) {
                int j = tp[t].in;
                double w = f[tp[t].w];
                plo[j] += v * w;
                nhi[j] += nv * w;
            }
            continue;
        }
        const double *w = l->W + (size_t)o * (size_t)l->in;
        for (int j = 0; j < l->in; j++) {
            plo[j] += v * w[j];       /* P_lo <= (lam W)_j            */
            nhi[j] += nv * w[j];      /* -P_hi <= -(lam W)_j          */
        }
    }
    for (int j = 0; j < l->in; j++) {
        double d = -(plo[j] + nhi[j]); /* >= P_hi - P_lo >= 0 */
        if (zl[j] < 0.0)
            c += d * zl[j];            /* min over z of (lam W - P_lo)_j z_j */
        lam[j] = plo[j];
    }
    return c;
}

/* lam_j is replaced by p, a rounded-down value of the exact e: the
 * constant's part of (e - p) z_j over z_j >= zl, given nh <= -e (both
 * computed downward): d = -(p + nh) >= e - p >= 0, and min (e - p) z_j >=
 * d min(zl, 0). */
static double rounding_term(double p, double nh, double zl)
{
    double d = -(p + nh);
    return zl < 0.0 ? d * zl : 0.0;
}

/* The split multipliers of ReLU layer k (cert_bounds_row_ab): the row gets
 * -beta s z_j for each split s z_j >= 0 of the region (beta >= 0, so the
 * term is <= 0 there and the bound stays a lower bound). */
static double back_beta(cert_bounds *b, int k, double *lam)
{
    const layer *l = &b->L[k];
    const double *zl = b->lo[k];
    double c = 0.0;
    for (int j = 0; j < l->in; j++) {
        double bt = b->bd[l->roff + j];
        if (bt == 0.0)
            continue;
        double sb = b->bsplit[l->roff + j] > 0 ? bt : -bt; /* s beta: exact */
        double v = lam[j];
        double p = v + (-sb);               /* <= v - s beta */
        c += rounding_term(p, (-v) + sb, zl[j]);
        lam[j] = p;
    }
    return c;
}

/* k ? a : b on the bits (the compiler would make a branch of the select). */
static inline double select_bits(bool k, double a, double b)
{
    uint64_t ua, ub, m = -(uint64_t)k;
    memcpy(&ua, &a, sizeof ua);
    memcpy(&ub, &b, sizeof ub);
    ua = (ua & m) | (ub & ~m);
    memcpy(&a, &ua, sizeof ua);
    return a;
}

/* back_relu's step at an unstable ReLU input j (v = lam_j != 0): the lower
 * slope where v >= 0, the upper line where v < 0; returns the constant c
 * with its terms added one by one (in that order). */
static inline double relu_unstable(const cert_bounds *b, const layer *l, int j, double v,
                                   double zl, double *lam, double c)
{
    if (v >= 0.0 && b->aq && b->aq[l->roff + j] != CERT_ALPHA_DEFAULT) {
        /* a stored slope q / CERT_ALPHA_DEN in [0, 1] (exact) */
        double a = (double)b->aq[l->roff + j] / CERT_ALPHA_DEN;
        double p = v * a;                       /* p_lo <= v a */
        c += rounding_term(p, (-v) * a, zl);
        *lam = p;
    } else if (v >= 0.0) {
        *lam = v * l->alpha[j];                 /* 0 or v: exact */
    } else if (v < 0.0) {
        double p = v * l->ua[j];                /* p_lo <= v a */
        c += v * l->uc[j];
        c += rounding_term(p, (-v) * l->ua[j], zl);
        *lam = p;
    } else {
        *lam = NAN;                             /* NaN stays NaN */
    }
    return c;
}

/* lam over z_{k+1} = relu(z_k)  ->  lam over z_k; returns the constant.
 * The lists of prep_relu: an entry at an identity input is kept, one at a
 * zero input becomes 0 (unless it is a zero already: its sign is kept, as
 * back_relu_ref's skip keeps it), and the unstable inputs take
 * relu_unstable in increasing j, so the constant gets the same terms in the
 * same order as back_relu_ref's (which adds nothing at the others): the
 * same bits, without a branch per entry on its state.  b->lazy (set by
 * backsub_rows only): the zero inputs are left as they are, the caller
 * reading the row at ilive only (their entries are 0 on the reference's
 * row; back_beta is never lazy). */
static double back_relu(cert_bounds *b, int k, double *lam)
{
    const layer *l = &b->L[k];
    const double *zl = b->lo[k];
    double c = 0.0;
    for (int t = 0; t < l->nzero && !b->lazy; t++) {
        /* lam_j != 0 ? +0 : lam_j (NaN -> +0 too), on the bits, as the
         * compiler would make a branch of the select: u << 1 is 0 only for
         * +-0, and the mask keeps those bits or clears them all */
        const int j = l->izero[t];
        uint64_t u;
        memcpy(&u, &lam[j], sizeof u);
        u &= -(uint64_t)((u << 1) == 0);
        memcpy(&lam[j], &u, sizeof u);
    }
    for (int t = 0; t < l->nunst && b->aq; t++) {
        const int j = l->iunst[t];
        const double v = lam[j];
        if (v != 0.0)
            c = relu_unstable(b, l, j, v, zl[j], &lam[j], c);
    }
    for (int t = 0; t < l->nunst && !b->aq; t++) {
        /* relu_unstable without stored slopes, both sides formed and the
         * one of v's sign selected (no branch on the sign): v < 0 gives
         * relu_unstable's p and c; v >= 0 (+-0 included: v * alpha is then
         * +-0 with v's sign, as lam_j was) v alpha and c unchanged; NaN NaN
         * and c unchanged.  The terms added, and their order, are its. */
        const int j = l->iunst[t];
        const double v = lam[j], a = l->ua[j];
        const double p = v * a;                 /* p_lo <= v a */
        double cn = c + v * l->uc[j];
        cn += -(p + (-v) * a) * zl[j];          /* rounding_term: zl_j < 0 (unstable) */
        const double q = v * l->alpha[j];       /* 0 or v: exact */
        c = select_bits(v < 0.0, cn, c);
        lam[j] = select_bits(v < 0.0, p, select_bits(v >= 0.0, q, NAN));
    }
    if (b->bd)
        c += back_beta(b, k, lam);
    return c;
}

/* back_relu one entry at a time (the reference: a context of one row at a
 * time, cert__bounds_set_block(b, 1), takes it). */
static double back_relu_ref(cert_bounds *b, int k, double *lam)
{
    const layer *l = &b->L[k];
    const double *zl = b->lo[k];
    double c = 0.0;
    for (int j = 0; j < l->in; j++) {
        double v = lam[j];
        if (v == 0.0 || l->st[j] == ST_ID)
            continue;
        if (l->st[j] == ST_ZERO)
            lam[j] = 0.0;
        else if (v >= 0.0 && b->aq && b->aq[l->roff + j] != CERT_ALPHA_DEFAULT) {
            /* a stored slope q / CERT_ALPHA_DEN in [0, 1] (exact) */
            double a = (double)b->aq[l->roff + j] / CERT_ALPHA_DEN;
            double p = v * a;                   /* p_lo <= v a */
            c += rounding_term(p, (-v) * a, zl[j]);
            lam[j] = p;
        } else if (v >= 0.0)
            lam[j] = v * l->alpha[j];          /* 0 or v: exact */
        else if (v < 0.0) {
            double p = v * l->ua[j];            /* p_lo <= v a */
            c += v * l->uc[j];
            c += rounding_term(p, (-v) * l->ua[j], zl[j]);
            lam[j] = p;
        } else {
            lam[j] = NAN;                       /* NaN stays NaN */
        }
    }
    if (b->bd)
        c += back_beta(b, k, lam);
    return c;
}

/* lam over z_{k+1} = f(z_k), f sigmoid or tanh  ->  lam over z_k, with the
 * lower line where lam_j >= 0 and the upper line where lam_j < 0. */
static double back_smooth(cert_bounds *b, int k, double *lam)
{
    const layer *l = &b->L[k];
    const double *zl = b->lo[k];
    double *ra = b->poff ? b->ra + b->poff[k] : NULL, *rc = b->poff ? b->rc + b->poff[k] : NULL;
    const double *pt = b->pts ? b->pts + b->poff[k] : NULL;
    double c = 0.0;
    for (int j = 0; j < l->in; j++) {
        double v = lam[j];
        if (ra)
            ra[j] = NAN;
        if (v == 0.0)
            continue;
        if (!(v == v)) {
            lam[j] = NAN;
            continue;
        }
        double a = v >= 0.0 ? l->lw[j] : l->ua[j], k0 = v >= 0.0 ? l->lc[j] : l->uc[j];
        if (pt)                                 /* the row's own tangent point */
            (void)cert__smooth_line_at(l->op, zl[j], b->hi[k][j], pt[j], v < 0.0,
                                       l->lcache + (size_t)j * CERT_LINE_CACHE, &a, &k0);
        if (ra) {
            ra[j] = a;
            rc[j] = k0;
        }
        double p = v * a;                       /* p_lo <= v a */
        c += v * k0;
        c += rounding_term(p, (-v) * a, zl[j]);
        lam[j] = p;
    }
    return c;
}

/* min over the input box of lam . x, plus c. */
static double concretise(const cert_bounds *b, const double *lam, double c)
{
    const double *lo = b->lo[0], *hi = b->hi[0];
    const double *hl[2] = {hi, lo};     /* an index, not a branch */
    for (int j = 0; j < b->n_in; j++)
        c += lam[j] * hl[lam[j] >= 0.0][j];
    return c;
}

/* lam over z_{k+1} = maxpool(z_k)  ->  lam over z_k (relax_pool.c). */
static double back_pool(cert_bounds *b, int k, double *lam)
{
    const layer *l = &b->L[k];
    memcpy(l->plam, lam, (size_t)l->out * sizeof(double));
    return cert__pool_back(l->pool, l->parg, l->pdec, b->hi[k + 1], b->lo[k], l->plam, b->plo,
                           b->nhi, lam);
}

/* Whether c and lam[0..n) are all finite (0 * x is NaN for x infinite or
 * NaN, else +-0: four sums so that they do not wait on one another). */
static bool finite_row(double c, const double *lam, int n)
{
    double s0 = c, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    int j = 0;
    for (; j + 4 <= n; j += 4) {
        s0 += 0.0 * lam[j];
        s1 += 0.0 * lam[j + 1];
        s2 += 0.0 * lam[j + 2];
        s3 += 0.0 * lam[j + 3];
    }
    for (; j < n; j++)
        s0 += 0.0 * lam[j];
    return isfinite(s0 + s1 + s2 + s3);
}

/* finite_row over lam[ix[0..n)] only. */
static bool finite_at(double c, const double *lam, const int *ix, int n)
{
    double s0 = c, s1 = 0.0;
    int t = 0;
    for (; t + 2 <= n; t += 2) {
        s0 += 0.0 * lam[ix[t]];
        s1 += 0.0 * lam[ix[t + 1]];
    }
    for (; t < n; t++)
        s0 += 0.0 * lam[ix[t]];
    return isfinite(s0 + s1);
}

/* Lower bound of lam . z_s + c over the region (lam is overwritten); NaN
 * when a row or constant stops being finite (overflow): the invariant is
 * only kept for real numbers. */
static double backsub(cert_bounds *b, int s, double *lam, double c)
{
    double best = -INFINITY;
    for (int k = s - 1; k >= 0; k--) {
        c += b->L[k].relu     ? (b->blk > 1 ? back_relu(b, k, lam) : back_relu_ref(b, k, lam))
             : b->L[k].smooth ? back_smooth(b, k, lam)
             : b->L[k].pool   ? back_pool(b, k, lam)
                              : back_affine(b, k, lam);
        if (!finite_row(c, lam, width(b, k)))
            return NAN;
        if (b->smooth && k >= 1) {
            /* sigmoid/tanh networks: also "target >= lam . z_k + c" over
             * z_k's own bounds (DeepPoly), each a lower bound; the best */
            double v = c;
            for (int j = 0; j < width(b, k); j++)
                v += lam[j] >= 0.0 ? lam[j] * b->lo[k][j] : lam[j] * b->hi[k][j];
            if (v > best)
                best = v;
        }
    }
    double v = concretise(b, lam, c);
    return v > best || v != v ? v : best;
}

/* ---- several rows together (linear_affine) ------------------------------
 *
 * backsub_rows does for each of nr rows what backsub does for one (on a
 * network without sigmoid/tanh layers), with the same operations in the
 * same order on each row's own numbers: only the loops are nested
 * differently (in back_affine_rows: a few columns j of W outside, the
 * block's rows inside them, the sum over o innermost, kept in registers),
 * so that W is read from memory once per block rather than once per row.
 * Every value is therefore bit for bit backsub's, and so is the rounding
 * argument per row (certs.h, section 3). */

/* back_affine on the rows lam[0..nr): cc[r] gets the constant back_affine
 * would return for row r.  A dense layer's sums P_lo, -P_hi are formed
 * CERT_TILE inputs j at a time in registers, over the row's non-zero lam_o
 * in increasing o (back_affine's order: it skips lam_o = 0 too), W's tile
 * of columns staying in cache for the block's rows. */
enum { CERT_TILE = 16 };

/* On x86-64 with GCC or Clang, sums8 and sums4 are also compiled for AVX2
 * and picked at run time: the same IEEE multiplications and additions in
 * the same order, each rounded by the same mode (MXCSR), only four to a
 * register instead of two (no fused multiply-add: AVX2 does not imply FMA,
 * and C11 mode does not contract). */
#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__x86_64__) && defined(__GNUC__) && defined(__has_attribute) &&                   \
    !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__) &&                        \
    !__has_feature(address_sanitizer) && !__has_feature(thread_sanitizer)
/* (not under the sanitizers: the run-time choice is an ifunc, whose resolver
 * runs before a sanitizer's runtime is up in a static binary) */
#if __has_attribute(target_clones)
#define CERT_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#endif
#ifndef CERT_CLONES
#define CERT_CLONES
#endif

/* P_lo and -P_hi of columns W[.][0..8) (sums8; sums16: 16, sums4: 4, ...) of a
 * dense layer, over the row's non-zero entries lr[nz[i]], in increasing o,
 * into plo, nhi.  The sums are named variables so that they stay in
 * registers. */
CERT_CLONES static void sums8(const double *lr, const int *nz, int m, const double *W, size_t in,
                  double *plo, double *nhi)
{
    double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0, a4 = 0.0, a5 = 0.0, a6 = 0.0, a7 = 0.0;
    double n0 = 0.0, n1 = 0.0, n2 = 0.0, n3 = 0.0, n4 = 0.0, n5 = 0.0, n6 = 0.0, n7 = 0.0;
    for (int i = 0; i < m; i++) {
        const double v = lr[nz[i]], nv = -v, *w = W + (size_t)nz[i] * in;
        a0 += v * w[0];                 /* P_lo <= (lam W)_j   */
        a1 += v * w[1];
        a2 += v * w[2];
        a3 += v * w[3];
        a4 += v * w[4];
        a5 += v * w[5];
        a6 += v * w[6];
        a7 += v * w[7];
        n0 += nv * w[0];                /* -P_hi <= -(lam W)_j */
        n1 += nv * w[1];
        n2 += nv * w[2];
        n3 += nv * w[3];
        n4 += nv * w[4];
        n5 += nv * w[5];
        n6 += nv * w[6];
        n7 += nv * w[7];
    }
    plo[0] = a0, plo[1] = a1, plo[2] = a2, plo[3] = a3;
    plo[4] = a4, plo[5] = a5, plo[6] = a6, plo[7] = a7;
    nhi[0] = n0, nhi[1] = n1, nhi[2] = n2, nhi[3] = n3;
    nhi[4] = n4, nhi[5] = n5, nhi[6] = n6, nhi[7] = n7;
}

CERT_CLONES static void sums4(const double *lr, const int *nz, int m, const double *W, size_t in,
                  double *plo, double *nhi)
{
    double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0, n0 = 0.0, n1 = 0.0, n2 = 0.0, n3 = 0.0;
    for (int i = 0; i < m; i++) {
        const double v = lr[nz[i]], nv = -v, *w = W + (size_t)nz[i] * in;
        a0 += v * w[0];
        a1 += v * w[1];
        a2 += v * w[2];
        a3 += v * w[3];
        n0 += nv * w[0];
        n1 += nv * w[1];
        n2 += nv * w[2];
        n3 += nv * w[3];
    }
    plo[0] = a0, plo[1] = a1, plo[2] = a2, plo[3] = a3;
    nhi[0] = n0, nhi[1] = n1, nhi[2] = n2, nhi[3] = n3;
}

CERT_CLONES static void sums16(const double *lr, const int *nz, int m, const double *W, size_t in,
                                 double *plo, double *nhi)
{
    double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0, a4 = 0.0, a5 = 0.0, a6 = 0.0, a7 = 0.0;
    double a8 = 0.0, a9 = 0.0, a10 = 0.0, a11 = 0.0, a12 = 0.0, a13 = 0.0, a14 = 0.0, a15 = 0.0;
    double n0 = 0.0, n1 = 0.0, n2 = 0.0, n3 = 0.0, n4 = 0.0, n5 = 0.0, n6 = 0.0, n7 = 0.0;
    double n8 = 0.0, n9 = 0.0, n10 = 0.0, n11 = 0.0, n12 = 0.0, n13 = 0.0, n14 = 0.0, n15 = 0.0;
    for (int i = 0; i < m; i++) {
        const double v = lr[nz[i]], nv = -v, *w = W + (size_t)nz[i] * in;
        a0 += v * w[0];
        a1 += v * w[1];
        a2 += v * w[2];
        a3 += v * w[3];
        a4 += v * w[4];
        a5 += v * w[5];
        a6 += v * w[6];
        a7 += v * w[7];
        a8 += v * w[8];
        a9 += v * w[9];
        a10 += v * w[10];
        a11 += v * w[11];
        a12 += v * w[12];
        a13 += v * w[13];
        a14 += v * w[14];
        a15 += v * w[15];
        n0 += nv * w[0];
        n1 += nv * w[1];
        n2 += nv * w[2];
        n3 += nv * w[3];
        n4 += nv * w[4];
        n5 += nv * w[5];
        n6 += nv * w[6];
        n7 += nv * w[7];
        n8 += nv * w[8];
        n9 += nv * w[9];
        n10 += nv * w[10];
        n11 += nv * w[11];
        n12 += nv * w[12];
        n13 += nv * w[13];
        n14 += nv * w[14];
        n15 += nv * w[15];
    }
    plo[0] = a0, plo[1] = a1, plo[2] = a2, plo[3] = a3;
    plo[4] = a4, plo[5] = a5, plo[6] = a6, plo[7] = a7;
    plo[8] = a8, plo[9] = a9, plo[10] = a10, plo[11] = a11;
    plo[12] = a12, plo[13] = a13, plo[14] = a14, plo[15] = a15;
    nhi[0] = n0, nhi[1] = n1, nhi[2] = n2, nhi[3] = n3;
    nhi[4] = n4, nhi[5] = n5, nhi[6] = n6, nhi[7] = n7;
    nhi[8] = n8, nhi[9] = n9, nhi[10] = n10, nhi[11] = n11;
    nhi[12] = n12, nhi[13] = n13, nhi[14] = n14, nhi[15] = n15;
}

static void sums2(const double *lr, const int *nz, int m, const double *W, size_t in,
                  double *plo, double *nhi)
{
    double a0 = 0.0, a1 = 0.0, n0 = 0.0, n1 = 0.0;
    for (int i = 0; i < m; i++) {
        const double v = lr[nz[i]], nv = -v, *w = W + (size_t)nz[i] * in;
        a0 += v * w[0];
        a1 += v * w[1];
        n0 += nv * w[0];
        n1 += nv * w[1];
    }
    plo[0] = a0, plo[1] = a1;
    nhi[0] = n0, nhi[1] = n1;
}

static void sums1(const double *lr, const int *nz, int m, const double *W, size_t in,
                  double *plo, double *nhi)
{
    double a0 = 0.0, n0 = 0.0;
    for (int i = 0; i < m; i++) {
        const double v = lr[nz[i]], w = W[(size_t)nz[i] * in];
        a0 += v * w;
        n0 += (-v) * w;
    }
    *plo = a0;
    *nhi = n0;
}

/* sums16, sums8, sums4 with P_lo only (plo), for a layer whose inputs are
 * all >= 0, where back_affine_rows needs no -P_hi (no rounding term: the
 * same P_lo bits, half the products). */
CERT_CLONES static void sums16lo(const double *lr, const int *nz, int m, const double *W,
                                 size_t in, double *plo)
{
    double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0, a4 = 0.0, a5 = 0.0, a6 = 0.0, a7 = 0.0;
    double a8 = 0.0, a9 = 0.0, a10 = 0.0, a11 = 0.0, a12 = 0.0, a13 = 0.0, a14 = 0.0, a15 = 0.0;
    for (int i = 0; i < m; i++) {
        const double v = lr[nz[i]], *w = W + (size_t)nz[i] * in;
        a0 += v * w[0];
        a1 += v * w[1];
        a2 += v * w[2];
        a3 += v * w[3];
        a4 += v * w[4];
        a5 += v * w[5];
        a6 += v * w[6];
        a7 += v * w[7];
        a8 += v * w[8];
        a9 += v * w[9];
        a10 += v * w[10];
        a11 += v * w[11];
        a12 += v * w[12];
        a13 += v * w[13];
        a14 += v * w[14];
        a15 += v * w[15];
    }
    plo[0] = a0, plo[1] = a1, plo[2] = a2, plo[3] = a3;
    plo[4] = a4, plo[5] = a5, plo[6] = a6, plo[7] = a7;
    plo[8] = a8, plo[9] = a9, plo[10] = a10, plo[11] = a11;
    plo[12] = a12, plo[13] = a13, plo[14] = a14, plo[15] = a15;
}

CERT_CLONES static void sums8lo(const double *lr, const int *nz, int m, const double *W,
                                size_t in, double *plo)
{
    double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0, a4 = 0.0, a5 = 0.0, a6 = 0.0, a7 = 0.0;
    for (int i = 0; i < m; i++) {
        const double v = lr[nz[i]], *w = W + (size_t)nz[i] * in;
        a0 += v * w[0];
        a1 += v * w[1];
        a2 += v * w[2];
        a3 += v * w[3];
        a4 += v * w[4];
        a5 += v * w[5];
        a6 += v * w[6];
        a7 += v * w[7];
    }
    plo[0] = a0, plo[1] = a1, plo[2] = a2, plo[3] = a3;
    plo[4] = a4, plo[5] = a5, plo[6] = a6, plo[7] = a7;
}

CERT_CLONES static void sums4lo(const double *lr, const int *nz, int m, const double *W,
                                size_t in, double *plo)
{
    double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
    for (int i = 0; i < m; i++) {
        const double v = lr[nz[i]], *w = W + (size_t)nz[i] * in;
        a0 += v * w[0];
        a1 += v * w[1];
        a2 += v * w[2];
        a3 += v * w[3];
    }
    plo[0] = a0, plo[1] = a1, plo[2] = a2, plo[3] = a3;
}

/* A row's constant over layer l: c plus lam_o b_o (plus |lam_o| ne_o), in
 * that order (back_affine's). */
static inline double const_term(const layer *l, double v, int o, double c)
{
    c += v * l->b[o];
    if (l->encl)
        c += fabs(v) * l->ne[o];        /* lam_o e_o >= -|lam_o| E_o */
    return c;
}

/* The constants of four rows lam[0..4) (non-zero entries nz + q * mw,
 * m[q] of them): each row's terms in its own order, the four chains of
 * additions side by side. */
static void row_consts4(const layer *l, double *const *lam, const int *nz, size_t mw,
                        const int *m, double *cc)
{
    const int *z0 = nz, *z1 = nz + mw, *z2 = nz + 2 * mw, *z3 = nz + 3 * mw;
    int mm = m[0];
    for (int q = 1; q < 4; q++)
        mm = m[q] < mm ? m[q] : mm;
    double c0 = 0.0, c1 = 0.0, c2 = 0.0, c3 = 0.0;
    int i = 0;
    for (; i < mm; i++) {
        c0 = const_term(l, lam[0][z0[i]], z0[i], c0);
        c1 = const_term(l, lam[1][z1[i]], z1[i], c1);
        c2 = const_term(l, lam[2][z2[i]], z2[i], c2);
        c3 = const_term(l, lam[3][z3[i]], z3[i], c3);
    }
    for (int j = i; j < m[0]; j++)
        c0 = const_term(l, lam[0][z0[j]], z0[j], c0);
    for (int j = i; j < m[1]; j++)
        c1 = const_term(l, lam[1][z1[j]], z1[j], c1);
    for (int j = i; j < m[2]; j++)
        c2 = const_term(l, lam[2][z2[j]], z2[j], c2);
    for (int j = i; j < m[3]; j++)
        c3 = const_term(l, lam[3][z3[j]], z3[j], c3);
    cc[0] = c0, cc[1] = c1, cc[2] = c2, cc[3] = c3;
}

static void back_affine_rows(cert_bounds *b, int s, int k, int nr, double *const *lam,
                             double *cc)
{
    const layer *l = &b->L[k];
    const double *zl = b->lo[k];
    const size_t mw = (size_t)b->maxw, in = (size_t)l->in;
    /* Where the rows came through ReLU layer k + 1 (back_relu, no split
     * multipliers), an entry at one of its zero inputs is +-0: the o that
     * can hold a non-zero are its other inputs (ilive, increasing). */
    const bool live = k + 1 < s && b->L[k + 1].relu && !b->bd;
    const int *ol = live ? b->L[k + 1].ilive : NULL, nol = live ? b->L[k + 1].nlive : l->out;
    for (int r = 0; r < nr; r++) {
        /* lam_o != 0 (NaN too) on the bits: u << 1 is 0 only for +-0 */
        int *nz = b->bnz + (size_t)r * mw, m = 0;
        const double *lr = lam[r];
        uint64_t u;
        if (ol) {
            for (int t = 0; t < nol; t++) {
                const int o = ol[t];
                memcpy(&u, &lr[o], sizeof u);
                nz[m] = o;
                m += (u << 1) != 0;     /* not a branch */
            }
        } else {
            for (int o = 0; o < nol; o++) {
                memcpy(&u, &lr[o], sizeof u);
                nz[m] = o;
                m += (u << 1) != 0;
            }
        }
        b->bnn[r] = m;
    }
    int r4 = 0;
    for (; r4 + 4 <= nr; r4 += 4)
        row_consts4(l, lam + r4, b->bnz + (size_t)r4 * mw, mw, b->bnn + r4, cc + r4);
    for (int r = r4; r < nr; r++) {
        const int *nz = b->bnz + (size_t)r * mw, m = b->bnn[r];
        double c = 0.0;
        for (int i = 0; i < m; i++)
            c = const_term(l, lam[r][nz[i]], nz[i], c);
        cc[r] = c;
    }
    for (int r = 0; r < nr && l->cm; r++) {
        double *plo = b->bplo + (size_t)r * mw, *nhi = b->bnhi + (size_t)r * mw;
        const int *nz = b->bnz + (size_t)r * mw, m = b->bnn[r];
        for (int j = 0; j < l->in; j++)
            plo[j] = nhi[j] = 0.0;
        for (int i = 0; i < m; i++) {
            const int o = nz[i], fan = l->cm->fan, p = o % l->chw;
            const double v = lam[r][o], nv = -v;
            const double *f = l->cf + (size_t)(o / l->chw) * (size_t)fan;
            const net_tap *tp = l->cm->tap + (size_t)p * (size_t)fan;
            for (int t = 0; t < l->cm->n[p]; t++) {
                int j = tp[t].in;
                double w = f[tp[t].w];
                plo[j] += v * w;
                nhi[j] += nv * w;
            }
        }
    }
    bool neg = false;                   /* z_k >= 0 (after a ReLU): no rounding terms */
    for (int j = 0; j < l->in; j++)
        neg |= zl[j] < 0.0;
    if (!l->cm) {
        for (size_t j0 = 0; j0 < in; j0 += CERT_TILE) {
            const size_t nt = in - j0 < CERT_TILE ? in - j0 : CERT_TILE;
            const double *W = l->W + j0;
            for (int r = 0; r < nr; r++) {
                const int *nz = b->bnz + (size_t)r * mw, m = b->bnn[r];
                const double *lr = lam[r];
                double *plo = b->bplo + (size_t)r * mw + j0, *nhi = b->bnhi + (size_t)r * mw + j0;
                if (nt == CERT_TILE) {
                    if (neg)
                        sums16(lr, nz, m, W, in, plo, nhi);
                    else
                        sums16lo(lr, nz, m, W, in, plo);
                    continue;
                }
                size_t t = 0;
                if (nt - t >= 8) {
                    if (neg)
                        sums8(lr, nz, m, W, in, plo, nhi);
                    else
                        sums8lo(lr, nz, m, W, in, plo);
                    t += 8;
                }
                if (nt - t >= 4) {
                    if (neg)
                        sums4(lr, nz, m, W + t, in, plo + t, nhi + t);
                    else
                        sums4lo(lr, nz, m, W + t, in, plo + t);
                    t += 4;
                }
                if (nt - t >= 2) {
                    sums2(lr, nz, m, W + t, in, plo + t, nhi + t);
                    t += 2;
                }
                if (nt - t >= 1)
                    sums1(lr, nz, m, W + t, in, plo + t, nhi + t);
            }
        }
    }
    for (int r = 0; r < nr; r++) {
        const double *plo = b->bplo + (size_t)r * mw, *nhi = b->bnhi + (size_t)r * mw;
        double c = cc[r];
        if (!neg) {
            memcpy(lam[r], plo, in * sizeof(double));
            continue;
        }
        for (int j = 0; j < l->in; j++) {
            double d = -(plo[j] + nhi[j]);
            if (zl[j] < 0.0)
                c += d * zl[j];
            lam[r][j] = plo[j];
        }
        cc[r] = c;
    }
}

/* backsub on nr <= blk rows: v[r] the lower bound of lam[r] . z_s + c[r]
 * (lam[r] and c[r] are overwritten), NaN where backsub's would be. */
static void backsub_rows(cert_bounds *b, int s, int nr, double *const *lam, double *c,
                         double *v)
{
    double *row[CERT_BLOCK_MAX], cc[CERT_BLOCK_MAX];
    int at[CERT_BLOCK_MAX], na = 0;     /* the rows still finite, in order */
    for (int r = 0; r < nr; r++) {
        row[na] = lam[r];
        at[na++] = r;
    }
    for (int k = s - 1; k >= 0 && na > 0; k--) {
        /* A ReLU layer under an affine one, without split multipliers: its
         * zero inputs' entries are not cleared (back_relu, b->lazy) and not
         * read: the finiteness test and back_affine_rows read its other
         * inputs only, and back_affine_rows then writes the whole row. */
        const layer *l = &b->L[k];
        const bool lazy = l->relu && !b->bd && k >= 1 && !b->L[k - 1].relu &&
                          !b->L[k - 1].smooth && !b->L[k - 1].pool;
        if (l->relu || l->pool) {
            b->lazy = lazy;
            for (int i = 0; i < na; i++)
                c[at[i]] += l->relu ? back_relu(b, k, row[i]) : back_pool(b, k, row[i]);
            b->lazy = false;
        } else {
            back_affine_rows(b, s, k, na, row, cc);
            for (int i = 0; i < na; i++)
                c[at[i]] += cc[i];
        }
        int keep = 0;
        for (int i = 0; i < na; i++) {
            if (lazy ? !finite_at(c[at[i]], row[i], l->ilive, l->nlive)
                     : !finite_row(c[at[i]], row[i], width(b, k))) {
                v[at[i]] = NAN;
                continue;
            }
            row[keep] = row[i];
            at[keep++] = at[i];
        }
        na = keep;
    }
    for (int i = 0; i < na; i++)
        v[at[i]] = concretise(b, row[i], c[at[i]]);
}

/* backsub of one row, by backsub_rows where the context takes blocks (the
 * same bits either way; backsub_rows has the faster steps). */
static double backsub_one(cert_bounds *b, int s, double *lam, double c)
{
    if (b->blk == 1)
        return backsub(b, s, lam, c);
    double v;
    backsub_rows(b, s, 1, &lam, &c, &v);
    return v;
}

cn_status cert__bounds_set_block(cert_bounds *b, int rows)
{
    CN_REQUIRE(b && rows >= 1 && rows <= CERT_BLOCK_MAX, "a block of 1 to CERT_BLOCK_MAX rows");
    if (b->smooth || rows == 1) {
        b->blk = 1;
        return CN_OK;
    }
    size_t n = (size_t)rows * (size_t)b->maxw;
    double *l = cn_reallocarray(b->blam, n, sizeof(double));
    if (l)
        b->blam = l;
    double *p = l ? cn_reallocarray(b->bplo, n, sizeof(double)) : NULL;
    if (p)
        b->bplo = p;
    double *q = p ? cn_reallocarray(b->bnhi, n, sizeof(double)) : NULL;
    if (q)
        b->bnhi = q;
    int *z = q ? cn_reallocarray(b->bnz, n, sizeof(int)) : NULL;
    if (z)
        b->bnz = z;
    if (!z) {
        b->blk = 1;                     /* buffers may be shorter now: unused */
        return CN_ENOMEM;
    }
    b->blk = rows;
    return CN_OK;
}

/* Smooth networks: backsub, then two more passes in which the row's
 * tangents touch where its relaxed network puts x* (the input corner
 * minimising the previous pass's row over z_0, carried up through the
 * lines that pass used; cert__smooth_line_at): each pass is a lower
 * bound for the lines it used, the best is returned.  Same contract as
 * backsub; lam ends over z_0 of the last pass. */
static double backsub_points(cert_bounds *b, int s, double *lam, double c)
{
    if (!b->smooth)
        return backsub_one(b, s, lam, c);
    int ws = width(b, s);
    memcpy(b->lam0, lam, (size_t)ws * sizeof(double));
    b->pts = NULL;
    double best = backsub(b, s, lam, c);
    for (int it = 0; it < 2; it++) {
        int saved = cn_round_push(FE_TONEAREST);
        double *z = b->pt;
        for (int j = 0; j < b->n_in; j++)
            z[j] = lam[j] > 0.0   ? b->lo[0][j]
                   : lam[j] < 0.0 ? b->hi[0][j]
                                  : 0.5 * b->lo[0][j] + 0.5 * b->hi[0][j];
        for (int k = 0; k + 1 < s; k++) {
            const layer *l = &b->L[k];
            const double *zi = b->pt + b->poff[k];
            double *zo = b->pt + b->poff[k + 1];
            if (l->smooth) {
                const double *ra = b->ra + b->poff[k], *rc = b->rc + b->poff[k];
                for (int j = 0; j < l->in; j++)
                    zo[j] = ra[j] == ra[j]           ? ra[j] * zi[j] + rc[j]
                            : l->op == NET_SIGMOID ? 1.0 / (1.0 + exp(-zi[j]))
                                                   : tanh(zi[j]);
            } else if (l->relu) {
                for (int j = 0; j < l->in; j++)
                    zo[j] = zi[j] > 0.0 ? zi[j] : 0.0;
            } else {
                for (int o = 0; o < l->out; o++) {
                    const double *w = l->W + (size_t)o * (size_t)l->in;
                    double t = l->b[o];
                    for (int j = 0; j < l->in; j++)
                        t += w[j] * zi[j];
                    zo[o] = t;
                }
            }
        }
        cn_round_pop(saved);
        memcpy(lam, b->lam0, (size_t)ws * sizeof(double));
        b->pts = b->pt;
        double v = backsub(b, s, lam, c);
        b->pts = NULL;
        if (v > best || best != best)
            best = v;
    }
    return best;
}

/* ---- forward pass ----------------------------------------------------- */

/* ne[o] <= -E_o over the bounds of z_k (rounding downward). */
static void enclosure_ne(cert_bounds *b, int k)
{
    layer *l = &b->L[k];
    const double *lo = b->lo[k], *hi = b->hi[k];
    double nsm = 0.0;                   /* <= -sum m */
    for (int j = 0; j < l->in; j++)
        nsm += -fmax(fabs(lo[j]), fabs(hi[j]));
    const double nws = l->wabs * nsm;
    for (int o = 0; o < l->out; o++) {
        const double *w = l->W + (size_t)o * (size_t)l->in;
        double na = 0.0;                /* <= -(|W| m)_o */
        for (int j = 0; j < l->in; j++)
            na += -fabs(w[j]) * fmax(fabs(lo[j]), fabs(hi[j]));
        double ne = l->wrel * na;
        ne += nws;
        if (l->brad)
            ne += -l->brad[o];
        l->ne[o] = ne;
    }
}

/* Interval bounds of z_{k+1} = W z_k + b (+ e). */
static void ibp_affine(cert_bounds *b, int k)
{
    layer *l = &b->L[k];
    const double *lo = b->lo[k], *hi = b->hi[k];
    const size_t in = (size_t)l->in * sizeof(double), out = (size_t)l->out * sizeof(double);
    if (l->ibp_ok && !memcmp(lo, l->ibp_in, in) && !memcmp(hi, l->ibp_in + l->in, in)) {
        memcpy(b->lo[k + 1], l->ibp_out, out);  /* the same box: the same bits */
        memcpy(b->hi[k + 1], l->ibp_out + l->out, out);
        if (l->encl)
            memcpy(l->ne, l->ibp_out + 2 * l->out, out);
        return;
    }
    if (l->encl)
        enclosure_ne(b, k);
    const double *hl[2] = {hi, lo};     /* indices, not branches */
    int o = 0;
    /* Four outputs at a time where the context takes blocks: each output's
     * two sums keep their terms and order, the four outputs' chains of
     * additions only run side by side (a context of one row at a time
     * keeps one output at a time: the reference). */
    for (; b->blk > 1 && o + 4 <= l->out; o += 4) {
        const double *w0 = l->W + (size_t)o * (size_t)l->in, *w1 = w0 + l->in,
                     *w2 = w1 + l->in, *w3 = w2 + l->in;
        double s0 = l->b[o], s1 = l->b[o + 1], s2 = l->b[o + 2], s3 = l->b[o + 3];
        double n0 = -l->b[o], n1 = -l->b[o + 1], n2 = -l->b[o + 2], n3 = -l->b[o + 3];
        for (int j = 0; j < l->in; j++) {
            double v0 = w0[j], v1 = w1[j], v2 = w2[j], v3 = w3[j];
            s0 += v0 * hl[v0 >= 0.0][j];
            s1 += v1 * hl[v1 >= 0.0][j];
            s2 += v2 * hl[v2 >= 0.0][j];
            s3 += v3 * hl[v3 >= 0.0][j];
            v0 = -v0, v1 = -v1, v2 = -v2, v3 = -v3;
            n0 += v0 * hl[v0 >= 0.0][j];
            n1 += v1 * hl[v1 >= 0.0][j];
            n2 += v2 * hl[v2 >= 0.0][j];
            n3 += v3 * hl[v3 >= 0.0][j];
        }
        double sv[4] = {s0, s1, s2, s3}, nv[4] = {n0, n1, n2, n3};
        for (int i = 0; i < 4; i++) {
            if (l->encl) {
                sv[i] += l->ne[o + i];
                nv[i] += l->ne[o + i];
            }
            b->lo[k + 1][o + i] = sv[i];
            b->hi[k + 1][o + i] = -nv[i];
        }
    }
    for (; o < l->out; o++) {
        const double *w = l->W + (size_t)o * (size_t)l->in;
        double s = l->b[o], ns = -l->b[o];
        for (int j = 0; j < l->in; j++) {
            double v = w[j], nv = -w[j];
            s += v * hl[v >= 0.0][j];
            ns += nv * hl[nv >= 0.0][j];
        }
        if (l->encl) {
            s += l->ne[o];
            ns += l->ne[o];
        }
        b->lo[k + 1][o] = s;
        b->hi[k + 1][o] = -ns;
    }
    memcpy(l->ibp_in, lo, in);
    memcpy(l->ibp_in + l->in, hi, in);
    memcpy(l->ibp_out, b->lo[k + 1], out);
    memcpy(l->ibp_out + l->out, b->hi[k + 1], out);
    if (l->encl)
        memcpy(l->ibp_out + 2 * l->out, l->ne, out);
    l->ibp_ok = true;
}

/* linear_affine with its rows back-substituted blk at a time
 * (backsub_rows): the rows of one layer are independent (a row over z_k
 * reads the bounds of z_0..z_k only, and linear_affine writes z_{k+1}'s),
 * so the same rows give the same bounds, applied in the same order. */
static void linear_affine_rows(cert_bounds *b, int k)
{
    const layer *l = &b->L[k];
    bool next_relu = b->L[k + 1].relu;
    double *lo = b->lo[k + 1], *hi = b->hi[k + 1];
    double *lam[CERT_BLOCK_MAX], c[CERT_BLOCK_MAX], v[CERT_BLOCK_MAX];
    int ro[CERT_BLOCK_MAX], nr = 0;
    for (int r = 0; r < b->blk; r++)
        lam[r] = b->blam + (size_t)r * (size_t)b->maxw;
    for (int o = 0; o <= l->out; o++) {
        if (o < l->out && next_relu && !(lo[o] < 0.0 && hi[o] > 0.0))
            continue;
        if (nr > b->blk - 2 || (o == l->out && nr > 0)) {
            backsub_rows(b, k, nr, lam, c, v);
            for (int r = 0; r < nr; r++) {   /* the rows +W_o, -W_o, in order */
                int q = ro[r] / 2;
                if (ro[r] % 2 == 0 && v[r] > lo[q])
                    lo[q] = v[r];
                if (ro[r] % 2 == 1 && -v[r] < hi[q])
                    hi[q] = -v[r];
            }
            nr = 0;
        }
        if (o == l->out)
            break;
        const double *w = l->W + (size_t)o * (size_t)l->in;
        for (int sgn = 1; sgn >= -1; sgn -= 2) {
            for (int j = 0; j < l->in; j++)
                lam[nr][j] = sgn * w[j];
            c[nr] = sgn * l->b[o];
            if (l->encl)
                c[nr] += l->ne[o];          /* +-e_o >= -E_o */
            ro[nr++] = 2 * o + (sgn < 0);
        }
    }
}

/* Tightens z_{k+1} (affine layer k >= 1) by back-substitution: every
 * neuron when the next layer is affine, else those the intervals leave
 * unstable (a stable ReLU input needs nothing better). */
static void linear_affine(cert_bounds *b, int k)
{
    const layer *l = &b->L[k];
    bool next_relu = b->L[k + 1].relu;
    if (b->L[k + 1].pool)
        return;                         /* the pool's own intervals suffice */
    double *lo = b->lo[k + 1], *hi = b->hi[k + 1];
    if (b->blk > 1) {
        linear_affine_rows(b, k);
        return;
    }
    for (int o = 0; o < l->out; o++) {
        if (next_relu && !(lo[o] < 0.0 && hi[o] > 0.0))
            continue;
        const double *w = l->W + (size_t)o * (size_t)l->in;
        for (int sgn = 1; sgn >= -1; sgn -= 2) {
            for (int j = 0; j < l->in; j++)
                b->lam[j] = sgn * w[j];
            double c0 = sgn * l->b[o];
            if (l->encl)
                c0 += l->ne[o];             /* +-e_o >= -E_o */
            double v = backsub_points(b, k, b->lam, c0);
            if (sgn > 0 && v > lo[o])
                lo[o] = v;
            if (sgn < 0 && -v < hi[o])
                hi[o] = -v;
        }
    }
}

/* Applies the splits to ReLU layer k's input bounds and sets its
 * relaxation.  Returns EMPTY when a split contradicts the bounds, BLOWN
 * when a bound is not finite. */
static cert_region prep_relu(cert_bounds *b, int k, const signed char *split)
{
    layer *l = &b->L[k];
    double *lo = b->lo[k], *hi = b->hi[k];
    bool blown = false, empty = false;
    for (int j = 0; j < l->in; j++) { /* re-proved claims (cert_bounds_ref_set) */
        if (b->rlo[k][j] > lo[j])
            lo[j] = b->rlo[k][j];
        if (b->rhi[k][j] < hi[j])
            hi[j] = b->rhi[k][j];
    }
    for (int j = 0; j < l->in; j++) {
        signed char s = split ? split[l->roff + j] : 0;
        if (s > 0 && lo[j] < 0.0)
            lo[j] = 0.0;
        if (s < 0 && hi[j] > 0.0)
            hi[j] = 0.0;
        if (lo[j] > hi[j])
            empty = true;
        if (!(lo[j] > -INFINITY && hi[j] < INFINITY))
            blown = true;
    }
    if (empty)
        return CERT_REGION_EMPTY;
    if (blown)
        return CERT_REGION_BLOWN;
    l->nzero = l->nunst = l->nlive = 0;
    for (int j = 0; j < l->in; j++) {
        double lj = lo[j], uj = hi[j];
        if (uj <= 0.0) {
            l->st[j] = ST_ZERO;
            l->izero[l->nzero++] = j;
        } else if (lj >= 0.0) {
            l->st[j] = ST_ID;
            l->ilive[l->nlive++] = j;
        } else {
            l->st[j] = ST_UNSTABLE;
            l->iunst[l->nunst++] = j;
            l->ilive[l->nlive++] = j;
            double a = uj / (uj - lj);
            double c1 = -(a * lj);           /* >= -a l */
            double c2 = -(a * uj - uj);      /* >= u - a u */
            l->ua[j] = a;
            l->uc[j] = c1 > c2 ? c1 : c2;
            l->alpha[j] = uj >= -lj ? 1.0 : 0.0;
        }
    }
    return CERT_REGION_OK;
}

static bool finite_layer(const cert_bounds *b, int k)
{
    for (int j = 0; j < width(b, k); j++)
        if (!(b->lo[k][j] > -INFINITY && b->hi[k][j] < INFINITY))
            return false;
    return true;
}

/* A smooth layer's input bounds intersected with the region's restrictions
 * (alo/ahi over the smooth neurons, NULL: none); EMPTY when one becomes
 * empty. */
static cert_region restrict_smooth(cert_bounds *b, int k, const double *alo, const double *ahi)
{
    layer *l = &b->L[k];
    if (!alo || !ahi)
        return CERT_REGION_OK;
    double *lo = b->lo[k], *hi = b->hi[k];
    for (int j = 0; j < l->in; j++) {
        double rl = alo[l->soff + j], rh = ahi[l->soff + j];
        if (rl > lo[j])
            lo[j] = rl;
        if (rh < hi[j])
            hi[j] = rh;
        if (lo[j] > hi[j])
            return CERT_REGION_EMPTY;
    }
    return CERT_REGION_OK;
}

int cert_bounds_n_smooth(const cert_bounds *b) { return b->n_smooth; }

cert_region cert_bounds_region(cert_bounds *b, const double *lo, const double *hi,
                               const signed char *split)
{
    return cert_bounds_region_act(b, lo, hi, split, NULL, NULL);
}

cert_region cert_bounds_region_act(cert_bounds *b, const double *lo, const double *hi,
                                   const signed char *split, const double *alo,
                                   const double *ahi)
{
    CN_REQUIRE(b && lo && hi, "bounds context and box");
    b->ok = false;
    memcpy(b->lo[0], lo, sizeof(double) * (size_t)b->n_in);
    memcpy(b->hi[0], hi, sizeof(double) * (size_t)b->n_in);
    for (int j = 0; j < b->n_in; j++)
        if (lo[j] > hi[j])
            return CERT_REGION_EMPTY;
    if (!finite_layer(b, 0))
        return CERT_REGION_BLOWN;
    cert_region r = CERT_REGION_OK;
    int saved = cn_round_push(FE_DOWNWARD);
    for (int k = 0; k < b->nl && r == CERT_REGION_OK; k++) {
        if (b->L[k].relu) {
            if ((r = prep_relu(b, k, split)) != CERT_REGION_OK)
                break;
            for (int j = 0; j < b->L[k].in; j++) {
                b->lo[k + 1][j] = b->lo[k][j] > 0.0 ? b->lo[k][j] : 0.0;
                b->hi[k + 1][j] = b->hi[k][j] > 0.0 ? b->hi[k][j] : 0.0;
            }
        } else if (b->L[k].smooth) {
            layer *l = &b->L[k];
            if ((r = restrict_smooth(b, k, alo, ahi)) != CERT_REGION_OK)
                break;
            cert__smooth_relax(l->op, l->in, b->lo[k], b->hi[k], b->lo[k + 1], b->hi[k + 1],
                               l->lw, l->lc, l->ua, l->uc);
            for (size_t q = 0; q < (size_t)l->in * CERT_LINE_CACHE; q++)
                l->lcache[q] = NAN;             /* new intervals: no line cached */
        } else if (b->L[k].pool) {
            layer *l = &b->L[k];
            cert__pool_ibp(l->pool, b->lo[k], b->hi[k], b->lo[k + 1], b->hi[k + 1], l->parg,
                           l->pdec, l->pwin);
            if (!finite_layer(b, k + 1))
                r = CERT_REGION_BLOWN;
        } else {
            ibp_affine(b, k);
            if (k >= 1 && k + 1 < b->nl)
                linear_affine(b, k);
            if (!finite_layer(b, k + 1))
                r = CERT_REGION_BLOWN;
        }
    }
    cn_round_pop(saved);
    b->ok = r == CERT_REGION_OK;
    return r;
}

double cert_bounds_row(cert_bounds *b, const double *c)
{
    CN_REQUIRE(b && c && b->ok, "bounds of a non-empty region");
    const double *ylo = b->lo[b->nl], *yhi = b->hi[b->nl];
    int saved = cn_round_push(FE_DOWNWARD);
    double ibp = 0.0;
    for (int j = 0; j < b->n_out; j++) {
        ibp += c[j] >= 0.0 ? c[j] * ylo[j] : c[j] * yhi[j];
        b->lam[j] = c[j];
    }
    double lin = backsub_points(b, b->nl, b->lam, 0.0);
    cn_round_pop(saved);
    if (isnan(lin))
        return ibp;                     /* each is a bound on its own */
    return lin > ibp ? lin : ibp;
}

double cert_bounds_row_ab(cert_bounds *b, const double *c, const cert_par *p,
                          const signed char *split)
{
    CN_REQUIRE(b && c && p && p->kind == CERT_PAR_AB && b->ok, "bounds of a region, parameters");
    CN_REQUIRE(p->n_alpha == 0 || p->n_alpha == b->n_relus, "a slope per ReLU");
    for (int t = 0; t < p->n_beta; t++) {
        int j = p->beta_j[t];
        CN_REQUIRE(j >= 0 && j < b->n_relus && split && split[j] && p->beta[t] >= 0.0 &&
                       p->beta[t] < INFINITY,
                   "multipliers of splits, finite and >= 0");
        b->bdense[j] = p->beta[t];
    }
    b->aq = p->n_alpha ? p->alpha : NULL;
    b->bd = p->n_beta ? b->bdense : NULL;
    b->bsplit = split;
    double lb = cert_bounds_row(b, c);
    b->aq = NULL;
    b->bd = NULL;
    b->bsplit = NULL;
    for (int t = 0; t < p->n_beta; t++)
        b->bdense[p->beta_j[t]] = 0.0;
    return lb;
}

void cert_bounds_ref_reset(cert_bounds *b)
{
    for (int k = 0; k < b->nl; k++)
        for (int j = 0; b->rlo[k] && j < b->L[k].in; j++) {
            b->rlo[k][j] = -INFINITY;
            b->rhi[k][j] = INFINITY;
        }
}

void cert_bounds_ref_set(cert_bounds *b, int li, int neuron, int sgn, double lb)
{
    CN_REQUIRE(b && li >= 0 && li < b->nl && b->L[li].relu && neuron >= 0 &&
                   neuron < b->L[li].in && (sgn == 1 || sgn == -1),
               "a ReLU layer's neuron");
    if (sgn > 0 && lb > b->rlo[li][neuron])
        b->rlo[li][neuron] = lb;
    if (sgn < 0 && -lb < b->rhi[li][neuron])
        b->rhi[li][neuron] = -lb;
}

double cert_bounds_claim(cert_bounds *b, int li, int neuron, int sgn, const unsigned char *q)
{
    CN_REQUIRE(b && b->ok && li >= 1 && li < b->nl && b->L[li].relu && b->L[li - 1].W &&
                   neuron >= 0 && neuron < b->L[li].in &&
                   (sgn == 1 || sgn == -1) && q,
               "a ReLU layer after an affine one, and slopes");
    const layer *l = &b->L[li - 1];
    int saved = cn_round_push(FE_DOWNWARD);
    const double *w = l->W + (size_t)neuron * (size_t)l->in;
    for (int j = 0; j < l->in; j++)
        b->lam[j] = sgn * w[j];
    double c0 = sgn * l->b[neuron];
    if (l->encl)
        c0 += l->ne[neuron];            /* +-e_o >= -E_o */
    b->aq = q;
    double v = backsub_one(b, li - 1, b->lam, c0);
    b->aq = NULL;
    cn_round_pop(saved);
    return v;
}

void cert_bounds_output(const cert_bounds *b, const double **lo, const double **hi)
{
    CN_REQUIRE(b && b->ok, "bounds of a non-empty region");
    *lo = b->lo[b->nl];
    *hi = b->hi[b->nl];
}

const net *cert__bounds_net(const cert_bounds *b) { return b->n; }

void cert_bounds_layer(const cert_bounds *b, int k, const double **lo, const double **hi)
{
    CN_REQUIRE(b && b->ok && k >= 0 && k <= b->nl, "bounds of a non-empty region");
    *lo = b->lo[k];
    *hi = b->hi[k];
}

void cert__bounds_affine(const cert_bounds *b, int k, const double **W, const double **bias,
                         const double **ne)
{
    CN_REQUIRE(k >= 0 && k < b->nl && !b->L[k].relu && !b->L[k].smooth && !b->L[k].pool,
               "an affine layer");
    *W = b->L[k].W;
    *bias = b->L[k].b;
    *ne = b->L[k].encl ? b->L[k].ne : NULL;
}

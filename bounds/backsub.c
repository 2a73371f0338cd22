/* backsub.c — back-substitution of linear bounds through the network, its
 * concretisation, and the gradient of the result w.r.t. the lower slopes.
 *
 * Invariant, for every row r and every x in the region:
 *     target_r(x) >= sum_j Lambda[r][j] z_i[j](x) - nc[r]
 * where Lambda is whatever floating-point matrix we hold.  Each step below
 * rewrites (Lambda, nc) over z_{i-1} and keeps the invariant by adding to nc
 * (rounded up) the bias term and a bound on the rounding error of the new
 * Lambda (bounds.h, "Soundness in floating point").  Called inside the
 * FE_UPWARD scope of bnd_run.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <cblas.h>

#include "bounds/bounds_int.h"

cn_status bnd__ensure_rows(bnd_ctx *c, int R, cn_err *err)
{
    if (R <= c->cap_rows)
        return CN_OK;
    size_t w = (size_t)c->maxw, n = (size_t)R;
    double *A = cn_mallocarray(n * w, sizeof(double));
    double *B = cn_mallocarray(n * w, sizeof(double));
    double *coef = cn_mallocarray(n * (size_t)c->n_in, sizeof(double));
    double *nc = cn_mallocarray(n, sizeof(double));
    double *ncr = cn_mallocarray(n, sizeof(double));
    double *best = cn_mallocarray(n, sizeof(double));
    double *chk = cn_mallocarray(n, sizeof(double));
    double *row_lb = cn_mallocarray(n, sizeof(double));
    bool *dead = cn_mallocarray(n, sizeof(bool));
    int *row_j = cn_mallocarray(n, sizeof(int));
    signed char *row_sgn = cn_mallocarray(n, sizeof(signed char));
    if (!A || !B || !coef || !nc || !ncr || !best || !chk || !row_lb || !dead || !row_j ||
        !row_sgn) {
        cn_free(A);
        cn_free(B);
        cn_free(coef);
        cn_free(nc);
        cn_free(ncr);
        cn_free(best);
        cn_free(chk);
        cn_free(row_lb);
        cn_free(dead);
        cn_free(row_j);
        cn_free(row_sgn);
        return cn_fail(err, CN_ENOMEM, "bounds: out of memory for %d rows of width %d", R,
                       c->maxw);
    }
    cn_free(c->A);
    cn_free(c->B);
    cn_free(c->coef);
    cn_free(c->nc);
    cn_free(c->ncr);
    cn_free(c->best);
    cn_free(c->chk);
    cn_free(c->row_lb);
    cn_free(c->dead);
    cn_free(c->row_j);
    cn_free(c->row_sgn);
    c->A = A;
    c->B = B;
    c->coef = coef;
    c->coef_m = 0;
    c->nc = nc;
    c->ncr = ncr;
    c->best = best;
    c->chk = chk;
    c->row_lb = row_lb;
    c->dead = dead;
    c->row_j = row_j;
    c->row_sgn = row_sgn;
    c->cap_rows = R;
    return CN_OK;
}

void bnd__ensure_wc(bnd_ctx *c, int i)
{
    bnd__layer *l = &c->L[i];
    if (l->wc_ok)
        return;
    const bnd__layer *p = &c->L[i - 1];
    for (int t = 0; t < l->na; t++) {
        int j = l->idx[t];
        memcpy(l->Wc + (size_t)t * (size_t)p->in, p->W + (size_t)j * (size_t)p->in,
               (size_t)p->in * sizeof(double));
        l->bc[t] = p->b[j];
    }
    l->wc_ok = true;
}

/* Lower bounds of the rows of Lam (R x w) over the box [lo, hi], from nc:
 * -(nc + sum -lambda x) rounded up.  A row with a non-finite coefficient or
 * constant, or a dead row, gets -inf. */
static void concretise(const bnd_ctx *c, int R, const double *nc, const double *Lam, int w,
                       const double *lo, const double *hi, double *out)
{
    for (int r = 0; r < R; r++) {
        double chk;
        double s = bnd__k_concretise(w, Lam + (size_t)r * (size_t)w, lo, hi, &chk);
        s += nc[r];
        out[r] = (chk < INFINITY && s < INFINITY && !c->dead[r]) ? -s : -INFINITY;
    }
}

static void keep_best(bnd_ctx *c, int R, const double *v)
{

    for (int r = 0; r < R; r++)
        if (v[r] > c->best[r])
            c->best[r] = v[r];
}

/* Rows over the output of affine layer a (R x out) -> rows over its input
 * (R x in): Q = fl(P W), any rounding; the error is accounted by the caller
 * (bounds.h).  rl: the relu layer above a (fused), whose inactive columns of
 * P are zero, or NULL.  Few rows: a row-by-row product skipping zero
 * coefficients; many rows: BLAS, on the alive columns only (P is compacted
 * in place). */
static void affine_product(bnd_ctx *c, int a, int rl, int R, double *P, double *Q)
{
    const bnd__layer *A = &c->L[a];
    const int in = A->in, out = A->out;
    if (R <= 0)
        return;
    if (BND_CONV_TAPS(A)) {             /* conv.c: the same products, over the taps */
        bnd__conv_rows(A, rl >= 0 ? &c->L[rl] : NULL, R, P, Q);
        return;
    }
    if (R <= BND_SMALL_ROWS) {
        const bnd__layer *L = rl >= 0 ? &c->L[rl] : NULL;
        const int cnt = L ? L->na : out;
        for (int r = 0; r < R; r++) {
            const double *p = P + (size_t)r * (size_t)out;
            double *q = Q + (size_t)r * (size_t)in;
            memset(q, 0, (size_t)in * sizeof(double));
            for (int t = 0; t < cnt; t++) {
                int j = L ? L->idx[t] : t;
                if (p[j] != 0.0)
                    bnd__k_axpy(in, p[j], A->W + (size_t)j * (size_t)in, q);
            }
        }
        return;
    }
    if (rl < 0) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, R, in, out, 1.0, P, out, A->W, in,
                    0.0, Q, in);
        return;
    }
    bnd__layer *L = &c->L[rl];
    if (L->na == 0) {
        memset(Q, 0, (size_t)R * (size_t)in * sizeof(double));
        return;
    }
    bnd__ensure_wc(c, rl);
    /* in place: destination r*na+t never passes the source r*out+idx[t] */
    for (int r = 0; r < R; r++)
        for (int t = 0; t < L->na; t++)
            P[(size_t)r * (size_t)L->na + t] = P[(size_t)r * (size_t)out + L->idx[t]];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, R, in, L->na, 1.0, P, L->na, L->Wc, in,
                0.0, Q, in);
}

/* Affine layer a, backwards: Lambda over z_{a+1} (R x out) -> P over z_a
 * (R x in).  nc += -Lambda b + |Lambda| v + k  (v, k: product error,
 * bounds.h).  A non-finite Lambda makes |Lambda| v, hence nc, non-finite. */
static void affine_step(bnd_ctx *c, int a, int R, double *Lam, double *P)
{
    const bnd__layer *l = &c->L[a];
    for (int r = 0; r < R; r++) {
        double t[2];
        bnd__k_affine_row(l->out, Lam + (size_t)r * (size_t)l->out, l->b, l->v, t);
        double s = c->nc[r];
        s += t[0];
        s += t[1];
        s += l->k;
        c->nc[r] = s;
        if (!(s < INFINITY))
            c->dead[r] = true;
    }
    affine_product(c, a, -1, R, Lam, P);
}

/* ReLU layer i, backwards: Lambda over z_{i+1} (R x n) -> P over z_i (R x n,
 * zero on inactive columns).  The product p = fl(lambda slope) has
 * |p - lambda slope| <= 2^-51 |p| + eta, and |z_i| <= mag on unstable
 * neurons (stable ones have slope 0 or 1: exact), hence the term
 * 2^-51 sum |p| mag + eta sum mag.  ncr gets the constant of the expression
 * over z_i itself; if the layer is fused with the affine layer below, nc
 * also gets that layer's bias and error terms (the product itself is left to
 * the caller). */
/* The split multipliers of relu layer i for row r (bnd_run_param): the
 * coefficient p_j over z_i of a split neuron becomes fl(p_j - beta s_j);
 * returns the rounding term sum (2^-52 |p_j| + eta) mag_j, rounded up
 * (the update is one rounded subtraction, s_j beta exact). */
static double beta_row(const bnd_ctx *c, int i, const bnd__alpha *al, int r, double *p)
{
    const bnd__layer *l = &c->L[i];
    const int n = l->in;
    const double *bt = al->b[i] + (size_t)r * (size_t)n;
    const signed char *sp = al->split + l->relu_off;
    const double *mag = c->mag[i];
    double e = 0.0, m = 0.0;
    for (int j = 0; j < n; j++) {
        if (!sp[j] || bt[j] == 0.0)
            continue;
        double v = p[j] - (sp[j] > 0 ? bt[j] : -bt[j]);
        p[j] = v;
        e += fabs(v) * mag[j];
        m += mag[j];
    }
    e *= 0x1p-52;
    e += m * BND_ETA;
    return e;
}

static void relu_step(bnd_ctx *c, int i, int R, const double *Lam, double *P, bnd__alpha *al)
{
    const bnd__layer *l = &c->L[i];
    const int n = l->in;
    const bnd__layer *a = l->fused ? &c->L[i - 1] : NULL;
    const double kk = a ? a->k : 0.0;
    const bool beta = al && al->beta_on && al->b[i];
    for (int r = 0; r < R; r++) {
        const double *row = Lam + (size_t)r * (size_t)n;
        const double *sp = (al && al->a[i]) ? al->a[i] + (size_t)r * (size_t)n : l->al;
        double *p = P + (size_t)r * (size_t)n;
        if (al && al->rec[i])
            memcpy(al->rec[i] + (size_t)r * (size_t)n, row, (size_t)n * sizeof(double));
        double t[4];
        bnd__k_relu_row(n, row, sp, l->sn, l->cn, l->em, a && !beta ? a->b : NULL,
                        a && !beta ? a->v : NULL, p, t);
        double s = c->nc[r];
        s += t[0];
        s += t[1] * 0x1p-51;
        s += l->eta_unst;
        if (beta) {
            s += beta_row(c, i, al, r, p);
            if (a) /* the fused layer's terms over the updated row */
                bnd__k_affine_row(n, p, a->b, a->v, t + 2);
        }
        c->ncr[r] = s;
        if (a) {
            s += t[2];
            s += t[3];
            s += kk;
        }
        c->nc[r] = s;
        if (!(s < INFINITY))
            c->dead[r] = true;
    }
}

void bnd__backsub(bnd_ctx *c, int s, int R, bool concr, bnd__alpha *al, double *lb,
                  double *coef)
{
    double *cur = c->A, *nxt = c->B, *tmp = c->chk;
    for (int r = 0; r < R; r++) {
        c->best[r] = -INFINITY;
        c->dead[r] = false;
    }
    for (int a = 0; a < s; a++)
        if (!c->L[a].relu && !c->L[a].pool)
            bnd__ensure_v(c, a);
    int i = s; /* cur: R rows over z_i */
    while (i > 0) {
        if (bnd__halted(c)) { /* stopped: no bound (bnd_run reports none) */
            for (int r = 0; r < R; r++)
                lb[r] = -INFINITY;
            if (coef)
                memset(coef, 0, (size_t)R * (size_t)c->n_in * sizeof(double));
            return;
        }
        const bnd__layer *l = &c->L[i - 1];
        if (l->relu) {
            relu_step(c, i - 1, R, cur, nxt, al);
            if (concr) {
                concretise(c, R, c->ncr, nxt, l->in, c->lo[i - 1], c->hi[i - 1], tmp);
                keep_best(c, R, tmp);
            }
            if (l->fused) {
                affine_product(c, i - 2, i - 1, R, nxt, cur);
                i -= 2;
            } else {
                double *t = cur;
                cur = nxt;
                nxt = t;
                i -= 1;
            }
        } else if (l->pool) {
            bnd__pool_step(c, i - 1, R, cur, nxt);
            double *t = cur;
            cur = nxt;
            nxt = t;
            i -= 1;
        } else {
            affine_step(c, i - 1, R, cur, nxt);
            double *t = cur;
            cur = nxt;
            nxt = t;
            i -= 1;
        }
        if (concr && i > 0) {
            concretise(c, R, c->nc, cur, c->L[i - 1].out, c->lo[i], c->hi[i], tmp);
            keep_best(c, R, tmp);
        }
    }
    if (al && al->rec0 && R > 0)
        memcpy(al->rec0, cur, (size_t)R * (size_t)c->n_in * sizeof(double));
    concretise(c, R, c->nc, cur, c->n_in, c->lo[0], c->hi[0], tmp);
    if (c->l2_c) /* (L2): the ball, where it beats the box */
        for (int r = 0; r < R; r++) {
            if (!(tmp[r] > -INFINITY))
                continue;
            double v = bnd__l2_neg_lb(c->n_in, cur + (size_t)r * (size_t)c->n_in, 1, c->l2_c,
                                      c->l2_r);
            v += c->nc[r];
            if (v < INFINITY && -v > tmp[r])
                tmp[r] = -v;
        }
    keep_best(c, R, tmp);
    for (int r = 0; r < R; r++)
        lb[r] = c->dead[r] ? -INFINITY : c->best[r];
    if (coef)
        for (int r = 0; r < R; r++) {
            double *d = coef + (size_t)r * (size_t)c->n_in;
            if (lb[r] == -INFINITY)
                memset(d, 0, (size_t)c->n_in * sizeof(double));
            else
                memcpy(d, cur + (size_t)r * (size_t)c->n_in, (size_t)c->n_in * sizeof(double));
        }
}

/* ReLU layer i, adjoint: H = d lb / d(coefficients over z_i) on the columns
 * given by idx (or all), recorded coefficients over z_{i+1} -> G over z_{i+1}
 * (full width), setting d lb / d alpha of the unstable neurons (and
 * accumulating d lb / d beta of the split ones). */
static void relu_adjoint(bnd_ctx *c, int i, bnd__alpha *al, const double *H, int hw,
                         const int *idx, double *G)
{
    const bnd__layer *l = &c->L[i];
    const int n = l->in, R = al->R;
    for (int r = 0; r < R; r++) {
        const double *h = H + (size_t)r * (size_t)hw;
        const double *lam = al->rec[i] + (size_t)r * (size_t)n;
        const double *ar = al->a[i] + (size_t)r * (size_t)n;
        double *gr = al->g[i] + (size_t)r * (size_t)n;
        double *g = G + (size_t)r * (size_t)n;
        if (idx)
            memset(g, 0, (size_t)n * sizeof(double));
        int cnt = idx ? hw : n;
        for (int t = 0; t < cnt; t++) {
            int j = idx ? idx[t] : t;
            double hv = h[t];
            if (al->beta_on && al->split[l->relu_off + j])
                al->gb[i][(size_t)r * (size_t)n + j] -= al->split[l->relu_off + j] > 0 ? hv : -hv;
            switch (l->st[j]) {
            case BND_ST_INACTIVE: g[j] = 0.0; break;
            case BND_ST_ACTIVE: g[j] = hv; break;
            default:
                /* (each unstable neuron is visited once per row: the
                 * gradient is set, not summed; alpha_grad clears nothing) */
                if (lam[j] >= 0.0) {
                    gr[j] = hv * lam[j];
                    g[j] = hv * ar[j];
                } else {
                    gr[j] = 0.0;
                    g[j] = hv * l->ua[j] + l->uc[j];
                }
            }
        }
    }
}

void bnd__alpha_grad(bnd_ctx *c, bnd__alpha *al)
{
    const int R = al->R, s = al->s;
    double *G = c->A, *H = c->B;
    for (int r = 0; r < R; r++) {
        const double *lam = al->rec0 + (size_t)r * (size_t)c->n_in;
        double *g = G + (size_t)r * (size_t)c->n_in;
        for (int j = 0; j < c->n_in; j++)
            g[j] = lam[j] >= 0.0 ? c->lo[0][j] : c->hi[0][j];
    }
    /* al->g: relu_adjoint sets the entries of the unstable neurons, the
     * only ones Adam reads (alpha.c, bnd__adam_idx) */
    for (int i = 0; i < s; i++)
        if (c->L[i].relu && al->beta_on)
            memset(al->gb[i], 0, (size_t)R * (size_t)c->L[i].in * sizeof(double));
    int i = 0; /* G: R x width(z_i) */
    while (i < s) {
        const bnd__layer *l = &c->L[i];
        if (l->pool) {
            bnd__pool_grad(c, i, R, G, H);
            double *t = G;
            G = H;
            H = t;
            i += 1;
        } else if (!l->relu && i + 1 < s && c->L[i + 1].relu && c->L[i + 1].fused) {
            const bnd__layer *rl = &c->L[i + 1];
            if (BND_CONV_TAPS(l))
                bnd__conv_fwd(l, rl->idx, rl->na, R, G, H);
            else
                bnd__ensure_wc(c, i + 1);
            if (rl->na > 0 && !BND_CONV_TAPS(l)) {
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, R, rl->na, l->in, 1.0, G,
                            l->in, rl->Wc, l->in, 0.0, H, rl->na);
                for (int r = 0; r < R; r++)
                    for (int t = 0; t < rl->na; t++)
                        H[(size_t)r * (size_t)rl->na + t] += rl->bc[t];
            }
            relu_adjoint(c, i + 1, al, H, rl->na, rl->idx, G);
            i += 2;
        } else if (!l->relu) {
            if (BND_CONV_TAPS(l)) {
                bnd__conv_fwd(l, NULL, l->out, R, G, H);
            } else {
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, R, l->out, l->in, 1.0, G,
                            l->in, l->W, l->in, 0.0, H, l->out);
                for (int r = 0; r < R; r++)
                    for (int o = 0; o < l->out; o++)
                        H[(size_t)r * (size_t)l->out + o] += l->b[o];
            }
            double *t = G;
            G = H;
            H = t;
            i += 1;
        } else {
            relu_adjoint(c, i, al, G, l->in, NULL, H);
            double *t = G;
            G = H;
            H = t;
            i += 1;
        }
    }
}

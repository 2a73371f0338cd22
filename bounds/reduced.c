/* reduced.c — CROWN back-substitution in reduced coordinates, for networks
 * with few inputs (ACAS Xu: 5) and few unstable ReLUs.
 *
 * Network shape required: affine, relu, affine, relu, ..., affine (every
 * relu fused with the affine layer below it).  Stable ReLUs are linear on
 * the region (identity or zero), so every pre-activation is an affine
 * function of the input x and of the outputs r_u of the unstable ReLUs below
 * it.  For affine layer a (output z_{a+1}) we hold, in floating point,
 *
 *     (R1)  z_{a+1}[i](x) = Z_a[i] . v + B_a[i] + eps_i,   |eps_i| <= E_a[i],
 *
 * for every x in the region, where v = (x, r_{c_1}, ..., r_{c_w}) are the
 * "columns": the n_in inputs, then the unstable ReLUs of the relu layers
 * below, in layer order.  Z_a is only an approximation; E_a is a rigorous
 * bound on everything the rounding of Z_a and B_a (and of the layers below)
 * changed:
 *
 *   a = 0:  Z_0 = W_0, B_0 = b_0, E_0 = 0 (exact).
 *   a > 0:  relu layer a-1 (input z_{a-1}, known through Z_{a-2}) maps
 *           active j to z_{a-1}[j], inactive to 0, unstable u to the new
 *           column r_u.  So, summing over active j,
 *               Z_a[i]  = fl(sum_j W_ij Z_{a-2}[j]),  Z_a[i][col(u)] = W_iu,
 *               B_a[i]  = fl(b_i + sum_j W_ij B_{a-2}[j]),
 *           any rounding, n = in_a + 1 terms at most, gamma = gamma_n:
 *               E_a[i] = sum_j |W_ij| h_j + gamma |b_i| + 2 n eta (S + 1),
 *               h_j    = E_{a-2}[j] + gamma (|Z_{a-2}[j]| . mag_v + |B_{a-2}[j]|),
 *           S = sum of mag_v over the old columns, mag_v bounding |v|
 *           (|x_k| <= max(|l|, |u|), 0 <= r_u <= u_u); all rounded up.
 *   A layer with an enclosure (bounds_int.h, (E)) is W z + b + e with
 *   |e_i| <= e[i] (from ibp_affine, over the layer's input bounds): that
 *   is one more term of eps_i, so E_a[i] also gets + e[i] (for a = 0,
 *   E_0 = e).
 *
 * A query "target >= g . v - nc" (g over the columns, nc = -constant) is
 * then brought down to x alone by eliminating the column variables from the
 * last to the first — exactly CROWN's order, since a column's coefficient
 * is final once every higher layer is eliminated.  For column u (ReLU j of
 * relu layer i, mu = g[u]):
 *     mu relu(z) >= p z + [mu < 0] mu c_j,   p = fl(mu slope),
 *     (mu slope - p) z >= -(2^-51 |p| + eta) mag_z          (as in backsub.c)
 * and z = z_i[j] is replaced through (R1) of layer i-1:
 *     p z >= p Z[j] . v + p B[j] - |p| E[j],
 *     g <- fl(g + fl(p Z[j]))   with per-entry error
 *          <= 2^-51 (|g_new| + |fl(p Z[j])|) + 2 eta,
 *     times mag_v, summed into nc.
 * Finally g (over x only) is concretised over the box.  In exact arithmetic
 * the linear function is the one CROWN's layer-by-layer back-substitution
 * produces, so the bounds agree with bnd__backsub up to rounding.
 *
 * All of it runs in bnd_run's FE_UPWARD scope (constants and error terms
 * rounded up; negation exact).  A non-finite value makes the row's bound
 * -inf.  The columns (and so the cost) grow with the unstable ReLUs; past
 * red_cap columns the call falls back to bnd__backsub for the remaining
 * layers.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <cblas.h>

#include "bounds/bounds_int.h"

/* gamma_n rounded up (bounds.c has the same). */
static double gamma_n(int n)
{
    double nu = (double)n * BND_U;
    return nu * (1.0 + 2.0 * nu);
}

bool bnd__red_eligible(const bnd_ctx *c)
{
    if (c->L[0].relu || c->L[c->nl - 1].relu)
        return false;
    for (int i = 0; i < c->nl; i++)
        if (c->L[i].relu != (i % 2 == 1) || c->L[i].pool)
            return false;
    /* worth it only with few inputs; and the workspaces must stay small
     * (at most 2^22 doubles each: red_cap columns for every neuron, and for
     * 2 maxw rows) */
    if (4 * c->n_in > c->maxw)
        return false;
    double cap = (double)c->n_in + (double)c->maxw, tot = 0.0;
    for (int a = 0; a < c->nl; a += 2)
        tot += (double)c->L[a].out * cap;
    return tot <= 0x1p22 && 2.0 * (double)c->maxw * cap <= 0x1p22;
}

cn_status bnd__red_alloc(bnd_ctx *c)
{
    c->red_cap = c->n_in + c->maxw;
    size_t cap = (size_t)c->red_cap, nl = (size_t)c->nl;
    c->rZ = cn_calloc(nl, sizeof(double *));
    c->rB = cn_calloc(nl, sizeof(double *));
    c->rE = cn_calloc(nl, sizeof(double *));
    c->rW = cn_calloc(nl, sizeof(int));
    c->rS = cn_calloc(nl, sizeof(double));
    c->col_layer = cn_mallocarray(cap, sizeof(int));
    c->col_j = cn_mallocarray(cap, sizeof(int));
    c->magv = cn_mallocarray(cap, sizeof(double));
    c->rh = cn_mallocarray((size_t)c->maxw, sizeof(double));
    c->rT0 = cn_mallocarray((size_t)c->maxw * (cap + 1), sizeof(double));
    c->rT1 = cn_mallocarray((size_t)c->maxw * (cap + 1), sizeof(double));
    if (!c->rZ || !c->rB || !c->rE || !c->rW || !c->rS || !c->col_layer || !c->col_j || !c->magv ||
        !c->rh || !c->rT0 || !c->rT1)
        return CN_ENOMEM;
    for (int a = 0; a < c->nl; a += 2) {
        size_t out = (size_t)c->L[a].out;
        c->rZ[a] = cn_mallocarray(out * cap, sizeof(double));
        c->rB[a] = cn_mallocarray(out, sizeof(double));
        c->rE[a] = cn_mallocarray(out, sizeof(double));
        if (!c->rZ[a] || !c->rB[a] || !c->rE[a])
            return CN_ENOMEM;
    }
    return CN_OK;
}

void bnd__red_free(bnd_ctx *c)
{
    for (int a = 0; a < c->nl; a++) {
        if (c->rZ)
            cn_free(c->rZ[a]);
        if (c->rB)
            cn_free(c->rB[a]);
        if (c->rE)
            cn_free(c->rE[a]);
    }
    cn_free(c->rZ);
    cn_free(c->rB);
    cn_free(c->rE);
    cn_free(c->rW);
    cn_free(c->rS);
    cn_free(c->col_layer);
    cn_free(c->col_j);
    cn_free(c->magv);
    cn_free(c->rh);
    cn_free(c->rT0);
    cn_free(c->rT1);
    cn_free(c->rG);
    cn_free(c->rnc);
    cn_free(c->rer);
    cn_free(c->rue);
    cn_free(c->rp);
}

cn_status bnd__red_ensure_rows(bnd_ctx *c, int R)
{
    if (!c->red_ok || R <= c->red_rows)
        return CN_OK;
    size_t n = (size_t)R;
    double *G = cn_mallocarray(n * (size_t)c->red_cap, sizeof(double));
    double *nc = cn_mallocarray(n, sizeof(double)), *er = cn_mallocarray(n, sizeof(double));
    double *ue = cn_mallocarray(n, sizeof(double)), *p = cn_mallocarray(n, sizeof(double));
    if (!G || !nc || !er || !ue || !p) {
        cn_free(G);
        cn_free(nc);
        cn_free(er);
        cn_free(ue);
        cn_free(p);
        return CN_ENOMEM;
    }
    cn_free(c->rG);
    cn_free(c->rnc);
    cn_free(c->rer);
    cn_free(c->rue);
    cn_free(c->rp);
    c->rG = G;
    c->rnc = nc;
    c->rer = er;
    c->rue = ue;
    c->rp = p;
    c->red_rows = R;
    return CN_OK;
}

void bnd__red_begin(bnd_ctx *c, bool on)
{
    c->red_on = on && c->red_ok;
    c->ncols = c->n_in;
    if (c->red_on)
        memcpy(c->magv, c->mag[0], (size_t)c->n_in * sizeof(double));
}

/* Relu layer i's statuses are final: its unstable ReLUs become columns. */
void bnd__red_add_cols(bnd_ctx *c, int i)
{
    if (!c->red_on)
        return;
    const bnd__layer *l = &c->L[i];
    int u = 0;
    for (int j = 0; j < l->in; j++)
        u += l->st[j] == BND_ST_UNSTABLE;
    if (c->ncols + u > c->red_cap) {
        c->red_on = false;
        return;
    }
    for (int j = 0; j < l->in; j++)
        if (l->st[j] == BND_ST_UNSTABLE) {
            c->col_layer[c->ncols] = i;
            c->col_j[c->ncols] = j;
            c->magv[c->ncols] = c->hi[i][j]; /* 0 <= relu(z) <= u, u > 0 */
            c->ncols++;
        }
}

const double *bnd__red_h(bnd_ctx *c, int a)
{
    const bnd__layer *A = &c->L[a], *rl = &c->L[a - 1];
    const int in = A->in, w0 = c->rW[a - 2];
    const double *Z0 = c->rZ[a - 2], *B0 = c->rB[a - 2], *E0 = c->rE[a - 2];
    const double gam = gamma_n(in + 1);
    double *h = c->rh;
    for (int j = 0; j < in; j++) {
        if (rl->st[j] != BND_ST_ACTIVE) {
            h[j] = 0.0;
            continue;
        }
        double v = bnd__k_absdot(w0, Z0 + (size_t)j * (size_t)w0, c->magv);
        v += fabs(B0[j]);
        double hj = E0[j];
        hj += gam * v;
        h[j] = hj;
    }
    return h;
}

/* (R1) for affine layer a, from layer a-2 and relu layer a-1; c->rE[a]
 * holds sum_j |W_ij| h_j from the interval step. */
void bnd__red_extend(bnd_ctx *c, int a)
{
    if (!c->red_on)
        return;
    const bnd__layer *A = &c->L[a];
    const int out = A->out, in = A->in, w = c->ncols;
    double *Z = c->rZ[a], *B = c->rB[a], *E = c->rE[a];
    if (a == 0) {
        for (int i = 0; i < out; i++) {
            memcpy(Z + (size_t)i * (size_t)w, A->W + (size_t)i * (size_t)in,
                   (size_t)in * sizeof(double));
            B[i] = A->b[i];
            E[i] = A->encl ? A->e[i] : 0.0;
        }
    } else {
        const bnd__layer *rl = &c->L[a - 1];
        const int w0 = c->rW[a - 2], w1 = w0 + 1;
        const double *Z0 = c->rZ[a - 2], *B0 = c->rB[a - 2];
        const double gam = gamma_n(in + 1);
        double *T0 = c->rT0, *T1 = c->rT1;
        /* T0 = [Z0 | B0] on the active rows, 0 elsewhere */
        for (int j = 0; j < in; j++) {
            double *t = T0 + (size_t)j * (size_t)w1;
            if (rl->st[j] != BND_ST_ACTIVE) {
                memset(t, 0, (size_t)w1 * sizeof(double));
                continue;
            }
            memcpy(t, Z0 + (size_t)j * (size_t)w0, (size_t)w0 * sizeof(double));
            t[w0] = B0[j];
        }
        /* any rounding: the error is in E (gamma_{in+1}) */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, out, w1, in, 1.0, A->W, in, T0, w1,
                    0.0, T1, w1);
        double sm = 1.0;
        for (int m = 0; m < w0; m++)
            sm += c->magv[m];
        const double k = (2.0 * (double)(in + 1) * BND_ETA) * sm;
        for (int i = 0; i < out; i++) {
            const double *wr = A->W + (size_t)i * (size_t)in, *t = T1 + (size_t)i * (size_t)w1;
            double *zr = Z + (size_t)i * (size_t)w;
            memcpy(zr, t, (size_t)w0 * sizeof(double));
            for (int m = w0; m < w; m++)
                zr[m] = wr[c->col_j[m]];
            B[i] = A->b[i] + t[w0];
            double e = E[i]; /* sum |W_ij| h_j, from the interval step */
            e += gam * fabs(A->b[i]);
            e += k;
            if (A->encl)
                e += A->e[i];
            E[i] = e;
        }
    }
    c->rW[a] = w;
    double S = 0.0;
    for (int m = 0; m < w; m++)
        S += c->magv[m];
    c->rS[a] = S;
}

/* Eliminates the columns of the R rows in c->rG (column-major, w columns,
 * constants in c->rnc) and writes their lower bounds; rG[0..n_in) is left
 * with the coefficients over x. */
static void red_rows(bnd_ctx *c, int R, int w, double *lb)
{
    double *G = c->rG, *nc = c->rnc, *er = c->rer, *ue = c->rue, *p = c->rp;
    double etas = 0.0, ueta = 0.0;
    for (int r = 0; r < R; r++)
        er[r] = ue[r] = 0.0;
    for (int cu = w - 1; cu >= c->n_in; cu--) {
        const int i = c->col_layer[cu], j = c->col_j[cu];
        const bnd__layer *l = &c->L[i];
        const double mz = c->mag[i][j];
        bnd__k_red_col(R, G + (size_t)cu * (size_t)R, l->al[j], l->ua[j], l->uc[j], mz,
                       c->rB[i - 1][j], c->rE[i - 1][j], p, nc, er);
        etas += mz;
        bool any = false;
        for (int r = 0; r < R; r++)
            any |= p[r] != 0.0;
        if (!any)
            continue; /* exact: nothing to substitute */
        const int wz = c->rW[i - 1];
        bnd__k_red_rank1(wz, R, c->rZ[i - 1] + (size_t)j * (size_t)wz, p, G, c->magv, ue);
        ueta += c->rS[i - 1];
    }
    double *s = er, *chk = p;
    for (int r = 0; r < R; r++) {
        double t = nc[r];
        t += er[r] * 0x1p-51;
        t += etas * BND_ETA;
        t += ue[r] * 0x1p-51;
        t += ueta * (2.0 * BND_ETA);
        s[r] = t;
        chk[r] = 0.0;
    }
    if (c->l2_c) /* (L2) of bounds.h: the ball (into nc, no longer needed), before s
                  * takes the box's value */
        for (int r = 0; r < R; r++) {
            double v = bnd__l2_neg_lb(c->n_in, G + r, (size_t)R, c->l2_c, c->l2_r);
            nc[r] = v + s[r];
        }
    bnd__k_concretise_cols(c->n_in, R, G, c->lo[0], c->hi[0], s, chk);
    for (int r = 0; r < R; r++) {
        lb[r] = (chk[r] < INFINITY && s[r] < INFINITY) ? -s[r] : -INFINITY;
        if (c->l2_c && lb[r] > -INFINITY && nc[r] < INFINITY && -nc[r] > lb[r])
            lb[r] = -nc[r];
    }
}

void bnd__red_inter(bnd_ctx *c, int a, int R, double *lb)
{
    const int w = c->rW[a];
    const double *Z = c->rZ[a];
    double *G = c->rG;
    for (int r = 0; r < R; r++) {
        int j = c->row_j[r];
        const double *zr = Z + (size_t)j * (size_t)w;
        double nc;
        if (c->row_sgn[r] > 0) {
            for (int m = 0; m < w; m++)
                G[(size_t)m * (size_t)R + r] = zr[m];
            nc = -c->rB[a][j];
        } else {
            for (int m = 0; m < w; m++)
                G[(size_t)m * (size_t)R + r] = -zr[m];
            nc = c->rB[a][j];
        }
        nc += c->rE[a][j];
        c->rnc[r] = nc;
    }
    red_rows(c, R, w, lb);
}

void bnd__red_final(bnd_ctx *c, int m, const double *C, const double *d, double *lb,
                    double *coef)
{
    const int a = c->nl - 1, w = c->rW[a], no = c->n_out;
    const double *Z = c->rZ[a];
    double *G = c->rG, *zab = c->rh;
    for (int o = 0; o < no; o++)
        zab[o] = bnd__k_absdot(w, Z + (size_t)o * (size_t)w, c->magv);
    const double gam = gamma_n(no);
    const double k = (2.0 * (double)no * BND_ETA) * c->rS[a];
    memset(G, 0, (size_t)w * (size_t)m * sizeof(double));
    for (int r = 0; r < m; r++) {
        const double *cr = C + (size_t)r * (size_t)no;
        double nc = d ? -d[r] : 0.0, e = 0.0, ez = 0.0;
        for (int o = 0; o < no; o++) {
            double co = cr[o];
            if (co == 0.0)
                continue;
            /* any rounding: the error is the gamma term below */
            const double *zr = Z + (size_t)o * (size_t)w;
            for (int q = 0; q < w; q++)
                G[(size_t)q * (size_t)m + r] += co * zr[q];
            nc += (-co) * c->rB[a][o];
            e += fabs(co) * c->rE[a][o];
            ez += fabs(co) * zab[o];
        }
        nc += e;
        nc += gam * ez;
        nc += k;
        c->rnc[r] = nc;
    }
    red_rows(c, m, w, lb);
    if (coef)
        for (int r = 0; r < m; r++) {
            double *dst = coef + (size_t)r * (size_t)c->n_in;
            for (int q = 0; q < c->n_in; q++)
                dst[q] = lb[r] == -INFINITY ? 0.0 : G[(size_t)q * (size_t)m + r];
        }
}

/* conv.c — the products of a convolution layer done as a convolution
 * (models.h, net_conv_map) instead of over its dense unrolling.
 *
 * A convolution's dense row has only its receptive field (C kh kw taps)
 * nonzero: a 1->32 2x2 convolution on 28x28 has 4 nonzeros in each row of
 * 784, and the residual networks' 24->16 3x3 convolution on 8x8 has 216 of
 * 1,536.  bnd_ctx_new therefore builds the dense matrix W only where a path
 * that reads it runs (bnd__conv_dense: sigmoid/tanh networks, act.c; the
 * reduced coordinates, reduced.c); otherwise W is NULL and every product of
 * the layer is formed here:
 *
 *   - interval step (bnd__conv_ibp) and the error vector's |W| mag
 *     (bnd__conv_absdot): the same sums as bnd__k_ibp / bnd__k_absdot, over
 *     the taps only (a zero weight adds an exact 0 to a sum rounded up), in
 *     a fixed order per output, so the results are upper bounds of the
 *     exact sums and monotone in the box, as kernel.c requires;
 *   - the starting rows of intermediate bounds (bnd__conv_row): the dense
 *     row, written from the taps (exact);
 *   - back-substitution Q = P W (bnd__conv_rows).  Few rows: every product
 *     p_j W[j][k] of the dense path with W[j][k] != 0, added to Q[r][k] in
 *     the same order of j.  Many rows: as a transposed convolution, per
 *     row, M = F^T P_r by BLAS (P_r the row as a [cout x oh*ow] matrix, F
 *     the filters [cout x fan]: M[t][p] = sum_co F[co][t] P_r[co][p]), then
 *     Q_r[in(p, t)] += M[t][p] over the taps t of every position p that
 *     read inside the maps (col2im).  With strides 1 (rows_shifted) there
 *     is no M: P_r is laid on the padded grid of the input maps (0 off the
 *     outputs) and every tap adds its product F_t^T P_r by BLAS into the
 *     padded planes of Q_r, shifted by the tap's offset (ky pad_w + kx), so
 *     the sums over the taps happen in the BLAS accumulations.
 *     Either way each Q[r][k] is a sum of the products p_j W[j][k] over the
 *     outputs j reading input k (plus exact zeros: products with a zero
 *     of the grid or a zero weight, which add nothing and round nothing),
 *     in some order and grouping: a sum of n_k <= out nonzero terms, each
 *     product passing through at most n_k - 1 rounded additions after its
 *     own rounding, so |Q - P W| <= gamma_out |P||W| + 2 out eta entrywise
 *     in ANY rounding mode (a fused multiply-add only rounds less), the
 *     a-priori bound bounds.h accounts for with n = out;
 *   - the alpha gradient's forward product (bnd__conv_fwd): heuristic only
 *     (for many rows: strides 1, one BLAS product per tap over the padded
 *     input; else im2col, then BLAS).
 * The im2col / col2im workspace holds one row: fan * oh*ow doubles, or the
 * padded planes of one row where they are larger (the dense row of the
 * unrolling would need out * in per layer, and the fused BLAS path a
 * second copy of it).
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <cblas.h>

#include "bounds/bounds_int.h"

/* Strides 1 (conv_init sets cft): the input maps padded to pad_h x pad_w
 * planes; output (oy, ox) sits at oy pad_w + ox on the padded grid, and tap
 * (ky, kx) reads it shifted by ky pad_w + kx, so each tap is one product
 * over n_pad = (oh - 1) pad_w + ow columns of the grid (no im2col). */
static int pad_h(const net_layer *g) { return g->in_shape.h + g->pad_t + g->pad_b; }
static int pad_w(const net_layer *g) { return g->in_shape.w + g->pad_l + g->pad_r; }
static int n_pad(const net_layer *g) { return (g->out_shape.h - 1) * pad_w(g) + g->out_shape.w; }

bool bnd__conv_init(bnd__layer *l, const net_layer *nl)
{
    l->cm = cn_calloc(1, sizeof *l->cm);
    if (!l->cm || net_conv_map_init(l->cm, nl, NULL) != CN_OK)
        return false;
    l->cfan = net_conv_fan(nl);
    l->cout = nl->out_shape.c;
    l->chw = nl->out_shape.h * nl->out_shape.w;
    l->cf = nl->W;
    l->cl = nl;
    size_t nx = (size_t)l->chw * (size_t)l->cfan, ny = (size_t)l->out;
    if (nl->stride_h == 1 && nl->stride_w == 1) {
        const int cin = nl->in_shape.c, K = nl->kh * nl->kw, ow = nl->out_shape.w;
        const int wp = pad_w(nl), np = n_pad(nl);
        const size_t plane = (size_t)pad_h(nl) * (size_t)wp;
        l->cft = cn_mallocarray((size_t)K * (size_t)l->cout * (size_t)cin, sizeof(double));
        l->cpk = cn_mallocarray((size_t)l->out, sizeof(int));
        if (!l->cft || !l->cpk)
            return false;
        for (int co = 0; co < l->cout; co++)
            for (int ci = 0; ci < cin; ci++)
                for (int t = 0; t < K; t++)
                    l->cft[((size_t)t * (size_t)l->cout + (size_t)co) * (size_t)cin + ci] =
                        l->cf[(size_t)co * (size_t)l->cfan + (size_t)ci * (size_t)K + t];
        for (int o = 0; o < l->out; o++) {
            int co = o / l->chw, p = o % l->chw;
            l->cpk[o] = co * np + (p / ow) * wp + p % ow;
        }
        /* the padded input (or Q) planes, and the products on the padded grid */
        if (nx < (size_t)cin * plane)
            nx = (size_t)cin * plane;
        if (ny < (size_t)l->cout * (size_t)np)
            ny = (size_t)l->cout * (size_t)np;
    }
    l->cx = cn_mallocarray(nx, sizeof(double));
    l->cy = cn_mallocarray(ny, sizeof(double));
    return l->cx && l->cy;
}

bool bnd__conv_dense(const bnd_ctx *c)
{
    return net_n_smooth(c->n) > 0 || bnd__red_eligible(c);
}

void bnd__conv_absdot(const bnd__layer *l, const double *mag, double *v)
{
    const net_conv_map *cm = l->cm;
    for (int o = 0; o < l->out; o++) {
        int co = o / l->chw, p = o % l->chw;
        const double *f = l->cf + (size_t)co * (size_t)cm->fan;
        const net_tap *tp = cm->tap + (size_t)p * (size_t)cm->fan;
        double a = 0.0;
        for (int t = 0; t < cm->n[p]; t++)
            a += fabs(f[tp[t].w]) * mag[tp[t].in];
        v[o] = a;
    }
}

void bnd__conv_row(const bnd__layer *l, int j, double sgn, double *row)
{
    const net_conv_map *cm = l->cm;
    int co = j / l->chw, p = j % l->chw;
    const double *f = l->cf + (size_t)co * (size_t)cm->fan;
    const net_tap *tp = cm->tap + (size_t)p * (size_t)cm->fan;
    memset(row, 0, (size_t)l->in * sizeof(double));
    for (int t = 0; t < cm->n[p]; t++)
        row[tp[t].in] = sgn * f[tp[t].w];
}

void bnd__conv_free(bnd__layer *l)
{
    if (l->cm)
        net_conv_map_clear(l->cm);
    cn_free(l->cm);
    cn_free(l->cx);
    cn_free(l->cy);
    cn_free(l->cft);
    cn_free(l->cpk);
}

void bnd__conv_ibp(bnd__layer *l, const double *lo, const double *hi, const double *x2,
                   double *olo, double *ohi, double *av)
{
    const net_conv_map *cm = l->cm;
    for (int o = 0; o < l->out; o++) {
        int co = o / l->chw, p = o % l->chw;
        const double *f = l->cf + (size_t)co * (size_t)cm->fan;
        const net_tap *tp = cm->tap + (size_t)p * (size_t)cm->fan;
        double u = l->b[o], n = -l->b[o], a = 0.0;
        for (int t = 0; t < cm->n[p]; t++) {
            double wk = f[tp[t].w];
            int k = tp[t].in;
            double x = wk * lo[k], y = wk * hi[k];
            u += x > y ? x : y;
            x = (-wk) * lo[k];
            y = (-wk) * hi[k];
            n += x > y ? x : y;
            if (x2)
                a += fabs(wk) * x2[k];
        }
        ohi[o] = u;
        olo[o] = -n;
        if (x2)
            av[o] = a;
    }
}

/* Few rows: the dense path's products, skipping zero coefficients. */
static void rows_taps(const bnd__layer *A, const bnd__layer *L, int R, const double *P, double *Q)
{
    const net_conv_map *cm = A->cm;
    const int in = A->in, out = A->out, cnt = L ? L->na : out;
    for (int r = 0; r < R; r++) {
        const double *p = P + (size_t)r * (size_t)out;
        double *q = Q + (size_t)r * (size_t)in;
        memset(q, 0, (size_t)in * sizeof(double));
        for (int t = 0; t < cnt; t++) {
            int j = L ? L->idx[t] : t;
            double pj = p[j];
            if (pj == 0.0)
                continue;
            int co = j / A->chw, ps = j % A->chw;
            const double *f = A->cf + (size_t)co * (size_t)cm->fan;
            const net_tap *tp = cm->tap + (size_t)ps * (size_t)cm->fan;
            for (int s = 0; s < cm->n[ps]; s++)
                q[tp[s].in] += pj * f[tp[s].w];
        }
    }
}

/* The range [*a, *b) of output columns ox whose tap kx reads an input
 * column inside the map: 0 <= ox sw + kx - pl < wd. */
static void ox_range(const net_layer *g, int kx, int *a, int *b)
{
    int ow = g->out_shape.w, sw = g->stride_w, off = kx - g->pad_l, wd = g->in_shape.w;
    int lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
    int hi = wd - 1 - off < 0 ? 0 : (wd - 1 - off) / sw + 1;
    *a = lo < ow ? lo : ow;
    *b = hi < ow ? hi : ow;
}

/* col2im: q[in(p, t)] += M[t][p] over every tap t of every position p
 * (M [fan x oh*ow] row-major), row by row of the maps. */
static void col2im_add(const net_layer *g, const double *M, double *q)
{
    const int ci_n = g->in_shape.c, H = g->in_shape.h, Wd = g->in_shape.w;
    const int oh = g->out_shape.h, ow = g->out_shape.w, hw = oh * ow;
    for (int ci = 0; ci < ci_n; ci++)
        for (int ky = 0; ky < g->kh; ky++)
            for (int kx = 0; kx < g->kw; kx++) {
                const double *m = M + (size_t)((ci * g->kh + ky) * g->kw + kx) * (size_t)hw;
                int a, b;
                ox_range(g, kx, &a, &b);
                for (int oy = 0; oy < oh; oy++) {
                    int iy = oy * g->stride_h + ky - g->pad_t;
                    if (iy < 0 || iy >= H)
                        continue;
                    double *qr = q + (size_t)(ci * H + iy) * (size_t)Wd;
                    const double *mr = m + (size_t)oy * (size_t)ow;
                    const int off = kx - g->pad_l, sw = g->stride_w;
                    if (sw == 1)
                        for (int ox = a; ox < b; ox++)
                            qr[ox + off] += mr[ox];
                    else
                        for (int ox = a; ox < b; ox++)
                            qr[ox * sw + off] += mr[ox];
                }
            }
}

/* im2col: X[t][p] = x[in(p, t)], 0 where tap t of position p reads the
 * padding (X [fan x oh*ow] row-major). */
static void im2col(const net_layer *g, const double *x, double *X)
{
    const int ci_n = g->in_shape.c, H = g->in_shape.h, Wd = g->in_shape.w;
    const int oh = g->out_shape.h, ow = g->out_shape.w, hw = oh * ow;
    for (int ci = 0; ci < ci_n; ci++)
        for (int ky = 0; ky < g->kh; ky++)
            for (int kx = 0; kx < g->kw; kx++) {
                double *m = X + (size_t)((ci * g->kh + ky) * g->kw + kx) * (size_t)hw;
                int a, b;
                ox_range(g, kx, &a, &b);
                for (int oy = 0; oy < oh; oy++) {
                    int iy = oy * g->stride_h + ky - g->pad_t;
                    double *mr = m + (size_t)oy * (size_t)ow;
                    if (iy < 0 || iy >= H || a >= b) {
                        memset(mr, 0, (size_t)ow * sizeof(double));
                        continue;
                    }
                    const double *xr = x + (size_t)(ci * H + iy) * (size_t)Wd;
                    const int off = kx - g->pad_l, sw = g->stride_w;
                    for (int ox = 0; ox < a; ox++)
                        mr[ox] = 0.0;
                    for (int ox = a; ox < b; ox++)
                        mr[ox] = xr[ox * sw + off];
                    for (int ox = b; ox < ow; ox++)
                        mr[ox] = 0.0;
                }
            }
}

/* Strides 1, many rows: per row, Pp [cout x n_pad] = P_r on the padded
 * grid (0 off the outputs), then for every tap t = (ky, kx) the planes
 * Qp[ci][ky pad_w + kx + .] += Ft[t]^T Pp by BLAS, Ft[t] [cout x cin];
 * Q_r the inside of the planes. */
static void rows_shifted(const bnd__layer *A, int R, const double *P, double *Q)
{
    const net_layer *g = A->cl;
    const int cin = g->in_shape.c, H = g->in_shape.h, Wd = g->in_shape.w;
    const int ow = g->out_shape.w, oh = g->out_shape.h, wp = pad_w(g), np = n_pad(g);
    const int plane = pad_h(g) * wp, K = g->kh * g->kw, co_n = A->cout;
    double *Qp = A->cx, *Pp = A->cy;
    memset(Pp, 0, (size_t)co_n * (size_t)np * sizeof(double));
    for (int r = 0; r < R; r++) {
        const double *p = P + (size_t)r * (size_t)A->out;
        double *q = Q + (size_t)r * (size_t)A->in;
        for (int co = 0; co < co_n; co++)
            for (int oy = 0; oy < oh; oy++)
                memcpy(Pp + (size_t)co * (size_t)np + (size_t)oy * (size_t)wp,
                       p + ((size_t)co * (size_t)oh + (size_t)oy) * (size_t)ow,
                       (size_t)ow * sizeof(double));
        memset(Qp, 0, (size_t)cin * (size_t)plane * sizeof(double));
        for (int t = 0; t < K; t++)
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, cin, np, co_n, 1.0,
                        A->cft + (size_t)t * (size_t)co_n * (size_t)cin, cin, Pp, np, 1.0,
                        Qp + (size_t)(t / g->kw) * (size_t)wp + (size_t)(t % g->kw), plane);
        for (int ci = 0; ci < cin; ci++)
            for (int iy = 0; iy < H; iy++)
                memcpy(q + ((size_t)ci * (size_t)H + (size_t)iy) * (size_t)Wd,
                       Qp + (size_t)ci * (size_t)plane + (size_t)(iy + g->pad_t) * (size_t)wp +
                           (size_t)g->pad_l,
                       (size_t)Wd * sizeof(double));
    }
}

void bnd__conv_rows(const bnd__layer *A, const bnd__layer *L, int R, const double *P, double *Q)
{
    if (R <= BND_SMALL_ROWS) {
        rows_taps(A, L, R, P, Q);
        return;
    }
    /* every column of P: those not alive in L are lam * 0 = 0 (relu_step;
     * or NaN in a row whose constant is not finite, a dead row), and the
     * constant's bias and error terms were summed over every column */
    (void)L;
    if (A->cft) {
        rows_shifted(A, R, P, Q);
        return;
    }
    const int in = A->in, out = A->out, fan = A->cfan, hw = A->chw;
    double *M = A->cx;
    for (int r = 0; r < R; r++) {
        const double *p = P + (size_t)r * (size_t)out;
        double *q = Q + (size_t)r * (size_t)in;
        /* M [fan x hw] = F^T [fan x cout] P_r [cout x hw], any rounding */
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, fan, hw, A->cout, 1.0, A->cf, fan, p,
                    hw, 0.0, M, hw);
        memset(q, 0, (size_t)in * sizeof(double));
        col2im_add(A->cl, M, q);
    }
}

void bnd__conv_fwd(const bnd__layer *A, const int *idx, int cnt, int R, const double *G,
                   double *H)
{
    const net_conv_map *cm = A->cm;
    if (R <= BND_SMALL_ROWS) {
        for (int r = 0; r < R; r++) {
            const double *g = G + (size_t)r * (size_t)A->in;
            double *h = H + (size_t)r * (size_t)cnt;
            for (int t = 0; t < cnt; t++) {
                int j = idx ? idx[t] : t;
                int co = j / A->chw, ps = j % A->chw;
                const double *f = A->cf + (size_t)co * (size_t)cm->fan;
                const net_tap *tp = cm->tap + (size_t)ps * (size_t)cm->fan;
                double s = A->b[j];
                for (int k = 0; k < cm->n[ps]; k++)
                    s += f[tp[k].w] * g[tp[k].in];
                h[t] = s;
            }
        }
        return;
    }
    if (A->cft) { /* strides 1: Yp = sum_t Ft[t] Xp(shifted by t), no im2col */
        const net_layer *g = A->cl;
        const int cin = g->in_shape.c, ih = g->in_shape.h, Wd = g->in_shape.w;
        const int wp = pad_w(g), np = n_pad(g), plane = pad_h(g) * wp, K = g->kh * g->kw;
        double *Xp = A->cx, *Yp = A->cy;
        memset(Xp, 0, (size_t)cin * (size_t)plane * sizeof(double));
        for (int r = 0; r < R; r++) {
            const double *x = G + (size_t)r * (size_t)A->in;
            double *h = H + (size_t)r * (size_t)cnt;
            for (int ci = 0; ci < cin; ci++)
                for (int iy = 0; iy < ih; iy++)
                    memcpy(Xp + (size_t)ci * (size_t)plane + (size_t)(iy + g->pad_t) * (size_t)wp +
                               (size_t)g->pad_l,
                           x + ((size_t)ci * (size_t)ih + (size_t)iy) * (size_t)Wd,
                           (size_t)Wd * sizeof(double));
            for (int t = 0; t < K; t++)
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, A->cout, np, cin, 1.0,
                            A->cft + (size_t)t * (size_t)A->cout * (size_t)cin, cin,
                            Xp + (size_t)(t / g->kw) * (size_t)wp + (size_t)(t % g->kw), plane,
                            t ? 1.0 : 0.0, Yp, np);
            for (int k = 0; k < cnt; k++) {
                int j = idx ? idx[k] : k;
                h[k] = Yp[A->cpk[j]] + A->b[j];
            }
        }
        return;
    }
    const int fan = A->cfan, hw = A->chw;
    double *X = A->cx, *Y = A->cy;
    for (int r = 0; r < R; r++) {
        const double *g = G + (size_t)r * (size_t)A->in;
        double *h = H + (size_t)r * (size_t)cnt;
        im2col(A->cl, g, X);
        /* Y [cout x hw] = F [cout x fan] X [fan x hw] */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, A->cout, hw, fan, 1.0, A->cf, fan,
                    X, hw, 0.0, Y, hw);
        for (int t = 0; t < cnt; t++) {
            int j = idx ? idx[t] : t;
            h[t] = Y[j] + A->b[j];
        }
    }
}

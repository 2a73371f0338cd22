/* conv.c — the hot products of a convolution layer done over its taps
 * (models.h, net_conv_map) instead of its dense unrolling.
 *
 * bnd_ctx_new still builds the dense matrix W of every convolution (the
 * intermediate rows of load_inter, the reduced coordinates and the BLAS
 * paths of many rows read it), but a convolution's row has only its
 * receptive field (C kh kw taps) nonzero: a 1->32 2x2 convolution on 28x28
 * has 4 nonzeros in each row of 784.  The three products every bound pass
 * makes are therefore formed from the taps:
 *
 *   - interval step (bnd__conv_ibp): the same sums as bnd__k_ibp, over the
 *     taps only (a zero weight adds an exact 0 to a sum rounded up), in a
 *     fixed order per output, so the result is an upper bound of the exact
 *     sum and monotone in the box, as kernel.c requires;
 *   - back-substitution Q = P W of few rows (bnd__conv_rows): every product
 *     p_j W[j][k] of the dense path with W[j][k] != 0, added to Q[r][k] in
 *     the same order of j; the zero products the dense path adds change
 *     nothing, so Q is the dense path's (up to the sign of zeros), and the
 *     a-priori error bound gamma_out |Lambda||W| of bounds.h covers it;
 *   - the alpha gradient's forward product (bnd__conv_fwd): heuristic only.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "bounds/bounds_int.h"

bool bnd__conv_init(bnd__layer *l, const net_layer *nl)
{
    l->cm = cn_calloc(1, sizeof *l->cm);
    if (!l->cm || net_conv_map_init(l->cm, nl, NULL) != CN_OK)
        return false;
    l->cfan = net_conv_fan(nl);
    l->cout = nl->out_shape.c;
    l->chw = nl->out_shape.h * nl->out_shape.w;
    l->cf = nl->W;
    return true;
}

void bnd__conv_free(bnd__layer *l)
{
    if (l->cm)
        net_conv_map_clear(l->cm);
    cn_free(l->cm);
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

void bnd__conv_rows(const bnd__layer *A, const bnd__layer *L, int R, const double *P, double *Q)
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

void bnd__conv_fwd(const bnd__layer *A, const int *idx, int cnt, int R, const double *G,
                   double *H)
{
    const net_conv_map *cm = A->cm;
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
}

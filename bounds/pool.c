/* pool.c — bounds through max pooling layers (NET_MAXPOOL): interval
 * propagation and the linear relaxation used by back-substitution.
 *
 * Output o of a pool layer is y_o = max_{k in W_o} z_k over its window W_o
 * (models/pool.c).  Given bounds l_k <= z_k <= u_k:
 *
 *   Intervals.  max is monotone in every argument, so
 *       max_k l_k <= y_o <= max_k u_k  =: U_o.
 *   Both are exact in floating point (a max of doubles is one of them).
 *
 *   Relaxation (DeepPoly's).  Let a = a(o) be an input of W_o with the
 *   largest lower bound.  Then
 *       y_o >= z_a                                 (max >= each argument)
 *       y_o <= U_o                                 (the interval bound)
 *   and, when l_a >= u_k for every other k of W_o, z_a >= z_k on the
 *   region, so y_o = z_a exactly ("decided" window).
 *
 * Backward step.  A row sum_o lambda_o y_o (bounds_int.h, backsub.c) is
 * rewritten over z with, per output,
 *       lambda_o >= 0 or decided:   lambda_o y_o >= lambda_o z_a
 *       lambda_o <  0, undecided:   lambda_o y_o >= lambda_o U_o,
 * the last a constant: nc += (-lambda_o) U_o, rounded up (FE_UPWARD scope).
 * The coefficient of z_a is the sum of the lambda_o of the outputs that
 * chose a.  With non-overlapping windows (stride >= kernel) that is a single
 * value, copied exactly; with overlapping windows a second addend makes a
 * rounded sum p = fl(p' + lambda_o), off from the exact sum by at most
 * 2^-52 |p| (IEEE, any rounding mode; a sum of doubles that underflows is
 * exact), which adds 2^-52 |p| mag_a to nc (|z_a| <= mag_a); summed over
 * the additions this bounds the difference between the held row and the
 * exact one, as bounds.h requires.
 *
 * The gradient for alpha-CROWN (bnd__alpha_grad) passes through a pool
 * layer as if every output took z_a: a heuristic direction only, the bound
 * itself is always recomputed by back-substitution.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "bounds/bounds_int.h"

bool bnd__pool_init(bnd__layer *l, const net_layer *nl)
{
    l->pool = true;
    l->pk = nl->kh * nl->kw;
    l->pwin = cn_mallocarray((size_t)l->out * (size_t)l->pk, sizeof(int));
    l->parg = cn_mallocarray((size_t)l->out, sizeof(int));
    l->pdec = cn_mallocarray((size_t)l->out, sizeof(bool));
    l->pu = cn_mallocarray((size_t)l->out, sizeof(double));
    if (!l->pwin || !l->parg || !l->pdec || !l->pu)
        return false;
    for (int o = 0; o < l->out; o++)
        net_pool_window(nl, o, l->pwin + (size_t)o * (size_t)l->pk);
    l->poverlap = nl->stride_h < nl->kh || nl->stride_w < nl->kw;
    return true;
}

void bnd__pool_free(bnd__layer *l)
{
    cn_free(l->pwin);
    cn_free(l->parg);
    cn_free(l->pdec);
    cn_free(l->pu);
}

void bnd__pool_ibp(bnd_ctx *c, int i)
{
    bnd__layer *l = &c->L[i];
    const double *lo = c->lo[i], *hi = c->hi[i];
    double *olo = c->lo[i + 1], *ohi = c->hi[i + 1];
    for (int o = 0; o < l->out; o++) {
        const int *w = l->pwin + (size_t)o * (size_t)l->pk;
        int a = w[0];
        double ml = lo[w[0]], mu = hi[w[0]];
        for (int k = 1; k < l->pk; k++) {
            int j = w[k];
            if (lo[j] > ml || lo[j] != lo[j]) {
                ml = lo[j];
                a = j;
            }
            if (hi[j] > mu || hi[j] != hi[j])
                mu = hi[j];
        }
        bool dec = true;
        for (int k = 0; k < l->pk && dec; k++)
            if (w[k] != a && !(lo[a] >= hi[w[k]]))
                dec = false;
        l->parg[o] = a;
        l->pdec[o] = dec;
        l->pu[o] = mu;
        olo[o] = ml;
        ohi[o] = mu;
    }
}

void bnd__pool_step(bnd_ctx *c, int i, int R, const double *Lam, double *P)
{
    const bnd__layer *l = &c->L[i];
    const int in = l->in, out = l->out;
    const double *mag = c->mag[i];
    for (int r = 0; r < R; r++) {
        const double *lam = Lam + (size_t)r * (size_t)out;
        double *p = P + (size_t)r * (size_t)in;
        memset(p, 0, (size_t)in * sizeof(double));
        double s = c->nc[r], e = 0.0;
        for (int o = 0; o < out; o++) {
            double v = lam[o];
            if (v == 0.0)
                continue;
            if (v < 0.0 && !l->pdec[o]) {
                s += (-v) * l->pu[o];
                continue;
            }
            int a = l->parg[o];
            if (p[a] != 0.0) {
                p[a] += v;                   /* rounded: accounted below */
                e += fabs(p[a]) * mag[a];
            } else {
                p[a] = v;
            }
            if (!isfinite(v))
                s = INFINITY;
        }
        s += e * 0x1p-52;
        c->nc[r] = s;
        if (!(s < INFINITY))
            c->dead[r] = true;
    }
}

void bnd__pool_grad(const bnd_ctx *c, int i, int R, const double *G, double *H)
{
    const bnd__layer *l = &c->L[i];
    for (int r = 0; r < R; r++)
        for (int o = 0; o < l->out; o++)
            H[(size_t)r * (size_t)l->out + o] = G[(size_t)r * (size_t)l->in + l->parg[o]];
}

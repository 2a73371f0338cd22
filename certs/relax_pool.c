/* relax_pool.c — the checker's own relaxation of max pooling layers
 * (NET_MAXPOOL), used by relax.c; it shares nothing with bounds/.  Called
 * in relax.c's FE_DOWNWARD scope: every operation rounds downward.
 *
 * Output o is y_o = max_{k in W_o} z_k (models/pool.c windows).  Over
 * bounds lo_k <= z_k <= hi_k:
 *   - intervals: max_k lo_k <= y_o <= max_k hi_k (exact: a max of doubles);
 *   - a = an input of W_o with the largest lower bound: y_o >= z_a always,
 *     y_o <= U_o = max_k hi_k, and y_o = z_a when lo_a >= hi_k for every
 *     other k ("decided").
 * Back-substitution of lam . y:  lam_o y_o >= lam_o z_a  (lam_o >= 0, or
 * decided), else lam_o y_o >= lam_o U_o (a constant, rounded down).  The
 * new coefficient of z_a sums the lam_o that chose a; it is accumulated
 * downward (p_lo) and its negation downward too (nh <= -sum), so that
 * d = -(p_lo + nh) >= sum - p_lo >= 0, and the dropped (sum - p_lo) z_a is
 * at least d min(lo_a, 0), the same rounding term as relax.c's affine
 * step. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "certs/certs_int.h"

void cert__pool_ibp(const net_layer *nl, const double *lo, const double *hi, double *olo,
                    double *ohi, int *arg, bool *dec, int *win)
{
    for (int o = 0; o < nl->out; o++) {
        int n = net_pool_window(nl, o, win), a = win[0];
        double ml = lo[a], mu = hi[a];
        for (int k = 1; k < n; k++) {
            if (lo[win[k]] > ml || lo[win[k]] != lo[win[k]]) {
                ml = lo[win[k]];
                a = win[k];
            }
            if (hi[win[k]] > mu || hi[win[k]] != hi[win[k]])
                mu = hi[win[k]];
        }
        bool d = true;
        for (int k = 0; k < n && d; k++)
            d = win[k] == a || lo[a] >= hi[win[k]];
        olo[o] = ml;
        ohi[o] = mu;
        arg[o] = a;
        dec[o] = d;
    }
}

double cert__pool_back(const net_layer *nl, const int *arg, const bool *dec, const double *uo,
                       const double *zl, const double *lam_out, double *plo, double *nh,
                       double *lam_in)
{
    double c = 0.0;
    for (int j = 0; j < nl->in; j++)
        plo[j] = nh[j] = 0.0;
    for (int o = 0; o < nl->out; o++) {
        double v = lam_out[o];
        if (v == 0.0)
            continue;
        if (v < 0.0 && !dec[o]) {
            c += v * uo[o];
            continue;
        }
        if (!(v >= 0.0) && !(v < 0.0)) {
            c = NAN;                    /* NaN stays NaN */
            continue;
        }
        plo[arg[o]] += v;
        nh[arg[o]] += -v;
    }
    for (int j = 0; j < nl->in; j++) {
        double d = -(plo[j] + nh[j]);
        if (zl[j] < 0.0)
            c += d * zl[j];
        lam_in[j] = plo[j];
    }
    return c;
}

/* bounds_only.c — the incomplete verifier (see verifier.h, "Bounds only"):
 * one bound propagation over each case's box, no attack and no branching.
 *
 * Atom k is ruled out over the box when a sound lower bound of a_k . y - r_k
 * is > 0.  By the row rule (R) of vfy_case_rows,
 *
 *   a_k . y - r_k  >=  lb(C_k . y - r_up_k) - sum_j cerr_kj max(|ylo_j|, |yhi_j|),
 *
 * with lb from bnd_run (the rhs folded in as the row's constant) and the
 * output bounds ylo, yhi of the same run; the correction is subtracted with
 * upward rounding of its negation, so the result is rounded down. */
#include "config.h"

#include <fenv.h>
#include <math.h>

#include "verifier/verifier.h"

cn_status vfy_bounds_case(const net *n, bnd_ctx *bc, const bnd_opts *o, const prop *p, int ci,
                          double *lb, bool *ruled_out, cn_err *err)
{
    return vfy_bounds_case_ball(n, bc, o, p, ci, NULL, lb, ruled_out, err);
}

cn_status vfy_bounds_case_ball(const net *n, bnd_ctx *bc, const bnd_opts *o, const prop *p,
                               int ci, const bnd_ball *ball, double *lb, bool *ruled_out,
                               cn_err *err)
{
    cn_status sm = prop_softmax_ok(p, n, err);   /* a final Softmax: pairwise only */
    if (sm != CN_OK)
        return sm;
    const prop_case *pc = prop_case_at(p, ci);
    int m = vfy_case_n_atoms(pc), n_out = net_out_size(n);
    size_t mm = (size_t)(m ? m : 1);
    double *C = cn_calloc(mm * (size_t)n_out, sizeof(double));
    double *cerr = cn_calloc(mm * (size_t)n_out, sizeof(double));
    double *r_up = cn_calloc(mm, sizeof(double)), *d = cn_calloc(mm, sizeof(double));
    cn_status st = C && cerr && r_up && d ? CN_OK : cn_fail(err, CN_ENOMEM, "out of memory");
    if (st == CN_OK)
        st = vfy_case_rows(pc, n_out, C, cerr, r_up, NULL, err);
    bnd_result res;
    if (st == CN_OK) {
        for (int k = 0; k < m; k++)
            d[k] = isfinite(r_up[k]) ? -r_up[k] : 0.0;
        bnd_region rg = {pc->lo_d, pc->hi_d, NULL, NULL, NULL, NULL, NULL};
        st = bnd_run_ball(bc, o, &rg, ball, m, C, d, lb, &res, err);
    }
    if (st == CN_OK && !res.infeasible) {
        bool corr = false;
        for (size_t i = 0; i < (size_t)m * (size_t)n_out; i++)
            corr |= cerr[i] != 0.0;
        const double *ylo = NULL, *yhi = NULL;
        if (corr)
            bnd_layer_bounds(bc, net_n_layers(n), &ylo, &yhi);
        int saved = cn_round_push(FE_UPWARD);
        for (int k = 0; k < m; k++) {
            if (!isfinite(r_up[k])) { /* an atom no double row states */
                lb[k] = -INFINITY;
                continue;
            }
            if (!corr)
                continue;
            double c = 0.0, *e = cerr + (size_t)k * (size_t)n_out;
            for (int j = 0; j < n_out; j++)
                if (e[j] != 0.0)
                    c += e[j] * fmax(fabs(ylo[j]), fabs(yhi[j]));
            double v = -(c - lb[k]);
            lb[k] = isnan(v) ? -INFINITY : v;
        }
        cn_round_pop(saved);
    }
    if (st == CN_OK) {
        bool all = true;
        for (int dj = 0, k = 0; dj < pc->n_disj; dj++) {
            bool out = false;
            for (int a = 0; a < pc->disj[dj].n; a++, k++)
                out |= lb[k] > 0.0;
            all &= out;
        }
        *ruled_out = all;
    }
    cn_free(C);
    cn_free(cerr);
    cn_free(r_up);
    cn_free(d);
    return st;
}

cn_status vfy_bounds_prop(const net *n, bnd_ctx *bc, const bnd_opts *o, const prop *p,
                          bool *proven, double *min_lb, cn_err *err)
{
    bool all = true;
    double minm = INFINITY;
    cn_status st = CN_OK;
    for (int ci = 0; ci < prop_n_cases(p) && all && st == CN_OK; ci++) {
        int m = vfy_case_n_atoms(prop_case_at(p, ci));
        double *lb = cn_calloc((size_t)(m ? m : 1), sizeof(double));
        st = lb ? vfy_bounds_case(n, bc, o, p, ci, lb, &all, err)
                : cn_fail(err, CN_ENOMEM, "out of memory");
        for (int k = 0; st == CN_OK && k < m; k++)
            minm = fmin(minm, lb[k]);
        cn_free(lb);
    }
    if (st != CN_OK)
        return st;
    *proven = all;
    if (min_lb)
        *min_lb = minm;
    return CN_OK;
}

/* rows.c — a case's atoms as the query rows of bound propagation (see
 * verifier.h, "Atoms as rows"): one conversion, used by the complete engine,
 * the bounds-only verifier and the robustness probes.
 *
 * Each coefficient a_kj becomes a double C_kj = mpq_get_d(a_kj) (truncation:
 * within one ulp) and its exact rounding error |a_kj - C_kj|, rounded up, so
 * that a sound bound of C_k . y corrected by sum_j cerr_kj |y_j| is a sound
 * bound of a_k . y; the rhs is rounded up, so comparing with r_up never
 * claims an atom false that could hold. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "verifier/verifier.h"

int vfy_case_n_atoms(const prop_case *pc)
{
    int m = 0;
    for (int d = 0; d < pc->n_disj; d++)
        m += pc->disj[d].n;
    return m;
}

cn_status vfy_case_rows(const prop_case *pc, int n_out, double *C, double *cerr, double *r_up,
                        int *dstart, cn_err *err)
{
    int m = vfy_case_n_atoms(pc);
    mpq_t *q = cn_mallocarray((size_t)(n_out ? n_out : 1), sizeof(mpq_t));
    if (!q)
        return cn_fail(err, CN_ENOMEM, "out of memory for the property's atoms");
    memset(C, 0, sizeof(double) * (size_t)m * (size_t)n_out);
    memset(cerr, 0, sizeof(double) * (size_t)m * (size_t)n_out);
    for (int j = 0; j < n_out; j++)
        mpq_init(q[j]);
    mpq_t t;
    mpq_init(t);
    int k = 0;
    for (int d = 0; d < pc->n_disj; d++) {
        if (dstart)
            dstart[d] = k;
        for (int a = 0; a < pc->disj[d].n; a++, k++) {
            const prop_lin *at = &pc->disj[d].atoms[a];
            /* the exact coefficient of every output (a variable may occur
             * more than once) */
            for (int j = 0; j < n_out; j++)
                mpq_set_ui(q[j], 0, 1);
            for (int e = 0; e < at->n; e++)
                mpq_add(q[at->var[e]], q[at->var[e]], at->coef[e]);
            double *row = C + (size_t)k * (size_t)n_out, *rerr = cerr + (size_t)k * (size_t)n_out;
            bool finite = true;
            for (int j = 0; j < n_out && finite; j++) {
                if (mpq_sgn(q[j]) == 0)
                    continue;
                row[j] = mpq_get_d(q[j]);
                finite = isfinite(row[j]);
                if (!finite)
                    break;
                mpq_set_d(t, row[j]);
                mpq_sub(t, q[j], t);
                mpq_abs(t, t);
                rerr[j] = mpq_sgn(t) ? cn_mpq_get_d_up(t) : 0.0;
            }
            r_up[k] = cn_mpq_get_d_up(at->rhs);
            if (!finite) { /* beyond the doubles: a zero row that is never ruled out */
                memset(row, 0, sizeof(double) * (size_t)n_out);
                memset(rerr, 0, sizeof(double) * (size_t)n_out);
                r_up[k] = INFINITY;
            }
        }
    }
    if (dstart)
        dstart[pc->n_disj] = k;
    mpq_clear(t);
    for (int j = 0; j < n_out; j++)
        mpq_clear(q[j]);
    cn_free(q);
    return CN_OK;
}

/* milp.c — the exact MILP (lp_milp_min): the LP of a fresh context with a
 * binary per unstable neuron and big-M rows in place of the triangle. */
#include "config.h"

#include <fenv.h>
#include <math.h>
#include <setjmp.h>

#include "lp/lp_int.h"

static cn_status milp_run(lp_ctx *c, const net *n, const lp_region *r, const lp_opts *o,
                          const double *cy, double d, lp_outcome *outcome, double *min,
                          double *x_opt, cn_err *err);

cn_status lp_milp_min(const net *n, const lp_region *r, const lp_opts *o, const double *cy,
                      double d, lp_outcome *outcome, double *min, double *x_opt, cn_err *err)
{
    CN_REQUIRE(n && r && cy && outcome && min, "network, region, objective and outputs");
    lp_ctx *c = lp_ctx_new(n, err);
    if (!c)
        return err ? err->status : CN_ENOMEM;
    jmp_buf jb;
    int round = fegetround();
    if (setjmp(jb)) {
        lp__guard_fault(c, round);
        lp_ctx_free(c); /* (its problem object went with the environment) */
        *outcome = LP_FAILED;
        *min = -INFINITY;
        return CN_OK;
    }
    lp__guard_begin(&jb);
    cn_status st = milp_run(c, n, r, o, cy, d, outcome, min, x_opt, err);
    lp__guard_end();
    lp_ctx_free(c);
    return st;
}

/* lp_milp_min inside its guard (c is freed by the caller). */
static cn_status milp_run(lp_ctx *c, const net *n, const lp_region *r, const lp_opts *o,
                          const double *cy, double d, lp_outcome *outcome, double *min,
                          double *x_opt, cn_err *err)
{
    if (!lp__setup_region(c, r)) {
        *outcome = LP_INFEASIBLE;
        *min = INFINITY;
        return CN_OK;
    }
    cn_status st = lp__setup_lin(c, r, err);
    if (st != CN_OK)
        return st;
    glp_prob *P = c->P;
    /* Unstable neurons: binary delta and big-M rows
     *   a <= z - l (1 - delta)   i.e.  a - z - l delta <= -l
     *   a <= u delta             i.e.  a - u delta <= 0
     * replacing the triangle's upper line. */
    for (int i = 0; i < c->L; i++) {
        const net_layer *l = net_layer_at(n, i);
        if (l->op != NET_RELU)
            continue;
        for (int k = 0; k < l->in; k++) {
            int zc = c->col_off[i] + k + 1, ac = c->col_off[i + 1] + k + 1;
            if (c->kind[zc - 1] != R2_TRIANGLE)
                continue;
            double lo = glp_get_col_lb(P, zc), hi = glp_get_col_ub(P, zc);
            int dcol = glp_add_cols(P, 1);
            glp_set_col_kind(P, dcol, GLP_BV);
            int r2 = c->row_off[i] + 2 * k + 2;
            int ind[4] = {0, ac, zc, dcol};
            double val[4] = {0, 1.0, -1.0, -lo};
            glp_set_mat_row(P, r2, 3, ind, val);
            glp_set_row_bnds(P, r2, GLP_UP, 0, -lo);
            int r3 = glp_add_rows(P, 1);
            int ind3[3] = {0, ac, dcol};
            double val3[3] = {0, 1.0, -hi};
            glp_set_mat_row(P, r3, 2, ind3, val3);
            glp_set_row_bnds(P, r3, GLP_UP, 0, 0.0);
        }
    }
    int out0 = c->col_off[c->L];
    for (int j = 0; j < c->n_cols; j++)
        glp_set_obj_coef(P, j + 1, j >= out0 ? cy[j - out0] : 0.0);
    glp_set_obj_coef(P, 0, d);
    glp_iocp parm;
    glp_init_iocp(&parm);
    parm.msg_lev = GLP_MSG_OFF;
    parm.presolve = GLP_ON;
    if (o && o->tm_lim_ms > 0)
        parm.tm_lim = o->tm_lim_ms;
    int ret = glp_intopt(P, &parm);
    int s = glp_mip_status(P);
    if (ret == 0 && s == GLP_OPT) {
        *outcome = LP_BOUND;
        *min = glp_mip_obj_val(P);
        if (x_opt)
            for (int k = 0; k < c->size[0]; k++)
                x_opt[k] = glp_mip_col_val(P, k + 1);
    } else if (s == GLP_NOFEAS || ret == GLP_ENOPFS) {
        *outcome = LP_INFEASIBLE;
        *min = INFINITY;
    } else {
        *outcome = LP_FAILED;
        *min = -INFINITY;
    }
    return CN_OK;
}

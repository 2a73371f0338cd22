/* solve.c — the guarded LP entries: lp_lower_bound (min c^T y + d over the
 * relaxation, bounded rigorously) and the conjunction LP (lp_conj_solve,
 * lp_conj_bound). */
#include "config.h"

#include <fenv.h>
#include <math.h>
#include <setjmp.h>

#include "lp/lp_int.h"

void lp__init_smcp(glp_smcp *p, const lp_opts *o)
{
    glp_init_smcp(p);
    p->msg_lev = GLP_MSG_OFF;
    p->meth = GLP_DUALP;
    if (o && o->it_lim > 0)
        p->it_lim = o->it_lim;
    if (o && o->tm_lim_ms > 0)
        p->tm_lim = o->tm_lim_ms;
}

int lp__solve(glp_prob *P, const glp_smcp *parm)
{
    int term = glp_term_out(GLP_OFF); /* glp_adv_basis prints whatever msg_lev says */
    int ret = glp_simplex(P, parm);
    if (ret == GLP_EBADB || ret == GLP_ESING || ret == GLP_ECOND) {
        glp_adv_basis(P, 0);
        ret = glp_simplex(P, parm);
        if (ret == GLP_ESING || ret == GLP_ECOND) {
            glp_std_basis(P);
            ret = glp_simplex(P, parm);
        }
    }
    glp_term_out(term);
    return ret;
}

static cn_status lower_bound_run(lp_ctx *c, const lp_region *r, const lp_opts *o,
                                 const double *cy, double d, lp_outcome *outcome, double *lb,
                                 double *x_opt, cn_err *err)
{
    if (!lp__setup_region(c, r)) {
        *outcome = LP_BOUND;
        *lb = INFINITY;     /* a split contradicts sound bounds: no point */
        return CN_OK;
    }
    cn_status st = lp__setup_lin(c, r, err);
    if (st != CN_OK)
        return st;
    lp__conj_off(c);
    c->conj_ok = false;
    int L = c->L, out0 = c->col_off[L];
    for (int j = 0; j < c->n_cols; j++)
        glp_set_obj_coef(c->P, j + 1, j >= out0 ? cy[j - out0] : 0.0);
    glp_set_obj_coef(c->P, 0, d);
    glp_smcp parm;
    lp__init_smcp(&parm, o);
    int ret = lp__solve(c->P, &parm);
    double b = lp__rigorous_bound(c, cy, d);
    if (x_opt)
        for (int k = 0; k < c->size[0]; k++) {
            double v = glp_get_col_prim(c->P, k + 1);
            x_opt[k] = fmin(fmax(v, r->in_lo[k]), r->in_hi[k]);
        }
    if (ret == 0 && glp_get_status(c->P) == GLP_NOFEAS && lp__farkas_bound(c) > 0.0)
        b = INFINITY; /* certified empty */
    *outcome = b == -INFINITY ? LP_FAILED : LP_BOUND;
    *lb = b;
    return CN_OK;
}

/* The conjunction rows C_k y - t <= rr_k and the column t, kept between
 * calls (deleting them would leave GLPK without a valid basis to warm start
 * from); while unused the rows are free and t is fixed at 0. */
void lp__conj_drop(lp_ctx *c)
{
    if (c->n_conj == 0)
        return;
    int n = c->n_conj, first = c->n_rows_net + c->n_lin_rows + 1;
    for (int k = 0; k < n; k++)
        c->ind[k + 1] = first + k;
    glp_del_rows(c->P, n, c->ind);
    int dc[2] = {0, c->n_cols + 1};
    glp_del_cols(c->P, 1, dc);
    c->n_conj = 0;
}

void lp__conj_off(lp_ctx *c)
{
    if (c->n_conj == 0)
        return;
    int first = c->n_rows_net + c->n_lin_rows + 1;
    for (int k = 0; k < c->n_conj; k++)
        glp_set_row_bnds(c->P, first + k, GLP_FR, 0.0, 0.0);
    glp_set_col_bnds(c->P, c->n_cols + 1, GLP_FX, 0.0, 0.0);
    glp_set_obj_coef(c->P, c->n_cols + 1, 0.0);
}

static cn_status conj_solve_run(lp_ctx *c, const lp_region *r, const lp_opts *o, int m,
                                const double *C, const double *rr, double *lambda,
                                double *t_opt, double *x_opt, cn_err *err)
{
    for (int k = 0; k < m; k++)
        lambda[k] = 0.0;
    *t_opt = -INFINITY;
    c->conj_ok = false;
    if (!lp__setup_region(c, r)) {
        *t_opt = INFINITY; /* a split contradicts the sound bounds */
        return CN_OK;
    }
    cn_status st = lp__setup_lin(c, r, err);
    if (st != CN_OK)
        return st;
    glp_prob *P = c->P;
    int L = c->L, out0 = c->col_off[L], n_out = c->size[L];
    if (m > c->max_row_len - 1 || n_out + 1 > c->max_row_len)
        return cn_fail(err, CN_EUNSUPPORTED, "LP: a conjunction of %d rows is too long", m);
    if (c->n_conj != m) {
        lp__conj_drop(c);
        glp_add_cols(P, 1);
        glp_add_rows(P, m);
        c->n_conj = m;
    }
    int tcol = c->n_cols + 1, row0 = c->n_rows_net + c->n_lin_rows + 1;
    for (int j = 0; j < c->n_cols; j++)
        glp_set_obj_coef(P, j + 1, 0.0);
    glp_set_obj_coef(P, 0, 0.0);
    /* t is free: the rows bound it below (the outputs are bounded over the box) */
    glp_set_col_bnds(P, tcol, GLP_FR, 0.0, 0.0);
    glp_set_obj_coef(P, tcol, 1.0);
    for (int k = 0; k < m; k++) {
        int len = 0;
        for (int q = 0; q < n_out; q++)
            if (C[(size_t)k * n_out + q] != 0.0) {
                c->ind[++len] = out0 + q + 1;
                c->val[len] = C[(size_t)k * n_out + q];
            }
        c->ind[++len] = tcol;
        c->val[len] = -1.0;
        glp_set_mat_row(P, row0 + k, len, c->ind, c->val);
        glp_set_row_bnds(P, row0 + k, GLP_UP, 0.0, rr[k]);
    }
    glp_smcp parm;
    lp__init_smcp(&parm, o);
    int ret = lp__solve(P, &parm);
    if (ret == 0 && glp_get_status(P) == GLP_OPT) {
        *t_opt = glp_get_col_prim(P, tcol);
        for (int k = 0; k < m; k++) {
            double y = -glp_get_row_dual(P, row0 + k);
            lambda[k] = isfinite(y) && y > 0.0 ? y : 0.0;
        }
        int n_rows = c->n_rows_net + c->n_lin_rows;
        for (int i = 1; i <= n_rows; i++)
            c->y[i] = glp_get_row_dual(P, i);
        c->conj_ok = true;
        if (x_opt)
            for (int k = 0; k < c->size[0]; k++) {
                double v = glp_get_col_prim(P, k + 1);
                x_opt[k] = fmin(fmax(v, r->in_lo[k]), r->in_hi[k]);
            }
    } else if (ret == 0 && glp_get_status(P) == GLP_NOFEAS) {
        *t_opt = INFINITY; /* a guess: lp_lower_bound can prove it */
    }
    return CN_OK;
}

double lp_conj_bound(lp_ctx *c, const double *cy)
{
    if (!c || !c->conj_ok || !cy || !c->P)
        return -INFINITY;
    c->conj_ok = false; /* lp__bound_from_y overwrites the multipliers */
    jmp_buf jb;
    int round = fegetround();
    if (setjmp(jb)) {
        lp__guard_fault(c, round);
        return -INFINITY;
    }
    c->fault[0] = '\0';
    lp__guard_begin(&jb);
    double b = lp__bound_from_y(c, cy, 0.0);
    lp__guard_end();
    return b;
}

/* ---- the guarded entries (see "GLPK faults") ---------------------------------- */

cn_status lp_lower_bound(lp_ctx *c, const lp_region *r, const lp_opts *o, const double *cy,
                         double d, lp_outcome *outcome, double *lb, double *x_opt, cn_err *err)
{
    CN_REQUIRE(c && r && cy && outcome && lb, "context, region, objective and outputs");
    c->fault[0] = '\0';
    c->y_ok = false;
    cn_status st = lp__revive(c, err);
    if (st != CN_OK)
        return st;
    jmp_buf jb;
    int round = fegetround();
    if (setjmp(jb)) {
        lp__guard_fault(c, round);
        *outcome = LP_FAILED;
        *lb = -INFINITY;
        return CN_OK;
    }
    lp__guard_begin(&jb);
    st = lower_bound_run(c, r, o, cy, d, outcome, lb, x_opt, err);
    lp__guard_end();
    return st;
}

cn_status lp_conj_solve(lp_ctx *c, const lp_region *r, const lp_opts *o, int m, const double *C,
                        const double *rr, double *lambda, double *t_opt, double *x_opt,
                        cn_err *err)
{
    CN_REQUIRE(c && r && m > 0 && C && rr && lambda && t_opt, "context, region and rows");
    c->fault[0] = '\0';
    c->conj_ok = false;
    c->y_ok = false;
    cn_status st = lp__revive(c, err);
    if (st != CN_OK)
        return st;
    jmp_buf jb;
    int round = fegetround();
    if (setjmp(jb)) {
        lp__guard_fault(c, round);
        for (int k = 0; k < m; k++)
            lambda[k] = 0.0;
        *t_opt = -INFINITY; /* failed */
        return CN_OK;
    }
    lp__guard_begin(&jb);
    st = conj_solve_run(c, r, o, m, C, rr, lambda, t_opt, x_opt, err);
    lp__guard_end();
    return st;
}

/* dual.c — the rigorous bound of lp.h from row multipliers y (GLPK's
 * duals, or a Farkas ray): reduced costs as intervals, every product and
 * sum rounded outward. */
#include "config.h"

#include <fenv.h>
#include <math.h>
#include <string.h>

#include "lp/lp_int.h"

/* All of it runs in one FE_UPWARD scope, lower bounds carried negated (as
 * in bounds/): GCC may move arithmetic across a fesetround call in spite
 * of -frounding-math, so no function here switches modes midway. */

typedef struct {
    lp_ctx *c;
    double *acc;
    double sg;
} acc_ctx;

static void acc_entry(void *u, int row, int col, double coef)
{
    acc_ctx *a = u;
    double y = a->sg * a->c->y[row + 1];
    if (y != 0.0)
        a->acc[col] += y * coef;
}

/* acc[j] = sum_r sg y_r A_rj (sg = +-1, exact), rounded up: acc bounds the
 * sum from above (sg = 1) or its negation from above (sg = -1). */
static void accumulate(lp_ctx *c, double *acc, double sg)
{
    memset(acc, 0, sizeof(double) * (size_t)c->n_cols);
    acc_ctx a = {c, acc, sg};
    for (int i = 0; i < c->L; i++) {
        const net_layer *l = net_layer_at(c->n, i);
        if (l->op != NET_RELU) {
            lp__affine_entries(c, i, acc_entry, &a);
            continue;
        }
        for (int k = 0; k < l->in; k++) {
            int z = c->col_off[i] + k, ac = c->col_off[i + 1] + k;
            double y1 = sg * c->y[c->row_off[i] + 2 * k + 1];
            double y2 = sg * c->y[c->row_off[i] + 2 * k + 2];
            acc[ac] += y1;
            acc[z] += -y1;
            switch (c->kind[z]) {
            case R2_TRIANGLE:
                acc[ac] += y2;
                acc[z] += y2 * -c->s[z];
                break;
            case R2_SPLIT_ACTIVE:
            case R2_SPLIT_INACTIVE:
                acc[z] += y2;
                break;
            default:
                break;
            }
        }
    }
    for (int q = 0; q < c->n_lin_rows; q++) {
        int row = c->n_rows_net + q + 1;
        double y = sg * c->y[row];
        if (y == 0.0)
            continue;
        int len = glp_get_mat_row(c->P, row, c->ind, c->val);
        for (int t = 1; t <= len; t++)
            acc[c->ind[t] - 1] += y * c->val[t];
    }
}

/* -(min over v in [vl, vu] and d in [dl, dh] of d*v), rounded up: the
 * max of (-d) v over the corners (FE_UPWARD). */
static double neg_min_prod(double dl, double dh, double vl, double vu)
{
    if (dl == 0.0 && dh == 0.0)
        return 0.0;
    double m = -INFINITY;
    double ds[2] = {dl, dh}, vs[2] = {vl, vu};
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            double p = (ds[a] == 0.0 || vs[b] == 0.0) ? 0.0 : (-ds[a]) * vs[b];
            if (p > m)
                m = p;
        }
    return m;
}

static double col_bound(glp_prob *P, int j, bool upper)
{
    int t = glp_get_col_type(P, j);
    if (upper)
        return (t == GLP_UP || t == GLP_DB || t == GLP_FX) ? glp_get_col_ub(P, j) : INFINITY;
    return (t == GLP_LO || t == GLP_DB || t == GLP_FX) ? glp_get_col_lb(P, j) : -INFINITY;
}

static double row_bound(glp_prob *P, int i, bool upper)
{
    int t = glp_get_row_type(P, i);
    if (upper)
        return (t == GLP_UP || t == GLP_DB || t == GLP_FX) ? glp_get_row_ub(P, i) : INFINITY;
    return (t == GLP_LO || t == GLP_DB || t == GLP_FX) ? glp_get_row_lb(P, i) : -INFINITY;
}

double lp__bound_from_y(lp_ctx *c, const double *cy, double d)
{
    glp_prob *P = c->P;
    int n_rows = c->n_rows_net + c->n_lin_rows;
    for (int i = 1; i <= n_rows; i++) {
        double y = c->y[i];
        if (!isfinite(y) || (y > 0.0 && isinf(row_bound(P, i, false))) ||
            (y < 0.0 && isinf(row_bound(P, i, true))))
            y = 0.0;
        c->y[i] = y;
    }
    /* Output rows: y = c exactly, so the free output columns cancel. */
    int L = c->L;
    const net_layer *last = net_layer_at(c->n, L - 1);
    if (last->op != NET_RELU)
        for (int o = 0; o < last->out; o++)
            c->y[c->row_off[L - 1] + o + 1] = cy[o];

    int saved = cn_round_push(FE_UPWARD);
    accumulate(c, c->up, 1.0);    /* up_j >= (A^T y)_j */
    accumulate(c, c->dn, -1.0);   /* -dn_j <= (A^T y)_j */
    /* nt = -total, rounded up */
    double nt = -d;
    for (int i = 1; i <= n_rows; i++) {
        double y = c->y[i];
        if (y > 0.0)
            nt += (-y) * row_bound(P, i, false);
        else if (y < 0.0)
            nt += (-y) * row_bound(P, i, true);
    }
    int out0 = c->col_off[L];
    for (int j = 0; j < c->n_cols; j++) {
        double cj = (j >= out0) ? cy[j - out0] : 0.0;
        double dl = -(c->up[j] + -cj);   /* <= cj - (A^T y)_j */
        double dh = cj + c->dn[j];       /* >= cj - (A^T y)_j */
        double vl = col_bound(P, j + 1, false), vu = col_bound(P, j + 1, true);
        nt += neg_min_prod(dl, dh, vl, vu);
        if (isnan(nt) || nt == INFINITY)
            break;
    }
    cn_round_pop(saved);
    c->y_ok = true;
    c->y_farkas = false;
    return isnan(nt) ? -INFINITY : -nt;
}

double lp__rigorous_bound(lp_ctx *c, const double *cy, double d)
{
    int n_rows = c->n_rows_net + c->n_lin_rows;
    for (int i = 1; i <= n_rows; i++)
        c->y[i] = glp_get_row_dual(c->P, i);
    return lp__bound_from_y(c, cy, d);
}

/* After the dual simplex reports no primal feasible point: the basic
 * variable k that cannot be made feasible has the tableau row
 * x_k = sum_j alpha_j x_j (non-basic j), a combination of the rows with
 * multipliers y_k = 1 (when x_k is a row's auxiliary variable) and
 * y_i = -alpha_i for non-basic auxiliary variables.  Evaluated rigorously
 * with a zero objective (for y and -y), a positive value is a Farkas
 * certificate: the subproblem is empty.  Returns that value or -inf. */
/* The Farkas value of the tableau row of k, negated for sign = -1. */
static double farkas_try(lp_ctx *c, int k, int len, const int *ind, const double *val, int sign)
{
    int n_rows = c->n_rows_net + c->n_lin_rows;
    for (int i = 1; i <= n_rows; i++)
        c->y[i] = 0.0;
    if (k <= n_rows)
        c->y[k] = sign;
    for (int t = 1; t <= len; t++)
        if (ind[t] <= n_rows)
            c->y[ind[t]] = -sign * val[t];
    return lp__bound_from_y(c, c->zero_out, 0.0);
}

double lp__farkas_bound(lp_ctx *c)
{
    glp_prob *P = c->P;
    int n_rows = c->n_rows_net + c->n_lin_rows, n_all = n_rows + c->n_cols;
    int k = glp_get_unbnd_ray(P);
    if (k <= 0 || k > n_all + c->n_conj + 1)
        return -INFINITY;
    /* (with conjunction rows present, the problem has n_conj + 1 more
     * variables: the buffers hold them; their multipliers stay 0, which
     * only weakens the bound) */
    size_t n_buf = (size_t)n_all + (size_t)c->n_conj + 2;
    int *ind = cn_mallocarray(n_buf, sizeof(int));
    double *val = cn_mallocarray(n_buf, sizeof(double));
    double best = -INFINITY;
    if (ind && val && glp_bf_exists(P)) {
        int len = glp_eval_tab_row(P, k, ind, val), best_sign = 0;
        /* both signs; the better one last, so that c->y holds its
         * multipliers (lp_canon_duals) */
        for (int sign = 1; sign >= -1; sign -= 2) {
            double b = farkas_try(c, k, len, ind, val, sign);
            if (b > best) {
                best = b;
                best_sign = sign;
            }
        }
        if (best_sign == 1)
            farkas_try(c, k, len, ind, val, 1);
        c->y_farkas = best > 0.0;
    }
    /* c->y is the ray's now: it stands behind the caller's bound only if
     * the ray proved emptiness */
    c->y_ok = best > 0.0;
    cn_free(ind);
    cn_free(val);
    return best;
}

int lp_canon_duals(const lp_ctx *c, double *y, bool *farkas)
{
    CN_REQUIRE(c && farkas, "a context and an output");
    if (!c->y_ok || !c->P)
        return -1;
    int n = c->n_rows_net + c->n_lin_rows;
    *farkas = c->y_farkas;
    if (!y)
        return n;
    for (int i = 0; i < c->L; i++) {
        const net_layer *l = net_layer_at(c->n, i);
        int r0 = c->row_off[i];
        if (l->op != NET_RELU) {
            for (int o = 0; o < l->out; o++)
                y[r0 + o] = c->y[r0 + o + 1];
            continue;
        }
        for (int k = 0; k < l->in; k++) {
            double y1 = c->y[r0 + 2 * k + 1], y2 = c->y[r0 + 2 * k + 2];
            int z = c->col_off[i] + k;
            double p = y1 > 0.0 ? y1 : 0.0, q = y1 < 0.0 ? -y1 : 0.0;
            if (c->kind[z] == R2_TRIANGLE && y2 < 0.0)
                q += -y2;                 /* any rounding: a multiplier is any value */
            y[r0 + 2 * k] = p;
            y[r0 + 2 * k + 1] = q;
        }
    }
    for (int q = 0; q < c->n_lin_rows; q++) {
        double v = c->y[c->n_rows_net + q + 1];
        y[c->n_rows_net + q] = v < 0.0 ? -v : 0.0;
    }
    return n;
}

/* region.c — a region in the LP: column bounds of the box and the ReLU
 * pre-activations, the ReLU rows (3) per neuron's state or split, the
 * enclosure ranges of rows (2), and the linear input rows. */
#include "config.h"

#include <fenv.h>
#include <math.h>

#include "lp/lp_int.h"

static void set_col(glp_prob *P, int j, double lo, double hi)
{
    int type;
    if (isinf(lo) && isinf(hi))
        type = GLP_FR;
    else if (isinf(lo))
        type = GLP_UP;
    else if (isinf(hi))
        type = GLP_LO;
    else if (lo == hi)
        type = GLP_FX;
    else
        type = GLP_DB;
    glp_set_col_bnds(P, j, type, isinf(lo) ? 0.0 : lo, isinf(hi) ? 0.0 : hi);
}

/* Enclosure (models.h, net_layer): affine layer i's exact form is
 * z' = W z + b + e with |e_o| <= E_o = wrel (|W| m)_o + wabs sum_k m_k +
 * brad_o for |z_k| <= m_k, so its rows (2) become the ranges
 *     b_o - E_o  <=  z'_o - (W z)_o  <=  b_o + E_o,
 * a relaxation every network of the enclosure satisfies (the rigorous
 * bound reads these row bounds like any other).  m: the box for i = 0,
 * else max(u, 0) over the ReLU layer i-1 below (z_i = relu(z_{i-1})). */
typedef struct {
    int r0, co;            /* the layer's first row and first output column */
    const double *m;       /* [n_cols] m by column */
    double *acc;           /* [n_cols] (|W| m)_o at output column co + o */
} absw_ctx;

/* Called in FE_UPWARD: acc += |W_ok| m_k, rounded up. */
static void absw_entry(void *u, int row, int col, double coef)
{
    absw_ctx *a = u;
    if (col < a->co) /* an input entry -W_ok of row r0 + o */
        a->acc[a->co + row - a->r0] += fabs(coef) * a->m[col];
}

/* Row bounds of affine layer i for the region (scratch: c->up, c->dn);
 * everything in one FE_UPWARD scope. */
static void enclosure_rows(lp_ctx *c, const lp_region *r, int i)
{
    const net_layer *l = net_layer_at(c->n, i);
    int ci = c->col_off[i], co = c->col_off[i + 1], r0 = c->row_off[i];
    double *m = c->up, *acc = c->dn;
    int save = cn_round_push(FE_UPWARD);
    double sm = 0.0;
    for (int k = 0; k < l->in; k++) {
        double mk = i == 0 ? fmax(fabs(r->in_lo[k]), fabs(r->in_hi[k]))
                           : fmax(r->pre_hi[i - 1][k], 0.0);
        m[ci + k] = mk;
        sm += mk;
    }
    for (int o = 0; o < l->out; o++)
        acc[co + o] = 0.0;
    absw_ctx a = {r0, co, m, acc};
    lp__affine_entries(c, i, absw_entry, &a);
    const double ws = l->wabs * sm;
    int hw = l->out_shape.h * l->out_shape.w;
    for (int o = 0; o < l->out; o++) {
        int bo = l->op == NET_CONV ? o / hw : o;
        double e = l->wrel * acc[co + o];
        e += ws;
        if (l->brad)
            e += l->brad[bo];
        /* both ends rounded up, the lower one negated: no mode switch for
         * the compiler to move arithmetic across */
        double b = l->b[bo], hi = b + e, lo = -(-b + e);
        int row = r0 + o + 1;
        if (!(lo > -INFINITY && hi < INFINITY))
            glp_set_row_bnds(c->P, row, GLP_FR, 0.0, 0.0);
        else if (lo == hi)
            glp_set_row_bnds(c->P, row, GLP_FX, lo, hi);
        else
            glp_set_row_bnds(c->P, row, GLP_DB, lo, hi);
    }
    cn_round_pop(save);
}

bool lp__setup_region(lp_ctx *c, const lp_region *r)
{
    glp_prob *P = c->P;
    int n_in = c->size[0];
    for (int k = 0; k < n_in; k++) {
        if (r->in_lo[k] > r->in_hi[k])
            return false;
        set_col(P, k + 1, r->in_lo[k], r->in_hi[k]);
    }
    for (int i = 0; i < c->L; i++) {
        const net_layer *l = net_layer_at(c->n, i);
        if (l->op != NET_RELU) {
            if (net_layer_has_radius(l))
                enclosure_rows(c, r, i);
            if (i + 1 == c->L || net_layer_at(c->n, i + 1)->op != NET_RELU)
                for (int o = 0; o < l->out; o++)
                    set_col(P, c->col_off[i + 1] + o + 1, -INFINITY, INFINITY);
            continue;
        }
        CN_REQUIRE(r->pre_lo && r->pre_hi && r->pre_lo[i] && r->pre_hi[i],
                   "pre-activation bounds for every ReLU layer");
        const signed char *sp = r->split ? r->split[i] : NULL;
        for (int k = 0; k < l->in; k++) {
            double lo = r->pre_lo[i][k], hi = r->pre_hi[i][k];
            int sg = sp ? sp[k] : 0;
            if (lo > hi || (sg > 0 && hi < 0.0) || (sg < 0 && lo > 0.0))
                return false;
            int zc = c->col_off[i] + k + 1, ac = c->col_off[i + 1] + k + 1;
            int r1 = c->row_off[i] + 2 * k + 1, r2 = r1 + 1;
            set_col(P, zc, lo, hi);
            c->s[zc - 1] = 0.0;
            c->kind[zc - 1] = R2_FREE;
            glp_set_row_bnds(P, r2, GLP_FR, 0, 0);
            bool active = lo >= 0.0 || (sg > 0), inactive = hi <= 0.0 || (sg < 0);
            if (inactive) {
                set_col(P, ac, 0.0, 0.0);
                glp_set_row_bnds(P, r1, GLP_FR, 0, 0);
                if (hi > 0.0) {                         /* split: z <= 0 */
                    int ind[2] = {0, zc};
                    double val[2] = {0, 1.0};
                    glp_set_mat_row(P, r2, 1, ind, val);
                    glp_set_row_bnds(P, r2, GLP_UP, 0, 0.0);
                    c->kind[zc - 1] = R2_SPLIT_INACTIVE;
                }
            } else if (active) {
                set_col(P, ac, fmax(lo, 0.0), hi);
                glp_set_row_bnds(P, r1, GLP_FX, 0, 0);   /* a - z = 0 */
                if (lo < 0.0) {                         /* split: z >= 0 */
                    int ind[2] = {0, zc};
                    double val[2] = {0, 1.0};
                    glp_set_mat_row(P, r2, 1, ind, val);
                    glp_set_row_bnds(P, r2, GLP_LO, 0.0, 0);
                    c->kind[zc - 1] = R2_SPLIT_ACTIVE;
                }
            } else {
                /* a <= s z + t with s >= u/(u-l) and t >= s (-l): the
                 * denominator rounded down (as -(l - u) rounded up), the
                 * quotient and product up.  One FE_UPWARD scope: GCC may
                 * move arithmetic across a fesetround call in spite of
                 * -frounding-math (it computed u - l after the switch to
                 * FE_UPWARD when this switched from FE_DOWNWARD). */
                int save = cn_round_push(FE_UPWARD);
                double den = -(lo - hi);
                double sl = hi / den;
                double t = sl * -lo;
                cn_round_pop(save);
                set_col(P, ac, 0.0, hi);
                glp_set_row_bnds(P, r1, GLP_LO, 0, 0);   /* a - z >= 0 */
                int ind[3] = {0, ac, zc};
                double val[3] = {0, 1.0, -sl};
                glp_set_mat_row(P, r2, 2, ind, val);
                glp_set_row_bnds(P, r2, GLP_UP, 0, t);   /* a - s z <= t */
                c->s[zc - 1] = sl;
                c->kind[zc - 1] = R2_TRIANGLE;
            }
        }
    }
    return true;
}

/* The region's linear input rows: each constraint
 * sum coef x <= rhs is relaxed soundly: coefficients rounded to nearest and
 * the right-hand side enlarged by the rounding error over the box. */
cn_status lp__setup_lin(lp_ctx *c, const lp_region *r, cn_err *err)
{
    glp_prob *P = c->P;
    if (c->n_lin_rows || r->n_lin)
        lp__conj_drop(c); /* they follow the linear rows */
    if (c->n_lin_rows) {
        int *del = cn_mallocarray((size_t)c->n_lin_rows + 1, sizeof(int));
        if (!del)
            return cn_fail(err, CN_ENOMEM, "out of memory");
        for (int k = 0; k < c->n_lin_rows; k++)
            del[k + 1] = c->n_rows_net + k + 1;
        glp_del_rows(P, c->n_lin_rows, del);
        cn_free(del);
        c->n_lin_rows = 0;
    }
    if (r->n_lin == 0)
        return CN_OK;
    double *ny = cn_reallocarray(c->y, (size_t)(c->n_rows_net + r->n_lin) + 1, sizeof(double));
    if (!ny)
        return cn_fail(err, CN_ENOMEM, "out of memory");
    c->y = ny;
    glp_add_rows(P, r->n_lin);
    c->n_lin_rows = r->n_lin;
    mpq_t e, t;
    mpq_init(e);
    mpq_init(t);
    for (int q = 0; q < r->n_lin; q++) {
        const prop_lin *a = &r->lin[q];
        /* coef_d = nearest double; the exact constraint sum coef x <= rhs
         * implies sum coef_d x <= rhs + sum |coef_d - coef| max|x|. */
        mpq_set(e, a->rhs);
        int len = 0;
        for (int k = 0; k < a->n; k++) {
            double cd = mpq_get_d(a->coef[k]);
            mpq_set_d(t, cd);
            mpq_sub(t, t, a->coef[k]);
            mpq_abs(t, t);
            double m = fmax(fabs(r->in_lo[a->var[k]]), fabs(r->in_hi[a->var[k]]));
            if (isinf(m) && mpq_sgn(t) != 0) {
                len = -1;   /* unbounded error: drop the constraint (a relaxation) */
                break;
            }
            mpq_t mq;
            mpq_init(mq);
            mpq_set_d(mq, m);
            mpq_mul(t, t, mq);
            mpq_add(e, e, t);
            mpq_clear(mq);
            len++;
            c->ind[len] = a->var[k] + 1;
            c->val[len] = cd;
        }
        int row = c->n_rows_net + q + 1;
        if (len < 0) {
            glp_set_row_bnds(P, row, GLP_FR, 0, 0);
            continue;
        }
        glp_set_mat_row(P, row, len, c->ind, c->val);
        glp_set_row_bnds(P, row, GLP_UP, 0, cn_mpq_get_d_up(e));
    }
    mpq_clear(e);
    mpq_clear(t);
    return CN_OK;
}

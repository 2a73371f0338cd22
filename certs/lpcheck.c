/* lpcheck.c — LP refutations: the check of an item ["lp", d, Y] (certs.h,
 * section 3, "LP refutations").
 *
 * The canonical LP of a node's region is rebuilt here from the checker's
 * own bounds (relax.c, the last cert_bounds_region) and the network; only
 * its multipliers y come from the certificate.  The claim checked is
 *     y^T b + sum_j min_{v_j in [lo_j, hi_j]} rc_j v_j  >  0,  rc = -A^T y,
 * which by Farkas' lemma (weak duality) shows that no point of the LP, hence
 * no input of the region whose outputs meet disjunct d, exists: every such
 * point v satisfies sum_r y_r A_r v >= sum_r y_r b_r (equalities exactly,
 * inequalities "A_r v >= b_r" with y_r >= 0), i.e. 0 >= y^T b + rc^T v.
 *
 * Arithmetic.  Everything in doubles runs in one FE_DOWNWARD scope (no mode
 * switch inside it: GCC may move arithmetic across fesetround even with
 * -frounding-math):
 *   - A^T y per column as an interval [glo, -gnh]: glo sums y_r A_rj and gnh
 *     sums -(y_r A_rj) = (-y_r) A_rj, both rounded down; so rc_j lies in
 *     [gnh_j, -glo_j];
 *   - min over the box of rc_j v_j: the smallest of the four corner
 *     products, each rounded down (a bilinear function takes its minimum
 *     over a box at a corner), a NaN winning;
 *   - the double part of y^T b (affine biases, enclosure terms |y| ne with
 *     ne <= -E, -y t of the ReLU rows) summed downward;
 *   - the rational part (right-hand sides of the linear input rows I and of
 *     the atom rows D, after moving the coefficients' residuals to them)
 *     exactly in GMP rationals.
 * The sum is compared with 0 exactly.  A multiplier that is not finite, or
 * negative on an inequality, refuses the item: with it the inequality
 * summed would not hold. */
#include "config.h"

#include <fenv.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "certs/certs_int.h"

int cert_lp_rows(const net *n, const prop_case *pc, int d)
{
    CN_REQUIRE(n && pc && d >= 0 && d < pc->n_disj, "a network and a disjunct of a case");
    int r = 0;
    for (int k = 0; k < net_n_layers(n); k++) {
        const net_layer *l = net_layer_at(n, k);
        r += l->op == NET_RELU ? 2 * l->in : l->out;
    }
    return r + pc->n_lin + pc->disj[d].n;
}

/* ---- the rows: where multiplier r belongs (messages, signs) ------------ */

/* Names row r of the canonical LP in buf; returns whether it is an
 * inequality (its multiplier must be >= 0). */
static bool row_name(const net *n, const prop_case *pc, int r, char *buf, size_t len)
{
    for (int k = 0; k < net_n_layers(n); k++) {
        const net_layer *l = net_layer_at(n, k);
        int rows = l->op == NET_RELU ? 2 * l->in : l->out;
        if (r < rows) {
            if (l->op != NET_RELU) {
                snprintf(buf, len, "row E of layer %d output %d", k, r);
                return false;
            }
            snprintf(buf, len, "row %c of ReLU layer %d neuron %d", r % 2 ? 'Q' : 'P', k, r / 2);
            return true;
        }
        r -= rows;
    }
    if (r < pc->n_lin)
        snprintf(buf, len, "row I of linear input constraint %d", r);
    else
        snprintf(buf, len, "row D of atom %d", r - pc->n_lin);
    return true;
}

/* ---- the sums ------------------------------------------------------------- */

typedef struct {
    cert_bounds *b;
    const net *n;
    int nl;
    int *off;                 /* [nl + 2] first column of z_k; off[nl + 1] = columns */
    double *glo, *gnh;        /* [columns] A^T y in [glo, -gnh] */
    double c;                 /* double part of y^T b, rounded down */
    mpq_t q;                  /* rational part of y^T b, exact */
    mpq_t t, u;               /* scratch */
} sums;

/* Column j gets y * coef of one row (FE_DOWNWARD). */
static inline void add(sums *s, int j, double y, double coef)
{
    s->glo[j] += y * coef;
    s->gnh[j] += (-y) * coef;
}

static void affine_rows(sums *s, int k, const double *y)
{
    const net_layer *l = net_layer_at(s->n, k);
    const double *W, *bias, *ne;
    cert__bounds_affine(s->b, k, &W, &bias, &ne);
    int zi = s->off[k], zo = s->off[k + 1];
    for (int o = 0; o < l->out; o++) {
        double v = y[o];
        if (v == 0.0)
            continue;
        add(s, zo + o, v, 1.0);
        const double *w = W + (size_t)o * (size_t)l->in;
        for (int j = 0; j < l->in; j++)
            if (w[j] != 0.0)
                add(s, zi + j, v, -w[j]);
        s->c += v * bias[o];
        if (ne)
            s->c += fabs(v) * ne[o];  /* y e_o >= -|y| E_o >= |y| ne_o */
    }
}

static void relu_rows(sums *s, int k, const double *y)
{
    const net_layer *l = net_layer_at(s->n, k);
    const double *lo, *hi;
    cert_bounds_layer(s->b, k, &lo, &hi);
    int z0 = s->off[k], a0 = s->off[k + 1];
    for (int j = 0; j < l->in; j++) {
        double yp = y[2 * j], yq = y[2 * j + 1], lj = lo[j], uj = hi[j], sl, t;
        if (uj <= 0.0) {
            sl = 0.0;
            t = 0.0;
        } else if (lj >= 0.0) {
            sl = 1.0;
            t = 0.0;
        } else {
            sl = uj / (uj - lj);              /* any rounding */
            double c1 = -(sl * lj);           /* >= -s l */
            double c2 = -(sl * uj - uj);      /* >= u - s u */
            t = c1 > c2 ? c1 : c2;
        }
        if (yp != 0.0) {                      /* P: a - z >= 0 */
            add(s, a0 + j, yp, 1.0);
            add(s, z0 + j, yp, -1.0);
        }
        if (yq != 0.0) {                      /* Q: s z - a >= -t */
            add(s, z0 + j, yq, sl);
            add(s, a0 + j, yq, -1.0);
            s->c += (-yq) * t;
        }
    }
}

/* A row  -sum cd_e v_e >= -RHS  of the constraint  sum c_e v_e <= rhs  over
 * the variables z_k (the box lo, hi), with cd_e the double of c_e and
 * RHS = rhs - min_box sum res_e v_e, res_e = c_e - cd_e exactly: since
 * cd.v = c.v - res.v <= rhs - res.v <= RHS, the row holds wherever the
 * constraint does.  The constant -y RHS is added to the rational part. */
static void lin_row(sums *s, const prop_lin *a, int k, double y)
{
    const double *lo, *hi;
    cert_bounds_layer(s->b, k, &lo, &hi);
    mpq_set(s->u, a->rhs);                    /* RHS */
    for (int e = 0; e < a->n; e++) {
        double cd = mpq_get_d(a->coef[e]);
        int v = a->var[e];
        add(s, s->off[k] + v, y, -cd);
        cn_mpq_set_d(s->t, cd);
        mpq_sub(s->t, a->coef[e], s->t);      /* res_e */
        if (mpq_sgn(s->t) == 0)
            continue;
        mpq_t box;
        mpq_init(box);
        cn_mpq_set_d(box, mpq_sgn(s->t) > 0 ? lo[v] : hi[v]);
        mpq_mul(s->t, s->t, box);             /* min over [lo, hi] of res_e v */
        mpq_clear(box);
        mpq_sub(s->u, s->u, s->t);
    }
    cn_mpq_set_d(s->t, y);
    mpq_mul(s->t, s->t, s->u);
    mpq_sub(s->q, s->q, s->t);
}

/* min over v in [vl, vu] and r in [rl, rh] of r v, rounded down (NaN wins). */
static double min_prod(double rl, double rh, double vl, double vu)
{
    if (rl == 0.0 && rh == 0.0)
        return 0.0;
    double p[4] = {rl * vl, rl * vu, rh * vl, rh * vu}, m = p[0];
    for (int i = 1; i < 4; i++)
        if (!(p[i] >= m))
            m = p[i];
    return m;
}

/* The double part of the bound: c plus the box minimum of every reduced
 * cost (FE_DOWNWARD). */
static double box_min(sums *s)
{
    double v = s->c;
    for (int k = 0; k <= s->nl; k++) {
        const double *lo, *hi;
        cert_bounds_layer(s->b, k, &lo, &hi);
        for (int j = 0; j < s->off[k + 1] - s->off[k]; j++) {
            int c = s->off[k] + j;
            v += min_prod(s->gnh[c], -s->glo[c], lo[j], hi[j]);
        }
    }
    return v;
}

/* Signs and finiteness of the multipliers; false with why[] set. */
static bool screen(const net *n, const prop_case *pc, const cert_par *p, char *why,
                   size_t why_len)
{
    for (int r = 0; r < p->n_dual; r++) {
        double y = p->dual[r];
        if (isfinite(y) && y >= 0.0)
            continue;
        char name[96];
        bool ineq = row_name(n, pc, r, name, sizeof name);
        if (!isfinite(y)) {
            snprintf(why, why_len, "multiplier %d (%s) is not finite", r, name);
            return false;
        }
        if (ineq) {
            snprintf(why, why_len, "multiplier %d (%s, an inequality) is negative: %a", r, name,
                     y);
            return false;
        }
    }
    return true;
}

cn_status cert_lp_refutes(cert_bounds *b, const prop_case *pc, int d, const cert_par *p, bool *ok,
                          char *why, size_t why_len, cn_err *err)
{
    CN_REQUIRE(b && pc && p && ok && why && why_len > 0 && d >= 0 && d < pc->n_disj,
               "bounds, a case, a disjunct, the parameters and outputs");
    const net *n = cert__bounds_net(b);
    *ok = false;
    why[0] = '\0';
    if (net_has_maxpool(n)) {
        snprintf(why, why_len, "max pooling layers are not in the checker's LP");
        return CN_OK;
    }
    int rows = cert_lp_rows(n, pc, d);
    if (p->kind != CERT_PAR_LP) {
        snprintf(why, why_len, "not an LP refutation");
        return CN_OK;
    }
    if (net_n_smooth(n) > 0) {
        snprintf(why, why_len, "LP refutations are not defined for sigmoid/tanh layers");
        return CN_OK;
    }
    if (p->n_dual != rows || (rows > 0 && !p->dual)) {
        snprintf(why, why_len, "%d multipliers, the LP of disjunct %d has %d rows", p->n_dual, d,
                 rows);
        return CN_OK;
    }
    if (!screen(n, pc, p, why, why_len))
        return CN_OK;
    sums s = {.b = b, .n = n, .nl = net_n_layers(n)};
    s.off = cn_mallocarray((size_t)s.nl + 2, sizeof(int));
    if (!s.off)
        return cn_fail(err, CN_ENOMEM, "checker: out of memory for an LP");
    s.off[0] = 0;
    s.off[1] = net_in_size(n);
    for (int k = 0; k < s.nl; k++)
        s.off[k + 2] = s.off[k + 1] + net_layer_at(n, k)->out;
    size_t nc = (size_t)s.off[s.nl + 1];
    s.glo = cn_calloc(nc, sizeof(double));
    s.gnh = cn_calloc(nc, sizeof(double));
    if (!s.glo || !s.gnh) {
        cn_free(s.off);
        cn_free(s.glo);
        cn_free(s.gnh);
        return cn_fail(err, CN_ENOMEM, "checker: out of memory for an LP");
    }
    mpq_inits(s.q, s.t, s.u, NULL);
    const double *y = p->dual;
    int saved = cn_round_push(FE_DOWNWARD);
    for (int k = 0; k < s.nl; k++) {
        const net_layer *l = net_layer_at(n, k);
        if (l->op == NET_RELU) {
            relu_rows(&s, k, y);
            y += 2 * l->in;
        } else {
            affine_rows(&s, k, y);
            y += l->out;
        }
    }
    cn_round_pop(saved);
    /* rational right-hand sides (no rounding mode needed: exact, and
     * nothing below is rounded except inside the next scope) */
    for (int q = 0; q < pc->n_lin; q++, y++)
        if (*y != 0.0) {
            saved = cn_round_push(FE_DOWNWARD);
            lin_row(&s, &pc->lin[q], 0, *y);
            cn_round_pop(saved);
        }
    const prop_conj *cj = &pc->disj[d];
    for (int i = 0; i < cj->n; i++, y++)
        if (*y != 0.0) {
            saved = cn_round_push(FE_DOWNWARD);
            lin_row(&s, &cj->atoms[i], s.nl, *y);
            cn_round_pop(saved);
        }
    saved = cn_round_push(FE_DOWNWARD);
    double v = box_min(&s);
    cn_round_pop(saved);
    if (isfinite(v)) {
        cn_mpq_set_d(s.t, v);
        mpq_add(s.t, s.t, s.q);
        *ok = mpq_sgn(s.t) > 0;
    }
    if (!*ok)
        snprintf(why, why_len, "the LP bound %.17g is not > 0", v + mpq_get_d(s.q));
    mpq_clears(s.q, s.t, s.u, NULL);
    cn_free(s.off);
    cn_free(s.glo);
    cn_free(s.gnh);
    return CN_OK;
}

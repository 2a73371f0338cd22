/* beta.c — the query rows' bounds with parameters (bounds.h, "Bounds with
 * parameters"): per-row lower slopes alpha of the unstable ReLUs and
 * multipliers beta >= 0 of the split constraints (beta-CROWN), optimised
 * by projected Adam or taken as given.
 *
 * Soundness does not depend on the values: for any alpha in [0, 1] the
 * lower line alpha z is below relu on [l, u], and for any beta >= 0 and a
 * split s z_j >= 0 that holds on the region, target >= target - beta s z_j
 * there.  The back-substitution (backsub.c) accounts for the rounding of
 * every coefficient update as for plain CROWN; the multipliers' update
 * adds its own term (backsub.c, beta_row).  The intermediate bounds and
 * relaxations are those of the preceding bnd_run. */
#include "config.h"

#include <fenv.h>
#include <math.h>
#include <string.h>

#include "bounds/bounds_int.h"

void bnd_default_slopes(const bnd_ctx *c, double *alpha)
{
    CN_REQUIRE(c && alpha, "context and output");
    for (int i = 0; i < c->nl; i++) {
        const bnd__layer *l = &c->L[i];
        if (!l->relu)
            continue;
        for (int j = 0; j < l->in; j++)
            alpha[l->relu_off + j] = l->al[j];
    }
}

/* Relu layers' alive-neuron lists also hold the split inactive neurons, whose
 * multipliers give them a nonzero coefficient over z_i. */
static void widen_alive(bnd_ctx *c, const signed char *split)
{
    for (int i = 0; i < c->nl; i++) {
        bnd__layer *l = &c->L[i];
        if (!l->relu)
            continue;
        l->na = 0;
        for (int j = 0; j < l->in; j++)
            if (l->st[j] != BND_ST_INACTIVE || split[l->relu_off + j])
                l->idx[l->na++] = j;
        l->wc_ok = false;
    }
}

static double clamp01(double x) { return x >= 0.0 ? (x <= 1.0 ? x : 1.0) : 0.0; }

/* Global [R x n_relus] parameters -> the per-layer arrays (projected). */
static void load_params(bnd_ctx *c, int R, const double *alpha, const double *beta)
{
    bnd__alpha *al = &c->al;
    for (int i = 0; i < c->nl; i++) {
        const bnd__layer *l = &c->L[i];
        if (!l->relu)
            continue;
        size_t n = (size_t)l->in;
        for (int r = 0; r < R; r++) {
            const double *ga = alpha + (size_t)r * (size_t)c->n_relus + l->relu_off;
            const double *gbt = beta + (size_t)r * (size_t)c->n_relus + l->relu_off;
            double *a = al->a[i] + (size_t)r * n, *b = al->b[i] + (size_t)r * n;
            for (size_t j = 0; j < n; j++) {
                a[j] = l->st[j] == BND_ST_UNSTABLE ? clamp01(ga[j]) : l->al[j];
                b[j] = al->beta_on && al->split[l->relu_off + j] && gbt[j] > 0.0 &&
                               gbt[j] < INFINITY
                           ? gbt[j]
                           : 0.0;
            }
        }
        /* the moments Adam reads: the listed neurons' (bnd__alpha_unstable) */
        for (int r = 0; r < R; r++) {
            size_t o = (size_t)r * n;
            for (int k = 0; k < al->nu[i]; k++)
                al->m1[i][o + (size_t)al->ui[i][k]] = al->m2[i][o + (size_t)al->ui[i][k]] = 0.0;
            for (int k = 0; k < al->ns[i]; k++)
                al->bm1[i][o + (size_t)al->si[i][k]] = al->bm2[i][o + (size_t)al->si[i][k]] = 0.0;
        }
    }
}

/* Row r's current parameters -> the global arrays. */
static void save_row(const bnd_ctx *c, int r, double *alpha, double *beta)
{
    const bnd__alpha *al = &c->al;
    for (int i = 0; i < c->nl; i++) {
        const bnd__layer *l = &c->L[i];
        if (!l->relu)
            continue;
        size_t n = (size_t)l->in;
        double *ga = alpha + (size_t)r * (size_t)c->n_relus + l->relu_off;
        double *gbt = beta + (size_t)r * (size_t)c->n_relus + l->relu_off;
        const double *a = al->a[i] + (size_t)r * n, *b = al->b[i] + (size_t)r * n;
        for (size_t j = 0; j < n; j++) {
            ga[j] = a[j];
            gbt[j] = b[j];
        }
    }
}

static void adam_step(bnd_ctx *c, int R, int t, double lr_a, double lr_b)
{
    bnd__alpha *al = &c->al;
    const double p1 = pow(0.9, t), p2 = pow(0.999, t);
    const double decay = pow(0.98, t - 1);
    for (int i = 0; i < c->nl; i++) {
        const bnd__layer *l = &c->L[i];
        if (!l->relu)
            continue;
        size_t n = (size_t)l->in;
        for (int r = 0; r < R; r++) {
            size_t o = (size_t)r * n;
            bnd__adam_idx(al->nu[i], al->ui[i], al->a[i] + o, al->g[i] + o, al->m1[i] + o,
                          al->m2[i] + o, lr_a * decay, p1, p2, 0.0, 1.0);
            if (al->beta_on)
                bnd__adam_idx(al->ns[i], al->si[i], al->b[i] + o, al->gb[i] + o, al->bm1[i] + o,
                              al->bm2[i] + o, lr_b * decay, p1, p2, 0.0, INFINITY);
        }
    }
}

typedef struct {
    int m;
    const double *C, *d;
} rows;

static void load_rows(bnd_ctx *c, const rows *f)
{
    memcpy(c->A, f->C, (size_t)f->m * (size_t)c->n_out * sizeof(double));
    for (int r = 0; r < f->m; r++)
        c->nc[r] = f->d ? -f->d[r] : 0.0;
}

cn_status bnd_run_param(bnd_ctx *c, const bnd_opts *o, int m, const double *C, const double *d,
                        double *alpha, double *beta, int iters, double lr_alpha, double lr_beta,
                        double *lb, cn_err *err)
{
    CN_REQUIRE(c && m >= 0 && (m == 0 || (C && alpha && beta && lb)) && iters >= 0,
               "context, rows, parameters and output");
    if (!c->last_ok)
        return cn_fail(err, CN_EINVAL, "bounds: no linear bounds of a feasible region to "
                                       "recompute with parameters");
    if (m == 0)
        return CN_OK;
    for (int r = 0; r < m; r++)
        for (int j = 0; j < c->n_out; j++)
            if (!isfinite(C[(size_t)r * (size_t)c->n_out + j]) || (d && !isfinite(d[r])))
                return cn_fail(err, CN_EINVAL, "bounds: query row %d is not finite", r);
    if (bnd__ensure_rows(c, m, err) != CN_OK || bnd__alpha_ensure(c, m, c->nl, err) != CN_OK)
        return err ? err->status : CN_ENOMEM;
    bnd__alpha *al = &c->al;
    al->R = m;
    al->s = c->nl;
    al->beta_on = c->last_split != NULL;
    al->split = c->last_split;
    int saved = cn_round_push(FE_UPWARD);
    if (al->beta_on)
        widen_alive(c, al->split);
    bnd__alpha_unstable(c);
    load_params(c, m, alpha, beta);
    rows f = {m, C, d};
    double *ib = c->row_lb;
    bnd__ibp_rows(c, m, C, d, ib);
    for (int r = 0; r < m; r++)
        lb[r] = -INFINITY;
    c->run_o = o;
    c->halted = false;
    c->param_rows = 0;
    for (int t = 0; t <= iters; t++) {
        if (bnd__halted(c)) { /* stopped: nothing is claimed */
            for (int r = 0; r < m; r++)
                lb[r] = -INFINITY;
            break;
        }
        load_rows(c, &f);
        bnd__backsub(c, c->nl, m, false, al, al->lbt, NULL);
        for (int r = 0; r < m; r++)
            if (al->lbt[r] > lb[r] || t == 0) {
                lb[r] = al->lbt[r];
                save_row(c, r, alpha, beta);
            }
        if (t == iters)
            break;
        bnd__alpha_grad(c, al);
        adam_step(c, m, t + 1, lr_alpha, lr_beta);
    }
    for (int r = 0; r < m && !c->halted; r++)
        if (ib[r] > lb[r])
            lb[r] = ib[r];
    if (!c->halted)
        c->param_rows = m;
    c->run_o = NULL;
    al->beta_on = false;
    al->split = NULL;
    cn_round_pop(saved);
    return CN_OK;
}

bool bnd_param_relu_coef(const bnd_ctx *c, int row, double *out)
{
    CN_REQUIRE(c && out, "context and output");
    if (row < 0 || row >= c->param_rows)
        return false;
    const bnd__alpha *al = &c->al;
    for (int i = 0; i < c->nl; i++) {
        const bnd__layer *l = &c->L[i];
        if (!l->relu)
            continue;
        const size_t n = (size_t)l->in;
        if (al->rec[i])
            memcpy(out + l->relu_off, al->rec[i] + (size_t)row * n, n * sizeof(double));
        else
            memset(out + l->relu_off, 0, n * sizeof(double));
    }
    return true;
}

cn_status bnd_run_param_fixed(bnd_ctx *c, const bnd_opts *o, int m, const double *C,
                              const double *d, double *alpha, double *beta, int relu, int s,
                              double *lb, cn_err *err)
{
    CN_REQUIRE(c && (s == 1 || s == -1) && relu >= 0 && relu < c->n_relus,
               "context, a ReLU and a phase");
    int li = -1;
    for (int i = 0; i < c->nl && li < 0; i++)
        if (c->L[i].relu && relu >= c->L[i].relu_off && relu < c->L[i].relu_off + c->L[i].in)
            li = i;
    CN_REQUIRE(li >= 0, "the ReLU's layer");
    bnd__layer *l = &c->L[li];
    const int j = relu - l->relu_off;
    if (!c->last_ok || l->st[j] != BND_ST_UNSTABLE)
        return bnd_run_param(c, o, m, C, d, alpha, beta, 0, 0, 0, lb, err);
    /* the exact line of the phase, then the relaxation back */
    const double al = l->al[j], sn = l->sn[j], cn = l->cn[j], em = l->em[j];
    l->st[j] = s > 0 ? BND_ST_ACTIVE : BND_ST_INACTIVE;
    l->al[j] = l->sn[j] = s > 0 ? 1.0 : 0.0;
    l->cn[j] = 0.0;
    l->em[j] = 0.0;
    cn_status st = bnd_run_param(c, o, m, C, d, alpha, beta, 0, 0, 0, lb, err);
    l->st[j] = BND_ST_UNSTABLE;
    l->al[j] = al;
    l->sn[j] = sn;
    l->cn[j] = cn;
    l->em[j] = em;
    /* the alive lists as the last bnd_run left them (bnd_run_param may
     * have widened them without this neuron) */
    for (int i = 0; i < c->nl; i++) {
        bnd__layer *q = &c->L[i];
        if (!q->relu)
            continue;
        q->na = 0;
        for (int k = 0; k < q->in; k++)
            if (q->st[k] != BND_ST_INACTIVE)
                q->idx[q->na++] = k;
        q->wc_ok = false;
    }
    c->param_rows = 0;
    return st;
}

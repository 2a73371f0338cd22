/* node_opt.c — beta-CROWN at a ReLU-split node (opts.opt_bounds): the atoms
 * of the disjuncts plain CROWN leaves alive are bounded with per-row lower
 * slopes and split multipliers optimised by bnd_run_param, warm-started
 * from the parent's values.  The values are then rounded to what a
 * certificate stores (slopes q/128, multipliers as floats) and the bound is
 * computed again from exactly those, so that a refutation the engine counts
 * is one the checker recomputes (certs.h, CERT_PAR_AB).  With input
 * splitting (opts.input_opt_gap, vfy__opt_input) the same for the slopes
 * alone, from CROWN's, on boxes plain CROWN leaves open by a small gap;
 * nothing is kept in the node (no warm start: the parameters of millions
 * of boxes would not fit). */
#include "config.h"

#include <fenv.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "verifier/engine_int.h"

/* Adam steps, as alpha,beta-CROWN's defaults for branch and bound. */
#define OPT_LR_ALPHA 0.1
#define OPT_LR_BETA 0.05

cn_status vfy__opt_worker_init(worker *w)
{
    const shared *S = w->S;
    size_t k = (size_t)S->m * (size_t)S->n_relus + 1;
    w->oa = cn_mallocarray(k, sizeof(double));
    w->ob = cn_mallocarray(k, sizeof(double));
    w->oC = cn_mallocarray((size_t)S->m * (size_t)S->n_out + 1, sizeof(double));
    w->olb = cn_mallocarray((size_t)S->m + 1, sizeof(double));
    w->ok = cn_mallocarray((size_t)S->m + 1, sizeof(int));
    w->qa = cn_mallocarray((size_t)S->n_relus + 1, 1);
    w->gap = cn_mallocarray((size_t)S->n_relus + 1, sizeof(double));
    w->bj = cn_mallocarray((size_t)S->n_relus + 1, sizeof(int));
    w->bv = cn_mallocarray((size_t)S->n_relus + 1, sizeof(double));
    return w->oa && w->ob && w->oC && w->olb && w->ok && w->qa && w->gap && w->bj && w->bv
               ? CN_OK
               : CN_ENOMEM;
}

void vfy__opt_worker_clear(worker *w)
{
    cn_free(w->oa);
    cn_free(w->ob);
    cn_free(w->oC);
    cn_free(w->olb);
    cn_free(w->ok);
    cn_free(w->qa);
    cn_free(w->gap);
    cn_free(w->bj);
    cn_free(w->bv);
}

/* The rows of the alive disjuncts' atoms, with their starting values. */
static int load_rows(worker *w, const node *nd, const uint64_t *alive)
{
    const shared *S = w->S;
    const int nr = S->n_relus, no = S->n_out;
    int R = 0;
    for (int d = 0; d < S->n_disj; d++) {
        if (!vfy__alive_get(alive, d))
            continue;
        for (int k = S->dstart[d]; k < S->dstart[d + 1]; k++, R++) {
            double *a = w->oa + (size_t)R * (size_t)nr, *b = w->ob + (size_t)R * (size_t)nr;
            w->ok[R] = k;
            memcpy(w->oC + (size_t)R * (size_t)no, S->C + (size_t)k * (size_t)no,
                   sizeof(double) * (size_t)no);
            if (nd && nd->has_par) {
                const unsigned char *pa = nd->pa + (size_t)k * (size_t)nr;
                const float *pb = nd->pb + (size_t)k * (size_t)nr;
                for (int j = 0; j < nr; j++) {
                    a[j] = (double)pa[j] / CERT_ALPHA_DEN;
                    b[j] = pb[j];
                }
            } else {
                bnd_default_slopes(w->bc, a);
                memset(b, 0, sizeof(double) * (size_t)nr);
            }
        }
    }
    return R;
}

/* The values a certificate stores: slopes on the 1/128 grid, multipliers
 * as floats (0 below 1e-30 or off the splits); kept in the node too when it
 * has room for them (opt_on). */
static void round_params(worker *w, node *nd, int R)
{
    const shared *S = w->S;
    const int nr = S->n_relus;
    for (int r = 0; r < R; r++) {
        double *a = w->oa + (size_t)r * (size_t)nr, *b = w->ob + (size_t)r * (size_t)nr;
        unsigned char *pa = nd->pa ? nd->pa + (size_t)w->ok[r] * (size_t)nr : NULL;
        float *pb = nd->pb ? nd->pb + (size_t)w->ok[r] * (size_t)nr : NULL;
        for (int j = 0; j < nr; j++) {
            long q = lround(a[j] * CERT_ALPHA_DEN);
            q = q < 0 ? 0 : q > CERT_ALPHA_DEN ? CERT_ALPHA_DEN : q;
            a[j] = (double)q / CERT_ALPHA_DEN;
            float f = nd->split && nd->split[j] && b[j] > 1e-30 && b[j] < 1e30 ? (float)b[j]
                                                                                 : 0.0f;
            b[j] = f;
            if (pa) {
                pa[j] = (unsigned char)q;
                pb[j] = f;
            }
        }
    }
    if (nd->pa && R > 0)
        nd->has_par = true;
}

bool vfy__alpha_is_default(unsigned char q, double lo, double hi)
{
    /* (the checker's default lower slope of an unstable ReLU: 1 when
     * u >= -l, else 0, certs.h section 3) */
    return lo >= 0.0 || hi <= 0.0 || q == (hi >= -lo ? CERT_ALPHA_DEN : 0);
}

/* Logs the refutation of disjunct d by row r (atom k).  *region: 0 before
 * the node's first logged row, then 1 when the checker's bounds of the
 * node's region (vfy__lpc_region, as the checker will compute them) are in
 * w->pre_lo / pre_hi, -1 when not: the slopes that cannot change the
 * checker's bound there (vfy__alpha_is_default) are left to the default. */
static void log_row(worker *w, node *nd, int d, int r, int *region)
{
    shared *S = w->S;
    const int nr = S->n_relus;
    if (*region == 0) { /* (past the deadline: the slopes stay as they are, all valid) */
        cert_region cr;
        *region = !vfy__must_stop(S) &&
                          vfy__lpc_region(w, nd->lo, nd->hi, nd->split, &cr) == CN_OK &&
                          cr == CERT_REGION_OK
                      ? 1
                      : -1;
    }
    const double *a = w->oa + (size_t)r * (size_t)nr, *b = w->ob + (size_t)r * (size_t)nr;
    cert_par p = {.kind = CERT_PAR_AB, .atom = w->ok[r] - S->dstart[d], .n_alpha = nr,
                  .alpha = w->qa};
    for (int j = 0; j < nr; j++) {
        w->qa[j] = (unsigned char)lround(a[j] * CERT_ALPHA_DEN);
        if (b[j] > 0.0) {
            w->bj[p.n_beta] = j;
            w->bv[p.n_beta++] = b[j];
        }
    }
    vfy__alpha_defaults(S, S->n_layers, nd->split, w->qa);
    for (int i = 0; *region > 0 && i < S->n_layers; i++) {
        if (net_layer_at(S->n, i)->op != NET_RELU)
            continue;
        for (int j = 0; j < net_layer_at(S->n, i)->in; j++)
            if (vfy__alpha_is_default(w->qa[S->relu_off[i] + j], w->pre_lo[i][j],
                                      w->pre_hi[i][j]))
                w->qa[S->relu_off[i] + j] = CERT_ALPHA_DEFAULT;
    }
    p.beta_j = w->bj;
    p.beta = w->bv;
    vfy__log_refuted_par(S, nd->pid, d, &p);
}

/* vfy__opt_node with `iters` steps; fresh: start from the last run's
 * default slopes and no multipliers rather than the node's values. */
static cn_status opt_rows(worker *w, node *nd, int iters, bool fresh, bool *closed)
{
    shared *S = w->S;
    int R = load_rows(w, fresh ? NULL : nd, nd->alive);
    if (R == 0)
        return CN_OK;
    int was = vfy__phase_to(w, VFY__PH_OPTIMISE);
    cn_status st = bnd_run_param(w->bc, &w->bo, R, w->oC, NULL, w->oa, w->ob, iters,
                                 OPT_LR_ALPHA, OPT_LR_BETA, w->olb, &w->err);
    if (st == CN_OK) {
        round_params(w, nd, R);
        st = bnd_run_param(w->bc, &w->bo, R, w->oC, NULL, w->oa, w->ob, 0, 0, 0, w->olb,
                           &w->err);
    }
    vfy__phase_to(w, was);
    if (st != CN_OK) /* EINVAL: no linear bounds to start from */
        return st == CN_EINVAL ? CN_OK : st;
    /* refute as vfy__bound_region does, with the rounded values' bounds
     * (w->ymax holds that call's output magnitudes when corrections exist) */
    double worst = INFINITY;
    bool any = false;
    int r = 0, region = S->log ? 0 : -1;
    int saved = cn_round_push(FE_UPWARD);
    for (int d = 0; d < S->n_disj; d++) {
        if (!vfy__alive_get(nd->alive, d))
            continue;
        double best = -INFINITY;
        int hit = -1;
        for (int k = S->dstart[d]; k < S->dstart[d + 1]; k++, r++) {
            double sub = S->r_up[k];
            for (int j = 0; j < S->n_out; j++)
                if (S->cerr[(size_t)k * S->n_out + j] != 0.0)
                    sub += S->cerr[(size_t)k * S->n_out + j] * w->ymax[j];
            double lb = w->olb[r];
            if (lb > sub && hit < 0)
                hit = r;
            double lbk = lb > w->lb[k] ? lb : w->lb[k];
            if (lbk - sub > best)
                best = lbk - sub;
        }
        if (hit >= 0) {
            cn_round_pop(saved);
            log_row(w, nd, d, hit, &region);
            saved = cn_round_push(FE_UPWARD);
            vfy__alive_clear(nd->alive, d);
            continue;
        }
        any = true;
        if (best < worst)
            worst = best;
    }
    cn_round_pop(saved);
    *closed = !any;
    nd->score = any ? worst : INFINITY;
    return CN_OK;
}

cn_status vfy__opt_node(worker *w, node *nd, bool *closed)
{
    return opt_rows(w, nd, w->S->o->opt_iters, false, closed);
}

cn_status vfy__opt_input(worker *w, node *nd, bool *closed)
{
    return opt_rows(w, nd, w->S->o->input_opt_iters, true, closed);
}

/* The part of an atom's lower bound lb_k - (r + corrections) that counts
 * (upward scope), as vfy__bound_region computes it. */
static double margin_of(const worker *w, int k, double lb)
{
    const shared *S = w->S;
    double sub = S->r_up[k];
    for (int j = 0; j < S->n_out; j++)
        if (S->cerr[(size_t)k * S->n_out + j] != 0.0)
            sub += S->cerr[(size_t)k * S->n_out + j] * w->ymax[j];
    return lb - sub;
}

cn_status vfy__opt_eval(worker *w, const node *nd, const uint64_t *alive, int relu, int s,
                        double *score, double *gap)
{
    shared *S = w->S;
    if (!nd->has_par)
        return CN_OK;
    int R = load_rows(w, nd, alive);
    if (R == 0)
        return CN_OK;
    int was = vfy__phase_to(w, VFY__PH_OPTIMISE);
    cn_status st =
        relu >= 0 ? bnd_run_param_fixed(w->bc, &w->bo, R, w->oC, NULL, w->oa, w->ob, relu, s,
                                        w->olb, &w->err)
                  : bnd_run_param(w->bc, &w->bo, R, w->oC, NULL, w->oa, w->ob, 0, 0, 0, w->olb,
                                  &w->err);
    vfy__phase_to(w, was);
    if (st != CN_OK) /* EINVAL: no linear bounds to evaluate with */
        return st == CN_EINVAL ? CN_OK : st;
    double worst = INFINITY;
    int worst_r = -1, r = 0;
    int saved = cn_round_push(FE_UPWARD);
    for (int d = 0; d < S->n_disj; d++) {
        if (!vfy__alive_get(alive, d))
            continue;
        double best = -INFINITY;
        int best_r = -1;
        for (int k = S->dstart[d]; k < S->dstart[d + 1]; k++, r++) {
            double v = margin_of(w, k, fmax(w->olb[r], w->lb[k]));
            if (v > best || best_r < 0) {
                best = v;
                best_r = r;
            }
        }
        if (best > 0.0)
            continue; /* refuted by these values: the child's optimisation closes it */
        if (best < worst) {
            worst = best;
            worst_r = best_r;
        }
    }
    cn_round_pop(saved);
    *score = worst;
    if (gap && worst_r >= 0 && bnd_param_relu_coef(w->bc, worst_r, gap)) {
        /* BaBSR's intercept score with the row's own coefficients: an
         * unstable ReLU whose upper line the row uses (coefficient < 0)
         * costs |lambda| (-l u / (u - l)) of the bound */
        for (int i = 0; i < S->n_layers; i++) {
            if (net_layer_at(S->n, i)->op != NET_RELU)
                continue;
            const double *l, *u;
            bnd_layer_bounds(w->bc, i, &l, &u);
            int in = net_layer_at(S->n, i)->in, off = S->relu_off[i];
            for (int k = 0; k < in; k++) {
                double lam = gap[off + k];
                gap[off + k] = l[k] < 0 && u[k] > 0 && lam < 0 ? -lam * (-l[k] * u[k] / (u[k] - l[k]))
                                                            : 0.0;
            }
        }
        return CN_OK;
    }
    if (gap)
        gap[0] = NAN; /* no coefficients */
    return CN_OK;
}

void vfy__ref_free(shared *S)
{
    for (int i = 0; i < S->n_layers; i++) {
        if (S->ref_lo)
            cn_free(S->ref_lo[i]);
        if (S->ref_hi)
            cn_free(S->ref_hi[i]);
    }
    cn_free(S->ref_lo);
    cn_free(S->ref_hi);
    S->ref_lo = S->ref_hi = NULL;
}

static void on_claim(void *user, int i, int j, int sgn, double lb, const unsigned char *q)
{
    shared *S = user;
    if (sgn > 0)
        S->ref_lo[i][j] = lb;
    else
        S->ref_hi[i][j] = -lb;
    vfy__log_claim(S, i, j, sgn, lb, q);
}

/* The case's claims logged from index `first` on, with the slopes that
 * cannot change the checker's bound left to the default (ReLUs it will
 * find stable, slopes equal to its default: vfy__alpha_is_default): the
 * checker re-proves the claims of each layer over one region of the root
 * box with the claims of the layers below in force (certs.h section 3, B);
 * that region is computed here as it will be (the checker's own bounds,
 * the same box and known bounds), so the bounds it recomputes keep their
 * values.  Without memory, or once the search must stop, the slopes stay as
 * they are. */
static void claim_defaults(worker *w, int first)
{
    shared *S = w->S;
    cert_bounds *cb = cert_bounds_new(S->n, NULL);
    if (!cb)
        return;
    pthread_mutex_lock(&S->log_mu);
    vfy_proof *L = S->log;
    cert_bounds_ref_reset(cb);
    cert_region r = CERT_REGION_OK;
    for (int k = first, at = -1; k < L->n_claims; k++) {
        const vfy_claim *c = &L->claims[k];
        if (c->layer < at || vfy__must_stop(S))
            break; /* not by layer (the checker refuses it anyway), or past the deadline:
                      the remaining slopes stay as they are, all valid */
        if (c->layer != at) {
            r = cert_bounds_region(cb, S->pc->lo_d, S->pc->hi_d, NULL);
            at = c->layer;
        }
        if (r != CERT_REGION_OK)
            break;
        for (int i = 0; i < c->layer; i++) {
            if (net_layer_at(S->n, i)->op != NET_RELU)
                continue;
            const double *lo, *hi;
            cert_bounds_layer(cb, i, &lo, &hi);
            for (int j = 0; j < net_layer_at(S->n, i)->in; j++)
                if (vfy__alpha_is_default(c->q[S->relu_off[i] + j], lo[j], hi[j]))
                    c->q[S->relu_off[i] + j] = CERT_ALPHA_DEFAULT;
        }
        cert_bounds_ref_set(cb, c->layer, c->neuron, c->sgn, c->lb);
    }
    pthread_mutex_unlock(&S->log_mu);
    cert_bounds_free(cb);
}

cn_status vfy__root_tighten(worker *w, node *nd)
{
    shared *S = w->S;
    if (S->ref_lo)
        return CN_OK;
    S->ref_lo = cn_calloc((size_t)S->n_layers, sizeof(double *));
    S->ref_hi = cn_calloc((size_t)S->n_layers, sizeof(double *));
    bool ok = S->ref_lo && S->ref_hi;
    for (int i = 0; ok && i < S->n_layers; i++) {
        const net_layer *l = net_layer_at(S->n, i);
        if (l->op != NET_RELU)
            continue;
        S->ref_lo[i] = cn_mallocarray((size_t)l->in, sizeof(double));
        S->ref_hi[i] = cn_mallocarray((size_t)l->in, sizeof(double));
        ok = S->ref_lo[i] && S->ref_hi[i];
        for (int j = 0; ok && j < l->in; j++) {
            S->ref_lo[i][j] = -INFINITY;
            S->ref_hi[i][j] = INFINITY;
        }
    }
    if (!ok) {
        vfy__ref_free(S);
        return cn_fail(&w->err, CN_ENOMEM, "out of memory for a root's bounds");
    }
    bnd_opts o = w->bo_alpha; /* the case's deadline and stop */
    bnd_region r = {.lo = nd->lo, .hi = nd->hi, .split = nd->split};
    bnd_result res;
    int was = vfy__phase_to(w, VFY__PH_OPTIMISE);
    int first = S->log ? S->log->n_claims : 0;
    cn_status st = bnd_run_tight(w->bc, &o, &r, 0, NULL, NULL, NULL, &res, on_claim, S, &w->err);
    vfy__phase_to(w, was);
    if (S->log)
        claim_defaults(w, first);
    return st; /* (a stopped run: the claims made before the stop hold) */
}

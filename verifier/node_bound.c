/* node_bound.c — bounding a node: the linear bound of every atom a.y <= r
 * over the node's region (bnd_run, CROWN or alpha-CROWN), each disjunct
 * refuted when one of its atoms has lb > r even after the coefficients'
 * rounding errors; the node's score is the smallest margin over the alive
 * disjuncts.  The bound also yields the branching hint (pref_dim) and, with
 * input splitting, the box vertex that minimises the hardest atom's linear
 * bound: it and the box centre are tried as counterexamples. */
#include "config.h"

#include <fenv.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "verifier/engine_int.h"

/* The disjuncts the atoms' lower bounds lb[m] refute (cleared in alive):
 * an atom a.y <= r is refuted when lb > r even after the coefficients'
 * rounding errors, measured with the output bounds of the last bnd_run
 * (b < 0) or of region b of the last batch.  *worst: the smallest margin
 * over the alive disjuncts (+inf: none left), *any: whether one is left;
 * returns the atom of that margin (-1). */
static int refute(worker *w, const double *lb, int b, uint64_t *alive, double *worst_out,
                  bool *any_out)
{
    shared *S = w->S;
    bool need_corr = false;
    for (int k = 0; k < S->m * S->n_out; k++)
        if (S->cerr[k] != 0.0)
            need_corr = true;
    if (need_corr) {
        const double *ylo, *yhi;
        if (b < 0)
            bnd_layer_bounds(w->bc, S->n_layers, &ylo, &yhi);
        else
            bnd_batch_layer_bounds(w->bc, b, S->n_layers, &ylo, &yhi);
        for (int j = 0; j < S->n_out; j++)
            w->ymax[j] = fmax(fabs(ylo[j]), fabs(yhi[j]));
    }
    double worst = INFINITY;
    bool any = false;
    int worst_atom = -1;
    int saved = cn_round_push(FE_UPWARD);
    for (int d = 0; d < S->n_disj; d++) {
        if (!vfy__alive_get(alive, d))
            continue;
        double best = -INFINITY;
        int best_k = -1;
        for (int k = S->dstart[d]; k < S->dstart[d + 1]; k++) {
            /* need: a.y > r for all x.  a.y >= a_d.y - sum |a - a_d| |y|
             * >= lb_k - corr; refuted when lb_k > corr + r_up (rounded up). */
            double sub = S->r_up[k];
            if (need_corr)
                for (int j = 0; j < S->n_out; j++)
                    sub += S->cerr[(size_t)k * S->n_out + j] * w->ymax[j];
            double lbk = lb[k];
            if (lbk > sub) {
                best = INFINITY;
                break;
            }
            double margin = lbk - sub; /* <= 0; display/score only */
            if (margin > best || best_k < 0) {
                best = margin;
                best_k = k;
            }
        }
        if (best == INFINITY) {
            vfy__alive_clear(alive, d);
            continue;
        }
        any = true;
        if (best < worst || worst_atom < 0) {
            worst = best;
            worst_atom = best_k;
        }
    }
    cn_round_pop(saved);
    *worst_out = worst;
    *any_out = any;
    return worst_atom;
}

/* Bounds the region; updates alive (refuted disjuncts cleared) and returns
 * the node score (min over alive disjuncts of the best atom's lb - r; > 0 for
 * every alive disjunct means closed).  *closed tells whether nothing is left.
 * alpha selects the optimised slopes (time: VFY__PH_OPTIMISE, else
 * VFY__PH_BOUNDS).  A pass stopped by the deadline or the phase's end
 * (bnd_result.stopped) sets w->halted and refutes nothing: score -inf, the
 * layer bounds unknown; the caller gives the node back. */
cn_status vfy__bound_region(worker *w, const double *lo, const double *hi,
                              const signed char *split, uint64_t *alive, bool alpha,
                              double *score, bool *closed)
{
    shared *S = w->S;
    bnd_region r = {lo, hi, split, (const double *const *)S->ref_lo,
                    (const double *const *)S->ref_hi, w->act_lo, w->act_hi};
    bnd_result res;
    const bnd_opts *bo = alpha ? &w->bo_alpha : &w->bo;
    int was = vfy__phase_to(w, bo->method == BND_ALPHA ? VFY__PH_OPTIMISE : VFY__PH_BOUNDS);
    cn_status st = bnd_run(w->bc, bo, &r, S->m, S->C, NULL, w->lb, &res, &w->err);
    vfy__phase_to(w, was);
    if (st != CN_OK)
        return st;
    w->pref_dim[0] = w->pref_dim[1] = -1;
    w->have_cand = false;
    if (res.stopped) { /* no bound: nothing refuted, nothing known (w->halted) */
        w->halted = true;
        w->n_unst = INT_MAX;
        *score = -INFINITY;
        *closed = false;
        return CN_OK;
    }
    if (res.infeasible) {
        memset(alive, 0, sizeof(uint64_t) * (size_t)S->words);
        *score = INFINITY;
        *closed = true;
        return CN_OK;
    }
    if (S->own_box && S->o->lp_tail > 0)
        w->n_unst = vfy__top_unstable(w, split, 0, NULL, NULL);
    double worst;
    bool any;
    int worst_atom = refute(w, w->lb, -1, alive, &worst, &any);
    w->worst_atom = worst_atom;
    /* Branching hint: the input dimension contributing most to the gap of
     * the hardest disjunct's most promising atom, |A_j| (hi_j - lo_j). */
    if (any && (S->own_box || S->act_mode) && worst_atom >= 0) {
        const double *A;
        bnd_input_coef(w->bc, worst_atom, &A);
        /* Counterexample candidate: where the linear lower bound of the atom
         * that is hardest to satisfy is smallest (a vertex of the box). */
        for (int j = 0; A && j < S->n_in; j++)
            w->cand[j] = A[j] > 0 ? lo[j] : A[j] < 0 ? hi[j] : lo[j] + 0.5 * (hi[j] - lo[j]);
        w->have_cand = A != NULL;
        double sb[2] = {0, 0};
        for (int j = 0; A && j < S->n_in; j++) {
            double mid = lo[j] + 0.5 * (hi[j] - lo[j]);
            if (!(mid > lo[j] && mid < hi[j]))
                continue;
            double sc = fabs(A[j]) * (hi[j] - lo[j]);
            if (sc > sb[0]) {
                sb[1] = sb[0];
                w->pref_dim[1] = w->pref_dim[0];
                sb[0] = sc;
                w->pref_dim[0] = j;
            } else if (sc > sb[1]) {
                sb[1] = sc;
                w->pref_dim[1] = j;
            }
        }
    }
    *closed = !any;
    *score = any ? worst : INFINITY;
    return CN_OK;
}

/* After vfy__try_point on a point of nd's box: keeps the smallest margin seen
 * and where (children whose box holds that point inherit both). */
void vfy__note_point(worker *w, node *nd)
{
    if (w->margin < nd->conc) {
        nd->conc = w->margin;
        memcpy(nd->bx, w->cvec_in, sizeof(double) * (size_t)w->S->n_in);
    }
}

/* The rest of vfy__bound_node once the bound is known (st its status). */
static cn_status bound_node_finish(worker *w, node *nd, cn_status st, bool *closed)
{
    shared *S = w->S;
    nd->pref_dim[0] = w->pref_dim[0];
    nd->pref_dim[1] = w->pref_dim[1];
    nd->n_unst = w->n_unst;
    if (st == CN_OK && S->log) {
        vfy__log_refuted(S, nd->pid, w->alive_before, nd->alive);
        if (*closed)
            vfy__log_set(S, nd->pid, VFY_PN_LEAF_BOUNDS, -1, 0);
    }
    if (st == CN_OK && !*closed && S->act_mode && !w->halted && w->have_cand)
        vfy__try_point(w, w->cand); /* activation splitting: the bound's vertex */
    if (st != CN_OK || *closed || !S->own_box || w->halted)
        return st;
    /* input splitting: the vertex and the centre, as counterexamples (a hit
     * ends the search with sat) and for the node's margin priority */
    if (w->have_cand) {
        if (vfy__try_point(w, w->cand))
            return st;
        vfy__note_point(w, nd);
        memcpy(nd->cand, w->cand, sizeof(double) * (size_t)S->n_in);
    }
    for (int i = 0; i < S->n_in; i++)
        w->cand[i] = nd->lo[i] + 0.5 * (nd->hi[i] - nd->lo[i]);
    vfy__try_point(w, w->cand);
    vfy__note_point(w, nd);
    return st;
}

/* With input splitting (opt_in): whether nd's plain bound, just computed,
 * left it open by at most opts.input_opt_gap (worth optimising). */
static bool near_closing(const worker *w, const node *nd)
{
    return w->S->opt_in && !w->halted && nd->score >= -w->S->o->input_opt_gap;
}

/* The optimised bound after a plain bound of nd's region (the context's
 * last run) left it open: vfy__opt_node (ReLU splitting) or
 * vfy__opt_input; the plain refutations are logged first, the optimised
 * ones by node_opt.c. */
static cn_status bound_opt(worker *w, node *nd, bool input, bool *closed)
{
    shared *S = w->S;
    if (S->log) {
        vfy__log_refuted(S, nd->pid, w->alive_before, nd->alive);
        memcpy(w->alive_before, nd->alive, sizeof(uint64_t) * (size_t)S->words);
    }
    cn_status st = input ? vfy__opt_input(w, nd, closed) : vfy__opt_node(w, nd, closed);
    if (st == CN_OK && S->log)
        memcpy(w->alive_before, nd->alive, sizeof(uint64_t) * (size_t)S->words);
    return st;
}

/* vfy__bound_region on a node of the tree, recording what it refutes; with
 * opt (ReLU splitting), or near closing (input splitting), what plain CROWN
 * leaves open is bounded again with optimised parameters (node_opt.c); then
 * the bound's minimising vertex is tried as a counterexample. */
cn_status vfy__bound_node(worker *w, node *nd, bool opt, bool *closed)
{
    shared *S = w->S;
    if (S->log)
        memcpy(w->alive_before, nd->alive, sizeof(uint64_t) * (size_t)S->words);
    w->act_lo = nd->act_lo;
    w->act_hi = nd->act_hi;
    cn_status st =
        vfy__bound_region(w, nd->lo, nd->hi, nd->split, nd->alive, false, &nd->score, closed);
    w->act_lo = w->act_hi = NULL;
    if (st == CN_OK && S->act_mode && !*closed && !w->halted)
        vfy__act_choose(w, nd); /* from this bound's intermediate bounds */
    if (st == CN_OK && !*closed && opt && S->opt_on)
        st = bound_opt(w, nd, false, closed);
    else if (st == CN_OK && !*closed && near_closing(w, nd))
        st = bound_opt(w, nd, true, closed);
    return bound_node_finish(w, nd, st, closed);
}

/* The branching hints half h's trial bound left (what vfy__bound_region
 * sets in the worker for the node just bounded). */
static void trial_hints(worker *w, const trial *t, int h)
{
    w->pref_dim[0] = t->pref_dim[h][0];
    w->pref_dim[1] = t->pref_dim[h][1];
    w->have_cand = t->have_cand[h];
    w->n_unst = t->n_unst[h];
    memcpy(w->cand, t->cand[h], sizeof(double) * (size_t)w->S->n_in);
}

/* vfy__bound_node for half h of an input split whose bound vfy__split_input computed
 * already (the same call on the same box and alive set: the same result). */
cn_status vfy__bound_node_cached(worker *w, node *nd, const trial *t, int h, bool *closed)
{
    shared *S = w->S;
    if (S->log)
        memcpy(w->alive_before, nd->alive, sizeof(uint64_t) * (size_t)S->words);
    memcpy(nd->alive, t->alive[h], sizeof(uint64_t) * (size_t)S->words);
    nd->score = t->score[h];
    *closed = t->closed[h];
    trial_hints(w, t, h);
    cn_status st = CN_OK;
    if (!*closed && near_closing(w, nd)) {
        /* the optimisation starts from the context's last run, which was
         * another trial's box: bound this one again (the same result) */
        bool again;
        memcpy(w->alive_tmp, nd->alive, sizeof(uint64_t) * (size_t)S->words);
        double sc;
        st = vfy__bound_region(w, nd->lo, nd->hi, nd->split, w->alive_tmp, false, &sc, &again);
        if (st == CN_OK && !w->halted)
            st = bound_opt(w, nd, true, closed);
        w->halted = false; /* (a stopped bound: the node stays as the trial left it) */
        trial_hints(w, t, h);
    }
    return bound_node_finish(w, nd, st, closed);
}

cn_status vfy__bound_batch(worker *w, const node *nd, int B)
{
    shared *S = w->S;
    CN_REQUIRE(B >= 1 && B <= w->bt_n, "a batch within the worker's batch size");
    for (int b = 0; b < B; b++) {
        w->bt_rg[b] = (bnd_region){nd->lo, nd->hi, w->bt_split + (size_t)b * (size_t)S->n_relus,
                                   (const double *const *)S->ref_lo,
                                   (const double *const *)S->ref_hi, NULL, NULL};
        memcpy(w->bt_alive + (size_t)b * (size_t)S->words, nd->alive,
               sizeof(uint64_t) * (size_t)S->words);
    }
    int was = vfy__phase_to(w, w->bo.method == BND_ALPHA ? VFY__PH_OPTIMISE : VFY__PH_BOUNDS);
    cn_status st =
        bnd_run_batch(w->bc, &w->bo, B, w->bt_rg, S->m, S->C, NULL, w->bt_lb, w->bt_res, &w->err);
    vfy__phase_to(w, was);
    if (st != CN_OK)
        return st;
    for (int b = 0; b < B; b++) {
        uint64_t *alive = w->bt_alive + (size_t)b * (size_t)S->words;
        if (w->bt_res[b].stopped) { /* no bound (w->halted): nothing refuted */
            w->halted = true;
            w->bt_score[b] = -INFINITY;
        } else if (w->bt_res[b].infeasible) {
            memset(alive, 0, sizeof(uint64_t) * (size_t)S->words);
            w->bt_score[b] = INFINITY;
        } else {
            double worst;
            bool any;
            refute(w, w->bt_lb + (size_t)b * (size_t)S->m, b, alive, &worst, &any);
            w->bt_score[b] = any ? worst : INFINITY;
        }
    }
    return CN_OK;
}

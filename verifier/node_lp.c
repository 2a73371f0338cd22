/* node_lp.c — linear programming at nodes (lp/, rigorous from the duals):
 * vfy__node_lp at a ReLU-split node with every ReLU fixed, and the LP tail of
 * input splitting: a box with few unstable ReLUs is refuted by the LP over
 * each activation pattern, the ReLUs split depth first.  GLPK's time limit is
 * what is left before the case's deadline.
 * With the proof log (certificates) both take their intermediate bounds
 * from the checker's bounds of the region and count a disjunct refuted only
 * when the checker accepts the LP's multipliers (node_lp_cert.c); the
 * tail's patterns then become ReLU splits in the log. */
#include "config.h"

#include <fenv.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "verifier/engine_int.h"

/* GLPK's options: at most the time left before the case's deadline per
 * solve (at least 1 ms), so that an LP ends about when the run must (its
 * bound, from whatever multipliers GLPK had, stays rigorous). */
static void lp_limits(const shared *S, lp_opts *lo)
{
    lp_opts_init(lo);
    if (S->deadline > 0) {
        double left = S->deadline - vfy__now();
        lo->tm_lim_ms = left > 1e-3 ? (int)fmin(1e3 * left, INT_MAX) : 1;
    }
}

/* vfy__node_lp's work. */
static cn_status node_lp(worker *w, node *nd, bool *closed)
{
    shared *S = w->S;
    *closed = false;
    if (!w->lpc) {
        w->lpc = lp_ctx_new(S->n, &w->err);
        if (!w->lpc)
            return w->err.status == CN_EUNSUPPORTED ? CN_OK : w->err.status;
    }
    for (int i = 0; i < S->n_layers; i++) {
        w->pre_lo[i] = w->pre_hi[i] = NULL;
        w->lsplit[i] = NULL;
        if (net_layer_at(S->n, i)->op == NET_RELU) {
            bnd_layer_bounds(w->bc, i, &w->pre_lo[i], &w->pre_hi[i]);
            w->lsplit[i] = nd->split + S->relu_off[i];
        }
    }
    bool cert = S->log != NULL;
    if (cert) {
        cert_region cr;
        cn_status st = vfy__lpc_region(w, nd->lo, nd->hi, nd->split, &cr);
        if (st != CN_OK || cr == CERT_REGION_BLOWN)
            return st; /* (blown: no LP the checker could follow; not closed) */
        if (cr == CERT_REGION_EMPTY) {
            /* the checker's bounds find no point: it accepts every refutation */
            for (int d = 0; d < S->n_disj; d++)
                if (vfy__alive_get(nd->alive, d))
                    vfy__log_ref(S, nd->pid, d, NULL, 0);
            memset(nd->alive, 0, sizeof(uint64_t) * (size_t)S->words);
            *closed = true;
            return CN_OK;
        }
    }
    lp_region r = {nd->lo, nd->hi, w->pre_lo, w->pre_hi, w->lsplit, S->pc->n_lin, S->pc->lin};
    lp_opts lo;
    lp_limits(S, &lo);
    bool any = false;
    char fault[sizeof S->reason] = ""; /* a GLPK fault (lp.h): the reason if not closed */
    memcpy(w->alive_tmp, nd->alive, sizeof(uint64_t) * (size_t)S->words);
    for (int d = 0; d < S->n_disj; d++) {
        if (!vfy__alive_get(nd->alive, d))
            continue;
        if (vfy__must_stop(S)) { /* time is up: the node goes back as it came (w->halted;
                                    its LP refutations are not in the proof log) */
            memcpy(nd->alive, w->alive_tmp, sizeof(uint64_t) * (size_t)S->words);
            w->halted = true;
            any = true;
            break;
        }
        bool refuted = false;
        for (int k = S->dstart[d]; k < S->dstart[d + 1] && !refuted; k++) {
            bool exact = true;
            for (int j = 0; j < S->n_out; j++)
                if (S->cerr[(size_t)k * S->n_out + j] != 0)
                    exact = false;
            if (!exact && !cert)
                continue; /* (the checker accounts for inexact atoms itself) */
            lp_outcome out;
            double lbv;
            cn_status st = lp_lower_bound(w->lpc, &r, &lo, S->C + (size_t)k * S->n_out, 0.0, &out,
                                          &lbv, w->x, &w->err);
            if (st != CN_OK)
                return st;
            if (lp_fault(w->lpc)) {
                snprintf(fault, sizeof fault, "LP failed: %s", lp_fault(w->lpc));
                continue; /* (w->x was not written) */
            }
            if (cert && out == LP_BOUND) {
                for (int q = S->dstart[d]; q < S->dstart[d + 1]; q++)
                    w->lam[q - S->dstart[d]] = q == k ? 1.0 : 0.0;
                if ((st = vfy__lpc_keep(w, d, w->lam, &refuted)) != CN_OK)
                    return st;
                if (refuted)
                    vfy__log_ref(S, nd->pid, d, w->ykeep, w->ykeep_n);
            } else if (!cert && out == LP_BOUND && lbv > S->r_up[k]) {
                refuted = true;
            }
            if (!refuted && vfy__try_point(w, w->x))
                return CN_OK;
        }
        if (refuted)
            vfy__alive_clear(nd->alive, d);
        else
            any = true;
    }
    *closed = !any;
    if (any && fault[0] && !w->halted)
        vfy__set_undecided(S, fault); /* (the caller's reason comes second) */
    return CN_OK;
}

/* All ReLUs fixed (or few left): the LP over the node's polytope, one atom
 * at a time, rigorous from its duals.  Refutes what it can; its minimiser is
 * tried as a counterexample.  Returns whether the node is closed.  Its time
 * is the LP phase's. */
cn_status vfy__node_lp(worker *w, node *nd, bool *closed)
{
    int was = vfy__phase_to(w, VFY__PH_LP);
    cn_status st = node_lp(w, nd, closed);
    vfy__phase_to(w, was);
    return st;
}

/* ---- the LP tail (input splitting) ------------------------------------ */

/* Creates the worker's LP context on first use; false when the LP cannot
 * encode the network (then the tail is skipped). */
static bool want_lp(worker *w, cn_status *st)
{
    *st = CN_OK;
    if (w->lpc)
        return true;
    if (w->no_lp)
        return false;
    cn_err e;
    w->lpc = lp_ctx_new(w->S->n, &e);
    if (w->lpc)
        return true;
    w->no_lp = true;
    if (e.status != CN_EUNSUPPORTED) {
        w->err = e;
        *st = e.status;
    }
    return false;
}

/* Whether the LP refutes disjunct d of the region: the weights of its atoms
 * from lp_conj_solve, then the rigorous LP bound of their combination
 * lam.C, computed rounded up (tcy) and down (tcy_dn): since
 *     sum_k lam_k a_k.y  >=  tcy.y - sum_j (tcy_j - tcy_dn_j + sum_k lam_k cerr_kj) |y_j|,
 * the conjunction a_k.y <= r_k (all k) is empty when the LP's bound of tcy.y
 * exceeds sum_k lam_k r_up_k plus that correction with |y_j| <= ymax_j.
 * x receives an LP minimiser (a candidate counterexample). */
static cn_status tail_refute(worker *w, const lp_region *r, int d, int tn, bool *refuted,
                             double *x)
{
    shared *S = w->S;
    int k0 = S->dstart[d], md = S->dstart[d + 1] - k0, no = S->n_out;
    lp_opts lo;
    lp_limits(S, &lo);
    *refuted = false;
    bool conj = md > 1, empty = false;
    if (conj) {
        double t;
        cn_status st = lp_conj_solve(w->lpc, r, &lo, md, S->C + (size_t)k0 * no, S->r_up + k0,
                                     w->lam, &t, x, &w->err);
        if (st != CN_OK)
            return st;
        if (t == INFINITY) {
            empty = true; /* GLPK's guess: lp_lower_bound below proves it or not */
            conj = false;
            for (int k = 0; k < md; k++)
                w->lam[k] = 0.0;
        } else if (!(t > 0.0)) {
            return CN_OK; /* GLPK sees a point of every atom (or failed): no proof here */
        }
    } else {
        w->lam[0] = 1.0;
    }
    int saved = cn_round_push(FE_UPWARD);
    for (int j = 0; j < no; j++) {
        double up = 0.0, dn = 0.0;
        for (int k = 0; k < md; k++) {
            double c = S->C[(size_t)(k0 + k) * no + j];
            if (w->lam[k] == 0.0 || c == 0.0)
                continue;
            fesetround(FE_UPWARD);
            up += w->lam[k] * c;
            fesetround(FE_DOWNWARD);
            dn += w->lam[k] * c;
        }
        w->tcy[j] = up;
        w->tcy_dn[j] = dn;
    }
    cn_round_pop(saved);
    double lbv;
    if (conj) {
        lbv = lp_conj_bound(w->lpc, w->tcy);
    } else {
        lp_outcome out;
        cn_status st = lp_lower_bound(w->lpc, r, &lo, w->tcy, 0.0, &out, &lbv, empty ? NULL : x,
                                      &w->err);
        if (st != CN_OK || out != LP_BOUND)
            return st;
    }
    saved = cn_round_push(FE_UPWARD);
    double rhs = 0.0;
    for (int k = 0; k < md; k++)
        if (w->lam[k] > 0.0)
            rhs += w->lam[k] * S->r_up[k0 + k];
    for (int j = 0; j < no; j++) {
        double e = w->tcy[j] - w->tcy_dn[j];
        for (int k = 0; k < md; k++)
            if (w->lam[k] > 0.0)
                e += w->lam[k] * S->cerr[(size_t)(k0 + k) * no + j];
        if (e > 0.0)
            rhs += e * w->ymax[j];
    }
    cn_round_pop(saved);
    *refuted = lbv > rhs; /* false when rhs is NaN or infinite */
    if (!w->S->log)
        return CN_OK;
    /* the proof log: the checker's test decides (lam: the atoms' weights,
     * all 0 after an empty guess, when the bound is a Farkas ray's) */
    cn_status st = vfy__lpc_keep(w, d, w->lam, refuted);
    if (st == CN_OK && *refuted)
        st = vfy__tt_ref(w, tn, d, w->ykeep, w->ykeep_n);
    return st;
}

/* Depth first over the activation patterns of the unstable ReLUs u[depth..nu):
 * whether disjunct d is refuted on every pattern.  A pattern with every
 * neuron fixed that the LP (then exact up to the conjunction's weights) does
 * not refute ends the attempt; LP minimisers are tried as counterexamples. */
static cn_status tail_dfs(worker *w, const lp_region *r, int d, const int *u, int nu, int depth,
                          int tn, bool *refuted, bool *found)
{
    shared *S = w->S;
    *refuted = false;
    if (vfy__must_stop(S) || w->tail_budget <= 0)
        return CN_OK; /* (out of budget or time: not refuted, input splitting goes on) */
    w->tail_budget--;
    w->local_nodes++;
    bool lp = true;
    cn_status st = CN_OK;
    if (S->log) { /* the checker's bounds of the pattern are the LP's */
        cert_region cr;
        if ((st = vfy__lpc_region(w, r->in_lo, r->in_hi, w->tsplit, &cr)) != CN_OK)
            return st;
        if (cr == CERT_REGION_EMPTY) {
            *refuted = true; /* the checker finds no point: a plain refutation */
            return vfy__tt_ref(w, tn, d, NULL, 0);
        }
        lp = cr == CERT_REGION_OK;
    }
    if (lp) {
        w->tail_lps++;
        st = tail_refute(w, r, d, tn, refuted, w->x);
        if (st != CN_OK || *refuted)
            return st;
        if (vfy__try_point(w, w->x)) {
            *found = true;
            return CN_OK;
        }
    }
    if (depth == nu)
        return CN_OK;
    for (int h = 0; h < 2; h++) {
        int child = -1;
        if (S->log && (st = vfy__tt_child(w, tn, h, &child)) != CN_OK)
            break;
        w->tsplit[u[depth]] = h ? 1 : -1;
        st = tail_dfs(w, r, d, u, nu, depth + 1, child, refuted, found);
        if (st != CN_OK || !*refuted || *found)
            break;
    }
    w->tsplit[u[depth]] = 0;
    return st;
}

/* vfy__node_tail's work. */
static cn_status node_tail(worker *w, node *nd, bool *closed, bool *found)
{
    shared *S = w->S;
    *closed = *found = false;
    cn_status st;
    if (!want_lp(w, &st))
        return st;
    double sc;
    bool cl;
    memcpy(w->alive_tmp, nd->alive, sizeof(uint64_t) * (size_t)S->words);
    st = vfy__bound_region(w, nd->lo, nd->hi, NULL, w->alive_tmp, false, &sc, &cl);
    if (st != CN_OK || cl || w->halted)
        return st; /* (cl: the same bound closed it before; it cannot) */
    int u[VFY__TAIL_MAX_UNSTABLE];
    double us[VFY__TAIL_MAX_UNSTABLE];
    int nu = vfy__top_unstable(w, NULL, VFY__TAIL_MAX_UNSTABLE, u, us);
    if (nu > VFY__TAIL_MAX_UNSTABLE)
        return CN_OK; /* more than the caller counted: leave it to input splitting */
    for (int a = 1; a < nu; a++) /* the larger triangle first */
        for (int q = a; q > 0 && us[q - 1] < us[q]; q--) {
            double ts = us[q];
            us[q] = us[q - 1];
            us[q - 1] = ts;
            int tu = u[q];
            u[q] = u[q - 1];
            u[q - 1] = tu;
        }
    for (int i = 0; i < S->n_layers; i++) {
        w->pre_lo[i] = w->pre_hi[i] = NULL;
        w->lsplit[i] = NULL;
        if (net_layer_at(S->n, i)->op != NET_RELU)
            continue;
        bnd_layer_bounds(w->bc, i, &w->pre_lo[i], &w->pre_hi[i]);
        w->lsplit[i] = w->tsplit + S->relu_off[i];
    }
    const double *ylo, *yhi;
    bnd_layer_bounds(w->bc, S->n_layers, &ylo, &yhi);
    for (int j = 0; j < S->n_out; j++)
        w->ymax[j] = fmax(fabs(ylo[j]), fabs(yhi[j]));
    lp_region r = {nd->lo, nd->hi, w->pre_lo, w->pre_hi, w->lsplit, S->pc->n_lin, S->pc->lin};
    /* an attempt costs at most about as many LPs as the box has unstable
     * ReLUs; past that, bisecting the box is cheaper than the patterns */
    w->tail_budget = 2 * nu + 1;
    bool any = false;
    int root = -1;
    if (S->log) { /* the patterns' tree, for the log when it closes the box */
        vfy__tt_reset(w);
        if ((st = vfy__tt_child(w, -1, 0, &root)) != CN_OK)
            return st;
    }
    for (int d = 0; d < S->n_disj && !any; d++) {
        if (!vfy__alive_get(w->alive_tmp, d))
            continue;
        bool ref;
        st = tail_dfs(w, &r, d, u, nu, 0, root, &ref, found);
        if (st != CN_OK || *found)
            return st;
        if (!ref)
            any = true;
        else if (!S->log)
            vfy__alive_clear(nd->alive, d);
    }
    /* with the log, all or nothing: a refutation below the box's ReLU splits
     * does not hold for the input splits that follow when the tail fails */
    if (S->log && !any) {
        if (vfy__tt_commit(w, nd->pid, u, nd->alive))
            memset(nd->alive, 0, sizeof(uint64_t) * (size_t)S->words);
        else
            any = true;
    }
    *closed = !any;
    w->tail_tries++;
    w->tail_closed += *closed;
    return CN_OK;
}

/* Input splitting, a box with few unstable ReLUs (at most opts.lp_tail):
 * rather than bisecting the box until they are stable, the LP over the box
 * and each activation pattern, rigorous from its duals (lp.h), splitting
 * ReLUs depth first.  Refuted disjuncts leave nd->alive; *closed when none is
 * left.  Otherwise the node goes on with input splitting.  Its time is the
 * LP phase's (the box's bound and the points tried count as theirs). */
cn_status vfy__node_tail(worker *w, node *nd, bool *closed, bool *found)
{
    int was = vfy__phase_to(w, VFY__PH_LP);
    cn_status st = node_tail(w, nd, closed, found);
    vfy__phase_to(w, was);
    return st;
}

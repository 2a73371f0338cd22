/* branch.c — the branching rules: which unstable ReLU (BaBSR-style
 * intercept scores, the best of a few tried by their children's bounds) or
 * which input dimension
 * (trial bisections, the bound's coefficient ranking, the relatively widest)
 * a node is split on, and the two children, each bounded at once.  A trial
 * bound that was stopped (w->halted) ends the attempt with no split. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "verifier/engine_int.h"

/* Unstable ReLUs (not split) under the context's last bounds: how many,
 * and (K > 0) the K with the largest BaBSR intercept score (the triangle's
 * area weighted by the neuron's outgoing weights) in cand/cs, unordered. */
int vfy__top_unstable(const worker *w, const signed char *split, int K, int *cand, double *cs)
{
    const shared *S = w->S;
    int nu = 0, nc = 0;
    for (int i = 0; i < S->n_layers; i++) {
        if (net_layer_at(S->n, i)->op != NET_RELU)
            continue;
        const double *l, *u;
        bnd_layer_bounds(w->bc, i, &l, &u);
        int in = net_layer_at(S->n, i)->in, off = S->relu_off[i];
        for (int k = 0; k < in; k++) {
            if ((split && split[off + k]) || !(l[k] < 0 && u[k] > 0))
                continue;
            nu++;
            if (K <= 0)
                continue;
            double s = (-l[k] * u[k] / (u[k] - l[k])) * S->wnorm[off + k];
            if (nc < K) {
                cand[nc] = off + k;
                cs[nc++] = s;
            } else {
                int mi = 0;
                for (int q = 1; q < nc; q++)
                    if (cs[q] < cs[mi])
                        mi = q;
                if (s > cs[mi]) {
                    cand[mi] = off + k;
                    cs[mi] = s;
                }
            }
        }
    }
    return nu;
}

/* The stack pops the last child first: put the child with the worse score
 * (more likely to hold a counterexample) last. */
static void order_kids(node **kids, int n)
{
    if (n == 2 && kids[1]->score > kids[0]->score) {
        node *t = kids[0];
        kids[0] = kids[1];
        kids[1] = t;
    }
}

/* A child just bounded (st, closed): counted; freed when the bound failed
 * (st returned) or closed it, else appended to kids, evaluated unless the
 * bound was stopped (then it is bounded again when taken). */
static cn_status settle_child(worker *w, node *c, cn_status st, bool closed, node **kids,
                              int *n_kids)
{
    w->local_nodes++;
    if (st != CN_OK || closed) {
        cn_free(c);
        return st;
    }
    c->evaluated = !w->halted;
    kids[(*n_kids)++] = c;
    return CN_OK;
}

/* Splits nd into two children: input dim `dim` at `mid` (neuron < 0), or
 * ReLU `neuron` inactive / active.  Each child is bounded at once; closed
 * children become leaves, the others are returned in kids (evaluated). */
static cn_status make_children(worker *w, node *nd, int dim, double mid, int neuron, node **kids,
                               int *n_kids)
{
    shared *S = w->S;
    if (neuron < 0)
        vfy__log_set(S, nd->pid, VFY_PN_SPLIT_INPUT, dim, mid);
    else
        vfy__log_set(S, nd->pid, VFY_PN_SPLIT_RELU, neuron, 0);
    for (int h = 0; h < 2; h++) {
        node *c = vfy__node_new(S, nd);
        if (!c)
            return cn_fail(&w->err, CN_ENOMEM, "out of memory for a branch-and-bound node");
        if (neuron >= 0)
            c->split[neuron] = h ? 1 : -1;
        else if (h == 0)
            c->hi[dim] = mid;
        else
            c->lo[dim] = mid;
        if (neuron < 0 && nd->conc < INFINITY && nd->bx[dim] >= c->lo[dim] &&
            nd->bx[dim] <= c->hi[dim]) {
            c->conc = nd->conc; /* the point where it was seen is in this half */
            memcpy(c->bx, nd->bx, sizeof(double) * (size_t)S->n_in);
        }
        c->pid = vfy__log_node(S, nd->pid, h);
        bool closed;
        const trial *t = neuron < 0 && w->tr_best >= 0 && w->tr[w->tr_best].dim == dim
                             ? &w->tr[w->tr_best]
                             : NULL;
        cn_status st = t ? vfy__bound_node_cached(w, c, t, h, &closed)
                         : vfy__bound_node(w, c, neuron >= 0, &closed);
        if ((st = settle_child(w, c, st, closed, kids, n_kids)) != CN_OK)
            return st;
    }
    order_kids(kids, *n_kids);
    return CN_OK;
}

static bool splittable(const node *nd, int j)
{
    double mid = nd->lo[j] + 0.5 * (nd->hi[j] - nd->lo[j]);
    return mid > nd->lo[j] && mid < nd->hi[j];
}

/* Chooses the input dimension to bisect and makes the children.  *split is
 * false only when no dimension can be bisected in double precision; then
 * the node is neither closed nor split, and the caller must not drop it
 * silently (the verdict becomes unknown). */
cn_status vfy__split_input(worker *w, node *nd, node **kids, int *n_kids, bool *split)
{
    shared *S = w->S;
    int best_dim = -1;
    double best_val = -INFINITY;
    double *lo = w->x, *hi = w->gx;      /* scratch boxes */
    *n_kids = 0;
    *split = false;
    w->tr_best = -1;
    /* Candidates: splittable dimensions within a factor 64 of the relatively
     * widest splittable one (otherwise a dimension whose bisection keeps
     * improving the score a little, geometrically but never enough, is split
     * forever while the others stay wide); with COEF, only those of the two
     * the bound's coefficients rank first, from depth opts.input_first_depth
     * on only the first (the trial between two pays near the root, where a
     * dimension whose bisection gains a sliver each time would otherwise be
     * split on and on, but doubles the bounds per split deeper down), unless
     * neither qualifies. */
    double maxrel = -1;
    for (int j = 0; j < S->n_in; j++) {
        double root = S->pc->hi_d[j] - S->pc->lo_d[j];
        double rel = root > 0 ? (nd->hi[j] - nd->lo[j]) / root : 0;
        if (splittable(nd, j) && rel > maxrel)
            maxrel = rel;
    }
    if (maxrel < 0)
        return CN_OK; /* nothing can be bisected */
    bool cand[VFY__SPLIT_MAX_DIMS], coef = false;
    const bool first_only =
        S->o->input_first_depth >= 0 && nd->depth >= S->o->input_first_depth;
    for (int pass = 0; pass < 2; pass++) {
        int nc = 0;
        coef = pass == 0 && S->o->input_branch == VFY_BRANCH_COEF && nd->pref_dim[0] >= 0;
        for (int j = 0; j < S->n_in && j < VFY__SPLIT_MAX_DIMS; j++) {
            double root = S->pc->hi_d[j] - S->pc->lo_d[j];
            double rel = root > 0 ? (nd->hi[j] - nd->lo[j]) / root : 0;
            cand[j] = splittable(nd, j) && rel >= maxrel / VFY__SPLIT_WIDTH_RATIO &&
                      (!coef || j == nd->pref_dim[0] || (j == nd->pref_dim[1] && !first_only));
            nc += cand[j];
        }
        if (nc > 0)
            break;
    }
    for (int j = 0; j < S->n_in && j < VFY__SPLIT_MAX_DIMS; j++) {
        if (!cand[j])
            continue;
        if (S->n_in > VFY__TRIAL_MAX_DIMS) {
            best_dim = j; /* high-dimensional input box: no trials */
            break;
        }
        double mid = nd->lo[j] + 0.5 * (nd->hi[j] - nd->lo[j]);
        trial *t = &w->tr[w->tr_best == 0 ? 1 : 0];
        for (int h = 0; h < 2; h++) {
            memcpy(lo, nd->lo, sizeof(double) * (size_t)S->n_in);
            memcpy(hi, nd->hi, sizeof(double) * (size_t)S->n_in);
            if (h == 0)
                hi[j] = mid;
            else
                lo[j] = mid;
            memcpy(t->alive[h], nd->alive, sizeof(uint64_t) * (size_t)S->words);
            cn_status st = vfy__bound_region(w, lo, hi, nd->split, t->alive[h], false, &t->score[h],
                                        &t->closed[h]);
            if (st != CN_OK || w->halted)
                return st; /* (stopped: not split; the caller gives the node back) */
            t->pref_dim[h][0] = w->pref_dim[0];
            t->pref_dim[h][1] = w->pref_dim[1];
            t->n_unst[h] = w->n_unst;
            t->have_cand[h] = w->have_cand && !t->closed[h];
            if (t->have_cand[h])
                memcpy(t->cand[h], w->cand, sizeof(double) * (size_t)S->n_in);
        }
        t->dim = j;
        double v = fmin(t->score[0], t->score[1]);
        if (best_dim < 0 || v > best_val) {
            best_val = v;
            best_dim = j;
            w->tr_best = (int)(t - w->tr);
        }
    }
    if (best_dim < 0) {
        /* more than 64 inputs: any splittable dimension */
        for (int j = 0; j < S->n_in && best_dim < 0; j++)
            if (splittable(nd, j))
                best_dim = j;
    }
    /* Trials of every dimension (TRIAL, or COEF when both of its dimensions
     * are too narrow): greedy choice stalls when one dimension keeps giving
     * a sliver of improvement.  Unless the best split improves the score by
     * VFY__TRIAL_GAIN, bisect the dimension the bound's coefficients rank
     * first (its rank |A_j| (hi_j - lo_j) halves with each bisection, so
     * others overtake it) or, without one, the relatively widest. */
    if (!coef && !(best_val - nd->score >= VFY__TRIAL_GAIN * fabs(nd->score))) {
        if (nd->pref_dim[0] >= 0 && splittable(nd, nd->pref_dim[0])) {
            best_dim = nd->pref_dim[0];
        } else {
            double wbest = -1;
            for (int q = 0; q < S->n_in; q++) {
                if (!splittable(nd, q))
                    continue;
                double root = S->pc->hi_d[q] - S->pc->lo_d[q];
                double rel = (nd->hi[q] - nd->lo[q]) / (root > 0 ? root : 1);
                if (rel > wbest) {
                    wbest = rel;
                    best_dim = q;
                }
            }
        }
    }
    CN_REQUIRE(best_dim >= 0 && splittable(nd, best_dim), "a splittable dimension was chosen");
    *split = true;
    int j = best_dim;
    cn_status st = make_children(w, nd, j, nd->lo[j] + 0.5 * (nd->hi[j] - nd->lo[j]), -1, kids,
                                 n_kids);
    w->tr_best = -1;
    return st;
}

/* The candidates with parameters: the first half (rounded up) the ReLUs
 * with the largest intercept scores under the node's own hardest row
 * (w->gap, vfy__opt_eval), the rest from the weight-norm ranking in cand
 * (nc of them) not already taken.  Returns the new count. */
static int mix_candidates(worker *w, const node *nd, int K, int nc, int *cand)
{
    const shared *S = w->S;
    int out[VFY__RELU_MAX_CANDIDATES], n = 0;
    int half = (K + 1) / 2;
    for (int t = 0; t < half; t++) {
        int bj = -1;
        for (int j = 0; j < S->n_relus; j++) {
            if (nd->split[j] || !(w->gap[j] > 0))
                continue;
            bool taken = false;
            for (int q = 0; q < n; q++)
                taken |= out[q] == j;
            if (!taken && (bj < 0 || w->gap[j] > w->gap[bj]))
                bj = j;
        }
        if (bj < 0)
            break;
        out[n++] = bj;
    }
    for (int q = 0; q < nc && n < K; q++) {
        bool taken = false;
        for (int p = 0; p < n; p++)
            taken |= out[p] == cand[q];
        if (!taken)
            out[n++] = cand[q];
    }
    memcpy(cand, out, sizeof(int) * (size_t)n);
    return n;
}

/* ReLU splitting: rank unstable neurons by the BaBSR-style intercept score
 * (with the node's parameters, half of them by its own row's
 * coefficients), try the best few, keep the one whose worse child is best:
 * with the node's parameters, each child's bound from the node's bounds and
 * values with the candidate's phase fixed (filtered smart branching, as
 * alpha,beta-CROWN's); without, each child bounded plainly, with
 * w->bt_n > 1 in batches of both children of bt_n / 2 candidates
 * (bnd_run_batch).  The trials only choose the neuron: the children are
 * bounded again, and refute, in make_children. */
cn_status vfy__split_relu(worker *w, node *nd, node **kids, int *n_kids, bool *stuck)
{
    shared *S = w->S;
    int cand[VFY__RELU_MAX_CANDIDATES], nc = 0;
    double cs[VFY__RELU_MAX_CANDIDATES];
    int K = S->o->branch_candidates > 0 ? S->o->branch_candidates : 1;
    if (K > VFY__RELU_MAX_CANDIDATES)
        K = VFY__RELU_MAX_CANDIDATES;
    int nu = vfy__top_unstable(w, nd->split, K, cand, cs);
    nc = nu < K ? nu : K;
    *n_kids = 0;
    *stuck = nc == 0;
    if (nc == 0)
        return CN_OK;
    /* with parameters each candidate's children are scored by the node's
     * bound with the candidate's phase fixed (no bound pass per child);
     * without, each child is bounded plainly */
    const bool fixed = S->opt_on && nd->has_par;
    if (fixed && nc > 1) {
        double sc0 = -INFINITY;
        cn_status st = vfy__opt_eval(w, nd, nd->alive, -1, 0, &sc0, w->gap);
        if (st != CN_OK)
            return st;
        if (!isnan(w->gap[0]))
            nc = mix_candidates(w, nd, K, nc, cand);
    }
    int best = -1;
    double best_val = -INFINITY;
    if (nc > 1 && w->bt_n > 1 && !fixed) { /* plain trials in batches (bnd_run_batch) */
        int per = w->bt_n / 2; /* candidates per batch: both children of each */
        for (int q0 = 0; q0 < nc; q0 += per) {
            int q1 = q0 + per < nc ? q0 + per : nc;
            for (int q = q0; q < q1; q++)
                for (int h = 0; h < 2; h++) {
                    signed char *sp = w->bt_split + (size_t)(2 * (q - q0) + h) * S->n_relus;
                    memcpy(sp, nd->split, (size_t)S->n_relus);
                    sp[cand[q]] = h ? 1 : -1;
                }
            cn_status st = vfy__bound_batch(w, nd, 2 * (q1 - q0));
            if (st != CN_OK || w->halted)
                return st; /* (stopped: not split; the caller gives the node back) */
            for (int q = q0; q < q1; q++) {
                double v = fmin(w->bt_score[2 * (q - q0)], w->bt_score[2 * (q - q0) + 1]);
                if (best < 0 || v > best_val) {
                    best = q;
                    best_val = v;
                }
            }
        }
    }
    for (int q = 0; q < nc && nc > 1 && (fixed || w->bt_n <= 1); q++) {
        double sc[2];
        for (int h = 0; h < 2 && fixed; h++) {
            /* the child's bound with the node's own bounds and values */
            sc[h] = -INFINITY;
            cn_status st = vfy__opt_eval(w, nd, nd->alive, cand[q], h ? 1 : -1, &sc[h], NULL);
            if (st != CN_OK)
                return st;
        }
        for (int h = 0; h < 2 && !fixed; h++) {
            nd->split[cand[q]] = h ? 1 : -1;
            memcpy(w->alive_tmp, nd->alive, sizeof(uint64_t) * (size_t)S->words);
            bool closed;
            cn_status st = vfy__bound_region(w, nd->lo, nd->hi, nd->split, w->alive_tmp, false,
                                        &sc[h], &closed);
            nd->split[cand[q]] = 0;
            if (st != CN_OK || w->halted)
                return st; /* (stopped: not split; the caller gives the node back) */
        }
        double v = fmin(sc[0], sc[1]);
        if (best < 0 || v > best_val) {
            best = q;
            best_val = v;
        }
    }
    if (best < 0)
        best = 0;
    return make_children(w, nd, -1, 0.0, cand[best], kids, n_kids);
}

/* ---- activation splitting ------------------------------------------------ */

/* sigmoid or tanh at x, in double (ranking only). */
static double act_f(net_op op, double x)
{
    return op == NET_SIGMOID ? 1.0 / (1.0 + exp(-x)) : tanh(x);
}

/* An estimate of the largest vertical gap between the lines of a sigmoid /
 * tanh neuron on [l, u]: the chord's error bound max|f''| (u - l)^2 / 8,
 * at most f(u) - f(l) (rise: f(u) - f(l)).  Ranking only (no soundness
 * role). */
static double act_gap(net_op op, double l, double u, double rise)
{
    double c2 = op == NET_SIGMOID ? 0.0962250448649376  /* max |sigmoid''| = 1 / (6 sqrt 3) */
                                  : 0.769800358919501;  /* max |tanh''| = 4 / (3 sqrt 3) */
    return fmin(c2 * (u - l) * (u - l) / 8.0, rise);
}

/* Where [l, u] is cut: at 0 (where sigmoid and tanh change curvature) when
 * it straddles 0 with at least a tenth of the width on each side, else at
 * the midpoint; NaN when no double lies strictly inside. */
static double act_point(double l, double u)
{
    double w = u - l;
    double s = l < -0.1 * w && u > 0.1 * w ? 0.0 : l + 0.5 * w;
    return s > l && s < u ? s : NAN;
}

/* The sensitivity of the hardest atom's row to each layer's values, from
 * the outputs down: |c| over the outputs, |W|^T s through a dense layer,
 * times the chord slope (f(u) - f(l)) / (u - l) through a sigmoid / tanh
 * layer; for each smooth neuron the product of its estimated line gap and
 * the sensitivity at its output is its score (BaBSR's |coefficient| x gap,
 * with magnitudes in place of the back-substitution's coefficients).
 * false when a layer is neither dense nor smooth (or no row): then the
 * outgoing weight norm stands in for the sensitivity.  Ranking only. */
static bool act_scores(worker *w, node *nd)
{
    shared *S = w->S;
    if (w->worst_atom < 0 || !w->as)
        return false;
    double *s = w->as, *t = w->as2, best = -1.0;
    for (int j = 0; j < S->n_out; j++)
        s[j] = fabs(S->C[(size_t)w->worst_atom * (size_t)S->n_out + (size_t)j]);
    int g = S->n_smooth;
    for (int i = S->n_layers - 1; i >= 0; i--) {
        const net_layer *nl = net_layer_at(S->n, i);
        if (nl->op == NET_DENSE) {
            for (int k = 0; k < nl->in; k++)
                t[k] = 0.0;
            for (int o = 0; o < nl->out; o++)
                for (int k = 0; k < nl->in; k++)
                    t[k] += fabs(nl->W[(size_t)o * (size_t)nl->in + (size_t)k]) * s[o];
        } else if (net_op_smooth(nl->op)) {
            const double *l, *u;
            bnd_layer_bounds(w->bc, i, &l, &u);
            g -= nl->in;
            for (int k = 0; k < nl->in; k++) {
                double gap = 0.0, slope = 0.0;
                if (isfinite(l[k]) && isfinite(u[k]) && l[k] < u[k]) {
                    double rise = act_f(nl->op, u[k]) - act_f(nl->op, l[k]);
                    gap = act_gap(nl->op, l[k], u[k], rise);
                    slope = rise / (u[k] - l[k]);
                    double at = act_point(l[k], u[k]), sc = gap * s[k];
                    if (!isnan(at) && sc > best) {
                        best = sc;
                        nd->act_j = g + k;
                        nd->act_at = at;
                    }
                }
                t[k] = s[k] * slope;
            }
        } else {
            return false;
        }
        double *x = s;
        s = t;
        t = x;
    }
    return true;
}

void vfy__act_choose(worker *w, node *nd)
{
    shared *S = w->S;
    nd->act_j = -1;
    if (act_scores(w, nd) && nd->act_j >= 0)
        return;
    nd->act_j = -1;
    double best = -1.0;
    int g = 0;
    for (int i = 0; i < S->n_layers; i++) {
        const net_layer *nl = net_layer_at(S->n, i);
        if (!net_op_smooth(nl->op))
            continue;
        const double *l, *u;
        bnd_layer_bounds(w->bc, i, &l, &u);
        for (int k = 0; k < nl->in; k++, g++) {
            if (!(isfinite(l[k]) && isfinite(u[k]) && l[k] < u[k]))
                continue;
            double s = act_point(l[k], u[k]);
            if (isnan(s))
                continue;
            double rise = act_f(nl->op, u[k]) - act_f(nl->op, l[k]);
            double sc = act_gap(nl->op, l[k], u[k], rise) * S->act_wnorm[g];
            if (!(sc > best))
                continue;
            best = sc;
            nd->act_j = g;
            nd->act_at = s;
        }
    }
}

cn_status vfy__split_act(worker *w, node *nd, node **kids, int *n_kids, bool *split)
{
    shared *S = w->S;
    *n_kids = 0;
    *split = nd->act_j >= 0;
    if (!*split)
        return CN_OK;
    int j = nd->act_j;
    double s = nd->act_at;
    vfy__log_set(S, nd->pid, VFY_PN_SPLIT_ACT, j, s);
    for (int h = 0; h < 2; h++) {
        node *c = vfy__node_new(S, nd);
        if (!c)
            return cn_fail(&w->err, CN_ENOMEM, "out of memory for a branch-and-bound node");
        if (h == 0)
            c->act_hi[j] = s;       /* pre-activation <= s */
        else
            c->act_lo[j] = s;       /* pre-activation >= s */
        c->pid = vfy__log_node(S, nd->pid, h);
        bool closed;
        cn_status st = vfy__bound_node(w, c, false, &closed);
        if ((st = settle_child(w, c, st, closed, kids, n_kids)) != CN_OK)
            return st;
    }
    order_kids(kids, *n_kids);
    return CN_OK;
}

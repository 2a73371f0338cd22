/* node_cex.c — counterexample search inside a node: a point is screened in
 * floating point (its margin: over the disjuncts, the smallest largest atom
 * excess a.y - r), and only a plausible one is decided exactly, at the
 * rational point clamped into the case's exact box (prop_check_point); a
 * confirmed point ends the search with sat.  The sources of points: bound
 * vertices and centres (node_bound.c), uniform samples of the box
 * (vfy__node_sample) and a short signed-gradient descent (vfy__node_pgd).
 * Their time is the attack phase's (engine_int.h, vfy__phase_to). */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

#include "verifier/engine_int.h"

/* Exact points: n initialised rationals (NULL when out of memory). */
mpq_t *vfy__qvec_new(int n)
{
    mpq_t *q = cn_mallocarray((size_t)(n > 0 ? n : 1), sizeof(mpq_t));
    for (int i = 0; q && i < n; i++)
        mpq_init(q[i]);
    return q;
}

void vfy__qvec_free(mpq_t *q, int n)
{
    for (int i = 0; q && i < n; i++)
        mpq_clear(q[i]);
    cn_free(q);
}

/* q <- x (exactly) clamped into the case's exact box. */
static void clamp_exact(const prop_case *pc, int n_in, const double *x, mpq_t *q)
{
    for (int i = 0; i < n_in; i++) {
        if (isfinite(x[i]))
            mpq_set_d(q[i], x[i]);
        else
            mpq_set(q[i], x[i] > 0 ? pc->hi[i] : pc->lo[i]);
        if (mpq_cmp(q[i], pc->lo[i]) < 0)
            mpq_set(q[i], pc->lo[i]);
        else if (mpq_cmp(q[i], pc->hi[i]) > 0)
            mpq_set(q[i], pc->hi[i]);
    }
}

/* Records q as the case's counterexample if it is one, decided exactly;
 * true when it is. */
static bool confirm_point(shared *S, mpq_t *q)
{
    prop_check chk;
    prop_check_init(&chk);
    cn_err e;
    bool ok = prop_check_point(S->p, S->n, q, &chk, &e) == CN_OK && chk.violated;
    prop_check_clear(&chk);
    if (!ok)
        return false;
    pthread_mutex_lock(&S->mu);
    if (!S->verdict) {
        S->verdict = VFY_SAT;
        S->found_by = "node";
        for (int i = 0; i < S->n_in; i++)
            mpq_set(S->sat_q[i], q[i]);
        vfy__stop_search(S, STOP_SAT, NULL);
    }
    pthread_mutex_unlock(&S->mu);
    return true;
}

/* The float margin of output y: over the disjuncts, the smallest largest
 * atom excess (<= 0: y looks unsafe); *plausible: some disjunct holds within
 * a small tolerance, worth an exact check. */
static double point_margin(const shared *S, const double *y, bool *plausible)
{
    double margin = INFINITY;
    *plausible = false;
    for (int d = 0; d < S->n_disj; d++) {
        bool all = true;
        double worst = -INFINITY;
        for (int k = S->dstart[d]; k < S->dstart[d + 1]; k++) {
            double v = 0;
            for (int j = 0; j < S->n_out; j++)
                v += S->C[(size_t)k * S->n_out + j] * y[j];
            if (v > S->r_up[k] + VFY__PLAUSIBLE_TOL * (1 + fabs(S->r_up[k])))
                all = false;
            worst = fmax(worst, v - S->r_up[k]);
        }
        *plausible = *plausible || all;
        margin = fmin(margin, worst);
    }
    return margin;
}

/* vfy__try_point's work. */
static bool try_point(worker *w, const double *x_in)
{
    shared *S = w->S;
    /* in_lo/in_hi are doubles inside the exact box where there are any: the
     * float screen runs there; the exact check runs at the rational point
     * clamped into the exact box (which need not hold a double at all). */
    double *x = w->cvec_in;
    for (int i = 0; i < S->n_in; i++)
        x[i] = fmin(fmax(x_in[i], S->in_lo[i]), S->in_hi[i]);
    atk_grad_forward(w->g, 1, x, w->y);
    bool plausible;
    w->margin = point_margin(S, w->y, &plausible);
    if (!plausible)
        return false;
    mpq_t *q = vfy__qvec_new(S->n_in);
    if (!q)
        return false; /* no memory for the exact check: not a counterexample */
    clamp_exact(S->pc, S->n_in, x, q);
    bool ok = confirm_point(S, q);
    vfy__qvec_free(q, S->n_in);
    return ok;
}

/* Float screening then exact confirmation of a candidate point.  Returns
 * true when x is a confirmed counterexample (recorded in S). */
bool vfy__try_point(worker *w, const double *x_in)
{
    int was = vfy__phase_to(w, VFY__PH_ATTACK);
    bool found = try_point(w, x_in);
    vfy__phase_to(w, was);
    return found;
}

/* vfy__node_sample's work. */
static bool node_sample(worker *w, node *nd)
{
    shared *S = w->S;
    int nb = S->o->node_samples;
    if (nb <= 0)
        return false;
    /* at most VFY__SAMPLE_SHARE of the worker's time */
    double t0 = vfy__now();
    if (w->t_sample > VFY__SAMPLE_SHARE * (t0 - w->t_begin))
        return false;
    if (!w->gb) {
        cn_err e;
        if (atk_grad_new(S->n, nb, &w->gb, &e) != CN_OK)
            return false; /* (out of memory: the search goes on without samples) */
        w->sx = cn_mallocarray((size_t)nb * (size_t)S->n_in, sizeof(double));
        w->sy = cn_mallocarray((size_t)nb * (size_t)S->n_out, sizeof(double));
        if (!w->sx || !w->sy) {
            atk_grad_free(w->gb);
            cn_free(w->sx);
            cn_free(w->sy);
            w->gb = NULL;
            w->sx = w->sy = NULL; /* (the next call tries again) */
            return false;
        }
    }
    for (int b = 0; b < nb; b++)
        for (int i = 0; i < S->n_in; i++)
            w->sx[(size_t)b * S->n_in + i] =
                nd->lo[i] + (nd->hi[i] - nd->lo[i]) * atk_rng_unif(&w->rng);
    atk_grad_forward(w->gb, nb, w->sx, w->sy);
    bool found = false;
    for (int b = 0; b < nb && !found; b++) {
        bool plausible;
        double m = point_margin(S, w->sy + (size_t)b * S->n_out, &plausible);
        found = plausible && vfy__try_point(w, w->sx + (size_t)b * S->n_in);
        if (!found && m < nd->conc) { /* for the children (see vfy__note_point) */
            nd->conc = m;
            memcpy(nd->bx, w->sx + (size_t)b * S->n_in, sizeof(double) * (size_t)S->n_in);
        }
    }
    w->t_sample += vfy__now() - t0;
    return found;
}

/* Input splitting, at nodes taken best first by their bound: a batch of
 * uniform samples of the box, the plausible ones tried exactly.  A search
 * only.  true on a confirmed counterexample. */
bool vfy__node_sample(worker *w, node *nd)
{
    int was = vfy__phase_to(w, VFY__PH_ATTACK);
    bool found = node_sample(w, nd);
    vfy__phase_to(w, was);
    return found;
}

/* vfy__node_pgd's work. */
static bool node_pgd(worker *w, const double *lo, const double *hi, const double *start,
                     const uint64_t *alive)
{
    shared *S = w->S;
    int d = -1;
    for (int q = 0; q < S->n_disj; q++)
        if (vfy__alive_get(alive, q)) {
            d = q;
            if (atk_rng_unif(&w->rng) < 0.5)
                break;
        }
    if (d < 0)
        return false;
    bool from_start = start && atk_rng_unif(&w->rng) < 0.5;
    for (int i = 0; i < S->n_in; i++) {
        double v = lo[i] + (hi[i] - lo[i]) * atk_rng_unif(&w->rng);
        /* half the time near the bound's minimising vertex */
        w->x[i] = from_start ? fmin(fmax(start[i] + VFY__PGD_PULL * (v - start[i]), lo[i]), hi[i])
                             : v;
    }
    for (int it = 0; it < VFY__PGD_STEPS; it++) {
        atk_grad_forward(w->g, 1, w->x, w->y);
        int kb = S->dstart[d];
        double vb = -INFINITY;
        for (int k = S->dstart[d]; k < S->dstart[d + 1]; k++) {
            double v = -S->r_up[k];
            for (int j = 0; j < S->n_out; j++)
                v += S->C[(size_t)k * S->n_out + j] * w->y[j];
            if (v > vb) {
                vb = v;
                kb = k;
            }
        }
        if (vb <= 0 && vfy__try_point(w, w->x))
            return true;
        atk_grad_backward(w->g, 1, S->C + (size_t)kb * S->n_out, w->gx);
        double step = VFY__PGD_STEP0 * (1.0 - it / (double)VFY__PGD_STEPS) + VFY__PGD_STEP_MIN;
        for (int i = 0; i < S->n_in; i++) {
            double h = 0.5 * (hi[i] - lo[i]);
            double v = w->x[i] - step * h * (w->gx[i] > 0 ? 1 : w->gx[i] < 0 ? -1 : 0);
            w->x[i] = fmin(fmax(v, lo[i]), hi[i]);
        }
    }
    return vfy__try_point(w, w->x);
}

/* A short PGD inside [lo, hi] on the node's worst alive disjunct. */
bool vfy__node_pgd(worker *w, const double *lo, const double *hi, const double *start,
                     const uint64_t *alive)
{
    int was = vfy__phase_to(w, VFY__PH_ATTACK);
    bool found = node_pgd(w, lo, hi, start, alive);
    vfy__phase_to(w, was);
    return found;
}

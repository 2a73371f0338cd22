/* engine.c — the complete verification engine: attack, bounds, parallel
 * branch and bound with input or ReLU splitting (see verifier.h). */
#include "config.h"

#include <fenv.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <glpk.h>

#include "attacks/attacks.h"
#include "lp/lp.h"
#include "verifier/verifier.h"

void vfy_opts_init(vfy_opts *o)
{
    memset(o, 0, sizeof *o);
    o->timeout_s = 300;
    o->threads = 0;
    o->max_nodes = 0;
    o->max_mem_mb = 4096;
    o->split = VFY_SPLIT_AUTO;
    o->input_split_max_dims = 12;
    o->method = BND_CROWN;
    o->alpha_root = true;
    o->attack_s = -1;
    o->node_pgd_every = 16;
    o->branch_candidates = 4;
    o->lp_tail = 0;
    o->best_first_every = -1;
    o->node_samples = 1024;
    o->seed = 1;
    o->attack_bursts = true;
}

const char *vfy_verdict_name(vfy_verdict v)
{
    switch (v) {
    case VFY_SAT: return "sat";
    case VFY_UNSAT: return "unsat";
    case VFY_TIMEOUT: return "timeout";
    case VFY_UNKNOWN: return "unknown";
    }
    return "unknown";
}

void vfy_result_init(vfy_result *r)
{
    memset(r, 0, sizeof *r);
    prop_check_init(&r->check);
    r->found_by = "";
}

void vfy_proof_free(vfy_proof *p)
{
    if (!p)
        return;
    cn_free(p->nodes);
    cn_free(p->refs);
    cn_free(p);
}

void vfy_result_clear(vfy_result *r)
{
    vfy_proof_free(r->proof);
    if (r->x) {
        for (int k = 0; k < r->n_in; k++)
            mpq_clear(r->x[k]);
        cn_free(r->x);
    }
    cn_free(r->x_d);
    cn_free(r->y_d);
    prop_check_clear(&r->check);
    vfy_result_init(r);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ------------------------------------------------------------------------ */
/* Nodes                                                                     */
/* ------------------------------------------------------------------------ */

typedef struct node {
    double *lo, *hi;        /* [n_in]: own copy (input splitting) or the case box */
    double *cand;           /* [n_in] input splitting: the last bound's minimising vertex
                               (a start for the node's PGD), or NULL */
    double *bx;             /* [n_in] input splitting: where conc was seen, or NULL */
    signed char *split;     /* [n_relus] or NULL */
    uint64_t *alive;        /* [words] disjuncts not yet refuted */
    int depth;
    int pid;                /* proof-log node, or -1 */
    int pref_dim[2];        /* best two input dims by the bound's coefficients, or -1 */
    bool evaluated;         /* alive/score already computed for this region */
    int n_unst;             /* input splitting: ReLUs the last bound of the box left unstable */
    int lp_skip;            /* the LP tail failed at an ancestor with this many (INT_MAX: none) */
    double score;
    double conc;            /* smallest float margin seen at a point of the node (<= 0
                               would be a counterexample): a priority for the search
                               of sat only, never part of a proof; +inf when none */
    long pos, hpos[2];      /* open: index in shared.stack and in shared.hp (heaps) */
} node;

/* ------------------------------------------------------------------------ */
/* Shared state of one case's branch and bound                               */
/* ------------------------------------------------------------------------ */

/* Why the workers stop (named as kissat names its termination reasons).
 * Every stop goes through stop_search, with shared.mu held: it keeps the
 * phase's first reason, sets the verdict the reason implies unless one is
 * set already, and wakes every worker. */
typedef enum {
    STOP_NONE = 0,
    STOP_EXHAUSTED,     /* no open node, no busy worker: nothing left to refute */
    STOP_SAT,           /* a confirmed counterexample (sat_q, found_by) */
    STOP_UNDECIDED,     /* a node that can be neither closed nor split: unknown */
    STOP_FAILED,        /* a worker failed (fail, err) */
    STOP_FRONTIER,      /* frontier_target nodes are open (frontier_hit) */
    STOP_INTERRUPTED,   /* the caller's stop flag: timeout, "interrupted" */
    STOP_PAUSE,         /* the phase's end: an attack burst, then the next phase (paused) */
    STOP_TIMEOUT,       /* the deadline: timeout */
    STOP_NODE_LIMIT,    /* opts.max_nodes: unknown */
    STOP_MEM_LIMIT      /* opts.max_mem_mb: unknown */
} stop_reason;

/* Threads.  Workers share this struct; everything a worker changes in it is
 * changed with mu held, except the proof log (log_mu) and `done`, which
 * workers also read without the lock (atomic).  A worker's own failures go
 * to its own cn_err first (worker.err) and reach err under mu, the first
 * failure winning.  Fields set before the workers start are read-only while
 * they run. */
typedef struct {
    const net *n;
    const prop *p;
    const vfy_opts *o;
    const prop_case *pc;
    int n_in, n_out, n_relus, n_layers;
    bool relu_mode, own_box;
    /* the case's atoms, as rows of C */
    int m;
    double *C;              /* [m * n_out] nearest doubles of the coefficients */
    double *cerr;           /* [m * n_out] |a - a_d| rounded up (0 when exact) */
    double *r_up;           /* [m] rhs rounded up */
    double *in_lo, *in_hi;  /* [n_in] doubles inside the exact box: candidates are clamped here */
    int n_disj, words;
    int *dstart;            /* [n_disj + 1] */
    /* ReLU numbering */
    int *relu_layer;        /* [n_relus] layer index of each ReLU neuron */
    int *relu_off;          /* [n_layers] first global ReLU index of a ReLU layer */
    double *wnorm;          /* [n_relus] outgoing weight norm */
    size_t node_bytes;
    size_t node_charge;     /* an open node's memory: node_bytes and its slots in the
                               open set's arrays */
    /* queue */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    node **stack;           /* the open nodes: a stack, or any order when heaps */
    long n_open, cap;
    bool heaps;             /* every pop best first (input splitting): hp[0] orders the
                               open nodes by score, hp[1] by conc (binary min-heaps) */
    node **hp[2];           /* [cap] each when heaps */
    int busy;
    atomic_bool done;       /* the phase is over (why): written under mu, read anywhere */
    stop_reason why;        /* the phase's first stop reason */
    vfy_verdict verdict;    /* 0 while undecided */
    char reason[128];
    const char *found_by;
    mpq_t *sat_q;           /* [n_in] the confirmed point, exact (qvec) */
    long nodes, max_open;
    int depth;
    size_t mem, mem_limit;
    double deadline;
    double phase_end;       /* workers pause here (0: never) for an attack burst */
    double t_start, last_progress;
    long nodes_before;      /* nodes of earlier cases, for progress */
    bool paused;
    volatile sig_atomic_t *stop;
    cn_status fail;
    cn_err err;             /* of the first failure (fail) */
    /* proof log (NULL unless recording) */
    vfy_proof *log;
    pthread_mutex_t log_mu;
    int case_idx;
    bool log_failed;
    /* distributed branch and bound (verifier.h) */
    int frontier_target;    /* > 0: stop once this many nodes are open */
    bool frontier_hit;
    unsigned long pops;
    int bf_every;           /* opts.best_first_every resolved (automatic: by mode) */
} shared;

/* Ends the phase for reason why (mu held); detail: the reason text of
 * STOP_UNDECIDED. */
static void stop_search(shared *S, stop_reason why, const char *detail)
{
    vfy_verdict v = 0;
    char text[sizeof S->reason] = "";
    switch (why) {
    case STOP_UNDECIDED:
        v = VFY_UNKNOWN;
        snprintf(text, sizeof text, "%s", detail);
        break;
    case STOP_INTERRUPTED:
        v = VFY_TIMEOUT;
        snprintf(text, sizeof text, "interrupted");
        break;
    case STOP_TIMEOUT:
        v = VFY_TIMEOUT;
        snprintf(text, sizeof text, "time limit reached");
        break;
    case STOP_NODE_LIMIT:
        v = VFY_UNKNOWN;
        snprintf(text, sizeof text, "node limit %ld reached", S->o->max_nodes);
        break;
    case STOP_MEM_LIMIT:
        v = VFY_UNKNOWN;
        snprintf(text, sizeof text, "memory limit %ld MiB reached", S->o->max_mem_mb);
        break;
    default: /* SAT: the caller recorded the point; the others imply no verdict */
        break;
    }
    if (v && !S->verdict) {
        S->verdict = v;
        snprintf(S->reason, sizeof S->reason, "%s", text);
    }
    if (S->why == STOP_NONE) {
        S->why = why;
        if (why == STOP_PAUSE)
            S->paused = true;
        if (why == STOP_FRONTIER)
            S->frontier_hit = true;
    }
    atomic_store_explicit(&S->done, true, memory_order_release);
    pthread_cond_broadcast(&S->cv);
}

/* Whether the phase is over (any thread, with or without mu). */
static bool stopping(shared *S)
{
    return atomic_load_explicit(&S->done, memory_order_acquire);
}

/* --- proof log --------------------------------------------------------- */

/* A new log node; returns its index or -1 (recording off or out of memory,
 * which marks the log failed). */
static int log_node(shared *S, int parent, int side)
{
    if (!S->log)
        return -1;
    pthread_mutex_lock(&S->log_mu);
    vfy_proof *L = S->log;
    int id = -1;
    if (L->n_nodes == L->cap_nodes) {
        int cap = L->cap_nodes ? 2 * L->cap_nodes : 256;
        vfy_proof_node *nn = cn_reallocarray(L->nodes, (size_t)cap, sizeof *nn);
        if (!nn) {
            S->log_failed = true;
            goto out;
        }
        L->nodes = nn;
        L->cap_nodes = cap;
    }
    id = L->n_nodes++;
    L->nodes[id] = (vfy_proof_node){parent, side, S->case_idx, VFY_PN_OPEN, -1, 0, {-1, -1}};
    if (parent >= 0)
        L->nodes[parent].child[side] = id;
out:
    pthread_mutex_unlock(&S->log_mu);
    return id;
}

static void log_set(shared *S, int id, vfy_pn_kind kind, int dim, double at)
{
    if (!S->log || id < 0)
        return;
    pthread_mutex_lock(&S->log_mu);
    S->log->nodes[id].kind = kind;
    S->log->nodes[id].dim = dim;
    S->log->nodes[id].at = at;
    if (kind == VFY_PN_LEAF_LP)
        S->log->complete = false;
    pthread_mutex_unlock(&S->log_mu);
}

/* Records the disjuncts alive in `before` but not in `after`. */
static void log_refuted(shared *S, int id, const uint64_t *before, const uint64_t *after)
{
    if (!S->log || id < 0)
        return;
    pthread_mutex_lock(&S->log_mu);
    vfy_proof *L = S->log;
    for (int d = 0; d < S->n_disj; d++) {
        bool was = (before[d >> 6] >> (d & 63)) & 1, is = (after[d >> 6] >> (d & 63)) & 1;
        if (!was || is)
            continue;
        if (L->n_refs == L->cap_refs) {
            int cap = L->cap_refs ? 2 * L->cap_refs : 256;
            vfy_refutation *nr = cn_reallocarray(L->refs, (size_t)cap, sizeof *nr);
            if (!nr) {
                S->log_failed = true;
                break;
            }
            L->refs = nr;
            L->cap_refs = cap;
        }
        L->refs[L->n_refs++] = (vfy_refutation){id, d};
    }
    pthread_mutex_unlock(&S->log_mu);
}

static node *node_new(shared *S, const node *parent)
{
    node *nd = cn_calloc(1, S->node_bytes);
    if (!nd)
        return NULL;
    char *p = (char *)(nd + 1);
    nd->alive = (uint64_t *)p;
    p += sizeof(uint64_t) * (size_t)S->words;
    nd->conc = INFINITY;
    nd->n_unst = INT_MAX;
    nd->lp_skip = INT_MAX;
    if (S->own_box) {
        nd->lo = (double *)p;
        p += sizeof(double) * (size_t)S->n_in;
        nd->hi = (double *)p;
        p += sizeof(double) * (size_t)S->n_in;
        nd->cand = (double *)p;
        p += sizeof(double) * (size_t)S->n_in;
        nd->bx = (double *)p;
        p += sizeof(double) * (size_t)S->n_in;
    } else {
        nd->lo = S->pc->lo_d;
        nd->hi = S->pc->hi_d;
    }
    if (S->relu_mode)
        nd->split = (signed char *)p;
    if (parent) {
        memcpy(nd->alive, parent->alive, sizeof(uint64_t) * (size_t)S->words);
        if (S->own_box) {
            memcpy(nd->lo, parent->lo, sizeof(double) * (size_t)S->n_in);
            memcpy(nd->hi, parent->hi, sizeof(double) * (size_t)S->n_in);
            memcpy(nd->cand, parent->cand, sizeof(double) * (size_t)S->n_in);
        }
        if (S->relu_mode)
            memcpy(nd->split, parent->split, (size_t)S->n_relus);
        nd->depth = parent->depth + 1;
        nd->lp_skip = parent->lp_skip;
    }
    return nd;
}

static inline bool alive_get(const uint64_t *a, int d) { return (a[d >> 6] >> (d & 63)) & 1; }
static inline void alive_clear(uint64_t *a, int d) { a[d >> 6] &= ~(1ull << (d & 63)); }

/* ------------------------------------------------------------------------ */
/* Workers                                                                   */
/* ------------------------------------------------------------------------ */

/* split_input's bounds of the two halves of one input dimension, kept for
 * make_children when that dimension is chosen. */
typedef struct {
    int dim;                /* -1: none */
    double score[2];
    bool closed[2], have_cand[2];
    int pref_dim[2][2];
    int n_unst[2];
    uint64_t *alive[2];     /* [words] each */
    double *cand[2];        /* [n_in] each */
} trial;

typedef struct {
    shared *S;
    cn_err err;             /* this worker's failure (copied to S->err under S->mu) */
    bnd_ctx *bc;
    lp_ctx *lpc;            /* lazily created */
    atk_grad *g;
    atk_rng rng;
    bnd_opts bo, bo_alpha;
    double *lb;             /* [m] */
    double *x, *y, *gx, *cvec;   /* [n_in], [n_out], [n_in], [n_out] */
    double *cvec_in;             /* [n_in] candidate clamped into the exact box */
    double *ymax;           /* [n_out] max |y| for coefficient corrections */
    uint64_t *alive_tmp;    /* [words] */
    uint64_t *alive_before; /* [words] for the proof log */
    const double **pre_lo, **pre_hi;   /* [n_layers] for the LP */
    const signed char **lsplit;        /* [n_layers] */
    long local_nodes;
    int n_unst;             /* unstable ReLUs left by the last bound_region (input splitting) */
    bool no_lp;             /* the LP cannot encode this network */
    signed char *tsplit;    /* [n_relus] the LP tail's activation pattern */
    double *lam, *tcy, *tcy_dn;  /* [m], [n_out], [n_out] the LP tail's weights */
    long tail_tries, tail_closed, tail_lps;  /* LP tail statistics (vfy_result) */
    int tail_budget;        /* LPs the current LP-tail attempt may still solve */
    int pref_dim[2];        /* from the last bound_region: see node.pref_dim */
    double *cand;           /* [n_in] from the last bound_region: the box vertex that
                               minimises the linear bound of its hardest atom */
    bool have_cand;
    trial tr[2];            /* split_input: the best dimension's and the current one's */
    int tr_best;            /* index into tr of the best so far, or -1 */
    atk_grad *gb;           /* node_sample's batch workspace (lazily made) */
    double *sx, *sy;        /* its inputs and outputs */
    double t_begin, t_sample;   /* when the worker started; seconds spent sampling */
    double margin;          /* float margin of the last point try_point screened */
    bool sample_here;       /* the node being processed was taken as the lowest bound */
} worker;

/* Unstable ReLUs (not split) under the context's last bounds: how many,
 * and (K > 0) the K with the largest BaBSR intercept score (the triangle's
 * area weighted by the neuron's outgoing weights) in cand/cs, unordered. */
static int top_unstable(const worker *w, const signed char *split, int K, int *cand, double *cs)
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

/* Bounds the region; updates alive (refuted disjuncts cleared) and returns
 * the node score (min over alive disjuncts of the best atom's lb - r; > 0 for
 * every alive disjunct means closed).  *closed tells whether nothing is left.
 * alpha selects the optimised slopes. */
static cn_status bound_region(worker *w, const double *lo, const double *hi,
                              const signed char *split, uint64_t *alive, bool alpha,
                              double *score, bool *closed)
{
    shared *S = w->S;
    bnd_region r = {lo, hi, split};
    bnd_result res;
    cn_status st = bnd_run(w->bc, alpha ? &w->bo_alpha : &w->bo, &r, S->m, S->C, NULL, w->lb,
                           &res, &w->err);
    if (st != CN_OK)
        return st;
    if (res.infeasible) {
        memset(alive, 0, sizeof(uint64_t) * (size_t)S->words);
        *score = INFINITY;
        *closed = true;
        return CN_OK;
    }
    if (S->own_box && S->o->lp_tail > 0)
        w->n_unst = top_unstable(w, split, 0, NULL, NULL);
    bool need_corr = false;
    for (int k = 0; k < S->m * S->n_out; k++)
        if (S->cerr[k] != 0.0)
            need_corr = true;
    if (need_corr) {
        const double *ylo, *yhi;
        bnd_layer_bounds(w->bc, S->n_layers, &ylo, &yhi);
        for (int j = 0; j < S->n_out; j++)
            w->ymax[j] = fmax(fabs(ylo[j]), fabs(yhi[j]));
    }
    double worst = INFINITY;
    bool any = false;
    int worst_atom = -1;
    int saved = cn_round_push(FE_UPWARD);
    for (int d = 0; d < S->n_disj; d++) {
        if (!alive_get(alive, d))
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
            double lbk = w->lb[k];
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
            alive_clear(alive, d);
            continue;
        }
        any = true;
        if (best < worst || worst_atom < 0) {
            worst = best;
            worst_atom = best_k;
        }
    }
    cn_round_pop(saved);
    /* Branching hint: the input dimension contributing most to the gap of
     * the hardest disjunct's most promising atom, |A_j| (hi_j - lo_j). */
    w->pref_dim[0] = w->pref_dim[1] = -1;
    w->have_cand = false;
    if (any && S->own_box && worst_atom >= 0) {
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

static bool try_point(worker *w, const double *x_in);

/* Exact points: n initialised rationals (NULL when out of memory). */
static mpq_t *qvec_new(int n)
{
    mpq_t *q = cn_mallocarray((size_t)(n > 0 ? n : 1), sizeof(mpq_t));
    for (int i = 0; q && i < n; i++)
        mpq_init(q[i]);
    return q;
}

static void qvec_free(mpq_t *q, int n)
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
        stop_search(S, STOP_SAT, NULL);
    }
    pthread_mutex_unlock(&S->mu);
    return true;
}

static cn_status bound_node_finish(worker *w, node *nd, cn_status st, bool *closed);

/* bound_region on a node of the tree, recording what it refutes; then the
 * bound's minimising vertex is tried as a counterexample. */
static cn_status bound_node(worker *w, node *nd, bool alpha, bool *closed)
{
    shared *S = w->S;
    if (S->log)
        memcpy(w->alive_before, nd->alive, sizeof(uint64_t) * (size_t)S->words);
    cn_status st = bound_region(w, nd->lo, nd->hi, nd->split, nd->alive, alpha, &nd->score, closed);
    return bound_node_finish(w, nd, st, closed);
}

/* bound_node for half h of an input split whose bound split_input computed
 * already (the same call on the same box and alive set: the same result). */
static cn_status bound_node_cached(worker *w, node *nd, const trial *t, int h, bool *closed)
{
    shared *S = w->S;
    if (S->log)
        memcpy(w->alive_before, nd->alive, sizeof(uint64_t) * (size_t)S->words);
    memcpy(nd->alive, t->alive[h], sizeof(uint64_t) * (size_t)S->words);
    nd->score = t->score[h];
    *closed = t->closed[h];
    w->pref_dim[0] = t->pref_dim[h][0];
    w->pref_dim[1] = t->pref_dim[h][1];
    w->have_cand = t->have_cand[h];
    w->n_unst = t->n_unst[h];
    memcpy(w->cand, t->cand[h], sizeof(double) * (size_t)S->n_in);
    return bound_node_finish(w, nd, CN_OK, closed);
}

/* After try_point on a point of nd's box: keeps the smallest margin seen
 * and where (children whose box holds that point inherit both). */
static void note_point(worker *w, node *nd)
{
    if (w->margin < nd->conc) {
        nd->conc = w->margin;
        memcpy(nd->bx, w->cvec_in, sizeof(double) * (size_t)w->S->n_in);
    }
}

/* The rest of bound_node once the bound is known (st its status). */
static cn_status bound_node_finish(worker *w, node *nd, cn_status st, bool *closed)
{
    shared *S = w->S;
    nd->pref_dim[0] = w->pref_dim[0];
    nd->pref_dim[1] = w->pref_dim[1];
    nd->n_unst = w->n_unst;
    if (st == CN_OK && S->log) {
        log_refuted(S, nd->pid, w->alive_before, nd->alive);
        if (*closed)
            log_set(S, nd->pid, VFY_PN_LEAF_BOUNDS, -1, 0);
    }
    if (st != CN_OK || *closed || !S->own_box)
        return st;
    /* input splitting: the vertex and the centre, as counterexamples (a hit
     * ends the search with sat) and for the node's margin priority */
    if (w->have_cand) {
        if (try_point(w, w->cand))
            return st;
        note_point(w, nd);
        memcpy(nd->cand, w->cand, sizeof(double) * (size_t)S->n_in);
    }
    for (int i = 0; i < S->n_in; i++)
        w->cand[i] = nd->lo[i] + 0.5 * (nd->hi[i] - nd->lo[i]);
    try_point(w, w->cand);
    note_point(w, nd);
    return st;
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
            if (v > S->r_up[k] + 1e-6 * (1 + fabs(S->r_up[k])))
                all = false;
            worst = fmax(worst, v - S->r_up[k]);
        }
        *plausible = *plausible || all;
        margin = fmin(margin, worst);
    }
    return margin;
}

/* Input splitting, at nodes taken best first by their bound: a batch of
 * uniform samples of the box, the plausible ones tried exactly.  A search
 * only.  true on a confirmed counterexample. */
static bool node_sample(worker *w, node *nd)
{
    shared *S = w->S;
    int nb = S->o->node_samples;
    if (nb <= 0)
        return false;
    /* at most a quarter of the worker's time: the samples cost more than a
     * node's bound (ACAS Xu: 1024 samples ~ 25 nodes), and an unsat case
     * gains nothing from them */
    double t0 = now_s();
    if (w->t_sample > 0.25 * (t0 - w->t_begin))
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
        found = plausible && try_point(w, w->sx + (size_t)b * S->n_in);
        if (!found && m < nd->conc) { /* for the children (see note_point) */
            nd->conc = m;
            memcpy(nd->bx, w->sx + (size_t)b * S->n_in, sizeof(double) * (size_t)S->n_in);
        }
    }
    w->t_sample += now_s() - t0;
    return found;
}

/* Float screening then exact confirmation of a candidate point.  Returns
 * true when x is a confirmed counterexample (recorded in S). */
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
    mpq_t *q = qvec_new(S->n_in);
    if (!q)
        return false; /* no memory for the exact check: not a counterexample */
    clamp_exact(S->pc, S->n_in, x, q);
    bool ok = confirm_point(S, q);
    qvec_free(q, S->n_in);
    return ok;
}

/* A short PGD inside [lo, hi] on the node's worst alive disjunct. */
static bool node_pgd(worker *w, const double *lo, const double *hi, const double *start,
                     const uint64_t *alive)
{
    shared *S = w->S;
    int d = -1;
    for (int q = 0; q < S->n_disj; q++)
        if (alive_get(alive, q)) {
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
        w->x[i] = from_start ? fmin(fmax(start[i] + 0.1 * (v - start[i]), lo[i]), hi[i]) : v;
    }
    for (int it = 0; it < 12; it++) {
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
        if (vb <= 0 && try_point(w, w->x))
            return true;
        atk_grad_backward(w->g, 1, S->C + (size_t)kb * S->n_out, w->gx);
        double step = 0.3 * (1.0 - it / 12.0) + 0.02;
        for (int i = 0; i < S->n_in; i++) {
            double h = 0.5 * (hi[i] - lo[i]);
            double v = w->x[i] - step * h * (w->gx[i] > 0 ? 1 : w->gx[i] < 0 ? -1 : 0);
            w->x[i] = fmin(fmax(v, lo[i]), hi[i]);
        }
    }
    return try_point(w, w->x);
}

/* A node that can be neither closed nor split: the case is undecided. */
static void set_undecided(shared *S, const char *why)
{
    pthread_mutex_lock(&S->mu);
    stop_search(S, STOP_UNDECIDED, why);
    pthread_mutex_unlock(&S->mu);
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

/* Splits nd into two children: input dim `dim` at `mid` (neuron < 0), or
 * ReLU `neuron` inactive / active.  Each child is bounded at once; closed
 * children become leaves, the others are returned in kids (evaluated). */
static cn_status make_children(worker *w, node *nd, int dim, double mid, int neuron, node **kids,
                               int *n_kids)
{
    shared *S = w->S;
    if (neuron < 0)
        log_set(S, nd->pid, VFY_PN_SPLIT_INPUT, dim, mid);
    else
        log_set(S, nd->pid, VFY_PN_SPLIT_RELU, neuron, 0);
    for (int h = 0; h < 2; h++) {
        node *c = node_new(S, nd);
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
        c->pid = log_node(S, nd->pid, h);
        bool closed;
        const trial *t = neuron < 0 && w->tr_best >= 0 && w->tr[w->tr_best].dim == dim
                             ? &w->tr[w->tr_best]
                             : NULL;
        cn_status st = t ? bound_node_cached(w, c, t, h, &closed) : bound_node(w, c, false, &closed);
        w->local_nodes++;
        if (st != CN_OK) {
            cn_free(c);
            return st;
        }
        if (closed) {
            cn_free(c);
            continue;
        }
        c->evaluated = true;
        kids[(*n_kids)++] = c;
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
static cn_status split_input(worker *w, node *nd, node **kids, int *n_kids, bool *split)
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
     * the bound's coefficients rank first, unless neither qualifies. */
    double maxrel = -1;
    for (int j = 0; j < S->n_in; j++) {
        double root = S->pc->hi_d[j] - S->pc->lo_d[j];
        double rel = root > 0 ? (nd->hi[j] - nd->lo[j]) / root : 0;
        if (splittable(nd, j) && rel > maxrel)
            maxrel = rel;
    }
    if (maxrel < 0)
        return CN_OK; /* nothing can be bisected */
    bool cand[64], coef = false;
    for (int pass = 0; pass < 2; pass++) {
        int nc = 0;
        coef = pass == 0 && S->o->input_branch == VFY_BRANCH_COEF && nd->pref_dim[0] >= 0;
        for (int j = 0; j < S->n_in && j < 64; j++) {
            double root = S->pc->hi_d[j] - S->pc->lo_d[j];
            double rel = root > 0 ? (nd->hi[j] - nd->lo[j]) / root : 0;
            cand[j] = splittable(nd, j) && rel >= maxrel / 64 &&
                      (!coef || j == nd->pref_dim[0] || j == nd->pref_dim[1]);
            nc += cand[j];
        }
        if (nc > 0)
            break;
    }
    for (int j = 0; j < S->n_in && j < 64; j++) {
        if (!cand[j])
            continue;
        if (S->n_in > 8) {
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
            cn_status st = bound_region(w, lo, hi, nd->split, t->alive[h], false, &t->score[h],
                                        &t->closed[h]);
            if (st != CN_OK)
                return st;
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
     * a tenth, bisect the dimension the bound's coefficients rank first
     * (its rank |A_j| (hi_j - lo_j) halves with each bisection, so others
     * overtake it) or, without one, the relatively widest.  (ACAS Xu 1_1 prop_5: 9,413 nodes instead of 50,027 with the
     * widest.) */
    if (!coef && !(best_val - nd->score >= 0.1 * fabs(nd->score))) {
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

/* ReLU splitting: rank unstable neurons by the BaBSR-style intercept score,
 * try the best few, keep the one whose worse child is best. */
static cn_status split_relu(worker *w, node *nd, node **kids, int *n_kids, bool *stuck)
{
    shared *S = w->S;
    enum { MAXC = 16 };
    int cand[MAXC], nc = 0;
    double cs[MAXC];
    int K = S->o->branch_candidates > 0 ? S->o->branch_candidates : 1;
    if (K > MAXC)
        K = MAXC;
    int nu = top_unstable(w, nd->split, K, cand, cs);
    nc = nu < K ? nu : K;
    *n_kids = 0;
    *stuck = nc == 0;
    if (nc == 0)
        return CN_OK;
    int best = -1;
    double best_val = -INFINITY;
    for (int q = 0; q < nc && nc > 1; q++) {
        double sc[2];
        for (int h = 0; h < 2; h++) {
            nd->split[cand[q]] = h ? 1 : -1;
            memcpy(w->alive_tmp, nd->alive, sizeof(uint64_t) * (size_t)S->words);
            bool closed;
            cn_status st = bound_region(w, nd->lo, nd->hi, nd->split, w->alive_tmp, false,
                                        &sc[h], &closed);
            nd->split[cand[q]] = 0;
            if (st != CN_OK)
                return st;
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

/* All ReLUs fixed (or few left): the LP over the node's polytope, one atom
 * at a time, rigorous from its duals.  Refutes what it can; its minimiser is
 * tried as a counterexample.  Returns whether the node is closed. */
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
    lp_region r = {nd->lo, nd->hi, w->pre_lo, w->pre_hi, w->lsplit, S->pc->n_lin, S->pc->lin};
    lp_opts lo;
    lp_opts_init(&lo);
    bool any = false;
    char fault[sizeof S->reason] = ""; /* a GLPK fault (lp.h): the reason if not closed */
    for (int d = 0; d < S->n_disj; d++) {
        if (!alive_get(nd->alive, d))
            continue;
        bool refuted = false;
        for (int k = S->dstart[d]; k < S->dstart[d + 1] && !refuted; k++) {
            bool exact = true;
            for (int j = 0; j < S->n_out; j++)
                if (S->cerr[(size_t)k * S->n_out + j] != 0)
                    exact = false;
            if (!exact)
                continue;
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
            if (out == LP_BOUND && lbv > S->r_up[k])
                refuted = true;
            else if (try_point(w, w->x))
                return CN_OK;
        }
        if (refuted)
            alive_clear(nd->alive, d);
        else
            any = true;
    }
    *closed = !any;
    if (any && fault[0])
        set_undecided(S, fault); /* (the caller's reason comes second) */
    return CN_OK;
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
static cn_status tail_refute(worker *w, const lp_region *r, int d, bool *refuted, double *x)
{
    shared *S = w->S;
    int k0 = S->dstart[d], md = S->dstart[d + 1] - k0, no = S->n_out;
    lp_opts lo;
    lp_opts_init(&lo);
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
    return CN_OK;
}

/* Depth first over the activation patterns of the unstable ReLUs u[depth..nu):
 * whether disjunct d is refuted on every pattern.  A pattern with every
 * neuron fixed that the LP (then exact up to the conjunction's weights) does
 * not refute ends the attempt; LP minimisers are tried as counterexamples. */
static cn_status tail_dfs(worker *w, const lp_region *r, int d, const int *u, int nu, int depth,
                          bool *refuted, bool *found)
{
    shared *S = w->S;
    *refuted = false;
    if (stopping(S) || w->tail_budget <= 0)
        return CN_OK; /* (out of budget: not refuted, input splitting goes on) */
    w->tail_budget--;
    w->local_nodes++;
    w->tail_lps++;
    cn_status st = tail_refute(w, r, d, refuted, w->x);
    if (st != CN_OK || *refuted)
        return st;
    if (try_point(w, w->x)) {
        *found = true;
        return CN_OK;
    }
    if (depth == nu)
        return CN_OK;
    for (int h = 0; h < 2; h++) {
        w->tsplit[u[depth]] = h ? 1 : -1;
        st = tail_dfs(w, r, d, u, nu, depth + 1, refuted, found);
        if (st != CN_OK || !*refuted || *found)
            break;
    }
    w->tsplit[u[depth]] = 0;
    return st;
}

/* Input splitting, a box with few unstable ReLUs (at most opts.lp_tail):
 * rather than bisecting the box until they are stable, the LP over the box
 * and each activation pattern, rigorous from its duals (lp.h), splitting
 * ReLUs depth first.  Refuted disjuncts leave nd->alive; *closed when none is
 * left.  Otherwise the node goes on with input splitting. */
static cn_status node_tail(worker *w, node *nd, bool *closed, bool *found)
{
    shared *S = w->S;
    enum { MAXU = 16 };
    *closed = *found = false;
    cn_status st;
    if (!want_lp(w, &st))
        return st;
    double sc;
    bool cl;
    memcpy(w->alive_tmp, nd->alive, sizeof(uint64_t) * (size_t)S->words);
    st = bound_region(w, nd->lo, nd->hi, NULL, w->alive_tmp, false, &sc, &cl);
    if (st != CN_OK || cl)
        return st; /* (cl: the same bound closed it before; it cannot) */
    int u[MAXU];
    double us[MAXU];
    int nu = top_unstable(w, NULL, MAXU, u, us);
    if (nu > MAXU)
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
    for (int d = 0; d < S->n_disj && !any; d++) {
        if (!alive_get(w->alive_tmp, d))
            continue;
        bool ref;
        st = tail_dfs(w, &r, d, u, nu, 0, &ref, found);
        if (st != CN_OK || *found)
            return st;
        if (ref)
            alive_clear(nd->alive, d);
        else
            any = true;
    }
    *closed = !any;
    w->tail_tries++;
    w->tail_closed += *closed;
    return CN_OK;
}

/* Processes one open node.  On CN_OK, *resolved tells that the node was
 * accounted for: closed (a leaf), split (children returned or closed at
 * once), or a verdict other than unsat was set.  Anything else would make a
 * region vanish from the search, so the caller treats it as an internal
 * error, never as progress towards unsat. */
static cn_status process(worker *w, node *nd, node **kids, int *n_kids, bool *resolved)
{
    shared *S = w->S;
    *n_kids = 0;
    *resolved = false;
    bool closed = false;
    if (!nd->evaluated || S->relu_mode) {
        /* (evaluated ReLU-split children are bounded again: their
         * intermediate bounds are needed for branching) */
        cn_status st = bound_node(w, nd, false, &closed);
        if (!nd->evaluated)
            w->local_nodes++;
        if (st != CN_OK)
            return st;
        if (!closed && nd->depth == 0 && S->o->alpha_root && S->relu_mode && !S->log) {
            st = bound_region(w, nd->lo, nd->hi, nd->split, nd->alive, true, &nd->score, &closed);
            if (st != CN_OK)
                return st;
        }
        if (closed) {
            *resolved = true;
            return CN_OK;
        }
    }
    /* counterexample search in the node (with input splitting bound_node
     * tried the centre already) */
    bool found = false;
    if (!S->own_box) {
        for (int i = 0; i < S->n_in; i++)
            w->x[i] = nd->lo[i] + 0.5 * (nd->hi[i] - nd->lo[i]);
        found = try_point(w, w->x);
    }
    bool pgd = !found && S->o->node_pgd_every > 0 &&
               (w->local_nodes % S->o->node_pgd_every) == 0;
    if (found || (pgd && node_pgd(w, nd->lo, nd->hi, nd->evaluated ? nd->cand : NULL,
                                  nd->alive))) {
        *resolved = true; /* verdict sat */
        return CN_OK;
    }
    if (pgd && S->own_box)
        note_point(w, nd); /* where the PGD ended */
    if (S->relu_mode) {
        bool stuck;
        cn_status st = split_relu(w, nd, kids, n_kids, &stuck);
        if (st != CN_OK)
            return st;
        if (stuck) {
            st = node_lp(w, nd, &closed);
            if (st != CN_OK)
                return st;
            if (closed)
                log_set(S, nd->pid, VFY_PN_LEAF_LP, -1, 0);
            else
                set_undecided(S, "a node with every ReLU fixed is not refuted by its LP");
        }
        *resolved = true;
        return CN_OK;
    }
    if (S->o->lp_tail > 0 && !S->log && nd->n_unst <= S->o->lp_tail &&
        nd->n_unst < nd->lp_skip) {
        bool tfound;
        cn_status st = node_tail(w, nd, &closed, &tfound);
        if (st != CN_OK)
            return st;
        if (closed || tfound) {
            *resolved = true; /* a leaf (unsat below needs no certificate: no log) */
            return CN_OK;
        }
        nd->lp_skip = nd->n_unst;
    }
    if (w->sample_here && node_sample(w, nd)) {
        *resolved = true; /* verdict sat */
        return CN_OK;
    }
    bool split;
    cn_status st = split_input(w, nd, kids, n_kids, &split);
    if (st != CN_OK)
        return st;
    if (!split) /* neither closed nor split: it must not vanish */
        set_undecided(S, "input box too narrow to split in double precision");
    *resolved = true;
    return CN_OK;
}

/* ---- the open set ------------------------------------------------------- */

static bool open_less(const node *a, const node *b, int h)
{
    return h ? a->conc < b->conc : a->score < b->score;
}

static void heap_put(shared *S, int h, long i, node *nd)
{
    S->hp[h][i] = nd;
    nd->hpos[h] = i;
}

/* Restores heap h (n entries) around index i. */
static void heap_fix(shared *S, int h, long i, long n)
{
    node **a = S->hp[h], *x = a[i];
    while (i > 0 && open_less(x, a[(i - 1) / 2], h)) {
        heap_put(S, h, i, a[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    for (;;) {
        long c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && open_less(a[c + 1], a[c], h))
            c++;
        if (!open_less(a[c], x, h))
            break;
        heap_put(S, h, i, a[c]);
        i = c;
    }
    heap_put(S, h, i, x);
}

/* Grows the open set's arrays for one more node; false when out of memory. */
static bool open_reserve(shared *S)
{
    if (S->n_open < S->cap)
        return true;
    long cap = S->cap ? 2 * S->cap : 1024;
    node **ns = cn_reallocarray(S->stack, (size_t)cap, sizeof *ns);
    if (!ns)
        return false;
    S->stack = ns;
    for (int h = 0; S->heaps && h < 2; h++) {
        node **hs = cn_reallocarray(S->hp[h], (size_t)cap, sizeof *hs);
        if (!hs)
            return false; /* (cap unchanged: the next call grows again) */
        S->hp[h] = hs;
    }
    S->cap = cap;
    return true;
}

/* Adds nd (after open_reserve). */
static void open_push(shared *S, node *nd)
{
    long n = S->n_open++;
    nd->pos = n;
    S->stack[n] = nd;
    for (int h = 0; S->heaps && h < 2; h++) {
        heap_put(S, h, n, nd);
        heap_fix(S, h, n, n + 1);
    }
}

/* Removes nd from the heaps' open set (any order). */
static void open_take(shared *S, node *nd)
{
    long n = --S->n_open;
    node *last = S->stack[n];
    S->stack[nd->pos] = last;
    last->pos = nd->pos;
    for (int h = 0; h < 2; h++) {
        long i = nd->hpos[h];
        node *lh = S->hp[h][n];
        if (i != n) {
            heap_put(S, h, i, lh);
            heap_fix(S, h, i, n);
        }
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    shared *S = w->S;
    for (;;) {
        pthread_mutex_lock(&S->mu);
        while (!stopping(S) && S->n_open == 0 && S->busy > 0)
            pthread_cond_wait(&S->cv, &S->mu);
        if (stopping(S) || S->n_open == 0) {
            stop_search(S, STOP_EXHAUSTED, NULL); /* (or an earlier reason, kept) */
            pthread_mutex_unlock(&S->mu);
            break;
        }
        node *nd;
        w->sample_here = false;
        if (S->frontier_target > 0) { /* first in, first out: an even frontier */
            nd = S->stack[0];
            memmove(S->stack, S->stack + 1, sizeof(node *) * (size_t)--S->n_open);
        } else if (S->heaps) {
            /* every node best first: alternately the open node with the
             * lowest bound and the one with the smallest margin seen at a
             * point of its box (the most likely to hold a counterexample) */
            bool by_conc = ++S->pops % 2;
            nd = S->hp[by_conc][0];
            open_take(S, nd);
            w->sample_here = !by_conc;
        } else if (S->bf_every > 0 && ++S->pops % (unsigned long)S->bf_every == 0) {
            /* now and then the open node most likely to hold a
             * counterexample, wherever it is in the stack: alternately the
             * one with the lowest bound and the one with the smallest
             * margin seen at a point of its box */
            bool by_conc = S->own_box && (S->pops / (unsigned long)S->bf_every) % 2;
            long b = S->n_open - 1;
            long step = S->n_open <= 256 ? 1 : S->n_open / 256;
            long off = step > 1 ? (long)(S->pops / 16 % (unsigned long)step) : 0;
            for (long i = off; i < S->n_open; i += step) /* at most 256 looks */
                if (by_conc ? S->stack[i]->conc < S->stack[b]->conc
                            : S->stack[i]->score < S->stack[b]->score)
                    b = i;
            nd = S->stack[b]; /* (the rest keep their depth-first order) */
            w->sample_here = !by_conc;
            memmove(S->stack + b, S->stack + b + 1, sizeof(node *) * (size_t)(S->n_open - b - 1));
            S->n_open--;
        } else {
            nd = S->stack[--S->n_open];
        }
        S->busy++;
        pthread_mutex_unlock(&S->mu);

        node *kids[2];
        int n_kids = 0;
        long before = w->local_nodes;
        bool resolved;
        cn_status st = process(w, nd, kids, &n_kids, &resolved);
        if (st == CN_OK && !resolved)
            st = cn_fail(&w->err, CN_EINTERNAL, "a branch-and-bound node was neither closed nor split");
        int depth = nd->depth;
        cn_free(nd);

        pthread_mutex_lock(&S->mu);
        if (depth > S->depth)
            S->depth = depth;
        S->mem -= S->node_charge;
        S->nodes += w->local_nodes - before;
        if (st != CN_OK && S->fail == CN_OK) { /* the first failure wins */
            S->fail = st;
            S->err = w->err;
            stop_search(S, STOP_FAILED, NULL);
        }
        for (int k = 0; k < n_kids; k++) {
            /* Children may be dropped only when the search is over with a
             * verdict other than unsat; a pause keeps every open node. */
            if (S->verdict || S->fail != CN_OK) {
                cn_free(kids[k]);
                continue;
            }
            if (!open_reserve(S)) {
                cn_free(kids[k]);
                S->fail = cn_fail(&S->err, CN_ENOMEM, "out of memory for the node stack");
                stop_search(S, STOP_FAILED, NULL);
                continue;
            }
            open_push(S, kids[k]);
            S->mem += S->node_charge;
        }
        if (S->n_open > S->max_open)
            S->max_open = S->n_open;
        if (S->o->progress) {
            double t = now_s();
            if (t - S->last_progress >= 0.25) {
                S->last_progress = t;
                S->o->progress(S->o->progress_user, S->nodes_before + S->nodes, S->n_open,
                               t - S->t_start);
            }
        }
        S->busy--;
        if (!stopping(S)) {
            if (S->frontier_target > 0 && S->n_open >= S->frontier_target)
                stop_search(S, STOP_FRONTIER, NULL);
            else if (S->stop && *S->stop)
                stop_search(S, STOP_INTERRUPTED, NULL);
            else if (S->phase_end > 0 && now_s() > S->phase_end &&
                     !(S->deadline > 0 && now_s() > S->deadline))
                stop_search(S, STOP_PAUSE, NULL);
            else if (S->deadline > 0 && now_s() > S->deadline)
                stop_search(S, STOP_TIMEOUT, NULL);
            else if (S->o->max_nodes > 0 && S->nodes >= S->o->max_nodes)
                stop_search(S, STOP_NODE_LIMIT, NULL);
            else if (S->mem > S->mem_limit)
                stop_search(S, STOP_MEM_LIMIT, NULL);
        }
        if (S->n_open == 0 && S->busy == 0)
            stop_search(S, STOP_EXHAUSTED, NULL);
        pthread_cond_broadcast(&S->cv);
        pthread_mutex_unlock(&S->mu);
    }
    /* GLPK's environment is per thread: its objects die in the thread that
     * made them. */
    lp_ctx_free(w->lpc);
    w->lpc = NULL;
    return NULL;
}

static void *worker_thread(void *arg)
{
    worker_main(arg);
    glp_free_env(); /* this thread's GLPK environment */
    return NULL;
}

static void worker_clear(worker *w)
{
    bnd_ctx_free(w->bc);
    lp_ctx_free(w->lpc);
    atk_grad_free(w->g);
    atk_grad_free(w->gb);
    cn_free(w->sx);
    cn_free(w->sy);
    cn_free(w->lb);
    cn_free(w->x);
    cn_free(w->y);
    cn_free(w->gx);
    cn_free(w->cvec);
    cn_free(w->cvec_in);
    cn_free(w->ymax);
    cn_free(w->alive_tmp);
    cn_free(w->alive_before);
    cn_free(w->cand);
    cn_free(w->pre_lo);
    cn_free(w->pre_hi);
    cn_free(w->lsplit);
    cn_free(w->tsplit);
    cn_free(w->lam);
    cn_free(w->tcy);
    cn_free(w->tcy_dn);
    for (int t = 0; t < 2; t++)
        for (int h = 0; h < 2; h++) {
            cn_free(w->tr[t].alive[h]);
            cn_free(w->tr[t].cand[h]);
        }
}

static cn_status worker_init(worker *w, shared *S, int idx, cn_err *err)
{
    memset(w, 0, sizeof *w);
    w->S = S;
    atk_rng_seed(&w->rng, S->o->seed * 7919u + (uint64_t)idx);
    bnd_opts_init(&w->bo, S->o->method);
    bnd_opts_init(&w->bo_alpha, BND_ALPHA);
    w->bc = bnd_ctx_new(S->n, err);
    if (!w->bc)
        return err->status;
    cn_status st = atk_grad_new(S->n, 1, &w->g, err);
    if (st != CN_OK)
        return st;
    w->lb = cn_mallocarray((size_t)S->m + 1, sizeof(double));
    w->x = cn_mallocarray((size_t)S->n_in, sizeof(double));
    w->gx = cn_mallocarray((size_t)S->n_in, sizeof(double));
    w->y = cn_mallocarray((size_t)S->n_out, sizeof(double));
    w->cvec = cn_mallocarray((size_t)S->n_out, sizeof(double));
    w->cvec_in = cn_mallocarray((size_t)S->n_in, sizeof(double));
    w->cand = cn_mallocarray((size_t)S->n_in, sizeof(double));
    w->ymax = cn_calloc((size_t)S->n_out, sizeof(double));
    w->alive_tmp = cn_mallocarray((size_t)S->words, sizeof(uint64_t));
    w->alive_before = cn_mallocarray((size_t)S->words, sizeof(uint64_t));
    w->pre_lo = cn_calloc((size_t)S->n_layers, sizeof(double *));
    w->pre_hi = cn_calloc((size_t)S->n_layers, sizeof(double *));
    w->lsplit = cn_calloc((size_t)S->n_layers, sizeof(signed char *));
    w->tsplit = cn_calloc((size_t)S->n_relus + 1, 1);
    w->lam = cn_calloc((size_t)S->m + 1, sizeof(double));
    w->tcy = cn_calloc((size_t)S->n_out, sizeof(double));
    w->tcy_dn = cn_calloc((size_t)S->n_out, sizeof(double));
    w->tr_best = -1;
    w->t_begin = now_s();
    bool tr_ok = true;
    for (int t = 0; t < 2; t++) {
        w->tr[t].dim = -1;
        for (int h = 0; h < 2; h++) {
            w->tr[t].alive[h] = cn_mallocarray((size_t)S->words, sizeof(uint64_t));
            w->tr[t].cand[h] = cn_mallocarray((size_t)S->n_in, sizeof(double));
            tr_ok = tr_ok && w->tr[t].alive[h] && w->tr[t].cand[h];
        }
    }
    if (!w->lb || !w->x || !w->gx || !w->y || !w->cvec || !w->cvec_in || !w->cand || !w->ymax ||
        !w->alive_tmp || !w->alive_before || !w->pre_lo || !w->pre_hi || !w->lsplit || !tr_ok ||
        !w->tsplit || !w->lam || !w->tcy || !w->tcy_dn)
        return cn_fail(err, CN_ENOMEM, "out of memory for a worker");
    return CN_OK;
}

/* ------------------------------------------------------------------------ */
/* One case                                                                  */
/* ------------------------------------------------------------------------ */

static void shared_clear(shared *S)
{
    cn_free(S->C);
    cn_free(S->cerr);
    cn_free(S->r_up);
    cn_free(S->in_lo);
    cn_free(S->in_hi);
    cn_free(S->dstart);
    cn_free(S->relu_layer);
    cn_free(S->relu_off);
    cn_free(S->wnorm);
    for (long i = 0; i < S->n_open; i++)
        cn_free(S->stack[i]);
    cn_free(S->stack);
    cn_free(S->hp[0]);
    cn_free(S->hp[1]);
    qvec_free(S->sat_q, S->n_in);
}

/* Builds the atoms of the case as rows of C. */
static cn_status build_atoms(shared *S, cn_err *err)
{
    const prop_case *pc = S->pc;
    int m = 0;
    for (int d = 0; d < pc->n_disj; d++)
        m += pc->disj[d].n;
    S->m = m;
    S->n_disj = pc->n_disj;
    S->words = (pc->n_disj + 63) / 64;
    if (S->words == 0)
        S->words = 1;
    S->C = cn_calloc((size_t)(m ? m : 1) * (size_t)S->n_out, sizeof(double));
    S->cerr = cn_calloc((size_t)(m ? m : 1) * (size_t)S->n_out, sizeof(double));
    S->r_up = cn_calloc((size_t)(m ? m : 1), sizeof(double));
    S->dstart = cn_calloc((size_t)pc->n_disj + 1, sizeof(int));
    S->in_lo = cn_mallocarray((size_t)S->n_in, sizeof(double));
    S->in_hi = cn_mallocarray((size_t)S->n_in, sizeof(double));
    if (!S->C || !S->cerr || !S->r_up || !S->dstart || !S->in_lo || !S->in_hi)
        return cn_fail(err, CN_ENOMEM, "out of memory for the property's atoms");
    for (int i = 0; i < S->n_in; i++) {
        S->in_lo[i] = cn_mpq_get_d_up(pc->lo[i]);
        S->in_hi[i] = cn_mpq_get_d_down(pc->hi[i]);
    }
    /* Per atom, the exact coefficient of every output (a variable may occur
     * more than once); C gets a double within one ulp of it (mpq_get_d) and
     * cerr the exact difference, rounded up. */
    mpq_t *q = cn_mallocarray((size_t)S->n_out, sizeof(mpq_t));
    if (!q)
        return cn_fail(err, CN_ENOMEM, "out of memory for the property's atoms");
    for (int j = 0; j < S->n_out; j++)
        mpq_init(q[j]);
    mpq_t t;
    mpq_init(t);
    int k = 0;
    for (int d = 0; d < pc->n_disj; d++) {
        S->dstart[d] = k;
        for (int a = 0; a < pc->disj[d].n; a++, k++) {
            const prop_lin *at = &pc->disj[d].atoms[a];
            for (int j = 0; j < S->n_out; j++)
                mpq_set_ui(q[j], 0, 1);
            for (int e = 0; e < at->n; e++)
                mpq_add(q[at->var[e]], q[at->var[e]], at->coef[e]);
            for (int j = 0; j < S->n_out; j++) {
                if (mpq_sgn(q[j]) == 0)
                    continue;
                size_t idx = (size_t)k * S->n_out + j;
                S->C[idx] = mpq_get_d(q[j]);
                mpq_set_d(t, S->C[idx]);
                mpq_sub(t, q[j], t);
                mpq_abs(t, t);
                S->cerr[idx] = mpq_sgn(t) ? cn_mpq_get_d_up(t) : 0.0;
            }
            S->r_up[k] = cn_mpq_get_d_up(at->rhs);
        }
    }
    for (int j = 0; j < S->n_out; j++)
        mpq_clear(q[j]);
    cn_free(q);
    S->dstart[pc->n_disj] = k;
    mpq_clear(t);
    return CN_OK;
}

static cn_status build_relu_index(shared *S, cn_err *err)
{
    S->relu_layer = cn_calloc((size_t)S->n_relus + 1, sizeof(int));
    S->relu_off = cn_calloc((size_t)S->n_layers + 1, sizeof(int));
    S->wnorm = cn_calloc((size_t)S->n_relus + 1, sizeof(double));
    if (!S->relu_layer || !S->relu_off || !S->wnorm)
        return cn_fail(err, CN_ENOMEM, "out of memory");
    int g = 0;
    for (int i = 0; i < S->n_layers; i++) {
        const net_layer *l = net_layer_at(S->n, i);
        S->relu_off[i] = g;
        if (l->op != NET_RELU)
            continue;
        const net_layer *nx = i + 1 < S->n_layers ? net_layer_at(S->n, i + 1) : NULL;
        for (int k = 0; k < l->in; k++, g++) {
            S->relu_layer[g] = i;
            double s = 1.0;
            if (nx && nx->op == NET_DENSE) {
                s = 0;
                for (int o = 0; o < nx->out; o++)
                    s += fabs(nx->W[(size_t)o * nx->in + k]);
            }
            S->wnorm[g] = s;
        }
    }
    return CN_OK;
}

static int n_cores(void)
{
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c > 0 ? (int)c : 1;
}

/* Copies an open node into a self-contained subproblem. */
static cn_status node_to_sub(const shared *S, const node *nd, vfy_sub *s, cn_err *err)
{
    memset(s, 0, sizeof *s);
    s->case_idx = S->case_idx;
    s->pid = nd->pid;
    s->depth = nd->depth;
    s->n_in = S->n_in;
    s->n_relus = S->relu_mode ? S->n_relus : 0;
    s->words = S->words;
    s->lo = cn_mallocarray((size_t)S->n_in, sizeof(double));
    s->hi = cn_mallocarray((size_t)S->n_in, sizeof(double));
    s->alive = cn_mallocarray((size_t)S->words, sizeof(uint64_t));
    if (S->relu_mode)
        s->split = cn_malloc((size_t)S->n_relus);
    if (!s->lo || !s->hi || !s->alive || (S->relu_mode && !s->split)) {
        vfy_sub_clear(s);
        return cn_fail(err, CN_ENOMEM, "out of memory for a subproblem");
    }
    memcpy(s->lo, nd->lo, sizeof(double) * (size_t)S->n_in);
    memcpy(s->hi, nd->hi, sizeof(double) * (size_t)S->n_in);
    memcpy(s->alive, nd->alive, sizeof(uint64_t) * (size_t)S->words);
    if (S->relu_mode)
        memcpy(s->split, nd->split, (size_t)S->n_relus);
    return CN_OK;
}

/* Checks that a subproblem fits this case; CN_EINVAL names what differs. */
static cn_status check_sub(const shared *S, const vfy_sub *s, cn_err *err)
{
    if (s->n_in != S->n_in || s->words != S->words || !s->lo || !s->hi || !s->alive)
        return cn_fail(err, CN_EINVAL,
                       "subproblem: %d inputs and %d disjunct words, case %d has %d and %d",
                       s->n_in, s->words, S->case_idx, S->n_in, S->words);
    if (S->relu_mode != (s->split != NULL) || (s->split && s->n_relus != S->n_relus))
        return cn_fail(err, CN_EINVAL, "subproblem: ReLU splits (%d) do not match the engine's "
                       "%s splitting of %d ReLUs", s->n_relus, S->relu_mode ? "ReLU" : "input",
                       S->n_relus);
    for (int k = 0; k < S->n_in; k++)
        if (!(S->pc->lo_d[k] <= s->lo[k] && s->lo[k] <= s->hi[k] && s->hi[k] <= S->pc->hi_d[k]))
            return cn_fail(err, CN_EINVAL, "subproblem: input %d interval [%g, %g] is not inside "
                           "the case box [%g, %g]", k, s->lo[k], s->hi[k], S->pc->lo_d[k],
                           S->pc->hi_d[k]);
    for (int j = 0; s->split && j < S->n_relus; j++)
        if (s->split[j] < -1 || s->split[j] > 1)
            return cn_fail(err, CN_EINVAL, "subproblem: ReLU %d phase %d", j, s->split[j]);
    return CN_OK;
}

/* A case whose box reaches beyond the doubles (input k first): no bound can
 * be computed, so the box's exact corners lo and hi and its exact centre are
 * tried as counterexamples; SAT if one is, otherwise UNKNOWN with a reason
 * naming the input. */
static cn_status beyond_doubles(shared *S, int k, vfy_result *res, mpq_t *sat_q, cn_err *err)
{
    mpq_t *q = qvec_new(S->n_in);
    if (!q)
        return cn_fail(err, CN_ENOMEM, "out of memory");
    for (int t = 0; t < 3 && res->verdict != VFY_SAT; t++) {
        for (int i = 0; i < S->n_in; i++) {
            if (t < 2) {
                mpq_set(q[i], t == 0 ? S->pc->lo[i] : S->pc->hi[i]);
            } else {
                mpq_add(q[i], S->pc->lo[i], S->pc->hi[i]);
                mpq_div_2exp(q[i], q[i], 1);
            }
        }
        prop_check chk;
        prop_check_init(&chk);
        cn_status st = prop_check_point(S->p, S->n, q, &chk, err);
        bool hit = st == CN_OK && chk.violated;
        prop_check_clear(&chk);
        if (st != CN_OK) {
            qvec_free(q, S->n_in);
            return st;
        }
        if (hit) {
            res->verdict = VFY_SAT;
            res->found_by = "node";
            for (int i = 0; i < S->n_in; i++)
                mpq_set(sat_q[i], q[i]);
        }
    }
    qvec_free(q, S->n_in);
    if (res->verdict != VFY_SAT) {
        res->verdict = VFY_UNKNOWN;
        snprintf(res->reason, sizeof res->reason,
                 "input X_%d of case %d reaches beyond the double range (|x| > %.3g): no bounds",
                 k, S->case_idx, DBL_MAX);
    }
    return CN_OK;
}

/* Runs branch and bound on case ci.  *verdict: VFY_UNSAT, VFY_SAT (sat_q
 * filled), VFY_TIMEOUT or VFY_UNKNOWN.  With o->sub, only that subproblem's
 * node; with target > 0, stops once target nodes are open and moves them to
 * fr (then the verdict stays UNSAT: the caller knows from fr->n). */
static cn_status run_case(const net *n, const prop *p, const vfy_opts *o, int ci, double t0,
                          double deadline, long nodes_before, volatile sig_atomic_t *stop,
                          vfy_proof *log, int target, vfy_frontier *fr, vfy_result *res,
                          mpq_t *sat_q, cn_err *err)
{
    shared S;
    memset(&S, 0, sizeof S);
    pthread_mutex_t mu0 = PTHREAD_MUTEX_INITIALIZER;
    S.log_mu = mu0;
    S.log = log;
    S.case_idx = ci;
    S.t_start = t0;
    S.nodes_before = nodes_before;
    S.n = n;
    S.p = p;
    S.o = o;
    S.pc = prop_case_at(p, ci);
    S.n_in = net_in_size(n);
    S.n_out = net_out_size(n);
    S.n_relus = net_n_relus(n);
    S.n_layers = net_n_layers(n);
    S.deadline = deadline;
    S.stop = stop;
    S.found_by = "";
    S.frontier_target = target;
    for (int k = 0; k < S.n_in; k++)
        if (mpq_cmp(S.pc->lo[k], S.pc->hi[k]) > 0) {
            /* empty box (decided exactly): nothing to refute, UNSAT holds
             * vacuously; the caller reports it (vfy_result.empty_cases) */
            res->found_by = "bounds";
            res->empty_cases = 1;
            log_set(&S, log_node(&S, -1, 0), VFY_PN_LEAF_EMPTY, -1, 0);
            return S.log_failed ? cn_fail(err, CN_ENOMEM, "out of memory for the proof log")
                                : CN_OK;
        }
    for (int k = 0; k < S.n_in; k++)
        if (!isfinite(S.pc->lo_d[k]) || !isfinite(S.pc->hi_d[k]))
            return beyond_doubles(&S, k, res, sat_q, err);
    vfy_split mode = o->split;
    if (mode == VFY_SPLIT_AUTO)
        mode = S.n_in <= o->input_split_max_dims ? VFY_SPLIT_INPUT : VFY_SPLIT_RELU;
    S.relu_mode = mode == VFY_SPLIT_RELU && S.n_relus > 0;
    S.own_box = !S.relu_mode;
    S.bf_every = o->best_first_every >= 0 ? o->best_first_every : S.relu_mode ? 4 : 1;
    cn_status st = build_atoms(&S, err);
    if (st == CN_OK)
        st = build_relu_index(&S, err);
    if (st == CN_OK && o->sub)
        st = check_sub(&S, o->sub, err);
    S.sat_q = qvec_new(S.n_in);
    if (st == CN_OK && !S.sat_q)
        st = cn_fail(err, CN_ENOMEM, "out of memory");
    if (st != CN_OK) {
        shared_clear(&S);
        return st;
    }
    S.node_bytes = sizeof(node) + sizeof(uint64_t) * (size_t)S.words +
                   (S.own_box ? 4 * sizeof(double) * (size_t)S.n_in : 0) +
                   (S.relu_mode ? (size_t)S.n_relus : 0);
    S.node_bytes = (S.node_bytes + 15) & ~(size_t)15;
    S.mem_limit = (size_t)(o->max_mem_mb > 0 ? o->max_mem_mb : 4096) << 20;

    node *root = node_new(&S, NULL);
    S.heaps = S.own_box && S.bf_every == 1 && S.frontier_target <= 0;
    S.node_charge = S.node_bytes + (S.heaps ? 3 : 1) * sizeof(node *);
    S.stack = cn_mallocarray(1024, sizeof(node *));
    for (int h = 0; S.heaps && h < 2; h++)
        S.hp[h] = cn_mallocarray(1024, sizeof(node *));
    if (!root || !S.stack || (S.heaps && (!S.hp[0] || !S.hp[1]))) {
        cn_free(root);
        shared_clear(&S);
        return cn_fail(err, CN_ENOMEM, "out of memory");
    }
    S.cap = 1024;
    for (int d = 0; d < S.n_disj; d++)
        root->alive[d >> 6] |= 1ull << (d & 63);
    if (S.own_box) {
        memcpy(root->lo, S.pc->lo_d, sizeof(double) * (size_t)S.n_in);
        memcpy(root->hi, S.pc->hi_d, sizeof(double) * (size_t)S.n_in);
    }
    if (o->sub) { /* the subproblem's node (checked above) */
        for (int w = 0; w < S.words; w++)
            root->alive[w] &= o->sub->alive[w];
        if (S.own_box) {
            memcpy(root->lo, o->sub->lo, sizeof(double) * (size_t)S.n_in);
            memcpy(root->hi, o->sub->hi, sizeof(double) * (size_t)S.n_in);
        }
        if (S.relu_mode)
            memcpy(root->split, o->sub->split, (size_t)S.n_relus);
        root->depth = o->sub->depth;
    }
    root->pid = log_node(&S, -1, 0);
    if (S.n_disj == 0) {
        log_set(&S, root->pid, VFY_PN_LEAF_BOUNDS, -1, 0);
        cn_free(root);
        shared_clear(&S);
        res->found_by = "bounds";
        return S.log_failed ? cn_fail(err, CN_ENOMEM, "out of memory for the proof log")
                            : CN_OK; /* empty unsafe set */
    }
    open_push(&S, root);
    S.mem = S.node_charge;

    int T = o->threads > 0 ? o->threads : n_cores();
    if (T > 64)
        T = 64;
    worker *ws = cn_calloc((size_t)T, sizeof(worker));
    pthread_t *th = cn_calloc((size_t)T, sizeof(pthread_t));
    if (!ws || !th) {
        cn_free(ws);
        cn_free(th);
        shared_clear(&S);
        return cn_fail(err, CN_ENOMEM, "out of memory for worker threads");
    }
    for (int t = 0; t < T && st == CN_OK; t++)
        st = worker_init(&ws[t], &S, t, err);
    pthread_mutex_init(&S.mu, NULL);
    pthread_cond_init(&S.cv, NULL);
    /* Branch and bound in phases of growing length; between phases a PGD
     * burst of a quarter of the phase's length (counterexamples that need a
     * longer search than the initial attack are found this way). */
    double slice = o->attack_bursts ? 2.0 : 0.0;
    for (int phase = 0; st == CN_OK; phase++) {
        atomic_store_explicit(&S.done, false, memory_order_relaxed); /* (no worker runs) */
        S.why = STOP_NONE;
        S.paused = false;
        S.phase_end = slice > 0 ? now_s() + slice : 0;
        int started = 0;
        for (int t = 1; t < T; t++) {
            if (pthread_create(&th[t], NULL, worker_thread, &ws[t]) != 0)
                break;
            started++;
        }
        worker_main(&ws[0]);
        for (int t = 1; t <= started; t++)
            pthread_join(th[t], NULL);
        if (!S.paused || S.verdict || S.fail != CN_OK)
            break;
        double left = deadline > 0 ? deadline - now_s() : INFINITY;
        double burst = fmin(0.25 * slice, left);
        if (burst > 0.05) {
            atk_opts ao;
            atk_opts_init(&ao);
            ao.seed = o->seed + 1000u * (uint64_t)(phase + 1);
            ao.time_limit = burst;
            atk_result ar;
            atk_result_init(&ar);
            st = atk_run(n, p, &ao, &ar, err);
            if (st == CN_OK && ar.found) {
                pthread_mutex_lock(&S.mu);
                S.verdict = VFY_SAT;
                S.found_by = "attack";
                for (int i = 0; i < S.n_in; i++)
                    mpq_set(S.sat_q[i], ar.x[i]);
                stop_search(&S, STOP_SAT, NULL);
                pthread_mutex_unlock(&S.mu);
            }
            res->attack_seconds += ar.seconds;
            atk_result_clear(&ar);
            if (S.verdict)
                break;
        }
        if (stop && *stop) {
            pthread_mutex_lock(&S.mu);
            stop_search(&S, STOP_INTERRUPTED, NULL);
            pthread_mutex_unlock(&S.mu);
            break;
        }
        slice *= 2;
    }
    pthread_mutex_destroy(&S.mu);
    pthread_cond_destroy(&S.cv);
    for (int t = 0; t < T; t++) {
        res->lp_tail_tries += ws[t].tail_tries;
        res->lp_tail_closed += ws[t].tail_closed;
        res->lp_tail_lps += ws[t].tail_lps;
        worker_clear(&ws[t]); /* zeroed when not initialised: clearing is safe */
    }
    cn_free(ws);
    cn_free(th);
    res->nodes += S.nodes;
    if (S.max_open > res->max_open)
        res->max_open = S.max_open;
    if (S.depth > res->depth)
        res->depth = S.depth;
    if (st == CN_OK && S.fail != CN_OK) {
        st = S.fail;
        *err = S.err;
    }
    if (st == CN_OK && S.log_failed)
        st = cn_fail(err, CN_ENOMEM, "out of memory for the proof log");
    if (st == CN_OK && S.frontier_hit && !S.verdict) {
        fr->subs = cn_reallocarray(NULL, (size_t)S.n_open, sizeof(vfy_sub));
        if (!fr->subs)
            st = cn_fail(err, CN_ENOMEM, "out of memory for the frontier");
        for (long i = 0; st == CN_OK && i < S.n_open; i++) {
            st = node_to_sub(&S, S.stack[i], &fr->subs[fr->n], err);
            if (st == CN_OK)
                fr->n++;
        }
    }
    if (st == CN_OK) {
        if (S.verdict == VFY_SAT) {
            res->verdict = VFY_SAT;
            res->found_by = S.found_by;
            for (int i = 0; i < S.n_in; i++)
                mpq_set(sat_q[i], S.sat_q[i]);
        } else if (S.verdict) {
            res->verdict = S.verdict;
            snprintf(res->reason, sizeof res->reason, "%s", S.reason);
        } else {
            res->found_by = S.nodes <= 1 ? "bounds" : "bab";
        }
    }
    shared_clear(&S);
    return st;
}

/* The double nearest to q, clamped to the finite range (for display and
 * the float outputs y_d; the counterexample itself is the rational q). */
static double near_finite(const mpq_t q)
{
    double lo = cn_mpq_get_d_down(q), hi = cn_mpq_get_d_up(q);
    if (lo == hi)
        return lo;
    if (!isfinite(lo))
        return -DBL_MAX;
    if (!isfinite(hi))
        return DBL_MAX;
    mpq_t a, b;
    mpq_init(a);
    mpq_init(b);
    mpq_set_d(a, lo);
    mpq_sub(a, q, a); /* q - lo */
    mpq_set_d(b, hi);
    mpq_sub(b, b, q); /* hi - q */
    double d = mpq_cmp(a, b) <= 0 ? lo : hi;
    mpq_clear(a);
    mpq_clear(b);
    return d;
}

/* Fills the SAT part of res from the exact point q (re-checked exactly here). */
static cn_status record_sat(const net *n, const prop *p, mpq_t *q, vfy_result *res,
                            cn_err *err)
{
    int in = net_in_size(n), out = net_out_size(n);
    res->n_in = in;
    res->n_out = out;
    res->x = qvec_new(in);
    res->x_d = cn_mallocarray((size_t)in, sizeof(double));
    res->y_d = cn_mallocarray((size_t)out, sizeof(double));
    if (!res->x || !res->x_d || !res->y_d)
        return cn_fail(err, CN_ENOMEM, "out of memory");
    for (int k = 0; k < in; k++) {
        mpq_set(res->x[k], q[k]);
        res->x_d[k] = near_finite(q[k]);
    }
    cn_status st = net_forward(n, 1, res->x_d, res->y_d, err);
    if (st != CN_OK)
        return st;
    st = prop_check_point(p, n, res->x, &res->check, err);
    if (st != CN_OK)
        return st;
    if (!res->check.violated)
        return cn_fail(err, CN_EINTERNAL, "a counterexample failed its exact re-check");
    return CN_OK;
}

/* Appends an open root for case ci to the frontier (and the proof log). */
static cn_status frontier_add_root(const net *n, const prop *p, int ci, vfy_proof *proof,
                                   vfy_frontier *fr, cn_err *err)
{
    vfy_sub *ns = cn_reallocarray(fr->subs, (size_t)fr->n + 1, sizeof *ns);
    if (!ns)
        return cn_fail(err, CN_ENOMEM, "out of memory for the frontier");
    fr->subs = ns;
    const prop_case *pc = prop_case_at(p, ci);
    int n_disj = pc->n_disj;
    vfy_sub *s = &fr->subs[fr->n];
    memset(s, 0, sizeof *s);
    s->case_idx = ci;
    s->pid = -1;
    s->n_in = net_in_size(n);
    s->words = (n_disj + 63) / 64;
    s->lo = cn_mallocarray((size_t)s->n_in, sizeof(double));
    s->hi = cn_mallocarray((size_t)s->n_in, sizeof(double));
    s->alive = cn_calloc((size_t)s->words + 1, sizeof(uint64_t));
    if (!s->lo || !s->hi || !s->alive) {
        vfy_sub_clear(s);
        return cn_fail(err, CN_ENOMEM, "out of memory for a subproblem");
    }
    memcpy(s->lo, pc->lo_d, sizeof(double) * (size_t)s->n_in);
    memcpy(s->hi, pc->hi_d, sizeof(double) * (size_t)s->n_in);
    for (int d = 0; d < n_disj; d++)
        s->alive[d >> 6] |= 1ull << (d & 63);
    fr->n++;
    if (proof) {
        vfy_proof_node *nn = cn_reallocarray(proof->nodes, (size_t)proof->n_nodes + 1,
                                             sizeof *nn);
        if (!nn)
            return cn_fail(err, CN_ENOMEM, "out of memory for the proof log");
        proof->nodes = nn;
        proof->cap_nodes = proof->n_nodes + 1;
        s->pid = proof->n_nodes++;
        nn[s->pid] = (vfy_proof_node){-1, 0, ci, VFY_PN_OPEN, -1, 0, {-1, -1}};
    }
    return CN_OK;
}

static cn_status verify_impl(const net *n, const prop *p, const vfy_opts *o, int target,
                             volatile sig_atomic_t *stop, vfy_frontier *fr, vfy_result *res,
                             cn_err *err)
{
    CN_REQUIRE(n && p && o && res, "network, property, options and result");
    vfy_result_clear(res);
    if (prop_n_in(p) != net_in_size(n) || prop_n_out(p) != net_out_size(n)) {
        return cn_fail(err, CN_EINVAL,
                       "%s: property has %d inputs and %d outputs, the network %d and %d",
                       prop_name(p), prop_n_in(p), prop_n_out(p), net_in_size(n), net_out_size(n));
    }
    double t0 = now_s();
    double deadline = o->timeout_s > 0 ? t0 + o->timeout_s : 0;
    int in = net_in_size(n);
    mpq_t *sat_q = qvec_new(in);
    if (!sat_q)
        return cn_fail(err, CN_ENOMEM, "out of memory");
    cn_status st = CN_OK;
    vfy_proof *proof = NULL;
    if (o->record_proof) {
        proof = cn_calloc(1, sizeof *proof);
        if (!proof) {
            qvec_free(sat_q, in);
            return cn_fail(err, CN_ENOMEM, "out of memory");
        }
        proof->complete = true;
    }

    /* 1. attack */
    if (o->sub && (o->sub->case_idx < 0 || o->sub->case_idx >= prop_n_cases(p))) {
        qvec_free(sat_q, in);
        vfy_proof_free(proof);
        return cn_fail(err, CN_EINVAL, "subproblem: case %d, the property has %d",
                       o->sub->case_idx, prop_n_cases(p));
    }
    res->verdict = VFY_UNSAT; /* (res is written only from here on: cleared on failure) */
    double attack_s = o->attack_s;
    if (attack_s < 0)
        attack_s = o->sub ? 0 : o->timeout_s > 0 ? fmin(0.5, o->timeout_s / 50) : 0.5;
    if (attack_s > 0) {
        atk_opts ao;
        atk_opts_init(&ao);
        ao.seed = o->seed;
        ao.time_limit = attack_s;
        if (o->attack_s < 0 && o->split != VFY_SPLIT_RELU && in <= o->input_split_max_dims)
            ao.max_restarts = 200; /* few inputs: input splitting searches the box itself
                                      (vertices, centres, samples), so a short attack */
        atk_result ar;
        atk_result_init(&ar);
        st = atk_run(n, p, &ao, &ar, err);
        res->attack_seconds = ar.seconds;
        if (st == CN_OK && ar.found) {
            for (int i = 0; i < in; i++)
                mpq_set(sat_q[i], ar.x[i]); /* the attack's own exact point */
            res->verdict = VFY_SAT;
            res->found_by = "attack";
        }
        atk_result_clear(&ar);
        if (st != CN_OK)
            goto done;
    }
    /* 2. bounds and branch and bound, case by case */
    for (int c = 0; c < prop_n_cases(p) && res->verdict == VFY_UNSAT; c++) {
        if (o->sub && c != o->sub->case_idx)
            continue;
        if (fr && fr->n > 0) { /* the frontier is made: later cases are open whole */
            st = frontier_add_root(n, p, c, proof, fr, err);
            if (st != CN_OK)
                goto done;
            continue;
        }
        vfy_result part;
        vfy_result_init(&part);
        part.verdict = VFY_UNSAT;
        st = run_case(n, p, o, c, t0, deadline, res->nodes, stop, proof, target, fr, &part, sat_q,
                      err);
        res->nodes += part.nodes;
        res->lp_tail_tries += part.lp_tail_tries;
        res->lp_tail_closed += part.lp_tail_closed;
        res->lp_tail_lps += part.lp_tail_lps;
        res->empty_cases += part.empty_cases;
        if (part.max_open > res->max_open)
            res->max_open = part.max_open;
        if (part.depth > res->depth)
            res->depth = part.depth;
        if (st != CN_OK)
            goto done;
        if (part.verdict != VFY_UNSAT) {
            res->verdict = part.verdict;
            res->found_by = part.found_by;
            snprintf(res->reason, sizeof res->reason, "%s", part.reason);
        } else if (strcmp(res->found_by, "bab") != 0) {
            res->found_by = part.found_by;
        }
    }
    if (res->verdict == VFY_SAT) {
        const char *by = res->found_by;
        st = record_sat(n, p, sat_q, res, err);
        res->found_by = by;
    }
    if (st == CN_OK && res->verdict == VFY_UNSAT && fr && fr->n > 0) {
        res->verdict = VFY_UNKNOWN;
        res->found_by = "";
        snprintf(res->reason, sizeof res->reason, "frontier");
        res->proof = proof; /* the top of the tree, open at the frontier */
        proof = NULL;
    }
    /* Self-check of the proof log: an unsat verdict leaves no open node. */
    for (int i = 0; proof && st == CN_OK && res->verdict == VFY_UNSAT && i < proof->n_nodes; i++)
        if (proof->nodes[i].kind == VFY_PN_OPEN)
            st = cn_fail(err, CN_EINTERNAL, "proof log: node %d of case %d was never closed", i,
                         proof->nodes[i].case_idx);
done:
    qvec_free(sat_q, in);
    if (st == CN_OK && res->verdict == VFY_UNSAT)
        res->proof = proof;
    else
        vfy_proof_free(proof);
    res->seconds = now_s() - t0;
    if (st != CN_OK) {
        vfy_result_clear(res);
        if (fr)
            vfy_frontier_clear(fr);
        return st;
    }
    if (fr && res->verdict != VFY_UNKNOWN)
        vfy_frontier_clear(fr); /* decided while the frontier was being made */
    if (res->verdict == VFY_UNKNOWN && !fr && net_has_enclosure(n)) {
        size_t len = strlen(res->reason);
        snprintf(res->reason + len, sizeof res->reason - len, "%s%s", len ? "; " : "",
                 "folding rounded: the network is known within an enclosure");
    }
    return CN_OK;
}

cn_status vfy_verify(const net *n, const prop *p, const vfy_opts *o, volatile sig_atomic_t *stop,
                     vfy_result *res, cn_err *err)
{
    return verify_impl(n, p, o, 0, stop, NULL, res, err);
}

cn_status vfy_frontier_split(const net *n, const prop *p, const vfy_opts *o, int target,
                             volatile sig_atomic_t *stop, vfy_frontier *fr, vfy_result *res,
                             cn_err *err)
{
    CN_REQUIRE(fr && fr->n == 0 && !fr->subs && target > 0 && !o->sub,
               "a zeroed frontier, target > 0 and no subproblem");
    return verify_impl(n, p, o, target, stop, fr, res, err);
}

/* engine_int.h — internals shared by the engine's files (verifier/, not for
 * other modules; verifier.h is the interface).
 *
 * One case of the property is decided by branch and bound over a tree of
 * nodes.  A node is a region: with input splitting a box [lo, hi] of the
 * case's input box, with ReLU splitting the case box plus a phase for some
 * ReLUs (split[i] = -1 inactive, +1 active, 0 free).  The case's unsafe set is
 * a disjunction of conjunctions of atoms a.y <= r over the outputs y; a node
 * keeps the disjuncts its bounds have not refuted yet (alive, a bit set).  A
 * node is closed when every disjunct is refuted; otherwise it is split in two
 * children (branch.c) or, with nothing left to split, the case is undecided.
 *
 * Threads: one `shared` per case, one `worker` per thread; the locking rules
 * are at `shared`.  Cross-file functions carry the vfy__ prefix; a file's own
 * helpers are static without prefix. */
#ifndef CERTNN_VERIFIER_ENGINE_INT_H
#define CERTNN_VERIFIER_ENGINE_INT_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <pthread.h>

#include "attacks/attacks.h"
#include "lp/lp.h"
#include "verifier/verifier.h"

/* ---- tuning ------------------------------------------------------------- */

/* The engine's fixed numbers.  None changes a verdict's soundness: they
 * steer the order of the search and the effort spent on counterexamples. */
enum {
    /* split_input: dimensions looked at (the candidate flags live on the
     * stack); beyond them, any splittable dimension */
    VFY__SPLIT_MAX_DIMS = 64,
    /* split_input: a candidate dimension is at least 1/64 as wide, relative
     * to the case box, as the relatively widest splittable one */
    VFY__SPLIT_WIDTH_RATIO = 64,
    /* split_input: above this many inputs the first candidate is bisected
     * without trial bounds of its halves (too many bounds per node) */
    VFY__TRIAL_MAX_DIMS = 8,
    /* split_relu: at most this many unstable ReLUs tried (opts.branch_candidates
     * is clamped to it) */
    VFY__RELU_MAX_CANDIDATES = 16,
    /* the LP tail: at most this many unstable ReLUs split depth first */
    VFY__TAIL_MAX_UNSTABLE = 16,
    /* node_pgd: signed-gradient steps per call */
    VFY__PGD_STEPS = 12,
    /* best-first picks from the stack: at most this many open nodes looked
     * at (evenly spaced), the spacing's offset moving every
     * VFY__PICK_ROTATE picks so that every node is seen in time */
    VFY__PICK_SCAN = 256,
    VFY__PICK_ROTATE = 16,
    /* ReLU splitting: every 4th pick best first (input splitting: every pick) */
    VFY__BEST_FIRST_RELU = 4,
    /* the open set's first capacity (it doubles) */
    VFY__OPEN_CAP0 = 1024,
    /* opts.batch automatic: the batch's workspaces (bounds.h, bnd_run_batch:
     * about 3 bounds per neuron and the query rows over the widest layer,
     * per region) within this many MiB */
    VFY__BATCH_MEM_MB = 64,
    /* worker threads at most */
    VFY__MAX_THREADS = 64,
    /* the memory limit in MiB when opts.max_mem_mb is not positive */
    VFY__MEM_MB_DEFAULT = 4096,
    /* the initial attack takes timeout / 50 when that is below VFY__ATTACK_S */
    VFY__ATTACK_TIMEOUT_PARTS = 50,
    /* the initial attack's restarts with few inputs (input splitting searches
     * the box itself: vertices, centres, samples) */
    VFY__ATTACK_FEW_RESTARTS = 200,
    /* the seed of the attack burst after phase k: opts.seed + 1000 k */
    VFY__BURST_SEED_STEP = 1000,
    /* a worker's random stream: opts.seed * 7919 + its index */
    VFY__WORKER_SEED_MUL = 7919
};

/* node_sample: the share of a worker's time it may spend sampling (the
 * samples cost more than a node's bound, and an unsat case gains nothing
 * from them) */
#define VFY__SAMPLE_SHARE 0.25
/* point_margin: an atom a.y <= r counts as holding in floating point when
 * a.y <= r + 1e-6 (1 + |r|): such a point is worth an exact check */
#define VFY__PLAUSIBLE_TOL 1e-6
/* node_pgd: the step, as a share of the box's half-width, falls linearly
 * from VFY__PGD_STEP0 + VFY__PGD_STEP_MIN to VFY__PGD_STEP_MIN; a start
 * near the bound's vertex is that vertex moved VFY__PGD_PULL of the way to a
 * uniform point */
#define VFY__PGD_STEP0 0.3
#define VFY__PGD_STEP_MIN 0.02
#define VFY__PGD_PULL 0.1
/* split_input: a trial's best split must raise the score by this share of
 * |score|, else the bound's coefficients choose the dimension */
#define VFY__TRIAL_GAIN 0.1
/* the initial attack's time (seconds) unless the timeout is shorter */
#define VFY__ATTACK_S 0.5
/* branch and bound runs in phases of growing length (the first VFY__PHASE0_S
 * seconds, then doubling); between phases an attack burst of VFY__BURST_SHARE
 * of the phase's length, skipped when under VFY__BURST_MIN_S */
#define VFY__PHASE0_S 2.0
#define VFY__BURST_SHARE 0.25
#define VFY__BURST_MIN_S 0.05
/* the progress callback's interval (seconds) */
#define VFY__PROGRESS_EVERY 0.25

/* ---- where the time goes ------------------------------------------------- */

/* The phases of vfy_phase_times (verifier.h).  Every moment of a worker's
 * loop belongs to exactly one: its current phase, BRANCH unless a piece of
 * work has switched to another (vfy__phase_to).  New work that is one of
 * these phases switches to it around its call, e.g. a new optimised bound:
 *     int was = vfy__phase_to(w, VFY__PH_OPTIMISE); ... vfy__phase_to(w, was);
 * Nested switches are fine (a point tried during an LP counts as ATTACK). */
typedef enum {
    VFY__PH_BRANCH = 0,     /* picking, splitting, scoring candidates, bookkeeping, waiting */
    VFY__PH_ATTACK,         /* node PGD, samples, point tries and their exact checks */
    VFY__PH_BOUNDS,         /* plain bound passes (bnd_run without optimisation) */
    VFY__PH_OPTIMISE,       /* optimised bounds (bnd_run with BND_ALPHA, ...) */
    VFY__PH_LP,             /* GLPK: node LPs, the LP tail */
    VFY__N_PHASES
} vfy__phase;

/* ---- nodes, the shared state, workers ----------------------------------- */

typedef struct node {
    double *lo, *hi;        /* [n_in]: own copy (input splitting) or the case box */
    double *cand;           /* [n_in] input splitting: the last bound's minimising vertex
                               (a start for the node's PGD), or NULL */
    double *bx;             /* [n_in] input splitting: where conc was seen, or NULL */
    signed char *split;     /* [n_relus] or NULL */
    /* activation splitting (act_mode): the restrictions of the sigmoid /
     * tanh pre-activations on the node's path, act_lo[j] <= z_j <= act_hi[j]
     * ([n_smooth] each, -inf / +inf: none), and the split chosen when the
     * node was bounded: neuron act_j (-1: none) at act_at */
    double *act_lo, *act_hi;
    int act_j;
    double act_at;
    uint64_t *alive;        /* [words] disjuncts not yet refuted */
    int depth;
    int pid;                /* proof-log node, or -1 */
    int pref_dim[2];        /* best two input dims by the bound's coefficients, or -1 */
    bool evaluated;         /* alive/score already computed for this region */
    int n_unst;             /* input splitting: ReLUs the last bound of the box left unstable */
    int lp_skip;            /* the LP tail failed at an ancestor with this many (INT_MAX: none) */
    double score;
    /* opt_on (shared): the node's optimised parameters per atom row k and
     * ReLU j, [m * n_relus] each (in the node's allocation): slopes q/128 and
     * multipliers; a child starts from its parent's.  has_par: set. */
    unsigned char *pa;
    float *pb;
    bool has_par;
    double conc;            /* smallest float margin seen at a point of the node (<= 0
                               would be a counterexample): a priority for the search
                               of sat only, never part of a proof; +inf when none */
    long pos, hpos[2];      /* open: index in shared.stack and in shared.hp (heaps) */
} node;

/* Why the workers stop (named as kissat names its termination reasons).
 * Every stop goes through vfy__stop_search, with shared.mu held: it keeps the
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
    bool act_mode;          /* activation splitting (neither relu_mode nor own_box) */
    int n_smooth;           /* sigmoid / tanh neurons (layer order) */
    double *act_wnorm;      /* [n_smooth] outgoing weight norm */
    bool opt_on;            /* relu_mode with opts.opt_bounds and a linear method */
    bool opt_in;            /* input splitting with opts.input_opt_gap > 0, a linear
                               method and ReLUs (node_opt.c, vfy__opt_input) */
    /* opt_on: pre-activation bounds proved at the case's root (node_opt.c,
     * vfy__root_tighten), [n_layers] arrays for the ReLU layers' inputs, NULL
     * until then; written before the root's children exist */
    double **ref_lo, **ref_hi;
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
    /* where the time goes: seconds each phase kept a worker busy, summed over
     * the workers (each adds its own under mu when it leaves its loop) */
    double phase_s[VFY__N_PHASES];
} shared;

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

/* The LP tail's tree of activation patterns, kept for the proof log
 * (node_lp_cert.c): node 0 is the input box, a node at depth k splits ReLU
 * u[k] of the attempt; refutations hang in lists. */
typedef struct {
    int depth, child[2];    /* children -1 until visited */
    int ref;                /* first refutation (tail_ref), -1 */
} tail_node;
typedef struct {
    int disj, next;         /* next refutation of the node, -1 */
    int n_y;                /* 0: the region is empty for the checker's bounds */
    long y;                 /* first multiplier in tail_tree.y */
} tail_ref;
typedef struct {
    tail_node *nd;
    tail_ref *rf;
    double *y;
    int n_nd, cap_nd, n_rf, cap_rf;
    long n_y, cap_y;
} tail_tree;

/* One per thread: its bounding, LP and gradient contexts and its scratch
 * arrays, touched by its own thread only (and by the case's driver before and
 * after the phases). */
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
    /* act_mode: the smooth restrictions (node.act_lo / act_hi) of the region
     * vfy__bound_region bounds (NULL: none); set by vfy__bound_node */
    const double *act_lo, *act_hi;
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
    int worst_atom;         /* the hardest alive atom of the last bound_region (-1: none) */
    double *as, *as2;       /* act_mode: [widest layer] sensitivities (vfy__act_choose) */
    bool sample_here;       /* the node being processed was taken as the lowest bound */
    /* node_opt.c scratch (opt_on or opt_in): rows' parameters [m * n_relus], rows
     * [m * n_out], their bounds and atoms [m], one refutation's values */
    double *oa, *ob, *oC, *olb;
    int *ok;
    unsigned char *qa;      /* [n_relus] */
    double *gap;            /* [n_relus] branching scores (vfy__opt_eval) */
    int *bj;                /* [n_relus] */
    double *bv;             /* [n_relus] */
    /* LP refutations for the proof log (node_lp_cert.c) */
    cert_bounds *cb;        /* the checker's bounds (lazily made) */
    double *ybuf, *ybuf_f;  /* [ybuf_cap] multipliers, and rounded to float */
    int ybuf_cap;
    const double *ykeep;    /* after vfy__lpc_keep: the accepted multipliers */
    int ykeep_n;
    tail_tree tt;
    bool halted;            /* a bound pass was stopped (deadline, stop flag, the phase's
                               end): it refuted nothing, and the node goes back */
    /* where the time goes (vfy__phase_to): seconds per phase, the current
     * phase and when it began */
    double phase_s[VFY__N_PHASES];
    int phase;
    double phase_t;
    /* split_relu's batched trials (opts.batch resolved: bt_n regions per
     * bnd_run_batch, <= 1: none), each region's splits, results, bounds,
     * alive disjuncts and score; arrays of bt_n (lazily made) */
    int bt_n;
    signed char *bt_split;  /* [bt_n * n_relus] */
    bnd_region *bt_rg;
    bnd_result *bt_res;
    double *bt_lb;          /* [bt_n * m] */
    uint64_t *bt_alive;     /* [bt_n * words] */
    double *bt_score;
} worker;

/* ---- helpers ------------------------------------------------------------ */

static inline double vfy__now(void) { return cn_now(); }

/* Makes p the worker's current phase, charging the time since the last
 * switch to the phase it leaves; returns that phase (to switch back to). */
static inline int vfy__phase_to(worker *w, int p)
{
    double t = vfy__now();
    int was = w->phase;
    w->phase_s[was] += t - w->phase_t;
    w->phase_t = t;
    w->phase = p;
    return was;
}

static inline bool vfy__alive_get(const uint64_t *a, int d) { return (a[d >> 6] >> (d & 63)) & 1; }
static inline void vfy__alive_clear(uint64_t *a, int d) { a[d >> 6] &= ~(1ull << (d & 63)); }

/* Whether the phase is over (any thread, with or without mu). */
static inline bool vfy__stopping(shared *S)
{
    return atomic_load_explicit(&S->done, memory_order_acquire);
}

/* Whether work in progress should give up: the phase is over, the caller's
 * stop flag is set or the deadline has passed (any thread). */
static inline bool vfy__must_stop(shared *S)
{
    return vfy__stopping(S) || (S->stop && *S->stop) ||
           (S->deadline > 0 && vfy__now() > S->deadline);
}

/* ---- workers.c: threads and termination --------------------------------- */

/* Ends the phase for reason why (mu held); detail: the reason text of
 * STOP_UNDECIDED. */
void vfy__stop_search(shared *S, stop_reason why, const char *detail);
/* A node that can be neither closed nor split: the case is undecided (takes mu). */
void vfy__set_undecided(shared *S, const char *why);
/* A worker's loop over open nodes until the phase stops; worker_thread is
 * the same in a thread of its own (its GLPK environment freed at the end). */
void *vfy__worker_main(void *arg);
void *vfy__worker_thread(void *arg);
cn_status vfy__worker_init(worker *w, shared *S, int idx, cn_err *err);
void vfy__worker_clear(worker *w);

/* ---- open_set.c: nodes and the open set (mu held) ------------------------ */

/* A node (a child of parent, or a root when NULL), or NULL without memory. */
node *vfy__node_new(shared *S, const node *parent);
bool vfy__open_reserve(shared *S);
void vfy__open_push(shared *S, node *nd);
/* Takes the next open node (n_open > 0); *sample_here: taken as the one with
 * the lowest bound (node_sample runs there). */
node *vfy__open_pick(shared *S, bool *sample_here);

/* ---- proof_log.c --------------------------------------------------------- */

int vfy__log_node(shared *S, int parent, int side);
void vfy__log_set(shared *S, int id, vfy_pn_kind kind, int dim, double at);
void vfy__log_refuted(shared *S, int id, const uint64_t *before, const uint64_t *after);
void vfy__log_refuted_par(shared *S, int id, int d, const cert_par *p);
/* Records a root claim (its slopes' defaults set by vfy__alpha_defaults). */
void vfy__log_claim(shared *S, int layer, int neuron, int sgn, double lb, const unsigned char *q);
/* Sets q [n_relus] to CERT_ALPHA_DEFAULT (certs.h) where the slope cannot
 * change the checker's bound, so that the certificate need not store it:
 * ReLUs of layers >= below (a row from below them does not pass them),
 * split in `split` (NULL: none; the checker clips them to a phase), or
 * stable by the case's root claims (S->ref_lo / ref_hi: the checker
 * intersects every region with those). */
void vfy__alpha_defaults(const shared *S, int below, const signed char *split,
                         unsigned char *q);
void vfy__log_ref(shared *S, int id, int d, const double *y, int n);
/* Forgets the refutations recorded at node id. */
void vfy__log_drop_refs(shared *S, int id);

/* ---- node_bound.c -------------------------------------------------------- */

cn_status vfy__bound_region(worker *w, const double *lo, const double *hi,
                            const signed char *split, uint64_t *alive, bool alpha,
                            double *score, bool *closed);
cn_status vfy__bound_node(worker *w, node *nd, bool opt, bool *closed);
/* vfy__bound_region (plain bounds, no branching hint) of B <= w->bt_n
 * regions with box nd's and splits w->bt_split, in one bnd_run_batch:
 * w->bt_alive[b] from nd's alive set, then as vfy__bound_region's alive,
 * score and closed in w->bt_alive, w->bt_score (closed: score +inf).  A
 * stopped batch sets w->halted. */
cn_status vfy__bound_batch(worker *w, const node *nd, int B);

/* ---- node_opt.c ---------------------------------------------------------- */

/* After a plain bound of nd left it open (opt_on): the alive disjuncts'
 * atoms bounded with optimised slopes and split multipliers (from the
 * node's parameters), rounded to what a certificate stores and bounded again
 * with exactly those; refutations are logged with them.  Updates alive,
 * score, the node's parameters and *closed. */
cn_status vfy__opt_node(worker *w, node *nd, bool *closed);
/* Input splitting (opt_in): vfy__opt_node right after the plain bound of
 * nd's box, from that bound's slopes and opts.input_opt_iters steps, only
 * the slopes (no splits: no multipliers; nothing kept in the node). */
cn_status vfy__opt_input(worker *w, node *nd, bool *closed);
/* Branching with the node's parameters (has_par; otherwise nothing is
 * changed): after a plain bound over nd's region, the alive atoms bounded
 * with nd's stored slopes and multipliers as they are (no optimisation),
 * with ReLU `relu` (>= 0) also fixed to phase s (bnd_run_param_fixed: the
 * child's bound without bounding the child).  *score becomes the smallest
 * margin over the alive disjuncts these values leave open (each atom the
 * better of the plain and this bound; +inf when they refute all).  With
 * gap [n_relus]: the BaBSR intercept score of each unstable ReLU under the
 * hardest disjunct's row (its coefficient over the ReLU's output), or
 * gap[0] = NaN when there is none.  Ranking only: nothing is refuted. */
cn_status vfy__opt_eval(worker *w, const node *nd, const uint64_t *alive, int relu, int s,
                        double *score, double *gap);
/* At a case's root (opt_on): alpha-CROWN bounds of the ReLU layers' inputs
 * with slopes on the certificate's grid (bnd_run_tight), kept in
 * S->ref_lo/ref_hi for every node of the case and logged as claims. */
cn_status vfy__root_tighten(worker *w, node *nd);
/* Whether the stored slope q of a ReLU whose input the checker bounds by
 * [lo, hi] gives the checker's bound what its default slope gives (the
 * ReLU is stable, or q is the default 0 / CERT_ALPHA_DEN: the same value;
 * at most a zero's sign can differ): then the certificate can omit it. */
bool vfy__alpha_is_default(unsigned char q, double lo, double hi);
void vfy__ref_free(shared *S);
cn_status vfy__opt_worker_init(worker *w);
void vfy__opt_worker_clear(worker *w);
cn_status vfy__bound_node_cached(worker *w, node *nd, const trial *t, int h, bool *closed);
void vfy__note_point(worker *w, node *nd);

/* ---- node_cex.c ---------------------------------------------------------- */

mpq_t *vfy__qvec_new(int n);
void vfy__qvec_free(mpq_t *q, int n);
bool vfy__try_point(worker *w, const double *x_in);
bool vfy__node_sample(worker *w, node *nd);
bool vfy__node_pgd(worker *w, const double *lo, const double *hi, const double *start,
                   const uint64_t *alive);

/* ---- branch.c ------------------------------------------------------------ */

int vfy__top_unstable(const worker *w, const signed char *split, int K, int *cand, double *cs);
cn_status vfy__split_input(worker *w, node *nd, node **kids, int *n_kids, bool *split);
cn_status vfy__split_relu(worker *w, node *nd, node **kids, int *n_kids, bool *stuck);
/* Activation splitting: after nd's bound (the context's last run) left it
 * open, chooses the neuron and point to split it on (nd->act_j, act_at;
 * act_j -1 when no interval can be cut). */
void vfy__act_choose(worker *w, node *nd);
/* Splits nd on (act_j, act_at) into two children, each bounded at once
 * (*split false when act_j < 0: nothing was done). */
cn_status vfy__split_act(worker *w, node *nd, node **kids, int *n_kids, bool *split);

/* ---- node_lp.c ----------------------------------------------------------- */

cn_status vfy__node_lp(worker *w, node *nd, bool *closed);
cn_status vfy__node_tail(worker *w, node *nd, bool *closed, bool *found);
/* ---- node_lp_cert.c: LP refutations for the proof log -------------------- */
/* The checker's bounds of the region (w->cb) into w->pre_lo / w->pre_hi for
 * the LP, so that the LP is the checker's canonical LP (certs.h). */
cn_status vfy__lpc_region(worker *w, const double *lo, const double *hi, const signed char *split,
                          cert_region *cr);
/* After an LP bound over that region whose objective weighted disjunct d's
 * atoms by lam [atoms of d]: *ok when the checker accepts the multipliers
 * (then w->ykeep, w->ykeep_n hold them). */
cn_status vfy__lpc_keep(worker *w, int d, const double *lam, bool *ok);
void vfy__tt_reset(worker *w);
/* Child h of tail node tn (made when new): *child, or CN_ENOMEM. */
cn_status vfy__tt_child(worker *w, int tn, int h, int *child);
cn_status vfy__tt_ref(worker *w, int tn, int d, const double *y, int n);
/* Writes the tail's tree into the log at node pid (u: the attempt's ReLUs);
 * false when some leaf lacks a refutation of a disjunct of alive [words]
 * on its path, or a node has one child (nothing written). */
bool vfy__tt_commit(worker *w, int pid, const int *u, const uint64_t *alive);
void vfy__tt_clear(tail_tree *t);

/* ---- case_run.c ---------------------------------------------------------- */

/* Branch and bound on case ci (see the definition). */
cn_status vfy__run_case(const net *n, const prop *p, const vfy_opts *o, int ci, double t0,
                        double deadline, long nodes_before, volatile sig_atomic_t *stop,
                        vfy_proof *log, int target, vfy_frontier *fr, vfy_result *res,
                        mpq_t *sat_q, cn_err *err);

#endif

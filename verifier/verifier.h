/* verifier.h — the complete verification engine (vfy_): attack first, then
 * bounds, then parallel branch and bound.
 *
 * Problem.  A property p (models/models.h) is violated iff some case c has
 * an input x in region(c) whose exact output N(x) satisfies every atom
 * a_k . y <= r_k of some disjunct D of unsafe(c).  vfy_verify answers
 *
 *   VFY_SAT      with x confirmed by prop_check_point (exact rationals);
 *   VFY_UNSAT    every disjunct of every case refuted on every leaf of a
 *                branch-and-bound tree that covers the case's region;
 *   VFY_TIMEOUT  the time limit was hit;
 *   VFY_UNKNOWN  a node or memory limit was hit, or a case uses what the
 *                engine cannot split soundly.
 *
 * Refutation at a node.  A disjunct D is refuted on a node's region X' when
 * some atom k in D has  lb_k > r_k,  where lb_k <= a_k . N(x) for all x in X'
 * is a sound bound from bounds/ (bnd_run; coefficients a_k that are not
 * doubles are handled by an interval correction) and r_k is compared through
 * its upward-rounded double.  A node is closed when every disjunct still
 * alive in it is refuted (refuted disjuncts stay refuted in the children,
 * whose regions are subsets).  A node whose splits contradict sound
 * intermediate bounds is empty and closed.
 *
 * Branching.  Input splitting (bisect one input interval) when the network
 * has few inputs (<= opts.input_split_max_dims, ACAS Xu has 5): the dimension
 * is chosen by trying each and keeping the one whose worse child is best.
 * ReLU splitting otherwise: an unstable neuron is fixed active / inactive;
 * candidates are ranked by a BaBSR-style score (the triangle's intercept
 * -u l / (u - l) times the neuron's outgoing weight norm; with optimised
 * bounds, half of them by the intercept times the hardest row's own
 * coefficient over the neuron) and the best few are tried ("filtered smart
 * branching"): by the node's optimised bound with the candidate's phase
 * fixed (bnd_run_param_fixed), or without optimised bounds by bounding
 * each child plainly.  Activation splitting (networks with sigmoid / tanh
 * layers and no ReLUs, more inputs than input_split_max_dims, or --split
 * act): the pre-activation interval [l, u] of one sigmoid / tanh neuron is
 * cut at s (0 when l < 0 < u, where the function changes curvature, else
 * the midpoint): z <= s and z >= s; each child's bounds intersect that
 * neuron's interval with its side before its lines are built (bounds.h,
 * bnd_region.act_lo / act_hi).  The neuron has the largest score: the
 * gap its lines leave on [l, u] (estimated) times the hardest atom's
 * sensitivity to its output (the row's |c| carried back through |W| and
 * the chord slopes; the outgoing weight norm where a layer is neither dense
 * nor sigmoid / tanh).  Every split covers its parent:
 * the two halves of an interval, or z >= 0 and z <= 0.
 *
 * Order.  Open nodes form a stack (depth first, the child with the lower
 * score on top); every opts.best_first_every-th node taken is instead the
 * open node with the lowest score (best first), which reaches counterexamples
 * hidden in a different part of the tree.  With input splitting every second
 * such node is instead the one with the smallest float margin seen at a
 * point of its box (a priority for finding sat; it plays no part in a proof),
 * and by default every node is taken so (ACAS Xu: the rare counterexamples
 * of 1_5 prop_2 and 1_9 prop_7 are found in seconds instead of not at all,
 * for the same work on unsat cases); with ReLU splitting every fourth.  When
 * every node is taken best first the open nodes sit in two binary heaps (by
 * score and by margin), so each pick is exact; otherwise a pick scans at
 * most 256 of them.  A child inherits its parent's smallest margin when the
 * point where it was seen (a vertex, centre, PGD end point or sample) lies
 * in the child's half, so the search keeps narrowing around that point.
 * For an unsat instance the tree, and so the work, is the same in any order.
 *
 * Counterexamples are searched for at the start (attacks/, PGD), and at
 * nodes (the box centre; with input splitting the box vertex that minimises
 * the linear bound of the hardest atom; a short PGD inside the node's box,
 * started half the time near that vertex; with input splitting, a batch of
 * opts.node_samples uniform points of each node taken best first by its
 * bound, which
 * finds violations in regions too small and too far from PGD's local minima
 * for PGD); any point of the case's region that violates the property is a
 * counterexample, whatever node found it.
 *
 * Threads.  Workers share one stack of open nodes (a mutex and a condition
 * variable); each owns its bnd_ctx, gradient workspace and generator, and
 * sets its own rounding mode (bounds/ does that per call).  The first
 * confirmed counterexample stops everyone.
 */
#ifndef CERTNN_VERIFIER_H
#define CERTNN_VERIFIER_H

#include <signal.h>
#include <stdint.h>

#include "attacks/attacks.h"
#include "bounds/bounds.h"
#include "certs/certs.h"
#include "models/models.h"
#include "verifier/options.h"

typedef enum { VFY_SAT = 1, VFY_UNSAT, VFY_TIMEOUT, VFY_UNKNOWN } vfy_verdict;

typedef enum { VFY_SPLIT_AUTO = 0, VFY_SPLIT_INPUT, VFY_SPLIT_RELU, VFY_SPLIT_ACT } vfy_split;

/* How input splitting picks the dimension to bisect: COEF by the bound's
 * input coefficients |A_j| (hi_j - lo_j) of the hardest disjunct (one bound
 * per child); TRIAL by bounding both halves of every dimension and keeping
 * the dimension whose worse half is best (2 n bounds per split). */
typedef enum { VFY_BRANCH_COEF = 0, VFY_BRANCH_TRIAL } vfy_branch;

/* Proof log (for certificates, certs/).  With vfy_opts.record_proof the
 * engine records, for an UNSAT verdict, the branch-and-bound tree of every
 * case:
 *   - a root node per case (parent -1) whose region is the case's box
 *     enclosure lo_d/hi_d and no splits;
 *   - SPLIT_INPUT nodes: children side 0 = [lo, at] and side 1 = [at, hi] in
 *     input dim (the other dims unchanged); SPLIT_RELU nodes: children side 0
 *     = ReLU neuron `dim` (global index, layer order) fixed inactive
 *     (pre-activation <= 0), side 1 = active (>= 0);
 *   - every node may refute disjuncts (vfy_refutation): plain CROWN bounds
 *     (bnd_run, BND_CROWN, adaptive slopes, splits as fixed phases) over the
 *     node's region show that some atom of the disjunct cannot hold; or
 *     the same bound with the recorded slopes and split multipliers
 *     (opts.opt_bounds; bnd_run_param; par >= 0); or, with n_dual > 0, the
 *     LP over the region with the multipliers duals[dual .. dual + n_dual)
 *     (the rows of the checker's canonical LP, certs/certs.h section 3,
 *     "LP refutations"), which the engine kept only after cert_lp_refutes
 *     accepted them;
 *   - leaves: LEAF_BOUNDS (every disjunct alive at the leaf is refuted there,
 *     or the bounds found the splits infeasible), LEAF_EMPTY (the case box is
 *     empty), LEAF_LP (closed by LP refutations: the node LP of ReLU
 *     splitting, or a leaf of the LP tail, whose ReLU splits below an input
 *     box are SPLIT_RELU nodes of the log).
 * A checker re-derives each node's region from the root by the recorded
 * splits, recomputes bounds itself, and confirms every refutation. */
typedef enum {
    VFY_PN_OPEN = 0,          /* never closed (only in an unfinished log) */
    VFY_PN_SPLIT_INPUT,
    VFY_PN_SPLIT_RELU,
    VFY_PN_LEAF_BOUNDS,
    VFY_PN_LEAF_EMPTY,
    VFY_PN_LEAF_LP,
    VFY_PN_SPLIT_ACT          /* children side 0 = sigmoid/tanh neuron `dim` (global
                                 index over those neurons, layer order) with
                                 pre-activation <= at, side 1 = >= at */
} vfy_pn_kind;

typedef struct {
    int parent;               /* node index, -1 for a case root */
    int side;                 /* which child of the parent (0 or 1) */
    int case_idx;
    vfy_pn_kind kind;
    int dim;                  /* SPLIT_INPUT: input dim; SPLIT_RELU: ReLU index;
                                 SPLIT_ACT: sigmoid/tanh neuron index */
    double at;                /* SPLIT_INPUT: bisection point; SPLIT_ACT: split point */
    int child[2];             /* node indices of the children, -1 if none */
} vfy_proof_node;

typedef struct {
    int node, disj;           /* disjunct `disj` refuted over node's region */
    int par;                  /* the bound's parameters: index into pars, or -1 */
    int n_dual;               /* 0: by the bounds; else by the LP with these multipliers */
    long dual;                /* their first index in vfy_proof.duals */
} vfy_refutation;

/* A pre-activation bound proved over a case's root box (opts.opt_bounds):
 * sgn * z_i[j] >= lb with the slopes q [n_relus] (q / 128) of the ReLUs
 * below (bounds.h, bnd_run_tight); every node of the case uses it. */
typedef struct {
    int case_idx, layer, neuron, sgn;
    double lb;
    unsigned char *q;         /* [n_q] (owned) */
    int n_q;
} vfy_claim;

typedef struct {
    int n_nodes, cap_nodes;
    vfy_proof_node *nodes;
    int n_claims, cap_claims;
    vfy_claim *claims;
    int n_refs, cap_refs;
    vfy_refutation *refs;
    int n_pars, cap_pars;
    cert_par *pars;           /* parameters of optimised refutations (owned) */
    long n_duals, cap_duals;
    double *duals;            /* the LP refutations' multipliers */
    bool complete;            /* every leaf is certifiable (always, since LP leaves
                                 carry their multipliers; kept for older logs) */
} vfy_proof;

void vfy_proof_free(vfy_proof *p);  /* NULL is fine */

/* The engine's options: the fields of VFY_OPTIONS (verifier/options.h, with
 * each one's default, range and meaning), then the callbacks. */
typedef struct {
#define VFY_OPT_FIELD(kind, type, field, name, sh, arg, def, low, high, choices, help) type field;
    VFY_OPTIONS(VFY_OPT_FIELD)
#undef VFY_OPT_FIELD
    /* Progress (may be NULL): called about four times a second from a worker
     * thread, with the engine's lock held (keep it short; do not call the
     * engine), with branch-and-bound nodes so far, open subproblems and
     * seconds since the call began. */
    void (*progress)(void *user, long nodes, long open, double elapsed);
    void *progress_user;
    /* Distributed branch and bound (may be NULL; borrowed): decide only this
     * subproblem (see vfy_sub below).  The initial attack is then off unless
     * attack_s > 0. */
    const struct vfy_sub *sub;
} vfy_opts;

void vfy_opts_init(vfy_opts *o);           /* every option at its default */
const char *vfy_verdict_name(vfy_verdict v);   /* "sat", "unsat", "timeout", "unknown" */

/* Where a run's time went, in seconds of wall-clock time.  The initial
 * attack and the bursts between branch-and-bound phases run alone and count
 * whole; the workers' time is counted per worker and divided by their
 * number, so with T workers a phase's figure is the time the workers spent
 * in it over T (the phases then sum to at most `seconds`: the rest is set-up
 * and the last instant of the run).
 *   attack_s    PGD / FGSM: the initial attack and the bursts, the short
 *               PGD at nodes, random samples of nodes, and every point tried
 *               as a counterexample (its forward pass and exact check),
 *               wherever it was found (bound vertices, LP minimisers);
 *   bounds_s    plain bound passes (bnd_run without optimised slopes), at
 *               nodes and children and the trial bounds of branching;
 *   optimise_s  optimised bounds (bnd_run with BND_ALPHA; future optimised
 *               bounds add their time here);
 *   lp_s        GLPK: the LPs of nodes with every ReLU fixed, the LP tail;
 *   branch_s    the rest of the search: taking nodes from the open set (and
 *               waiting for one), ranking branching candidates, making
 *               children, bookkeeping. */
typedef struct {
    double attack_s, bounds_s, optimise_s, lp_s, branch_s;
} vfy_phase_times;

typedef struct {
    vfy_verdict verdict;
    /* SAT: the exactly confirmed counterexample (owned). */
    int n_in, n_out;
    mpq_t *x;                  /* [n_in] or NULL */
    double *x_d;               /* [n_in] nearest doubles, or NULL */
    double *y_d;               /* [n_out] outputs at x_d in double, or NULL */
    prop_check check;          /* exact check of x */
    /* statistics */
    long nodes;                /* bound evaluations at branch-and-bound nodes */
    long max_open;             /* largest number of open nodes */
    long lp_tail_tries;        /* nodes handed to the LP tail (opts.lp_tail) */
    long lp_tail_closed;       /* ... of which it closed */
    long lp_tail_lps;          /* LPs it solved (each also counted in nodes) */
    int empty_cases;           /* cases whose input box is empty (some lo > hi, exactly):
                                  refuted vacuously; UNSAT claims nothing about the net */
    int depth;                 /* deepest node */
    double seconds, attack_seconds;
    vfy_phase_times phases;    /* where the time went (attack_s >= attack_seconds) */
    double nodes_per_s;        /* nodes / seconds (0 when no time was measured) */
    const char *found_by;      /* "attack", "node" (SAT); "bounds", "bab" (UNSAT); "" */
    char reason[128];          /* why UNKNOWN / TIMEOUT */
    vfy_proof *proof;          /* UNSAT with record_proof: the proof log (owned), else NULL */
} vfy_result;

void vfy_result_init(vfy_result *r);
void vfy_result_clear(vfy_result *r);

/* ---- Distributed branch and bound --------------------------------------
 *
 * For front ends that spread one instance over processes (certnn-mpi):
 *
 *   1. vfy_frontier_split runs the engine breadth-first until `target` nodes
 *      are open and hands them out as self-contained subproblems (vfy_sub),
 *      with the top of the proof tree whose open leaves they are;
 *   2. anyone decides a subproblem with vfy_verify and opts.sub set: UNSAT
 *      means the sub's node is closed (its proof is a subtree rooted there),
 *      SAT is a counterexample of the whole property (exactly re-checked);
 *   3. vfy_proof_graft puts each subtree in place of its open leaf; when
 *      every sub is UNSAT the grafted log is an ordinary proof of UNSAT.
 *
 * Soundness does not depend on the transport: a sub's region is rebuilt by
 * the certificate checker from the root and the recorded splits, never
 * taken from the sub. */
typedef struct vfy_sub {
    int case_idx;              /* case of the property */
    int pid;                   /* open leaf of the frontier's proof log, or -1 */
    int depth;
    int n_in, n_relus, words;  /* sizes of the arrays below */
    double *lo, *hi;           /* [n_in] the node's box */
    signed char *split;        /* [n_relus] 0 free, 1 active, -1 inactive; NULL: none */
    uint64_t *alive;           /* [words] disjuncts not yet refuted (bit d of word d/64) */
} vfy_sub;

void vfy_sub_clear(vfy_sub *s);              /* frees the arrays; zeroes *s */

typedef struct {
    int n;
    vfy_sub *subs;             /* [n] */
} vfy_frontier;

void vfy_frontier_clear(vfy_frontier *f);    /* frees every sub; zeroes *f */

/* Attack, then branch and bound (first-in first-out) until at least `target`
 * nodes are open or the instance is decided.  fr->n > 0: the open nodes are
 * in fr (owned by the caller), res->verdict is VFY_UNKNOWN with reason
 * "frontier", and with o->record_proof res->proof is the top of the tree
 * (nodes VFY_PN_OPEN at every sub's pid).  fr->n == 0: res is final, as
 * from vfy_verify.  Borrows n, p, o; fr must be zeroed. */
cn_status vfy_frontier_split(const net *n, const prop *p, const vfy_opts *o, int target,
                             volatile sig_atomic_t *stop, vfy_frontier *fr /* OUT */,
                             vfy_result *res /* OUT */, cn_err *err) CN_WUR;

/* Byte serialisation (same machine architecture; lengths and ranges are
 * checked on unpacking, CN_EPARSE on malformed bytes).  *buf is the
 * caller's, allocated with cn_realloc: free it with cn_free. */
cn_status vfy_sub_pack(const vfy_sub *s, unsigned char **buf, size_t *len, cn_err *err) CN_WUR;
cn_status vfy_sub_unpack(const unsigned char *buf, size_t len, vfy_sub *s /* OUT */,
                         cn_err *err) CN_WUR;
cn_status vfy_proof_pack(const vfy_proof *p, unsigned char **buf, size_t *len,
                         cn_err *err) CN_WUR;
cn_status vfy_proof_unpack(const unsigned char *buf, size_t len, vfy_proof **p /* OUT */,
                           cn_err *err) CN_WUR;

/* Replaces the open leaf `at` of top by `sub`, a proof whose single root
 * (parent -1) stands for that leaf: the root's kind, split and refutations
 * go to `at`, its descendants are appended.  Borrows sub.  CN_EINVAL if `at`
 * is not an open node or sub is not a tree with one root. */
cn_status vfy_proof_graft(vfy_proof *top, int at, const vfy_proof *sub, cn_err *err) CN_WUR;

/* Decides p on n.  Borrows both.  Returns CN_OK when the call worked (the
 * verdict is in res); an error status (CN_ENOMEM, ...) otherwise, with res
 * cleared.  A stop flag (may be NULL) is polled: when it becomes non-zero
 * (e.g. from a signal handler) the call ends with VFY_TIMEOUT. */
cn_status vfy_verify(const net *n, const prop *p, const vfy_opts *o,
                     volatile sig_atomic_t *stop, vfy_result *res, cn_err *err) CN_WUR;

/* ---- Certificates (verifier/cert_write.c) --------------------------------
 *
 * The writer side of certificates: the engine's results as cert_ documents
 * (certs/certs.h describes the format and the checker).  Used by `certnn
 * verify --cert OUT [--sign KEY]` and certnn-mpi. */

/* The proof trees of an UNSAT result, one per case in case order:
 * trees[n_cases] are initialised here (release each with cert_tree_clear,
 * also on failure: they are then empty).  Each case's tree is the engine's
 * tree in preorder, with every node's refutations (an LP refutation with
 * its multipliers, CERT_PAR_LP).  Returns CN_EINVAL and a message when the
 * proof cannot be certified: an incomplete log, an unfinished node, a
 * missing root or child. */
cn_status vfy_cert_trees(const vfy_proof *pf, int n_cases, cert_tree *trees,
                         cn_err *err) CN_WUR;

/* One-leaf trees (the root refutes every disjunct) for a property that the
 * bounds proved on its own; trees[prop_n_cases(p)] initialised here. */
cn_status vfy_cert_root_trees(const prop *p, cert_tree *trees, cn_err *err) CN_WUR;

/* Checks trees against p with the certificate checker (certs/): true when
 * they hold; why[] says what failed otherwise. */
cn_status vfy_cert_selfcheck(const net *n, const prop *p, int n_trees, const cert_tree *trees,
                             bool *valid, char *why, size_t why_len, cn_err *err) CN_WUR;

/* SHA-256 of a file's bytes (hex). */
cn_status vfy_cert_file_sha(const char *path, char hex[65], cn_err *err) CN_WUR;

/* Appends the result r of vfy_verify on p to d: a proof (UNSAT with a
 * complete proof), a counterexample (SAT), or an open entry (TIMEOUT,
 * UNKNOWN).  e->verdict is ignored and set from r ("unsat"/"sat" or, with
 * sweep, "robust"/"not-robust").  An UNSAT result whose proof cannot be
 * certified gets an open entry with verdict "unknown", *certified = false
 * and the reason in why[]. */
cn_status vfy_cert_add_result(cert_doc *d, const cert_entry *e, bool sweep, const prop *p,
                              const vfy_result *r, bool *certified, char *why, size_t why_len,
                              cn_err *err) CN_WUR;

/* ---- Atoms as rows (verifier/rows.c) -------------------------------------
 *
 * Atom k of a case (atoms numbered disjunct by disjunct, k = 0 .. m-1),
 * a_k . y <= r_k with rational a_k (the coefficients of a repeated output
 * summed) and r_k, is stated to bound propagation as the row
 *
 *   C[k][j]    = a double within one ulp of a_kj (mpq_get_d, toward zero),
 *   cerr[k][j] = |a_kj - C[k][j]| rounded up (0 when a_kj is a double),
 *   r_up[k]    = r_k rounded up,
 *
 * so that for every output y
 *
 *   a_k . y - r_k  >=  C_k . y - r_up[k] - sum_j cerr[k][j] |y_j|.      (R)
 *
 * A sound lower bound > 0 of the right-hand side of (R) over a region rules
 * the atom out there (the engine compares lb(C_k . y) with r_up[k] plus the
 * correction; the bounds-only verifier folds -r_up[k] into the row).  An
 * atom with a coefficient beyond the double range gets a zero row and
 * r_up[k] = +inf: it is never ruled out. */

/* m, the number of atoms of the case. */
int vfy_case_n_atoms(const prop_case *pc);

/* Fills C and cerr [m * n_out] (row-major), r_up [m] and, when not NULL,
 * dstart [n_disj + 1] (the first row of each disjunct, then m).  n_out is
 * the network's (and property's) output count.  CN_ENOMEM only. */
cn_status vfy_case_rows(const prop_case *pc, int n_out, double *C /* OUT */,
                        double *cerr /* OUT */, double *r_up /* OUT */,
                        int *dstart /* OUT, may be NULL */, cn_err *err) CN_WUR;

/* ---- Bounds only (verifier/bounds_only.c) --------------------------------
 *
 * The incomplete verifier: one bound propagation (bnd_run with o) over the
 * box of a case, no attack and no branching.  lb[k] is a sound lower bound
 * of a_k . y - r_k over the box, by (R) with the output bounds of the same
 * run for |y_j| (-inf where none is known, +inf for every atom when the
 * bounds find the box empty).  A disjunct is ruled out when one of its
 * atoms has lb > 0, a case when every disjunct is, and a property is proven
 * (unsat) when every case is.  Borrows n, bc (a context for n), o, p. */

/* Case ci of p: lb [vfy_case_n_atoms(case)] OUT, *ruled_out. */
cn_status vfy_bounds_case(const net *n, bnd_ctx *bc, const bnd_opts *o, const prop *p, int ci,
                          double *lb /* OUT */, bool *ruled_out /* OUT */, cn_err *err) CN_WUR;
/* The same over the case's box cut to an L2 ball (bnd_run_ball; NULL: the
 * box alone): the bounds hold over box ∩ ball, so the caller must have made
 * box ∩ ball contain the region it speaks of. */
cn_status vfy_bounds_case_ball(const net *n, bnd_ctx *bc, const bnd_opts *o, const prop *p,
                               int ci, const bnd_ball *ball, double *lb /* OUT */,
                               bool *ruled_out /* OUT */, cn_err *err) CN_WUR;

/* Every case of p in turn, stopping at the first one not ruled out:
 * *proven when all are; *min_lb (may be NULL) the smallest lb of the cases
 * bounded. */
cn_status vfy_bounds_prop(const net *n, bnd_ctx *bc, const bnd_opts *o, const prop *p,
                          bool *proven /* OUT */, double *min_lb /* OUT, may be NULL */,
                          cn_err *err) CN_WUR;

/* ---- Robustness probes (verifier/probe.c) --------------------------------
 *
 * Questions about the L-infinity ball B(eps) = [x0 - eps, x0 + eps] ∩ [0,1]^n
 * around an exact sample x0 (mpq_t [n_in], borrowed) with the property
 * "every other output stays strictly below y_label".  Every answer is
 * sound: ROBUST only from a proof, ATTACKED only with a point confirmed by
 * prop_check_point in exact arithmetic.
 *
 * Several bound methods.  The certification probe tries pr->bounds, then
 * pr->more[0 .. n_more-1] in turn on a ball the ones before leave open, so it
 * proves what the best of them proves (no method dominates: CROWN's adaptive
 * slopes depend on the intermediate bounds, and none of the methods is
 * monotone in eps).  Which one proved is reported (vfy_probe_prove). */
#define VFY_PROBE_METHODS 4
/* The default list of `certnn radius` and `certnn compare`: DeepPoly, as
 * cheap as CROWN and, on the zoo models, never proving less (58 against 54
 * of 100 Fashion-MNIST images at eps 0.1 on fmnist_ibp).  "deeppoly,alpha"
 * proves a little more (+0 to 2 of 100) at several times the cost of a
 * failed probe (benchmarks/README.md, "Radius and compare"). */
#define VFY_PROBE_DEFAULT_BOUNDS "deeppoly"
typedef struct {
    const net *n;             /* borrowed */
    bnd_ctx *bc;              /* borrowed, for n */
    bnd_opts bounds;          /* first bound method of the certification probe */
    int n_more;               /* further methods, 0 .. VFY_PROBE_METHODS - 1 */
    bnd_opts more[VFY_PROBE_METHODS - 1];
    bool complete;            /* then the complete engine on what the bounds leave open */
    vfy_opts engine;          /* its options (timeout per probe) */
    atk_opts pgd;             /* PGD probe: time limit / restarts per probe */
    volatile sig_atomic_t *stop;  /* may be NULL: polled, passed to the engine */
} vfy_prober;

/* pr->bounds, pr->more and pr->n_more from a comma-separated list of bound
 * method names ("deeppoly,alpha"), each at its defaults (bnd_opts_init).
 * False (pr unchanged) when the list is empty, names something that is not
 * a method (bnd_method_parse), names a method twice or holds more than
 * VFY_PROBE_METHODS. */
bool vfy_prober_set_bounds(vfy_prober *pr, const char *list) CN_WUR;

typedef enum {
    VFY_PROBE_OPEN = 0,       /* not decided */
    VFY_PROBE_ROBUST,         /* proven: no point of the ball is misclassified */
    VFY_PROBE_ATTACKED        /* an exactly confirmed misclassified point in the ball */
} vfy_probe_verdict;

/* Is x0 itself exactly classified as label (B(0))? */
cn_status vfy_probe_clean(const vfy_prober *pr, mpq_t *x0, int label, bool *correct /* OUT */,
                          cn_err *err) CN_WUR;
/* Certification of B(eps): the bound methods in turn (vfy_bounds_prop),
 * then, when complete, the engine (which may also find a counterexample).
 * *by (may be NULL): who decided: bnd_method_name of the method that proved
 * the ball, "complete", or NULL when open.  Static strings. */
cn_status vfy_probe_prove(const vfy_prober *pr, mpq_t *x0, int label, const mpq_t eps,
                          bool complete, vfy_probe_verdict *v /* OUT */,
                          const char **by /* OUT, may be NULL */, cn_err *err) CN_WUR;
/* vfy_probe_prove with complete = pr->complete. */
cn_status vfy_probe_certify(const vfy_prober *pr, mpq_t *x0, int label, const mpq_t eps,
                            vfy_probe_verdict *v /* OUT */, cn_err *err) CN_WUR;
/* PGD (atk_run with pr->pgd) on B(eps). */
cn_status vfy_probe_attack(const vfy_prober *pr, mpq_t *x0, int label, const mpq_t eps,
                           vfy_probe_verdict *v /* OUT */, cn_err *err) CN_WUR;

/* ---- Robustness radius (verifier/radius.c) --------------------------------
 *
 * The bracket [certified, attacked] of the L-infinity robustness radius
 * r* = inf { eps : B(eps) holds a misclassified point }.
 *
 * Grid.  eps_k = k * max_eps / 2^bits, k = 0 .. N = 2^bits, all exact
 * rationals with terminating decimal expansions (max_eps is a decimal).
 *
 * Attacked: the smallest confirmed upper end: DeepFool's L-infinity radius,
 * rounded up to a 6-digit decimal (the confirmed point lies in that ball),
 * then the smallest eps_k at which PGD or the complete engine confirmed a
 * point, by bisection (PGD first tries eps_N when nothing is known).
 *
 * Certified: the largest eps_k a probe proved robust (0, "clean", when x0 is
 * exactly correct; none when it is not).  Bounds are not monotone in eps: a
 * ball may be proven while a smaller one is not, so the bisection for the
 * first failure (1) is followed by a scan (2):
 *   (1) bisection on (0, A), A the smallest grid index known attacked (or
 *       N + 1): c, the largest index it proved;
 *   (2) the grid indices in (c, A) not already refuted by (1), from the top
 *       down, with the bound methods only (never the complete engine): the
 *       first one proven is the largest proven grid point.  In rounds of at
 *       most `scan` probes: when the interval holds more indices, every
 *       s-th one from the top (s = ceil(count / scan)), and the next round
 *       scans the gap between the highest one proven and the one probed
 *       above it; so at most scan probes per round and one round per factor
 *       `scan` of grid points (one round when count <= scan).
 * With count <= scan, `certified` is the largest grid point the bound
 * methods prove below the attacked radius, whatever the shape of the
 * bounds.  Every probe answer is sound, so certified < r* <= attacked; a
 * proof at or above a confirmed attack would contradict it and is
 * returned as CN_EINTERNAL, never as a result. */
typedef struct {
    const char *max_eps;      /* decimal text, > 0 */
    int bits;                 /* grid of 2^bits steps, 1..30 */
    bool deepfool;            /* start from DeepFool's radius (default true) */
    atk_opts deepfool_opts;
    int scan;                 /* probes of step (2), >= 0 (0: bisection only; default 256) */
} vfy_radius_opts;

/* max_eps "0.25", bits 8, deepfool on (atk_opts_init), scan 256. */
void vfy_radius_opts_init(vfy_radius_opts *o);

typedef struct {
    bool misclassified;       /* x0 itself is not exactly classified as label */
    long cert_k;              /* largest proven grid index, -1: none */
    char certified[64];       /* exact decimal of eps_{cert_k} ("0" when none) */
    double certified_d;       /* its nearest double (display) */
    const char *certified_by; /* "clean" (eps 0), a bound method name, "complete";
                               * "none" when misclassified */
    bool attacked_found;
    char attacked[64];        /* exact decimal of the attacked upper end, "" when none */
    double attacked_d;        /* nearest double (display), +inf when none */
    const char *attacked_by;  /* "clean", "deepfool", "pgd", "complete" or "none" */
    int probes_certify, probes_attack;  /* (1) and the attack side */
    int probes_scan;          /* (2) */
    bool interrupted;         /* the stop flag cut the search short */
    double seconds;
} vfy_radius_result;

int vfy_radius_bits(double max_eps, double tol);   /* smallest bits with step <= tol */
cn_status vfy_radius(const vfy_prober *pr, mpq_t *x0, int label, const vfy_radius_opts *o,
                     vfy_radius_result *res /* OUT */, cn_err *err) CN_WUR;

/* The exact decimal text of q when its expansion terminates within 60
 * fractional digits (denominator 2^a 5^b); false otherwise or if it does not
 * fit in size bytes. */
bool vfy_mpq_decimal(const mpq_t q, char *buf, size_t size);
/* The smallest decimal with at most sig significant digits that is >= d
 * (d finite, >= 0), exactly; written to buf, and to q when q is not NULL. */
void vfy_decimal_up(double d, int sig, char *buf, size_t size, mpq_t q);

#endif

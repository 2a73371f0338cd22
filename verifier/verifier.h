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
 * -u l / (u - l) times the neuron's outgoing weight norm) and the best few
 * are tried ("filtered smart branching").  Every split covers its parent:
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

#include "bounds/bounds.h"
#include "models/models.h"

typedef enum { VFY_SAT = 1, VFY_UNSAT, VFY_TIMEOUT, VFY_UNKNOWN } vfy_verdict;

typedef enum { VFY_SPLIT_AUTO = 0, VFY_SPLIT_INPUT, VFY_SPLIT_RELU } vfy_split;

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
 *     node's region show that some atom of the disjunct cannot hold;
 *   - leaves: LEAF_BOUNDS (every disjunct alive at the leaf is refuted there,
 *     or the bounds found the splits infeasible), LEAF_EMPTY (the case box is
 *     empty), LEAF_LP (closed by the LP of lp/; not yet certifiable: the
 *     proof is then marked incomplete).
 * A checker re-derives each node's region from the root by the recorded
 * splits, recomputes bounds itself, and confirms every refutation. */
typedef enum {
    VFY_PN_OPEN = 0,          /* never closed (only in an unfinished log) */
    VFY_PN_SPLIT_INPUT,
    VFY_PN_SPLIT_RELU,
    VFY_PN_LEAF_BOUNDS,
    VFY_PN_LEAF_EMPTY,
    VFY_PN_LEAF_LP
} vfy_pn_kind;

typedef struct {
    int parent;               /* node index, -1 for a case root */
    int side;                 /* which child of the parent (0 or 1) */
    int case_idx;
    vfy_pn_kind kind;
    int dim;                  /* SPLIT_INPUT: input dim; SPLIT_RELU: ReLU index */
    double at;                /* SPLIT_INPUT: bisection point */
    int child[2];             /* node indices of the children, -1 if none */
} vfy_proof_node;

typedef struct {
    int node, disj;           /* disjunct `disj` refuted over node's region */
} vfy_refutation;

typedef struct {
    int n_nodes, cap_nodes;
    vfy_proof_node *nodes;
    int n_refs, cap_refs;
    vfy_refutation *refs;
    bool complete;            /* every leaf is certifiable (no LEAF_LP) */
} vfy_proof;

void vfy_proof_free(vfy_proof *p);  /* NULL is fine */

typedef struct {
    double timeout_s;          /* wall clock for the whole call; <= 0: none (default 300) */
    int threads;               /* worker threads; <= 0: all cores (default 0) */
    long max_nodes;            /* branch-and-bound nodes; <= 0: none (default 0) */
    long max_mem_mb;           /* memory for open nodes, MiB (default 4096) */
    vfy_split split;           /* default AUTO */
    int input_split_max_dims;  /* AUTO uses input splitting up to this many inputs (default 12) */
    bnd_method method;         /* node bounds (default BND_CROWN) */
    bool alpha_root;           /* ReLU splitting: optimise slopes (alpha-CROWN) at the root (default true) */
    double attack_s;           /* initial attack time (default: min(0.5, timeout/50); with
                                  input splitting also at most 200 PGD restarts) */
    int node_pgd_every;        /* short PGD at every k-th node; 0: never (default 16) */
    int branch_candidates;     /* ReLU splitting: candidates tried (default 4) */
    vfy_branch input_branch;   /* default VFY_BRANCH_COEF */
    int lp_tail;               /* input splitting: a node whose box leaves at most this
                                  many ReLUs unstable is first tried with LPs over their
                                  activation patterns (lp_conj_solve, rigorous from the
                                  duals; at most 2K+1 LPs, then bisection goes on).  Such
                                  leaves cannot be certified: ignored with record_proof.
                                  0: never (default 0: on ACAS Xu it did not pay) */
    int best_first_every;      /* every k-th node taken from the stack is the open node
                                  with the lowest score instead of the newest (depth
                                  first otherwise); 0: never; < 0: automatic, 1 with
                                  input splitting, 4 with ReLU splitting (default -1) */
    int node_samples;          /* input splitting: uniform samples of each node taken
                                  best first by its bound, tried as counterexamples
                                  (default 1024) */
    bool attack_bursts;        /* PGD bursts between growing branch-and-bound phases
                                  (2 s, 4 s, ...; a quarter of each) (default true) */
    uint64_t seed;             /* default 1 */
    bool record_proof;         /* fill vfy_result.proof (turns alpha_root off) (default false) */
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

void vfy_opts_init(vfy_opts *o);
const char *vfy_verdict_name(vfy_verdict v);   /* "sat", "unsat", "timeout", "unknown" */

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

#endif

/* lp.h — LP relaxations and exact MILP encodings of a ReLU network (GLPK).
 *
 * Variables.  For the network z_0 = x, z_{i+1} = L_i(z_i) (models/models.h),
 * the LP has one column per entry of every z_i:
 *     x_j            the input, bounded by the region's box            (1)
 *     z_{i+1} = W z_i + b    equality rows for affine layers           (2)
 *     a = relu(z)    for ReLU layers, relaxed by                        (3)
 *         stable inactive (u <= 0):   a = 0
 *         stable active   (l >= 0):   a = z
 *         unstable (l < 0 < u):       a >= 0,  a >= z,  a <= s z + t
 *     where the triangle's upper line uses s >= u/(u-l) and t >= -s l
 *     rounded upward, so that (3) is a valid relaxation for the rational
 *     network whatever the rounding (proof: the line lies above (l,0) and
 *     (u,u), hence above relu on [l,u]).
 * A layer whose stored W, b only enclose the file's values (models.h,
 * net_layer: wrel, wabs, brad) has the exact form z' = W z + b + e with
 * |e_o| <= E_o = wrel (|W| m)_o + wabs sum_k m_k + brad_o for |z_k| <= m_k;
 * its rows (2) become ranges  b - E <= z' - W z <= b + E  (E from the
 * region's box or the ReLU bounds below, rounded outward), which every
 * network of the enclosure satisfies.
 * Pre-activation bounds l, u come from the caller (bounds/), must be sound,
 * and also bound the z columns.  A split fixes a neuron active (z >= 0,
 * a = z) or inactive (z <= 0, a = 0).
 *
 * Rigorous bounds (docs/DESIGN.md).  GLPK's objective is never used as a proof.
 * After the simplex, with row multipliers y (any values: GLPK's duals are
 * only a good guess), every feasible v satisfies
 *     c^T v  >=  sum_r min(y_r rl_r, y_r ru_r)  +  sum_j min_{v_j in [vl_j, vu_j]} (c - A^T y)_j v_j
 * (a multiplier whose needed row bound is infinite is replaced by 0).
 * lp_lower_bound evaluates the right-hand side with directed rounding: the
 * reduced costs (c - A^T y)_j as intervals, products and sums rounded down
 * (as negations rounded up, in one FE_UPWARD scope: GCC may move arithmetic
 * across a fesetround call even with -frounding-math).
 *
 * Threads: a lp_ctx owns one glp_prob; GLPK keeps a separate environment
 * per thread, so a context must be created, used and freed by one thread
 * (a worker thread then calls glp_free_env before it exits).  Library code never prints:
 * GLPK's own messages are switched off per call (msg_lev = GLP_MSG_OFF), and
 * whatever GLPK still writes is captured by a terminal hook.
 *
 * GLPK faults.  GLPK aborts the process on an internal error (a failed
 * assertion in its simplex, e.g. on coefficients near DBL_MAX).  Every call
 * here installs GLPK's error hook for its thread; a fault then ends only that
 * call: it returns CN_OK with the outcome LP_FAILED (lp_conj_solve: t_opt =
 * -inf; lp_conj_bound: -inf), lp_fault() says why, and since GLPK's rules
 * require its environment to be freed after an error, every context of the
 * thread loses its problem object and is rebuilt at its next use (which may
 * fail with CN_ENOMEM).  lp_ctx_new reports a fault as CN_EINTERNAL.
 */
#ifndef CERTNN_LP_H
#define CERTNN_LP_H

#include "models/models.h"

typedef struct lp_ctx lp_ctx;     /* opaque: one glp_prob and scratch space */

/* Borrows n, which must outlive the context. */
lp_ctx *lp_ctx_new(const net *n, cn_err *err);
void    lp_ctx_free(lp_ctx *c);    /* NULL is fine */

/* NULL when the last call on c ran without a GLPK fault; otherwise GLPK's
 * message ("GLPK: Assertion failed: ...; Error detected in file ... at line
 * ..."), valid until the next call on c. */
const char *lp_fault(const lp_ctx *c);

/* A subproblem.  Arrays indexed by layer i are used only where layer i is
 * NET_RELU (others may be NULL); each then has net_layer_at(n,i)->in entries. */
typedef struct {
    const double *in_lo, *in_hi;                   /* [n_in] input box */
    const double *const *pre_lo, *const *pre_hi;   /* [n_layers][in] sound bounds on z_i */
    const signed char *const *split;               /* [n_layers][in]: +1 active, -1 inactive, 0 free; NULL: none */
    /* Optional general linear input constraints (sum coef x <= rhs), with
     * double coefficients rounded so the constraint is only relaxed. */
    int n_lin;
    const prop_lin *lin;                            /* [n_lin] */
} lp_region;

typedef enum {
    LP_BOUND = 1,      /* lp_lower_bound: *lb holds a rigorous lower bound;
                          lp_milp_min: solved to optimality */
    LP_INFEASIBLE,     /* lp_milp_min only: the region is empty */
    LP_FAILED          /* the solver gave up (limits, numerics): no claim */
} lp_outcome;

typedef struct {
    int it_lim;        /* simplex iteration limit (0: none) */
    int tm_lim_ms;     /* time limit per solve in ms (0: none) */
} lp_opts;
void lp_opts_init(lp_opts *o);

/* Rigorous lower bound of  c^T y + d  over the LP relaxation of the region,
 * where y is the network output.  x_opt (may be NULL; [n_in]) receives the
 * LP's minimiser's input part — a good candidate for a counterexample.
 * Whatever GLPK reports, the bound is evaluated from its last multipliers.
 * When GLPK finds no feasible point, the tableau row of the variable that
 * cannot be made feasible gives multipliers y for a Farkas certificate: the
 * same right-hand side with a zero objective, evaluated rigorously, is > 0
 * only if no point satisfies the constraints; then *lb = +inf (an empty
 * subproblem bounds everything).  LP_FAILED means no finite bound could be
 * derived.
 * The network must not have two affine layers in a row (CN_EUNSUPPORTED).
 * Returns CN_OK when the call worked (the outcome says what it found). */
cn_status lp_lower_bound(lp_ctx *c, const lp_region *r, const lp_opts *o,
                         const double *cy /* [n_out] */, double d,
                         lp_outcome *outcome /* OUT */, double *lb /* OUT */,
                         double *x_opt /* OUT, may be NULL */, cn_err *err) CN_WUR;

/* Refuting a conjunction of m output constraints C_k y <= rr_k over the LP
 * relaxation.  lp_conj_solve solves  min t  s.t.  C_k y - t <= rr_k  (a
 * guess, no proof) and returns the rows' multipliers lambda [m] (>= 0, all 0
 * without an optimum; they sum to about 1), GLPK's t in *t_opt (+inf when it
 * found no feasible point, -inf when it failed) and the minimiser's input
 * part in x_opt (may be NULL).  With them, the network rows' multipliers of
 * that optimum also suit the objective sum_k lambda_k C_k y: lp_conj_bound,
 * called next (once), evaluates from them a rigorous lower bound of cy^T y
 * over the region for the caller's cy (its rounding of that combination;
 * -inf when there is no optimum to use).  The conjunction is empty when the
 * bound exceeds what cy^T y would need to be for every atom to hold.
 * While unused, the conjunction's rows stay in the problem, inert (so GLPK
 * keeps a basis to warm start from). */
cn_status lp_conj_solve(lp_ctx *c, const lp_region *r, const lp_opts *o, int m,
                        const double *C /* [m][n_out] */, const double *rr /* [m] */,
                        double *lambda /* OUT [m] */, double *t_opt /* OUT */,
                        double *x_opt /* OUT, may be NULL */, cn_err *err) CN_WUR;
double lp_conj_bound(lp_ctx *c, const double *cy /* [n_out] */);

/* The multipliers behind the last rigorous bound of c (lp_lower_bound with
 * the outcome LP_BOUND, or lp_conj_bound), as the multipliers of the rows of
 * a certificate checker's canonical LP (certs/certs.h, section 3, "LP
 * refutations"), whose rows are this LP's in the same order: per layer,
 * an affine layer's equalities (y unchanged), then a ReLU neuron's pair
 *     P: a - z >= 0      <- row R1 (a - z) when its multiplier is > 0,
 *     Q: s z - a >= -t   <- R1 negated (a fixed active neuron, a = z) when
 *                           its multiplier is < 0, plus the triangle row
 *                           R2 (a - s z <= t) negated;
 * a split row (z >= 0, z <= 0) has no counterpart: there the checker's box
 * of z holds the split; then the linear input rows negated (>= 0 each).
 * The canonical LP's rows of the disjunct's atoms are the caller's: the
 * objective's weights (1 for the atom of lp_lower_bound, lambda for a
 * conjunction), or 0 each when *farkas (the bound came from an empty
 * LP's Farkas ray, not from the objective).  Any multipliers give a valid
 * bound: a checker with other intermediate bounds gets a weaker, never a
 * wrong, one.  y [lp_canon_rows] may be NULL.  Returns the number of rows,
 * or -1 when the last call left no multipliers (a failure, an empty region
 * found by the bounds alone, another call since). */
int lp_canon_duals(const lp_ctx *c, double *y /* OUT, may be NULL */, bool *farkas /* OUT */);

/* Exact MILP encoding (big-M from the given sound pre-activation bounds)
 * solved with GLPK's branch and cut, for small networks and as an oracle in
 * tests: the minimum of c^T y + d over the region, in floating point (NOT a
 * rigorous bound — use it only as an oracle or to find candidates).  With
 * an enclosure it is the minimum over the ranges (2), i.e. over every
 * network of the enclosure (e chosen per point), below the minimum of any
 * one of them.  x_opt (may be NULL) receives the minimiser's input.
 * *status_out: LP_BOUND when solved to optimality, LP_INFEASIBLE when the
 * region is empty, LP_FAILED on limits. */
cn_status lp_milp_min(const net *n, const lp_region *r, const lp_opts *o,
                      const double *cy, double d, lp_outcome *outcome /* OUT */,
                      double *min /* OUT */, double *x_opt /* OUT, may be NULL */,
                      cn_err *err) CN_WUR;

#endif

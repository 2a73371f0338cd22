/* bounds.h — sound bounds on the neurons and outputs of a network over a box.
 *
 * For a network N (models/models.h: z_0 = x, z_{i+1} = L_i(z_i), y = z_k) and
 * a region
 *
 *     X = { x : lo <= x <= hi,  and for every ReLU neuron j fixed by a split:
 *                               pre-activation_j(x) >= 0 (active) or <= 0 (inactive) }
 *
 * bnd_run computes, for the exact rational network,
 *
 *     (1)  l_i <= z_i(x) <= u_i          for every layer input z_i and x in X,
 *     (2)  lb_k <= c_k . y(x) + d_k      for each row k of C [m x n_out], x in X.
 *
 * Methods (bnd_method):
 *   BND_INTERVAL  interval propagation (IBP).
 *   BND_DEEPPOLY  linear relaxation with back-substitution to the input; at
 *                 every layer passed the expression is also concretised with
 *                 that layer's own bounds and the best value kept (DeepPoly /
 *                 ELINA).  Lower ReLU slope: 1 if u >= -l else 0.
 *   BND_CROWN     the same relaxation, concretised over the input box only
 *                 (CROWN, auto_LiRPA's "adaptive" lower slope by default).
 *   BND_ALPHA     projected gradient ascent (Adam) on per-row lower slopes
 *                 alpha in [0,1], starting from CROWN's, for the rows of C
 *                 and (opts.alpha_intermediate, default) for the lower and
 *                 upper bound of every unstable intermediate neuron, layer
 *                 by layer (alpha-CROWN with per-neuron slopes); the best
 *                 iterate per row is kept.
 * For an unstable ReLU (l < 0 < u) the upper line is u/(u-l) (x - l) and the
 * lower line alpha x; a stable ReLU is the identity (l >= 0) or zero (u <= 0).
 * Every linear method also intersects with interval propagation, so its
 * bounds always lie inside the interval bounds.  Convolutions are handled as
 * convolutions (bounds/conv.c: taps, im2col and BLAS; the same products as
 * their dense unrolling, which bnd_ctx_new builds exactly only for the
 * paths that read it: sigmoid/tanh networks and reduced coordinates).  Max pooling
 * (NET_MAXPOOL) is relaxed as DeepPoly does: y >= the input with the largest
 * lower bound, y <= the largest upper bound, or y = that input when its lower
 * bound dominates every other upper bound (bounds/pool.c states the
 * floating-point accounting).
 *
 * ------------------------------------------------------------------------
 * SOUNDNESS IN FLOATING POINT (docs/DESIGN.md, "The soundness contract").
 *
 * A bound is valid for the exact real network whatever rounding happened.
 * The back-substituted coefficient matrices Lambda are only approximations:
 * that is harmless, because for ANY matrix Lambda the bound is of the form
 * "target >= Lambda z + c" and we only need c to be a valid lower constant for
 * the Lambda actually computed.  Every step keeps that invariant:
 *
 *   - Affine step  Lambda z_{i+1} = Lambda (W z_i + b).  P = fl(Lambda W) is
 *     computed by round-to-nearest-or-whatever BLAS (dgemm).  For any
 *     summation order and ANY IEEE rounding mode (u = 2^-52, the unit
 *     roundoff of directed rounding, so BLAS threads in any mode are covered)
 *         |P - Lambda W| <= gamma_n |Lambda||W| + 2 n eta,
 *     gamma_n = n u / (1 - n u), eta = 2^-1074 (underflow), n = inner size.
 *     Hence Lambda W z_i >= P z_i - (gamma_n |Lambda| (|W| m_i) + 2 n eta sum m_i)
 *     where m_i = max(|l_i|, |u_i|) bounds |z_i|; that error is subtracted
 *     from the constant, together with Lambda b.
 *   - ReLU step  lambda relu(x) >= lambda a x + lambda c  (lambda < 0, upper
 *     line) or >= lambda alpha x (lambda >= 0).  The upper line (a, c) is made
 *     valid in floating point: a = u/(u-l) as computed, then
 *     c = max(-a l, u - a u) rounded upward, so a x + c >= relu(x) at both
 *     end points and hence on [l, u] (relu is convex).  The product
 *     p = fl(lambda a) has |p - lambda a| <= 2^-51 |p| + eta; the resulting
 *     error, summed with m_i, is subtracted from the constant.
 *   - Constants, error terms, concretisation and interval propagation are
 *     computed in an FE_UPWARD scope (cn_round_push/pop, per thread) with
 *     ELINA's negation trick: a lower bound L is carried as -L and every
 *     operation on it rounds up, so -L only grows (L only shrinks).  Sums
 *     of such terms may be accumulated in any order (vector lanes, partial
 *     sums: bounds/kernel.c): with every addition rounded up, any order
 *     gives an upper bound of the exact sum.  For a fixed length the order
 *     is fixed, so interval propagation stays monotone in the box.
 *   - Reduced coordinates (bounds/reduced.c; CROWN-style runs without
 *     per-layer concretisation on affine/relu/.../affine networks with few
 *     inputs): each pre-activation is held as Z v + B with v = (x, outputs
 *     of the unstable ReLUs below) and a rigorous bound E on the difference
 *     from the exact value (the rounding of Z and B, gamma_n as above,
 *     propagated through |W|).  Eliminating the unstable ReLUs top-down is
 *     CROWN's back-substitution re-associated (same linear bound in exact
 *     arithmetic); each step adds the ReLU product term above, |p| E, and
 *     2^-51 (|g| + |p z|) + 2 eta per coefficient update g <- g + p z,
 *     weighted by the bounds on |v|.
 *   - A layer whose stored W, b only enclose the file's values (models.h,
 *     net_layer: wrel, wabs, brad) is z_{i+1} = W z_i + b + e with
 *     |e_o| <= E_o = wrel (|W| m_i)_o + wabs sum m_i + brad_o, rounded up.
 *     Every affine step widens by E: intervals by +-E, back-substitution
 *     by |Lambda| E (added to the error vector of the gamma term), the
 *     starting rows of intermediate bounds by E_j, reduced coordinates by
 *     E in their error bound.  So every bound holds for every network in
 *     the enclosure (indeed for any e(x) within E, chosen per point).
 *     A zero radius takes none of these steps: results are bit-identical.
 *   - Anything non-finite (overflow, NaN) turns into a bound of -inf / +inf:
 *     unknown, never a wrong claim.
 * The caller's rounding mode is restored before every bnd_ function returns.
 * ------------------------------------------------------------------------
 *
 * Networks with sigmoid / tanh layers (net_n_smooth > 0) are bounded by
 * act.c, whose top-of-file comment states its relaxation and accounting:
 * every affine and activation step there runs in FE_DOWNWARD with the
 * interval-product accounting of the checker (no BLAS), every linear
 * method concretises at each layer passed, bnd_run_ball uses the box only,
 * and bnd_run_param refuses them (CN_EINVAL).
 *
 * Library code never prints.  A bnd_ctx is not thread-safe: use one per
 * thread (each thread sets its own rounding mode).
 */
#ifndef CERTNN_BOUNDS_H
#define CERTNN_BOUNDS_H

#include "models/models.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { BND_INTERVAL = 0, BND_DEEPPOLY, BND_CROWN, BND_ALPHA } bnd_method;

/* Lower-slope heuristic for unstable ReLUs (alpha's starting point too). */
typedef enum {
    BND_SLOPE_ADAPTIVE = 0,   /* 1 if u >= -l else 0 (DeepPoly, CROWN default) */
    BND_SLOPE_ZERO,           /* 0 */
    BND_SLOPE_ONE             /* 1 */
} bnd_slope;

typedef struct {
    bnd_method method;
    bnd_slope slope;
    int alpha_iters;          /* BND_ALPHA: gradient steps (default 30) */
    double alpha_lr;          /* BND_ALPHA: Adam step size (default 0.3) */
    bool alpha_intermediate;  /* BND_ALPHA: also optimise the slopes of every
                                 intermediate bound, each row for itself
                                 (default true) */
    bool layer_concretise;    /* concretise at every layer passed (default:
                                 true for DEEPPOLY, false otherwise) */
    bool intersect_ibp;       /* intersect with interval bounds (default true) */
    /* Giving up (both optional; bnd_opts_init: none).  bnd_run polls them
     * before every layer, between the steps of every back-substitution and
     * between alpha iterations: once `deadline` (cn_now seconds, > 0) has
     * passed or stop(stop_arg) returns true, the run stops and reports
     * nothing: every lb is -inf, every layer bound (bnd_layer_bounds) is
     * -inf / +inf, there are no input coefficients, the region is not
     * called infeasible, and bnd_result.stopped is set.  A stopped run
     * never returns a bound computed from part of a pass.  stop is called
     * from bnd_run's thread in its FE_UPWARD scope: keep it a flag read. */
    double deadline;
    bool (*stop)(void *stop_arg);
    void *stop_arg;
} bnd_opts;

/* Defaults for the method. */
void bnd_opts_init(bnd_opts *o, bnd_method m);
/* "interval", "deeppoly", "crown", "alpha". */
const char *bnd_method_name(bnd_method m);
bool bnd_method_parse(const char *s, bnd_method *m /* OUT */);

/* The region.  lo/hi: [n_in] input box (borrowed); split: [net_n_relus] or
 * NULL, +1 = active (pre-activation >= 0), -1 = inactive (<= 0), 0 = free,
 * ReLU neurons numbered in layer order. */
typedef struct {
    const double *lo, *hi;
    const signed char *split;
    /* Optional bounds known to hold on the region (e.g. proved over a
     * region containing it): ref_lo[i] / ref_hi[i] [width of z_i] for the
     * input z_i of a ReLU layer i (NULL entries, or NULL: none).  Each
     * layer's computed bounds are intersected with them before the ReLU is
     * relaxed. */
    const double *const *ref_lo, *const *ref_hi;
    /* Optional restrictions of the sigmoid / tanh neurons' pre-activations
     * (activation splitting): [number of sigmoid / tanh neurons, numbered in
     * layer order] each, or NULL: none.  X is also cut to
     *     act_lo[j] <= pre-activation_j(x) <= act_hi[j]
     * (-inf / +inf: no restriction on that side).  Each smooth layer's input
     * bounds, computed as without restrictions (they hold on the larger
     * region, hence on X), are intersected with them before the layer's
     * lines are built, so the lines are act.c's for the narrowed interval;
     * an empty intersection makes the region infeasible.  Ignored by
     * networks without such layers. */
    const double *act_lo, *act_hi;
} bnd_region;

/* An L2 ball for bnd_run_ball: c [n_in] finite doubles (borrowed), r >= 0
 * finite.  X is then also cut to { x : ||x - c||_2 <= r }.  The box
 * should be (a superset of) the ball's box hull: interval propagation and
 * every intermediate concretisation over a layer's own bounds see the box
 * only.  A linear method's expression  Lambda x + const  at the input is
 * concretised over both and the better kept (each is a valid lower bound,
 * X lying in each):
 *     max( sum_j min(lambda_j lo_j, lambda_j hi_j),
 *          Lambda . c - r ||Lambda||_2 ) + const                       (L2)
 * (the dual norm of L2 is L2), the second term computed like the first in
 * the upward scope on its negation: -lambda_j c_j, sum lambda_j^2, sqrt
 * and the product with r each rounded up.  The caller makes the ball
 * contain its exact region (a rational centre x0: r >= eps + ||c - x0||_2,
 * rounded up). */
typedef struct {
    const double *c;
    double r;
} bnd_ball;

/* What a call found (a verdict-like result, not an error). */
typedef struct {
    bool infeasible;          /* the splits contradict the bounds: X is empty,
                                 every lb is +inf */
    int unstable;             /* unstable ReLUs (after splits) */
    int n_relus;
    bool stopped;             /* bnd_opts' deadline or stop ended the run: no bounds */
} bnd_result;

typedef struct bnd_ctx bnd_ctx;

/* Borrows n (must outlive the context).  The row workspaces are reserved
 * for 2 rows per neuron of the widest layer where that is small (at most
 * 2^22 doubles a workspace), else for fewer, and grow with what the runs
 * need (the query rows; two rows per neuron bounded by back-substitution in
 * a layer, the unstable ones for CROWN and alpha); what a run grew is kept
 * for the next.  Returns NULL with err set (CN_ENOMEM, CN_EINVAL for an
 * empty network). */
bnd_ctx *bnd_ctx_new(const net *n, cn_err *err);
void bnd_ctx_free(bnd_ctx *c);                  /* NULL is fine */
/* Frees the calling thread's MPFR caches (the constants act.c's sigmoid /
 * tanh end points use; MPFR keeps them per thread): call it last in a
 * thread that ran bound passes, which would otherwise leak them when it
 * ends.  Harmless in any thread, any number of times. */
void bnd_thread_exit(void);

/* Computes (1) and (2).  C: [m x n_out] row-major, d: [m] (NULL = 0); m may
 * be 0.  lb: [m] OUT.  A row whose bound could not be established gets -inf
 * (every row when the run was stopped: bnd_opts.deadline, stop).
 * Returns CN_ENOMEM only if a buffer could not grow: before the run (lb
 * untouched) or during it (the run then reports nothing, as a stopped one:
 * every lb -inf, every layer bound -inf / +inf). */
cn_status bnd_run(bnd_ctx *c, const bnd_opts *o, const bnd_region *r, int m, const double *C,
                  const double *d, double *lb, bnd_result *res /* OUT, may be NULL */,
                  cn_err *err) CN_WUR;
/* bnd_run over r cut to the L2 ball (NULL: r alone, as bnd_run); CN_EINVAL
 * for a ball that is not finite or has r < 0. */
cn_status bnd_run_ball(bnd_ctx *c, const bnd_opts *o, const bnd_region *r, const bnd_ball *ball,
                       int m, const double *C, const double *d, double *lb,
                       bnd_result *res /* OUT, may be NULL */, cn_err *err) CN_WUR;

/* ------------------------------------------------------------------------
 * Batches: B regions of the same network in one pass (bounds/batch.c).
 *
 * bnd_run_batch(c, o, B, rg, m, C, d, lb, res) bounds region rg[b] for
 * every b < B with the query rows C, d: lb[b * m + r] and res[b] mean what
 * lb[r] and *res of bnd_run(c, o, &rg[b], m, C, d, ...) mean, for the same
 * method and options, and every bound is valid for the exact network on
 * its own region (bounds.h's accounting, unchanged).  The values are those
 * of bnd_run up to the rounding of the matrix products.  For BND_CROWN with
 * layer_concretise off and intersect_ibp on (the defaults), on a network
 * dense affine, ReLU, dense affine, ..., dense affine (no pooling,
 * convolution taps, sigmoid/tanh or enclosure radius) that bnd_run does not
 * bound in reduced coordinates, the regions share work:
 *   - regions with the same box (bitwise), the same ref_lo / ref_hi
 *     pointers and the same splits on the ReLU layers below a layer share
 *     that layer's input bounds (interval and linear: bnd_run computes
 *     them from exactly those inputs, the same computation done once);
 *   - the rows of a layer's linear bounds (+-W_i[j] for z_{i+1}[j]) of
 *     regions that agree below ReLU layer i - 1 and whose relaxations of
 *     that layer differ at a few neurons D (siblings one split apart) take
 *     one product with W_{i-2} for the group (the rows without the D
 *     columns) plus, per region, the D columns' terms: every row's
 *     constants are bnd_run's, and its product is the same sum of the same
 *     terms in another order, which the a-priori bound
 *     gamma_n |Lambda| |W| of bounds.h covers as it covers any order;
 *   - the query rows of all regions go down the network stacked, one
 *     product per layer (over the union of the regions' alive columns,
 *     each row zero on its own inactive ones), each row block relaxed with
 *     its own region's ReLU relaxations and error vectors.
 * Otherwise (other methods or networks) it is bnd_run per region, with the
 * same results.
 * o's deadline and stop are polled as bnd_run polls them; once the batch is
 * stopped every region reports stopped (res[b].stopped, every lb -inf, its
 * layer bounds -inf / +inf).  An infeasible region gets +inf, one whose
 * bounds overflowed -inf, each on its own.  res: [B] OUT (required).
 * CN_EINVAL for a box or query row that is not finite (naming region and
 * row), CN_ENOMEM (lb untouched).
 *
 * After bnd_run_batch the context has no last run: bnd_layer_bounds and
 * bnd_input_coef describe none (until the next bnd_run), bnd_run_param
 * refuses.  bnd_batch_layer_bounds gives region b's bounds (1) of z_i
 * (after splits) from the last batch, as bnd_layer_bounds gives them for
 * bnd_run; borrowed, valid until the next bnd_run_batch or bnd_ctx_free. */
cn_status bnd_run_batch(bnd_ctx *c, const bnd_opts *o, int B, const bnd_region *rg, int m,
                        const double *C, const double *d, double *lb, bnd_result *res,
                        cn_err *err) CN_WUR;
void bnd_batch_layer_bounds(const bnd_ctx *c, int b, int i, const double **lo,
                            const double **hi);

/* Bounds (1) of z_i (0 <= i <= n_layers; i = 0 is the box, i = n_layers the
 * output) from the last bnd_run, after splits.  Borrowed, valid until the
 * next bnd_run.  For a linear method the output bounds (i = n_layers) are
 * interval bounds from the last layer's input bounds.  When a bound could
 * not be established (overflow) it is -inf / +inf; when the last run found
 * the region infeasible the values past the contradiction are meaningless. */
void bnd_layer_bounds(const bnd_ctx *c, int i, const double **lo, const double **hi);

/* Input-space coefficients of query row `row` from the last bnd_run with a
 * linear method: *coef = A_r [n_in] (borrowed, valid until the next bnd_run)
 * where the method's linear bound for the row was
 *     c_r . y(x) + d_r  >=  A_r . x + c0_r   on the region,
 * lb_r being (up to rounding) min over the box of A_r . x + c0_r.  For
 * BND_ALPHA it is the row's best iterate.  *coef = NULL when there is none:
 * BND_INTERVAL, row >= m, an infeasible region or a bound that overflowed
 * everywhere; a row whose linear bound is -inf gets zeros.  When interval
 * propagation gave the better lb (intersect_ibp) the coefficients are still
 * those of the linear bound.
 * HEURISTIC ONLY: A_r is a floating-point approximation with no soundness
 * role (lb already accounts for its rounding); use it to rank input
 * dimensions, e.g. by |A_r[j]| (hi_j - lo_j), never to derive a bound. */
void bnd_input_coef(const bnd_ctx *c, int row, const double **coef /* OUT */);

/* ------------------------------------------------------------------------
 * Bounds with parameters (alpha-CROWN slopes and beta-CROWN multipliers;
 * Wang et al., "Beta-CROWN", NeurIPS 2021), for the query rows only.
 *
 * After a bnd_run with a linear method (the intermediate bounds and
 * relaxations of that run are kept), the query rows' bound is recomputed
 * with, per row r and ReLU j (global order, [m * n_relus] row-major):
 *   alpha[r][j]  the lower slope of an unstable ReLU (clamped to [0, 1];
 *                any value there gives a valid lower line), and
 *   beta[r][j]   a multiplier >= 0 (negative or NaN taken as 0) of the
 *                split constraint s z_j >= 0 of a ReLU split s = split[j]
 *                of the last run's region: the row's coefficient over z_j
 *                (ReLU j's input) gets -beta s, a term <= 0 on the
 *                region, so the bound stays a lower bound (the Lagrangian
 *                of the split).
 * The floating-point accounting is bounds.h's: the update of a coefficient
 * p = fl(lambda - beta s) adds (2^-52 |p| + eta) |z_j| to the constant.
 * ------------------------------------------------------------------------ */

/* With iters == 0: the bound with exactly the given values (after the
 * clamps above).  o (may be NULL): only its deadline and stop are used,
 * polled between iterations; a stopped call reports every lb as -inf.  With iters > 0: projected Adam (step lr_alpha, lr_beta)
 * from the given values; the best iterate per row is kept, written back to
 * alpha/beta, and its bound to lb.  Rows are also intersected with their
 * interval bound (as bnd_run).  CN_EINVAL when the last bnd_run was not a
 * linear method over a feasible region with finite bounds (nothing to
 * recompute); CN_ENOMEM. */
cn_status bnd_run_param(bnd_ctx *c, const bnd_opts *o, int m, const double *C, const double *d,
                        double *alpha, double *beta, int iters, double lr_alpha, double lr_beta,
                        double *lb, cn_err *err) CN_WUR;
/* bnd_run_param with iters == 0 where ReLU `relu` (global order), unstable
 * in the last bnd_run, also takes the exact line of phase s (+1: z >= 0,
 * the identity; -1: z <= 0, zero) while every other bound and relaxation
 * of that run is kept: a lower bound over the region cut by that split
 * (the last run's bounds hold there too), without bounding the cut region
 * again, for ranking candidate splits (filtered smart branching).  The
 * last run's state is restored; alpha/beta are written back as by
 * bnd_run_param.  A ReLU that was not unstable: bnd_run_param as is. */
cn_status bnd_run_param_fixed(bnd_ctx *c, const bnd_opts *o, int m, const double *C,
                              const double *d, double *alpha, double *beta, int relu, int s,
                              double *lb, cn_err *err) CN_WUR;
/* Tightening intermediate bounds with recorded slopes (bnd_run_tight): a
 * claim  sgn * z_i[j] >= lb  on the region, where the bound is computed
 * from the per-ReLU slopes q[n_relus] (slope q / 128, the grid of a
 * certificate) of the ReLU layers below i by back-substitution of the row
 * sgn * (W_{i-1}[j] z_{i-1} + b[j]) as bounds.h describes. */
typedef void (*bnd_claim_fn)(void *user, int i, int j, int sgn, double lb,
                             const unsigned char *q);

/* bnd_run with method BND_ALPHA and optimised intermediate bounds, where
 * each optimised intermediate row's slopes are rounded to the 1/128 grid
 * and its bound recomputed from exactly those; a layer bound is the better
 * of CROWN's and that one, and claim() is called for every bound the
 * rounded slopes improved (in layer order).  o: BND_ALPHA options. */
cn_status bnd_run_tight(bnd_ctx *c, const bnd_opts *o, const bnd_region *r, int m, const double *C,
                        const double *d, double *lb, bnd_result *res, bnd_claim_fn claim,
                        void *user, cn_err *err) CN_WUR;

/* The last run's lower slopes (CROWN's for the unstable ReLUs, 1 for the
 * active and 0 for the inactive ones) into alpha [n_relus]: a starting
 * point for bnd_run_param, which also writes the stable ones so. */
void bnd_default_slopes(const bnd_ctx *c, double *alpha);

/* The coefficient of query row `row` over each ReLU's output (global order,
 * out [n_relus]) in the last evaluation of the last bnd_run_param that was
 * not stopped (with iters == 0: exactly the given values), before the
 * ReLU's relaxation; 0 where the back-substitution had nothing.  Returns
 * false (out untouched) when there is none: no such call since the last
 * bnd_run, or row out of range.  HEURISTIC ONLY, as bnd_input_coef: for
 * ranking neurons to split (the gap a ReLU's relaxation leaves in the row's
 * bound), never to derive a bound. */
bool bnd_param_relu_coef(const bnd_ctx *c, int row, double *out);

#ifdef __cplusplus
}
#endif
#endif

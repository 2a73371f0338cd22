/* attacks.h — counterexample search (atk_): input gradients through the
 * network IR, FGSM / RAND+FGSM, PGD with a margin loss, DeepFool.  (The
 * training of classifiers with adversarial defenses is train/train.h.)
 *
 * The attacks are heuristics run in double precision (round-to-nearest).
 * They never decide a claim by themselves: a point is reported as a
 * counterexample only after prop_check_point (models/prop.c, exact GMP
 * arithmetic) has confirmed that it lies in a case's region and that the
 * network's exact output lies in that case's unsafe set.  "Not found" means
 * nothing (the answer is `unknown`), never "safe".
 *
 * Mathematics.  For a case c of a property (models.h) write its unsafe set
 * as a disjunction of conjunctions of atoms  a_k . y <= r_k.  The search
 * minimises the margin (CW-style) loss
 *
 *     L_d(x) = max_{k in d} ( a_k . N(x) - r_k )          (1)  targeted: one d
 *     L(x)   = min_d L_d(x)                               (2)  untargeted
 *
 * over the region; L(x) <= 0 means every atom of some disjunct holds at x
 * (in float, to be confirmed exactly).  The gradient of (1)/(2) is the input
 * gradient of the linear function a_k . y of the active atom, computed by
 * reverse mode (atk_grad_*).  PGD takes signed steps scaled by the box's
 * half-widths rad_i:
 *
 *     x <- P( x - alpha_t * rad (.) sign(grad L(x)) )     (3)
 *
 * where P projects onto the box (exactly inside the rational box) and then,
 * approximately, onto the case's general linear input constraints, and
 * alpha_t follows a cosine schedule from `step` down to `step_min`.
 *
 * Determinism: every random choice comes from an explicit generator seeded by
 * atk_opts.seed; with no time limit the result depends only on the inputs and
 * the options (on a given machine and BLAS).  The library never prints.
 */
#ifndef CERTNN_ATTACKS_H
#define CERTNN_ATTACKS_H

#include <stdbool.h>
#include <stdint.h>

#include "models/models.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Random numbers (explicit state; splitmix64)                               */
/* ------------------------------------------------------------------------ */

typedef struct {
    uint64_t s;
} atk_rng;

void     atk_rng_seed(atk_rng *r, uint64_t seed);
uint64_t atk_rng_next(atk_rng *r);
double   atk_rng_unif(atk_rng *r);            /* uniform in [0, 1) */

/* ------------------------------------------------------------------------ */
/* Input gradients by reverse mode                                           */
/* ------------------------------------------------------------------------ */
/*
 * A workspace for batches of up to max_batch inputs.  atk_grad_forward
 * evaluates the network on a batch (as net_forward does: BLAS for dense
 * layers) and caches which ReLUs are active (pre-activation > 0); then
 * atk_grad_backward computes, for every sample s of that batch,
 *
 *     gx[s] = d( c[s] . N(x) ) / dx  at x = x[s]          (4)
 *
 * i.e. c[s]^T J_N(x[s]), with the ReLU derivative taken as 0 at 0.  The net is
 * borrowed and must outlive the workspace.
 */
typedef struct atk_grad atk_grad;

cn_status atk_grad_new(const net *n, int max_batch, atk_grad **out, cn_err *err) CN_WUR;
void      atk_grad_free(atk_grad *g);                     /* NULL is fine */
/* x: [batch*in], y: [batch*out] (OUT).  1 <= batch <= max_batch. */
void      atk_grad_forward(atk_grad *g, int batch, const double *x, double *y);
/* c: [batch*out] coefficients, gx: [batch*in] (OUT).  Uses the cached
 * activation pattern of the last atk_grad_forward, whose batch must be >= batch. */
void      atk_grad_backward(atk_grad *g, int batch, const double *c, double *gx);

/* One-shot convenience: y (may be NULL) and gradient gx of c[s].y for each s. */
cn_status atk_gradient(const net *n, int batch, const double *x, const double *c,
                       double *y /* OUT, [batch*out] or NULL */,
                       double *gx /* OUT, [batch*in] */, cn_err *err) CN_WUR;

/* ------------------------------------------------------------------------ */
/* Options                                                                   */
/* ------------------------------------------------------------------------ */

typedef enum { ATK_PGD = 0, ATK_FGSM = 1, ATK_DEEPFOOL = 2 } atk_method;

typedef struct {
    atk_method method;     /* for atk_run: PGD (default) or FGSM (+ RAND+FGSM)   */
    uint64_t seed;         /* generator seed (default 1)                          */
    double time_limit;     /* seconds on the monotonic clock; <= 0: none (10)     */
    long max_restarts;     /* restarts over all cases; <= 0: no limit (2000)      */
    int iters;             /* PGD iterations per restart (100)                    */
    int batch;             /* restarts run together in one batch (32)             */
    double step, step_min; /* alpha_t of (3), fractions of the half-width
                              (0.25 -> 0.005, cosine schedule)                    */
    double rand_fgsm;      /* RAND+FGSM random step, fraction of half-width (0.5) */
    int target;            /* disjunct index for a targeted attack, or -1 (all)   */
    int nudges;            /* retries near a point rejected by the exact check (8)*/
    int df_iters;          /* DeepFool iterations (50)                            */
    double df_overshoot;   /* DeepFool overshoot (0.02)                           */
    /* An L2 ball (atk_run with ATK_PGD; NULL: none): every case's region is
     * also cut to { x : ||x - l2_x0||_2 <= l2_eps }, l2_x0 [n_in] and l2_eps
     * exact (borrowed).  A point then counts only when atk_l2_inside holds
     * too.  Steps go along the normalised gradient, x <- x - alpha_t r g /
     * ||g||_2 (r: the radius, a little less than eps, of a ball around the
     * doubles nearest to x0 that lies inside the exact one), and each point
     * is clipped to the box, then scaled toward that centre into the ball
     * (the segment stays in the box, the centre being in it). */
    const mpq_t *l2_x0;
    const mpq_t *l2_eps;
} atk_opts;

void atk_opts_init(atk_opts *o);
/* sum_i (x_i - x0_i)^2 <= eps^2, decided exactly: is x in the L2 ball? */
bool atk_l2_inside(int n, const mpq_t *x, const mpq_t *x0, const mpq_t eps);

/* ------------------------------------------------------------------------ */
/* Counterexample search against a property                                  */
/* ------------------------------------------------------------------------ */

typedef struct {
    bool found;            /* an exactly confirmed counterexample is in x        */
    bool timed_out;        /* stopped by the time limit without one              */
    int n_in;
    mpq_t *x;              /* [n_in] the counterexample (owned), NULL if !found   */
    double *x_d;           /* [n_in] nearest doubles of x (owned), NULL if !found */
    prop_check check;      /* exact check of x: case, disjunct, margins          */
    /* statistics */
    long restarts, iterations, exact_checks, exact_rejected, nudged;
    double seconds;
} atk_result;

void atk_result_init(atk_result *r);
void atk_result_clear(atk_result *r);     /* frees x, x_d, check; re-initialises */

/* Searches for x in some case's region with N(x) in its unsafe set, by
 * o->method (ATK_PGD or ATK_FGSM; ATK_DEEPFOOL is for atk_deepfool).  n and p
 * are borrowed; prop_n_in(p) == net_in_size(n) and prop_n_out(p) ==
 * net_out_size(n) are required.  On CN_OK *res (initialised with
 * atk_result_init; cleared first) holds the outcome; a failed call
 * (CN_ENOMEM, or an error from the exact check) leaves it cleared. */
cn_status atk_run(const net *n, const prop *p, const atk_opts *o, atk_result *res,
                  cn_err *err) CN_WUR;

/* ------------------------------------------------------------------------ */
/* DeepFool (classification)                                                 */
/* ------------------------------------------------------------------------ */
/*
 * Multi-class DeepFool from x0 (exact rationals, e.g. pixel/255) with known
 * label, inside the clip box [clip_lo, clip_hi]^n.  Run once for L2 and once
 * for L-infinity steps (with overshoot o->df_overshoot), each followed by a
 * bisection along the found direction; every candidate is confirmed with
 * net_eval_exact (some j != label with y_j >= y_label, the same condition as
 * prop_eps_ball's unsafe set).  The radii are the exact norms of x - x0 of
 * the best confirmed points, rounded up: upper ends of the robustness radius.
 * o->time_limit (> 0) ends the search between iterations: what was confirmed
 * by then is the result.
 */
typedef struct {
    bool found;            /* a confirmed point exists (else radii are +inf)     */
    bool clean_wrong;      /* x0 itself is misclassified exactly: radii 0        */
    double linf, l2;       /* smallest confirmed ||x - x0|| (rounded up)         */
    int n_in;
    double *x_linf;        /* [n_in] point attaining linf (owned), NULL if none  */
    double *x_l2;          /* [n_in] point attaining l2 (owned), NULL if none    */
    long iterations, exact_checks;
} atk_df_result;

void atk_df_result_init(atk_df_result *r);
void atk_df_result_clear(atk_df_result *r);

cn_status atk_deepfool(const net *n, mpq_t *x0 /* [in] */, int label, double clip_lo,
                       double clip_hi, const atk_opts *o, atk_df_result *res,
                       cn_err *err) CN_WUR;

#ifdef __cplusplus
}
#endif
#endif

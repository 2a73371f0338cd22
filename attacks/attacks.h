/* attacks.h — counterexample search (atk_): input gradients through the
 * network IR, FGSM / RAND+FGSM, PGD with a margin loss, DeepFool; and the
 * training of dense ReLU classifiers with or without an adversarial (FGSM,
 * PGD) or certified (IBP) defense, at the end of this header.
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
} atk_opts;

void atk_opts_init(atk_opts *o);

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


/* ------------------------------------------------------------------------ */
/* Training dense ReLU classifiers, with or without a defense (train*.c)     */
/* ------------------------------------------------------------------------ */
/*
 * Minibatch training of  z = W_L relu( ... relu(W_1 x + b_1) ... ) + b_L
 * (widths w_0 = inputs, ..., w_L = classes) on a dataset (input pixel/255),
 * in double precision (round-to-nearest; training is not a proof), with BLAS
 * matrix products.  J(x, y) = log sum_j exp z_j - z_y is the softmax
 * cross-entropy, averaged over a minibatch.  Objectives per defense:
 *
 *   none   J(x)                                                        (5)
 *   fgsm   a J(x) + (1 - a) J(x'),  x' = clip(x + eps sign grad_x J(x))   (6)
 *          (Goodfellow et al. 2015; a = fgsm_alpha, clip to [0,1])
 *   pgd    J(x'),  x' = k steps  x <- P(x + s sign grad_x J(x)) from a
 *          uniform random start in the ball, P the projection onto
 *          [x0 - eps, x0 + eps] ∩ [0,1]  (Madry et al. 2018)             (7)
 *   ibp    k_t J(x) + (1 - k_t) log(1 + sum_{j != y} exp m_j),
 *          m_j an interval-bound-propagation upper bound of z_j - z_y over
 *          [x - eps_t, x + eps_t] ∩ [0,1], the last layer elided into the
 *          margins (Gowal et al. 2018)                                    (8)
 *
 * x' in (6) and (7) is a constant for the weight gradient (as in the cited
 * papers).  In (8) eps_t = 0 and k_t = 1 for the first ibp_warmup fraction
 * of the steps, then both ramp linearly (eps_t to eps, k_t to ibp_kappa) until
 * the ibp_ramp_end fraction, and stay there.
 *
 * Initialisation: He (normal, variance 2 / fan-in) weights, zero biases;
 * shuffling: a Fisher-Yates permutation per epoch.  Both draw from one
 * generator seeded by `seed`, as do PGD's random starts.  Optimiser: Adam
 * (b1 0.9, b2 0.999, 1e-8) or SGD with momentum; the learning rate is
 * multiplied by lr_decay for the last quarter of the epochs (when >= 4).
 *
 * Determinism: the result depends only on the data and the options, on a
 * given machine and BLAS build.  For that atk_train runs OpenBLAS with
 * blas_threads threads (default 1; the process-wide setting is restored on
 * return), so a machine's core count does not change the sums' order.
 *
 * The returned net has float32 weights (each trained double rounded to the
 * nearest float32), so net_save_onnx writes float32 and loading it back gives
 * the same doubles bit for bit.  Its input shape is (1, rows, cols) for
 * image datasets, (dim, 1, 1) otherwise.
 */

#define ATK_TRAIN_MAX_LAYERS 16    /* dense layers */

typedef enum { ATK_DEF_NONE = 0, ATK_DEF_FGSM, ATK_DEF_PGD, ATK_DEF_IBP } atk_defense;
typedef enum { ATK_OPT_ADAM = 0, ATK_OPT_SGD } atk_optimizer;

/* Statistics of one finished epoch, passed to the on_epoch hook. */
typedef struct {
    int epoch, epochs;     /* 1-based epoch, of epochs                          */
    double loss;           /* mean objective over the epoch's minibatches        */
    double train_acc;      /* clean accuracy of the minibatches, before each step */
    double adv_acc;        /* fgsm/pgd: accuracy on the adversarial points;
                              ibp: fraction IBP-verified at eps_t; none: NAN     */
    double eps_t, kappa_t; /* ibp schedule at the end of the epoch (else eps, 1)  */
    double lr;             /* learning rate used in this epoch                   */
    double seconds;        /* wall time of the epoch (reporting only)            */
} atk_train_epoch;

typedef struct {
    int n_widths;          /* layers + 1 (>= 2), from atk_train_parse_arch       */
    int widths[ATK_TRAIN_MAX_LAYERS + 1];
    atk_defense defense;   /* (none)                                              */
    double eps;            /* L-inf radius of fgsm/pgd/ibp, in input units (0.1)  */
    int epochs;            /* (10)                                                */
    uint64_t seed;         /* (1)                                                 */
    int batch;             /* minibatch size (128)                                */
    atk_optimizer optimizer; /* (adam)                                            */
    double lr;             /* learning rate; <= 0: 1e-3 for adam, 0.01 for sgd    */
    double momentum;       /* sgd (0.9)                                           */
    double lr_decay;       /* factor for the last quarter of the epochs (0.1)     */
    double fgsm_alpha;     /* a of (6) (0.5)                                      */
    int pgd_steps;         /* k of (7) (7)                                        */
    double pgd_step;       /* s of (7) as a multiple of eps; <= 0: 2.5 / k        */
    double ibp_warmup;     /* fraction of the steps with eps_t = 0 (0.1)          */
    double ibp_ramp_end;   /* fraction of the steps where the ramp ends (0.6)     */
    double ibp_kappa;      /* final k_t of (8) (0.5)                              */
    int blas_threads;      /* OpenBLAS threads during training (1)                */
    /* Called after every epoch (may be NULL); returning false stops training
     * after that epoch (the net is still returned). */
    bool (*on_epoch)(void *ctx, const atk_train_epoch *e);
    void *ctx;
} atk_train_opts;

void atk_train_opts_init(atk_train_opts *o);

/* "784-100-100-10": 2 .. ATK_TRAIN_MAX_LAYERS + 1 positive widths (each at
 * most 65536) separated by '-'.  CN_EINVAL with a message on anything else. */
cn_status atk_train_parse_arch(const char *s, atk_train_opts *o, cn_err *err) CN_WUR;
/* "none", "fgsm", "pgd", "ibp" (and back). */
bool        atk_defense_parse(const char *s, atk_defense *d);
const char *atk_defense_name(atk_defense d);

typedef struct {
    int epochs_run;
    long steps;
    double final_loss, final_train_acc;
    double seconds;        /* wall time of training (reporting only)            */
} atk_train_stats;

/* Trains a new network on d (borrowed; labels must be < the last width and
 * d->dim must equal the first width: CN_EINVAL otherwise).  On CN_OK *out
 * is a new net (free with net_free) and *st (may be NULL) is filled. */
cn_status atk_train(const ds_set *d, const atk_train_opts *o, net **out,
                    atk_train_stats *st /* OUT, may be NULL */, cn_err *err) CN_WUR;

#ifdef __cplusplus
}
#endif
#endif

/* train.h — training dense ReLU classifiers (trn_), with or without an
 * adversarial (FGSM, PGD) or certified (IBP) defense: the networks that
 * `certnn train` writes and the verifier then proves things about.  Uses
 * attacks/ only for its random generator (atk_rng).
 *
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
 * given machine and BLAS build.  For that trn_train runs OpenBLAS with
 * blas_threads threads (default 1; the process-wide setting is restored on
 * return), so a machine's core count does not change the sums' order.
 *
 * The returned net has float32 weights (each trained double rounded to the
 * nearest float32), so net_save_onnx writes float32 and loading it back gives
 * the same doubles bit for bit.  Its input shape is (1, rows, cols) for
 * image datasets, (dim, 1, 1) otherwise.
 */
#ifndef CERTNN_TRAIN_H
#define CERTNN_TRAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "attacks/attacks.h"
#include "models/models.h"

#define TRN_MAX_LAYERS 16    /* dense layers */

typedef enum { TRN_DEF_NONE = 0, TRN_DEF_FGSM, TRN_DEF_PGD, TRN_DEF_IBP } trn_defense;
typedef enum { TRN_OPT_ADAM = 0, TRN_OPT_SGD } trn_optimizer;

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
} trn_epoch;

typedef struct {
    int n_widths;          /* layers + 1 (>= 2), from trn_parse_arch       */
    int widths[TRN_MAX_LAYERS + 1];
    trn_defense defense;   /* (none)                                              */
    double eps;            /* L-inf radius of fgsm/pgd/ibp, in input units (0.1)  */
    int epochs;            /* (10)                                                */
    uint64_t seed;         /* (1)                                                 */
    int batch;             /* minibatch size (128)                                */
    trn_optimizer optimizer; /* (adam)                                            */
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
    bool (*on_epoch)(void *ctx, const trn_epoch *e);
    void *ctx;
} trn_opts;

void trn_opts_init(trn_opts *o);

/* "784-100-100-10": 2 .. TRN_MAX_LAYERS + 1 positive widths (each at
 * most 65536) separated by '-'.  CN_EINVAL with a message on anything else. */
cn_status trn_parse_arch(const char *s, trn_opts *o, cn_err *err) CN_WUR;
/* "none", "fgsm", "pgd", "ibp" (and back). */
bool        trn_defense_parse(const char *s, trn_defense *d);
const char *trn_defense_name(trn_defense d);

typedef struct {
    int epochs_run;
    long steps;
    double final_loss, final_train_acc;
    double seconds;        /* wall time of training (reporting only)            */
} trn_stats;

/* Trains a new network on d (borrowed; labels must be < the last width and
 * d->dim must equal the first width: CN_EINVAL otherwise).  On CN_OK *out
 * is a new net (free with net_free) and *st (may be NULL) is filled. */
cn_status trn_train(const ds_set *d, const trn_opts *o, net **out,
                    trn_stats *st /* OUT, may be NULL */, cn_err *err) CN_WUR;

#endif

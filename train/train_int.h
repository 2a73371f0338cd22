/* train_int.h — internals shared by the files of train/ (not for other modules). */
#ifndef CERTNN_TRAIN_INT_H
#define CERTNN_TRAIN_INT_H

#include "train/train.h"

/*
 * A dense ReLU network being trained: L dense layers, widths w[0..L],
 * W[l] row-major [w[l+1] x w[l]], b[l] [w[l+1]], gradient accumulators gW/gb
 * of the same shapes, and scratch for minibatches of up to max_batch rows
 * (all row-major, one sample per row).
 */
typedef struct {
    int L, max_batch;
    int w[TRN_MAX_LAYERS + 1];
    double *W[TRN_MAX_LAYERS], *b[TRN_MAX_LAYERS];
    double *gW[TRN_MAX_LAYERS], *gb[TRN_MAX_LAYERS];
    /* plain passes: A[l] input of layer l ([max_batch*w[l]]), Z[l] its
     * pre-activation output ([max_batch*w[l+1]]); d1, d2 backward buffers */
    double *A[TRN_MAX_LAYERS], *Z[TRN_MAX_LAYERS];
    double *d1, *d2;
    /* IBP (train_ibp.c): box centre/radius entering layer l (mu[l], r[l]),
     * pre-activation box (zmu[l], zr[l]), |W[l]|, backward buffers */
    double *mu[TRN_MAX_LAYERS], *r[TRN_MAX_LAYERS];
    double *zmu[TRN_MAX_LAYERS], *zr[TRN_MAX_LAYERS];
    double *absW[TRN_MAX_LAYERS], *tmpW;
    double *e1, *e2, *e3, *e4;
    double *margin;                /* [max_batch*w[L]] elided margin bounds */
} trn__mlp;

cn_status trn__mlp_new(const int *widths, int n_widths, int max_batch, trn__mlp **out,
                       cn_err *err) CN_WUR;
void      trn__mlp_free(trn__mlp *m);          /* NULL is fine */
/* He-normal weights, zero biases, from r. */
void      trn__mlp_init_he(trn__mlp *m, atk_rng *r);
void      trn__mlp_zero_grad(trn__mlp *m);
/* Copies of the parameters in one flat vector (all W then b per layer);
 * trn__mlp_n_params counts them.  For tests and determinism checks. */
long      trn__mlp_n_params(const trn__mlp *m);
double   *trn__mlp_param(trn__mlp *m, long k);    /* pointer to parameter k */
double    trn__mlp_grad(const trn__mlp *m, long k);/* accumulated gradient of k */

/* Forward pass on B rows of x; Z[L-1] holds the logits afterwards.  Returns
 * the mean cross-entropy J over the rows; *correct (may be NULL) counts the
 * rows whose largest logit (first on ties) is the label. */
double trn__mlp_ce_forward(trn__mlp *m, int B, const double *x, const int *y, int *correct);
/* After trn__mlp_ce_forward on the same rows: adds scale * d(mean J)/d(params)
 * to gW/gb when params, and writes d(mean J)/dx to gx ([B*w[0]]) when gx. */
void   trn__mlp_ce_backward(trn__mlp *m, int B, const int *y, double scale, bool params,
                            double *gx);

/* Adversarial points of (6) and (7): x' ([B*w[0]], OUT) from x. */
void trn__mlp_fgsm(trn__mlp *m, int B, const double *x, const int *y, double eps,
                   double *xadv);
void trn__mlp_pgd(trn__mlp *m, int B, const double *x, const int *y, double eps, int steps,
                  double step, atk_rng *r, double *xadv);

/* IBP over [x - eps, x + eps] ∩ [0,1] (train_ibp.c).  Fills m->margin with
 * the elided upper bounds m_j of z_j - z_y (m_y = 0) and returns the mean of
 * log(1 + sum_{j != y} exp m_j); *verified (may be NULL) counts the rows whose
 * m_j < 0 for every j != y.  With grad, adds scale * d/d(params) of that mean
 * to gW/gb. */
double trn__mlp_ibp_loss(trn__mlp *m, int B, const double *x, const int *y, double eps,
                         double scale, bool grad, int *verified);
/* Interval bounds lo <= z <= hi ([B*w[L]] each) of the logits over the box
 * (no elision), from the same propagation. */
void   trn__mlp_ibp_logits(trn__mlp *m, int B, const double *x, double eps, double *lo,
                           double *hi);

/* The objective (5)-(8) of o->defense on B rows, with the ibp schedule values
 * eps_t and kappa_t (ignored by the other defenses).  With grad, adds its
 * weight gradient to gW/gb.  x' of (6)/(7) is computed into xadv ([B*w[0]]
 * scratch); PGD draws its random start from r.  *correct / *adv_ok (may be
 * NULL) count clean-correct rows and robust rows (adversarial point correct,
 * or IBP-verified). */
double trn__objective(trn__mlp *m, const trn_opts *o, int B, const double *x,
                      const int *y, double eps_t, double kappa_t, atk_rng *r, double *xadv,
                      bool grad, int *correct, int *adv_ok);

/* The trained parameters as a certnn net (each rounded to float32). */
cn_status trn__mlp_to_net(const trn__mlp *m, net_shape in_shape, net **out, cn_err *err) CN_WUR;
/* Normal deviate (Box-Muller, one of the pair) from r. */
double trn__rng_normal(atk_rng *r);

#endif

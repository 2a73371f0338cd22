/* attacks_int.h — internals shared by the files of attacks/ (not for other modules). */
#ifndef CERTNN_ATTACKS_INT_H
#define CERTNN_ATTACKS_INT_H

#include "attacks/attacks.h"

/* Seconds on the monotonic clock. */
double atk__now(void);

/* A property case compiled to doubles for the search (nothing here is a
 * claim: the exact check decides).
 *
 *   box   lo[i] <= x_i <= hi[i]: the doubles nearest to the exact box from
 *         inside (lo = up(lo_q), hi = down(hi_q)); when no double lies in the
 *         exact interval, lo = hi = nearest double and the exact clamp of
 *         atk__clamp_exact moves the point into the box.
 *   mid, rad   centre and half-width of that double box.
 *   lin   lin_a[j*n_in + i] x_i <= lin_b[j]   (j < n_lin), nearest doubles.
 *   unsafe: disjunct d has atoms atom_start[d] .. atom_start[d+1]-1, atom k is
 *         atom_c[k*n_out + o] y_o <= atom_r[k]  (nearest doubles).
 */
typedef struct {
    int n_in, n_out;
    const prop_case *pc;           /* borrowed */
    double *lo, *hi, *mid, *rad;   /* [n_in] */
    int n_lin;
    double *lin_a, *lin_b, *lin_nrm2; /* [n_lin*n_in], [n_lin], [n_lin] (||a||^2) */
    int n_disj, n_atoms;
    int *atom_start;               /* [n_disj+1] */
    double *atom_c, *atom_r;       /* [n_atoms*n_out], [n_atoms] */
} atk__case;

cn_status atk__case_init(atk__case *c, const prop_case *pc, int n_in, int n_out, cn_err *err);
void      atk__case_clear(atk__case *c);

/* Loss (1)/(2) of attacks.h at output y: disjunct d (or all when d < 0).
 * Writes the active atom's index to *atom (may be NULL). */
double atk__case_loss(const atk__case *c, const double *y, int d, int *atom);

/* Projects x onto the double box, then (approximately, a few rounds of
 * alternating projections) onto the linear input constraints. */
void atk__case_project(const atk__case *c, double *x);

/* Exact point from a double point: each coordinate converted exactly, then
 * clamped into the case's exact box [lo, hi]. */
void atk__clamp_exact(const prop_case *pc, int n_in, const double *x, mpq_t *q);

/* Nearest double of an mpq (round to nearest, ties to even). */
double atk__mpq_get_d_near(const mpq_t q);


/* ---- training (train.c, train_ibp.c) ------------------------------------ */
/*
 * A dense ReLU network being trained: L dense layers, widths w[0..L],
 * W[l] row-major [w[l+1] x w[l]], b[l] [w[l+1]], gradient accumulators gW/gb
 * of the same shapes, and scratch for minibatches of up to max_batch rows
 * (all row-major, one sample per row).
 */
typedef struct {
    int L, max_batch;
    int w[ATK_TRAIN_MAX_LAYERS + 1];
    double *W[ATK_TRAIN_MAX_LAYERS], *b[ATK_TRAIN_MAX_LAYERS];
    double *gW[ATK_TRAIN_MAX_LAYERS], *gb[ATK_TRAIN_MAX_LAYERS];
    /* plain passes: A[l] input of layer l ([max_batch*w[l]]), Z[l] its
     * pre-activation output ([max_batch*w[l+1]]); d1, d2 backward buffers */
    double *A[ATK_TRAIN_MAX_LAYERS], *Z[ATK_TRAIN_MAX_LAYERS];
    double *d1, *d2;
    /* IBP (train_ibp.c): box centre/radius entering layer l (mu[l], r[l]),
     * pre-activation box (zmu[l], zr[l]), |W[l]|, backward buffers */
    double *mu[ATK_TRAIN_MAX_LAYERS], *r[ATK_TRAIN_MAX_LAYERS];
    double *zmu[ATK_TRAIN_MAX_LAYERS], *zr[ATK_TRAIN_MAX_LAYERS];
    double *absW[ATK_TRAIN_MAX_LAYERS], *tmpW;
    double *e1, *e2, *e3, *e4;
    double *margin;                /* [max_batch*w[L]] elided margin bounds */
} atk__mlp;

cn_status atk__mlp_new(const int *widths, int n_widths, int max_batch, atk__mlp **out,
                       cn_err *err) CN_WUR;
void      atk__mlp_free(atk__mlp *m);          /* NULL is fine */
/* He-normal weights, zero biases, from r. */
void      atk__mlp_init_he(atk__mlp *m, atk_rng *r);
void      atk__mlp_zero_grad(atk__mlp *m);
/* Copies of the parameters in one flat vector (all W then b per layer);
 * atk__mlp_n_params counts them.  For tests and determinism checks. */
long      atk__mlp_n_params(const atk__mlp *m);
double   *atk__mlp_param(atk__mlp *m, long k);    /* pointer to parameter k */
double    atk__mlp_grad(const atk__mlp *m, long k);/* accumulated gradient of k */

/* Forward pass on B rows of x; Z[L-1] holds the logits afterwards.  Returns
 * the mean cross-entropy J over the rows; *correct (may be NULL) counts the
 * rows whose largest logit (first on ties) is the label. */
double atk__mlp_ce_forward(atk__mlp *m, int B, const double *x, const int *y, int *correct);
/* After atk__mlp_ce_forward on the same rows: adds scale * d(mean J)/d(params)
 * to gW/gb when params, and writes d(mean J)/dx to gx ([B*w[0]]) when gx. */
void   atk__mlp_ce_backward(atk__mlp *m, int B, const int *y, double scale, bool params,
                            double *gx);

/* Adversarial points of (6) and (7): x' ([B*w[0]], OUT) from x. */
void atk__mlp_fgsm(atk__mlp *m, int B, const double *x, const int *y, double eps,
                   double *xadv);
void atk__mlp_pgd(atk__mlp *m, int B, const double *x, const int *y, double eps, int steps,
                  double step, atk_rng *r, double *xadv);

/* IBP over [x - eps, x + eps] ∩ [0,1] (train_ibp.c).  Fills m->margin with
 * the elided upper bounds m_j of z_j - z_y (m_y = 0) and returns the mean of
 * log(1 + sum_{j != y} exp m_j); *verified (may be NULL) counts the rows whose
 * m_j < 0 for every j != y.  With grad, adds scale * d/d(params) of that mean
 * to gW/gb. */
double atk__mlp_ibp_loss(atk__mlp *m, int B, const double *x, const int *y, double eps,
                         double scale, bool grad, int *verified);
/* Interval bounds lo <= z <= hi ([B*w[L]] each) of the logits over the box
 * (no elision), from the same propagation. */
void   atk__mlp_ibp_logits(atk__mlp *m, int B, const double *x, double eps, double *lo,
                           double *hi);

/* The objective (5)-(8) of o->defense on B rows, with the ibp schedule values
 * eps_t and kappa_t (ignored by the other defenses).  With grad, adds its
 * weight gradient to gW/gb.  x' of (6)/(7) is computed into xadv ([B*w[0]]
 * scratch); PGD draws its random start from r.  *correct / *adv_ok (may be
 * NULL) count clean-correct rows and robust rows (adversarial point correct,
 * or IBP-verified). */
double atk__objective(atk__mlp *m, const atk_train_opts *o, int B, const double *x,
                      const int *y, double eps_t, double kappa_t, atk_rng *r, double *xadv,
                      bool grad, int *correct, int *adv_ok);

/* The trained parameters as a certnn net (each rounded to float32). */
cn_status atk__mlp_to_net(const atk__mlp *m, net_shape in_shape, net **out, cn_err *err) CN_WUR;
/* Normal deviate (Box-Muller, one of the pair) from r. */
double atk__rng_normal(atk_rng *r);

#endif

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

#endif

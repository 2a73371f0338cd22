/* bnd_check.h — checking bounds/ against exact values (test_bounds,
 * test_bounds_encl): a point's exact trace (exact.h) must lie in every
 * layer bound and above every query row's lower bound. */
#ifndef CERTNN_TESTS_BND_CHECK_H
#define CERTNN_TESTS_BND_CHECK_H

#include <stdbool.h>

#include "bounds/bounds.h"
#include "tests/exact.h"
#include "tests/testutil.h"

/* v (double) <= q exactly?  -inf <= everything, nan <= nothing. */
bool d_le_q(double v, const mpq_t q);
bool q_le_d(const mpq_t q, double v);
/* Fails the test unless the lower bound lb <= q exactly (-inf passes),
 * naming what bounded it, the network t and the row. */
void assert_lb_le(double lb, const mpq_t q, const char *what, int t, int row);

/* One bnd_run's results, copied: the query rows C, d, lb and the layer bounds. */
typedef struct {
    int m;
    double *C, *d;
    double *lb;
    double **lo, **hi; /* copies of the layer bounds */
    bool infeasible;
} snapshot;

/* Copies c's layer bounds (widths from t); C, d, lb are the caller's
 * (lb freed by snap_free). */
void snap_take(bnd_ctx *c, const net *n, snapshot *s, const trace *t);
void snap_free(snapshot *s, int nl);
/* Checks one traced point against a snapshot: every layer bound and every
 * query row.  Returns false and prints the violation. */
bool check_point(const net *n, const trace *t, const snapshot *s, const char *what);

/* Linear methods' layer bounds lie inside interval bounds (s[0]): asserted
 * for every method k = 1..3 whose run and the interval one were feasible. */
void assert_inside_interval(const snapshot *s /* [N_METHODS] */, const trace *t);

/* Sample point p of the box: p < 0 the point x0 (false when x0 is NULL),
 * p < 2^nin (nin <= bits) a vertex, p < 64 (nin > bits) a random vertex,
 * else a random point inside.  x: [nin]. */
bool box_point(tu_rng *r, int p, int nin, int bits, const double *lo, const double *hi,
               const double *x0, double *x);
/* The number of vertices box_point visits. */
int box_vertices(int nin, int bits);
/* Does the traced point meet the splits (split: one per ReLU, NULL: none)? */
bool meets_splits(const net *n, const trace *t, const signed char *split);

/* Query rows over no outputs into C [rows x no] and d [rows] (zeroed by the
 * caller): every margin y_i - y_j (i != j), then n_rand random rows and
 * offsets of magnitude 10^U(-e, e) (netgen.h wide).  Returns the rows written. */
int margin_rows(tu_rng *r, int no, int n_rand, double e, double *C, double *d);

/* Splits one per ReLU (free it), consistent with the point x: each ReLU
 * input fixed, with probability prob, to the side its exact value at x is on
 * (1: >= 0, -1: < 0), else 0 (free). */
signed char *splits_at(tu_rng *r, const net *n, const double *x, double prob);

/* bnd_ctx_new(n) with allocation k = 1, 2, ... failing until it succeeds:
 * each failure must report CN_ENOMEM and leak nothing.  The new context. */
bnd_ctx *ctx_new_oom(const net *n);

/* Every method, in the order the tests index their statistics. */
#define N_METHODS 4
extern const bnd_method methods[N_METHODS];

#endif

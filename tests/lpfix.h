/* lpfix.h — the LP tests' fixtures (test_lp, test_lp_encl): small random
 * dense nets with a box and the tests' own sound interval bounds on every
 * ReLU input (independent of bounds/), and exact objective values. */
#ifndef CERTNN_TESTS_LPFIX_H
#define CERTNN_TESTS_LPFIX_H

#include "lp/lp.h"
#include "tests/testutil.h"

/* Sound interval bounds on every ReLU input, rounded outward, widened by
 * each layer's enclosure: pre_lo[i]/pre_hi[i] filled for ReLU layers i. */
void interval_bounds(const net *n, const double *lo, const double *hi, double **pre_lo,
                     double **pre_hi);

typedef struct {
    net *n;
    int n_in, n_out, L;
    double *lo, *hi;
    double **pre_lo, **pre_hi;
} fixture;
double rw(tu_rng *r);                    /* a float32 value uniform in [-1, 1) */
/* A dense net n_in -> h1 -> h2 -> n_out with ReLUs between: weights rw(),
 * biases 0.3 rw() (the LP and engine tests' random nets). */
net *random_mlp(tu_rng *r, int n_in, int h1, int h2, int n_out);
/* random_mlp, a random box, its bounds. */
void make_fixture(fixture *f, tu_rng *r, int n_in, int h1, int h2, int n_out);
void free_fixture(fixture *f);
/* Exact c.y + d at x (doubles), as a double rounded down. */
double exact_obj(const net *n, const double *x, const double *c, double d);
/* x: vertex (bits: hi or lo per input) of f's box, or a random point (vertex < 0). */
void sample(tu_rng *r, const fixture *f, double *x, int vertex);

#endif

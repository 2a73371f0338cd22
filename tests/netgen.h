/* netgen.h — random networks and boxes for the tests (seeded, tu_rng): the
 * fixtures test_attacks and test_bounds share. */
#ifndef CERTNN_TESTS_NETGEN_H
#define CERTNN_TESTS_NETGEN_H

#include <stdbool.h>

#include "models/models.h"
#include "tests/testutil.h"

/* sign * 10^U(-e, e), sometimes exactly 0 */
double wide(tu_rng *r, double e);

/* The next weight (bias false) or bias (true) of a layer; arg: the
 * fixture's parameter. */
typedef double (*draw_fn)(tu_rng *r, bool bias, double arg);

/* float32 weights uniform in [-1, 1), biases half of such a value. */
double draw_f32(tu_rng *r, bool bias, double arg);

/* Dense ReLU net: sizes[0] inputs, dense layers sizes[1..n_sizes-1] with a
 * ReLU between them (none at the end); each layer's weights, then its biases,
 * from draw. */
net *dense_net(tu_rng *r, const int *sizes, int n_sizes, draw_fn draw, double arg);
/* (2,5,5) -conv 3x3 s1 p1-> (3,5,5) -relu- conv 2x2 s2 p(0,0,1,1) -> (2,3,3)
 * -relu- dense 4; each layer's weights, then its biases, from draw. */
net *conv_net(tu_rng *r, draw_fn draw, double arg);

/* Random dense nets of random widths. */
typedef struct {
    int depth, width, n_in, n_out;
    double wexp;        /* entry magnitudes 10^U(-wexp, wexp) */
    bool out_relu;
} net_cfg;
net *random_dense(tu_rng *r, const net_cfg *g);
/* conv_net with weights wide(wexp) / 4 and biases wide(wexp). */
net *random_conv(tu_rng *r, double wexp);

/* A box around centres wide(ctr_exp): kind 0 ordinary, 1 tiny, 2 zero
 * width; x0 the centre clamped into it.  lo, hi, x0: [nin]. */
void random_box(tu_rng *r, int nin, double ctr_exp, int kind, double *lo, double *hi,
                double *x0);

/* Small hand-made nets. */
/* 2 inputs -> one dense layer of `out` units: W row-major [out x 2], b [out]
 * (NULL: zero biases). */
net *dense2_net(int out, const double *W, const double *b);
/* The 2x2 identity, y = x (one dense layer). */
net *ident2_net(void);

#endif

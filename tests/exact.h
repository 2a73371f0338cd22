/* exact.h — the tests' own exact evaluation of a network, independent of
 * bounds/, lp/ and certs/: every layer's values z_0 = x, ..., z_L in mpq,
 * of the network as stored (eval_trace) or of one network of its enclosure
 * (eval_encl; models.h, net_layer (E)).  A convolution reads its taps from
 * models/ (net_conv_taps), the one unrolling the library uses too. */
#ifndef CERTNN_TESTS_EXACT_H
#define CERTNN_TESTS_EXACT_H

#include <stdbool.h>
#include <stdint.h>

#include "models/models.h"

mpq_t *qv(int n);                        /* n initialised rationals */
void qv_free(mpq_t *v, int n);
/* The nominal network: the same layers, W and b, without the enclosure. */
net *nominal(const net *n);

typedef struct {
    int nl;
    int *w;          /* [nl+1] widths of z_i */
    mpq_t **z;       /* [nl+1][w] */
} trace;

void trace_init(trace *t, const net *n);
void trace_clear(trace *t);
/* z_0 = x (each double exactly), then every layer exactly. */
void eval_trace(const net *n, const double *x, trace *t);

/* Which network of the enclosure eval_encl evaluates: W* = W + t (wrel |W| +
 * wabs), b* = b + s brad with t, s in [-1, 1] per entry. */
enum { PT_CORNER, PT_RANDOM, PT_PUSH };
typedef struct {
    int mode;        /* PT_CORNER: t = s = sg everywhere (W +- R, b +- brad);
                        PT_RANDOM: t, s from seed, the same at every point;
                        PT_PUSH: each neuron at its extreme at this point:
                        t_ok = sg sign(z_k), s_o = sg, so that
                        z'_o = W z + b + sg (wrel |W| |z| + wabs sum |z| + brad)_o */
    int sg;
    uint64_t seed;
} pert;

/* eval_trace for the network of n's enclosure that pt names. */
void eval_encl(const net *n, const double *x, const pert *pt, trace *t);

/* Row o of affine layer l over its whole input: row[in] (a convolution
 * unrolled: 0 outside the receptive field), field[k] whether input k is in
 * o's receptive field (NULL: not wanted); returns the bias. */
double affine_row(const net_layer *l, int o, double *row, bool *field);

#endif

/* lpfix.c — the LP tests' fixtures (lpfix.h). */
#include "config.h"

#include <fenv.h>
#include <math.h>

#include "tests/exact.h"
#include "tests/lpfix.h"
#include "tests/testutil.h"

/* Sound interval bounds on every ReLU input, with outward rounding: the
 * test's own oracle, independent of bounds/. pre_lo[i]/pre_hi[i] are filled
 * for ReLU layers i.  A layer with an enclosure is widened by
 * E_o = wrel (|W| m)_o + wabs sum m + brad_o (rounded up), m = max(|a|, |b|). */
void interval_bounds(const net *n, const double *lo, const double *hi, double **pre_lo,
                            double **pre_hi)
{
    int w = net_max_width(n);
    double *a = calloc((size_t)w, sizeof *a), *b = calloc((size_t)w, sizeof *b);
    double *na = calloc((size_t)w, sizeof *a), *nb = calloc((size_t)w, sizeof *b);
    memcpy(a, lo, sizeof(double) * (size_t)net_in_size(n));
    memcpy(b, hi, sizeof(double) * (size_t)net_in_size(n));
    for (int i = 0; i < net_n_layers(n); i++) {
        const net_layer *l = net_layer_at(n, i);
        if (l->op == NET_RELU) {
            memcpy(pre_lo[i], a, sizeof(double) * (size_t)l->in);
            memcpy(pre_hi[i], b, sizeof(double) * (size_t)l->in);
            for (int k = 0; k < l->in; k++) {
                a[k] = fmax(a[k], 0.0);
                b[k] = fmax(b[k], 0.0);
            }
            continue;
        }
        int saved = fegetround();
        double *row = calloc((size_t)l->in, sizeof(double));
        for (int o = 0; o < l->out; o++) {
            double bias = affine_row(l, o, row, NULL);
            double sl = bias, sh = bias, e = 0.0;
            for (int k = 0; k < l->in; k++) {
                double wk = row[k];
                fesetround(FE_DOWNWARD);
                sl += wk >= 0 ? wk * a[k] : wk * b[k];
                fesetround(FE_UPWARD);
                sh += wk >= 0 ? wk * b[k] : wk * a[k];
                double m = fmax(fabs(a[k]), fabs(b[k]));
                e += (l->wrel * fabs(wk) + l->wabs) * m;
            }
            fesetround(FE_UPWARD);
            e += net_layer_brad(l, o);
            sh += e;
            fesetround(FE_DOWNWARD);
            sl -= e;
            na[o] = sl;
            nb[o] = sh;
        }
        free(row);
        fesetround(saved);
        memcpy(a, na, sizeof(double) * (size_t)l->out);
        memcpy(b, nb, sizeof(double) * (size_t)l->out);
    }
    free(a);
    free(b);
    free(na);
    free(nb);
}


double rw(tu_rng *r) { return (double)(float)(2.0 * tu_unif(r) - 1.0); }

net *random_mlp(tu_rng *r, int n_in, int h1, int h2, int n_out)
{
    cn_err err;
    net *n = net_new((net_shape){n_in, 1, 1});
    int widths[3] = {h1, h2, n_out};
    for (int i = 0; i < 3; i++) {
        net_layer *l = net_add_dense(n, widths[i], &err);
        assert_non_null(l);
        for (int k = 0; k < l->in * l->out; k++)
            l->W[k] = rw(r);
        for (int k = 0; k < l->out; k++)
            l->b[k] = 0.3 * rw(r);
        if (i < 2)
            assert_non_null(net_add_relu(n, &err));
    }
    return n;
}

void make_fixture(fixture *f, tu_rng *r, int n_in, int h1, int h2, int n_out)
{
    f->n_in = n_in;
    f->n_out = n_out;
    f->n = random_mlp(r, n_in, h1, h2, n_out);
    f->L = net_n_layers(f->n);
    f->lo = calloc((size_t)n_in, sizeof(double));
    f->hi = calloc((size_t)n_in, sizeof(double));
    for (int k = 0; k < n_in; k++) {
        double c = rw(r), w = 0.05 + 0.5 * tu_unif(r);
        f->lo[k] = c - w;
        f->hi[k] = c + w;
    }
    f->pre_lo = calloc((size_t)f->L, sizeof(double *));
    f->pre_hi = calloc((size_t)f->L, sizeof(double *));
    for (int i = 0; i < f->L; i++)
        if (net_layer_at(f->n, i)->op == NET_RELU) {
            f->pre_lo[i] = calloc((size_t)net_layer_at(f->n, i)->in, sizeof(double));
            f->pre_hi[i] = calloc((size_t)net_layer_at(f->n, i)->in, sizeof(double));
        }
    interval_bounds(f->n, f->lo, f->hi, f->pre_lo, f->pre_hi);
}

void free_fixture(fixture *f)
{
    for (int i = 0; i < f->L; i++) {
        free(f->pre_lo[i]);
        free(f->pre_hi[i]);
    }
    free(f->pre_lo);
    free(f->pre_hi);
    free(f->lo);
    free(f->hi);
    net_free(f->n);
}

/* Exact value of c.y + d at x (doubles), as a double rounded down, and
 * whether the ReLU inputs satisfy the split. */
double exact_obj(const net *n, const double *x, const double *c, double d)
{
    int out = net_out_size(n);
    mpq_t y[8], acc, t;
    assert_true(out <= 8);
    for (int k = 0; k < out; k++)
        mpq_init(y[k]);
    mpq_init(acc);
    mpq_init(t);
    cn_err err;
    assert_int_equal(net_eval_exact_d(n, x, y, &err), CN_OK);
    mpq_set_d(acc, d);
    for (int k = 0; k < out; k++) {
        mpq_set_d(t, c[k]);
        mpq_mul(t, t, y[k]);
        mpq_add(acc, acc, t);
    }
    double v = cn_mpq_get_d_down(acc);
    for (int k = 0; k < out; k++)
        mpq_clear(y[k]);
    mpq_clear(acc);
    mpq_clear(t);
    return v;
}

void sample(tu_rng *r, const fixture *f, double *x, int vertex)
{
    for (int k = 0; k < f->n_in; k++) {
        if (vertex >= 0)
            x[k] = (vertex >> k) & 1 ? f->hi[k] : f->lo[k];
        else
            x[k] = f->lo[k] + (f->hi[k] - f->lo[k]) * tu_unif(r);
    }
}

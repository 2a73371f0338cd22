/* netgen.c — random networks and boxes for the tests (netgen.h). */
#include "config.h"

#include <math.h>

#include "tests/netgen.h"

double wide(tu_rng *r, double e)
{
    double u = tu_unif(r);
    if (u < 0.05)
        return 0.0;
    double m = pow(10.0, e * (2 * tu_unif(r) - 1));
    return tu_unif(r) < 0.5 ? -m : m;
}

double draw_f32(tu_rng *r, bool bias, double arg)
{
    (void)arg;
    double w = (double)(float)(2.0 * tu_unif(r) - 1.0);
    return bias ? 0.5 * w : w;
}

static void fill(net_layer *l, tu_rng *r, size_t nw, size_t nb, draw_fn draw, double arg)
{
    for (size_t i = 0; i < nw; i++)
        l->W[i] = draw(r, false, arg);
    for (size_t i = 0; i < nb; i++)
        l->b[i] = draw(r, true, arg);
}

net *dense_net(tu_rng *r, const int *sizes, int n_sizes, draw_fn draw, double arg)
{
    cn_err err;
    net *n = net_new((net_shape){sizes[0], 1, 1});
    assert_non_null(n);
    for (int i = 1; i < n_sizes; i++) {
        net_layer *l = net_add_dense(n, sizes[i], &err);
        assert_non_null(l);
        fill(l, r, (size_t)sizes[i] * (size_t)sizes[i - 1], (size_t)sizes[i], draw, arg);
        if (i + 1 < n_sizes)
            assert_non_null(net_add_relu(n, &err));
    }
    return n;
}

net *conv_net(tu_rng *r, draw_fn draw, double arg)
{
    cn_err err;
    net *n = net_new((net_shape){2, 5, 5});
    assert_non_null(n);
    net_layer *l = net_add_conv(n, 3, 3, 3, 1, 1, 1, 1, 1, 1, &err);
    assert_non_null(l);
    fill(l, r, 3 * 2 * 9, 3, draw, arg);
    assert_non_null(net_add_relu(n, &err));
    l = net_add_conv(n, 2, 2, 2, 2, 2, 0, 0, 1, 1, &err);
    assert_non_null(l);
    fill(l, r, 2 * 3 * 4, 2, draw, arg);
    assert_non_null(net_add_relu(n, &err));
    l = net_add_dense(n, 4, &err);
    assert_non_null(l);
    fill(l, r, 4 * 18, 4, draw, arg);
    return n;
}

net *random_dense(tu_rng *r, const net_cfg *g)
{
    cn_err err;
    net *n = net_new((net_shape){g->n_in, 1, 1});
    assert_non_null(n);
    for (int i = 0; i < g->depth; i++) {
        int out = i + 1 == g->depth ? g->n_out : 1 + (int)(tu_unif(r) * g->width);
        net_layer *l = net_add_dense(n, out, &err);
        assert_non_null(l);
        /* a per-layer scale keeps values finite in deep stacks */
        double scale = pow(10.0, -log10((double)l->in) * 0.5);
        for (int k = 0; k < l->in * l->out; k++)
            l->W[k] = scale * wide(r, g->wexp);
        for (int k = 0; k < l->out; k++)
            l->b[k] = wide(r, g->wexp);
        if (i + 1 < g->depth || g->out_relu)
            assert_non_null(net_add_relu(n, &err));
    }
    return n;
}

static double draw_wide(tu_rng *r, bool bias, double wexp)
{
    return bias ? wide(r, wexp) : wide(r, wexp) / 4;
}

net *random_conv(tu_rng *r, double wexp) { return conv_net(r, draw_wide, wexp); }

void random_box(tu_rng *r, int nin, double ctr_exp, int kind, double *lo, double *hi,
                double *x0)
{
    for (int j = 0; j < nin; j++) {
        double ctr = wide(r, ctr_exp);
        double w;
        switch (kind) {
        case 0: w = tu_unif(r) * (1 + fabs(ctr)); break;         /* ordinary */
        case 1: w = fabs(ctr) * 1e-12 + 1e-300; break;            /* tiny */
        default: w = 0.0; break;                                  /* zero width */
        }
        lo[j] = ctr - w;
        hi[j] = ctr + w;
        if (lo[j] > hi[j]) {
            double t = lo[j];
            lo[j] = hi[j];
            hi[j] = t;
        }
        x0[j] = ctr < lo[j] ? lo[j] : ctr > hi[j] ? hi[j] : ctr;
    }
}

net *dense2_net(int out, const double *W, const double *b)
{
    cn_err err;
    net *n = net_new((net_shape){2, 1, 1});
    assert_non_null(n);
    net_layer *l = net_add_dense(n, out, &err);
    assert_non_null(l);
    memcpy(l->W, W, sizeof(double) * (size_t)(2 * out));
    if (b)
        memcpy(l->b, b, sizeof(double) * (size_t)out);
    return n;
}

net *ident2_net(void) { return dense2_net(2, (const double[]){1, 0, 0, 1}, NULL); }

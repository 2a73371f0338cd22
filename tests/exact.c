/* exact.c — the tests' exact evaluation (exact.h). */
#include "config.h"

#include <math.h>

#include "tests/exact.h"
#include "tests/testutil.h"

mpq_t *qv(int n)
{
    mpq_t *v = malloc(sizeof(mpq_t) * (size_t)n);
    assert_non_null(v);
    for (int i = 0; i < n; i++)
        mpq_init(v[i]);
    return v;
}

void qv_free(mpq_t *v, int n)
{
    for (int i = 0; i < n; i++)
        mpq_clear(v[i]);
    free(v);
}

net *nominal(const net *n)
{
    cn_err err;
    net *m = net_new(net_layer_at(n, 0)->in_shape);
    assert_non_null(m);
    for (int i = 0; i < net_n_layers(n); i++) {
        const net_layer *l = net_layer_at(n, i);
        net_layer *c = NULL;
        size_t nw = 0, nb = 0;
        if (l->op == NET_DENSE) {
            c = net_add_dense(m, l->out, &err);
            nw = (size_t)l->in * l->out;
            nb = (size_t)l->out;
        } else if (l->op == NET_CONV) {
            c = net_add_conv(m, l->out_shape.c, l->kh, l->kw, l->stride_h, l->stride_w,
                             l->pad_t, l->pad_l, l->pad_b, l->pad_r, &err);
            nb = (size_t)l->out_shape.c;
            nw = nb * (size_t)l->in_shape.c * l->kh * l->kw;
        } else {
            c = net_add_relu(m, &err);
        }
        assert_non_null(c);
        if (nw) {
            memcpy(c->W, l->W, nw * sizeof(double));
            memcpy(c->b, l->b, nb * sizeof(double));
        }
    }
    assert_false(net_has_enclosure(m));
    return m;
}

void trace_init(trace *t, const net *n)
{
    t->nl = net_n_layers(n);
    t->w = calloc((size_t)t->nl + 1, sizeof(int));
    t->z = calloc((size_t)t->nl + 1, sizeof(mpq_t *));
    assert_true(t->w && t->z);
    t->w[0] = net_in_size(n);
    for (int i = 0; i < t->nl; i++)
        t->w[i + 1] = net_layer_at(n, i)->out;
    for (int i = 0; i <= t->nl; i++) {
        t->z[i] = calloc((size_t)t->w[i], sizeof(mpq_t));
        assert_non_null(t->z[i]);
        for (int j = 0; j < t->w[i]; j++)
            mpq_init(t->z[i][j]);
    }
}

void trace_clear(trace *t)
{
    for (int i = 0; i <= t->nl; i++) {
        for (int j = 0; j < t->w[i]; j++)
            mpq_clear(t->z[i][j]);
        free(t->z[i]);
    }
    free(t->z);
    free(t->w);
}

/* t (part 0, weight idx) or s (part 1, bias idx) of layer i. */
static double pert_coef(const pert *pt, int i, int part, long idx, const mpq_t a)
{
    if (pt->mode == PT_CORNER)
        return pt->sg;
    if (pt->mode == PT_PUSH)
        return part ? pt->sg : pt->sg * mpq_sgn(a);
    tu_rng h = {pt->seed ^ ((uint64_t)i << 40) ^ ((uint64_t)part << 36) ^ (uint64_t)idx};
    return 2 * tu_unif(&h) - 1;
}

/* acc += w* a, exactly: w* = w + t (wrel |w| + wabs) under pt, w without. */
static void add_term(mpq_t acc, const net_layer *l, const pert *pt, int i, long idx,
                     const mpq_t a)
{
    double w = l->W[idx];
    mpq_t q, rad;
    mpq_inits(q, rad, NULL);
    mpq_set_d(q, w);
    if (pt) {
        double t = pert_coef(pt, i, 0, idx, a);
        mpq_set_d(q, fabs(w));
        mpq_set_d(rad, l->wrel);
        mpq_mul(rad, rad, q);
        mpq_set_d(q, l->wabs);
        mpq_add(rad, rad, q);
        mpq_set_d(q, t);
        mpq_mul(rad, rad, q);
        mpq_set_d(q, w);
        mpq_add(q, q, rad);
    }
    mpq_mul(q, q, a);
    mpq_add(acc, acc, q);
    mpq_clears(q, rad, NULL);
}

/* acc = b*[bo], exactly: b[bo] + s brad[bo] under pt, b[bo] without. */
static void set_bias(mpq_t acc, const net_layer *l, const pert *pt, int i, int bo)
{
    mpq_set_d(acc, l->b[bo]);
    if (!pt || !l->brad)
        return;
    mpq_t q, s;
    mpq_inits(q, s, NULL);
    mpq_set_d(q, l->brad[bo]);
    mpq_set_d(s, pert_coef(pt, i, 1, bo, q));
    mpq_mul(q, q, s);
    mpq_add(acc, acc, q);
    mpq_clears(q, s, NULL);
}

/* The layers from z_0 = x; pt NULL: the stored network. */
static void run(const net *n, const double *x, const pert *pt, trace *t)
{
    for (int j = 0; j < t->w[0]; j++)
        mpq_set_d(t->z[0][j], x[j]);
    for (int i = 0; i < t->nl; i++) {
        const net_layer *l = net_layer_at(n, i);
        mpq_t *a = t->z[i], *b = t->z[i + 1];
        if (l->op == NET_RELU) {
            for (int j = 0; j < l->out; j++) {
                if (mpq_sgn(a[j]) > 0)
                    mpq_set(b[j], a[j]);
                else
                    mpq_set_ui(b[j], 0, 1);
            }
        } else if (l->op == NET_DENSE) {
            for (int o = 0; o < l->out; o++) {
                set_bias(b[o], l, pt, i, o);
                for (int k = 0; k < l->in; k++)
                    add_term(b[o], l, pt, i, (long)o * l->in + k, a[k]);
            }
        } else if (l->op == NET_MAXPOOL) {  /* the max of each window (models.h) */
            int *idx = malloc(sizeof *idx * (size_t)(l->kh * l->kw));
            assert_non_null(idx);
            for (int o = 0; o < l->out; o++) {
                int nw = net_pool_window(l, o, idx);
                mpq_set(b[o], a[idx[0]]);
                for (int k = 1; k < nw; k++)
                    if (mpq_cmp(a[idx[k]], b[o]) > 0)
                        mpq_set(b[o], a[idx[k]]);
            }
            free(idx);
        } else {
            /* output (co,oy,ox) = b[co] + sum over its taps (models.h) */
            int fan = net_conv_fan(l), hw = l->out_shape.h * l->out_shape.w;
            net_tap *taps = malloc(sizeof *taps * (size_t)fan);
            assert_non_null(taps);
            for (int p = 0; p < hw; p++) {
                int nt = net_conv_taps(l, p / l->out_shape.w, p % l->out_shape.w, taps);
                for (int co = 0; co < l->out_shape.c; co++) {
                    mpq_t *acc = &b[co * hw + p];
                    set_bias(*acc, l, pt, i, co);
                    for (int k = 0; k < nt; k++)
                        add_term(*acc, l, pt, i, (long)co * fan + taps[k].w, a[taps[k].in]);
                }
            }
            free(taps);
        }
    }
}

void eval_trace(const net *n, const double *x, trace *t) { run(n, x, NULL, t); }

void eval_encl(const net *n, const double *x, const pert *pt, trace *t)
{
    assert_non_null(pt);
    run(n, x, pt, t);
}

double affine_row(const net_layer *l, int o, double *row, bool *field)
{
    if (l->op == NET_DENSE) {
        memcpy(row, l->W + (size_t)o * l->in, sizeof(double) * (size_t)l->in);
        for (int k = 0; field && k < l->in; k++)
            field[k] = true;
        return l->b[o];
    }
    int hw = l->out_shape.h * l->out_shape.w, co = o / hw, p = o % hw, fan = net_conv_fan(l);
    net_tap *taps = malloc(sizeof *taps * (size_t)fan);
    assert_non_null(taps);
    memset(row, 0, sizeof(double) * (size_t)l->in);
    for (int k = 0; field && k < l->in; k++)
        field[k] = false;
    int nt = net_conv_taps(l, p / l->out_shape.w, p % l->out_shape.w, taps);
    for (int k = 0; k < nt; k++) {
        row[taps[k].in] = l->W[(size_t)co * (size_t)fan + (size_t)taps[k].w];
        if (field)
            field[taps[k].in] = true;
    }
    free(taps);
    return l->b[co];
}

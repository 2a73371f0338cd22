/* test_bounds_kern.c — bounds/' reorganised inner steps against their
 * straightforward forms: the Adam step over the listed (unstable or split)
 * entries equals the step over every entry with a mask, bit for bit, and
 * leaves the other entries alone; a convolution's products with many rows
 * (BLAS: one product per tap on the padded grid for strides 1, im2col /
 * col2im otherwise) equal the row-by-row taps path within the a-priori
 * error of the products (bounds.h). */
#include "config.h"

#include <math.h>
#include <string.h>

#include "bounds/bounds_int.h"
#include "models/models.h"
#include "tests/testutil.h"

/* The masked dense step (the form every entry used to take). */
static void adam_dense(int n, const signed char *mask, double *x, const double *g, double *m1,
                       double *m2, double step, double p1, double p2, double lo, double hi)
{
    const double b1 = 0.9, b2 = 0.999;
    for (int j = 0; j < n; j++) {
        if (!mask[j])
            continue;
        m1[j] = b1 * m1[j] + (1 - b1) * g[j];
        m2[j] = b2 * m2[j] + (1 - b2) * g[j] * g[j];
        double mh = m1[j] / (1 - p1), vh = m2[j] / (1 - p2);
        double v = x[j] + step * mh / (sqrt(vh) + 1e-12);
        x[j] = v < lo ? lo : v > hi ? hi : v;
    }
}

static void test_adam_listed(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("adam_listed", 9001)};
    enum { N = 97 };
    for (int trial = 0; trial < 40; trial++) {
        signed char mask[N];
        int ix[N], cnt = 0;
        double dens = tu_unif(&r);
        for (int j = 0; j < N; j++) {
            mask[j] = tu_unif(&r) < dens;
            if (mask[j])
                ix[cnt++] = j;
        }
        double x[2][N], g[N], m1[2][N], m2[2][N];
        const bool beta = trial % 2;
        const double lo = 0.0, hi = beta ? INFINITY : 1.0;
        for (int j = 0; j < N; j++) {
            x[0][j] = beta ? 3 * tu_unif(&r) : tu_unif(&r);
            m1[0][j] = m2[0][j] = 0.0;
        }
        memcpy(x[1], x[0], sizeof x[0]);
        memcpy(m1[1], m1[0], sizeof m1[0]);
        memcpy(m2[1], m2[0], sizeof m2[0]);
        double p1 = 1.0, p2 = 1.0;
        for (int t = 1; t <= 12; t++) {
            for (int j = 0; j < N; j++)
                g[j] = (tu_unif(&r) - 0.5) * pow(10.0, 6 * tu_unif(&r) - 3);
            p1 *= 0.9;
            p2 *= 0.999;
            double step = 0.3 * pow(0.98, t - 1);
            adam_dense(N, mask, x[0], g, m1[0], m2[0], step, p1, p2, lo, hi);
            bnd__adam_idx(cnt, ix, x[1], g, m1[1], m2[1], step, p1, p2, lo, hi);
            assert_memory_equal(x[0], x[1], sizeof x[0]);
            assert_memory_equal(m1[0], m1[1], sizeof m1[0]);
            assert_memory_equal(m2[0], m2[1], sizeof m2[0]);
        }
        /* something moved when any entry is listed, nothing else did */
        bool moved = false;
        for (int j = 0; j < N; j++)
            moved |= m1[1][j] != 0.0;
        assert_true(moved == (cnt > 0));
    }
}

/* (3,6,6) -conv 4 3x3 s1 p(1,0,1,2)-> (4,6,6) -relu- conv 5 3x3 s2 p1 -> (5,3,3)
 * -relu- dense 3, weights and biases in [-1, 1]. */
static net *two_convs(tu_rng *r)
{
    cn_err err;
    net *n = net_new((net_shape){3, 6, 6});
    assert_non_null(n);
    net_layer *l = net_add_conv(n, 4, 3, 3, 1, 1, 1, 0, 1, 2, &err);
    assert_non_null(l);
    for (int k = 0; k < 4 * 3 * 9; k++)
        l->W[k] = 2 * tu_unif(r) - 1;
    for (int k = 0; k < 4; k++)
        l->b[k] = 2 * tu_unif(r) - 1;
    assert_non_null(net_add_relu(n, &err));
    l = net_add_conv(n, 5, 3, 3, 2, 2, 1, 1, 1, 1, &err);
    assert_non_null(l);
    for (int k = 0; k < 5 * 4 * 9; k++)
        l->W[k] = 2 * tu_unif(r) - 1;
    for (int k = 0; k < 5; k++)
        l->b[k] = 2 * tu_unif(r) - 1;
    assert_non_null(net_add_relu(n, &err));
    l = net_add_dense(n, 3, &err);
    assert_non_null(l);
    for (int k = 0; k < l->in * l->out; k++)
        l->W[k] = 2 * tu_unif(r) - 1;
    return n;
}

/* |P| |W| of row r, entry k, from the dense unrolling. */
static double absprod(const double *W, int in, int out, const double *p, int k)
{
    double s = 0.0;
    for (int j = 0; j < out; j++)
        s += fabs(p[j]) * fabs(W[(size_t)j * (size_t)in + k]);
    return s;
}

static void test_conv_batched(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("conv_batched", 31337)};
    cn_err err;
    net *n = two_convs(&r);
    bnd_ctx *c = bnd_ctx_new(n, &err);
    assert_non_null(c);
    int seen = 0, shifted = 0;
    for (int i = 0; i < c->nl; i++) {
        const bnd__layer *A = &c->L[i];
        if (!A->cm)
            continue;
        seen++;
        shifted += A->cft != NULL;
        double *W, *b;
        assert_int_equal(net_conv_dense(A->cl, &W, &b, &err), CN_OK);
        const int in = A->in, out = A->out;
        const int R = 3 * BND_SMALL_ROWS + 5; /* BLAS, against the taps path */
        assert_true(R > BND_SMALL_ROWS);
        double *P = calloc((size_t)R * (size_t)out, sizeof(double));
        double *Q1 = calloc((size_t)R * (size_t)in, sizeof(double));
        double *Q2 = calloc((size_t)R * (size_t)in, sizeof(double));
        double *G = calloc((size_t)R * (size_t)in, sizeof(double));
        double *H1 = calloc((size_t)R * (size_t)out, sizeof(double));
        double *H2 = calloc((size_t)R * (size_t)out, sizeof(double));
        int *idx = calloc((size_t)out, sizeof(int)), cnt = 0;
        assert_true(P && Q1 && Q2 && G && H1 && H2 && idx);
        for (size_t k = 0; k < (size_t)R * (size_t)out; k++)
            P[k] = tu_unif(&r) < 0.3 ? 0.0 : (tu_unif(&r) - 0.5) * pow(10.0, 4 * tu_unif(&r) - 2);
        for (size_t k = 0; k < (size_t)R * (size_t)in; k++)
            G[k] = 2 * tu_unif(&r) - 1;
        for (int j = 0; j < out; j++)
            if (tu_unif(&r) < 0.6)
                idx[cnt++] = j;
        bnd__conv_rows(A, NULL, R, P, Q1);
        bnd__conv_fwd(A, idx, cnt, R, G, H1);
        for (int r0 = 0; r0 < R; r0 += BND_SMALL_ROWS) { /* the row-by-row taps path */
            int nb = R - r0 < BND_SMALL_ROWS ? R - r0 : BND_SMALL_ROWS;
            bnd__conv_rows(A, NULL, nb, P + (size_t)r0 * (size_t)out, Q2 + (size_t)r0 * (size_t)in);
            bnd__conv_fwd(A, idx, cnt, nb, G + (size_t)r0 * (size_t)in,
                          H2 + (size_t)r0 * (size_t)cnt);
        }
        const double gam = 2.0 * out * 0x1p-53 / (1.0 - 2.0 * out * 0x1p-53);
        for (int q = 0; q < R; q++) {
            for (int k = 0; k < in; k++) {
                double e = fabs(Q1[(size_t)q * in + k] - Q2[(size_t)q * in + k]);
                assert_true(e <= 2 * gam * absprod(W, in, out, P + (size_t)q * out, k));
            }
            for (int t = 0; t < cnt; t++) {
                int j = idx[t];
                double s = fabs(b[j]);
                for (int k = 0; k < in; k++)
                    s += fabs(W[(size_t)j * in + k] * G[(size_t)q * in + k]);
                double e = fabs(H1[(size_t)q * cnt + t] - H2[(size_t)q * cnt + t]);
                assert_true(e <= 2 * gam * s);
            }
        }
        cn_free(W);
        cn_free(b);
        free(P);
        free(Q1);
        free(Q2);
        free(G);
        free(H1);
        free(H2);
        free(idx);
    }
    assert_int_equal(seen, 2);
    assert_int_equal(shifted, 1); /* the first: strides 1 */
    bnd_ctx_free(c);
    net_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adam_listed),
        cmocka_unit_test(test_conv_batched),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

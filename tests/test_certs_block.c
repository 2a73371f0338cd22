/* test_certs_block.c — the checker's back-substitution of several rows at
 * once (certs/relax.c, backsub_rows, cert__bounds_set_block) and its reuse
 * of a layer's interval bounds: on random small networks (dense, convolution,
 * max pooling, with and without an enclosure) every region's bounds of
 * every layer and every row's bound are the same bits as those of a fresh
 * context that takes its rows one at a time.  Links certs and models only. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "certs/certs_int.h"
#include "tests/netgen.h"
#include "tests/testutil.h"

/* (2,6,6) -conv 3x3 p1-> (3,6,6) -relu- maxpool 2x2 s2 -> dense h -relu- dense 3 */
static net *pool_net(tu_rng *r, int h, double wexp)
{
    net *n = net_new((net_shape){2, 6, 6});
    assert_non_null(n);
    net_layer *l = net_add_conv(n, 3, 3, 3, 1, 1, 1, 1, 1, 1, NULL);
    assert_non_null(l);
    for (int i = 0; i < 3 * 2 * 9; i++)
        l->W[i] = wide(r, wexp) / 4;
    for (int i = 0; i < 3; i++)
        l->b[i] = wide(r, wexp);
    assert_non_null(net_add_relu(n, NULL));
    assert_non_null(net_add_maxpool(n, 2, 2, 2, 2, NULL));
    for (int k = 0; k < 2; k++) {
        assert_non_null(l = net_add_dense(n, k ? 3 : h, NULL));
        for (int i = 0; i < l->in * l->out; i++)
            l->W[i] = wide(r, wexp) / 4;
        for (int i = 0; i < l->out; i++)
            l->b[i] = wide(r, wexp);
        if (!k)
            assert_non_null(net_add_relu(n, NULL));
    }
    return n;
}

/* Radii on some affine layers of n (models.h, net_layer: wrel, wabs, brad). */
static void add_enclosure(tu_rng *r, net *n)
{
    for (int k = 0; k < net_n_layers(n); k++) {
        net_layer *l = (net_layer *)net_layer_at(n, k); /* the test's own net */
        if ((l->op != NET_DENSE && l->op != NET_CONV) || tu_unif(r) < 0.3)
            continue;
        l->wrel = tu_unif(r) < 0.8 ? pow(10.0, -6 + 3 * tu_unif(r)) : 0.0;
        l->wabs = tu_unif(r) < 0.5 ? pow(10.0, -7 + 3 * tu_unif(r)) : 0.0;
        if (l->op == NET_DENSE && tu_unif(r) < 0.6) {
            assert_non_null(l->brad = cn_calloc((size_t)l->out, sizeof(double)));
            for (int o = 0; o < l->out; o++)
                l->brad[o] = tu_unif(r) < 0.8 ? pow(10.0, -6 + 3 * tu_unif(r)) : 0.0;
        }
    }
}

static bool same_bits(const double *a, const double *b, int n)
{
    return memcmp(a, b, (size_t)n * sizeof(double)) == 0;
}

static int layer_width(const net *n, int k)
{
    return k == 0 ? net_in_size(n) : net_layer_at(n, k - 1)->out;
}

/* Unstable ReLU inputs after the first affine layer: each gives linear_affine
 * two rows. */
static int rows_of(const net *n, const cert_bounds *b)
{
    int rows = 0;
    for (int k = 2; k < net_n_layers(n); k++) {
        if (net_layer_at(n, k)->op != NET_RELU)
            continue;
        const double *lo, *hi;
        cert_bounds_layer(b, k, &lo, &hi);
        for (int j = 0; j < net_layer_at(n, k)->in; j++)
            rows += 2 * (lo[j] < 0.0 && hi[j] > 0.0);
    }
    return rows;
}

static void test_block_bits(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("test_block_bits", 24)};
    int regions = 0, ok = 0, rows = 0, cached = 0, encl = 0, ab_rows = 0, claims = 0;
    for (int trial = 0; trial < 90; trial++) {
        int kind = trial % 3;
        double wexp = 0.3 + 0.7 * tu_unif(&r);
        net *n;
        if (kind == 0) {
            net_cfg g = {.depth = 3 + (int)(tu_unif(&r) * 3), .width = 4 + (int)(tu_unif(&r) * 30),
                         .n_in = 1 + (int)(tu_unif(&r) * 40), .n_out = 1 + (int)(tu_unif(&r) * 4),
                         .wexp = wexp};
            n = random_dense(&r, &g);
        } else if (kind == 1) {
            n = random_conv(&r, wexp);
        } else {
            n = pool_net(&r, 2 + (int)(tu_unif(&r) * 20), wexp);
        }
        if (tu_unif(&r) < 0.3) {
            add_enclosure(&r, n);
            encl++;
        }
        const int nl = net_n_layers(n), nin = net_in_size(n), nout = net_out_size(n);
        const int nr = net_n_relus(n);
        cn_err err;
        /* blocked: the default and a random block size, both reused over
         * the regions (so their interval bounds of equal boxes are reused) */
        cert_bounds *bd = cert_bounds_new(n, &err), *bk = cert_bounds_new(n, &err);
        assert_non_null(bd);
        assert_non_null(bk);
        int blk = 2 + (int)(tu_unif(&r) * (CERT_BLOCK_MAX - 1));
        assert_int_equal(cert__bounds_set_block(bk, blk), CN_OK);
        double *lo = cn_mallocarray((size_t)nin, sizeof(double));
        double *hi = cn_mallocarray((size_t)nin, sizeof(double));
        double *x0 = cn_mallocarray((size_t)nin, sizeof(double));
        double *c = cn_mallocarray((size_t)nout, sizeof(double));
        signed char *split = cn_calloc((size_t)(nr ? nr : 1), 1);
        unsigned char *aq = cn_calloc((size_t)(nr ? nr : 1), 1);
        int *bj = cn_calloc((size_t)(nr ? nr : 1), sizeof(int));
        double *bv = cn_calloc((size_t)(nr ? nr : 1), sizeof(double));
        assert_true(lo && hi && x0 && c && split && aq && bj && bv);
        for (int rep = 0; rep < 12; rep++) {
            if (rep % 4 == 0)                   /* a new box, then splits of it */
                random_box(&r, nin, 1.0, 0, lo, hi, x0);
            else
                cached++;
            for (int k = 0; k < nr; k++)
                split[k] = rep % 4 && tu_unif(&r) < 0.08 ? (tu_unif(&r) < 0.5 ? 1 : -1) : 0;
            /* the reference: one row at a time, nothing reused */
            cert_bounds *b1 = cert_bounds_new(n, &err);
            assert_non_null(b1);
            assert_int_equal(cert__bounds_set_block(b1, 1), CN_OK);
            cert_region r1 = cert_bounds_region(b1, lo, hi, split);
            assert_int_equal(cert_bounds_region(bd, lo, hi, split), r1);
            assert_int_equal(cert_bounds_region(bk, lo, hi, split), r1);
            regions++;
            if (r1 == CERT_REGION_OK) {
                ok++;
                rows += rows_of(n, b1);
                for (int k = 0; k <= nl; k++) {
                    const double *l1, *h1, *l2, *h2, *l3, *h3;
                    cert_bounds_layer(b1, k, &l1, &h1);
                    cert_bounds_layer(bd, k, &l2, &h2);
                    cert_bounds_layer(bk, k, &l3, &h3);
                    int w = layer_width(n, k);
                    if (!same_bits(l1, l2, w) || !same_bits(h1, h2, w) || !same_bits(l1, l3, w) ||
                        !same_bits(h1, h3, w))
                        fail_msg("trial %d rep %d (block %d): bounds of z_%d differ", trial, rep,
                                 blk, k);
                }
                for (int q = 0; q < 3; q++) {
                    for (int j = 0; j < nout; j++)
                        c[j] = wide(&r, 1.0);
                    double v1 = cert_bounds_row(b1, c), v2 = cert_bounds_row(bd, c),
                           v3 = cert_bounds_row(bk, c);
                    if (!same_bits(&v1, &v2, 1) || !same_bits(&v1, &v3, 1))
                        fail_msg("trial %d rep %d: row bounds %a, %a, %a differ", trial, rep, v1,
                                 v2, v3);
                }
                /* stored slopes and split multipliers (back_relu's other
                 * cases, back_beta), and a claim's row */
                if (nr > 0) {
                    for (int j = 0; j < nout; j++)
                        c[j] = wide(&r, 1.0);
                    for (int j = 0; j < nr; j++)
                        aq[j] = (unsigned char)(tu_unif(&r) * (CERT_ALPHA_DEN + 1));
                    int nb = 0;
                    for (int j = 0; j < nr; j++)
                        if (split[j] && tu_unif(&r) < 0.7) {
                            bj[nb] = j;
                            bv[nb++] = tu_unif(&r) < 0.2 ? 0.0 : fabs(wide(&r, 1.0));
                        }
                    cert_par par = {.kind = CERT_PAR_AB, .n_alpha = tu_unif(&r) < 0.8 ? nr : 0,
                                    .alpha = aq, .n_beta = nb, .beta_j = bj, .beta = bv};
                    double v1 = cert_bounds_row_ab(b1, c, &par, split),
                           v2 = cert_bounds_row_ab(bd, c, &par, split),
                           v3 = cert_bounds_row_ab(bk, c, &par, split);
                    if (!same_bits(&v1, &v2, 1) || !same_bits(&v1, &v3, 1))
                        fail_msg("trial %d rep %d: ab row bounds %a, %a, %a differ", trial, rep,
                                 v1, v2, v3);
                    ab_rows += nb > 0;
                    for (int k = 2; k < nl; k++) {
                        if (net_layer_at(n, k)->op != NET_RELU ||
                            (net_layer_at(n, k - 1)->op != NET_DENSE &&
                             net_layer_at(n, k - 1)->op != NET_CONV))
                            continue;
                        int neuron = (int)(tu_unif(&r) * net_layer_at(n, k)->in);
                        int sgn = tu_unif(&r) < 0.5 ? 1 : -1;
                        v1 = cert_bounds_claim(b1, k, neuron, sgn, aq);
                        v2 = cert_bounds_claim(bd, k, neuron, sgn, aq);
                        v3 = cert_bounds_claim(bk, k, neuron, sgn, aq);
                        if (!same_bits(&v1, &v2, 1) || !same_bits(&v1, &v3, 1))
                            fail_msg("trial %d rep %d: claim bounds %a, %a, %a differ", trial,
                                     rep, v1, v2, v3);
                        claims++;
                    }
                }
            }
            cert_bounds_free(b1);
        }
        cn_free(lo);
        cn_free(hi);
        cn_free(x0);
        cn_free(c);
        cn_free(split);
        cn_free(aq);
        cn_free(bj);
        cn_free(bv);
        cert_bounds_free(bd);
        cert_bounds_free(bk);
        net_free(n);
    }
    printf("# %d regions (%d bounded, %d of the same box as the one before, %d nets with an "
           "enclosure), %d back-substituted rows compared, %d rows with split multipliers, "
           "%d claims\n",
           regions, ok, cached, encl, rows, ab_rows, claims);
    /* the comparison has to have covered blocks of rows */
    assert_true(ok > regions / 3);
    assert_true(rows > 20 * CERT_BLOCK_ROWS);
    assert_true(ab_rows > 20 && claims > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

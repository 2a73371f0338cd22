/* test_ops_bounds.c — bounds over networks with the lowered operators
 * (LeakyRelu, Clip) and BatchNormalization after a ReLU (an enclosure):
 * on random small ONNX models built in memory and random boxes, every
 * method's lower bound of random output rows (bounds/) and the checker's
 * (certs/) lie below the exact value at sampled points (box corners and
 * random points), evaluated in rationals (net_eval_enclose: the lower end
 * of the enclosure when BatchNormalization's scale is irrational).
 * Prints its seed; replay with CN_SEED. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "bounds/bounds.h"
#include "certs/certs.h"
#include "models/models.h"
#include "tests/onnx_mb.h"
#include "tests/bnd_check.h"
#include "tests/testutil.h"

enum { NI = 3, NH = 6, NO = 4, M = 4 };

typedef struct {
    float w1[NH * NI], b1[NH], w2[NH * NH], b2[NH], w3[NO * NH], b3[NO];
    float g[NH], be[NH], mu[NH], var[NH], lo, hi, a;
} params;

/* Gemm -> (LeakyRelu | Clip(lo,hi) | Clip(lo) | Clip(-,hi)) -> Gemm -> Relu
 * -> BatchNormalization -> Gemm. */
static net *random_net(tu_rng *r, int kind, params *p)
{
    rndf_fill(r, (float *)p, (int)(sizeof *p / sizeof(float)));
    for (int j = 0; j < NH; j++)
        p->var[j] = 0.25f + fabsf(p->var[j]);
    p->lo = -0.5f * fabsf(p->lo);
    p->hi = 0.1f + fabsf(p->hi);
    p->a = 0.05f + 0.5f * fabsf(p->a);
    int64_t din[2] = {1, NI}, dout[2] = {1, NO}, d1[2] = {NH, NI}, dh[1] = {NH},
            d2[2] = {NH, NH}, d3[2] = {NO, NH}, db3[1] = {NO}, ds[1] = {1};
    mb *b = mb_new(din, 2, dout, 2);
    mb_inits(b, 12, (const mb_tensor[]){{"w1", d1, 2, p->w1}, {"b1", dh, 1, p->b1},
                                        {"w2", d2, 2, p->w2}, {"b2", dh, 1, p->b2},
                                        {"w3", d3, 2, p->w3}, {"b3", db3, 1, p->b3},
                                        {"g", dh, 1, p->g}, {"be", dh, 1, p->be},
                                        {"mu", dh, 1, p->mu}, {"var", dh, 1, p->var},
                                        {"lo", ds, 0, &p->lo}, {"hi", ds, 0, &p->hi}});
    int g = mb_node(b, "Gemm", "fc1", "h", "x", "w1", "b1", NULL);
    mb_attr_i(b, g, "transB", 1);
    if (kind == 0)
        mb_attr_f(b, mb_node(b, "LeakyRelu", "act", "a", "h", NULL), "alpha", p->a);
    else if (kind == 1)
        mb_node(b, "Clip", "act", "a", "h", "lo", "hi", NULL);
    else if (kind == 2)
        mb_node(b, "Clip", "act", "a", "h", "lo", NULL);
    else
        mb_node(b, "Clip", "act", "a", "h", "", "hi", NULL);
    g = mb_node(b, "Gemm", "fc2", "h2", "a", "w2", "b2", NULL);
    mb_attr_i(b, g, "transB", 1);
    mb_node(b, "Relu", "relu", "r", "h2", NULL);
    mb_node(b, "BatchNormalization", "bn", "n", "r", "g", "be", "mu", "var", NULL);
    g = mb_node(b, "Gemm", "fc3", "y", "n", "w3", "b3", NULL);
    mb_attr_i(b, g, "transB", 1);
    net *n = mb_load_ok(b);
    free(b);
    return n;
}

static void test_bounds_enclose(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("ops_bounds", 25)};
    const bnd_method ms[4] = {BND_INTERVAL, BND_DEEPPOLY, BND_CROWN, BND_ALPHA};
    for (int t = 0; t < 24; t++) {
        params p;
        net *n = random_net(&r, t % 4, &p);
        double lo[NI], hi[NI], C[M * NO], eps = t % 3 == 0 ? 1e-3 : 0.3;
        for (int i = 0; i < NI; i++) {
            double c = 2 * tu_unif(&r) - 1;
            lo[i] = c - eps;
            hi[i] = c + eps;
        }
        for (int i = 0; i < M * NO; i++)
            C[i] = floor(tu_unif(&r) * 5) - 2;
        bnd_ctx *bc = bnd_ctx_new(n, NULL);
        cert_bounds *cb = cert_bounds_new(n, NULL);
        assert_non_null(bc);
        assert_non_null(cb);
        double lb[4][M], clb[M];
        for (int k = 0; k < 4; k++) {
            bnd_opts o;
            bnd_opts_init(&o, ms[k]);
            o.alpha_iters = 5;
            bnd_region rg = {.lo = lo, .hi = hi};
            assert_int_equal(bnd_run(bc, &o, &rg, M, C, NULL, lb[k], NULL, NULL), CN_OK);
        }
        assert_int_equal(cert_bounds_region(cb, lo, hi, NULL), CERT_REGION_OK);
        for (int j = 0; j < M; j++)
            clb[j] = cert_bounds_row(cb, C + NO * j);
        mpq_t x[NI], ylo[NO], yhi[NO], q, s;
        mpq_inits(q, s, NULL);
        for (int i = 0; i < NI; i++)
            mpq_init(x[i]);
        for (int o = 0; o < NO; o++)
            mpq_inits(ylo[o], yhi[o], NULL);
        for (int pt = 0; pt < 40; pt++) {
            for (int i = 0; i < NI; i++) {
                double v = pt < 8 ? ((pt >> i) & 1 ? hi[i] : lo[i])
                                  : lo[i] + (hi[i] - lo[i]) * tu_unif(&r);
                mpq_set_d(x[i], v);
            }
            assert_int_equal(net_eval_enclose(n, x, ylo, yhi, NULL), CN_OK);
            for (int j = 0; j < M; j++) {
                /* the least value of row j over the output enclosure */
                mpq_set_ui(q, 0, 1);
                for (int o = 0; o < NO; o++) {
                    mpq_set_d(s, C[NO * j + o]);
                    mpq_mul(s, s, mpq_sgn(s) >= 0 ? ylo[o] : yhi[o]);
                    mpq_add(q, q, s);
                }
                for (int k = 0; k < 4; k++)
                    assert_lb_le(lb[k][j], q, bnd_method_name(ms[k]), t, j);
                assert_lb_le(clb[j], q, "checker", t, j);
            }
        }
        for (int i = 0; i < NI; i++)
            mpq_clear(x[i]);
        for (int o = 0; o < NO; o++)
            mpq_clears(ylo[o], yhi[o], NULL);
        mpq_clears(q, s, NULL);
        bnd_ctx_free(bc);
        cert_bounds_free(cb);
        net_free(n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounds_enclose),
    };
    return cmocka_run_group_tests_name("ops_bounds", tests, NULL, NULL);
}

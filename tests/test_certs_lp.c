/* test_certs_lp.c — LP refutations in certificates (certs.h, section 3, "LP
 * refutations"): the checker accepts a valid multiplier vector and refuses
 * a negative multiplier of an inequality, a non-finite one, a wrong count
 * and a vector whose bound does not exceed 0, naming the node; random
 * multipliers never refute a disjunct that a point meets; and the engine's
 * LP leaves (ReLU splitting's node LP, input splitting's LP tail) on random
 * networks make certificates that the checker accepts. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <jansson.h>

#include "certs/certs.h"
#include "tests/certfix.h"
#include "tests/testutil.h"
#include "verifier/verifier.h"

/* x in [-1, 1] -> z = x -> a = relu(z) -> y = a: y >= 0 everywhere. */
static net *tiny_net(void)
{
    cn_err err;
    net *n = net_new((net_shape){1, 1, 1});
    net_layer *l = net_add_dense(n, 1, &err);
    l->W[0] = 1;
    net_add_relu(n, &err);
    l = net_add_dense(n, 1, &err);
    l->W[0] = 1;
    return n;
}

static prop *tiny_prop(const char *rhs)
{
    char text[256];
    snprintf(text, sizeof text,
             "(declare-const X_0 Real)\n(declare-const Y_0 Real)\n(assert (>= X_0 -1))\n"
             "(assert (<= X_0 1))\n(assert (<= Y_0 %s))\n", rhs);
    return parse(text);
}

/* Rows of the tiny LP: E0 (z - x = 0), P, Q (the ReLU), E2 (y - a = 0), D
 * (-y >= -rhs).  With y_E2 = y_D = 1 the reduced costs are 0 on y and 1 on
 * a >= 0, and y^T b = -rhs: the refutation of y <= rhs for rhs < 0. */
enum { R_E0, R_P, R_Q, R_E2, R_D, R_N };

static bool lp_ok(cert_bounds *b, const prop *p, const double *y, int n, char *why)
{
    cert_par par = {.kind = CERT_PAR_LP, .n_dual = n, .dual = (double *)y};
    bool ok = false;
    cn_err err;
    assert_int_equal(cert_lp_refutes(b, prop_case_at(p, 0), 0, &par, &ok, why, 300, &err), CN_OK);
    return ok;
}

static void test_hand_lp(void **state)
{
    (void)state;
    net *n = tiny_net();
    prop *p = tiny_prop("(- 0.5)");
    cn_err err;
    cert_bounds *b = cert_bounds_new(n, &err);
    assert_non_null(b);
    assert_int_equal(cert_lp_rows(n, prop_case_at(p, 0), 0), R_N);
    double lo = -1, hi = 1;
    assert_int_equal(cert_bounds_region(b, &lo, &hi, NULL), CERT_REGION_OK);
    char why[300];
    double y[R_N] = {0, 0, 0, 1, 1};
    assert_true(lp_ok(b, p, y, R_N, why));
    /* scaled: still valid; any equality multiplier sign is allowed */
    double y2[R_N] = {0, 0, 0, 3, 3};
    assert_true(lp_ok(b, p, y2, R_N, why));
    /* a negative multiplier of an inequality */
    double yn[R_N] = {0, -1, 0, 1, 1};
    assert_false(lp_ok(b, p, yn, R_N, why));
    assert_non_null(strstr(why, "negative"));
    assert_non_null(strstr(why, "row P"));
    double yd[R_N] = {0, 0, 0, 1, -1};
    assert_false(lp_ok(b, p, yd, R_N, why));
    assert_non_null(strstr(why, "row D"));
    /* not finite */
    double yi[R_N] = {0, 0, 0, INFINITY, 1};
    assert_false(lp_ok(b, p, yi, R_N, why));
    assert_non_null(strstr(why, "not finite"));
    yi[R_E2] = NAN;
    assert_false(lp_ok(b, p, yi, R_N, why));
    /* a changed multiplier: the bound no longer exceeds 0 (without the
     * atom's row, -y over y in [0, 1] goes down to -1) */
    double yc[R_N] = {0, 0, 0, 1, 0};
    assert_false(lp_ok(b, p, yc, R_N, why));
    assert_non_null(strstr(why, "not > 0"));
    /* the count */
    assert_false(lp_ok(b, p, y, R_N - 1, why));
    assert_non_null(strstr(why, "rows"));
    /* a rhs that a point meets (y <= 0 at x = 0) is never refuted */
    prop *ps = tiny_prop("0");
    assert_false(lp_ok(b, ps, y, R_N, why));
    /* exactly at the edge: y <= -2^-60 is refuted, by the exact comparison */
    prop *pe = tiny_prop("(- (/ 1 1152921504606846976))");
    assert_true(lp_ok(b, pe, y, R_N, why));
    prop_free(pe);
    prop_free(ps);

    /* in a tree: a root leaf with the LP item; failures name the node */
    cert_tree t;
    cert_tree_init(&t, 0);
    int d0 = 0;
    assert_int_equal(cert_tree_push(&t, CERT_LEAF, 0, 0, 1, &d0, &err), CN_OK);
    cert_par par = {.kind = CERT_PAR_LP, .n_dual = R_N, .dual = y};
    assert_int_equal(cert_tree_set_par(&t, 0, 0, &par, &err), CN_OK);
    cert_stats st = {0, 0, 0, 0};
    bool valid = false;
    assert_int_equal(cert_check_tree(b, p, &t, &valid, why, sizeof why, &st, &err), CN_OK);
    assert_true(valid);
    t.nodes[0].par[0].dual[R_P] = -0x1p-3;
    assert_int_equal(cert_check_tree(b, p, &t, &valid, why, sizeof why, &st, &err), CN_OK);
    assert_false(valid);
    assert_non_null(strstr(why, "case 0 node 0"));
    assert_non_null(strstr(why, "negative"));
    t.nodes[0].par[0].dual[R_P] = 0;
    t.nodes[0].par[0].dual[R_D] = 0;
    assert_int_equal(cert_check_tree(b, p, &t, &valid, why, sizeof why, &st, &err), CN_OK);
    assert_false(valid);
    assert_non_null(strstr(why, "case 0 node 0: disjunct 0 not refuted by its LP"));
    cert_tree_clear(&t);
    cert_bounds_free(b);
    prop_free(p);
    net_free(n);
}

/* The document form: ["lp", d, "Y"] round trips through the canonical
 * bytes; malformed Y strings are refused. */
static void test_lp_json(void **state)
{
    (void)state;
    net *n = tiny_net();
    prop *p = tiny_prop("(- 0.5)");
    problem pb = {.n = n, .unsat = p};
    memset(pb.sha, 'a', 64);
    cert_tree t;
    cert_tree_init(&t, 0);
    int d0 = 0;
    cn_err err;
    assert_int_equal(cert_tree_push(&t, CERT_LEAF, 0, 0, 1, &d0, &err), CN_OK);
    double y[R_N] = {0, 0, 0, 0x1.8p-1, 0x1.8p-1};
    cert_par par = {.kind = CERT_PAR_LP, .n_dual = R_N, .dual = y};
    assert_int_equal(cert_tree_set_par(&t, 0, 0, &par, &err), CN_OK);
    size_t len;
    char *bytes = unsat_cert(&pb, &t, NULL, &len);
    assert_non_null(strstr(bytes, "[\"l\",[[\"lp\",0,\",,,0x1.8p-1,0x1.8p-1\"]]]"));
    cert_check_in in = check_in(&pb, NULL);
    in.allow_unsigned = true;
    cert_report rep;
    assert_accepts(bytes, len, &in, &rep);
    assert_int_equal(rep.stats.refutations, 1);
    /* malformed: a zero spelled out, a bad token, a decimal, a wrong count */
    const char *bad[] = {"0x0p+0,,,0x1.8p-1,0x1.8p-1", ",,,x,0x1.8p-1", ",,,0.75,0x1.8p-1",
                         ",,0x1.8p-1,0x1.8p-1"};
    const char *want[] = {"hex floats", "hex floats", "hex floats", "multipliers"};
    for (int k = 0; k < 4; k++) {
        const char *at = strstr(bytes, ",,,0x1.8p-1,0x1.8p-1");
        assert_non_null(at);
        size_t head = (size_t)(at - bytes), old = strlen(",,,0x1.8p-1,0x1.8p-1");
        char *nb = cn_malloc(len + 64);
        memcpy(nb, bytes, head);
        strcpy(nb + head, bad[k]);
        strcat(nb, at + old);
        assert_rejects(nb, strlen(nb), &in, &rep, want[k]);
        cn_free(nb);
    }
    cn_free(bytes);
    cert_tree_clear(&t);
    prop_free(p);
    net_free(n);
}

/* Random multipliers never refute a disjunct that a point meets: on a
 * random network, y0 <= v where v is y0 at the box centre (rounded up). */
static void test_random_duals_never_wrong(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("CN_TEST_SEED", 77)};
    cn_err err;
    int accepted = 0;
    for (int trial = 0; trial < 40; trial++) {
        net *n = random_net(&r, 2, 4, 4, 2);
        double x[2] = {0, 0}, yv[2];
        assert_int_equal(net_forward(n, 1, x, yv, &err), CN_OK);
        char rhs[64];
        snprintf(rhs, sizeof rhs, "%.6f", ceil(yv[0] * 1e6) / 1e6 + 1e-6);
        prop *p = prop_y0_le(rhs);
        cert_bounds *b = cert_bounds_new(n, &err);
        double lo[2] = {-1, -1}, hi[2] = {1, 1};
        assert_int_equal(cert_bounds_region(b, lo, hi, NULL), CERT_REGION_OK);
        int rows = cert_lp_rows(n, prop_case_at(p, 0), 0);
        double *y = cn_mallocarray((size_t)rows, sizeof(double));
        for (int k = 0; k < 500; k++) {
            double scale = ldexp(1.0, (int)(tu_next(&r) % 40) - 20);
            for (int q = 0; q < rows; q++) {
                uint64_t v = tu_next(&r);
                double u = (double)(v >> 11) * 0x1p-53;
                y[q] = (v & 3) ? 0.0 : scale * u; /* >= 0: signs pass the screen */
                if ((v & 4) && q < 8)
                    y[q] = -y[q];              /* the first layer's equalities: free */
            }
            char why[300];
            cert_par par = {.kind = CERT_PAR_LP, .n_dual = rows, .dual = y};
            bool ok = true;
            assert_int_equal(cert_lp_refutes(b, prop_case_at(p, 0), 0, &par, &ok, why,
                                             sizeof why, &err), CN_OK);
            accepted += ok;
        }
        cn_free(y);
        cert_bounds_free(b);
        prop_free(p);
        net_free(n);
    }
    assert_int_equal(accepted, 0);
}

/* The engine on random networks with y0 <= (grid minimum - 0.001), ReLU
 * and input splitting (LP tail 16), the proof log on: every unsat proof
 * becomes a certificate that the checker accepts, and some of them hold
 * LP refutations. */
static void test_engine_lp_leaves(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("CN_TEST_SEED", 5)};
    long lp_items[2] = {0, 0};
    int unsat[2] = {0, 0};
    for (int trial = 0; trial < 12; trial++) {
        int mode = trial % 2;
        problem pb;
        pb.n = random_net(&r, 2, 6 + (int)(tu_next(&r) % 4), 6, 2);
        memset(pb.sha, 'a', 64);
        pb.sha[64] = '\0';
        /* the minimum of y0 over a fine grid of points, minus a little: often
         * unsat, and tight enough to need the LP */
        double m = INFINITY, x[2], yv[2];
        cn_err err;
        for (int i = 0; i <= 64; i++)
            for (int j = 0; j <= 64; j++) {
                x[0] = -1 + i / 32.0;
                x[1] = -1 + j / 32.0;
                assert_int_equal(net_forward(pb.n, 1, x, yv, &err), CN_OK);
                m = fmin(m, yv[0]);
            }
        char rhs[64];
        snprintf(rhs, sizeof rhs, "%.6f", floor((m - 0.001) * 1e6) / 1e6);
        pb.unsat = prop_y0_le(rhs);
        pb.sat = NULL;
        vfy_opts o;
        vfy_opts_init(&o);
        o.timeout_s = 10;
        o.threads = 1;
        o.split = mode ? VFY_SPLIT_INPUT : VFY_SPLIT_RELU;
        o.lp_tail = 16;
        /* optimised bounds close most ReLU-split nodes before every ReLU is
         * fixed: half the ReLU-splitting runs go without, to reach the LPs */
        o.opt_bounds = trial % 4 >= 2;
        o.record_proof = true;
        o.seed = (uint64_t)trial + 1;
        vfy_result res;
        vfy_result_init(&res);
        assert_int_equal(vfy_verify(pb.n, pb.unsat, &o, NULL, &res, &err), CN_OK);
        if (res.verdict == VFY_UNSAT) {
            unsat[mode]++;
            cert_tree trees[1];
            assert_int_equal(vfy_cert_trees(res.proof, 1, trees, &err), CN_OK);
            for (int i = 0; i < trees[0].n_nodes; i++)
                for (int q = 0; trees[0].nodes[i].par && q < trees[0].nodes[i].n_refs; q++)
                    lp_items[mode] += trees[0].nodes[i].par[q].kind == CERT_PAR_LP;
            size_t len;
            char *bytes = unsat_cert(&pb, &trees[0], NULL, &len);
            cert_check_in in = check_in(&pb, NULL);
            in.allow_unsigned = true;
            cert_report rep;
            assert_accepts(bytes, len, &in, &rep);
            cn_free(bytes);
            cert_tree_clear(&trees[0]);
        } else {
            assert_int_not_equal(res.verdict, VFY_UNKNOWN); /* sat or timeout: fine */
        }
        vfy_result_clear(&res);
        prop_free(pb.unsat);
        net_free(pb.n);
    }
    printf("# unsat: %d (ReLU splitting), %d (input splitting); LP refutations in their "
           "certificates: %ld, %ld\n", unsat[0], unsat[1], lp_items[0], lp_items[1]);
    assert_true(lp_items[0] > 0);
    assert_true(lp_items[1] > 0);
}

int main(void)
{
    json_set_alloc_funcs(cn_malloc, cn_free);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_lp),
        cmocka_unit_test(test_lp_json),
        cmocka_unit_test(test_random_duals_never_wrong),
        cmocka_unit_test(test_engine_lp_leaves),
    };
    return cmocka_run_group_tests_name("certs_lp", tests, NULL, NULL);
}

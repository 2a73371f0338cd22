/* test_fold.c — folding that rounds (finding F1).  A layer made by an inexact
 * fold carries an enclosure of the file's real-number values (models.h,
 * net_layer: wrel, wabs, brad); net_eval_enclose must contain the file's
 * exact outputs, net_eval_exact must refuse, the point check must decide
 * only what holds for the whole enclosure, and exact folds must get no
 * enclosure.  Here: the evaluator's radius formula and the findings' own
 * numbers (divfold2, div10); models built in memory against independent
 * references: test_fold_models.c (one program). */
#include "config.h"

#include <math.h>
#include <unistd.h>

#include "models/models.h"
#include "tests/exact.h"
#include "tests/groups.h"
#include "tests/testutil.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

/* ------------------------------------------------------------------------ */
/* The evaluator's radius formula on hand-set enclosures                     */
/* ------------------------------------------------------------------------ */

/* y = W x + b with W = [[1, -2], [0, 3]], b = (1, 0), wrel = 1/2, wabs = 1/4,
 * brad = (1/8, 0), then ReLU, at x = (1, 2): m = (-2, 6) and
 * r_o = brad_o + sum_k |W_ok| (r_k + wrel s_k) + wabs sum_k s_k, s = |x|:
 * r_0 = 1/8 + (1/2 + 2) + 3/4 = 27/8,  r_1 = 3 + 3/4 = 15/4;
 * ReLU: [-43/8, 11/8] -> [0, 11/8], [9/4, 39/4] unchanged.  A second layer
 * y' = 2 y without radius gives [0, 11/4], [9/2, 39/2].  Then a padded 3x3
 * Conv with W = 0, wabs = 1 on a 3x3 input of ones: the radius counts the
 * receptive field inside the image (corner 4, edge 6, centre 9). */
static void test_enclose_formula(void **state)
{
    cn_err err;
    net *n = net_new((net_shape){2, 1, 1});
    net_layer *l = net_add_dense(n, 2, &err);
    double W[4] = {1, -2, 0, 3};
    memcpy(l->W, W, sizeof W);
    l->b[0] = 1;
    l->wrel = 0.5;
    l->wabs = 0.25;
    l->brad = cn_calloc(2, sizeof(double));     /* owned by the net */
    l->brad[0] = 0.125;
    assert_non_null(net_add_relu(n, &err));
    l = net_add_dense(n, 2, &err);
    l->W[0] = l->W[3] = 2;
    assert_true(net_has_enclosure(n));
    mpq_t *x = qv(2), *lo = qv(2), *hi = qv(2), e;
    mpq_init(e);
    mpq_set_ui(x[0], 1, 1);
    mpq_set_ui(x[1], 2, 1);
    assert_int_equal(net_eval_enclose(n, x, lo, hi, &err), CN_OK);
    static const char *const want[4] = {"0", "11/4", "9/2", "39/2"};
    for (int o = 0; o < 2; o++) {
        mpq_set_str(e, want[2 * o], 10);
        assert_true(mpq_equal(lo[o], e));
        mpq_set_str(e, want[2 * o + 1], 10);
        assert_true(mpq_equal(hi[o], e));
    }
    assert_int_equal(net_eval_exact(n, x, lo, &err), CN_EUNSUPPORTED);
    net_free(n);
    qv_free(x, 2);
    qv_free(lo, 2);
    qv_free(hi, 2);

    n = net_new((net_shape){1, 3, 3});
    l = net_add_conv(n, 1, 3, 3, 1, 1, 1, 1, 1, 1, &err);
    l->wabs = 1;
    x = qv(9);
    lo = qv(9);
    hi = qv(9);
    for (int k = 0; k < 9; k++)
        mpq_set_si(x[k], k % 2 ? -1 : 1, 1);
    assert_int_equal(net_eval_enclose(n, x, lo, hi, &err), CN_OK);
    static const int field[9] = {4, 6, 4, 6, 9, 6, 4, 6, 4};
    for (int k = 0; k < 9; k++) {
        mpq_set_si(e, field[k], 1);
        assert_true(mpq_equal(hi[k], e));
        mpq_neg(e, e);
        assert_true(mpq_equal(lo[k], e));
    }
    net_free(n);
    qv_free(x, 9);
    qv_free(lo, 9);
    qv_free(hi, 9);
    mpq_clear(e);
}

/* ------------------------------------------------------------------------ */
/* (a) The findings: divfold2.onnx and div10.onnx at x = (1, 1)              */
/* ------------------------------------------------------------------------ */

static void check_text(const net *n, mpq_t *x, const char *text, bool violated)
{
    prop *p = NULL;
    cn_err err;
    prop_check c;
    assert_int_equal(prop_parse_vnnlib_mem(text, strlen(text), "inline", 0, &p, &err), CN_OK);
    prop_check_init(&c);
    assert_int_equal(prop_check_point(p, n, x, &c, &err), CN_OK);
    if (c.violated != violated)
        fail_msg("%s: violated = %d, expected %d", text, c.violated, violated);
    prop_check_clear(&c);
    prop_free(p);
}

static void test_findings_f1(void **state)
{
    static const struct {
        const char *name;
        const char *truth;             /* the file's y at (1,1), exactly */
        bool ge;                       /* property Y_0 >= r (else Y_0 <= r) */
    } cases[] = {
        /* y = x0/3 - fl(1/3) x1: 1/3 - fl(1/3) = 1/(3 2^54) (findings README) */
        {"divfold2", "1/54043195528445952", true},
        /* y = x0/10 - fl(1/10) x1: 1/10 - fl(1/10) = -1/(5 2^55), the rhs of div10.vnnlib */
        {"div10", "-1/180143985094819840", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, "findings/F1_fold_rounding_unsat/%s.onnx", cases[i].name);
        net *n = NULL;
        cn_err err;
        assert_int_equal(net_load(tu_shared(path), &n, &err), CN_OK);
        net_info in;
        net_get_info(n, &in);
        assert_false(in.fold_exact);
        assert_true(net_has_enclosure(n));
        assert_true(in.max_wrel > 0 && in.max_wrel <= 0x1p-50);
        mpq_t *x = qv(2), *lo = qv(1), *hi = qv(1), truth, r;
        mpq_inits(truth, r, NULL);
        mpq_set_ui(x[0], 1, 1);
        mpq_set_ui(x[1], 1, 1);
        assert_int_equal(mpq_set_str(truth, cases[i].truth, 10), 0);
        /* no single exact value: refused, not the folded network's */
        assert_int_equal(net_eval_exact(n, x, lo, &err), CN_EUNSUPPORTED);
        assert_contains(err.msg, "enclosure");
        assert_int_equal(net_eval_enclose(n, x, lo, hi, &err), CN_OK);
        assert_true(mpq_cmp(lo[0], truth) <= 0 && mpq_cmp(truth, hi[0]) <= 0);
        assert_true(mpq_get_d(hi[0]) - mpq_get_d(lo[0]) < 1e-15);
        /* the folded (nominal) network gives 0 there */
        net *m = nominal(n);
        assert_int_equal(net_eval_exact(m, x, lo, &err), CN_OK);
        assert_int_equal(mpq_sgn(lo[0]), 0);
        assert_int_equal(net_eval_enclose(n, x, lo, hi, &err), CN_OK);
        /* the property (Y_0 >= truth / Y_0 <= truth) holds for the file at
         * (1,1), but not for the whole enclosure: not shown violated, and the
         * slack is the worst case over it */
        snprintf(path, sizeof path, "findings/F1_fold_rounding_unsat/%s.vnnlib", cases[i].name);
        prop *p = NULL;
        assert_int_equal(prop_parse_vnnlib(tu_shared(path), &p, &err), CN_OK);
        prop_check c;
        prop_check_init(&c);
        assert_int_equal(prop_check_point(p, n, x, &c, &err), CN_OK);
        assert_false(c.violated);
        assert_int_equal(c.case_idx, 0);
        assert_int_equal(c.disj_idx, 0);
        assert_int_equal(c.n_margin, 1);
        if (cases[i].ge)
            mpq_sub(r, lo[0], truth);      /* min over the enclosure of y - r */
        else
            mpq_sub(r, truth, hi[0]);      /* min of r - y */
        assert_true(mpq_equal(c.margin[0], r));
        assert_true(mpq_sgn(c.margin[0]) < 0 && c.worst_margin_d < 0);
        /* the nominal network's value 0 does not violate it either */
        assert_int_equal(prop_check_point(p, m, x, &c, &err), CN_OK);
        assert_false(c.violated);
        prop_check_clear(&c);
        /* out of memory at every allocation of the enclosed check: CN_ENOMEM,
         * nothing leaked, the result untouched */
        long k;
        for (k = 1; k < 1000; k++) {
            long live = cn_alloc_live();
            cn_alloc_fail_after(k);
            cn_status st = prop_check_point(p, n, x, &c, &err);
            cn_alloc_fail_after(0);
            if (st == CN_OK) {
                assert_int_equal(c.n_margin, 1);
                prop_check_clear(&c);
                assert_int_equal(cn_alloc_live(), live);
                break;
            }
            assert_int_equal(st, CN_ENOMEM);
            assert_int_equal(c.n_margin, 0);
            assert_int_equal(cn_alloc_live(), live);
        }
        assert_true(k > 3 && k < 1000);
        prop_free(p);
        /* decided when every output in the enclosure agrees */
        static const char *head = "(declare-const X_0 Real)(declare-const X_1 Real)"
                                  "(declare-const Y_0 Real)(assert (>= X_0 1))"
                                  "(assert (<= X_0 1))(assert (>= X_1 1))(assert (<= X_1 1))";
        char text[512];
        snprintf(text, sizeof text, "%s(assert (>= Y_0 -0.000001))", head);
        check_text(n, x, text, true);
        snprintf(text, sizeof text, "%s(assert (<= Y_0 0.000001))", head);
        check_text(n, x, text, true);
        snprintf(text, sizeof text, "%s(assert (>= Y_0 0.000001))", head);
        check_text(n, x, text, false);
        snprintf(text, sizeof text, "%s(assert (or (>= Y_0 0.000001) (<= Y_0 -0.000001)))", head);
        check_text(n, x, text, false);
        /* saving would drop the enclosure */
        char out[512];
        snprintf(out, sizeof out, "%s/certnn_test_fold_%ld.onnx",
                 getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
                 (long)getpid());
        unlink(out);
        assert_int_equal(net_save_onnx(n, out, &err), CN_EUNSUPPORTED);
        assert_contains(err.msg, "enclosure");
        assert_int_equal(access(out, F_OK), -1);
        assert_int_equal(net_save_onnx(m, out, &err), CN_OK);
        unlink(out);
        net_free(m);
        mpq_clears(truth, r, NULL);
        qv_free(x, 2);
        qv_free(lo, 1);
        qv_free(hi, 1);
        net_free(n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enclose_formula),
        cmocka_unit_test(test_findings_f1),
    };
    int failed = cmocka_run_group_tests_name("fold", tests, NULL, NULL);
    return failed + test_fold_models_group();
}

/* test_base.c — the cn_ base: exact decimals, directed conversions, allocation
 * fault injection, hashing, rounding scopes. */
#include "config.h"

#include <fenv.h>
#include <float.h>
#include <math.h>

#include "models/models.h"
#include "tests/testutil.h"

static void check_decimal(const char *s, const char *expect)
{
    mpq_t q, e;
    mpq_init(q);
    mpq_init(e);
    assert_true(cn_mpq_set_decimal(q, s, strlen(s)));
    assert_int_equal(mpq_set_str(e, expect, 10), 0);
    mpq_canonicalize(e);
    if (!mpq_equal(q, e))
        fail_msg("'%s' parsed as %s, expected %s", s, mpq_get_str(NULL, 10, q), expect);
    mpq_clear(q);
    mpq_clear(e);
}

static void test_decimal_exact(void **state)
{
    check_decimal("0.1", "1/10");
    check_decimal("-0.5", "-1/2");
    check_decimal("12", "12");
    check_decimal("3.991125645861615", "3991125645861615/1000000000000000");
    check_decimal("5.8147645177086815e-05", "58147645177086815/1000000000000000000000");
    check_decimal("1E3", "1000");
    check_decimal(".5", "1/2");
    check_decimal("5.", "5");
    check_decimal("+2.50e+1", "25");
    check_decimal("-0", "0");
}

static void test_decimal_rejects(void **state)
{
    const char *bad[] = {"", "-", ".", "e5", "1e", "1e+", "0x10", "1.2.3", "1,5", "nan", "inf",
                         "1 ", "--1", "1e99999999"};
    mpq_t q;
    mpq_init(q);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (cn_mpq_set_decimal(q, bad[i], strlen(bad[i])))
            fail_msg("'%s' was accepted as a decimal", bad[i]);
    mpq_clear(q);
}

/* Directed conversions bracket the rational, tightly. */
static void test_directed_conversion(void **state)
{
    tu_rng r = {tu_seed("directed_conversion", 42)};
    mpq_t q, t;
    mpq_init(q);
    mpq_init(t);
    for (int i = 0; i < 2000; i++) {
        long num = (long)(tu_next(&r) % 2000001) - 1000000;
        unsigned long den = 1 + tu_next(&r) % 999983;
        mpq_set_si(q, num, den);
        mpq_canonicalize(q);
        double lo = cn_mpq_get_d_down(q), hi = cn_mpq_get_d_up(q);
        mpq_set_d(t, lo);
        assert_true(mpq_cmp(t, q) <= 0);
        mpq_set_d(t, hi);
        assert_true(mpq_cmp(t, q) >= 0);
        assert_true(hi == lo || nextafter(lo, INFINITY) == hi);
    }
    /* 0.1 is not a double: the enclosure has width one ulp */
    mpq_set_ui(q, 1, 10);
    assert_true(cn_mpq_get_d_down(q) < cn_mpq_get_d_up(q));
    assert_true(cn_mpq_get_d_down(q) == 0.1 || cn_mpq_get_d_up(q) == 0.1);
    /* beyond the doubles (finding F3: 1e400): the side toward zero is
     * +-DBL_MAX, the other +-inf; below them: 0 and the least subnormal */
    for (int sg = -1; sg <= 1; sg += 2) {
        mpz_t big;
        mpz_init(big);
        mpz_ui_pow_ui(big, 10, 400);
        mpq_set_z(q, big);
        if (sg < 0)
            mpq_neg(q, q);
        double lo = cn_mpq_get_d_down(q), hi = cn_mpq_get_d_up(q);
        assert_true(sg > 0 ? lo == DBL_MAX && hi == INFINITY : lo == -INFINITY && hi == -DBL_MAX);
        mpq_set_z(q, big);
        mpq_inv(q, q); /* 1e-400 */
        if (sg < 0)
            mpq_neg(q, q);
        lo = cn_mpq_get_d_down(q);
        hi = cn_mpq_get_d_up(q);
        assert_true(sg > 0 ? lo == 0.0 && hi == 0x1p-1074 : lo == -0x1p-1074 && hi == 0.0);
        mpz_clear(big);
    }
    mpq_clear(q);
    mpq_clear(t);
}

static void test_alloc_injection(void **state)
{
    long live = cn_alloc_live();
    cn_alloc_fail_after(2);
    void *a = cn_malloc(10);
    void *b = cn_malloc(10);
    void *c = cn_malloc(10);
    assert_non_null(a);
    assert_null(b);
    assert_non_null(c);
    assert_int_equal(cn_alloc_live(), live + 2);
    cn_free(a);
    cn_free(c);
    assert_int_equal(cn_alloc_live(), live);
    assert_null(cn_mallocarray(SIZE_MAX / 2, 4)); /* overflow is a failure, not a wrap */
}

static void test_sha256(void **state)
{
    char hex[65];
    cn_sha256_hex((const unsigned char *)"abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_read_file_errors(void **state)
{
    cn_err err;
    unsigned char *d = (unsigned char *)"unchanged";
    size_t n = 7;
    assert_int_equal(cn_read_file("/nonexistent/x.onnx", &d, &n, &err), CN_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/x.onnx"));
    assert_string_equal((char *)d, "unchanged"); /* out-parameters untouched on failure */
    assert_int_equal(n, 7);
}

static void test_round_scope(void **state)
{
    volatile double one = 1.0, three = 3.0;
    int saved = cn_round_push(FE_UPWARD);
    double up = one / three;
    cn_round_pop(saved);
    saved = cn_round_push(FE_DOWNWARD);
    double down = one / three;
    cn_round_pop(saved);
    assert_int_equal(fegetround(), FE_TONEAREST);
    assert_true(down < up);
    assert_true(nextafter(down, 1.0) == up);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decimal_exact),   cmocka_unit_test(test_decimal_rejects),
        cmocka_unit_test(test_directed_conversion), cmocka_unit_test(test_alloc_injection),
        cmocka_unit_test(test_sha256),          cmocka_unit_test(test_read_file_errors),
        cmocka_unit_test(test_round_scope),
    };
    return cmocka_run_group_tests_name("base", tests, NULL, NULL);
}

/* eval_mpfr.c — the exact meaning of the smooth activations (NET_SIGMOID,
 * NET_TANH) at a point, as a rigorous rational enclosure.
 *
 * sigmoid(z) = 1 / (1 + exp(-z)) and tanh(z) are not rational functions, so
 * a network with such layers has no exact rational value at a rational x.
 * The exact evaluator (eval.c) already carries every value as an interval
 * [m - r, m + r] of rationals (midpoint-radius; affine layers are exact on
 * the midpoint and widen the radius only for a layer's enclosure).  An
 * activation f of this file is increasing on the whole line, so
 *
 *     f([lo, hi])  is contained in  [ f_down(lo_down), f_up(hi_up) ]
 *
 * where lo_down is lo rounded down to prec bits (mpfr_set_q, MPFR_RNDD),
 * hi_up is hi rounded up, and f_down / f_up are computed with every MPFR
 * operation rounded in the direction that keeps the inequality:
 *
 *   sigmoid_down(z) = 1 / (1 + exp(-z))  with exp and + rounded UP and the
 *                     division rounded DOWN (a larger denominator gives a
 *                     smaller quotient; -z is exact);
 *   sigmoid_up(z)   the same with every direction reversed;
 *   tanh_down/up    mpfr_tanh with MPFR_RNDD / MPFR_RNDU (MPFR's functions
 *                   are correctly rounded in the given direction).
 *
 * An MPFR number is a dyadic rational and converts to mpq_t exactly
 * (mpfr_get_q), so the new interval is again exact rationals.  Nothing here
 * depends on the FPU's rounding mode.  The width of the enclosure shrinks
 * with prec; prop_check_point raises prec until its comparisons are decided.
 */
#include "config.h"

#include <mpfr.h>

#include "models/models_int.h"

/* f rounded in direction rnd at x (x and r distinct, same precision). */
static void smooth_round(mpfr_t r, const mpfr_t x, net_op op, mpfr_rnd_t rnd)
{
    if (op == NET_TANH) {
        mpfr_tanh(r, x, rnd);
        return;
    }
    /* rev: the direction that makes the denominator 1 + exp(-x) err the
     * other way from the quotient */
    mpfr_rnd_t rev = rnd == MPFR_RNDD ? MPFR_RNDU : MPFR_RNDD;
    mpfr_neg(r, x, MPFR_RNDN);                     /* exact */
    mpfr_exp(r, r, rev);
    mpfr_add_ui(r, r, 1, rev);
    mpfr_ui_div(r, 1, r, rnd);
}

void net__smooth_point(net_op op, long prec, const mpq_t lo, const mpq_t hi, mpq_t flo,
                       mpq_t fhi)
{
    CN_REQUIRE(net_op_smooth(op) && prec >= MPFR_PREC_MIN && prec <= 1 << 20,
               "a smooth activation and a precision");
    mpfr_t x, r;
    mpfr_inits2((mpfr_prec_t)prec, x, r, (mpfr_ptr)0);
    mpfr_set_q(x, lo, MPFR_RNDD);
    smooth_round(r, x, op, MPFR_RNDD);
    mpfr_get_q(flo, r);
    mpfr_set_q(x, hi, MPFR_RNDU);
    smooth_round(r, x, op, MPFR_RNDU);
    mpfr_get_q(fhi, r);
    mpfr_clears(x, r, (mpfr_ptr)0);
}

void net__smooth_q(net_op op, long prec, int n, mpq_t *m, mpq_t *r, mpq_t *m2, mpq_t *r2)
{
    mpq_t lo, hi;
    mpq_inits(lo, hi, NULL);
    for (int k = 0; k < n; k++) {
        mpq_sub(lo, m[k], r[k]);
        mpq_add(hi, m[k], r[k]);
        net__smooth_point(op, prec, lo, hi, lo, hi);
        mpq_add(m2[k], lo, hi);
        mpq_div_2exp(m2[k], m2[k], 1);                 /* midpoint */
        mpq_sub(r2[k], hi, lo);
        mpq_div_2exp(r2[k], r2[k], 1);                 /* radius >= 0 */
    }
    mpq_clears(lo, hi, NULL);
}

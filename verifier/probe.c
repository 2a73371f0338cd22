/* probe.c — robustness probes on the L-infinity eps-ball of a sample (see
 * verifier.h, "Robustness probes"): is the sample itself classified
 * correctly, can the ball be proven robust (bounds, then optionally the
 * complete engine), does PGD find a confirmed misclassified point in it.
 * Each answer is sound: ROBUST only from a proof, ATTACKED only with a point
 * checked in exact arithmetic. */
#include "config.h"

#include "attacks/attacks.h"
#include "verifier/verifier.h"

/* The ball [x0 - eps, x0 + eps] ∩ [0, 1] with the property "label wins". */
static cn_status ball(const vfy_prober *pr, mpq_t *x0, int label, const mpq_t eps, prop **p,
                      cn_err *err)
{
    mpq_t lo, hi;
    mpq_init(lo);
    mpq_init(hi);
    mpq_set_ui(hi, 1, 1);
    cn_status s = prop_eps_ball(net_in_size(pr->n), x0, eps, lo, hi, net_out_size(pr->n), label,
                                p, err);
    mpq_clear(lo);
    mpq_clear(hi);
    return s;
}

cn_status vfy_probe_clean(const vfy_prober *pr, mpq_t *x0, int label, bool *correct,
                          cn_err *err)
{
    mpq_t z;
    mpq_init(z);
    prop *p = NULL;
    prop_check c;
    prop_check_init(&c);
    cn_status s = ball(pr, x0, label, z, &p, err);
    if (s == CN_OK)
        s = prop_check_point(p, pr->n, x0, &c, err);
    if (s == CN_OK)
        *correct = !c.violated;
    prop_check_clear(&c);
    prop_free(p);
    mpq_clear(z);
    return s;
}

cn_status vfy_probe_certify(const vfy_prober *pr, mpq_t *x0, int label, const mpq_t eps,
                            vfy_probe_verdict *v, cn_err *err)
{
    prop *p = NULL;
    bool proven = false;
    vfy_probe_verdict out = VFY_PROBE_OPEN;
    cn_status s = ball(pr, x0, label, eps, &p, err);
    if (s == CN_OK)
        s = vfy_bounds_prop(pr->n, pr->bc, &pr->bounds, p, &proven, NULL, err);
    if (s == CN_OK && proven)
        out = VFY_PROBE_ROBUST;
    if (s == CN_OK && !proven && pr->complete && !(pr->stop && *pr->stop)) {
        vfy_result r;
        vfy_result_init(&r);
        s = vfy_verify(pr->n, p, &pr->engine, pr->stop, &r, err);
        if (s == CN_OK && r.verdict == VFY_UNSAT)
            out = VFY_PROBE_ROBUST;
        else if (s == CN_OK && r.verdict == VFY_SAT)
            out = VFY_PROBE_ATTACKED;
        vfy_result_clear(&r);
    }
    prop_free(p);
    if (s == CN_OK)
        *v = out;
    return s;
}

cn_status vfy_probe_attack(const vfy_prober *pr, mpq_t *x0, int label, const mpq_t eps,
                           vfy_probe_verdict *v, cn_err *err)
{
    prop *p = NULL;
    atk_result r;
    atk_result_init(&r);
    cn_status s = ball(pr, x0, label, eps, &p, err);
    if (s == CN_OK)
        s = atk_run(pr->n, p, &pr->pgd, &r, err);
    if (s == CN_OK)
        *v = r.found ? VFY_PROBE_ATTACKED : VFY_PROBE_OPEN;
    atk_result_clear(&r);
    prop_free(p);
    return s;
}

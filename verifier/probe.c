/* probe.c — robustness probes on the L-infinity eps-ball of a sample (see
 * verifier.h, "Robustness probes"): is the sample itself classified
 * correctly, can the ball be proven robust (one or several bound methods in
 * turn, then optionally the complete engine), does PGD find a confirmed misclassified point in it.
 * Each answer is sound: ROBUST only from a proof, ATTACKED only with a point
 * checked in exact arithmetic. */
#include "config.h"

#include <string.h>

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

bool vfy_prober_set_bounds(vfy_prober *pr, const char *list)
{
    bnd_method m[VFY_PROBE_METHODS];
    int k = 0;
    const char *s = list;
    for (;;) {
        const char *c = strchr(s, ',');
        size_t len = c ? (size_t)(c - s) : strlen(s);
        char name[16];
        if (k == VFY_PROBE_METHODS || len == 0 || len >= sizeof name)
            return false;
        memcpy(name, s, len);
        name[len] = '\0';
        if (!bnd_method_parse(name, &m[k]))
            return false;
        for (int j = 0; j < k; j++)
            if (m[j] == m[k])
                return false;
        k++;
        if (!c)
            break;
        s = c + 1;
    }
    bnd_opts_init(&pr->bounds, m[0]);
    for (int j = 1; j < k; j++)
        bnd_opts_init(&pr->more[j - 1], m[j]);
    pr->n_more = k - 1;
    return true;
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

cn_status vfy_probe_prove(const vfy_prober *pr, mpq_t *x0, int label, const mpq_t eps,
                          bool complete, vfy_probe_verdict *v, const char **by, cn_err *err)
{
    CN_REQUIRE(pr->n_more >= 0 && pr->n_more < VFY_PROBE_METHODS, "0 .. 3 further methods");
    prop *p = NULL;
    bool proven = false;
    vfy_probe_verdict out = VFY_PROBE_OPEN;
    const char *who = NULL;
    cn_status s = ball(pr, x0, label, eps, &p, err);
    for (int m = 0; s == CN_OK && !proven && m <= pr->n_more; m++) {
        const bnd_opts *o = m ? &pr->more[m - 1] : &pr->bounds;
        s = vfy_bounds_prop(pr->n, pr->bc, o, p, &proven, NULL, err);
        if (s == CN_OK && proven)
            who = bnd_method_name(o->method);
    }
    if (s == CN_OK && proven)
        out = VFY_PROBE_ROBUST;
    if (s == CN_OK && !proven && complete && !(pr->stop && *pr->stop)) {
        vfy_result r;
        vfy_result_init(&r);
        s = vfy_verify(pr->n, p, &pr->engine, pr->stop, &r, err);
        if (s == CN_OK && r.verdict == VFY_UNSAT)
            out = VFY_PROBE_ROBUST;
        else if (s == CN_OK && r.verdict == VFY_SAT)
            out = VFY_PROBE_ATTACKED;
        if (out != VFY_PROBE_OPEN)
            who = "complete";
        vfy_result_clear(&r);
    }
    prop_free(p);
    if (s == CN_OK) {
        *v = out;
        if (by)
            *by = who;
    }
    return s;
}

cn_status vfy_probe_certify(const vfy_prober *pr, mpq_t *x0, int label, const mpq_t eps,
                            vfy_probe_verdict *v, cn_err *err)
{
    return vfy_probe_prove(pr, x0, label, eps, pr->complete, v, NULL, err);
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

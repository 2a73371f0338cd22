/* softmax.c — properties over a network whose ONNX graph ends in Softmax.
 *
 * The loader keeps a final Softmax as a mark (net_softmax_output) and the
 * layers compute the logits y.  softmax(y)_i = exp(y_i) / sum_k exp(y_k)
 * with one denominator for all i and exp strictly increasing, so
 *     softmax_i <= softmax_j   iff   y_i <= y_j      (and likewise for <).
 * An atom  c Y_i - c Y_j <= 0  (c != 0, i != j) therefore holds for the
 * softmax outputs exactly when it holds for the logits, and a property made
 * only of such atoms has the same answer on either.  Any other atom — a
 * constant on the right, one output alone, unequal coefficients, three or
 * more outputs — may not, and is refused.
 */
#include "config.h"

#include "models/models_int.h"

bool net_softmax_output(const net *n)
{
    CN_REQUIRE(n, "network");
    return n->softmax_out;
}

/* Is l  c y_i - c y_j <= 0  with c != 0 and i != j? */
static bool pairwise(const prop_lin *l)
{
    if (l->n != 2 || mpq_sgn(l->rhs) != 0 || l->var[0] == l->var[1] ||
        mpq_sgn(l->coef[0]) == 0)
        return false;
    mpq_t t;
    mpq_init(t);
    mpq_neg(t, l->coef[1]);
    bool ok = mpq_equal(t, l->coef[0]) != 0;
    mpq_clear(t);
    return ok;
}

cn_status prop_softmax_ok(const prop *p, const net *n, cn_err *err)
{
    CN_REQUIRE(p && n, "property and network");
    if (!n->softmax_out)
        return CN_OK;
    for (int c = 0; c < p->n_cases; c++) {
        const prop_case *pc = &p->cases[c];
        for (int d = 0; d < pc->n_disj; d++)
            for (int a = 0; a < pc->disj[d].n; a++)
                if (!pairwise(&pc->disj[d].atoms[a]))
                    return cn_fail(
                        err, CN_EUNSUPPORTED,
                        "%s: the network ends in Softmax, so its outputs may only be compared "
                        "with each other (Y_i <= Y_j); case %d, disjunct %d, atom %d has a "
                        "constant or is not a comparison of two outputs",
                        p->name, c, d, a);
    }
    return CN_OK;
}

/* test_act_split.c — branch and bound that splits sigmoid / tanh neurons'
 * pre-activation intervals (--split act): on random small sigmoid and tanh
 * networks over many boxes the engine never says unsat where dense
 * sampling with the exact MPFR enclosure finds a decided violation, every
 * counterexample is confirmed exactly, activation splitting closes cases
 * the root bound leaves open, and every unsat proof is accepted by the
 * certificate checker; tampered "a" nodes (split point outside the path's
 * interval or not finite, neuron out of range or on a ReLU network, a
 * child's subtree dropped, the children swapped) are refused. */
#include "config.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bounds/bounds.h"
#include "certs/certs.h"
#include "models/models.h"
#include "tests/certfix.h"
#include "tests/engfix.h"
#include "tests/testutil.h"
#include "verifier/verifier.h"

/* in -> [dense width -> act]^hidden -> dense out, act sigmoid or tanh
 * (float weights in [-2, 2], biases in [-1, 1]). */
static net *smooth_net(tu_rng *r, int in, int out, int hidden, int width)
{
    cn_err err;
    net *n = net_new((net_shape){in, 1, 1});
    int w = in;
    for (int k = 0; k <= hidden; k++) {
        int o = k == hidden ? out : width;
        net_layer *l = net_add_dense(n, o, &err);
        assert_non_null(l);
        for (int i = 0; i < o * w; i++)
            l->W[i] = (float)(4.0 * tu_unif(r) - 2.0);
        for (int i = 0; i < o; i++)
            l->b[i] = (float)(2.0 * tu_unif(r) - 1.0);
        w = o;
        if (k == hidden)
            break;
        assert_non_null(net_add_act(n, tu_unif(r) < 0.5 ? NET_SIGMOID : NET_TANH, &err));
    }
    return n;
}

static int n_smooth_neurons(const net *n)
{
    int s = 0;
    for (int i = 0; i < net_n_layers(n); i++)
        if (net_op_smooth(net_layer_at(n, i)->op))
            s += net_layer_at(n, i)->in;
    return s;
}

/* The property "Y_i >= c" over the box lo, hi (c a dyadic double: exact in
 * decimal). */
static prop *box_prop(int nin, int nout, const double *lo, const double *hi, int i, double c)
{
    char text[4096];
    int pos = 0;
    for (int k = 0; k < nin; k++)
        pos += snprintf(text + pos, sizeof text - (size_t)pos, "(declare-const X_%d Real)\n", k);
    for (int k = 0; k < nout; k++)
        pos += snprintf(text + pos, sizeof text - (size_t)pos, "(declare-const Y_%d Real)\n", k);
    for (int k = 0; k < nin; k++)
        pos += snprintf(text + pos, sizeof text - (size_t)pos,
                        "(assert (>= X_%d %.17g))\n(assert (<= X_%d %.17g))\n", k, lo[k], k,
                        hi[k]);
    pos += snprintf(text + pos, sizeof text - (size_t)pos, "(assert (>= Y_%d %.17g))\n", i, c);
    prop *p = NULL;
    cn_err err;
    if (prop_parse_vnnlib_mem(text, (size_t)pos, "act.vnnlib", 0, &p, &err) != CN_OK)
        fail_msg("parse: %s", err.msg);
    return p;
}

/* Samples the box (corners of a grid and random points) with the MPFR
 * enclosure: whether some point has Y_i >= c decided (its enclosure's
 * lower end >= c); *ymax: the largest double estimate of Y_i seen. */
static bool sample_violation(const net *n, tu_rng *r, const double *lo, const double *hi, int i,
                             double c, int count, double *ymax)
{
    int nin = net_in_size(n), nout = net_out_size(n);
    mpq_t *xq = malloc((size_t)nin * sizeof(mpq_t)), *ylo = malloc((size_t)nout * sizeof(mpq_t)),
          *yhi = malloc((size_t)nout * sizeof(mpq_t));
    for (int k = 0; k < nin; k++)
        mpq_init(xq[k]);
    for (int k = 0; k < nout; k++) {
        mpq_init(ylo[k]);
        mpq_init(yhi[k]);
    }
    mpq_t cq;
    mpq_init(cq);
    bool have_c = isfinite(c); /* else only the maximum */
    if (have_c)
        mpq_set_d(cq, c);
    bool found = false;
    *ymax = -INFINITY;
    cn_err err;
    for (int s = 0; s < count && !found; s++) {
        for (int k = 0; k < nin; k++) {
            double u = s < (1 << nin) ? (double)((s >> k) & 1) : tu_unif(r);
            mpq_set_d(xq[k], lo[k] + u * (hi[k] - lo[k]));
        }
        assert_int_equal(net_eval_enclose(n, xq, ylo, yhi, &err), CN_OK);
        double v = mpq_get_d(yhi[i]);
        if (v > *ymax)
            *ymax = v;
        found = have_c && mpq_cmp(ylo[i], cq) >= 0;
    }
    mpq_clear(cq);
    for (int k = 0; k < nin; k++)
        mpq_clear(xq[k]);
    for (int k = 0; k < nout; k++) {
        mpq_clear(ylo[k]);
        mpq_clear(yhi[k]);
    }
    free(xq);
    free(ylo);
    free(yhi);
    return found;
}

/* The root's bound of -Y_i (plain CROWN, as the engine's first bound):
 * whether it refutes Y_i >= c at once. */
static bool root_closes(const net *n, const double *lo, const double *hi, int i, double c)
{
    cn_err err;
    bnd_ctx *bc = bnd_ctx_new(n, &err);
    assert_non_null(bc);
    bnd_opts o;
    bnd_opts_init(&o, BND_CROWN);
    bnd_region rg = {.lo = lo, .hi = hi};
    double C[8] = {0}, lb;
    assert_true(net_out_size(n) <= 8);
    C[i] = -1.0; /* -Y_i >= lb: Y_i >= c is refuted when lb > -c */
    assert_int_equal(bnd_run(bc, &o, &rg, 1, C, NULL, &lb, NULL, &err), CN_OK);
    bnd_ctx_free(bc);
    return lb > -c;
}

/* Index one past node i's subtree in preorder. */
static int subtree_end(const cert_tree *t, int i)
{
    int open = 1;
    while (open > 0) {
        cert_kind k = t->nodes[i].kind;
        open += (k == CERT_SPLIT_INPUT || k == CERT_SPLIT_RELU || k == CERT_SPLIT_ACT) ? 1 : -1;
        i++;
    }
    return i;
}

static bool tree_valid(const net *n, const prop *p, const cert_tree *t, char *why, size_t len)
{
    cn_err err;
    bool valid = false;
    assert_int_equal(vfy_cert_selfcheck(n, p, 1, t, &valid, why, len, &err), CN_OK);
    return valid;
}

typedef struct {
    int closed_by_split, unsat, sat, swaps_refused, act_nodes;
} tally;

/* Tampered copies of an unsat proof t with "a" nodes: each must be refused. */
static void tamper(const net *n, const prop *p, cert_tree *t, tally *ty)
{
    char why[512];
    int ns = n_smooth_neurons(n);
    for (int i = 0; i < t->n_nodes; i++) {
        cert_node *nd = &t->nodes[i];
        if (nd->kind != CERT_SPLIT_ACT)
            continue;
        ty->act_nodes++;
        double at = nd->at;
        int dim = nd->dim;
        nd->at = INFINITY;
        assert_false(tree_valid(n, p, t, why, sizeof why));
        assert_non_null(strstr(why, "not finite"));
        nd->at = NAN;
        assert_false(tree_valid(n, p, t, why, sizeof why));
        nd->at = at;
        nd->dim = ns;
        assert_false(tree_valid(n, p, t, why, sizeof why));
        assert_non_null(strstr(why, "sigmoid/tanh neuron"));
        nd->dim = -1;
        assert_false(tree_valid(n, p, t, why, sizeof why));
        nd->dim = dim;
        /* both children's subtrees, shallow copies of the nodes */
        int s0 = i + 1, s1 = subtree_end(t, s0), e = subtree_end(t, s1);
        cert_node *orig = t->nodes, *cp = malloc(sizeof(cert_node) * (size_t)t->n_nodes);
        int nn = t->n_nodes;
        /* side 1 dropped */
        memcpy(cp, orig, sizeof(cert_node) * (size_t)s1);
        memcpy(cp + s1, orig + e, sizeof(cert_node) * (size_t)(nn - e));
        t->nodes = cp;
        t->n_nodes = nn - (e - s1);
        assert_false(tree_valid(n, p, t, why, sizeof why));
        /* side 0 dropped */
        memcpy(cp, orig, sizeof(cert_node) * (size_t)s0);
        memcpy(cp + s0, orig + s1, sizeof(cert_node) * (size_t)(nn - s1));
        t->n_nodes = nn - (s1 - s0);
        assert_false(tree_valid(n, p, t, why, sizeof why));
        /* the children swapped: refused where a refutation needed its side */
        memcpy(cp, orig, sizeof(cert_node) * (size_t)s0);
        memcpy(cp + s0, orig + s1, sizeof(cert_node) * (size_t)(e - s1));
        memcpy(cp + s0 + (e - s1), orig + s0, sizeof(cert_node) * (size_t)(s1 - s0));
        memcpy(cp + e, orig + e, sizeof(cert_node) * (size_t)(nn - e));
        t->n_nodes = nn;
        ty->swaps_refused += !tree_valid(n, p, t, why, sizeof why);
        t->nodes = orig;
        free(cp);
        /* a nested split of the same neuron outside the path's interval:
         * side 0 of this node has pre-activation <= at */
        if (orig[s0].kind == CERT_SPLIT_ACT && orig[s0].dim == dim) {
            double in = orig[s0].at;
            orig[s0].at = at + 1.0;
            assert_false(tree_valid(n, p, t, why, sizeof why));
            assert_non_null(strstr(why, "strictly inside"));
            orig[s0].at = in;
        }
    }
    assert_true(tree_valid(n, p, t, why, sizeof why)); /* restored */
}

/* One instance: a random box, Y_i >= c with c near the sampled maximum. */
static void instance(tu_rng *r, int t, tally *ty)
{
    int nin = 4 + (int)(tu_next(r) % 3), nout = 2, hidden = 2 + (int)(tu_next(r) % 2),
        width = 4 + (int)(tu_next(r) % 5);
    net *n = smooth_net(r, nin, nout, hidden, width);
    double lo[8], hi[8];
    double eps = 0.05 + 0.3 * tu_unif(r);
    for (int k = 0; k < nin; k++) {
        double x = 2 * tu_unif(r) - 1;
        lo[k] = x - eps;
        hi[k] = x + eps;
    }
    int i = (int)(tu_next(r) % (unsigned)nout);
    double ymax;
    (void)sample_violation(n, r, lo, hi, i, INFINITY, 64, &ymax);
    /* c: the sampled maximum moved by up to +-0.15 (a multiple of 2^-12) */
    double c = ldexp(round(ldexp(ymax + 0.3 * tu_unif(r) - 0.1, 12)), -12);
    prop *p = box_prop(nin, nout, lo, hi, i, c);
    vfy_opts o = engine_opts(1, 20);
    o.split = t % 4 ? VFY_SPLIT_ACT : VFY_SPLIT_AUTO;
    o.input_split_max_dims = 0;     /* 4-6 inputs taken as many: --split auto is act */
    o.max_nodes = 1500;
    o.attack_s = 0.0;
    o.record_proof = true;
    o.seed = (uint64_t)t + 1;
    vfy_result res;
    vfy_result_init(&res);
    cn_err err;
    assert_int_equal(vfy_verify(n, p, &o, NULL, &res, &err), CN_OK);
    double ym;
    bool viol = sample_violation(n, r, lo, hi, i, c, 400, &ym);
    if (res.verdict == VFY_UNSAT) {
        if (viol)
            fail_msg("instance %d: unsat, but a sampled point has Y_%d >= %.17g decided", t, i,
                     c);
        ty->unsat++;
        check_proof(res.proof, p);
        check_proof_cert(res.proof, n, p, NULL);
        if (!root_closes(n, lo, hi, i, c)) {
            ty->closed_by_split++;
            cert_tree tr;
            assert_int_equal(vfy_cert_trees(res.proof, 1, &tr, &err), CN_OK);
            tamper(n, p, &tr, ty);
            cert_tree_clear(&tr);
        }
    } else if (res.verdict == VFY_SAT) {
        assert_true(res.check.violated); /* confirmed exactly (MPFR, decided) */
        ty->sat++;
    }
    vfy_result_clear(&res);
    prop_free(p);
    net_free(n);
}

static void test_act_split_sound(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("act_split_sound", 25)};
    tally ty = {0};
    int N = 40;
    for (int t = 0; t < N; t++)
        instance(&r, t, &ty);
    print_message("act split: %d instances, %d unsat (%d left open by the root bound), %d sat, "
                  "%d activation splits tampered, %d swaps refused\n", N, ty.unsat,
                  ty.closed_by_split, ty.sat, ty.act_nodes, ty.swaps_refused);
    assert_true(ty.closed_by_split > 0);
    assert_true(ty.act_nodes > 0);
    assert_true(ty.swaps_refused > 0);
}

/* An "a" node on a network without sigmoid / tanh neurons (a ReLU net) is
 * refused, whatever its refutations. */
static void test_act_split_on_relu_net(void **state)
{
    (void)state;
    problem pb;
    problem_init(&pb);
    cert_tree t;
    cert_tree_init(&t, 0);
    cn_err err;
    assert_int_equal(cert_tree_push(&t, CERT_SPLIT_ACT, 0, 0.0, 0, NULL, &err), CN_OK);
    assert_int_equal(cert_tree_push(&t, CERT_LEAF, 0, 0.0, 0, NULL, &err), CN_OK);
    assert_int_equal(cert_tree_push(&t, CERT_LEAF, 0, 0.0, 0, NULL, &err), CN_OK);
    cert_bounds *b = cert_bounds_new(pb.n, &err);
    assert_non_null(b);
    bool valid = true;
    char why[512];
    cert_stats st = {0};
    assert_int_equal(cert_check_tree(b, pb.unsat, &t, &valid, why, sizeof why, &st, &err),
                     CN_OK);
    assert_false(valid);
    assert_non_null(strstr(why, "sigmoid/tanh neuron 0: the network has 0"));
    cert_bounds_free(b);
    cert_tree_clear(&t);
    problem_clear(&pb);
}

/* The bound pass with a restriction: the neuron's interval is narrowed
 * (bnd_layer_bounds), an empty one makes the region infeasible, and the
 * checker agrees (cert_bounds_region_act). */
static void test_restriction_narrows(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("act_restriction", 7)};
    cn_err err;
    for (int t = 0; t < 20; t++) {
        net *n = smooth_net(&r, 3, 2, 2, 5);
        int ns = n_smooth_neurons(n);
        double lo[3], hi[3];
        for (int k = 0; k < 3; k++) {
            lo[k] = tu_unif(&r) - 1;
            hi[k] = lo[k] + 0.5;
        }
        bnd_ctx *bc = bnd_ctx_new(n, &err);
        bnd_opts o;
        bnd_opts_init(&o, BND_CROWN);
        bnd_region rg = {.lo = lo, .hi = hi};
        double dummy[1];
        assert_int_equal(bnd_run(bc, &o, &rg, 0, NULL, NULL, dummy, NULL, &err), CN_OK);
        const double *l1, *u1;
        bnd_layer_bounds(bc, 1, &l1, &u1); /* the first smooth layer's input */
        double l = l1[0], u = u1[0], s = 0.5 * (l + u);
        double *alo = malloc(sizeof(double) * (size_t)ns);
        double *ahi = malloc(sizeof(double) * (size_t)ns);
        for (int j = 0; j < ns; j++) {
            alo[j] = -INFINITY;
            ahi[j] = INFINITY;
        }
        ahi[0] = s;
        rg.act_lo = alo;
        rg.act_hi = ahi;
        bnd_result res;
        assert_int_equal(bnd_run(bc, &o, &rg, 0, NULL, NULL, dummy, &res, &err), CN_OK);
        assert_false(res.infeasible);
        bnd_layer_bounds(bc, 1, &l1, &u1);
        assert_true(u1[0] <= s && l1[0] == l);
        cert_bounds *cb = cert_bounds_new(n, &err);
        assert_int_equal(cert_bounds_region_act(cb, lo, hi, NULL, alo, ahi), CERT_REGION_OK);
        const double *cl, *cu;
        cert_bounds_layer(cb, 1, &cl, &cu);
        assert_true(cu[0] <= s);
        alo[0] = u + 1.0; /* above every value the neuron takes: empty */
        ahi[0] = INFINITY;
        assert_int_equal(bnd_run(bc, &o, &rg, 0, NULL, NULL, dummy, &res, &err), CN_OK);
        assert_true(res.infeasible);
        assert_int_equal(cert_bounds_region_act(cb, lo, hi, NULL, alo, ahi), CERT_REGION_EMPTY);
        cert_bounds_free(cb);
        free(alo);
        free(ahi);
        bnd_ctx_free(bc);
        net_free(n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restriction_narrows),
        cmocka_unit_test(test_act_split_on_relu_net),
        cmocka_unit_test(test_act_split_sound),
    };
    return run_filtered_group("act_split", tests, sizeof tests / sizeof tests[0]);
}

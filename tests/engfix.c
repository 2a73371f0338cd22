/* engfix.c — the engine tests' fixtures (engfix.h). */
#include "config.h"

#include <fnmatch.h>
#include <math.h>
#include <stdio.h>

#include "tests/engfix.h"

void load_instance(const char *net_rel, const char *prop_rel, net **n, prop **p)
{
    cn_err err;
    if (net_load(tu_shared(net_rel), n, &err) != CN_OK)
        fail_msg("load %s: %s", net_rel, err.msg);
    if (prop_parse_vnnlib(tu_shared(prop_rel), p, &err) != CN_OK)
        fail_msg("parse %s: %s", prop_rel, err.msg);
}

bnd_ctx *relu_box_bounds(const net *n, const double *lo, const double *hi,
                         const double *pl[ENG_MAX_LAYERS], const double *ph[ENG_MAX_LAYERS])
{
    cn_err err;
    bnd_ctx *bc = bnd_ctx_new(n, &err);
    assert_non_null(bc);
    bnd_opts bo;
    bnd_opts_init(&bo, BND_INTERVAL);
    bnd_region reg = {lo, hi, NULL, NULL, NULL, NULL, NULL};
    assert_int_equal(bnd_run(bc, &bo, &reg, 0, NULL, NULL, NULL, NULL, &err), CN_OK);
    assert_true(net_n_layers(n) <= ENG_MAX_LAYERS);
    for (int i = 0; i < ENG_MAX_LAYERS; i++)
        pl[i] = ph[i] = NULL;
    for (int i = 0; i < net_n_layers(n); i++)
        if (net_layer_at(n, i)->op == NET_RELU)
            bnd_layer_bounds(bc, i, &pl[i], &ph[i]);
    return bc;
}

/* Structural check of a proof log: every case has one root; every node is a
 * split with two children or a leaf; along every root-to-leaf path each
 * disjunct of the case is refuted somewhere.  Returns the number of leaves. */
int check_proof(const vfy_proof *pf, const prop *p)
{
    assert_non_null(pf);
    int leaves = 0, roots = 0, lp_leaves = 0;
    uint64_t *mask = calloc((size_t)pf->n_nodes + 1, sizeof *mask); /* refuted here */
    for (int r = 0; r < pf->n_refs; r++) {
        assert_true(pf->refs[r].node >= 0 && pf->refs[r].node < pf->n_nodes);
        assert_true(pf->refs[r].disj >= 0 && pf->refs[r].disj < 64);
        mask[pf->refs[r].node] |= 1ull << pf->refs[r].disj;
    }
    for (int i = 0; i < pf->n_nodes; i++) {
        const vfy_proof_node *nd = &pf->nodes[i];
        if (nd->parent < 0)
            roots++;
        else
            assert_int_equal(pf->nodes[nd->parent].child[nd->side], i);
        if (nd->kind == VFY_PN_SPLIT_INPUT || nd->kind == VFY_PN_SPLIT_RELU ||
            nd->kind == VFY_PN_SPLIT_ACT) {
            assert_true(nd->child[0] >= 0 && nd->child[1] >= 0);
            continue;
        }
        if (!(nd->kind == VFY_PN_LEAF_BOUNDS || nd->kind == VFY_PN_LEAF_EMPTY ||
              nd->kind == VFY_PN_LEAF_LP))
            fail_msg("proof node %d (case %d, parent %d) is neither split nor a leaf", i,
                     nd->case_idx, nd->parent);
        leaves++;
        if (nd->kind == VFY_PN_LEAF_LP)
            lp_leaves++;
        if (nd->kind == VFY_PN_LEAF_EMPTY)
            continue;
        int n_disj = prop_case_at(p, nd->case_idx)->n_disj;
        assert_true(n_disj <= 64);
        uint64_t got = 0;
        for (int a = i; a >= 0; a = pf->nodes[a].parent)
            got |= mask[a];
        uint64_t want = n_disj == 64 ? ~0ull : (1ull << n_disj) - 1;
        if ((got & want) != want)
            fail_msg("leaf %d: some disjunct is never refuted on its path", i);
    }
    free(mask);
    assert_int_equal(roots, prop_n_cases(p));
    assert_true(pf->complete); /* LP leaves carry their multipliers */
    (void)lp_leaves;
    for (int r = 0; r < pf->n_refs; r++)
        if (pf->refs[r].n_dual > 0)
            assert_true(pf->refs[r].dual >= 0 &&
                        pf->refs[r].dual + pf->refs[r].n_dual <= pf->n_duals);
    return leaves;
}

long check_proof_cert(const vfy_proof *pf, const net *n, const prop *p, long *ab)
{
    int nc = prop_n_cases(p);
    cert_tree *trees = calloc((size_t)nc + 1, sizeof *trees);
    assert_non_null(trees);
    cn_err err;
    if (vfy_cert_trees(pf, nc, trees, &err) != CN_OK)
        fail_msg("proof to certificate trees: %s", err.msg);
    long lp = 0;
    for (int c = 0; c < nc; c++)
        for (int i = 0; i < trees[c].n_nodes; i++)
            for (int q = 0; trees[c].nodes[i].par && q < trees[c].nodes[i].n_refs; q++)
                lp += trees[c].nodes[i].par[q].kind == CERT_PAR_LP;
    for (int c = 0; ab && c < nc; c++) {
        *ab += trees[c].n_claims;
        for (int i = 0; i < trees[c].n_nodes; i++)
            for (int q = 0; trees[c].nodes[i].par && q < trees[c].nodes[i].n_refs; q++)
                *ab += trees[c].nodes[i].par[q].kind == CERT_PAR_AB;
    }
    bool valid = false;
    char why[512];
    assert_int_equal(vfy_cert_selfcheck(n, p, nc, trees, &valid, why, sizeof why, &err), CN_OK);
    if (!valid)
        fail_msg("the checker refuses the engine's proof: %s", why);
    for (int c = 0; c < nc; c++)
        cert_tree_clear(&trees[c]);
    free(trees);
    return lp;
}

/* Decides p as a distributed run would: a frontier of `target` open nodes,
 * every subproblem sent through its byte form and decided on its own, each
 * subtree's proof sent back through its byte form and grafted.  Fills res
 * (verdict; for UNSAT with o->record_proof, the grafted proof).  Returns the
 * number of subproblems (0: decided while the frontier was being made). */
int distributed_verify(const net *n, const prop *p, const vfy_opts *o, int target,
                        vfy_result *res)
{
    cn_err err;
    vfy_frontier fr = {0};
    assert_int_equal(vfy_frontier_split(n, p, o, target, NULL, &fr, res, &err), CN_OK);
    if (fr.n == 0) {
        assert_int_not_equal(res->verdict, VFY_UNKNOWN);
        return 0;
    }
    int n_subs = fr.n;
    assert_int_equal(res->verdict, VFY_UNKNOWN);
    assert_string_equal(res->reason, "frontier");
    assert_true(fr.n >= target || fr.n >= 1);
    vfy_proof *top = res->proof;
    res->proof = NULL;
    if (o->record_proof)
        assert_non_null(top);
    vfy_verdict verdict = VFY_UNSAT;
    vfy_result sat;
    vfy_result_init(&sat);
    for (int i = 0; i < fr.n && verdict == VFY_UNSAT; i++) {
        unsigned char *buf = NULL;
        size_t len = 0;
        vfy_sub sub;
        assert_int_equal(vfy_sub_pack(&fr.subs[i], &buf, &len, &err), CN_OK);
        assert_int_equal(vfy_sub_unpack(buf, len, &sub, &err), CN_OK);
        /* a truncated message is refused */
        vfy_sub bad;
        assert_int_equal(vfy_sub_unpack(buf, len - 1, &bad, &err), CN_EPARSE);
        cn_free(buf); /* (vfy_sub_pack allocates with cn_realloc) */
        vfy_opts so = *o;
        so.sub = &sub;
        vfy_result part;
        vfy_result_init(&part);
        assert_int_equal(vfy_verify(n, p, &so, NULL, &part, &err), CN_OK);
        if (part.verdict == VFY_UNSAT && o->record_proof) {
            assert_non_null(part.proof);
            assert_int_equal(vfy_proof_pack(part.proof, &buf, &len, &err), CN_OK);
            vfy_proof *back = NULL;
            assert_int_equal(vfy_proof_unpack(buf, len, &back, &err), CN_OK);
            cn_free(buf);
            assert_int_equal(vfy_proof_graft(top, sub.pid, back, &err), CN_OK);
            /* a second graft at the same (now closed) node is refused */
            assert_int_equal(vfy_proof_graft(top, sub.pid, back, &err), CN_EINVAL);
            vfy_proof_free(back);
        } else if (part.verdict != VFY_UNSAT) {
            verdict = part.verdict;
            if (verdict == VFY_SAT) {
                vfy_result_clear(&sat);
                sat = part;
                vfy_result_init(&part);
            }
        }
        vfy_result_clear(&part);
        vfy_sub_clear(&sub);
    }
    vfy_frontier_clear(&fr);
    vfy_result_clear(res);
    if (verdict == VFY_SAT) {
        *res = sat;
        vfy_proof_free(top);
        return n_subs;
    }
    vfy_result_clear(&sat);
    res->verdict = verdict;
    if (verdict == VFY_UNSAT)
        res->proof = top;
    else
        vfy_proof_free(top);
    return n_subs;
}

vfy_opts engine_opts(int threads, double timeout_s)
{
    vfy_opts o;
    vfy_opts_init(&o);
    o.threads = threads;
    o.timeout_s = timeout_s;
    return o;
}

int engine_vs_milp_box(const net *n, tu_rng *r, int t, const char *tag)
{
    assert_true(net_in_size(n) <= 4 && net_out_size(n) == 3 && net_n_layers(n) <= ENG_MAX_LAYERS);
    int nin = net_in_size(n);
    double lo[4], hi[4];
    for (int k = 0; k < nin; k++) {
        double c = 2 * tu_unif(r) - 1, w = 0.05 + 0.5 * tu_unif(r);
        lo[k] = c - w;
        hi[k] = c + w;
    }
    int i = (int)(tu_next(r) % 3);
    cn_err err;
    const double *pl[ENG_MAX_LAYERS], *ph[ENG_MAX_LAYERS];
    bnd_ctx *bc = relu_box_bounds(n, lo, hi, pl, ph);
    lp_region lr = {lo, hi, pl, ph, NULL, 0, NULL};
    double cy[3] = {0, 0, 0}, mmin, xo[4];
    cy[i] = -1;
    lp_outcome out;
    assert_int_equal(lp_milp_min(n, &lr, NULL, cy, 0, &out, &mmin, xo, &err), CN_OK);
    assert_int_equal(out, LP_BOUND);
    bnd_ctx_free(bc);
    double maxy = -mmin, c = maxy + (tu_unif(r) < 0.5 ? -1 : 1) * (0.002 + 0.2 * tu_unif(r));
    if (fabs(c - maxy) < 1e-6)
        return -1;
    bool expect_sat = maxy >= c;
    char text[2048];
    int pos = 0;
    for (int k = 0; k < nin; k++)
        pos += snprintf(text + pos, sizeof text - (size_t)pos, "(declare-const X_%d Real)\n", k);
    for (int k = 0; k < 3; k++)
        pos += snprintf(text + pos, sizeof text - (size_t)pos, "(declare-const Y_%d Real)\n", k);
    for (int k = 0; k < nin; k++)
        pos += snprintf(text + pos, sizeof text - (size_t)pos,
                        "(assert (>= X_%d %.17g))\n(assert (<= X_%d %.17g))\n", k, lo[k], k,
                        hi[k]);
    pos += snprintf(text + pos, sizeof text - (size_t)pos, "(assert (>= Y_%d %.17g))\n", i, c);
    prop *p = NULL;
    if (prop_parse_vnnlib_mem(text, (size_t)pos, "milp.vnnlib", 0, &p, &err) != CN_OK)
        fail_msg("%s: parse: %s", tag, err.msg);
    vfy_opts o = engine_opts(1 + t % 2, 60);
    o.split = t % 3 ? VFY_SPLIT_RELU : VFY_SPLIT_INPUT;
    o.attack_s = t % 2 ? 0.0 : 0.02;
    o.record_proof = true;
    o.seed = (uint64_t)t + 1;
    vfy_result res;
    vfy_result_init(&res);
    assert_int_equal(vfy_verify(n, p, &o, NULL, &res, &err), CN_OK);
    if (res.verdict != (expect_sat ? VFY_SAT : VFY_UNSAT))
        fail_msg("%s, instance %d: engine says %s (%s), MILP max Y_%d = %.17g against %.17g\n%s",
                 tag, t, vfy_verdict_name(res.verdict), res.reason, i, maxy, c, text);
    if (res.verdict == VFY_SAT) {
        assert_true(res.check.violated);
    } else {
        check_proof(res.proof, p);
        check_proof_cert(res.proof, n, p, NULL);   /* the checker accepts it */
    }
    vfy_result_clear(&res);
    prop_free(p);
    return expect_sat ? 1 : 0;
}

int run_filtered_group(const char *name, const struct CMUnitTest *tests, size_t n)
{
    const char *filter = getenv("CN_TEST_FILTER");
    struct CMUnitTest *run = calloc(n, sizeof *run);
    assert_non_null(run);
    size_t n_run = 0;
    for (size_t i = 0; i < n; i++) {
        bool keep = !filter || !*filter;
        for (const char *f = filter; !keep && f && *f;) {
            size_t len = strcspn(f, ",");
            char pat[128];
            snprintf(pat, sizeof pat, "%.*s", (int)(len < sizeof pat ? len : sizeof pat - 1), f);
            keep = fnmatch(pat, tests[i].name, 0) == 0;
            f += len + (f[len] == ',');
        }
        if (keep)
            run[n_run++] = tests[i];
    }
    int failed = n_run ? _cmocka_run_group_tests(name, run, n_run, NULL, NULL) : 0;
    free(run);
    return failed;
}

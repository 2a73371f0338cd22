/* test_check_threads.c — the checker on several threads (certs.h,
 * cert_check_tree_mt): proof trees the engine makes on random networks
 * (ReLU splitting with slopes, multipliers and root bounds; input splitting
 * with LP leaves) are checked on 1, 2 and 4 threads, in one chunk and in
 * chunks of one or a few regions, and must give what the one-thread check
 * gives: the verdict, the message and the stats.  Tampered copies: a
 * property that a point of a deep leaf meets (refused, soundly), a
 * refutation's multipliers broken deep in the tree (refused at exactly that
 * node), a structural fault after a numeric one and before one (the first in
 * the tree's order is reported), and a numeric fault and a parameter out of
 * range in the same node (the earlier refutation is reported).  Out of
 * memory at every allocation in turn: CN_ENOMEM, nothing leaked. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "certs/certs_int.h"
#include "tests/certfix.h"
#include "tests/testutil.h"
#include "verifier/verifier.h"

#define MAX_B 4

typedef struct {
    bool valid;
    char why[400];
    cert_stats st;
} outcome;

/* Checks t on n_b threads (chunk: the queue's bytes; 0 the default). */
static outcome run(const net *n, const prop *p, const cert_tree *t, int n_b, size_t chunk)
{
    cn_err err;
    cert_bounds *bs[MAX_B];
    for (int k = 0; k < n_b; k++)
        assert_non_null(bs[k] = cert_bounds_new(n, &err));
    outcome o;
    memset(&o, 0, sizeof o);
    o.st.nodes = 7;              /* accumulated: the same offset for every run */
    cn_status s = chunk ? cert__check_tree_chunked(bs, n_b, chunk, p, t, &o.valid, o.why,
                                                   sizeof o.why, &o.st, &err)
                        : cert_check_tree_mt(bs, n_b, p, t, &o.valid, o.why, sizeof o.why, &o.st,
                                             &err);
    assert_int_equal(s, CN_OK);
    for (int k = 0; k < n_b; k++)
        cert_bounds_free(bs[k]);
    return o;
}

static void assert_same(const outcome *a, const outcome *b, int n_b, size_t chunk)
{
    if (a->valid != b->valid || strcmp(a->why, b->why) != 0)
        fail_msg("%d threads, chunk %zu: '%s' (valid %d), one thread: '%s' (valid %d)", n_b,
                 chunk, b->why, b->valid, a->why, a->valid);
    assert_int_equal(a->st.nodes, b->st.nodes);
    assert_int_equal(a->st.bounded, b->st.bounded);
    assert_int_equal(a->st.refutations, b->st.refutations);
    assert_int_equal(a->st.depth, b->st.depth);
}

/* Every thread count and chunk size gives the one-thread outcome (by
 * cert_check_tree); returns it. */
static outcome agree(const net *n, const prop *p, const cert_tree *t)
{
    cn_err err;
    cert_bounds *b = cert_bounds_new(n, &err);
    assert_non_null(b);
    outcome ref;
    memset(&ref, 0, sizeof ref);
    ref.st.nodes = 7;
    assert_int_equal(cert_check_tree(b, p, t, &ref.valid, ref.why, sizeof ref.why, &ref.st, &err),
                     CN_OK);
    cert_bounds_free(b);
    static const int nb[] = {1, 2, 4};
    static const size_t chunks[] = {0, 1, 1500};
    for (size_t i = 0; i < sizeof nb / sizeof nb[0]; i++)
        for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
            outcome o = run(n, p, t, nb[i], chunks[c]);
            assert_same(&ref, &o, nb[i], chunks[c]);
        }
    return ref;
}

/* An engine proof (tree of case 0) of y0 <= (grid minimum - 0.001) on a
 * random network: ReLU splitting with optimised bounds (mode 0) or input
 * splitting with the LP tail (mode 1).  false when the engine did not say
 * unsat. */
static bool engine_tree(tu_rng *r, int trial, int mode, net **n, prop **p, cert_tree *t)
{
    cn_err err;
    *n = random_net(r, 2, 6 + (int)(tu_next(r) % 4), 6, 2);
    double m = INFINITY, x[2], yv[2];
    for (int i = 0; i <= 64; i++)
        for (int j = 0; j <= 64; j++) {
            x[0] = -1 + i / 32.0;
            x[1] = -1 + j / 32.0;
            assert_int_equal(net_forward(*n, 1, x, yv, &err), CN_OK);
            m = fmin(m, yv[0]);
        }
    char rhs[64];
    snprintf(rhs, sizeof rhs, "%.6f", floor((m - 0.001) * 1e6) / 1e6);
    *p = prop_y0_le(rhs);
    vfy_opts o;
    vfy_opts_init(&o);
    o.timeout_s = 10;
    o.threads = 1;
    o.split = mode ? VFY_SPLIT_INPUT : VFY_SPLIT_RELU;
    o.lp_tail = mode ? 16 : 0;
    o.opt_bounds = mode == 0;
    o.record_proof = true;
    o.seed = (uint64_t)trial + 1;
    vfy_result res;
    vfy_result_init(&res);
    assert_int_equal(vfy_verify(*n, *p, &o, NULL, &res, &err), CN_OK);
    bool unsat = res.verdict == VFY_UNSAT;
    if (unsat) {
        cert_tree trees[1];
        assert_int_equal(vfy_cert_trees(res.proof, 1, trees, &err), CN_OK);
        *t = trees[0];
    }
    vfy_result_clear(&res);
    return unsat;
}

/* The leaf of t whose region holds x (x off every split's boundary). */
static int leaf_of(const net *n, const cert_tree *t, const double *x)
{
    int nr = net_n_relus(n), no = net_out_size(n);
    mpq_t *pre = cn_mallocarray((size_t)(nr ? nr : 1), sizeof(mpq_t));
    mpq_t y[4];
    assert_true(no <= 4);
    for (int j = 0; j < nr; j++)
        mpq_init(pre[j]);
    for (int j = 0; j < no; j++)
        mpq_init(y[j]);
    exact_forward(n, NULL, x, pre, y);
    /* preorder: a split's side-0 subtree starts at i + 1, side 1 after it */
    int i = 0;
    while (t->nodes[i].kind == CERT_SPLIT_INPUT || t->nodes[i].kind == CERT_SPLIT_RELU) {
        const cert_node *nd = &t->nodes[i];
        bool side1 = nd->kind == CERT_SPLIT_INPUT ? x[nd->dim] > nd->at
                                                  : mpq_sgn(pre[nd->dim]) > 0;
        if (!side1) {
            i++;
            continue;
        }
        int open = 1, k = i + 1;        /* skip the side-0 subtree */
        while (open > 0) {
            const cert_node *c = &t->nodes[k++];
            open += (c->kind == CERT_SPLIT_INPUT || c->kind == CERT_SPLIT_RELU) ? 1 : -1;
        }
        i = k;
    }
    for (int j = 0; j < nr; j++)
        mpq_clear(pre[j]);
    for (int j = 0; j < no; j++)
        mpq_clear(y[j]);
    cn_free(pre);
    return i;
}

/* The last node (walk order) with a refutation of kind `kind` (for AB: with
 * a multiplier); -1 when none.  *q: which refutation. */
static int last_with(const cert_tree *t, cert_par_kind kind, int *q)
{
    for (int i = t->n_nodes - 1; i >= 0; i--)
        for (int k = 0; t->nodes[i].par && k < t->nodes[i].n_refs; k++) {
            const cert_par *pa = &t->nodes[i].par[k];
            if (pa->kind == kind && (kind != CERT_PAR_AB || pa->n_beta > 0)) {
                *q = k;
                return i;
            }
        }
    return -1;
}

/* Breaks refutation q of node i by its numbers (AB: a huge multiplier; LP:
 * every multiplier 0, whose bound 0 is not > 0). */
static void break_numbers(cert_tree *t, int i, int q)
{
    cert_par *pa = &t->nodes[i].par[q];
    if (pa->kind == CERT_PAR_AB)
        pa->beta[0] = 1e300;
    else
        for (int k = 0; k < pa->n_dual; k++)
            pa->dual[k] = 0.0;
}

/* Node i loses its refutations. */
static void drop_refs(cert_tree *t, int i)
{
    cert_node *nd = &t->nodes[i];
    for (int q = 0; nd->par && q < nd->n_refs; q++)
        cert_par_clear(&nd->par[q]);
    nd->n_refs = 0;
}

static bool names_node(const outcome *o, int i)
{
    char at[32];
    snprintf(at, sizeof at, "case 0 node %d: ", i);
    return strstr(o->why, at) != NULL;
}

/* A copy of t (cert_tree_clear it); node k (-1: none) gets one more
 * refutation, of disjunct d with parameters pa. */
static void copy_tree_plus(const cert_tree *t, cert_tree *c, int k, int d, const cert_par *pa)
{
    cn_err err;
    cert_tree_init(c, t->case_idx);
    for (int i = 0; i < t->n_nodes; i++) {
        const cert_node *nd = &t->nodes[i];
        int refs[8], n = nd->n_refs;
        assert_true(n < 8);
        if (n > 0)
            memcpy(refs, nd->refs, sizeof(int) * (size_t)n);
        if (i == k)
            refs[n++] = d;
        assert_int_equal(cert_tree_push(c, nd->kind, nd->dim, nd->at, n, refs, &err), CN_OK);
        for (int q = 0; nd->par && q < nd->n_refs; q++)
            assert_int_equal(cert_tree_set_par(c, i, q, &nd->par[q], &err), CN_OK);
        if (i == k)
            assert_int_equal(cert_tree_set_par(c, i, n - 1, pa, &err), CN_OK);
    }
    for (int j = 0; j < t->n_claims; j++) {
        const cert_claim *cl = &t->claims[j];
        assert_int_equal(cert_tree_add_claim(c, cl->layer, cl->neuron, cl->sgn, cl->lb, cl->n_q,
                                             cl->q, &err), CN_OK);
    }
}

static void copy_tree(const cert_tree *t, cert_tree *c) { copy_tree_plus(t, c, -1, 0, NULL); }

static void test_engine_trees(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("CN_TEST_SEED", 24)};
    int trees = 0, deep = 0, refused_point = 0, lp = 0, ab = 0, after = 0, before = 0;
    int same_node = 0;
    for (int trial = 0; trial < 16; trial++) {
        int mode = trial % 2;
        net *n;
        prop *p;
        cert_tree t;
        if (!engine_tree(&r, trial, mode, &n, &p, &t)) {
            net_free(n);
            prop_free(p);
            continue;
        }
        trees++;
        outcome ok = agree(n, p, &t);
        if (!ok.valid)
            fail_msg("the engine's proof is refused: %s", ok.why);
        assert_true(ok.st.refutations > 0);

        /* a property that a point of a deep leaf meets: y0 <= y0(x) + 1e-6 */
        int li = -1;
        double xb[2] = {0, 0};
        for (int k = 0; k < 40; k++) {
            double x[2] = {-1 + 2 * tu_unif(&r), -1 + 2 * tu_unif(&r)};
            int l = leaf_of(n, &t, x);
            if (l > li) {
                li = l;
                memcpy(xb, x, sizeof xb);
            }
        }
        double yv[2];
        cn_err err;
        assert_int_equal(net_forward(n, 1, xb, yv, &err), CN_OK);
        char rhs[64];
        snprintf(rhs, sizeof rhs, "%.6f", ceil((yv[0] + 1e-6) * 1e6) / 1e6);
        prop *pm = prop_y0_le(rhs);
        outcome o = agree(n, pm, &t);
        assert_false(o.valid);             /* sound: x meets the disjunct */
        assert_non_null(strstr(o.why, "not refuted"));
        refused_point++;
        deep += li > 0;
        prop_free(pm);

        /* broken numbers deep in the tree: refused at exactly that node */
        int q, i = last_with(&t, mode ? CERT_PAR_LP : CERT_PAR_AB, &q);
        if (i >= 0) {
            cert_tree c;
            copy_tree(&t, &c);
            break_numbers(&c, i, q);
            o = agree(n, p, &c);
            assert_false(o.valid);
            if (!names_node(&o, i))
                fail_msg("expected node %d, got '%s'", i, o.why);
            lp += mode;
            ab += !mode;
            /* a structural fault after it (a later leaf loses its
             * refutations): the numeric one, earlier, is reported */
            for (int l = t.n_nodes - 1; l > i; l--)
                if (t.nodes[l].kind == CERT_LEAF && t.nodes[l].n_refs > 0) {
                    drop_refs(&c, l);
                    o = agree(n, p, &c);
                    assert_false(o.valid);
                    assert_true(names_node(&o, i));
                    after++;
                    break;
                }
            /* and one before it (an earlier leaf loses its refutations):
             * that one is reported */
            for (int l = 0; l < i; l++)
                if (t.nodes[l].kind == CERT_LEAF && t.nodes[l].n_refs > 0) {
                    drop_refs(&c, l);
                    o = agree(n, p, &c);
                    assert_false(o.valid);
                    assert_true(names_node(&o, l));
                    assert_non_null(strstr(o.why, "not refuted on its path"));
                    before++;
                    break;
                }
            cert_tree_clear(&c);
        }
        /* in one node: refutation 0's numbers broken, and one more
         * refutation (of the other disjunct) with a slope out of range:
         * refutation 0 is reported; alone, the slope */
        for (int k = t.n_nodes - 1; !mode && k >= 0; k--) {
            const cert_node *nd = &t.nodes[k];
            if (nd->n_refs != 1 || !nd->par || nd->par[0].kind != CERT_PAR_AB ||
                nd->par[0].n_beta == 0 || nd->par[0].n_alpha == 0)
                continue;
            cert_par extra;
            assert_int_equal(cert_par_copy(&extra, &nd->par[0], &err), CN_OK);
            extra.atom = 0;
            extra.alpha[0] = CERT_ALPHA_DEN + 1;
            cert_tree c;
            copy_tree_plus(&t, &c, k, 1 - nd->refs[0], &extra);
            cert_par_clear(&extra);
            break_numbers(&c, k, 0);
            o = agree(n, p, &c);
            assert_false(o.valid);
            assert_true(names_node(&o, k));
            assert_non_null(strstr(o.why, "with the stored slopes and multipliers"));
            c.nodes[k].par[0].beta[0] = t.nodes[k].par[0].beta[0];
            o = agree(n, p, &c);
            assert_false(o.valid);
            assert_true(names_node(&o, k));
            assert_non_null(strstr(o.why, "above 1"));
            same_node++;
            cert_tree_clear(&c);
            break;
        }
        cert_tree_clear(&t);
        prop_free(p);
        net_free(n);
    }
    printf("# %d engine proofs; refused: %d by a point's property (%d beyond the root), "
           "%d AB and %d LP refutations broken deep, with a fault after %d, before %d; %d within "
           "a node\n", trees, refused_point, deep, ab, lp, after, before, same_node);
    assert_true(trees >= 8);
    assert_true(deep > 0);
    assert_true(ab > 0);
    assert_true(lp > 0);
    assert_true(after > 0);
    assert_true(before > 0);
    assert_true(same_node > 0);
}

/* cert_check_mem with in.threads 1, 2, 4: the same report. */
static void test_check_mem_threads(void **state)
{
    (void)state;
    problem pb;
    problem_init(&pb);
    cert_tree t;
    make_proof(&pb, &t);
    size_t len;
    char *bytes = unsat_cert(&pb, &t, NULL, &len);
    /* and a copy with the last leaf's refutations moved off: refused */
    cert_tree c;
    copy_tree(&t, &c);
    drop_refs(&c, c.n_nodes - 1);
    size_t blen;
    char *bad = unsat_cert(&pb, &c, NULL, &blen);
    cert_report ref[2];
    for (int th = 1; th <= 4; th *= 2) {
        cert_check_in in = check_in(&pb, NULL);
        in.allow_unsigned = true;
        in.threads = th;
        cert_report rep[2];
        assert_accepts(bytes, len, &in, &rep[0]);
        assert_rejects(bad, blen, &in, &rep[1], "not refuted on its path");
        for (int k = 0; k < 2; k++) {
            if (th == 1)
                ref[k] = rep[k];
            assert_string_equal(rep[k].why, ref[k].why);
            assert_int_equal(rep[k].stats.nodes, ref[k].stats.nodes);
            assert_int_equal(rep[k].stats.bounded, ref[k].stats.bounded);
            assert_int_equal(rep[k].stats.refutations, ref[k].stats.refutations);
            assert_int_equal(rep[k].stats.depth, ref[k].stats.depth);
        }
        assert_true(rep[0].stats.refutations > 0);
    }
    cn_free(bytes);
    cn_free(bad);
    cert_tree_clear(&c);
    cert_tree_clear(&t);
    problem_clear(&pb);
}

/* Out of memory on the walk's thread at every allocation in turn, on two
 * threads in small chunks: CN_ENOMEM with nothing leaked, until the check
 * runs through and finds the proof valid. */
static void test_oom_threads(void **state)
{
    (void)state;
    problem pb;
    problem_init(&pb);
    cert_tree t;
    make_proof(&pb, &t);
    cn_err err;
    cert_bounds *bs[2];
    for (int k = 0; k < 2; k++)
        assert_non_null(bs[k] = cert_bounds_new(pb.n, &err));
    long failures = 0;
    for (long f = 1;; f++) {
        assert_true(f < 10000);
        long live = cn_alloc_live();
        cert_stats st = {0, 0, 0, 0};
        bool valid = false;
        char why[400];
        cn_alloc_fail_after(f);
        cn_status s = cert__check_tree_chunked(bs, 2, 2000, pb.unsat, &t, &valid, why,
                                               sizeof why, &st, &err);
        cn_alloc_fail_after(0);
        assert_int_equal(cn_alloc_live(), live);
        if (s == CN_OK) {
            if (!valid)
                fail_msg("allocation %ld failed and the proof was judged: %s", f, why);
            break;
        }
        assert_int_equal(s, CN_ENOMEM);
        failures++;
    }
    printf("# %ld allocation failures returned CN_ENOMEM\n", failures);
    assert_true(failures >= 5);
    for (int k = 0; k < 2; k++)
        cert_bounds_free(bs[k]);
    cert_tree_clear(&t);
    problem_clear(&pb);
}

int main(void)
{
    json_set_alloc_funcs(cn_malloc, cn_free);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine_trees),
        cmocka_unit_test(test_check_mem_threads),
        cmocka_unit_test(test_oom_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_engine_milp.c — test_engine's soundness part: on random small networks
 * and properties, the branch-and-bound verdict must equal the verdict of the
 * exact MILP encoding (GLPK branch and cut), every time.  CN_ENGINE_N sets the
 * number of instances (default 2000; the MILP comparisons run N/2, N/2 and
 * 2 x N/8 of them, so any N >= 8 runs each at least once), CN_SEED replays a
 * run.  Every instance must agree with the MILP whatever N; the check that a
 * run draws a fair mix of sat and unsat instances needs MIX_MIN of them and
 * is skipped (with a note) below that. */
#include "config.h"

#include <math.h>

#include "tests/engfix.h"
#include "tests/groups.h"
#include "tests/lpfix.h"

typedef struct {
    int kind;      /* 0: Y_i <= Y_j, 1: Y_i >= c, 2: Y_i <= c */
    int i, j;
    double c;
} atom;

/* min over the box of the atom's (lhs - rhs) by the MILP; c is adjusted
 * away from ties so a floating-point oracle decides it reliably. */
static double milp_atom(const net *n, const double *lo, const double *hi, atom *a, tu_rng *r,
                        double *xo)
{
    cn_err err;
    const double *pl[ENG_MAX_LAYERS], *ph[ENG_MAX_LAYERS];
    bnd_ctx *bc = relu_box_bounds(n, lo, hi, pl, ph);
    lp_region lr = {lo, hi, pl, ph, NULL, 0, NULL};
    double cy[4] = {0, 0, 0, 0};
    /* lhs - rhs as c.y + d */
    double d = 0;
    if (a->kind == 0) {
        cy[a->i] = 1;
        cy[a->j] = -1;
    } else if (a->kind == 1) {
        cy[a->i] = -1; /* Y_i >= c  <=>  c - Y_i <= 0 */
    } else {
        cy[a->i] = 1;
    }
    lp_outcome out;
    double m;
    assert_int_equal(lp_milp_min(n, &lr, NULL, cy, d, &out, &m, xo, &err), CN_OK);
    assert_int_equal(out, LP_BOUND);
    if (a->kind == 0) {
        /* min (Y_i - Y_j): the atom can hold iff m <= 0; nudge nothing but
         * report; ties are rare and handled by the caller's skip rule */
    } else {
        /* choose c near the achievable range but at least 1e-3 away from it */
        double ext = a->kind == 1 ? -m : m; /* kind 1: max Y_i = -m; kind 2: min Y_i = m */
        a->c = ext + (tu_unif(r) < 0.5 ? -1 : 1) * (0.002 + 0.3 * tu_unif(r));
        m = a->kind == 1 ? a->c + m : m - a->c;
    }
    bnd_ctx_free(bc);
    return m;
}

static int append(char *buf, int pos, int cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + pos, (size_t)(cap - pos), fmt, ap);
    va_end(ap);
    assert_true(k >= 0 && pos + k < cap);
    return pos + k;
}

static void run_instances(int count, uint64_t seed, vfy_split split, int threads,
                          bool all_distributed)
{
    tu_rng r = {seed};
    int n_sat = 0, n_unsat = 0, n_skipped_ties = 0, n_split = 0;
    long tail_tries = 0, tail_closed = 0, lp_refs = 0, ab_refs = 0;
    static char text[8192];
    for (int t = 0; t < count; t++) {
        int n_in = 2 + (int)(tu_next(&r) % 2), n_out = 3;
        net *n = random_mlp(&r, n_in, 3 + (int)(tu_next(&r) % 4), 3 + (int)(tu_next(&r) % 4),
                            n_out);
        double lo[3], hi[3];
        for (int k = 0; k < n_in; k++) {
            double c = rw(&r), w = 0.05 + 0.6 * tu_unif(&r);
            lo[k] = c - w;
            hi[k] = c + w;
        }
        int n_disj = 1 + (int)(tu_next(&r) % 3);
        atom at[3];
        double xo[3][3];
        bool expect_sat = false, tie = false;
        for (int d = 0; d < n_disj; d++) {
            at[d].kind = (int)(tu_next(&r) % 3);
            at[d].i = (int)(tu_next(&r) % n_out);
            at[d].j = (at[d].i + 1 + (int)(tu_next(&r) % (n_out - 1))) % n_out;
            double m = milp_atom(n, lo, hi, &at[d], &r, xo[d]);
            if (fabs(m) < 1e-6)
                tie = true;
            if (m <= 0)
                expect_sat = true;
        }
        if (tie) { /* the float oracle cannot decide a tie: draw again */
            n_skipped_ties++;
            net_free(n);
            t--;
            continue;
        }
        int pos = 0;
        for (int k = 0; k < n_in; k++)
            pos = append(text, pos, sizeof text, "(declare-const X_%d Real)\n", k);
        for (int k = 0; k < n_out; k++)
            pos = append(text, pos, sizeof text, "(declare-const Y_%d Real)\n", k);
        for (int k = 0; k < n_in; k++)
            pos = append(text, pos, sizeof text, "(assert (>= X_%d %.17g))\n(assert (<= X_%d %.17g))\n",
                         k, lo[k], k, hi[k]);
        pos = append(text, pos, sizeof text, "(assert (or");
        for (int d = 0; d < n_disj; d++) {
            if (at[d].kind == 0)
                pos = append(text, pos, sizeof text, " (and (<= Y_%d Y_%d))", at[d].i, at[d].j);
            else
                pos = append(text, pos, sizeof text, " (and (%s Y_%d %.17g))",
                             at[d].kind == 1 ? ">=" : "<=", at[d].i, at[d].c);
        }
        pos = append(text, pos, sizeof text, "))\n");
        cn_err err;
        prop *p = NULL;
        if (prop_parse_vnnlib_mem(text, (size_t)pos, "random.vnnlib", 0, &p, &err) != CN_OK)
            fail_msg("parse: %s\n%s", err.msg, text);
        vfy_opts o;
        vfy_opts_init(&o);
        o.timeout_s = 60;
        /* (input splitting: every third instance with two workers, so the
         * LP tail's and the search's shared state run under ThreadSanitizer) */
        o.threads = threads > 1 || t % 3 != 1 ? threads : 2;
        o.split = split;
        o.attack_s = (t % 2) ? 0.0 : 0.02; /* half the time BaB must find sat itself */
        o.node_pgd_every = (t % 3) ? 16 : 0;
        o.alpha_root = (t % 4) == 0;
        o.seed = (uint64_t)t + 1;
        o.lp_tail = (int[]){6, 0, 16, 2}[t % 4]; /* the LP tail (input splitting) */
        /* input splitting: optimised slopes on the default near-closing
         * boxes, on every open box, or never; the single-dimension choice
         * from the default depth or everywhere */
        o.input_opt_gap = (double[]){0.005, 1e9, 0}[(t / 2) % 3];
        o.input_first_depth = (t % 5) == 2 ? 0 : 20;
        /* frontier + subproblems + grafted proof */
        bool distributed = all_distributed || (t % 7) == 3;
        o.record_proof = (t % 5) == 0 || distributed;
        vfy_result res;
        vfy_result_init(&res);
        if (!distributed)
            assert_int_equal(vfy_verify(n, p, &o, NULL, &res, &err), CN_OK);
        else if (distributed_verify(n, p, &o, 2 + (int)(tu_next(&r) % 3), &res) > 0)
            n_split++;
        if (res.verdict != (expect_sat ? VFY_SAT : VFY_UNSAT)) {
            for (int d = 0; d < n_disj; d++) {
                prop_check chk;
                prop_check_init(&chk);
                assert_int_equal(prop_check_point_d(p, n, xo[d], &chk, &err), CN_OK);
                printf("# MILP point of disjunct %d: (%.17g, %.17g, %.17g) violated=%d case=%d worst=%g\n",
                       d, xo[d][0], xo[d][1], n_in > 2 ? xo[d][2] : 0.0, chk.violated, chk.case_idx,
                       chk.worst_margin_d);
                prop_check_clear(&chk);
            }
            fail_msg("instance %d (seed %llu%s): engine says %s (%s), MILP says %s\n%s", t,
                     (unsigned long long)seed, distributed ? ", distributed" : "",
                     vfy_verdict_name(res.verdict), res.reason, expect_sat ? "sat" : "unsat", text);
        }
        if (split == VFY_SPLIT_RELU || o.lp_tail == 0)
            assert_int_equal(res.lp_tail_tries, 0);
        assert_true(res.lp_tail_closed <= res.lp_tail_tries);
        tail_tries += res.lp_tail_tries;
        tail_closed += res.lp_tail_closed;
        if (res.verdict == VFY_SAT) {
            assert_true(res.check.violated);
            for (int k = 0; k < n_in; k++)
                assert_true(res.x_d[k] >= lo[k] && res.x_d[k] <= hi[k]);
            n_sat++;
        } else {
            n_unsat++;
            if (o.record_proof) {
                check_proof(res.proof, p);
                lp_refs += check_proof_cert(res.proof, n, p, &ab_refs); /* the checker accepts it */
            } else
                assert_null(res.proof);
        }
        vfy_result_clear(&res);
        prop_free(p);
        net_free(n);
    }
    printf("# %d instances: %d sat, %d unsat agree with the MILP (%d ties redrawn; %d decided "
           "as distributed subproblems; the LP tail closed %ld of %ld boxes; %ld LP refutations "
           "and %ld optimised refutations or root bounds in proofs the checker accepted)\n",
           count, n_sat, n_unsat, n_skipped_ties, n_split, tail_closed, tail_tries, lp_refs,
           ab_refs);
    /* about 2/3 of the instances are sat: below MIX_MIN instances a run may
     * well draw no unsat one (CN_ENGINE_N=40: 5 distributed instances, all sat) */
    enum { MIX_MIN = 50 };
    if (count >= MIX_MIN)
        assert_true(n_sat > count / 10 && n_unsat > count / 10);
    else
        printf("# (%d < %d instances: the sat/unsat mix is not checked)\n", count, MIX_MIN);
    if (split == VFY_SPLIT_INPUT && !all_distributed && count >= 500)
        assert_true(tail_closed > 0); /* it was exercised (seed 101: 25 of 59 boxes) */
}

static int instance_count(void)
{
    const char *e = getenv("CN_ENGINE_N");
    return e && *e ? atoi(e) : 2000;
}

static void test_input_split_vs_milp(void **state)
{
    run_instances(instance_count() / 2, tu_seed("input_split_vs_milp", 101), VFY_SPLIT_INPUT, 1,
                  false);
}

static void test_relu_split_vs_milp(void **state)
{
    run_instances(instance_count() / 2, tu_seed("relu_split_vs_milp", 202), VFY_SPLIT_RELU, 2,
                  false);
}

/* Every instance as a distributed run would decide it (frontier, subproblems
 * through their byte form, grafted proofs), input and ReLU splitting. */
static void test_distributed_vs_milp(void **state)
{
    run_instances(instance_count() / 8, tu_seed("distributed_vs_milp", 303), VFY_SPLIT_INPUT, 1,
                  true);
    run_instances(instance_count() / 8, tu_seed("distributed_vs_milp_relu", 304), VFY_SPLIT_RELU,
                  1, true);
}

int test_engine_milp_group(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_input_split_vs_milp),
        cmocka_unit_test(test_relu_split_vs_milp),
        cmocka_unit_test(test_distributed_vs_milp),
    };
    return run_filtered_group("engine_milp", tests, sizeof tests / sizeof tests[0]);
}

/* test_workflow_radius.c — test_workflow's verifier part (verifier/: atoms as
 * rows, bounds only, probes, radius): atoms with coefficients that are not
 * doubles, the radius search on a 1-D network whose radius is known in
 * closed form, also under the out-of-memory loop, the radius against a
 * brute-force grid on the zoo models, the bound-method lists of the probes,
 * and the partial-results mark of compare's plot. */
#include "config.h"

#include <dirent.h>
#include <math.h>
#include <unistd.h>

#include <cairo.h>

#include "tests/groups.h"
#include "tests/wffix.h"

/* ---- radius on a 1-D network with a closed-form radius --------------------------------------- */
/*
 * x in [0,1];  h = relu([1; -1] x);  y0 = 0.5 - h0,  y1 = h0 - h1.
 * On [0,1]: y0 = 0.5 - x, y1 = x, so label 0 iff x < 0.25 (x = 0.25 is a tie,
 * which counts as misclassified: unsafe is y_j >= y_label).
 * Radius of x0 < 0.25 (label 0): r* = 0.25 - x0; of x0 > 0.25 (label 1): x0 - 0.25.
 */
static net *toy(void)
{
    cn_err err;
    net *n = net_new((net_shape){1, 1, 1});
    net_layer *l = net_add_dense(n, 2, &err);
    l->W[0] = 1;
    l->W[1] = -1;
    assert_non_null(net_add_relu(n, &err));
    l = net_add_dense(n, 2, &err);
    l->W[0] = -1;   /* y0 = -h0 + 0.5 */
    l->W[1] = 0;
    l->W[2] = 1;    /* y1 = h0 - h1 */
    l->W[3] = -1;
    l->b[0] = 0.5;
    return n;
}

typedef struct {
    vfy_prober pr;
    net *n;
} toy_ctx;

static void toy_init(toy_ctx *t)
{
    cn_err err;
    memset(t, 0, sizeof *t);
    t->n = toy();
    t->pr.n = t->n;
    t->pr.bc = bnd_ctx_new(t->n, &err);
    assert_non_null(t->pr.bc);
    bnd_opts_init(&t->pr.bounds, BND_CROWN);
    vfy_opts_init(&t->pr.engine);
    t->pr.engine.threads = 1;
    t->pr.engine.timeout_s = 10;
    atk_opts_init(&t->pr.pgd);
    t->pr.pgd.time_limit = 5;
    t->pr.pgd.max_restarts = 32;
}

static void toy_free(toy_ctx *t)
{
    bnd_ctx_free(t->pr.bc);
    net_free(t->n);
}

static void radius_of(toy_ctx *t, int pixel, int label, bool complete, bool deepfool,
                      vfy_radius_result *r)
{
    cn_err err;
    mpq_t x0[1];
    mpq_init(x0[0]);
    mpq_set_ui(x0[0], (unsigned long)pixel, 255);
    mpq_canonicalize(x0[0]);
    vfy_radius_opts o;
    vfy_radius_opts_init(&o);
    o.max_eps = "0.5";
    o.bits = vfy_radius_bits(0.5, 0.001);
    o.deepfool = deepfool;
    t->pr.complete = complete;
    assert_int_equal(vfy_radius(&t->pr, x0, label, &o, r, &err), CN_OK);
    mpq_clear(x0[0]);
}

static void test_radius_bits(void **state)
{
    (void)state;
    assert_int_equal(vfy_radius_bits(0.5, 0.001), 9);    /* 0.5/512 = 0.00098 */
    assert_int_equal(vfy_radius_bits(0.25, 0.001), 8);
    assert_int_equal(vfy_radius_bits(1, 1), 1);
}

static void test_prop_bounds_toy(void **state)
{
    (void)state;
    toy_ctx t;
    toy_init(&t);
    cn_err err;
    mpq_t x0[1], e;
    mpq_init(x0[0]);
    mpq_init(e);
    mpq_set_d(e, 0.2);   /* ball [0, 0.2]: robust (true radius 0.25) */
    vfy_probe_verdict v;
    assert_int_equal(vfy_probe_certify(&t.pr, x0, 0, e, &v, &err), CN_OK);
    assert_int_equal(v, VFY_PROBE_ROBUST);
    mpq_set_d(e, 0.3);   /* ball [0, 0.3] holds x = 0.25.. */
    assert_int_equal(vfy_probe_certify(&t.pr, x0, 0, e, &v, &err), CN_OK);
    assert_int_equal(v, VFY_PROBE_OPEN);
    assert_int_equal(vfy_probe_attack(&t.pr, x0, 0, e, &v, &err), CN_OK);
    assert_int_equal(v, VFY_PROBE_ATTACKED);
    bool correct;
    assert_int_equal(vfy_probe_clean(&t.pr, x0, 0, &correct, &err), CN_OK);
    assert_true(correct);
    assert_int_equal(vfy_probe_clean(&t.pr, x0, 1, &correct, &err), CN_OK);
    assert_false(correct);
    mpq_clear(x0[0]);
    mpq_clear(e);
    toy_free(&t);
}

/* Atoms whose coefficients are not doubles (0.1): the rows carry the
 * nearest double and its rounding error (vfy_case_rows, rule (R)), and the
 * bounds-only verifier proves such an atom false where the margin allows
 * (before, it left every such atom unbounded). */
static void test_bounds_inexact_coefs(void **state)
{
    (void)state;
    toy_ctx t;
    toy_init(&t);
    cn_err err;
    /* unsafe: 0.1 y0 <= 0.1 y1, i.e. 0.1 (y0 - y1) = 0.1 (0.5 - 2x) <= 0; on
     * [0, 0.2] its left side is >= 0.01, on [0, 0.3] it reaches -0.01 */
    const char *fmt = "(declare-const X_0 Real)\n(declare-const Y_0 Real)\n"
                      "(declare-const Y_1 Real)\n(assert (>= X_0 0.0))\n"
                      "(assert (<= X_0 %s))\n(assert (<= (* 0.1 Y_0) (* 0.1 Y_1)))\n";
    const char *hi[2] = {"0.2", "0.3"};
    for (int i = 0; i < 2; i++) {
        char text[400];
        snprintf(text, sizeof text, fmt, hi[i]);
        write_text(tpath("inexact.vnnlib"), text);
        prop *p = NULL;
        assert_int_equal(prop_parse_vnnlib(tpath("inexact.vnnlib"), &p, &err), CN_OK);
        const prop_case *pc = prop_case_at(p, 0);
        assert_int_equal(vfy_case_n_atoms(pc), 1);
        double C[2], cerr[2], r_up[1];
        int dstart[2];
        assert_int_equal(vfy_case_rows(pc, 2, C, cerr, r_up, dstart, &err), CN_OK);
        assert_int_equal(dstart[0], 0);
        assert_int_equal(dstart[1], 1);
        mpq_t a, c;
        mpq_inits(a, c, NULL);
        for (int j = 0; j < 2; j++) { /* |a_j - C_j| <= cerr_j, with a_j = +-1/10 */
            mpq_set_si(a, j == 0 ? 1 : -1, 10);
            mpq_set_d(c, C[j]);
            mpq_sub(c, a, c);
            mpq_abs(c, c);
            assert_true(cerr[j] > 0);
            mpq_set_d(a, cerr[j]);
            assert_true(mpq_cmp(c, a) <= 0);
        }
        mpq_clears(a, c, NULL);
        assert_true(r_up[0] == 0.0);
        double lb[1];
        bool out = false, proven = false;
        assert_int_equal(vfy_bounds_case(t.n, t.pr.bc, &t.pr.bounds, p, 0, lb, &out, &err), CN_OK);
        printf("# 0.1 (y0 - y1) on [0, %s]: lower bound %.17g\n", hi[i], lb[0]);
        if (i == 0) { /* sound and proven: 0 < lb <= 0.01 */
            assert_true(out);
            assert_true(lb[0] > 0 && lb[0] <= 0.01);
        } else {      /* sound: lb <= -0.01 */
            assert_false(out);
            assert_true(lb[0] <= -0.01);
        }
        assert_int_equal(vfy_bounds_prop(t.n, t.pr.bc, &t.pr.bounds, p, &proven, NULL, &err),
                         CN_OK);
        assert_int_equal(proven, i == 0);
        prop_free(p);
    }
    /* a coefficient beyond the double range (before: SIGFPE in mpq_set_d of
     * an infinity): a zero row that is never ruled out */
    write_text(tpath("huge.vnnlib"), "(declare-const X_0 Real)\n(declare-const Y_0 Real)\n"
                                     "(declare-const Y_1 Real)\n(assert (>= X_0 0.0))\n"
                                     "(assert (<= X_0 0.2))\n(assert (<= (* 1e400 Y_0) Y_1))\n");
    prop *p = NULL;
    assert_int_equal(prop_parse_vnnlib(tpath("huge.vnnlib"), &p, &err), CN_OK);
    double C[2], cerr[2], r_up[1], lb[1];
    assert_int_equal(vfy_case_rows(prop_case_at(p, 0), 2, C, cerr, r_up, NULL, &err), CN_OK);
    assert_true(C[0] == 0 && C[1] == 0 && cerr[0] == 0 && cerr[1] == 0 && r_up[0] == INFINITY);
    bool out = true;
    assert_int_equal(vfy_bounds_case(t.n, t.pr.bc, &t.pr.bounds, p, 0, lb, &out, &err), CN_OK);
    assert_false(out);
    assert_true(lb[0] == -INFINITY);
    prop_free(p);
    toy_free(&t);
}

static void check_bracket(const vfy_radius_result *r, double truth, double step)
{
    printf("# radius: certified %s, attacked %s (%s), truth %.17g\n", r->certified, r->attacked,
           r->attacked_by, truth);
    assert_false(r->misclassified);
    assert_true(r->cert_k >= 0);
    assert_true(r->attacked_found);
    /* sound: certified < truth <= attacked */
    assert_true(r->certified_d < truth);
    assert_double_le(truth, r->attacked_d);
    /* tight on this network: exact bounds, and attacks reach the grid point above */
    assert_double_le(truth - step, r->certified_d);
    assert_double_le(r->attacked_d, truth + step);
    assert_double_le(r->certified_d, r->attacked_d);
}

static void test_radius_toy(void **state)
{
    (void)state;
    toy_ctx t;
    toy_init(&t);
    double step = 0.5 / 512;
    vfy_radius_result r;
    radius_of(&t, 0, 0, false, true, &r);          /* x0 = 0: r* = 0.25, on the grid */
    check_bracket(&r, 0.25, step);
    assert_string_equal(r.certified, "0.2490234375"); /* 255/1024: the grid point below */
    assert_string_equal(r.certified_by, "crown");
    assert_string_equal(r.attacked, "0.25");
    radius_of(&t, 51, 0, false, true, &r);         /* x0 = 0.2: r* = 0.05, off the grid */
    check_bracket(&r, 0.05, step);
    assert_string_equal(r.certified, "0.0498046875"); /* 51/1024 */
    radius_of(&t, 51, 0, true, true, &r);          /* the complete engine agrees */
    check_bracket(&r, 0.05, step);
    radius_of(&t, 51, 0, false, false, &r);        /* PGD alone: the grid point above */
    check_bracket(&r, 0.05, step);
    assert_string_equal(r.attacked, "0.05078125");   /* 52/1024 */
    assert_string_equal(r.attacked_by, "pgd");
    radius_of(&t, 204, 1, false, true, &r);        /* x0 = 0.8: r* = 0.55 > max eps 0.5 */
    assert_string_equal(r.certified, "0.5");        /* the whole grid is proven */
    assert_true(r.attacked_found);                  /* DeepFool is not bounded by max eps */
    assert_string_equal(r.attacked_by, "deepfool");
    assert_double_le(0.55, r.attacked_d);
    assert_double_le(r.attacked_d, 0.55 * (1 + 1e-5));
    radius_of(&t, 204, 1, false, false, &r);       /* without DeepFool: no attack up to 0.5 */
    assert_false(r.attacked_found);
    assert_string_equal(r.attacked_by, "none");
    assert_true(isinf(r.attacked_d));
    assert_string_equal(r.certified, "0.5");
    radius_of(&t, 0, 1, false, true, &r);          /* wrong label: misclassified */
    assert_true(r.misclassified);
    assert_string_equal(r.certified_by, "none");
    assert_int_equal(r.cert_k, -1);
    assert_double_near(r.attacked_d, 0, 0);
    toy_free(&t);
}

static void test_radius_stop(void **state)
{
    (void)state;
    toy_ctx t;
    toy_init(&t);
    volatile sig_atomic_t stop = 1;
    t.pr.stop = &stop;
    vfy_radius_result r;
    radius_of(&t, 0, 0, false, true, &r);
    assert_true(r.interrupted);
    assert_int_equal(r.probes_certify, 0);
    assert_int_equal(r.probes_attack, 0);
    toy_free(&t);
}

/* ---- out of memory ------------------------------------------------------------------------------ */

typedef struct {
    toy_ctx *t;
    double eps;
    vfy_probe_verdict want, got;
} oom_probe_arg;

/* vfy_probe_certify with the complete engine: bounds, then vfy_verify */
static cn_status oom_probe(void *u, cn_err *err)
{
    oom_probe_arg *a = u;
    mpq_t x0[1], e;
    mpq_init(x0[0]);
    mpq_init(e);
    mpq_set_d(e, a->eps);
    vfy_probe_verdict v = VFY_PROBE_OPEN;
    cn_status st = vfy_probe_certify(&a->t->pr, x0, 0, e, &v, err);
    if (st == CN_OK && v != a->want && v != VFY_PROBE_OPEN) /* (open: an undecided engine) */
        fail_msg("probe of eps %g: verdict %d, expected %d", a->eps, (int)v, (int)a->want);
    a->got = v;
    mpq_clear(x0[0]);
    mpq_clear(e);
    return st;
}

/* The probe under the out-of-memory loop (wffix.h), robust and attacked balls. */
static void test_probe_oom(void **state)
{
    (void)state;
    toy_ctx t;
    toy_init(&t);
    t.pr.complete = true;
    t.pr.engine.attack_s = 0;   /* deterministic: no time-limited attack */
    t.pr.engine.attack_bursts = false;
    oom_probe_arg robust = {&t, 0.2, VFY_PROBE_ROBUST, 0}, attacked = {&t, 0.3, VFY_PROBE_ATTACKED, 0};
    oom_each(oom_probe, &robust, true, "vfy_probe_certify, robust ball");
    assert_int_equal(robust.got, VFY_PROBE_ROBUST);   /* (the last call ran without a failure) */
    oom_each(oom_probe, &attacked, true, "vfy_probe_certify (complete engine), attacked ball");
    assert_int_equal(attacked.got, VFY_PROBE_ATTACKED);
    toy_free(&t);
}


/* ---- bound-method lists ---------------------------------------------------------------------- */

static void test_prober_set_bounds(void **state)
{
    (void)state;
    vfy_prober pr;
    memset(&pr, 0, sizeof pr);
    assert_true(vfy_prober_set_bounds(&pr, "deeppoly,alpha"));
    assert_int_equal(pr.bounds.method, BND_DEEPPOLY);
    assert_int_equal(pr.n_more, 1);
    assert_int_equal(pr.more[0].method, BND_ALPHA);
    assert_true(vfy_prober_set_bounds(&pr, "crown"));
    assert_int_equal(pr.bounds.method, BND_CROWN);
    assert_int_equal(pr.n_more, 0);
    assert_true(vfy_prober_set_bounds(&pr, "interval,deeppoly,crown,alpha"));
    assert_int_equal(pr.n_more, 3);
    assert_true(vfy_prober_set_bounds(&pr, VFY_PROBE_DEFAULT_BOUNDS));
    static const char *const bad[] = {"", ",", "crown,", ",crown", "crown,crown", "sideways",
                                      "crown,,alpha", "interval,deeppoly,crown,alpha,interval"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pr.n_more = 7;   /* unchanged on a refusal */
        assert_false(vfy_prober_set_bounds(&pr, bad[i]));
        assert_int_equal(pr.n_more, 7);
    }
}

/* The toy's ball [0, 0.2]: the first method that proves it is named, and a
 * method that cannot (interval, on a ball that needs the relaxation) passes
 * on to the next one. */
static void test_probe_prove_by(void **state)
{
    (void)state;
    toy_ctx t;
    toy_init(&t);
    cn_err err;
    mpq_t x0[1], e;
    mpq_init(x0[0]);
    mpq_init(e);
    mpq_set_ui(x0[0], 51, 255);   /* x0 = 0.2, r* = 0.05 */
    mpq_canonicalize(x0[0]);
    mpq_set_ui(e, 1, 25);         /* 0.04 */
    vfy_probe_verdict v;
    const char *by = "x";
    assert_true(vfy_prober_set_bounds(&t.pr, "interval"));
    assert_int_equal(vfy_probe_prove(&t.pr, x0, 0, e, false, &v, &by, &err), CN_OK);
    printf("# interval on [0.16, 0.24]: %s\n", v == VFY_PROBE_ROBUST ? "proven" : "open");
    if (v == VFY_PROBE_ROBUST) {
        assert_string_equal(by, "interval");
    } else {
        assert_null(by);
        assert_true(vfy_prober_set_bounds(&t.pr, "interval,crown"));
        assert_int_equal(vfy_probe_prove(&t.pr, x0, 0, e, false, &v, &by, &err), CN_OK);
        assert_int_equal(v, VFY_PROBE_ROBUST);
        assert_string_equal(by, "crown");
    }
    mpq_set_ui(e, 1, 10);         /* 0.1 > r*: open for bounds, attacked for the engine */
    assert_true(vfy_prober_set_bounds(&t.pr, "deeppoly,crown"));
    assert_int_equal(vfy_probe_prove(&t.pr, x0, 0, e, false, &v, &by, &err), CN_OK);
    assert_int_equal(v, VFY_PROBE_OPEN);
    assert_null(by);
    assert_int_equal(vfy_probe_prove(&t.pr, x0, 0, e, true, &v, &by, &err), CN_OK);
    assert_int_equal(v, VFY_PROBE_ATTACKED);
    assert_string_equal(by, "complete");
    mpq_clear(x0[0]);
    mpq_clear(e);
    toy_free(&t);
}

/* ---- radius against a brute-force grid on the zoo models --------------------------------------- */

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"
#define ZOO_BITS 6                  /* grid of 64 steps up to 0.25 */
#define ZOO_SAMPLES 4               /* test images 0..3 (image 1: CROWN not monotone) */

static ds_set *fashion(int count)
{
    const char *img = FASHION_DIR "/t10k-images-idx3-ubyte.gz";
    const char *lab = FASHION_DIR "/t10k-labels-idx1-ubyte.gz";
    if (access(img, R_OK) != 0 || access(lab, R_OK) != 0)
        fail_msg("%s or %s is missing: install the Debian package dataset-fashion-mnist", img,
                 lab);
    cn_err err;
    ds_set *d = NULL;
    if (ds_load(img, lab, 0, count, &d, &err) != CN_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(d->n, count);
    return d;
}

typedef struct {
    vfy_prober pr;
    net *n;
    mpq_t *x0;
    int in;
} zoo_ctx;

static void zoo_open(zoo_ctx *z, const char *path, const char *bounds)
{
    cn_err err;
    memset(z, 0, sizeof *z);
    if (net_load(path, &z->n, &err) != CN_OK)
        fail_msg("%s", err.msg);
    z->in = net_in_size(z->n);
    z->pr.n = z->n;
    z->pr.bc = bnd_ctx_new(z->n, &err);
    assert_non_null(z->pr.bc);
    assert_true(vfy_prober_set_bounds(&z->pr, bounds));
    vfy_opts_init(&z->pr.engine);
    atk_opts_init(&z->pr.pgd);
    z->pr.pgd.time_limit = 1;     /* (a bound; 8 restarts of 50 steps end first) */
    z->pr.pgd.max_restarts = 8;
    z->pr.pgd.batch = 8;
    z->pr.pgd.iters = 50;
    z->x0 = malloc(sizeof(mpq_t) * (size_t)z->in);
    assert_non_null(z->x0);
    for (int k = 0; k < z->in; k++)
        mpq_init(z->x0[k]);
}

static void zoo_close(zoo_ctx *z)
{
    for (int k = 0; k < z->in; k++)
        mpq_clear(z->x0[k]);
    free(z->x0);
    bnd_ctx_free(z->pr.bc);
    net_free(z->n);
}

/* eps_k = k * 0.25 / 2^bits */
static void zoo_eps(mpq_t e, long k, int bits)
{
    mpq_set_si(e, k, 4);
    mpq_div_2exp(e, e, (unsigned long)bits);
}

static void zoo_radius(zoo_ctx *z, int label, int bits, int scan, vfy_radius_result *r)
{
    cn_err err;
    vfy_radius_opts o;
    vfy_radius_opts_init(&o);
    o.max_eps = "0.25";
    o.bits = bits;
    o.scan = scan;
    if (vfy_radius(&z->pr, z->x0, label, &o, r, &err) != CN_OK)
        fail_msg("vfy_radius: %s", err.msg);
    assert_false(r->interrupted);
}

/* Which grid points PGD attacks, by brute force: attacked[k], and the
 * smallest such k (-1: none).  The same for every bound method. */
static long zoo_attacks(zoo_ctx *z, int label, char *attacked /*[N+1]*/)
{
    cn_err err;
    long N = 1L << ZOO_BITS, min_att = -1;
    mpq_t e;
    mpq_init(e);
    for (long k = 0; k <= N; k++) {
        vfy_probe_verdict v;
        zoo_eps(e, k, ZOO_BITS);
        assert_int_equal(vfy_probe_attack(&z->pr, z->x0, label, e, &v, &err), CN_OK);
        attacked[k] = k > 0 && v == VFY_PROBE_ATTACKED;
        if (attacked[k] && min_att < 0)
            min_att = k;
    }
    mpq_clear(e);
    return min_att;
}

/* One sample and the prober's bound methods: every grid point certified by
 * brute force (bounds only, the same methods); radius's certified is the
 * largest point proven (by the same method), and its attacked radius lies
 * above every proven point; min_att: the smallest grid point PGD attacks. */
static void zoo_sample(zoo_ctx *z, const char *name, int i, int label, const char *bounds,
                       long min_att)
{
    cn_err err;
    long N = 1L << ZOO_BITS, maxk = 0;
    vfy_radius_result r, r0;
    zoo_radius(z, label, ZOO_BITS, 256, &r);
    zoo_radius(z, label, ZOO_BITS, 0, &r0);   /* bisection only, as before */
    assert_false(r.misclassified);
    mpq_t e, a;
    mpq_inits(e, a, NULL);
    char proven[(1L << ZOO_BITS) + 1];
    const char *by_max = "clean";
    proven[0] = 1;                             /* x0 itself, checked exactly */
    for (long k = 1; k <= N; k++) {
        vfy_probe_verdict v;
        const char *by = NULL;
        zoo_eps(e, k, ZOO_BITS);
        assert_int_equal(vfy_probe_prove(&z->pr, z->x0, label, e, false, &v, &by, &err), CN_OK);
        proven[k] = v == VFY_PROBE_ROBUST;
        if (proven[k]) {
            maxk = k;
            by_max = by;
        }
    }
    printf("# %s sample %d (%s): brute force: largest proven k %ld, smallest attacked k %ld; "
           "radius: certified %s = k %ld (%s), attacked %s (%s), bisection only k %ld\n",
           name, i, bounds, maxk, min_att, r.certified, r.cert_k, r.certified_by, r.attacked,
           r.attacked_by, r0.cert_k);
    /* sound both ways: no proof at or above a confirmed attack */
    if (min_att >= 0)
        assert_true(maxk < min_att);
    /* radius finds the largest proven grid point, proven by the same method */
    assert_int_equal(r.cert_k, maxk);
    assert_string_equal(r.certified_by, by_max);
    /* attacked >= every proven point (strictly above: the proven ball holds no attack) */
    if (r.attacked_found) {
        assert_true(cn_mpq_set_decimal(a, r.attacked, strlen(r.attacked)));
        for (long k = 0; k <= N; k++)
            if (proven[k]) {
                zoo_eps(e, k, ZOO_BITS);
                assert_true(mpq_cmp(a, e) > 0);
            }
    }
    /* the bisection alone never claims more than it proved */
    assert_true(r0.cert_k >= 0 && r0.cert_k <= maxk && proven[r0.cert_k]);
    /* a scan of 3 probes a round (stride > 1, several rounds): a proven
     * point, no lower than the bisection's, and at most 3 probes for each
     * factor 3 of the 65 grid points (4 rounds) */
    vfy_radius_result r3;
    zoo_radius(z, label, ZOO_BITS, 3, &r3);
    assert_true(r3.cert_k >= r0.cert_k && r3.cert_k <= maxk && proven[r3.cert_k]);
    assert_true(r3.probes_scan <= 3 * 4);
    mpq_clears(e, a, NULL);
}

static void test_radius_zoo_brute_force(void **state)
{
    (void)state;
    ds_set *d = fashion(ZOO_SAMPLES);
    char zoo[4096];
    snprintf(zoo, sizeof zoo, "%s", tu_src("models/zoo"));
    DIR *dh = opendir(zoo);
    if (!dh)
        fail_msg("%s: cannot open the model zoo", zoo);
    int models = 0, samples = 0;
    struct dirent *de;
    /* the default, CROWN (not monotone on fmnist_ibp), and, on one sample
     * where alpha proves more than DeepPoly (its failed probes are slow), a
     * list of two */
    static const char *const methods[] = {VFY_PROBE_DEFAULT_BOUNDS, "crown", "deeppoly,alpha"};
    cn_err err;
    while ((de = readdir(dh))) {
        size_t len = strlen(de->d_name);
        if (len < 6 || strcmp(de->d_name + len - 5, ".onnx") != 0)
            continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", zoo, de->d_name);
        zoo_ctx z;
        zoo_open(&z, path, methods[0]);
        for (int i = 0; i < d->n; i++) {
            int label = d->labels[i];
            ds_input_q(d, i, z.x0);
            bool correct = false;
            assert_int_equal(vfy_probe_clean(&z.pr, z.x0, label, &correct, &err), CN_OK);
            if (!correct) {
                vfy_radius_result r;
                zoo_radius(&z, label, ZOO_BITS, 256, &r);
                assert_true(r.misclassified);
                assert_int_equal(r.cert_k, -1);
                continue;
            }
            char attacked[(1L << ZOO_BITS) + 1];
            long min_att = zoo_attacks(&z, label, attacked);
            bool two = i == 1 && strcmp(de->d_name, "fmnist_fgsm.onnx") == 0;
            for (size_t m = 0; m < sizeof methods / sizeof methods[0] - !two; m++) {
                assert_true(vfy_prober_set_bounds(&z.pr, methods[m]));
                zoo_sample(&z, de->d_name, i, label, methods[m], min_att);
            }
            assert_true(vfy_prober_set_bounds(&z.pr, methods[0]));
            samples++;
        }
        zoo_close(&z);
        models++;
    }
    closedir(dh);
    printf("# %d models, %d correctly classified samples\n", models, samples);
    assert_true(models >= 4);
    assert_true(samples >= 2 * models);
    ds_free(d);
}

/* The case of the issue: on fmnist_ibp, test image 1, CROWN proves 0.25
 * but not 0.11; the bisection alone stopped below 0.11, the scan reaches
 * the largest proven grid point. */
static void test_radius_not_monotone(void **state)
{
    (void)state;
    ds_set *d = fashion(2);
    zoo_ctx z;
    zoo_open(&z, tu_src("models/zoo/fmnist_ibp.onnx"), "crown");
    cn_err err;
    int label = d->labels[1];
    ds_input_q(d, 1, z.x0);
    mpq_t e;
    mpq_init(e);
    vfy_probe_verdict v11, v25;
    mpq_set_ui(e, 11, 100);
    assert_int_equal(vfy_probe_prove(&z.pr, z.x0, label, e, false, &v11, NULL, &err), CN_OK);
    mpq_set_ui(e, 1, 4);
    assert_int_equal(vfy_probe_prove(&z.pr, z.x0, label, e, false, &v25, NULL, &err), CN_OK);
    printf("# CROWN on image 1: eps 0.11 %s, eps 0.25 %s\n",
           v11 == VFY_PROBE_ROBUST ? "proven" : "open", v25 == VFY_PROBE_ROBUST ? "proven" : "open");
    assert_int_equal(v11, VFY_PROBE_OPEN);
    assert_int_equal(v25, VFY_PROBE_ROBUST);
    vfy_radius_result r, r0;
    zoo_radius(&z, label, 8, 256, &r);
    zoo_radius(&z, label, 8, 0, &r0);
    printf("# radius: %s (%s, %d scan probes); bisection only: %s\n", r.certified,
           r.certified_by, r.probes_scan, r0.certified);
    assert_true(r0.certified_d < 0.11);           /* the old answer */
    assert_int_equal(r.cert_k, 256);              /* eps_256 = 0.25 is proven */
    assert_string_equal(r.certified, "0.25");
    assert_string_equal(r.certified_by, "crown");
    assert_true(r.probes_scan >= 1);
    assert_true(r.certified_d < r.attacked_d);
    mpq_clear(e);
    zoo_close(&z);
    ds_free(d);
}

/* ---- compare's plot: the partial-results mark ---------------------------------------------------- */

/* Pixels of the PNG at path in the partial mark's exact colour. */
static long mark_pixels(const char *path)
{
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    cairo_surface_flush(s);
    const double rgb[3] = {WF_PLOT_PARTIAL_RGB};
    uint32_t want = ((uint32_t)lround(rgb[0] * 255) << 16) | ((uint32_t)lround(rgb[1] * 255) << 8) |
                    (uint32_t)lround(rgb[2] * 255);
    int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
    int stride = cairo_image_surface_get_stride(s);
    const unsigned char *px = cairo_image_surface_get_data(s);
    long count = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint32_t v;
            memcpy(&v, px + (size_t)y * (size_t)stride + 4 * (size_t)x, 4);
            count += (v & 0xffffff) == want;
        }
    cairo_surface_destroy(s);
    return count;
}

static void test_plot_partial_mark(void **state)
{
    (void)state;
    cn_err err;
    double x[3] = {0, 0.01, 0.02}, c1[3] = {90, 60, 30}, a1[3] = {90, 70, 50};
    wf_series s[2] = {{"net-a", c1, a1, NULL}, {"net-b", c1, a1, NULL}};
    wf_plot p = {"title", "eps", "accuracy (%)", 3, x, 2, s};
    assert_int_equal(wf_plot_write(&p, tpath("full.png"), NULL, 900, 620, &err), CN_OK);
    s[1].partial = "2 of 3 samples, interrupted";
    assert_int_equal(wf_plot_write(&p, tpath("part.png"), NULL, 900, 620, &err), CN_OK);
    s[1].cert = s[1].att = NULL;   /* no sample finished: legend only */
    assert_int_equal(wf_plot_write(&p, tpath("none.png"), tpath("none.svg"), 900, 620, &err),
                     CN_OK);
    long full = mark_pixels(tpath("full.png")), part = mark_pixels(tpath("part.png"));
    long none = mark_pixels(tpath("none.png"));
    printf("# pixels in the partial mark's colour: complete %ld, partial %ld, empty %ld\n", full,
           part, none);
    assert_int_equal(full, 0);
    assert_true(part > 100);
    assert_true(none > 100);
}

int test_workflow_radius_group(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_radius_bits),
        cmocka_unit_test(test_prop_bounds_toy),
        cmocka_unit_test(test_bounds_inexact_coefs),
        cmocka_unit_test(test_radius_toy),
        cmocka_unit_test(test_radius_stop),
        cmocka_unit_test(test_probe_oom),
        cmocka_unit_test(test_prober_set_bounds),
        cmocka_unit_test(test_probe_prove_by),
        cmocka_unit_test(test_radius_not_monotone),
        cmocka_unit_test(test_radius_zoo_brute_force),
        cmocka_unit_test(test_plot_partial_mark),
    };
    return cmocka_run_group_tests_name("workflow_radius", tests, scratch_setup, scratch_teardown);
}

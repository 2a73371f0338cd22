/* test_attacks.c — input gradients (finite differences, exact difference
 * quotients, hand-derived values incl. conv), PGD / FGSM / DeepFool on
 * constructed networks, and the soundness rules: every reported point passes
 * the exact check, provably safe properties never yield one, and a point the
 * float margin calls violated but exact arithmetic does not is never reported. */
#include "config.h"

#include <math.h>

#include "attacks/attacks.h"
#include "tests/netgen.h"
#include "tests/testutil.h"

#define TWO_M60 "0.000000000000000000867361737988403547205962240695953369140625"

/* VNN-LIB pieces the properties below are made of. */
#define DECL_X2_Y1 "(declare-const X_0 Real)(declare-const X_1 Real)(declare-const Y_0 Real)"
#define DECL_X3_Y1                                                                          \
    "(declare-const X_0 Real)(declare-const X_1 Real)(declare-const X_2 Real)"              \
    "(declare-const Y_0 Real)"
#define UNIT_BOX2 "(assert (>= X_0 0))(assert (<= X_0 1))(assert (>= X_1 0))(assert (<= X_1 1))"
#define SYM_BOX3                                                                            \
    "(assert (>= X_0 -1))(assert (<= X_0 1))(assert (>= X_1 -1))"                           \
    "(assert (<= X_1 1))(assert (>= X_2 -1))(assert (<= X_2 1))"
#define X1_IS_TWO_M60 "(assert (>= X_1 " TWO_M60 "))(assert (<= X_1 " TWO_M60 "))"

static prop *parse(const char *text)
{
    prop *p = NULL;
    cn_err err;
    cn_status s = prop_parse_vnnlib_mem(text, strlen(text), "test.vnnlib", 0, &p, &err);
    if (s != CN_OK)
        fail_msg("vnnlib: %s", err.msg);
    return p;
}

/* Attack options without a time limit (restarts, batch size, iterations);
 * also initialises the run's result res. */
static atk_opts search_opts(atk_result *res, int restarts, int batch, int iters)
{
    atk_result_init(res);
    atk_opts o;
    atk_opts_init(&o);
    o.time_limit = 0;
    o.max_restarts = restarts;
    o.batch = batch;
    o.iters = iters;
    return o;
}

/* Clears an attack's result and frees its property and net. */
static void free_run(atk_result *res, prop *p, net *n)
{
    atk_result_clear(res);
    prop_free(p);
    net_free(n);
}

/* A dense ReLU net in -> h1 -> h2 -> out with float32 weights (netgen.h). */
static net *f32_mlp(tu_rng *r, int in, int h1, int h2, int out)
{
    const int sizes[] = {in, h1, h2, out};
    return dense_net(r, sizes, 4, draw_f32, 0);
}

/* A random point x0[in] of values k/255 (x0 initialised here) and n's
 * float argmax label at it. */
static int labelled_point(tu_rng *r, const net *n, mpq_t *x0)
{
    int in = net_in_size(n), out = net_out_size(n);
    double *xd = malloc(sizeof(double) * (size_t)in), *y = malloc(sizeof(double) * (size_t)out);
    for (int i = 0; i < in; i++) {
        mpq_init(x0[i]);
        mpq_set_ui(x0[i], (unsigned long)(tu_next(r) % 256), 255);
        xd[i] = mpq_get_d(x0[i]);
    }
    cn_err err;
    assert_int_equal(net_forward(n, 1, xd, y, &err), CN_OK);
    int label = 0;
    for (int j = 1; j < out; j++)
        if (y[j] > y[label])
            label = j;
    free(xd);
    free(y);
    return label;
}

/* The reported point re-checked from scratch: in the region, violated. */
static void assert_confirmed(const prop *p, const net *n, const atk_result *res)
{
    assert_true(res->found);
    assert_non_null(res->x);
    prop_check c;
    prop_check_init(&c);
    cn_err err;
    assert_int_equal(prop_check_point(p, n, res->x, &c, &err), CN_OK);
    assert_true(c.violated);
    assert_true(c.case_idx >= 0);
    const prop_case *pc = prop_case_at(p, c.case_idx);
    for (int i = 0; i < prop_n_in(p); i++) {
        assert_true(mpq_cmp(res->x[i], pc->lo[i]) >= 0);
        assert_true(mpq_cmp(res->x[i], pc->hi[i]) <= 0);
    }
    for (int k = 0; k < c.n_margin; k++)
        assert_true(mpq_sgn(c.margin[k]) >= 0);
    prop_check_clear(&c);
    /* the reported check agrees */
    assert_true(res->check.violated);
}

/* ---- gradients ---------------------------------------------------------- */

/* Central differences against the reverse-mode gradient of c.y, batched. */
static void check_fd(const net *n, tu_rng *r, int batch)
{
    int in = net_in_size(n), out = net_out_size(n);
    double *x = malloc(sizeof(double) * (size_t)(batch * in)),
           *c = malloc(sizeof(double) * (size_t)(batch * out)),
           *g = malloc(sizeof(double) * (size_t)(batch * in)),
           *y = malloc(sizeof(double) * (size_t)(batch * out)),
           *xp = malloc(sizeof(double) * (size_t)in), *yp = malloc(sizeof(double) * (size_t)out),
           *ym = malloc(sizeof(double) * (size_t)out);
    for (int k = 0; k < batch * in; k++)
        x[k] = 2.0 * tu_unif(r) - 1.0;
    for (int k = 0; k < batch * out; k++)
        c[k] = 2.0 * tu_unif(r) - 1.0;
    cn_err err;
    assert_int_equal(atk_gradient(n, batch, x, c, y, g, &err), CN_OK);
    /* y agrees with net_forward */
    double *y2 = malloc(sizeof(double) * (size_t)(batch * out));
    assert_int_equal(net_forward(n, batch, x, y2, &err), CN_OK);
    for (int k = 0; k < batch * out; k++)
        assert_double_near(y[k], y2[k], 1e-12);
    free(y2);
    const double h = 1e-6;
    int nonzero = 0;
    for (int s = 0; s < batch; s++) {
        for (int i = 0; i < in; i++) {
            memcpy(xp, x + (size_t)s * in, sizeof(double) * (size_t)in);
            xp[i] += h;
            assert_int_equal(net_forward(n, 1, xp, yp, &err), CN_OK);
            xp[i] -= 2 * h;
            assert_int_equal(net_forward(n, 1, xp, ym, &err), CN_OK);
            double fd = 0;
            for (int o = 0; o < out; o++)
                fd += c[s * out + o] * (yp[o] - ym[o]) / (2 * h);
            double gi = g[(size_t)s * in + i];
            assert_double_near(gi, fd, 1e-6 * (1 + fabs(fd)));
            nonzero += gi != 0.0;
        }
    }
    assert_true(nonzero > 0);
    free(x);
    free(c);
    free(g);
    free(y);
    free(xp);
    free(yp);
    free(ym);
}

static void test_grad_fd_dense(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("grad_fd_dense", 11)};
    net *n = f32_mlp(&r, 6, 9, 7, 4);
    check_fd(n, &r, 5);
    net_free(n);
}

static void test_grad_fd_conv(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("grad_fd_conv", 12)};
    net *n = conv_net(&r, draw_f32, 0);
    check_fd(n, &r, 3);
    net_free(n);
}

/* On a piecewise-linear net the gradient is the exact difference quotient
 * (y(x + d e_i) - y(x)) / d inside one linear region: compare with exact
 * rationals (d = 2^-30, far below the distance to any kink here). */
static void test_grad_exact_quotient(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("grad_exact", 13)};
    net *n = f32_mlp(&r, 5, 8, 8, 3);
    int in = 5, out = 3;
    double x[5], c[3] = {1.0, -0.5, 0.25}, g[5];
    for (int i = 0; i < in; i++)
        x[i] = 2.0 * tu_unif(&r) - 1.0;
    cn_err err;
    assert_int_equal(atk_gradient(n, 1, x, c, NULL, g, &err), CN_OK);
    mpq_t xq[5], y0[3], y1[3], d, q, acc, t;
    for (int i = 0; i < in; i++)
        mpq_init(xq[i]);
    for (int o = 0; o < out; o++) {
        mpq_init(y0[o]);
        mpq_init(y1[o]);
    }
    mpq_inits(d, q, acc, t, NULL);
    mpq_set_ui(d, 1, 1u << 30);
    for (int i = 0; i < in; i++)
        mpq_set_d(xq[i], x[i]);
    assert_int_equal(net_eval_exact(n, xq, y0, &err), CN_OK);
    for (int i = 0; i < in; i++) {
        mpq_add(xq[i], xq[i], d);
        assert_int_equal(net_eval_exact(n, xq, y1, &err), CN_OK);
        mpq_sub(xq[i], xq[i], d);
        mpq_set_ui(acc, 0, 1);
        for (int o = 0; o < out; o++) {
            mpq_sub(q, y1[o], y0[o]);
            mpq_div(q, q, d);
            mpq_set_d(t, c[o]);
            mpq_mul(q, q, t);
            mpq_add(acc, acc, q);
        }
        assert_double_near(g[i], mpq_get_d(acc), 1e-12 * (1 + fabs(g[i])));
    }
    for (int i = 0; i < in; i++)
        mpq_clear(xq[i]);
    for (int o = 0; o < out; o++) {
        mpq_clear(y0[o]);
        mpq_clear(y1[o]);
    }
    mpq_clears(d, q, acc, t, NULL);
    net_free(n);
}

/* Hand-derived: y = 2 relu(x0 - 2 x1) + 5 relu(3 x0 + x1 - 10) at (1, 0.25):
 * the second unit is off, so dy/dx = 2 (1, -2) = (2, -4). */
static void test_grad_hand_dense(void **state)
{
    (void)state;
    cn_err err;
    net *n = dense2_net(2, (const double[]){1, -2, 3, 1}, (const double[]){0, -10});
    assert_non_null(net_add_relu(n, &err));
    net_layer *l = net_add_dense(n, 1, &err);
    l->W[0] = 2;
    l->W[1] = 5;
    double x[] = {1, 0.25}, c[] = {1}, y, g[2];
    assert_int_equal(atk_gradient(n, 1, x, c, &y, g, &err), CN_OK);
    assert_double_near(y, 1.0, 0);
    assert_double_near(g[0], 2.0, 0);
    assert_double_near(g[1], -4.0, 0);
    /* with c = -1 the gradient flips */
    c[0] = -1;
    assert_int_equal(atk_gradient(n, 1, x, c, NULL, g, &err), CN_OK);
    assert_double_near(g[0], -2.0, 0);
    assert_double_near(g[1], 4.0, 0);
    net_free(n);
}

/* Hand-derived conv: 3x3 input, kernel [[1,2],[3,4]] stride 1 -> 2x2, then
 * dense v = (1, -1, 2, 0.5): grad[iy][ix] = sum_{oy,ox} v[oy][ox] K[iy-oy][ix-ox]. */
static void test_grad_hand_conv(void **state)
{
    (void)state;
    cn_err err;
    net *n = net_new((net_shape){1, 3, 3});
    net_layer *l = net_add_conv(n, 1, 2, 2, 1, 1, 0, 0, 0, 0, &err);
    assert_non_null(l);
    double K[] = {1, 2, 3, 4};
    memcpy(l->W, K, sizeof K);
    l->b[0] = 0.5;
    l = net_add_dense(n, 1, &err);
    double v[] = {1, -1, 2, 0.5};
    memcpy(l->W, v, sizeof v);
    double x[9], c[] = {1}, g[9];
    for (int i = 0; i < 9; i++)
        x[i] = 0.125 * i;
    assert_int_equal(atk_gradient(n, 1, x, c, NULL, g, &err), CN_OK);
    const double want[] = {1, 1, -2, 5, 5.5, -3, 6, 9.5, 2};
    for (int i = 0; i < 9; i++)
        assert_double_near(g[i], want[i], 0);
    net_free(n);
}

/* A batch gives the same gradients as its samples one at a time. */
static void test_grad_batch_matches_single(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("grad_batch", 14)};
    net *n = conv_net(&r, draw_f32, 0);
    int in = net_in_size(n), out = net_out_size(n), B = 4;
    double *x = malloc(sizeof(double) * (size_t)(B * in)), *c = malloc(sizeof(double) * (size_t)(B * out)),
           *g = malloc(sizeof(double) * (size_t)(B * in)), *g1 = malloc(sizeof(double) * (size_t)in);
    for (int k = 0; k < B * in; k++)
        x[k] = tu_unif(&r);
    for (int k = 0; k < B * out; k++)
        c[k] = tu_unif(&r) - 0.5;
    cn_err err;
    assert_int_equal(atk_gradient(n, B, x, c, NULL, g, &err), CN_OK);
    for (int s = 0; s < B; s++) {
        assert_int_equal(atk_gradient(n, 1, x + s * in, c + s * out, NULL, g1, &err), CN_OK);
        for (int i = 0; i < in; i++)
            assert_double_near(g[s * in + i], g1[i], 1e-12);
    }
    free(x);
    free(c);
    free(g);
    free(g1);
    net_free(n);
}

/* ---- PGD / FGSM on properties -------------------------------------------- */

/* y = relu(x0 + x1 - 1.8): unsafe y >= 0.15 needs x0 + x1 >= 1.95, a small
 * corner of [0,1]^2 that PGD must find.  The ReLU is off (zero gradient) on
 * most of the box, so only restarts from random points get there; without
 * the ReLU the gradient points to the corner from anywhere. */
static net *corner_net(bool relu)
{
    cn_err err;
    net *n = dense2_net(1, (const double[]){1, 1}, (const double[]){-1.8});
    if (relu)
        assert_non_null(net_add_relu(n, &err));
    return n;
}

static const char *corner_prop = DECL_X2_Y1 "\n" UNIT_BOX2 "\n(assert (>= Y_0 0.15))\n";

static void run_ok(const net *n, const prop *p, const atk_opts *o, atk_result *res)
{
    cn_err err;
    cn_status s = atk_run(n, p, o, res, &err);
    if (s != CN_OK)
        fail_msg("atk_run: %s", err.msg);
}

static void test_pgd_finds_corner(void **state)
{
    (void)state;
    net *n = corner_net(true);
    prop *p = parse(corner_prop);
    atk_result res;
    atk_opts o = search_opts(&res, 64, 8, 30);
    run_ok(n, p, &o, &res);
    assert_confirmed(p, n, &res);
    assert_true(res.x_d[0] + res.x_d[1] >= 1.95);
    assert_true(res.restarts > 1); /* the centre start alone cannot move */
    /* without the ReLU, FGSM from the centre steps straight to the corner (1,1) */
    net_free(n);
    n = corner_net(false);
    o.method = ATK_FGSM;
    o.max_restarts = 1;
    o.batch = 1;
    run_ok(n, p, &o, &res);
    assert_confirmed(p, n, &res);
    assert_double_near(res.x_d[0], 1.0, 0);
    assert_double_near(res.x_d[1], 1.0, 0);
    free_run(&res, p, n);
}

/* Output constant 1 by construction (all weights 0): unsafe y <= 0.99 can
 * never hold; a ReLU output can never be negative either. */
static void test_safe_never_sat(void **state)
{
    (void)state;
    cn_err err;
    tu_rng r = {tu_seed("safe_never_sat", 15)};
    const int sizes[] = {3, 6, 1};
    net *n = dense_net(&r, sizes, 3, draw_f32, 0);
    net_layer *last = (net_layer *)net_layer_at(n, net_n_layers(n) - 1);
    memset(last->W, 0, sizeof(double) * 6);
    last->b[0] = 1.0;
    prop *p = parse(DECL_X3_Y1 SYM_BOX3 "(assert (<= Y_0 0.99))");
    atk_result res;
    atk_opts o = search_opts(&res, 64, 16, 20);
    for (int m = 0; m < 2; m++) {
        o.method = m ? ATK_FGSM : ATK_PGD;
        run_ok(n, p, &o, &res);
        assert_false(res.found);
        assert_null(res.x);
        assert_true(res.restarts >= 64);
    }
    prop_free(p);
    net_free(n);

    /* y = relu(W x + b) >= 0 everywhere: unsafe y <= -2^-60 is empty */
    n = dense_net(&r, sizes, 3, draw_f32, 0);
    assert_non_null(net_add_relu(n, &err));
    p = parse(DECL_X3_Y1 SYM_BOX3 "(assert (<= Y_0 -" TWO_M60 "))");
    o.method = ATK_PGD;
    run_ok(n, p, &o, &res);
    assert_false(res.found);
    free_run(&res, p, n);
}

/* y = x0 - x1 with x1 fixed at 2^-60.  At x0 = 1 the float output is
 * fl(1 - 2^-60) = 1, so the float margin for "y >= 1" says violated, while
 * exactly y = 1 - 2^-60 < 1.  With x0 in [0, 1] the property is safe: the
 * attack must consider that point and reject it. */
static net *diff_net(void) { return dense2_net(1, (const double[]){1, -1}, NULL); }

static void test_boundary_float_says_violated(void **state)
{
    (void)state;
    net *n = diff_net();
    double x[] = {1.0, ldexp(1.0, -60)}, y;
    cn_err err;
    assert_int_equal(net_forward(n, 1, x, &y, &err), CN_OK);
    assert_double_near(y, 1.0, 0); /* float: on the unsafe side (y >= 1) */
    prop *p = parse(DECL_X2_Y1 "(assert (>= X_0 0))(assert (<= X_0 1))" X1_IS_TWO_M60
                    "(assert (>= Y_0 1))");
    prop_check c;
    prop_check_init(&c);
    assert_int_equal(prop_check_point_d(p, n, x, &c, &err), CN_OK);
    assert_false(c.violated); /* exactly: not a counterexample */
    prop_check_clear(&c);
    atk_result res;
    atk_opts o = search_opts(&res, 32, 8, 20);
    for (int m = 0; m < 2; m++) {
        o.method = m ? ATK_FGSM : ATK_PGD;
        run_ok(n, p, &o, &res);
        assert_false(res.found);
        assert_true(res.exact_rejected > 0); /* the float candidate was seen and refused */
    }
    free_run(&res, p, n);
}

/* Same net, x0 in [0.5, 1.5]: the search starts at the centre x0 = 1, where
 * the float margin is 0 but the exact check fails; nudging a little further
 * along the gradient gives a confirmed counterexample. */
static void test_boundary_nudge(void **state)
{
    (void)state;
    net *n = diff_net();
    prop *p = parse(DECL_X2_Y1 "(assert (>= X_0 0.5))(assert (<= X_0 1.5))" X1_IS_TWO_M60
                    "(assert (>= Y_0 1))");
    atk_result res;
    atk_opts o = search_opts(&res, 8, 1, 5);
    run_ok(n, p, &o, &res);
    assert_confirmed(p, n, &res);
    assert_int_equal(res.exact_rejected, 1);
    assert_int_equal(res.nudged, 1);
    assert_true(res.x_d[0] > 1.0 && res.x_d[0] < 1.0 + 1e-6);
    free_run(&res, p, n);
}

/* Two disjuncts; only the second is reachable (y0 <= -5 is impossible since
 * y0 = x0 in [0,1]; y1 = x1 >= 0.9 is reachable). */
static void test_targeted(void **state)
{
    (void)state;
    net *n = ident2_net();
    prop *p = parse(DECL_X2_Y1 "(declare-const Y_1 Real)" UNIT_BOX2
                    "(assert (or (and (<= Y_0 -5)) (and (>= Y_1 0.9))))");
    assert_int_equal(prop_n_cases(p), 1);
    assert_int_equal(prop_case_at(p, 0)->n_disj, 2);
    atk_result res;
    atk_opts o = search_opts(&res, 32, 8, 20);
    o.target = 0;
    run_ok(n, p, &o, &res);
    assert_false(res.found);
    o.target = 1;
    run_ok(n, p, &o, &res);
    assert_confirmed(p, n, &res);
    assert_int_equal(res.check.disj_idx, 1);
    o.target = -1;
    run_ok(n, p, &o, &res);
    assert_confirmed(p, n, &res);
    free_run(&res, p, n);
}

/* A random classifier and an eps-ball: two runs with the same seed agree
 * bit for bit; every point found is confirmed. */
static void test_deterministic(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("deterministic", 16)};
    net *n = f32_mlp(&r, 12, 16, 16, 4);
    mpq_t x0[12], eps, lo, hi;
    int label = labelled_point(&r, n, x0);
    cn_err err;
    mpq_inits(eps, lo, hi, NULL);
    mpq_set_ui(eps, 3, 10);
    mpq_set_ui(lo, 0, 1);
    mpq_set_ui(hi, 1, 1);
    prop *p = NULL;
    assert_int_equal(prop_eps_ball(12, x0, eps, lo, hi, 4, label, &p, &err), CN_OK);
    atk_result a, b;
    atk_opts o = search_opts(&a, 64, 16, 30);
    o.seed = 1234;
    atk_result_init(&b);
    run_ok(n, p, &o, &a);
    run_ok(n, p, &o, &b);
    assert_int_equal(a.found, b.found);
    assert_int_equal(a.iterations, b.iterations);
    assert_int_equal(a.restarts, b.restarts);
    assert_int_equal(a.exact_checks, b.exact_checks);
    if (a.found) {
        assert_confirmed(p, n, &a);
        for (int i = 0; i < 12; i++)
            assert_true(mpq_equal(a.x[i], b.x[i]));
    }
    /* a sizeable eps on a random net: PGD should succeed (checks the test
     * above compared real points) */
    assert_true(a.found);
    atk_result_clear(&a);
    atk_result_clear(&b);
    prop_free(p);
    for (int i = 0; i < 12; i++)
        mpq_clear(x0[i]);
    mpq_clears(eps, lo, hi, NULL);
    net_free(n);
}

/* A time limit far below one iteration on a safe property: stops, flags it. */
static void test_time_limit(void **state)
{
    (void)state;
    net *n = diff_net();
    prop *p = parse(DECL_X2_Y1 UNIT_BOX2 "(assert (>= Y_0 3))");
    atk_opts o;
    atk_opts_init(&o);
    o.time_limit = 1e-9;
    o.max_restarts = 0;
    atk_result res;
    atk_result_init(&res);
    run_ok(n, p, &o, &res);
    assert_false(res.found);
    assert_true(res.timed_out);
    free_run(&res, p, n);
}

/* Every allocation failure gives CN_ENOMEM and leaks nothing. */
static void test_out_of_memory(void **state)
{
    (void)state;
    net *n = corner_net(true);
    prop *p = parse(corner_prop);
    atk_result res;
    atk_opts o = search_opts(&res, 16, 4, 10);
    long live = cn_alloc_live();
    int failures = 0;
    for (long k = 1; k < 1000; k++) {
        cn_err err;
        cn_alloc_fail_after(k);
        cn_status s = atk_run(n, p, &o, &res, &err);
        cn_alloc_fail_after(0);
        if (s == CN_OK) {
            assert_true(res.found);
            break;
        }
        assert_int_equal(s, CN_ENOMEM);
        assert_false(res.found);
        assert_int_equal(cn_alloc_live(), live);
        failures++;
    }
    assert_true(failures > 5);
    atk_result_clear(&res);
    assert_int_equal(cn_alloc_live(), live);
    prop_free(p);
    net_free(n);
}

/* ---- DeepFool ------------------------------------------------------------ */

/* y = (x0, x1) at x = (0.6, 0.4), label 0: the boundary x0 = x1 is at L-inf
 * distance 0.1 and L2 distance 0.1 sqrt 2. */
static void test_deepfool_linear(void **state)
{
    (void)state;
    cn_err err;
    net *n = ident2_net();
    mpq_t x0[2];
    mpq_init(x0[0]);
    mpq_init(x0[1]);
    mpq_set_ui(x0[0], 3, 5);
    mpq_set_ui(x0[1], 2, 5);
    atk_opts o;
    atk_opts_init(&o);
    atk_df_result res;
    atk_df_result_init(&res);
    assert_int_equal(atk_deepfool(n, x0, 0, 0.0, 1.0, &o, &res, &err), CN_OK);
    assert_true(res.found);
    assert_false(res.clean_wrong);
    /* upper ends of the true radii, and tight */
    assert_true(res.linf >= 0.1);
    assert_double_near(res.linf, 0.1, 1e-7);
    assert_true(res.l2 >= 0.1 * sqrt(2.0) - 1e-15);
    assert_double_near(res.l2, 0.1 * sqrt(2.0), 1e-7);
    /* the L-inf point is misclassified exactly */
    mpq_t y[2];
    mpq_init(y[0]);
    mpq_init(y[1]);
    assert_int_equal(net_eval_exact_d(n, res.x_linf, y, &err), CN_OK);
    assert_true(mpq_cmp(y[1], y[0]) >= 0);
    /* label 1 at this point: already wrong, radius 0 */
    assert_int_equal(atk_deepfool(n, x0, 1, 0.0, 1.0, &o, &res, &err), CN_OK);
    assert_true(res.found && res.clean_wrong);
    assert_double_near(res.linf, 0.0, 0);
    atk_df_result_clear(&res);
    for (int i = 0; i < 2; i++) {
        mpq_clear(x0[i]);
        mpq_clear(y[i]);
    }
    net_free(n);
}

/* DeepFool's L-inf point on a random ReLU classifier is exactly
 * misclassified and within its reported radius. */
static void test_deepfool_relu(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("deepfool_relu", 17)};
    net *n = f32_mlp(&r, 10, 20, 20, 5);
    mpq_t x0[10];
    int label = labelled_point(&r, n, x0);
    cn_err err;
    atk_opts o;
    atk_opts_init(&o);
    atk_df_result res;
    atk_df_result_init(&res);
    assert_int_equal(atk_deepfool(n, x0, label, 0.0, 1.0, &o, &res, &err), CN_OK);
    assert_true(res.found);
    assert_false(res.clean_wrong);
    assert_true(res.linf > 0 && res.linf <= res.l2);
    mpq_t yq[5], t;
    for (int j = 0; j < 5; j++)
        mpq_init(yq[j]);
    mpq_init(t);
    assert_int_equal(net_eval_exact_d(n, res.x_linf, yq, &err), CN_OK);
    bool wrong = false;
    for (int j = 0; j < 5; j++)
        if (j != label && mpq_cmp(yq[j], yq[label]) >= 0)
            wrong = true;
    assert_true(wrong);
    for (int i = 0; i < 10; i++) {
        mpq_set_d(t, res.x_linf[i]);
        mpq_sub(t, t, x0[i]);
        mpq_abs(t, t);
        assert_true(mpq_get_d(t) <= res.linf);
        assert_true(res.x_linf[i] >= 0 && res.x_linf[i] <= 1);
    }
    for (int j = 0; j < 5; j++)
        mpq_clear(yq[j]);
    mpq_clear(t);
    for (int i = 0; i < 10; i++)
        mpq_clear(x0[i]);
    atk_df_result_clear(&res);
    net_free(n);
}

/* ---- real suites ----------------------------------------------------------- */

/* ACAS Xu 1_7 / prop 3 is `sat` (evidence: cex); the attack finds a point
 * that passes the exact check. */
static void test_acasxu_sat_instance(void **state)
{
    (void)state;
    cn_err err;
    net *n = NULL;
    prop *p = NULL;
    if (net_load(tu_shared("benchmarks/acasxu/onnx/ACASXU_run2a_1_7_batch_2000.onnx"), &n,
                 &err) != CN_OK)
        fail_msg("load: %s", err.msg);
    if (prop_parse_vnnlib(tu_shared("benchmarks/acasxu/vnnlib/prop_3.vnnlib"), &p, &err) != CN_OK)
        fail_msg("parse: %s", err.msg);
    atk_opts o;
    atk_opts_init(&o);
    o.time_limit = 0;
    o.max_restarts = 4096;
    atk_result res;
    atk_result_init(&res);
    run_ok(n, p, &o, &res);
    assert_confirmed(p, n, &res);
    free_run(&res, p, n);
}

/* ---- L2 balls (atk_opts.l2_x0, issue 26) ------------------------------------
 * y0 = 0, y1 = x0 + x1 - T, label 0 (unsafe: y1 >= y0, i.e. x0 + x1 >= T) on
 * the ball of radius 9/20 around (1/2, 1/2) in [0,1]^2.  Its box hull reaches
 * x0 + x1 = 1.9 at a corner, the ball only 1 + 0.45 sqrt 2 = 1.6364: with
 * T = 1.7 the box has counterexamples and the ball none (PGD in L2 must find
 * nothing, while the box attack finds one); with T = 1.6 the ball has some,
 * and every point found lies in the ball exactly. */
static void test_pgd_l2(void **state)
{
    (void)state;
    static const double Ts[2] = {1.7, 1.6};
    for (int k = 0; k < 2; k++) {
        double W[4] = {0, 0, 1, 1}, b[2] = {0, -Ts[k]};
        net *n = dense2_net(2, W, b);
        mpq_t x0[2], eps, lo, hi;
        for (int i = 0; i < 2; i++) {
            mpq_init(x0[i]);
            mpq_set_ui(x0[i], 1, 2);
        }
        mpq_inits(eps, lo, hi, NULL);
        mpq_set_ui(eps, 9, 20);
        mpq_set_ui(hi, 1, 1);
        prop *p = NULL;
        cn_err err;
        assert_int_equal(prop_eps_ball(2, x0, eps, lo, hi, 2, 0, &p, &err), CN_OK);
        atk_result res;
        atk_opts o = search_opts(&res, 256, 16, 60);
        run_ok(n, p, &o, &res);            /* the box */
        assert_true(res.found);
        bool box_in_ball = atk_l2_inside(2, (const mpq_t *)res.x, (const mpq_t *)x0, eps);
        atk_result_clear(&res);
        o.l2_x0 = (const mpq_t *)x0;
        o.l2_eps = (const mpq_t *)eps;
        run_ok(n, p, &o, &res);            /* the ball */
        printf("# pgd_l2: T = %g: box point in the ball %d; L2 search found %d (%ld exact "
               "checks, %ld rejected)\n", Ts[k], box_in_ball, res.found, res.exact_checks,
               res.exact_rejected);
        if (k == 0) {
            assert_false(box_in_ball);
            assert_false(res.found);
        } else {
            assert_confirmed(p, n, &res);
            assert_true(atk_l2_inside(2, (const mpq_t *)res.x, (const mpq_t *)x0, eps));
        }
        atk_result_clear(&res);
        prop_free(p);
        net_free(n);
        for (int i = 0; i < 2; i++)
            mpq_clear(x0[i]);
        mpq_clears(eps, lo, hi, NULL);
    }
}

/* atk_l2_inside at the sphere, exactly: x0 + eps (3/5, 4/5) is in, a point
 * 1/10^30 further out is not. */
static void test_l2_inside(void **state)
{
    (void)state;
    mpq_t x0[2], x[2], eps, t;
    for (int i = 0; i < 2; i++) {
        mpq_init(x0[i]);
        mpq_init(x[i]);
    }
    mpq_inits(eps, t, NULL);
    mpq_set_ui(x0[0], 1, 3);
    mpq_set_ui(x0[1], 2, 7);
    mpq_set_ui(eps, 1, 10);
    mpq_set_ui(t, 3, 50);                  /* 3/5 * 1/10 */
    mpq_add(x[0], x0[0], t);
    mpq_set_ui(t, 4, 50);
    mpq_sub(x[1], x0[1], t);
    assert_true(atk_l2_inside(2, (const mpq_t *)x, (const mpq_t *)x0, eps));
    mpq_set_str(t, "1/1000000000000000000000000000000", 10);
    mpq_add(x[0], x[0], t);
    assert_false(atk_l2_inside(2, (const mpq_t *)x, (const mpq_t *)x0, eps));
    for (int i = 0; i < 2; i++) {
        mpq_clear(x0[i]);
        mpq_clear(x[i]);
    }
    mpq_clears(eps, t, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grad_fd_dense),
        cmocka_unit_test(test_grad_fd_conv),
        cmocka_unit_test(test_grad_exact_quotient),
        cmocka_unit_test(test_grad_hand_dense),
        cmocka_unit_test(test_grad_hand_conv),
        cmocka_unit_test(test_grad_batch_matches_single),
        cmocka_unit_test(test_pgd_finds_corner),
        cmocka_unit_test(test_safe_never_sat),
        cmocka_unit_test(test_boundary_float_says_violated),
        cmocka_unit_test(test_boundary_nudge),
        cmocka_unit_test(test_targeted),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_time_limit),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_deepfool_linear),
        cmocka_unit_test(test_deepfool_relu),
        cmocka_unit_test(test_acasxu_sat_instance),
        cmocka_unit_test(test_pgd_l2),
        cmocka_unit_test(test_l2_inside),
    };
    return cmocka_run_group_tests_name("attacks", tests, NULL, NULL);
}

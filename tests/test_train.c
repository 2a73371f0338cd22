/* test_train.c — training (train/train*.c): weight gradients of every
 * defense's objective against central finite differences, IBP bounds against
 * sampled points of the eps-box, determinism (same seed: identical bits;
 * other seed: different), learning a synthetic task well above chance, the
 * ONNX round trip of a trained model bit for bit, refused inputs and an
 * out-of-memory loop. */
#include "config.h"

#include <math.h>
#include <unistd.h>

#include "train/train_int.h"
#include "tests/testutil.h"

/* ---- helpers ----------------------------------------------------------- */

static trn__mlp *small_mlp(const int *w, int nw, int B, uint64_t seed)
{
    trn__mlp *m = NULL;
    cn_err err;
    assert_int_equal(trn__mlp_new(w, nw, B, &m, &err), CN_OK);
    atk_rng r;
    atk_rng_seed(&r, seed);
    trn__mlp_init_he(m, &r);
    /* non-zero biases so that no ReLU sits at a kink by construction */
    for (int l = 0; l < m->L; l++)
        for (int j = 0; j < m->w[l + 1]; j++)
            m->b[l][j] = 0.2 * (2.0 * atk_rng_unif(&r) - 1.0);
    return m;
}

/* Synthetic classification: class c is a random template (pixels 0..255)
 * plus uniform noise of +-noise, clipped; sample i has class i % classes. */
static ds_set *synthetic(int n, int dim, int classes, int noise, uint64_t seed)
{
    ds_set *d = cn_calloc(1, sizeof *d);
    assert_non_null(d);
    d->n = n;
    d->dim = dim;
    d->rows = dim;
    d->cols = 1;
    d->pixels = cn_mallocarray((size_t)n * (size_t)dim, 1);
    d->labels = cn_mallocarray((size_t)n, sizeof(int));
    unsigned char *tmpl = malloc((size_t)classes * (size_t)dim);
    assert_true(d->pixels && d->labels && tmpl);
    tu_rng r = {seed};
    for (int k = 0; k < classes * dim; k++)
        tmpl[k] = (unsigned char)(tu_next(&r) % 256);
    for (int i = 0; i < n; i++) {
        int c = i % classes;
        d->labels[i] = c;
        for (int k = 0; k < dim; k++) {
            int v = tmpl[c * dim + k] + (int)(tu_next(&r) % (2 * noise + 1)) - noise;
            d->pixels[(size_t)i * dim + k] = (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v));
        }
    }
    free(tmpl);
    return d;
}

static double accuracy(const net *n, const ds_set *d)
{
    int in = net_in_size(n), out = net_out_size(n), ok = 0;
    double *x = malloc(sizeof(double) * (size_t)in), *y = malloc(sizeof(double) * (size_t)out);
    assert_true(x && y);
    cn_err err;
    for (int i = 0; i < d->n; i++) {
        ds_input_d(d, i, x);
        assert_int_equal(net_forward(n, 1, x, y, &err), CN_OK);
        int arg = 0;
        for (int j = 1; j < out; j++)
            if (y[j] > y[arg])
                arg = j;
        ok += arg == d->labels[i];
    }
    free(x);
    free(y);
    return (double)ok / d->n;
}

static void same_bits(const net *a, const net *b, bool *equal)
{
    *equal = net_n_layers(a) == net_n_layers(b);
    for (int i = 0; *equal && i < net_n_layers(a); i++) {
        const net_layer *p = net_layer_at(a, i), *q = net_layer_at(b, i);
        if (p->op != q->op || p->in != q->in || p->out != q->out) {
            *equal = false;
            break;
        }
        if (p->op != NET_DENSE)
            continue;
        *equal = memcmp(p->W, q->W, sizeof(double) * (size_t)p->in * (size_t)p->out) == 0 &&
                 memcmp(p->b, q->b, sizeof(double) * (size_t)p->out) == 0;
    }
}

/* ---- architecture and defense names --------------------------------------- */

static void test_parse_arch(void **state)
{
    (void)state;
    trn_opts o;
    trn_opts_init(&o);
    cn_err err;
    assert_int_equal(trn_parse_arch("784-100-100-10", &o, &err), CN_OK);
    assert_int_equal(o.n_widths, 4);
    assert_int_equal(o.widths[0], 784);
    assert_int_equal(o.widths[3], 10);
    assert_int_equal(trn_parse_arch("5-3", &o, &err), CN_OK);
    assert_int_equal(o.n_widths, 2);
    const char *bad[] = {"", "784", "784-", "-10", "784--10", "784-0-10", "784-x-10", "784,10",
                         "784-100000-10", "1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cn_err_clear(&err);
        assert_int_equal(trn_parse_arch(bad[i], &o, &err), CN_EINVAL);
        assert_non_null(strstr(err.msg, "--arch"));
    }
    trn_defense d;
    for (int k = 0; k < 4; k++) {
        assert_true(trn_defense_parse(trn_defense_name((trn_defense)k), &d));
        assert_int_equal(d, k);
    }
    assert_false(trn_defense_parse("trades", &d));
}

/* ---- gradients against finite differences ----------------------------------- */

typedef struct {
    trn_defense def;
    double eps_t, kappa_t;
    const char *name;
} fd_case;

static void fd_check(const fd_case *c, uint64_t seed)
{
    const int w[] = {6, 5, 4, 3};
    const int B = 4;
    trn__mlp *m = small_mlp(w, 4, B, seed);
    trn_opts o;
    trn_opts_init(&o);
    o.defense = c->def;
    o.eps = 0.05;
    o.fgsm_alpha = 0.3;
    o.pgd_steps = 3;
    tu_rng tr = {seed + 7};
    double x[4 * 6], xadv[4 * 6];
    int y[4];
    for (int k = 0; k < B * 6; k++)
        x[k] = 0.2 + 0.6 * tu_unif(&tr);
    for (int s = 0; s < B; s++)
        y[s] = s % 3;
    atk_rng r0;
    atk_rng_seed(&r0, seed + 11);

    trn__mlp_zero_grad(m);
    atk_rng r = r0;
    double f0 = trn__objective(m, &o, B, x, y, c->eps_t, c->kappa_t, &r, xadv, true, NULL, NULL);
    assert_true(isfinite(f0) && f0 > 0.0);
    long np = trn__mlp_n_params(m);
    double *g = malloc(sizeof(double) * (size_t)np);
    assert_non_null(g);
    for (long k = 0; k < np; k++)
        g[k] = trn__mlp_grad(m, k);
    const double h = 1e-6;
    double worst = 0.0;
    for (long k = 0; k < np; k++) {
        double *p = trn__mlp_param(m, k), v = *p;
        *p = v + h;
        r = r0;
        double fp = trn__objective(m, &o, B, x, y, c->eps_t, c->kappa_t, &r, xadv, false, NULL,
                                   NULL);
        *p = v - h;
        r = r0;
        double fm = trn__objective(m, &o, B, x, y, c->eps_t, c->kappa_t, &r, xadv, false, NULL,
                                   NULL);
        *p = v;
        double fd = (fp - fm) / (2 * h), err = fabs(fd - g[k]) / (1e-4 + fabs(fd));
        if (err > worst)
            worst = err;
        if (err > 1e-4)
            fail_msg("%s: parameter %ld: analytic %.10g, central difference %.10g", c->name, k,
                     g[k], fd);
    }
    printf("# %s: %ld parameters, largest relative difference %.3g\n", c->name, np, worst);
    free(g);
    trn__mlp_free(m);
}

static void test_gradients_fd(void **state)
{
    (void)state;
    uint64_t seed = tu_seed("gradients_fd", 3);
    const fd_case cases[] = {
        {TRN_DEF_NONE, 0, 1, "none"},
        {TRN_DEF_FGSM, 0, 1, "fgsm (alpha 0.3)"},
        {TRN_DEF_PGD, 0, 1, "pgd (3 steps)"},
        {TRN_DEF_IBP, 0.0, 1.0, "ibp warm-up (eps_t 0, kappa 1)"},
        {TRN_DEF_IBP, 0.05, 0.5, "ibp (eps_t 0.05, kappa 0.5)"},
        {TRN_DEF_IBP, 0.2, 0.0, "ibp (eps_t 0.2, kappa 0)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (uint64_t s = 0; s < 3; s++)
            fd_check(&cases[i], seed + 100 * s);
}

/* ---- IBP bounds contain sampled points -------------------------------------- */

static void test_ibp_contains(void **state)
{
    (void)state;
    uint64_t seed = tu_seed("ibp_contains", 5);
    const int w[] = {10, 12, 8, 4};
    const int B = 6, P = 300;
    trn__mlp *m = small_mlp(w, 4, B, seed);
    tu_rng tr = {seed};
    double x[6 * 10], lo[6 * 4], hi[6 * 4], mg[6 * 4], pt[6 * 10];
    int y[6];
    for (int k = 0; k < B * 10; k++)            /* some pixels at 0 or 1: clipped boxes */
        x[k] = k % 7 == 0 ? 0.0 : (k % 11 == 0 ? 1.0 : tu_unif(&tr));
    for (int s = 0; s < B; s++)
        y[s] = s % 4;
    const double eps = 0.1;
    trn__mlp_ibp_logits(m, B, x, eps, lo, hi);
    int ver = -1;
    double loss = trn__mlp_ibp_loss(m, B, x, y, eps, 1.0, false, &ver);
    assert_true(isfinite(loss) && ver >= 0 && ver <= B);
    memcpy(mg, m->margin, sizeof mg);
    for (int s = 0; s < B; s++)
        for (int j = 0; j < 4; j++) {
            if (j == y[s])
                continue;
            /* the elided margin is at least as tight as the logit interval */
            assert_double_le(mg[s * 4 + j], hi[s * 4 + j] - lo[s * 4 + y[s]] + 1e-12);
        }
    long checked = 0;
    for (int p = 0; p < P; p++) {
        for (int s = 0; s < B; s++)
            for (int k = 0; k < 10; k++) {
                double c = x[s * 10 + k], a = c - eps < 0 ? 0 : c - eps, b = c + eps > 1 ? 1 : c + eps;
                double u = p < 40 ? (double)(tu_next(&tr) & 1) : tu_unif(&tr); /* vertices first */
                pt[s * 10 + k] = a + u * (b - a);
            }
        (void)trn__mlp_ce_forward(m, B, pt, y, NULL);
        const double *z = m->Z[m->L - 1];
        for (int s = 0; s < B; s++)
            for (int j = 0; j < 4; j++) {
                double v = z[s * 4 + j], tol = 1e-9 * (1 + fabs(v));
                assert_double_le(lo[s * 4 + j] - tol, v);
                assert_double_le(v, hi[s * 4 + j] + tol);
                if (j != y[s])
                    assert_double_le(v - z[s * 4 + y[s]], mg[s * 4 + j] + tol);
                checked++;
            }
    }
    printf("# ibp bounds hold at %ld sampled logits (eps %g)\n", checked, eps);
    trn__mlp_free(m);
}

/* ---- training: determinism, learning, round trip ------------------------------- */

static net *train(const ds_set *d, trn_defense def, uint64_t seed, int epochs, const char *arch,
                  trn_stats *st)
{
    trn_opts o;
    trn_opts_init(&o);
    cn_err err;
    assert_int_equal(trn_parse_arch(arch, &o, &err), CN_OK);
    o.defense = def;
    o.eps = 0.05;
    o.epochs = epochs;
    o.seed = seed;
    o.batch = 32;
    o.pgd_steps = 3;
    net *n = NULL;
    cn_status s = trn_train(d, &o, &n, st, &err);
    if (s != CN_OK)
        fail_msg("trn_train: %s", err.msg);
    return n;
}

static void test_determinism(void **state)
{
    (void)state;
    ds_set *d = synthetic(200, 16, 4, 30, 21);
    for (int def = 0; def < 4; def++) {
        net *a = train(d, (trn_defense)def, 5, 3, "16-12-12-4", NULL);
        net *b = train(d, (trn_defense)def, 5, 3, "16-12-12-4", NULL);
        net *c = train(d, (trn_defense)def, 6, 3, "16-12-12-4", NULL);
        bool eq_ab, eq_ac;
        same_bits(a, b, &eq_ab);
        same_bits(a, c, &eq_ac);
        printf("# %s: same seed identical %d, other seed identical %d\n",
               trn_defense_name((trn_defense)def), eq_ab, eq_ac);
        assert_true(eq_ab);
        assert_false(eq_ac);
        net_free(a);
        net_free(b);
        net_free(c);
    }
    ds_free(d);
}

static void test_learns(void **state)
{
    (void)state;
    /* one stream: samples 0..999 train, 1000..1499 held out (same templates) */
    ds_set *tr = synthetic(1500, 64, 10, 100, 33), *te = synthetic(500, 64, 10, 100, 33);
    memcpy(te->pixels, tr->pixels + (size_t)1000 * 64, (size_t)500 * 64);
    memcpy(te->labels, tr->labels + 1000, sizeof(int) * 500);
    tr->n = 1000;
    net *n0 = train(tr, TRN_DEF_NONE, 1, 0, "64-32-32-10", NULL);  /* initialisation only */
    double acc0 = accuracy(n0, te);
    printf("# untrained: held-out accuracy %.3f\n", acc0);
    assert_true(acc0 < 0.5);
    net_free(n0);
    for (int def = 0; def < 4; def++) {
        trn_stats st;
        net *n = train(tr, (trn_defense)def, 1, 8, "64-32-32-10", &st);
        double acc = accuracy(n, te);
        printf("# %s: held-out accuracy %.3f (chance 0.1), final train accuracy %.3f, %ld steps\n",
               trn_defense_name((trn_defense)def), acc, st.final_train_acc, st.steps);
        assert_int_equal(st.epochs_run, 8);
        assert_true(acc >= 0.8);
        net_free(n);
    }
    ds_free(tr);
    ds_free(te);
}

static void test_onnx_roundtrip(void **state)
{
    (void)state;
    ds_set *d = synthetic(300, 28 * 28, 10, 40, 8);
    d->rows = 28;
    d->cols = 28;
    net *n = train(d, TRN_DEF_IBP, 2, 2, "784-20-16-10", NULL);
    net_info info;
    net_get_info(n, &info);
    assert_int_equal(info.params, 784 * 20 + 20 + 20 * 16 + 16 + 16 * 10 + 10);
    const net_layer *l0 = net_layer_at(n, 0);
    assert_int_equal(l0->in_shape.c, 1);
    assert_int_equal(l0->in_shape.h, 28);
    /* every weight is a float32 value */
    for (int i = 0; i < net_n_layers(n); i++) {
        const net_layer *l = net_layer_at(n, i);
        for (int k = 0; l->op == NET_DENSE && k < l->in * l->out; k++)
            assert_true(l->W[k] == (double)(float)l->W[k]);
    }
    char path[256];
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/certnn_test_train_%ld.onnx", tmp && *tmp ? tmp : "/tmp",
             (long)getpid());
    cn_err err;
    assert_int_equal(net_save_onnx(n, path, &err), CN_OK);
    net *back = NULL;
    assert_int_equal(net_load(path, &back, &err), CN_OK);
    bool eq;
    same_bits(n, back, &eq);
    assert_true(eq);
    net_get_info(back, &info);
    assert_int_equal(info.n_in_dims, 4);       /* [1,1,28,28] */
    assert_int_equal(info.in_dims[2], 28);
    /* float32 storage: about 4 bytes per parameter */
    unsigned char *bytes;
    size_t len;
    assert_int_equal(cn_read_file(path, &bytes, &len, &err), CN_OK);
    assert_true(len < (size_t)info.params * 4 + 4096);
    cn_free(bytes);
    remove(path);
    net_free(back);
    net_free(n);
    ds_free(d);
}

/* ---- refused inputs and allocation failures ------------------------------------ */

static void test_refused(void **state)
{
    (void)state;
    ds_set *d = synthetic(20, 16, 4, 10, 1);
    trn_opts o;
    trn_opts_init(&o);
    cn_err err;
    net *n = NULL;
    assert_int_equal(trn_parse_arch("15-8-4", &o, &err), CN_OK);
    assert_int_equal(trn_train(d, &o, &n, NULL, &err), CN_EINVAL);
    assert_non_null(strstr(err.msg, "16 values"));
    assert_int_equal(trn_parse_arch("16-8-3", &o, &err), CN_OK);
    assert_int_equal(trn_train(d, &o, &n, NULL, &err), CN_EINVAL);
    assert_non_null(strstr(err.msg, "label 3"));
    assert_null(n);
    ds_free(d);
}

static void test_oom(void **state)
{
    (void)state;
    ds_set *d = synthetic(20, 16, 4, 10, 1);
    trn_opts o;
    trn_opts_init(&o);
    cn_err err;
    assert_int_equal(trn_parse_arch("16-8-4", &o, &err), CN_OK);
    o.defense = TRN_DEF_IBP;
    o.epochs = 1;
    long live = cn_alloc_live();
    int k;
    for (k = 1; k < 10000; k++) {
        net *n = NULL;
        cn_alloc_fail_after(k);
        cn_status s = trn_train(d, &o, &n, NULL, &err);
        cn_alloc_fail_after(0);
        if (s == CN_OK) {
            net_free(n);
            break;
        }
        assert_int_equal(s, CN_ENOMEM);
        assert_null(n);
        assert_int_equal(cn_alloc_live(), live);
    }
    printf("# training succeeded once %d allocations could succeed\n", k - 1);
    assert_int_equal(cn_alloc_live(), live);
    ds_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_arch),   cmocka_unit_test(test_gradients_fd),
        cmocka_unit_test(test_ibp_contains), cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_learns),       cmocka_unit_test(test_onnx_roundtrip),
        cmocka_unit_test(test_refused),      cmocka_unit_test(test_oom),
    };
    return cmocka_run_group_tests_name("train", tests, NULL, NULL);
}

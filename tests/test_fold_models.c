/* test_fold_models.c — folds of models built in memory against the file's
 * semantics computed independently, in MPFR at 1024 bits
 * (BatchNormalization: sqrt included) or exactly in mpq (Sub/Div/Mul/Add):
 * net_eval_enclose contains them, exact folds get no enclosure, random
 * inexact folds get one.  Part of test_fold. */
#include "config.h"

#include <dirent.h>
#include <math.h>

#include <mpfr.h>

#include "models/models.h"
#include "tests/exact.h"
#include "tests/onnx_mb.h"
#include "tests/groups.h"
#include "tests/testutil.h"

enum { PREC = 1024, MAXV = 64, MAXS = 12 };

/* ------------------------------------------------------------------------ */
/* Models built in memory, with an independent reference evaluator          */
/* ------------------------------------------------------------------------ */

typedef enum { S_GEMM, S_CONV, S_BN, S_SUB, S_DIV, S_MUL, S_ADD, S_RELU, S_FLAT } sop;

typedef struct {
    sop op;
    int in, out;                   /* sizes */
    int c, h, w;                   /* input shape (CONV, BN: channels c) */
    int co, k, pad, oh, ow;        /* CONV, stride 1 */
    const float *W, *b;            /* GEMM [out*in], [out]; CONV [co*c*k*k], [co] */
    const float *g, *be, *mu, *var;/* BN [c] */
    float eps;
    const float *v;                /* SUB/DIV/MUL/ADD: x op v, 1 or `in` values */
    int nv;
} step;

typedef struct {
    mb *b;
    int ns, ni;
    step st[MAXS];
    char tname[MAXS][8], iname[MB_INITS][8];
    float *own[MB_INITS];
    int nd;
    int64_t dims[4];               /* current tensor */
    const char *cur;
} model;

static int cur_size(const model *m)
{
    int s = 1;
    for (int i = 0; i < m->nd; i++)
        s *= (int)m->dims[i];
    return s;
}

static model *model_new(const int64_t *din, int nd, int nout)
{
    model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    int64_t dout[2] = {1, nout};
    m->b = mb_new(din, nd, dout, 2);
    m->nd = nd;
    memcpy(m->dims, din, (size_t)nd * sizeof *din);
    m->cur = "x";
    return m;
}

static void model_free(model *m)
{
    for (int i = 0; i < m->ni; i++)
        free(m->own[i]);
    free(m->b);
    free(m);
}

/* An initializer of n floats: uniform in [lo, hi) (rounded to float) or,
 * when vals is given, those. */
static float *init(model *m, tu_rng *r, const int64_t *d, int nd, float lo, float hi,
                   const float *vals)
{
    size_t n = 1;
    for (int i = 0; i < nd; i++)
        n *= (size_t)d[i];
    assert_true(m->ni < MB_INITS);
    float *f = malloc(n * sizeof *f);
    assert_non_null(f);
    for (size_t i = 0; i < n; i++)
        f[i] = vals ? vals[i] : (float)(lo + (hi - lo) * tu_unif(r));
    snprintf(m->iname[m->ni], sizeof m->iname[0], "c%d", m->ni);
    mb_init_f(m->b, m->iname[m->ni], d, nd, f);
    m->own[m->ni++] = f;
    return f;
}

static const char *iname_last(const model *m) { return m->iname[m->ni - 1]; }

/* Appends a step reading the current tensor; returns it and its node. */
static step *push(model *m, sop op, const char *optype, int *node, const char *a, const char *b,
                  const char *c, const char *d)
{
    assert_true(m->ns < MAXS);
    step *s = &m->st[m->ns];
    snprintf(m->tname[m->ns], sizeof m->tname[0], "t%d", m->ns);
    int k = mb_node(m->b, optype, m->tname[m->ns], m->tname[m->ns], m->cur, a, b, c, d, NULL);
    if (node)
        *node = k;
    m->cur = m->tname[m->ns++];
    s->op = op;
    s->in = cur_size(m);
    s->out = s->in;
    return s;
}

static void add_gemm(model *m, tu_rng *r, int out)
{
    int in = cur_size(m), node;
    int64_t dw[2] = {out, in}, db[1] = {out};
    const float *W = init(m, r, dw, 2, -1, 1, NULL);
    const char *wn = iname_last(m);
    const float *b = init(m, r, db, 1, -1, 1, NULL);
    step *s = push(m, S_GEMM, "Gemm", &node, wn, iname_last(m), NULL, NULL);
    mb_attr_i(m->b, node, "transB", 1);
    s->W = W;
    s->b = b;
    s->out = out;
    m->nd = 2;
    m->dims[0] = 1;
    m->dims[1] = out;
}

static void add_conv(model *m, tu_rng *r, int co, int k, int pad)
{
    int c = (int)m->dims[1], h = (int)m->dims[2], w = (int)m->dims[3], node;
    int64_t dw[4] = {co, c, k, k}, db[1] = {co}, pads[4] = {pad, pad, pad, pad};
    const float *W = init(m, r, dw, 4, -1, 1, NULL);
    const char *wn = iname_last(m);
    const float *b = init(m, r, db, 1, -1, 1, NULL);
    step *s = push(m, S_CONV, "Conv", &node, wn, iname_last(m), NULL, NULL);
    mb_attr_ints(m->b, node, "pads", 4, pads);
    *s = (step){S_CONV, c * h * w, 0, c, h, w, co, k, pad, h + 2 * pad - k + 1,
                w + 2 * pad - k + 1, W, b, NULL, NULL, NULL, NULL, 0, NULL, 0};
    s->out = co * s->oh * s->ow;
    m->dims[1] = co;
    m->dims[2] = s->oh;
    m->dims[3] = s->ow;
}

static void add_bn(model *m, tu_rng *r)
{
    int c = (int)m->dims[1], node;
    int64_t d[1] = {c};
    const char *nm[4];
    const float *p[4];
    for (int i = 0; i < 4; i++) {
        p[i] = i == 3 ? init(m, r, d, 1, 0.25f, 2.0f, NULL) : init(m, r, d, 1, -1, 1, NULL);
        nm[i] = iname_last(m);
    }
    step *s = push(m, S_BN, "BatchNormalization", &node, nm[0], nm[1], nm[2], nm[3]);
    s->eps = 1e-3f;
    mb_attr_f(m->b, node, "epsilon", s->eps);
    s->c = c;
    s->g = p[0];
    s->be = p[1];
    s->mu = p[2];
    s->var = p[3];
}

/* x op v, v of nv values (1: a scalar; else the current [1, n] tensor's size). */
static void add_arith(model *m, sop op, const float *v, int nv)
{
    static const char *const names[] = {[S_SUB] = "Sub", [S_DIV] = "Div", [S_MUL] = "Mul",
                                        [S_ADD] = "Add"};
    int64_t d1[1] = {1}, d2[2] = {1, nv};
    const float *f = nv == 1 ? init(m, NULL, d1, 1, 0, 0, v) : init(m, NULL, d2, 2, 0, 0, v);
    step *s = push(m, op, names[op], NULL, iname_last(m), NULL, NULL, NULL);
    s->v = f;
    s->nv = nv;
}

static void add_relu(model *m) { push(m, S_RELU, "Relu", NULL, NULL, NULL, NULL, NULL); }

static void add_flatten(model *m)
{
    push(m, S_FLAT, "Flatten", NULL, NULL, NULL, NULL, NULL);
    int64_t n = cur_size(m);
    m->nd = 2;
    m->dims[0] = 1;
    m->dims[1] = n;
}

static net *model_load(model *m)
{
    m->b->nout[m->b->g.n_node - 1][0] = (char *)"y";   /* the graph output */
    return mb_load_ok(m->b);
}

/* The file's semantics in MPFR (PREC bits, each operation rounded to
 * nearest): at 1024 bits its error is far below the enclosure's slack. */
static void ref_mpfr(const model *m, mpq_t *x, mpfr_t *y)
{
    mpfr_t a[MAXV], b[MAXV], t, u;
    for (int i = 0; i < MAXV; i++) {
        mpfr_init2(a[i], PREC);
        mpfr_init2(b[i], PREC);
    }
    mpfr_inits2(PREC, t, u, (mpfr_ptr)0);
    for (int k = 0; k < m->st[0].in; k++)
        mpfr_set_q(a[k], x[k], MPFR_RNDN);
    for (int i = 0; i < m->ns; i++) {
        const step *s = &m->st[i];
        assert_true(s->in <= MAXV && s->out <= MAXV);
        switch (s->op) {
        case S_GEMM:
            for (int o = 0; o < s->out; o++) {
                mpfr_set_flt(b[o], s->b[o], MPFR_RNDN);
                for (int k = 0; k < s->in; k++) {
                    mpfr_mul_d(t, a[k], s->W[o * s->in + k], MPFR_RNDN);
                    mpfr_add(b[o], b[o], t, MPFR_RNDN);
                }
            }
            break;
        case S_CONV:
            for (int co = 0; co < s->co; co++)
                for (int oy = 0; oy < s->oh; oy++)
                    for (int ox = 0; ox < s->ow; ox++) {
                        mpfr_ptr z = b[(co * s->oh + oy) * s->ow + ox];
                        mpfr_set_flt(z, s->b[co], MPFR_RNDN);
                        for (int ci = 0; ci < s->c; ci++)
                            for (int ky = 0; ky < s->k; ky++)
                                for (int kx = 0; kx < s->k; kx++) {
                                    int iy = oy + ky - s->pad, ix = ox + kx - s->pad;
                                    if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w)
                                        continue;
                                    mpfr_mul_d(t, a[(ci * s->h + iy) * s->w + ix],
                                               s->W[((co * s->c + ci) * s->k + ky) * s->k + kx],
                                               MPFR_RNDN);
                                    mpfr_add(z, z, t, MPFR_RNDN);
                                }
                    }
            break;
        case S_BN: {
            int sp = s->in / s->c;
            for (int c = 0; c < s->c; c++) {
                mpfr_set_flt(u, s->var[c], MPFR_RNDN);
                mpfr_add_d(u, u, s->eps, MPFR_RNDN);
                mpfr_sqrt(u, u, MPFR_RNDN);          /* sqrt(var + eps) */
                for (int j = c * sp; j < (c + 1) * sp; j++) {
                    mpfr_sub_d(t, a[j], s->mu[c], MPFR_RNDN);
                    mpfr_mul_d(t, t, s->g[c], MPFR_RNDN);
                    mpfr_div(t, t, u, MPFR_RNDN);
                    mpfr_add_d(b[j], t, s->be[c], MPFR_RNDN);
                }
            }
            break;
        }
        case S_SUB:
        case S_DIV:
        case S_MUL:
        case S_ADD:
            for (int k = 0; k < s->in; k++) {
                double v = s->v[s->nv == 1 ? 0 : k];
                if (s->op == S_SUB)
                    mpfr_sub_d(b[k], a[k], v, MPFR_RNDN);
                else if (s->op == S_DIV)
                    mpfr_div_d(b[k], a[k], v, MPFR_RNDN);
                else if (s->op == S_MUL)
                    mpfr_mul_d(b[k], a[k], v, MPFR_RNDN);
                else
                    mpfr_add_d(b[k], a[k], v, MPFR_RNDN);
            }
            break;
        case S_RELU:
            mpfr_set_zero(t, 1);
            for (int k = 0; k < s->in; k++)
                mpfr_max(b[k], a[k], t, MPFR_RNDN);
            break;
        case S_FLAT:
            for (int k = 0; k < s->in; k++)
                mpfr_set(b[k], a[k], MPFR_RNDN);
            break;
        }
        for (int k = 0; k < s->out; k++)
            mpfr_swap(a[k], b[k]);
    }
    for (int k = 0; k < m->st[m->ns - 1].out; k++)
        mpfr_set(y[k], a[k], MPFR_RNDN);
    for (int i = 0; i < MAXV; i++) {
        mpfr_clear(a[i]);
        mpfr_clear(b[i]);
    }
    mpfr_clears(t, u, (mpfr_ptr)0);
}

/* The file's semantics exactly, for models of Gemm, Sub/Div/Mul/Add, Relu. */
static void ref_mpq(const model *m, mpq_t *x, mpq_t *y)
{
    mpq_t *a = qv(MAXV), *b = qv(MAXV), t;
    mpq_init(t);
    for (int k = 0; k < m->st[0].in; k++)
        mpq_set(a[k], x[k]);
    for (int i = 0; i < m->ns; i++) {
        const step *s = &m->st[i];
        for (int o = 0; o < s->out; o++) {
            if (s->op == S_GEMM) {
                mpq_set_d(b[o], s->b[o]);
                for (int k = 0; k < s->in; k++) {
                    mpq_set_d(t, s->W[o * s->in + k]);
                    mpq_mul(t, t, a[k]);
                    mpq_add(b[o], b[o], t);
                }
            } else if (s->op == S_RELU) {
                mpq_set(b[o], a[o]);
                if (mpq_sgn(b[o]) < 0)
                    mpq_set_ui(b[o], 0, 1);
            } else {
                assert_true(s->op == S_SUB || s->op == S_DIV || s->op == S_MUL || s->op == S_ADD);
                mpq_set_d(t, s->v[s->nv == 1 ? 0 : o]);
                if (s->op == S_SUB)
                    mpq_sub(b[o], a[o], t);
                else if (s->op == S_DIV)
                    mpq_div(b[o], a[o], t);
                else if (s->op == S_MUL)
                    mpq_mul(b[o], a[o], t);
                else
                    mpq_add(b[o], a[o], t);
            }
        }
        for (int k = 0; k < s->out; k++)
            mpq_swap(a[k], b[k]);
    }
    for (int k = 0; k < m->st[m->ns - 1].out; k++)
        mpq_set(y[k], a[k]);
    mpq_clear(t);
    qv_free(a, MAXV);
    qv_free(b, MAXV);
}

/* A random input: float32 values in [-1, 1], or rationals p/255 (not
 * doubles) every other time. */
static void rand_x(tu_rng *r, mpq_t *x, int n, int t)
{
    for (int k = 0; k < n; k++) {
        if (t % 2) {
            mpq_set_si(x[k], (long)(tu_next(r) % 511) - 255, 255);
            mpq_canonicalize(x[k]);
        } else {
            mpq_set_d(x[k], (double)(float)(2 * tu_unif(r) - 1));
        }
    }
}

/* ------------------------------------------------------------------------ */
/* (b) BatchNormalization: the enclosure contains the real semantics         */
/* ------------------------------------------------------------------------ */

/* Builds topology `which` (0..5); every one folds BatchNormalization with
 * rounding in a different place. */
static model *bn_model(tu_rng *r, int which)
{
    static const float three[1] = {3.0f}, seven[1] = {0.7f};
    int64_t dv[2] = {1, 4}, dc[4] = {1, 2, 4, 4}, d3[2] = {1, 3};
    model *m;
    switch (which) {
    case 0:                                        /* BN before a Gemm (fold_pre) */
        m = model_new(dv, 2, 2);
        add_bn(m, r);
        add_gemm(m, r, 3);
        add_relu(m);
        add_gemm(m, r, 2);
        break;
    case 1:                                        /* BN after a Gemm (fold_post) */
        m = model_new(dv, 2, 2);
        add_gemm(m, r, 3);
        add_bn(m, r);
        add_relu(m);
        add_gemm(m, r, 2);
        break;
    case 2:                                        /* BN before a ReLU: a diagonal layer */
        m = model_new(dv, 2, 2);
        add_bn(m, r);
        add_relu(m);
        add_gemm(m, r, 2);
        break;
    case 3:                                        /* Conv (padded) then BN */
        m = model_new(dc, 4, 2);
        add_conv(m, r, 3, 3, 1);
        add_bn(m, r);
        add_relu(m);
        add_flatten(m);
        add_gemm(m, r, 2);
        break;
    case 4:                                        /* BN, Div by 3, then an unpadded Conv */
        m = model_new(dc, 4, 2);
        add_bn(m, r);
        add_arith(m, S_DIV, three, 1);
        add_conv(m, r, 2, 3, 0);
        add_relu(m);
        add_flatten(m);
        add_gemm(m, r, 2);
        break;
    default:                                       /* BN, Mul, BN, Gemm, BN: composed */
        m = model_new(d3, 2, 2);
        add_bn(m, r);
        add_arith(m, S_MUL, seven, 1);
        add_bn(m, r);
        add_gemm(m, r, 2);
        add_bn(m, r);
        break;
    }
    return m;
}

static void test_bn_enclosure(void **state)
{
    tu_rng r = {tu_seed("bn_enclosure", 77)};
    cn_err err;
    for (int which = 0; which < 6; which++) {
        model *m = bn_model(&r, which);
        net *n = model_load(m), *nom = nominal(n);
        net_info in;
        net_get_info(n, &in);
        assert_false(in.fold_exact);
        assert_true(net_has_enclosure(n));
        int ni = net_in_size(n), no = net_out_size(n), differ = 0;
        mpq_t *x = qv(ni), *lo = qv(no), *hi = qv(no), *yn = qv(no);
        mpfr_t ref[2];
        mpfr_inits2(PREC, ref[0], ref[1], (mpfr_ptr)0);
        for (int t = 0; t < 40; t++) {
            rand_x(&r, x, ni, t);
            ref_mpfr(m, x, ref);
            assert_int_equal(net_eval_enclose(n, x, lo, hi, &err), CN_OK);
            assert_int_equal(net_eval_exact(nom, x, yn, &err), CN_OK);
            for (int o = 0; o < no; o++) {
                if (mpfr_cmp_q(ref[o], lo[o]) < 0 || mpfr_cmp_q(ref[o], hi[o]) > 0)
                    fail_msg("topology %d, point %d, output %d: %.17g not in [%.17g, %.17g]",
                             which, t, o, mpfr_get_d(ref[o], MPFR_RNDN), mpq_get_d(lo[o]),
                             mpq_get_d(hi[o]));
                /* tight: about 2^-52 relative */
                assert_double_le(mpq_get_d(hi[o]) - mpq_get_d(lo[o]),
                                 1e-12 * (1 + fabs(mpfr_get_d(ref[o], MPFR_RNDN))));
                differ += mpfr_cmp_q(ref[o], yn[o]) != 0;
            }
        }
        /* the folded network alone is not the file's: the enclosure is needed */
        assert_true(differ > 0);
        mpfr_clears(ref[0], ref[1], (mpfr_ptr)0);
        qv_free(x, ni);
        qv_free(lo, no);
        qv_free(hi, no);
        qv_free(yn, no);
        net_free(nom);
        net_free(n);
        model_free(m);
    }
}

/* ------------------------------------------------------------------------ */
/* Exact folds get no enclosure                                              */
/* ------------------------------------------------------------------------ */

static int exact_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("%s: cannot open", dir);
    int loaded = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 5, ".onnx") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        net *n = NULL;
        cn_err err;
        if (net_load(path, &n, &err) != CN_OK)
            continue;                              /* unsupported (pooling) */
        if (strncmp(e->d_name, "ffnnSIGMOID", 11) == 0) {
            net_free(n);                           /* Sub 0.1307, Div 0.3081: rounds */
            continue;
        }
        net_info in;
        net_get_info(n, &in);
        if (!in.fold_exact || net_has_enclosure(n))
            fail_msg("%s: folds with rounding", path);
        assert_true(in.max_wrel == 0 && in.max_wabs == 0 && in.max_brad == 0);
        loaded++;
        net_free(n);
    }
    closedir(d);
    return loaded;
}

static void test_exact_folds(void **state)
{
    static const char *const dirs[] = {"benchmarks/acasxu/onnx", "benchmarks/eran/onnx",
                                       "benchmarks/mnist_fc/onnx", "benchmarks/test",
                                       "benchmarks/rl_benchmarks/onnx"};
    int loaded = 0;
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        loaded += exact_dir(tu_shared(dirs[i]));
    loaded += exact_dir(tu_src("models/zoo"));
    printf("# %d benchmark and zoo networks fold exactly\n", loaded);
    assert_true(loaded >= 50);
    /* Sub 0.5, Div 2 before a Gemm, Mul 0.25 after: powers of two */
    static const float half[1] = {0.5f}, two[1] = {2.0f}, quarter[1] = {0.25f};
    tu_rng r = {1};
    int64_t dv[2] = {1, 4};
    model *m = model_new(dv, 2, 2);
    add_arith(m, S_SUB, half, 1);
    add_arith(m, S_DIV, two, 1);
    add_gemm(m, &r, 2);
    add_arith(m, S_MUL, quarter, 1);
    net *n = model_load(m);
    net_info in;
    net_get_info(n, &in);
    assert_int_equal(in.folded, 3);
    assert_true(in.fold_exact);
    assert_false(net_has_enclosure(n));
    net_free(n);
    model_free(m);
}

/* ------------------------------------------------------------------------ */
/* (c) Random inexact Sub/Div/Mul/Add folds against exact rationals          */
/* ------------------------------------------------------------------------ */

/* A float32 constant whose reciprocal or products rarely fit a double. */
static float rand_const(tu_rng *r)
{
    static const float pool[] = {3.0f, 10.0f, 0.3081f, 7.0f, 0.1f, 255.0f, 1.7f};
    if (tu_next(r) % 2)
        return pool[tu_next(r) % (sizeof pool / sizeof pool[0])];
    return (float)(0.2 + 2 * tu_unif(r)) * (tu_next(r) % 2 ? 1 : -1);
}

static void rand_arith(model *m, tu_rng *r, float *buf, int count)
{
    static const sop ops[] = {S_SUB, S_DIV, S_MUL, S_ADD};
    int n = cur_size(m);
    for (int i = 0; i < count; i++) {
        sop op = ops[tu_next(r) % 4];
        int nv = tu_next(r) % 2 ? 1 : n;
        for (int k = 0; k < nv; k++)
            buf[k] = rand_const(r);
        add_arith(m, op, buf, nv);
    }
}

static void test_random_folds(void **state)
{
    tu_rng r = {tu_seed("random_folds", 2024)};
    cn_err err;
    int enclosed = 0, differ = 0;
    for (int trial = 0; trial < 40; trial++) {
        int in = 2 + (int)(tu_next(&r) % 4), hid = 2 + (int)(tu_next(&r) % 4);
        int64_t dv[2] = {1, in};
        model *m = model_new(dv, 2, 2);
        float buf[8];
        rand_arith(m, &r, buf, 1 + (int)(tu_next(&r) % 3));   /* input normalisation */
        add_gemm(m, &r, hid);
        rand_arith(m, &r, buf, (int)(tu_next(&r) % 3));       /* scale and shift the layer */
        add_relu(m);
        rand_arith(m, &r, buf, (int)(tu_next(&r) % 2));       /* a diagonal layer */
        if (trial % 3 == 0)
            add_relu(m);
        add_gemm(m, &r, 2);
        rand_arith(m, &r, buf, (int)(tu_next(&r) % 2));
        net *n = model_load(m), *nom = nominal(n);
        net_info in_;
        net_get_info(n, &in_);
        assert_int_equal(net_has_enclosure(n), !in_.fold_exact);
        enclosed += net_has_enclosure(n);
        mpq_t *x = qv(in), *lo = qv(2), *hi = qv(2), *ref = qv(2), *yn = qv(2);
        for (int t = 0; t < 20; t++) {
            rand_x(&r, x, in, t);
            ref_mpq(m, x, ref);
            assert_int_equal(net_eval_enclose(n, x, lo, hi, &err), CN_OK);
            assert_int_equal(net_eval_exact(nom, x, yn, &err), CN_OK);
            for (int o = 0; o < 2; o++) {
                if (mpq_cmp(lo[o], ref[o]) > 0 || mpq_cmp(ref[o], hi[o]) > 0)
                    fail_msg("trial %d, point %d, output %d: %.17g not in [%.17g, %.17g]", trial,
                             t, o, mpq_get_d(ref[o]), mpq_get_d(lo[o]), mpq_get_d(hi[o]));
                if (!net_has_enclosure(n))
                    assert_true(mpq_equal(lo[o], ref[o]) && mpq_equal(hi[o], ref[o]));
                else
                    assert_double_le(mpq_get_d(hi[o]) - mpq_get_d(lo[o]),
                                     1e-10 * (1 + fabs(mpq_get_d(ref[o]))));
                differ += !mpq_equal(yn[o], ref[o]);
            }
        }
        qv_free(x, in);
        qv_free(lo, 2);
        qv_free(hi, 2);
        qv_free(ref, 2);
        qv_free(yn, 2);
        net_free(nom);
        net_free(n);
        model_free(m);
    }
    printf("# %d of 40 random models fold with rounding; the folded network differs from "
           "the file at %d outputs\n",
           enclosed, differ);
    assert_true(enclosed >= 20 && differ > 0);
}

int test_fold_models_group(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bn_enclosure),
        cmocka_unit_test(test_exact_folds),
        cmocka_unit_test(test_random_folds),
    };
    return cmocka_run_group_tests_name("fold_models", tests, NULL, NULL);
}

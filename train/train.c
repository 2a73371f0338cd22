/* train.c — minibatch training of dense ReLU classifiers with or without an
 * adversarial defense: objectives (5)-(7) of train.h, the Adam / SGD
 * optimisers and the training loop (the IBP objective (8) is in
 * train_ibp.c).  Double precision, round-to-nearest: training, not proof. */
#include "config.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "train/train_int.h"

/* Seconds on the monotonic clock (epoch times, reporting only). */
static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ---- options ----------------------------------------------------------- */

void trn_opts_init(trn_opts *o)
{
    CN_REQUIRE(o, "options");
    memset(o, 0, sizeof *o);
    o->defense = TRN_DEF_NONE;
    o->eps = 0.1;
    o->epochs = 10;
    o->seed = 1;
    o->batch = 128;
    o->optimizer = TRN_OPT_ADAM;
    o->lr = 0.0;
    o->momentum = 0.9;
    o->lr_decay = 0.1;
    o->fgsm_alpha = 0.5;
    o->pgd_steps = 7;
    o->pgd_step = 0.0;
    o->ibp_warmup = 0.1;
    o->ibp_ramp_end = 0.6;
    o->ibp_kappa = 0.5;
    o->blas_threads = 1;
}

cn_status trn_parse_arch(const char *s, trn_opts *o, cn_err *err)
{
    CN_REQUIRE(s && o, "text and options");
    int w[TRN_MAX_LAYERS + 1], n = 0;
    const char *p = s;
    for (;;) {
        if (*p < '0' || *p > '9')
            return cn_fail(err, CN_EINVAL,
                           "--arch '%s': expected widths like 784-100-100-10 (positive integers "
                           "separated by '-')",
                           s);
        long v = 0;
        while (*p >= '0' && *p <= '9') {
            v = v * 10 + (*p - '0');
            if (v > 65536)
                return cn_fail(err, CN_EINVAL, "--arch '%s': a width is larger than 65536", s);
            p++;
        }
        if (v == 0)
            return cn_fail(err, CN_EINVAL, "--arch '%s': widths must be positive", s);
        if (n == TRN_MAX_LAYERS + 1)
            return cn_fail(err, CN_EINVAL, "--arch '%s': at most %d dense layers", s,
                           TRN_MAX_LAYERS);
        w[n++] = (int)v;
        if (*p == '\0')
            break;
        if (*p != '-')
            return cn_fail(err, CN_EINVAL,
                           "--arch '%s': unexpected '%c' (widths are separated by '-')", s, *p);
        p++;
    }
    if (n < 2)
        return cn_fail(err, CN_EINVAL,
                       "--arch '%s': need at least an input and an output width (e.g. 784-10)", s);
    o->n_widths = n;
    memcpy(o->widths, w, sizeof(int) * (size_t)n);
    return CN_OK;
}

static const char *const defense_names[] = {"none", "fgsm", "pgd", "ibp"};

bool trn_defense_parse(const char *s, trn_defense *d)
{
    for (int i = 0; i < 4; i++)
        if (s && strcmp(s, defense_names[i]) == 0) {
            *d = (trn_defense)i;
            return true;
        }
    return false;
}

const char *trn_defense_name(trn_defense d)
{
    return (unsigned)d < 4 ? defense_names[d] : "?";
}

/* ---- the network under training ---------------------------------------- */

double trn__rng_normal(atk_rng *r)
{
    double u1 = atk_rng_unif(r), u2 = atk_rng_unif(r);
    return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2);
}

void trn__mlp_free(trn__mlp *m)
{
    if (!m)
        return;
    for (int l = 0; l < TRN_MAX_LAYERS; l++) {
        cn_free(m->W[l]);
        cn_free(m->b[l]);
        cn_free(m->gW[l]);
        cn_free(m->gb[l]);
        cn_free(m->A[l]);
        cn_free(m->Z[l]);
        cn_free(m->mu[l]);
        cn_free(m->r[l]);
        cn_free(m->zmu[l]);
        cn_free(m->zr[l]);
        cn_free(m->absW[l]);
    }
    cn_free(m->tmpW);
    cn_free(m->d1);
    cn_free(m->d2);
    cn_free(m->e1);
    cn_free(m->e2);
    cn_free(m->e3);
    cn_free(m->e4);
    cn_free(m->margin);
    cn_free(m);
}

cn_status trn__mlp_new(const int *widths, int n_widths, int max_batch, trn__mlp **out,
                       cn_err *err)
{
    CN_REQUIRE(widths && out && max_batch > 0, "widths, batch and out");
    CN_REQUIRE(n_widths >= 2 && n_widths <= TRN_MAX_LAYERS + 1, "2 .. 17 widths");
    trn__mlp *m = cn_calloc(1, sizeof *m);
    if (!m)
        goto nomem;
    m->L = n_widths - 1;
    m->max_batch = max_batch;
    size_t wmax = 0, mmax = 0, B = (size_t)max_batch;
    for (int l = 0; l < n_widths; l++) {
        CN_REQUIRE(widths[l] > 0, "positive widths");
        m->w[l] = widths[l];
        if ((size_t)widths[l] > wmax)
            wmax = (size_t)widths[l];
    }
    for (int l = 0; l < m->L; l++) {
        size_t in = (size_t)m->w[l], o = (size_t)m->w[l + 1];
        if (in * o > mmax)
            mmax = in * o;
        m->W[l] = cn_calloc(in * o, sizeof(double));
        m->gW[l] = cn_calloc(in * o, sizeof(double));
        m->absW[l] = cn_calloc(in * o, sizeof(double));
        m->b[l] = cn_calloc(o, sizeof(double));
        m->gb[l] = cn_calloc(o, sizeof(double));
        m->A[l] = cn_mallocarray(B * in, sizeof(double));
        m->mu[l] = cn_mallocarray(B * in, sizeof(double));
        m->r[l] = cn_mallocarray(B * in, sizeof(double));
        m->Z[l] = cn_mallocarray(B * o, sizeof(double));
        m->zmu[l] = cn_mallocarray(B * o, sizeof(double));
        m->zr[l] = cn_mallocarray(B * o, sizeof(double));
        if (!m->W[l] || !m->gW[l] || !m->absW[l] || !m->b[l] || !m->gb[l] || !m->A[l] ||
            !m->mu[l] || !m->r[l] || !m->Z[l] || !m->zmu[l] || !m->zr[l])
            goto nomem;
    }
    m->tmpW = cn_mallocarray(mmax, sizeof(double));
    m->d1 = cn_mallocarray(B * wmax, sizeof(double));
    m->d2 = cn_mallocarray(B * wmax, sizeof(double));
    m->e1 = cn_mallocarray(B * wmax, sizeof(double));
    m->e2 = cn_mallocarray(B * wmax, sizeof(double));
    m->e3 = cn_mallocarray(B * wmax, sizeof(double));
    m->e4 = cn_mallocarray(B * wmax, sizeof(double));
    m->margin = cn_mallocarray(B * (size_t)m->w[m->L], sizeof(double));
    if (!m->tmpW || !m->d1 || !m->d2 || !m->e1 || !m->e2 || !m->e3 || !m->e4 || !m->margin)
        goto nomem;
    *out = m;
    return CN_OK;
nomem:
    trn__mlp_free(m);
    return cn_fail(err, CN_ENOMEM, "out of memory for a network to train (batch %d)",
                   max_batch);
}

void trn__mlp_init_he(trn__mlp *m, atk_rng *r)
{
    for (int l = 0; l < m->L; l++) {
        size_t in = (size_t)m->w[l], o = (size_t)m->w[l + 1];
        double sd = sqrt(2.0 / (double)in);
        for (size_t k = 0; k < in * o; k++)
            m->W[l][k] = sd * trn__rng_normal(r);
        memset(m->b[l], 0, o * sizeof(double));
    }
}

void trn__mlp_zero_grad(trn__mlp *m)
{
    for (int l = 0; l < m->L; l++) {
        memset(m->gW[l], 0, (size_t)m->w[l] * (size_t)m->w[l + 1] * sizeof(double));
        memset(m->gb[l], 0, (size_t)m->w[l + 1] * sizeof(double));
    }
}

long trn__mlp_n_params(const trn__mlp *m)
{
    long n = 0;
    for (int l = 0; l < m->L; l++)
        n += (long)m->w[l + 1] * (m->w[l] + 1);
    return n;
}

/* Layer and offset of flat parameter k; *is_b for a bias. */
static void locate(const trn__mlp *m, long k, int *layer, long *off, bool *is_b)
{
    CN_REQUIRE(k >= 0 && k < trn__mlp_n_params(m), "a parameter index in range");
    for (int l = 0; l < m->L; l++) {
        long nw = (long)m->w[l + 1] * m->w[l], nb = m->w[l + 1];
        if (k < nw + nb) {
            *layer = l;
            *is_b = k >= nw;
            *off = k >= nw ? k - nw : k;
            return;
        }
        k -= nw + nb;
    }
}

double *trn__mlp_param(trn__mlp *m, long k)
{
    int l;
    long off;
    bool is_b;
    locate(m, k, &l, &off, &is_b);
    return is_b ? &m->b[l][off] : &m->W[l][off];
}

double trn__mlp_grad(const trn__mlp *m, long k)
{
    int l;
    long off;
    bool is_b;
    locate(m, k, &l, &off, &is_b);
    return is_b ? m->gb[l][off] : m->gW[l][off];
}

/* ---- cross-entropy: forward and reverse mode ----------------------------- */

double trn__mlp_ce_forward(trn__mlp *m, int B, const double *x, const int *y, int *correct)
{
    CN_REQUIRE(B >= 1 && B <= m->max_batch, "batch within the workspace");
    memcpy(m->A[0], x, (size_t)B * (size_t)m->w[0] * sizeof(double));
    for (int l = 0; l < m->L; l++) {
        int in = m->w[l], o = m->w[l + 1];
        double *Z = m->Z[l];
        for (int s = 0; s < B; s++)
            memcpy(Z + (size_t)s * o, m->b[l], (size_t)o * sizeof(double));
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, o, in, 1.0, m->A[l], in, m->W[l],
                    in, 1.0, Z, o);
        if (l + 1 < m->L) {
            double *A = m->A[l + 1];
            for (size_t k = 0; k < (size_t)B * (size_t)o; k++)
                A[k] = Z[k] > 0.0 ? Z[k] : 0.0;
        }
    }
    int C = m->w[m->L], ok = 0;
    double sum = 0.0;
    for (int s = 0; s < B; s++) {
        const double *z = m->Z[m->L - 1] + (size_t)s * C;
        double mx = z[0];
        int arg = 0;
        for (int j = 1; j < C; j++)
            if (z[j] > mx) {
                mx = z[j];
                arg = j;
            }
        double e = 0.0;
        for (int j = 0; j < C; j++)
            e += exp(z[j] - mx);
        sum += mx + log(e) - z[y[s]];
        ok += arg == y[s];
    }
    if (correct)
        *correct = ok;
    return sum / B;
}

void trn__mlp_ce_backward(trn__mlp *m, int B, const int *y, double scale, bool params,
                          double *gx)
{
    int C = m->w[m->L];
    double *dz = m->d1, *da = m->d2;
    /* d(mean J)/dz = (softmax(z) - onehot(y)) / B */
    for (int s = 0; s < B; s++) {
        const double *z = m->Z[m->L - 1] + (size_t)s * C;
        double *g = dz + (size_t)s * C;
        double mx = z[0];
        for (int j = 1; j < C; j++)
            mx = z[j] > mx ? z[j] : mx;
        double e = 0.0;
        for (int j = 0; j < C; j++)
            e += (g[j] = exp(z[j] - mx));
        for (int j = 0; j < C; j++)
            g[j] = g[j] / e / B;
        g[y[s]] -= 1.0 / B;
    }
    for (int l = m->L - 1; l >= 0; l--) {
        int in = m->w[l], o = m->w[l + 1];
        if (params) {
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, o, in, B, scale, dz, o, m->A[l],
                        in, 1.0, m->gW[l], in);
            for (int s = 0; s < B; s++)
                for (int j = 0; j < o; j++)
                    m->gb[l][j] += scale * dz[(size_t)s * o + j];
        }
        if (l == 0 && !gx)
            break;
        double *dst = l == 0 ? gx : da;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, in, o, 1.0, dz, o, m->W[l], in,
                    0.0, dst, in);
        if (l == 0)
            break;
        const double *Zp = m->Z[l - 1];
        for (size_t k = 0; k < (size_t)B * (size_t)in; k++)
            if (!(Zp[k] > 0.0))
                da[k] = 0.0;
        double *t = dz;
        dz = da;
        da = t;
    }
}

/* ---- adversarial points (6), (7) ----------------------------------------- */

static double clip01(double v) { return v < 0.0 ? 0.0 : (v > 1.0 ? 1.0 : v); }
static double sgn(double v) { return v > 0.0 ? 1.0 : (v < 0.0 ? -1.0 : 0.0); }

void trn__mlp_fgsm(trn__mlp *m, int B, const double *x, const int *y, double eps, double *xadv)
{
    size_t n = (size_t)B * (size_t)m->w[0];
    (void)trn__mlp_ce_forward(m, B, x, y, NULL);
    trn__mlp_ce_backward(m, B, y, 0.0, false, xadv);
    for (size_t k = 0; k < n; k++)
        xadv[k] = clip01(x[k] + eps * sgn(xadv[k]));
}

void trn__mlp_pgd(trn__mlp *m, int B, const double *x, const int *y, double eps, int steps,
                  double step, atk_rng *r, double *xadv)
{
    size_t n = (size_t)B * (size_t)m->w[0];
    double *g = m->e1;             /* [B * w[0]] */
    for (size_t k = 0; k < n; k++)
        xadv[k] = clip01(x[k] + eps * (2.0 * atk_rng_unif(r) - 1.0));
    for (int t = 0; t < steps; t++) {
        (void)trn__mlp_ce_forward(m, B, xadv, y, NULL);
        trn__mlp_ce_backward(m, B, y, 0.0, false, g);
        for (size_t k = 0; k < n; k++) {
            double v = xadv[k] + step * sgn(g[k]);
            double lo = x[k] - eps, hi = x[k] + eps;
            v = v < lo ? lo : (v > hi ? hi : v);
            xadv[k] = clip01(v);
        }
    }
}

/* ---- objectives (5)-(8) ------------------------------------------------------ */

double trn__objective(trn__mlp *m, const trn_opts *o, int B, const double *x,
                      const int *y, double eps_t, double kappa_t, atk_rng *r, double *xadv,
                      bool grad, int *correct, int *adv_ok)
{
    int ok = 0, aok = 0;
    double loss = 0.0;
    switch (o->defense) {
    case TRN_DEF_NONE:
        loss = trn__mlp_ce_forward(m, B, x, y, &ok);
        if (grad)
            trn__mlp_ce_backward(m, B, y, 1.0, true, NULL);
        break;
    case TRN_DEF_FGSM: {
        double a = o->fgsm_alpha;
        size_t n = (size_t)B * (size_t)m->w[0];
        loss = a * trn__mlp_ce_forward(m, B, x, y, &ok);
        trn__mlp_ce_backward(m, B, y, a, grad, xadv);
        for (size_t k = 0; k < n; k++)
            xadv[k] = clip01(x[k] + o->eps * sgn(xadv[k]));
        loss += (1.0 - a) * trn__mlp_ce_forward(m, B, xadv, y, &aok);
        if (grad)
            trn__mlp_ce_backward(m, B, y, 1.0 - a, true, NULL);
        break;
    }
    case TRN_DEF_PGD: {
        int k = o->pgd_steps;
        double step = (o->pgd_step > 0.0 ? o->pgd_step : 2.5 / (k > 0 ? k : 1)) * o->eps;
        (void)trn__mlp_ce_forward(m, B, x, y, &ok);
        trn__mlp_pgd(m, B, x, y, o->eps, k, step, r, xadv);
        loss = trn__mlp_ce_forward(m, B, xadv, y, &aok);
        if (grad)
            trn__mlp_ce_backward(m, B, y, 1.0, true, NULL);
        break;
    }
    case TRN_DEF_IBP:
        loss = kappa_t * trn__mlp_ce_forward(m, B, x, y, &ok);
        if (grad)
            trn__mlp_ce_backward(m, B, y, kappa_t, true, NULL);
        if (kappa_t < 1.0 || eps_t > 0.0 || adv_ok)
            loss += (1.0 - kappa_t) *
                    trn__mlp_ibp_loss(m, B, x, y, eps_t, 1.0 - kappa_t, grad && kappa_t < 1.0, &aok);
        break;
    }
    if (correct)
        *correct = ok;
    if (adv_ok)
        *adv_ok = aok;
    return loss;
}

/* ---- optimisers ------------------------------------------------------------- */

typedef struct {
    trn_optimizer kind;
    double b1, b2, eps, momentum;
    long t;
    double *m1[TRN_MAX_LAYERS * 2], *m2[TRN_MAX_LAYERS * 2];
} optim;

static void optim_clear(optim *op)
{
    for (int i = 0; i < TRN_MAX_LAYERS * 2; i++) {
        cn_free(op->m1[i]);
        cn_free(op->m2[i]);
    }
}

static bool optim_init(optim *op, const trn__mlp *m, const trn_opts *o)
{
    memset(op, 0, sizeof *op);
    op->kind = o->optimizer;
    op->b1 = 0.9;
    op->b2 = 0.999;
    op->eps = 1e-8;
    op->momentum = o->momentum;
    for (int l = 0; l < m->L; l++) {
        size_t nw = (size_t)m->w[l] * (size_t)m->w[l + 1], nb = (size_t)m->w[l + 1];
        op->m1[2 * l] = cn_calloc(nw, sizeof(double));
        op->m1[2 * l + 1] = cn_calloc(nb, sizeof(double));
        if (!op->m1[2 * l] || !op->m1[2 * l + 1])
            return false;
        if (op->kind == TRN_OPT_ADAM) {
            op->m2[2 * l] = cn_calloc(nw, sizeof(double));
            op->m2[2 * l + 1] = cn_calloc(nb, sizeof(double));
            if (!op->m2[2 * l] || !op->m2[2 * l + 1])
                return false;
        }
    }
    return true;
}

static void optim_step(optim *op, trn__mlp *m, double lr)
{
    op->t++;
    double c1 = 1.0 - pow(op->b1, (double)op->t), c2 = 1.0 - pow(op->b2, (double)op->t);
    for (int l = 0; l < m->L; l++)
        for (int part = 0; part < 2; part++) {
            size_t n = part ? (size_t)m->w[l + 1] : (size_t)m->w[l] * (size_t)m->w[l + 1];
            double *p = part ? m->b[l] : m->W[l], *g = part ? m->gb[l] : m->gW[l];
            double *v1 = op->m1[2 * l + part], *v2 = op->m2[2 * l + part];
            if (op->kind == TRN_OPT_ADAM) {
                for (size_t k = 0; k < n; k++) {
                    v1[k] = op->b1 * v1[k] + (1.0 - op->b1) * g[k];
                    v2[k] = op->b2 * v2[k] + (1.0 - op->b2) * g[k] * g[k];
                    p[k] -= lr * (v1[k] / c1) / (sqrt(v2[k] / c2) + op->eps);
                }
            } else {
                for (size_t k = 0; k < n; k++) {
                    v1[k] = op->momentum * v1[k] + g[k];
                    p[k] -= lr * v1[k];
                }
            }
        }
}

/* ---- the trained net ------------------------------------------------------ */

cn_status trn__mlp_to_net(const trn__mlp *m, net_shape in_shape, net **out, cn_err *err)
{
    net *n = net_new(in_shape);
    if (!n)
        return cn_fail(err, CN_ENOMEM, "out of memory for the trained network");
    for (int l = 0; l < m->L; l++) {
        net_layer *d = net_add_dense(n, m->w[l + 1], err);
        if (!d || (l + 1 < m->L && !net_add_relu(n, err))) {
            net_free(n);
            return err ? err->status : CN_ENOMEM;
        }
        CN_REQUIRE(d->in == m->w[l], "input width matching the layer");
        for (size_t k = 0; k < (size_t)m->w[l] * (size_t)m->w[l + 1]; k++)
            d->W[k] = (double)(float)m->W[l][k];
        for (int k = 0; k < m->w[l + 1]; k++)
            d->b[k] = (double)(float)m->b[l][k];
    }
    *out = n;
    return CN_OK;
}

/* ---- the training loop -------------------------------------------------------- */

/* The ibp schedule at step t of T: eps_t and kappa_t of (8). */
static void ibp_schedule(const trn_opts *o, long t, long T, double *eps_t, double *kappa_t)
{
    double f = T > 0 ? (double)t / (double)T : 1.0, a = o->ibp_warmup, b = o->ibp_ramp_end;
    double p = f < a ? 0.0 : (f >= b || b <= a ? 1.0 : (f - a) / (b - a));
    *eps_t = p * o->eps;
    *kappa_t = 1.0 - p * (1.0 - o->ibp_kappa);
}

cn_status trn_train(const ds_set *d, const trn_opts *o, net **out, trn_stats *st,
                    cn_err *err)
{
    CN_REQUIRE(d && o && out, "dataset, options and out");
    CN_REQUIRE(o->n_widths >= 2 && o->n_widths <= TRN_MAX_LAYERS + 1,
               "an architecture (trn_parse_arch)");
    CN_REQUIRE(o->epochs >= 0 && o->batch >= 1 && o->blas_threads >= 1, "valid options");
    CN_REQUIRE(o->eps >= 0.0 && o->eps <= 1.0 && o->fgsm_alpha >= 0.0 && o->fgsm_alpha <= 1.0 &&
                   o->ibp_kappa >= 0.0 && o->ibp_kappa <= 1.0 && o->pgd_steps >= 0,
               "options in range");
    const int in = o->widths[0], C = o->widths[o->n_widths - 1];
    if (d->n < 1)
        return cn_fail(err, CN_EINVAL, "the training set is empty");
    if (d->dim != in)
        return cn_fail(err, CN_EINVAL,
                       "the samples have %d values, but the architecture's input width is %d",
                       d->dim, in);
    for (int i = 0; i < d->n; i++)
        if (d->labels[i] < 0 || d->labels[i] >= C)
            return cn_fail(err, CN_EINVAL,
                           "sample %d has label %d, but the architecture has %d outputs (labels "
                           "0..%d)",
                           i, d->labels[i], C, C - 1);

    int B = o->batch < d->n ? o->batch : d->n;
    trn__mlp *m = NULL;
    optim op;
    memset(&op, 0, sizeof op);
    int *perm = NULL, *yb = NULL;
    double *xb = NULL, *xadv = NULL;
    cn_status s = trn__mlp_new(o->widths, o->n_widths, B, &m, err);
    if (s != CN_OK)
        return s;
    perm = cn_mallocarray((size_t)d->n, sizeof(int));
    yb = cn_mallocarray((size_t)B, sizeof(int));
    xb = cn_mallocarray((size_t)B * (size_t)in, sizeof(double));
    xadv = cn_mallocarray((size_t)B * (size_t)in, sizeof(double));
    if (!perm || !yb || !xb || !xadv || !optim_init(&op, m, o)) {
        s = cn_fail(err, CN_ENOMEM, "out of memory for training");
        goto done;
    }

    int saved_threads = openblas_get_num_threads();
    openblas_set_num_threads(o->blas_threads);

    atk_rng rng;
    atk_rng_seed(&rng, o->seed);
    trn__mlp_init_he(m, &rng);
    for (int i = 0; i < d->n; i++)
        perm[i] = i;
    double lr0 = o->lr > 0.0 ? o->lr : (o->optimizer == TRN_OPT_ADAM ? 1e-3 : 0.01);
    long per_epoch = (d->n + B - 1) / B, T = per_epoch * o->epochs, t = 0;
    int decay_from = o->epochs >= 4 ? o->epochs - o->epochs / 4 : o->epochs;
    trn_stats stats;
    memset(&stats, 0, sizeof stats);
    double t_start = now_s();
    for (int ep = 0; ep < o->epochs; ep++) {
        double t0 = now_s(), lr = ep >= decay_from ? lr0 * o->lr_decay : lr0;
        double loss_sum = 0.0, eps_t = o->eps, kappa_t = 1.0;
        long n_ok = 0, n_adv = 0, n_seen = 0;
        for (int i = d->n - 1; i > 0; i--) {           /* Fisher-Yates */
            int j = (int)(atk_rng_next(&rng) % (uint64_t)(i + 1));
            int tmp = perm[i];
            perm[i] = perm[j];
            perm[j] = tmp;
        }
        for (long bi = 0; bi < per_epoch; bi++, t++) {
            int b0 = (int)(bi * B), nb = d->n - b0 < B ? d->n - b0 : B;
            for (int k = 0; k < nb; k++) {
                ds_input_d(d, perm[b0 + k], xb + (size_t)k * in);
                yb[k] = d->labels[perm[b0 + k]];
            }
            if (o->defense == TRN_DEF_IBP)
                ibp_schedule(o, t, T, &eps_t, &kappa_t);
            trn__mlp_zero_grad(m);
            int ok = 0, aok = 0;
            double loss = trn__objective(m, o, nb, xb, yb, eps_t, kappa_t, &rng, xadv, true, &ok,
                                         &aok);
            optim_step(&op, m, lr);
            loss_sum += loss * nb;
            n_ok += ok;
            n_adv += aok;
            n_seen += nb;
        }
        trn_epoch e;
        e.epoch = ep + 1;
        e.epochs = o->epochs;
        e.loss = loss_sum / (double)n_seen;
        e.train_acc = (double)n_ok / (double)n_seen;
        e.adv_acc = o->defense == TRN_DEF_NONE ? NAN : (double)n_adv / (double)n_seen;
        e.eps_t = o->defense == TRN_DEF_NONE ? 0.0 : eps_t;
        e.kappa_t = kappa_t;
        e.lr = lr;
        e.seconds = now_s() - t0;
        stats.epochs_run = ep + 1;
        stats.final_loss = e.loss;
        stats.final_train_acc = e.train_acc;
        if (o->on_epoch && !o->on_epoch(o->ctx, &e))
            break;
    }
    stats.steps = t;
    stats.seconds = now_s() - t_start;
    openblas_set_num_threads(saved_threads);

    net_shape shape = d->rows > 1 && d->cols > 1 && d->rows * d->cols == in
                          ? (net_shape){1, d->rows, d->cols}
                          : (net_shape){in, 1, 1};
    s = trn__mlp_to_net(m, shape, out, err);
    if (s == CN_OK && st)
        *st = stats;
done:
    optim_clear(&op);
    cn_free(perm);
    cn_free(yb);
    cn_free(xb);
    cn_free(xadv);
    trn__mlp_free(m);
    return s;
}

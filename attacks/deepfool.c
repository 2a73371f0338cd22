/* deepfool.c — multi-class DeepFool (L2 and L-infinity steps, overshoot),
 * a bisection along the direction found, and exact confirmation of the
 * misclassification; radii are exact norms rounded up.  The time limit
 * (atk_opts.time_limit) is checked between iterations. */
#include "config.h"

#include <fenv.h>
#include <math.h>
#include <string.h>

#include "attacks/attacks_int.h"

void atk_df_result_init(atk_df_result *r)
{
    CN_REQUIRE(r, "result");
    memset(r, 0, sizeof *r);
    r->linf = INFINITY;
    r->l2 = INFINITY;
}

void atk_df_result_clear(atk_df_result *r)
{
    if (!r)
        return;
    cn_free(r->x_linf);
    cn_free(r->x_l2);
    atk_df_result_init(r);
}

typedef struct {
    const net *n;
    int n_in, n_out, label, K;
    mpq_t *x0;                     /* borrowed */
    double *x0d;                   /* [in] */
    double clip_lo, clip_hi;
    atk_grad *g;
    double *X, *Y, *C, *G;         /* [K*in], [K*out], [K*out], [K*in] */
    double *x, *r, *xt;            /* [in] */
    mpq_t *yq, *yh;                /* [out] each: the exact enclosure of the outputs */
    mpq_t *xq_tmp;                 /* [in] */
    mpq_t t1, t2, acc;
    long checks, iters;
    double deadline;               /* atk__now() seconds; 0: none (atk_opts.time_limit) */
} df;

/* Exactly: some j != label has y_j >= y_label at x (for a network known
 * within an enclosure: for every network in it, lo(y_j) >= hi(y_label)). */
static cn_status exact_wrong(df *s, const mpq_t *xq_or_null, const double *x, bool *wrong,
                             cn_err *err)
{
    mpq_t *xq = (mpq_t *)xq_or_null;
    if (!xq) { /* x converted exactly; s->xq_tmp holds it */
        for (int i = 0; i < s->n_in; i++)
            mpq_set_d(s->xq_tmp[i], x[i]);
        xq = s->xq_tmp;
    }
    cn_status st = net_eval_enclose(s->n, xq, s->yq, s->yh, err);
    if (st != CN_OK)
        return st;
    s->checks++;
    *wrong = false;
    for (int j = 0; j < s->n_out; j++)
        if (j != s->label && mpq_cmp(s->yq[j], s->yh[s->label]) >= 0)
            *wrong = true;
    return CN_OK;
}

/* Float: max_j != label (y_j - y_label) at x (>= 0: misclassified in float). */
static double float_gap(df *s, const double *x)
{
    atk_grad_forward(s->g, 1, x, s->Y);
    double best = -INFINITY;
    for (int j = 0; j < s->n_out; j++)
        if (j != s->label && s->Y[j] - s->Y[s->label] > best)
            best = s->Y[j] - s->Y[s->label];
    return best;
}

/* Exact ||x - x0|| in L-infinity and L2, rounded up. */
static void exact_norms(df *s, const double *x, double *linf, double *l2)
{
    mpq_set_ui(s->t2, 0, 1);       /* max |d| */
    mpq_set_ui(s->acc, 0, 1);      /* sum d^2 */
    for (int i = 0; i < s->n_in; i++) {
        mpq_set_d(s->t1, x[i]);
        mpq_sub(s->t1, s->t1, s->x0[i]);
        mpq_abs(s->t1, s->t1);
        if (mpq_cmp(s->t1, s->t2) > 0)
            mpq_set(s->t2, s->t1);
        mpq_mul(s->t1, s->t1, s->t1);
        mpq_add(s->acc, s->acc, s->t1);
    }
    *linf = cn_mpq_get_d_up(s->t2);
    double sq = cn_mpq_get_d_up(s->acc);
    int saved = cn_round_push(FE_UPWARD);
    *l2 = sqrt(sq);
    cn_round_pop(saved);
}

static void clip(const df *s, double *x)
{
    for (int i = 0; i < s->n_in; i++) {
        if (!(x[i] >= s->clip_lo))
            x[i] = s->clip_lo;
        else if (x[i] > s->clip_hi)
            x[i] = s->clip_hi;
    }
}

/* One DeepFool run with L2 (linf == false) or L-infinity steps; on success
 * leaves the final (float-misclassified) point in s->x and returns true. */
static bool deepfool_run(df *s, const atk_opts *o, bool linf)
{
    int ni = s->n_in, no = s->n_out, K = s->K;
    memcpy(s->x, s->x0d, (size_t)ni * sizeof(double));
    memset(s->r, 0, (size_t)ni * sizeof(double));
    for (int it = 0; it < o->df_iters; it++) {
        if (s->deadline > 0 && atk__now() >= s->deadline)
            return false; /* out of time: no point from this run */
        for (int k = 0; k < K; k++)
            memcpy(s->X + (size_t)k * ni, s->x, (size_t)ni * sizeof(double));
        atk_grad_forward(s->g, K, s->X, s->Y);
        s->iters++;
        const double *y = s->Y;
        double best = INFINITY;
        int arg = -1;
        bool wrong = false;
        for (int k = 0, j = 0; j < no; j++) {
            if (j == s->label)
                continue;
            double *ck = s->C + (size_t)k * no;
            memset(ck, 0, (size_t)no * sizeof(double));
            ck[j] = 1.0;
            ck[s->label] = -1.0;
            if (y[j] - y[s->label] >= 0)
                wrong = true;
            k++;
        }
        if (wrong)
            return true;
        atk_grad_backward(s->g, K, s->C, s->G);
        double fk_best = 0, nrm_best = 0;
        for (int k = 0, j = 0; j < no; j++) {
            if (j == s->label)
                continue;
            const double *w = s->G + (size_t)k * ni;
            double f = y[j] - y[s->label], nrm = 0;
            for (int i = 0; i < ni; i++)
                nrm += linf ? fabs(w[i]) : w[i] * w[i];
            if (nrm > 0) {
                double score = fabs(f) / (linf ? nrm : sqrt(nrm));
                if (score < best) {
                    best = score;
                    arg = k;
                    fk_best = f;
                    nrm_best = nrm;
                }
            }
            k++;
        }
        if (arg < 0)
            return false;          /* flat: no direction to follow */
        const double *w = s->G + (size_t)arg * ni;
        double scale = (fabs(fk_best) + 1e-4) / nrm_best;
        for (int i = 0; i < ni; i++)
            s->r[i] += linf ? scale * (w[i] > 0 ? 1.0 : w[i] < 0 ? -1.0 : 0.0) : scale * w[i];
        for (int i = 0; i < ni; i++)
            s->x[i] = s->x0d[i] + (1.0 + o->df_overshoot) * s->r[i];
        clip(s, s->x);
    }
    return float_gap(s, s->x) >= 0;
}

/* x(t) = x0d + t (x - x0d) into s->xt. */
static void along(df *s, double t)
{
    for (int i = 0; i < s->n_in; i++)
        s->xt[i] = s->x0d[i] + t * (s->x[i] - s->x0d[i]);
    clip(s, s->xt);
}

/* Bisection on t in [0, 1] for the float boundary, then exact confirmation
 * at t_hi and at a few points beyond it.  On success s->xt is confirmed. */
static cn_status refine(df *s, bool *ok, cn_err *err)
{
    double lo = 0.0, hi = 1.0;
    for (int it = 0; it < 40; it++) {
        double mid = 0.5 * (lo + hi);
        along(s, mid);
        if (float_gap(s, s->xt) >= 0)
            hi = mid;
        else
            lo = mid;
    }
    static const double bump[] = {0.0, 1e-12, 1e-9, 1e-6, 1e-4, 1e-2, 5e-2};
    *ok = false;
    for (size_t j = 0; j < sizeof bump / sizeof bump[0]; j++) {
        double t = hi * (1.0 + bump[j]) + bump[j];
        if (t > 1.0)
            t = 1.0;
        along(s, t);
        if (float_gap(s, s->xt) < 0 && t < 1.0)
            continue;
        bool wrong;
        cn_status st = exact_wrong(s, NULL, s->xt, &wrong, err);
        if (st != CN_OK)
            return st;
        if (wrong) {
            *ok = true;
            return CN_OK;
        }
        if (t >= 1.0)
            break;
    }
    return CN_OK;
}

static void df_clear(df *s)
{
    atk_grad_free(s->g);
    cn_free(s->x0d);
    cn_free(s->X);
    cn_free(s->Y);
    cn_free(s->C);
    cn_free(s->G);
    cn_free(s->x);
    cn_free(s->r);
    cn_free(s->xt);
    if (s->yq) {
        for (int j = 0; j < s->n_out; j++) {
            mpq_clear(s->yq[j]);
            mpq_clear(s->yh[j]);
        }
        for (int i = 0; i < s->n_in; i++)
            mpq_clear(s->xq_tmp[i]);
    }
    cn_free(s->yq);
    cn_free(s->yh);
    cn_free(s->xq_tmp);
    mpq_clear(s->t1);
    mpq_clear(s->t2);
    mpq_clear(s->acc);
}

cn_status atk_deepfool(const net *n, mpq_t *x0, int label, double clip_lo, double clip_hi,
                       const atk_opts *o, atk_df_result *res, cn_err *err)
{
    CN_REQUIRE(n && x0 && o && res, "network, point, options, result");
    CN_REQUIRE(label >= 0 && label < net_out_size(n) && net_out_size(n) >= 2,
               "a label among at least two outputs");
    CN_REQUIRE(clip_lo <= clip_hi, "a clip box");
    atk_df_result_clear(res);
    df s;
    memset(&s, 0, sizeof s);
    mpq_init(s.t1);
    mpq_init(s.t2);
    mpq_init(s.acc);
    s.n = n;
    s.n_in = net_in_size(n);
    s.n_out = net_out_size(n);
    s.label = label;
    s.K = s.n_out - 1;
    s.x0 = x0;
    s.clip_lo = clip_lo;
    s.clip_hi = clip_hi;
    s.deadline = o->time_limit > 0 ? atk__now() + o->time_limit : 0;
    size_t ni = (size_t)s.n_in, no = (size_t)s.n_out, K = (size_t)s.K;
    cn_status st = atk_grad_new(n, s.K, &s.g, err);
    if (st != CN_OK)
        goto done;
    s.x0d = cn_mallocarray(ni, sizeof(double));
    s.X = cn_mallocarray(K * ni, sizeof(double));
    s.Y = cn_mallocarray(K * no, sizeof(double));
    s.C = cn_mallocarray(K * no, sizeof(double));
    s.G = cn_mallocarray(K * ni, sizeof(double));
    s.x = cn_mallocarray(ni, sizeof(double));
    s.r = cn_mallocarray(ni, sizeof(double));
    s.xt = cn_mallocarray(ni, sizeof(double));
    s.yq = cn_mallocarray(no, sizeof(mpq_t));
    s.yh = cn_mallocarray(no, sizeof(mpq_t));
    s.xq_tmp = cn_mallocarray(ni, sizeof(mpq_t));
    res->x_linf = cn_mallocarray(ni, sizeof(double));
    res->x_l2 = cn_mallocarray(ni, sizeof(double));
    if (!s.x0d || !s.X || !s.Y || !s.C || !s.G || !s.x || !s.r || !s.xt || !s.yq || !s.yh ||
        !s.xq_tmp || !res->x_linf || !res->x_l2) {
        cn_free(s.yq);
        cn_free(s.yh);
        cn_free(s.xq_tmp);
        s.yq = s.yh = s.xq_tmp = NULL;
        st = cn_fail(err, CN_ENOMEM, "out of memory for DeepFool on %d inputs", s.n_in);
        goto done;
    }
    for (size_t j = 0; j < no; j++) {
        mpq_init(s.yq[j]);
        mpq_init(s.yh[j]);
    }
    for (size_t i = 0; i < ni; i++)
        mpq_init(s.xq_tmp[i]);
    res->n_in = s.n_in;
    for (size_t i = 0; i < ni; i++) {
        s.x0d[i] = atk__mpq_get_d_near(x0[i]);
        if (s.x0d[i] < clip_lo)
            s.x0d[i] = clip_lo;
        if (s.x0d[i] > clip_hi)
            s.x0d[i] = clip_hi;
    }
    bool wrong;
    st = exact_wrong(&s, x0, NULL, &wrong, err);
    if (st != CN_OK)
        goto done;
    if (wrong) {
        res->found = res->clean_wrong = true;
        res->linf = res->l2 = 0.0;
        memcpy(res->x_linf, s.x0d, ni * sizeof(double));
        memcpy(res->x_l2, s.x0d, ni * sizeof(double));
        goto done;
    }
    for (int v = 0; v < 2; v++) {
        bool linf = v == 1;
        if (s.deadline > 0 && atk__now() >= s.deadline)
            break;
        if (!deepfool_run(&s, o, linf))
            continue;
        bool ok;
        st = refine(&s, &ok, err);
        if (st != CN_OK)
            goto done;
        if (!ok)
            continue;
        double dinf, d2;
        exact_norms(&s, s.xt, &dinf, &d2);
        res->found = true;
        if (dinf < res->linf) {
            res->linf = dinf;
            memcpy(res->x_linf, s.xt, ni * sizeof(double));
        }
        if (d2 < res->l2) {
            res->l2 = d2;
            memcpy(res->x_l2, s.xt, ni * sizeof(double));
        }
    }
done:
    res->iterations = s.iters;
    res->exact_checks = s.checks;
    df_clear(&s);
    if (st != CN_OK) {
        atk_df_result_clear(res);
        return st;
    }
    if (!res->found) {
        cn_free(res->x_linf);
        cn_free(res->x_l2);
        res->x_linf = res->x_l2 = NULL;
    }
    return CN_OK;
}

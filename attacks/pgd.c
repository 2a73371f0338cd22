/* pgd.c — PGD and FGSM / RAND+FGSM against a property's unsafe set, with
 * random restarts run as batches, a cosine step schedule, early stop, and the
 * exact confirmation of every candidate (with nudging near the boundary). */
#include "config.h"

#include <math.h>
#include <string.h>

#include "attacks/attacks_int.h"

void atk_opts_init(atk_opts *o)
{
    CN_REQUIRE(o, "options");
    memset(o, 0, sizeof *o);
    o->method = ATK_PGD;
    o->seed = 1;
    o->time_limit = 10.0;
    o->max_restarts = 2000;
    o->iters = 100;
    o->batch = 32;
    o->step = 0.25;
    o->step_min = 0.005;
    o->rand_fgsm = 0.5;
    o->target = -1;
    o->nudges = 8;
    o->df_iters = 50;
    o->df_overshoot = 0.02;
}

bool atk_l2_inside(int n, const mpq_t *x, const mpq_t *x0, const mpq_t eps)
{
    mpq_t s, t;
    mpq_init(s);
    mpq_init(t);
    for (int i = 0; i < n; i++) {
        mpq_sub(t, x[i], x0[i]);
        mpq_mul(t, t, t);
        mpq_add(s, s, t);
    }
    mpq_mul(t, eps, eps);
    bool in = mpq_cmp(s, t) <= 0;
    mpq_clear(s);
    mpq_clear(t);
    return in;
}

void atk_result_init(atk_result *r)
{
    CN_REQUIRE(r, "result");
    memset(r, 0, sizeof *r);
    prop_check_init(&r->check);
}

void atk_result_clear(atk_result *r)
{
    if (!r)
        return;
    if (r->x) {
        for (int i = 0; i < r->n_in; i++)
            mpq_clear(r->x[i]);
        cn_free(r->x);
    }
    cn_free(r->x_d);
    prop_check_clear(&r->check);
    atk_result_init(r);
}

/* Everything one search needs; freed by search_clear. */
typedef struct {
    const net *n;
    const prop *p;
    const atk_opts *o;
    int n_in, n_out, B;
    int n_cases;
    atk__case *cases;              /* [n_cases] (only cases with a reachable unsafe set) */
    atk_grad *g;
    double *X, *Y, *C, *G;         /* [B*in], [B*out], [B*out], [B*in] */
    double *alpha;                 /* [B] step for FGSM rounds */
    int *obj;                      /* [B] objective: disjunct, or -1 for all */
    double *loss, *rej;            /* [B] current loss; re-check only below rej */
    double *xt, *yt;               /* [in], [out] nudge scratch */
    mpq_t *xq;                     /* [in] */
    prop_check chk;
    atk_rng rng;
    double deadline;               /* +inf: none */
    atk_result *res;
    bool found;
    double *l2_c, l2_r;            /* atk_opts' L2 ball in doubles (l2_c NULL: none) */
} search;

static void search_clear(search *s)
{
    if (s->cases)
        for (int i = 0; i < s->n_cases; i++)
            atk__case_clear(&s->cases[i]);
    cn_free(s->cases);
    atk_grad_free(s->g);
    cn_free(s->X);
    cn_free(s->Y);
    cn_free(s->C);
    cn_free(s->G);
    cn_free(s->alpha);
    cn_free(s->obj);
    cn_free(s->loss);
    cn_free(s->rej);
    cn_free(s->xt);
    cn_free(s->yt);
    cn_free(s->l2_c);
    if (s->xq) {
        for (int i = 0; i < s->n_in; i++)
            mpq_clear(s->xq[i]);
        cn_free(s->xq);
    }
    prop_check_clear(&s->chk);
}

static cn_status search_init(search *s, const net *n, const prop *p, const atk_opts *o,
                             cn_err *err)
{
    memset(s, 0, sizeof *s);
    prop_check_init(&s->chk);
    s->n = n;
    s->p = p;
    s->o = o;
    s->n_in = net_in_size(n);
    s->n_out = net_out_size(n);
    s->B = o->batch;
    size_t ni = (size_t)s->n_in, no = (size_t)s->n_out, B = (size_t)s->B;
    int nc = prop_n_cases(p);
    s->cases = cn_calloc(nc > 0 ? (size_t)nc : 1, sizeof *s->cases);
    if (!s->cases)
        goto nomem;
    for (int i = 0; i < nc; i++) {
        const prop_case *pc = prop_case_at(p, i);
        if (pc->n_disj == 0)
            continue;              /* empty unsafe set: nothing to find */
        cn_status st = atk__case_init(&s->cases[s->n_cases], pc, s->n_in, s->n_out, err);
        if (st != CN_OK)
            return st;
        s->n_cases++;
    }
    cn_status st = atk_grad_new(n, s->B, &s->g, err);
    if (st != CN_OK)
        return st;
    s->X = cn_mallocarray(B * ni, sizeof(double));
    s->Y = cn_mallocarray(B * no, sizeof(double));
    s->C = cn_mallocarray(B * no, sizeof(double));
    s->G = cn_mallocarray(B * ni, sizeof(double));
    s->alpha = cn_mallocarray(B, sizeof(double));
    s->obj = cn_mallocarray(B, sizeof(int));
    s->loss = cn_mallocarray(B, sizeof(double));
    s->rej = cn_mallocarray(B, sizeof(double));
    s->xt = cn_mallocarray(ni, sizeof(double));
    s->yt = cn_mallocarray(no, sizeof(double));
    s->xq = cn_mallocarray(ni, sizeof(mpq_t));
    if (!s->X || !s->Y || !s->C || !s->G || !s->alpha || !s->obj || !s->loss || !s->rej ||
        !s->xt || !s->yt || !s->xq)
        goto nomem;
    for (size_t i = 0; i < ni; i++)
        mpq_init(s->xq[i]);
    if (o->l2_x0) {
        /* centre c: the doubles nearest below x0; radius eps - ||c - x0||_1
         * (>= the L2 distance), less a relative 1e-7 for the rounding of the
         * projection, so that ball(c, r) lies inside the exact ball */
        s->l2_c = cn_mallocarray(ni, sizeof(double));
        if (!s->l2_c)
            goto nomem;
        mpq_t dist, t;
        mpq_init(dist);
        mpq_init(t);
        for (size_t i = 0; i < ni; i++) {
            s->l2_c[i] = cn_mpq_get_d_down(o->l2_x0[i]);
            mpq_set_d(t, s->l2_c[i]);
            mpq_sub(t, o->l2_x0[i], t);
            mpq_abs(t, t);
            mpq_add(dist, dist, t);
        }
        mpq_sub(t, *o->l2_eps, dist);
        double r = cn_mpq_get_d_down(t) * (1.0 - 1e-7);
        s->l2_r = r > 0.0 ? r : 0.0;
        mpq_clear(dist);
        mpq_clear(t);
    }
    atk_rng_seed(&s->rng, o->seed);
    return CN_OK;
nomem:
    if (s->xq) {             /* not yet initialised: free without clearing */
        cn_free(s->xq);
        s->xq = NULL;
    }
    return cn_fail(err, CN_ENOMEM, "out of memory for an attack on %d inputs", s->n_in);
}

/* Stores the confirmed point s->xq / s->chk in the result. */
static cn_status record(search *s, cn_err *err)
{
    atk_result *r = s->res;
    r->x = cn_mallocarray((size_t)s->n_in, sizeof(mpq_t));
    r->x_d = cn_mallocarray((size_t)s->n_in, sizeof(double));
    if (!r->x || !r->x_d) {
        cn_free(r->x);
        cn_free(r->x_d);
        r->x = NULL;
        r->x_d = NULL;
        return cn_fail(err, CN_ENOMEM, "out of memory storing a counterexample");
    }
    r->n_in = s->n_in;
    for (int i = 0; i < s->n_in; i++) {
        mpq_init(r->x[i]);
        mpq_set(r->x[i], s->xq[i]);
        r->x_d[i] = atk__mpq_get_d_near(s->xq[i]);
    }
    /* hand the check over (swap, so both stay valid for clearing) */
    prop_check t = r->check;
    r->check = s->chk;
    s->chk = t;
    r->found = true;
    s->found = true;
    return CN_OK;
}

/* Projects x onto the case (atk__case_project), then into the L2 ball. */
static void project(const search *s, const atk__case *c, double *x)
{
    atk__case_project(c, x);
    if (!s->l2_c)
        return;
    double d2 = 0.0;
    for (int i = 0; i < s->n_in; i++)
        d2 += (x[i] - s->l2_c[i]) * (x[i] - s->l2_c[i]);
    double d = sqrt(d2);
    if (d <= s->l2_r)
        return;
    double f = s->l2_r / d;
    for (int i = 0; i < s->n_in; i++)
        x[i] = s->l2_c[i] + (x[i] - s->l2_c[i]) * f;
}

/* Exact check of the double point x (clamped exactly into case c's box; with
 * an L2 ball, inside it exactly too). */
static cn_status check_exact(search *s, const atk__case *c, const double *x, cn_err *err)
{
    atk__clamp_exact(c->pc, s->n_in, x, s->xq);
    s->res->exact_checks++;
    if (s->o->l2_x0 && !atk_l2_inside(s->n_in, s->xq, s->o->l2_x0, *s->o->l2_eps)) {
        s->res->exact_rejected++;
        return CN_OK;
    }
    cn_status st = prop_check_point(s->p, s->n, s->xq, &s->chk, err);
    if (st != CN_OK)
        return st;
    if (s->chk.violated)
        return record(s, err);
    s->res->exact_rejected++;
    return CN_OK;
}

/* Float loss of any disjunct (the exact check accepts any of them). */
static double any_loss(search *s, const atk__case *c, const double *x)
{
    atk_grad_forward(s->g, 1, x, s->yt);
    return atk__case_loss(c, s->yt, -1, NULL);
}

/* Candidate k of the batch had float loss <= 0: confirm it exactly, else try
 * points a little further along the descent direction (and, for linear input
 * constraints, a little toward the box centre). */
static cn_status confirm(search *s, const atk__case *c, int k, cn_err *err)
{
    const double *x = s->X + (size_t)k * s->n_in, *gk = s->G + (size_t)k * s->n_in;
    cn_status st = check_exact(s, c, x, err);
    if (st != CN_OK || s->found)
        return st;
    double L = s->loss[k];
    s->rej[k] = L - fabs(L) - 1e-12;
    for (int j = 0; j < s->o->nudges; j++) {
        double eta = ldexp(1.0, -40 + 5 * (j / 2));
        for (int i = 0; i < s->n_in; i++) {
            double sg = gk[i] > 0 ? 1.0 : gk[i] < 0 ? -1.0 : 0.0;
            double r = c->rad[i] > 0 ? c->rad[i] : 0.0;
            s->xt[i] = x[i] - eta * r * sg;
            if (j % 2 == 1)
                s->xt[i] += eta * (c->mid[i] - s->xt[i]);
        }
        project(s, c, s->xt);
        if (any_loss(s, c, s->xt) > 0.0)
            continue;
        st = check_exact(s, c, s->xt, err);
        if (st != CN_OK)
            return st;
        if (s->found) {
            s->res->nudged++;
            return CN_OK;
        }
    }
    return CN_OK;
}

/* Start point for restart number g (counted per case) into x. */
static void start_point(search *s, const atk__case *c, long g, int kind, double *x)
{
    for (int i = 0; i < s->n_in; i++) {
        double u = atk_rng_unif(&s->rng);
        switch (g == 0 ? 3 : kind) {
        case 0:            /* uniform in the box */
            x[i] = c->lo[i] + u * (c->hi[i] - c->lo[i]);
            break;
        case 1:            /* a random vertex */
            x[i] = u < 0.5 ? c->lo[i] : c->hi[i];
            break;
        case 2:            /* near the centre */
            x[i] = c->mid[i] + (2.0 * u - 1.0) * 0.5 * c->rad[i];
            break;
        default:           /* the centre */
            x[i] = c->mid[i];
            break;
        }
    }
    project(s, c, x);
}

static double schedule(const atk_opts *o, int t, int T)
{
    if (T <= 1)
        return o->step;
    double f = 0.5 * (1.0 + cos(M_PI * (double)t / (double)(T - 1)));
    return o->step_min + (o->step - o->step_min) * f;
}

/* One batch of restarts on case ci.  first: restart counter of this case. */
static cn_status run_round(search *s, int ci, long first, bool *timed_out, cn_err *err)
{
    const atk__case *c = &s->cases[ci];
    const atk_opts *o = s->o;
    int B = s->B, ni = s->n_in, no = s->n_out;
    bool fgsm = o->method == ATK_FGSM;
    int T = fgsm ? 1 : o->iters;
    for (int k = 0; k < B; k++) {
        long g = first + k;
        if (o->target >= 0)
            s->obj[k] = o->target < c->n_disj ? o->target : c->n_disj - 1;
        else if (c->n_disj == 1)
            s->obj[k] = 0;
        else
            s->obj[k] = (int)(g % (c->n_disj + 1)) - 1;
        double *x = s->X + (size_t)k * ni;
        if (fgsm) {
            /* FGSM from the centre first, then RAND+FGSM: a random signed step
             * of rand_fgsm half-widths, then the gradient step of the rest. */
            if (g == 0) {
                start_point(s, c, 0, 3, x);
                s->alpha[k] = 1.0;
            } else {
                for (int i = 0; i < ni; i++)
                    x[i] = c->mid[i] +
                           (atk_rng_unif(&s->rng) < 0.5 ? -1.0 : 1.0) * o->rand_fgsm * c->rad[i];
                project(s, c, x);
                s->alpha[k] = 1.0 - o->rand_fgsm;
            }
        } else {
            start_point(s, c, g, (int)(g % 3), x);
        }
        s->rej[k] = INFINITY;
    }
    for (int t = 0; t <= T; t++) {
        atk_grad_forward(s->g, B, s->X, s->Y);
        for (int k = 0; k < B; k++) {
            int atom;
            s->loss[k] = atk__case_loss(c, s->Y + (size_t)k * no, s->obj[k], &atom);
            double *ck = s->C + (size_t)k * no;
            if (atom >= 0)
                memcpy(ck, c->atom_c + (size_t)atom * no, (size_t)no * sizeof(double));
            else
                memset(ck, 0, (size_t)no * sizeof(double));
        }
        atk_grad_backward(s->g, B, s->C, s->G);
        for (int k = 0; k < B; k++) {
            if (!(s->loss[k] <= 0.0) || !(s->loss[k] < s->rej[k]))
                continue;
            cn_status st = confirm(s, c, k, err);
            if (st != CN_OK || s->found)
                return st;
        }
        s->res->iterations++;
        if (t == T)
            break;
        if (s->deadline < INFINITY && atk__now() >= s->deadline) {
            *timed_out = true;
            return CN_OK;
        }
        double a = schedule(o, t, T);
        for (int k = 0; k < B; k++) {
            double *x = s->X + (size_t)k * ni;
            const double *gk = s->G + (size_t)k * ni;
            double ak = fgsm ? s->alpha[k] : a;
            if (s->l2_c) { /* L2: along the normalised gradient */
                double g2 = 0.0;
                for (int i = 0; i < ni; i++)
                    g2 += gk[i] * gk[i];
                double f = g2 > 0.0 ? ak * s->l2_r / sqrt(g2) : 0.0;
                for (int i = 0; i < ni; i++)
                    x[i] -= f * gk[i];
            } else {
                for (int i = 0; i < ni; i++) {
                    double sg = gk[i] > 0 ? 1.0 : gk[i] < 0 ? -1.0 : 0.0;
                    x[i] -= ak * c->rad[i] * sg;
                }
            }
            project(s, c, x);
        }
    }
    return CN_OK;
}

cn_status atk_run(const net *n, const prop *p, const atk_opts *o, atk_result *res, cn_err *err)
{
    CN_REQUIRE(n && p && o && res, "network, property, options, result");
    CN_REQUIRE(prop_n_in(p) == net_in_size(n) && prop_n_out(p) == net_out_size(n),
               "property and network sizes agree");
    CN_REQUIRE(o->method == ATK_PGD || o->method == ATK_FGSM, "atk_run does PGD or FGSM");
    CN_REQUIRE(!o->l2_x0 || (o->l2_eps && o->method == ATK_PGD), "an L2 ball: PGD, with eps");
    CN_REQUIRE(o->batch >= 1 && o->iters >= 1, "positive batch and iterations");
    atk_result_clear(res);
    double t0 = atk__now();
    search s;
    cn_status st = search_init(&s, n, p, o, err);
    if (st != CN_OK)
        goto done;
    s.res = res;
    s.deadline = o->time_limit > 0 ? t0 + o->time_limit : INFINITY;
    bool timed_out = false;
    long done_restarts = 0;
    for (long r = 0; s.n_cases > 0 && !s.found && !timed_out; r++) {
        if (o->max_restarts > 0 && done_restarts >= o->max_restarts)
            break;
        int ci = (int)(r % s.n_cases);
        long first = (r / s.n_cases) * s.B;
        st = run_round(&s, ci, first, &timed_out, err);
        if (st != CN_OK)
            goto done;
        done_restarts += s.B;
        res->restarts = done_restarts;
        if (!s.found && !timed_out && s.deadline < INFINITY && atk__now() >= s.deadline)
            timed_out = true;
    }
    res->timed_out = timed_out && !s.found;
done:
    search_clear(&s);
    if (st != CN_OK) {
        atk_result_clear(res);
        return st;
    }
    res->seconds = atk__now() - t0;
    return CN_OK;
}

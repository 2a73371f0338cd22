/* alpha.c — alpha-CROWN: projected gradient ascent (Adam) on per-row lower
 * ReLU slopes.  Every iterate's bound is sound (any slope in [0,1] gives a
 * valid lower line), so the best bound seen per row is kept.  The caller's
 * deadline or stop (bnd__halted) is polled before every iteration. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "bounds/bounds_int.h"

static void alpha_release(bnd__alpha *al, int nl)
{
    for (int i = 0; i < nl; i++) {
        if (al->a)
            cn_free(al->a[i]);
        if (al->g)
            cn_free(al->g[i]);
        if (al->m1)
            cn_free(al->m1[i]);
        if (al->m2)
            cn_free(al->m2[i]);
        if (al->rec)
            cn_free(al->rec[i]);
        if (al->b)
            cn_free(al->b[i]);
        if (al->gb)
            cn_free(al->gb[i]);
        if (al->bm1)
            cn_free(al->bm1[i]);
        if (al->bm2)
            cn_free(al->bm2[i]);
    }
    cn_free(al->b);
    cn_free(al->gb);
    cn_free(al->bm1);
    cn_free(al->bm2);
    cn_free(al->a);
    cn_free(al->g);
    cn_free(al->m1);
    cn_free(al->m2);
    cn_free(al->rec);
    cn_free(al->rec0);
    cn_free(al->lbt);
    memset(al, 0, sizeof *al);
}

void bnd__alpha_free(bnd_ctx *c) { alpha_release(&c->al, c->nl); }

cn_status bnd__alpha_ensure(bnd_ctx *c, int R, int s, cn_err *err)
{
    (void)s;
    if (R <= c->al_cap_rows)
        return CN_OK;
    bnd__alpha n;
    memset(&n, 0, sizeof n);
    size_t nl = (size_t)c->nl, rr = (size_t)R;
    n.a = cn_calloc(nl, sizeof(double *));
    n.g = cn_calloc(nl, sizeof(double *));
    n.m1 = cn_calloc(nl, sizeof(double *));
    n.m2 = cn_calloc(nl, sizeof(double *));
    n.rec = cn_calloc(nl, sizeof(double *));
    n.b = cn_calloc(nl, sizeof(double *));
    n.gb = cn_calloc(nl, sizeof(double *));
    n.bm1 = cn_calloc(nl, sizeof(double *));
    n.bm2 = cn_calloc(nl, sizeof(double *));
    n.rec0 = cn_mallocarray(rr * (size_t)c->n_in, sizeof(double));
    n.lbt = cn_mallocarray(rr, sizeof(double));
    bool ok = n.a && n.g && n.m1 && n.m2 && n.rec && n.rec0 && n.lbt && n.b && n.gb && n.bm1 &&
              n.bm2;
    for (int i = 0; ok && i < c->nl; i++) {
        if (!c->L[i].relu)
            continue;
        size_t sz = rr * (size_t)c->L[i].in;
        n.a[i] = cn_mallocarray(sz, sizeof(double));
        n.g[i] = cn_mallocarray(sz, sizeof(double));
        n.m1[i] = cn_mallocarray(sz, sizeof(double));
        n.m2[i] = cn_mallocarray(sz, sizeof(double));
        n.rec[i] = cn_mallocarray(sz, sizeof(double));
        n.b[i] = cn_mallocarray(sz, sizeof(double));
        n.gb[i] = cn_mallocarray(sz, sizeof(double));
        n.bm1[i] = cn_mallocarray(sz, sizeof(double));
        n.bm2[i] = cn_mallocarray(sz, sizeof(double));
        ok = n.a[i] && n.g[i] && n.m1[i] && n.m2[i] && n.rec[i] && n.b[i] && n.gb[i] && n.bm1[i] &&
             n.bm2[i];
    }
    if (!ok) {
        alpha_release(&n, c->nl);
        return cn_fail(err, CN_ENOMEM, "bounds: out of memory for alpha slopes of %d rows", R);
    }
    alpha_release(&c->al, c->nl);
    c->al = n;
    c->al_cap_rows = R;
    return CN_OK;
}

void bnd__alpha_opt(bnd_ctx *c, int s, int R, int iters, double lr,
                    void (*load)(bnd_ctx *c, const void *arg), const void *arg, double *lb,
                    double *coef)
{
    bnd__alpha *al = &c->al;
    al->R = R;
    al->s = s;
    bool any = false;
    for (int i = 0; i < s; i++) {
        const bnd__layer *l = &c->L[i];
        if (!l->relu)
            continue;
        size_t n = (size_t)l->in;
        for (int r = 0; r < R; r++)
            memcpy(al->a[i] + (size_t)r * n, l->al, n * sizeof(double));
        memset(al->m1[i], 0, (size_t)R * n * sizeof(double));
        memset(al->m2[i], 0, (size_t)R * n * sizeof(double));
        for (size_t j = 0; j < n; j++)
            any |= l->st[j] == BND_ST_UNSTABLE;
    }
    if (!any || R == 0)
        return;
    const double b1 = 0.9, b2 = 0.999;
    double p1 = 1.0, p2 = 1.0;
    for (int t = 1; t <= iters; t++) {
        if (bnd__halted(c))
            break; /* stopped: bnd_run reports nothing */
        load(c, arg);
        bnd__backsub(c, s, R, false, al, al->lbt, NULL);
        if (c->halted)
            break; /* (the recorded rows are partial: no gradient step) */
        for (int r = 0; r < R; r++)
            if (al->lbt[r] > lb[r]) {
                lb[r] = al->lbt[r];
                if (coef)
                    memcpy(coef + (size_t)r * (size_t)c->n_in, al->rec0 + (size_t)r * (size_t)c->n_in,
                           (size_t)c->n_in * sizeof(double));
            }
        if (t == iters)
            break;
        bnd__alpha_grad(c, al);
        p1 *= b1;
        p2 *= b2;
        double step = lr * pow(0.98, t - 1);
        for (int i = 0; i < s; i++) {
            const bnd__layer *l = &c->L[i];
            if (!l->relu)
                continue;
            size_t n = (size_t)l->in;
            for (int r = 0; r < R; r++) {
                double *a = al->a[i] + (size_t)r * n, *g = al->g[i] + (size_t)r * n;
                double *m1 = al->m1[i] + (size_t)r * n, *m2 = al->m2[i] + (size_t)r * n;
                for (size_t j = 0; j < n; j++) {
                    if (l->st[j] != BND_ST_UNSTABLE)
                        continue;
                    m1[j] = b1 * m1[j] + (1 - b1) * g[j];
                    m2[j] = b2 * m2[j] + (1 - b2) * g[j] * g[j];
                    double mh = m1[j] / (1 - p1), vh = m2[j] / (1 - p2);
                    double x = a[j] + step * mh / (sqrt(vh) + 1e-12);
                    a[j] = x < 0.0 ? 0.0 : x > 1.0 ? 1.0 : x;
                }
            }
        }
    }
}

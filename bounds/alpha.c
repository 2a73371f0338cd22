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
        if (al->ui)
            cn_free(al->ui[i]);
        if (al->si)
            cn_free(al->si[i]);
    }
    cn_free(al->ui);
    cn_free(al->nu);
    cn_free(al->si);
    cn_free(al->ns);
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
    n.ui = cn_calloc(nl, sizeof(int *));
    n.nu = cn_calloc(nl, sizeof(int));
    n.si = cn_calloc(nl, sizeof(int *));
    n.ns = cn_calloc(nl, sizeof(int));
    bool ok = n.a && n.g && n.m1 && n.m2 && n.rec && n.rec0 && n.lbt && n.b && n.gb && n.bm1 &&
              n.bm2 && n.ui && n.nu && n.si && n.ns;
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
        n.ui[i] = cn_mallocarray((size_t)c->L[i].in, sizeof(int));
        n.si[i] = cn_mallocarray((size_t)c->L[i].in, sizeof(int));
        ok = n.a[i] && n.g[i] && n.m1[i] && n.m2[i] && n.rec[i] && n.b[i] && n.gb[i] && n.bm1[i] &&
             n.bm2[i] && n.ui[i] && n.si[i];
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

void bnd__alpha_unstable(bnd_ctx *c)
{
    bnd__alpha *al = &c->al;
    for (int i = 0; i < c->nl; i++) {
        const bnd__layer *l = &c->L[i];
        al->nu[i] = al->ns[i] = 0;
        if (!l->relu)
            continue;
        for (int j = 0; j < l->in; j++) {
            if (l->st[j] == BND_ST_UNSTABLE)
                al->ui[i][al->nu[i]++] = j;
            if (al->beta_on && al->split[l->relu_off + j])
                al->si[i][al->ns[i]++] = j;
        }
    }
}

void bnd__adam_idx(int cnt, const int *ix, double *x, const double *g, double *m1, double *m2,
                   double step, double p1, double p2, double lo, double hi)
{
    const double b1 = 0.9, b2 = 0.999;
    for (int k = 0; k < cnt; k++) {
        const int j = ix[k];
        m1[j] = b1 * m1[j] + (1 - b1) * g[j];
        m2[j] = b2 * m2[j] + (1 - b2) * g[j] * g[j];
        double mh = m1[j] / (1 - p1), vh = m2[j] / (1 - p2);
        double v = x[j] + step * mh / (sqrt(vh) + 1e-12);
        x[j] = v < lo ? lo : v > hi ? hi : v;
    }
}

void bnd__alpha_opt(bnd_ctx *c, int s, int R, int iters, double lr,
                    void (*load)(bnd_ctx *c, const void *arg), const void *arg, double *lb,
                    double *coef)
{
    bnd__alpha *al = &c->al;
    al->R = R;
    al->s = s;
    bnd__alpha_unstable(c);
    bool any = false;
    for (int i = 0; i < s; i++) {
        const bnd__layer *l = &c->L[i];
        if (!l->relu)
            continue;
        size_t n = (size_t)l->in;
        const int nu = al->nu[i], *ui = al->ui[i];
        for (int r = 0; r < R; r++) {
            memcpy(al->a[i] + (size_t)r * n, l->al, n * sizeof(double));
            /* the moments of the unstable neurons only: no other is read */
            double *m1 = al->m1[i] + (size_t)r * n, *m2 = al->m2[i] + (size_t)r * n;
            for (int k = 0; k < nu; k++)
                m1[ui[k]] = m2[ui[k]] = 0.0;
        }
        any |= nu > 0;
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
            if (!l->relu || al->nu[i] == 0)
                continue;
            size_t n = (size_t)l->in;
            for (int r = 0; r < R; r++) {
                size_t o = (size_t)r * n;
                bnd__adam_idx(al->nu[i], al->ui[i], al->a[i] + o, al->g[i] + o, al->m1[i] + o,
                              al->m2[i] + o, step, p1, p2, 0.0, 1.0);
            }
        }
    }
}

/* vnnlib_cases.c — step 4 of the VNN-LIB reader (vnnlib.c): each DNF term
 * split into its input part (a box, or linear input constraints: the
 * region) and its output part (one disjunct); terms with identical regions
 * share a case (found by hashing, confirmed exactly). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "models/vnnlib_int.h"

/* ------------------------------------------------------------------------ */
/* Grouping DNF terms into cases                                             */
/* ------------------------------------------------------------------------ */

static uint64_t mix(uint64_t h, uint64_t x)
{
    h ^= x + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    return h * 0xBF58476D1CE4E5B9ull;
}

static uint64_t hash_z(uint64_t h, mpz_srcptr z)
{
    h = mix(h, (uint64_t)(mpz_sgn(z) + 2));
    for (size_t i = 0; i < mpz_size(z); i++)
        h = mix(h, (uint64_t)mpz_getlimbn(z, (mp_size_t)i));
    return h;
}

static uint64_t hash_q(uint64_t h, const mpq_t q)
{
    return hash_z(hash_z(h, mpq_numref(q)), mpq_denref(q));
}

typedef struct {
    uint64_t h;
    size_t i;
} hitem;

static int hitem_cmp(const void *a, const void *b)
{
    const hitem *x = a, *y = b;
    if (x->h != y->h)
        return x->h < y->h ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* rep[i] = the smallest j with eq(j, i), using hashes h[] to find candidates. */
static bool classes(size_t n, const uint64_t *h, bool (*eq)(const void *, size_t, size_t),
                    const void *ctx, size_t *rep)
{
    hitem *it = cn_mallocarray(n ? n : 1, sizeof *it);
    if (!it)
        return false;
    for (size_t i = 0; i < n; i++)
        it[i] = (hitem){h[i], i};
    qsort(it, n, sizeof *it, hitem_cmp);
    for (size_t s = 0; s < n;) {
        size_t e = s;
        while (e < n && it[e].h == it[s].h)
            e++;
        for (size_t a = s; a < e; a++) {
            size_t i = it[a].i;
            rep[i] = i;
            for (size_t b = s; b < a; b++) {
                size_t j = it[b].i;
                if (rep[j] == j && eq(ctx, j, i)) {
                    rep[i] = j;
                    break;
                }
            }
        }
        s = e;
    }
    cn_free(it);
    return true;
}

typedef struct {
    const vp *v;
    const dnf *d;
    const int *xs;                    /* input atoms of term t: xs[xstart[t]..xstart[t+1]) */
    const size_t *xstart;
} key_ctx;

static bool key_eq(const void *ctx, size_t a, size_t b)
{
    const key_ctx *k = ctx;
    size_t la = k->xstart[a + 1] - k->xstart[a], lb = k->xstart[b + 1] - k->xstart[b];
    return la == lb && memcmp(k->xs + k->xstart[a], k->xs + k->xstart[b], la * sizeof(int)) == 0;
}

typedef struct {
    const prop_case *c;
    int n_in;
} region_ctx;

static bool region_eq(const void *ctx, size_t a, size_t b)
{
    const region_ctx *r = ctx;
    const prop_case *x = &r->c[a], *y = &r->c[b];
    if (x->n_lin != y->n_lin)
        return false;
    for (int i = 0; i < r->n_in; i++)
        if (!mpq_equal(x->lo[i], y->lo[i]) || !mpq_equal(x->hi[i], y->hi[i]))
            return false;
    for (int k = 0; k < x->n_lin; k++)
        if (!prop__lin_equal(&x->lin[k], &y->lin[k]))
            return false;
    return true;
}

static int int_cmp(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Region of one group of terms (the input atoms xs[0..nx)) into c. */
static cn_status build_region(vp *v, const int *xs, size_t nx, prop_case *c, int region_no,
                              unsigned char *has)
{
    int n_in = v->nx;
    if (!prop__case_box(c, n_in))
        return vnl__nomem(v);
    memset(has, 0, (size_t)n_in);     /* bit 1: lower bound seen, bit 2: upper */
    size_t n_lin = 0;
    for (size_t q = 0; q < nx; q++)
        if (v->atoms[xs[q]].lin.n > 1)
            n_lin++;
    c->lin = cn_calloc(n_lin ? n_lin : 1, sizeof(prop_lin));
    if (!c->lin)
        return vnl__nomem(v);
    mpq_t b;
    mpq_init(b);
    cn_status st = CN_OK;
    for (size_t q = 0; q < nx; q++) {
        const prop_lin *a = &v->atoms[xs[q]].lin;
        if (a->n > 1) {
            if (!prop__lin_copy(&c->lin[c->n_lin], a)) {
                st = vnl__nomem(v);
                break;
            }
            c->n_lin++;
            continue;
        }
        int i = a->var[0];
        mpq_div(b, a->rhs, a->coef[0]);
        if (mpq_sgn(a->coef[0]) > 0) {      /* X_i <= b */
            if (!(has[i] & 2) || mpq_cmp(b, c->hi[i]) < 0)
                mpq_set(c->hi[i], b);
            has[i] |= 2;
        } else {                            /* X_i >= b */
            if (!(has[i] & 1) || mpq_cmp(b, c->lo[i]) > 0)
                mpq_set(c->lo[i], b);
            has[i] |= 1;
        }
    }
    mpq_clear(b);
    if (st != CN_OK)
        return st;
    for (int i = 0; i < n_in; i++)
        if (has[i] != 3) {
            const decl *d = vnl__find_decl(v, false, i);
            return vnl__fail_at(v, CN_EUNSUPPORTED, d->line, d->col,
                                "input X_%d has no %s bound in input region %d; every input "
                                "needs a lower and an upper bound",
                                i, (has[i] & 1) ? "upper" : "lower", region_no + 1);
        }
    prop__case_round(c, n_in);
    return CN_OK;
}

cn_status vnl__build(vp *v, const dnf *d, prop **out)
{
    cn_status st = CN_OK;
    size_t T = d->n, G = 0, C = 0;
    size_t total = d->start[T];
    int *xs = cn_mallocarray(total ? total : 1, sizeof(int));
    size_t *xstart = cn_mallocarray(T + 1, sizeof(size_t));
    uint64_t *h = cn_mallocarray(T ? T : 1, sizeof(uint64_t));
    size_t *rep = cn_mallocarray(T ? T : 1, sizeof(size_t));
    size_t *grp = cn_mallocarray(T ? T : 1, sizeof(size_t));   /* term -> group */
    size_t *gterm = cn_mallocarray(T ? T : 1, sizeof(size_t)); /* group -> first term */
    size_t *crep = NULL, *gcase = NULL, *cgroup = NULL, *ndisj = NULL;
    unsigned char *has = cn_malloc((size_t)v->nx);
    prop_case *gc = NULL;
    prop *p = NULL;
    size_t built = 0;
    if (!xs || !xstart || !h || !rep || !grp || !gterm || !has)
        goto oom;
    /* input atoms of each term, sorted (the grouping key) */
    xstart[0] = 0;
    for (size_t t = 0; t < T; t++) {
        size_t p0 = xstart[t], p1 = p0;
        for (size_t q = d->start[t]; q < d->start[t + 1]; q++)
            if (!v->atoms[d->at[q]].is_y)
                xs[p1++] = d->at[q];
        qsort(xs + p0, p1 - p0, sizeof(int), int_cmp);
        xstart[t + 1] = p1;
        uint64_t hh = 1469598103934665603ull;
        for (size_t q = p0; q < p1; q++)
            hh = mix(hh, (uint64_t)xs[q]);
        h[t] = hh;
    }
    key_ctx kc = {v, d, xs, xstart};
    if (!classes(T, h, key_eq, &kc, rep))
        goto oom;
    for (size_t t = 0; t < T; t++) {
        if (rep[t] == t) {
            gterm[G] = t;
            grp[t] = G++;
        } else {
            grp[t] = grp[rep[t]];
        }
    }
    /* one region per group */
    gc = cn_calloc(G ? G : 1, sizeof(prop_case));
    crep = cn_mallocarray(G ? G : 1, sizeof(size_t));
    gcase = cn_mallocarray(G ? G : 1, sizeof(size_t));
    cgroup = cn_mallocarray(G ? G : 1, sizeof(size_t));
    if (!gc || !crep || !gcase || !cgroup)
        goto oom;
    for (size_t g = 0; g < G; g++) {
        size_t t = gterm[g];
        built = g + 1;
        if ((st = build_region(v, xs + xstart[t], xstart[t + 1] - xstart[t], &gc[g], (int)g,
                               has)) != CN_OK)
            goto fail_groups;
        uint64_t hh = 7;
        for (int i = 0; i < v->nx; i++)
            hh = hash_q(hash_q(hh, gc[g].lo[i]), gc[g].hi[i]);
        for (int k = 0; k < gc[g].n_lin; k++) {
            const prop_lin *a = &gc[g].lin[k];
            hh = hash_q(hh, a->rhs);
            for (int j = 0; j < a->n; j++)
                hh = hash_q(mix(hh, (uint64_t)a->var[j]), a->coef[j]);
        }
        h[g] = hh;
    }
    region_ctx rc = {gc, v->nx};
    if (!classes(G, h, region_eq, &rc, crep))
        goto oom_groups;
    for (size_t g = 0; g < G; g++) {
        if (crep[g] == g) {
            cgroup[C] = g;
            gcase[g] = C++;
        } else {
            gcase[g] = gcase[crep[g]];
        }
    }
    if (C > (size_t)1 << 30)
        goto oom_groups;
    p = prop__alloc(v->name, v->nx, v->ny, (int)C);
    ndisj = cn_calloc(C ? C : 1, sizeof(size_t));
    if (!p || !ndisj)
        goto oom_groups;
    for (size_t t = 0; t < T; t++)
        ndisj[gcase[grp[t]]]++;
    /* move each case's region from its first group */
    for (size_t c = 0; c < C; c++) {
        p->cases[c] = gc[cgroup[c]];
        memset(&gc[cgroup[c]], 0, sizeof(prop_case));
        p->cases[c].disj = cn_calloc(ndisj[c], sizeof(prop_conj));
        if (!p->cases[c].disj)
            goto oom_groups;
    }
    /* one disjunct per term, in term order */
    for (size_t t = 0; t < T; t++) {
        prop_case *c = &p->cases[gcase[grp[t]]];
        int ny = 0;
        for (size_t q = d->start[t]; q < d->start[t + 1]; q++)
            ny += v->atoms[d->at[q]].is_y;
        prop_conj *cj = &c->disj[c->n_disj];
        cj->atoms = cn_calloc((size_t)(ny ? ny : 1), sizeof(prop_lin));
        if (!cj->atoms)
            goto oom_groups;
        c->n_disj++;
        for (size_t q = d->start[t]; q < d->start[t + 1]; q++) {
            const patom *a = &v->atoms[d->at[q]];
            if (!a->is_y)
                continue;
            if (!prop__lin_copy(&cj->atoms[cj->n], &a->lin))
                goto oom_groups;
            cj->n++;
        }
    }
    *out = p;
    p = NULL;
    goto fail_groups;
oom_groups:
    st = vnl__nomem(v);
fail_groups:
    for (size_t g = 0; g < built; g++)
        prop__case_clear(&gc[g], v->nx);
    goto done;
oom:
    st = vnl__nomem(v);
done:
    prop_free(p);
    cn_free(gc);
    cn_free(xs);
    cn_free(xstart);
    cn_free(h);
    cn_free(rep);
    cn_free(grp);
    cn_free(gterm);
    cn_free(crep);
    cn_free(gcase);
    cn_free(cgroup);
    cn_free(ndisj);
    cn_free(has);
    return st;
}


/* batch.c — bnd_run_batch: B regions of one network bounded in one pass
 * (bounds.h, "Batches").
 *
 * Each region has a state (slot): its bounds of every z_i, the relaxation
 * of every ReLU layer and the error vector v and constant k of every
 * affine layer, the same arrays bnd_run keeps in the context.  The forward
 * steps of bounds.c (interval step, splits and relaxation) run on a region
 * by swapping its slot into the context (pointer exchanges), so they are
 * bnd_run's own code, done once per distinct input (find_reps).  The
 * back-substitutions are done here: the linear bounds of a layer by groups
 * of regions that differ only in the relaxation of the ReLU layer below at
 * a few neurons (rows_group: one common product, then each region's
 * difference), the query rows of all regions stacked (backsub).  Each row's
 * ReLU step uses its region's relaxation and error terms exactly as
 * backsub.c's relu_step and affine_step do (the same sums in the same
 * order); each product is a sum of the same terms as bnd_run's in some
 * order, which the a-priori bound gamma_out |Lambda| |W| of bounds.h
 * covers (it holds for any order and any subset of the out terms; exact
 * zero terms change nothing).  Runs in the FE_UPWARD scope like bnd_run.
 */
#include "config.h"

#include <fenv.h>
#include <math.h>
#include <string.h>

#include <cblas.h>

#include "bounds/bounds_int.h"

/* The per-call fields of one layer (bnd__layer's of the same names). */
typedef struct {
    signed char *st;
    double *ua, *uc, *al, *sn, *cn, *em;
    int *idx, na;
    double eta_unst;
    double *e, *v;
    bool v_ok;
    double k;
} lstate;

typedef struct {
    double **lo, **hi, **mag;   /* [nl + 1] */
    lstate *L;                  /* [nl] */
    bool infeasible, blown;
    int blown_at;
} slot;

struct bnd__batch {
    int nl, cap, last_B;
    slot *s;                    /* [cap] */
    int *rep;                   /* [cap] region whose bounds a region shares */
    int *boff, *bid;            /* [cap + 1] row blocks: first row, region */
    double *ibp;                /* [cap_ibp] interval bounds of the query rows */
    size_t cap_ibp;
    double *Wu;                 /* alive rows of a layer's W (ensure_stack) */
    int *uidx;                  /* [maxw] the union of alive columns */
    /* rows_group: groups (grp, mem: [cap]), the neurons where a group's
     * relaxations differ (D), a neuron's common row (uj), the common rows
     * over z_i and z_{i-2} (Pc, Qc: ensure_stack), scratch rows [maxw] */
    int *grp, *mem, *D, *uj;
    double *Pc, *Qc, *lam, *pr, *qr;
};

/* Rows per stacked product of intermediate bounds: a region's rows are
 * already a matrix (two per unstable neuron); more rows than this per
 * product only leave the cache (measured on mnist_fc 256x2,
 * benchmarks/README.md).  The query rows of all regions are one product. */
#define BND_BATCH_ROWS 512
/* rows_group: a group whose regions' relaxations differ at more neurons
 * than this is bounded region by region (each difference costs a row
 * update as long as the row). */
#define BND_BATCH_DIFF 32

static int zw(const bnd_ctx *c, int i) { return i == 0 ? c->n_in : c->L[i - 1].out; }

static void slot_free(const bnd_ctx *c, slot *s)
{
    for (int i = 0; i <= c->nl; i++) {
        if (s->lo)
            cn_free(s->lo[i]);
        if (s->hi)
            cn_free(s->hi[i]);
        if (s->mag)
            cn_free(s->mag[i]);
    }
    cn_free(s->lo);
    cn_free(s->hi);
    cn_free(s->mag);
    for (int i = 0; s->L && i < c->nl; i++) {
        lstate *t = &s->L[i];
        cn_free(t->st);
        cn_free(t->ua);
        cn_free(t->uc);
        cn_free(t->al);
        cn_free(t->sn);
        cn_free(t->cn);
        cn_free(t->em);
        cn_free(t->idx);
        cn_free(t->e);
        cn_free(t->v);
    }
    cn_free(s->L);
    memset(s, 0, sizeof *s);
}

void bnd__batch_free(bnd_ctx *c)
{
    bnd__batch *bt = c->bt;
    if (!bt)
        return;
    for (int k = 0; k < bt->cap; k++)
        slot_free(c, &bt->s[k]);
    cn_free(bt->s);
    cn_free(bt->rep);
    cn_free(bt->boff);
    cn_free(bt->bid);
    cn_free(bt->ibp);
    cn_free(bt->Wu);
    cn_free(bt->uidx);
    cn_free(bt->grp);
    cn_free(bt->mem);
    cn_free(bt->D);
    cn_free(bt->uj);
    cn_free(bt->Pc);
    cn_free(bt->Qc);
    cn_free(bt->lam);
    cn_free(bt->pr);
    cn_free(bt->qr);
    cn_free(bt);
    c->bt = NULL;
}

/* An array of n elements of size sz where the context has one (same
 * shape), else NULL; *ok cleared when the allocation failed. */
static void *like(const void *ctx_field, size_t n, size_t sz, bool *ok)
{
    if (!ctx_field)
        return NULL;
    void *p = cn_mallocarray(n ? n : 1, sz);
    if (!p)
        *ok = false;
    return p;
}

static bool slot_alloc(const bnd_ctx *c, slot *s)
{
    bool ok = true;
    s->lo = cn_calloc((size_t)c->nl + 1, sizeof(double *));
    s->hi = cn_calloc((size_t)c->nl + 1, sizeof(double *));
    s->mag = cn_calloc((size_t)c->nl + 1, sizeof(double *));
    s->L = cn_calloc((size_t)c->nl, sizeof(lstate));
    if (!s->lo || !s->hi || !s->mag || !s->L)
        return false;
    for (int i = 0; i <= c->nl; i++) {
        size_t w = (size_t)zw(c, i);
        s->lo[i] = like(c->lo[i], w, sizeof(double), &ok);
        s->hi[i] = like(c->hi[i], w, sizeof(double), &ok);
        s->mag[i] = like(c->mag[i], w, sizeof(double), &ok);
    }
    for (int i = 0; i < c->nl; i++) {
        const bnd__layer *l = &c->L[i];
        lstate *t = &s->L[i];
        size_t in = (size_t)l->in, out = (size_t)l->out;
        t->st = like(l->st, in, sizeof(signed char), &ok);
        t->ua = like(l->ua, in, sizeof(double), &ok);
        t->uc = like(l->uc, in, sizeof(double), &ok);
        t->al = like(l->al, in, sizeof(double), &ok);
        t->sn = like(l->sn, in, sizeof(double), &ok);
        t->cn = like(l->cn, in, sizeof(double), &ok);
        t->em = like(l->em, in, sizeof(double), &ok);
        t->idx = like(l->idx, in, sizeof(int), &ok);
        t->e = like(l->e, out, sizeof(double), &ok);
        t->v = like(l->v, out, sizeof(double), &ok);
    }
    return ok;
}

static cn_status ensure_slots(bnd_ctx *c, int B, cn_err *err)
{
    if (!c->bt) {
        c->bt = cn_calloc(1, sizeof *c->bt);
        if (!c->bt)
            goto nomem;
        c->bt->nl = c->nl;
        size_t mw = (size_t)c->maxw;
        c->bt->uidx = cn_mallocarray(mw, sizeof(int));
        c->bt->D = cn_mallocarray(mw, sizeof(int));
        c->bt->uj = cn_mallocarray(mw, sizeof(int));
        c->bt->lam = cn_mallocarray(mw, sizeof(double));
        c->bt->pr = cn_mallocarray(mw, sizeof(double));
        c->bt->qr = cn_mallocarray(mw, sizeof(double));
        if (!c->bt->uidx || !c->bt->D || !c->bt->uj || !c->bt->lam || !c->bt->pr || !c->bt->qr)
            goto nomem;
    }
    bnd__batch *bt = c->bt;
    if (B <= bt->cap)
        return CN_OK;
    slot *s = cn_calloc((size_t)B, sizeof(slot));
    int *rep = cn_mallocarray((size_t)B, sizeof(int));
    int *boff = cn_mallocarray((size_t)B + 1, sizeof(int));
    int *bid = cn_mallocarray((size_t)B + 1, sizeof(int));
    int *grp = cn_mallocarray((size_t)B, sizeof(int));
    int *mem = cn_mallocarray((size_t)B, sizeof(int));
    if (!s || !rep || !boff || !bid || !grp || !mem) {
        cn_free(s);
        cn_free(rep);
        cn_free(boff);
        cn_free(bid);
        cn_free(grp);
        cn_free(mem);
        goto nomem;
    }
    if (bt->cap > 0)
        memcpy(s, bt->s, sizeof(slot) * (size_t)bt->cap);
    cn_free(bt->s);
    cn_free(bt->rep);
    cn_free(bt->boff);
    cn_free(bt->bid);
    cn_free(bt->grp);
    cn_free(bt->mem);
    bt->grp = grp;
    bt->mem = mem;
    bt->s = s;
    bt->rep = rep;
    bt->boff = boff;
    bt->bid = bid;
    while (bt->cap < B) {
        if (!slot_alloc(c, &bt->s[bt->cap])) {
            slot_free(c, &bt->s[bt->cap]);
            goto nomem;
        }
        bt->cap++;
    }
    return CN_OK;
nomem:
    return cn_fail(err, CN_ENOMEM, "bounds: out of memory for a batch of %d regions", B);
}

/* The stacked path's workspaces (its first use): a layer's weights on
 * the alive columns (Wu, as large as the largest W) and the common rows of
 * rows_group (Pc, Qc: two rows per neuron of affine layer i over z_i and
 * z_{i-2}, for every such layer). */
static cn_status ensure_stack(bnd_ctx *c, cn_err *err)
{
    bnd__batch *bt = c->bt;
    if (bt->Wu)
        return CN_OK;
    size_t nw = 1, np = 1, nq = 1;
    for (int i = 0; i < c->nl; i++) {
        const bnd__layer *l = &c->L[i];
        if (l->relu)
            continue;
        size_t w = (size_t)l->out * (size_t)l->in;
        nw = w > nw ? w : nw;
        if (i >= 2) {
            np = 2 * w > np ? 2 * w : np;
            size_t q = 2 * (size_t)l->out * (size_t)c->L[i - 2].in;
            nq = q > nq ? q : nq;
        }
    }
    bt->Pc = cn_mallocarray(np, sizeof(double));
    bt->Qc = cn_mallocarray(nq, sizeof(double));
    bt->Wu = cn_mallocarray(nw, sizeof(double));
    if (!bt->Pc || !bt->Qc || !bt->Wu) {
        cn_free(bt->Pc);
        cn_free(bt->Qc);
        cn_free(bt->Wu);
        bt->Pc = bt->Qc = bt->Wu = NULL;
        return cn_fail(err, CN_ENOMEM, "bounds: out of memory for a batch's rows");
    }
    return CN_OK;
}

#define SWAP(T, a, b) \
    do {              \
        T t_ = (a);   \
        (a) = (b);    \
        (b) = t_;     \
    } while (0)

/* Exchanges region state s with the context's (twice: back). */
static void swap_in(bnd_ctx *c, slot *s)
{
    SWAP(double **, c->lo, s->lo);
    SWAP(double **, c->hi, s->hi);
    SWAP(double **, c->mag, s->mag);
    SWAP(bool, c->infeasible, s->infeasible);
    SWAP(bool, c->blown, s->blown);
    SWAP(int, c->blown_at, s->blown_at);
    for (int i = 0; i < c->nl; i++) {
        bnd__layer *l = &c->L[i];
        lstate *t = &s->L[i];
        SWAP(signed char *, l->st, t->st);
        SWAP(double *, l->ua, t->ua);
        SWAP(double *, l->uc, t->uc);
        SWAP(double *, l->al, t->al);
        SWAP(double *, l->sn, t->sn);
        SWAP(double *, l->cn, t->cn);
        SWAP(double *, l->em, t->em);
        SWAP(int *, l->idx, t->idx);
        SWAP(int, l->na, t->na);
        SWAP(double, l->eta_unst, t->eta_unst);
        SWAP(double *, l->e, t->e);
        SWAP(double *, l->v, t->v);
        SWAP(bool, l->v_ok, t->v_ok);
        SWAP(double, l->k, t->k);
        l->wc_ok = false;   /* Wc holds some region's alive rows */
    }
}

/* Whether the stacked path computes what bnd_run computes (bounds.h). */
static bool stackable(const bnd_ctx *c, const bnd_opts *o)
{
    if (c->act || c->red_ok || o->method != BND_CROWN || o->layer_concretise ||
        !o->intersect_ibp)
        return false;
    if (c->nl % 2 == 0) /* affine, relu, affine, ..., affine */
        return false;
    for (int i = 0; i < c->nl; i++) {
        const bnd__layer *l = &c->L[i];
        if (l->relu != (i % 2 == 1) || l->pool || l->encl || (l->relu && !l->fused) ||
            (!l->relu && BND_CONV_TAPS(l)))
            return false;
    }
    return true;
}

/* Rows over the output of affine layer a (Rt x out, in P) -> rows over its
 * input (Q), as backsub.c's affine_product, with relu layer rl above (or
 * -1) and the alive columns the union over the regions of the blocks. */
static void product(bnd_ctx *c, int a, int rl, const int *regs, int nr, int Rt, double *P,
                    double *Q)
{
    bnd__batch *bt = c->bt;
    const bnd__layer *A = &c->L[a];
    const int in = A->in, out = A->out;
    if (Rt <= 0)
        return;
    if (Rt <= BND_SMALL_ROWS) { /* skipping zero coefficients, as backsub.c */
        for (int r = 0; r < Rt; r++) {
            const double *p = P + (size_t)r * (size_t)out;
            double *q = Q + (size_t)r * (size_t)in;
            memset(q, 0, (size_t)in * sizeof(double));
            for (int j = 0; j < out; j++)
                if (p[j] != 0.0)
                    bnd__k_axpy(in, p[j], A->W + (size_t)j * (size_t)in, q);
        }
        return;
    }
    if (rl < 0) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Rt, in, out, 1.0, P, out, A->W, in,
                    0.0, Q, in);
        return;
    }
    int nu = 0;
    for (int j = 0; j < out; j++) {
        bool alive = false;
        for (int k = 0; k < nr && !alive; k++)
            alive = bt->s[regs[k]].L[rl].st[j] != BND_ST_INACTIVE;
        if (alive)
            bt->uidx[nu++] = j;
    }
    if (nu == 0) {
        memset(Q, 0, (size_t)Rt * (size_t)in * sizeof(double));
        return;
    }
    for (int t = 0; t < nu; t++)
        memcpy(bt->Wu + (size_t)t * (size_t)in, A->W + (size_t)bt->uidx[t] * (size_t)in,
               (size_t)in * sizeof(double));
    /* in place: destination r*nu+t never passes the source r*out+uidx[t] */
    for (int r = 0; r < Rt; r++)
        for (int t = 0; t < nu; t++)
            P[(size_t)r * (size_t)nu + t] = P[(size_t)r * (size_t)out + bt->uidx[t]];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Rt, in, nu, 1.0, P, nu, bt->Wu, in, 0.0,
                Q, in);
}

/* bnd__backsub (no concretisation on the way, default slopes) of the nb
 * row blocks (bt->boff, bt->bid) over z_s in c->A, c->nc, c->dead (set by
 * the caller): lower bounds lb[Rt].  A stopped run leaves every lb -inf. */
static void backsub(bnd_ctx *c, int s, int nb, double *lb)
{
    bnd__batch *bt = c->bt;
    const int Rt = bt->boff[nb];
    double *cur = c->A, *nxt = c->B;
    int i = s; /* cur: Rt rows over z_i */
    while (i > 0) {
        if (bnd__halted(c)) {
            for (int r = 0; r < Rt; r++)
                lb[r] = -INFINITY;
            return;
        }
        const bnd__layer *l = &c->L[i - 1];
        if (l->relu) { /* fused with affine layer i - 2 (stackable) */
            const bnd__layer *a = &c->L[i - 2];
            const int n = l->in;
            for (int k = 0; k < nb; k++) {
                const slot *sl = &bt->s[bt->bid[k]];
                const lstate *rs = &sl->L[i - 1], *as = &sl->L[i - 2];
                for (int r = bt->boff[k]; r < bt->boff[k + 1]; r++) {
                    double t[4];
                    bnd__k_relu_row(n, cur + (size_t)r * (size_t)n, rs->al, rs->sn, rs->cn,
                                    rs->em, a->b, as->v, nxt + (size_t)r * (size_t)n, t);
                    double sum = c->nc[r];
                    sum += t[0];
                    sum += t[1] * 0x1p-51;
                    sum += rs->eta_unst;
                    sum += t[2];
                    sum += t[3];
                    sum += as->k;
                    c->nc[r] = sum;
                    if (!(sum < INFINITY))
                        c->dead[r] = true;
                }
            }
            product(c, i - 2, i - 1, bt->bid, nb, Rt, nxt, cur);
            i -= 2;
        } else { /* an affine layer not followed by a ReLU */
            for (int k = 0; k < nb; k++) {
                const lstate *as = &bt->s[bt->bid[k]].L[i - 1];
                for (int r = bt->boff[k]; r < bt->boff[k + 1]; r++) {
                    double t[2];
                    bnd__k_affine_row(l->out, cur + (size_t)r * (size_t)l->out, l->b, as->v, t);
                    double sum = c->nc[r];
                    sum += t[0];
                    sum += t[1];
                    sum += as->k;
                    c->nc[r] = sum;
                    if (!(sum < INFINITY))
                        c->dead[r] = true;
                }
            }
            product(c, i - 1, -1, bt->bid, nb, Rt, cur, nxt);
            SWAP(double *, cur, nxt);
            i -= 1;
        }
    }
    for (int k = 0; k < nb; k++) {
        const slot *sl = &bt->s[bt->bid[k]];
        for (int r = bt->boff[k]; r < bt->boff[k + 1]; r++) {
            double chk;
            double v = bnd__k_concretise(c->n_in, cur + (size_t)r * (size_t)c->n_in, sl->lo[0],
                                         sl->hi[0], &chk);
            v += c->nc[r];
            lb[r] = (chk < INFINITY && v < INFINITY && !c->dead[r]) ? -v : -INFINITY;
        }
    }
}

static bool live(const slot *s) { return !s->infeasible && !s->blown; }

/* Regions a and b have the same inputs to z_{i+1}: box, known bounds and
 * the splits of the first nsp ReLUs (those of the layers below). */
static bool same_prefix(const bnd_region *a, const bnd_region *b, int n_in, int nsp)
{
    if (a->ref_lo != b->ref_lo || a->ref_hi != b->ref_hi)
        return false;
    if (memcmp(a->lo, b->lo, sizeof(double) * (size_t)n_in) != 0 ||
        memcmp(a->hi, b->hi, sizeof(double) * (size_t)n_in) != 0)
        return false;
    for (int j = 0; j < nsp; j++) {
        int sa = a->split ? a->split[j] : 0, sb = b->split ? b->split[j] : 0;
        if (sa != sb)
            return false;
    }
    return true;
}

/* Relu layers' neurons in layers below layer i (the splits z_i depends on). */
static int splits_below(const bnd_ctx *c, int i)
{
    int n = 0;
    for (int k = 0; k < i; k++)
        if (c->L[k].relu)
            n += c->L[k].in;
    return n;
}

/* bt->rep for affine layer i: each live region's first live region with
 * the same inputs to z_{i+1} (box, known bounds, the splits below layer i),
 * -1 for the others. */
static void find_reps(bnd_ctx *c, int B, const bnd_region *rg, int i)
{
    bnd__batch *bt = c->bt;
    int nsp = splits_below(c, i);
    for (int b = 0; b < B; b++) {
        bt->rep[b] = -1;
        if (!live(&bt->s[b]))
            continue;
        bt->rep[b] = b;
        for (int q = 0; q < b; q++)
            if (bt->rep[q] == q && same_prefix(&rg[q], &rg[b], c->n_in, nsp)) {
                bt->rep[b] = q;
                break;
            }
    }
}

/* Whether z_{i+1}[j] gets rows in region sl (linear_layer's choice). */
static bool wants_row(const bnd_ctx *c, const slot *sl, int i, int j)
{
    const double *lo = sl->lo[i + 1], *hi = sl->hi[i + 1];
    return !c->L[i + 1].relu || (lo[j] < 0.0 && hi[j] > 0.0);
}

/* Applies the lower bounds c->row_lb of the blocks' rows to their regions'
 * bounds of z_{i+1} (intersected, as linear_layer). */
static void apply_rows(bnd_ctx *c, int i, int nb)
{
    bnd__batch *bt = c->bt;
    for (int k = 0; k < nb; k++) {
        slot *sl = &bt->s[bt->bid[k]];
        double *lo = sl->lo[i + 1], *hi = sl->hi[i + 1];
        for (int r = bt->boff[k]; r < bt->boff[k + 1]; r++) {
            int j = c->row_j[r];
            double v = c->row_lb[r];
            if (c->row_sgn[r] > 0) {
                if (v > lo[j])
                    lo[j] = v;
            } else {
                double u = -v;
                if (u < hi[j])
                    hi[j] = u;
            }
        }
    }
}

/* Whether relu layer q's relaxation of neuron j is the same in two regions. */
static bool same_relax(const lstate *a, const lstate *b, int j)
{
    return a->st[j] == b->st[j] && a->al[j] == b->al[j] && a->sn[j] == b->sn[j] &&
           a->cn[j] == b->cn[j] && a->em[j] == b->em[j];
}

/* One row of rows_group for region sl: lam [width of z_i] over z_i with
 * constant -nc0 taken through the region's relaxation of relu layer i - 1
 * and the fused affine layer i - 2 exactly as backsub's relu step does:
 * group_consts returns the new constant (negated), its coefficients over
 * z_{i-1} in bt->pr; group_row also forms the product with W_{i-2} in
 * bt->qr, the common row qc plus the D columns. */
static double group_consts(bnd_ctx *c, int i, const slot *sl, const double *lam, double nc0)
{
    bnd__batch *bt = c->bt;
    const bnd__layer *a = &c->L[i - 2];
    const lstate *rs = &sl->L[i - 1], *as = &sl->L[i - 2];
    double *p = bt->pr, t[4];
    bnd__k_relu_row(c->L[i].in, lam, rs->al, rs->sn, rs->cn, rs->em, a->b, as->v, p, t);
    double sum = nc0;
    sum += t[0];
    sum += t[1] * 0x1p-51;
    sum += rs->eta_unst;
    sum += t[2];
    sum += t[3];
    sum += as->k;
    return sum;
}

static void group_row(bnd_ctx *c, int i, const slot *sl, const double *lam, double nc0,
                      const double *qc, const int *D, int nd, double *nc)
{
    bnd__batch *bt = c->bt;
    const bnd__layer *a = &c->L[i - 2];
    const int na = a->in;
    *nc = group_consts(c, i, sl, lam, nc0);
    memcpy(bt->qr, qc, (size_t)na * sizeof(double));
    for (int e = 0; e < nd; e++)
        if (bt->pr[D[e]] != 0.0)
            bnd__k_axpy(na, bt->pr[D[e]], a->W + (size_t)D[e] * (size_t)na, bt->qr);
}

/* Rows of z_{i+1} for the regions mem[nm] (distinct inputs to z_{i+1};
 * layer i - 1 a ReLU fused with affine layer i - 2) that agree on
 * everything below relu layer i - 1 and on its relaxation except at the
 * neurons D[nd].  Each row starts as +-W_i[j] over z_i, is taken through
 * its region's relaxation of relu layer i - 1 exactly as backsub does it
 * (constants), and its product with W_{i-2} is the common product of the
 * row without the D columns (one product for the group, over the base
 * region's relaxation, which all share off D) plus the D columns
 * (p_d W_{i-2}[d], each added in floating point).  That is the same sum
 * of the same out terms in another order: the a-priori bound
 * gamma_out |P| |W| (+ underflow) of bounds.h covers it as it covers any
 * order (the D columns of the common rows are exact zeros).  Rows over the
 * input (i == 2) are concretised at once, the sum and the concretisation in
 * one pass (bnd__k_concretise_upd); rows over a deeper z_{i-2} go down
 * stacked (backsub), at most BND_BATCH_ROWS rows (at least one region) at a
 * time. */
static cn_status rows_group(bnd_ctx *c, int i, const int *mem, int nm, const int *D, int nd,
                            cn_err *err)
{
    bnd__batch *bt = c->bt;
    const bnd__layer *l = &c->L[i], *a = &c->L[i - 2];
    const int nr = l->in, na = a->in;
    int nu = 0;
    for (int j = 0; j < l->out; j++) {
        bool need = false;
        for (int k = 0; k < nm && !need; k++)
            need = wants_row(c, &bt->s[mem[k]], i, j);
        bt->uj[j] = need ? nu : -1;
        nu += need ? 2 : 0;
    }
    if (nu == 0)
        return CN_OK;
    /* the common rows (sign +, then -, per neuron) over z_{i-2} */
    const lstate *rb = &bt->s[mem[0]].L[i - 1];
    for (int j = 0; j < l->out; j++) {
        if (bt->uj[j] < 0)
            continue;
        const double *w = l->W + (size_t)j * (size_t)nr;
        for (int h = 0; h < 2; h++) {
            double *lam = bt->lam, *p = bt->Pc + (size_t)(bt->uj[j] + h) * (size_t)nr;
            for (int q = 0; q < nr; q++)
                lam[q] = h ? -w[q] : w[q];
            double t[4];
            bnd__k_relu_row(nr, lam, rb->al, rb->sn, rb->cn, rb->em, NULL, NULL, p, t);
            for (int q = 0; q < nd; q++)
                p[D[q]] = 0.0;
        }
    }
    product(c, i - 2, i - 1, mem, nm, nu, bt->Pc, bt->Qc);
    if (i == 2) { /* the rows are over the input: concretised row by row */
        for (int j = 0; j < l->out; j++) {
            if (bt->uj[j] < 0)
                continue;
            const double *w = l->W + (size_t)j * (size_t)nr;
            for (int h = 0; h < 2; h++) {
                const double *qc = bt->Qc + (size_t)(bt->uj[j] + h) * (size_t)na;
                double *lam = bt->lam;
                for (int q = 0; q < nr; q++)
                    lam[q] = h ? -w[q] : w[q];
                for (int k = 0; k < nm; k++) {
                    slot *sl = &bt->s[mem[k]];
                    if (!wants_row(c, sl, i, j))
                        continue;
                    double nc = group_consts(c, i, sl, lam, h ? l->b[j] : -l->b[j]);
                    const double *rows[BND_BATCH_DIFF];
                    double cf[BND_BATCH_DIFF], chk;
                    int nz = 0;
                    for (int e = 0; e < nd; e++)
                        if (bt->pr[D[e]] != 0.0) {
                            cf[nz] = bt->pr[D[e]];
                            rows[nz++] = c->L[i - 2].W + (size_t)D[e] * (size_t)na;
                        }
                    double v = bnd__k_concretise_upd(na, qc, nz, rows, cf, sl->lo[0], sl->hi[0],
                                                     &chk);
                    v += nc;
                    v = (chk < INFINITY && v < INFINITY) ? -v : -INFINITY;
                    if (h == 0) {
                        if (v > sl->lo[i + 1][j])
                            sl->lo[i + 1][j] = v;
                    } else if (-v < sl->hi[i + 1][j]) {
                        sl->hi[i + 1][j] = -v;
                    }
                }
            }
        }
        return CN_OK;
    }
    for (int k0 = 0; k0 < nm;) {
        int nb = 0, Rt = 0, k1 = k0;
        for (; k1 < nm; k1++) { /* the chunk's rows */
            int R = 0;
            for (int j = 0; j < l->out; j++)
                R += wants_row(c, &bt->s[mem[k1]], i, j) ? 2 : 0;
            if (k1 > k0 && Rt + R > BND_BATCH_ROWS)
                break;
            Rt += R;
        }
        if (bnd__ensure_rows(c, Rt, err) != CN_OK)
            return err ? err->status : CN_ENOMEM;
        int r = 0;
        for (int k = k0; k < k1; k++) {
            const slot *sl = &bt->s[mem[k]];
            bt->bid[nb] = mem[k];
            bt->boff[nb++] = r;
            for (int j = 0; j < l->out; j++) {
                if (!wants_row(c, sl, i, j))
                    continue;
                const double *w = l->W + (size_t)j * (size_t)nr;
                for (int h = 0; h < 2; h++, r++) {
                    double *lam = bt->lam;
                    for (int q = 0; q < nr; q++)
                        lam[q] = h ? -w[q] : w[q];
                    double sum;
                    group_row(c, i, sl, lam, h ? l->b[j] : -l->b[j],
                              bt->Qc + (size_t)(bt->uj[j] + h) * (size_t)na, D, nd, &sum);
                    c->nc[r] = sum;
                    c->dead[r] = !(sum < INFINITY);
                    c->row_j[r] = j;
                    c->row_sgn[r] = (signed char)(h ? -1 : 1);
                    memcpy(c->A + (size_t)r * (size_t)na, bt->qr, (size_t)na * sizeof(double));
                }
            }
        }
        bt->boff[nb] = r;
        backsub(c, i - 2, nb, c->row_lb);
        if (c->halted)
            return CN_OK;
        apply_rows(c, i, nb);
        k0 = k1;
    }
    return CN_OK;
}

/* Linear bounds of z_{i+1} (affine layer i >= 2, not the last; layer i - 1
 * a ReLU fused with affine layer i - 2) for every live region, as
 * bounds.c's linear_layer (CROWN, intersected with the interval bounds),
 * bt->rep found: computed for the regions with distinct inputs, in groups
 * (rows_group), then copied to the regions that share them. */
static cn_status stacked_layer(bnd_ctx *c, int B, const bnd_region *rg, int i, cn_err *err)
{
    bnd__batch *bt = c->bt;
    cn_status st = CN_OK;
    /* groups: the same inputs to z_{i-1} and error terms of layer i - 2 */
    const int nsp = splits_below(c, i - 1), nr = c->L[i - 1].in;
    const size_t vw = sizeof(double) * (size_t)c->L[i - 2].out;
    for (int b = 0; b < B; b++) {
        bt->grp[b] = -1;
        if (bt->rep[b] != b)
            continue;
        bt->grp[b] = b;
        const lstate *ab = &bt->s[b].L[i - 2];
        for (int q = 0; q < b; q++) {
            const lstate *aq = &bt->s[q].L[i - 2];
            if (bt->grp[q] == q && same_prefix(&rg[q], &rg[b], c->n_in, nsp) &&
                ab->k == aq->k && memcmp(ab->v, aq->v, vw) == 0) {
                bt->grp[b] = q;
                break;
            }
        }
    }
    for (int g = 0; g < B && st == CN_OK && !bnd__halted(c); g++) {
        if (bt->grp[g] != g)
            continue;
        int nm = 0;
        for (int b = g; b < B; b++)
            if (bt->grp[b] == g)
                bt->mem[nm++] = b;
        int nd = 0; /* the neurons where the members' relaxations differ */
        const lstate *base = &bt->s[g].L[i - 1];
        for (int j = 0; j < nr; j++) {
            bool same = true;
            for (int k = 1; k < nm && same; k++)
                same = same_relax(base, &bt->s[bt->mem[k]].L[i - 1], j);
            if (!same)
                bt->D[nd++] = j;
        }
        if (nd <= BND_BATCH_DIFF) {
            st = rows_group(c, i, bt->mem, nm, bt->D, nd, err);
        } else { /* too different: each region its own group */
            for (int k = 0; k < nm && st == CN_OK && !c->halted; k++)
                st = rows_group(c, i, &bt->mem[k], 1, bt->D, 0, err);
        }
    }
    if (st != CN_OK || c->halted)
        return st;
    const size_t w = (size_t)c->L[i].out * sizeof(double);
    for (int b = 0; b < B; b++) {
        int q = bt->rep[b];
        if (q >= 0 && q != b) {
            memcpy(bt->s[b].lo[i + 1], bt->s[q].lo[i + 1], w);
            memcpy(bt->s[b].hi[i + 1], bt->s[q].hi[i + 1], w);
        }
    }
    return CN_OK;
}

/* The stacked path: bnd_run's driver with every step done for each live
 * region, and the back-substitutions stacked. */
static cn_status run_stacked(bnd_ctx *c, const bnd_opts *o, int B, const bnd_region *rg, int m,
                             const double *C, const double *d, double *lb, bnd_result *res,
                             cn_err *err)
{
    bnd__batch *bt = c->bt;
    slot *S = bt->s;
    if (ensure_stack(c, err) != CN_OK)
        return err ? err->status : CN_ENOMEM;
    size_t need = (size_t)B * (size_t)m;
    if (need > bt->cap_ibp) {
        double *p = cn_mallocarray(need, sizeof(double));
        if (!p)
            return cn_fail(err, CN_ENOMEM, "bounds: out of memory for a batch of %d regions", B);
        cn_free(bt->ibp);
        bt->ibp = p;
        bt->cap_ibp = need;
    }
    if ((size_t)m * (size_t)B > (size_t)c->cap_rows &&
        bnd__ensure_rows(c, m * B, err) != CN_OK)
        return err ? err->status : CN_ENOMEM;
    bnd_opts oo = *o;
    cn_status st = CN_OK;
    int saved = cn_round_push(FE_UPWARD);
    c->run_o = &oo;
    c->halted = false;
    c->coef_m = 0;
    bnd__red_begin(c, false);
    for (int b = 0; b < B; b++) {
        res[b] = (bnd_result){.infeasible = false, .unstable = 0, .n_relus = c->n_relus};
        swap_in(c, &S[b]);
        c->infeasible = false;
        c->blown = false;
        memcpy(c->lo[0], rg[b].lo, (size_t)c->n_in * sizeof(double));
        memcpy(c->hi[0], rg[b].hi, (size_t)c->n_in * sizeof(double));
        for (int j = 0; j < c->n_in; j++)
            if (rg[b].lo[j] > rg[b].hi[j])
                c->infeasible = true;
        bnd__finish_bounds(c, 0);
        swap_in(c, &S[b]);
    }
    for (int i = 0; i < c->nl && !bnd__halted(c); i++) {
        const bnd__layer *l = &c->L[i];
        if (!l->relu)
            find_reps(c, B, rg, i);
        for (int b = 0; b < B; b++) {
            if (!live(&S[b]) || (!l->relu && bt->rep[b] != b))
                continue;
            swap_in(c, &S[b]);
            if (l->relu) {
                const double *lo = c->lo[i], *hi = c->hi[i];
                for (int j = 0; j < l->in; j++) {
                    c->lo[i + 1][j] = lo[j] > 0.0 ? lo[j] : 0.0;
                    c->hi[i + 1][j] = hi[j] > 0.0 ? hi[j] : 0.0;
                }
            } else {
                bnd__ibp_affine(c, i);
            }
            swap_in(c, &S[b]);
        }
        for (int b = 0; b < B && !l->relu; b++) { /* the same interval step */
            int q = bt->rep[b];
            if (q < 0 || q == b)
                continue;
            const size_t w = (size_t)l->out * sizeof(double);
            memcpy(S[b].lo[i + 1], S[q].lo[i + 1], w);
            memcpy(S[b].hi[i + 1], S[q].hi[i + 1], w);
            memcpy(S[b].L[i].v, S[q].L[i].v, w);
            S[b].L[i].v_ok = S[q].L[i].v_ok;
            S[b].L[i].k = S[q].L[i].k;
        }
        if (!l->relu && i >= 1 && i + 1 < c->nl) {
            st = stacked_layer(c, B, rg, i, err);
            if (st != CN_OK)
                break;
        }
        if (bnd__halted(c))
            break;
        for (int b = 0; b < B; b++) {
            if (!live(&S[b]))
                continue;
            swap_in(c, &S[b]);
            if (i + 1 < c->nl && c->L[i + 1].relu) {
                bnd__intersect_ref(c, &rg[b], i + 1);
                bnd__prep_relu(c, i + 1, &oo, rg[b].split, &res[b]);
            } else {
                bnd__finish_bounds(c, i + 1);
            }
            swap_in(c, &S[b]);
        }
    }
    if (st == CN_OK) {
        int nb = 0;
        for (int b = 0; b < B; b++) {
            slot *sl = &S[b];
            if (sl->infeasible) {
                for (int r = 0; r < m; r++)
                    lb[(size_t)b * m + r] = INFINITY;
            } else if (sl->blown) {
                for (int r = 0; r < m; r++)
                    lb[(size_t)b * m + r] = -INFINITY;
                for (int i = 0; i <= c->nl; i++)
                    for (int j = 0; j < zw(c, i); j++)
                        if (!(sl->lo[i][j] > -INFINITY) || !(sl->hi[i][j] < INFINITY) ||
                            i > sl->blown_at) {
                            sl->lo[i][j] = -INFINITY;
                            sl->hi[i][j] = INFINITY;
                        }
            } else if (m > 0 && !bnd__halted(c)) {
                swap_in(c, sl);
                bnd__ibp_rows(c, m, C, d, bt->ibp + (size_t)b * m);
                swap_in(c, sl);
                int r0 = nb * m;
                bt->bid[nb] = b;
                bt->boff[nb++] = r0;
                memcpy(c->A + (size_t)r0 * (size_t)c->n_out, C,
                       (size_t)m * (size_t)c->n_out * sizeof(double));
                for (int r = 0; r < m; r++) {
                    c->nc[r0 + r] = d ? -d[r] : 0.0;
                    c->dead[r0 + r] = false;
                }
            }
        }
        bt->boff[nb] = nb * m;
        if (nb > 0 && !bnd__halted(c)) {
            backsub(c, c->nl, nb, c->row_lb);
            for (int k = 0; k < nb && !c->halted; k++) {
                int b = bt->bid[k];
                for (int r = 0; r < m; r++) {
                    double v = c->row_lb[k * m + r], w = bt->ibp[(size_t)b * m + r];
                    lb[(size_t)b * m + r] = w > v ? w : v;
                }
            }
        }
        if (c->halted)
            for (int b = 0; b < B; b++) {
                swap_in(c, &S[b]);
                bnd__give_up(c, m, lb + (size_t)b * m);
                swap_in(c, &S[b]);
            }
        for (int b = 0; b < B; b++) {
            res[b].infeasible = S[b].infeasible;
            res[b].stopped = c->halted;
        }
    }
    c->run_o = NULL;
    cn_round_pop(saved);
    return st;
}

cn_status bnd_run_batch(bnd_ctx *c, const bnd_opts *o, int B, const bnd_region *rg, int m,
                        const double *C, const double *d, double *lb, bnd_result *res,
                        cn_err *err)
{
    CN_REQUIRE(c && o && B >= 0 && (B == 0 || (rg && res)), "context, options and regions");
    CN_REQUIRE(m >= 0 && (m == 0 || B == 0 || (C && lb)), "query rows and output");
    CN_REQUIRE((unsigned)o->method <= BND_ALPHA, "a known method");
    for (int b = 0; b < B; b++) {
        CN_REQUIRE(rg[b].lo && rg[b].hi, "every region's box");
        for (int j = 0; j < c->n_in; j++)
            if (!isfinite(rg[b].lo[j]) || !isfinite(rg[b].hi[j]))
                return cn_fail(err, CN_EINVAL,
                               "bounds: region %d: input %d: box [%g, %g] is not finite", b, j,
                               rg[b].lo[j], rg[b].hi[j]);
    }
    for (int r = 0; r < m && B > 0; r++) {
        for (int j = 0; j < c->n_out; j++)
            if (!isfinite(C[(size_t)r * (size_t)c->n_out + j]))
                return cn_fail(err, CN_EINVAL, "bounds: query row %d: coefficient %d is not finite",
                               r, j);
        if (d && !isfinite(d[r]))
            return cn_fail(err, CN_EINVAL, "bounds: query row %d: constant is not finite", r);
    }
    if (ensure_slots(c, B, err) != CN_OK)
        return err ? err->status : CN_ENOMEM;
    c->bt->last_B = 0;
    cn_status st = CN_OK;
    if (B > 0 && stackable(c, o)) {
        st = run_stacked(c, o, B, rg, m, C, d, lb, res, err);
    } else {
        for (int b = 0; b < B && st == CN_OK; b++) {
            swap_in(c, &c->bt->s[b]);
            st = bnd_run(c, o, &rg[b], m, C, d, lb + (size_t)b * m, &res[b], err);
            swap_in(c, &c->bt->s[b]);
        }
    }
    c->last_ok = false;
    c->last_split = NULL;
    c->coef_m = 0;
    if (st == CN_OK)
        c->bt->last_B = B;
    return st;
}

void bnd_batch_layer_bounds(const bnd_ctx *c, int b, int i, const double **lo, const double **hi)
{
    CN_REQUIRE(c && c->bt && b >= 0 && b < c->bt->last_B && i >= 0 && i <= c->nl,
               "a region and layer of the last batch");
    *lo = c->bt->s[b].lo[i];
    *hi = c->bt->s[b].hi[i];
}

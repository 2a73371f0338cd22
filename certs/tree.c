/* tree.c — proof trees: building them, and checking one against a case
 * (certs.h, section 3: T well formed, C every leaf covered, R every
 * refutation re-proved with relax.c's bounds).  The walk is sequential; on
 * several threads it queues the regions to bound (R) and worker threads,
 * one bounds context each, re-prove them chunk by chunk, the first failure
 * in walk order winning, so the outcome is the one-thread outcome. */
#include "config.h"

#include <fenv.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>

#include "certs/certs_int.h"

void cert_tree_init(cert_tree *t, int case_idx)
{
    CN_REQUIRE(t, "a tree");
    memset(t, 0, sizeof *t);
    t->case_idx = case_idx;
}

void cert_tree_clear(cert_tree *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->n_nodes; i++) {
        cert_node *nd = &t->nodes[i];
        for (int q = 0; nd->par && q < nd->n_refs; q++)
            cert_par_clear(&nd->par[q]);
        cn_free(nd->par);
        cn_free(nd->refs);
    }
    cn_free(t->nodes);
    for (int i = 0; i < t->n_claims; i++)
        cn_free(t->claims[i].q);
    cn_free(t->claims);
    memset(t, 0, sizeof *t);
}

cn_status cert_tree_push(cert_tree *t, cert_kind kind, int dim, double at, int n_refs,
                         const int *refs, cn_err *err)
{
    CN_REQUIRE(t && n_refs >= 0 && (n_refs == 0 || refs), "a tree and its refutations");
    if (t->n_nodes == t->cap_nodes) {
        int cap = t->cap_nodes ? 2 * t->cap_nodes : 64;
        cert_node *nn = cn_reallocarray(t->nodes, (size_t)cap, sizeof *nn);
        if (!nn)
            return cn_fail(err, CN_ENOMEM, "out of memory for a proof tree");
        t->nodes = nn;
        t->cap_nodes = cap;
    }
    int *r = NULL;
    if (n_refs > 0) {
        r = cn_mallocarray((size_t)n_refs, sizeof(int));
        if (!r)
            return cn_fail(err, CN_ENOMEM, "out of memory for a proof tree");
        memcpy(r, refs, sizeof(int) * (size_t)n_refs);
    }
    t->nodes[t->n_nodes++] = (cert_node){kind, dim, at, n_refs, r, NULL};
    return CN_OK;
}

cn_status cert_tree_add_claim(cert_tree *t, int layer, int neuron, int sgn, double lb, int n_q,
                              const unsigned char *q, cn_err *err)
{
    CN_REQUIRE(t && n_q >= 0 && (n_q == 0 || q), "a tree and slopes");
    if (t->n_claims == t->cap_claims) {
        int cap = t->cap_claims ? 2 * t->cap_claims : 64;
        cert_claim *nc = cn_reallocarray(t->claims, (size_t)cap, sizeof *nc);
        if (!nc)
            return cn_fail(err, CN_ENOMEM, "out of memory for a proof tree's bounds");
        t->claims = nc;
        t->cap_claims = cap;
    }
    unsigned char *c = cn_mallocarray((size_t)n_q + 1, 1);
    if (!c)
        return cn_fail(err, CN_ENOMEM, "out of memory for a proof tree's bounds");
    if (n_q)
        memcpy(c, q, (size_t)n_q);
    t->claims[t->n_claims++] = (cert_claim){layer, neuron, sgn, lb, n_q, c};
    return CN_OK;
}

void cert_par_clear(cert_par *p)
{
    if (!p)
        return;
    cn_free(p->alpha);
    cn_free(p->beta_j);
    cn_free(p->beta);
    cn_free(p->dual);
    memset(p, 0, sizeof *p);
}

static void *dup_array(const void *src, int n, size_t sz, bool *ok)
{
    if (n <= 0 || !src)
        return NULL;
    void *d = cn_mallocarray((size_t)n, sz);
    if (!d)
        *ok = false;
    else
        memcpy(d, src, (size_t)n * sz);
    return d;
}

cn_status cert_par_copy(cert_par *dst, const cert_par *src, cn_err *err)
{
    CN_REQUIRE(dst && src, "parameters to copy");
    bool ok = true;
    cert_par c = *src;
    c.alpha = dup_array(src->alpha, src->n_alpha, 1, &ok);
    c.beta_j = dup_array(src->beta_j, src->n_beta, sizeof(int), &ok);
    c.beta = dup_array(src->beta, src->n_beta, sizeof(double), &ok);
    c.dual = dup_array(src->dual, src->n_dual, sizeof(double), &ok);
    if (!ok) {
        cert_par_clear(&c);
        memset(dst, 0, sizeof *dst);
        return cn_fail(err, CN_ENOMEM, "out of memory copying a refutation's parameters");
    }
    *dst = c;
    return CN_OK;
}

cn_status cert_tree_set_par(cert_tree *t, int i, int q, const cert_par *p, cn_err *err)
{
    CN_REQUIRE(t && p && i >= 0 && i < t->n_nodes && q >= 0 && q < t->nodes[i].n_refs,
               "a node's refutation");
    cert_node *nd = &t->nodes[i];
    cert_par c;
    if (cert_par_copy(&c, p, err) != CN_OK)
        return CN_ENOMEM;
    if (!nd->par && !(nd->par = cn_calloc((size_t)nd->n_refs, sizeof(cert_par)))) {
        cert_par_clear(&c);
        return cn_fail(err, CN_ENOMEM, "out of memory for a proof tree");
    }
    cert_par_clear(&nd->par[q]);
    nd->par[q] = c;
    return CN_OK;
}

/* ---- the atoms of a case, prepared for bounding ----------------------- */

/* Atom a . y <= rhs with a = ad + r exactly: ad doubles (finite, else the
 * atom is not usable), r in [rlo, rhi] per output (0 when ad is exact). */
typedef struct {
    bool usable, residual;
    double *ad, *rlo, *rhi;   /* [n_out] */
    const mpq_t *rhs;         /* borrowed from the property */
} atom;

typedef struct {
    int n_atoms;
    atom *atoms;              /* all atoms of the case, disjunct by disjunct */
    int *dstart;              /* [n_disj + 1] */
} case_atoms;

static void atoms_free(case_atoms *ca)
{
    for (int k = 0; k < ca->n_atoms; k++) {
        cn_free(ca->atoms[k].ad);
        cn_free(ca->atoms[k].rlo);
        cn_free(ca->atoms[k].rhi);
    }
    cn_free(ca->atoms);
    cn_free(ca->dstart);
}

static bool atoms_build(const prop_case *pc, int n_out, case_atoms *ca)
{
    memset(ca, 0, sizeof *ca);
    int m = 0;
    for (int d = 0; d < pc->n_disj; d++)
        m += pc->disj[d].n;
    ca->atoms = cn_calloc((size_t)(m ? m : 1), sizeof(atom));
    ca->dstart = cn_mallocarray((size_t)pc->n_disj + 1, sizeof(int));
    if (!ca->atoms || !ca->dstart)
        return false;
    mpq_t a, r;
    mpq_inits(a, r, NULL);
    bool ok = true;
    for (int d = 0; d < pc->n_disj && ok; d++) {
        ca->dstart[d] = ca->n_atoms;
        for (int k = 0; k < pc->disj[d].n && ok; k++) {
            const prop_lin *l = &pc->disj[d].atoms[k];
            atom *at = &ca->atoms[ca->n_atoms++];
            at->ad = cn_mallocarray((size_t)n_out, sizeof(double));
            at->rlo = cn_mallocarray((size_t)n_out, sizeof(double));
            at->rhi = cn_mallocarray((size_t)n_out, sizeof(double));
            if (!at->ad || !at->rlo || !at->rhi) {
                ok = false;
                break;
            }
            at->rhs = &l->rhs;
            at->usable = true;
            for (int j = 0; j < n_out; j++) {
                mpq_set_ui(a, 0, 1);
                for (int e = 0; e < l->n; e++)
                    if (l->var[e] == j)
                        mpq_add(a, a, l->coef[e]);
                double v = mpq_get_d(a);
                at->ad[j] = isfinite(v) ? v : 0.0;
                at->usable &= isfinite(v) != 0;
                cn_mpq_set_d(r, at->ad[j]);
                mpq_sub(r, a, r);       /* exact residual a - ad */
                at->rlo[j] = cn_mpq_get_d_down(r);
                at->rhi[j] = cn_mpq_get_d_up(r);
                at->residual |= mpq_sgn(r) != 0;
            }
        }
    }
    ca->dstart[pc->n_disj] = ca->n_atoms;
    mpq_clears(a, r, NULL);
    return ok;
}

/* Lower bound of a . y over the last region (NaN / -inf when unknown), with
 * the parameters par (NULL: the default slopes) on the region's splits. */
static double atom_lb(cert_bounds *b, const atom *at, int n_out, const cert_par *par,
                      const signed char *split)
{
    double lb = par ? cert_bounds_row_ab(b, at->ad, par, split) : cert_bounds_row(b, at->ad);
    if (!at->residual)
        return lb;
    const double *ylo, *yhi;
    cert_bounds_output(b, &ylo, &yhi);
    int saved = cn_round_push(FE_DOWNWARD);
    for (int j = 0; j < n_out; j++) {
        /* min of r y over r in [rlo, rhi], y in [ylo, yhi]: a corner */
        double c[4] = {at->rlo[j] * ylo[j], at->rlo[j] * yhi[j], at->rhi[j] * ylo[j],
                       at->rhi[j] * yhi[j]};
        double m = c[0];
        for (int q = 1; q < 4; q++)
            if (!(c[q] >= m))          /* NaN wins */
                m = c[q];
        lb += m;
    }
    cn_round_pop(saved);
    return lb;
}

/* Is the double lb > the rational rhs, exactly? */
static bool above(double lb, const mpq_t rhs, mpq_t tmp)
{
    if (!isfinite(lb))
        return false;
    cn_mpq_set_d(tmp, lb);
    return mpq_cmp(tmp, rhs) > 0;
}

/* ---- the walk ------------------------------------------------------------ */

typedef struct {
    int node;                 /* tree index */
    int next;                 /* split: which child is visited next (0, 1; 2 = done) */
    double *lo, *hi;          /* [n_in] region box */
    signed char *split;       /* [n_relus] */
    double *alo, *ahi;        /* [n_smooth] sigmoid / tanh pre-activation restrictions
                                 of the path ("a" splits; -inf / +inf: none) */
    unsigned char *cov;       /* [n_disj] refuted on the path */
} frame;

typedef struct {
    int n, cap;
    frame *f;
    int n_in, n_relus, n_disj, n_smooth;
} frames;

static void frames_free(frames *F)
{
    for (int i = 0; i < F->cap; i++) {
        cn_free(F->f[i].lo);
        cn_free(F->f[i].hi);
        cn_free(F->f[i].split);
        cn_free(F->f[i].alo);
        cn_free(F->f[i].ahi);
        cn_free(F->f[i].cov);
    }
    cn_free(F->f);
}

/* Makes frame d exist (buffers allocated). */
static bool frame_at(frames *F, int d)
{
    if (d < F->cap)
        return true;
    int cap = F->cap ? 2 * F->cap : 16;
    frame *nf = cn_reallocarray(F->f, (size_t)cap, sizeof *nf);
    if (!nf)
        return false;
    F->f = nf;
    for (int i = F->cap; i < cap; i++) {
        frame *fr = &F->f[i];
        memset(fr, 0, sizeof *fr);
        fr->lo = cn_mallocarray((size_t)F->n_in, sizeof(double));
        fr->hi = cn_mallocarray((size_t)F->n_in, sizeof(double));
        fr->split = cn_calloc((size_t)(F->n_relus ? F->n_relus : 1), 1);
        fr->cov = cn_calloc((size_t)(F->n_disj ? F->n_disj : 1), 1);
        fr->alo = cn_mallocarray((size_t)(F->n_smooth ? F->n_smooth : 1), sizeof(double));
        fr->ahi = cn_mallocarray((size_t)(F->n_smooth ? F->n_smooth : 1), sizeof(double));
        F->cap = i + 1;
        if (!fr->lo || !fr->hi || !fr->split || !fr->cov || !fr->alo || !fr->ahi)
            return false;
    }
    return true;
}

/* Child `side` of the split node in frame d-1 goes to frame d. */
static void child_region(frames *F, const cert_tree *t, int d, int side)
{
    const frame *p = &F->f[d - 1];
    frame *c = &F->f[d];
    const cert_node *pn = &t->nodes[p->node];
    memcpy(c->lo, p->lo, sizeof(double) * (size_t)F->n_in);
    memcpy(c->hi, p->hi, sizeof(double) * (size_t)F->n_in);
    memcpy(c->split, p->split, (size_t)F->n_relus);
    memcpy(c->alo, p->alo, sizeof(double) * (size_t)F->n_smooth);
    memcpy(c->ahi, p->ahi, sizeof(double) * (size_t)F->n_smooth);
    memcpy(c->cov, p->cov, (size_t)F->n_disj);
    if (pn->kind == CERT_SPLIT_INPUT) {
        if (side == 0)
            c->hi[pn->dim] = pn->at;
        else
            c->lo[pn->dim] = pn->at;
    } else if (pn->kind == CERT_SPLIT_ACT) {
        if (side == 0)
            c->ahi[pn->dim] = pn->at;   /* pre-activation <= AT */
        else
            c->alo[pn->dim] = pn->at;   /* pre-activation >= AT */
    } else {
        c->split[pn->dim] = side ? 1 : -1;
    }
    c->next = 0;
}

/* What re-proving a node's refutations needs: all read only but b and tmp,
 * so one per thread (the walk's is the first). */
typedef struct {
    cert_bounds *b;
    const prop_case *pc;
    const cert_tree *t;
    const case_atoms *ca;
    int n_out;
    mpq_t tmp;
} prover;

/* A node whose region is to be bounded and refutations re-proved (the
 * parallel walk): refutations q < n_check; n_check < n_refs when the walk
 * found the parameters of refutation n_check out of range (then only the
 * region's overflow is reported before that).  st: the stats when the walk
 * reached the refutations (the region counted, none of them yet). */
typedef struct {
    int node, n_check;
    cert_stats st;
} job;

/* Jobs in walk order, their regions in flat arrays (job k's box at
 * lo/hi + k * n_in, its splits at split + k * n_relus, its smooth
 * restrictions at alo/ahi + k * n_smooth). */
typedef struct {
    int n, cap;               /* cap == 0: sequential, no queue */
    job *jobs;
    double *lo, *hi;
    signed char *split;
    double *alo, *ahi;
} queue;

typedef struct {
    cert_bounds *b;           /* the walk's context (bs[0]) */
    cert_bounds *const *bs;   /* [n_b] one per thread */
    int n_b;
    prover *pv;               /* [n_b], pv[k].b == bs[k] */
    queue q;
    const prop_case *pc;
    const cert_tree *t;
    case_atoms ca;
    int n_out, n_in, n_relus, n_smooth;
    char *why;
    size_t why_len;
    cert_stats *st;
    bool oom;
    unsigned char *seen;      /* [n_disj] scratch, all 0 between nodes */
    unsigned char *bseen;     /* [n_relus] scratch, all 0 between refutations */
    mpq_t tmp;
} walk;

static bool bad(walk *w, int node, const char *fmt, ...) CN_PRINTF(3, 4);
static bool bad(walk *w, int node, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (node >= 0)
        snprintf(w->why, w->why_len, "case %d node %d: %s", w->t->case_idx, node, msg);
    else
        snprintf(w->why, w->why_len, "case %d: %s", w->t->case_idx, msg);
    return false;
}

/* The parameters p of refutation (node i, disjunct d) are in range: the
 * atom exists and is usable, every slope q <= CERT_ALPHA_DEN or the
 * default, one per ReLU, every multiplier finite, >= 0, of a ReLU split on
 * the path and given once. */
static bool par_ok(walk *w, int i, int d, const cert_par *p, const frame *fr)
{
    int n_relus = net_n_relus(cert__bounds_net(w->b));
    if (p->kind != CERT_PAR_AB)
        return bad(w, i, "disjunct %d: refutation of an unknown kind", d);
    if (p->atom < 0 || p->atom >= w->ca.dstart[d + 1] - w->ca.dstart[d] ||
        !w->ca.atoms[w->ca.dstart[d] + p->atom].usable)
        return bad(w, i, "disjunct %d: atom %d is not a usable atom of the disjunct", d,
                   p->atom);
    if (p->n_alpha != 0 && p->n_alpha != n_relus)
        return bad(w, i, "disjunct %d: %d slopes for %d ReLUs", d, p->n_alpha, n_relus);
    for (int j = 0; j < p->n_alpha; j++)
        if (p->alpha[j] > CERT_ALPHA_DEN && p->alpha[j] != CERT_ALPHA_DEFAULT)
            return bad(w, i, "disjunct %d: slope of ReLU %d is %d/%d, above 1", d, j,
                       p->alpha[j], CERT_ALPHA_DEN);
    bool ok = true;
    int t = 0;
    for (; t < p->n_beta && ok; t++) {
        int j = p->beta_j[t];
        if (j < 0 || j >= n_relus || !fr->split[j]) {
            ok = bad(w, i, "disjunct %d: multiplier for ReLU %d, which is not split on the "
                           "path", d, j);
            break;
        }
        if (!(p->beta[t] >= 0.0 && p->beta[t] < INFINITY))
            ok = bad(w, i, "disjunct %d: multiplier %g of ReLU %d is not finite and >= 0", d,
                     p->beta[t], j);
        else if (w->bseen[j])
            ok = bad(w, i, "disjunct %d: two multipliers for ReLU %d", d, j);
        w->bseen[j] = 1;
    }
    for (int t2 = 0; t2 < t && t2 < p->n_beta; t2++)
        if (p->beta_j[t2] >= 0 && p->beta_j[t2] < n_relus)
            w->bseen[p->beta_j[t2]] = 0;
    return ok;
}

static int said(char *msg, size_t len, int q, const char *fmt, ...) CN_PRINTF(4, 5);
static int said(char *msg, size_t len, int q, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, len, fmt, ap);
    va_end(ap);
    return q;
}

/* Bounds the region lo, hi, split, alo, ahi (the smooth restrictions; NULL:
 * no sigmoid / tanh neurons) of node i and re-proves its refutations
 * q < n_check (and the region's overflow at q = n_check < n_refs).  -1 when
 * they hold; else the q that failed, msg[] saying how (*oom: no memory for
 * an LP check). */
static int prove_refs(prover *P, int i, const double *lo, const double *hi,
                      const signed char *split, const double *alo, const double *ahi,
                      int n_check, char *msg, size_t len, bool *oom)
{
    const cert_node *nd = &P->t->nodes[i];
    const case_atoms *ca = P->ca;
    cert_region r = cert_bounds_region_act(P->b, lo, hi, split, alo, ahi);
    for (int q = 0; q < nd->n_refs; q++) {
        int d = nd->refs[q];
        if (r == CERT_REGION_BLOWN)
            return said(msg, len, q, "disjunct %d not refuted: a bound overflowed", d);
        if (q >= n_check)
            return -1;
        const cert_par *par = nd->par && nd->par[q].kind == CERT_PAR_AB ? &nd->par[q] : NULL;
        if (r == CERT_REGION_OK && par) {
            const atom *at = &ca->atoms[ca->dstart[d] + par->atom];
            double lb = atom_lb(P->b, at, P->n_out, par, split);
            if (!above(lb, *at->rhs, P->tmp))
                return said(msg, len, q, "disjunct %d not refuted: with the stored slopes and "
                            "multipliers the lower bound is %.17g <= rhs %.17g (atom %d)", d, lb,
                            mpq_get_d(*at->rhs), par->atom);
        } else if (r == CERT_REGION_OK && nd->par && nd->par[q].kind == CERT_PAR_LP) {
            bool ok;
            char m[300];
            if (cert_lp_refutes(P->b, P->pc, d, &nd->par[q], &ok, m, sizeof m, NULL) != CN_OK) {
                *oom = true;
                return q;
            }
            if (!ok)
                return said(msg, len, q, "disjunct %d not refuted by its LP: %s", d, m);
        } else if (r == CERT_REGION_OK) {
            double best = -INFINITY;
            int best_k = -1;
            bool done = false;
            for (int k = ca->dstart[d]; k < ca->dstart[d + 1] && !done; k++) {
                const atom *at = &ca->atoms[k];
                if (!at->usable)
                    continue;
                double lb = atom_lb(P->b, at, P->n_out, NULL, NULL);
                done = above(lb, *at->rhs, P->tmp);
                if (best_k < 0 || lb > best) {
                    best = lb;
                    best_k = k;
                }
            }
            if (!done) {
                if (best_k < 0)
                    return said(msg, len, q, "disjunct %d not refuted: it has no usable atom", d);
                return said(msg, len, q, "disjunct %d not refuted: lower bound %.17g <= rhs "
                            "%.17g (atom %d)", d, best, mpq_get_d(*ca->atoms[best_k].rhs),
                            best_k - ca->dstart[d]);
            }
        }
    }
    return -1;
}

/* ---- the queue of the parallel walk -------------------------------------- */

/* Regions held before the queue is re-proved and emptied. */
#define QUEUE_BYTES ((size_t)64 << 20)

static void queue_free(queue *Q)
{
    cn_free(Q->jobs);
    cn_free(Q->lo);
    cn_free(Q->hi);
    cn_free(Q->split);
    cn_free(Q->alo);
    cn_free(Q->ahi);
    memset(Q, 0, sizeof *Q);
}

/* Room for the jobs of a tree of n_nodes nodes within `bytes`. */
static bool queue_init(queue *Q, size_t bytes, int n_nodes, int n_in, int n_relus,
                       int n_smooth)
{
    size_t per = sizeof(job) + 2 * sizeof(double) * ((size_t)n_in + (size_t)n_smooth) +
                 (size_t)n_relus;
    size_t cap = bytes / per;
    if (cap < 1)
        cap = 1;
    if (cap > (size_t)n_nodes)
        cap = (size_t)n_nodes;
    memset(Q, 0, sizeof *Q);
    Q->jobs = cn_mallocarray(cap, sizeof(job));
    Q->lo = cn_mallocarray(cap * (size_t)n_in, sizeof(double));
    Q->hi = cn_mallocarray(cap * (size_t)n_in, sizeof(double));
    Q->split = cn_calloc(cap * (size_t)n_relus + 1, 1);
    Q->alo = cn_mallocarray(cap * (size_t)n_smooth + 1, sizeof(double));
    Q->ahi = cn_mallocarray(cap * (size_t)n_smooth + 1, sizeof(double));
    if (!Q->jobs || !Q->lo || !Q->hi || !Q->split || !Q->alo || !Q->ahi) {
        queue_free(Q);
        return false;
    }
    Q->cap = (int)cap;
    return true;
}

/* One thread's share of a flush: jobs taken in order from a shared
 * counter; it stops at its first failure (its later jobs come after it)
 * and skips the jobs after the first failure known to any thread. */
typedef struct {
    const queue *Q;
    int n_in, n_relus, n_smooth;
    atomic_int next;
    atomic_int first_fail;    /* lowest failed job so far (Q->n: none) */
} flush_shared;

typedef struct {
    flush_shared *S;
    prover *P;
    int fail_job, fail_q;     /* fail_job == S->Q->n: none */
    bool oom;
    char msg[400];
} flush_worker;

static void *flush_run(void *arg)
{
    flush_worker *k = arg;
    flush_shared *S = k->S;
    const queue *Q = S->Q;
    for (;;) {
        int j = atomic_fetch_add(&S->next, 1);
        if (j >= Q->n || j > atomic_load(&S->first_fail))
            break;
        const job *jb = &Q->jobs[j];
        bool oom = false;
        size_t ks = (size_t)j * (size_t)S->n_smooth;
        int fq = prove_refs(k->P, jb->node, Q->lo + (size_t)j * (size_t)S->n_in,
                            Q->hi + (size_t)j * (size_t)S->n_in,
                            Q->split + (size_t)j * (size_t)S->n_relus,
                            S->n_smooth ? Q->alo + ks : NULL, S->n_smooth ? Q->ahi + ks : NULL,
                            jb->n_check, k->msg, sizeof k->msg, &oom);
        if (fq >= 0) {
            k->fail_job = j;
            k->fail_q = fq;
            k->oom = oom;
            int f = atomic_load(&S->first_fail);
            while (j < f && !atomic_compare_exchange_weak(&S->first_fail, &f, j))
                ;
            break;
        }
    }
    return NULL;
}

/* A started worker: flush_run, then the thread's MPFR caches freed (the
 * sigmoid/tanh lines use MPFR, whose caches are per thread). */
static void *flush_thread(void *arg)
{
    flush_run(arg);
    cert__thread_exit();
    return NULL;
}

/* Re-proves the queued jobs on the n_b threads (the caller's and n_b - 1
 * started) and empties the queue.  false when one failed: the first in walk
 * order is reported (why[], and the stats as the sequential walk leaves
 * them), or w->oom. */
static bool flush(walk *w)
{
    queue *Q = &w->q;
    if (Q->n == 0)
        return true;
    flush_shared S = {.Q = Q, .n_in = w->n_in, .n_relus = w->n_relus, .n_smooth = w->n_smooth};
    atomic_init(&S.next, 0);
    atomic_init(&S.first_fail, Q->n);
    int n_b = w->n_b < Q->n ? w->n_b : Q->n;
    flush_worker *k = cn_calloc((size_t)n_b, sizeof *k);
    pthread_t *th = cn_calloc((size_t)n_b, sizeof *th);
    bool *started = cn_calloc((size_t)n_b, sizeof *started);
    if (!k || !th || !started) {
        cn_free(k);
        cn_free(th);
        cn_free(started);
        w->oom = true;
        return false;
    }
    for (int t = 0; t < n_b; t++)
        k[t] = (flush_worker){.S = &S, .P = &w->pv[t], .fail_job = Q->n, .fail_q = -1};
    for (int t = 1; t < n_b; t++)
        started[t] = pthread_create(&th[t], NULL, flush_thread, &k[t]) == 0;
    flush_run(&k[0]);        /* also takes the jobs of a thread that did not start */
    int best = 0;
    for (int t = 0; t < n_b; t++) {
        if (started[t])
            pthread_join(th[t], NULL);
        if (k[t].fail_job < k[best].fail_job)
            best = t;
    }
    const flush_worker *f = &k[best];
    bool ok = f->fail_job == Q->n;
    if (!ok && f->oom) {
        w->oom = true;
    } else if (!ok) {
        const job *jb = &Q->jobs[f->fail_job];
        *w->st = jb->st;
        w->st->refutations += f->fail_q;
        bad(w, jb->node, "%s", f->msg);
    }
    Q->n = 0;
    cn_free(k);
    cn_free(th);
    cn_free(started);
    return ok;
}

/* Queues node i's region (frame fr) with its refutations q < n_check;
 * re-proves the queue when it is full.  false when that found a failure. */
static bool queue_push(walk *w, int i, const frame *fr, int n_check)
{
    queue *Q = &w->q;
    job *jb = &Q->jobs[Q->n];
    jb->node = i;
    jb->n_check = n_check;
    jb->st = *w->st;
    memcpy(Q->lo + (size_t)Q->n * (size_t)w->n_in, fr->lo, sizeof(double) * (size_t)w->n_in);
    memcpy(Q->hi + (size_t)Q->n * (size_t)w->n_in, fr->hi, sizeof(double) * (size_t)w->n_in);
    memcpy(Q->split + (size_t)Q->n * (size_t)w->n_relus, fr->split, (size_t)w->n_relus);
    memcpy(Q->alo + (size_t)Q->n * (size_t)w->n_smooth, fr->alo,
           sizeof(double) * (size_t)w->n_smooth);
    memcpy(Q->ahi + (size_t)Q->n * (size_t)w->n_smooth, fr->ahi,
           sizeof(double) * (size_t)w->n_smooth);
    Q->n++;
    return Q->n < Q->cap || flush(w);
}

/* Node i's refutations over the region in fr: the parameters' ranges here,
 * in order, up to the first out of range (why[] then says so, unless a
 * refutation before it fails to re-prove); the numbers now (sequential) or
 * queued (parallel). */
static bool check_refs(walk *w, int i, frame *fr)
{
    const cert_node *nd = &w->t->nodes[i];
    if (nd->n_refs == 0)
        return true;
    w->st->bounded++;
    int n_ok = 0;
    while (n_ok < nd->n_refs) {
        const cert_par *par = nd->par && nd->par[n_ok].kind == CERT_PAR_AB ? &nd->par[n_ok]
                                                                           : NULL;
        if (par && !par_ok(w, i, nd->refs[n_ok], par, fr))
            break;
        n_ok++;
    }
    if (w->q.cap > 0) {
        if (!queue_push(w, i, fr, n_ok))
            return false;
    } else {
        char msg[400];
        bool oom = false;
        int fq = prove_refs(&w->pv[0], i, fr->lo, fr->hi, fr->split,
                            w->n_smooth ? fr->alo : NULL, w->n_smooth ? fr->ahi : NULL, n_ok,
                            msg, sizeof msg, &oom);
        if (oom) {
            w->oom = true;
            return false;
        }
        if (fq >= 0) {
            w->st->refutations += fq;
            return bad(w, i, "%s", msg);
        }
    }
    w->st->refutations += n_ok;
    if (n_ok < nd->n_refs)
        return false;
    for (int q = 0; q < nd->n_refs; q++)
        fr->cov[nd->refs[q]] = 1;
    return true;
}

/* Checks node i in frame fr (its region already built). */
static bool check_node(walk *w, frames *F, int i, int depth)
{
    const cert_node *nd = &w->t->nodes[i];
    frame *fr = &F->f[depth];
    fr->node = i;
    w->st->nodes++;
    if (depth > w->st->depth)
        w->st->depth = depth;
    if (nd->n_refs > w->pc->n_disj)
        return bad(w, i, "%d refutations, the case has %d disjuncts", nd->n_refs,
                   w->pc->n_disj);
    /* range and duplicates in O(n_refs) (w->seen is all 0 again afterwards) */
    int q = 0, bad_ref = 0;
    for (; q < nd->n_refs; q++) {
        int d = nd->refs[q];
        if (d < 0 || d >= w->pc->n_disj) {
            bad_ref = 1;
            break;
        }
        if (w->seen[d]) {
            bad_ref = 2;
            break;
        }
        w->seen[d] = 1;
    }
    for (int q2 = 0; q2 < q; q2++)
        w->seen[nd->refs[q2]] = 0;
    if (bad_ref == 1)
        return bad(w, i, "refutation of disjunct %d: the case has %d disjuncts", nd->refs[q],
                   w->pc->n_disj);
    if (bad_ref == 2)
        return bad(w, i, "disjunct %d refuted twice", nd->refs[q]);
    switch (nd->kind) {
    case CERT_SPLIT_INPUT:
        if (nd->dim < 0 || nd->dim >= F->n_in)
            return bad(w, i, "input split on dimension %d of %d", nd->dim, F->n_in);
        if (!(fr->lo[nd->dim] < nd->at && nd->at < fr->hi[nd->dim]))
            return bad(w, i, "split point %a is not strictly inside [%a, %a] of input %d",
                       nd->at, fr->lo[nd->dim], fr->hi[nd->dim], nd->dim);
        break;
    case CERT_SPLIT_RELU:
        if (nd->dim < 0 || nd->dim >= F->n_relus)
            return bad(w, i, "ReLU split on neuron %d of %d", nd->dim, F->n_relus);
        if (fr->split[nd->dim])
            return bad(w, i, "ReLU %d is split again on its path", nd->dim);
        break;
    case CERT_SPLIT_ACT:
        if (nd->dim < 0 || nd->dim >= F->n_smooth)
            return bad(w, i, "activation split on sigmoid/tanh neuron %d: the network has %d",
                       nd->dim, F->n_smooth);
        if (!(isfinite(nd->at) && fr->alo[nd->dim] < nd->at && nd->at < fr->ahi[nd->dim]))
            return bad(w, i, "activation split point %a is not finite and strictly inside "
                       "[%a, %a], the path's interval of sigmoid/tanh neuron %d", nd->at,
                       fr->alo[nd->dim], fr->ahi[nd->dim], nd->dim);
        break;
    case CERT_EMPTY: {
        bool empty = false;
        for (int k = 0; k < F->n_in; k++)
            empty |= mpq_cmp(w->pc->lo[k], w->pc->hi[k]) > 0;
        if (depth != 0 || !empty)
            return bad(w, i, "'empty' leaf, but the case's box is not empty");
        return true;
    }
    case CERT_LEAF:
        break;
    default:
        return bad(w, i, "unknown node kind %d", (int)nd->kind);
    }
    if (!check_refs(w, i, fr))
        return false;
    if (nd->kind == CERT_LEAF)
        for (int d = 0; d < w->pc->n_disj; d++)
            if (!fr->cov[d])
                return bad(w, i, "leaf: disjunct %d is not refuted on its path", d);
    return true;
}

/* (B) of section 3: the tree's "bounds" claims, re-proved in layer order
 * over the root box (each layer's region computed once, with the claims of
 * the layers below already in force), then in force for every region of
 * the case (cert_bounds_ref_set; reset by cert_check_tree). */
static bool check_claims(walk *w, const frame *root)
{
    const cert_tree *t = w->t;
    const net *n = cert__bounds_net(w->b);
    int nl = net_n_layers(n), nr = net_n_relus(n), at = -1;
    cert_region r = CERT_REGION_OK;
    for (int k = 0; k < t->n_claims; k++) {
        const cert_claim *c = &t->claims[k];
        if (c->layer < 1 || c->layer >= nl || net_layer_at(n, c->layer)->op != NET_RELU ||
            (net_layer_at(n, c->layer - 1)->op != NET_DENSE &&
             net_layer_at(n, c->layer - 1)->op != NET_CONV) ||
            c->neuron < 0 ||
            c->neuron >= net_layer_at(n, c->layer)->in || (c->sgn != 1 && c->sgn != -1) ||
            !isfinite(c->lb))
            return bad(w, -1, "bound %d: not a finite bound of a ReLU layer's input after an "
                              "affine layer (layer %d, neuron %d, sign %d)", k, c->layer,
                       c->neuron, c->sgn);
        if (c->n_q != nr)
            return bad(w, -1, "bound %d: %d slopes for %d ReLUs", k, c->n_q, nr);
        for (int j = 0; j < nr; j++)
            if (c->q[j] > CERT_ALPHA_DEN && c->q[j] != CERT_ALPHA_DEFAULT)
                return bad(w, -1, "bound %d: slope of ReLU %d is %d/%d, above 1", k, j, c->q[j],
                           CERT_ALPHA_DEN);
        if (c->layer < at)
            return bad(w, -1, "bound %d: the bounds are not listed by layer", k);
        if (c->layer != at) {
            r = cert_bounds_region(w->b, root->lo, root->hi, NULL);
            w->st->bounded++;
            at = c->layer;
        }
        if (r != CERT_REGION_OK)
            return bad(w, -1, "bound %d: the root box's own bounds %s", k,
                       r == CERT_REGION_EMPTY ? "are empty" : "overflowed");
        double v = cert_bounds_claim(w->b, c->layer, c->neuron, c->sgn, c->q);
        if (!(v >= c->lb))
            return bad(w, -1, "bound %d (%s of ReLU layer %d's input %d): recomputed %.17g, "
                              "below the claimed %.17g", k, c->sgn > 0 ? "lower" : "upper",
                       c->layer, c->neuron, c->sgn * v, c->sgn * c->lb);
        cert_bounds_ref_set(w->b, c->layer, c->neuron, c->sgn, c->lb);
    }
    return true;
}

static bool walk_tree(walk *w, frames *F)
{
    const cert_tree *t = w->t;
    const prop_case *pc = w->pc;
    if (t->n_nodes == 0)
        return bad(w, -1, "the proof tree has no nodes");
    /* root: the case's box enclosure, which must contain the exact box */
    frame *root = &F->f[0];
    for (int k = 0; k < F->n_in; k++) {
        if (!isfinite(pc->lo_d[k]) || !isfinite(pc->hi_d[k]))
            return bad(w, -1, "input X_%d: its bounds lie beyond the largest double (box "
                       "enclosure [%g, %g]); the checker bounds finite boxes only", k,
                       pc->lo_d[k], pc->hi_d[k]);
        cn_mpq_set_d(w->tmp, pc->lo_d[k]);
        bool lo_ok = mpq_cmp(w->tmp, pc->lo[k]) <= 0;
        cn_mpq_set_d(w->tmp, pc->hi_d[k]);
        if (!lo_ok || mpq_cmp(w->tmp, pc->hi[k]) < 0)
            return bad(w, -1, "the box enclosure of input %d does not contain the exact box", k);
        root->lo[k] = pc->lo_d[k];
        root->hi[k] = pc->hi_d[k];
    }
    memset(root->split, 0, (size_t)F->n_relus);
    for (int k = 0; k < F->n_smooth; k++) {
        root->alo[k] = -INFINITY;
        root->ahi[k] = INFINITY;
    }
    memset(root->cov, 0, (size_t)F->n_disj);
    if (!check_claims(w, root))
        return false;
    for (int k = 1; k < w->n_b; k++)       /* re-proved once: in force for every thread */
        for (int c = 0; c < t->n_claims; c++)
            cert_bounds_ref_set(w->bs[k], t->claims[c].layer, t->claims[c].neuron,
                                t->claims[c].sgn, t->claims[c].lb);
    root->next = 0;
    int i = 0, d = 0;
    for (;;) {
        if (!check_node(w, F, i, d))
            return false;
        if (t->nodes[i].kind == CERT_SPLIT_INPUT || t->nodes[i].kind == CERT_SPLIT_RELU ||
            t->nodes[i].kind == CERT_SPLIT_ACT) {
            if (!frame_at(F, d + 1)) {
                w->oom = true;
                return false;
            }
            F->f[d].next = 1;
            child_region(F, t, ++d, 0);
        } else {
            /* leaf: climb to the first ancestor whose side-1 child is due */
            while (d > 0 && F->f[d - 1].next == 2)
                d--;
            if (d == 0)
                break;
            F->f[d - 1].next = 2;
            child_region(F, t, d, 1);
        }
        if (++i >= t->n_nodes)
            return bad(w, F->f[d - 1].node, "split without its side-%d child (the node list "
                       "ends)", F->f[d - 1].next == 1 ? 0 : 1);
    }
    if (i + 1 != t->n_nodes)
        return bad(w, i + 1, "nodes after the end of the tree");
    return true;
}

cn_status cert__check_tree_chunked(cert_bounds *const *bs, int n_b, size_t queue_bytes,
                                   const prop *p, const cert_tree *t, bool *valid, char *why,
                                   size_t why_len, cert_stats *st, cn_err *err)
{
    CN_REQUIRE(bs && n_b >= 1 && p && t && valid && why && why_len > 0 && st, "arguments");
    for (int k = 0; k < n_b; k++)
        CN_REQUIRE(bs[k] && cert__bounds_net(bs[k]) == cert__bounds_net(bs[0]),
                   "one context per thread, all on the same network");
    const net *n = cert__bounds_net(bs[0]);
    walk w = {.b = bs[0], .bs = bs, .n_b = n_b, .t = t, .n_out = net_out_size(n),
              .n_in = net_in_size(n), .n_relus = net_n_relus(n),
              .n_smooth = cert_bounds_n_smooth(bs[0]), .why = why,
              .why_len = why_len, .st = st};
    why[0] = '\0';
    if (t->case_idx < 0 || t->case_idx >= prop_n_cases(p)) {
        snprintf(why, why_len, "proof for case %d: the property has %d cases", t->case_idx,
                 prop_n_cases(p));
        *valid = false;
        return CN_OK;
    }
    if (prop_n_in(p) != net_in_size(n) || prop_n_out(p) != net_out_size(n)) {
        snprintf(why, why_len, "the property has %d inputs and %d outputs, the network %d and %d",
                 prop_n_in(p), prop_n_out(p), net_in_size(n), net_out_size(n));
        *valid = false;
        return CN_OK;
    }
    cn_err se;
    if (prop_softmax_ok(p, n, &se) != CN_OK) {
        snprintf(why, why_len, "%s", se.msg);
        *valid = false;
        return CN_OK;
    }
    w.pc = prop_case_at(p, t->case_idx);
    frames F = {.n_in = w.n_in, .n_relus = w.n_relus, .n_disj = w.pc->n_disj,
                .n_smooth = w.n_smooth};
    mpq_init(w.tmp);
    cn_status s = CN_OK;
    int n_pv = 0;
    w.seen = cn_calloc((size_t)(w.pc->n_disj ? w.pc->n_disj : 1), 1);
    w.bseen = cn_calloc((size_t)(F.n_relus ? F.n_relus : 1), 1);
    w.pv = cn_calloc((size_t)n_b, sizeof(prover));
    if (!w.seen || !w.bseen || !w.pv || !atoms_build(w.pc, w.n_out, &w.ca) ||
        !frame_at(&F, 0) || (n_b > 1 && t->n_nodes > 0 &&
                             !queue_init(&w.q, queue_bytes, t->n_nodes, w.n_in, w.n_relus,
                                        w.n_smooth))) {
        s = cn_fail(err, CN_ENOMEM, "checker: out of memory");
        goto done;
    }
    for (; n_pv < n_b; n_pv++) {
        w.pv[n_pv] = (prover){.b = bs[n_pv], .pc = w.pc, .t = t, .ca = &w.ca, .n_out = w.n_out};
        mpq_init(w.pv[n_pv].tmp);
        cert_bounds_ref_reset(bs[n_pv]);
    }
    bool ok = walk_tree(&w, &F);
    if (!w.oom && !flush(&w))      /* the queue's failures come before the walk's */
        ok = false;
    for (int k = 0; k < n_b; k++)
        cert_bounds_ref_reset(bs[k]);
    if (w.oom) {
        s = cn_fail(err, CN_ENOMEM, "checker: out of memory for a proof tree's regions");
        goto done;
    }
    *valid = ok;
done:
    for (int k = 0; k < n_pv; k++)
        mpq_clear(w.pv[k].tmp);
    cn_free(w.pv);
    queue_free(&w.q);
    cn_free(w.seen);
    cn_free(w.bseen);
    atoms_free(&w.ca);
    frames_free(&F);
    mpq_clear(w.tmp);
    return s;
}

cn_status cert_check_tree_mt(cert_bounds *const *bs, int n_b, const prop *p, const cert_tree *t,
                             bool *valid, char *why, size_t why_len, cert_stats *st, cn_err *err)
{
    return cert__check_tree_chunked(bs, n_b, QUEUE_BYTES, p, t, valid, why, why_len, st, err);
}

cn_status cert_check_tree(cert_bounds *b, const prop *p, const cert_tree *t, bool *valid,
                          char *why, size_t why_len, cert_stats *st, cn_err *err)
{
    CN_REQUIRE(b, "a bounds context");
    return cert_check_tree_mt(&b, 1, p, t, valid, why, why_len, st, err);
}

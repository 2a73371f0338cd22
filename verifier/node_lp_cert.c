/* node_lp_cert.c — LP refutations that go into certificates (proof log).
 *
 * A certificate's LP refutation is a vector of multipliers for the rows of
 * the checker's canonical LP of the region (certs/certs.h, section 3, "LP
 * refutations"), which the checker rebuilds from its own intermediate
 * bounds.  Any multipliers give a valid inequality, but only good ones
 * refute: so with the proof log the engine solves the LP over the CHECKER's
 * bounds of the region (cert_bounds_region, vfy__lpc_region), which makes
 * lp/'s LP the canonical one up to the rounding of the triangles' lines,
 * maps its multipliers to the canonical rows (lp_canon_duals), appends the
 * atoms' weights, and keeps them only when cert_lp_refutes, the checker's
 * own test, accepts them (vfy__lpc_keep).  A refutation that would not pass
 * the checker never enters the log; the node is then not closed by the LP.
 *
 * The multipliers are first tried rounded to float (24-bit significands:
 * about half the certificate's bytes), which changes the bound a little;
 * when the rounded ones fail the check, the doubles are tried.
 *
 * The LP tail's tree (tail_tree): the tail of input splitting refutes each
 * disjunct over the activation patterns of the box's few unstable ReLUs u[],
 * splitting u[0], u[1], ... depth first, disjunct after disjunct.  Every
 * disjunct's tree splits u[k] at depth k, so their union is one tree in
 * which every leaf has, for every disjunct, a refutation on its path; it
 * becomes SPLIT_RELU nodes under the box's log node, and LEAF_LP leaves. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "verifier/engine_int.h"

/* The largest number of canonical rows over the case's disjuncts. */
static int max_rows(const shared *S)
{
    int m = 0;
    for (int d = 0; d < S->n_disj; d++) {
        int r = cert_lp_rows(S->n, S->pc, d);
        if (r > m)
            m = r;
    }
    return m;
}

cn_status vfy__lpc_region(worker *w, const double *lo, const double *hi, const signed char *split,
                          cert_region *cr)
{
    shared *S = w->S;
    if (!w->cb) {
        w->cb = cert_bounds_new(S->n, &w->err);
        if (!w->cb)
            return w->err.status;
        w->ybuf_cap = max_rows(S);
        w->ybuf = cn_mallocarray((size_t)w->ybuf_cap + 1, sizeof(double));
        w->ybuf_f = cn_mallocarray((size_t)w->ybuf_cap + 1, sizeof(double));
        if (!w->ybuf || !w->ybuf_f)
            return cn_fail(&w->err, CN_ENOMEM, "out of memory for LP multipliers");
    }
    /* the root's claims, as the checker holds them (vfy__root_tighten) */
    cert_bounds_ref_reset(w->cb);
    for (int i = 0; S->ref_lo && i < S->n_layers; i++)
        for (int j = 0; S->ref_lo[i] && j < net_layer_at(S->n, i)->in; j++) {
            if (S->ref_lo[i][j] > -INFINITY)
                cert_bounds_ref_set(w->cb, i, j, 1, S->ref_lo[i][j]);
            if (S->ref_hi[i][j] < INFINITY)
                cert_bounds_ref_set(w->cb, i, j, -1, -S->ref_hi[i][j]);
        }
    *cr = cert_bounds_region(w->cb, lo, hi, split);
    if (*cr != CERT_REGION_OK)
        return CN_OK;
    for (int i = 0; i < S->n_layers; i++)
        if (net_layer_at(S->n, i)->op == NET_RELU)
            cert_bounds_layer(w->cb, i, &w->pre_lo[i], &w->pre_hi[i]);
    return CN_OK;
}

/* Whether the checker accepts y [n] for disjunct d over the current region. */
static cn_status accepted(worker *w, int d, double *y, int n, bool *ok)
{
    cert_par p = {.kind = CERT_PAR_LP, .n_dual = n, .dual = y};
    char why[200];
    return cert_lp_refutes(w->cb, w->S->pc, d, &p, ok, why, sizeof why, &w->err);
}

cn_status vfy__lpc_keep(worker *w, int d, const double *lam, bool *ok)
{
    shared *S = w->S;
    *ok = false;
    bool farkas;
    int nn = lp_canon_duals(w->lpc, NULL, &farkas);
    int na = S->pc->disj[d].n, n = nn + na;
    if (nn < 0 || n > w->ybuf_cap || n != cert_lp_rows(S->n, S->pc, d))
        return CN_OK; /* no multipliers (or not the checker's rows): no refutation */
    lp_canon_duals(w->lpc, w->ybuf, &farkas);
    for (int k = 0; k < na; k++)
        w->ybuf[nn + k] = farkas ? 0.0 : lam[k];
    for (int r = 0; r < n; r++)
        w->ybuf_f[r] = (double)(float)w->ybuf[r];
    cn_status st = accepted(w, d, w->ybuf_f, n, ok);
    w->ykeep = w->ybuf_f;
    if (st == CN_OK && !*ok) {
        st = accepted(w, d, w->ybuf, n, ok);
        w->ykeep = w->ybuf;
    }
    w->ykeep_n = n;
    return st;
}

/* ---- the LP tail's tree ---------------------------------------------------- */

void vfy__tt_clear(tail_tree *t)
{
    cn_free(t->nd);
    cn_free(t->rf);
    cn_free(t->y);
    memset(t, 0, sizeof *t);
}

static bool grow(void **a, int *cap, int need, size_t sz)
{
    if (need <= *cap)
        return true;
    int c = *cap ? 2 * *cap : 64;
    while (c < need)
        c *= 2;
    void *p = cn_reallocarray(*a, (size_t)c, sz);
    if (!p)
        return false;
    *a = p;
    *cap = c;
    return true;
}

/* A new node at depth; its index or -1 without memory. */
static int tt_node(tail_tree *t, int depth)
{
    if (!grow((void **)&t->nd, &t->cap_nd, t->n_nd + 1, sizeof *t->nd))
        return -1;
    t->nd[t->n_nd] = (tail_node){depth, {-1, -1}, -1};
    return t->n_nd++;
}

void vfy__tt_reset(worker *w)
{
    w->tt.n_nd = w->tt.n_rf = 0;
    w->tt.n_y = 0;
}

cn_status vfy__tt_child(worker *w, int tn, int h, int *child)
{
    tail_tree *t = &w->tt;
    if (t->n_nd == 0 && tt_node(t, 0) < 0)
        return cn_fail(&w->err, CN_ENOMEM, "out of memory for the LP tail's tree");
    if (tn < 0) {
        *child = 0;
        return CN_OK;
    }
    if (t->nd[tn].child[h] < 0) {
        int c = tt_node(t, t->nd[tn].depth + 1);
        if (c < 0)
            return cn_fail(&w->err, CN_ENOMEM, "out of memory for the LP tail's tree");
        t->nd[tn].child[h] = c;
    }
    *child = t->nd[tn].child[h];
    return CN_OK;
}

cn_status vfy__tt_ref(worker *w, int tn, int d, const double *y, int n)
{
    tail_tree *t = &w->tt;
    if (!grow((void **)&t->rf, &t->cap_rf, t->n_rf + 1, sizeof *t->rf))
        return cn_fail(&w->err, CN_ENOMEM, "out of memory for the LP tail's tree");
    if (n > 0 && t->n_y + n > t->cap_y) {
        long c = t->cap_y ? 2 * t->cap_y : 4096;
        while (c < t->n_y + n)
            c *= 2;
        double *p = cn_reallocarray(t->y, (size_t)c, sizeof *p);
        if (!p)
            return cn_fail(&w->err, CN_ENOMEM, "out of memory for the LP tail's tree");
        t->y = p;
        t->cap_y = c;
    }
    t->rf[t->n_rf] = (tail_ref){d, t->nd[tn].ref, n, t->n_y};
    t->nd[tn].ref = t->n_rf++;
    if (n > 0) {
        memcpy(t->y + t->n_y, y, sizeof(double) * (size_t)n);
        t->n_y += n;
    }
    return CN_OK;
}

/* Every node has both children or none, and every leaf a refutation of
 * every disjunct alive at the box on its path. */
static bool tt_closed(const worker *w, const uint64_t *alive)
{
    const tail_tree *t = &w->tt;
    const shared *S = w->S;
    if (t->n_nd == 0)
        return false;
    /* preorder over an explicit stack; covered disjuncts per depth */
    int stack[2 * VFY__TAIL_MAX_UNSTABLE + 4], sp = 0;
    uint64_t cov[VFY__TAIL_MAX_UNSTABLE + 2][4];
    if (S->words > 4)
        return false; /* (the tail is for small disjunctions; > 256 disjuncts: none) */
    stack[sp++] = 0;
    while (sp > 0) {
        const tail_node *n = &t->nd[stack[--sp]];
        if (n->depth > VFY__TAIL_MAX_UNSTABLE)
            return false;
        uint64_t *c = cov[n->depth];
        for (int q = 0; q < S->words; q++)
            c[q] = n->depth > 0 ? cov[n->depth - 1][q] : 0;
        for (int r = n->ref; r >= 0; r = t->rf[r].next)
            c[t->rf[r].disj >> 6] |= 1ull << (t->rf[r].disj & 63);
        if ((n->child[0] < 0) != (n->child[1] < 0))
            return false;
        if (n->child[0] >= 0) {
            stack[sp++] = n->child[1];
            stack[sp++] = n->child[0];
            continue;
        }
        for (int q = 0; q < S->words; q++)
            if (alive[q] & ~c[q])
                return false;
    }
    return true;
}

bool vfy__tt_commit(worker *w, int pid, const int *u, const uint64_t *alive)
{
    shared *S = w->S;
    const tail_tree *t = &w->tt;
    if (!tt_closed(w, alive))
        return false;
    int stack[2 * VFY__TAIL_MAX_UNSTABLE + 4][2], sp = 0;
    stack[sp][0] = 0;
    stack[sp++][1] = pid;
    while (sp > 0) {
        sp--;
        const tail_node *n = &t->nd[stack[sp][0]];
        int id = stack[sp][1];
        for (int r = n->ref; r >= 0; r = t->rf[r].next)
            vfy__log_ref(S, id, t->rf[r].disj, t->y + t->rf[r].y, t->rf[r].n_y);
        if (n->child[0] < 0) {
            vfy__log_set(S, id, VFY_PN_LEAF_LP, -1, 0);
            continue;
        }
        vfy__log_set(S, id, VFY_PN_SPLIT_RELU, u[n->depth], 0);
        for (int h = 1; h >= 0; h--) {
            stack[sp][0] = n->child[h];
            stack[sp++][1] = vfy__log_node(S, id, h);
        }
    }
    return true;
}

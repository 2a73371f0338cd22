/* proof_log.c — the proof log (vfy_proof, verifier.h): one log node per
 * branch-and-bound node, with how it was split or closed and which disjuncts
 * its bound refuted.  Workers append under shared.log_mu; an allocation
 * failure marks the log failed (the case then fails with CN_ENOMEM) rather
 * than leaving a log that claims more than was shown. */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include "verifier/engine_int.h"

void vfy_proof_free(vfy_proof *p)
{
    if (!p)
        return;
    cn_free(p->nodes);
    cn_free(p->refs);
    for (int i = 0; p->claims && i < p->n_claims; i++)
        cn_free(p->claims[i].q);
    cn_free(p->claims);
    for (int i = 0; p->pars && i < p->n_pars; i++)
        cert_par_clear(&p->pars[i]);
    cn_free(p->pars);
    cn_free(p->duals);
    cn_free(p);
}

/* A new log node; returns its index or -1 (recording off or out of memory,
 * which marks the log failed). */
int vfy__log_node(shared *S, int parent, int side)
{
    if (!S->log)
        return -1;
    pthread_mutex_lock(&S->log_mu);
    vfy_proof *L = S->log;
    int id = -1;
    if (L->n_nodes == L->cap_nodes) {
        int cap = L->cap_nodes ? 2 * L->cap_nodes : 256;
        vfy_proof_node *nn = cn_reallocarray(L->nodes, (size_t)cap, sizeof *nn);
        if (!nn) {
            S->log_failed = true;
            goto out;
        }
        L->nodes = nn;
        L->cap_nodes = cap;
    }
    id = L->n_nodes++;
    L->nodes[id] = (vfy_proof_node){parent, side, S->case_idx, VFY_PN_OPEN, -1, 0, {-1, -1}};
    if (parent >= 0)
        L->nodes[parent].child[side] = id;
out:
    pthread_mutex_unlock(&S->log_mu);
    return id;
}

void vfy__log_set(shared *S, int id, vfy_pn_kind kind, int dim, double at)
{
    if (!S->log || id < 0)
        return;
    pthread_mutex_lock(&S->log_mu);
    S->log->nodes[id].kind = kind;
    S->log->nodes[id].dim = dim;
    S->log->nodes[id].at = at;
    pthread_mutex_unlock(&S->log_mu);
}

/* Room for one more refutation (log_mu held); false marks the log failed. */
static bool ref_room(shared *S)
{
    vfy_proof *L = S->log;
    if (L->n_refs < L->cap_refs)
        return true;
    int cap = L->cap_refs ? 2 * L->cap_refs : 256;
    vfy_refutation *nr = cn_reallocarray(L->refs, (size_t)cap, sizeof *nr);
    if (!nr) {
        S->log_failed = true;
        return false;
    }
    L->refs = nr;
    L->cap_refs = cap;
    return true;
}

void vfy__log_drop_refs(shared *S, int id)
{
    if (!S->log || id < 0)
        return;
    pthread_mutex_lock(&S->log_mu);
    vfy_proof *L = S->log;
    int k = 0;
    for (int i = 0; i < L->n_refs; i++)
        if (L->refs[i].node != id)
            L->refs[k++] = L->refs[i];
    L->n_refs = k;        /* (their parameters and multipliers stay unused) */
    pthread_mutex_unlock(&S->log_mu);
}

/* Records disjunct d refuted at node id by the LP with multipliers y [n]
 * (n == 0: by the bounds). */
void vfy__log_ref(shared *S, int id, int d, const double *y, int n)
{
    if (!S->log || id < 0)
        return;
    pthread_mutex_lock(&S->log_mu);
    vfy_proof *L = S->log;
    if (n > 0 && L->n_duals + n > L->cap_duals) {
        long cap = L->cap_duals ? 2 * L->cap_duals : 4096;
        while (cap < L->n_duals + n)
            cap *= 2;
        double *nd = cn_reallocarray(L->duals, (size_t)cap, sizeof *nd);
        if (!nd) {
            S->log_failed = true;
            goto out;
        }
        L->duals = nd;
        L->cap_duals = cap;
    }
    if (!ref_room(S))
        goto out;
    L->refs[L->n_refs++] = (vfy_refutation){id, d, -1, n, n > 0 ? L->n_duals : 0};
    if (n > 0) {
        memcpy(L->duals + L->n_duals, y, sizeof(double) * (size_t)n);
        L->n_duals += n;
    }
out:
    pthread_mutex_unlock(&S->log_mu);
}


/* Records the disjuncts alive in `before` but not in `after`. */
void vfy__log_refuted(shared *S, int id, const uint64_t *before, const uint64_t *after)
{
    if (!S->log || id < 0)
        return;
    pthread_mutex_lock(&S->log_mu);
    vfy_proof *L = S->log;
    for (int d = 0; d < S->n_disj; d++) {
        bool was = (before[d >> 6] >> (d & 63)) & 1, is = (after[d >> 6] >> (d & 63)) & 1;
        if (!was || is)
            continue;
        if (!ref_room(S))
            break;
        L->refs[L->n_refs++] = (vfy_refutation){id, d, -1, 0, 0};
    }
    pthread_mutex_unlock(&S->log_mu);
}

/* Records that disjunct d is refuted at node id by the bound with the
 * parameters p (copied). */
void vfy__log_refuted_par(shared *S, int id, int d, const cert_par *p)
{
    if (!S->log || id < 0)
        return;
    pthread_mutex_lock(&S->log_mu);
    vfy_proof *L = S->log;
    if (L->n_pars == L->cap_pars) {
        int cap = L->cap_pars ? 2 * L->cap_pars : 64;
        cert_par *np = cn_reallocarray(L->pars, (size_t)cap, sizeof *np);
        if (!np) {
            S->log_failed = true;
            goto out;
        }
        L->pars = np;
        L->cap_pars = cap;
    }
    if (!ref_room(S))
        goto out;
    cert_par c;
    if (cert_par_copy(&c, p, NULL) != CN_OK) {
        S->log_failed = true;
        goto out;
    }
    L->pars[L->n_pars] = c;
    L->refs[L->n_refs++] = (vfy_refutation){id, d, L->n_pars++, 0, 0};
out:
    pthread_mutex_unlock(&S->log_mu);
}

void vfy__alpha_defaults(const shared *S, int below, const signed char *split,
                         unsigned char *q)
{
    for (int i = 0; i < S->n_layers; i++) {
        const net_layer *l = net_layer_at(S->n, i);
        if (l->op != NET_RELU)
            continue;
        const int off = S->relu_off[i];
        const double *lo = S->ref_lo ? S->ref_lo[i] : NULL, *hi = S->ref_hi ? S->ref_hi[i] : NULL;
        for (int j = 0; j < l->in; j++)
            if (i >= below || (split && split[off + j]) || (lo && lo[j] >= 0.0) ||
                (hi && hi[j] <= 0.0))
                q[off + j] = CERT_ALPHA_DEFAULT;
    }
}

/* Records a root claim of the current case (copied). */
void vfy__log_claim(shared *S, int layer, int neuron, int sgn, double lb, const unsigned char *q)
{
    if (!S->log)
        return;
    pthread_mutex_lock(&S->log_mu);
    vfy_proof *L = S->log;
    if (L->n_claims == L->cap_claims) {
        int cap = L->cap_claims ? 2 * L->cap_claims : 64;
        vfy_claim *nc = cn_reallocarray(L->claims, (size_t)cap, sizeof *nc);
        if (!nc) {
            S->log_failed = true;
            goto out;
        }
        L->claims = nc;
        L->cap_claims = cap;
    }
    unsigned char *c = cn_mallocarray((size_t)S->n_relus + 1, 1);
    if (!c) {
        S->log_failed = true;
        goto out;
    }
    memcpy(c, q, (size_t)S->n_relus);
    vfy__alpha_defaults(S, layer, NULL, c);
    L->claims[L->n_claims++] = (vfy_claim){S->case_idx, layer, neuron, sgn, lb, c, S->n_relus};
out:
    pthread_mutex_unlock(&S->log_mu);
}

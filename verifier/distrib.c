/* distrib.c — subproblems and proof subtrees for distributed branch and bound
 * (see "Distributed branch and bound" in verifier.h): clearing, byte
 * serialisation with checked unpacking, and grafting a subtree's proof into
 * the frontier's proof log. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "verifier/verifier.h"

void vfy_sub_clear(vfy_sub *s)
{
    if (!s)
        return;
    cn_free(s->lo);
    cn_free(s->hi);
    cn_free(s->split);
    cn_free(s->alive);
    memset(s, 0, sizeof *s);
}

void vfy_frontier_clear(vfy_frontier *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->n; i++)
        vfy_sub_clear(&f->subs[i]);
    cn_free(f->subs);
    f->subs = NULL;
    f->n = 0;
}

/* ---- byte buffers -------------------------------------------------------- */

typedef struct {
    unsigned char *p;
    size_t len, cap;
    bool oom;
} wbuf;

static void put(wbuf *b, const void *v, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        unsigned char *q = cn_realloc(b->p, cap);
        if (!q) {
            b->oom = true;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, v, n);
    b->len += n;
}

static void put_i32(wbuf *b, int32_t v) { put(b, &v, sizeof v); }

static cn_status wbuf_done(wbuf *b, unsigned char **buf, size_t *len, cn_err *err)
{
    if (b->oom) {
        cn_free(b->p);
        return cn_fail(err, CN_ENOMEM, "out of memory packing a message");
    }
    *buf = b->p;
    *len = b->len;
    return CN_OK;
}

typedef struct {
    const unsigned char *p;
    size_t len, at;
} rbuf;

static bool get(rbuf *b, void *v, size_t n)
{
    if (n > b->len - b->at)
        return false;
    memcpy(v, b->p + b->at, n);
    b->at += n;
    return true;
}

static bool get_i32(rbuf *b, int32_t *v) { return get(b, v, sizeof *v); }

static const char SUB_MAGIC[8] = "CNSUB01";
static const char PROOF_MAGIC[8] = "CNPRF02";

/* ---- subproblems ----------------------------------------------------------- */

cn_status vfy_sub_pack(const vfy_sub *s, unsigned char **buf, size_t *len, cn_err *err)
{
    CN_REQUIRE(s && buf && len && s->n_in >= 0 && s->words >= 0, "a subproblem and outputs");
    wbuf b = {0};
    put(&b, SUB_MAGIC, sizeof SUB_MAGIC);
    put_i32(&b, s->case_idx);
    put_i32(&b, s->pid);
    put_i32(&b, s->depth);
    put_i32(&b, s->n_in);
    put_i32(&b, s->split ? s->n_relus : -1);
    put_i32(&b, s->words);
    put(&b, s->lo, sizeof(double) * (size_t)s->n_in);
    put(&b, s->hi, sizeof(double) * (size_t)s->n_in);
    if (s->split)
        put(&b, s->split, (size_t)s->n_relus);
    if (s->words)
        put(&b, s->alive, sizeof(uint64_t) * (size_t)s->words);
    return wbuf_done(&b, buf, len, err);
}

cn_status vfy_sub_unpack(const unsigned char *buf, size_t len, vfy_sub *s, cn_err *err)
{
    CN_REQUIRE(buf && s, "a buffer and a subproblem");
    rbuf b = {buf, len, 0};
    char magic[8];
    int32_t ci, pid, depth, n_in, n_relus, words;
    vfy_sub t;
    memset(&t, 0, sizeof t);
    if (!get(&b, magic, sizeof magic) || memcmp(magic, SUB_MAGIC, sizeof magic) != 0)
        return cn_fail(err, CN_EPARSE, "subproblem message: bad magic (expected %s)", SUB_MAGIC);
    if (!get_i32(&b, &ci) || !get_i32(&b, &pid) || !get_i32(&b, &depth) || !get_i32(&b, &n_in) ||
        !get_i32(&b, &n_relus) || !get_i32(&b, &words))
        return cn_fail(err, CN_EPARSE, "subproblem message: truncated header (%zu bytes)", len);
    if (ci < 0 || pid < -1 || depth < 0 || n_in < 0 || n_relus < -1 || words < 0)
        return cn_fail(err, CN_EPARSE, "subproblem message: negative size or index in the header");
    size_t need = 2 * sizeof(double) * (size_t)n_in + (size_t)(n_relus > 0 ? n_relus : 0) +
                  sizeof(uint64_t) * (size_t)words;
    if (need != len - b.at)
        return cn_fail(err, CN_EPARSE, "subproblem message: %zu bytes of data, expected %zu",
                       len - b.at, need);
    t.case_idx = ci;
    t.pid = pid;
    t.depth = depth;
    t.n_in = n_in;
    t.n_relus = n_relus > 0 ? n_relus : 0;
    t.words = words;
    t.lo = cn_mallocarray((size_t)n_in + 1, sizeof(double));
    t.hi = cn_mallocarray((size_t)n_in + 1, sizeof(double));
    t.alive = cn_calloc((size_t)words + 1, sizeof(uint64_t));
    if (n_relus >= 0)
        t.split = cn_malloc((size_t)n_relus + 1);
    if (!t.lo || !t.hi || !t.alive || (n_relus >= 0 && !t.split)) {
        vfy_sub_clear(&t);
        return cn_fail(err, CN_ENOMEM, "out of memory unpacking a subproblem");
    }
    get(&b, t.lo, sizeof(double) * (size_t)n_in);
    get(&b, t.hi, sizeof(double) * (size_t)n_in);
    if (n_relus > 0)
        get(&b, t.split, (size_t)n_relus);
    if (words)
        get(&b, t.alive, sizeof(uint64_t) * (size_t)words);
    *s = t;
    return CN_OK;
}

/* ---- proofs --------------------------------------------------------------- */

cn_status vfy_proof_pack(const vfy_proof *p, unsigned char **buf, size_t *len, cn_err *err)
{
    CN_REQUIRE(p && buf && len, "a proof and outputs");
    if (p->n_claims > 0) /* (made only where a whole case runs in one process) */
        return cn_fail(err, CN_EUNSUPPORTED, "proof message: a proof with root bounds cannot "
                                             "be sent");
    wbuf b = {0};
    put(&b, PROOF_MAGIC, sizeof PROOF_MAGIC);
    put_i32(&b, p->n_nodes);
    put_i32(&b, p->n_refs);
    put_i32(&b, p->complete ? 1 : 0);
    put_i32(&b, (int32_t)p->n_duals);
    for (int i = 0; i < p->n_nodes; i++) {
        const vfy_proof_node *nd = &p->nodes[i];
        put_i32(&b, nd->parent);
        put_i32(&b, nd->side);
        put_i32(&b, nd->case_idx);
        put_i32(&b, (int32_t)nd->kind);
        put_i32(&b, nd->dim);
        put(&b, &nd->at, sizeof nd->at);
        put_i32(&b, nd->child[0]);
        put_i32(&b, nd->child[1]);
    }
    for (int i = 0; i < p->n_refs; i++) {
        put_i32(&b, p->refs[i].node);
        put_i32(&b, p->refs[i].disj);
        put_i32(&b, p->refs[i].par);
        put_i32(&b, p->refs[i].n_dual);
    }
    /* the multipliers in refutation order (their offsets follow from it) */
    for (int i = 0; i < p->n_refs; i++)
        if (p->refs[i].n_dual > 0)
            put(&b, p->duals + p->refs[i].dual, sizeof(double) * (size_t)p->refs[i].n_dual);
    /* the refutations' slopes and multipliers (CERT_PAR_AB) */
    put_i32(&b, p->n_pars);
    for (int i = 0; i < p->n_pars; i++) {
        const cert_par *q = &p->pars[i];
        put_i32(&b, q->atom);
        put_i32(&b, q->n_alpha);
        if (q->n_alpha)
            put(&b, q->alpha, (size_t)q->n_alpha);
        put_i32(&b, q->n_beta);
        for (int t = 0; t < q->n_beta; t++) {
            put_i32(&b, q->beta_j[t]);
            put(&b, &q->beta[t], sizeof(double));
        }
    }
    return wbuf_done(&b, buf, len, err);
}

static bool in_range(int32_t v, int32_t lo, int32_t hi) { return v >= lo && v < hi; }

cn_status vfy_proof_unpack(const unsigned char *buf, size_t len, vfy_proof **out, cn_err *err)
{
    CN_REQUIRE(buf && out, "a buffer and an output");
    rbuf b = {buf, len, 0};
    char magic[8];
    int32_t nn, nr, complete, ndu;
    if (!get(&b, magic, sizeof magic) || memcmp(magic, PROOF_MAGIC, sizeof magic) != 0)
        return cn_fail(err, CN_EPARSE, "proof message: bad magic (expected %s)", PROOF_MAGIC);
    if (!get_i32(&b, &nn) || !get_i32(&b, &nr) || !get_i32(&b, &complete) ||
        !get_i32(&b, &ndu) || nn < 0 || nr < 0 || ndu < 0 || complete < 0 || complete > 1)
        return cn_fail(err, CN_EPARSE, "proof message: bad header (%zu bytes)", len);
    size_t node_bytes = 7 * sizeof(int32_t) + sizeof(double), ref_bytes = 4 * sizeof(int32_t);
    if ((size_t)nn > (len - b.at) / node_bytes || (size_t)nr > (len - b.at) / ref_bytes ||
        (size_t)ndu > (len - b.at) / sizeof(double) ||
        (size_t)nn * node_bytes + (size_t)nr * ref_bytes + (size_t)ndu * sizeof(double) +
                sizeof(int32_t) >
            len - b.at)
        return cn_fail(err, CN_EPARSE, "proof message: %zu bytes for %d nodes and %d refutations",
                       len - b.at, nn, nr);
    vfy_proof *p = cn_calloc(1, sizeof *p);
    if (!p)
        return cn_fail(err, CN_ENOMEM, "out of memory unpacking a proof");
    p->nodes = cn_mallocarray((size_t)nn + 1, sizeof *p->nodes);
    p->refs = cn_mallocarray((size_t)nr + 1, sizeof *p->refs);
    p->duals = cn_mallocarray((size_t)ndu + 1, sizeof *p->duals);
    if (!p->nodes || !p->refs || !p->duals) {
        vfy_proof_free(p);
        return cn_fail(err, CN_ENOMEM, "out of memory unpacking a proof");
    }
    p->cap_nodes = nn + 1;
    p->cap_refs = nr + 1;
    p->cap_duals = (long)ndu + 1;
    p->complete = complete == 1;
    for (int i = 0; i < nn; i++) {
        int32_t v[7] = {0};
        double at = 0;
        get_i32(&b, &v[0]);
        get_i32(&b, &v[1]);
        get_i32(&b, &v[2]);
        get_i32(&b, &v[3]);
        get_i32(&b, &v[4]);
        get(&b, &at, sizeof at);
        get_i32(&b, &v[5]);
        get_i32(&b, &v[6]);
        if (!in_range(v[0], -1, nn) || !in_range(v[1], 0, 2) || v[2] < 0 ||
            !in_range(v[3], VFY_PN_OPEN, VFY_PN_LEAF_LP + 1) || !in_range(v[5], -1, nn) ||
            !in_range(v[6], -1, nn)) {
            vfy_proof_free(p);
            return cn_fail(err, CN_EPARSE, "proof message: node %d has an index out of range", i);
        }
        p->nodes[i] = (vfy_proof_node){v[0], v[1], v[2], (vfy_pn_kind)v[3], v[4], at,
                                       {v[5], v[6]}};
    }
    int32_t np = 0;
    long off = 0;
    for (int i = 0; i < nr; i++) {
        int32_t node = 0, disj = 0, par = -1, nd = 0;
        get_i32(&b, &node);
        get_i32(&b, &disj);
        get_i32(&b, &par);
        get_i32(&b, &nd);
        if (!in_range(node, 0, nn) || disj < 0 || par < -1 || nd < 0 || nd > (long)ndu - off) {
            vfy_proof_free(p);
            return cn_fail(err, CN_EPARSE, "proof message: refutation %d out of range", i);
        }
        p->refs[i] = (vfy_refutation){node, disj, par, nd, nd > 0 ? off : 0};
        off += nd;
    }
    if (off != ndu) {
        vfy_proof_free(p);
        return cn_fail(err, CN_EPARSE, "proof message: %d multipliers, the refutations use %ld",
                       ndu, off);
    }
    get(&b, p->duals, sizeof(double) * (size_t)ndu);
    p->n_duals = ndu;
    p->n_nodes = nn;
    p->n_refs = nr;
    if (!get_i32(&b, &np) || np < 0 || (size_t)np > len - b.at ||
        !(p->pars = cn_calloc((size_t)np + 1, sizeof(cert_par)))) {
        vfy_proof_free(p);
        return cn_fail(err, CN_EPARSE, "proof message: bad parameter count");
    }
    p->cap_pars = np + 1;
    for (int i = 0; i < np; i++) {
        cert_par *q = &p->pars[i];
        int32_t atom, na, nb;
        bool ok = get_i32(&b, &atom) && get_i32(&b, &na) && atom >= 0 && na >= 0 &&
                  (size_t)na <= len - b.at;
        q->kind = CERT_PAR_AB;
        q->atom = atom;
        if (ok && na > 0) {
            ok = (q->alpha = cn_mallocarray((size_t)na, 1)) && get(&b, q->alpha, (size_t)na);
            q->n_alpha = na;
        }
        ok = ok && get_i32(&b, &nb) && nb >= 0 && (size_t)nb <= len - b.at;
        if (ok && nb > 0) {
            q->beta_j = cn_mallocarray((size_t)nb, sizeof(int));
            q->beta = cn_mallocarray((size_t)nb, sizeof(double));
            q->n_beta = nb;
            ok = q->beta_j && q->beta;
            for (int t = 0; ok && t < nb; t++) {
                int32_t j;
                ok = get_i32(&b, &j) && get(&b, &q->beta[t], sizeof(double));
                q->beta_j[t] = j;
            }
        }
        p->n_pars = i + 1;
        if (!ok) {
            vfy_proof_free(p);
            return cn_fail(err, CN_EPARSE, "proof message: parameters %d malformed", i);
        }
    }
    for (int i = 0; i < nr; i++)
        if (p->refs[i].par >= np) {
            vfy_proof_free(p);
            return cn_fail(err, CN_EPARSE, "proof message: refutation %d names parameters %d",
                           i, p->refs[i].par);
        }
    if (b.at != len) {
        vfy_proof_free(p);
        return cn_fail(err, CN_EPARSE, "proof message: %zu bytes left over", len - b.at);
    }
    *out = p;
    return CN_OK;
}

/* ---- grafting ------------------------------------------------------------- */

cn_status vfy_proof_graft(vfy_proof *top, int at, const vfy_proof *sub, cn_err *err)
{
    CN_REQUIRE(top && sub, "two proofs");
    if (at < 0 || at >= top->n_nodes || top->nodes[at].kind != VFY_PN_OPEN)
        return cn_fail(err, CN_EINVAL, "proof graft: node %d is not an open leaf of the frontier",
                       at);
    int root = -1;
    for (int i = 0; i < sub->n_nodes; i++)
        if (sub->nodes[i].parent < 0) {
            if (root >= 0)
                return cn_fail(err, CN_EINVAL, "proof graft: the subtree has two roots (%d, %d)",
                               root, i);
            root = i;
        }
    if (root < 0)
        return cn_fail(err, CN_EINVAL, "proof graft: the subtree has no root");
    /* every non-root node hangs below its parent's matching child slot */
    for (int i = 0; i < sub->n_nodes; i++) {
        const vfy_proof_node *nd = &sub->nodes[i];
        if (nd->parent >= 0 && sub->nodes[nd->parent].child[nd->side] != i)
            return cn_fail(err, CN_EINVAL, "proof graft: subtree node %d is not its parent's "
                           "child", i);
    }
    if (sub->n_claims > 0)
        return cn_fail(err, CN_EINVAL, "proof graft: a subtree with root bounds of its own");
    if (sub->n_pars > 0) { /* the subtree's parameters, appended (copied) */
        size_t need = (size_t)top->n_pars + (size_t)sub->n_pars;
        if (need > (size_t)top->cap_pars) {
            cert_par *q = cn_reallocarray(top->pars, need, sizeof *q);
            if (!q)
                return cn_fail(err, CN_ENOMEM, "out of memory grafting a proof");
            top->pars = q;
            top->cap_pars = (int)need;
        }
        for (int i = 0; i < sub->n_pars; i++) {
            if (cert_par_copy(&top->pars[top->n_pars + i], &sub->pars[i], err) != CN_OK) {
                for (int k = 0; k < i; k++)
                    cert_par_clear(&top->pars[top->n_pars + k]);
                return CN_ENOMEM;
            }
        }
    }
    int par_base = top->n_pars;
    int base = top->n_nodes;
    size_t nn = (size_t)top->n_nodes + (size_t)sub->n_nodes - 1;
    size_t nr = (size_t)top->n_refs + (size_t)sub->n_refs;
    if (nn > (size_t)top->cap_nodes) {
        vfy_proof_node *q = cn_reallocarray(top->nodes, nn, sizeof *q);
        if (!q)
            return cn_fail(err, CN_ENOMEM, "out of memory grafting a proof");
        top->nodes = q;
        top->cap_nodes = (int)nn;
    }
    long ndu = top->n_duals + sub->n_duals;
    if (ndu > top->cap_duals) {
        double *q = cn_reallocarray(top->duals, (size_t)ndu + 1, sizeof *q);
        if (!q)
            return cn_fail(err, CN_ENOMEM, "out of memory grafting a proof");
        top->duals = q;
        top->cap_duals = ndu + 1;
    }
    if (nr > (size_t)top->cap_refs) {
        vfy_refutation *q = cn_reallocarray(top->refs, nr + 1, sizeof *q);
        if (!q)
            return cn_fail(err, CN_ENOMEM, "out of memory grafting a proof");
        top->refs = q;
        top->cap_refs = (int)nr + 1;
    }
    /* sub index i -> top index: the root -> at, others after the old end */
#define MAP(i) ((i) < 0 ? -1 : (i) == root ? at : base + ((i) < root ? (i) : (i) - 1))
    int case_idx = top->nodes[at].case_idx;
    for (int i = 0; i < sub->n_nodes; i++) {
        const vfy_proof_node *s = &sub->nodes[i];
        vfy_proof_node *d = &top->nodes[MAP(i)];
        if (i != root) {
            d->parent = MAP(s->parent);
            d->side = s->side;
        }
        d->case_idx = case_idx;
        d->kind = s->kind;
        d->dim = s->dim;
        d->at = s->at;
        d->child[0] = MAP(s->child[0]);
        d->child[1] = MAP(s->child[1]);
    }
    for (int i = 0; i < sub->n_refs; i++) {
        const vfy_refutation *r = &sub->refs[i];
        top->refs[top->n_refs + i] =
            (vfy_refutation){MAP(r->node), r->disj, r->par < 0 ? -1 : par_base + r->par,
                             r->n_dual, r->n_dual > 0 ? top->n_duals + r->dual : 0};
    }
    if (sub->n_duals > 0)
        memcpy(top->duals + top->n_duals, sub->duals, sizeof(double) * (size_t)sub->n_duals);
    top->n_duals = ndu;
#undef MAP
    top->n_nodes = (int)nn;
    top->n_refs = (int)nr;
    top->n_pars += sub->n_pars;
    if (!sub->complete)
        top->complete = false;
    return CN_OK;
}

/* cert_write.c — verification results to certificates: the writer side of
 * certs/ (declared in verifier.h, "Certificates"). */
#include "config.h"

#include <string.h>

#include "verifier/verifier.h"

static void trees_clear(int n, cert_tree *trees)
{
    for (int c = 0; c < n; c++)
        cert_tree_clear(&trees[c]);
}

/* Refutations per node: list[start[i] .. start[i+1]) are the indices in
 * pf->refs of node i's refutations, disj[] their disjuncts. */
typedef struct {
    int *start, *list, *disj;
} refs_index;

static bool index_refs(const vfy_proof *pf, refs_index *ix)
{
    ix->start = cn_calloc((size_t)pf->n_nodes + 1, sizeof(int));
    ix->list = cn_mallocarray((size_t)(pf->n_refs ? pf->n_refs : 1), sizeof(int));
    ix->disj = cn_mallocarray((size_t)(pf->n_refs ? pf->n_refs : 1), sizeof(int));
    if (!ix->start || !ix->list || !ix->disj)
        return false;
    for (int k = 0; k < pf->n_refs; k++)
        ix->start[pf->refs[k].node + 1]++;
    for (int i = 0; i < pf->n_nodes; i++)
        ix->start[i + 1] += ix->start[i];
    int *fill = cn_mallocarray((size_t)pf->n_nodes + 1, sizeof(int));
    if (!fill)
        return false;
    memcpy(fill, ix->start, sizeof(int) * ((size_t)pf->n_nodes + 1));
    for (int k = 0; k < pf->n_refs; k++) {
        ix->disj[fill[pf->refs[k].node]] = pf->refs[k].disj;
        ix->list[fill[pf->refs[k].node]++] = k;
    }
    cn_free(fill);
    return true;
}

/* The LP multipliers of node i's refutations onto tree node t->n_nodes - 1. */
static cn_status set_lp_pars(const vfy_proof *pf, const refs_index *ix, int i, cert_tree *t,
                             cn_err *err)
{
    for (int q = ix->start[i]; q < ix->start[i + 1]; q++) {
        const vfy_refutation *r = &pf->refs[ix->list[q]];
        if (r->n_dual <= 0)
            continue;
        if (r->dual < 0 || r->dual > pf->n_duals - r->n_dual)
            return cn_fail(err, CN_EINTERNAL, "proof log: refutation %d's multipliers lie "
                           "outside the log", ix->list[q]);
        cert_par par = {.kind = CERT_PAR_LP, .n_dual = r->n_dual, .dual = pf->duals + r->dual};
        cn_status s = cert_tree_set_par(t, t->n_nodes - 1, q - ix->start[i], &par, err);
        if (s != CN_OK)
            return s;
    }
    return CN_OK;
}

cn_status vfy_cert_trees(const vfy_proof *pf, int n_cases, cert_tree *trees, cn_err *err)
{
    CN_REQUIRE(pf && trees && n_cases >= 0, "a proof and trees");
    for (int c = 0; c < n_cases; c++)
        cert_tree_init(&trees[c], c);
    if (!pf->complete)
        return cn_fail(err, CN_EINVAL, "the proof has leaves closed by the LP, which "
                                       "certificates cannot express yet");
    for (int k = 0; k < pf->n_refs; k++)
        if (pf->refs[k].node < 0 || pf->refs[k].node >= pf->n_nodes ||
            pf->refs[k].par >= pf->n_pars)
            return cn_fail(err, CN_EINTERNAL, "proof log: refutation %d names node %d", k,
                           pf->refs[k].node);
    refs_index ix = {NULL, NULL, NULL};
    int *root = cn_mallocarray((size_t)(n_cases ? n_cases : 1), sizeof(int));
    int *stack = cn_mallocarray((size_t)(pf->n_nodes ? pf->n_nodes : 1), sizeof(int));
    cn_status s = CN_OK;
    if (!root || !stack || !index_refs(pf, &ix)) {
        s = cn_fail(err, CN_ENOMEM, "out of memory converting a proof");
        goto done;
    }
    for (int c = 0; c < n_cases; c++)
        root[c] = -1;
    for (int i = 0; i < pf->n_nodes; i++) {
        const vfy_proof_node *nd = &pf->nodes[i];
        if (nd->parent < 0 && nd->case_idx >= 0 && nd->case_idx < n_cases) {
            if (root[nd->case_idx] >= 0) {
                s = cn_fail(err, CN_EINTERNAL, "proof log: case %d has two roots", nd->case_idx);
                goto done;
            }
            root[nd->case_idx] = i;
        }
    }
    for (int k = 0; k < pf->n_claims && s == CN_OK; k++) {
        const vfy_claim *cl = &pf->claims[k];
        if (cl->case_idx < 0 || cl->case_idx >= n_cases)
            s = cn_fail(err, CN_EINTERNAL, "proof log: a bound of case %d", cl->case_idx);
        else
            s = cert_tree_add_claim(&trees[cl->case_idx], cl->layer, cl->neuron, cl->sgn, cl->lb,
                                    cl->n_q, cl->q, err);
    }
    for (int c = 0; c < n_cases && s == CN_OK; c++) {
        if (root[c] < 0) {
            s = cn_fail(err, CN_EINTERNAL, "proof log: case %d has no root", c);
            break;
        }
        /* preorder: push side 1 first so that side 0 is popped first */
        int sp = 0;
        stack[sp++] = root[c];
        while (sp > 0 && s == CN_OK) {
            int i = stack[--sp];
            const vfy_proof_node *nd = &pf->nodes[i];
            cert_kind kind;
            switch (nd->kind) {
            case VFY_PN_SPLIT_INPUT: kind = CERT_SPLIT_INPUT; break;
            case VFY_PN_SPLIT_RELU: kind = CERT_SPLIT_RELU; break;
            case VFY_PN_SPLIT_ACT: kind = CERT_SPLIT_ACT; break;
            case VFY_PN_LEAF_BOUNDS: kind = CERT_LEAF; break;
            case VFY_PN_LEAF_EMPTY: kind = CERT_EMPTY; break;
            case VFY_PN_LEAF_LP: kind = CERT_LEAF; break;
            default:
                s = cn_fail(err, CN_EINTERNAL, "proof log: node %d of case %d is unfinished", i,
                            c);
                continue;
            }
            bool split =
                kind == CERT_SPLIT_INPUT || kind == CERT_SPLIT_RELU || kind == CERT_SPLIT_ACT;
            if (split && (nd->child[0] < 0 || nd->child[1] < 0 || nd->child[0] >= pf->n_nodes ||
                          nd->child[1] >= pf->n_nodes)) {
                s = cn_fail(err, CN_EINTERNAL, "proof log: split node %d lacks a child", i);
                continue;
            }
            s = cert_tree_push(&trees[c], kind, split ? nd->dim : 0,
                               kind == CERT_SPLIT_INPUT || kind == CERT_SPLIT_ACT ? nd->at : 0.0,
                               ix.start[i + 1] - ix.start[i], ix.disj + ix.start[i], err);
            if (s == CN_OK)
                s = set_lp_pars(pf, &ix, i, &trees[c], err);
            for (int q = ix.start[i]; s == CN_OK && q < ix.start[i + 1]; q++)
                if (pf->refs[ix.list[q]].par >= 0)
                    s = cert_tree_set_par(&trees[c], trees[c].n_nodes - 1, q - ix.start[i],
                                          &pf->pars[pf->refs[ix.list[q]].par], err);
            if (split && s == CN_OK) {
                if (sp + 2 > pf->n_nodes || trees[c].n_nodes > pf->n_nodes) {
                    s = cn_fail(err, CN_EINTERNAL, "proof log: the tree has a cycle");
                    continue;
                }
                stack[sp++] = nd->child[1];
                stack[sp++] = nd->child[0];
            }
        }
    }
done:
    cn_free(ix.start);
    cn_free(ix.list);
    cn_free(ix.disj);
    cn_free(root);
    cn_free(stack);
    if (s != CN_OK)
        trees_clear(n_cases, trees);
    return s;
}

cn_status vfy_cert_root_trees(const prop *p, cert_tree *trees, cn_err *err)
{
    int nc = prop_n_cases(p);
    for (int c = 0; c < nc; c++)
        cert_tree_init(&trees[c], c);
    cn_status s = CN_OK;
    for (int c = 0; c < nc && s == CN_OK; c++) {
        const prop_case *pc = prop_case_at(p, c);
        int *all = cn_mallocarray((size_t)(pc->n_disj ? pc->n_disj : 1), sizeof(int));
        if (!all) {
            s = cn_fail(err, CN_ENOMEM, "out of memory");
            break;
        }
        for (int d = 0; d < pc->n_disj; d++)
            all[d] = d;
        s = cert_tree_push(&trees[c], CERT_LEAF, 0, 0.0, pc->n_disj, all, err);
        cn_free(all);
    }
    if (s != CN_OK)
        trees_clear(nc, trees);
    return s;
}

cn_status vfy_cert_selfcheck(const net *n, const prop *p, int n_trees, const cert_tree *trees,
                             bool *valid, char *why, size_t why_len, cn_err *err)
{
    cert_bounds *b = cert_bounds_new(n, err);
    if (!b)
        return err ? err->status : CN_ENOMEM;
    cert_stats st = {0, 0, 0, 0};
    bool ok = true;
    cn_status s = CN_OK;
    for (int c = 0; c < n_trees && ok && s == CN_OK; c++)
        s = cert_check_tree(b, p, &trees[c], &ok, why, why_len, &st, err);
    cert_bounds_free(b);
    if (s == CN_OK)
        *valid = ok;
    return s;
}

cn_status vfy_cert_file_sha(const char *path, char hex[65], cn_err *err)
{
    unsigned char *data = NULL;
    size_t len = 0;
    cn_status s = cn_read_file(path, &data, &len, err);
    if (s != CN_OK)
        return s;
    cn_sha256_hex(data, len, hex);
    cn_free(data);
    return CN_OK;
}

cn_status vfy_cert_add_result(cert_doc *d, const cert_entry *e, bool sweep, const prop *p,
                              const vfy_result *r, bool *certified, char *why, size_t why_len,
                              cn_err *err)
{
    cert_entry en = *e;
    *certified = true;
    why[0] = '\0';
    if (r->verdict == VFY_SAT) {
        en.verdict = sweep ? "not-robust" : "sat";
        if (!en.method)
            en.method = r->found_by;
        return cert_doc_add_cex(d, &en, r->n_in, r->x, &r->check, err);
    }
    if (r->verdict == VFY_UNSAT) {
        en.verdict = sweep ? "robust" : "unsat";
        if (!en.method)
            en.method = r->found_by;
        int nc = prop_n_cases(p);
        cert_tree *trees = cn_calloc((size_t)(nc ? nc : 1), sizeof(cert_tree));
        if (!trees)
            return cn_fail(err, CN_ENOMEM, "out of memory");
        cn_err terr;
        cn_status ts = r->proof ? vfy_cert_trees(r->proof, nc, trees, &terr)
                                : cn_fail(&terr, CN_EINVAL, "the result carries no proof log");
        cn_status s = ts == CN_OK ? cert_doc_add_proof(d, &en, nc, trees, err) : ts;
        trees_clear(nc, trees);
        cn_free(trees);
        if (ts == CN_ENOMEM && err)
            *err = terr;
        if (ts == CN_OK || ts == CN_ENOMEM)
            return s;
        /* not certifiable (an LP leaf, a broken log): an open entry */
        *certified = false;
        snprintf(why, why_len, "%s", terr.msg);
        en.verdict = "unknown";
        return cert_doc_add_open(d, &en, err);
    }
    en.verdict = r->verdict == VFY_TIMEOUT ? "timeout" : "unknown";
    if (!en.method)
        en.method = "";
    return cert_doc_add_open(d, &en, err);
}

/* doc.c — certificate documents: numbers as strings, proof trees as JSON,
 * canonical bytes, and building / writing a document (certs.h, sections 1
 * and 2). */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "certs/certs_int.h"

/* ---- numbers ------------------------------------------------------------ */

void cert_hexd(double d, char buf[40])
{
    snprintf(buf, 40, "%a", d);           /* exact: no rounding in %a */
}

bool cert_parse_hexd(const char *s, double *d)
{
    const char *p = s[0] == '-' ? s + 1 : s;
    if (p[0] != '0' || p[1] != 'x')
        return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || !isfinite(v))
        return false;
    char back[40];
    cert_hexd(v, back);
    if (strcmp(back, s) != 0)
        return false;                      /* one spelling per value */
    *d = v;
    return true;
}

/* Is q exactly a double?  (*d is then that double.) */
static bool q_is_double(const mpq_t q, double *d)
{
    double v = mpq_get_d(q);
    if (!isfinite(v))
        return false;
    mpq_t t;
    mpq_init(t);
    mpq_set_d(t, v);
    bool eq = mpq_equal(t, q) != 0;
    mpq_clear(t);
    *d = v;
    return eq;
}

/* The string form of q (hex float or "p/q"); NULL when out of memory. */
static char *q_str(const mpq_t q)
{
    double d;
    if (q_is_double(q, &d)) {
        char buf[40];
        cert_hexd(d, buf);
        return cn_strdup(buf);
    }
    size_t n = mpz_sizeinbase(mpq_numref(q), 10) + mpz_sizeinbase(mpq_denref(q), 10) + 3;
    char *s = cn_malloc(n);
    if (s)
        mpq_get_str(s, 10, q);
    return s;
}

json_t *cert__q_json(const mpq_t q)
{
    char *s = q_str(q);
    json_t *j = s ? json_string(s) : NULL;
    cn_free(s);
    return j;
}

bool cert__q_parse(const char *s, mpq_t q)
{
    double d;
    if (strchr(s, 'x'))
        return cert_parse_hexd(s, &d) && (mpq_set_d(q, d), true);
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || *p == '/' || (*p == '-' && p == s)))
            return false;
    if (mpq_set_str(q, s, 10) != 0 || mpz_sgn(mpq_denref(q)) == 0)
        return false;
    mpq_canonicalize(q);
    char *back = q_str(q);                 /* must be the writer's spelling */
    bool ok = back && strcmp(back, s) == 0;
    cn_free(back);
    return ok;
}

/* ---- canonical bytes -------------------------------------------------- */

char *cert__canonical(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
}

void cert__free_dump(char *s)
{
    json_free_t f;
    json_get_alloc_funcs(NULL, &f);
    if (s)
        f(s);
}

/* ---- proof trees as JSON ------------------------------------------------ */

static bool push(json_t *a, json_t *v) { return json_array_append_new(a, v) == 0; }
static bool put(json_t *o, const char *k, json_t *v) { return json_object_set_new(o, k, v) == 0; }

json_t *cert__tree_to_json(const cert_tree *t)
{
    json_t *nodes = json_array();
    if (!nodes)
        return NULL;
    for (int i = 0; i < t->n_nodes; i++) {
        const cert_node *nd = &t->nodes[i];
        char k[2] = {(char)nd->kind, 0}, at[40];
        json_t *a = json_array();
        bool ok = a && push(nodes, a) && push(a, json_string(k));
        if (ok && (nd->kind == CERT_SPLIT_INPUT || nd->kind == CERT_SPLIT_RELU ||
                   nd->kind == CERT_SPLIT_ACT))
            ok = push(a, json_integer(nd->dim));
        if (ok && (nd->kind == CERT_SPLIT_INPUT || nd->kind == CERT_SPLIT_ACT)) {
            cert_hexd(nd->at, at);
            ok = push(a, json_string(at));
        }
        if (ok && nd->n_refs > 0) {
            json_t *r = json_array();
            ok = r && push(a, r);
            for (int q = 0; ok && q < nd->n_refs; q++)
                ok = push(r, nd->par && nd->par[q].kind != CERT_PAR_NONE
                                 ? cert__par_to_json(nd->refs[q], &nd->par[q])
                                 : json_integer(nd->refs[q]));
        }
        if (!ok) {
            json_decref(nodes);
            return NULL;
        }
    }
    return nodes;
}

static bool small_int(const json_t *v, int *out)
{
    if (!json_is_integer(v))
        return false;
    json_int_t x = json_integer_value(v);
    if (x < -1000000000 || x > 1000000000)
        return false;
    *out = (int)x;
    return true;
}

cn_status cert__tree_from_json(const json_t *nodes, int n_relus, cert_tree *t, bool *ok,
                               char *why, size_t why_len, cn_err *err)
{
    *ok = false;
    if (!json_is_array(nodes)) {
        snprintf(why, why_len, "\"nodes\" is not an array");
        return CN_OK;
    }
    int *refs = NULL;
    cn_status s = CN_OK;
    for (size_t i = 0; i < json_array_size(nodes); i++) {
        const json_t *a = json_array_get(nodes, i);
        size_t n = json_is_array(a) ? json_array_size(a) : 0;
        const char *k = n ? json_string_value(json_array_get(a, 0)) : NULL;
        if (!k || strlen(k) != 1 || !strchr("ilrea", k[0])) {
            snprintf(why, why_len, "node %zu: expected [\"i\"|\"r\"|\"a\"|\"l\"|\"e\", ...]",
                     i);
            goto out;
        }
        cert_kind kind = (cert_kind)k[0];
        size_t fixed = kind == CERT_SPLIT_INPUT || kind == CERT_SPLIT_ACT ? 3
                       : kind == CERT_SPLIT_RELU                         ? 2
                                                                         : 1;
        int dim = -1;
        double at = 0;
        bool good = n == fixed || (n == fixed + 1 && kind != CERT_EMPTY);
        if (good && fixed >= 2)
            good = small_int(json_array_get(a, 1), &dim);
        if (good && (kind == CERT_SPLIT_INPUT || kind == CERT_SPLIT_ACT))
            good = json_is_string(json_array_get(a, 2)) &&
                   cert_parse_hexd(json_string_value(json_array_get(a, 2)), &at);
        const json_t *r = n > fixed ? json_array_get(a, fixed) : NULL;
        size_t nr = r ? json_array_size(r) : 0;
        if (good && r)
            good = json_is_array(r) && nr > 0 && nr < 1000000;
        cn_free(refs);
        refs = nr ? cn_mallocarray(nr, sizeof(int)) : NULL;
        if (nr && !refs) {
            s = cn_fail(err, CN_ENOMEM, "out of memory reading a proof tree");
            goto out;
        }
        for (size_t q = 0; good && q < nr; q++)
            good = small_int(json_array_get(r, q), &refs[q]) ||
                   cert__par_disj(json_array_get(r, q), &refs[q]);
        if (!good) {
            snprintf(why, why_len, "node %zu: malformed '%c' node", i, k[0]);
            goto out;
        }
        if ((s = cert_tree_push(t, kind, dim, at, (int)nr, refs, err)) != CN_OK)
            goto out;
        for (size_t q = 0; q < nr; q++) {
            const json_t *item = json_array_get(r, q);
            if (json_is_integer(item))
                continue;
            cert_par par;
            char pw[160];
            if ((s = cert__par_from_json(item, n_relus, &par, pw, sizeof pw, err)) != CN_OK)
                goto out;
            if (par.kind == CERT_PAR_NONE) {
                snprintf(why, why_len, "node %zu, refutation %zu: %s", i, q, pw);
                goto out;
            }
            s = cert_tree_set_par(t, t->n_nodes - 1, (int)q, &par, err);
            cert_par_clear(&par);
            if (s != CN_OK)
                goto out;
        }
    }
    *ok = true;
out:
    cn_free(refs);
    return s;
}

/* ---- documents ------------------------------------------------------------ */

struct cert_doc {
    json_t *S;                /* the signed part */
    json_t *results;          /* borrowed from S */
    bool sweep;
    int n_in;
};

void cert_doc_free(cert_doc *d)
{
    if (!d)
        return;
    json_decref(d->S);
    cn_free(d);
}

/* The property's canonical text (exact, re-parsing to the same property). */
static cn_status prop_text(const prop *p, char **text, cn_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return cn_fail(err, CN_ENOMEM, "out of memory writing the property text");
    bool exact = false;
    cn_status s = prop_write_vnnlib(p, f, &exact, err);
    if (fclose(f) != 0 && s == CN_OK)
        s = cn_fail(err, CN_ENOMEM, "out of memory writing the property text");
    if (s == CN_OK && !exact)
        s = cn_fail(err, CN_EINVAL, "%s: the property cannot be written exactly as VNN-LIB",
                    prop_name(p));
    prop *q = NULL;
    if (s == CN_OK)
        s = prop_parse_vnnlib_mem(buf, len, "certificate property", 0, &q, err);
    if (s == CN_OK && !prop_equal(p, q))
        s = cn_fail(err, CN_EINVAL, "%s: the property's canonical text does not read back as "
                                    "the same property (cases or disjuncts are regrouped)",
                    prop_name(p));
    prop_free(q);
    if (s == CN_OK)
        *text = buf;
    else
        free(buf);
    return s;
}

cn_status cert_doc_new(const cert_meta *m, cert_doc **out, cn_err *err)
{
    CN_REQUIRE(m && out && m->tool && m->model_file && m->model_sha256, "metadata");
    CN_REQUIRE(m->property ? m->property_file && m->property_sha256
                           : m->data_file && m->data_sha256 && m->eps,
               "a property or a sweep");
    char *text = NULL;
    cn_status s = CN_OK;
    if (m->property && (s = prop_text(m->property, &text, err)) != CN_OK)
        return s;
    cert_doc *d = cn_calloc(1, sizeof *d);
    json_t *S = json_object(), *model = json_object(), *results = json_array(), *what = NULL;
    bool ok = d && S && model && results;
    ok = ok && put(S, "format", json_string(CERT_FORMAT)) && put(S, "tool", json_string(m->tool));
    ok = ok && put(model, "file", json_string(m->model_file)) &&
         put(model, "sha256", json_string(m->model_sha256));
    ok = ok && put(S, "model", json_incref(model));
    if (ok && m->property) {
        what = json_object();
        ok = what && put(what, "file", json_string(m->property_file)) &&
             put(what, "sha256", json_string(m->property_sha256)) &&
             put(what, "text", json_string(text)) && put(S, "property", json_incref(what));
    } else if (ok) {
        json_t *data = json_object();
        what = json_object();
        ok = data && what && put(data, "file", json_string(m->data_file)) &&
             put(data, "sha256", json_string(m->data_sha256)) &&
             put(what, "data", json_incref(data)) && put(what, "eps", json_string(m->eps)) &&
             put(S, "sweep", json_incref(what));
        json_decref(data);
    }
    ok = ok && put(S, "results", json_incref(results));
    json_decref(model);
    json_decref(what);
    free(text);
    if (!ok) {
        json_decref(S);
        json_decref(results);
        cn_free(d);
        return cn_fail(err, CN_ENOMEM, "out of memory building a certificate");
    }
    d->S = S;
    d->results = results;
    json_decref(results);          /* S holds it */
    d->sweep = m->property == NULL;
    d->n_in = m->property ? prop_n_in(m->property) : -1;
    *out = d;
    return CN_OK;
}

/* The common fields of a result; NULL when out of memory. */
static json_t *entry_new(const cert_doc *d, const cert_entry *e)
{
    char t[64];
    snprintf(t, sizeof t, "%.3f", e->time_s);
    json_t *r = json_object();
    bool ok = r && put(r, "verdict", json_string(e->verdict)) &&
              put(r, "method", json_string(e->method ? e->method : "")) &&
              put(r, "time_s", json_string(t));
    if (ok && d->sweep) {
        char *hex = cn_malloc(2 * (size_t)e->n_pixels + 1);
        ok = hex != NULL;
        if (ok) {
            cert__hex(e->pixels, (size_t)e->n_pixels, hex);
            ok = put(r, "index", json_integer(e->index)) &&
                 put(r, "label", json_integer(e->label)) && put(r, "pixels", json_string(hex));
        }
        cn_free(hex);
    }
    if (!ok) {
        json_decref(r);
        return NULL;
    }
    return r;
}

static cn_status add_entry(cert_doc *d, json_t *r, cn_err *err)
{
    if (!r || json_array_append_new(d->results, r) != 0)
        return cn_fail(err, CN_ENOMEM, "out of memory building a certificate");
    return CN_OK;
}

cn_status cert_doc_add_proof(cert_doc *d, const cert_entry *e, int n_trees,
                             const cert_tree *trees, cn_err *err)
{
    CN_REQUIRE(d && e && n_trees >= 0 && (n_trees == 0 || trees), "document and trees");
    CN_REQUIRE(!d->sweep || e->pixels, "a sweep entry carries its pixels");
    json_t *r = entry_new(d, e), *proof = json_array();
    bool ok = r && proof && put(r, "proof", json_incref(proof));
    for (int c = 0; ok && c < n_trees; c++) {
        json_t *tc = json_object();
        ok = tc && push(proof, tc) && put(tc, "case", json_integer(trees[c].case_idx)) &&
             put(tc, "nodes", cert__tree_to_json(&trees[c]));
        if (ok && trees[c].n_claims > 0)
            ok = put(tc, "bounds", cert__claims_to_json(&trees[c]));
    }
    json_decref(proof);
    if (!ok) {
        json_decref(r);
        r = NULL;
    }
    return add_entry(d, r, err);
}

cn_status cert_doc_add_cex(cert_doc *d, const cert_entry *e, int n_in, mpq_t *x,
                           const prop_check *chk, cn_err *err)
{
    CN_REQUIRE(d && e && x && chk && chk->violated, "document and a confirmed point");
    CN_REQUIRE(!d->sweep || e->pixels, "a sweep entry carries its pixels");
    json_t *r = entry_new(d, e), *c = json_object(), *xs = json_array(), *ms = json_array();
    bool ok = r && c && xs && ms;
    for (int k = 0; ok && k < n_in; k++)
        ok = push(xs, cert__q_json(x[k]));
    for (int k = 0; ok && k < chk->n_margin; k++)
        ok = push(ms, cert__q_json(chk->margin[k]));
    ok = ok && put(c, "x", json_incref(xs)) && put(c, "margins", json_incref(ms)) &&
         put(c, "case", json_integer(chk->case_idx)) &&
         put(c, "disjunct", json_integer(chk->disj_idx)) && put(r, "counterexample", json_incref(c));
    json_decref(c);
    json_decref(xs);
    json_decref(ms);
    if (!ok) {
        json_decref(r);
        r = NULL;
    }
    return add_entry(d, r, err);
}

cn_status cert_doc_add_open(cert_doc *d, const cert_entry *e, cn_err *err)
{
    CN_REQUIRE(d && e, "document and entry");
    CN_REQUIRE(!d->sweep || e->pixels, "a sweep entry carries its pixels");
    return add_entry(d, entry_new(d, e), err);
}

cn_status cert_doc_bytes(const cert_doc *d, const cert_key *key, char **bytes, size_t *len,
                         cn_err *err)
{
    CN_REQUIRE(d && bytes && len, "document and output");
    json_t *doc = json_object(), *sig = NULL;
    char *canon = NULL, *out = NULL;
    bool ok = doc && put(doc, "signed", json_incref(d->S));
    if (ok && key) {
        canon = cert__canonical(d->S);
        ok = canon != NULL;
        if (ok) {
            unsigned char s[64];
            char hs[129], hk[65];
            cert__sign(key, canon, strlen(canon), s);
            cert__hex(s, 64, hs);
            cert__hex(key->pk, 32, hk);
            sig = json_object();
            ok = sig && put(sig, "alg", json_string("ed25519")) &&
                 put(sig, "key", json_string(hk)) && put(sig, "sig", json_string(hs)) &&
                 put(doc, "signature", json_incref(sig));
        }
    }
    char *text = ok ? cert__canonical(doc) : NULL;
    size_t n = text ? strlen(text) : 0;
    if (text && (out = cn_malloc(n + 2)) != NULL) {
        memcpy(out, text, n);
        out[n] = '\n';
        out[n + 1] = '\0';
    }
    cert__free_dump(text);
    cert__free_dump(canon);
    json_decref(sig);
    json_decref(doc);
    if (!out)
        return cn_fail(err, CN_ENOMEM, "out of memory serialising a certificate");
    *bytes = out;
    *len = n + 1;
    return CN_OK;
}

cn_status cert_write_file(const char *path, const char *bytes, size_t len, cn_err *err)
{
    CN_REQUIRE(path && bytes, "a path and bytes");
    size_t n = strlen(path) + 32;
    char *tmp = cn_malloc(n);
    if (!tmp)
        return cn_fail(err, CN_ENOMEM, "out of memory");
    snprintf(tmp, n, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        cn_status s = cn_fail(err, CN_EIO, "%s: cannot create: %s", tmp, strerror(errno));
        cn_free(tmp);
        return s;
    }
    bool ok = fwrite(bytes, 1, len, f) == len;
    ok &= fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok &= fclose(f) == 0;
    ok = ok && rename(tmp, path) == 0;
    cn_status s = CN_OK;
    if (!ok) {
        s = cn_fail(err, CN_EIO, "%s: cannot write the certificate: %s", path, strerror(errno));
        remove(tmp);
    }
    cn_free(tmp);
    return s;
}

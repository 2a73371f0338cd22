/* check.c — checking a certificate document: canonical form, signature,
 * hashes, property, and every result's witness (certs.h, section 3). */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#include "certs/certs_int.h"

typedef struct {
    const cert_check_in *in;
    cert_report *rep;
    cert_bounds *b;           /* created on the first proof */
    cn_err *err;
    cn_status st;             /* an error that stops the check (not a finding) */
} checker;

/* Records the first failure; returns false. */
static bool fail(checker *c, const char *fmt, ...) CN_PRINTF(2, 3);
static bool fail(checker *c, const char *fmt, ...)
{
    if (c->rep->why[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->rep->why, sizeof c->rep->why, fmt, ap);
        va_end(ap);
    }
    return false;
}

static const char *str_at(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static bool int_at(const json_t *o, const char *k, int lo, int hi, int *out)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return false;
    *out = (int)json_integer_value(v);
    return true;
}

/* ---- signature ------------------------------------------------------------ */

static bool check_signature(checker *c, const json_t *doc, const json_t *S)
{
    const json_t *sg = json_object_get(doc, "signature");
    if (!sg) {
        c->rep->sig = CERT_SIG_NONE;
        return true;
    }
    c->rep->sig = CERT_SIG_BAD;
    const char *alg = str_at(sg, "alg"), *key = str_at(sg, "key"), *sig = str_at(sg, "sig");
    unsigned char pk[32], sb[64];
    if (!json_is_object(sg) || json_object_size(sg) != 3 || !alg || strcmp(alg, "ed25519") ||
        !key || !sig || !cert__unhex(key, pk, 32) || !cert__unhex(sig, sb, 64))
        return fail(c, "signature: expected {\"alg\": \"ed25519\", \"key\": 64 hex digits, "
                       "\"sig\": 128 hex digits}");
    char *canon = cert__canonical(S);
    if (!canon) {
        c->st = cn_fail(c->err, CN_ENOMEM, "out of memory checking a signature");
        return false;
    }
    bool good = cert__verify(pk, canon, strlen(canon), sb);
    cert__free_dump(canon);
    if (!good)
        return fail(c, "signature: does not verify (the signed part was changed, or the "
                       "signature is not by key %.16s...)", key);
    if (c->in->pubkey && memcmp(pk, c->in->pubkey, 32) != 0) {
        char want[65];
        cert__hex(c->in->pubkey, 32, want);
        return fail(c, "signature: made by another key (%.16s..., expected %.16s...)", key, want);
    }
    c->rep->sig = c->in->pubkey ? CERT_SIG_TRUSTED : CERT_SIG_UNTRUSTED;
    return true;
}

/* ---- witnesses ------------------------------------------------------------ */

static bool check_proof(checker *c, const char *where, const prop *p, const json_t *proof)
{
    if (!json_is_array(proof) || (int)json_array_size(proof) != prop_n_cases(p))
        return fail(c, "%s: \"proof\" must list one tree per case (%d)", where, prop_n_cases(p));
    if (!c->b && !(c->b = cert_bounds_new(c->in->model, c->err))) {
        c->st = c->err ? c->err->status : CN_ENOMEM;
        return false;
    }
    for (int ci = 0; ci < prop_n_cases(p); ci++) {
        const json_t *tc = json_array_get(proof, (size_t)ci);
        int idx;
        if (!json_is_object(tc) || !int_at(tc, "case", ci, ci, &idx))
            return fail(c, "%s: proof tree %d must have \"case\": %d", where, ci, ci);
        cert_tree t;
        cert_tree_init(&t, ci);
        bool ok;
        char why[400];
        cn_status s = cert__tree_from_json(json_object_get(tc, "nodes"), &t, &ok, why,
                                           sizeof why, c->err);
        if (s == CN_OK && !ok) {
            cert_tree_clear(&t);
            return fail(c, "%s: case %d: %s", where, ci, why);
        }
        if (s == CN_OK)
            s = cert_check_tree(c->b, p, &t, &ok, why, sizeof why, &c->rep->stats, c->err);
        cert_tree_clear(&t);
        if (s != CN_OK) {
            c->st = s;
            return false;
        }
        if (!ok)
            return fail(c, "%s: %s", where, why);
    }
    return true;
}

static bool check_cex(checker *c, const char *where, const prop *p, const json_t *cx)
{
    int n_in = prop_n_in(p), ci, di;
    const json_t *xs = json_object_get(cx, "x"), *ms = json_object_get(cx, "margins");
    if (!json_is_object(cx) || !json_is_array(xs) || (int)json_array_size(xs) != n_in ||
        !json_is_array(ms) || !int_at(cx, "case", 0, 1 << 30, &ci) ||
        !int_at(cx, "disjunct", 0, 1 << 30, &di))
        return fail(c, "%s: counterexample: expected \"x\" (%d values), \"margins\", \"case\" "
                       "and \"disjunct\"", where, n_in);
    mpq_t *x = cn_mallocarray((size_t)n_in, sizeof(mpq_t));
    if (!x) {
        c->st = cn_fail(c->err, CN_ENOMEM, "out of memory checking a counterexample");
        return false;
    }
    for (int k = 0; k < n_in; k++)
        mpq_init(x[k]);
    mpq_t m;
    mpq_init(m);
    prop_check chk;
    prop_check_init(&chk);
    bool ok = true;
    for (int k = 0; k < n_in && ok; k++) {
        const char *s = json_string_value(json_array_get(xs, (size_t)k));
        if (!s || !cert__q_parse(s, x[k]))
            ok = fail(c, "%s: counterexample: x[%d] is not an exact number string", where, k);
    }
    if (ok) {
        cn_status s = prop_check_point(p, c->in->model, x, &chk, c->err);
        if (s != CN_OK) {
            c->st = s;
            ok = false;
        }
    }
    if (ok && !chk.violated)
        ok = fail(c, "%s: counterexample: the point is not in the region of any case or its "
                     "exact output meets no disjunct (closest slack %.17g)", where,
                  chk.worst_margin_d);
    if (ok && (chk.case_idx != ci || chk.disj_idx != di))
        ok = fail(c, "%s: counterexample: it meets case %d disjunct %d, the certificate says "
                     "case %d disjunct %d", where, chk.case_idx, chk.disj_idx, ci, di);
    if (ok && (int)json_array_size(ms) != chk.n_margin)
        ok = fail(c, "%s: counterexample: %zu margins, the disjunct has %d atoms", where,
                  json_array_size(ms), chk.n_margin);
    for (int k = 0; ok && k < chk.n_margin; k++) {
        const char *s = json_string_value(json_array_get(ms, (size_t)k));
        if (!s || !cert__q_parse(s, m) || !mpq_equal(m, chk.margin[k]))
            ok = fail(c, "%s: counterexample: margin %d differs from the exact slack %.17g",
                      where, k, mpq_get_d(chk.margin[k]));
    }
    prop_check_clear(&chk);
    mpq_clear(m);
    for (int k = 0; k < n_in; k++)
        mpq_clear(x[k]);
    cn_free(x);
    return ok;
}

/* One result: its verdict and witness against property p. */
static bool check_result(checker *c, const char *where, const prop *p, const json_t *r,
                         bool sweep)
{
    const char *v = str_at(r, "verdict");
    const json_t *proof = json_object_get(r, "proof"), *cx = json_object_get(r, "counterexample");
    const char *yes = sweep ? "robust" : "unsat", *no = sweep ? "not-robust" : "sat";
    if (!v || !str_at(r, "method") || !str_at(r, "time_s"))
        return fail(c, "%s: expected \"verdict\", \"method\" and \"time_s\" strings", where);
    if (prop_n_in(p) != net_in_size(c->in->model) || prop_n_out(p) != net_out_size(c->in->model))
        return fail(c, "%s: the property has %d inputs and %d outputs, the model %d and %d",
                    where, prop_n_in(p), prop_n_out(p), net_in_size(c->in->model),
                    net_out_size(c->in->model));
    if (!strcmp(v, yes)) {
        if (!proof || cx)
            return fail(c, "%s: verdict %s needs a \"proof\" and no counterexample", where, v);
        if (!check_proof(c, where, p, proof))
            return false;
        c->rep->n_proven++;
    } else if (!strcmp(v, no)) {
        if (!cx || proof)
            return fail(c, "%s: verdict %s needs a \"counterexample\" and no proof", where, v);
        if (!check_cex(c, where, p, cx))
            return false;
        c->rep->n_cex++;
    } else if (!strcmp(v, "unknown") || !strcmp(v, "timeout")) {
        if (proof || cx)
            return fail(c, "%s: verdict %s carries no witness", where, v);
        c->rep->n_open++;
    } else {
        return fail(c, "%s: unknown verdict \"%s\"", where, v);
    }
    return true;
}

/* A sweep entry's property: the eps-ball of its pixels. */
static bool sweep_prop(checker *c, const char *where, const json_t *r, const mpq_t eps, prop **p)
{
    int n_in = net_in_size(c->in->model), n_out = net_out_size(c->in->model), idx, label;
    const char *px = str_at(r, "pixels");
    if (!int_at(r, "index", 0, 1 << 30, &idx) || !int_at(r, "label", 0, n_out - 1, &label) ||
        !px)
        return fail(c, "%s: expected \"index\", \"label\" (an output) and \"pixels\"", where);
    uint8_t *pix = cn_malloc((size_t)n_in + 1);
    mpq_t *x0 = cn_mallocarray((size_t)n_in, sizeof(mpq_t));
    mpq_t lo, hi;
    mpq_init(lo);
    mpq_init(hi);
    mpq_set_ui(hi, 1, 1);
    bool ok = true;
    if (!pix || !x0) {
        cn_free(pix);
        cn_free(x0);
        c->st = cn_fail(c->err, CN_ENOMEM, "out of memory checking a sample");
        ok = false;
        goto done;
    }
    for (int k = 0; k < n_in; k++)
        mpq_init(x0[k]);
    if (!cert__unhex(px, pix, (size_t)n_in))
        ok = fail(c, "%s: \"pixels\" must be %d bytes in lowercase hex", where, n_in);
    const ds_set *ds = c->in->data;
    if (ok && ds &&
        (idx >= ds->n || ds->dim != n_in || ds->labels[idx] != label ||
         memcmp(ds->pixels + (size_t)idx * (size_t)n_in, pix, (size_t)n_in) != 0))
        ok = fail(c, "%s: sample %d differs from the data file (pixels or label)", where, idx);
    for (int k = 0; ok && k < n_in; k++)
        mpq_set_ui(x0[k], pix[k], 255);
    if (ok) {
        for (int k = 0; k < n_in; k++)
            mpq_canonicalize(x0[k]);
        cn_status s = prop_eps_ball(n_in, x0, eps, lo, hi, n_out, label, p, c->err);
        if (s != CN_OK) {
            c->st = s;
            ok = false;
        }
    }
    for (int k = 0; k < n_in; k++)
        mpq_clear(x0[k]);
    cn_free(x0);
    cn_free(pix);
done:
    mpq_clear(lo);
    mpq_clear(hi);
    return ok;
}

/* ---- the document ----------------------------------------------------------- */

static bool check_doc(checker *c, const char *bytes, size_t len, json_t **root)
{
    json_error_t je;
    json_t *doc = json_loadb(bytes, len, JSON_REJECT_DUPLICATES, &je);
    *root = doc;
    /* jansson reports a failed allocation as out_of_memory, except its very
     * first one (the lexer's buffer), which leaves the error text empty */
    if (!doc && (json_error_code(&je) == json_error_out_of_memory || je.text[0] == '\0')) {
        c->st = cn_fail(c->err, CN_ENOMEM, "out of memory reading a certificate");
        return false;
    }
    if (!doc)
        return fail(c, "not a JSON document (line %d, column %d: %s)", je.line, je.column,
                    je.text);
    char *canon = cert__canonical(doc);
    if (!canon) {
        c->st = cn_fail(c->err, CN_ENOMEM, "out of memory checking a certificate");
        return false;
    }
    size_t n = strlen(canon), at = 0;
    while (at < n && at < len && canon[at] == bytes[at])
        at++;
    bool canonical = at == n && len == n + 1 && bytes[n] == '\n';
    cert__free_dump(canon);
    if (!canonical)
        return fail(c, "not in canonical form (byte %zu differs; certificates are one line "
                       "of canonical JSON and a newline)", at);
    const json_t *S = json_object_get(doc, "signed");
    size_t keys = json_is_object(doc) ? json_object_size(doc) : 0;
    if (!json_is_object(S) || keys != 1 + (json_object_get(doc, "signature") != NULL))
        return fail(c, "expected {\"signed\": {...}, \"signature\": {...}}");
    if (!check_signature(c, doc, S))
        return false;
    const char *fmt = str_at(S, "format");
    if (!fmt || strcmp(fmt, CERT_FORMAT) != 0)
        return fail(c, "format: expected \"%s\", got \"%s\"", CERT_FORMAT, fmt ? fmt : "?");
    if (!str_at(S, "tool"))
        return fail(c, "tool: missing");
    const json_t *model = json_object_get(S, "model");
    const char *msha = str_at(model, "sha256");
    if (!str_at(model, "file") || !msha)
        return fail(c, "model: expected \"file\" and \"sha256\"");
    if (strcmp(msha, c->in->model_sha256) != 0)
        return fail(c, "model: SHA-256 differs: the certificate has %.16s..., the model file "
                       "%.16s...", msha, c->in->model_sha256);
    const json_t *pj = json_object_get(S, "property"), *sw = json_object_get(S, "sweep");
    const json_t *results = json_object_get(S, "results");
    if (!pj == !sw || !json_is_array(results))
        return fail(c, "expected \"results\" and exactly one of \"property\" and \"sweep\"");
    c->rep->n_results = (int)json_array_size(results);
    bool ok = true;
    if (pj) {
        const char *text = str_at(pj, "text"), *psha = str_at(pj, "sha256");
        if (!text || !psha || !str_at(pj, "file") || json_array_size(results) != 1)
            return fail(c, "property: expected \"file\", \"sha256\", \"text\" and one result");
        if (c->in->vnnlib_sha256 && strcmp(psha, c->in->vnnlib_sha256) != 0)
            return fail(c, "property: SHA-256 differs: the certificate has %.16s..., the "
                           "VNN-LIB file %.16s...", psha, c->in->vnnlib_sha256);
        prop *p = NULL;
        cn_err perr;
        if (prop_parse_vnnlib_mem(text, strlen(text), "certificate property", 0, &p, &perr) !=
            CN_OK) {
            if (perr.status == CN_ENOMEM) {
                c->st = CN_ENOMEM;
                if (c->err)
                    *c->err = perr;
                return false;
            }
            return fail(c, "property: the text does not parse: %s", perr.msg);
        }
        if (c->in->vnnlib && !prop_equal(p, c->in->vnnlib))
            ok = fail(c, "property: differs from the given VNN-LIB file");
        ok = ok && check_result(c, "result 0", p, json_array_get(results, 0), false);
        prop_free(p);
        return ok;
    }
    const char *eps_s = str_at(sw, "eps"), *dsha = str_at(json_object_get(sw, "data"), "sha256");
    mpq_t eps;
    mpq_init(eps);
    if (!eps_s || !dsha || !cn_mpq_set_decimal(eps, eps_s, strlen(eps_s)) || mpq_sgn(eps) < 0)
        ok = fail(c, "sweep: expected \"data\" {\"file\", \"sha256\"} and \"eps\" (a decimal)");
    if (ok && c->in->data_sha256 && strcmp(dsha, c->in->data_sha256) != 0)
        ok = fail(c, "sweep: data SHA-256 differs: the certificate has %.16s..., the data file "
                     "%.16s...", dsha, c->in->data_sha256);
    for (size_t i = 0; ok && i < json_array_size(results); i++) {
        const json_t *r = json_array_get(results, i);
        char where[64];
        snprintf(where, sizeof where, "result %zu (sample %lld)", i,
                 (long long)json_integer_value(json_object_get(r, "index")));
        prop *p = NULL;
        ok = sweep_prop(c, where, r, eps, &p) && check_result(c, where, p, r, true);
        prop_free(p);
    }
    mpq_clear(eps);
    return ok;
}

cn_status cert_check_mem(const char *bytes, size_t len, const cert_check_in *in,
                         cert_report *rep, cn_err *err)
{
    CN_REQUIRE(bytes && in && in->model && in->model_sha256 && rep, "bytes, inputs, report");
    cert_report r;
    memset(&r, 0, sizeof r);
    checker c = {.in = in, .rep = &r, .err = err, .st = CN_OK};
    json_t *root = NULL;
    bool ok = check_doc(&c, bytes, len, &root);
    json_decref(root);
    cert_bounds_free(c.b);
    if (c.st != CN_OK)
        return c.st;
    if (ok && (r.sig == CERT_SIG_NONE || r.sig == CERT_SIG_UNTRUSTED) && !in->allow_unsigned) {
        ok = false;
        snprintf(r.why, sizeof r.why, "%s",
                 r.sig == CERT_SIG_NONE
                     ? "the certificate is unsigned (everything else holds; allow unsigned "
                       "certificates to accept it)"
                     : "the signature is valid for the key in the certificate, but no trusted "
                       "public key was given to check it against (everything else holds)");
    }
    r.valid = ok;
    *rep = r;
    return CN_OK;
}

cn_status cert_model_file(const char *bytes, size_t len, char **file, cn_err *err)
{
    CN_REQUIRE(bytes && file, "bytes and output");
    json_t *doc = json_loadb(bytes, len, 0, NULL);
    const char *f = str_at(json_object_get(json_object_get(doc, "signed"), "model"), "file");
    cn_status s = CN_OK;
    if (!f)
        s = cn_fail(err, CN_EPARSE, "the certificate names no model file");
    else if (!(*file = cn_strdup(f)))
        s = cn_fail(err, CN_ENOMEM, "out of memory");
    json_decref(doc);
    return s;
}

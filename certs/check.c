/* check.c — checking a certificate document: size, envelope, signature and
 * key policy before anything is parsed; then the canonical form, the
 * bindings (model, property, data), the shape of every result, and only then
 * every result's witness (certs.h, sections 3 and 4). */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "certs/certs_int.h"

typedef struct {
    const cert_check_in *in;
    cert_report *rep;
    cert_limits lim;          /* in->limits with the defaults filled in */
    cert_bounds **bs;         /* [n_b] one per thread, created on the first proof */
    int n_b;
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

static bool nomem(checker *c, const char *what)
{
    c->st = cn_fail(c->err, CN_ENOMEM, "out of memory %s", what);
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

static cert_limits limits_of(const cert_check_in *in)
{
    cert_limits l = in->limits;
    if (l.max_bytes == 0)
        l.max_bytes = CERT_MAX_BYTES_DEFAULT;
    if (l.max_nodes <= 0)
        l.max_nodes = CERT_MAX_NODES_DEFAULT;
    if (l.max_nodes > CERT_MAX_NODES_CAP)
        l.max_nodes = CERT_MAX_NODES_CAP;     /* cert_tree counts in int */
    if (l.max_depth <= 0)
        l.max_depth = CERT_MAX_DEPTH_DEFAULT;
    return l;
}

/* ---- before parsing: size, envelope, signature, key policy ---------------- */

static const char SIG_HEAD[] = "{\"signature\":{\"alg\":\"ed25519\",\"key\":\"";
static const char SIG_MID[] = "\",\"sig\":\"";
static const char SIG_TAIL[] = "\"},\"signed\":";
static const char UNSIGNED_HEAD[] = "{\"signed\":";

/* Does b[at..] begin with the literal s?  Advances *at past it when so. */
static bool lit(const char *b, size_t len, size_t *at, const char *s)
{
    size_t n = strlen(s);
    if (len - *at < n || memcmp(b + *at, s, n) != 0)
        return false;
    *at += n;
    return true;
}

/* 2n lowercase hex digits at b[*at..] into out[n]. */
static bool hex_at(const char *b, size_t len, size_t *at, unsigned char *out, size_t n)
{
    char buf[129];
    if (2 * n >= sizeof buf || len - *at < 2 * n)
        return false;
    memcpy(buf, b + *at, 2 * n);
    buf[2 * n] = '\0';
    if (!cert__unhex(buf, out, n))
        return false;
    *at += 2 * n;
    return true;
}

/* The first byte at which b differs from both possible beginnings. */
static size_t head_mismatch(const char *b, size_t len)
{
    size_t i = 0, j = 0;
    while (i < len && SIG_HEAD[i] && b[i] == SIG_HEAD[i])
        i++;
    while (j < len && UNSIGNED_HEAD[j] && b[j] == UNSIGNED_HEAD[j])
        j++;
    return i > j ? i : j;
}

bool cert_screen(const char *bytes, size_t len, const cert_check_in *in, cert_report *rep)
{
    CN_REQUIRE(bytes && in && rep, "bytes, inputs and a report");
    memset(rep, 0, sizeof *rep);
    checker cc = {.in = in, .rep = rep, .lim = limits_of(in)};
    checker *c = &cc;
    if (len > c->lim.max_bytes)
        return fail(c, "the certificate is %zu bytes, more than the limit of %zu bytes (nothing "
                       "was parsed; raise the limit to check it)", len, c->lim.max_bytes);
    /* canonical bytes: {"signature":{...},"signed":S} or {"signed":S}, then "}\n" */
    size_t at = 0;
    bool is_signed = false;
    unsigned char pk[32], sig[64];
    if (lit(bytes, len, &at, SIG_HEAD)) {
        if (!hex_at(bytes, len, &at, pk, 32) || !lit(bytes, len, &at, SIG_MID) ||
            !hex_at(bytes, len, &at, sig, 64) || !lit(bytes, len, &at, SIG_TAIL)) {
            rep->sig = CERT_SIG_BAD;
            return fail(c, "signature: expected {\"alg\":\"ed25519\",\"key\":64 lowercase hex "
                           "digits,\"sig\":128 lowercase hex digits} (canonical form), then "
                           "\"signed\"");
        }
        is_signed = true;
    } else if (!lit(bytes, len, &at, UNSIGNED_HEAD)) {
        size_t m = head_mismatch(bytes, len);
        if (len > 0 && (bytes[0] == '{' || bytes[0] == '['))
            return fail(c, "not in canonical form (byte %zu differs: a certificate begins "
                           "{\"signature\":{\"alg\":\"ed25519\",... or {\"signed\":{; "
                           "certificates are one line of canonical JSON and a newline)", m);
        return fail(c, "not a JSON document in canonical form (byte %zu: a certificate begins "
                       "{\"signature\":{\"alg\":\"ed25519\",... or {\"signed\":{)", m);
    }
    if (len < at + 3 || bytes[at] != '{' || bytes[len - 2] != '}' || bytes[len - 1] != '\n')
        return fail(c, "not in canonical form (byte %zu differs: \"signed\" must be an object "
                       "and the file must end with \"}\" and a newline)",
                    len < at + 3 || bytes[at] != '{' ? at : len - 2);
    if (is_signed) {
        rep->sig = CERT_SIG_BAD;
        char key[65];
        cert__hex(pk, 32, key);
        /* the signed part's canonical bytes are the file's bytes between
         * "signed": and the final "}" (certs.h, section 4) */
        if (!cert__verify(pk, bytes + at, len - 2 - at, sig))
            return fail(c, "signature: does not verify (the signed part was changed, or the "
                           "signature is not by key %.16s...)", key);
        if (in->pubkey && memcmp(pk, in->pubkey, 32) != 0) {
            char want[65];
            cert__hex(in->pubkey, 32, want);
            return fail(c, "signature: made by another key (%.16s..., expected %.16s...)", key,
                        want);
        }
        rep->sig = in->pubkey ? CERT_SIG_TRUSTED : CERT_SIG_UNTRUSTED;
    } else {
        rep->sig = CERT_SIG_NONE;
    }
    if (rep->sig != CERT_SIG_TRUSTED && !in->allow_unsigned)
        return fail(c, "%s",
                    rep->sig == CERT_SIG_NONE
                        ? "the certificate is unsigned; nothing was parsed or re-proved (allow "
                          "unsigned certificates to check it)"
                        : "the signature is valid for the key in the certificate, but no trusted "
                          "public key was given to check it against; nothing was parsed or "
                          "re-proved");
    return true;
}

/* Proof nodes in the raw bytes: every node is an array whose first element
 * is one of the strings "i", "r", "a", "l", "e", i.e. the bytes ["i" etc.; in a
 * JSON string a quote is escaped, so these bytes are never string contents. */
static long count_nodes(const char *b, size_t len)
{
    long n = 0;
    for (const char *p = b, *end = b + len; (p = memchr(p, '[', (size_t)(end - p))) != NULL;
         p++) {
        if (end - p >= 4 && p[1] == '"' && p[3] == '"' && strchr("ilrea", p[2]) && p[2])
            n++;
    }
    return n;
}

/* ---- shape: every result, before anything is re-proved ------------------- */

/* The structure of a proof tree from its nodes' kinds in preorder, without
 * building it (the nodes themselves are read by cert__tree_from_json): 0
 * when the list is one whole tree with at most max_depth splits on any
 * path; else 1 (too deep: *at the node), 2 (nodes after the end: *at the
 * first), 3 (the list ends inside the tree: *at the split short of its
 * side-*side child).  stk: scratch, one byte per split on the current path
 * (at most min(nodes, max_depth)); at: [max_depth] indices of those splits. */
static int tree_shape(const json_t *nodes, int max_depth, unsigned char *stk, size_t *path,
                      size_t *at, int *side)
{
    int sp = 0;                     /* splits on the path to the next node */
    size_t n = json_array_size(nodes);
    for (size_t i = 0; i < n; i++) {
        const char *k = json_string_value(json_array_get(json_array_get(nodes, i), 0));
        if (k && (k[0] == 'i' || k[0] == 'r' || k[0] == 'a') && k[1] == '\0') {
            if (sp >= max_depth) {
                *at = i;
                return 1;
            }
            path[sp] = i;
            stk[sp++] = 0;          /* its side-0 child comes next */
            continue;
        }
        while (sp > 0 && stk[sp - 1])
            sp--;                   /* both children done */
        if (sp == 0) {
            *at = i + 1;
            return i + 1 < n ? 2 : 0;   /* the tree ends here */
        }
        stk[sp - 1] = 1;            /* the side-1 child comes next */
    }
    if (sp == 0)
        return 0;                   /* (no nodes: refused by the caller) */
    *at = path[sp - 1];
    *side = stk[sp - 1];
    return 3;
}

/* "proof": one {"case": c, "nodes": [...]} per case, within the limits. */
static bool proof_shape(checker *c, const char *where, int n_cases, const json_t *proof)
{
    if (!json_is_array(proof) || (int)json_array_size(proof) != n_cases)
        return fail(c, "%s.proof: must list one tree per case (%d)", where, n_cases);
    for (int ci = 0; ci < n_cases; ci++) {
        const json_t *tc = json_array_get(proof, (size_t)ci);
        const json_t *nodes = json_object_get(tc, "nodes");
        int idx;
        const json_t *bounds = json_object_get(tc, "bounds");
        if (!json_is_object(tc) || json_object_size(tc) != (bounds ? 3u : 2u) ||
            !int_at(tc, "case", ci, ci, &idx) || !json_is_array(nodes) ||
            json_array_size(nodes) == 0 || (bounds && !json_is_array(bounds)))
            return fail(c, "%s.proof[%d]: expected {\"case\": %d, \"nodes\": [one or more "
                           "nodes]} and optionally \"bounds\": [...]", where, ci, ci);
        size_t nn = json_array_size(nodes);
        c->rep->n_nodes += (long)nn;
        if (c->rep->n_nodes > c->lim.max_nodes)
            return fail(c, "%s.proof[%d].nodes: the proof trees hold more than %ld nodes (limit; "
                           "raise it to check this certificate)", where, ci, c->lim.max_nodes);
        size_t cap = nn < (size_t)c->lim.max_depth ? nn : (size_t)c->lim.max_depth;
        unsigned char *stk = cn_malloc(cap + 1);
        size_t *path = cn_mallocarray(cap + 1, sizeof(size_t)), at = 0;
        int side = 0, shape = stk && path ? tree_shape(nodes, c->lim.max_depth, stk, path, &at,
                                                       &side) : -1;
        cn_free(stk);
        cn_free(path);
        if (shape < 0)
            return nomem(c, "checking a proof tree's shape");
        if (shape == 1)
            return fail(c, "%s.proof[%d].nodes[%zu]: a path has more than %d splits (depth "
                           "limit; raise it to check this certificate)", where, ci, at,
                        c->lim.max_depth);
        if (shape == 2)
            return fail(c, "%s.proof[%d].nodes[%zu]: nodes after the end of the tree (%zu "
                           "nodes)", where, ci, at, nn);
        if (shape == 3)
            return fail(c, "%s.proof[%d].nodes[%zu]: split without its side-%d child (the "
                           "node list ends)", where, ci, at, side);
    }
    return true;
}

/* "counterexample": {"x": [n_in exact numbers], "margins": [...], "case",
 * "disjunct"}: the fields only (the numbers are read by check_cex). */
static bool cex_shape(checker *c, const char *where, int n_in, const json_t *cx)
{
    const json_t *xs = json_object_get(cx, "x"), *ms = json_object_get(cx, "margins");
    int ci, di;
    if (!json_is_object(cx) || !json_is_array(xs) || (int)json_array_size(xs) != n_in ||
        !json_is_array(ms) || !int_at(cx, "case", 0, 1 << 30, &ci) ||
        !int_at(cx, "disjunct", 0, 1 << 30, &di))
        return fail(c, "%s.counterexample: expected \"x\" (%d values), \"margins\", \"case\" "
                       "and \"disjunct\"", where, n_in);
    return true;
}

/* A result's fields and the presence and shape of its witness. */
static bool result_shape(checker *c, const char *where, const json_t *r, bool sweep, int n_cases,
                         int n_in)
{
    if (!json_is_object(r))
        return fail(c, "%s: expected an object", where);
    const char *v = str_at(r, "verdict");
    const json_t *proof = json_object_get(r, "proof"), *cx = json_object_get(r, "counterexample");
    const char *yes = sweep ? "robust" : "unsat", *no = sweep ? "not-robust" : "sat";
    if (!v || !str_at(r, "method") || !str_at(r, "time_s"))
        return fail(c, "%s: expected \"verdict\", \"method\" and \"time_s\" strings", where);
    if (!strcmp(v, yes)) {
        if (!proof || cx)
            return fail(c, "%s: verdict %s needs a \"proof\" and no counterexample", where, v);
        return proof_shape(c, where, n_cases, proof);
    }
    if (!strcmp(v, no)) {
        if (!cx || proof)
            return fail(c, "%s: verdict %s needs a \"counterexample\" and no proof", where, v);
        return cex_shape(c, where, n_in, cx);
    }
    if (!strcmp(v, "unknown") || !strcmp(v, "timeout")) {
        if (proof || cx)
            return fail(c, "%s: verdict %s carries no witness", where, v);
        return true;
    }
    return fail(c, "%s.verdict: unknown verdict \"%s\" (expected %s, %s, unknown or timeout)",
                where, v, yes, no);
}

/* A property that is proved must have a finite box enclosure in every case
 * (the checker's bounds run on doubles). */
static bool finite_boxes(checker *c, const prop *p)
{
    for (int ci = 0; ci < prop_n_cases(p); ci++) {
        const prop_case *pc = prop_case_at(p, ci);
        for (int k = 0; k < prop_n_in(p); k++)
            if (!isfinite(pc->lo_d[k]) || !isfinite(pc->hi_d[k]))
                return fail(c, "property.text: case %d: input X_%d has a bound beyond the "
                               "largest double (box enclosure [%g, %g]); the checker refuses "
                               "non-finite boxes", ci, k, pc->lo_d[k], pc->hi_d[k]);
    }
    return true;
}

/* ---- witnesses ------------------------------------------------------------ */

static void free_contexts(checker *c)
{
    for (int k = 0; c->bs && k < c->n_b; k++)
        cert_bounds_free(c->bs[k]);
    cn_free(c->bs);
    c->bs = NULL;
    c->n_b = 0;
}

/* One bounds context per thread (in->threads, at least one). */
static bool make_contexts(checker *c)
{
    int n = c->in->threads > 1 ? c->in->threads : 1;
    if (!(c->bs = cn_calloc((size_t)n, sizeof *c->bs)))
        return nomem(c, "for the checker's bounds");
    for (c->n_b = 0; c->n_b < n; c->n_b++)
        if (!(c->bs[c->n_b] = cert_bounds_new(c->in->model, c->err))) {
            c->st = c->err ? c->err->status : CN_ENOMEM;
            free_contexts(c);
            return false;
        }
    return true;
}

static bool check_proof(checker *c, const char *where, const prop *p, const json_t *proof)
{
    if (!c->bs && !make_contexts(c))
        return false;
    for (int ci = 0; ci < prop_n_cases(p); ci++) {
        const json_t *tc = json_array_get(proof, (size_t)ci);
        cert_tree t;
        cert_tree_init(&t, ci);
        bool ok;
        char why[400];
        cn_status s = cert__tree_from_json(json_object_get(tc, "nodes"),
                                           net_n_relus(c->in->model), &t, &ok, why, sizeof why,
                                           c->err);
        if (s == CN_OK && !ok) {
            cert_tree_clear(&t);
            return fail(c, "%s.proof[%d].nodes: %s", where, ci, why);
        }
        const json_t *bounds = json_object_get(tc, "bounds");
        if (s == CN_OK && bounds) {
            s = cert__claims_from_json(bounds, net_n_relus(c->in->model), &t, &ok, why,
                                       sizeof why, c->err);
            if (s == CN_OK && !ok) {
                cert_tree_clear(&t);
                return fail(c, "%s.proof[%d].bounds: %s", where, ci, why);
            }
        }
        if (s == CN_OK)
            s = cert_check_tree_mt(c->bs, c->n_b, p, &t, &ok, why, sizeof why, &c->rep->stats,
                                   c->err);
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
    if (!cex_shape(c, where, n_in, cx))
        return false;
    int_at(cx, "case", 0, 1 << 30, &ci);
    int_at(cx, "disjunct", 0, 1 << 30, &di);
    mpq_t *x = cn_mallocarray((size_t)n_in, sizeof(mpq_t));
    if (!x)
        return nomem(c, "checking a counterexample");
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
            ok = fail(c, "%s.counterexample.x[%d]: not an exact number string", where, k);
    }
    if (ok) {
        cn_status s = prop_check_point(p, c->in->model, x, &chk, c->err);
        if (s != CN_OK) {
            c->st = s;
            ok = false;
        }
    }
    if (ok && !chk.violated)
        ok = fail(c, "%s.counterexample: the point is not in the region of any case or its "
                     "exact output meets no disjunct (closest slack %.17g)", where,
                  chk.worst_margin_d);
    if (ok && (chk.case_idx != ci || chk.disj_idx != di))
        ok = fail(c, "%s.counterexample: it meets case %d disjunct %d, the certificate says "
                     "case %d disjunct %d", where, chk.case_idx, chk.disj_idx, ci, di);
    if (ok && (int)json_array_size(ms) != chk.n_margin)
        ok = fail(c, "%s.counterexample.margins: %zu margins, the disjunct has %d atoms", where,
                  json_array_size(ms), chk.n_margin);
    for (int k = 0; ok && k < chk.n_margin; k++) {
        const char *s = json_string_value(json_array_get(ms, (size_t)k));
        if (!s || !cert__q_parse(s, m) || !mpq_equal(m, chk.margin[k]))
            ok = fail(c, "%s.counterexample.margins[%d]: differs from the exact slack %.17g",
                      where, k, mpq_get_d(chk.margin[k]));
    }
    prop_check_clear(&chk);
    mpq_clear(m);
    for (int k = 0; k < n_in; k++)
        mpq_clear(x[k]);
    cn_free(x);
    return ok;
}

/* One result (its shape already checked): its verdict and witness against p. */
static bool check_result(checker *c, const char *where, const prop *p, const json_t *r,
                         bool sweep)
{
    const char *v = str_at(r, "verdict");
    if (!strcmp(v, sweep ? "robust" : "unsat")) {
        if (!check_proof(c, where, p, json_object_get(r, "proof")))
            return false;
        c->rep->n_proven++;
    } else if (!strcmp(v, sweep ? "not-robust" : "sat")) {
        if (!check_cex(c, where, p, json_object_get(r, "counterexample")))
            return false;
        c->rep->n_cex++;
    } else {
        c->rep->n_open++;
    }
    return true;
}

/* ---- sweeps ------------------------------------------------------------------ */

/* A sweep entry's sample: index, label and pixels (pix [n_in]), matched
 * against the data file when one is given. */
static bool sweep_sample(checker *c, const char *where, const json_t *r, uint8_t *pix)
{
    int n_in = net_in_size(c->in->model), n_out = net_out_size(c->in->model), idx, label;
    const char *px = str_at(r, "pixels");
    if (!int_at(r, "index", 0, 1 << 30, &idx) || !int_at(r, "label", 0, n_out - 1, &label) ||
        !px)
        return fail(c, "%s: expected \"index\", \"label\" (an output) and \"pixels\"", where);
    if (!cert__unhex(px, pix, (size_t)n_in))
        return fail(c, "%s.pixels: must be %d bytes in lowercase hex", where, n_in);
    const ds_set *ds = c->in->data;
    if (ds && !ds->pixels) /* float data (decimal CSV, float .npy): no 8-bit samples */
        return fail(c, "%s: the data file %s holds float data; a certificate's samples are "
                       "8-bit pixels", where, c->in->data_path ? c->in->data_path : "");
    if (ds && (idx >= ds->n || ds->dim != n_in))
        return fail(c, "%s.index: sample %d is not in the data file %s (%d samples of %d "
                       "values)", where, idx, c->in->data_path ? c->in->data_path : "", ds->n,
                    ds->dim);
    if (ds && ds->labels[idx] != label)
        return fail(c, "%s.label: sample %d has label %d in the data file %s, the certificate "
                       "says %d", where, idx, ds->labels[idx],
                    c->in->data_path ? c->in->data_path : "", label);
    if (ds && memcmp(ds->pixels + (size_t)idx * (size_t)n_in, pix, (size_t)n_in) != 0)
        return fail(c, "%s.pixels: sample %d differs from the data file %s", where, idx,
                    c->in->data_path ? c->in->data_path : "");
    return true;
}

/* A sweep entry's property: the eps-ball of its pixels. */
static bool sweep_prop(checker *c, const uint8_t *pix, int label, const mpq_t eps, prop **p)
{
    int n_in = net_in_size(c->in->model), n_out = net_out_size(c->in->model);
    mpq_t *x0 = cn_mallocarray((size_t)n_in, sizeof(mpq_t));
    if (!x0)
        return nomem(c, "checking a sample");
    mpq_t lo, hi;
    mpq_init(lo);
    mpq_init(hi);
    mpq_set_ui(hi, 1, 1);
    for (int k = 0; k < n_in; k++) {
        mpq_init(x0[k]);
        mpq_set_ui(x0[k], pix[k], 255);
        mpq_canonicalize(x0[k]);
    }
    bool ok = true;
    cn_status s = prop_eps_ball(n_in, x0, eps, lo, hi, n_out, label, p, c->err);
    if (s != CN_OK) {
        c->st = s;
        ok = false;
    }
    for (int k = 0; k < n_in; k++)
        mpq_clear(x0[k]);
    cn_free(x0);
    mpq_clear(lo);
    mpq_clear(hi);
    return ok;
}

static bool check_sweep(checker *c, const json_t *sw, const json_t *results)
{
    const char *eps_s = str_at(sw, "eps");
    const json_t *data = json_object_get(sw, "data");
    const char *dsha = str_at(data, "sha256");
    const cert_check_in *in = c->in;
    int n_in = net_in_size(in->model), n_out = net_out_size(in->model);
    mpq_t eps;
    mpq_init(eps);
    bool ok = true;
    uint8_t *pix = NULL;
    if (!eps_s || !dsha || !str_at(data, "file") ||
        !cn_mpq_set_decimal(eps, eps_s, strlen(eps_s)) || mpq_sgn(eps) < 0)
        ok = fail(c, "sweep: expected \"data\" {\"file\", \"sha256\"} and \"eps\" (a decimal "
                     ">= 0)");
    if (ok && n_out < 2)
        ok = fail(c, "sweep: the model has %d output; a sweep needs two or more", n_out);
    if (ok && in->data_sha256 && strcmp(dsha, in->data_sha256) != 0)
        ok = fail(c, "sweep.data.sha256: SHA-256 differs: the certificate has %.16s..., the data "
                     "file %s %.16s...", dsha, in->data_path ? in->data_path : "",
                  in->data_sha256);
    c->rep->data = in->data ? CERT_BIND_MATCHED : CERT_BIND_UNMATCHED;
    if (ok && !(pix = cn_malloc((size_t)n_in + 1)))
        ok = nomem(c, "checking a sample");
    /* first every entry's shape and sample, then the re-proofs */
    char where[64];
    for (size_t i = 0; ok && i < json_array_size(results); i++) {
        snprintf(where, sizeof where, "results[%zu]", i);
        const json_t *r = json_array_get(results, i);
        ok = result_shape(c, where, r, true, 1, n_in) && sweep_sample(c, where, r, pix);
    }
    for (size_t i = 0; ok && i < json_array_size(results); i++) {
        const json_t *r = json_array_get(results, i);
        snprintf(where, sizeof where, "results[%zu] (sample %lld)", i,
                 (long long)json_integer_value(json_object_get(r, "index")));
        prop *p = NULL;
        int label = (int)json_integer_value(json_object_get(r, "label"));
        ok = sweep_sample(c, where, r, pix) && sweep_prop(c, pix, label, eps, &p) &&
             check_result(c, where, p, r, true);
        prop_free(p);
    }
    cn_free(pix);
    mpq_clear(eps);
    return ok;
}

/* ---- the document ----------------------------------------------------------- */

static bool check_property(checker *c, const json_t *pj, const json_t *results)
{
    const cert_check_in *in = c->in;
    const char *text = str_at(pj, "text"), *psha = str_at(pj, "sha256");
    const char *vname = in->vnnlib_path ? in->vnnlib_path : "the VNN-LIB file";
    if (!text || !psha || !str_at(pj, "file") || json_array_size(results) != 1)
        return fail(c, "property: expected \"file\", \"sha256\", \"text\" and one result");
    if (in->vnnlib_sha256 && strcmp(psha, in->vnnlib_sha256) != 0)
        return fail(c, "property.sha256: SHA-256 differs: the certificate has %.16s..., %s "
                       "%.16s...", psha, vname, in->vnnlib_sha256);
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
        return fail(c, "property.text: does not parse: %s", perr.msg);
    }
    bool ok = true;
    if (in->vnnlib && !prop_equal(p, in->vnnlib))
        ok = fail(c, "property.text: the property that was proven is not the property of %s "
                     "(%s)", vname, in->vnnlib_sha256 ? "whose SHA-256 the certificate names"
                                                      : "they differ");
    c->rep->property = in->vnnlib ? CERT_BIND_MATCHED : CERT_BIND_UNMATCHED;
    if (ok && (prop_n_in(p) != net_in_size(in->model) || prop_n_out(p) != net_out_size(in->model)))
        ok = fail(c, "property.text: the property has %d inputs and %d outputs, the model %d "
                     "and %d", prop_n_in(p), prop_n_out(p), net_in_size(in->model),
                  net_out_size(in->model));
    const json_t *r = json_array_get(results, 0);
    ok = ok && result_shape(c, "results[0]", r, false, prop_n_cases(p), prop_n_in(p));
    if (ok && json_object_get(r, "proof"))
        ok = finite_boxes(c, p);
    ok = ok && check_result(c, "results[0]", p, r, false);
    prop_free(p);
    return ok;
}

static bool check_doc(checker *c, const char *bytes, size_t len, json_t **root)
{
    json_error_t je;
    json_t *doc = json_loadb(bytes, len, JSON_REJECT_DUPLICATES, &je);
    *root = doc;
    /* jansson reports a failed allocation as out_of_memory, except its very
     * first one (the lexer's buffer), which leaves the error text empty */
    if (!doc && (json_error_code(&je) == json_error_out_of_memory || je.text[0] == '\0'))
        return nomem(c, "reading a certificate");
    if (!doc)
        return fail(c, "not a JSON document (line %d, column %d: %s)", je.line, je.column,
                    je.text);
    c->rep->parsed = true;
    char *canon = cert__canonical(doc);
    if (!canon)
        return nomem(c, "checking a certificate");
    size_t n = strlen(canon), at = 0;
    while (at < n && at < len && canon[at] == bytes[at])
        at++;
    bool canonical = at == n && len == n + 1 && bytes[n] == '\n';
    cert__free_dump(canon);
    if (!canonical)
        return fail(c, "not in canonical form (byte %zu differs; certificates are one line "
                       "of canonical JSON and a newline)", at);
    /* cert_screen verified the signature over the bytes of "signed" as they
     * stand; the file being canonical, they are canonical("signed") */
    const json_t *S = json_object_get(doc, "signed");
    size_t keys = json_is_object(doc) ? json_object_size(doc) : 0;
    if (!json_is_object(S) || keys != 1 + (json_object_get(doc, "signature") != NULL))
        return fail(c, "expected {\"signed\": {...}, \"signature\": {...}}");
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
        return fail(c, "model.sha256: SHA-256 differs: the certificate has %.16s..., the model "
                       "file %.16s...", msha, c->in->model_sha256);
    const json_t *pj = json_object_get(S, "property"), *sw = json_object_get(S, "sweep");
    const json_t *results = json_object_get(S, "results");
    if (!pj == !sw || !json_is_array(results))
        return fail(c, "expected \"results\" and exactly one of \"property\" and \"sweep\"");
    c->rep->n_results = (int)json_array_size(results);
    return pj ? check_property(c, pj, results) : check_sweep(c, sw, results);
}

cn_status cert_check_mem(const char *bytes, size_t len, const cert_check_in *in,
                         cert_report *rep, cn_err *err)
{
    CN_REQUIRE(bytes && in && in->model && in->model_sha256 && rep, "bytes, inputs, report");
    CN_REQUIRE(!in->vnnlib || in->vnnlib_sha256, "a property file comes with its hash");
    CN_REQUIRE(!in->data || in->data_sha256, "a data file comes with its hash");
    cert_report r;
    checker c = {.in = in, .rep = &r, .lim = limits_of(in), .err = err, .st = CN_OK};
    bool ok = cert_screen(bytes, len, in, &r);
    long nodes = ok ? count_nodes(bytes, len) : 0;
    if (ok && nodes > c.lim.max_nodes)
        ok = fail(&c, "results: the proof trees hold %ld nodes, more than the limit of %ld "
                      "(nothing was parsed; raise the limit to check this certificate)",
                  nodes, c.lim.max_nodes);
    json_t *root = NULL;
    ok = ok && check_doc(&c, bytes, len, &root);
    json_decref(root);
    free_contexts(&c);
    if (c.st != CN_OK)
        return c.st;
    r.valid = ok;
    *rep = r;
    return CN_OK;
}

/* ---- named files ------------------------------------------------------------ */

cn_status cert_named_file(const char *bytes, size_t len, const char *what, char **file,
                          cn_err *err)
{
    CN_REQUIRE(bytes && what && file, "bytes, what and output");
    /* "WHAT":{"file":"..." is a key of an object: in canonical JSON these
     * bytes cannot occur inside a string (its quotes would be escaped) */
    char key[64];
    int kn = snprintf(key, sizeof key, "\"%s\":{\"file\":\"", what);
    CN_REQUIRE(kn > 0 && (size_t)kn < sizeof key, "a short name");
    const char *p = NULL;
    for (const char *q = bytes, *end = bytes + len;
         (q = memchr(q, '"', (size_t)(end - q))) != NULL; q++)
        if ((size_t)(end - q) >= (size_t)kn && memcmp(q, key, (size_t)kn) == 0) {
            p = q + kn - 1;         /* the opening quote of the value */
            break;
        }
    /* the string ends at the first quote not escaped by a backslash */
    const char *e = p ? p + 1 : NULL, *end = bytes + len;
    while (e && e < end && *e != '"')
        e += *e == '\\' && e + 1 < end ? 2 : 1;
    if (!p || !e || e >= end)
        return cn_fail(err, CN_EPARSE, "the certificate names no %s file", what);
    json_error_t je;
    json_t *s = json_loadb(p, (size_t)(e + 1 - p), JSON_DECODE_ANY, &je);
    const char *v = json_string_value(s);
    cn_status st = CN_OK;
    if (!v || !*v || strlen(v) != json_string_length(s))
        st = cn_fail(err, CN_EPARSE, "the certificate's %s file name is not a valid string",
                     what);
    else if (!(*file = cn_strdup(v)))
        st = cn_fail(err, CN_ENOMEM, "out of memory");
    json_decref(s);
    return st;
}

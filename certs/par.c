/* par.c — the JSON form of a refutation's bound parameters (certs.h,
 * cert_par): an item of a node's refutation list is the integer d (plain
 * CROWN) or
 *   ["ab", d, k, ALPHA, [[j, "BETA"], ...]]
 * ALPHA: one slope q per ReLU of the network (global order), q in
 * 0..CERT_ALPHA_DEN (the slope q / CERT_ALPHA_DEN, exact in binary) or
 * CERT_ALPHA_DEFAULT (the checker's default slope), spelt as certs.h
 * section 1 says (cert_alpha_string, cert_alpha_parse: "" when every
 * slope is the default, 2 hex digits per ReLU when none is, else runs
 * "SKIP:HEX" separated by ","); BETA: a hex float (cert_hexd) >= 0,
 * the multiplier of the split of ReLU j on the node's root path.  Values
 * are checked for range here only as far as the syntax goes; the checker
 * (tree.c) refuses a slope above 1, a negative or non-finite multiplier
 * and a j not split on the path.
 *   ["lp", d, "Y"]
 * Y: the multipliers of the canonical LP (certs.h section 3, "LP
 * refutations"), separated by ",", each a hex float (cert_hexd) or the
 * empty string for 0 (most are 0, and this keeps them one byte).  The
 * checker (lpcheck.c) refuses a count other than the LP's rows, and a
 * negative multiplier of an inequality. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "certs/certs_int.h"

static bool push(json_t *a, json_t *v) { return v && json_array_append_new(a, v) == 0; }

/* Y of an "lp" item (cn_free), or NULL without memory. */
static char *lp_string(const cert_par *p)
{
    size_t cap = (size_t)p->n_dual * 26 + 1, len = 0;   /* "%a" of a double: <= 24 */
    char *y = cn_mallocarray(cap, 1);
    if (!y)
        return NULL;
    for (int r = 0; r < p->n_dual; r++) {
        if (r > 0)
            y[len++] = ',';
        if (p->dual[r] != 0.0) {
            char buf[40];
            cert_hexd(p->dual[r], buf);
            size_t n = strlen(buf);
            memcpy(y + len, buf, n);
            len += n;
        }
    }
    y[len] = '\0';
    return y;
}

/* Parses Y of an "lp" item into p (n_dual, dual); false when malformed,
 * CN_ENOMEM in *st. */
static bool lp_parse(const char *y, cert_par *p, cn_status *st, cn_err *err)
{
    size_t n = 1;
    for (const char *c = y; *c; c++)
        n += *c == ',';
    if (n > 100000000)
        return false;
    p->dual = cn_mallocarray(n, sizeof(double));
    if (!p->dual) {
        *st = cn_fail(err, CN_ENOMEM, "out of memory reading a certificate's LP multipliers");
        return false;
    }
    p->n_dual = (int)n;
    const char *c = y;
    for (size_t r = 0; r < n; r++) {
        const char *e = strchr(c, ',');
        size_t len = e ? (size_t)(e - c) : strlen(c);
        char buf[40];
        if (len >= sizeof buf)
            return false;
        memcpy(buf, c, len);
        buf[len] = '\0';
        if (len == 0)
            p->dual[r] = 0.0;
        else if (!cert_parse_hexd(buf, &p->dual[r]) || p->dual[r] == 0.0)
            return false;                         /* one spelling per value: 0 is "" */
        c = e ? e + 1 : c + len;
    }
    return true;
}

char *cert_alpha_string(const unsigned char *q, int n)
{
    CN_REQUIRE(n >= 0 && (n == 0 || q), "slopes");
    int n_def = 0;
    for (int j = 0; j < n; j++)
        n_def += q[j] == CERT_ALPHA_DEFAULT;
    /* dense: 2n digits; sparse: at most 2 per explicit slope and, per run,
     * ",", ":" and a count of at most 10 digits (at most n runs) */
    size_t cap = n_def == 0 ? (size_t)n * 2 + 1 : (size_t)n * 14 + 1;
    char *s = cn_mallocarray(cap, 1);
    if (!s)
        return NULL;
    if (n_def == 0 || n_def == n) {
        if (n_def == 0)
            cert__hex(q, (size_t)n, s);
        else
            s[0] = '\0';
        return s;
    }
    size_t len = 0;
    int j = 0;
    while (j < n) {
        int skip = 0;
        while (j < n && q[j] == CERT_ALPHA_DEFAULT) {
            skip++;
            j++;
        }
        if (j == n)
            break;                              /* trailing defaults: omitted */
        len += (size_t)snprintf(s + len, cap - len, "%s%d:", len ? "," : "", skip);
        int e = j;
        while (e < n && q[e] != CERT_ALPHA_DEFAULT)
            e++;
        cert__hex(q + j, (size_t)(e - j), s + len);
        len += 2 * (size_t)(e - j);
        j = e;
    }
    s[len] = '\0';
    return s;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

bool cert_alpha_parse(const char *s, int n, unsigned char *q, char *why, size_t why_len)
{
    CN_REQUIRE(s && n >= 0 && (n == 0 || q) && why && why_len > 0, "a string and room");
    size_t len = strlen(s);
    if (len == 0) {
        memset(q, CERT_ALPHA_DEFAULT, (size_t)n);
        return true;
    }
    if (!strchr(s, ':')) {                      /* dense: no slope is the default */
        if (len != 2 * (size_t)n) {
            snprintf(why, why_len, "%zu hex digits for %d ReLUs (2 each)", len, n);
            return false;
        }
        for (int j = 0; j < n; j++) {
            int hi = hexval(s[2 * j]), lo = hexval(s[2 * j + 1]);
            if (hi < 0 || lo < 0) {
                snprintf(why, why_len, "slope of ReLU %d is not 2 lowercase hex digits", j);
                return false;
            }
            q[j] = (unsigned char)(16 * hi + lo);
            if (q[j] > CERT_ALPHA_DEN) {
                snprintf(why, why_len, "slope of ReLU %d is %d/%d, above 1", j, q[j],
                         CERT_ALPHA_DEN);
                return false;
            }
        }
        return true;
    }
    memset(q, CERT_ALPHA_DEFAULT, (size_t)n);
    const char *c = s;
    long j = 0;
    bool any_default = false;
    for (int run = 0;; run++) {
        /* SKIP: decimal, no leading zero, >= 1 after the first run */
        long skip = 0;
        const char *d0 = c;
        while (*c >= '0' && *c <= '9' && c - d0 < 10)
            skip = 10 * skip + (*c++ - '0');
        if (c == d0 || *c != ':' || (c - d0 > 1 && *d0 == '0')) {
            snprintf(why, why_len, "run %d: expected SKIP:HEX (SKIP a decimal count without "
                     "leading zeros)", run);
            return false;
        }
        if (run > 0 && skip == 0) {
            snprintf(why, why_len, "run %d: skips 0 ReLUs (not the shortest spelling: "
                     "join it to the run before)", run);
            return false;
        }
        c++;
        if (skip > n - j) {
            snprintf(why, why_len, "run %d: skips past the last ReLU (%ld + %ld > %d)", run, j,
                     skip, n);
            return false;
        }
        any_default |= skip > 0;
        j += skip;
        const char *h0 = c;
        while (hexval(c[0]) >= 0 && hexval(c[1]) >= 0) {
            if (j >= n) {
                snprintf(why, why_len, "run %d: slopes past the last ReLU (%d)", run, n);
                return false;
            }
            q[j] = (unsigned char)(16 * hexval(c[0]) + hexval(c[1]));
            if (q[j] > CERT_ALPHA_DEN) {
                snprintf(why, why_len, "slope of ReLU %ld is %d/%d, above 1", j, q[j],
                         CERT_ALPHA_DEN);
                return false;
            }
            j++;
            c += 2;
        }
        if (c == h0 || (*c != ',' && *c != '\0')) {
            snprintf(why, why_len, "run %d: expected pairs of lowercase hex digits, then ',' "
                     "or the end", run);
            return false;
        }
        if (*c == '\0')
            break;
        c++;
    }
    if (!any_default && j == n) {
        snprintf(why, why_len, "no slope is the default: the shortest spelling is 2 hex "
                 "digits per ReLU");
        return false;
    }
    return true;
}

json_t *cert__par_to_json(int disj, const cert_par *p)
{
    json_t *a = json_array();
    if (!a)
        return NULL;
    bool ok = true;
    if (p->kind == CERT_PAR_AB) {
        ok = push(a, json_string("ab")) && push(a, json_integer(disj)) &&
             push(a, json_integer(p->atom));
        char *hex = ok ? cert_alpha_string(p->alpha, p->n_alpha) : NULL;
        ok = ok && hex && push(a, json_string(hex));
        cn_free(hex);
        json_t *bl = ok ? json_array() : NULL;
        ok = ok && bl && push(a, bl);
        for (int t = 0; ok && t < p->n_beta; t++) {
            char buf[40];
            cert_hexd(p->beta[t], buf);
            json_t *e = json_array();
            ok = e && push(bl, e) && push(e, json_integer(p->beta_j[t])) &&
                 push(e, json_string(buf));
        }
    } else if (p->kind == CERT_PAR_LP) {
        ok = push(a, json_string("lp")) && push(a, json_integer(disj));
        char *y = ok ? lp_string(p) : NULL;
        ok = ok && y && push(a, json_string(y));
        cn_free(y);
    } else {
        ok = false;
    }
    if (!ok) {
        json_decref(a);
        return NULL;
    }
    return a;
}

static bool int_at(const json_t *a, size_t i, int *out)
{
    const json_t *v = json_array_get(a, i);
    if (!json_is_integer(v))
        return false;
    json_int_t x = json_integer_value(v);
    if (x < 0 || x > 1000000000)
        return false;
    *out = (int)x;
    return true;
}

bool cert__par_disj(const json_t *item, int *disj)
{
    if (!json_is_array(item) || json_array_size(item) < 3)
        return false;
    const char *tag = json_string_value(json_array_get(item, 0));
    if (!tag || (strcmp(tag, "ab") != 0 && strcmp(tag, "lp") != 0))
        return false;
    return int_at(item, 1, disj);
}

cn_status cert__par_from_json(const json_t *item, int n_relus, cert_par *p, char *why,
                              size_t why_len, cn_err *err)
{
    memset(p, 0, sizeof *p);
    const char *tag = json_string_value(json_array_get(item, 0));
    int d;
    if (tag && strcmp(tag, "lp") == 0) {
        const char *y = json_string_value(json_array_get(item, 2));
        cn_status st = CN_OK;
        if (json_array_size(item) != 3 || !int_at(item, 1, &d) || !y) {
            snprintf(why, why_len, "expected [\"lp\", d, \"Y\"]");
            return CN_OK;
        }
        if (!lp_parse(y, p, &st, err)) {
            cert_par_clear(p);
            if (st == CN_OK)
                snprintf(why, why_len, "\"lp\": Y is not a list of hex floats separated by ','");
            return st;
        }
        p->kind = CERT_PAR_LP;
        return CN_OK;
    }
    if (!tag || strcmp(tag, "ab") != 0 || json_array_size(item) != 5 || !int_at(item, 1, &d) ||
        !int_at(item, 2, &p->atom)) {
        snprintf(why, why_len, "expected [\"ab\", d, k, ALPHA, BETAS]");
        return CN_OK;
    }
    const char *hex = json_string_value(json_array_get(item, 3));
    const json_t *bl = json_array_get(item, 4);
    if (!hex || !json_is_array(bl) || json_array_size(bl) > 100000000) {
        snprintf(why, why_len, "\"ab\": ALPHA must be a string, BETAS a list");
        return CN_OK;
    }
    p->n_alpha = hex[0] ? n_relus : 0;          /* "": every slope the default */
    p->n_beta = (int)json_array_size(bl);
    p->alpha = p->n_alpha ? cn_mallocarray((size_t)p->n_alpha, 1) : NULL;
    p->beta_j = p->n_beta ? cn_mallocarray((size_t)p->n_beta, sizeof(int)) : NULL;
    p->beta = p->n_beta ? cn_mallocarray((size_t)p->n_beta, sizeof(double)) : NULL;
    if ((p->n_alpha && !p->alpha) || (p->n_beta && (!p->beta_j || !p->beta))) {
        cert_par_clear(p);
        return cn_fail(err, CN_ENOMEM, "out of memory reading a certificate's slopes");
    }
    char aw[120];
    bool ok = p->n_alpha == 0 || cert_alpha_parse(hex, p->n_alpha, p->alpha, aw, sizeof aw);
    if (!ok)
        snprintf(why, why_len, "\"ab\": ALPHA: %s", aw);
    for (int t = 0; ok && t < p->n_beta; t++) {
        const json_t *e = json_array_get(bl, (size_t)t);
        ok = json_is_array(e) && json_array_size(e) == 2 && int_at(e, 0, &p->beta_j[t]) &&
             json_is_string(json_array_get(e, 1)) &&
             cert_parse_hexd(json_string_value(json_array_get(e, 1)), &p->beta[t]);
        if (!ok)
            snprintf(why, why_len, "\"ab\": multiplier %d is not [j, \"hex float\"]", t);
    }
    if (!ok) {
        cert_par_clear(p);
        return CN_OK;
    }
    p->kind = CERT_PAR_AB;
    return CN_OK;
}

json_t *cert__claims_to_json(const cert_tree *t)
{
    json_t *a = json_array();
    bool ok = a != NULL;
    for (int k = 0; ok && k < t->n_claims; k++) {
        const cert_claim *c = &t->claims[k];
        char lb[40];
        cert_hexd(c->lb, lb);
        char *hex = cert_alpha_string(c->q, c->n_q);
        json_t *e = json_array();
        ok = hex && e && push(a, e) && push(e, json_integer(c->layer)) &&
             push(e, json_integer(c->neuron)) && push(e, json_integer(c->sgn)) &&
             push(e, json_string(lb)) && push(e, json_string(hex));
        cn_free(hex);
    }
    if (!ok) {
        json_decref(a);
        return NULL;
    }
    return a;
}

cn_status cert__claims_from_json(const json_t *a, int n_relus, cert_tree *t, bool *ok,
                                 char *why, size_t why_len, cn_err *err)
{
    *ok = false;
    if (!json_is_array(a)) {
        snprintf(why, why_len, "\"bounds\" is not a list");
        return CN_OK;
    }
    unsigned char *q = NULL;
    for (size_t k = 0; k < json_array_size(a); k++) {
        const json_t *e = json_array_get(a, k);
        int layer, neuron;
        json_int_t sg = 0;
        double lb;
        const char *hex = json_string_value(json_array_get(e, 4));
        const json_t *sv = json_array_get(e, 2);
        bool good = json_is_array(e) && json_array_size(e) == 5 && int_at(e, 0, &layer) &&
                    int_at(e, 1, &neuron) && json_is_integer(sv) &&
                    ((sg = json_integer_value(sv)) == 1 || sg == -1) &&
                    json_is_string(json_array_get(e, 3)) &&
                    cert_parse_hexd(json_string_value(json_array_get(e, 3)), &lb) && hex;
        if (!good) {
            cn_free(q);
            snprintf(why, why_len, "bound %zu: expected [layer, neuron, 1 or -1, \"hex float\", "
                                   "\"slopes\"]", k);
            return CN_OK;
        }
        if (!q && !(q = cn_mallocarray((size_t)n_relus + 1, 1)))
            return cn_fail(err, CN_ENOMEM, "out of memory reading a certificate's bounds");
        char aw[120];
        if (!cert_alpha_parse(hex, n_relus, q, aw, sizeof aw)) {
            cn_free(q);
            snprintf(why, why_len, "bound %zu: %s", k, aw);
            return CN_OK;
        }
        cn_status s = cert_tree_add_claim(t, layer, neuron, (int)sg, lb, n_relus, q, err);
        if (s != CN_OK) {
            cn_free(q);
            return s;
        }
    }
    cn_free(q);
    *ok = true;
    return CN_OK;
}

/* vnnlib_dnf.c — step 3 of the VNN-LIB reader (vnnlib.c): linear terms
 * (numbers, X_i/Y_j, +, -, *, / by constants) read exactly, comparisons
 * as atoms  sum c_k v_k <= rhs  over inputs only or outputs only, and
 * and/or formulas brought to disjunctive normal form within the limits. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "models/vnnlib_int.h"

/* ------------------------------------------------------------------------ */
/* Linear expressions                                                        */
/* ------------------------------------------------------------------------ */

/* sum coef[k] * var(key[k]) + c, keys sorted; key = 2*index + (Y ? 1 : 0). */
typedef struct {
    int n, cap;
    int *key;
    mpq_t *coef;
    mpq_t c;
} lexpr;

static void lx_init(lexpr *e)
{
    memset(e, 0, sizeof *e);
    mpq_init(e->c);
}

static void lx_clear(lexpr *e)
{
    for (int k = 0; k < e->n; k++)
        mpq_clear(e->coef[k]);
    cn_free(e->key);
    cn_free(e->coef);
    mpq_clear(e->c);
}

/* e += a * var(key) */
static bool lx_add_term(lexpr *e, int key, const mpq_t a)
{
    if (mpq_sgn(a) == 0)
        return true;
    int lo = 0, hi = e->n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (e->key[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < e->n && e->key[lo] == key) {
        mpq_add(e->coef[lo], e->coef[lo], a);
        if (mpq_sgn(e->coef[lo]) == 0) {
            mpq_clear(e->coef[lo]);
            memmove(e->key + lo, e->key + lo + 1, (size_t)(e->n - lo - 1) * sizeof(int));
            memmove(e->coef + lo, e->coef + lo + 1, (size_t)(e->n - lo - 1) * sizeof(mpq_t));
            e->n--;
        }
        return true;
    }
    if (e->n == e->cap) {
        int cap = e->cap ? 2 * e->cap : 4;
        int *key2 = cn_reallocarray(e->key, (size_t)cap, sizeof(int));
        if (!key2)
            return false;
        e->key = key2;
        mpq_t *coef2 = cn_reallocarray(e->coef, (size_t)cap, sizeof(mpq_t));
        if (!coef2)
            return false;
        e->coef = coef2;
        e->cap = cap;
    }
    memmove(e->key + lo + 1, e->key + lo, (size_t)(e->n - lo) * sizeof(int));
    memmove(e->coef + lo + 1, e->coef + lo, (size_t)(e->n - lo) * sizeof(mpq_t));
    e->key[lo] = key;
    mpq_init(e->coef[lo]);
    mpq_set(e->coef[lo], a);
    e->n++;
    return true;
}

/* e += s * f  (s = +1 or -1) */
static bool lx_add(lexpr *e, const lexpr *f, int s)
{
    mpq_t t;
    mpq_init(t);
    bool ok = true;
    for (int k = 0; k < f->n && ok; k++) {
        mpq_set(t, f->coef[k]);
        if (s < 0)
            mpq_neg(t, t);
        ok = lx_add_term(e, f->key[k], t);
    }
    mpq_clear(t);
    if (s < 0)
        mpq_sub(e->c, e->c, f->c);
    else
        mpq_add(e->c, e->c, f->c);
    return ok;
}

static void lx_scale(lexpr *e, const mpq_t a)
{
    if (mpq_sgn(a) == 0) {
        for (int k = 0; k < e->n; k++)
            mpq_clear(e->coef[k]);
        e->n = 0;
    }
    for (int k = 0; k < e->n; k++)
        mpq_mul(e->coef[k], e->coef[k], a);
    mpq_mul(e->c, e->c, a);
}

/* A numeric literal: decimal or scientific, with an optional sign. */
static int number(const vp *v, int k, mpq_t q)
{
    const sx *n = &v->nodes[k];
    const char *s = v->text + n->off;
    size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    if (n->list || i >= n->len ||
        !((s[i] >= '0' && s[i] <= '9') || (s[i] == '.' && i + 1 < n->len && s[i + 1] >= '0' &&
                                           s[i + 1] <= '9')))
        return 0;                     /* not meant as a number */
    /* bound the exponent: 1e99999 is legal for cn_mpq_set_decimal but huge */
    for (size_t j = 0; j < n->len; j++)
        if (s[j] == 'e' || s[j] == 'E') {
            size_t d = j + 1;
            if (d < n->len && (s[d] == '-' || s[d] == '+'))
                d++;
            while (d < n->len && s[d] == '0')
                d++;
            if (n->len - d > MAX_EXP_DIGITS - 1)
                return -2;
        }
    return cn_mpq_set_decimal(q, s, n->len) ? 1 : -1;
}

static cn_status term(vp *v, int k, lexpr *out);

/* out = value of the term at node k (out is initialised and zero). */
static cn_status term(vp *v, int k, lexpr *out)
{
    const sx *n = &v->nodes[k];
    char b[64];
    if (!n->list) {
        int r = number(v, k, out->c);
        if (r == 1)
            return CN_OK;
        if (r == -1)
            return FAIL_AT(v, CN_EPARSE, k, "malformed number '%s'",
                           vnl__tok(v, k, b, sizeof b));
        if (r == -2)
            return FAIL_AT(v, CN_EUNSUPPORTED, k, "exponent of '%s' is out of range",
                           vnl__tok(v, k, b, sizeof b));
        int idx, kind = vnl__var_name(v, k, &idx);
        if (!kind)
            return FAIL_AT(v, CN_EPARSE, k,
                           "unknown symbol '%s': expected a number or a variable X_i / Y_i",
                           vnl__tok(v, k, b, sizeof b));
        bool y = kind == 'Y';
        if (idx >= (y ? v->ny : v->nx) || !(y ? v->ydecl : v->xdecl)[idx])
            return FAIL_AT(v, CN_EPARSE, k, "undeclared variable %c_%d", kind, idx);
        mpq_t one;
        mpq_init(one);
        mpq_set_ui(one, 1, 1);
        bool ok = lx_add_term(out, 2 * idx + y, one);
        mpq_clear(one);
        return ok ? CN_OK : vnl__nomem(v);
    }
    if (n->n == 0)
        return FAIL_AT(v, CN_EPARSE, k, "expected a term, got ()");
    int head = n->child;
    if (v->nodes[head].list)
        return FAIL_AT(v, CN_EPARSE, head, "expected a function symbol (+, -, *, /)");
    int op = vnl__atom_is(v, head, "+") ? '+' : vnl__atom_is(v, head, "-") ? '-'
           : vnl__atom_is(v, head, "*") ? '*' : vnl__atom_is(v, head, "/") ? '/' : 0;
    if (!op) {
        static const char *const cmp[] = {"<=", ">=", "<", ">", "=", "and", "or", "not", NULL};
        for (int i = 0; cmp[i]; i++)
            if (vnl__atom_is(v, head, cmp[i]))
                return FAIL_AT(v, CN_EPARSE, head,
                               "expected a term, got the formula operator '%s'", cmp[i]);
        return FAIL_AT(v, CN_EUNSUPPORTED, head,
                       "unsupported function '%s' in a term: expected +, -, * or /",
                       vnl__tok(v, head, b, sizeof b));
    }
    if (n->n < 2 || (op == '/' && n->n < 3))
        return FAIL_AT(v, CN_EPARSE, head, "'%c' needs %s", op,
                       op == '/' ? "two or more arguments" : "at least one argument");
    cn_status st = CN_OK;
    lexpr t;
    lx_init(&t);
    int i = 0;
    bool linear_seen = false;
    mpq_set_ui(out->c, op == '*' ? 1 : 0, 1);
    for (int a = v->nodes[head].next; a >= 0; a = v->nodes[a].next, i++) {
        lx_clear(&t);
        lx_init(&t);
        if ((st = term(v, a, &t)) != CN_OK)
            goto done;
        switch (op) {
        case '+':
            if (!lx_add(out, &t, +1))
                goto oom;
            break;
        case '-':
            if (!lx_add(out, &t, (i == 0 && n->n > 2) ? +1 : -1))
                goto oom;
            break;
        case '*':
            if (t.n > 0) {
                if (linear_seen || out->n > 0) {
                    st = FAIL_AT(v, CN_EUNSUPPORTED, a,
                                 "non-linear product: at most one factor of '*' may contain "
                                 "variables");
                    goto done;
                }
                linear_seen = true;
                /* out = out.c * t */
                lx_scale(&t, out->c);
                mpq_set_ui(out->c, 0, 1);
                if (!lx_add(out, &t, +1))
                    goto oom;
            } else {
                lx_scale(out, t.c);
            }
            break;
        case '/':
            if (i == 0) {
                if (!lx_add(out, &t, +1))
                    goto oom;
            } else if (t.n > 0) {
                st = FAIL_AT(v, CN_EUNSUPPORTED, a,
                             "non-linear term: division by an expression with variables");
                goto done;
            } else if (mpq_sgn(t.c) == 0) {
                st = FAIL_AT(v, CN_EPARSE, a, "division by zero");
                goto done;
            } else {
                mpq_inv(t.c, t.c);
                lx_scale(out, t.c);
            }
            break;
        }
    }
    goto done;
oom:
    st = vnl__nomem(v);
done:
    lx_clear(&t);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Formulas and DNF                                                          */
/* ------------------------------------------------------------------------ */

void vnl__dnf_free(dnf *d)
{
    cn_free(d->start);
    cn_free(d->at);
    memset(d, 0, sizeof *d);
}

static bool dnf_alloc(dnf *d, size_t n, size_t atoms)
{
    d->start = cn_mallocarray(n + 1, sizeof(size_t));
    d->at = cn_mallocarray(atoms ? atoms : 1, sizeof(int));
    if (!d->start || !d->at) {
        vnl__dnf_free(d);
        return false;
    }
    d->n = n;
    d->start[0] = 0;
    return true;
}

/* Makes the atom (sum of e's terms) <= -e.c, checking it is over X only or Y only. */
static cn_status make_atom(vp *v, int node, const lexpr *e, int *id)
{
    char b[64];
    if (e->n == 0)
        return FAIL_AT(v, CN_EUNSUPPORTED, node,
                       "comparison without variables (constant true or false) is not supported");
    bool y = e->key[0] & 1;
    for (int k = 1; k < e->n; k++)
        if ((e->key[k] & 1) != y) {
            int xi = -1, yi = -1;
            for (int j = 0; j < e->n; j++) {
                if ((e->key[j] & 1) && yi < 0)
                    yi = e->key[j] >> 1;
                if (!(e->key[j] & 1) && xi < 0)
                    xi = e->key[j] >> 1;
            }
            return FAIL_AT(v, CN_EUNSUPPORTED, node,
                           "comparison '%s' mixes inputs (X_%d) and outputs (Y_%d); certnn "
                           "supports constraints over inputs only or outputs only",
                           vnl__tok(v, v->nodes[node].child, b, sizeof b), xi, yi);
        }
    if (!vnl__grow((void **)&v->atoms, &v->cap_atoms, v->n_atoms + 1, sizeof(patom)))
        return vnl__nomem(v);
    patom *a = &v->atoms[v->n_atoms];
    if (!prop__lin_init(&a->lin, e->n))
        return vnl__nomem(v);
    for (int k = 0; k < e->n; k++) {
        a->lin.var[k] = e->key[k] >> 1;
        mpq_set(a->lin.coef[k], e->coef[k]);
    }
    mpq_neg(a->lin.rhs, e->c);
    a->is_y = y;
    a->line = v->nodes[node].line;
    a->col = v->nodes[node].col;
    *id = v->n_atoms++;
    return CN_OK;
}

/* (<= a b c ...) / (>= ...): one term of chained atoms. */
static cn_status comparison(vp *v, int node, bool le, dnf *out)
{
    const sx *n = &v->nodes[node];
    if (n->n < 3)
        return FAIL_AT(v, CN_EPARSE, node, "'%s' needs two or more arguments",
                       le ? "<=" : ">=");
    int na = n->n - 1;
    lexpr *t = cn_calloc((size_t)na, sizeof(lexpr));
    if (!t)
        return vnl__nomem(v);
    int done = 0;
    cn_status st = CN_OK;
    int a = v->nodes[n->child].next;
    for (; a >= 0; a = v->nodes[a].next) {
        lx_init(&t[done++]);
        if ((st = term(v, a, &t[done - 1])) != CN_OK)
            goto out;
    }
    if (!dnf_alloc(out, 1, (size_t)(na - 1))) {
        st = vnl__nomem(v);
        goto out;
    }
    out->start[1] = (size_t)(na - 1);
    for (int i = 0; i + 1 < na; i++) {
        /* le: t_i - t_{i+1} <= 0;  ge: t_{i+1} - t_i <= 0 */
        lexpr e;
        lx_init(&e);
        bool ok = lx_add(&e, &t[le ? i : i + 1], +1) && lx_add(&e, &t[le ? i + 1 : i], -1);
        int id = -1;
        st = ok ? make_atom(v, node, &e, &id) : vnl__nomem(v);
        lx_clear(&e);
        if (st != CN_OK) {
            vnl__dnf_free(out);
            goto out;
        }
        out->at[i] = id;
    }
out:
    for (int i = 0; i < done; i++)
        lx_clear(&t[i]);
    cn_free(t);
    return st;
}

static cn_status too_many_terms(vp *v, int node)
{
    return FAIL_AT(v, CN_ELIMIT, node,
                   "the formula has more than %zu terms in disjunctive normal form (limit)",
                   v->max_terms);
}

static cn_status too_large(vp *v, int node)
{
    return FAIL_AT(v, CN_ELIMIT, node,
                   "the formula's disjunctive normal form has more than %zu atom occurrences",
                   MAX_ATOM_REFS);
}

/* OR: concatenation. */
static cn_status dnf_or(vp *v, int node, dnf *ch, int nch, dnf *out)
{
    size_t n = 0, atoms = 0;
    for (int i = 0; i < nch; i++) {
        n += ch[i].n;
        atoms += ch[i].start[ch[i].n];
        if (n > v->max_terms)
            return too_many_terms(v, node);
        if (atoms > MAX_ATOM_REFS)
            return too_large(v, node);
    }
    if (!dnf_alloc(out, n, atoms))
        return vnl__nomem(v);
    size_t t = 0, p = 0;
    for (int i = 0; i < nch; i++) {
        for (size_t j = 0; j < ch[i].n; j++) {
            for (size_t q = ch[i].start[j]; q < ch[i].start[j + 1]; q++)
                out->at[p++] = ch[i].at[q];
            out->start[++t] = p;
        }
    }
    return CN_OK;
}

/* AND: the product, first child outermost (so the result lists terms in
 * the order of a nested loop over the children). */
cn_status vnl__dnf_and(vp *v, int node, dnf *ch, int nch, dnf *out)
{
    size_t n = 1;
    for (int i = 0; i < nch; i++) {
        if (ch[i].n == 0) {
            n = 0;
            break;
        }
        if (n > v->max_terms / ch[i].n)
            return too_many_terms(v, node);
        n *= ch[i].n;
    }
    /* atom occurrences: child i's atoms each appear n / n_i times */
    size_t atoms = 0;
    for (int i = 0; i < nch && n > 0; i++) {
        size_t a = ch[i].start[ch[i].n], rep = n / ch[i].n;
        if (a && rep > MAX_ATOM_REFS / a)
            return too_large(v, node);
        atoms += a * rep;
        if (atoms > MAX_ATOM_REFS)
            return too_large(v, node);
    }
    size_t *sel = cn_calloc((size_t)(nch ? nch : 1), sizeof(size_t));
    if (!sel || !dnf_alloc(out, n, atoms)) {
        cn_free(sel);
        return vnl__nomem(v);
    }
    size_t p = 0;
    for (size_t t = 0; t < n; t++) {
        for (int i = 0; i < nch; i++)
            for (size_t q = ch[i].start[sel[i]]; q < ch[i].start[sel[i] + 1]; q++)
                out->at[p++] = ch[i].at[q];
        out->start[t + 1] = p;
        for (int i = nch - 1; i >= 0; i--) {     /* mixed-radix increment */
            if (++sel[i] < ch[i].n)
                break;
            sel[i] = 0;
        }
    }
    cn_free(sel);
    return CN_OK;
}

/* Evaluates the children of list k starting at node first into DNFs and
 * combines them with AND or OR. */
static cn_status combine(vp *v, int k, int first, int nch, bool is_and, dnf *out)
{
    dnf *ch = cn_calloc((size_t)(nch ? nch : 1), sizeof(dnf));
    if (!ch)
        return vnl__nomem(v);
    cn_status st = CN_OK;
    int i = 0;
    for (int a = first; a >= 0; a = v->nodes[a].next, i++)
        if ((st = vnl__formula(v, a, &ch[i])) != CN_OK)
            goto done;
    st = is_and ? vnl__dnf_and(v, k, ch, nch, out) : dnf_or(v, k, ch, nch, out);
done:
    for (int j = 0; j < nch; j++)
        vnl__dnf_free(&ch[j]);
    cn_free(ch);
    return st;
}

cn_status vnl__formula(vp *v, int k, dnf *out)
{
    const sx *n = &v->nodes[k];
    char b[64];
    if (!n->list)
        return FAIL_AT(v, CN_EPARSE, k,
                       "expected a formula (and, or, <=, >=), got '%s'",
                       vnl__tok(v, k, b, sizeof b));
    if (n->n == 0 || v->nodes[n->child].list)
        return FAIL_AT(v, CN_EPARSE, k, "expected a formula (and, or, <=, >=)");
    int h = n->child;
    if (vnl__atom_is(v, h, "and"))
        return combine(v, k, v->nodes[h].next, n->n - 1, true, out);
    if (vnl__atom_is(v, h, "or")) {
        if (n->n == 1)
            return FAIL_AT(v, CN_EUNSUPPORTED, k,
                           "empty (or) is the constant false; not supported");
        return combine(v, k, v->nodes[h].next, n->n - 1, false, out);
    }
    if (vnl__atom_is(v, h, "<=") || vnl__atom_is(v, h, ">="))
        return comparison(v, k, vnl__atom_is(v, h, "<="), out);
    if (vnl__atom_is(v, h, "<") || vnl__atom_is(v, h, ">"))
        return FAIL_AT(v, CN_EUNSUPPORTED, h,
                       "strict comparison '%s' is not supported (use <= or >=)",
                       vnl__tok(v, h, b, sizeof b));
    if (vnl__atom_is(v, h, "="))
        return FAIL_AT(v, CN_EUNSUPPORTED, h,
                       "equality '=' is not supported (write (<= a b) and (>= a b))");
    static const char *const unsup[] = {"distinct", "not", "=>", "xor", "ite", "let",
                                        "forall", "exists", "true", "false", NULL};
    for (int i = 0; unsup[i]; i++)
        if (vnl__atom_is(v, h, unsup[i]))
            return FAIL_AT(v, CN_EUNSUPPORTED, h,
                           "'%s' is not supported (VNN-LIB properties use and, or, <=, >=)",
                           unsup[i]);
    return FAIL_AT(v, CN_EPARSE, h, "unknown symbol '%s': expected and, or, <= or >=",
                   vnl__tok(v, h, b, sizeof b));
}


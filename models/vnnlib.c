/* vnnlib.c — VNN-LIB reader: the SMT-LIB subset VNN-COMP uses.
 *
 * Reading goes in four steps, each of which can only refuse, never guess:
 *   1. lex + build an S-expression tree (positions kept for messages);
 *   2. run the commands: declare-const / declare-fun of X_i, Y_j (Real),
 *      assert; check-sat, get-model, exit, set-info and set-logic are
 *      ignored; anything else is an error;
 *   3. bring the AND of all asserts to disjunctive normal form.  Atoms are
 *      linear comparisons  sum c_k v_k <= rhs  over inputs only or outputs
 *      only (terms: numbers, X_i/Y_j, +, -, *, / by constants; <= and >=,
 *      chains allowed);
 *   4. split each DNF term into its input part (the region) and its output
 *      part (one disjunct); terms with identical input regions share a case.
 *
 * Every number is read exactly (cn_mpq_set_decimal); single-variable input
 * atoms a*X_i <= c become the bound X_i <= c/a (a > 0) or X_i >= c/a (a < 0).
 */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "models/models_int.h"

#define MAX_DEPTH 200                 /* nesting of parentheses */
#define MAX_VAR_INDEX (1 << 24)       /* X_i / Y_j with i < this */
#define MAX_ATOM_REFS ((size_t)1 << 25) /* atom occurrences over all DNF terms */
#define MAX_EXP_DIGITS 5              /* |exponent| < 10^5 in 1e-5 literals */
#define DEFAULT_MAX_TERMS 100000

/* ------------------------------------------------------------------------ */
/* S-expressions                                                             */
/* ------------------------------------------------------------------------ */

typedef struct {
    bool list;
    int line, col;
    int child, next, last;            /* -1 when none */
    int n;                            /* children (lists) */
    size_t off, len;                  /* token text (atoms) */
} sx;

typedef struct {
    int idx, line, col;
    bool y;
} decl;

/* An atom of the formula: lin over X (is_y false) or Y. */
typedef struct {
    prop_lin lin;
    bool is_y;
    int line, col;
} patom;

/* A formula in DNF: n terms; term t is at[start[t] .. start[t+1]). */
typedef struct {
    size_t n;
    size_t *start;                    /* [n+1] */
    int *at;                          /* [start[n]] atom indices */
} dnf;

typedef struct {
    const char *text;
    size_t len;
    const char *name;
    size_t max_terms;
    cn_err *err;
    sx *nodes;
    int n_nodes, cap_nodes;
    unsigned char *xdecl, *ydecl;     /* declared flags by index */
    int xcap, ycap, nx, ny;           /* nx: 1 + highest X index declared */
    decl *decls;
    int n_decls, cap_decls;
    patom *atoms;
    int n_atoms, cap_atoms;
} vp;

static cn_status nomem(vp *v)
{
    return cn_fail(v->err, CN_ENOMEM, "%s: out of memory reading VNN-LIB", v->name);
}

static cn_status CN_PRINTF(5, 6)
    fail_at(vp *v, cn_status st, int line, int col, const char *fmt, ...)
{
    char buf[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return cn_fail(v->err, st, "%s:%d:%d: %s", v->name, line, col, buf);
}

#define FAIL_AT(v, st, node, ...) fail_at((v), (st), (v)->nodes[node].line, (v)->nodes[node].col, __VA_ARGS__)

static bool grow(void **p, int *cap, int need, size_t size)
{
    if (need <= *cap)
        return true;
    int c = *cap ? *cap : 16;
    while (c < need) {
        if (c > (1 << 29))
            return false;
        c *= 2;
    }
    void *q = cn_reallocarray(*p, (size_t)c, size);
    if (!q)
        return false;
    *p = q;
    *cap = c;
    return true;
}

static int new_node(vp *v, bool list, int line, int col)
{
    if (!grow((void **)&v->nodes, &v->cap_nodes, v->n_nodes + 1, sizeof(sx)))
        return -1;
    sx *s = &v->nodes[v->n_nodes];
    memset(s, 0, sizeof *s);
    s->list = list;
    s->line = line;
    s->col = col;
    s->child = s->next = s->last = -1;
    return v->n_nodes++;
}

static void add_child(vp *v, int parent, int child)
{
    sx *p = &v->nodes[parent];
    if (p->last < 0)
        p->child = child;
    else
        v->nodes[p->last].next = child;
    p->last = child;
    p->n++;
}

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_token_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != '(' && c != ')' && c != ';' && c != '|' && c != '"';
}

/* Builds the tree; node 0 is a virtual list holding the commands. */
static cn_status read_sx(vp *v)
{
    int *stack = NULL, depth = 0, cap = 0;
    cn_status st = CN_OK;
    int line = 1, col = 1;
    if (new_node(v, true, 1, 1) < 0 || !grow((void **)&stack, &cap, 1, sizeof(int)))
        goto oom;
    stack[depth++] = 0;
    for (size_t i = 0; i < v->len;) {
        unsigned char c = (unsigned char)v->text[i];
        if (c == '\n') {
            line++;
            col = 1;
            i++;
        } else if (is_space(c)) {
            i++;
            col++;
        } else if (c == ';') {
            while (i < v->len && v->text[i] != '\n')
                i++;
        } else if (c == '(') {
            if (depth > MAX_DEPTH) {
                st = fail_at(v, CN_ELIMIT, line, col, "parentheses nested deeper than %d",
                             MAX_DEPTH);
                goto done;
            }
            int k = new_node(v, true, line, col);
            if (k < 0 || !grow((void **)&stack, &cap, depth + 1, sizeof(int)))
                goto oom;
            add_child(v, stack[depth - 1], k);
            stack[depth++] = k;
            i++;
            col++;
        } else if (c == ')') {
            if (depth == 1) {
                st = fail_at(v, CN_EPARSE, line, col,
                             "unbalanced parentheses: ')' without a matching '('");
                goto done;
            }
            depth--;
            i++;
            col++;
        } else if (c == '|' || c == '"') {
            st = fail_at(v, CN_EUNSUPPORTED, line, col,
                         "%s are not supported in VNN-LIB properties",
                         c == '|' ? "quoted symbols |...|" : "string literals");
            goto done;
        } else if (!is_token_char(c)) {
            st = fail_at(v, CN_EPARSE, line, col, "unexpected byte 0x%02x", c);
            goto done;
        } else {
            int k = new_node(v, false, line, col);
            if (k < 0)
                goto oom;
            size_t s = i;
            while (i < v->len && is_token_char((unsigned char)v->text[i]))
                i++;
            v->nodes[k].off = s;
            v->nodes[k].len = i - s;
            col += (int)(i - s);
            add_child(v, stack[depth - 1], k);
        }
    }
    if (depth > 1) {
        const sx *o = &v->nodes[stack[depth - 1]];
        st = fail_at(v, CN_EPARSE, line, col,
                     "unbalanced parentheses: '(' opened at %d:%d is not closed at end of input",
                     o->line, o->col);
    }
    goto done;
oom:
    st = nomem(v);
done:
    cn_free(stack);
    return st;
}

static bool atom_is(const vp *v, int k, const char *s)
{
    const sx *n = &v->nodes[k];
    return !n->list && n->len == strlen(s) && memcmp(v->text + n->off, s, n->len) == 0;
}

/* The token text, for messages (truncated). */
static const char *tok(const vp *v, int k, char *buf, size_t size)
{
    const sx *n = &v->nodes[k];
    if (n->list) {
        snprintf(buf, size, "(...)");
        return buf;
    }
    size_t len = n->len < size - 4 ? n->len : size - 4;
    memcpy(buf, v->text + n->off, len);
    strcpy(buf + len, n->len > len ? "..." : "");
    return buf;
}

static int nth(const vp *v, int list, int i)
{
    int k = v->nodes[list].child;
    while (i-- > 0 && k >= 0)
        k = v->nodes[k].next;
    return k;
}

/* ------------------------------------------------------------------------ */
/* Variables                                                                 */
/* ------------------------------------------------------------------------ */

/* X_<i> or Y_<i> with a canonical decimal index.  Returns 0 (not a variable
 * name), 'X' or 'Y'. */
static int var_name(const vp *v, int k, int *idx)
{
    const sx *n = &v->nodes[k];
    const char *s = v->text + n->off;
    if (n->list || n->len < 3 || (s[0] != 'X' && s[0] != 'Y') || s[1] != '_')
        return 0;
    if (s[2] == '0' && n->len > 3)
        return 0;
    long x = 0;
    for (size_t i = 2; i < n->len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        x = x * 10 + (s[i] - '0');
        if (x >= MAX_VAR_INDEX)
            return 0;
    }
    *idx = (int)x;
    return s[0];
}

static const decl *find_decl(const vp *v, bool y, int idx)
{
    for (int i = 0; i < v->n_decls; i++)
        if (v->decls[i].y == y && v->decls[i].idx == idx)
            return &v->decls[i];
    return NULL;
}

static cn_status declare(vp *v, int cmd)
{
    const sx *c = &v->nodes[cmd];
    bool fun = atom_is(v, c->child, "declare-fun");
    int name = nth(v, cmd, 1), sort = nth(v, cmd, fun ? 3 : 2);
    char b[64];
    if (c->n != (fun ? 4 : 3) || v->nodes[name].list ||
        (fun && (!v->nodes[nth(v, cmd, 2)].list || v->nodes[nth(v, cmd, 2)].n != 0)))
        return FAIL_AT(v, CN_EPARSE, cmd, "expected (%s)",
                       fun ? "declare-fun NAME () Real" : "declare-const NAME Real");
    if (!atom_is(v, sort, "Real"))
        return FAIL_AT(v, CN_EUNSUPPORTED, sort, "expected sort Real, got '%s'",
                       tok(v, sort, b, sizeof b));
    int idx;
    int kind = var_name(v, name, &idx);
    if (!kind)
        return FAIL_AT(v, CN_EUNSUPPORTED, name,
                       "unsupported variable name '%s': expected X_i (input) or Y_i (output) "
                       "with i < %d",
                       tok(v, name, b, sizeof b), MAX_VAR_INDEX);
    bool y = kind == 'Y';
    unsigned char **flags = y ? &v->ydecl : &v->xdecl;
    int *cap = y ? &v->ycap : &v->xcap, *cnt = y ? &v->ny : &v->nx;
    if (idx < *cnt && (*flags)[idx]) {
        const decl *d = find_decl(v, y, idx);
        return FAIL_AT(v, CN_EPARSE, name, "variable %c_%d is declared again (first at %d:%d)",
                       kind, idx, d ? d->line : 0, d ? d->col : 0);
    }
    int old = *cap;
    if (!grow((void **)flags, cap, idx + 1, 1))
        return nomem(v);
    if (*cap > old)
        memset(*flags + old, 0, (size_t)(*cap - old));
    if (!grow((void **)&v->decls, &v->cap_decls, v->n_decls + 1, sizeof(decl)))
        return nomem(v);
    (*flags)[idx] = 1;
    if (idx + 1 > *cnt)
        *cnt = idx + 1;
    v->decls[v->n_decls++] = (decl){idx, v->nodes[name].line, v->nodes[name].col, y};
    return CN_OK;
}

/* After all commands: X_0..X_{n-1} and Y_0..Y_{m-1} without gaps. */
static cn_status check_decls(vp *v)
{
    for (int y = 0; y < 2; y++) {
        int cnt = y ? v->ny : v->nx;
        const unsigned char *f = y ? v->ydecl : v->xdecl;
        char k = y ? 'Y' : 'X';
        if (cnt == 0)
            return fail_at(v, CN_EPARSE, 1, 1, "no %s variables declared (expected %c_0 ...)",
                           y ? "output" : "input", k);
        for (int i = 0; i < cnt; i++)
            if (!f[i]) {
                const decl *d = find_decl(v, y, cnt - 1);
                return fail_at(v, CN_EPARSE, d->line, d->col,
                               "%c_%d is declared but %c_%d is not: variables must be "
                               "%c_0..%c_%d without gaps",
                               k, cnt - 1, k, i, k, k, cnt - 1);
            }
    }
    return CN_OK;
}

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
            return FAIL_AT(v, CN_EPARSE, k, "malformed number '%s'", tok(v, k, b, sizeof b));
        if (r == -2)
            return FAIL_AT(v, CN_EUNSUPPORTED, k, "exponent of '%s' is out of range",
                           tok(v, k, b, sizeof b));
        int idx, kind = var_name(v, k, &idx);
        if (!kind)
            return FAIL_AT(v, CN_EPARSE, k,
                           "unknown symbol '%s': expected a number or a variable X_i / Y_i",
                           tok(v, k, b, sizeof b));
        bool y = kind == 'Y';
        if (idx >= (y ? v->ny : v->nx) || !(y ? v->ydecl : v->xdecl)[idx])
            return FAIL_AT(v, CN_EPARSE, k, "undeclared variable %c_%d", kind, idx);
        mpq_t one;
        mpq_init(one);
        mpq_set_ui(one, 1, 1);
        bool ok = lx_add_term(out, 2 * idx + y, one);
        mpq_clear(one);
        return ok ? CN_OK : nomem(v);
    }
    if (n->n == 0)
        return FAIL_AT(v, CN_EPARSE, k, "expected a term, got ()");
    int head = n->child;
    if (v->nodes[head].list)
        return FAIL_AT(v, CN_EPARSE, head, "expected a function symbol (+, -, *, /)");
    int op = atom_is(v, head, "+") ? '+' : atom_is(v, head, "-") ? '-'
           : atom_is(v, head, "*") ? '*' : atom_is(v, head, "/") ? '/' : 0;
    if (!op) {
        static const char *const cmp[] = {"<=", ">=", "<", ">", "=", "and", "or", "not", NULL};
        for (int i = 0; cmp[i]; i++)
            if (atom_is(v, head, cmp[i]))
                return FAIL_AT(v, CN_EPARSE, head,
                               "expected a term, got the formula operator '%s'", cmp[i]);
        return FAIL_AT(v, CN_EUNSUPPORTED, head,
                       "unsupported function '%s' in a term: expected +, -, * or /",
                       tok(v, head, b, sizeof b));
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
    st = nomem(v);
done:
    lx_clear(&t);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Formulas and DNF                                                          */
/* ------------------------------------------------------------------------ */

static void dnf_free(dnf *d)
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
        dnf_free(d);
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
                           tok(v, v->nodes[node].child, b, sizeof b), xi, yi);
        }
    if (!grow((void **)&v->atoms, &v->cap_atoms, v->n_atoms + 1, sizeof(patom)))
        return nomem(v);
    patom *a = &v->atoms[v->n_atoms];
    if (!prop__lin_init(&a->lin, e->n))
        return nomem(v);
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
        return FAIL_AT(v, CN_EPARSE, node, "'%s' needs two or more arguments", le ? "<=" : ">=");
    int na = n->n - 1;
    lexpr *t = cn_calloc((size_t)na, sizeof(lexpr));
    if (!t)
        return nomem(v);
    int done = 0;
    cn_status st = CN_OK;
    int a = v->nodes[n->child].next;
    for (; a >= 0; a = v->nodes[a].next) {
        lx_init(&t[done++]);
        if ((st = term(v, a, &t[done - 1])) != CN_OK)
            goto out;
    }
    if (!dnf_alloc(out, 1, (size_t)(na - 1))) {
        st = nomem(v);
        goto out;
    }
    out->start[1] = (size_t)(na - 1);
    for (int i = 0; i + 1 < na; i++) {
        /* le: t_i - t_{i+1} <= 0;  ge: t_{i+1} - t_i <= 0 */
        lexpr e;
        lx_init(&e);
        bool ok = lx_add(&e, &t[le ? i : i + 1], +1) && lx_add(&e, &t[le ? i + 1 : i], -1);
        int id = -1;
        st = ok ? make_atom(v, node, &e, &id) : nomem(v);
        lx_clear(&e);
        if (st != CN_OK) {
            dnf_free(out);
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
        return nomem(v);
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
static cn_status dnf_and(vp *v, int node, dnf *ch, int nch, dnf *out)
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
        return nomem(v);
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

static cn_status formula(vp *v, int k, dnf *out);

/* Evaluates the children of list k starting at node first into DNFs and
 * combines them with AND or OR. */
static cn_status combine(vp *v, int k, int first, int nch, bool is_and, dnf *out)
{
    dnf *ch = cn_calloc((size_t)(nch ? nch : 1), sizeof(dnf));
    if (!ch)
        return nomem(v);
    cn_status st = CN_OK;
    int i = 0;
    for (int a = first; a >= 0; a = v->nodes[a].next, i++)
        if ((st = formula(v, a, &ch[i])) != CN_OK)
            goto done;
    st = is_and ? dnf_and(v, k, ch, nch, out) : dnf_or(v, k, ch, nch, out);
done:
    for (int j = 0; j < nch; j++)
        dnf_free(&ch[j]);
    cn_free(ch);
    return st;
}

static cn_status formula(vp *v, int k, dnf *out)
{
    const sx *n = &v->nodes[k];
    char b[64];
    if (!n->list)
        return FAIL_AT(v, CN_EPARSE, k,
                       "expected a formula (and, or, <=, >=), got '%s'", tok(v, k, b, sizeof b));
    if (n->n == 0 || v->nodes[n->child].list)
        return FAIL_AT(v, CN_EPARSE, k, "expected a formula (and, or, <=, >=)");
    int h = n->child;
    if (atom_is(v, h, "and"))
        return combine(v, k, v->nodes[h].next, n->n - 1, true, out);
    if (atom_is(v, h, "or")) {
        if (n->n == 1)
            return FAIL_AT(v, CN_EUNSUPPORTED, k,
                           "empty (or) is the constant false; not supported");
        return combine(v, k, v->nodes[h].next, n->n - 1, false, out);
    }
    if (atom_is(v, h, "<=") || atom_is(v, h, ">="))
        return comparison(v, k, atom_is(v, h, "<="), out);
    if (atom_is(v, h, "<") || atom_is(v, h, ">"))
        return FAIL_AT(v, CN_EUNSUPPORTED, h,
                       "strict comparison '%s' is not supported (use <= or >=)",
                       tok(v, h, b, sizeof b));
    if (atom_is(v, h, "="))
        return FAIL_AT(v, CN_EUNSUPPORTED, h,
                       "equality '=' is not supported (write (<= a b) and (>= a b))");
    static const char *const unsup[] = {"distinct", "not", "=>", "xor", "ite", "let",
                                        "forall", "exists", "true", "false", NULL};
    for (int i = 0; unsup[i]; i++)
        if (atom_is(v, h, unsup[i]))
            return FAIL_AT(v, CN_EUNSUPPORTED, h,
                           "'%s' is not supported (VNN-LIB properties use and, or, <=, >=)",
                           unsup[i]);
    return FAIL_AT(v, CN_EPARSE, h, "unknown symbol '%s': expected and, or, <= or >=",
                   tok(v, h, b, sizeof b));
}

/* ------------------------------------------------------------------------ */
/* Commands                                                                  */
/* ------------------------------------------------------------------------ */

static cn_status commands(vp *v, dnf *all)
{
    char b[64];
    cn_status st = CN_OK;
    int n_asserts = 0, cap = 0;
    dnf *as = NULL;
    for (int c = v->nodes[0].child; c >= 0; c = v->nodes[c].next) {
        const sx *n = &v->nodes[c];
        if (!n->list) {
            st = FAIL_AT(v, CN_EPARSE, c, "expected '(' to start a command, got '%s'",
                         tok(v, c, b, sizeof b));
            goto done;
        }
        if (n->n == 0 || v->nodes[n->child].list) {
            st = FAIL_AT(v, CN_EPARSE, c, "expected a command name after '('");
            goto done;
        }
        int h = n->child;
        if (atom_is(v, h, "declare-const") || atom_is(v, h, "declare-fun")) {
            if ((st = declare(v, c)) != CN_OK)
                goto done;
        } else if (atom_is(v, h, "assert")) {
            if (n->n != 2) {
                st = FAIL_AT(v, CN_EPARSE, c, "expected (assert FORMULA) with one formula");
                goto done;
            }
            if (!grow((void **)&as, &cap, n_asserts + 1, sizeof(dnf))) {
                st = nomem(v);
                goto done;
            }
            memset(&as[n_asserts], 0, sizeof(dnf));
            if ((st = formula(v, v->nodes[h].next, &as[n_asserts])) != CN_OK)
                goto done;
            n_asserts++;
        } else if (atom_is(v, h, "check-sat") || atom_is(v, h, "get-model") ||
                   atom_is(v, h, "exit") || atom_is(v, h, "set-info") ||
                   atom_is(v, h, "set-logic")) {
            continue;                 /* no effect on the formula */
        } else {
            st = FAIL_AT(v, CN_EUNSUPPORTED, h,
                         "unsupported command '%s' (expected declare-const, assert)",
                         tok(v, h, b, sizeof b));
            goto done;
        }
    }
    if ((st = check_decls(v)) != CN_OK)
        goto done;
    if (n_asserts == 0) {
        st = fail_at(v, CN_EPARSE, 1, 1, "no assert: the property constrains nothing");
        goto done;
    }
    st = dnf_and(v, v->nodes[0].child >= 0 ? v->nodes[0].child : 0, as, n_asserts, all);
done:
    for (int i = 0; i < n_asserts; i++)
        dnf_free(&as[i]);
    cn_free(as);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Grouping DNF terms into cases                                             */
/* ------------------------------------------------------------------------ */

static uint64_t mix(uint64_t h, uint64_t x)
{
    h ^= x + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    return h * 0xBF58476D1CE4E5B9ull;
}

static uint64_t hash_z(uint64_t h, mpz_srcptr z)
{
    h = mix(h, (uint64_t)(mpz_sgn(z) + 2));
    for (size_t i = 0; i < mpz_size(z); i++)
        h = mix(h, (uint64_t)mpz_getlimbn(z, (mp_size_t)i));
    return h;
}

static uint64_t hash_q(uint64_t h, const mpq_t q)
{
    return hash_z(hash_z(h, mpq_numref(q)), mpq_denref(q));
}

typedef struct {
    uint64_t h;
    size_t i;
} hitem;

static int hitem_cmp(const void *a, const void *b)
{
    const hitem *x = a, *y = b;
    if (x->h != y->h)
        return x->h < y->h ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* rep[i] = the smallest j with eq(j, i), using hashes h[] to find candidates. */
static bool classes(size_t n, const uint64_t *h, bool (*eq)(const void *, size_t, size_t),
                    const void *ctx, size_t *rep)
{
    hitem *it = cn_mallocarray(n ? n : 1, sizeof *it);
    if (!it)
        return false;
    for (size_t i = 0; i < n; i++)
        it[i] = (hitem){h[i], i};
    qsort(it, n, sizeof *it, hitem_cmp);
    for (size_t s = 0; s < n;) {
        size_t e = s;
        while (e < n && it[e].h == it[s].h)
            e++;
        for (size_t a = s; a < e; a++) {
            size_t i = it[a].i;
            rep[i] = i;
            for (size_t b = s; b < a; b++) {
                size_t j = it[b].i;
                if (rep[j] == j && eq(ctx, j, i)) {
                    rep[i] = j;
                    break;
                }
            }
        }
        s = e;
    }
    cn_free(it);
    return true;
}

typedef struct {
    const vp *v;
    const dnf *d;
    const int *xs;                    /* input atoms of term t: xs[xstart[t]..xstart[t+1]) */
    const size_t *xstart;
} key_ctx;

static bool key_eq(const void *ctx, size_t a, size_t b)
{
    const key_ctx *k = ctx;
    size_t la = k->xstart[a + 1] - k->xstart[a], lb = k->xstart[b + 1] - k->xstart[b];
    return la == lb && memcmp(k->xs + k->xstart[a], k->xs + k->xstart[b], la * sizeof(int)) == 0;
}

typedef struct {
    const prop_case *c;
    int n_in;
} region_ctx;

static bool region_eq(const void *ctx, size_t a, size_t b)
{
    const region_ctx *r = ctx;
    const prop_case *x = &r->c[a], *y = &r->c[b];
    if (x->n_lin != y->n_lin)
        return false;
    for (int i = 0; i < r->n_in; i++)
        if (!mpq_equal(x->lo[i], y->lo[i]) || !mpq_equal(x->hi[i], y->hi[i]))
            return false;
    for (int k = 0; k < x->n_lin; k++)
        if (!prop__lin_equal(&x->lin[k], &y->lin[k]))
            return false;
    return true;
}

static int int_cmp(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Region of one group of terms (the input atoms xs[0..nx)) into c. */
static cn_status build_region(vp *v, const int *xs, size_t nx, prop_case *c, int region_no,
                              unsigned char *has)
{
    int n_in = v->nx;
    if (!prop__case_box(c, n_in))
        return nomem(v);
    memset(has, 0, (size_t)n_in);     /* bit 1: lower bound seen, bit 2: upper */
    size_t n_lin = 0;
    for (size_t q = 0; q < nx; q++)
        if (v->atoms[xs[q]].lin.n > 1)
            n_lin++;
    c->lin = cn_calloc(n_lin ? n_lin : 1, sizeof(prop_lin));
    if (!c->lin)
        return nomem(v);
    mpq_t b;
    mpq_init(b);
    cn_status st = CN_OK;
    for (size_t q = 0; q < nx; q++) {
        const prop_lin *a = &v->atoms[xs[q]].lin;
        if (a->n > 1) {
            if (!prop__lin_copy(&c->lin[c->n_lin], a)) {
                st = nomem(v);
                break;
            }
            c->n_lin++;
            continue;
        }
        int i = a->var[0];
        mpq_div(b, a->rhs, a->coef[0]);
        if (mpq_sgn(a->coef[0]) > 0) {      /* X_i <= b */
            if (!(has[i] & 2) || mpq_cmp(b, c->hi[i]) < 0)
                mpq_set(c->hi[i], b);
            has[i] |= 2;
        } else {                            /* X_i >= b */
            if (!(has[i] & 1) || mpq_cmp(b, c->lo[i]) > 0)
                mpq_set(c->lo[i], b);
            has[i] |= 1;
        }
    }
    mpq_clear(b);
    if (st != CN_OK)
        return st;
    for (int i = 0; i < n_in; i++)
        if (has[i] != 3) {
            const decl *d = find_decl(v, false, i);
            return fail_at(v, CN_EUNSUPPORTED, d->line, d->col,
                           "input X_%d has no %s bound in input region %d; every input needs a "
                           "lower and an upper bound",
                           i, (has[i] & 1) ? "upper" : "lower", region_no + 1);
        }
    prop__case_round(c, n_in);
    return CN_OK;
}

static cn_status build(vp *v, const dnf *d, prop **out)
{
    cn_status st = CN_OK;
    size_t T = d->n, G = 0, C = 0;
    size_t total = d->start[T];
    int *xs = cn_mallocarray(total ? total : 1, sizeof(int));
    size_t *xstart = cn_mallocarray(T + 1, sizeof(size_t));
    uint64_t *h = cn_mallocarray(T ? T : 1, sizeof(uint64_t));
    size_t *rep = cn_mallocarray(T ? T : 1, sizeof(size_t));
    size_t *grp = cn_mallocarray(T ? T : 1, sizeof(size_t));   /* term -> group */
    size_t *gterm = cn_mallocarray(T ? T : 1, sizeof(size_t)); /* group -> first term */
    size_t *crep = NULL, *gcase = NULL, *cgroup = NULL, *ndisj = NULL;
    unsigned char *has = cn_malloc((size_t)v->nx);
    prop_case *gc = NULL;
    prop *p = NULL;
    size_t built = 0;
    if (!xs || !xstart || !h || !rep || !grp || !gterm || !has)
        goto oom;
    /* input atoms of each term, sorted (the grouping key) */
    xstart[0] = 0;
    for (size_t t = 0; t < T; t++) {
        size_t p0 = xstart[t], p1 = p0;
        for (size_t q = d->start[t]; q < d->start[t + 1]; q++)
            if (!v->atoms[d->at[q]].is_y)
                xs[p1++] = d->at[q];
        qsort(xs + p0, p1 - p0, sizeof(int), int_cmp);
        xstart[t + 1] = p1;
        uint64_t hh = 1469598103934665603ull;
        for (size_t q = p0; q < p1; q++)
            hh = mix(hh, (uint64_t)xs[q]);
        h[t] = hh;
    }
    key_ctx kc = {v, d, xs, xstart};
    if (!classes(T, h, key_eq, &kc, rep))
        goto oom;
    for (size_t t = 0; t < T; t++) {
        if (rep[t] == t) {
            gterm[G] = t;
            grp[t] = G++;
        } else {
            grp[t] = grp[rep[t]];
        }
    }
    /* one region per group */
    gc = cn_calloc(G ? G : 1, sizeof(prop_case));
    crep = cn_mallocarray(G ? G : 1, sizeof(size_t));
    gcase = cn_mallocarray(G ? G : 1, sizeof(size_t));
    cgroup = cn_mallocarray(G ? G : 1, sizeof(size_t));
    if (!gc || !crep || !gcase || !cgroup)
        goto oom;
    for (size_t g = 0; g < G; g++) {
        size_t t = gterm[g];
        built = g + 1;
        if ((st = build_region(v, xs + xstart[t], xstart[t + 1] - xstart[t], &gc[g], (int)g,
                               has)) != CN_OK)
            goto fail_groups;
        uint64_t hh = 7;
        for (int i = 0; i < v->nx; i++)
            hh = hash_q(hash_q(hh, gc[g].lo[i]), gc[g].hi[i]);
        for (int k = 0; k < gc[g].n_lin; k++) {
            const prop_lin *a = &gc[g].lin[k];
            hh = hash_q(hh, a->rhs);
            for (int j = 0; j < a->n; j++)
                hh = hash_q(mix(hh, (uint64_t)a->var[j]), a->coef[j]);
        }
        h[g] = hh;
    }
    region_ctx rc = {gc, v->nx};
    if (!classes(G, h, region_eq, &rc, crep))
        goto oom_groups;
    for (size_t g = 0; g < G; g++) {
        if (crep[g] == g) {
            cgroup[C] = g;
            gcase[g] = C++;
        } else {
            gcase[g] = gcase[crep[g]];
        }
    }
    if (C > (size_t)1 << 30)
        goto oom_groups;
    p = prop__alloc(v->name, v->nx, v->ny, (int)C);
    ndisj = cn_calloc(C ? C : 1, sizeof(size_t));
    if (!p || !ndisj)
        goto oom_groups;
    for (size_t t = 0; t < T; t++)
        ndisj[gcase[grp[t]]]++;
    /* move each case's region from its first group */
    for (size_t c = 0; c < C; c++) {
        p->cases[c] = gc[cgroup[c]];
        memset(&gc[cgroup[c]], 0, sizeof(prop_case));
        p->cases[c].disj = cn_calloc(ndisj[c], sizeof(prop_conj));
        if (!p->cases[c].disj)
            goto oom_groups;
    }
    /* one disjunct per term, in term order */
    for (size_t t = 0; t < T; t++) {
        prop_case *c = &p->cases[gcase[grp[t]]];
        int ny = 0;
        for (size_t q = d->start[t]; q < d->start[t + 1]; q++)
            ny += v->atoms[d->at[q]].is_y;
        prop_conj *cj = &c->disj[c->n_disj];
        cj->atoms = cn_calloc((size_t)(ny ? ny : 1), sizeof(prop_lin));
        if (!cj->atoms)
            goto oom_groups;
        c->n_disj++;
        for (size_t q = d->start[t]; q < d->start[t + 1]; q++) {
            const patom *a = &v->atoms[d->at[q]];
            if (!a->is_y)
                continue;
            if (!prop__lin_copy(&cj->atoms[cj->n], &a->lin))
                goto oom_groups;
            cj->n++;
        }
    }
    *out = p;
    p = NULL;
    goto fail_groups;
oom_groups:
    st = nomem(v);
fail_groups:
    for (size_t g = 0; g < built; g++)
        prop__case_clear(&gc[g], v->nx);
    goto done;
oom:
    st = nomem(v);
done:
    prop_free(p);
    cn_free(gc);
    cn_free(xs);
    cn_free(xstart);
    cn_free(h);
    cn_free(rep);
    cn_free(grp);
    cn_free(gterm);
    cn_free(crep);
    cn_free(gcase);
    cn_free(cgroup);
    cn_free(ndisj);
    cn_free(has);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Entry points                                                              */
/* ------------------------------------------------------------------------ */

cn_status prop_parse_vnnlib_mem(const char *text, size_t len, const char *name, long max_terms,
                                prop **out, cn_err *err)
{
    CN_REQUIRE((text || len == 0) && name && out && max_terms >= 0, "text, name and output");
    vp v;
    memset(&v, 0, sizeof v);
    v.text = text ? text : "";
    v.len = len;
    v.name = name;
    v.max_terms = max_terms ? (size_t)max_terms : DEFAULT_MAX_TERMS;
    v.err = err;
    dnf all = {0, NULL, NULL};
    prop *p = NULL;
    cn_status st = read_sx(&v);
    if (st == CN_OK)
        st = commands(&v, &all);
    if (st == CN_OK)
        st = build(&v, &all, &p);
    dnf_free(&all);
    for (int i = 0; i < v.n_atoms; i++)
        prop__lin_clear(&v.atoms[i].lin);
    cn_free(v.atoms);
    cn_free(v.nodes);
    cn_free(v.xdecl);
    cn_free(v.ydecl);
    cn_free(v.decls);
    if (st == CN_OK)
        *out = p;
    return st;
}

cn_status prop_parse_vnnlib(const char *path, prop **out, cn_err *err)
{
    CN_REQUIRE(path && out, "path and output");
    unsigned char *data = NULL;
    size_t len = 0;
    cn_status st = cn_read_file(path, &data, &len, err);
    if (st != CN_OK)
        return st;
    st = prop_parse_vnnlib_mem((const char *)data, len, path, 0, out, err);
    cn_free(data);
    return st;
}

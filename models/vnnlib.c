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

#include "models/vnnlib_int.h"

/* ------------------------------------------------------------------------ */
/* S-expressions (step 1)                                                    */
/* ------------------------------------------------------------------------ */

cn_status vnl__nomem(vp *v)
{
    return cn_fail(v->err, CN_ENOMEM, "%s: out of memory reading VNN-LIB", v->name);
}

cn_status vnl__fail_at(vp *v, cn_status st, int line, int col, const char *fmt, ...)
{
    char buf[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return cn_fail(v->err, st, "%s:%d:%d: %s", v->name, line, col, buf);
}

bool vnl__grow(void **p, int *cap, int need, size_t size)
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
    if (!vnl__grow((void **)&v->nodes, &v->cap_nodes, v->n_nodes + 1, sizeof(sx)))
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
    if (new_node(v, true, 1, 1) < 0 || !vnl__grow((void **)&stack, &cap, 1, sizeof(int)))
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
                st = vnl__fail_at(v, CN_ELIMIT, line, col, "parentheses nested deeper than %d",
                                  MAX_DEPTH);
                goto done;
            }
            int k = new_node(v, true, line, col);
            if (k < 0 || !vnl__grow((void **)&stack, &cap, depth + 1, sizeof(int)))
                goto oom;
            add_child(v, stack[depth - 1], k);
            stack[depth++] = k;
            i++;
            col++;
        } else if (c == ')') {
            if (depth == 1) {
                st = vnl__fail_at(v, CN_EPARSE, line, col,
                                  "unbalanced parentheses: ')' without a matching '('");
                goto done;
            }
            depth--;
            i++;
            col++;
        } else if (c == '|' || c == '"') {
            st = vnl__fail_at(v, CN_EUNSUPPORTED, line, col,
                              "%s are not supported in VNN-LIB properties",
                              c == '|' ? "quoted symbols |...|" : "string literals");
            goto done;
        } else if (!is_token_char(c)) {
            st = vnl__fail_at(v, CN_EPARSE, line, col, "unexpected byte 0x%02x", c);
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
        st = vnl__fail_at(v, CN_EPARSE, line, col,
                          "unbalanced parentheses: '(' opened at %d:%d is not closed at end "
                          "of input",
                          o->line, o->col);
    }
    goto done;
oom:
    st = vnl__nomem(v);
done:
    cn_free(stack);
    return st;
}

bool vnl__atom_is(const vp *v, int k, const char *s)
{
    const sx *n = &v->nodes[k];
    return !n->list && n->len == strlen(s) && memcmp(v->text + n->off, s, n->len) == 0;
}

/* The token text, for messages (truncated). */
const char *vnl__tok(const vp *v, int k, char *buf, size_t size)
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
int vnl__var_name(const vp *v, int k, int *idx)
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

const decl *vnl__find_decl(const vp *v, bool y, int idx)
{
    for (int i = 0; i < v->n_decls; i++)
        if (v->decls[i].y == y && v->decls[i].idx == idx)
            return &v->decls[i];
    return NULL;
}

static cn_status declare(vp *v, int cmd)
{
    const sx *c = &v->nodes[cmd];
    bool fun = vnl__atom_is(v, c->child, "declare-fun");
    int name = nth(v, cmd, 1), sort = nth(v, cmd, fun ? 3 : 2);
    char b[64];
    if (c->n != (fun ? 4 : 3) || v->nodes[name].list ||
        (fun && (!v->nodes[nth(v, cmd, 2)].list || v->nodes[nth(v, cmd, 2)].n != 0)))
        return FAIL_AT(v, CN_EPARSE, cmd, "expected (%s)",
                       fun ? "declare-fun NAME () Real" : "declare-const NAME Real");
    if (!vnl__atom_is(v, sort, "Real"))
        return FAIL_AT(v, CN_EUNSUPPORTED, sort, "expected sort Real, got '%s'",
                       vnl__tok(v, sort, b, sizeof b));
    int idx;
    int kind = vnl__var_name(v, name, &idx);
    if (!kind)
        return FAIL_AT(v, CN_EUNSUPPORTED, name,
                       "unsupported variable name '%s': expected X_i (input) or Y_i (output) "
                       "with i < %d",
                       vnl__tok(v, name, b, sizeof b), MAX_VAR_INDEX);
    bool y = kind == 'Y';
    unsigned char **flags = y ? &v->ydecl : &v->xdecl;
    int *cap = y ? &v->ycap : &v->xcap, *cnt = y ? &v->ny : &v->nx;
    if (idx < *cnt && (*flags)[idx]) {
        const decl *d = vnl__find_decl(v, y, idx);
        return FAIL_AT(v, CN_EPARSE, name, "variable %c_%d is declared again (first at %d:%d)",
                       kind, idx, d ? d->line : 0, d ? d->col : 0);
    }
    int old = *cap;
    if (!vnl__grow((void **)flags, cap, idx + 1, 1))
        return vnl__nomem(v);
    if (*cap > old)
        memset(*flags + old, 0, (size_t)(*cap - old));
    if (!vnl__grow((void **)&v->decls, &v->cap_decls, v->n_decls + 1, sizeof(decl)))
        return vnl__nomem(v);
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
            return vnl__fail_at(v, CN_EPARSE, 1, 1, "no %s variables declared (expected %c_0 ...)",
                                y ? "output" : "input", k);
        for (int i = 0; i < cnt; i++)
            if (!f[i]) {
                const decl *d = vnl__find_decl(v, y, cnt - 1);
                return vnl__fail_at(v, CN_EPARSE, d->line, d->col,
                                    "%c_%d is declared but %c_%d is not: variables must be "
                                    "%c_0..%c_%d without gaps",
                                    k, cnt - 1, k, i, k, k, cnt - 1);
            }
    }
    return CN_OK;
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
                         vnl__tok(v, c, b, sizeof b));
            goto done;
        }
        if (n->n == 0 || v->nodes[n->child].list) {
            st = FAIL_AT(v, CN_EPARSE, c, "expected a command name after '('");
            goto done;
        }
        int h = n->child;
        if (vnl__atom_is(v, h, "declare-const") || vnl__atom_is(v, h, "declare-fun")) {
            if ((st = declare(v, c)) != CN_OK)
                goto done;
        } else if (vnl__atom_is(v, h, "assert")) {
            if (n->n != 2) {
                st = FAIL_AT(v, CN_EPARSE, c, "expected (assert FORMULA) with one formula");
                goto done;
            }
            if (!vnl__grow((void **)&as, &cap, n_asserts + 1, sizeof(dnf))) {
                st = vnl__nomem(v);
                goto done;
            }
            memset(&as[n_asserts], 0, sizeof(dnf));
            if ((st = vnl__formula(v, v->nodes[h].next, &as[n_asserts])) != CN_OK)
                goto done;
            n_asserts++;
        } else if (vnl__atom_is(v, h, "check-sat") || vnl__atom_is(v, h, "get-model") ||
                   vnl__atom_is(v, h, "exit") || vnl__atom_is(v, h, "set-info") ||
                   vnl__atom_is(v, h, "set-logic")) {
            continue;                 /* no effect on the formula */
        } else {
            st = FAIL_AT(v, CN_EUNSUPPORTED, h,
                         "unsupported command '%s' (expected declare-const, assert)",
                         vnl__tok(v, h, b, sizeof b));
            goto done;
        }
    }
    if ((st = check_decls(v)) != CN_OK)
        goto done;
    if (n_asserts == 0) {
        st = vnl__fail_at(v, CN_EPARSE, 1, 1, "no assert: the property constrains nothing");
        goto done;
    }
    st = vnl__dnf_and(v, v->nodes[0].child >= 0 ? v->nodes[0].child : 0, as, n_asserts, all);
done:
    for (int i = 0; i < n_asserts; i++)
        vnl__dnf_free(&as[i]);
    cn_free(as);
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
        st = vnl__build(&v, &all, &p);
    vnl__dnf_free(&all);
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
    cn_status st = cn_read_input(path, &data, &len, NULL, err);
    if (st != CN_OK)
        return st;
    st = prop_parse_vnnlib_mem((const char *)data, len, path, 0, out, err);
    cn_free(data);
    return st;
}

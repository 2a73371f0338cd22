/* vnnlib_int.h — internals of the VNN-LIB reader (models/vnnlib*.c; not
 * for other files).  The reader's four steps (vnnlib.c) share one state vp:
 * vnnlib.c steps 1 and 2 (S-expressions, declarations, commands) and the
 * entry points, vnnlib_dnf.c step 3 (linear terms, formulas in DNF),
 * vnnlib_cases.c step 4 (DNF terms grouped into the property's cases).
 * Internal names carry vnl__. */
#ifndef CERTNN_VNNLIB_INT_H
#define CERTNN_VNNLIB_INT_H

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

/* ---- vnnlib.c ---- */
cn_status vnl__nomem(vp *v);
/* "name:line:col: message", status st. */
cn_status vnl__fail_at(vp *v, cn_status st, int line, int col, const char *fmt, ...)
    CN_PRINTF(5, 6);
/* vnl__fail_at at the position of node. */
#define FAIL_AT(v, st, node, ...)                                                     \
    vnl__fail_at((v), (st), (v)->nodes[node].line, (v)->nodes[node].col, __VA_ARGS__)
/* Grows *p (*cap elements of size) to hold need; false: out of memory. */
bool vnl__grow(void **p, int *cap, int need, size_t size);
bool vnl__atom_is(const vp *v, int k, const char *s);      /* node k is the atom s */
const char *vnl__tok(const vp *v, int k, char *buf, size_t size); /* node k's text */
/* X_<i> or Y_<i> with a canonical decimal index.  Returns 0 (not a variable
 * name), 'X' or 'Y'. */
int vnl__var_name(const vp *v, int k, int *idx);
const decl *vnl__find_decl(const vp *v, bool y, int idx);  /* NULL: not declared */

/* ---- vnnlib_dnf.c ---- */
/* The formula at node k in DNF (atoms appended to v->atoms). */
cn_status vnl__formula(vp *v, int k, dnf *out);
/* The AND of ch[0..nch) in DNF (node: for messages). */
cn_status vnl__dnf_and(vp *v, int node, dnf *ch, int nch, dnf *out);
void vnl__dnf_free(dnf *d);

/* ---- vnnlib_cases.c ---- */
/* The property from the DNF of all asserts: its terms grouped into cases. */
cn_status vnl__build(vp *v, const dnf *d, prop **out);

#endif

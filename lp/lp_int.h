/* lp_int.h — internals shared by the files of lp/ (not for other modules).
 *
 * The files: ctx.c the context (columns and rows of the network, lp.h (1)-(3)),
 * region.c the region's bounds, ReLU rows and linear input rows, guard.c the
 * guard around GLPK calls (faults, revival), dual.c the rigorous bound from
 * row multipliers, solve.c the LP and conjunction entries, milp.c the exact
 * MILP.  GLPK's 1-based arrays stay inside lp/. */
#ifndef CERTNN_LP_INT_H
#define CERTNN_LP_INT_H

#include <setjmp.h>

#include <glpk.h>

#include "lp/lp.h"

/* Columns: z_0 .. z_L in order (0-based here, GLPK's column j+1).  Rows: each
 * affine layer's outputs (2), each ReLU neuron's pair R1: a - z, R2 (3), then
 * the region's linear input rows, then the conjunction rows (solve.c). */
struct lp_ctx {
    const net *n;
    glp_prob *P;
    int L;                 /* layers */
    int *col_off, *size;   /* [L+1] first column (0-based) and size of z_k */
    int n_cols;
    int *row_off;          /* [L] first row (0-based) of layer i */
    int n_rows_net;        /* rows for the network; linear input rows follow */
    int n_lin_rows;        /* currently present linear input rows */
    int n_conj;            /* conjunction rows after them (and column t), or 0 */
    bool conj_ok;          /* y holds the network multipliers of lp_conj_solve's optimum */
    bool y_ok;             /* y holds the multipliers of the last rigorous bound */
    bool y_farkas;         /* ... from a Farkas ray (lp_canon_duals) */
    int max_row_len;
    /* scratch */
    int *ind;              /* [1+max_row_len] */
    double *val;           /* [1+max_row_len] */
    double *s;             /* [n_cols] slope s of the triangle per ReLU input column */
    signed char *kind;     /* [n_cols] what row R2 of a ReLU input column holds (R2_*) */
    double *y;             /* [n_rows] multipliers */
    double *up, *dn;       /* [n_cols] sums of y_r A_rj rounded up / down */
    double *zero_out;      /* [n_out] zeros: the objective of a feasibility check */
    double *lin_buf;       /* [n_in] */
    net_conv_map *cmap;    /* [L] the taps of each convolution layer */
    /* GLPK faults (see "GLPK faults" in guard.c) */
    lp_ctx *next, *prev;   /* the owning thread's list of live contexts */
    const void *owner;     /* that thread (the address of its guard state) */
    bool linked;
    char fault[160];       /* the last call's GLPK fault, "" when none */
};

/* What row R2 of a ReLU neuron holds: the triangle's upper line, or the
 * split (z >= 0 or z <= 0) when the sound bounds alone do not imply it. */
enum { R2_FREE = 0, R2_TRIANGLE, R2_SPLIT_ACTIVE, R2_SPLIT_INACTIVE };

/* ---- ctx.c ---- */
/* Calls fn(row, col, coef) for every nonzero of the affine rows of layer i
 * (0-based row and column).  The output column has coefficient +1 and the
 * inputs -W, so the row reads  z_out - W z_in = b. */
typedef void (*lp__entry_fn)(void *u, int row, int col, double coef);
void lp__affine_entries(const lp_ctx *c, int i, lp__entry_fn fn, void *u);
/* A context whose problem object a GLPK fault deleted gets a fresh one (the
 * contents of a new context; its fault record stays). */
cn_status lp__revive(lp_ctx *c, cn_err *err);

/* ---- guard.c: GLPK faults ---- */
typedef struct {
    jmp_buf *jb;           /* the running guard's, NULL outside guarded calls */
    lp_ctx *live;          /* this thread's contexts */
    lp_ctx *building;      /* a context lp_ctx_new is building, or NULL */
    char msg[160];         /* GLPK's terminal output during the guard */
    size_t len;
} lp__thread;

extern _Thread_local lp__thread lp__tls;
/* Installs the hooks for a guarded call whose setjmp buffer is jb. */
void lp__guard_begin(jmp_buf *jb);
void lp__guard_end(void);
/* After longjmp from the error hook: frees the environment, restores the
 * rounding mode round, records why in c (may be NULL). */
void lp__guard_fault(lp_ctx *c, int round);
void lp__ctx_link(lp_ctx *c);              /* onto this thread's list */
void lp__ctx_unlink(lp_ctx *c);

/* ---- region.c ---- */
/* Sets column bounds and ReLU rows for the region.  Returns false when a
 * split contradicts the sound bounds (the subproblem is empty). */
bool lp__setup_region(lp_ctx *c, const lp_region *r);
/* Replaces the linear input rows by the region's (relaxed soundly). */
cn_status lp__setup_lin(lp_ctx *c, const lp_region *r, cn_err *err);

/* ---- dual.c ---- */
/* The right-hand side of the bound in lp.h for the multipliers in c->y[1..]
 * (overwritten: unusable signs become 0, output rows become cy). */
double lp__bound_from_y(lp_ctx *c, const double *cy, double d);
/* The bound from GLPK's row duals. */
double lp__rigorous_bound(lp_ctx *c, const double *cy, double d);
/* A Farkas certificate's value after the dual simplex found no primal
 * feasible point (> 0: the subproblem is empty), or -inf. */
double lp__farkas_bound(lp_ctx *c);

/* ---- solve.c ---- */
/* The conjunction rows: deleted (conj_drop) or left free with t fixed at 0. */
void lp__conj_drop(lp_ctx *c);
void lp__conj_off(lp_ctx *c);
void lp__init_smcp(glp_smcp *p, const lp_opts *o);
/* glp_simplex, retrying from a fresh basis when the old one is unusable. */
int lp__solve(glp_prob *P, const glp_smcp *parm);

#endif

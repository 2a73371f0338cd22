/* lp.c — GLPK LP relaxation with rigorous dual bounds, and the exact MILP
 * encoding.  The mathematics is in lp.h; GLPK's 1-based arrays stay here. */
#include "config.h"

#include <fenv.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <glpk.h>

#include "lp/lp.h"

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
    /* GLPK faults (see "GLPK faults" below) */
    lp_ctx *next, *prev;   /* the owning thread's list of live contexts */
    const void *owner;     /* that thread (the address of its guard state) */
    bool linked;
    char fault[160];       /* the last call's GLPK fault, "" when none */
};

void lp_opts_init(lp_opts *o)
{
    o->it_lim = 0;
    o->tm_lim_ms = 0;
}

static int layer_rows(const net_layer *l)
{
    return l->op == NET_RELU ? 2 * l->in : l->out;
}

/* Longest row: an affine output touches 1 + (fan-in) columns. */
static int row_len(const net_layer *l)
{
    switch (l->op) {
    case NET_DENSE: return 1 + l->in;
    case NET_CONV: return 1 + l->in_shape.c * l->kh * l->kw;
    case NET_RELU: return 2;
    }
    return 2;
}

/* ---- GLPK faults -------------------------------------------------------------
 * GLPK reports an internal error (a failed assertion, as in its dual simplex
 * on coefficients near DBL_MAX, or a misuse it detects) by printing a message
 * and calling abort() -- unless an error hook is installed: then the hook
 * runs first and may leave by longjmp.  GLPK's manual (glp_error_hook,
 * glp_free_env) then requires the environment to be freed, which deletes
 * every glp_prob of the thread: the environment is thread-local in Debian's
 * build (glp_config("TLS"); libglpk.so has a TLS segment), and the hooks live
 * in it, so they are installed per thread and per call.
 *
 * Every public entry that calls GLPK runs inside a guard (guard_begin /
 * guard_end around setjmp in the entry's own frame; never nested):
 *   - GLPK's terminal output is captured (nothing reaches stdout): on a fault
 *     it is the reason, "GLPK: Assertion failed: p != 0; Error detected in
 *     file simplex/spychuzr.c at line 312";
 *   - on a fault: the caller's rounding mode is restored, the environment is
 *     freed, every context of the thread loses its problem object (P = NULL),
 *     the call returns CN_OK with the outcome LP_FAILED, and lp_fault() of
 *     the calling context tells why;
 *   - a context without a problem object is rebuilt at its next use.
 * A fault inside GLPK leaves our own scratch allocations of that call
 * behind only where they are live across a GLPK call (setup_lin's deletion
 * list and two rationals, farkas_bound's buffers): GLPK detects misuse there,
 * its numerical assertions come from the simplex. */
typedef struct {
    jmp_buf *jb;           /* the running guard's, NULL outside guarded calls */
    lp_ctx *live;          /* this thread's contexts */
    lp_ctx *building;      /* a context lp_ctx_new is building, or NULL */
    char msg[160];         /* GLPK's terminal output during the guard */
    size_t len;
} glpk_thread;

static _Thread_local glpk_thread tls;

static int on_term(void *info, const char *s)
{
    (void)info;
    for (; *s && tls.len + 3 < sizeof tls.msg; s++) {
        if (*s == '\n') {
            if (tls.len > 0 && tls.msg[tls.len - 1] != ' ') {
                tls.msg[tls.len++] = ';';
                tls.msg[tls.len++] = ' ';
            }
            continue;
        }
        tls.msg[tls.len++] = *s;
    }
    tls.msg[tls.len] = '\0';
    return 1; /* library code never prints */
}

static void on_error(void *info)
{
    (void)info;
    longjmp(*tls.jb, 1); /* back to the guarded entry, which frees the environment */
}

static void guard_begin(jmp_buf *jb)
{
    CN_REQUIRE(!tls.jb, "GLPK calls of one thread are not nested");
    tls.jb = jb;
    tls.len = 0;
    tls.msg[0] = '\0';
    glp_error_hook(on_error, NULL);
    glp_term_hook(on_term, NULL);
}

static void guard_end(void)
{
    glp_error_hook(NULL, NULL);
    glp_term_hook(NULL, NULL);
    tls.jb = NULL;
}

static void ctx_link(lp_ctx *c)
{
    c->owner = &tls;
    c->prev = NULL;
    c->next = tls.live;
    if (tls.live)
        tls.live->prev = c;
    tls.live = c;
    c->linked = true;
}

static void ctx_unlink(lp_ctx *c)
{
    if (!c->linked)
        return;
    CN_REQUIRE(c->owner == &tls, "an LP context is freed by the thread that made it");
    if (c->prev)
        c->prev->next = c->next;
    else
        tls.live = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->next = c->prev = NULL;
    c->linked = false;
}

/* After longjmp from on_error: what GLPK's manual requires, and the record
 * of why (in c, which may be NULL). */
static void guard_fault(lp_ctx *c, int round)
{
    tls.jb = NULL;
    fesetround(round);
    glp_free_env(); /* every glp_prob of this thread is gone */
    for (lp_ctx *q = tls.live; q; q = q->next) {
        q->P = NULL;
        q->n_lin_rows = q->n_conj = 0;
        q->conj_ok = false;
    }
    if (tls.building)
        tls.building->P = NULL;
    size_t n = tls.len;
    while (n > 0 && (tls.msg[n - 1] == ' ' || tls.msg[n - 1] == ';'))
        n--;
    tls.msg[n] = '\0';
    if (c)
        snprintf(c->fault, sizeof c->fault, "GLPK: %.150s", n ? tls.msg : "internal error");
}

const char *lp_fault(const lp_ctx *c)
{
    return c && c->fault[0] ? c->fault : NULL;
}

void lp_ctx_free(lp_ctx *c)
{
    if (!c)
        return;
    ctx_unlink(c);
    if (c->P)
        glp_delete_prob(c->P);
    cn_free(c->col_off);
    cn_free(c->size);
    cn_free(c->row_off);
    cn_free(c->ind);
    cn_free(c->val);
    cn_free(c->s);
    cn_free(c->kind);
    cn_free(c->zero_out);
    cn_free(c->y);
    cn_free(c->up);
    cn_free(c->dn);
    cn_free(c->lin_buf);
    cn_free(c);
}

/* Calls fn(row, col, coef) for every nonzero of the affine rows of layer i
 * (0-based row and column).  The output column has coefficient +1 and the
 * inputs -W, so the row reads  z_out - W z_in = b. */
typedef void (*entry_fn)(void *u, int row, int col, double coef);

static void affine_entries(const lp_ctx *c, int i, entry_fn fn, void *u)
{
    const net_layer *l = net_layer_at(c->n, i);
    int r0 = c->row_off[i], ci = c->col_off[i], co = c->col_off[i + 1];
    if (l->op == NET_DENSE) {
        for (int o = 0; o < l->out; o++) {
            fn(u, r0 + o, co + o, 1.0);
            const double *w = l->W + (size_t)o * l->in;
            for (int k = 0; k < l->in; k++)
                if (w[k] != 0.0)
                    fn(u, r0 + o, ci + k, -w[k]);
        }
        return;
    }
    const net_shape is = l->in_shape, os = l->out_shape;
    for (int oc = 0; oc < os.c; oc++)
        for (int oy = 0; oy < os.h; oy++)
            for (int ox = 0; ox < os.w; ox++) {
                int o = (oc * os.h + oy) * os.w + ox;
                fn(u, r0 + o, co + o, 1.0);
                for (int ic = 0; ic < is.c; ic++)
                    for (int ky = 0; ky < l->kh; ky++) {
                        int iy = oy * l->stride_h + ky - l->pad_t;
                        if (iy < 0 || iy >= is.h)
                            continue;
                        for (int kx = 0; kx < l->kw; kx++) {
                            int ix = ox * l->stride_w + kx - l->pad_l;
                            if (ix < 0 || ix >= is.w)
                                continue;
                            double w = l->W[((oc * is.c + ic) * l->kh + ky) * l->kw + kx];
                            if (w != 0.0)
                                fn(u, r0 + o, ci + (ic * is.h + iy) * is.w + ix, -w);
                        }
                    }
            }
}

typedef struct {
    lp_ctx *c;
    int row, len;
} row_builder;

static void flush_row(row_builder *b)
{
    if (b->row >= 0)
        glp_set_mat_row(b->c->P, b->row + 1, b->len, b->c->ind, b->c->val);
    b->len = 0;
}

static void collect_entry(void *u, int row, int col, double coef)
{
    row_builder *b = u;
    if (row != b->row) {
        flush_row(b);
        b->row = row;
    }
    b->len++;
    b->c->ind[b->len] = col + 1;
    b->c->val[b->len] = coef;
}

static lp_ctx *ctx_build(const net *n, cn_err *err)
{
    int L = net_n_layers(n);
    for (int i = 0; i + 1 < L; i++) {
        const net_layer *a = net_layer_at(n, i), *b = net_layer_at(n, i + 1);
        if (a->op != NET_RELU && b->op != NET_RELU) {
            cn_fail(err, CN_EUNSUPPORTED,
                    "LP encoding: layers %d and %d are both affine (merge them first)", i, i + 1);
            return NULL;
        }
    }
    lp_ctx *c = cn_calloc(1, sizeof *c);
    if (!c)
        goto nomem;
    tls.building = c;
    c->n = n;
    c->L = L;
    c->col_off = cn_calloc((size_t)L + 1, sizeof(int));
    c->size = cn_calloc((size_t)L + 1, sizeof(int));
    c->row_off = cn_calloc((size_t)L + 1, sizeof(int));
    if (!c->col_off || !c->size || !c->row_off)
        goto nomem;
    c->size[0] = net_in_size(n);
    c->max_row_len = 2 + net_in_size(n);
    for (int i = 0; i < L; i++) {
        const net_layer *l = net_layer_at(n, i);
        c->col_off[i + 1] = c->col_off[i] + c->size[i];
        c->size[i + 1] = l->out;
        c->row_off[i + 1] = c->row_off[i] + layer_rows(l);
        if (row_len(l) > c->max_row_len)
            c->max_row_len = row_len(l);
    }
    c->n_cols = c->col_off[L] + c->size[L];
    c->n_rows_net = c->row_off[L];
    c->ind = cn_mallocarray((size_t)c->max_row_len + 1, sizeof(int));
    c->val = cn_mallocarray((size_t)c->max_row_len + 1, sizeof(double));
    c->s = cn_calloc((size_t)c->n_cols, sizeof(double));
    c->kind = cn_calloc((size_t)c->n_cols, 1);
    c->up = cn_mallocarray((size_t)c->n_cols, sizeof(double));
    c->dn = cn_mallocarray((size_t)c->n_cols, sizeof(double));
    c->zero_out = cn_calloc((size_t)c->size[L] + 1, sizeof(double));
    c->lin_buf = cn_mallocarray((size_t)c->size[0], sizeof(double));
    if (!c->ind || !c->val || !c->s || !c->kind || !c->up || !c->dn || !c->zero_out ||
        !c->lin_buf)
        goto nomem;

    c->P = glp_create_prob();
    glp_set_obj_dir(c->P, GLP_MIN);
    glp_add_cols(c->P, c->n_cols);
    if (c->n_rows_net > 0)
        glp_add_rows(c->P, c->n_rows_net);
    for (int j = 0; j < c->n_cols; j++)
        glp_set_col_bnds(c->P, j + 1, GLP_FR, 0.0, 0.0);
    for (int i = 0; i < L; i++) {
        const net_layer *l = net_layer_at(n, i);
        if (l->op == NET_RELU) {
            for (int k = 0; k < l->in; k++) {
                int a = c->col_off[i + 1] + k + 1, z = c->col_off[i] + k + 1;
                int ind[3] = {0, a, z};
                double val[3] = {0, 1.0, -1.0};
                glp_set_mat_row(c->P, c->row_off[i] + 2 * k + 1, 2, ind, val);
                glp_set_mat_row(c->P, c->row_off[i] + 2 * k + 2, 2, ind, val);
                glp_set_row_bnds(c->P, c->row_off[i] + 2 * k + 1, GLP_FR, 0, 0);
                glp_set_row_bnds(c->P, c->row_off[i] + 2 * k + 2, GLP_FR, 0, 0);
            }
            continue;
        }
        row_builder b = {c, -1, 0};
        affine_entries(c, i, collect_entry, &b);
        flush_row(&b);
        /* a convolution's bias is per channel (channel-major outputs) */
        int hw = l->op == NET_CONV ? l->out_shape.h * l->out_shape.w : 1;
        for (int o = 0; o < l->out; o++)
            glp_set_row_bnds(c->P, c->row_off[i] + o + 1, GLP_FX, l->b[o / hw], l->b[o / hw]);
    }
    c->y = cn_calloc((size_t)c->n_rows_net + 1, sizeof(double));
    if (!c->y)
        goto nomem;
    return c;
nomem:
    lp_ctx_free(c);
    cn_fail(err, CN_ENOMEM, "out of memory building the LP");
    return NULL;
}

lp_ctx *lp_ctx_new(const net *n, cn_err *err)
{
    CN_REQUIRE(n, "a network");
    jmp_buf jb;
    int round = fegetround();
    if (setjmp(jb)) {
        guard_fault(NULL, round);
        lp_ctx_free(tls.building); /* (its problem object went with the environment) */
        tls.building = NULL;
        cn_fail(err, CN_EINTERNAL, "building the LP: GLPK: %s", tls.msg[0] ? tls.msg : "internal error");
        return NULL;
    }
    guard_begin(&jb);
    lp_ctx *c = ctx_build(n, err);
    tls.building = NULL;
    guard_end();
    if (c)
        ctx_link(c);
    return c;
}

/* A context whose problem object a GLPK fault deleted gets a fresh one (the
 * contents of a new context; its fault record stays). */
static cn_status revive(lp_ctx *c, cn_err *err)
{
    if (c->P)
        return CN_OK;
    CN_REQUIRE(c->owner == &tls, "an LP context is used by the thread that made it");
    lp_ctx *f = lp_ctx_new(c->n, err);
    if (!f)
        return err ? err->status : CN_ENOMEM;
    char fault[sizeof c->fault];
    memcpy(fault, c->fault, sizeof fault);
    ctx_unlink(f);
    ctx_unlink(c);
    lp_ctx t = *c;
    *c = *f;
    *f = t; /* f: the old buffers, no problem object */
    memcpy(c->fault, fault, sizeof fault);
    ctx_link(c);
    lp_ctx_free(f);
    return CN_OK;
}

static void conj_drop(lp_ctx *c);
static void conj_off(lp_ctx *c);

static void set_col(glp_prob *P, int j, double lo, double hi)
{
    int type;
    if (isinf(lo) && isinf(hi))
        type = GLP_FR;
    else if (isinf(lo))
        type = GLP_UP;
    else if (isinf(hi))
        type = GLP_LO;
    else if (lo == hi)
        type = GLP_FX;
    else
        type = GLP_DB;
    glp_set_col_bnds(P, j, type, isinf(lo) ? 0.0 : lo, isinf(hi) ? 0.0 : hi);
}

/* Enclosure (models.h, net_layer): affine layer i's exact form is
 * z' = W z + b + e with |e_o| <= E_o = wrel (|W| m)_o + wabs sum_k m_k +
 * brad_o for |z_k| <= m_k, so its rows (2) become the ranges
 *     b_o - E_o  <=  z'_o - (W z)_o  <=  b_o + E_o,
 * a relaxation every network of the enclosure satisfies (the rigorous
 * bound reads these row bounds like any other).  m: the box for i = 0,
 * else max(u, 0) over the ReLU layer i-1 below (z_i = relu(z_{i-1})). */
static bool has_enclosure(const net_layer *l)
{
    if (l->wrel != 0.0 || l->wabs != 0.0)
        return true;
    int nb = l->op == NET_CONV ? l->out_shape.c : l->out;
    for (int o = 0; l->brad && o < nb; o++)
        if (l->brad[o] != 0.0)
            return true;
    return false;
}

typedef struct {
    int r0, co;            /* the layer's first row and first output column */
    const double *m;       /* [n_cols] m by column */
    double *acc;           /* [n_cols] (|W| m)_o at output column co + o */
} absw_ctx;

/* Called in FE_UPWARD: acc += |W_ok| m_k, rounded up. */
static void absw_entry(void *u, int row, int col, double coef)
{
    absw_ctx *a = u;
    if (col < a->co) /* an input entry -W_ok of row r0 + o */
        a->acc[a->co + row - a->r0] += fabs(coef) * a->m[col];
}

/* Row bounds of affine layer i for the region (scratch: c->up, c->dn);
 * everything in one FE_UPWARD scope. */
static void enclosure_rows(lp_ctx *c, const lp_region *r, int i)
{
    const net_layer *l = net_layer_at(c->n, i);
    int ci = c->col_off[i], co = c->col_off[i + 1], r0 = c->row_off[i];
    double *m = c->up, *acc = c->dn;
    int save = cn_round_push(FE_UPWARD);
    double sm = 0.0;
    for (int k = 0; k < l->in; k++) {
        double mk = i == 0 ? fmax(fabs(r->in_lo[k]), fabs(r->in_hi[k]))
                           : fmax(r->pre_hi[i - 1][k], 0.0);
        m[ci + k] = mk;
        sm += mk;
    }
    for (int o = 0; o < l->out; o++)
        acc[co + o] = 0.0;
    absw_ctx a = {r0, co, m, acc};
    affine_entries(c, i, absw_entry, &a);
    const double ws = l->wabs * sm;
    int hw = l->out_shape.h * l->out_shape.w;
    for (int o = 0; o < l->out; o++) {
        int bo = l->op == NET_CONV ? o / hw : o;
        double e = l->wrel * acc[co + o];
        e += ws;
        if (l->brad)
            e += l->brad[bo];
        /* both ends rounded up, the lower one negated: no mode switch for
         * the compiler to move arithmetic across */
        double b = l->b[bo], hi = b + e, lo = -(-b + e);
        int row = r0 + o + 1;
        if (!(lo > -INFINITY && hi < INFINITY))
            glp_set_row_bnds(c->P, row, GLP_FR, 0.0, 0.0);
        else if (lo == hi)
            glp_set_row_bnds(c->P, row, GLP_FX, lo, hi);
        else
            glp_set_row_bnds(c->P, row, GLP_DB, lo, hi);
    }
    cn_round_pop(save);
}

/* What row R2 of a ReLU neuron holds: the triangle's upper line, or the
 * split (z >= 0 or z <= 0) when the sound bounds alone do not imply it. */
enum { R2_FREE = 0, R2_TRIANGLE, R2_SPLIT_ACTIVE, R2_SPLIT_INACTIVE };

/* Sets column bounds and ReLU rows for the region.  Returns false when a
 * split contradicts the sound bounds (the subproblem is empty). */
static bool setup_region(lp_ctx *c, const lp_region *r)
{
    glp_prob *P = c->P;
    int n_in = c->size[0];
    for (int k = 0; k < n_in; k++) {
        if (r->in_lo[k] > r->in_hi[k])
            return false;
        set_col(P, k + 1, r->in_lo[k], r->in_hi[k]);
    }
    for (int i = 0; i < c->L; i++) {
        const net_layer *l = net_layer_at(c->n, i);
        if (l->op != NET_RELU) {
            if (has_enclosure(l))
                enclosure_rows(c, r, i);
            if (i + 1 == c->L || net_layer_at(c->n, i + 1)->op != NET_RELU)
                for (int o = 0; o < l->out; o++)
                    set_col(P, c->col_off[i + 1] + o + 1, -INFINITY, INFINITY);
            continue;
        }
        CN_REQUIRE(r->pre_lo && r->pre_hi && r->pre_lo[i] && r->pre_hi[i],
                   "pre-activation bounds for every ReLU layer");
        const signed char *sp = r->split ? r->split[i] : NULL;
        for (int k = 0; k < l->in; k++) {
            double lo = r->pre_lo[i][k], hi = r->pre_hi[i][k];
            int sg = sp ? sp[k] : 0;
            if (lo > hi || (sg > 0 && hi < 0.0) || (sg < 0 && lo > 0.0))
                return false;
            int zc = c->col_off[i] + k + 1, ac = c->col_off[i + 1] + k + 1;
            int r1 = c->row_off[i] + 2 * k + 1, r2 = r1 + 1;
            set_col(P, zc, lo, hi);
            c->s[zc - 1] = 0.0;
            c->kind[zc - 1] = R2_FREE;
            glp_set_row_bnds(P, r2, GLP_FR, 0, 0);
            bool active = lo >= 0.0 || (sg > 0), inactive = hi <= 0.0 || (sg < 0);
            if (inactive) {
                set_col(P, ac, 0.0, 0.0);
                glp_set_row_bnds(P, r1, GLP_FR, 0, 0);
                if (hi > 0.0) {                         /* split: z <= 0 */
                    int ind[2] = {0, zc};
                    double val[2] = {0, 1.0};
                    glp_set_mat_row(P, r2, 1, ind, val);
                    glp_set_row_bnds(P, r2, GLP_UP, 0, 0.0);
                    c->kind[zc - 1] = R2_SPLIT_INACTIVE;
                }
            } else if (active) {
                set_col(P, ac, fmax(lo, 0.0), hi);
                glp_set_row_bnds(P, r1, GLP_FX, 0, 0);   /* a - z = 0 */
                if (lo < 0.0) {                         /* split: z >= 0 */
                    int ind[2] = {0, zc};
                    double val[2] = {0, 1.0};
                    glp_set_mat_row(P, r2, 1, ind, val);
                    glp_set_row_bnds(P, r2, GLP_LO, 0.0, 0);
                    c->kind[zc - 1] = R2_SPLIT_ACTIVE;
                }
            } else {
                /* a <= s z + t with s >= u/(u-l) and t >= s (-l): the
                 * denominator rounded down (as -(l - u) rounded up), the
                 * quotient and product up.  One FE_UPWARD scope: GCC may
                 * move arithmetic across a fesetround call in spite of
                 * -frounding-math (it computed u - l after the switch to
                 * FE_UPWARD when this switched from FE_DOWNWARD). */
                int save = cn_round_push(FE_UPWARD);
                double den = -(lo - hi);
                double sl = hi / den;
                double t = sl * -lo;
                cn_round_pop(save);
                set_col(P, ac, 0.0, hi);
                glp_set_row_bnds(P, r1, GLP_LO, 0, 0);   /* a - z >= 0 */
                int ind[3] = {0, ac, zc};
                double val[3] = {0, 1.0, -sl};
                glp_set_mat_row(P, r2, 2, ind, val);
                glp_set_row_bnds(P, r2, GLP_UP, 0, t);   /* a - s z <= t */
                c->s[zc - 1] = sl;
                c->kind[zc - 1] = R2_TRIANGLE;
            }
        }
    }
    return true;
}

/* Replaces the linear input rows by the region's.  Each constraint
 * sum coef x <= rhs is relaxed soundly: coefficients rounded to nearest and
 * the right-hand side enlarged by the rounding error over the box. */
static cn_status setup_lin(lp_ctx *c, const lp_region *r, cn_err *err)
{
    glp_prob *P = c->P;
    if (c->n_lin_rows || r->n_lin)
        conj_drop(c); /* they follow the linear rows */
    if (c->n_lin_rows) {
        int *del = cn_mallocarray((size_t)c->n_lin_rows + 1, sizeof(int));
        if (!del)
            return cn_fail(err, CN_ENOMEM, "out of memory");
        for (int k = 0; k < c->n_lin_rows; k++)
            del[k + 1] = c->n_rows_net + k + 1;
        glp_del_rows(P, c->n_lin_rows, del);
        cn_free(del);
        c->n_lin_rows = 0;
    }
    if (r->n_lin == 0)
        return CN_OK;
    double *ny = cn_reallocarray(c->y, (size_t)(c->n_rows_net + r->n_lin) + 1, sizeof(double));
    if (!ny)
        return cn_fail(err, CN_ENOMEM, "out of memory");
    c->y = ny;
    glp_add_rows(P, r->n_lin);
    c->n_lin_rows = r->n_lin;
    mpq_t e, t;
    mpq_init(e);
    mpq_init(t);
    for (int q = 0; q < r->n_lin; q++) {
        const prop_lin *a = &r->lin[q];
        /* coef_d = nearest double; the exact constraint sum coef x <= rhs
         * implies sum coef_d x <= rhs + sum |coef_d - coef| max|x|. */
        mpq_set(e, a->rhs);
        int len = 0;
        for (int k = 0; k < a->n; k++) {
            double cd = mpq_get_d(a->coef[k]);
            mpq_set_d(t, cd);
            mpq_sub(t, t, a->coef[k]);
            mpq_abs(t, t);
            double m = fmax(fabs(r->in_lo[a->var[k]]), fabs(r->in_hi[a->var[k]]));
            if (isinf(m) && mpq_sgn(t) != 0) {
                len = -1;   /* unbounded error: drop the constraint (a relaxation) */
                break;
            }
            mpq_t mq;
            mpq_init(mq);
            mpq_set_d(mq, m);
            mpq_mul(t, t, mq);
            mpq_add(e, e, t);
            mpq_clear(mq);
            len++;
            c->ind[len] = a->var[k] + 1;
            c->val[len] = cd;
        }
        int row = c->n_rows_net + q + 1;
        if (len < 0) {
            glp_set_row_bnds(P, row, GLP_FR, 0, 0);
            continue;
        }
        glp_set_mat_row(P, row, len, c->ind, c->val);
        glp_set_row_bnds(P, row, GLP_UP, 0, cn_mpq_get_d_up(e));
    }
    mpq_clear(e);
    mpq_clear(t);
    return CN_OK;
}

/* --- rigorous evaluation of the dual bound ------------------------------- */

/* All of it runs in one FE_UPWARD scope, lower bounds carried negated (as
 * in bounds/): GCC may move arithmetic across a fesetround call in spite
 * of -frounding-math, so no function here switches modes midway. */

typedef struct {
    lp_ctx *c;
    double *acc;
    double sg;
} acc_ctx;

static void acc_entry(void *u, int row, int col, double coef)
{
    acc_ctx *a = u;
    double y = a->sg * a->c->y[row + 1];
    if (y != 0.0)
        a->acc[col] += y * coef;
}

/* acc[j] = sum_r sg y_r A_rj (sg = +-1, exact), rounded up: acc bounds the
 * sum from above (sg = 1) or its negation from above (sg = -1). */
static void accumulate(lp_ctx *c, double *acc, double sg)
{
    memset(acc, 0, sizeof(double) * (size_t)c->n_cols);
    acc_ctx a = {c, acc, sg};
    for (int i = 0; i < c->L; i++) {
        const net_layer *l = net_layer_at(c->n, i);
        if (l->op != NET_RELU) {
            affine_entries(c, i, acc_entry, &a);
            continue;
        }
        for (int k = 0; k < l->in; k++) {
            int z = c->col_off[i] + k, ac = c->col_off[i + 1] + k;
            double y1 = sg * c->y[c->row_off[i] + 2 * k + 1];
            double y2 = sg * c->y[c->row_off[i] + 2 * k + 2];
            acc[ac] += y1;
            acc[z] += -y1;
            switch (c->kind[z]) {
            case R2_TRIANGLE:
                acc[ac] += y2;
                acc[z] += y2 * -c->s[z];
                break;
            case R2_SPLIT_ACTIVE:
            case R2_SPLIT_INACTIVE:
                acc[z] += y2;
                break;
            default:
                break;
            }
        }
    }
    for (int q = 0; q < c->n_lin_rows; q++) {
        int row = c->n_rows_net + q + 1;
        double y = sg * c->y[row];
        if (y == 0.0)
            continue;
        int len = glp_get_mat_row(c->P, row, c->ind, c->val);
        for (int t = 1; t <= len; t++)
            acc[c->ind[t] - 1] += y * c->val[t];
    }
}

/* -(min over v in [vl, vu] and d in [dl, dh] of d*v), rounded up: the
 * max of (-d) v over the corners (FE_UPWARD). */
static double neg_min_prod(double dl, double dh, double vl, double vu)
{
    if (dl == 0.0 && dh == 0.0)
        return 0.0;
    double m = -INFINITY;
    double ds[2] = {dl, dh}, vs[2] = {vl, vu};
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            double p = (ds[a] == 0.0 || vs[b] == 0.0) ? 0.0 : (-ds[a]) * vs[b];
            if (p > m)
                m = p;
        }
    return m;
}

static double col_bound(glp_prob *P, int j, bool upper)
{
    int t = glp_get_col_type(P, j);
    if (upper)
        return (t == GLP_UP || t == GLP_DB || t == GLP_FX) ? glp_get_col_ub(P, j) : INFINITY;
    return (t == GLP_LO || t == GLP_DB || t == GLP_FX) ? glp_get_col_lb(P, j) : -INFINITY;
}

static double row_bound(glp_prob *P, int i, bool upper)
{
    int t = glp_get_row_type(P, i);
    if (upper)
        return (t == GLP_UP || t == GLP_DB || t == GLP_FX) ? glp_get_row_ub(P, i) : INFINITY;
    return (t == GLP_LO || t == GLP_DB || t == GLP_FX) ? glp_get_row_lb(P, i) : -INFINITY;
}

/* The right-hand side of the bound in lp.h for the multipliers in c->y[1..]
 * (overwritten: unusable signs become 0, output rows become cy). */
static double bound_from_y(lp_ctx *c, const double *cy, double d)
{
    glp_prob *P = c->P;
    int n_rows = c->n_rows_net + c->n_lin_rows;
    for (int i = 1; i <= n_rows; i++) {
        double y = c->y[i];
        if (!isfinite(y) || (y > 0.0 && isinf(row_bound(P, i, false))) ||
            (y < 0.0 && isinf(row_bound(P, i, true))))
            y = 0.0;
        c->y[i] = y;
    }
    /* Output rows: y = c exactly, so the free output columns cancel. */
    int L = c->L;
    const net_layer *last = net_layer_at(c->n, L - 1);
    if (last->op != NET_RELU)
        for (int o = 0; o < last->out; o++)
            c->y[c->row_off[L - 1] + o + 1] = cy[o];

    int saved = cn_round_push(FE_UPWARD);
    accumulate(c, c->up, 1.0);    /* up_j >= (A^T y)_j */
    accumulate(c, c->dn, -1.0);   /* -dn_j <= (A^T y)_j */
    /* nt = -total, rounded up */
    double nt = -d;
    for (int i = 1; i <= n_rows; i++) {
        double y = c->y[i];
        if (y > 0.0)
            nt += (-y) * row_bound(P, i, false);
        else if (y < 0.0)
            nt += (-y) * row_bound(P, i, true);
    }
    int out0 = c->col_off[L];
    for (int j = 0; j < c->n_cols; j++) {
        double cj = (j >= out0) ? cy[j - out0] : 0.0;
        double dl = -(c->up[j] + -cj);   /* <= cj - (A^T y)_j */
        double dh = cj + c->dn[j];       /* >= cj - (A^T y)_j */
        double vl = col_bound(P, j + 1, false), vu = col_bound(P, j + 1, true);
        nt += neg_min_prod(dl, dh, vl, vu);
        if (isnan(nt) || nt == INFINITY)
            break;
    }
    cn_round_pop(saved);
    return isnan(nt) ? -INFINITY : -nt;
}

/* The bound from GLPK's row duals. */
static double rigorous_bound(lp_ctx *c, const double *cy, double d)
{
    int n_rows = c->n_rows_net + c->n_lin_rows;
    for (int i = 1; i <= n_rows; i++)
        c->y[i] = glp_get_row_dual(c->P, i);
    return bound_from_y(c, cy, d);
}

/* After the dual simplex reports no primal feasible point: the basic
 * variable k that cannot be made feasible has the tableau row
 * x_k = sum_j alpha_j x_j (non-basic j), a combination of the rows with
 * multipliers y_k = 1 (when x_k is a row's auxiliary variable) and
 * y_i = -alpha_i for non-basic auxiliary variables.  Evaluated rigorously
 * with a zero objective (for y and -y), a positive value is a Farkas
 * certificate: the subproblem is empty.  Returns that value or -inf. */
static double farkas_bound(lp_ctx *c)
{
    glp_prob *P = c->P;
    int n_rows = c->n_rows_net + c->n_lin_rows, n_all = n_rows + c->n_cols;
    int k = glp_get_unbnd_ray(P);
    if (k <= 0 || k > n_all + c->n_conj + 1)
        return -INFINITY;
    /* (with conjunction rows present, the problem has n_conj + 1 more
     * variables: the buffers hold them; their multipliers stay 0, which
     * only weakens the bound) */
    size_t n_buf = (size_t)n_all + (size_t)c->n_conj + 2;
    int *ind = cn_mallocarray(n_buf, sizeof(int));
    double *val = cn_mallocarray(n_buf, sizeof(double));
    double best = -INFINITY;
    if (ind && val && glp_bf_exists(P)) {
        int len = glp_eval_tab_row(P, k, ind, val);
        for (int sign = 1; sign >= -1; sign -= 2) {
            for (int i = 1; i <= n_rows; i++)
                c->y[i] = 0.0;
            if (k <= n_rows)
                c->y[k] = sign;
            for (int t = 1; t <= len; t++)
                if (ind[t] <= n_rows)
                    c->y[ind[t]] = -sign * val[t];
            double b = bound_from_y(c, c->zero_out, 0.0);
            if (b > best)
                best = b;
        }
    }
    cn_free(ind);
    cn_free(val);
    return best;
}

static void init_smcp(glp_smcp *p, const lp_opts *o)
{
    glp_init_smcp(p);
    p->msg_lev = GLP_MSG_OFF;
    p->meth = GLP_DUALP;
    if (o && o->it_lim > 0)
        p->it_lim = o->it_lim;
    if (o && o->tm_lim_ms > 0)
        p->tm_lim = o->tm_lim_ms;
}

/* glp_simplex, retrying from a fresh basis when the old one is unusable. */
static int solve(glp_prob *P, const glp_smcp *parm)
{
    int term = glp_term_out(GLP_OFF); /* glp_adv_basis prints whatever msg_lev says */
    int ret = glp_simplex(P, parm);
    if (ret == GLP_EBADB || ret == GLP_ESING || ret == GLP_ECOND) {
        glp_adv_basis(P, 0);
        ret = glp_simplex(P, parm);
        if (ret == GLP_ESING || ret == GLP_ECOND) {
            glp_std_basis(P);
            ret = glp_simplex(P, parm);
        }
    }
    glp_term_out(term);
    return ret;
}

static cn_status lower_bound_run(lp_ctx *c, const lp_region *r, const lp_opts *o,
                                 const double *cy, double d, lp_outcome *outcome, double *lb,
                                 double *x_opt, cn_err *err)
{
    if (!setup_region(c, r)) {
        *outcome = LP_BOUND;
        *lb = INFINITY;     /* a split contradicts sound bounds: no point */
        return CN_OK;
    }
    cn_status st = setup_lin(c, r, err);
    if (st != CN_OK)
        return st;
    conj_off(c);
    c->conj_ok = false;
    int L = c->L, out0 = c->col_off[L];
    for (int j = 0; j < c->n_cols; j++)
        glp_set_obj_coef(c->P, j + 1, j >= out0 ? cy[j - out0] : 0.0);
    glp_set_obj_coef(c->P, 0, d);
    glp_smcp parm;
    init_smcp(&parm, o);
    int ret = solve(c->P, &parm);
    double b = rigorous_bound(c, cy, d);
    if (x_opt)
        for (int k = 0; k < c->size[0]; k++) {
            double v = glp_get_col_prim(c->P, k + 1);
            x_opt[k] = fmin(fmax(v, r->in_lo[k]), r->in_hi[k]);
        }
    if (ret == 0 && glp_get_status(c->P) == GLP_NOFEAS && farkas_bound(c) > 0.0)
        b = INFINITY; /* certified empty */
    *outcome = b == -INFINITY ? LP_FAILED : LP_BOUND;
    *lb = b;
    return CN_OK;
}

/* The conjunction rows C_k y - t <= rr_k and the column t, kept between
 * calls (deleting them would leave GLPK without a valid basis to warm start
 * from); while unused the rows are free and t is fixed at 0. */
static void conj_drop(lp_ctx *c)
{
    if (c->n_conj == 0)
        return;
    int n = c->n_conj, first = c->n_rows_net + c->n_lin_rows + 1;
    for (int k = 0; k < n; k++)
        c->ind[k + 1] = first + k;
    glp_del_rows(c->P, n, c->ind);
    int dc[2] = {0, c->n_cols + 1};
    glp_del_cols(c->P, 1, dc);
    c->n_conj = 0;
}

static void conj_off(lp_ctx *c)
{
    if (c->n_conj == 0)
        return;
    int first = c->n_rows_net + c->n_lin_rows + 1;
    for (int k = 0; k < c->n_conj; k++)
        glp_set_row_bnds(c->P, first + k, GLP_FR, 0.0, 0.0);
    glp_set_col_bnds(c->P, c->n_cols + 1, GLP_FX, 0.0, 0.0);
    glp_set_obj_coef(c->P, c->n_cols + 1, 0.0);
}

static cn_status conj_solve_run(lp_ctx *c, const lp_region *r, const lp_opts *o, int m,
                                const double *C, const double *rr, double *lambda,
                                double *t_opt, double *x_opt, cn_err *err)
{
    for (int k = 0; k < m; k++)
        lambda[k] = 0.0;
    *t_opt = -INFINITY;
    c->conj_ok = false;
    if (!setup_region(c, r)) {
        *t_opt = INFINITY; /* a split contradicts the sound bounds */
        return CN_OK;
    }
    cn_status st = setup_lin(c, r, err);
    if (st != CN_OK)
        return st;
    glp_prob *P = c->P;
    int L = c->L, out0 = c->col_off[L], n_out = c->size[L];
    if (m > c->max_row_len - 1 || n_out + 1 > c->max_row_len)
        return cn_fail(err, CN_EUNSUPPORTED, "LP: a conjunction of %d rows is too long", m);
    if (c->n_conj != m) {
        conj_drop(c);
        glp_add_cols(P, 1);
        glp_add_rows(P, m);
        c->n_conj = m;
    }
    int tcol = c->n_cols + 1, row0 = c->n_rows_net + c->n_lin_rows + 1;
    for (int j = 0; j < c->n_cols; j++)
        glp_set_obj_coef(P, j + 1, 0.0);
    glp_set_obj_coef(P, 0, 0.0);
    /* t is free: the rows bound it below (the outputs are bounded over the box) */
    glp_set_col_bnds(P, tcol, GLP_FR, 0.0, 0.0);
    glp_set_obj_coef(P, tcol, 1.0);
    for (int k = 0; k < m; k++) {
        int len = 0;
        for (int q = 0; q < n_out; q++)
            if (C[(size_t)k * n_out + q] != 0.0) {
                c->ind[++len] = out0 + q + 1;
                c->val[len] = C[(size_t)k * n_out + q];
            }
        c->ind[++len] = tcol;
        c->val[len] = -1.0;
        glp_set_mat_row(P, row0 + k, len, c->ind, c->val);
        glp_set_row_bnds(P, row0 + k, GLP_UP, 0.0, rr[k]);
    }
    glp_smcp parm;
    init_smcp(&parm, o);
    int ret = solve(P, &parm);
    if (ret == 0 && glp_get_status(P) == GLP_OPT) {
        *t_opt = glp_get_col_prim(P, tcol);
        for (int k = 0; k < m; k++) {
            double y = -glp_get_row_dual(P, row0 + k);
            lambda[k] = isfinite(y) && y > 0.0 ? y : 0.0;
        }
        int n_rows = c->n_rows_net + c->n_lin_rows;
        for (int i = 1; i <= n_rows; i++)
            c->y[i] = glp_get_row_dual(P, i);
        c->conj_ok = true;
        if (x_opt)
            for (int k = 0; k < c->size[0]; k++) {
                double v = glp_get_col_prim(P, k + 1);
                x_opt[k] = fmin(fmax(v, r->in_lo[k]), r->in_hi[k]);
            }
    } else if (ret == 0 && glp_get_status(P) == GLP_NOFEAS) {
        *t_opt = INFINITY; /* a guess: lp_lower_bound can prove it */
    }
    return CN_OK;
}

double lp_conj_bound(lp_ctx *c, const double *cy)
{
    if (!c || !c->conj_ok || !cy || !c->P)
        return -INFINITY;
    c->conj_ok = false; /* bound_from_y overwrites the multipliers */
    jmp_buf jb;
    int round = fegetround();
    if (setjmp(jb)) {
        guard_fault(c, round);
        return -INFINITY;
    }
    c->fault[0] = '\0';
    guard_begin(&jb);
    double b = bound_from_y(c, cy, 0.0);
    guard_end();
    return b;
}

/* ---- the guarded entries (see "GLPK faults") ---------------------------------- */

cn_status lp_lower_bound(lp_ctx *c, const lp_region *r, const lp_opts *o, const double *cy,
                         double d, lp_outcome *outcome, double *lb, double *x_opt, cn_err *err)
{
    CN_REQUIRE(c && r && cy && outcome && lb, "context, region, objective and outputs");
    c->fault[0] = '\0';
    cn_status st = revive(c, err);
    if (st != CN_OK)
        return st;
    jmp_buf jb;
    int round = fegetround();
    if (setjmp(jb)) {
        guard_fault(c, round);
        *outcome = LP_FAILED;
        *lb = -INFINITY;
        return CN_OK;
    }
    guard_begin(&jb);
    st = lower_bound_run(c, r, o, cy, d, outcome, lb, x_opt, err);
    guard_end();
    return st;
}

cn_status lp_conj_solve(lp_ctx *c, const lp_region *r, const lp_opts *o, int m, const double *C,
                        const double *rr, double *lambda, double *t_opt, double *x_opt,
                        cn_err *err)
{
    CN_REQUIRE(c && r && m > 0 && C && rr && lambda && t_opt, "context, region and rows");
    c->fault[0] = '\0';
    c->conj_ok = false;
    cn_status st = revive(c, err);
    if (st != CN_OK)
        return st;
    jmp_buf jb;
    int round = fegetround();
    if (setjmp(jb)) {
        guard_fault(c, round);
        for (int k = 0; k < m; k++)
            lambda[k] = 0.0;
        *t_opt = -INFINITY; /* failed */
        return CN_OK;
    }
    guard_begin(&jb);
    st = conj_solve_run(c, r, o, m, C, rr, lambda, t_opt, x_opt, err);
    guard_end();
    return st;
}

static cn_status milp_run(lp_ctx *c, const net *n, const lp_region *r, const lp_opts *o,
                          const double *cy, double d, lp_outcome *outcome, double *min,
                          double *x_opt, cn_err *err);

cn_status lp_milp_min(const net *n, const lp_region *r, const lp_opts *o, const double *cy,
                      double d, lp_outcome *outcome, double *min, double *x_opt, cn_err *err)
{
    CN_REQUIRE(n && r && cy && outcome && min, "network, region, objective and outputs");
    lp_ctx *c = lp_ctx_new(n, err);
    if (!c)
        return err ? err->status : CN_ENOMEM;
    jmp_buf jb;
    int round = fegetround();
    if (setjmp(jb)) {
        guard_fault(c, round);
        lp_ctx_free(c); /* (its problem object went with the environment) */
        *outcome = LP_FAILED;
        *min = -INFINITY;
        return CN_OK;
    }
    guard_begin(&jb);
    cn_status st = milp_run(c, n, r, o, cy, d, outcome, min, x_opt, err);
    guard_end();
    lp_ctx_free(c);
    return st;
}

/* lp_milp_min inside its guard (c is freed by the caller). */
static cn_status milp_run(lp_ctx *c, const net *n, const lp_region *r, const lp_opts *o,
                          const double *cy, double d, lp_outcome *outcome, double *min,
                          double *x_opt, cn_err *err)
{
    if (!setup_region(c, r)) {
        *outcome = LP_INFEASIBLE;
        *min = INFINITY;
        return CN_OK;
    }
    cn_status st = setup_lin(c, r, err);
    if (st != CN_OK)
        return st;
    glp_prob *P = c->P;
    /* Unstable neurons: binary delta and big-M rows
     *   a <= z - l (1 - delta)   i.e.  a - z - l delta <= -l
     *   a <= u delta             i.e.  a - u delta <= 0
     * replacing the triangle's upper line. */
    for (int i = 0; i < c->L; i++) {
        const net_layer *l = net_layer_at(n, i);
        if (l->op != NET_RELU)
            continue;
        for (int k = 0; k < l->in; k++) {
            int zc = c->col_off[i] + k + 1, ac = c->col_off[i + 1] + k + 1;
            if (c->kind[zc - 1] != R2_TRIANGLE)
                continue;
            double lo = glp_get_col_lb(P, zc), hi = glp_get_col_ub(P, zc);
            int dcol = glp_add_cols(P, 1);
            glp_set_col_kind(P, dcol, GLP_BV);
            int r2 = c->row_off[i] + 2 * k + 2;
            int ind[4] = {0, ac, zc, dcol};
            double val[4] = {0, 1.0, -1.0, -lo};
            glp_set_mat_row(P, r2, 3, ind, val);
            glp_set_row_bnds(P, r2, GLP_UP, 0, -lo);
            int r3 = glp_add_rows(P, 1);
            int ind3[3] = {0, ac, dcol};
            double val3[3] = {0, 1.0, -hi};
            glp_set_mat_row(P, r3, 2, ind3, val3);
            glp_set_row_bnds(P, r3, GLP_UP, 0, 0.0);
        }
    }
    int out0 = c->col_off[c->L];
    for (int j = 0; j < c->n_cols; j++)
        glp_set_obj_coef(P, j + 1, j >= out0 ? cy[j - out0] : 0.0);
    glp_set_obj_coef(P, 0, d);
    glp_iocp parm;
    glp_init_iocp(&parm);
    parm.msg_lev = GLP_MSG_OFF;
    parm.presolve = GLP_ON;
    if (o && o->tm_lim_ms > 0)
        parm.tm_lim = o->tm_lim_ms;
    int ret = glp_intopt(P, &parm);
    int s = glp_mip_status(P);
    if (ret == 0 && s == GLP_OPT) {
        *outcome = LP_BOUND;
        *min = glp_mip_obj_val(P);
        if (x_opt)
            for (int k = 0; k < c->size[0]; k++)
                x_opt[k] = glp_mip_col_val(P, k + 1);
    } else if (s == GLP_NOFEAS || ret == GLP_ENOPFS) {
        *outcome = LP_INFEASIBLE;
        *min = INFINITY;
    } else {
        *outcome = LP_FAILED;
        *min = -INFINITY;
    }
    return CN_OK;
}

/* bounds_int.h — internals shared by the files of bounds/ (not for other modules).
 *
 * Notation: z_0 = x, z_{i+1} = L_i(z_i); layer i has input width in and
 * output width out.  Convolutions are stored as their dense unrolling, so
 * every non-ReLU layer is "affine": z' = W z + b, W [out x in] row-major.
 *
 * All arithmetic on bounds happens in an FE_UPWARD scope.  A lower bound L is
 * carried negated ("nc" = -L, only ever rounded up); BLAS products carry the
 * a-priori error bound described in bounds.h.
 */
#ifndef CERTNN_BOUNDS_INT_H
#define CERTNN_BOUNDS_INT_H

#include "bounds/bounds.h"

/* Unit roundoff valid for every IEEE rounding mode, and the subnormal step. */
#define BND_U 0x1p-52
#define BND_ETA 0x1p-1074

enum { BND_ST_INACTIVE = 0, BND_ST_ACTIVE = 1, BND_ST_UNSTABLE = 2 };

typedef struct {
    bool relu;
    bool pool;                  /* a max pooling layer (pool.c): neither
                                   relu nor affine; W, b NULL */
    int in, out;
    const double *W, *b;        /* affine: [out*in], [out] (borrowed or owned);
                                   W is NULL for a convolution that is not
                                   unrolled (conv.c: bnd__conv_dense) */
    double *W_own, *b_own;      /* conv unrolling, owned */
    int relu_off;               /* relu: index of its first neuron among all ReLUs */
    bool fused;                 /* relu whose previous layer is affine: the
                                   backward ReLU step also adds that layer's
                                   bias and error terms */

    /* Per call (relu layers, over the layer's input z_i; every array [in],
     * full width, so the backward step is one branch-free loop).  For a
     * coefficient lambda of relu(z_j):
     *     lambda >= 0:  lambda relu(z) >= (lambda al[j]) z
     *     lambda <  0:  lambda relu(z) >= (lambda sn[j]) z + lambda cn[j]
     * inactive: al = sn = cn = 0; active: al = sn = 1, cn = 0; unstable:
     * al = lower slope, sn = ua, cn = uc. */
    signed char *st;            /* BND_ST_* */
    double *ua, *uc;            /* upper line a x + c (unstable only) */
    double *al, *sn, *cn;       /* see above */
    double *em;                 /* mag for unstable (product error weight), else 0 */
    int *idx, na;               /* alive (not inactive) neurons */
    double eta_unst;            /* eta * sum of mag over unstable, rounded up */
    bool wc_ok;                 /* Wc, bc hold this call's alive rows */
    double *Wc, *bc;            /* fused: alive rows of the previous layer's W, b
                                   (built on demand, for BLAS) */

    /* Enclosure of the file's values (models.h, net_layer): affine layers
     * whose radius is not zero (encl), else all zero / NULL.  The exact
     * layer is z' = W z + b + e with, for |z_k| <= mag_k,
     *     |e_o| <= E_o = wrel (|W| mag)_o + wabs sum_k mag_k + brad[o]   (E)
     * (a convolution's |W| mag over its dense unrolling; wabs times the sum
     * over all inputs bounds the sum over the receptive field). */
    bool encl;
    double wrel, wabs;
    const double *brad;         /* [out] or NULL (borrowed, or brad_own) */
    double *brad_own;           /* conv: brad[cout] spread over the outputs */

    /* Per call (affine layers). */
    double *e;                  /* encl: [out] E_o over mag_in, rounded up */
    double *v;                  /* [out] gamma_out * (|W| mag_in) + E, rounded up */
    bool v_ok;                  /* v computed this call (bnd__ensure_v) */
    double k;                   /* 2 out eta sum(mag_in), rounded up */

    /* Max pooling (pool.c): windows pwin [out * pk] (input indices), and per
     * call the relaxation of each output: parg the input with the largest
     * lower bound, pdec whether it is the max on the whole region, pu the
     * upper bound (max of the window's uppers). */
    /* Convolutions (conv.c): the taps, for the products done over them
     * (NULL for a dense layer); cf the filters [cout * cfan], chw = oh*ow. */
    net_conv_map *cm;
    int cfan, cout, chw;
    /* affine: one[o] = row o has exactly one nonzero weight (a residual
     * block's copy of its input, models/onnx_residual.c), or NULL when no
     * row does: interval propagation is already the best bound there */
    unsigned char *one;
    const double *cf;
    double *cx, *cy;            /* conv workspaces (conv.c, conv_init) */
    /* conv with strides 1: the filters per tap [kh*kw][cout][cin], and
     * where output o sits on the padded grid of the products (conv.c);
     * NULL otherwise */
    double *cft;
    int *cpk;
    const net_layer *cl;        /* the convolution (its geometry; borrowed) */

    int pk;
    bool poverlap;              /* windows overlap (stride < kernel) */
    int *pwin, *parg;
    bool *pdec;
    double *pu;
} bnd__layer;

/* Per-row slopes for alpha-CROWN: a[i] is [R x in_i] for relu layer i (NULL
 * otherwise).  rec[i] records the coefficients over z_{i+1} entering relu
 * layer i; rec0 the coefficients over z_0. */
typedef struct {
    int R, s;
    double **a, **g, **m1, **m2;
    double **rec, *rec0;
    double *lbt;                /* [R] bounds of the current iterate */
    /* beta.c (bnd_run_param): split multipliers b[i] [R x in_i] of relu
     * layer i, applied when beta_on to the split neurons (split, global
     * order), with their gradient gb and Adam moments. */
    bool beta_on;
    const signed char *split;
    double **b, **gb, **bm1, **bm2;
    /* ui[i] [in_i]: the nu[i] unstable neurons of relu layer i, in order
     * (bnd__alpha_unstable), the only slopes Adam moves; si[i] [in_i] the
     * ns[i] split neurons, the only multipliers it moves (beta.c) */
    int **ui, *nu, **si, *ns;
} bnd__alpha;

/* act.c: bounds for networks with sigmoid/tanh layers. */
typedef struct bnd__act bnd__act;

/* batch.c: bnd_run_batch's per-region states and workspaces. */
typedef struct bnd__batch bnd__batch;
void bnd__batch_free(bnd_ctx *c);                          /* none is fine */

struct bnd_ctx {
    const net *n;
    bnd__act *act;              /* networks with smooth layers (act.c), else NULL */
    bnd__batch *bt;             /* bnd_run_batch's workspaces (batch.c), or NULL */
    bool last_ok;               /* the last bnd_run was linear, feasible, finite */
    int param_rows;             /* rows of al.rec from the last finished bnd_run_param (0: none) */
    bnd_claim_fn claim;         /* bnd_run_tight's callback during its run, or NULL */
    void *claim_user;
    unsigned char *claim_q;     /* [n_relus] */
    double *tight_lb;           /* [2 maxw] CROWN's rows before optimisation */
    const signed char *last_split; /* its region's splits (borrowed) or NULL */
    int nl, n_in, n_out, maxw, n_relus;
    const double *l2_c;         /* bnd_region's L2 ball during bnd_run, or NULL */
    double l2_r;
    bnd__layer *L;              /* [nl] */
    double **lo, **hi, **mag;   /* [nl+1][width of z_i] */
    const bnd_opts *run_o;      /* the options of the run in progress (its deadline, stop) */
    bool halted;                /* that run was stopped (bnd__halted) */
    bool nomem;                 /* that run stopped because a row workspace
                                   could not grow (bnd_run: CN_ENOMEM) */
    bool blown;                 /* some intermediate bound is not finite */
    int blown_at;               /* first such z_i */
    bool infeasible;

    /* Row workspaces (reserved by bnd_ctx_new, rows_up_front; grow only,
     * to the rows a run asks for: the query rows, and two per neuron
     * bounded by back-substitution in a layer). */
    int cap_rows;
    double *A, *B;              /* [cap_rows * maxw] */
    double *nc, *ncr, *best, *chk; /* [cap_rows] */
    bool *dead;                 /* [cap_rows] */
    int *row_j;                 /* [cap_rows] intermediate rows: neuron */
    signed char *row_sgn;       /* [cap_rows] +1 lower row, -1 upper row */
    double *row_lb;             /* [cap_rows] */

    bnd__alpha al;              /* alpha workspaces (grow only) */
    int al_cap_rows;

    /* bnd_input_coef: [cap_rows * n_in] coefficients over z_0 of the last
     * run's query rows; coef_m rows valid (0 = none). */
    double *coef;
    int coef_m;

    /* Reduced coordinates (reduced.c), allocated when red_ok. */
    bool red_ok;                /* the network's shape allows it */
    bool red_on;                /* in use for the current run */
    int red_cap, ncols;         /* max and current number of columns */
    double **rZ, **rB, **rE;    /* [nl] affine layers a: [out * ncols_a], [out], [out] */
    int *rW;                    /* [nl] ncols_a: width of rZ[a] rows */
    double *rS;                 /* [nl] sum of magv over the first ncols_a columns */
    int *col_layer, *col_j;     /* [red_cap] column -> relu layer, neuron */
    double *magv;               /* [red_cap] bound on |column variable| */
    double *rh;                 /* [maxw] workspace */
    double *rT0, *rT1;          /* [maxw * (red_cap + 1)] extension workspaces */
    int red_rows;               /* capacity of the row workspaces below */
    double *rG;                 /* [red_cap * red_rows] rows, column-major */
    double *rnc, *rer, *rue, *rp; /* [red_rows] per-row sums, products */
};

/* Below this many rows a backward affine product is done by the kernels of
 * kernel.c (skipping zero coefficients) instead of BLAS. */
#define BND_SMALL_ROWS 24

/* kernel.c — the inner loops, vectorised where the compiler allows.  Every
 * sum is accumulated in an unspecified order: called in the FE_UPWARD scope,
 * each product and each addition rounds up, so any order yields an upper
 * bound of the exact sum. */
/* IBP of one affine layer: for each output o, with w = W[o] (rounded up):
 *   ohi[o] = b + sum max(w lo, w hi),  -olo[o] = -b + sum max(-w lo, -w hi),
 *   av[o] = sum |w| x2  (only if x2 is not NULL). */
void bnd__k_ibp(int in, int out, const double *W, const double *b, const double *lo,
                const double *hi, const double *x2, double *olo, double *ohi, double *av);
/* Backward ReLU step of one row lam[n] (see bnd__layer): writes
 * p[j] = lam[j] * (lam[j] >= 0 ? sp[j] : sn[j]) and the sums (rounded up)
 *   out[0] = sum (-lam[j]) cn[j] over lam[j] < 0     (upper-line constants)
 *   out[1] = sum |p[j]| em[j]                          (product error weight)
 *   out[2] = sum (-p[j]) b[j],  out[3] = sum |p[j]| v[j]   (b, v not NULL).
 * A non-finite lam[j] makes out[1] non-finite (em = 0 gives NaN). */
void bnd__k_relu_row(int n, const double *lam, const double *sp, const double *sn,
                     const double *cn, const double *em, const double *b, const double *v,
                     double *p, double out[4]);
/* out[0] = sum (-lam) b, out[1] = sum |lam| v (rounded up). */
void bnd__k_affine_row(int n, const double *lam, const double *b, const double *v,
                       double out[2]);
/* sum max((-lam) lo, (-lam) hi) rounded up, i.e. -(min of lam.x over the box);
 * *abs_sum = sum |lam| (to detect non-finite coefficients). */
/* (L2) of bounds.h for one row: the negated lower bound of lam . x over the
 * ball (centre c, radius r), rounded up (FE_UPWARD scope): sum -lam_j c_j +
 * r sqrt(sum lam_j^2); stride: distance between a row's entries (1 for a
 * row-major row, R for a column of the reduced coordinates).  +inf or NaN
 * when it could not be formed. */
double bnd__l2_neg_lb(int n, const double *lam, size_t stride, const double *c, double r);
double bnd__k_concretise(int n, const double *lam, const double *lo, const double *hi,
                         double *abs_sum);
/* bnd__k_concretise of the row q = q0 + sum_e a[e] rows[e] (each entry
 * formed in any rounding, then concretised like bnd__k_concretise): batch.c,
 * a common row plus a region's few differing columns. */
double bnd__k_concretise_upd(int n, const double *q0, int nd, const double *const *rows,
                             const double *a, const double *lo, const double *hi,
                             double *abs_sum);
/* y += a x */
void bnd__k_axpy(int n, double a, const double *x, double *y);
/* sum |x| mag, rounded up. */
double bnd__k_absdot(int n, const double *x, const double *mag);
/* reduced.c, R rows at once (vectors over the rows): eliminate one column
 * with coefficients mu[R] (set to 0): p = mu * (mu >= 0 ? al : ua),
 * nc += [mu < 0] (-mu) uc + (-p) Bj + |p| Ej,  er += |p| mz. */
void bnd__k_red_col(int R, double *mu, double al, double ua, double uc, double mz, double Bj,
                    double Ej, double *p, double *nc, double *er);
/* G[m][r] += z[m] p[r] for m < w (G column-major: stride R), and
 * ue[r] += sum_m (|G_new| + |z[m] p[r]|) mag[m], rounded up: 2^-51 ue plus
 * 2 eta sum mag bounds the rounding error of the update (t = fl(z p),
 * G = fl(G + t): each off by at most 2^-51 |result| + eta) measured
 * against |column variable m| <= mag[m]. */
void bnd__k_red_rank1(int w, int R, const double *z, const double *p, double *G,
                      const double *mag, double *ue);
/* s[r] += sum_m max(-G[m][r] lo[m], -G[m][r] hi[m]), chk[r] += sum_m |G[m][r]|. */
void bnd__k_concretise_cols(int n, int R, const double *G, const double *lo, const double *hi,
                            double *s, double *chk);

/* bounds.c: interval lower bounds lb[m] of the rows C y + d (d may be NULL)
 * over the last run's output bounds. */
void bnd__ibp_rows(const bnd_ctx *c, int m, const double *C, const double *d, double *lb);
/* bounds.c: whether the run in progress must stop (its options' deadline
 * has passed or their stop callback says so); once true, true until the
 * run ends.  Callers abandon their work: bnd_run then reports nothing. */
bool bnd__halted(bnd_ctx *c);
/* bounds.c: v of affine layer i, if not computed yet this call. */
void bnd__ensure_v(bnd_ctx *c, int i);
/* bounds.c: the steps of bnd_run's forward pass, for batch.c (same
 * meaning there as in bnd_run): a stopped run's report (every lb -inf,
 * every layer bound -inf / +inf); the interval step of affine layer i with
 * its error vector v and constant k; mag and blown once the bounds of z_i
 * are known; the region's known bounds of z_i; the splits and relaxation of
 * relu layer i (res->unstable counts its unstable neurons). */
void bnd__give_up(bnd_ctx *c, int m, double *lb);
void bnd__ibp_affine(bnd_ctx *c, int i);
void bnd__finish_bounds(bnd_ctx *c, int i);
void bnd__intersect_ref(bnd_ctx *c, const bnd_region *rg, int i);
void bnd__prep_relu(bnd_ctx *c, int i, const bnd_opts *o, const signed char *split,
                    bnd_result *res);

/* backsub.c */
cn_status bnd__ensure_rows(bnd_ctx *c, int R, cn_err *err);
/* Fused relu layer i: fill Wc, bc with the alive rows of layer i-1 (once per
 * call). */
void bnd__ensure_wc(bnd_ctx *c, int i);
/* Back-substitutes R rows "Lambda z_s + const" (Lambda in c->A, width of
 * z_s; c->nc = -const) to the input and writes lower bounds lb[R].  concr:
 * also concretise at every layer passed.  al: per-row slopes and recording
 * (NULL: default slopes).  coef: if not NULL, [R * n_in] OUT: the rows over
 * z_0 (zeros for a row whose bound is -inf). */
void bnd__backsub(bnd_ctx *c, int s, int R, bool concr, bnd__alpha *al, double *lb,
                  double *coef);
/* Gradient of the lower bounds w.r.t. al->a, after bnd__backsub recorded. */
void bnd__alpha_grad(bnd_ctx *c, bnd__alpha *al);

/* reduced.c — CROWN in reduced coordinates (see the file's comment). */
bool bnd__red_eligible(const bnd_ctx *c);
cn_status bnd__red_alloc(bnd_ctx *c);         /* CN_ENOMEM; bnd__red_free cleans */
void bnd__red_free(bnd_ctx *c);
/* Row workspaces for R rows; CN_ENOMEM. */
cn_status bnd__red_ensure_rows(bnd_ctx *c, int R);
/* Start of a run (after the box bounds are final): on = may be used. */
void bnd__red_begin(bnd_ctx *c, bool on);
/* Relu layer i's statuses are final. */
void bnd__red_add_cols(bnd_ctx *c, int i);
/* Before the interval step of affine layer a > 0: the weights h ([in], in
 * c->rh) whose product sum |W_ij| h_j the interval step must leave in
 * c->rE[a] (bnd__k_ibp's x2 / av). */
const double *bnd__red_h(bnd_ctx *c, int a);
/* Representation of affine layer a's output (after its interval step,
 * before its linear bounds). */
void bnd__red_extend(bnd_ctx *c, int a);
/* Lower bounds of the R rows (c->row_j, c->row_sgn) over affine layer a's
 * output, as linear_layer asks them. */
void bnd__red_inter(bnd_ctx *c, int a, int R, double *lb);
/* Lower bounds of the query rows C y + d; coef as bnd__backsub. */
void bnd__red_final(bnd_ctx *c, int m, const double *C, const double *d, double *lb,
                    double *coef);

/* conv.c — a convolution's products over its taps (see the file's comment). */
bool bnd__conv_init(bnd__layer *l, const net_layer *nl);   /* false: out of memory */
/* Whether bnd_ctx_new unrolls the convolutions of c's network into dense
 * matrices: only where a path that reads the dense W runs (sigmoid/tanh
 * networks: act.c; reduced coordinates: reduced.c). */
bool bnd__conv_dense(const bnd_ctx *c);
/* v[o] = sum over the taps of |w| mag (FE_UPWARD scope: an upper bound of
 * the exact (|W| mag)_o, like bnd__k_absdot over the dense row). */
void bnd__conv_absdot(const bnd__layer *l, const double *mag, double *v);
/* Row j of the layer's dense matrix, times sgn (+1 or -1; exact), into
 * row[in] (zeros off the receptive field). */
void bnd__conv_row(const bnd__layer *l, int j, double sgn, double *row);
void bnd__conv_free(bnd__layer *l);
/* bnd__k_ibp of conv layer l over its taps (FE_UPWARD scope). */
void bnd__conv_ibp(bnd__layer *l, const double *lo, const double *hi, const double *x2,
                   double *olo, double *ohi, double *av);
/* Q = P W (R rows; P [R x out], Q [R x in]) over the columns of P that are
 * alive in relu layer L above (L->idx), or all (L NULL). */
void bnd__conv_rows(const bnd__layer *A, const bnd__layer *L, int R, const double *P, double *Q);
/* H[r][t] = b[j] + W[j] . G[r], j = idx[t] (idx NULL: j = t), t < cnt. */
void bnd__conv_fwd(const bnd__layer *A, const int *idx, int cnt, int R, const double *G,
                   double *H);
/* Whether conv.c does this layer's products (always when the layer has no
 * dense matrix; else when the taps are few against the dense row). */
#define BND_CONV_TAPS(A) ((A)->cm && (!(A)->W || (size_t)(A)->cfan * 8 <= (size_t)(A)->in))

/* pool.c — max pooling layers (see the file's comment). */
bool bnd__pool_init(bnd__layer *l, const net_layer *nl);   /* false: out of memory */
void bnd__pool_free(bnd__layer *l);
/* Interval step z_i -> z_{i+1} of pool layer i, and its relaxation. */
void bnd__pool_ibp(bnd_ctx *c, int i);
/* Backward step of pool layer i: rows Lam over z_{i+1} (R x out) -> P over
 * z_i (R x in); nc (and dead) updated. */
void bnd__pool_step(bnd_ctx *c, int i, int R, const double *Lam, double *P);
/* Forward pass of the alpha gradient: G (R x in) -> H (R x out). */
void bnd__pool_grad(const bnd_ctx *c, int i, int R, const double *G, double *H);

/* alpha.c */
cn_status bnd__alpha_ensure(bnd_ctx *c, int R, int s, cn_err *err);
void bnd__alpha_free(bnd_ctx *c);
/* ui / nu of c->al from the layers' current states, and si / ns from
 * c->al.split when beta_on. */
void bnd__alpha_unstable(bnd_ctx *c);
/* One projected Adam step (moments m1, m2, bias corrections p1 = b1^t,
 * p2 = b2^t, b1 = 0.9, b2 = 0.999) on x[ix[k]], k < cnt, with gradient g,
 * projected to [lo, hi]; the other entries are not read. */
void bnd__adam_idx(int cnt, const int *ix, double *x, const double *g, double *m1, double *m2,
                   double step, double p1, double p2, double lo, double hi);
/* Projected Adam on per-row slopes.  load(c, arg) refills c->A / c->nc with
 * the R starting rows over z_s; lb[R] holds the CROWN bounds on entry and
 * the best bounds found on exit.  coef (NULL or [R * n_in]): the rows over
 * z_0 of each row's best iterate replace the entries there. */
void bnd__alpha_opt(bnd_ctx *c, int s, int R, int iters, double lr,
                    void (*load)(bnd_ctx *c, const void *arg), const void *arg, double *lb,
                    double *coef);

/* act.c — networks with sigmoid/tanh layers (net_n_smooth > 0): the whole
 * of bnd_run (interval and linear bounds, the query rows).  bnd__act_new
 * after the layers of c are set up (NULL: out of memory). */
bnd__act *bnd__act_new(const bnd_ctx *c);
void bnd__act_free(bnd__act *a);
cn_status bnd__act_run(bnd_ctx *c, const bnd_opts *o, const bnd_region *rg, int m,
                       const double *C, const double *d, double *lb, bnd_result *res,
                       cn_err *err);

#endif

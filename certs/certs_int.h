/* certs_int.h — internals shared by the files of certs/ (not for other modules). */
#ifndef CERTNN_CERTS_INT_H
#define CERTNN_CERTS_INT_H

#include <jansson.h>

#include "certs/certs.h"

/* relax.c: the network a bounds context was made for. */
const net *cert__bounds_net(const cert_bounds *b);
/* relax_act.c: for a sigmoid/tanh layer (op) with input bounds lo, hi [n]
 * (finite), an enclosure olo, ohi of its outputs and lines with
 * lw z + lc <= f(z) <= uw z + uc on [lo, hi].  Call in FE_DOWNWARD. */
void cert__smooth_relax(net_op op, int n, const double *lo, const double *hi, double *olo,
                        double *ohi, double *lw, double *lc, double *uw, double *uc);
/* Frees the calling thread's MPFR caches (relax_act.c): a checker thread
 * calls it before it exits. */
void cert__thread_exit(void);
/* relax_act.c: the line on one side (up: upper) of f on [l, u] with its
 * tangent at (the grid point nearest to) p instead of cert__smooth_relax's
 * point, where that side is a tangent; false (unchanged) otherwise.
 * cache: CERT_LINE_CACHE doubles per neuron, set to NaN whenever [l, u]
 * changes.  Call in FE_DOWNWARD. */
#define CERT_LINE_CACHE (2 * (3 + 2 * 17))
bool cert__smooth_line_at(net_op op, double l, double u, double p, bool up, double *cache,
                          double *a, double *c);
/* relax.c: affine layer k as the checker holds it (a convolution as its
 * dense matrix): W [out*in] row-major, bias [out], and ne [out] with ne_o
 * <= -E_o over the last region's bounds of z_k (NULL: the layer is exact). */
void cert__bounds_affine(const cert_bounds *b, int k, const double **W, const double **bias,
                         const double **ne);

/* relax.c: linear_affine back-substitutes its rows (2 per neuron it
 * tightens) rows at a time, 1 <= rows <= CERT_BLOCK_MAX (bit-identical
 * bounds for every rows; cert_bounds_new sets CERT_BLOCK_ROWS; 1: one row
 * at a time with the plain steps (back_relu_ref, one output at a time in
 * the intervals), the reference the tests compare with).  Networks with
 * sigmoid/tanh layers always take 1.  CN_ENOMEM (then 1) the only error. */
enum { CERT_BLOCK_ROWS = 16, CERT_BLOCK_MAX = 64 };
cn_status cert__bounds_set_block(cert_bounds *b, int rows) CN_WUR;

/* relax_pool.c: max pooling layer nl in the checker (FE_DOWNWARD scope).
 * Intervals of its outputs olo/ohi [out] from lo/hi [in], with each
 * output's relaxation: arg [out] the input with the largest lower bound,
 * dec [out] whether it is the max on the region; win: [kh*kw] scratch. */
void cert__pool_ibp(const net_layer *nl, const double *lo, const double *hi, double *olo,
                    double *ohi, int *arg, bool *dec, int *win);
/* lam_out [out] over the outputs -> lam_in [in] over the inputs; returns
 * the constant added (a lower bound, NaN if lam_out has a NaN).  uo: the
 * outputs' upper bounds, zl: the inputs' lower bounds; plo, nh: [in]
 * scratch.  lam_in may not alias lam_out. */
double cert__pool_back(const net_layer *nl, const int *arg, const bool *dec, const double *uo,
                       const double *zl, const double *lam_out, double *plo, double *nh,
                       double *lam_in);

/* tree.c: cert_check_tree_mt with queue_bytes of regions (at least one
 * region) before the queue is re-proved and emptied (the tests make it
 * small to re-prove a tree in many chunks). */
cn_status cert__check_tree_chunked(cert_bounds *const *bs, int n_b, size_t queue_bytes,
                                   const prop *p, const cert_tree *t, bool *valid, char *why,
                                   size_t why_len, cert_stats *st, cn_err *err) CN_WUR;

/* doc.c: canonical bytes of a JSON value (section 2 of certs.h), NUL
 * terminated; NULL when out of memory.  Allocated by jansson: release with
 * cert__free_dump. */
char *cert__canonical(const json_t *v);
void cert__free_dump(char *s);

/* doc.c: the JSON form of a proof tree, and back.  cert__tree_from_json
 * fills t (initialised by the caller) or returns false with why[] naming the
 * offending node. */
json_t *cert__tree_to_json(const cert_tree *t);
cn_status cert__tree_from_json(const json_t *nodes, int n_relus, cert_tree *t, bool *ok,
                               char *why, size_t why_len, cn_err *err);

/* par.c: a parameterised refutation item [tag, d, k, ...] (certs.h, cert_par)
 * and back.  cert__par_disj reads d from an item of any known tag (false if
 * the item is not one).  cert__par_from_json: p->kind == CERT_PAR_NONE with
 * why[] set when malformed; CN_ENOMEM otherwise the only error. */
json_t *cert__par_to_json(int disj, const cert_par *p);
bool cert__par_disj(const json_t *item, int *disj);
/* n_relus: the network's, the length of ALPHA's slope list. */
cn_status cert__par_from_json(const json_t *item, int n_relus, cert_par *p, char *why,
                              size_t why_len, cn_err *err);

/* par.c: a tree's "bounds" claims as JSON ([[i, j, s, "LB", "Q"], ...]), and
 * back into t (false with why[] when malformed; CN_ENOMEM the only error). */
json_t *cert__claims_to_json(const cert_tree *t);
cn_status cert__claims_from_json(const json_t *a, int n_relus, cert_tree *t, bool *ok,
                                 char *why, size_t why_len, cn_err *err);

/* doc.c: exact rationals as certificate strings (hex float when a double,
 * else "p/q"), and back (false unless the string is in that exact form). */
json_t *cert__q_json(const mpq_t q);
bool cert__q_parse(const char *s, mpq_t q);

/* sign.c: lowercase hex. */
void cert__hex(const unsigned char *b, size_t n, char *out /* [2n+1] */);
bool cert__unhex(const char *s, unsigned char *b, size_t n);  /* exactly 2n lowercase digits */
/* sign.c: Ed25519 over bytes; verification returns true when valid. */
void cert__sign(const cert_key *k, const char *msg, size_t len, unsigned char sig[64]);
bool cert__verify(const unsigned char pk[32], const char *msg, size_t len,
                  const unsigned char sig[64]);

#endif

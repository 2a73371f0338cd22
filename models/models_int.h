/* models_int.h — internals shared by the files of models/ (not for other modules). */
#ifndef CERTNN_MODELS_INT_H
#define CERTNN_MODELS_INT_H

#include "models/models.h"

struct net {
    net_shape in_shape;
    int n_layers, cap_layers;
    net_layer *layers;            /* [n_layers] */
    /* provenance, see net_info */
    net_format format;
    char *path;                   /* owned, "" when built */
    char sha256[65];
    int in_dims[8], n_in_dims;
    int out_dims[8], n_out_dims;
    char *in_name, *out_name;     /* owned */
    bool fold_exact;
    int folded;
    bool softmax_out;             /* a final Softmax, not among the layers */
    net_nnet_norm *nnet;          /* owned, or NULL */
};

/* Sets the provenance strings (copies them).  Returns CN_ENOMEM on failure. */
cn_status net__set_names(net *n, const char *path, const char *in_name,
                         const char *out_name, cn_err *err);
/* Shape of the next layer's input (the last layer's output, or the input). */
net_shape net__tail_shape(const net *n);

/* eval_mpfr.c: smooth activation op over [lo, hi] enclosed in [flo, fhi]
 * with MPFR at prec bits (flo/fhi may alias lo/hi); and the same for n
 * midpoint-radius values (m, r) into (m2, r2). */
void net__smooth_point(net_op op, long prec, const mpq_t lo, const mpq_t hi, mpq_t flo,
                       mpq_t fhi);
void net__smooth_q(net_op op, long prec, int n, mpq_t *m, mpq_t *r, mpq_t *m2, mpq_t *r2);


/* ---- properties (prop.c, vnnlib.c) — added by the properties work ---- */
struct prop {
    char *name;                   /* owned */
    int n_in, n_out;
    int n_cases;                  /* entries of cases[], each possibly partly built */
    prop_case *cases;             /* [n_cases] */
};
/* Building protocol: arrays are allocated with their final length and the
 * count fields (n_lin, n_disj, prop_conj.n) count only fully initialised
 * entries, so prop_free releases a partly built property. */
prop *prop__alloc(const char *name, int n_in, int n_out, int n_cases); /* NULL: no memory */
bool  prop__case_box(prop_case *c, int n_in);     /* lo, hi (mpq, = 0), lo_d, hi_d */
void  prop__case_round(prop_case *c, int n_in);   /* lo_d/hi_d from lo/hi, outward */
void  prop__case_clear(prop_case *c, int n_in);   /* zeroes *c */
bool  prop__lin_init(prop_lin *l, int n);         /* var/coef [n], coef and rhs = 0 */
void  prop__lin_clear(prop_lin *l);
bool  prop__lin_copy(prop_lin *dst, const prop_lin *src);  /* dst uninitialised */
bool  prop__lin_equal(const prop_lin *a, const prop_lin *b);

#endif

/* models.h — the bottom module of certnn: shared base (cn_), the network IR
 * and its loaders (net_), properties (prop_) and datasets (ds_).
 *
 * Everything above (bounds, attacks, lp, verifier, certs) sees networks and
 * properties only through this header.  The checker in certs/ relies on the
 * exact evaluator and the exact property check declared here, so these stay
 * small and free of any search code.
 *
 * Conventions (see README.md, "Error convention"):
 *   - Misuse is a bug: CN_REQUIRE aborts, naming the function.
 *   - Runtime failure returns a cn_status other than CN_OK and fills a cn_err
 *     whose message names the file, the line / node / field and what was
 *     expected.  Out-parameters are written only on success.
 *   - Indices are 0-based.  Arrays are annotated with their length:
 *     double b[/ *out* /].
 */
#ifndef CERTNN_MODELS_H
#define CERTNN_MODELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <gmp.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define CN_WUR __attribute__((warn_unused_result))
#define CN_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CN_WUR
#define CN_PRINTF(f, a)
#endif

/* ------------------------------------------------------------------------ */
/* Base: status, errors, allocation                                          */
/* ------------------------------------------------------------------------ */

typedef enum {
    CN_OK = 0,
    CN_ENOMEM,      /* an allocation failed; nothing leaked, nothing written  */
    CN_EIO,         /* a file could not be opened or read                    */
    CN_EPARSE,      /* input is malformed (message names file and place)     */
    CN_EUNSUPPORTED,/* input is well formed but uses what certnn cannot do    */
    CN_EINVAL,      /* a runtime value is out of range (e.g. shape mismatch)  */
    CN_ELIMIT,      /* a configured limit (size, terms, time) was exceeded    */
    CN_EINTERNAL    /* an internal consistency check failed                  */
} cn_status;

typedef struct {
    cn_status status;
    char msg[512];
} cn_err;

/* Fills err (if not NULL) and returns status.  The message is one line. */
cn_status cn_fail(cn_err *err, cn_status status, const char *fmt, ...) CN_PRINTF(3, 4);
/* Short English name of a status ("out of memory", "parse error", ...). */
const char *cn_status_str(cn_status s);
/* Resets err to CN_OK with an empty message. */
void cn_err_clear(cn_err *err);

/* Misuse check: aborts with the function name and the message. */
#define CN_REQUIRE(cond, what)                                                  \
    do {                                                                        \
        if (!(cond)) cn__require_failed(__func__, #cond, (what));               \
    } while (0)
_Noreturn void cn__require_failed(const char *func, const char *cond, const char *what);

/* Allocation.  Return NULL on failure (never abort).  Sizes are checked for
 * overflow.  For tests, cn_alloc_fail_after(k) makes the k-th following
 * allocation on this thread fail (k = 0 disables); cn_alloc_live() is the
 * number of live blocks on this thread, for leak accounting. */
void *cn_malloc(size_t n);
void *cn_calloc(size_t count, size_t size);
void *cn_mallocarray(size_t count, size_t size);
void *cn_realloc(void *p, size_t n);
void *cn_reallocarray(void *p, size_t count, size_t size);
char *cn_strdup(const char *s);
void  cn_free(void *p);                 /* NULL is fine */
void  cn_alloc_fail_after(long k);
long  cn_alloc_live(void);

/* Reads a whole file into memory (takes ownership of *data: free with cn_free).
 * A NUL byte is appended after the data (not counted in *len). */
cn_status cn_read_file(const char *path, unsigned char **data, size_t *len, cn_err *err) CN_WUR;

/* Reads a model or property file (cn_read_file) and, when it is gzipped (it
 * begins with gzip's magic bytes 1f 8b, or its name ends in .gz: VNN-COMP
 * ships .onnx.gz and .vnnlib.gz), its decompressed bytes: at most
 * CN_GZ_MAX_BYTES (an ONNX file cannot be larger), else CN_ELIMIT; corrupt or
 * truncated gzip data is CN_EPARSE naming the file.  sha256 (OUT, may be
 * NULL): the hash of the file's bytes as stored (compressed, if so), the
 * hash `sha256sum` prints and certificates bind. */
#define CN_GZ_MAX_BYTES ((size_t)2 << 30)
cn_status cn_read_input(const char *path, unsigned char **data, size_t *len, char sha256[65],
                        cn_err *err) CN_WUR;
/* Decompresses the gzip data in[n] (one or more members) into *data (cn_free;
 * NUL appended, not counted in *len); path names it in messages.  More than
 * max_bytes of output is CN_ELIMIT. */
cn_status cn_gunzip_mem(const unsigned char *in, size_t n, const char *path, size_t max_bytes,
                        unsigned char **data, size_t *len, cn_err *err) CN_WUR;

/* SHA-256 of bytes, as 64 lowercase hex digits plus NUL. */
void cn_sha256_hex(const unsigned char *data, size_t len, char hex[65]);

/* Seconds on the monotonic clock (CLOCK_MONOTONIC), for time limits and
 * measured times: only differences mean anything.  Any rounding mode. */
double cn_now(void);

/* Rounding-mode scope (docs/DESIGN.md: set per thread, saved and restored around
 * each kernel; never parse or print inside).  Usage:
 *     int saved = cn_round_push(FE_UPWARD); ... cn_round_pop(saved); */
int  cn_round_push(int mode);
void cn_round_pop(int saved);

/* Exact conversions. */
void cn_mpq_set_d(mpq_t q, double d);   /* d finite: exact (mpq_set_d is exact) */
/* Nearest double below / above q (directed rounding, exact comparison). */
double cn_mpq_get_d_down(const mpq_t q);
double cn_mpq_get_d_up(const mpq_t q);
/* Parses a decimal or scientific literal ("-0.5", "1e-3", "12") exactly.
 * Returns false if s is not such a literal (s must be the whole token). */
bool cn_mpq_set_decimal(mpq_t q, const char *s, size_t len);

/* ------------------------------------------------------------------------ */
/* Network IR                                                                */
/* ------------------------------------------------------------------------ */
/*
 * A network is a chain of layers L_0 ... L_{k-1} applied to the flattened
 * input x (length net_in_size):   z_0 = x,  z_{i+1} = L_i(z_i),  y = z_k.
 *
 *   NET_DENSE  z' = W z + b      W: [out x in] row-major, b: [out]
 *   NET_CONV   z' = conv(z) + b  2-D convolution on a (c,h,w) tensor stored
 *              channel-major (ONNX NCHW order without N); W: [cout][cin][kh][kw],
 *              b: [cout]; stride, zero padding (top,left,bottom,right),
 *              dilation 1, group 1.
 *   NET_RELU   z' = max(z, 0)    elementwise; in == out.
 *   NET_MAXPOOL z'[c,oy,ox] = max_{ky<kh,kx<kw} z[c, oy*sh+ky, ox*sw+kx]
 *              on a (c,h,w) tensor, no padding, floor rounding (inputs past
 *              the last whole window feed nothing); W = b = NULL.  Max is
 *              rational, so the layer is exact (pool.c).
 *
 * Exactness (docs/DESIGN.md, soundness contract).  Every W and b entry is a double,
 * and the network *is* the rational function those doubles define.  A float32
 * weight converts to double exactly; an NNet decimal is rounded once to the
 * nearest double at load time.  Folding a constant normalisation (Sub, Div,
 * Mul, Add) or BatchNormalization into the neighbouring affine layer computes
 * new doubles, each the exact value rounded once to nearest;
 * net_info.fold_exact tells whether every folded value equals the file's
 * real value.  When it does not, the layers a rounding fold touched carry an
 * enclosure of the file's values (net_layer.wrel/wabs/brad below): W and b
 * are then only nominal, the network verified is the set of networks within
 * the enclosure (which contains the file's), and exact evaluation gives
 * intervals (net_eval_enclose).
 */

typedef enum { NET_DENSE = 1, NET_CONV = 2, NET_RELU = 3,
               NET_SIGMOID = 5, NET_TANH = 6, NET_MAXPOOL = 8 } net_op;

/* NET_SIGMOID  z' = 1 / (1 + exp(-z)),  NET_TANH  z' = tanh(z): elementwise,
 * in == out, "smooth" activations.  They are not rational: the exact
 * evaluator encloses them (eval_mpfr.c), so a network with one is, like a
 * network with an enclosure, known at a point only within rational
 * intervals that shrink as the precision grows (net_eval_enclose_prec). */
static inline bool net_op_smooth(net_op op) { return op == NET_SIGMOID || op == NET_TANH; }
/* Any elementwise activation (ReLU, sigmoid, tanh): in == out, no weights. */
static inline bool net_op_act(net_op op) { return op == NET_RELU || net_op_smooth(op); }

typedef struct {
    int c, h, w;                   /* a vector of n values is (n,1,1) */
} net_shape;

typedef struct {
    net_op op;
    int in, out;                   /* flattened sizes */
    net_shape in_shape, out_shape;
    double *W;                     /* DENSE: [out*in]; CONV: [cout*cin*kh*kw]; RELU: NULL */
    double *b;                     /* DENSE: [out];    CONV: [cout];            RELU: NULL */
    int kh, kw;                    /* CONV and MAXPOOL */
    int stride_h, stride_w;        /* CONV and MAXPOOL */
    int pad_t, pad_l, pad_b, pad_r;/* CONV only */
    /* Enclosure of the file's exact values when folding rounded (DENSE and
     * CONV; all zero / NULL when W and b *are* the file's values, as for
     * every network built in code).  The file's real-number weights W* and
     * biases b* satisfy, entry by entry,
     *     |W*_k - W_k| <= wrel |W_k| + wabs,      |b*_o - b_o| <= brad[o],
     * so the true layer is  z' = W z + b + e  with, for |z_k| <= m_k,
     *     |e_o| <= wrel (|W| m)_o + wabs sum_k m_k + brad[o]            (E)
     * (a CONV row sums over its receptive field only; a DENSE/CONV bias has
     * out / cout entries).  Every sound consumer (bounds, LP, the
     * certificate checker) widens each affine step by (E); the exact
     * evaluator returns an exact rational enclosure (net_eval_enclose). */
    double wrel, wabs;
    double *brad;                  /* [out] DENSE, [cout] CONV, or NULL (owned) */
} net_layer;


/* Convolution taps — the one unrolling of NET_CONV every module uses (conv.c).
 * For a layer with input shape (C,H,Wd), kernel kh x kw, strides (sh,sw) and
 * padding top/left (pt,pl), output (co,oy,ox) is
 *     z'[co,oy,ox] = b[co] + sum_{ci,ky,kx} W[co][ci][ky][kx] z[ci, iy, ix],
 *     iy = oy*sh + ky - pt,   ix = ox*sw + kx - pl,
 * where a tap with (iy,ix) outside the H x Wd input reads the zero padding and
 * is omitted.  Flattened channel-major: input (ci,iy,ix) is (ci*H+iy)*Wd+ix,
 * output (co,oy,ox) is (co*oh+oy)*ow+ox, and W[co][ci][ky][kx] is
 * W[co*fan + (ci*kh+ky)*kw+kx] with fan = C*kh*kw.  The taps of an output
 * depend on its position (oy,ox) only, not on co.  They are listed in
 * (ci,ky,kx) order, the summation order every consumer keeps, so sums in
 * double are the same wherever they are formed. */
typedef struct {
    int in;                        /* flattened input index (ci*H+iy)*Wd+ix */
    int w;                         /* weight offset within a filter, (ci*kh+ky)*kw+kx */
} net_tap;
/* Taps per output and weights per filter: C*kh*kw.  l: NET_CONV. */
int net_conv_fan(const net_layer *l);
/* Writes the taps of output position (oy,ox) to taps[/ *net_conv_fan(l)* /]
 * and returns their number (those not in the padding). */
int net_conv_taps(const net_layer *l, int oy, int ox, net_tap *taps /* OUT */);
/* Every position's taps, computed once for consumers that loop a lot:
 * position p = oy*ow+ox has n[p] taps at tap + p*fan. */
typedef struct {
    int fan;                       /* net_conv_fan */
    int *n;                        /* [oh*ow] */
    net_tap *tap;                  /* [oh*ow*fan] */
} net_conv_map;
cn_status net_conv_map_init(net_conv_map *m /* OUT */, const net_layer *l, cn_err *err) CN_WUR;
void net_conv_map_clear(net_conv_map *m);            /* zeroed or cleared: fine */
/* The layer as a dense matrix: *W [out*in] row-major, every entry a weight or
 * 0 (exact), and *b [out] with b[(co*oh+oy)*ow+ox] = b[co].  Both new (free
 * with cn_free); CN_ENOMEM. */
cn_status net_conv_dense(const net_layer *l, double **W /* OUT */, double **b /* OUT */,
                         cn_err *err) CN_WUR;
/* Max pooling windows (pool.c).  Output o = (c*oh+oy)*ow+ox of a NET_MAXPOOL
 * layer takes the max of the kh*kw inputs (c*H + oy*sh+ky)*Wd + ox*sw+kx,
 * written to idx[/ *kh*kw* /] in (ky,kx) order; returns their number. */
int net_pool_window(const net_layer *l, int o, int *idx /* OUT */);

/* Enclosure (E) of an affine layer, per output: true when its radius is not
 * zero (wrel, wabs or some brad entry); the bias radius of output o, brad[o]
 * for DENSE and brad[co] for output (co,oy,ox) of a CONV (0 without brad). */
bool   net_layer_has_radius(const net_layer *l);
double net_layer_brad(const net_layer *l, int o);


typedef enum { NET_FMT_BUILT = 0, NET_FMT_ONNX, NET_FMT_NNET } net_format;

/* NNet's normalisation block (kept as metadata: the layers take the
 * normalised input, as the ONNX versions of the same networks do). */
typedef struct {
    int n_in;
    double *in_min, *in_max;       /* [n_in] */
    double *in_mean, *in_range;    /* [n_in] */
    double out_mean, out_range;
} net_nnet_norm;

typedef struct net net;            /* opaque */

/* Loads a network, choosing the format from the file's bytes/extension
 * (".nnet" text or ONNX protobuf; either gzipped, cn_read_input).  Takes
 * nothing; returns a new net. */
cn_status net_load(const char *path, net **out, cn_err *err) CN_WUR;
cn_status net_load_onnx(const char *path, net **out, cn_err *err) CN_WUR;
cn_status net_load_nnet(const char *path, net **out, cn_err *err) CN_WUR;
/* Same, from bytes; name is used in messages. */
cn_status net_load_onnx_mem(const unsigned char *data, size_t len, const char *name,
                            net **out, cn_err *err) CN_WUR;
cn_status net_load_nnet_mem(const char *text, size_t len, const char *name,
                            net **out, cn_err *err) CN_WUR;

/* Writes the network as ONNX (opset 13; Gemm/Conv/Relu/Flatten, float32 when
 * every weight is a float32 value, float64 otherwise), so that loading it back
 * gives bit-identical weights.  A network with an enclosure
 * (net_has_enclosure) is refused with CN_EUNSUPPORTED: the file would lose it. */
cn_status net_save_onnx(const net *n, const char *path, cn_err *err) CN_WUR;

/* Building a network in code (tests, training).  net_new makes an empty
 * network with the given input shape; layers are appended in order and the
 * returned layer's W/b (zero-initialised) may be filled in by the caller
 * before the net is used. */
net *net_new(net_shape in_shape);
net_layer *net_add_dense(net *n, int out, cn_err *err);
net_layer *net_add_conv(net *n, int cout, int kh, int kw, int stride_h, int stride_w,
                        int pad_t, int pad_l, int pad_b, int pad_r, cn_err *err);
net_layer *net_add_relu(net *n, cn_err *err);
/* Appends an elementwise activation op (NET_RELU, NET_SIGMOID, NET_TANH). */
net_layer *net_add_act(net *n, net_op op, cn_err *err);
/* Max pooling kh x kw with strides (sh, sw) over the tail's (c,h,w) shape
 * (pool.c); CN_EINVAL when the window is larger than the map or holds more
 * than NET_MAXPOOL_WINDOW values (consumers keep a window on the stack). */
#define NET_MAXPOOL_WINDOW 4096
net_layer *net_add_maxpool(net *n, int kh, int kw, int stride_h, int stride_w, cn_err *err);
void net_free(net *n);                               /* NULL is fine */

/* Accessors (borrowed pointers, valid while n lives). */
int              net_n_layers(const net *n);
const net_layer *net_layer_at(const net *n, int i);
int              net_in_size(const net *n);
int              net_out_size(const net *n);
int              net_n_relus(const net *n);          /* ReLU neurons */
int              net_n_smooth(const net *n);         /* sigmoid/tanh layers */
int              net_max_width(const net *n);        /* max over all layer in/out */
/* True when some layer carries an enclosure (folding rounded): the network
 * is then known only within (E), and exact evaluation gives intervals. */
bool             net_has_enclosure(const net *n);
/* True when some layer of n is a NET_MAXPOOL (modules that cannot bound or
 * encode max pooling refuse such networks with CN_EUNSUPPORTED). */
bool net_has_maxpool(const net *n);
/* True when the ONNX graph ends in a Softmax over all outputs: the layers
 * compute the logits, and only properties that compare outputs pairwise are
 * accepted (prop_softmax_ok; softmax.c). */
bool net_softmax_output(const net *n);

/* Graph view of an ONNX file (onnx_graph.c): every node with its op, name,
 * inputs and inferred output shape, in a topological order independent of
 * the file's node order (by depth, the longest path from the graph input and
 * the constants, then by output name).  A description only: the verified
 * network is the IR net_load builds.  Strings are borrowed from the graph. */
#define NET_GRAPH_MAX_RANK 8
typedef struct {
    const char *name, *op;         /* node name ("" if none), op_type */
    const char *out;               /* first output tensor ("" if none) */
    int n_in;                      /* computed inputs: graph input or node outputs */
    const char **in;               /* [n_in] their tensor names, in input order */
    int n_const;                   /* inputs that are initializers or Constant outputs */
    int depth;                     /* 1 + the deepest computed input's producer depth */
    int nd;                        /* rank of the inferred output shape; -1: unknown */
    int64_t dims[NET_GRAPH_MAX_RANK];
} net_gnode;
typedef struct net_graph net_graph;   /* opaque */
/* Reads the graph of an ONNX file (gzipped or not); CN_EPARSE for a file
 * that is no ONNX model, an undefined input or a cycle, naming the node. */
cn_status net_graph_load(const char *path, net_graph **out, cn_err *err) CN_WUR;
cn_status net_graph_load_mem(const unsigned char *data, size_t len, const char *name,
                             net_graph **out, cn_err *err) CN_WUR;
int              net_graph_n(const net_graph *g);
const net_gnode *net_graph_node(const net_graph *g, int i);   /* 0 <= i < net_graph_n */
const char      *net_graph_input(const net_graph *g);         /* graph input's name */
void             net_graph_free(net_graph *g);                 /* NULL is fine */

typedef struct {
    net_format format;
    const char *path;              /* as given to net_load; "" when built */
    char sha256[65];               /* of the file bytes (as stored: a gzipped file's
                                      compressed bytes); "" when built */
    int in_dims[8], n_in_dims;     /* declared input shape, e.g. [1,1,28,28] */
    int out_dims[8], n_out_dims;
    const char *in_name, *out_name;/* tensor names ("" if none) */
    long params;                   /* weight + bias entries in the IR */
    bool fold_exact;               /* see "Exactness" above */
    int folded;                    /* normalisation/BN ops folded */
    /* largest radii of the enclosure over all layers (0: none) */
    double max_wrel, max_wabs, max_brad;
    const char *weights_note;      /* how weights became doubles, one sentence */
    const net_nnet_norm *nnet;     /* NNet normalisation, or NULL */
} net_info;
void net_get_info(const net *n, net_info *info /* OUT */);

/* Forward evaluation in double, round-to-nearest (attacks, training; not a
 * proof).  x: [batch*in] row-major, y: [batch*out].  Uses BLAS for dense
 * layers.  Returns CN_ENOMEM if scratch space cannot be allocated. */
cn_status net_forward(const net *n, int batch, const double *x, double *y, cn_err *err) CN_WUR;

/* One affine layer l (DENSE or CONV) of net_forward on a batch, in double,
 * round-to-nearest: b[batch*out] = W a + b per sample, a: [batch*in].  A
 * DENSE layer is one BLAS product; a CONV layer (cm: its taps) sums each
 * output's taps in order from b[co].  The attacks' gradient reuses it, so
 * its forward pass equals net_forward's. */
void net_affine_forward(const net_layer *l, const net_conv_map *cm /* CONV only */, int batch,
                        const double *a, double *b);

/* Exact evaluation in rationals from the stored doubles.
 * x: [in] (initialised mpq_t), y: [out] (initialised mpq_t).  A network with
 * an enclosure (net_has_enclosure) has no single exact value: CN_EUNSUPPORTED,
 * use net_eval_enclose. */
cn_status net_eval_exact(const net *n, mpq_t *x, mpq_t *y, cn_err *err) CN_WUR;
/* Exact rational enclosure of the file's outputs at x: ylo <= N*(x) <= yhi
 * entrywise for every network N* within the layers' enclosures (interval
 * arithmetic in mpq, midpoint-radius form; see eval.c).  Without enclosure
 * ylo and yhi both equal net_eval_exact's result.  ylo, yhi: [out]
 * (initialised mpq_t). */
cn_status net_eval_enclose(const net *n, mpq_t *x, mpq_t *ylo, mpq_t *yhi, cn_err *err) CN_WUR;
/* net_eval_enclose where sigmoid/tanh layers (net_n_smooth) are enclosed with
 * MPFR at prec bits (eval_mpfr.c): each activation maps [lo, hi] to
 * [f(lo) rounded down, f(hi) rounded up] (both are increasing), so
 * ylo <= N(x) <= yhi rigorously; a larger prec gives a narrower enclosure.
 * net_eval_enclose uses NET_EVAL_PREC0.  net_eval_exact refuses a network
 * with smooth layers (CN_EUNSUPPORTED). */
#define NET_EVAL_PREC0 64
#define NET_EVAL_PREC_MAX 4096
cn_status net_eval_enclose_prec(const net *n, mpq_t *x, mpq_t *ylo, mpq_t *yhi, long prec,
                                cn_err *err) CN_WUR;
/* Convenience: x given as doubles (each converted exactly). */
cn_status net_eval_exact_d(const net *n, const double *x, mpq_t *y, cn_err *err) CN_WUR;

/* NNet input normalisation: x_norm = (clamp(x_raw, min, max) - mean) / range,
 * in double (round-to-nearest).  Only for nets loaded from NNet. */
void net_nnet_normalise(const net_nnet_norm *nn, const double *raw, double *norm);

/* Input channels of n: C of a declared input shape [N, C, H, W] or [C, H, W]
 * (when it divides the input size), of a net built in code its input shape's
 * c, else 1. */
int net_input_channels(const net *n);
/* Puts the map x -> (x - mean_c) / std_c in front of n (normalise.c): input
 * value k belongs to channel c = k / (in / C), channel-major.  mean, std:
 * n_vals exact rationals each, n_vals 1 (every channel) or C; std > 0.  The
 * map is an exact 1x1 NET_CONV layer whose doubles carry the enclosure of
 * "Exactness" above where 1/std or mean/std is not a double.  CN_EINVAL
 * (wrong count, std <= 0, out of double range), CN_ENOMEM; n unchanged on
 * failure. */
cn_status net_prepend_normalise(net *n, int n_vals, const mpq_t *mean, const mpq_t *std,
                                cn_err *err) CN_WUR;

/* ------------------------------------------------------------------------ */
/* Properties                                                                */
/* ------------------------------------------------------------------------ */
/*
 * A property describes the counterexample (unsafe) condition, as VNN-LIB does:
 * it is *violated* (answer `sat`) iff some case c has an input x with
 *     x in region(c)   and   N(x) in unsafe(c).
 * Each case's region is a box lo <= x <= hi over all inputs (every input
 * must be bounded) plus optional general linear constraints over x; its
 * unsafe set is a disjunction of conjunctions of linear constraints over y.
 * All constants are exact rationals; lo_d/hi_d are an outward-rounded double
 * enclosure of the box (lo_d <= lo, hi_d >= hi) for the search.
 *
 * A linear constraint is   sum_k coef[k] * v[var[k]]  <=  rhs.
 */

typedef struct {
    int n;                         /* terms */
    int *var;                      /* [n] variable indices (X or Y, by context) */
    mpq_t *coef;                   /* [n] */
    mpq_t rhs;
} prop_lin;

typedef struct {
    int n;                         /* atoms, all of which must hold */
    prop_lin *atoms;               /* [n] */
} prop_conj;

typedef struct {
    mpq_t *lo, *hi;                /* [n_in] exact box */
    double *lo_d, *hi_d;           /* [n_in] outward-rounded enclosure */
    int n_lin;                     /* extra linear input constraints */
    prop_lin *lin;                 /* [n_lin], over X */
    int n_disj;                    /* unsafe set: OR of these */
    prop_conj *disj;               /* [n_disj], over Y */
} prop_case;

typedef struct prop prop;          /* opaque */

int              prop_n_in(const prop *p);
int              prop_n_out(const prop *p);
int              prop_n_cases(const prop *p);
const prop_case *prop_case_at(const prop *p, int i);
const char      *prop_name(const prop *p);   /* file path or "eps-ball ..." */
void             prop_free(prop *p);          /* NULL is fine */

/* Parses VNN-LIB (the SMT-LIB subset VNN-COMP uses).  Every assert is
 * combined by AND and the whole formula is brought to disjunctive normal form;
 * more than max_terms DNF terms (0 = default 100000) gives CN_ELIMIT.
 * Errors name the file, line and column.  Unsupported constructs (strict
 * comparisons, non-linear terms, undeclared names, ...) give CN_EUNSUPPORTED
 * or CN_EPARSE — never a different reading. */
cn_status prop_parse_vnnlib(const char *path, prop **out, cn_err *err) CN_WUR;
cn_status prop_parse_vnnlib_mem(const char *text, size_t len, const char *name,
                                long max_terms, prop **out, cn_err *err) CN_WUR;

/* Writes p as VNN-LIB, every number exactly: a plain decimal when its
 * expansion terminates, else "(/ P Q)" (e.g. p/255 in an eps-ball), so the
 * text reads back as an equal property (prop_equal); *exact is always true
 * (kept for callers that predate this). */
cn_status prop_write_vnnlib(const prop *p, FILE *f, bool *exact /* OUT, may be NULL */,
                            cn_err *err) CN_WUR;
/* Structural equality (same cases, same exact numbers, same order). */
bool prop_equal(const prop *a, const prop *b);

/* The L-infinity ball  [x0 - eps, x0 + eps] ∩ [clip_lo, clip_hi]  with unsafe
 * set "some j != label has y_j >= y_label".  x0 and eps are exact rationals. */
cn_status prop_eps_ball(int n_in, mpq_t *x0, const mpq_t eps, const mpq_t clip_lo,
                        const mpq_t clip_hi, int n_out, int label, prop **out,
                        cn_err *err) CN_WUR;

/* The result of checking a point against a property, exactly.
 *
 * For a network with an enclosure (net_has_enclosure) the outputs are known
 * only as [ylo, yhi] (net_eval_enclose) and the check is conservative: an
 * atom holds only if it holds for every output in the enclosure, so a slack
 * is the worst case  rhs - max_{y in [ylo, yhi]} lhs(y),  and `violated` is
 * set only when a whole disjunct holds for all of them.  Then `violated`
 * false means "not shown violated" (the file's network may still violate it
 * at x).  Without enclosure both are exact, as the names say. */
typedef struct {
    bool violated;                 /* x in some case's region and N(x) in its unsafe set */
    int case_idx;                  /* first case whose region holds x, or -1 */
    int disj_idx;                  /* satisfied disjunct in that case, or -1 */
    /* Exact (worst-case) slack rhs - lhs of every atom of the reported (or,
     * when not violated, the closest) disjunct: >= 0 means the atom holds.
     * Owned: release with prop_check_clear. */
    int n_margin;
    mpq_t *margin;
    double worst_margin_d;         /* min slack, rounded to nearest (display) */
    /* The question "is x a counterexample" was answered: violated, or every
     * disjunct of every case holding x fails for every output of the
     * enclosure.  Always true for a network that is exactly rational
     * without enclosure.  With sigmoid/tanh layers prop_check_point raises
     * the MPFR precision (NET_EVAL_PREC0 doubling up to NET_EVAL_PREC_MAX)
     * until decided; undecided (a tie, or a slack below the last
     * precision) means "not shown violated". */
    bool decided;
    long prec;                     /* MPFR bits of the last evaluation (0: rational) */
} prop_check;

void prop_check_init(prop_check *c);
void prop_check_clear(prop_check *c);
/* Decides exactly whether x (n_in rationals) violates p under n
 * (conservatively for a network with an enclosure, see above). */
/* For a network with a final Softmax (net_softmax_output): CN_OK when every
 * output atom is  c Y_i - c Y_j <= 0  (c != 0, i != j), which holds for the
 * softmax outputs iff it holds for the logits; else CN_EUNSUPPORTED naming
 * the atom.  Always CN_OK for other networks.  prop_check_point and the
 * engine and checker call it. */
cn_status prop_softmax_ok(const prop *p, const net *n, cn_err *err) CN_WUR;
cn_status prop_check_point(const prop *p, const net *n, mpq_t *x, prop_check *res,
                           cn_err *err) CN_WUR;
cn_status prop_check_point_d(const prop *p, const net *n, const double *x, prop_check *res,
                             cn_err *err) CN_WUR;

/* ------------------------------------------------------------------------ */
/* Datasets                                                                  */
/* ------------------------------------------------------------------------ */
/*
 * Samples and a label each, in one of two kinds:
 *   8-bit data (ERAN CSV of integers 0..255, IDX, .npy of uint8): the network
 *     input is pixel/255 (exactly: x = p/255 as a rational; ds_input_d gives
 *     the nearest double);
 *   float data (a CSV with decimal values, .npy of float32/float64): the
 *     values are taken as given, exactly (ds_input_q: a decimal is read as
 *     the rational it denotes, a float32/float64 as its exact value).
 * A CSV is float data when some value is written with '.', 'e', 'E' or '-';
 * a CSV of integers only is 8-bit data.
 */
typedef struct {
    int n;                         /* samples */
    int dim;                       /* values per sample */
    int rows, cols;                /* image shape when known (IDX, .npy), else dim x 1 */
    uint8_t *pixels;               /* [n*dim] 8-bit data; NULL for float data */
    int *labels;                   /* [n] */
    /* float data (is_float): values[n*dim] holds the nearest doubles (exact
     * for .npy); decimal CSV text is kept for ds_input_q.  in_unit: every
     * value of the selected samples lies in [0, 1] exactly (always true for
     * 8-bit data).  Fields ending in _ are internal. */
    bool is_float;
    bool in_unit;
    double *values;
    char *text_;
    size_t *field_;
} ds_set;

/* ERAN CSV (label, then dim values per line; integers 0..255 or decimals),
 * IDX images (+ labels_path, IDX labels), or NumPy .npy (format 1.0/2.0/3.0,
 * little-endian float32/float64/uint8 in C order, shape (N, ...); +
 * labels_path, a .npy of N integers); any of them gzipped or not.
 * offset/count select samples (count < 0: all).  ds_load refuses float data
 * with a selected value outside [0, 1] (CN_EPARSE naming the sample and
 * value): every eps-ball is clipped to [0, 1], and a centre outside would
 * make an empty, vacuously robust region; ds_load_any_range takes it (for
 * evaluation only; in_unit says whether it is in [0, 1]). */
cn_status ds_load(const char *path, const char *labels_path, int offset, int count,
                  ds_set **out, cn_err *err) CN_WUR;
cn_status ds_load_any_range(const char *path, const char *labels_path, int offset, int count,
                            ds_set **out, cn_err *err) CN_WUR;
void ds_free(ds_set *d);                                  /* NULL is fine */
void ds_input_d(const ds_set *d, int i, double *x /* [dim] */);
void ds_input_q(const ds_set *d, int i, mpq_t *x /* [dim], initialised */);

#ifdef __cplusplus
}
#endif
#endif

/* onnx_residual.c — residual blocks of an ONNX graph, lowered exactly to
 * the chain IR.
 *
 * A graph in which some computed tensor feeds two nodes is read by walking
 * from the graph input along its consumers (so the file's node order does not
 * matter).  A tensor x with two consumers must start a residual block
 *
 *     r = Relu(Conv1 x + b1),   y = (Conv2 r + b2) + s(x),
 *     s(x) = x (identity)  or  S x + bS (a 1x1 Conv, no padding),
 *
 * joined by an Add of the two computed tensors (operands in either order).
 * x must be the output of a Relu node whose layer ends the IR so far, so
 * x >= 0 holds for every input, and relu(x) = x exactly.  The block becomes
 *
 *     A:  x -> [Conv1 x + b1 ; P x]        one NET_CONV, Conv1's geometry,
 *                                          P picks x at one tap of Conv1's
 *                                          kernel (weight 1, exact)
 *     ReLU                                 exact on P x since x >= 0; the
 *                                          bounds see those neurons as
 *                                          stable (interval lower bound >= 0)
 *     B:  [r ; p] -> Conv2 r + b2 + S' p   one NET_CONV, Conv2's geometry,
 *                                          S' = S (or the identity) at one
 *                                          tap of Conv2's kernel
 *     + bS                                 an elementwise constant Add, which
 *                                          the loader folds exactly into B's
 *                                          bias (onnx_fold.c: enclosure when
 *                                          b2 + bS rounds)
 *
 * The taps (ky0,kx0) of Conv1 and (ky2,kx2) of Conv2 are chosen so that, per
 * axis (strides s1, s2, pads p1, p2 of the two convs, ss of the shortcut),
 *     s1 s2 = ss   and   (ky2 - p2) s1 + ky0 - p1 = 0,
 * and every output position's chain of taps lands inside the maps (never in
 * zero padding): then B's output at (oy,ox) reads x at (oy ss, ox ss), which
 * is what the shortcut reads.  Every weight of A and B is a weight of the
 * file, 0 or 1, so A and B are exact and the lowered chain is the same
 * rational function as the graph.  Blocks of other shapes, and joins of
 * computed tensors other than such an Add, are refused naming the node; the
 * loader then reads the graph by the general route (onnx_dag.c), whose
 * message it reports if that fails too.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "models/onnx_int.h"

/* ------------------------------------------------------------------------ */
/* Graph queries                                                             */
/* ------------------------------------------------------------------------ */

static bool is_op(const Onnx__NodeProto *n, const char *op) { return strcmp(S(n->op_type), op) == 0; }

static bool uses(const Onnx__NodeProto *n, const char *t)
{
    for (size_t i = 0; i < n->n_input; i++)
        if (strcmp(S(n->input[i]), t) == 0)
            return true;
    return false;
}

/* Nodes (not Constant) that read tensor t: up to cap in c[], count returned. */
static size_t consumers(const ld *L, const char *t, const Onnx__NodeProto **c, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < L->g->n_node; i++) {
        const Onnx__NodeProto *n = L->g->node[i];
        if (!is_op(n, "Constant") && uses(n, t)) {
            if (k < cap)
                c[k] = n;
            k++;
        }
    }
    return k;
}

static const Onnx__NodeProto *producer(const ld *L, const char *t)
{
    for (size_t i = 0; i < L->g->n_node; i++) {
        const Onnx__NodeProto *n = L->g->node[i];
        for (size_t j = 0; j < n->n_output; j++)
            if (strcmp(S(n->output[j]), t) == 0)
                return n;
    }
    return NULL;
}

/* Computed (non-constant, non-empty) inputs of n. */
static size_t computed_inputs(const ld *L, const Onnx__NodeProto *n)
{
    size_t k = 0;
    for (size_t i = 0; i < n->n_input; i++)
        if (*S(n->input[i]) && !net__onnx_const_find(L, n->input[i]))
            k++;
    return k;
}

/* Whether n reads a computed tensor other than cur (a join; reading cur
 * twice is left to the node's reader, which names it). */
static bool other_inputs(const ld *L, const Onnx__NodeProto *n, const char *cur)
{
    for (size_t i = 0; i < n->n_input; i++)
        if (*S(n->input[i]) && strcmp(n->input[i], cur) != 0 &&
            !net__onnx_const_find(L, n->input[i]))
            return true;
    return false;
}

/* The single consumer of n's output, or NULL. */
static const Onnx__NodeProto *next1(const ld *L, const Onnx__NodeProto *n)
{
    const Onnx__NodeProto *c[2];
    if (n->n_output < 1 || consumers(L, S(n->output[0]), c, 2) != 1)
        return NULL;
    return c[0];
}

/* True when some computed tensor (graph input or node output) feeds two or
 * more nodes, or one node twice: the graph is not a chain. */
bool net__onnx_graph_forks(const ld *L)
{
    const Onnx__GraphProto *g = L->g;
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        for (size_t j = 0; j < n->n_input; j++) {
            const char *t = S(n->input[j]);
            if (!*t || net__onnx_const_find(L, t))
                continue;
            size_t uses_t = 0;
            for (size_t k = 0; k < g->n_node; k++)
                for (size_t m = 0; m < g->node[k]->n_input; m++)
                    uses_t += strcmp(S(g->node[k]->input[m]), t) == 0;
            if (uses_t > 1)
                return true;
        }
    }
    return false;
}

/* ------------------------------------------------------------------------ */
/* Synthesised nodes and constants                                           */
/* ------------------------------------------------------------------------ */

/* Storage of one lowered block, kept until the load ends (the chain's
 * current name and the constants' names point into it). */
struct net__onnx_res {
    struct net__onnx_res *next;
    Onnx__NodeProto nd[4];
    char *in[4][3], *out[4][1];
    char names[8][160];
};

void net__onnx_res_free(ld *L)
{
    while (L->res) {
        struct net__onnx_res *r = L->res;
        L->res = r->next;
        cn_free(r);
    }
}

/* Registers a new float constant called name with dims d[nd], taking v. */
static cn_status add_const(ld *L, const char *name, const int64_t *d, int nd, double *v, size_t n)
{
    cst *k;
    cn_status s = net__onnx_const_add(L, name, &k);
    if (s) {
        cn_free(v);
        return s;
    }
    k->nd = nd;
    memcpy(k->dims, d, (size_t)nd * sizeof *d);
    k->v = v;
    k->n = n;
    return CN_OK;
}

/* ------------------------------------------------------------------------ */
/* Geometry                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct {
    const Onnx__NodeProto *n;
    cst *w, *b;                    /* b may be NULL */
    int64_t st[2], pads[4];
} conv_g;

/* Reads a Conv node's weight, bias, strides and pads (the conv reader
 * validates the rest when the synthesised nodes are read). */
static cn_status conv_read(ld *L, const Onnx__NodeProto *n, conv_g *c)
{
    const Onnx__NodeProto *save = L->node;
    cn_status s;
    bool has;
    memset(c, 0, sizeof *c);
    c->n = n;
    c->st[0] = c->st[1] = 1;
    L->node = n;
    if (n->n_input < 2 || strcmp(S(n->input[0]), "") == 0)
        return net__onnx_fail(L, CN_EPARSE, "expected inputs X, W[, B]");
    if ((s = net__onnx_node_const(L, 1, "weight", &c->w)))
        return s;
    if (n->n_input > 2 && *S(n->input[2]) && (s = net__onnx_node_const(L, 2, "bias", &c->b)))
        return s;
    if ((s = net__onnx_attr_ints(L, "strides", 2, c->st, &has)) ||
        (s = net__onnx_attr_ints(L, "pads", 4, c->pads, &has)))
        return s;
    if (c->w->nd != 4 || (c->b && c->b->n != (size_t)c->w->dims[0]))
        return net__onnx_fail(L, CN_EPARSE, "expected weight [M,C,kH,kW] and bias [M]");
    for (int i = 0; i < 2; i++)
        if (c->st[i] < 1 || c->st[i] > MAX_CONV_PARAM)
            return net__onnx_fail(L, CN_EPARSE, "stride out of range");
    for (int i = 0; i < 4; i++)
        if (c->pads[i] < 0 || c->pads[i] > MAX_CONV_PARAM)
            return net__onnx_fail(L, CN_EPARSE, "pad out of range");
    L->node = save;
    return CN_OK;
}

static int64_t out_len(int64_t in, int64_t k, int64_t s, int64_t p0, int64_t p1)
{
    int64_t t = in + p0 + p1 - k;
    return t < 0 ? -1 : t / s + 1;
}

/* Per axis: taps k0 of Conv1 and k2 of Conv2 such that output position o of
 * Conv2 reads, through the copy, x at o*ss (see the top of the file), for
 * every o < n2 inside the maps.  Returns false when there is none. */
static bool match_axis(int64_t H, int64_t k1, int64_t s1, int64_t p1, int64_t n1, int64_t k2,
                       int64_t s2, int64_t p2, int64_t n2, int64_t ss, int *t0, int *t2)
{
    if (s1 * s2 != ss)
        return false;
    for (int64_t a = 0; a < k1; a++)
        for (int64_t c = 0; c < k2; c++) {
            if ((c - p2) * s1 + a - p1 != 0)
                continue;
            bool ok = true;
            for (int64_t o = 0; o < n2 && ok; o++) {
                int64_t q = o * s2 + c - p2, xpos = q * s1 + a - p1;
                ok = q >= 0 && q < n1 && xpos >= 0 && xpos < H && xpos == o * ss;
            }
            if (ok) {
                *t0 = (int)a;
                *t2 = (int)c;
                return true;
            }
        }
    return false;
}

/* ------------------------------------------------------------------------ */
/* One block                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct {
    const Onnx__NodeProto *conv1, *relu1, *conv2, *add, *sc; /* sc NULL: identity */
} block;

/* Fails naming the Add node (or the fork's tensor when no Add was found). */
CN_PRINTF(3, 4)
static cn_status refuse(ld *L, const Onnx__NodeProto *add, const char *fmt, ...)
{
    char what[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    L->node = add;
    return net__onnx_fail(L, CN_EUNSUPPORTED, "residual block: %s", what);
}

/* A fork at x that starts no residual block: fails naming the first node
 * (file order) that joins two computed tensors, else a consumer of x. */
static cn_status not_block(ld *L, const Onnx__NodeProto *const c[2], const char *x)
{
    char nm[96];
    for (size_t i = 0; i < L->g->n_node; i++) {
        const Onnx__NodeProto *n = L->g->node[i];
        if (!is_op(n, "Constant") && computed_inputs(L, n) > 1) {
            L->node = n;
            L->node_idx = i;
            return net__onnx_fail(L, CN_EUNSUPPORTED,
                                  "joins two computed tensors ('%s' branches); the graph is not a "
                                  "chain, and only residual blocks Relu -> Conv -> Relu -> Conv "
                                  "-> Add(shortcut) are supported",
                                  net__onnx_clean(nm, sizeof nm, x));
        }
    }
    L->node = c[0];
    return net__onnx_fail(L, CN_EUNSUPPORTED,
                          "tensor '%s' feeds two nodes but does not start a residual block; the "
                          "graph is not a chain", net__onnx_clean(nm, sizeof nm, x));
}

/* Recognises the block starting at x (L->cur) with consumers c[0], c[1]. */
static cn_status find_block(ld *L, const Onnx__NodeProto *const c[2], block *b)
{
    char nm[96];
    const char *x = L->cur;
    memset(b, 0, sizeof *b);
    for (int i = 0; i < 2 && !b->conv1; i++) {
        const Onnx__NodeProto *r = is_op(c[i], "Conv") ? next1(L, c[i]) : NULL;
        const Onnx__NodeProto *c2 = r && is_op(r, "Relu") ? next1(L, r) : NULL;
        const Onnx__NodeProto *a = c2 && is_op(c2, "Conv") ? next1(L, c2) : NULL;
        if (a && is_op(a, "Add")) {
            *b = (block){c[i], r, c2, a, NULL};
            const Onnx__NodeProto *o = c[1 - i];
            if (o != a) {
                if (!is_op(o, "Conv") || next1(L, o) != a)
                    return refuse(L, a, "the other user of '%s' is not a shortcut Conv into it",
                                  net__onnx_clean(nm, sizeof nm, x));
                b->sc = o;
            }
        }
    }
    if (!b->conv1)
        return not_block(L, c, x);
    const Onnx__NodeProto *a = b->add;
    const char *skip = b->sc ? S(b->sc->output[0]) : x;
    if (a->n_input != 2 || a->n_output != 1 ||
        !((strcmp(S(a->input[0]), S(b->conv2->output[0])) == 0 && strcmp(S(a->input[1]), skip) == 0) ||
          (strcmp(S(a->input[1]), S(b->conv2->output[0])) == 0 && strcmp(S(a->input[0]), skip) == 0)))
        return refuse(L, a, "expected Add(main path, shortcut) of two inputs");
    if (a->n_attribute)
        return refuse(L, a, "Add with attributes (legacy broadcast) is unsupported");
    if (b->sc && b->sc->n_input > 0 && strcmp(S(b->sc->input[0]), x) != 0)
        return refuse(L, a, "the shortcut Conv does not read '%s' as X", net__onnx_clean(nm, sizeof nm, x));
    if (strcmp(S(b->conv1->input[0]), x) != 0 || strcmp(S(b->conv2->input[0]), S(b->relu1->output[0])) != 0)
        return refuse(L, a, "the main path's Convs must read the chain tensor as X");
    /* x >= 0: x is a Relu node's output, and that Relu ends the IR so far */
    const Onnx__NodeProto *px = producer(L, x);
    int nl = L->n->n_layers;
    if (!px || !is_op(px, "Relu") || L->p.op || L->has_e || nl == 0 ||
        L->n->layers[nl - 1].op != NET_RELU)
        return refuse(L, a, "the block's input '%s' is not the output of a Relu, so the "
                      "exact lowering (which needs it >= 0) does not apply",
                      net__onnx_clean(nm, sizeof nm, x));
    return CN_OK;
}

/* Names for the synthesised tensors and constants: the Add node's output and
 * a suffix (a clash with a name in the file is refused as a duplicate). */
static char *syn_name(struct net__onnx_res *r, int i, const Onnx__NodeProto *add, const char *sfx)
{
    char nm[96];
    snprintf(r->names[i], sizeof r->names[i], "%s/certnn-residual-%s",
             net__onnx_clean(nm, sizeof nm, S(add->output[0])), sfx);
    return r->names[i];
}

static void syn_node(Onnx__NodeProto *n, const char *op, const char *name, char **in, size_t nin,
                     char **out, const Onnx__NodeProto *attrs_of)
{
    onnx__node_proto__init(n);
    n->op_type = (char *)op;
    n->name = (char *)name;
    n->input = in;
    n->n_input = nin;
    n->output = out;
    n->n_output = 1;
    if (attrs_of) {
        n->attribute = attrs_of->attribute;
        n->n_attribute = attrs_of->n_attribute;
    }
}

/* Builds A's and B's weights and the shortcut bias, registers them. */
static cn_status block_consts(ld *L, const block *b, const conv_g *g1, const conv_g *g2,
                              const conv_g *gs, const int t0[2], const int t2[2],
                              struct net__onnx_res *r)
{
    cn_status s;
    int64_t cin = L->dims[1], c1 = g1->w->dims[0], c2 = g2->w->dims[0];
    int64_t k1h = g1->w->dims[2], k1w = g1->w->dims[3], k2h = g2->w->dims[2], k2w = g2->w->dims[3];
    int64_t ca = c1 + cin;
    size_t f1 = (size_t)(cin * k1h * k1w), fb = (size_t)(ca * k2h * k2w);
    double *wa = cn_calloc((size_t)ca * f1, sizeof *wa), *ba = cn_calloc((size_t)ca, sizeof *ba);
    double *wb = cn_calloc((size_t)c2 * fb, sizeof *wb), *bb = cn_calloc((size_t)c2, sizeof *bb);
    double *bs = gs && gs->b ? cn_calloc((size_t)c2, sizeof *bs) : NULL;
    if (!wa || !ba || !wb || !bb || (gs && gs->b && !bs)) {
        cn_free(wa), cn_free(ba), cn_free(wb), cn_free(bb), cn_free(bs);
        return net__onnx_nomem(L);
    }
    memcpy(wa, g1->w->v, (size_t)c1 * f1 * sizeof *wa);
    if (g1->b)
        memcpy(ba, g1->b->v, (size_t)c1 * sizeof *ba);
    for (int64_t c = 0; c < cin; c++)           /* copy channel c1+c = x[c] at tap t0 */
        wa[(size_t)(c1 + c) * f1 + (size_t)((c * k1h + t0[0]) * k1w + t0[1])] = 1.0;
    for (int64_t o = 0; o < c2; o++) {
        size_t f2 = (size_t)(c1 * k2h * k2w);
        memcpy(wb + (size_t)o * fb, g2->w->v + (size_t)o * f2, f2 * sizeof *wb);
        for (int64_t c = 0; c < cin; c++) {
            double sv = gs ? gs->w->v[o * cin + c] : (double)(o == c);
            wb[(size_t)o * fb + (size_t)(((c1 + c) * k2h + t2[0]) * k2w + t2[1])] = sv;
        }
    }
    if (g2->b)
        memcpy(bb, g2->b->v, (size_t)c2 * sizeof *bb);
    if (bs)
        memcpy(bs, gs->b->v, (size_t)c2 * sizeof *bs);
    int64_t d[5][4] = {{ca, cin, k1h, k1w}, {ca}, {c2, ca, k2h, k2w}, {c2}, {c2, 1, 1}};
    int nd[5] = {4, 1, 4, 1, 3};
    double *arr[5] = {wa, ba, wb, bb, bs};
    size_t n[5] = {(size_t)ca * f1, (size_t)ca, (size_t)c2 * fb, (size_t)c2, (size_t)c2};
    const char *name[5] = {r->in[0][1], r->in[0][2], r->in[2][1], r->in[2][2], r->in[3][1]};
    (void)b;
    for (int i = 0; i < 5; i++) {
        if (!arr[i])
            continue;
        s = add_const(L, name[i], d[i], nd[i], arr[i], n[i]);   /* takes arr[i] */
        arr[i] = NULL;
        if (s) {
            for (int j = i + 1; j < 5; j++)
                cn_free(arr[j]);
            return s;
        }
    }
    return CN_OK;
}

/* Lowers the block at x = L->cur and reads its nodes; L->cur ends at the
 * Add's output. */
static cn_status lower_block(ld *L, const Onnx__NodeProto *const c[2])
{
    block b;
    conv_g g1, g2, gs;
    cn_status s;
    if ((s = find_block(L, c, &b)) || (s = conv_read(L, b.conv1, &g1)) ||
        (s = conv_read(L, b.conv2, &g2)) || (b.sc && (s = conv_read(L, b.sc, &gs))))
        return s;
    if (L->nd != 4 || L->dims[0] != 1)
        return refuse(L, b.add, "the block's input must be [1,C,H,W]");
    int64_t cin = L->dims[1], H = L->dims[2], W = L->dims[3];
    int64_t c1 = g1.w->dims[0], c2 = g2.w->dims[0];
    if (g1.w->dims[1] != cin || g2.w->dims[1] != c1)
        return refuse(L, b.add, "Conv weights do not chain (channels %lld, %lld -> %lld)",
                      (long long)cin, (long long)g1.w->dims[1], (long long)g2.w->dims[1]);
    int64_t ss = 1;
    if (b.sc) {
        const Onnx__NodeProto *save = L->node;
        L->node = b.sc;
        int64_t grp = 1, dil[2] = {1, 1};
        bool has;
        const Onnx__AttributeProto *ap = net__onnx_attr(L, "auto_pad");
        if ((s = net__onnx_attr_int(L, "group", 1, &grp)) ||
            (s = net__onnx_attr_ints(L, "dilations", 2, dil, &has)))
            return s;
        L->node = save;
        if (gs.w->dims[0] != c2 || gs.w->dims[1] != cin || gs.w->dims[2] != 1 ||
            gs.w->dims[3] != 1 || gs.pads[0] || gs.pads[1] || gs.pads[2] || gs.pads[3] ||
            gs.st[0] != gs.st[1] || grp != 1 || dil[0] != 1 || dil[1] != 1 || ap)
            return refuse(L, b.add, "the shortcut must be a 1x1 Conv %lld -> %lld without "
                          "padding, group or dilation, with equal strides",
                          (long long)cin, (long long)c2);
        ss = gs.st[0];
    } else if (c2 != cin) {
        return refuse(L, b.add, "identity shortcut with %lld channels added to %lld",
                      (long long)cin, (long long)c2);
    }
    int64_t k1h = g1.w->dims[2], k1w = g1.w->dims[3], k2h = g2.w->dims[2], k2w = g2.w->dims[3];
    int64_t n1h = out_len(H, k1h, g1.st[0], g1.pads[0], g1.pads[2]);
    int64_t n1w = out_len(W, k1w, g1.st[1], g1.pads[1], g1.pads[3]);
    int64_t n2h = n1h < 1 ? -1 : out_len(n1h, k2h, g2.st[0], g2.pads[0], g2.pads[2]);
    int64_t n2w = n1w < 1 ? -1 : out_len(n1w, k2w, g2.st[1], g2.pads[1], g2.pads[3]);
    if (n2h < 1 || n2w < 1 || n2h != (H - 1) / ss + 1 || n2w != (W - 1) / ss + 1)
        return refuse(L, b.add, "the main path and the shortcut give different shapes");
    int t0[2], t2[2];
    if (!match_axis(H, k1h, g1.st[0], g1.pads[0], n1h, k2h, g2.st[0], g2.pads[0], n2h, ss, &t0[0], &t2[0]) ||
        !match_axis(W, k1w, g1.st[1], g1.pads[1], n1w, k2w, g2.st[1], g2.pads[1], n2w, ss, &t0[1], &t2[1]))
        return refuse(L, b.add, "no kernel taps carry the shortcut through the two Convs "
                      "exactly (strides or padding do not line up)");
    struct net__onnx_res *r = cn_calloc(1, sizeof *r);
    if (!r)
        return net__onnx_nomem(L);
    r->next = L->res;
    L->res = r;
    const Onnx__NodeProto *a = b.add;
    r->in[0][0] = (char *)L->cur;
    r->in[0][1] = syn_name(r, 0, a, "A.W");
    r->in[0][2] = syn_name(r, 1, a, "A.B");
    r->out[0][0] = syn_name(r, 2, a, "A");
    r->in[1][0] = r->out[0][0];
    r->out[1][0] = syn_name(r, 3, a, "R");
    r->in[2][0] = r->out[1][0];
    r->in[2][1] = syn_name(r, 4, a, "B.W");
    r->in[2][2] = syn_name(r, 5, a, "B.B");
    r->out[2][0] = b.sc && gs.b ? syn_name(r, 6, a, "B") : a->output[0];
    r->in[3][0] = r->out[2][0];
    r->in[3][1] = syn_name(r, 7, a, "S.B");
    r->out[3][0] = a->output[0];
    if ((s = block_consts(L, &b, &g1, &g2, b.sc ? &gs : NULL, t0, t2, r)))
        return s;
    syn_node(&r->nd[0], "Conv", S(b.conv1->name), r->in[0], 3, r->out[0], b.conv1);
    syn_node(&r->nd[1], "Relu", S(b.relu1->name), r->in[1], 1, r->out[1], NULL);
    syn_node(&r->nd[2], "Conv", S(b.conv2->name), r->in[2], 3, r->out[2], b.conv2);
    syn_node(&r->nd[3], "Add", S(a->name), r->in[3], 2, r->out[3], NULL);
    int nn = b.sc && gs.b ? 4 : 3;
    for (int i = 0; i < nn; i++) {
        L->node = &r->nd[i];
        if ((s = net__onnx_read_node(L)))
            return s;
    }
    L->node = NULL;
    return CN_OK;
}

/* ------------------------------------------------------------------------ */
/* The walk                                                                  */
/* ------------------------------------------------------------------------ */

/* Reads the graph from its input along consumers: Constant nodes first, then
 * node by node, a residual block at a time where a tensor forks. */
cn_status net__onnx_walk(ld *L)
{
    const Onnx__GraphProto *g = L->g;
    cn_status s;
    char nm[96];
    for (L->node_idx = 0; L->node_idx < g->n_node; L->node_idx++) {
        L->node = g->node[L->node_idx];
        if (is_op(L->node, "Constant") && (s = net__onnx_read_node(L)))
            return s;
    }
    for (size_t steps = 0; steps <= g->n_node; steps++) {
        const Onnx__NodeProto *c[3];
        size_t k = consumers(L, L->cur, c, 3);
        L->node = NULL;
        if (k == 0)
            break;
        if (k == 2) {
            if ((s = lower_block(L, c)))
                return s;
            continue;
        }
        L->node = c[0];
        if (k > 2)
            return net__onnx_fail(L, CN_EUNSUPPORTED, "tensor '%s' feeds %zu nodes; at most 2 "
                                  "(a residual block) are supported", net__onnx_clean(nm, sizeof nm, L->cur), k);
        if (other_inputs(L, c[0], L->cur))
            return net__onnx_fail(L, CN_EUNSUPPORTED,
                                  "joins two computed tensors outside a residual block "
                                  "Conv -> Relu -> Conv -> Add after a Relu (unsupported)");
        if ((s = net__onnx_read_node(L)))
            return s;
    }
    L->node = NULL;
    return CN_OK;
}

/* ctx.c — the LP of a network: one column per entry of every z_i, the
 * affine rows (2) and the ReLU row pairs (3) of lp.h, built once per context;
 * the region only changes bounds (region.c). */
#include "config.h"

#include <fenv.h>
#include <setjmp.h>
#include <string.h>

#include "lp/lp_int.h"

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
    case NET_CONV: return 1 + net_conv_fan(l);
    case NET_RELU:
    case NET_SIGMOID:
    case NET_TANH:
    default: return 2;           /* (max pooling is refused) */
    }
}

void lp_ctx_free(lp_ctx *c)
{
    if (!c)
        return;
    lp__ctx_unlink(c);
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
    if (c->cmap)
        for (int i = 0; i < c->L; i++)
            net_conv_map_clear(&c->cmap[i]);
    cn_free(c->cmap);
    cn_free(c);
}

void lp__affine_entries(const lp_ctx *c, int i, lp__entry_fn fn, void *u)
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
    /* a convolution: its taps (models.h, "Convolution taps") */
    const net_conv_map *cm = &c->cmap[i];
    const net_shape os = l->out_shape;
    for (int oc = 0; oc < os.c; oc++) {
        const double *f = l->W + (size_t)oc * (size_t)cm->fan;
        for (int p = 0; p < os.h * os.w; p++) {
            const net_tap *tp = cm->tap + (size_t)p * (size_t)cm->fan;
            int o = oc * os.h * os.w + p;
            fn(u, r0 + o, co + o, 1.0);
            for (int t = 0; t < cm->n[p]; t++) {
                double w = f[tp[t].w];
                if (w != 0.0)
                    fn(u, r0 + o, ci + tp[t].in, -w);
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
    lp__tls.building = c;
    c->n = n;
    c->L = L;
    c->col_off = cn_calloc((size_t)L + 1, sizeof(int));
    c->size = cn_calloc((size_t)L + 1, sizeof(int));
    c->row_off = cn_calloc((size_t)L + 1, sizeof(int));
    c->cmap = cn_calloc((size_t)L + 1, sizeof *c->cmap);
    if (!c->col_off || !c->size || !c->row_off || !c->cmap)
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
        if (l->op == NET_CONV && net_conv_map_init(&c->cmap[i], l, NULL) != CN_OK)
            goto nomem;
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
        lp__affine_entries(c, i, collect_entry, &b);
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
    if (net_n_smooth(n) > 0) {
        cn_fail(err, CN_EUNSUPPORTED, "LP: sigmoid/tanh layers have no LP encoding");
        return NULL;
    }
    if (net_has_maxpool(n)) {
        cn_fail(err, CN_EUNSUPPORTED, "LP: max pooling layers are not encoded in the LP");
        return NULL;
    }
    jmp_buf jb;
    int round = fegetround();
    if (setjmp(jb)) {
        lp__guard_fault(NULL, round);
        lp_ctx_free(lp__tls.building); /* (its problem object went with the environment) */
        lp__tls.building = NULL;
        cn_fail(err, CN_EINTERNAL, "building the LP: GLPK: %s",
                lp__tls.msg[0] ? lp__tls.msg : "internal error");
        return NULL;
    }
    lp__guard_begin(&jb);
    lp_ctx *c = ctx_build(n, err);
    lp__tls.building = NULL;
    lp__guard_end();
    if (c)
        lp__ctx_link(c);
    return c;
}

cn_status lp__revive(lp_ctx *c, cn_err *err)
{
    if (c->P)
        return CN_OK;
    CN_REQUIRE(c->owner == &lp__tls, "an LP context is used by the thread that made it");
    lp_ctx *f = lp_ctx_new(c->n, err);
    if (!f)
        return err ? err->status : CN_ENOMEM;
    char fault[sizeof c->fault];
    memcpy(fault, c->fault, sizeof fault);
    lp__ctx_unlink(f);
    lp__ctx_unlink(c);
    lp_ctx t = *c;
    *c = *f;
    *f = t; /* f: the old buffers, no problem object */
    memcpy(c->fault, fault, sizeof fault);
    lp__ctx_link(c);
    lp_ctx_free(f);
    return CN_OK;
}

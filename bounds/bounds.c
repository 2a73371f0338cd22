/* bounds.c — the bounds context, interval propagation, ReLU relaxations and
 * the driver bnd_run (layer by layer: interval bounds, then linear bounds by
 * back-substitution, then the query rows), and giving up when the caller's
 * deadline or stop callback says so (bnd_opts). */
#include "config.h"

#include <fenv.h>
#include <math.h>
#include <string.h>

#include "bounds/bounds_int.h"

void bnd_opts_init(bnd_opts *o, bnd_method m)
{
    memset(o, 0, sizeof *o);
    o->method = m;
    o->slope = BND_SLOPE_ADAPTIVE;
    o->alpha_iters = 30;
    o->alpha_lr = 0.3;
    o->alpha_intermediate = true;
    o->layer_concretise = m == BND_DEEPPOLY;
    o->intersect_ibp = true;
}

static const char *const method_names[] = {"interval", "deeppoly", "crown", "alpha"};

const char *bnd_method_name(bnd_method m)
{
    return (unsigned)m < 4 ? method_names[m] : "?";
}

bool bnd_method_parse(const char *s, bnd_method *m)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, method_names[i]) == 0) {
            *m = (bnd_method)i;
            return true;
        }
    return false;
}

/* Width of z_i. */
static int zw(const bnd_ctx *c, int i) { return i == 0 ? c->n_in : c->L[i - 1].out; }

void bnd_ctx_free(bnd_ctx *c)
{
    if (!c)
        return;
    bnd__act_free(c->act);
    bnd__batch_free(c);
    if (c->L) {
        for (int i = 0; i < c->nl; i++) {
            bnd__layer *l = &c->L[i];
            cn_free(l->W_own);
            cn_free(l->b_own);
            bnd__pool_free(l);
            bnd__conv_free(l);
            cn_free(l->st);
            cn_free(l->ua);
            cn_free(l->uc);
            cn_free(l->al);
            cn_free(l->sn);
            cn_free(l->cn);
            cn_free(l->em);
            cn_free(l->idx);
            cn_free(l->Wc);
            cn_free(l->bc);
            cn_free(l->brad_own);
            cn_free(l->e);
            cn_free(l->v);
            cn_free(l->one);
        }
        bnd__alpha_free(c);
        bnd__red_free(c);
        cn_free(c->tight_lb);
        cn_free(c->claim_q);
    }
    for (int i = 0; i <= c->nl; i++) {
        if (c->lo)
            cn_free(c->lo[i]);
        if (c->hi)
            cn_free(c->hi[i]);
        if (c->mag)
            cn_free(c->mag[i]);
    }
    cn_free(c->lo);
    cn_free(c->hi);
    cn_free(c->mag);
    cn_free(c->coef);
    cn_free(c->L);
    cn_free(c->A);
    cn_free(c->B);
    cn_free(c->nc);
    cn_free(c->ncr);
    cn_free(c->best);
    cn_free(c->chk);
    cn_free(c->row_lb);
    cn_free(c->dead);
    cn_free(c->row_j);
    cn_free(c->row_sgn);
    cn_free(c);
}

/* A convolution's bias per output, and (dense) its dense matrix (models.h,
 * net_conv_dense): each entry is a weight or 0 (exact).  Without the dense
 * matrix W stays NULL and conv.c forms every product. */
static bool unroll_conv(const net_layer *nl, bnd__layer *l, bool dense)
{
    if (dense) {
        if (net_conv_dense(nl, &l->W_own, &l->b_own, NULL) != CN_OK)
            return false;
        l->W = l->W_own;
        l->b = l->b_own;
        return true;
    }
    l->b_own = cn_mallocarray((size_t)l->out, sizeof(double));
    if (!l->b_own)
        return false;
    int hw = nl->out_shape.h * nl->out_shape.w;
    for (int o = 0; o < l->out; o++)
        l->b_own[o] = nl->b[o / hw];
    l->W = NULL;
    l->b = l->b_own;
    return true;
}

/* one[o] for affine layer l (bounds_int.h): rows with exactly one nonzero
 * weight, z'_o = w z_k + b_o.  Over the bounds [l_k, u_k] of z_k, interval
 * propagation gives the exact range of w z_k + b_o, and no linear method
 * does better: its row for z'_o is w times a linear bound on z_k, whose
 * concretisation cannot beat [l_k, u_k] (the bounds z_k was given: its own
 * rows' best, intersected; through a ReLU, the relaxation's lines stay
 * inside [relu(l), relu(u)] at the ends).  So linear_layer needs no rows for
 * them.  NULL when no row qualifies. */
static bool single_rows(const net_layer *nl, bnd__layer *l)
{
    int any = 0;
    l->one = cn_calloc((size_t)l->out, 1);
    if (!l->one)
        return false;
    for (int o = 0; o < l->out; o++) {
        int nz = 0;
        if (nl->op == NET_CONV) {
            const net_conv_map *cm = l->cm;
            int p = o % l->chw;
            const double *f = l->cf + (size_t)(o / l->chw) * (size_t)cm->fan;
            const net_tap *tp = cm->tap + (size_t)p * (size_t)cm->fan;
            for (int t = 0; t < cm->n[p] && nz < 2; t++)
                nz += f[tp[t].w] != 0.0;
        } else {
            const double *w = nl->W + (size_t)o * (size_t)l->in;
            for (int k = 0; k < l->in && nz < 2; k++)
                nz += w[k] != 0.0;
        }
        l->one[o] = nz == 1;
        any += nz == 1;
    }
    if (!any) {
        cn_free(l->one);
        l->one = NULL;
    }
    return true;
}

/* The enclosure (E) of affine layer l, when its radius is not zero: a
 * convolution's brad[cout] spread over the outputs, channel-major. */
static bool set_enclosure(const net_layer *nl, bnd__layer *l)
{
    if (!net_layer_has_radius(nl))
        return true;
    l->encl = true;
    l->wrel = nl->wrel;
    l->wabs = nl->wabs;
    l->e = cn_mallocarray((size_t)l->out, sizeof(double));
    if (!l->e)
        return false;
    if (!nl->brad)
        return true;
    if (nl->op != NET_CONV) {
        l->brad = nl->brad;
        return true;
    }
    l->brad_own = cn_mallocarray((size_t)l->out, sizeof(double));
    if (!l->brad_own)
        return false;
    for (int o = 0; o < l->out; o++)
        l->brad_own[o] = net_layer_brad(nl, o);
    l->brad = l->brad_own;
    return true;
}

/* Rows reserved up front: 2 maxw (every neuron of the widest layer, lower
 * and upper) where that keeps a workspace of w doubles per row within 2^22
 * doubles (32 MB), else as many as fit; runs grow them when they need more
 * (linear_layer). */
static int rows_up_front(const bnd_ctx *c, int w)
{
    long cap = (1L << 22) / (w > 0 ? w : 1), want = 2L * c->maxw;
    return (int)(want < cap ? want : cap > 1 ? cap : 1);
}

bnd_ctx *bnd_ctx_new(const net *n, cn_err *err)
{
    CN_REQUIRE(n, "a network");
    if (net_n_layers(n) == 0) {
        cn_fail(err, CN_EINVAL, "bounds: the network has no layers");
        return NULL;
    }
    if (net_n_smooth(n) > 0 && net_has_maxpool(n)) { /* act.c knows no pooling */
        cn_fail(err, CN_EUNSUPPORTED, "bounds: sigmoid/tanh layers together with max pooling "
                                      "are not supported");
        return NULL;
    }
    bnd_ctx *c = cn_calloc(1, sizeof *c);
    if (!c)
        goto nomem;
    c->n = n;
    c->nl = net_n_layers(n);
    c->n_in = net_in_size(n);
    c->n_out = net_out_size(n);
    c->maxw = net_max_width(n);
    c->n_relus = net_n_relus(n);
    c->L = cn_calloc((size_t)c->nl, sizeof *c->L);
    c->lo = cn_calloc((size_t)c->nl + 1, sizeof(double *));
    c->hi = cn_calloc((size_t)c->nl + 1, sizeof(double *));
    c->mag = cn_calloc((size_t)c->nl + 1, sizeof(double *));
    if (!c->L || !c->lo || !c->hi || !c->mag)
        goto nomem;
    int roff = 0;
    bool smooth = net_n_smooth(n) > 0;
    for (int i = 0; i < c->nl; i++) { /* the shape, for bnd__conv_dense */
        const net_layer *nl = net_layer_at(n, i);
        c->L[i].in = nl->in;
        c->L[i].out = nl->out;
        c->L[i].relu = nl->op == NET_RELU;
        c->L[i].pool = nl->op == NET_MAXPOOL;
    }
    const bool dense = bnd__conv_dense(c);
    for (int i = 0; i < c->nl; i++) {
        const net_layer *nl = net_layer_at(n, i);
        bnd__layer *l = &c->L[i];
        l->in = nl->in;
        l->out = nl->out;
        size_t in = (size_t)l->in;
        l->relu = l->pool = false;
        if (smooth && net_op_act(nl->op))
            continue;                   /* act.c keeps its own relaxations */
        if (nl->op == NET_RELU) {
            l->relu = true;
            l->relu_off = roff;
            roff += l->in;
            l->fused = i > 0 && !c->L[i - 1].relu && !c->L[i - 1].pool;
            l->st = cn_mallocarray(in, sizeof(signed char));
            l->ua = cn_mallocarray(in, sizeof(double));
            l->uc = cn_mallocarray(in, sizeof(double));
            l->al = cn_mallocarray(in, sizeof(double));
            l->sn = cn_mallocarray(in, sizeof(double));
            l->cn = cn_mallocarray(in, sizeof(double));
            l->em = cn_mallocarray(in, sizeof(double));
            l->idx = cn_mallocarray(in, sizeof(int));
            if (!l->st || !l->ua || !l->uc || !l->al || !l->sn || !l->cn || !l->em || !l->idx)
                goto nomem;
            if (l->fused && c->L[i - 1].W) { /* (a convolution without W: conv.c) */
                const bnd__layer *p = &c->L[i - 1];
                l->Wc = cn_mallocarray((size_t)p->out * (size_t)p->in, sizeof(double));
                l->bc = cn_mallocarray((size_t)p->out, sizeof(double));
                if (!l->Wc || !l->bc)
                    goto nomem;
            }
        } else if (nl->op == NET_MAXPOOL) {
            if (!bnd__pool_init(l, nl))
                goto nomem;
        } else {
            if (nl->op == NET_CONV) {
                if (!unroll_conv(nl, l, dense) || !bnd__conv_init(l, nl))
                    goto nomem;
            } else {
                l->W = nl->W;
                l->b = nl->b;
            }
            l->v = cn_mallocarray((size_t)l->out, sizeof(double));
            if (!l->v || !set_enclosure(nl, l) || !single_rows(nl, l))
                goto nomem;
        }
    }
    for (int i = 0; i <= c->nl; i++) {
        size_t w = (size_t)zw(c, i);
        c->lo[i] = cn_mallocarray(w, sizeof(double));
        c->hi[i] = cn_mallocarray(w, sizeof(double));
        c->mag[i] = cn_mallocarray(w, sizeof(double));
        if (!c->lo[i] || !c->hi[i] || !c->mag[i])
            goto nomem;
    }
    if (bnd__ensure_rows(c, rows_up_front(c, c->maxw), err) != CN_OK)
        goto fail;
    if (smooth && !(c->act = bnd__act_new(c)))
        goto nomem;
    c->red_ok = !smooth && bnd__red_eligible(c);
    if (c->red_ok && bnd__red_alloc(c) != CN_OK)
        goto nomem;
    return c;
nomem:
    cn_fail(err, CN_ENOMEM, "bounds: out of memory for a context");
fail:
    bnd_ctx_free(c);
    return NULL;
}

void bnd_layer_bounds(const bnd_ctx *c, int i, const double **lo, const double **hi)
{
    CN_REQUIRE(c && i >= 0 && i <= c->nl, "layer index in range");
    *lo = c->lo[i];
    *hi = c->hi[i];
}

void bnd_input_coef(const bnd_ctx *c, int row, const double **coef)
{
    CN_REQUIRE(c && coef && row >= 0, "context, row and output");
    *coef = row < c->coef_m ? c->coef + (size_t)row * (size_t)c->n_in : NULL;
}

bool bnd__halted(bnd_ctx *c)
{
    const bnd_opts *o = c->run_o;
    if (c->halted || !o)
        return c->halted;
    if ((o->deadline > 0 && cn_now() > o->deadline) || (o->stop && o->stop(o->stop_arg)))
        c->halted = true;
    return c->halted;
}

/* A stopped run reports nothing (bnd_opts): lb -inf, every layer bound
 * -inf / +inf, no input coefficients, not infeasible. */
void bnd__give_up(bnd_ctx *c, int m, double *lb)
{
    for (int r = 0; r < m; r++)
        lb[r] = -INFINITY;
    for (int i = 0; i <= c->nl; i++)
        for (int j = 0; j < zw(c, i); j++) {
            c->lo[i][j] = -INFINITY;
            c->hi[i][j] = INFINITY;
        }
    c->coef_m = 0;
    c->infeasible = false;
}

/* gamma_n = n u / (1 - n u) <= n u (1 + 2 n u) for n u <= 1/2, rounded up. */
static double gamma_up(int n)
{
    double nu = (double)n * BND_U;
    return nu * (1.0 + 2.0 * nu);
}

/* The back-substitution error vector of affine layer i:
 * v = gamma_out |W| mag_i + E (E as computed by ibp_affine).  For any
 * Lambda, Lambda z_{i+1} = Lambda (W z_i + b + e) >= fl(Lambda W) z_i +
 * Lambda b - |Lambda| v - k: the product's rounding and the enclosure's
 * error e enter the same way, weighted by |Lambda|. */
void bnd__ensure_v(bnd_ctx *c, int i)
{
    bnd__layer *l = &c->L[i];
    if (l->v_ok)
        return;
    const double gam = gamma_up(l->out);
    if (!l->W) {
        bnd__conv_absdot(l, c->mag[i], l->v);
        for (int o = 0; o < l->out; o++)
            l->v[o] = gam * l->v[o];
    } else
        for (int o = 0; o < l->out; o++)
            l->v[o] = gam * bnd__k_absdot(l->in, l->W + (size_t)o * (size_t)l->in, c->mag[i]);
    if (l->encl)
        for (int o = 0; o < l->out; o++)
            l->v[o] += l->e[o];
    l->v_ok = true;
}

/* E_o of (E) for affine layer l with av = |W| mag rounded up: each product
 * and sum rounded up (FE_UPWARD scope), so e_o >= the exact E_o. */
static void enclosure_e(bnd__layer *l, const double *av, double sm)
{
    const double ws = l->wabs * sm;
    for (int o = 0; o < l->out; o++) {
        double e = l->wrel * av[o];
        e += ws;
        if (l->brad)
            e += l->brad[o];
        l->e[o] = e;
    }
}

/* Interval step through affine layer i (z_i -> z_{i+1}), with (when the
 * reduced coordinates are not in use) the layer's back-substitution error
 * vector v = gamma_out |W| mag_i + E in the same pass, and the constant k.
 * With an enclosure the exact z_{i+1} = W z_i + b + e, |e| <= E, so the
 * interval [lo, hi] of W z_i + b widens to [lo - E, hi + E] (the lower end
 * carried negated: -lo + E rounded up). */
void bnd__ibp_affine(bnd_ctx *c, int i)
{
    bnd__layer *l = &c->L[i];
    const double *mag = c->mag[i];
    double sm = 0.0;
    for (int k = 0; k < l->in; k++)
        sm += mag[k];
    l->v_ok = false;
    if (c->red_on) {
        const double *h = i > 0 ? bnd__red_h(c, i) : NULL;
        bnd__k_ibp(l->in, l->out, l->W, l->b, c->lo[i], c->hi[i], h, c->lo[i + 1], c->hi[i + 1],
                   c->rE[i]);
        if (l->encl) {
            for (int o = 0; o < l->out; o++)
                l->e[o] = bnd__k_absdot(l->in, l->W + (size_t)o * (size_t)l->in, mag);
            enclosure_e(l, l->e, sm);
        }
    } else {
        if (BND_CONV_TAPS(l))
            bnd__conv_ibp(l, c->lo[i], c->hi[i], mag, c->lo[i + 1], c->hi[i + 1], l->v);
        else
            bnd__k_ibp(l->in, l->out, l->W, l->b, c->lo[i], c->hi[i], mag, c->lo[i + 1],
                       c->hi[i + 1], l->v);
        if (l->encl)
            enclosure_e(l, l->v, sm);
        const double gam = gamma_up(l->out);
        for (int o = 0; o < l->out; o++)
            l->v[o] = gam * l->v[o];
        if (l->encl)
            for (int o = 0; o < l->out; o++)
                l->v[o] += l->e[o];
        l->v_ok = true;
    }
    if (l->encl) {
        double *lo = c->lo[i + 1], *hi = c->hi[i + 1];
        for (int o = 0; o < l->out; o++) {
            double n = -lo[o];
            n += l->e[o];
            lo[o] = -n;
            hi[o] += l->e[o];
        }
    }
    l->k = (2.0 * (double)l->out * BND_ETA) * sm;
}

/* After bounds of z_i are known: blown if not finite (or NaN), mag. */
void bnd__finish_bounds(bnd_ctx *c, int i)
{
    int w = zw(c, i);
    double *lo = c->lo[i], *hi = c->hi[i], *mag = c->mag[i];
    for (int j = 0; j < w; j++) {
        if (!(lo[j] > -INFINITY) || !(hi[j] < INFINITY)) {
            if (!c->blown)
                c->blown_at = i;
            c->blown = true;
        }
        double a = fabs(lo[j]), b = fabs(hi[j]);
        mag[j] = a > b ? a : b;
    }
}

/* The region's known bounds of z_i (bnd_region ref_lo/ref_hi), if any. */
void bnd__intersect_ref(bnd_ctx *c, const bnd_region *rg, int i)
{
    const double *rl = rg->ref_lo ? rg->ref_lo[i] : NULL;
    const double *rh = rg->ref_hi ? rg->ref_hi[i] : NULL;
    double *lo = c->lo[i], *hi = c->hi[i];
    for (int j = 0; rl && j < zw(c, i); j++)
        if (rl[j] > lo[j])
            lo[j] = rl[j];
    for (int j = 0; rh && j < zw(c, i); j++)
        if (rh[j] < hi[j])
            hi[j] = rh[j];
}

/* Splits on the input of relu layer i, then its relaxation. */
void bnd__prep_relu(bnd_ctx *c, int i, const bnd_opts *o, const signed char *split,
                    bnd_result *res)
{
    bnd__layer *l = &c->L[i];
    double *lo = c->lo[i], *hi = c->hi[i];
    if (split)
        for (int j = 0; j < l->in; j++) {
            signed char s = split[l->relu_off + j];
            if (s > 0 && lo[j] < 0.0)
                lo[j] = 0.0;
            else if (s < 0 && hi[j] > 0.0)
                hi[j] = 0.0;
        }
    bnd__finish_bounds(c, i);
    const double *mag = c->mag[i];
    double eta_sum = 0.0;
    l->na = 0;
    for (int j = 0; j < l->in; j++) {
        double lj = lo[j], uj = hi[j];
        if (lj > uj)
            c->infeasible = true;
        l->cn[j] = 0.0;
        l->em[j] = 0.0;
        if (uj <= 0.0) {
            l->st[j] = BND_ST_INACTIVE;
            l->al[j] = l->sn[j] = 0.0;
            continue;
        }
        l->idx[l->na++] = j;
        if (lj >= 0.0) {
            l->st[j] = BND_ST_ACTIVE;
            l->al[j] = l->sn[j] = 1.0;
            continue;
        }
        l->st[j] = BND_ST_UNSTABLE;
        res->unstable++;
        /* upper line a x + c >= relu(x) at x = l and x = u, rounded up */
        double a = uj / (uj - lj);
        double c1 = (-a) * lj;
        double c2 = uj + (-a) * uj;
        l->ua[j] = l->sn[j] = a;
        l->uc[j] = l->cn[j] = c1 > c2 ? c1 : c2;
        switch (o->slope) {
        case BND_SLOPE_ZERO: l->al[j] = 0.0; break;
        case BND_SLOPE_ONE: l->al[j] = 1.0; break;
        default: l->al[j] = uj >= -lj ? 1.0 : 0.0; break;
        }
        l->em[j] = mag[j];
        eta_sum += mag[j];
    }
    l->eta_unst = eta_sum * BND_ETA;
    l->wc_ok = false;
}

/* Starting rows for intermediate bounds of z_{i+1}: +-W_i[j] over z_i,
 * with constant +-b_j - E_j when the layer has an enclosure
 * (+-z_{i+1}[j] = +-(W_j z_i + b_j + e_j) >= +-(W_j z_i + b_j) - E_j). */
static void load_inter(bnd_ctx *c, const void *arg)
{
    int i = *(const int *)arg;
    const bnd__layer *l = &c->L[i];
    size_t n = (size_t)l->in;
    for (int r = 0; r < c->al.R; r++) {
        int j = c->row_j[r];
        double *row = c->A + (size_t)r * n;
        if (!l->W) {
            bnd__conv_row(l, j, c->row_sgn[r] > 0 ? 1.0 : -1.0, row);
            c->nc[r] = c->row_sgn[r] > 0 ? -l->b[j] : l->b[j];
        } else if (c->row_sgn[r] > 0) {
            memcpy(row, l->W + (size_t)j * n, n * sizeof(double));
            c->nc[r] = -l->b[j];
        } else {
            const double *w = l->W + (size_t)j * n;
            for (size_t k = 0; k < n; k++)
                row[k] = -w[k];
            c->nc[r] = l->b[j];
        }
        if (l->encl)
            c->nc[r] += l->e[j];
    }
}

/* bnd_run_tight's rows of z_{i+1}: optimise the slopes (the last
 * iterate), round them to the 1/128 grid, bound again from exactly those;
 * where that beats CROWN's bound (row_lb on entry) it is kept and claimed. */
static void tight_rows(bnd_ctx *c, const bnd_opts *o, int i, int R)
{
    bnd__alpha *al = &c->al;
    memcpy(c->tight_lb, c->row_lb, sizeof(double) * (size_t)R);
    bnd__alpha_opt(c, i, R, o->alpha_iters, o->alpha_lr, load_inter, &i, c->row_lb, NULL);
    for (int k = 0; k < i; k++) {
        const bnd__layer *l = &c->L[k];
        if (!l->relu)
            continue;
        for (size_t t = 0; t < (size_t)R * (size_t)l->in; t++)
            al->a[k][t] = (double)lround(al->a[k][t] * 128.0) / 128.0;
    }
    load_inter(c, &i);
    bnd__backsub(c, i, R, false, al, c->row_lb, NULL);
    for (int r = 0; r < R; r++) {
        /* a claim a little below the computed bound: the checker's own
         * accounting of the same slopes may differ in the last bits */
        double v = c->row_lb[r];
        v -= 1e-9 * (1.0 + fabs(v));
        if (!(v > c->tight_lb[r]) || !isfinite(v)) {
            c->row_lb[r] = c->tight_lb[r];
            continue;
        }
        c->row_lb[r] = v;
        memset(c->claim_q, 0, (size_t)c->n_relus);
        for (int k = 0; k < i; k++) {
            const bnd__layer *l = &c->L[k];
            if (!l->relu)
                continue;
            const double *a = al->a[k] + (size_t)r * (size_t)l->in;
            for (int t = 0; t < l->in; t++)
                c->claim_q[l->relu_off + t] = (unsigned char)lround(a[t] * 128.0);
        }
        c->claim(c->claim_user, i + 1, c->row_j[r], c->row_sgn[r], v, c->claim_q);
    }
}

/* Whether linear_layer bounds neuron j of affine layer l by back-substitution:
 * every neuron (all) or the unstable ones, but never a row with one weight,
 * which keeps its interval bounds (single_rows). */
static bool row_wanted(const bnd__layer *l, int j, bool all, const double *lo, const double *hi)
{
    return (all || (lo[j] < 0.0 && hi[j] > 0.0)) && !(l->one && l->one[j]);
}

/* Linear bounds of z_{i+1} (affine layer i, i >= 1), intersected. */
static void linear_layer(bnd_ctx *c, const bnd_opts *o, int i)
{
    const bnd__layer *l = &c->L[i];
    bool next_relu = i + 1 < c->nl && c->L[i + 1].relu;
    double *lo = c->lo[i + 1], *hi = c->hi[i + 1];
    const bool all = !next_relu || o->layer_concretise || !o->intersect_ibp;
    const bool opt = o->method == BND_ALPHA && o->alpha_intermediate;
    int R = 0;
    for (int j = 0; j < l->out; j++)
        R += row_wanted(l, j, all, lo, hi) ? 2 : 0;
    if (R == 0)
        return;
    /* the row workspaces grow to what this layer needs (a failure stops the
     * run: bnd_run reports nothing and returns CN_ENOMEM) */
    if (bnd__ensure_rows(c, R, NULL) != CN_OK ||
        (opt && bnd__alpha_ensure(c, R, c->nl, NULL) != CN_OK) ||
        (c->red_on && bnd__red_ensure_rows(c, R) != CN_OK)) {
        c->nomem = c->halted = true;
        return;
    }
    R = 0;
    for (int j = 0; j < l->out; j++) {
        if (row_wanted(l, j, all, lo, hi)) {
            c->row_j[R] = j;
            c->row_sgn[R++] = 1;
            c->row_j[R] = j;
            c->row_sgn[R++] = -1;
        }
    }
    c->al.R = R;
    if (c->red_on) {
        bnd__red_inter(c, i, R, c->row_lb);
    } else {
        load_inter(c, &i);
        bnd__backsub(c, i, R, o->layer_concretise, NULL, c->row_lb, NULL);
    }
    /* claims name a ReLU's input (the engine keeps them per ReLU layer, the
     * checker replays them there).  Two affine layers in a row (a lowered
     * LeakyRelu/Clip, an explicit BatchNormalization before a Gemm): when
     * claiming, the first one's output keeps its CROWN bounds, which the
     * checker recomputes itself; optimised slopes there would give bounds
     * the checker could not reproduce */
    if (o->method == BND_ALPHA && o->alpha_intermediate && c->claim && next_relu)
        tight_rows(c, o, i, R);
    else if (o->method == BND_ALPHA && o->alpha_intermediate && !c->claim)
        bnd__alpha_opt(c, i, R, o->alpha_iters, o->alpha_lr, load_inter, &i, c->row_lb, NULL);
    for (int r = 0; r < R; r++) {
        int j = c->row_j[r];
        double v = c->row_lb[r];
        if (c->row_sgn[r] > 0) {
            if (!o->intersect_ibp || v > lo[j])
                lo[j] = v;
        } else {
            double u = -v;
            if (!o->intersect_ibp || u < hi[j])
                hi[j] = u;
        }
    }
}

typedef struct {
    int m;
    const double *C, *d;
} final_rows;

static void load_final(bnd_ctx *c, const void *arg)
{
    const final_rows *f = arg;
    memcpy(c->A, f->C, (size_t)f->m * (size_t)c->n_out * sizeof(double));
    for (int r = 0; r < f->m; r++)
        c->nc[r] = f->d ? -f->d[r] : 0.0;
}

void bnd__ibp_rows(const bnd_ctx *c, int m, const double *C, const double *d, double *lb)
{
    const double *lo = c->lo[c->nl], *hi = c->hi[c->nl];
    for (int r = 0; r < m; r++) {
        const double *row = C + (size_t)r * (size_t)c->n_out;
        double s = d ? -d[r] : 0.0, chk = 0.0;
        for (int j = 0; j < c->n_out; j++) {
            double w = row[j];
            chk += fabs(w);
            if (w > 0.0)
                s += (-w) * lo[j];
            else if (w < 0.0)
                s += (-w) * hi[j];
        }
        lb[r] = (chk < INFINITY && !isnan(s)) ? -s : -INFINITY;
    }
}

cn_status bnd_run(bnd_ctx *c, const bnd_opts *o, const bnd_region *rg, int m, const double *C,
                  const double *d, double *lb, bnd_result *res, cn_err *err)
{
    return bnd_run_ball(c, o, rg, NULL, m, C, d, lb, res, err);
}

cn_status bnd_run_ball(bnd_ctx *c, const bnd_opts *o, const bnd_region *rg, const bnd_ball *ball,
                       int m, const double *C, const double *d, double *lb, bnd_result *res,
                       cn_err *err)
{
    CN_REQUIRE(c && o && rg && rg->lo && rg->hi, "context, options and box");
    CN_REQUIRE(!ball || ball->c, "an L2 ball's centre");
    if (ball) {
        if (!(ball->r >= 0.0) || !isfinite(ball->r))
            return cn_fail(err, CN_EINVAL, "bounds: L2 radius %g is not a finite number >= 0",
                           ball->r);
        for (int j = 0; j < c->n_in; j++)
            if (!isfinite(ball->c[j]))
                return cn_fail(err, CN_EINVAL, "bounds: L2 centre %d is not finite", j);
    }
    CN_REQUIRE(m >= 0 && (m == 0 || (C && lb)), "query rows and output");
    CN_REQUIRE((unsigned)o->method <= BND_ALPHA, "a known method");
    for (int j = 0; j < c->n_in; j++)
        if (!isfinite(rg->lo[j]) || !isfinite(rg->hi[j]))
            return cn_fail(err, CN_EINVAL, "bounds: input %d: box [%g, %g] is not finite", j,
                           rg->lo[j], rg->hi[j]);
    for (int r = 0; r < m; r++) {
        for (int j = 0; j < c->n_out; j++)
            if (!isfinite(C[(size_t)r * (size_t)c->n_out + j]))
                return cn_fail(err, CN_EINVAL, "bounds: query row %d: coefficient %d is not finite",
                               r, j);
        if (d && !isfinite(d[r]))
            return cn_fail(err, CN_EINVAL, "bounds: query row %d: constant is not finite", r);
    }
    c->param_rows = 0;
    if (c->act)                         /* sigmoid/tanh layers: act.c (box only) */
        return bnd__act_run(c, o, rg, m, C, d, lb, res, err);
    bool linear = o->method != BND_INTERVAL;
    bool alpha = o->method == BND_ALPHA;
    if (bnd__ensure_rows(c, m, err) != CN_OK)
        return err ? err->status : CN_ENOMEM;
    if (bnd__red_ensure_rows(c, m > 2 * c->maxw ? m : 2 * c->maxw) != CN_OK)
        return cn_fail(err, CN_ENOMEM, "bounds: out of memory for %d rows", m);
    if (alpha) {
        int R = o->alpha_intermediate ? rows_up_front(c, c->n_relus) : 0;
        if (m > R)
            R = m;
        if (bnd__alpha_ensure(c, R, c->nl, err) != CN_OK)
            return err ? err->status : CN_ENOMEM;
    }
    bnd_opts oo = *o;
    if (alpha)
        oo.layer_concretise = false;

    bnd_result rs = {.infeasible = false, .unstable = 0, .n_relus = c->n_relus};
    int saved = cn_round_push(FE_UPWARD);
    c->run_o = &oo;
    c->halted = c->nomem = false;
    c->blown = false;
    c->infeasible = false;
    c->coef_m = 0;
    memcpy(c->lo[0], rg->lo, (size_t)c->n_in * sizeof(double));
    memcpy(c->hi[0], rg->hi, (size_t)c->n_in * sizeof(double));
    c->l2_c = ball ? ball->c : NULL;
    c->l2_r = ball ? ball->r : 0.0;
    for (int j = 0; j < c->n_in; j++)
        if (rg->lo[j] > rg->hi[j])
            c->infeasible = true;
    bnd__finish_bounds(c, 0);
    bnd__red_begin(c, linear && !oo.layer_concretise);
    if (c->L[0].relu)
        bnd__prep_relu(c, 0, &oo, rg->split, &rs);
    for (int i = 0; i < c->nl && !c->infeasible && !c->blown && !bnd__halted(c); i++) {
        const bnd__layer *l = &c->L[i];
        if (l->relu) {
            const double *lo = c->lo[i], *hi = c->hi[i];
            for (int j = 0; j < l->in; j++) {
                c->lo[i + 1][j] = lo[j] > 0.0 ? lo[j] : 0.0;
                c->hi[i + 1][j] = hi[j] > 0.0 ? hi[j] : 0.0;
            }
        } else if (l->pool) {
            bnd__pool_ibp(c, i);
        } else {
            bnd__ibp_affine(c, i);
            bnd__red_extend(c, i);
            /* DeepPoly also bounds the outputs themselves (ELINA does), which
             * the final intersection can use: lb(y_t) - ub(y_j) */
            /* (the first affine layer's interval bounds are exact over a
             * box, but not over an L2 ball: there its rows go to the input) */
            if (linear && (i >= 1 || c->l2_c) && (i + 1 < c->nl || oo.layer_concretise))
                linear_layer(c, &oo, i);
        }
        if (i + 1 < c->nl && c->L[i + 1].relu) {
            bnd__intersect_ref(c, rg, i + 1);
            bnd__prep_relu(c, i + 1, &oo, rg->split, &rs);
            bnd__red_add_cols(c, i + 1);
        } else
            bnd__finish_bounds(c, i + 1);
    }
    if (c->infeasible) {
        for (int r = 0; r < m; r++)
            lb[r] = INFINITY;
    } else if (c->blown) {
        for (int r = 0; r < m; r++)
            lb[r] = -INFINITY;
        for (int i = 0; i <= c->nl; i++)
            for (int j = 0; j < zw(c, i); j++)
                if (!(c->lo[i][j] > -INFINITY) || !(c->hi[i][j] < INFINITY) || i > c->blown_at) {
                    c->lo[i][j] = -INFINITY;
                    c->hi[i][j] = INFINITY;
                }
    } else if (m > 0 && !bnd__halted(c)) {
        bnd__ibp_rows(c, m, C, d, c->row_lb);
        if (!linear) {
            memcpy(lb, c->row_lb, (size_t)m * sizeof(double));
        } else {
            final_rows f = {m, C, d};
            load_final(c, &f);
            if (c->red_on)
                bnd__red_final(c, m, C, d, lb, c->coef);
            else
                bnd__backsub(c, c->nl, m, oo.layer_concretise, NULL, lb, c->coef);
            if (alpha)
                bnd__alpha_opt(c, c->nl, m, o->alpha_iters, o->alpha_lr, load_final, &f, lb,
                               c->coef);
            c->coef_m = m;
            if (o->intersect_ibp)
                for (int r = 0; r < m; r++)
                    if (c->row_lb[r] > lb[r])
                        lb[r] = c->row_lb[r];
        }
    }
    if (c->halted)
        bnd__give_up(c, m, lb);
    c->l2_c = NULL;
    c->last_ok = linear && !c->infeasible && !c->blown && !c->halted;
    c->last_split = rg->split;
    c->run_o = NULL;
    cn_round_pop(saved);
    rs.infeasible = c->infeasible;
    rs.stopped = c->halted;
    if (res)
        *res = rs;
    if (c->nomem)
        return cn_fail(err, CN_ENOMEM, "bounds: out of memory for the rows of a layer's bounds");
    return CN_OK;
}

cn_status bnd_run_tight(bnd_ctx *c, const bnd_opts *o, const bnd_region *r, int m, const double *C,
                        const double *d, double *lb, bnd_result *res, bnd_claim_fn claim,
                        void *user, cn_err *err)
{
    CN_REQUIRE(c && o && o->method == BND_ALPHA && claim, "alpha options and a callback");
    if (!c->tight_lb) {
        c->tight_lb = cn_mallocarray((size_t)2 * (size_t)c->maxw + 1, sizeof(double));
        c->claim_q = cn_mallocarray((size_t)c->n_relus + 1, 1);
        if (!c->tight_lb || !c->claim_q)
            return cn_fail(err, CN_ENOMEM, "bounds: out of memory for tightened bounds");
    }
    c->claim = claim;
    c->claim_user = user;
    cn_status st = bnd_run(c, o, r, m, C, d, lb, res, err);
    c->claim = NULL;
    c->claim_user = NULL;
    return st;
}

/* normalise.c — an input normalisation x -> (x - mean_c) / std_c put in
 * front of a network (for data whose normalisation the model file does not
 * hold: `--mean`/`--std`).
 *
 * The map is one NET_CONV layer with a 1x1 kernel on the input seen as
 * (C, in/C, 1), channel-major as the IR stores it:
 *     W[c][c'] = (c == c') / std_c,     b[c] = -mean_c / std_c.
 * 1/std_c and mean_c/std_c are rationals that a double need not hold: W and
 * b are the nearest doubles, and the layer carries the enclosure of
 * models.h ("Exactness") of the exact map, computed in rationals and rounded
 * outward:
 *     wrel >= max_c |1/std_c - W[c][c]| / |W[c][c]|,   wabs = 0 (the zero
 *     entries are exact),   brad[c] >= |-mean_c/std_c - b[c]|.
 * When every value is a double (std a power of two and mean/std exact) the
 * layer has no enclosure and the network stays exactly evaluable.  Every
 * sound consumer (bounds, LP, exact evaluation) already honours (E). */
#include "config.h"

#include <math.h>
#include <string.h>

#include "models/models_int.h"

/* The double nearest to q (ties: either). */
static double q_nearest(const mpq_t q)
{
    double lo = cn_mpq_get_d_down(q), hi = cn_mpq_get_d_up(q);
    if (lo == hi)
        return lo;
    mpq_t a, b;
    mpq_inits(a, b, NULL);
    mpq_set_d(a, lo);
    mpq_sub(a, q, a);              /* q - lo >= 0 */
    mpq_set_d(b, hi);
    mpq_sub(b, b, q);              /* hi - q >= 0 */
    double r = mpq_cmp(a, b) <= 0 ? lo : hi;
    mpq_clears(a, b, NULL);
    return r;
}

/* |exact - d| (divided by |d| when rel), rounded upward into *out (max). */
static void radius_up(const mpq_t exact, double d, bool rel, double *out)
{
    mpq_t t, u;
    mpq_inits(t, u, NULL);
    mpq_set_d(t, d);
    mpq_sub(t, exact, t);
    mpq_abs(t, t);
    if (rel && mpq_sgn(t) != 0) {
        mpq_set_d(u, d < 0 ? -d : d);
        mpq_div(t, t, u);
    }
    double r = cn_mpq_get_d_up(t);
    if (r > *out)
        *out = r;
    mpq_clears(t, u, NULL);
}

int net_input_channels(const net *n)
{
    CN_REQUIRE(n, "a network");
    /* [N, C, H, W] or [C, H, W]; a net built in code: its input shape's C;
     * anything else has one channel */
    int c = n->n_in_dims == 4   ? n->in_dims[1]
            : n->n_in_dims == 3 ? n->in_dims[0]
            : n->format == NET_FMT_BUILT ? n->in_shape.c
                                         : 1;
    int in = net_in_size(n);
    return c > 0 && in % c == 0 ? c : 1;
}

cn_status net_prepend_normalise(net *n, int n_vals, const mpq_t *mean, const mpq_t *std,
                                cn_err *err)
{
    CN_REQUIRE(n && n_vals > 0 && mean && std, "a network and n_vals mean/std values");
    int C = net_input_channels(n), in = net_in_size(n);
    if (n_vals != 1 && n_vals != C)
        return cn_fail(err, CN_EINVAL, "normalisation: %d values per option, but the network's "
                       "input has %d channel%s: give one value or %d", n_vals, C,
                       C == 1 ? "" : "s", C);
    for (int c = 0; c < n_vals; c++)
        if (mpq_sgn(std[c]) <= 0)
            return cn_fail(err, CN_EINVAL, "normalisation: std value %d is %g: expected a "
                           "positive number", c + 1, mpq_get_d(std[c]));
    net_layer l;
    memset(&l, 0, sizeof l);
    l.op = NET_CONV;
    l.in = l.out = in;
    l.in_shape = l.out_shape = (net_shape){C, in / C, 1};
    l.kh = l.kw = 1;
    l.stride_h = l.stride_w = 1;
    l.W = cn_calloc((size_t)C * (size_t)C, sizeof(double));
    l.b = cn_calloc((size_t)C, sizeof(double));
    l.brad = cn_calloc((size_t)C, sizeof(double));
    if (!l.W || !l.b || !l.brad)
        goto nomem;
    if (n->n_layers == n->cap_layers) {
        int cap = n->cap_layers ? 2 * n->cap_layers : 8;
        net_layer *nl = cn_reallocarray(n->layers, (size_t)cap, sizeof *nl);
        if (!nl)
            goto nomem;
        n->layers = nl;
        n->cap_layers = cap;
    }
    mpq_t w, bq;
    mpq_inits(w, bq, NULL);
    bool any_brad = false;
    for (int c = 0; c < C; c++) {
        const mpq_t *m = &mean[n_vals == 1 ? 0 : c], *s = &std[n_vals == 1 ? 0 : c];
        mpq_inv(w, *s);
        double wd = q_nearest(w);
        mpq_mul(bq, *m, w);
        mpq_neg(bq, bq);
        double bd = q_nearest(bq);
        if (!isfinite(wd) || wd == 0 || !isfinite(bd)) {
            mpq_clears(w, bq, NULL);
            cn_free(l.W);
            cn_free(l.b);
            cn_free(l.brad);
            return cn_fail(err, CN_EINVAL, "normalisation: channel %d: 1/std or mean/std is "
                           "outside the range of a double", c + 1);
        }
        l.W[(size_t)c * (size_t)C + (size_t)c] = wd;
        radius_up(w, wd, true, &l.wrel);
        l.b[c] = bd;
        radius_up(bq, bd, false, &l.brad[c]);
        any_brad = any_brad || l.brad[c] > 0;
    }
    mpq_clears(w, bq, NULL);
    if (!any_brad) {
        cn_free(l.brad);
        l.brad = NULL;
    }
    if (l.wrel > 0 || l.brad)
        n->fold_exact = false;
    memmove(n->layers + 1, n->layers, sizeof *n->layers * (size_t)n->n_layers);
    n->layers[0] = l;
    n->n_layers++;
    return CN_OK;
nomem:
    cn_free(l.W);
    cn_free(l.b);
    cn_free(l.brad);
    return cn_fail(err, CN_ENOMEM, "out of memory for the input normalisation");
}

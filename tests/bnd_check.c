/* bnd_check.c — checking bounds/ against exact values (bnd_check.h). */
#include "config.h"

#include <math.h>

#include "tests/bnd_check.h"
#include "tests/netgen.h"
#include "tests/testutil.h"

const bnd_method methods[N_METHODS] = {BND_INTERVAL, BND_DEEPPOLY, BND_CROWN, BND_ALPHA};

/* The sign of v - q, v finite. */
static int cmp_dq(double v, const mpq_t q)
{
    mpq_t t;
    mpq_init(t);
    mpq_set_d(t, v);
    int c = mpq_cmp(t, q);
    mpq_clear(t);
    return c;
}

bool d_le_q(double v, const mpq_t q)
{
    return v == -INFINITY || (isfinite(v) && cmp_dq(v, q) <= 0);
}

bool q_le_d(const mpq_t q, double v)
{
    return v == INFINITY || (isfinite(v) && cmp_dq(v, q) >= 0);
}

void snap_take(bnd_ctx *c, const net *n, snapshot *s, const trace *t)
{
    s->lo = calloc((size_t)t->nl + 1, sizeof(double *));
    s->hi = calloc((size_t)t->nl + 1, sizeof(double *));
    for (int i = 0; i <= t->nl; i++) {
        const double *lo, *hi;
        bnd_layer_bounds(c, i, &lo, &hi);
        s->lo[i] = malloc(sizeof(double) * (size_t)t->w[i]);
        s->hi[i] = malloc(sizeof(double) * (size_t)t->w[i]);
        memcpy(s->lo[i], lo, sizeof(double) * (size_t)t->w[i]);
        memcpy(s->hi[i], hi, sizeof(double) * (size_t)t->w[i]);
    }
    (void)n;
}

void snap_free(snapshot *s, int nl)
{
    for (int i = 0; i <= nl; i++) {
        free(s->lo[i]);
        free(s->hi[i]);
    }
    free(s->lo);
    free(s->hi);
    free(s->lb);
}

/* Checks one point (already traced) against a snapshot.  The pre-activation
 * bounds of relu layers are checked (the others are checked too: they are
 * all valid bounds).  Returns false and prints the violation. */
bool check_point(const net *n, const trace *t, const snapshot *s, const char *what)
{
    for (int i = 0; i <= t->nl; i++)
        for (int j = 0; j < t->w[i]; j++) {
            if (!d_le_q(s->lo[i][j], t->z[i][j]) || !q_le_d(t->z[i][j], s->hi[i][j])) {
                print_message("%s: z_%d[%d] = %.17g outside [%.17g, %.17g]\n", what, i, j,
                              mpq_get_d(t->z[i][j]), s->lo[i][j], s->hi[i][j]);
                return false;
            }
        }
    int no = net_out_size(n);
    mpq_t v, p;
    mpq_init(v);
    mpq_init(p);
    bool ok = true;
    for (int r = 0; r < s->m && ok; r++) {
        mpq_set_d(v, s->d[r]);
        for (int j = 0; j < no; j++) {
            mpq_set_d(p, s->C[r * no + j]);
            mpq_mul(p, p, t->z[t->nl][j]);
            mpq_add(v, v, p);
        }
        if (!d_le_q(s->lb[r], v)) {
            print_message("%s: row %d: lb %.17g (%a) > exact %.17g\n", what, r, s->lb[r], s->lb[r],
                          mpq_get_d(v));
            ok = false;
        }
    }
    mpq_clear(v);
    mpq_clear(p);
    return ok;
}

void assert_inside_interval(const snapshot *s, const trace *t)
{
    for (int k = 1; k < N_METHODS; k++) {
        if (s[0].infeasible || s[k].infeasible)
            continue;
        for (int i = 0; i <= t->nl; i++)
            for (int j = 0; j < t->w[i]; j++) {
                assert_double_le(s[0].lo[i][j], s[k].lo[i][j]);
                assert_double_le(s[k].hi[i][j], s[0].hi[i][j]);
            }
    }
}

int box_vertices(int nin, int bits) { return nin <= bits ? 1 << nin : 64; }

bool box_point(tu_rng *r, int p, int nin, int bits, const double *lo, const double *hi,
               const double *x0, double *x)
{
    if (p < 0) {
        if (!x0)
            return false;
        memcpy(x, x0, sizeof(double) * (size_t)nin);
    } else if (p < box_vertices(nin, bits)) {
        for (int j = 0; j < nin; j++) {
            int bit = nin <= bits ? (p >> j) & 1 : (int)(tu_next(r) & 1);
            x[j] = bit ? hi[j] : lo[j];
        }
    } else {
        for (int j = 0; j < nin; j++) {
            double v = lo[j] + tu_unif(r) * (hi[j] - lo[j]);
            x[j] = v < lo[j] ? lo[j] : v > hi[j] ? hi[j] : v;
        }
    }
    return true;
}

bool meets_splits(const net *n, const trace *t, const signed char *split)
{
    bool sat = true;
    for (int i = 0, off = 0; split && i < t->nl; i++) {
        const net_layer *l = net_layer_at(n, i);
        if (l->op != NET_RELU)
            continue;
        for (int j = 0; j < l->in; j++) {
            int sg = mpq_sgn(t->z[i][j]);
            if ((split[off + j] > 0 && sg < 0) || (split[off + j] < 0 && sg > 0))
                sat = false;
        }
        off += l->in;
    }
    return sat;
}

bnd_ctx *ctx_new_oom(const net *n)
{
    long live = cn_alloc_live();
    cn_err err;
    bnd_ctx *c = NULL;
    for (long k = 1;; k++) {
        cn_alloc_fail_after(k);
        c = bnd_ctx_new(n, &err);
        cn_alloc_fail_after(0);
        if (c)
            break;
        assert_int_equal(err.status, CN_ENOMEM);
        assert_int_equal(cn_alloc_live(), live);
        assert_true(k < 1000);
    }
    return c;
}

signed char *splits_at(tu_rng *r, const net *n, const double *x, double prob)
{
    trace t;
    trace_init(&t, n);
    eval_trace(n, x, &t);
    signed char *split = calloc((size_t)net_n_relus(n) + 1, 1);
    assert_non_null(split);
    for (int i = 0, off = 0; i < t.nl; i++) {
        const net_layer *l = net_layer_at(n, i);
        if (l->op != NET_RELU)
            continue;
        for (int j = 0; j < l->in; j++)
            if (tu_unif(r) < prob)
                split[off + j] = mpq_sgn(t.z[i][j]) >= 0 ? 1 : -1;
        off += l->in;
    }
    trace_clear(&t);
    return split;
}

int margin_rows(tu_rng *r, int no, int n_rand, double e, double *C, double *d)
{
    int q = 0;
    for (int i = 0; i < no; i++)
        for (int j = 0; j < no; j++)
            if (i != j) {
                C[q * no + i] = 1;
                C[q * no + j] = -1;
                q++;
            }
    for (int k = 0; k < n_rand; k++, q++) {
        for (int j = 0; j < no; j++)
            C[q * no + j] = wide(r, e);
        d[q] = wide(r, e);
    }
    return q;
}

void assert_lb_le(double lb, const mpq_t q, const char *what, int t, int row)
{
    if (!d_le_q(lb, q))
        fail_msg("%s: net %d row %d: bound %a above the exact value %a", what, t, row, lb,
                 mpq_get_d(q));
}

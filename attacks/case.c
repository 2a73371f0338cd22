/* case.c — a property case compiled to doubles for the search; the margin
 * loss, projection onto the region, exact clamping; generator and clock. */
#include "config.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include "attacks/attacks_int.h"

/* ---- generator: splitmix64 ---------------------------------------------- */

void atk_rng_seed(atk_rng *r, uint64_t seed) { r->s = seed; }

uint64_t atk_rng_next(atk_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double atk_rng_unif(atk_rng *r) { return (double)(atk_rng_next(r) >> 11) * 0x1p-53; }

double atk__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- exact helpers ------------------------------------------------------ */

double atk__mpq_get_d_near(const mpq_t q)
{
    double lo = cn_mpq_get_d_down(q), hi = cn_mpq_get_d_up(q);
    if (lo == hi || !isfinite(lo) || !isfinite(hi))
        return isfinite(lo) ? lo : hi;
    mpq_t a, b;
    mpq_init(a);
    mpq_init(b);
    mpq_set_d(a, lo);
    mpq_sub(a, q, a);              /* q - lo >= 0 */
    mpq_set_d(b, hi);
    mpq_sub(b, b, q);              /* hi - q >= 0 */
    int c = mpq_cmp(a, b);
    mpq_clear(a);
    mpq_clear(b);
    return c < 0 ? lo : c > 0 ? hi : lo; /* a tie picks lo: either is nearest */
}

void atk__clamp_exact(const prop_case *pc, int n_in, const double *x, mpq_t *q)
{
    for (int i = 0; i < n_in; i++) {
        mpq_set_d(q[i], x[i]);
        if (mpq_cmp(q[i], pc->lo[i]) < 0)
            mpq_set(q[i], pc->lo[i]);
        else if (mpq_cmp(q[i], pc->hi[i]) > 0)
            mpq_set(q[i], pc->hi[i]);
    }
}

/* ---- compiling a case --------------------------------------------------- */

void atk__case_clear(atk__case *c)
{
    cn_free(c->lo);
    cn_free(c->hi);
    cn_free(c->mid);
    cn_free(c->rad);
    cn_free(c->lin_a);
    cn_free(c->lin_b);
    cn_free(c->lin_nrm2);
    cn_free(c->atom_start);
    cn_free(c->atom_c);
    cn_free(c->atom_r);
    memset(c, 0, sizeof *c);
}

cn_status atk__case_init(atk__case *c, const prop_case *pc, int n_in, int n_out, cn_err *err)
{
    memset(c, 0, sizeof *c);
    c->n_in = n_in;
    c->n_out = n_out;
    c->pc = pc;
    c->n_lin = pc->n_lin;
    c->n_disj = pc->n_disj;
    for (int d = 0; d < pc->n_disj; d++)
        c->n_atoms += pc->disj[d].n;
    size_t ni = (size_t)n_in, na = (size_t)(c->n_atoms > 0 ? c->n_atoms : 1),
           nl = (size_t)(c->n_lin > 0 ? c->n_lin : 1);
    c->lo = cn_mallocarray(ni, sizeof(double));
    c->hi = cn_mallocarray(ni, sizeof(double));
    c->mid = cn_mallocarray(ni, sizeof(double));
    c->rad = cn_mallocarray(ni, sizeof(double));
    c->lin_a = cn_calloc(nl * ni, sizeof(double));
    c->lin_b = cn_calloc(nl, sizeof(double));
    c->lin_nrm2 = cn_calloc(nl, sizeof(double));
    c->atom_start = cn_calloc((size_t)c->n_disj + 1, sizeof(int));
    c->atom_c = cn_calloc(na * (size_t)n_out, sizeof(double));
    c->atom_r = cn_calloc(na, sizeof(double));
    if (!c->lo || !c->hi || !c->mid || !c->rad || !c->lin_a || !c->lin_b || !c->lin_nrm2 ||
        !c->atom_start || !c->atom_c || !c->atom_r) {
        atk__case_clear(c);
        return cn_fail(err, CN_ENOMEM, "out of memory compiling a property case");
    }
    for (int i = 0; i < n_in; i++) {
        double lo = cn_mpq_get_d_up(pc->lo[i]), hi = cn_mpq_get_d_down(pc->hi[i]);
        if (!(lo <= hi) || !isfinite(lo) || !isfinite(hi)) {
            /* no double inside: search at the nearest one; the exact clamp fixes it */
            lo = hi = atk__mpq_get_d_near(pc->lo[i]);
            if (!isfinite(lo))
                lo = hi = 0.0;
        }
        c->lo[i] = lo;
        c->hi[i] = hi;
        c->mid[i] = lo + 0.5 * (hi - lo);
        c->rad[i] = 0.5 * (hi - lo);
        if (!isfinite(c->rad[i]))
            c->rad[i] = 0.0;
    }
    for (int j = 0; j < c->n_lin; j++) {
        const prop_lin *l = &pc->lin[j];
        double *a = c->lin_a + (size_t)j * ni;
        for (int k = 0; k < l->n; k++)
            a[l->var[k]] += atk__mpq_get_d_near(l->coef[k]);
        c->lin_b[j] = atk__mpq_get_d_near(l->rhs);
        double s = 0;
        for (int i = 0; i < n_in; i++)
            s += a[i] * a[i];
        c->lin_nrm2[j] = s;
    }
    int k = 0;
    for (int d = 0; d < c->n_disj; d++) {
        c->atom_start[d] = k;
        for (int t = 0; t < pc->disj[d].n; t++, k++) {
            const prop_lin *l = &pc->disj[d].atoms[t];
            double *a = c->atom_c + (size_t)k * (size_t)n_out;
            for (int m = 0; m < l->n; m++)
                a[l->var[m]] += atk__mpq_get_d_near(l->coef[m]);
            c->atom_r[k] = atk__mpq_get_d_near(l->rhs);
        }
    }
    c->atom_start[c->n_disj] = k;
    return CN_OK;
}

/* ---- loss and projection ------------------------------------------------ */

static double disj_loss(const atk__case *c, const double *y, int d, int *atom)
{
    double best = -INFINITY;
    int arg = -1;
    for (int k = c->atom_start[d]; k < c->atom_start[d + 1]; k++) {
        const double *a = c->atom_c + (size_t)k * (size_t)c->n_out;
        double v = -c->atom_r[k];
        for (int o = 0; o < c->n_out; o++)
            v += a[o] * y[o];
        if (v > best || arg < 0) {
            best = v;
            arg = k;
        }
    }
    if (atom)
        *atom = arg;
    return best;
}

double atk__case_loss(const atk__case *c, const double *y, int d, int *atom)
{
    if (d >= 0)
        return disj_loss(c, y, d, atom);
    double best = INFINITY;
    int arg = -1;
    for (int e = 0; e < c->n_disj; e++) {
        int a;
        double v = disj_loss(c, y, e, &a);
        if (v < best || arg < 0) {
            best = v;
            arg = a;
        }
    }
    if (atom)
        *atom = arg;
    return best;
}

static void clip_box(const atk__case *c, double *x)
{
    for (int i = 0; i < c->n_in; i++) {
        if (!(x[i] >= c->lo[i]))       /* also catches NaN */
            x[i] = c->lo[i];
        else if (x[i] > c->hi[i])
            x[i] = c->hi[i];
    }
}

void atk__case_project(const atk__case *c, double *x)
{
    clip_box(c, x);
    for (int round = 0; round < 8 && c->n_lin > 0; round++) {
        bool moved = false;
        for (int j = 0; j < c->n_lin; j++) {
            const double *a = c->lin_a + (size_t)j * (size_t)c->n_in;
            if (c->lin_nrm2[j] == 0.0)
                continue;
            double s = -c->lin_b[j];
            for (int i = 0; i < c->n_in; i++)
                s += a[i] * x[i];
            if (s <= 0.0)
                continue;
            /* step a little past the hyperplane so rounding leaves it satisfied */
            double t = (s * (1.0 + 1e-9) + 1e-12 * (1.0 + fabs(c->lin_b[j]))) / c->lin_nrm2[j];
            for (int i = 0; i < c->n_in; i++)
                x[i] -= t * a[i];
            moved = true;
        }
        clip_box(c, x);
        if (!moved)
            break;
    }
}

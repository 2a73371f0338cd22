/* prop.c — the property IR: construction, equality, the eps-ball, VNN-LIB
 * output and the exact point check.
 *
 * A property (models.h) is a list of cases; case c is violated at x iff
 *     lo <= x <= hi,   lin_k(x) <= rhs_k for every k,   and
 *     some disjunct d of c has every atom  sum coef * y[var] <= rhs  true at y = N(x).
 * Everything here is exact (GMP mpq); doubles appear only as the outward
 * enclosure lo_d/hi_d and as display values.
 */
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/models_int.h"

/* ------------------------------------------------------------------------ */
/* Building and freeing                                                      */
/* ------------------------------------------------------------------------ */

prop *prop__alloc(const char *name, int n_in, int n_out, int n_cases)
{
    CN_REQUIRE(name && n_in > 0 && n_out > 0 && n_cases >= 0, "sizes");
    prop *p = cn_calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->name = cn_strdup(name);
    p->cases = cn_calloc((size_t)(n_cases ? n_cases : 1), sizeof *p->cases);
    if (!p->name || !p->cases) {
        cn_free(p->name);
        cn_free(p->cases);
        cn_free(p);
        return NULL;
    }
    p->n_in = n_in;
    p->n_out = n_out;
    p->n_cases = n_cases;
    return p;
}

bool prop__case_box(prop_case *c, int n_in)
{
    mpq_t *lo = cn_mallocarray((size_t)n_in, sizeof(mpq_t));
    mpq_t *hi = cn_mallocarray((size_t)n_in, sizeof(mpq_t));
    double *lo_d = cn_mallocarray((size_t)n_in, sizeof(double));
    double *hi_d = cn_mallocarray((size_t)n_in, sizeof(double));
    if (!lo || !hi || !lo_d || !hi_d) {
        cn_free(lo);
        cn_free(hi);
        cn_free(lo_d);
        cn_free(hi_d);
        return false;
    }
    for (int i = 0; i < n_in; i++) {
        mpq_init(lo[i]);
        mpq_init(hi[i]);
        lo_d[i] = hi_d[i] = 0.0;
    }
    c->lo = lo;
    c->hi = hi;
    c->lo_d = lo_d;
    c->hi_d = hi_d;
    return true;
}

void prop__case_round(prop_case *c, int n_in)
{
    for (int i = 0; i < n_in; i++) {
        double l = cn_mpq_get_d_down(c->lo[i]), h = cn_mpq_get_d_up(c->hi[i]);
        /* beyond the double range the conversion saturates to infinity on the
         * side of the value; keep the enclosure on the outer side */
        if (l == INFINITY)
            l = DBL_MAX;
        if (h == -INFINITY)
            h = -DBL_MAX;
        c->lo_d[i] = l;
        c->hi_d[i] = h;
    }
}

bool prop__lin_init(prop_lin *l, int n)
{
    int *var = cn_mallocarray((size_t)(n ? n : 1), sizeof(int));
    mpq_t *coef = cn_mallocarray((size_t)(n ? n : 1), sizeof(mpq_t));
    if (!var || !coef) {
        cn_free(var);
        cn_free(coef);
        return false;
    }
    for (int k = 0; k < n; k++) {
        var[k] = 0;
        mpq_init(coef[k]);
    }
    mpq_init(l->rhs);
    l->n = n;
    l->var = var;
    l->coef = coef;
    return true;
}

void prop__lin_clear(prop_lin *l)
{
    for (int k = 0; k < l->n; k++)
        mpq_clear(l->coef[k]);
    mpq_clear(l->rhs);
    cn_free(l->var);
    cn_free(l->coef);
    l->n = 0;
    l->var = NULL;
    l->coef = NULL;
}

bool prop__lin_copy(prop_lin *dst, const prop_lin *src)
{
    if (!prop__lin_init(dst, src->n))
        return false;
    for (int k = 0; k < src->n; k++) {
        dst->var[k] = src->var[k];
        mpq_set(dst->coef[k], src->coef[k]);
    }
    mpq_set(dst->rhs, src->rhs);
    return true;
}

bool prop__lin_equal(const prop_lin *a, const prop_lin *b)
{
    if (a->n != b->n || !mpq_equal(a->rhs, b->rhs))
        return false;
    for (int k = 0; k < a->n; k++)
        if (a->var[k] != b->var[k] || !mpq_equal(a->coef[k], b->coef[k]))
            return false;
    return true;
}

void prop__case_clear(prop_case *c, int n_in)
{
    if (c->lo) {
        for (int i = 0; i < n_in; i++) {
            mpq_clear(c->lo[i]);
            mpq_clear(c->hi[i]);
        }
    }
    cn_free(c->lo);
    cn_free(c->hi);
    cn_free(c->lo_d);
    cn_free(c->hi_d);
    for (int k = 0; k < c->n_lin; k++)
        prop__lin_clear(&c->lin[k]);
    cn_free(c->lin);
    for (int d = 0; d < c->n_disj; d++) {
        for (int k = 0; k < c->disj[d].n; k++)
            prop__lin_clear(&c->disj[d].atoms[k]);
        cn_free(c->disj[d].atoms);
    }
    cn_free(c->disj);
    memset(c, 0, sizeof *c);
}

void prop_free(prop *p)
{
    if (!p)
        return;
    for (int c = 0; c < p->n_cases; c++)
        prop__case_clear(&p->cases[c], p->n_in);
    cn_free(p->cases);
    cn_free(p->name);
    cn_free(p);
}

/* ------------------------------------------------------------------------ */
/* Accessors and equality                                                    */
/* ------------------------------------------------------------------------ */

int prop_n_in(const prop *p)
{
    CN_REQUIRE(p, "a property");
    return p->n_in;
}

int prop_n_out(const prop *p)
{
    CN_REQUIRE(p, "a property");
    return p->n_out;
}

int prop_n_cases(const prop *p)
{
    CN_REQUIRE(p, "a property");
    return p->n_cases;
}

const prop_case *prop_case_at(const prop *p, int i)
{
    CN_REQUIRE(p && i >= 0 && i < p->n_cases, "case index in range");
    return &p->cases[i];
}

const char *prop_name(const prop *p)
{
    CN_REQUIRE(p, "a property");
    return p->name;
}

static bool conj_equal(const prop_conj *a, const prop_conj *b)
{
    if (a->n != b->n)
        return false;
    for (int k = 0; k < a->n; k++)
        if (!prop__lin_equal(&a->atoms[k], &b->atoms[k]))
            return false;
    return true;
}

bool prop_equal(const prop *a, const prop *b)
{
    CN_REQUIRE(a && b, "two properties");
    if (a->n_in != b->n_in || a->n_out != b->n_out || a->n_cases != b->n_cases)
        return false;
    for (int c = 0; c < a->n_cases; c++) {
        const prop_case *x = &a->cases[c], *y = &b->cases[c];
        for (int i = 0; i < a->n_in; i++)
            if (!mpq_equal(x->lo[i], y->lo[i]) || !mpq_equal(x->hi[i], y->hi[i]))
                return false;
        if (x->n_lin != y->n_lin || x->n_disj != y->n_disj)
            return false;
        for (int k = 0; k < x->n_lin; k++)
            if (!prop__lin_equal(&x->lin[k], &y->lin[k]))
                return false;
        for (int d = 0; d < x->n_disj; d++)
            if (!conj_equal(&x->disj[d], &y->disj[d]))
                return false;
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* The eps-ball                                                              */
/* ------------------------------------------------------------------------ */

cn_status prop_eps_ball(int n_in, mpq_t *x0, const mpq_t eps, const mpq_t clip_lo,
                        const mpq_t clip_hi, int n_out, int label, prop **out, cn_err *err)
{
    CN_REQUIRE(n_in > 0 && x0 && out, "input size, centre and output pointer");
    if (mpq_sgn(eps) < 0)
        return cn_fail(err, CN_EINVAL, "eps-ball: eps must be >= 0, got %g", mpq_get_d(eps));
    if (mpq_cmp(clip_lo, clip_hi) > 0)
        return cn_fail(err, CN_EINVAL, "eps-ball: clip range [%g, %g] is empty",
                       mpq_get_d(clip_lo), mpq_get_d(clip_hi));
    if (n_out < 2)
        return cn_fail(err, CN_EINVAL,
                       "eps-ball: the network has %d output(s); a label property needs >= 2",
                       n_out);
    if (label < 0 || label >= n_out)
        return cn_fail(err, CN_EINVAL, "eps-ball: label %d is not an output index (0..%d)",
                       label, n_out - 1);
    char name[128];
    snprintf(name, sizeof name, "eps-ball (label %d, eps %.9g)", label, mpq_get_d(eps));
    prop *p = prop__alloc(name, n_in, n_out, 1);
    if (!p)
        goto nomem;
    prop_case *c = &p->cases[0];
    if (!prop__case_box(c, n_in))
        goto nomem;
    for (int i = 0; i < n_in; i++) {
        mpq_sub(c->lo[i], x0[i], eps);
        if (mpq_cmp(c->lo[i], clip_lo) < 0)
            mpq_set(c->lo[i], clip_lo);
        mpq_add(c->hi[i], x0[i], eps);
        if (mpq_cmp(c->hi[i], clip_hi) > 0)
            mpq_set(c->hi[i], clip_hi);
    }
    prop__case_round(c, n_in);
    c->disj = cn_calloc((size_t)(n_out - 1), sizeof *c->disj);
    if (!c->disj)
        goto nomem;
    for (int j = 0; j < n_out; j++) {
        if (j == label)
            continue;
        prop_conj *cj = &c->disj[c->n_disj];
        cj->atoms = cn_calloc(1, sizeof *cj->atoms);
        if (!cj->atoms)
            goto nomem;
        c->n_disj++;
        /* y_label - y_j <= 0, variables in increasing order */
        prop_lin *a = &cj->atoms[0];
        if (!prop__lin_init(a, 2))
            goto nomem;
        cj->n = 1;
        int first = label < j ? label : j, second = label < j ? j : label;
        a->var[0] = first;
        a->var[1] = second;
        mpq_set_si(a->coef[0], first == label ? 1 : -1, 1);
        mpq_set_si(a->coef[1], second == label ? 1 : -1, 1);
    }
    *out = p;
    return CN_OK;
nomem:
    prop_free(p);
    return cn_fail(err, CN_ENOMEM, "eps-ball: out of memory");
}

/* ------------------------------------------------------------------------ */
/* VNN-LIB output                                                            */
/* ------------------------------------------------------------------------ */

/* Does q have a terminating decimal expansion (denominator 2^a 5^b)?
 * On return (when true) *k is the number of decimal places needed. */
static bool terminates(const mpq_t q, unsigned long *k)
{
    mpz_t d, f;
    mpz_init_set(d, mpq_denref(q));
    mpz_init_set_ui(f, 2);
    unsigned long a = mpz_remove(d, d, f);
    mpz_set_ui(f, 5);
    unsigned long b = mpz_remove(d, d, f);
    bool t = mpz_cmp_ui(d, 1) == 0;
    mpz_clear(d);
    mpz_clear(f);
    if (k)
        *k = a > b ? a : b;
    return t;
}

static void gmp_free_str(char *s)
{
    void (*freefunc)(void *, size_t);
    mp_get_memory_functions(NULL, NULL, &freefunc);
    freefunc(s, strlen(s) + 1);
}

/* Writes a terminating rational exactly as a plain decimal ("-0.25", "3.0"). */
static void put_dec(FILE *f, const mpq_t q)
{
    unsigned long k;
    bool t = terminates(q, &k);
    CN_REQUIRE(t, "terminating decimal");
    mpz_t n, s;
    mpz_init(n);
    mpz_init(s);
    /* n = |q| * 10^k, an integer */
    mpz_ui_pow_ui(s, 10, k);
    mpz_mul(n, mpq_numref(q), s);
    mpz_divexact(n, n, mpq_denref(q));
    mpz_abs(n, n);
    char *digits = mpz_get_str(NULL, 10, n);
    size_t len = strlen(digits);
    if (mpq_sgn(q) < 0)
        fputc('-', f);
    if (len <= k) {
        fputs("0.", f);
        for (size_t i = len; i < k; i++)
            fputc('0', f);
        size_t end = len;
        while (end > 1 && digits[end - 1] == '0')
            end--;
        fwrite(digits, 1, end, f);
    } else {
        fwrite(digits, 1, len - k, f);
        fputc('.', f);
        size_t end = len;
        while (end > len - k + 1 && digits[end - 1] == '0')
            end--;
        if (k == 0)
            fputc('0', f);
        else
            fwrite(digits + len - k, 1, end - (len - k), f);
    }
    gmp_free_str(digits);
    mpz_clear(n);
    mpz_clear(s);
}

/* Writes any rational exactly: a plain decimal when its expansion terminates,
 * else "(/ P Q)" (P signed, Q > 1, lowest terms), a term the reader takes
 * back as the same rational.  Nothing is ever rounded. */
static void put_num(FILE *f, const mpq_t q)
{
    if (terminates(q, NULL)) {
        put_dec(f, q);
        return;
    }
    char *num = mpz_get_str(NULL, 10, mpq_numref(q)), *den = mpz_get_str(NULL, 10, mpq_denref(q));
    fprintf(f, "(/ %s %s)", num, den);
    gmp_free_str(num);
    gmp_free_str(den);
}

/* Writes  sum coef*V[var] <= rhs  with every number exact (put_num), so the
 * text reads back as the same atom: same variables, coefficients and rhs. */
static void put_atom(FILE *f, const prop_lin *a, char v)
{
    mpq_t r;
    mpq_init(r);
    if (a->n == 1 && mpq_cmp_si(a->coef[0], 1, 1) == 0) {
        fprintf(f, "(<= %c_%d ", v, a->var[0]);
        put_num(f, a->rhs);
        fputc(')', f);
    } else if (a->n == 1 && mpq_cmp_si(a->coef[0], -1, 1) == 0) {
        fprintf(f, "(>= %c_%d ", v, a->var[0]);
        mpq_neg(r, a->rhs);
        put_num(f, r);
        fputc(')', f);
    } else if (a->n == 2 && mpq_sgn(a->rhs) == 0 && mpq_cmp_si(a->coef[0], 1, 1) == 0 &&
               mpq_cmp_si(a->coef[1], -1, 1) == 0) {
        fprintf(f, "(<= %c_%d %c_%d)", v, a->var[0], v, a->var[1]);
    } else if (a->n == 2 && mpq_sgn(a->rhs) == 0 && mpq_cmp_si(a->coef[0], -1, 1) == 0 &&
               mpq_cmp_si(a->coef[1], 1, 1) == 0) {
        fprintf(f, "(>= %c_%d %c_%d)", v, a->var[0], v, a->var[1]);
    } else {
        fputs(a->n > 1 ? "(<= (+" : "(<=", f);
        for (int k = 0; k < a->n; k++) {
            fputs(" (* ", f);
            put_num(f, a->coef[k]);
            fprintf(f, " %c_%d)", v, a->var[k]);
        }
        fputs(a->n > 1 ? ") " : " ", f);
        put_num(f, a->rhs);
        fputc(')', f);
    }
    mpq_clear(r);
}

/* The input part of a case: box bounds and linear constraints, each as an
 * atom preceded by sep. */
static void put_region(FILE *f, const prop *p, const prop_case *c, const char *pre,
                       const char *post)
{
    for (int i = 0; i < p->n_in; i++) {
        fprintf(f, "%s(<= X_%d ", pre, i);
        put_num(f, c->hi[i]);
        fprintf(f, ")%s%s(>= X_%d ", post, pre, i);
        put_num(f, c->lo[i]);
        fprintf(f, ")%s", post);
    }
    for (int k = 0; k < c->n_lin; k++) {
        fputs(pre, f);
        put_atom(f, &c->lin[k], 'X');
        fputs(post, f);
    }
}

static void put_conj(FILE *f, const prop_conj *cj)
{
    for (int k = 0; k < cj->n; k++) {
        fputc(' ', f);
        put_atom(f, &cj->atoms[k], 'Y');
    }
}

/* Every number is written exactly (put_num: "(/ P Q)" when its decimal
 * expansion does not terminate), so the text always reads back as an equal
 * property (prop_equal) and *exact is always true; certificates rely on
 * this (certs/doc.c). */
cn_status prop_write_vnnlib(const prop *p, FILE *f, bool *exact, cn_err *err)
{
    CN_REQUIRE(p && f, "property and stream");
    /* the name goes into a comment: keep it on one line */
    fputs("; ", f);
    for (const char *s = p->name; *s; s++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
    fputs("\n; written by certnn; the formula describes the counterexample region\n\n", f);
    for (int i = 0; i < p->n_in; i++)
        fprintf(f, "(declare-const X_%d Real)\n", i);
    fputc('\n', f);
    for (int j = 0; j < p->n_out; j++)
        fprintf(f, "(declare-const Y_%d Real)\n", j);
    fputc('\n', f);
    if (p->n_cases == 1) {
        const prop_case *c = &p->cases[0];
        put_region(f, p, c, "(assert ", ")\n");
        fputs("\n(assert (or\n", f);
        for (int d = 0; d < c->n_disj; d++) {
            fputs("    (and", f);
            put_conj(f, &c->disj[d]);
            fputs(")\n", f);
        }
        fputs("))\n", f);
    } else {
        fputs("(assert (or\n", f);
        for (int ci = 0; ci < p->n_cases; ci++) {
            const prop_case *c = &p->cases[ci];
            for (int d = 0; d < c->n_disj; d++) {
                fputs("    (and", f);
                put_region(f, p, c, " ", "");
                put_conj(f, &c->disj[d]);
                fputs(")\n", f);
            }
        }
        fputs("))\n", f);
    }
    if (fflush(f) != 0 || ferror(f))
        return cn_fail(err, CN_EIO, "%s: write error while writing VNN-LIB", p->name);
    if (exact)
        *exact = true;
    return CN_OK;
}

/* ------------------------------------------------------------------------ */
/* Exact point check                                                         */
/* ------------------------------------------------------------------------ */

void prop_check_init(prop_check *c)
{
    CN_REQUIRE(c, "a result");
    memset(c, 0, sizeof *c);
    c->case_idx = c->disj_idx = -1;
}

void prop_check_clear(prop_check *c)
{
    if (!c)
        return;
    for (int k = 0; k < c->n_margin; k++)
        mpq_clear(c->margin[k]);
    cn_free(c->margin);
    prop_check_init(c);
}

/* s = rhs - sum coef * v[var] */
static void slack(mpq_t s, const prop_lin *a, mpq_t *v, mpq_t t)
{
    mpq_set(s, a->rhs);
    for (int k = 0; k < a->n; k++) {
        mpq_mul(t, a->coef[k], v[a->var[k]]);
        mpq_sub(s, s, t);
    }
}

static bool in_region(const prop *p, const prop_case *c, mpq_t *x, mpq_t s, mpq_t t)
{
    for (int i = 0; i < p->n_in; i++)
        if (mpq_cmp(x[i], c->lo[i]) < 0 || mpq_cmp(x[i], c->hi[i]) > 0)
            return false;
    for (int k = 0; k < c->n_lin; k++) {
        slack(s, &c->lin[k], x, t);
        if (mpq_sgn(s) < 0)
            return false;
    }
    return true;
}

/* Worst-case slack over outputs y in [lo, hi]:
 * s = rhs - sum_k max(coef_k lo_k, coef_k hi_k)  (= slack when lo = hi). */
static void slack_worst(mpq_t s, const prop_lin *a, mpq_t *lo, mpq_t *hi, mpq_t t)
{
    mpq_set(s, a->rhs);
    for (int k = 0; k < a->n; k++) {
        mpq_mul(t, a->coef[k], mpq_sgn(a->coef[k]) > 0 ? hi[a->var[k]] : lo[a->var[k]]);
        mpq_sub(s, s, t);
    }
}

/* min worst-case slack of a disjunct; returns false for a disjunct without
 * atoms (always true: its min slack is +infinity). */
static bool min_slack(mpq_t m, const prop_conj *cj, mpq_t *lo, mpq_t *hi, mpq_t s, mpq_t t)
{
    for (int k = 0; k < cj->n; k++) {
        slack_worst(s, &cj->atoms[k], lo, hi, t);
        if (k == 0 || mpq_cmp(s, m) < 0)
            mpq_set(m, s);
    }
    return cj->n > 0;
}

/* The double nearest to q (ties to even). */
static double nearest_d(const mpq_t q)
{
    double lo = cn_mpq_get_d_down(q), hi = cn_mpq_get_d_up(q);
    if (lo == hi || !isfinite(lo) || !isfinite(hi))
        return isfinite(lo) ? lo : hi;
    mpq_t a, b;
    mpq_inits(a, b, NULL);
    mpq_set_d(a, lo);
    mpq_sub(a, q, a);
    mpq_set_d(b, hi);
    mpq_sub(b, b, q);
    int c = mpq_cmp(a, b);
    mpq_clears(a, b, NULL);
    if (c != 0)
        return c < 0 ? lo : hi;
    uint64_t bits;
    memcpy(&bits, &lo, sizeof bits);
    return (bits & 1) ? hi : lo;
}

static mpq_t *out_vec(int n)
{
    mpq_t *v = cn_mallocarray((size_t)n, sizeof(mpq_t));
    if (v)
        for (int j = 0; j < n; j++)
            mpq_init(v[j]);
    return v;
}

static void out_vec_free(mpq_t *v, int n)
{
    if (!v)
        return;
    for (int j = 0; j < n; j++)
        mpq_clear(v[j]);
    cn_free(v);
}

/* Whether disjunct cj fails for every output of the enclosure: some atom's
 * best-case slack rhs - min_{y in [lo, hi]} lhs(y) is < 0. */
static bool refuted_all(const prop_conj *cj, mpq_t *lo, mpq_t *hi, mpq_t s, mpq_t t)
{
    for (int k = 0; k < cj->n; k++) {
        slack_worst(s, &cj->atoms[k], hi, lo, t);     /* swapped: best case */
        if (mpq_sgn(s) < 0)
            return true;
    }
    return false;
}

/* prop_check_point with the smooth layers enclosed at prec bits. */
static cn_status check_at(const prop *p, const net *n, mpq_t *x, long prec, prop_check *res,
                          cn_err *err)
{
    cn_status st = CN_OK;
    bool decided = true;
    mpq_t *ylo = NULL, *yhi = NULL, *margin = NULL;
    int n_margin = 0;
    mpq_t s, t, m, best;
    mpq_inits(s, t, m, best, NULL);
    int case_idx = -1, disj_idx = -1;
    bool violated = false, have_best = false;
    for (int ci = 0; ci < p->n_cases && !violated; ci++) {
        const prop_case *c = &p->cases[ci];
        if (!in_region(p, c, x, s, t))
            continue;
        if (!ylo) {
            /* the outputs, or their enclosure for a network known within one */
            ylo = out_vec(p->n_out);
            yhi = out_vec(p->n_out);
            if (!ylo || !yhi) {
                st = cn_fail(err, CN_ENOMEM, "%s: out of memory checking a point", p->name);
                goto done;
            }
            if ((st = net_eval_enclose_prec(n, x, ylo, yhi, prec, err)) != CN_OK)
                goto done;
        }
        bool first = case_idx < 0;
        for (int d = 0; d < c->n_disj; d++) {
            bool finite = min_slack(m, &c->disj[d], ylo, yhi, s, t);
            if (!finite || mpq_sgn(m) >= 0) {
                violated = true;
                case_idx = ci;
                disj_idx = d;
                break;
            }
            if (decided && !refuted_all(&c->disj[d], ylo, yhi, s, t))
                decided = false;
            /* not violated: remember the closest disjunct of the first case */
            if (first && (!have_best || mpq_cmp(m, best) > 0)) {
                have_best = true;
                mpq_set(best, m);
                case_idx = ci;
                disj_idx = d;
            }
        }
        if (first && case_idx < 0)
            case_idx = ci;             /* a case without disjuncts */
    }
    double worst = -INFINITY;
    if (disj_idx >= 0) {
        const prop_conj *cj = &p->cases[case_idx].disj[disj_idx];
        worst = INFINITY;
        if (cj->n > 0) {
            margin = cn_mallocarray((size_t)cj->n, sizeof(mpq_t));
            if (!margin) {
                st = cn_fail(err, CN_ENOMEM, "%s: out of memory checking a point", p->name);
                goto done;
            }
            for (int k = 0; k < cj->n; k++) {
                mpq_init(margin[k]);
                slack_worst(margin[k], &cj->atoms[k], ylo, yhi, t);
                if (k == 0 || mpq_cmp(margin[k], m) < 0)
                    mpq_set(m, margin[k]);
            }
            n_margin = cj->n;
            worst = nearest_d(m);
        }
    }
    prop_check_clear(res);
    res->violated = violated;
    res->case_idx = case_idx;
    res->disj_idx = disj_idx;
    res->n_margin = n_margin;
    res->margin = margin;
    res->worst_margin_d = worst;
    res->decided = violated || decided;
    res->prec = net_n_smooth(n) > 0 ? prec : 0;
    margin = NULL;
done:
    out_vec_free(ylo, p->n_out);
    out_vec_free(yhi, p->n_out);
    if (margin) {
        for (int k = 0; k < n_margin; k++)
            mpq_clear(margin[k]);
        cn_free(margin);
    }
    mpq_clears(s, t, m, best, NULL);
    return st;
}

/* For a network with sigmoid/tanh layers the enclosure is recomputed at
 * NET_EVAL_PREC0, 4x, 16x, ... bits (at most NET_EVAL_PREC_MAX) until the
 * answer is decided (prop_check.decided).  The sequence is fixed, so the
 * search and the checker compute the same margins for the same point. */
cn_status prop_check_point(const prop *p, const net *n, mpq_t *x, prop_check *res, cn_err *err)
{
    CN_REQUIRE(p && n && x && res, "property, network, point and result");
    if (net_in_size(n) != p->n_in || net_out_size(n) != p->n_out)
        return cn_fail(err, CN_EINVAL,
                       "%s: the property has %d inputs and %d outputs, the network %d and %d",
                       p->name, p->n_in, p->n_out, net_in_size(n), net_out_size(n));
    cn_status sm = prop_softmax_ok(p, n, err);
    if (sm != CN_OK)
        return sm;
    bool smooth = net_n_smooth(n) > 0;
    for (long prec = NET_EVAL_PREC0;; prec *= 4) {
        cn_status st = check_at(p, n, x, prec, res, err);
        if (st != CN_OK || !smooth || res->decided || prec * 4 > NET_EVAL_PREC_MAX)
            return st;
    }
}

cn_status prop_check_point_d(const prop *p, const net *n, const double *x, prop_check *res,
                             cn_err *err)
{
    CN_REQUIRE(p && n && x && res, "property, network, point and result");
    for (int i = 0; i < p->n_in; i++)
        if (!isfinite(x[i]))
            return cn_fail(err, CN_EINVAL, "%s: input %d of the point is not finite", p->name, i);
    mpq_t *q = cn_mallocarray((size_t)p->n_in, sizeof(mpq_t));
    if (!q)
        return cn_fail(err, CN_ENOMEM, "%s: out of memory checking a point", p->name);
    for (int i = 0; i < p->n_in; i++) {
        mpq_init(q[i]);
        mpq_set_d(q[i], x[i]);
    }
    cn_status st = prop_check_point(p, n, q, res, err);
    for (int i = 0; i < p->n_in; i++)
        mpq_clear(q[i]);
    cn_free(q);
    return st;
}

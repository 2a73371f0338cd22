/* test_vnnlib.c — the VNN-LIB reader: every shared benchmark property parses
 * with the structure its README describes and round-trips through the
 * writer; every file of the malformed corpus gives its located message; the
 * DNF grouping reads "(or ...) followed by more asserts" correctly; numbers
 * are exact; allocation failures are clean. */
#include "config.h"

#include <dirent.h>
#include <math.h>
#include <stdbool.h>

#include "models/models.h"
#include "tests/testutil.h"

/* ---- helpers ---------------------------------------------------------- */

static cn_status parse_str(const char *text, prop **p, cn_err *err)
{
    return prop_parse_vnnlib_mem(text, strlen(text), "mem.vnnlib", 0, p, err);
}

static prop *parse_ok(const char *text)
{
    cn_err err;
    prop *p = NULL;
    cn_status st = parse_str(text, &p, &err);
    if (st != CN_OK)
        fail_msg("parse failed: %s\n--- text:\n%s", err.msg, text);
    return p;
}

/* Asserts that text fails with status st and a message containing sub. */
static void parse_fails(const char *text, cn_status st, const char *sub)
{
    cn_err err;
    prop *p = NULL;
    cn_status got = parse_str(text, &p, &err);
    if (got != st || !strstr(err.msg, sub))
        fail_msg("expected status %d with '%s', got %d: '%s'\n--- text:\n%s", st, sub, got,
                 err.msg, text);
    assert_null(p);
}

/* q equals the decimal literal s exactly. */
static bool q_is(const mpq_t q, const char *s)
{
    mpq_t t;
    mpq_init(t);
    assert_true(cn_mpq_set_decimal(t, s, strlen(s)));
    bool eq = mpq_equal(q, t) != 0;
    mpq_clear(t);
    return eq;
}

#define assert_q(q, s)                                                                     \
    do {                                                                                  \
        if (!q_is((q), (s)))                                                              \
            fail_msg("%s = %s, expected %s", #q, mpq_get_str(NULL, 10, (q)), (s));        \
    } while (0)

/* Writes p, parses the text again, and checks the two are equal; returns
 * whether the writer reported exact output. */
static bool roundtrip(const prop *p)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    bool exact = false;
    cn_err err;
    assert_int_equal(prop_write_vnnlib(p, f, &exact, &err), CN_OK);
    fclose(f);
    prop *q = NULL;
    cn_status st = prop_parse_vnnlib_mem(buf, len, "written", 0, &q, &err);
    if (st != CN_OK)
        fail_msg("re-parse of written property failed: %s", err.msg);
    if (exact && !prop_equal(p, q))
        fail_msg("written property differs after re-parse:\n%s", buf);
    prop_free(q);
    free(buf);
    return exact;
}

/* Checks one atom  sum coef*Y <= rhs  against (var, coef) pairs (n of them) and rhs. */
static void assert_atom(const prop_lin *a, int n, const int *var, const long *coef,
                        const char *rhs)
{
    assert_int_equal(a->n, n);
    for (int k = 0; k < n; k++) {
        assert_int_equal(a->var[k], var[k]);
        assert_int_equal(mpq_cmp_si(a->coef[k], coef[k], 1), 0);
    }
    assert_q(a->rhs, rhs);
}

/* The unsafe set "some j != label has Y_j >= Y_label" (9 one-atom
 * disjuncts); returns the label. */
static int label_of(const prop_case *c, int n_out)
{
    assert_int_equal(c->n_disj, n_out - 1);
    int label = -1;
    bool seen[64] = {false};
    for (int d = 0; d < c->n_disj; d++) {
        assert_int_equal(c->disj[d].n, 1);
        const prop_lin *a = &c->disj[d].atoms[0];
        assert_int_equal(a->n, 2);
        assert_int_equal(mpq_sgn(a->rhs), 0);
        int pos = mpq_sgn(a->coef[0]) > 0 ? 0 : 1;
        assert_int_equal(mpq_cmp_si(a->coef[pos], 1, 1), 0);
        assert_int_equal(mpq_cmp_si(a->coef[1 - pos], -1, 1), 0);
        if (label < 0)
            label = a->var[pos];
        assert_int_equal(a->var[pos], label);
        seen[a->var[1 - pos]] = true;
    }
    for (int j = 0; j < n_out; j++)
        assert_true(seen[j] == (j != label));
    return label;
}

static prop *parse_file(const char *path)
{
    cn_err err;
    prop *p = NULL;
    if (prop_parse_vnnlib(path, &p, &err) != CN_OK)
        fail_msg("%s", err.msg);
    return p;
}

/* ---- the shared benchmarks ---------------------------------------------- */

static void test_acasxu_props(void **state)
{
    (void)state;
    /* disjuncts and atoms per disjunct of props 1..10 (README "Properties") */
    static const int n_disj[11] = {0, 1, 1, 1, 1, 4, 4, 2, 3, 4, 4};
    static const int n_atoms[11] = {0, 1, 4, 4, 4, 1, 1, 3, 2, 1, 1};
    for (int k = 1; k <= 10; k++) {
        char rel[64];
        snprintf(rel, sizeof rel, "benchmarks/acasxu/vnnlib/prop_%d.vnnlib", k);
        prop *p = parse_file(tu_shared(rel));
        assert_int_equal(prop_n_in(p), 5);
        assert_int_equal(prop_n_out(p), 5);
        assert_int_equal(prop_n_cases(p), k == 6 ? 2 : 1);
        for (int c = 0; c < prop_n_cases(p); c++) {
            const prop_case *pc = prop_case_at(p, c);
            assert_int_equal(pc->n_lin, 0);
            assert_int_equal(pc->n_disj, n_disj[k]);
            for (int d = 0; d < pc->n_disj; d++)
                assert_int_equal(pc->disj[d].n, n_atoms[k]);
            for (int i = 0; i < 5; i++) {
                assert_true(mpq_cmp(pc->lo[i], pc->hi[i]) <= 0);
                /* the double enclosure is outward */
                mpq_t t;
                mpq_init(t);
                mpq_set_d(t, pc->lo_d[i]);
                assert_true(mpq_cmp(t, pc->lo[i]) <= 0);
                mpq_set_d(t, pc->hi_d[i]);
                assert_true(mpq_cmp(t, pc->hi[i]) >= 0);
                mpq_clear(t);
            }
        }
        assert_true(roundtrip(p));
        const prop_case *c0 = prop_case_at(p, 0);
        if (k == 1) {
            assert_q(c0->hi[0], "0.679857769");
            assert_q(c0->lo[0], "0.6");
            assert_q(c0->lo[4], "-0.5");
            /* (>= Y_0 3.991125645861615):  -Y_0 <= -3.991125645861615 */
            assert_atom(&c0->disj[0].atoms[0], 1, (int[]){0}, (long[]){-1}, "-3.991125645861615");
        }
        if (k == 4) {      /* X_2 in [0, 0]: zero width */
            assert_q(c0->lo[2], "0");
            assert_q(c0->hi[2], "0");
            assert_double_near(c0->lo_d[2], 0.0, 0.0);
            assert_double_near(c0->hi_d[2], 0.0, 0.0);
            /* (<= Y_0 Y_1): Y_0 - Y_1 <= 0 */
            assert_atom(&c0->disj[0].atoms[0], 2, (int[]){0, 1}, (long[]){1, -1}, "0");
        }
        if (k == 6) {      /* two boxes differing in X_1 */
            const prop_case *c1 = prop_case_at(p, 1);
            assert_q(c0->lo[1], "0.11140846");
            assert_q(c0->hi[1], "0.499999896");
            assert_q(c1->lo[1], "-0.499999896");
            assert_q(c1->hi[1], "-0.11140846");
            assert_q(c1->lo[2], "-0.499999896");
            assert_q(c1->hi[2], "-0.499204121");
            /* both cases carry the same 4 disjuncts (<= Y_j Y_0), j = 1..4 */
            for (int c = 0; c < 2; c++)
                for (int d = 0; d < 4; d++)
                    assert_atom(&prop_case_at(p, c)->disj[d].atoms[0], 2, (int[]){0, d + 1},
                                (long[]){-1, 1}, "0");
        }
        if (k == 7) {      /* (and (<= Y_3 Y_0) (<= Y_3 Y_1) (<= Y_3 Y_2)) first */
            assert_atom(&c0->disj[0].atoms[0], 2, (int[]){0, 3}, (long[]){-1, 1}, "0");
            assert_atom(&c0->disj[0].atoms[2], 2, (int[]){2, 3}, (long[]){-1, 1}, "0");
            assert_atom(&c0->disj[1].atoms[1], 2, (int[]){1, 4}, (long[]){-1, 1}, "0");
        }
        prop_free(p);
    }
}

/* Label from a header comment such as "label: 8." or "(label 7)". */
static int header_label(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[256];
    int label = -1;
    while (fgets(line, sizeof line, f)) {
        char *s = strstr(line, key);
        if (s) {
            label = atoi(s + strlen(key));
            break;
        }
    }
    fclose(f);
    return label;
}

/* Every .vnnlib in dir: 784 inputs in [0,1], 10 outputs, one case, 9
 * disjuncts; box widths at most 2 eps (+ the printing slack). */
static int check_image_dir(const char *rel, const char *label_key, const char *eps_s)
{
    char dirpath[4096];
    snprintf(dirpath, sizeof dirpath, "%s", tu_shared(rel));
    DIR *d = opendir(dirpath);
    assert_non_null(d);
    struct dirent *e;
    int count = 0;
    mpq_t w, lim, one;
    mpq_inits(w, lim, one, NULL);
    mpq_set_ui(one, 1, 1);
    assert_true(cn_mpq_set_decimal(lim, eps_s, strlen(eps_s)));
    mpq_add(lim, lim, lim);
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 8 || strcmp(e->d_name + n - 7, ".vnnlib") != 0)
            continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dirpath, e->d_name);
        prop *p = parse_file(path);
        assert_int_equal(prop_n_in(p), 784);
        assert_int_equal(prop_n_out(p), 10);
        assert_int_equal(prop_n_cases(p), 1);
        const prop_case *c = prop_case_at(p, 0);
        assert_int_equal(c->n_lin, 0);
        int label = label_of(c, 10);
        if (label_key)
            assert_int_equal(label, header_label(path, label_key));
        for (int i = 0; i < 784; i++) {
            assert_true(mpq_sgn(c->lo[i]) >= 0);
            assert_true(mpq_cmp(c->hi[i], one) <= 0);
            mpq_sub(w, c->hi[i], c->lo[i]);
            assert_true(mpq_sgn(w) > 0);
            /* float32-printed bounds may exceed 2 eps by a few ulps */
            assert_double_le(mpq_get_d(w), mpq_get_d(lim) + 1e-7);
        }
        assert_true(roundtrip(p));
        prop_free(p);
        count++;
    }
    closedir(d);
    mpq_clears(w, lim, one, NULL);
    return count;
}

static void test_image_specs(void **state)
{
    (void)state;
    assert_int_equal(check_image_dir("benchmarks/mnist_fc/vnnlib", "label: ", "0.05"), 30);
    assert_int_equal(check_image_dir("benchmarks/eran/vnnlib", NULL, "0.012"), 36);
    assert_int_equal(check_image_dir("benchmarks/eran/vnnlib_ffnnsmall", "(label ", "0.026"), 25);
}

static void test_mnist_exact_bounds(void **state)
{
    (void)state;
    prop *p = parse_file(tu_shared("benchmarks/mnist_fc/vnnlib/prop_0_0.03.vnnlib"));
    const prop_case *c = prop_case_at(p, 0);
    /* (<= X_0 0.029999999329447746) read exactly, not as the nearest double */
    assert_q(c->hi[0], "0.029999999329447746");
    assert_q(c->lo[0], "0.0");
    assert_true(c->hi_d[0] >= 0.029999999329447746);
    prop_free(p);
}

static void test_test_suite(void **state)
{
    (void)state;
    static const char *const mixed[] = {"benchmarks/test/test_tiny.vnnlib",
                                        "benchmarks/test/test_small.vnnlib"};
    for (int k = 0; k < 2; k++) {
        /* (or (and (>= X_0 -1) (<= X_0 1) (>= Y_0 100))): one case, box [-1,1] */
        prop *p = parse_file(tu_shared(mixed[k]));
        assert_int_equal(prop_n_in(p), 1);
        assert_int_equal(prop_n_out(p), 1);
        assert_int_equal(prop_n_cases(p), 1);
        const prop_case *c = prop_case_at(p, 0);
        assert_q(c->lo[0], "-1");
        assert_q(c->hi[0], "1");
        assert_int_equal(c->n_disj, 1);
        assert_atom(&c->disj[0].atoms[0], 1, (int[]){0}, (long[]){-1}, "-100");
        assert_true(roundtrip(p));
        prop_free(p);
    }
    prop *p = parse_file(tu_shared("benchmarks/test/test_nano.vnnlib"));
    const prop_case *c = prop_case_at(p, 0);
    assert_int_equal(prop_n_cases(p), 1);
    assert_q(c->lo[0], "-1");
    assert_q(c->hi[0], "1");
    assert_atom(&c->disj[0].atoms[0], 1, (int[]){0}, (long[]){1}, "-1");
    assert_true(roundtrip(p));
    prop_free(p);
    /* test_prop = ACAS property 3 with more digits */
    p = parse_file(tu_shared("benchmarks/test/test_prop.vnnlib"));
    c = prop_case_at(p, 0);
    assert_int_equal(prop_n_cases(p), 1);
    assert_int_equal(c->n_disj, 1);
    assert_int_equal(c->disj[0].n, 4);
    assert_q(c->hi[0], "-0.29855281193475053");
    assert_q(c->hi[2], "0.49999999998567607");
    assert_true(roundtrip(p));
    prop_free(p);
}

/* ---- the malformed corpus --------------------------------------------- */

static cn_status status_named(const char *s)
{
    if (strcmp(s, "parse") == 0)
        return CN_EPARSE;
    if (strcmp(s, "unsupported") == 0)
        return CN_EUNSUPPORTED;
    if (strcmp(s, "limit") == 0)
        return CN_ELIMIT;
    fail_msg("unknown status name '%s' in vnnlib_messages.txt", s);
    return CN_EINTERNAL;
}

static void test_bad_corpus(void **state)
{
    (void)state;
    char listed[128][64];
    int n_listed = 0;
    FILE *f = fopen(tu_src("tests/data/bad/vnnlib_messages.txt"), "r");
    assert_non_null(f);
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        line[strcspn(line, "\n")] = '\0';
        char *file = strtok(line, "\t"), *status = strtok(NULL, "\t"), *msg = strtok(NULL, "");
        assert_non_null(file);
        assert_non_null(status);
        assert_non_null(msg);
        char rel[256];
        snprintf(rel, sizeof rel, "tests/data/bad/%s", file);
        prop *p = NULL;
        cn_err err;
        cn_status st = prop_parse_vnnlib(tu_src(rel), &p, &err);
        if (st != status_named(status) || !strstr(err.msg, msg))
            fail_msg("%s: got status %d message '%s'; expected %s '%s'", file, st, err.msg,
                     status, msg);
        assert_null(p);
        /* located: "file:line:col: " */
        char loc[128];
        snprintf(loc, sizeof loc, "%s:", file);
        const char *s = strstr(err.msg, loc);
        assert_non_null(s);
        int line_no = 0, col = 0;
        assert_int_equal(sscanf(s + strlen(loc), "%d:%d:", &line_no, &col), 2);
        assert_true(line_no >= 1 && col >= 1);
        assert_true(n_listed < 128);
        snprintf(listed[n_listed++], 64, "%s", file);
    }
    fclose(f);
    assert_true(n_listed >= 40);
    /* every .vnnlib file of the corpus has an expected message */
    DIR *d = opendir(tu_src("tests/data/bad"));
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 8 || strcmp(e->d_name + n - 7, ".vnnlib") != 0)
            continue;
        bool found = false;
        for (int i = 0; i < n_listed && !found; i++)
            found = strcmp(listed[i], e->d_name) == 0;
        if (!found)
            fail_msg("tests/data/bad/%s has no line in vnnlib_messages.txt", e->d_name);
    }
    closedir(d);
}

/* ---- DNF reading ------------------------------------------------------ */

#define DECL2 "(declare-const X_0 Real)(declare-const X_1 Real)\n" \
              "(declare-const Y_0 Real)(declare-const Y_1 Real)(declare-const Y_2 Real)\n"

/* Other tools misread an (or ...) followed by further asserts.  Here every
 * later assert must apply to every disjunct. */
static void test_or_then_more_asserts(void **state)
{
    (void)state;
    /* output disjunction first, input box after it */
    prop *p = parse_ok(DECL2 "(assert (or (and (<= Y_0 Y_1)) (and (<= Y_0 Y_2))))\n"
                             "(assert (<= X_0 1)) (assert (>= X_0 0))\n"
                             "(assert (<= X_1 3)) (assert (>= X_1 2))\n"
                             "(assert (<= Y_0 7))\n");
    assert_int_equal(prop_n_cases(p), 1);
    const prop_case *c = prop_case_at(p, 0);
    assert_q(c->lo[0], "0");
    assert_q(c->hi[0], "1");
    assert_q(c->lo[1], "2");
    assert_q(c->hi[1], "3");
    assert_int_equal(c->n_disj, 2);
    /* (Y_0 <= Y_1 and Y_0 <= 7) or (Y_0 <= Y_2 and Y_0 <= 7) */
    assert_int_equal(c->disj[0].n, 2);
    assert_int_equal(c->disj[1].n, 2);
    assert_atom(&c->disj[0].atoms[0], 2, (int[]){0, 1}, (long[]){1, -1}, "0");
    assert_atom(&c->disj[0].atoms[1], 1, (int[]){0}, (long[]){1}, "7");
    assert_atom(&c->disj[1].atoms[0], 2, (int[]){0, 2}, (long[]){1, -1}, "0");
    assert_atom(&c->disj[1].atoms[1], 1, (int[]){0}, (long[]){1}, "7");
    assert_true(roundtrip(p));
    prop_free(p);

    /* input disjunction (two boxes) followed by an output assert and a
     * further input bound that applies to both boxes */
    p = parse_ok(DECL2 "(assert (or (and (>= X_0 0) (<= X_0 1)) (and (>= X_0 5) (<= X_0 6))))\n"
                       "(assert (<= Y_2 0))\n"
                       "(assert (>= X_1 -1)) (assert (<= X_1 1))\n");
    assert_int_equal(prop_n_cases(p), 2);
    for (int k = 0; k < 2; k++) {
        c = prop_case_at(p, k);
        assert_q(c->lo[0], k ? "5" : "0");
        assert_q(c->hi[0], k ? "6" : "1");
        assert_q(c->lo[1], "-1");
        assert_q(c->hi[1], "1");
        assert_int_equal(c->n_disj, 1);
        assert_atom(&c->disj[0].atoms[0], 1, (int[]){2}, (long[]){1}, "0");
    }
    assert_true(roundtrip(p));
    prop_free(p);

    /* two disjunctions: the product, first assert outermost */
    p = parse_ok(DECL2 "(assert (and (>= X_0 0) (<= X_0 1) (>= X_1 0) (<= X_1 1)))\n"
                       "(assert (or (<= Y_0 1) (<= Y_0 2)))\n"
                       "(assert (or (<= Y_1 3) (<= Y_1 4)))\n");
    c = prop_case_at(p, 0);
    assert_int_equal(c->n_disj, 4);
    static const char *const r0[4] = {"1", "1", "2", "2"}, *const r1[4] = {"3", "4", "3", "4"};
    for (int d = 0; d < 4; d++) {
        assert_int_equal(c->disj[d].n, 2);
        assert_q(c->disj[d].atoms[0].rhs, r0[d]);
        assert_q(c->disj[d].atoms[1].rhs, r1[d]);
    }
    prop_free(p);

    /* an input disjunction whose boxes differ only with a later bound: the
     * later bound tightens both (X_0 <= 0.5 cuts box 2 to [5, 0.5]: empty,
     * which is kept and reported, not dropped) */
    p = parse_ok(DECL2 "(assert (or (and (>= X_0 0) (<= X_0 1)) (and (>= X_0 5) (<= X_0 6))))\n"
                       "(assert (<= X_0 0.5)) (assert (>= X_1 0)) (assert (<= X_1 0))\n"
                       "(assert (<= Y_0 0))\n");
    assert_int_equal(prop_n_cases(p), 2);
    assert_q(prop_case_at(p, 0)->hi[0], "0.5");
    assert_q(prop_case_at(p, 1)->lo[0], "5");
    assert_q(prop_case_at(p, 1)->hi[0], "0.5");
    prop_free(p);
}

static void test_grouping(void **state)
{
    (void)state;
    /* identical input parts written twice share one case */
    prop *p = parse_ok(DECL2 "(assert (or (and (>= X_0 0) (<= X_0 1) (>= X_1 0) (<= X_1 1) "
                             "(<= Y_0 Y_1))\n"
                             "            (and (<= X_1 1) (>= X_1 0) (<= X_0 1) (>= X_0 0) "
                             "(<= Y_0 Y_2))))\n");
    assert_int_equal(prop_n_cases(p), 1);
    assert_int_equal(prop_case_at(p, 0)->n_disj, 2);
    prop_free(p);
    /* nesting either way: (and (or ..)) and (or (and (or ..))) */
    p = parse_ok(DECL2 "(assert (and (>= X_0 0) (<= X_0 1) (>= X_1 0) (<= X_1 1) "
                       "(or (and (<= Y_0 1) (or (<= Y_1 1) (<= Y_2 1))) (<= Y_0 -1))))\n");
    const prop_case *c = prop_case_at(p, 0);
    assert_int_equal(c->n_disj, 3);
    assert_int_equal(c->disj[0].n, 2);
    assert_int_equal(c->disj[1].n, 2);
    assert_int_equal(c->disj[2].n, 1);
    assert_atom(&c->disj[1].atoms[1], 1, (int[]){2}, (long[]){1}, "1");
    prop_free(p);
    /* a term without output atoms: the whole region is unsafe */
    p = parse_ok(DECL2 "(assert (>= X_0 0)) (assert (<= X_0 1)) (assert (>= X_1 0)) "
                       "(assert (<= X_1 1)) (assert (and))");
    assert_int_equal(prop_case_at(p, 0)->n_disj, 1);
    assert_int_equal(prop_case_at(p, 0)->disj[0].n, 0);
    assert_true(roundtrip(p));
    prop_free(p);
}

static void test_syntax_variants(void **state)
{
    (void)state;
    /* tabs, no spaces between parentheses, comments anywhere, CRLF,
     * declare-fun, ignored commands, scientific notation */
    prop *p = parse_ok("; header\r\n(set-logic QF_LRA)(declare-fun X_0 () Real)\t(declare-const "
                       "X_1 Real); trailing\n(declare-const Y_0 Real)(declare-const Y_1 Real)"
                       "(declare-const Y_2 Real)\n"
                       "(assert(and(>= X_0 5.8147645177086815e-05)(<= X_0 1E2)\n"
                       "\t; a comment inside a formula\n"
                       "\t(>= X_1 -.5)(<= X_1 +2.)))(assert(<=\tY_0\tY_1))(check-sat)(get-model)"
                       "(exit)");
    const prop_case *c = prop_case_at(p, 0);
    assert_q(c->lo[0], "0.000058147645177086815");
    assert_q(c->hi[0], "100");
    assert_q(c->lo[1], "-0.5");
    assert_q(c->hi[1], "2");
    prop_free(p);

    /* linear terms: (* c X), (* X c), unary minus, n-ary +, binary -, /,
     * chained comparisons; single-variable atoms become exact box bounds */
    p = parse_ok(DECL2 "(assert (<= (* 3 X_0) 1))\n"             /* X_0 <= 1/3 */
                       "(assert (<= (* X_0 -4) 2))\n"            /* X_0 >= -1/2 */
                       "(assert (>= (- X_1) -0.7))\n"            /* X_1 <= 0.7 */
                       "(assert (<= (/ 1 10) X_1))\n"            /* X_1 >= 0.1 */
                       "(assert (<= (+ X_0 X_1 (* 2 X_1)) 3))\n" /* X_0 + 3 X_1 <= 3 */
                       "(assert (<= (- X_0 X_1 0.5) 0))\n"       /* X_0 - X_1 <= 0.5 */
                       "(assert (<= -1 (+ Y_0 (* 0.5 Y_1)) 2))\n");
    c = prop_case_at(p, 0);
    mpq_t t;
    mpq_init(t);
    mpq_set_si(t, 1, 3);
    assert_true(mpq_equal(c->hi[0], t));
    assert_q(c->lo[0], "-0.5");
    assert_q(c->hi[1], "0.7");
    assert_q(c->lo[1], "0.1");
    assert_double_near(c->hi_d[0], nextafter(1.0 / 3.0, 1.0), 0.0); /* 1/3 rounded up */
    assert_true(c->hi_d[1] >= 0.7 && c->lo_d[1] <= 0.1);
    /* enclosure: 0.1 and 0.7 are not doubles, so the ends are strictly outside */
    mpq_set_d(t, c->lo_d[1]);
    assert_true(mpq_cmp(t, c->lo[1]) < 0);
    mpq_set_d(t, c->hi_d[1]);
    assert_true(mpq_cmp(t, c->hi[1]) > 0);
    mpq_clear(t);
    assert_int_equal(c->n_lin, 2);
    assert_atom(&c->lin[0], 2, (int[]){0, 1}, (long[]){1, 3}, "3");
    assert_atom(&c->lin[1], 2, (int[]){0, 1}, (long[]){1, -1}, "0.5");
    /* the chain -1 <= Y_0 + Y_1/2 <= 2 is two atoms in one disjunct */
    assert_int_equal(c->n_disj, 1);
    assert_int_equal(c->disj[0].n, 2);
    assert_q(c->disj[0].atoms[0].coef[1], "-0.5");
    assert_q(c->disj[0].atoms[0].rhs, "1");      /* -Y_0 - Y_1/2 <= 1 */
    assert_q(c->disj[0].atoms[1].rhs, "2");
    /* 1/3 does not terminate: written exactly as (/ 1 3) */
    assert_true(roundtrip(p));
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    bool exact = false;
    cn_err err;
    assert_int_equal(prop_write_vnnlib(p, f, &exact, &err), CN_OK);
    fclose(f);
    assert_true(exact);
    assert_non_null(strstr(buf, "(<= X_0 (/ 1 3))"));
    prop *q = NULL;
    assert_int_equal(prop_parse_vnnlib_mem(buf, len, "w", 0, &q, &err), CN_OK);
    assert_true(mpq_equal(prop_case_at(q, 0)->hi[0], c->hi[0]));
    assert_true(mpq_equal(prop_case_at(q, 0)->lo[1], c->lo[1]));
    prop_free(q);
    free(buf);
    prop_free(p);
}

static void test_errors_inline(void **state)
{
    (void)state;
    /* the location of a mixed atom inside a disjunction */
    parse_fails(DECL2 "(assert (or\n  (and (<= X_0 1) (>= X_0 0))\n  (and (<= (+ X_0 Y_1) 1))))",
                CN_EUNSUPPORTED, "mem.vnnlib:5:8: comparison '<=' mixes inputs (X_0) and outputs (Y_1)");
    /* a NUL byte inside the text */
    cn_err err;
    prop *p = NULL;
    static const char nul[] = "(declare-const X_0 Real)\0";
    assert_int_equal(prop_parse_vnnlib_mem(nul, sizeof nul - 1, "nul", 0, &p, &err), CN_EPARSE);
    assert_non_null(strstr(err.msg, "nul:1:25: unexpected byte 0x00"));
    /* an empty file */
    parse_fails("", CN_EPARSE, "mem.vnnlib:1:1: no input variables declared");
    /* a missing file */
    assert_int_equal(prop_parse_vnnlib("/nonexistent/x.vnnlib", &p, &err), CN_EIO);
    /* the variable named in an unbounded-input error */
    parse_fails(DECL2 "(assert (>= X_0 0)) (assert (<= X_0 1)) (assert (<= X_1 1)) "
                      "(assert (<= Y_0 0))",
                CN_EUNSUPPORTED, "mem.vnnlib:1:40: input X_1 has no lower bound");
    /* a multi-variable constraint does not bound a variable */
    parse_fails(DECL2 "(assert (>= X_0 0)) (assert (<= X_0 1)) (assert (<= (+ X_0 X_1) 1)) "
                      "(assert (>= (- X_1 X_0) 0)) (assert (<= Y_0 0))",
                CN_EUNSUPPORTED, "X_1 has no lower bound");
}

static void test_max_terms(void **state)
{
    (void)state;
    /* 2^k terms from k binary disjunctions */
    char text[8192];
    int n = snprintf(text, sizeof text, "%s(assert (>= X_0 0)) (assert (<= X_0 1)) "
                                        "(assert (>= X_1 0)) (assert (<= X_1 1))\n",
                     DECL2);
    for (int k = 0; k < 10; k++)
        n += snprintf(text + n, sizeof text - (size_t)n, "(assert (or (<= Y_0 %d) (<= Y_1 %d)))\n",
                      k, k);
    prop *p = NULL;
    cn_err err;
    assert_int_equal(prop_parse_vnnlib_mem(text, strlen(text), "m", 1024, &p, &err), CN_OK);
    assert_int_equal(prop_case_at(p, 0)->n_disj, 1024);
    prop_free(p);
    assert_int_equal(prop_parse_vnnlib_mem(text, strlen(text), "m", 1023, &p, &err), CN_ELIMIT);
    assert_non_null(strstr(err.msg, "more than 1023 terms in disjunctive normal form"));
}

/* Fail the k-th allocation for k = 1, 2, ... until the parse succeeds:
 * every failure is CN_ENOMEM, writes no output and leaks no block. */
static void test_oom(void **state)
{
    (void)state;
    const char *text = DECL2 "(assert (or (and (>= X_0 0) (<= X_0 1)) (and (>= X_0 2) (<= X_0 3))))\n"
                             "(assert (<= (+ X_0 (* 2 X_1)) 4)) (assert (>= X_1 -1)) "
                             "(assert (<= X_1 1))\n"
                             "(assert (or (and (<= Y_0 Y_1) (<= Y_0 1e-3)) (and (>= Y_2 Y_1))))\n";
    long live = cn_alloc_live();
    int failures = 0;
    for (long k = 1; k < 10000; k++) {
        prop *p = NULL;
        cn_err err;
        cn_alloc_fail_after(k);
        cn_status st = parse_str(text, &p, &err);
        cn_alloc_fail_after(0);
        if (st == CN_OK) {
            assert_int_equal(prop_n_cases(p), 2);
            assert_int_equal(prop_case_at(p, 1)->n_disj, 2);
            prop_free(p);
            assert_int_equal(cn_alloc_live(), live);
            break;
        }
        if (st != CN_ENOMEM)
            fail_msg("allocation %ld failed: status %d (%s)", k, st, err.msg);
        assert_null(p);
        assert_int_equal(cn_alloc_live(), live);
        failures++;
    }
    assert_true(failures > 20);
    printf("# oom loop: %d injected failures before success\n", failures);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acasxu_props),
        cmocka_unit_test(test_image_specs),
        cmocka_unit_test(test_mnist_exact_bounds),
        cmocka_unit_test(test_test_suite),
        cmocka_unit_test(test_bad_corpus),
        cmocka_unit_test(test_or_then_more_asserts),
        cmocka_unit_test(test_grouping),
        cmocka_unit_test(test_syntax_variants),
        cmocka_unit_test(test_errors_inline),
        cmocka_unit_test(test_max_terms),
        cmocka_unit_test(test_oom),
    };
    return cmocka_run_group_tests_name("vnnlib", tests, NULL, NULL);
}

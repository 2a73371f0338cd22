/* certfix.c — the certificate tests' fixtures (certfix.h). */
#include "config.h"

#include <math.h>

#include "tests/certfix.h"
#include "tests/exact.h"
#include "tests/netgen.h"

net *random_net(tu_rng *r, int in, int h1, int h2, int out)
{
    const int w[4] = {in, h1, h2, out};
    return dense_net(r, w, 4, draw_f32, 0);
}

void exact_forward(const net *n, const pert *pt, const double *x, mpq_t *pre, mpq_t *y)
{
    trace t;
    trace_init(&t, n);
    if (pt)
        eval_encl(n, x, pt, &t);
    else
        eval_trace(n, x, &t);
    int nr = 0;
    for (int i = 0; i < t.nl; i++)
        if (net_layer_at(n, i)->op == NET_RELU)
            for (int j = 0; j < t.w[i]; j++)
                mpq_set(pre[nr++], t.z[i][j]);
    for (int j = 0; j < t.w[t.nl]; j++)
        mpq_set(y[j], t.z[t.nl][j]);
    trace_clear(&t);
}

prop *parse(const char *text)
{
    prop *p = NULL;
    cn_err err;
    if (prop_parse_vnnlib_mem(text, strlen(text), "test property", 0, &p, &err) != CN_OK)
        fail_msg("%s", err.msg);
    return p;
}

prop *prop_y0_le(const char *rhs)
{
    char text[512];
    snprintf(text, sizeof text,
             "(declare-const X_0 Real)\n(declare-const X_1 Real)\n(declare-const Y_0 Real)\n"
             "(declare-const Y_1 Real)\n(assert (>= X_0 -1))\n(assert (<= X_0 1))\n"
             "(assert (>= X_1 -1))\n(assert (<= X_1 1))\n"
             "(assert (or (and (<= Y_0 %s)) (and (<= Y_0 -1000) (>= Y_1 1000))))\n", rhs);
    return parse(text);
}

/* Lower bound of y0 over the box by bounds on a 32x32 grid of sub-boxes. */
static double grid_min_y0(const net *n)
{
    cn_err err;
    cert_bounds *b = cert_bounds_new(n, &err);
    double c[2] = {1, 0}, m = INFINITY;
    for (int i = 0; i < 32; i++)
        for (int j = 0; j < 32; j++) {
            double lo[2] = {-1 + i / 16.0, -1 + j / 16.0}, hi[2] = {lo[0] + 1 / 16.0, lo[1] + 1 / 16.0};
            assert_int_equal(cert_bounds_region(b, lo, hi, NULL), CERT_REGION_OK);
            double v = cert_bounds_row(b, c);
            if (v < m)
                m = v;
        }
    cert_bounds_free(b);
    return m;
}

void problem_init(problem *pb)
{
    tu_rng r = {11};
    pb->n = random_net(&r, 2, 16, 16, 2);
    memset(pb->sha, 'a', 64);
    pb->sha[64] = '\0';
    char rhs[64];
    double m = grid_min_y0(pb->n) - 0.01;
    snprintf(rhs, sizeof rhs, "%.6f", floor(m * 1e6) / 1e6);
    pb->unsat = prop_y0_le(rhs);
    /* the value at the centre is met at the centre */
    double x[2] = {0, 0}, y[2];
    cn_err err;
    assert_int_equal(net_forward(pb->n, 1, x, y, &err), CN_OK);
    snprintf(rhs, sizeof rhs, "%.6f", ceil(y[0] * 1e6) / 1e6 + 0.001);
    pb->sat = prop_y0_le(rhs);
}

void problem_clear(problem *pb)
{
    net_free(pb->n);
    prop_free(pb->unsat);
    prop_free(pb->sat);
}

/* Builds an input-splitting proof for case 0 of p, by bisecting the widest
 * dimension until the checker's bounds refute every disjunct. */
static void bab(cert_bounds *b, const prop *p, double *lo, double *hi, cert_tree *t, int depth)
{
    const prop_case *pc = prop_case_at(p, 0);
    assert_true(depth < 30);
    int refs[8], nref = 0;
    cert_region rg = cert_bounds_region(b, lo, hi, NULL);
    for (int d = 0; d < pc->n_disj; d++) {
        bool out = rg == CERT_REGION_EMPTY;
        for (int k = 0; k < pc->disj[d].n && rg == CERT_REGION_OK && !out; k++) {
            const prop_lin *a = &pc->disj[d].atoms[k];
            double c[2] = {0, 0};
            for (int e = 0; e < a->n; e++)
                c[a->var[e]] += mpq_get_d(a->coef[e]);
            out = cert_bounds_row(b, c) > mpq_get_d(a->rhs) + 1e-9;
        }
        if (out)
            refs[nref++] = d;
    }
    cn_err err;
    if (nref == pc->n_disj) {
        assert_int_equal(cert_tree_push(t, CERT_LEAF, 0, 0, nref, refs, &err), CN_OK);
        return;
    }
    int j = hi[0] - lo[0] >= hi[1] - lo[1] ? 0 : 1;
    double mid = 0.5 * (lo[j] + hi[j]), save;
    assert_int_equal(cert_tree_push(t, CERT_SPLIT_INPUT, j, mid, 0, NULL, &err), CN_OK);
    save = hi[j];
    hi[j] = mid;
    bab(b, p, lo, hi, t, depth + 1);
    hi[j] = save;
    save = lo[j];
    lo[j] = mid;
    bab(b, p, lo, hi, t, depth + 1);
    lo[j] = save;
}

void make_proof(const problem *pb, cert_tree *t)
{
    cn_err err;
    cert_bounds *b = cert_bounds_new(pb->n, &err);
    const prop_case *pc = prop_case_at(pb->unsat, 0);
    double lo[2] = {pc->lo_d[0], pc->lo_d[1]}, hi[2] = {pc->hi_d[0], pc->hi_d[1]};
    cert_tree_init(t, 0);
    bab(b, pb->unsat, lo, hi, t, 0);
    cert_bounds_free(b);
}

const cert_meta *meta_for(const problem *pb, const prop *p, cert_meta *m)
{
    *m = (cert_meta){.tool = "certnn test", .model_file = "model.onnx", .model_sha256 = pb->sha,
                     .property = p, .property_file = "p.vnnlib",
                     .property_sha256 = "0000000000000000000000000000000000000000000000000000000000000000"};
    return m;
}

/* Certificate bytes for an UNSAT proof tree t on pb->unsat. */
char *unsat_cert(const problem *pb, const cert_tree *t, const cert_key *key, size_t *len)
{
    cert_meta m;
    cert_doc *d = NULL;
    cn_err err;
    char *bytes = NULL;
    assert_int_equal(cert_doc_new(meta_for(pb, pb->unsat, &m), &d, &err), CN_OK);
    cert_entry e = {.verdict = "unsat", .method = "test-bab", .time_s = 0.25};
    assert_int_equal(cert_doc_add_proof(d, &e, 1, t, &err), CN_OK);
    assert_int_equal(cert_doc_bytes(d, key, &bytes, len, &err), CN_OK);
    cert_doc_free(d);
    return bytes;
}

cert_check_in check_in(const problem *pb, const unsigned char *pk)
{
    cert_check_in in = {.model = pb->n, .model_sha256 = pb->sha, .pubkey = pk};
    return in;
}

/* Checks bytes; returns validity and copies the reason. */
bool check(const problem *pb, const char *bytes, size_t len, const unsigned char *pk,
           bool allow_unsigned, char *why)
{
    cert_check_in in = check_in(pb, pk);
    in.allow_unsigned = allow_unsigned;
    cert_report rep;
    cn_err err;
    assert_int_equal(cert_check_mem(bytes, len, &in, &rep, &err), CN_OK);
    if (why)
        snprintf(why, 512, "%s", rep.why);
    return rep.valid;
}

void key_of(cert_key *k, unsigned char b)
{
    unsigned char seed[32];
    memset(seed, b, sizeof seed);
    cert_key_from_seed(k, seed);
}

char *signed_proof(problem *pb, cert_tree *t, cert_key *k, unsigned char key_seed, size_t *len)
{
    problem_init(pb);
    make_proof(pb, t);
    key_of(k, key_seed);
    return unsat_cert(pb, t, k, len);
}

void signed_proof_clear(problem *pb, cert_tree *t, char *bytes)
{
    cn_free(bytes);
    cert_tree_clear(t);
    problem_clear(pb);
}

void assert_rejects(const char *bytes, size_t len, const cert_check_in *in, cert_report *rep,
                    const char *why)
{
    cn_err err;
    assert_int_equal(cert_check_mem(bytes, len, in, rep, &err), CN_OK);
    assert_false(rep->valid);
    assert_contains(rep->why, why);
}

void assert_accepts(const char *bytes, size_t len, const cert_check_in *in, cert_report *rep)
{
    cn_err err;
    assert_int_equal(cert_check_mem(bytes, len, in, rep, &err), CN_OK);
    if (!rep->valid)
        fail_msg("%s", rep->why);
}

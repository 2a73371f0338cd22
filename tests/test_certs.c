/* test_certs.c — certificates (certs/): the checker's bounds against exact
 * evaluation, golden canonical bytes, proofs built here by a small branch
 * and bound, and tamper tests (every byte, hashes, proofs, counterexamples,
 * keys), plus an out-of-memory loop.  Links certs and models only. */
#include "config.h"

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "certs/certs.h"
#include "tests/testutil.h"

/* Ed25519 is deterministic: the golden certificate's signature (key from
 * seed 0x07..07) is fixed too. */
#define GOLDEN_SIGNATURE                                                             \
    "\"a6872a9f12c734580be1308a3c2ccaf0b4b73e3f3f9c3b5ef20effde3216e6ca259c97a528ff12a9ce9" \
    "3451228f3f391adde2ba7a570962a4d68b7ffd27e7c0e\""

/* ---- helpers ------------------------------------------------------------ */

static double rnd_w(tu_rng *r) { return (double)(float)(2.0 * tu_unif(r) - 1.0); }

/* Dense ReLU net in -> h1 -> h2 -> out with random float weights. */
static net *random_net(tu_rng *r, int in, int h1, int h2, int out)
{
    cn_err err;
    net *n = net_new((net_shape){in, 1, 1});
    int w[4] = {in, h1, h2, out};
    for (int k = 0; k < 3; k++) {
        if (w[k + 1] == 0)
            continue;
        net_layer *l = net_add_dense(n, w[k + 1], &err);
        assert_non_null(l);
        for (int i = 0; i < l->in * l->out; i++)
            l->W[i] = rnd_w(r);
        for (int i = 0; i < l->out; i++)
            l->b[i] = 0.5 * rnd_w(r);
        if (k < 2)
            assert_non_null(net_add_relu(n, &err));
    }
    return n;
}

/* Exact forward pass from doubles: pre[] gets every ReLU's input (global
 * order), y[] the outputs. */
static void exact_forward(const net *n, const double *x, mpq_t *pre, mpq_t *y)
{
    int w = net_max_width(n), nr = 0;
    mpq_t *z = malloc(sizeof(mpq_t) * (size_t)w), *t = malloc(sizeof(mpq_t) * (size_t)w), p;
    mpq_init(p);
    for (int j = 0; j < w; j++) {
        mpq_init(z[j]);
        mpq_init(t[j]);
    }
    for (int j = 0; j < net_in_size(n); j++)
        mpq_set_d(z[j], x[j]);
    for (int k = 0; k < net_n_layers(n); k++) {
        const net_layer *l = net_layer_at(n, k);
        if (l->op == NET_RELU) {
            for (int j = 0; j < l->in; j++) {
                mpq_set(pre[nr++], z[j]);
                if (mpq_sgn(z[j]) < 0)
                    mpq_set_ui(z[j], 0, 1);
            }
            continue;
        }
        for (int o = 0; o < l->out; o++) {
            mpq_set_d(t[o], l->b[o]);
            for (int j = 0; j < l->in; j++) {
                mpq_set_d(p, l->W[(size_t)o * l->in + j]);
                mpq_mul(p, p, z[j]);
                mpq_add(t[o], t[o], p);
            }
        }
        for (int o = 0; o < l->out; o++)
            mpq_set(z[o], t[o]);
    }
    for (int j = 0; j < net_out_size(n); j++)
        mpq_set(y[j], z[j]);
    for (int j = 0; j < w; j++) {
        mpq_clear(z[j]);
        mpq_clear(t[j]);
    }
    mpq_clear(p);
    free(z);
    free(t);
}

static mpq_t *q_array(int n)
{
    mpq_t *a = malloc(sizeof(mpq_t) * (size_t)n);
    for (int i = 0; i < n; i++)
        mpq_init(a[i]);
    return a;
}

static void q_free(mpq_t *a, int n)
{
    for (int i = 0; i < n; i++)
        mpq_clear(a[i]);
    free(a);
}

/* ---- numbers -------------------------------------------------------------- */

static void test_numbers(void **state)
{
    (void)state;
    double vals[] = {0.0, -0.0, 1.0, -0.1, 0x1.fffffffffffffp+1023, 0x1p-1074, 3.0 / 7.0};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        char buf[40];
        double back;
        cert_hexd(vals[i], buf);
        assert_true(cert_parse_hexd(buf, &back));
        assert_memory_equal(&back, &vals[i], sizeof back);
    }
    double d;
    assert_false(cert_parse_hexd("0x3p+0", &d));   /* not the %a spelling of 3 */
    assert_false(cert_parse_hexd("0.5", &d));
    assert_false(cert_parse_hexd("0x1p+0 ", &d));
    assert_false(cert_parse_hexd("inf", &d));
    assert_true(cert_parse_hexd("0x1.8p+1", &d));
    assert_double_near(d, 3.0, 0);
}

/* ---- the checker's bounds against exact evaluation ----------------------- */

static void test_bounds_sound(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("test_bounds_sound", 7)};
    int confirmed = 0, empty_seen = 0;
    for (int trial = 0; trial < 60; trial++) {
        net *n = random_net(&r, 3, 6, 5, 3);
        cn_err err;
        cert_bounds *b = cert_bounds_new(n, &err);
        assert_non_null(b);
        int nr = net_n_relus(n);
        mpq_t *pre = q_array(nr), *y = q_array(3), lbq, v, t;
        mpq_inits(lbq, v, t, NULL);
        for (int rep = 0; rep < 8; rep++) {
            double lo[3], hi[3], c[3], x[3];
            signed char split[11];
            for (int j = 0; j < 3; j++) {
                double a = 2 * tu_unif(&r) - 1, w = 0.05 + 0.6 * tu_unif(&r);
                lo[j] = a;
                hi[j] = a + w;
                c[j] = rnd_w(&r);
            }
            for (int k = 0; k < nr; k++)
                split[k] = tu_unif(&r) < 0.15 ? (tu_unif(&r) < 0.5 ? 1 : -1) : 0;
            cert_region rg = cert_bounds_region(b, lo, hi, split);
            assert_int_not_equal(rg, CERT_REGION_BLOWN);
            double lb = rg == CERT_REGION_OK ? cert_bounds_row(b, c) : INFINITY;
            if (rg == CERT_REGION_OK)
                assert_true(isfinite(lb));
            empty_seen += rg == CERT_REGION_EMPTY;
            for (int s = 0; s < 40; s++) {
                for (int j = 0; j < 3; j++)
                    x[j] = lo[j] + (hi[j] - lo[j]) * tu_unif(&r);
                exact_forward(n, x, pre, y);
                bool in = true;
                for (int k = 0; k < nr; k++)
                    if ((split[k] > 0 && mpq_sgn(pre[k]) < 0) || (split[k] < 0 && mpq_sgn(pre[k]) > 0))
                        in = false;
                if (!in)
                    continue;
                if (rg == CERT_REGION_EMPTY)
                    fail_msg("trial %d: region claimed empty, but x = (%a, %a, %a) meets the splits",
                             trial, x[0], x[1], x[2]);
                mpq_set_ui(v, 0, 1);
                for (int j = 0; j < 3; j++) {
                    mpq_set_d(t, c[j]);
                    mpq_mul(t, t, y[j]);
                    mpq_add(v, v, t);
                }
                mpq_set_d(lbq, lb);
                if (mpq_cmp(lbq, v) > 0)
                    fail_msg("trial %d: lower bound %a > exact value %a", trial, lb, mpq_get_d(v));
                confirmed++;
            }
        }
        mpq_clears(lbq, v, t, NULL);
        q_free(pre, nr);
        q_free(y, 3);
        cert_bounds_free(b);
        net_free(n);
    }
    printf("# %d points inside their regions confirmed, %d empty regions\n", confirmed, empty_seen);
    assert_true(confirmed > 1000);
}

/* ---- a small problem with a real proof ------------------------------------ */

/* 2 inputs in [-1, 1]^2, 16 + 16 ReLUs, 2 outputs. */
typedef struct {
    net *n;
    prop *unsat, *sat;          /* y0 <= L (no point meets it) / y0 <= M (one does) */
    char sha[65];
} problem;

static prop *parse(const char *text)
{
    prop *p = NULL;
    cn_err err;
    if (prop_parse_vnnlib_mem(text, strlen(text), "test property", 0, &p, &err) != CN_OK)
        fail_msg("%s", err.msg);
    return p;
}

static prop *prop_y0_le(const char *rhs)
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

static void problem_init(problem *pb)
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

static void problem_clear(problem *pb)
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

static void make_proof(const problem *pb, cert_tree *t)
{
    cn_err err;
    cert_bounds *b = cert_bounds_new(pb->n, &err);
    const prop_case *pc = prop_case_at(pb->unsat, 0);
    double lo[2] = {pc->lo_d[0], pc->lo_d[1]}, hi[2] = {pc->hi_d[0], pc->hi_d[1]};
    cert_tree_init(t, 0);
    bab(b, pb->unsat, lo, hi, t, 0);
    cert_bounds_free(b);
}

static const cert_meta *meta_for(const problem *pb, const prop *p, cert_meta *m)
{
    *m = (cert_meta){.tool = "certnn test", .model_file = "model.onnx", .model_sha256 = pb->sha,
                     .property = p, .property_file = "p.vnnlib",
                     .property_sha256 = "0000000000000000000000000000000000000000000000000000000000000000"};
    return m;
}

/* Certificate bytes for an UNSAT proof tree t on pb->unsat. */
static char *unsat_cert(const problem *pb, const cert_tree *t, const cert_key *key, size_t *len)
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

/* Checks bytes; returns validity and copies the reason. */
static bool check(const problem *pb, const char *bytes, size_t len, const unsigned char *pk,
                  bool allow_unsigned, char *why)
{
    cert_check_in in = {.model = pb->n, .model_sha256 = pb->sha, .pubkey = pk,
                        .allow_unsigned = allow_unsigned};
    cert_report rep;
    cn_err err;
    assert_int_equal(cert_check_mem(bytes, len, &in, &rep, &err), CN_OK);
    if (why)
        snprintf(why, 512, "%s", rep.why);
    return rep.valid;
}

static void key_of(cert_key *k, unsigned char b)
{
    unsigned char seed[32];
    memset(seed, b, sizeof seed);
    cert_key_from_seed(k, seed);
}

#define assert_invalid_with(pb, bytes, len, pk, text)                                       \
    do {                                                                                    \
        char why_[512];                                                                     \
        if (check((pb), (bytes), (len), (pk), false, why_))                                 \
            fail_msg("accepted, expected a failure mentioning '%s'", (text));               \
        if (!strstr(why_, (text)))                                                          \
            fail_msg("failure '%s' does not mention '%s'", why_, (text));                    \
    } while (0)

static void test_proof_valid(void **state)
{
    (void)state;
    problem pb;
    problem_init(&pb);
    cn_err err;
    cert_bounds *b = cert_bounds_new(pb.n, &err);
    const prop_case *pc = prop_case_at(pb.unsat, 0);
    /* the root alone does not prove it: the tree matters */
    assert_int_equal(cert_bounds_region(b, pc->lo_d, pc->hi_d, NULL), CERT_REGION_OK);
    double c[2] = {1, 0};
    assert_true(cert_bounds_row(b, c) <= mpq_get_d(pc->disj[0].atoms[0].rhs));
    cert_bounds_free(b);
    cert_tree t;
    make_proof(&pb, &t);
    printf("# proof: %d nodes\n", t.n_nodes);
    assert_true(t.n_nodes >= 7);
    cert_key k;
    key_of(&k, 1);
    size_t len;
    char *bytes = unsat_cert(&pb, &t, &k, &len);
    char why[512];
    assert_true(check(&pb, bytes, len, k.pk, false, why));
    /* unsigned: only with allow_unsigned; signed but no key given: likewise */
    assert_false(check(&pb, bytes, len, NULL, false, why));
    assert_non_null(strstr(why, "no trusted public key"));
    assert_true(check(&pb, bytes, len, NULL, true, why));
    cn_free(bytes);
    bytes = unsat_cert(&pb, &t, NULL, &len);
    assert_false(check(&pb, bytes, len, NULL, false, why));
    assert_non_null(strstr(why, "unsigned"));
    assert_true(check(&pb, bytes, len, NULL, true, why));
    cn_free(bytes);
    cert_tree_clear(&t);
    problem_clear(&pb);
}

/* Flipping any single byte of a signed certificate is detected. */
static void test_flip_every_byte(void **state)
{
    (void)state;
    problem pb;
    problem_init(&pb);
    cert_tree t;
    make_proof(&pb, &t);
    cert_key k;
    key_of(&k, 2);
    size_t len;
    char *bytes = unsat_cert(&pb, &t, &k, &len);
    assert_true(check(&pb, bytes, len, k.pk, false, NULL));
    char *copy = malloc(len + 1);
    int parse = 0, canon = 0, sig = 0, other = 0;
    for (size_t i = 0; i < len; i++) {
        for (int f = 0; f < 2; f++) {
            memcpy(copy, bytes, len + 1);
            /* a bit flip, and a change to a neighbouring printable character */
            copy[i] = f == 0 ? (char)(copy[i] ^ 0x01) : (char)(copy[i] == '0' ? '1' : copy[i] == 'a' ? 'b' : copy[i] + 1);
            char why[512];
            if (check(&pb, copy, len, k.pk, false, why))
                fail_msg("byte %zu changed (%#x -> %#x) and still accepted", i,
                         (unsigned char)bytes[i], (unsigned char)copy[i]);
            parse += strstr(why, "not a JSON") != NULL;
            canon += strstr(why, "canonical") != NULL;
            sig += strstr(why, "signature") != NULL;
            other += !strstr(why, "not a JSON") && !strstr(why, "canonical") && !strstr(why, "signature");
        }
    }
    printf("# %zu bytes x 2 changes: %d not JSON, %d not canonical, %d signature, %d other\n",
           len, parse, canon, sig, other);
    /* the envelope and the signature are checked on the bytes before any
     * parsing: most changes fail there */
    assert_true(sig > 0 && canon > 0);
    free(copy);
    cn_free(bytes);
    cert_tree_clear(&t);
    problem_clear(&pb);
}

static void test_other_key_and_model(void **state)
{
    (void)state;
    problem pb;
    problem_init(&pb);
    cert_tree t;
    make_proof(&pb, &t);
    cert_key k1, k2;
    key_of(&k1, 3);
    key_of(&k2, 4);
    size_t len;
    char *bytes = unsat_cert(&pb, &t, &k2, &len);
    assert_invalid_with(&pb, bytes, len, k1.pk, "another key");
    assert_true(check(&pb, bytes, len, k2.pk, false, NULL));
    /* a different model file (hash) */
    problem other = pb;
    char sha[65];
    memcpy(sha, pb.sha, 65);
    sha[10] = 'b';
    memcpy(other.sha, sha, 65);
    assert_invalid_with(&other, bytes, len, k2.pk, "SHA-256 differs");
    /* the same hash but different weights (one output bias lowered): the
     * proof no longer holds */
    tu_rng r = {11};
    other.n = random_net(&r, 2, 16, 16, 2);
    ((net_layer *)net_layer_at(other.n, net_n_layers(other.n) - 1))->b[0] -= 1.0;
    memcpy(other.sha, pb.sha, 65);
    char why[512];
    assert_false(check(&other, bytes, len, k2.pk, false, why));
    assert_non_null(strstr(why, "not refuted"));
    net_free(other.n);
    cn_free(bytes);
    cert_tree_clear(&t);
    problem_clear(&pb);
}

/* Copies t, applying a change to one node. */
static void tree_copy(const cert_tree *t, cert_tree *c, int skip_last)
{
    cn_err err;
    cert_tree_init(c, t->case_idx);
    for (int i = 0; i < t->n_nodes - skip_last; i++) {
        const cert_node *nd = &t->nodes[i];
        assert_int_equal(cert_tree_push(c, nd->kind, nd->dim, nd->at, nd->n_refs, nd->refs, &err),
                         CN_OK);
    }
}

static int first_leaf(const cert_tree *t)
{
    for (int i = 0; i < t->n_nodes; i++)
        if (t->nodes[i].kind == CERT_LEAF)
            return i;
    return -1;
}

/* Tampered proofs, re-signed so that only the mathematics can catch them. */
static void test_tampered_proofs(void **state)
{
    (void)state;
    problem pb;
    problem_init(&pb);
    cert_tree t, c;
    make_proof(&pb, &t);
    cert_key k;
    key_of(&k, 5);
    size_t len;
    char *bytes;
    int leaf = first_leaf(&t);
    assert_true(leaf > 0);
    cn_err err;

    /* a leaf lacking its refutation */
    tree_copy(&t, &c, 0);
    c.nodes[leaf].n_refs = 0;
    bytes = unsat_cert(&pb, &c, &k, &len);
    assert_invalid_with(&pb, bytes, len, k.pk, "not refuted on its path");
    cn_free(bytes);
    c.nodes[leaf].n_refs = t.nodes[leaf].n_refs;
    cert_tree_clear(&c);

    /* the refutation moved to the root, where the bound does not hold */
    tree_copy(&t, &c, 0);
    cn_free(c.nodes[0].refs);
    c.nodes[0].refs = cn_malloc(sizeof(int));   /* the tree releases it */
    c.nodes[0].refs[0] = 0;
    c.nodes[0].n_refs = 1;
    bytes = unsat_cert(&pb, &c, &k, &len);
    assert_invalid_with(&pb, bytes, len, k.pk, "case 0 node 0: disjunct 0 not refuted: lower bound");
    cn_free(bytes);
    cert_tree_clear(&c);

    /* a split point moved to the parent's end (not strictly inside) */
    tree_copy(&t, &c, 0);
    c.nodes[0].at = -1.0;
    bytes = unsat_cert(&pb, &c, &k, &len);
    assert_invalid_with(&pb, bytes, len, k.pk, "not strictly inside");
    cn_free(bytes);
    cert_tree_clear(&c);

    /* a split whose two children are leaves pruned into one leaf: that
     * region was split because its bound does not hold */
    int sp = -1;
    for (int i = 0; i + 2 < t.n_nodes && sp < 0; i++)
        if (t.nodes[i].kind == CERT_SPLIT_INPUT && t.nodes[i + 1].kind == CERT_LEAF &&
            t.nodes[i + 2].kind == CERT_LEAF)
            sp = i;
    assert_true(sp >= 0);
    cert_tree_init(&c, 0);
    for (int i = 0; i < t.n_nodes; i++) {
        const cert_node *nd = &t.nodes[i == sp ? sp + 1 : i];
        if (i == sp + 1 || i == sp + 2)
            continue;
        assert_int_equal(cert_tree_push(&c, nd->kind, nd->dim, nd->at, nd->n_refs, nd->refs, &err),
                         CN_OK);
    }
    bytes = unsat_cert(&pb, &c, &k, &len);
    char msg[64];
    snprintf(msg, sizeof msg, "node %d: disjunct 0 not refuted: lower bound", sp);
    assert_invalid_with(&pb, bytes, len, k.pk, msg);
    cn_free(bytes);
    cert_tree_clear(&c);

    /* a missing child (the last node dropped) */
    tree_copy(&t, &c, 1);
    bytes = unsat_cert(&pb, &c, &k, &len);
    assert_invalid_with(&pb, bytes, len, k.pk, "without its side-1 child");
    cn_free(bytes);
    cert_tree_clear(&c);

    /* an extra node after the tree */
    tree_copy(&t, &c, 0);
    assert_int_equal(cert_tree_push(&c, CERT_LEAF, 0, 0, 0, NULL, &err), CN_OK);
    bytes = unsat_cert(&pb, &c, &k, &len);
    assert_invalid_with(&pb, bytes, len, k.pk, "after the end of the tree");
    cn_free(bytes);
    cert_tree_clear(&c);

    /* a refutation of a disjunct that does not exist */
    tree_copy(&t, &c, 0);
    c.nodes[leaf].refs[0] = 7;
    bytes = unsat_cert(&pb, &c, &k, &len);
    assert_invalid_with(&pb, bytes, len, k.pk, "the case has 2 disjuncts");
    cn_free(bytes);
    cert_tree_clear(&c);

    /* an 'empty' leaf for a non-empty box */
    cert_tree_init(&c, 0);
    assert_int_equal(cert_tree_push(&c, CERT_EMPTY, 0, 0, 0, NULL, &err), CN_OK);
    bytes = unsat_cert(&pb, &c, &k, &len);
    assert_invalid_with(&pb, bytes, len, k.pk, "box is not empty");
    cn_free(bytes);
    cert_tree_clear(&c);

    cert_tree_clear(&t);
    problem_clear(&pb);
}

/* ReLU splits: well-formedness rules, and a proof by ReLU splitting. */
static void test_relu_splits(void **state)
{
    (void)state;
    problem pb;
    problem_init(&pb);
    cn_err err;
    cert_bounds *b = cert_bounds_new(pb.n, &err);
    bool valid;
    char why[512];
    cert_stats st = {0, 0, 0, 0};
    /* split neuron 3 twice on one path */
    cert_tree t;
    cert_tree_init(&t, 0);
    assert_int_equal(cert_tree_push(&t, CERT_SPLIT_RELU, 3, 0, 0, NULL, &err), CN_OK);
    assert_int_equal(cert_tree_push(&t, CERT_SPLIT_RELU, 3, 0, 0, NULL, &err), CN_OK);
    assert_int_equal(cert_check_tree(b, pb.unsat, &t, &valid, why, sizeof why, &st, &err), CN_OK);
    assert_false(valid);
    assert_non_null(strstr(why, "split again"));
    cert_tree_clear(&t);
    /* a neuron index out of range */
    cert_tree_init(&t, 0);
    assert_int_equal(cert_tree_push(&t, CERT_SPLIT_RELU, 32, 0, 0, NULL, &err), CN_OK);
    assert_int_equal(cert_check_tree(b, pb.unsat, &t, &valid, why, sizeof why, &st, &err), CN_OK);
    assert_false(valid);
    assert_non_null(strstr(why, "neuron 32 of 32"));
    cert_tree_clear(&t);
    /* a proof by one ReLU split: find the neuron whose two sides bound y0
     * best, put the property's rhs between the root bound and that */
    const prop_case *pc = prop_case_at(pb.unsat, 0);
    double c[2] = {1, 0}, best = -INFINITY, root;
    int best_j = -1;
    assert_int_equal(cert_bounds_region(b, pc->lo_d, pc->hi_d, NULL), CERT_REGION_OK);
    root = cert_bounds_row(b, c);
    signed char split[32];
    for (int j = 0; j < 32; j++) {
        double side[2];
        memset(split, 0, sizeof split);
        for (int h = 0; h < 2; h++) {
            split[j] = h ? 1 : -1;
            cert_region rg = cert_bounds_region(b, pc->lo_d, pc->hi_d, split);
            side[h] = rg == CERT_REGION_EMPTY ? INFINITY : cert_bounds_row(b, c);
        }
        if (fmin(side[0], side[1]) > best) {
            best = fmin(side[0], side[1]);
            best_j = j;
        }
    }
    printf("# ReLU %d: root bound %.6f, both sides >= %.6f\n", best_j, root, best);
    assert_true(best > root + 1e-3);
    char rhs[64];
    snprintf(rhs, sizeof rhs, "%.9f", 0.5 * (root + best));
    prop *p = prop_y0_le(rhs);
    int both[2] = {0, 1};
    cert_tree_init(&t, 0);
    assert_int_equal(cert_tree_push(&t, CERT_SPLIT_RELU, best_j, 0, 0, NULL, &err), CN_OK);
    assert_int_equal(cert_tree_push(&t, CERT_LEAF, 0, 0, 2, both, &err), CN_OK);
    assert_int_equal(cert_tree_push(&t, CERT_LEAF, 0, 0, 2, both, &err), CN_OK);
    assert_int_equal(cert_check_tree(b, p, &t, &valid, why, sizeof why, &st, &err), CN_OK);
    if (!valid)
        fail_msg("ReLU-split proof rejected: %s", why);
    /* the same leaves without the split: the root bound does not hold */
    cert_tree_clear(&t);
    cert_tree_init(&t, 0);
    assert_int_equal(cert_tree_push(&t, CERT_LEAF, 0, 0, 2, both, &err), CN_OK);
    assert_int_equal(cert_check_tree(b, p, &t, &valid, why, sizeof why, &st, &err), CN_OK);
    assert_false(valid);
    assert_non_null(strstr(why, "node 0: disjunct 0 not refuted"));
    /* a leaf under the split lacking disjunct 1 */
    cert_tree_clear(&t);
    cert_tree_init(&t, 0);
    assert_int_equal(cert_tree_push(&t, CERT_SPLIT_RELU, best_j, 0, 0, NULL, &err), CN_OK);
    assert_int_equal(cert_tree_push(&t, CERT_LEAF, 0, 0, 2, both, &err), CN_OK);
    assert_int_equal(cert_tree_push(&t, CERT_LEAF, 0, 0, 1, both, &err), CN_OK);
    assert_int_equal(cert_check_tree(b, p, &t, &valid, why, sizeof why, &st, &err), CN_OK);
    assert_false(valid);
    assert_non_null(strstr(why, "node 2: leaf: disjunct 1 is not refuted on its path"));
    prop_free(p);
    cert_tree_clear(&t);
    cert_bounds_free(b);
    problem_clear(&pb);
}

/* A counterexample certificate, and moving the point out of the region. */
static char *sat_cert(const problem *pb, mpq_t *x, const cert_key *k, size_t *len)
{
    cn_err err;
    prop_check chk;
    prop_check_init(&chk);
    assert_int_equal(prop_check_point(pb->sat, pb->n, x, &chk, &err), CN_OK);
    cert_meta m;
    cert_doc *d = NULL;
    char *bytes = NULL;
    assert_int_equal(cert_doc_new(meta_for(pb, pb->sat, &m), &d, &err), CN_OK);
    cert_entry e = {.verdict = "sat", .method = "test", .time_s = 0};
    if (chk.violated)
        assert_int_equal(cert_doc_add_cex(d, &e, 2, x, &chk, &err), CN_OK);
    else {
        /* not a counterexample: forge the entry with the margins of a real one */
        prop_check real;
        prop_check_init(&real);
        mpq_t *z = q_array(2);
        assert_int_equal(prop_check_point(pb->sat, pb->n, z, &real, &err), CN_OK);
        assert_true(real.violated);
        assert_int_equal(cert_doc_add_cex(d, &e, 2, x, &real, &err), CN_OK);
        prop_check_clear(&real);
        q_free(z, 2);
    }
    assert_int_equal(cert_doc_bytes(d, k, &bytes, len, &err), CN_OK);
    cert_doc_free(d);
    prop_check_clear(&chk);
    return bytes;
}

static void test_counterexample(void **state)
{
    (void)state;
    problem pb;
    problem_init(&pb);
    cert_key k;
    key_of(&k, 6);
    mpq_t *x = q_array(2);
    size_t len;
    char *bytes = sat_cert(&pb, x, &k, &len);   /* x = (0, 0) */
    cert_check_in in = {.model = pb.n, .model_sha256 = pb.sha, .pubkey = k.pk};
    cert_report rep;
    cn_err err;
    assert_int_equal(cert_check_mem(bytes, len, &in, &rep, &err), CN_OK);
    if (!rep.valid)
        fail_msg("%s", rep.why);
    assert_int_equal(rep.n_cex, 1);
    assert_non_null(strstr(bytes, "\"x\":[\"0x0p+0\",\"0x0p+0\"]"));
    cn_free(bytes);
    /* outside the box, by 1/3 (a rational that is not a double) */
    mpq_set_si(x[0], 4, 3);
    bytes = sat_cert(&pb, x, &k, &len);
    assert_non_null(strstr(bytes, "\"4/3\""));
    assert_invalid_with(&pb, bytes, len, k.pk, "not in the region");
    cn_free(bytes);
    /* inside the box, but its output does not meet the disjunct */
    double far = 0;
    mpq_t *y = q_array(2);
    for (int i = 0; i <= 20 && far == 0; i++) {
        mpq_set_d(x[0], -1 + i / 10.0);
        mpq_set_d(x[1], 1);
        assert_int_equal(net_eval_exact(pb.n, x, y, &err), CN_OK);
        if (mpq_cmp(y[0], prop_case_at(pb.sat, 0)->disj[0].atoms[0].rhs) > 0)
            far = 1;
    }
    assert_true(far == 1);
    bytes = sat_cert(&pb, x, &k, &len);
    assert_invalid_with(&pb, bytes, len, k.pk, "meets no disjunct");
    cn_free(bytes);
    q_free(y, 2);
    q_free(x, 2);
    problem_clear(&pb);
}

/* ---- golden bytes --------------------------------------------------------------- */

/* y = W2 relu(W1 x + b1) + b2 with y0 - y1 = 1 + ... : label 0 is robust. */
static net *golden_net(void)
{
    cn_err err;
    net *n = net_new((net_shape){2, 1, 1});
    net_layer *l = net_add_dense(n, 2, &err);
    l->W[0] = 1;
    l->W[1] = 0.5;
    l->W[2] = -0.5;
    l->W[3] = 1;
    net_add_relu(n, &err);
    l = net_add_dense(n, 2, &err);
    l->W[0] = 1;
    l->W[1] = 1;
    l->W[2] = 0.5;
    l->W[3] = 0.25;
    l->b[0] = 1;
    return n;
}

static const char golden[] =
    "{\"signature\":{\"alg\":\"ed25519\",\"key\":"
    "\"ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c\",\"sig\":"
    GOLDEN_SIGNATURE "},\"signed\":{\"format\":\"certnn-cert-1\",\"model\":{\"file\":\"golden.onnx\","
    "\"sha256\":\"0123\"},\"results\":[{\"index\":0,\"label\":0,\"method\":\"bounds\","
    "\"pixels\":\"80ff\",\"proof\":[{\"case\":0,\"nodes\":[[\"l\",[0]]]}],\"time_s\":\"0.500\","
    "\"verdict\":\"robust\"},{\"counterexample\":{\"case\":0,\"disjunct\":0,\"margins\":"
    "[\"526/255\"],\"x\":[\"128/255\",\"0x1p+0\"]},\"index\":1,\"label\":1,\"method\":\"sample\","
    "\"pixels\":\"80ff\",\"time_s\":\"0.000\",\"verdict\":\"not-robust\"}],\"sweep\":{\"data\":"
    "{\"file\":\"d.csv\",\"sha256\":\"4567\"},\"eps\":\"0.01\"},\"tool\":\"certnn test\"}}\n";

static void test_golden(void **state)
{
    (void)state;
    net *n = golden_net();
    cn_err err;
    cert_meta m = {.tool = "certnn test", .model_file = "golden.onnx", .model_sha256 = "0123",
                   .data_file = "d.csv", .data_sha256 = "4567", .eps = "0.01"};
    cert_doc *d = NULL;
    assert_int_equal(cert_doc_new(&m, &d, &err), CN_OK);
    uint8_t px[2] = {128, 255};
    cert_entry e0 = {.verdict = "robust", .method = "bounds", .time_s = 0.5, .index = 0,
                     .label = 0, .pixels = px, .n_pixels = 2};
    cert_tree t;
    cert_tree_init(&t, 0);
    int d0 = 0;
    assert_int_equal(cert_tree_push(&t, CERT_LEAF, 0, 0, 1, &d0, &err), CN_OK);
    assert_int_equal(cert_doc_add_proof(d, &e0, 1, &t, &err), CN_OK);
    cert_tree_clear(&t);
    /* sample 1: label 1 is not robust, the sample itself shows it */
    mpq_t *x = q_array(2), eps, lo, hi;
    mpq_inits(eps, lo, hi, NULL);
    mpq_set_ui(x[0], 128, 255);
    mpq_set_ui(x[1], 255, 255);
    mpq_canonicalize(x[1]);
    mpq_set_ui(eps, 1, 100);
    mpq_set_ui(hi, 1, 1);
    prop *p = NULL;
    assert_int_equal(prop_eps_ball(2, x, eps, lo, hi, 2, 1, &p, &err), CN_OK);
    prop_check chk;
    prop_check_init(&chk);
    assert_int_equal(prop_check_point(p, n, x, &chk, &err), CN_OK);
    assert_true(chk.violated);
    cert_entry e1 = {.verdict = "not-robust", .method = "sample", .time_s = 0, .index = 1,
                     .label = 1, .pixels = px, .n_pixels = 2};
    assert_int_equal(cert_doc_add_cex(d, &e1, 2, x, &chk, &err), CN_OK);
    cert_key k;
    key_of(&k, 7);
    char *bytes = NULL;
    size_t len;
    assert_int_equal(cert_doc_bytes(d, &k, &bytes, &len, &err), CN_OK);
    if (strcmp(bytes, golden) != 0)
        fail_msg("canonical bytes differ:\n got  %s\n want %s", bytes, golden);
    assert_int_equal(len, strlen(golden));
    /* and the document checks against the tiny network */
    char sha[] = "0123";
    cert_check_in in = {.model = n, .model_sha256 = sha, .pubkey = k.pk};
    cert_report rep;
    assert_int_equal(cert_check_mem(bytes, len, &in, &rep, &err), CN_OK);
    if (!rep.valid)
        fail_msg("%s", rep.why);
    assert_int_equal(rep.n_proven, 1);
    assert_int_equal(rep.n_cex, 1);
    cn_free(bytes);
    prop_check_clear(&chk);
    prop_free(p);
    mpq_clears(eps, lo, hi, NULL);
    q_free(x, 2);
    cert_doc_free(d);
    net_free(n);
}

/* ---- keys on disk ------------------------------------------------------------- */

static void test_keygen(void **state)
{
    (void)state;
    char dir[] = "/tmp/certnn-test-keysXXXXXX";
    assert_non_null(mkdtemp(dir));
    char name[256], kp[300], pp[300];
    snprintf(name, sizeof name, "%s/k", dir);
    snprintf(kp, sizeof kp, "%s.key", name);
    snprintf(pp, sizeof pp, "%s.pub", name);
    cn_err err;
    assert_int_equal(cert_keygen(name, &err), CN_OK);
    struct stat sb;
    assert_int_equal(stat(kp, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(cert_keygen(name, &err), CN_EIO);   /* never overwrites */
    assert_non_null(strstr(err.msg, "refusing to overwrite"));
    cert_key k;
    unsigned char pk[32];
    assert_int_equal(cert_key_load(kp, &k, &err), CN_OK);
    assert_int_equal(cert_pubkey_load(pp, pk, &err), CN_OK);
    assert_memory_equal(pk, k.pk, 32);
    chmod(kp, 0644);
    assert_int_equal(cert_key_load(kp, &k, &err), CN_EINVAL);
    assert_non_null(strstr(err.msg, "readable by others"));
    assert_int_equal(cert_pubkey_load(kp, pk, &err), CN_EPARSE);   /* a .key is not a .pub */
    unlink(kp);
    unlink(pp);
    rmdir(dir);
}

/* ---- hostile and unbound certificates (review findings F2, F4, F6, F8) ---- */

/* The bytes of a file under the shared data. */
static char *shared_bytes(const char *rel, size_t *len)
{
    unsigned char *b = NULL;
    cn_err err;
    if (cn_read_file(tu_shared(rel), &b, len, &err) != CN_OK)
        fail_msg("%s", err.msg);
    return (char *)b;
}

static net *shared_net(const char *path, char sha[65])
{
    net *n = NULL;
    cn_err err;
    if (net_load(path, &n, &err) != CN_OK)
        fail_msg("%s", err.msg);
    net_info ni;
    net_get_info(n, &ni);
    memcpy(sha, ni.sha256, 65);
    return n;
}

/* F2: the proven property is tied to the property file the certificate
 * names: hash and parsed property; without the file the report says it was
 * not matched. */
static void test_property_bound(void **state)
{
    (void)state;
    problem pb;
    problem_init(&pb);
    cert_tree t;
    make_proof(&pb, &t);
    cert_key k;
    key_of(&k, 9);
    size_t len;
    char *bytes = unsat_cert(&pb, &t, &k, &len);
    char zeros[65];
    memset(zeros, '0', 64);
    zeros[64] = '\0';
    cert_check_in in = {.model = pb.n, .model_sha256 = pb.sha, .pubkey = k.pk};
    cert_report rep;
    cn_err err;
    /* no property file: valid, and said to be unmatched */
    assert_int_equal(cert_check_mem(bytes, len, &in, &rep, &err), CN_OK);
    assert_true(rep.valid);
    assert_int_equal(rep.property, CERT_BIND_UNMATCHED);
    assert_int_equal(rep.data, CERT_BIND_NONE);
    /* the same property file: matched */
    in.vnnlib = pb.unsat;
    in.vnnlib_sha256 = zeros;
    in.vnnlib_path = "p.vnnlib";
    assert_int_equal(cert_check_mem(bytes, len, &in, &rep, &err), CN_OK);
    if (!rep.valid)
        fail_msg("%s", rep.why);
    assert_int_equal(rep.property, CERT_BIND_MATCHED);
    /* a file with the right hash but another property: the F2 forgery */
    in.vnnlib = pb.sat;
    assert_int_equal(cert_check_mem(bytes, len, &in, &rep, &err), CN_OK);
    assert_false(rep.valid);
    assert_non_null(strstr(rep.why, "property.text: the property that was proven is not the "
                                    "property of p.vnnlib"));
    assert_int_equal(rep.stats.nodes, 0);            /* refused before any re-proof */
    /* another file (hash) */
    in.vnnlib = pb.unsat;
    zeros[3] = '1';
    assert_int_equal(cert_check_mem(bytes, len, &in, &rep, &err), CN_OK);
    assert_false(rep.valid);
    assert_non_null(strstr(rep.why, "property.sha256: SHA-256 differs"));
    cn_free(bytes);
    cert_tree_clear(&t);
    problem_clear(&pb);

    /* the finding itself: signed by k1, names test_prop.vnnlib with its
     * right SHA-256, but embeds and "proves" another property text */
    const char *dir = "findings/F2_check_property_not_bound";
    char rel[256], sha[65], vsha[65];
    unsigned char pk[32];
    assert_int_equal(cert_pubkey_load(tu_shared("findings/k1.pub"), pk, &err), CN_OK);
    snprintf(rel, sizeof rel, "%s/test_sat.onnx", dir);
    net *n = shared_net(tu_shared(rel), sha);
    snprintf(rel, sizeof rel, "%s/test_prop.vnnlib", dir);
    size_t vlen;
    char *vtext = shared_bytes(rel, &vlen);
    cn_sha256_hex((const unsigned char *)vtext, vlen, vsha);
    prop *vp = NULL;
    assert_int_equal(prop_parse_vnnlib_mem(vtext, vlen, "test_prop.vnnlib", 0, &vp, &err), CN_OK);
    snprintf(rel, sizeof rel, "%s/sat_made_unsat_by_text.cert", dir);
    bytes = shared_bytes(rel, &len);
    cert_check_in fin = {.model = n, .model_sha256 = sha, .pubkey = pk};
    assert_int_equal(cert_check_mem(bytes, len, &fin, &rep, &err), CN_OK);
    assert_true(rep.valid);                           /* what it embeds does hold ... */
    assert_int_equal(rep.property, CERT_BIND_UNMATCHED);  /* ... but is not bound */
    fin.vnnlib = vp;
    fin.vnnlib_sha256 = vsha;
    fin.vnnlib_path = "test_prop.vnnlib";
    assert_int_equal(cert_check_mem(bytes, len, &fin, &rep, &err), CN_OK);
    assert_false(rep.valid);
    assert_non_null(strstr(rep.why, "property.text: the property that was proven is not the "
                                    "property of test_prop.vnnlib"));
    cn_free(bytes);
    cn_free(vtext);
    prop_free(vp);
    net_free(n);
}

/* F2: a sweep's samples are matched against the data file when given; the
 * finding's certificate had sample 0 renamed 9999. */
static void test_sweep_samples_bound(void **state)
{
    (void)state;
    size_t len;
    cn_err err;
    char *bytes = shared_bytes("findings/F2_check_property_not_bound/index_changed_nodata.cert",
                               &len);
    json_t *doc = json_loadb(bytes, len, 0, NULL);
    assert_non_null(doc);
    const json_t *S = json_object_get(doc, "signed"), *res = json_object_get(S, "results");
    const char *dsha = json_string_value(
        json_object_get(json_object_get(json_object_get(S, "sweep"), "data"), "sha256"));
    char sha[65];
    net *n = shared_net(tu_src("models/zoo/fmnist_ibp.onnx"), sha);
    unsigned char pk[32];
    assert_int_equal(cert_pubkey_load(tu_shared("findings/k1.pub"), pk, &err), CN_OK);
    /* a data file holding the certificate's samples where they are claimed,
     * except that sample 9999 is another image with label 5 */
    ds_set ds = {.n = 10000, .dim = 784, .rows = 28, .cols = 28};
    ds.pixels = calloc((size_t)ds.n * 784, 1);
    ds.labels = calloc((size_t)ds.n, sizeof(int));
    ds.labels[9999] = 5;
    for (size_t i = 1; i < json_array_size(res); i++) {
        const json_t *r = json_array_get(res, i);
        int idx = (int)json_integer_value(json_object_get(r, "index"));
        ds.labels[idx] = (int)json_integer_value(json_object_get(r, "label"));
        const char *px = json_string_value(json_object_get(r, "pixels"));
        for (int j = 0; j < 784; j++) {
            unsigned v;
            sscanf(px + 2 * j, "%2x", &v);
            ds.pixels[(size_t)idx * 784 + (size_t)j] = (uint8_t)v;
        }
    }
    cert_check_in in = {.model = n, .model_sha256 = sha, .pubkey = pk};
    cert_report rep;
    assert_int_equal(cert_check_mem(bytes, len, &in, &rep, &err), CN_OK);
    if (!rep.valid)
        fail_msg("%s", rep.why);
    assert_int_equal(rep.data, CERT_BIND_UNMATCHED);  /* valid for the embedded samples only */
    assert_int_equal(rep.property, CERT_BIND_NONE);
    in.data = &ds;
    in.data_sha256 = dsha;
    in.data_path = "t10k";
    assert_int_equal(cert_check_mem(bytes, len, &in, &rep, &err), CN_OK);
    assert_false(rep.valid);
    assert_non_null(strstr(rep.why, "results[0].label: sample 9999 has label 5 in the data file "
                                    "t10k, the certificate says 9"));
    assert_int_equal(rep.stats.nodes, 0);            /* all samples before any re-proof */
    /* same label, other pixels */
    ds.labels[9999] = 9;
    assert_int_equal(cert_check_mem(bytes, len, &in, &rep, &err), CN_OK);
    assert_false(rep.valid);
    assert_non_null(strstr(rep.why, "results[0].pixels: sample 9999 differs from the data file"));
    /* and a data file too short for index 9999 */
    ds.n = 10;
    assert_int_equal(cert_check_mem(bytes, len, &in, &rep, &err), CN_OK);
    assert_false(rep.valid);
    assert_non_null(strstr(rep.why, "results[0].index: sample 9999 is not in the data file"));
    free(ds.pixels);
    free(ds.labels);
    json_decref(doc);
    cn_free(bytes);
    net_free(n);
}

/* F4: a property box beyond the doubles: a finding with a message, never an
 * abort; unsigned, it is not even parsed. */
static void test_infinite_box(void **state)
{
    (void)state;
    const char *dir = "findings/F4_check_abort_infinite_box";
    char rel[256], sha[65];
    cn_err err;
    snprintf(rel, sizeof rel, "%s/test_small.onnx", dir);
    net *n = shared_net(tu_shared(rel), sha);
    unsigned char pk[32];
    assert_int_equal(cert_pubkey_load(tu_shared("findings/k1.pub"), pk, &err), CN_OK);
    cert_check_in in = {.model = n, .model_sha256 = sha, .pubkey = pk};
    cert_report rep;
    size_t len;
    snprintf(rel, sizeof rel, "%s/inf_box_signed.cert", dir);
    char *bytes = shared_bytes(rel, &len);
    assert_int_equal(cert_check_mem(bytes, len, &in, &rep, &err), CN_OK);
    assert_false(rep.valid);
    assert_non_null(strstr(rep.why, "property.text: case 0: input X_0 has a bound beyond the "
                                    "largest double"));
    assert_int_equal(rep.stats.nodes, 0);
    cn_free(bytes);
    snprintf(rel, sizeof rel, "%s/inf_box_unsigned.cert", dir);
    bytes = shared_bytes(rel, &len);
    assert_int_equal(cert_check_mem(bytes, len, &in, &rep, &err), CN_OK);
    assert_false(rep.valid);
    assert_false(rep.parsed);
    assert_non_null(strstr(rep.why, "unsigned; nothing was parsed or re-proved"));
    in.allow_unsigned = true;
    assert_int_equal(cert_check_mem(bytes, len, &in, &rep, &err), CN_OK);
    assert_false(rep.valid);
    assert_non_null(strstr(rep.why, "refuses non-finite boxes"));
    cn_free(bytes);
    /* the tree checker on its own refuses it too */
    prop *p = parse("(declare-const X_0 Real)(declare-const Y_0 Real)(assert (>= X_0 1e400))"
                    "(assert (<= X_0 1e401))(assert (>= Y_0 100))");
    cert_bounds *b = cert_bounds_new(n, &err);
    cert_tree t;
    cert_tree_init(&t, 0);
    int d0 = 0;
    assert_int_equal(cert_tree_push(&t, CERT_LEAF, 0, 0, 1, &d0, &err), CN_OK);
    cert_stats st = {0, 0, 0, 0};
    bool valid = true;
    char why[400];
    assert_int_equal(cert_check_tree(b, p, &t, &valid, why, sizeof why, &st, &err), CN_OK);
    assert_false(valid);
    assert_non_null(strstr(why, "input X_0: its bounds lie beyond the largest double"));
    cert_tree_clear(&t);
    cert_bounds_free(b);
    prop_free(p);
    net_free(n);
}

/* F6: constants whose decimal expansion does not terminate are carried
 * exactly: "(/ P Q)" in the property text, which reads back as the same
 * property, and the certificate checks against that property. */
static void test_rational_constants(void **state)
{
    (void)state;
    problem pb;
    problem_init(&pb);
    prop *p = parse("(declare-const X_0 Real)(declare-const X_1 Real)(declare-const Y_0 Real)"
                    "(declare-const Y_1 Real)(assert (>= X_0 (/ -1 3)))(assert (<= X_0 1))"
                    "(assert (>= X_1 -1))(assert (<= X_1 (/ 5 7)))"
                    "(assert (<= (+ (* (/ 1 3) X_0) X_1) (/ 2 7)))"
                    "(assert (>= Y_0 (/ 1000 3)))");
    /* the writer alone: exact, and the same property back */
    char *buf = NULL;
    size_t blen = 0;
    FILE *f = open_memstream(&buf, &blen);
    bool exact = false;
    cn_err err;
    assert_int_equal(prop_write_vnnlib(p, f, &exact, &err), CN_OK);
    fclose(f);
    assert_true(exact);
    assert_non_null(strstr(buf, "(>= Y_0 (/ 1000 3))"));
    assert_non_null(strstr(buf, "(>= X_0 (/ -1 3))"));
    assert_non_null(strstr(buf, "(<= X_1 (/ 5 7))"));
    assert_non_null(strstr(buf, "(* (/ 1 3) X_0)"));
    prop *q = parse(buf);
    assert_true(prop_equal(p, q));
    prop_free(q);
    free(buf);
    /* a certificate with a one-leaf proof: y0 >= 1000/3 is far out of reach */
    cert_meta m;
    cert_doc *d = NULL;
    assert_int_equal(cert_doc_new(meta_for(&pb, p, &m), &d, &err), CN_OK);
    cert_tree t;
    cert_tree_init(&t, 0);
    int d0 = 0;
    assert_int_equal(cert_tree_push(&t, CERT_LEAF, 0, 0, 1, &d0, &err), CN_OK);
    cert_entry e = {.verdict = "unsat", .method = "bounds", .time_s = 0};
    assert_int_equal(cert_doc_add_proof(d, &e, 1, &t, &err), CN_OK);
    cert_key k;
    key_of(&k, 10);
    char *bytes = NULL;
    size_t len;
    assert_int_equal(cert_doc_bytes(d, &k, &bytes, &len, &err), CN_OK);
    assert_non_null(strstr(bytes, "(>= Y_0 (/ 1000 3))"));
    char zeros[65];
    memset(zeros, '0', 64);
    zeros[64] = '\0';
    cert_check_in in = {.model = pb.n, .model_sha256 = pb.sha, .pubkey = k.pk, .vnnlib = p,
                        .vnnlib_sha256 = zeros};
    cert_report rep;
    assert_int_equal(cert_check_mem(bytes, len, &in, &rep, &err), CN_OK);
    if (!rep.valid)
        fail_msg("%s", rep.why);
    assert_int_equal(rep.property, CERT_BIND_MATCHED);
    assert_int_equal(rep.n_proven, 1);
    cn_free(bytes);
    cert_tree_clear(&t);
    cert_doc_free(d);
    prop_free(p);
    problem_clear(&pb);
}

/* An unsigned certificate of n_leaves leaf nodes after a root leaf (not a
 * valid tree, but that must not matter: it is refused before). */
static char *big_unsigned(long n_leaves, size_t *len)
{
    static const char head[] =
        "{\"signed\":{\"format\":\"certnn-cert-1\",\"model\":{\"file\":\"m.onnx\",\"sha256\":"
        "\"aa\"},\"property\":{\"file\":\"p\",\"sha256\":\"00\",\"text\":\"\"},\"results\":[{"
        "\"method\":\"bounds\",\"proof\":[{\"case\":0,\"nodes\":[[\"l\",[0]]";
    static const char node[] = ",[\"l\",[0]]";
    static const char tail[] = "]}],\"time_s\":\"0\",\"verdict\":\"unsat\"}],\"tool\":\"t\"}}\n";
    size_t n = sizeof head - 1 + (size_t)n_leaves * (sizeof node - 1) + sizeof tail;
    char *b = malloc(n), *p = b;
    memcpy(p, head, sizeof head - 1);
    p += sizeof head - 1;
    for (long i = 0; i < n_leaves; i++, p += sizeof node - 1)
        memcpy(p, node, sizeof node - 1);
    memcpy(p, tail, sizeof tail);
    *len = n - 1;
    return b;
}

/* F8: size, signature policy and node limit before anything is parsed; the
 * depth limit and malformed trees before anything is re-proved. */
static void test_hostile_limits(void **state)
{
    (void)state;
    problem pb;
    problem_init(&pb);
    cn_err err;
    cert_report rep;
    size_t len;
    /* about 9 MB, a million nodes, unsigned */
    char *big = big_unsigned(1000000, &len);
    printf("# unsigned certificate of %zu bytes, 1000001 nodes\n", len);
    cert_key k;
    key_of(&k, 11);
    cert_check_in in = {.model = pb.n, .model_sha256 = pb.sha, .pubkey = k.pk};
    assert_int_equal(cert_check_mem(big, len, &in, &rep, &err), CN_OK);
    assert_false(rep.valid);
    assert_non_null(strstr(rep.why, "the certificate is unsigned; nothing was parsed or re-proved"));
    assert_false(rep.parsed);
    assert_int_equal(rep.n_nodes, 0);
    assert_int_equal(rep.stats.nodes, 0);
    assert_int_equal(rep.stats.bounded, 0);
    assert_false(cert_screen(big, len, &in, &rep));
    /* allowed, but over the node limit: counted in the bytes, not parsed */
    in.allow_unsigned = true;
    in.limits.max_nodes = 1000;
    assert_int_equal(cert_check_mem(big, len, &in, &rep, &err), CN_OK);
    assert_false(rep.valid);
    assert_non_null(strstr(rep.why, "the proof trees hold 1000001 nodes, more than the limit "
                                    "of 1000 (nothing was parsed"));
    assert_false(rep.parsed);
    assert_int_equal(rep.stats.nodes, 0);
    assert_true(cert_screen(big, len, &in, &rep));    /* the policy alone lets it through */
    /* over the size limit */
    in.limits.max_bytes = 1 << 20;
    assert_int_equal(cert_check_mem(big, len, &in, &rep, &err), CN_OK);
    assert_false(rep.valid);
    assert_non_null(strstr(rep.why, "more than the limit of 1048576 bytes"));
    assert_false(rep.parsed);
    free(big);

    /* a real proof deeper than the depth limit: refused after parsing, before
     * any node is re-proved */
    cert_tree t;
    make_proof(&pb, &t);
    size_t blen;
    char *bytes = unsat_cert(&pb, &t, &k, &blen);
    cert_check_in in2 = {.model = pb.n, .model_sha256 = pb.sha, .pubkey = k.pk};
    assert_int_equal(cert_check_mem(bytes, blen, &in2, &rep, &err), CN_OK);
    if (!rep.valid)
        fail_msg("%s", rep.why);
    assert_true(rep.stats.depth >= 2);
    int depth = rep.stats.depth;
    assert_int_equal(rep.n_nodes, t.n_nodes);
    in2.limits.max_depth = depth - 1;
    assert_int_equal(cert_check_mem(bytes, blen, &in2, &rep, &err), CN_OK);
    assert_false(rep.valid);
    assert_non_null(strstr(rep.why, "splits (depth limit"));
    assert_true(rep.parsed);
    assert_int_equal(rep.stats.nodes, 0);
    in2.limits.max_depth = depth;
    assert_int_equal(cert_check_mem(bytes, blen, &in2, &rep, &err), CN_OK);
    assert_true(rep.valid);
    /* the exact node limit, after parsing */
    in2.limits.max_nodes = t.n_nodes - 1;
    assert_int_equal(cert_check_mem(bytes, blen, &in2, &rep, &err), CN_OK);
    assert_false(rep.valid);
    assert_non_null(strstr(rep.why, "more than"));
    assert_int_equal(rep.stats.nodes, 0);
    cn_free(bytes);
    cert_tree_clear(&t);

    /* a leaf listing 5000 refutations of a 2-disjunct case: refused at once
     * (no quadratic duplicate search) */
    cert_tree_init(&t, 0);
    int *refs = calloc(5000, sizeof(int));
    assert_int_equal(cert_tree_push(&t, CERT_LEAF, 0, 0, 5000, refs, &err), CN_OK);
    free(refs);
    bytes = unsat_cert(&pb, &t, &k, &blen);
    assert_invalid_with(&pb, bytes, blen, k.pk, "5000 refutations, the case has 2 disjuncts");
    cn_free(bytes);
    cert_tree_clear(&t);
    problem_clear(&pb);
}

/* ---- out of memory -------------------------------------------------------------- */

static void test_oom(void **state)
{
    (void)state;
    problem pb;
    problem_init(&pb);
    cert_tree t;
    make_proof(&pb, &t);
    cert_key k;
    key_of(&k, 8);
    size_t len;
    char *bytes = unsat_cert(&pb, &t, &k, &len);
    cert_check_in in = {.model = pb.n, .model_sha256 = pb.sha, .pubkey = k.pk};
    long failures = 0, misreported = 0;
    for (long f = 1;; f++) {
        long live = cn_alloc_live();
        cert_report rep;
        cn_err err;
        cn_alloc_fail_after(f);
        cn_status s = cert_check_mem(bytes, len, &in, &rep, &err);
        cn_alloc_fail_after(0);
        assert_int_equal(cn_alloc_live(), live);
        assert_true(f < 100000);
        if (s == CN_OK && rep.valid)
            break;                       /* no allocation failed: done */
        if (s == CN_OK) {
            /* jansson 2.14 does not report every failed allocation: its
             * parser may call it a syntax error, its lexer and its printer
             * may drop characters (then the canonical form or the signed
             * bytes differ).  The certificate is then rejected (safe),
             * never accepted; every other failure must be CN_ENOMEM. */
            if (!strstr(rep.why, "not a JSON document") && !strstr(rep.why, "canonical form") &&
                !strstr(rep.why, "signature: does not verify"))
                fail_msg("allocation %ld failed and the certificate was judged: %s", f, rep.why);
            misreported++;
            continue;
        }
        assert_int_equal(s, CN_ENOMEM);
        failures++;
    }
    printf("# %ld allocation failures returned CN_ENOMEM, %ld (inside jansson) a rejection\n",
           failures, misreported);
    assert_true(failures > 10);
    cn_free(bytes);
    cert_tree_clear(&t);
    problem_clear(&pb);
}

/* ---- the checker's bounds on a net with an enclosure (finding F1) --------
 * A layer whose W, b only enclose the file's values (models.h, net_layer:
 * wrel, wabs, brad) stands for every network with W* = W + t (wrel |W| +
 * wabs), b* = b + s brad, t, s in [-1, 1].  The checker's bounds must hold
 * for each of them. */

/* Exact forward pass (as exact_forward) through the network of n's
 * enclosure given by mode: 0 / 1 the corners t = s = -1 / +1, 2 / 3 every
 * neuron pushed down / up at this point (t_ok = -+sign(z_k), s = -+1),
 * 4 t, s pseudo-random per entry (the same at every point). */
static void encl_forward(const net *n, int mode, const double *x, mpq_t *pre, mpq_t *y)
{
    int w = net_max_width(n), nr = 0;
    mpq_t *z = q_array(w), *t = q_array(w), p, rad;
    mpq_inits(p, rad, NULL);
    for (int j = 0; j < net_in_size(n); j++)
        mpq_set_d(z[j], x[j]);
    for (int k = 0; k < net_n_layers(n); k++) {
        const net_layer *l = net_layer_at(n, k);
        if (l->op == NET_RELU) {
            for (int j = 0; j < l->in; j++) {
                mpq_set(pre[nr++], z[j]);
                if (mpq_sgn(z[j]) < 0)
                    mpq_set_ui(z[j], 0, 1);
            }
            continue;
        }
        for (int o = 0; o < l->out; o++) {
            tu_rng h = {0x5eed ^ ((uint64_t)k << 32) ^ (uint64_t)o};
            double s = mode == 4 ? 2 * tu_unif(&h) - 1 : mode % 2 ? 1.0 : -1.0;
            mpq_set_d(t[o], l->b[o]);
            mpq_set_d(p, l->brad ? l->brad[o] : 0.0);
            mpq_set_d(rad, s);
            mpq_mul(p, p, rad);
            mpq_add(t[o], t[o], p);
            for (int j = 0; j < l->in; j++) {
                double wv = l->W[(size_t)o * l->in + j];
                double tt = mode == 4 ? 2 * tu_unif(&h) - 1 : mode < 2 ? s : s * mpq_sgn(z[j]);
                mpq_set_d(rad, l->wrel);
                mpq_set_d(p, fabs(wv));
                mpq_mul(rad, rad, p);
                mpq_set_d(p, l->wabs);
                mpq_add(rad, rad, p);
                mpq_set_d(p, tt);
                mpq_mul(rad, rad, p);
                mpq_set_d(p, wv);
                mpq_add(p, p, rad);
                mpq_mul(p, p, z[j]);
                mpq_add(t[o], t[o], p);
            }
        }
        for (int o = 0; o < l->out; o++)
            mpq_set(z[o], t[o]);
    }
    for (int j = 0; j < net_out_size(n); j++)
        mpq_set(y[j], z[j]);
    mpq_clears(p, rad, NULL);
    q_free(z, w);
    q_free(t, w);
}

/* Random dense nets with random radii (wrel 10^U(-6,-3) or 0, wabs
 * 10^U(-7,-4) or 0, brad 10^U(-6,-3) or NULL; every output of the last
 * layer has a bias radius), random boxes and splits: cert_bounds_row and
 * the output intervals contain c . y and y of five networks of the
 * enclosure at every sampled point meeting the splits (none when the
 * region is called empty), and lie below / outside those of the same net
 * without the enclosure (interval bounds widen by brad at least; the
 * adaptive lower slope can make a wider region's linear bound tighter, so
 * 90% of the rows). */
static void test_bounds_enclosure(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("test_bounds_enclosure", 1207)};
    int confirmed = 0, compared = 0, wider_lb = 0, wider_y = 0;
    for (int trial = 0; trial < 40; trial++) {
        tu_rng r2 = r;
        net *ne = random_net(&r, 3, 6, 5, 3), *nn = random_net(&r2, 3, 6, 5, 3);
        for (int k = 0; k < net_n_layers(ne); k++) {
            net_layer *l = (net_layer *)net_layer_at(ne, k); /* the test's own net */
            if (l->op == NET_RELU)
                continue;
            bool last = k + 1 == net_n_layers(ne);
            l->wrel = tu_unif(&r) < 0.8 ? pow(10.0, -6 + 3 * tu_unif(&r)) : 0.0;
            l->wabs = tu_unif(&r) < 0.5 ? pow(10.0, -7 + 3 * tu_unif(&r)) : 0.0;
            if (last || tu_unif(&r) < 0.6) {
                assert_non_null(l->brad = cn_calloc((size_t)l->out, sizeof(double)));
                for (int o = 0; o < l->out; o++)
                    l->brad[o] = last || tu_unif(&r) < 0.8 ? pow(10.0, -6 + 3 * tu_unif(&r)) : 0.0;
            }
        }
        cn_err err;
        cert_bounds *be = cert_bounds_new(ne, &err), *bn = cert_bounds_new(nn, &err);
        assert_non_null(be);
        assert_non_null(bn);
        int nr = net_n_relus(ne);
        mpq_t *pre = q_array(nr), *y = q_array(3), v, t, q;
        mpq_inits(v, t, q, NULL);
        for (int rep = 0; rep < 6; rep++) {
            double lo[3], hi[3], c[3], x[3];
            signed char split[11] = {0};
            for (int j = 0; j < 3; j++) {
                double a = 2 * tu_unif(&r) - 1, w = 0.05 + 0.6 * tu_unif(&r);
                lo[j] = a;
                hi[j] = a + w;
                c[j] = rnd_w(&r);
            }
            for (int k = 0; k < nr && rep % 2; k++)
                split[k] = tu_unif(&r) < 0.15 ? (tu_unif(&r) < 0.5 ? 1 : -1) : 0;
            cert_region rg = cert_bounds_region(be, lo, hi, split);
            assert_int_not_equal(rg, CERT_REGION_BLOWN);
            double lb = INFINITY;
            const double *ylo = NULL, *yhi = NULL;
            if (rg == CERT_REGION_OK) {
                lb = cert_bounds_row(be, c);
                cert_bounds_output(be, &ylo, &yhi);
                if (cert_bounds_region(bn, lo, hi, split) == CERT_REGION_OK) {
                    const double *nlo, *nhi;
                    double lbn = cert_bounds_row(bn, c);
                    cert_bounds_output(bn, &nlo, &nhi);
                    compared++;
                    wider_lb += lb < lbn;
                    bool all = true;
                    for (int j = 0; j < 3; j++)
                        all &= ylo[j] < nlo[j] && yhi[j] > nhi[j];
                    wider_y += all;
                }
            }
            for (int s = 0; s < 48; s++) {
                for (int j = 0; j < 3; j++)
                    x[j] = s < 8 ? ((s >> j) & 1 ? hi[j] : lo[j])
                                 : lo[j] + (hi[j] - lo[j]) * tu_unif(&r);
                for (int mode = 0; mode < 5; mode++) {
                    encl_forward(ne, mode, x, pre, y);
                    bool in = true;
                    for (int k = 0; k < nr; k++)
                        if ((split[k] > 0 && mpq_sgn(pre[k]) < 0) ||
                            (split[k] < 0 && mpq_sgn(pre[k]) > 0))
                            in = false;
                    if (!in)
                        continue;
                    if (rg == CERT_REGION_EMPTY)
                        fail_msg("trial %d: region called empty, but network %d meets the splits",
                                 trial, mode);
                    mpq_set_ui(v, 0, 1);
                    for (int j = 0; j < 3; j++) {
                        mpq_set_d(t, c[j]);
                        mpq_mul(t, t, y[j]);
                        mpq_add(v, v, t);
                        mpq_set_d(q, ylo[j]);
                        mpq_set_d(t, yhi[j]);
                        if (mpq_cmp(q, y[j]) > 0 || mpq_cmp(y[j], t) > 0)
                            fail_msg("trial %d, network %d: y_%d = %a outside [%a, %a]", trial,
                                     mode, j, mpq_get_d(y[j]), ylo[j], yhi[j]);
                    }
                    mpq_set_d(q, lb);
                    if (mpq_cmp(q, v) > 0)
                        fail_msg("trial %d, network %d: lower bound %a > exact value %a", trial,
                                 mode, lb, mpq_get_d(v));
                    confirmed++;
                }
            }
        }
        mpq_clears(v, t, q, NULL);
        q_free(pre, nr);
        q_free(y, 3);
        cert_bounds_free(be);
        cert_bounds_free(bn);
        net_free(ne);
        net_free(nn);
    }
    printf("# %d (point, network) pairs confirmed; of %d regions compared, lower bound below "
           "the nominal net's in %d, every output interval strictly wider in %d\n",
           confirmed, compared, wider_lb, wider_y);
    assert_true(confirmed > 40 * 6 * 20);
    assert_true(compared > 100);
    assert_true(wider_lb >= compared * 9 / 10);
    assert_true(wider_y >= compared * 9 / 10);
}

int main(void)
{
    /* jansson allocates through the counted allocator, so that the
     * out-of-memory loop reaches its allocations too */
    json_set_alloc_funcs(cn_malloc, cn_free);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_bounds_sound),
        cmocka_unit_test(test_proof_valid),
        cmocka_unit_test(test_flip_every_byte),
        cmocka_unit_test(test_other_key_and_model),
        cmocka_unit_test(test_tampered_proofs),
        cmocka_unit_test(test_relu_splits),
        cmocka_unit_test(test_counterexample),
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_keygen),
        cmocka_unit_test(test_property_bound),
        cmocka_unit_test(test_sweep_samples_bound),
        cmocka_unit_test(test_infinite_box),
        cmocka_unit_test(test_rational_constants),
        cmocka_unit_test(test_hostile_limits),
        cmocka_unit_test(test_oom),
        cmocka_unit_test(test_bounds_enclosure),
    };
    return cmocka_run_group_tests_name("certs", tests, NULL, NULL);
}

/* test_certs.c — certificates (certs/): the checker's bounds against exact
 * evaluation, golden canonical bytes, proofs built here by a small branch
 * and bound, and tamper tests (every byte, hashes, proofs, counterexamples,
 * keys), plus an out-of-memory loop; hostile certificates and nets with an
 * enclosure: test_certs_hostile.c.  Links certs and models only. */
#include "config.h"

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "certs/certs.h"
#include "tests/certfix.h"
#include "tests/netgen.h"
#include "tests/testutil.h"

/* Ed25519 is deterministic: the golden certificate's signature (key from
 * seed 0x07..07) is fixed too. */
#define GOLDEN_SIGNATURE                                                             \
    "\"a6872a9f12c734580be1308a3c2ccaf0b4b73e3f3f9c3b5ef20effde3216e6ca259c97a528ff12a9ce9" \
    "3451228f3f391adde2ba7a570962a4d68b7ffd27e7c0e\""

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
        mpq_t *pre = qv(nr), *y = qv(3), lbq, v, t;
        mpq_inits(lbq, v, t, NULL);
        for (int rep = 0; rep < 8; rep++) {
            double lo[3], hi[3], c[3], x[3];
            signed char split[11];
            for (int j = 0; j < 3; j++) {
                double a = 2 * tu_unif(&r) - 1, w = 0.05 + 0.6 * tu_unif(&r);
                lo[j] = a;
                hi[j] = a + w;
                c[j] = draw_f32(&r, false, 0);
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
                exact_forward(n, NULL, x, pre, y);
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
        qv_free(pre, nr);
        qv_free(y, 3);
        cert_bounds_free(b);
        net_free(n);
    }
    printf("# %d points inside their regions confirmed, %d empty regions\n", confirmed, empty_seen);
    assert_true(confirmed > 1000);
}

/* ---- slopes: the ALPHA spelling (certs.h section 1) ----------------------- */

static void test_alpha_spelling(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("test_alpha_spelling", 3)};
    unsigned char q[64], back[64];
    char why[200];
    int forms[3] = {0, 0, 0};
    for (int trial = 0; trial < 3000; trial++) {
        int n = (int)(tu_next(&r) % 41);
        int mode = (int)(tu_next(&r) % 5);   /* all default, none, mixed, runs at the ends */
        double pd = mode == 0 ? 1.0 : mode == 1 ? 0.0 : tu_unif(&r);
        for (int j = 0; j < n; j++)
            q[j] = tu_unif(&r) < pd ? CERT_ALPHA_DEFAULT
                                    : (unsigned char)(tu_next(&r) % (CERT_ALPHA_DEN + 1));
        if (mode == 3 && n > 0)
            q[0] = q[n - 1] = CERT_ALPHA_DEFAULT;
        if (mode == 4 && n > 1) {
            q[0] = 0;
            q[n - 1] = CERT_ALPHA_DEN;
        }
        int n_def = 0;
        for (int j = 0; j < n; j++)
            n_def += q[j] == CERT_ALPHA_DEFAULT;
        char *sp = cert_alpha_string(q, n);
        assert_non_null(sp);
        /* the form: "" / dense / runs */
        if (n_def == n)
            assert_string_equal(sp, "");
        else if (n_def == 0)
            assert_int_equal(strlen(sp), 2 * (size_t)n);
        else
            assert_non_null(strchr(sp, ':'));
        forms[n_def == n ? 0 : n_def == 0 ? 1 : 2]++;
        memset(back, 0x5a, sizeof back);
        if (!cert_alpha_parse(sp, n, back, why, sizeof why))
            fail_msg("n = %d: \"%s\" refused: %s", n, sp, why);
        assert_memory_equal(back, q, (size_t)n);
        /* one spelling: the list read back spells the same string, and a
         * list without defaults spelt as one run is refused */
        char *again = cert_alpha_string(back, n);
        assert_string_equal(again, sp);
        cn_free(again);
        if (n_def == 0 && n > 0) {
            char *sparse = cn_mallocarray(strlen(sp) + 3, 1);
            snprintf(sparse, strlen(sp) + 3, "0:%s", sp);
            assert_false(cert_alpha_parse(sparse, n, back, why, sizeof why));
            assert_non_null(strstr(why, "no slope is the default"));
            cn_free(sparse);
        }
        if (strchr(sp, ':')) {       /* the first skip with a leading zero */
            char *padded = cn_mallocarray(strlen(sp) + 2, 1);
            snprintf(padded, strlen(sp) + 2, "0%s", sp);
            assert_false(cert_alpha_parse(padded, n, back, why, sizeof why));
            assert_non_null(strstr(why, "leading zeros"));
            cn_free(padded);
        }
        cn_free(sp);
    }
    printf("# spellings: %d all default, %d dense, %d runs\n", forms[0], forms[1], forms[2]);
    assert_true(forms[0] > 100 && forms[1] > 100 && forms[2] > 1000);
    /* the spelling of a few lists, exactly */
    unsigned char a[6] = {CERT_ALPHA_DEFAULT, 0x80, 0x00, CERT_ALPHA_DEFAULT, CERT_ALPHA_DEFAULT,
                          0x40};
    char *sp = cert_alpha_string(a, 6);
    assert_string_equal(sp, "1:8000,2:40");
    cn_free(sp);
    a[5] = CERT_ALPHA_DEFAULT;
    a[0] = 0x01;
    sp = cert_alpha_string(a, 6);
    assert_string_equal(sp, "0:018000");
    cn_free(sp);
    /* malformed spellings of 5 values, each refused with its reason */
    static const struct {
        const char *s, *why;
    } bad[] = {
        {"1:80,0:80", "skips 0 ReLUs"},
        {"01:80", "leading zeros"},
        {"1:81", "slope of ReLU 1 is 129/128, above 1"},
        {"1:ff", "slope of ReLU 1 is 255/128, above 1"},
        {"8080808081", "slope of ReLU 4 is 129/128, above 1"},
        {"80808080ff", "above 1"},
        {"4:8080", "slopes past the last ReLU"},
        {"1:80,3:80", "slopes past the last ReLU"},
        {"6:80", "skips past the last ReLU"},
        {"99999999999:80", "expected SKIP:HEX"},
        {"0:8080808080", "no slope is the default"},
        {"1:8g", "lowercase hex"},
        {"1:8A", "lowercase hex"},
        {"1:8", "lowercase hex"},
        {"1:", "lowercase hex"},
        {"1:80,", "expected SKIP:HEX"},
        {",1:80", "expected SKIP:HEX"},
        {"1:80 ", "lowercase hex"},
        {":80", "expected SKIP:HEX"},
        {"-1:80", "expected SKIP:HEX"},
        {"80808080", "8 hex digits for 5 ReLUs"},
        {"808080808080", "12 hex digits for 5 ReLUs"},
        {"8080808A80", "slope of ReLU 3 is not 2 lowercase hex digits"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (cert_alpha_parse(bad[i].s, 5, back, why, sizeof why))
            fail_msg("\"%s\" accepted", bad[i].s);
        if (!strstr(why, bad[i].why))
            fail_msg("\"%s\": '%s' does not say '%s'", bad[i].s, why, bad[i].why);
    }
    assert_true(cert_alpha_parse("", 0, back, why, sizeof why));
    assert_false(cert_alpha_parse("80", 0, back, why, sizeof why));
    assert_false(cert_alpha_parse("0:80", 0, back, why, sizeof why));
}

/* The first global ReLU index of each ReLU layer of n (off [layers]). */
static void relu_offsets(const net *n, int *off)
{
    int at = 0;
    for (int i = 0; i < net_n_layers(n); i++) {
        off[i] = at;
        if (net_layer_at(n, i)->op == NET_RELU)
            at += net_layer_at(n, i)->in;
    }
}

/* Slopes the default where they cannot change the bound, as the search
 * stores them: ReLU layers >= below, the ReLUs the region's bounds (after
 * the splits) make stable, and slopes equal to the default there (0, or 1
 * when u >= -l). */
static void default_where_irrelevant(const cert_bounds *b, const net *n, const int *off,
                                     int below, unsigned char *q)
{
    for (int i = 0; i < net_n_layers(n); i++) {
        if (net_layer_at(n, i)->op != NET_RELU)
            continue;
        const double *lo, *hi;
        cert_bounds_layer(b, i, &lo, &hi);
        for (int j = 0; j < net_layer_at(n, i)->in; j++)
            if (i >= below || lo[j] >= 0.0 || hi[j] <= 0.0 ||
                q[off[i] + j] == (hi[j] >= -lo[j] ? CERT_ALPHA_DEN : 0))
                q[off[i] + j] = CERT_ALPHA_DEFAULT;
    }
}

/* The same value, bit for bit but for a zero's sign (a stored 0 or 1 adds
 * a rounding term of -0 that the default does not). */
static void assert_same_bound(double a, double b)
{
    if (!(a == 0.0 && b == 0.0))
        assert_memory_equal(&a, &b, sizeof a);
}

/* The checker's bounds with slopes left to the default where they cannot
 * matter are those with every slope stored (refutations and root claims);
 * with defaults anywhere they are still lower bounds. */
static void test_alpha_defaults_bounds(void **state)
{
    (void)state;
    tu_rng r = {tu_seed("test_alpha_defaults_bounds", 5)};
    int same = 0, defaults = 0, confirmed = 0;
    for (int trial = 0; trial < 40; trial++) {
        net *n = random_net(&r, 3, 6, 5, 3);
        cn_err err;
        cert_bounds *b = cert_bounds_new(n, &err);
        assert_non_null(b);
        int nr = net_n_relus(n), off[16];
        assert_true(net_n_layers(n) <= 16);
        relu_offsets(n, off);
        mpq_t *pre = qv(nr), *y = qv(3), lbq, v, t;
        mpq_inits(lbq, v, t, NULL);
        unsigned char q[11], qd[11], qr[11];
        for (int rep = 0; rep < 8; rep++) {
            double lo[3], hi[3], c[3], x[3];
            signed char split[11];
            for (int j = 0; j < 3; j++) {
                double a = 2 * tu_unif(&r) - 1, w = 0.05 + 0.6 * tu_unif(&r);
                lo[j] = a;
                hi[j] = a + w;
                c[j] = draw_f32(&r, false, 0);
            }
            for (int k = 0; k < nr; k++) {
                split[k] = tu_unif(&r) < 0.15 ? (tu_unif(&r) < 0.5 ? 1 : -1) : 0;
                int pick = (int)(tu_next(&r) % 4);  /* the ends of [0, 1] often */
                q[k] = pick == 0   ? 0
                       : pick == 1 ? CERT_ALPHA_DEN
                                   : (unsigned char)(tu_next(&r) % (CERT_ALPHA_DEN + 1));
                qr[k] = tu_unif(&r) < 0.5 ? CERT_ALPHA_DEFAULT : q[k];
            }
            if (cert_bounds_region(b, lo, hi, split) != CERT_REGION_OK)
                continue;
            memcpy(qd, q, sizeof q);
            default_where_irrelevant(b, n, off, net_n_layers(n), qd);
            for (int k = 0; k < nr; k++)
                defaults += qd[k] == CERT_ALPHA_DEFAULT;
            /* the spelling in between, as a certificate carries it */
            char *sp = cert_alpha_string(qd, nr), why[200];
            unsigned char qp[11];
            assert_true(cert_alpha_parse(sp, nr, qp, why, sizeof why));
            cn_free(sp);
            cert_par pd = {.kind = CERT_PAR_AB, .n_alpha = nr, .alpha = q},
                     ps = {.kind = CERT_PAR_AB, .n_alpha = nr, .alpha = qp},
                     pr = {.kind = CERT_PAR_AB, .n_alpha = nr, .alpha = qr};
            double l_dense = cert_bounds_row_ab(b, c, &pd, split),
                   l_sparse = cert_bounds_row_ab(b, c, &ps, split),
                   l_rand = cert_bounds_row_ab(b, c, &pr, split);
            assert_same_bound(l_dense, l_sparse);
            same++;
            /* root claims (no splits): each ReLU layer's input rows */
            if (cert_bounds_region(b, lo, hi, NULL) == CERT_REGION_OK)
                for (int li = 1; li < net_n_layers(n); li++) {
                    if (net_layer_at(n, li)->op != NET_RELU)
                        continue;
                    memcpy(qd, q, sizeof q);
                    default_where_irrelevant(b, n, off, li, qd);
                    for (int j = 0; j < net_layer_at(n, li)->in; j++)
                        for (int sg = -1; sg <= 1; sg += 2) {
                            double cd = cert_bounds_claim(b, li, j, sg, q),
                                   cs = cert_bounds_claim(b, li, j, sg, qd);
                            assert_same_bound(cd, cs);
                            same++;
                        }
                }
            assert_int_equal(cert_bounds_region(b, lo, hi, split), CERT_REGION_OK);
            /* defaults anywhere: still a lower bound at points of the region */
            for (int s = 0; s < 20; s++) {
                for (int j = 0; j < 3; j++)
                    x[j] = lo[j] + (hi[j] - lo[j]) * tu_unif(&r);
                exact_forward(n, NULL, x, pre, y);
                bool in = true;
                for (int k = 0; k < nr; k++)
                    if ((split[k] > 0 && mpq_sgn(pre[k]) < 0) || (split[k] < 0 && mpq_sgn(pre[k]) > 0))
                        in = false;
                if (!in)
                    continue;
                mpq_set_ui(v, 0, 1);
                for (int j = 0; j < 3; j++) {
                    mpq_set_d(t, c[j]);
                    mpq_mul(t, t, y[j]);
                    mpq_add(v, v, t);
                }
                mpq_set_d(lbq, l_rand);
                if (mpq_cmp(lbq, v) > 0)
                    fail_msg("trial %d: lower bound %a with default slopes > exact value %a",
                             trial, l_rand, mpq_get_d(v));
                confirmed++;
            }
        }
        mpq_clears(lbq, v, t, NULL);
        qv_free(pre, nr);
        qv_free(y, 3);
        cert_bounds_free(b);
        net_free(n);
    }
    printf("# %d bounds the same (%d slopes left to the default), %d points "
           "confirmed\n", same, defaults, confirmed);
    assert_true(same > 500 && defaults > 100 && confirmed > 500);
}

/* ---- a small problem with a real proof (certfix.h) ------------------------ */

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
    signed_proof_clear(&pb, &t, bytes);
}

/* Flipping any single byte of a signed certificate is detected. */
static void test_flip_every_byte(void **state)
{
    (void)state;
    problem pb;
    cert_tree t;
    cert_key k;
    size_t len;
    char *bytes = signed_proof(&pb, &t, &k, 2, &len);
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
    signed_proof_clear(&pb, &t, bytes);
}

static void test_other_key_and_model(void **state)
{
    (void)state;
    problem pb;
    cert_tree t;
    cert_key k1, k2;
    key_of(&k1, 3);
    size_t len;
    char *bytes = signed_proof(&pb, &t, &k2, 4, &len);
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
    signed_proof_clear(&pb, &t, bytes);
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
        mpq_t *z = qv(2);
        assert_int_equal(prop_check_point(pb->sat, pb->n, z, &real, &err), CN_OK);
        assert_true(real.violated);
        assert_int_equal(cert_doc_add_cex(d, &e, 2, x, &real, &err), CN_OK);
        prop_check_clear(&real);
        qv_free(z, 2);
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
    mpq_t *x = qv(2);
    size_t len;
    char *bytes = sat_cert(&pb, x, &k, &len);   /* x = (0, 0) */
    cert_check_in in = check_in(&pb, k.pk);
    cert_report rep;
    cn_err err;
    assert_accepts(bytes, len, &in, &rep);
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
    mpq_t *y = qv(2);
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
    qv_free(y, 2);
    qv_free(x, 2);
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
    mpq_t *x = qv(2), eps, lo, hi;
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
    assert_accepts(bytes, len, &in, &rep);
    assert_int_equal(rep.n_proven, 1);
    assert_int_equal(rep.n_cex, 1);
    cn_free(bytes);
    prop_check_clear(&chk);
    prop_free(p);
    mpq_clears(eps, lo, hi, NULL);
    qv_free(x, 2);
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

/* ---- out of memory -------------------------------------------------------------- */

static void test_oom(void **state)
{
    (void)state;
    problem pb;
    cert_tree t;
    cert_key k;
    size_t len;
    char *bytes = signed_proof(&pb, &t, &k, 8, &len);
    cert_check_in in = check_in(&pb, k.pk);
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
    signed_proof_clear(&pb, &t, bytes);
}

int main(void)
{
    /* jansson allocates through the counted allocator, so that the
     * out-of-memory loop reaches its allocations too */
    json_set_alloc_funcs(cn_malloc, cn_free);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_bounds_sound),
        cmocka_unit_test(test_alpha_spelling),
        cmocka_unit_test(test_alpha_defaults_bounds),
        cmocka_unit_test(test_proof_valid),
        cmocka_unit_test(test_flip_every_byte),
        cmocka_unit_test(test_other_key_and_model),
        cmocka_unit_test(test_tampered_proofs),
        cmocka_unit_test(test_relu_splits),
        cmocka_unit_test(test_counterexample),
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_keygen),
        cmocka_unit_test(test_oom),
    };
    return cmocka_run_group_tests_name("certs", tests, NULL, NULL);
}

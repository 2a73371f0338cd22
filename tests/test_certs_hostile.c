/* test_certs_hostile.c — certificates against a hostile or careless writer
 * (review findings F2, F4, F6, F8: the property and sweep tied to their
 * files, infinite boxes, rational constants, size limits), and the
 * checker's bounds on nets with an enclosure (finding F1).  Fixtures:
 * certfix.h.  Links certs and models only. */
#include "config.h"

#include <math.h>

#include <jansson.h>

#include "certs/certs.h"
#include "tests/certfix.h"
#include "tests/exact.h"
#include "tests/netgen.h"
#include "tests/testutil.h"

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
    cert_tree t;
    cert_key k;
    size_t len;
    char *bytes = signed_proof(&pb, &t, &k, 9, &len);
    char zeros[65];
    memset(zeros, '0', 64);
    zeros[64] = '\0';
    cert_check_in in = check_in(&pb, k.pk);
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
    assert_accepts(bytes, len, &in, &rep);
    assert_int_equal(rep.property, CERT_BIND_MATCHED);
    /* a file with the right hash but another property: the F2 forgery */
    in.vnnlib = pb.sat;
    assert_rejects(bytes, len, &in, &rep, "property.text: the property that was proven is not the "
                                          "property of p.vnnlib");
    assert_int_equal(rep.stats.nodes, 0);            /* refused before any re-proof */
    /* another file (hash) */
    in.vnnlib = pb.unsat;
    zeros[3] = '1';
    assert_rejects(bytes, len, &in, &rep, "property.sha256: SHA-256 differs");
    signed_proof_clear(&pb, &t, bytes);

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
    assert_rejects(bytes, len, &fin, &rep, "property.text: the property that was proven is not the "
                                           "property of test_prop.vnnlib");
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
    assert_accepts(bytes, len, &in, &rep);
    assert_int_equal(rep.data, CERT_BIND_UNMATCHED);  /* valid for the embedded samples only */
    assert_int_equal(rep.property, CERT_BIND_NONE);
    in.data = &ds;
    in.data_sha256 = dsha;
    in.data_path = "t10k";
    assert_rejects(bytes, len, &in, &rep,
                   "results[0].label: sample 9999 has label 5 in the data file t10k, the "
                   "certificate says 9");
    assert_int_equal(rep.stats.nodes, 0);            /* all samples before any re-proof */
    /* same label, other pixels */
    ds.labels[9999] = 9;
    assert_rejects(bytes, len, &in, &rep,
                   "results[0].pixels: sample 9999 differs from the data file");
    /* and a data file too short for index 9999 */
    ds.n = 10;
    assert_rejects(bytes, len, &in, &rep, "results[0].index: sample 9999 is not in the data file");
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
    assert_rejects(bytes, len, &in, &rep, "property.text: case 0: input X_0 has a bound beyond the "
                                          "largest double");
    assert_int_equal(rep.stats.nodes, 0);
    cn_free(bytes);
    snprintf(rel, sizeof rel, "%s/inf_box_unsigned.cert", dir);
    bytes = shared_bytes(rel, &len);
    assert_int_equal(cert_check_mem(bytes, len, &in, &rep, &err), CN_OK);
    assert_false(rep.valid);
    assert_false(rep.parsed);
    assert_non_null(strstr(rep.why, "unsigned; nothing was parsed or re-proved"));
    in.allow_unsigned = true;
    assert_rejects(bytes, len, &in, &rep, "refuses non-finite boxes");
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
    cert_check_in in = check_in(&pb, k.pk);
    in.vnnlib = p;
    in.vnnlib_sha256 = zeros;
    cert_report rep;
    assert_accepts(bytes, len, &in, &rep);
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
    cert_check_in in = check_in(&pb, k.pk);
    assert_rejects(big, len, &in, &rep,
                   "the certificate is unsigned; nothing was parsed or re-proved");
    assert_false(rep.parsed);
    assert_int_equal(rep.n_nodes, 0);
    assert_int_equal(rep.stats.nodes, 0);
    assert_int_equal(rep.stats.bounded, 0);
    assert_false(cert_screen(big, len, &in, &rep));
    /* allowed, but over the node limit: counted in the bytes, not parsed */
    in.allow_unsigned = true;
    in.limits.max_nodes = 1000;
    assert_rejects(big, len, &in, &rep, "the proof trees hold 1000001 nodes, more than the limit "
                                        "of 1000 (nothing was parsed");
    assert_false(rep.parsed);
    assert_int_equal(rep.stats.nodes, 0);
    assert_true(cert_screen(big, len, &in, &rep));    /* the policy alone lets it through */
    /* over the size limit */
    in.limits.max_bytes = 1 << 20;
    assert_rejects(big, len, &in, &rep, "more than the limit of 1048576 bytes");
    assert_false(rep.parsed);
    free(big);

    /* a real proof deeper than the depth limit: refused after parsing, before
     * any node is re-proved */
    cert_tree t;
    make_proof(&pb, &t);
    size_t blen;
    char *bytes = unsat_cert(&pb, &t, &k, &blen);
    cert_check_in in2 = check_in(&pb, k.pk);
    assert_accepts(bytes, blen, &in2, &rep);
    assert_true(rep.stats.depth >= 2);
    int depth = rep.stats.depth;
    assert_int_equal(rep.n_nodes, t.n_nodes);
    in2.limits.max_depth = depth - 1;
    assert_rejects(bytes, blen, &in2, &rep, "splits (depth limit");
    assert_true(rep.parsed);
    assert_int_equal(rep.stats.nodes, 0);
    in2.limits.max_depth = depth;
    assert_int_equal(cert_check_mem(bytes, blen, &in2, &rep, &err), CN_OK);
    assert_true(rep.valid);
    /* the exact node limit, after parsing */
    in2.limits.max_nodes = t.n_nodes - 1;
    assert_rejects(bytes, blen, &in2, &rep, "more than");
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
    signed_proof_clear(&pb, &t, bytes);
}

/* ---- the checker's bounds on a net with an enclosure (finding F1) --------
 * A layer whose W, b only enclose the file's values (models.h, net_layer:
 * wrel, wabs, brad) stands for every network with W* = W + t (wrel |W| +
 * wabs), b* = b + s brad, t, s in [-1, 1].  The checker's bounds must hold
 * for each of them. */

/* The networks of the enclosure checked (exact.h, pert): the corners
 * t = s = -1 / +1, every neuron pushed down / up at the point
 * (t_ok = -+sign(z_k), s = -+1), t and s pseudo-random per entry. */
static const pert perts[] = {{PT_CORNER, -1, 0}, {PT_CORNER, 1, 0}, {PT_PUSH, -1, 0},
                             {PT_PUSH, 1, 0},    {PT_RANDOM, 0, 0x5eed}};
#define N_PERTS ((int)(sizeof perts / sizeof perts[0]))

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
        mpq_t *pre = qv(nr), *y = qv(3), v, t, q;
        mpq_inits(v, t, q, NULL);
        for (int rep = 0; rep < 6; rep++) {
            double lo[3], hi[3], c[3], x[3];
            signed char split[11] = {0};
            for (int j = 0; j < 3; j++) {
                double a = 2 * tu_unif(&r) - 1, w = 0.05 + 0.6 * tu_unif(&r);
                lo[j] = a;
                hi[j] = a + w;
                c[j] = draw_f32(&r, false, 0);
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
                for (int mode = 0; mode < N_PERTS; mode++) {
                    exact_forward(ne, &perts[mode], x, pre, y);
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
        qv_free(pre, nr);
        qv_free(y, 3);
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
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_property_bound),
        cmocka_unit_test(test_sweep_samples_bound),
        cmocka_unit_test(test_infinite_box),
        cmocka_unit_test(test_rational_constants),
        cmocka_unit_test(test_hostile_limits),
        cmocka_unit_test(test_bounds_enclosure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

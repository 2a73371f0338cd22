/* fuzz_cert.c — libFuzzer target for the certificate reader and checker, the
 * one parser in certnn that takes untrusted input.  Any bytes go through
 * cert_screen (size, envelope, signature, key policy), cert_named_file, and
 * cert_check_mem (parsing, bindings, shape, bounded re-proof) against three
 * small networks built here (1 -> 4 -> 1 and 2 -> 8 -> 8 -> 2, ReLU; and
 * 2 -> 4 sigmoid -> 4 ReLU -> 2, for activation splits); every
 * outcome must be CN_OK with a verdict (a failure always has a message),
 * never a crash, an abort, a leak or undefined behaviour.
 *   ./configure --enable-fuzzing CC=clang && make tests/fuzz/fuzz_cert
 *   tests/fuzz/run.sh BUILD_DIR SECONDS
 * Seeds (run.sh): the forged certificates of the review (shared
 * findings/ .cert files), and valid certificates for the networks that
 * this target writes when CN_FUZZ_CERT_SEEDS=DIR is set (run it once with
 * -runs=0).  CN_FUZZ_CERT_VERBOSE=1 prints each input's outcome (triage). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "certs/certs.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static net *nets[3];
static cert_key key;          /* the seeds' signing key (trusted below) */
static bool verbose;          /* CN_FUZZ_CERT_VERBOSE: each input's outcome on stderr */

/* A dense network in -> h1 [-> h2] -> out (h2 = 0: none) with fixed
 * weights w(i) = ((37 i) mod 11 - 5) / 4 and biases ((13 i) mod 7 - 3) / 8;
 * the first activation is act1, the second a ReLU. */
static net *small_net(int in, int h1, int h2, int out, net_op act1)
{
    cn_err err;
    net *n = net_new((net_shape){in, 1, 1});
    int w[3] = {h1, h2 ? h2 : out, out}, nl = h2 ? 3 : 2, i = 0;
    for (int k = 0; k < nl; k++) {
        net_layer *l = net_add_dense(n, w[k], &err);
        if (!l)
            abort();
        for (int j = 0; j < l->in * l->out; j++, i++)
            l->W[j] = (double)((i * 37) % 11 - 5) / 4;
        for (int j = 0; j < l->out; j++, i++)
            l->b[j] = (double)((i * 13) % 7 - 3) / 8;
        if (k + 1 < nl && !net_add_act(n, k == 0 ? act1 : NET_RELU, &err))
            abort();
    }
    return n;
}

static prop *parse(const char *text)
{
    prop *p = NULL;
    cn_err err;
    if (prop_parse_vnnlib_mem(text, strlen(text), "seed", 0, &p, &err) != CN_OK)
        abort();
    return p;
}

static void write_seed(const char *dir, const char *name, const cert_doc *d, bool sign)
{
    char *bytes = NULL, path[4096];
    size_t len;
    cn_err err;
    if (cert_doc_bytes(d, sign ? &key : NULL, &bytes, &len, &err) != CN_OK)
        abort();
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(bytes, 1, len, f);
        fclose(f);
    }
    cn_free(bytes);
}

/* Valid certificates for the networks: a one-leaf proof, a proof with
 * input and ReLU splits, a counterexample, a sweep, and a proof with an
 * activation split and sparse slopes. */
static void write_seeds(const char *dir)
{
    cn_err err;
    cert_meta m = {.tool = "certnn fuzz", .model_file = "a.onnx", .model_sha256 = "fuzz-a",
                   .property_file = "a.vnnlib", .property_sha256 = "00"};
    /* net 0: y0 >= 1000/3 is out of reach on [-1/3, 1] */
    prop *p = parse("(declare-const X_0 Real)(declare-const Y_0 Real)(assert (>= X_0 (/ -1 3)))"
                    "(assert (<= X_0 1))(assert (>= Y_0 (/ 1000 3)))");
    m.property = p;
    cert_doc *d = NULL;
    cert_tree t;
    int all[2] = {0, 1};
    cert_entry e = {.verdict = "unsat", .method = "bounds"};
    if (cert_doc_new(&m, &d, &err) != CN_OK)
        abort();
    cert_tree_init(&t, 0);
    if (cert_tree_push(&t, CERT_LEAF, 0, 0, 1, all, &err) != CN_OK ||
        cert_doc_add_proof(d, &e, 1, &t, &err) != CN_OK)
        abort();
    write_seed(dir, "valid_leaf_signed.cert", d, true);
    write_seed(dir, "valid_leaf_unsigned.cert", d, false);
    cert_tree_clear(&t);
    cert_doc_free(d);
    /* the same with an input split and a ReLU split below it */
    if (cert_doc_new(&m, &d, &err) != CN_OK)
        abort();
    cert_tree_init(&t, 0);
    if (cert_tree_push(&t, CERT_SPLIT_INPUT, 0, 0.25, 0, NULL, &err) != CN_OK ||
        cert_tree_push(&t, CERT_SPLIT_RELU, 1, 0, 0, NULL, &err) != CN_OK ||
        cert_tree_push(&t, CERT_LEAF, 0, 0, 1, all, &err) != CN_OK ||
        cert_tree_push(&t, CERT_LEAF, 0, 0, 1, all, &err) != CN_OK ||
        cert_tree_push(&t, CERT_LEAF, 0, 0, 1, all, &err) != CN_OK ||
        cert_doc_add_proof(d, &e, 1, &t, &err) != CN_OK)
        abort();
    write_seed(dir, "valid_splits.cert", d, false);
    cert_tree_clear(&t);
    cert_doc_free(d);
    prop_free(p);
    /* net 1: a counterexample at the centre of the box (y0 <= y0(0) + 1) */
    double x0[2] = {0, 0}, y[2];
    if (net_forward(nets[1], 1, x0, y, &err) != CN_OK)
        abort();
    char text[512];
    snprintf(text, sizeof text, "(declare-const X_0 Real)(declare-const X_1 Real)"
             "(declare-const Y_0 Real)(declare-const Y_1 Real)(assert (>= X_0 -1))"
             "(assert (<= X_0 1))(assert (>= X_1 -1))(assert (<= X_1 1))"
             "(assert (or (and (<= Y_0 %.3f)) (and (>= Y_1 1000))))", y[0] + 1);
    p = parse(text);
    m.property = p;
    m.model_sha256 = "fuzz-b";
    mpq_t x[2];
    mpq_init(x[0]);
    mpq_init(x[1]);
    prop_check chk;
    prop_check_init(&chk);
    cert_entry es = {.verdict = "sat", .method = "attack"};
    if (prop_check_point(p, nets[1], x, &chk, &err) != CN_OK || !chk.violated ||
        cert_doc_new(&m, &d, &err) != CN_OK || cert_doc_add_cex(d, &es, 2, x, &chk, &err) != CN_OK)
        abort();
    write_seed(dir, "valid_sat.cert", d, true);
    cert_doc_free(d);
    prop_check_clear(&chk);
    mpq_clear(x[0]);
    mpq_clear(x[1]);
    prop_free(p);
    /* net 1: a sweep of two samples, one open and one with a leaf proof */
    cert_meta ms = {.tool = "certnn fuzz", .model_file = "b.onnx", .model_sha256 = "fuzz-b",
                    .data_file = "d.csv", .data_sha256 = "11", .eps = "0.001"};
    uint8_t px[2] = {128, 3};
    cert_entry e0 = {.verdict = "timeout", .method = "", .index = 0, .label = 0, .pixels = px,
                     .n_pixels = 2};
    cert_entry e1 = {.verdict = "robust", .method = "bounds", .index = 1, .label = 1,
                     .pixels = px, .n_pixels = 2};
    int one = 0;
    cert_tree_init(&t, 0);
    if (cert_doc_new(&ms, &d, &err) != CN_OK || cert_doc_add_open(d, &e0, &err) != CN_OK ||
        cert_tree_push(&t, CERT_LEAF, 0, 0, 1, &one, &err) != CN_OK ||
        cert_doc_add_proof(d, &e1, 1, &t, &err) != CN_OK)
        abort();
    write_seed(dir, "sweep.cert", d, false);
    cert_tree_clear(&t);
    cert_doc_free(d);
    /* net 2: y0 >= 1000 on [-1, 1]^2, with a split of sigmoid neuron 1 at its
     * interval's midpoint (its bias) and, on side 1, a refutation with sparse
     * slopes (ReLU 0 and 2 at the default) and one without any */
    p = parse("(declare-const X_0 Real)(declare-const X_1 Real)(declare-const Y_0 Real)"
              "(declare-const Y_1 Real)(assert (>= X_0 -1))(assert (<= X_0 1))"
              "(assert (>= X_1 -1))(assert (<= X_1 1))(assert (>= Y_0 1000))");
    cert_meta m2 = {.tool = "certnn fuzz", .model_file = "c.onnx", .model_sha256 = "fuzz-c",
                    .property_file = "c.vnnlib", .property_sha256 = "00", .property = p};
    const net_layer *l0 = net_layer_at(nets[2], 0);
    unsigned char q[4] = {CERT_ALPHA_DEFAULT, 64, CERT_ALPHA_DEFAULT, 128};
    cert_par ab = {.kind = CERT_PAR_AB, .atom = 0, .n_alpha = 4, .alpha = q};
    if (cert_doc_new(&m2, &d, &err) != CN_OK)
        abort();
    cert_tree_init(&t, 0);
    if (cert_tree_push(&t, CERT_SPLIT_ACT, 1, l0->b[1], 0, NULL, &err) != CN_OK ||
        cert_tree_push(&t, CERT_LEAF, 0, 0, 1, all, &err) != CN_OK ||
        cert_tree_push(&t, CERT_LEAF, 0, 0, 1, all, &err) != CN_OK ||
        cert_tree_set_par(&t, 2, 0, &ab, &err) != CN_OK ||
        cert_doc_add_proof(d, &e, 1, &t, &err) != CN_OK)
        abort();
    write_seed(dir, "valid_act_split.cert", d, false);
    cert_tree_clear(&t);
    cert_doc_free(d);
    prop_free(p);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    nets[0] = small_net(1, 4, 0, 1, NET_RELU);
    nets[1] = small_net(2, 8, 8, 2, NET_RELU);
    nets[2] = small_net(2, 4, 4, 2, NET_SIGMOID);
    unsigned char seed[32];
    memset(seed, 0x5a, sizeof seed);
    cert_key_from_seed(&key, seed);
    verbose = getenv("CN_FUZZ_CERT_VERBOSE") != NULL;
    const char *dir = getenv("CN_FUZZ_CERT_SEEDS");
    if (dir && *dir)
        write_seeds(dir);
    return 0;
}

/* The model hash the document claims (so that the bytes reach the checks
 * past it), or a placeholder. */
static char *claimed_sha(const uint8_t *data, size_t size)
{
    json_t *doc = json_loadb((const char *)data, size, 0, NULL);
    const char *s = json_string_value(
        json_object_get(json_object_get(json_object_get(doc, "signed"), "model"), "sha256"));
    char *out = cn_strdup(s ? s : "none");
    json_decref(doc);
    if (!out)
        abort();
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *bytes = (const char *)data;
    long live = cn_alloc_live();
    cert_report rep;
    cn_err err;
    /* the policy alone, with a trusted key and no exceptions */
    cert_check_in strict = {.pubkey = key.pk};
    if (!cert_screen(bytes, size, &strict, &rep) && rep.why[0] == '\0')
        abort();
    if (rep.parsed || rep.stats.nodes != 0)
        abort();
    /* the names the command line would look for */
    static const char *const what[] = {"model", "property", "data"};
    for (int i = 0; i < 3; i++) {
        char *f = NULL;
        cn_status s = cert_named_file(bytes, size, what[i], &f, &err);
        if ((s == CN_OK) != (f != NULL) || (s != CN_OK && s != CN_EPARSE))
            abort();
        cn_free(f);
    }
    /* the whole check, unsigned allowed, with small limits */
    char *sha = claimed_sha(data, size);
    for (int k = 0; k < 3; k++) {
        cert_check_in in = {.model = nets[k], .model_sha256 = sha, .allow_unsigned = true,
                            .limits = {.max_bytes = 1 << 20, .max_nodes = 5000, .max_depth = 64}};
        cn_status s = cert_check_mem(bytes, size, &in, &rep, &err);
        if (s != CN_OK || (!rep.valid && rep.why[0] == '\0') || (rep.valid && rep.why[0]))
            abort();
        if (rep.stats.nodes > 5000 || rep.n_proven + rep.n_cex + rep.n_open > rep.n_results)
            abort();
        if (rep.valid && rep.sig == CERT_SIG_BAD)
            abort();
        if (verbose)
            fprintf(stderr, "fuzz_cert: net %d: %s%s (%ld nodes re-proved)\n", k,
                    rep.valid ? "valid" : "INVALID: ", rep.why, rep.stats.nodes);
    }
    cn_free(sha);
    if (cn_alloc_live() != live)
        abort();
    return 0;
}

/* certfix.h — the certificate tests' fixtures (test_certs,
 * test_certs_hostile): random float networks, the exact forward pass with
 * every ReLU input, and a small problem with a real input-splitting proof. */
#ifndef CERTNN_TESTS_CERTFIX_H
#define CERTNN_TESTS_CERTFIX_H

#include <stdbool.h>

#include "certs/certs.h"
#include "tests/exact.h"
#include "tests/testutil.h"

/* Dense ReLU net in -> h1 -> h2 -> out with float32 weights (netgen.h,
 * draw_f32). */
net *random_net(tu_rng *r, int in, int h1, int h2, int out);
/* Exact forward pass from doubles through n (pt NULL) or the network of its
 * enclosure that pt names (exact.h): pre[] gets every ReLU's input (global
 * order), y[] the outputs. */
void exact_forward(const net *n, const pert *pt, const double *x, mpq_t *pre, mpq_t *y);

/* 2 inputs in [-1, 1]^2, 16 + 16 ReLUs, 2 outputs. */
typedef struct {
    net *n;
    prop *unsat, *sat;          /* y0 <= L (no point meets it) / y0 <= M (one does) */
    char sha[65];
} problem;
void problem_init(problem *pb);
void problem_clear(problem *pb);
prop *parse(const char *text);           /* a VNN-LIB property, or the test fails */
/* Over the box [-1, 1]^2: y0 <= rhs, or an unreachable second disjunct. */
prop *prop_y0_le(const char *rhs);
/* An input-splitting proof for case 0 of pb->unsat (t: initialised here). */
void make_proof(const problem *pb, cert_tree *t);
const cert_meta *meta_for(const problem *pb, const prop *p, cert_meta *m);
/* Certificate bytes for an UNSAT proof tree t on pb->unsat. */
char *unsat_cert(const problem *pb, const cert_tree *t, const cert_key *key, size_t *len);
/* What checking a certificate on pb's model needs: the model, its hash, the key pk. */
cert_check_in check_in(const problem *pb, const unsigned char *pk);
/* Checks bytes; returns validity and copies the reason (why: [512] or NULL). */
bool check(const problem *pb, const char *bytes, size_t len, const unsigned char *pk,
           bool allow_unsigned, char *why);
void key_of(cert_key *k, unsigned char b);   /* the key from seed b, b, ..., b */
/* A signed certificate of a fresh problem's proof: pb, t and k (key_of(key_seed))
 * initialised here; the bytes (cn_free) and their length. */
char *signed_proof(problem *pb, cert_tree *t, cert_key *k, unsigned char key_seed, size_t *len);
/* Frees the bytes (NULL is fine) and clears t and pb. */
void signed_proof_clear(problem *pb, cert_tree *t, char *bytes);

/* cert_check_mem runs and finds the certificate valid (rep filled). */
void assert_accepts(const char *bytes, size_t len, const cert_check_in *in, cert_report *rep);
/* cert_check_mem runs and finds the certificate invalid for a reason that
 * mentions why (rep filled for further checks). */
void assert_rejects(const char *bytes, size_t len, const cert_check_in *in, cert_report *rep,
                    const char *why);

#define assert_invalid_with(pb, bytes, len, pk, text)                                       \
    do {                                                                                    \
        char why_[512];                                                                     \
        if (check((pb), (bytes), (len), (pk), false, why_))                                 \
            fail_msg("accepted, expected a failure mentioning '%s'", (text));               \
        if (!strstr(why_, (text)))                                                          \
            fail_msg("failure '%s' does not mention '%s'", why_, (text));                    \
    } while (0)

#endif

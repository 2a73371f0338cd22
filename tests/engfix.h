/* engfix.h — the engine tests' fixtures (test_engine, test_engine_milp.c): the
 * proof-log checks, a distributed run done in one process, instance loading
 * and the CN_TEST_FILTER runner. */
#ifndef CERTNN_TESTS_ENGFIX_H
#define CERTNN_TESTS_ENGFIX_H

#include "bounds/bounds.h"
#include "lp/lp.h"
#include "tests/testutil.h"
#include "verifier/verifier.h"

/* Loads a network and a property by their paths under the shared data (tu_shared). */
void load_instance(const char *net_rel, const char *prop_rel, net **n, prop **p);

/* The most layers relu_box_bounds takes. */
#define ENG_MAX_LAYERS 8
/* Interval bounds of n over the box [lo, hi]: pl[i]/ph[i] point at ReLU layer i's
 * input bounds (NULL elsewhere), owned by the context returned (bnd_ctx_free). */
bnd_ctx *relu_box_bounds(const net *n, const double *lo, const double *hi,
                         const double *pl[ENG_MAX_LAYERS], const double *ph[ENG_MAX_LAYERS]);

/* The engine's default options with `threads` workers and a time limit
 * (seconds; 0: none). */
vfy_opts engine_opts(int threads, double timeout_s);

/* Structural check of a proof log against p; returns the number of leaves. */
int check_proof(const vfy_proof *pf, const prop *p);
/* The proof as certificate trees (vfy_cert_trees) must pass the checker
 * (vfy_cert_selfcheck); returns the number of LP refutations in them. */
/* The proof as certificate trees must be accepted by the checker.  Returns
 * the number of LP refutations; *ab (if not NULL) gets the number of
 * refutations with slopes and multipliers plus the root bounds. */
long check_proof_cert(const vfy_proof *pf, const net *n, const prop *p, long *ab);
/* Decides p through a frontier of `target` nodes, subproblems and grafted
 * proofs, as a distributed run would; returns the number of subproblems. */
int distributed_verify(const net *n, const prop *p, const vfy_opts *o, int target,
                       vfy_result *res);

/* One engine-vs-MILP instance on a small ReLU network n with at most 4 inputs
 * and 3 outputs: a random box, the atom Y_i >= c with c just above or below
 * the exact MILP maximum of Y_i (instance t sets threads, split mode, attack
 * and seed), decided by vfy_verify; a verdict other than the MILP's fails the
 * test naming `tag`, and an unsat proof must pass check_proof and the
 * certificate checker.  Returns 1 (sat), 0 (unsat) or -1 (c too close to the
 * maximum: skipped). */
int engine_vs_milp_box(const net *n, tu_rng *r, int t, const char *tag);

/* Runs the tests whose names match CN_TEST_FILTER (comma-separated fnmatch
 * patterns; unset: all) as cmocka group `name`; returns the failed count. */
int run_filtered_group(const char *name, const struct CMUnitTest *tests, size_t n);

#endif

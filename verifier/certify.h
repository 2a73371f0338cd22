/* certify.h — the writer side of certificates (verifier/): turns the
 * engine's results into cert_ documents (certs/certs.h describes the format
 * and the checker).  Used by `certnn verify --cert OUT [--sign KEY]`. */
#ifndef CERTNN_CERTIFY_H
#define CERTNN_CERTIFY_H

#include "certs/certs.h"
#include "verifier/verifier.h"

/* The proof trees of an UNSAT result, one per case in case order:
 * trees[n_cases] are initialised here (release each with cert_tree_clear,
 * also on failure: they are then empty).  Each case's tree is the engine's
 * tree in preorder, with every node's refutations.  Returns CN_EINVAL and a
 * message when the proof cannot be certified: an LP leaf (not expressible
 * yet), an unfinished node, a missing root or child. */
cn_status vfy_cert_trees(const vfy_proof *pf, int n_cases, cert_tree *trees,
                         cn_err *err) CN_WUR;

/* One-leaf trees (the root refutes every disjunct) for a property that the
 * bounds proved on its own; trees[prop_n_cases(p)] initialised here. */
cn_status vfy_cert_root_trees(const prop *p, cert_tree *trees, cn_err *err) CN_WUR;

/* Checks trees against p with the certificate checker (certs/): true when
 * they hold; why[] says what failed otherwise. */
cn_status vfy_cert_selfcheck(const net *n, const prop *p, int n_trees, const cert_tree *trees,
                             bool *valid, char *why, size_t why_len, cn_err *err) CN_WUR;

/* SHA-256 of a file's bytes (hex). */
cn_status vfy_cert_file_sha(const char *path, char hex[65], cn_err *err) CN_WUR;

/* Appends the result r of vfy_verify on p to d: a proof (UNSAT with a
 * complete proof), a counterexample (SAT), or an open entry (TIMEOUT,
 * UNKNOWN).  e->verdict is ignored and set from r ("unsat"/"sat" or, with
 * sweep, "robust"/"not-robust").  An UNSAT result whose proof cannot be
 * certified gets an open entry with verdict "unknown", *certified = false
 * and the reason in why[]. */
cn_status vfy_cert_add_result(cert_doc *d, const cert_entry *e, bool sweep, const prop *p,
                              const vfy_result *r, bool *certified, char *why, size_t why_len,
                              cn_err *err) CN_WUR;

#endif

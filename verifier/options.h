/* options.h — the engine's options in one table (included by verifier.h).
 *
 * Every user-settable option of the complete engine is one row below, in
 * the style of kissat's options.h; the row is the only place its default,
 * range and help text are written.  From the table come the fields of
 * vfy_opts (verifier.h), vfy_opts_init, and on the command line (cli/cli.h)
 * the option rows of every command that runs the engine, their parsing,
 * range checks and --help.
 *
 * A row is  O(kind, type, field, name, short, arg, def, low, high, choices, help):
 *   kind     DBL (a double), INT (an integer or a bool, 0/1) or ENUM (one
 *            word of `choices`, a space-separated list in the order of the
 *            enum's values, so the k-th word is value k);
 *   type     the C type of the vfy_opts field `field`;
 *   name     the long option name (`certnn verify --name`), short its
 *            one-letter form (0: none), arg its argument in --help;
 *   def      the default: a number, or for ENUM the word as a string;
 *   low      the allowed range [low, high] of a number (ENUM: unused, 0, -1).
 * Only some rows are command-line options (those a command names with
 * CLI_ENGINE_OPT); the others are set by programs (tests, benchmarks).
 *
 * Each row is also a macro VFY_OPTION_field(O), so that a front end can
 * take one option by its field name. */
#ifndef CERTNN_VERIFIER_OPTIONS_H
#define CERTNN_VERIFIER_OPTIONS_H

#define VFY_OPTION_timeout_s(O)                                                              \
    O(DBL, double, timeout_s, "timeout", 't', "S", 300, 0, 1e9, NULL,                         \
      "time limit of the complete engine, per property or sample (0: none)")
#define VFY_OPTION_threads(O)                                                                \
    O(INT, int, threads, "threads", 'j', "T", 0, 0, 1024, NULL, "worker threads (0: all cores)")
#define VFY_OPTION_max_nodes(O)                                                              \
    O(INT, long, max_nodes, "max-nodes", 0, "N", 0, 0, 1e15, NULL,                            \
      "branch-and-bound node limit (0: none)")
#define VFY_OPTION_max_mem_mb(O)                                                             \
    O(INT, long, max_mem_mb, "max-mem", 0, "MIB", 4096, 16, 1e9, NULL,                        \
      "memory for open branch-and-bound nodes")
#define VFY_OPTION_split(O)                                                                  \
    O(ENUM, vfy_split, split, "split", 0, "HOW", "auto", 0, -1, "auto input relu act",        \
      "branching: input (bisect input intervals), relu (fix ReLU phases), act (split "        \
      "sigmoid/tanh pre-activation intervals) or auto (input up to 12 inputs, else relu, or "  \
      "act for sigmoid/tanh networks without ReLUs)")
/* AUTO's limit: ACAS Xu has 5 inputs; images have hundreds. */
#define VFY_OPTION_input_split_max_dims(O)                                                   \
    O(INT, int, input_split_max_dims, "input-split-max-dims", 0, "N", 12, 0, 1e6, NULL,       \
      "--split auto: input splitting up to this many inputs")
#define VFY_OPTION_method(O)                                                                 \
    O(ENUM, bnd_method, method, "node-bounds", 0, "M", "crown", 0, -1,                         \
      "interval deeppoly crown alpha", "bound method at branch-and-bound nodes")
#define VFY_OPTION_alpha_root(O)                                                             \
    O(INT, bool, alpha_root, "alpha-root", 0, "B", 1, 0, 1, NULL,                             \
      "ReLU splitting: optimise slopes (alpha-CROWN) at the root")
/* beta-CROWN per node (bounds.h, bnd_run_param): only where plain CROWN
 * leaves the node open; certificates record the values of each refutation
 * it makes (slopes on a 1/128 grid, multipliers as floats). */
#define VFY_OPTION_opt_bounds(O)                                                             \
    O(INT, bool, opt_bounds, "opt-bounds", 0, "B", 1, 0, 1, NULL,                             \
      "ReLU splitting: optimise slopes and split multipliers (alpha, beta-CROWN) at the "     \
      "nodes plain CROWN leaves open")
#define VFY_OPTION_opt_iters(O)                                                              \
    O(INT, int, opt_iters, "opt-iters", 0, "N", 20, 1, 1000, NULL,                            \
      "--opt-bounds: gradient steps per node")
/* alpha-CROWN on input-split children (bnd_run_param on the atoms' rows,
 * from CROWN's slopes, no intermediate optimisation): only on children
 * whose plain bound misses closing by at most the gap; certificates record
 * each refutation's slopes (1/128 grid) as with --opt-bounds. */
#define VFY_OPTION_input_opt_gap(O)                                                          \
    O(DBL, double, input_opt_gap, "input-opt-gap", 0, "G", 0.005, 0, 1e9, NULL,                 \
      "input splitting: optimise the output slopes (alpha-CROWN) of a node plain CROWN "      \
      "leaves open by at most G (0: never)")
#define VFY_OPTION_input_opt_iters(O)                                                        \
    O(INT, int, input_opt_iters, "input-opt-iters", 0, "N", 4, 1, 1000, NULL,                 \
      "--input-opt-gap: gradient steps per node")
#define VFY_OPTION_attack_s(O)                                                               \
    O(DBL, double, attack_s, "attack-time", 0, "S", -1, -1, 1e9, NULL,                        \
      "initial attack time (< 0: min(0.5, timeout/50); with input splitting also at most "    \
      "200 PGD restarts)")
#define VFY_OPTION_node_pgd_every(O)                                                         \
    O(INT, int, node_pgd_every, "node-pgd-every", 0, "K", 16, 0, 1e9, NULL,                   \
      "a short PGD at every K-th node (0: never)")
#define VFY_OPTION_branch_candidates(O)                                                      \
    O(INT, int, branch_candidates, "branch-candidates", 0, "N", 4, 1, 1e6, NULL,              \
      "ReLU splitting: candidate neurons tried per split")
/* Without the node's optimised parameters (--opt-bounds 0), the trials of a
 * split (2 per candidate neuron, the same box and the node's splits plus
 * one) are bounded together by bnd_run_batch (bounds.h:
 * the query rows of all regions in one product, the bounds below the tried
 * neuron's layer computed once); they choose the neuron only, refute
 * nothing.  Automatic: every trial of a split in one batch, unless the
 * batch's workspaces would pass VFY__BATCH_MEM_MB. */
#define VFY_OPTION_batch(O)                                                                  \
    O(INT, int, batch, "batch", 0, "N", -1, -1, 1e6, NULL,                                    \
      "ReLU splitting without optimised bounds: bound up to N branching trials in one batched " \
      "pass (0 or 1: one at a time; -1: automatic, all trials of a split as memory allows)")
#define VFY_OPTION_input_branch(O)                                                           \
    O(ENUM, vfy_branch, input_branch, "input-branch", 0, "HOW", "coef", 0, -1, "coef trial",  \
      "input splitting: choose the dimension by the bound's coefficients (coef) or by "       \
      "bounding both halves of every dimension (trial)")
#define VFY_OPTION_input_first_depth(O)                                                     \
    O(INT, int, input_first_depth, "input-first-depth", 0, "D", 20, -1, 1e6, NULL,            \
      "input splitting: from depth D on, bisect the dimension the bound's coefficients "     \
      "rank first without trying the second (-1: never)")
/* Such leaves (lp_conj_solve, rigorous from the duals; at most 2K+1 LPs,
 * then bisection goes on) are certified with record_proof as ReLU splits
 * below the box with LP refutations (the multipliers of the checker's
 * canonical LP, kept when the checker accepts them).  Off by default: on
 * ACAS Xu it did not pay. */
#define VFY_OPTION_lp_tail(O)                                                                \
    O(INT, int, lp_tail, "lp-tail", 0, "K", 0, 0, 16, NULL,                                   \
      "input splitting: a box with at most K unstable ReLUs is first tried with GLPK LPs over " \
      "their phases (0: never)")
#define VFY_OPTION_best_first_every(O)                                                       \
    O(INT, int, best_first_every, "best-first", 0, "K", -1, -1, 1e9, NULL,                    \
      "every K-th branch-and-bound node searched is the open node with the lowest bound "     \
      "(the rest depth first; 0: depth first only; -1: 1 with input or activation "          \
      "splitting, 4 with ReLU splitting)")
#define VFY_OPTION_node_samples(O)                                                           \
    O(INT, int, node_samples, "node-samples", 0, "N", 1024, 0, 1e6, NULL,                     \
      "input splitting: random points of each node taken best first by its bound tried as "   \
      "counterexamples (0: none)")
#define VFY_OPTION_attack_bursts(O)                                                          \
    O(INT, bool, attack_bursts, "attack-bursts", 0, "B", 1, 0, 1, NULL,                       \
      "PGD bursts between growing branch-and-bound phases (2 s, 4 s, ...; a quarter of each)")
#define VFY_OPTION_seed(O)                                                                   \
    O(INT, uint64_t, seed, "seed", 0, "N", 1, 0, 1e18, NULL,                                  \
      "seed of the attacks' random generator")
#define VFY_OPTION_record_proof(O)                                                           \
    O(INT, bool, record_proof, "record-proof", 0, "B", 0, 0, 1, NULL,                         \
      "fill vfy_result.proof (turns alpha-root off)")

#define VFY_OPTIONS(O)                                                                       \
    VFY_OPTION_timeout_s(O) VFY_OPTION_threads(O) VFY_OPTION_max_nodes(O)                    \
    VFY_OPTION_max_mem_mb(O) VFY_OPTION_split(O) VFY_OPTION_input_split_max_dims(O)          \
    VFY_OPTION_method(O) VFY_OPTION_alpha_root(O) VFY_OPTION_opt_bounds(O)                   \
    VFY_OPTION_opt_iters(O) VFY_OPTION_input_opt_gap(O) VFY_OPTION_input_opt_iters(O)        \
    VFY_OPTION_attack_s(O)                                                                   \
    VFY_OPTION_node_pgd_every(O) VFY_OPTION_branch_candidates(O) VFY_OPTION_batch(O)         \
    VFY_OPTION_input_branch(O) VFY_OPTION_input_first_depth(O)                               \
    VFY_OPTION_lp_tail(O) VFY_OPTION_best_first_every(O) VFY_OPTION_node_samples(O)          \
    VFY_OPTION_attack_bursts(O) VFY_OPTION_seed(O) VFY_OPTION_record_proof(O)

/* The index of `word` in the space-separated list `choices` (an ENUM row's
 * value), or -1 when it is not one of them. */
int vfy_opt_choice(const char *choices, const char *word);

#endif

/* certs.h — certificates (cert_): signed JSON documents that carry a
 * verdict and its witness, and the independent checker that re-proves them.
 *
 * The checker depends on models/ only (network IR, exact evaluation, exact
 * property check) and on libsodium and jansson; it shares no code with the
 * search (bounds/, lp/, attacks/, verifier/).  Its maths (relax.c) is a
 * small, readable interval + CROWN back-substitution in double precision with
 * every operation rounded downward.
 *
 * ======================================================================
 * 1. DOCUMENT FORMAT (format "certnn-cert-1")
 * ======================================================================
 *
 * A certificate file is ONE line: the canonical JSON text (section 2) of
 *
 *   { "signed":    S,
 *     "signature": {"alg": "ed25519", "key": PK, "sig": SIG} }   (optional)
 *
 * followed by a single "\n".  PK is the 32-byte Ed25519 public key and SIG
 * the 64-byte detached signature of canonical(S), both lowercase hex.  S:
 *
 *   "format":  "certnn-cert-1"
 *   "tool":    "certnn <PACKAGE_VERSION>"
 *   "model":   {"file": path as given, "sha256": hex of the file's bytes}
 *   and either (a VNN-LIB property)
 *   "property": {"file": path, "sha256": hex of the file's bytes,
 *                "text": the property re-written by prop_write_vnnlib
 *                        (exact: a constant whose decimal expansion does
 *                        not terminate is written "(/ P Q)"; this is the
 *                        region and unsafe set as verified, and what the
 *                        checker re-parses; it must parse to the same
 *                        property as the named file, section 4)}
 *   or (a sweep over samples: eps-balls, x = pixel/255 clipped to [0, 1])
 *   "sweep":   {"data": {"file": path, "sha256": hex}, "eps": "decimal"}
 *   "results": [ R, ... ]          one per property (VNN-LIB: exactly one)
 *                                  or per sample (sweep)
 *
 * A result R:
 *   "verdict":  "unsat" | "sat" (VNN-LIB); "robust" | "not-robust" (sweep);
 *               "unknown" | "timeout" (no claim, no witness)
 *   "method":   how it was found ("bounds", "bab", "attack", ...; free text)
 *   "time_s":   verification wall time, decimal string
 *   sweep only: "index": sample index in the data file, "label": its label,
 *               "pixels": the sample's bytes (0..255) in lowercase hex
 *   unsat/robust: "proof": [ {"case": c, "nodes": [N, ...]} per case ]; a
 *               case's object may also hold "bounds": [[i, j, s, "LB",
 *               "Q"], ...], bounds proved over the case's root box that
 *               every region of the case is intersected with: s * z_i[j]
 *               >= LB (hex float; s is 1 or -1; z_i the input of ReLU
 *               layer i, the output of the affine layer i-1), by
 *               back-substitution of the row s (W_{i-1}[j] z_{i-1} + b[j])
 *               with the slopes Q (an ALPHA string, as in "ab" items);
 *               listed by layer
 *   sat/not-robust: "counterexample": {"x": [V, ...] (one per input),
 *               "case": c, "disjunct": d, "margins": [Q, ...]}
 *     V: an exact rational: a C99 hex float "%a" ("0x1.8p-2") when it is a
 *        double, else "p/q" or "p" in lowest terms (GMP's mpq_get_str).
 *     margins: the exact slack rhs - lhs of every atom of disjunct d at x
 *        (>= 0 each), as "p/q"; the checker recomputes and compares them.
 *
 * A proof tree lists its nodes in preorder (a split node is followed by the
 * whole subtree of its side-0 child, then that of its side-1 child).  Node N:
 *   ["i", dim, "AT", [d, ...]]  split input `dim` at AT (hex float):
 *                               side 0 = [lo, AT], side 1 = [AT, hi]
 *   ["r", j, [d, ...]]          split global ReLU j (layer order): side 0 =
 *                               pre-activation <= 0, side 1 = >= 0
 *   ["a", j, "AT", [d, ...]]    split sigmoid / tanh neuron j (numbered over
 *                               those neurons only, in layer order) at AT
 *                               (hex float): side 0 = its pre-activation
 *                               <= AT, side 1 = >= AT
 *   ["l", [d, ...]]             leaf
 *   ["e"]                       leaf at the root of a case whose box is empty
 * [d, ...] lists the disjuncts of the case refuted on that node's region
 * (omitted when empty).  An item of that list is the integer d (the
 * checker's own bound, section 3, with its default slopes), or d with the
 * parameters of its bound:
 *   ["ab", d, k, ALPHA, BETAS]   refuted by atom k of disjunct d with the
 *                                stored slopes and split multipliers
 *                                (par.c): ALPHA the slopes (below),
 *                                BETAS [[j, "hex float"], ...] the
 *                                multipliers (>= 0) of splits of the
 *                                node's root path;
 *   ["lp", d, "Y"]               multipliers of the node's LP (section 3,
 *                                "LP refutations"): Y lists y_0, y_1, ...
 *                                of the canonical LP of disjunct d,
 *                                separated by ",", each a hex float
 *                                (cert_hexd) or "" for 0; the count must
 *                                be the LP's number of rows.
 * ALPHA (slopes of an "ab" item or a "bounds" claim) gives each ReLU of the
 * network (global order) either a slope q/128 (q = 0 .. 128, 2 lowercase hex
 * digits) or "the default" (the checker's own slope for that ReLU, section
 * 3).  One spelling per list of n = net_n_relus values:
 *   - every value the default (or n = 0): "";
 *   - no value the default: the 2n hex digits of q_0 .. q_{n-1} (dense; the
 *     only form before sparse slopes, so older certificates still read);
 *   - otherwise runs "SKIP:HEX" separated by ",": SKIP (decimal, no
 *     leading zeros, at most 10 digits) values take the default, then the
 *     values HEX spells (2 digits each, at least one); every run but the
 *     first skips at least 1 (so each HEX is a maximal stretch of given
 *     values), and the values after the last run take the default.
 * The checker refuses any other spelling (a run past the n-th value, a q
 * above 128, not lowercase hex, a SKIP of 0 after the first run, a sparse
 * spelling of a list without defaults) naming the item.  The search stores
 * the default where the slope cannot change the bound: ReLUs a claim's row
 * does not pass (layers at or above the claim's), ReLUs split on the node's
 * path, ReLUs the checker's own bounds of the region make stable, and
 * slopes equal to the checker's default there (it computes those bounds as
 * the checker will: the root box with the claims of the layers below for a
 * claim, the node's region for an item).
 * A leaf refuted by an LP is an ordinary "l" leaf; the LP tail of input
 * splitting (the LP over each activation pattern of a box's few unstable
 * ReLUs) is a subtree of "r" splits below an input-split node whose leaves
 * carry "lp" items.  The root region is the case's box enclosure
 * lo_d/hi_d (models.h) of the property as the checker parses it.
 *
 * ======================================================================
 * 2. CANONICAL BYTES AND SIGNATURE
 * ======================================================================
 *
 * canonical(v) = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS |
 * JSON_ENSURE_ASCII): no whitespace, "," and ":" as separators, object keys
 * in byte order, strings in ASCII with jansson's escapes (\" \\ \b \f \n
 * \r \t, other control and non-ASCII characters as \uXXXX).  The signed part
 * holds only objects, arrays, strings and integers (never reals: every
 * non-integer number is a string), so its bytes do not depend on a float
 * printer.  The signature is crypto_sign_detached (Ed25519, libsodium) of
 * canonical(S).  The checker requires the whole file to equal
 * canonical(document) + "\n", so that flipping any byte of the file either
 * breaks the JSON, or breaks the canonical form, or changes S (signature
 * fails) or the signature object (signature fails / other key).
 *
 * Keys (cert_keygen): NAME.key holds the 64-byte libsodium secret key as 128
 * lowercase hex digits and "\n" (mode 0600); NAME.pub the 32-byte public key
 * as 64 hex digits and "\n".
 *
 * ======================================================================
 * 3. WHAT THE CHECKER PROVES, AND WHY IT IS SOUND
 * ======================================================================
 *
 * sat / not-robust: prop_check_point (exact GMP rationals) shows that x lies
 * in the region of case c (box and linear constraints) and that N(x), the
 * exact rational network, meets disjunct d.  Nothing is rounded.
 *
 * unsat / robust, per case c of the property, with root box B0 = [lo_d, hi_d]
 * (checked to enclose the exact box: lo_d <= lo and hi_d >= hi exactly):
 *  (T) The tree is well formed: each split has exactly two children, an
 *      input split point lies strictly inside the parent's interval, a ReLU
 *      split names a neuron not fixed on the path, an activation split ("a")
 *      names a sigmoid / tanh neuron j (0 <= j < their number) and a finite
 *      AT strictly inside the path's interval of j (the restrictions of the
 *      "a" splits of j above it; (-inf, inf) when none).  Region(child) is
 *      the parent's region with hi[dim] = AT / lo[dim] = AT, or with the
 *      constraint pre_j(x) <= 0 / >= 0 added, or with pre_j(x) <= AT / >= AT
 *      added (pre_j: the input of sigmoid / tanh neuron j).  The two
 *      children's regions cover the parent's, so by induction the leaves
 *      cover B0.
 *  (C) Every leaf has, for every disjunct of the case, a refutation on some
 *      node of its root path (that node's region contains the leaf's).
 *  (R) A refutation (node v, disjunct D) holds when, over region(v), some
 *      atom a.y <= r of D has a lower bound LB(a.y) > r (compared exactly in
 *      rationals), or the region is empty.
 * Together: no x in B0 (hence in the case's region) has N(x) in any
 * disjunct, i.e. the case is unsat.
 *
 *  (B) "bounds" claims are re-proved first, layer by layer, over the root
 *      box: the row's bound with the stored slopes (as "ab" items) must be
 *      >= the claimed LB; then every region of the case intersects z_i's
 *      bounds with it (valid: every region lies in the root box).
 * LB (relax.c) is CROWN on region(v) = box + fixed ReLU phases:
 *  - z_0 = x in the box; interval bounds of every layer; for each affine
 *    layer i >= 1 that is not the output layer, linear bounds by
 *    back-substitution to the input for the neurons that the interval bounds
 *    leave unstable before a ReLU (all neurons otherwise), intersected with
 *    the interval bounds; a ReLU's input bounds are then clipped by its
 *    split (>= 0 or <= 0); lo > hi for some neuron means no x of the box
 *    meets the splits: the region is empty.
 *  - ReLU relaxation on [l, u]: u <= 0 zero, l >= 0 identity, else
 *    relu(z) >= alpha z with alpha = 1 if u >= -l else 0, and
 *    relu(z) <= a z + c with a = u/(u-l) (any rounding) and
 *    c >= max(-a l, u - a u) (rounded up): the line lies above relu at l and
 *    at u, hence on [l, u] since relu is convex.
 *  - ["ab", ...] refutations: the same back-substitution of atom k's row,
 *    with two changes that keep it a lower bound for ANY stored values in
 *    range: an unstable ReLU with a coefficient v >= 0 gets the stored
 *    slope a = q/128 in [0, 1] (v relu(z) >= v a z), the product v a
 *    rounded down with its error term as for the upper line below (a
 *    ReLU whose ALPHA value is the default gets the default slope above,
 *    0 or 1: any slope in [0, 1] gives a lower line of relu on [l, u], so
 *    which ReLUs are left to the default, and the default itself, change
 *    how tight the bound is, never whether it holds); and at
 *    the input of each split ReLU j with a multiplier beta >= 0 the row
 *    gets -beta s z_j, where s z_j >= 0 on the region (s = +1 active, -1
 *    inactive), so the added term is <= 0 there (beta-CROWN's Lagrangian);
 *    the subtraction is rounded down with its error term too.
 *  - sigmoid / tanh layers (relax_act.c): the input bounds [l, u] of
 *    neuron j, computed as for the box alone, are first intersected with
 *    the path's restrictions of j ("a" splits: every x of the region has
 *    pre_j(x) in them, so the intersection still holds there; empty = the
 *    region is empty); then interval bounds [f(l), f(u)]
 *    and, per neuron, a lower and an upper line valid on [l, u] for the
 *    real function (tangents and chords; MPFR end-point values in
 *    directed rounding, a rigorous slack for the approximate tangent
 *    slope, the convexity argument stated there); back-substitution steps
 *    through them as through an unstable ReLU (lower line where the
 *    coefficient is >= 0, upper line otherwise, the product's rounding
 *    term as below); each row is back-substituted twice more with its own
 *    tangent points (where its relaxed network puts the input corner that
 *    minimised the previous pass, on a 17-point grid; any point gives a
 *    valid line) and the best pass kept.  For such networks every back-substitution also
 *    concretises at each layer it passes and keeps the best (each is a
 *    lower bound), and LP refutations are not accepted.
 *  - sat / not-robust with sigmoid / tanh layers: the outputs at x are
 *    enclosed with MPFR (models.h, net_eval_enclose_prec) at increasing
 *    precision until prop_check_point decides; only a decided violation
 *    is accepted.
 *  - Query a.y: a is split exactly as a_d + r (a_d doubles, r rationals);
 *    a_d.y is back-substituted, intersected with its interval bound, and
 *    r.y is bounded below over the output interval bounds.
 * Floating point: the network is the rational function of its double
 * weights.  Every bound is a statement "target >= lam . z_k + c" for the
 * double row lam actually held; each step keeps it TRUE in exact arithmetic:
 *  - all arithmetic runs with FE_DOWNWARD, so every computed sum/product of
 *    a lower-bound quantity is <= its exact value; an upper bound U is
 *    computed as -(lower bound of -U), exactly as negation is exact;
 *  - affine step lam (W z + b): c += lam.b (down); the exact product lam W
 *    lies in [P_lo, P_hi] entrywise (P_lo summed downward, P_hi as
 *    -(sum of (-lam) W) downward); we keep lam' = P_lo and add
 *    sum_j min(0, D_j l_j), D_j >= P_hi_j - P_lo_j, which bounds
 *    (lam W - P_lo) z from below for z in [l, u];
 *  - ReLU step: lam >= 0 keeps lam alpha (alpha is 0 or 1: exact); lam < 0
 *    uses the upper line: lam a in [p_lo, p_hi] as above, lam' = p_lo,
 *    c += lam c_up (down) + D l (l < 0, D >= p_hi - p_lo);
 *  - max pooling step (relax_pool.c), output o the max of its window with
 *    a = the input of largest lower bound: lam_o >= 0, or l_a >= u_k for
 *    every other k (then y_o = z_a), moves lam_o to z_a (summed downward,
 *    with the D l term above when windows overlap); else c += lam_o U_o
 *    (down), U_o the largest upper bound of the window; intervals of the
 *    outputs are the maxima of the window's bounds (exact).  The LP of
 *    lpcheck.c has no max pooling rows: LP items of such networks fail;
 *  - concretisation: c + sum_j (lam_j >= 0 ? lam_j lo_j : lam_j hi_j), down;
 *  - a NaN or infinite intermediate bound makes the node's bounds unusable
 *    (no refutation is accepted there); comparisons never let a NaN through.
 * Rounding modes are set per call (cn_round_push/pop) and restored; nothing
 * is parsed or printed inside a rounding scope.
 *
 * LP refutations (lpcheck.c).  An item ["lp", d, Y] claims that the LP
 * below, rebuilt by the checker for the node's region from its OWN bounds
 * (cert_bounds_region; nothing of the search's LP is trusted), has no
 * point that meets disjunct d, with Y as the witness (Farkas' lemma).
 * Variables: every entry of z_0 = x, z_1, ..., z_L (layer order), each in
 * its box [lo_k, hi_k] of cert_bounds_region (z_0: the node's box; the input
 * of a ReLU layer: after its splits; the output z_L too).  Rows, in this
 * order, each "A_r v >= b_r" (multiplier y_r >= 0) or "A_r v = b_r" (y_r
 * free):
 *   for each layer k = 0 .. L-1:
 *     affine (dense, or a convolution as its dense matrix), per output o:
 *       (E_o)  z_{k+1}[o] - sum_j W_oj z_k[j] = b_o        (y free)
 *              with an enclosure (models.h): the exact layer adds e_o,
 *              |e_o| <= E_o over the box of z_k, so the row's constant
 *              counts as b_o - |y| E_o;
 *     ReLU, per neuron j, with [l, u] the bounds of z_k[j], a = z_{k+1}[j]:
 *       (P_j)  a - z_k[j] >= 0                                (y >= 0)
 *       (Q_j)  s z_k[j] - a >= -t                             (y >= 0)
 *              u <= 0: s = t = 0;  l >= 0: s = 1, t = 0;  else s =
 *              u/(u-l) (any rounding) and t >= max(-s l, u - s u) (rounded
 *              up): relu lies above P and below Q on [l, u];
 *   per linear input constraint q of the case (sum c_e x_{v_e} <= rhs):
 *       (I_q)  -sum cd_e x_{v_e} >= -rhs - max_box(-sum res_e x_{v_e})
 *              cd_e the double of c_e (mpq_get_d), res_e = c_e - cd_e;
 *   per atom i of disjunct d (sum c_e y_{v_e} <= rhs, y = z_L):
 *       (D_i)  the same form over z_L and its box.               (y >= 0)
 * Y has exactly that many entries (cert_lp_rows), finite, >= 0 on every
 * inequality.  For every point v of the region's network, sum_r y_r A_r v
 * >= sum_r y_r b_r, so with the reduced costs rc = -A^T y
 *     0  >=  y^T b + rc^T v  >=  y^T b + sum_j min_{v_j in box} rc_j v_j;
 * the checker computes the right-hand side, A^T y as intervals in downward
 * rounding (an upper bound as the negated lower bound of the negation),
 * the double part of y^T b downward and its rational part (rhs of I and D)
 * exactly, and accepts when it is > 0 (compared exactly): then no point of
 * the region meets every atom of d.  Any Y gives a valid inequality, so
 * the search's LP (its own intermediate bounds, its rounding) can only
 * make a refutation fail, never make a wrong one pass.  A refutation of a
 * single atom i as an objective is the case y_{D_i} = 1, the others 0; a
 * Farkas ray of an empty LP has every y_D = 0.
 *
 * ======================================================================
 * 4. HOSTILE INPUT: WHAT HAPPENS BEFORE ANYTHING IS RE-PROVED
 * ======================================================================
 *
 * A certificate is untrusted input.  cert_check_mem works in this order and
 * stops at the first failure:
 *  1. size: more than limits.max_bytes (default 64 MiB) is refused unread;
 *  2. envelope: canonical bytes begin {"signature":{"alg":"ed25519","key":
 *     K,"sig":S},"signed": (keys sort "signature" < "signed") or
 *     {"signed":, and end "}\n"; the signed part's canonical bytes are
 *     therefore the file's bytes between them, and the signature is
 *     verified over those bytes before the JSON is parsed;
 *  3. policy: unsigned, or signed but no trusted key given, is refused
 *     unless allow_unsigned; another key is refused;
 *  4. node limit: the proof nodes are counted in the raw bytes (every node
 *     is an array whose first element is "i", "r", "a", "l" or "e", i.e. the
 *     bytes ["i" etc., which cannot occur inside a JSON string) and more
 *     than limits.max_nodes (default 2,000,000) is refused unparsed;
 *  5. the JSON is parsed and must be exactly canonical;
 *  6. bindings: the model's SHA-256; the property's SHA-256 and the parsed
 *     embedded text equal (prop_equal) to the property file when given; the
 *     data file's SHA-256 and every sample when given (otherwise the report
 *     says the named file was not matched: CERT_BIND_UNMATCHED);
 *  7. shape: every result's fields, every proof tree's node count and
 *     depth (at most limits.max_depth, default 10,000 splits on a path),
 *     a finite box enclosure for every case that is proved;
 *  8. only then: the witnesses are re-proved (section 3).
 * Misuse checks (CN_REQUIRE) are never reachable from the bytes: every
 * defect of a document is a finding in rep->why.
 *
 * Conventions as models.h: out-parameters written only on success; library
 * code never prints; NULL is fine for every _free.
 */
#ifndef CERTNN_CERTS_H
#define CERTNN_CERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/models.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CERT_FORMAT "certnn-cert-1"

/* ------------------------------------------------------------------------ */
/* Proof trees                                                               */
/* ------------------------------------------------------------------------ */

typedef enum {
    CERT_LEAF = 'l',
    CERT_EMPTY = 'e',
    CERT_SPLIT_INPUT = 'i',
    CERT_SPLIT_RELU = 'r',
    CERT_SPLIT_ACT = 'a'
} cert_kind;

/* The parameters of the bound behind one refutation (section 1, "a
 * refutation"): none (plain CROWN, the item is the integer d), or the
 * kinds below.  Owned by the tree. */
typedef enum {
    CERT_PAR_NONE = 0,
    CERT_PAR_AB,              /* ["ab", d, k, ALPHA, [[j, "BETA"], ...]] */
    CERT_PAR_LP               /* ["lp", d, "Y"]: the canonical LP's multipliers */
} cert_par_kind;

#define CERT_ALPHA_DEN 128    /* a stored slope q means q / 128, 0 <= q <= 128 */
#define CERT_ALPHA_DEFAULT 0xff /* a stored "slope" meaning the checker's default */

typedef struct {
    cert_par_kind kind;
    int atom;                 /* index of the atom within the disjunct */
    /* CERT_PAR_AB: slopes of every ReLU (global order), used where the
     * checker finds the neuron unstable; multipliers of split constraints */
    int n_alpha;              /* net_n_relus, or 0: the default slopes */
    unsigned char *alpha;     /* [n_alpha] q (slope q / CERT_ALPHA_DEN) or
                                 CERT_ALPHA_DEFAULT */
    int n_beta;
    int *beta_j;              /* [n_beta] ReLUs split on the node's root path */
    double *beta;             /* [n_beta] multipliers >= 0 */
    /* CERT_PAR_LP (atom unused, 0): the multipliers y of the rows of the
     * canonical LP of the node's region and the disjunct (section 3, "LP
     * refutations"), in its row order */
    int n_dual;
    double *dual;             /* [n_dual] */
} cert_par;

typedef struct {
    cert_kind kind;
    int dim;                  /* SPLIT_INPUT: input index; SPLIT_RELU: ReLU index;
                                 SPLIT_ACT: sigmoid / tanh neuron index */
    double at;                /* SPLIT_INPUT, SPLIT_ACT: split point */
    int n_refs;
    int *refs;                /* [n_refs] disjuncts refuted here (owned by the tree) */
    cert_par *par;            /* [n_refs] or NULL (every refutation plain) */
} cert_node;

/* A pre-activation bound proved over the case's root box (section 1,
 * "bounds"): sgn * z_layer[neuron] >= lb, by back-substitution of that
 * row with the slopes q (one per ReLU, slope q / CERT_ALPHA_DEN) of the
 * ReLU layers below.  Every region of the case is intersected with it. */
typedef struct {
    int layer, neuron, sgn;
    double lb;
    int n_q;
    unsigned char *q;         /* [n_q] as cert_par.alpha (owned by the tree) */
} cert_claim;

typedef struct {
    int case_idx;
    int n_nodes, cap_nodes;
    cert_node *nodes;         /* [n_nodes] in preorder (see the format above) */
    int n_claims, cap_claims;
    cert_claim *claims;       /* in layer order */
} cert_tree;

/* Appends a copy of a claim (q [n_q]).  CN_ENOMEM leaves t unchanged. */
cn_status cert_tree_add_claim(cert_tree *t, int layer, int neuron, int sgn, double lb, int n_q,
                              const unsigned char *q, cn_err *err) CN_WUR;

void cert_tree_init(cert_tree *t, int case_idx);
void cert_tree_clear(cert_tree *t);
/* Appends a node (copies refs).  CN_ENOMEM leaves t unchanged. */
cn_status cert_tree_push(cert_tree *t, cert_kind kind, int dim, double at, int n_refs,
                         const int *refs, cn_err *err) CN_WUR;

/* Attaches a copy of p to refutation q of node i (replacing what was there).
 * CN_ENOMEM leaves t unchanged. */
cn_status cert_tree_set_par(cert_tree *t, int i, int q, const cert_par *p, cn_err *err) CN_WUR;
/* Frees what p owns and zeroes it. */
void cert_par_clear(cert_par *p);
/* The ALPHA spelling (section 1) of the values q [n] (each <= CERT_ALPHA_DEN
 * or CERT_ALPHA_DEFAULT): cn_free it; NULL without memory. */
char *cert_alpha_string(const unsigned char *q, int n);
/* Parses an ALPHA spelling of n values into q [n]; false when s is not the
 * one spelling of some list (why[] says what is wrong; q then undefined). */
bool cert_alpha_parse(const char *s, int n, unsigned char *q, char *why, size_t why_len) CN_WUR;
/* *dst = a deep copy of src (CN_ENOMEM leaves dst zeroed). */
cn_status cert_par_copy(cert_par *dst, const cert_par *src, cn_err *err) CN_WUR;

/* ------------------------------------------------------------------------ */
/* The checker's bounds (relax.c)                                            */
/* ------------------------------------------------------------------------ */

typedef struct cert_bounds cert_bounds;    /* opaque; one per thread */

typedef enum {
    CERT_REGION_OK = 0,
    CERT_REGION_EMPTY,        /* the splits contradict sound bounds: no point */
    CERT_REGION_BLOWN         /* a bound overflowed: nothing can be concluded */
} cert_region;

/* Borrows n (must outlive the context).  NULL with err set on failure. */
cert_bounds *cert_bounds_new(const net *n, cn_err *err);
void cert_bounds_free(cert_bounds *b);
/* Bounds every layer over the region lo <= x <= hi (doubles, [n_in]) with
 * the ReLU phases split[net_n_relus] (+1 active, -1 inactive, 0 free; NULL:
 * none).  Does not allocate. */
cert_region cert_bounds_region(cert_bounds *b, const double *lo, const double *hi,
                               const signed char *split);
/* cert_bounds_region with the region also cut to alo[j] <= pre-activation
 * of sigmoid / tanh neuron j <= ahi[j] (smooth neurons in layer order,
 * [cert_bounds_n_smooth] each, -inf / +inf: none; NULL: none): each smooth
 * layer's input bounds are intersected with them before its relaxation is
 * built (EMPTY when an intersection is empty). */
cert_region cert_bounds_region_act(cert_bounds *b, const double *lo, const double *hi,
                                   const signed char *split, const double *alo,
                                   const double *ahi);
/* The number of sigmoid / tanh neurons of the context's network. */
int cert_bounds_n_smooth(const cert_bounds *b);
/* After a CERT_REGION_OK region: a lower bound of c . y (c: [n_out] doubles)
 * valid for every x of the region (-inf or NaN when none). */
double cert_bounds_row(cert_bounds *b, const double *c);
/* cert_bounds_row with the parameters p (kind CERT_PAR_AB) of a refutation:
 * the lower slope of an unstable ReLU j with a row coefficient >= 0 is
 * p->alpha[j] / CERT_ALPHA_DEN (n_alpha == 0, or CERT_ALPHA_DEFAULT: the
 * default), and the row gets -beta s z_j at ReLU layer j's input for each
 * multiplier (j split s = split[j] on the region).  The caller has checked
 * every q <= 128 or CERT_ALPHA_DEFAULT, every beta finite and >= 0, every
 * j split in `split` and no j twice (CN_REQUIRE otherwise). */
double cert_bounds_row_ab(cert_bounds *b, const double *c, const cert_par *p,
                          const signed char *split);
/* Known bounds of the ReLU layers' inputs that cert_bounds_region
 * intersects with (claims re-proved at a case's root): reset them all, or
 * set sgn * z_layer[neuron] >= lb. */
void cert_bounds_ref_reset(cert_bounds *b);
void cert_bounds_ref_set(cert_bounds *b, int layer, int neuron, int sgn, double lb);
/* After a CERT_REGION_OK region: a lower bound of sgn * z_layer[neuron]
 * (layer: a ReLU layer whose previous layer is dense or a convolution) by
 * back-substitution
 * with the slopes q [n_relus] (q <= CERT_ALPHA_DEN or CERT_ALPHA_DEFAULT,
 * checked by the caller);
 * NaN when none. */
double cert_bounds_claim(cert_bounds *b, int layer, int neuron, int sgn, const unsigned char *q);
/* After a CERT_REGION_OK region: interval bounds of the outputs (borrowed). */
void cert_bounds_output(const cert_bounds *b, const double **lo, const double **hi);
/* After a CERT_REGION_OK region: the bounds of z_k, k = 0 .. net_n_layers
 * (borrowed, valid until the next region); for a ReLU layer k those of its
 * input after the splits.  The box of the canonical LP (section 3). */
void cert_bounds_layer(const cert_bounds *b, int k, const double **lo, const double **hi);

/* ------------------------------------------------------------------------ */
/* LP refutations (lpcheck.c; section 3, "LP refutations")                   */
/* ------------------------------------------------------------------------ */

/* The number of rows of the canonical LP of disjunct d of case pc over the
 * network n: the length of its multiplier vector. */
int cert_lp_rows(const net *n, const prop_case *pc, int d);
/* After a CERT_REGION_OK region of b: whether the multipliers p
 * (CERT_PAR_LP) refute disjunct d of pc over that region.  *ok tells the
 * outcome; when false, why[] says what failed (which row, or the bound
 * reached).  Returns CN_OK when the check ran, CN_ENOMEM otherwise.  The
 * search calls it too, to keep only refutations the checker accepts. */
cn_status cert_lp_refutes(cert_bounds *b, const prop_case *pc, int d, const cert_par *p,
                          bool *ok /* OUT */, char *why, size_t why_len, cn_err *err) CN_WUR;

/* ------------------------------------------------------------------------ */
/* Checking one proof tree                                                   */
/* ------------------------------------------------------------------------ */

typedef struct {
    long nodes;               /* tree nodes visited */
    long bounded;             /* regions bounded */
    long refutations;         /* refutations confirmed */
    int depth;                /* deepest node */
} cert_stats;

/* Checks tree t against case t->case_idx of p (T, C, R in section 3).
 * Returns CN_OK when the check ran (CN_ENOMEM otherwise); *valid tells the
 * outcome and why[] (not NULL, why_len > 0) names what failed and where.
 * One thread: cert_check_tree_mt with the one context b. */
cn_status cert_check_tree(cert_bounds *b, const prop *p, const cert_tree *t, bool *valid,
                          char *why, size_t why_len, cert_stats *st /* accumulated */,
                          cn_err *err) CN_WUR;
/* cert_check_tree on n_b threads, one per context bs[0 .. n_b-1] (all made
 * by cert_bounds_new on the same network; n_b >= 1).  The walk over the
 * tree stays on the calling thread with bs[0] and does everything
 * structural (T, C, the claims of B, every parameter's range); the regions
 * to bound and their refutations (R) are queued in walk order, in chunks of
 * bounded memory, and re-proved by n_b - 1 started threads and the caller.
 * The outcome is the sequential one: *valid, why[] (the failure the
 * sequential walk meets first) and *st are the same for every n_b; n_b == 1
 * starts no thread and bounds each region as the walk reaches it. */
cn_status cert_check_tree_mt(cert_bounds *const *bs, int n_b, const prop *p, const cert_tree *t,
                             bool *valid, char *why, size_t why_len,
                             cert_stats *st /* accumulated */, cn_err *err) CN_WUR;

/* ------------------------------------------------------------------------ */
/* Keys and signatures (sign.c)                                              */
/* ------------------------------------------------------------------------ */

typedef struct {
    unsigned char sk[64];     /* libsodium Ed25519 secret key (seed || pk) */
    unsigned char pk[32];
} cert_key;

/* Writes NAME.key (mode 0600) and NAME.pub; refuses (CN_EIO) when either
 * exists. */
cn_status cert_keygen(const char *name, cn_err *err) CN_WUR;
/* A key from a 32-byte seed (deterministic: tests, golden bytes). */
void cert_key_from_seed(cert_key *k, const unsigned char seed[32]);
/* Reads NAME.key (refused when group/other may read it). */
cn_status cert_key_load(const char *path, cert_key *k, cn_err *err) CN_WUR;
/* Reads a .pub file. */
cn_status cert_pubkey_load(const char *path, unsigned char pk[32], cn_err *err) CN_WUR;
void cert_key_wipe(cert_key *k);

/* ------------------------------------------------------------------------ */
/* Writing documents (doc.c)                                                 */
/* ------------------------------------------------------------------------ */

typedef struct {
    const char *tool;                  /* "certnn X.Y" */
    const char *model_file, *model_sha256;
    /* VNN-LIB: */
    const prop *property;              /* borrowed; its text is written */
    const char *property_file, *property_sha256;
    /* or sweep (property == NULL): */
    const char *data_file, *data_sha256, *eps;
} cert_meta;

typedef struct {
    const char *verdict;               /* see "verdict" above */
    const char *method;
    double time_s;
    /* sweep only */
    int index, label;
    const uint8_t *pixels;
    int n_pixels;
} cert_entry;

typedef struct cert_doc cert_doc;      /* opaque */

/* A new document (no results yet).  CN_EINVAL when the property's text is
 * not exact or does not parse back to the same property. */
cn_status cert_doc_new(const cert_meta *m, cert_doc **out, cn_err *err) CN_WUR;
void cert_doc_free(cert_doc *d);
/* Appends a result with a proof (one tree per case, in case order). */
cn_status cert_doc_add_proof(cert_doc *d, const cert_entry *e, int n_trees,
                             const cert_tree *trees, cn_err *err) CN_WUR;
/* Appends a result with a counterexample x [n_in] and its exact check. */
cn_status cert_doc_add_cex(cert_doc *d, const cert_entry *e, int n_in, mpq_t *x,
                           const prop_check *chk, cn_err *err) CN_WUR;
/* Appends a result that claims nothing (unknown / timeout). */
cn_status cert_doc_add_open(cert_doc *d, const cert_entry *e, cn_err *err) CN_WUR;
/* The file bytes (canonical, "\n"-terminated, NUL after the end), signed
 * with key (NULL: unsigned).  *bytes: free with cn_free. */
cn_status cert_doc_bytes(const cert_doc *d, const cert_key *key, char **bytes, size_t *len,
                         cn_err *err) CN_WUR;
/* Writes bytes to path atomically (temporary file in the same folder, then
 * rename). */
cn_status cert_write_file(const char *path, const char *bytes, size_t len, cn_err *err) CN_WUR;

/* C99 hex float of d ("%a"), into buf[40]. */
void cert_hexd(double d, char buf[40]);
/* Parses a string written by cert_hexd; false unless it is exactly that form. */
bool cert_parse_hexd(const char *s, double *d);

/* ------------------------------------------------------------------------ */
/* Checking documents (check.c)                                              */
/* ------------------------------------------------------------------------ */

/* Limits on what a certificate may make the checker do (hostile input:
 * certs.h section 4).  0 in a field means its default. */
#define CERT_MAX_BYTES_DEFAULT ((size_t)64 << 20)   /* 64 MiB file */
#define CERT_MAX_NODES_DEFAULT 2000000L             /* proof nodes, all trees */
#define CERT_MAX_NODES_CAP 1000000000L              /* max_nodes is at most this */
#define CERT_MAX_DEPTH_DEFAULT 10000                /* splits on one path */

typedef struct {
    size_t max_bytes;         /* the file, checked before anything is parsed */
    long max_nodes;           /* proof nodes in the document, before parsing */
    int max_depth;            /* depth of any proof tree, before it is walked */
} cert_limits;

typedef struct {
    const net *model;                  /* required (borrowed); NULL for cert_screen */
    const char *model_sha256;          /* required: hex of the model file bytes */
    const prop *vnnlib;                /* the named property file, parsed: the embedded
                                          text must be the same property (prop_equal) */
    const char *vnnlib_sha256;         /* its bytes' SHA-256 (with vnnlib) */
    const char *vnnlib_path;           /* its path, for messages (NULL: "the VNN-LIB file") */
    const ds_set *data;                /* the named data file (sweep): samples must match */
    const char *data_sha256;           /* its bytes' SHA-256 (with data) */
    const char *data_path;             /* its path, for messages */
    const unsigned char *pubkey;       /* [32] trusted key, or NULL */
    bool allow_unsigned;               /* accept no signature / an untrusted one */
    cert_limits limits;
    int threads;                       /* threads re-proving refutations
                                          (cert_check_tree_mt); <= 1: one, no
                                          thread started */
} cert_check_in;

typedef enum {
    CERT_SIG_NONE = 0,                 /* unsigned */
    CERT_SIG_TRUSTED,                  /* valid, by the given key */
    CERT_SIG_UNTRUSTED,                /* valid for its embedded key; no key given */
    CERT_SIG_BAD                       /* malformed, invalid or by another key */
} cert_sig;

/* Whether a file the certificate names (property, data) was matched. */
typedef enum {
    CERT_BIND_NONE = 0,                /* the certificate names no such file */
    CERT_BIND_MATCHED,                 /* given, and its hash and contents match */
    CERT_BIND_UNMATCHED                /* not given: only the embedded copy was checked */
} cert_bind;

typedef struct {
    bool valid;                        /* everything that was checked holds */
    char why[512];                     /* when not: the first failure, and where */
    cert_sig sig;
    bool parsed;                       /* the JSON was parsed (false: rejected before) */
    cert_bind property, data;          /* valid && UNMATCHED: valid for the embedded
                                          property / samples only */
    int n_results, n_proven, n_cex, n_open;
    long n_nodes;                      /* proof nodes in the document */
    cert_stats stats;                  /* re-proof work (0 when nothing was re-proved) */
} cert_report;

/* The checks that need no parsing, in this order: the size limit, the
 * canonical envelope ({"signature":{"alg":"ed25519","key":K,"sig":S},
 * "signed":...} or {"signed":...}, then "}\n"), the Ed25519 signature over
 * the signed part's bytes as they stand in the file, and the key policy
 * (in->pubkey, in->allow_unsigned; in->model is not used).  Returns true
 * when the document may be parsed; otherwise rep->why says why (rep is
 * reset first).  Allocates nothing. */
bool cert_screen(const char *bytes, size_t len, const cert_check_in *in,
                 cert_report *rep /* OUT */) CN_WUR;

/* Checks the certificate bytes (sections 3 and 4): cert_screen, the node
 * limit, the canonical form, the model hash, the named property / data
 * (when given), the shape of every result, and only then re-proves the
 * witnesses.  Returns CN_OK when the check ran; rep->valid is the outcome.
 * CN_ENOMEM (or another error) when it could not run. */
cn_status cert_check_mem(const char *bytes, size_t len, const cert_check_in *in,
                         cert_report *rep /* OUT */, cn_err *err) CN_WUR;

/* The file a certificate names for what = "model", "property" or "data"
 * (to find it when the user gives none), read from the canonical bytes
 * without parsing the document: *file (cn_free), or CN_EPARSE when the
 * certificate names none.  Which path is used does not matter for
 * soundness: the file found is matched by its SHA-256. */
cn_status cert_named_file(const char *bytes, size_t len, const char *what, char **file,
                          cn_err *err) CN_WUR;

#ifdef __cplusplus
}
#endif
#endif

/* engine.c — the engine's public entry points (verifier.h): results, then
 * vfy_verify and vfy_frontier_split: a short attack on the whole property,
 * then branch and bound case by case (case_run.c), a counterexample
 * re-checked exactly before it is reported.  The options are options.c's.
 *
 * Where the rest lives (engine_int.h has the shared state):
 *   case_run.c    one case: its atoms, ReLU numbering, the phases and attack bursts
 *   workers.c     the worker threads, processing one node, stop reasons
 *   open_set.c    nodes and the open set: stack, heaps, which node is taken next
 *   node_bound.c  bounding a node (CROWN / alpha-CROWN via bounds/)
 *   node_cex.c    counterexample search at nodes (points, samples, PGD)
 *   branch.c      branching: which input dimension or ReLU to split
 *   node_lp.c     the LP at nodes and the LP tail (lp/)
 *   proof_log.c   the proof log that certs/ turns into a certificate */
#include "config.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "verifier/engine_int.h"

const char *vfy_verdict_name(vfy_verdict v)
{
    switch (v) {
    case VFY_SAT: return "sat";
    case VFY_UNSAT: return "unsat";
    case VFY_TIMEOUT: return "timeout";
    case VFY_UNKNOWN: return "unknown";
    }
    return "unknown";
}

void vfy_result_init(vfy_result *r)
{
    memset(r, 0, sizeof *r);
    prop_check_init(&r->check);
    r->found_by = "";
}

void vfy_result_clear(vfy_result *r)
{
    vfy_proof_free(r->proof);
    if (r->x) {
        for (int k = 0; k < r->n_in; k++)
            mpq_clear(r->x[k]);
        cn_free(r->x);
    }
    cn_free(r->x_d);
    cn_free(r->y_d);
    prop_check_clear(&r->check);
    vfy_result_init(r);
}

/* The double nearest to q, clamped to the finite range (for display and
 * the float outputs y_d; the counterexample itself is the rational q). */
static double near_finite(const mpq_t q)
{
    double lo = cn_mpq_get_d_down(q), hi = cn_mpq_get_d_up(q);
    if (lo == hi)
        return lo;
    if (!isfinite(lo))
        return -DBL_MAX;
    if (!isfinite(hi))
        return DBL_MAX;
    mpq_t a, b;
    mpq_init(a);
    mpq_init(b);
    mpq_set_d(a, lo);
    mpq_sub(a, q, a); /* q - lo */
    mpq_set_d(b, hi);
    mpq_sub(b, b, q); /* hi - q */
    double d = mpq_cmp(a, b) <= 0 ? lo : hi;
    mpq_clear(a);
    mpq_clear(b);
    return d;
}

/* Fills the SAT part of res from the exact point q (re-checked exactly here). */
static cn_status record_sat(const net *n, const prop *p, mpq_t *q, vfy_result *res,
                            cn_err *err)
{
    int in = net_in_size(n), out = net_out_size(n);
    res->n_in = in;
    res->n_out = out;
    res->x = vfy__qvec_new(in);
    res->x_d = cn_mallocarray((size_t)in, sizeof(double));
    res->y_d = cn_mallocarray((size_t)out, sizeof(double));
    if (!res->x || !res->x_d || !res->y_d)
        return cn_fail(err, CN_ENOMEM, "out of memory");
    for (int k = 0; k < in; k++) {
        mpq_set(res->x[k], q[k]);
        res->x_d[k] = near_finite(q[k]);
    }
    cn_status st = net_forward(n, 1, res->x_d, res->y_d, err);
    if (st != CN_OK)
        return st;
    st = prop_check_point(p, n, res->x, &res->check, err);
    if (st != CN_OK)
        return st;
    if (!res->check.violated)
        return cn_fail(err, CN_EINTERNAL, "a counterexample failed its exact re-check");
    return CN_OK;
}

/* a += b, phase by phase. */
static void add_phase_times(vfy_phase_times *a, const vfy_phase_times *b)
{
    a->attack_s += b->attack_s;
    a->bounds_s += b->bounds_s;
    a->optimise_s += b->optimise_s;
    a->lp_s += b->lp_s;
    a->branch_s += b->branch_s;
}

/* Appends an open root for case ci to the frontier (and the proof log). */
static cn_status frontier_add_root(const net *n, const prop *p, int ci, vfy_proof *proof,
                                   vfy_frontier *fr, cn_err *err)
{
    vfy_sub *ns = cn_reallocarray(fr->subs, (size_t)fr->n + 1, sizeof *ns);
    if (!ns)
        return cn_fail(err, CN_ENOMEM, "out of memory for the frontier");
    fr->subs = ns;
    const prop_case *pc = prop_case_at(p, ci);
    int n_disj = pc->n_disj;
    vfy_sub *s = &fr->subs[fr->n];
    memset(s, 0, sizeof *s);
    s->case_idx = ci;
    s->pid = -1;
    s->n_in = net_in_size(n);
    s->words = (n_disj + 63) / 64;
    s->lo = cn_mallocarray((size_t)s->n_in, sizeof(double));
    s->hi = cn_mallocarray((size_t)s->n_in, sizeof(double));
    s->alive = cn_calloc((size_t)s->words + 1, sizeof(uint64_t));
    if (!s->lo || !s->hi || !s->alive) {
        vfy_sub_clear(s);
        return cn_fail(err, CN_ENOMEM, "out of memory for a subproblem");
    }
    memcpy(s->lo, pc->lo_d, sizeof(double) * (size_t)s->n_in);
    memcpy(s->hi, pc->hi_d, sizeof(double) * (size_t)s->n_in);
    for (int d = 0; d < n_disj; d++)
        s->alive[d >> 6] |= 1ull << (d & 63);
    fr->n++;
    if (proof) {
        vfy_proof_node *nn = cn_reallocarray(proof->nodes, (size_t)proof->n_nodes + 1,
                                             sizeof *nn);
        if (!nn)
            return cn_fail(err, CN_ENOMEM, "out of memory for the proof log");
        proof->nodes = nn;
        proof->cap_nodes = proof->n_nodes + 1;
        s->pid = proof->n_nodes++;
        nn[s->pid] = (vfy_proof_node){-1, 0, ci, VFY_PN_OPEN, -1, 0, {-1, -1}};
    }
    return CN_OK;
}

static cn_status verify_impl(const net *n, const prop *p, const vfy_opts *o, int target,
                             volatile sig_atomic_t *stop, vfy_frontier *fr, vfy_result *res,
                             cn_err *err)
{
    CN_REQUIRE(n && p && o && res, "network, property, options and result");
    vfy_result_clear(res);
    if (prop_n_in(p) != net_in_size(n) || prop_n_out(p) != net_out_size(n)) {
        return cn_fail(err, CN_EINVAL,
                       "%s: property has %d inputs and %d outputs, the network %d and %d",
                       prop_name(p), prop_n_in(p), prop_n_out(p), net_in_size(n), net_out_size(n));
    }
    cn_status sm = prop_softmax_ok(p, n, err);
    if (sm != CN_OK)
        return sm;
    double t0 = vfy__now();
    double deadline = o->timeout_s > 0 ? t0 + o->timeout_s : 0;
    int in = net_in_size(n);
    mpq_t *sat_q = vfy__qvec_new(in);
    if (!sat_q)
        return cn_fail(err, CN_ENOMEM, "out of memory");
    cn_status st = CN_OK;
    vfy_proof *proof = NULL;
    if (o->record_proof) {
        proof = cn_calloc(1, sizeof *proof);
        if (!proof) {
            vfy__qvec_free(sat_q, in);
            return cn_fail(err, CN_ENOMEM, "out of memory");
        }
        proof->complete = true;
    }

    /* 1. attack */
    if (o->sub && (o->sub->case_idx < 0 || o->sub->case_idx >= prop_n_cases(p))) {
        vfy__qvec_free(sat_q, in);
        vfy_proof_free(proof);
        return cn_fail(err, CN_EINVAL, "subproblem: case %d, the property has %d",
                       o->sub->case_idx, prop_n_cases(p));
    }
    res->verdict = VFY_UNSAT; /* (res is written only from here on: cleared on failure) */
    double attack_s = o->attack_s;
    if (attack_s < 0)
        attack_s = o->sub              ? 0
                   : o->timeout_s > 0 ? fmin(VFY__ATTACK_S, o->timeout_s / VFY__ATTACK_TIMEOUT_PARTS)
                                      : VFY__ATTACK_S;
    if (attack_s > 0) {
        atk_opts ao;
        atk_opts_init(&ao);
        ao.seed = o->seed;
        ao.time_limit = attack_s;
        if (o->attack_s < 0 && o->split != VFY_SPLIT_RELU && in <= o->input_split_max_dims)
            ao.max_restarts = VFY__ATTACK_FEW_RESTARTS; /* (see engine_int.h) */
        atk_result ar;
        atk_result_init(&ar);
        st = atk_run(n, p, &ao, &ar, err);
        res->attack_seconds = ar.seconds;
        res->phases.attack_s = ar.seconds;
        if (st == CN_OK && ar.found) {
            for (int i = 0; i < in; i++)
                mpq_set(sat_q[i], ar.x[i]); /* the attack's own exact point */
            res->verdict = VFY_SAT;
            res->found_by = "attack";
        }
        atk_result_clear(&ar);
        if (st != CN_OK)
            goto done;
    }
    /* 2. bounds and branch and bound, case by case */
    for (int c = 0; c < prop_n_cases(p) && res->verdict == VFY_UNSAT; c++) {
        if (o->sub && c != o->sub->case_idx)
            continue;
        if (fr && fr->n > 0) { /* the frontier is made: later cases are open whole */
            st = frontier_add_root(n, p, c, proof, fr, err);
            if (st != CN_OK)
                goto done;
            continue;
        }
        vfy_result part;
        vfy_result_init(&part);
        part.verdict = VFY_UNSAT;
        st = vfy__run_case(n, p, o, c, t0, deadline, res->nodes, stop, proof, target, fr, &part,
                           sat_q, err);
        res->nodes += part.nodes;
        res->attack_seconds += part.attack_seconds;
        add_phase_times(&res->phases, &part.phases);
        res->lp_tail_tries += part.lp_tail_tries;
        res->lp_tail_closed += part.lp_tail_closed;
        res->lp_tail_lps += part.lp_tail_lps;
        res->empty_cases += part.empty_cases;
        if (part.max_open > res->max_open)
            res->max_open = part.max_open;
        if (part.depth > res->depth)
            res->depth = part.depth;
        if (st != CN_OK)
            goto done;
        if (part.verdict != VFY_UNSAT) {
            res->verdict = part.verdict;
            res->found_by = part.found_by;
            snprintf(res->reason, sizeof res->reason, "%s", part.reason);
        } else if (strcmp(res->found_by, "bab") != 0) {
            res->found_by = part.found_by;
        }
    }
    if (res->verdict == VFY_SAT) {
        const char *by = res->found_by;
        st = record_sat(n, p, sat_q, res, err);
        res->found_by = by;
    }
    if (st == CN_OK && res->verdict == VFY_UNSAT && fr && fr->n > 0) {
        res->verdict = VFY_UNKNOWN;
        res->found_by = "";
        snprintf(res->reason, sizeof res->reason, "frontier");
        res->proof = proof; /* the top of the tree, open at the frontier */
        proof = NULL;
    }
    /* Self-check of the proof log: an unsat verdict leaves no open node. */
    for (int i = 0; proof && st == CN_OK && res->verdict == VFY_UNSAT && i < proof->n_nodes; i++)
        if (proof->nodes[i].kind == VFY_PN_OPEN)
            st = cn_fail(err, CN_EINTERNAL, "proof log: node %d of case %d was never closed", i,
                         proof->nodes[i].case_idx);
done:
    vfy__qvec_free(sat_q, in);
    if (st == CN_OK && res->verdict == VFY_UNSAT)
        res->proof = proof;
    else
        vfy_proof_free(proof);
    res->seconds = vfy__now() - t0;
    res->nodes_per_s = res->seconds > 0 ? (double)res->nodes / res->seconds : 0.0;
    if (st != CN_OK) {
        vfy_result_clear(res);
        if (fr)
            vfy_frontier_clear(fr);
        return st;
    }
    if (fr && res->verdict != VFY_UNKNOWN)
        vfy_frontier_clear(fr); /* decided while the frontier was being made */
    if (res->verdict == VFY_UNKNOWN && !fr && net_has_enclosure(n)) {
        size_t len = strlen(res->reason);
        snprintf(res->reason + len, sizeof res->reason - len, "%s%s", len ? "; " : "",
                 "folding rounded: the network is known within an enclosure");
    }
    return CN_OK;
}

cn_status vfy_verify(const net *n, const prop *p, const vfy_opts *o, volatile sig_atomic_t *stop,
                     vfy_result *res, cn_err *err)
{
    return verify_impl(n, p, o, 0, stop, NULL, res, err);
}

cn_status vfy_frontier_split(const net *n, const prop *p, const vfy_opts *o, int target,
                             volatile sig_atomic_t *stop, vfy_frontier *fr, vfy_result *res,
                             cn_err *err)
{
    CN_REQUIRE(fr && fr->n == 0 && !fr->subs && target > 0 && !o->sub,
               "a zeroed frontier, target > 0 and no subproblem");
    return verify_impl(n, p, o, target, stop, fr, res, err);
}

/* case_run.c — one case of the property (a conjunction of input bounds and
 * a disjunction of output conjunctions): its atoms as rows of C, the ReLU
 * numbering, subproblems in and out, then branch and bound in phases of
 * growing length with an attack burst between phases; the workers' time
 * per phase of work (vfy_phase_times) added to the result. */
#include "config.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "verifier/engine_int.h"

static void shared_clear(shared *S)
{
    vfy__ref_free(S);
    cn_free(S->C);
    cn_free(S->cerr);
    cn_free(S->r_up);
    cn_free(S->in_lo);
    cn_free(S->in_hi);
    cn_free(S->dstart);
    cn_free(S->relu_layer);
    cn_free(S->relu_off);
    cn_free(S->wnorm);
    cn_free(S->act_wnorm);
    for (long i = 0; i < S->n_open; i++)
        cn_free(S->stack[i]);
    cn_free(S->stack);
    cn_free(S->hp[0]);
    cn_free(S->hp[1]);
    vfy__qvec_free(S->sat_q, S->n_in);
}

/* Builds the atoms of the case as rows of C. */
static cn_status build_atoms(shared *S, cn_err *err)
{
    const prop_case *pc = S->pc;
    int m = vfy_case_n_atoms(pc);
    S->m = m;
    S->n_disj = pc->n_disj;
    S->words = (pc->n_disj + 63) / 64;
    if (S->words == 0)
        S->words = 1;
    S->C = cn_calloc((size_t)(m ? m : 1) * (size_t)S->n_out, sizeof(double));
    S->cerr = cn_calloc((size_t)(m ? m : 1) * (size_t)S->n_out, sizeof(double));
    S->r_up = cn_calloc((size_t)(m ? m : 1), sizeof(double));
    S->dstart = cn_calloc((size_t)pc->n_disj + 1, sizeof(int));
    S->in_lo = cn_mallocarray((size_t)S->n_in, sizeof(double));
    S->in_hi = cn_mallocarray((size_t)S->n_in, sizeof(double));
    if (!S->C || !S->cerr || !S->r_up || !S->dstart || !S->in_lo || !S->in_hi)
        return cn_fail(err, CN_ENOMEM, "out of memory for the property's atoms");
    for (int i = 0; i < S->n_in; i++) {
        S->in_lo[i] = cn_mpq_get_d_up(pc->lo[i]);
        S->in_hi[i] = cn_mpq_get_d_down(pc->hi[i]);
    }
    /* C, cerr, r_up by the row rule (R) of verifier.h */
    return vfy_case_rows(pc, S->n_out, S->C, S->cerr, S->r_up, S->dstart, err);
}

static cn_status build_relu_index(shared *S, cn_err *err)
{
    S->relu_layer = cn_calloc((size_t)S->n_relus + 1, sizeof(int));
    S->relu_off = cn_calloc((size_t)S->n_layers + 1, sizeof(int));
    S->wnorm = cn_calloc((size_t)S->n_relus + 1, sizeof(double));
    if (!S->relu_layer || !S->relu_off || !S->wnorm)
        return cn_fail(err, CN_ENOMEM, "out of memory");
    int g = 0;
    for (int i = 0; i < S->n_layers; i++) {
        const net_layer *l = net_layer_at(S->n, i);
        S->relu_off[i] = g;
        if (l->op != NET_RELU)
            continue;
        const net_layer *nx = i + 1 < S->n_layers ? net_layer_at(S->n, i + 1) : NULL;
        for (int k = 0; k < l->in; k++, g++) {
            S->relu_layer[g] = i;
            double s = 1.0;
            if (nx && nx->op == NET_DENSE) {
                s = 0;
                for (int o = 0; o < nx->out; o++)
                    s += fabs(nx->W[(size_t)o * nx->in + k]);
            }
            S->wnorm[g] = s;
        }
    }
    return CN_OK;
}

/* The sigmoid / tanh neurons in layer order (activation splitting): their
 * outgoing weight norms (1 when the next layer is not dense). */
static cn_status build_act_index(shared *S, cn_err *err)
{
    S->act_wnorm = cn_calloc((size_t)S->n_smooth + 1, sizeof(double));
    if (!S->act_wnorm)
        return cn_fail(err, CN_ENOMEM, "out of memory");
    int g = 0;
    for (int i = 0; i < S->n_layers; i++) {
        const net_layer *l = net_layer_at(S->n, i);
        if (!net_op_smooth(l->op))
            continue;
        const net_layer *nx = i + 1 < S->n_layers ? net_layer_at(S->n, i + 1) : NULL;
        for (int k = 0; k < l->in; k++, g++) {
            double s = 1.0;
            if (nx && nx->op == NET_DENSE) {
                s = 0;
                for (int o = 0; o < nx->out; o++)
                    s += fabs(nx->W[(size_t)o * nx->in + k]);
            }
            S->act_wnorm[g] = s;
        }
    }
    return CN_OK;
}

static int n_cores(void)
{
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c > 0 ? (int)c : 1;
}

/* Copies an open node into a self-contained subproblem. */
static cn_status node_to_sub(const shared *S, const node *nd, vfy_sub *s, cn_err *err)
{
    memset(s, 0, sizeof *s);
    s->case_idx = S->case_idx;
    s->pid = nd->pid;
    s->depth = nd->depth;
    s->n_in = S->n_in;
    s->n_relus = S->relu_mode ? S->n_relus : 0;
    s->words = S->words;
    s->lo = cn_mallocarray((size_t)S->n_in, sizeof(double));
    s->hi = cn_mallocarray((size_t)S->n_in, sizeof(double));
    s->alive = cn_mallocarray((size_t)S->words, sizeof(uint64_t));
    if (S->relu_mode)
        s->split = cn_malloc((size_t)S->n_relus);
    if (!s->lo || !s->hi || !s->alive || (S->relu_mode && !s->split)) {
        vfy_sub_clear(s);
        return cn_fail(err, CN_ENOMEM, "out of memory for a subproblem");
    }
    memcpy(s->lo, nd->lo, sizeof(double) * (size_t)S->n_in);
    memcpy(s->hi, nd->hi, sizeof(double) * (size_t)S->n_in);
    memcpy(s->alive, nd->alive, sizeof(uint64_t) * (size_t)S->words);
    if (S->relu_mode)
        memcpy(s->split, nd->split, (size_t)S->n_relus);
    return CN_OK;
}

/* Checks that a subproblem fits this case; CN_EINVAL names what differs. */
static cn_status check_sub(const shared *S, const vfy_sub *s, cn_err *err)
{
    if (s->n_in != S->n_in || s->words != S->words || !s->lo || !s->hi || !s->alive)
        return cn_fail(err, CN_EINVAL,
                       "subproblem: %d inputs and %d disjunct words, case %d has %d and %d",
                       s->n_in, s->words, S->case_idx, S->n_in, S->words);
    if (S->relu_mode != (s->split != NULL) || (s->split && s->n_relus != S->n_relus))
        return cn_fail(err, CN_EINVAL, "subproblem: ReLU splits (%d) do not match the engine's "
                       "%s splitting of %d ReLUs", s->n_relus, S->relu_mode ? "ReLU" : "input",
                       S->n_relus);
    for (int k = 0; k < S->n_in; k++)
        if (!(S->pc->lo_d[k] <= s->lo[k] && s->lo[k] <= s->hi[k] && s->hi[k] <= S->pc->hi_d[k]))
            return cn_fail(err, CN_EINVAL, "subproblem: input %d interval [%g, %g] is not inside "
                           "the case box [%g, %g]", k, s->lo[k], s->hi[k], S->pc->lo_d[k],
                           S->pc->hi_d[k]);
    for (int j = 0; s->split && j < S->n_relus; j++)
        if (s->split[j] < -1 || s->split[j] > 1)
            return cn_fail(err, CN_EINVAL, "subproblem: ReLU %d phase %d", j, s->split[j]);
    return CN_OK;
}

/* A case whose box reaches beyond the doubles (input k first): no bound can
 * be computed, so the box's exact corners lo and hi and its exact centre are
 * tried as counterexamples; SAT if one is, otherwise UNKNOWN with a reason
 * naming the input. */
static cn_status beyond_doubles(shared *S, int k, vfy_result *res, mpq_t *sat_q, cn_err *err)
{
    mpq_t *q = vfy__qvec_new(S->n_in);
    if (!q)
        return cn_fail(err, CN_ENOMEM, "out of memory");
    for (int t = 0; t < 3 && res->verdict != VFY_SAT; t++) {
        for (int i = 0; i < S->n_in; i++) {
            if (t < 2) {
                mpq_set(q[i], t == 0 ? S->pc->lo[i] : S->pc->hi[i]);
            } else {
                mpq_add(q[i], S->pc->lo[i], S->pc->hi[i]);
                mpq_div_2exp(q[i], q[i], 1);
            }
        }
        prop_check chk;
        prop_check_init(&chk);
        cn_status st = prop_check_point(S->p, S->n, q, &chk, err);
        bool hit = st == CN_OK && chk.violated;
        prop_check_clear(&chk);
        if (st != CN_OK) {
            vfy__qvec_free(q, S->n_in);
            return st;
        }
        if (hit) {
            res->verdict = VFY_SAT;
            res->found_by = "node";
            for (int i = 0; i < S->n_in; i++)
                mpq_set(sat_q[i], q[i]);
        }
    }
    vfy__qvec_free(q, S->n_in);
    if (res->verdict != VFY_SAT) {
        res->verdict = VFY_UNKNOWN;
        snprintf(res->reason, sizeof res->reason,
                 "input X_%d of case %d reaches beyond the double range (|x| > %.3g): no bounds",
                 k, S->case_idx, DBL_MAX);
    }
    return CN_OK;
}

/* The attack burst after phase `phase` (no worker runs): PGD on the whole
 * property for `seconds`; a counterexample (the attack's exact point) ends
 * the case with sat. */
static cn_status attack_burst(shared *S, int phase, double seconds, vfy_result *res,
                              cn_err *err)
{
    atk_opts ao;
    atk_opts_init(&ao);
    ao.seed = S->o->seed + VFY__BURST_SEED_STEP * (uint64_t)(phase + 1);
    ao.time_limit = seconds;
    atk_result ar;
    atk_result_init(&ar);
    cn_status st = atk_run(S->n, S->p, &ao, &ar, err);
    if (st == CN_OK && ar.found) {
        pthread_mutex_lock(&S->mu);
        S->verdict = VFY_SAT;
        S->found_by = "attack";
        for (int i = 0; i < S->n_in; i++)
            mpq_set(S->sat_q[i], ar.x[i]);
        vfy__stop_search(S, STOP_SAT, NULL);
        pthread_mutex_unlock(&S->mu);
    }
    res->attack_seconds += ar.seconds;
    res->phases.attack_s += ar.seconds;
    atk_result_clear(&ar);
    return st;
}

/* The workers' time per phase (summed over the T workers) as wall-clock
 * time: each phase's share of the workers' time, over T (verifier.h). */
static void add_phases(vfy_phase_times *ph, const double *phase_s, int T)
{
    ph->branch_s += phase_s[VFY__PH_BRANCH] / T;
    ph->attack_s += phase_s[VFY__PH_ATTACK] / T;
    ph->bounds_s += phase_s[VFY__PH_BOUNDS] / T;
    ph->optimise_s += phase_s[VFY__PH_OPTIMISE] / T;
    ph->lp_s += phase_s[VFY__PH_LP] / T;
}

/* Runs branch and bound on case ci.  *verdict: VFY_UNSAT, VFY_SAT (sat_q
 * filled), VFY_TIMEOUT or VFY_UNKNOWN.  With o->sub, only that subproblem's
 * node; with target > 0, stops once target nodes are open and moves them to
 * fr (then the verdict stays UNSAT: the caller knows from fr->n). */
cn_status vfy__run_case(const net *n, const prop *p, const vfy_opts *o, int ci, double t0,
                          double deadline, long nodes_before, volatile sig_atomic_t *stop,
                          vfy_proof *log, int target, vfy_frontier *fr, vfy_result *res,
                          mpq_t *sat_q, cn_err *err)
{
    shared S;
    memset(&S, 0, sizeof S);
    pthread_mutex_t mu0 = PTHREAD_MUTEX_INITIALIZER;
    S.log_mu = mu0;
    S.log = log;
    S.case_idx = ci;
    S.t_start = t0;
    S.nodes_before = nodes_before;
    S.n = n;
    S.p = p;
    S.o = o;
    S.pc = prop_case_at(p, ci);
    S.n_in = net_in_size(n);
    S.n_out = net_out_size(n);
    S.n_relus = net_n_relus(n);
    S.n_layers = net_n_layers(n);
    S.deadline = deadline;
    S.stop = stop;
    S.found_by = "";
    S.frontier_target = target;
    for (int k = 0; k < S.n_in; k++)
        if (mpq_cmp(S.pc->lo[k], S.pc->hi[k]) > 0) {
            /* empty box (decided exactly): nothing to refute, UNSAT holds
             * vacuously; the caller reports it (vfy_result.empty_cases) */
            res->found_by = "bounds";
            res->empty_cases = 1;
            vfy__log_set(&S, vfy__log_node(&S, -1, 0), VFY_PN_LEAF_EMPTY, -1, 0);
            return S.log_failed ? cn_fail(err, CN_ENOMEM, "out of memory for the proof log")
                                : CN_OK;
        }
    for (int k = 0; k < S.n_in; k++)
        if (!isfinite(S.pc->lo_d[k]) || !isfinite(S.pc->hi_d[k]))
            return beyond_doubles(&S, k, res, sat_q, err);
    for (int i = 0; i < S.n_layers; i++)
        if (net_op_smooth(net_layer_at(n, i)->op))
            S.n_smooth += net_layer_at(n, i)->in;
    vfy_split mode = o->split;
    if (mode == VFY_SPLIT_AUTO)
        mode = S.n_in <= o->input_split_max_dims    ? VFY_SPLIT_INPUT
               : S.n_relus == 0 && S.n_smooth > 0 ? VFY_SPLIT_ACT
                                                  : VFY_SPLIT_RELU;
    S.relu_mode = mode == VFY_SPLIT_RELU && S.n_relus > 0;
    /* activation splitting; not for distributed runs (a frontier node or a
     * subproblem carries no restrictions): input splitting there */
    S.act_mode = mode == VFY_SPLIT_ACT && S.n_smooth > 0 && target <= 0 && !o->sub;
    S.own_box = !S.relu_mode && !S.act_mode;
    S.bf_every = o->best_first_every >= 0 ? o->best_first_every
                 : S.relu_mode                ? VFY__BEST_FIRST_RELU
                                              : 1;
    cn_status st = build_atoms(&S, err);
    if (st == CN_OK)
        st = build_relu_index(&S, err);
    if (st == CN_OK && S.act_mode)
        st = build_act_index(&S, err);
    if (st == CN_OK && o->sub)
        st = check_sub(&S, o->sub, err);
    S.sat_q = vfy__qvec_new(S.n_in);
    if (st == CN_OK && !S.sat_q)
        st = cn_fail(err, CN_ENOMEM, "out of memory");
    if (st != CN_OK) {
        shared_clear(&S);
        return st;
    }
    S.opt_on = S.relu_mode && o->opt_bounds && o->method != BND_INTERVAL;
    S.opt_in = S.own_box && o->input_opt_gap > 0 && o->method != BND_INTERVAL && S.n_relus > 0;
    S.node_bytes = sizeof(node) + sizeof(uint64_t) * (size_t)S.words +
                   (S.own_box ? 4 * sizeof(double) * (size_t)S.n_in : 0) +
                   (S.relu_mode ? (size_t)S.n_relus : 0) +
                   (S.act_mode ? 2 * sizeof(double) * (size_t)S.n_smooth : 0) +
                   (S.opt_on ? 16 + 5 * (size_t)S.m * (size_t)S.n_relus : 0);
    S.node_bytes = (S.node_bytes + 15) & ~(size_t)15;
    S.mem_limit = (size_t)(o->max_mem_mb > 0 ? o->max_mem_mb : VFY__MEM_MB_DEFAULT) << 20;

    node *root = vfy__node_new(&S, NULL);
    S.heaps = S.own_box && S.bf_every == 1 && S.frontier_target <= 0;
    S.node_charge = S.node_bytes + (S.heaps ? 3 : 1) * sizeof(node *);
    S.stack = cn_mallocarray(VFY__OPEN_CAP0, sizeof(node *));
    for (int h = 0; S.heaps && h < 2; h++)
        S.hp[h] = cn_mallocarray(VFY__OPEN_CAP0, sizeof(node *));
    if (!root || !S.stack || (S.heaps && (!S.hp[0] || !S.hp[1]))) {
        cn_free(root);
        shared_clear(&S);
        return cn_fail(err, CN_ENOMEM, "out of memory");
    }
    S.cap = VFY__OPEN_CAP0;
    for (int d = 0; d < S.n_disj; d++)
        root->alive[d >> 6] |= 1ull << (d & 63);
    if (S.own_box) {
        memcpy(root->lo, S.pc->lo_d, sizeof(double) * (size_t)S.n_in);
        memcpy(root->hi, S.pc->hi_d, sizeof(double) * (size_t)S.n_in);
    }
    if (o->sub) { /* the subproblem's node (checked above) */
        for (int w = 0; w < S.words; w++)
            root->alive[w] &= o->sub->alive[w];
        if (S.own_box) {
            memcpy(root->lo, o->sub->lo, sizeof(double) * (size_t)S.n_in);
            memcpy(root->hi, o->sub->hi, sizeof(double) * (size_t)S.n_in);
        }
        if (S.relu_mode)
            memcpy(root->split, o->sub->split, (size_t)S.n_relus);
        root->depth = o->sub->depth;
    }
    root->pid = vfy__log_node(&S, -1, 0);
    if (S.n_disj == 0) {
        vfy__log_set(&S, root->pid, VFY_PN_LEAF_BOUNDS, -1, 0);
        cn_free(root);
        shared_clear(&S);
        res->found_by = "bounds";
        return S.log_failed ? cn_fail(err, CN_ENOMEM, "out of memory for the proof log")
                            : CN_OK; /* empty unsafe set */
    }
    vfy__open_push(&S, root);
    S.mem = S.node_charge;

    int T = o->threads > 0 ? o->threads : n_cores();
    if (T > VFY__MAX_THREADS)
        T = VFY__MAX_THREADS;
    worker *ws = cn_calloc((size_t)T, sizeof(worker));
    pthread_t *th = cn_calloc((size_t)T, sizeof(pthread_t));
    if (!ws || !th) {
        cn_free(ws);
        cn_free(th);
        shared_clear(&S);
        return cn_fail(err, CN_ENOMEM, "out of memory for worker threads");
    }
    for (int t = 0; t < T && st == CN_OK; t++)
        st = vfy__worker_init(&ws[t], &S, t, err);
    pthread_mutex_init(&S.mu, NULL);
    pthread_cond_init(&S.cv, NULL);
    /* Branch and bound in phases of growing length; between phases a PGD
     * burst of a quarter of the phase's length (counterexamples that need a
     * longer search than the initial attack are found this way). */
    double slice = o->attack_bursts ? VFY__PHASE0_S : 0.0;
    for (int phase = 0; st == CN_OK; phase++) {
        atomic_store_explicit(&S.done, false, memory_order_relaxed); /* (no worker runs) */
        S.why = STOP_NONE;
        S.paused = false;
        S.phase_end = slice > 0 ? vfy__now() + slice : 0;
        int started = 0;
        for (int t = 1; t < T; t++) {
            if (pthread_create(&th[t], NULL, vfy__worker_thread, &ws[t]) != 0)
                break;
            started++;
        }
        vfy__worker_main(&ws[0]);
        for (int t = 1; t <= started; t++)
            pthread_join(th[t], NULL);
        if (!S.paused || S.verdict || S.fail != CN_OK)
            break;
        double left = deadline > 0 ? deadline - vfy__now() : INFINITY;
        double burst = fmin(VFY__BURST_SHARE * slice, left);
        if (burst > VFY__BURST_MIN_S) {
            st = attack_burst(&S, phase, burst, res, err);
            if (S.verdict)
                break;
        }
        if (stop && *stop) {
            pthread_mutex_lock(&S.mu);
            vfy__stop_search(&S, STOP_INTERRUPTED, NULL);
            pthread_mutex_unlock(&S.mu);
            break;
        }
        slice *= 2;
    }
    pthread_mutex_destroy(&S.mu);
    pthread_cond_destroy(&S.cv);
    add_phases(&res->phases, S.phase_s, T);
    for (int t = 0; t < T; t++) {
        res->lp_tail_tries += ws[t].tail_tries;
        res->lp_tail_closed += ws[t].tail_closed;
        res->lp_tail_lps += ws[t].tail_lps;
        vfy__worker_clear(&ws[t]); /* zeroed when not initialised: clearing is safe */
    }
    cn_free(ws);
    cn_free(th);
    res->nodes += S.nodes;
    if (S.max_open > res->max_open)
        res->max_open = S.max_open;
    if (S.depth > res->depth)
        res->depth = S.depth;
    if (st == CN_OK && S.fail != CN_OK) {
        st = S.fail;
        *err = S.err;
    }
    if (st == CN_OK && S.log_failed)
        st = cn_fail(err, CN_ENOMEM, "out of memory for the proof log");
    if (st == CN_OK && S.frontier_hit && !S.verdict) {
        fr->subs = cn_reallocarray(NULL, (size_t)S.n_open, sizeof(vfy_sub));
        if (!fr->subs)
            st = cn_fail(err, CN_ENOMEM, "out of memory for the frontier");
        for (long i = 0; st == CN_OK && i < S.n_open; i++) {
            st = node_to_sub(&S, S.stack[i], &fr->subs[fr->n], err);
            if (st == CN_OK)
                fr->n++;
        }
    }
    if (st == CN_OK) {
        if (S.verdict == VFY_SAT) {
            res->verdict = VFY_SAT;
            res->found_by = S.found_by;
            for (int i = 0; i < S.n_in; i++)
                mpq_set(sat_q[i], S.sat_q[i]);
        } else if (S.verdict) {
            res->verdict = S.verdict;
            snprintf(res->reason, sizeof res->reason, "%s", S.reason);
        } else {
            res->found_by = S.nodes <= 1 ? "bounds" : "bab";
        }
    }
    shared_clear(&S);
    return st;
}

/* workers.c — the worker threads of one case's branch and bound: each takes
 * an open node (open_set.c), processes it (bound, search for a
 * counterexample, close or split), returns its children and checks the
 * stop conditions.  Every stop goes through vfy__stop_search; a bound pass
 * in progress stops with it (bound_stop), and its node goes back to the
 * open set.  Each worker keeps its time per phase and adds it to the
 * case's when it leaves its loop. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <glpk.h>

#include "verifier/engine_int.h"

/* Ends the phase for reason why (mu held); detail: the reason text of
 * STOP_UNDECIDED. */
void vfy__stop_search(shared *S, stop_reason why, const char *detail)
{
    vfy_verdict v = 0;
    char text[sizeof S->reason] = "";
    switch (why) {
    case STOP_UNDECIDED:
        v = VFY_UNKNOWN;
        snprintf(text, sizeof text, "%s", detail);
        break;
    case STOP_INTERRUPTED:
        v = VFY_TIMEOUT;
        snprintf(text, sizeof text, "interrupted");
        break;
    case STOP_TIMEOUT:
        v = VFY_TIMEOUT;
        snprintf(text, sizeof text, "time limit reached");
        break;
    case STOP_NODE_LIMIT:
        v = VFY_UNKNOWN;
        snprintf(text, sizeof text, "node limit %ld reached", S->o->max_nodes);
        break;
    case STOP_MEM_LIMIT:
        v = VFY_UNKNOWN;
        snprintf(text, sizeof text, "memory limit %ld MiB reached", S->o->max_mem_mb);
        break;
    default: /* SAT: the caller recorded the point; the others imply no verdict */
        break;
    }
    if (v && !S->verdict) {
        S->verdict = v;
        snprintf(S->reason, sizeof S->reason, "%s", text);
    }
    if (S->why == STOP_NONE) {
        S->why = why;
        if (why == STOP_PAUSE)
            S->paused = true;
        if (why == STOP_FRONTIER)
            S->frontier_hit = true;
    }
    atomic_store_explicit(&S->done, true, memory_order_release);
    pthread_cond_broadcast(&S->cv);
}

/* A node that can be neither closed nor split: the case is undecided. */
void vfy__set_undecided(shared *S, const char *why)
{
    pthread_mutex_lock(&S->mu);
    vfy__stop_search(S, STOP_UNDECIDED, why);
    pthread_mutex_unlock(&S->mu);
}

/* The bound passes' stop callback (bnd_opts.stop): the phase is over (a
 * counterexample, a limit, the phase's end) or the caller's stop flag is
 * set.  (The deadline is bnd_opts.deadline, checked first.) */
static bool bound_stop(void *arg)
{
    shared *S = arg;
    return vfy__stopping(S) || (S->stop && *S->stop);
}

/* A bound pass stops at the case's deadline (0: none) or by bound_stop. */
static void bound_limits(bnd_opts *b, shared *S)
{
    b->deadline = S->deadline;
    b->stop = bound_stop;
    b->stop_arg = S;
}

/* Processes one open node.  On CN_OK, *resolved tells that the node was
 * accounted for: closed (a leaf), split (children returned or closed at
 * once), given back (*back: a bound pass was stopped before the node was
 * split; the caller returns it to the open set unchanged), or a verdict
 * other than unsat was set.  Anything else would make a region vanish from
 * the search, so the caller treats it as an internal error, never as
 * progress towards unsat. */
static cn_status process(worker *w, node *nd, node **kids, int *n_kids, bool *resolved,
                         bool *back)
{
    shared *S = w->S;
    *n_kids = 0;
    *resolved = false;
    *back = false;
    w->halted = false;
    bool closed = false;
    if (!nd->evaluated || S->relu_mode) {
        /* (evaluated ReLU-split children are bounded again: their
         * intermediate bounds are needed for branching) */
        cn_status st = CN_OK;
        /* the root's bounds tightened (vfy__root_tighten) only when the
         * root is left open by its plain and optimised bounds (cheaper on
         * easy cases, and a certificate then needs no root claims).  With
         * a proof log the first pass's refutations are dropped and the
         * root bounded again from all its disjuncts: the checker holds
         * the claims in every region of the case, and a bound with other
         * intermediate bounds is not always as good, so every logged
         * refutation must have seen the bounds the checker will use */
        bool tighten = nd->depth == 0 && !nd->evaluated && S->opt_on && !S->o->sub &&
                       S->frontier_target <= 0;
        uint64_t *alive0 = NULL;
        if (tighten && S->log) {
            alive0 = cn_mallocarray((size_t)S->words, sizeof(uint64_t));
            if (!alive0)
                return cn_fail(&w->err, CN_ENOMEM, "out of memory at a root");
            memcpy(alive0, nd->alive, sizeof(uint64_t) * (size_t)S->words);
        }
        st = vfy__bound_node(w, nd, !nd->evaluated, &closed);
        if (st == CN_OK && tighten && !closed && !w->halted) {
            if (alive0) {
                vfy__log_drop_refs(S, nd->pid);
                memcpy(nd->alive, alive0, sizeof(uint64_t) * (size_t)S->words);
            }
            st = vfy__root_tighten(w, nd);
            if (st == CN_OK)
                st = vfy__bound_node(w, nd, true, &closed);
        }
        cn_free(alive0);
        if (!nd->evaluated)
            w->local_nodes++;
        if (st != CN_OK)
            return st;
        if (!closed && !w->halted && nd->depth == 0 && S->o->alpha_root && S->relu_mode &&
            !S->log && !S->ref_lo) {
            st = vfy__bound_region(w, nd->lo, nd->hi, nd->split, nd->alive, true, &nd->score,
                                   &closed);
            if (st != CN_OK)
                return st;
        }
        if (w->halted) {
            *resolved = *back = true;
            return CN_OK;
        }
        if (closed) {
            *resolved = true;
            return CN_OK;
        }
    }
    /* counterexample search in the node (with input splitting vfy__bound_node
     * tried the centre already) */
    bool found = false;
    if (!S->own_box) {
        for (int i = 0; i < S->n_in; i++)
            w->x[i] = nd->lo[i] + 0.5 * (nd->hi[i] - nd->lo[i]);
        found = vfy__try_point(w, w->x);
    }
    bool pgd = !found && S->o->node_pgd_every > 0 &&
               (w->local_nodes % S->o->node_pgd_every) == 0;
    if (found || (pgd && vfy__node_pgd(w, nd->lo, nd->hi, nd->evaluated ? nd->cand : NULL,
                                  nd->alive))) {
        *resolved = true; /* verdict sat */
        return CN_OK;
    }
    if (pgd && S->own_box)
        vfy__note_point(w, nd); /* where the PGD ended */
    if (S->relu_mode) {
        bool stuck;
        cn_status st = vfy__split_relu(w, nd, kids, n_kids, &stuck);
        if (st != CN_OK)
            return st;
        if (w->halted && *n_kids == 0) { /* stopped while trying candidates: not split */
            *resolved = *back = true;
            return CN_OK;
        }
        if (stuck) {
            st = vfy__node_lp(w, nd, &closed);
            if (st != CN_OK)
                return st;
            if (closed)
                vfy__log_set(S, nd->pid, VFY_PN_LEAF_LP, -1, 0);
            else if (w->halted) /* the LPs stopped early: the node goes back */
                *back = true;
            else
                vfy__set_undecided(S, "a node with every ReLU fixed is not refuted by its LP");
        }
        *resolved = true;
        return CN_OK;
    }
    if (S->act_mode) {
        bool split;
        cn_status st = vfy__split_act(w, nd, kids, n_kids, &split);
        if (st != CN_OK)
            return st;
        if (!split) /* neither closed nor split: it must not vanish */
            vfy__set_undecided(S, "no sigmoid/tanh interval left to split in double precision");
        *resolved = true;
        return CN_OK;
    }
    if (S->o->lp_tail > 0 && nd->n_unst <= S->o->lp_tail &&
        nd->n_unst < nd->lp_skip) {
        bool tfound;
        cn_status st = vfy__node_tail(w, nd, &closed, &tfound);
        if (st != CN_OK)
            return st;
        if (closed || tfound) {
            *resolved = true; /* a leaf (with the log: the tail's subtree) */
            return CN_OK;
        }
        if (w->halted) { /* (its bound was stopped: it tried nothing) */
            *resolved = *back = true;
            return CN_OK;
        }
        nd->lp_skip = nd->n_unst;
    }
    if (w->sample_here && vfy__node_sample(w, nd)) {
        *resolved = true; /* verdict sat */
        return CN_OK;
    }
    bool split;
    cn_status st = vfy__split_input(w, nd, kids, n_kids, &split);
    if (st != CN_OK)
        return st;
    if (w->halted && *n_kids == 0) { /* stopped while trying dimensions: not split */
        *resolved = *back = true;
        return CN_OK;
    }
    if (!split) /* neither closed nor split: it must not vanish */
        vfy__set_undecided(S, "input box too narrow to split in double precision");
    *resolved = true;
    return CN_OK;
}

/* The caller's progress callback, at most every VFY__PROGRESS_EVERY
 * seconds (mu held). */
static void progress(shared *S)
{
    if (!S->o->progress)
        return;
    double t = vfy__now();
    if (t - S->last_progress >= VFY__PROGRESS_EVERY) {
        S->last_progress = t;
        S->o->progress(S->o->progress_user, S->nodes_before + S->nodes, S->n_open,
                       t - S->t_start);
    }
}

/* After a node, the stop conditions in order: the frontier is made, the
 * caller's stop flag, the phase's end (unless the deadline is past too),
 * the deadline, the node and memory limits (mu held). */
static void check_limits(shared *S)
{
    if (S->frontier_target > 0 && S->n_open >= S->frontier_target)
        vfy__stop_search(S, STOP_FRONTIER, NULL);
    else if (S->stop && *S->stop)
        vfy__stop_search(S, STOP_INTERRUPTED, NULL);
    else if (S->phase_end > 0 && vfy__now() > S->phase_end &&
             !(S->deadline > 0 && vfy__now() > S->deadline))
        vfy__stop_search(S, STOP_PAUSE, NULL);
    else if (S->deadline > 0 && vfy__now() > S->deadline)
        vfy__stop_search(S, STOP_TIMEOUT, NULL);
    else if (S->o->max_nodes > 0 && S->nodes >= S->o->max_nodes)
        vfy__stop_search(S, STOP_NODE_LIMIT, NULL);
    else if (S->mem > S->mem_limit)
        vfy__stop_search(S, STOP_MEM_LIMIT, NULL);
}

/* A worker's loop: take an open node, process it without the lock, then
 * under mu account for it, open its children and check the limits; until
 * the phase stops. */
void *vfy__worker_main(void *arg)
{
    worker *w = arg;
    shared *S = w->S;
    w->phase = VFY__PH_BRANCH;
    w->phase_t = vfy__now();
    for (;;) {
        pthread_mutex_lock(&S->mu);
        while (!vfy__stopping(S) && S->n_open == 0 && S->busy > 0)
            pthread_cond_wait(&S->cv, &S->mu);
        if (vfy__stopping(S) || S->n_open == 0) {
            vfy__stop_search(S, STOP_EXHAUSTED, NULL); /* (or an earlier reason, kept) */
            vfy__phase_to(w, VFY__PH_BRANCH); /* this worker's time, into the case's */
            for (int p = 0; p < VFY__N_PHASES; p++) {
                S->phase_s[p] += w->phase_s[p];
                w->phase_s[p] = 0.0;
            }
            pthread_mutex_unlock(&S->mu);
            break;
        }
        node *nd = vfy__open_pick(S, &w->sample_here);
        S->busy++;
        pthread_mutex_unlock(&S->mu);

        node *kids[2];
        int n_kids = 0;
        long before = w->local_nodes;
        bool resolved, back;
        cn_status st = process(w, nd, kids, &n_kids, &resolved, &back);
        if (st == CN_OK && !resolved)
            st = cn_fail(&w->err, CN_EINTERNAL,
                         "a branch-and-bound node was neither closed nor split");
        int depth = nd->depth;
        if (st == CN_OK && back) { /* open again, to be bounded again */
            nd->evaluated = false;
            kids[n_kids++] = nd;
        } else {
            cn_free(nd);
        }

        pthread_mutex_lock(&S->mu);
        if (depth > S->depth)
            S->depth = depth;
        S->mem -= S->node_charge;
        S->nodes += w->local_nodes - before;
        if (st != CN_OK && S->fail == CN_OK) { /* the first failure wins */
            S->fail = st;
            S->err = w->err;
            vfy__stop_search(S, STOP_FAILED, NULL);
        }
        for (int k = 0; k < n_kids; k++) {
            /* Children may be dropped only when the search is over with a
             * verdict other than unsat; a pause keeps every open node. */
            if (S->verdict || S->fail != CN_OK) {
                cn_free(kids[k]);
                continue;
            }
            if (!vfy__open_reserve(S)) {
                cn_free(kids[k]);
                S->fail = cn_fail(&S->err, CN_ENOMEM, "out of memory for the node stack");
                vfy__stop_search(S, STOP_FAILED, NULL);
                continue;
            }
            vfy__open_push(S, kids[k]);
            S->mem += S->node_charge;
        }
        if (S->n_open > S->max_open)
            S->max_open = S->n_open;
        progress(S);
        S->busy--;
        if (!vfy__stopping(S))
            check_limits(S);
        if (S->n_open == 0 && S->busy == 0)
            vfy__stop_search(S, STOP_EXHAUSTED, NULL);
        pthread_cond_broadcast(&S->cv);
        pthread_mutex_unlock(&S->mu);
    }
    /* GLPK's environment is per thread: its objects die in the thread that
     * made them. */
    lp_ctx_free(w->lpc);
    w->lpc = NULL;
    return NULL;
}

void *vfy__worker_thread(void *arg)
{
    vfy__worker_main(arg);
    glp_free_env();    /* this thread's GLPK environment */
    bnd_thread_exit(); /* and its MPFR caches (sigmoid / tanh bounds) */
    return NULL;
}

void vfy__worker_clear(worker *w)
{
    bnd_ctx_free(w->bc);
    lp_ctx_free(w->lpc);
    atk_grad_free(w->g);
    atk_grad_free(w->gb);
    cn_free(w->sx);
    cn_free(w->sy);
    cn_free(w->lb);
    cn_free(w->x);
    cn_free(w->y);
    cn_free(w->gx);
    cn_free(w->cvec);
    cn_free(w->cvec_in);
    cn_free(w->ymax);
    cn_free(w->as);
    cn_free(w->as2);
    cn_free(w->alive_tmp);
    cn_free(w->alive_before);
    cn_free(w->cand);
    cn_free(w->pre_lo);
    cn_free(w->pre_hi);
    cn_free(w->lsplit);
    cn_free(w->tsplit);
    cn_free(w->lam);
    cn_free(w->tcy);
    cn_free(w->tcy_dn);
    vfy__opt_worker_clear(w);
    cert_bounds_free(w->cb);
    cn_free(w->ybuf);
    cn_free(w->ybuf_f);
    vfy__tt_clear(&w->tt);
    cn_free(w->bt_split);
    cn_free(w->bt_rg);
    cn_free(w->bt_res);
    cn_free(w->bt_lb);
    cn_free(w->bt_alive);
    cn_free(w->bt_score);
    for (int t = 0; t < 2; t++)
        for (int h = 0; h < 2; h++) {
            cn_free(w->tr[t].alive[h]);
            cn_free(w->tr[t].cand[h]);
        }
}

/* Regions per batch of branching trials (opts.batch; <= 1: none): with
 * ReLU splitting, all trials of a split (2 per candidate) unless the
 * workspaces would pass VFY__BATCH_MEM_MB (a region: its splits, bounds of
 * every layer and relaxations, about 16 doubles per neuron, and its query
 * rows over the widest layer, twice; the context's other workspaces, a few
 * copies of the largest weight matrix, do not grow with the batch). */
static int batch_size(const shared *S)
{
    int K = S->o->branch_candidates > 0 ? S->o->branch_candidates : 1;
    if (K > VFY__RELU_MAX_CANDIDATES)
        K = VFY__RELU_MAX_CANDIDATES;
    if (!S->relu_mode || K < 2)
        return 0;
    if (S->o->batch >= 0)
        return S->o->batch > 2 * K ? 2 * K : S->o->batch;
    double neurons = (double)S->n_in;
    for (int i = 0; i < S->n_layers; i++)
        neurons += (double)net_layer_at(S->n, i)->out;
    double per = (double)S->n_relus + 8.0 * (16.0 * neurons +
                                              2.0 * (double)S->m * (double)net_max_width(S->n));
    double fit = (double)VFY__BATCH_MEM_MB * 1048576.0 / per;
    int B = 2 * K;
    if (fit < B)
        B = fit < 1 ? 1 : (int)fit;
    return B;
}

cn_status vfy__worker_init(worker *w, shared *S, int idx, cn_err *err)
{
    memset(w, 0, sizeof *w);
    w->S = S;
    atk_rng_seed(&w->rng, S->o->seed * VFY__WORKER_SEED_MUL + (uint64_t)idx);
    bnd_opts_init(&w->bo, S->o->method);
    bnd_opts_init(&w->bo_alpha, BND_ALPHA);
    bound_limits(&w->bo, S);
    bound_limits(&w->bo_alpha, S);
    w->bc = bnd_ctx_new(S->n, err);
    if (!w->bc)
        return err->status;
    cn_status st = atk_grad_new(S->n, 1, &w->g, err);
    if (st != CN_OK)
        return st;
    w->lb = cn_mallocarray((size_t)S->m + 1, sizeof(double));
    w->x = cn_mallocarray((size_t)S->n_in, sizeof(double));
    w->gx = cn_mallocarray((size_t)S->n_in, sizeof(double));
    w->y = cn_mallocarray((size_t)S->n_out, sizeof(double));
    w->cvec = cn_mallocarray((size_t)S->n_out, sizeof(double));
    w->cvec_in = cn_mallocarray((size_t)S->n_in, sizeof(double));
    w->cand = cn_mallocarray((size_t)S->n_in, sizeof(double));
    w->ymax = cn_calloc((size_t)S->n_out, sizeof(double));
    w->alive_tmp = cn_mallocarray((size_t)S->words, sizeof(uint64_t));
    w->alive_before = cn_mallocarray((size_t)S->words, sizeof(uint64_t));
    w->pre_lo = cn_calloc((size_t)S->n_layers, sizeof(double *));
    w->pre_hi = cn_calloc((size_t)S->n_layers, sizeof(double *));
    w->lsplit = cn_calloc((size_t)S->n_layers, sizeof(signed char *));
    w->tsplit = cn_calloc((size_t)S->n_relus + 1, 1);
    w->lam = cn_calloc((size_t)S->m + 1, sizeof(double));
    w->tcy = cn_calloc((size_t)S->n_out, sizeof(double));
    w->tcy_dn = cn_calloc((size_t)S->n_out, sizeof(double));
    w->tr_best = -1;
    w->worst_atom = -1;
    if (S->act_mode) { /* vfy__act_choose's sensitivities */
        size_t mw = (size_t)S->n_in;
        for (int i = 0; i < S->n_layers; i++)
            if ((size_t)net_layer_at(S->n, i)->out > mw)
                mw = (size_t)net_layer_at(S->n, i)->out;
        w->as = cn_mallocarray(mw, sizeof(double));
        w->as2 = cn_mallocarray(mw, sizeof(double));
        if (!w->as || !w->as2)
            return cn_fail(err, CN_ENOMEM, "out of memory for a worker");
    }
    w->t_begin = vfy__now();
    bool tr_ok = true;
    for (int t = 0; t < 2; t++) {
        w->tr[t].dim = -1;
        for (int h = 0; h < 2; h++) {
            w->tr[t].alive[h] = cn_mallocarray((size_t)S->words, sizeof(uint64_t));
            w->tr[t].cand[h] = cn_mallocarray((size_t)S->n_in, sizeof(double));
            tr_ok = tr_ok && w->tr[t].alive[h] && w->tr[t].cand[h];
        }
    }
    if (!w->lb || !w->x || !w->gx || !w->y || !w->cvec || !w->cvec_in || !w->cand || !w->ymax ||
        !w->alive_tmp || !w->alive_before || !w->pre_lo || !w->pre_hi || !w->lsplit || !tr_ok ||
        !w->tsplit || !w->lam || !w->tcy || !w->tcy_dn)
        return cn_fail(err, CN_ENOMEM, "out of memory for a worker");
    w->bt_n = batch_size(S);
    if (w->bt_n > 1) {
        size_t B = (size_t)w->bt_n;
        w->bt_split = cn_calloc(B * (size_t)S->n_relus + 1, 1);
        w->bt_rg = cn_calloc(B, sizeof(bnd_region));
        w->bt_res = cn_calloc(B, sizeof(bnd_result));
        w->bt_lb = cn_mallocarray(B * (size_t)S->m + 1, sizeof(double));
        w->bt_alive = cn_mallocarray(B * (size_t)S->words + 1, sizeof(uint64_t));
        w->bt_score = cn_mallocarray(B, sizeof(double));
        if (!w->bt_split || !w->bt_rg || !w->bt_res || !w->bt_lb || !w->bt_alive || !w->bt_score)
            return cn_fail(err, CN_ENOMEM, "out of memory for a worker's batch of %d regions",
                           w->bt_n);
    }
    if ((S->opt_on || S->opt_in) && vfy__opt_worker_init(w) != CN_OK)
        return cn_fail(err, CN_ENOMEM, "out of memory for a worker's optimised bounds");
    return CN_OK;
}

/* mpi_bab.c — `certnn-mpi verify MODEL --vnnlib P`: one property decided by
 * branch and bound spread over MPI ranks.
 *
 *   1. Rank 0 runs vfy_frontier_split (attack, then breadth-first branch and
 *      bound) until K x ranks nodes are open, or the property is decided.
 *   2. The open nodes (vfy_sub) are the farm's tasks (mpi_farm.h): a task's
 *      bytes are its time budget and the packed sub; a rank decides it with
 *      vfy_verify and opts.sub, and returns the verdict, statistics, for sat
 *      the point, for unsat (with --cert) the packed proof subtree.
 *   3. Rank 0: a sat point is re-checked in exact rational arithmetic
 *      (prop_check_point) and ends the run at once; every unsat subtree is
 *      grafted into the frontier's proof log at its open leaf; when all are
 *      unsat the log is an ordinary proof and --cert writes one certificate.
 *      A timeout or unknown subproblem makes the verdict timeout / unknown
 *      (unless another rank finds a counterexample).
 *
 * Soundness does not rest on the transport: the certificate checker rebuilds
 * every region from the root and the recorded splits, and a counterexample
 * counts only after rank 0's own exact check.
 */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/mpi/mpi_cmd.h"
#include "cli/workflow.h"

/* ---- bytes ------------------------------------------------------------------ */

/* Results are written with wf_buf (binary-safe through wf_buf_put) and read
 * with ibuf, which refuses to read past the end. */
static void put(wf_buf *b, const void *v, size_t n) { wf_buf_put(b, (const char *)v, n); }

typedef struct {
    const unsigned char *p;
    size_t len, at;
} ibuf;

static bool get(ibuf *b, void *v, size_t n)
{
    if (b->len - b->at < n)
        return false;
    memcpy(v, b->p + b->at, n);
    b->at += n;
    return true;
}

/* ---- worker: one subproblem ------------------------------------------------- */

typedef struct {
    const net *n;
    const prop *p;
    vfy_opts engine;
} solver;

/* Result bytes: int32 verdict, depth, n_x; int64 nodes, max_open; double
 * seconds; the phase times (vfy_phase_times, five doubles); found_by[16];
 * reason[128]; n_x times (double x_d, int32 len,
 * decimal "num/den" text of x); int64 proof length and the packed proof. */
static cn_status pack_result(const vfy_result *r, unsigned char **buf, size_t *len, cn_err *err)
{
    wf_buf b;
    wf_buf_init(&b);
    int32_t v = (int32_t)r->verdict, depth = r->depth;
    int32_t n_x = r->verdict == VFY_SAT && r->x ? r->n_in : 0;
    int64_t nodes = r->nodes, max_open = r->max_open;
    char by[16] = {0}, reason[128] = {0};
    snprintf(by, sizeof by, "%s", r->found_by ? r->found_by : "");
    snprintf(reason, sizeof reason, "%s", r->reason);
    put(&b, &v, 4);
    put(&b, &depth, 4);
    put(&b, &n_x, 4);
    put(&b, &nodes, 8);
    put(&b, &max_open, 8);
    put(&b, &r->seconds, 8);
    put(&b, &r->phases, sizeof r->phases);
    put(&b, by, sizeof by);
    put(&b, reason, sizeof reason);
    for (int k = 0; k < n_x; k++) {
        put(&b, &r->x_d[k], 8);
        char *s = mpq_get_str(NULL, 10, r->x[k]);
        if (!s) {
            b.failed = true;
            break;
        }
        int32_t sl = (int32_t)strlen(s);
        put(&b, &sl, 4);
        put(&b, s, (size_t)sl);
        free(s);
    }
    unsigned char *pb = NULL;
    size_t pl = 0;
    if (r->verdict == VFY_UNSAT && r->proof) {
        cn_status st = vfy_proof_pack(r->proof, &pb, &pl, err);
        if (st != CN_OK) {
            wf_buf_clear(&b);
            return st;
        }
    }
    int64_t pl64 = (int64_t)pl;
    put(&b, &pl64, 8);
    if (pl)
        put(&b, pb, pl);
    cn_free(pb); /* (vfy_proof_pack allocates with cn_realloc) */
    /* the farm takes malloc'd bytes (mpi_farm.h) and frees them with free() */
    unsigned char *out = b.failed || !b.data ? NULL : malloc(b.len);
    if (!out) {
        wf_buf_clear(&b);
        return cn_fail(err, CN_ENOMEM, "out of memory packing a subproblem's result");
    }
    memcpy(out, b.data, b.len);
    *buf = out;
    *len = b.len;
    wf_buf_clear(&b);
    return CN_OK;
}

static cn_status solve_sub(void *user, long id, const unsigned char *task, size_t len,
                           volatile sig_atomic_t *stop, unsigned char **res, size_t *res_len,
                           cn_err *err)
{
    solver *sv = user;
    double budget;
    if (len < 8)
        return cn_fail(err, CN_EPARSE, "subproblem %ld: %zu bytes", id, len);
    memcpy(&budget, task, 8);
    vfy_sub sub;
    memset(&sub, 0, sizeof sub);
    cn_status st = vfy_sub_unpack(task + 8, len - 8, &sub, err);
    if (st != CN_OK)
        return st;
    vfy_opts o = sv->engine;
    o.sub = &sub;
    o.timeout_s = budget;
    vfy_result r;
    vfy_result_init(&r);
    st = vfy_verify(sv->n, sv->p, &o, stop, &r, err);
    if (st == CN_OK)
        st = pack_result(&r, res, res_len, err);
    vfy_result_clear(&r);
    vfy_sub_clear(&sub);
    return st;
}

/* ---- rank 0 ----------------------------------------------------------------- */

typedef struct {
    const net *n;
    const prop *p;
    const vfy_frontier *fr;
    double deadline;          /* wf_now() seconds, 0: none */
    vfy_proof *top;           /* the frontier's proof log (owned), NULL without --cert */
    vfy_result *final;        /* filled on sat */
    bool sat;
    int n_unsat, n_timeout, n_unknown;
    char reason[128];         /* of an unknown subproblem */
    long nodes, max_open;
    int depth;
    double attack_s;          /* the frontier's attack */
    double sub_seconds;       /* summed over subproblems */
    vfy_phase_times phases;   /* the frontier's */
    vfy_phase_times sub_phases;  /* summed over subproblems */
    double sub_max;           /* the longest subproblem */
    size_t task_bytes, result_bytes;
    cn_status fail;           /* a failure that ends the run */
    cn_err err;
} lead;

static cn_status task_bytes(void *user, long id, unsigned char **buf, size_t *len, cn_err *err)
{
    lead *L = user;
    double budget = 0;        /* none */
    if (L->deadline > 0)
        budget = fmax(L->deadline - wf_now(), 1e-3);
    unsigned char *sb = NULL;
    size_t sl = 0;
    cn_status st = vfy_sub_pack(&L->fr->subs[id], &sb, &sl, err);
    if (st != CN_OK)
        return st;
    unsigned char *b = malloc(8 + sl); /* the farm's (mpi_farm.h: malloc'd) */
    if (!b) {
        cn_free(sb);
        return cn_fail(err, CN_ENOMEM, "out of memory");
    }
    memcpy(b, &budget, 8);
    memcpy(b + 8, sb, sl);
    cn_free(sb); /* (vfy_sub_pack allocates with cn_realloc) */
    *buf = b;
    *len = 8 + sl;
    L->task_bytes += 8 + sl;
    return CN_OK;
}

/* The exact point of a sat result, re-checked here; true when it holds. */
static cn_status take_cex(lead *L, ibuf *in, int n_x, const char *by, bool *confirmed,
                          cn_err *err)
{
    const net *n = L->n;
    vfy_result *r = L->final;
    *confirmed = false;
    if (n_x != net_in_size(n))
        return cn_fail(err, CN_EPARSE, "counterexample with %d inputs for %d", n_x,
                       net_in_size(n));
    r->n_in = n_x;
    r->n_out = net_out_size(n);
    r->x = cn_mallocarray((size_t)n_x, sizeof(mpq_t));
    r->x_d = cn_mallocarray((size_t)n_x, sizeof(double));
    r->y_d = cn_mallocarray((size_t)r->n_out, sizeof(double));
    if (!r->x || !r->x_d || !r->y_d) {
        cn_free(r->x);
        r->x = NULL;
        return cn_fail(err, CN_ENOMEM, "out of memory");
    }
    for (int k = 0; k < n_x; k++)
        mpq_init(r->x[k]);
    for (int k = 0; k < n_x; k++) {
        int32_t sl;
        char s[4096];
        if (!get(in, &r->x_d[k], 8) || !get(in, &sl, 4) || sl <= 0 || sl >= (int32_t)sizeof s ||
            !get(in, s, (size_t)sl))
            return cn_fail(err, CN_EPARSE, "counterexample: malformed input %d", k);
        s[sl] = '\0';
        if (mpq_set_str(r->x[k], s, 10) != 0 || mpz_sgn(mpq_denref(r->x[k])) == 0)
            return cn_fail(err, CN_EPARSE, "counterexample: input %d is not a rational", k);
        mpq_canonicalize(r->x[k]);
    }
    cn_status st = prop_check_point(L->p, n, r->x, &r->check, err);
    if (st == CN_OK)
        st = net_forward(n, 1, r->x_d, r->y_d, err);
    if (st != CN_OK)
        return st;
    *confirmed = r->check.violated;
    if (*confirmed) {
        r->verdict = VFY_SAT;
        r->found_by = !strcmp(by, "attack") ? "attack" : "node";
    }
    return CN_OK;
}

static bool on_result(void *user, long id, int rank, bool ok, const unsigned char *res,
                      size_t len, const char *error)
{
    lead *L = user;
    if (!ok) {
        L->fail = cn_fail(&L->err, CN_EINTERNAL, "rank %d, subproblem %ld: %s", rank, id, error);
        return true;
    }
    L->result_bytes += len;
    ibuf in = {res, len, 0};
    int32_t v, depth, n_x;
    int64_t nodes, max_open, pl;
    double secs;
    vfy_phase_times ph;
    char by[16], reason[128];
    if (!get(&in, &v, 4) || !get(&in, &depth, 4) || !get(&in, &n_x, 4) || !get(&in, &nodes, 8) ||
        !get(&in, &max_open, 8) || !get(&in, &secs, 8) || !get(&in, &ph, sizeof ph) ||
        !get(&in, by, 16) || !get(&in, reason, 128)) {
        L->fail = cn_fail(&L->err, CN_EPARSE, "rank %d: malformed result", rank);
        return true;
    }
    by[15] = reason[127] = '\0';
    L->nodes += (long)nodes;
    L->sub_seconds += secs;
    L->sub_phases.attack_s += ph.attack_s;
    L->sub_phases.bounds_s += ph.bounds_s;
    L->sub_phases.optimise_s += ph.optimise_s;
    L->sub_phases.lp_s += ph.lp_s;
    L->sub_phases.branch_s += ph.branch_s;
    L->sub_max = fmax(L->sub_max, secs);
    if (max_open > L->max_open)
        L->max_open = (long)max_open;
    if (depth > L->depth)
        L->depth = depth;
    if (v == VFY_SAT) {
        bool confirmed = false;
        cn_status st = take_cex(L, &in, n_x, by, &confirmed, &L->err);
        if (st != CN_OK) {
            L->fail = st;
            return true;
        }
        if (confirmed) {
            L->sat = true;
            return true;
        }
        vfy_result_clear(L->final);   /* not confirmed here: no claim */
        L->n_unknown++;
        snprintf(L->reason, sizeof L->reason, "a counterexample from rank %d did not check",
                 rank);
        return false;
    }
    if (v == VFY_TIMEOUT) {
        L->n_timeout++;
        return false;
    }
    if (v != VFY_UNSAT) {
        L->n_unknown++;
        snprintf(L->reason, sizeof L->reason, "%s", reason);
        return false;
    }
    L->n_unsat++;
    for (int32_t k = 0; k < n_x; k++) {   /* none for unsat; skipped for robustness */
        double d;
        int32_t sl;
        if (!get(&in, &d, 8) || !get(&in, &sl, 4) || sl < 0 || (size_t)sl > len)
            break;
        in.at += (size_t)sl;
    }
    if (!get(&in, &pl, 8) || pl < 0 || (uint64_t)pl > len - in.at) {
        L->fail = cn_fail(&L->err, CN_EPARSE, "rank %d: malformed proof length", rank);
        return true;
    }
    if (!L->top)
        return false;
    vfy_proof *sub = NULL;
    cn_status st = pl == 0 ? cn_fail(&L->err, CN_EINTERNAL, "rank %d: unsat without a proof", rank)
                           : vfy_proof_unpack(res + in.at, (size_t)pl, &sub, &L->err);
    if (st == CN_OK)
        st = vfy_proof_graft(L->top, L->fr->subs[id].pid, sub, &L->err);
    vfy_proof_free(sub);
    if (st != CN_OK) {
        L->fail = st;
        return true;
    }
    return false;
}

/* ---- the frontier, while the workers wait ----------------------------------------- */

typedef struct {
    const net *n;
    const prop *p;
    const vfy_opts *o;
    int target;
    volatile sig_atomic_t *stop;
    vfy_frontier *fr;
    vfy_result *res;
    cn_err *err;
    cn_status st;
    atomic_int done;
} split_job;

static void *split_main(void *arg)
{
    split_job *j = arg;
    j->st = vfy_frontier_split(j->n, j->p, j->o, j->target, j->stop, j->fr, j->res, j->err);
    bnd_thread_exit(); /* this thread's MPFR caches (sigmoid / tanh bounds) */
    atomic_store(&j->done, 1);
    return NULL;
}

/* vfy_frontier_split in a thread of its own while this (MPI) thread tells the
 * workers every heartbeat that rank 0 is alive: a frontier may take longer than
 * their patience. */
static cn_status split(split_job *j, farm *f, double heartbeat_s)
{
    pthread_t th;
    if (pthread_create(&th, NULL, split_main, j) != 0)
        return cn_fail(j->err, CN_EINTERNAL, "cannot start the frontier thread");
    double last = 0;
    while (!atomic_load(&j->done)) {
        if (wf_now() - last >= heartbeat_s) {
            farm_ping(f);
            last = wf_now();
        }
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    pthread_join(th, NULL);
    return j->st;
}

/* ---- the command -------------------------------------------------------------- */

/* Loads the model and property, checks their sizes (every rank). */
static int load(const cli_args *a, bool speak, net **n, prop **p)
{
    cn_err err;
    const char *path = cli_str(a, "vnnlib");
    if (net_load(a->pos[0], n, &err) != CN_OK || prop_parse_vnnlib(path, p, &err) != CN_OK)
        return speak ? cli_report(&err) : cli_exit_code(err.status);
    if (prop_n_in(*p) != net_in_size(*n) || prop_n_out(*p) != net_out_size(*n)) {
        if (speak)
            cli_error("%s: property has %d inputs and %d outputs; the network has %d and %d",
                      path, prop_n_in(*p), prop_n_out(*p), net_in_size(*n), net_out_size(*n));
        return CLI_EXIT_DATA;
    }
    return -1;
}

/* Where the time went: the frontier's phases (rank 0 alone) plus the
 * subproblems', which ran on `ranks` ranks side by side, over ranks. */
static void sum_phases(vfy_phase_times *ph, const vfy_phase_times *front,
                       const vfy_phase_times *subs, int ranks)
{
    double k = ranks > 0 ? 1.0 / ranks : 1.0;
    ph->attack_s = front->attack_s + k * subs->attack_s;
    ph->bounds_s = front->bounds_s + k * subs->bounds_s;
    ph->optimise_s = front->optimise_s + k * subs->optimise_s;
    ph->lp_s = front->lp_s + k * subs->lp_s;
    ph->branch_s = front->branch_s + k * subs->branch_s;
}

/* Rank 0 after the farm: the verdict from the subproblems' outcomes. */
static void conclude(lead *L, const farm_stats *fs, vfy_result *r)
{
    if (L->sat)
        return;                                  /* r is the confirmed counterexample */
    vfy_result_clear(r);
    if (fs->interrupted || fs->timed_out || L->n_timeout > 0) {
        r->verdict = VFY_TIMEOUT;
        snprintf(r->reason, sizeof r->reason, "%s",
                 fs->interrupted ? "interrupted" : "time limit");
    } else if (L->n_unknown > 0 || L->n_unsat < L->fr->n) {
        r->verdict = VFY_UNKNOWN;
        snprintf(r->reason, sizeof r->reason, "%s",
                 L->reason[0] ? L->reason : "subproblems left open");
    } else {
        r->verdict = VFY_UNSAT;
        r->found_by = "bab";
        r->proof = L->top;
        L->top = NULL;
    }
}

int cnmpi_verify(const cli_args *a, const cnmpi_ctx *x)
{
    bool lead0 = x->rank == 0, quiet = cli_flag(a, "quiet");
    const char *model = a->pos[0], *path = cli_str(a, "vnnlib");
    if (!path) {
        if (lead0)
            cli_error("verify: --vnnlib FILE is required (see 'certnn-mpi verify --help')");
        return CLI_EXIT_USAGE;
    }
    if (cli_has(a, "sign") && !cli_has(a, "cert")) {
        if (lead0)
            cli_error("verify: --sign KEY goes with --cert OUT");
        return CLI_EXIT_USAGE;
    }
    vfy_opts o;
    if (!cli_engine_opts(a, &o))
        return CLI_EXIT_USAGE;
    int threads = cnmpi_threads(a, x);
    o.threads = threads;
    o.record_proof = cli_has(a, "cert");
    cn_err err;
    if (lead0 && cli_has(a, "sign")) {
        cert_key key;
        cn_status ks = cert_key_load(cli_str(a, "sign"), &key, &err);
        cert_key_wipe(&key);
        if (ks != CN_OK)
            return cli_report(&err);  /* the workers see rank 0 go and give up */
    }
    net *n = NULL;
    prop *p = NULL;
    int rc = load(a, lead0, &n, &p);
    if (rc >= 0) {
        net_free(n);
        prop_free(p);
        return rc;
    }
    rc = CLI_EXIT_OK;
    volatile sig_atomic_t *stop = cli_signals_catch();
    solver sv = {n, p, o};
    vfy_frontier fr;
    memset(&fr, 0, sizeof fr);
    vfy_result r;
    vfy_result_init(&r);
    lead L;
    memset(&L, 0, sizeof L);
    L.n = n;
    L.p = p;
    L.fr = &fr;
    L.final = &r;
    double t0 = wf_now(), t_front = 0;
    cn_status st = CN_OK;
    if (lead0) {
        int target = (int)cli_int(a, "subproblems") * x->size;
        split_job job = {n, p, &o, target, stop, &fr, &r, &err, CN_OK, 0};
        st = split(&job, x->f, cli_dbl(a, "heartbeat"));
        t_front = wf_now() - t0;
        if (st == CN_OK && fr.n > 0) {
            L.top = r.proof;          /* the rest of r says "frontier": start afresh */
            r.proof = NULL;
            L.nodes = r.nodes;
            L.max_open = r.max_open;
            L.depth = r.depth;
            L.attack_s = r.attack_seconds;
            L.phases = r.phases;
            vfy_result_clear(&r);
            if (o.timeout_s > 0)
                L.deadline = t0 + o.timeout_s;
        }
    }
    /* every rank takes part, also when rank 0 has nothing to hand out */
    farm_opts fo;
    farm_opts_init(&fo);
    cnmpi_farm_settings(a, &fo);
    fo.quiet = quiet || cli_flag(a, "json");
    fo.run = solve_sub;
    fo.run_user = &sv;
    fo.n_tasks = st == CN_OK ? fr.n : 0;
    fo.task = task_bytes;
    fo.result = on_result;
    fo.user = &L;
    fo.deadline = L.deadline;
    fo.stop = stop;
    farm_stats fs;
    cn_err ferr;
    cn_status fst = farm_run(x->f, &fo, &fs, &ferr);
    cli_signals_restore();
    if (!lead0) {
        rc = cnmpi_worker_exit(fst, &ferr);
        goto done;
    }
    if (st != CN_OK) {
        rc = cli_report(&err);
        goto done;
    }
    if (fst != CN_OK) {
        rc = cli_report(&ferr);
        goto done;
    }
    if (L.fail != CN_OK) {
        rc = cli_report(&L.err);
        goto done;
    }
    int n_subs = fr.n;
    if (n_subs > 0) {
        conclude(&L, &fs, &r);
        r.nodes = L.nodes;
        r.max_open = L.max_open;
        r.depth = L.depth;
        r.attack_seconds = L.attack_s;
        sum_phases(&r.phases, &L.phases, &L.sub_phases, fs.ranks);
    }
    r.seconds = wf_now() - t0;
    r.nodes_per_s = r.seconds > 0 ? (double)r.nodes / r.seconds : 0.0;
    if (!quiet)
        fprintf(stderr,
                "certnn-mpi: %d rank%s x %d thread%s; frontier %.3f s, %d subproblems "
                "(%d unsat, %d timeout, %d unknown), %.3f s in subproblems, %ld nodes, "
                "%zu + %zu bytes sent; %d rank%s lost, %d handed out again; longest "
                "subproblem %.3f s\n",
                fs.ranks, fs.ranks == 1 ? "" : "s", threads, threads == 1 ? "" : "s", t_front,
                n_subs, L.n_unsat, L.n_timeout, L.n_unknown, L.sub_seconds, r.nodes,
                L.task_bytes, L.result_bytes, fs.lost, fs.lost == 1 ? "" : "s", fs.reissued,
                L.sub_max);
    rc = cli_verify_report(a, model, n, path, p, &r);
done:
    vfy_proof_free(L.top);
    vfy_result_clear(&r);
    vfy_frontier_clear(&fr);
    net_free(n);
    prop_free(p);
    return rc;
}

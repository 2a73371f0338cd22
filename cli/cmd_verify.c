/* cmd_verify.c — `certnn verify MODEL (--vnnlib P | --data F --eps E ...)`.
 *
 * --vnnlib: the complete engine (verifier/engine.c: attack, bounds, branch
 * and bound) answers sat / unsat / timeout / unknown; with --incomplete, sound
 * bound propagation alone (bounds/) answers unsat or unknown, as below.
 * --data: per sample, bound propagation; a sample not proven is then attacked
 * (--attack S) or decided by the complete engine (--complete).
 *
 * A property is violated iff some case has a point in its region whose output
 * meets some disjunct (a conjunction of atoms "sum coef y <= rhs").  A
 * disjunct is ruled out when the sound lower bound of (lhs - rhs) of ANY of
 * its atoms is > 0; the property is `unsat` when every disjunct of every case
 * is ruled out, else `unknown` (the complete engine decides the rest).
 * For --data, each sample's eps-ball is such a property; the verdict is
 * `misclassified` when the double forward pass does not predict the label,
 * else `robust` (all margins proven > 0) or `unknown`. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>

#include <jansson.h>

#include "attacks/attacks.h"
#include "bounds/bounds.h"
#include "verifier/certify.h"
#include "cli/cli.h"
#include "verifier/verifier.h"
#include "cli/workflow.h"

static const cli_opt opts[] = {
    {"vnnlib", 'p', CLI_STR, "FILE", NULL, 0, -1, "VNN-LIB property to prove"},
    {"data", 'd', CLI_STR, "FILE", NULL, 0, -1,
     "samples (ERAN CSV, or IDX images with --labels): prove the eps-ball of each"},
    {"eps", 'e', CLI_STR, "E", NULL, 0, -1,
     "L-infinity radius for --data, a decimal read exactly (input = pixel/255, clipped to [0,1])"},
    {"labels", 0, CLI_STR, "FILE", NULL, 0, -1, "IDX labels file for --data IDX images"},
    {"samples", 'n', CLI_INT, "N", NULL, 1, 1e9, "number of samples for --data (default all)"},
    {"offset", 0, CLI_INT, "K", "0", 0, 1e9, "first sample for --data"},
    {"method", 'm', CLI_STR, "M", "crown", 0, -1, "interval, deeppoly, crown or alpha"},
    {"alpha-iters", 0, CLI_INT, "N", "30", 1, 100000, "gradient steps of the alpha method"},
    {"alpha-lr", 0, CLI_DOUBLE, "R", "0.3", 1e-6, 10, "Adam step size of the alpha method"},
    {"alpha-final-only", 0, CLI_FLAG, NULL, NULL, 0, -1,
     "alpha method: optimise only the slopes of the final bounds, not of every intermediate "
     "bound (faster, looser)"},
    {"incomplete", 0, CLI_FLAG, NULL, NULL, 0, -1,
     "--vnnlib: bound propagation only (--method), no attack and no branch and bound"},
    {"complete", 0, CLI_FLAG, NULL, NULL, 0, -1,
     "--data: decide samples the bounds do not prove with the complete engine"},
    {"attack", 0, CLI_DOUBLE, "S", "0.2", 0, 3600,
     "--data: seconds of PGD on a sample the bounds do not prove (0: none)"},
    {"timeout", 't', CLI_DOUBLE, "S", "300", 0, 1e9,
     "time limit of the complete engine, per property or sample (0: none)"},
    {"threads", 'j', CLI_INT, "T", "0", 0, 1024, "worker threads (0: all cores)"},
    {"max-nodes", 0, CLI_INT, "N", "0", 0, 1e15, "branch-and-bound node limit (0: none)"},
    {"max-mem", 0, CLI_INT, "MIB", "4096", 16, 1e9, "memory for open branch-and-bound nodes"},
    {"split", 0, CLI_STR, "HOW", "auto", 0, -1,
     "branching: input (bisect input intervals), relu (fix ReLU phases) or auto (input up to "
     "12 inputs)"},
    {"best-first", 0, CLI_INT, "K", "-1", -1, 1e9,
     "every K-th branch-and-bound node searched is the open node with the lowest bound "
     "(the rest depth first; 0: depth first only; -1: 1 with input splitting, 4 with ReLU "
     "splitting)"},
    {"node-samples", 0, CLI_INT, "N", "1024", 0, 1e6,
     "input splitting: random points of each node taken best first by its bound tried as "
     "counterexamples (0: none)"},
    {"lp-tail", 0, CLI_INT, "K", "0", 0, 16,
     "input splitting: a box with at most K unstable ReLUs is first tried with GLPK LPs over "
     "their phases (0: never; ignored with --cert, which cannot re-prove such leaves)"},
    {"seed", 0, CLI_INT, "N", "1", 0, 1e18, "seed of the attacks' random generator"},
    {"vnncomp-result", 0, CLI_STR, "FILE", NULL, 0, -1,
     "--vnnlib: also write the verdict (and counterexample) in VNN-COMP's result format"},
    {"cert", 0, CLI_STR, "OUT", NULL, 0, -1,
     "write a certificate (JSON) that 'certnn check' re-proves independently"},
    {"sign", 0, CLI_STR, "KEY", NULL, 0, -1, "sign the certificate with NAME.key (certnn keygen)"},
    {"quiet", 'q', CLI_FLAG, NULL, NULL, 0, -1, "no progress or notes on stderr"},
    {"json", 0, CLI_FLAG, NULL, NULL, 0, -1, "print a JSON object instead of text"},
    {NULL, 0, 0, NULL, NULL, 0, 0, NULL},
};

/* Set by SIGINT/SIGTERM: the engine stops and the results so far are kept. */
static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

bool cli_verify_engine_opts(const cli_args *a, vfy_opts *o)
{
    vfy_opts_init(o);
    o->timeout_s = cli_dbl(a, "timeout");
    o->threads = (int)cli_int(a, "threads");
    o->max_nodes = cli_int(a, "max-nodes");
    o->best_first_every = (int)cli_int(a, "best-first");
    o->node_samples = (int)cli_int(a, "node-samples");
    o->max_mem_mb = cli_int(a, "max-mem");
    o->seed = (uint64_t)cli_int(a, "seed");
    o->lp_tail = (int)cli_int(a, "lp-tail");
    const char *sp = cli_str(a, "split");
    if (!strcmp(sp, "auto"))
        o->split = VFY_SPLIT_AUTO;
    else if (!strcmp(sp, "input"))
        o->split = VFY_SPLIT_INPUT;
    else if (!strcmp(sp, "relu"))
        o->split = VFY_SPLIT_RELU;
    else {
        cli_error("--split: expected input, relu or auto, got '%s'", sp);
        return false;
    }
    return true;
}

static double now_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static json_t *num_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* ---- the bounds of one case ---------------------------------------------- */

/* Query rows for every atom of every disjunct of a case: row = coefficients
 * over y (each exactly a double, else the atom is unusable), d = -rhs rounded
 * up, so that lb(row y + d) <= lhs - rhs. */
typedef struct {
    int m, n_out;
    double *C, *d, *lb;
    bool *usable;
} case_rows;

static void case_rows_free(case_rows *q)
{
    free(q->C);
    free(q->d);
    free(q->lb);
    free(q->usable);
}

static bool case_rows_build(const prop_case *pc, int n_out, case_rows *q)
{
    memset(q, 0, sizeof *q);
    q->n_out = n_out;
    for (int k = 0; k < pc->n_disj; k++)
        q->m += pc->disj[k].n;
    size_t m = (size_t)(q->m ? q->m : 1);
    q->C = calloc(m * (size_t)n_out, sizeof(double));
    q->d = calloc(m, sizeof(double));
    q->lb = calloc(m, sizeof(double));
    q->usable = calloc(m, sizeof(bool));
    mpq_t *acc = malloc(sizeof(mpq_t) * (size_t)n_out);
    if (!q->C || !q->d || !q->lb || !q->usable || !acc) {
        free(acc);
        case_rows_free(q);
        return false;
    }
    for (int j = 0; j < n_out; j++)
        mpq_init(acc[j]);
    mpq_t t;
    mpq_init(t);
    int r = 0;
    for (int k = 0; k < pc->n_disj; k++)
        for (int a = 0; a < pc->disj[k].n; a++, r++) {
            const prop_lin *at = &pc->disj[k].atoms[a];
            for (int j = 0; j < n_out; j++)
                mpq_set_ui(acc[j], 0, 1);
            for (int e = 0; e < at->n; e++)
                mpq_add(acc[at->var[e]], acc[at->var[e]], at->coef[e]);
            bool ok = true;
            for (int j = 0; j < n_out; j++) {
                double v = mpq_get_d(acc[j]);
                mpq_set_d(t, v);
                if (!isfinite(v) || !mpq_equal(t, acc[j]))
                    ok = false;
                q->C[(size_t)r * (size_t)n_out + j] = v;
            }
            double rhs_up = cn_mpq_get_d_up(at->rhs);
            if (!isfinite(rhs_up))
                ok = false;
            q->d[r] = ok ? -rhs_up : 0.0;
            q->usable[r] = ok;
            if (!ok)
                memset(q->C + (size_t)r * (size_t)n_out, 0, sizeof(double) * (size_t)n_out);
        }
    mpq_clear(t);
    for (int j = 0; j < n_out; j++)
        mpq_clear(acc[j]);
    free(acc);
    return true;
}

/* Runs the bounds for one case; fills q->lb (unusable rows: -inf) and tells
 * whether every disjunct is ruled out. */
static cn_status case_bounds(bnd_ctx *bc, const bnd_opts *o, const prop_case *pc, case_rows *q,
                             bool *ruled_out, cn_err *err)
{
    bnd_region rg = {pc->lo_d, pc->hi_d, NULL};
    bnd_result res;
    cn_status s = bnd_run(bc, o, &rg, q->m, q->C, q->d, q->lb, &res, err);
    if (s != CN_OK)
        return s;
    for (int r = 0; r < q->m; r++)
        if (!q->usable[r] && !res.infeasible)
            q->lb[r] = -INFINITY;
    bool all = true;
    int r = 0;
    for (int k = 0; k < pc->n_disj; k++) {
        bool out = false;
        for (int a = 0; a < pc->disj[k].n; a++, r++)
            if (q->lb[r] > 0.0)
                out = true;
        all &= out;
    }
    *ruled_out = all;
    return CN_OK;
}

static bool parse_opts(const cli_args *a, bnd_opts *o)
{
    bnd_method m;
    const char *ms = cli_str(a, "method");
    if (!bnd_method_parse(ms, &m)) {
        cli_error("--method: expected interval, deeppoly, crown or alpha, got '%s'", ms);
        return false;
    }
    bnd_opts_init(o, m);
    o->alpha_iters = (int)cli_int(a, "alpha-iters");
    o->alpha_lr = cli_dbl(a, "alpha-lr");
    o->alpha_intermediate = !cli_flag(a, "alpha-final-only");
    return true;
}

/* ---- certificates (--cert OUT [--sign KEY]) ------------------------------- */

/* Signs (with --sign) and writes the document atomically; an exit code. */
static int cert_write(const cli_args *a, const cert_doc *d)
{
    cn_err err;
    cert_key key;
    const char *kpath = cli_str(a, "sign");
    if (kpath && cert_key_load(kpath, &key, &err) != CN_OK)
        return cli_report(&err);
    char *bytes = NULL;
    size_t len = 0;
    cn_status s = cert_doc_bytes(d, kpath ? &key : NULL, &bytes, &len, &err);
    cert_key_wipe(&key);
    if (s == CN_OK)
        s = cert_write_file(cli_str(a, "cert"), bytes, len, &err);
    cn_free(bytes);
    if (s != CN_OK)
        return cli_report(&err);
    if (!cli_flag(a, "quiet"))
        fprintf(stderr, "certnn: certificate written to %s (%zu bytes, %s)\n", cli_str(a, "cert"),
                len, kpath ? "signed" : "unsigned");
    return CLI_EXIT_OK;
}

/* A new document for a VNN-LIB property. */
static cn_status cert_new_vnnlib(const char *model, const net *n, const char *path,
                                 const prop *p, cert_doc **d, cn_err *err)
{
    char psha[65];
    cn_status s = vfy_cert_file_sha(path, psha, err);
    if (s != CN_OK)
        return s;
    net_info ni;
    net_get_info(n, &ni);
    cert_meta m = {.tool = "certnn " PACKAGE_VERSION, .model_file = model,
                   .model_sha256 = ni.sha256, .property = p, .property_file = path,
                   .property_sha256 = psha};
    return cert_doc_new(&m, d, err);
}

/* --vnnlib --cert: one result.  rc is the verdict's exit code; returns the
 * exit code to use (2 when an unsat verdict cannot be certified). */
static int cert_vnnlib(const cli_args *a, const char *model, const net *n, const char *path,
                       const prop *p, const vfy_result *r, int rc)
{
    if (r->verdict != VFY_SAT && r->verdict != VFY_UNSAT) {
        cli_error("no certificate written: the verdict %s claims nothing",
                  vfy_verdict_name(r->verdict));
        return rc;
    }
    cn_err err;
    cert_doc *d = NULL;
    if (cert_new_vnnlib(model, n, path, p, &d, &err) != CN_OK)
        return cli_report(&err);
    cert_entry e = {.method = r->verdict == VFY_SAT ? r->found_by : NULL, .time_s = r->seconds};
    bool certified;
    char why[512];
    cn_status s = vfy_cert_add_result(d, &e, false, p, r, &certified, why, sizeof why, &err);
    int out = rc;
    if (s != CN_OK)
        out = cli_report(&err);
    else if (!certified) {
        cli_error("no certificate written: %s", why);
        out = CLI_EXIT_UNKNOWN;
    } else {
        int w = cert_write(a, d);
        if (w != CLI_EXIT_OK)
            out = w;
    }
    cert_doc_free(d);
    return out;
}

/* --incomplete --cert: every case ruled out at its root by the bounds. */
static int cert_bounds_only(const cli_args *a, const char *model, const net *n,
                            const char *path, const prop *p, double secs, int rc)
{
    int nc = prop_n_cases(p);
    cert_tree *trees = cn_calloc((size_t)(nc ? nc : 1), sizeof(cert_tree));
    cert_doc *d = NULL;
    cn_err err;
    bool valid = false;
    char why[512] = "";
    int out = rc;
    cn_status s = trees ? vfy_cert_root_trees(p, trees, &err)
                        : cn_fail(&err, CN_ENOMEM, "out of memory");
    if (s == CN_OK)
        s = vfy_cert_selfcheck(n, p, nc, trees, &valid, why, sizeof why, &err);
    if (s == CN_OK && !valid) {
        cli_error("no certificate written: the certificate checker's CROWN bound does not "
                  "confirm this --method's bound (%s); use --method crown or the complete "
                  "engine", why);
        out = CLI_EXIT_UNKNOWN;
    } else if (s == CN_OK) {
        cert_entry e = {.verdict = "unsat", .method = "bounds", .time_s = secs};
        s = cert_new_vnnlib(model, n, path, p, &d, &err);
        if (s == CN_OK)
            s = cert_doc_add_proof(d, &e, nc, trees, &err);
        if (s == CN_OK) {
            int w = cert_write(a, d);
            if (w != CLI_EXIT_OK)
                out = w;
        }
    }
    if (s != CN_OK)
        out = cli_report(&err);
    for (int c = 0; trees && c < nc; c++)
        cert_tree_clear(&trees[c]);
    cn_free(trees);
    cert_doc_free(d);
    return out;
}

/* ---- --vnnlib ------------------------------------------------------------ */

static int verify_vnnlib(const char *model, const net *n, const cli_args *a, const bnd_opts *o)
{
    const char *path = cli_str(a, "vnnlib");
    bool json = cli_flag(a, "json");
    cn_err err;
    prop *p = NULL;
    if (prop_parse_vnnlib(path, &p, &err) != CN_OK)
        return cli_report(&err);
    int rc = CLI_EXIT_OK;
    bnd_ctx *bc = NULL;
    json_t *cases = json ? json_array() : NULL;
    if (prop_n_in(p) != net_in_size(n) || prop_n_out(p) != net_out_size(n)) {
        cli_error("%s: property has %d inputs and %d outputs; the network has %d and %d", path,
                  prop_n_in(p), prop_n_out(p), net_in_size(n), net_out_size(n));
        rc = CLI_EXIT_DATA;
        goto done;
    }
    bc = bnd_ctx_new(n, &err);
    if (!bc) {
        rc = cli_report(&err);
        goto done;
    }
    double t0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    bool all = true;
    for (int ci = 0; ci < prop_n_cases(p); ci++) {
        const prop_case *pc = prop_case_at(p, ci);
        case_rows q;
        if (!case_rows_build(pc, net_out_size(n), &q)) {
            cli_error("out of memory");
            rc = CLI_EXIT_OSERR;
            goto done;
        }
        bool out = false;
        if (case_bounds(bc, o, pc, &q, &out, &err) != CN_OK) {
            case_rows_free(&q);
            rc = cli_report(&err);
            goto done;
        }
        all &= out;
        if (json) {
            json_t *dis = json_array();
            int r = 0;
            for (int k = 0; k < pc->n_disj; k++) {
                json_t *lbs = json_array();
                bool dout = false;
                for (int at = 0; at < pc->disj[k].n; at++, r++) {
                    json_array_append_new(lbs, num_or_null(q.lb[r]));
                    dout |= q.lb[r] > 0.0;
                }
                json_array_append_new(dis, json_pack("{s:b, s:o}", "ruled_out", dout,
                                                     "atom_lower_bounds", lbs));
            }
            json_array_append_new(cases, json_pack("{s:i, s:b, s:o}", "case", ci, "ruled_out",
                                                   out, "disjuncts", dis));
        }
        case_rows_free(&q);
    }
    double wall = now_s(CLOCK_MONOTONIC) - t0, cpu = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    const char *verdict = all ? "unsat" : "unknown";
    rc = all ? CLI_EXIT_OK : CLI_EXIT_UNKNOWN;
    if (json) {
        int e = cli_print_json(json_pack("{s:s, s:s, s:s, s:s, s:f, s:f, s:o}", "verdict", verdict,
                                     "model", model, "property", path, "method",
                                     bnd_method_name(o->method), "time_s", wall, "cpu_s", cpu,
                                     "cases", cases));
        cases = NULL;
        if (e != CLI_EXIT_OK)
            rc = e;
    } else {
        printf("%s\n", verdict);
    }
    if (cli_has(a, "cert")) {
        fflush(stdout);
        if (all)
            rc = cert_bounds_only(a, model, n, path, p, wall, rc);
        else
            cli_error("no certificate written: the verdict unknown claims nothing");
    }
done:
    json_decref(cases);
    bnd_ctx_free(bc);
    prop_free(p);
    return rc;
}

/* ---- --vnnlib, complete ---------------------------------------------------- */

/* A JSON number, or null for a value outside the doubles (the exact point
 * is in "x_exact"). */
static json_t *json_real_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *cex_json(const vfy_result *r)
{
    json_t *x = json_array(), *xe = json_array(), *y = json_array(), *m = json_array();
    for (int k = 0; k < r->n_in; k++) {
        json_array_append_new(x, json_real_or_null(r->x_d[k]));
        char *q = mpq_get_str(NULL, 10, r->x[k]);
        json_array_append_new(xe, json_string(q));
        free(q);
    }
    for (int k = 0; k < r->n_out; k++)
        json_array_append_new(y, json_real_or_null(r->y_d[k]));
    for (int k = 0; k < r->check.n_margin; k++) {
        char *q = mpq_get_str(NULL, 10, r->check.margin[k]);
        json_array_append_new(m, json_string(q));
        free(q);
    }
    return json_pack("{s:o, s:o, s:o, s:i, s:i, s:o}", "x", x, "x_exact", xe, "y", y, "case",
                     r->check.case_idx, "disjunct", r->check.disj_idx, "exact_slacks", m);
}

static int verdict_exit(vfy_verdict v)
{
    switch (v) {
    case VFY_UNSAT: return CLI_EXIT_OK;
    case VFY_SAT: return CLI_EXIT_CEX;
    case VFY_TIMEOUT: return CLI_EXIT_TIMEOUT;
    case VFY_UNKNOWN: return CLI_EXIT_UNKNOWN;
    }
    return CLI_EXIT_UNKNOWN;
}

/* Progress of a long run on stderr (a terminal, not --quiet). */
static void show_progress(void *user, long nodes, long open, double elapsed)
{
    (void)elapsed; /* wf_progress shows its own elapsed time */
    char cur[96];
    snprintf(cur, sizeof cur, "%ld nodes, %ld open subproblems", nodes, open);
    wf_progress_show(user, 0, 1, cur, false);
}

static int verify_complete(const char *model, const net *n, const cli_args *a)
{
    const char *path = cli_str(a, "vnnlib"), *res_path = cli_str(a, "vnncomp-result");
    bool json = cli_flag(a, "json");
    vfy_opts o;
    if (!cli_verify_engine_opts(a, &o))
        return CLI_EXIT_USAGE;
    o.record_proof = cli_has(a, "cert");
    cn_err err;
    prop *p = NULL;
    if (prop_parse_vnnlib(path, &p, &err) != CN_OK) {
        int rc = cli_report(&err);
        cn_err werr;
        if (res_path && wf_write_atomic(res_path, "error\n", 6, &werr) != CN_OK)
            cli_report(&werr);
        return rc;
    }
    wf_progress prog;
    wf_progress_init(&prog, cli_flag(a, "quiet") || json);
    if (prog.on) {
        o.progress = show_progress;
        o.progress_user = &prog;
    }
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    vfy_result r;
    vfy_result_init(&r);
    cn_status st = vfy_verify(n, p, &o, &stop_flag, &r, &err);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    wf_progress_clear(&prog);
    int rc = st != CN_OK ? cli_report(&err) : cli_verify_report(a, model, n, path, p, &r);
    vfy_result_clear(&r);
    prop_free(p);
    return rc;
}

int cli_verify_report(const cli_args *a, const char *model, const net *n, const char *path,
                      const prop *p, const vfy_result *r)
{
    const char *res_path = cli_str(a, "vnncomp-result");
    bool json = cli_flag(a, "json");
    int rc = verdict_exit(r->verdict);
    cn_err werr;
    if (r->empty_cases > 0) /* a warning, shown even with -q */
        fprintf(stderr,
                "certnn: warning: %s: %d case%s of the property ha%s an empty input box (some "
                "lower bound above its upper bound): unsat holds vacuously and says nothing "
                "about the network\n",
                path, r->empty_cases, r->empty_cases == 1 ? "" : "s",
                r->empty_cases == 1 ? "s" : "ve");
    if (res_path && wf_write_vnncomp_result(res_path, r, &werr) != CN_OK)
        rc = cli_report(&werr);
    if (json) {
        json_t *root = json_pack("{s:s, s:s, s:s, s:f, s:f, s:I, s:I, s:i, s:s, s:s}", "verdict",
                                 vfy_verdict_name(r->verdict), "model", model, "property", path,
                                 "time_s", r->seconds, "attack_s", r->attack_seconds, "nodes",
                                 (json_int_t)r->nodes, "max_open", (json_int_t)r->max_open, "depth",
                                 r->depth, "found_by", r->found_by, "reason", r->reason);
        if (root && r->lp_tail_tries > 0)
            json_object_set_new(root, "lp_tail",
                                json_pack("{s:I, s:I, s:I}", "tries", (json_int_t)r->lp_tail_tries,
                                          "closed", (json_int_t)r->lp_tail_closed, "lps",
                                          (json_int_t)r->lp_tail_lps));
        if (root && r->verdict == VFY_SAT)
            json_object_set_new(root, "counterexample", cex_json(r));
        if (root)
            json_object_set_new(root, "empty_cases", json_integer(r->empty_cases));
        int e = cli_print_json(root);
        if (e != CLI_EXIT_OK)
            rc = e;
    } else {
        printf("%s\n", vfy_verdict_name(r->verdict));
        if (r->verdict == VFY_SAT) {
            printf("counterexample (case %d, disjunct %d, exact min slack %.17g):\n",
                   r->check.case_idx, r->check.disj_idx, r->check.worst_margin_d);
            for (int k = 0; k < r->n_in; k++) {
                mpq_t d;
                mpq_init(d);
                if (isfinite(r->x_d[k]))
                    mpq_set_d(d, r->x_d[k]);
                if (isfinite(r->x_d[k]) && mpq_equal(d, r->x[k])) {
                    printf("  X_%d = %.17g\n", k, r->x_d[k]);
                } else { /* no double is the point: print it exactly too */
                    printf("  X_%d = %.17g (exactly ", k, r->x_d[k]);
                    mpq_out_str(stdout, 10, r->x[k]);
                    printf(")\n");
                }
                mpq_clear(d);
            }
            for (int k = 0; k < r->n_out; k++)
                printf("  Y_%d = %.17g\n", k, r->y_d[k]);
        }
        fflush(stdout);
        if (!cli_flag(a, "quiet"))
            fprintf(stderr, "certnn: %s in %.3f s (%s%s%s), %ld nodes\n",
                    vfy_verdict_name(r->verdict), r->seconds, r->found_by[0] ? r->found_by : "",
                    r->reason[0] && r->found_by[0] ? "; " : "", r->reason, r->nodes);
    }
    if (cli_has(a, "cert")) {
        fflush(stdout);
        rc = cert_vnnlib(a, model, n, path, p, r, rc);
    }
    return rc;
}

/* ---- --data -------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The output j an eps-ball atom compares with the label (its other variable). */
static int atom_other(const prop_lin *at, int label)
{
    for (int e = 0; e < at->n; e++)
        if (at->var[e] != label)
            return at->var[e];
    return -1;
}

/* A sample the bounds did not prove: the complete engine (--complete) or a
 * short attack (--attack S) decides more; a counterexample is confirmed
 * exactly by both. */
/* With a certificate (doc not NULL) the outcome is appended to it as entry e
 * (*uncertified counts robust verdicts whose proof cannot be written). */
static cn_status decide_sample(const net *n, const prop *p, const cli_args *a,
                               const char **verdict, cert_doc *doc, const cert_entry *e,
                               int *uncertified, cn_err *err)
{
    *verdict = "unknown";
    if (cli_flag(a, "complete")) {
        vfy_opts o;
        cli_verify_engine_opts(a, &o);
        o.record_proof = doc != NULL;
        vfy_result r;
        vfy_result_init(&r);
        cn_status st = vfy_verify(n, p, &o, &stop_flag, &r, err);
        if (st == CN_OK)
            *verdict = r.verdict == VFY_UNSAT ? "robust"
                       : r.verdict == VFY_SAT ? "not-robust"
                       : r.verdict == VFY_TIMEOUT ? "timeout"
                                                  : "unknown";
        if (st == CN_OK && doc) {
            bool certified;
            char why[512];
            cert_entry en = *e;
            en.method = r.verdict == VFY_UNSAT ? "bab" : NULL;
            en.time_s = r.seconds;
            st = vfy_cert_add_result(doc, &en, true, p, &r, &certified, why, sizeof why, err);
            if (st == CN_OK && !certified) {
                (*uncertified)++;
                if (!cli_flag(a, "quiet"))
                    cli_error("sample %d: robust, but not certified: %s", e->index, why);
            }
        }
        vfy_result_clear(&r);
        return st;
    }
    double t = cli_dbl(a, "attack");
    if (t <= 0) {
        if (!doc)
            return CN_OK;
        cert_entry en = *e;
        en.verdict = "unknown";
        en.method = "bounds";
        return cert_doc_add_open(doc, &en, err);
    }
    atk_opts ao;
    atk_opts_init(&ao);
    ao.time_limit = t;
    ao.seed = (uint64_t)cli_int(a, "seed");
    atk_result ar;
    atk_result_init(&ar);
    cn_status st = atk_run(n, p, &ao, &ar, err);
    if (st == CN_OK && ar.found)
        *verdict = "not-robust";
    if (st == CN_OK && doc) {
        cert_entry en = *e;
        en.verdict = *verdict;
        en.method = "attack";
        en.time_s = ar.seconds;
        st = ar.found ? cert_doc_add_cex(doc, &en, ar.n_in, ar.x, &ar.check, err)
                      : cert_doc_add_open(doc, &en, err);
    }
    atk_result_clear(&ar);
    return st;
}

/* --data --cert: a misclassified sample i (x0 scratch [n_in]) as its own
 * counterexample when the exact check confirms it, else an open entry. */
static cn_status cert_sample_cex(const net *n, const ds_set *d, int i, mpq_t *x0,
                                 const mpq_t eps, const mpq_t clo, const mpq_t chi, int nout,
                                 int label, cert_doc *doc, const cert_entry *e, double secs,
                                 cn_err *err)
{
    prop *p = NULL;
    ds_input_q(d, i, x0);
    cn_status s = prop_eps_ball(net_in_size(n), x0, eps, clo, chi, nout, label, &p, err);
    prop_check chk;
    prop_check_init(&chk);
    if (s == CN_OK)
        s = prop_check_point(p, n, x0, &chk, err);
    cert_entry en = *e;
    en.method = "sample";
    en.time_s = secs;
    en.verdict = chk.violated ? "not-robust" : "unknown";
    if (s == CN_OK)
        s = chk.violated ? cert_doc_add_cex(doc, &en, net_in_size(n), x0, &chk, err)
                         : cert_doc_add_open(doc, &en, err);
    prop_check_clear(&chk);
    prop_free(p);
    return s;
}

/* --data --cert: a sample the bounds proved robust.  Its proof is one leaf
 * per case, confirmed by the certificate checker; when the checker's CROWN
 * does not confirm it (e.g. --method alpha), the complete engine (with
 * --complete) records a proof, else the entry stays open. */
static cn_status cert_sample_proof(const net *n, const prop *p, const cli_args *a,
                                   cert_doc *doc, const cert_entry *e, int *uncertified,
                                   cn_err *err)
{
    int nc = prop_n_cases(p);
    cert_tree *trees = cn_calloc((size_t)(nc ? nc : 1), sizeof(cert_tree));
    if (!trees)
        return cn_fail(err, CN_ENOMEM, "out of memory");
    bool valid = false;
    char why[512];
    cn_status s = vfy_cert_root_trees(p, trees, err);
    if (s == CN_OK)
        s = vfy_cert_selfcheck(n, p, nc, trees, &valid, why, sizeof why, err);
    cert_entry en = *e;
    en.verdict = "robust";
    en.method = "bounds";
    if (s == CN_OK && valid)
        s = cert_doc_add_proof(doc, &en, nc, trees, err);
    for (int c = 0; c < nc; c++)
        cert_tree_clear(&trees[c]);
    cn_free(trees);
    if (s != CN_OK || valid)
        return s;
    if (cli_flag(a, "complete")) {
        const char *v;
        int before = *uncertified;
        s = decide_sample(n, p, a, &v, doc, e, uncertified, err);
        if (s == CN_OK && strcmp(v, "robust") != 0 && *uncertified == before)
            (*uncertified)++;
        return s;
    }
    (*uncertified)++;
    en.verdict = "unknown";
    return cert_doc_add_open(doc, &en, err);
}

static int verify_data(const char *model, const net *n, const cli_args *a, const bnd_opts *o)
{
    const char *path = cli_str(a, "data"), *etext = cli_str(a, "eps");
    bool json = cli_flag(a, "json");
    if (!etext) {
        cli_error("verify: --data needs --eps E (see 'certnn verify --help')");
        return CLI_EXIT_USAGE;
    }
    mpq_t eps, clo, chi;
    mpq_init(eps);
    if (!cn_mpq_set_decimal(eps, etext, strlen(etext)) || mpq_sgn(eps) < 0) {
        cli_error("--eps: expected a non-negative decimal number, got '%s'", etext);
        mpq_clear(eps);
        return CLI_EXIT_USAGE;
    }
    mpq_init(clo);
    mpq_init(chi);
    mpq_set_ui(chi, 1, 1);
    cn_err err;
    ds_set *d = NULL;
    int count = cli_has(a, "samples") ? (int)cli_int(a, "samples") : -1;
    int offset = (int)cli_int(a, "offset");
    int in = net_in_size(n), nout = net_out_size(n);
    mpq_t *x0 = NULL;
    double *xd = NULL, *yd = NULL, *times = NULL, *margins = NULL;
    bnd_ctx *bc = NULL;
    cert_doc *doc = NULL;
    json_t *rows = json ? json_array() : NULL;
    int rc = CLI_EXIT_OK;
    if (ds_load(path, cli_str(a, "labels"), offset, count, &d, &err) != CN_OK) {
        rc = cli_report(&err);
        goto done;
    }
    if (d->dim != in) {
        cli_error("%s: samples have %d values; the network takes %d inputs", path, d->dim, in);
        rc = CLI_EXIT_DATA;
        goto done;
    }
    x0 = malloc(sizeof(mpq_t) * (size_t)in);
    xd = malloc(sizeof(double) * (size_t)in);
    yd = malloc(sizeof(double) * (size_t)nout);
    times = malloc(sizeof(double) * (size_t)(d->n ? d->n : 1));
    margins = malloc(sizeof(double) * (size_t)nout);
    if (!x0 || !xd || !yd || !times || !margins) {
        free(x0);
        x0 = NULL;
        cli_error("out of memory");
        rc = CLI_EXIT_OSERR;
        goto done;
    }
    for (int k = 0; k < in; k++)
        mpq_init(x0[k]);
    bc = bnd_ctx_new(n, &err);
    if (!bc) {
        rc = cli_report(&err);
        goto done;
    }
    if (cli_has(a, "cert")) {
        char dsha[65];
        net_info ni;
        net_get_info(n, &ni);
        cert_meta m = {.tool = "certnn " PACKAGE_VERSION, .model_file = model,
                       .model_sha256 = ni.sha256, .data_file = path, .data_sha256 = dsha,
                       .eps = etext};
        if (vfy_cert_file_sha(path, dsha, &err) != CN_OK || cert_doc_new(&m, &doc, &err) != CN_OK) {
            rc = cli_report(&err);
            goto done;
        }
    }
    int uncertified = 0;
    int verified = 0, misclassified = 0, unknown = 0, attacked = 0, n_timed = 0;
    double t_all = now_s(CLOCK_MONOTONIC), c_all = now_s(CLOCK_PROCESS_CPUTIME_ID);
    for (int i = 0; i < d->n; i++) {
        int label = d->labels[i], index = offset + i;
        if (label < 0 || label >= nout) {
            cli_error("sample %d: label %d is not an output of the network (%d outputs)", index,
                      label, nout);
            rc = CLI_EXIT_DATA;
            goto done;
        }
        double c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
        ds_input_d(d, i, xd);
        if (net_forward(n, 1, xd, yd, &err) != CN_OK) {
            rc = cli_report(&err);
            goto done;
        }
        int pred = 0;
        for (int j = 1; j < nout; j++)
            if (yd[j] > yd[pred])
                pred = j;
        const char *verdict;
        double minm = NAN;
        for (int j = 0; j < nout; j++)
            margins[j] = NAN;
        cert_entry ce = {.index = index, .label = label,
                         .pixels = d->pixels + (size_t)i * (size_t)in, .n_pixels = in};
        if (pred != label) {
            verdict = "misclassified";
            misclassified++;
            if (doc) {
                /* the sample itself is the counterexample, checked exactly */
                cn_status s = cert_sample_cex(n, d, i, x0, eps, clo, chi, nout, label, doc, &ce,
                                              now_s(CLOCK_PROCESS_CPUTIME_ID) - c0, &err);
                if (s != CN_OK) {
                    rc = cli_report(&err);
                    goto done;
                }
            }
        } else {
            ds_input_q(d, i, x0);
            prop *p = NULL;
            if (prop_eps_ball(in, x0, eps, clo, chi, nout, label, &p, &err) != CN_OK) {
                rc = cli_report(&err);
                goto done;
            }
            const prop_case *pc = prop_case_at(p, 0);
            case_rows q;
            bool out = false;
            if (!case_rows_build(pc, nout, &q)) {
                prop_free(p);
                cli_error("out of memory");
                rc = CLI_EXIT_OSERR;
                goto done;
            }
            cn_status s = case_bounds(bc, o, pc, &q, &out, &err);
            if (s == CN_OK) {
                int r = 0;
                for (int k = 0; k < pc->n_disj; k++)
                    for (int at = 0; at < pc->disj[k].n; at++, r++) {
                        int j = atom_other(&pc->disj[k].atoms[at], label);
                        if (j >= 0 && j < nout)
                            margins[j] = q.lb[r];
                        if (isnan(minm) || q.lb[r] < minm)
                            minm = q.lb[r];
                    }
            }
            case_rows_free(&q);
            ce.time_s = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
            if (s == CN_OK && !out)
                s = decide_sample(n, p, a, &verdict, doc, &ce, &uncertified, &err);
            else
                verdict = out ? "robust" : "unknown";
            if (s == CN_OK && out && doc)
                s = cert_sample_proof(n, p, a, doc, &ce, &uncertified, &err);
            prop_free(p);
            if (s != CN_OK) {
                rc = cli_report(&err);
                goto done;
            }
            if (!strcmp(verdict, "robust"))
                verified++;
            else if (!strcmp(verdict, "not-robust"))
                attacked++;
            else
                unknown++;
            times[n_timed++] = 1e3 * (now_s(CLOCK_PROCESS_CPUTIME_ID) - c0);
        }
        double ms = 1e3 * (now_s(CLOCK_PROCESS_CPUTIME_ID) - c0);
        if (json) {
            json_t *mj = json_array();
            for (int j = 0; j < nout; j++)
                json_array_append_new(mj, num_or_null(margins[j]));
            json_array_append_new(rows, json_pack("{s:i, s:i, s:i, s:s, s:o, s:o, s:f}", "index",
                                                  index, "label", label, "predicted", pred,
                                                  "verdict", verdict, "min_margin",
                                                  num_or_null(minm), "margins", mj, "cpu_ms",
                                                  ms));
        } else if (!isnan(minm)) {
            printf("sample %d: label %d, %s, min margin lower bound %.9g (%.1f ms)\n", index,
                   label, verdict, minm, ms);
        } else {
            printf("sample %d: label %d, predicted %d, %s\n", index, label, pred, verdict);
        }
    }
    double wall = now_s(CLOCK_MONOTONIC) - t_all, cpu = now_s(CLOCK_PROCESS_CPUTIME_ID) - c_all;
    qsort(times, (size_t)n_timed, sizeof(double), cmp_double);
    double median = n_timed ? (n_timed % 2 ? times[n_timed / 2]
                                           : 0.5 * (times[n_timed / 2 - 1] + times[n_timed / 2]))
                            : 0.0;
    rc = verified == d->n ? CLI_EXIT_OK : attacked ? CLI_EXIT_CEX : CLI_EXIT_UNKNOWN;
    if (json) {
        json_t *root = json_pack(
            "{s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:f, s:f, s:f, s:o}", "model", model,
            "data", path, "eps", etext, "method", bnd_method_name(o->method), "verified",
            verified, "total", d->n, "misclassified", misclassified, "not_robust", attacked,
            "unknown", unknown, "time_s", wall,
            "cpu_s", cpu, "median_cpu_ms", median, "results", rows);
        rows = NULL;
        int e = cli_print_json(root);
        if (e != CLI_EXIT_OK)
            rc = e;
    } else {
        printf("%d of %d verified (%d misclassified, %d not robust, %d unknown), method %s, "
               "%.3f s, median %.2f ms per correctly classified sample\n",
               verified, d->n, misclassified, attacked, unknown, bnd_method_name(o->method), wall,
               median);
    }
    if (doc) {
        fflush(stdout);
        if (uncertified)
            cli_error("%d robust sample%s could not be certified (recorded as unknown in the "
                      "certificate)", uncertified, uncertified == 1 ? "" : "s");
        int w = cert_write(a, doc);
        if (w != CLI_EXIT_OK)
            rc = w;
    }
done:
    cert_doc_free(doc);
    json_decref(rows);
    bnd_ctx_free(bc);
    if (x0)
        for (int k = 0; k < in; k++)
            mpq_clear(x0[k]);
    free(x0);
    free(xd);
    free(yd);
    free(times);
    free(margins);
    ds_free(d);
    mpq_clear(eps);
    mpq_clear(clo);
    mpq_clear(chi);
    return rc;
}

static int run(const cli_args *a)
{
    const char *vnn = cli_str(a, "vnnlib"), *data = cli_str(a, "data");
    if ((vnn != NULL) == (data != NULL)) {
        cli_error("verify: give exactly one of --vnnlib FILE and --data FILE (see 'certnn "
                  "verify --help')");
        return CLI_EXIT_USAGE;
    }
    if (vnn && (cli_has(a, "eps") || cli_has(a, "labels") || cli_has(a, "samples"))) {
        cli_error("verify: --eps, --labels and --samples go with --data, not --vnnlib");
        return CLI_EXIT_USAGE;
    }
    if (data && (cli_has(a, "vnncomp-result") || cli_flag(a, "incomplete"))) {
        cli_error("verify: --vnncomp-result and --incomplete go with --vnnlib, not --data");
        return CLI_EXIT_USAGE;
    }
    vfy_opts eo;
    if (!cli_verify_engine_opts(a, &eo))
        return CLI_EXIT_USAGE;
    bnd_opts o;
    if (!parse_opts(a, &o))
        return CLI_EXIT_USAGE;
    cn_err err;
    if (cli_has(a, "sign")) {
        cert_key key;
        if (!cli_has(a, "cert")) {
            cli_error("verify: --sign KEY goes with --cert OUT");
            return CLI_EXIT_USAGE;
        }
        cn_status ks = cert_key_load(cli_str(a, "sign"), &key, &err);
        cert_key_wipe(&key);
        if (ks != CN_OK)
            return cli_report(&err); /* before a long run, not after it */
    }
    net *n = NULL;
    if (net_load(a->pos[0], &n, &err) != CN_OK)
        return cli_report(&err);
    int rc = !vnn ? verify_data(a->pos[0], n, a, &o)
             : cli_flag(a, "incomplete") ? verify_vnnlib(a->pos[0], n, a, &o)
                                         : verify_complete(a->pos[0], n, a);
    net_free(n);
    return rc;
}

const cli_cmd cli_cmd_verify = {
    .name = "verify",
    .usage = "MODEL (--vnnlib FILE [--timeout S] [--threads T] | --data FILE --eps E "
             "[--samples N] [--complete]) [--json]",
    .summary = "prove or refute a property (complete engine), or the robustness of samples",
    .details =
        "--vnnlib: attack, then sound bounds, then parallel branch and bound.  Verdicts:\n"
        "`unsat` (proven: no input in the region meets the unsafe condition), `sat` (with a\n"
        "counterexample re-checked in exact rational arithmetic), `timeout`, `unknown`.\n"
        "With --incomplete only the bounds (--method) run: `unsat` or `unknown`.\n"
        "--data: per sample the eps-ball [x-eps, x+eps] ∩ [0,1] (x = pixel/255, exact):\n"
        "`misclassified` (double forward pass), `robust` (every margin lower bound > 0, or\n"
        "the complete engine with --complete), `not-robust` (exactly confirmed\n"
        "counterexample from --attack or --complete), `unknown` or `timeout`.\n"
        "Bounds hold for the exact rational network (directed rounding plus a-priori error\n"
        "bounds on BLAS products).  Exit 0 when everything is proven, 1 on a counterexample,\n"
        "2 unknown, 3 timeout.  SIGINT/SIGTERM stop the engine with `timeout`.\n"
        "--cert OUT writes a certificate (signed with --sign NAME.key) that 'certnn check'\n"
        "re-proves without this search: a counterexample, or the proof tree with every\n"
        "refutation (sat/unsat; for --data one entry per sample).  An unsat verdict whose\n"
        "proof cannot be certified yet (LP leaves) writes none and exits 2.",
    .opts = opts,
    .min_pos = 1,
    .max_pos = 1,
    .run = run,
};

/* cmd_verify.c — `certnn verify MODEL (--vnnlib P | --data F --eps E ...)`.
 *
 * --vnnlib: the complete engine (vfy_verify: attack, bounds, branch and
 * bound) answers sat / unsat / timeout / unknown; with --incomplete, sound
 * bound propagation alone (vfy_bounds_case) answers unsat or unknown, as
 * below.  --data (cmd_verify_data.c): per sample, bound propagation; a sample
 * not proven is then attacked (--attack S) or decided by the complete engine
 * (--complete).
 *
 * A property is violated iff some case has a point in its region whose output
 * meets some disjunct (a conjunction of atoms "sum coef y <= rhs").  A
 * disjunct is ruled out when the sound lower bound of (lhs - rhs) of ANY of
 * its atoms is > 0; the property is `unsat` when every disjunct of every case
 * is ruled out, else `unknown` (the complete engine decides the rest).
 * For --data, each sample's eps-ball is such a property; the verdict is
 * `misclassified` when the sample itself violates it (the double forward
 * pass does not predict the label, confirmed exactly), else `robust` (all
 * margins proven > 0) or `unknown`. */
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
#include "cli/cli.h"
#include "cli/cmd_verify.h"
#include "verifier/verifier.h"
#include "cli/workflow.h"

static const cli_opt opts[] = {
    {"vnnlib", 'p', CLI_STR, "FILE", NULL, 0, -1,
     "VNN-LIB property to prove ('-': read it from stdin)"},
    {"data", 'd', CLI_STR, "FILE", NULL, 0, -1,
     "samples (CSV of 8-bit or decimal values, IDX images or .npy with --labels): prove the "
     "eps-ball of each"},
    CLI_OPT_EPS(NULL, "radius of the balls of --data (L-infinity, or L2 with --norm 2), a "
                      "decimal read exactly (input = pixel/255 for 8-bit data, clipped to [0,1])"),
    CLI_OPT_LABELS("labels file for --data IDX images (IDX) or .npy data (.npy of integers)"),
    CLI_OPT_SAMPLES(NULL, "number of samples for --data (default all)"),
    CLI_OPT_OFFSET("first sample for --data"),
    CLI_OPT_MEAN,
    CLI_OPT_STD,
    CLI_OPT_NORM("--data: the balls' norm, inf (L-infinity) or 2 (L2: the bounds, then PGD in L2)"),
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
    CLI_ENGINE_OPT(timeout_s),
    CLI_ENGINE_OPT(threads),
    CLI_ENGINE_OPT(max_nodes),
    CLI_ENGINE_OPT(max_mem_mb),
    CLI_ENGINE_OPT(split),
    CLI_ENGINE_OPT(best_first_every),
    CLI_ENGINE_OPT(node_samples),
    CLI_ENGINE_OPT(lp_tail),
    CLI_ENGINE_OPT(opt_bounds),
    CLI_ENGINE_OPT(opt_iters),
    CLI_ENGINE_OPT(input_opt_gap),
    CLI_ENGINE_OPT(input_opt_iters),
    CLI_ENGINE_OPT(input_first_depth),
    CLI_ENGINE_OPT(branch_candidates),
    CLI_ENGINE_OPT(batch),
    CLI_ENGINE_OPT(seed),
    {"vnncomp-result", 0, CLI_STR, "FILE", NULL, 0, -1,
     "--vnnlib: also write the verdict (and counterexample) in VNN-COMP's result format"},
    {"cert", 0, CLI_OUT, "OUT", NULL, 0, -1,
     "write a certificate (JSON) that 'certnn check' re-proves independently"},
    {"sign", 0, CLI_STR, "KEY", NULL, 0, -1, "sign the certificate with NAME.key (certnn keygen)"},
    CLI_OPT_QUIET("no progress or notes on stderr"),
    CLI_OPT_JSON("print a JSON object instead of text"),
    {NULL, 0, 0, NULL, NULL, 0, 0, NULL},
};

double cli__clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static json_t *num_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

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

int cli__cert_write(const cli_args *a, const cert_doc *d)
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
        int w = cli__cert_write(a, d);
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
            int w = cli__cert_write(a, d);
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
    if (cli_prop_load(path, &p, &err) != CN_OK)
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
    double t0 = cli__clock(CLOCK_MONOTONIC), c0 = cli__clock(CLOCK_PROCESS_CPUTIME_ID);
    bool all = true;
    for (int ci = 0; ci < prop_n_cases(p); ci++) {
        const prop_case *pc = prop_case_at(p, ci);
        double *lb = cn_calloc((size_t)vfy_case_n_atoms(pc) + 1, sizeof(double));
        bool out = false;
        cn_status s = lb ? vfy_bounds_case(n, bc, o, p, ci, lb, &out, &err)
                         : cn_fail(&err, CN_ENOMEM, "out of memory");
        if (s != CN_OK) {
            cn_free(lb);
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
                    json_array_append_new(lbs, num_or_null(lb[r]));
                    dout |= lb[r] > 0.0;
                }
                json_array_append_new(dis, json_pack("{s:b, s:o}", "ruled_out", dout,
                                                     "atom_lower_bounds", lbs));
            }
            json_array_append_new(cases, json_pack("{s:i, s:b, s:o}", "case", ci, "ruled_out",
                                                   out, "disjuncts", dis));
        }
        cn_free(lb);
    }
    double wall = cli__clock(CLOCK_MONOTONIC) - t0, cpu = cli__clock(CLOCK_PROCESS_CPUTIME_ID) - c0;
    const char *verdict = all ? "unsat" : "unknown";
    rc = all ? CLI_EXIT_OK : CLI_EXIT_UNKNOWN;
    if (json) {
        /* the keys of the complete engine's document too (docs/json.md), null
         * where bound propagation alone has no such value */
        int e = cli_print_json(json_pack(
            "{s:s, s:s, s:s, s:s, s:f, s:f, s:n, s:n, s:n, s:n, s:s?, s:s?, s:n, s:n, s:n, s:o, "
            "s:n, s:n}",
            "verdict", verdict, "model", model, "property", path, "method",
            bnd_method_name(o->method), "time_s", wall, "cpu_s", cpu, "attack_s", "nodes",
            "max_open", "depth", "found_by", all ? "bounds" : NULL, "reason",
            all ? NULL : "the bounds do not rule out every case", "empty_cases", "lp_tail",
            "counterexample", "cases", cases, "phases", "nodes_per_second"));
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


static json_t *cex_json(const vfy_result *r)
{
    return cli_json_cex(r->n_in, r->x, r->x_d, r->n_out, r->y_d, &r->check);
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

static int verify_complete(const char *model, const net *n, const cli_args *a,
                           volatile sig_atomic_t *stop)
{
    const char *path = cli_str(a, "vnnlib"), *res_path = cli_str(a, "vnncomp-result");
    bool json = cli_flag(a, "json");
    vfy_opts o;
    if (!cli_engine_opts(a, &o))
        return CLI_EXIT_USAGE;
    o.record_proof = cli_has(a, "cert");
    cn_err err;
    prop *p = NULL;
    if (cli_prop_load(path, &p, &err) != CN_OK) {
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
    vfy_result r;
    vfy_result_init(&r);
    cn_status st = vfy_verify(n, p, &o, stop, &r, &err);
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
        /* the same keys as --incomplete's document (docs/json.md); method:
         * the bounds at branch-and-bound nodes */
        vfy_opts vo;
        (void)cli_engine_opts(a, &vo); /* parsed and range-checked already */
        json_t *root = json_pack(
            "{s:s, s:s, s:s, s:s, s:f, s:n, s:f, s:I, s:I, s:i, s:s?, s:s?, s:i, s:n, s:n, s:n, "
            "s:o, s:f}",
            "verdict", vfy_verdict_name(r->verdict), "model", model, "property", path, "method",
            bnd_method_name(vo.method), "time_s", r->seconds, "cpu_s", "attack_s",
            r->attack_seconds, "nodes", (json_int_t)r->nodes, "max_open", (json_int_t)r->max_open,
            "depth", r->depth, "found_by", r->found_by[0] ? r->found_by : NULL, "reason",
            r->reason[0] ? r->reason : NULL, "empty_cases", r->empty_cases, "lp_tail",
            "counterexample", "cases", "phases", cli_json_phases(&r->phases),
            "nodes_per_second", r->nodes_per_s);
        if (root && r->lp_tail_tries > 0)
            json_object_set_new(root, "lp_tail",
                                json_pack("{s:I, s:I, s:I}", "tries", (json_int_t)r->lp_tail_tries,
                                          "closed", (json_int_t)r->lp_tail_closed, "lps",
                                          (json_int_t)r->lp_tail_lps));
        if (root && r->verdict == VFY_SAT)
            json_object_set_new(root, "counterexample", cex_json(r));
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

static int run(const cli_args *a)
{
    const char *vnn = cli_str(a, "vnnlib"), *data = cli_str(a, "data");
    if (!vnn && !data) {
        cli_error("verify: missing --vnnlib FILE or --data FILE: the property to prove, or the "
                  "samples whose eps-balls to prove (see 'certnn verify --help')");
        return CLI_EXIT_USAGE;
    }
    if (vnn && data) {
        cli_error("verify: --vnnlib and --data exclude each other: give one (see 'certnn "
                  "verify --help')");
        return CLI_EXIT_USAGE;
    }
    if (vnn && (cli_has(a, "eps") || cli_has(a, "labels") || cli_has(a, "samples"))) {
        cli_error("verify: --eps, --labels and --samples go with --data, not --vnnlib");
        return CLI_EXIT_USAGE;
    }
    int norm_p = cli_norm(a);
    if (norm_p < 0)
        return CLI_EXIT_USAGE;
    if (norm_p == 2 && (vnn || cli_flag(a, "complete") || cli_has(a, "cert"))) {
        cli_error("verify: --norm 2 goes with --data and the bounds alone: the complete engine "
                  "(--complete), --vnnlib properties and certificates (--cert) speak of boxes");
        return CLI_EXIT_USAGE;
    }
    bool norm = cli_has(a, "mean") || cli_has(a, "std");
    if (vnn && norm) {
        cli_error("verify: --mean and --std go with --data, not --vnnlib (a VNN-LIB property "
                  "speaks of the network's own inputs)");
        return CLI_EXIT_USAGE;
    }
    if (norm && cli_has(a, "cert")) {
        cli_error("verify: --cert cannot record --mean/--std: 'certnn check' re-proves on the "
                  "model file alone; put the normalisation in the ONNX file (Sub and Div "
                  "before the first layer) to certify");
        return CLI_EXIT_USAGE;
    }
    if (data && (cli_has(a, "vnncomp-result") || cli_flag(a, "incomplete"))) {
        cli_error("verify: --vnncomp-result and --incomplete go with --vnnlib, not --data");
        return CLI_EXIT_USAGE;
    }
    vfy_opts eo;
    if (!cli_engine_opts(a, &eo))
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
    int se = cli_stdin_once(a->pos[0], vnn, cli_has(a, "cert"));
    if (se >= 0)
        return se;
    net *n = NULL;
    if (cli_net_load(a->pos[0], &n, &err) != CN_OK)
        return cli_report(&err);
    int ne = data ? cli_normalise(a, n) : -1;
    if (ne >= 0) {
        net_free(n);
        return ne;
    }
    /* The engine polls the signal flag, and --data checks it between samples;
     * one bound propagation of --vnnlib --incomplete is not stopped. */
    bool engine = vnn ? !cli_flag(a, "incomplete") : cli_flag(a, "complete");
    bool catch = engine || !vnn;
    volatile sig_atomic_t *stop = catch ? cli_signals_catch() : NULL;
    int rc = !vnn ? cli__verify_data(a->pos[0], n, a, &o, stop)
             : !engine ? verify_vnnlib(a->pos[0], n, a, &o)
                       : verify_complete(a->pos[0], n, a, stop);
    if (catch)
        cli_signals_restore();
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
        "--data: per sample the eps-ball [x-eps, x+eps] ∩ [0,1] (x = pixel/255 for 8-bit\n"
        "data, the values as given for decimal CSV and float .npy, each exact; eps in\n"
        "[0,1]): `misclassified` (the sample itself, confirmed in exact arithmetic),\n"
        "`robust` (every margin lower bound > 0, or the complete engine with --complete),\n"
        "`not-robust` (exactly confirmed counterexample from --attack or --complete),\n"
        "`unknown` or `timeout`.  --samples beyond the end of the file: a warning, and the\n"
        "samples there are.  --norm 2: the balls {x : ||x - x0||_2 <= eps} ∩ [0,1]^n,\n"
        "bounded with the L2 dual norm at the input, then attacked by PGD in L2.\n"
        "--mean/--std: the network sees (x - mean)/std per input\n"
        "channel (an exact layer put in front of it; eps stays in the units of x).\n"
        "Bounds hold for the exact rational network (directed rounding plus a-priori error\n"
        "bounds on BLAS products).  Exit 0 when everything is proven, 1 on a counterexample\n"
        "(--data: some sample misclassified or not robust), 2 unknown (--data: else some\n"
        "sample unknown or timeout), 3 timeout.  SIGINT/SIGTERM stop the engine with\n"
        "`timeout`; with --data the run ends after the sample at hand, each sample's line\n"
        "having been printed as it was decided, and the summary, --json (\"interrupted\")\n"
        "and --cert cover the samples done.\n"
        "MODEL or --vnnlib `-` reads that file from stdin (not both; not with --cert).\n"
        "--cert OUT writes a certificate (signed with --sign NAME.key) that 'certnn check'\n"
        "re-proves without this search: a counterexample, or the proof tree with every\n"
        "refutation, an LP leaf with its LP's multipliers (sat/unsat; for --data one\n"
        "entry per sample).  An unsat verdict whose proof cannot be certified writes none\n"
        "and exits 2.",
    .opts = opts,
    .min_pos = 1,
    .max_pos = 1,
    .run = run,
};

/* cmd_bench.c — `certnn bench SUITE_DIR`: runs a VNN-COMP style suite
 * (instances.csv) with the complete engine, writes a results CSV after every
 * instance (atomically), prints counts, the VNN-COMP score and the total time,
 * and checks the verdicts against expected_results*.csv and a baseline. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "verifier/cli.h"
#include "verifier/workflow.h"

static const cli_opt opts[] = {
    {"instances", 'i', CLI_STR, "FILE", "instances.csv", 0, -1,
     "instances file, relative to the suite (rows onnx,vnnlib,timeout; no header)"},
    {"expected", 0, CLI_STR, "FILE", NULL, 0, -1,
     "expected results (default: expected_results.csv, or expected_results_X.csv for "
     "instances_X.csv, in the suite, when present)"},
    {"timeout-scale", 's', CLI_DOUBLE, "S", "1", 1e-6, 1e6, "multiply every instance timeout"},
    {"max-timeout", 0, CLI_DOUBLE, "T", "0", 0, 1e9,
     "cap every instance timeout at T seconds (0: no cap)"},
    {"threads", 'j', CLI_INT, "T", "0", 0, 1024, "worker threads (0: all cores)"},
    {"seed", 0, CLI_INT, "N", "1", 0, 1e18, "seed of the attacks' random generator"},
    {"out", 'o', CLI_STR, "RESULTS.csv", NULL, 0, -1,
     "results file (onnx,vnnlib,verdict,time_s,nodes), rewritten atomically after every "
     "instance"},
    {"baseline", 'b', CLI_STR, "OLD.csv", NULL, 0, -1,
     "earlier results file: exit 1 on a regression (an instance solved there but not now, or "
     "a different verdict)"},
    {"quiet", 'q', CLI_FLAG, NULL, NULL, 0, -1, "no per-instance lines or progress"},
    {NULL, 0, 0, NULL, NULL, 0, 0, NULL},
};

static char *join(const char *dir, const char *rel)
{
    size_t n = strlen(dir) + strlen(rel) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s%s%s", rel[0] == '/' ? "" : dir, rel[0] == '/' ? "" : "/", rel);
    return s;
}

/* Progress inside one instance: the branch-and-bound nodes and open
 * subproblems next to the instance's name. */
typedef struct {
    wf_progress *prog;
    const wf_instance *in;
    int done, total;
} bench_progress;

static void show_nodes(void *user, long nodes, long open, double elapsed)
{
    bench_progress *b = user;
    char cur[256];
    snprintf(cur, sizeof cur, "%s | %ld nodes, %ld open, %.0f s", b->in->vnnlib, nodes, open,
             elapsed);
    wf_progress_show(b->prog, b->done, b->total, cur, false);
}

/* One instance: "sat", "unsat", "timeout", "unknown" or "error" (message on
 * stderr).  The network of the previous instance is reused when the same. */
static const char *run_instance(const char *dir, const wf_instance *in, const vfy_opts *base,
                                volatile sig_atomic_t *stop, net **cache, char **cache_path,
                                long *nodes, wf_progress *prog, int done, int total)
{
    cn_err err;
    const char *verdict = "error";
    char *mp = join(dir, in->onnx), *pp = join(dir, in->vnnlib);
    prop *p = NULL;
    *nodes = 0;
    if (!mp || !pp) {
        cn_fail(&err, CN_ENOMEM, "out of memory");
        goto fail;
    }
    if (!*cache || strcmp(*cache_path, mp) != 0) {
        net_free(*cache);
        *cache = NULL;
        free(*cache_path);
        *cache_path = NULL;
        if (net_load(mp, cache, &err) != CN_OK)
            goto fail;
        *cache_path = strdup(mp);
    }
    if (prop_parse_vnnlib(pp, &p, &err) != CN_OK)
        goto fail;
    if (prop_n_in(p) != net_in_size(*cache) || prop_n_out(p) != net_out_size(*cache)) {
        cn_fail(&err, CN_EINVAL, "%s: %d inputs and %d outputs; %s has %d and %d", pp,
                prop_n_in(p), prop_n_out(p), mp, net_in_size(*cache), net_out_size(*cache));
        goto fail;
    }
    vfy_opts o = *base;
    o.timeout_s = in->timeout;
    bench_progress bp = {prog, in, done, total};
    if (prog->on) {
        o.progress = show_nodes;
        o.progress_user = &bp;
    }
    vfy_result r;
    vfy_result_init(&r);
    if (vfy_verify(*cache, p, &o, stop, &r, &err) != CN_OK) {
        vfy_result_clear(&r);
        goto fail;
    }
    verdict = vfy_verdict_name(r.verdict);
    *nodes = r.nodes;
    vfy_result_clear(&r);
    goto out;
fail:
    wf_progress_clear(prog);
    cli_error("%s, %s: %s", in->onnx, in->vnnlib, err.msg[0] ? err.msg : "error");
out:
    prop_free(p);
    free(mp);
    free(pp);
    return verdict;
}

static int run(const cli_args *a)
{
    const char *dir = a->pos[0], *inst = cli_str(a, "instances"), *out = cli_str(a, "out");
    const char *base_path = cli_str(a, "baseline");
    bool quiet = cli_flag(a, "quiet");
    double scale = cli_dbl(a, "timeout-scale"), cap = cli_dbl(a, "max-timeout");
    cn_err err;
    wf_suite s = {0, NULL};
    wf_results res, base;
    wf_results_init(&res);
    wf_results_init(&base);
    int rc = CLI_EXIT_OK;
    char *ipath = join(dir, inst), *epath = NULL;
    net *cache = NULL;
    char *cache_path = NULL;
    volatile sig_atomic_t *stop = NULL;
    if (!ipath) {
        cli_error("out of memory");
        return CLI_EXIT_OSERR;
    }
    if (wf_suite_load(ipath, &s, &err) != CN_OK) {
        rc = cli_report(&err);
        goto done;
    }
    if (cli_str(a, "expected")) {
        epath = join(dir, cli_str(a, "expected"));
    } else {
        char name[512];
        wf_expected_name(inst, name, sizeof name);
        epath = join(dir, name);
        if (epath && access(epath, R_OK) != 0) {
            free(epath);
            epath = NULL;
        }
    }
    if (epath && wf_suite_expected(&s, epath, &err) != CN_OK) {
        rc = cli_report(&err);
        goto done;
    }
    if (base_path && wf_results_load(base_path, &base, &err) != CN_OK) {
        rc = cli_report(&err);
        goto done;
    }
    vfy_opts vo;
    vfy_opts_init(&vo);
    vo.threads = (int)cli_int(a, "threads");
    vo.seed = (uint64_t)cli_int(a, "seed");
    stop = wf_signals_catch();
    wf_progress prog;
    wf_progress_init(&prog, quiet);
    if (!quiet)
        printf("%-40s %-28s %-8s %-8s %9s %10s\n", "onnx", "vnnlib", "verdict", "expected",
               "time_s", "nodes");
    int n_sat = 0, n_unsat = 0, n_timeout = 0, n_unknown = 0, n_error = 0, wrong = 0;
    int score = 0, faster = 0, exp_solved_missed = 0;
    double t_all = 0, t_solved = 0;
    for (int i = 0; i < s.n && !*stop; i++) {
        wf_instance in = s.v[i];
        in.timeout *= scale;
        if (cap > 0 && in.timeout > cap)
            in.timeout = cap;
        char cur[300];
        snprintf(cur, sizeof cur, "%s %s", in.onnx, in.vnnlib);
        wf_progress_show(&prog, i, s.n, cur, true);
        double t0 = wf_now();
        long nodes = 0;
        const char *v =
            run_instance(dir, &in, &vo, stop, &cache, &cache_path, &nodes, &prog, i, s.n);
        double dt = wf_now() - t0;
        if (*stop)
            break;                     /* the interrupted instance has no verdict */
        if (wf_results_add(&res, in.onnx, in.vnnlib, v, dt, nodes, &err) != CN_OK) {
            rc = cli_report(&err);
            goto done;
        }
        if (out && wf_results_write(out, &res, &err) != CN_OK) {
            wf_progress_clear(&prog);
            rc = cli_report(&err);
            goto done;
        }
        bool bad = false;
        score += wf_score(v, in.expected, &bad);
        wrong += bad;
        bool solved = !strcmp(v, "sat") || !strcmp(v, "unsat");
        n_sat += !strcmp(v, "sat");
        n_unsat += !strcmp(v, "unsat");
        n_timeout += !strcmp(v, "timeout");
        n_unknown += !strcmp(v, "unknown");
        n_error += !strcmp(v, "error");
        t_all += dt;
        if (solved) {
            t_solved += dt;
            if (!bad && isfinite(in.fastest_s) && dt <= in.fastest_s)
                faster++;
        } else if (!strcmp(in.expected, "sat") || !strcmp(in.expected, "unsat")) {
            exp_solved_missed++;
        }
        if (!quiet) {
            wf_progress_clear(&prog);
            printf("%-40s %-28s %-8s %-8s %9.3f %10ld%s\n", in.onnx, in.vnnlib, v,
                   in.expected[0] ? in.expected : "-", dt, nodes, bad ? "  INCORRECT" : "");
            fflush(stdout);
        }
    }
    wf_progress_clear(&prog);
    int run_n = res.n;
    printf("%s%d of %d instances: solved %d (sat %d, unsat %d), timeout %d, unknown %d, "
           "error %d, incorrect %d\n",
           quiet ? "" : "\n", run_n, s.n, n_sat + n_unsat, n_sat, n_unsat, n_timeout, n_unknown,
           n_error, wrong);
    printf("score %d (VNN-COMP 2021: +10 per sat/unsat not contradicting the expected result, "
           "-100 per incorrect; no relative time bonus)\n",
           score);
    printf("time %.1f s in all, %.1f s on solved instances\n", t_all, t_solved);
    if (epath)
        printf("expected results %s: incorrect %d, expected sat/unsat not solved %d, "
               "solved within the fastest trusted tool's time %d\n",
               epath, wrong, exp_solved_missed, faster);
    else
        printf("no expected results file: verdicts not checked\n");
    int reg = 0;
    if (base_path) {
        wf_buf rep;
        wf_buf_init(&rep);
        int imp = 0;
        reg = wf_baseline_compare(&base, &res, &rep, &imp);
        if (rep.data)
            fputs(rep.data, stdout);
        printf("baseline %s: %d regressions, %d improvements\n", base_path, reg, imp);
        wf_buf_clear(&rep);
    }
    if (out)
        printf("results written to %s\n", out);
    fflush(stdout);
    if (*stop) {
        cli_error("interrupted by signal %d after %d of %d instances; results so far kept%s%s",
                  (int)*stop, run_n, s.n, out ? " in " : "", out ? out : "");
        rc = 128 + (int)*stop;
    } else if (wrong || reg) {
        if (wrong)
            cli_error("%d incorrect verdicts", wrong);
        if (reg)
            cli_error("%d regressions against the baseline", reg);
        rc = CLI_EXIT_CEX;
    }
done:
    if (stop)
        wf_signals_restore();
    net_free(cache);
    free(cache_path);
    free(ipath);
    free(epath);
    wf_results_free(&res);
    wf_results_free(&base);
    wf_suite_free(&s);
    return rc;
}

const cli_cmd cli_cmd_bench = {
    .name = "bench",
    .usage = "SUITE_DIR [--instances FILE] [--timeout-scale S] [--max-timeout T] [--threads T] "
             "[--out RESULTS.csv] [--baseline OLD.csv] [--quiet]",
    .summary = "run a VNN-COMP style suite, score it, compare with expected results",
    .details =
        "Runs every row of the suite's instances file (onnx,vnnlib,timeout; paths relative\n"
        "to SUITE_DIR) with the complete engine (timeout x --timeout-scale, capped by\n"
        "--max-timeout).  Prints one line per instance and the counts (solved, sat, unsat,\n"
        "timeout, unknown, error, incorrect), the VNN-COMP score (2021 rules without the\n"
        "relative time bonus: +10 per sat/unsat answer not contradicting the expected\n"
        "result, -100 per incorrect one; `sat` is always backed by an exactly checked\n"
        "counterexample) and the time.  `incorrect`: sat where expected_results says unsat,\n"
        "or unsat where it says sat.  --out is rewritten atomically after every instance,\n"
        "so a killed run leaves a valid partial file.  Exit 0 when everything agrees; 1 on\n"
        "an incorrect verdict or a regression against --baseline; 128 + signal after\n"
        "SIGINT/SIGTERM (the current instance is stopped and left out).",
    .opts = opts,
    .min_pos = 1,
    .max_pos = 1,
    .run = run,
};

/* cmd_bench.c — `certnn bench SUITE_DIR`: runs a VNN-COMP style suite
 * (instances.csv) with the complete engine, writes a results CSV after every
 * instance (atomically), prints counts, the VNN-COMP score and the total time,
 * and checks the verdicts against expected_results*.csv and a baseline. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/workflow.h"

static const cli_opt opts[] = {
    {"instances", 'i', CLI_STR, "FILE", "instances.csv", 0, -1,
     "instances file, relative to the suite (rows onnx,vnnlib,timeout; no header)"},
    {"expected", 0, CLI_STR, "FILE", NULL, 0, -1,
     "expected results (default: expected_results.csv, or expected_results_X.csv for "
     "instances_X.csv, in the suite, when present)"},
    {"timeout-scale", 's', CLI_DOUBLE, "S", "1", 1e-6, 1e6, "multiply every instance timeout"},
    {"max-timeout", 0, CLI_DOUBLE, "T", "0", 0, 1e9,
     "cap every instance timeout at T seconds (0: no cap)"},
    CLI_ENGINE_OPT(threads),
    CLI_ENGINE_OPT(seed),
    {"out", 'o', CLI_STR, "RESULTS.csv", NULL, 0, -1,
     "results file (onnx,vnnlib,verdict,time_s,nodes), rewritten atomically after every "
     "instance"},
    {"baseline", 'b', CLI_STR, "OLD.csv", NULL, 0, -1,
     "earlier results file: exit 1 on a regression (an instance solved there but not now, or "
     "a different verdict)"},
    CLI_OPT_QUIET("no per-instance lines or progress"),
    {NULL, 0, 0, NULL, NULL, 0, 0, NULL},
};

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

int cli_bench_exit(int sig, int run, int total, const char *out, int incorrect, int regressions)
{
    if (sig) {
        cli_error("interrupted by signal %d after %d of %d instances; results so far kept%s%s",
                  sig, run, total, out ? " in " : "", out ? out : "");
        return 128 + sig;
    }
    if (incorrect)
        cli_error("%d incorrect verdicts", incorrect);
    if (regressions)
        cli_error("%d regressions against the baseline", regressions);
    return incorrect || regressions ? CLI_EXIT_CEX : CLI_EXIT_OK;
}

static void put(wf_buf *b)
{
    if (b->data)
        fputs(b->data, stdout);
    fflush(stdout);
    wf_buf_clear(b);
}

static int run(const cli_args *a)
{
    const char *dir = a->pos[0], *out = cli_str(a, "out");
    const char *base_path = cli_str(a, "baseline");
    bool quiet = cli_flag(a, "quiet");
    cn_err err;
    wf_suite s = {0, NULL};
    wf_results res, base;
    wf_results_init(&res);
    wf_results_init(&base);
    wf_buf b;
    wf_buf_init(&b);
    int rc = CLI_EXIT_OK;
    char *epath = NULL;
    wf_net_cache cache = {NULL, NULL};
    volatile sig_atomic_t *stop = NULL;
    if (wf_suite_open(dir, cli_str(a, "instances"), cli_str(a, "expected"),
                      cli_dbl(a, "timeout-scale"), cli_dbl(a, "max-timeout"), &s, &epath,
                      &err) != CN_OK) {
        rc = cli_report(&err);
        goto done;
    }
    if (base_path && wf_results_load(base_path, &base, &err) != CN_OK) {
        rc = cli_report(&err);
        goto done;
    }
    vfy_opts vo;
    cli_engine_opts(a, &vo);      /* numbers only: cannot fail */
    stop = cli_signals_catch();
    wf_progress prog;
    wf_progress_init(&prog, quiet);
    if (!quiet) {
        wf_bench_header(&b);
        put(&b);
    }
    wf_tally t;
    memset(&t, 0, sizeof t);
    for (int i = 0; i < s.n && !*stop; i++) {
        const wf_instance *in = &s.v[i];
        char cur[300];
        snprintf(cur, sizeof cur, "%s %s", in->onnx, in->vnnlib);
        wf_progress_show(&prog, i, s.n, cur, true);
        vfy_opts o = vo;
        bench_progress bp = {&prog, in, i, s.n};
        if (prog.on) {
            o.progress = show_nodes;
            o.progress_user = &bp;
        }
        double t0 = wf_now();
        long nodes = 0;
        const char *v = "error";
        if (wf_bench_instance(dir, in, &o, stop, &cache, &v, &nodes, &err) != CN_OK) {
            wf_progress_clear(&prog);
            cli_error("%s, %s: %s", in->onnx, in->vnnlib, err.msg[0] ? err.msg : "error");
            v = "error";
            nodes = 0;
        }
        double dt = wf_now() - t0;
        if (*stop)
            break;                     /* the interrupted instance has no verdict */
        if (wf_results_add(&res, in->onnx, in->vnnlib, v, dt, nodes, &err) != CN_OK) {
            rc = cli_report(&err);
            goto done;
        }
        if (out && wf_results_write(out, &res, &err) != CN_OK) {
            wf_progress_clear(&prog);
            rc = cli_report(&err);
            goto done;
        }
        bool bad = wf_tally_add(&t, in, v, dt);
        if (!quiet) {
            wf_progress_clear(&prog);
            wf_bench_row(&b, in, v, dt, nodes, bad);
            put(&b);
        }
    }
    wf_progress_clear(&prog);
    if (!quiet)
        wf_buf_printf(&b, "\n");
    int reg = wf_bench_summary(&t, res.n, s.n, epath, base_path ? &base : NULL, base_path, &res,
                               &b);
    if (out)
        wf_buf_printf(&b, "results written to %s\n", out);
    put(&b);
    rc = cli_bench_exit((int)*stop, res.n, s.n, out, t.incorrect, reg);
done:
    if (stop)
        cli_signals_restore();
    wf_net_cache_clear(&cache);
    free(epath);
    wf_buf_clear(&b);
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

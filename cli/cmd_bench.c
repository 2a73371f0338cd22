/* cmd_bench.c — `certnn bench SUITE_DIR`: runs a VNN-COMP style suite
 * (instances.csv) with the complete engine, writes a results CSV after every
 * instance (atomically), prints counts, the VNN-COMP score and the total time
 * (or all of it as JSON), writes JUnit XML, and checks the verdicts against
 * expected_results*.csv and the verdicts and times against a baseline. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    {"out", 'o', CLI_OUT, "RESULTS.csv", NULL, 0, -1,
     "results file (onnx,vnnlib,verdict,time_s,nodes[,reason], then where the time went: "
     "attack_s, bounds_s, optimise_s, lp_s, branch_s, nodes_per_second), rewritten "
     "atomically after every instance"},
    {"baseline", 'b', CLI_STR, "OLD.csv", NULL, 0, -1,
     "earlier results file: exit 1 on a regression (an instance solved there but not now, or "
     "a different verdict); exit 65 when it shares no instance with the suite"},
    {"max-slowdown", 0, CLI_DOUBLE, "F", NULL, 1, 1e6,
     "with --baseline: exit 1 when an instance solved alike in both took longer than F x its "
     "baseline time + --slowdown-floor"},
    {"slowdown-floor", 0, CLI_DOUBLE, "S", "0.5", 0, 1e9,
     "seconds added to the --max-slowdown limit, so that timer noise on instances of a few "
     "milliseconds is no regression"},
    {"junit", 0, CLI_OUT, "FILE", NULL, 0, -1,
     "write JUnit XML (a testcase per instance), atomically, at the end (also after "
     "SIGINT/SIGTERM)"},
    CLI_OPT_JSON("print the summary and every instance's row as JSON on stdout (the "
                 "per-instance lines go to stderr)"),
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

/* The per-instance lines: on stdout, or on stderr when stdout carries JSON. */
static void put(wf_buf *b, FILE *f)
{
    if (b->data)
        fputs(b->data, f);
    fflush(f);
    wf_buf_clear(b);
}

static int run(const cli_args *a)
{
    const char *dir = a->pos[0], *out = cli_str(a, "out");
    const char *base_path = cli_str(a, "baseline"), *junit = cli_str(a, "junit");
    const char *instances = cli_str(a, "instances");
    bool quiet = cli_flag(a, "quiet"), json = cli_flag(a, "json");
    FILE *lines = json ? stderr : stdout;
    if (cli_has(a, "max-slowdown") && !base_path) {
        cli_error("bench: --max-slowdown compares times with a baseline: it needs --baseline "
                  "OLD.csv");
        return CLI_EXIT_USAGE;
    }
    cn_err err;
    wf_suite s = {0, NULL};
    wf_results res, base;
    wf_results_init(&res);
    wf_results_init(&base);
    wf_buf b;
    wf_buf_init(&b);
    int rc = CLI_EXIT_OK;
    char *epath = NULL, *ipath = NULL;
    wf_net_cache cache = {NULL, NULL};
    volatile sig_atomic_t *stop = NULL;
    if (wf_suite_open(dir, instances, cli_str(a, "expected"), cli_dbl(a, "timeout-scale"),
                      cli_dbl(a, "max-timeout"), &s, &epath, &err) != CN_OK) {
        rc = cli_report(&err);
        goto done;
    }
    ipath = wf_path_join(dir, instances);
    if (!ipath) {
        cli_error("out of memory");
        rc = CLI_EXIT_OSERR;
        goto done;
    }
    if (base_path && (wf_results_load(base_path, &base, &err) != CN_OK ||
                      wf_baseline_shares(&base, base_path, &s, ipath, &err) != CN_OK)) {
        rc = cli_report(&err);
        goto done;
    }
    wf_bench_run br = {dir, instances, &s, epath,
                       {base_path ? &base : NULL, base_path,
                        cli_has(a, "max-slowdown") ? cli_dbl(a, "max-slowdown") : 0,
                        cli_dbl(a, "slowdown-floor")},
                       (long)time(NULL)};
    vfy_opts vo;
    cli_engine_opts(a, &vo);      /* numbers only: cannot fail */
    stop = cli_signals_catch();
    wf_progress prog;
    wf_progress_init(&prog, quiet);
    if (!quiet) {
        wf_bench_header(&b);
        put(&b, lines);
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
        char reason[WF_REASON_MAX] = "";
        wf_timing tm = {false, {0, 0, 0, 0, 0}, 0};
        if (wf_bench_instance(dir, in, &o, stop, &cache, &v, &nodes, reason, &tm, &err) !=
            CN_OK) {
            wf_progress_clear(&prog);
            snprintf(reason, sizeof reason, "%s", err.msg[0] ? err.msg : "error");
            cli_error("%s, %s: %s", in->onnx, in->vnnlib, reason);
            v = "error";
            nodes = 0;
            tm.known = false;
        }
        double dt = wf_now() - t0;
        if (*stop)
            break;                     /* the interrupted instance has no verdict */
        if (wf_results_add_reason(&res, in->onnx, in->vnnlib, v, dt, nodes, reason, &err) !=
            CN_OK) {
            rc = cli_report(&err);
            goto done;
        }
        wf_results_set_timing(&res, &tm);
        if (out && wf_results_write(out, &res, &err) != CN_OK) {
            wf_progress_clear(&prog);
            rc = cli_report(&err);
            goto done;
        }
        wf_tally_add(&t, in, v, dt);
        if (!quiet) {
            wf_progress_clear(&prog);
            wf_bench_row(&b, &br, i + 1, s.n, &res.v[res.n - 1]);
            put(&b, lines);
        }
    }
    wf_progress_clear(&prog);
    wf_base_counts bc;
    if (!quiet && !json)
        wf_buf_printf(&b, "\n");
    wf_bench_summary(&br, &t, &res, &b, &bc);
    if (json) {
        wf_buf_clear(&b);
        rc = cli_print_json(wf_bench_json(&br, &t, &res, *stop != 0));
        if (rc != CLI_EXIT_OK)
            goto done;
    } else {
        if (out)
            wf_buf_printf(&b, "results written to %s\n", out);
        if (junit)
            wf_buf_printf(&b, "JUnit XML written to %s\n", junit);
        put(&b, stdout);
    }
    if (junit) {
        wf_bench_junit(&br, &res, &b);
        cn_status st = wf_write_buf(junit, &b, &err);
        wf_buf_clear(&b);
        if (st != CN_OK) {
            rc = cli_report(&err);
            goto done;
        }
    }
    rc = wf_bench_exit((int)*stop, res.n, s.n, out, &t, &bc);
done:
    if (stop)
        cli_signals_restore();
    wf_net_cache_clear(&cache);
    free(epath);
    free(ipath);
    wf_buf_clear(&b);
    wf_results_free(&res);
    wf_results_free(&base);
    wf_suite_free(&s);
    return rc;
}

const cli_cmd cli_cmd_bench = {
    .name = "bench",
    .usage = "SUITE_DIR [--instances FILE] [--timeout-scale S] [--max-timeout T] [--threads T] "
             "[--out RESULTS.csv] [--baseline OLD.csv [--max-slowdown F]] [--junit FILE] "
             "[--json] [--quiet]",
    .summary = "run a VNN-COMP style suite, score it, compare with expected results",
    .details =
        "Runs every row of the suite's instances file (onnx,vnnlib,timeout; paths relative\n"
        "to SUITE_DIR) with the complete engine (timeout x --timeout-scale, capped by\n"
        "--max-timeout).  Prints one line per finished instance (verdict, expected result,\n"
        "time, nodes, done/total; plain lines, so a log file reads well: the redrawn\n"
        "progress line appears only when stderr is a terminal) and the counts (solved,\n"
        "sat, unsat, timeout, unknown, error, incorrect), the VNN-COMP score (2021 rules\n"
        "without the relative time bonus: +10 per sat/unsat answer not contradicting the\n"
        "expected result, -100 per incorrect one; `sat` is always backed by an exactly\n"
        "checked counterexample) and the time.  `incorrect`: sat where expected_results\n"
        "says unsat, or unsat where it says sat.  `error`: an instance that could not be\n"
        "run (a model or property that does not load, sizes that do not match, an engine\n"
        "error); its message is the row's reason.  --out is rewritten atomically after\n"
        "every instance, so a killed run leaves a valid partial file; it gains a sixth\n"
        "column `reason` (an error's message, an unknown's cause) when some row has one.\n"
        "Where the time went follows (in the table, --out and --json): seconds of wall\n"
        "time in attacks (PGD bursts, point tries), plain bounds, optimised bounds\n"
        "(alpha), LPs (GLPK) and branching (the rest of the search), the workers' time\n"
        "divided by their number, and nodes per second (none for an error).\n"
        "--baseline compares with an earlier results file (with or without the reason\n"
        "column): a regression is an instance solved (sat/unsat) there but not now, or\n"
        "differently.  --max-slowdown F adds time regressions: an instance with the same\n"
        "sat/unsat verdict in both whose time exceeds F x its baseline time +\n"
        "--slowdown-floor seconds (default 0.5; only instances solved in both count).\n"
        "--junit FILE: JUnit XML, one testcase per instance (classname the suite's\n"
        "directory name, name \"ONNX VNNLIB\", time in seconds); <error> for the verdict\n"
        "error, <failure> (type incorrect, regression or slower) for an incorrect verdict,\n"
        "a regression or a time regression, <skipped> for timeout and unknown (they do\n"
        "not fail the run); the verdict, expected result and nodes as properties.\n"
        "--json: {suite, instances, expected_results, baseline, max_slowdown,\n"
        "slowdown_floor_s, interrupted, counts, score, time_s, time_solved_s, results:\n"
        "[{onnx, vnnlib, verdict, expected, time_s, nodes, reason, incorrect,\n"
        "regression, baseline_verdict, baseline_time_s, phases: {attack_s, bounds_s,\n"
        "optimise_s, lp_s, branch_s}, nodes_per_second}]}, null for what is absent.\n"
        "Exit 0 when everything agrees; 1 on an incorrect verdict, a regression or a time\n"
        "regression; otherwise 65 when an instance ended in error; 65 also when the\n"
        "baseline shares no instance with the suite (nothing is run); 128 + signal after\n"
        "SIGINT/SIGTERM (the current instance is stopped and left out; --out, --junit and\n"
        "--json still hold the finished ones).",
    .opts = opts,
    .min_pos = 1,
    .max_pos = 1,
    .run = run,
};

/* mpi_suite.c — `certnn-mpi bench SUITE_DIR`: the suite run of `certnn bench`
 * (workflow_bench.c decides each instance, counts and summarises) with the
 * instances spread over MPI ranks by the task farm (mpi_farm.h).  Task i is
 * instance i of the suite; every rank loads the suite itself, so a task has
 * no bytes.  A result is the verdict, seconds, nodes, timing and reason (an
 * instance that cannot be run is the verdict error with its message, as in
 * certnn bench). */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/mpi/mpi_cmd.h"
#include "cli/workflow.h"

/* Result bytes: verdict[16], double seconds, int64 nodes, the timing (five
 * phase times and nodes per second, doubles; NaN when not known), then the
 * reason (without its NUL; may be empty). */
#define RES_TIMING 32
#define RES_LEN (RES_TIMING + 6 * 8)

typedef struct {
    const char *dir;
    const wf_suite *s;
    vfy_opts engine;
    wf_net_cache cache;       /* compute thread only */
} worker;

static cn_status run_instance(void *user, long id, const unsigned char *task, size_t len,
                              volatile sig_atomic_t *stop, unsigned char **res, size_t *res_len,
                              cn_err *err)
{
    worker *w = user;
    const wf_instance *in = &w->s->v[id];
    double t0 = wf_now();
    const char *v = "error";
    long nodes = 0;
    char reason[WF_REASON_MAX] = "";
    wf_timing tm = {false, {0, 0, 0, 0, 0}, 0};
    cn_err e;
    if (wf_bench_instance(w->dir, in, &w->engine, stop, &w->cache, &v, &nodes, reason, &tm,
                          &e) != CN_OK) {
        v = "error";
        nodes = 0;
        tm.known = false;
        snprintf(reason, sizeof reason, "%s", e.msg[0] ? e.msg : "error");
    }
    const vfy_phase_times *p = &tm.phases;
    double tv[6] = {p->attack_s, p->bounds_s, p->optimise_s, p->lp_s, p->branch_s,
                    tm.nodes_per_s};
    for (int k = 0; !tm.known && k < 6; k++)
        tv[k] = NAN;
    double dt = wf_now() - t0;
    int64_t n64 = nodes;
    size_t rl = strlen(reason);
    unsigned char *b = malloc(RES_LEN + rl);
    if (!b)
        return cn_fail(err, CN_ENOMEM, "out of memory");
    memset(b, 0, 16);
    snprintf((char *)b, 16, "%s", v);
    memcpy(b + 16, &dt, 8);
    memcpy(b + 24, &n64, 8);
    memcpy(b + RES_TIMING, tv, sizeof tv);
    memcpy(b + RES_LEN, reason, rl);
    *res = b;
    *res_len = RES_LEN + rl;
    return CN_OK;
}

static cn_status no_bytes(void *user, long id, unsigned char **buf, size_t *len, cn_err *err)
{
    *buf = NULL;
    *len = 0;
    return CN_OK;
}

/* Rank 0: every instance's outcome, the file and the counts. */
typedef struct {
    const wf_suite *s;
    const wf_bench_run *br;
    const char *out;
    bool quiet;
    FILE *lines;              /* the per-instance lines: stdout, stderr with --json */
    bool *have;               /* [n] */
    char (*verdict)[16];      /* [n] */
    double *secs;             /* [n] */
    long *nodes;              /* [n] */
    char **reason;            /* [n] malloc'd or NULL */
    wf_timing *timing;        /* [n] */
    int n_have;
    wf_tally t;
    cn_status write_status;   /* first failure to write --out */
    cn_err write_err;
} coord;

/* The finished rows in the suite's order. */
static cn_status rows(const coord *c, wf_results *r, cn_err *err)
{
    wf_results_init(r);
    for (int i = 0; i < c->s->n; i++) {
        if (!c->have[i])
            continue;
        cn_status st = wf_results_add_reason(r, c->s->v[i].onnx, c->s->v[i].vnnlib,
                                             c->verdict[i], c->secs[i], c->nodes[i],
                                             c->reason[i], err);
        if (st != CN_OK) {
            wf_results_free(r);
            return st;
        }
        wf_results_set_timing(r, &c->timing[i]);
    }
    return CN_OK;
}

static cn_status write_out(const coord *c, cn_err *err)
{
    wf_results r;
    cn_status st = rows(c, &r, err);
    if (st == CN_OK)
        st = wf_results_write(c->out, &r, err);
    wf_results_free(&r);
    return st;
}

static bool on_result(void *user, long id, int rank, bool ok, const unsigned char *res,
                      size_t len, const char *error)
{
    coord *c = user;
    const wf_instance *in = &c->s->v[id];
    char v[16] = "error";
    double dt = 0;
    int64_t nodes = 0;
    const char *why = ok ? "malformed result" : error;
    size_t why_len = strlen(why);
    if (ok && len >= RES_LEN) {
        memcpy(v, res, 16);
        v[15] = '\0';
        memcpy(&dt, res + 16, 8);
        memcpy(&nodes, res + 24, 8);
        why = (const char *)res + RES_LEN;
        why_len = len - RES_LEN;
    }
    wf_timing tm = {false, {0, 0, 0, 0, 0}, 0};
    if (ok && len >= RES_LEN) {
        double tv[6];
        memcpy(tv, res + RES_TIMING, sizeof tv);
        tm = (wf_timing){!isnan(tv[0]), {tv[0], tv[1], tv[2], tv[3], tv[4]}, tv[5]};
    }
    c->timing[id] = tm;
    if (!strcmp(v, "error"))
        cli_error("%s, %s: %.*s", in->onnx, in->vnnlib, (int)why_len, why);
    c->have[id] = true;
    c->n_have++;
    memcpy(c->verdict[id], v, 16);
    c->secs[id] = dt;
    c->nodes[id] = (long)nodes;
    free(c->reason[id]);
    c->reason[id] = why_len ? strndup(why, why_len) : NULL; /* NULL when out of memory too */
    if (c->out) {
        cn_status st = write_out(c, &c->write_err);
        if (st != CN_OK) {
            c->write_status = st;
            return true;
        }
    }
    wf_tally_add(&c->t, in, v, dt);
    if (!c->quiet) {
        wf_buf b;
        wf_buf_init(&b);
        wf_row w = {in->onnx, in->vnnlib, "", dt, (long)nodes, c->reason[id], tm};
        memcpy(w.verdict, v, 16);
        wf_bench_row(&b, c->br, c->n_have, c->s->n, &w);
        if (b.data)
            fputs(b.data, c->lines);
        fflush(c->lines);
        wf_buf_clear(&b);
    }
    return false;
}

/* --resume: the rows of --out that match instances (in order, each row once). */
static int resume(coord *c, bool *skip, cn_err *err, cn_status *st)
{
    wf_results old;
    *st = CN_OK;
    if (access(c->out, F_OK) != 0)
        return 0;
    *st = wf_results_load(c->out, &old, err);
    if (*st != CN_OK)
        return 0;
    int kept = 0;
    for (int k = 0; k < old.n; k++)
        for (int i = 0; i < c->s->n; i++) {
            const wf_instance *in = &c->s->v[i];
            if (c->have[i] || strcmp(in->onnx, old.v[k].onnx) != 0 ||
                strcmp(in->vnnlib, old.v[k].vnnlib) != 0)
                continue;
            c->have[i] = skip[i] = true;
            c->n_have++;
            memcpy(c->verdict[i], old.v[k].verdict, 16);
            c->secs[i] = old.v[k].time_s;
            c->nodes[i] = old.v[k].nodes;
            c->reason[i] = old.v[k].reason ? strdup(old.v[k].reason) : NULL;
            c->timing[i] = old.v[k].timing;
            wf_tally_add(&c->t, in, c->verdict[i], c->secs[i]);
            kept++;
            break;
        }
    wf_results_free(&old);
    return kept;
}

int cnmpi_bench(const cli_args *a, const cnmpi_ctx *x)
{
    const char *dir = a->pos[0], *out = cli_str(a, "out"), *base_path = cli_str(a, "baseline");
    const char *instances = cli_str(a, "instances"), *junit = cli_str(a, "junit");
    bool lead = x->rank == 0, quiet = cli_flag(a, "quiet"), json = cli_flag(a, "json");
    if (cli_flag(a, "resume") && !out) {
        if (lead)
            cli_error("bench: --resume needs --out RESULTS.csv");
        return CLI_EXIT_USAGE;
    }
    if (cli_has(a, "max-slowdown") && !base_path) {
        if (lead)
            cli_error("bench: --max-slowdown compares times with a baseline: it needs "
                      "--baseline OLD.csv");
        return CLI_EXIT_USAGE;
    }
    cn_err err;
    wf_suite s = {0, NULL};
    wf_results base;
    wf_results_init(&base);
    char *epath = NULL, *ipath = NULL;
    int rc = CLI_EXIT_OK;
    coord c;
    memset(&c, 0, sizeof c);
    bool *skip = NULL;
    worker w;
    memset(&w, 0, sizeof w);
    w.dir = dir;
    w.s = &s;
    if (wf_suite_open(dir, instances, cli_str(a, "expected"), cli_dbl(a, "timeout-scale"),
                      cli_dbl(a, "max-timeout"), &s, &epath, &err) != CN_OK) {
        rc = lead ? cli_report(&err) : cli_exit_code(err.status);
        goto done;
    }
    ipath = wf_path_join(dir, instances);
    if (!ipath) {
        if (lead)
            cli_error("out of memory");
        rc = CLI_EXIT_OSERR;
        goto done;
    }
    /* rank 0 alone reads the baseline (it may be on rank 0's disk only) */
    if (lead && base_path && (wf_results_load(base_path, &base, &err) != CN_OK ||
                              wf_baseline_shares(&base, base_path, &s, ipath, &err) != CN_OK)) {
        rc = cli_report(&err);
        goto done;
    }
    wf_bench_run br = {dir, instances, &s, epath,
                       {lead && base_path ? &base : NULL, base_path,
                        cli_has(a, "max-slowdown") ? cli_dbl(a, "max-slowdown") : 0,
                        cli_dbl(a, "slowdown-floor")},
                       (long)time(NULL)};
    cli_engine_opts(a, &w.engine);    /* numbers only: cannot fail */
    int threads = cnmpi_threads(a, x);
    w.engine.threads = threads;
    size_t n = (size_t)(s.n ? s.n : 1);
    c = (coord){&s, &br, out, quiet, json ? stderr : stdout, calloc(n, sizeof(bool)),
                calloc(n, 16), calloc(n, sizeof(double)), calloc(n, sizeof(long)),
                calloc(n, sizeof(char *)), calloc(n, sizeof(wf_timing)), 0, {0}, CN_OK, {0}};
    skip = calloc(n, sizeof(bool));
    if (!c.have || !c.verdict || !c.secs || !c.nodes || !c.reason || !c.timing || !skip) {
        cli_error("out of memory");
        rc = CLI_EXIT_OSERR;
        goto done;
    }
    volatile sig_atomic_t *stop = cli_signals_catch();
    if (lead) {
        if (cli_flag(a, "resume")) {
            cn_status st;
            int kept = resume(&c, skip, &err, &st);
            if (st != CN_OK) {
                cli_signals_restore();
                rc = cli_report(&err);
                goto done;
            }
            if (!quiet)
                fprintf(stderr, "certnn-mpi: --resume: %d of %d instances already in %s\n",
                        kept, s.n, out);
        }
        if (!quiet && x->size > 1 && !farm_recovery_enabled())
            fprintf(stderr, "certnn-mpi: note: without 'mpirun --enable-recovery' Open MPI ends "
                            "the whole run if a rank dies (finished results stay in --out; "
                            "--resume continues)\n");
        if (!quiet) {
            wf_buf b;
            wf_buf_init(&b);
            wf_bench_header(&b);
            if (b.data)
                fputs(b.data, c.lines);
            fflush(c.lines);
            wf_buf_clear(&b);
        }
    }
    farm_opts fo;
    farm_opts_init(&fo);
    cnmpi_farm_settings(a, &fo);
    fo.run = run_instance;
    fo.run_user = &w;
    fo.n_tasks = s.n;
    fo.skip = skip;
    fo.task = no_bytes;
    fo.result = on_result;
    fo.user = &c;
    fo.stop = stop;
    double t0 = wf_now();
    farm_stats fs;
    cn_status st = farm_run(x->f, &fo, &fs, &err);
    double wall = wf_now() - t0;
    cli_signals_restore();
    if (!lead) {
        rc = cnmpi_worker_exit(st, &err);
        goto done;
    }
    if (st != CN_OK) {
        rc = cli_report(&err);
        goto done;
    }
    if (c.write_status != CN_OK) {
        rc = cli_report(&c.write_err);
        goto done;
    }
    wf_results res;
    if (rows(&c, &res, &err) != CN_OK) {
        rc = cli_report(&err);
        goto done;
    }
    int sig = fs.interrupted ? (int)*stop : 0;
    wf_buf b;
    wf_buf_init(&b);
    if (!quiet && !json)
        wf_buf_printf(&b, "\n");
    wf_base_counts bc;
    wf_bench_summary(&br, &c.t, &res, &b, &bc);
    if (json) {
        wf_buf_clear(&b);
        rc = cli_print_json(wf_bench_json(&br, &c.t, &res, sig != 0));
    } else {
        if (out)
            wf_buf_printf(&b, "results written to %s\n", out);
        if (junit)
            wf_buf_printf(&b, "JUnit XML written to %s\n", junit);
        if (b.data)
            fputs(b.data, stdout);
        wf_buf_clear(&b);
        cnmpi_print_stats(&fs, threads, wall);
    }
    if (rc == CLI_EXIT_OK && junit) {
        wf_bench_junit(&br, &res, &b);
        if (wf_write_buf(junit, &b, &err) != CN_OK)
            rc = cli_report(&err);
        wf_buf_clear(&b);
    }
    if (rc == CLI_EXIT_OK)
        rc = wf_bench_exit(sig, c.n_have, s.n, out, &c.t, &bc);
    wf_results_free(&res);
done:
    wf_net_cache_clear(&w.cache);
    free(c.have);
    free(c.verdict);
    free(c.secs);
    free(c.nodes);
    for (int i = 0; c.reason && i < s.n; i++)
        free(c.reason[i]);
    free(c.reason);
    free(c.timing);
    free(skip);
    free(epath);
    free(ipath);
    wf_results_free(&base);
    wf_suite_free(&s);
    return rc;
}

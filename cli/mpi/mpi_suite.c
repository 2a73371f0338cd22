/* mpi_suite.c — `certnn-mpi bench SUITE_DIR`: the suite run of `certnn bench`
 * (workflow_bench.c decides each instance, counts and summarises) with the
 * instances spread over MPI ranks by the task farm (mpi_farm.h).  Task i is
 * instance i of the suite; every rank loads the suite itself, so a task has
 * no bytes.  A result is the verdict, seconds and nodes. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/mpi/mpi_cmd.h"
#include "cli/workflow.h"

/* Result bytes: verdict[16], double seconds, int64 nodes. */
#define RES_LEN (16 + 8 + 8)

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
    cn_status st = wf_bench_instance(w->dir, in, &w->engine, stop, &w->cache, &v, &nodes, err);
    if (st != CN_OK) {
        cn_err e = *err;
        return cn_fail(err, st, "%s, %s: %s", in->onnx, in->vnnlib,
                       e.msg[0] ? e.msg : "error");
    }
    double dt = wf_now() - t0;
    int64_t n64 = nodes;
    unsigned char *b = malloc(RES_LEN);
    if (!b)
        return cn_fail(err, CN_ENOMEM, "out of memory");
    memset(b, 0, 16);
    snprintf((char *)b, 16, "%s", v);
    memcpy(b + 16, &dt, 8);
    memcpy(b + 24, &n64, 8);
    *res = b;
    *res_len = RES_LEN;
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
    const char *out;
    bool quiet;
    bool *have;               /* [n] */
    char (*verdict)[16];      /* [n] */
    double *secs;             /* [n] */
    long *nodes;              /* [n] */
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
        cn_status st = wf_results_add(r, c->s->v[i].onnx, c->s->v[i].vnnlib, c->verdict[i],
                                      c->secs[i], c->nodes[i], err);
        if (st != CN_OK) {
            wf_results_free(r);
            return st;
        }
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
    if (ok && len == RES_LEN) {
        memcpy(v, res, 16);
        v[15] = '\0';
        memcpy(&dt, res + 16, 8);
        memcpy(&nodes, res + 24, 8);
    } else {
        cli_error("%s", ok ? "malformed result" : error);
    }
    c->have[id] = true;
    c->n_have++;
    memcpy(c->verdict[id], v, 16);
    c->secs[id] = dt;
    c->nodes[id] = (long)nodes;
    if (c->out) {
        cn_status st = write_out(c, &c->write_err);
        if (st != CN_OK) {
            c->write_status = st;
            return true;
        }
    }
    bool bad = wf_tally_add(&c->t, in, v, dt);
    if (!c->quiet) {
        wf_buf b;
        wf_buf_init(&b);
        wf_bench_row(&b, in, v, dt, (long)nodes, bad);
        if (b.data)
            fputs(b.data, stdout);
        fflush(stdout);
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
    bool lead = x->rank == 0, quiet = cli_flag(a, "quiet");
    if (cli_flag(a, "resume") && !out) {
        if (lead)
            cli_error("bench: --resume needs --out RESULTS.csv");
        return CLI_EXIT_USAGE;
    }
    cn_err err;
    wf_suite s = {0, NULL};
    wf_results base;
    wf_results_init(&base);
    char *epath = NULL;
    int rc = CLI_EXIT_OK;
    coord c;
    memset(&c, 0, sizeof c);
    bool *skip = NULL;
    worker w;
    memset(&w, 0, sizeof w);
    w.dir = dir;
    w.s = &s;
    if (wf_suite_open(dir, cli_str(a, "instances"), cli_str(a, "expected"),
                      cli_dbl(a, "timeout-scale"), cli_dbl(a, "max-timeout"), &s, &epath,
                      &err) != CN_OK) {
        rc = lead ? cli_report(&err) : cli_exit_code(err.status);
        goto done;
    }
    if (lead && base_path && wf_results_load(base_path, &base, &err) != CN_OK) {
        rc = cli_report(&err);
        goto done;
    }
    cli_engine_opts(a, &w.engine);    /* numbers only: cannot fail */
    int threads = cnmpi_threads(a, x);
    w.engine.threads = threads;
    size_t n = (size_t)(s.n ? s.n : 1);
    c = (coord){&s, out, quiet, calloc(n, sizeof(bool)), calloc(n, 16), calloc(n, sizeof(double)),
                calloc(n, sizeof(long)), 0, {0}, CN_OK, {0}};
    skip = calloc(n, sizeof(bool));
    if (!c.have || !c.verdict || !c.secs || !c.nodes || !skip) {
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
                fputs(b.data, stdout);
            fflush(stdout);
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
    wf_buf b;
    wf_buf_init(&b);
    if (!quiet)
        wf_buf_printf(&b, "\n");
    int reg = wf_bench_summary(&c.t, c.n_have, s.n, epath, base_path ? &base : NULL, base_path,
                               &res, &b);
    if (out)
        wf_buf_printf(&b, "results written to %s\n", out);
    if (b.data)
        fputs(b.data, stdout);
    wf_buf_clear(&b);
    cnmpi_print_stats(&fs, threads, wall);
    int sig = fs.interrupted ? (int)*stop : 0;
    rc = cli_bench_exit(sig, c.n_have, s.n, out, c.t.incorrect, reg);
    wf_results_free(&res);
done:
    wf_net_cache_clear(&w.cache);
    free(c.have);
    free(c.verdict);
    free(c.secs);
    free(c.nodes);
    free(skip);
    free(epath);
    wf_results_free(&base);
    wf_suite_free(&s);
    return rc;
}

/* mpi_main.c — `mpirun -np N certnn-mpi SUBCOMMAND [options]`: MPI start-up,
 * option tables (those of certnn bench / verify plus the farm's) and dispatch. */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mpi.h>

#include "cli/mpi/mpi_cmd.h"

const cli_opt cnmpi_farm_opts[] = {
    {"heartbeat", 0, CLI_DOUBLE, "S", "1", 0.01, 3600,
     "seconds between the heartbeats ranks exchange"},
    {"lost-after", 0, CLI_DOUBLE, "S", "10", 0.1, 86400,
     "a rank silent this long is presumed dead and its work handed out again"},
    {NULL, 0, 0, NULL, NULL, 0, 0, NULL},
};

void cnmpi_farm_settings(const cli_args *a, farm_opts *o)
{
    o->heartbeat_s = cli_dbl(a, "heartbeat");
    o->lost_after_s = cli_dbl(a, "lost-after");
    o->quiet = cli_flag(a, "quiet");
}

int cnmpi_threads(const cli_args *a, const cnmpi_ctx *c)
{
    long t = cli_int(a, "threads");
    if (t > 0)
        return (int)t;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) < cores)
        return CPU_COUNT(&set) > 0 ? CPU_COUNT(&set) : 1; /* the launcher bound this rank */
    long share = cores / (c->local_ranks > 0 ? c->local_ranks : 1);
    return share > 0 ? (int)share : 1;
}

int cnmpi_worker_exit(cn_status st, const cn_err *err)
{
    if (st == CN_OK)
        return CLI_EXIT_OK;
    return cli_report(err);
}

void cnmpi_print_stats(const farm_stats *st, int threads, double wall)
{
    printf("mpi: %d rank%s x %d thread%s, %d rank%s lost, %d task%s handed out again, "
           "wall %.2f s\n",
           st->ranks, st->ranks == 1 ? "" : "s", threads, threads == 1 ? "" : "s", st->lost,
           st->lost == 1 ? "" : "s", st->reissued, st->reissued == 1 ? "" : "s", wall);
    fflush(stdout);
}

/* certnn verify's options that do not apply to one VNN-LIB property decided
 * by the complete engine (--data samples, bounds-only runs). */
static const char *const verify_skip[] = {
    "data", "eps", "labels", "samples", "offset", "method", "alpha-iters", "alpha-lr",
    "alpha-final-only", "incomplete", "complete", "attack", NULL,
};

static const cli_opt mpi_verify_opts[] = {
    {"subproblems", 0, CLI_INT, "K", "64", 1, 100000,
     "open branch-and-bound nodes handed out per rank"},
    {NULL, 0, 0, NULL, NULL, 0, 0, NULL},
};

static const cli_opt mpi_bench_opts[] = {
    {"resume", 0, CLI_FLAG, NULL, NULL, 0, -1,
     "keep the instances already in --out and run only the others"},
    {NULL, 0, 0, NULL, NULL, 0, 0, NULL},
};

/* A subcommand: certnn's command whose options (less skip) and output it
 * reuses, its own options, and its help. */
typedef struct {
    const char *name;
    const cli_cmd *base;
    const char *const *skip;
    const cli_opt *extra;
    const char *usage, *summary, *details;
    int (*run)(const cli_args *a, const cnmpi_ctx *c);
} sub_cmd;

static const sub_cmd subs[] = {
    {"bench", &cli_cmd_bench, NULL, mpi_bench_opts,
     "SUITE_DIR [certnn bench's options] [--resume] [--heartbeat S] [--lost-after S]",
     "run a VNN-COMP style suite over MPI ranks (as certnn bench)",
     "Every rank reads the suite; rank 0 hands out instances one at a time (a rank\n"
     "asks for the next when it finishes), prints each result as it arrives (in\n"
     "the format of certnn bench) and rewrites --out atomically after every result,\n"
     "in the suite's order, so a finished result survives whatever happens next.\n"
     "The verdicts are those of certnn bench (each instance is decided by the same\n"
     "engine with the same options; only an instance near its time limit may end\n"
     "differently).  --threads 0 shares the machine's cores among its ranks.\n"
     "A rank silent for --lost-after seconds is presumed dead and its instance is\n"
     "handed to another rank: with `mpirun --enable-recovery` the run then completes.\n"
     "Without it Open MPI ends every rank when one dies; --out keeps what was done\n"
     "and --resume runs only the instances missing from it.",
     cnmpi_bench},
    {"verify", &cli_cmd_verify, verify_skip, mpi_verify_opts,
     "MODEL --vnnlib P [--timeout S] [--threads T] [--subproblems K] [--json] "
     "[--cert OUT [--sign KEY]]",
     "decide one property with branch and bound spread over MPI ranks",
     "Rank 0 runs the attack and the first branch-and-bound levels until K open\n"
     "nodes per rank exist (--subproblems), then hands them out one at a time; each\n"
     "rank decides its subproblems with the complete engine.  A counterexample from\n"
     "any rank (re-checked exactly on rank 0) ends the run with `sat`; `unsat` when\n"
     "every subproblem is closed.  With --cert the proof trees of all subproblems\n"
     "are grafted into the top of the tree: one certificate, checked by\n"
     "'certnn check' like any other.  Output and exit codes as certnn verify.\n"
     "A rank that goes silent has its subproblem handed out again (with mpirun\n"
     "--enable-recovery).",
     cnmpi_verify},
};

/* Appends the options of `from` (except those named in skip, may be NULL)
 * to out[*n]; the table stays terminated. */
static void add_opts(cli_opt *out, int *n, const cli_opt *from, const char *const *skip)
{
    for (int i = 0; from[i].name; i++) {
        bool keep = true;
        for (int k = 0; skip && skip[k]; k++)
            keep &= strcmp(skip[k], from[i].name) != 0;
        if (!keep)
            continue;
        CN_REQUIRE(*n < CLI_MAX_OPTS, "the merged option table fits CLI_MAX_OPTS");
        out[(*n)++] = from[i];
    }
    out[*n] = (cli_opt){NULL, 0, 0, NULL, NULL, 0, 0, NULL};
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: mpirun [-np N] [--enable-recovery] [--bind-to none] certnn-mpi SUBCOMMAND "
            "[options]\n\n"
            "certnn over MPI: rank 0 coordinates and works, the other ranks work.\n\n"
            "Subcommands:\n"
            "  bench    a VNN-COMP suite, instances handed to ranks as they finish\n"
            "  verify   one property, branch-and-bound subproblems spread over ranks\n\n"
            "'certnn-mpi SUBCOMMAND --help' describes each one.  Run mpirun with\n"
            "--enable-recovery so that a rank that dies does not end the others.\n"
            "\nExit codes: those of certnn (0 ok/proven, 1 counterexample or incorrect,\n"
            "2 unknown, 3 timeout, 64 usage, 65 bad input data, 66 cannot open input,\n"
            "70 internal error, 71 out of memory).\n");
}

/* Parses on every rank; only rank 0 prints (help, usage errors). */
static int parse(const cli_cmd *cmd, int argc, char **argv, cli_args *a, int rank)
{
    int saved_out = -1, saved_err = -1, null = -1;
    if (rank != 0) {
        fflush(stdout);
        fflush(stderr);
        null = open("/dev/null", O_WRONLY);
        saved_out = dup(STDOUT_FILENO);
        saved_err = dup(STDERR_FILENO);
        if (null >= 0 && saved_out >= 0 && saved_err >= 0) {
            dup2(null, STDOUT_FILENO);
            dup2(null, STDERR_FILENO);
        }
    }
    int rc = cli_parse(cmd, argc, argv, a);
    if (rank != 0) {
        fflush(stdout);
        fflush(stderr);
        if (saved_out >= 0) {
            dup2(saved_out, STDOUT_FILENO);
            close(saved_out);
        }
        if (saved_err >= 0) {
            dup2(saved_err, STDERR_FILENO);
            close(saved_err);
        }
        if (null >= 0)
            close(null);
    }
    return rc;
}

static int dispatch(int argc, char **argv, cnmpi_ctx *c)
{
    if (argc < 2) {
        if (c->rank == 0)
            usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
        if (c->rank == 0)
            usage(stdout);
        return CLI_EXIT_OK;
    }
    if (!strcmp(sub, "--version")) {
        if (c->rank == 0)
            printf("certnn-mpi %s\n", PACKAGE_VERSION);
        return CLI_EXIT_OK;
    }
    const sub_cmd *sc = NULL;
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (!strcmp(sub, subs[i].name))
            sc = &subs[i];
    if (!sc) {
        if (c->rank == 0)
            cli_error("unknown subcommand '%s' (see 'certnn-mpi --help')", sub);
        return CLI_EXIT_USAGE;
    }
    cli_opt table[CLI_MAX_OPTS + 1];
    int n = 0;
    cli_cmd cmd = *sc->base;
    add_opts(table, &n, sc->base->opts, sc->skip);
    add_opts(table, &n, sc->extra, NULL);
    add_opts(table, &n, cnmpi_farm_opts, NULL);
    cmd.usage = sc->usage;
    cmd.summary = sc->summary;
    cmd.details = sc->details;
    cmd.opts = table;
    cmd.run = NULL;
    cmd.prog = "certnn-mpi";
    cli_args a;
    int rc = parse(&cmd, argc - 1, argv + 1, &a, c->rank);
    if (rc >= 0)
        return rc;
    c->finalize_wait_s = cli_dbl(&a, "lost-after");
    return sc->run(&a, c);
}

/* MPI_Finalize waits for every rank; after a rank died it may never return
 * (Open MPI 4.1 with --enable-recovery).  Everything is written by then, so a
 * watchdog thread ends the process with its exit code once it has waited
 * `seconds` + 1; when MPI_Finalize returns in time, the watchdog is cancelled. */
typedef struct {
    double seconds;
    int rc, rank;
} watchdog;

static void *watch(void *arg)
{
    const watchdog *w = arg;
    struct timespec ts = {(time_t)w->seconds + 1, 0};
    while (nanosleep(&ts, &ts) != 0)
        continue;             /* interrupted by a signal: sleep the rest */
    fprintf(stderr,
            "certnn-mpi: rank %d: MPI_Finalize did not return within %.0f s (a rank died?); "
            "exiting\n",
            w->rank, w->seconds + 1);
    _exit(w->rc);
}

int main(int argc, char **argv)
{
    cli_blas_threads_default();
    int provided = 0;
    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "certnn-mpi: MPI_Init_thread failed\n");
        return CLI_EXIT_SOFTWARE;
    }
    cnmpi_ctx c = {NULL, 0, 1, 1, 10};
    MPI_Comm_rank(MPI_COMM_WORLD, &c.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &c.size);
    farm_write_pid(c.rank);
    MPI_Comm local;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local) ==
        MPI_SUCCESS) {
        MPI_Comm_size(local, &c.local_ranks);
        MPI_Comm_free(&local);
    }
    int rc;
    if (provided < MPI_THREAD_FUNNELED) {
        if (c.rank == 0)
            cli_error("this MPI library does not support MPI_THREAD_FUNNELED");
        rc = CLI_EXIT_SOFTWARE;
    } else if (!(c.f = farm_new())) {
        cli_error("out of memory");
        rc = CLI_EXIT_OSERR;
    } else {
        rc = dispatch(argc, argv, &c);
    }
    fflush(stdout);
    fflush(stderr);
    watchdog w = {c.finalize_wait_s, rc, c.rank};
    pthread_t th;
    bool watching = pthread_create(&th, NULL, watch, &w) == 0;
    MPI_Finalize();
    if (watching) {           /* in time: the watchdog sleeps in nanosleep, a cancellation point */
        pthread_cancel(th);
        pthread_join(th, NULL);
    }
    farm_free(c.f);
    return rc;
}

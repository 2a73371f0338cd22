/* mpi_cmd.h — the subcommands of certnn-mpi (verifier/mpi_main.c):
 *
 *   certnn-mpi bench SUITE_DIR ...       a VNN-COMP suite, instances spread over ranks
 *                                        (mpi_suite.c)
 *   certnn-mpi verify MODEL --vnnlib P   one instance, branch-and-bound subproblems
 *                                        spread over ranks (mpi_bab.c)
 *
 * Every rank runs the same command with the same arguments; rank 0 prints.
 * The option tables are those of `certnn bench` and `certnn verify` plus the
 * farm's (cnmpi_farm_opts); the output is theirs.
 */
#ifndef CERTNN_MPI_CMD_H
#define CERTNN_MPI_CMD_H

#include "cli/cli.h"
#include "cli/mpi/mpi_farm.h"

typedef struct {
    farm *f;
    int rank, size;
    int local_ranks;          /* ranks on this machine (MPI_COMM_TYPE_SHARED) */
    double finalize_wait_s;   /* MPI_Finalize may take this + 1 s (--lost-after) */
} cnmpi_ctx;

/* Options every certnn-mpi command adds: --heartbeat, --lost-after. */
extern const cli_opt cnmpi_farm_opts[];
/* Fills o's heartbeat settings and quiet flag from them. */
void cnmpi_farm_settings(const cli_args *a, farm_opts *o);
/* --threads 0: the machine's cores shared among the ranks on it (at least 1). */
int cnmpi_threads(const cli_args *a, const cnmpi_ctx *c);
/* A worker rank's exit code after farm_run (its error printed). */
int cnmpi_worker_exit(cn_status st, const cn_err *err);
/* The farm's closing line (rank 0, stdout): ranks, threads, losses, wall time. */
void cnmpi_print_stats(const farm_stats *st, int threads, double wall);

int cnmpi_bench(const cli_args *a, const cnmpi_ctx *c);
int cnmpi_verify(const cli_args *a, const cnmpi_ctx *c);

#endif

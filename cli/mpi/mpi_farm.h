/* mpi_farm.h — a fault-tolerant task farm over MPI for certnn-mpi (farm_).
 *
 * Rank 0 coordinates; every rank, rank 0 included, decides tasks in a compute
 * thread of its own, so that the process's main thread alone calls MPI
 * (MPI_THREAD_FUNNELED) and stays responsive while the engine runs.
 *
 * Protocol (MPI_BYTE messages on MPI_COMM_WORLD, homogeneous machines):
 *
 *   worker -> 0   READY                 first request for a task
 *                 RESULT id flag bytes  the task's result; also asks for the next
 *                 BEAT                  every heartbeat interval
 *   0 -> worker   TASK id bytes         decide this task
 *                 STOP id               its result is no longer needed
 *                 PING                  every heartbeat interval: rank 0 is alive
 *                 QUIT                  finish
 *
 * Dynamic load balancing: a rank gets its next task when it returns a result.
 *
 * Lost ranks.  A rank from which rank 0 has heard nothing (result, beat) for
 * `lost_after` seconds is presumed dead: its task goes back to the front of
 * the queue and is handed to the next free rank.  Only a rank's first result
 * of a task counts, so a rank that was merely slow and comes back changes
 * nothing but a wasted duplicate.  Finished results are the coordinator's as
 * soon as they arrive (the callers write them to disk at once).  A worker
 * that hears nothing from rank 0 for `lost_after` seconds gives up.
 * Surviving the death of a rank needs the launcher's cooperation: Open MPI's
 * mpirun aborts the whole job when a rank dies unless run with
 * `--enable-recovery` (see farm_recovery_enabled).
 *
 * Nothing here prints except lost/recovered-rank notes on stderr (unless
 * quiet); tasks and results are opaque bytes.
 */
#ifndef CERTNN_MPI_FARM_H
#define CERTNN_MPI_FARM_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "models/models.h"

/* Decides task `id` from its bytes (run in a compute thread, on any rank).
 * *res: the result bytes (malloc'd, may be NULL when *res_len is 0).  stop
 * becomes non-zero when the result is no longer wanted. */
typedef cn_status (*farm_run_fn)(void *user, long id, const unsigned char *task, size_t len,
                                 volatile sig_atomic_t *stop, unsigned char **res,
                                 size_t *res_len, cn_err *err);

/* Coordinator (rank 0): the bytes of task id, built when it is handed out
 * (*buf malloc'd, may be NULL when *len is 0). */
typedef cn_status (*farm_task_fn)(void *user, long id, unsigned char **buf, size_t *len,
                                  cn_err *err);

/* Coordinator: the first result of task id, from `rank`.  ok: res/len are
 * the run function's bytes; else error is its message.  Returns true to end
 * the farm at once (every rank is told to stop). */
typedef bool (*farm_result_fn)(void *user, long id, int rank, bool ok, const unsigned char *res,
                               size_t len, const char *error);

typedef struct {
    farm_run_fn run;            /* every rank */
    void *run_user;
    long n_tasks;               /* rank 0: tasks 0 .. n_tasks-1 */
    const bool *skip;           /* rank 0, may be NULL: tasks already done [n_tasks] */
    farm_task_fn task;          /* rank 0 */
    farm_result_fn result;      /* rank 0 */
    void *user;                 /* of task and result */
    double heartbeat_s;         /* beat / ping interval (default 1) */
    double lost_after_s;        /* silence after which a rank is presumed dead (default 10) */
    double deadline;            /* rank 0: wf_now() after which the farm ends; 0: none */
    volatile sig_atomic_t *stop;  /* may be NULL: a signal flag that ends the farm */
    bool quiet;                 /* no notes on stderr */
} farm_opts;

void farm_opts_init(farm_opts *o);

typedef struct {
    long done;                  /* tasks with a result */
    int ranks;                  /* size of MPI_COMM_WORLD */
    int lost;                   /* ranks presumed dead (rank 0) */
    int reissued;               /* tasks handed out again after a loss */
    bool ended;                 /* the result callback ended the farm */
    bool timed_out;             /* the deadline passed */
    bool interrupted;           /* the stop flag was raised */
    bool coordinator_lost;      /* worker: rank 0 went silent */
} farm_stats;

typedef struct farm farm;

/* After MPI_Init_thread(MPI_THREAD_FUNNELED); sets MPI_ERRORS_RETURN on
 * MPI_COMM_WORLD.  NULL when out of memory. */
farm *farm_new(void);
/* Runs the farm on this rank until every task has a result, the result
 * callback ends it, the deadline passes or the stop flag is raised.  Call it
 * on every rank with the same heartbeat settings.  CN_OK also when ranks were
 * lost along the way (stats say how many); an error when MPI fails beyond
 * that or the compute thread cannot start. */
cn_status farm_run(farm *f, const farm_opts *o, farm_stats *stats /* OUT */,
                   cn_err *err) CN_WUR;
/* Rank 0, before farm_run, while it prepares the tasks for longer than the
 * workers' patience (lost_after): tells every worker that rank 0 is alive.
 * Call it at least every heartbeat. */
void farm_ping(farm *f);
/* Frees what is left, including buffers of sends to or receives from dead
 * ranks that MPI never completed: call it after MPI_Finalize.  NULL is fine. */
void farm_free(farm *f);

/* Under Open MPI: whether mpirun runs with --enable-recovery (a rank that
 * dies does not abort the others).  true under other launchers. */
bool farm_recovery_enabled(void);

/* Test hook: when the environment variable CERTNN_MPI_PIDDIR names a
 * directory, every rank writes its process id to DIR/rank-N.pid, and a worker
 * rank writes the id of each task it starts to DIR/rank-N.task (so a test can
 * kill a rank while it is known to hold a task). */
void farm_write_pid(int rank);

#endif

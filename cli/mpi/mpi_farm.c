/* mpi_farm.c — the fault-tolerant MPI task farm of certnn-mpi (see mpi_farm.h). */
#include "config.h"

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mpi.h>

#include "cli/mpi/mpi_farm.h"
#include "cli/workflow.h"

enum { TAG_READY = 11, TAG_RESULT, TAG_BEAT, TAG_TASK, TAG_STOP, TAG_PING, TAG_QUIT };

/* Result flags. */
enum { RES_OK = 0, RES_ERROR = 1, RES_STOPPED = 2 };

/* Every message starts with this header: int64 id, int32 flag. */
#define HDR 12

void farm_opts_init(farm_opts *o)
{
    memset(o, 0, sizeof *o);
    o->heartbeat_s = 1;
    o->lost_after_s = 10;
}

/* ---- sends and receives ---------------------------------------------------- */

typedef struct {
    MPI_Request rq;
    unsigned char *buf;
} pending;

typedef struct {
    int n, cap;
    pending *v;
} pending_list;

struct farm {
    int rank, size;
    pending_list out;         /* sends not yet complete */
    pending_list dropped;     /* sends and receives given up on (dead peers) */
};

static bool list_add(pending_list *l, MPI_Request rq, unsigned char *buf)
{
    if (l->n == l->cap) {
        int nc = l->cap ? 2 * l->cap : 16;
        pending *v = realloc(l->v, sizeof *v * (size_t)nc);
        if (!v)
            return false;
        l->v = v;
        l->cap = nc;
    }
    l->v[l->n++] = (pending){rq, buf};
    return true;
}

farm *farm_new(void)
{
    farm *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    MPI_Comm_rank(MPI_COMM_WORLD, &f->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &f->size);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    return f;
}

void farm_free(farm *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->out.n; i++)
        free(f->out.v[i].buf);
    for (int i = 0; i < f->dropped.n; i++)
        free(f->dropped.v[i].buf);
    free(f->out.v);
    free(f->dropped.v);
    free(f);
}

static double now(void) { return wf_now(); }

static void nap(void)
{
    struct timespec ts = {0, 500000}; /* 0.5 ms */
    nanosleep(&ts, NULL);
}

static cn_status mpi_fail(cn_err *err, int rc, const char *what)
{
    char s[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, s, &len) != MPI_SUCCESS)
        snprintf(s, sizeof s, "error %d", rc);
    return cn_fail(err, CN_EIO, "%s: %s", what, s);
}

/* Sends header + data to dest without waiting (the buffer is kept until MPI
 * is done with it).  False when MPI refuses (a dead peer, out of memory):
 * the caller relies on the heartbeats to notice a dead peer. */
static bool post(farm *f, int dest, int tag, long id, int flag, const unsigned char *data,
                 size_t len)
{
    if (len > (size_t)INT_MAX - HDR)
        return false;
    unsigned char *buf = malloc(HDR + len);
    if (!buf)
        return false;
    int64_t id64 = id;
    int32_t fl = flag;
    memcpy(buf, &id64, 8);
    memcpy(buf + 8, &fl, 4);
    if (len)
        memcpy(buf + HDR, data, len);
    MPI_Request rq;
    if (MPI_Isend(buf, (int)(HDR + len), MPI_BYTE, dest, tag, MPI_COMM_WORLD, &rq) !=
        MPI_SUCCESS) {
        free(buf);
        return false;
    }
    if (!list_add(&f->out, rq, buf)) {
        /* cannot track it: wait for it here (small messages complete at once) */
        MPI_Wait(&rq, MPI_STATUS_IGNORE);
        free(buf);
    }
    return true;
}

/* Frees the buffers of completed sends. */
static void outbox_progress(farm *f)
{
    int k = 0;
    for (int i = 0; i < f->out.n; i++) {
        int done = 0;
        if (MPI_Test(&f->out.v[i].rq, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
            done = 1;   /* failed for good: MPI no longer uses the buffer */
        if (done)
            free(f->out.v[i].buf);
        else
            f->out.v[k++] = f->out.v[i];
    }
    f->out.n = k;
}

/* Waits up to secs for the outstanding sends; what is left (a dead peer's)
 * is kept for farm_free. */
static void outbox_drain(farm *f, double secs)
{
    double t0 = now();
    for (outbox_progress(f); f->out.n > 0 && now() - t0 < secs; outbox_progress(f))
        nap();
    for (int i = 0; i < f->out.n; i++)
        if (!list_add(&f->dropped, f->out.v[i].rq, f->out.v[i].buf))
            free(f->out.v[i].buf); /* cannot keep track; MPI_Finalize comes next anyway */
    f->out.n = 0;
}

typedef struct {
    int source, tag, flag;
    long id;
    const unsigned char *data;  /* into raw, after the header */
    size_t len;
    unsigned char *raw;
} msg;

/* Receives one message from source (or MPI_ANY_SOURCE) if one is there:
 * 1 and *m filled (free m->raw), 0 when none, -1 when the sender went silent
 * in the middle of the transfer (*lost = its rank; the buffer is kept for
 * farm_free) or the message was malformed, and -2 with err on an MPI error. */
static int receive(farm *f, int source, double patience, msg *m, int *lost, cn_err *err)
{
    int flag = 0;
    MPI_Message mh;
    MPI_Status s;
    int rc = MPI_Improbe(source, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &mh, &s);
    if (rc != MPI_SUCCESS) {
        mpi_fail(err, rc, "MPI_Improbe");
        return -2;
    }
    if (!flag)
        return 0;
    int count = 0;
    MPI_Get_count(&s, MPI_BYTE, &count);
    unsigned char *raw = malloc((size_t)(count > 0 ? count : 1));
    if (!raw) {
        cn_fail(err, CN_ENOMEM, "out of memory receiving %d bytes", count);
        return -2;
    }
    MPI_Request rq;
    rc = MPI_Imrecv(raw, count, MPI_BYTE, &mh, &rq);
    if (rc != MPI_SUCCESS) {
        free(raw);
        mpi_fail(err, rc, "MPI_Imrecv");
        return -2;
    }
    double t0 = now();
    for (int done = 0; !done;) {
        if (MPI_Test(&rq, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS || (!done &&
                                                                   now() - t0 > patience)) {
            if (!list_add(&f->dropped, rq, raw))
                free(raw);
            *lost = s.MPI_SOURCE;
            return -1;
        }
        if (!done)
            nap();
    }
    if (count < HDR) {
        free(raw);
        *lost = s.MPI_SOURCE;
        return -1;
    }
    int64_t id64;
    int32_t fl;
    memcpy(&id64, raw, 8);
    memcpy(&fl, raw + 8, 4);
    *m = (msg){s.MPI_SOURCE, s.MPI_TAG, fl, (long)id64, raw + HDR, (size_t)count - HDR, raw};
    return 1;
}

/* ---- the compute thread ------------------------------------------------------ */

enum { R_IDLE, R_BUSY, R_DONE };

typedef struct {
    farm_run_fn run;
    void *user;
    pthread_t th;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int state;
    bool quit;
    long id;
    unsigned char *task;
    size_t len;
    volatile sig_atomic_t stop;
    /* result */
    cn_status st;
    cn_err err;
    unsigned char *res;
    size_t res_len;
} runner;

static void *runner_main(void *arg)
{
    runner *r = arg;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (r->state != R_BUSY && !r->quit)
            pthread_cond_wait(&r->cv, &r->mu);
        if (r->state != R_BUSY)
            break;
        long id = r->id;
        const unsigned char *task = r->task;
        size_t len = r->len;
        pthread_mutex_unlock(&r->mu);
        unsigned char *res = NULL;
        size_t res_len = 0;
        cn_err err;
        err.msg[0] = '\0';
        cn_status st = r->run(r->user, id, task, len, &r->stop, &res, &res_len, &err);
        pthread_mutex_lock(&r->mu);
        r->st = st;
        r->err = err;
        r->res = res;
        r->res_len = res_len;
        r->state = R_DONE;
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static bool runner_start(runner *r, farm_run_fn run, void *user)
{
    memset(r, 0, sizeof *r);
    r->run = run;
    r->user = user;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->started = pthread_create(&r->th, NULL, runner_main, r) == 0;
    if (!r->started) {
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->cv);
    }
    return r->started;
}

/* Hands task id (its bytes, owned from now on) to an idle runner. */
static void runner_submit(runner *r, long id, unsigned char *task, size_t len)
{
    pthread_mutex_lock(&r->mu);
    CN_REQUIRE(r->state == R_IDLE, "the runner is idle");
    r->id = id;
    r->task = task;
    r->len = len;
    r->stop = 0;
    r->state = R_BUSY;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static bool runner_idle(runner *r)
{
    pthread_mutex_lock(&r->mu);
    bool idle = r->state == R_IDLE;
    pthread_mutex_unlock(&r->mu);
    return idle;
}

/* Takes a finished task's result: *flag RES_OK (bytes in *res, owned by the
 * caller), RES_ERROR (message in err) or RES_STOPPED. */
static bool runner_take(runner *r, long *id, int *flag, unsigned char **res, size_t *len,
                        cn_err *err)
{
    pthread_mutex_lock(&r->mu);
    bool done = r->state == R_DONE;
    if (done) {
        *id = r->id;
        *flag = r->stop ? RES_STOPPED : r->st == CN_OK ? RES_OK : RES_ERROR;
        *res = r->res;
        *len = r->res_len;
        *err = r->err;
        if (*flag != RES_OK) {
            free(*res);
            *res = NULL;
            *len = 0;
        }
        free(r->task);
        r->task = NULL;
        r->res = NULL;
        r->state = R_IDLE;
    }
    pthread_mutex_unlock(&r->mu);
    return done;
}

static void runner_stop(runner *r, long id)
{
    pthread_mutex_lock(&r->mu);
    if (r->state == R_BUSY && (id < 0 || r->id == id))
        r->stop = 1;
    pthread_mutex_unlock(&r->mu);
}

static void runner_quit(runner *r)
{
    if (!r->started)
        return;
    pthread_mutex_lock(&r->mu);
    r->quit = true;
    r->stop = 1;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->th, NULL);
    free(r->task);
    free(r->res);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    r->started = false;
}

/* ---- coordinator ----------------------------------------------------------- */

typedef struct {
    bool alive;               /* not presumed dead */
    bool idle;                /* waiting for a task */
    long task;                /* in flight, or -1 */
    double seen;              /* last message */
} peer;

typedef struct {
    const farm_opts *o;
    farm_stats *st;
    bool *done;
    long left;
    long *ring;               /* queue of tasks without a live holder */
    long head, count;
} coord;

static void push_back(coord *c, long id)
{
    c->ring[(c->head + c->count) % c->o->n_tasks] = id;
    c->count++;
}

static void push_front(coord *c, long id)
{
    c->head = (c->head + c->o->n_tasks - 1) % c->o->n_tasks;
    c->ring[c->head] = id;
    c->count++;
}

static long pop(coord *c)
{
    while (c->count > 0) {
        long id = c->ring[c->head];
        c->head = (c->head + 1) % c->o->n_tasks;
        c->count--;
        if (!c->done[id])
            return id;
    }
    return -1;
}

/* A result from rank r, which held the task when `held` (else it had been
 * handed out again); true when the farm is to end. */
static bool on_result(coord *c, int r, bool held, long id, int flag, const unsigned char *data,
                      size_t len, const char *error)
{
    if (id < 0 || id >= c->o->n_tasks || c->done[id])
        return false;
    if (flag == RES_STOPPED) {
        if (held)
            push_front(c, id); /* an interrupted run is no result: hand it out again */
        return false;
    }
    c->done[id] = true;
    c->left--;
    c->st->done++;
    bool end = c->o->result(c->o->user, id, r, flag == RES_OK, data, len, error);
    if (end)
        c->st->ended = true;
    return end;
}

/* Task id has its result (from rank `from`): a rank still working on a copy of
 * it (handed out again after a presumed loss) is told to stop. */
static void release(farm *f, const coord *c, const peer *pr, long id, int from, runner *local)
{
    if (id < 0 || id >= c->o->n_tasks || !c->done[id])
        return;
    for (int r = 0; r < f->size; r++)
        if (r != from && pr[r].task == id) {
            if (r == 0)
                runner_stop(local, id);
            else
                post(f, r, TAG_STOP, id, 0, NULL, 0);
        }
}

static cn_status assign(farm *f, coord *c, peer *pr, int r, runner *local, cn_err *err)
{
    long id = pop(c);
    if (id < 0)
        return CN_OK;
    unsigned char *buf = NULL;
    size_t len = 0;
    cn_status s = c->o->task(c->o->user, id, &buf, &len, err);
    if (s != CN_OK)
        return s;
    pr[r].task = id;
    pr[r].idle = false;
    if (r == 0) {
        runner_submit(local, id, buf, len);
        return CN_OK;
    }
    if (!post(f, r, TAG_TASK, id, 0, buf, len)) {
        pr[r].task = -1;
        push_front(c, id);    /* the heartbeat check will retire the peer */
    }
    free(buf);
    return CN_OK;
}

static void lose(coord *c, peer *pr, int r, const char *why)
{
    pr[r].alive = false;
    pr[r].idle = false;
    c->st->lost++;
    long t = pr[r].task;
    pr[r].task = -1;
    bool re = t >= 0 && !c->done[t];
    if (re) {
        push_front(c, t);
        c->st->reissued++;
    }
    if (!c->o->quiet) {
        if (re)
            fprintf(stderr, "certnn-mpi: rank %d %s: presumed dead; task %ld handed out again\n",
                    r, why, t);
        else
            fprintf(stderr, "certnn-mpi: rank %d %s: presumed dead\n", r, why);
    }
}

static cn_status coordinate(farm *f, const farm_opts *o, farm_stats *st, cn_err *err)
{
    long n = o->n_tasks;
    coord c = {o, st, calloc((size_t)(n ? n : 1), sizeof(bool)), 0,
               malloc(sizeof(long) * (size_t)(n ? n : 1)), 0, 0};
    peer *pr = calloc((size_t)f->size, sizeof *pr);
    runner local;
    memset(&local, 0, sizeof local);
    cn_status s = CN_OK;
    if (!c.done || !c.ring || !pr) {
        s = cn_fail(err, CN_ENOMEM, "out of memory");
        goto done;
    }
    for (long i = 0; i < n; i++) {
        c.done[i] = o->skip && o->skip[i];
        if (!c.done[i]) {
            push_back(&c, i);
            c.left++;
        }
    }
    if (!runner_start(&local, o->run, o->run_user)) {
        s = cn_fail(err, CN_EINTERNAL, "cannot start the compute thread");
        goto done;
    }
    double t = now(), last_ping = 0;
    for (int r = 0; r < f->size; r++)
        pr[r] = (peer){true, r == 0, -1, t};
    bool end = c.left == 0;
    while (!end) {
        if (o->stop && *o->stop) {
            st->interrupted = true;
            break;
        }
        if (o->deadline > 0 && now() >= o->deadline) {
            st->timed_out = true;
            break;
        }
        bool active = false;
        msg m;
        int lost = -1, got;
        while (!end && (got = receive(f, MPI_ANY_SOURCE, o->lost_after_s, &m, &lost, err)) != 0) {
            if (got == -2) {
                s = CN_EIO;
                goto done;
            }
            if (got == -1) {
                if (lost > 0 && lost < f->size && pr[lost].alive)
                    lose(&c, pr, lost, "stopped in the middle of a message");
                continue;
            }
            active = true;
            int r = m.source;
            if (r > 0 && r < f->size) {
                pr[r].seen = now();
                if (!pr[r].alive) {
                    pr[r].alive = true;
                    if (!o->quiet)
                        fprintf(stderr, "certnn-mpi: rank %d answers again\n", r);
                }
                if (m.tag == TAG_READY) {
                    pr[r].idle = pr[r].task < 0;
                } else if (m.tag == TAG_RESULT) {
                    bool held = pr[r].task == m.id;
                    if (held || pr[r].task < 0) {
                        pr[r].task = -1;
                        pr[r].idle = true;
                    }
                    if (m.flag == RES_ERROR && m.len > 0)
                        m.raw[HDR + m.len - 1] = '\0';
                    end = on_result(&c, r, held, m.id, m.flag, m.data, m.len,
                                    m.flag == RES_ERROR && m.len > 0 ? (const char *)m.data : "");
                    release(f, &c, pr, m.id, r, &local);
                }
            }
            free(m.raw);
        }
        long id;
        int flag;
        unsigned char *res;
        size_t len;
        cn_err rerr;
        if (!end && runner_take(&local, &id, &flag, &res, &len, &rerr)) {
            active = true;
            pr[0].task = -1;
            pr[0].idle = true;
            end = on_result(&c, 0, true, id, flag, res, len, rerr.msg);
            release(f, &c, pr, id, 0, &local);
            free(res);
        }
        if (end || c.left == 0)
            break;
        t = now();
        for (int r = 1; r < f->size; r++)
            if (pr[r].alive && t - pr[r].seen > o->lost_after_s) {
                char why[64];
                snprintf(why, sizeof why, "silent for %.0f s", t - pr[r].seen);
                lose(&c, pr, r, why);
            }
        for (int k = 1; k <= f->size && c.count > 0; k++) {
            int r = k % f->size;    /* workers first, rank 0 last */
            if (pr[r].alive && pr[r].idle && (s = assign(f, &c, pr, r, &local, err)) != CN_OK)
                goto done;
        }
        if (t - last_ping >= o->heartbeat_s) {
            for (int r = 1; r < f->size; r++)
                if (pr[r].alive)
                    post(f, r, TAG_PING, -1, 0, NULL, 0);
            last_ping = t;
        }
        outbox_progress(f);
        if (!active)
            nap();
    }
done:
    for (int r = 1; r < f->size; r++)
        post(f, r, TAG_QUIT, -1, 0, NULL, 0);
    runner_quit(&local);
    outbox_drain(f, 2.0);
    free(c.done);
    free(c.ring);
    free(pr);
    return s;
}

/* The test hook's file DIR/rank-RANK.WHAT, holding VALUE (see farm_write_pid). */
static void hook_write(int rank, const char *what, long value)
{
    const char *dir = getenv("CERTNN_MPI_PIDDIR");
    if (!dir || !*dir)
        return;
    char path[4096];
    snprintf(path, sizeof path, "%s/rank-%d.%s", dir, rank, what);
    FILE *fp = fopen(path, "w");
    if (fp) {
        fprintf(fp, "%ld\n", value);
        fclose(fp);
    }
}

/* ---- worker ------------------------------------------------------------------ */

static cn_status work(farm *f, const farm_opts *o, farm_stats *st, cn_err *err)
{
    runner rn;
    if (!runner_start(&rn, o->run, o->run_user))
        return cn_fail(err, CN_EINTERNAL, "rank %d: cannot start the compute thread", f->rank);
    cn_status s = CN_OK;
    post(f, 0, TAG_READY, -1, 0, NULL, 0);
    double seen0 = now(), last_beat = now();
    for (bool quit = false; !quit;) {
        bool active = false;
        msg m;
        int lost = -1, got;
        while (!quit && (got = receive(f, 0, o->lost_after_s, &m, &lost, err)) != 0) {
            if (got == -2) {
                s = CN_EIO;
                goto done;
            }
            if (got == -1)
                continue;
            active = true;
            seen0 = now();
            if (m.tag == TAG_TASK && runner_idle(&rn)) {
                unsigned char *task = malloc(m.len ? m.len : 1);
                if (!task) {
                    free(m.raw);
                    s = cn_fail(err, CN_ENOMEM, "out of memory");
                    goto done;
                }
                memcpy(task, m.data, m.len);
                runner_submit(&rn, m.id, task, m.len);
                hook_write(f->rank, "task", m.id);
            } else if (m.tag == TAG_STOP) {
                runner_stop(&rn, m.id);
            } else if (m.tag == TAG_QUIT) {
                quit = true;
            }
            free(m.raw);
        }
        if (quit)
            break;
        if (o->stop && *o->stop)
            runner_stop(&rn, -1);
        long id;
        int flag;
        unsigned char *res;
        size_t len;
        cn_err rerr;
        if (runner_take(&rn, &id, &flag, &res, &len, &rerr)) {
            active = true;
            if (flag == RES_ERROR)
                post(f, 0, TAG_RESULT, id, flag, (const unsigned char *)rerr.msg,
                     strlen(rerr.msg) + 1);
            else
                post(f, 0, TAG_RESULT, id, flag, res, len);
            free(res);
        }
        double t = now();
        if (t - last_beat >= o->heartbeat_s) {
            post(f, 0, TAG_BEAT, -1, 0, NULL, 0);
            last_beat = t;
        }
        if (t - seen0 > o->lost_after_s) {
            st->coordinator_lost = true;
            s = cn_fail(err, CN_EIO, "rank %d: nothing from rank 0 for %.0f s; giving up",
                        f->rank, t - seen0);
            break;
        }
        outbox_progress(f);
        if (!active)
            nap();
    }
done:
    runner_quit(&rn);
    outbox_drain(f, st->coordinator_lost ? 0.0 : 2.0);
    return s;
}

cn_status farm_run(farm *f, const farm_opts *o, farm_stats *st, cn_err *err)
{
    CN_REQUIRE(f && o && o->run && st && o->heartbeat_s > 0 && o->lost_after_s > 0,
               "a farm, options with a run function and positive heartbeat settings");
    CN_REQUIRE(f->rank != 0 || (o->n_tasks >= 0 && o->task && o->result),
               "rank 0 has tasks and callbacks");
    memset(st, 0, sizeof *st);
    st->ranks = f->size;
    return f->rank == 0 ? coordinate(f, o, st, err) : work(f, o, st, err);
}

void farm_ping(farm *f)
{
    for (int r = 1; r < f->size; r++)
        post(f, r, TAG_PING, -1, 0, NULL, 0);
    outbox_progress(f);
}

bool farm_recovery_enabled(void)
{
    if (!getenv("OMPI_COMM_WORLD_SIZE"))
        return true;          /* not Open MPI */
    const char *v = getenv("OMPI_MCA_orte_enable_recovery");
    return v && (!strcmp(v, "1") || !strcmp(v, "true"));
}

void farm_write_pid(int rank)
{
    hook_write(rank, "pid", (long)getpid());
}

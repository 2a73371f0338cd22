/* workflow.h — helpers shared by the workflow commands of the front end
 * (wf_): `certnn radius`, `certnn compare`, `certnn bench`.
 *
 *   - Output files are written atomically: the bytes go to PATH.tmp.PID in
 *     the same directory, are flushed and fsync'ed, and the temporary file is
 *     renamed over PATH.  A reader (or a crash, or a kill) sees either the old
 *     file or the complete new one, never a truncated one.
 *   - Text is built in a growable buffer (wf_buf) with CSV (RFC 4180 quoting)
 *     and Markdown table helpers, then written in one go.
 *   - Progress goes to stderr only when stderr is a terminal and --quiet was
 *     not given (wf_progress).
 *   - SIGINT / SIGTERM set a flag (wf_signals_catch) that the commands poll
 *     and pass to vfy_verify; the commands then write what they have and
 *     exit 128 + signal.  This flag is the one piece of process-global state:
 *     a signal handler can reach nothing else.
 *   - Robustness probes (wf_probe_*) on the L-infinity eps-ball of a sample,
 *     and the radius search (wf_radius) built on them.
 *   - VNN-COMP suites: instances.csv / expected_results*.csv, results files,
 *     score, and the comparison with a baseline results file.
 *
 * Library-style code: nothing here prints except wf_progress (stderr).
 */
#ifndef CERTNN_WORKFLOW_H
#define CERTNN_WORKFLOW_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "attacks/attacks.h"
#include "bounds/bounds.h"
#include "models/models.h"
#include "verifier/verifier.h"

/* ---- text buffers, CSV and Markdown --------------------------------------- */

typedef struct {
    char *data;               /* NUL-terminated, or NULL while empty */
    size_t len, cap;
    bool failed;              /* an allocation failed: the content is incomplete */
} wf_buf;

void wf_buf_init(wf_buf *b);
void wf_buf_clear(wf_buf *b);                    /* frees, re-initialises */
void wf_buf_put(wf_buf *b, const char *s, size_t n);
void wf_buf_printf(wf_buf *b, const char *fmt, ...) CN_PRINTF(2, 3);
/* One CSV field, quoted ("..." with "" for ") when it holds , " CR or LF. */
void wf_buf_csv(wf_buf *b, const char *field);
/* A Markdown table row "| c0 | c1 |\n" (| in a cell escaped as \|), and the
 * rule "| --- | --- |\n" under the header. */
void wf_md_row(wf_buf *b, int n, const char *const cells[/*n*/]);
void wf_md_rule(wf_buf *b, int n);

/* Splits one CSV line in place into at most max fields (RFC 4180 quotes
 * removed; a trailing CR/LF dropped).  Returns the number of fields. */
int wf_csv_split(char *line, char **fields /*[max]*/, int max);

/* ---- atomic output -------------------------------------------------------- */

cn_status wf_write_atomic(const char *path, const void *data, size_t len, cn_err *err) CN_WUR;
/* CN_ENOMEM when b->failed. */
cn_status wf_write_buf(const char *path, const wf_buf *b, cn_err *err) CN_WUR;
/* JSON, indented, with a final newline.  Borrows root. */
cn_status wf_write_json(const char *path, const json_t *root, cn_err *err) CN_WUR;

/* The VNN-COMP result file of one verdict: "sat" / "unsat" / "timeout" /
 * "unknown" on the first line; for sat the counterexample as
 * ((X_0 v) ... (Y_0 v) ...) with the doubles nearest to the exact point
 * (%.17g: they read back to the same doubles).  Written atomically. */
cn_status wf_write_vnncomp_result(const char *path, const vfy_result *r, cn_err *err) CN_WUR;

/* ---- progress, signals, clock ---------------------------------------------- */

typedef struct {
    bool on;                  /* stderr is a terminal and not quiet */
    double t0, last;          /* start, last print (monotonic seconds) */
    bool dirty;               /* a progress line is on screen */
} wf_progress;

void wf_progress_init(wf_progress *p, bool quiet);
/* "certnn: [done/total] current | elapsed ... | ETA ..." on one rewritten
 * line, at most 5 times a second unless force. */
void wf_progress_show(wf_progress *p, int done, int total, const char *current, bool force);
/* Erases the progress line (before printing anything else on stderr). */
void wf_progress_clear(wf_progress *p);

/* Installs SIGINT/SIGTERM handlers; returns the flag (0, or the signal
 * number once one arrived).  wf_signals_restore puts the old handlers back. */
volatile sig_atomic_t *wf_signals_catch(void);
void wf_signals_restore(void);

double wf_now(void);          /* monotonic clock, seconds */

/* ---- numbers ---------------------------------------------------------------- */

/* Quantile q in [0,1] of sorted[0..n-1] (ascending; +inf allowed) with
 * linear interpolation between order statistics (Hyndman-Fan type 7, as
 * numpy's default).  NAN when n == 0. */
double wf_quantile(const double *sorted, int n, double q);
void wf_sort(double *v, int n);

/* The exact decimal text of q when its expansion terminates within 60
 * fractional digits (denominator 2^a 5^b); false otherwise or if it does not
 * fit in size bytes. */
bool wf_mpq_decimal(const mpq_t q, char *buf, size_t size);
/* The smallest decimal with at most sig significant digits that is >= d
 * (d finite, >= 0), exactly; written to buf, and to q when q is not NULL. */
void wf_decimal_up(double d, int sig, char *buf, size_t size, mpq_t q);

/* ---- robustness probes on an eps-ball --------------------------------------- */

/* Sound bound propagation (bnd_run) on every case of p: *proven when every
 * disjunct of every case has an atom whose lower bound of lhs - rhs is > 0
 * (atoms whose coefficients are not exactly doubles are not used).
 * *min_margin (may be NULL): the smallest such lower bound over the rows. */
cn_status wf_prop_bounds(bnd_ctx *bc, const bnd_opts *o, const prop *p, bool *proven,
                         double *min_margin, cn_err *err) CN_WUR;

typedef struct {
    const net *n;             /* borrowed */
    bnd_ctx *bc;              /* borrowed, for n */
    bnd_opts bounds;          /* method of the certification probe */
    bool complete;            /* then the complete engine on what bounds leave open */
    vfy_opts engine;          /* its options (timeout per probe) */
    atk_opts pgd;             /* PGD probe: time limit / restarts per probe */
    volatile sig_atomic_t *stop;  /* may be NULL */
} wf_prober;

typedef enum {
    WF_OPEN = 0,              /* not decided */
    WF_ROBUST,                /* proven: no point of the ball is misclassified */
    WF_ATTACKED               /* an exactly confirmed misclassified point in the ball */
} wf_probe_verdict;

/* Is x0 itself exactly classified as label (every other output strictly
 * below y_label, in rational arithmetic)? */
cn_status wf_probe_clean(const wf_prober *pr, mpq_t *x0, int label, bool *correct,
                         cn_err *err) CN_WUR;
/* Certification of the ball [x0 - eps, x0 + eps] ∩ [0,1]: bounds, then the
 * complete engine when pr->complete (which may also find a counterexample). */
cn_status wf_probe_certify(const wf_prober *pr, mpq_t *x0, int label, const mpq_t eps,
                           wf_probe_verdict *v, cn_err *err) CN_WUR;
/* PGD on the ball: WF_ATTACKED only with an exactly confirmed point. */
cn_status wf_probe_attack(const wf_prober *pr, mpq_t *x0, int label, const mpq_t eps,
                          wf_probe_verdict *v, cn_err *err) CN_WUR;

/* ---- robustness radius ------------------------------------------------------ */
/*
 * The bracket [certified, attacked] of the L-infinity robustness radius
 * r* = inf { eps : the ball of radius eps around x0 holds a misclassified point }.
 *
 * Grid.  eps_k = k * max_eps / 2^bits, k = 0 .. N = 2^bits, all exact
 * rationals with terminating decimal expansions (max_eps is a decimal).
 * Certified: the largest eps_k a probe proved robust (0 when x0 is exactly
 * correct; none when it is not).  Attacked: the smallest confirmed upper end:
 * DeepFool's L-infinity radius, rounded up to a 6-digit decimal (the
 * confirmed point lies in that ball), then the smallest eps_k at which PGD or
 * the complete engine confirmed a point, by bisection.  Every probe answer is
 * sound, so certified < r* <= attacked whatever the bisection visits.
 */
typedef struct {
    const char *max_eps;      /* decimal text, > 0 */
    int bits;                 /* grid of 2^bits steps, 1..30 */
    bool deepfool;            /* start from DeepFool's radius (default true) */
    atk_opts deepfool_opts;
} wf_radius_opts;

typedef struct {
    bool misclassified;       /* x0 itself is not exactly classified as label */
    long cert_k;              /* largest proven grid index, -1: none */
    char certified[64];       /* exact decimal of eps_{cert_k} ("0" when none) */
    double certified_d;       /* its nearest double (display) */
    bool attacked_found;
    char attacked[64];        /* exact decimal of the attacked upper end, "" when none */
    double attacked_d;        /* nearest double (display), +inf when none */
    const char *attacked_by;  /* "clean", "deepfool", "pgd", "complete" or "none" */
    int probes_certify, probes_attack;
    bool interrupted;         /* the stop flag cut the search short */
    double seconds;
} wf_radius_result;

int wf_radius_bits(double max_eps, double tol);   /* smallest bits with step <= tol */
cn_status wf_radius(const wf_prober *pr, mpq_t *x0, int label, const wf_radius_opts *o,
                    wf_radius_result *res, cn_err *err) CN_WUR;

/* ---- VNN-COMP suites ----------------------------------------------------------- */

typedef struct {
    char *onnx, *vnnlib;      /* as written in instances.csv (relative to the suite) */
    double timeout;           /* seconds */
    char expected[16];        /* "sat", "unsat", "unknown", ... or "" when not listed */
    double fastest_s;         /* fastest trusted time from expected_results, or NAN */
} wf_instance;

typedef struct {
    int n;
    wf_instance *v;
} wf_suite;

/* Reads instances.csv rows "onnx,vnnlib,timeout" (no header; blank lines and
 * '#' comments skipped).  Errors name the file and line. */
cn_status wf_suite_load(const char *path, wf_suite *s, cn_err *err) CN_WUR;
/* Fills expected / fastest_s from an expected_results file (header
 * "onnx,vnnlib,expected,evidence,n_unsat,n_sat,fastest_s,..."). */
cn_status wf_suite_expected(wf_suite *s, const char *path, cn_err *err) CN_WUR;
void wf_suite_free(wf_suite *s);
/* The expected-results file name for an instances file name:
 * instances.csv -> expected_results.csv, instances_X.csv -> expected_results_X.csv. */
void wf_expected_name(const char *instances, char *buf, size_t size);

/* VNN-COMP 2021 scoring without the relative time bonus: +10 for a sat or
 * unsat answer that does not contradict the expected result, -100 (and
 * *incorrect) for sat where unsat is expected or unsat where sat is
 * expected, 0 otherwise. */
int wf_score(const char *verdict, const char *expected, bool *incorrect);

typedef struct {
    char *onnx, *vnnlib;
    char verdict[16];         /* sat, unsat, timeout, unknown, error */
    double time_s;
    long nodes;
} wf_row;

typedef struct {
    int n, cap;
    wf_row *v;
} wf_results;

void wf_results_init(wf_results *r);
void wf_results_free(wf_results *r);
cn_status wf_results_add(wf_results *r, const char *onnx, const char *vnnlib,
                         const char *verdict, double time_s, long nodes, cn_err *err) CN_WUR;
/* Results CSV: header "onnx,vnnlib,verdict,time_s,nodes", one row per
 * instance; written atomically. */
void wf_results_csv(const wf_results *r, wf_buf *b);
cn_status wf_results_write(const char *path, const wf_results *r, cn_err *err) CN_WUR;
/* Reads such a file (header optional; extra columns ignored). */
cn_status wf_results_load(const char *path, wf_results *r, cn_err *err) CN_WUR;

/* Compares cur with base, instance by instance (matched by onnx and vnnlib).
 * A regression: solved (sat/unsat) in base but not in cur, or solved in both
 * with different verdicts.  Appends one line per regression and per
 * improvement to report (may be NULL).  Returns the number of regressions. */
int wf_baseline_compare(const wf_results *base, const wf_results *cur, wf_buf *report,
                        int *improved /* OUT, may be NULL */);

/* ---- suite runs (workflow_bench.c): shared by certnn bench and certnn-mpi ---- */

/* dir/rel, or rel itself when it is absolute; malloc'd, NULL when out of memory. */
char *wf_path_join(const char *dir, const char *rel);

/* Loads dir/instances and its expected results: dir/expected when not NULL,
 * else the matching expected_results*.csv of the suite when it exists.  Every
 * timeout is multiplied by scale and capped at cap (when cap > 0).  *epath:
 * the expected-results file used (malloc'd), or NULL when none. */
cn_status wf_suite_open(const char *dir, const char *instances, const char *expected,
                        double scale, double cap, wf_suite *s /* OUT */,
                        char **epath /* OUT */, cn_err *err) CN_WUR;

/* The network of the previous instance, reused when the next names the same file. */
typedef struct {
    net *n;
    char *path;
} wf_net_cache;
void wf_net_cache_clear(wf_net_cache *c);

/* Decides one suite instance (paths relative to dir) with vfy_verify under o,
 * its timeout replaced by in->timeout.  *verdict: "sat", "unsat", "timeout" or
 * "unknown"; *nodes: branch-and-bound nodes.  An error (unreadable file,
 * sizes that do not match, out of memory) is returned as such: a suite run
 * records the verdict "error". */
cn_status wf_bench_instance(const char *dir, const wf_instance *in, const vfy_opts *o,
                            volatile sig_atomic_t *stop, wf_net_cache *cache,
                            const char **verdict /* OUT */, long *nodes /* OUT */,
                            cn_err *err) CN_WUR;

/* Counts of a suite run, as `certnn bench` prints them. */
typedef struct {
    int n_sat, n_unsat, n_timeout, n_unknown, n_error;
    int incorrect;            /* contradicting the expected result */
    int score;                /* wf_score summed */
    int faster;               /* solved correctly within the fastest trusted time */
    int expected_missed;      /* expected sat/unsat, not solved */
    double t_all, t_solved;   /* seconds, summed over instances */
} wf_tally;

/* Adds the verdict of `in` that took dt seconds; true when it is incorrect. */
bool wf_tally_add(wf_tally *t, const wf_instance *in, const char *verdict, double dt);

/* The table header and one row per instance of `certnn bench`. */
void wf_bench_header(wf_buf *b);
void wf_bench_row(wf_buf *b, const wf_instance *in, const char *verdict, double dt, long nodes,
                  bool incorrect);

/* The closing lines of a suite run: counts (run of total instances), score,
 * time, the expected-results check (epath, or a note that there is none) and,
 * with base (base_path), the comparison of res with it.  Returns the number of
 * regressions against base (0 without one). */
int wf_bench_summary(const wf_tally *t, int run, int total, const char *epath,
                     const wf_results *base, const char *base_path, const wf_results *res,
                     wf_buf *b);

/* ---- plots (plot.c, cairo) --------------------------------------------------- */

typedef struct {
    const char *name;         /* legend label */
    const double *cert;       /* [n_x] certified accuracy in percent */
    const double *att;        /* [n_x] accuracy under attack in percent */
} wf_series;

typedef struct {
    const char *title;
    const char *xlabel, *ylabel;
    int n_x;
    const double *x;          /* [n_x] eps values, ascending */
    int n_series;
    const wf_series *series;  /* [n_series] */
} wf_plot;

/* Renders the plot as PNG (width x height pixels) and SVG, each written
 * atomically.  Either path may be NULL. */
cn_status wf_plot_write(const wf_plot *p, const char *png, const char *svg, int width,
                        int height, cn_err *err) CN_WUR;

#endif

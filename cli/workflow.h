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
 *   - SIGINT / SIGTERM: the commands poll the flag of cli_signals_catch
 *     (cli/cli.h), write what they have and exit 128 + signal.
 *   - The options of the robustness probes (vfy_prober, verifier.h) that
 *     radius and compare share (wf_prober_opts).
 *   - VNN-COMP suites: instances.csv / expected_results*.csv, results files,
 *     score, and the comparison with a baseline results file.
 *
 * Nothing here prints except wf_progress (stderr) and the option errors of
 * wf_prober_opts (cli_error).
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

/* ---- progress, clock ---------------------------------------------- */

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

double wf_now(void);          /* monotonic clock, seconds */

/* ---- numbers ---------------------------------------------------------------- */

/* Quantile q in [0,1] of sorted[0..n-1] (ascending; +inf allowed) with
 * linear interpolation between order statistics (Hyndman-Fan type 7, as
 * numpy's default).  NAN when n == 0. */
double wf_quantile(const double *sorted, int n, double q);
void wf_sort(double *v, int n);

/* ---- robustness probes and radius (the engine's vfy_prober, vfy_radius) ---- */

/* The prober of `certnn radius` and `certnn compare` from their shared
 * options: --method bounds|complete, --bounds, --timeout, --threads, --seed,
 * --attack-time, --attack-restarts.  pr->n, pr->bc and pr->stop are left
 * NULL.  False (after an error message) on a bad value. */
struct cli_args;
bool wf_prober_opts(const struct cli_args *a, vfy_prober *pr /* OUT */);

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

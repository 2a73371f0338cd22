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
 *     score, the comparison with a baseline results file (verdicts and
 *     times), and a suite run's summary as text, JSON and JUnit XML.
 *
 * Nothing here prints except wf_progress (stderr), the option errors of
 * wf_prober_opts and the closing messages of wf_bench_exit (cli_error).
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
cn_status wf_write_json(const char *path, json_t *root, cn_err *err) CN_WUR;

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

/* Where an instance's time went: the engine's figures (vfy_result.phases,
 * nodes_per_s). */
typedef struct {
    bool known;               /* false: an error, or a results file without them */
    vfy_phase_times phases;
    double nodes_per_s;
} wf_timing;

typedef struct {
    char *onnx, *vnnlib;
    char verdict[16];         /* sat, unsat, timeout, unknown, error */
    double time_s;
    long nodes;
    char *reason;             /* why error / unknown (one line), or NULL */
    wf_timing timing;         /* (known false until wf_results_set_timing) */
} wf_row;

typedef struct {
    int n, cap;
    wf_row *v;
} wf_results;

void wf_results_init(wf_results *r);
void wf_results_free(wf_results *r);
cn_status wf_results_add(wf_results *r, const char *onnx, const char *vnnlib,
                         const char *verdict, double time_s, long nodes, cn_err *err) CN_WUR;
/* The same with a reason (may be NULL or ""); CR, LF and tabs in it become
 * spaces, so that it stays one CSV line. */
cn_status wf_results_add_reason(wf_results *r, const char *onnx, const char *vnnlib,
                                const char *verdict, double time_s, long nodes,
                                const char *reason, cn_err *err) CN_WUR;
/* The last row's timing (after wf_results_add*). */
void wf_results_set_timing(wf_results *r, const wf_timing *t);
/* Results CSV: header "onnx,vnnlib,verdict,time_s,nodes", one row per
 * instance, and a sixth column "reason" when some row has one (an error's
 * message, an unknown's cause); then always the timing (WF_TIMING_COLUMNS:
 * seconds per phase and nodes per second of vfy_result, empty for a row
 * without them); written atomically. */
#define WF_TIMING_COLUMNS "attack_s,bounds_s,optimise_s,lp_s,branch_s,nodes_per_second"
void wf_results_csv(const wf_results *r, wf_buf *b);
cn_status wf_results_write(const char *path, const wf_results *r, cn_err *err) CN_WUR;
/* Reads such a file (header optional; with a header the reason is the column
 * named "reason", without one the sixth; with a header naming every timing
 * column, a row's timing is known where they hold numbers; other extra
 * columns ignored). */
cn_status wf_results_load(const char *path, wf_results *r, cn_err *err) CN_WUR;
/* The row of (onnx, vnnlib), or NULL. */
const wf_row *wf_results_find(const wf_results *r, const char *onnx, const char *vnnlib);

/* What a suite run is compared with: a baseline results file and, when
 * max_slowdown > 0, a limit on the time of each instance solved alike in
 * both: time_s <= max_slowdown * baseline time_s + floor_s. */
typedef struct {
    const wf_results *base;   /* NULL: no baseline */
    const char *path;         /* its file, for messages */
    double max_slowdown;      /* 0: times not compared */
    double floor_s;           /* seconds added to the limit (timer noise, load) */
} wf_baseline;

/* One finished instance against its expected result and the baseline. */
typedef struct {
    const wf_row *base;       /* the baseline's row of the instance, or NULL */
    bool incorrect;           /* sat where unsat is expected, or the reverse */
    bool regressed;           /* solved (sat/unsat) in base, now not, or differently */
    bool improved;            /* not solved in base, solved now */
    bool slower;              /* solved alike in both, time above the limit */
    double limit_s;           /* the time limit of `slower` (NAN when not compared) */
} wf_check;

/* Checks cur (expected: the suite's expected result, "" when none; bl may be
 * NULL). */
void wf_bench_check(const wf_row *cur, const char *expected, const wf_baseline *bl,
                    wf_check *out /* OUT */);

/* Compares cur with base, instance by instance (matched by onnx and vnnlib).
 * A regression: solved (sat/unsat) in base but not in cur, or solved in both
 * with different verdicts.  Appends one line per regression and per
 * improvement to report (may be NULL).  Returns the number of regressions.
 * (Times are not compared: see wf_bench_summary.) */
int wf_baseline_compare(const wf_results *base, const wf_results *cur, wf_buf *report,
                        int *improved /* OUT, may be NULL */);
/* CN_EINVAL, naming path and suite_file, when base holds none of the suite's
 * instances (a baseline of another suite or instances file). */
cn_status wf_baseline_shares(const wf_results *base, const char *path, const wf_suite *s,
                             const char *suite_file, cn_err *err) CN_WUR;

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
 * "unknown"; *nodes: branch-and-bound nodes; reason[]: the engine's reason
 * for unknown, else ""; *timing: where the engine's time went.  An error
 * (unreadable file, sizes that do not match, out of memory) is returned as
 * such: a suite run records the verdict "error" with the error's message as
 * its reason. */
#define WF_REASON_MAX 512
cn_status wf_bench_instance(const char *dir, const wf_instance *in, const vfy_opts *o,
                            volatile sig_atomic_t *stop, wf_net_cache *cache,
                            const char **verdict /* OUT */, long *nodes /* OUT */,
                            char reason[/*WF_REASON_MAX*/] /* OUT */,
                            wf_timing *timing /* OUT */, cn_err *err) CN_WUR;

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

/* A suite run as its summaries describe it (borrowed throughout). */
typedef struct {
    const char *dir;          /* SUITE_DIR as given */
    const char *instances;    /* the instances file name (relative to dir) */
    const wf_suite *s;
    const char *epath;        /* the expected results used, or NULL */
    wf_baseline bl;           /* bl.base NULL: no baseline */
    long started;             /* start, seconds since the epoch (JUnit timestamp) */
} wf_bench_run;

/* The comparison of a run with its baseline (zeros without one). */
typedef struct {
    int regressions;          /* verdict regressions (wf_check.regressed) */
    int slower;               /* time regressions (wf_check.slower) */
    int improved;
} wf_base_counts;

/* The table header and the row of one finished instance (`done` of `total`
 * finished, this one included): onnx, vnnlib, verdict, expected, time_s,
 * nodes, done/total, the timing (seconds in attack, bounds, optimise, lp,
 * branch, and nodes/s; "-" when not known), then INCORRECT / REGRESSION /
 * SLOWER / ERROR marks. */
void wf_bench_header(wf_buf *b);
void wf_bench_row(wf_buf *b, const wf_bench_run *r, int done, int total, const wf_row *w);

/* The closing lines of a suite run: counts (rows of res out of the suite's
 * instances), score, time, the expected-results check (or a note that there
 * is none) and, with a baseline, one line per regression, time regression
 * and improvement and their counts (*bc). */
void wf_bench_summary(const wf_bench_run *r, const wf_tally *t, const wf_results *res,
                      wf_buf *b, wf_base_counts *bc /* OUT */);

/* The run as JSON: suite, instances, expected_results, baseline,
 * max_slowdown, slowdown_floor_s, interrupted, counts {...}, score, time_s,
 * time_solved_s and results [{onnx, vnnlib, verdict, expected, time_s, nodes,
 * reason, incorrect, regression, baseline_verdict, baseline_time_s, phases,
 * nodes_per_second}], null for what is absent.  NULL when out of memory. */
json_t *wf_bench_json(const wf_bench_run *r, const wf_tally *t, const wf_results *res,
                      bool interrupted);

/* The run as JUnit XML: one <testsuite> (named after SUITE_DIR) with the
 * run's properties, one <testcase> per finished instance (classname: the
 * suite, name: "ONNX VNNLIB", time in seconds) holding <error> for the verdict
 * error, <failure> for an incorrect verdict, a regression or a time
 * regression, <skipped> for timeout and unknown; text XML-escaped. */
void wf_bench_junit(const wf_bench_run *r, const wf_results *res, wf_buf *b);

/* Text escaped for XML content and attribute values (& < > " ' and control
 * characters as character references; characters XML 1.0 forbids as '?'). */
void wf_buf_xml(wf_buf *b, const char *s);

/* The end of a suite run: prints on stderr (cli_error) an interruption by
 * signal sig (0: none), incorrect verdicts, regressions, time regressions and
 * error verdicts, and returns the exit code: 128 + sig; else 1 on an
 * incorrect verdict or a regression (of verdict or time); else 65 when some
 * instance ended in error; else 0. */
int wf_bench_exit(int sig, int run, int total, const char *out, const wf_tally *t,
                  const wf_base_counts *bc);

/* ---- plots (plot.c, cairo) --------------------------------------------------- */

typedef struct {
    const char *name;         /* legend label */
    const double *cert;       /* [n_x] certified accuracy in percent */
    const double *att;        /* [n_x] accuracy under attack in percent */
    const char *partial;      /* NULL, or why the results are partial ("2 of 3 samples"):
                               * drawn in red after the name in the legend, with a red
                               * "partial results" line under the title; cert/att NULL:
                               * no curve (no sample finished) */
} wf_series;

/* The colour of the partial-results marks (RGB in 0..1; exact in 8 bits). */
#define WF_PLOT_PARTIAL_RGB 0.8, 0.0, 0.0

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

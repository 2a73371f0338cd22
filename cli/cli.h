/* cli.h — internals of the command-line front end (cli/).
 *
 * One options table per subcommand drives getopt_long parsing, defaults,
 * range checks and --help, so the three cannot drift apart.  Commands are
 * thin: parse, call the library, print results on stdout, diagnostics on
 * stderr prefixed "certnn: ".
 */
#ifndef CERTNN_CLI_H
#define CERTNN_CLI_H

#include <signal.h>
#include <stdbool.h>

#include <jansson.h>

#include "models/models.h"
#include "verifier/verifier.h"

/* Exit codes, documented in `certnn --help`. */
enum {
    CLI_EXIT_OK = 0,          /* proven / valid / done */
    CLI_EXIT_CEX = 1,         /* counterexample / invalid */
    CLI_EXIT_UNKNOWN = 2,
    CLI_EXIT_TIMEOUT = 3,
    CLI_EXIT_USAGE = 64,
    CLI_EXIT_DATA = 65,       /* malformed or unsupported input data */
    CLI_EXIT_NOINPUT = 66,    /* cannot open input */
    CLI_EXIT_SOFTWARE = 70,   /* internal error */
    CLI_EXIT_OSERR = 71,      /* out of memory */
    CLI_EXIT_CANTCREAT = 73   /* an output path cannot be written */
};

/* CLI_DEC: a decimal kept as its text (read exactly by the command, e.g.
 * --eps as a rational) whose range [min, max] is checked exactly at parse
 * time; cli_dbl gives its nearest double.  CLI_OUT: a path the command will
 * write (a file, or the prefix of several beside each other): checked at
 * parse time, before any work, that its folder exists and can take a new
 * file (outputs are written through a temporary file renamed over the path)
 * and that the path is not a folder; otherwise exit CLI_EXIT_CANTCREAT.  A
 * CLI_OUT row with min = CLI_OUT_STDOUT takes "-" for standard output (the
 * others refuse it). */
typedef enum { CLI_FLAG, CLI_STR, CLI_INT, CLI_DOUBLE, CLI_DEC, CLI_OUT } cli_kind;
#define CLI_OUT_STDOUT 1

typedef struct {
    const char *name;         /* long name, without "--" */
    char short_name;          /* 0 if none */
    cli_kind kind;
    const char *arg;          /* argument name in --help ("FILE"), NULL for flags */
    const char *def;          /* default as text, NULL if none */
    double min, max;          /* range for INT/DOUBLE (min > max: unchecked) */
    const char *help;
} cli_opt;

/* ---- option rows shared by commands, each written once ------------------
 *
 * CLI_ENGINE_OPT(field) is the row of an engine option, made from its row
 * in verifier/options.h (name, kind, default, range, help); cli_engine_opts
 * applies the values.  _AS keeps the default and range but names the
 * option's use in a command that is not the engine's (another short name,
 * argument name and help; e.g. --seed of attack and train); _DEF gives a
 * command its own default for the engine (e.g. radius's per-probe
 * --timeout) with the range of the table. */
#define CLI_KIND_DBL CLI_DOUBLE
#define CLI_KIND_INT CLI_INT
#define CLI_KIND_ENUM CLI_STR
#define CLI_DEF_DBL(def) #def
#define CLI_DEF_INT(def) #def
#define CLI_DEF_ENUM(def) def
#define CLI_ENGINE_ROW(kind, type, field, name, sh, arg, def, low, high, choices, help) \
    {name, sh, CLI_KIND_##kind, arg, CLI_DEF_##kind(def), low, high, help}
#define CLI_ENGINE_NAME(kind, type, field, name, ...) name
#define CLI_ENGINE_SHORT(kind, type, field, name, sh, ...) sh
#define CLI_ENGINE_KIND(kind, ...) CLI_KIND_##kind
#define CLI_ENGINE_ARG(kind, type, field, name, sh, arg, ...) arg
#define CLI_ENGINE_DEF(kind, type, field, name, sh, arg, def, ...) CLI_DEF_##kind(def)
#define CLI_ENGINE_LOW(kind, type, field, name, sh, arg, def, low, ...) low
#define CLI_ENGINE_HIGH(kind, type, field, name, sh, arg, def, low, high, ...) high
#define CLI_ENGINE_OPT(field) VFY_OPTION_##field(CLI_ENGINE_ROW)
#define CLI_ENGINE_OPT_AS(field, sh, arg, help)                                                \
    {VFY_OPTION_##field(CLI_ENGINE_NAME), sh, VFY_OPTION_##field(CLI_ENGINE_KIND), arg,         \
     VFY_OPTION_##field(CLI_ENGINE_DEF), VFY_OPTION_##field(CLI_ENGINE_LOW),                  \
     VFY_OPTION_##field(CLI_ENGINE_HIGH), help}
#define CLI_ENGINE_OPT_DEF(field, def, help)                                                    \
    {VFY_OPTION_##field(CLI_ENGINE_NAME), VFY_OPTION_##field(CLI_ENGINE_SHORT),                \
     VFY_OPTION_##field(CLI_ENGINE_KIND), VFY_OPTION_##field(CLI_ENGINE_ARG), def,              \
     VFY_OPTION_##field(CLI_ENGINE_LOW), VFY_OPTION_##field(CLI_ENGINE_HIGH), help}

/* The front end's own options that several commands take: one name, kind
 * and range each (the help says what the option means in the command). */
#define CLI_OPT_JSON(help) {"json", 0, CLI_FLAG, NULL, NULL, 0, -1, help}
#define CLI_OPT_QUIET(help) {"quiet", 'q', CLI_FLAG, NULL, NULL, 0, -1, help}
#define CLI_OPT_LABELS(help) {"labels", 0, CLI_STR, "FILE", NULL, 0, -1, help}
#define CLI_OPT_SAMPLES(def, help) {"samples", 'n', CLI_INT, "N", def, 1, 1e9, help}
#define CLI_OPT_OFFSET(help) {"offset", 0, CLI_INT, "K", "0", 0, 1e9, help}
/* The L-infinity radius around a sample of --data: inputs are pixel/255 in
 * [0,1], so a radius above 1 means nothing and is refused (one rule for
 * every command that takes it). */
#define CLI_EPS_MAX 1
#define CLI_OPT_EPS(def, help) {"eps", 'e', CLI_DEC, "E", def, 0, CLI_EPS_MAX, help}
/* --norm: the balls of --data, L-infinity ("inf", the default) or L2 ("2");
 * cli_norm (below) gives 0 or 2, or -1 after a usage message. */
#define CLI_OPT_NORM(help) {"norm", 0, CLI_STR, "P", "inf", 0, -1, help}
/* --mean / --std: data whose normalisation the model file does not hold; the
 * network then sees (x - mean)/std per input channel (one value, or one per
 * channel of the declared input shape), while eps stays in the data's units.
 * cli_normalise puts the exact map in front of n (net_prepend_normalise):
 * -1 when done or neither option was given, else the exit code (message
 * printed). */
#define CLI_OPT_MEAN                                                                            \
    {"mean", 0, CLI_STR, "M1,..", NULL, 0, -1,                                                  \
     "--data: per-channel mean the network's input is normalised with, (x - mean)/std "         \
     "(decimals read exactly; one value or one per input channel; default 0)"}
#define CLI_OPT_STD                                                                             \
    {"std", 0, CLI_STR, "S1,..", NULL, 0, -1,                                                   \
     "--data: per-channel standard deviation for --mean (positive; default 1)"}

typedef struct {
    bool set;                 /* given on the command line, or has a default */
    const char *s;
    long i;
    double d;
} cli_val;

#define CLI_MAX_OPTS 40
#define CLI_MAX_POS 16

typedef struct cli_args {
    const struct cli_cmd *cmd;
    cli_val v[CLI_MAX_OPTS];
    int n_pos;
    const char *pos[CLI_MAX_POS];
} cli_args;

typedef struct cli_cmd {
    const char *name;
    const char *usage;        /* "MODEL [--json]" */
    const char *summary;      /* one line */
    const char *details;      /* paragraph for --help, or NULL */
    const cli_opt *opts;      /* table, terminated by {NULL} */
    int min_pos, max_pos;     /* positional arguments */
    int (*run)(const cli_args *a);
    const char *prog;         /* program named in --help and usage errors; NULL: "certnn" */
} cli_cmd;

/* Option values by long name (misuse aborts if the name is not in the table). */
bool        cli_flag(const cli_args *a, const char *name);
bool        cli_has(const cli_args *a, const char *name);
const char *cli_str(const cli_args *a, const char *name);
long        cli_int(const cli_args *a, const char *name);
double      cli_dbl(const cli_args *a, const char *name);

/* Parses argv (argv[0] is the subcommand name).  Returns -1 when parsed, or
 * an exit code (0 after --help, 64 on a usage error, message printed). */
int cli_parse(const cli_cmd *cmd, int argc, char **argv, cli_args *a);

/* Prints "certnn: MESSAGE" for a failed library call; returns its exit code. */
int cli_report(const cn_err *err);
int cli_exit_code(cn_status s);
/* The JSON contract (docs/json.md): every document certnn writes carries
 * "schema_version"; cli_json_dumps adds it to an object and renders it
 * (indented; NULL when out of memory). */
#define CLI_JSON_SCHEMA 1
char *cli_json_dumps(json_t *root);
/* An exact rational as JSON text: its exact decimal when the expansion
 * terminates (denominator 2^a 5^b: every double, every decimal of a file)
 * within CLI_EXACT_MAX_DIGITS fractional digits, else "p/q". */
#define CLI_EXACT_MAX_DIGITS 1100
json_t *cli_json_exact(const mpq_t q);
/* A counterexample as every command writes it (docs/json.md): x (doubles,
 * null beyond them), x_exact, y (doubles at x), case, disjunct and the
 * exact slack of every atom of the violated disjunct (exact_slacks). */
json_t *cli_json_cex(int n_in, mpq_t *x, const double *x_d, int n_out, const double *y_d,
                     const prop_check *check);
/* Where the engine's time went (vfy_phase_times), as every command writes
 * it (docs/json.md): {attack_s, bounds_s, optimise_s, lp_s, branch_s}. */
json_t *cli_json_phases(const vfy_phase_times *ph);
/* Prints root (takes ownership; NULL means it could not be built) as
 * indented JSON (cli_json_dumps) on stdout; returns 0 or the out-of-memory
 * exit code. */
int cli_print_json(json_t *root);
/* Prints "certnn: ..." on stderr. */
void cli_error(const char *fmt, ...) CN_PRINTF(1, 2);
/* Options a command cannot run without: names (NULL-terminated) lists
 * them by long name.  When some are not given, prints "CMD: missing --X
 * ARG and --Y ARG (see ...)" naming only those, and returns false. */
bool cli_require(const cli_args *a, const char *const *names);
/* After loading a dataset with at most `want` samples from `offset`
 * (want < 0: all): when the file held fewer (`got`), says so on stderr
 * (even with -q: the run is smaller than asked) naming the option. */
void cli_samples_note(const char *opt, long want, long offset, int got, const char *path);
/* A model or VNN-LIB property read from a file, or from stdin when the path
 * is "-" (gzipped or not; NNet told from ONNX by its text; named "<stdin>"
 * in messages).  cli_stdin_once: -1 when at most one of model and property
 * is "-" and, with cert, neither; else a usage message and exit code. */
cn_status cli_net_load(const char *path, net **out, cn_err *err) CN_WUR;
cn_status cli_prop_load(const char *path, prop **out, cn_err *err) CN_WUR;
int cli_stdin_once(const char *model, const char *prop_path, bool cert);
/* --mean/--std: see CLI_OPT_MEAN above. */
int cli_normalise(const cli_args *a, net *n);
/* --norm: see CLI_OPT_NORM above. */
int cli_norm(const cli_args *a);
/* The exact value of a CLI_DEC option that was given (its range was checked
 * when the options were read); q initialised by the caller. */
void cli_dec_q(const cli_args *a, const char *name, mpq_t q);

/* The subcommands. */
extern const cli_cmd cli_cmd_info, cli_cmd_eval, cli_cmd_spec, cli_cmd_verify, cli_cmd_attack;
extern const cli_cmd cli_cmd_radius, cli_cmd_compare, cli_cmd_bench;
extern const cli_cmd cli_cmd_keygen, cli_cmd_check, cli_cmd_train;

/* SIGINT / SIGTERM during a long run: cli_signals_catch installs handlers
 * that only set the returned flag (0, or the signal number once one
 * arrived); the command polls it and passes it to the engine as its stop
 * flag (vfy_verify ends with VFY_TIMEOUT), writes what it has and exits
 * 128 + signal.  cli_signals_restore puts the old handlers back.  The flag
 * is the one piece of process-global state of the front end: a signal
 * handler can reach nothing else. */
volatile sig_atomic_t *cli_signals_catch(void);
void cli_signals_restore(void);

/* OpenBLAS on one thread unless OPENBLAS_NUM_THREADS or OMP_NUM_THREADS
 * says otherwise: certnn's products are small and its own worker threads
 * use the cores; BLAS threads would only spin and compete with them. */
void cli_blas_threads_default(void);

/* Shared with the MPI front end (certnn-mpi, cli/mpi/), which reuses
 * the option tables of `bench` and `verify` and their output. */
/* The engine's options: o at its defaults (vfy_opts_init), then every engine
 * option the command's table holds (CLI_ENGINE_OPT...) at its parsed value
 * (numbers were range-checked by cli_parse).  false after a usage error
 * (an ENUM value that is none of its choices; message printed). */
bool cli_engine_opts(const cli_args *a, vfy_opts *o);
/* Prints the complete engine's result r on the property `path` as `certnn
 * verify --vnnlib` does (text or --json), writes --vnncomp-result and --cert
 * (signed with --sign); returns the exit code.  Borrows everything. */
int cli_verify_report(const cli_args *a, const char *model, const net *n, const char *path,
                      const prop *p, const vfy_result *r);

#endif

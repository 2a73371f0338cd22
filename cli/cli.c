/* cli.c — table-driven option parsing and --help for every subcommand. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "cli/cli.h"

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("certnn: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_exit_code(cn_status s)
{
    switch (s) {
    case CN_OK: return CLI_EXIT_OK;
    case CN_EIO: return CLI_EXIT_NOINPUT;
    case CN_EPARSE:
    case CN_EUNSUPPORTED:
    case CN_EINVAL:
    case CN_ELIMIT: return CLI_EXIT_DATA;
    case CN_ENOMEM: return CLI_EXIT_OSERR;
    case CN_EINTERNAL: return CLI_EXIT_SOFTWARE;
    }
    return CLI_EXIT_SOFTWARE;
}

int cli_print_json(json_t *root)
{
    if (!root) {
        cli_error("out of memory building JSON");
        return CLI_EXIT_OSERR;
    }
    char *s = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    json_decref(root);
    if (!s) {
        cli_error("out of memory printing JSON");
        return CLI_EXIT_OSERR;
    }
    puts(s);
    free(s);
    return CLI_EXIT_OK;
}

int cli_report(const cn_err *err)
{
    cli_error("%s", err->msg[0] ? err->msg : cn_status_str(err->status));
    return cli_exit_code(err->status);
}

#define PROG(cmd) ((cmd)->prog ? (cmd)->prog : "certnn")

static int opt_index(const cli_cmd *cmd, const char *name)
{
    for (int i = 0; cmd->opts[i].name; i++)
        if (strcmp(cmd->opts[i].name, name) == 0)
            return i;
    CN_REQUIRE(0, "option name is in the command's table");
}

bool cli_has(const cli_args *a, const char *name) { return a->v[opt_index(a->cmd, name)].set; }
bool cli_flag(const cli_args *a, const char *name) { return a->v[opt_index(a->cmd, name)].i != 0; }
const char *cli_str(const cli_args *a, const char *name) { return a->v[opt_index(a->cmd, name)].s; }
long cli_int(const cli_args *a, const char *name) { return a->v[opt_index(a->cmd, name)].i; }
double cli_dbl(const cli_args *a, const char *name) { return a->v[opt_index(a->cmd, name)].d; }

static void print_help(const cli_cmd *cmd)
{
    printf("Usage: %s %s %s\n\n%s\n", PROG(cmd), cmd->name, cmd->usage, cmd->summary);
    if (cmd->details)
        printf("\n%s\n", cmd->details);
    printf("\nOptions:\n");
    for (int i = 0; cmd->opts[i].name; i++) {
        const cli_opt *o = &cmd->opts[i];
        char lhs[64];
        if (o->short_name)
            snprintf(lhs, sizeof lhs, "-%c, --%s%s%s", o->short_name, o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        else
            snprintf(lhs, sizeof lhs, "    --%s%s%s", o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        printf("  %-28s %s", lhs, o->help);
        if (o->def)
            printf(" (default %s)", o->def);
        if ((o->kind == CLI_INT || o->kind == CLI_DOUBLE) && o->min <= o->max)
            printf(" [%g..%g]", o->min, o->max);
        putchar('\n');
    }
    printf("  %-28s %s\n", "-h, --help", "show this help");
    printf("\nExit codes: 0 ok/proven/valid, 1 counterexample/invalid, 2 unknown, 3 timeout,\n"
           "64 usage error, 65 bad input data, 66 cannot open input, 70 internal error,\n"
           "71 out of memory.\n");
}

/* Converts text to the option's kind, checking the range.  Returns false and
 * prints a usage error naming the option when it does not fit. */
static bool set_value(const cli_opt *o, const char *text, cli_val *v)
{
    v->set = true;
    v->s = text;
    if (o->kind == CLI_FLAG) {
        v->i = 1;
        return true;
    }
    if (o->kind == CLI_STR)
        return true;
    char *end;
    errno = 0;
    if (o->kind == CLI_INT) {
        long x = strtol(text, &end, 10);
        if (errno || end == text || *end) {
            cli_error("--%s: expected an integer, got '%s'", o->name, text);
            return false;
        }
        if (o->min <= o->max && (x < o->min || x > o->max)) {
            cli_error("--%s: %ld is out of range [%g, %g]", o->name, x, o->min, o->max);
            return false;
        }
        v->i = x;
        v->d = (double)x;
        return true;
    }
    double x = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(x)) {
        cli_error("--%s: expected a number, got '%s'", o->name, text);
        return false;
    }
    if (o->min <= o->max && (x < o->min || x > o->max)) {
        cli_error("--%s: %g is out of range [%g, %g]", o->name, x, o->min, o->max);
        return false;
    }
    v->d = x;
    return true;
}

int cli_parse(const cli_cmd *cmd, int argc, char **argv, cli_args *a)
{
    memset(a, 0, sizeof *a);
    a->cmd = cmd;
    struct option lopts[CLI_MAX_OPTS + 2];
    char shorts[3 * CLI_MAX_OPTS + 4];
    int ns = 0, n = 0;
    shorts[ns++] = ':';       /* report a missing argument as ':' */
    for (; cmd->opts[n].name; n++) {
        CN_REQUIRE(n < CLI_MAX_OPTS, "option table fits CLI_MAX_OPTS");
        const cli_opt *o = &cmd->opts[n];
        lopts[n] = (struct option){o->name, o->kind == CLI_FLAG ? no_argument : required_argument,
                                   NULL, 1000 + n};
        if (o->short_name) {
            shorts[ns++] = o->short_name;
            if (o->kind != CLI_FLAG)
                shorts[ns++] = ':';
        }
        if (o->def && !set_value(o, o->def, &a->v[n]))
            CN_REQUIRE(0, "default value fits its option");
        if (o->kind == CLI_FLAG)
            a->v[n].set = false;
    }
    lopts[n] = (struct option){"help", no_argument, NULL, 'h'};
    lopts[n + 1] = (struct option){NULL, 0, NULL, 0};
    shorts[ns++] = 'h';
    shorts[ns] = '\0';

    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, shorts, lopts, NULL)) != -1) {
        if (c == 'h') {
            print_help(cmd);
            return CLI_EXIT_OK;
        }
        int idx = -1;
        if (c >= 1000)
            idx = c - 1000;
        else if (c != '?' && c != ':')
            for (int i = 0; i < n; i++)
                if (cmd->opts[i].short_name == c)
                    idx = i;
        if (idx < 0) {
            const char *bad = argv[optind - 1];
            if (c == ':')
                cli_error("%s %s: option '%s' needs an argument (see '%s %s --help')",
                          PROG(cmd), cmd->name, bad, PROG(cmd), cmd->name);
            else
                cli_error("%s: unknown option '%s' (see '%s %s --help')", cmd->name,
                          optopt ? (char[]){'-', (char)optopt, 0} : bad, PROG(cmd), cmd->name);
            return CLI_EXIT_USAGE;
        }
        if (!set_value(&cmd->opts[idx], optarg, &a->v[idx]))
            return CLI_EXIT_USAGE;
    }
    for (int i = optind; i < argc; i++) {
        if (a->n_pos >= CLI_MAX_POS || a->n_pos >= cmd->max_pos) {
            cli_error("%s: unexpected argument '%s' (see '%s %s --help')", cmd->name,
                      argv[i], PROG(cmd), cmd->name);
            return CLI_EXIT_USAGE;
        }
        a->pos[a->n_pos++] = argv[i];
    }
    if (a->n_pos < cmd->min_pos) {
        cli_error("%s: missing argument; usage: %s %s %s", cmd->name, PROG(cmd), cmd->name,
                  cmd->usage);
        return CLI_EXIT_USAGE;
    }
    return -1;
}

/* The command's value of the option `name`, or NULL when its table does not
 * have the option or it has no value. */
static const cli_val *given(const cli_args *a, const char *name)
{
    for (int i = 0; a->cmd->opts[i].name; i++)
        if (strcmp(a->cmd->opts[i].name, name) == 0)
            return a->v[i].set ? &a->v[i] : NULL;
    return NULL;
}

/* "--split: expected input, relu or auto, got 'x'": the other choices, then
 * the default. */
static void bad_choice(const char *name, const char *choices, const char *def, const char *got)
{
    char list[256] = "";
    size_t len = 0;
    for (const char *w = choices; *w;) {
        size_t n = strcspn(w, " ");
        if (n != strlen(def) || strncmp(w, def, n) != 0)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%.*s", len ? ", " : "",
                                    (int)n, w);
        w += n + (w[n] == ' ');
        CN_REQUIRE(len < sizeof list, "choices fit the message");
    }
    cli_error("--%s: expected %s or %s, got '%s'", name, list, def, got);
}

bool cli_engine_opts(const cli_args *a, vfy_opts *o)
{
    vfy_opts_init(o);
    const cli_val *v;
#define CLI_APPLY_DBL(type, field, name, def, choices) o->field = (type)v->d;
#define CLI_APPLY_INT(type, field, name, def, choices) o->field = (type)v->i;
#define CLI_APPLY_ENUM(type, field, name, def, choices)                                         \
    {                                                                                         \
        int k = vfy_opt_choice(choices, v->s);                                                \
        if (k < 0) {                                                                          \
            bad_choice(name, choices, def, v->s);                                             \
            return false;                                                                     \
        }                                                                                     \
        o->field = (type)k;                                                                   \
    }
#define CLI_APPLY(kind, type, field, name, sh, arg, def, low, high, choices, help)             \
    if ((v = given(a, name)) != NULL)                                                         \
        CLI_APPLY_##kind(type, field, name, def, choices)
    VFY_OPTIONS(CLI_APPLY)
#undef CLI_APPLY
#undef CLI_APPLY_ENUM
#undef CLI_APPLY_INT
#undef CLI_APPLY_DBL
    return true;
}

/* The only process-global state of the front end: what a signal handler sets. */
static volatile sig_atomic_t caught;
static struct sigaction old_int, old_term;

static void on_signal(int sig) { caught = sig; }

volatile sig_atomic_t *cli_signals_catch(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    caught = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    return &caught;
}

void cli_signals_restore(void)
{
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
}

void cli_blas_threads_default(void)
{
    if (!getenv("OPENBLAS_NUM_THREADS") && !getenv("OMP_NUM_THREADS"))
        openblas_set_num_threads(1);
}

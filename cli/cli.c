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
#include <sys/stat.h>
#include <unistd.h>

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

char *cli_json_dumps(json_t *root)
{
    if (json_is_object(root) &&
        json_object_set_new(root, "schema_version", json_integer(CLI_JSON_SCHEMA)) != 0)
        return NULL;
    return json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
}

json_t *cli_json_exact(const mpq_t q)
{
    /* q = n / (2^a 5^b) is the decimal  n 2^(k-a) 5^(k-b) / 10^k,  k = max(a, b) */
    mpz_t den, five, m, t;
    mpz_inits(den, five, m, t, NULL);
    mpz_set(den, mpq_denref(q));
    mpz_set_ui(five, 5);
    unsigned long a = mpz_scan1(den, 0);
    mpz_tdiv_q_2exp(den, den, a);
    unsigned long b = mpz_remove(den, den, five);
    json_t *out = NULL;
    if (mpz_cmp_ui(den, 1) == 0 && a <= CLI_EXACT_MAX_DIGITS && b <= CLI_EXACT_MAX_DIGITS) {
        unsigned long k = a > b ? a : b;
        mpz_abs(m, mpq_numref(q));
        mpz_mul_2exp(m, m, k - a);
        mpz_pow_ui(t, five, k - b);
        mpz_mul(m, m, t);
        char *dig = mpz_get_str(NULL, 10, m);
        size_t len = dig ? strlen(dig) : 0, cap = len + k + 4;
        char *txt = dig ? malloc(cap) : NULL;
        if (txt) {
            size_t w = 0;
            if (mpq_sgn(q) < 0)
                txt[w++] = '-';
            if (len <= k) {            /* 0.000ddd */
                txt[w++] = '0';
                txt[w++] = '.';
                for (size_t i = len; i < k; i++)
                    txt[w++] = '0';
                memcpy(txt + w, dig, len);
                w += len;
            } else {
                memcpy(txt + w, dig, len - k);
                w += len - k;
                if (k > 0) {
                    txt[w++] = '.';
                    memcpy(txt + w, dig + len - k, k);
                    w += k;
                }
            }
            txt[w] = '\0';
            out = json_string(txt);
        }
        free(txt);
        free(dig); /* GMP's default allocator is malloc */
    } else {
        char *r = mpq_get_str(NULL, 10, q);
        out = r ? json_string(r) : NULL;
        free(r);
    }
    mpz_clears(den, five, m, t, NULL);
    return out;
}

/* A JSON number, or null for a value outside the doubles. */
static json_t *real_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

json_t *cli_json_cex(int n_in, mpq_t *x, const double *x_d, int n_out, const double *y_d,
                     const prop_check *check)
{
    json_t *xs = json_array(), *xe = json_array(), *y = json_array(), *m = json_array();
    for (int k = 0; k < n_in; k++) {
        json_array_append_new(xs, real_or_null(x_d[k]));
        json_array_append_new(xe, cli_json_exact(x[k]));
    }
    for (int k = 0; y_d && k < n_out; k++)
        json_array_append_new(y, real_or_null(y_d[k]));
    for (int k = 0; k < check->n_margin; k++)
        json_array_append_new(m, cli_json_exact(check->margin[k]));
    return json_pack("{s:o, s:o, s:o, s:i, s:i, s:o}", "x", xs, "x_exact", xe, "y", y, "case",
                     check->case_idx, "disjunct", check->disj_idx, "exact_slacks", m);
}

json_t *cli_json_phases(const vfy_phase_times *ph)
{
    return json_pack("{s:f, s:f, s:f, s:f, s:f}", "attack_s", ph->attack_s, "bounds_s",
                     ph->bounds_s, "optimise_s", ph->optimise_s, "lp_s", ph->lp_s, "branch_s",
                     ph->branch_s);
}

int cli_print_json(json_t *root)
{
    if (!root) {
        cli_error("out of memory building JSON");
        return CLI_EXIT_OSERR;
    }
    char *s = cli_json_dumps(root);
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
        if ((o->kind == CLI_INT || o->kind == CLI_DOUBLE || o->kind == CLI_DEC) &&
            o->min <= o->max)
            printf(" [%g..%g]", o->min, o->max);
        putchar('\n');
    }
    printf("  %-28s %s\n", "-h, --help", "show this help");
    printf("\nExit codes: 0 ok/proven/valid, 1 counterexample/invalid, 2 unknown, 3 timeout,\n"
           "64 usage error, 65 bad input data, 66 cannot open input, 70 internal error,\n"
           "71 out of memory, 73 cannot write an output path.\n");
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
    if (o->kind == CLI_STR || o->kind == CLI_OUT)
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
    if (o->kind == CLI_DEC) {
        /* the range is checked on the exact value: "1.0000000000000000001" is above 1 */
        mpq_t q, lim;
        mpq_inits(q, lim, NULL);
        bool num = cn_mpq_set_decimal(q, text, strlen(text)), in = num;
        if (num && o->min <= o->max) {
            mpq_set_d(lim, o->min);
            in = mpq_cmp(q, lim) >= 0;
            mpq_set_d(lim, o->max);
            in = in && mpq_cmp(q, lim) <= 0;
        }
        v->d = num ? strtod(text, NULL) : 0.0; /* the nearest double (mpq_get_d truncates) */
        mpq_clears(q, lim, NULL);
        if (!num)
            cli_error("--%s: expected a decimal number, got '%s'", o->name, text);
        else if (!in)
            cli_error("--%s: %s is out of range [%g, %g]", o->name, text, o->min, o->max);
        return in;
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

/* Can the command write path (option o) when its work is done?  Its folder
 * must exist and take new files; the path must not be a folder. */
static bool output_ok(const cli_opt *o, const char *path)
{
    if (strcmp(path, "-") == 0) {
        if (o->min == CLI_OUT_STDOUT)
            return true;
        cli_error("--%s: '-' (standard output) is not supported here: give a file name", o->name);
        return false;
    }
    const char *slash = strrchr(path, '/');
    size_t dn = slash ? (size_t)(slash - path) : 0;
    char dir[4096];
    if (dn >= sizeof dir) {
        cli_error("--%s: '%s': the path is too long", o->name, path);
        return false;
    }
    if (slash && dn == 0)
        dn = 1; /* "/name": the root */
    memcpy(dir, slash ? path : ".", slash ? dn : 1);
    dir[slash ? dn : 1] = '\0';
    struct stat st;
    if (!path[0] || (slash && !slash[1])) {
        cli_error("--%s: '%s': expected a file name", o->name, path);
        return false;
    }
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        cli_error("--%s: '%s' is a folder, not a file", o->name, path);
        return false;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        cli_error("--%s: cannot write '%s': folder '%s' does not exist", o->name, path, dir);
        return false;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        cli_error("--%s: cannot write '%s': folder '%s' is not writable (%s)", o->name, path,
                  dir, strerror(errno));
        return false;
    }
    /* and a file can be made there, as the atomic write will (PATH.tmp.PID) */
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        cli_error("--%s: cannot write '%s': %s", o->name, path, strerror(errno));
        return false;
    }
    fclose(f);
    remove(tmp);
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
                cli_error("%s: option '%s' needs an argument (see '%s %s --help')",
                          cmd->name, bad, PROG(cmd), cmd->name);
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
        /* the usage names the positional arguments in capitals, in order */
        const char *w = cmd->usage;
        size_t wn = 0;
        for (int k = 0; *w; w += wn) {
            w += strspn(w, " ");
            wn = strcspn(w, " ");
            bool caps = wn > 0;
            for (size_t j = 0; j < wn; j++)
                caps &= (w[j] >= 'A' && w[j] <= 'Z') || w[j] == '.' || w[j] == '_';
            if (caps && k++ == a->n_pos)
                break;
        }
        if (*w)
            cli_error("%s: missing the %.*s argument; usage: %s %s %s", cmd->name, (int)wn, w,
                      PROG(cmd), cmd->name, cmd->usage);
        else
            cli_error("%s: missing argument; usage: %s %s %s", cmd->name, PROG(cmd),
                      cmd->name, cmd->usage);
        return CLI_EXIT_USAGE;
    }
    for (int i = 0; i < n; i++)
        if (cmd->opts[i].kind == CLI_OUT && a->v[i].set && !output_ok(&cmd->opts[i], a->v[i].s))
            return CLI_EXIT_CANTCREAT;
    return -1;
}

/* Writes "--a A", "--a A and --b B" or "--a A, --b B and --c C" to buf:
 * the options of names (only those not given when pick_missing; with their
 * argument names when args).  Returns how many. */
static size_t join_opts(const cli_args *a, const char *const *names, bool pick_missing,
                        bool args, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    int count = 0;
    for (int k = 0; names[k]; k++)
        count += !pick_missing || !a->v[opt_index(a->cmd, names[k])].set;
    for (int k = 0, done = 0; names[k]; k++) {
        const cli_opt *o = &a->cmd->opts[opt_index(a->cmd, names[k])];
        if (pick_missing && a->v[opt_index(a->cmd, names[k])].set)
            continue;
        done++;
        len += (size_t)snprintf(buf + len, cap - len, "--%s%s%s%s", o->name,
                                args && o->arg ? " " : "", args && o->arg ? o->arg : "",
                                done == count ? "" : done == count - 1 ? " and " : ", ");
        CN_REQUIRE(len < cap, "the option names fit the message");
    }
    return (size_t)count;
}

bool cli_require(const cli_args *a, const char *const *names)
{
    char missing[256], all[256];
    size_t nm = join_opts(a, names, true, true, missing, sizeof missing);
    if (nm == 0)
        return true;
    size_t nall = join_opts(a, names, false, false, all, sizeof all);
    if (nall == 1)
        cli_error("%s: missing %s, which is required (see '%s %s --help')", a->cmd->name,
                  missing, PROG(a->cmd), a->cmd->name);
    else
        cli_error("%s: missing %s (%s are required; see '%s %s --help')", a->cmd->name,
                  missing, all, PROG(a->cmd), a->cmd->name);
    return false;
}

void cli_samples_note(const char *opt, long want, long offset, int got, const char *path)
{
    if (want < 0 || got >= want)
        return;
    if (offset > 0)
        cli_error("warning: %s %ld: %s has only %d sample%s from offset %ld; using %s", opt,
                  want, path, got, got == 1 ? "" : "s", offset, got == 1 ? "it" : "those");
    else
        cli_error("warning: %s %ld: %s has only %d sample%s; using %s", opt, want, path, got,
                  got == 1 ? "" : "s", got == 1 ? "it" : "all of them");
}

/* "--mean 0.4914,0.4822,0.4465": one decimal or max (the channels), each
 * exact, into q (initialised); the count, or -1 after a message. */
static int parse_decimals(const char *opt, const char *s, mpq_t *q, int max)
{
    int k = 0, nv = 1;
    for (const char *p = s; (p = strchr(p, ',')) != NULL; p++)
        nv++;
    if (nv != 1 && nv != max) {
        cli_error("--%s: %d values, but the network's input has %d channel%s: give one value%s",
                  opt, nv, max, max == 1 ? "" : "s", max == 1 ? "" : " or one per channel");
        return -1;
    }
    for (const char *p = s;; k++) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (!cn_mpq_set_decimal(q[k], p, len)) {
            cli_error("--%s: value %d: expected a decimal number, got '%.*s' (values are "
                      "separated by commas)", opt, k + 1, (int)len, p);
            return -1;
        }
        if (!c)
            return k + 1;
        p = c + 1;
    }
}

void cli_dec_q(const cli_args *a, const char *name, mpq_t q)
{
    const cli_val *v = &a->v[opt_index(a->cmd, name)];
    CN_REQUIRE(a->cmd->opts[opt_index(a->cmd, name)].kind == CLI_DEC && v->set, "a given CLI_DEC");
    bool ok = cn_mpq_set_decimal(q, v->s, strlen(v->s));
    CN_REQUIRE(ok, "a CLI_DEC checked when parsed");
}

int cli_norm(const cli_args *a)
{
    const char *s = cli_str(a, "norm");
    if (strcmp(s, "inf") == 0)
        return 0;
    if (strcmp(s, "2") == 0)
        return 2;
    cli_error("--norm: expected inf or 2, got '%s'", s);
    return -1;
}

int cli_normalise(const cli_args *a, net *n)
{
    const char *ms = cli_str(a, "mean"), *ss = cli_str(a, "std");
    if (!ms && !ss)
        return -1;
    int C = net_input_channels(n), rc = CLI_EXIT_USAGE;
    mpq_t *mean = malloc(sizeof(mpq_t) * (size_t)C), *sd = malloc(sizeof(mpq_t) * (size_t)C);
    if (!mean || !sd) {
        free(mean);
        free(sd);
        cli_error("out of memory");
        return CLI_EXIT_OSERR;
    }
    for (int c = 0; c < C; c++) {
        mpq_init(mean[c]);
        mpq_init(sd[c]);
        mpq_set_ui(sd[c], 1, 1);
    }
    int nm = ms ? parse_decimals("mean", ms, mean, C) : 1;
    int ns = ss ? parse_decimals("std", ss, sd, C) : 1;
    if (nm < 0 || ns < 0)
        goto done;
    /* one value stands for every channel */
    for (int c = nm; nm == 1 && c < C; c++)
        mpq_set(mean[c], mean[0]);
    for (int c = ns; ns == 1 && c < C; c++)
        mpq_set(sd[c], sd[0]);
    for (int c = 0; c < C; c++)
        if (mpq_sgn(sd[c]) <= 0) {
            cli_error("--std: value %d: expected a positive number, got '%.17g'", ns == 1 ? 1 : c + 1,
                      mpq_get_d(sd[c]));
            goto done;
        }
    cn_err err;
    rc = net_prepend_normalise(n, C, mean, sd, &err) == CN_OK ? -1 : cli_report(&err);
done:
    for (int c = 0; c < C; c++) {
        mpq_clear(mean[c]);
        mpq_clear(sd[c]);
    }
    free(mean);
    free(sd);
    return rc;
}

/* All of stdin (binary), gunzipped when it starts with gzip's magic bytes;
 * *data NUL-terminated (cn_free). */
static cn_status read_stdin(unsigned char **data, size_t *len, cn_err *err)
{
    size_t cap = 1 << 16, n = 0;
    unsigned char *b = cn_malloc(cap + 1);
    if (!b)
        return cn_fail(err, CN_ENOMEM, "<stdin>: out of memory");
    for (;;) {
        if (n == cap) {
            if (cap >= CN_GZ_MAX_BYTES) {
                cn_free(b);
                return cn_fail(err, CN_ELIMIT, "<stdin>: more than %zu bytes", (size_t)cap);
            }
            unsigned char *nb = cn_realloc(b, 2 * cap + 1);
            if (!nb) {
                cn_free(b);
                return cn_fail(err, CN_ENOMEM, "<stdin>: out of memory");
            }
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n, stdin);
        n += got;
        if (got == 0) {
            if (ferror(stdin)) {
                cn_free(b);
                return cn_fail(err, CN_EIO, "<stdin>: read error: %s", strerror(errno));
            }
            break;
        }
    }
    b[n] = 0;
    if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b) {
        unsigned char *z = NULL;
        size_t zn = 0;
        cn_status st = cn_gunzip_mem(b, n, "<stdin>", CN_GZ_MAX_BYTES, &z, &zn, err);
        cn_free(b);
        if (st != CN_OK)
            return st;
        b = z;
        n = zn;
    }
    *data = b;
    *len = n;
    return CN_OK;
}

cn_status cli_net_load(const char *path, net **out, cn_err *err)
{
    if (strcmp(path, "-") != 0)
        return net_load(path, out, err);
    unsigned char *b;
    size_t n;
    cn_status st = read_stdin(&b, &n, err);
    if (st != CN_OK)
        return st;
    /* NNet is text beginning with '//' comments or numbers; ONNX is protobuf */
    size_t k = 0;
    while (k < n && (b[k] == ' ' || b[k] == '\t' || b[k] == '\r' || b[k] == '\n'))
        k++;
    bool nnet = k < n && (b[k] == '/' || (b[k] >= '0' && b[k] <= '9'));
    st = nnet ? net_load_nnet_mem((const char *)b, n, "<stdin>", out, err)
              : net_load_onnx_mem(b, n, "<stdin>", out, err);
    cn_free(b);
    return st;
}

cn_status cli_prop_load(const char *path, prop **out, cn_err *err)
{
    if (strcmp(path, "-") != 0)
        return prop_parse_vnnlib(path, out, err);
    unsigned char *b;
    size_t n;
    cn_status st = read_stdin(&b, &n, err);
    if (st != CN_OK)
        return st;
    st = prop_parse_vnnlib_mem((const char *)b, n, "<stdin>", 0, out, err);
    cn_free(b);
    return st;
}

int cli_stdin_once(const char *model, const char *prop_path, bool cert)
{
    bool m = model && !strcmp(model, "-"), p = prop_path && !strcmp(prop_path, "-");
    if (m && p) {
        cli_error("the model and --vnnlib cannot both be read from stdin ('-'): give one as a "
                  "file");
        return CLI_EXIT_USAGE;
    }
    if ((m || p) && cert) {
        cli_error("--cert needs the %s as a file, not stdin ('-'): a certificate names its "
                  "files and binds them by SHA-256 for 'certnn check'", m ? "model" : "property");
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

/* "--split: expected input, relu, act or auto, got 'x'": the other choices, then
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

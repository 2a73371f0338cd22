/* cmd_eval.c — `certnn eval MODEL --input FILE [--exact] [--json] [--vnnlib P]`:
 * network outputs for given inputs, in double or in exact rational
 * arithmetic, and optionally an exact check of each input against a VNN-LIB
 * property; `certnn eval MODEL --data FILE [--labels FILE] [--samples N]
 * [--offset K]`: accuracy on a dataset. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <mpfr.h>

#include "cli/cli.h"

static const cli_opt opts[] = {
    {"input", 'i', CLI_STR, "FILE", NULL, 0, -1,
     "inputs, one vector per line (numbers separated by commas or spaces; '#' starts a "
     "comment; '-': stdin)"},
    {"exact", 0, CLI_FLAG, NULL, NULL, 0, -1,
     "evaluate in exact rational arithmetic (decimal inputs read exactly)"},
    CLI_OPT_JSON("print JSON instead of text"),
    {"vnnlib", 0, CLI_STR, "P", NULL, 0, -1,
     "decide exactly whether each input violates this VNN-LIB property (exit 1 if one does; "
     "'-': stdin)"},
    {"data", 0, CLI_STR, "FILE", NULL, 0, -1,
     "dataset mode: CSV (8-bit or decimal values), IDX images or .npy (gzipped or not); "
     "prints the accuracy"},
    CLI_OPT_LABELS("labels file for --data IDX images (IDX) or .npy data (.npy of integers)"),
    CLI_OPT_SAMPLES(NULL, "use at most N samples of --data"),
    CLI_OPT_OFFSET("skip the first K samples of --data"),
    CLI_OPT_MEAN,
    CLI_OPT_STD,
    {NULL, 0, 0, NULL, NULL, 0, 0, NULL},
};

/* Splits one line into decimal tokens; each is parsed exactly into q[k].
 * Returns the number of values, or -1 (message printed) on a bad token. */
static int parse_line(const char *path, int lineno, char *line, mpq_t *q, int cap)
{
    char *hash = strchr(line, '#');
    if (hash)
        *hash = '\0';
    int n = 0, col = 1;
    for (char *p = line; *p;) {
        while (*p && (isspace((unsigned char)*p) || *p == ',' || *p == '[' || *p == ']'))
            p++;
        if (!*p)
            break;
        char *s = p;
        while (*p && !isspace((unsigned char)*p) && *p != ',' && *p != ']')
            p++;
        col = (int)(s - line) + 1;
        if (n >= cap) {
            cli_error("%s:%d: more than %d values; the network takes %d inputs", path, lineno,
                      cap, cap);
            return -1;
        }
        if (!cn_mpq_set_decimal(q[n], s, (size_t)(p - s))) {
            cli_error("%s:%d:%d: expected a decimal number, got '%.*s'", path, lineno, col,
                      (int)(p - s), s);
            return -1;
        }
        n++;
    }
    return n;
}

static void print_q(FILE *f, const mpq_t q)
{
    mpfr_t x;
    mpfr_init2(x, 128);
    mpfr_set_q(x, q, MPFR_RNDN);
    mpfr_fprintf(f, "%.25Rg", x);
    mpfr_clear(x);
}

/* The index of the largest output (the first one on ties). */
static int argmax_q(mpq_t *y, int out)
{
    int best = 0;
    for (int k = 1; k < out; k++)
        if (mpq_cmp(y[k], y[best]) > 0)
            best = k;
    return best;
}

static int argmax_d(const double *y, int out)
{
    int best = 0;
    for (int k = 1; k < out; k++)
        if (y[k] > y[best])
            best = k;
    return best;
}

/* Dataset mode: predicted labels and accuracy. */
static int run_data(const cli_args *a, const net *n)
{
    cn_err err;
    ds_set *d = NULL;
    long count = cli_has(a, "samples") ? cli_int(a, "samples") : -1;
    if (ds_load_any_range(cli_str(a, "data"), cli_str(a, "labels"), (int)cli_int(a, "offset"),
                          (int)count,
                &d, &err) != CN_OK)
        return cli_report(&err);
    cli_samples_note("--samples", count, cli_int(a, "offset"), d->n, cli_str(a, "data"));
    int in = net_in_size(n), out = net_out_size(n), rc = CLI_EXIT_OK;
    if (d->dim != in) {
        cli_error("%s: samples have %d values, but %s takes %d inputs", cli_str(a, "data"),
                  d->dim, a->pos[0], in);
        ds_free(d);
        return CLI_EXIT_DATA;
    }
    bool exact = cli_flag(a, "exact"), js = cli_flag(a, "json");
    if (exact && net_n_smooth(n) > 0 && !net_has_enclosure(n)) {
        cli_error("%s: sigmoid/tanh outputs are known only within an MPFR enclosure, so an "
                  "exact accuracy cannot be given (drop --exact, or use --input for the "
                  "enclosure of each output)", a->pos[0]);
        ds_free(d);
        return CLI_EXIT_DATA;
    }
    if (exact && net_has_enclosure(n)) {
        cli_error("%s: folding a normalisation rounded some weights, so the file's exact outputs "
                  "are known only within an enclosure and an exact accuracy cannot be given "
                  "(drop --exact, or use --input for the enclosure of each output)",
                  a->pos[0]);
        ds_free(d);
        return CLI_EXIT_DATA;
    }
    int *pred = calloc((size_t)(d->n ? d->n : 1), sizeof(int));
    double *x = malloc(sizeof(double) * (size_t)in), *y = malloc(sizeof(double) * (size_t)out);
    mpq_t *xq = malloc(sizeof(mpq_t) * (size_t)in), *yq = malloc(sizeof(mpq_t) * (size_t)out);
    if (!pred || !x || !y || !xq || !yq) {
        cli_error("out of memory");
        free(pred);
        free(x);
        free(y);
        free(xq);
        free(yq);
        ds_free(d);
        return CLI_EXIT_OSERR;
    }
    for (int k = 0; k < in; k++)
        mpq_init(xq[k]);
    for (int k = 0; k < out; k++)
        mpq_init(yq[k]);
    int correct = 0;
    for (int i = 0; i < d->n; i++) {
        cn_status st;
        if (exact) {
            ds_input_q(d, i, xq);
            st = net_eval_exact(n, xq, yq, &err);
            pred[i] = argmax_q(yq, out);
        } else {
            ds_input_d(d, i, x);
            st = net_forward(n, 1, x, y, &err);
            pred[i] = argmax_d(y, out);
        }
        if (st != CN_OK) {
            rc = cli_report(&err);
            break;
        }
        correct += pred[i] == d->labels[i];
    }
    long offset = cli_int(a, "offset");
    if (rc == CLI_EXIT_OK && js) {
        json_t *pa = json_array(), *la = json_array();
        for (int i = 0; i < d->n; i++) {
            json_array_append_new(pa, json_integer(pred[i]));
            json_array_append_new(la, json_integer(d->labels[i]));
        }
        json_t *root = json_pack("{s:s, s:s, s:i, s:i, s:i, s:f, s:b, s:o, s:o}", "model",
                                 a->pos[0], "data", cli_str(a, "data"), "offset", (int)offset,
                                 "samples", d->n, "correct", correct, "accuracy",
                                 d->n ? (double)correct / d->n : 0.0, "exact", exact,
                                 "predicted", pa, "labels", la);
        char *s = root ? cli_json_dumps(root) : NULL;
        json_decref(root);
        if (s)
            puts(s);
        else
            rc = CLI_EXIT_OSERR;
        free(s);
    } else if (rc == CLI_EXIT_OK) {
        printf("accuracy: %d/%d (%.2f%%)%s\n", correct, d->n,
               d->n ? 100.0 * correct / d->n : 0.0,
               exact ? ", exact arithmetic" : ", double arithmetic");
        if (correct < d->n) {
            /* the first MAX_SHOWN on one line; --json lists every prediction */
            enum { MAX_SHOWN = 20 };
            int wrong = d->n - correct, shown = 0;
            printf("misclassified (sample: label -> predicted):");
            for (int i = 0; i < d->n && shown < MAX_SHOWN; i++)
                if (pred[i] != d->labels[i]) {
                    printf("%s %ld: %d -> %d", shown ? "," : "", offset + i, d->labels[i],
                           pred[i]);
                    shown++;
                }
            if (wrong > shown)
                printf(" ... and %d more (--json lists every prediction)", wrong - shown);
            putchar('\n');
        }
    }
    for (int k = 0; k < in; k++)
        mpq_clear(xq[k]);
    for (int k = 0; k < out; k++)
        mpq_clear(yq[k]);
    free(pred);
    free(x);
    free(y);
    free(xq);
    free(yq);
    ds_free(d);
    return rc;
}

static void print_check(const prop_check *c)
{
    if (c->violated) {
        printf("  violated: case %d, disjunct %d, min slack %.17g%s\n", c->case_idx,
               c->disj_idx, c->worst_margin_d,
               c->n_margin == 0 ? " (no output condition)"
               : c->worst_margin_d == 0.0 ? " (on the boundary)" : "");
    } else if (c->case_idx < 0) {
        printf("  not violated: outside every input region of the property\n");
    } else if (c->disj_idx < 0) {
        printf("  not violated: case %d has no disjuncts\n", c->case_idx);
    } else {
        printf("  not violated: case %d, closest disjunct %d, min slack %.17g\n", c->case_idx,
               c->disj_idx, c->worst_margin_d);
    }
}

static json_t *check_json(const prop_check *c)
{
    json_t *m = json_array();
    for (int k = 0; k < c->n_margin; k++) {
        char *str = mpq_get_str(NULL, 10, c->margin[k]);
        json_array_append_new(m, json_string(str));
        free(str);
    }
    json_t *o = json_pack("{s:b, s:i, s:i, s:o}", "violated", c->violated, "case", c->case_idx,
                          "disjunct", c->disj_idx, "slacks", m);
    if (o && c->n_margin > 0)
        json_object_set_new(o, "min_slack", json_real(c->worst_margin_d));
    return o;
}

static bool ppath_is_stdin(const cli_args *a)
{
    const char *p = cli_str(a, "vnnlib");
    return p && !strcmp(p, "-");
}

static int run(const cli_args *a)
{
    const char *path = cli_str(a, "input");
    if (cli_str(a, "data") && (path || cli_str(a, "vnnlib"))) {
        cli_error("eval: --data cannot be combined with --input or --vnnlib");
        return CLI_EXIT_USAGE;
    }
    if (!cli_str(a, "data") && (cli_str(a, "labels") || cli_has(a, "samples"))) {
        cli_error("eval: --labels and --samples need --data");
        return CLI_EXIT_USAGE;
    }
    if (!cli_str(a, "data") && (cli_has(a, "mean") || cli_has(a, "std"))) {
        cli_error("eval: --mean and --std need --data");
        return CLI_EXIT_USAGE;
    }
    if (!path && !cli_str(a, "data")) {
        cli_error("eval: missing --input FILE or --data FILE: the inputs to evaluate, or a "
                  "dataset to classify (see 'certnn eval --help')");
        return CLI_EXIT_USAGE;
    }
    cn_err err;
    int se = cli_stdin_once(a->pos[0], cli_str(a, "vnnlib"), false);
    if (se < 0 && path && !strcmp(path, "-") && !strcmp(a->pos[0], "-")) {
        cli_error("eval: the model and --input cannot both be read from stdin ('-')");
        se = CLI_EXIT_USAGE;
    }
    if (se < 0 && path && !strcmp(path, "-") && ppath_is_stdin(a)) {
        cli_error("eval: --input and --vnnlib cannot both be read from stdin ('-')");
        se = CLI_EXIT_USAGE;
    }
    if (se >= 0)
        return se;
    net *n = NULL;
    if (cli_net_load(a->pos[0], &n, &err) != CN_OK)
        return cli_report(&err);
    if (cli_str(a, "data")) {
        int r = cli_normalise(a, n);
        if (r < 0)
            r = run_data(a, n);
        net_free(n);
        return r;
    }
    prop *p = NULL;
    const char *ppath = cli_str(a, "vnnlib");
    if (ppath) {
        if (cli_prop_load(ppath, &p, &err) != CN_OK) {
            net_free(n);
            return cli_report(&err);
        }
        if (prop_n_in(p) != net_in_size(n) || prop_n_out(p) != net_out_size(n)) {
            cli_error("%s: the property has %d inputs and %d outputs, but %s has %d and %d",
                      ppath, prop_n_in(p), prop_n_out(p), a->pos[0], net_in_size(n),
                      net_out_size(n));
            prop_free(p);
            net_free(n);
            return CLI_EXIT_DATA;
        }
    }
    prop_check chk;
    prop_check_init(&chk);
    int n_violated = 0;
    bool in_stdin = !strcmp(path, "-");
    FILE *f = in_stdin ? stdin : fopen(path, "r");
    if (!f) {
        cli_error("%s: cannot open", path);
        prop_free(p);
        net_free(n);
        return CLI_EXIT_NOINPUT;
    }
    bool exact = cli_flag(a, "exact"), js = cli_flag(a, "json");
    /* a network known within an enclosure: --exact gives [yq, yh] per output */
    bool encl = exact && (net_has_enclosure(n) || net_n_smooth(n) > 0);
    /* (sigmoid/tanh layers: MPFR at NET_EVAL_PREC0 bits, eval_mpfr.c) */
    int in = net_in_size(n), out = net_out_size(n), rc = CLI_EXIT_OK;
    mpq_t *xq = malloc(sizeof(mpq_t) * (size_t)in), *yq = malloc(sizeof(mpq_t) * (size_t)out);
    mpq_t *yh = malloc(sizeof(mpq_t) * (size_t)out);
    double *xd = malloc(sizeof(double) * (size_t)in), *yd = malloc(sizeof(double) * (size_t)out);
    json_t *rows = json_array();
    char *line = NULL;
    size_t cap = 0;
    if (!xq || !yq || !yh || !xd || !yd || !rows) {
        cli_error("out of memory");
        rc = CLI_EXIT_OSERR;
        goto done;
    }
    for (int k = 0; k < in; k++)
        mpq_init(xq[k]);
    for (int k = 0; k < out; k++) {
        mpq_init(yq[k]);
        mpq_init(yh[k]);
    }
    mpq_t mid, best_mid;
    mpq_inits(mid, best_mid, NULL);
    int lineno = 0, count = 0;
    while (getline(&line, &cap, f) > 0) {
        lineno++;
        int m = parse_line(path, lineno, line, xq, in);
        if (m < 0) {
            rc = CLI_EXIT_DATA;
            break;
        }
        if (m == 0)
            continue;
        if (m != in) {
            cli_error("%s:%d: expected %d values (the network's inputs), got %d", path, lineno,
                      in, m);
            rc = CLI_EXIT_DATA;
            break;
        }
        count++;
        cn_status s;
        if (encl) {
            s = net_eval_enclose(n, xq, yq, yh, &err);
        } else if (exact) {
            s = net_eval_exact(n, xq, yq, &err);
        } else {
            /* the nearest double, as strtod would give */
            for (int k = 0; k < in; k++) {
                mpfr_t t;
                mpfr_init2(t, 53);
                mpfr_set_q(t, xq[k], MPFR_RNDN);
                xd[k] = mpfr_get_d(t, MPFR_RNDN);
                mpfr_clear(t);
            }
            s = net_forward(n, 1, xd, yd, &err);
        }
        if (s != CN_OK) {
            rc = cli_report(&err);
            break;
        }
        /* the property is decided on the exact decimal inputs */
        if (p) {
            if (prop_check_point(p, n, xq, &chk, &err) != CN_OK) {
                rc = cli_report(&err);
                break;
            }
            n_violated += chk.violated;
        }
        int best = 0;
        if (encl) {
            /* the argmax of the enclosures' midpoints; outputs as [lo, hi] */
            for (int k = 0; k < out; k++) {
                mpq_add(mid, yq[k], yh[k]);
                if (k == 0 || mpq_cmp(mid, best_mid) > 0) {
                    best = k;
                    mpq_set(best_mid, mid);
                }
            }
        }
        if (js && encl) {
            json_t *ys = json_array(), *ye = json_array();
            for (int k = 0; k < out; k++) {
                char *lo = mpq_get_str(NULL, 10, yq[k]), *hi = mpq_get_str(NULL, 10, yh[k]);
                json_array_append_new(ye, json_pack("[ss]", lo, hi));
                free(lo);
                free(hi);
                mpq_add(mid, yq[k], yh[k]);
                mpq_div_2exp(mid, mid, 1);
                json_array_append_new(ys, json_real(mpq_get_d(mid)));
            }
            json_t *row = json_pack("{s:i, s:o, s:i, s:o}", "line", lineno, "outputs", ys,
                                    "argmax", best, "enclosure", ye);
            if (p)
                json_object_set_new(row, "property", check_json(&chk));
            json_array_append_new(rows, row);
        } else if (encl) {
            for (int k = 0; k < out; k++) {
                fputs(k ? " [" : "[", stdout);
                print_q(stdout, yq[k]);
                fputs(", ", stdout);
                print_q(stdout, yh[k]);
                putchar(']');
            }
            printf("  argmax %d (of the midpoints)\n", best);
            if (p)
                print_check(&chk);
        } else if (js) {
            json_t *ys = json_array(), *ye = exact ? json_array() : NULL;
            for (int k = 0; k < out; k++) {
                if (exact) {
                    char *str = mpq_get_str(NULL, 10, yq[k]);
                    json_array_append_new(ye, json_string(str));
                    free(str);
                    json_array_append_new(ys, json_real(mpq_get_d(yq[k])));
                    if (mpq_cmp(yq[k], yq[best]) > 0)
                        best = k;
                } else {
                    json_array_append_new(ys, json_real(yd[k]));
                    if (yd[k] > yd[best])
                        best = k;
                }
            }
            json_t *row = json_pack("{s:i, s:o, s:i}", "line", lineno, "outputs", ys, "argmax", best);
            if (ye)
                json_object_set_new(row, "exact", ye);
            if (p)
                json_object_set_new(row, "property", check_json(&chk));
            json_array_append_new(rows, row);
        } else {
            for (int k = 0; k < out; k++) {
                if (k)
                    putchar(' ');
                if (exact) {
                    print_q(stdout, yq[k]);
                    if (mpq_cmp(yq[k], yq[best]) > 0)
                        best = k;
                } else {
                    printf("%.17g", yd[k]);
                    if (yd[k] > yd[best])
                        best = k;
                }
            }
            printf("  argmax %d\n", best);
            if (p)
                print_check(&chk);
        }
    }
    if (rc == CLI_EXIT_OK && count == 0) {
        cli_error("%s: no input vectors found", path);
        rc = CLI_EXIT_DATA;
    }
    if (rc == CLI_EXIT_OK && js) {
        json_t *root = json_pack("{s:s, s:b, s:o}", "model", a->pos[0], "exact", exact, "results",
                                 rows);
        rows = NULL;
        if (root && p)
            json_object_set_new(root, "vnnlib",
                                json_pack("{s:s, s:i}", "path", ppath, "violated", n_violated));
        char *s = cli_json_dumps(root);
        json_decref(root);
        if (s)
            puts(s);
        free(s);
    }
    for (int k = 0; k < in; k++)
        mpq_clear(xq[k]);
    for (int k = 0; k < out; k++) {
        mpq_clear(yq[k]);
        mpq_clear(yh[k]);
    }
    mpq_clears(mid, best_mid, NULL);
done:
    json_decref(rows);
    free(line);
    free(xq);
    free(yq);
    free(yh);
    free(xd);
    free(yd);
    if (!in_stdin)
        fclose(f);
    prop_check_clear(&chk);
    prop_free(p);
    net_free(n);
    if (rc == CLI_EXIT_OK && n_violated > 0)
        rc = CLI_EXIT_CEX;
    return rc;
}

const cli_cmd cli_cmd_eval = {
    .name = "eval",
    .usage = "MODEL (--input FILE [--vnnlib P] | --data FILE [--labels FILE] [--samples N]\n"
             "       [--offset K]) [--exact] [--json]",
    .summary = "evaluate a network on given inputs or a dataset (double, or exact rationals)",
    .details = "Without --exact, each decimal input is rounded to the nearest double and the\n"
               "network runs in double precision.  With --exact, inputs are the exact decimals\n"
               "and outputs are exact rationals (printed to 25 digits; exact fractions in --json).\n"
               "When folding a normalisation rounded (see 'certnn info'), the file's exact outputs\n"
               "are known only within an enclosure: --exact prints [lo, hi] per output, and the\n"
               "property check counts an input as violating only if every output in it does.\n"
               "With --vnnlib, each input is checked against the property exactly (rational\n"
               "arithmetic on the decimal inputs as written): 'violated: case C, disjunct D,\n"
               "min slack S' or 'not violated'; the exit code is 1 if some input violates it.\n"
               "With --data, the network classifies each sample (pixel/255 for 8-bit data,\n"
               "the values as given for decimal CSV and float .npy; with --mean/--std the\n"
               "network sees (x - mean)/std per input channel) and the accuracy\n"
               "is printed with the first 20 misclassified samples (--json: the predicted\n"
               "label of every sample); --samples beyond the end of the file: a warning, and\n"
               "the samples there are.\n"
               "MODEL, --input or --vnnlib `-` reads that file from stdin (one of them).",
    .opts = opts,
    .min_pos = 1,
    .max_pos = 1,
    .run = run,
};

/* cmd_compare.c — `certnn compare MODEL... --data F --eps E1,E2,... --out P`:
 * certified accuracy and accuracy under PGD against eps for several models,
 * as P.md, P.csv, P.json, P.png and P.svg (each written atomically). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/workflow.h"

static const cli_opt opts[] = {
    {"data", 'd', CLI_STR, "FILE", NULL, 0, -1,
     "samples (ERAN CSV, or IDX images with --labels); input = pixel/255 exactly"},
    CLI_OPT_LABELS("IDX labels file for --data IDX images"),
    CLI_OPT_SAMPLES("100", "number of samples"),
    CLI_OPT_OFFSET("first sample"),
    {"eps", 'e', CLI_STR, "E1,E2,...", NULL, 0, -1,
     "L-infinity radii, decimals read exactly (at most 64; equal values, such as 0.1 and "
     "0.10, are kept once, with a note)"},
    {"out", 'o', CLI_OUT, "PREFIX", NULL, 0, -1,
     "write PREFIX.md, PREFIX.csv, PREFIX.json, PREFIX.png and PREFIX.svg"},
    {"method", 'm', CLI_STR, "M", "bounds", 0, -1,
     "certification: bounds, or complete (bounds, then the complete engine)"},
    {"bounds", 0, CLI_STR, "B1,B2", VFY_PROBE_DEFAULT_BOUNDS, 0, -1,
     "bound methods (interval, deeppoly, crown, alpha), each tried in turn on what the ones "
     "before leave open: a sample counts as certified when one of them proves its ball"},
    {"name", 0, CLI_STR, "N1,N2,...", NULL, 0, -1,
     "labels of the models in the tables and the plot, one per model in order, "
     "comma-separated (default: each file's base name)"},
    CLI_ENGINE_OPT_DEF(timeout_s, "10",
                       "--method complete: engine time limit per sample and eps (0: none)"),
    {"attack-time", 0, CLI_DOUBLE, "S", "2", 0, 3600, "PGD time limit per sample and eps"},
    {"attack-restarts", 0, CLI_INT, "N", "64", 1, 1e9, "PGD restarts per sample and eps"},
    CLI_ENGINE_OPT_AS(threads, 'j', "T", "worker threads of the engine (0: all cores)"),
    CLI_ENGINE_OPT(seed),
    CLI_OPT_JSON("print the JSON report instead of the table"),
    CLI_OPT_QUIET("no progress on stderr"),
    {NULL, 0, 0, NULL, NULL, 0, 0, NULL},
};

#define MAX_EPS 64

typedef struct {
    const char *path;
    char name[128];
    int done, clean;           /* samples processed, exactly correct */
    int cert[MAX_EPS], pgd[MAX_EPS];
    double secs[MAX_EPS];
    char error[512];           /* why the model stopped early ("" when it did not) */
} model_row;

typedef struct {
    int n;
    char text[MAX_EPS][48];
    mpq_t q[MAX_EPS];
    double d[MAX_EPS];
    int n_dup;                 /* values given again (exactly equal), dropped */
    char dup[MAX_EPS][100];    /* "0.10 (= 0.1)" */
} eps_list;

static bool parse_eps(const char *s, eps_list *e)
{
    e->n = 0;
    while (*s) {
        const char *c = strchr(s, ',');
        size_t len = c ? (size_t)(c - s) : strlen(s);
        if (e->n == MAX_EPS || len == 0 || len >= sizeof e->text[0])
            return false;
        mpq_init(e->q[e->n]);
        e->n++;
        if (!cn_mpq_set_decimal(e->q[e->n - 1], s, len) || mpq_sgn(e->q[e->n - 1]) < 0)
            return false;
        memcpy(e->text[e->n - 1], s, len);
        e->text[e->n - 1][len] = '\0';
        s += len + (c ? 1 : 0);
        if (c && !*s)
            return false;
    }
    /* exactly equal values kept once (the first given) */
    for (int i = 1; i < e->n; i++)
        for (int j = 0; j < i; j++)
            if (mpq_equal(e->q[i], e->q[j])) {
                char t[sizeof e->dup[0]];
                snprintf(t, sizeof t, "%s (= %s)", e->text[i], e->text[j]);
                memcpy(e->dup[e->n_dup++], t, sizeof t);
                for (int k = i + 1; k < e->n; k++) {   /* q[i] moves to the end */
                    mpq_swap(e->q[k - 1], e->q[k]);
                    memcpy(e->text[k - 1], e->text[k], sizeof e->text[0]);
                }
                mpq_clear(e->q[--e->n]);
                i--;
                break;
            }
    /* ascending, exact comparison (insertion sort: few values) */
    for (int i = 1; i < e->n; i++)
        for (int j = i; j > 0 && mpq_cmp(e->q[j - 1], e->q[j]) > 0; j--) {
            mpq_swap(e->q[j - 1], e->q[j]);
            char t[48];
            memcpy(t, e->text[j - 1], sizeof t);
            memcpy(e->text[j - 1], e->text[j], sizeof t);
            memcpy(e->text[j], t, sizeof t);
        }
    for (int i = 0; i < e->n; i++)
        e->d[i] = mpq_get_d(e->q[i]);
    return e->n > 0;
}

static double pct(int k, int n) { return n ? 100.0 * k / n : 0.0; }

/* Model m stopped on a failed library call: the message is kept for the
 * outputs (the model's results are partial) and printed. */
static int model_fail(model_row *m, const cn_err *err)
{
    snprintf(m->error, sizeof m->error, "%s", err->msg);
    return cli_report(err);
}

/* One model over the samples: exact clean check, then per eps (ascending)
 * certify; a sample not certified is attacked with PGD; once attacked at
 * some eps it stays attacked at every larger eps (the balls are nested). */
static int run_model(model_row *m, const ds_set *d, const eps_list *e, vfy_prober *pr,
                     wf_progress *prog, int mi, int n_models)
{
    cn_err err;
    net *n = NULL;
    int rc = CLI_EXIT_OK, in = 0;
    mpq_t *x0 = NULL;
    if (net_load(m->path, &n, &err) != CN_OK)
        return model_fail(m, &err);
    in = net_in_size(n);
    if (d->dim != in || net_out_size(n) < 2) {
        snprintf(m->error, sizeof m->error,
                 "%s: the network takes %d inputs and has %d outputs; the samples have %d "
                 "values (expected as many inputs, and 2 outputs or more)",
                 m->path, in, net_out_size(n), d->dim);
        cli_error("%s", m->error);
        net_free(n);
        return CLI_EXIT_DATA;
    }
    pr->n = n;
    pr->bc = bnd_ctx_new(n, &err);
    x0 = malloc(sizeof(mpq_t) * (size_t)in);
    if (!pr->bc || !x0) {
        if (pr->bc)
            (void)cn_fail(&err, CN_ENOMEM, "%s: out of memory", m->path);
        rc = model_fail(m, &err);
        goto out;
    }
    for (int k = 0; k < in; k++)
        mpq_init(x0[k]);
    for (int i = 0; i < d->n && !*pr->stop; i++) {
        char cur[200];
        snprintf(cur, sizeof cur, "%s, sample %d", m->name, i);
        wf_progress_show(prog, mi * d->n + i, n_models * d->n, cur, false);
        int label = d->labels[i];
        if (label < 0 || label >= net_out_size(n)) {
            wf_progress_clear(prog);
            snprintf(m->error, sizeof m->error, "sample %d: label %d is not an output of %s",
                     i, label, m->path);
            cli_error("%s", m->error);
            rc = CLI_EXIT_DATA;
            goto out;
        }
        ds_input_q(d, i, x0);
        bool correct = false;
        if (vfy_probe_clean(pr, x0, label, &correct, &err) != CN_OK) {
            wf_progress_clear(prog);
            rc = model_fail(m, &err);
            goto out;
        }
        /* counted only when the sample finished: an interrupted probe proves nothing */
        int cert[MAX_EPS] = {0}, pgd[MAX_EPS] = {0};
        double secs[MAX_EPS] = {0};
        bool attacked = false;
        for (int k = 0; k < e->n && correct && !attacked && !*pr->stop; k++) {
            double t0 = wf_now();
            vfy_probe_verdict v;
            if (vfy_probe_certify(pr, x0, label, e->q[k], &v, &err) != CN_OK) {
                wf_progress_clear(prog);
                rc = model_fail(m, &err);
                goto out;
            }
            if (v == VFY_PROBE_OPEN) {
                if (vfy_probe_attack(pr, x0, label, e->q[k], &v, &err) != CN_OK) {
                    wf_progress_clear(prog);
                    rc = model_fail(m, &err);
                    goto out;
                }
                pgd[k] = v != VFY_PROBE_ATTACKED;
            } else if (v == VFY_PROBE_ROBUST) {
                cert[k] = pgd[k] = 1;
            }
            attacked = v == VFY_PROBE_ATTACKED;
            secs[k] = wf_now() - t0;
        }
        if (*pr->stop)
            break;
        for (int k = 0; k < e->n; k++) {
            m->cert[k] += cert[k];
            m->pgd[k] += pgd[k];
            m->secs[k] += secs[k];
        }
        m->clean += correct;
        m->done++;
    }
out:
    if (x0)
        for (int k = 0; k < in; k++)
            mpq_clear(x0[k]);
    free(x0);
    bnd_ctx_free(pr->bc);
    pr->bc = NULL;
    net_free(n);
    return rc;
}

static void base_name(const char *path, char *out, size_t size)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    snprintf(out, size, "%s", b);
    char *dot = strrchr(out, '.');
    if (dot && dot != out)
        *dot = '\0';
}

/* Why model m's results are partial ("" when they are not): fewer
 * samples finished than asked (an interruption or an error), or an error. */
static void partial_why(const model_row *m, int total, bool interrupted, char *buf, size_t size)
{
    buf[0] = '\0';
    if (m->error[0])
        snprintf(buf, size, "%d of %d samples, stopped by an error", m->done, total);
    else if (m->done < total)
        snprintf(buf, size, "%d of %d samples%s", m->done, total,
                 interrupted ? ", interrupted" : "");
}

static int write_outputs(const char *prefix, model_row *m, int n_models, const eps_list *e,
                         const cli_args *a, int total, bool interrupted, bool print_json)
{
    size_t plen = strlen(prefix) + 8;
    char *path = malloc(plen);
    wf_buf md, csv;
    wf_buf_init(&md);
    wf_buf_init(&csv);
    cn_err err;
    int rc = CLI_EXIT_OK;
    json_t *root = NULL;
    char why[CLI_MAX_POS][128];
    bool any_partial = false;
    if (!path) {
        cli_error("out of memory");
        return CLI_EXIT_OSERR;
    }
    for (int i = 0; i < n_models; i++) {
        partial_why(&m[i], total, interrupted, why[i], sizeof why[i]);
        any_partial = any_partial || why[i][0];
    }
    /* Markdown */
    wf_buf_printf(&md, "# certnn compare: certified and PGD accuracy vs eps\n\n");
    wf_buf_printf(&md, "Data `%s`, %d samples from offset %ld; certification: %s (bounds %s); "
                       "attack: PGD (%ld restarts, %g s per sample and eps).%s\n\n",
                  cli_str(a, "data"), total, cli_int(a, "offset"), cli_str(a, "method"),
                  cli_str(a, "bounds"), cli_int(a, "attack-restarts"), cli_dbl(a, "attack-time"),
                  interrupted ? " **Interrupted: partial results.**" : "");
    if (e->n_dup) {
        wf_buf_printf(&md, "Given more than once in --eps and run once:");
        for (int k = 0; k < e->n_dup; k++)
            wf_buf_printf(&md, "%s %s", k ? "," : "", e->dup[k]);
        wf_buf_printf(&md, ".\n\n");
    }
    const char *hdr[] = {"model",       "eps",   "samples", "clean %",
                         "certified %", "PGD %", "time s",  "results"};
    wf_md_row(&md, 8, hdr);
    wf_md_rule(&md, 8);
    wf_buf_printf(&csv, "model,eps,samples,clean,certified,pgd_robust,clean_acc,certified_acc,"
                        "pgd_acc,time_s,partial\n");
    json_t *models = json_array();
    for (int i = 0; i < n_models; i++) {
        json_t *pts = json_array();
        for (int k = 0; k < e->n; k++) {
            char c[8][200];
            snprintf(c[0], sizeof c[0], "%s", m[i].name);
            snprintf(c[1], 64, "%s", e->text[k]);
            snprintf(c[2], 64, "%d", m[i].done);
            snprintf(c[3], 64, "%.1f", pct(m[i].clean, m[i].done));
            snprintf(c[4], 64, "%.1f", pct(m[i].cert[k], m[i].done));
            snprintf(c[5], 64, "%.1f", pct(m[i].pgd[k], m[i].done));
            if (!m[i].done)            /* no sample finished: no percentage */
                for (int j = 3; j <= 5; j++)
                    snprintf(c[j], 64, "n/a");
            snprintf(c[6], 64, "%.2f", m[i].secs[k]);
            snprintf(c[7], sizeof c[7], "%s%.127s", why[i][0] ? "**partial**: " : "complete",
                     why[i]);
            const char *cells[8] = {c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]};
            wf_md_row(&md, 8, cells);
            wf_buf_csv(&csv, m[i].name);
            wf_buf_printf(&csv, ",%s,%d,%d,%d,%d,%.4f,%.4f,%.4f,%.3f,%d\n", e->text[k],
                          m[i].done, m[i].clean, m[i].cert[k], m[i].pgd[k],
                          pct(m[i].clean, m[i].done) / 100, pct(m[i].cert[k], m[i].done) / 100,
                          pct(m[i].pgd[k], m[i].done) / 100, m[i].secs[k], why[i][0] != 0);
            json_array_append_new(
                pts, json_pack("{s:s, s:f, s:i, s:i, s:f, s:f, s:f}", "eps", e->text[k],
                               "eps_value", e->d[k], "certified", m[i].cert[k], "pgd_robust",
                               m[i].pgd[k], "certified_acc", pct(m[i].cert[k], m[i].done) / 100,
                               "pgd_acc", pct(m[i].pgd[k], m[i].done) / 100, "time_s",
                               m[i].secs[k]));
        }
        json_array_append_new(
            models, json_pack("{s:s, s:s, s:i, s:i, s:i, s:f, s:b, s:s?, s:s?, s:o}", "name",
                              m[i].name, "path", m[i].path, "samples", m[i].done,
                              "samples_requested", total, "clean", m[i].clean, "clean_acc",
                              pct(m[i].clean, m[i].done) / 100, "partial", why[i][0] != 0,
                              "partial_reason", why[i][0] ? why[i] : NULL, "error",
                              m[i].error[0] ? m[i].error : NULL, "points", pts));
    }
    for (int i = 0; i < n_models; i++)
        if (m[i].error[0])
            wf_buf_printf(&md, "%s`%s`: error: %s\n", i ? "\n" : "\n", m[i].name, m[i].error);
    json_t *eps = json_array(), *dups = json_array();
    for (int k = 0; k < e->n; k++)
        json_array_append_new(eps, json_string(e->text[k]));
    for (int k = 0; k < e->n_dup; k++)
        json_array_append_new(dups, json_string(e->dup[k]));
    root = json_pack("{s:s, s:i, s:s, s:s, s:I, s:f, s:b, s:b, s:o, s:o, s:o}", "data",
                     cli_str(a, "data"), "offset", (int)cli_int(a, "offset"), "method",
                     cli_str(a, "method"), "bounds", cli_str(a, "bounds"), "attack_restarts",
                     (json_int_t)cli_int(a, "attack-restarts"), "attack_time_s",
                     cli_dbl(a, "attack-time"), "interrupted", interrupted, "partial",
                     any_partial, "eps", eps, "eps_duplicates", dups, "models", models);
    if (!root || md.failed || csv.failed) {
        cli_error("out of memory");
        rc = CLI_EXIT_OSERR;
        goto out;
    }
    snprintf(path, plen, "%s.md", prefix);
    if (wf_write_buf(path, &md, &err) != CN_OK)
        goto fail;
    snprintf(path, plen, "%s.csv", prefix);
    if (wf_write_buf(path, &csv, &err) != CN_OK)
        goto fail;
    snprintf(path, plen, "%s.json", prefix);
    if (wf_write_json(path, root, &err) != CN_OK)
        goto fail;
    /* Plot: percent values per model. */
    {
        /* eps = 0 first when absent: the ball is x itself, checked exactly, so both
           accuracies equal the clean accuracy there. */
        wf_series ser[CLI_MAX_POS];
        double cert[CLI_MAX_POS][MAX_EPS + 1], att[CLI_MAX_POS][MAX_EPS + 1], xs[MAX_EPS + 1];
        int z = e->d[0] > 0, nx = e->n + z, ns = 0;
        xs[0] = 0;
        for (int k = 0; k < e->n; k++)
            xs[k + z] = e->d[k];
        for (int i = 0; i < n_models; i++) {
            ser[ns] = (wf_series){m[i].name, NULL, NULL, why[i][0] ? why[i] : NULL};
            if (m[i].done) {           /* no sample finished: in the legend only */
                cert[ns][0] = att[ns][0] = pct(m[i].clean, m[i].done);
                for (int k = 0; k < e->n; k++) {
                    cert[ns][k + z] = pct(m[i].cert[k], m[i].done);
                    att[ns][k + z] = pct(m[i].pgd[k], m[i].done);
                }
                ser[ns].cert = cert[ns];
                ser[ns].att = att[ns];
            }
            ns++;
        }
        char title[160];
        snprintf(title, sizeof title, "Certified (solid) and PGD (dashed) accuracy, %d samples",
                 total);
        wf_plot p = {title, "L-infinity radius eps", "accuracy (%)", nx, xs, ns, ser};
        char *png = malloc(plen), *svg = malloc(plen);
        cn_status s = CN_ENOMEM;
        if (png && svg) {
            snprintf(png, plen, "%s.png", prefix);
            snprintf(svg, plen, "%s.svg", prefix);
            s = wf_plot_write(&p, png, svg, 900, 620, &err);
        } else {
            (void)cn_fail(&err, CN_ENOMEM, "out of memory");
        }
        free(png);
        free(svg);
        if (s != CN_OK)
            goto fail;
    }
    if (print_json) {
        char *s = cli_json_dumps(root);
        if (s)
            puts(s);
        free(s);
    } else {
        fputs(md.data, stdout);
    }
    goto out;
fail:
    rc = cli_report(&err);
out:
    json_decref(root);
    wf_buf_clear(&md);
    wf_buf_clear(&csv);
    free(path);
    return rc;
}

/* --name N1,N2,...: one label per model, in order. */
static bool parse_names(const char *list, model_row *m, int n_models)
{
    int k = 0;
    const char *s = list;
    for (;;) {
        const char *c = strchr(s, ',');
        size_t len = c ? (size_t)(c - s) : strlen(s);
        if (k < n_models) {
            if (len == 0 || len >= sizeof m[k].name) {
                cli_error("--name: name %d is %s (expected 1 to %zu characters)", k + 1,
                          len ? "too long" : "empty", sizeof m[k].name - 1);
                return false;
            }
            memcpy(m[k].name, s, len);
            m[k].name[len] = '\0';
        }
        k++;
        if (!c)
            break;
        s = c + 1;
    }
    if (k != n_models) {
        cli_error("--name: expected %d comma-separated name%s (one per model, in order), got %d "
                  "in '%s'",
                  n_models, n_models == 1 ? "" : "s", k, list);
        return false;
    }
    return true;
}

static int run(const cli_args *a)
{
    const char *data = cli_str(a, "data"), *prefix = cli_str(a, "out");
    if (!data || !cli_str(a, "eps") || !prefix) {
        cli_error("compare: --data FILE, --eps E1,E2,... and --out PREFIX are required");
        return CLI_EXIT_USAGE;
    }
    vfy_prober pr;
    if (!wf_prober_opts(a, &pr))
        return CLI_EXIT_USAGE;
    model_row m[CLI_MAX_POS];
    memset(m, 0, sizeof m);
    for (int i = 0; i < a->n_pos; i++) {
        m[i].path = a->pos[i];
        base_name(a->pos[i], m[i].name, sizeof m[i].name);
    }
    if (cli_str(a, "name") && !parse_names(cli_str(a, "name"), m, a->n_pos))
        return CLI_EXIT_USAGE;
    eps_list e;
    memset(&e, 0, sizeof e);
    int rc = CLI_EXIT_OK;
    if (!parse_eps(cli_str(a, "eps"), &e)) {
        cli_error("--eps: expected a comma-separated list of up to %d non-negative decimals, "
                  "got '%s'",
                  MAX_EPS, cli_str(a, "eps"));
        rc = CLI_EXIT_USAGE;
        goto clear_eps;
    }
    if (e.n_dup && !cli_flag(a, "quiet")) {
        char list[400] = "";
        for (int k = 0; k < e.n_dup && strlen(list) < 280; k++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? ", " : "",
                     e.dup[k]);
        cli_error("note: --eps: %s given more than once; each value is run once", list);
    }
    cn_err err;
    ds_set *d = NULL;
    long want = cli_int(a, "samples"), offset = cli_int(a, "offset");
    if (ds_load(data, cli_str(a, "labels"), (int)offset, (int)want, &d, &err) != CN_OK) {
        rc = cli_report(&err);
        goto clear_eps;
    }
    cli_samples_note("--samples", want, offset, d->n, data);
    pr.stop = cli_signals_catch();
    wf_progress prog;
    wf_progress_init(&prog, cli_flag(a, "quiet"));
    /* A model that fails keeps what it finished (partial) and the others still run. */
    for (int i = 0; i < a->n_pos && !*pr.stop; i++) {
        int r = run_model(&m[i], d, &e, &pr, &prog, i, a->n_pos);
        if (r != CLI_EXIT_OK && rc == CLI_EXIT_OK)
            rc = r;
    }
    wf_progress_clear(&prog);
    bool interrupted = *pr.stop != 0;
    int wrc = write_outputs(prefix, m, a->n_pos, &e, a, d->n, interrupted, cli_flag(a, "json"));
    if (wrc != CLI_EXIT_OK)
        rc = wrc;
    else if (rc != CLI_EXIT_OK)
        cli_error("some models stopped on an error; their partial results are marked in %s.*",
                  prefix);
    if (interrupted && rc == CLI_EXIT_OK) {
        cli_error("interrupted by signal %d; partial results written to %s.*", (int)*pr.stop,
                  prefix);
        rc = 128 + (int)*pr.stop;
    }
    cli_signals_restore();
    ds_free(d);
clear_eps:
    for (int k = 0; k < e.n; k++)
        mpq_clear(e.q[k]);
    return rc;
}

const cli_cmd cli_cmd_compare = {
    .name = "compare",
    .usage = "MODEL... --data FILE --eps E1,E2,... --out PREFIX [--samples N] "
             "[--name N1,N2,...] [--method bounds|complete] [--bounds B1,B2]",
    .summary = "certified and attacked accuracy against eps for several models, with a plot",
    .details =
        "For each model and sample (input pixel/255, exact) and each eps (ascending): the\n"
        "sample counts as `certified` when sound bounds (one of the --bounds methods; with\n"
        "--method complete also the complete engine) prove the ball [x-eps, x+eps] ∩ [0,1]\n"
        "robust, and as `PGD` robust when it is exactly classified correctly and no exactly\n"
        "confirmed misclassified point was found in the ball (a certified sample is never\n"
        "attacked; once attacked, a sample stays attacked at larger eps).  Certified\n"
        "accuracy is a lower bound and PGD accuracy an upper bound of the true robust\n"
        "accuracy.  Equal values in --eps (0.1 and 0.10) are run once, with a note.\n"
        "Writes PREFIX.md (table), PREFIX.csv, PREFIX.json, PREFIX.png and PREFIX.svg\n"
        "(cairo; solid certified and dashed PGD curves per model, labelled by --name or\n"
        "the file's base name), each atomically, and prints the table (or, with --json,\n"
        "the report).  A model whose results are partial (fewer samples finished than\n"
        "asked: interrupted, or stopped by an error, which does not stop the other\n"
        "models) is marked: `partial` in the CSV and JSON (with the reason and the\n"
        "error), a `results` column in the table, and in red on the plot.\n"
        "SIGINT/SIGTERM: the files are written with the samples finished so far; exit\n"
        "128 + signal; after an error, that error's exit code.",
    .opts = opts,
    .min_pos = 1,
    .max_pos = CLI_MAX_POS,
    .run = run,
};

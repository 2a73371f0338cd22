/* cmd_radius.c — `certnn radius MODEL --data F`: per sample the bracket
 * [certified, attacked] of the L-infinity robustness radius (the engine's
 * vfy_radius), with median and quartiles over the samples. */
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
    CLI_OPT_SAMPLES(NULL, "number of samples (default all)"),
    CLI_OPT_OFFSET("first sample"),
    {"max-eps", 0, CLI_STR, "E", "0.25", 0, -1,
     "largest radius searched (a decimal; the grid is max-eps / 2^k)"},
    {"tol", 0, CLI_DOUBLE, "T", "0.001", 1e-9, 1, "grid step at most T (bisection tolerance)"},
    {"method", 'm', CLI_STR, "M", "bounds", 0, -1,
     "certification: bounds (sound bound propagation) or complete (bounds, then the complete "
     "engine)"},
    {"bounds", 0, CLI_STR, "B1,B2", VFY_PROBE_DEFAULT_BOUNDS, 0, -1,
     "bound methods (interval, deeppoly, crown, alpha), each tried in turn on what the ones "
     "before leave open: a probe proves what the best of them proves"},
    {"scan", 0, CLI_INT, "N", "256", 0, 1e6,
     "after the bisection, probe (bounds only) the grid points between the first failure "
     "and the attacked radius from the top down, at most N per round (0: bisection only)"},
    CLI_ENGINE_OPT_DEF(timeout_s, "10",
                       "--method complete: time limit of the engine per probe (0: none)"),
    {"attack-time", 0, CLI_DOUBLE, "S", "2", 0, 3600, "PGD time limit per probe"},
    {"attack-restarts", 0, CLI_INT, "N", "64", 1, 1e9, "PGD restarts per probe"},
    {"no-deepfool", 0, CLI_FLAG, NULL, NULL, 0, -1,
     "do not start the attack side from DeepFool's radius"},
    CLI_ENGINE_OPT_AS(threads, 'j', "T", "worker threads of the engine (0: all cores)"),
    CLI_ENGINE_OPT(seed),
    {"csv", 0, CLI_OUT, "OUT", NULL, 0, -1,
     "also write one CSV row per sample to OUT (rewritten atomically after every sample)"},
    CLI_OPT_JSON("print a JSON object instead of text"),
    CLI_OPT_QUIET("no progress on stderr"),
    {NULL, 0, 0, NULL, NULL, 0, 0, NULL},
};

typedef struct {
    int index, label;
    vfy_radius_result r;
} row;

static json_t *num_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static void csv_rows(const row *rows, int n, wf_buf *b)
{
    wf_buf_printf(b, "index,label,misclassified,certified,attacked,attacked_by,probes_certify,"
                     "probes_attack,time_s,certified_by,probes_scan\n");
    for (int i = 0; i < n; i++) {
        const vfy_radius_result *r = &rows[i].r;
        wf_buf_printf(b, "%d,%d,%d,%s,%s,%s,%d,%d,%.3f,%s,%d\n", rows[i].index, rows[i].label,
                      r->misclassified, r->cert_k >= 0 ? r->certified : "",
                      r->attacked_found ? r->attacked : "inf", r->attacked_by, r->probes_certify,
                      r->probes_attack, r->seconds, r->certified_by, r->probes_scan);
    }
}

typedef struct {
    double med, q1, q3, mean;
} stats;

static stats summarise(double *v, int n)
{
    stats s = {NAN, NAN, NAN, NAN};
    wf_sort(v, n);
    s.med = wf_quantile(v, n, 0.5);
    s.q1 = wf_quantile(v, n, 0.25);
    s.q3 = wf_quantile(v, n, 0.75);
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += v[i];
    if (n)
        s.mean = sum / n;
    return s;
}

static int run(const cli_args *a)
{
    const char *model = a->pos[0], *data = cli_str(a, "data"), *csv = cli_str(a, "csv");
    const char *method = cli_str(a, "method"), *max_eps = cli_str(a, "max-eps");
    bool json = cli_flag(a, "json"), quiet = cli_flag(a, "quiet");
    if (!data) {
        cli_error("radius: --data FILE is required (see 'certnn radius --help')");
        return CLI_EXIT_USAGE;
    }
    vfy_prober pr;
    if (!wf_prober_opts(a, &pr))
        return CLI_EXIT_USAGE;
    mpq_t me;
    mpq_init(me);
    bool me_ok = cn_mpq_set_decimal(me, max_eps, strlen(max_eps)) && mpq_sgn(me) > 0;
    double me_d = mpq_get_d(me);
    mpq_clear(me);
    if (!me_ok) {
        cli_error("--max-eps: expected a positive decimal number, got '%s'", max_eps);
        return CLI_EXIT_USAGE;
    }
    vfy_radius_opts ro;
    vfy_radius_opts_init(&ro);
    ro.max_eps = max_eps;
    ro.bits = vfy_radius_bits(me_d, cli_dbl(a, "tol"));
    ro.deepfool = !cli_flag(a, "no-deepfool");
    ro.scan = (int)cli_int(a, "scan");
    ro.deepfool_opts.seed = pr.pgd.seed;

    cn_err err;
    net *n = NULL;
    ds_set *d = NULL;
    mpq_t *x0 = NULL;
    row *rows = NULL;
    double *vc = NULL, *va = NULL;
    int rc = CLI_EXIT_OK, done = 0, in = 0;
    volatile sig_atomic_t *stop = NULL;
    if (net_load(model, &n, &err) != CN_OK)
        return cli_report(&err);
    in = net_in_size(n);
    int count = cli_has(a, "samples") ? (int)cli_int(a, "samples") : -1;
    int offset = (int)cli_int(a, "offset");
    if (ds_load(data, cli_str(a, "labels"), offset, count, &d, &err) != CN_OK) {
        rc = cli_report(&err);
        goto out;
    }
    cli_samples_note("--samples", count, offset, d->n, data);
    if (d->dim != in) {
        cli_error("%s: samples have %d values; the network takes %d inputs", data, d->dim, in);
        rc = CLI_EXIT_DATA;
        goto out;
    }
    pr.n = n;
    pr.bc = bnd_ctx_new(n, &err);
    x0 = malloc(sizeof(mpq_t) * (size_t)in);
    rows = calloc((size_t)(d->n ? d->n : 1), sizeof *rows);
    vc = malloc(sizeof(double) * (size_t)(d->n ? d->n : 1));
    va = malloc(sizeof(double) * (size_t)(d->n ? d->n : 1));
    if (!pr.bc || !x0 || !rows || !vc || !va) {
        free(x0);
        x0 = NULL;
        rc = pr.bc ? (cli_error("out of memory"), CLI_EXIT_OSERR) : cli_report(&err);
        goto out;
    }
    for (int k = 0; k < in; k++)
        mpq_init(x0[k]);
    stop = cli_signals_catch();
    pr.stop = stop;
    wf_progress prog;
    wf_progress_init(&prog, quiet);
    for (int i = 0; i < d->n && !*stop; i++) {
        char cur[64];
        snprintf(cur, sizeof cur, "sample %d", offset + i);
        wf_progress_show(&prog, i, d->n, cur, true);
        int label = d->labels[i];
        if (label < 0 || label >= net_out_size(n)) {
            wf_progress_clear(&prog);
            cli_error("sample %d: label %d is not an output of the network", offset + i, label);
            rc = CLI_EXIT_DATA;
            goto out;
        }
        ds_input_q(d, i, x0);
        row *w = &rows[done];
        w->index = offset + i;
        w->label = label;
        if (vfy_radius(&pr, x0, label, &ro, &w->r, &err) != CN_OK) {
            wf_progress_clear(&prog);
            rc = cli_report(&err);
            goto out;
        }
        if (w->r.interrupted)
            break;                     /* an unfinished bracket is not reported */
        done++;
        if (!json) {
            wf_progress_clear(&prog);
            if (w->r.misclassified)
                printf("sample %d: label %d, misclassified (radius 0)\n", w->index, label);
            else
                printf("sample %d: label %d, certified %s (%s), attacked %s (%s), %d+%d+%d probes, "
                       "%.2f s\n",
                       w->index, label, w->r.certified, w->r.certified_by,
                       w->r.attacked_found ? w->r.attacked : "none", w->r.attacked_by,
                       w->r.probes_certify, w->r.probes_attack, w->r.probes_scan, w->r.seconds);
            fflush(stdout);
        }
        if (csv) {
            wf_buf b;
            wf_buf_init(&b);
            csv_rows(rows, done, &b);
            cn_status s = wf_write_buf(csv, &b, &err);
            wf_buf_clear(&b);
            if (s != CN_OK) {
                wf_progress_clear(&prog);
                rc = cli_report(&err);
                goto out;
            }
        }
    }
    wf_progress_clear(&prog);
    int mis = 0, att_found = 0;
    for (int i = 0; i < done; i++) {
        vc[i] = rows[i].r.cert_k >= 0 ? rows[i].r.certified_d : 0.0;
        va[i] = rows[i].r.attacked_d;
        mis += rows[i].r.misclassified;
        att_found += rows[i].r.attacked_found;
    }
    stats sc = summarise(vc, done), sa = summarise(va, done);
    if (json) {
        json_t *arr = json_array();
        for (int i = 0; i < done; i++) {
            const vfy_radius_result *r = &rows[i].r;
            json_array_append_new(
                arr, json_pack("{s:i, s:i, s:b, s:o, s:s, s:s, s:o, s:s?, s:s, s:i, s:i, s:i, "
                               "s:f}",
                               "index", rows[i].index, "label", rows[i].label, "misclassified",
                               r->misclassified, "certified",
                               r->cert_k >= 0 ? json_real(r->certified_d) : json_null(),
                               "certified_exact", r->certified, "certified_by", r->certified_by,
                               "attacked", num_or_null(r->attacked_d), "attacked_exact",
                               r->attacked_found ? r->attacked : NULL, "attacked_by",
                               r->attacked_by, "probes_certify", r->probes_certify,
                               "probes_attack", r->probes_attack, "probes_scan", r->probes_scan,
                               "time_s", r->seconds));
        }
        json_t *sum = json_pack(
            "{s:i, s:i, s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "samples", done,
            "misclassified", mis, "attacked_found", att_found, "median_certified",
            num_or_null(sc.med), "q1_certified", num_or_null(sc.q1), "q3_certified",
            num_or_null(sc.q3), "mean_certified", num_or_null(sc.mean), "median_attacked",
            num_or_null(sa.med), "q1_attacked", num_or_null(sa.q1), "q3_attacked",
            num_or_null(sa.q3), "mean_attacked", num_or_null(sa.mean));
        json_t *root = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:o, s:o}", "model", model,
                                 "data", data, "max_eps", max_eps, "method", method, "bounds",
                                 cli_str(a, "bounds"), "interrupted", *stop != 0,
                                 "summary", sum, "results", arr);
        /* the grid step under its own name */
        if (root) {
            json_object_set_new(root, "grid_step", json_real(ldexp(me_d, -ro.bits)));
            json_object_set_new(root, "grid_bits", json_integer(ro.bits));
            json_object_set_new(root, "scan", json_integer(ro.scan));
        }
        char *s = root ? cli_json_dumps(root) : NULL;
        json_decref(root);
        if (!s) {
            cli_error("out of memory printing JSON");
            rc = CLI_EXIT_OSERR;
            goto out;
        }
        puts(s);
        free(s);
    } else {
        printf("summary over %d samples (%d misclassified, counted as radius 0; attack found on "
               "%d):\n",
               done, mis, att_found);
        printf("  certified: median %.6g, quartiles %.6g / %.6g, mean %.6g\n", sc.med, sc.q1,
               sc.q3, sc.mean);
        printf("  attacked:  median %.6g, quartiles %.6g / %.6g, mean %.6g\n", sa.med, sa.q1,
               sa.q3, sa.mean);
        printf("  grid step %.6g (max eps %s / 2^%d), method %s (bounds %s, scan %d)\n",
               ldexp(me_d, -ro.bits), max_eps, ro.bits, method, cli_str(a, "bounds"), ro.scan);
    }
    if (*stop) {
        cli_error("interrupted by signal %d after %d of %d samples; results so far kept",
                  (int)*stop, done, d->n);
        rc = 128 + (int)*stop;
    }
out:
    if (stop)
        cli_signals_restore();
    if (x0)
        for (int k = 0; k < in; k++)
            mpq_clear(x0[k]);
    free(x0);
    free(rows);
    free(vc);
    free(va);
    bnd_ctx_free(pr.bc);
    ds_free(d);
    net_free(n);
    return rc;
}

const cli_cmd cli_cmd_radius = {
    .name = "radius",
    .usage = "MODEL --data FILE [--samples N] [--tol T] [--max-eps E] [--method bounds|complete] "
             "[--bounds B1,B2] [--scan N] [--json] [--csv OUT]",
    .summary = "certified and attacked L-infinity robustness radius per sample",
    .details =
        "Per sample x (input pixel/255, exact), the bracket [certified, attacked] of the\n"
        "L-infinity robustness radius over the ball [x-eps, x+eps] ∩ [0,1]: `certified` is\n"
        "the largest grid eps (k * max-eps / 2^b, an exact decimal, step <= --tol) that sound\n"
        "bounds (or the complete engine) proved robust, and `certified_by` the method that\n"
        "proved it (`clean` for eps 0); `attacked` is the smallest eps at which a\n"
        "misclassified point was confirmed in exact arithmetic: DeepFool's radius rounded\n"
        "up to 6 digits, tightened by PGD (or the complete engine) by bisection on the grid.\n"
        "Bounds are not monotone in eps (a ball may be proven while a smaller one is not),\n"
        "so after bisecting for the first failure radius probes the grid points above it\n"
        "and below the attacked radius from the top down, with the bound methods only, in\n"
        "rounds of at most --scan N probes (when there are more points, every s-th one,\n"
        "s = ceil(count/N), and the next round scans the gap above the highest one\n"
        "proven: one round per factor N of points): with count <= N (the default grid\n"
        "has 256), `certified` is the largest grid point the bounds prove.  The true\n"
        "radius lies in (certified, attacked]; a proof at or above a confirmed attack would\n"
        "be unsound and is an internal error (exit 70), never printed.  `none` (JSON\n"
        "null): no attack succeeded up to max-eps.  Misclassified samples count as radius\n"
        "0 in the summary (median, quartiles with linear interpolation, mean).\n"
        "SIGINT/SIGTERM stop after writing the samples finished so far; exit 128 + signal.",
    .opts = opts,
    .min_pos = 1,
    .max_pos = 1,
    .run = run,
};

/* cmd_attack.c — `certnn attack MODEL (--vnnlib P | --data F --eps E ...)`:
 * counterexample search by PGD, FGSM or DeepFool.  Prints `sat` with an
 * exactly confirmed point, or `unknown`. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "attacks/attacks.h"
#include "cli/cli.h"

static const cli_opt opts[] = {
    {"vnnlib", 'p', CLI_STR, "FILE", NULL, 0, -1,
     "VNN-LIB property to falsify ('-': read it from stdin)"},
    {"data", 'd', CLI_STR, "FILE", NULL, 0, -1,
     "samples (CSV of 8-bit or decimal values, IDX images or .npy with --labels): attack the "
     "eps-ball of each"},
    CLI_OPT_EPS(NULL, "L-infinity radius for --data, a decimal read exactly (input = pixel/255, "
                      "clipped to [0,1])"),
    CLI_OPT_LABELS("labels file for --data IDX images (IDX) or .npy data (.npy of integers)"),
    CLI_OPT_SAMPLES(NULL, "number of samples for --data (default all)"),
    CLI_OPT_OFFSET("first sample for --data"),
    CLI_OPT_MEAN,
    CLI_OPT_STD,
    CLI_OPT_NORM("--data: the balls' norm, inf (L-infinity) or 2 (L2; pgd or deepfool)"),
    {"method", 'm', CLI_STR, "M", "pgd", 0, -1, "pgd, fgsm (FGSM then RAND+FGSM) or deepfool"},
    {"timeout", 't', CLI_DOUBLE, "S", "10", 0, 1e7,
     "seconds per property or per sample (0: no limit; then --restarts bounds the search)"},
    {"restarts", 0, CLI_INT, "N", "0", 0, 1e12, "maximum random restarts (0: until the timeout)"},
    {"iters", 0, CLI_INT, "N", "100", 1, 1e6, "PGD iterations per restart"},
    CLI_ENGINE_OPT_AS(seed, 's', "N", "random seed (same seed, same search)"),
    CLI_OPT_JSON("print a JSON object instead of text"),
    {NULL, 0, 0, NULL, NULL, 0, 0, NULL},
};

/* ---- exact printing ------------------------------------------------------ */

/* q as an exact decimal when its denominator is 2^a 5^b, else "num/den".
 * Returns a malloc'd string or NULL. */
static char *mpq_text(const mpq_t q)
{
    mpz_t den, rest, num;
    mpz_inits(den, rest, num, NULL);
    mpz_set(den, mpq_denref(q));
    unsigned long a = mpz_sgn(den) ? mpz_scan1(den, 0) : 0;
    mpz_tdiv_q_2exp(rest, den, a);
    mpz_t five;
    mpz_init_set_ui(five, 5);
    unsigned long b = mpz_remove(rest, rest, five);
    char *out = NULL;
    if (mpz_cmp_ui(rest, 1) == 0) {
        unsigned long k = a > b ? a : b;
        mpz_abs(num, mpq_numref(q));
        mpz_mul_2exp(num, num, k - a);
        mpz_t p;
        mpz_init(p);
        mpz_ui_pow_ui(p, 5, k - b);
        mpz_mul(num, num, p);
        mpz_clear(p);
        char *digits = mpz_get_str(NULL, 10, num);
        size_t nd = strlen(digits);
        out = malloc(nd + k + 4);
        if (out) {
            char *o = out;
            if (mpq_sgn(q) < 0)
                *o++ = '-';
            if (nd <= k) {
                *o++ = '0';
                if (k) {
                    *o++ = '.';
                    for (size_t i = nd; i < k; i++)
                        *o++ = '0';
                    memcpy(o, digits, nd);
                    o += nd;
                }
            } else {
                memcpy(o, digits, nd - k);
                o += nd - k;
                if (k) {
                    *o++ = '.';
                    memcpy(o, digits + nd - k, k);
                    o += k;
                }
            }
            *o = '\0';
        }
        free(digits);
    } else {
        out = mpq_get_str(NULL, 10, q);
    }
    mpz_clears(den, rest, num, five, NULL);
    return out;
}

/* ---- shared reporting ---------------------------------------------------- */

typedef struct {
    bool json;
    const char *method;
    atk_opts o;
    bool l2;                  /* --norm 2 */
} run_cfg;

/* Smallest exact slack of the reported disjunct (the "margin"). */
static int min_margin(const prop_check *c)
{
    int arg = -1;
    for (int k = 0; k < c->n_margin; k++)
        if (arg < 0 || mpq_cmp(c->margin[k], c->margin[arg]) < 0)
            arg = k;
    return arg;
}

/* Fills the fields of a found counterexample into obj (JSON) or prints them. */
static int report_point(const net *n, mpq_t *x, const prop_check *c, bool json, json_t *obj,
                        bool point)
{
    int in = net_in_size(n), out = net_out_size(n);
    mpq_t *y = malloc(sizeof(mpq_t) * 2 * (size_t)out), *yh = y + out;
    if (!y) {
        cli_error("out of memory");
        return CLI_EXIT_OSERR;
    }
    for (int j = 0; j < 2 * out; j++)
        mpq_init(y[j]);
    cn_err err;
    int rc = CLI_EXIT_OK;
    /* the outputs are shown rounded: the midpoint of their exact enclosure
     * (the exact value itself unless folding rounded, models.h) */
    if (net_eval_enclose(n, x, y, yh, &err) != CN_OK) {
        rc = cli_report(&err);
        goto done;
    }
    for (int j = 0; j < out; j++) {
        mpq_add(y[j], y[j], yh[j]);
        mpq_div_2exp(y[j], y[j], 1);
    }
    int m = min_margin(c);
    char *mtext = m >= 0 ? mpq_get_str(NULL, 10, c->margin[m]) : NULL;
    if (json) {
        /* the counterexample as every command writes it (docs/json.md) */
        double *xd = malloc(sizeof(double) * (size_t)(in + out)), *yd = xd ? xd + in : NULL;
        if (!xd) {
            cli_error("out of memory");
            rc = CLI_EXIT_OSERR;
            free(mtext);
            goto done;
        }
        for (int i = 0; i < in; i++)
            xd[i] = mpq_get_d(x[i]);
        for (int j = 0; j < out; j++)
            yd[j] = mpq_get_d(y[j]);
        json_object_set_new(obj, "counterexample", cli_json_cex(in, x, xd, out, yd, c));
        free(xd);
    } else {
        printf("; exact margin (smallest slack of the violated disjunct): %.17g = %s\n",
               c->worst_margin_d, mtext ? mtext : "?");
        if (point) {
            printf("; case %d, disjunct %d; X exact, Y rounded to nearest\n", c->case_idx,
                   c->disj_idx);
            for (int i = 0; i < in; i++) {
                char *t = mpq_text(x[i]);
                printf("%s(X_%d %s)\n", i ? " " : "(", i, t ? t : "?");
                free(t);
            }
            for (int j = 0; j < out; j++)
                printf(" (Y_%d %.17g)%s\n", j, mpq_get_d(y[j]), j + 1 == out ? ")" : "");
        }
    }
    free(mtext);
done:
    for (int j = 0; j < 2 * out; j++)
        mpq_clear(y[j]);
    free(y);
    return rc;
}

static void put_stats(json_t *obj, const atk_result *r)
{
    json_object_set_new(obj, "time_s", json_real(r->seconds));
    json_object_set_new(obj, "restarts", json_integer(r->restarts));
    json_object_set_new(obj, "iterations", json_integer(r->iterations));
    json_object_set_new(obj, "exact_checks", json_integer(r->exact_checks));
    json_object_set_new(obj, "exact_rejected", json_integer(r->exact_rejected));
}

/* ---- --vnnlib ------------------------------------------------------------ */

static int attack_vnnlib(const char *model, const net *n, const char *path, run_cfg *cfg)
{
    cn_err err;
    prop *p = NULL;
    if (cli_prop_load(path, &p, &err) != CN_OK)
        return cli_report(&err);
    if (prop_n_in(p) != net_in_size(n) || prop_n_out(p) != net_out_size(n)) {
        cli_error("%s: the property has %d inputs and %d outputs; the network %d and %d", path,
                  prop_n_in(p), prop_n_out(p), net_in_size(n), net_out_size(n));
        prop_free(p);
        return CLI_EXIT_DATA;
    }
    if (cfg->o.method == ATK_DEEPFOOL) {
        cli_error("--method deepfool needs --data (a labelled sample); use pgd or fgsm "
                  "with --vnnlib");
        prop_free(p);
        return CLI_EXIT_USAGE;
    }
    atk_result r;
    atk_result_init(&r);
    if (atk_run(n, p, &cfg->o, &r, &err) != CN_OK) {
        prop_free(p);
        return cli_report(&err);
    }
    int rc = r.found ? CLI_EXIT_CEX : CLI_EXIT_UNKNOWN;
    if (cfg->json) {
        json_t *root = json_pack("{s:s, s:s, s:s, s:s, s:I}", "verdict",
                                 r.found ? "sat" : "unknown", "model", model, "property", path,
                                 "method", cfg->method, "seed", (json_int_t)cfg->o.seed);
        json_object_set_new(root, "reason",
                            r.found ? json_null()
                                    : json_string(r.timed_out ? "timeout" : "restarts exhausted"));
        json_object_set_new(root, "counterexample", json_null()); /* replaced when found */
        put_stats(root, &r);
        int e = r.found ? report_point(n, r.x, &r.check, true, root, true) : CLI_EXIT_OK;
        if (e != CLI_EXIT_OK) {
            json_decref(root);
            rc = e;
        } else if ((e = cli_print_json(root)) != CLI_EXIT_OK) {
            rc = e;
        }
    } else if (r.found) {
        puts("sat");
        int e = report_point(n, r.x, &r.check, false, NULL, true);
        if (e != CLI_EXIT_OK)
            rc = e;
    } else {
        puts("unknown");
    }
    atk_result_clear(&r);
    prop_free(p);
    return rc;
}

/* ---- --data -------------------------------------------------------------- */

typedef struct {
    int sat, unknown;
    double df_linf_sum;
    int df_found;
} data_tally;

/* One sample: builds its eps-ball, checks x0, then attacks.  obj (JSON) or text. */
static int attack_sample(const net *n, const ds_set *d, int i, int index, const mpq_t eps,
                         run_cfg *cfg, json_t *obj, data_tally *t)
{
    int in = net_in_size(n), out = net_out_size(n), rc = CLI_EXIT_OK;
    int label = d->labels[i];
    cn_err err;
    mpq_t *x0 = malloc(sizeof(mpq_t) * (size_t)in), lo, hi;
    if (!x0) {
        cli_error("out of memory");
        return CLI_EXIT_OSERR;
    }
    for (int k = 0; k < in; k++)
        mpq_init(x0[k]);
    mpq_init(lo);
    mpq_init(hi);
    mpq_set_ui(hi, 1, 1);
    ds_input_q(d, i, x0);
    prop *p = NULL;
    atk_result r;
    atk_result_init(&r);
    atk_df_result df;
    atk_df_result_init(&df);
    prop_check c;
    prop_check_init(&c);
    bool found = false;
    const prop_check *pc = NULL;
    mpq_t *px = NULL;
    if (label < 0 || label >= out) {
        cli_error("sample %d: label %d is not an output of the network (%d outputs)", index,
                  label, out);
        rc = CLI_EXIT_DATA;
        goto done;
    }
    if (prop_eps_ball(in, x0, eps, lo, hi, out, label, &p, &err) != CN_OK) {
        rc = cli_report(&err);
        goto done;
    }
    /* the sample itself (misclassified: the ball is violated at its centre) */
    if (prop_check_point(p, n, x0, &c, &err) != CN_OK) {
        rc = cli_report(&err);
        goto done;
    }
    if (c.violated) {
        found = true;
        pc = &c;
        px = x0;
    }
    if (cfg->o.method == ATK_DEEPFOOL) {
        const double *dx = NULL;
        if (atk_deepfool(n, x0, label, 0.0, 1.0, &cfg->o, &df, &err) != CN_OK) {
            rc = cli_report(&err);
            goto done;
        }
        if (df.found) {
            t->df_found++;
            t->df_linf_sum += df.linf;
        }
        dx = cfg->l2 ? df.x_l2 : df.x_linf;
        if (!found && df.found && dx) {
            /* inside the ball?  decided by the exact check (an L2 ball: the
             * box check, then sum (x - x0)^2 <= eps^2 exactly) */
            if (prop_check_point_d(p, n, dx, &c, &err) != CN_OK) {
                rc = cli_report(&err);
                goto done;
            }
            if (c.violated && cfg->l2) {
                mpq_t *xq = malloc(sizeof(mpq_t) * (size_t)in);
                if (!xq) {
                    cli_error("out of memory");
                    rc = CLI_EXIT_OSERR;
                    goto done;
                }
                for (int k = 0; k < in; k++) {
                    mpq_init(xq[k]);
                    mpq_set_d(xq[k], dx[k]);
                }
                bool in_ball = atk_l2_inside(in, (const mpq_t *)xq, (const mpq_t *)x0, eps);
                for (int k = 0; k < in; k++)
                    mpq_clear(xq[k]);
                free(xq);
                if (!in_ball)
                    c.violated = false;
            }
            if (c.violated) {
                found = true;
                pc = &c;
                r.x = NULL;
                /* exact point: the double point dx (DeepFool's L-inf or L2 one) */
                px = malloc(sizeof(mpq_t) * (size_t)in);
                if (!px) {
                    cli_error("out of memory");
                    rc = CLI_EXIT_OSERR;
                    goto done;
                }
                for (int k = 0; k < in; k++) {
                    mpq_init(px[k]);
                    mpq_set_d(px[k], dx[k]);
                }
            }
        }
    } else if (!found) {
        if (cfg->l2) {
            cfg->o.l2_x0 = (const mpq_t *)x0;
            cfg->o.l2_eps = (const mpq_t *)eps;
        }
        cn_status as = atk_run(n, p, &cfg->o, &r, &err);
        cfg->o.l2_x0 = NULL;
        cfg->o.l2_eps = NULL;
        if (as != CN_OK) {
            rc = cli_report(&err);
            goto done;
        }
        if (r.found) {
            found = true;
            pc = &r.check;
            px = r.x;
        }
    }
    if (found)
        t->sat++;
    else
        t->unknown++;
    if (cfg->json) {
        json_object_set_new(obj, "index", json_integer(index));
        json_object_set_new(obj, "label", json_integer(label));
        json_object_set_new(obj, "verdict", json_string(found ? "sat" : "unknown"));
        if (cfg->o.method == ATK_DEEPFOOL) {
            json_object_set_new(obj, "deepfool_found", json_boolean(df.found));
            json_object_set_new(obj, "linf", df.found ? json_real(df.linf) : json_null());
            json_object_set_new(obj, "l2", df.found ? json_real(df.l2) : json_null());
        } else {
            put_stats(obj, &r);
        }
        json_object_set_new(obj, "counterexample", json_null()); /* replaced when found */
        if (found)
            rc = report_point(n, px, pc, true, obj, true);
    } else {
        printf("sample %d label %d: %s", index, label, found ? "sat" : "unknown");
        if (cfg->o.method == ATK_DEEPFOOL) {
            if (df.found)
                printf("  deepfool radius linf %.9g l2 %.9g%s", df.linf, df.l2,
                       df.clean_wrong ? " (misclassified)" : "");
            else
                printf("  deepfool found nothing");
        }
        putchar('\n');
        if (found)
            rc = report_point(n, px, pc, false, NULL, false);
    }
done:
    if (px && px != x0 && px != r.x) {
        for (int k = 0; k < in; k++)
            mpq_clear(px[k]);
        free(px);
    }
    prop_check_clear(&c);
    atk_df_result_clear(&df);
    atk_result_clear(&r);
    prop_free(p);
    for (int k = 0; k < in; k++)
        mpq_clear(x0[k]);
    free(x0);
    mpq_clear(lo);
    mpq_clear(hi);
    return rc;
}

static int attack_data(const char *model, const net *n, const cli_args *a, run_cfg *cfg)
{
    const char *path = cli_str(a, "data"), *etext = cli_str(a, "eps");
    if (!etext) {
        cli_error("attack: --data needs --eps E (see 'certnn attack --help')");
        return CLI_EXIT_USAGE;
    }
    mpq_t eps;
    mpq_init(eps);
    cli_dec_q(a, "eps", eps);
    cn_err err;
    ds_set *d = NULL;
    int count = cli_has(a, "samples") ? (int)cli_int(a, "samples") : -1;
    int offset = (int)cli_int(a, "offset");
    if (ds_load(path, cli_str(a, "labels"), offset, count, &d, &err) != CN_OK) {
        mpq_clear(eps);
        return cli_report(&err);
    }
    cli_samples_note("--samples", count, offset, d->n, path);
    int rc = CLI_EXIT_OK;
    if (d->dim != net_in_size(n)) {
        cli_error("%s: samples have %d values; the network takes %d inputs", path, d->dim,
                  net_in_size(n));
        rc = CLI_EXIT_DATA;
        goto done;
    }
    data_tally t = {0, 0, 0, 0};
    json_t *rows = cfg->json ? json_array() : NULL;
    /* Each sample's line is printed (and flushed) as it is decided; SIGINT /
     * SIGTERM end the loop after the sample at hand and the summary covers
     * the samples done. */
    volatile sig_atomic_t *stop = cli_signals_catch();
    int n_done = 0;
    for (int i = 0; i < d->n && !*stop; i++, n_done++) {
        json_t *obj = cfg->json ? json_object() : NULL;
        int e = attack_sample(n, d, i, offset + i, eps, cfg, obj, &t);
        if (cfg->json)
            json_array_append_new(rows, obj);
        fflush(stdout);
        if (e != CLI_EXIT_OK) {
            rc = e;
            break;
        }
    }
    bool interrupted = rc == CLI_EXIT_OK && n_done < d->n;
    if (interrupted)
        cli_error("interrupted by signal %d after %d of %d samples; the summary covers those",
                  (int)*stop, n_done, d->n);
    cli_signals_restore();
    if (rc == CLI_EXIT_OK) {
        rc = t.sat ? CLI_EXIT_CEX : CLI_EXIT_UNKNOWN;
        if (cfg->json) {
            json_t *root = json_pack(
                "{s:s, s:s, s:s, s:s, s:s, s:I, s:i, s:i, s:b, s:i, s:i, s:o}", "verdict",
                t.sat ? "sat" : "unknown", "model", model, "data", path, "eps", etext, "method",
                cfg->method, "seed", (json_int_t)cfg->o.seed, "samples", d->n, "done", n_done,
                "interrupted", interrupted, "sat", t.sat, "unknown", t.unknown, "results", rows);
            rows = NULL;
            int e = cli_print_json(root);
            if (e != CLI_EXIT_OK)
                rc = e;
        } else {
            printf("%s: %d of %d samples sat (attack success), %d unknown\n",
                   t.sat ? "sat" : "unknown", t.sat, n_done, t.unknown);
        }
    }
    json_decref(rows);
done:
    ds_free(d);
    mpq_clear(eps);
    return rc;
}

static int run(const cli_args *a)
{
    const char *vnn = cli_str(a, "vnnlib"), *data = cli_str(a, "data");
    if ((vnn != NULL) == (data != NULL)) {
        cli_error("attack: give exactly one of --vnnlib FILE and --data FILE (see 'certnn "
                  "attack --help')");
        return CLI_EXIT_USAGE;
    }
    if (vnn && (cli_has(a, "eps") || cli_has(a, "labels") || cli_has(a, "samples") ||
                cli_has(a, "mean") || cli_has(a, "std"))) {
        cli_error("attack: --eps, --labels, --samples, --mean and --std go with --data, not "
                  "--vnnlib");
        return CLI_EXIT_USAGE;
    }
    run_cfg cfg;
    atk_opts_init(&cfg.o);
    cfg.json = cli_flag(a, "json");
    cfg.method = cli_str(a, "method");
    if (strcmp(cfg.method, "pgd") == 0)
        cfg.o.method = ATK_PGD;
    else if (strcmp(cfg.method, "fgsm") == 0)
        cfg.o.method = ATK_FGSM;
    else if (strcmp(cfg.method, "deepfool") == 0)
        cfg.o.method = ATK_DEEPFOOL;
    else {
        cli_error("--method: expected pgd, fgsm or deepfool, got '%s'", cfg.method);
        return CLI_EXIT_USAGE;
    }
    int norm = cli_norm(a);
    if (norm < 0)
        return CLI_EXIT_USAGE;
    cfg.l2 = norm == 2;
    if (cfg.l2 && (vnn || cfg.o.method == ATK_FGSM)) {
        cli_error("attack: --norm 2 goes with --data and --method pgd or deepfool");
        return CLI_EXIT_USAGE;
    }
    cfg.o.time_limit = cli_dbl(a, "timeout");
    cfg.o.max_restarts = cli_int(a, "restarts");
    cfg.o.iters = (int)cli_int(a, "iters");
    cfg.o.seed = (uint64_t)cli_int(a, "seed");
    if (cfg.o.time_limit <= 0 && cfg.o.max_restarts <= 0 && cfg.o.method != ATK_DEEPFOOL) {
        cli_error("attack: --timeout 0 needs --restarts N > 0 (the search would not stop)");
        return CLI_EXIT_USAGE;
    }
    cn_err err;
    int se = cli_stdin_once(a->pos[0], vnn, false);
    if (se >= 0)
        return se;
    net *n = NULL;
    if (cli_net_load(a->pos[0], &n, &err) != CN_OK)
        return cli_report(&err);
    int ne = data ? cli_normalise(a, n) : -1;
    if (ne >= 0) {
        net_free(n);
        return ne;
    }
    int rc = vnn ? attack_vnnlib(a->pos[0], n, vnn, &cfg) : attack_data(a->pos[0], n, a, &cfg);
    net_free(n);
    return rc;
}

const cli_cmd cli_cmd_attack = {
    .name = "attack",
    .usage = "MODEL (--vnnlib P | --data F --eps E [--labels F] [--samples N] [--offset K])\n"
             "       [--method pgd|fgsm|deepfool] [--timeout S] [--seed N] [--json]",
    .summary = "search for a counterexample (PGD, FGSM, DeepFool); sat or unknown",
    .details =
        "Every point reported `sat` has been re-evaluated in exact rational arithmetic and\n"
        "shown to lie in the region and in the unsafe set; `unknown` means the search found\n"
        "nothing, never that the property holds.  The point is printed exactly (X values as\n"
        "exact decimals) with the exact margin, the smallest slack of the violated disjunct.\n"
        "With --data each sample's eps-ball [x - E, x + E] clipped to [0,1] is attacked\n"
        "(--norm 2: the L2 ball {||x' - x||_2 <= E} ∩ [0,1]^n, by PGD along normalised\n"
        "gradients or by DeepFool's L2 point, each point checked exactly to be in it)\n"
        "(x = p/255 for 8-bit data, the values as given for decimal CSV and float .npy;\n"
        "--mean/--std: the network sees (x - mean)/std per input channel); deepfool also prints the smallest L-infinity / L2 perturbation it found\n"
        "(an upper end of the robustness radius).  The same --seed gives the same search\n"
        "when it is bounded by --restarts rather than --timeout.  With --data each sample's\n"
        "line is printed as it is decided; SIGINT/SIGTERM end the run after the sample at\n"
        "hand, and the summary and --json (\"interrupted\") cover the samples done.\n"
        "MODEL or --vnnlib `-` reads that file from stdin (not both).",
    .opts = opts,
    .min_pos = 1,
    .max_pos = 1,
    .run = run,
};

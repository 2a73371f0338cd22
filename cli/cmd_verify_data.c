/* cmd_verify_data.c — `certnn verify MODEL --data F --eps E`: per sample,
 * the misclassified check (double forward pass, confirmed exactly), the
 * bounds of its eps-ball (vfy_bounds_case), then for a sample they do not
 * prove the complete engine (--complete) or a short attack (--attack S);
 * with --cert, one certificate entry per sample. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "attacks/attacks.h"
#include "cli/cli.h"
#include "cli/cmd_verify.h"
#include "cli/workflow.h"
#include "verifier/verifier.h"

static json_t *num_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* The output j an eps-ball atom compares with the label (its other variable). */
static int atom_other(const prop_lin *at, int label)
{
    for (int e = 0; e < at->n; e++)
        if (at->var[e] != label)
            return at->var[e];
    return -1;
}

/* The counterexample an attack found, as JSON (y: the outputs at x_d in
 * double; empty if they cannot be computed). */
static json_t *atk_cex_json(const net *n, const atk_result *ar)
{
    int m = net_out_size(n);
    double *y = malloc(sizeof(double) * (size_t)m);
    cn_err e;
    if (y && net_forward(n, 1, ar->x_d, y, &e) != CN_OK) {
        free(y);
        y = NULL;
    }
    json_t *j = cli_json_cex(ar->n_in, ar->x, ar->x_d, y ? m : 0, y, &ar->check);
    free(y);
    return j;
}

/* A sample the bounds did not prove: the complete engine (--complete) or a
 * short attack (--attack S) decides more; a counterexample is confirmed
 * exactly by both. */
/* With a certificate (doc not NULL) the outcome is appended to it as entry e
 * (*uncertified counts robust verdicts whose proof cannot be written). */
/* With cex not NULL, a counterexample found is also returned as JSON. */
static cn_status decide_sample(const net *n, const prop *p, const cli_args *a,
                               volatile sig_atomic_t *stop, const char **verdict, cert_doc *doc,
                               const cert_entry *e, int *uncertified, json_t **cex, cn_err *err)
{
    *verdict = "unknown";
    if (cli_flag(a, "complete")) {
        vfy_opts o;
        cli_engine_opts(a, &o);
        o.record_proof = doc != NULL;
        vfy_result r;
        vfy_result_init(&r);
        cn_status st = vfy_verify(n, p, &o, stop, &r, err);
        if (st == CN_OK)
            *verdict = r.verdict == VFY_UNSAT ? "robust"
                       : r.verdict == VFY_SAT ? "not-robust"
                       : r.verdict == VFY_TIMEOUT ? "timeout"
                                                  : "unknown";
        if (st == CN_OK && cex && r.verdict == VFY_SAT)
            *cex = cli_json_cex(r.n_in, r.x, r.x_d, r.n_out, r.y_d, &r.check);
        if (st == CN_OK && doc) {
            bool certified;
            char why[512];
            cert_entry en = *e;
            en.method = r.verdict == VFY_UNSAT ? "bab" : NULL;
            en.time_s = r.seconds;
            st = vfy_cert_add_result(doc, &en, true, p, &r, &certified, why, sizeof why, err);
            if (st == CN_OK && !certified) {
                (*uncertified)++;
                if (!cli_flag(a, "quiet"))
                    cli_error("sample %d: robust, but not certified: %s", e->index, why);
            }
        }
        vfy_result_clear(&r);
        return st;
    }
    double t = cli_dbl(a, "attack");
    if (t <= 0) {
        if (!doc)
            return CN_OK;
        cert_entry en = *e;
        en.verdict = "unknown";
        en.method = "bounds";
        return cert_doc_add_open(doc, &en, err);
    }
    atk_opts ao;
    atk_opts_init(&ao);
    ao.time_limit = t;
    ao.seed = (uint64_t)cli_int(a, "seed");
    atk_result ar;
    atk_result_init(&ar);
    cn_status st = atk_run(n, p, &ao, &ar, err);
    if (st == CN_OK && ar.found)
        *verdict = "not-robust";
    if (st == CN_OK && ar.found && cex)
        *cex = atk_cex_json(n, &ar);
    if (st == CN_OK && doc) {
        cert_entry en = *e;
        en.verdict = *verdict;
        en.method = "attack";
        en.time_s = ar.seconds;
        st = ar.found ? cert_doc_add_cex(doc, &en, ar.n_in, ar.x, &ar.check, err)
                      : cert_doc_add_open(doc, &en, err);
    }
    atk_result_clear(&ar);
    return st;
}

/* A sample i the double forward pass misclassifies (x0 scratch [n_in]):
 * *mis when the exact check confirms that the sample itself violates its
 * eps-ball property, so that it is its own counterexample (with a
 * certificate, its entry).  Not confirmed (a tie the doubles broke the
 * other way, or an enclosure): the sample goes through the bounds like any
 * other. */
static cn_status misclassified_exact(const net *n, const ds_set *d, int i, mpq_t *x0,
                                     const double *xd, const double *yd, const mpq_t eps,
                                     const mpq_t clo, const mpq_t chi, int nout, int label,
                                     cert_doc *doc, const cert_entry *e, double c0, bool *mis,
                                     json_t **cex, cn_err *err)
{
    prop *p = NULL;
    ds_input_q(d, i, x0);
    cn_status s = prop_eps_ball(net_in_size(n), x0, eps, clo, chi, nout, label, &p, err);
    prop_check chk;
    prop_check_init(&chk);
    if (s == CN_OK)
        s = prop_check_point(p, n, x0, &chk, err);
    *mis = s == CN_OK && chk.violated;
    if (*mis && cex)
        *cex = cli_json_cex(net_in_size(n), x0, xd, nout, yd, &chk);
    if (*mis && doc) {
        cert_entry en = *e;
        en.method = "sample";
        en.time_s = cli__clock(CLOCK_PROCESS_CPUTIME_ID) - c0;
        en.verdict = "not-robust";
        s = cert_doc_add_cex(doc, &en, net_in_size(n), x0, &chk, err);
    }
    prop_check_clear(&chk);
    prop_free(p);
    return s;
}

/* --norm 2: a sample the bounds did not prove.  PGD in the L2 ball (--attack
 * S seconds); a point found lies exactly in the ball and violates the
 * label (atk_run checks both exactly). */
static cn_status attack_l2(const net *n, const prop *p, mpq_t *x0, const mpq_t eps,
                           const cli_args *a, const char **verdict, json_t **cex, cn_err *err)
{
    *verdict = "unknown";
    double t = cli_dbl(a, "attack");
    if (t <= 0)
        return CN_OK;
    atk_opts ao;
    atk_opts_init(&ao);
    ao.time_limit = t;
    ao.seed = (uint64_t)cli_int(a, "seed");
    ao.l2_x0 = (const mpq_t *)x0;
    ao.l2_eps = (const mpq_t *)&eps[0];
    atk_result ar;
    atk_result_init(&ar);
    cn_status st = atk_run(n, p, &ao, &ar, err);
    if (st == CN_OK && ar.found)
        *verdict = "not-robust";
    if (st == CN_OK && ar.found && cex)
        *cex = atk_cex_json(n, &ar);
    atk_result_clear(&ar);
    return st;
}

/* The radius of an L2 ball around the doubles xd [in] that contains the L2
 * ball of radius eps around the exact x0: eps + sum |xd_j - x0_j| (an upper
 * bound of ||xd - x0||_2), rounded up. */
static double l2_radius(mpq_t *x0, const double *xd, int in, const mpq_t eps)
{
    mpq_t s, t;
    mpq_init(s);
    mpq_init(t);
    mpq_set(s, eps);
    for (int j = 0; j < in; j++) {
        mpq_set_d(t, xd[j]);
        mpq_sub(t, t, x0[j]);
        mpq_abs(t, t);
        mpq_add(s, s, t);
    }
    double r = cn_mpq_get_d_up(s);
    mpq_clear(s);
    mpq_clear(t);
    return r;
}

/* --data --cert: a sample the bounds proved robust.  Its proof is one leaf
 * per case, confirmed by the certificate checker; when the checker's CROWN
 * does not confirm it (e.g. --method alpha), the complete engine (with
 * --complete) records a proof, else the entry stays open. */
static cn_status cert_sample_proof(const net *n, const prop *p, const cli_args *a,
                                   volatile sig_atomic_t *stop, cert_doc *doc,
                                   const cert_entry *e, int *uncertified, cn_err *err)
{
    int nc = prop_n_cases(p);
    cert_tree *trees = cn_calloc((size_t)(nc ? nc : 1), sizeof(cert_tree));
    if (!trees)
        return cn_fail(err, CN_ENOMEM, "out of memory");
    bool valid = false;
    char why[512];
    cn_status s = vfy_cert_root_trees(p, trees, err);
    if (s == CN_OK)
        s = vfy_cert_selfcheck(n, p, nc, trees, &valid, why, sizeof why, err);
    cert_entry en = *e;
    en.verdict = "robust";
    en.method = "bounds";
    if (s == CN_OK && valid)
        s = cert_doc_add_proof(doc, &en, nc, trees, err);
    for (int c = 0; c < nc; c++)
        cert_tree_clear(&trees[c]);
    cn_free(trees);
    if (s != CN_OK || valid)
        return s;
    if (cli_flag(a, "complete")) {
        const char *v;
        int before = *uncertified;
        s = decide_sample(n, p, a, stop, &v, doc, e, uncertified, NULL, err);
        if (s == CN_OK && strcmp(v, "robust") != 0 && *uncertified == before)
            (*uncertified)++;
        return s;
    }
    (*uncertified)++;
    en.verdict = "unknown";
    return cert_doc_add_open(doc, &en, err);
}

int cli__verify_data(const char *model, const net *n, const cli_args *a, const bnd_opts *o,
                     volatile sig_atomic_t *stop)
{
    const char *path = cli_str(a, "data"), *etext = cli_str(a, "eps");
    bool json = cli_flag(a, "json"), l2 = cli_norm(a) == 2; /* (checked by the caller) */
    if (!etext) {
        cli_error("verify: missing --eps E, the radius of the balls --data needs (see 'certnn "
                  "verify --help')");
        return CLI_EXIT_USAGE;
    }
    mpq_t eps, clo, chi;
    mpq_init(eps);
    cli_dec_q(a, "eps", eps);
    mpq_init(clo);
    mpq_init(chi);
    mpq_set_ui(chi, 1, 1);
    cn_err err;
    ds_set *d = NULL;
    int count = cli_has(a, "samples") ? (int)cli_int(a, "samples") : -1;
    int offset = (int)cli_int(a, "offset");
    int in = net_in_size(n), nout = net_out_size(n);
    mpq_t *x0 = NULL;
    double *xd = NULL, *yd = NULL, *times = NULL, *margins = NULL;
    bnd_ctx *bc = NULL;
    cert_doc *doc = NULL;
    json_t *rows = json ? json_array() : NULL;
    json_t *cex = NULL;        /* a sample's counterexample (--json) */
    int rc = CLI_EXIT_OK;
    if (ds_load(path, cli_str(a, "labels"), offset, count, &d, &err) != CN_OK) {
        rc = cli_report(&err);
        goto done;
    }
    cli_samples_note("--samples", count, offset, d->n, path);
    if (d->is_float && cli_has(a, "cert")) {
        cli_error("%s: --cert records 8-bit samples; this file holds float data, which a "
                  "certificate cannot record yet", path);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (d->dim != in) {
        cli_error("%s: samples have %d values; the network takes %d inputs", path, d->dim, in);
        rc = CLI_EXIT_DATA;
        goto done;
    }
    x0 = malloc(sizeof(mpq_t) * (size_t)in);
    xd = malloc(sizeof(double) * (size_t)in);
    yd = malloc(sizeof(double) * (size_t)nout);
    times = malloc(sizeof(double) * (size_t)(d->n ? d->n : 1));
    margins = malloc(sizeof(double) * (size_t)nout);
    if (!x0 || !xd || !yd || !times || !margins) {
        free(x0);
        x0 = NULL;
        cli_error("out of memory");
        rc = CLI_EXIT_OSERR;
        goto done;
    }
    for (int k = 0; k < in; k++)
        mpq_init(x0[k]);
    bc = bnd_ctx_new(n, &err);
    if (!bc) {
        rc = cli_report(&err);
        goto done;
    }
    if (cli_has(a, "cert")) {
        char dsha[65];
        net_info ni;
        net_get_info(n, &ni);
        cert_meta m = {.tool = "certnn " PACKAGE_VERSION, .model_file = model,
                       .model_sha256 = ni.sha256, .data_file = path, .data_sha256 = dsha,
                       .eps = etext};
        if (vfy_cert_file_sha(path, dsha, &err) != CN_OK || cert_doc_new(&m, &doc, &err) != CN_OK) {
            rc = cli_report(&err);
            goto done;
        }
    }
    int uncertified = 0;
    int verified = 0, misclassified = 0, unknown = 0, attacked = 0, n_timed = 0;
    double t_all = cli__clock(CLOCK_MONOTONIC), c_all = cli__clock(CLOCK_PROCESS_CPUTIME_ID);
    /* Samples are decided one by one and reported as they are (text lines
     * are flushed); SIGINT / SIGTERM end the loop after the sample at hand,
     * and the summary, JSON and certificate then cover the samples done. */
    int n_done = 0;
    for (int i = 0; i < d->n && !*stop; i++, n_done++) {
        int label = d->labels[i], index = offset + i;
        if (label < 0 || label >= nout) {
            cli_error("sample %d: label %d is not an output of the network (%d outputs)", index,
                      label, nout);
            rc = CLI_EXIT_DATA;
            goto done;
        }
        double c0 = cli__clock(CLOCK_PROCESS_CPUTIME_ID);
        ds_input_d(d, i, xd);
        if (net_forward(n, 1, xd, yd, &err) != CN_OK) {
            rc = cli_report(&err);
            goto done;
        }
        int pred = 0;
        for (int j = 1; j < nout; j++)
            if (yd[j] > yd[pred])
                pred = j;
        const char *verdict;
        double minm = NAN;
        for (int j = 0; j < nout; j++)
            margins[j] = NAN;
        json_decref(cex);       /* (NULL unless an error path left one) */
        cex = NULL;             /* --json: the sample's counterexample, if one */
        json_t **cexp = json ? &cex : NULL;
        cert_entry ce = {.index = index, .label = label,
                         .pixels = d->pixels ? d->pixels + (size_t)i * (size_t)in : NULL,
                         .n_pixels = d->pixels ? in : 0};
        bool mis = false;
        if (pred != label &&
            misclassified_exact(n, d, i, x0, xd, yd, eps, clo, chi, nout, label, doc, &ce, c0,
                                &mis, cexp, &err) != CN_OK) {
            rc = cli_report(&err);
            goto done;
        }
        if (mis) {
            verdict = "misclassified";
            misclassified++;
        } else {
            ds_input_q(d, i, x0);
            prop *p = NULL;
            if (prop_eps_ball(in, x0, eps, clo, chi, nout, label, &p, &err) != CN_OK) {
                rc = cli_report(&err);
                goto done;
            }
            const prop_case *pc = prop_case_at(p, 0);
            double *lb = cn_calloc((size_t)vfy_case_n_atoms(pc) + 1, sizeof(double));
            bool out = false;
            /* --norm 2: the case's box is the L-infinity ball, the hull of
             * the L2 ball; the L2 ball around the double centre xd with
             * radius eps + ||xd - x0||_1 (>= the L2 distance), rounded up,
             * contains the exact L2 ball around x0 */
            bnd_ball ball = {xd, 0.0};
            if (l2)
                ball.r = l2_radius(x0, xd, in, eps);
            cn_status s = lb ? vfy_bounds_case_ball(n, bc, o, p, 0, l2 ? &ball : NULL, lb, &out,
                                                    &err)
                             : cn_fail(&err, CN_ENOMEM, "out of memory");
            if (s == CN_OK) {
                int r = 0;
                for (int k = 0; k < pc->n_disj; k++)
                    for (int at = 0; at < pc->disj[k].n; at++, r++) {
                        int j = atom_other(&pc->disj[k].atoms[at], label);
                        if (j >= 0 && j < nout)
                            margins[j] = lb[r];
                        if (isnan(minm) || lb[r] < minm)
                            minm = lb[r];
                    }
            }
            cn_free(lb);
            ce.time_s = cli__clock(CLOCK_PROCESS_CPUTIME_ID) - c0;
            if (s == CN_OK && !out && l2)
                s = attack_l2(n, p, x0, eps, a, &verdict, cexp, &err);
            else if (s == CN_OK && !out)
                s = decide_sample(n, p, a, stop, &verdict, doc, &ce, &uncertified, cexp, &err);
            else
                verdict = out ? "robust" : "unknown";
            if (s == CN_OK && out && doc)
                s = cert_sample_proof(n, p, a, stop, doc, &ce, &uncertified, &err);
            prop_free(p);
            if (s != CN_OK) {
                rc = cli_report(&err);
                goto done;
            }
            if (!strcmp(verdict, "robust"))
                verified++;
            else if (!strcmp(verdict, "not-robust"))
                attacked++;
            else
                unknown++;
            times[n_timed++] = 1e3 * (cli__clock(CLOCK_PROCESS_CPUTIME_ID) - c0);
        }
        double ms = 1e3 * (cli__clock(CLOCK_PROCESS_CPUTIME_ID) - c0);
        if (json) {
            json_t *mj = json_array();
            for (int j = 0; j < nout; j++)
                json_array_append_new(mj, num_or_null(margins[j]));
            json_array_append_new(rows, json_pack("{s:i, s:i, s:i, s:s, s:o, s:o, s:f, s:o?}",
                                                  "index", index, "label", label, "predicted",
                                                  pred, "verdict", verdict, "min_margin",
                                                  num_or_null(minm), "margins", mj, "cpu_s",
                                                  ms / 1e3, "counterexample", cex));
            cex = NULL;
        } else if (!isnan(minm)) {
            printf("sample %d: label %d, %s, min margin lower bound %.9g (%.1f ms)\n", index,
                   label, verdict, minm, ms);
        } else {
            printf("sample %d: label %d, predicted %d, %s\n", index, label, pred, verdict);
        }
        fflush(stdout);
    }
    bool interrupted = n_done < d->n;
    if (interrupted)
        cli_error("interrupted by signal %d after %d of %d samples; the summary covers those",
                  (int)*stop, n_done, d->n);
    double wall = cli__clock(CLOCK_MONOTONIC) - t_all, cpu = cli__clock(CLOCK_PROCESS_CPUTIME_ID) - c_all;
    wf_sort(times, n_timed);
    double median = n_timed ? (n_timed % 2 ? times[n_timed / 2]
                                           : 0.5 * (times[n_timed / 2 - 1] + times[n_timed / 2]))
                            : 0.0;
    /* a misclassified sample is a counterexample to its robustness, as a
     * not-robust one is (both confirmed exactly): exit 1 */
    rc = verified == d->n ? CLI_EXIT_OK
         : attacked + misclassified > 0 ? CLI_EXIT_CEX
         : CLI_EXIT_UNKNOWN;
    if (json) {
        json_t *root = json_pack(
            "{s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:b, s:i, s:i, s:i, s:f, s:f, s:f, s:o}", "model",
            model, "data", path, "eps", etext, "method", bnd_method_name(o->method), "verified",
            verified, "total", d->n, "done", n_done, "interrupted", interrupted, "misclassified",
            misclassified, "not_robust", attacked, "unknown", unknown, "time_s", wall, "cpu_s",
            cpu, "median_cpu_s", median / 1e3, "results", rows);
        rows = NULL;
        int e = cli_print_json(root);
        if (e != CLI_EXIT_OK)
            rc = e;
    } else {
        printf("%d of %d verified (%d misclassified, %d not robust, %d unknown), method %s%s, "
               "%.3f s, median %.2f ms per correctly classified sample\n",
               verified, n_done, misclassified, attacked, unknown, bnd_method_name(o->method),
               l2 ? " (L2 balls)" : "", wall, median);
    }
    if (doc) {
        fflush(stdout);
        if (uncertified)
            cli_error("%d robust sample%s could not be certified (recorded as unknown in the "
                      "certificate)", uncertified, uncertified == 1 ? "" : "s");
        int w = cli__cert_write(a, doc);
        if (w != CLI_EXIT_OK)
            rc = w;
    }
done:
    json_decref(cex);
    cert_doc_free(doc);
    json_decref(rows);
    bnd_ctx_free(bc);
    if (x0)
        for (int k = 0; k < in; k++)
            mpq_clear(x0[k]);
    free(x0);
    free(xd);
    free(yd);
    free(times);
    free(margins);
    ds_free(d);
    mpq_clear(eps);
    mpq_clear(clo);
    mpq_clear(chi);
    return rc;
}

/* bench_attacks.c — the attacks alone on VNN-COMP style suites, and DeepFool /
 * PGD figures on a labelled MNIST sample set.
 *
 *   bench_attacks suite DIR INSTANCES.csv EXPECTED.csv [TIMEOUT_S [SEED]]
 *       runs PGD on every instance with time limit min(TIMEOUT_S, instance
 *       timeout);
 *       prints one line per instance and a summary: how many `sat` instances
 *       were falsified, and how many `unsat` ones were (wrongly) reported sat,
 *       which must be 0.  Every reported point is re-checked here as well.
 *   bench_attacks radius MODEL DATA.csv N EPS [TIMEOUT_S [SEED]]
 *       first N samples: median DeepFool L-inf radius (confirmed points), and
 *       accuracy under PGD in the eps-ball (clean-correct and not falsified).
 *
 * Output goes to stdout; it is a benchmark driver, not library code.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include "attacks/attacks.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
    char onnx[512], vnnlib[512], expected[32];
} exp_row;

static int load_expected(const char *path, exp_row **rows)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int n = 0, cap = 0;
    exp_row *r = NULL;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "onnx,", 5) == 0)
            continue;
        char *a = strtok(line, ",\n"), *b = strtok(NULL, ",\n"), *c = strtok(NULL, ",\n");
        if (!a || !b || !c)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            r = realloc(r, sizeof *r * (size_t)cap);
        }
        snprintf(r[n].onnx, sizeof r[n].onnx, "%s", a);
        snprintf(r[n].vnnlib, sizeof r[n].vnnlib, "%s", b);
        snprintf(r[n].expected, sizeof r[n].expected, "%s", c);
        n++;
    }
    fclose(f);
    *rows = r;
    return n;
}

static const char *lookup(const exp_row *r, int n, const char *onnx, const char *vnn)
{
    for (int i = 0; i < n; i++)
        if (strcmp(r[i].onnx, onnx) == 0 && strcmp(r[i].vnnlib, vnn) == 0)
            return r[i].expected;
    return "?";
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    if (n == 0)
        return NAN;
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int suite(const char *dir, const char *inst, const char *expf, double tmax, uint64_t seed)
{
    exp_row *ex = NULL;
    int nex = load_expected(expf, &ex);
    if (nex < 0) {
        fprintf(stderr, "bench: cannot read %s\n", expf);
        return 1;
    }
    FILE *f = fopen(inst, "r");
    if (!f) {
        fprintf(stderr, "bench: cannot read %s\n", inst);
        return 1;
    }
    char line[4096], cur_onnx[1024] = "";
    net *n = NULL;
    cn_err err;
    int total = 0, refused = 0, n_sat = 0, sat_found = 0, n_unsat = 0, unsat_reported = 0,
        n_other = 0, other_found = 0, recheck_fail = 0;
    double t_found[4096];
    int n_t_found = 0;
    double t_all = 0;
    printf("# suite %s, per-instance limit min(%g s, instance timeout), seed %llu\n", dir, tmax,
           (unsigned long long)seed);
    printf("# %-44s %-40s %-8s %-8s %8s %8s\n", "onnx", "vnnlib", "expected", "attack", "seconds",
           "restarts");
    while (fgets(line, sizeof line, f)) {
        char *a = strtok(line, ",\n"), *b = strtok(NULL, ",\n"), *c = strtok(NULL, ",\n");
        if (!a || !b)
            continue;
        double tlim = c ? atof(c) : tmax;
        if (tmax > 0 && tmax < tlim)
            tlim = tmax;
        total++;
        const char *expect = lookup(ex, nex, a, b);
        char path[2048];
        if (strcmp(cur_onnx, a) != 0) {
            net_free(n);
            n = NULL;
            snprintf(path, sizeof path, "%s/%s", dir, a);
            snprintf(cur_onnx, sizeof cur_onnx, "%s", a);
            if (net_load(path, &n, &err) != CN_OK) {
                n = NULL;
                printf("  %-44s refused: %s\n", a, err.msg);
            }
        }
        if (!n) {
            refused++;
            printf("  %-44s %-40s %-8s %-8s\n", a, b, expect, "refused");
            continue;
        }
        prop *p = NULL;
        snprintf(path, sizeof path, "%s/%s", dir, b);
        if (prop_parse_vnnlib(path, &p, &err) != CN_OK) {
            printf("  %-44s %-40s %-8s error: %s\n", a, b, expect, err.msg);
            refused++;
            continue;
        }
        atk_opts o;
        atk_opts_init(&o);
        o.time_limit = tlim;
        o.max_restarts = 0;
        o.seed = seed;
        atk_result r;
        atk_result_init(&r);
        double t0 = now();
        if (atk_run(n, p, &o, &r, &err) != CN_OK) {
            printf("  %-44s %-40s %-8s error: %s\n", a, b, expect, err.msg);
            prop_free(p);
            continue;
        }
        double dt = now() - t0;
        t_all += dt;
        if (r.found) {
            /* shadow check, independent of the attack's own */
            prop_check chk;
            prop_check_init(&chk);
            if (prop_check_point(p, n, r.x, &chk, &err) != CN_OK || !chk.violated)
                recheck_fail++;
            prop_check_clear(&chk);
        }
        printf("  %-44s %-40s %-8s %-8s %8.3f %8ld\n", a, b, expect, r.found ? "sat" : "unknown",
               dt, r.restarts);
        fflush(stdout);
        if (strcmp(expect, "sat") == 0) {
            n_sat++;
            if (r.found) {
                sat_found++;
                if (n_t_found < 4096)
                    t_found[n_t_found++] = dt;
            }
        } else if (strcmp(expect, "unsat") == 0) {
            n_unsat++;
            unsat_reported += r.found;
        } else {
            n_other++;
            other_found += r.found;
        }
        atk_result_clear(&r);
        prop_free(p);
    }
    fclose(f);
    net_free(n);
    free(ex);
    double tsum = 0, tmaxf = 0;
    for (int i = 0; i < n_t_found; i++) {
        tsum += t_found[i];
        if (t_found[i] > tmaxf)
            tmaxf = t_found[i];
    }
    double tmed = median(t_found, n_t_found);
    printf("SUMMARY %s: %d instances (%d refused); expected sat: %d, falsified by the attack: %d "
           "(time per falsified instance: mean %.3f s, median %.3f s, max %.3f s); expected "
           "unsat: %d, reported sat: %d; other (unknown): %d, falsified: %d; shadow re-check "
           "failures: %d; total attack time %.1f s\n",
           dir, total, refused, n_sat, sat_found, n_t_found ? tsum / n_t_found : 0.0, tmed, tmaxf,
           n_unsat, unsat_reported, n_other, other_found, recheck_fail, t_all);
    return unsat_reported || recheck_fail ? 2 : 0;
}

static int radius(const char *model, const char *data, int N, const char *eps_text, double tmax,
                  uint64_t seed)
{
    cn_err err;
    net *n = NULL;
    ds_set *d = NULL;
    if (net_load(model, &n, &err) != CN_OK || ds_load(data, NULL, 0, N, &d, &err) != CN_OK) {
        fprintf(stderr, "bench: %s\n", err.msg);
        net_free(n);
        return 1;
    }
    int in = net_in_size(n), out = net_out_size(n);
    mpq_t *x0 = malloc(sizeof(mpq_t) * (size_t)in), eps, lo, hi;
    for (int k = 0; k < in; k++)
        mpq_init(x0[k]);
    mpq_inits(eps, lo, hi, NULL);
    cn_mpq_set_decimal(eps, eps_text, strlen(eps_text));
    mpq_set_ui(hi, 1, 1);
    double *linf = malloc(sizeof(double) * (size_t)d->n), *l2 = malloc(sizeof(double) * (size_t)d->n);
    int n_df = 0, clean_ok = 0, pgd_robust = 0, df_in_eps = 0;
    double t_df = 0, t_pgd = 0;
    printf("# radius: %s on %d samples of %s, eps %s, PGD limit %g s per sample, seed %llu\n",
           model, d->n, data, eps_text, tmax, (unsigned long long)seed);
    printf("# %5s %5s %12s %12s %8s %8s\n", "idx", "label", "df_linf", "df_l2", "clean", "pgd");
    for (int i = 0; i < d->n; i++) {
        ds_input_q(d, i, x0);
        int label = d->labels[i];
        atk_opts o;
        atk_opts_init(&o);
        o.seed = seed;
        o.time_limit = tmax;
        o.max_restarts = 0;
        atk_df_result df;
        atk_df_result_init(&df);
        double t0 = now();
        if (atk_deepfool(n, x0, label, 0.0, 1.0, &o, &df, &err) != CN_OK) {
            fprintf(stderr, "bench: %s\n", err.msg);
            return 1;
        }
        t_df += now() - t0;
        if (df.found) {
            linf[n_df] = df.linf;
            l2[n_df] = df.l2;
            n_df++;
        }
        prop *p = NULL;
        if (prop_eps_ball(in, x0, eps, lo, hi, out, label, &p, &err) != CN_OK) {
            fprintf(stderr, "bench: %s\n", err.msg);
            return 1;
        }
        prop_check c;
        prop_check_init(&c);
        if (prop_check_point(p, n, x0, &c, &err) != CN_OK) {
            fprintf(stderr, "bench: %s\n", err.msg);
            return 1;
        }
        bool clean = !c.violated, robust = false;
        if (clean) {
            clean_ok++;
            atk_result r;
            atk_result_init(&r);
            t0 = now();
            if (atk_run(n, p, &o, &r, &err) != CN_OK) {
                fprintf(stderr, "bench: %s\n", err.msg);
                return 1;
            }
            t_pgd += now() - t0;
            robust = !r.found;
            pgd_robust += robust;
            atk_result_clear(&r);
            if (df.found && df.linf <= mpq_get_d(eps))
                df_in_eps++;
        }
        printf("  %5d %5d %12.6g %12.6g %8s %8s\n", i, label, df.found ? df.linf : INFINITY,
               df.found ? df.l2 : INFINITY, clean ? "ok" : "wrong",
               clean ? (robust ? "robust?" : "broken") : "-");
        fflush(stdout);
        prop_check_clear(&c);
        prop_free(p);
        atk_df_result_clear(&df);
    }
    int total = d->n;
    printf("SUMMARY radius %s: %d samples; clean accuracy %d/%d; DeepFool confirmed points on "
           "%d; median DeepFool L-inf radius %.6g (= %.2f/255), median L2 %.6g; accuracy under "
           "PGD at eps %s: %d/%d = %.1f%% (attack found no counterexample; an upper bound on "
           "robust accuracy); DeepFool L-inf point within eps on %d clean samples; time "
           "DeepFool %.1f s, PGD %.1f s\n",
           model, total, clean_ok, total, n_df, median(linf, n_df), 255.0 * median(linf, n_df),
           median(l2, n_df), eps_text, pgd_robust, total, 100.0 * pgd_robust / total, df_in_eps,
           t_df, t_pgd);
    for (int k = 0; k < in; k++)
        mpq_clear(x0[k]);
    free(x0);
    free(linf);
    free(l2);
    mpq_clears(eps, lo, hi, NULL);
    ds_free(d);
    net_free(n);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 5 && strcmp(argv[1], "suite") == 0)
        return suite(argv[2], argv[3], argv[4], argc > 5 ? atof(argv[5]) : 10.0,
                     argc > 6 ? strtoull(argv[6], NULL, 10) : 1);
    if (argc >= 6 && strcmp(argv[1], "radius") == 0)
        return radius(argv[2], argv[3], atoi(argv[4]), argv[5], argc > 6 ? atof(argv[6]) : 10.0,
                      argc > 7 ? strtoull(argv[7], NULL, 10) : 1);
    fprintf(stderr, "usage: bench_attacks suite DIR INSTANCES.csv EXPECTED.csv [TIMEOUT [SEED]]\n"
                    "       bench_attacks radius MODEL DATA.csv N EPS [TIMEOUT [SEED]]\n");
    return 64;
}

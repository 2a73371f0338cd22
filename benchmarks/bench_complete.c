/* bench_complete.c — runs the complete engine on a VNN-COMP style suite and
 * prints per-instance verdict, time and nodes, the comparison with
 * expected_results*.csv, and a summary; optionally writes a CSV.
 *
 *   bench_complete SUITE_DIR [--instances FILE] [--expected FILE]
 *                  [--timeout-scale S] [--max-timeout T] [--threads N]
 *                  [--filter SUBSTRING] [--lp-tail K] [--opt-bounds B] [--batch N]
 *                  [--csv OUT]
 *
 * Exit status 1 when any verdict contradicts the expected result.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "verifier/verifier.h"

typedef struct {
    char onnx[512], vnnlib[512];
    double timeout;
    char expected[32];
} instance;

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
        s[--n] = '\0';
    return s;
}

/* expected_results: onnx,vnnlib,expected,...  (header line optional) */
static void lookup_expected(const char *path, instance *in)
{
    snprintf(in->expected, sizeof in->expected, "?");
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        char *a = strtok(line, ","), *b = strtok(NULL, ","), *c = strtok(NULL, ",");
        if (!a || !b || !c)
            continue;
        if (strcmp(trim(a), in->onnx) == 0 && strcmp(trim(b), in->vnnlib) == 0) {
            snprintf(in->expected, sizeof in->expected, "%s", trim(c));
            break;
        }
    }
    fclose(f);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_complete SUITE_DIR [--instances FILE] [--expected FILE] "
                        "[--timeout-scale S] [--max-timeout T] [--threads N] [--filter S] [--lp-tail K] "
                        "[--opt-bounds B] [--batch N] [--csv OUT]\n");
        return 64;
    }
    const char *dir = argv[1], *inst_name = "instances.csv", *exp_name = "expected_results.csv";
    const char *filter = NULL, *csv = NULL;
    double scale = 1.0, max_t = 0;
    int threads = 0, alpha_root = 1, branch = 0, lp_tail = -1, opt_bounds = -1, batch = -2;
    double attack = -1;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--instances"))
            inst_name = argv[i + 1];
        else if (!strcmp(argv[i], "--expected"))
            exp_name = argv[i + 1];
        else if (!strcmp(argv[i], "--timeout-scale"))
            scale = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--max-timeout"))
            max_t = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--filter"))
            filter = argv[i + 1];
        else if (!strcmp(argv[i], "--branch"))
            branch = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--alpha-root"))
            alpha_root = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--lp-tail"))
            lp_tail = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--opt-bounds"))
            opt_bounds = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--batch"))
            batch = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--attack"))
            attack = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--csv"))
            csv = argv[i + 1];
        else {
            fprintf(stderr, "bench_complete: unknown option %s\n", argv[i]);
            return 64;
        }
    }
    char path[1024], exp_path[1024];
    snprintf(path, sizeof path, "%s%s%s", inst_name[0] == '/' ? "" : dir,
             inst_name[0] == '/' ? "" : "/", inst_name);
    snprintf(exp_path, sizeof exp_path, "%s%s%s", exp_name[0] == '/' ? "" : dir,
             exp_name[0] == '/' ? "" : "/", exp_name);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "bench_complete: cannot open %s\n", path);
        return 66;
    }
    FILE *out = csv ? fopen(csv, "w") : NULL;
    if (out)
        fprintf(out, "onnx,vnnlib,timeout_s,verdict,expected,correct,seconds,nodes,max_open,found_by\n");
    printf("%-45s %-28s %8s %8s %9s %10s %s\n", "network", "property", "verdict", "expected",
           "time_s", "nodes", "by");
    char line[2048];
    int total = 0, solved = 0, n_sat = 0, n_unsat = 0, n_timeout = 0, n_unknown = 0, wrong = 0;
    double t_solved = 0, t_all = 0, times[1024];
    long nodes_all = 0;
    int nt = 0;
    while (fgets(line, sizeof line, f)) {
        char *a = strtok(line, ","), *b = strtok(NULL, ","), *c = strtok(NULL, ",");
        if (!a || !b || !c)
            continue;
        instance in;
        snprintf(in.onnx, sizeof in.onnx, "%s", trim(a));
        snprintf(in.vnnlib, sizeof in.vnnlib, "%s", trim(b));
        in.timeout = atof(trim(c)) * scale;
        if (max_t > 0 && in.timeout > max_t)
            in.timeout = max_t;
        if (filter && !strstr(in.onnx, filter) && !strstr(in.vnnlib, filter))
            continue;
        lookup_expected(exp_path, &in);
        char mp[1024], pp[1024];
        snprintf(mp, sizeof mp, "%s/%s", dir, in.onnx);
        snprintf(pp, sizeof pp, "%s/%s", dir, in.vnnlib);
        double t0 = now_s();
        cn_err err;
        net *n = NULL;
        prop *p = NULL;
        vfy_result res;
        vfy_result_init(&res);
        const char *verdict = "error";
        if (net_load(mp, &n, &err) != CN_OK || prop_parse_vnnlib(pp, &p, &err) != CN_OK) {
            fprintf(stderr, "bench_complete: %s\n", err.msg);
        } else {
            vfy_opts o;
            vfy_opts_init(&o);
            o.timeout_s = in.timeout;
            o.threads = threads;
            o.input_branch = (vfy_branch)branch;
            o.alpha_root = alpha_root;
            if (lp_tail >= 0)
                o.lp_tail = lp_tail;
            if (opt_bounds >= 0)
                o.opt_bounds = opt_bounds != 0;
            if (batch >= -1)
                o.batch = batch;
            o.attack_s = attack;
            if (vfy_verify(n, p, &o, NULL, &res, &err) == CN_OK)
                verdict = vfy_verdict_name(res.verdict);
            else
                fprintf(stderr, "bench_complete: %s: %s\n", in.vnnlib, err.msg);
        }
        double dt = now_s() - t0;
        bool decided = !strcmp(verdict, "sat") || !strcmp(verdict, "unsat");
        bool bad = decided && (!strcmp(in.expected, "sat") || !strcmp(in.expected, "unsat")) &&
                   strcmp(verdict, in.expected) != 0;
        total++;
        t_all += dt;
        nodes_all += res.nodes;
        if (decided) {
            solved++;
            t_solved += dt;
            if (nt < 1024)
                times[nt++] = dt;
        }
        n_sat += !strcmp(verdict, "sat");
        n_unsat += !strcmp(verdict, "unsat");
        n_timeout += !strcmp(verdict, "timeout");
        n_unknown += !strcmp(verdict, "unknown") || !strcmp(verdict, "error");
        wrong += bad;
        const char *base = strrchr(in.onnx, '/');
        printf("%-45s %-28s %8s %8s %9.3f %10ld %s%s\n", base ? base + 1 : in.onnx, in.vnnlib,
               verdict, in.expected, dt, res.nodes, res.found_by, bad ? "  INCORRECT" : "");
        fflush(stdout);
        if (out)
            fprintf(out, "%s,%s,%g,%s,%s,%d,%.4f,%ld,%ld,%s\n", in.onnx, in.vnnlib, in.timeout,
                    verdict, in.expected, !bad, dt, res.nodes, res.max_open, res.found_by);
        vfy_result_clear(&res);
        prop_free(p);
        net_free(n);
    }
    fclose(f);
    if (out)
        fclose(out);
    qsort(times, (size_t)nt, sizeof times[0], cmp_double);
    printf("\nsummary: %d instances, solved %d (unsat %d, sat %d), timeout %d, unknown %d, "
           "incorrect %d\n",
           total, solved, n_unsat, n_sat, n_timeout, n_unknown, wrong);
    printf("time: %.1f s on solved instances, %.1f s in all; median solved %.3f s; nodes %ld\n",
           t_solved, t_all, nt ? times[nt / 2] : 0.0, nodes_all);
    return wrong ? 1 : 0;
}

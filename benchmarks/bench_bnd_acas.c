/* bench_bnd_acas.c — cost of one bnd_run on ACAS Xu, as the complete engine
 * calls it: small input boxes from input splitting, the property's atoms as
 * query rows, no ReLU splits.
 *
 *   bench_bnd_acas SHARED_DIR [METHOD [CALLS [SEED [WIDTH_INDEX]]]]
 *
 * For a few networks and properties 1..4, draws CALLS random sub-boxes of
 * the property's box for each relative width 1, 1/4, 1/16, 1/64 (every side
 * scaled by the width) and times bnd_run on them (CPU time; each batch of
 * CALLS runs three times and the fastest counts).  Prints, per width, the
 * mean microseconds per call, the mean number of unstable ReLUs, how many
 * atom rows got lb > 0 (refuted) and the sum of the finite lbs (a tightness
 * fingerprint: it must not drop when the code gets faster).  WIDTH_INDEX
 * (0..3) restricts the run to one width, for profiling.
 *
 * Run single-threaded: OPENBLAS_NUM_THREADS=1.  Output goes to stdout; this
 * is a benchmark driver, not library code.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounds/bounds.h"
#include "models/models.h"

/* CPU time of the process: less sensitive than wall time to other load */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* splitmix64, explicit state */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double rng_unif(uint64_t *s) { return (double)(rng_next(s) >> 11) * 0x1p-53; }

static const char *const NETS[] = {"1_1", "1_9", "3_3", "5_7"};
static const int PROPS[] = {1, 2, 3, 4};
static const double WIDTHS[] = {1.0, 0.25, 1.0 / 16, 1.0 / 64};
enum { N_NETS = 4, N_PROPS = 4, N_WIDTHS = 4 };

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s SHARED_DIR [METHOD [CALLS [SEED [WIDTH_INDEX]]]]\n",
                argv[0]);
        return 64;
    }
    const char *shared = argv[1];
    bnd_method method = BND_CROWN;
    if (argc > 2 && !bnd_method_parse(argv[2], &method)) {
        fprintf(stderr, "bench_bnd_acas: unknown method '%s'\n", argv[2]);
        return 64;
    }
    int calls = argc > 3 ? atoi(argv[3]) : 500;
    uint64_t seed = argc > 4 ? strtoull(argv[4], NULL, 10) : 1;
    int only_w = argc > 5 ? atoi(argv[5]) : -1;
    if (calls <= 0)
        calls = 1;

    double t_w[N_WIDTHS] = {0}, unst_w[N_WIDTHS] = {0}, sum_w[N_WIDTHS] = {0};
    long n_w[N_WIDTHS] = {0}, ref_w[N_WIDTHS] = {0}, rows_w[N_WIDTHS] = {0};
    char path[1024];
    cn_err err;
    for (int ni = 0; ni < N_NETS; ni++) {
        snprintf(path, sizeof path,
                 "%s/benchmarks/acasxu/onnx/ACASXU_run2a_%s_batch_2000.onnx", shared, NETS[ni]);
        net *n = NULL;
        if (net_load(path, &n, &err) != CN_OK) {
            fprintf(stderr, "bench_bnd_acas: %s\n", err.msg);
            return 66;
        }
        bnd_ctx *bc = bnd_ctx_new(n, &err);
        if (!bc) {
            fprintf(stderr, "bench_bnd_acas: %s\n", err.msg);
            return 70;
        }
        int nin = net_in_size(n), nout = net_out_size(n);
        for (int pi = 0; pi < N_PROPS; pi++) {
            snprintf(path, sizeof path, "%s/benchmarks/acasxu/vnnlib/prop_%d.vnnlib", shared,
                     PROPS[pi]);
            prop *p = NULL;
            if (prop_parse_vnnlib(path, &p, &err) != CN_OK) {
                fprintf(stderr, "bench_bnd_acas: %s\n", err.msg);
                return 66;
            }
            const prop_case *pc = prop_case_at(p, 0);
            /* rows: every atom sum coef y <= rhs, as coef . y - rhs (> 0 refutes) */
            int m = 0;
            for (int d = 0; d < pc->n_disj; d++)
                m += pc->disj[d].n;
            double *C = calloc((size_t)m * (size_t)nout, sizeof(double));
            double *dd = calloc((size_t)m, sizeof(double));
            double *lb = calloc((size_t)m, sizeof(double));
            int r = 0;
            for (int d = 0; d < pc->n_disj; d++)
                for (int a = 0; a < pc->disj[d].n; a++, r++) {
                    const prop_lin *at = &pc->disj[d].atoms[a];
                    for (int k = 0; k < at->n; k++)
                        C[(size_t)r * (size_t)nout + (size_t)at->var[k]] += mpq_get_d(at->coef[k]);
                    dd[r] = -mpq_get_d(at->rhs);
                }
            for (int wi = 0; wi < N_WIDTHS; wi++) {
                if (only_w >= 0 && wi != only_w)
                    continue;
                uint64_t s = seed * 1000003u + (uint64_t)(ni * 100 + pi * 10 + wi);
                bnd_opts o;
                bnd_opts_init(&o, method);
                double *boxes = malloc(sizeof(double) * 2 * (size_t)nin * (size_t)calls);
                for (int call = 0; call < calls; call++) {
                    double *bl = boxes + 2 * (size_t)nin * (size_t)call, *bh = bl + nin;
                    for (int j = 0; j < nin; j++) {
                        double L = pc->lo_d[j], H = pc->hi_d[j], w = (H - L) * WIDTHS[wi];
                        bl[j] = L + rng_unif(&s) * (H - L - w);
                        bh[j] = bl[j] + w;
                        if (bh[j] > H)
                            bh[j] = H;
                        if (bl[j] > bh[j])
                            bl[j] = bh[j];
                    }
                }
                double t = INFINITY;
                for (int rep = 0; rep < 3; rep++) {
                    double t0 = now();
                    for (int call = 0; call < calls; call++) {
                        double *bl = boxes + 2 * (size_t)nin * (size_t)call, *bh = bl + nin;
                        bnd_region rg = {bl, bh, NULL, NULL, NULL, NULL, NULL};
                        bnd_result res;
                        if (bnd_run(bc, &o, &rg, m, C, dd, lb, &res, &err) != CN_OK) {
                            fprintf(stderr, "bench_bnd_acas: %s\n", err.msg);
                            return 70;
                        }
                        if (rep > 0)
                            continue;
                        unst_w[wi] += res.unstable;
                        for (int q = 0; q < m; q++) {
                            if (lb[q] > 0)
                                ref_w[wi]++;
                            if (isfinite(lb[q]))
                                sum_w[wi] += lb[q];
                        }
                        rows_w[wi] += m;
                    }
                    double t1 = now() - t0;
                    if (t1 < t)
                        t = t1;
                }
                free(boxes);
                t_w[wi] += t;
                n_w[wi] += calls;
            }
            free(C);
            free(dd);
            free(lb);
            prop_free(p);
        }
        bnd_ctx_free(bc);
        net_free(n);
    }
    printf("method %s, %d calls per (net, prop, width), nets", bnd_method_name(method), calls);
    for (int ni = 0; ni < N_NETS; ni++)
        printf(" %s", NETS[ni]);
    printf(", props 1-4\n");
    printf("%-8s %10s %10s %14s %16s\n", "width", "us/call", "unstable", "refuted rows",
           "sum lb");
    for (int wi = 0; wi < N_WIDTHS; wi++)
        if (n_w[wi] > 0)
            printf("1/%-6g %10.1f %10.2f %7ld/%-6ld %16.6g\n", 1.0 / WIDTHS[wi],
               1e6 * t_w[wi] / (double)n_w[wi], unst_w[wi] / (double)n_w[wi], ref_w[wi],
               rows_w[wi], sum_w[wi]);
    return 0;
}

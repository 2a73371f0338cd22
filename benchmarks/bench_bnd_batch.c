/* bench_bnd_batch.c — bnd_run per region against bnd_run_batch on the same
 * regions, for ReLU splitting on an MNIST network (CROWN).
 *
 *   bench_bnd_batch MODEL VNNLIB [ROUNDS [SEED]]
 *
 * Regions: the property's box with the splits of a random branch-and-bound
 * node (depth 6: random unstable neurons, random phases).  Two kinds of
 * batch of B regions (B = 1, 8, 32, 128):
 *   siblings  the children of one node, each with one more split (what
 *             the engine's branching trials bound: same box, one split apart);
 *   distinct  regions of B independent random nodes (stacking only).
 * Prints per kind and B the CPU microseconds per region of bnd_run and of
 * bnd_run_batch (the fastest of ROUNDS), and the largest relative
 * difference between the two lower bounds over all rows (equal bound
 * quality: it must stay at the rounding level).
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

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Adds `depth` random splits of neurons unstable under the bounds of
 * region (lo, hi, split) to split. */
static int deepen(bnd_ctx *bc, const net *n, const double *lo, const double *hi,
                  signed char *split, int depth, uint64_t *s, cn_err *err)
{
    bnd_opts o;
    bnd_opts_init(&o, BND_CROWN);
    int nr = net_n_relus(n);
    int *un = malloc(sizeof(int) * (size_t)(nr + 1));
    for (int k = 0; k < depth; k++) {
        bnd_region rg = {lo, hi, split, NULL, NULL, NULL, NULL};
        bnd_result res;
        if (bnd_run(bc, &o, &rg, 0, NULL, NULL, NULL, &res, err) != CN_OK)
            return -1;
        if (res.infeasible)
            break;
        int nu = 0, off = 0;
        for (int i = 0; i < net_n_layers(n); i++) {
            const net_layer *l = net_layer_at(n, i);
            if (l->op != NET_RELU)
                continue;
            const double *L, *H;
            bnd_layer_bounds(bc, i, &L, &H);
            for (int j = 0; j < l->in; j++)
                if (!split[off + j] && L[j] < 0 && H[j] > 0)
                    un[nu++] = off + j;
            off += l->in;
        }
        if (nu == 0)
            break;
        int j = un[rng_next(s) % (uint64_t)nu];
        split[j] = (rng_next(s) & 1) ? 1 : -1;
    }
    free(un);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL VNNLIB [ROUNDS [SEED]]\n", argv[0]);
        return 64;
    }
    int rounds = argc > 3 ? atoi(argv[3]) : 3;
    uint64_t seed = argc > 4 ? strtoull(argv[4], NULL, 10) : 1;
    if (rounds <= 0)
        rounds = 1;
    cn_err err;
    net *n = NULL;
    prop *p = NULL;
    if (net_load(argv[1], &n, &err) != CN_OK || prop_parse_vnnlib(argv[2], &p, &err) != CN_OK) {
        fprintf(stderr, "bench_bnd_batch: %s\n", err.msg);
        return 66;
    }
    bnd_ctx *bc = bnd_ctx_new(n, &err);
    if (!bc) {
        fprintf(stderr, "bench_bnd_batch: %s\n", err.msg);
        return 70;
    }
    const prop_case *pc = prop_case_at(p, 0);
    int nout = net_out_size(n), nr = net_n_relus(n);
    int m = 0;
    for (int d = 0; d < pc->n_disj; d++)
        m += pc->disj[d].n;
    double *C = calloc((size_t)m * (size_t)nout, sizeof(double));
    double *dd = calloc((size_t)m, sizeof(double));
    for (int d = 0, r = 0; d < pc->n_disj; d++)
        for (int a = 0; a < pc->disj[d].n; a++, r++) {
            const prop_lin *at = &pc->disj[d].atoms[a];
            for (int k = 0; k < at->n; k++)
                C[(size_t)r * (size_t)nout + (size_t)at->var[k]] += mpq_get_d(at->coef[k]);
            dd[r] = -mpq_get_d(at->rhs);
        }
    enum { MAXB = 128 };
    static const int BS[] = {1, 8, 32, 128};
    signed char *sp = calloc((size_t)MAXB * (size_t)nr, 1);
    bnd_region *rg = calloc(MAXB, sizeof *rg);
    bnd_result *res = calloc(MAXB, sizeof *res);
    double *lb1 = calloc((size_t)MAXB * (size_t)m, sizeof(double));
    double *lb2 = calloc((size_t)MAXB * (size_t)m, sizeof(double));
    bnd_opts o;
    bnd_opts_init(&o, BND_CROWN);
    uint64_t s = seed;
    printf("%s, %s: %d query rows, CROWN, CPU us per region (fastest of %d)\n", argv[1], argv[2],
           m, rounds);
    printf("%-9s %5s %12s %12s %8s %12s\n", "kind", "B", "bnd_run", "batch", "speedup",
           "max rel diff");
    for (int kind = 0; kind < 2; kind++)
        for (int bi = 0; bi < 4; bi++) {
            int B = BS[bi];
            memset(sp, 0, (size_t)MAXB * (size_t)nr);
            if (kind == 0) { /* siblings: one node, one more split each */
                if (deepen(bc, n, pc->lo_d, pc->hi_d, sp, 6, &s, &err) < 0)
                    goto fail;
                for (int b = 1; b < B; b++)
                    memcpy(sp + (size_t)b * nr, sp, (size_t)nr);
                for (int b = 0; b < B; b++)
                    if (deepen(bc, n, pc->lo_d, pc->hi_d, sp + (size_t)b * nr, 1, &s, &err) < 0)
                        goto fail;
            } else {
                for (int b = 0; b < B; b++)
                    if (deepen(bc, n, pc->lo_d, pc->hi_d, sp + (size_t)b * nr, 7, &s, &err) < 0)
                        goto fail;
            }
            for (int b = 0; b < B; b++)
                rg[b] = (bnd_region){pc->lo_d, pc->hi_d, sp + (size_t)b * nr, NULL, NULL, NULL,
                                     NULL};
            double t1 = INFINITY, t2 = INFINITY;
            for (int rd = 0; rd < rounds; rd++) {
                double t0 = now();
                for (int b = 0; b < B; b++)
                    if (bnd_run(bc, &o, &rg[b], m, C, dd, lb1 + (size_t)b * m, &res[b], &err) !=
                        CN_OK)
                        goto fail;
                double ta = now() - t0;
                t0 = now();
                if (bnd_run_batch(bc, &o, B, rg, m, C, dd, lb2, res, &err) != CN_OK)
                    goto fail;
                double tb = now() - t0;
                t1 = ta < t1 ? ta : t1;
                t2 = tb < t2 ? tb : t2;
            }
            double md = 0.0;
            for (int k = 0; k < B * m; k++) {
                if (lb1[k] == lb2[k])
                    continue;
                double dlt = fabs(lb1[k] - lb2[k]) / (1.0 + fabs(lb1[k]));
                if (!(dlt <= md))
                    md = dlt;
            }
            printf("%-9s %5d %12.1f %12.1f %8.2f %12.3g\n", kind ? "distinct" : "siblings", B,
                   1e6 * t1 / B, 1e6 * t2 / B, t1 / t2, md);
        }
    bnd_ctx_free(bc);
    net_free(n);
    prop_free(p);
    free(C);
    free(dd);
    free(sp);
    free(rg);
    free(res);
    free(lb1);
    free(lb2);
    return 0;
fail:
    fprintf(stderr, "bench_bnd_batch: %s\n", err.msg);
    return 70;
}

/* bench_lp_refine.c — does LP refinement of the first hidden layers' bounds
 * pay on a network like mnist_fc 256x2?  (issue: "tighter intermediate
 * bounds where it pays")
 *
 *   bench_lp_refine MODEL.onnx PROP.vnnlib [LAYERS]
 *
 * For the property's first case, over its root box:
 *   1. the engine's root bounds: alpha-CROWN with optimised intermediate
 *      bounds (bnd_run_tight, slopes on the certificate's grid), and the
 *      atoms' lower bounds;
 *   2. for each of the first LAYERS (default 1) ReLU layers after the first,
 *      every unstable neuron's pre-activation minimised and maximised by
 *      GLPK over the triangle relaxation of the network cut at that layer
 *      (lp_lower_bound: rigorous from the duals), with the bounds of step 1
 *      (and the LP's own ones for the layers below) for the ReLUs below;
 *   3. the atoms bounded again (alpha-CROWN, final rows) once with the
 *      bounds of step 1 and once with the LP's.
 * Prints per layer the unstable neurons before and after, the mean width
 * gained, the LP time, and the smallest atom margin both ways.  A driver,
 * not library code: it prints.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounds/bounds.h"
#include "lp/lp.h"
#include "models/models.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void no_claim(void *user, int i, int j, int sgn, double lb, const unsigned char *q)
{
    (void)user;
    (void)i;
    (void)j;
    (void)sgn;
    (void)lb;
    (void)q;
}

/* The network's layers 0 .. upto-1 as a network of its own (its output
 * z_upto, the input of ReLU layer `upto`). */
static net *cut(const net *n, int upto, cn_err *err)
{
    net_shape sh = {net_in_size(n), 1, 1};
    net *t = net_new(sh);
    for (int i = 0; t && i < upto; i++) {
        const net_layer *l = net_layer_at(n, i);
        net_layer *m = NULL;
        if (l->op == NET_RELU) {
            m = net_add_relu(t, err);
        } else if (l->op == NET_DENSE) {
            m = net_add_dense(t, l->out, err);
            if (m) {
                memcpy(m->W, l->W, sizeof(double) * (size_t)l->out * (size_t)l->in);
                memcpy(m->b, l->b, sizeof(double) * (size_t)l->out);
            }
        } else {
            fprintf(stderr, "bench_lp_refine: layer %d is neither dense nor ReLU\n", i);
        }
        if (!m) {
            net_free(t);
            return NULL;
        }
    }
    return t;
}

/* The atoms of the first case as rows (a . y - rhs, rhs rounded up so the
 * row's bound is a bound of the atom's margin within rounding; a benchmark
 * figure, not a proof). */
static int atom_rows(const prop_case *pc, int n_out, double **C, double **d)
{
    int m = 0;
    for (int k = 0; k < pc->n_disj; k++)
        m += pc->disj[k].n;
    *C = calloc((size_t)m * (size_t)n_out, sizeof(double));
    *d = calloc((size_t)m, sizeof(double));
    int r = 0;
    for (int k = 0; k < pc->n_disj; k++)
        for (int a = 0; a < pc->disj[k].n; a++, r++) {
            const prop_lin *at = &pc->disj[k].atoms[a];
            for (int t = 0; t < at->n; t++)
                (*C)[(size_t)r * (size_t)n_out + at->var[t]] = mpq_get_d(at->coef[t]);
            (*d)[r] = -mpq_get_d(at->rhs);
        }
    return m;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL.onnx PROP.vnnlib [LAYERS]\n", argv[0]);
        return 64;
    }
    int layers = argc > 3 ? atoi(argv[3]) : 1;
    cn_err err;
    net *n = NULL;
    prop *p = NULL;
    if (net_load(argv[1], &n, &err) != CN_OK || prop_parse_vnnlib(argv[2], &p, &err) != CN_OK) {
        fprintf(stderr, "bench_lp_refine: %s\n", err.msg);
        return 65;
    }
    const prop_case *pc = prop_case_at(p, 0);
    int nl = net_n_layers(n), no = net_out_size(n);
    double *C, *d;
    int m = atom_rows(pc, no, &C, &d);
    double *lb = malloc(sizeof(double) * (size_t)m), *lb2 = malloc(sizeof(double) * (size_t)m);
    bnd_ctx *bc = bnd_ctx_new(n, &err);
    bnd_opts o;
    bnd_opts_init(&o, BND_ALPHA);
    bnd_region rg = {.lo = pc->lo_d, .hi = pc->hi_d};
    double t0 = now();
    if (!bc || bnd_run_tight(bc, &o, &rg, m, C, d, lb, NULL, no_claim, NULL, &err) != CN_OK) {
        fprintf(stderr, "bench_lp_refine: %s\n", err.msg);
        return 70;
    }
    printf("root alpha-CROWN with optimised intermediate bounds: %.2f s\n", now() - t0);
    /* the bounds of every ReLU layer's input, as the engine keeps them */
    double **lo = calloc((size_t)nl, sizeof(double *)), **hi = calloc((size_t)nl, sizeof(double *));
    for (int i = 0; i < nl; i++) {
        if (net_layer_at(n, i)->op != NET_RELU)
            continue;
        int w = net_layer_at(n, i)->in;
        const double *l, *u;
        bnd_layer_bounds(bc, i, &l, &u);
        lo[i] = malloc(sizeof(double) * (size_t)w);
        hi[i] = malloc(sizeof(double) * (size_t)w);
        memcpy(lo[i], l, sizeof(double) * (size_t)w);
        memcpy(hi[i], u, sizeof(double) * (size_t)w);
    }
    double worst = INFINITY;
    for (int r = 0; r < m; r++)
        worst = fmin(worst, lb[r]);
    printf("atoms: %d, smallest margin lower bound %.6f\n", m, worst);
    double **lo0 = calloc((size_t)nl, sizeof(double *)), **hi0 = calloc((size_t)nl, sizeof(double *));
    for (int i = 0; i < nl; i++) {
        if (!lo[i])
            continue;
        int w = net_layer_at(n, i)->in;
        lo0[i] = malloc(sizeof(double) * (size_t)w);
        hi0[i] = malloc(sizeof(double) * (size_t)w);
        memcpy(lo0[i], lo[i], sizeof(double) * (size_t)w);
        memcpy(hi0[i], hi[i], sizeof(double) * (size_t)w);
    }
    /* LP refinement of the ReLU layers after the first */
    int done = 0;
    for (int i = 1; i < nl && done < layers; i++) {
        if (net_layer_at(n, i)->op != NET_RELU)
            continue;
        if (lo[i] == NULL || i < 2 || !lo[i - 2]) {
            continue; /* the first ReLU layer's bounds are exact over a box */
        }
        done++;
        net *t = cut(n, i, &err);
        lp_ctx *lc = t ? lp_ctx_new(t, &err) : NULL;
        if (!lc) {
            fprintf(stderr, "bench_lp_refine: %s\n", err.msg);
            return 70;
        }
        int w = net_layer_at(n, i)->in, unst0 = 0, unst1 = 0, lps = 0;
        double gain = 0, t1 = now();
        lp_region lr = {pc->lo_d, pc->hi_d, (const double *const *)lo, (const double *const *)hi,
                        NULL, 0, NULL};
        lp_opts lo_opts;
        lp_opts_init(&lo_opts);
        double *cy = calloc((size_t)w, sizeof(double));
        for (int j = 0; j < w; j++) {
            if (!(lo[i][j] < 0 && hi[i][j] > 0))
                continue;
            unst0++;
            double before = hi[i][j] - lo[i][j];
            for (int s = 1; s >= -1; s -= 2) {
                lp_outcome out;
                double v;
                cy[j] = s;
                if (lp_lower_bound(lc, &lr, &lo_opts, cy, 0.0, &out, &v, NULL, &err) != CN_OK) {
                    fprintf(stderr, "bench_lp_refine: %s\n", err.msg);
                    return 70;
                }
                cy[j] = 0;
                lps++;
                if (out != LP_BOUND)
                    continue;
                if (s > 0 && v > lo[i][j])
                    lo[i][j] = v;
                if (s < 0 && -v < hi[i][j])
                    hi[i][j] = -v;
            }
            gain += before - (hi[i][j] - lo[i][j]);
            unst1 += lo[i][j] < 0 && hi[i][j] > 0;
        }
        printf("ReLU layer %d: %d unstable before, %d after %d LPs (%.2f s); mean width gained "
               "%.4f per unstable neuron\n",
               i, unst0, unst1, lps, now() - t1, unst0 ? gain / unst0 : 0.0);
        free(cy);
        lp_ctx_free(lc);
        net_free(t);
    }
    /* the atoms again with each set of bounds (alpha-CROWN, final rows) */
    bnd_opts of;
    bnd_opts_init(&of, BND_ALPHA);
    of.alpha_intermediate = false;
    bnd_region r1 = {.lo = pc->lo_d, .hi = pc->hi_d, .ref_lo = (const double *const *)lo0,
                     .ref_hi = (const double *const *)hi0};
    bnd_region r2 = {.lo = pc->lo_d, .hi = pc->hi_d, .ref_lo = (const double *const *)lo,
                     .ref_hi = (const double *const *)hi};
    if (bnd_run(bc, &of, &r1, m, C, d, lb, NULL, &err) != CN_OK ||
        bnd_run(bc, &of, &r2, m, C, d, lb2, NULL, &err) != CN_OK) {
        fprintf(stderr, "bench_lp_refine: %s\n", err.msg);
        return 70;
    }
    double worst2 = INFINITY;
    int ref0 = 0, ref1 = 0;
    worst = INFINITY;
    for (int r = 0; r < m; r++) {
        worst = fmin(worst, lb[r]);
        worst2 = fmin(worst2, lb2[r]);
        ref0 += lb[r] > 0;
        ref1 += lb2[r] > 0;
    }
    printf("atoms refuted: %d with the alpha bounds, %d with the LP-refined ones; smallest "
           "margin %.6f -> %.6f\n",
           ref0, ref1, worst, worst2);
    for (int i = 0; i < nl; i++) {
        free(lo[i]);
        free(hi[i]);
        free(lo0[i]);
        free(hi0[i]);
    }
    free(lo);
    free(hi);
    free(lo0);
    free(hi0);
    free(C);
    free(d);
    free(lb);
    free(lb2);
    bnd_ctx_free(bc);
    prop_free(p);
    net_free(n);
    return 0;
}

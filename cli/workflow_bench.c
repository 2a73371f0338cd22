/* workflow_bench.c — suite runs shared by `certnn bench` (cmd_bench.c) and
 * `certnn-mpi bench` (mpi_suite.c): loading a suite with its expected
 * results, deciding one instance, counting verdicts and the closing summary
 * (see workflow.h). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/workflow.h"

char *wf_path_join(const char *dir, const char *rel)
{
    bool abs = rel[0] == '/';
    size_t n = strlen(dir) + strlen(rel) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s%s%s", abs ? "" : dir, abs ? "" : "/", rel);
    return s;
}

cn_status wf_suite_open(const char *dir, const char *instances, const char *expected,
                        double scale, double cap, wf_suite *out, char **epath_out, cn_err *err)
{
    wf_suite s = {0, NULL};
    char *ipath = wf_path_join(dir, instances), *epath = NULL;
    cn_status st = CN_OK;
    if (!ipath) {
        st = cn_fail(err, CN_ENOMEM, "out of memory");
        goto fail;
    }
    st = wf_suite_load(ipath, &s, err);
    if (st != CN_OK)
        goto fail;
    if (expected) {
        epath = wf_path_join(dir, expected);
    } else {
        char name[512];
        wf_expected_name(instances, name, sizeof name);
        epath = wf_path_join(dir, name);
        if (epath && access(epath, R_OK) != 0) {
            free(epath);
            epath = NULL;
            goto scale;
        }
    }
    if (!epath) {
        st = cn_fail(err, CN_ENOMEM, "out of memory");
        goto fail;
    }
    st = wf_suite_expected(&s, epath, err);
    if (st != CN_OK)
        goto fail;
scale:
    for (int i = 0; i < s.n; i++) {
        s.v[i].timeout *= scale;
        if (cap > 0 && s.v[i].timeout > cap)
            s.v[i].timeout = cap;
    }
    free(ipath);
    *out = s;
    *epath_out = epath;
    return CN_OK;
fail:
    wf_suite_free(&s);
    free(ipath);
    free(epath);
    return st;
}

void wf_net_cache_clear(wf_net_cache *c)
{
    net_free(c->n);
    free(c->path);
    c->n = NULL;
    c->path = NULL;
}

cn_status wf_bench_instance(const char *dir, const wf_instance *in, const vfy_opts *base,
                            volatile sig_atomic_t *stop, wf_net_cache *cache,
                            const char **verdict, long *nodes, cn_err *err)
{
    char *mp = wf_path_join(dir, in->onnx), *pp = wf_path_join(dir, in->vnnlib);
    prop *p = NULL;
    cn_status st = CN_OK;
    if (!mp || !pp) {
        st = cn_fail(err, CN_ENOMEM, "out of memory");
        goto done;
    }
    if (!cache->n || strcmp(cache->path, mp) != 0) {
        wf_net_cache_clear(cache);
        st = net_load(mp, &cache->n, err);
        if (st != CN_OK)
            goto done;
        cache->path = mp;
        mp = NULL;
    }
    st = prop_parse_vnnlib(pp, &p, err);
    if (st != CN_OK)
        goto done;
    const net *n = cache->n;
    if (prop_n_in(p) != net_in_size(n) || prop_n_out(p) != net_out_size(n)) {
        st = cn_fail(err, CN_EINVAL, "%s: %d inputs and %d outputs; %s has %d and %d", pp,
                     prop_n_in(p), prop_n_out(p), cache->path, net_in_size(n), net_out_size(n));
        goto done;
    }
    vfy_opts o = *base;
    o.timeout_s = in->timeout;
    vfy_result r;
    vfy_result_init(&r);
    st = vfy_verify(n, p, &o, stop, &r, err);
    if (st == CN_OK) {
        *verdict = vfy_verdict_name(r.verdict);
        *nodes = r.nodes;
    }
    vfy_result_clear(&r);
done:
    prop_free(p);
    free(mp);
    free(pp);
    return st;
}

bool wf_tally_add(wf_tally *t, const wf_instance *in, const char *v, double dt)
{
    bool bad = false;
    t->score += wf_score(v, in->expected, &bad);
    t->incorrect += bad;
    bool solved = !strcmp(v, "sat") || !strcmp(v, "unsat");
    t->n_sat += !strcmp(v, "sat");
    t->n_unsat += !strcmp(v, "unsat");
    t->n_timeout += !strcmp(v, "timeout");
    t->n_unknown += !strcmp(v, "unknown");
    t->n_error += !strcmp(v, "error");
    t->t_all += dt;
    if (solved) {
        t->t_solved += dt;
        if (!bad && isfinite(in->fastest_s) && dt <= in->fastest_s)
            t->faster++;
    } else if (!strcmp(in->expected, "sat") || !strcmp(in->expected, "unsat")) {
        t->expected_missed++;
    }
    return bad;
}

void wf_bench_header(wf_buf *b)
{
    wf_buf_printf(b, "%-40s %-28s %-8s %-8s %9s %10s\n", "onnx", "vnnlib", "verdict", "expected",
                  "time_s", "nodes");
}

void wf_bench_row(wf_buf *b, const wf_instance *in, const char *v, double dt, long nodes,
                  bool bad)
{
    wf_buf_printf(b, "%-40s %-28s %-8s %-8s %9.3f %10ld%s\n", in->onnx, in->vnnlib, v,
                  in->expected[0] ? in->expected : "-", dt, nodes, bad ? "  INCORRECT" : "");
}

int wf_bench_summary(const wf_tally *t, int run, int total, const char *epath,
                     const wf_results *base, const char *base_path, const wf_results *res,
                     wf_buf *b)
{
    wf_buf_printf(b,
                  "%d of %d instances: solved %d (sat %d, unsat %d), timeout %d, unknown %d, "
                  "error %d, incorrect %d\n",
                  run, total, t->n_sat + t->n_unsat, t->n_sat, t->n_unsat, t->n_timeout,
                  t->n_unknown, t->n_error, t->incorrect);
    wf_buf_printf(b,
                  "score %d (VNN-COMP 2021: +10 per sat/unsat not contradicting the expected "
                  "result, -100 per incorrect; no relative time bonus)\n",
                  t->score);
    wf_buf_printf(b, "time %.1f s in all, %.1f s on solved instances\n", t->t_all, t->t_solved);
    if (epath)
        wf_buf_printf(b,
                      "expected results %s: incorrect %d, expected sat/unsat not solved %d, "
                      "solved within the fastest trusted tool's time %d\n",
                      epath, t->incorrect, t->expected_missed, t->faster);
    else
        wf_buf_printf(b, "no expected results file: verdicts not checked\n");
    if (!base)
        return 0;
    int imp = 0, reg = wf_baseline_compare(base, res, b, &imp);
    wf_buf_printf(b, "baseline %s: %d regressions, %d improvements\n", base_path, reg, imp);
    return reg;
}

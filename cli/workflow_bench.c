/* workflow_bench.c — suite runs shared by `certnn bench` (cmd_bench.c) and
 * `certnn-mpi bench` (mpi_suite.c): loading a suite with its expected
 * results, deciding one instance, counting verdicts, and the closing summary
 * as text, JSON and JUnit XML (see workflow.h). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
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
                            const char **verdict, long *nodes, char reason[], wf_timing *timing,
                            cn_err *err)
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
        snprintf(reason, WF_REASON_MAX, "%s", r.verdict == VFY_UNKNOWN ? r.reason : "");
        *timing = (wf_timing){true, r.phases, r.nodes_per_s};
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

/* The suite's instance of a result row ("" expected when the row is not in it). */
static const wf_instance *instance_of(const wf_suite *s, const wf_row *w)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->v[i].onnx, w->onnx) && !strcmp(s->v[i].vnnlib, w->vnnlib))
            return &s->v[i];
    return NULL;
}

static const char *expected_of(const wf_bench_run *r, const wf_row *w)
{
    const wf_instance *in = instance_of(r->s, w);
    return in ? in->expected : "";
}

void wf_bench_header(wf_buf *b)
{
    wf_buf_printf(b, "%-40s %-28s %-8s %-8s %9s %10s %11s %8s %8s %8s %8s %8s %9s\n", "onnx",
                  "vnnlib", "verdict", "expected", "time_s", "nodes", "done", "attack_s",
                  "bounds_s", "optim_s", "lp_s", "branch_s", "nodes/s");
}

/* The timing columns of a table row ("-" each when not known). */
static void timing_cells(wf_buf *b, const wf_timing *t)
{
    if (!t->known) {
        wf_buf_printf(b, " %8s %8s %8s %8s %8s %9s", "-", "-", "-", "-", "-", "-");
        return;
    }
    const vfy_phase_times *p = &t->phases;
    wf_buf_printf(b, " %8.2f %8.2f %8.2f %8.2f %8.2f %9.1f", p->attack_s, p->bounds_s,
                  p->optimise_s, p->lp_s, p->branch_s, t->nodes_per_s);
}

void wf_bench_row(wf_buf *b, const wf_bench_run *r, int done, int total, const wf_row *w)
{
    const char *e = expected_of(r, w);
    wf_check k;
    wf_bench_check(w, e, &r->bl, &k);
    char cnt[32];
    snprintf(cnt, sizeof cnt, "%d/%d", done, total);
    wf_buf_printf(b, "%-40s %-28s %-8s %-8s %9.3f %10ld %11s", w->onnx, w->vnnlib, w->verdict,
                  e[0] ? e : "-", w->time_s, w->nodes, cnt);
    timing_cells(b, &w->timing);
    if (!strcmp(w->verdict, "error"))
        wf_buf_printf(b, "  ERROR");
    if (k.incorrect)
        wf_buf_printf(b, "  INCORRECT");
    if (k.regressed)
        wf_buf_printf(b, "  REGRESSION (%s in the baseline)", k.base->verdict);
    if (k.slower)
        wf_buf_printf(b, "  SLOWER (limit %.3f s)", k.limit_s);
    wf_buf_put(b, "\n", 1);
}

void wf_bench_summary(const wf_bench_run *r, const wf_tally *t, const wf_results *res,
                      wf_buf *b, wf_base_counts *bc)
{
    memset(bc, 0, sizeof *bc);
    wf_buf_printf(b,
                  "%d of %d instances: solved %d (sat %d, unsat %d), timeout %d, unknown %d, "
                  "error %d, incorrect %d\n",
                  res->n, r->s->n, t->n_sat + t->n_unsat, t->n_sat, t->n_unsat, t->n_timeout,
                  t->n_unknown, t->n_error, t->incorrect);
    wf_buf_printf(b,
                  "score %d (VNN-COMP 2021: +10 per sat/unsat not contradicting the expected "
                  "result, -100 per incorrect; no relative time bonus)\n",
                  t->score);
    wf_buf_printf(b, "time %.1f s in all, %.1f s on solved instances\n", t->t_all, t->t_solved);
    if (r->epath)
        wf_buf_printf(b,
                      "expected results %s: incorrect %d, expected sat/unsat not solved %d, "
                      "solved within the fastest trusted tool's time %d\n",
                      r->epath, t->incorrect, t->expected_missed, t->faster);
    else
        wf_buf_printf(b, "no expected results file: verdicts not checked\n");
    for (int i = 0; i < res->n; i++) {
        const wf_row *w = &res->v[i];
        if (strcmp(w->verdict, "error") != 0)
            continue;
        wf_buf_printf(b, "error: %s %s: %s\n", w->onnx, w->vnnlib,
                      w->reason ? w->reason : "(no reason recorded)");
    }
    if (!r->bl.base)
        return;
    for (int i = 0; i < res->n; i++) {
        const wf_row *w = &res->v[i];
        wf_check k;
        wf_bench_check(w, "", &r->bl, &k);
        if (k.regressed) {
            bc->regressions++;
            wf_buf_printf(b, "regression: %s %s: %s in the baseline, now %s\n", w->onnx,
                          w->vnnlib, k.base->verdict, w->verdict);
        } else if (k.improved) {
            bc->improved++;
            wf_buf_printf(b, "improvement: %s %s: %s in the baseline, now %s\n", w->onnx,
                          w->vnnlib, k.base->verdict, w->verdict);
        } else if (k.slower) {
            bc->slower++;
            wf_buf_printf(b,
                          "slower: %s %s: %s in %.3f s, %.3f s in the baseline (limit %g x "
                          "%.3f + %g = %.3f s)\n",
                          w->onnx, w->vnnlib, w->verdict, w->time_s, k.base->time_s,
                          r->bl.max_slowdown, k.base->time_s, r->bl.floor_s, k.limit_s);
        }
    }
    wf_buf_printf(b, "baseline %s: %d regressions, %d improvements", r->bl.path, bc->regressions,
                  bc->improved);
    if (r->bl.max_slowdown > 0)
        wf_buf_printf(b, ", %d slower than %g x the baseline time + %g s", bc->slower,
                      r->bl.max_slowdown, r->bl.floor_s);
    wf_buf_put(b, "\n", 1);
}

/* ---- JSON ------------------------------------------------------------------------------------ */

static json_t *str_or_null(const char *s) { return s && *s ? json_string(s) : json_null(); }

json_t *wf_bench_json(const wf_bench_run *r, const wf_tally *t, const wf_results *res,
                      bool interrupted)
{
    json_t *rows = json_array();
    wf_base_counts bc = {0, 0, 0};
    for (int i = 0; rows && i < res->n; i++) {
        const wf_row *w = &res->v[i];
        const char *e = expected_of(r, w);
        wf_check k;
        wf_bench_check(w, e, &r->bl, &k);
        bc.regressions += k.regressed;
        bc.improved += k.improved && !k.regressed;
        bc.slower += k.slower && !k.regressed && !k.improved;
        const char *reg = k.regressed ? "verdict" : k.slower ? "time" : NULL;
        const wf_timing *tm = &w->timing;
        json_t *o = json_pack(
            "{s:s, s:s, s:s, s:o, s:f, s:I, s:o, s:b, s:o, s:o, s:o, s:o, s:o}", "onnx", w->onnx,
            "vnnlib", w->vnnlib, "verdict", w->verdict, "expected", str_or_null(e), "time_s",
            w->time_s, "nodes", (json_int_t)w->nodes, "reason", str_or_null(w->reason),
            "incorrect", k.incorrect, "regression", str_or_null(reg), "baseline_verdict",
            str_or_null(k.base ? k.base->verdict : NULL), "baseline_time_s",
            k.base ? json_real(k.base->time_s) : json_null(), "phases",
            tm->known ? cli_json_phases(&tm->phases) : json_null(), "nodes_per_second",
            tm->known ? json_real(tm->nodes_per_s) : json_null());
        if (!o || json_array_append_new(rows, o) != 0) {
            json_decref(rows);
            return NULL;
        }
    }
    if (!rows)
        return NULL;
    json_t *counts = json_pack(
        "{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:o, s:o, s:o}", "instances",
        r->s->n, "run", res->n, "solved", t->n_sat + t->n_unsat, "sat", t->n_sat, "unsat",
        t->n_unsat, "timeout", t->n_timeout, "unknown", t->n_unknown, "error", t->n_error,
        "incorrect", t->incorrect, "expected_missed", t->expected_missed, "within_fastest",
        t->faster, "regressions", r->bl.base ? json_integer(bc.regressions) : json_null(),
        "slower", r->bl.base && r->bl.max_slowdown > 0 ? json_integer(bc.slower) : json_null(),
        "improvements", r->bl.base ? json_integer(bc.improved) : json_null());
    if (!counts) {
        json_decref(rows);
        return NULL;
    }
    return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:b, s:o, s:i, s:f, s:f, s:o}", "suite",
                     r->dir, "instances", r->instances, "expected_results", str_or_null(r->epath),
                     "baseline", str_or_null(r->bl.base ? r->bl.path : NULL), "max_slowdown",
                     r->bl.base && r->bl.max_slowdown > 0 ? json_real(r->bl.max_slowdown)
                                                          : json_null(),
                     "slowdown_floor_s",
                     r->bl.base && r->bl.max_slowdown > 0 ? json_real(r->bl.floor_s)
                                                          : json_null(),
                     "interrupted", interrupted, "counts", counts, "score", t->score, "time_s",
                     t->t_all, "time_solved_s", t->t_solved, "results", rows);
}

/* ---- JUnit XML ------------------------------------------------------------------------------- */

void wf_buf_xml(wf_buf *b, const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        switch (*c) {
        case '&': wf_buf_put(b, "&amp;", 5); break;
        case '<': wf_buf_put(b, "&lt;", 4); break;
        case '>': wf_buf_put(b, "&gt;", 4); break;
        case '"': wf_buf_put(b, "&quot;", 6); break;
        case '\'': wf_buf_put(b, "&apos;", 6); break;
        case '\t': case '\n': case '\r': wf_buf_printf(b, "&#%d;", *c); break;
        default:
            if (*c < 0x20 || *c == 0x7f)
                wf_buf_put(b, "?", 1); /* not allowed in XML 1.0 */
            else
                wf_buf_put(b, (const char *)c, 1);
        }
    }
}

static void xml_attr(wf_buf *b, const char *name, const char *value)
{
    wf_buf_printf(b, " %s=\"", name);
    wf_buf_xml(b, value);
    wf_buf_put(b, "\"", 1);
}

static void xml_property(wf_buf *b, const char *indent, const char *name, const char *value)
{
    wf_buf_printf(b, "%s<property", indent);
    xml_attr(b, "name", name);
    xml_attr(b, "value", value);
    wf_buf_put(b, "/>\n", 3);
}

/* The suite's name: the last component of SUITE_DIR. */
static void suite_name(const char *dir, char *buf, size_t size)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    size_t k = n;
    while (k > 0 && dir[k - 1] != '/')
        k--;
    snprintf(buf, size, "%.*s", (int)(n - k), dir + k);
}

/* What a testcase holds: 'e' error, 'f' failure, 's' skipped, 0 nothing;
 * type and message of the element. */
static char testcase_kind(const wf_bench_run *r, const wf_row *w, const char *e,
                          const wf_check *k, char *type, char *msg, size_t size)
{
    const char *why = w->reason ? w->reason : "";
    if (!strcmp(w->verdict, "error")) {
        snprintf(type, 32, "error");
        snprintf(msg, size, "%s", why[0] ? why : "error");
        return 'e';
    }
    if (k->incorrect) {
        snprintf(type, 32, "incorrect");
        snprintf(msg, size, "%s where the expected result is %s", w->verdict, e);
        return 'f';
    }
    if (k->regressed) {
        snprintf(type, 32, "regression");
        snprintf(msg, size, "%s; %s in the baseline %s", w->verdict, k->base->verdict, r->bl.path);
        return 'f';
    }
    if (k->slower) {
        snprintf(type, 32, "slower");
        snprintf(msg, size,
                 "%s in %.3f s; %.3f s in the baseline %s (limit %g x %.3f + %g = %.3f s)",
                 w->verdict, w->time_s, k->base->time_s, r->bl.path, r->bl.max_slowdown,
                 k->base->time_s, r->bl.floor_s, k->limit_s);
        return 'f';
    }
    if (!strcmp(w->verdict, "timeout") || !strcmp(w->verdict, "unknown")) {
        snprintf(type, 32, "%s", w->verdict);
        snprintf(msg, size, "%s%s%s", w->verdict, why[0] ? ": " : "", why);
        return 's';
    }
    return 0;
}

void wf_bench_junit(const wf_bench_run *r, const wf_results *res, wf_buf *b)
{
    int fail = 0, errs = 0, skip = 0;
    double total = 0;
    char type[32], msg[WF_REASON_MAX + 256];
    for (int i = 0; i < res->n; i++) {
        const wf_row *w = &res->v[i];
        const char *e = expected_of(r, w);
        wf_check k;
        wf_bench_check(w, e, &r->bl, &k);
        char c = testcase_kind(r, w, e, &k, type, msg, sizeof msg);
        fail += c == 'f';
        errs += c == 'e';
        skip += c == 's';
        total += w->time_s;
    }
    char name[256], stamp[32] = "";
    suite_name(r->dir, name, sizeof name);
    time_t t0 = (time_t)r->started;
    struct tm tm;
    if (gmtime_r(&t0, &tm))
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    wf_buf_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites");
    xml_attr(b, "name", "certnn bench");
    wf_buf_printf(b, " tests=\"%d\" failures=\"%d\" errors=\"%d\" skipped=\"%d\" time=\"%.3f\">\n",
                  res->n, fail, errs, skip, total);
    wf_buf_printf(b, "  <testsuite");
    xml_attr(b, "name", name);
    wf_buf_printf(b, " tests=\"%d\" failures=\"%d\" errors=\"%d\" skipped=\"%d\" time=\"%.3f\"",
                  res->n, fail, errs, skip, total);
    if (stamp[0])
        xml_attr(b, "timestamp", stamp);
    wf_buf_printf(b, ">\n    <properties>\n");
    xml_property(b, "      ", "suite", r->dir);
    xml_property(b, "      ", "instances", r->instances);
    char num[64];
    snprintf(num, sizeof num, "%d", r->s->n);
    xml_property(b, "      ", "suite_instances", num);
    if (r->epath)
        xml_property(b, "      ", "expected_results", r->epath);
    if (r->bl.base) {
        xml_property(b, "      ", "baseline", r->bl.path);
        if (r->bl.max_slowdown > 0) {
            snprintf(num, sizeof num, "%g", r->bl.max_slowdown);
            xml_property(b, "      ", "max_slowdown", num);
            snprintf(num, sizeof num, "%g", r->bl.floor_s);
            xml_property(b, "      ", "slowdown_floor_s", num);
        }
    }
    wf_buf_printf(b, "    </properties>\n");
    for (int i = 0; i < res->n; i++) {
        const wf_row *w = &res->v[i];
        const char *e = expected_of(r, w);
        wf_check k;
        wf_bench_check(w, e, &r->bl, &k);
        char c = testcase_kind(r, w, e, &k, type, msg, sizeof msg);
        wf_buf_printf(b, "    <testcase");
        xml_attr(b, "classname", name);
        wf_buf_printf(b, " name=\"");
        wf_buf_xml(b, w->onnx);
        wf_buf_put(b, " ", 1);
        wf_buf_xml(b, w->vnnlib);
        wf_buf_printf(b, "\" time=\"%.3f\">\n      <properties>\n", w->time_s);
        xml_property(b, "        ", "verdict", w->verdict);
        if (e[0])
            xml_property(b, "        ", "expected", e);
        snprintf(num, sizeof num, "%ld", w->nodes);
        xml_property(b, "        ", "nodes", num);
        if (k.base)
            xml_property(b, "        ", "baseline_verdict", k.base->verdict);
        wf_buf_printf(b, "      </properties>\n");
        if (c) {
            const char *el = c == 'e' ? "error" : c == 'f' ? "failure" : "skipped";
            wf_buf_printf(b, "      <%s", el);
            if (c != 's')
                xml_attr(b, "type", type);
            xml_attr(b, "message", msg);
            wf_buf_printf(b, "/>\n");
        }
        wf_buf_printf(b, "    </testcase>\n");
    }
    wf_buf_printf(b, "  </testsuite>\n</testsuites>\n");
}

/* ---- exit ------------------------------------------------------------------------------------ */

int wf_bench_exit(int sig, int run, int total, const char *out, const wf_tally *t,
                  const wf_base_counts *bc)
{
    if (sig) {
        cli_error("interrupted by signal %d after %d of %d instances%s%s", sig, run, total,
                  out ? "; results so far kept in " : "", out ? out : "");
        return 128 + sig;
    }
    if (t->incorrect)
        cli_error("%d incorrect verdict%s", t->incorrect, t->incorrect == 1 ? "" : "s");
    if (bc->regressions)
        cli_error("%d regression%s against the baseline", bc->regressions,
                  bc->regressions == 1 ? "" : "s");
    if (bc->slower)
        cli_error("%d instance%s slower than --max-slowdown allows against the baseline",
                  bc->slower, bc->slower == 1 ? "" : "s");
    if (t->n_error)
        cli_error("%d instance%s ended in error (the reason%s in the summary%s)", t->n_error,
                  t->n_error == 1 ? "" : "s", t->n_error == 1 ? " is" : "s are",
                  out ? " and the results file" : "");
    if (t->incorrect || bc->regressions || bc->slower)
        return CLI_EXIT_CEX;
    return t->n_error ? CLI_EXIT_DATA : CLI_EXIT_OK;
}

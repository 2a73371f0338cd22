/* workflow.c — helpers shared by `certnn radius`, `compare` and `bench`
 * (see workflow.h). */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/workflow.h"

/* ---- text buffers ------------------------------------------------------------ */

void wf_buf_init(wf_buf *b) { memset(b, 0, sizeof *b); }

void wf_buf_clear(wf_buf *b)
{
    cn_free(b->data);
    wf_buf_init(b);
}

static bool buf_reserve(wf_buf *b, size_t extra)
{
    if (b->failed)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) {
        if (cap > ((size_t)-1) / 2) {
            b->failed = true;
            return false;
        }
        cap *= 2;
    }
    char *d = cn_realloc(b->data, cap);
    if (!d) {
        b->failed = true;
        return false;
    }
    b->data = d;
    b->cap = cap;
    return true;
}

void wf_buf_put(wf_buf *b, const char *s, size_t n)
{
    if (!buf_reserve(b, n))
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void wf_buf_printf(wf_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k < 0) {
        b->failed = true;
        return;
    }
    if (!buf_reserve(b, (size_t)k))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)k + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)k;
}

void wf_buf_csv(wf_buf *b, const char *field)
{
    if (!strpbrk(field, ",\"\r\n")) {
        wf_buf_put(b, field, strlen(field));
        return;
    }
    wf_buf_put(b, "\"", 1);
    for (const char *s = field; *s; s++) {
        if (*s == '"')
            wf_buf_put(b, "\"", 1);
        wf_buf_put(b, s, 1);
    }
    wf_buf_put(b, "\"", 1);
}

void wf_md_row(wf_buf *b, int n, const char *const cells[])
{
    wf_buf_put(b, "|", 1);
    for (int i = 0; i < n; i++) {
        wf_buf_put(b, " ", 1);
        for (const char *s = cells[i]; *s; s++) {
            if (*s == '|')
                wf_buf_put(b, "\\|", 2);
            else if (*s == '\n' || *s == '\r')
                wf_buf_put(b, " ", 1);
            else
                wf_buf_put(b, s, 1);
        }
        wf_buf_put(b, " |", 2);
    }
    wf_buf_put(b, "\n", 1);
}

void wf_md_rule(wf_buf *b, int n)
{
    wf_buf_put(b, "|", 1);
    for (int i = 0; i < n; i++)
        wf_buf_put(b, " --- |", 6);
    wf_buf_put(b, "\n", 1);
}

int wf_csv_split(char *line, char **fields, int max)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    int k = 0;
    char *r = line, *w = line;
    while (k < max) {
        fields[k++] = w;
        if (*r == '"') {
            r++;
            for (;;) {
                if (!*r)
                    break;
                if (*r == '"' && r[1] == '"') {
                    *w++ = '"';
                    r += 2;
                } else if (*r == '"') {
                    r++;
                    break;
                } else {
                    *w++ = *r++;
                }
            }
            while (*r && *r != ',')
                *w++ = *r++;
        } else {
            while (*r && *r != ',')
                *w++ = *r++;
        }
        bool more = *r == ',';
        *w++ = '\0';
        if (!more)
            break;
        r++;
    }
    return k;
}

/* ---- atomic output -------------------------------------------------------------- */

cn_status wf_write_atomic(const char *path, const void *data, size_t len, cn_err *err)
{
    CN_REQUIRE(path && (data || len == 0), "a path and the data");
    size_t plen = strlen(path) + 32;
    char *tmp = cn_malloc(plen);
    if (!tmp)
        return cn_fail(err, CN_ENOMEM, "%s: out of memory", path);
    snprintf(tmp, plen, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        cn_status s = cn_fail(err, CN_EIO, "%s: cannot create: %s", tmp, strerror(errno));
        cn_free(tmp);
        return s;
    }
    bool ok = fwrite(data, 1, len, f) == len;
    ok = ok && fflush(f) == 0;
    ok = ok && fsync(fileno(f)) == 0;
    int e = errno;
    ok = (fclose(f) == 0) && ok;
    if (!ok) {
        remove(tmp);
        cn_free(tmp);
        return cn_fail(err, CN_EIO, "%s: cannot write: %s", path, strerror(e ? e : EIO));
    }
    if (rename(tmp, path) != 0) {
        e = errno;
        remove(tmp);
        cn_free(tmp);
        return cn_fail(err, CN_EIO, "%s: cannot replace: %s", path, strerror(e));
    }
    cn_free(tmp);
    return CN_OK;
}

cn_status wf_write_buf(const char *path, const wf_buf *b, cn_err *err)
{
    if (b->failed)
        return cn_fail(err, CN_ENOMEM, "%s: out of memory building the file", path);
    return wf_write_atomic(path, b->data ? b->data : "", b->len, err);
}

cn_status wf_write_json(const char *path, json_t *root, cn_err *err)
{
    char *s = cli_json_dumps(root); /* jansson's malloc */
    if (!s)
        return cn_fail(err, CN_ENOMEM, "%s: out of memory printing JSON", path);
    size_t n = strlen(s);
    char *t = cn_malloc(n + 2);
    if (!t) {
        free(s);
        return cn_fail(err, CN_ENOMEM, "%s: out of memory printing JSON", path);
    }
    memcpy(t, s, n);
    free(s);
    t[n] = '\n';
    t[n + 1] = '\0';
    cn_status st = wf_write_atomic(path, t, n + 1, err);
    cn_free(t);
    return st;
}

cn_status wf_write_vnncomp_result(const char *path, const vfy_result *r, cn_err *err)
{
    wf_buf b;
    wf_buf_init(&b);
    wf_buf_printf(&b, "%s\n", vfy_verdict_name(r->verdict));
    if (r->verdict == VFY_SAT && r->x_d && r->y_d) {
        wf_buf_put(&b, "(", 1);
        for (int k = 0; k < r->n_in; k++)
            wf_buf_printf(&b, "%s(X_%d %.17g)\n", k ? " " : "", k, r->x_d[k]);
        for (int k = 0; k < r->n_out; k++)
            wf_buf_printf(&b, " (Y_%d %.17g)%s\n", k, r->y_d[k], k + 1 == r->n_out ? ")" : "");
    }
    cn_status s = wf_write_buf(path, &b, err);
    wf_buf_clear(&b);
    return s;
}

/* ---- progress, signals, clock ------------------------------------------------------ */

double wf_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void wf_progress_init(wf_progress *p, bool quiet)
{
    p->on = !quiet && isatty(STDERR_FILENO);
    p->t0 = wf_now();
    p->last = -1e9;
    p->dirty = false;
}

static void fmt_duration(double s, char *buf, size_t size)
{
    if (!isfinite(s) || s < 0)
        snprintf(buf, size, "?");
    else if (s < 60)
        snprintf(buf, size, "%.0fs", s);
    else if (s < 3600)
        snprintf(buf, size, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
    else
        snprintf(buf, size, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
}

void wf_progress_show(wf_progress *p, int done, int total, const char *current, bool force)
{
    if (!p->on)
        return;
    double t = wf_now();
    if (!force && t - p->last < 0.2)
        return;
    p->last = t;
    double el = t - p->t0;
    char e[32], eta[32];
    fmt_duration(el, e, sizeof e);
    fmt_duration(done > 0 ? el / done * (total - done) : NAN, eta, sizeof eta);
    if (total <= 1) /* one job: no count, no ETA */
        fprintf(stderr, "\r\033[Kcertnn: %.70s | elapsed %s", current ? current : "", e);
    else
        fprintf(stderr, "\r\033[Kcertnn: [%d/%d] %.60s | elapsed %s | ETA %s", done, total,
                current ? current : "", e, eta);
    fflush(stderr);
    p->dirty = true;
}

void wf_progress_clear(wf_progress *p)
{
    if (p->on && p->dirty) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    p->dirty = false;
}

/* ---- numbers -------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void wf_sort(double *v, int n)
{
    if (n > 1)
        qsort(v, (size_t)n, sizeof *v, cmp_double);
}

double wf_quantile(const double *x, int n, double q)
{
    CN_REQUIRE(q >= 0 && q <= 1, "q in [0, 1]");
    if (n <= 0)
        return NAN;
    double h = (n - 1) * q;
    int lo = (int)floor(h);
    if (lo >= n - 1)
        return x[n - 1];
    double f = h - lo;
    if (f == 0)
        return x[lo];
    if (isinf(x[lo + 1]) || isinf(x[lo]))
        return x[lo + 1];
    return x[lo] + f * (x[lo + 1] - x[lo]);
}

/* ---- robustness probes ------------------------------------------------------------------ */

bool wf_prober_opts(const cli_args *a, vfy_prober *pr)
{
    memset(pr, 0, sizeof *pr);
    const char *method = cli_str(a, "method"), *bounds = cli_str(a, "bounds");
    if (strcmp(method, "bounds") && strcmp(method, "complete")) {
        cli_error("--method: expected bounds or complete, got '%s'", method);
        return false;
    }
    if (!vfy_prober_set_bounds(pr, bounds)) {
        cli_error("--bounds: expected a comma-separated list of up to %d different methods of "
                  "interval, deeppoly, crown and alpha, got '%s'",
                  VFY_PROBE_METHODS, bounds);
        return false;
    }
    pr->complete = !strcmp(method, "complete");
    if (!cli_engine_opts(a, &pr->engine))
        return false;
    atk_opts_init(&pr->pgd);
    pr->pgd.time_limit = cli_dbl(a, "attack-time");
    pr->pgd.max_restarts = cli_int(a, "attack-restarts");
    pr->pgd.seed = (uint64_t)cli_int(a, "seed");
    return true;
}

/* ---- VNN-COMP suites --------------------------------------------------------------------------- */

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

void wf_suite_free(wf_suite *s)
{
    for (int i = 0; i < s->n; i++) {
        cn_free(s->v[i].onnx);
        cn_free(s->v[i].vnnlib);
    }
    cn_free(s->v);
    s->n = 0;
    s->v = NULL;
}

cn_status wf_suite_load(const char *path, wf_suite *out, cn_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return cn_fail(err, CN_EIO, "%s: cannot open: %s", path, strerror(errno));
    wf_suite s = {0, NULL};
    int cap = 0, line_no = 0;
    char line[8192];
    cn_status st = CN_OK;
    while (fgets(line, sizeof line, f)) {
        line_no++;
        char *fl[4];
        char *l = trim(line);
        if (!*l || *l == '#' || *l == '\n' || *l == '\r')
            continue;
        int k = wf_csv_split(l, fl, 4);
        if (k == 1 && !*trim(fl[0]))
            continue;
        char *end = NULL;
        double t = k >= 3 ? strtod(trim(fl[2]), &end) : NAN;
        if (k != 3 || !*trim(fl[0]) || !*trim(fl[1]) || !end || *end || !(t > 0) ||
            !isfinite(t)) {
            st = cn_fail(err, CN_EPARSE,
                         "%s:%d: expected 'onnx,vnnlib,timeout' with a positive timeout", path,
                         line_no);
            break;
        }
        if (s.n == cap) {
            int nc = cap ? 2 * cap : 64;
            wf_instance *v = cn_reallocarray(s.v, (size_t)nc, sizeof *v);
            if (!v) {
                st = cn_fail(err, CN_ENOMEM, "%s: out of memory", path);
                break;
            }
            s.v = v;
            cap = nc;
        }
        wf_instance *in = &s.v[s.n];
        memset(in, 0, sizeof *in);
        in->onnx = cn_strdup(trim(fl[0]));
        in->vnnlib = cn_strdup(trim(fl[1]));
        in->timeout = t;
        in->fastest_s = NAN;
        s.n++;
        if (!in->onnx || !in->vnnlib) {
            st = cn_fail(err, CN_ENOMEM, "%s: out of memory", path);
            break;
        }
    }
    fclose(f);
    if (st == CN_OK && s.n == 0)
        st = cn_fail(err, CN_EPARSE, "%s: no instances", path);
    if (st != CN_OK) {
        wf_suite_free(&s);
        return st;
    }
    *out = s;
    return CN_OK;
}

cn_status wf_suite_expected(wf_suite *s, const char *path, cn_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return cn_fail(err, CN_EIO, "%s: cannot open: %s", path, strerror(errno));
    char line[8192];
    int line_no = 0;
    while (fgets(line, sizeof line, f)) {
        line_no++;
        char *fl[8];
        int k = wf_csv_split(line, fl, 8);
        if (k < 3 || (line_no == 1 && !strcmp(trim(fl[0]), "onnx")))
            continue;
        const char *a = trim(fl[0]), *b = trim(fl[1]), *c = trim(fl[2]);
        for (int i = 0; i < s->n; i++)
            if (!strcmp(s->v[i].onnx, a) && !strcmp(s->v[i].vnnlib, b)) {
                snprintf(s->v[i].expected, sizeof s->v[i].expected, "%s", c);
                if (k >= 7) {
                    char *end;
                    double t = strtod(trim(fl[6]), &end);
                    s->v[i].fastest_s = end != fl[6] && isfinite(t) ? t : NAN;
                }
            }
    }
    fclose(f);
    return CN_OK;
}

void wf_expected_name(const char *instances, char *buf, size_t size)
{
    const char *base = strrchr(instances, '/');
    base = base ? base + 1 : instances;
    const char *pre = "instances";
    if (!strncmp(base, pre, strlen(pre)))
        snprintf(buf, size, "expected_results%s", base + strlen(pre));
    else
        snprintf(buf, size, "expected_results.csv");
}

int wf_score(const char *verdict, const char *expected, bool *incorrect)
{
    bool sat = !strcmp(verdict, "sat"), unsat = !strcmp(verdict, "unsat");
    bool wrong = (sat && !strcmp(expected, "unsat")) || (unsat && !strcmp(expected, "sat"));
    if (incorrect)
        *incorrect = wrong;
    return wrong ? -100 : sat || unsat ? 10 : 0;
}

void wf_results_init(wf_results *r) { memset(r, 0, sizeof *r); }

void wf_results_free(wf_results *r)
{
    for (int i = 0; i < r->n; i++) {
        cn_free(r->v[i].onnx);
        cn_free(r->v[i].vnnlib);
        cn_free(r->v[i].reason);
    }
    cn_free(r->v);
    wf_results_init(r);
}

cn_status wf_results_add(wf_results *r, const char *onnx, const char *vnnlib,
                         const char *verdict, double time_s, long nodes, cn_err *err)
{
    return wf_results_add_reason(r, onnx, vnnlib, verdict, time_s, nodes, NULL, err);
}

cn_status wf_results_add_reason(wf_results *r, const char *onnx, const char *vnnlib,
                                const char *verdict, double time_s, long nodes,
                                const char *reason, cn_err *err)
{
    if (r->n == r->cap) {
        int nc = r->cap ? 2 * r->cap : 64;
        wf_row *v = cn_reallocarray(r->v, (size_t)nc, sizeof *v);
        if (!v)
            return cn_fail(err, CN_ENOMEM, "out of memory");
        r->v = v;
        r->cap = nc;
    }
    wf_row *w = &r->v[r->n];
    memset(w, 0, sizeof *w);
    w->onnx = cn_strdup(onnx);
    w->vnnlib = cn_strdup(vnnlib);
    w->reason = reason && *reason ? cn_strdup(reason) : NULL;
    if (!w->onnx || !w->vnnlib || (reason && *reason && !w->reason)) {
        cn_free(w->onnx);
        cn_free(w->vnnlib);
        cn_free(w->reason);
        return cn_fail(err, CN_ENOMEM, "out of memory");
    }
    for (char *c = w->reason; c && *c; c++) /* one CSV line */
        if (*c == '\r' || *c == '\n' || *c == '\t')
            *c = ' ';
    snprintf(w->verdict, sizeof w->verdict, "%s", verdict);
    w->time_s = time_s;
    w->nodes = nodes;
    r->n++;
    return CN_OK;
}

void wf_results_set_timing(wf_results *r, const wf_timing *t)
{
    CN_REQUIRE(r->n > 0, "a row to set");
    r->v[r->n - 1].timing = *t;
}

/* The timing columns of one row (WF_TIMING_COLUMNS), each after a comma. */
static void timing_csv(wf_buf *b, const wf_timing *t)
{
    if (!t->known) {
        wf_buf_put(b, ",,,,,,", 6);
        return;
    }
    const vfy_phase_times *p = &t->phases;
    wf_buf_printf(b, ",%.3f,%.3f,%.3f,%.3f,%.3f,%.1f", p->attack_s, p->bounds_s, p->optimise_s,
                  p->lp_s, p->branch_s, t->nodes_per_s);
}

void wf_results_csv(const wf_results *r, wf_buf *b)
{
    bool reasons = false; /* the sixth column only when some row has a reason */
    for (int i = 0; i < r->n && !reasons; i++)
        reasons = r->v[i].reason != NULL;
    wf_buf_printf(b, "onnx,vnnlib,verdict,time_s,nodes%s,%s\n", reasons ? ",reason" : "",
                  WF_TIMING_COLUMNS);
    for (int i = 0; i < r->n; i++) {
        const wf_row *w = &r->v[i];
        wf_buf_csv(b, w->onnx);
        wf_buf_put(b, ",", 1);
        wf_buf_csv(b, w->vnnlib);
        wf_buf_printf(b, ",%s,%.3f,%ld", w->verdict, w->time_s, w->nodes);
        if (reasons) {
            wf_buf_put(b, ",", 1);
            wf_buf_csv(b, w->reason ? w->reason : "");
        }
        timing_csv(b, &w->timing);
        wf_buf_put(b, "\n", 1);
    }
}

/* The columns of WF_TIMING_COLUMNS in a header (col[6], -1 when absent). */
static void timing_cols(char **fl, int k, int *col)
{
    static const char *const names[6] = {"attack_s", "bounds_s", "optimise_s",
                                         "lp_s",     "branch_s", "nodes_per_second"};
    for (int t = 0; t < 6; t++) {
        col[t] = -1;
        for (int c = 0; c < k; c++)
            if (!strcmp(trim(fl[c]), names[t]))
                col[t] = c;
    }
}

/* A row's timing from its fields (known when every column holds a number). */
static void timing_read(char **fl, int k, const int *col, wf_timing *t)
{
    double v[6];
    memset(t, 0, sizeof *t);
    for (int j = 0; j < 6; j++) {
        char *end = NULL;
        const char *f = col[j] >= 0 && col[j] < k ? trim(fl[col[j]]) : "";
        v[j] = *f ? strtod(f, &end) : NAN;
        if (!*f || !end || *end)
            return;
    }
    t->known = true;
    t->phases = (vfy_phase_times){v[0], v[1], v[2], v[3], v[4]};
    t->nodes_per_s = v[5];
}

cn_status wf_results_write(const char *path, const wf_results *r, cn_err *err)
{
    wf_buf b;
    wf_buf_init(&b);
    wf_results_csv(r, &b);
    cn_status s = wf_write_buf(path, &b, err);
    wf_buf_clear(&b);
    return s;
}

cn_status wf_results_load(const char *path, wf_results *out, cn_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return cn_fail(err, CN_EIO, "%s: cannot open: %s", path, strerror(errno));
    wf_results r;
    wf_results_init(&r);
    char line[8192];
    int line_no = 0, reason_col = 5; /* without a header: the sixth column */
    int tcol[6] = {-1, -1, -1, -1, -1, -1}; /* the timing columns (with a header) */
    cn_status st = CN_OK;
    while (fgets(line, sizeof line, f)) {
        line_no++;
        char *fl[16];
        int k = wf_csv_split(line, fl, 16);
        if (k == 1 && !*trim(fl[0]))
            continue;
        if (line_no == 1 && !strcmp(trim(fl[0]), "onnx")) {
            reason_col = -1;
            for (int c = 0; c < k; c++)
                if (!strcmp(trim(fl[c]), "reason"))
                    reason_col = c;
            timing_cols(fl, k, tcol);
            continue;
        }
        char *end = NULL;
        double t = k >= 4 ? strtod(trim(fl[3]), &end) : NAN;
        if (k < 4 || !end || *end || !*trim(fl[2])) {
            st = cn_fail(err, CN_EPARSE, "%s:%d: expected 'onnx,vnnlib,verdict,time_s[,nodes]'",
                         path, line_no);
            break;
        }
        long nodes = k >= 5 ? strtol(trim(fl[4]), NULL, 10) : 0;
        const char *reason = reason_col >= 0 && reason_col < k ? trim(fl[reason_col]) : NULL;
        st = wf_results_add_reason(&r, trim(fl[0]), trim(fl[1]), trim(fl[2]), t, nodes, reason,
                                   err);
        if (st != CN_OK)
            break;
        timing_read(fl, k, tcol, &r.v[r.n - 1].timing);
    }
    fclose(f);
    if (st != CN_OK) {
        wf_results_free(&r);
        return st;
    }
    *out = r;
    return CN_OK;
}

static bool solved(const char *v) { return !strcmp(v, "sat") || !strcmp(v, "unsat"); }

const wf_row *wf_results_find(const wf_results *r, const char *onnx, const char *vnnlib)
{
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->v[i].onnx, onnx) && !strcmp(r->v[i].vnnlib, vnnlib))
            return &r->v[i];
    return NULL;
}

void wf_bench_check(const wf_row *c, const char *expected, const wf_baseline *bl, wf_check *out)
{
    memset(out, 0, sizeof *out);
    out->limit_s = NAN;
    wf_score(c->verdict, expected ? expected : "", &out->incorrect);
    const wf_row *b = bl && bl->base ? wf_results_find(bl->base, c->onnx, c->vnnlib) : NULL;
    out->base = b;
    if (!b)
        return;
    bool same = !strcmp(b->verdict, c->verdict);
    out->regressed = solved(b->verdict) && !same;
    out->improved = !solved(b->verdict) && solved(c->verdict);
    if (bl->max_slowdown > 0 && same && solved(c->verdict)) {
        out->limit_s = bl->max_slowdown * b->time_s + bl->floor_s;
        out->slower = c->time_s > out->limit_s;
    }
}

int wf_baseline_compare(const wf_results *base, const wf_results *cur, wf_buf *report,
                        int *improved)
{
    int reg = 0, imp = 0;
    wf_baseline bl = {base, NULL, 0, 0};
    for (int i = 0; i < cur->n; i++) {
        const wf_row *c = &cur->v[i];
        wf_check k;
        wf_bench_check(c, "", &bl, &k);
        if (k.regressed) {
            reg++;
            if (report)
                wf_buf_printf(report, "regression: %s %s: %s in the baseline, now %s\n", c->onnx,
                              c->vnnlib, k.base->verdict, c->verdict);
        } else if (k.improved) {
            imp++;
            if (report)
                wf_buf_printf(report, "improvement: %s %s: %s in the baseline, now %s\n",
                              c->onnx, c->vnnlib, k.base->verdict, c->verdict);
        }
    }
    if (improved)
        *improved = imp;
    return reg;
}

cn_status wf_baseline_shares(const wf_results *base, const char *path, const wf_suite *s,
                             const char *suite_file, cn_err *err)
{
    for (int i = 0; i < s->n; i++)
        if (wf_results_find(base, s->v[i].onnx, s->v[i].vnnlib))
            return CN_OK;
    return cn_fail(err, CN_EINVAL,
                   "%s: the baseline shares no instance (onnx,vnnlib) with %s: none of its %d "
                   "instances is among the baseline's %d rows (a baseline of another suite or "
                   "instances file?)",
                   path, suite_file, s->n, base->n);
}

/* _certnn.c — the CPython extension under the `certnn` package (python/certnn):
 * a network loaded once, and the engine's entry points on it, with results as
 * plain dicts that carry the same names as `certnn verify --json`.
 *
 * Every call into the library runs with the interpreter's lock released: a
 * training script's other threads go on while the engine works.  Inputs are
 * sequences of floats (NumPy arrays among them); each float is taken exactly
 * (a double is a rational).  Errors come back as certnn.Error with the
 * library's message; misuse of an argument as TypeError / ValueError. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "config.h"

#include <math.h>
#include <string.h>

#include "attacks/attacks.h"
#include "bounds/bounds.h"
#include "models/models.h"
#include "verifier/verifier.h"

static PyObject *cn_error;     /* certnn.Error; set once at import */

/* certnn.Error(message) with the status name as its `status` attribute. */
static PyObject *raise_cn(cn_status s, const cn_err *err)
{
    PyObject *e = PyObject_CallFunction(cn_error, "s", err->msg[0] ? err->msg : cn_status_str(s));
    if (e) {
        PyObject_SetAttrString(e, "status", PyUnicode_FromString(cn_status_str(s)));
        PyErr_SetObject(cn_error, e);
        Py_DECREF(e);
    }
    return NULL;
}

/* ---- numbers in and out ---------------------------------------------------- */

/* A sequence of n finite floats into x[n] (n < 0: any length, *n_out set). */
static double *floats_in(PyObject *obj, const char *what, Py_ssize_t n, Py_ssize_t *n_out)
{
    PyObject *seq = PySequence_Fast(obj, "");
    if (!seq) {
        PyErr_Format(PyExc_TypeError, "%s: expected a sequence of numbers", what);
        return NULL;
    }
    Py_ssize_t len = PySequence_Fast_GET_SIZE(seq);
    if (n >= 0 && len != n) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zd values, got %zd", what, n, len);
        Py_DECREF(seq);
        return NULL;
    }
    double *x = PyMem_Calloc(len ? (size_t)len : 1, sizeof(double));
    if (!x) {
        Py_DECREF(seq);
        return (double *)PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < len; i++) {
        x[i] = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(seq, i));
        if (x[i] == -1.0 && PyErr_Occurred()) {
            PyErr_Format(PyExc_TypeError, "%s[%zd]: expected a number", what, i);
            goto fail;
        }
        if (!isfinite(x[i])) {
            PyErr_Format(PyExc_ValueError, "%s[%zd]: expected a finite number", what, i);
            goto fail;
        }
    }
    Py_DECREF(seq);
    if (n_out)
        *n_out = len;
    return x;
fail:
    Py_DECREF(seq);
    PyMem_Free(x);
    return NULL;
}

static PyObject *float_or_none(double v)
{
    if (isfinite(v))
        return PyFloat_FromDouble(v);
    Py_RETURN_NONE;
}

static PyObject *floats_out(const double *v, int n)
{
    PyObject *l = PyList_New(n);
    for (int i = 0; l && i < n; i++) {
        PyObject *f = float_or_none(v[i]);
        if (!f) {
            Py_DECREF(l);
            return NULL;
        }
        PyList_SET_ITEM(l, i, f);
    }
    return l;
}

/* Exact rationals as text "p/q" (or "p"), as --json's x_exact. */
static PyObject *rationals_out(mpq_t *q, int n)
{
    PyObject *l = PyList_New(n);
    for (int i = 0; l && i < n; i++) {
        char *s = mpq_get_str(NULL, 10, q[i]);
        PyObject *u = s ? PyUnicode_FromString(s) : PyErr_NoMemory();
        free(s);
        if (!u) {
            Py_DECREF(l);
            return NULL;
        }
        PyList_SET_ITEM(l, i, u);
    }
    return l;
}

/* d[key] = value, stealing value; false (exception set) on failure. */
static bool put(PyObject *d, const char *key, PyObject *value)
{
    if (!value)
        return false;
    int r = PyDict_SetItemString(d, key, value);
    Py_DECREF(value);
    return r == 0;
}

/* ---- engine options from keyword arguments --------------------------------- */

/* An option's name as a keyword: the long option with '_' for '-'. */
static bool key_is(const char *key, const char *name)
{
    for (; *key && *name; key++, name++)
        if (*key != (*name == '-' ? '_' : *name))
            return false;
    return !*key && !*name;
}

static int opt_dbl(PyObject *v, const char *name, double low, double high, double *out)
{
    double d = PyFloat_AsDouble(v);
    if (d == -1.0 && PyErr_Occurred())
        return -1;
    if (!(d >= low && d <= high)) {
        PyErr_Format(PyExc_ValueError, "%s: %R is out of range [%g, %g]", name, v, low, high);
        return -1;
    }
    *out = d;
    return 0;
}

static int opt_int(PyObject *v, const char *name, double low, double high, long long *out)
{
    if (PyFloat_Check(v)) {
        PyErr_Format(PyExc_TypeError, "%s: expected an integer, got %R", name, v);
        return -1;
    }
    long long k = PyLong_AsLongLong(v);
    if (k == -1 && PyErr_Occurred())
        return -1;
    if (!((double)k >= low && (double)k <= high)) {
        PyErr_Format(PyExc_ValueError, "%s: %lld is out of range [%g, %g]", name, k, low, high);
        return -1;
    }
    *out = k;
    return 0;
}

static int opt_enum(PyObject *v, const char *name, const char *choices, int *out)
{
    const char *s = PyUnicode_Check(v) ? PyUnicode_AsUTF8(v) : NULL;
    int k = s ? vfy_opt_choice(choices, s) : -1;
    if (k < 0) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_ValueError, "%s: expected one of '%s', got %R", name, choices, v);
        return -1;
    }
    *out = k;
    return 0;
}

/* One engine option by keyword (the table of verifier/options.h): 1 set,
 * 0 not an engine option, -1 bad value (exception set). */
static int engine_opt(vfy_opts *o, const char *key, PyObject *v)
{
#define PY_SET_DBL(type, field, name, low, high, choices)                                    \
    {                                                                                        \
        double d;                                                                            \
        if (opt_dbl(v, name, low, high, &d))                                                 \
            return -1;                                                                       \
        o->field = (type)d;                                                                  \
        return 1;                                                                            \
    }
#define PY_SET_INT(type, field, name, low, high, choices)                                    \
    {                                                                                        \
        long long k;                                                                         \
        if (opt_int(v, name, low, high, &k))                                                 \
            return -1;                                                                       \
        o->field = (type)k;                                                                  \
        return 1;                                                                            \
    }
#define PY_SET_ENUM(type, field, name, low, high, choices)                                   \
    {                                                                                        \
        int k;                                                                               \
        if (opt_enum(v, name, choices, &k))                                                  \
            return -1;                                                                       \
        o->field = (type)k;                                                                  \
        return 1;                                                                            \
    }
#define PY_ROW(kind, type, field, name, sh, arg, def, low, high, choices, help)              \
    if (key_is(key, name))                                                                   \
        PY_SET_##kind(type, field, name, low, high, choices)
    VFY_OPTIONS(PY_ROW)
#undef PY_ROW
#undef PY_SET_ENUM
#undef PY_SET_INT
#undef PY_SET_DBL
    return 0;
}

/* Every keyword of kw is an engine option; anything else is a TypeError. */
static int engine_opts(vfy_opts *o, PyObject *kw)
{
    vfy_opts_init(o);
    o->threads = 1;            /* a library call: one thread unless asked */
    if (!kw)
        return 0;
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(kw, &pos, &key, &value)) {
        const char *k = PyUnicode_AsUTF8(key);
        if (!k)
            return -1;
        int r = engine_opt(o, k, value);
        if (r < 0)
            return -1;
        if (r == 0) {
            PyErr_Format(PyExc_TypeError, "unknown engine option '%s'", k);
            return -1;
        }
    }
    return 0;
}

/* ---- the Net type ----------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    net *n;
    PyObject *path;
} Net;

static void net_dealloc(Net *self)
{
    net_free(self->n);
    Py_XDECREF(self->path);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject NetType;

static PyObject *py_load(PyObject *mod, PyObject *args)
{
    const char *path;
    if (!PyArg_ParseTuple(args, "s", &path))
        return NULL;
    net *n = NULL;
    cn_err err;
    cn_status s;
    Py_BEGIN_ALLOW_THREADS
    s = net_load(path, &n, &err);
    Py_END_ALLOW_THREADS
    if (s != CN_OK)
        return raise_cn(s, &err);
    Net *self = PyObject_New(Net, &NetType);
    if (!self) {
        net_free(n);
        return NULL;
    }
    self->n = n;
    self->path = PyUnicode_FromString(path);
    return (PyObject *)self;
}

static PyObject *net_info_dict(Net *self, PyObject *unused)
{
    net_info in;
    net_get_info(self->n, &in);
    PyObject *d = PyDict_New();
    if (d && put(d, "model", Py_NewRef(self->path)) &&
        put(d, "inputs", PyLong_FromLong(net_in_size(self->n))) &&
        put(d, "outputs", PyLong_FromLong(net_out_size(self->n))) &&
        put(d, "layers", PyLong_FromLong(net_n_layers(self->n))) &&
        put(d, "relus", PyLong_FromLong(net_n_relus(self->n))) &&
        put(d, "params", PyLong_FromLong(in.params)) &&
        put(d, "sha256", PyUnicode_FromString(in.sha256)) &&
        put(d, "fold_exact", PyBool_FromLong(in.fold_exact)))
        return d;
    Py_XDECREF(d);
    return NULL;
}

/* forward(x): outputs in double (round to nearest), as a list. */
static PyObject *net_forward_py(Net *self, PyObject *args)
{
    PyObject *xo;
    if (!PyArg_ParseTuple(args, "O", &xo))
        return NULL;
    int n_in = net_in_size(self->n), n_out = net_out_size(self->n);
    double *x = floats_in(xo, "x", n_in, NULL);
    if (!x)
        return NULL;
    double *y = PyMem_Calloc((size_t)n_out, sizeof(double));
    cn_err err;
    cn_status s = CN_ENOMEM;
    if (y) {
        Py_BEGIN_ALLOW_THREADS
        s = net_forward(self->n, 1, x, y, &err);
        Py_END_ALLOW_THREADS
    } else {
        cn_fail(&err, CN_ENOMEM, "out of memory");
    }
    PyObject *r = s == CN_OK ? floats_out(y, n_out) : raise_cn(s, &err);
    PyMem_Free(x);
    PyMem_Free(y);
    return r;
}

/* The counterexample of a SAT result, as --json's "counterexample". */
static PyObject *cex_dict(const vfy_result *r)
{
    PyObject *d = PyDict_New();
    if (d && put(d, "x", floats_out(r->x_d, r->n_in)) &&
        put(d, "x_exact", rationals_out(r->x, r->n_in)) &&
        put(d, "y", floats_out(r->y_d, r->n_out)) &&
        put(d, "case", PyLong_FromLong(r->check.case_idx)) &&
        put(d, "disjunct", PyLong_FromLong(r->check.disj_idx)) &&
        put(d, "exact_slacks", rationals_out(r->check.margin, r->check.n_margin)))
        return d;
    Py_XDECREF(d);
    return NULL;
}

static PyObject *str_or_none(const char *s)
{
    if (s && s[0])
        return PyUnicode_FromString(s);
    Py_RETURN_NONE;
}

/* A vfy_result as the dict of `certnn verify --vnnlib P --json` (docs/json.md;
 * without its schema_version). */
static PyObject *result_dict(const vfy_result *r, const vfy_opts *o, PyObject *model,
                             const char *property)
{
    PyObject *d = PyDict_New();
    if (!(d && put(d, "verdict", PyUnicode_FromString(vfy_verdict_name(r->verdict))) &&
          put(d, "model", Py_NewRef(model)) &&
          put(d, "property", PyUnicode_FromString(property)) &&
          put(d, "method", PyUnicode_FromString(bnd_method_name(o->method))) &&
          put(d, "time_s", PyFloat_FromDouble(r->seconds)) &&
          put(d, "cpu_s", Py_NewRef(Py_None)) &&
          put(d, "attack_s", PyFloat_FromDouble(r->attack_seconds)) &&
          put(d, "nodes", PyLong_FromLong(r->nodes)) &&
          put(d, "max_open", PyLong_FromLong(r->max_open)) &&
          put(d, "depth", PyLong_FromLong(r->depth)) &&
          put(d, "found_by", str_or_none(r->found_by)) &&
          put(d, "reason", str_or_none(r->reason)) &&
          put(d, "empty_cases", PyLong_FromLong(r->empty_cases)) &&
          put(d, "lp_tail", r->lp_tail_tries > 0
                                ? Py_BuildValue("{s:l, s:l, s:l}", "tries", r->lp_tail_tries,
                                                "closed", r->lp_tail_closed, "lps", r->lp_tail_lps)
                                : Py_NewRef(Py_None)) &&
          put(d, "counterexample", r->verdict == VFY_SAT ? cex_dict(r) : Py_NewRef(Py_None)) &&
          put(d, "cases", Py_NewRef(Py_None)) &&
          put(d, "phases",
              Py_BuildValue("{s:d, s:d, s:d, s:d, s:d}", "attack_s", r->phases.attack_s,
                            "bounds_s", r->phases.bounds_s, "optimise_s", r->phases.optimise_s,
                            "lp_s", r->phases.lp_s, "branch_s", r->phases.branch_s)) &&
          put(d, "nodes_per_second", PyFloat_FromDouble(r->nodes_per_s)))) {
        Py_XDECREF(d);
        return NULL;
    }
    return d;
}

/* A VNN-LIB property for n: parsed, and its sizes checked against the net's. */
static cn_status load_prop(const net *n, const char *path, prop **p, cn_err *err)
{
    cn_status s = prop_parse_vnnlib(path, p, err);
    if (s == CN_OK && (prop_n_in(*p) != net_in_size(n) || prop_n_out(*p) != net_out_size(n)))
        s = cn_fail(err, CN_EINVAL, "%s: the property has %d inputs and %d outputs, the network "
                    "%d and %d", path, prop_n_in(*p), prop_n_out(*p), net_in_size(n),
                    net_out_size(n));
    return s;
}

/* verify(vnnlib, **engine options): the complete engine on a property file. */
static PyObject *net_verify_py(Net *self, PyObject *args, PyObject *kw)
{
    const char *path;
    if (!PyArg_ParseTuple(args, "s", &path))
        return NULL;
    vfy_opts o;
    if (engine_opts(&o, kw))
        return NULL;
    prop *p = NULL;
    vfy_result r;
    vfy_result_init(&r);
    cn_err err;
    cn_status s;
    Py_BEGIN_ALLOW_THREADS
    s = load_prop(self->n, path, &p, &err);
    if (s == CN_OK)
        s = vfy_verify(self->n, p, &o, NULL, &r, &err);
    Py_END_ALLOW_THREADS
    PyObject *out = s == CN_OK ? result_dict(&r, &o, self->path, path) : raise_cn(s, &err);
    vfy_result_clear(&r);
    prop_free(p);
    return out;
}

/* The eps-ball property of a sample: [x - eps, x + eps] ∩ [clip_lo, clip_hi],
 * unsafe when some other class scores at least the label's. */
static cn_status ball_prop(const net *n, const double *x, int label, double eps, double clip_lo,
                           double clip_hi, prop **p, mpq_t **xq_out, cn_err *err)
{
    int n_in = net_in_size(n);
    mpq_t *xq = cn_mallocarray((size_t)n_in, sizeof(mpq_t));
    if (!xq)
        return cn_fail(err, CN_ENOMEM, "out of memory");
    for (int i = 0; i < n_in; i++) {
        mpq_init(xq[i]);
        cn_mpq_set_d(xq[i], x[i]);
    }
    mpq_t e, lo, hi;
    mpq_inits(e, lo, hi, NULL);
    cn_mpq_set_d(e, eps);
    cn_mpq_set_d(lo, clip_lo);
    cn_mpq_set_d(hi, clip_hi);
    cn_status s = prop_eps_ball(n_in, xq, e, lo, hi, net_out_size(n), label, p, err);
    mpq_clears(e, lo, hi, NULL);
    *xq_out = xq;
    return s;
}

static void free_q(mpq_t *q, int n)
{
    for (int i = 0; q && i < n; i++)
        mpq_clear(q[i]);
    cn_free(q);
}

/* verify_sample(x, label, eps, method="bounds", bounds="crown", clip_lo=0,
 * clip_hi=1, **engine options): is the L-infinity eps-ball around x robust?
 * The sample itself is checked exactly first ("misclassified" when another
 * class scores at least the label's at x); then sound bounds ("robust" when
 * they prove the ball); with method="complete" the engine decides what the
 * bounds leave open ("robust", "not-robust" with a counterexample,
 * "timeout", "unknown"). */
static PyObject *net_verify_sample_py(Net *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"x",       "label",   "eps",  "method", "bounds",
                             "clip_lo", "clip_hi", "norm", NULL};
    PyObject *xo;
    int label;
    double eps, clip_lo = 0.0, clip_hi = 1.0;
    int norm = 0;              /* 0: L-infinity; 2: L2 */
    const char *method = "bounds", *bname = "crown";
    /* the named arguments first; what is left are engine options */
    PyObject *rest = kw ? PyDict_Copy(kw) : PyDict_New();
    if (!rest)
        return NULL;
    PyObject *mine = PyDict_New();
    for (int i = 0; mine && kwlist[i]; i++) {
        PyObject *v = PyDict_GetItemString(rest, kwlist[i]);
        if (v) {
            PyDict_SetItemString(mine, kwlist[i], v);
            PyDict_DelItemString(rest, kwlist[i]);
        }
    }
    vfy_opts o;
    int ok = mine && PyArg_ParseTupleAndKeywords(args, mine, "Oid|ssddi", kwlist, &xo, &label, &eps,
                                                 &method, &bname, &clip_lo, &clip_hi, &norm) &&
             engine_opts(&o, rest) == 0;
    Py_XDECREF(mine);
    Py_DECREF(rest);
    if (!ok)
        return NULL;
    bool complete = !strcmp(method, "complete");
    bnd_method bm;
    if (!complete && strcmp(method, "bounds"))
        return PyErr_Format(PyExc_ValueError, "method: expected 'bounds' or 'complete', got '%s'",
                            method);
    if (!bnd_method_parse(bname, &bm))
        return PyErr_Format(PyExc_ValueError,
                            "bounds: expected interval, deeppoly, crown or alpha, got '%s'", bname);
    if (norm != 0 && norm != 2)
        return PyErr_Format(PyExc_ValueError, "norm: expected 'inf' or 2, got %d", norm);
    if (norm == 2 && complete)
        return PyErr_Format(PyExc_ValueError,
                            "norm=2: only method='bounds' (the complete engine splits boxes)");
    if (!(eps >= 0 && isfinite(eps)))
        return PyErr_Format(PyExc_ValueError, "eps: expected a finite number >= 0, got %g", eps);
    if (!(clip_lo <= clip_hi))
        return PyErr_Format(PyExc_ValueError, "clip_lo %g > clip_hi %g", clip_lo, clip_hi);
    int n_in = net_in_size(self->n), n_out = net_out_size(self->n);
    if (label < 0 || label >= n_out)
        return PyErr_Format(PyExc_ValueError, "label: expected 0..%d, got %d", n_out - 1, label);
    double *x = floats_in(xo, "x", n_in, NULL);
    if (!x)
        return NULL;

    prop *p = NULL;
    mpq_t *xq = NULL;
    prop_check chk;
    prop_check_init(&chk);
    vfy_result r;
    vfy_result_init(&r);
    bnd_ctx *bc = NULL;
    bnd_opts bo;
    bnd_opts_init(&bo, bm);
    bool proven = false;
    double min_lb = NAN;
    const char *verdict = "unknown";
    cn_err err;
    cn_status s;
    Py_BEGIN_ALLOW_THREADS
    s = ball_prop(self->n, x, label, eps, clip_lo, clip_hi, &p, &xq, &err);
    if (s == CN_OK)
        s = prop_check_point(p, self->n, xq, &chk, &err);
    if (s == CN_OK && chk.violated) {
        verdict = "misclassified";
    } else if (s == CN_OK && norm == 2) {
        /* box ∩ {||x' - x||_2 <= eps}: x is the exact centre (its doubles) and
         * eps a double, so the ball is exactly the one asked for */
        bnd_ball ball = {x, eps};
        const prop_case *pc = prop_case_at(p, 0);
        double *lb = cn_calloc((size_t)vfy_case_n_atoms(pc) + 1, sizeof(double));
        bc = bnd_ctx_new(self->n, &err);
        s = !lb ? cn_fail(&err, CN_ENOMEM, "out of memory")
            : bc ? vfy_bounds_case_ball(self->n, bc, &bo, p, 0, &ball, lb, &proven, &err)
                 : err.status;
        for (int k = 0; s == CN_OK && k < vfy_case_n_atoms(pc); k++)
            if (isnan(min_lb) || lb[k] < min_lb)
                min_lb = lb[k];
        cn_free(lb);
        if (s == CN_OK && proven)
            verdict = "robust";
    } else if (s == CN_OK) {
        bc = bnd_ctx_new(self->n, &err);
        s = bc ? vfy_bounds_prop(self->n, bc, &bo, p, &proven, &min_lb, &err) : err.status;
        if (s == CN_OK && proven)
            verdict = "robust";
        if (s == CN_OK && !proven && complete) {
            s = vfy_verify(self->n, p, &o, NULL, &r, &err);
            if (s == CN_OK)
                verdict = r.verdict == VFY_UNSAT ? "robust"
                          : r.verdict == VFY_SAT ? "not-robust"
                                                 : vfy_verdict_name(r.verdict);
        }
    }
    Py_END_ALLOW_THREADS
    PyObject *d = NULL;
    if (s != CN_OK) {
        raise_cn(s, &err);
    } else if ((d = PyDict_New()) != NULL) {
        bool by_engine = complete && !proven && !chk.violated;
        if (!(put(d, "verdict", PyUnicode_FromString(verdict)) &&
              put(d, "label", PyLong_FromLong(label)) &&
              put(d, "eps", PyFloat_FromDouble(eps)) &&
              put(d, "method", PyUnicode_FromString(bnd_method_name(bm))) &&
              put(d, "norm", norm == 2 ? PyLong_FromLong(2) : PyUnicode_FromString("inf")) &&
              put(d, "min_margin", chk.violated ? Py_NewRef(Py_None) : float_or_none(min_lb)) &&
              put(d, "engine", by_engine ? result_dict(&r, &o, self->path, prop_name(p))
                                         : Py_NewRef(Py_None)))) {
            Py_CLEAR(d);
        }
    }
    bnd_ctx_free(bc);
    vfy_result_clear(&r);
    prop_check_clear(&chk);
    prop_free(p);
    free_q(xq, n_in);
    PyMem_Free(x);
    return d;
}

/* attack(vnnlib, method="pgd", time=10, restarts=2000, seed=1): PGD or FGSM
 * against a property file; a point only when confirmed exactly. */
static PyObject *net_attack_py(Net *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"vnnlib", "method", "time", "restarts", "seed", NULL};
    const char *path, *method = "pgd";
    double time_s = 10;
    long restarts = 2000;
    unsigned long long seed = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "s|sdlK", kwlist, &path, &method, &time_s,
                                     &restarts, &seed))
        return NULL;
    atk_opts o;
    atk_opts_init(&o);
    if (!strcmp(method, "pgd"))
        o.method = ATK_PGD;
    else if (!strcmp(method, "fgsm"))
        o.method = ATK_FGSM;
    else
        return PyErr_Format(PyExc_ValueError, "method: expected 'pgd' or 'fgsm', got '%s'",
                            method);
    if (!(time_s > 0 && isfinite(time_s)) || restarts < 1)
        return PyErr_Format(PyExc_ValueError, "time and restarts must be positive");
    o.time_limit = time_s;
    o.max_restarts = restarts;
    o.seed = seed;
    prop *p = NULL;
    atk_result r;
    atk_result_init(&r);
    cn_err err;
    cn_status s;
    Py_BEGIN_ALLOW_THREADS
    s = load_prop(self->n, path, &p, &err);
    if (s == CN_OK)
        s = atk_run(self->n, p, &o, &r, &err);
    Py_END_ALLOW_THREADS
    PyObject *d = NULL;
    if (s != CN_OK) {
        raise_cn(s, &err);
    } else if ((d = PyDict_New()) != NULL) {
        if (!(put(d, "verdict", PyUnicode_FromString(r.found ? "sat" : "unknown")) &&
              put(d, "method", PyUnicode_FromString(method)) &&
              put(d, "time_s", PyFloat_FromDouble(r.seconds)) &&
              put(d, "restarts", PyLong_FromLong(r.restarts)) &&
              put(d, "x", r.found ? floats_out(r.x_d, r.n_in) : Py_NewRef(Py_None)) &&
              put(d, "x_exact", r.found ? rationals_out(r.x, r.n_in) : Py_NewRef(Py_None))))
            Py_CLEAR(d);
    }
    atk_result_clear(&r);
    prop_free(p);
    return d;
}

/* bounds(lo, hi, method="crown"): sound bounds of every output over the box,
 * as two lists (None where no finite bound was established). */
static PyObject *net_bounds_py(Net *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"lo", "hi", "method", NULL};
    PyObject *loo, *hio;
    const char *mname = "crown";
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|s", kwlist, &loo, &hio, &mname))
        return NULL;
    bnd_method m;
    if (!bnd_method_parse(mname, &m))
        return PyErr_Format(PyExc_ValueError,
                            "method: expected interval, deeppoly, crown or alpha, got '%s'", mname);
    int n_in = net_in_size(self->n), n_out = net_out_size(self->n);
    double *lo = floats_in(loo, "lo", n_in, NULL);
    double *hi = lo ? floats_in(hio, "hi", n_in, NULL) : NULL;
    if (!hi) {
        PyMem_Free(lo);
        return NULL;
    }
    for (int i = 0; i < n_in; i++)
        if (!(lo[i] <= hi[i])) {
            PyErr_Format(PyExc_ValueError, "lo[%d] = %g > hi[%d] = %g", i, lo[i], i, hi[i]);
            PyMem_Free(lo);
            PyMem_Free(hi);
            return NULL;
        }
    /* rows +e_j and -e_j: lb(y_j) and -ub(y_j) */
    double *C = PyMem_Calloc((size_t)2 * n_out * n_out, sizeof(double));
    double *lb = PyMem_Calloc((size_t)2 * n_out, sizeof(double));
    double *olo = PyMem_Calloc((size_t)n_out, sizeof(double));
    double *ohi = PyMem_Calloc((size_t)n_out, sizeof(double));
    cn_err err;
    cn_status s = CN_ENOMEM;
    if (C && lb && olo && ohi) {
        for (int j = 0; j < n_out; j++) {
            C[(size_t)j * n_out + j] = 1.0;
            C[(size_t)(n_out + j) * n_out + j] = -1.0;
        }
        bnd_opts o;
        bnd_opts_init(&o, m);
        bnd_region reg = {lo, hi, NULL, NULL, NULL, NULL, NULL};
        Py_BEGIN_ALLOW_THREADS
        bnd_ctx *bc = bnd_ctx_new(self->n, &err);
        s = bc ? bnd_run(bc, &o, &reg, 2 * n_out, C, NULL, lb, NULL, &err) : err.status;
        bnd_ctx_free(bc);
        Py_END_ALLOW_THREADS
        for (int j = 0; s == CN_OK && j < n_out; j++) {
            olo[j] = lb[j];
            ohi[j] = -lb[n_out + j];
        }
    } else {
        cn_fail(&err, CN_ENOMEM, "out of memory");
    }
    PyObject *r = NULL;
    if (s == CN_OK) {
        PyObject *a = floats_out(olo, n_out), *b = a ? floats_out(ohi, n_out) : NULL;
        r = b ? PyTuple_Pack(2, a, b) : NULL;
        Py_XDECREF(a);
        Py_XDECREF(b);
    } else {
        raise_cn(s, &err);
    }
    PyMem_Free(lo);
    PyMem_Free(hi);
    PyMem_Free(C);
    PyMem_Free(lb);
    PyMem_Free(olo);
    PyMem_Free(ohi);
    return r;
}

static PyObject *net_get_inputs(Net *self, void *c) { return PyLong_FromLong(net_in_size(self->n)); }
static PyObject *net_get_outputs(Net *self, void *c) { return PyLong_FromLong(net_out_size(self->n)); }

static PyGetSetDef net_getset[] = {
    {"inputs", (getter)net_get_inputs, NULL, "number of inputs", NULL},
    {"outputs", (getter)net_get_outputs, NULL, "number of outputs", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyMethodDef net_methods[] = {
    {"info", (PyCFunction)net_info_dict, METH_NOARGS, "the network's description, as `certnn info`"},
    {"forward", (PyCFunction)net_forward_py, METH_VARARGS, "outputs in double precision"},
    {"verify", (PyCFunction)(void (*)(void))net_verify_py, METH_VARARGS | METH_KEYWORDS,
     "the complete engine on a VNN-LIB property"},
    {"verify_sample", (PyCFunction)(void (*)(void))net_verify_sample_py,
     METH_VARARGS | METH_KEYWORDS, "robustness of the L-infinity eps-ball around a sample"},
    {"attack", (PyCFunction)(void (*)(void))net_attack_py, METH_VARARGS | METH_KEYWORDS,
     "PGD or FGSM against a VNN-LIB property"},
    {"bounds", (PyCFunction)(void (*)(void))net_bounds_py, METH_VARARGS | METH_KEYWORDS,
     "sound output bounds over an input box"},
    {NULL, NULL, 0, NULL}};

static PyTypeObject NetType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "certnn._certnn.Net",
    .tp_basicsize = sizeof(Net),
    .tp_dealloc = (destructor)net_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "a network loaded by certnn.load",
    .tp_methods = net_methods,
    .tp_getset = net_getset,
};

/* engine_options(): {keyword: (default, low, high, choices, help)} from the table. */
static PyObject *py_engine_options(PyObject *mod, PyObject *unused)
{
    PyObject *d = PyDict_New();
    if (!d)
        return NULL;
    char key[64];
#define PY_DEF_DBL(def) PyFloat_FromDouble((double)(def))
#define PY_DEF_INT(def) PyLong_FromDouble((double)(def))
#define PY_DEF_ENUM(def) PyUnicode_FromString(def)
#define PY_INFO(kind, type, field, name, sh, arg, def, low, high, choices, help)             \
    {                                                                                        \
        size_t i = 0;                                                                        \
        for (; name[i] && i + 1 < sizeof key; i++)                                           \
            key[i] = name[i] == '-' ? '_' : name[i];                                         \
        key[i] = '\0';                                                                       \
        const char *ch = choices;                                                            \
        if (!put(d, key,                                                                     \
                 Py_BuildValue("(Nddzs)", PY_DEF_##kind(def), (double)(low), (double)(high),  \
                               ch, help))) {                                                 \
            Py_DECREF(d);                                                                    \
            return NULL;                                                                     \
        }                                                                                    \
    }
    VFY_OPTIONS(PY_INFO)
#undef PY_INFO
#undef PY_DEF_ENUM
#undef PY_DEF_INT
#undef PY_DEF_DBL
    return d;
}

static PyMethodDef module_methods[] = {
    {"load", py_load, METH_VARARGS, "load(path): an ONNX or NNet network"},
    {"engine_options", py_engine_options, METH_NOARGS,
     "the engine's options: {keyword: (default, low, high, choices, help)}"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_certnn",
    .m_doc = "certnn's library, under the certnn package",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__certnn(void); /* the one symbol Python looks up */
PyMODINIT_FUNC PyInit__certnn(void)
{
    if (PyType_Ready(&NetType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m)
        return NULL;
    cn_error = PyErr_NewExceptionWithDoc("certnn.Error",
                                         "a failure reported by certnn, with its message", NULL,
                                         NULL);
    if (!cn_error || PyModule_AddObjectRef(m, "Error", cn_error) < 0 ||
        PyModule_AddObjectRef(m, "Net", (PyObject *)&NetType) < 0 ||
        PyModule_AddStringConstant(m, "version", PACKAGE_VERSION) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}

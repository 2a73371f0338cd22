/* cmd_spec.c — `certnn spec FILE [--json] [--write OUT] [--model MODEL]`:
 * parse a VNN-LIB property and summarise what certnn will verify. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"

static const cli_opt opts[] = {
    CLI_OPT_JSON("print a JSON object instead of text"),
    {"write", 'w', CLI_OUT, "OUT", NULL, CLI_OUT_STDOUT, 0,
     "write the property back as VNN-LIB (exact where the decimals terminate); '-': on "
     "stdout, the summary then on stderr"},
    {"model", 'm', CLI_STR, "MODEL", NULL, 0, -1,
     "check that the property's input/output counts match this network"},
    {"max-terms", 0, CLI_INT, "N", "100000", 1, 100000000,
     "refuse formulas with more terms in disjunctive normal form"},
    {NULL, 0, 0, NULL, NULL, 0, 0, NULL},
};

/* Per-case facts, all decided exactly. */
typedef struct {
    double min_w, max_w;          /* box widths hi - lo, nearest double (display) */
    int zero_w;                   /* intervals with lo == hi */
    int empty;                    /* intervals with lo > hi (the region is empty) */
    int first_empty;              /* an input with lo > hi, or -1 */
    int atoms, min_atoms, max_atoms, trivial; /* atoms over all disjuncts; disjuncts with 0 */
} case_sum;

static void summarise(const prop *p, const prop_case *c, case_sum *s)
{
    mpq_t w, mn, mx;
    mpq_inits(w, mn, mx, NULL);
    memset(s, 0, sizeof *s);
    s->first_empty = -1;
    for (int i = 0; i < prop_n_in(p); i++) {
        mpq_sub(w, c->hi[i], c->lo[i]);
        int sg = mpq_sgn(w);
        if (sg == 0)
            s->zero_w++;
        if (sg < 0) {
            s->empty++;
            if (s->first_empty < 0)
                s->first_empty = i;
        }
        if (i == 0 || mpq_cmp(w, mn) < 0)
            mpq_set(mn, w);
        if (i == 0 || mpq_cmp(w, mx) > 0)
            mpq_set(mx, w);
    }
    s->min_w = mpq_get_d(mn);
    s->max_w = mpq_get_d(mx);
    for (int d = 0; d < c->n_disj; d++) {
        int n = c->disj[d].n;
        s->atoms += n;
        if (d == 0 || n < s->min_atoms)
            s->min_atoms = n;
        if (d == 0 || n > s->max_atoms)
            s->max_atoms = n;
        s->trivial += n == 0;
    }
    mpq_clears(w, mn, mx, NULL);
}

static int write_out(const prop *p, const char *path, bool *exact)
{
    cn_err err;
    if (strcmp(path, "-") == 0) {
        cn_status st = prop_write_vnnlib(p, stdout, exact, &err);
        if (fflush(stdout) != 0 && st == CN_OK)
            st = cn_fail(&err, CN_EIO, "<stdout>: write error: %s", strerror(errno));
        return st == CN_OK ? CLI_EXIT_OK : cli_report(&err);
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        cli_error("%s: cannot open for writing: %s", path, strerror(errno));
        return CLI_EXIT_NOINPUT;
    }
    cn_status st = prop_write_vnnlib(p, f, exact, &err);
    if (fclose(f) != 0 && st == CN_OK)
        st = cn_fail(&err, CN_EIO, "%s: write error: %s", path, strerror(errno));
    if (st != CN_OK)
        return cli_report(&err);
    return CLI_EXIT_OK;
}

static int run(const cli_args *a)
{
    cn_err err;
    const char *path = a->pos[0];
    unsigned char *data = NULL;
    size_t len = 0;
    prop *p = NULL;
    net *n = NULL;
    int rc = CLI_EXIT_OK;
    char sha[65];                 /* of the file's bytes, also when gzipped */
    if (cn_read_input(path, &data, &len, sha, &err) != CN_OK)
        return cli_report(&err);
    cn_status st = prop_parse_vnnlib_mem((const char *)data, len, path, cli_int(a, "max-terms"),
                                         &p, &err);
    cn_free(data);
    if (st != CN_OK)
        return cli_report(&err);
    const char *model = cli_str(a, "model");
    if (model) {
        if (net_load(model, &n, &err) != CN_OK) {
            rc = cli_report(&err);
            goto done;
        }
        if (net_in_size(n) != prop_n_in(p) || net_out_size(n) != prop_n_out(p)) {
            cli_error("%s: the property has %d inputs and %d outputs, but %s has %d and %d",
                      path, prop_n_in(p), prop_n_out(p), model, net_in_size(n),
                      net_out_size(n));
            rc = CLI_EXIT_DATA;
            goto done;
        }
    }
    bool exact = true;
    const char *out = cli_str(a, "write");
    bool to_stdout = out && strcmp(out, "-") == 0;
    if (to_stdout && cli_flag(a, "json")) {
        cli_error("spec: --write - and --json both want stdout: give --write a file name");
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    FILE *o = to_stdout ? stderr : stdout; /* the summary's stream */
    if (out && (rc = write_out(p, out, &exact)) != CLI_EXIT_OK)
        goto done;

    int nc = prop_n_cases(p);
    if (cli_flag(a, "json")) {
        json_t *cases = json_array();
        for (int i = 0; i < nc; i++) {
            const prop_case *c = prop_case_at(p, i);
            case_sum s;
            summarise(p, c, &s);
            json_array_append_new(
                cases, json_pack("{s:{s:f, s:f, s:i, s:i}, s:i, s:i, s:i, s:i, s:i, s:i}", "box",
                                 "min_width", s.min_w, "max_width", s.max_w, "zero_width",
                                 s.zero_w, "empty_intervals", s.empty, "linear_constraints",
                                 c->n_lin, "disjuncts", c->n_disj, "atoms", s.atoms,
                                 "min_atoms_per_disjunct", s.min_atoms,
                                 "max_atoms_per_disjunct", s.max_atoms,
                                 "disjuncts_without_atoms", s.trivial));
        }
        json_t *root = json_pack("{s:s, s:s, s:i, s:i, s:i, s:o}", "property", path, "sha256", sha,
                                 "inputs", prop_n_in(p), "outputs", prop_n_out(p), "n_cases", nc,
                                 "cases", cases);
        if (root)   /* null when not asked for (docs/json.md) */
            json_object_set_new(root, "model",
                                model ? json_pack("{s:s, s:b}", "path", model, "matches", 1)
                                      : json_null());
        if (root)
            json_object_set_new(root, "written",
                                out ? json_pack("{s:s, s:b}", "path", out, "exact", exact)
                                    : json_null());
        char *js = root ? cli_json_dumps(root) : NULL;
        json_decref(root);
        if (!js) {
            cli_error("out of memory building JSON");
            rc = CLI_EXIT_OSERR;
            goto done;
        }
        puts(js);
        free(js);
        goto done;
    }
    fprintf(o, "property: %s\n", path);
    fprintf(o, "sha256:   %s\n", sha);
    fprintf(o, "inputs:   %d (X_0..X_%d)\n", prop_n_in(p), prop_n_in(p) - 1);
    fprintf(o, "outputs:  %d (Y_0..Y_%d)\n", prop_n_out(p), prop_n_out(p) - 1);
    fprintf(o, "cases:    %d%s\n", nc,
           nc > 1 ? " (input regions, each with its own unsafe set)" : "");
    for (int i = 0; i < nc; i++) {
        const prop_case *c = prop_case_at(p, i);
        case_sum s;
        summarise(p, c, &s);
        fprintf(o, "case %d:\n", i);
        fprintf(o, "  box:      width %.6g .. %.6g, %d zero-width interval(s)\n", s.min_w, s.max_w,
               s.zero_w);
        if (s.empty)
            fprintf(o, "  note:     %d interval(s) have lower > upper bound (first X_%d): this "
                   "region is empty, no input lies in it\n",
                   s.empty, s.first_empty);
        fprintf(o, "  linear:   %d input constraint(s) besides the box\n", c->n_lin);
        fprintf(o, "  unsafe:   %d disjunct(s), %d atom(s)", c->n_disj, s.atoms);
        if (c->n_disj)
            fprintf(o, " (%d..%d per disjunct)", s.min_atoms, s.max_atoms);
        fputc('\n', o);
        if (s.trivial)
            fprintf(o, "  note:     %d disjunct(s) have no output condition: every point of the "
                   "region is a counterexample\n",
                   s.trivial);
    }
    if (model)
        fprintf(o, "model:    %s matches (%d inputs, %d outputs)\n", model, net_in_size(n),
               net_out_size(n));
    if (out)
        fprintf(o, "written:  %s (%s)\n", out,
               exact ? "exact" : "some bounds rounded outward to 20 significant digits");
done:
    net_free(n);
    prop_free(p);
    return rc;
}

const cli_cmd cli_cmd_spec = {
    .name = "spec",
    .usage = "FILE [--json] [--write OUT.vnnlib] [--model MODEL]",
    .summary = "parse a VNN-LIB property and summarise its cases, boxes and unsafe sets",
    .details = "FILE is a VNN-LIB property (the counterexample region: input constraints and an\n"
               "output condition).  The formula is brought to disjunctive normal form; terms\n"
               "with the same input region form one case.  Every number is read exactly.\n"
               "With --write, the parsed property is written back as VNN-LIB; bounds whose\n"
               "decimal expansion does not terminate are rounded outward (a note says so).",
    .opts = opts,
    .min_pos = 1,
    .max_pos = 1,
    .run = run,
};

/* cmd_check.c — `certnn check CERT [--pubkey PUB] [--model M] [--vnnlib P]
 * [--data F] [--threads T]`: verifies a certificate's signature and hashes,
 * matches the files it names, and re-proves its verdicts with the
 * independent checker of certs/ (no search code involved). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "certs/certs.h"
#include "cli/cli.h"

static const cli_opt opts[] = {
    {"pubkey", 'k', CLI_STR, "PUB", NULL, 0, -1,
     "trusted public key (NAME.pub): the certificate must be signed by it"},
    {"model", 'm', CLI_STR, "MODEL", NULL, 0, -1,
     "the model file (default: the file named in the certificate, as given or next to it)"},
    {"vnnlib", 'p', CLI_STR, "FILE", NULL, 0, -1,
     "the VNN-LIB property (default: the file named in the certificate, as given or next to "
     "it): its hash must match, and the proven property must be its property"},
    {"data", 'd', CLI_STR, "FILE", NULL, 0, -1,
     "sweeps: the samples file (default: the file named in the certificate, as given or next "
     "to it); its hash and every sample must match"},
    {"labels", 0, CLI_STR, "FILE", NULL, 0, -1,
     "IDX labels file for IDX images (default: the images file's name with "
     "labels-idx1 for images-idx3)"},
    {"allow-unsigned", 0, CLI_FLAG, NULL, NULL, 0, -1,
     "accept an unsigned certificate, or a signature not checked against --pubkey"},
    {"max-size", 0, CLI_INT, "MB", "64", 1, 1048576,
     "refuse a certificate file larger than MB mebibytes, unread"},
    {"max-nodes", 0, CLI_INT, "N", "2000000", 1, 1000000000,
     "refuse a certificate with more than N proof nodes (counted before parsing)"},
    {"max-depth", 0, CLI_INT, "N", "10000", 1, 100000000,
     "refuse a proof tree with more than N splits on one path"},
    {"threads", 'j', CLI_INT, "T", "0", 0, 1024,
     "threads re-proving the refutations (0: all cores); the outcome does not depend on it"},
    CLI_OPT_QUIET("print nothing; the exit code tells"),
    CLI_OPT_JSON("print a JSON object instead of text"),
    {NULL, 0, 0, NULL, NULL, 0, 0, NULL},
};

/* --threads, with 0 for all cores. */
static int threads_of(const cli_args *a)
{
    int t = (int)cli_int(a, "threads");
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return t > 0 ? t : c > 0 ? (int)c : 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef enum { FILE_FOUND, FILE_NOT_NAMED, FILE_NOT_FOUND, FILE_NOMEM } file_found;

/* A readable regular file (a name from a certificate never opens a device
 * or a pipe). */
static bool regular(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && access(path, R_OK) == 0;
}

/* A file the certificate names (what: "model", "property", "data"): the
 * option opt when given, else the name as given, else that name's last
 * component next to the certificate.  *path (cn_free) when found; *named
 * (cn_free) the name in the certificate, when it names one. */
static file_found find_file(const cli_args *a, const char *opt, const char *cert,
                            const unsigned char *bytes, size_t len, const char *what,
                            char **path, char **named)
{
    cn_err err;
    *path = *named = NULL;
    if (cli_str(a, opt)) {
        *path = cn_strdup(cli_str(a, opt));
        return *path ? FILE_FOUND : FILE_NOMEM;
    }
    if (cert_named_file((const char *)bytes, len, what, named, &err) != CN_OK)
        return err.status == CN_ENOMEM ? FILE_NOMEM : FILE_NOT_NAMED;
    const char *f = *named;
    if (regular(f)) {
        *path = cn_strdup(f);
        return *path ? FILE_FOUND : FILE_NOMEM;
    }
    const char *slash = strrchr(cert, '/'), *base = strrchr(f, '/');
    base = base ? base + 1 : f;
    size_t dn = slash ? (size_t)(slash - cert) + 1 : 0, n = dn + strlen(base) + 1;
    char *p = cn_malloc(n);
    if (!p)
        return FILE_NOMEM;
    snprintf(p, n, "%.*s%s", (int)dn, cert, base);
    if (regular(p)) {
        *path = p;
        return FILE_FOUND;
    }
    cn_free(p);
    return FILE_NOT_FOUND;
}

/* The IDX labels file next to an IDX images file ("...-images-idx3-..." ->
 * "...-labels-idx1-..."), when it exists; NULL otherwise. */
static char *sibling_labels(const char *images)
{
    const char *at = strstr(images, "images-idx3");
    if (!at)
        return NULL;
    char *p = cn_strdup(images);
    if (!p)
        return NULL;
    memcpy(p + (at - images), "labels-idx1", 11);
    if (regular(p))
        return p;
    cn_free(p);
    return NULL;
}

static const char *sig_name(cert_sig s)
{
    switch (s) {
    case CERT_SIG_NONE: return "unsigned";
    case CERT_SIG_TRUSTED: return "valid (trusted key)";
    case CERT_SIG_UNTRUSTED: return "valid for its embedded key (no --pubkey)";
    case CERT_SIG_BAD: return "bad";
    }
    return "?";
}

static const char *bind_name(cert_bind b)
{
    switch (b) {
    case CERT_BIND_NONE: return "none";
    case CERT_BIND_MATCHED: return "matched";
    case CERT_BIND_UNMATCHED: return "not matched";
    }
    return "?";
}

/* Prints the outcome; returns the exit code.  unchecked: what a valid
 * certificate was not matched against ("" when everything was). */
static int report(const cli_args *a, const char *cert, const cert_report *rep,
                  const char *unchecked, const char *vfile, const char *dfile, double secs)
{
    bool json = cli_flag(a, "json"), quiet = cli_flag(a, "quiet");
    bool partial = rep->valid && (rep->property == CERT_BIND_UNMATCHED ||
                                  rep->data == CERT_BIND_UNMATCHED);
    if (partial && !unchecked[0])
        unchecked = rep->property == CERT_BIND_UNMATCHED
                        ? "the certificate's property file was not found, so it was not "
                          "matched; give --vnnlib"
                        : "the certificate's data file was not found, so its samples were not "
                          "matched; give --data";
    if (!partial)
        unchecked = "";
    int rc = !rep->valid ? CLI_EXIT_CEX : partial ? CLI_EXIT_UNKNOWN : CLI_EXIT_OK;
    if (json) {
        json_t *o = json_pack(
            "{s:s, s:b, s:b, s:s, s:s, s:s, s:b, s:s, s:s?, s:s, s:s?, s:i, s:i, s:i, s:i, "
            "s:I, s:I, s:I, s:I, s:i, s:f}",
            "certificate", cert, "valid", rep->valid, "complete", rep->valid && !partial,
            "failure", rep->why, "unchecked", unchecked, "signature", sig_name(rep->sig),
            "parsed", rep->parsed, "property", bind_name(rep->property), "property_file", vfile,
            "data", bind_name(rep->data), "data_file", dfile, "results", rep->n_results,
            "proven", rep->n_proven, "counterexamples", rep->n_cex, "open", rep->n_open,
            "proof_nodes", (json_int_t)rep->n_nodes, "nodes", (json_int_t)rep->stats.nodes,
            "bounded", (json_int_t)rep->stats.bounded, "refutations",
            (json_int_t)rep->stats.refutations, "depth", rep->stats.depth, "time_s", secs);
        int jrc = cli_print_json(o);
        return jrc ? jrc : rc;
    }
    if (quiet)
        return rc;
    if (!rep->valid) {
        printf("INVALID: %s\n", rep->why);
        return rc;
    }
    if (partial)
        printf("valid for %s only (exit 2): %s; ", rep->property == CERT_BIND_UNMATCHED
                                                       ? "the embedded property"
                                                       : "the embedded samples", unchecked);
    else
        printf("valid: ");
    printf("%d result%s (%d proven, %d counterexample%s confirmed, %d without a claim); "
           "signature %s; %ld nodes, %ld refutations re-proved, %.3f s\n",
           rep->n_results, rep->n_results == 1 ? "" : "s", rep->n_proven, rep->n_cex,
           rep->n_cex == 1 ? "" : "s", rep->n_open, sig_name(rep->sig), rep->stats.nodes,
           rep->stats.refutations, secs);
    return rc;
}

static int run(const cli_args *a)
{
    const char *cert = a->pos[0];
    cn_err err;
    unsigned char *bytes = NULL, *fb = NULL;
    size_t len = 0, flen = 0;
    char *mpath = NULL, *vpath = NULL, *dpath = NULL, *vnamed = NULL, *dnamed = NULL;
    char *mnamed = NULL, *lpath = NULL;
    char unchecked[1024] = "";
    net *n = NULL;
    prop *p = NULL;
    ds_set *ds = NULL;
    char vsha[65], dsha[65];
    unsigned char pk[32];
    int rc = CLI_EXIT_OK;
    double t0 = now_s();
    cert_report rep;
    cert_check_in in = {
        .pubkey = cli_str(a, "pubkey") ? pk : NULL,
        .allow_unsigned = cli_flag(a, "allow-unsigned"),
        .limits = {.max_bytes = (size_t)cli_int(a, "max-size") << 20,
                   .max_nodes = cli_int(a, "max-nodes"),
                   .max_depth = (int)cli_int(a, "max-depth")},
        .threads = threads_of(a),
    };
    if (in.pubkey && cert_pubkey_load(cli_str(a, "pubkey"), pk, &err) != CN_OK) {
        rc = cli_report(&err);
        goto done;
    }
    /* the size limit before reading, then the envelope, the signature and
     * the key policy before anything is parsed or loaded */
    struct stat sb;
    if (stat(cert, &sb) == 0 && S_ISREG(sb.st_mode) &&
        (unsigned long long)sb.st_size > (unsigned long long)in.limits.max_bytes) {
        memset(&rep, 0, sizeof rep);
        snprintf(rep.why, sizeof rep.why, "the certificate is %lld bytes, more than the limit "
                 "of %zu bytes (nothing was read; raise it with --max-size)",
                 (long long)sb.st_size, in.limits.max_bytes);
        rc = report(a, cert, &rep, "", NULL, NULL, now_s() - t0);
        goto done;
    }
    if (cn_read_file(cert, &bytes, &len, &err) != CN_OK) {
        rc = cli_report(&err);
        goto done;
    }
    if (!cert_screen((const char *)bytes, len, &in, &rep)) {
        /* bytes without a "signed" part anywhere are no certificate at all
         * (another file given by mistake): bad input, not an invalid
         * certificate; a damaged certificate still has it and is INVALID */
        if (!memmem(bytes, len, "\"signed\"", 8)) {
            cli_error("%s: not a certnn certificate (a certificate is the one-line JSON document "
                      "{\"signature\":...,\"signed\":{...}} or {\"signed\":{...}} that "
                      "'certnn verify --cert' writes)", cert);
            rc = CLI_EXIT_DATA;
            goto done;
        }
        rc = report(a, cert, &rep, "", NULL, NULL, now_s() - t0);
        goto done;
    }
    /* the model: required */
    file_found ff = find_file(a, "model", cert, bytes, len, "model", &mpath, &mnamed);
    if (ff == FILE_NOMEM) {
        cli_error("out of memory");
        rc = CLI_EXIT_OSERR;
        goto done;
    }
    if (ff != FILE_FOUND) {
        if (ff == FILE_NOT_NAMED)
            cli_error("%s: the certificate names no model file (give --model)", cert);
        else
            cli_error("%s: cannot find the model '%s' named in the certificate (give --model)",
                      cert, mnamed);
        rc = ff == FILE_NOT_NAMED ? CLI_EXIT_CEX : CLI_EXIT_NOINPUT;
        goto done;
    }
    if (net_load(mpath, &n, &err) != CN_OK) {
        rc = cli_report(&err);
        goto done;
    }
    /* the property file: matched when found, else said plainly */
    ff = find_file(a, "vnnlib", cert, bytes, len, "property", &vpath, &vnamed);
    if (ff == FILE_NOMEM) {
        cli_error("out of memory");
        rc = CLI_EXIT_OSERR;
        goto done;
    }
    if (ff == FILE_NOT_FOUND)
        snprintf(unchecked, sizeof unchecked, "the property file '%s' named in the certificate "
                 "was not found (as given or next to the certificate), so it was not matched; "
                 "give --vnnlib", vnamed);
    if (ff == FILE_FOUND) {
        if (cn_read_file(vpath, &fb, &flen, &err) != CN_OK ||
            prop_parse_vnnlib(vpath, &p, &err) != CN_OK) {
            rc = cli_report(&err);
            goto done;
        }
        cn_sha256_hex(fb, flen, vsha);
        cn_free(fb);
        fb = NULL;
        in.vnnlib = p;
        in.vnnlib_sha256 = vsha;
        in.vnnlib_path = vpath;
    }
    /* the data file of a sweep, likewise */
    ff = find_file(a, "data", cert, bytes, len, "data", &dpath, &dnamed);
    if (ff == FILE_NOMEM) {
        cli_error("out of memory");
        rc = CLI_EXIT_OSERR;
        goto done;
    }
    if (ff == FILE_NOT_FOUND)
        snprintf(unchecked, sizeof unchecked, "the data file '%s' named in the certificate was "
                 "not found (as given or next to the certificate), so its samples were not "
                 "matched; give --data", dnamed);
    if (ff == FILE_FOUND) {
        const char *labels = cli_str(a, "labels");
        if (!labels)
            labels = lpath = sibling_labels(dpath);
        if (cn_read_file(dpath, &fb, &flen, &err) != CN_OK) {
            rc = cli_report(&err);
            goto done;
        }
        cn_sha256_hex(fb, flen, dsha);
        cn_status ls = ds_load(dpath, labels, 0, -1, &ds, &err);
        if (ls != CN_OK && (cli_str(a, "data") || ls == CN_ENOMEM)) {
            rc = cli_report(&err);
            goto done;
        }
        if (ls != CN_OK)
            snprintf(unchecked, sizeof unchecked, "the data file '%s' named in the certificate "
                     "could not be loaded (%s), so its samples were not matched; give --data "
                     "and --labels", dpath, err.msg);
        in.data = ds;
        in.data_sha256 = dsha;
        in.data_path = dpath;
    }
    net_info ni;
    net_get_info(n, &ni);
    in.model = n;
    in.model_sha256 = ni.sha256;
    if (cert_check_mem((const char *)bytes, len, &in, &rep, &err) != CN_OK) {
        rc = cli_report(&err);
        goto done;
    }
    rc = report(a, cert, &rep, unchecked, vpath ? vpath : vnamed, dpath ? dpath : dnamed,
                now_s() - t0);
done:
    cn_free(bytes);
    cn_free(fb);
    cn_free(mpath);
    cn_free(mnamed);
    cn_free(vpath);
    cn_free(vnamed);
    cn_free(dpath);
    cn_free(dnamed);
    cn_free(lpath);
    net_free(n);
    prop_free(p);
    ds_free(ds);
    return rc;
}

const cli_cmd cli_cmd_check = {
    .name = "check",
    .usage = "CERT [--pubkey PUB] [--model MODEL] [--vnnlib P] [--data F] [--threads T] [--json]",
    .summary = "verify a certificate's signature and hashes and re-prove its verdicts",
    .details =
        "Independent of the search: counterexamples are re-evaluated in exact rational\n"
        "arithmetic; proofs are replayed (tree well formed and covering the region, every\n"
        "leaf's disjuncts refuted on its path, every refutation re-proved by the checker's own\n"
        "interval + CROWN bounds in directed rounding).  The certificate must be signed by\n"
        "--pubkey unless --allow-unsigned.  Certificates are untrusted input: the size limit\n"
        "(--max-size), the signature and the key policy are checked before anything is parsed,\n"
        "the node and depth limits (--max-nodes, --max-depth) before any proof is built, and\n"
        "every binding before anything is re-proved.\n"
        "The walk over each proof tree is sequential; the regions it reaches are bounded\n"
        "and their refutations re-proved on --threads threads (0: all cores), each with its\n"
        "own bounds, in chunks of at most 64 MiB of regions.  The verdict, the message (the\n"
        "first failure in the tree's order) and the counts are the same for every T.\n"
        "The files the certificate names are found like the model (the option, else the name\n"
        "as given, else next to the certificate) and matched: the model and property by\n"
        "SHA-256, the proven property must be the property file's (same parsed property),\n"
        "every sample of a sweep must be the data file's.\n"
        "Exit 0 when everything holds and every named file was found and matched; 2 when\n"
        "everything checked holds but the named property or data file was not found, so only\n"
        "the copy embedded in the certificate was checked (the output says which: \"valid for\n"
        "the embedded property only\", --json \"complete\": false and \"unchecked\"); 1 when\n"
        "something does not hold (the message names the field); 65 when CERT is not a\n"
        "certificate at all (no \"signed\" part); 66 when the model cannot be found.",
    .opts = opts,
    .min_pos = 1,
    .max_pos = 1,
    .run = run,
};

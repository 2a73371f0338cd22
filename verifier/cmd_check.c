/* cmd_check.c — `certnn check CERT [--pubkey PUB] [--model M] [--vnnlib P]`:
 * verifies a certificate's signature and hashes and re-proves its verdicts
 * with the independent checker of certs/ (no search code involved). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "certs/certs.h"
#include "verifier/cli.h"

static const cli_opt opts[] = {
    {"pubkey", 'k', CLI_STR, "PUB", NULL, 0, -1,
     "trusted public key (NAME.pub): the certificate must be signed by it"},
    {"model", 'm', CLI_STR, "MODEL", NULL, 0, -1,
     "the model file (default: the file named in the certificate, as given or next to it)"},
    {"vnnlib", 'p', CLI_STR, "FILE", NULL, 0, -1,
     "the VNN-LIB property: its hash and parsed form must match the certificate's"},
    {"data", 'd', CLI_STR, "FILE", NULL, 0, -1,
     "sweeps: the samples file; its hash and every sample must match"},
    {"labels", 0, CLI_STR, "FILE", NULL, 0, -1, "IDX labels file for --data IDX images"},
    {"allow-unsigned", 0, CLI_FLAG, NULL, NULL, 0, -1,
     "accept an unsigned certificate, or a signature not checked against --pubkey"},
    {"quiet", 'q', CLI_FLAG, NULL, NULL, 0, -1, "print nothing; the exit code tells"},
    {"json", 0, CLI_FLAG, NULL, NULL, 0, -1, "print a JSON object instead of text"},
    {NULL, 0, 0, NULL, NULL, 0, 0, NULL},
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The model: --model, else the certificate's file name as given, else that
 * name's last component next to the certificate.  *path: cn_free. */
static int find_model(const cli_args *a, const char *cert, const unsigned char *bytes,
                      size_t len, char **path)
{
    cn_err err;
    if (cli_str(a, "model")) {
        *path = cn_strdup(cli_str(a, "model"));
        return *path ? CLI_EXIT_OK : CLI_EXIT_OSERR;
    }
    char *f = NULL;
    if (cert_model_file((const char *)bytes, len, &f, &err) != CN_OK) {
        cli_error("%s: %s (give --model)", cert, err.msg);
        return CLI_EXIT_CEX;
    }
    if (access(f, R_OK) == 0) {
        *path = f;
        return CLI_EXIT_OK;
    }
    const char *slash = strrchr(cert, '/'), *base = strrchr(f, '/');
    base = base ? base + 1 : f;
    size_t dn = slash ? (size_t)(slash - cert) + 1 : 0, n = dn + strlen(base) + 1;
    char *p = cn_malloc(n);
    if (!p) {
        cn_free(f);
        return CLI_EXIT_OSERR;
    }
    snprintf(p, n, "%.*s%s", (int)dn, cert, base);
    if (access(p, R_OK) == 0) {
        cn_free(f);
        *path = p;
        return CLI_EXIT_OK;
    }
    cli_error("%s: cannot find the model '%s' named in the certificate (give --model)", cert, f);
    cn_free(f);
    cn_free(p);
    return CLI_EXIT_NOINPUT;
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

static int run(const cli_args *a)
{
    const char *cert = a->pos[0], *vpath = cli_str(a, "vnnlib"), *dpath = cli_str(a, "data");
    bool json = cli_flag(a, "json"), quiet = cli_flag(a, "quiet");
    cn_err err;
    unsigned char *bytes = NULL, *fb = NULL;
    size_t len = 0, flen = 0;
    char *mpath = NULL;
    net *n = NULL;
    prop *p = NULL;
    ds_set *ds = NULL;
    char vsha[65], dsha[65];
    unsigned char pk[32];
    int rc = CLI_EXIT_OK;
    if (cn_read_file(cert, &bytes, &len, &err) != CN_OK) {
        rc = cli_report(&err);
        goto done;
    }
    if ((rc = find_model(a, cert, bytes, len, &mpath)) != CLI_EXIT_OK)
        goto done;
    if (net_load(mpath, &n, &err) != CN_OK) {
        rc = cli_report(&err);
        goto done;
    }
    if (vpath) {
        if (cn_read_file(vpath, &fb, &flen, &err) != CN_OK ||
            prop_parse_vnnlib(vpath, &p, &err) != CN_OK) {
            rc = cli_report(&err);
            goto done;
        }
        cn_sha256_hex(fb, flen, vsha);
        cn_free(fb);
        fb = NULL;
    }
    if (dpath) {
        if (cn_read_file(dpath, &fb, &flen, &err) != CN_OK ||
            ds_load(dpath, cli_str(a, "labels"), 0, -1, &ds, &err) != CN_OK) {
            rc = cli_report(&err);
            goto done;
        }
        cn_sha256_hex(fb, flen, dsha);
    }
    if (cli_str(a, "pubkey") && cert_pubkey_load(cli_str(a, "pubkey"), pk, &err) != CN_OK) {
        rc = cli_report(&err);
        goto done;
    }
    net_info ni;
    net_get_info(n, &ni);
    cert_check_in in = {
        .model = n,
        .model_sha256 = ni.sha256,
        .vnnlib = p,
        .vnnlib_sha256 = vpath ? vsha : NULL,
        .data = ds,
        .data_sha256 = dpath ? dsha : NULL,
        .pubkey = cli_str(a, "pubkey") ? pk : NULL,
        .allow_unsigned = cli_flag(a, "allow-unsigned"),
    };
    cert_report rep;
    double t0 = now_s();
    if (cert_check_mem((const char *)bytes, len, &in, &rep, &err) != CN_OK) {
        rc = cli_report(&err);
        goto done;
    }
    double secs = now_s() - t0;
    rc = rep.valid ? CLI_EXIT_OK : CLI_EXIT_CEX;
    if (json) {
        json_t *o = json_pack("{s:s, s:b, s:s, s:s, s:i, s:i, s:i, s:i, s:I, s:I, s:I, s:i, s:f}",
                              "certificate", cert, "valid", rep.valid, "failure", rep.why,
                              "signature", sig_name(rep.sig), "results", rep.n_results,
                              "proven", rep.n_proven, "counterexamples", rep.n_cex, "open",
                              rep.n_open, "nodes", (json_int_t)rep.stats.nodes, "bounded",
                              (json_int_t)rep.stats.bounded, "refutations",
                              (json_int_t)rep.stats.refutations, "depth", rep.stats.depth,
                              "time_s", secs);
        char *s = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
        json_decref(o);
        if (!s) {
            cli_error("out of memory printing JSON");
            rc = CLI_EXIT_OSERR;
            goto done;
        }
        puts(s);
        free(s);
    } else if (!quiet) {
        if (rep.valid)
            printf("valid: %d result%s (%d proven, %d counterexample%s confirmed, %d without a "
                   "claim); signature %s; %ld nodes, %ld refutations re-proved, %.3f s\n",
                   rep.n_results, rep.n_results == 1 ? "" : "s", rep.n_proven, rep.n_cex,
                   rep.n_cex == 1 ? "" : "s", rep.n_open, sig_name(rep.sig), rep.stats.nodes,
                   rep.stats.refutations, secs);
        else
            printf("INVALID: %s\n", rep.why);
    }
done:
    cn_free(bytes);
    cn_free(fb);
    cn_free(mpath);
    net_free(n);
    prop_free(p);
    ds_free(ds);
    return rc;
}

const cli_cmd cli_cmd_check = {
    .name = "check",
    .usage = "CERT [--pubkey PUB] [--model MODEL] [--vnnlib P] [--data F] [--json]",
    .summary = "verify a certificate's signature and hashes and re-prove its verdicts",
    .details =
        "Independent of the search: counterexamples are re-evaluated in exact rational\n"
        "arithmetic; proofs are replayed (tree well formed and covering the region, every\n"
        "leaf's disjuncts refuted on its path, every refutation re-proved by the checker's own\n"
        "interval + CROWN bounds in directed rounding).  The certificate must be signed by\n"
        "--pubkey unless --allow-unsigned.  Exit 0 when everything holds, 1 when something\n"
        "does not (the message names what and where).",
    .opts = opts,
    .min_pos = 1,
    .max_pos = 1,
    .run = run,
};

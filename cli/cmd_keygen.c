/* cmd_keygen.c — `certnn keygen --out NAME`: an Ed25519 key pair for
 * signing certificates (NAME.key, secret, mode 0600; NAME.pub). */
#include "config.h"

#include <stdio.h>

#include "certs/certs.h"
#include "cli/cli.h"

static const cli_opt opts[] = {
    {"out", 'o', CLI_OUT, "NAME", NULL, 0, -1,
     "write NAME.key (secret, mode 0600) and NAME.pub; existing files are never overwritten"},
    CLI_OPT_QUIET("print nothing on success"),
    {NULL, 0, 0, NULL, NULL, 0, 0, NULL},
};

static int run(const cli_args *a)
{
    const char *name = cli_str(a, "out");
    if (!name || !*name) {
        cli_error("keygen: --out NAME is required (see 'certnn keygen --help')");
        return CLI_EXIT_USAGE;
    }
    cn_err err;
    if (cert_keygen(name, &err) != CN_OK)
        return cli_report(&err);
    if (!cli_flag(a, "quiet"))
        printf("wrote %s.key (secret key, mode 0600: keep it private) and %s.pub (public key)\n",
               name, name);
    return CLI_EXIT_OK;
}

const cli_cmd cli_cmd_keygen = {
    .name = "keygen",
    .usage = "--out NAME",
    .summary = "make an Ed25519 key pair for signing certificates",
    .details = "Writes NAME.key (the libsodium secret key as hex, mode 0600) and NAME.pub (the\n"
               "public key as hex).  Sign with 'certnn verify ... --cert OUT --sign NAME.key';\n"
               "check with 'certnn check OUT --pubkey NAME.pub'.  Refuses to overwrite.",
    .opts = opts,
    .min_pos = 0,
    .max_pos = 0,
    .run = run,
};

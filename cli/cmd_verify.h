/* cmd_verify.h — what the two files of `certnn verify` share (cli__):
 * cmd_verify.c (options, --vnnlib, certificates) and cmd_verify_data.c
 * (--data). */
#ifndef CERTNN_CMD_VERIFY_H
#define CERTNN_CMD_VERIFY_H

#include <signal.h>
#include <time.h>

#include "cli/cli.h"
#include "verifier/verifier.h"

/* Seconds on clock id (CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID). */
double cli__clock(clockid_t id);

/* Signs (with --sign) and writes d to --cert atomically; an exit code. */
int cli__cert_write(const cli_args *a, const cert_doc *d);

/* `verify --data`: every sample of the data set; an exit code.  o: the
 * bounds; stop (may be NULL): the signal flag, polled by the engine. */
int cli__verify_data(const char *model, const net *n, const cli_args *a, const bnd_opts *o,
                     volatile sig_atomic_t *stop);

#endif

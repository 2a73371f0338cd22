/* main.c — `certnn SUBCOMMAND [options]`: dispatch to the subcommands. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const cli_cmd *const commands[] = {
    &cli_cmd_info,
    &cli_cmd_eval,
    &cli_cmd_spec,
    &cli_cmd_verify,
    &cli_cmd_attack,
    &cli_cmd_radius,
    &cli_cmd_compare,
    &cli_cmd_train,
    &cli_cmd_bench,
    &cli_cmd_keygen,
    &cli_cmd_check,
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f, "Usage: certnn SUBCOMMAND [options]\n\n"
               "certnn proves or refutes robustness properties of ReLU networks.\n\n"
               "Subcommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-8s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f, "\n'certnn SUBCOMMAND --help' describes each one.  'certnn --version' prints the version.\n"
               "\nExit codes: 0 ok/proven/valid, 1 counterexample/invalid, 2 unknown, 3 timeout,\n"
               "64 usage error, 65 bad input data, 66 cannot open input, 70 internal error,\n"
               "71 out of memory.\n");
}

int main(int argc, char **argv)
{
    cli_blas_threads_default();
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("certnn %s\n", PACKAGE_VERSION);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strcmp(argv[1], commands[i]->name) != 0)
            continue;
        cli_args a;
        int rc = cli_parse(commands[i], argc - 1, argv + 1, &a);
        if (rc >= 0)
            return rc;
        return commands[i]->run(&a);
    }
    cli_error("unknown subcommand '%s' (see 'certnn --help')", argv[1]);
    return CLI_EXIT_USAGE;
}

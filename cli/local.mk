# cli/ — the command-line front end: options, subcommands, workflows (suite runs,
# radius, compare) and plots, built once as a convenience library (libcli) that
# certnn and certnn-mpi both link.  Thin: parse, call the library, print.
noinst_LTLIBRARIES += cli/libcli.la
cli_libcli_la_SOURCES = cli/cli.h cli/cli.c \
	cli/cmd_info.c cli/cmd_eval.c cli/cmd_spec.c cli/cmd_verify.h cli/cmd_verify.c \
	cli/cmd_verify_data.c cli/cmd_attack.c \
	cli/cmd_radius.c cli/cmd_compare.c cli/cmd_bench.c cli/cmd_keygen.c cli/cmd_check.c \
	cli/cmd_train.c \
	cli/workflow.h cli/workflow.c cli/workflow_bench.c cli/plot.c
cli_libcli_la_CFLAGS = $(AM_CFLAGS) $(CAIRO_CFLAGS)
CN_CLI_LIBS = cli/libcli.la $(CN_ALL_LIBS) $(CAIRO_LIBS)

bin_PROGRAMS = certnn
certnn_SOURCES = cli/main.c
certnn_LDADD = $(CN_CLI_LIBS)

# certnn-mpi: the MPI front end (cli/mpi/), built only when configure finds MPI
# (--with-mpi).
if CN_MPI
bin_PROGRAMS += certnn-mpi
endif
certnn_mpi_SOURCES = cli/mpi/mpi_cmd.h cli/mpi/mpi_main.c cli/mpi/mpi_farm.h \
	cli/mpi/mpi_farm.c cli/mpi/mpi_suite.c cli/mpi/mpi_bab.c
certnn_mpi_CFLAGS = $(AM_CFLAGS) $(MPI_CFLAGS)
certnn_mpi_LDADD = $(CN_CLI_LIBS) $(MPI_LIBS)

# Workflows (radius, compare, bench): pure helpers in cmocka, the commands from the shell.
check_PROGRAMS += tests/test_workflow
TESTS += tests/test_workflow tests/workflows.sh
dist_noinst_SCRIPTS += tests/workflows.sh benchmarks/nightly
tests_test_workflow_SOURCES = tests/test_workflow.c tests/test_workflow_radius.c \
	tests/groups.h tests/testutil.h
tests_test_workflow_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(CAIRO_CFLAGS) -UNDEBUG
tests_test_workflow_LDADD = tests/libtestfix.la $(CN_CLI_LIBS) $(CMOCKA_LIBS)

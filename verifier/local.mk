# verifier/ — the complete engine (libverifier) and the command-line front end
# (thin: parse, call the library, print).
noinst_LTLIBRARIES += verifier/libverifier.la
verifier_libverifier_la_SOURCES = verifier/verifier.h verifier/engine.c verifier/distrib.c

bin_PROGRAMS = certnn
certnn_SOURCES = verifier/cli.h verifier/cli.c verifier/main.c \
	verifier/cmd_info.c verifier/cmd_eval.c verifier/cmd_spec.c \
	verifier/cmd_verify.c verifier/cmd_attack.c \
	verifier/workflow.h verifier/workflow.c verifier/workflow_bench.c verifier/plot.c \
	verifier/cmd_radius.c verifier/cmd_compare.c verifier/cmd_bench.c \
	verifier/certify.h verifier/certify.c verifier/cmd_keygen.c verifier/cmd_check.c \
	verifier/cmd_train.c
certnn_CFLAGS = $(AM_CFLAGS) $(CAIRO_CFLAGS)
CN_ALL_LIBS = verifier/libverifier.la certs/libcerts.la lp/liblp.la attacks/libattacks.la bounds/libbounds.la \
	models/libmodels.la $(JANSSON_LIBS) $(MPFR_LIBS) $(GLPK_LIBS) $(OPENBLAS_LIBS) \
	$(PTHREAD_LIBS) $(CN_BASE_LIBS)
certnn_LDADD = $(CN_ALL_LIBS) $(CAIRO_LIBS)

# certnn-mpi: the MPI front end, built only when configure finds MPI (--with-mpi).
if CN_MPI
bin_PROGRAMS += certnn-mpi
endif
certnn_mpi_SOURCES = verifier/mpi_cmd.h verifier/mpi_main.c verifier/mpi_farm.h \
	verifier/mpi_farm.c verifier/mpi_suite.c verifier/mpi_bab.c \
	verifier/cli.h verifier/cli.c verifier/cmd_bench.c verifier/cmd_verify.c \
	verifier/workflow.h verifier/workflow.c verifier/workflow_bench.c \
	verifier/certify.h verifier/certify.c
certnn_mpi_CFLAGS = $(AM_CFLAGS) $(MPI_CFLAGS)
certnn_mpi_LDADD = $(CN_ALL_LIBS) $(MPI_LIBS)

check_PROGRAMS += tests/test_engine
TESTS += tests/test_engine
# The adversarial review's engine-level findings (tests/findings.sh: all of them
# through the command line).
check_PROGRAMS += tests/test_findings
TESTS += tests/test_findings
tests_test_findings_SOURCES = tests/test_findings.c tests/testutil.h
tests_test_findings_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -UNDEBUG
tests_test_findings_LDADD = $(CN_ALL_LIBS) $(CMOCKA_LIBS)
tests_test_engine_SOURCES = tests/test_engine.c tests/testutil.h verifier/certify.h verifier/certify.c
tests_test_engine_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_test_engine_LDADD = $(CN_ALL_LIBS) $(CMOCKA_LIBS)

# benchmarks/bench_complete: the complete engine over a VNN-COMP suite.
noinst_PROGRAMS += benchmarks/bench_complete
benchmarks_bench_complete_SOURCES = benchmarks/bench_complete.c
benchmarks_bench_complete_LDADD = $(CN_ALL_LIBS)
# bench_acas78.sh: the reference's 78-instance ACAS Xu slice; bench_soundness.sh: the
# long engine-vs-MILP run.
dist_noinst_SCRIPTS += benchmarks/bench_acas78.sh benchmarks/bench_soundness.sh

# Workflows (radius, compare, bench): pure helpers in cmocka, the commands from the shell.
check_PROGRAMS += tests/test_workflow
TESTS += tests/test_workflow tests/workflows.sh
dist_noinst_SCRIPTS += tests/workflows.sh benchmarks/nightly
tests_test_workflow_SOURCES = tests/test_workflow.c tests/testutil.h verifier/workflow.h \
	verifier/workflow.c verifier/plot.c
tests_test_workflow_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(CAIRO_CFLAGS) -UNDEBUG
tests_test_workflow_LDADD = $(CN_ALL_LIBS) $(CAIRO_LIBS) $(CMOCKA_LIBS)

# verifier/ — the complete engine (libverifier): attack, bounds, branch and bound,
# distributed subproblems, and the certificate writer.  The front ends (cli/,
# cli/mpi/) link it.
noinst_LTLIBRARIES += verifier/libverifier.la
verifier_libverifier_la_SOURCES = verifier/verifier.h verifier/engine.c verifier/distrib.c \
	verifier/cert_write.c
# The engine's options: the table and its defaults.
verifier_libverifier_la_SOURCES += verifier/options.h verifier/options.c
verifier_libverifier_la_SOURCES += verifier/engine_int.h verifier/case_run.c verifier/workers.c \
	verifier/open_set.c verifier/node_bound.c verifier/node_opt.c verifier/node_cex.c \
	verifier/branch.c verifier/node_lp.c verifier/node_lp_cert.c verifier/proof_log.c

# The front ends' library work: atoms as rows, bounds only, robustness probes and radius.
verifier_libverifier_la_SOURCES += verifier/rows.c verifier/bounds_only.c verifier/probe.c \
	verifier/radius.c

CN_ALL_LIBS = verifier/libverifier.la certs/libcerts.la lp/liblp.la train/libtrain.la attacks/libattacks.la bounds/libbounds.la \
	models/libmodels.la $(JANSSON_LIBS) $(MPFR_LIBS) $(GLPK_LIBS) $(OPENBLAS_LIBS) \
	$(PTHREAD_LIBS) $(CN_BASE_LIBS)

check_PROGRAMS += tests/test_engine
TESTS += tests/test_engine
tests_test_engine_SOURCES = tests/test_engine.c tests/test_engine_milp.c tests/groups.h \
	tests/testutil.h
tests_test_engine_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_test_engine_LDADD = tests/libtestfix.la $(CN_ALL_LIBS) $(CMOCKA_LIBS)
# Residual blocks: the lowering against the graph (exactly) and the engine against MILP.
check_PROGRAMS += tests/test_residual
TESTS += tests/test_residual
tests_test_residual_SOURCES = tests/test_residual.c tests/testutil.h
tests_test_residual_CFLAGS = $(tests_test_engine_CFLAGS)
tests_test_residual_LDADD = $(tests_test_engine_LDADD)
# Max pooling: the engine against an exact MILP on each network's ReLU twin.
check_PROGRAMS += tests/test_engine_pool
TESTS += tests/test_engine_pool
tests_test_engine_pool_SOURCES = tests/test_engine_pool.c tests/testutil.h
tests_test_engine_pool_CFLAGS = $(tests_test_engine_CFLAGS)
tests_test_engine_pool_LDADD = $(tests_test_engine_LDADD)
# The adversarial review's engine-level findings (tests/findings.sh: all of them
# through the command line).
check_PROGRAMS += tests/test_findings
TESTS += tests/test_findings
tests_test_findings_SOURCES = tests/test_findings.c tests/testutil.h
tests_test_findings_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -UNDEBUG
tests_test_findings_LDADD = tests/libtestfix.la $(CN_ALL_LIBS) $(CMOCKA_LIBS)

# benchmarks/bench_complete: the complete engine over a VNN-COMP suite.
noinst_PROGRAMS += benchmarks/bench_complete
benchmarks_bench_complete_SOURCES = benchmarks/bench_complete.c
benchmarks_bench_complete_LDADD = $(CN_ALL_LIBS)
# bench_acas78.sh: the reference's 78-instance ACAS Xu slice; bench_soundness.sh: the
# long engine-vs-MILP run; same_search.sh: two builds' verdicts and node counts side by side.
dist_noinst_SCRIPTS += benchmarks/bench_acas78.sh benchmarks/bench_soundness.sh \
	benchmarks/same_search.sh

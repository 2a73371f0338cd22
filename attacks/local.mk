# attacks/ — counterexample search: input gradients, FGSM/RAND+FGSM, PGD, DeepFool.
noinst_LTLIBRARIES += attacks/libattacks.la
attacks_libattacks_la_SOURCES = attacks/attacks.h attacks/attacks_int.h \
	attacks/grad.c attacks/case.c attacks/pgd.c attacks/deepfool.c

check_PROGRAMS += tests/test_attacks
tests_test_attacks_SOURCES = tests/test_attacks.c tests/testutil.h
tests_test_attacks_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -UNDEBUG
tests_test_attacks_LDADD = tests/libtestfix.la attacks/libattacks.la models/libmodels.la $(OPENBLAS_LIBS) \
	$(CMOCKA_LIBS) $(CN_BASE_LIBS)
TESTS += tests/test_attacks

# Benchmark driver (benchmarks/bench_attacks.sh runs it over the shared suites).
noinst_PROGRAMS += benchmarks/bench_attacks
benchmarks_bench_attacks_SOURCES = benchmarks/bench_attacks.c
benchmarks_bench_attacks_LDADD = attacks/libattacks.la models/libmodels.la $(OPENBLAS_LIBS) \
	$(CN_BASE_LIBS)
dist_noinst_SCRIPTS += benchmarks/bench_attacks.sh

# lp/ — GLPK LP relaxations with rigorous dual bounds, and the exact MILP encoding.
noinst_LTLIBRARIES += lp/liblp.la
lp_liblp_la_SOURCES = lp/lp.h lp/lp_int.h lp/ctx.c lp/guard.c lp/region.c lp/dual.c \
	lp/solve.c lp/milp.c
lp_liblp_la_LIBADD = $(GLPK_LIBS)

check_PROGRAMS += tests/test_lp tests/test_lp_encl
TESTS += tests/test_lp tests/test_lp_encl
tests_test_lp_SOURCES = tests/test_lp.c tests/testutil.h
tests_test_lp_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_test_lp_LDADD = tests/libtestfix.la lp/liblp.la models/libmodels.la $(GLPK_LIBS) $(CMOCKA_LIBS) $(CN_BASE_LIBS)
# convolutions and nets with an enclosure (finding F1)
tests_test_lp_encl_SOURCES = tests/test_lp_encl.c tests/exact.h tests/testutil.h
tests_test_lp_encl_CFLAGS = $(tests_test_lp_CFLAGS)
tests_test_lp_encl_LDADD = $(tests_test_lp_LDADD)

# Measurement: LP refinement of early-layer bounds (benchmarks/bench_lp_refine.c).
noinst_PROGRAMS += benchmarks/bench_lp_refine
benchmarks_bench_lp_refine_SOURCES = benchmarks/bench_lp_refine.c
benchmarks_bench_lp_refine_LDADD = $(CN_ALL_LIBS)

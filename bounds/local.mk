# bounds/ — interval and linear-relaxation bound propagation (bnd_).
noinst_LTLIBRARIES += bounds/libbounds.la
bounds_libbounds_la_SOURCES = bounds/bounds.h bounds/bounds_int.h \
	bounds/bounds.c bounds/backsub.c bounds/alpha.c bounds/beta.c bounds/kernel.c \
	bounds/reduced.c bounds/pool.c bounds/conv.c bounds/kernel_body.h bounds/act.c \
	bounds/batch.c

check_PROGRAMS += tests/test_bounds tests/test_bounds_encl tests/test_bounds_l2
tests_test_bounds_SOURCES = tests/test_bounds.c tests/testutil.h
tests_test_bounds_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -UNDEBUG
tests_test_bounds_LDADD = tests/libtestfix.la bounds/libbounds.la models/libmodels.la $(OPENBLAS_LIBS) \
	$(CMOCKA_LIBS) $(CN_BASE_LIBS)
# nets with an enclosure (finding F1)
tests_test_bounds_encl_SOURCES = tests/test_bounds_encl.c tests/testutil.h
tests_test_bounds_encl_CFLAGS = $(tests_test_bounds_CFLAGS)
tests_test_bounds_encl_LDADD = $(tests_test_bounds_LDADD)
# boxes cut to an L2 ball (--norm 2)
tests_test_bounds_l2_SOURCES = tests/test_bounds_l2.c tests/testutil.h
tests_test_bounds_l2_CFLAGS = $(tests_test_bounds_CFLAGS)
tests_test_bounds_l2_LDADD = $(tests_test_bounds_LDADD)
# bounds with parameters (alpha, beta), against exact points and MILP
check_PROGRAMS += tests/test_bounds_param
tests_test_bounds_param_SOURCES = tests/test_bounds_param.c tests/testutil.h
tests_test_bounds_param_CFLAGS = $(tests_test_bounds_CFLAGS)
tests_test_bounds_param_LDADD = tests/libtestfix.la lp/liblp.la bounds/libbounds.la \
	models/libmodels.la $(GLPK_LIBS) $(OPENBLAS_LIBS) $(CMOCKA_LIBS) $(CN_BASE_LIBS)
TESTS += tests/test_bounds tests/test_bounds_encl tests/test_bounds_l2 tests/test_bounds_param
# batches of regions (bnd_run_batch) against bnd_run and exact points
check_PROGRAMS += tests/test_bounds_batch
tests_test_bounds_batch_SOURCES = tests/test_bounds_batch.c tests/testutil.h
tests_test_bounds_batch_CFLAGS = $(tests_test_bounds_CFLAGS)
tests_test_bounds_batch_LDADD = $(tests_test_bounds_LDADD)
TESTS += tests/test_bounds_batch
# reorganised inner steps (listed Adam, batched convolution products)
check_PROGRAMS += tests/test_bounds_kern
tests_test_bounds_kern_SOURCES = tests/test_bounds_kern.c tests/testutil.h
tests_test_bounds_kern_CFLAGS = $(tests_test_bounds_CFLAGS)
tests_test_bounds_kern_LDADD = $(tests_test_bounds_LDADD)
TESTS += tests/test_bounds_kern

# Benchmark: verified counts and timing per method (benchmarks/README.md).
dist_noinst_SCRIPTS += benchmarks/bench_bounds.sh

# Micro-benchmark: cost of one bnd_run on ACAS Xu (benchmarks/bench_bnd_acas.c).
noinst_PROGRAMS += benchmarks/bench_bnd_acas
benchmarks_bench_bnd_acas_SOURCES = benchmarks/bench_bnd_acas.c
benchmarks_bench_bnd_acas_LDADD = bounds/libbounds.la models/libmodels.la $(OPENBLAS_LIBS) \
	$(CN_BASE_LIBS) $(PTHREAD_LIBS)

# Micro-benchmark: bnd_run per region against bnd_run_batch (benchmarks/bench_bnd_batch.c).
noinst_PROGRAMS += benchmarks/bench_bnd_batch
benchmarks_bench_bnd_batch_SOURCES = benchmarks/bench_bnd_batch.c
benchmarks_bench_bnd_batch_LDADD = bounds/libbounds.la models/libmodels.la $(OPENBLAS_LIBS) \
	$(CN_BASE_LIBS) $(PTHREAD_LIBS)

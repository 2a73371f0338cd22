# tests/ — one cmocka program per module area; each links only its module and below.
CN_TEST_LIBS = $(CMOCKA_LIBS) $(CN_BASE_LIBS)
tests_cflags = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -UNDEBUG

# The tests' shared fixtures, compiled once for every program that uses them:
# random networks and boxes (netgen), exact and enclosure evaluation (exact),
# ONNX models built in memory (onnx_mb), bounds checked against exact values
# (bnd_check), and the LP, certificate, engine and workflow fixtures.  A static
# convenience library: a program pulls in only the fixtures it calls.
check_LTLIBRARIES += tests/libtestfix.la
tests_libtestfix_la_SOURCES = tests/testutil.h tests/groups.h \
	tests/netgen.c tests/netgen.h tests/exact.c tests/exact.h tests/onnx_mb.c tests/onnx_mb.h \
	tests/bnd_check.c tests/bnd_check.h tests/lpfix.c tests/lpfix.h tests/certfix.c tests/certfix.h \
	tests/engfix.c tests/engfix.h tests/wffix.c tests/wffix.h tests/dsfix.c tests/dsfix.h
tests_libtestfix_la_CFLAGS = $(tests_cflags)

check_PROGRAMS += tests/test_base tests/test_net
tests_test_base_SOURCES = tests/test_base.c tests/testutil.h
tests_test_base_CFLAGS = $(tests_cflags)
tests_test_base_LDADD = models/libmodels.la $(CN_TEST_LIBS)
tests_test_net_SOURCES = tests/test_net.c tests/testutil.h
tests_test_net_CFLAGS = $(tests_cflags)
tests_test_net_LDADD = tests/libtestfix.la models/libmodels.la $(CN_TEST_LIBS)

TESTS += tests/test_base tests/test_net

# Loaders, properties and datasets (models/).
check_PROGRAMS += tests/test_onnx tests/test_nnet tests/test_dataset tests/test_vnnlib \
	tests/test_prop tests/test_models_real
tests_test_onnx_SOURCES = tests/test_onnx.c tests/test_onnx_ops.c tests/test_onnx_act.c tests/groups.h \
	tests/testutil.h
tests_test_onnx_CFLAGS = $(tests_cflags)
tests_test_onnx_LDADD = tests/libtestfix.la models/libmodels.la $(CN_TEST_LIBS)
tests_test_nnet_SOURCES = tests/test_nnet.c tests/testutil.h
tests_test_nnet_CFLAGS = $(tests_cflags)
tests_test_nnet_LDADD = models/libmodels.la $(CN_TEST_LIBS)
tests_test_dataset_SOURCES = tests/test_dataset.c tests/test_dataset_npy.c tests/groups.h \
	tests/testutil.h
tests_test_dataset_CFLAGS = $(tests_cflags)
tests_test_dataset_LDADD = tests/libtestfix.la models/libmodels.la $(ZLIB_LIBS) $(CN_TEST_LIBS)
tests_test_vnnlib_SOURCES = tests/test_vnnlib.c tests/testutil.h
tests_test_vnnlib_CFLAGS = $(tests_cflags)
tests_test_vnnlib_LDADD = models/libmodels.la $(CN_TEST_LIBS)
tests_test_prop_SOURCES = tests/test_prop.c tests/testutil.h
tests_test_prop_CFLAGS = $(tests_cflags)
tests_test_prop_LDADD = models/libmodels.la $(CN_TEST_LIBS)
tests_test_models_real_SOURCES = tests/test_models_real.c tests/testutil.h
tests_test_models_real_CFLAGS = $(tests_cflags)
tests_test_models_real_LDADD = models/libmodels.la $(CN_TEST_LIBS)
TESTS += tests/test_onnx tests/test_nnet tests/test_dataset tests/test_vnnlib \
	tests/test_prop tests/test_models_real
# Folding that rounds: the enclosure of the file's values (MPFR reference).
check_PROGRAMS += tests/test_fold
tests_test_fold_SOURCES = tests/test_fold.c tests/test_fold_models.c tests/groups.h \
	tests/testutil.h
tests_test_fold_CFLAGS = $(tests_cflags)
tests_test_fold_LDADD = tests/libtestfix.la models/libmodels.la $(MPFR_LIBS) $(CN_TEST_LIBS)
TESTS += tests/test_fold

# Graphs that are not chains (models/onnx_dag.c): the lowering against the graph
# (exactly), bounds against exact values, the engine against MILP.
check_PROGRAMS += tests/test_dag
TESTS += tests/test_dag
tests_test_dag_SOURCES = tests/test_dag.c tests/testutil.h
tests_test_dag_CFLAGS = $(tests_cflags)
tests_test_dag_LDADD = tests/libtestfix.la $(CN_ALL_LIBS) $(CMOCKA_LIBS)

# Command-line tests: shell scripts driving ./certnn (exit codes, messages).
dist_noinst_SCRIPTS += tests/cli.sh tests/findings.sh tests/json.sh tests/act.sh tests/ops.sh tests/graph.sh \
	tests/dag.sh
TESTS += tests/cli.sh tests/findings.sh tests/json.sh tests/act.sh tests/ops.sh tests/graph.sh tests/dag.sh
# certnn bench and benchmarks/nightly as a nightly job runs them (JUnit, JSON, baselines).
TESTS += tests/bench.sh
dist_noinst_SCRIPTS += tests/bench.sh
# certnn train and the shipped Fashion-MNIST models (models/zoo/fmnist_*.onnx).
dist_noinst_SCRIPTS += tests/train.sh benchmarks/bench_defenses.sh
TESTS += tests/train.sh

# libFuzzer targets (./configure --enable-fuzzing CC=clang); run by tests/fuzz/run.sh.
if CN_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_vnnlib tests/fuzz/fuzz_onnx tests/fuzz/fuzz_nnet \
	tests/fuzz/fuzz_cert
tests_fuzz_fuzz_vnnlib_SOURCES = tests/fuzz/fuzz_vnnlib.c
tests_fuzz_fuzz_vnnlib_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_vnnlib_LDFLAGS = -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_vnnlib_LDADD = models/libmodels.la $(CN_BASE_LIBS)
tests_fuzz_fuzz_onnx_SOURCES = tests/fuzz/fuzz_onnx.c
tests_fuzz_fuzz_onnx_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_onnx_LDFLAGS = -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_onnx_LDADD = models/libmodels.la $(CN_BASE_LIBS)
tests_fuzz_fuzz_nnet_SOURCES = tests/fuzz/fuzz_nnet.c
tests_fuzz_fuzz_nnet_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_nnet_LDFLAGS = -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_nnet_LDADD = models/libmodels.la $(CN_BASE_LIBS)
# the certificate reader and checker (the parser of untrusted input)
tests_fuzz_fuzz_cert_SOURCES = tests/fuzz/fuzz_cert.c
tests_fuzz_fuzz_cert_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_cert_LDFLAGS = -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_cert_LDADD = certs/libcerts.la models/libmodels.la $(JANSSON_LIBS) $(CN_BASE_LIBS)
endif
dist_noinst_SCRIPTS += tests/fuzz/run.sh
EXTRA_DIST += tests/fuzz/cert.dict tests/fuzz/seeds/dag_concat_depths.onnx \
	tests/fuzz/seeds/dag_transpose_slice.onnx tests/fuzz/seeds/dag_inception.onnx \
	tests/fuzz/seeds/dag_input_crosses.onnx tests/fuzz/seeds/dag_preact_residual.onnx \
	tests/fuzz/seeds/dag_negative_cross.onnx tests/fuzz/seeds/dag_bn_dense.onnx \
	tests/fuzz/seeds/dag_bn_conv.onnx tests/fuzz/seeds/dag_avgpool_branch.onnx \
	tests/fuzz/seeds/dag_avgpool_negative.onnx

# The MPI front end (certnn-mpi): suites and branch and bound over mpirun, only when
# configure found MPI.
if CN_MPI
TESTS += tests/mpi_suite.sh tests/mpi_verify.sh
endif
dist_noinst_SCRIPTS += tests/mpi_suite.sh tests/mpi_verify.sh benchmarks/bench_mpi.sh
dist_noinst_DATA += tests/tap.sh tests/mpi_env.sh tests/mpi_lsan.supp

# Data the tests read from the source tree (malformed-input corpus, bundled models).
EXTRA_DIST += tests/data models/zoo benchmarks/README.md benchmarks/vnncomp

# make install DESTDIR=... and a C program built against the installed libcertnn
# through pkg-config; the man page, the bash completion, share/certnn, uninstall.
TESTS += tests/install.sh
dist_noinst_SCRIPTS += tests/install.sh

# Sigmoid / tanh networks: exact enclosure, bounds and the checker's bounds.
check_PROGRAMS += tests/test_act
TESTS += tests/test_act
tests_test_act_SOURCES = tests/test_act.c tests/testutil.h
tests_test_act_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -UNDEBUG
tests_test_act_LDADD = certs/libcerts.la bounds/libbounds.la models/libmodels.la $(MPFR_LIBS) \
	$(OPENBLAS_LIBS) $(CMOCKA_LIBS) $(CN_BASE_LIBS)
# Activation splitting (issue 25): branch and bound over sigmoid / tanh
# pre-activation intervals, its certificates and tampered "a" nodes.
check_PROGRAMS += tests/test_act_split
TESTS += tests/test_act_split
tests_test_act_split_SOURCES = tests/test_act_split.c tests/testutil.h
tests_test_act_split_CFLAGS = $(tests_cflags)
tests_test_act_split_LDADD = tests/libtestfix.la $(CN_ALL_LIBS) $(CMOCKA_LIBS)
# Pooling (issue 25): Pad / AveragePool / GlobalAveragePool / MaxPool readers,
# max pooling's evaluation, bounds (bounds/ and the checker's) and gradient.
check_PROGRAMS += tests/test_pool
tests_test_pool_SOURCES = tests/test_pool.c tests/testutil.h
tests_test_pool_CFLAGS = $(tests_cflags)
tests_test_pool_LDADD = tests/libtestfix.la attacks/libattacks.la certs/libcerts.la \
	bounds/libbounds.la models/libmodels.la $(OPENBLAS_LIBS) $(CN_TEST_LIBS)
TESTS += tests/test_pool
# LeakyRelu / Clip lowered into ReLUs and BatchNormalization after a ReLU
# (issue 25): bounds and the checker's bounds enclose exact values.
check_PROGRAMS += tests/test_ops_bounds
tests_test_ops_bounds_SOURCES = tests/test_ops_bounds.c tests/testutil.h
tests_test_ops_bounds_CFLAGS = $(tests_cflags)
tests_test_ops_bounds_LDADD = tests/libtestfix.la certs/libcerts.la bounds/libbounds.la \
	models/libmodels.la $(OPENBLAS_LIBS) $(CN_TEST_LIBS)
TESTS += tests/test_ops_bounds

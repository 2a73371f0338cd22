# certs/ — certificates: signed JSON documents and the independent checker
# (cert_).  Depends on models/ only (never on bounds/, lp/, attacks/ or
# verifier/), so that the checker stays small and separate from the search.
noinst_LTLIBRARIES += certs/libcerts.la
certs_libcerts_la_SOURCES = certs/certs.h certs/certs_int.h \
	certs/relax.c certs/relax_act.c certs/relax_pool.c certs/lpcheck.c certs/tree.c certs/par.c \
	certs/sign.c certs/doc.c certs/check.c
certs_libcerts_la_LIBADD = models/libmodels.la $(MPFR_LIBS) $(JANSSON_LIBS) $(SODIUM_LIBS) $(GMP_LIBS) \
	$(PTHREAD_LIBS) $(LIBM_LIBS)

check_PROGRAMS += tests/test_certs tests/test_certs_hostile
TESTS += tests/test_certs tests/test_certs_hostile
tests_test_certs_SOURCES = tests/test_certs.c tests/exact.h tests/testutil.h
tests_test_certs_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -UNDEBUG
tests_test_certs_LDADD = tests/libtestfix.la certs/libcerts.la models/libmodels.la $(JANSSON_LIBS) \
	$(CMOCKA_LIBS) $(CN_BASE_LIBS)
# hostile certificates (findings F2, F4, F6, F8) and nets with an enclosure (F1)
tests_test_certs_hostile_SOURCES = tests/test_certs_hostile.c tests/testutil.h
tests_test_certs_hostile_CFLAGS = $(tests_test_certs_CFLAGS)
tests_test_certs_hostile_LDADD = $(tests_test_certs_LDADD)

# several rows back-substituted at once: the same bits as one at a time
check_PROGRAMS += tests/test_certs_block
TESTS += tests/test_certs_block
tests_test_certs_block_SOURCES = tests/test_certs_block.c tests/testutil.h
tests_test_certs_block_CFLAGS = $(tests_test_certs_CFLAGS)
tests_test_certs_block_LDADD = $(tests_test_certs_LDADD)

# LP refutations: the checker's test, and the engine's LP leaves through it
check_PROGRAMS += tests/test_certs_lp
TESTS += tests/test_certs_lp
tests_test_certs_lp_SOURCES = tests/test_certs_lp.c tests/testutil.h
tests_test_certs_lp_CFLAGS = $(tests_test_certs_CFLAGS)
tests_test_certs_lp_LDADD = tests/libtestfix.la $(CN_ALL_LIBS) $(CMOCKA_LIBS)

# The checker on several threads: the same outcome as on one
check_PROGRAMS += tests/test_check_threads
TESTS += tests/test_check_threads
tests_test_check_threads_SOURCES = tests/test_check_threads.c tests/testutil.h
tests_test_check_threads_CFLAGS = $(tests_test_certs_CFLAGS)
tests_test_check_threads_LDADD = tests/libtestfix.la $(CN_ALL_LIBS) $(CMOCKA_LIBS)

# Command-line checks of keygen / verify --cert / check (needs ./certnn).
dist_noinst_SCRIPTS += tests/certs.sh
TESTS += tests/certs.sh
EXTRA_DIST += benchmarks/bench_certs.sh tests/cert_tamper.py

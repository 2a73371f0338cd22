# lp/ — GLPK LP relaxations with rigorous dual bounds, and the exact MILP encoding.
noinst_LTLIBRARIES += lp/liblp.la
lp_liblp_la_SOURCES = lp/lp.h lp/lp.c
lp_liblp_la_LIBADD = $(GLPK_LIBS)

check_PROGRAMS += tests/test_lp
TESTS += tests/test_lp
tests_test_lp_SOURCES = tests/test_lp.c tests/testutil.h
tests_test_lp_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_test_lp_LDADD = lp/liblp.la models/libmodels.la $(GLPK_LIBS) $(CMOCKA_LIBS) $(CN_BASE_LIBS)

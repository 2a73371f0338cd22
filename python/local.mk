# python/ — the Python package `certnn`: a CPython extension (_certnn) over the
# engine's modules, and certnn/__init__.py, installed as $(pyexecdir)/certnn.
# Built when configure finds python3 and its headers (Debian: python3-dev).
if CN_PYTHON
certnnpyexecdir = $(pyexecdir)/certnn
certnnpyexec_LTLIBRARIES = python/_certnn.la
certnnpyexec_PYTHON = python/certnn/__init__.py
python__certnn_la_SOURCES = python/_certnn.c
python__certnn_la_CPPFLAGS = $(AM_CPPFLAGS) $(PYTHON3_CFLAGS)
# The extension carries the modules it needs (no libcertnn.so at run time);
# Python's own symbols come from the interpreter that loads it.
python__certnn_la_LDFLAGS = -module -avoid-version -shared
python__certnn_la_LIBADD = verifier/libverifier.la certs/libcerts.la lp/liblp.la \
	attacks/libattacks.la bounds/libbounds.la $(JANSSON_LIBS) $(MPFR_LIBS) $(GLPK_LIBS) \
	$(OPENBLAS_LIBS) $(PROTOBUF_C_LIBS) $(ZLIB_LIBS) $(PTHREAD_LIBS) $(CN_BASE_LIBS)
# The package's tests (python3 -m pytest), on the extension of this build
# (also in make check-quick).
TESTS += tests/python.sh
CN_QUICK_PYTEST = tests/python.sh
else
CN_QUICK_PYTEST =
endif
dist_noinst_SCRIPTS += tests/python.sh
EXTRA_DIST += tests/test_python.py python/certnn/__init__.py

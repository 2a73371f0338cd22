# train/ — training dense ReLU classifiers with or without an adversarial
# (FGSM, PGD) or certified (IBP) defense (`certnn train`); uses attacks/ only
# for its random generator.
noinst_LTLIBRARIES += train/libtrain.la
train_libtrain_la_SOURCES = train/train.h train/train_int.h train/train.c train/train_ibp.c

# Training: gradients, IBP bounds, determinism, round trip.
check_PROGRAMS += tests/test_train
tests_test_train_SOURCES = tests/test_train.c tests/testutil.h
tests_test_train_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -UNDEBUG
tests_test_train_LDADD = train/libtrain.la attacks/libattacks.la models/libmodels.la $(OPENBLAS_LIBS) \
	$(CMOCKA_LIBS) $(CN_BASE_LIBS)
TESTS += tests/test_train

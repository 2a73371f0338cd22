# CN_ENABLE_FUZZING: --enable-fuzzing builds the libFuzzer targets in tests/fuzz
# (needs clang: CC=clang) and instruments all library code for coverage.
AC_DEFUN([CN_ENABLE_FUZZING], [
  AC_ARG_ENABLE([fuzzing],
    [AS_HELP_STRING([--enable-fuzzing], [build libFuzzer targets (CC=clang)])],
    [], [enable_fuzzing=no])
  AS_IF([test "x$enable_fuzzing" = xyes], [
    CFLAGS="$CFLAGS -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all"
  ])
  AM_CONDITIONAL([CN_FUZZING], [test "x$enable_fuzzing" = xyes])
])

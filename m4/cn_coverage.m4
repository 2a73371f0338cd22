# CN_ENABLE_COVERAGE: --enable-coverage instruments the build for gcov.
AC_DEFUN([CN_ENABLE_COVERAGE], [
  AC_ARG_ENABLE([coverage],
    [AS_HELP_STRING([--enable-coverage], [build with gcov instrumentation])],
    [], [enable_coverage=no])
  AS_IF([test "x$enable_coverage" = xyes], [
    CFLAGS="$CFLAGS --coverage -O0 -g"
    LDFLAGS="$LDFLAGS --coverage"
  ])
])

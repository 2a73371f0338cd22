# CN_ENABLE_SANITIZERS: --enable-sanitizers (or =yes) builds everything with
# AddressSanitizer and UndefinedBehaviorSanitizer, aborting on the first report;
# --enable-sanitizers=thread builds with ThreadSanitizer instead (the two cannot
# be combined).  Third-party libraries (OpenBLAS, GLPK, GMP) stay uninstrumented:
# tests/tsan.supp lists the reports that come from their frames only.
AC_DEFUN([CN_ENABLE_SANITIZERS], [
  AC_ARG_ENABLE([sanitizers],
    [AS_HELP_STRING([--enable-sanitizers@<:@=yes|thread@:>@],
      [build with ASan + UBSan (yes), or with TSan (thread)])],
    [], [enable_sanitizers=no])
  AS_CASE([$enable_sanitizers],
    [yes|address], [
      CN_SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g"],
    [thread], [
      CN_SAN="-fsanitize=thread -fno-omit-frame-pointer -g"],
    [no], [CN_SAN=""],
    [AC_MSG_ERROR([--enable-sanitizers: expected yes or thread, got '$enable_sanitizers'])])
  AS_IF([test -n "$CN_SAN"], [
    CFLAGS="$CFLAGS $CN_SAN"
    LDFLAGS="$LDFLAGS $CN_SAN"
  ])
])

# CN_DEP_PKG(VAR, PKG-CONFIG-MODULE, DEBIAN-PACKAGE)
# Finds a library through pkg-config; stops configure naming the Debian package.
AC_DEFUN([CN_DEP_PKG], [
  PKG_CHECK_MODULES([$1], [$2], [],
    [AC_MSG_ERROR([$2 not found by pkg-config (Debian package: $3)])])
])

# CN_DEP_LIB(VAR, LIBRARY, FUNCTION, HEADER, DEBIAN-PACKAGE)
# For libraries that ship no .pc file: checks the header and a function.
AC_DEFUN([CN_DEP_LIB], [
  AC_CHECK_HEADER([$4], [],
    [AC_MSG_ERROR([header $4 not found (Debian package: $5)])])
  cn_save_LIBS=$LIBS
  AC_CHECK_LIB([$2], [$3], [$1_LIBS=-l$2],
    [AC_MSG_ERROR([library -l$2 not found (Debian package: $5)])])
  LIBS=$cn_save_LIBS
  AC_SUBST([$1_LIBS])
])

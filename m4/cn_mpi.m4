# CN_WITH_MPI: --with-mpi=auto|yes|no.  The MPI front end certnn-mpi and its tests
# are built only when MPI is found: the C library through pkg-config (ompi-c, Debian
# package libopenmpi-dev) and a launcher (mpirun, Debian package openmpi-bin).
# auto (the default) builds without MPI when either is missing; yes stops configure.
# Sets MPI_CFLAGS, MPI_LIBS, MPIRUN and the conditional CN_MPI.
AC_DEFUN([CN_WITH_MPI], [
  AC_ARG_WITH([mpi],
    [AS_HELP_STRING([--with-mpi=auto|yes|no],
                    [build the MPI front end certnn-mpi (Open MPI) @<:@auto@:>@])],
    [], [with_mpi=auto])
  AS_CASE([$with_mpi], [yes|no|auto], [],
    [AC_MSG_ERROR([--with-mpi: expected auto, yes or no, got '$with_mpi'])])
  cn_have_mpi=no
  cn_mpi_why=""
  AS_IF([test "x$with_mpi" != xno], [
    PKG_CHECK_MODULES([MPI], [ompi-c], [cn_have_mpi=yes],
      [cn_mpi_why="pkg-config module ompi-c (Debian package: libopenmpi-dev)"])
    AS_IF([test "x$cn_have_mpi" = xyes], [
      cn_save_CFLAGS=$CFLAGS
      cn_save_LIBS=$LIBS
      CFLAGS="$CFLAGS $MPI_CFLAGS"
      LIBS="$MPI_LIBS $LIBS"
      AC_MSG_CHECKING([whether an MPI program links])
      AC_LINK_IFELSE([AC_LANG_PROGRAM([[#include <mpi.h>]],
                                      [[int p; return MPI_Init_thread(0, 0, MPI_THREAD_FUNNELED, &p);]])],
        [AC_MSG_RESULT([yes])],
        [AC_MSG_RESULT([no])
         cn_have_mpi=no
         cn_mpi_why="a program linking MPI_Init_thread (Debian package: libopenmpi-dev)"])
      CFLAGS=$cn_save_CFLAGS
      LIBS=$cn_save_LIBS
    ])
    AC_PATH_PROG([MPIRUN], [mpirun], [no])
    AS_IF([test "x$cn_have_mpi" = xyes && test "x$MPIRUN" = xno], [
      cn_have_mpi=no
      cn_mpi_why="mpirun (Debian package: openmpi-bin)"])
  ])
  AS_IF([test "x$with_mpi" = xyes && test "x$cn_have_mpi" = xno],
    [AC_MSG_ERROR([--with-mpi=yes: MPI not found: $cn_mpi_why])])
  AC_MSG_CHECKING([whether to build certnn-mpi])
  AS_IF([test "x$cn_have_mpi" = xyes], [AC_MSG_RESULT([yes])],
    [test "x$with_mpi" = xno], [AC_MSG_RESULT([no (--without-mpi)])],
    [AC_MSG_RESULT([no (missing $cn_mpi_why)])])
  AS_IF([test "x$cn_have_mpi" != xyes], [MPIRUN=no])
  AC_SUBST([MPI_CFLAGS])
  AC_SUBST([MPI_LIBS])
  AC_SUBST([MPIRUN])
  AM_CONDITIONAL([CN_MPI], [test "x$cn_have_mpi" = xyes])
])

# CN_WARNINGS: the warning set every object is built with, and the floating-point
# flags soundness depends on (-frounding-math; never -ffast-math, see STYLE.md).
AC_DEFUN([CN_WARNINGS], [
  CN_CFLAGS="-std=c11 -frounding-math -fno-fast-math -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter"
  AC_SUBST([CN_CFLAGS])
])

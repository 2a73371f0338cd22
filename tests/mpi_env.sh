# mpi_env.sh — sourced by the MPI shell tests (tests/mpi_*.sh) after tests/tap.sh:
# how they run mpirun.
# CI runs as root, which Open MPI refuses unless told twice.
OMPI_ALLOW_RUN_AS_ROOT=1
OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Containers may forbid the cross-memory-attach copy between processes; plain copies
# work everywhere.
OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMPI_ALLOW_RUN_AS_ROOT OMPI_ALLOW_RUN_AS_ROOT_CONFIRM OMPI_MCA_btl_vader_single_copy_mechanism
# Under --enable-sanitizers: Open MPI's own allocations that it keeps until exit are
# not certnn's leaks (tests/mpi_lsan.supp names the libraries); leak checking stays on.
# Its plugins are unloaded before the leak report, so a leak is matched by the
# libraries further up its allocation stack: record whole stacks (slow unwinding,
# as Open MPI has no frame pointers).
LSAN_OPTIONS="suppressions=${CN_SRCDIR:-.}/tests/mpi_lsan.supp:fast_unwind_on_malloc=0:malloc_context_size=40${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS
# More ranks than cores is fine for tests (the machine may have 2 cores); ranks are not
# bound to cores (on a loaded machine a rank bound to a busy core starves); a run that
# hangs fails its test instead of the whole suite.
MPIRUN="timeout -k 10 300 ${MPIRUN:-mpirun} --oversubscribe --bind-to none"

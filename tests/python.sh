#!/bin/sh
# python.sh — the Python package's tests (tests/test_python.py, python3 -m pytest)
# on the extension of this build, with the interpreter configure chose ($PYTHON): the package is staged in a temporary folder
# (certnn/__init__.py from the source tree, _certnn.so from python/.libs).
set -eu
src=${CN_SRCDIR:?CN_SRCDIR: the source tree}
build=${CN_BUILDDIR:?CN_BUILDDIR: the build tree}
so=$build/python/.libs/_certnn.so
[ -r "$so" ] || { echo "python.sh: $so: not built" >&2; exit 1; }
py=${PYTHON:-/usr/bin/python3}
"$py" -c 'import numpy, pytest' 2>/dev/null ||
    { echo "python.sh: $py lacks numpy or pytest (Debian packages: python3-numpy python3-pytest)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/certnn"
cp "$src/python/certnn/__init__.py" "$tmp/certnn/"
cp "$so" "$tmp/certnn/_certnn.so"
cd "$tmp"
# A sanitizer build's extension needs the ASan runtime loaded first (the
# interpreter is not instrumented); Python's own allocations at exit are not
# leaks of ours, so LeakSanitizer is off here (the C tests keep it on).
# PyTorch's C++ exceptions abort in ASan's __cxa_throw interceptor when the
# interpreter and libtorch are not instrumented, so the PyTorch export test
# runs in the plain build only.
set -- -q -p no:cacheprovider
if ldd "$so" | grep -q libasan; then
    LD_PRELOAD=$(${CC:-gcc} -print-file-name=libasan.so)
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
    export LD_PRELOAD ASAN_OPTIONS
    set -- "$@" -k "not pytorch"
fi
PYTHONPATH=$tmp PYTHONDONTWRITEBYTECODE=1 CERTNN="$build/certnn" \
    "$py" -m pytest "$@" "$src/tests/test_python.py"

#!/bin/bash
# VNN-COMP tool interface, v1: install_tool.sh v1
# Installs what certnn needs and builds it: runs the project's bootstrap
# (the Debian packages that are missing, through apt-get as root or sudo;
# autoreconf, configure and make in the source tree), then checks that the
# program runs.  prepare_instance.sh and run_instance.sh then use ../../certnn
# (or $CERTNN).  Extra configure options may be given in CONFIGURE_FLAGS
# (e.g. --without-mpi: the harness runs one process per instance).
set -u
if [ "$#" -ne 1 ] || [ "$1" != "v1" ]; then
    echo "usage: install_tool.sh v1" >&2
    exit 1
fi
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
echo "install_tool.sh: building certnn in $top" >&2
if ! "$top/bootstrap" build; then
    echo "install_tool.sh: ./bootstrap build failed" >&2
    exit 1
fi
certnn=${CERTNN:-$top/certnn}
if ! "$certnn" --version; then
    echo "install_tool.sh: $certnn does not run after the build" >&2
    exit 1
fi
exit 0

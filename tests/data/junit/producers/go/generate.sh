#!/bin/sh
# Writes ../../gotestsum.xml (every package, one of which does not compile) and
# ../../gotestsum-rerun.xml (--rerun-fails over the package that does) from real
# gotestsum runs (Debian's gotestsum and golang-go). gotestsum refuses to rerun
# after a build error, hence two runs.
set -u
here=$(cd "$(dirname "$0")" && pwd); out=$(cd "$here/../.." && pwd)
work=$(mktemp -d); cp -r "$here/sample" "$work/"; cd "$work/sample"
export GOFLAGS=-mod=mod GOPATH="$work/gopath" GOCACHE="$work/gocache" GOTOOLCHAIN=local GOPROXY=off
echo "all packages:"
FLAKY_MARKER="$work/marker1" gotestsum --format testname --junitfile "$out/gotestsum.xml" \
  --packages ./... 2>&1 | grep -E "^DONE"
echo "rerun:"
FLAKY_MARKER="$work/marker2" gotestsum --format testname --junitfile "$out/gotestsum-rerun.xml" \
  --rerun-fails=2 --packages . 2>&1 | grep -E "^DONE"
echo "gotestsum $(dpkg-query -W -f '${Version}' gotestsum), $(go version)"
rm -rf "$work"

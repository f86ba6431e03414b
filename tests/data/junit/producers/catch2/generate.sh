#!/bin/sh
# Writes ../../catch2.xml from a real Catch2 (v2, Debian's catch2) run with -r junit.
set -u
here=$(cd "$(dirname "$0")" && pwd); out=$(cd "$here/../.." && pwd)
work=$(mktemp -d); cd "$work"
g++ -std=c++17 -O0 -o sample_test "$here/sample_test.cc" || exit 1
./sample_test -r junit -o "$out/catch2.xml"
./sample_test 2>&1 | tail -3
echo "Catch2 $(dpkg-query -W -f '${Version}' catch2)"
rm -rf "$work"

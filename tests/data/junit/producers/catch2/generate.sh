#!/bin/sh
# Writes ../../catch2.xml and ../../catch2-shouldfail-passes.xml from a real
# Catch2 v2 run with -r junit, and the console summaries beside them.
# Headers: Debian's catch2, or CATCH2_INCLUDE=/path/to/include (a directory
# holding catch2/catch.hpp).
set -u
here=$(cd "$(dirname "$0")" && pwd); out=$(cd "$here/../.." && pwd)
work=$(mktemp -d); cd "$work"
cp "$here/sample_test.cc" .
g++ -std=c++17 -O0 ${CATCH2_INCLUDE:+-I "$CATCH2_INCLUDE"} -o sample_test sample_test.cc || exit 1
version=$(grep -m3 '#define CATCH_VERSION_' ${CATCH2_INCLUDE:-/usr/include}/catch2/catch.hpp | awk '{printf "%s%s", sep, $3; sep="."}')
./sample_test -r junit -o "$out/catch2.xml"
./sample_test > console.txt 2>&1; rc=$?
{ tail -3 console.txt; echo "exit code $rc"; echo "Catch2 $version"; } > "$out/catch2.console.txt"
./sample_test -r junit -o "$out/catch2-shouldfail-passes.xml" "[shouldfail-passes]"
./sample_test "[shouldfail-passes]" > console.txt 2>&1; rc=$?
{ tail -3 console.txt; echo "exit code $rc"; echo "Catch2 $version"; } > "$out/catch2-shouldfail-passes.console.txt"
cat "$out/catch2.console.txt" "$out/catch2-shouldfail-passes.console.txt"
rm -rf "$work"

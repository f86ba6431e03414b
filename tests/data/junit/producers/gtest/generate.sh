#!/bin/sh
# Writes ../../gtest.xml (googletest's own --gtest_output=xml) and ../../ctest.xml
# (ctest --output-junit over the same tests) from real runs.
set -u
here=$(cd "$(dirname "$0")" && pwd); out=$(cd "$here/../.." && pwd)
work=$(mktemp -d); cd "$work"
cmake -S "$here" -B build -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build build >/dev/null || exit 1
echo "googletest:"; ./build/sample_test --gtest_output="xml:$out/gtest.xml" 2>&1 | grep -E '^\[  (PASSED|FAILED|SKIPPED) |tests? ran|DISABLED'
echo "ctest:"; (cd build && ctest --output-junit "$out/ctest.xml" 2>&1 | grep -E 'tests passed|Not Run|Failed|Skipped' | head -20)
echo "googletest $(dpkg-query -W -f '${Version}' googletest), $(ctest --version | head -1)"
rm -rf "$work"

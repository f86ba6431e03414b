#!/bin/sh
# Writes ../../phpunit.xml from a real PHPUnit run (Debian's phpunit) with --log-junit.
set -u
here=$(cd "$(dirname "$0")" && pwd); out=$(cd "$here/../.." && pwd)
work=$(mktemp -d); cp -r "$here/tests" "$work/"; cd "$work"
phpunit --no-configuration --log-junit "$out/phpunit.xml" tests 2>&1 | tail -2
phpunit --version | head -1
rm -rf "$work"

#!/bin/sh
# Writes ../../vitest-junit.xml from a real vitest run (built-in junit reporter).
set -u
here=$(cd "$(dirname "$0")" && pwd); out=$(cd "$here/../.." && pwd)
work=$(mktemp -d); cp -r "$here/package.json" "$here/src" "$work/"; cd "$work"
npm install --no-audit --no-fund --silent >/dev/null
npx vitest run --reporter=default --reporter=junit --outputFile.junit="$out/vitest-junit.xml" 2>&1 | tail -8
echo "vitest $(npx vitest --version)"
rm -rf "$work"

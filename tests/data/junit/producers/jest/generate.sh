#!/bin/sh
# Writes ../../jest-junit.xml from a real jest + jest-junit run (see ../README.md).
set -u
here=$(cd "$(dirname "$0")" && pwd); out=$(cd "$here/../.." && pwd)
work=$(mktemp -d); cp -r "$here/package.json" "$here/src" "$work/"; cd "$work"
npm install --no-audit --no-fund --silent >/dev/null
JEST_JUNIT_OUTPUT_FILE="$out/jest-junit.xml" JEST_JUNIT_REPORT_TEST_SUITE_ERRORS=true \
  npx jest --ci --reporters=default --reporters=jest-junit 2>&1 | tail -8
echo "jest $(npx jest --version), jest-junit $(node -p 'require("jest-junit/package.json").version')"
rm -rf "$work"

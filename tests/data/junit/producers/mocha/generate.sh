#!/bin/sh
# Writes ../../mocha-junit.xml from a real mocha + mocha-junit-reporter run.
set -u
here=$(cd "$(dirname "$0")" && pwd); out=$(cd "$here/../.." && pwd)
work=$(mktemp -d); cp -r "$here/package.json" "$here/test" "$work/"; cd "$work"
npm install --no-audit --no-fund --silent >/dev/null
# The spec reporter's summary is printed by a second, identical run.
npx mocha 2>&1 | grep -E "^ +[0-9]+ (passing|failing|pending)"
npx mocha --reporter mocha-junit-reporter --reporter-options "mochaFile=$out/mocha-junit.xml,includePending=true" >/dev/null 2>&1
echo "mocha $(npx mocha --version), mocha-junit-reporter $(node -p 'require("mocha-junit-reporter/package.json").version')"
rm -rf "$work"

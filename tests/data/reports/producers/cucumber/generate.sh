#!/bin/sh
# Writes ../../cucumber.json (cucumber-js's json formatter) and
# ../../cucumber.console.txt from a real @cucumber/cucumber run (npm).
set -u
here=$(cd "$(dirname "$0")" && pwd); out=$(cd "$here/../.." && pwd)
work=$(mktemp -d); cd "$work"
cp -r "$here/features" "$here/package.json" .
npm install --no-audit --no-fund --silent || exit 1
npx cucumber-js --format "json:$work/cucumber.json" --format summary > console.txt 2>&1; rc=$?
sed "s#$work/##g" cucumber.json > "$out/cucumber.json"
{ grep -E '^[0-9]+ (scenarios?|steps?) ' console.txt; echo "exit code $rc"
  echo "@cucumber/cucumber $(node -p 'require("@cucumber/cucumber/package.json").version'), node $(node --version)"; } > "$out/cucumber.console.txt"
cat "$out/cucumber.console.txt"
rm -rf "$work"

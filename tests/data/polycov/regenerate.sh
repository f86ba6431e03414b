#!/usr/bin/env bash
# Regenerate every committed coverage report in reports/ from the sample
# projects here, with the real producers. Only this script needs Node, Go,
# gcc/gcovr/lcov and Java/JaCoCo; the tests read the committed reports.
#
# The projects are built in $BUILD (default /tmp/polycov-build), so reports
# that hold absolute paths hold that "build machine" prefix, as a CI agent's
# reports do; the tests map it back with [tool.releasegate.coverage] paths.
#
#   NODE_BIN=/path/to/node_modules/.bin  (c8 and nyc: npm install c8@10 nyc@17)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
BUILD="${BUILD:-/tmp/polycov-build}"
NODE_BIN="${NODE_BIN:-/tmp/polycov-tools/node_modules/.bin}"
rm -rf "$BUILD" "$HERE"/*/reports
mkdir -p "$BUILD"
cp -r "$HERE/js" "$HERE/go" "$HERE/c" "$HERE/java" "$HERE/python" "$BUILD/"

versions="$HERE/VERSIONS.txt"
: > "$versions"

# -- JavaScript: c8 (V8 coverage) and nyc (Istanbul instrumentation) ----------
cd "$BUILD/js"
OUT="$HERE/js/reports"
echo "node $(node --version)" >> "$versions"
echo "c8 $("$NODE_BIN/c8" --version)" >> "$versions"
echo "nyc $("$NODE_BIN/nyc" --version)" >> "$versions"
for tool in c8 nyc; do
  mkdir -p "$OUT/$tool"
  "$NODE_BIN/$tool" --reporter=lcov --reporter=cobertura --reporter=clover \
    --reporter=json-summary --reporter=text-summary --reporter=text \
    --report-dir="$OUT/$tool" node test.js > "$OUT/$tool/summary.txt"
  rm -rf "$OUT/$tool/lcov-report" "$OUT/$tool/tmp" .nyc_output coverage
done

# -- Go ----------------------------------------------------------------------
cd "$BUILD/go"
OUT="$HERE/go/reports"
echo "$(go version)" >> "$versions"
mkdir -p "$OUT"
export GOFLAGS=-mod=mod GOPROXY=off GOCACHE="$BUILD/gocache"
go test -covermode=count -coverprofile="$OUT/count.out" ./... > "$OUT/test.txt"
go tool cover -func="$OUT/count.out" > "$OUT/count.func.txt"
# Per-file percents: the file list of go tool cover's HTML view.
go tool cover -html="$OUT/count.out" -o cover.html
grep -o '<option value="file[0-9]*">[^<]*</option>' cover.html > "$OUT/count.files.txt"
go test -covermode=set -coverprofile="$OUT/set.out" ./...
go tool cover -func="$OUT/set.out" > "$OUT/set.func.txt"
# Two runs appended (as CI scripts concatenate shards): repeated blocks.
go test -covermode=count -coverprofile=a.out -run 'TestDivide|TestArea' ./...
go test -covermode=count -coverprofile=b.out -run 'TestSign|TestSum' ./...
{ cat a.out; tail -n +2 b.out; } > "$OUT/appended.out"
go tool cover -func="$OUT/appended.out" > "$OUT/appended.func.txt"
# -coverpkg: every package's blocks in every test binary's profile.
go test -covermode=atomic -coverpkg=./... -coverprofile="$OUT/coverpkg.out" ./...
go tool cover -func="$OUT/coverpkg.out" > "$OUT/coverpkg.func.txt"

# -- C: gcc --coverage, then gcovr and lcov ----------------------------------
cd "$BUILD/c"
OUT="$HERE/c/reports"
echo "$(gcc --version | head -1)" >> "$versions"
echo "$(gcovr --version | head -1)" >> "$versions"
echo "$(lcov --version)" >> "$versions"
mkdir -p "$OUT/gcovr" "$OUT/lcov"
gcc --coverage -O0 -o calc_test main.c calc.c
./calc_test
gcovr -r . --cobertura "$OUT/gcovr/cobertura.xml" --lcov "$OUT/gcovr/lcov.info" \
  --jacoco "$OUT/gcovr/jacoco.xml" --clover "$OUT/gcovr/clover.xml" \
  --txt-summary --txt "$OUT/gcovr/report.txt" > "$OUT/gcovr/summary.txt"
lcov --quiet --capture --directory . --rc lcov_branch_coverage=1 --output-file "$OUT/lcov/lcov.info"
lcov --summary "$OUT/lcov/lcov.info" --rc lcov_branch_coverage=1 > "$OUT/lcov/summary.txt" 2>&1
lcov --list "$OUT/lcov/lcov.info" --rc lcov_branch_coverage=1 > "$OUT/lcov/list.txt" 2>&1

# -- Java: the JaCoCo agent, then JaCoCo's report engine (Ant task) ---------
cd "$BUILD/java"
OUT="$HERE/java/reports"
echo "$(java -version 2>&1 | head -1)" >> "$versions"
echo "jacoco $(basename "$(readlink -f /usr/share/java/org.jacoco.core.jar)")" >> "$versions"
echo "$(ant -version)" >> "$versions"
mkdir -p classes "$OUT"
javac --release 11 -g -d classes src/main/java/com/example/calc/*.java
# Debian's agent jar carries the runtime agent as a resource.
unzip -p /usr/share/java/org.jacoco.agent.jar jacocoagent.jar > jacocoagent.jar
java -javaagent:jacocoagent.jar=destfile=jacoco.exec,includes=com.example.* \
  -cp classes com.example.calc.Main
ant -q report
cp jacoco.xml jacoco.csv "$OUT/"
cp html/index.html "$OUT/index.html"

# -- Python: coverage.py's own reports -----------------------------------------
cd "$BUILD/python"
OUT="$HERE/python/reports"
echo "coverage $(python -m coverage --version | head -1)" >> "$versions"
python -m coverage run --branch -m pytest -q -p no:cacheprovider -p no:releasegate test_pricing.py
mkdir -p "$OUT"
python -m coverage xml -o "$OUT/coverage.xml"
python -m coverage lcov -o "$OUT/lcov.info"
python -m coverage json -o "$OUT/coverage.json"
python -m coverage report --precision=2 > "$OUT/report.txt"
echo "reports written to $HERE/*/reports"

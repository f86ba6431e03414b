#!/bin/sh
# Writes ../../testng-results.xml (TestNG's own XML reporter) and
# ../../testng.console.txt from a real TestNG run (Debian's testng 6.9.12,
# the machine's Java).
set -u
here=$(cd "$(dirname "$0")" && pwd); out=$(cd "$here/../.." && pwd)
work=$(mktemp -d); cd "$work"
cp=/usr/share/java/testng.jar:/usr/share/java/jcommander.jar:/usr/share/java/bsh.jar:/usr/share/java/snakeyaml.jar:/usr/share/java/guice.jar
mkdir classes
javac -nowarn -d classes -cp "$cp" "$here"/src/sample/*.java || exit 1
java -cp "classes:$cp" org.testng.TestNG -d results "$here/testng.xml" > console.txt 2>&1; rc=$?
cp results/testng-results.xml "$out/testng-results.xml"
{ grep -v '^\s*$' console.txt | sed "s#$here/#producers/testng/#" | tail -8; echo "exit code $rc"
  echo "TestNG $(dpkg-query -W -f '${Version}' testng), $(java -version 2>&1 | head -1)"; } > "$out/testng.console.txt"
cat "$out/testng.console.txt"
rm -rf "$work"

#!/bin/sh
# Writes ../../nunit2.xml (NUnit 2.6.4's TestResult.xml) and ../../nunit2.console.txt
# from a real nunit-console run (Debian's nunit-console, C# compiled with mono's mcs).
set -u
here=$(cd "$(dirname "$0")" && pwd); out=$(cd "$here/../.." && pwd)
work=$(mktemp -d); cd "$work"
fw=$(ls /usr/lib/mono/gac/nunit.framework/2.6.4.0__*/nunit.framework.dll | head -1)
mcs -nologo -target:library -r:"$fw" -out:Sample.dll "$here/SampleTests.cs" || exit 1
cp "$fw" .
nunit-console -nologo Sample.dll -xml="$work/TestResult.xml" > console.txt 2>&1; rc=$?
cp TestResult.xml "$out/nunit2.xml"
{ grep -E '^(Tests run|Not run|  ?[A-Z][a-z]+:)' console.txt | head -4; grep -E '^Tests run' -A1 console.txt | tail -1
  echo "exit code $rc"; echo "NUnit $(dpkg-query -W -f '${Version}' nunit-console), $(mono --version | head -1)"; } > "$out/nunit2.console.txt"
cp console.txt "$out/nunit2.console.full.txt"
cat "$out/nunit2.console.txt"
rm -rf "$work"

#!/bin/sh
# Writes ../../rspec.xml and ../../rspec-load-error.xml from real RSpec runs with
# rspec_junit_formatter (Debian's ruby-rspec and ruby-rspec-junit-formatter).
set -u
here=$(cd "$(dirname "$0")" && pwd); out=$(cd "$here/../.." && pwd)
work=$(mktemp -d); cp -r "$here/spec" "$work/"; cd "$work"
run() { rspec --format progress --format RspecJunitFormatter --out "$@" 2>&1 | grep -E "examples?, "; }
echo "examples:"; run "$out/rspec.xml" spec/math_spec.rb
echo "load error:"; run "$out/rspec-load-error.xml" spec/broken_spec.rb
echo "rspec $(rspec --version | tr '\n' ' ')rspec_junit_formatter $(dpkg-query -W -f '${Version}' ruby-rspec-junit-formatter)"
rm -rf "$work"

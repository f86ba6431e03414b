#!/bin/sh
# Writes ../../pytest-xunit1.xml, pytest-xunit2.xml and pytest-rerunfailures.xml
# from real pytest runs (needs pytest and pytest-rerunfailures on PYTHON).
set -u
PYTHON=${PYTHON:-python}
here=$(cd "$(dirname "$0")" && pwd); out=$(cd "$here/../.." && pwd)
work=$(mktemp -d); cp -r "$here/sample" "$work/"; cd "$work/sample"
run() {
  "$PYTHON" -m pytest -p no:cacheprovider -p no:randomly -o console_output_style=classic \
    --continue-on-collection-errors -rN "$@" 2>&1 | tail -1
}
echo "xunit1:"; run -o junit_family=xunit1 --junitxml="$out/pytest-xunit1.xml" -p no:rerunfailures test_sample.py test_broken.py
echo "xunit2:"; run -o junit_family=xunit2 --junitxml="$out/pytest-xunit2.xml" -p no:rerunfailures test_sample.py test_broken.py
echo "rerunfailures:"; run -o junit_family=xunit2 --junitxml="$out/pytest-rerunfailures.xml" test_flaky.py
"$PYTHON" -c 'import pytest, pytest_rerunfailures as r; from importlib.metadata import version; print("pytest", pytest.__version__, "pytest-rerunfailures", version("pytest-rerunfailures"))'
rm -rf "$work"

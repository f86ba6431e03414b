"""The verdict's `failures[]` and `flaky[]`: which tests failed, with the first line of why."""

from __future__ import annotations

import json

import jsonschema
import pytest

from pytest_releasegate.model import verdict_schema

TESTS = """
import pytest

def test_ok():
    pass

def test_assert():
    x = 1
    assert x == 2, "x should be two\\nand more detail"

@pytest.fixture
def broken():
    raise RuntimeError("fixture exploded")

def test_setup_error(broken):
    pass

@pytest.fixture
def bad_teardown():
    yield
    raise ValueError("teardown went wrong")

def test_teardown_error(bad_teardown):
    pass

_calls = []

@pytest.mark.flaky(reruns=1)
def test_flaky():
    _calls.append(1)
    assert len(_calls) > 1
"""


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_failures_and_flaky_tests_are_listed_with_their_first_line(
    pytester: pytest.Pytester, xdist: list[str]
) -> None:
    pytester.makepyfile(test_a=TESTS, test_broken="import nosuchmodule_xyz\n")
    pytester.runpytest_subprocess(
        *xdist,
        "--continue-on-collection-errors",
        "-p",
        "rerunfailures",
        "--gate",
        "--gate-json",
        "v.json",
        "--gate-history",
        "h.jsonl",
    )
    verdict = json.loads((pytester.path / "v.json").read_text())
    jsonschema.validate(verdict, verdict_schema())
    failures = {f["nodeid"]: f for f in verdict["failures"]}
    assert set(failures) == {
        "test_a.py::test_assert",
        "test_a.py::test_setup_error",
        "test_a.py::test_teardown_error",
        "test_broken.py",
    }
    assert failures["test_a.py::test_assert"] == {
        "nodeid": "test_a.py::test_assert",
        "source": "pytest",
        "outcome": "failed",
        "message": "AssertionError: x should be two",
    }
    assert failures["test_a.py::test_setup_error"]["outcome"] == "error"
    assert failures["test_a.py::test_setup_error"]["message"] == "RuntimeError: fixture exploded"
    assert failures["test_a.py::test_teardown_error"]["message"] == (
        "ValueError: teardown went wrong"
    )
    assert "nosuchmodule_xyz" in failures["test_broken.py"]["message"]
    assert verdict["failures_omitted"] == 0
    assert verdict["flaky"] == [{"nodeid": "test_a.py::test_flaky", "source": "pytest"}]
    line = json.loads((pytester.path / "h.jsonl").read_text())
    assert line["failed_tests"] == 4
    assert line["verdict"] == verdict["verdict"]


def test_at_most_a_thousand_failures_are_listed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        "import pytest\n@pytest.mark.parametrize('n', range(1003))\n"
        "def test_many(n):\n    assert n < 0\n"
    )
    pytester.runpytest("-p", "no:randomly", "--gate", "--gate-json", "v.json")
    verdict = json.loads((pytester.path / "v.json").read_text())
    assert len(verdict["failures"]) == 1000
    assert verdict["failures_omitted"] == 3
    assert verdict["failures"][0]["message"] == "assert 0 < 0"
    jsonschema.validate(verdict, verdict_schema())

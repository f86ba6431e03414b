"""Subtests (pytest's `subtests` fixture, unittest `subTest`): a failing subtest fails its test."""

from __future__ import annotations

import pytest

from tests.helpers import read_verdict, summary_counts, write_policy

STRICT = """
[[tool.releasegate.rule]]
name = "no failing tests"
metric = "tests.failed"
max = 0
"""

needs_subtests_fixture = pytest.mark.skipif(
    not hasattr(pytest, "Subtests"), reason="pytest's subtests fixture needs pytest >= 9"
)

FIXTURE_TESTS = """
import pytest

def test_one_subtest_fails(subtests):
    for i in range(3):
        with subtests.test(i=i):
            assert i != 1

def test_all_subtests_pass(subtests):
    for i in range(2):
        with subtests.test(i=i):
            pass

def test_skip_after_a_failure(subtests):
    with subtests.test("fails"):
        assert 0
    with subtests.test("skips"):
        pytest.skip("later")

def test_only_a_skipped_subtest(subtests):
    with subtests.test("skips"):
        pytest.skip("later")

def test_plain():
    pass
"""

UNITTEST_TESTS = """
import unittest

class TestCase(unittest.TestCase):
    def test_sub_fails(self):
        for i in range(3):
            with self.subTest(i=i):
                self.assertNotEqual(i, 2)

    def test_sub_skips(self):
        with self.subTest(i=0):
            self.skipTest("not here")

    def test_plain(self):
        pass
"""


def run_gate(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, float]]:
    write_policy(pytester, STRICT)
    result = pytester.runpytest_subprocess("--gate", "--gate-json=v.json", "-q", *args)
    return result, read_verdict(pytester.path / "v.json")["metrics"]


@needs_subtests_fixture
@pytest.mark.parametrize("mode", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_failing_subtest_fails_its_test(pytester: pytest.Pytester, mode: tuple[str, ...]) -> None:
    pytester.makepyfile(test_sub=FIXTURE_TESTS)
    result, m = run_gate(pytester, *mode)
    assert result.ret == 1
    assert m["tests.failed"] == 2  # test_one_subtest_fails, test_skip_after_a_failure
    assert m["tests.passed"] == 3
    assert m["tests.total"] == 5
    assert m["tests.subtests_failed"] == 2
    assert m["tests.subtests_passed"] == 4
    assert m["tests.subtests_skipped"] == 2
    # pytest's own summary (at -q it lists subtests): failed = failed subtests + failed tests
    outcomes = summary_counts(result)
    assert outcomes["failed"] == m["tests.failed"] + m["tests.subtests_failed"]
    assert outcomes["subtests passed"] == m["tests.subtests_passed"]
    assert outcomes["skipped"] == m["tests.skipped"] + m["tests.subtests_skipped"]
    assert outcomes["passed"] == m["tests.passed"]


@pytest.mark.parametrize("mode", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_failing_unittest_subtest_fails_its_test(
    pytester: pytest.Pytester, mode: tuple[str, ...]
) -> None:
    pytester.makepyfile(test_unit=UNITTEST_TESTS)
    plain = pytester.runpytest_subprocess("-q", *mode)
    assert plain.ret == 1
    result, m = run_gate(pytester, *mode)
    assert result.ret == 1
    assert m["tests.failed"] == 1
    assert m["tests.total"] == 3
    if hasattr(pytest, "Subtests"):  # pytest >= 9 reports each subtest
        assert m["tests.subtests_failed"] == 1
        assert m["tests.subtests_passed"] == 2
        assert m["tests.subtests_skipped"] == 1
        assert m["tests.passed"] == 2


@needs_subtests_fixture
def test_subtest_metrics_follow_the_selection(pytester: pytest.Pytester) -> None:
    write_policy(
        pytester,
        STRICT
        + '[[tool.releasegate.rule]]\nname = "critical subtests"\nmetric = "tests.subtests_failed"\n'
        'select = { marker = "critical" }\nmax = 0\n',
    )
    pytester.makepyfile(
        test_sub="""
import pytest

@pytest.mark.critical
def test_critical(subtests):
    with subtests.test("fine"):
        pass

def test_other(subtests):
    with subtests.test("broken"):
        assert 0
"""
    )
    result = pytester.runpytest_subprocess("--gate", "--gate-json=v.json")
    verdict = read_verdict(pytester.path / "v.json")
    outcomes = {r["name"]: (r["outcome"], r["actual"]) for r in verdict["rules"]}
    assert outcomes["critical subtests"] == ("pass", 0)
    assert outcomes["no failing tests"] == ("fail", 1)
    assert result.ret == 1

"""Files written by the real producers (tests/data/junit, made by producers/*/generate.sh).

Each case pins the gate's counts against the producer's own console summary
(quoted); where they differ, the difference is a documented mapping
(docs/test-reports.md, "Producers").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_releasegate.sources.junit import count_outcomes, read_junit

DATA = Path(__file__).resolve().parents[1] / "data" / "junit"

# file: (summary line, {count: value}) - counts not named are 0.
PRODUCERS: dict[str, tuple[str, dict[str, int]]] = {
    "pytest-xunit1.xml": (
        "1 failed, 4 passed, 2 skipped, 1 xfailed, 1 xpassed, 2 errors",  # xpassed → passed
        {"total": 11, "passed": 5, "failed": 1, "error": 2, "skipped": 2, "xfailed": 1},
    ),
    "pytest-xunit2.xml": (
        "1 failed, 4 passed, 2 skipped, 1 xfailed, 1 xpassed, 2 errors",
        {"total": 11, "passed": 5, "failed": 1, "error": 2, "skipped": 2, "xfailed": 1},
    ),
    "pytest-rerunfailures.xml": (
        "1 failed, 1 passed, 2 rerun",
        {"total": 2, "passed": 1, "failed": 1, "flaky": 1},
    ),
    "jest-junit.xml": (
        # + "Test Suites: 2 failed": the suite that failed to load is one error;
        # jest-junit writes test.todo as a testcase with no child (→ passed).
        "Tests: 1 failed, 1 skipped, 1 todo, 3 passed, 6 total",
        {"total": 7, "passed": 4, "failed": 1, "error": 1, "skipped": 1},
    ),
    "mocha-junit.xml": (
        "4 passing, 2 pending, 3 failing",
        {"total": 9, "passed": 4, "failed": 3, "skipped": 2},
    ),
    "vitest-junit.xml": (
        # + "Test Files 2 failed": vitest writes the file that failed to load
        # as a testcase with a <failure>; todo → skipped.
        "Tests 1 failed | 3 passed | 1 skipped | 1 todo (6)",
        {"total": 7, "passed": 3, "failed": 2, "skipped": 2},
    ),
    "gtest.xml": (
        # DISABLED_ tests are status="notrun" → skipped.
        "[ PASSED ] 5 tests. [ SKIPPED ] 1 test [ FAILED ] 2 tests, 1 DISABLED TEST",
        {"total": 9, "passed": 5, "failed": 2, "skipped": 2},
    ),
    "ctest.xml": (
        # ctest counts Skipped as passed and "Not Run" as failed, but writes
        # both as <skipped/>; the Disabled test is status="disabled".
        "67% tests passed, 3 tests failed out of 9 (1 Skipped, 1 Not Run, 1 Disabled)",
        {"total": 10, "passed": 5, "failed": 2, "skipped": 3},
    ),
    "catch2.xml": (
        # Catch2 counts an unexpected exception as a failure; its JUnit
        # reporter writes it as <error> and each leaf SECTION as a testcase.
        # A [!mayfail]/[!shouldfail] test that fails is "failed as expected":
        # <skipped message="TEST_CASE tagged with !mayfail"/> beside its
        # <failure> → xfailed, never failed.
        "test cases: 8 | 4 passed | 2 failed | 2 failed as expected",
        {"total": 9, "passed": 5, "failed": 1, "error": 1, "xfailed": 2},
    ),
    "catch2-shouldfail-passes.xml": (
        # A [!shouldfail] test that passes fails the Catch2 run, but its
        # testcase has no child: only failures="1" on the suite tells, and
        # that becomes one stand-in error.
        "test cases: 1 | 1 failed",
        {"total": 2, "passed": 1, "error": 1},
    ),
    "phpunit.xml": (
        # PHPUnit 9 logs risky tests as <error>, incomplete ones as <skipped>.
        "Tests: 9, Errors: 1, Failures: 2, Skipped: 1, Incomplete: 1, Risky: 1",
        {"total": 9, "passed": 3, "failed": 2, "error": 2, "skipped": 2},
    ),
    "gotestsum.xml": (
        # The package that does not compile is only errors="1" on the root.
        "DONE 8 tests, 1 skipped, 2 failures, 1 error",
        {"total": 9, "passed": 5, "failed": 2, "error": 1, "skipped": 1},
    ),
    "gotestsum-rerun.xml": (
        # gotestsum's total counts every attempt; the gate counts each test once.
        "DONE 8 tests, 1 skipped, 2 failures / DONE 3 runs, 11 tests, 1 skipped, 4 failures",
        {"total": 8, "passed": 6, "failed": 1, "skipped": 1, "flaky": 1},
    ),
    "rspec.xml": (
        "7 examples, 2 failures, 3 pending",
        {"total": 7, "passed": 2, "failed": 2, "skipped": 3},
    ),
    "rspec-load-error.xml": (
        # rspec_junit_formatter drops errors outside examples: guard with tests.total.
        "0 examples, 0 failures, 1 error occurred outside of examples",
        {"total": 0},
    ),
}


@pytest.mark.parametrize("name", sorted(PRODUCERS))
def test_producer_file_counts(name: str) -> None:
    _summary, expected = PRODUCERS[name]
    records = read_junit(DATA / name, source="junit:x")
    counts = {k: v for k, v in count_outcomes(records.values()).items() if v}
    assert counts == {k: v for k, v in expected.items() if v}


def test_catch2_expected_failures_are_not_failed() -> None:
    # The console: "test cases: 8 | 4 passed | 2 failed | 2 failed as expected".
    counts = count_outcomes(read_junit(DATA / "catch2.xml").values())
    assert counts["failed"] + counts["error"] == 2
    assert counts["xfailed"] == 2


def test_every_committed_producer_file_is_pinned() -> None:
    assert sorted(p.name for p in DATA.glob("*.xml")) == sorted(PRODUCERS)


def test_every_pinned_summary_is_in_the_readme() -> None:
    readme = (DATA / "producers" / "README.md").read_text()
    for name in PRODUCERS:
        assert f"`{name}`" in readme


def test_jest_suite_that_failed_to_load_is_one_error() -> None:
    records = read_junit(DATA / "jest-junit.xml")
    errors = [r.nodeid for r in records.values() if r.outcome == "error"]
    assert errors == ["Test suite failed to run::src/broken.test.js"]


def test_gotestsum_build_failure_is_not_lost() -> None:
    records = read_junit(DATA / "gotestsum.xml")
    assert [r.nodeid for r in records.values() if r.outcome == "error"] == ["[suite error]"]


def test_gotestsum_rerun_marks_the_flaky_test() -> None:
    records = read_junit(DATA / "gotestsum-rerun.xml")
    flaky = [r.nodeid for r in records.values() if r.flaky]
    assert flaky == ["example.com/sample::TestFlaky"]
    assert records["example.com/sample::TestMultipliesWrongly"].outcome == "failed"


def test_pytest_xunit1_file_attribute_becomes_the_path() -> None:
    records = read_junit(DATA / "pytest-xunit1.xml")
    assert records["test_sample::test_pass"].path == "test_sample.py"
    assert records["test_sample.TestClass::test_method[1]"].classname == "test_sample.TestClass"


def test_rspec_paths_lose_their_dot_slash() -> None:
    records = read_junit(DATA / "rspec.xml")
    assert {r.path for r in records.values()} == {"spec/math_spec.rb"}

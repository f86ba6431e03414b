"""Reports in the other formats CodeBuild reads (tests/data/reports).

Real producers' files are pinned to their console summary (saved beside each
file); the hand-written NUnit 3 and TRX files to the counters they declare.
Every difference from a summary is a mapping in docs/test-reports.md.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_releasegate.sources.junit import count_outcomes
from pytest_releasegate.sources.reports import detect_format, read_report

DATA = Path(__file__).resolve().parents[1] / "data" / "reports"
JUNIT = Path(__file__).resolve().parents[1] / "data" / "junit"

# file: (format, console summary, {count: value}) - counts not named are 0.
PRODUCERS: dict[str, tuple[str, str, dict[str, int]]] = {
    "testng-results.xml": (
        "testng",
        # SUCCESS_PERCENTAGE_FAILURE is among TestNG's Failures; the failed
        # @BeforeClass ("Configuration Failures: 1") is one error.
        "Total tests run: 19, Failures: 7, Skips: 4",
        {"total": 20, "passed": 8, "failed": 7, "error": 1, "skipped": 4},
    ),
    "nunit2.xml": (
        "nunit2",
        # Invalid (NotRunnable) → error: nunit-console's exit code counts it.
        "Tests run: 11, Errors: 1, Failures: 4, Inconclusive: 1",
        {"total": 13, "passed": 5, "failed": 4, "error": 2, "skipped": 2},
    ),
    "cucumber.json": (
        "cucumber",
        # ambiguous, undefined, pending → error: they fail the strict run.
        "9 scenarios (3 failed, 1 ambiguous, 1 undefined, 1 pending, 1 skipped, 2 passed)",
        {"total": 9, "passed": 2, "failed": 3, "error": 3, "skipped": 1},
    ),
}
HAND_WRITTEN = {"nunit3.xml": "nunit3", "trx.trx": "trx"}
CONSOLE = {
    "testng-results.xml": "testng.console.txt",
    "nunit2.xml": "nunit2.console.txt",
    "cucumber.json": "cucumber.console.txt",
}


def _console(name: str) -> str:
    return " ".join((DATA / CONSOLE[name]).read_text().split())


def _counts(name: str) -> dict[str, int]:
    records = read_report(DATA / name, source="tests:x")
    return {k: v for k, v in count_outcomes(records.values()).items() if v}


@pytest.mark.parametrize("name", sorted(PRODUCERS))
def test_producer_file_counts(name: str) -> None:
    _fmt, summary, expected = PRODUCERS[name]
    assert _counts(name) == {k: v for k, v in expected.items() if v}
    assert summary in _console(name)


@pytest.mark.parametrize("name", sorted(PRODUCERS))
def test_failed_and_errors_make_the_producers_exit_code(name: str) -> None:
    # The rule (SPEC §12): what fails the producer's run is failed or error.
    counts = count_outcomes(read_report(DATA / name).values())
    match = re.search(r"exit code (\d+)", _console(name))
    assert match is not None
    code = int(match.group(1))
    assert (counts["failed"] + counts["error"] > 0) == (code != 0)
    if name == "nunit2.xml":  # nunit-console exits with the number of failing tests
        assert counts["failed"] + counts["error"] == code


@pytest.mark.parametrize("name", sorted({**PRODUCERS, **HAND_WRITTEN}))
def test_format_is_told_by_content(name: str) -> None:
    expected = PRODUCERS[name][0] if name in PRODUCERS else HAND_WRITTEN[name]
    with open(DATA / name, "rb") as stream:
        assert detect_format(stream) == expected


@pytest.mark.parametrize("name", sorted(p.name for p in JUNIT.glob("*.xml")))
def test_junit_files_are_detected_as_junit(name: str) -> None:
    with open(JUNIT / name, "rb") as stream:
        assert detect_format(stream) == "junit"


def test_every_committed_report_is_pinned() -> None:
    reports = {p.name for p in DATA.iterdir() if p.suffix in (".xml", ".json", ".trx")}
    assert reports == set(PRODUCERS) | set(HAND_WRITTEN)


def test_nunit3_counts_match_its_declared_counters() -> None:
    text = (DATA / "nunit3.xml").read_text()
    line = next(x for x in text.splitlines() if x.startswith("<test-run "))
    declared = {k: int(v) for k, v in re.findall(r'(\w+)="(\d+)"', line)}
    counts = count_outcomes(read_report(DATA / "nunit3.xml").values())
    assert counts["total"] == declared["total"] == 14
    assert counts["failed"] + counts["error"] == declared["failed"]
    assert counts["passed"] == declared["passed"] + declared["warnings"]
    assert counts["skipped"] == declared["skipped"] + declared["inconclusive"]


def test_trx_counts_match_its_declared_counters() -> None:
    text = (DATA / "trx.trx").read_text()
    line = next(x for x in text.splitlines() if "<Counters " in x)
    declared = {k: int(v) for k, v in re.findall(r'(\w+)="(\d+)"', line)}
    counts = count_outcomes(read_report(DATA / "trx.trx").values())
    assert counts["total"] == declared["total"] == 11
    assert counts["passed"] == declared["passed"]
    assert counts["failed"] == declared["failed"]
    assert counts["error"] == declared["timeout"] + declared["aborted"] + declared["error"]
    assert counts["skipped"] == declared["notExecuted"] + declared["inconclusive"]


def test_testng_mappings() -> None:
    records = read_report(DATA / "testng-results.xml")
    assert records["sample.MathTest::dependsOnAFailure"].outcome == "skipped"
    assert records["sample.SetupTest::connect [config]"].outcome == "error"
    assert records["sample.SetupTest::queries"].outcome == "skipped"
    # Data-provider rows are tests of their own, named by their arguments.
    assert records["sample.MathTest::squares(4, 15)"].outcome == "failed"
    assert records["sample.MathTest::squares(2, 4)"].outcome == "passed"
    # invocationCount: each invocation counts; the one within successPercentage fails too.
    works = [r.outcome for k, r in records.items() if k.startswith("sample.MathTest::mostlyWorks")]
    assert sorted(works) == ["failed", "passed", "passed", "passed"]
    assert records["sample.MathTest::adds"].markers == ("fast", "math")
    assert "sample.MathTest::disabled" not in records  # enabled=false: TestNG does not count it


def test_nunit_mappings() -> None:
    records = read_report(DATA / "nunit2.xml")
    assert records["Sample.MathTests::NeedsArguments"].outcome == "error"
    assert records["Sample.MathTests::IsInconclusive"].outcome == "skipped"
    assert records["Sample.MathTests::IsIgnored"].outcome == "skipped"
    assert records["Sample.MathTests::Squares(4,15)"].outcome == "failed"
    assert records["Sample.MathTests::CategorisedPasses"].markers == ("slow", "db")
    assert records["Sample.MathTests::Adds"].classname == "Sample.MathTests"
    three = read_report(DATA / "nunit3.xml")
    assert three["Sample.MathTests::Warns"].outcome == "passed"
    assert three["Sample.MathTests::NeedsArguments"].outcome == "error"
    assert three["Sample.SetupTests::Queries"].outcome == "error"
    assert three["Sample.MathTests::IsExplicit"].outcome == "skipped"
    assert three["Sample.MathTests::CategorisedPasses"].markers == ("math", "slow", "db")


def test_trx_mappings() -> None:
    records = read_report(DATA / "trx.trx")
    assert records["Sample.MathTests::TimesOut"].outcome == "error"
    assert records["Sample.MathTests::CrashesTheHost"].outcome == "error"
    assert records["Sample.MathTests::IsIgnored"].outcome == "skipped"
    assert records["Sample.MathTests::Squares (4,15)"].outcome == "failed"
    assert "Sample.MathTests::Squares" not in records  # the data-driven container is not a test
    assert records["Sample.MathTests::CategorisedPasses"].markers == ("slow", "db")
    assert records["Sample.MathTests::MultipliesWrongly"].duration == pytest.approx(0.020155)


def test_cucumber_mappings() -> None:
    records = read_report(DATA / "cucumber.json")
    uri = "features/math.feature"
    assert records[f"{uri}::a failing Before hook"].outcome == "failed"
    assert records[f"{uri}::an undefined step"].outcome == "error"
    assert records[f"{uri}::a pending step"].outcome == "error"
    assert records[f"{uri}::an ambiguous step"].outcome == "error"
    assert records[f"{uri}::skipped at run time"].outcome == "skipped"
    assert records[f"{uri}::squares"].outcome == "passed"
    assert records[f"{uri}::squares #2"].outcome == "failed"
    assert records[f"{uri}::multiplying wrongly"].markers == ("smoke",)
    assert records[f"{uri}::adding"].path == uri


def test_every_mapping_is_documented() -> None:
    from pytest_releasegate.sources import nunit2, nunit3, testng, trx

    docs = (Path(__file__).resolve().parents[2] / "docs" / "test-reports.md").read_text()
    for module in (testng, nunit2, nunit3, trx):
        for value in module._OUTCOMES:
            assert f"`{value}`" in docs, (module.__name__, value)
    for status in ("passed", "failed", "skipped", "pending", "undefined", "ambiguous"):
        assert f"`{status}`" in docs


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_byte_order_marks_are_read(tmp_path: Path, encoding: str) -> None:
    # dotnet writes TRX with a UTF-8 BOM; UTF-16 XML starts with one too.
    text = (DATA / "trx.trx").read_text(encoding="utf-8")
    path = tmp_path / "bom.trx"
    path.write_bytes(
        text.replace('encoding="utf-8"', f'encoding="{encoding.removesuffix("-sig")}"').encode(
            encoding
        )
    )
    assert count_outcomes(read_report(path).values())["total"] == 11


def test_cucumber_failures_carry_their_message() -> None:
    records = read_report(DATA / "cucumber.json")
    uri = "features/math.feature"
    assert (
        records[f"{uri}::an undefined step"].message
        == "undefined step: When I take the square root of 4"
    )
    assert (records[f"{uri}::a failing Before hook"].message or "").startswith(
        "Error: database down"
    )
    assert records[f"{uri}::adding"].message is None

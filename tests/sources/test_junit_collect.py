"""The JUnit source inside a real gate: globs, source names, reruns across files, errors."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from pytest_releasegate.engine import Gate, GateOptions
from pytest_releasegate.manager import get_plugin_manager, known_metrics
from pytest_releasegate.model import Outcome
from pytest_releasegate.policy import parse_policy

DATA = Path(__file__).resolve().parents[1] / "data" / "junit"

PASSING = '<testsuite name="s"><testcase classname="c" name="ok"/></testsuite>'


def make_gate(root: Path, specs: list[str], rules: list[dict[str, Any]] | None = None) -> Gate:
    pm = get_plugin_manager(entry_points=False)
    rules = rules or [{"name": "no failures", "metric": "tests.failed", "max": 0}]
    policy = parse_policy({"rule": rules}, metrics=known_metrics(pm))
    return Gate(policy, GateOptions(input_junit=specs), rootdir=root, pm=pm)


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_recursive_glob_relative_to_the_root(tmp_path: Path) -> None:
    write(tmp_path, "reports/a.xml", PASSING)
    write(tmp_path, "reports/deep/er/b.xml", PASSING.replace('"ok"', '"ok2"'))
    write(tmp_path, "elsewhere/c.xml", PASSING.replace('"ok"', '"ok3"'))
    gate = make_gate(tmp_path, ["reports/**/*.xml"])
    gate.run()
    assert set(gate.results.by_source) == {"junit:default"}
    assert set(gate.results.by_source["junit:default"]) == {"c::ok", "c::ok2"}
    assert gate.data["junit_errors"] == []
    assert gate.results.missing == {}


def test_named_sources_are_kept_apart(tmp_path: Path) -> None:
    shutil.copy(DATA / "mocha-junit.xml", write(tmp_path, "ui/r.xml", ""))
    shutil.copy(DATA / "gtest.xml", write(tmp_path, "cpp/r.xml", ""))
    gate = make_gate(
        tmp_path,
        ["ui=ui/*.xml", "cpp=cpp/*.xml"],
        [
            {"name": "ui", "metric": "tests.failed", "select": {"source": "junit:ui"}, "max": 0},
            {"name": "cpp", "metric": "tests.total", "select": {"source": "junit:cpp"}, "min": 1},
            {"name": "math", "metric": "tests.failed", "select": {"classname": "Math*"}, "max": 1},
        ],
    )
    verdict = gate.run()
    by_name = {r.name: r for r in verdict.rules}
    assert by_name["ui"].actual == 3 and by_name["ui"].outcome is Outcome.FAIL
    assert by_name["cpp"].actual == 9 and by_name["cpp"].outcome is Outcome.PASS
    assert by_name["math"].actual == 1 and by_name["math"].outcome is Outcome.PASS
    assert {r.source for r in gate.results} == {"junit:ui", "junit:cpp"}


def test_a_glob_matching_nothing_is_an_error_for_rules_on_that_source(tmp_path: Path) -> None:
    write(tmp_path, "api/r.xml", PASSING)
    gate = make_gate(
        tmp_path,
        ["api=api/*.xml", "ui=ui/*.xml"],
        [
            {"name": "ui", "metric": "tests.total", "select": {"source": "junit:ui"}, "min": 1},
            {"name": "api", "metric": "tests.failed", "select": {"source": "junit:api"}, "max": 0},
        ],
    )
    verdict = gate.run()
    by_name = {r.name: r for r in verdict.rules}
    assert by_name["ui"].outcome is Outcome.ERROR
    assert "no files match 'ui/*.xml'" in by_name["ui"].message
    assert by_name["api"].outcome is Outcome.PASS
    assert verdict.verdict is Outcome.ERROR and verdict.exit_code == 3
    assert gate.results.missing == {"junit:ui": "no files match 'ui/*.xml'"}


def test_on_missing_applies_to_a_glob_matching_nothing(tmp_path: Path) -> None:
    gate = make_gate(
        tmp_path,
        ["ui=ui/*.xml"],
        [{"name": "ui", "metric": "tests.failed", "max": 0, "on-missing": "skip"}],
    )
    verdict = gate.run()
    assert verdict.rules[0].outcome is Outcome.SKIPPED


def test_a_malformed_file_is_an_error_naming_it_and_good_files_still_count(
    tmp_path: Path,
) -> None:
    write(tmp_path, "reports/good.xml", PASSING)
    write(tmp_path, "reports/bad.xml", "<testsuite><testcase name='x'>")
    gate = make_gate(tmp_path, ["reports/*.xml"])
    verdict = gate.run()
    assert verdict.verdict is Outcome.ERROR
    message = verdict.rules[0].message
    assert "reports/bad.xml: not well-formed XML" in message
    assert gate.data["junit_errors"] == [
        "reports/bad.xml: not well-formed XML: no element found at line 1, column 30"
    ]
    assert list(gate.results.by_source["junit:default"]) == ["c::ok"]


def test_a_file_with_no_testcase_still_marks_its_source_present(tmp_path: Path) -> None:
    write(tmp_path, "r.xml", '<testsuites name="empty"/>')
    gate = make_gate(
        tmp_path,
        ["r.xml"],
        [{"name": "ran", "metric": "tests.total", "min": 1}],
    )
    verdict = gate.run()
    assert gate.results.sources == {"junit:default"}
    assert verdict.rules[0].actual == 0 and verdict.rules[0].outcome is Outcome.FAIL


def test_the_same_test_in_two_files_of_one_source_is_a_rerun(tmp_path: Path) -> None:
    failing = (
        '<testsuite><testcase classname="c" name="t" time="1"><failure/></testcase></testsuite>'
    )
    write(tmp_path, "attempt-1.xml", failing)
    write(
        tmp_path,
        "attempt-2.xml",
        '<testsuite><testcase classname="c" name="t" time="2"/></testsuite>',
    )
    gate = make_gate(
        tmp_path,
        ["attempt-*.xml"],
        [{"name": "flaky", "metric": "tests.flaky", "max": 0}],
    )
    verdict = gate.run()
    (record,) = gate.results
    assert (record.outcome, record.flaky, record.duration) == ("passed", True, 3.0)
    assert verdict.rules[0].actual == 1


def test_overlapping_globs_read_a_file_once(tmp_path: Path) -> None:
    write(tmp_path, "r/a.xml", '<testsuite><testcase name="t"><failure/></testcase></testsuite>')
    gate = make_gate(tmp_path, ["r/*.xml", "r/a.xml"])
    gate.run()
    (record,) = gate.results
    assert not record.flaky


def test_merges_with_the_pytest_source(tmp_path: Path) -> None:
    from pytest_releasegate.model import TestRecord

    write(tmp_path, "r.xml", PASSING)
    gate = make_gate(
        tmp_path,
        ["java=r.xml"],
        [{"name": "all", "metric": "tests.total", "min": 2}],
    )
    gate.pytest_run = True
    gate.add_records([TestRecord("tests/test_a.py::test_x", "passed")])
    verdict = gate.run()
    assert verdict.rules[0].actual == 2


def test_path_selection_uses_the_file_attribute(tmp_path: Path) -> None:
    file = tmp_path / "spec" / "api" / "x_spec.rb"
    write(
        tmp_path,
        "r.xml",
        f'<testsuite><testcase classname="a" name="t1" file="{file}"><failure/></testcase>'
        '<testcase classname="a" name="t2" file="./spec/ui/y_spec.rb"><failure/></testcase></testsuite>',
    )
    gate = make_gate(
        tmp_path,
        ["r.xml"],
        [{"name": "api", "metric": "tests.failed", "select": {"path": "spec/api/**"}, "max": 0}],
    )
    verdict = gate.run()
    assert verdict.rules[0].actual == 1


@pytest.mark.parametrize("spec", ["=r.xml", "ui="])
def test_a_bad_spec_is_an_error_not_a_crash(tmp_path: Path, spec: str) -> None:
    gate = make_gate(tmp_path, [spec])
    verdict = gate.run()
    assert verdict.verdict is Outcome.ERROR
    assert "empty" in verdict.rules[0].message
    assert not gate.data.get("_internal_errors")


def test_without_inputs_the_source_does_nothing(tmp_path: Path) -> None:
    gate = make_gate(tmp_path, [])
    gate.run()
    assert "junit_errors" not in gate.data
    assert gate.results.sources == set()


def test_quarantine_applies_to_report_sources(tmp_path: Path) -> None:
    write(
        tmp_path,
        "r.xml",
        '<testsuite name="s"><testcase classname="c" name="bad"><failure/></testcase>'
        '<testcase classname="c" name="ok"/></testsuite>',
    )
    pm = get_plugin_manager(entry_points=False)
    policy = parse_policy(
        {
            "rule": [
                {"name": "no failures", "metric": "tests.failed", "max": 0},
                {"name": "q", "metric": "tests.quarantined_failed", "max": 0, "level": "info"},
            ],
            "quarantine": [{"nodeid": "c::bad", "reason": "known", "expires": "2999-01-01"}],
        },
        metrics=known_metrics(pm),
    )
    gate = Gate(policy, GateOptions(input_junit=["r.xml"]), rootdir=tmp_path, pm=pm)
    verdict = gate.run()
    rules = {r.name: r for r in verdict.rules}
    assert rules["no failures"].actual == 0
    assert rules["q"].actual == 1
    assert verdict.metrics["tests.total"] == 1

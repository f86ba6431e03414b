"""Whole-run coverage metrics on real data, against coverage.py's own reports."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import coverage.report_core
import pytest
from coverage.results import display_covered

from pytest_releasegate.model import Outcome, Rule, Selection
from pytest_releasegate.sources import coverage as source

from ._coverage_support import (
    coverage_cli,
    coverage_json,
    make_gate,
    measure,
    toolz_project_fixture,  # noqa: F401 - the toolz_project fixture
    write,
)

DATA_FILE = "toolz.coverage"
WHOLE = (
    "coverage.percent",
    "coverage.line_percent",
    "coverage.branch_percent",
    "coverage.min_file_line_percent",
    "coverage.missing_lines",
)


def _configure(root: Path, section: str, setting: str) -> None:
    """Add `setting` to `section` of the project's pyproject.toml."""
    config = root / "pyproject.toml"
    text = config.read_text()
    assert section in text
    config.write_text(text.replace(f"{section}\n", f"{section}\n{setting}\n"))


def _expected(report: dict[str, Any], metric: str) -> float:
    totals = report["totals"]
    if metric == "coverage.percent":
        return float(totals["percent_covered"])
    if metric == "coverage.line_percent":
        return float(totals["percent_statements_covered"])
    if metric == "coverage.branch_percent":
        return float(totals["percent_branches_covered"])
    if metric == "coverage.missing_lines":
        return float(totals["missing_lines"])
    return float(min(f["summary"]["percent_statements_covered"] for f in report["files"].values()))


def _display(report: dict[str, Any], metric: str) -> str | None:
    totals = report["totals"]
    key = {
        "coverage.percent": "percent_covered_display",
        "coverage.line_percent": "percent_statements_covered_display",
        "coverage.branch_percent": "percent_branches_covered_display",
    }.get(metric)
    return totals[key] if key else None


@pytest.mark.parametrize("glob", [None, "toolz/sandbox/**", "toolz/*toolz.py", "toolz/curried/*"])
def test_every_metric_equals_coverage_json_for_the_same_selection(
    toolz_project: Path, glob: str | None
) -> None:
    report = coverage_json(toolz_project, DATA_FILE, *([f"--include={glob}"] if glob else []))
    rules = [Rule(name=metric, metric=metric, select=Selection(path=glob)) for metric in WHOLE]
    gate = make_gate(toolz_project, *rules, coverage=str(toolz_project / DATA_FILE))

    measured = {rule.metric: gate.measure(rule) for rule in rules}

    assert {k: m.value for k, m in measured.items()} == {k: _expected(report, k) for k in WHOLE}
    for metric, m in measured.items():
        if (shown := _display(report, metric)) is not None:
            assert m.precision == 0  # toolz keeps coverage.py's default precision
            assert m.value is not None
            assert display_covered(m.value, m.precision) == shown
    # the same files as coverage.py reported for that selection
    state = source.state_of(gate)
    assert isinstance(state.report, source.Report)
    selected = {f.path for f in source._selected(state.report.files, rules[0])}
    assert selected == set(report["files"])


def test_total_matches_what_coverage_report_prints(toolz_project: Path) -> None:
    total = coverage_cli(toolz_project, "report", f"--data-file={DATA_FILE}", "--format=total")
    m = measure(
        toolz_project,
        Rule(name="r", metric="coverage.percent"),
        coverage=str(toolz_project / DATA_FILE),
    )
    assert m.value is not None
    assert m.precision is not None
    assert display_covered(m.value, m.precision) == total.strip() == "98"
    assert m.message == "1211 of 1228 statements and 417 of 432 branches covered in 15 files"


def test_precision_comes_from_the_project_configuration(toolz_project: Path) -> None:
    _configure(toolz_project, "[tool.coverage.report]", "precision = 2")
    report = coverage_json(toolz_project, DATA_FILE)

    m = measure(
        toolz_project,
        Rule(name="r", metric="coverage.percent"),
        coverage=str(toolz_project / DATA_FILE),
    )

    assert m.precision == 2
    assert m.value is not None
    assert display_covered(m.value, 2) == report["totals"]["percent_covered_display"] == "98.07"


def test_default_data_file_is_coverage_configured_one_in_the_root(toolz_project: Path) -> None:
    shutil.move(toolz_project / DATA_FILE, toolz_project / ".coverage")
    m = measure(toolz_project, Rule(name="r", metric="coverage.missing_lines"))
    assert m.value == 17


def test_data_file_from_run_data_file_setting(toolz_project: Path) -> None:
    _configure(toolz_project, "[tool.coverage.run]", f'data_file = "{DATA_FILE}"')
    m = measure(toolz_project, Rule(name="r", metric="coverage.missing_lines"))
    assert m.value == 17


def test_omit_in_the_report_configuration_is_honoured(toolz_project: Path) -> None:
    _configure(toolz_project, "[tool.coverage.report]", 'omit = ["toolz/functoolz.py"]')
    report = coverage_json(toolz_project, DATA_FILE)
    m = measure(
        toolz_project,
        Rule(name="r", metric="coverage.min_file_line_percent"),
        coverage=str(toolz_project / DATA_FILE),
    )
    assert "toolz/functoolz.py" not in report["files"]
    assert m.value == _expected(report, "coverage.min_file_line_percent") == 100.0


def test_per_path_floor_fails_on_the_path_that_is_under_it(toolz_project: Path) -> None:
    rules = (
        Rule(
            name="dicttoolz",
            metric="coverage.percent",
            select=Selection(path="toolz/dict*.py"),
            min=99.5,
        ),
        Rule(
            name="sandbox",
            metric="coverage.percent",
            select=Selection(path="toolz/sandbox/**"),
            min=99.5,
        ),
        Rule(
            name="core lines",
            metric="coverage.line_percent",
            select=Selection(path="toolz/*.py"),
            min=99,
        ),
    )
    verdict = make_gate(toolz_project, *rules, coverage=str(toolz_project / DATA_FILE)).run()
    outcomes = {r.name: r.outcome for r in verdict.rules}
    assert outcomes == {
        "dicttoolz": Outcome.FAIL,
        "sandbox": Outcome.PASS,
        "core lines": Outcome.FAIL,
    }
    by_name = {r.name: r for r in verdict.rules}
    assert "in 1 file" in by_name["dicttoolz"].message
    assert "in 4 files" in by_name["sandbox"].message  # __init__, core, parallel, tests/__init__


def test_per_file_floor_names_the_worst_file_and_its_percent(toolz_project: Path) -> None:
    rules = (
        Rule(name="every file", metric="coverage.min_file_line_percent", min=97),
        Rule(
            name="sandbox files",
            metric="coverage.min_file_line_percent",
            select=Selection(path="toolz/sandbox/**"),
            min=97,
        ),
    )
    verdict = make_gate(toolz_project, *rules, coverage=str(toolz_project / DATA_FILE)).run()
    every, sandbox = verdict.rules

    assert every.outcome is Outcome.FAIL
    assert every.actual == pytest.approx(100 * 442 / 459)
    assert "worst file toolz/functoolz.py at 96% of 15 files" in every.message
    assert "1 below 97: toolz/functoolz.py 96%" in every.message
    assert sandbox.outcome is Outcome.PASS
    assert sandbox.actual == 100.0


def test_below_floor_list_is_cut_after_five_files(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": '[tool.coverage.run]\nsource = ["pkg"]\n',
            "pkg/__init__.py": "",
            **{f"pkg/m{i}.py": "def f():\n    return 1\n" for i in range(7)},
            "run_checks.py": "import pkg.m0, pkg.m1, pkg.m2, pkg.m3, pkg.m4, pkg.m5, pkg.m6\n",
        },
    )
    coverage_cli(tmp_path, "run", "run_checks.py")
    m = measure(tmp_path, Rule(name="r", metric="coverage.min_file_line_percent", min=90))
    assert m.value == 50.0
    assert "7 below 90: pkg/m0.py 50%, pkg/m1.py 50%" in m.message
    assert m.message.endswith("and 2 more")


def test_the_data_is_analysed_once_however_many_rules(
    toolz_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    real = coverage.report_core.get_analysis_to_report

    def counting(cov: Any, morfs: Any) -> Any:
        calls.append(morfs)
        return real(cov, morfs)

    monkeypatch.setattr(coverage.report_core, "get_analysis_to_report", counting)
    rules = [Rule(name=m, metric=m, min=1) for m in WHOLE[:4]]
    rules.append(Rule(name="sel", metric="coverage.percent", select=Selection(path="toolz/*.py")))
    verdict = make_gate(toolz_project, *rules, coverage=str(toolz_project / DATA_FILE)).run()

    assert [r.outcome for r in verdict.rules] == [Outcome.PASS] * 5
    assert calls == [None]
    assert verdict.metrics["coverage.missing_lines"] == 17


def test_metrics_object_has_the_whole_run_values(toolz_project: Path) -> None:
    rule = Rule(
        name="sandbox", metric="coverage.percent", select=Selection(path="toolz/sandbox/**")
    )
    verdict = make_gate(toolz_project, rule, coverage=str(toolz_project / DATA_FILE)).run()
    report = coverage_json(toolz_project, DATA_FILE)
    for metric in WHOLE:
        assert verdict.metrics[metric] == _expected(report, metric)


def test_no_coverage_rules_and_no_coverage_run_costs_nothing(toolz_project: Path) -> None:
    shutil.move(toolz_project / DATA_FILE, toolz_project / ".coverage")  # a stale file lying there
    gate = make_gate(toolz_project, Rule(name="tests ran", metric="tests.total", min=0))
    verdict = gate.run()
    assert not [k for k in verdict.metrics if k.startswith("coverage.")]
    assert "coverage" not in gate.data  # not even located


def test_missing_data_file_is_missing_data_naming_where_it_looked(tmp_path: Path) -> None:
    verdict = make_gate(tmp_path, Rule(name="lines", metric="coverage.line_percent", min=80)).run()
    (result,) = verdict.rules
    assert result.outcome is Outcome.ERROR
    assert result.actual is None
    assert f"{tmp_path / '.coverage'} does not exist" in result.message


def test_explicit_data_file_that_is_missing_names_the_option(tmp_path: Path) -> None:
    m = measure(
        tmp_path, Rule(name="r", metric="coverage.percent"), coverage=str(tmp_path / "nope")
    )
    assert m.value is None
    assert m.missing is not None
    assert "nope does not exist (from --gate-coverage)" in m.missing


def test_uncombined_parallel_data_says_to_combine(toolz_project: Path) -> None:
    shutil.move(toolz_project / DATA_FILE, toolz_project / ".coverage.host.1234.XyZ")
    m = measure(toolz_project, Rule(name="r", metric="coverage.percent"))
    assert m.missing is not None
    assert "run `coverage combine` first" in m.missing


def test_branch_percent_without_branch_data_is_missing_not_100(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": '[tool.coverage.run]\nsource = ["pkg"]\n',
            "pkg/__init__.py": "def f(x):\n    if x:\n        return 1\n    return 2\n",
            "run_checks.py": "import pkg\npkg.f(1)\n",
        },
    )
    coverage_cli(tmp_path, "run", "run_checks.py")
    m = measure(tmp_path, Rule(name="r", metric="coverage.branch_percent"))
    assert m.value is None
    assert m.missing is not None
    assert "no branch measurements" in m.missing
    assert measure(tmp_path, Rule(name="r", metric="coverage.percent")).value == 75.0


def test_selection_matching_no_file_is_missing_data(toolz_project: Path) -> None:
    rule = Rule(name="r", metric="coverage.percent", select=Selection(path="app/**"))
    m = measure(toolz_project, rule, coverage=str(toolz_project / DATA_FILE))
    assert m.value is None
    assert m.missing is not None
    assert "no measured source file matches path='app/**' (15 files measured" in m.missing


def test_unreadable_data_file_is_missing_data_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / ".coverage").write_text("this is not sqlite")
    m = measure(tmp_path, Rule(name="r", metric="coverage.percent"))
    assert m.value is None
    assert m.missing is not None
    assert "coverage data" in m.missing


def test_missing_source_file_is_missing_data(toolz_project: Path) -> None:
    (toolz_project / "toolz" / "utils.py").unlink()
    m = measure(
        toolz_project,
        Rule(name="r", metric="coverage.percent"),
        coverage=str(toolz_project / DATA_FILE),
    )
    assert m.value is None
    assert m.missing is not None
    assert "utils.py" in m.missing


def test_ignore_errors_skips_a_broken_file_and_warns(toolz_project: Path) -> None:
    _configure(toolz_project, "[tool.coverage.report]", "ignore_errors = true")
    (toolz_project / "toolz" / "utils.py").write_text("def broken(:\n")
    report = coverage_json(toolz_project, DATA_FILE)
    gate = make_gate(
        toolz_project,
        Rule(name="r", metric="coverage.missing_lines", max=100),
        coverage=str(toolz_project / DATA_FILE),
    )
    verdict = gate.run()
    assert verdict.rules[0].actual == report["totals"]["missing_lines"] == 17
    assert "toolz/utils.py" not in report["files"]
    assert any(w.startswith("coverage: Couldn't parse") for w in verdict.warnings)


def test_works_when_the_current_directory_is_elsewhere(
    toolz_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    m = measure(
        toolz_project,
        Rule(name="r", metric="coverage.missing_lines"),
        coverage=str(toolz_project / DATA_FILE),
    )
    assert m.value == 17
    assert Path.cwd() == elsewhere


def test_a_test_selection_cannot_narrow_coverage(toolz_project: Path) -> None:
    rule = Rule(name="r", metric="coverage.percent", select=Selection(marker="critical"))
    m = measure(toolz_project, rule, coverage=str(toolz_project / DATA_FILE))
    assert m.value is None
    assert m.missing == "coverage metrics select source files by `path` only, not by marker"


def test_stale_default_data_in_a_pytest_run_is_a_warning(toolz_project: Path) -> None:
    data = toolz_project / ".coverage"
    shutil.move(toolz_project / DATA_FILE, data)
    os.utime(data, (1_000_000_000, 1_000_000_000))
    gate = make_gate(toolz_project, Rule(name="r", metric="coverage.percent", min=1))
    gate.pytest_run = True
    verdict = gate.run()
    assert verdict.rules[0].outcome is Outcome.PASS
    assert any("predates this run" in w for w in verdict.warnings)


@pytest.mark.parametrize(("kind", "said"), [("dir", "a directory"), ("fifo", "a FIFO")])
@pytest.mark.parametrize("explicit", [True, False])
def test_a_data_file_that_is_a_directory_or_fifo_says_so(
    tmp_path: Path, kind: str, said: str, explicit: bool
) -> None:
    data = tmp_path / ".coverage"
    if kind == "dir":
        data.mkdir()
    else:
        os.mkfifo(data)
    options = {"coverage": str(data)} if explicit else {}
    m = measure(tmp_path, Rule(name="r", metric="coverage.percent"), **options)
    assert m.value is None and m.missing is not None
    assert f"{data} is {said}" in m.missing
    assert "does not exist" not in m.missing

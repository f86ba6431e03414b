"""`pytest --cov --gate`: the coverage rules see exactly what coverage.py reports."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]

POLICY = """
[tool.coverage.report]
precision = 2

[tool.releasegate]

[[tool.releasegate.rule]]
name = "total"
metric = "coverage.percent"
min = 50

[[tool.releasegate.rule]]
name = "lines"
metric = "coverage.line_percent"
min = 50

[[tool.releasegate.rule]]
name = "branches"
metric = "coverage.branch_percent"
min = 10

[[tool.releasegate.rule]]
name = "worst file"
metric = "coverage.min_file_line_percent"
min = 0

[[tool.releasegate.rule]]
name = "missing"
metric = "coverage.missing_lines"
max = 100
"""

CALC = """
def sign(n):
    if n < 0:
        return -1
    if n == 0:
        return 0
    return 1


def describe(n):
    parts = []
    for d in str(abs(n)):
        if d == "7":
            parts.append("lucky")
        else:
            parts.append(d)
    return " ".join(parts)
"""

EXTRA = """
def never_called(x):
    if x:
        return "yes"
    return "no"
"""

TESTS = """
from calc.core import describe, sign


def test_sign_negative():
    assert sign(-4) == -1


def test_sign_positive():
    assert sign(9) == 1


def test_describe():
    assert describe(12) == "1 2"
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    pytester.makefile(".toml", pyproject=POLICY)
    pkg = pytester.mkpydir("calc")
    (pkg / "core.py").write_text(CALC)
    (pkg / "extra.py").write_text(EXTRA)
    pytester.makepyfile(test_calc=TESTS)
    # The subprocess imports this checkout's package, installed or not.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    return pytester


def _plugin_args() -> list[str]:
    installed = any(
        ep.name == "releasegate" for ep in importlib.metadata.entry_points(group="pytest11")
    )
    return [] if installed else ["-p", "pytest_releasegate.plugin"]


def _gate_run(project: pytest.Pytester, name: str, *args: str) -> dict[str, Any]:
    result = project.runpytest_subprocess(
        *_plugin_args(), "--cov=calc", "--cov-branch", "--cov-report=", *args,
        "--gate", "--gate-json", f"{name}.json",
    )  # fmt: skip
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(["releasegate: PASS*"])
    verdict: dict[str, Any] = json.loads((project.path / f"{name}.json").read_text())
    return verdict


def _coverage_report(root: Path) -> tuple[str, dict[str, Any]]:
    def run(*args: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "coverage", *args],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    total = run("report", "--format=total").strip()
    run("json", "-o", "coverage.json")
    report: dict[str, Any] = json.loads((root / "coverage.json").read_text())
    return total, report


def _coverage_metrics(verdict: dict[str, Any]) -> dict[str, float]:
    return {k: v for k, v in verdict["metrics"].items() if k.startswith("coverage.")}


def _expected(report: dict[str, Any]) -> dict[str, float]:
    totals = report["totals"]
    return {
        "coverage.percent": totals["percent_covered"],
        "coverage.line_percent": totals["percent_statements_covered"],
        "coverage.branch_percent": totals["percent_branches_covered"],
        "coverage.missing_lines": totals["missing_lines"],
        "coverage.min_file_line_percent": min(
            f["summary"]["percent_statements_covered"] for f in report["files"].values()
        ),
    }


@pytest.mark.parametrize("xdist", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_gate_sees_what_coverage_report_gives(
    project: pytest.Pytester, xdist: tuple[str, ...]
) -> None:
    verdict = _gate_run(project, "v", *xdist)
    total, report = _coverage_report(project.path)

    expected = _expected(report)
    assert _coverage_metrics(verdict) == expected
    actual = {r["metric"]: r["actual"] for r in verdict["rules"]}
    assert actual == expected
    rules = {r["metric"]: r for r in verdict["rules"]}
    assert rules["coverage.percent"]["precision"] == 2
    assert (
        f"{rules['coverage.percent']['actual']:.2f}"
        == total
        == report["totals"]["percent_covered_display"]
    )
    assert "calc/extra.py" in rules["coverage.min_file_line_percent"]["message"]


def test_serial_and_xdist_runs_agree(project: pytest.Pytester) -> None:
    serial = _gate_run(project, "serial")
    parallel = _gate_run(project, "parallel", "-n", "2")
    assert _coverage_metrics(serial) == _coverage_metrics(parallel)
    assert len(_coverage_metrics(serial)) == 5


def test_cov_precision_flag_sets_the_rules_precision(project: pytest.Pytester) -> None:
    verdict = _gate_run(project, "v", "--cov-precision=3")
    assert {
        r["precision"] for r in verdict["rules"] if r["metric"] != "coverage.missing_lines"
    } == {3}


def test_gate_coverage_flag_overrides_pytest_cov_data(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess(
        *_plugin_args(), "--cov=calc", "--cov-report=", "--gate",
        "--gate-coverage", "elsewhere/.coverage", "--gate-json", "v.json",
    )  # fmt: skip
    assert result.ret == 3
    verdict = json.loads((project.path / "v.json").read_text())
    assert {r["outcome"] for r in verdict["rules"]} == {"error"}
    assert (
        "elsewhere/.coverage does not exist (from --gate-coverage)"
        in verdict["rules"][0]["message"]
    )

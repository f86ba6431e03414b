"""Helpers for history tests: JUnit reports of a chosen shape, gate runs in-process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_releasegate.cli import main


def junit(path: Path, *, passed: int, failed: int = 0, name: str = "case") -> Path:
    """A JUnit file with `passed` passing and `failed` failing testcases."""
    cases = [
        f'<testcase classname="app.t" name="{name}_ok_{i}" time="0.01"/>' for i in range(passed)
    ]
    cases += [
        f'<testcase classname="app.t" name="{name}_bad_{i}" time="0.02">'
        f'<failure message="assert {i} == 0&#10;second line">trace</failure></testcase>'
        for i in range(failed)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'<testsuite name="s" tests="{passed + failed}">{"".join(cases)}</testsuite>',
        encoding="utf-8",
    )
    return path


def evaluate(
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    *args: str,
    passed: int = 5,
    failed: int = 0,
) -> tuple[int, dict[str, Any]]:
    """`releasegate evaluate` in `project` over a fresh JUnit report; (exit code, verdict JSON)."""
    monkeypatch.chdir(project)
    report = junit(project / "reports" / "junit.xml", passed=passed, failed=failed)
    out = project / "verdict.json"
    code = main(["evaluate", "--input-junit", str(report), "--json", str(out), *args])
    return code, json.loads(out.read_text(encoding="utf-8"))


def history_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]

"""Hostile or broken inputs to `releasegate evaluate`: one line, fail closed, bounded.

Each test runs the command as a user would (a subprocess in a project
directory) and checks the exit status, the one-line message and the verdict.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

JUNIT = """<testsuite name="s">
<testcase classname="tests.test_a" name="test_ok" file="tests/test_a.py"/>
<testcase classname="tests.test_a" name="test_other" file="tests/test_a.py"/>
</testsuite>
"""


def releasegate(cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_releasegate", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONUTF8": "1"},
        check=False,
        timeout=timeout,
    )


def project(tmp_path: Path, rules: str, *, junit: str = JUNIT) -> Path:
    (tmp_path / "releasegate.toml").write_text(rules)
    (tmp_path / "reports").mkdir(exist_ok=True)
    (tmp_path / "reports" / "a.xml").write_text(junit)
    return tmp_path


def evaluate(root: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    proc = releasegate(
        root, "evaluate", "--input-junit", "reports/*.xml", "--json", "v.json", *extra
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    verdict = json.loads((root / "v.json").read_text()) if (root / "v.json").exists() else {}
    return proc, verdict


# -- numbers --------------------------------------------------------------------


def test_a_nan_threshold_is_a_bad_policy_in_one_line(tmp_path: Path) -> None:
    root = project(tmp_path, '[[rule]]\nname = "no failures"\nmetric = "tests.failed"\nmax = nan\n')
    proc, _ = evaluate(root)
    assert proc.returncode == 4
    assert proc.stderr.splitlines() == [
        "releasegate: bad policy: releasegate.toml, rule 'no failures', key 'max': "
        "must be a finite number, not nan"
    ]


@pytest.mark.parametrize("bad", ["NaN", "Infinity", '"12"', "[12]", "1" + "0" * 400, "true"])
def test_a_baseline_that_is_not_a_finite_number_makes_relative_rules_error(
    tmp_path: Path, bad: str
) -> None:
    root = project(
        tmp_path,
        'baseline = "base.json"\n[[rule]]\nname = "total"\nmetric = "tests.total"\nmax-drop = 0\n',
    )
    (root / "base.json").write_text(
        '{"schema": "releasegate.verdict/1", "verdict": "pass", "rules": [{"name": "total",'
        f' "metric": "tests.total", "select": {{}}, "actual": {bad}, "outcome": "pass"}}]}}'
    )
    proc, verdict = evaluate(root)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    (rule,) = verdict["rules"]
    assert rule["outcome"] == "error"
    assert "not a finite number" in rule["message"]
    assert "NaN" not in (root / "v.json").read_text()


# -- nesting and special files --------------------------------------------------------


@pytest.mark.parametrize("depth", [5000, 100])
@pytest.mark.parametrize("name", ["releasegate.toml", "pyproject.toml"])
def test_a_policy_nested_too_deep_is_one_line(tmp_path: Path, depth: int, name: str) -> None:
    table = "[tool.releasegate]\n" if name == "pyproject.toml" else ""
    (tmp_path / name).write_text(f"{table}x = {'[' * depth}{']' * depth}\n")
    for command in ("check-policy", "evaluate"):
        proc = releasegate(tmp_path, command)
        assert proc.returncode == 4, proc.stderr
        assert proc.stderr.splitlines() == [
            f"releasegate: bad policy: {name}: the policy nests tables or arrays more than "
            "64 levels deep"
        ]


@pytest.mark.parametrize("depth", [5000, 100])
def test_a_baseline_nested_too_deep_makes_relative_rules_error(tmp_path: Path, depth: int) -> None:
    root = project(
        tmp_path,
        'baseline = "base.json"\n[[rule]]\nname = "total"\nmetric = "tests.total"\nmax-drop = 0\n',
    )
    (root / "base.json").write_text("[" * depth + "]" * depth)
    proc, verdict = evaluate(root)
    assert proc.returncode == 3
    assert "nested more than 64 levels deep" in verdict["rules"][0]["message"]


def test_a_policy_or_baseline_that_is_a_fifo_is_refused_without_waiting(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "releasegate.toml")
    proc = releasegate(tmp_path, "check-policy", timeout=60)
    assert proc.returncode == 4
    assert "is a FIFO (named pipe), not a regular file" in proc.stderr
    os.unlink(tmp_path / "releasegate.toml")

    root = project(
        tmp_path,
        'baseline = "base.json"\n[[rule]]\nname = "total"\nmetric = "tests.total"\nmax-drop = 0\n',
    )
    os.mkfifo(root / "base.json")
    proc, verdict = evaluate(root)
    assert proc.returncode == 3
    assert "is a FIFO (named pipe), not a regular file" in verdict["rules"][0]["message"]

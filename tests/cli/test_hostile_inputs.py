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

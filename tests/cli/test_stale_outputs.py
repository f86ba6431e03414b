"""A run that stops on bad input leaves no earlier verdict behind to be read as its own.

`releasegate evaluate` and `pytest --gate` stop with exit 4 on a bad policy or
bad options; a `verdict.json` from an earlier run must not survive that (a
later step reading it would see the old pass). A file the run would have read
as its baseline is kept.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import run_cli

STALE = json.dumps({"schema": "releasegate.verdict/1", "verdict": "pass", "rules": []})
BAD_POLICY = (
    '[tool.releasegate]\n[[tool.releasegate.rule]]\nname = "r"\nmetric = "tests.failed"\nmaxx = 0\n'
)
OUTPUTS = {"json": "out/v.json", "junit": "out/v.xml", "markdown": "out/v.md", "html": "out/v.html"}


def stale_outputs(root: Path) -> None:
    (root / "out").mkdir()
    for path in OUTPUTS.values():
        (root / path).write_text(STALE)


def left(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "out").iterdir())


def evaluate(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    flags = [f"--{kind}={path}" for kind, path in OUTPUTS.items()]
    return run_cli(root, "evaluate", *flags, *args)


def gate(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    flags = [f"--gate-{kind}={path}" for kind, path in OUTPUTS.items()]
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--gate", *flags, *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize("run", [evaluate, gate], ids=["evaluate", "pytest"])
def test_a_bad_policy_leaves_no_stale_verdict(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "pyproject.toml").write_text(BAD_POLICY)
    (tmp_path / "test_a.py").write_text("def test_a(): pass\n")
    stale_outputs(tmp_path)
    proc = run(tmp_path)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "maxx" in proc.stderr
    assert left(tmp_path) == []


@pytest.mark.parametrize("run", [evaluate, gate], ids=["evaluate", "pytest"])
def test_bad_options_leave_no_stale_verdict(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "pyproject.toml").write_text(BAD_POLICY.replace("maxx", "max"))
    (tmp_path / "test_a.py").write_text("def test_a(): pass\n")
    stale_outputs(tmp_path)
    prefix = "--" if run is evaluate else "--gate-"
    proc = run(tmp_path, f"{prefix}input-junit=x=")
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert left(tmp_path) == []


def test_a_baseline_named_by_a_bad_policy_is_kept(tmp_path: Path) -> None:
    """The same file as baseline and output (a ratchet) survives a policy typo."""
    (tmp_path / "pyproject.toml").write_text(
        BAD_POLICY.replace("[tool.releasegate]\n", '[tool.releasegate]\nbaseline = "out/v.json"\n')
    )
    stale_outputs(tmp_path)
    assert evaluate(tmp_path).returncode == 4
    assert left(tmp_path) == ["v.json"]
    assert json.loads((tmp_path / OUTPUTS["json"]).read_text())["verdict"] == "pass"


def test_a_baseline_given_on_the_command_line_is_kept(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(BAD_POLICY)
    stale_outputs(tmp_path)
    assert evaluate(tmp_path, "--baseline=out/v.json").returncode == 4
    assert left(tmp_path) == ["v.json"]


def test_an_output_merely_mentioned_in_the_policy_file_is_still_removed(tmp_path: Path) -> None:
    """`addopts = "--gate-json=out/v.json"` beside a policy typo: that file is this run's
    output, not its baseline, and an old pass there must not survive the exit 4."""
    (tmp_path / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\naddopts = "--gate-json=out/v.json"\n\n' + BAD_POLICY
    )
    stale_outputs(tmp_path)
    assert evaluate(tmp_path).returncode == 4
    assert left(tmp_path) == []


def test_a_baseline_named_by_unparsable_toml_is_kept(tmp_path: Path) -> None:
    """When the policy file is not even TOML, any output it names might be its baseline."""
    (tmp_path / "pyproject.toml").write_text(
        '[tool.releasegate]\nbaseline = "out/v.json"\n[[tool.releasegate.rule]\n'
    )
    stale_outputs(tmp_path)
    assert evaluate(tmp_path).returncode == 4
    assert left(tmp_path) == ["v.json"]

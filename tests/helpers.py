"""Helpers for tests that run pytest with the gate."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
JUNIT_XSD = REPO.parent / "shared" / "schemas" / "junit-10.xsd"


def write_policy(pytester: pytest.Pytester, body: str, *, pytest_ini: str = "") -> None:
    """A pyproject.toml with `[tool.releasegate]` `body` (and optional pytest ini lines)."""
    ini = '[tool.pytest.ini_options]\nmarkers = ["critical", "smoke"]\n' + pytest_ini
    pytester.makefile(".toml", pyproject=ini + "\n[tool.releasegate]\n" + body)


def read_verdict(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def rule(verdict: dict[str, Any], name: str) -> dict[str, Any]:
    for r in verdict["rules"]:
        if r["name"] == name:
            return dict(r)
    raise AssertionError(f"no rule {name!r} in {[r['name'] for r in verdict['rules']]}")


def run_cli(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``releasegate ARGS`` in ``cwd``, in this process: exit code, stdout and stderr.

    The command's contract (exit code, one line on stderr, no traceback) is
    the same in or out of a process; only tests of the process boundary
    itself spawn one.
    """
    from pytest_releasegate import cli

    out, err = io.StringIO(), io.StringIO()
    here, saved = os.getcwd(), dict(os.environ)
    try:
        os.chdir(cwd)
        os.environ.update(env or {})
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main(list(args))
            except SystemExit as exc:  # argparse's usage errors
                code = exc.code if isinstance(exc.code, int) else 2
    finally:
        os.chdir(here)
        os.environ.clear()
        os.environ.update(saved)
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def summary_counts(result: pytest.RunResult) -> dict[str, int]:
    """pytest's own summary line as {category: count}, multi-word categories kept whole.

    (`RunResult.parseoutcomes` reads "4 subtests passed" as 4 "subtests".)
    """
    import re

    for line in reversed(result.outlines):
        found = re.findall(r"(\d+) ([a-z][a-z ]*?)(?=,| in [\d.]+s)", line)
        if found and re.search(r" in [\d.]+s", line):
            counts: dict[str, int] = {}
            for num, category in found:
                category = {"error": "errors", "warning": "warnings"}.get(category, category)
                counts[category] = int(num)
            return counts
    raise ValueError("no summary line in pytest's output")

"""Relative coverage rules against a baseline kept in S3 (a moto server on loopback)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3

from pytest_releasegate.model import Outcome, Relative, Rule, Selection

from ._coverage_support import (
    coverage_cli,
    make_gate,
    s3_bucket_fixture,  # noqa: F401 - fixture
    write,
)

PROJECT = {
    "pyproject.toml": """
        [tool.coverage.run]
        source = ["pkg"]
        branch = true
        """,
    "pkg/__init__.py": "",
    "pkg/core.py": """
        def one():
            return 1


        def two():
            x = 2
            return x
        """,
}

RULES = (
    Rule(name="line coverage", metric="coverage.line_percent", max_drop=Relative(0.5)),
    Rule(
        name="core coverage",
        metric="coverage.percent",
        select=Selection(path="pkg/core.py"),
        max_drop=Relative(5, percent=True),
    ),
)


def _run_coverage(root: Path, calls: str) -> None:
    write(root, {**PROJECT, "run_checks.py": f"from pkg.core import one, two\n{calls}\n"})
    coverage_cli(root, "run", "run_checks.py")


def test_baseline_saved_to_s3_drives_max_drop(tmp_path: Path, s3_bucket: str) -> None:
    location = f"s3://{s3_bucket}/main/baseline.json"
    reference = tmp_path / "reference"
    _run_coverage(reference, "one()\ntwo()")
    gate = make_gate(reference, *RULES, save_baseline=location)
    saved = gate.run()  # the first run has nothing to compare with, and says so
    assert {r.outcome for r in saved.rules} == {Outcome.ERROR}
    assert gate.publish(saved) == []

    body = boto3.client("s3").get_object(Bucket=s3_bucket, Key="main/baseline.json")["Body"]
    stored = json.loads(body.read())
    assert stored["metrics"]["coverage.line_percent"] == 100.0
    assert [r["actual"] for r in stored["rules"]] == [100.0, 100.0]

    same = tmp_path / "same"
    _run_coverage(same, "one()\ntwo()")
    verdict = make_gate(same, *RULES, baseline=location).run()
    assert [r.outcome for r in verdict.rules] == [Outcome.PASS, Outcome.PASS]
    assert [r.baseline for r in verdict.rules] == [100.0, 100.0]

    dropped = tmp_path / "dropped"
    _run_coverage(dropped, "one()")
    verdict = make_gate(dropped, *RULES, baseline=location).run()
    line, core = verdict.rules
    assert line.outcome is Outcome.FAIL
    assert line.actual == 60.0
    assert "dropped by 40 from baseline 100 (max-drop 0.5)" in line.message
    assert core.outcome is Outcome.FAIL
    assert core.actual == 60.0  # two() never ran: 3 of 5 statements
    assert core.baseline == 100.0


def test_missing_s3_baseline_is_an_error_not_a_pass(tmp_path: Path, s3_bucket: str) -> None:
    _run_coverage(tmp_path, "one()\ntwo()")
    verdict = make_gate(tmp_path, *RULES[:1], baseline=f"s3://{s3_bucket}/nope.json").run()
    (result,) = verdict.rules
    assert result.outcome is Outcome.ERROR
    assert "not found" in result.message

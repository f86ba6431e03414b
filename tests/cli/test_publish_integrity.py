"""`releasegate publish` recomputes the verdict from its rules before putting anything on a job."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from pytest_releasegate.integrity import IntegrityError, verified_verdict
from pytest_releasegate.model import Level, Outcome
from pytest_releasegate.testing.emulator import CodePipelineEmulator
from tests.aws.publish_support import make_verdict, rule
from tests.cli.test_publish_cmd import emulator, in_progress_job, publish

__all__ = ["emulator"]  # the fixture, imported for this module's tests


def tampered(outcome: str, rules: list[Any]) -> dict[str, Any]:
    data = make_verdict(Outcome.PASS, rules=rules).to_json()
    data["verdict"] = outcome
    return data


def claimed(outcome: Outcome, actual: float, threshold: dict[str, Any], **extra: Any) -> Any:
    """A rule whose recorded outcome is ``outcome`` whatever its numbers say."""
    return rule("forged", outcome)._replace(actual=actual, threshold=threshold, **extra)


CASES = {
    "pass beside a failing rule": tampered("pass", [rule("no failing tests", Outcome.FAIL)]),
    "a failing rule flipped to pass with the verdict": tampered(
        "pass", [claimed(Outcome.PASS, 3.0, {"max": 0})]
    ),
    "coverage below its min flipped to pass": tampered(
        "pass", [claimed(Outcome.PASS, 79.4, {"min": 80}, precision=0)]
    ),
    "a drop past max-drop flipped to pass": tampered(
        "pass", [claimed(Outcome.PASS, 90.0, {"max-drop": "2%"}, baseline=95.0)]
    ),
    "a failing rule turned into a warning": tampered(
        "warn", [claimed(Outcome.WARN, 3.0, {"max": 0, "warn-above": 0})]
    ),
    "pass beside an error": tampered("pass", [rule("coverage", Outcome.ERROR)]),
    "warn beside a failing rule": tampered("warn", [rule("no failing tests", Outcome.FAIL)]),
    "fail when every rule passed": tampered("fail", [rule("ok", Outcome.PASS)]),
    "pass with no rules": tampered("pass", []),
}


@pytest.mark.parametrize("case", CASES)
def test_a_tampered_verdict_is_refused_in_one_line_and_nothing_is_published(
    tmp_path: Path, emulator: CodePipelineEmulator, case: str
) -> None:
    job_id = in_progress_job(emulator)
    (tmp_path / "v.json").write_text(json.dumps(CASES[case]))
    proc = publish(tmp_path, emulator, "--verdict", "v.json", "--codepipeline-job-id", job_id)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("releasegate: publish: refusing v.json: ")
    assert "its verdict " in line or "rule 'forged' says " in line
    assert emulator.results(job_id) == []
    assert emulator.calls("PutJobSuccessResult") == []


def test_a_consistent_verdict_is_still_published(
    tmp_path: Path, emulator: CodePipelineEmulator
) -> None:
    job_id = in_progress_job(emulator)
    rules = [
        rule("ok", Outcome.PASS),
        rule("waived", Outcome.WAIVED),
        rule("info only", Outcome.FAIL, level=Level.INFO),
        rule("flaky budget", Outcome.WARN, level=Level.WARN),
        # Rounded as coverage.py rounds: 79.6 at precision 0 is 80, not below min 80.
        claimed(Outcome.PASS, 79.6, {"min": 80}, precision=0),
        claimed(Outcome.PASS, 94.0, {"max-drop": "2%"}, baseline=95.0),
        claimed(Outcome.WARN, 0.5, {"max": 1, "warn-above": 0}),
        claimed(Outcome.PASS, 0.0, {"max": 0, "unknown-bound": "x"}),
    ]
    (tmp_path / "v.json").write_text(json.dumps(make_verdict(Outcome.WARN, rules=rules).to_json()))
    proc = publish(tmp_path, emulator, "--verdict", "v.json", "--codepipeline-job-id", job_id)
    assert proc.returncode == 0, proc.stderr
    (result,) = emulator.results(job_id)
    assert result.params["outputVariables"]["verdict"] == "warn"


@pytest.mark.parametrize("kind", ["deep", "fifo", "directory"])
def test_a_hostile_verdict_file_is_one_line_without_waiting(
    tmp_path: Path, emulator: CodePipelineEmulator, kind: str
) -> None:
    job_id = in_progress_job(emulator)
    target = tmp_path / "v.json"
    if kind == "deep":
        target.write_text("[" * 5000 + "]" * 5000)
    elif kind == "fifo":
        os.mkfifo(target)
    else:
        target.mkdir()
    proc = publish(tmp_path, emulator, "--verdict", "v.json", "--codepipeline-job-id", job_id)
    assert proc.returncode == 4
    (line,) = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr
    assert line.startswith("releasegate: publish: ")
    assert emulator.results(job_id) == []


def test_verified_verdict_is_the_function_the_worker_calls() -> None:
    good = make_verdict(Outcome.FAIL, rules=[rule("no failing tests", Outcome.FAIL)])
    assert verified_verdict(good.to_json()).verdict is Outcome.FAIL
    with pytest.raises(IntegrityError, match="rule 'no failing tests' is fail"):
        verified_verdict(CASES["pass beside a failing rule"])
    with pytest.raises(IntegrityError, match="no rules"):
        verified_verdict(CASES["pass with no rules"])

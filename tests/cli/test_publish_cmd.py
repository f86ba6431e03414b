"""`releasegate publish`: a verdict computed elsewhere, put on a job; run as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_releasegate.model import Outcome
from pytest_releasegate.testing.emulator import CodePipelineEmulator
from tests.aws.publish_support import REPO, make_verdict, rule

# The command through the real CLI parser, registered as EXTERNAL_COMMANDS will list it.
RUN_CLI = (
    "import sys; from pytest_releasegate import cli; "
    "cli.EXTERNAL_COMMANDS.setdefault('publish', "
    "('pytest_releasegate.codepipeline.publish', 'put a verdict on a CodePipeline job')); "
    "sys.exit(cli.main())"
)
GATE = {"category": "Test", "owner": "Custom", "provider": "ReleaseGate", "version": "1"}


@pytest.fixture
def emulator() -> Iterator[CodePipelineEmulator]:
    with CodePipelineEmulator() as emu:
        emu.register_action_type(
            "ReleaseGate",
            configuration_properties=[
                {
                    "name": "GateId",
                    "required": True,
                    "key": True,
                    "secret": False,
                    "queryable": True,
                }
            ],
        )
        yield emu


def in_progress_job(emulator: CodePipelineEmulator) -> str:
    job_id = emulator.enqueue_job("ReleaseGate", configuration={"GateId": "api"})
    client = emulator.client()
    (job,) = client.poll_for_jobs(actionTypeId=GATE, queryParam={"GateId": "api"})["jobs"]
    client.acknowledge_job(jobId=job_id, nonce=job["nonce"])
    return job_id


def publish(
    cwd: Path, emulator: CodePipelineEmulator, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", RUN_CLI, "publish", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **emulator.env(), "PYTHONPATH": str(REPO), **env},
        check=False,
        timeout=120,
    )


def write_verdict(path: Path, outcome: Outcome, **kw: Any) -> Path:
    path.write_text(json.dumps(make_verdict(outcome, **kw).to_json()))
    return path


def test_a_failing_verdict_once_recorded_exits_0(
    tmp_path: Path, emulator: CodePipelineEmulator
) -> None:
    job_id = in_progress_job(emulator)
    verdict = write_verdict(
        tmp_path / "v.json", Outcome.FAIL, rules=[rule("no failing tests", Outcome.FAIL)]
    )
    proc = publish(tmp_path, emulator, "--verdict", str(verdict), "--codepipeline-job-id", job_id)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].startswith("releasegate: FAIL")
    (result,) = emulator.results(job_id)
    assert result.params["failureDetails"]["type"] == "JobFailed"
    assert "no failing tests" in result.params["failureDetails"]["message"]


def test_a_passing_verdict_with_the_job_from_the_env_and_the_codebuild_id(
    tmp_path: Path, emulator: CodePipelineEmulator
) -> None:
    job_id = in_progress_job(emulator)
    verdict = write_verdict(tmp_path / "v.json", Outcome.PASS)
    proc = publish(
        tmp_path,
        emulator,
        "--verdict",
        "v.json",
        RELEASEGATE_CODEPIPELINE_JOB_ID=job_id,
        CODEBUILD_BUILD_ID="proj:1234",
    )
    assert proc.returncode == 0, proc.stderr
    assert verdict.exists()
    (result,) = emulator.results(job_id)
    assert result.params["executionDetails"]["externalExecutionId"] == "proj:1234"
    assert result.params["outputVariables"]["verdict"] == "pass"


def test_a_job_that_takes_no_result_exits_3_in_one_line(
    tmp_path: Path, emulator: CodePipelineEmulator
) -> None:
    job_id = in_progress_job(emulator)
    emulator.time_out(job_id)
    write_verdict(tmp_path / "v.json", Outcome.PASS)
    proc = publish(tmp_path, emulator, "--verdict", "v.json", "--codepipeline-job-id", job_id)
    assert proc.returncode == 3
    assert proc.stderr.startswith("releasegate: could not publish: no result recorded")
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "is not a verdict: Expecting property name"),
        ('{"schema": "something/else"}', "is not a verdict: not a releasegate verdict"),
        (
            '{"schema": "releasegate.verdict/1", "verdict": "maybe"}',
            "is not a verdict: malformed verdict JSON",
        ),
        (None, "cannot read"),
    ],
)
def test_a_malformed_verdict_file_exits_4_in_one_line_and_publishes_nothing(
    tmp_path: Path, emulator: CodePipelineEmulator, content: str | None, reason: str
) -> None:
    job_id = in_progress_job(emulator)
    if content is not None:
        (tmp_path / "v.json").write_text(content)
    proc = publish(tmp_path, emulator, "--verdict", "v.json", "--codepipeline-job-id", job_id)
    assert proc.returncode == 4
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("releasegate: publish: ") and reason in line
    assert emulator.results(job_id) == []


def test_dry_run_says_what_it_would_put_and_puts_nothing(
    tmp_path: Path, emulator: CodePipelineEmulator
) -> None:
    job_id = in_progress_job(emulator)
    write_verdict(tmp_path / "v.json", Outcome.ERROR)
    proc = publish(
        tmp_path, emulator, "--verdict", "v.json", "--codepipeline-job-id", job_id, "--dry-run"
    )
    assert proc.returncode == 0
    assert f"would put PutJobFailureResult (JobFailed) on job {job_id}" in proc.stdout
    assert emulator.calls("PutJobFailureResult") == []


def test_no_job_id_exits_4() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", RUN_CLI, "publish", "--verdict", "v.json"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
        timeout=60,
    )
    assert proc.returncode == 4
    assert "--codepipeline-job-id" in proc.stderr


def test_the_command_module_imports_no_boto3() -> None:
    code = (
        "import sys, pytest_releasegate.codepipeline.publish; "
        "print(sorted(m for m in ('boto3', 'botocore') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=60,
    ).stdout
    assert out.strip() == "[]"


def test_evaluate_puts_its_verdict_on_the_job_and_a_bad_policy_closes_it(
    tmp_path: Path, emulator: CodePipelineEmulator
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.releasegate]\n[[tool.releasegate.rule]]\nname = "ui passes"\n'
        'metric = "tests.failed"\nmax = 0\n'
    )
    env = {**os.environ, **emulator.env(), "PYTHONPATH": str(REPO)}
    good, bad = in_progress_job(emulator), in_progress_job(emulator)

    def evaluate(job_id: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest_releasegate",
                "evaluate",
                "--codepipeline-job-id",
                job_id,
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=120,
        )

    # No inputs at all: verdict `error` (exit 3), a JobFailed result naming the rule.
    assert evaluate(good).returncode == 3
    (result,) = emulator.results(good)
    assert result.params["failureDetails"]["type"] == "JobFailed"
    assert "ERROR ui passes" in result.params["failureDetails"]["message"]
    (tmp_path / "pyproject.toml").write_text("[tool.releasegate]\nwarn-as = 3\n")
    assert evaluate(bad).returncode == 4
    (result,) = emulator.results(bad)
    assert result.params["failureDetails"]["type"] == "ConfigurationError"
    assert "warn-as" in result.params["failureDetails"]["message"]

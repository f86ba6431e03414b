"""One job in process: every way through ends in exactly one result."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from pytest_releasegate.codepipeline.artifacts import ArtifactCredentials
from pytest_releasegate.codepipeline.child import Children
from pytest_releasegate.codepipeline.log import EventLog, Redactor
from pytest_releasegate.codepipeline.results import CodePipelineJobs
from pytest_releasegate.codepipeline.runner import (
    JobLimits,
    JobRunner,
    JobSettings,
    OneResult,
    SharedS3,
)
from pytest_releasegate.testing.emulator import CodePipelineEmulator

from .support import FAST_ARGS, GATE_TYPE, REPO, Artifacts, enqueue, project_files


class Harness:
    """A JobRunner on the emulator and moto, in this process; jobs polled by hand."""

    def __init__(self, emulator: CodePipelineEmulator, tmp_path: Path, **settings: Any) -> None:
        self.emulator = emulator
        self.client = emulator.client(retries={"total_max_attempts": 1})
        self.stream = io.StringIO()
        self.log = EventLog("json", stream=self.stream, redactor=Redactor())
        self.seen: list[ArtifactCredentials] = []
        shared = SharedS3()

        def s3(credentials: ArtifactCredentials) -> Any:
            self.seen.append(credentials)
            return shared(credentials)

        self.work = tmp_path / "work"
        self.work.mkdir()
        self.runner = JobRunner(
            CodePipelineJobs(client=self.client),
            JobSettings(work_root=self.work, s3=s3, **settings),
            self.log,
            environ={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
            children=Children(),
        )

    def poll(self) -> dict[str, Any]:
        (job,) = self.client.poll_for_jobs(
            actionTypeId=GATE_TYPE, maxBatchSize=1, queryParam={"GateId": "api"}
        )["jobs"]
        return dict(job)

    def events(self, name: str) -> list[dict[str, Any]]:
        records = [json.loads(line) for line in self.stream.getvalue().splitlines()]
        return [r for r in records if r["event"] == name]


@pytest.fixture
def harness(
    emulator: CodePipelineEmulator,
    moto_server: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Harness:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_server)
    monkeypatch.delenv("AWS_ENDPOINT_URL_CODEPIPELINE", raising=False)
    return Harness(emulator, tmp_path)


def _only_result(emulator: CodePipelineEmulator, job_id: str) -> Any:
    (result,) = emulator.results(job_id)
    return result


def test_an_internal_fault_after_acknowledging_is_a_system_failure(
    harness: Harness, artifacts: Artifacts, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("pytest_releasegate.codepipeline.runner.fetch_input", broken)
    job_id, _ = enqueue(harness.emulator, artifacts, project_files())
    outcome = harness.runner.handle(harness.poll())
    result = _only_result(harness.emulator, job_id)
    assert (outcome.result, result.kind) == ("failure", "failure")
    details = result.params["failureDetails"]
    assert details["type"] == "SystemUnavailable"
    assert "RuntimeError: disk on fire" in details["message"]
    assert list(harness.work.iterdir()) == []


def test_even_an_interrupt_in_the_middle_leaves_a_result(
    harness: Harness, artifacts: Artifacts, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("pytest_releasegate.codepipeline.runner.fetch_input", interrupted)
    job_id, _ = enqueue(harness.emulator, artifacts, project_files())
    with pytest.raises(KeyboardInterrupt):
        harness.runner.handle(harness.poll())
    result = _only_result(harness.emulator, job_id)
    assert result.params["failureDetails"]["type"] == "SystemUnavailable"


def test_artifact_credentials_are_refreshed_through_get_job_details(
    harness: Harness, artifacts: Artifacts
) -> None:
    harness.runner.settings = JobSettings(
        work_root=harness.work, s3=harness.runner.settings.s3, credentials_max_age=0.001
    )
    job_id, out = enqueue(harness.emulator, artifacts, project_files())
    job = harness.poll()
    rotated = {
        "accessKeyId": "ASIAROTATEDKEY000001",
        "secretAccessKey": "rotated/secret/access/key/00000000000001",
        "sessionToken": "rotated-session-token-000000000000001",
    }
    harness.emulator.set_artifact_credentials(job_id, rotated)
    harness.runner.handle(job)
    assert _only_result(harness.emulator, job_id).kind == "success"
    assert harness.emulator.calls("GetJobDetails")
    # The download used the job's first credentials, the upload the refreshed ones.
    assert harness.seen[0].access_key_id == job["data"]["artifactCredentials"]["accessKeyId"]
    assert harness.seen[-1].secret_access_key == rotated["secretAccessKey"]
    assert harness.log.redactor.knows(rotated["sessionToken"])
    assert out is not None and "verdict.json" in artifacts.read_zip(out)


@pytest.mark.parametrize(
    ("configuration", "message"),
    [
        ({"PytestArgs": "-k 'unbalanced"}, "cannot be split"),
        ({"Policy": "../outside.toml"}, "inside the input artifact"),
        ({"Policy": "missing.toml", "PytestArgs": FAST_ARGS}, "missing.toml"),
        ({"Profile": "nope", "PytestArgs": FAST_ARGS}, "nope"),
    ],
)
def test_bad_parameters_are_a_configuration_error(
    harness: Harness, artifacts: Artifacts, configuration: dict[str, str], message: str
) -> None:
    job_id, _ = enqueue(harness.emulator, artifacts, project_files(), configuration=configuration)
    harness.runner.handle(harness.poll())
    details = _only_result(harness.emulator, job_id).params["failureDetails"]
    assert details["type"] == "ConfigurationError"
    assert message in details["message"]


def test_a_gate_run_over_its_time_limit_is_stopped_and_failed(
    harness: Harness, artifacts: Artifacts
) -> None:
    harness.runner.settings = JobSettings(
        work_root=harness.work, s3=harness.runner.settings.s3, budget=JobLimits(job_timeout=1.0)
    )
    tests = "import time\n\ndef test_hangs():\n    time.sleep(120)\n"
    job_id, _ = enqueue(harness.emulator, artifacts, project_files(tests=tests))
    harness.runner.handle(harness.poll())
    details = _only_result(harness.emulator, job_id).params["failureDetails"]
    assert details["type"] == "JobFailed"
    assert "time limit of 1 s" in details["message"]
    (run,) = harness.events("job.gate_run")
    assert run["timed_out"] is True


def test_only_the_first_result_of_a_job_is_put(harness: Harness, artifacts: Artifacts) -> None:
    from pytest_releasegate.codepipeline.results import FailureType

    job_id, _ = enqueue(harness.emulator, artifacts, project_files())
    job = harness.poll()
    harness.client.acknowledge_job(jobId=job_id, nonce=job["nonce"])
    one = OneResult(harness.runner.jobs, job_id, job["nonce"], harness.log, {"job_id": job_id})
    assert one.fail(FailureType.SYSTEM_UNAVAILABLE, "worker shutting down") is True
    assert one.fail(FailureType.JOB_FAILED, "the thread, later") is False
    assert one.recorded
    result = _only_result(harness.emulator, job_id)
    assert result.params["failureDetails"]["message"] == "worker shutting down"
    assert len(harness.emulator.calls("PutJobFailureResult")) == 1


def test_a_pass_verdict_from_a_child_that_exited_non_zero_is_never_a_success(
    harness: Harness, artifacts: Artifacts
) -> None:
    """The child wrote `pass`, then its process failed (here a conftest ends it with status 1
    after the gate's session end): the exit status stands, so the job fails."""
    files = project_files()
    files["conftest.py"] = "import os\n\ndef pytest_unconfigure(config):\n    os._exit(1)\n"
    job_id, _ = enqueue(harness.emulator, artifacts, files)
    harness.runner.handle(harness.poll())
    result = _only_result(harness.emulator, job_id)
    assert result.kind == "failure", result.params
    details = result.params["failureDetails"]
    assert details["type"] == "JobFailed"
    assert "exit code 1" in details["message"]


def test_the_output_artifact_reports_are_the_verified_verdicts_not_the_childs(
    harness: Harness, artifacts: Artifacts
) -> None:
    """The tested code writes a JUnit verdict and a report of its own beside the gate's
    verdict after the gate ran, to show a pass: the output artifact (read by CodeBuild report groups and people) still
    shows the failing rule, rendered by the worker from the verified verdict."""
    files = project_files(passing=False)
    forged_junit = '<testsuites><testsuite name="releasegate" tests="1"><testcase name="all good"/></testsuite></testsuites>'
    forged_html = "<!DOCTYPE html><p>PASS: ship it</p>"
    files["conftest.py"] = (
        "import os\n\n"
        "def pytest_unconfigure(config):\n"
        "    out = os.path.dirname(config.option.gate_json)\n"
        f"    open(os.path.join(out, 'releasegate-junit.xml'), 'w').write({forged_junit!r})\n"
        f"    open(os.path.join(out, 'report.html'), 'w').write({forged_html!r})\n"
    )
    job_id, out = enqueue(harness.emulator, artifacts, files)
    harness.runner.handle(harness.poll())
    assert _only_result(harness.emulator, job_id).kind == "failure"
    assert out is not None
    written = artifacts.read_zip(out)
    junit = written["releasegate-junit.xml"].decode()
    report = written["report.html"].decode()
    assert "all good" not in junit and "<failure" in junit
    assert "ship it" not in report and "o-fail" in report
    assert job_id in report

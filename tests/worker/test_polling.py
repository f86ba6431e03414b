"""Acceptance 5 and the poll loop's rules: backoff, --query, the action type, nonces."""

from __future__ import annotations

import io
import itertools
import json
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from pytest_releasegate.testing.emulator import CodePipelineEmulator

from .support import (
    GATE_TYPE,
    PROVIDER,
    SERVE,
    Artifacts,
    enqueue,
    project_files,
    wait_until,
    worker_command,
)


def test_throttled_polls_back_off_with_growing_gaps_then_the_job_runs(
    emulator: CodePipelineEmulator, artifacts: Artifacts, env: dict[str, str], spawn: Any
) -> None:
    job_id, _ = enqueue(emulator, artifacts, project_files())
    emulator.throttle(3, operation="PollForJobs")
    emulator.fail_next(2, operation="PollForJobs", status=503)
    worker = spawn(
        *SERVE,
        "--once",
        "--poll-interval",
        "0.05",
        "--log-format",
        "json",
        "--jitter-seed",
        "5",
        env=env,
    )
    assert worker.wait(60) == 0, worker.text()

    polls = emulator.calls("PollForJobs")
    assert [c.error for c in polls] == [
        "ThrottlingException",
        "ThrottlingException",
        "ThrottlingException",
        "InternalFailure",
        "InternalFailure",
        None,
    ]
    backoffs = worker.events("poll.backoff")
    assert [b["attempt"] for b in backoffs] == [1, 2, 3, 4, 5]
    caps = [b["cap_s"] for b in backoffs]
    assert caps == [0.05, 0.1, 0.2, 0.4, 0.8]  # doubling from --poll-interval
    gaps = [b.time - a.time for a, b in itertools.pairwise(polls)]
    for gap, backoff in zip(gaps, backoffs, strict=True):
        assert 0 <= backoff["delay_s"] <= backoff["cap_s"]
        assert gap >= backoff["delay_s"] - 0.002  # the worker really waited
    assert gaps[-1] > max(gaps[:2])
    (result,) = emulator.results(job_id)
    assert result.kind == "success"


def test_query_is_required_when_the_action_type_has_a_queryable_property(
    emulator: CodePipelineEmulator, env: dict[str, str]
) -> None:
    proc = subprocess.run(
        worker_command("--provider", PROVIDER, "--once"),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 4
    assert "--query GateId=VALUE" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert emulator.calls("PollForJobs") == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--provider", "Nope", "--query", "GateId=api"], "releasegate register-action-type"),
        (["--provider", PROVIDER, "--query", "Policy=x"], "its queryable property is GateId"),
        (["--provider", PROVIDER, "--query", "GateId=bad value"], "--query value"),
        (["--provider", "bad provider!"], "--provider"),
    ],
)
def test_a_worker_that_cannot_serve_its_action_type_exits_4(
    emulator: CodePipelineEmulator, env: dict[str, str], args: list[str], message: str
) -> None:
    proc = subprocess.run(
        worker_command(*args, "--once"), env=env, capture_output=True, text=True, timeout=60
    )
    assert (proc.returncode, "Traceback" in proc.stderr) == (4, False), proc.stderr
    assert message in proc.stderr


def test_jobs_for_another_gate_are_left_alone(
    emulator: CodePipelineEmulator, artifacts: Artifacts, env: dict[str, str], spawn: Any
) -> None:
    other, _ = enqueue(emulator, artifacts, project_files(), gate_id="billing")
    mine, _ = enqueue(emulator, artifacts, project_files(), gate_id="api")
    worker = spawn(*SERVE, "--once", env=env)
    assert worker.wait(60) == 0, worker.text()
    assert [r.job_id for r in emulator.results()] == [mine]
    assert emulator.job(other).status == "Queued"
    polls = emulator.calls("PollForJobs")
    assert all(c.params["queryParam"] == {"GateId": "api"} for c in polls)


def test_health_endpoint_answers_while_the_worker_polls(
    emulator: CodePipelineEmulator, env: dict[str, str], spawn: Any, tmp_path: Path
) -> None:
    worker = spawn(
        *SERVE,
        "--poll-interval",
        "0.1",
        "--health-port",
        "0",
        "--log-format",
        "json",
        env=env,
    )
    wait_until(lambda: worker.events("worker.started"), timeout=60)
    (started,) = worker.events("worker.started")
    url = f"http://127.0.0.1:{started['health_port']}/healthz"
    wait_until(lambda: len(emulator.calls("PollForJobs")) >= 2, timeout=30)
    with urllib.request.urlopen(url, timeout=5) as answer:
        assert answer.status == 200
        body = json.loads(answer.read())
    assert body["status"] == "ok" and body["state"] == "polling"
    worker.terminate()
    assert worker.wait(30) == 0


def test_a_job_another_worker_acknowledged_is_skipped_quietly(
    emulator: CodePipelineEmulator, artifacts: Artifacts, tmp_path: Path
) -> None:
    """The nonce race, in process: a stale nonce is "not mine", not an error or a result."""
    from pytest_releasegate.codepipeline.child import Children
    from pytest_releasegate.codepipeline.log import EventLog
    from pytest_releasegate.codepipeline.results import CodePipelineJobs
    from pytest_releasegate.codepipeline.runner import JobRunner, JobSettings

    job_id, _ = enqueue(emulator, artifacts, project_files())
    client = emulator.client(retries={"total_max_attempts": 1})
    (job,) = client.poll_for_jobs(
        actionTypeId=GATE_TYPE, maxBatchSize=1, queryParam={"GateId": "api"}
    )["jobs"]
    emulator.requeue(job_id)  # the nonce this worker holds goes stale
    (again,) = client.poll_for_jobs(
        actionTypeId=GATE_TYPE, maxBatchSize=1, queryParam={"GateId": "api"}
    )["jobs"]
    client.acknowledge_job(jobId=job_id, nonce=again["nonce"])  # the other worker
    stream = io.StringIO()
    runner = JobRunner(
        CodePipelineJobs(client=client),
        JobSettings(work_root=tmp_path),
        EventLog("json", stream=stream),
        environ={},
        children=Children(),
    )
    outcome = runner.handle(job)
    assert outcome.result == "none"
    assert emulator.results() == []
    assert emulator.job(job_id).status == "InProgress"
    (event,) = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (event["event"], event["level"], event["reason"]) == (
        "job.skipped",
        "info",
        "InvalidNonceException",
    )
    assert list(tmp_path.iterdir()) == []


def test_a_worker_without_credentials_exits_3_in_one_line(
    emulator: CodePipelineEmulator, env: dict[str, str]
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        env.pop(name, None)
    proc = subprocess.run(
        worker_command(*SERVE, "--log-format", "json"),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 3
    (fatal,) = [json.loads(line) for line in proc.stderr.splitlines() if '"worker.fatal"' in line]
    assert "cannot poll for jobs" in fatal["error"] and "credentials" in fatal["error"].lower()
    assert "Traceback" not in proc.stderr

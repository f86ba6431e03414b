"""Acceptance 4: SIGTERM while a job runs — the job ends with a result, the worker exits 0."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pytest_releasegate.testing.emulator import CodePipelineEmulator

from .support import SERVE, Artifacts, enqueue, project_files, wait_until

SLOW_TESTS = """
import os, pathlib, time

def test_slow():
    pathlib.Path(os.environ["STARTED_FLAG"]).write_text(str(os.getpid()))
    time.sleep(float(os.environ["TEST_SLEEP"]))
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[1].startswith("Z"))


def _start_slow_job(
    emulator: CodePipelineEmulator,
    artifacts: Artifacts,
    env: dict[str, str],
    spawn: Any,
    tmp_path: Path,
    *,
    sleep: float,
    grace: float,
) -> tuple[str, Any, Path]:
    flag = tmp_path / "started"
    env.update({"STARTED_FLAG": str(flag), "TEST_SLEEP": str(sleep)})
    job_id, _ = enqueue(emulator, artifacts, project_files(tests=SLOW_TESTS))
    worker = spawn(
        *SERVE,
        "--poll-interval",
        "0.1",
        "--grace-period",
        str(grace),
        "--log-format",
        "json",
        env=env,
    )
    wait_until(flag.exists, timeout=60)
    worker.terminate()
    return job_id, worker, flag


def test_a_job_that_outlasts_the_grace_period_is_stopped_and_failed(
    emulator: CodePipelineEmulator,
    artifacts: Artifacts,
    env: dict[str, str],
    spawn: Any,
    tmp_path: Path,
) -> None:
    grace = 3.0
    job_id, worker, flag = _start_slow_job(
        emulator, artifacts, env, spawn, tmp_path, sleep=600, grace=grace
    )
    # A generous ceiling, not a measurement: the worker must not wait for the test.
    assert worker.wait(timeout=grace + 30) == 0, worker.text()

    (result,) = emulator.results(job_id)
    assert result.kind == "failure"
    assert result.params["failureDetails"]["type"] == "SystemUnavailable"
    assert "shut down" in result.params["failureDetails"]["message"]
    assert emulator.job(job_id).status == "Failed"
    assert not _alive(int(flag.read_text()))  # the gate run's process was killed
    (stopped,) = worker.events("worker.stopped")
    assert stopped["reason"] == "SIGTERM"
    assert worker.events("worker.aborting_jobs")


def test_a_job_that_finishes_within_the_grace_period_keeps_its_verdict(
    emulator: CodePipelineEmulator,
    artifacts: Artifacts,
    env: dict[str, str],
    spawn: Any,
    tmp_path: Path,
) -> None:
    job_id, worker, _flag = _start_slow_job(
        emulator, artifacts, env, spawn, tmp_path, sleep=1.0, grace=60
    )
    assert worker.wait(timeout=90) == 0, worker.text()

    (result,) = emulator.results(job_id)
    assert result.kind == "success"
    assert result.params["outputVariables"]["verdict"] == "pass"
    # Polling stopped at the signal: no poll after the draining began.
    polls = emulator.calls("PollForJobs")
    (draining,) = worker.events("worker.draining")
    assert draining["jobs"] == 1
    assert not worker.events("worker.aborting_jobs")
    assert polls[-1].time <= result.time

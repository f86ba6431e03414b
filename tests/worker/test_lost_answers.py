"""Lost answers (SPEC §13): a lost acknowledgement, throttled results and a throttled
start-up are retried within --max-retry-time, so each job gets exactly one result —
the right one — and a passing build is never failed because the API was busy."""

from __future__ import annotations

from typing import Any

from pytest_releasegate.testing.emulator import CodePipelineEmulator

from .support import SERVE, Artifacts, enqueue, project_files


def _run_once(spawn: Any, env: dict[str, str]) -> Any:
    worker = spawn(*SERVE, "--once", "--log-format", "json", "--max-retry-time", "60", env=env)
    assert worker.wait(120) == 0, worker.text()
    return worker


def test_a_lost_acknowledgement_then_throttling_is_re_acknowledged_and_the_job_closed(
    emulator: CodePipelineEmulator, artifacts: Artifacts, env: dict[str, str], spawn: Any
) -> None:
    job_id, _ = enqueue(emulator, artifacts, project_files())
    emulator.lose_responses(1, operation="AcknowledgeJob")
    emulator.throttle(5, operation="AcknowledgeJob")
    _run_once(spawn, env)

    acks = emulator.calls("AcknowledgeJob")
    assert [c.fault for c in acks] == ["lose", *["throttle"] * 5, None]
    assert {c.params["nonce"] for c in acks} == {acks[0].params["nonce"]}  # the same nonce
    (result,) = emulator.results(job_id)
    assert result.kind == "success"


def test_six_throttled_results_still_record_the_passing_verdict(
    emulator: CodePipelineEmulator, artifacts: Artifacts, env: dict[str, str], spawn: Any
) -> None:
    job_id, _ = enqueue(emulator, artifacts, project_files())
    emulator.throttle(6, operation="PutJobSuccessResult")
    _run_once(spawn, env)

    (result,) = emulator.results(job_id)
    assert result.kind == "success"
    assert emulator.calls("PutJobFailureResult") == []
    assert len(emulator.calls("PutJobSuccessResult")) == 7


def test_a_throttled_list_of_action_types_at_start_is_retried(
    emulator: CodePipelineEmulator, artifacts: Artifacts, env: dict[str, str], spawn: Any
) -> None:
    job_id, _ = enqueue(emulator, artifacts, project_files(passing=False))
    emulator.throttle(7, operation="ListActionTypes")
    _run_once(spawn, env)

    (result,) = emulator.results(job_id)
    assert result.kind == "failure"
    assert result.params["failureDetails"]["type"] == "JobFailed"

"""Putting results on the emulator over real boto3: exactly one per job, under faults."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pytest_releasegate.codepipeline.results import (
    Backoff,
    CodePipelineJobs,
    FailureType,
    PublishError,
    make_client,
    put_verdict,
)
from pytest_releasegate.model import Outcome
from pytest_releasegate.testing.emulator import CodePipelineEmulator
from tests.aws.publish_support import make_verdict, rule


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def jobs(emulator: CodePipelineEmulator, waits: list[float]) -> CodePipelineJobs:
    """Our wrapper over a client made from the environment (AWS_ENDPOINT_URL_CODEPIPELINE)."""
    return CodePipelineJobs(
        make_client(endpoint_url=emulator.endpoint_url),
        Backoff(sleep=waits.append, random=lambda: 1.0),
    )


@pytest.fixture
def worker_job(
    emulator: CodePipelineEmulator, client: Any, gate_type: dict[str, str]
) -> tuple[str, str]:
    """An InProgress job and its nonce, as a job worker holds them."""
    job_id = emulator.enqueue_job("ReleaseGate", configuration={"GateId": "api"})
    (job,) = client.poll_for_jobs(actionTypeId=gate_type, queryParam={"GateId": "api"})["jobs"]
    client.acknowledge_job(jobId=job_id, nonce=job["nonce"])
    return job_id, str(job["nonce"])


def only_result(emulator: CodePipelineEmulator, job_id: str) -> Any:
    results = emulator.results(job_id)
    assert len(results) == 1, results
    assert emulator.job(job_id).status in ("Succeeded", "Failed")
    return results[0]


def test_a_pass_is_one_success_result_the_service_accepts(
    emulator: CodePipelineEmulator,
    start_job: Callable[..., str],
    jobs: CodePipelineJobs,
) -> None:
    job_id = start_job()
    published = put_verdict(
        job_id, make_verdict(Outcome.PASS), jobs=jobs, environ={"CODEBUILD_BUILD_ID": "p:1"}
    )
    result = only_result(emulator, job_id)
    assert (result.kind, published.attempts, published.confirmed_by) == ("success", 1, "response")
    details = result.params["executionDetails"]
    assert details["percentComplete"] == 100 and details["externalExecutionId"] == "p:1"
    assert len(details["summary"]) <= 2048
    assert result.params["outputVariables"]["verdict"] == "pass"


def test_a_fail_is_one_job_failed_result(
    emulator: CodePipelineEmulator, start_job: Callable[..., str], jobs: CodePipelineJobs
) -> None:
    job_id = start_job()
    verdict = make_verdict(
        Outcome.FAIL, [rule("no failing tests", Outcome.FAIL), rule("few skips", Outcome.FAIL)]
    )
    put_verdict(job_id, verdict, jobs=jobs, environ={})
    result = only_result(emulator, job_id)
    assert result.kind == "failure"
    assert result.params["failureDetails"]["type"] == "JobFailed"
    message = result.params["failureDetails"]["message"]
    assert "no failing tests" in message and "few skips" in message


def test_throttling_on_the_first_two_calls_is_retried_with_growing_waits(
    emulator: CodePipelineEmulator,
    start_job: Callable[..., str],
    jobs: CodePipelineJobs,
    waits: list[float],
) -> None:
    job_id = start_job()
    emulator.throttle(2, "PutJobSuccessResult")
    published = put_verdict(job_id, make_verdict(Outcome.PASS), jobs=jobs, environ={})
    assert only_result(emulator, job_id).kind == "success"
    assert published.attempts == 3
    assert waits == [0.5, 1.0]
    errors = [c.error for c in emulator.calls("PutJobSuccessResult")]
    assert errors == ["ThrottlingException", "ThrottlingException", None]


@pytest.mark.parametrize("mode", ["error", "drop"])
def test_a_lost_response_then_invalid_job_state_counts_as_done(
    emulator: CodePipelineEmulator,
    start_job: Callable[..., str],
    jobs: CodePipelineJobs,
    mode: str,
) -> None:
    job_id = start_job()
    emulator.lose_responses(1, "PutJobFailureResult", mode=mode)
    published = put_verdict(job_id, make_verdict(Outcome.FAIL), jobs=jobs, environ={})
    result = only_result(emulator, job_id)
    assert result.kind == "failure" and result.response_lost
    assert published.confirmed_by == "retry"
    assert [c.error for c in emulator.calls("PutJobFailureResult")][-1] == (
        "InvalidJobStateException"
    )


def test_with_the_nonce_the_retry_is_confirmed_through_acknowledge_job(
    emulator: CodePipelineEmulator, worker_job: tuple[str, str], jobs: CodePipelineJobs
) -> None:
    job_id, nonce = worker_job
    emulator.lose_responses(1, "PutJobSuccessResult")
    published = jobs.put_verdict(job_id, make_verdict(Outcome.PASS), nonce=nonce)
    assert published.confirmed_by == "acknowledge"
    assert only_result(emulator, job_id).kind == "success"


def test_a_job_closed_by_someone_else_is_not_claimed(
    emulator: CodePipelineEmulator, start_job: Callable[..., str], jobs: CodePipelineJobs
) -> None:
    job_id = start_job()
    jobs.put_failure(job_id, FailureType.SYSTEM_UNAVAILABLE, "the other one")
    with pytest.raises(PublishError, match="not InProgress") as info:
        put_verdict(job_id, make_verdict(Outcome.PASS), jobs=jobs, environ={})
    assert not info.value.maybe_recorded
    assert only_result(emulator, job_id).params["failureDetails"]["message"] == "the other one"


def test_a_timed_out_job_is_not_claimed_even_after_a_lost_response_with_the_nonce(
    emulator: CodePipelineEmulator, worker_job: tuple[str, str], jobs: CodePipelineJobs
) -> None:
    job_id, nonce = worker_job
    emulator.fail_next(1, "PutJobSuccessResult")  # a 5xx that did nothing...

    def time_out_while_waiting(_seconds: float) -> None:  # ...then the job times out
        emulator.time_out(job_id)

    jobs.backoff.sleep = time_out_while_waiting
    with pytest.raises(PublishError, match="TimedOut"):
        jobs.put_verdict(job_id, make_verdict(Outcome.PASS), nonce=nonce)
    assert emulator.results(job_id) == []


def test_persistent_throttling_gives_up_after_the_bounded_attempts(
    emulator: CodePipelineEmulator,
    start_job: Callable[..., str],
    jobs: CodePipelineJobs,
    waits: list[float],
) -> None:
    job_id = start_job()
    emulator.throttle(50, "PutJobSuccessResult")
    with pytest.raises(PublishError, match="gave up after 6 attempts") as info:
        put_verdict(job_id, make_verdict(Outcome.PASS), jobs=jobs, environ={})
    assert not info.value.maybe_recorded  # throttled calls did nothing: a failure may follow
    assert len(emulator.calls("PutJobSuccessResult")) == 6
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0]
    assert emulator.results(job_id) == []


def test_server_errors_to_the_end_leave_the_result_maybe_recorded(
    emulator: CodePipelineEmulator, start_job: Callable[..., str], jobs: CodePipelineJobs
) -> None:
    job_id = start_job()
    emulator.fail_next(50, "PutJobFailureResult", status=503)
    with pytest.raises(PublishError) as info:
        put_verdict(job_id, make_verdict(Outcome.FAIL), jobs=jobs, environ={})
    assert info.value.maybe_recorded


def test_an_unknown_job_is_a_publish_error_not_retried(
    emulator: CodePipelineEmulator, jobs: CodePipelineJobs
) -> None:
    with pytest.raises(PublishError, match="JobNotFoundException"):
        put_verdict("00000000-0000-0000-0000-000000000000", make_verdict(Outcome.PASS), jobs=jobs)
    assert len(emulator.calls("PutJobSuccessResult")) == 1


def test_a_continuation_closes_the_job_and_queues_one_carrying_the_token(
    emulator: CodePipelineEmulator, start_job: Callable[..., str], jobs: CodePipelineJobs
) -> None:
    job_id = start_job()
    jobs.put_continuation(job_id, "rg1.state", "baking: round 2 of 10", percent_complete=20)
    result = only_result(emulator, job_id)
    assert result.params["continuationToken"] == "rg1.state"
    assert "outputVariables" not in result.params
    follow_up = emulator.job(emulator.job(job_id).continued_by or "")
    assert follow_up.data["continuationToken"] == "rg1.state"


def test_the_client_honours_the_endpoint_environment_variable(
    emulator: CodePipelineEmulator,
    start_job: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_CODEPIPELINE", emulator.endpoint_url)
    job_id = start_job()
    put_verdict(job_id, make_verdict(Outcome.PASS), environ={})
    assert only_result(emulator, job_id).kind == "success"


def test_no_region_is_a_publish_error_naming_the_cause(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(PublishError, match="NoRegionError"):
        put_verdict("00000000-0000-0000-0000-000000000000", make_verdict(Outcome.PASS))

"""Injected faults and timeouts, as a boto3 client sees them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError

from pytest_releasegate.testing.emulator import CodePipelineEmulator, EmulatorError


def test_throttling_reaches_a_client_without_retries(
    emulator: CodePipelineEmulator, client: Any
) -> None:
    emulator.throttle(2, operation="ListActionTypes")
    for _ in range(2):
        with pytest.raises(ClientError) as excinfo:
            client.list_action_types()
        assert excinfo.value.response["Error"]["Code"] == "ThrottlingException"
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert client.list_action_types()["actionTypes"]
    assert [c.fault for c in emulator.calls()] == ["throttle", "throttle", None]


def test_throttling_of_one_operation_leaves_the_others_alone(
    emulator: CodePipelineEmulator, client: Any, start_job: Callable[..., str]
) -> None:
    emulator.throttle(1, operation="PutJobSuccessResult")
    job_id = start_job()  # poll and acknowledge are not throttled
    with pytest.raises(ClientError) as excinfo:
        client.put_job_success_result(jobId=job_id)
    assert excinfo.value.response["Error"]["Code"] == "ThrottlingException"
    assert emulator.results() == []  # a throttled call does nothing
    client.put_job_success_result(jobId=job_id)
    assert emulator.job(job_id).status == "Succeeded"


def test_botocore_retries_through_throttling_and_5xx(
    emulator: CodePipelineEmulator, start_job: Callable[..., str]
) -> None:
    retrying = emulator.client(retries={"total_max_attempts": 3, "mode": "standard"})
    job_id = start_job()
    emulator.throttle(1, operation="PutJobSuccessResult")
    emulator.fail_next(1, operation="PutJobSuccessResult", status=503)
    retrying.put_job_success_result(jobId=job_id)
    assert [(c.status, c.fault) for c in emulator.calls("PutJobSuccessResult")] == [
        (400, "throttle"),
        (503, "error"),
        (200, None),
    ]
    assert len(emulator.results(job_id)) == 1


def test_server_error_does_nothing(
    emulator: CodePipelineEmulator, client: Any, start_job: Callable[..., str]
) -> None:
    job_id = start_job()
    emulator.fail_next(1)
    with pytest.raises(ClientError) as excinfo:
        client.put_job_failure_result(
            jobId=job_id, failureDetails={"type": "JobFailed", "message": "m"}
        )
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert excinfo.value.response["Error"]["Code"] == "InternalFailure"
    assert emulator.job(job_id).status == "InProgress"


def test_lost_response_records_the_result_although_the_client_saw_an_error(
    emulator: CodePipelineEmulator, client: Any, start_job: Callable[..., str]
) -> None:
    job_id = start_job()
    emulator.lose_responses(1, operation="PutJobSuccessResult")
    with pytest.raises(ClientError) as excinfo:
        client.put_job_success_result(jobId=job_id, outputVariables={"verdict": "pass"})
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    (result,) = emulator.results(job_id)
    assert result.response_lost
    assert emulator.job(job_id).status == "Succeeded"
    # The retry a careful publisher makes meets the closed job.
    with pytest.raises(ClientError) as retry:
        client.put_job_success_result(jobId=job_id, outputVariables={"verdict": "pass"})
    assert retry.value.response["Error"]["Code"] == "InvalidJobStateException"
    assert len(emulator.results(job_id)) == 1


def test_botocore_own_retry_after_a_lost_response_meets_invalid_job_state(
    emulator: CodePipelineEmulator, start_job: Callable[..., str]
) -> None:
    retrying = emulator.client(retries={"total_max_attempts": 3, "mode": "standard"})
    job_id = start_job()
    emulator.lose_responses(1, operation="PutJobFailureResult")
    with pytest.raises(retrying.exceptions.InvalidJobStateException):
        retrying.put_job_failure_result(
            jobId=job_id, failureDetails={"type": "JobFailed", "message": "m"}
        )
    assert [r.kind for r in emulator.results(job_id)] == ["failure"]


def test_dropped_connection_after_the_call_took_effect(
    emulator: CodePipelineEmulator, client: Any, start_job: Callable[..., str]
) -> None:
    job_id = start_job()
    emulator.lose_responses(1, operation="PutJobSuccessResult", mode="drop")
    with pytest.raises(ConnectionClosedError):
        client.put_job_success_result(jobId=job_id)
    assert emulator.job(job_id).status == "Succeeded"
    assert emulator.calls("PutJobSuccessResult")[0].status == 0
    assert emulator.results(job_id)[0].response_lost
    assert client.list_action_types()["actionTypes"]  # the server still answers


def test_lost_acknowledgement_leaves_the_job_in_progress_and_a_retry_confirms_it(
    emulator: CodePipelineEmulator, client: Any, gate_type: dict[str, str]
) -> None:
    job_id = emulator.enqueue_job("ReleaseGate", configuration={"GateId": "api"})
    (job,) = client.poll_for_jobs(actionTypeId=gate_type, queryParam={"GateId": "api"})["jobs"]
    emulator.lose_responses(1, operation="AcknowledgeJob")
    with pytest.raises(ClientError):
        client.acknowledge_job(jobId=job_id, nonce=job["nonce"])
    assert emulator.job(job_id).status == "InProgress"
    assert client.acknowledge_job(jobId=job_id, nonce=job["nonce"])["status"] == "InProgress"


def test_faults_are_refused_with_bad_arguments_and_can_be_cleared(
    emulator: CodePipelineEmulator, client: Any
) -> None:
    with pytest.raises(EmulatorError, match="unknown operation"):
        emulator.throttle(1, operation="PollForJob")
    with pytest.raises(EmulatorError, match="5xx"):
        emulator.fail_next(1, status=404)
    with pytest.raises(EmulatorError, match="at least 1"):
        emulator.lose_responses(0)
    emulator.throttle(5)
    emulator.clear_faults()
    assert client.list_action_types()["actionTypes"]


def test_job_times_out_when_its_timeout_passes(
    emulator: CodePipelineEmulator, client: Any, start_job: Callable[..., str]
) -> None:
    emulator.configure(job_timeout=600)
    job_id = start_job()
    emulator.advance(599)
    assert emulator.job(job_id).status == "InProgress"
    emulator.advance(1)
    assert emulator.job(job_id).status == "TimedOut"
    with pytest.raises(ClientError) as excinfo:
        client.put_job_success_result(jobId=job_id)
    assert excinfo.value.response["Error"]["Code"] == "InvalidJobStateException"
    assert emulator.results() == []


def test_a_queued_job_nobody_polls_times_out_too(
    emulator: CodePipelineEmulator, client: Any, gate_type: dict[str, str]
) -> None:
    job_id = emulator.enqueue_job("ReleaseGate", configuration={"GateId": "api"})
    emulator.advance(emulator.job_timeout)
    assert client.poll_for_jobs(actionTypeId=gate_type, queryParam={"GateId": "api"})["jobs"] == []
    assert emulator.job(job_id).status == "TimedOut"


def test_time_out_now_and_acknowledgement_then_reports_timed_out(
    emulator: CodePipelineEmulator, client: Any, gate_type: dict[str, str]
) -> None:
    job_id = emulator.enqueue_job("ReleaseGate", configuration={"GateId": "api"})
    (job,) = client.poll_for_jobs(actionTypeId=gate_type, queryParam={"GateId": "api"})["jobs"]
    assert emulator.time_out(job_id).status == "TimedOut"
    assert client.acknowledge_job(jobId=job_id, nonce=job["nonce"])["status"] == "TimedOut"
    with pytest.raises(EmulatorError, match="already TimedOut"):
        emulator.time_out(job_id)


def test_unacknowledged_job_is_dispatched_again_after_the_dispatch_timeout(
    emulator: CodePipelineEmulator, client: Any, gate_type: dict[str, str]
) -> None:
    emulator.configure(dispatch_timeout=30)
    job_id = emulator.enqueue_job("ReleaseGate", configuration={"GateId": "api"})
    query = {"GateId": "api"}
    (first,) = client.poll_for_jobs(actionTypeId=gate_type, queryParam=query)["jobs"]
    assert client.poll_for_jobs(actionTypeId=gate_type, queryParam=query)["jobs"] == []
    emulator.advance(30)
    (again,) = client.poll_for_jobs(actionTypeId=gate_type, queryParam=query)["jobs"]
    assert again["id"] == job_id
    with pytest.raises(client.exceptions.InvalidNonceException):
        client.acknowledge_job(jobId=job_id, nonce=first["nonce"])

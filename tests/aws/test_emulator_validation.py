"""What the service refuses and botocore lets through, refused with the service's error names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError, ParamValidationError

from pytest_releasegate.testing.emulator import CodePipelineEmulator

UNKNOWN_JOB = "0f0f0f0f-1234-4abc-8def-0123456789ab"


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    code: str = excinfo.value.response["Error"]["Code"]
    return code


def assert_refused_by_server(emulator: CodePipelineEmulator, operation: str, code: str) -> None:
    """The request reached the emulator (botocore did not stop it) and got *code*."""
    last = emulator.calls(operation)[-1]
    assert last.status == 400
    assert last.error == code


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("acknowledge_job", {"jobId": "job-1", "nonce": "1"}),
        ("get_job_details", {"jobId": "0F0F0F0F-1234-4ABC-8DEF-0123456789AB"}),
        (
            "put_job_failure_result",
            {"jobId": "x", "failureDetails": {"type": "JobFailed", "message": "m"}},
        ),
    ],
)
def test_non_uuid_job_id_is_a_validation_error(
    emulator: CodePipelineEmulator, client: Any, operation: str, params: dict[str, Any]
) -> None:
    with pytest.raises(ClientError) as excinfo:
        getattr(client, operation)(**params)
    assert error_code(excinfo) == "ValidationException"
    assert "at 'jobId'" in excinfo.value.response["Error"]["Message"]
    assert "regular expression pattern" in excinfo.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    "operation", ["acknowledge_job", "get_job_details", "put_job_success_result"]
)
def test_unknown_job_id_is_job_not_found(client: Any, operation: str) -> None:
    params: dict[str, Any] = {"jobId": UNKNOWN_JOB}
    if operation == "acknowledge_job":
        params["nonce"] = "1"
    with pytest.raises(ClientError) as excinfo:
        getattr(client, operation)(**params)
    assert error_code(excinfo) == "JobNotFoundException"


def test_failure_message_of_5001_characters_is_refused_and_5000_accepted(
    emulator: CodePipelineEmulator, client: Any, start_job: Callable[..., str]
) -> None:
    job_id = start_job()
    with pytest.raises(ClientError) as excinfo:
        client.put_job_failure_result(
            jobId=job_id, failureDetails={"type": "JobFailed", "message": "x" * 5001}
        )
    assert error_code(excinfo) == "ValidationException"
    assert "less than or equal to 5000" in excinfo.value.response["Error"]["Message"]
    assert emulator.job(job_id).status == "InProgress"  # nothing recorded
    client.put_job_failure_result(
        jobId=job_id, failureDetails={"type": "JobFailed", "message": "x" * 5000}
    )
    assert emulator.job(job_id).status == "Failed"


def test_lengths_count_utf16_units_as_the_service_does(
    client: Any, start_job: Callable[..., str]
) -> None:
    job_id = start_job()
    # 2,501 characters, but 5,002 UTF-16 code units.
    with pytest.raises(ClientError) as excinfo:
        client.put_job_failure_result(
            jobId=job_id, failureDetails={"type": "JobFailed", "message": "\U0001f6a6" * 2501}
        )
    assert error_code(excinfo) == "ValidationException"


def test_percent_complete_101_passes_botocore_and_is_refused_by_the_server(
    emulator: CodePipelineEmulator, client: Any, start_job: Callable[..., str]
) -> None:
    job_id = start_job()
    with pytest.raises(ClientError) as excinfo:
        client.put_job_success_result(jobId=job_id, executionDetails={"percentComplete": 101})
    assert error_code(excinfo) == "ValidationException"
    assert_refused_by_server(emulator, "PutJobSuccessResult", "ValidationException")


def test_what_botocore_refuses_client_side_is_refused_by_the_server_too(
    emulator: CodePipelineEmulator,
    client: Any,
    start_job: Callable[..., str],
    raw_call: Callable[..., requests.Response],
) -> None:
    job_id = start_job()
    with pytest.raises(ParamValidationError):
        client.put_job_success_result(jobId=job_id, executionDetails={"percentComplete": -1})
    answer = raw_call(
        "PutJobSuccessResult", {"jobId": job_id, "executionDetails": {"percentComplete": -1}}
    )
    assert answer.status_code == 400
    assert answer.json()["__type"] == "ValidationException"
    empty_nonce = raw_call("AcknowledgeJob", {"jobId": job_id, "nonce": ""})
    assert empty_nonce.json()["__type"] == "ValidationException"
    no_details = raw_call("PutJobFailureResult", {"jobId": job_id})
    assert "Member must not be null" in no_details.json()["message"]
    wrong_type = raw_call(
        "PutJobSuccessResult", {"jobId": job_id, "executionDetails": {"percentComplete": "100"}}
    )
    assert wrong_type.json()["__type"] == "SerializationException"
    assert emulator.job(job_id).status == "InProgress"


def test_unknown_failure_type_is_refused(client: Any, start_job: Callable[..., str]) -> None:
    job_id = start_job()
    with pytest.raises(ClientError) as excinfo:
        client.put_job_failure_result(jobId=job_id, failureDetails={"type": "Nope", "message": "m"})
    assert error_code(excinfo) == "ValidationException"
    assert "enum value set" in excinfo.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    ("details", "limit"),
    [
        ({"summary": "s" * 2049}, 2048),
        ({"externalExecutionId": "e" * 1501}, 1500),
    ],
)
def test_over_long_execution_details_are_refused(
    client: Any, start_job: Callable[..., str], details: dict[str, str], limit: int
) -> None:
    job_id = start_job()
    with pytest.raises(ClientError) as excinfo:
        client.put_job_success_result(jobId=job_id, executionDetails=details)
    assert error_code(excinfo) == "ValidationException"
    assert f"less than or equal to {limit}" in excinfo.value.response["Error"]["Message"]


def test_over_long_continuation_token_is_refused(
    client: Any, start_job: Callable[..., str]
) -> None:
    job_id = start_job()
    with pytest.raises(ClientError) as excinfo:
        client.put_job_success_result(jobId=job_id, continuationToken="t" * 2049)
    assert error_code(excinfo) == "ValidationException"
    client.put_job_success_result(jobId=job_id, continuationToken="t" * 2048)


def test_stale_nonce_after_redispatch_is_an_invalid_nonce(
    emulator: CodePipelineEmulator, client: Any, gate_type: dict[str, str]
) -> None:
    job_id = emulator.enqueue_job("ReleaseGate", configuration={"GateId": "api"})
    query = {"GateId": "api"}
    (first,) = client.poll_for_jobs(actionTypeId=gate_type, queryParam=query)["jobs"]
    emulator.requeue(job_id)
    (second,) = client.poll_for_jobs(actionTypeId=gate_type, queryParam=query)["jobs"]
    assert second["nonce"] != first["nonce"]
    with pytest.raises(client.exceptions.InvalidNonceException):
        client.acknowledge_job(jobId=job_id, nonce=first["nonce"])
    assert client.acknowledge_job(jobId=job_id, nonce=second["nonce"])["status"] == "InProgress"


def test_wrong_nonce_or_acknowledging_a_job_never_polled_is_an_invalid_nonce(
    emulator: CodePipelineEmulator, client: Any, gate_type: dict[str, str]
) -> None:
    queued = emulator.enqueue_job("ReleaseGate", configuration={"GateId": "api"})
    with pytest.raises(ClientError) as never_polled:
        client.acknowledge_job(jobId=queued, nonce="1")
    assert error_code(never_polled) == "InvalidNonceException"
    client.poll_for_jobs(actionTypeId=gate_type, queryParam={"GateId": "api"})
    with pytest.raises(ClientError) as wrong:
        client.acknowledge_job(jobId=queued, nonce="not-the-nonce")
    assert error_code(wrong) == "InvalidNonceException"
    assert emulator.job(queued).status == "Dispatched"


def test_a_second_result_is_an_invalid_job_state(
    emulator: CodePipelineEmulator, client: Any, start_job: Callable[..., str]
) -> None:
    job_id = start_job()
    client.put_job_success_result(jobId=job_id)
    with pytest.raises(ClientError) as again:
        client.put_job_success_result(jobId=job_id)
    with pytest.raises(ClientError) as other_kind:
        client.put_job_failure_result(
            jobId=job_id, failureDetails={"type": "JobFailed", "message": "m"}
        )
    assert error_code(again) == "InvalidJobStateException"
    assert error_code(other_kind) == "InvalidJobStateException"
    assert [r.kind for r in emulator.results(job_id)] == ["success"]


def test_a_result_before_acknowledgement_is_an_invalid_job_state(
    emulator: CodePipelineEmulator, client: Any, gate_type: dict[str, str]
) -> None:
    job_id = emulator.enqueue_job("ReleaseGate", configuration={"GateId": "api"})
    with pytest.raises(ClientError) as queued:
        client.put_job_success_result(jobId=job_id)
    client.poll_for_jobs(actionTypeId=gate_type, queryParam={"GateId": "api"})
    with pytest.raises(ClientError) as dispatched:
        client.put_job_success_result(jobId=job_id)
    assert error_code(queued) == "InvalidJobStateException"
    assert error_code(dispatched) == "InvalidJobStateException"
    assert emulator.results() == []


def test_output_variables_with_a_continuation_token_are_refused(
    emulator: CodePipelineEmulator, client: Any, start_job: Callable[..., str]
) -> None:
    job_id = start_job()
    with pytest.raises(ClientError) as excinfo:
        client.put_job_success_result(
            jobId=job_id, continuationToken="more", outputVariables={"verdict": "pass"}
        )
    assert error_code(excinfo) == "ValidationException"
    assert emulator.job(job_id).continued_by is None
    assert emulator.results() == []


@pytest.mark.parametrize("key", ["bad key!", "verdict.value", "ünïcode", ""])
def test_output_variable_key_outside_the_pattern_is_refused(
    client: Any, start_job: Callable[..., str], key: str
) -> None:
    job_id = start_job()
    with pytest.raises(ClientError) as excinfo:
        client.put_job_success_result(jobId=job_id, outputVariables={key: "v"})
    assert error_code(excinfo) == "ValidationException"
    assert "Map keys must satisfy constraint" in excinfo.value.response["Error"]["Message"]


def test_output_variables_over_122880_bytes_are_refused_and_at_the_limit_accepted(
    emulator: CodePipelineEmulator, client: Any, start_job: Callable[..., str]
) -> None:
    job_id = start_job()
    # Key and value bytes count: "k" + 122,880 bytes is one byte over.
    with pytest.raises(ClientError) as excinfo:
        client.put_job_success_result(jobId=job_id, outputVariables={"k": "v" * 122_880})
    assert error_code(excinfo) == "OutputVariablesSizeExceededException"
    # Bytes, not characters: 40,960 three-byte characters are 122,880 bytes.
    with pytest.raises(ClientError) as multibyte:
        client.put_job_success_result(jobId=job_id, outputVariables={"k": "\u20ac" * 40_960})
    assert error_code(multibyte) == "OutputVariablesSizeExceededException"
    client.put_job_success_result(
        jobId=job_id, outputVariables={"k": "v" * 61_000, "k2": "v" * 61_877}
    )
    assert emulator.job(job_id).status == "Succeeded"


@pytest.mark.parametrize(
    "query",
    [
        {"Project": "api"},  # not the queryable property
        {"GateId": "api", "Policy": "x"},  # more than one key
        {},  # the type has a queryable property: it must be given
        {"GateId": "not valid!"},  # outside [a-zA-Z0-9_-]
    ],
)
def test_bad_query_param_is_refused(
    emulator: CodePipelineEmulator, client: Any, gate_type: dict[str, str], query: dict[str, str]
) -> None:
    job_id = emulator.enqueue_job("ReleaseGate", configuration={"GateId": "api"})
    with pytest.raises(ClientError) as excinfo:
        client.poll_for_jobs(actionTypeId=gate_type, queryParam=query)
    assert error_code(excinfo) == "ValidationException"
    assert emulator.job(job_id).status == "Queued"


def test_query_param_for_a_type_without_queryable_property_is_refused(
    emulator: CodePipelineEmulator, client: Any
) -> None:
    emulator.register_action_type("Plain")
    plain = {"category": "Test", "owner": "Custom", "provider": "Plain", "version": "1"}
    with pytest.raises(ClientError) as excinfo:
        client.poll_for_jobs(actionTypeId=plain, queryParam={"GateId": "api"})
    assert error_code(excinfo) == "ValidationException"
    assert client.poll_for_jobs(actionTypeId=plain)["jobs"] == []


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"provider": "NoSuchGate"}, "ActionTypeNotFoundException"),
        ({"owner": "AWS"}, "ValidationException"),
        ({"category": "Nope"}, "ValidationException"),
    ],
)
def test_poll_for_an_unknown_or_non_custom_type_is_refused(
    client: Any, gate_type: dict[str, str], change: dict[str, str], code: str
) -> None:
    with pytest.raises(ClientError) as excinfo:
        client.poll_for_jobs(actionTypeId={**gate_type, **change}, queryParam={"GateId": "api"})
    assert error_code(excinfo) == code


def _property(name: str, **flags: bool) -> dict[str, Any]:
    return {"name": name, "required": True, "key": False, "secret": False, **flags}


@pytest.mark.parametrize(
    ("properties", "settings"),
    [
        ([_property("A", queryable=True), _property("B", queryable=True)], {}),
        ([_property("A", queryable=True, secret=True)], {}),
        ([_property("A", queryable=True, required=False)], {}),
        ([_property("A"), _property("A")], {}),
        ([_property("A", required=False)], {"entityUrlTemplate": "https://x/{Config:A}"}),
        ([_property("A", secret=True)], {"executionUrlTemplate": "https://x/{Config:A}"}),
    ],
)
def test_create_custom_action_type_enforces_the_property_rules(
    client: Any, properties: list[dict[str, Any]], settings: dict[str, str]
) -> None:
    with pytest.raises(ClientError) as excinfo:
        client.create_custom_action_type(
            category="Test",
            provider="Rules",
            version="1",
            settings=settings,
            configurationProperties=properties,
            inputArtifactDetails={"minimumCount": 0, "maximumCount": 1},
            outputArtifactDetails={"minimumCount": 0, "maximumCount": 1},
        )
    assert error_code(excinfo) == "ValidationException"
    assert [t["id"]["provider"] for t in client.list_action_types()["actionTypes"]] == [
        "ReleaseGate"
    ]


def test_creating_an_existing_action_type_again_is_refused(client: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        client.create_custom_action_type(
            category="Test",
            provider="ReleaseGate",
            version="1",
            inputArtifactDetails={"minimumCount": 0, "maximumCount": 6},
            outputArtifactDetails={"minimumCount": 2, "maximumCount": 1},
        )
    # Artifact counts beyond 5 are a model constraint; the duplicate check comes after.
    assert error_code(excinfo) == "ValidationException"
    assert "maximumCount" in excinfo.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as duplicate:
        client.create_custom_action_type(
            category="Test",
            provider="ReleaseGate",
            version="1",
            inputArtifactDetails={"minimumCount": 0, "maximumCount": 1},
            outputArtifactDetails={"minimumCount": 0, "maximumCount": 1},
        )
    assert error_code(duplicate) == "ValidationException"
    assert "already exists" in duplicate.value.response["Error"]["Message"]


def test_a_51st_custom_action_type_exceeds_the_limit(
    emulator: CodePipelineEmulator, client: Any
) -> None:
    for number in range(2, 51):  # the fixture registered the first
        emulator.register_action_type(f"Gate{number}")
    with pytest.raises(ClientError) as excinfo:
        client.create_custom_action_type(
            category="Test",
            provider="OneTooMany",
            version="1",
            inputArtifactDetails={"minimumCount": 0, "maximumCount": 1},
            outputArtifactDetails={"minimumCount": 0, "maximumCount": 1},
        )
    assert error_code(excinfo) == "LimitExceededException"
    assert len(client.list_action_types()["actionTypes"]) == 50

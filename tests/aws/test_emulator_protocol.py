"""The wire: AWS JSON 1.1 as botocore speaks it, endpoint discovery, refusals of the transport."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError

from pytest_releasegate.testing.emulator import CodePipelineEmulator, EmulatorError


def test_answers_carry_the_json_content_type_and_a_request_id(
    raw_call: Callable[..., requests.Response],
) -> None:
    ok = raw_call("ListActionTypes", {})
    assert ok.status_code == 200
    assert ok.headers["Content-Type"] == "application/x-amz-json-1.1"
    uuid.UUID(ok.headers["x-amzn-RequestId"])
    refused = raw_call("AcknowledgeJob", {"jobId": "x", "nonce": "1"})
    assert refused.status_code == 400
    assert set(refused.json()) == {"__type", "message"}
    assert refused.headers["x-amzn-RequestId"] != ok.headers["x-amzn-RequestId"]


def test_boto3_sees_the_request_id(client: Any) -> None:
    answer = client.list_action_types()
    uuid.UUID(answer["ResponseMetadata"]["RequestId"])


def test_boto3_finds_the_emulator_through_aws_endpoint_url_codepipeline(
    emulator: CodePipelineEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_CODEPIPELINE", emulator.endpoint_url)
    monkeypatch.delenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", raising=False)
    plain = boto3.client(
        "codepipeline",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    assert plain.meta.endpoint_url == emulator.endpoint_url
    assert plain.list_action_types()["actionTypes"][0]["id"]["provider"] == "ReleaseGate"
    assert [c.operation for c in emulator.calls()] == ["ListActionTypes"]


def test_env_gives_a_child_process_what_boto3_needs(emulator: CodePipelineEmulator) -> None:
    env = emulator.env()
    assert env["AWS_ENDPOINT_URL_CODEPIPELINE"] == emulator.endpoint_url
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"} <= set(env)


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({"X-Amz-Target": "CodePipeline_20150709.DeletePipeline"}, "UnknownOperationException"),
        ({"X-Amz-Target": "Other_20150709.PollForJobs"}, "UnknownOperationException"),
        ({"Authorization": ""}, "MissingAuthenticationTokenException"),
    ],
)
def test_unknown_targets_and_unsigned_requests_are_refused(
    emulator: CodePipelineEmulator,
    raw_call: Callable[..., requests.Response],
    headers: dict[str, str],
    code: str,
) -> None:
    answer = raw_call("ListActionTypes", {}, **headers)
    assert answer.status_code in (400, 403)
    assert answer.json()["__type"] == code
    assert emulator.calls()[-1].error == code


def test_a_body_that_is_not_a_json_object_is_a_serialization_error(
    emulator: CodePipelineEmulator,
) -> None:
    headers = {
        "X-Amz-Target": "CodePipeline_20150709.PollForJobs",
        "Content-Type": "application/x-amz-json-1.1",
        "Authorization": "AWS4-HMAC-SHA256 Credential=testing/x, Signature=0",
    }
    for body in (b"{not json", b"[1, 2]"):
        answer = requests.post(emulator.endpoint_url, data=body, headers=headers, timeout=10)
        assert answer.status_code == 400
        assert answer.json()["__type"] == "SerializationException"


def test_get_on_the_service_path_is_not_found(emulator: CodePipelineEmulator) -> None:
    assert requests.get(emulator.endpoint_url + "/", timeout=10).status_code == 404


def test_refuses_to_listen_beyond_loopback() -> None:
    with pytest.raises(EmulatorError, match="loopback"):
        CodePipelineEmulator("0.0.0.0")
    with pytest.raises(EmulatorError, match="12 digits"):
        CodePipelineEmulator(account_id="42")


def test_stop_ends_open_keep_alive_connections(codepipeline_emulator: CodePipelineEmulator) -> None:
    client = codepipeline_emulator.client(retries={"total_max_attempts": 1})
    client.list_action_types()  # leaves a pooled keep-alive connection open
    codepipeline_emulator.stop()
    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        client.list_action_types()
    codepipeline_emulator.stop()  # a second stop is harmless


def test_only_known_access_keys_are_answered_once_configured(
    emulator: CodePipelineEmulator,
) -> None:
    from botocore.exceptions import ClientError

    def client(key: str) -> Any:
        return boto3.client(
            "codepipeline",
            endpoint_url=emulator.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id=key,
            aws_secret_access_key="whatever",
        )

    emulator.configure(access_key_ids=["AKIAWORKER0000000001"])
    assert "actionTypes" in client("AKIAWORKER0000000001").list_action_types()
    with pytest.raises(ClientError) as info:
        client("AKIAFORGED0000000001").list_action_types()
    assert info.value.response["Error"]["Code"] == "UnrecognizedClientException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    emulator.configure(access_key_ids=[])
    assert "actionTypes" in client("AKIAFORGED0000000001").list_action_types()

"""Fixtures for the AWS-layer tests: the emulator over real HTTP, boto3 with fake credentials."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from pytest_releasegate.testing.emulator import CodePipelineEmulator

# `codepipeline_emulator` and `moto_server` come from the opt-in plugin
# `pytest_releasegate.testing`, enabled for this suite in pyproject's addopts.

GATE_TYPE = {"category": "Test", "owner": "Custom", "provider": "ReleaseGate", "version": "1"}
GATE_PROPERTIES = [
    {"name": "GateId", "required": True, "key": True, "secret": False, "queryable": True},
    {"name": "Policy", "required": False, "key": False, "secret": False},
]


@pytest.fixture(autouse=True)
def _no_configured_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only explicit endpoints here (tests/conftest.py already fakes the credentials)."""
    for name in (
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_CODEPIPELINE",
        "AWS_ENDPOINT_URL_S3",
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def gate_type() -> dict[str, str]:
    """The actionTypeId of the ReleaseGate custom action type that `emulator` registers."""
    return dict(GATE_TYPE)


@pytest.fixture
def emulator(codepipeline_emulator: CodePipelineEmulator) -> CodePipelineEmulator:
    """The emulator with the ReleaseGate custom action type (GateId queryable) registered."""
    codepipeline_emulator.register_action_type(
        "ReleaseGate", configuration_properties=GATE_PROPERTIES
    )
    return codepipeline_emulator


@pytest.fixture
def client(emulator: CodePipelineEmulator) -> Any:
    """boto3 over HTTP to the emulator, without retries: every error reaches the test."""
    return emulator.client(retries={"total_max_attempts": 1})


@pytest.fixture
def start_job(emulator: CodePipelineEmulator, client: Any) -> Callable[..., str]:
    """Enqueue a job (GateId "api" unless given), poll and acknowledge it; returns its id."""

    def start(**enqueue: Any) -> str:
        enqueue.setdefault("configuration", {"GateId": "api"})
        gate_id = enqueue["configuration"]["GateId"]
        job_id = emulator.enqueue_job("ReleaseGate", **enqueue)
        (job,) = client.poll_for_jobs(actionTypeId=GATE_TYPE, queryParam={"GateId": gate_id})[
            "jobs"
        ]
        assert job["id"] == job_id
        assert client.acknowledge_job(jobId=job_id, nonce=job["nonce"])["status"] == "InProgress"
        return job_id

    return start


@pytest.fixture
def raw_call(emulator: CodePipelineEmulator) -> Iterator[Callable[..., requests.Response]]:
    """POST an AWS JSON 1.1 request around botocore (no client-side validation)."""
    with requests.Session() as session:

        def call(operation: str, body: object, **headers: str) -> requests.Response:
            sent = {
                "X-Amz-Target": f"CodePipeline_20150709.{operation}",
                "Content-Type": "application/x-amz-json-1.1",
                # Any SigV4-looking header will do: the emulator does not verify signatures.
                "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/"
                "codepipeline/aws4_request, SignedHeaders=host, Signature=0",
                **headers,
            }
            return session.post(emulator.endpoint_url + "/", json=body, headers=sent, timeout=10)

        yield call

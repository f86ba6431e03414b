"""Helpers for the publishing, artifact and Lambda tests (imported by name, not a conftest)."""

from __future__ import annotations

import contextlib
import io
import json
import uuid
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from pytest_releasegate.model import Level, Outcome, RuleResult, Selection, Verdict

REPO = Path(__file__).resolve().parents[2]
BUCKET = "releasegate-artifacts"
KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/0f0e0d0c-aaaa-bbbb-cccc-123456789012"

#: The rules of the test projects' policy, under `[tool.releasegate]`.
RULES = """
[[tool.releasegate.rule]]
name = "no failing tests"
metric = "tests.failed"
max = 0

[[tool.releasegate.rule]]
name = "tests ran"
metric = "tests.total"
min = 1
"""
PASSING_POLICY = "[tool.releasegate]\n" + RULES

PASSING_TESTS = "def test_one():\n    pass\n\ndef test_two():\n    pass\n"
FAILING_TESTS = "def test_one():\n    pass\n\ndef test_two():\n    assert False\n"


def rule(
    name: str, outcome: Outcome, *, level: Level = Level.FAIL, message: str = ""
) -> RuleResult:
    return RuleResult(
        name=name,
        metric="tests.failed",
        select=Selection(),
        actual=0.0 if outcome is Outcome.PASS else 3.0,  # what `max 0` makes the outcome
        threshold={"max": 0},
        baseline=None,
        outcome=outcome,
        message=message,
        level=level,
    )


def make_verdict(
    verdict: Outcome,
    rules: list[RuleResult] | None = None,
    *,
    metrics: Mapping[str, float] | None = None,
    warn_as: str = "success",
) -> Verdict:
    return Verdict(
        verdict=verdict,
        profile="ci",
        policy="pyproject.toml",
        rules=tuple(rules if rules is not None else [rule("no failing tests", verdict)]),
        metrics=dict(metrics or {"tests.failed": 0, "coverage.line_percent": 91.23456}),
        context={},
        started_at="2026-01-01T00:00:00+00:00",
        finished_at="2026-01-01T00:00:05+00:00",
        tool_version="0.1.0",
        warn_as=warn_as,
    )


def zip_bytes(files: Mapping[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return buffer.getvalue()


def zip_with_symlink(name: str, target: str, extra: Mapping[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for path, content in (extra or {}).items():
            zf.writestr(path, content)
        info = zipfile.ZipInfo(name)
        info.external_attr = (0o120777 << 16) | 0x20  # S_IFLNK | 0777, as `zip -y` writes it
        zf.writestr(info, target)
    return buffer.getvalue()


def project(tests: str = PASSING_TESTS, policy: str = PASSING_POLICY) -> dict[str, str]:
    return {"pyproject.toml": policy, "tests/test_app.py": tests}


class FakeContext:
    """The bits of a Lambda context the handler reads."""

    def __init__(self, seconds: float = 120.0) -> None:
        self.seconds = seconds
        self.aws_request_id = "req-" + uuid.uuid4().hex[:8]

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


def lambda_event(
    job_id: str, job_data: Mapping[str, Any], user_parameters: str | None = None
) -> dict[str, Any]:
    """A `CodePipeline.job` event as the Invoke action sends it, from an emulator job's data."""
    config: dict[str, str] = {"FunctionName": "releasegate"}
    if user_parameters is not None:
        config["UserParameters"] = user_parameters
    data: dict[str, Any] = {
        "actionConfiguration": {"configuration": config},
        "inputArtifacts": job_data.get("inputArtifacts", []),
        "outputArtifacts": job_data.get("outputArtifacts", []),
        "artifactCredentials": job_data["artifactCredentials"],
    }
    for key in ("continuationToken", "encryptionKey"):
        if key in job_data:
            data[key] = job_data[key]
    return {"CodePipeline.job": {"id": job_id, "accountId": "123456789012", "data": data}}


@pytest.fixture
def s3(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A boto3 S3 client on the moto server, with the artifact bucket; AWS_ENDPOINT_URL_S3 set."""
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_server)
    client = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=BUCKET)
    return client


def read_zip(body: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def verdict_json(body: bytes) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(body)
    return data

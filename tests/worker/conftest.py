"""Fixtures for the worker tests: emulator with the gate's action type, S3 on moto."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_releasegate.codepipeline.action_type import create_request, register
from pytest_releasegate.testing.emulator import CodePipelineEmulator

from .support import PROVIDER, Artifacts, WorkerProcess, worker_env


@pytest.fixture
def emulator(codepipeline_emulator: CodePipelineEmulator) -> CodePipelineEmulator:
    """The emulator with the gate's action type, as register-action-type creates it."""
    register(codepipeline_emulator.client(), create_request(PROVIDER))
    return codepipeline_emulator


@pytest.fixture
def s3(moto_server: str) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=moto_server,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def artifacts(s3: Any) -> Artifacts:
    bucket = f"artifacts-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    return Artifacts(s3, bucket)


@pytest.fixture
def env(emulator: CodePipelineEmulator, moto_server: str, tmp_path: Path) -> dict[str, str]:
    return worker_env(emulator, moto_server, tmp_path)


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Any]:
    """Start worker children (killed at teardown if still running)."""
    started: list[WorkerProcess] = []

    def start(*args: str, env: dict[str, str], name: str = "worker") -> WorkerProcess:
        proc = WorkerProcess(list(args), env, tmp_path / f"{name}-{len(started)}.log")
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()

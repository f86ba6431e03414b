"""Fixtures for the worker tests: emulator with the gate's action type, S3 on moto."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pytest_releasegate.codepipeline.action_type import create_request, register
from pytest_releasegate.codepipeline.isolation import kill_uid
from pytest_releasegate.testing.emulator import CodePipelineEmulator

from .probe import ReportServer, build_world_python, uid_block, world_dir
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

    def start(
        *args: str, env: dict[str, str], name: str = "worker", command: list[str] | None = None
    ) -> WorkerProcess:
        proc = WorkerProcess(list(args), env, tmp_path / f"{name}-{len(started)}.log", command)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()


@dataclass(frozen=True)
class WorldPython:
    """An interpreter other uids can run (or why there is none)."""

    python: str | None
    why: str

    def require(self) -> str:
        if os.geteuid() != 0:
            pytest.skip("runs the worker as root, so that it can switch users")
        if self.python is None:
            pytest.skip(self.why)
        return self.python


@pytest.fixture(scope="session")
def world_python() -> Iterator[WorldPython]:
    """A venv under /tmp (not under /root) whose python any uid can run, with this
    checkout and its packages importable: the gate children's interpreter."""
    if os.geteuid() != 0:
        yield WorldPython(None, "needs root to check the interpreter as another uid")
        return
    root = world_dir("rg-venv-", 0o755)
    try:
        python, why = build_world_python(root, uid_block(1).start)
        yield WorldPython(python, why)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def report_server() -> Iterator[ReportServer]:
    with ReportServer() as server:
        yield server


@pytest.fixture
def child_uids() -> Iterator[range]:
    """A block of uids for one test's worker; whatever still runs as them is killed after."""
    uids = uid_block()
    yield uids
    for uid in uids:
        kill_uid(uid)


@pytest.fixture
def world_work_dir() -> Iterator[Path]:
    """A work directory the child uids can traverse (pytest's basetemp is private)."""
    path = world_dir("rg-work-")
    yield path
    shutil.rmtree(path, ignore_errors=True)

"""Helpers for the worker tests: artifacts, a worker child process, its JSON log."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pytest_releasegate.testing.emulator import CodePipelineEmulator, S3Artifact

from ..aws.publish_support import FAILING_TESTS, PASSING_TESTS, project, read_zip, zip_bytes

REPO = Path(__file__).resolve().parents[2]
PROVIDER = "ReleaseGate"
#: The worker options every test worker starts with: our action type, GateId "api".
SERVE = ("--provider", PROVIDER, "--query", "GateId=api")
GATE_TYPE = {"category": "Test", "owner": "Custom", "provider": PROVIDER, "version": "1"}


#: PytestArgs of the test jobs: the value goes through shlex splitting. (``-p`` is
#: refused in PytestArgs; the worker's own PYTEST_ADDOPTS keeps plugins the gate
#: child does not need unloaded, for a faster child on a busy machine.)
FAST_ARGS = "-q --tb 'short'"
#: The worker's PYTEST_ADDOPTS in these tests (an operator's setting, passed to children).
FAST_ADDOPTS = "-p no:cov -p no:xdist -p no:rerunfailures -p no:randomly"


def project_files(*, passing: bool = True, tests: str | None = None) -> dict[str, str]:
    """A small project: a pyproject policy (no failing tests, some ran) and one test module."""
    return project(tests or (PASSING_TESTS if passing else FAILING_TESTS))


class Artifacts:
    """Input and output artifacts in one bucket of the moto server."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3 = s3
        self.bucket = bucket
        self._n = 0

    def put(self, data: bytes, name: str = "Source") -> S3Artifact:
        self._n += 1
        key = f"pipeline/{name}/in-{self._n}.zip"
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)
        return S3Artifact(name, self.bucket, key)

    def output(self, name: str = "GateResult") -> S3Artifact:
        self._n += 1
        return S3Artifact(name, self.bucket, f"pipeline/{name}/out-{self._n}.zip")

    def read_zip(self, artifact: S3Artifact) -> dict[str, bytes]:
        return read_zip(self.s3.get_object(Bucket=artifact.bucket, Key=artifact.key)["Body"].read())

    def head(self, artifact: S3Artifact) -> dict[str, Any]:
        answer: dict[str, Any] = self.s3.head_object(Bucket=artifact.bucket, Key=artifact.key)
        return answer


def enqueue(
    emu: CodePipelineEmulator,
    artifacts: Artifacts,
    files: Mapping[str, str | bytes] | bytes,
    *,
    gate_id: str = "api",
    output: bool = True,
    **kwargs: Any,
) -> tuple[str, S3Artifact | None]:
    """Queue a job for the gate on ``files`` (or a ready zip); returns (job id, output artifact)."""
    data = files if isinstance(files, bytes) else zip_bytes(files)
    out = artifacts.output() if output else None
    config = {"GateId": gate_id, "PytestArgs": FAST_ARGS, **kwargs.pop("configuration", {})}
    job_id = emu.enqueue_job(
        PROVIDER,
        configuration=config,
        input_artifacts=[artifacts.put(data)],
        output_artifacts=[out] if out else [],
        **kwargs,
    )
    return job_id, out


def worker_command(*args: str, python: str = sys.executable) -> list[str]:
    """``python -m pytest_releasegate worker …``.

    Unless ``args`` choose ``--child-uids``, the children share the worker's uid
    (``--child-uids off --allow-shared-uid``): these tests are about jobs, not about
    isolation, and this interpreter may live where other uids cannot run it. The
    trust tests (test_trust_*.py) run the worker with uids of their own.
    """
    if "--child-uids" not in args and "--help" not in args:
        args = (*args, "--child-uids", "off", "--allow-shared-uid")
    return [python, "-m", "pytest_releasegate", "worker", *args]


def worker_env(emu: CodePipelineEmulator, moto_url: str, tmp: Path, **extra: str) -> dict[str, str]:
    """The environment of a worker child: the emulator, moto for S3, this checkout first."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "RELEASEGATE_", "PYTEST_")) and k != "COV_CORE_SOURCE"
    }
    env.update(emu.env())
    tmpdir = tmp / "worker-tmp"
    tmpdir.mkdir(exist_ok=True)
    env.update(
        {
            "AWS_ENDPOINT_URL_S3": moto_url,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "PYTHONPATH": str(REPO),
            "TMPDIR": str(tmpdir),
            "PYTEST_ADDOPTS": FAST_ADDOPTS,
        }
    )
    env.update(extra)
    return env


class WorkerProcess:
    """A ``releasegate worker`` child with its log in a file."""

    def __init__(
        self,
        args: list[str],
        env: Mapping[str, str],
        log_path: Path,
        command: list[str] | None = None,
    ) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in wait()
        self.proc = subprocess.Popen(
            command or worker_command(*args),
            env=dict(env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def terminate(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = 60) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()

    def text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        """The JSON events logged so far (``name``: only those)."""
        out = []
        for line in self.text().splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                if name is None or record.get("event") == name:
                    out.append(record)
        return out


def wait_until(predicate: Callable[[], object], timeout: float = 60.0, every: float = 0.05) -> None:
    """Poll ``predicate`` until it is true; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(every)

"""Trust, worker as an ordinary uid (SPEC §13, issue acceptance 2): it cannot switch
users, so its children share its uid — but its memory and environment stay closed to
them (non-dumpable), and concurrent jobs on one uid need --allow-shared-uid."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_releasegate.codepipeline.isolation import kill_uid
from pytest_releasegate.testing.emulator import CodePipelineEmulator

from .conftest import WorldPython
from .probe import ReportServer, as_uid, probe_files, uid_block, world_dir
from .support import SERVE, Artifacts, enqueue
from .test_trust_root import NEEDLES, WORKER_KEY_ID, WORKER_SECRET, WORKER_TOKEN, _gone
from .test_trust_root import artifact_credentials as credentials_of


@pytest.fixture
def ordinary_uid() -> Iterator[int]:
    (uid,) = uid_block(1)
    yield uid
    kill_uid(uid)


@pytest.fixture
def own_work_dir(ordinary_uid: int) -> Iterator[Path]:
    path = world_dir("rg-work-uid-", 0o700, owner=ordinary_uid)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _worker(python: str, uid: int, *args: str) -> list[str]:
    return as_uid(uid, python, "-m", "pytest_releasegate", "worker", *SERVE, *args)


def test_worker_as_an_ordinary_uid_keeps_its_memory_and_environment_closed(
    emulator: CodePipelineEmulator,
    artifacts: Artifacts,
    env: dict[str, str],
    spawn: Any,
    world_python: WorldPython,
    report_server: ReportServer,
    ordinary_uid: int,
    own_work_dir: Path,
) -> None:
    python = world_python.require()
    env.update(
        {
            "AWS_ACCESS_KEY_ID": WORKER_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": WORKER_SECRET,
            "AWS_SESSION_TOKEN": WORKER_TOKEN,
            "TMPDIR": str(own_work_dir),
            "HOME": str(own_work_dir),
        }
    )
    emulator.configure(access_key_ids=[WORKER_KEY_ID])
    files = probe_files(
        "solo",
        report=report_server.url,
        endpoint=emulator.endpoint_url,
        needles=NEEDLES,
        kill=False,  # on a shared uid a test can kill the worker: the docs say so
    )
    job_id, _out = enqueue(emulator, artifacts, files, artifact_credentials=credentials_of(1))
    report_server.jobs["solo"] = job_id
    worker = spawn(
        env=env,
        command=_worker(
            python, ordinary_uid, "--once", "--log-format", "json", "--work-dir", str(own_work_dir)
        ),
    )
    assert worker.wait(240) == 0, worker.text()

    notices = worker.events("worker.shared_uid")
    assert len(notices) == 1 and "cannot switch users" in notices[0]["message"]
    (report,) = report_server.reports.values()
    assert report["uid"] == ordinary_uid
    assert report["parent_environ_readable"] is False
    assert report["parent_mem_readable"] is False
    assert report["found"] == {}, report["found"]
    assert (report["forge_status"], report["forge_error"]) == (403, "UnrecognizedClientException")
    assert _gone(report["daemon"]), "the daemon outlived its job"
    (result,) = emulator.results(job_id)
    assert result.kind == "failure"
    assert result.params["failureDetails"]["type"] == "JobFailed"
    assert list(own_work_dir.iterdir()) == []


def test_concurrency_on_a_shared_uid_is_refused_at_start(
    emulator: CodePipelineEmulator,
    env: dict[str, str],
    world_python: WorldPython,
    ordinary_uid: int,
    own_work_dir: Path,
) -> None:
    python = world_python.require()
    env["TMPDIR"] = str(own_work_dir)
    proc = subprocess.run(
        _worker(python, ordinary_uid, "--concurrency", "2", "--work-dir", str(own_work_dir)),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 4, proc.stderr
    (line,) = proc.stderr.splitlines()
    assert line.startswith("releasegate: --concurrency 2 refused: this worker (uid ")
    assert "--allow-shared-uid" in line
    assert emulator.calls("PollForJobs") == []

    allowed = subprocess.run(
        _worker(
            python,
            ordinary_uid,
            "--concurrency",
            "2",
            "--allow-shared-uid",
            "--once",
            "--log-format",
            "json",
            "--work-dir",
            str(own_work_dir),
        ),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert allowed.returncode == 0, allowed.stderr
    events = [json.loads(x)["event"] for x in allowed.stdout.splitlines() if x.startswith("{")]
    events += [json.loads(x)["event"] for x in allowed.stderr.splitlines() if x.startswith("{")]
    assert events.count("worker.shared_uid") == 1

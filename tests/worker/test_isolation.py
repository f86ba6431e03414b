"""The gate child: no credentials in its environment, killed as a group at its limits."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

from pytest_releasegate.codepipeline.child import Children, child_environ, run_child
from pytest_releasegate.codepipeline.handoff import decode_token, fit_token
from pytest_releasegate.codepipeline.results import CONTINUATION_TOKEN_MAX, JobFailure

WORKER_ENV = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/home/worker",
    "LANG": "C.UTF-8",
    "PYTHONPATH": "/src",
    "SMOKE_TOKEN": "meant-for-the-tests",
    "AWS_ACCESS_KEY_ID": "AKIAWORKERKEY0000001",
    "AWS_SECRET_ACCESS_KEY": "worker/secret/access/key/0000000000000000",
    "AWS_SESSION_TOKEN": "worker-session-token",
    "AWS_PROFILE": "prod",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/abc",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.2/creds",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN": "container-auth",
    "AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/token",
    "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/worker",
    "AWS_ENDPOINT_URL_CODEPIPELINE": "http://127.0.0.1:1",
    "AWS_REGION": "eu-west-1",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "RELEASEGATE_CODEPIPELINE_JOB_ID": "11111111-2222-3333-4444-555555555555",
    "RELEASEGATE_PROFILE": "prod",
    "DEPLOY_KEY_COPY": "worker/secret/access/key/0000000000000000",
}


def test_child_environment_carries_no_credential_and_keeps_the_rest() -> None:
    env = child_environ(
        WORKER_ENV,
        secrets=[WORKER_ENV["AWS_SECRET_ACCESS_KEY"]],
        extra={"RELEASEGATE_BAKE_UNTIL": "1.0"},
    )
    leaked = [
        k
        for k in env
        if k.startswith("AWS_")
        and k
        not in (
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "AWS_SHARED_CREDENTIALS_FILE",
            "AWS_CONFIG_FILE",
            "AWS_EC2_METADATA_DISABLED",
        )
    ]
    assert leaked == []
    assert "DEPLOY_KEY_COPY" not in env  # a secret under another name
    assert "RELEASEGATE_CODEPIPELINE_JOB_ID" not in env  # the child must not publish
    assert "RELEASEGATE_PROFILE" not in env  # the job's configuration decides
    assert env["AWS_SHARED_CREDENTIALS_FILE"] == env["AWS_CONFIG_FILE"] == os.devnull
    assert env["AWS_EC2_METADATA_DISABLED"] == "true"
    for kept in ("PATH", "HOME", "LANG", "PYTHONPATH", "SMOKE_TOKEN", "AWS_REGION"):
        assert env[kept] == WORKER_ENV[kept]
    assert env["RELEASEGATE_BAKE_UNTIL"] == "1.0"


def test_an_sdk_in_the_child_finds_no_credentials(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text(
        "[default]\naws_access_key_id = AKIAHOMEFILE00000001\n"
        "aws_secret_access_key = home/file/secret/000000000000000000000000\n"
    )
    env = child_environ({**os.environ, **WORKER_ENV, "HOME": str(home), "PATH": os.environ["PATH"]})
    env.pop("PYTHONPATH")
    code = (
        "import botocore.session as s; c = s.get_session().get_credentials(); "
        "print('none' if c is None else 'found')"
    )
    out = tmp_path / "out.txt"
    run = run_child(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        output=out,
        timeout=60,
        children=Children(),
    )
    assert run.returncode == 0, run.output_tail
    assert run.output_tail == "none"


def _sleeper(tmp_path: Path) -> list[str]:
    """A child that starts a grandchild, records both pids, and sleeps."""
    script = tmp_path / "sleeper.py"
    script.write_text(
        "import subprocess, sys, time, pathlib\n"
        "g = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"pathlib.Path({str(tmp_path / 'pids')!r}).write_text(f'{{g.pid}}')\n"
        "time.sleep(60)\n"
    )
    return [sys.executable, str(script)]


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie of a reaped group is gone for our purpose.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ")[1].startswith("Z")


def _wait_for(path: Path) -> None:
    from .support import wait_until

    wait_until(path.exists, timeout=30)


def test_time_limit_kills_the_whole_process_group(tmp_path: Path) -> None:
    run = run_child(
        _sleeper(tmp_path),
        cwd=tmp_path,
        env=dict(os.environ),
        output=tmp_path / "out.txt",
        timeout=1.5,
        children=Children(),
        kill_grace=0.5,
    )
    assert run.timed_out and not run.aborted
    assert run.returncode is None
    grandchild = int((tmp_path / "pids").read_text())
    from .support import wait_until

    wait_until(lambda: _gone(grandchild), timeout=10)


def test_abort_stops_a_running_child(tmp_path: Path) -> None:
    children = Children()

    def stop() -> None:
        _wait_for(tmp_path / "pids")
        children.abort()

    threading.Thread(target=stop, daemon=True).start()
    run = run_child(
        _sleeper(tmp_path),
        cwd=tmp_path,
        env=dict(os.environ),
        output=tmp_path / "out.txt",
        timeout=120,
        children=children,
        kill_grace=0.5,
    )
    assert run.aborted and not run.timed_out
    assert run.returncode is None
    assert len(children) == 0


def test_child_that_cannot_start_is_a_system_failure(tmp_path: Path) -> None:
    with pytest.raises(JobFailure) as info:
        run_child(
            [str(tmp_path / "no-such-python")],
            cwd=tmp_path,
            env={},
            output=tmp_path / "out.txt",
            timeout=5,
            children=Children(),
        )
    assert info.value.failure_type.value == "SystemUnavailable"


def test_bake_state_is_trimmed_to_fit_a_continuation_token() -> None:
    # Incompressible failure messages: 40 of them cannot fit in 2,048 characters.
    failures = [os.urandom(60).hex() for _ in range(40)]
    payload = {"bake": {"rounds": 3, "planned": 9, "failures": failures, "failures_dropped": 0}}
    token = fit_token(payload)
    assert len(token) <= CONTINUATION_TOKEN_MAX
    state = decode_token(token)["bake"]
    assert 0 < len(state["failures"]) < 40
    assert state["failures_dropped"] == 40 - len(state["failures"])
    assert state["failures"] == failures[: len(state["failures"])]


def test_bake_state_that_cannot_fit_is_a_job_failure() -> None:
    payload = {"bake": {"rounds": 1, "blob": os.urandom(3000).hex(), "failures": []}}
    with pytest.raises(JobFailure):
        fit_token(payload)

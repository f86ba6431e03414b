"""The gate child of one job: its environment, its time limit, its shutdown.

The command line, the job's parameters and the continuation-token format come
from :mod:`pytest_releasegate.aws.job` (shared with the Lambda handler). What
the long-running worker adds:

* :func:`child_environ` — no AWS credential of any kind: on top of the shared
  drop list, every ``AWS_*`` variable but the region, any variable holding a
  known secret, the SDKs' credential files pointed at ``os.devnull`` and the
  instance-metadata lookup off (so an SDK in the child finds nothing by
  itself, even with the worker's HOME);
* :func:`run_child` — the child in a session of its own, killed as a process
  group at its time limit *or when the worker shuts down*;
* :func:`fit_token` — a bake state trimmed until it fits a continuation token.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .aws.codepipeline import FailureType, JobFailure
from .aws.job import CHILD_ENV_DROP, encode_token
from .aws.job import child_environ as shared_child_environ

#: Worker variables a child must not inherit: its parameters come from the job.
_NOT_INHERITED = frozenset({"RELEASEGATE_PROFILE", "RELEASEGATE_BASE_URL"}) | CHILD_ENV_DROP
#: The AWS variables a child keeps: where, never who.
_AWS_KEPT = frozenset({"AWS_REGION", "AWS_DEFAULT_REGION"})


def child_environ(
    base: Mapping[str, str],
    *,
    secrets: Sequence[str] = (),
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a gate child: ``base`` without credentials.

    Drops every ``AWS_*`` variable but the region (keys, session tokens,
    ``AWS_PROFILE``, container and web-identity credential URIs and files),
    the worker's own ``RELEASEGATE_*`` parameters, and any variable whose value
    holds one of ``secrets``; points the SDKs' credential files at
    ``os.devnull`` and switches the instance-metadata lookup off, so an SDK in
    the child finds no credential by itself. PATH, HOME, LANG and the rest
    are kept.
    """
    env = {
        k: v
        for k, v in shared_child_environ(base).items()
        if not (k.startswith("AWS_") and k not in _AWS_KEPT)
        and k not in _NOT_INHERITED
        and not any(s and s in v for s in secrets)
    }
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    env["AWS_CONFIG_FILE"] = os.devnull
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class ChildRun:
    """How a gate child ended."""

    returncode: int | None  # None: killed at the time limit or by a shutdown
    seconds: float
    timed_out: bool
    aborted: bool
    output_tail: str


def _kill_group(proc: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM the child's process group, then SIGKILL whatever is left after ``grace``."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    # The leader is gone; grandchildren that ignored SIGTERM go now.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def tail(path: Path, limit: int = 3000) -> str:
    """The last ``limit`` characters of a text file (empty when unreadable)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - limit * 2))
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return text[-limit:].strip()


def run_child(
    command: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    output: Path,
    timeout: float,
    abort: threading.Event,
    kill_grace: float = 3.0,
) -> ChildRun:
    """Run ``command`` in a new session; kill its process group at ``timeout`` or on ``abort``.

    stdout and stderr go to ``output``. Raises JobFailure(SystemUnavailable)
    when the process cannot be started.
    """
    started = time.monotonic()
    try:
        with open(output, "wb") as out:
            proc = subprocess.Popen(
                list(command),
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
    except OSError as exc:
        raise JobFailure(
            FailureType.SYSTEM_UNAVAILABLE, f"cannot start the gate run: {exc.strerror or exc}"
        ) from None
    # A waiter thread notices the exit at once; this thread waits for it, the
    # time limit or a shutdown, whichever comes first.
    ended = threading.Event()

    def wait() -> None:
        proc.wait()
        ended.set()

    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    deadline = started + timeout
    timed_out = aborted = False
    while not ended.is_set():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            break
        if abort.is_set():
            aborted = True
            break
        ended.wait(min(remaining, 0.5))
        if abort.is_set() and not ended.is_set():
            aborted = True
            break
    if timed_out or aborted:
        _kill_group(proc, kill_grace)
    else:
        # The leader exited; make sure it left nothing running in its group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    waiter.join(timeout=5)
    return ChildRun(
        returncode=None if (timed_out or aborted) else proc.returncode,
        seconds=time.monotonic() - started,
        timed_out=timed_out,
        aborted=aborted,
        output_tail=tail(output),
    )


# -- continuation tokens --------------------------------------------------------


def fit_token(payload: dict[str, Any], key: str = "bake") -> str:
    """``payload`` as a continuation token (:func:`pytest_releasegate.aws.job.encode_token`);
    when too long, the bake state's kept failure messages are dropped one by one
    (counted in ``failures_dropped``) until it fits. JobFailure when nothing helps."""
    state = payload.get(key)
    while True:
        try:
            return encode_token(payload)
        except JobFailure:
            if not isinstance(state, dict) or not state.get("failures"):
                raise
            state["failures"].pop()
            state["failures_dropped"] = int(state.get("failures_dropped", 0)) + 1

"""The gate child of one job: its environment, its time limit, its shutdown.

* :func:`child_environ` — no AWS credential of any kind: every ``AWS_*``
  variable but the region, the job id and the runner's own ``RELEASEGATE_*``
  parameters, any variable holding a known secret; the SDKs' credential files
  pointed at ``os.devnull`` and the instance-metadata lookup off (so an SDK
  in the child finds nothing by itself, even with the parent's HOME);
* :func:`run_child` — the child in a session of its own, killed as a process
  group at its time limit, or by :class:`Children` (the launcher) when the
  worker shuts down.
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

from ..sinks.codepipeline import STATE_IN_ENV, STATE_OUT_ENV, UNTIL_ENV
from .results import FailureType, JobFailure

#: Variables a child never inherits: the job id (the parent publishes, the child
#: must not), the parent's gate parameters (the job's own decide) and the
#: bake hand-over (the runner sets it per job).
NOT_INHERITED = frozenset(
    {
        "RELEASEGATE_CODEPIPELINE_JOB_ID",
        "RELEASEGATE_PROFILE",
        "RELEASEGATE_BASE_URL",
        STATE_IN_ENV,
        STATE_OUT_ENV,
        UNTIL_ENV,
    }
)
#: The AWS variables a child keeps: where, never who.
AWS_KEPT = frozenset({"AWS_REGION", "AWS_DEFAULT_REGION"})
#: Seconds a child gets between SIGTERM and SIGKILL at its time limit.
KILL_GRACE = 3.0


def child_environ(
    base: Mapping[str, str],
    *,
    secrets: Sequence[str] = (),
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a gate child: ``base`` without credentials, plus ``extra``.

    Drops every ``AWS_*`` variable but the region (keys, session tokens,
    ``AWS_PROFILE``, container and web-identity credential URIs and files),
    :data:`NOT_INHERITED`, and any variable whose value holds one of
    ``secrets``; points the SDKs' credential files at ``os.devnull`` and
    switches the instance-metadata lookup off. PATH, HOME, LANG and the rest
    are kept.
    """
    env = {
        k: v
        for k, v in base.items()
        if not (k.startswith("AWS_") and k not in AWS_KEPT)
        and k not in NOT_INHERITED
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
        _signal_group(proc, sig)
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue


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


class Children:
    """The launcher's record of the gate children running now, so that a shutdown
    can stop them all at once (the worker on SIGTERM; the Lambda never aborts)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen[bytes]] = set()
        self.aborting = threading.Event()

    def add(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._running.add(proc)
        if self.aborting.is_set():
            _signal_group(proc, signal.SIGTERM)

    def start(self, **popen: Any) -> subprocess.Popen[bytes]:
        """``subprocess.Popen(**popen)``, recorded before :meth:`reap` can see it."""
        with self._lock:
            proc: subprocess.Popen[bytes] = subprocess.Popen(**popen)
            self._running.add(proc)
        if self.aborting.is_set():
            _signal_group(proc, signal.SIGTERM)
        return proc

    def pids(self) -> list[int]:
        with self._lock:
            return [p.pid for p in self._running]

    def reap(self) -> int:
        """Collect the exit statuses of orphans this process adopted as a subreaper
        (never of a running child's: those belong to its ``Popen``)."""
        from .isolation import reap_orphans

        with self._lock:
            return reap_orphans(known=[p.pid for p in self._running])

    def discard(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._running.discard(proc)

    def __len__(self) -> int:
        with self._lock:
            return len(self._running)

    def abort(self) -> None:
        """SIGTERM every child's process group; children started from now on get it too."""
        self.aborting.set()
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL every child's process group (the last word at shutdown)."""
        self._signal(signal.SIGKILL)

    def _signal(self, sig: signal.Signals) -> None:
        with self._lock:
            running = list(self._running)
        for proc in running:
            _signal_group(proc, sig)


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def run_child(
    command: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    output: Path,
    timeout: float,
    children: Children,
    kill_grace: float = KILL_GRACE,
    user: Mapping[str, Any] | None = None,
) -> ChildRun:
    """Run ``command`` in a new session; kill its process group at ``timeout``.

    ``children.abort()`` (a shutdown) stops it too: the run then counts as
    aborted unless it had already exited by itself. stdout and stderr go to
    ``output``. Raises JobFailure(SystemUnavailable) when the process cannot
    be started. ``user`` holds the ``Popen`` keywords that drop the child to
    another uid (:meth:`.isolation.Slot.popen_user`); files it creates are
    private to it (umask 077) either way.
    """
    started = time.monotonic()
    try:
        # The log is the runner's, private to it: the child writes through its stdout.
        with open(output, "wb", opener=lambda path, flags: os.open(path, flags, 0o600)) as out:
            proc = children.start(
                args=list(command),
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: a time limit stops it all
                close_fds=True,
                umask=0o077,
                **(user or {}),
            )
    except (OSError, subprocess.SubprocessError) as exc:
        raise JobFailure(
            FailureType.SYSTEM_UNAVAILABLE,
            f"cannot start the gate run ({command[0]}): {type(exc).__name__}: "
            f"{getattr(exc, 'strerror', None) or exc}",
        ) from None
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc, kill_grace)
    finally:
        children.discard(proc)
    # Whatever the leader left running in its group goes with it.
    _signal_group(proc, signal.SIGKILL)
    aborted = not timed_out and children.aborting.is_set() and proc.returncode < 0
    return ChildRun(
        returncode=None if (timed_out or aborted) else proc.returncode,
        seconds=time.monotonic() - started,
        timed_out=timed_out,
        aborted=aborted,
        output_tail=tail(output),
    )

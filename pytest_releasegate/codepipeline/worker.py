"""``releasegate worker``: the CodePipeline custom-action job worker.

poll → acknowledge → run the gate in a child process → publish, for as many
jobs at once as ``--concurrency`` allows. The loop:

* ``PollForJobs`` asks for as many jobs as there are free slots, with the
  ``--query`` filter (so a worker only takes its own gate's jobs), every
  ``--poll-interval`` seconds ± 50 % jitter while the queue is empty, at once
  while it is not; throttling, 5xx and connection errors back off
  exponentially with full jitter (``U(0, min(cap, interval·2ⁿ))``);
* each job runs on a thread of its own (:mod:`.runner`, shared with the Lambda):
  with its nonce, then owned until its one result is recorded;
* SIGTERM / SIGINT stop the polling; jobs in hand get ``--grace-period``
  seconds to finish, after which their gate runs are killed and they get a
  failure result; the worker then exits 0.

Scale-out is more workers: CodePipeline hands each job to one poller, and
the nonce makes sure only one worker acknowledges it.

Importing this module is cheap (the CLI lists it): boto3 loads in :func:`run`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from ..model import ExitCode
from .action_type import check_type_id
from .log import EventLog, HealthServer, Heartbeat, Redactor
from .worker_options import DEFAULTS, RuntimeMetrics
from .worker_options import add_arguments as add_worker_options

if TYPE_CHECKING:
    from .child import Children
    from .isolation import Sandbox
    from .results import CodePipelineJobs
    from .runner import JobRunner, JobSettings, OneResult


_QUERY_VALUE = re.compile(r"[A-Za-z0-9_-]{1,50}")


class UsageError(Exception):
    """A worker option or the action type's set-up is wrong: exit 4 with this message."""


@dataclass
class WorkerConfig:
    """The worker's options (``releasegate worker --help``); defaults: :mod:`.worker_options`."""

    provider: str
    category: str = DEFAULTS["category"]
    version: str = DEFAULTS["version"]
    query: tuple[str, str] | None = DEFAULTS["query"]
    concurrency: int = DEFAULTS["concurrency"]
    poll_interval: float = DEFAULTS["poll_interval"]
    max_backoff: float = DEFAULTS["max_backoff"]
    job_timeout: float = DEFAULTS["job_timeout"]
    grace_period: float = DEFAULTS["grace_period"]
    bake_pass: float = DEFAULTS["bake_pass"]
    credentials_max_age: float = DEFAULTS["credentials_max_age"]
    max_artifact_bytes: int = DEFAULTS["max_artifact_bytes"]
    max_artifact_files: int = DEFAULTS["max_artifact_files"]
    once: bool = DEFAULTS["once"]
    log_format: str = DEFAULTS["log_format"]
    health_port: int | None = DEFAULTS["health_port"]
    work_dir: Path | None = DEFAULTS["work_dir"]
    jitter_seed: int | None = DEFAULTS["jitter_seed"]
    #: One uid per job slot when the worker can switch users; "off": the worker's own.
    child_uids: str = DEFAULTS["child_uids"]
    allow_shared_uid: bool = DEFAULTS["allow_shared_uid"]
    #: The gate children's interpreter (None: this worker's); the child uids must reach it.
    python: str | None = DEFAULTS["python"]
    max_retry_time: float = DEFAULTS["max_retry_time"]
    #: Which runtime metrics of a job's policy the worker samples with its credentials.
    runtime_metrics: RuntimeMetrics = DEFAULTS["runtime_metrics"]

    @property
    def action_type_id(self) -> dict[str, str]:
        return {
            "category": self.category,
            "owner": "Custom",
            "provider": self.provider,
            "version": self.version,
        }

    def check(self) -> None:
        """Raise UsageError naming the first bad option."""
        problem = check_type_id(self.provider, self.category, self.version)
        if problem:
            raise UsageError(problem)
        if self.query is not None and not _QUERY_VALUE.fullmatch(self.query[1]):
            raise UsageError(f"--query value {self.query[1]!r}: 1-50 of [A-Za-z0-9_-]")
        for name in (
            "poll_interval",
            "job_timeout",
            "bake_pass",
            "credentials_max_age",
            "max_retry_time",
        ):
            if getattr(self, name) <= 0:
                raise UsageError(f"--{name.replace('_', '-')} must be above 0")
        if self.grace_period < 0:
            raise UsageError("--grace-period must be 0 or more")
        if self.concurrency < 1:
            raise UsageError("--concurrency must be at least 1")


@dataclass
class _InHand:
    """A job between its poll and its result."""

    job: Mapping[str, Any]
    result: OneResult
    thread: threading.Thread
    done: threading.Event = field(default_factory=threading.Event)


class Worker:
    """The poll loop, the job slots, the shutdown. :meth:`run` returns the exit code."""

    def __init__(
        self,
        config: WorkerConfig,
        *,
        jobs: CodePipelineJobs,
        poll_client: Any,
        log: EventLog,
        settings: JobSettings,
        environ: Mapping[str, str] | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], bool] | None = None,
    ) -> None:
        from .child import Children
        from .runner import JobRunner

        self.config = config
        self.jobs = jobs
        self.poll_client = poll_client
        self.log = log
        self.rng = rng or random.Random(config.jitter_seed)
        self.stopping = threading.Event()
        self.children: Children = Children()
        self.runner: JobRunner = JobRunner(
            jobs,
            settings,
            log,
            environ=os.environ if environ is None else environ,
            children=self.children,
        )
        self.heartbeat = Heartbeat(stale_after=max(60.0, 3 * config.poll_interval))
        self._in_hand: dict[str, _InHand] = {}
        self._cond = threading.Condition()
        self._sleep = sleep or self.stopping.wait
        self.jobs_started = 0
        self.stop_reason: str | None = None
        self.stopped_at: float | None = None

    # -- shutdown ------------------------------------------------------------------

    def request_stop(self, reason: str) -> None:
        """Stop polling (idempotent); jobs in hand get the grace period."""
        if not self.stopping.is_set():
            self.stop_reason = reason
            self.stopped_at = time.monotonic()  # the grace period counts from here
            self.stopping.set()
            with self._cond:
                self._cond.notify_all()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.request_stop(signal.Signals(signum).name)

    # -- the loop ------------------------------------------------------------------

    def run(self) -> int:
        cfg = self.config
        handlers = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                handlers[sig] = signal.signal(sig, self._on_signal)
        health = None
        try:
            if cfg.health_port is not None:
                health = HealthServer(self.heartbeat, cfg.health_port).start()
            self.log.info(
                "worker.started",
                action_type="/".join((cfg.category, "Custom", cfg.provider, cfg.version)),
                query=f"{cfg.query[0]}={cfg.query[1]}" if cfg.query else None,
                concurrency=cfg.concurrency,
                pid=os.getpid(),
                health_port=health.port if health else None,
            )
            code = self._poll_loop()
            self._drain()
            self.heartbeat.beat("stopped")
            self.log.info(
                "worker.stopped", reason=self.stop_reason or "done", jobs=self.jobs_started
            )
            return code
        finally:
            if health is not None:
                health.stop()
            for sig, old in handlers.items():
                signal.signal(sig, old)

    def _free_slots(self) -> int:
        with self._cond:
            return self.config.concurrency - len(self._in_hand)

    def _poll_loop(self) -> int:
        from .results import Backoff, classify, describe_error, error_code

        cfg = self.config
        failures = 0
        while not self.stopping.is_set():
            self.heartbeat.beat("polling")
            free = self._free_slots()
            if free <= 0:
                with self._cond:
                    self._cond.wait_for(
                        lambda: self.stopping.is_set() or len(self._in_hand) < cfg.concurrency,
                        timeout=1.0,
                    )
                continue
            params: dict[str, Any] = {
                "actionTypeId": cfg.action_type_id,
                "maxBatchSize": free,
            }
            if cfg.query:
                params["queryParam"] = {cfg.query[0]: cfg.query[1]}
            try:
                found = self.poll_client.poll_for_jobs(**params).get("jobs") or []
            except Exception as exc:  # noqa: BLE001 - sorted below
                code, _status = error_code(exc)
                if classify(exc).retry:
                    backoff = Backoff(
                        base=cfg.poll_interval, cap=cfg.max_backoff, random=self.rng.random
                    )
                    cap = min(cfg.max_backoff, cfg.poll_interval * 2**failures)
                    delay = backoff.delay(failures)
                    failures += 1
                    self.log.warning(
                        "poll.backoff",
                        error=code or type(exc).__name__,
                        attempt=failures,
                        cap_s=round(cap, 3),
                        delay_s=round(delay, 3),
                    )
                    self._sleep(delay)
                    continue
                return self._fatal(exc, code, describe_error(exc))
            failures = 0
            for job in found:
                self._start(job)
            if cfg.once:
                break
            if len(found) < free:  # the queue is empty for now
                self._sleep(cfg.poll_interval * (0.5 + self.rng.random()))
        return ExitCode.OK

    def _fatal(self, exc: BaseException, code: str, described: str) -> int:
        if code == "ActionTypeNotFoundException":
            message = (
                f"no custom action type {'/'.join(self.config.action_type_id.values())}: "
                "create it with `releasegate register-action-type`"
            )
            status = ExitCode.USAGE
        elif code == "ValidationException":
            message = f"PollForJobs refused the request: {described}"
            status = ExitCode.USAGE
        else:
            message = f"cannot poll for jobs: {described}"
            status = ExitCode.ERROR
        self.log.error("worker.fatal", error=message)
        self.request_stop("fatal")
        return status

    def _start(self, job: Mapping[str, Any]) -> None:
        result = self.runner.result_for(job)
        done = threading.Event()

        def work() -> None:
            try:
                self.runner.handle(job, result)
            finally:
                with self._cond:
                    self._in_hand.pop(job["id"], None)
                    self.heartbeat.active_jobs = len(self._in_hand)
                    self._cond.notify_all()
                done.set()

        thread = threading.Thread(target=work, name=f"job-{job['id'][:8]}", daemon=True)
        with self._cond:
            self._in_hand[job["id"]] = _InHand(job, result, thread, done)
            self.heartbeat.active_jobs = len(self._in_hand)
        self.jobs_started += 1
        thread.start()

    def _drain(self) -> None:
        """Wait for the jobs in hand: without limit, or within the grace period once stopping."""
        grace = self.config.grace_period
        abort_after = max(0.0, grace - min(10.0, grace / 4))
        give_up_after = max(0.0, grace - min(2.0, grace / 10))
        announced = False
        while True:
            with self._cond:
                if not self._in_hand:
                    return
                self._cond.wait(timeout=0.2)
                pending = list(self._in_hand.values())
            self.heartbeat.beat("draining")
            stop_seen = self.stopped_at
            if stop_seen is None or not pending:
                continue
            if not announced:
                announced = True
                self.log.info("worker.draining", jobs=len(pending), grace_period_s=grace)
            now = time.monotonic()
            if now - stop_seen >= abort_after and not self.children.aborting.is_set():
                self.log.warning("worker.aborting_jobs", jobs=len(pending))
                self.children.abort()
            if now - stop_seen >= give_up_after:
                self.children.kill()
                self._fail_open(pending)
                return

    def _fail_open(self, pending: list[_InHand]) -> None:
        """Put a failure on every job whose thread has not claimed a result (last resort)."""
        from .results import FailureType

        for item in pending:
            if not item.result.owned:
                continue  # not acknowledged (yet): not this worker's job to close
            if item.result.claimed:
                item.done.wait(timeout=1.0)
                continue
            item.result.fail(
                FailureType.SYSTEM_UNAVAILABLE,
                "the releasegate worker was shut down before the job finished; run the stage again",
            )
            self.log.warning("job.failed_at_shutdown", job_id=item.job["id"])


# -- the command -------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Poll CodePipeline for jobs of a custom action type, run the release gate on "
        "each job's input artifact in a child process, and put one result on each job."
    )
    add_worker_options(parser)


def config_from_args(args: argparse.Namespace) -> WorkerConfig:
    values = {name: getattr(args, name) for name in DEFAULTS}
    values["work_dir"] = Path(values["work_dir"]) if values["work_dir"] else None
    return WorkerConfig(**values)


def _err(message: str) -> None:
    print(f"releasegate: {message}", file=sys.stderr)


def check_action_type(jobs: CodePipelineJobs, config: WorkerConfig) -> None:
    """Check ``--query`` against the action type's queryable property (ListActionTypes).

    Raises UsageError when the type does not exist, when it has a queryable
    property and no ``--query`` names it, or when ``--query`` names another
    key. When the list cannot be read (no permission), PollForJobs decides.
    """
    from .action_type import find_action_type
    from .results import error_code

    wanted = config.action_type_id
    try:
        found = find_action_type(lambda **page: jobs.call("ListActionTypes", **page), wanted)
    except Exception as exc:
        code, _ = error_code(exc)
        if code in ("AccessDeniedException", "AccessDenied") or not code:
            return
        raise
    name = "/".join(wanted.values())
    if found is None:
        raise UsageError(
            f"no custom action type {name}: create it with `releasegate register-action-type "
            f"--provider {config.provider}`"
        )
    queryable = [
        p["name"] for p in found.get("actionConfigurationProperties") or () if p.get("queryable")
    ]
    if queryable and config.query is None:
        raise UsageError(
            f"{name} has the queryable property {queryable[0]}: give --query "
            f"{queryable[0]}=VALUE so this worker takes only its own gate's jobs"
        )
    if config.query is not None and config.query[0] not in queryable:
        has = f"its queryable property is {queryable[0]}" if queryable else "it has none"
        raise UsageError(f"--query {config.query[0]}=…: {name} cannot be queried so ({has})")


def _worker_secrets(session: Any) -> list[str]:
    """The worker's own secret values, to keep them out of logs and children."""
    values = [os.environ.get(k) for k in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")]
    try:
        credentials = session.get_credentials()
        if credentials is not None:
            frozen = credentials.get_frozen_credentials()
            values += [frozen.secret_key, frozen.token]
    except Exception:  # noqa: BLE001 - no credentials: nothing to hide, polling will say
        pass
    return [v for v in values if v]


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    try:
        config.check()
    except UsageError as exc:
        _err(str(exc))
        return ExitCode.USAGE
    redactor = Redactor()
    log = EventLog(config.log_format, redactor=redactor)
    from .isolation import become_subreaper, make_non_dumpable

    # Before anything else: same-uid processes (a test) cannot read this one's memory,
    # environment or command line; double-forked daemons stay in this process's tree.
    hardened = {"dumpable": not make_non_dumpable(), "subreaper": become_subreaper()}
    work_root = config.work_dir or Path(tempfile.mkdtemp(prefix="releasegate-worker-"))
    try:
        return _serve(config, log, work_root, hardened)
    finally:
        if config.work_dir is None:
            with contextlib.suppress(OSError):
                work_root.rmdir()  # jobs remove their own directories


def _serve(config: WorkerConfig, log: EventLog, work_root: Path, hardened: dict[str, bool]) -> int:
    redactor = log.redactor
    try:
        work_root.mkdir(parents=True, exist_ok=True)
        sandbox = worker_sandbox(config, work_root, log)
    except UsageError as exc:
        _err(str(exc))
        return ExitCode.USAGE
    try:
        import boto3

        from .artifacts import UnzipLimits
        from .parameters import action_parameters
        from .results import Backoff, CodePipelineJobs, make_client
        from .runner import JobLimits, JobSettings, SharedS3

        session = boto3.session.Session()
        redactor.add(*_worker_secrets(session))
        client = make_client(session=session)
        # Bounded by time, not attempts: a lost acknowledgement or a throttled result is
        # retried until the service answers for good, for up to --max-retry-time.
        backoff = Backoff(base=0.2, cap=5.0, max_time=config.max_retry_time)
        jobs = CodePipelineJobs(client=client, backoff=backoff)
        check_action_type(jobs, config)
        s3 = SharedS3()
        s3.warm_up()
    except UsageError as exc:
        _err(str(exc))
        return ExitCode.USAGE
    except Exception as exc:  # noqa: BLE001 - one line, no traceback
        _err(f"cannot start the worker: {redactor(f'{type(exc).__name__}: {exc}')}")
        return ExitCode.ERROR
    log.info(
        "worker.isolation",
        child_uids=config.child_uids if sandbox.switches_users else None,
        python=config.python or sys.executable,
        **hardened,
    )
    settings = JobSettings(
        budget=JobLimits(job_timeout=config.job_timeout, bake_pass=config.bake_pass),
        parameters=action_parameters,
        credentials_max_age=config.credentials_max_age,
        limits=UnzipLimits(
            max_files=config.max_artifact_files,
            max_total_bytes=config.max_artifact_bytes,
            max_archive_bytes=config.max_artifact_bytes,
        ),
        work_root=work_root,
        s3=s3,
        sandbox=sandbox,
        pytest_command=(config.python or sys.executable, "-m", "pytest"),
        runtime_metrics=config.runtime_metrics,
    )
    worker = Worker(config, jobs=jobs, poll_client=client, log=log, settings=settings)
    return worker.run()


def worker_sandbox(config: WorkerConfig, work_root: Path, log: EventLog) -> Sandbox:
    """How this worker keeps its jobs apart (SPEC §13); UsageError when it cannot as asked.

    Able to switch users and ``--child-uids`` not ``off``: a uid per job slot, the
    work directory traversable (not listable) by them, and the interpreter checked
    by running it once as the first of them. Otherwise children share the worker's
    uid: said once here, and ``--concurrency`` above 1 only with ``--allow-shared-uid``.
    """
    from .isolation import (
        Sandbox,
        UidRangeError,
        UidSlots,
        can_switch_users,
        parse_uid_range,
        uid_lock_dir,
    )

    off = config.child_uids.strip().lower() == "off"
    if not off and can_switch_users():
        try:
            uids = parse_uid_range(config.child_uids)
        except UidRangeError as exc:
            raise UsageError(str(exc)) from None
        if len(uids) < config.concurrency:
            raise UsageError(
                f"--child-uids {config.child_uids} holds {len(uids)} uids, fewer than "
                f"--concurrency {config.concurrency}: each job slot needs a uid of its own"
            )
        os.chmod(work_root, 0o711)
        slots = UidSlots(uids, lock_dir=uid_lock_dir())
        try:
            uid = slots.acquire()
        except RuntimeError as exc:
            raise UsageError(f"--child-uids {config.child_uids}: {exc}") from None
        try:
            _check_reachable(work_root, config.python or sys.executable, uid)
        finally:
            slots.release(uid)
        return Sandbox(slots)
    reason = (
        "--child-uids off"
        if off
        else f"this worker (uid {os.getuid()}) cannot switch users: it is not root and "
        "lacks CAP_SETUID/CAP_SETGID"
    )
    if config.concurrency > 1 and not config.allow_shared_uid:
        raise UsageError(
            f"--concurrency {config.concurrency} refused: {reason}, so concurrent jobs would "
            "share one uid and reach each other's files and processes; run the worker as "
            "root (children then run as --child-uids) or give --allow-shared-uid"
        )
    log.warning(
        "worker.shared_uid",
        message=f"{reason}: gate children run as the worker's own uid; a job's tests can "
        "signal the worker and read what this uid can read (see docs/worker.md)",
    )
    return Sandbox(exclusive=config.concurrency == 1)


def _check_reachable(work_root: Path, python: str, uid: int) -> None:
    """The child uids can reach the work directory and run the interpreter, or UsageError."""
    import stat
    import subprocess

    for directory in (work_root.resolve(), *work_root.resolve().parents):
        if not directory.stat().st_mode & stat.S_IXOTH:
            raise UsageError(
                f"--work-dir {work_root}: {directory} is not traversable by other users "
                f"(mode {stat.S_IMODE(directory.stat().st_mode):o}), so the child uids cannot "
                "reach their job directories: use a work directory under /tmp or /var/lib"
            )
    try:
        probe = subprocess.run(
            [python, "-c", "import pytest, pytest_releasegate"],
            cwd=work_root,
            env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
            user=uid,
            group=uid,
            extra_groups=[],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=120,
            check=False,
        )
        problem = probe.stderr.decode(errors="replace").strip().splitlines()[-1:] or [
            f"exit {probe.returncode}"
        ]
        ok = probe.returncode == 0
    except (OSError, subprocess.SubprocessError) as exc:
        ok, problem = False, [f"{type(exc).__name__}: {exc}"]
    if not ok:
        raise UsageError(
            f"the gate children's interpreter {python} cannot run as uid {uid} "
            f"({problem[0]}): install Python and releasegate at a path other users can read "
            "(not under /root) and give --python, or run the worker with --child-uids off"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pytest_releasegate.codepipeline.worker`` is ``releasegate worker``."""
    parser = argparse.ArgumentParser(prog="releasegate worker")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

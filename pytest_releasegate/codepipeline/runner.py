"""The job runner: one CodePipeline job, from an InProgress job to its one result.

The Lambda handler and the job worker both run jobs through :class:`JobRunner`;
they differ only in how they configure it (:class:`JobSettings`):

* **time** — a :class:`Budget`: the Lambda's :class:`InvocationBudget` gives the
  child what is left of the invocation minus a reserve for publishing; the
  worker's :class:`JobLimits` a fixed ``--job-timeout`` and a bake window of
  ``--bake-pass`` per job;
* **credentials** — the job's artifact credentials as given (the Lambda:
  ``credentials_max_age=None``), or refreshed through ``GetJobDetails`` once
  they age (the worker);
* **parameters** — ``UserParameters`` JSON or the custom action's
  configuration;
* **the launcher** — a :class:`~.child.Children` that the worker aborts on
  SIGTERM.

For each job the runner fetches and safely unpacks the first input artifact,
runs pytest with the gate in a child process (no AWS credential in its
environment), and puts exactly one result (:class:`OneResult`): the verdict,
with ``verdict.json``, ``releasegate-junit.xml`` and ``report.html`` stored as
the output artifact when the action declares one; or, while a bake has rounds left, a
success with a continuation token (:mod:`.handoff`) — unless a rule outside
the bake already blocks the release, which ends the bake at once. Whatever
goes wrong on the way becomes a failure result; an unreadable bake state too.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..integrity import IntegrityError, verified_verdict
from ..model import ExitCode, Outcome, Verdict
from ..sinks.codepipeline import STATE_IN_ENV, STATE_OUT_ENV, UNTIL_ENV
from ..sinks.files import junit_bytes
from ..sinks.html import render as render_html
from .artifacts import (
    VERDICT_HTML,
    VERDICT_JSON,
    VERDICT_JUNIT,
    ArtifactCredentials,
    UnzipLimits,
    fetch_input,
    output_zip,
    s3_client,
    upload_outputs,
)
from .child import Children, ChildRun, child_environ, run_child, tail
from .handoff import decode_token, fit_token
from .isolation import JOB_TAG_ENV, Sandbox, Slot, UnsafeFile, read_inside
from .log import EventLog
from .parameters import JobParameters, action_parameters, config_error, gate_command
from .results import (
    CodePipelineJobs,
    FailureType,
    JobFailure,
    PublishError,
    ResultRequest,
    describe_error,
    error_code,
    failure_request,
    success_request,
    verdict_request,
)
from .sampling import runtime_sampler
from .worker_options import DEFAULTS, RuntimeMetrics

OUTPUT_LOG = "pytest-output.txt"
#: How much of the child's output a failure message quotes.
OUTPUT_QUOTED = 2000


# -- time ------------------------------------------------------------------------------


class Budget(Protocol):
    """How long a job's gate child may run, and how long it may start bake rounds."""

    def child_timeout(self) -> float:
        """Seconds for the child from now; JobFailure when too little is left to try."""
        ...

    def bake_window(self, timeout: float, idle: int) -> float:
        """Seconds from the child's start in which bake rounds may start. ``idle``
        counts the passes in a row before this one that ran no round."""
        ...


@dataclass(frozen=True)
class InvocationBudget:
    """The Lambda's: what is left of the invocation, minus a reserve for publishing."""

    time_left: Callable[[], float]
    reserve_min: float = 10.0
    reserve_max: float = 60.0
    reserve_share: float = 0.1
    #: A child with less time than this is not started.
    child_min: float = 5.0

    def child_timeout(self) -> float:
        left = self.time_left()
        reserve = min(self.reserve_max, max(self.reserve_min, left * self.reserve_share))
        budget = left - reserve
        if budget < self.child_min:
            raise JobFailure(
                FailureType.SYSTEM_UNAVAILABLE,
                f"only {left:.0f} s left for this job, too little to run the gate "
                f"(at least {self.child_min + reserve:.0f} s): raise the function's timeout",
            )
        return budget

    def bake_window(self, timeout: float, idle: int) -> float:
        # Room after the last round for the tests and the verdict.
        return timeout - min(120.0, max(2.0, timeout * 0.25))


@dataclass(frozen=True)
class JobLimits:
    """The worker's: ``--job-timeout`` per gate run, ``--bake-pass`` of bake per job."""

    job_timeout: float = DEFAULTS["job_timeout"]
    bake_pass: float = DEFAULTS["bake_pass"]

    def child_timeout(self) -> float:
        return self.job_timeout

    def bake_window(self, timeout: float, idle: int) -> float:
        """``--bake-pass``, doubled for each pass in a row that ran no round (a gate
        run slower to start than the window, or an interval longer than it),
        within 75 % of the time limit."""
        return min(self.bake_pass * 2.0 ** min(idle, 16), 0.75 * timeout)


# -- settings --------------------------------------------------------------------------


@dataclass(frozen=True)
class JobSettings:
    """How the runner runs jobs here: what the Lambda handler and the worker configure."""

    budget: Budget = field(default_factory=JobLimits)
    #: How a job's data becomes parameters (action configuration, or Lambda UserParameters).
    parameters: Callable[[Mapping[str, Any]], JobParameters] = action_parameters
    #: The child's command before the job's pytest arguments and the gate's options.
    pytest_command: Sequence[str] = (sys.executable, "-m", "pytest")
    #: Refresh the artifact credentials through GetJobDetails after this many seconds;
    #: None uses the job's credentials as given.
    credentials_max_age: float | None = DEFAULTS["credentials_max_age"]
    limits: UnzipLimits = field(default_factory=UnzipLimits)
    #: Where per-job directories go (None: the system's temporary directory).
    work_root: Path | None = None
    keep_workdirs: bool = False
    #: Makes an S3 client from a job's artifact credentials.
    s3: Callable[[ArtifactCredentials], Any] = s3_client
    #: How gate children are kept apart: a uid per job, or the runner's own (SPEC §13).
    sandbox: Sandbox = field(default_factory=Sandbox)
    #: Starts the gate child and waits for it (:func:`.child.run_child`'s signature:
    #: command, cwd, env, output, timeout, children, and ``user`` — the Popen keywords
    #: of the sandbox's uid — when the sandbox switches users); the place for a
    #: launcher that isolates the child further.
    launch: Callable[..., ChildRun] = run_child
    #: Which runtime metrics of a job's policy are sampled with the runner's credentials.
    runtime_metrics: RuntimeMetrics = DEFAULTS["runtime_metrics"]


class SharedS3:
    """S3 clients for artifact credentials, made from one long-lived boto3 session.

    :func:`.artifacts.s3_client` without a session builds a new one per client,
    which reloads botocore's service model each time (~200 ms a job); here the
    model is loaded once and each client still carries only the job's
    credentials. Same client settings.
    """

    def __init__(self, session: Any = None) -> None:
        import boto3

        self._session = session or boto3.session.Session()
        self._lock = threading.Lock()  # sessions are not thread-safe; clients are

    def warm_up(self) -> None:
        """Load the S3 model now rather than in the first job."""
        self(ArtifactCredentials("warm-up", "warm-up", "warm-up"))

    def __call__(self, credentials: ArtifactCredentials) -> Any:
        with self._lock:
            return s3_client(credentials, session=self._session)


# -- the one result ---------------------------------------------------------------------


class OneResult:
    """The single result of one owned job: the first :meth:`put` wins, later ones do nothing.

    A result that the service refuses outright (not a lost answer) and that
    was not already a failure is followed by one ``SystemUnavailable``
    failure, so the job does not wait for its timeout.
    """

    def __init__(
        self,
        jobs: CodePipelineJobs,
        job_id: str,
        nonce: str | None,
        log: EventLog,
        fields: dict[str, Any],
    ) -> None:
        self.jobs = jobs
        self.job_id = job_id
        self.nonce = nonce
        self.log = log
        self.fields = fields
        self._lock = threading.Lock()
        self._claimed = False
        #: Set once the job is this runner's (acknowledged, or handed over InProgress).
        self.owned = False
        self.request: ResultRequest | None = None
        self.recorded = False
        self.problem: str | None = None

    @property
    def claimed(self) -> bool:
        return self._claimed

    def put(self, request: ResultRequest) -> bool:
        """Record ``request`` unless a result was already claimed; True when this call put it."""
        with self._lock:
            if self._claimed:
                return False
            self._claimed = True
        self.request = request
        try:
            self.jobs.put_result(request, nonce=self.nonce)
        except PublishError as exc:
            if exc.maybe_recorded or request.kind == "failure":
                self._not_recorded(request, str(exc))
                return True
            fallback = failure_request(
                self.job_id,
                FailureType.SYSTEM_UNAVAILABLE,
                f"releasegate could not record its result ({request.describe()}): {exc.reason}",
                external_id=self.external_id,
            )
            self.request = fallback
            try:
                self.jobs.put_result(fallback, nonce=self.nonce)
            except PublishError as again:
                self._not_recorded(fallback, str(again))
                return True
        self.recorded = True
        return True

    def _not_recorded(self, request: ResultRequest, reason: str) -> None:
        self.problem = reason
        self.log.error("job.publish_failed", **self.fields, result=request.kind, reason=reason)

    @property
    def external_id(self) -> str:
        return str(self.fields.get("execution_id") or self.job_id)

    def fail(self, failure_type: FailureType, message: str) -> bool:
        """Put a failure (message redacted), linked to the action execution."""
        request = failure_request(
            self.job_id, failure_type, self.log.redactor(message), external_id=self.external_id
        )
        return self.put(request)


# -- credentials ------------------------------------------------------------------------


class ArtifactAccess:
    """S3 clients built from the job's artifact credentials, refreshed through
    ``GetJobDetails`` once they are ``max_age`` seconds old (they last about 15
    minutes); ``max_age=None`` keeps the job's own."""

    def __init__(
        self,
        jobs: CodePipelineJobs,
        job_id: str,
        data: Mapping[str, Any],
        *,
        max_age: float | None,
        log: EventLog,
        s3: Callable[[ArtifactCredentials], Any] = s3_client,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.jobs = jobs
        self.job_id = job_id
        self.max_age = max_age
        self.log = log
        self._s3 = s3
        self._clock = clock
        self._client: Any = None
        self._set(ArtifactCredentials.from_job_data(data))
        self.refreshes = 0

    def _set(self, credentials: ArtifactCredentials) -> None:
        self.log.redactor.add(*credentials.secrets())
        self.credentials = credentials
        self.fetched_at = self._clock()
        self._client = None

    def refresh(self) -> None:
        try:
            details = self.jobs.call("GetJobDetails", jobId=self.job_id)
        except Exception as exc:  # noqa: BLE001 - any reason means no fresh credentials
            code, _status = error_code(exc)
            raise JobFailure(
                FailureType.SYSTEM_UNAVAILABLE,
                f"cannot refresh the artifact credentials (GetJobDetails): {code or exc}",
            ) from None
        self._set(ArtifactCredentials.from_job_data(details["jobDetails"]["data"]))
        self.refreshes += 1

    def client(self) -> Any:
        if self.max_age is not None and self._clock() - self.fetched_at >= self.max_age:
            self.refresh()
        if self._client is None:
            self._client = self._s3(self.credentials)
        return self._client


# -- the runner --------------------------------------------------------------------------


@dataclass
class JobOutcome:
    """What became of a job (for the log and the caller)."""

    result: str = "none"  # success | failure | continuation | none
    verdict: str | None = None
    failure_type: str | None = None
    recorded: bool = False
    problem: str | None = None  # why no result could be recorded
    child_seconds: float = 0.0


class JobRunner:
    """Runs jobs; one instance per Lambda invocation or per worker, any thread."""

    def __init__(
        self,
        jobs: CodePipelineJobs,
        settings: JobSettings,
        log: EventLog,
        *,
        environ: Mapping[str, str],
        children: Children | None = None,
    ) -> None:
        self.jobs = jobs
        self.settings = settings
        self.log = log
        self.environ = environ
        self.children = children if children is not None else Children()

    # -- the job's life -------------------------------------------------------------

    def acknowledge(self, job: Mapping[str, Any], fields: dict[str, Any]) -> bool:
        """AcknowledgeJob with the nonce; False (quietly) when the job is not ours."""
        try:
            status = self.jobs.call("AcknowledgeJob", jobId=job["id"], nonce=job["nonce"]).get(
                "status"
            )
        except Exception as exc:  # noqa: BLE001 - every refusal means "not ours"
            code, _status = error_code(exc)
            if code in ("InvalidNonceException", "JobNotFoundException"):
                self.log.info("job.skipped", **fields, reason=code)
            else:
                self.log.warning(
                    "job.skipped", **fields, reason=f"acknowledge failed: {code or exc}"
                )
            return False
        if status != "InProgress":
            self.log.info("job.skipped", **fields, reason=f"status {status}")
            return False
        return True

    def handle(self, job: Mapping[str, Any], result: OneResult | None = None) -> JobOutcome:
        """Acknowledge a polled ``job`` and, when it is ours, :meth:`run` it.

        ``result`` may be made beforehand (:meth:`result_for`) so that a
        shutdown can put a failure on the job if this thread cannot.
        """
        one = result or self.result_for(job)
        if not self.acknowledge(job, one.fields):
            return JobOutcome()
        return self.run(job, one)

    def result_for(self, job: Mapping[str, Any], external_id: str | None = None) -> OneResult:
        fields = job_fields(job)
        fields["execution_id"] = external_id or job["id"]
        return OneResult(self.jobs, job["id"], job.get("nonce"), self.log, fields)

    def run(
        self,
        job: Mapping[str, Any],
        result: OneResult | None = None,
        *,
        external_id: str | None = None,
    ) -> JobOutcome:
        """See an InProgress job of ours through to exactly one result; never raises for
        a job-level problem. ``external_id`` names the action execution when the
        job starts a chain (default: the job id); continuations keep the first's."""
        one = result or self.result_for(job, external_id)
        fields = one.fields
        one.owned = True
        started = time.monotonic()
        outcome = JobOutcome()
        self.log.info(
            "job.started", **fields, continuation="continuationToken" in (job.get("data") or {})
        )
        try:
            one.put(self._run(job, fields, outcome))
        except JobFailure as exc:
            one.fail(exc.failure_type, exc.message)
        except Exception as exc:  # noqa: BLE001 - an internal fault still closes the job
            self.log.error("job.internal_error", **fields, error=describe_error(exc))
            one.fail(
                FailureType.SYSTEM_UNAVAILABLE, f"releasegate internal error: {describe_error(exc)}"
            )
        finally:
            if not one.claimed:  # BaseException: still never leave the job to time out
                one.fail(
                    FailureType.SYSTEM_UNAVAILABLE, "the releasegate job runner stopped the job"
                )
            put = one.request
            if put is not None:
                outcome.result = "continuation" if "continuationToken" in put.params else put.kind
                outcome.failure_type = put.failure_type
            outcome.recorded = one.recorded
            outcome.problem = one.problem
            total = time.monotonic() - started
            self.log.info(
                "job.finished",
                **fields,
                outcome=outcome.result,
                recorded=one.recorded,
                verdict=outcome.verdict,
                failure_type=outcome.failure_type,
                duration_ms=round(total * 1000, 1),
                child_ms=round(outcome.child_seconds * 1000, 1),
                overhead_ms=round((total - outcome.child_seconds) * 1000, 1),
            )
        return outcome

    # -- the work --------------------------------------------------------------------

    def _run(
        self, job: Mapping[str, Any], fields: dict[str, Any], outcome: JobOutcome
    ) -> ResultRequest:
        data: Mapping[str, Any] = job.get("data") or {}
        job_id: str = job["id"]
        token = data.get("continuationToken")
        carried = decode_token(token) if token else {}
        if carried.get("x"):
            fields["execution_id"] = str(carried["x"])
        params = self.settings.parameters(data)
        inputs = data.get("inputArtifacts") or []
        if not inputs:
            raise config_error("the action has no input artifact: give it the project to test")
        self.settings.budget.child_timeout()  # fail fast, before any download
        access = ArtifactAccess(
            self.jobs,
            job_id,
            data,
            max_age=self.settings.credentials_max_age,
            log=self.log,
            s3=self.settings.s3,
        )
        # workdir: the runner's (the child's output log); workdir/job: the child's own
        # directory (sources, out, HOME, TMPDIR), 0700 and, with a uid per job, its uid's.
        sandbox = self.settings.sandbox
        try:
            slot = sandbox.open()
        except RuntimeError as exc:
            raise JobFailure(FailureType.SYSTEM_UNAVAILABLE, str(exc)) from None
        try:
            workdir = Path(
                tempfile.mkdtemp(
                    prefix=f"releasegate-job-{job_id[:8]}-", dir=self.settings.work_root
                )
            )
        except BaseException:
            sandbox.close(slot)
            raise
        try:
            jobdir = workdir / "job"
            jobdir.mkdir(mode=0o700)
            t0 = time.monotonic()
            src = fetch_input(access.client(), inputs[0], jobdir, self.settings.limits)
            self.log.info(
                "job.artifact",
                **fields,
                artifact=inputs[0].get("name"),
                duration_ms=round((time.monotonic() - t0) * 1000, 1),
            )
            for name in ("out", "home", "tmp"):
                (jobdir / name).mkdir()
            command = gate_command(src, jobdir / "out", params, self.settings.pytest_command)
            run, state = self._gate(command, data, carried, workdir, src, slot, fields)
            outcome.child_seconds = run.seconds
            if state is not None:
                verdict = _read_verdict(jobdir)
                if verdict is None or not _blocked_outside_bake(verdict):
                    return self._continue(job_id, fields["execution_id"], carried, state)
            return self._final(job_id, data, fields, run, workdir, access, outcome)
        finally:
            try:
                sandbox.close(slot, self.children.pids)
                self.children.reap()
            finally:
                if not self.settings.keep_workdirs:
                    shutil.rmtree(workdir, ignore_errors=True)

    def _gate(
        self,
        command: list[str],
        data: Mapping[str, Any],
        carried: Mapping[str, Any],
        workdir: Path,
        src: Path,
        slot: Slot,
        fields: dict[str, Any],
    ) -> tuple[ChildRun, dict[str, Any] | None]:
        timeout = self.settings.budget.child_timeout()
        window = self.settings.budget.bake_window(timeout, int(carried.get("idle", 0)))
        context = data.get("pipelineContext") or {}
        jobdir = workdir / "job"
        extra = {
            "RELEASEGATE_CODEPIPELINE_PIPELINE": str(context.get("pipelineName") or ""),
            "CODEPIPELINE_EXECUTION_ID": str(context.get("pipelineExecutionId") or ""),
            STATE_OUT_ENV: str(jobdir / "bake-out.json"),
            UNTIL_ENV: repr(time.time() + window),
            "HOME": str(jobdir / "home"),
            "TMPDIR": str(jobdir / "tmp"),
            JOB_TAG_ENV: slot.tag,
        }
        extra = {k: v for k, v in extra.items() if v}
        if isinstance(carried.get("bake"), dict):
            state_in = jobdir / "bake-in.json"
            state_in.write_text(json.dumps(carried["bake"]), encoding="utf-8")
            extra[STATE_IN_ENV] = str(state_in)
        output = workdir / OUTPUT_LOG
        # Runtime metrics: the child has no credential, so this process samples for it.
        policy = command[command.index("--gate-policy") + 1] if "--gate-policy" in command else None
        # `${VAR}` in the tenant's metric definitions expands from what the child itself
        # gets (no credential), never from this process's environment.
        tenant_env = child_environ(self.environ, secrets=self.log.redactor.secrets())
        self.settings.sandbox.prepare(slot, jobdir)
        user = slot.popen_user()
        try:
            with runtime_sampler(
                src, policy, tenant_env, self.settings.runtime_metrics
            ) as sampler_env:
                extra.update(sampler_env)
                env = {**tenant_env, **extra}
                run = self.settings.launch(
                    command,
                    cwd=src,
                    env=env,
                    output=output,
                    timeout=timeout,
                    children=self.children,
                    **({"user": user} if user else {}),
                )
        finally:
            # Nothing of the job runs on while its files are read: daemons included.
            swept = self.settings.sandbox.sweep(slot, self.children.pids)
            self.children.reap()
        if swept:
            self.log.info("job.leftovers_killed", **fields, processes=swept)
        self.log.info(
            "job.gate_run",
            **fields,
            exit_code=run.returncode,
            timed_out=run.timed_out or None,
            aborted=run.aborted or None,
            duration_ms=round(run.seconds * 1000, 1),
            output_tail=run.output_tail[-OUTPUT_QUOTED:] or None,  # redacted like every field
        )
        if run.timed_out:
            raise JobFailure(
                FailureType.JOB_FAILED,
                f"the gate run did not finish within its time limit of {timeout:.0f} s and "
                f"was stopped; output ends:\n{run.output_tail[-OUTPUT_QUOTED:]}",
            )
        if run.aborted:
            raise JobFailure(
                FailureType.SYSTEM_UNAVAILABLE,
                "the releasegate worker was shut down before the gate run finished; "
                "run the stage again",
            )
        try:
            raw = read_inside(jobdir, "bake-out.json")
            if raw is None:
                return run, None
            state = json.loads(raw)
        except (UnsafeFile, ValueError):
            state = None
        if not isinstance(state, dict):
            # Fail closed: a verdict without the bake's rounds could pass on missing data.
            raise JobFailure(
                FailureType.SYSTEM_UNAVAILABLE, "the gate run left an unreadable bake state"
            )
        return run, state

    def _continue(
        self, job_id: str, execution_id: str, carried: Mapping[str, Any], state: dict[str, Any]
    ) -> ResultRequest:
        passes = int(carried.get("continuations", 0)) + 1
        before = (carried.get("bake") or {}).get("rounds", 0)
        rounds, planned = state.get("rounds"), state.get("planned")
        idle = int(carried.get("idle", 0)) + 1 if rounds == before else 0
        payload = {"bake": state, "continuations": passes, "x": execution_id, "idle": idle}
        token = fit_token(payload)
        progress, percent = "bake in progress", 0
        if isinstance(rounds, int) and isinstance(planned, int) and planned > 0:
            percent = max(0, min(99, 100 * rounds // planned))
            progress += f": round {rounds} of {planned}"
        return success_request(
            job_id,
            f"releasegate: {progress}; continuing in a new job (continuation {passes})",
            external_id=execution_id,
            continuation_token=token,
            percent_complete=percent,
        )

    def _final(
        self,
        job_id: str,
        data: Mapping[str, Any],
        fields: dict[str, Any],
        run: ChildRun,
        workdir: Path,
        access: ArtifactAccess,
        outcome: JobOutcome,
    ) -> ResultRequest:
        jobdir = workdir / "job"
        try:
            raw = read_inside(jobdir, f"out/{VERDICT_JSON}")
        except UnsafeFile as exc:
            raise JobFailure(FailureType.JOB_FAILED, f"the gate run's verdict: {exc}") from None
        if raw is None:
            if run.returncode == ExitCode.USAGE:
                raise config_error(
                    f"bad policy or pytest arguments (pytest exit {run.returncode}):\n"
                    + "\n".join(_usage_lines(workdir / OUTPUT_LOG))
                )
            raise JobFailure(
                FailureType.JOB_FAILED,
                f"the gate run ended with exit code {run.returncode} and wrote no verdict; "
                f"output ends:\n{run.output_tail[-OUTPUT_QUOTED:]}",
            )
        try:
            # Recomputed from its rules: the tests can rewrite their verdict file (SPEC §13).
            verdict = verified_verdict(json.loads(raw))
        except IntegrityError as exc:
            raise JobFailure(
                FailureType.JOB_FAILED, f"the gate run's verdict file: {exc}"
            ) from None
        except (ValueError, RecursionError) as exc:
            raise JobFailure(
                FailureType.SYSTEM_UNAVAILABLE, f"the gate run wrote an unreadable verdict: {exc}"
            ) from None
        # The child does not know the job (it must not publish on it): say it here.
        # (Never written back into the job's directory, which the child owns.)
        verdict = verdict._replace(context={**verdict.context, "codepipeline_job_id": job_id})
        verdict_bytes = (json.dumps(verdict.to_json(), indent=2) + "\n").encode()
        outcome.verdict = verdict.verdict.value
        external_id = str(fields["execution_id"])
        request = verdict_request(job_id, verdict, external_id=external_id)
        if request.kind == "success" and run.returncode != 0:
            # The verdict file says pass, the process did not: a run that failed never
            # passes (SPEC §14), whatever the file says.
            request = failure_request(
                job_id,
                FailureType.JOB_FAILED,
                f"the gate run ended with exit code {run.returncode} although its verdict "
                f"is {verdict.verdict.value}; output ends:\n{run.output_tail[-OUTPUT_QUOTED:]}",
                external_id=external_id,
            )
        if not data.get("outputArtifacts"):
            return request
        try:
            # The JUnit verdict and the report are rendered here from the verified
            # verdict: the child's own files are the tested code's to rewrite.
            files = {
                VERDICT_JSON: verdict_bytes,
                VERDICT_JUNIT: junit_bytes(verdict),
                VERDICT_HTML: render_html(verdict.to_json()).encode("utf-8"),
            }
            body = output_zip(files)
            upload_outputs(access.client(), data, body)
        except JobFailure as exc:
            self.log.error("job.output_failed", **fields, reason=exc.message)
            if request.kind == "failure":
                message = request.params["failureDetails"]["message"]
                return failure_request(
                    job_id,
                    FailureType.JOB_FAILED,
                    f"{message}\n(and the output artifact: {exc.message})",
                    external_id=external_id,
                )
            raise JobFailure(
                exc.failure_type, f"{verdict.headline()}\nbut the output artifact: {exc.message}"
            ) from None
        return request


def job_fields(job: Mapping[str, Any]) -> dict[str, Any]:
    """The log fields that place a job: id, pipeline, stage, action."""
    context = (job.get("data") or {}).get("pipelineContext") or {}
    return {
        "job_id": job.get("id"),
        "pipeline": context.get("pipelineName"),
        "stage": (context.get("stage") or {}).get("name"),
        "action": (context.get("action") or {}).get("name"),
    }


def _read_verdict(jobdir: Path) -> Verdict | None:
    try:
        raw = read_inside(jobdir, f"out/{VERDICT_JSON}")
        return None if raw is None else Verdict.from_json(json.loads(raw))
    except (UnsafeFile, ValueError):
        return None


def _blocked_outside_bake(verdict: Verdict) -> bool:
    """Whether a rule that does not wait for the bake already blocks the release
    (then baking on is pointless: the verdict is final). Smoke and runtime-metric
    rules are judged when the bake ends."""
    runtime = verdict.runtime or {}
    return any(
        r.outcome in (Outcome.FAIL, Outcome.ERROR)
        and r.level.value == "fail"
        and not r.metric.startswith("smoke.")
        and r.metric not in runtime
        for r in verdict.rules
    )


def _usage_lines(output: Path) -> list[str]:
    """The child's own account of a usage error (bad policy, bad flags)."""
    lines = tail(output, 20_000).splitlines()
    picked = [
        line.removeprefix("ERROR: ").strip()
        for line in lines
        if "bad policy" in line or line.startswith(("ERROR:", "releasegate:"))
    ]
    return picked or [line for line in lines if line.strip()][-5:]

"""One job, from its acknowledgement to its one result.

:class:`JobRunner` acknowledges a polled job with its nonce (and lets it go
quietly when another worker has it), then owns it: fetches and unpacks the
input artifact with the job's artifact credentials (refreshed through
``GetJobDetails`` when they age), runs the gate in a child process, uploads
the verdict as the output artifact and puts exactly one result on the job.
Whatever goes wrong in between becomes a failure result — :class:`OneResult`
makes sure there is one, and only one, even when the worker's shutdown and
the job thread race for it.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..model import ExitCode, Outcome, Verdict
from ..sinks.codepipeline import STATE_IN_ENV, STATE_OUT_ENV, UNTIL_ENV
from .artifacts import (
    VERDICT_JSON,
    VERDICT_JUNIT,
    ArtifactCredentials,
    UnzipLimits,
    fetch_input,
    s3_client,
    upload_outputs,
    verdict_zip,
)
from .child import Children, ChildRun, child_environ, fit_token, run_child
from .job import OUTPUT_LOG, action_parameters, decode_token, gate_command, publish_outcome
from .log import EventLog
from .results import (
    CodePipelineJobs,
    FailureType,
    JobFailure,
    ResultRequest,
    error_code,
    failure_request,
    success_request,
    verdict_request,
)

#: pytest's exit code for a usage error, which the gate also uses for a bad policy.


@dataclass(frozen=True)
class JobSettings:
    """What the worker's options say about running one job."""

    job_timeout: float = 3600.0
    bake_pass: float = 600.0
    credentials_max_age: float = 600.0
    limits: UnzipLimits = field(default_factory=UnzipLimits)
    work_root: Path = field(default_factory=lambda: Path(tempfile.gettempdir()))
    keep_workdirs: bool = False
    python: str = sys.executable  # the child's interpreter
    #: Makes an S3 client from a job's artifact credentials.
    s3: Callable[[ArtifactCredentials], Any] = s3_client


class SharedS3:
    """S3 clients for artifact credentials, made from one long-lived boto3 session.

    :func:`pytest_releasegate.codepipeline.artifacts.s3_client` builds a new session per
    client, which reloads botocore's service model each time (~200 ms a job);
    here the model is loaded once and each client still carries only the
    job's credentials. Same client settings (SigV4, standard retries).
    """

    def __init__(self, session: Any = None) -> None:
        import boto3

        self._session = session or boto3.session.Session()
        self._lock = threading.Lock()  # sessions are not thread-safe; clients are

    def warm_up(self) -> None:
        """Load the S3 model now rather than in the first job."""
        self(ArtifactCredentials("warm-up", "warm-up", "warm-up"))

    def __call__(self, credentials: ArtifactCredentials) -> Any:
        from botocore.config import Config

        config = Config(
            signature_version="s3v4",
            retries={"mode": "standard"},
            connect_timeout=10,
            read_timeout=60,
        )
        with self._lock:
            return self._session.client(
                "s3",
                aws_access_key_id=credentials.access_key_id,
                aws_secret_access_key=credentials.secret_access_key,
                aws_session_token=credentials.session_token,
                config=config,
            )


class OneResult:
    """The single result of one owned job: the first :meth:`put` wins, later ones do nothing.

    A success that the service refuses outright (not a lost answer) is
    followed by one ``SystemUnavailable`` failure, so the job does not wait
    for its timeout.
    """

    def __init__(
        self, jobs: CodePipelineJobs, job_id: str, nonce: str, log: EventLog, fields: dict[str, Any]
    ) -> None:
        self.jobs = jobs
        self.job_id = job_id
        self.nonce = nonce
        self.log = log
        self.fields = fields
        self._lock = threading.Lock()
        self._claimed = False
        #: Set once this worker acknowledged the job: only then may it put a result.
        self.owned = False
        self.request: ResultRequest | None = None
        self.recorded = False

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
        outcome = publish_outcome(self.job_id, request, self.jobs, nonce=self.nonce)
        self.request = outcome.request
        self.recorded = outcome.published is not None
        if outcome.problem:
            self.log.error(
                "job.publish_failed", **self.fields, result=request.kind, reason=outcome.problem
            )
        return True

    def fail(self, failure_type: FailureType, message: str) -> bool:
        """Put a failure (message redacted), linked to the action execution when known."""
        external_id = self.fields.get("execution_id") or self.job_id
        request = failure_request(
            self.job_id, failure_type, self.log.redactor(message), external_id=external_id
        )
        return self.put(request)


class ArtifactAccess:
    """S3 clients built from the job's artifact credentials, refreshed through
    ``GetJobDetails`` once they are ``max_age`` seconds old (they last about 15 minutes)."""

    def __init__(
        self,
        jobs: CodePipelineJobs,
        job_id: str,
        data: Mapping[str, Any],
        *,
        max_age: float,
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
        if self._clock() - self.fetched_at >= self.max_age:
            self.refresh()
        if self._client is None:
            self._client = self._s3(self.credentials)
        return self._client


@dataclass
class JobOutcome:
    """What became of a job this worker acknowledged (for the log and the caller)."""

    result: str = "none"  # success | failure | continuation | none
    verdict: str | None = None
    failure_type: str | None = None
    child_seconds: float = 0.0


class JobRunner:
    """Runs polled jobs; one instance per worker, :meth:`handle` once per job, any thread."""

    def __init__(
        self,
        jobs: CodePipelineJobs,
        settings: JobSettings,
        log: EventLog,
        *,
        environ: Mapping[str, str],
        children: Children,
    ) -> None:
        self.jobs = jobs
        self.settings = settings
        self.log = log
        self.environ = environ
        self.children = children

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
        """Acknowledge ``job`` and, when it is ours, see it through to exactly one result.

        ``result`` may be made beforehand (:meth:`result_for`) so that a
        shutdown can put a failure on the job if this thread cannot.
        """
        fields = job_fields(job)
        started = time.monotonic()
        outcome = JobOutcome()
        if not self.acknowledge(job, fields):
            return outcome
        one = result or self.result_for(job)
        one.fields = fields  # the same dict: it gains the execution id on the way
        one.owned = True
        self.log.info(
            "job.started", **fields, continuation="continuationToken" in job.get("data", {})
        )
        try:
            request = self._run(job, fields, outcome)
            one.put(request)
        except JobFailure as exc:
            one.fail(exc.failure_type, exc.message)
        except Exception as exc:  # noqa: BLE001 - an internal fault still closes the job
            self.log.error("job.internal_error", **fields, error=f"{type(exc).__name__}: {exc}")
            one.fail(
                FailureType.SYSTEM_UNAVAILABLE,
                f"internal error in the releasegate worker: {type(exc).__name__}: {exc}",
            )
        finally:
            if not one.claimed:  # BaseException: still never leave the job to time out
                one.fail(FailureType.SYSTEM_UNAVAILABLE, "the releasegate worker stopped the job")
            put = one.request
            if put is not None:
                outcome.result = "continuation" if "continuationToken" in put.params else put.kind
                outcome.failure_type = put.failure_type
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

    def result_for(self, job: Mapping[str, Any]) -> OneResult:
        return OneResult(self.jobs, job["id"], job["nonce"], self.log, job_fields(job))

    # -- the work --------------------------------------------------------------------

    def _run(
        self, job: Mapping[str, Any], fields: dict[str, Any], outcome: JobOutcome
    ) -> ResultRequest:
        data: Mapping[str, Any] = job.get("data") or {}
        job_id: str = job["id"]
        params = action_parameters(data)
        token = data.get("continuationToken")
        carried = decode_token(token) if token else {}
        execution_id = str(carried.get("x") or job_id)
        fields["execution_id"] = execution_id
        inputs = data.get("inputArtifacts") or []
        if not inputs:
            raise JobFailure(
                FailureType.CONFIGURATION_ERROR,
                "the action has no input artifact: give it the project to test",
            )
        access = ArtifactAccess(
            self.jobs,
            job_id,
            data,
            max_age=self.settings.credentials_max_age,
            log=self.log,
            s3=self.settings.s3,
        )
        workdir = Path(tempfile.mkdtemp(prefix=f"job-{job_id[:8]}-", dir=self.settings.work_root))
        try:
            t0 = time.monotonic()
            src = fetch_input(access.client(), inputs[0], workdir, self.settings.limits)
            self.log.info(
                "job.artifact",
                **fields,
                artifact=inputs[0].get("name"),
                duration_ms=round((time.monotonic() - t0) * 1000, 1),
            )
            out = workdir / "out"
            out.mkdir()
            command = gate_command(src, out, params, [self.settings.python, "-m", "pytest"])
            run, state = self._gate(command, data, carried, workdir, src, fields)
            outcome.child_seconds = run.seconds
            if state is not None:
                verdict = _read_verdict(out)
                if verdict is None or not _blocked_outside_bake(verdict):
                    return self._continue(job_id, execution_id, carried, state)
            return self._final(job_id, data, execution_id, run, out, access, fields, outcome)
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
        fields: dict[str, Any],
    ) -> tuple[ChildRun, dict[str, Any] | None]:
        context = data.get("pipelineContext") or {}
        extra = {
            "RELEASEGATE_CODEPIPELINE_PIPELINE": str(context.get("pipelineName") or ""),
            "CODEPIPELINE_EXECUTION_ID": str(context.get("pipelineExecutionId") or ""),
            STATE_OUT_ENV: str(workdir / "bake-out.json"),
            UNTIL_ENV: repr(time.time() + self._bake_window(carried)),
        }
        extra = {k: v for k, v in extra.items() if v}
        if isinstance(carried.get("bake"), dict):
            state_in = workdir / "bake-in.json"
            state_in.write_text(json.dumps(carried["bake"]), encoding="utf-8")
            extra[STATE_IN_ENV] = str(state_in)
        env = child_environ(self.environ, secrets=self.log.redactor.secrets(), extra=extra)
        run = run_child(
            command,
            cwd=src,
            env=env,
            output=workdir / OUTPUT_LOG,
            timeout=self.settings.job_timeout,
            children=self.children,
        )
        self.log.info(
            "job.gate_run",
            **fields,
            exit_code=run.returncode,
            timed_out=run.timed_out or None,
            aborted=run.aborted or None,
            duration_ms=round(run.seconds * 1000, 1),
        )
        if run.timed_out:
            raise JobFailure(
                FailureType.JOB_FAILED,
                f"the gate run did not finish within the job time limit of "
                f"{self.settings.job_timeout:g} s and was stopped",
            )
        if run.aborted:
            raise JobFailure(
                FailureType.SYSTEM_UNAVAILABLE,
                "the releasegate worker was shut down before the gate run finished; "
                "run the stage again",
            )
        state_out = workdir / "bake-out.json"
        state = None
        if state_out.is_file():
            try:
                state = json.loads(state_out.read_text(encoding="utf-8"))
            except ValueError:
                raise JobFailure(
                    FailureType.SYSTEM_UNAVAILABLE, "the gate run left an unreadable bake state"
                ) from None
        return run, state if isinstance(state, dict) else None

    def _bake_window(self, carried: Mapping[str, Any]) -> float:
        """Seconds of bake this job may start rounds in: ``--bake-pass``, doubled for
        each pass in a row that ran no round (a gate run slower to start than the
        window, or an interval longer than it), within the job's time limit."""
        idle: int = min(int(carried.get("idle", 0)), 16)
        window: float = self.settings.bake_pass * 2.0**idle
        return min(window, 0.75 * self.settings.job_timeout)

    def _continue(
        self, job_id: str, execution_id: str, carried: Mapping[str, Any], state: dict[str, Any]
    ) -> ResultRequest:
        passes = int(carried.get("continuations", 0)) + 1
        before = (carried.get("bake") or {}).get("rounds", 0)
        idle = int(carried.get("idle", 0)) + 1 if state.get("rounds", 0) == before else 0
        # "bake" and "continuations" as the Lambda handler writes them; "x" the
        # first job's id, the action's external execution id across the chain;
        # "idle" the passes in a row without a round (see _bake_window).
        payload = {"bake": state, "continuations": passes, "x": execution_id, "idle": idle}
        token = fit_token(payload)
        rounds, planned = int(state.get("rounds", 0)), int(state.get("planned", 0) or 1)
        summary = (
            f"releasegate: bake in progress \u2014 {rounds} of {planned} rounds done "
            f"after {passes} pass{'es' if passes > 1 else ''}"
        )
        return success_request(
            job_id,
            summary,
            external_id=execution_id,
            continuation_token=token,
            percent_complete=min(99, 100 * rounds // planned),
        )

    def _final(
        self,
        job_id: str,
        data: Mapping[str, Any],
        execution_id: str,
        run: ChildRun,
        out: Path,
        access: ArtifactAccess,
        fields: dict[str, Any],
        outcome: JobOutcome,
    ) -> ResultRequest:
        verdict_path = out / VERDICT_JSON
        if not verdict_path.is_file():
            detail = f"\n{run.output_tail}" if run.output_tail else ""
            if run.returncode == ExitCode.USAGE:
                raise JobFailure(
                    FailureType.CONFIGURATION_ERROR,
                    f"bad policy or pytest arguments (pytest exit {run.returncode}){detail}",
                )
            raise JobFailure(
                FailureType.JOB_FAILED,
                f"the gate run ended with exit code {run.returncode} and wrote no verdict{detail}",
            )
        raw = json.loads(verdict_path.read_text(encoding="utf-8"))
        try:
            verdict = Verdict.from_json(raw)
        except ValueError as exc:
            raise JobFailure(FailureType.SYSTEM_UNAVAILABLE, f"unreadable verdict: {exc}") from None
        outcome.verdict = verdict.verdict.value
        # The child does not know the job (it must not publish on it): say it here.
        raw.setdefault("context", {})["codepipeline_job_id"] = job_id
        verdict_path.write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")
        request = verdict_request(job_id, verdict, external_id=execution_id)
        if data.get("outputArtifacts"):
            try:
                if not (out / VERDICT_JUNIT).is_file():
                    raise JobFailure(
                        FailureType.SYSTEM_UNAVAILABLE, "the gate run wrote no JUnit verdict"
                    )
                upload_outputs(access.client(), data, verdict_zip(out))
            except JobFailure as exc:
                if request.kind == "failure":
                    self.log.error("job.output_failed", **fields, reason=exc.message)
                    return request
                raise JobFailure(
                    exc.failure_type,
                    f"{verdict.headline()}\nbut the output artifact: {exc.message}",
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


def _read_verdict(out: Path) -> Verdict | None:
    try:
        return Verdict.from_json(json.loads((out / VERDICT_JSON).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def _blocked_outside_bake(verdict: Verdict) -> bool:
    """Whether a rule that does not wait for the bake already blocks the release
    (then baking on is pointless: the verdict is final)."""
    return any(
        r.outcome in (Outcome.FAIL, Outcome.ERROR)
        and r.level.value == "fail"
        and not r.metric.startswith("smoke.")
        for r in verdict.rules
    )

"""One CodePipeline job, start to result: shared by the Lambda handler and the job worker.

:func:`process_job` takes a job's ``data`` (the same shape in a Lambda event
and in ``PollForJobs``/``GetJobDetails``) and always ends in exactly one
result call:

1. parameters (Lambda ``UserParameters`` JSON, or the custom action's
   configuration) → :class:`JobParameters`, a bad one a ``ConfigurationError``;
2. the first input artifact fetched with the job's artifact credentials and
   unpacked safely into a temporary directory (:mod:`.artifacts`);
3. pytest with the gate run there in a child process, with a time limit
   inside the caller's budget and an environment without any AWS credential;
4. the verdict JSON and JUnit uploaded as the output artifact, then the
   verdict put on the job — or, when a bake has rounds left at the deadline,
   a success with a continuation token carrying the bake state, resumed by
   the next job (:func:`encode_token` / :func:`decode_token`);
5. anything that goes wrong on the way becomes a failure result.

No AWS credential reaches the child or a log line.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import difflib
import json
import logging
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ..model import ExitCode, Verdict
from ..sinks.codepipeline import STATE_IN_ENV, STATE_OUT_ENV, UNTIL_ENV
from .artifacts import (
    VERDICT_JSON,
    VERDICT_JUNIT,
    ArtifactCredentials,
    ArtifactError,
    UnzipLimits,
    fetch_input,
    s3_client,
    upload_outputs,
    verdict_zip,
)
from .results import (
    CONTINUATION_TOKEN_MAX,
    CodePipelineJobs,
    FailureType,
    JobFailure,
    Published,
    PublishError,
    ResultRequest,
    describe_error,
    failure_request,
    fit,
    success_request,
    verdict_request,
)

log = logging.getLogger("pytest_releasegate.codepipeline")

USER_PARAMETER_KEYS = ("policy", "profile", "pytest_args", "base_url")
#: Custom-action configuration property → JobParameters field (the worker's action type).
CONFIGURATION_KEYS = {
    "Policy": "policy",
    "Profile": "profile",
    "PytestArgs": "pytest_args",
    "BaseUrl": "base_url",
}
#: Environment variables never passed to the child: credentials of any kind,
#: and the job id (the parent publishes, the child must not).
CHILD_ENV_DROP = frozenset(
    {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_CONFIG_FILE",
        "RELEASEGATE_CODEPIPELINE_JOB_ID",
        STATE_IN_ENV,
        STATE_OUT_ENV,
        UNTIL_ENV,
    }
)
OUTPUT_LOG = "pytest-output.txt"
#: Seconds of the budget kept back for uploading and publishing after the child.
RESERVE_MIN, RESERVE_MAX, RESERVE_SHARE = 10.0, 60.0, 0.1
#: A child with less time than this is not started.
CHILD_MIN_SECONDS = 5.0
#: How long a child gets between SIGTERM and SIGKILL at its time limit.
KILL_GRACE = 5.0


# -- parameters -----------------------------------------------------------------


def _config_error(message: str) -> JobFailure:
    return JobFailure(FailureType.CONFIGURATION_ERROR, message)


def _suggest(key: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(known)})"


@dataclass(frozen=True)
class JobParameters:
    """What a job asks of the gate; every field optional (the artifact's own policy)."""

    policy: str | None = None
    profile: str | None = None
    pytest_args: tuple[str, ...] = ()
    base_url: str | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str) -> JobParameters:
        values: dict[str, Any] = {}
        for key in ("policy", "profile", "base_url"):
            value = data.get(key)
            if value is None or value == "":
                continue
            if not isinstance(value, str):
                raise _config_error(f"{where}: {key!r} must be a string, not {value!r}")
            values[key] = value
        args = data.get("pytest_args")
        if isinstance(args, str):
            try:
                values["pytest_args"] = tuple(shlex.split(args))
            except ValueError as exc:
                raise _config_error(f"{where}: 'pytest_args' cannot be split: {exc}") from None
        elif isinstance(args, list) and all(isinstance(a, str) for a in args):
            values["pytest_args"] = tuple(args)
        elif args is not None:
            raise _config_error(
                f"{where}: 'pytest_args' must be a list of strings or one string, not {args!r}"
            )
        return cls(**values)

    @classmethod
    def from_user_parameters(cls, text: object) -> JobParameters:
        """The Lambda action's ``UserParameters``: empty, or a JSON object with optional
        ``policy``, ``profile``, ``pytest_args`` (list or string), ``base_url``."""
        if text is None or (isinstance(text, str) and not text.strip()):
            return cls()
        if not isinstance(text, str):
            raise _config_error("UserParameters must be a JSON string")
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise _config_error(f"UserParameters is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise _config_error(
                "UserParameters must be a JSON object with the optional keys "
                + ", ".join(USER_PARAMETER_KEYS)
            )
        for key in data:
            if key not in USER_PARAMETER_KEYS:
                raise _config_error(
                    f"UserParameters: unknown key {key!r}{_suggest(key, USER_PARAMETER_KEYS)}"
                )
        return cls.from_mapping(data, "UserParameters")

    @classmethod
    def from_configuration(cls, configuration: Mapping[str, str]) -> JobParameters:
        """A custom action's configuration (``Policy``, ``Profile``, ``PytestArgs``,
        ``BaseUrl``; other properties such as ``GateId`` are not the gate's)."""
        data = {field_: configuration.get(prop) for prop, field_ in CONFIGURATION_KEYS.items()}
        return cls.from_mapping(data, "action configuration")

    def policy_path(self, srcdir: Path) -> str | None:
        """The policy file inside the unpacked artifact; it may not point outside it."""
        if not self.policy:
            return None
        rel = PurePosixPath(self.policy.replace("\\", "/"))
        if rel.is_absolute() or ".." in rel.parts:
            raise _config_error(f"policy {self.policy!r} must be a path inside the input artifact")
        return str(srcdir.joinpath(*rel.parts))


def lambda_parameters(data: Mapping[str, Any]) -> JobParameters:
    config = (data.get("actionConfiguration") or {}).get("configuration") or {}
    return JobParameters.from_user_parameters(config.get("UserParameters"))


def action_parameters(data: Mapping[str, Any]) -> JobParameters:
    config = (data.get("actionConfiguration") or {}).get("configuration") or {}
    return JobParameters.from_configuration(config)


# -- continuation tokens ----------------------------------------------------------

TOKEN_PREFIX = "rg1."


def encode_token(state: Mapping[str, Any]) -> str:
    """State as a continuation token (≤ 2,048 chars): compressed JSON, base64url."""
    raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    token = TOKEN_PREFIX + base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")
    if len(token) > CONTINUATION_TOKEN_MAX:
        raise JobFailure(
            FailureType.SYSTEM_UNAVAILABLE,
            f"the bake state takes {len(token)} characters as a continuation token, over "
            f"the service's {CONTINUATION_TOKEN_MAX}: fewer smoke checks, or a bake that "
            "fits in one invocation",
        )
    return token


def decode_token(token: str) -> dict[str, Any]:
    """The state of a token made by :func:`encode_token`; JobFailure when it is not one."""
    if not token.startswith(TOKEN_PREFIX):
        raise JobFailure(
            FailureType.SYSTEM_UNAVAILABLE,
            "the job's continuation token was not made by releasegate",
        )
    body = token[len(TOKEN_PREFIX) :]
    try:
        raw = zlib.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        state = json.loads(raw)
    except (binascii.Error, zlib.error, ValueError) as exc:
        raise JobFailure(
            FailureType.SYSTEM_UNAVAILABLE, f"the job's continuation token is damaged: {exc}"
        ) from None
    if not isinstance(state, dict):
        raise JobFailure(FailureType.SYSTEM_UNAVAILABLE, "the continuation token holds no state")
    return state


# -- the child run ----------------------------------------------------------------


def child_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` without credentials or the job id (see CHILD_ENV_DROP).

    The SDKs' credential files point at ``os.devnull`` and the instance-metadata
    lookup is off, so an SDK in the child cannot find a credential by itself.
    """
    env = {k: v for k, v in environ.items() if k not in CHILD_ENV_DROP}
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    env["AWS_CONFIG_FILE"] = os.devnull
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env


@dataclass
class ChildRun:
    """What the gate's child process left behind."""

    returncode: int | None  # None: stopped at its time limit
    timeout: float
    outdir: Path
    verdict: Verdict | None = None
    verdict_problem: str | None = None
    bake_state: dict[str, Any] | None = None

    def output_tail(self, limit: int = 2000) -> str:
        try:
            text = (self.outdir / OUTPUT_LOG).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return text[-limit:]

    def usage_lines(self) -> list[str]:
        """The child's own account of a usage error (bad policy, bad flags)."""
        lines = self.output_tail(20_000).splitlines()
        picked = [
            line.removeprefix("ERROR: ").strip()
            for line in lines
            if "bad policy" in line or line.startswith(("ERROR:", "releasegate:"))
        ]
        return picked or [line for line in lines if line.strip()][-5:]


def gate_command(
    srcdir: Path, outdir: Path, params: JobParameters, base: Sequence[str]
) -> list[str]:
    """The child's command line: the job's pytest args first, the gate's own options last."""
    command = [*base, *params.pytest_args, "--gate", "-p", "no:cacheprovider"]
    command += ["--gate-json", str(outdir / VERDICT_JSON)]
    command += ["--gate-junit", str(outdir / VERDICT_JUNIT)]
    policy = params.policy_path(srcdir)
    if policy:
        command += ["--gate-policy", policy]
    if params.profile:
        command += ["--gate-profile", params.profile]
    if params.base_url:
        command += ["--gate-base-url", params.base_url]
    return command


def run_child(
    command: Sequence[str],
    *,
    cwd: Path,
    outdir: Path,
    timeout: float,
    environ: Mapping[str, str],
    bake_state: Mapping[str, Any] | None = None,
    bake_until: float | None = None,
) -> ChildRun:
    """Run the gate child in ``cwd``; output to ``outdir/pytest-output.txt``.

    At ``timeout`` the child's process group gets SIGTERM, then SIGKILL.
    """
    env = child_environ(environ)
    state_out = outdir / "bake-state-out.json"
    env[STATE_OUT_ENV] = str(state_out)
    if bake_state is not None:
        state_in = outdir / "bake-state-in.json"
        state_in.write_text(json.dumps(bake_state), encoding="utf-8")
        env[STATE_IN_ENV] = str(state_in)
    if bake_until is not None:
        env[UNTIL_ENV] = repr(bake_until)
    with open(outdir / OUTPUT_LOG, "wb") as output:
        proc = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a time limit stops it all
        )
        returncode: int | None
        try:
            returncode = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop(proc)
            returncode = None
    run = ChildRun(returncode, timeout, outdir)
    if returncode is None:
        return run
    if state_out.exists():
        try:
            state = json.loads(state_out.read_text(encoding="utf-8"))
            run.bake_state = state if isinstance(state, dict) else None
        except (OSError, ValueError):
            run.bake_state = None
    verdict_file = outdir / VERDICT_JSON
    if verdict_file.exists():
        try:
            run.verdict = Verdict.from_json(json.loads(verdict_file.read_text(encoding="utf-8")))
        except ValueError as exc:
            run.verdict_problem = f"the verdict JSON cannot be read: {exc}"
    return run


def _stop(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, KILL_GRACE), (signal.SIGKILL, None)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


# -- one job ----------------------------------------------------------------------


@dataclass
class JobSetup:
    """How to run jobs here: the knobs the Lambda handler and the worker set."""

    jobs: CodePipelineJobs
    #: Seconds left for this job (the Lambda's remaining time; the worker's job timeout).
    time_left: Callable[[], float]
    #: How a job's data becomes parameters (Lambda UserParameters, or action configuration).
    parameters: Callable[[Mapping[str, Any]], JobParameters] = lambda_parameters
    #: The child's command before the gate's options.
    pytest_command: Sequence[str] = field(default_factory=lambda: [sys.executable, "-m", "pytest"])
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    limits: UnzipLimits = field(default_factory=UnzipLimits)
    #: Where the per-job temporary directory goes (default: the system's temp dir).
    tempdir: str | None = None
    #: Makes the S3 client from the job's credentials (tests and the worker may replace it).
    s3: Callable[[ArtifactCredentials], Any] = s3_client


@dataclass
class JobOutcome:
    """What :func:`process_job` did: the result it put (or could not put)."""

    job_id: str
    request: ResultRequest
    published: Published | None
    verdict: Verdict | None = None
    problem: str | None = None  # why no result could be recorded

    @property
    def kind(self) -> str:
        if "continuationToken" in self.request.params:
            return "continuation"
        return self.request.kind


def process_job(
    job_id: str,
    data: Mapping[str, Any],
    setup: JobSetup,
    *,
    nonce: str | None = None,
    external_id: str | None = None,
    context: Mapping[str, Any] | None = None,
) -> JobOutcome:
    """Run the gate for one InProgress job and put exactly one result on it.

    Never raises for a job-level problem: those become failure results. A
    result that cannot be recorded is logged and returned in ``problem``.
    ``context`` entries are added to the verdict's ``context``.
    """
    verdict: Verdict | None = None
    try:
        request, verdict = _run(job_id, data, setup, external_id, context or {})
    except JobFailure as failure:
        request = failure_request(
            job_id, failure.failure_type, failure.message, external_id=external_id
        )
    except Exception as exc:  # noqa: BLE001 - every fault becomes a result
        request = internal_failure(job_id, exc, external_id)
    return publish_outcome(job_id, request, setup.jobs, verdict=verdict, nonce=nonce)


def internal_failure(
    job_id: str, exc: BaseException, external_id: str | None = None
) -> ResultRequest:
    """A ``SystemUnavailable`` failure for an unexpected exception (logged with its traceback)."""
    log.exception("job %s: internal error", job_id)
    return failure_request(
        job_id,
        FailureType.SYSTEM_UNAVAILABLE,
        f"releasegate internal error: {describe_error(exc)}",
        external_id=external_id,
    )


def publish_outcome(
    job_id: str,
    request: ResultRequest,
    jobs: CodePipelineJobs,
    *,
    verdict: Verdict | None = None,
    nonce: str | None = None,
) -> JobOutcome:
    """Put ``request``; when it is refused outright (not maybe recorded) and was not
    already a failure, put a SystemUnavailable failure instead. Never raises."""
    try:
        published = jobs.put_result(request, nonce=nonce)
    except PublishError as exc:
        if exc.maybe_recorded or request.kind == "failure":
            log.error("job %s: %s", job_id, exc)
            return JobOutcome(job_id, request, None, verdict, problem=str(exc))
        fallback = failure_request(
            job_id,
            FailureType.SYSTEM_UNAVAILABLE,
            f"releasegate could not record its result ({request.describe()}): {exc.reason}",
        )
        try:
            published = jobs.put_result(fallback, nonce=nonce)
        except PublishError as again:
            log.error("job %s: %s", job_id, again)
            return JobOutcome(job_id, fallback, None, verdict, problem=str(again))
        request = fallback
    log.info("job %s: %s", job_id, request.describe())
    return JobOutcome(job_id, request, published, verdict)


def _budget(setup: JobSetup) -> float:
    left = setup.time_left()
    reserve = min(RESERVE_MAX, max(RESERVE_MIN, left * RESERVE_SHARE))
    budget = left - reserve
    if budget < CHILD_MIN_SECONDS:
        raise JobFailure(
            FailureType.SYSTEM_UNAVAILABLE,
            f"only {left:.0f} s left for this job, too little to run the gate "
            f"(at least {CHILD_MIN_SECONDS + reserve:.0f} s): raise the function's timeout",
        )
    return budget


def _bake_until(budget: float) -> float:
    """The last moment a bake round may start: room left for the tests and the verdict."""
    return time.time() + budget - min(120.0, max(2.0, budget * 0.25))


def _run(
    job_id: str,
    data: Mapping[str, Any],
    setup: JobSetup,
    external_id: str | None,
    context: Mapping[str, Any],
) -> tuple[ResultRequest, Verdict | None]:
    params = setup.parameters(data)
    token = data.get("continuationToken")
    resumed = decode_token(token) if token else None
    inputs = data.get("inputArtifacts") or []
    if not inputs:
        raise _config_error("the action has no input artifact to run the gate on")
    _budget(setup)  # fail fast, before any download, when the time is too short anyway
    s3 = setup.s3(ArtifactCredentials.from_job_data(data))
    with tempfile.TemporaryDirectory(prefix="releasegate-job-", dir=setup.tempdir) as tmp:
        workdir = Path(tmp)
        srcdir = fetch_input(s3, inputs[0], workdir, setup.limits)
        outdir = workdir / "out"
        outdir.mkdir()
        budget = _budget(setup)
        command = gate_command(srcdir, outdir, params, setup.pytest_command)
        child = run_child(
            command,
            cwd=srcdir,
            outdir=outdir,
            timeout=budget,
            environ=setup.environ,
            bake_state=(resumed or {}).get("bake"),
            bake_until=_bake_until(budget),
        )
        log.info(
            "job %s: pytest exited %s; output ends:\n%s",
            job_id,
            "at its time limit" if child.returncode is None else child.returncode,
            child.output_tail(4000),
        )
        if child.returncode is None:
            raise JobFailure(
                FailureType.JOB_FAILED,
                f"the gate did not finish within its time limit of {budget:.0f} s "
                f"(the rest of the budget is kept for publishing); output ends:\n"
                + child.output_tail(1000),
            )
        if child.bake_state is not None:
            return _continuation(job_id, child.bake_state, resumed, external_id), None
        if child.returncode == ExitCode.USAGE:
            raise _config_error("\n".join(child.usage_lines()))
        if child.verdict is None:
            raise JobFailure(
                FailureType.SYSTEM_UNAVAILABLE,
                f"pytest exited {child.returncode} without a verdict"
                + (f" ({child.verdict_problem})" if child.verdict_problem else "")
                + "; output ends:\n"
                + child.output_tail(1000),
            )
        verdict = _with_context(child.verdict, {"codepipeline_job_id": job_id, **context})
        (outdir / VERDICT_JSON).write_text(
            json.dumps(verdict.to_json(), indent=2) + "\n", encoding="utf-8"
        )
        request = verdict_request(job_id, verdict, external_id=external_id)
        try:
            upload_outputs(s3, data, verdict_zip(outdir))
        except ArtifactError as exc:
            if request.kind == "success":
                raise JobFailure(
                    exc.failure_type, f"{exc.message}; the verdict was {verdict.headline()}"
                ) from None
            message = request.params["failureDetails"]["message"]
            request = failure_request(
                job_id,
                FailureType.JOB_FAILED,
                f"{message}\n(and {exc.message})",
                external_id=external_id,
            )
        return request, verdict


def _with_context(verdict: Verdict, extra: Mapping[str, Any]) -> Verdict:

    context = {**verdict.context, **{k: v for k, v in extra.items() if v}}
    return verdict._replace(context=context)


def _continuation(
    job_id: str,
    bake: dict[str, Any],
    resumed: Mapping[str, Any] | None,
    external_id: str | None,
) -> ResultRequest:
    count = int((resumed or {}).get("continuations", 0)) + 1
    token = encode_token({"bake": bake, "continuations": count})
    rounds, planned = bake.get("rounds"), bake.get("planned")
    percent = 0
    progress = "bake in progress"
    if isinstance(rounds, int) and isinstance(planned, int) and planned > 0:
        percent = max(0, min(99, 100 * rounds // planned))
        progress += f": round {rounds} of {planned}"
    summary = f"releasegate: {progress}; continuing in a new job (continuation {count})"
    return success_request(
        job_id,
        fit(summary, 2048),
        external_id=external_id,
        continuation_token=token,
        percent_complete=percent,
    )

"""A strict local emulator of the CodePipeline job-worker API.

:class:`CodePipelineEmulator` serves the custom-action job API over HTTP on
loopback in the AWS JSON 1.1 protocol, so an unmodified boto3 client with
``endpoint_url`` (or ``AWS_ENDPOINT_URL_CODEPIPELINE``) talks to it. It refuses
what the service refuses and botocore lets through (see
``docs/emulator.md``): patterns, enums and maximum lengths from botocore's own
model, the job state machine, nonces, one result per job, continuation jobs,
output-variable limits.

A test-only control interface -- methods on the object, and the same methods
as ``/_control/<method>`` over HTTP -- enqueues jobs, reads every call and
result, moves the clock, times jobs out and injects faults.

Run it alone with ``releasegate emulator --port N`` (or ``python -m
pytest_releasegate.testing.emulator``).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import ipaddress
import json
import re
import secrets
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType, TracebackType
from typing import Any

from ..model import ExitCode
from .shapes import ServiceError, ShapeValidator

__all__ = [
    "Call",
    "CodePipelineEmulator",
    "EmulatorError",
    "JobView",
    "Result",
    "S3Artifact",
    "add_arguments",
    "main",
    "run",
]

TARGET_PREFIX = "CodePipeline_20150709."
TERMINAL_STATUSES = frozenset({"Succeeded", "Failed", "TimedOut"})
#: "maximum size limit of 122880 bytes for all output variables combined" (service quotas).
OUTPUT_VARIABLES_MAX_BYTES = 122_880
#: Custom action types per Region (service quotas).
MAX_CUSTOM_ACTION_TYPES = 50
#: What a pipeline may configure as the value of a queryable property.
_QUERYABLE_VALUE = re.compile(r"[A-Za-z0-9_-]{1,20}")
_CONFIG_REFERENCE = re.compile(r"\{Config:([^}]*)\}")
_FAKE_CREDENTIALS = {
    "accessKeyId": "ASIAEMULATOREXAMPLE0",
    "secretAccessKey": "emulator-fake-secret-access-key",
    "sessionToken": "emulator-fake-session-token",
}


class EmulatorError(ValueError):
    """A control-interface call that cannot be carried out (not an AWS answer)."""


@dataclass(frozen=True)
class S3Artifact:
    """An input or output artifact: an object in an S3 endpoint (real, or a moto server)."""

    name: str
    bucket: str
    key: str
    revision: str | None = None

    def to_wire(self) -> dict[str, Any]:
        artifact: dict[str, Any] = {
            "name": self.name,
            "location": {
                "type": "S3",
                "s3Location": {"bucketName": self.bucket, "objectKey": self.key},
            },
        }
        if self.revision is not None:
            artifact["revision"] = self.revision
        return artifact


@dataclass(frozen=True)
class Call:
    """One request as the emulator saw it, whatever became of it."""

    operation: str
    params: dict[str, Any]
    time: float
    status: int  # the HTTP status the client got (0: connection dropped)
    error: str | None  # the __type of an error answer, else None
    fault: str | None  # "throttle", "error" or "lose" when a fault was injected


@dataclass(frozen=True)
class Result:
    """A result recorded on a job: the request of the PutJob*Result call that closed it."""

    job_id: str
    kind: str  # "success" or "failure"
    params: dict[str, Any]
    time: float
    response_lost: bool  # recorded, but the client got an error or a dropped connection


@dataclass(frozen=True)
class JobView:
    """A snapshot of one job."""

    id: str
    status: str
    nonce: str | None
    data: dict[str, Any]
    account_id: str
    created_at: float
    continues: str | None  # the job whose continuation token created this one
    continued_by: str | None  # the job this one's continuation token created
    result: Result | None


@dataclass(frozen=True)
class Reply:
    """What the HTTP layer sends back for one AWS call."""

    status: int
    payload: dict[str, Any]
    drop: bool = False


@dataclass
class _Job:
    id: str
    type_key: tuple[str, str, str, str]
    data: dict[str, Any]
    created_at: float
    status: str = "Queued"
    nonce: str | None = None
    dispatched_at: float | None = None
    continues: str | None = None
    continued_by: str | None = None
    result: Result | None = None

    def view(self, account_id: str) -> JobView:
        return JobView(
            id=self.id,
            status=self.status,
            nonce=self.nonce,
            data=copy.deepcopy(self.data),
            account_id=account_id,
            created_at=self.created_at,
            continues=self.continues,
            continued_by=self.continued_by,
            result=self.result,
        )


@dataclass
class _Fault:
    kind: str  # "throttle" | "error" | "lose"
    remaining: int
    operation: str | None
    status: int = 500
    drop: bool = False


def _type_key(type_id: Mapping[str, Any]) -> tuple[str, str, str, str]:
    return (type_id["category"], type_id["owner"], type_id["provider"], type_id["version"])


def _type_name(key: tuple[str, str, str, str]) -> str:
    return "/".join(key)


def _error(code: str, message: str, status: int = 400) -> Reply:
    return Reply(status, {"__type": code, "message": message})


def _check_loopback(host: str) -> None:
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise EmulatorError(
            f"the emulator listens on loopback only (127.0.0.0/8, ::1, localhost), not {host!r}"
        )


def _jsonable(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return value


class CodePipelineEmulator:
    """The emulator: job store, AWS operations, control interface and HTTP server.

    Thread-safe: one lock guards all state, and every AWS call runs under it.
    Time is ``time.time()`` plus an offset that :meth:`advance` moves, so
    timeouts can be tested without waiting. Timeouts are applied lazily, at the
    start of every AWS call and control read.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        account_id: str = "123456789012",
        region: str = "us-east-1",
        job_timeout: float = 3600.0,
        dispatch_timeout: float | None = None,
    ) -> None:
        """*job_timeout*: seconds from a job's creation until it is ``TimedOut``
        unless it got a result. *dispatch_timeout*: seconds after which a polled
        job that nobody acknowledged goes back to ``Queued`` (its nonce then goes
        stale); ``None``: never. The real service documents neither precisely.
        """
        _check_loopback(host)
        if not re.fullmatch(r"[0-9]{12}", account_id):
            raise EmulatorError(f"account_id must be 12 digits, not {account_id!r}")
        self.host = host
        self.port = port
        self.account_id = account_id
        self.region = region
        self.job_timeout = job_timeout
        self.dispatch_timeout = dispatch_timeout
        self._lock = threading.RLock()
        self._validator = ShapeValidator()
        self._offset = 0.0
        self._action_types: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self._jobs: dict[str, _Job] = {}  # insertion order is FIFO order
        self._calls: list[Call] = []
        self._results: list[Result] = []
        self._faults: list[_Fault] = []
        self._handlers: dict[str, Callable[[dict[str, Any], float, bool], dict[str, Any]]] = {
            "PollForJobs": self._poll_for_jobs,
            "AcknowledgeJob": self._acknowledge_job,
            "GetJobDetails": self._get_job_details,
            "PutJobSuccessResult": self._put_job_success_result,
            "PutJobFailureResult": self._put_job_failure_result,
            "CreateCustomActionType": self._create_custom_action_type,
            "ListActionTypes": self._list_action_types,
        }
        self._server: Any = None
        self._thread: threading.Thread | None = None
        #: Access key ids whose calls are answered; None: any signed call.
        self.access_key_ids: frozenset[str] | None = None

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> CodePipelineEmulator:
        """Bind and serve in a daemon thread; returns self."""
        from .server import EmulatorHTTPServer

        if self._server is not None:
            return self
        self._server = EmulatorHTTPServer((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"codepipeline-emulator:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every open connection."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> CodePipelineEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def endpoint_url(self) -> str:
        """The URL to give boto3 as ``endpoint_url`` / ``AWS_ENDPOINT_URL_CODEPIPELINE``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def control_url(self) -> str:
        return self.endpoint_url + "/_control"

    def env(self) -> dict[str, str]:
        """Environment for a child process to reach this emulator with fake credentials."""
        return {
            "AWS_ENDPOINT_URL_CODEPIPELINE": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": self.region,
        }

    def client(self, **config: Any) -> Any:
        """A boto3 CodePipeline client bound to this emulator (fake credentials).

        Keyword arguments go to ``botocore.config.Config`` (e.g. ``retries``).
        """
        import boto3
        from botocore.config import Config

        return boto3.client(
            "codepipeline",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(**config) if config else None,
        )

    # -- control interface: setup -----------------------------------------------------

    def register_action_type(
        self,
        provider: str,
        *,
        category: str = "Test",
        version: str = "1",
        configuration_properties: Sequence[Mapping[str, Any]] = (),
        input_artifacts: Sequence[int] = (0, 5),
        output_artifacts: Sequence[int] = (0, 5),
        settings: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Create a custom action type, as ``CreateCustomActionType`` would; returns it.

        *configuration_properties* use the API's shape (``name``, ``required``,
        ``key``, ``secret``, ``queryable``, ``type``, ``description``);
        *input_artifacts* / *output_artifacts* are ``(minimum, maximum)``.
        """
        request: dict[str, Any] = {
            "category": category,
            "provider": provider,
            "version": version,
            "configurationProperties": [dict(p) for p in configuration_properties],
            "inputArtifactDetails": {
                "minimumCount": input_artifacts[0],
                "maximumCount": input_artifacts[1],
            },
            "outputArtifactDetails": {
                "minimumCount": output_artifacts[0],
                "maximumCount": output_artifacts[1],
            },
        }
        if settings:
            request["settings"] = dict(settings)
        with self._lock:
            try:
                answer = self._create_custom_action_type(request, self._now(), False)
            except ServiceError as exc:
                raise EmulatorError(exc.message) from exc
        action_type: dict[str, Any] = answer["actionType"]
        return action_type

    def enqueue_job(
        self,
        provider: str,
        *,
        category: str = "Test",
        version: str = "1",
        configuration: Mapping[str, str] | None = None,
        input_artifacts: Iterable[S3Artifact | Mapping[str, Any]] = (),
        output_artifacts: Iterable[S3Artifact | Mapping[str, Any]] = (),
        artifact_credentials: Mapping[str, str] | None = None,
        encryption_key: str | Mapping[str, str] | None = None,
        pipeline_name: str = "pipeline",
        stage_name: str = "Test",
        action_name: str | None = None,
        pipeline_execution_id: str | None = None,
        continuation_token: str | None = None,
    ) -> str:
        """Queue a job for a registered custom action type, as a pipeline run would; returns its id.

        The configuration is checked as the service checks a pipeline
        definition: known keys only, required properties present, a queryable
        value of at most 20 of ``[A-Za-z0-9_-]``. Artifacts are
        :class:`S3Artifact` or dicts of its fields. *artifact_credentials*
        (``accessKeyId``, ``secretAccessKey``, ``sessionToken``) default to fake
        ones, which a moto server accepts. *encryption_key* is a KMS key id or
        ``{"id": ..., "type": "KMS"}``.
        """
        key = (category, "Custom", provider, version)
        with self._lock:
            action_type = self._action_types.get(key)
            if action_type is None:
                raise EmulatorError(
                    f"no custom action type {_type_name(key)}: register it first "
                    "(register_action_type or CreateCustomActionType)"
                )
            config = dict(configuration or {})
            self._check_configuration(action_type, config)
            inputs = [_artifact(a) for a in input_artifacts]
            outputs = [_artifact(a) for a in output_artifacts]
            for label, items, details in (
                ("input", inputs, action_type["inputArtifactDetails"]),
                ("output", outputs, action_type["outputArtifactDetails"]),
            ):
                if not details["minimumCount"] <= len(items) <= details["maximumCount"]:
                    raise EmulatorError(
                        f"{_type_name(key)} takes {details['minimumCount']} to "
                        f"{details['maximumCount']} {label} artifacts, not {len(items)}"
                    )
            execution_id = pipeline_execution_id or str(uuid.uuid4())
            data: dict[str, Any] = {
                "actionTypeId": dict(action_type["id"]),
                "actionConfiguration": {"configuration": config},
                "pipelineContext": {
                    "pipelineName": pipeline_name,
                    "stage": {"name": stage_name},
                    "action": {
                        "name": action_name or provider,
                        "actionExecutionId": str(uuid.uuid4()),
                    },
                    "pipelineArn": (
                        f"arn:aws:codepipeline:{self.region}:{self.account_id}:{pipeline_name}"
                    ),
                    "pipelineExecutionId": execution_id,
                },
                "inputArtifacts": [a.to_wire() for a in inputs],
                "outputArtifacts": [a.to_wire() for a in outputs],
                "artifactCredentials": dict(artifact_credentials or _FAKE_CREDENTIALS),
            }
            if continuation_token is not None:
                data["continuationToken"] = continuation_token
            if encryption_key is not None:
                data["encryptionKey"] = (
                    {"id": encryption_key, "type": "KMS"}
                    if isinstance(encryption_key, str)
                    else dict(encryption_key)
                )
            try:
                self._validator.check_shape("JobData", data, "data")
            except ServiceError as exc:
                raise EmulatorError(exc.message) from exc
            return self._add_job(key, data, self._now()).id

    def _check_configuration(self, action_type: Mapping[str, Any], config: dict[str, str]) -> None:
        properties = {p["name"]: p for p in action_type.get("actionConfigurationProperties", [])}
        unknown = sorted(set(config) - set(properties))
        if unknown:
            raise EmulatorError(
                f"configuration keys {unknown} are not properties of the action type "
                f"(known: {sorted(properties)})"
            )
        for name, prop in properties.items():
            if prop["required"] and not config.get(name):
                raise EmulatorError(f"configuration property {name!r} is required")
            if prop.get("queryable") and not _QUERYABLE_VALUE.fullmatch(config.get(name, "")):
                raise EmulatorError(
                    f"the queryable property {name!r} takes at most 20 of [A-Za-z0-9_-], "
                    f"not {config.get(name)!r}"
                )
            if name in config and not isinstance(config[name], str):
                raise EmulatorError(f"configuration values are strings: {name!r}")

    # -- control interface: inspection and time ---------------------------------------

    def jobs(self) -> list[JobView]:
        """Every job, oldest first."""
        with self._lock:
            self._expire(self._now())
            return [job.view(self.account_id) for job in self._jobs.values()]

    def job(self, job_id: str) -> JobView:
        with self._lock:
            self._expire(self._now())
            return self._control_job(job_id).view(self.account_id)

    def calls(self, operation: str | None = None) -> list[Call]:
        """Every AWS call received (optionally of one operation), oldest first."""
        with self._lock:
            return [c for c in self._calls if operation is None or c.operation == operation]

    def results(self, job_id: str | None = None) -> list[Result]:
        """Every result recorded (optionally on one job), oldest first."""
        with self._lock:
            return [r for r in self._results if job_id is None or r.job_id == job_id]

    def advance(self, seconds: float) -> float:
        """Move the emulator's clock forward; returns the new time."""
        if seconds < 0:
            raise EmulatorError("the clock only moves forward")
        with self._lock:
            self._offset += seconds
            now = self._now()
            self._expire(now)
            return now

    def configure(
        self,
        *,
        job_timeout: float | None = None,
        dispatch_timeout: float | None = None,
        access_key_ids: Sequence[str] | None = None,
    ) -> None:
        """Change the job timeout and/or the dispatch timeout (see ``__init__``).

        A dispatch timeout of 0 or less switches re-dispatching off again.
        *access_key_ids*: from now on only calls signed with one of these access
        key ids are answered, the rest get ``UnrecognizedClientException`` (403),
        as the service answers an unknown key (an empty list: any key again).
        The signature itself is not verified.
        """
        with self._lock:
            if access_key_ids is not None:
                self.access_key_ids = frozenset(access_key_ids) or None
            if job_timeout is not None:
                self.job_timeout = job_timeout
            if dispatch_timeout is not None:
                self.dispatch_timeout = dispatch_timeout if dispatch_timeout > 0 else None

    def time_out(self, job_id: str) -> JobView:
        """Time a job out now, as the service does when the action timeout passes."""
        with self._lock:
            job = self._control_job(job_id)
            if job.status in TERMINAL_STATUSES:
                raise EmulatorError(f"job {job_id} is already {job.status}")
            job.status = "TimedOut"
            return job.view(self.account_id)

    def requeue(self, job_id: str) -> JobView:
        """Put a dispatched, unacknowledged job back in the queue; its nonce goes stale."""
        with self._lock:
            job = self._control_job(job_id)
            if job.status != "Dispatched":
                raise EmulatorError(f"job {job_id} is {job.status}, not Dispatched")
            job.status, job.nonce, job.dispatched_at = "Queued", None, None
            return job.view(self.account_id)

    def set_artifact_credentials(self, job_id: str, credentials: Mapping[str, str]) -> None:
        """Replace a job's artifact credentials (what GetJobDetails returns from now on)."""
        with self._lock:
            job = self._control_job(job_id)
            try:
                self._validator.check_shape(
                    "AWSSessionCredentials", dict(credentials), "artifactCredentials"
                )
            except ServiceError as exc:
                raise EmulatorError(exc.message) from exc
            job.data["artifactCredentials"] = dict(credentials)

    # -- control interface: faults ----------------------------------------------------

    def throttle(self, count: int = 1, operation: str | None = None) -> None:
        """Answer the next *count* calls (of *operation*) with ``ThrottlingException``."""
        self._add_fault(_Fault("throttle", count, operation))

    def fail_next(self, count: int = 1, operation: str | None = None, status: int = 500) -> None:
        """Answer the next *count* calls (of *operation*) with an HTTP 5xx, doing nothing."""
        if not 500 <= status <= 599:
            raise EmulatorError(f"status must be 5xx, not {status}")
        self._add_fault(_Fault("error", count, operation, status=status))

    def lose_responses(
        self, count: int = 1, operation: str | None = None, mode: str = "error"
    ) -> None:
        """Carry out the next *count* calls (of *operation*) but lose their answers.

        *mode* ``"error"``: the client gets HTTP 500 ``InternalFailure``;
        ``"drop"``: the connection is closed without an answer.
        """
        if mode not in ("error", "drop"):
            raise EmulatorError(f"mode must be 'error' or 'drop', not {mode!r}")
        self._add_fault(_Fault("lose", count, operation, drop=mode == "drop"))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def reset(self) -> None:
        """Forget every action type, job, call, result and fault; the clock stays."""
        with self._lock:
            self._action_types.clear()
            self._jobs.clear()
            self._calls.clear()
            self._results.clear()
            self._faults.clear()

    def _add_fault(self, fault: _Fault) -> None:
        if fault.remaining < 1:
            raise EmulatorError("count must be at least 1")
        if fault.operation is not None and fault.operation not in self._handlers:
            raise EmulatorError(
                f"unknown operation {fault.operation!r} (known: {sorted(self._handlers)})"
            )
        with self._lock:
            self._faults.append(fault)

    # -- control over HTTP ------------------------------------------------------------

    CONTROL_METHODS = (
        "register_action_type",
        "enqueue_job",
        "jobs",
        "job",
        "calls",
        "results",
        "advance",
        "configure",
        "time_out",
        "requeue",
        "set_artifact_credentials",
        "throttle",
        "fail_next",
        "lose_responses",
        "clear_faults",
        "reset",
    )

    def control(self, name: str, args: Mapping[str, Any]) -> object:
        """Run control method *name* with keyword *args*; returns a JSON-ready value.

        This is what ``GET|POST /_control/<name>`` does; ``/_control`` lists the names.
        """
        if name == "":
            return list(self.CONTROL_METHODS)
        if name not in self.CONTROL_METHODS:
            raise EmulatorError(
                f"unknown control method {name!r} (known: {', '.join(self.CONTROL_METHODS)})"
            )
        if name == "advance" and "seconds" in args:
            args = {**args, "seconds": float(args["seconds"])}
        method = getattr(self, name)
        try:
            return _jsonable(method(**args))
        except TypeError as exc:
            raise EmulatorError(f"{name}: {exc}") from exc

    # -- the AWS side -----------------------------------------------------------------

    def handle(
        self, target: str, body: bytes, *, signed: bool = True, access_key_id: str | None = None
    ) -> Reply:
        """Answer one AWS JSON 1.1 call: ``X-Amz-Target`` *target*, request *body*
        (signed with *access_key_id*, when the caller says)."""
        operation = target[len(TARGET_PREFIX) :] if target.startswith(TARGET_PREFIX) else target
        with self._lock:
            now = self._now()
            self._expire(now)
            params: dict[str, Any] = {}
            fault: _Fault | None = None
            try:
                params = _parse_body(body)
                if not signed:
                    raise ServiceError(
                        "MissingAuthenticationTokenException",
                        "Missing Authentication Token (requests must be signed with SigV4)",
                        403,
                    )
                known = self.access_key_ids
                if known is not None and access_key_id not in known:
                    raise ServiceError(
                        "UnrecognizedClientException",
                        "The security token included in the request is invalid.",
                        403,
                    )
                handler = (
                    self._handlers.get(operation) if target.startswith(TARGET_PREFIX) else None
                )
                if handler is None:
                    raise ServiceError(
                        "UnknownOperationException",
                        f"the emulator does not serve {target or 'a request without X-Amz-Target'}"
                        " (it speaks awsJson1_1 with CodePipeline_20150709.<Op>, "
                        f"ops: {', '.join(sorted(self._handlers))})",
                    )
                fault = self._take_fault(operation)
                if fault is not None and fault.kind == "throttle":
                    reply = _error("ThrottlingException", "Rate exceeded")
                elif fault is not None and fault.kind == "error":
                    reply = _error("InternalFailure", "injected server error", fault.status)
                else:
                    lost = fault is not None
                    reply = Reply(200, handler(params, now, lost))
            except ServiceError as exc:
                reply = _error(exc.code, exc.message, exc.status)
            if fault is not None and fault.kind == "lose":
                reply = (
                    Reply(0, {}, drop=True)
                    if fault.drop
                    else _error(
                        "InternalFailure", "injected server error (the call took effect)", 500
                    )
                )
            self._calls.append(
                Call(
                    operation=operation,
                    params=params,
                    time=now,
                    status=reply.status,
                    error=reply.payload.get("__type"),
                    fault=fault.kind if fault else None,
                )
            )
            return reply

    def _now(self) -> float:
        return time.time() + self._offset

    def _take_fault(self, operation: str) -> _Fault | None:
        for fault in self._faults:
            if fault.operation in (None, operation):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _expire(self, now: float) -> None:
        for job in self._jobs.values():
            if job.status in TERMINAL_STATUSES:
                continue
            if now - job.created_at >= self.job_timeout:
                job.status = "TimedOut"
            elif (
                job.status == "Dispatched"
                and self.dispatch_timeout is not None
                and job.dispatched_at is not None
                and now - job.dispatched_at >= self.dispatch_timeout
            ):
                job.status, job.nonce, job.dispatched_at = "Queued", None, None

    def _add_job(self, key: tuple[str, str, str, str], data: dict[str, Any], now: float) -> _Job:
        job = _Job(id=str(uuid.uuid4()), type_key=key, data=data, created_at=now)
        self._jobs[job.id] = job
        return job

    def _control_job(self, job_id: str) -> _Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise EmulatorError(f"no job {job_id!r}")
        return job

    def _find_job(self, job_id: str) -> _Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise ServiceError("JobNotFoundException", f"Job {job_id} not found")
        return job

    def _poll_for_jobs(self, params: dict[str, Any], now: float, lost: bool) -> dict[str, Any]:
        self._validator.check_input("PollForJobs", params)
        type_id = params["actionTypeId"]
        if type_id["owner"] != "Custom":
            raise ServiceError(
                "ValidationException",
                "PollForJobs is valid only for action types with Custom in the owner field",
            )
        key = _type_key(type_id)
        action_type = self._action_types.get(key)
        if action_type is None:
            raise ServiceError("ActionTypeNotFoundException", f"ActionType {key} does not exist")
        query: dict[str, str] = params.get("queryParam") or {}
        queryable = _queryable_property(action_type)
        if queryable is None and query:
            raise ServiceError(
                "ValidationException",
                f"Action type {_type_name(key)} has no queryable property: "
                "queryParam must be null or empty",
            )
        if queryable is not None and set(query) != {queryable}:
            raise ServiceError(
                "ValidationException",
                f"queryParam must hold exactly the queryable property {queryable!r} "
                f"of action type {_type_name(key)}, not {sorted(query)}",
            )
        batch: int = params.get("maxBatchSize", 1)
        jobs: list[dict[str, Any]] = []
        for job in self._jobs.values():
            if len(jobs) >= batch:
                break
            if job.status != "Queued" or job.type_key != key:
                continue
            config = job.data["actionConfiguration"]["configuration"]
            if queryable is not None and config.get(queryable) != query[queryable]:
                continue
            job.status, job.nonce, job.dispatched_at = "Dispatched", secrets.token_hex(8), now
            jobs.append(
                {
                    "id": job.id,
                    "data": copy.deepcopy(job.data),
                    "nonce": job.nonce,
                    "accountId": self.account_id,
                }
            )
        return {"jobs": jobs}

    def _acknowledge_job(self, params: dict[str, Any], now: float, lost: bool) -> dict[str, Any]:
        self._validator.check_input("AcknowledgeJob", params)
        job = self._find_job(params["jobId"])
        if job.nonce is None or params["nonce"] != job.nonce:
            raise ServiceError(
                "InvalidNonceException",
                f"The nonce {params['nonce']} is not the current nonce of job {job.id}",
            )
        if job.status == "Dispatched":
            job.status = "InProgress"
        # Acknowledging again with the same nonce is idempotent and reports the status.
        return {"status": job.status}

    def _get_job_details(self, params: dict[str, Any], now: float, lost: bool) -> dict[str, Any]:
        self._validator.check_input("GetJobDetails", params)
        job = self._find_job(params["jobId"])
        return {
            "jobDetails": {
                "id": job.id,
                "data": copy.deepcopy(job.data),
                "accountId": self.account_id,
            }
        }

    def _closable_job(self, job_id: str) -> _Job:
        job = self._find_job(job_id)
        if job.status != "InProgress":
            raise ServiceError(
                "InvalidJobStateException",
                f"Job {job.id} is {job.status}: a result is accepted only on an "
                "InProgress (acknowledged, unfinished) job",
            )
        return job

    def _record(self, job: _Job, kind: str, params: dict[str, Any], now: float, lost: bool) -> None:
        result = Result(job.id, kind, copy.deepcopy(params), now, lost)
        job.result = result
        job.status = "Succeeded" if kind == "success" else "Failed"
        self._results.append(result)

    def _put_job_success_result(
        self, params: dict[str, Any], now: float, lost: bool
    ) -> dict[str, Any]:
        self._validator.check_input("PutJobSuccessResult", params)
        token = params.get("continuationToken")
        variables = params.get("outputVariables")
        if token is not None and variables is not None:
            raise ServiceError(
                "ValidationException",
                "outputVariables can be included only when there is no continuationToken",
            )
        if variables:
            size = sum(len(k.encode()) + len(v.encode()) for k, v in variables.items())
            if size > OUTPUT_VARIABLES_MAX_BYTES:
                raise ServiceError(
                    "OutputVariablesSizeExceededException",
                    f"Output variables total {size} bytes, more than the limit of "
                    f"{OUTPUT_VARIABLES_MAX_BYTES} bytes",
                )
        job = self._closable_job(params["jobId"])
        self._record(job, "success", params, now, lost)
        if token is not None:
            data = copy.deepcopy(job.data)
            data["continuationToken"] = token
            follow_up = self._add_job(job.type_key, data, now)
            follow_up.continues, job.continued_by = job.id, follow_up.id
        return {}

    def _put_job_failure_result(
        self, params: dict[str, Any], now: float, lost: bool
    ) -> dict[str, Any]:
        self._validator.check_input("PutJobFailureResult", params)
        job = self._closable_job(params["jobId"])
        self._record(job, "failure", params, now, lost)
        return {}

    def _create_custom_action_type(
        self, params: dict[str, Any], now: float, lost: bool
    ) -> dict[str, Any]:
        self._validator.check_input("CreateCustomActionType", params)
        key = (params["category"], "Custom", params["provider"], params["version"])
        if key in self._action_types:
            # [unverified] the service's answer to a duplicate; it models no AlreadyExists.
            raise ServiceError(
                "ValidationException", f"Action type {_type_name(key)} already exists"
            )
        if len(self._action_types) >= MAX_CUSTOM_ACTION_TYPES:
            raise ServiceError(
                "LimitExceededException",
                f"at most {MAX_CUSTOM_ACTION_TYPES} custom action types per Region",
            )
        properties: list[dict[str, Any]] = params.get("configurationProperties") or []
        _check_properties(properties, params.get("settings") or {})
        for which in ("inputArtifactDetails", "outputArtifactDetails"):
            details = params[which]
            if details["minimumCount"] > details["maximumCount"]:
                raise ServiceError(
                    "ValidationException", f"{which}: minimumCount is more than maximumCount"
                )
        action_type: dict[str, Any] = {
            "id": {
                "category": key[0],
                "owner": "Custom",
                "provider": key[2],
                "version": key[3],
            },
            "actionConfigurationProperties": copy.deepcopy(properties),
            "inputArtifactDetails": dict(params["inputArtifactDetails"]),
            "outputArtifactDetails": dict(params["outputArtifactDetails"]),
        }
        if params.get("settings"):
            action_type["settings"] = dict(params["settings"])
        self._action_types[key] = action_type
        answer: dict[str, Any] = {"actionType": copy.deepcopy(action_type)}
        if params.get("tags"):
            answer["tags"] = copy.deepcopy(params["tags"])
        return answer

    def _list_action_types(self, params: dict[str, Any], now: float, lost: bool) -> dict[str, Any]:
        self._validator.check_input("ListActionTypes", params)
        if params.get("nextToken") is not None:
            raise ServiceError("InvalidNextTokenException", "The next token is not valid")
        owner = params.get("actionOwnerFilter")
        return {
            "actionTypes": [
                copy.deepcopy(t)
                for key, t in self._action_types.items()
                if owner is None or key[1] == owner
            ]
        }


def _parse_body(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        params = json.loads(body)
    except ValueError as exc:
        raise ServiceError("SerializationException", f"the body is not JSON: {exc}") from exc
    if not isinstance(params, dict):
        raise ServiceError("SerializationException", "the body must be a JSON object")
    return params


def _artifact(value: S3Artifact | Mapping[str, Any]) -> S3Artifact:
    if isinstance(value, S3Artifact):
        return value
    try:
        return S3Artifact(**value)
    except TypeError as exc:
        raise EmulatorError(f"an artifact is name, bucket, key[, revision]: {exc}") from exc


def _queryable_property(action_type: Mapping[str, Any]) -> str | None:
    for prop in action_type.get("actionConfigurationProperties", []):
        if prop.get("queryable"):
            name: str = prop["name"]
            return name
    return None


def _check_properties(properties: list[dict[str, Any]], settings: Mapping[str, str]) -> None:
    """The CreateCustomActionType rules that the model's shapes do not carry."""
    names = [p["name"] for p in properties]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ServiceError(
            "ValidationException", f"duplicate configuration properties {duplicates}"
        )
    queryable = [p for p in properties if p.get("queryable")]
    if len(queryable) > 1:
        raise ServiceError(
            "ValidationException", "an action type can have at most one queryable property"
        )
    if queryable and (not queryable[0]["required"] or queryable[0]["secret"]):
        raise ServiceError(
            "ValidationException", "a queryable property must be required and not secret"
        )
    usable = {p["name"] for p in properties if p["required"] and not p["secret"]}
    for field, template in settings.items():
        for name in _CONFIG_REFERENCE.findall(template):
            if name not in usable:
                raise ServiceError(
                    "ValidationException",
                    f"settings.{field} references {{Config:{name}}}, which is not a "
                    "required, non-secret configuration property",
                )


# -- the `releasegate emulator` command --------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``releasegate emulator``."""
    parser.add_argument(
        "--host", default="127.0.0.1", help="loopback address (default: %(default)s)"
    )
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default)")
    parser.add_argument("--account-id", default="123456789012", help="12-digit account id of jobs")
    parser.add_argument("--region", default="us-east-1", help="Region in pipeline ARNs")
    parser.add_argument(
        "--job-timeout",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="a job without a result this long after creation is TimedOut (default: 3600)",
    )
    parser.add_argument(
        "--dispatch-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="a polled job not acknowledged this long goes back to the queue (default: never)",
    )


def run(args: argparse.Namespace) -> int:
    """Serve in the foreground until SIGINT or SIGTERM; print the endpoint URL first.

    Exit status: 0 after a signal, 4 for a bad option value, 3 when the
    address cannot be bound.
    """
    try:
        emulator = CodePipelineEmulator(
            args.host,
            args.port,
            account_id=args.account_id,
            region=args.region,
            job_timeout=args.job_timeout,
            dispatch_timeout=args.dispatch_timeout,
        )
    except EmulatorError as exc:
        print(f"releasegate emulator: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    try:
        emulator.start()
    except OSError as exc:
        print(
            f"releasegate emulator: cannot listen on {args.host}:{args.port}: {exc}",
            file=sys.stderr,
        )
        return ExitCode.ERROR
    stopping = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(emulator.endpoint_url, flush=True)
        print(
            f"CodePipeline emulator on {emulator.endpoint_url} "
            f"(control: {emulator.control_url}); stop with Ctrl-C",
            file=sys.stderr,
            flush=True,
        )
        while not stopping.wait(0.5):
            pass
    finally:
        emulator.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return ExitCode.OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="releasegate emulator", description="Local CodePipeline job-API emulator."
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

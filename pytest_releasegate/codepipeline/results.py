"""CodePipeline job results: exactly one per job, composed within the service's limits.

Three layers, each usable alone (the pytest sink, ``releasegate publish``, the
Lambda handler and the job worker share them):

* composing: :func:`verdict_request` turns a verdict into the one
  ``PutJobSuccessResult`` / ``PutJobFailureResult`` request SPEC §5 asks for
  (summary ≤ 2,048, message ≤ 5,000 naming every failing rule or "and N
  more", output variables ≤ 122,880 bytes with keys ``[A-Za-z0-9@\\-_]+``);
* calling: :class:`CodePipelineJobs` wraps a boto3 client with botocore's
  retries off and its own loop — throttling, 5xx and connection errors retried
  with exponential backoff and full jitter, a bounded number of attempts;
* recording: :meth:`CodePipelineJobs.put_result` puts one result and knows
  when a retry that meets ``InvalidJobStateException`` means "done".

boto3 is imported only when a client is made.
"""

from __future__ import annotations

import enum
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..evaluate import contribution
from ..model import Level, Outcome, RuleResult, Verdict

# Service limits (botocore model, service quotas; see docs/codepipeline.md).
SUMMARY_MAX = 2048
MESSAGE_MAX = 5000
EXTERNAL_ID_MAX = 1500
CONTINUATION_TOKEN_MAX = 2048
OUTPUT_VARIABLES_MAX_BYTES = 122_880
_VARIABLE_KEY = re.compile(r"[A-Za-z0-9@\-_]+")
_NOT_KEY_CHAR = re.compile(r"[^A-Za-z0-9@\-_]")

_SERVER_CODES = frozenset({"InternalFailure", "InternalError", "ServiceUnavailable"})


class FailureType(str, enum.Enum):
    """``failureDetails.type`` values (the service's enum)."""

    JOB_FAILED = "JobFailed"
    CONFIGURATION_ERROR = "ConfigurationError"
    PERMISSION_ERROR = "PermissionError"
    REVISION_OUT_OF_SYNC = "RevisionOutOfSync"
    REVISION_UNAVAILABLE = "RevisionUnavailable"
    SYSTEM_UNAVAILABLE = "SystemUnavailable"

    def __str__(self) -> str:
        return self.value


class JobFailure(Exception):
    """A reason to close a job with a failure result of ``failure_type``.

    Raised by the parts of a job run (parameters, artifacts, the child run)
    and turned into one ``PutJobFailureResult`` by whoever owns the job.
    """

    def __init__(self, failure_type: FailureType, message: str) -> None:
        super().__init__(message)
        self.failure_type = failure_type
        self.message = message


class PublishError(Exception):
    """No result could be recorded on the job (or whether one was is unknown).

    ``maybe_recorded`` is true when an attempt may have reached the service
    (a 5xx or a dropped connection after sending): another result must then
    not be tried, since the job may already be closed.
    """

    def __init__(self, job_id: str, reason: str, *, maybe_recorded: bool = False) -> None:
        super().__init__(f"no result recorded on CodePipeline job {job_id}: {reason}")
        self.job_id = job_id
        self.reason = reason
        self.maybe_recorded = maybe_recorded


# -- text within the service's limits ------------------------------------------


def utf16_len(text: str) -> int:
    """Length as the service counts it: UTF-16 code units (an emoji counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def fit(text: str, limit: int, *, marker: str = "\u2026") -> str:
    """`text` cut to at most `limit` UTF-16 units, ending in `marker` when cut."""
    if utf16_len(text) <= limit:
        return text
    budget = limit - utf16_len(marker)
    out: list[str] = []
    used = 0
    for ch in text:
        size = 2 if ord(ch) > 0xFFFF else 1
        if used + size > budget:
            break
        out.append(ch)
        used += size
    return "".join(out) + marker


def join_within(head: str, items: Sequence[str], limit: int, *, sep: str = "\n") -> str:
    """`head`, then as many of `items` as fit, then "and N more"; never over `limit`."""
    text = fit(head, limit)
    n = len(items)
    for i, item in enumerate(items):
        rest = n - i - 1
        candidate = text + sep + item
        tail = f"{sep}and {rest} more" if rest else ""
        if utf16_len(candidate + tail) > limit:
            more = f"{sep}and {n - i} more"
            if utf16_len(text + more) > limit:  # only when `head` alone nearly fills it
                return fit(text, limit - utf16_len(more)) + more
            return text + more
        text = candidate
    return text


# -- composing a result from a verdict -----------------------------------------

_MARK = {
    Outcome.ERROR: "ERROR",
    Outcome.FAIL: "FAIL",
    Outcome.WARN: "WARN",
    Outcome.WAIVED: "waived",
    Outcome.SKIPPED: "skipped",
    Outcome.PASS: "pass",
}
_SEVERITY = {
    Outcome.ERROR: 0,
    Outcome.FAIL: 1,
    Outcome.WARN: 2,
    Outcome.WAIVED: 3,
    Outcome.SKIPPED: 4,
    Outcome.PASS: 5,
}
#: One rule's line in a summary or message, before the whole text is fitted.
RULE_LINE_MAX = 400


def worst_first(rules: Iterable[RuleResult]) -> list[RuleResult]:
    """Rules that did not pass, those that decide the verdict first, then by severity."""
    rules = [r for r in rules if r.outcome is not Outcome.PASS]
    # sorted() is stable: policy order within a rank.
    return sorted(rules, key=lambda r: (_SEVERITY[contribution(r)], _SEVERITY[r.outcome]))


def blocking_rules(verdict: Verdict) -> list[RuleResult]:
    """The rules that make this verdict a failure for CodePipeline, worst first."""
    return [r for r in worst_first(verdict.rules) if contribution(r) is not Outcome.PASS]


def rule_line(r: RuleResult) -> str:
    """``FAIL no failing tests: actual 3, max 0 — 3 tests failed`` (at most RULE_LINE_MAX)."""
    threshold = ", ".join(f"{k} {v}" for k, v in r.threshold.items())
    level = f" ({r.level.value})" if r.level is not Level.FAIL else ""
    line = f"{_MARK[r.outcome]} {r.name}{level}: actual {r.display_actual()}"
    if threshold:
        line += f", {threshold}"
    if r.message:
        line += f" \u2014 {' '.join(r.message.split())}"
    return fit(line, RULE_LINE_MAX)


def _name_line(r: RuleResult) -> str:
    return fit(f"{_MARK[r.outcome]} {r.name}", RULE_LINE_MAX)


def summary_text(verdict: Verdict) -> str:
    """``executionDetails.summary``: the verdict line and the worst rules, ≤ 2,048."""
    return join_within(
        verdict.headline(), [rule_line(r) for r in worst_first(verdict.rules)], SUMMARY_MAX
    )


def failure_message(verdict: Verdict) -> str:
    """``failureDetails.message``: names every failing rule, or as many as fit and "and N more".

    Detailed lines when they all fit; otherwise the rule names alone, so that
    as many rules as possible are named.
    """
    head = verdict.headline()
    if verdict.verdict is Outcome.WARN:
        head += " (warn-as = failure)"
    rules = blocking_rules(verdict) or worst_first(verdict.rules)
    detailed = join_within(head, [rule_line(r) for r in rules], MESSAGE_MAX)
    if not rules or not detailed.endswith(" more"):
        return detailed
    return join_within(head, [_name_line(r) for r in rules], MESSAGE_MAX)


def variable_key(name: str) -> str:
    """A metric name as an output-variable key: dots and other characters become ``_``."""
    return _NOT_KEY_CHAR.sub("_", name) or "_"


def _variable_value(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return str(value)
        return f"{value:.4f}".rstrip("0").rstrip(".") or "0"
    return str(value)


#: Reserved for the ``variables_dropped`` count when the variables are trimmed.
_DROPPED_RESERVE = 64


def output_variables(verdict: Verdict) -> dict[str, str]:
    """Output variables for a ``VariableCheck`` condition: the verdict, counts, every metric.

    Keys match ``[A-Za-z0-9@\\-_]+`` (a metric's dots become ``_``; on a
    clash the first wins). Trimmed deterministically to 122,880 bytes: the
    verdict keys first, then metrics in name order; whatever does not fit is
    left out and ``variables_dropped`` says how many.
    """
    outcomes = [r.outcome for r in verdict.rules]
    entries: list[tuple[str, object]] = [
        ("verdict", verdict.verdict.value),
        ("result", "success" if verdict.is_success else "failure"),
        ("profile", verdict.profile),
        ("rules_total", len(outcomes)),
        ("rules_passed", outcomes.count(Outcome.PASS)),
        ("rules_failed", outcomes.count(Outcome.FAIL) + outcomes.count(Outcome.ERROR)),
        ("rules_warned", outcomes.count(Outcome.WARN)),
        ("tool_version", verdict.tool_version),
    ]
    entries.extend((variable_key(name), verdict.metrics[name]) for name in sorted(verdict.metrics))
    out: dict[str, str] = {}
    used = 0
    dropped = 0
    budget = OUTPUT_VARIABLES_MAX_BYTES - _DROPPED_RESERVE
    for key, raw in entries:
        value = _variable_value(raw)
        if value is None or key in out or not _VARIABLE_KEY.fullmatch(key):
            continue
        size = len(key.encode()) + len(value.encode())
        if used + size > budget:
            dropped += 1
            continue
        out[key] = value
        used += size
    if dropped:
        out["variables_dropped"] = str(dropped)
    return out


def external_execution_id(environ: Mapping[str, str]) -> str | None:
    """``CODEBUILD_BUILD_ID`` where set (the console's execution link), ≤ 1,500."""
    value = environ.get("CODEBUILD_BUILD_ID")
    return fit(value, EXTERNAL_ID_MAX, marker="") if value else None


@dataclass(frozen=True)
class ResultRequest:
    """One result call: ``PutJobSuccessResult`` or ``PutJobFailureResult`` and its parameters."""

    operation: str
    params: dict[str, Any]

    @property
    def kind(self) -> str:
        return "success" if self.operation == "PutJobSuccessResult" else "failure"

    @property
    def failure_type(self) -> str | None:
        details = self.params.get("failureDetails")
        return str(details["type"]) if details else None

    def describe(self) -> str:
        """One line for a log or a dry run."""
        if self.kind == "success":
            if "continuationToken" in self.params:
                return f"{self.operation} with a continuation token"
            return f"{self.operation} ({len(self.params.get('outputVariables', {}))} variables)"
        return f"{self.operation} ({self.failure_type})"


def success_request(
    job_id: str,
    summary: str,
    *,
    external_id: str | None = None,
    output_variables: Mapping[str, str] | None = None,
    continuation_token: str | None = None,
    percent_complete: int = 100,
) -> ResultRequest:
    """A ``PutJobSuccessResult`` request; a continuation token excludes output variables."""
    if continuation_token is not None:
        if output_variables:
            raise ValueError("outputVariables cannot go with a continuationToken")
        if not 1 <= utf16_len(continuation_token) <= CONTINUATION_TOKEN_MAX:
            raise ValueError(
                f"a continuation token holds 1 to {CONTINUATION_TOKEN_MAX} characters, "
                f"not {utf16_len(continuation_token)}"
            )
    details: dict[str, Any] = {
        "summary": fit(summary or "releasegate", SUMMARY_MAX),
        "percentComplete": max(0, min(100, int(percent_complete))),
    }
    if external_id:
        details["externalExecutionId"] = fit(external_id, EXTERNAL_ID_MAX, marker="")
    params: dict[str, Any] = {"jobId": job_id, "executionDetails": details}
    if continuation_token is not None:
        params["continuationToken"] = continuation_token
    elif output_variables:
        params["outputVariables"] = dict(output_variables)
    return ResultRequest("PutJobSuccessResult", params)


def failure_request(
    job_id: str, failure_type: FailureType, message: str, *, external_id: str | None = None
) -> ResultRequest:
    """A ``PutJobFailureResult`` request; the message is fitted to 5,000."""
    details: dict[str, Any] = {
        "type": FailureType(failure_type).value,
        "message": fit(message.strip() or str(failure_type), MESSAGE_MAX),
    }
    if external_id:
        details["externalExecutionId"] = fit(external_id, EXTERNAL_ID_MAX, marker="")
    return ResultRequest("PutJobFailureResult", {"jobId": job_id, "failureDetails": details})


def verdict_request(
    job_id: str, verdict: Verdict, *, external_id: str | None = None
) -> ResultRequest:
    """The one result a verdict gets (SPEC §5).

    pass, and warn unless ``warn-as = "failure"`` → success with the summary,
    ``percentComplete`` 100 and output variables; otherwise a ``JobFailed``
    failure whose message names the failing rules.
    """
    stands = pytest_status_stands(verdict)
    if verdict.is_success and stands is None:
        return success_request(
            job_id,
            summary_text(verdict),
            external_id=external_id,
            output_variables=output_variables(verdict),
        )
    message = failure_message(verdict)
    if stands is not None:  # SPEC §14: a run pytest failed never passes, on the job either
        message = fit(stands, RULE_LINE_MAX) + "\n" + message
    return failure_request(
        job_id, FailureType.JOB_FAILED, fit(message, MESSAGE_MAX), external_id=external_id
    )


def pytest_status_stands(verdict: Verdict) -> str | None:
    """Why the pytest run's own non-zero exit status stood (another plugin, a conftest, an
    internal error), as the plugin recorded it in the verdict's context; else None."""
    status = verdict.context.get("pytest_exit_status")
    if not status:
        return None
    reason = verdict.context.get("pytest_exit_reason") or "a reason the policy does not judge"
    return f"pytest's exit status {status} stands: {reason}"


# -- calling the service -------------------------------------------------------


def make_client(
    *, endpoint_url: str | None = None, region: str | None = None, session: Any = None
) -> Any:
    """A CodePipeline client from the standard configuration chain, botocore retries off.

    Region, credentials, profiles and ``AWS_ENDPOINT_URL_CODEPIPELINE`` /
    ``AWS_ENDPOINT_URL`` come from the environment as for any boto3 client;
    :class:`CodePipelineJobs` does the retrying.
    """
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"total_max_attempts": 1},
        connect_timeout=10,
        read_timeout=30,
        user_agent_extra="pytest-releasegate",
    )
    factory = session if session is not None else boto3.session.Session()
    return factory.client(
        "codepipeline", endpoint_url=endpoint_url, region_name=region, config=config
    )


@dataclass
class Backoff:
    """Exponential backoff with full jitter: attempt n waits ``U(0, min(cap, base·2ⁿ))``.

    Bounded by ``attempts``, or — when ``max_time`` is given — by time instead:
    retries go on for up to ``max_time`` seconds from the first attempt (a lost
    answer then throttling for minutes must not cost a job its result).
    ``sleep``, ``random`` and ``clock`` are injectable so tests run without waiting.
    """

    attempts: int = 6
    base: float = 0.5
    cap: float = 20.0
    sleep: Callable[[float], None] = time.sleep
    random: Callable[[], float] = random.random
    max_time: float | None = None
    clock: Callable[[], float] = time.monotonic

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (0 for the first retry)."""
        return float(self.random()) * min(self.cap, self.base * 2.0**retry)

    def wait_before(self, attempt: int, started: float) -> bool:
        """Sleep before attempt number ``attempt`` (0: none); False when no attempt is left."""
        if attempt == 0:
            return True
        if self.max_time is None:
            if attempt >= self.attempts:
                return False
            self.sleep(self.delay(attempt - 1))
            return True
        left = self.max_time - (self.clock() - started)
        if left <= 0:
            return False
        self.sleep(min(self.delay(attempt - 1), left))
        return True

    def describe(self, attempts: int) -> str:
        if self.max_time is None:
            return f"gave up after {attempts} attempts"
        return f"gave up after {attempts} attempts in {self.max_time:g} s"


T = TypeVar("T")


def retry(
    backoff: Backoff,
    attempt: Callable[[int], T],
    again: Callable[[BaseException, int], bool],
) -> T:
    """The one retry loop of the CodePipeline calls: ``attempt(n)`` for n = 0, 1, …
    until it returns, ``again(exc, n)`` says no, or the backoff's bound is spent —
    ``backoff.attempts``, or ``backoff.max_time`` seconds when set — (then the last
    exception is raised), sleeping ``backoff.delay`` between.

    botocore's own retry modes are off for these calls (:func:`make_client`):
    they cannot tell a caller whether a failed ``PutJob*Result`` may still
    have been recorded, which :meth:`CodePipelineJobs.put_result` must know.
    """
    started = backoff.clock()
    n = 0
    while True:
        try:
            return attempt(n)
        except Exception as exc:
            if not again(exc, n) or not backoff.wait_before(n + 1, started):
                raise
        n += 1


def is_throttling(exc: BaseException) -> bool:
    """Whether the service said "slow down": botocore's own throttling detector, or a 429."""
    from botocore.retries.standard import RetryContext, ThrottledRetryableChecker

    code, status = error_code(exc)
    response = getattr(exc, "response", None)
    context = RetryContext(attempt_number=1, parsed_response=response)
    return status == 429 or (bool(code) and ThrottledRetryableChecker().is_retryable(context))


@dataclass(frozen=True)
class Published:
    """A result that is on the job."""

    job_id: str
    request: ResultRequest
    attempts: int
    #: "response" (the service said so), "retry" (an earlier attempt whose answer
    #: was lost closed it), or "acknowledge" (confirmed through AcknowledgeJob).
    confirmed_by: str


@dataclass
class _Transient:
    """What a failed attempt means for the next one."""

    retry: bool
    maybe_done: bool = False


def error_code(exc: BaseException) -> tuple[str, int]:
    """(error code, HTTP status) of a botocore ClientError; ("", 0) for anything else."""
    response = getattr(exc, "response", None)
    if not isinstance(response, Mapping):
        return "", 0
    code = str(response.get("Error", {}).get("Code", ""))
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return code, status


def classify(exc: BaseException) -> _Transient:
    """Whether a failed call is worth retrying, and whether it may have taken effect."""
    from botocore.exceptions import ClientError, HTTPClientError
    from botocore.exceptions import ConnectionError as BotoConnectionError

    if isinstance(exc, ClientError):
        code, status = error_code(exc)
        if is_throttling(exc):
            return _Transient(retry=True)  # refused before doing anything
        if status >= 500 or code in _SERVER_CODES:
            return _Transient(retry=True, maybe_done=True)
        return _Transient(retry=False)
    if isinstance(exc, BotoConnectionError):
        return _Transient(retry=True)  # could not connect: nothing was sent
    if isinstance(exc, HTTPClientError):
        return _Transient(retry=True, maybe_done=True)  # sent; the answer was lost
    return _Transient(retry=False)


def describe_error(exc: BaseException) -> str:
    code, _status = error_code(exc)
    if code:
        message = str(getattr(exc, "response", {}).get("Error", {}).get("Message", ""))
        return f"{code}: {message}" if message else code
    return f"{type(exc).__name__}: {exc}"


_SNAKE = re.compile(r"(?<!^)(?=[A-Z])")


@dataclass
class CodePipelineJobs:
    """The job-API calls with our retry loop; share one per process or per job.

    The worker uses :meth:`call` for PollForJobs / AcknowledgeJob /
    GetJobDetails and :meth:`put_result` for the one result of each job.
    """

    client: Any = None
    backoff: Backoff = field(default_factory=Backoff)

    def __post_init__(self) -> None:
        if self.client is None:
            self.client = make_client()

    def _method(self, operation: str) -> Callable[..., dict[str, Any]]:
        method: Callable[..., dict[str, Any]] = getattr(
            self.client, _SNAKE.sub("_", operation).lower()
        )
        return method

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        """Call ``operation``; throttling, 5xx and connection errors retried, others raised.

        Only for calls that are safe to repeat (polls, reads); results go
        through :meth:`put_result`.
        """
        method = self._method(operation)
        return retry(self.backoff, lambda _n: method(**params), lambda e, _n: classify(e).retry)

    def put_result(self, request: ResultRequest, *, nonce: str | None = None) -> Published:
        """Record ``request`` on its job exactly once, or raise :class:`PublishError`.

        A retry that meets ``InvalidJobStateException`` after an attempt that
        may have taken effect (a 5xx, a connection dropped after sending) means
        that attempt closed the job: done. With the job's ``nonce`` (the
        worker has it) this is confirmed through ``AcknowledgeJob``, which
        reports the job's status; the job API has no other status read. The
        same exception on a first attempt, or after attempts that certainly
        did nothing, means someone else closed the job or it timed out.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        job_id = str(request.params["jobId"])
        method = self._method(request.operation)
        # Whether an attempt that failed may still have taken effect (a 5xx, an
        # answer lost after sending), and how many attempts were made.
        maybe_done = False
        made = 0

        def attempt(n: int) -> Published:
            nonlocal made
            made = n + 1
            method(**request.params)
            return Published(job_id, request, made, "response")

        def again(exc: BaseException, _n: int) -> bool:
            nonlocal maybe_done
            if not isinstance(exc, (ClientError, BotoCoreError)):
                return False
            if error_code(exc)[0] == "InvalidJobStateException":
                return False
            verdict = classify(exc)
            maybe_done = maybe_done or verdict.maybe_done
            return verdict.retry

        try:
            return retry(self.backoff, attempt, again)
        except (ClientError, BotoCoreError) as exc:
            if error_code(exc)[0] == "InvalidJobStateException":
                if maybe_done:
                    return self._closed_by_us(request, made, nonce)
                raise PublishError(
                    job_id,
                    "the job is not InProgress (already closed, timed out, or never "
                    f"acknowledged) — {describe_error(exc)}",
                ) from None
            verdict = classify(exc)
            maybe_done = maybe_done or verdict.maybe_done
            gave_up = verdict.retry  # retryable, but the attempts ran out
            reason = f"{self.backoff.describe(made)}, the last: " if gave_up else ""
            raise PublishError(
                job_id, reason + describe_error(exc), maybe_recorded=maybe_done
            ) from None

    def _closed_by_us(self, request: ResultRequest, attempts: int, nonce: str | None) -> Published:
        job_id = str(request.params["jobId"])
        if nonce is None:
            return Published(job_id, request, attempts, "retry")
        expected = "Succeeded" if request.kind == "success" else "Failed"
        try:
            status = self.call("AcknowledgeJob", jobId=job_id, nonce=nonce).get("status")
        except Exception:  # noqa: BLE001 - the check is a bonus; the retry rule stands
            return Published(job_id, request, attempts, "retry")
        if status != expected:
            raise PublishError(
                job_id,
                f"the job ended {status}, not {expected}: it was closed by someone else "
                "or timed out",
            )
        return Published(job_id, request, attempts, "acknowledge")

    # -- convenience ------------------------------------------------------------

    def put_verdict(
        self,
        job_id: str,
        verdict: Verdict,
        *,
        external_id: str | None = None,
        nonce: str | None = None,
    ) -> Published:
        return self.put_result(
            verdict_request(job_id, verdict, external_id=external_id), nonce=nonce
        )

    def put_failure(
        self,
        job_id: str,
        failure_type: FailureType,
        message: str,
        *,
        external_id: str | None = None,
        nonce: str | None = None,
    ) -> Published:
        return self.put_result(
            failure_request(job_id, failure_type, message, external_id=external_id), nonce=nonce
        )

    def put_continuation(
        self,
        job_id: str,
        token: str,
        summary: str,
        *,
        percent_complete: int = 0,
        external_id: str | None = None,
        nonce: str | None = None,
    ) -> Published:
        """Success with a continuation token: the action goes on in a new job (no variables)."""
        request = success_request(
            job_id,
            summary,
            external_id=external_id,
            continuation_token=token,
            percent_complete=percent_complete,
        )
        return self.put_result(request, nonce=nonce)


def put_verdict(
    job_id: str,
    verdict: Verdict,
    *,
    jobs: CodePipelineJobs | None = None,
    environ: Mapping[str, str] | None = None,
    external_id: str | None = None,
) -> Published:
    """Put ``verdict`` on the InProgress job ``job_id``: exactly one result, or PublishError.

    ``externalExecutionId`` is ``external_id``, else ``CODEBUILD_BUILD_ID``
    from ``environ``.
    """
    import os

    if external_id is None:
        external_id = external_execution_id(os.environ if environ is None else environ)
    return jobs_for(job_id, jobs).put_verdict(job_id, verdict, external_id=external_id)


def put_failure(
    job_id: str,
    failure_type: FailureType,
    message: str,
    *,
    jobs: CodePipelineJobs | None = None,
    external_id: str | None = None,
) -> Published:
    """Put one failure result of ``failure_type`` on ``job_id``, or raise PublishError."""
    return jobs_for(job_id, jobs).put_failure(
        job_id, failure_type, message, external_id=external_id
    )


def jobs_for(job_id: str, jobs: CodePipelineJobs | None = None) -> CodePipelineJobs:
    """``jobs``, or a new client from the environment; a client that cannot be made
    (no region, no botocore) is a PublishError for ``job_id``."""
    if jobs is not None:
        return jobs
    try:
        return CodePipelineJobs()
    except Exception as exc:  # noqa: BLE001 - any reason is "could not publish"
        raise PublishError(
            job_id, f"cannot make a CodePipeline client: {describe_error(exc)}"
        ) from None

"""The Lambda handler behind a CodePipeline *Invoke* action.

Configure the function's handler as ``pytest_releasegate.aws_lambda.handler``
and the action's ``UserParameters`` as an optional JSON object::

    {"policy": "releasegate.toml", "profile": "deploy",
     "pytest_args": ["tests/smoke", "-q"], "base_url": "https://staging.example.com"}

Each invocation fetches and unpacks the first input artifact with the job's
artifact credentials, runs pytest with the gate in a child process (time
limit well inside the invocation's remaining time, no AWS credentials in its
environment), uploads ``verdict.json`` and ``releasegate-junit.xml`` to the
output artifact (SSE-KMS) and puts exactly one result on the job. A bake
that outlasts the invocation is handed on in a continuation token and
resumed by the next one. Any failure on the way is a failure result: the job
never waits for its timeout. The event carries credentials and is never
logged. See ``docs/codepipeline.md``.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

log = logging.getLogger("pytest_releasegate.codepipeline")

#: Used when the context does not say how long is left (a direct call in a test).
DEFAULT_TIME_LEFT = 300.0


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point for the ``CodePipeline.job`` event."""
    return handle(event, context)


def handle(
    event: Mapping[str, Any],
    context: Any,
    *,
    jobs: Any = None,
    pytest_command: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    tempdir: str | None = None,
) -> dict[str, Any]:
    """:func:`handler` with its collaborators open to replacement (tests, custom images).

    Returns a small summary (job id, what was put) for the invocation's log;
    CodePipeline itself only reads the result calls.
    """
    _quiet_logging()
    job = event.get("CodePipeline.job") if isinstance(event, Mapping) else None
    job_id = job.get("id") if isinstance(job, Mapping) else None
    if not isinstance(job_id, str) or not job_id:
        # Nothing to close: say so without echoing the event (it may hold credentials).
        log.error("not a CodePipeline.job event: no job id; nothing published")
        return {"job_id": None, "result": None, "problem": "not a CodePipeline.job event"}
    data = job.get("data") if isinstance(job, Mapping) else None
    data = data if isinstance(data, Mapping) else {}
    external_id = getattr(context, "aws_request_id", None) or None
    from .job import JobSetup, internal_failure, process_job, publish_outcome
    from .results import PublishError, jobs_for

    try:
        client = jobs_for(job_id, jobs)
    except PublishError as exc:
        log.error("job %s: %s", job_id, exc)
        return {"job_id": job_id, "result": None, "problem": str(exc)}
    try:
        setup = JobSetup(
            jobs=client,
            time_left=lambda: _time_left(context),
            environ=dict(os.environ if environ is None else environ),
            tempdir=tempdir,
        )
        if pytest_command is not None:
            setup.pytest_command = list(pytest_command)
        outcome = process_job(job_id, data, setup, external_id=external_id)
    except Exception as exc:  # noqa: BLE001 - every fault becomes a result
        outcome = publish_outcome(job_id, internal_failure(job_id, exc, external_id), client)
    summary: dict[str, Any] = {
        "job_id": job_id,
        "result": outcome.kind if outcome.published else None,
        "failure_type": outcome.request.failure_type,
        "verdict": outcome.verdict.verdict.value if outcome.verdict else None,
    }
    if outcome.problem:
        summary["problem"] = outcome.problem
    return summary


def _time_left(context: Any) -> float:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return DEFAULT_TIME_LEFT
    return float(remaining()) / 1000.0


def _quiet_logging() -> None:
    """Our INFO lines reach CloudWatch; botocore's debug output (which could show
    request bodies) stays off whatever the root logger says."""
    logging.getLogger("botocore").setLevel(logging.WARNING)
    logging.getLogger("boto3").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    if not logging.getLogger().handlers and not log.handlers:
        handler_ = logging.StreamHandler(sys.stdout)
        handler_.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        log.addHandler(handler_)
    if log.level == logging.NOTSET:
        log.setLevel(logging.INFO)

"""The Lambda handler behind a CodePipeline *Invoke* action.

Configure the function's handler as ``pytest_releasegate.aws_lambda.handler``
and the action's ``UserParameters`` as an optional JSON object::

    {"policy": "releasegate.toml", "profile": "deploy",
     "pytest_args": ["tests/smoke", "-q"], "base_url": "https://staging.example.com"}

Each invocation fetches and unpacks the first input artifact with the job's
artifact credentials, runs pytest with the gate in a child process (time
limit well inside the invocation's remaining time, no AWS credentials in its
environment), uploads ``verdict.json``, ``releasegate-junit.xml`` and
``report.html`` to the output artifact (SSE-KMS) and puts exactly one result on the job. A bake
that outlasts the invocation is handed on in a continuation token and
resumed by the next one. Any failure on the way is a failure result: the job
never waits for its timeout. The event carries credentials and is never
logged. The work is the job runner's (:mod:`.runner`), the same as the job
worker's; the handler configures it with the invocation's remaining time and
the event's credentials. Log lines are the runner's JSON events, on stdout
(CloudWatch Logs). See ``docs/codepipeline.md``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

#: Used when the context does not say how long is left (a direct call in a test).
DEFAULT_TIME_LEFT = 300.0


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point for the ``CodePipeline.job`` event.

    The function's process makes itself non-dumpable first (its environment holds
    the function role's credentials, and the gate child runs as the same user:
    ``/proc/<pid>/environ`` and ``mem`` are then closed to it) and adopts the
    child's orphans, so that a daemon of the tests is killed after the job.
    What stays reachable from inside a Lambda sandbox is in docs/codepipeline.md.
    """
    from .isolation import become_subreaper, make_non_dumpable

    make_non_dumpable()
    become_subreaper()
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
    from .log import EventLog

    _quiet_logging()
    log = EventLog("json", stream=sys.stdout)
    job = event.get("CodePipeline.job") if isinstance(event, Mapping) else None
    job_id = job.get("id") if isinstance(job, Mapping) else None
    if not isinstance(job_id, str) or not job_id:
        # Nothing to close: say so without echoing the event (it may hold credentials).
        log.error("lambda.not_a_job", reason="not a CodePipeline.job event: no job id")
        return {"job_id": None, "result": None, "problem": "not a CodePipeline.job event"}
    data = job.get("data") if isinstance(job, Mapping) else None
    data = data if isinstance(data, Mapping) else {}
    external_id = getattr(context, "aws_request_id", None) or None
    from .parameters import lambda_parameters
    from .results import PublishError, jobs_for
    from .runner import InvocationBudget, JobRunner, JobSettings

    try:
        client = jobs_for(job_id, jobs)
    except PublishError as exc:
        log.error("job.publish_failed", job_id=job_id, reason=str(exc))
        return {"job_id": job_id, "result": None, "problem": str(exc)}
    settings = JobSettings(
        budget=InvocationBudget(lambda: _time_left(context)),
        parameters=lambda_parameters,
        credentials_max_age=None,  # the event's credentials outlast an invocation
        work_root=Path(tempdir) if tempdir else None,
    )
    if pytest_command is not None:
        settings = dataclasses.replace(settings, pytest_command=tuple(pytest_command))
    runner = JobRunner(
        client, settings, log, environ=dict(os.environ if environ is None else environ)
    )
    outcome = runner.run({"id": job_id, "data": data}, external_id=external_id)
    summary: dict[str, Any] = {
        "job_id": job_id,
        "result": outcome.result if outcome.recorded else None,
        "failure_type": outcome.failure_type,
        "verdict": outcome.verdict,
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
    """botocore's debug output (which could show request bodies) stays off whatever
    the root logger says."""
    for name in ("botocore", "boto3", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)

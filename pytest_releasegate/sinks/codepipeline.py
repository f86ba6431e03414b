"""The CodePipeline sink: the verdict as the one result of an InProgress job.

With ``--gate-codepipeline-job-id`` (or ``RELEASEGATE_CODEPIPELINE_JOB_ID``)
and without ``--gate-dry-run`` the verdict goes on that job (SPEC §5). A
result that cannot be recorded raises, which the engine reports as "could
not publish" and exit 3.

The same module carries the bake hand-over between a gate run in a child
process and its parent (the Lambda handler, the job worker), through three
environment variables the parent sets:

``RELEASEGATE_BAKE_STATE_IN``  a JSON file: bake state to resume (from a continuation token)
``RELEASEGATE_BAKE_UNTIL``     a ``time.time()`` deadline: no bake round starts after it
``RELEASEGATE_BAKE_STATE_OUT`` where to write the bake state when rounds are left at the end

Importing this module stays cheap: boto3 loads only when a result is put.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import hookimpl

if TYPE_CHECKING:
    from ..engine import Gate
    from ..model import Verdict
    from ..options import GateOptions

STATE_IN_ENV = "RELEASEGATE_BAKE_STATE_IN"
STATE_OUT_ENV = "RELEASEGATE_BAKE_STATE_OUT"
UNTIL_ENV = "RELEASEGATE_BAKE_UNTIL"
# The keys the smoke source reads and writes (pytest_releasegate.sources.smoke).
_BAKE_STATE_KEY = "smoke:bake_state"
_BAKE_UNTIL_KEY = "smoke:until"


@hookimpl
def releasegate_publish(gate: Gate, verdict: Verdict) -> None:
    _hand_over_bake(gate)
    job_id = gate.options.codepipeline_job_id
    if not job_id or gate.options.dry_run:
        return
    from ..codepipeline.results import put_verdict

    put_verdict(job_id, verdict, environ=gate.environ)


def report_bad_configuration(options: GateOptions, message: str, rootdir: Path) -> None:
    """The run stops on bad input (exit 4): no earlier verdict file is left to be read
    as this run's, and with a job id (and no dry run) the job is closed
    (ConfigurationError)."""
    from .files import remove_outputs_after_bad_input

    remove_outputs_after_bad_input(options, rootdir)
    if options.codepipeline_job_id and not options.dry_run:
        from .._aws import boto3_missing

        if boto3_missing("CodePipeline"):
            return  # the usage error already says so
        report_configuration_error(options.codepipeline_job_id, message)


def report_configuration_error(job_id: str, message: str) -> bool:
    """Close ``job_id`` with one ``ConfigurationError`` result (a bad policy or parameters).

    Called where the run stops with exit 4, so the pipeline does not wait for
    a timeout. Never raises: a result that cannot be recorded is one line on
    stderr, and False.
    """
    from ..codepipeline.results import FailureType, PublishError, put_failure

    try:
        put_failure(job_id, FailureType.CONFIGURATION_ERROR, message)
    except PublishError as exc:
        print(f"releasegate: could not publish: {exc}", file=sys.stderr)
        return False
    return True


# -- bake hand-over ------------------------------------------------------------


@hookimpl(tryfirst=True)
def releasegate_collect(gate: Gate) -> None:
    """Give the smoke source the state to resume and the deadline, before it runs."""
    state_in = gate.environ.get(STATE_IN_ENV)
    if state_in:
        try:
            gate.data[_BAKE_STATE_KEY] = json.loads(Path(state_in).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            gate.run_errors.append(f"cannot read the bake state to resume ({state_in}): {exc}")
    until = gate.environ.get(UNTIL_ENV)
    if until:
        try:
            gate.data[_BAKE_UNTIL_KEY] = float(until)
        except ValueError:
            gate.warnings.append(f"{UNTIL_ENV}={until!r} is not a number; ignored")


def pending_bake(gate: Gate) -> dict[str, Any] | None:
    """The bake's state as JSON when it stopped at the deadline with rounds left, else None.

    Read from ``gate.data`` where the smoke source keeps it (a ``BakeState``:
    ``finished`` and ``to_json``), without importing the source.
    """
    state = gate.data.get(_BAKE_STATE_KEY)
    if state is None or getattr(state, "finished", True) or not hasattr(state, "to_json"):
        return None
    data: dict[str, Any] = state.to_json(samples=False)
    return data


def _hand_over_bake(gate: Gate) -> None:
    target = gate.environ.get(STATE_OUT_ENV)
    if not target:
        return
    state = pending_bake(gate)
    if state is not None:
        Path(target).write_text(json.dumps(state, separators=(",", ":")), encoding="utf-8")

"""File sinks: the JSON verdict, the JUnit verdict, Markdown, and the saved baseline."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from .. import hookimpl
from ..bounds import MAX_NAME, xml_text
from ..model import Level, Outcome, Verdict, format_value
from .render import markdown

if TYPE_CHECKING:
    from ..engine import Gate
    from ..options import GateOptions


def remove_stale_outputs(options: GateOptions, keep: Iterable[Path] = ()) -> None:
    """An earlier run's verdict files never pass for this run's: removed when a run
    starts, and when it stops on bad input (exit 4) before writing its own.

    ``keep``: files this run reads (its baseline), left in place.
    """
    kept = {str(path.absolute()) for path in keep}
    for location in (options.json, options.junit, options.markdown, options.html):
        if not location:
            continue
        path = Path(location).absolute()
        if str(path) not in kept and path.is_file():
            path.unlink()


def remove_outputs_after_bad_input(options: GateOptions, rootdir: Path) -> None:
    """:func:`remove_stale_outputs` for a run whose policy could not be loaded.

    The ``--baseline`` given is kept, and so is the policy file's own
    ``baseline`` when the file is TOML. When it is not even TOML, the baseline
    is unknown: an output whose file name appears in its text is kept, so a
    baseline is never lost to a typo in the policy.
    """
    from ..policy import policy_baseline_hint

    keep = [Path(options.baseline)] if options.baseline else []
    baseline, text = policy_baseline_hint(rootdir, options.policy)
    if baseline:
        keep.append(rootdir / baseline)
    for location in (options.json, options.junit, options.markdown, options.html):
        if location and text is not None and Path(location).name in text:
            keep.append(Path(location))
    remove_stale_outputs(options, keep)


def _target(location: str) -> Path:
    path = Path(location)
    if not path.is_absolute():
        path = Path.cwd() / path
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _write_whole(path: Path, content: str | bytes) -> None:
    """Write whole or not at all: a run stopped mid-write leaves no half verdict behind."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    os.replace(partial, path)


def write_json(verdict: Verdict, path: Path) -> None:
    # allow_nan=False: a bare NaN/Infinity would be invalid JSON; to_json() nulls them.
    _write_whole(path, json.dumps(verdict.to_json(), indent=2, allow_nan=False) + "\n")


def write_junit(verdict: Verdict, path: Path) -> None:
    _write_whole(path, junit_bytes(verdict))


def junit_bytes(verdict: Verdict) -> bytes:
    """One testsuite `releasegate`, one testcase per rule; `<failure>` for fail and error."""
    from xml.dom.minidom import parseString

    from junitparser import Failure, Skipped, TestCase, TestSuite

    # Names and messages may hold anything a test was called: XML 1.0 cannot
    # carry control characters or lone surrogates, so they are escaped.
    suite = TestSuite("releasegate")
    suite.timestamp = verdict.started_at
    classname = xml_text(f"releasegate.{verdict.profile}", MAX_NAME)
    for r in verdict.rules:
        message = xml_text(r.message)
        case = TestCase(xml_text(r.name, MAX_NAME), classname=classname, time=0)
        if r.level is Level.INFO and r.outcome in (Outcome.FAIL, Outcome.WARN, Outcome.ERROR):
            pass  # an info rule never looks like a failure: a passing case, message in system-out
        elif r.outcome in (Outcome.FAIL, Outcome.ERROR):
            case.result = [Failure(message, type_=r.outcome.value)]
        elif r.outcome in (Outcome.WAIVED, Outcome.SKIPPED):
            case.result = [Skipped(message)]
        detail = (
            f"outcome: {r.outcome.value}; level: {r.level.value}; metric: {r.metric}; "
            f"actual: {r.display_actual()}"
        )
        case.system_out = xml_text(f"{detail}\n{message}")
        suite.add_testcase(case)
    suite.add_property("releasegate.verdict", verdict.verdict.value)
    suite.add_property("releasegate.profile", xml_text(verdict.profile, MAX_NAME))
    for name, value in verdict.metrics.items():
        suite.add_property(xml_text(name, MAX_NAME), format_value(value))
    suite.update_statistics()  # type: ignore[no-untyped-call]
    # The suite is the root: `<testsuites>` may not carry `skipped` in junit-10.xsd.
    return parseString(suite.tostring()).toprettyxml(encoding="utf-8")  # type: ignore[no-untyped-call]


@hookimpl
def releasegate_publish(gate: Gate, verdict: Verdict) -> None:
    opts = gate.options
    if opts.json:
        write_json(verdict, _target(opts.json))
    if opts.junit:
        write_junit(verdict, _target(opts.junit))
    runs = None
    if (opts.markdown or opts.html) and (opts.history or gate.policy.history):
        from ..history import records_for, series_for

        runs = series_for(verdict.to_json(), records_for(gate))
    if opts.markdown:
        _write_whole(_target(opts.markdown), markdown(verdict, runs))
    if opts.html:
        from .html import render

        _write_whole(_target(opts.html), render(verdict.to_json(), runs))
    if opts.save_baseline:
        from ..baseline import BaselineError, write_baseline

        if gate.run_errors:
            # Later relative rules would judge against a partial run (fewer tests,
            # less coverage) and let real drops through: the old baseline stays.
            raise BaselineError(
                f"baseline {opts.save_baseline} not saved: the run did not complete "
                f"({'; '.join(gate.run_errors)})"
            )
        write_baseline(opts.save_baseline, verdict, rootdir=Path.cwd())

"""The `tests.*` metrics over the run's test records (pytest and JUnit inputs)."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .. import catalogue, hookimpl
from ..bounds import clip_name
from ..model import Measurement, MetricInfo, Rule, Selection, TestRecord
from ..select import record_matches

if TYPE_CHECKING:
    from ..engine import Gate

COUNTS = ("total", "passed", "failed", "errors", "skipped", "xfailed", "xpassed")
_OUTCOME_KEY = {
    "passed": "passed",
    "failed": "failed",
    "error": "errors",
    "skipped": "skipped",
    "xfailed": "xfailed",
    "xpassed": "xpassed",
}
METRICS = catalogue.TESTS


@hookimpl
def releasegate_add_metrics() -> list[MetricInfo]:
    return list(METRICS)


def _is_quarantined(gate: Gate, record: TestRecord) -> bool:
    live = gate.data.get("tests:quarantine")
    if live is None:
        from datetime import datetime, timezone

        today = datetime.now(timezone.utc).date()
        live = [q.nodeid for q in gate.policy.quarantine if q.expires >= today]
        gate.data["tests:quarantine"] = live
    return any(fnmatch.fnmatchcase(record.nodeid, pattern) for pattern in live)


class Summary:
    """All tests.* values of one selection, plus the first failing test ids for messages."""

    __slots__ = ("examples", "matched", "values")

    def __init__(
        self, values: dict[str, float], examples: dict[str, list[str]], matched: int = 0
    ) -> None:
        self.values = values
        self.examples = examples  # "failed"/"error" -> the first 3 node ids
        self.matched = matched  # records in the selection, quarantined ones included


def summarize(gate: Gate, sel: Selection) -> Summary:
    """One pass over the records for a selection; cached per selection."""
    cache: dict[Selection, Summary] = gate.data.setdefault("tests:summaries", {})
    cached = cache.get(sel)
    if cached is not None:
        return cached
    counts = dict.fromkeys(COUNTS, 0)
    flaky = quarantined_failed = 0
    total_s = max_s = 0.0
    examples: dict[str, list[str]] = {"failed": [], "error": []}
    select = None if sel.is_empty else sel
    quarantined = _is_quarantined if gate.policy.quarantine else None
    outcome_key = _OUTCOME_KEY
    subtests = [0, 0, 0]
    matched = 0
    records: Iterable[TestRecord] = gate.results
    if select is not None and select.nodeid is not None and not _has_magic(select.nodeid):
        # A literal node id is a dict lookup per source, not a scan of every
        # test: 10k such rules over 10k tests stay linear.
        nodeid = select.nodeid
        records = [b[nodeid] for b in gate.results.by_source.values() if nodeid in b]
    for record in records:
        if select is not None and not record_matches(record, select):
            continue
        matched += 1
        outcome = record.outcome
        if outcome == "running":
            continue  # never finished (an interrupted run): neither passed nor failed
        if quarantined is not None and quarantined(gate, record):
            if outcome in ("failed", "error"):
                quarantined_failed += 1
            continue
        counts[outcome_key.get(outcome, "errors")] += 1
        if outcome in examples and len(examples[outcome]) < 3:
            examples[outcome].append(clip_name(record.nodeid))
        if record.flaky:
            flaky += 1
        sub = record.subtests
        if sub is not None:
            subtests[0] += sub[0]
            subtests[1] += sub[1]
            subtests[2] += sub[2]
        duration = record.duration
        total_s += duration
        if duration > max_s:
            max_s = duration
    counts["total"] = sum(counts.values())
    values: dict[str, float] = {f"tests.{k}": v for k, v in counts.items()}
    values["tests.flaky"] = flaky
    values["tests.subtests_passed"] = subtests[0]
    values["tests.subtests_failed"] = subtests[1]
    values["tests.subtests_skipped"] = subtests[2]
    values["tests.quarantined_failed"] = quarantined_failed
    values["tests.duration_s.total"] = round(total_s, 6)
    values["tests.duration_s.max"] = round(max_s, 6)
    ran = counts["passed"] + counts["failed"] + counts["errors"]
    if ran:
        values["tests.pass_rate"] = 100.0 * counts["passed"] / ran
    summary = Summary(values, examples, matched)
    cache[sel] = summary
    return summary


def _has_magic(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def missing_reason(gate: Gate, sel: Selection) -> str | None:
    """Why the selection's test data cannot be trusted, or None when it can."""
    results = gate.results
    if sel.source == "pytest":
        return (
            None if gate.pytest_run else "no pytest run (the results come from JUnit inputs only)"
        )
    if sel.source is not None:
        if sel.source in results.missing:
            return results.missing[sel.source]
        if sel.source not in results.sources:
            hint = f"is --gate-input-junit {sel.source[6:]}=GLOB given?"
            return f"no results from source {sel.source!r} ({hint})"
        return None
    if results.missing:
        return "; ".join(f"{k}: {v}" for k, v in sorted(results.missing.items()))
    if not gate.pytest_run and not results.sources:
        return "no test results: no pytest run and no JUnit input"
    return None


def empty_selection(gate: Gate, sel: Selection) -> str:
    """Why a selection that matches no test is not a pass: it names the selection."""
    total = len(gate.results)
    shown = ", ".join(f"{k}={clip_name(v)!r}" for k, v in sel.to_json().items())
    text = f"select {shown} matches none of the {total} tests"
    if sel.marker is not None:
        if not gate.pytest_run:
            text += " (JUnit inputs carry no markers: select those tests by nodeid or path)"
        else:
            text += f" (is any test marked @pytest.mark.{sel.marker}? check the spelling)"
    elif sel.path is not None:
        text += " (paths are relative to the project root)"
    return text


@hookimpl
def releasegate_measure(gate: Gate, rule: Rule) -> Measurement | None:
    if not rule.metric.startswith("tests."):
        return None
    reason = missing_reason(gate, rule.select)
    if reason is not None:
        return Measurement.absent(reason)
    summary = summarize(gate, rule.select)
    if not summary.matched and not rule.select.is_empty:
        return Measurement.absent(empty_selection(gate, rule.select))
    values = summary.values
    if rule.metric not in values:
        if rule.metric == "tests.pass_rate":
            return Measurement.absent("no test passed, failed or errored in the selection")
        return None
    message = ""
    if rule.metric in ("tests.failed", "tests.errors") and values[rule.metric]:
        names = summary.examples["failed" if rule.metric == "tests.failed" else "error"]
        more = int(values[rule.metric]) - len(names)
        message = ", ".join(names) + (f" and {more} more" if more > 0 else "")
    return Measurement(values[rule.metric], message=message)


@hookimpl
def releasegate_metrics(gate: Gate) -> dict[str, float]:
    if not gate.pytest_run and not gate.results.sources:
        return {}
    return summarize(gate, Selection()).values

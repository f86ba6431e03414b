"""The `tests.*` metrics over the run's test records (pytest and JUnit inputs)."""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING

from .. import hookimpl
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
METRICS = (
    *(MetricInfo(f"tests.{c}", f"count of {c} tests in the selection", "tests") for c in COUNTS),
    MetricInfo("tests.pass_rate", "passed / (passed + failed + errors)", "%"),
    MetricInfo("tests.flaky", "tests that failed, then passed on a rerun", "tests"),
    MetricInfo("tests.quarantined_failed", "quarantined tests that failed", "tests"),
    MetricInfo("tests.duration_s.total", "sum of test durations", "s"),
    MetricInfo("tests.duration_s.max", "longest test duration", "s"),
)


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


def summarize(gate: Gate, sel: Selection) -> dict[str, float]:
    """All tests.* values for one selection, in one pass; cached per selection."""
    cache: dict[Selection, dict[str, float]] = gate.data.setdefault("tests:summaries", {})
    if sel in cache:
        return cache[sel]
    counts = dict.fromkeys(COUNTS, 0)
    flaky = quarantined_failed = 0
    total_s = max_s = 0.0
    has_quarantine = bool(gate.policy.quarantine)
    for record in gate.results:
        if not sel.is_empty and not record_matches(record, sel):
            continue
        if has_quarantine and _is_quarantined(gate, record):
            if record.outcome in ("failed", "error"):
                quarantined_failed += 1
            continue
        counts["total"] += 1
        counts[_OUTCOME_KEY.get(record.outcome, "errors")] += 1
        flaky += record.flaky
        total_s += record.duration
        max_s = max(max_s, record.duration)
    out: dict[str, float] = {f"tests.{k}": v for k, v in counts.items()}
    out["tests.flaky"] = flaky
    out["tests.quarantined_failed"] = quarantined_failed
    out["tests.duration_s.total"] = round(total_s, 6)
    out["tests.duration_s.max"] = round(max_s, 6)
    ran = counts["passed"] + counts["failed"] + counts["errors"]
    if ran:
        out["tests.pass_rate"] = 100.0 * counts["passed"] / ran
    cache[sel] = out
    return out


def missing_reason(gate: Gate, sel: Selection) -> str | None:
    """Why the selection's test data cannot be trusted, or None when it can."""
    results = gate.results
    junit_errors: list[str] = gate.data.get("junit_errors", [])
    if sel.source == "pytest":
        return (
            None if gate.pytest_run else "no pytest run (the results come from JUnit inputs only)"
        )
    if sel.source is not None:
        if sel.source in results.missing:
            return results.missing[sel.source]
        if sel.source.startswith("junit:") and junit_errors:
            return "; ".join(junit_errors)
        if sel.source not in results.sources:
            hint = f"is --gate-input-junit {sel.source[6:]}=GLOB given?"
            return f"no results from source {sel.source!r} ({hint})"
        return None
    if results.missing:
        return "; ".join(f"{k}: {v}" for k, v in sorted(results.missing.items()))
    if junit_errors:
        return "; ".join(junit_errors)
    if not gate.pytest_run and not results.sources:
        return "no test results: no pytest run and no JUnit input"
    return None


@hookimpl
def releasegate_measure(gate: Gate, rule: Rule) -> Measurement | None:
    if not rule.metric.startswith("tests."):
        return None
    reason = missing_reason(gate, rule.select)
    if reason is not None:
        return Measurement.absent(reason)
    values = summarize(gate, rule.select)
    if rule.metric not in values:
        if rule.metric == "tests.pass_rate":
            return Measurement.absent("no test passed, failed or errored in the selection")
        return None
    message = ""
    if rule.metric in ("tests.failed", "tests.errors") and values[rule.metric]:
        wanted = "failed" if rule.metric == "tests.failed" else "error"
        names = [
            r.nodeid
            for r in gate.results
            if r.outcome == wanted
            and (rule.select.is_empty or record_matches(r, rule.select))
            and not (gate.policy.quarantine and _is_quarantined(gate, r))
        ]
        message = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return Measurement(values[rule.metric], message=message)


@hookimpl
def releasegate_metrics(gate: Gate) -> dict[str, float]:
    if not gate.pytest_run and not gate.results.sources:
        return {}
    return summarize(gate, Selection())

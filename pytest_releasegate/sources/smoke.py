"""The ``smoke.*`` metrics: declared checks, bake rounds, and ``gate_http`` requests.

Data comes from three places and counts together:

* the policy's ``[[smoke]]`` checks, run by :func:`releasegate_collect` when a
  rule of the active profile measures a ``smoke.*`` metric: one pass, or a
  bake when the profile has the ``bake`` rule (see :mod:`.bake`);
* requests made through the ``gate_http`` fixture, which the pytest adapter
  delivers as ``gate.data["extras:smoke"]`` (one sample per request);
* tests marked ``smoke`` (``record.markers``), each counted once in
  ``smoke.passed`` or ``smoke.failed``.

Percentiles are nearest-rank over every recorded request latency
(:func:`.bake.nearest_rank`). Missing data is never a zero: with no check
and no smoke test the counts are missing, with no request the rates and
latencies are.

``gate.data`` keys an adapter may set (all optional):

``smoke:progress``  callable taking one line per bake round (default: stderr)
``smoke:bake_state`` a :class:`.bake.BakeState` (or its JSON) to resume; after
                    collection it holds the bake's state (check ``finished``)
``smoke:until``     a ``time.time()`` deadline: no bake round starts after it
``smoke:concurrency`` checks in flight at once (default 32)
``smoke:clock`` / ``smoke:sleep`` the bake's wall clock and sleep (tests)
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import catalogue, hookimpl
from ..model import Measurement, MetricInfo, Rule, Selection
from ..policy import BAKE_METRIC
from .bake import BakeConfig, BakeState, nearest_rank, print_to_stderr, run_bake

if TYPE_CHECKING:
    from ..engine import Gate

PERCENTILES = {"p50": 50.0, "p95": 95.0, "p99": 99.0}

STATE_KEY = "smoke:bake_state"
UNTIL_KEY = "smoke:until"
PROGRESS_KEY = "smoke:progress"
CONCURRENCY_KEY = "smoke:concurrency"
CLOCK_KEY = "smoke:clock"
SLEEP_KEY = "smoke:sleep"
PROBLEM_KEY = "smoke:problem"
SAMPLES_KEY = "extras:smoke"
#: Left by the runtime-metric source: called after each round (see run_bake's on_round).
ON_ROUND_KEY = "bake:on_round"
_SUMMARIES_KEY = "smoke:summaries"

METRICS = catalogue.SMOKE
_NAMES = frozenset(m.name for m in METRICS)
_SELECT_KEYS = ("name", "nodeid")


@hookimpl
def releasegate_add_metrics() -> list[MetricInfo]:
    return list(METRICS)


# -- collection ---------------------------------------------------------------


def _needed(gate: Gate) -> set[str]:
    return {r.metric for r in gate.rules if r.metric in _NAMES}


@hookimpl
def releasegate_collect(gate: Gate) -> None:
    """Run the declared checks (one pass, or the bake) if a rule of the profile needs them."""
    needed = _needed(gate)
    if not needed:
        return
    on_round = gate.data.get(ON_ROUND_KEY)
    if not gate.policy.smoke and on_round is None:
        if BAKE_METRIC in needed:
            gate.data[PROBLEM_KEY] = "the [bake] block has no [[smoke]] checks to repeat"
        return
    from .http_checks import Check, CheckRunner, CheckSetupError

    base_url = gate.options.base_url or gate.environ.get("RELEASEGATE_BASE_URL")
    try:
        checks = [Check.from_policy(t, base_url, gate.environ) for t in gate.policy.smoke]
    except CheckSetupError as exc:
        gate.data[PROBLEM_KEY] = str(exc)
        return
    bake = gate.policy.bake if BAKE_METRIC in needed else None
    config = bake or BakeConfig()
    saved = gate.data.get(STATE_KEY)
    try:
        state = BakeState.from_json(saved) if isinstance(saved, Mapping) else saved
    except ValueError as exc:
        gate.data[PROBLEM_KEY] = f"cannot resume the bake: {exc}"
        return
    sleep: Callable[[float], None] = gate.data.get(SLEEP_KEY) or time.sleep
    with CheckRunner(checks, concurrency=gate.data.get(CONCURRENCY_KEY), sleep=sleep) as runner:
        state = run_bake(
            config,
            runner.run_round,
            state=state,
            until=gate.data.get(UNTIL_KEY),
            clock=gate.data.get(CLOCK_KEY) or time.time,
            sleep=sleep,
            progress=gate.data.get(PROGRESS_KEY, print_to_stderr),
            on_round=on_round,
        )
    gate.data[STATE_KEY] = state
    gate.data.pop(_SUMMARIES_KEY, None)


def bake_pending(gate: Gate) -> BakeState | None:
    """The bake's state when it stopped at ``smoke:until`` with rounds left, else None.

    The CodePipeline worker and Lambda use it to answer with a continuation
    token (``state.to_json(samples=False)``) instead of a verdict.
    """
    state = gate.data.get(STATE_KEY)
    return state if isinstance(state, BakeState) and not state.finished else None


# -- measuring ----------------------------------------------------------------


@dataclass
class SmokeSummary:
    """The smoke data in one selection."""

    check_runs: int = 0
    checks_failed: int = 0
    tests_passed: int = 0
    tests_failed: int = 0
    requests: int = 0
    failed_requests: int = 0
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return self.check_runs - self.checks_failed + self.tests_passed

    @property
    def failed(self) -> int:
        return self.checks_failed + self.tests_failed

    @property
    def executions(self) -> int:
        return self.check_runs + self.tests_passed + self.tests_failed


def _match(pattern: str | None, text: str) -> bool:
    return pattern is None or fnmatch.fnmatchcase(text, pattern)


def summarize(gate: Gate, sel: Selection) -> SmokeSummary:
    """Every smoke number for ``sel`` (keys ``name`` and ``nodeid``), cached per selection."""
    cache: dict[Selection, SmokeSummary] = gate.data.setdefault(_SUMMARIES_KEY, {})
    if sel in cache:
        return cache[sel]
    out = SmokeSummary()
    state = gate.data.get(STATE_KEY)
    if isinstance(state, BakeState) and sel.nodeid is None:
        for name, stats in state.checks.items():
            if not _match(sel.name, name):
                continue
            out.check_runs += stats.passed + stats.failed
            out.checks_failed += stats.failed
            out.requests += stats.requests
            out.failed_requests += stats.failed_requests
            out.latencies.extend(stats.latencies_ms)
        out.failures.extend(
            f for f in state.failures if _match(sel.name, f.split(" (round ", 1)[0])
        )
    for sample in gate.data.get(SAMPLES_KEY, ()):
        nodeid = str(sample.get("nodeid", ""))
        if _match(sel.name, nodeid.rsplit("::", 1)[-1]) and _match(sel.nodeid, nodeid):
            out.requests += 1
            out.failed_requests += not sample.get("ok", False)
            out.latencies.append(float(sample["ms"]))
    quarantined = [q.nodeid for q in gate.policy.quarantine]
    marker = gate.policy.smoke_marker
    for record in gate.results:
        if marker not in record.markers or record.source != "pytest":
            continue
        if not (_match(sel.name, record.name) and _match(sel.nodeid, record.nodeid)):
            continue
        if any(fnmatch.fnmatchcase(record.nodeid, q) for q in quarantined):
            continue
        if record.outcome == "passed":
            out.tests_passed += 1
        elif record.outcome in ("failed", "error"):
            out.tests_failed += 1
            out.failures.append(f"{record.nodeid} {record.outcome}")
    cache[sel] = out
    return out


def _values(summary: SmokeSummary) -> dict[str, float]:
    values: dict[str, float] = {}
    if summary.executions or summary.requests:
        values["smoke.passed"] = summary.passed
        values["smoke.failed"] = summary.failed
        values["smoke.requests"] = summary.requests
    if summary.requests:
        values["smoke.error_rate"] = 100.0 * summary.failed_requests / summary.requests
        for p, percent in PERCENTILES.items():
            values[f"smoke.latency_ms.{p}"] = nearest_rank(summary.latencies, percent)
        values["smoke.latency_ms.max"] = max(summary.latencies)
    return values


def _message(metric: str, summary: SmokeSummary, state: BakeState | None) -> str:
    if metric in ("smoke.passed", "smoke.failed"):
        if metric == "smoke.failed" and summary.failures:
            shown = summary.failures[:2]
            more = summary.failed - len(shown)
            return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")
        rounds = f" over {state.rounds} rounds" if state is not None and state.rounds > 1 else ""
        return (
            f"{summary.check_runs} check runs{rounds}, "
            f"{summary.tests_passed + summary.tests_failed} smoke tests"
        )
    if metric == "smoke.error_rate":
        return f"{summary.failed_requests} of {summary.requests} requests failed"
    if metric.startswith("smoke.latency_ms."):
        text = f"nearest-rank over {len(summary.latencies)} requests"
        if state is not None and not state.samples_complete:
            text += " (latencies from before the bake resumed were not kept)"
        return text
    return ""


def _bake_measurement(gate: Gate, state: BakeState | None) -> Measurement:
    if gate.policy.bake is None:
        return Measurement.absent("no [bake] block in the policy")
    if state is None:
        return Measurement.absent("the bake did not run")
    if not state.requests and not state.extra:
        return Measurement.absent("the bake made no request")
    rate = state.error_rate or 0.0
    if state.violations:
        message = "; ".join(state.violations)
    else:
        message = f"{state.stop_reason}, error rate {rate:.2f}%"
    return Measurement(float(len(state.violations)), message=message)


@hookimpl
def releasegate_measure(gate: Gate, rule: Rule) -> Measurement | None:
    if rule.metric not in _NAMES:
        return None
    problem = gate.data.get(PROBLEM_KEY)
    if problem:
        return Measurement.absent(problem)
    state = gate.data.get(STATE_KEY)
    state = state if isinstance(state, BakeState) else None
    if state is not None and not state.finished:
        return Measurement.absent(
            f"the bake is still running ({state.rounds} of {state.planned} rounds done)"
        )
    if rule.metric == BAKE_METRIC:
        return _bake_measurement(gate, state)
    unsupported = [k for k in rule.select.to_json() if k not in _SELECT_KEYS]
    if unsupported:
        return Measurement.absent(
            f"smoke metrics select by `name` (a check or test name) or `nodeid`, "
            f"not by {', '.join(unsupported)}"
        )
    summary = summarize(gate, rule.select)
    values = _values(summary)
    if rule.metric not in values:
        if not summary.executions and not summary.requests:
            if not rule.select.is_empty:
                return Measurement.absent(
                    f"select {rule.select.describe()} matches no smoke check "
                    "or smoke-marked test that ran"
                )
            return Measurement.absent("no smoke check ran and no smoke-marked test ran")
        return Measurement.absent("no smoke request was made")
    return Measurement(values[rule.metric], message=_message(rule.metric, summary, state))


@hookimpl
def releasegate_metrics(gate: Gate) -> dict[str, float]:
    if not _needed(gate) and not gate.data.get(SAMPLES_KEY):
        return {}  # no smoke rule: not even a pass over the test records
    if gate.data.get(PROBLEM_KEY) or bake_pending(gate) is not None:
        return {}
    values = _values(summarize(gate, Selection()))
    state = gate.data.get(STATE_KEY)
    if (
        isinstance(state, BakeState)
        and BAKE_METRIC in _needed(gate)
        and (state.requests or state.extra)
    ):
        values[BAKE_METRIC] = float(len(state.violations))
    return values

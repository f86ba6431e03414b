"""The pure evaluator: rules + measurements (+ baseline) → rule results → verdict.

No I/O happens here. Read this file first to know what the gate decides:

* A rule's measurement either has a value or says why the data is missing.
  Missing data never passes: it becomes `error` (on-missing = "fail", the
  default), `warn` or `skipped`.
* Absolute bounds: `min`/`max` fail, `warn-below`/`warn-above` warn.
  With a `precision` (coverage metrics) values compare as coverage.py's
  `should_fail_under` does: rounded to that many decimals, and a bound of
  exactly 100 needs exactly 100.
* Relative bounds: `max-drop`/`max-rise` against the baseline's value of the
  same metric and selection (in the metric's unit, or "N%" of the baseline).
* Numbers fail closed: a measured or baseline value that is not a finite
  number (NaN, infinity, a string, `10**400`) is missing data, never a pass.
* Levels: `warn` rules turn a broken bound into outcome `warn` and can lower
  the verdict to `warn` at most; `info` rules never change the verdict.
* Waivers: a live waiver turns fail/warn/error into `waived`; an expired
  waiver is itself a failure naming the waiver, whatever the rule's level.
* Verdict precedence: error > fail > warn > pass.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from .bounds import clip_message, clip_name, finite
from .model import (
    Level,
    Measurement,
    OnMissing,
    Outcome,
    Quarantine,
    Relative,
    Rule,
    RuleResult,
    Selection,
    Verdict,
    format_value,
)

_EPS = 1e-9
_RANK = {Outcome.PASS: 0, Outcome.WARN: 1, Outcome.FAIL: 2, Outcome.ERROR: 3}


def evaluate(
    rules: Sequence[Rule],
    measurements: Mapping[str, Measurement],
    *,
    baseline: Verdict | None = None,
    baseline_problem: str | None = None,
    quarantine: Sequence[Quarantine] = (),
    today: _dt.date | None = None,
) -> list[RuleResult]:
    """Evaluate every rule (and every expired quarantine entry)."""
    today = today or _dt.date.today()
    index = BaselineIndex(baseline) if baseline is not None else None
    results = [
        evaluate_rule(
            rule,
            measurements.get(rule.name) or Measurement.absent("not measured"),
            baseline=baseline,
            baseline_problem=baseline_problem,
            today=today,
            index=index,
        )
        for rule in rules
    ]
    results.extend(expired_quarantine(quarantine, today))
    return results


def evaluate_rule(
    rule: Rule,
    m: Measurement,
    *,
    baseline: Verdict | None = None,
    baseline_problem: str | None = None,
    today: _dt.date,
    index: BaselineIndex | None = None,
) -> RuleResult:
    """One rule against its measurement (``index``: the baseline's, built once per run)."""
    base_value = None
    if baseline is not None:
        base_value, problem = (index or BaselineIndex(baseline)).value(rule)
        baseline_problem = problem or baseline_problem
    p = m.precision
    if m.value is not None and finite(m.value) is None:
        m = Measurement.absent(f"the measured value is not a finite number ({m.value!r})")
    outcome, message = _judge(rule, m, base_value, baseline, baseline_problem)

    if rule.level is Level.WARN and outcome is Outcome.FAIL:
        outcome = Outcome.WARN
        message += " (level warn)"

    level = rule.level
    if rule.waiver is not None:
        w = rule.waiver
        if w.expired(today):
            outcome = Outcome.FAIL
            level = Level.FAIL  # an expired waiver fails whatever the rule's level
            message = (
                f"waiver expired on {w.expires.isoformat()} ({w.reason}): renew or remove it; "
                f"{message}"
            )
        elif outcome in (Outcome.FAIL, Outcome.WARN, Outcome.ERROR):
            message = f"waived until {w.expires.isoformat()} ({w.reason}): {message}"
            outcome = Outcome.WAIVED

    return RuleResult(
        name=clip_name(rule.name),
        metric=rule.metric,
        select=rule.select,
        actual=m.value,
        threshold=rule.threshold_json(),
        baseline=base_value,
        outcome=outcome,
        message=clip_message(message),
        level=level,
        waiver=rule.waiver,
        precision=p,
    )


def _judge(
    rule: Rule,
    m: Measurement,
    base_value: float | None,
    baseline: Verdict | None,
    baseline_problem: str | None,
) -> tuple[Outcome, str]:
    if m.value is None and m.invalid:
        return Outcome.ERROR, f"error: {m.missing or 'unusable data'}"
    if m.value is None:
        return _missing(rule, m.missing or "no data")
    actual, p = m.value, m.precision
    shown = format_value(actual, p)
    detail = f" ({m.message})" if m.message else ""

    if rule.min is not None and _below(actual, rule.min, p):
        return Outcome.FAIL, f"{shown} is below min {format_value(rule.min)}{detail}"
    if rule.max is not None and _above(actual, rule.max, p):
        return Outcome.FAIL, f"{shown} is above max {format_value(rule.max)}{detail}"

    if rule.is_relative:
        if base_value is None:
            why = baseline_problem or (
                "the baseline has no value for this metric and selection"
                if baseline is not None
                else "no baseline"
            )
            return _missing(rule, f"cannot compare with the baseline: {why}")
        a, b = _round(actual, p), _round(base_value, p)
        if rule.max_drop is not None and b - a > rule.max_drop.limit(b) + _EPS:
            return Outcome.FAIL, (
                f"{shown} dropped by {format_value(b - a, p)} from baseline "
                f"{format_value(base_value, p)} (max-drop {rule.max_drop}){detail}"
            )
        if rule.max_rise is not None and a - b > rule.max_rise.limit(b) + _EPS:
            return Outcome.FAIL, (
                f"{shown} rose by {format_value(a - b, p)} from baseline "
                f"{format_value(base_value, p)} (max-rise {rule.max_rise}){detail}"
            )

    if rule.warn_below is not None and _below(actual, rule.warn_below, p):
        return Outcome.WARN, f"{shown} is below warn-below {format_value(rule.warn_below)}{detail}"
    if rule.warn_above is not None and _above(actual, rule.warn_above, p):
        return Outcome.WARN, f"{shown} is above warn-above {format_value(rule.warn_above)}{detail}"

    return Outcome.PASS, f"{shown} within {rule.describe_threshold()}{detail}"


def rejudge(result: RuleResult) -> Outcome | None:
    """What ``result``'s own actual value, bounds and baseline make its outcome, as
    :func:`evaluate_rule` decides it (its level applied, waivers aside); None when
    the result carries no value to judge (missing data) or bounds of unknown form.

    For a verdict read back from a file (:mod:`pytest_releasegate.integrity`).
    """
    actual = finite(result.actual)
    if actual is None or not isinstance(result.threshold, Mapping):
        return None
    try:
        rule = Rule(
            name=result.name,
            metric=result.metric,
            min=_bound(result.threshold.get("min")),
            max=_bound(result.threshold.get("max")),
            warn_below=_bound(result.threshold.get("warn-below")),
            warn_above=_bound(result.threshold.get("warn-above")),
            max_drop=_relative(result.threshold.get("max-drop")),
            max_rise=_relative(result.threshold.get("max-rise")),
            level=result.level,
        )
    except (TypeError, ValueError):
        return None
    base = finite(result.baseline)
    if rule.is_relative and base is None:
        return None
    outcome, _ = _judge(rule, Measurement(actual, precision=result.precision), base, None, None)
    if rule.level is Level.WARN and outcome is Outcome.FAIL:
        return Outcome.WARN
    return outcome


def _bound(value: Any) -> float | None:
    """A bound from a verdict file: None, or a finite number (ValueError otherwise)."""
    if value is None:
        return None
    number = finite(value)
    if number is None:
        raise ValueError(value)
    return number


def _relative(value: Any) -> Relative | None:
    """A ``max-drop``/``max-rise`` as the verdict writes it: ``"2"`` or ``"2%"``."""
    if value is None:
        return None
    text = str(value).strip()
    percent = text.endswith("%")
    amount = finite(float(text[:-1] if percent else text))
    if amount is None:
        raise ValueError(value)
    return Relative(amount, percent)


def _missing(rule: Rule, reason: str) -> tuple[Outcome, str]:
    if rule.on_missing is OnMissing.SKIP:
        return Outcome.SKIPPED, f"skipped (on-missing = skip): {reason}"
    if rule.on_missing is OnMissing.WARN:
        return Outcome.WARN, f"no data (on-missing = warn): {reason}"
    return Outcome.ERROR, f"no data: {reason}"


def _round(value: float, precision: int | None) -> float:
    return round(value, precision) if precision is not None else value


def _bound_precision(bound: float, precision: int) -> int:
    """At least enough decimals to represent the bound (coverage.py's `_fail_under_precision`)."""
    if bound == int(bound):
        return precision
    exponent = Decimal(str(bound)).as_tuple().exponent
    return max(precision, -int(exponent))


def _below(actual: float, bound: float, precision: int | None) -> bool:
    """`actual < bound` as coverage.py's `should_fail_under` decides it."""
    if precision is None:
        return actual < bound - _EPS
    if bound == 100 and actual != 100:
        return True
    return round(actual, _bound_precision(bound, precision)) < bound


def _above(actual: float, bound: float, precision: int | None) -> bool:
    if precision is None:
        return actual > bound + _EPS
    return round(actual, _bound_precision(bound, precision)) > bound


def lookup_baseline(baseline: Verdict | None, rule: Rule) -> float | None:
    """The baseline's value of the same metric and selection, or None."""
    if baseline is None:
        return None
    return BaselineIndex(baseline).value(rule)[0]


class BaselineIndex:
    """A baseline's values by (metric, selection): one pass over its rules, O(1) per lookup."""

    def __init__(self, baseline: Verdict) -> None:
        self.metrics = baseline.metrics
        self.values: dict[tuple[str, Selection], object] = {}
        for r in baseline.rules:
            if r.actual is not None:
                self.values.setdefault((r.metric, r.select), r.actual)

    def value(self, rule: Rule) -> tuple[float | None, str | None]:
        """The value of the rule's metric and selection, or (None, why it is unusable)."""
        raw = self.values.get((rule.metric, rule.select))
        if raw is None and rule.select.is_empty:
            raw = self.metrics.get(rule.metric)
        if raw is None:
            return None, None
        number = finite(raw)
        if number is None:
            shown = repr(raw) if not isinstance(raw, int) else "a number beyond the double range"
            return None, (
                f"the baseline's value of {rule.metric} is not a finite number "
                f"({shown[:80]}): save a new baseline"
            )
        return number, None


def expired_quarantine(entries: Iterable[Quarantine], today: _dt.date) -> list[RuleResult]:
    """An expired quarantine entry is itself a failing rule that names it."""
    out = []
    for q in entries:
        if q.expires < today:
            out.append(
                RuleResult(
                    name=f"quarantine {q.nodeid}",
                    metric="tests.quarantined_failed",
                    select=Selection(nodeid=q.nodeid),
                    actual=None,
                    threshold={},
                    baseline=None,
                    outcome=Outcome.FAIL,
                    message=(
                        f"quarantine entry expired on {q.expires.isoformat()} ({q.reason}): "
                        "fix the test and remove the entry, or renew it"
                    ),
                )
            )
    return out


def contribution(result: RuleResult) -> Outcome:
    """What one rule result does to the verdict, given its level."""
    if result.level is Level.INFO:
        return Outcome.PASS
    if result.outcome in (Outcome.WAIVED, Outcome.SKIPPED, Outcome.PASS):
        return Outcome.PASS
    if result.level is Level.WARN:
        return Outcome.WARN
    return result.outcome


def verdict_of(results: Iterable[RuleResult]) -> Outcome:
    """error > fail > warn > pass; no rules at all is an error, never a pass."""
    results = list(results)
    if not results:
        return Outcome.ERROR
    return max((contribution(r) for r in results), key=_RANK.__getitem__)

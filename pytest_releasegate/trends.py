"""Trends of rule metrics over a run history, for the HTML report and Markdown.

Pure functions over JSON data: the verdict (``verdict.to_json()`` or a file)
and the runs of its branch and profile (:func:`pytest_releasegate.history.series_for`).
One trend per metric *and selection* used by a rule, in rule order: rules on
the same metric and selection share a trend (and all their thresholds).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, TypeGuard

from .model import format_value

#: Runs a trend shows at most.
TREND_RUNS = 50
SPARK = "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"
_BOUNDS = ("min", "max", "warn-below", "warn-above")


class Point(NamedTuple):
    time: str
    value: float | None
    verdict: str  # the run's verdict
    outcome: str | None  # the outcome of this metric's rule in that run, when it had one
    sha: str | None


class Trend(NamedTuple):
    metric: str
    select: dict[str, str]
    rules: list[dict[str, Any]]  # this verdict's rules on the metric and selection
    points: list[Point]  # oldest first; the last is this verdict
    precision: int | None

    @property
    def label(self) -> str:
        sel = ", ".join(f"{k}={v}" for k, v in self.select.items())
        return f"{self.metric} [{sel}]" if sel else self.metric

    def thresholds(self) -> list[tuple[str, float, bool]]:
        """(`min`/`max`/`warn-below`/`warn-above`, value, blocking) of every rule on this trend.

        A bound is blocking when breaking it fails the run: `min`/`max` of a
        rule of level `fail`.
        """
        out: list[tuple[str, float, bool]] = []
        for rule in self.rules:
            threshold = rule.get("threshold") or {}
            blocking_rule = rule.get("level", "fail") == "fail"
            for key in _BOUNDS:
                value = threshold.get(key)
                if not _is_number(value):
                    continue
                entry = (key, float(value), blocking_rule and key in ("min", "max"))
                if entry not in out:
                    out.append(entry)
        return out

    @property
    def values(self) -> list[float]:
        return [p.value for p in self.points if p.value is not None]


def _is_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def value_in(run: Mapping[str, Any], metric: str, select: Mapping[str, str]) -> tuple[Any, Any]:
    """(value, rule outcome) in one run: the rule's actual, else the run's metric."""
    outcome = None
    for rule in run.get("rules") or ():
        if not isinstance(rule, Mapping):
            continue
        if rule.get("metric") == metric and dict(rule.get("select") or {}) == dict(select):
            outcome = outcome or rule.get("outcome")
            if _is_number(rule.get("actual")):
                return float(rule["actual"]), rule.get("outcome")
    if not select:
        value = (run.get("metrics") or {}).get(metric)
        if _is_number(value):
            return float(value), outcome
    return None, outcome


def trends(
    verdict: Mapping[str, Any], runs: Sequence[Mapping[str, Any]], limit: int = TREND_RUNS
) -> list[Trend]:
    """One trend per metric and selection of the verdict's rules, over the last `limit` runs."""
    keys: dict[tuple[str, tuple[tuple[str, str], ...]], list[dict[str, Any]]] = {}
    for rule in verdict.get("rules") or ():
        if not isinstance(rule, Mapping) or not isinstance(rule.get("metric"), str):
            continue
        select = {str(k): str(v) for k, v in dict(rule.get("select") or {}).items()}
        keys.setdefault((rule["metric"], tuple(sorted(select.items()))), []).append(dict(rule))
    recent = list(runs)[-limit:]
    out = []
    for (metric, select_items), rules in keys.items():
        select = dict(select_items)
        points = []
        for run in recent:
            value, outcome = value_in(run, metric, select)
            context = run.get("context") if isinstance(run.get("context"), Mapping) else {}
            sha = context.get("git_sha") if isinstance(context, Mapping) else None
            points.append(
                Point(
                    time=str(run.get("time") or run.get("finished_at") or ""),
                    value=value,
                    verdict=str(run.get("verdict", "")),
                    outcome=outcome,
                    sha=sha if isinstance(sha, str) else None,
                )
            )
        precision = next(
            (r["precision"] for r in rules if isinstance(r.get("precision"), int)), None
        )
        out.append(Trend(metric, select, rules, points, precision))
    return out


def sparkline(values: Sequence[float | None]) -> str:
    """▁▂▃▄▅▆▇█ scaled between the lowest and highest value; a gap (space) for no value."""
    known = [v for v in values if v is not None]
    if not known:
        return ""
    lo, hi = min(known), max(known)
    span = hi - lo
    out = []
    for v in values:
        if v is None:
            out.append(" ")
        elif span == 0:
            out.append(SPARK[3])
        else:
            out.append(SPARK[min(7, int((v - lo) / span * 7 + 0.5))])
    return "".join(out)


def unit_of(metric: str) -> str:
    """The metric's unit from the built-in catalogue ('' when unknown)."""
    from .catalogue import BUILTIN

    for info in BUILTIN:
        if info.name == metric:
            return info.unit
    return ""


def change(current: float | None, previous: float | None, unit: str, precision: int | None) -> str:
    """The change since the previous run: signed, absolute, in the metric's unit; `±0`."""
    if current is None or previous is None:
        return "\u2013"  # no value to compare
    diff = current - previous
    shown = f"{abs(diff):.{precision}f}" if precision is not None else format_value(abs(diff))
    if float(shown) == 0:
        return "\u00b10"
    sign = "+" if diff > 0 else "-"
    return f"{sign}{shown}" + (f" {unit}" if unit else "")

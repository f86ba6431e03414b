"""A third-party pytest-releasegate plugin: gate on TODO/FIXME markers in source files.

[[tool.releasegate.rule]]
name = "no new TODOs in payments"
metric = "todo.count"
select = { path = "app/payments/**" }
max = 0
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pytest_releasegate import Measurement, MetricInfo, hookimpl
from pytest_releasegate.select import path_matches

if TYPE_CHECKING:
    from pytest_releasegate import Gate, Rule

MARKER = re.compile(r"\b(TODO|FIXME|XXX)\b")
SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", "build", "dist"}


@hookimpl
def releasegate_add_metrics() -> list[MetricInfo]:
    return [MetricInfo("todo.count", "TODO/FIXME/XXX markers in *.py files", "markers")]


def _count(gate: Gate) -> dict[str, int]:
    """Markers per file, computed once per gate run."""
    cached = gate.data.get("todo:counts")
    if cached is None:
        cached = {}
        for path in gate.rootdir.rglob("*.py"):
            rel = path.relative_to(gate.rootdir)
            if SKIP_DIRS.intersection(rel.parts):
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            cached[rel.as_posix()] = len(MARKER.findall(text))
        gate.data["todo:counts"] = cached
    return cached


@hookimpl
def releasegate_measure(gate: Gate, rule: Rule) -> Measurement | None:
    if rule.metric != "todo.count":
        return None
    counts = _count(gate)
    if rule.select.path:
        counts = {f: n for f, n in counts.items() if path_matches(f, rule.select.path)}
    worst = max(counts.items(), key=lambda kv: kv[1], default=None)
    message = f"most in {worst[0]} ({worst[1]})" if worst and worst[1] else ""
    return Measurement(sum(counts.values()), message=message)


@hookimpl
def releasegate_metrics(gate: Gate) -> dict[str, float]:
    # Every gate run calls this hook: do the work only when a rule asks for the metric.
    if not any(rule.metric == "todo.count" for rule in gate.rules):
        return {}
    return {"todo.count": sum(_count(gate).values())}

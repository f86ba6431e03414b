"""Hook specifications: how another package adds metrics, sources and sinks.

A plugin is any object (or module) with `@pytest_releasegate.hookimpl`
functions named below, registered through the `releasegate` entry-point
group::

    [project.entry-points.releasegate]
    todo = "releasegate_todo:plugin"

Every hook receives the running :class:`~pytest_releasegate.engine.Gate`,
which carries the options, the project root and the collected data. See
``examples/custom-plugin/`` for a complete example.

``releasegate_collect``, ``releasegate_metrics``, ``releasegate_context``
and ``releasegate_publish`` are called one implementation at a time, each
through pluggy: an exception in one plugin becomes a verdict warning (and,
for a sink, "could not publish") and the others still run. Wrappers
(``wrapper=True``) of these four hooks are refused when registered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .engine import Gate
    from .model import Measurement, MetricInfo, Rule, Verdict

hookspec = pluggy.HookspecMarker("releasegate")


@hookspec
def releasegate_add_metrics() -> list[MetricInfo]:
    """Return the metrics this plugin can measure.

    Names are validated against the union of all plugins' metrics when the
    policy loads, so a rule naming a metric no plugin provides is a policy
    error with a suggestion.
    """
    raise NotImplementedError


@hookspec
def releasegate_collect(gate: Gate) -> None:
    """Gather data once per gate run, before any rule is measured.

    Called with every rule of the active profile already resolved
    (``gate.rules``), so a source can skip work no rule needs. Expensive
    imports belong here, not at module import time.
    """


@hookspec(firstresult=True)
def releasegate_measure(gate: Gate, rule: Rule) -> Measurement | None:
    """Measure ``rule.metric`` for ``rule.select``.

    Return ``None`` when the metric is not yours; return
    ``Measurement.absent(reason)`` when it is yours but the data is missing
    (never a zero for missing data).
    """
    raise NotImplementedError


@hookspec
def releasegate_metrics(gate: Gate) -> dict[str, float]:
    """Whole-run metric values for the verdict's flat ``metrics`` object."""
    raise NotImplementedError


@hookspec
def releasegate_context(gate: Gate) -> dict[str, Any]:
    """Entries for the verdict's ``context`` object (git, CI, pipeline ids)."""
    raise NotImplementedError


@hookspec
def releasegate_publish(gate: Gate, verdict: Verdict) -> None:
    """Deliver the verdict somewhere (files, CI systems, chat).

    Called once per run after evaluation. Sinks that reach a remote system
    must honour ``gate.options.dry_run``.
    """

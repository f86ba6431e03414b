"""The `coverage.*` metrics (foundation version: names and missing-data handling).

The full coverage source (per-path selection, diff coverage, precision) is
built in its own issue; until then every coverage rule reports missing data
unless a data file exists, which keeps the gate failing closed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .. import hookimpl
from ..model import Measurement, MetricInfo, Rule

if TYPE_CHECKING:
    from ..engine import Gate

METRICS = (
    MetricInfo("coverage.percent", "coverage.py's total (statements and branches)", "%"),
    MetricInfo("coverage.line_percent", "statements covered", "%"),
    MetricInfo("coverage.branch_percent", "branches covered", "%"),
    MetricInfo("coverage.min_file_line_percent", "the lowest per-file line percent", "%"),
    MetricInfo("coverage.missing_lines", "statements not covered", "lines"),
    MetricInfo("coverage.diff_percent", "changed executable lines covered", "%"),
    MetricInfo("coverage.diff_uncovered_lines", "changed executable lines not covered", "lines"),
)


@hookimpl
def releasegate_add_metrics() -> list[MetricInfo]:
    return list(METRICS)


def data_file(gate: Gate) -> Path:
    if gate.options.coverage:
        return Path(gate.options.coverage)
    return gate.rootdir / ".coverage"


@hookimpl
def releasegate_measure(gate: Gate, rule: Rule) -> Measurement | None:
    if not rule.metric.startswith("coverage."):
        return None
    path = data_file(gate)
    if not path.is_file():
        return Measurement.absent(f"no coverage data: {path} does not exist (run with --cov)")
    return Measurement.absent(f"{rule.metric} is not measured yet")

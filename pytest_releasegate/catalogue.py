"""The built-in metrics, by source: names and descriptions without importing the sources.

Policy validation needs every metric name before any test runs, but the
sources behind them (coverage.py, HTTP checks, CloudWatch) are imported only
when a run needs them; this table is what lets start-up stay cheap.
"""

from __future__ import annotations

from .model import MetricInfo

_COUNTS = ("total", "passed", "failed", "errors", "skipped", "xfailed", "xpassed")

TESTS = (
    MetricInfo("tests.total", "tests in the selection (every outcome)", "tests"),
    MetricInfo("tests.passed", "tests that passed", "tests"),
    MetricInfo("tests.failed", "tests that failed (a failing subtest fails its test)", "tests"),
    MetricInfo("tests.errors", "tests that errored (setup, teardown, collection)", "tests"),
    MetricInfo("tests.skipped", "tests that were skipped", "tests"),
    MetricInfo("tests.xfailed", "tests expected to fail that failed", "tests"),
    MetricInfo("tests.xpassed", "tests expected to fail that passed", "tests"),
    MetricInfo("tests.pass_rate", "passed / (passed + failed + errors)", "%"),
    MetricInfo("tests.flaky", "tests that failed, then passed on a rerun", "tests"),
    MetricInfo("tests.quarantined_failed", "quarantined tests that failed", "tests"),
    MetricInfo(
        "tests.subtests_passed", "subtests (pytest's subtests, unittest subTest) passed", "subtests"
    ),
    MetricInfo(
        "tests.subtests_failed", "subtests that failed (their test counts as failed)", "subtests"
    ),
    MetricInfo("tests.subtests_skipped", "subtests that were skipped", "subtests"),
    MetricInfo("tests.duration_s.total", "sum of test durations", "s"),
    MetricInfo("tests.duration_s.max", "longest test duration", "s"),
)

COVERAGE = (
    MetricInfo("coverage.percent", "coverage.py's total (statements and branches together)", "%"),
    MetricInfo(
        "coverage.line_percent",
        "statements covered (coverage.py's percent_statements_covered)",
        "%",
    ),
    MetricInfo(
        "coverage.branch_percent", "branches covered (coverage.py's percent_branches_covered)", "%"
    ),
    MetricInfo(
        "coverage.min_file_line_percent", "the lowest per-file line percent in the selection", "%"
    ),
    MetricInfo("coverage.missing_lines", "statements not covered", "lines"),
    MetricInfo(
        "coverage.diff_percent", "added or changed executable lines covered, against `base`", "%"
    ),
    MetricInfo(
        "coverage.diff_uncovered_lines", "added or changed executable lines not covered", "lines"
    ),
)

SMOKE_PERCENTILES = ("p50", "p95", "p99")
SMOKE = (
    MetricInfo("smoke.passed", "smoke check executions and smoke-marked tests that passed", "runs"),
    MetricInfo("smoke.failed", "smoke check executions and smoke-marked tests that failed", "runs"),
    MetricInfo("smoke.requests", "HTTP requests made by smoke checks and gate_http", "requests"),
    MetricInfo("smoke.error_rate", "failed smoke requests / smoke requests", "%"),
    *(
        MetricInfo(f"smoke.latency_ms.{p}", f"nearest-rank {p} of smoke request latency", "ms")
        for p in SMOKE_PERCENTILES
    ),
    MetricInfo("smoke.latency_ms.max", "slowest smoke request", "ms"),
    MetricInfo("smoke.bake_violations", "bake limits broken (0 = the bake passed)", "limits"),
)

ALARMS = (
    MetricInfo("alarms.in_alarm", "CloudWatch alarms in state ALARM among those watched", "alarms"),
)

#: Every built-in metric.
BUILTIN = (*TESTS, *COVERAGE, *SMOKE, *ALARMS)

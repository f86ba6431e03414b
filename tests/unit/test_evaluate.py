"""The pure evaluator: bounds, precision, baselines, levels, waivers, precedence."""

from __future__ import annotations

import datetime as dt

import pytest

from pytest_releasegate.evaluate import evaluate, evaluate_rule, lookup_baseline, verdict_of
from pytest_releasegate.model import (
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
    Waiver,
)

TODAY = dt.date(2026, 11, 27)


def judge(
    rule: Rule,
    value: float | None,
    *,
    precision: int | None = None,
    baseline: Verdict | None = None,
) -> RuleResult:
    m = Measurement(value, precision=precision) if value is not None else Measurement.absent("gone")
    return evaluate_rule(rule, m, baseline=baseline, today=TODAY)


@pytest.mark.parametrize(
    ("value", "outcome"),
    [
        (84.9, Outcome.FAIL),
        (85, Outcome.WARN),
        (89.99, Outcome.WARN),
        (90, Outcome.PASS),
        (100, Outcome.PASS),
    ],
)
def test_min_and_warn_below(value: float, outcome: Outcome) -> None:
    assert judge(Rule("r", "m", min=85, warn_below=90), value).outcome is outcome


@pytest.mark.parametrize(
    ("value", "outcome"), [(0, Outcome.PASS), (2, Outcome.WARN), (3, Outcome.FAIL)]
)
def test_max_and_warn_above(value: float, outcome: Outcome) -> None:
    assert judge(Rule("r", "m", max=2, warn_above=1), value).outcome is outcome


def test_precision_compares_like_coverage_should_fail_under() -> None:
    from coverage.results import should_fail_under

    rule = Rule("r", "coverage.percent", min=85)
    for total in (84.99, 84.995, 84.949, 85.0):
        expected = Outcome.FAIL if should_fail_under(total, 85, 1) else Outcome.PASS
        assert judge(rule, total, precision=1).outcome is expected, total
    # A bound with more decimals than the precision compares at the bound's decimals.
    for total, bound in ((85.4, 85.2), (85.15, 85.2), (85.249, 85.25)):
        expected = Outcome.FAIL if should_fail_under(total, bound, 0) else Outcome.PASS
        assert judge(Rule("r", "m", min=bound), total, precision=0).outcome is expected, (
            total,
            bound,
        )
    # A bound of exactly 100 needs exactly 100, whatever the rounding, and is shown so.
    result = judge(Rule("r", "m", min=100), 99.99, precision=1)
    assert result.outcome is Outcome.FAIL
    assert result.message.startswith("99.9 is below min 100")
    assert judge(Rule("r", "m", min=85), 84.96, precision=1).message.startswith("85.0")


@pytest.mark.parametrize(
    ("on_missing", "outcome"),
    [
        (OnMissing.FAIL, Outcome.ERROR),
        (OnMissing.WARN, Outcome.WARN),
        (OnMissing.SKIP, Outcome.SKIPPED),
    ],
)
def test_missing_data_never_passes(on_missing: OnMissing, outcome: Outcome) -> None:
    result = judge(Rule("r", "m", max=0, on_missing=on_missing), None)
    assert result.outcome is outcome
    assert "gone" in result.message


def _baseline(**metrics: float) -> Verdict:
    return Verdict(
        verdict=Outcome.PASS,
        profile="ci",
        policy="p",
        rules=(
            RuleResult(
                "old",
                "coverage.line_percent",
                Selection(path="app/**"),
                80.0,
                {},
                None,
                Outcome.PASS,
                "",
            ),
        ),
        metrics=dict(metrics),
        context={},
        started_at="",
        finished_at="",
        tool_version="",
    )


def test_max_drop_absolute_and_percent() -> None:
    base = _baseline(**{"coverage.line_percent": 90.0})
    absolute = Rule("r", "coverage.line_percent", max_drop=Relative(0.5))
    assert judge(absolute, 89.5, baseline=base).outcome is Outcome.PASS
    failed = judge(absolute, 89.4, baseline=base)
    assert (
        failed.outcome is Outcome.FAIL
        and "dropped by" in failed.message
        and failed.baseline == 90.0
    )
    percent = Rule(
        "r", "coverage.line_percent", max_drop=Relative(5, percent=True)
    )  # 5% of 90 = 4.5
    assert judge(percent, 85.5, baseline=base).outcome is Outcome.PASS
    assert judge(percent, 85.4, baseline=base).outcome is Outcome.FAIL


def test_max_rise() -> None:
    base = _baseline(**{"tests.duration_s.total": 10.0})
    rule = Rule("r", "tests.duration_s.total", max_rise=Relative(20, percent=True))
    assert judge(rule, 12.0, baseline=base).outcome is Outcome.PASS
    assert judge(rule, 12.5, baseline=base).outcome is Outcome.FAIL


def test_relative_rule_without_baseline_is_an_error() -> None:
    result = judge(Rule("r", "coverage.line_percent", max_drop=Relative(1)), 90.0)
    assert result.outcome is Outcome.ERROR and "baseline" in result.message


def test_baseline_lookup_matches_metric_and_selection() -> None:
    base = _baseline(**{"coverage.line_percent": 90.0})
    assert (
        lookup_baseline(
            base, Rule("a", "coverage.line_percent", select=Selection(path="app/**"), min=0)
        )
        == 80.0
    )
    assert lookup_baseline(base, Rule("b", "coverage.line_percent", min=0)) == 90.0
    assert (
        lookup_baseline(
            base, Rule("c", "coverage.line_percent", select=Selection(path="x/**"), min=0)
        )
        is None
    )


def test_levels() -> None:
    warn_rule = judge(Rule("r", "m", max=0, level=Level.WARN), 3)
    assert warn_rule.outcome is Outcome.WARN
    info_rule = judge(Rule("r", "m", max=0, level=Level.INFO), 3)
    assert info_rule.outcome is Outcome.FAIL
    assert verdict_of([info_rule]) is Outcome.PASS
    assert verdict_of([warn_rule, info_rule]) is Outcome.WARN
    missing_warn = judge(Rule("r", "m", max=0, level=Level.WARN), None)
    assert missing_warn.outcome is Outcome.ERROR and verdict_of([missing_warn]) is Outcome.WARN


def test_waivers() -> None:
    live = judge(Rule("r", "m", max=0, waiver=Waiver("TICKET-1", dt.date(2026, 12, 31))), 3)
    assert live.outcome is Outcome.WAIVED and "TICKET-1" in live.message
    assert verdict_of([live]) is Outcome.PASS
    expired = judge(
        Rule("r", "m", max=0, level=Level.INFO, waiver=Waiver("TICKET-2", dt.date(2026, 1, 1))), 0
    )
    assert expired.outcome is Outcome.FAIL
    assert "waiver expired on 2026-01-01 (TICKET-2)" in expired.message
    assert verdict_of([expired]) is Outcome.FAIL  # whatever the rule's level


def test_expired_quarantine_entry_fails_and_names_it() -> None:
    results = evaluate(
        [Rule("r", "m", max=0)],
        {"r": Measurement(0)},
        quarantine=[
            Quarantine("tests/test_a.py::test_x", "TICKET-40", dt.date(2026, 1, 1)),
            Quarantine("tests/test_b.py::*", "TICKET-41", dt.date(2027, 1, 1)),
        ],
        today=TODAY,
    )
    assert [r.outcome for r in results] == [Outcome.PASS, Outcome.FAIL]
    assert "tests/test_a.py::test_x" in results[1].name and "TICKET-40" in results[1].message


@pytest.mark.parametrize(
    ("outcomes", "verdict"),
    [
        ([Outcome.PASS, Outcome.WARN], Outcome.WARN),
        ([Outcome.WARN, Outcome.FAIL], Outcome.FAIL),
        ([Outcome.FAIL, Outcome.ERROR, Outcome.PASS], Outcome.ERROR),
        ([Outcome.PASS, Outcome.SKIPPED, Outcome.WAIVED], Outcome.PASS),
        ([], Outcome.ERROR),
    ],
)
def test_verdict_precedence(outcomes: list[Outcome], verdict: Outcome) -> None:
    results = [
        RuleResult(f"r{i}", "m", Selection(), 0, {}, None, o, "") for i, o in enumerate(outcomes)
    ]
    assert verdict_of(results) is verdict


def test_verdict_json_round_trip() -> None:
    result = judge(Rule("r", "m", max=0, waiver=Waiver("T", dt.date(2026, 12, 31))), 2)
    verdict = Verdict(Outcome.PASS, "ci", "p", (result,), {"m": 2}, {}, "a", "b", "0")
    again = Verdict.from_json(verdict.to_json())
    assert again == verdict
    with pytest.raises(ValueError, match="not a releasegate verdict"):
        Verdict.from_json({"verdict": "pass"})

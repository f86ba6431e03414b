"""Judging runtime-metric samples: the worst sample, aggregates, missing data, bad rounds,
and the state a continuation token carries."""

from __future__ import annotations

import datetime as dt

import pytest

from pytest_releasegate.evaluate import evaluate_rule
from pytest_releasegate.model import Level, OnMissing, Outcome, Rule, Waiver
from pytest_releasegate.runtime_policy import RuntimeMetric
from pytest_releasegate.sources.runtime import (
    TOKEN_SAMPLES,
    RuntimeState,
    Series,
    measure,
    round_failures,
)
from pytest_releasegate.sources.runtime_sample import Sample

TODAY = dt.date(2026, 11, 29)
M = RuntimeMetric(name="api.x", provider="prometheus", url="http://p", query="q")


def series(*values: float | None, reason: str = "no datapoints for api.x in the last 5m") -> Series:
    s = Series()
    for i, v in enumerate(values):
        s.add(
            Sample(
                1000.0 + i, v, "ok" if v is not None else "nodata", "" if v is not None else reason
            )
        )
    return s


def judged(rule: Rule, s: Series, metric: RuntimeMetric = M) -> tuple[Outcome, float | None, str]:
    r = evaluate_rule(rule, measure(rule, metric, s), today=TODAY)
    return r.outcome, r.actual, r.message


def test_a_max_bound_judges_the_highest_sample_and_a_min_bound_the_lowest() -> None:
    s = series(0.2, 1.7, 0.4)
    assert judged(Rule("r", "api.x", max=1), s)[:2] == (Outcome.FAIL, 1.7)
    assert judged(Rule("r", "api.x", min=0.3), s)[:2] == (Outcome.FAIL, 0.2)
    assert judged(Rule("r", "api.x", max=2), s)[:2] == (Outcome.PASS, 1.7)
    both = Rule("r", "api.x", min=0.3, max=5)
    assert judged(both, s)[:2] == (Outcome.FAIL, 0.2)  # the breach, not the highest


@pytest.mark.parametrize(("aggregate", "actual"), [("last", 0.4), ("avg", 0.7667)])
def test_aggregate_last_and_avg(aggregate: str, actual: float) -> None:
    metric = M._replace(aggregate=aggregate)
    outcome, value, _ = judged(Rule("r", "api.x", max=1), series(0.2, 1.7, 0.4), metric)
    assert outcome is Outcome.PASS and value == pytest.approx(actual, abs=1e-4)


def test_a_breach_wins_over_missing_samples_but_missing_never_passes() -> None:
    s = series(None, 3.0, None)
    outcome, value, message = judged(Rule("r", "api.x", max=1), s)
    assert (outcome, value) == (Outcome.FAIL, 3.0)
    assert "2 of 3 samples had no data: no datapoints for api.x in the last 5m" in message
    outcome, value, message = judged(Rule("r", "api.x", max=5), s)
    assert (outcome, value) == (Outcome.ERROR, None)
    assert message == "no data: 2 of 3 samples had no data: no datapoints for api.x in the last 5m"
    skip = Rule("r", "api.x", max=5, on_missing=OnMissing.SKIP)
    assert judged(skip, s)[0] is Outcome.SKIPPED


def test_no_sample_with_data_is_missing_naming_the_metric_and_window() -> None:
    _, _, message = judged(Rule("r", "api.x", max=1), series(None, None))
    assert message == "no data: no datapoints for api.x in the last 5m (2 of 2 samples)"


def test_an_invalid_answer_is_an_error_whatever_on_missing_says() -> None:
    s = Series()
    s.add(Sample(1.0, None, "invalid", "the Prometheus query for api.x returned 3 series"))
    rule = Rule("r", "api.x", max=1, on_missing=OnMissing.SKIP)
    assert judged(rule, s)[0] is Outcome.ERROR


def test_a_round_is_bad_when_a_fail_level_unwaived_rule_breaks() -> None:
    samples = {
        "api.x": Sample(1.0, 2.0),
        "api.y": Sample(1.0, None, "nodata", "no datapoints for api.y"),
    }
    rules = [
        Rule("x", "api.x", max=1),
        Rule("x warn", "api.x", max=1, level=Level.WARN),
        Rule("x waived", "api.x", max=1, waiver=Waiver("T-1", TODAY)),
        Rule("y", "api.y", max=1),
        Rule("y skip", "api.y", max=1, on_missing=OnMissing.SKIP),
    ]
    assert round_failures(rules, samples, TODAY) == [
        "api.x 2 is above max 1 (rule 'x')",
        "api.y: no datapoints for api.y",
    ]
    assert round_failures(rules[1:3], samples, TODAY) == []


def test_state_round_trips_and_a_token_keeps_the_aggregates() -> None:
    state = RuntimeState()
    for i in range(20):
        state.add({f"m{k}": Sample(1_800_000_000.0 + 30 * i, 0.25 * i + k) for k in range(5)})
    again = RuntimeState.from_json(state.to_json())
    assert again == state
    bake = {"extra": {"runtime": state.to_json(samples=False)}}
    assert len(state.series["m0"].samples) == 20  # the live state keeps every sample
    trimmed = RuntimeState.from_json(bake["extra"]["runtime"])
    for name, s in trimmed.series.items():
        assert len(s.samples) == TOKEN_SAMPLES // 5 and s.dropped == 20 - TOKEN_SAMPLES // 5
        assert (s.high, s.low, s.count) == (state.series[name].high, state.series[name].low, 20)
    from pytest_releasegate.codepipeline.handoff import encode_token

    assert len(encode_token({"bake": bake, "continuations": 3})) <= 2048


def test_a_bad_state_is_refused() -> None:
    with pytest.raises(ValueError, match="not a runtime-metric state"):
        RuntimeState.from_json({"schema": "x"})
    with pytest.raises(ValueError, match="malformed"):
        RuntimeState.from_json({"schema": "releasegate.runtime/1", "series": {"a": {"s": [["x"]]}}})

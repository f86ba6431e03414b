"""Numbers fail closed: non-finite thresholds are a bad policy, non-finite baselines `error`."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import pytest

from pytest_releasegate.evaluate import evaluate_rule
from pytest_releasegate.model import (
    Measurement,
    Outcome,
    Relative,
    Rule,
    RuleResult,
    Selection,
    Verdict,
)
from pytest_releasegate.policy import PolicyError, parse_policy, tomllib

TODAY = dt.date(2026, 11, 27)
HUGE = 10**400


def policy_problems(rule_body: str) -> list[str]:
    table = tomllib.loads('[[rule]]\nname = "r"\nmetric = "tests.failed"\n' + rule_body)
    with pytest.raises(PolicyError) as info:
        parse_policy(table, source="gate.toml")
    return info.value.problems


@pytest.mark.parametrize(
    ("key", "literal"),
    [
        ("max", "nan"),
        ("max", "inf"),
        ("min", "-inf"),
        ("warn-below", "nan"),
        ("warn-above", "+inf"),
        ("max-drop", "nan"),
        ("max-rise", "inf"),
        ("max", "1" + "0" * 400),
        ("max-drop", '"' + "9" * 400 + '%"'),
    ],
)
def test_a_non_finite_threshold_is_a_bad_policy(key: str, literal: str) -> None:
    problems = policy_problems(f"{key} = {literal}\n")
    assert len(problems) == 1
    line = problems[0]
    assert line.startswith(f"gate.toml, rule 'r', key '{key}': ")
    assert "finite" in line
    assert "\n" not in line and len(line) < 300


def baseline_with(actual: Any) -> Verdict:
    data = {
        "schema": "releasegate.verdict/1",
        "verdict": "pass",
        "rules": [
            {
                "name": "cov",
                "metric": "coverage.line_percent",
                "select": {},
                "actual": actual,
                "outcome": "pass",
            }
        ],
        "metrics": {"tests.failed": actual},
    }
    return Verdict.from_json(json.loads(json.dumps(data)))


@pytest.mark.parametrize(
    "actual",
    [math.nan, math.inf, -math.inf, "85", [85], {"v": 85}, HUGE, True],
    ids=["nan", "inf", "-inf", "string", "list", "object", "10**400", "bool"],
)
@pytest.mark.parametrize("key", ["max_drop", "max_rise"])
def test_a_baseline_value_that_is_not_a_finite_number_is_an_error(actual: Any, key: str) -> None:
    rule = Rule("cov", "coverage.line_percent", **{key: Relative(1.0)})  # type: ignore[arg-type]
    result = evaluate_rule(rule, Measurement(80.0), baseline=baseline_with(actual), today=TODAY)
    assert result.outcome is Outcome.ERROR
    assert "baseline" in result.message and "not a finite number" in result.message
    assert result.baseline is None
    json.dumps(result.to_json(), allow_nan=False)


def test_a_metrics_only_baseline_that_is_not_finite_is_an_error() -> None:
    rule = Rule("f", "tests.failed", max_rise=Relative(0.0))
    result = evaluate_rule(rule, Measurement(0.0), baseline=baseline_with(math.nan), today=TODAY)
    assert result.outcome is Outcome.ERROR


def test_a_baseline_value_can_still_be_an_integer() -> None:
    rule = Rule("cov", "coverage.line_percent", max_drop=Relative(1.0))
    result = evaluate_rule(rule, Measurement(80.0), baseline=baseline_with(85), today=TODAY)
    assert result.outcome is Outcome.FAIL and result.baseline == 85


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_measured_value_that_is_not_finite_is_an_error(value: float) -> None:
    result = evaluate_rule(Rule("r", "m", max=0), Measurement(value), today=TODAY)
    assert result.outcome is Outcome.ERROR
    assert "not a finite number" in result.message
    assert result.to_json()["actual"] is None


def test_every_number_in_the_verdict_json_is_finite() -> None:
    result = RuleResult(
        name="r",
        metric="m",
        select=Selection(),
        actual=math.nan,
        threshold={"max": math.inf},
        baseline=-math.inf,
        outcome=Outcome.ERROR,
        message="x",
    )
    verdict = Verdict(
        verdict=Outcome.ERROR,
        profile="default",
        policy="p",
        rules=(result,),
        metrics={"a": math.nan, "b": 1.5, "c": HUGE},  # type: ignore[dict-item]
        context={"n": math.inf},
        started_at="",
        finished_at="",
        tool_version="0",
    )
    data = verdict.to_json()
    text = json.dumps(data, allow_nan=False)  # raises on a bare NaN/Infinity
    assert "NaN" not in text and "Infinity" not in text
    assert data["rules"][0]["actual"] is None and data["rules"][0]["baseline"] is None
    assert data["rules"][0]["threshold"] == {"max": None}
    assert data["metrics"] == {"a": None, "b": 1.5, "c": None}
    assert data["context"] == {"n": None}


def test_json_verdict_file_never_holds_nan(tmp_path: Path) -> None:
    from pytest_releasegate.sinks.files import write_json

    result = RuleResult("r", "m", Selection(), math.nan, {}, None, Outcome.ERROR, "x")
    verdict = Verdict(Outcome.ERROR, "d", "p", (result,), {"m": math.inf}, {}, "", "", "0")
    write_json(verdict, tmp_path / "v.json")
    text = (tmp_path / "v.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    json.loads(text, parse_constant=lambda c: pytest.fail(f"bare {c} in the verdict JSON"))


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ('[[smoke]]\nurl = "http://x/"\ntimeout = inf\n', "timeout"),
        ('[[smoke]]\nurl = "http://x/"\nbackoff = nan\n', "backoff"),
        ('[[smoke]]\nurl = "http://x/"\n[bake]\nduration = inf\n', "duration"),
        ('[[smoke]]\nurl = "http://x/"\n[bake]\nduration = "10m"\ninterval = nan\n', "interval"),
        ('[[smoke]]\nurl = "http://x/"\n[bake]\nduration = "' + "9" * 400 + 'h"\n', "duration"),
    ],
)
def test_a_non_finite_time_is_a_bad_policy_not_a_bake_forever(table: str, key: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(
            tomllib.loads('[[rule]]\nname = "r"\nmetric = "tests.failed"\nmax = 0\n' + table),
            source="gate.toml",
        )
    assert any(f"key '{key}'" in p for p in info.value.problems), info.value.problems

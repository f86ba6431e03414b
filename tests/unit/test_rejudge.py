"""`evaluate.rejudge` never refuses what the gate itself wrote.

Verdict integrity (publish, the worker, the Lambda) refuses a rule that claims better
than its own numbers. A real verdict must always get through: for many random rules
and measurements, the outcome `evaluate_rule` records is the one `rejudge` finds in the
JSON the gate writes, and flipping a failing rule to `pass` is always caught.
"""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest

from pytest_releasegate.evaluate import evaluate_rule, rejudge
from pytest_releasegate.integrity import IntegrityError, verified_verdict
from pytest_releasegate.model import (
    Level,
    Measurement,
    Outcome,
    Relative,
    Rule,
    RuleResult,
    Selection,
    Verdict,
)

TODAY = dt.date(2026, 11, 29)


def random_rule(rng: random.Random) -> Rule:
    def bound() -> float | None:
        return rng.choice([None, round(rng.uniform(0, 100), rng.choice([0, 1, 2, 5]))])

    def relative() -> Relative | None:
        if rng.random() < 0.6:
            return None
        return Relative(round(rng.uniform(0, 10), rng.choice([0, 1, 3])), rng.random() < 0.5)

    return Rule(
        name="r",
        metric="coverage.line_percent",
        min=bound(),
        max=bound(),
        warn_below=bound(),
        warn_above=bound(),
        max_drop=relative(),
        max_rise=relative(),
        level=rng.choice([Level.FAIL, Level.WARN, Level.INFO]),
    )


def baseline_verdict(value: float) -> Verdict:
    base = RuleResult("r", "coverage.line_percent", Selection(), value, {}, None, Outcome.PASS, "")
    return Verdict(
        Outcome.PASS, "ci", "p", (base,), {"coverage.line_percent": value}, {}, "", "", "0"
    )


def test_rejudge_agrees_with_the_gate_on_what_it_wrote() -> None:
    rng = random.Random(1129)
    seen: set[Outcome] = set()
    for _ in range(20_000):
        rule = random_rule(rng)
        actual = rng.choice([rng.uniform(0, 100), float(rng.randint(0, 100)), 79.5, 80.0])
        m = Measurement(actual, precision=rng.choice([None, 0, 1, 2]))
        baseline = baseline_verdict(rng.uniform(0, 100)) if rule.is_relative else None
        written = evaluate_rule(rule, m, baseline=baseline, today=TODAY)
        read_back = RuleResult.from_json(json.loads(json.dumps(written.to_json())))
        judged = rejudge(read_back)
        assert judged is written.outcome, (rule, m, written)
        seen.add(judged)
        if judged in (Outcome.FAIL, Outcome.WARN):
            forged = baseline_verdict(0.0)._replace(
                rules=(read_back._replace(outcome=Outcome.PASS),)
            )
            with pytest.raises(IntegrityError, match="says pass but its actual"):
                verified_verdict(forged.to_json())
        else:
            verified_verdict(baseline_verdict(0.0)._replace(rules=(read_back,)).to_json())
    assert seen == {Outcome.PASS, Outcome.WARN, Outcome.FAIL}

"""Bake windows: rounds, limits, early stop, deadlines and resuming from JSON.

Scheduling tests use a fake clock whose sleep advances it, so nothing waits
for real minutes; the ones against the loopback service use 0.05 s intervals
and never assert wall-clock times.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from typing import Any

import pytest

from pytest_releasegate.sources.bake import (
    Attempt,
    BakeConfig,
    BakeState,
    CheckResult,
    nearest_rank,
    run_bake,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def rounds_from(bad: set[int], checks: int = 1, cost: float = 0.0, clock: Any = None) -> Any:
    """A run_round whose round k is bad (every check fails) when k is in `bad`."""
    calls: list[int] = []

    def run_round(k: int) -> Sequence[CheckResult]:
        calls.append(k)
        if clock is not None:
            clock.now += cost
        ok = k not in bad
        return [
            CheckResult(
                f"c{i}",
                ok,
                "" if ok else "GET /x -> 503",
                (Attempt(10.0 + k, 200 if ok else 503, ok),),
            )
            for i in range(checks)
        ]

    run_round.calls = calls  # type: ignore[attr-defined]
    return run_round


def bake(config: BakeConfig, run_round: Any, clock: FakeClock, **kw: Any) -> BakeState:
    return run_bake(config, run_round, clock=clock, sleep=clock.sleep, progress=None, **kw)


@pytest.mark.parametrize(
    ("duration", "interval", "rounds"),
    [(0, 30, 1), (10, 30, 1), (600, 30, 20), (0.5, 0.05, 10), (61, 30, 3)],
)
def test_rounds_planned_is_duration_over_interval_rounded_up(
    duration: float, interval: float, rounds: int
) -> None:
    assert BakeConfig(duration=duration, interval=interval).rounds == rounds


def test_rounds_start_interval_apart_and_first_round_is_immediate() -> None:
    clock = FakeClock()
    run_round = rounds_from(set())
    state = bake(BakeConfig(duration=300, interval=30), run_round, clock)
    assert run_round.calls == list(range(10))
    assert clock.sleeps == [30.0] * 9
    assert state.finished
    assert state.violations == []
    assert state.stop_reason == "completed 10 rounds"


def test_a_slow_round_delays_the_next_instead_of_bursting() -> None:
    clock = FakeClock()
    state = bake(
        BakeConfig(duration=90, interval=30), rounds_from(set(), cost=45.0, clock=clock), clock
    )
    assert state.rounds == 3
    assert clock.sleeps == []  # each round already took longer than the interval


def test_one_bad_round_in_ten_breaks_max_error_rate_5() -> None:
    clock = FakeClock()
    config = BakeConfig(duration=10, interval=1, max_error_rate=5.0)
    state = bake(config, rounds_from({4}), clock)
    assert state.rounds == 10
    assert state.error_rate == pytest.approx(10.0)
    assert state.violations == [
        "error rate 10.00% is above max-error-rate 5% (1 of 10 requests failed)"
    ]


def test_error_rate_at_the_limit_passes() -> None:
    clock = FakeClock()
    config = BakeConfig(duration=20, interval=1, max_error_rate=5.0)
    state = bake(config, rounds_from({4}), clock)
    assert state.error_rate == pytest.approx(5.0)
    assert state.violations == []


def test_consecutive_success_limit_stops_early() -> None:
    clock = FakeClock()
    run_round = rounds_from({0})
    config = BakeConfig(duration=100, interval=1, max_error_rate=50, consecutive_success_limit=3)
    state = bake(config, run_round, clock)
    assert run_round.calls == [0, 1, 2, 3]  # one bad round, then three clean ones
    assert state.finished
    assert state.violations == []
    assert "3 clean rounds in a row" in state.stop_reason


def test_consecutive_failure_limit_stops_at_once_and_names_the_limit() -> None:
    clock = FakeClock()
    run_round = rounds_from({2, 3, 4, 5})
    config = BakeConfig(duration=20, interval=1, max_error_rate=100, consecutive_failure_limit=3)
    state = bake(config, run_round, clock)
    assert run_round.calls == [0, 1, 2, 3, 4]
    assert state.violations == ["3 bad rounds in a row (consecutive-failure-limit 3)"]


def test_both_limits_broken_count_twice() -> None:
    clock = FakeClock()
    config = BakeConfig(duration=20, interval=1, max_error_rate=1, consecutive_failure_limit=2)
    state = bake(config, rounds_from({0, 1}), clock)
    assert len(state.violations) == 2


def test_each_check_in_each_round_counts_once() -> None:
    clock = FakeClock()
    state = bake(
        BakeConfig(duration=5, interval=1, max_error_rate=100), rounds_from({1}, checks=3), clock
    )
    assert (state.passed, state.failed, state.requests) == (12, 3, 15)


def test_deadline_stops_before_a_round_and_json_resume_finishes_the_same_bake() -> None:
    config = BakeConfig(duration=10, interval=1, max_error_rate=5.0)
    clock = FakeClock()
    first = bake(config, rounds_from({4}), clock, until=clock.now + 3.5)
    assert not first.finished
    assert first.rounds == 4

    carried = json.loads(json.dumps(first.to_json()))
    resumed = bake(config, rounds_from({4}), clock, state=BakeState.from_json(carried))
    assert resumed.finished
    assert resumed.rounds == 10

    straight = bake(config, rounds_from({4}), FakeClock())
    assert resumed.violations == straight.violations
    assert (resumed.passed, resumed.failed, resumed.requests) == (9, 1, 10)
    assert sorted(resumed.latencies()) == sorted(straight.latencies())


def test_state_without_samples_stays_small_and_says_latencies_are_partial() -> None:
    clock = FakeClock()
    config = BakeConfig(duration=600, interval=1)
    state = bake(
        config, rounds_from(set(range(0, 600, 7)), checks=12), clock, until=clock.now + 400
    )
    compact = json.dumps(state.to_json(samples=False), separators=(",", ":"))
    assert len(compact) < 2048  # fits a CodePipeline continuation token
    restored = BakeState.from_json(json.loads(compact))
    assert not restored.samples_complete
    assert restored.requests == state.requests


def test_from_json_rejects_what_is_not_a_bake_state() -> None:
    with pytest.raises(ValueError, match="not a releasegate bake state"):
        BakeState.from_json({"planned": 3})


def test_progress_prints_one_line_per_round_and_the_outcome() -> None:
    clock = FakeClock()
    lines: list[str] = []
    config = BakeConfig(duration=3, interval=1, max_error_rate=0)
    run_bake(config, rounds_from({1}), clock=clock, sleep=clock.sleep, progress=lines.append)
    assert [line.split(";")[0] for line in lines[:3]] == [
        "releasegate bake: round 1/3 clean",
        "releasegate bake: round 2/3 BAD (1 of 1 checks failed)",
        "releasegate bake: round 3/3 clean",
    ]
    assert lines[3].startswith("releasegate bake: FAILED: error rate 33.33%")


def test_a_single_pass_prints_nothing() -> None:
    lines: list[str] = []
    run_bake(BakeConfig(), rounds_from(set()), progress=lines.append)
    assert lines == []


@pytest.mark.parametrize("n", [1, 2, 3, 10, 99, 100, 101, 1000])
def test_nearest_rank_is_the_smallest_value_covering_the_percent(n: int) -> None:
    values = [random.Random(n).uniform(0, 1000) for _ in range(n)]
    ordered = sorted(values)
    for p in (50, 95, 99, 100):
        got = nearest_rank(values, p)
        at_or_below = sum(v <= got for v in ordered)
        assert at_or_below >= p / 100 * n  # covers p percent ...
        assert sum(v < got for v in ordered) < p / 100 * n  # ... and no smaller value does


def test_nearest_rank_textbook_example() -> None:
    # Wikipedia's "nearest-rank method" example.
    values = [15, 20, 35, 40, 50]
    assert [nearest_rank(values, p) for p in (5, 30, 40, 50, 100)] == [15, 20, 20, 35, 50]

"""Bake windows: the smoke checks repeated in rounds, judged by limits (SPEC §2).

This module only schedules rounds and keeps score; the HTTP work is a
``run_round`` callable (see :mod:`pytest_releasegate.sources.http_checks`).
The clock and the sleep are injectable, and the whole score is a small
:class:`BakeState` that round-trips through JSON, so a bake can stop at a
deadline and resume in another process (the CodePipeline job worker and the
Lambda carry it across continuation tokens).

Semantics, which docs/smoke.md repeats for users:

* A bake runs ``ceil(duration / interval)`` rounds (at least one), starting
  ``interval`` apart (start to start); a round slower than ``interval`` delays
  the next one, which then starts as soon as it ends. Round 0 is the plain
  smoke pass.
* A round is *clean* when every check in it passed, *bad* otherwise.
* ``consecutive-failure-limit`` N > 0: N bad rounds in a row break the limit
  and end the bake at once.
* ``consecutive-success-limit`` N > 0: N clean rounds in a row end the bake
  early; the limits are still judged over the rounds that ran.
* ``max-error-rate`` (percent, default 0): failed requests / requests over
  the whole bake, judged when it ends; above the limit breaks it.
* ``violations`` lists the broken limits; ``smoke.bake_violations`` is their
  number (0 = the bake passed).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..sections import BakeConfig as BakeConfig  # re-exported: the bake's own name

BAKE_SCHEMA = "releasegate.bake/1"
#: Failure messages kept in the state (the first ones; the rest are counted).
MAX_FAILURES_KEPT = 3
#: Longest failure message kept in the state, in characters.
MAX_FAILURE_CHARS = 240
_EPS = 1e-9


@dataclass(frozen=True)
class Attempt:
    """One HTTP request of a check: latency in ms, status (None: no response)."""

    ms: float
    status: int | None
    ok: bool


@dataclass(frozen=True)
class CheckResult:
    """One execution of one check (its attempts are the retries)."""

    name: str
    ok: bool
    message: str = ""
    attempts: tuple[Attempt, ...] = ()


@dataclass
class CheckStats:
    """Everything one check did over the rounds that ran."""

    passed: int = 0
    failed: int = 0
    requests: int = 0
    failed_requests: int = 0
    latencies_ms: list[float] = field(default_factory=list)

    def add(self, result: CheckResult) -> None:
        if result.ok:
            self.passed += 1
        else:
            self.failed += 1
        for a in result.attempts:
            self.requests += 1
            self.failed_requests += not a.ok
            # Microsecond resolution: far below the timer noise, and it keeps the JSON small.
            self.latencies_ms.append(round(a.ms, 3))

    def to_json(self, samples: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "passed": self.passed,
            "failed": self.failed,
            "requests": self.requests,
            "failed_requests": self.failed_requests,
        }
        if samples:
            out["latencies_ms"] = list(self.latencies_ms)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CheckStats:
        return cls(
            passed=int(data.get("passed", 0)),
            failed=int(data.get("failed", 0)),
            requests=int(data.get("requests", 0)),
            failed_requests=int(data.get("failed_requests", 0)),
            latencies_ms=[float(x) for x in data.get("latencies_ms", ())],
        )


@dataclass
class BakeState:
    """The score of a bake so far; JSON-serializable so a bake can resume elsewhere.

    ``to_json(samples=False)`` drops the latency samples and keeps the state
    bounded (well under 2 KB for a dozen checks), for carriers with a size
    limit such as a CodePipeline continuation token; the percentiles of a
    bake resumed from such a state cover only the requests made after the
    resume, and ``samples_complete`` says so.
    """

    planned: int
    started_at: float | None = None
    last_round_at: float | None = None
    rounds: int = 0
    checks: dict[str, CheckStats] = field(default_factory=dict)
    consecutive_failures: int = 0
    consecutive_successes: int = 0
    longest_failure_streak: int = 0
    failures: list[str] = field(default_factory=list)
    failures_dropped: int = 0
    samples_complete: bool = True
    finished: bool = False
    stop_reason: str = ""
    violations: list[str] = field(default_factory=list)
    #: JSON data other sources keep across rounds and processes (runtime-metric samples).
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def new(cls, config: BakeConfig) -> BakeState:
        return cls(planned=config.rounds)

    # -- totals ---------------------------------------------------------------

    def _sum(self, attr: str) -> int:
        return sum(getattr(s, attr) for s in self.checks.values())

    @property
    def passed(self) -> int:
        return self._sum("passed")

    @property
    def failed(self) -> int:
        return self._sum("failed")

    @property
    def requests(self) -> int:
        return self._sum("requests")

    @property
    def failed_requests(self) -> int:
        return self._sum("failed_requests")

    @property
    def error_rate(self) -> float | None:
        """Failed requests / requests over the bake, in percent (None: no request yet)."""
        n = self.requests
        return 100.0 * self.failed_requests / n if n else None

    def latencies(self, names: Iterable[str] | None = None) -> list[float]:
        wanted = self.checks if names is None else {n: self.checks[n] for n in names}
        return [ms for s in wanted.values() for ms in s.latencies_ms]

    # -- scoring --------------------------------------------------------------

    def add_round(self, results: Sequence[CheckResult], others: Sequence[str] = ()) -> bool:
        """Score one round; returns whether it was clean.

        ``others`` are failures found in the round besides the checks (a runtime
        metric breaking its rule): any makes the round bad.
        """
        self.rounds += 1
        clean = not others
        for result in results:
            self.checks.setdefault(result.name, CheckStats()).add(result)
            if not result.ok:
                clean = False
                self._keep_failure(f"{result.name} (round {self.rounds}): {result.message}")
        for message in others:
            name, _, detail = message.partition(" ")
            self._keep_failure(f"{name.rstrip(':')} (round {self.rounds}): {detail}")
        if clean:
            self.consecutive_successes += 1
            self.consecutive_failures = 0
        else:
            self.consecutive_failures += 1
            self.consecutive_successes = 0
            self.longest_failure_streak = max(
                self.longest_failure_streak, self.consecutive_failures
            )
        return clean

    def _keep_failure(self, message: str) -> None:
        if len(self.failures) < MAX_FAILURES_KEPT:
            if len(message) > MAX_FAILURE_CHARS:
                message = message[: MAX_FAILURE_CHARS - 1] + "\u2026"
            self.failures.append(message)
        else:
            self.failures_dropped += 1

    def finish(self, config: BakeConfig, reason: str) -> None:
        """End the bake: judge the error rate and record why it stopped."""
        rate = self.error_rate
        if rate is not None and rate > config.max_error_rate + _EPS:
            self.violations.append(
                f"error rate {rate:.2f}% is above max-error-rate {config.max_error_rate:g}% "
                f"({self.failed_requests} of {self.requests} requests failed)"
            )
        self.finished = True
        self.stop_reason = reason

    # -- JSON -----------------------------------------------------------------

    def to_json(self, *, samples: bool = True) -> dict[str, Any]:
        return {
            "schema": BAKE_SCHEMA,
            "planned": self.planned,
            "started_at": self.started_at,
            "last_round_at": self.last_round_at,
            "rounds": self.rounds,
            "checks": {name: s.to_json(samples) for name, s in self.checks.items()},
            "consecutive_failures": self.consecutive_failures,
            "consecutive_successes": self.consecutive_successes,
            "longest_failure_streak": self.longest_failure_streak,
            "failures": list(self.failures),
            "failures_dropped": self.failures_dropped,
            "samples_complete": self.samples_complete and samples,
            "finished": self.finished,
            "stop_reason": self.stop_reason,
            "violations": list(self.violations),
            **({"extra": self._extra_json(samples)} if self.extra else {}),
        }

    def _extra_json(self, samples: bool) -> dict[str, Any]:
        """``extra`` as JSON: a value with its own ``to_json(samples=...)`` writes itself
        (bounded too when ``samples`` is false)."""
        return {
            k: v.to_json(samples=samples) if hasattr(v, "to_json") else v
            for k, v in self.extra.items()
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BakeState:
        """Read a state written by :meth:`to_json`; raises ValueError when it is not one."""
        if not isinstance(data, Mapping) or data.get("schema") != BAKE_SCHEMA:
            raise ValueError(f"not a releasegate bake state (expected schema {BAKE_SCHEMA!r})")
        try:
            checks = {str(k): CheckStats.from_json(v) for k, v in data.get("checks", {}).items()}
            started, last = data.get("started_at"), data.get("last_round_at")
            return cls(
                planned=int(data["planned"]),
                started_at=None if started is None else float(started),
                last_round_at=None if last is None else float(last),
                rounds=int(data.get("rounds", 0)),
                checks=checks,
                consecutive_failures=int(data.get("consecutive_failures", 0)),
                consecutive_successes=int(data.get("consecutive_successes", 0)),
                longest_failure_streak=int(data.get("longest_failure_streak", 0)),
                failures=[str(f) for f in data.get("failures", ())],
                failures_dropped=int(data.get("failures_dropped", 0)),
                samples_complete=bool(data.get("samples_complete", True)),
                finished=bool(data.get("finished", False)),
                stop_reason=str(data.get("stop_reason", "")),
                violations=[str(v) for v in data.get("violations", ())],
                extra=dict(data.get("extra") or {}),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"malformed bake state: {exc!r}") from None


def nearest_rank(values: Sequence[float], percent: float) -> float:
    """The nearest-rank percentile: the smallest value with at least ``percent``% of
    the values at or below it, i.e. ``sorted(values)[ceil(percent/100 * n) - 1]``.

    Always one of the recorded values, never an interpolation. ``values`` must
    not be empty.
    """
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100.0 * len(ordered) - _EPS))
    return ordered[min(rank, len(ordered)) - 1]


def progress_line(
    config: BakeConfig,
    state: BakeState,
    results: Sequence[CheckResult],
    others: Sequence[str] = (),
) -> str:
    """One terminal line for the round just scored."""
    bad = sum(not r.ok for r in results)
    head = f"releasegate bake: round {state.rounds}/{state.planned} "
    if bad or others:
        why = [f"{bad} of {len(results)} checks failed"] if bad else []
        why += [o.split(" (rule ", 1)[0] for o in others[:2]]
        if len(others) > 2:
            why.append(f"and {len(others) - 2} more")
        head += f"BAD ({'; '.join(why)})"
    else:
        head += "clean"
    rate = state.error_rate
    shown = "-" if rate is None else f"{rate:.1f}%"
    parts = [
        head,
        f"so far {state.passed} passed, {state.failed} failed",
        f"error rate {shown} (max {config.max_error_rate:g}%)",
    ]
    latencies = state.latencies()
    if latencies:
        parts.append(f"p95 {nearest_rank(latencies, 95):.0f} ms")
    return "; ".join(parts)


def print_to_stderr(line: str) -> None:
    """The default progress sink: one line on stderr."""
    print(line, file=sys.stderr, flush=True)


def run_bake(
    config: BakeConfig,
    run_round: Callable[[int], Sequence[CheckResult]],
    *,
    state: BakeState | None = None,
    until: float | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[str], None] | None = print_to_stderr,
    on_round: Callable[[BakeState], Sequence[str]] | None = None,
) -> BakeState:
    """Run (or resume) a bake and return its state.

    ``run_round(k)`` runs every check once for round ``k`` (from 0).
    ``until`` is a ``clock()`` time: no round starts at or after it, and the
    state comes back with ``finished`` false when rounds remain, ready to be
    passed back as ``state`` (after a ``to_json``/``from_json`` trip if it
    travels). ``clock`` must be wall-clock time if the state crosses
    processes. ``progress`` gets one line per round of a bake (not for a
    single pass); None is silent. ``on_round(state)`` runs after each
    round's checks (runtime-metric sampling) and returns that round's other
    failures, which make it a bad round.
    """
    state = state if state is not None else BakeState.new(config)
    if state.finished:
        return state
    # The policy decides the plan; a resumed state follows the current policy.
    state.planned = config.rounds
    while True:
        now = clock()
        last = state.last_round_at
        due = now if last is None else last + config.interval
        if until is not None and max(now, due) >= until:
            return state
        if due > now:
            sleep(due - now)
        # Start to start: a round slower than `interval` delays the next, never a burst.
        state.last_round_at = max(due, now)
        if state.started_at is None:
            state.started_at = state.last_round_at
        results = run_round(state.rounds)
        others = list(on_round(state)) if on_round is not None else []
        state.add_round(results, others)
        cfl, csl = config.consecutive_failure_limit, config.consecutive_success_limit
        if cfl and state.consecutive_failures >= cfl:
            state.violations.append(
                f"{state.consecutive_failures} bad rounds in a row "
                f"(consecutive-failure-limit {cfl})"
            )
            state.finish(config, f"stopped after {state.rounds} rounds: {cfl} bad rounds in a row")
        elif csl and state.consecutive_successes >= csl:
            state.finish(
                config, f"stopped early after {csl} clean rounds in a row ({state.rounds} rounds)"
            )
        elif state.rounds >= state.planned:
            state.finish(config, f"completed {state.rounds} rounds")
        if progress is not None and config.is_bake:
            progress(progress_line(config, state, results, others))
            if state.finished:
                word = "FAILED" if state.violations else "passed"
                detail = "; ".join(state.violations) or state.stop_reason
                progress(f"releasegate bake: {word}: {detail}")
        if state.finished:
            return state

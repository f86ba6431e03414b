"""The gate's data model: immutable values shared by every layer.

Everything here is plain data with JSON round-tripping; nothing does I/O.
The values are NamedTuples rather than frozen dataclasses because they are
created at every gated pytest start-up, where a dataclass costs about six
times as much to define.
"""

from __future__ import annotations

import datetime as _dt
import enum
from collections.abc import Mapping
from typing import Any, NamedTuple

VERDICT_SCHEMA = "releasegate.verdict/1"


class ExitCode(enum.IntEnum):
    """Exit codes of pytest with the gate and of every ``releasegate`` command (SPEC §3, §6).

    The one definition: the CLI, the worker, the publisher and the job runner
    (which reads the child pytest's code) all use these names.
    """

    #: pass, or warn (unless ``warn-as = "failure"``); a command that did its job
    OK = 0
    #: the verdict is fail (or warn with ``warn-as = "failure"``)
    FAILED = 1
    #: a malformed command line (argparse's own code)
    COMMAND_LINE = 2
    #: the verdict is error, or the result could not be published
    ERROR = 3
    #: a bad policy, bad parameters or a bad input file: a user mistake
    USAGE = 4
    #: stopped by Ctrl-C (128 + SIGINT, as a shell reports it)
    INTERRUPTED = 130


class Outcome(str, enum.Enum):
    """Outcome of one rule; `PASS`, `WARN`, `FAIL` and `ERROR` double as verdicts."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    WAIVED = "waived"
    SKIPPED = "skipped"
    ERROR = "error"

    def __str__(self) -> str:
        return self.value


class Level(str, enum.Enum):
    """How much a rule may change the verdict."""

    FAIL = "fail"  # decides the verdict
    WARN = "warn"  # can lower it to warn at most
    INFO = "info"  # never changes it

    def __str__(self) -> str:
        return self.value


class OnMissing(str, enum.Enum):
    """What a rule becomes when its data cannot be had."""

    FAIL = "fail"  # outcome `error`
    WARN = "warn"  # outcome `warn`
    SKIP = "skip"  # outcome `skipped`

    def __str__(self) -> str:
        return self.value


#: Selection keys in the order they are displayed.
SELECT_KEYS = ("source", "marker", "path", "nodeid", "classname", "name")


class Selection(NamedTuple):
    """Which tests (or source files, for coverage metrics) a rule looks at.

    Every key is optional; set keys must all match (logical AND). Globs use
    `*` within one path segment and `**` across segments.
    """

    source: str | None = None
    marker: str | None = None
    path: str | None = None
    nodeid: str | None = None
    classname: str | None = None
    name: str | None = None

    @property
    def is_empty(self) -> bool:
        return all(getattr(self, k) is None for k in SELECT_KEYS)

    def to_json(self) -> dict[str, str]:
        return {k: v for k in SELECT_KEYS if (v := getattr(self, k)) is not None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Selection:
        data = data or {}
        return cls(**{k: str(data[k]) for k in SELECT_KEYS if data.get(k) is not None})

    def describe(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.to_json().items())


class Waiver(NamedTuple):
    """A time-boxed exception: a failing rule becomes `waived` until `expires`."""

    reason: str
    expires: _dt.date

    def expired(self, today: _dt.date) -> bool:
        return today > self.expires

    def to_json(self) -> dict[str, str]:
        return {"reason": self.reason, "expires": self.expires.isoformat()}


class Quarantine(NamedTuple):
    """Known-bad tests: they run and are reported but not counted."""

    nodeid: str  # glob on the test id
    reason: str
    expires: _dt.date


class Relative(NamedTuple):
    """A `max-drop`/`max-rise` bound: in the metric's unit, or a percent of the baseline."""

    amount: float
    percent: bool = False

    def limit(self, baseline: float) -> float:
        return abs(baseline) * self.amount / 100.0 if self.percent else self.amount

    def __str__(self) -> str:
        return f"{_fmt_number(self.amount)}%" if self.percent else _fmt_number(self.amount)


class Rule(NamedTuple):
    """One validated policy rule."""

    name: str
    metric: str
    select: Selection = Selection()
    min: float | None = None
    max: float | None = None
    warn_below: float | None = None
    warn_above: float | None = None
    max_drop: Relative | None = None
    max_rise: Relative | None = None
    level: Level = Level.FAIL
    on_missing: OnMissing = OnMissing.FAIL
    profiles: tuple[str, ...] | None = None
    waiver: Waiver | None = None
    base: str | None = None

    @property
    def is_relative(self) -> bool:
        return self.max_drop is not None or self.max_rise is not None

    def threshold_json(self) -> dict[str, Any]:
        """The rule's bounds as they appear in the verdict (`rules[].threshold`)."""
        out: dict[str, Any] = {}
        for key, value in (
            ("min", self.min),
            ("max", self.max),
            ("warn-below", self.warn_below),
            ("warn-above", self.warn_above),
        ):
            if value is not None:
                out[key] = value
        if self.max_drop is not None:
            out["max-drop"] = str(self.max_drop)
        if self.max_rise is not None:
            out["max-rise"] = str(self.max_rise)
        return out

    def describe_threshold(self) -> str:
        parts = []
        if self.min is not None:
            parts.append(f">= {_fmt_number(self.min)}")
        if self.max is not None:
            parts.append(f"<= {_fmt_number(self.max)}")
        if self.warn_below is not None:
            parts.append(f"warn < {_fmt_number(self.warn_below)}")
        if self.warn_above is not None:
            parts.append(f"warn > {_fmt_number(self.warn_above)}")
        if self.max_drop is not None:
            parts.append(f"drop <= {self.max_drop}")
        if self.max_rise is not None:
            parts.append(f"rise <= {self.max_rise}")
        return ", ".join(parts) or "-"


class Measurement(NamedTuple):
    """A metric's value for one rule's selection, as a source measured it.

    `value is None` means the data could not be had; `missing` says why. A
    source never turns missing data into a zero.
    """

    value: float | None
    message: str = ""
    precision: int | None = None  # compare and display at this many decimals
    missing: str | None = None
    #: The data came back but cannot be one value: outcome `error` whatever on-missing says.
    invalid: bool = False

    @classmethod
    def absent(cls, reason: str) -> Measurement:
        return cls(value=None, missing=reason)


class MetricInfo(NamedTuple):
    """A metric a source provides, for validation, suggestions and docs."""

    name: str
    description: str = ""
    unit: str = ""


class RuleResult(NamedTuple):
    """A rule after evaluation: what the verdict reports for it."""

    name: str
    metric: str
    select: Selection
    actual: float | None
    threshold: dict[str, Any]
    baseline: float | None
    outcome: Outcome
    message: str
    level: Level = Level.FAIL
    waiver: Waiver | None = None
    precision: int | None = None

    def to_json(self) -> dict[str, Any]:
        from .bounds import clip_message, clip_name, json_safe

        return {
            "name": clip_name(self.name),
            "metric": clip_name(self.metric),
            "select": {k: clip_name(v) for k, v in self.select.to_json().items()},
            "actual": json_safe(self.actual),
            "threshold": json_safe(self.threshold),
            "baseline": json_safe(self.baseline),
            "outcome": self.outcome.value,
            "level": self.level.value,
            "message": clip_message(self.message),
            "waiver": self.waiver.to_json() if self.waiver else None,
            "precision": self.precision,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RuleResult:
        waiver = data.get("waiver")
        return cls(
            name=str(data["name"]),
            metric=str(data["metric"]),
            select=Selection.from_json(data.get("select")),
            actual=data.get("actual"),
            threshold=dict(data.get("threshold") or {}),
            baseline=data.get("baseline"),
            outcome=Outcome(data["outcome"]),
            message=str(data.get("message", "")),
            level=Level(data.get("level", "fail")),
            waiver=(
                Waiver(str(waiver["reason"]), _dt.date.fromisoformat(str(waiver["expires"])))
                if waiver
                else None
            ),
            precision=data.get("precision"),
        )

    def display_actual(self) -> str:
        return format_value(self.actual, self.precision)

    def display_baseline(self) -> str:
        return format_value(self.baseline, self.precision)


class Verdict(NamedTuple):
    """The gate's one answer, with everything needed to explain it."""

    verdict: Outcome
    profile: str
    policy: str
    rules: tuple[RuleResult, ...]
    metrics: dict[str, float]
    context: dict[str, Any]
    started_at: str
    finished_at: str
    tool_version: str
    warnings: tuple[str, ...] = ()
    warn_as: str = "success"
    #: Runtime-metric evidence (SPEC §10): metric name → provider, query, samples.
    runtime: dict[str, Any] | None = None
    #: Failing and erroring tests (`nodeid`, `source`, `outcome`, `message`), the first 1,000.
    failures: tuple[dict[str, Any], ...] = ()
    failures_omitted: int = 0  # failing tests beyond those listed
    #: Tests that failed, then passed on a rerun (`nodeid`, `source`), the first 1,000.
    flaky: tuple[dict[str, Any], ...] = ()
    flaky_omitted: int = 0
    #: Why this run could not be added to the history (None: recorded, or no history).
    history_error: str | None = None
    #: Coverage report files whose paths map to no project file (SPEC §9).
    coverage_unmapped: tuple[Mapping[str, Any], ...] = ()

    @property
    def failed_rules(self) -> list[RuleResult]:
        return [r for r in self.rules if r.outcome in (Outcome.FAIL, Outcome.ERROR)]

    @property
    def exit_code(self) -> ExitCode:
        """SPEC §3: pass/warn → 0 (warn → 1 with warn-as = failure), fail → 1, error → 3."""
        if self.verdict is Outcome.ERROR:
            return ExitCode.ERROR
        if self.verdict is Outcome.FAIL:
            return ExitCode.FAILED
        if self.verdict is Outcome.WARN and self.warn_as == "failure":
            return ExitCode.FAILED
        return ExitCode.OK

    @property
    def is_success(self) -> bool:
        """Whether a pass/fail-only consumer (CodePipeline) should hear success."""
        return self.exit_code is ExitCode.OK

    def headline(self) -> str:
        """`releasegate: FAIL — 2 of 9 rules failed (pyproject.toml, profile ci)`."""
        total = len(self.rules)
        where = f"({self.policy}, profile {self.profile})"
        word = self.verdict.value.upper()
        if self.verdict is Outcome.ERROR:
            n = sum(r.outcome is Outcome.ERROR and r.level is not Level.INFO for r in self.rules)
            detail = f"{n} of {total} rules could not be evaluated"
        elif self.verdict is Outcome.FAIL:
            n = sum(r.outcome is Outcome.FAIL and r.level is Level.FAIL for r in self.rules)
            detail = f"{n} of {total} rules failed"
        elif self.verdict is Outcome.WARN:
            n = sum(
                r.outcome in (Outcome.WARN, Outcome.FAIL, Outcome.ERROR)
                and r.level is not Level.INFO
                for r in self.rules
            )
            detail = f"{n} of {total} rules warned"
        else:
            passed = sum(r.outcome is Outcome.PASS for r in self.rules)
            detail = f"{passed} of {total} rules passed" if total else "no rules"
            others = [
                f"{n} {o.value}"
                for o in (Outcome.WAIVED, Outcome.SKIPPED)
                if (n := sum(r.outcome is o for r in self.rules))
            ]
            broken = (Outcome.WARN, Outcome.FAIL, Outcome.ERROR)
            if n := sum(r.level is Level.INFO and r.outcome in broken for r in self.rules):
                others.append(f"{n} info")
            if others:
                detail += f" ({', '.join(others)}, not blocking)"
        return f"releasegate: {word} \u2014 {detail} {where}"

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data: every number finite (else null), names and messages bounded."""
        from .bounds import clip_message, json_safe

        out: dict[str, Any] = {
            "schema": VERDICT_SCHEMA,
            "verdict": self.verdict.value,
            "profile": self.profile,
            "policy": self.policy,
            "warn_as": self.warn_as,
            "rules": [r.to_json() for r in self.rules],
            "metrics": json_safe(dict(self.metrics)),
            "context": json_safe(dict(self.context)),
            "warnings": [clip_message(str(w)) for w in self.warnings],
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "tool_version": self.tool_version,
            **({"runtime": json_safe(self.runtime)} if self.runtime else {}),
            "failures": list(self.failures),
            "failures_omitted": self.failures_omitted,
            "flaky": list(self.flaky),
            "flaky_omitted": self.flaky_omitted,
            **({"history_error": self.history_error} if self.history_error else {}),
        }
        if self.coverage_unmapped:
            out["coverage_unmapped"] = list(self.coverage_unmapped)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Verdict:
        """Read a verdict (or baseline) JSON; raises ValueError when it is not one."""
        if not isinstance(data, Mapping) or data.get("schema") != VERDICT_SCHEMA:
            raise ValueError(f"not a releasegate verdict (expected schema {VERDICT_SCHEMA!r})")
        try:
            return cls(
                verdict=Outcome(data["verdict"]),
                profile=str(data.get("profile", "")),
                policy=str(data.get("policy", "")),
                rules=tuple(RuleResult.from_json(r) for r in data.get("rules", [])),
                metrics=dict(data.get("metrics") or {}),
                context=dict(data.get("context") or {}),
                started_at=str(data.get("started_at", "")),
                finished_at=str(data.get("finished_at", "")),
                tool_version=str(data.get("tool_version", "")),
                warnings=tuple(data.get("warnings") or ()),
                warn_as=str(data.get("warn_as", "success")),
                runtime=dict(data["runtime"]) if data.get("runtime") else None,
                failures=tuple(data.get("failures") or ()),
                failures_omitted=int(data.get("failures_omitted") or 0),
                flaky=tuple(data.get("flaky") or ()),
                flaky_omitted=int(data.get("flaky_omitted") or 0),
                history_error=data.get("history_error"),
                coverage_unmapped=tuple(data.get("coverage_unmapped") or ()),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed verdict JSON: {exc}") from None


class TestRecord:
    """One test's final result: a compact record, O(1) to update per report.

    `outcome` is one of passed, failed, error, skipped, xfailed, xpassed, or
    ``running`` while a pytest test has not reported its result yet (such a
    record is not counted). `subtests` holds ``[passed, failed, skipped]``
    subtest counts once the test reported a subtest, else None.
    """

    __slots__ = (
        "call",
        "classname",
        "duration",
        "flaky",
        "markers",
        "message",
        "nodeid",
        "outcome",
        "path",
        "source",
        "subtests",
    )
    __test__ = False  # not a pytest test class

    def __init__(
        self,
        nodeid: str,
        outcome: str,
        duration: float = 0.0,
        markers: tuple[str, ...] = (),
        flaky: bool = False,
        source: str = "pytest",
        path: str | None = None,
        classname: str | None = None,
        message: str | None = None,
    ) -> None:
        self.nodeid = nodeid
        self.outcome = outcome
        self.duration = duration
        self.markers = markers
        self.flaky = flaky
        self.source = source
        self.path = path
        self.classname = classname
        self.subtests: list[int] | None = None
        #: The pytest adapter's last call-phase report of the current attempt (not data).
        self.call: Any = None
        #: The first line of a failure's message (set for failed and erroring tests only).
        self.message = message

    @property
    def file(self) -> str:
        """The test's file relative to the project root (`path`, else the nodeid's first part)."""
        return self.path if self.path is not None else self.nodeid.split("::", 1)[0]

    @property
    def name(self) -> str:
        return self.nodeid.rsplit("::", 1)[-1]

    def __repr__(self) -> str:
        return f"TestRecord({self.nodeid!r}, {self.outcome!r}, source={self.source!r})"


TEST_OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")


def _fmt_number(value: float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def format_value(value: float | None, precision: int | None = None) -> str:
    """Display a metric value: `precision` decimals when given, else compact."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if precision is not None:
        # As coverage.py displays percents: rounding never shows 0 or 100
        # for a value that is not exactly that.
        near0 = 1.0 / 10**precision
        if 0 < value < near0:
            value = near0
        elif 100.0 - near0 < value < 100:
            value = 100.0 - near0
        return f"{value:.{precision}f}"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return str(value)


def verdict_schema() -> dict[str, Any]:
    """The JSON Schema of the verdict (shipped in the package)."""
    import json
    from importlib.resources import files

    text = files("pytest_releasegate").joinpath("schemas/verdict.schema.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data

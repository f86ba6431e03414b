"""Runtime metrics (``[[metric]]``, SPEC §10): sampled from CloudWatch and Prometheus, judged.

When samples are taken:

* with a bake (the profile has the ``bake`` rule), once per round, right
  after that round's smoke checks: the smoke source calls the hook this
  source leaves in ``gate.data["bake:on_round"]``. A round in which a
  ``fail``-level rule over a runtime metric breaks (or its data is missing
  with ``on-missing = "fail"``) is a bad round for
  ``consecutive-failure-limit``, so a bad deploy stops the bake early;
* without a bake, once after the smoke checks (the single smoke pass calls
  the same hook), or, when no smoke source runs, once when the first rule is
  measured.

The samples live in the bake state (``BakeState.extra["runtime"]``), so a
bake carried across processes (the Lambda's and the worker's continuation
jobs) keeps every sample.

What a rule sees: the *worst* sample over the run — the highest for an
upper bound (``max``, ``warn-above``), the lowest for a lower one — unless
the metric says ``aggregate = "last"`` or ``"avg"``. A sample without data
takes the metric's ``fill`` when it has one (no datapoints, an empty
vector, NaN: "no traffic"), never for a backend that failed. Missing
samples make the rule's data missing (``on-missing`` decides) unless the
samples that exist already break a ``fail`` bound: a breach is a finding.
A Prometheus answer with several series is an ``error`` whatever
``on-missing`` says.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import hookimpl
from ..model import Level, Measurement, OnMissing, Rule, format_value
from ..runtime_policy import RuntimeMetric
from .runtime_remote import SAMPLER_ENV, RemoteSampler
from .runtime_sample import Sample

if TYPE_CHECKING:
    from ..engine import Gate
    from .bake import BakeState

RUN_KEY = "runtime:run"
EVIDENCE_KEY = "runtime:evidence"
#: The hook the smoke source calls after each bake round (and after a single pass).
ON_ROUND_KEY = "bake:on_round"
#: Key of the runtime samples inside ``BakeState.extra``.
STATE_KEY = "runtime"
RUNTIME_SCHEMA = "releasegate.runtime/1"
#: Samples a continuation token carries at most, over all metrics (the newest of each
#: metric; the aggregates the rules judge always cover every sample).
TOKEN_SAMPLES = 48
_EPS = 1e-9


@dataclass
class Series:
    """Every sample of one metric, with running aggregates that survive trimming."""

    samples: list[Sample] = field(default_factory=list)
    dropped: int = 0
    count: int = 0
    with_value: int = 0
    total: float = 0.0
    high: float | None = None
    low: float | None = None
    last: Sample | None = None
    missing: int = 0
    missing_reason: str = ""
    invalid_reason: str = ""

    def add(self, s: Sample) -> None:
        self.samples.append(s)
        self.count += 1
        self.last = s
        if s.value is not None:
            self.with_value += 1
            self.total += s.value
            self.high = s.value if self.high is None else max(self.high, s.value)
            self.low = s.value if self.low is None else min(self.low, s.value)
            return
        self.missing += 1
        if s.kind == "invalid" and not self.invalid_reason:
            self.invalid_reason = s.reason
        if not self.missing_reason:
            self.missing_reason = s.reason

    def to_json(self) -> dict[str, Any]:
        return {
            "s": [s.to_json() for s in self.samples],
            "d": self.dropped,
            "n": self.count,
            "v": self.with_value,
            "t": self.total,
            "hi": self.high,
            "lo": self.low,
            "last": None if self.last is None else self.last.to_json(),
            "m": self.missing,
            "mr": self.missing_reason,
            "ir": self.invalid_reason,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Series:
        last = data.get("last")
        return cls(
            samples=[Sample.from_json(s) for s in data.get("s", ())],
            dropped=int(data.get("d", 0)),
            count=int(data.get("n", 0)),
            with_value=int(data.get("v", 0)),
            total=float(data.get("t", 0.0)),
            high=None if data.get("hi") is None else float(data["hi"]),
            low=None if data.get("lo") is None else float(data["lo"]),
            last=None if last is None else Sample.from_json(last),
            missing=int(data.get("m", 0)),
            missing_reason=str(data.get("mr", "")),
            invalid_reason=str(data.get("ir", "")),
        )

    def trim(self, keep: int) -> None:
        """Keep the newest ``keep`` samples (the aggregates still cover all of them)."""
        if len(self.samples) > keep:
            self.dropped += len(self.samples) - keep
            self.samples = self.samples[len(self.samples) - keep :] if keep else []


@dataclass
class RuntimeState:
    """The samples of every runtime metric so far; JSON for the bake state."""

    series: dict[str, Series] = field(default_factory=dict)

    def add(self, samples: Mapping[str, Sample]) -> None:
        for name, s in samples.items():
            self.series.setdefault(name, Series()).add(s)

    def to_json(self, *, samples: bool = True) -> dict[str, Any]:
        """``samples=False``: bounded for a continuation token (≤ 2,048 characters): each
        metric keeps its newest samples, ``TOKEN_SAMPLES`` in all, the older ones counted
        in ``samples_dropped``; the aggregates the rules judge still cover every sample."""
        series = self.series
        if not samples and series:
            keep = max(1, TOKEN_SAMPLES // len(series))
            series = {k: dataclasses.replace(v, samples=list(v.samples)) for k, v in series.items()}
            for s in series.values():
                s.trim(keep)
        return {"schema": RUNTIME_SCHEMA, "series": {k: v.to_json() for k, v in series.items()}}

    @classmethod
    def from_json(cls, data: Any) -> RuntimeState:
        """Raises ValueError for anything :meth:`to_json` did not write."""
        if not isinstance(data, Mapping) or data.get("schema") != RUNTIME_SCHEMA:
            raise ValueError(f"not a runtime-metric state (expected schema {RUNTIME_SCHEMA!r})")
        try:
            return cls({str(k): Series.from_json(v) for k, v in data["series"].items()})
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise ValueError(f"malformed runtime-metric state: {exc!r}") from None


# -- sampling -------------------------------------------------------------------


class RuntimeSampler:
    """Takes one sample of every declared metric: the providers, clients kept across rounds."""

    def __init__(self, metrics: Sequence[RuntimeMetric], environ: Mapping[str, str]) -> None:
        self.metrics = {m.name: m for m in metrics}
        self.remote: Any = None
        self.cloudwatch: Any = None
        self.prometheus: Any = None
        url = environ.get(SAMPLER_ENV)
        if url:  # a CodePipeline gate child: the job runner, which holds the credentials, samples
            self.remote = RemoteSampler(url, list(self.metrics))
            return
        cloudwatch = [m for m in metrics if m.provider == "cloudwatch"]
        prometheus = [m for m in metrics if m.provider == "prometheus"]
        if cloudwatch:
            from .cloudwatch_metrics import CloudWatchSampler

            self.cloudwatch = CloudWatchSampler(cloudwatch, environ)
        if prometheus:
            from .prometheus import PrometheusSampler

            self.prometheus = PrometheusSampler(prometheus, environ)

    def sample(self) -> dict[str, Sample]:
        """One sample per metric, ``fill`` applied to samples without data."""
        if self.remote is not None:
            return dict(self.remote.sample())
        out: dict[str, Sample] = {}
        if self.cloudwatch is not None:
            out.update(self.cloudwatch.sample())
        if self.prometheus is not None:
            out.update(self.prometheus.sample())
        for name, s in out.items():
            fill = self.metrics[name].fill
            if s.kind == "nodata" and fill is not None:
                out[name] = s._replace(value=fill, kind="filled")
        return out

    def as_sent(self, metric: RuntimeMetric) -> Any:
        if self.remote is not None:
            return self.remote.as_sent(metric.name)
        provider = self.cloudwatch if metric.provider == "cloudwatch" else self.prometheus
        return provider.as_sent(metric.name)

    def close(self) -> None:
        if self.prometheus is not None:
            self.prometheus.close()


# -- judging ----------------------------------------------------------------------


def _upper(rule: Rule) -> bool:
    return rule.max is not None or rule.warn_above is not None or rule.max_rise is not None


def _lower(rule: Rule) -> bool:
    return rule.min is not None or rule.warn_below is not None or rule.max_drop is not None


def breach(rule: Rule, value: float) -> str | None:
    """How ``value`` breaks the rule's fail bounds (``min``/``max``), or None."""
    if rule.max is not None and value > rule.max + _EPS:
        return f"{format_value(value)} is above max {format_value(rule.max)}"
    if rule.min is not None and value < rule.min - _EPS:
        return f"{format_value(value)} is below min {format_value(rule.min)}"
    return None


def round_failures(
    rules: Iterable[Rule], samples: Mapping[str, Sample], today: _dt.date
) -> list[str]:
    """Why this round is bad: each ``fail``-level, unwaived rule whose sample breaks it."""
    out = []
    for rule in rules:
        s = samples.get(rule.metric)
        if s is None or rule.level is not Level.FAIL:
            continue
        if rule.waiver is not None and not rule.waiver.expired(today):
            continue
        if s.value is None:
            if s.kind == "invalid" or rule.on_missing is OnMissing.FAIL:
                out.append(f"{rule.metric}: {s.reason}")
            continue
        problem = breach(rule, s.value)
        if problem:
            out.append(f"{rule.metric} {problem} (rule {rule.name!r})")
    return out


def measure(rule: Rule, metric: RuntimeMetric, series: Series | None) -> Measurement:
    """The rule's measurement over every sample (see the module docstring)."""
    if series is None or not series.count:
        return Measurement.absent(f"no sample of {metric.name} was taken")
    if series.invalid_reason:
        return Measurement(None, missing=series.invalid_reason, invalid=True)
    n = series.count
    if metric.aggregate == "last":
        last = series.last
        assert last is not None
        if last.value is None:
            return Measurement.absent(last.reason)
        return Measurement(last.value, message=f"last of {_samples(n)}")
    if not series.with_value:
        more = f" ({series.missing} of {n} samples)" if n > 1 else ""
        return Measurement.absent(series.missing_reason + more)
    if metric.aggregate == "avg":
        value, word = series.total / series.with_value, "average"
    elif _upper(rule) and (not _lower(rule) or breach(rule, series.high or 0.0)):
        value, word = float(series.high or 0.0), "highest"
    elif _lower(rule):
        value, word = float(series.low or 0.0), "lowest"
    else:
        value, word = float(series.high or 0.0), "highest"
    message = f"{word} of {_samples(series.with_value)}"
    if series.missing:
        gap = f"{series.missing} of {n} samples had no data: {series.missing_reason}"
        if breach(rule, value) is None:
            return Measurement.absent(gap)
        message += f"; {gap}"
    return Measurement(value, message=message)


def _samples(n: int) -> str:
    return "1 sample" if n == 1 else f"{n} samples"


# -- the gate run -------------------------------------------------------------------


class RuntimeRun:
    """One gate run's runtime metrics: the sampler, the samples, the round judge."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.metrics = {m.name: m for m in gate.policy.runtime_metrics}
        self.rules = [r for r in gate.rules if r.metric in self.metrics]
        self.sampler: RuntimeSampler | None = None
        self.state: RuntimeState | None = None
        self.problem: str | None = None

    def _sampler(self) -> RuntimeSampler:
        if self.sampler is None:
            self.sampler = RuntimeSampler(list(self.metrics.values()), self.gate.environ)
        return self.sampler

    def take_sample(self) -> dict[str, Sample]:
        try:
            samples = self._sampler().sample()
        except Exception as exc:  # noqa: BLE001 - a provider's crash is missing data, not a traceback
            now = time.time()
            # The type only: the text could quote a ${VAR} value.
            why = f"internal error sampling the runtime metrics: {type(exc).__name__}"
            samples = {name: Sample(now, None, "failed", why) for name in self.metrics}
        if self.state is None:
            self.state = RuntimeState()
        self.state.add(samples)
        return samples

    def on_round(self, bake: BakeState) -> list[str]:
        """After a round's smoke checks: sample, keep the samples in the bake state, judge."""
        if self.state is None:
            saved = bake.extra.get(STATE_KEY)
            try:
                if isinstance(saved, RuntimeState):
                    self.state = saved
                elif saved is not None:
                    self.state = RuntimeState.from_json(saved)
            except ValueError as exc:
                self.problem = f"cannot resume the runtime samples: {exc}"
        samples = self.take_sample()
        # The live state: the bake state writes it (bounded for a token) when it is saved.
        bake.extra[STATE_KEY] = self.state
        today = _dt.datetime.now(_dt.timezone.utc).date()
        return round_failures(self.rules, samples, today)

    def ensure_sampled(self) -> None:
        if self.state is None and self.problem is None:
            self.take_sample()

    def evidence(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        state = self.state or RuntimeState()
        for name, m in self.metrics.items():
            series = state.series.get(name)
            entry: dict[str, Any] = {
                "provider": m.provider,
                "query": self._sampler().as_sent(m),
                "window": m.window_text or None,
                "aggregate": m.aggregate,
                "fill": m.fill,
                "samples": [_sample_json(s) for s in (series.samples if series else ())],
                "samples_dropped": series.dropped if series else 0,
            }
            if m.provider == "cloudwatch":
                entry["reduce"] = m.reduce
                entry["region"] = m.region
            out[name] = entry
        return out


def _sample_json(s: Sample) -> dict[str, Any]:
    at = _dt.datetime.fromtimestamp(s.at, _dt.timezone.utc).isoformat(timespec="seconds")
    out: dict[str, Any] = {"at": at, "value": s.value}
    if s.kind != "ok":
        out["kind"] = s.kind
    if s.reason:
        out["reason"] = s.reason
    if s.datapoints is not None:
        out["datapoints"] = s.datapoints
    return out


def _run(gate: Gate) -> RuntimeRun | None:
    run = gate.data.get(RUN_KEY)
    return run if isinstance(run, RuntimeRun) else None


def _bake_pending(gate: Gate) -> bool:
    from .bake import BakeState

    state = gate.data.get("smoke:bake_state")
    return isinstance(state, BakeState) and not state.finished


@hookimpl(tryfirst=True)
def releasegate_collect(gate: Gate) -> None:
    """Before the smoke checks run: leave the round hook for the bake (or single pass)."""
    names = {m.name for m in gate.policy.runtime_metrics}
    if not any(r.metric in names for r in gate.rules):
        return
    run = RuntimeRun(gate)
    gate.data[RUN_KEY] = run
    gate.data[ON_ROUND_KEY] = run.on_round


@hookimpl
def releasegate_measure(gate: Gate, rule: Rule) -> Measurement | None:
    run = _run(gate)
    if run is None or rule.metric not in run.metrics:
        return None
    if run.problem:
        return Measurement.absent(run.problem)
    if _bake_pending(gate):
        return Measurement.absent("the bake is still running")
    run.ensure_sampled()
    series = run.state.series.get(rule.metric) if run.state else None
    return measure(rule, run.metrics[rule.metric], series)


@hookimpl
def releasegate_metrics(gate: Gate) -> dict[str, float]:
    """The verdict's flat values (worst as the rules see it) and, aside, the evidence."""
    run = _run(gate)
    if run is None:
        return {}
    # Evidence even before the first sample: its keys tell a job runner which rules
    # wait for the bake.
    gate.data[EVIDENCE_KEY] = run.evidence()
    out: dict[str, float] = {}
    if run.state is None:
        return out
    for name, m in run.metrics.items():
        series = run.state.series.get(name)
        if series is None or not series.with_value:
            continue
        if m.aggregate == "last":
            if series.last is not None and series.last.value is not None:
                out[name] = series.last.value
        elif m.aggregate == "avg":
            out[name] = series.total / series.with_value
        else:
            rules = [r for r in run.rules if r.metric == name]
            only_lower = bool(rules) and all(_lower(r) and not _upper(r) for r in rules)
            out[name] = float((series.low if only_lower else series.high) or 0.0)
    if run.sampler is not None:
        run.sampler.close()
    return out

"""The job worker's options, declared once.

``releasegate worker --help``, :class:`~.worker.WorkerConfig`'s defaults and
the job runner's defaults (:class:`~.runner.JobLimits`, the credential age,
the artifact caps) all come from :data:`OPTIONS`, as :mod:`pytest_releasegate.options`
does for the gate's own flags. Kept import-light.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from .action_type import CATEGORIES

if TYPE_CHECKING:
    from ..runtime_policy import RuntimeMetric

#: CloudWatch metric math functions that compute on their arguments only. SEARCH,
#: SERVICE_QUOTA, INSIGHT_RULE_METRIC and DB_PERF_INSIGHTS read other data: never listed.
_PURE_MATH = frozenset(
    [
        "ABS",
        "AND",
        "ANOMALY_DETECTION_BAND",
        "ASC",
        "AVG",
        "CEIL",
        "DATAPOINT_COUNT",
        "DATE",
        "DAY",
        "DESC",
        "DIFF",
        "DIFF_TIME",
        "EPOCH",
        "FILL",
        "FIRST",
        "FLOOR",
        "HOUR",
        "IF",
        "LAST",
        "LINEAR",
        "LOG",
        "LOG10",
        "MAX",
        "METRIC_COUNT",
        "METRICS",
        "MIN",
        "MINUTE",
        "MONTH",
        "NOT",
        "OR",
        "PERIOD",
        "RATE",
        "REMOVE_EMPTY",
        "REPEAT",
        "RUNNING_SUM",
        "SLICE",
        "SORT",
        "STDDEV",
        "SUM",
        "TIME_SERIES",
        "YEAR",
    ]
)
_NUMBER = re.compile(r"(?<![A-Za-z_])\d+(?:\.\d*)?(?:[eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class RuntimeMetrics(NamedTuple):
    """Which of a job's runtime metrics the worker samples with its own credentials
    (``--runtime-metrics``): ``all``, ``off``, or a list of CloudWatch namespaces and
    ``prometheus``. ``GetMetricData`` takes no resource ARN, so the worker's role alone
    cannot limit what a job's policy reads; this can."""

    everything: bool = True
    namespaces: frozenset[str] = frozenset()
    prometheus: bool = False

    @classmethod
    def parse(cls, text: str) -> RuntimeMetrics:
        value = text.strip()
        if value.lower() == "all":
            return cls()
        if value.lower() == "off":
            return cls(everything=False)
        items = {part.strip() for part in value.split(",")}
        if "" in items:
            raise ValueError(
                f"expected all, off or a comma list of CloudWatch namespaces and 'prometheus', "
                f"not {text!r}"
            )
        return cls(False, frozenset(items - {"prometheus"}), "prometheus" in items)

    def __str__(self) -> str:
        if self.everything:
            return "all"
        items = sorted(self.namespaces) + (["prometheus"] if self.prometheus else [])
        return ",".join(items) or "off"

    def refusal(self, metric: RuntimeMetric) -> str | None:
        """Why the worker does not sample ``metric`` for a job, or None."""
        if self.everything:
            return None
        why = f"the worker samples only --runtime-metrics {self}"
        if metric.provider == "prometheus":
            return None if self.prometheus else f"Prometheus metrics are not sampled: {why}"
        ids = {q.id for q in metric.queries}
        for q in metric.queries:
            if q.expression is None:
                if q.namespace not in self.namespaces:
                    return f"query {q.id!r}: namespace {q.namespace!r} is not sampled: {why}"
                continue
            if any(c in q.expression for c in "\"'{}$"):
                return (
                    f"query {q.id!r}: an expression with strings or ${{VAR}} is not sampled: {why}"
                )
            for name in _NAME.findall(_NUMBER.sub(" ", q.expression)):
                if name not in ids and name.upper() not in _PURE_MATH:
                    return (
                        f"query {q.id!r}: {name} in its expression is not sampled (only the "
                        f"metric's own queries and arithmetic): {why}"
                    )
        return None


def runtime_metrics(value: str) -> RuntimeMetrics:
    try:
        return RuntimeMetrics.parse(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def query_value(value: str) -> tuple[str, str]:
    key, sep, val = value.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, not {value!r}")
    return key, val


def seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {value!r}")
    return number


class WorkerOption(NamedTuple):
    name: str  # the WorkerConfig field
    default: Any
    help: str  # without the default: add_arguments appends it
    type: Callable[[str], Any] | None = None
    metavar: str | None = None
    flag: str | None = None  # when not --NAME (dashes)
    extra: Mapping[str, Any] = {}

    @property
    def option(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")


OPTIONS = (
    WorkerOption(
        "provider",
        None,
        "the custom action type's provider (e.g. ReleaseGate)",
        extra={"required": True},
    ),
    WorkerOption("category", "Test", "its category", extra={"choices": CATEGORIES}),
    WorkerOption("version", "1", "its version"),
    WorkerOption(
        "query",
        None,
        "take only jobs whose queryable property KEY equals VALUE (required when the "
        "action type has one, as GateId of register-action-type)",
        query_value,
        "KEY=VALUE",
    ),
    WorkerOption("concurrency", 1, "jobs at once", int, "N"),
    WorkerOption(
        "poll_interval",
        10.0,
        "seconds between polls while the queue is empty, ±50%% jitter",
        seconds,
        "S",
    ),
    WorkerOption(
        "max_backoff", 120.0, "longest wait after throttling or a service error", seconds, "S"
    ),
    WorkerOption(
        "job_timeout",
        3600.0,
        "time limit of one gate run; its process group is killed then",
        seconds,
        "S",
    ),
    WorkerOption(
        "grace_period",
        60.0,
        "on SIGTERM/SIGINT, time the jobs in hand get to finish",
        seconds,
        "S",
    ),
    WorkerOption(
        "bake_pass",
        600.0,
        "bake rounds one job may run before handing over in a continuation",
        seconds,
        "S",
    ),
    WorkerOption(
        "credentials_max_age",
        600.0,
        "refresh a job's artifact credentials (GetJobDetails) after this long",
        seconds,
        "S",
    ),
    WorkerOption(
        "max_artifact_bytes",
        1 << 30,
        "cap on the input artifact, zipped and unpacked",
        int,
        "BYTES",
        flag="--max-artifact-size",
    ),
    WorkerOption("max_artifact_files", 20_000, "cap on the input artifact's entries", int, "N"),
    WorkerOption(
        "once",
        False,
        "one poll: work the jobs it returns, then exit",
        extra={"action": "store_true"},
    ),
    WorkerOption("log_format", "text", "log lines", extra={"choices": ("text", "json")}),
    WorkerOption(
        "health_port",
        None,
        "answer GET /healthz on 127.0.0.1:P while the poll loop is alive (0: any port)",
        int,
        "P",
    ),
    WorkerOption(
        "work_dir",
        None,
        "where jobs unpack (default: a new temporary directory)",
        metavar="DIR",
    ),
    # Reproducible jitter, for tests.
    WorkerOption("jitter_seed", None, argparse.SUPPRESS, int),
    WorkerOption(
        "child_uids",
        "61000-61063",
        "when the worker can switch users (root, or CAP_SETUID+CAP_SETGID), run each job "
        "slot's gate child as one of these uids, used by nothing else ('off': as the "
        "worker's own uid)",
        metavar="START-END",
    ),
    WorkerOption(
        "allow_shared_uid",
        False,
        "allow --concurrency above 1 when gate children share the worker's uid (concurrent "
        "jobs can then reach each other's files and processes)",
        extra={"action": "store_true"},
    ),
    WorkerOption(
        "python",
        None,
        "the gate children's interpreter, with pytest and releasegate installed, executable "
        "by the child uids (default: this worker's)",
        metavar="PATH",
    ),
    WorkerOption(
        "runtime_metrics",
        RuntimeMetrics(),
        "which runtime metrics of a job's policy the worker samples with its own "
        "credentials: all, off, or a comma list of CloudWatch namespaces and 'prometheus' "
        "(a job's policy can otherwise read any metric the worker's role may read)",
        runtime_metrics,
        "all|off|LIST",
    ),
    WorkerOption(
        "max_retry_time",
        600.0,
        "how long a lost acknowledgement, or throttling while publishing a result, is retried",
        seconds,
        "S",
    ),
)
DEFAULTS: Mapping[str, Any] = {o.name: o.default for o in OPTIONS}


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int) and value >= 1 << 30 and value % (1 << 30) == 0:
        return f"{value >> 30} GiB"
    return str(value)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare every worker option on ``parser``."""
    for o in OPTIONS:
        kwargs: dict[str, Any] = {"dest": o.name, **o.extra}
        kwargs["help"] = o.help
        if o.default not in (None, False) and o.help != argparse.SUPPRESS:
            kwargs["help"] += f" (default: {_shown(o.default)})"
        if "action" not in o.extra:
            kwargs["default"] = o.default
            if o.type is not None:
                kwargs["type"] = o.type
            if o.metavar:
                kwargs["metavar"] = o.metavar
        parser.add_argument(o.option, **kwargs)

"""``[[tool.releasegate.metric]]``: runtime metrics read from CloudWatch or Prometheus.

Parsing and validation only (no I/O, no boto3, no requests): the policy
loader calls :func:`parse_runtime_metrics` before it validates the rules, so
the names declared here are metrics the rules may use. The typed values
below are what the runtime source (:mod:`pytest_releasegate.sources.runtime`)
samples. SPEC §10; docs/metrics.md says the same for users.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

PROVIDERS = ("cloudwatch", "prometheus")
REDUCERS = ("max", "min", "avg", "sum", "last")
AGGREGATES = ("worst", "last", "avg")
COMMON_KEYS = ("name", "provider", "description", "unit", "fill", "aggregate", "timeout")
CLOUDWATCH_KEYS = (*COMMON_KEYS, "window", "reduce", "region", "queries")
PROMETHEUS_KEYS = (*COMMON_KEYS, "url", "query", "headers")
QUERY_KEYS = (
    "id",
    "namespace",
    "metric",
    "dimensions",
    "stat",
    "period",
    "unit",
    "expression",
    "return",
)
#: Metric-name prefixes owned by the built-in sources.
RESERVED_PREFIXES = ("tests.", "coverage.", "smoke.", "alarms.")
DEFAULT_WINDOW = 300.0
DEFAULT_REDUCE = "max"
DEFAULT_AGGREGATE = "worst"
DEFAULT_PERIOD = 60
DEFAULT_TIMEOUT = 10.0
#: GetMetricData takes at most this many queries in one call.
MAX_QUERIES_PER_CALL = 500

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]*")
_QUERY_ID = re.compile(r"[a-z][A-Za-z0-9_]*")
_STAT = re.compile(
    r"SampleCount|Average|Sum|Minimum|Maximum|IQM"
    r"|(?:p|tm|wm|tc|ts|TM|WM|TC|TS|PR)\(?[0-9.:%\-]*\)?"
)
_STAT_NAMES = ("SampleCount", "Average", "Sum", "Minimum", "Maximum", "p99", "p95", "p50")


class CloudWatchQuery(NamedTuple):
    """One ``MetricDataQuery``: a ``MetricStat`` (namespace, metric, stat) or an ``expression``.

    String fields may hold ``${VAR}``, expanded when the query is sent.
    """

    id: str
    namespace: str | None = None
    metric: str | None = None
    dimensions: tuple[tuple[str, str], ...] = ()
    stat: str | None = None
    period: int = DEFAULT_PERIOD
    unit: str | None = None
    expression: str | None = None
    returns: bool = True


class RuntimeMetric(NamedTuple):
    """A validated ``[[metric]]`` table.

    ``window`` is in seconds (CloudWatch only: how far each sample looks
    back); ``window_text`` is how the policy spelled it, for messages.
    """

    name: str
    provider: str
    window: float = DEFAULT_WINDOW
    window_text: str = "5m"
    reduce: str = DEFAULT_REDUCE
    fill: float | None = None
    aggregate: str = DEFAULT_AGGREGATE
    timeout: float = DEFAULT_TIMEOUT
    description: str = ""
    unit: str = ""
    # cloudwatch
    region: str | None = None
    queries: tuple[CloudWatchQuery, ...] = ()
    # prometheus
    url: str | None = None
    query: str | None = None
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def returning(self) -> CloudWatchQuery:
        """The one CloudWatch query whose data is the metric's value."""
        return next(q for q in self.queries if q.returns)


def parse_runtime_metrics(
    ck: Any,
    value: Any,
    prefix: str,
    taken: Iterable[str],
    *,
    suggest: Callable[[str, Iterable[str]], str | None],
    duration: Callable[[Any], float | None],
) -> tuple[RuntimeMetric, ...]:
    """Validate the ``metric`` array; problems go to ``ck`` (the policy checker).

    ``taken`` is every metric name the installed sources provide: a runtime
    metric may not shadow one. ``suggest`` and ``duration`` are the policy's
    own closest-spelling and duration parsers, so every section reads alike.
    """
    if value is None:
        return ()
    where = f"{prefix}metric"
    if not isinstance(value, list) or not all(isinstance(m, dict) for m in value):
        ck.err(None, where, "must be an array of tables ([[...metric]])")
        return ()
    from .catalogue import BUILTIN

    builtin = {m.name for m in BUILTIN} | set(taken)
    out: list[RuntimeMetric] = []
    seen: set[str] = set()
    helpers = _Helpers(suggest, duration)
    for index, raw in enumerate(value, start=1):
        metric = _parse_metric(ck, helpers, raw, index, builtin, seen)
        if metric is not None:
            out.append(metric)
    return tuple(out)


class _Helpers(NamedTuple):
    suggest: Callable[[str, Iterable[str]], str | None]
    duration: Callable[[Any], float | None]


def _label(raw: dict[str, Any], index: int) -> str:
    name = raw.get("name")
    return f"metric {name!r}" if isinstance(name, str) and name else f"metric #{index}"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _parse_metric(
    ck: Any, h: _Helpers, raw: dict[str, Any], index: int, builtin: set[str], seen: set[str]
) -> RuntimeMetric | None:
    _suggest, parse_duration = h.suggest, h.duration
    label = _label(raw, index)
    before = len(ck.problems)

    name = raw.get("name")
    if not isinstance(name, str) or not name:
        ck.err(label, "name", 'missing: the metric\'s name for rules, e.g. name = "api.error_rate"')
        name = ""
    elif not _NAME.fullmatch(name):
        ck.err(label, "name", "use letters, digits and . _ : - only (no spaces)")
    elif name in builtin:
        ck.err(
            label,
            "name",
            f"{name!r} is a built-in metric; a runtime metric may not shadow it",
            None,
            "choose another name, e.g. with your service's prefix",
        )
    elif name.startswith(RESERVED_PREFIXES):
        ck.err(
            label,
            "name",
            f"the {name.split('.', 1)[0]}. namespace belongs to built-in metrics",
            None,
            "choose another prefix, e.g. your service's name",
        )
    elif name in seen:
        ck.err(label, "name", "duplicate metric name", None, "give each [[metric]] a unique name")
    seen.add(str(name))

    provider = raw.get("provider")
    if provider not in PROVIDERS:
        if provider is None:
            ck.err(label, "provider", "missing", None, 'provider = "cloudwatch" or "prometheus"')
        else:
            ck.err(
                label,
                "provider",
                f"unknown provider {provider!r}",
                _suggest(str(provider), PROVIDERS),
                f"use one of: {', '.join(PROVIDERS)}",
            )
        ck.keys(raw, (*CLOUDWATCH_KEYS, *PROMETHEUS_KEYS), label, "")
        return None

    allowed = CLOUDWATCH_KEYS if provider == "cloudwatch" else PROMETHEUS_KEYS
    other = PROMETHEUS_KEYS if provider == "cloudwatch" else CLOUDWATCH_KEYS
    other_name = "prometheus" if provider == "cloudwatch" else "cloudwatch"
    for key in raw:
        if key in allowed:
            continue
        if key in other:
            hint = {
                "query": "CloudWatch metrics take `queries` (a list of MetricDataQuery tables)",
                "queries": "Prometheus metrics take one PromQL `query`",
                "window": "a Prometheus query carries its own range, e.g. rate(x[5m])",
                "reduce": "a Prometheus instant query gives one value per sample",
            }.get(key, f"{key!r} applies to {other_name} metrics")
            ck.err(label, key, f"not a {provider} key", None, hint)
        else:
            close = _suggest(key, allowed)
            ck.err(
                label,
                key,
                f"unknown key {key!r}",
                close,
                None if close else f"valid keys: {', '.join(allowed)}",
            )

    fill = raw.get("fill")
    if fill is not None and (not _is_number(fill) or not math.isfinite(float(fill))):
        ck.err(label, "fill", "must be a number: the value when there is no data, e.g. fill = 0")
        fill = None
    aggregate = raw.get("aggregate", DEFAULT_AGGREGATE)
    if aggregate not in AGGREGATES:
        ck.err(
            label,
            "aggregate",
            f"must be one of {', '.join(AGGREGATES)}, not {aggregate!r}",
            _suggest(str(aggregate), AGGREGATES),
        )
    timeout = raw.get("timeout", DEFAULT_TIMEOUT)
    if not _is_number(timeout) or not 0 < timeout <= 300:
        ck.err(label, "timeout", "must be a number of seconds, above 0 and at most 300")
        timeout = DEFAULT_TIMEOUT
    for key in ("description", "unit"):
        if key in raw and not isinstance(raw[key], str):
            ck.err(label, key, "must be a string")

    common: dict[str, Any] = {
        "name": name,
        "provider": provider,
        "fill": None if fill is None else float(fill),
        "aggregate": aggregate,
        "timeout": float(timeout),
        "description": str(raw.get("description", "")),
        "unit": str(raw.get("unit", "")),
    }
    if provider == "cloudwatch":
        window_raw = raw.get("window", "5m")
        window = parse_duration(window_raw)
        if window is None or window <= 0:
            ck.err(
                label,
                "window",
                f"not a duration: {window_raw!r}",
                None,
                'use seconds or a string like "5m", "15m", "1h"',
            )
            window = DEFAULT_WINDOW
        reduce = raw.get("reduce", DEFAULT_REDUCE)
        if reduce not in REDUCERS:
            ck.err(
                label,
                "reduce",
                f"must be one of {', '.join(REDUCERS)}, not {reduce!r}",
                _suggest(str(reduce), REDUCERS),
            )
        region = raw.get("region")
        if region is not None and (not isinstance(region, str) or not region):
            ck.err(label, "region", "must be an AWS region name such as 'eu-west-1'")
            region = None
        queries = _parse_queries(ck, h, label, raw.get("queries"))
        if queries and window < max(q.period for q in queries):
            ck.err(
                label,
                "window",
                f"the window ({window_raw}) is shorter than a query's period "
                f"({max(q.period for q in queries)} s)",
                None,
                "make the window at least one period long",
            )
        metric = RuntimeMetric(
            **common,
            window=window,
            window_text=str(window_raw) if isinstance(window_raw, str) else f"{window_raw}s",
            reduce=reduce,
            region=region,
            queries=queries,
        )
    else:
        url = raw.get("url")
        if not isinstance(url, str) or not url:
            ck.err(
                label,
                "url",
                "missing: the Prometheus server's base URL",
                None,
                'e.g. url = "${PROMETHEUS_URL}" or "http://prometheus:9090"',
            )
        elif not re.match(r"(https?://|\$\{)", url):
            ck.err(label, "url", f"not an http(s) URL: {url!r}")
        query = raw.get("query")
        if not isinstance(query, str) or not query.strip():
            ck.err(
                label,
                "query",
                "missing: the PromQL expression to evaluate",
                None,
                "e.g. query = 'sum(rate(http_requests_total{status=~\"5..\"}[5m]))'",
            )
        headers = raw.get("headers", {})
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            ck.err(label, "headers", "must be a table of strings")
            headers = {}
        metric = RuntimeMetric(
            **common,
            window=0.0,
            window_text="",
            url=str(url) if isinstance(url, str) else None,
            query=str(query) if isinstance(query, str) else None,
            headers=tuple((str(k), str(v)) for k, v in headers.items()),
        )
    if len(ck.problems) > before:
        return None
    return metric


def _parse_queries(ck: Any, h: _Helpers, label: str, value: Any) -> tuple[CloudWatchQuery, ...]:
    _suggest = h.suggest
    if value is None:
        ck.err(
            label,
            "queries",
            "missing: the CloudWatch queries",
            None,
            "queries = [{ id = ..., namespace = ..., metric = ..., stat = ... }]",
        )
        return ()
    if not isinstance(value, list) or not value or not all(isinstance(q, dict) for q in value):
        ck.err(label, "queries", "must be a non-empty list of tables")
        return ()
    if len(value) > MAX_QUERIES_PER_CALL:
        ck.err(label, "queries", f"at most {MAX_QUERIES_PER_CALL} queries (GetMetricData's limit)")
        return ()
    out: list[CloudWatchQuery] = []
    ids: set[str] = set()
    for n, q in enumerate(value, start=1):
        where = f"queries[{n}]."
        for key in q:
            if key not in QUERY_KEYS:
                close = _suggest(key, QUERY_KEYS)
                ck.err(
                    label,
                    f"{where}{key}",
                    f"unknown key {key!r}",
                    close,
                    None if close else f"valid keys: {', '.join(QUERY_KEYS)}",
                )
        qid = q.get("id", "m" if len(value) == 1 else None)
        if not isinstance(qid, str) or not _QUERY_ID.fullmatch(qid):
            ck.err(
                label,
                f"{where}id",
                f"{'missing' if qid is None else repr(qid) + ' is not a valid id'}: "
                "a lowercase letter, then letters, digits or _",
                None,
                'e.g. id = "errors"',
            )
            qid = f"q{n}"
        elif qid in ids:
            ck.err(label, f"{where}id", f"duplicate query id {qid!r}")
        ids.add(qid)
        returns = q.get("return", True)
        if not isinstance(returns, bool):
            ck.err(label, f"{where}return", "must be true or false")
            returns = True
        expression = q.get("expression")
        stat_keys = [k for k in ("namespace", "metric", "stat", "dimensions") if k in q]
        if expression is not None:
            if not isinstance(expression, str) or not expression.strip():
                ck.err(label, f"{where}expression", "must be a non-empty string")
            if stat_keys:
                ck.err(
                    label,
                    f"{where}{stat_keys[0]}",
                    "a query is either an `expression` or a metric (namespace, metric, stat)",
                    None,
                    "split it into two queries",
                )
            out.append(CloudWatchQuery(id=qid, expression=str(expression), returns=returns))
            continue
        for key, example in (
            ("namespace", '"AWS/ApplicationELB"'),
            ("metric", '"HTTPCode_Target_5XX_Count"'),
            ("stat", '"Sum"'),
        ):
            if not isinstance(q.get(key), str) or not q[key]:
                ck.err(
                    label,
                    f"{where}{key}",
                    "missing or not a string",
                    None,
                    f"e.g. {key} = {example} (or give the query an `expression`)",
                )
        stat = q.get("stat")
        if isinstance(stat, str) and stat and not _STAT.fullmatch(stat):
            ck.err(
                label,
                f"{where}stat",
                f"not a CloudWatch statistic: {stat!r}",
                _suggest(stat, _STAT_NAMES)
                or next((s for s in _STAT_NAMES if s.lower() == stat.lower()), None),
                "use Sum, Average, Minimum, Maximum, SampleCount or a percentile like p99",
            )
        dims = q.get("dimensions", {})
        if not isinstance(dims, dict) or not all(isinstance(v, str) for v in dims.values()):
            ck.err(label, f"{where}dimensions", "must be a table of strings")
            dims = {}
        period = q.get("period", DEFAULT_PERIOD)
        if (
            not isinstance(period, int)
            or isinstance(period, bool)
            or not (period in (1, 5, 10, 20, 30) or (period > 0 and period % 60 == 0))
        ):
            ck.err(
                label,
                f"{where}period",
                f"not a CloudWatch period: {period!r}",
                None,
                "use 1, 5, 10, 20, 30 or a multiple of 60 seconds",
            )
            period = DEFAULT_PERIOD
        unit = q.get("unit")
        if unit is not None and not isinstance(unit, str):
            ck.err(label, f"{where}unit", "must be a string such as 'Count'")
            unit = None
        out.append(
            CloudWatchQuery(
                id=qid,
                namespace=str(q.get("namespace", "")),
                metric=str(q.get("metric", "")),
                dimensions=tuple((str(k), str(v)) for k, v in dims.items()),
                stat=str(stat or ""),
                period=period,
                unit=unit,
                returns=returns,
            )
        )
    returning = [q.id for q in out if q.returns]
    if not returning:
        ck.err(
            label,
            "queries",
            "no query returns data (every one has return = false)",
            None,
            "leave `return` unset on the query whose value the rules judge",
        )
    elif len(returning) > 1:
        ck.err(
            label,
            "queries",
            f"{len(returning)} queries return data ({', '.join(returning)}); exactly one must",
            None,
            "set return = false on the queries an expression only reads",
        )
    return tuple(out)

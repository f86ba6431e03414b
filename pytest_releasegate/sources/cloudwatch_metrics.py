"""Runtime metrics from CloudWatch: ``GetMetricData``, one call per sample.

Every CloudWatch query of every runtime metric that shares a window and a
region goes into one ``GetMetricData`` request (up to 500 queries; more
metrics, more requests, a metric's queries never split), following
``NextToken``. Query ids are made unique per request by a prefix (``m3_``),
and expressions are rewritten to match (outside string literals).

``${VAR}`` works in every string of a query (and ``region``); the values are
secrets: the query "as sent" that the evidence shows has them masked, and
no message carries them. boto3 is imported only when a sample is taken; the
client follows the standard AWS configuration chain, including
``AWS_ENDPOINT_URL_CLOUDWATCH``.

No data is never a number: a returning query without datapoints is a sample
with no value (``fill`` applies), and a request that fails (throttled after
botocore's retries, denied, unreachable) is a sample with no value and the
service's own message (``fill`` does not apply: that is not "no traffic").
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..runtime_policy import MAX_QUERIES_PER_CALL, CloudWatchQuery, RuntimeMetric
from .http_checks import CheckSetupError, _expand, scrub
from .runtime_sample import Sample, reduce_values

#: Longest backend message kept in a sample's reason.
MAX_REASON = 300
# A quoted string, a ${VAR} reference, or an identifier that may be a query id.
_TOKEN = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|\$\{[^}]*\}|\b[a-z][A-Za-z0-9_]*\b")


def rename_ids(expression: str, mapping: Mapping[str, str]) -> str:
    """``expression`` with the query ids in ``mapping`` renamed (not inside strings or ``${}``)."""
    return _TOKEN.sub(lambda m: mapping.get(m.group(0), m.group(0)), expression)


class Prepared:
    """One metric's queries ready to send: unique ids, ``${VAR}`` expanded."""

    def __init__(self, index: int, metric: RuntimeMetric, environ: Mapping[str, str]) -> None:
        self.metric = metric
        self.secrets: list[str] = []
        self.problem: str | None = None
        prefix = f"m{index}_"
        mapping = {q.id: prefix + q.id for q in metric.queries}
        self.returning_id = mapping[metric.returning.id]
        self.queries: list[dict[str, Any]] = []
        try:
            self.region = (
                _expand(metric.region, environ, f"{metric.name}: region", self.secrets)
                if metric.region
                else None
            )
            for n, q in enumerate(metric.queries, start=1):
                self.queries.append(
                    self._query(q, mapping, environ, f"{metric.name}: queries[{n}]")
                )
        except CheckSetupError as exc:
            self.problem = str(exc)
            self.region = None

    def _query(
        self, q: CloudWatchQuery, mapping: Mapping[str, str], environ: Mapping[str, str], where: str
    ) -> dict[str, Any]:
        def x(text: str, key: str) -> str:
            return _expand(text, environ, f"{where}.{key}", self.secrets)

        out: dict[str, Any] = {"Id": mapping[q.id], "ReturnData": q.returns}
        if q.expression is not None:
            out["Expression"] = x(rename_ids(q.expression, mapping), "expression")
            return out
        metric: dict[str, Any] = {
            "Namespace": x(q.namespace or "", "namespace"),
            "MetricName": x(q.metric or "", "metric"),
        }
        if q.dimensions:
            metric["Dimensions"] = [
                {"Name": x(k, f"dimensions.{k}"), "Value": x(v, f"dimensions.{k}")}
                for k, v in q.dimensions
            ]
        stat: dict[str, Any] = {
            "Metric": metric,
            "Period": q.period,
            "Stat": x(q.stat or "", "stat"),
        }
        if q.unit:
            stat["Unit"] = x(q.unit, "unit")
        out["MetricStat"] = stat
        return out

    def as_sent(self) -> list[dict[str, Any]]:
        """The queries as sent, with every ``${VAR}`` value masked."""
        if not self.secrets:
            return self.queries
        data: list[dict[str, Any]] = json.loads(scrub(json.dumps(self.queries), self.secrets))
        return data

    def redact(self, text: str) -> str:
        return scrub(text, self.secrets)


def make_client(region: str | None, timeout: float) -> Any:
    """A CloudWatch client from the standard configuration chain, with bounded timeouts."""
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=min(5.0, timeout), read_timeout=timeout)
    return boto3.session.Session().client("cloudwatch", region_name=region, config=config)


def batches(
    prepared: Sequence[Prepared], limit: int = MAX_QUERIES_PER_CALL
) -> list[list[Prepared]]:
    """Metrics packed into requests of at most ``limit`` queries, in order; one metric's
    queries always travel together (an expression needs its inputs in the same request)."""
    out: list[list[Prepared]] = []
    size = 0
    for p in prepared:
        n = len(p.queries)
        if not out or size + n > limit:
            out.append([])
            size = 0
        out[-1].append(p)
        size += n
    return out


class CloudWatchSampler:
    """Samples every CloudWatch runtime metric; one client per region, kept across rounds."""

    def __init__(
        self,
        metrics: Sequence[RuntimeMetric],
        environ: Mapping[str, str],
        *,
        client_factory: Callable[[str | None, float], Any] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.prepared = [Prepared(i, m, environ) for i, m in enumerate(metrics)]
        self._factory = client_factory or make_client
        self._clients: dict[str | None, Any] = {}
        self._clock = clock
        #: GetMetricData requests made (pages included), for the evidence and the tests.
        self.requests = 0

    def as_sent(self, name: str) -> list[dict[str, Any]]:
        return next(p.as_sent() for p in self.prepared if p.metric.name == name)

    def _client(self, region: str | None, timeout: float) -> Any:
        if region not in self._clients:
            self._clients[region] = self._factory(region, timeout)
        return self._clients[region]

    def sample(self) -> dict[str, Sample]:
        """One sample of every metric: one request per (window, region) group and 500 queries."""
        now = self._clock()
        out: dict[str, Sample] = {}
        groups: dict[tuple[float, str | None], list[Prepared]] = {}
        for p in self.prepared:
            if p.problem is not None:
                out[p.metric.name] = Sample(now, None, "failed", p.problem)
            else:
                groups.setdefault((p.metric.window, p.region), []).append(p)
        for (window, region), members in groups.items():
            for batch in batches(members):
                out.update(self._request(batch, window, region, now))
        return out

    def _request(
        self, batch: list[Prepared], window: float, region: str | None, now: float
    ) -> dict[str, Sample]:
        try:
            from botocore.exceptions import BotoCoreError, ClientError
        except ImportError as exc:  # pragma: no cover - boto3 is a dependency today
            return {
                p.metric.name: Sample(now, None, "failed", f"boto3 is not installed ({exc})")
                for p in batch
            }
        end = _dt.datetime.fromtimestamp(now, _dt.timezone.utc)
        start = end - _dt.timedelta(seconds=window)
        params: dict[str, Any] = {
            "MetricDataQueries": [q for p in batch for q in p.queries],
            "StartTime": start,
            "EndTime": end,
            "ScanBy": "TimestampDescending",
        }
        results: dict[str, dict[str, Any]] = {}
        messages: list[str] = []
        try:
            client = self._client(region, max(p.metric.timeout for p in batch))
            while True:
                self.requests += 1
                page = client.get_metric_data(**params)
                for r in page.get("MetricDataResults", ()):
                    into = results.setdefault(
                        r["Id"], {"values": [], "timestamps": [], "messages": [], "status": ""}
                    )
                    into["values"].extend(r.get("Values", ()))
                    into["timestamps"].extend(r.get("Timestamps", ()))
                    into["messages"].extend(m.get("Value", "") for m in r.get("Messages", ()))
                    into["status"] = r.get("StatusCode", "")
                messages.extend(m.get("Value", "") for m in page.get("Messages", ()))
                token = page.get("NextToken")
                if not token:
                    break
                params["NextToken"] = token
        except (BotoCoreError, ClientError) as exc:
            return {
                p.metric.name: Sample(
                    now, None, "failed", p.redact(_short(f"CloudWatch GetMetricData failed: {exc}"))
                )
                for p in batch
            }
        return {
            p.metric.name: self._judge(p, results.get(p.returning_id), messages, now) for p in batch
        }

    def _judge(
        self, p: Prepared, result: dict[str, Any] | None, messages: list[str], now: float
    ) -> Sample:
        m = p.metric
        if result is None:
            why = "; ".join(x for x in messages if x) or "the query's result was not in the answer"
            return Sample(now, None, "failed", p.redact(_short(f"CloudWatch: {why}")))
        problems = [x for x in result["messages"] if x]
        if result["status"] in ("InternalError", "Forbidden"):
            why = "; ".join(problems) or result["status"]
            return Sample(now, None, "failed", p.redact(_short(f"CloudWatch: {why}")))
        pairs = sorted(
            zip(result["timestamps"], result["values"], strict=False), key=lambda tv: tv[0]
        )
        values = [float(v) for _, v in pairs if v is not None]
        if not values:
            reason = f"no datapoints for {m.name} in the last {m.window_text}"
            if problems:
                reason += f" (CloudWatch: {'; '.join(problems)})"
            return Sample(now, None, "nodata", p.redact(_short(reason)))
        return Sample(now, reduce_values(values, m.reduce), "ok", "", len(values))


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "\u2026"

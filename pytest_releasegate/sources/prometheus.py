"""Runtime metrics from Prometheus: an instant query (``/api/v1/query``) per metric and sample.

The query goes in a POST form body (Prometheus accepts both), so it never
sits in a request line that an HTTP library might log. ``${VAR}`` works in
``url``, ``query`` and header values; the values are secrets, masked in
every message and in the query "as sent" that the evidence shows.

The answer must be a scalar or a one-element instant vector. ``NaN``,
``±Inf`` and an empty vector are *no data* (``fill`` applies); more than
one element is an error naming the metric and the count (aggregate the
query, e.g. ``sum(...)``); an unreachable server, an HTTP error or a
refused query is missing data with Prometheus' own message.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import requests

from ..runtime_policy import RuntimeMetric
from .http_checks import CheckSetupError, _expand, body_preview, display_url, make_session, scrub
from .runtime_sample import Sample

API_PATH = "/api/v1/query"
MAX_REASON = 300


class PreparedQuery:
    """One metric's request, templated: URL, query and headers with ``${VAR}`` expanded."""

    def __init__(self, metric: RuntimeMetric, environ: Mapping[str, str]) -> None:
        self.metric = metric
        self.secrets: list[str] = []
        self.problem: str | None = None
        self.url = self.query = ""
        self.headers: dict[str, str] = {}
        try:
            base = _expand(metric.url or "", environ, f"{metric.name}: url", self.secrets)
            self.url = base.rstrip("/") + API_PATH
            self.query = _expand(metric.query or "", environ, f"{metric.name}: query", self.secrets)
            self.headers = {
                k: _expand(v, environ, f"{metric.name}: header {k!r}", self.secrets)
                for k, v in metric.headers
            }
        except CheckSetupError as exc:
            self.problem = str(exc)

    def redact(self, text: str) -> str:
        return scrub(text, self.secrets)

    def as_sent(self) -> dict[str, Any]:
        """What is sent, ``${VAR}`` values masked; header values are not shown at all."""
        return {
            "method": "POST",
            "url": self.redact(display_url(self.url)) if self.url else "",
            "query": self.redact(self.query),
            "headers": sorted(self.headers),
        }


class PrometheusSampler:
    """Samples every Prometheus runtime metric over one pooled session."""

    def __init__(
        self,
        metrics: Sequence[RuntimeMetric],
        environ: Mapping[str, str],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.prepared = [PreparedQuery(m, environ) for m in metrics]
        self.session = make_session(4)
        self._clock = clock
        #: Queries sent, for the evidence and the tests.
        self.requests = 0

    def as_sent(self, name: str) -> dict[str, Any]:
        return next(p.as_sent() for p in self.prepared if p.metric.name == name)

    def sample(self) -> dict[str, Sample]:
        return {p.metric.name: self._one(p) for p in self.prepared}

    def close(self) -> None:
        self.session.close()

    def _one(self, p: PreparedQuery) -> Sample:
        now = self._clock()
        if p.problem is not None:
            return Sample(now, None, "failed", p.problem)
        m = p.metric
        where = f"Prometheus at {p.redact(display_url(p.url))}"
        self.requests += 1
        try:
            response = self.session.post(
                p.url,
                data={"query": p.query, "timeout": f"{m.timeout:g}s"},
                headers=p.headers,
                timeout=m.timeout,
            )
        except requests.RequestException as exc:
            return _failed(p, now, f"{where} unreachable: {type(exc).__name__}: {exc}")
        try:
            body = response.json()
        except ValueError:
            preview = body_preview(response.content, p.secrets)
            return _failed(p, now, f"{where} answered HTTP {response.status_code}: {preview!r}")
        if not isinstance(body, dict) or body.get("status") != "success":
            if isinstance(body, dict) and body.get("error"):
                why = f"{body.get('errorType', 'error')}: {body['error']}"
            else:
                why = f"HTTP {response.status_code}"
            return _failed(p, now, f"{where} refused the query for {m.name}: {why}")
        data = body.get("data") or {}
        kind, result = data.get("resultType"), data.get("result")
        if kind == "scalar" and isinstance(result, list) and len(result) == 2:
            return _value(p, now, result[1])
        if kind == "vector" and isinstance(result, list):
            if not result:
                return Sample(
                    now, None, "nodata", f"empty result for {m.name}: the query matched no series"
                )
            if len(result) > 1:
                return Sample(
                    now,
                    None,
                    "invalid",
                    f"the Prometheus query for {m.name} returned {len(result)} series; a rule "
                    "needs one value (aggregate it, e.g. sum(...) or max(...))",
                )
            value = result[0].get("value") if isinstance(result[0], dict) else None
            if isinstance(value, list) and len(value) == 2:
                return _value(p, now, value[1])
        return Sample(
            now,
            None,
            "invalid",
            f"the Prometheus query for {m.name} gave a {kind or 'malformed'} result; "
            "it must give a scalar or a one-element instant vector",
        )


def _value(p: PreparedQuery, now: float, text: Any) -> Sample:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return Sample(now, None, "invalid", f"{p.metric.name}: not a number: {str(text)[:40]!r}")
    if not math.isfinite(value):
        return Sample(now, None, "nodata", f"{p.metric.name} is {text} (no data)")
    return Sample(now, value, "ok", "", 1)


def _failed(p: PreparedQuery, now: float, message: str) -> Sample:
    text = " ".join(p.redact(message).split())
    if len(text) > MAX_REASON:
        text = text[: MAX_REASON - 1] + "\u2026"
    return Sample(now, None, "failed", text)

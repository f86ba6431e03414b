"""Prometheus runtime metrics against a real Prometheus (Debian's package) scraping a service
instrumented with prometheus-client (tests/runtime_support.py). Each test uses its own
``route`` label, so the session-wide server needs no reset."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import requests

from pytest_releasegate.model import Outcome
from tests.runtime_support import free_port


def route() -> str:
    return "r" + uuid.uuid4().hex[:10]


def hit(service: Any, name: str, status: int = 200, ms: int = 1, times: int = 1) -> None:
    for _ in range(times):
        requests.get(f"{service.url}/hit/{name}?status={status}&ms={ms}", timeout=5)


def metric(query: str, *, name: str = "api.x", url: str = "", extra: str = "") -> str:
    return (
        f'[[metric]]\nname = "{name}"\nprovider = "prometheus"\nurl = "{url}"\n'
        f"query = '{query}'\n{extra}"
    )


def rule(bound: str, extra: str = "", metric_name: str = "api.x") -> str:
    return f'[[rule]]\nname = "r"\nmetric = "{metric_name}"\n{bound}\n{extra}'


def test_a_counter_by_status_judged_at_its_threshold(
    prometheus: Any, instrumented_service: Any, make_gate: Any
) -> None:
    r = route()
    hit(instrumented_service, r, 200, times=7)
    hit(instrumented_service, r, 500, times=3)
    errors = f'sum(http_requests_total{{route="{r}",status=~"5.."}})'
    prometheus.wait_for(errors, 3)
    at = make_gate(metric(errors, url=prometheus.url) + rule("max = 3")).run()
    assert (at.rules[0].outcome, at.rules[0].actual) == (Outcome.PASS, 3)
    above = make_gate(metric(errors, url=prometheus.url) + rule("max = 2")).run()
    assert above.verdict is Outcome.FAIL and above.rules[0].actual == 3
    ratio = (
        f'100 * sum(http_requests_total{{route="{r}",status=~"5.."}}) '
        f'/ sum(http_requests_total{{route="{r}"}})'
    )
    pct = make_gate(metric(ratio, url=prometheus.url) + rule("max = 30")).run()
    assert pct.rules[0].actual == pytest.approx(30.0)
    assert pct.rules[0].outcome is Outcome.PASS


def test_the_latency_histogram_answers_with_the_observed_values(
    prometheus: Any, instrumented_service: Any, make_gate: Any
) -> None:
    r = route()
    hit(instrumented_service, r, ms=20, times=2)
    hit(instrumented_service, r, ms=300)
    slow = f'sum(http_request_duration_seconds_bucket{{route="{r}",le="0.25"}})'
    prometheus.wait_for(slow, 2)
    total_ms = f'1000 * sum(http_request_duration_seconds_sum{{route="{r}"}})'
    verdict = make_gate(metric(total_ms, url=prometheus.url) + rule("max = 300")).run()
    assert verdict.rules[0].actual == pytest.approx(340.0)
    assert verdict.rules[0].outcome is Outcome.FAIL


def test_a_scalar_result_is_a_value(prometheus: Any, make_gate: Any) -> None:
    verdict = make_gate(metric("scalar(vector(42))", url=prometheus.url) + rule("max = 50")).run()
    assert verdict.rules[0].actual == 42


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ('sum(http_requests_total{route="never-seen"})', "empty result for api.x"),
        ("vector(0) / vector(0)", "api.x is NaN (no data)"),
        ("scalar(vector(1) / vector(0))", "api.x is +Inf (no data)"),
    ],
)
@pytest.mark.parametrize(
    ("on_missing", "outcome"),
    [("fail", Outcome.ERROR), ("warn", Outcome.WARN), ("skip", Outcome.SKIPPED)],
)
def test_no_data_follows_on_missing(
    prometheus: Any, make_gate: Any, query: str, reason: str, on_missing: str, outcome: Outcome
) -> None:
    text = metric(query, url=prometheus.url) + rule("max = 1", f'on-missing = "{on_missing}"\n')
    verdict = make_gate(text).run()
    assert verdict.rules[0].outcome is outcome
    assert reason in verdict.rules[0].message


def test_fill_replaces_an_empty_result(prometheus: Any, make_gate: Any) -> None:
    text = metric('sum(http_requests_total{route="none"})', url=prometheus.url, extra="fill = 0\n")
    verdict = make_gate(text + rule("max = 1")).run()
    assert (verdict.rules[0].outcome, verdict.rules[0].actual) == (Outcome.PASS, 0)


def test_several_series_are_an_error_naming_the_metric_and_count_whatever_on_missing(
    prometheus: Any, instrumented_service: Any, make_gate: Any
) -> None:
    r = route()
    hit(instrumented_service, r, 200)
    hit(instrumented_service, r, 500)
    query = f'http_requests_total{{route="{r}"}}'
    prometheus.wait_for(f"count({query})", 2)
    text = metric(query, url=prometheus.url) + rule("max = 1", 'on-missing = "skip"\n')
    verdict = make_gate(text).run()
    assert verdict.verdict is Outcome.ERROR and verdict.rules[0].outcome is Outcome.ERROR
    assert "the Prometheus query for api.x returned 2 series" in verdict.rules[0].message


def test_a_refused_query_is_missing_data_with_prometheus_message(
    prometheus: Any, make_gate: Any
) -> None:
    verdict = make_gate(metric("sum(", url=prometheus.url) + rule("max = 1")).run()
    (r,) = verdict.rules
    assert r.outcome is Outcome.ERROR
    assert "refused the query for api.x: bad_data:" in r.message
    assert "\n" not in r.message


def test_an_unreachable_server_is_missing_data_in_one_line(make_gate: Any) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    verdict = make_gate(metric("up", url=url) + rule("max = 1", 'on-missing = "warn"\n')).run()
    (r,) = verdict.rules
    assert r.outcome is Outcome.WARN
    assert f"Prometheus at {url}/api/v1/query unreachable: ConnectionError" in r.message
    assert "\n" not in r.message


def test_var_values_in_url_query_and_headers_never_show(
    prometheus: Any, instrumented_service: Any, make_gate: Any
) -> None:
    r = route()
    hit(instrumented_service, r, 500, times=2)
    prometheus.wait_for(f'sum(http_requests_total{{route="{r}"}})', 2)
    token = "s3cr3t-token-value"
    environ = {"PROM": prometheus.url, "ROUTE": r, "TOKEN": token}
    text = (
        '[[metric]]\nname = "api.x"\nprovider = "prometheus"\nurl = "${PROM}"\n'
        "query = 'sum(http_requests_total{route=\"${ROUTE}\"})'\n"
        'headers = { Authorization = "Bearer ${TOKEN}" }\n'
    ) + rule("max = 1")
    verdict = make_gate(text, environ=environ).run()
    assert verdict.rules[0].actual == 2  # every ${VAR} reached the server
    shown = json.dumps(verdict.to_json())
    for value in (token, r, prometheus.url):
        assert value not in shown
    sent = verdict.runtime["api.x"]["query"]
    assert sent == {
        "method": "POST",
        "url": "***/api/v1/query",
        "query": 'sum(http_requests_total{route="***"})',
        "headers": ["Authorization"],
    }


def test_evidence_lists_every_sample_with_its_time(prometheus: Any, make_gate: Any) -> None:
    text = metric("scalar(vector(0.5))", url=prometheus.url) + rule("max = 1")
    text += '[bake]\nduration = "0.3s"\ninterval = "0.1s"\n'
    verdict = make_gate(text).run()
    assert verdict.verdict is Outcome.PASS
    evidence = verdict.runtime["api.x"]
    assert evidence["provider"] == "prometheus"
    assert [s["value"] for s in evidence["samples"]] == [0.5, 0.5, 0.5]
    assert all(s["at"].endswith("+00:00") for s in evidence["samples"])
    assert verdict.rules[0].message.endswith("(highest of 3 samples)")


def test_a_service_turning_bad_mid_bake_stops_it_after_the_failure_limit(
    prometheus: Any, instrumented_service: Any, make_gate: Any
) -> None:
    """Acceptance 3: each round's smoke check is one request to the service, which answers
    500 from its third request on; Prometheus sees the errors a scrape later."""
    r = route()
    instrumented_service.fail_after[r] = 2
    errors = f'sum(http_requests_total{{route="{r}",status="500"}}) or vector(0)'
    text = (
        metric(errors, name="api.errors", url=prometheus.url)
        + rule("max = 0", metric_name="api.errors")
        + '[[smoke]]\nname = "traffic"\nurl = "{base_url}/hit/'
        + r
        + '"\n'
        "expect-status = [200, 500]\n"
        '[bake]\nduration = "30s"\ninterval = "1s"\nconsecutive-failure-limit = 2\n'
    )
    verdict = make_gate(text, base_url=instrumented_service.url).run()
    rules = {x.name: x for x in verdict.rules}
    assert verdict.verdict is Outcome.FAIL
    assert rules["bake"].outcome is Outcome.FAIL
    assert "2 bad rounds in a row (consecutive-failure-limit 2)" in rules["bake"].message
    values = [s["value"] for s in verdict.runtime["api.errors"]["samples"]]
    assert 4 <= len(values) < 30  # stopped early, and only after the service turned bad
    assert values[:2] == [0, 0]
    assert values[-1] > 0 and values[-2] > 0 and 0 in values[:-2]
    assert rules["r"].outcome is Outcome.FAIL and rules["r"].actual == max(values)
    assert f"highest of {len(values)} samples" in rules["r"].message

"""CloudWatch runtime metrics against a moto server over HTTP (PutMetricData, then the gate's
GetMetricData); requests counted at a recording proxy in front of it.

What moto's GetMetricData does (moto 5.2): MetricStat queries with Sum, Average,
Minimum, Maximum and SampleCount, per period; ``ReturnData``; an expression
that is just another query's id. It does NOT evaluate metric math (``100 * e / n``
comes back with no datapoints and no message) and answers a percentile stat
(``p99``) with HTTP 500. The tests pin what the gate makes of that: missing
data with the backend's complaint, never an invented value.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from pytest_releasegate.model import Outcome
from tests.runtime_support import RecordingProxy, free_port

boto3 = pytest.importorskip("boto3")

NS = "AWS/ApplicationELB"
ALB = "app/shop/50dc6c495c0c9188"


@pytest.fixture
def cloudwatch(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    requests.post(f"{moto_server}/moto-api/reset", timeout=10).raise_for_status()
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH", moto_server)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    return boto3.client("cloudwatch", endpoint_url=moto_server)


@pytest.fixture
def proxy(cloudwatch: Any, moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The gate's CloudWatch endpoint is a recording proxy in front of moto."""
    p = RecordingProxy(moto_server)
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH", p.url)
    try:
        yield p
    finally:
        p.close()


def put(
    client: Any, metric: str, values: list[float], alb: str = ALB, minutes_ago: int = 0
) -> None:
    """One datapoint per minute, the last ``minutes_ago + 1`` minutes ago, oldest first."""
    now = dt.datetime.now(dt.timezone.utc)
    n = len(values)
    client.put_metric_data(
        Namespace=NS,
        MetricData=[
            {
                "MetricName": metric,
                "Dimensions": [{"Name": "LoadBalancer", "Value": alb}],
                "Timestamp": now - dt.timedelta(seconds=60 * (n - i + minutes_ago) - 30),
                "Value": v,
            }
            for i, v in enumerate(values)
        ],
    )


def metric(name: str = "api.errors", *, stat: str = "Sum", extra: str = "", alb: str = ALB) -> str:
    return (
        f'[[metric]]\nname = "{name}"\nprovider = "cloudwatch"\nwindow = "5m"\n{extra}'
        f'queries = [{{ id = "e", namespace = "{NS}", metric = "HTTPCode_Target_5XX_Count", '
        f'dimensions = {{ LoadBalancer = "{alb}" }}, stat = "{stat}", period = 60 }}]\n'
    )


def rule(metric_name: str = "api.errors", bound: str = "max = 5", extra: str = "") -> str:
    return f'[[rule]]\nname = "r"\nmetric = "{metric_name}"\n{bound}\n{extra}'


@pytest.mark.parametrize(
    ("reduce", "expected"), [("max", 5), ("min", 1), ("sum", 8), ("avg", 8 / 3), ("last", 2)]
)
def test_the_actual_is_the_window_reduced_as_declared(
    cloudwatch: Any, make_gate: Any, reduce: str, expected: float
) -> None:
    put(cloudwatch, "HTTPCode_Target_5XX_Count", [1, 5, 2])
    verdict = make_gate(metric(extra=f'reduce = "{reduce}"\n') + rule(bound="max = 100")).run()
    (r,) = verdict.rules
    assert r.actual == pytest.approx(expected)
    assert r.outcome is Outcome.PASS
    assert verdict.metrics["api.errors"] == pytest.approx(expected)


def test_a_max_rule_passes_at_the_bound_and_fails_above_it(cloudwatch: Any, make_gate: Any) -> None:
    put(cloudwatch, "HTTPCode_Target_5XX_Count", [1, 5, 2])
    at = make_gate(metric() + rule(bound="max = 5")).run().rules[0]
    assert (at.outcome, at.actual) == (Outcome.PASS, 5)
    above = make_gate(metric() + rule(bound="max = 4.5")).run()
    assert above.verdict is Outcome.FAIL
    assert above.rules[0].actual == 5
    assert "5 is above max 4.5" in above.rules[0].message


def test_a_min_rule_judges_the_lowest_sample(cloudwatch: Any, make_gate: Any) -> None:
    put(cloudwatch, "RequestCount", [40, 90])
    text = metric("api.requests", extra='reduce = "min"\n').replace(
        "HTTPCode_Target_5XX_Count", "RequestCount"
    )
    verdict = make_gate(text + rule("api.requests", "min = 50")).run()
    assert verdict.rules[0].outcome is Outcome.FAIL
    assert verdict.rules[0].actual == 40


def test_an_expression_naming_a_query_returns_its_data(cloudwatch: Any, make_gate: Any) -> None:
    put(cloudwatch, "HTTPCode_Target_5XX_Count", [3, 7])
    text = (
        '[[metric]]\nname = "api.errors"\nprovider = "cloudwatch"\n'
        f'queries = [{{ id = "e", namespace = "{NS}", metric = "HTTPCode_Target_5XX_Count", '
        f'dimensions = {{ LoadBalancer = "{ALB}" }}, stat = "Sum", return = false }}, '
        '{ id = "out", expression = "e" }]\n'
    )
    verdict = make_gate(text + rule(bound="max = 5")).run()
    assert verdict.rules[0].actual == 7
    assert verdict.rules[0].outcome is Outcome.FAIL
    sent = verdict.runtime["api.errors"]["query"]
    assert [q["Id"] for q in sent] == ["m0_e", "m0_out"]
    assert sent[1]["Expression"] == "m0_e"


def test_metric_math_moto_cannot_evaluate_is_missing_data_not_a_number(
    cloudwatch: Any, make_gate: Any
) -> None:
    put(cloudwatch, "HTTPCode_Target_5XX_Count", [3, 7])
    put(cloudwatch, "RequestCount", [100, 100])
    text = (
        '[[metric]]\nname = "api.error_rate"\nprovider = "cloudwatch"\n'
        f'queries = [{{ id = "errors", namespace = "{NS}", metric = "HTTPCode_Target_5XX_Count", '
        f'dimensions = {{ LoadBalancer = "{ALB}" }}, stat = "Sum", return = false }}, '
        f'{{ id = "requests", namespace = "{NS}", metric = "RequestCount", '
        f'dimensions = {{ LoadBalancer = "{ALB}" }}, stat = "Sum", return = false }}, '
        '{ id = "rate", expression = "100 * FILL(errors, 0) / requests" }]\n'
    )
    verdict = make_gate(text + rule("api.error_rate", "max = 1")).run()
    (r,) = verdict.rules
    assert r.outcome is Outcome.ERROR and r.actual is None
    assert r.message == "no data: no datapoints for api.error_rate in the last 5m"
    # The expression went out with the ids renamed, outside the function name.
    sent = verdict.runtime["api.error_rate"]["query"][2]["Expression"]
    assert sent == "100 * FILL(m0_errors, 0) / m0_requests"


@pytest.mark.parametrize(
    ("on_missing", "outcome"),
    [("fail", Outcome.ERROR), ("warn", Outcome.WARN), ("skip", Outcome.SKIPPED)],
)
def test_no_datapoints_follows_on_missing(
    cloudwatch: Any, make_gate: Any, on_missing: str, outcome: Outcome
) -> None:
    verdict = make_gate(metric() + rule(extra=f'on-missing = "{on_missing}"\n')).run()
    assert verdict.rules[0].outcome is outcome
    assert "no datapoints for api.errors in the last 5m" in verdict.rules[0].message
    (sample,) = verdict.runtime["api.errors"]["samples"]
    assert sample["value"] is None and sample["kind"] == "nodata"


def test_fill_is_the_value_when_there_is_no_traffic(cloudwatch: Any, make_gate: Any) -> None:
    verdict = make_gate(metric(extra="fill = 0\n") + rule(bound="max = 1")).run()
    assert verdict.rules[0].outcome is Outcome.PASS
    assert verdict.rules[0].actual == 0
    (sample,) = verdict.runtime["api.errors"]["samples"]
    assert sample["kind"] == "filled" and sample["value"] == 0


def test_a_stat_moto_refuses_is_missing_data_with_the_backends_message(
    cloudwatch: Any, make_gate: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    put(cloudwatch, "HTTPCode_Target_5XX_Count", [3])
    verdict = make_gate(metric(stat="p99", extra="fill = 0\n") + rule()).run()
    (r,) = verdict.rules
    assert r.outcome is Outcome.ERROR
    assert r.message.startswith("no data: CloudWatch GetMetricData failed: An error occurred (500)")
    assert "\n" not in r.message and "Traceback" not in r.message
    # fill is for "no traffic", never for a backend that failed.
    assert verdict.runtime["api.errors"]["samples"][0]["kind"] == "failed"


def test_an_unreachable_endpoint_is_missing_data_in_one_line(
    cloudwatch: Any, make_gate: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    verdict = make_gate(metric() + rule(extra='on-missing = "warn"\n')).run()
    (r,) = verdict.rules
    assert r.outcome is Outcome.WARN
    assert "CloudWatch GetMetricData failed: Could not connect to the endpoint URL" in r.message
    assert "\n" not in r.message


def test_var_values_are_expanded_and_never_shown(cloudwatch: Any, make_gate: Any) -> None:
    secret = "app/secret-alb/0123456789abcdef"
    put(cloudwatch, "HTTPCode_Target_5XX_Count", [9], alb=secret)
    gate = make_gate(metric(alb="${ALB}") + rule(), environ={"ALB": secret})
    verdict = gate.run()
    assert verdict.rules[0].actual == 9  # the expanded value reached CloudWatch
    text = json.dumps(verdict.to_json())
    assert secret not in text
    dims = verdict.runtime["api.errors"]["query"][0]["MetricStat"]["Metric"]["Dimensions"]
    assert dims == [{"Name": "LoadBalancer", "Value": "***"}]


def test_an_unset_var_is_missing_data_naming_it(cloudwatch: Any, make_gate: Any) -> None:
    verdict = make_gate(metric(alb="${ALB}") + rule(), environ={}).run()
    assert verdict.rules[0].outcome is Outcome.ERROR
    assert "uses ${ALB}, which is not set in the environment" in verdict.rules[0].message


# -- one request per sample (acceptance 6) ---------------------------------------------


def many(n: int, queries_each: int = 1, window: str = "5m") -> str:
    out = []
    for i in range(n):
        qs = ", ".join(
            f'{{ id = "q{j}", namespace = "{NS}", metric = "M{i}_{j}", stat = "Sum", '
            f"return = {'true' if j == 0 else 'false'} }}"
            for j in range(queries_each)
        )
        out.append(
            f'[[metric]]\nname = "svc.m{i}"\nprovider = "cloudwatch"\nwindow = "{window}"\n'
            f"fill = 0\nqueries = [{qs}]\n"
            f'[[rule]]\nmetric = "svc.m{i}"\nmax = 1\n'
        )
    return "".join(out)


def test_one_getmetricdata_request_per_sample_for_every_metric(proxy: Any, make_gate: Any) -> None:
    verdict = make_gate(many(50, queries_each=10)).run()  # 500 queries: one request
    assert verdict.verdict is Outcome.PASS
    assert proxy.count("GetMetricData") == 1
    assert len(verdict.runtime) == 50


def test_more_than_500_queries_take_more_requests_never_splitting_a_metric(
    proxy: Any, make_gate: Any
) -> None:
    verdict = make_gate(many(51, queries_each=10)).run()  # 510 queries
    assert verdict.verdict is Outcome.PASS
    assert proxy.count("GetMetricData") == 2


def test_each_window_is_its_own_request(proxy: Any, make_gate: Any) -> None:
    text = many(3) + many(3, window="10m").replace("svc.m", "svc.w")
    make_gate(text).run()
    assert proxy.count("GetMetricData") == 2


def test_a_bake_samples_once_per_round_in_one_request_each(proxy: Any, make_gate: Any) -> None:
    text = many(20) + '[bake]\nduration = "0.3s"\ninterval = "0.1s"\n'
    gate = make_gate(text)
    verdict = gate.run()
    assert verdict.verdict is Outcome.PASS
    assert proxy.count("GetMetricData") == 3
    assert all(len(m["samples"]) == 3 for m in verdict.runtime.values())

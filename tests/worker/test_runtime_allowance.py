"""`releasegate worker --runtime-metrics`: which runtime metrics of a job's policy the worker
samples with its own credentials. GetMetricData takes no resource ARN, so without this a
job's policy could read any CloudWatch metric the worker's role may read (SPEC §13)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from pytest_releasegate.codepipeline.worker_options import RuntimeMetrics
from pytest_releasegate.runtime_policy import CloudWatchQuery, RuntimeMetric
from pytest_releasegate.testing.emulator import CodePipelineEmulator

from .support import SERVE, Artifacts, enqueue
from .test_continuation import _finish_chain


def cloudwatch(*queries: CloudWatchQuery) -> RuntimeMetric:
    return RuntimeMetric(name="m", provider="cloudwatch", queries=queries)


def stat(qid: str = "m1", namespace: str = "MyApp") -> CloudWatchQuery:
    return CloudWatchQuery(id=qid, namespace=namespace, metric="Errors", stat="Sum")


def expression(text: str, qid: str = "e1") -> CloudWatchQuery:
    return CloudWatchQuery(id=qid, expression=text)


PROMETHEUS = RuntimeMetric(name="p", provider="prometheus", url="http://x", query="up")


def test_the_option_reads_all_off_and_lists() -> None:
    assert RuntimeMetrics.parse("all") == RuntimeMetrics()
    assert str(RuntimeMetrics.parse(" OFF ")) == "off"
    limited = RuntimeMetrics.parse("MyApp, AWS/ApplicationELB,prometheus")
    assert limited.namespaces == {"MyApp", "AWS/ApplicationELB"} and limited.prometheus
    assert str(limited) == "AWS/ApplicationELB,MyApp,prometheus"
    for bad in ("", "MyApp,,x", ","):
        with pytest.raises(ValueError, match="comma list"):
            RuntimeMetrics.parse(bad)


def test_all_samples_everything() -> None:
    everything = RuntimeMetrics()
    assert everything.refusal(cloudwatch(expression("SEARCH('{AWS/EC2} CPU', 'Sum', 60)"))) is None
    assert everything.refusal(PROMETHEUS) is None


@pytest.mark.parametrize(
    ("metric", "refused"),
    [
        (cloudwatch(stat()), None),
        (cloudwatch(stat(namespace="AWS/RDS")), "namespace 'AWS/RDS' is not sampled"),
        (cloudwatch(stat("m1"), stat("m2"), expression("100 * m1 / (m1 + m2)")), None),
        (cloudwatch(stat(), expression("RATE(m1) * 1e3 + FILL(m1, REPEAT)")), None),
        (cloudwatch(stat(), expression("SEARCH(m1)")), "SEARCH in its expression"),
        (cloudwatch(expression("SERVICE_QUOTA(q)")), "SERVICE_QUOTA in its expression"),
        (cloudwatch(expression("SEARCH('{AWS/EC2} CPU', 'Sum', 60)")), "with strings"),
        (cloudwatch(stat(), expression("other_job_query")), "other_job_query in its expression"),
        (PROMETHEUS, "Prometheus metrics are not sampled"),
    ],
)
def test_a_list_samples_only_its_namespaces(metric: RuntimeMetric, refused: str | None) -> None:
    why = RuntimeMetrics.parse("MyApp").refusal(metric)
    if refused is None:
        assert why is None
    else:
        assert why is not None and refused in why and "--runtime-metrics MyApp" in why
    assert RuntimeMetrics.parse("off").refusal(metric) is not None


def test_off_refuses_prometheus_and_a_list_can_allow_it() -> None:
    assert RuntimeMetrics.parse("prometheus").refusal(PROMETHEUS) is None
    assert RuntimeMetrics.parse("prometheus").refusal(cloudwatch(stat())) is not None


POLICY = """
[tool.releasegate]
[[tool.releasegate.metric]]
name = "alb.errors"
provider = "cloudwatch"
window = "5m"
queries = [{ namespace = "AWS/ApplicationELB", metric = "HTTPCode_Target_5XX_Count", dimensions = { LoadBalancer = "ALB" }, stat = "Sum" }]

[[tool.releasegate.rule]]
name = "few 5xx"
metric = "alb.errors"
max = 1
"""


@pytest.mark.parametrize("allowed", ["MyApp", "AWS/ApplicationELB"])
def test_the_worker_samples_only_what_it_is_told(
    emulator: CodePipelineEmulator,
    artifacts: Artifacts,
    env: dict[str, str],
    spawn: Any,
    moto_server: str,
    allowed: str,
) -> None:
    import boto3

    cw = boto3.client("cloudwatch", endpoint_url=moto_server, region_name="us-east-1")
    cw.put_metric_data(
        Namespace="AWS/ApplicationELB",
        MetricData=[
            {
                "MetricName": "HTTPCode_Target_5XX_Count",
                "Dimensions": [{"Name": "LoadBalancer", "Value": "ALB"}],
                "Timestamp": dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=90),
                "Value": 0.0,
            }
        ],
    )
    env["AWS_ENDPOINT_URL_CLOUDWATCH"] = moto_server
    files = {"pyproject.toml": POLICY, "tests/test_app.py": "def test_ok():\n    pass\n"}
    first, out = enqueue(emulator, artifacts, files)
    worker = spawn(*SERVE, "--poll-interval", "0.1", "--runtime-metrics", allowed, env=env)
    (job,) = _finish_chain(emulator, first, worker)
    assert out is not None
    rule = {r["name"]: r for r in json.loads(artifacts.read_zip(out)["verdict.json"])["rules"]}[
        "few 5xx"
    ]
    if allowed == "AWS/ApplicationELB":
        assert job.result.kind == "success", job.result.params
        assert rule["outcome"] == "pass" and rule["actual"] == 0
    else:
        assert job.result.kind == "failure"
        assert rule["outcome"] == "error" and rule["actual"] is None
        assert "namespace 'AWS/ApplicationELB' is not sampled" in rule["message"]
        assert "--runtime-metrics MyApp" in rule["message"]

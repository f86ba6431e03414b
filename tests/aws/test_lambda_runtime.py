"""The Lambda handler with a CloudWatch runtime metric: its pytest child holds no credential,
so the job runner samples for it (moto CloudWatch, a real pytest child)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from pytest_releasegate import aws_lambda
from pytest_releasegate.testing.emulator import CodePipelineEmulator
from tests.aws.publish_support import BUCKET, FakeContext, project, read_zip, s3, zip_bytes
from tests.aws.test_lambda import event_of, job_for, lambda_env, only_result

__all__ = ["job_for", "lambda_env", "s3"]  # fixtures, imported for their names

POLICY = """
[tool.releasegate]
[[tool.releasegate.rule]]
name = "no failing tests"
metric = "tests.failed"
max = 0

[[tool.releasegate.metric]]
name = "alb.errors"
provider = "cloudwatch"
window = "5m"
queries = [{ namespace = "AWS/ApplicationELB", metric = "HTTPCode_Target_5XX_Count", dimensions = { LoadBalancer = "${ALB}" }, stat = "Sum" }]

[[tool.releasegate.rule]]
name = "few 5xx"
metric = "alb.errors"
max = 1
"""


def test_the_runner_samples_cloudwatch_for_the_lambdas_child(
    lambda_env: CodePipelineEmulator,
    job_for: Callable[..., tuple[str, str]],
    s3: Any,
    moto_server: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import boto3

    alb = "app/secret-alb/" + uuid.uuid4().hex[:16]
    cw = boto3.client("cloudwatch", endpoint_url=moto_server)
    cw.put_metric_data(
        Namespace="AWS/ApplicationELB",
        MetricData=[
            {
                "MetricName": "HTTPCode_Target_5XX_Count",
                "Dimensions": [{"Name": "LoadBalancer", "Value": alb}],
                "Timestamp": dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=90),
                "Value": 0.5,
            }
        ],
    )
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH", moto_server)
    monkeypatch.setenv("ALB", alb)
    job_id, out_key = job_for(zip_bytes(project(policy=POLICY)))
    answer = aws_lambda.handle(event_of(lambda_env, job_id), FakeContext())
    assert answer["result"] == "success", answer
    result = only_result(lambda_env, job_id)
    assert result.params["outputVariables"]["alb_errors"] == "0.5"
    files = read_zip(s3.get_object(Bucket=BUCKET, Key=out_key)["Body"].read())
    verdict = json.loads(files["verdict.json"])
    assert [s["value"] for s in verdict["runtime"]["alb.errors"]["samples"]] == [0.5]
    assert alb not in json.dumps(verdict) and alb not in json.dumps(result.params)

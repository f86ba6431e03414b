"""What no local backend produces: GetMetricData pages (``NextToken``; moto never paginates)
and an AccessDenied answer. botocore's Stubber stands in for CloudWatch here only."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from pytest_releasegate.runtime_policy import CloudWatchQuery, RuntimeMetric
from pytest_releasegate.sources.cloudwatch_metrics import CloudWatchSampler, batches, rename_ids

boto3 = pytest.importorskip("boto3")
stub = pytest.importorskip("botocore.stub")

NOW = 1_800_000_000.0
METRIC = RuntimeMetric(
    name="api.errors",
    provider="cloudwatch",
    queries=(CloudWatchQuery(id="e", namespace="N", metric="M", stat="Sum"),),
)


def sampler(client: Any) -> CloudWatchSampler:
    return CloudWatchSampler(
        [METRIC], {}, client_factory=lambda region, t: client, clock=lambda: NOW
    )


def result(values: list[float], minutes: list[int]) -> dict[str, Any]:
    base = dt.datetime.fromtimestamp(NOW, dt.timezone.utc)
    return {
        "Id": "m0_e",
        "Values": values,
        "Timestamps": [base - dt.timedelta(minutes=m) for m in minutes],
        "StatusCode": "PartialData",
    }


def test_every_page_is_read_following_next_token() -> None:
    client = boto3.client("cloudwatch", region_name="us-east-1")
    s = sampler(client)
    with stub.Stubber(client) as stubber:
        stubber.add_response(
            "get_metric_data",
            {"MetricDataResults": [result([2.0], [1])], "NextToken": "page-2"},
        )
        stubber.add_response(
            "get_metric_data",
            {"MetricDataResults": [{**result([9.0, 1.0], [3, 4]), "StatusCode": "Complete"}]},
            {
                "MetricDataQueries": stub.ANY,
                "StartTime": stub.ANY,
                "EndTime": stub.ANY,
                "ScanBy": "TimestampDescending",
                "NextToken": "page-2",
            },
        )
        sample = s.sample()["api.errors"]
        stubber.assert_no_pending_responses()
    assert sample.value == 9.0 and sample.datapoints == 3  # max over both pages
    assert s.requests == 2


def test_access_denied_is_missing_data_with_the_services_message() -> None:
    client = boto3.client("cloudwatch", region_name="us-east-1")
    s = sampler(client)
    with stub.Stubber(client) as stubber:
        stubber.add_client_error(
            "get_metric_data",
            service_error_code="AccessDenied",
            service_message="User: arn:aws:sts::1:assumed-role/x is not authorized to perform: "
            "cloudwatch:GetMetricData",
            http_status_code=403,
        )
        sample = s.sample()["api.errors"]
    assert sample.value is None and sample.kind == "failed"
    assert sample.reason.startswith(
        "CloudWatch GetMetricData failed: An error occurred (AccessDenied)"
    )
    assert "not authorized to perform: cloudwatch:GetMetricData" in sample.reason


def test_ids_are_renamed_outside_strings_and_variables() -> None:
    mapping = {"errors": "m1_errors", "requests": "m1_requests"}
    expr = "100*FILL(errors,0)/requests + SEARCH('{AWS/X} errors', 'Sum', 60) + ${errors}"
    assert rename_ids(expr, mapping) == (
        "100*FILL(m1_errors,0)/m1_requests + SEARCH('{AWS/X} errors', 'Sum', 60) + ${errors}"
    )


def test_batches_never_split_a_metric() -> None:
    class P:
        def __init__(self, n: int) -> None:
            self.queries = [{}] * n

    sizes = [[len(p.queries) for p in b] for b in batches([P(300), P(150), P(100), P(500)])]  # type: ignore[list-item]
    assert sizes == [[300, 150], [100], [500]]

"""`releasegate evaluate` with runtime metrics, as a Commands action runs it: real Prometheus,
moto CloudWatch, a bake carried from one run to the next through the bake-state hand-over
files (as the job runner does; tests/worker crosses real processes), every output checked
for ``${VAR}`` values, the env file sourced by ``sh``."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.cli.test_cli import releasegate

boto3 = pytest.importorskip("boto3")

POLICY = """
[[metric]]
name = "api.error_rate"
provider = "prometheus"
url = "${PROM}"
query = '100 * sum(http_requests_total{route="${ROUTE}",status=~"5.."}) / sum(http_requests_total{route="${ROUTE}"})'
headers = { Authorization = "Bearer ${TOKEN}" }

[[metric]]
name = "alb.errors"
provider = "cloudwatch"
window = "5m"
queries = [{ namespace = "AWS/ApplicationELB", metric = "HTTPCode_Target_5XX_Count", dimensions = { LoadBalancer = "${ALB}" }, stat = "Sum" }]

[[rule]]
name = "error rate under 1%"
metric = "api.error_rate"
max = 1

[[rule]]
name = "few ALB errors"
metric = "alb.errors"
max = 10

[bake]
duration = "10s"
interval = "5s"
consecutive-failure-limit = 2
"""


def test_secrets_never_reach_an_output_and_the_bake_resumes_from_its_saved_state(
    tmp_path: Path,
    prometheus: Any,
    instrumented_service: Any,
    moto_server: str,
) -> None:
    requests.post(f"{moto_server}/moto-api/reset", timeout=10).raise_for_status()
    route = "secret-route-" + uuid.uuid4().hex[:8]
    token = "tok-" + uuid.uuid4().hex
    alb = "app/secret-alb/" + uuid.uuid4().hex[:16]
    for status in (200, 200, 200, 500):
        requests.get(f"{instrumented_service.url}/hit/{route}?status={status}", timeout=5)
    prometheus.wait_for(f'sum(http_requests_total{{route="{route}"}})', 4)
    cw = boto3.client("cloudwatch", endpoint_url=moto_server)
    cw.put_metric_data(
        Namespace="AWS/ApplicationELB",
        MetricData=[
            {
                "MetricName": "HTTPCode_Target_5XX_Count",
                "Dimensions": [{"Name": "LoadBalancer", "Value": alb}],
                "Timestamp": dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=90),
                "Value": 4.0,
            }
        ],
    )
    (tmp_path / "releasegate.toml").write_text(POLICY, encoding="utf-8")
    env = {
        "PROM": prometheus.url,
        "ROUTE": route,
        "TOKEN": token,
        "ALB": alb,
        "AWS_ENDPOINT_URL_CLOUDWATCH": moto_server,
    }
    outputs = [
        "--json",
        "v.json",
        "--junit",
        "v.xml",
        "--markdown",
        "v.md",
        "--export-env",
        "v.env",
    ]
    # First run: round 0, then the deadline (round 1 is due 5 s after round 0 starts,
    # after the deadline whatever the start-up time); the state goes out with the samples.
    first = releasegate(
        tmp_path,
        "evaluate",
        *outputs,
        env={
            **env,
            "RELEASEGATE_BAKE_STATE_OUT": str(tmp_path / "state.json"),
            "RELEASEGATE_BAKE_UNTIL": repr(time.time() + 4.0),
        },
    )
    state = (tmp_path / "state.json").read_text(encoding="utf-8")
    assert json.loads(state)["rounds"] == 1
    # Second run: resumes the bake to its end.
    second = releasegate(
        tmp_path,
        "evaluate",
        *outputs,
        env={**env, "RELEASEGATE_BAKE_STATE_IN": str(tmp_path / "state.json")},
    )
    assert second.returncode == 1, second.stderr
    verdict = json.loads((tmp_path / "v.json").read_text(encoding="utf-8"))
    rules = {r["name"]: r for r in verdict["rules"]}
    assert rules["error rate under 1%"]["outcome"] == "fail"
    assert rules["error rate under 1%"]["actual"] == pytest.approx(25.0)
    assert rules["few ALB errors"]["actual"] == 4 and rules["few ALB errors"]["outcome"] == "pass"
    # Both rounds broke the error-rate rule: two bad rounds in a row, across the two runs.
    assert rules["bake"]["outcome"] == "fail"
    assert "2 bad rounds in a row" in rules["bake"]["message"]
    samples = verdict["runtime"]["api.error_rate"]["samples"]
    assert [s["value"] for s in samples] == pytest.approx([25.0, 25.0])
    assert len(verdict["runtime"]["alb.errors"]["samples"]) == 2

    jsonschema = pytest.importorskip("jsonschema")
    from pytest_releasegate.model import verdict_schema

    jsonschema.validate(verdict, verdict_schema())

    seen = {
        "first stdout": first.stdout,
        "first stderr": first.stderr,
        "second stdout": second.stdout,
        "second stderr": second.stderr,
        "bake state": state,
        **{
            name: (tmp_path / name).read_text(encoding="utf-8")
            for name in ("v.json", "v.xml", "v.md", "v.env")
        },
    }
    for where, text in seen.items():
        for secret in (route, token, alb, prometheus.url):
            assert secret not in text, f"{secret!r} in {where}"
    assert "samples api.error_rate (prometheus): 25 25 [2 samples]" in second.stdout
    assert "| `api.error_rate` | prometheus | 25 25 [2 samples] |" in seen["v.md"]

    sourced = subprocess.run(
        [
            "sh",
            "-c",
            'set -a; . ./v.env; set +a; printf "%s|%s|%s" "$RELEASEGATE_VERDICT" '
            '"$RELEASEGATE_API_ERROR_RATE" "$RELEASEGATE_RULES_FAILED"',
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    assert sourced == "fail|25|2"

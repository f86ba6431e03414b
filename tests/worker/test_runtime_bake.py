"""Acceptance 3 through the worker: runtime metrics sampled in a bake that spans continuation
jobs, the samples carried in the bake state, a deploy turning bad stopping the bake."""

from __future__ import annotations

import json
import uuid
from typing import Any

from pytest_releasegate.codepipeline.handoff import decode_token
from pytest_releasegate.testing.emulator import CodePipelineEmulator

from .support import SERVE, Artifacts, enqueue
from .test_continuation import _continues, _finish_chain

POLICY = """
[tool.releasegate]
[[tool.releasegate.metric]]
name = "api.errors"
provider = "prometheus"
url = "{prometheus}"
query = 'sum(http_requests_total{{route="{route}",status="500"}}) or vector(0)'
headers = {{ Authorization = "Bearer ${{TOKEN}}" }}

[[tool.releasegate.rule]]
name = "no 5xx"
metric = "api.errors"
max = 0

[[tool.releasegate.smoke]]
name = "traffic"
url = "{{base_url}}/hit/{route}"
expect-status = [200, 500]

[tool.releasegate.bake]
duration = "30s"
interval = "1s"
consecutive-failure-limit = 2
"""


def test_a_service_turning_bad_mid_bake_fails_across_continuation_jobs(
    emulator: CodePipelineEmulator,
    artifacts: Artifacts,
    env: dict[str, str],
    spawn: Any,
    prometheus: Any,
    instrumented_service: Any,
) -> None:
    route = "route-" + uuid.uuid4().hex[:12]
    instrumented_service.fail_after[route] = 2  # the third round's request on: 500
    token = "tok-" + uuid.uuid4().hex
    env["TOKEN"] = token
    files = {
        "pyproject.toml": POLICY.format(prometheus=prometheus.url, route=route),
        "tests/test_app.py": "def test_ok():\n    pass\n",
    }
    first, out = enqueue(
        emulator, artifacts, files, configuration={"BaseUrl": instrumented_service.url}
    )
    worker = spawn(
        *SERVE, "--poll-interval", "0.1", "--bake-pass", "0.9", "--log-format", "json", env=env
    )
    chain = _finish_chain(emulator, first, worker)
    results = [job.result for job in chain]
    assert len(chain) >= 3, worker.text()  # at least two continuation jobs
    assert [_continues(r) for r in results] == [True] * (len(chain) - 1) + [False]
    final = results[-1]
    assert final.kind == "failure"
    assert final.params["failureDetails"]["type"] == "JobFailed"
    assert "no 5xx" in final.params["failureDetails"]["message"]

    # Every continuation token carried the samples taken so far.
    tokens = [job.data["continuationToken"] for job in chain[1:]]

    def kept(token: str) -> int:
        """Samples in a token (a pass that ran no round, as the first may, carries none)."""
        runtime = decode_token(token)["bake"].get("extra", {}).get("runtime")
        return len(runtime["series"]["api.errors"]["s"]) if runtime else 0

    carried = [kept(t) for t in tokens]
    assert carried == sorted(carried) and carried[-1] >= 1

    assert out is not None
    verdict = json.loads(artifacts.read_zip(out)["verdict.json"])
    rules = {r["name"]: r for r in verdict["rules"]}
    assert rules["bake"]["outcome"] == "fail"
    assert "2 bad rounds in a row" in rules["bake"]["message"]
    values = [s["value"] for s in verdict["runtime"]["api.errors"]["samples"]]
    assert len(values) > carried[-1] and values[:2] == [0, 0]  # every sample, from every job
    assert values[-1] > 0 and values[-2] > 0
    assert rules["no 5xx"]["outcome"] == "fail" and rules["no 5xx"]["actual"] == max(values)

    # The ${TOKEN} value shows nowhere: worker log, tokens, results, the verdict.
    shown = [worker.text(), json.dumps(verdict), *(json.dumps(r.params) for r in results)]
    shown += tokens
    shown += [json.dumps(decode_token(t)) for t in tokens]
    assert not [s for s in shown if token in s]


CLOUDWATCH_POLICY = """
[tool.releasegate]
[[tool.releasegate.metric]]
name = "alb.errors"
provider = "cloudwatch"
window = "5m"
queries = [{{ namespace = "AWS/ApplicationELB", metric = "HTTPCode_Target_5XX_Count", dimensions = {{ LoadBalancer = "${{ALB}}" }}, stat = "Sum" }}]

[[tool.releasegate.rule]]
name = "few 5xx"
metric = "alb.errors"
max = 1

[tool.releasegate.bake]
duration = "30s"
interval = "1s"
consecutive-failure-limit = 2
"""


def test_cloudwatch_metrics_are_sampled_by_the_worker_not_the_credential_free_child(
    emulator: CodePipelineEmulator,
    artifacts: Artifacts,
    env: dict[str, str],
    spawn: Any,
    moto_server: str,
) -> None:
    """The gate child has no AWS credential and no endpoint: the worker samples for it over
    a loopback endpoint, and ${ALB} is expanded in the worker, never in the child."""
    import datetime as dt

    import boto3

    alb = "app/secret-alb/" + uuid.uuid4().hex[:16]
    cw = boto3.client("cloudwatch", endpoint_url=moto_server, region_name="us-east-1")
    cw.put_metric_data(
        Namespace="AWS/ApplicationELB",
        MetricData=[
            {
                "MetricName": "HTTPCode_Target_5XX_Count",
                "Dimensions": [{"Name": "LoadBalancer", "Value": alb}],
                "Timestamp": dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=90),
                "Value": 3.0,
            }
        ],
    )
    env.update({"ALB": alb, "AWS_ENDPOINT_URL_CLOUDWATCH": moto_server})
    files = {
        "pyproject.toml": CLOUDWATCH_POLICY.format(),
        "tests/test_app.py": "def test_ok():\n    pass\n",
    }
    first, out = enqueue(emulator, artifacts, files)
    worker = spawn(
        *SERVE, "--poll-interval", "0.1", "--bake-pass", "0.9", "--log-format", "json", env=env
    )
    chain = _finish_chain(emulator, first, worker)
    results = [job.result for job in chain]
    assert len(chain) >= 2, worker.text()
    final = results[-1]
    assert final.kind == "failure" and "few 5xx" in final.params["failureDetails"]["message"]
    assert out is not None
    verdict = json.loads(artifacts.read_zip(out)["verdict.json"])
    rules = {r["name"]: r for r in verdict["rules"]}
    assert rules["few 5xx"]["actual"] == 3 and rules["few 5xx"]["outcome"] == "fail"
    samples = verdict["runtime"]["alb.errors"]["samples"]
    assert [s["value"] for s in samples] == [3, 3]  # two bad rounds, then the limit
    sent = verdict["runtime"]["alb.errors"]["query"][0]["MetricStat"]["Metric"]["Dimensions"]
    assert sent == [{"Name": "LoadBalancer", "Value": "***"}]
    shown = [worker.text(), json.dumps(verdict), *(json.dumps(r.params) for r in results)]
    shown += [job.data.get("continuationToken") or "" for job in chain]
    assert not [s for s in shown if alb in s]

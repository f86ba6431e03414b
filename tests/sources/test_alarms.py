"""alarms.in_alarm against a moto CloudWatch server over HTTP (no mocks of our code).

The credentials and region are the fake ones of tests/conftest.py."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
import requests

from pytest_releasegate.model import Outcome


@pytest.fixture
def cloudwatch(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A CloudWatch client on the moto server; the environment points every client at it."""
    # moto's backends are process-wide: start every test from an empty account.
    requests.post(f"{moto_server}/moto-api/reset", timeout=10).raise_for_status()
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH", moto_server)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    return boto3.client("cloudwatch", endpoint_url=moto_server)


def put_alarm(client: Any, name: str, state: str) -> None:
    client.put_metric_alarm(
        AlarmName=name,
        MetricName="5xx",
        Namespace="App",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    client.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")


def policy(
    names: list[str] | None = None, prefix: str | None = None, on_missing: str = "fail"
) -> str:
    text = f'[[rule]]\nmetric = "alarms.in_alarm"\nmax = 0\non-missing = "{on_missing}"\n[alarms]\n'
    if names is not None:
        text += f"names = {names!r}\n".replace("'", '"')
    if prefix is not None:
        text += f'prefix = "{prefix}"\n'
    return text


def test_an_alarm_in_alarm_fails_the_rule_naming_it(cloudwatch: Any, make_gate: Any) -> None:
    put_alarm(cloudwatch, "api-5xx", "ALARM")
    put_alarm(cloudwatch, "api-latency", "OK")
    put_alarm(cloudwatch, "other", "ALARM")
    verdict = make_gate(policy(prefix="api-")).run()
    rule = verdict.rules[0]
    assert rule.outcome is Outcome.FAIL
    assert rule.actual == 1
    assert "in ALARM: api-5xx" in rule.message
    assert "other" not in rule.message
    assert verdict.metrics["alarms.in_alarm"] == 1


def test_all_ok_passes_with_names_and_prefix_together(cloudwatch: Any, make_gate: Any) -> None:
    put_alarm(cloudwatch, "api-5xx", "OK")
    put_alarm(cloudwatch, "db-cpu", "OK")
    verdict = make_gate(policy(names=["db-cpu"], prefix="api-")).run()
    assert verdict.rules[0].outcome is Outcome.PASS
    assert verdict.rules[0].message.endswith("(2 alarms OK)")


def test_many_alarms_are_read_across_pages(cloudwatch: Any, make_gate: Any) -> None:
    names = [f"svc-{i:03d}" for i in range(120)]
    for name in names:
        put_alarm(cloudwatch, name, "OK")
    cloudwatch.set_alarm_state(AlarmName="svc-117", StateValue="ALARM", StateReason="t")
    verdict = make_gate(policy(names=names)).run()
    assert verdict.rules[0].actual == 1
    assert "svc-117" in verdict.rules[0].message


@pytest.mark.parametrize(
    ("on_missing", "expected"),
    [("fail", Outcome.ERROR), ("warn", Outcome.WARN), ("skip", Outcome.SKIPPED)],
)
def test_insufficient_data_is_missing_data_per_on_missing(
    cloudwatch: Any, make_gate: Any, on_missing: str, expected: Outcome
) -> None:
    put_alarm(cloudwatch, "api-5xx", "INSUFFICIENT_DATA")
    put_alarm(cloudwatch, "api-latency", "OK")
    verdict = make_gate(policy(prefix="api-", on_missing=on_missing)).run()
    assert verdict.rules[0].outcome is expected
    assert "INSUFFICIENT_DATA: api-5xx" in verdict.rules[0].message


def test_alarm_wins_over_insufficient_data(cloudwatch: Any, make_gate: Any) -> None:
    put_alarm(cloudwatch, "api-5xx", "INSUFFICIENT_DATA")
    put_alarm(cloudwatch, "api-latency", "ALARM")
    verdict = make_gate(policy(prefix="api-", on_missing="skip")).run()
    assert verdict.rules[0].outcome is Outcome.FAIL


def test_a_named_alarm_that_does_not_exist_is_missing_data(cloudwatch: Any, make_gate: Any) -> None:
    verdict = make_gate(policy(names=["nope"])).run()
    assert verdict.rules[0].outcome is Outcome.ERROR
    assert "no such alarm: nope" in verdict.rules[0].message


def test_select_name_narrows_the_watched_alarms(cloudwatch: Any, make_gate: Any) -> None:
    put_alarm(cloudwatch, "api-5xx", "ALARM")
    put_alarm(cloudwatch, "api-latency", "OK")
    text = policy(prefix="api-").replace("max = 0\n", 'max = 0\nselect = { name = "*latency" }\n')
    verdict = make_gate(text).run()
    assert verdict.rules[0].outcome is Outcome.PASS


@pytest.mark.parametrize(
    ("on_missing", "expected"), [("fail", Outcome.ERROR), ("warn", Outcome.WARN)]
)
def test_unreachable_cloudwatch_is_missing_data(
    monkeypatch: pytest.MonkeyPatch, make_gate: Any, on_missing: str, expected: Outcome
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH", "http://127.0.0.1:1")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # the user's retry config is honoured
    verdict = make_gate(policy(names=["api-5xx"], on_missing=on_missing)).run()
    rule = verdict.rules[0]
    assert rule.outcome is expected
    assert "CloudWatch DescribeAlarms failed: Could not connect to the endpoint URL" in rule.message
    assert "alarms.in_alarm" not in verdict.metrics


def test_no_alarm_rule_means_no_aws_call(monkeypatch: pytest.MonkeyPatch, make_gate: Any) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH", "http://127.0.0.1:1")
    gate = make_gate('[[rule]]\nmetric = "tests.failed"\nmax = 0\n[alarms]\nnames = ["x"]\n')
    gate.run()
    assert "alarms:snapshot" not in gate.data


def test_alarm_states_are_read_after_the_smoke_checks_and_bake() -> None:
    from pytest_releasegate.manager import get_plugin_manager, register_builtin

    pm = get_plugin_manager(entry_points=False)
    for name in ("smoke", "alarms", "smoke"):  # the gate loads sources lazily, in any order
        register_builtin(pm, f"pytest_releasegate.sources.{name}")
    hook = pm.hook.releasegate_collect
    order = [impl.plugin_name for impl in reversed(hook.get_hookimpls())]  # the Gate's call order
    assert order.index("alarms") > order.index("smoke")

"""The smoke.* metrics through a real Gate: checks, bakes, gate_http samples, smoke tests."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytest_releasegate.model import Outcome, TestRecord
from pytest_releasegate.sinks.files import write_json, write_junit
from pytest_releasegate.sinks.render import markdown, terminal_lines
from pytest_releasegate.sources.bake import BakeState
from pytest_releasegate.sources.smoke import bake_pending


def rules(*specs: str) -> str:
    """`rules("smoke.failed max 0", ...)` as [[rule]] tables."""
    out = []
    for spec in specs:
        metric, bound, value = spec.split()
        out.append(f'[[rule]]\nmetric = "{metric}"\n{bound} = {value}\n')
    return "\n".join(out)


def smoke(name: str, url: str, **extra: str) -> str:
    lines = [f'[[smoke]]\nname = "{name}"\nurl = "{url}"']
    lines += [f"{k} = {v}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def outcome(verdict: Any, name: str) -> Any:
    return next(r for r in verdict.rules if r.name == name)


def nearest_rank_by_count(samples: list[float], p: int) -> float:
    """Independent of the source: the value at 1-based rank ceil(p * n / 100), integer maths."""
    n = len(samples)
    return sorted(samples)[(p * n + 99) // 100 - 1]


LATENCY_RULES = rules(
    "smoke.latency_ms.p50 max 100000",
    "smoke.latency_ms.p95 max 100000",
    "smoke.latency_ms.p99 max 100000",
    "smoke.latency_ms.max max 100000",
)


def test_percentiles_equal_nearest_rank_of_the_recorded_samples(
    service: Any, make_gate: Any
) -> None:
    delays = [5 * i for i in range(1, 21)]  # 5 .. 100 ms, known to the server
    policy = LATENCY_RULES + "".join(smoke(f"d{ms}", f"{{base_url}}/delay/{ms}") for ms in delays)
    gate = make_gate(policy, base_url=service.url)
    verdict = gate.run()
    assert verdict.verdict is Outcome.PASS

    state = gate.data["smoke:bake_state"]
    samples = state.latencies()
    assert len(samples) == 20
    for p in (50, 95, 99):
        assert verdict.metrics[f"smoke.latency_ms.p{p}"] == nearest_rank_by_count(samples, p)
    assert verdict.metrics["smoke.latency_ms.max"] == max(samples)
    # Every request took at least what the server slept (a lower bound: no timing race).
    for ms in delays:
        assert state.checks[f"d{ms}"].latencies_ms[0] >= ms
    assert verdict.metrics["smoke.latency_ms.p50"] >= 50
    assert verdict.metrics["smoke.latency_ms.p95"] >= 95


def test_gate_http_samples_give_exact_known_percentiles(make_gate: Any) -> None:
    gate = make_gate(LATENCY_RULES + rules("smoke.error_rate max 10"))
    gate.data["extras:smoke"] = [
        {"ms": float(ms), "status": 200 if ms % 20 else 503, "ok": bool(ms % 20), "nodeid": "t::a"}
        for ms in range(100, 0, -1)
    ]
    verdict = gate.run()
    m = verdict.metrics
    assert (m["smoke.latency_ms.p50"], m["smoke.latency_ms.p95"]) == (50.0, 95.0)
    assert (m["smoke.latency_ms.p99"], m["smoke.latency_ms.max"]) == (99.0, 100.0)
    assert m["smoke.requests"] == 100
    assert m["smoke.error_rate"] == 5.0
    assert outcome(verdict, "smoke.error_rate").message.endswith("(5 of 100 requests failed)")


def test_checks_samples_and_smoke_tests_count_together(service: Any, make_gate: Any) -> None:
    policy = rules("smoke.failed max 0", "smoke.passed min 1") + smoke("ok", "{base_url}/json")
    policy += smoke("bad", "{base_url}/status/500")
    gate = make_gate(policy, base_url=service.url)
    gate.data["extras:smoke"] = [{"ms": 3.0, "status": 200, "ok": True, "nodeid": "t.py::test_a"}]
    gate.add_records(
        [
            TestRecord("t.py::test_a", "passed", markers=("smoke",)),
            TestRecord("t.py::test_b", "failed", markers=("smoke",)),
            TestRecord("t.py::test_c", "failed"),  # not a smoke test
            TestRecord("t.py::test_d", "skipped", markers=("smoke",)),
        ]
    )
    verdict = gate.run()
    m = verdict.metrics
    assert (m["smoke.passed"], m["smoke.failed"], m["smoke.requests"]) == (2, 2, 3)
    failed = outcome(verdict, "smoke.failed")
    assert failed.outcome is Outcome.FAIL
    assert "bad (round 1): GET" in failed.message
    assert "t.py::test_b failed" in failed.message


def test_select_name_narrows_to_one_check(service: Any, make_gate: Any) -> None:
    policy = '[[rule]]\nmetric = "smoke.failed"\nselect = { name = "ok*" }\nmax = 0\n'
    policy += smoke("ok-json", "{base_url}/json") + smoke("bad", "{base_url}/status/500")
    verdict = make_gate(policy, base_url=service.url).run()
    assert verdict.rules[0].outcome is Outcome.PASS
    assert verdict.metrics["smoke.failed"] == 1


def test_no_base_url_makes_every_smoke_rule_an_error(make_gate: Any) -> None:
    verdict = make_gate(rules("smoke.failed max 0") + smoke("h", "{base_url}/health")).run()
    assert verdict.verdict is Outcome.ERROR
    assert "needs a base URL" in verdict.rules[0].message


def test_nothing_to_measure_is_missing_data_never_a_zero(make_gate: Any) -> None:
    policy = rules("smoke.failed max 0", "smoke.latency_ms.p95 max 1")
    policy += '[[rule]]\nmetric = "smoke.requests"\nmin = 0\non-missing = "skip"\n'
    verdict = make_gate(policy).run()
    assert [r.outcome for r in verdict.rules] == [Outcome.ERROR, Outcome.ERROR, Outcome.SKIPPED]
    assert "no smoke check ran and no smoke-marked test ran" in verdict.rules[0].message
    assert not any(k.startswith("smoke.") for k in verdict.metrics)


def test_checks_do_not_run_when_no_rule_of_the_profile_needs_them(
    service: Any, make_gate: Any
) -> None:
    policy = (
        '[profiles.pre-push]\nrules = ["tests"]\n'
        '[[rule]]\nname = "tests"\nmetric = "tests.failed"\nmax = 0\n'
        + rules("smoke.failed max 0")
        + smoke("h", "{base_url}/json")
        + '[bake]\nduration = "1m"\ninterval = "1s"\n'
    )
    gate = make_gate(policy, base_url=service.url)
    gate.options.profile = "pre-push"
    gate.profile = gate.policy.resolve_profile("pre-push")
    gate.rules = gate.policy.rules_for(gate.profile)
    gate.run()
    assert service.counts == {}


BAKE = """
[bake]
duration = 0.5
interval = 0.05
max-error-rate = 5
"""


def test_bake_with_one_bad_round_in_ten_fails_the_bake_rule(service: Any, make_gate: Any) -> None:
    service.fail_on = {5}
    gate = make_gate(smoke("flaky", "{base_url}/flaky") + BAKE, base_url=service.url)
    verdict = gate.run()
    bake = outcome(verdict, "bake")
    assert bake.outcome is Outcome.FAIL
    assert bake.actual == 1
    assert "error rate 10.00% is above max-error-rate 5%" in bake.message
    assert service.counts["/flaky"] == 10
    assert (verdict.metrics["smoke.passed"], verdict.metrics["smoke.failed"]) == (9, 1)
    lines = gate.data["progress_lines"]
    assert len(lines) == 11
    assert lines[4].startswith("releasegate bake: round 5/10 BAD (1 of 1 checks failed)")
    assert lines[-1].startswith("releasegate bake: FAILED")


def test_bake_with_a_healthy_service_stops_after_three_clean_rounds(
    service: Any, make_gate: Any
) -> None:
    policy = smoke("h", "{base_url}/json") + BAKE + "consecutive-success-limit = 3\n"
    verdict = make_gate(policy, base_url=service.url).run()
    assert outcome(verdict, "bake").outcome is Outcome.PASS
    assert service.counts["/json"] == 3
    assert verdict.metrics["smoke.bake_violations"] == 0


def test_a_bake_cut_by_its_deadline_is_pending_then_resumes_from_json(
    service: Any, make_gate: Any
) -> None:
    policy = smoke("h", "{base_url}/json") + BAKE
    clock = iter(range(1_000, 10_000))
    fake = {"clock": lambda: float(next(clock)) / 100, "sleep": lambda s: None}
    first = make_gate(policy, base_url=service.url, **fake)
    first.data["smoke:until"] = 10.0 + 0.2  # room for a few rounds of the fake clock
    verdict = first.run()
    pending = bake_pending(first)
    assert pending is not None
    assert 0 < pending.rounds < 10
    assert outcome(verdict, "bake").outcome is Outcome.ERROR
    assert "bake is still running" in outcome(verdict, "bake").message

    token = json.dumps(pending.to_json(samples=False))
    second = make_gate(policy, base_url=service.url, bake_state=json.loads(token), **fake)
    verdict = second.run()
    assert bake_pending(second) is None
    assert outcome(verdict, "bake").outcome is Outcome.PASS
    assert verdict.metrics["smoke.passed"] == 10
    assert service.counts["/json"] == 10
    state: BakeState = second.data["smoke:bake_state"]
    assert not state.samples_complete


def test_env_header_values_never_reach_any_output(
    service: Any, make_gate: Any, tmp_path: Any
) -> None:
    secret = "tok-9f8e7d6c5b4a"
    policy = rules("smoke.failed max 0") + smoke(
        "echo",
        "{base_url}/echo?status=500",
        headers='{ Authorization = "Bearer ${SMOKE_TOKEN}", X-Key = "${SMOKE_TOKEN}" }',
        retries="1",
    )
    policy += BAKE + "consecutive-failure-limit = 2\n"
    gate = make_gate(policy, base_url=service.url, environ={"SMOKE_TOKEN": secret})
    verdict = gate.run()
    assert verdict.verdict is Outcome.FAIL
    assert "Bearer ***" in outcome(verdict, "smoke.failed").message  # it was sent, and masked
    write_json(verdict, tmp_path / "v.json")
    write_junit(verdict, tmp_path / "v.xml")
    outputs = [
        (tmp_path / "v.json").read_text(),
        (tmp_path / "v.xml").read_text(),
        markdown(verdict),
        "\n".join(terminal_lines(verdict)),
        "\n".join(gate.data["progress_lines"]),
        json.dumps(gate.data["smoke:bake_state"].to_json()),
    ]
    for text in outputs:
        assert secret not in text


@pytest.mark.parametrize("on_missing", ["fail", "warn", "skip"])
def test_unset_header_variable_is_missing_data_per_on_missing(
    make_gate: Any, on_missing: str
) -> None:
    policy = f'[[rule]]\nmetric = "smoke.failed"\nmax = 0\non-missing = "{on_missing}"\n'
    policy += smoke("h", "http://127.0.0.1:1/x", headers='{ Authorization = "${NOPE}" }')
    verdict = make_gate(policy).run()
    expected = {"fail": Outcome.ERROR, "warn": Outcome.WARN, "skip": Outcome.SKIPPED}[on_missing]
    assert verdict.rules[0].outcome is expected
    assert "${NOPE}, which is not set" in verdict.rules[0].message

"""Declared smoke checks against a real loopback service: expectations, retries, secrets."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from pytest_releasegate.sections import SmokeCheck
from pytest_releasegate.sources.http_checks import (
    Check,
    CheckRunner,
    CheckSetupError,
    GateSession,
    display_url,
    json_subset,
    scrub,
    status_matches,
)


def check(url: str, **keys: Any) -> Check:
    table = {"name": keys.pop("name", "c"), "url": url}
    table.update({k.replace("_", "-"): v for k, v in keys.items()})
    return Check.from_policy(
        SmokeCheck.from_table(table), keys.pop("base_url", None), keys.pop("environ", {})
    )


def run_one(c: Check) -> Any:
    with CheckRunner([c], sleep=lambda s: None) as runner:
        return runner.run_round()[0]


@pytest.mark.parametrize(
    ("status", "expected", "ok"),
    [
        (200, 200, True),
        (204, "2xx", True),
        (301, "2xx", False),
        (404, [200, 404], True),
        (404, ["2xx", "3xx"], False),
        (503, "503", True),
    ],
)
def test_expect_status_accepts_codes_lists_and_classes(
    status: int, expected: Any, ok: bool
) -> None:
    assert status_matches(status, expected) is ok


def test_json_subset_reports_the_first_mismatch_by_path() -> None:
    actual = {"status": "ok", "items": [{"id": 1, "x": 0}, {"id": 2}], "n": 1}
    assert json_subset({"status": "ok", "items": [{"id": 2}]}, actual) is None
    assert json_subset({"n": 1.0}, actual) is None
    assert json_subset({"status": "down"}, actual) == '$.status: expected "down", got "ok"'
    assert json_subset({"items": [{"id": 3}]}, actual) == '$.items[0]: no item matches {"id": 3}'
    assert json_subset({"missing": 1}, actual) == "$.missing: missing"
    assert json_subset({"n": True}, actual) is not None  # true is not 1


def test_passing_check_records_one_request(service: Any) -> None:
    result = run_one(
        check(f"{service.url}/json", expect_json={"status": "ok"}, expect_body="items")
    )
    assert result.ok
    assert [a.status for a in result.attempts] == [200]


@pytest.mark.parametrize(
    ("path", "keys", "problem"),
    [
        ("/status/503", {}, "-> 503 (expected status 2xx): 'status 503'"),
        ("/json", {"expect_json": {"status": "down"}}, "JSON mismatch at $.status"),
        ("/json", {"expect_body": "nope"}, "body does not contain 'nope'"),
        ("/json", {"expect_body_regex": r"id\": 9"}, "body does not match"),
        ("/status/200", {"expect_json": {"a": 1}}, "body is not JSON"),
    ],
)
def test_failing_check_message_shows_method_url_status_and_body(
    service: Any, path: str, keys: dict[str, Any], problem: str
) -> None:
    result = run_one(check(f"{service.url}{path}", **keys))
    assert not result.ok
    assert result.message.startswith(f"GET {service.url}{path} -> ")
    assert problem in result.message


def test_retries_make_one_request_per_attempt(service: Any) -> None:
    service.fail_on = {1, 2}
    result = run_one(check(f"{service.url}/flaky", retries=3))
    assert result.ok
    assert [a.status for a in result.attempts] == [503, 503, 200]
    assert [a.ok for a in result.attempts] == [False, False, True]


def test_exhausted_retries_fail_and_say_how_many_attempts(service: Any) -> None:
    result = run_one(check(f"{service.url}/status/500", retries=2))
    assert not result.ok
    assert len(result.attempts) == 3
    assert result.message.endswith("[3 attempts]")


def test_unreachable_service_fails_the_check_without_a_status() -> None:
    result = run_one(check("http://127.0.0.1:1/health", timeout=1))
    assert not result.ok
    assert result.attempts[0].status is None
    assert "no response (ConnectionError" in result.message


def test_base_url_is_templated_without_a_double_slash(service: Any) -> None:
    c = check("{base_url}/json", base_url=service.url + "/")
    assert c.url == f"{service.url}/json"
    assert run_one(c).ok


def test_missing_base_url_is_a_setup_error() -> None:
    with pytest.raises(CheckSetupError, match="needs a base URL"):
        check("{base_url}/health")


def test_unset_variable_is_a_setup_error_naming_it() -> None:
    with pytest.raises(CheckSetupError, match=r"header 'Authorization' uses \$\{SMOKE_TOKEN\}"):
        check("http://127.0.0.1/x", headers={"Authorization": "Bearer ${SMOKE_TOKEN}"})


def test_env_header_value_is_sent_but_never_in_the_message(service: Any) -> None:
    secret = "s3cr3t-t0ken/+="
    c = check(
        f"{service.url}/echo?status=500",
        headers={"Authorization": "Bearer ${SMOKE_TOKEN}"},
        environ={"SMOKE_TOKEN": secret},
    )
    result = run_one(c)
    assert not result.ok
    assert "Bearer ***" in result.message  # the echo proves it was sent, masked
    assert secret not in result.message


def test_a_long_secret_cut_by_the_body_preview_leaks_no_part(service: Any) -> None:
    secret = "".join(f"{i:03d}" for i in range(100))  # 300 characters, longer than the preview
    c = check(
        f"{service.url}/echo?status=500",
        headers={"Authorization": "${SMOKE_TOKEN}"},
        environ={"SMOKE_TOKEN": secret},
    )
    message = run_one(c).message
    assert '"Authorization": "***"' in message
    assert not any(secret[i : i + 12] in message for i in range(len(secret) - 12))


def test_display_url_strips_credentials_and_masks_secret_query_values() -> None:
    shown = display_url("https://user:pw@example.com/p?api_key=abc&page=2")
    assert shown == "https://example.com/p?api_key=***&page=2"


def test_scrub_masks_url_encoded_forms() -> None:
    assert scrub("a=x%2By and x+y", ["x+y"]) == "a=*** and ***"


def test_checks_run_concurrently_through_one_pool(service: Any) -> None:
    checks = [check(f"{service.url}/delay/100", name=f"c{i}") for i in range(50)]
    with CheckRunner(checks) as runner:
        results = runner.run_round()
        pool = runner.session.get_adapter(service.url).poolmanager.connection_pool_kw["maxsize"]
    assert all(r.ok for r in results)
    assert [r.name for r in results] == [f"c{i}" for i in range(50)]
    assert pool == runner.workers == 32
    # Evidence of concurrency that does not depend on wall-clock time:
    assert service.max_in_flight > 1


def gate_session(service: Any, **kw: Any) -> tuple[GateSession, list[dict[str, Any]]]:
    samples: list[dict[str, Any]] = []
    session = GateSession(
        service.url + "/", samples.append, nodeid="t::x", sleep=lambda s: None, **kw
    )
    return session, samples


def test_gate_session_joins_relative_urls_and_records_each_request(service: Any) -> None:
    session, samples = gate_session(service)
    with session:
        assert session.get("/json").json()["status"] == "ok"
        assert session.get("status/404").status_code == 404
        assert session.get(f"{service.url}/json").ok  # absolute: used as given
    assert [(s["status"], s["ok"], s["nodeid"]) for s in samples] == [
        (200, True, "t::x"),
        (404, True, "t::x"),  # answered: the test decides whether 404 is right
        (200, True, "t::x"),
    ]
    assert all(s["ms"] > 0 for s in samples)


def test_gate_session_retries_idempotent_requests_and_records_every_attempt(service: Any) -> None:
    service.fail_on = {1, 2}
    session, samples = gate_session(service)
    with session:
        assert session.get("/flaky").status_code == 200
        service.fail_on = {4}
        assert session.post("/flaky").status_code == 503  # POST is not retried
    assert [(s["status"], s["ok"]) for s in samples] == [
        (503, False),
        (503, False),
        (200, True),
        (503, False),
    ]


def test_gate_session_counts_a_redirected_request_once(service: Any) -> None:
    session, samples = gate_session(service)
    with session:
        response = session.get("/redirect")
    assert response.json()["status"] == "ok"
    assert len(response.history) == 1
    assert [s["status"] for s in samples] == [200]


def test_gate_session_unreachable_raises_after_recording_each_attempt() -> None:
    samples: list[dict[str, Any]] = []
    session = GateSession("http://127.0.0.1:1", samples.append, retries=1, sleep=lambda s: None)
    with session, pytest.raises(requests.ConnectionError):
        session.get("/x", timeout=1)
    assert [(s["status"], s["ok"]) for s in samples] == [(None, False), (None, False)]


def test_variables_in_the_url_are_refused() -> None:
    with pytest.raises(CheckSetupError, match="expanded in headers and body, not in url"):
        check("http://127.0.0.1/x?key=${API_KEY}", environ={"API_KEY": "k"})


def test_body_variables_are_sent_and_masked(service: Any) -> None:
    c = check(
        f"{service.url}/status/500",
        method="POST",
        body='{"k": "${K}"}',
        environ={"K": "zz9-body-secret"},
    )
    assert c.body == '{"k": "zz9-body-secret"}'
    assert c.secrets == ("zz9-body-secret",)
    assert not run_one(c).ok

"""Composing the one result a verdict gets: limits, wording, failure types, variables."""

from __future__ import annotations

import re

import pytest

from pytest_releasegate.codepipeline.results import (
    MESSAGE_MAX,
    OUTPUT_VARIABLES_MAX_BYTES,
    SUMMARY_MAX,
    Backoff,
    FailureType,
    external_execution_id,
    failure_message,
    failure_request,
    fit,
    join_within,
    output_variables,
    success_request,
    summary_text,
    utf16_len,
    verdict_request,
)
from pytest_releasegate.model import Level, Outcome
from tests.aws.publish_support import make_verdict, rule

JOB = "11111111-2222-3333-4444-555555555555"


def test_a_passing_verdict_is_a_success_with_summary_progress_and_variables() -> None:
    request = verdict_request(JOB, make_verdict(Outcome.PASS), external_id="build:1")
    assert request.operation == "PutJobSuccessResult"
    details = request.params["executionDetails"]
    assert details["percentComplete"] == 100
    assert details["externalExecutionId"] == "build:1"
    assert details["summary"].startswith("releasegate: PASS")
    variables = request.params["outputVariables"]
    assert variables["verdict"] == "pass"
    assert variables["tests_failed"] == "0"
    assert variables["coverage_line_percent"] == "91.2346"


def test_a_failing_verdict_is_one_job_failed_naming_the_rules() -> None:
    verdict = make_verdict(
        Outcome.FAIL,
        [
            rule("no failing tests", Outcome.FAIL, message="3 tests failed"),
            rule("line coverage", Outcome.PASS),
            rule("flaky budget", Outcome.WARN, level=Level.WARN),
        ],
    )
    request = verdict_request(JOB, verdict)
    assert request.operation == "PutJobFailureResult"
    assert request.failure_type == "JobFailed"
    message = request.params["failureDetails"]["message"]
    assert message.splitlines()[0].startswith("releasegate: FAIL")
    assert "FAIL no failing tests: actual 3, max 0 \u2014 3 tests failed" in message
    assert "flaky budget" in message  # a warning also stands between this run and a pass
    assert "line coverage" not in message


@pytest.mark.parametrize(
    ("verdict", "warn_as", "operation"),
    [
        (Outcome.WARN, "success", "PutJobSuccessResult"),
        (Outcome.WARN, "failure", "PutJobFailureResult"),
        (Outcome.ERROR, "success", "PutJobFailureResult"),
    ],
)
def test_warn_follows_warn_as_and_error_fails(
    verdict: Outcome, warn_as: str, operation: str
) -> None:
    request = verdict_request(JOB, make_verdict(verdict, warn_as=warn_as))
    assert request.operation == operation
    if operation == "PutJobFailureResult":
        assert request.failure_type == "JobFailed"
    else:
        assert request.params["outputVariables"]["verdict"] == "warn"


def test_the_message_names_every_failing_rule_when_they_fit() -> None:
    rules = [rule(f"rule number {i}", Outcome.FAIL, message="x" * 30) for i in range(40)]
    message = failure_message(make_verdict(Outcome.FAIL, rules))
    assert utf16_len(message) <= MESSAGE_MAX
    assert all(f"rule number {i}:" in message for i in range(40))
    assert "more" not in message.splitlines()[-1]


def test_too_many_rules_are_named_as_far_as_they_fit_then_and_n_more() -> None:
    rules = [rule(f"failing rule {i:04d}", Outcome.FAIL, message="m" * 300) for i in range(600)]
    message = failure_message(make_verdict(Outcome.FAIL, rules))
    assert utf16_len(message) <= MESSAGE_MAX
    named = re.findall(r"failing rule (\d{4})", message)
    last = message.splitlines()[-1]
    match = re.fullmatch(r"and (\d+) more", last)
    assert match is not None
    assert len(named) + int(match.group(1)) == 600
    # Names alone when details would crowd them out: more rules named than with messages.
    assert len(named) > MESSAGE_MAX // 300
    assert named == [f"{i:04d}" for i in range(len(named))]  # in order, none skipped


def test_the_summary_keeps_to_2048_with_the_worst_rules_first() -> None:
    rules = [rule(f"passing {i}", Outcome.PASS) for i in range(5)]
    rules += [rule(f"warned {i}", Outcome.WARN, level=Level.WARN) for i in range(50)]
    rules += [rule("broken", Outcome.ERROR, message="no coverage data")]
    summary = summary_text(make_verdict(Outcome.ERROR, rules))
    lines = summary.splitlines()
    assert utf16_len(summary) <= SUMMARY_MAX
    assert lines[0].startswith("releasegate: ERROR")
    assert lines[1].startswith("ERROR broken")
    assert re.fullmatch(r"and \d+ more", lines[-1])
    assert not any("passing" in line for line in lines)


def test_limits_count_utf16_units_as_the_service_does() -> None:
    text = "\U0001f600" * 3000  # each emoji is two UTF-16 code units
    cut = fit(text, SUMMARY_MAX)
    assert utf16_len(cut) <= SUMMARY_MAX
    assert cut.endswith("\u2026")
    assert join_within("h" * 5000, ["a"], 100).endswith("and 1 more")
    assert utf16_len(join_within("h" * 5000, ["a"], 100)) <= 100


def test_output_variable_keys_match_the_service_pattern_and_clashes_keep_the_first() -> None:
    verdict = make_verdict(
        Outcome.PASS,
        metrics={"smoke.latency_ms.p95": 12.5, "weird metric/name!": 1, "verdict": 7},
    )
    variables = output_variables(verdict)
    assert all(re.fullmatch(r"[A-Za-z0-9@\-_]+", key) for key in variables)
    assert variables["smoke_latency_ms_p95"] == "12.5"
    assert variables["weird_metric_name_"] == "1"
    assert variables["verdict"] == "pass"  # a metric cannot take over the verdict's key


def test_output_variables_are_trimmed_deterministically_under_the_byte_limit() -> None:
    metrics = {f"custom.metric_{i:05d}.{'x' * 40}": float(i) + 0.5 for i in range(4000)}
    verdict = make_verdict(Outcome.PASS, metrics=metrics)
    first, second = output_variables(verdict), output_variables(verdict)
    size = sum(len(k.encode()) + len(v.encode()) for k, v in first.items())
    assert first == second
    assert size <= OUTPUT_VARIABLES_MAX_BYTES
    assert first["verdict"] == "pass"
    dropped = int(first["variables_dropped"])
    kept = [k for k in first if k.startswith("custom_metric_")]
    assert len(kept) + dropped == 4000
    assert kept == sorted(kept) and kept[0].startswith("custom_metric_00000")


def test_external_execution_id_comes_from_codebuild_and_fits_1500() -> None:
    assert external_execution_id({}) is None
    assert external_execution_id({"CODEBUILD_BUILD_ID": "proj:abc"}) == "proj:abc"
    assert len(external_execution_id({"CODEBUILD_BUILD_ID": "b" * 2000}) or "") == 1500


def test_a_continuation_carries_no_variables_and_a_bounded_token() -> None:
    request = success_request(JOB, "baking", continuation_token="t", percent_complete=40)
    assert "outputVariables" not in request.params
    assert request.params["executionDetails"]["percentComplete"] == 40
    with pytest.raises(ValueError, match="2048"):
        success_request(JOB, "s", continuation_token="t" * 2049)
    with pytest.raises(ValueError, match="outputVariables"):
        success_request(JOB, "s", continuation_token="t", output_variables={"a": "b"})


def test_failure_messages_are_fitted_to_5000() -> None:
    request = failure_request(JOB, FailureType.CONFIGURATION_ERROR, "bad " * 3000)
    assert request.failure_type == "ConfigurationError"
    assert utf16_len(request.params["failureDetails"]["message"]) == MESSAGE_MAX


def test_backoff_is_exponential_with_full_jitter_and_a_cap() -> None:
    top = Backoff(base=0.5, cap=4.0, random=lambda: 1.0)
    assert [top.delay(n) for n in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert Backoff(random=lambda: 0.0).delay(3) == 0.0

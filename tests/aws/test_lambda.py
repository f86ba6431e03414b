"""The Lambda handler: a CodePipeline.job event, artifacts on moto, results on the emulator."""

from __future__ import annotations

import json
import logging
import os
import sys
import textwrap
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_releasegate import aws_lambda
from pytest_releasegate.codepipeline import runner as runner_module
from pytest_releasegate.codepipeline.handoff import decode_token, encode_token
from pytest_releasegate.codepipeline.results import JobFailure
from pytest_releasegate.testing.emulator import CodePipelineEmulator, S3Artifact
from tests.aws.publish_support import (
    BUCKET,
    FAILING_TESTS,
    KMS_KEY,
    REPO,
    FakeContext,
    lambda_event,
    project,
    read_zip,
    s3,
    zip_bytes,
    zip_with_symlink,
)

__all__ = ["s3"]  # the fixture, imported for its name

SECRETS = {
    "accessKeyId": "ASIAJOBARTIFACTKEY01",
    "secretAccessKey": "job-artifact-secret/DO+NOT+LEAK",
    "sessionToken": "job-artifact-session-token-DO-NOT-LEAK",
}

# A stand-in for `python -m pytest --gate ...`: a bake of `planned` rounds, two per
# invocation, handed over through the state files; then a passing verdict.
FAKE_CHILD = textwrap.dedent(
    """
    import argparse, json, os, sys
    from pathlib import Path
    from pytest_releasegate.model import Outcome, RuleResult, Selection, Verdict
    from pytest_releasegate.sinks.files import write_json

    parser = argparse.ArgumentParser(allow_abbrev=False)
    parser.add_argument("--gate-json")
    args, _ = parser.parse_known_args()
    env = os.environ
    record = {"argv": sys.argv[1:], "env": dict(env), "cwd": os.getcwd()}
    state_in = env.get("RELEASEGATE_BAKE_STATE_IN")
    state = json.loads(Path(state_in).read_text()) if state_in else {"rounds": 0, "planned": 5}
    record["state_in"] = state if state_in else None
    with open(env["FAKE_CHILD_RECORD"], "a") as fh:
        fh.write(json.dumps(record) + "\\n")
    state["rounds"] = min(state["rounds"] + 2, state["planned"])
    if state["rounds"] < state["planned"]:
        Path(env["RELEASEGATE_BAKE_STATE_OUT"]).write_text(json.dumps(state))
    rule = RuleResult("bake", "smoke.bake_violations", Selection(), 0.0, {"max": 0}, None,
                      Outcome.PASS, "bake of %d rounds" % state["rounds"])
    verdict = Verdict(Outcome.PASS, "deploy", "pyproject.toml", (rule,), {"smoke.requests": 40.0},
                      {}, "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:01+00:00", "0.1.0")
    write_json(verdict, Path(args.gate_json))
    """
)


@pytest.fixture
def lambda_env(
    emulator: CodePipelineEmulator, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> CodePipelineEmulator:
    """The handler reaches the emulator and moto through the standard endpoint variables."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_CODEPIPELINE", emulator.endpoint_url)
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # the child's plugin: this checkout
    return emulator


@pytest.fixture
def job_for(
    lambda_env: CodePipelineEmulator, s3: Any, start_job: Callable[..., str]
) -> Callable[..., tuple[str, str]]:
    """Store an artifact on moto and start a job on it: returns (job id, output object key)."""

    def make(body: bytes | None, *, key: str | None = None) -> tuple[str, str]:
        key = key or f"pipeline/Source/{uuid.uuid4().hex[:8]}"
        if body is not None:
            s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        out_key = f"pipeline/GateResult/{uuid.uuid4().hex[:8]}"
        job_id = start_job(
            input_artifacts=[S3Artifact("Source", BUCKET, key)],
            output_artifacts=[S3Artifact("GateResult", BUCKET, out_key)],
            artifact_credentials=SECRETS,
            encryption_key=KMS_KEY,
        )
        return job_id, out_key

    return make


def event_of(emulator: CodePipelineEmulator, job_id: str, params: str | None = None) -> Any:
    return lambda_event(job_id, emulator.job(job_id).data, params)


def only_result(emulator: CodePipelineEmulator, job_id: str) -> Any:
    (result,) = emulator.results(job_id)
    return result


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    path = tmp_path / "lambda-tmp"
    path.mkdir()
    return path


# -- real pytest children -----------------------------------------------------------


def test_a_passing_artifact_gets_a_success_and_the_output_artifact(
    lambda_env: CodePipelineEmulator,
    job_for: Callable[..., tuple[str, str]],
    s3: Any,
    sandbox: Path,
) -> None:
    job_id, out_key = job_for(zip_bytes(project()))
    answer = aws_lambda.handle(
        event_of(lambda_env, job_id, '{"pytest_args": ["-q"]}'), FakeContext(), tempdir=str(sandbox)
    )
    assert answer == {
        "job_id": job_id,
        "result": "success",
        "failure_type": None,
        "verdict": "pass",
    }
    result = only_result(lambda_env, job_id)
    assert result.params["outputVariables"]["verdict"] == "pass"
    assert result.params["outputVariables"]["tests_total"] == "2"
    assert result.params["executionDetails"]["percentComplete"] == 100
    head = s3.head_object(Bucket=BUCKET, Key=out_key)
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", KMS_KEY)
    files = read_zip(s3.get_object(Bucket=BUCKET, Key=out_key)["Body"].read())
    assert sorted(files) == ["releasegate-junit.xml", "report.html", "verdict.json"]
    verdict = json.loads(files["verdict.json"])
    assert verdict["verdict"] == "pass" and verdict["context"]["codepipeline_job_id"] == job_id
    assert b'<testsuite name="releasegate"' in files["releasegate-junit.xml"]
    report = files["report.html"].decode()
    assert report.startswith("<!DOCTYPE html>")
    assert '<span class="badge verdict o-pass">PASS</span>' in report
    assert "no failing tests" in report
    assert list(sandbox.iterdir()) == []  # the job's temp dir is gone


def test_a_failing_artifact_gets_job_failed_naming_the_rule(
    lambda_env: CodePipelineEmulator, job_for: Callable[..., tuple[str, str]], s3: Any
) -> None:
    job_id, out_key = job_for(zip_bytes(project(FAILING_TESTS)))
    aws_lambda.handler(event_of(lambda_env, job_id), FakeContext())
    details = only_result(lambda_env, job_id).params["failureDetails"]
    assert details["type"] == "JobFailed"
    assert "FAIL no failing tests: actual 1, max 0" in details["message"]
    files = read_zip(s3.get_object(Bucket=BUCKET, Key=out_key)["Body"].read())
    assert json.loads(files["verdict.json"])["verdict"] == "fail"


def test_a_bad_policy_in_the_artifact_is_a_configuration_error(
    lambda_env: CodePipelineEmulator, job_for: Callable[..., tuple[str, str]]
) -> None:
    bad = '[tool.releasegate]\n[[tool.releasegate.rule]]\nmetric = "tests.failed"\nmaks = 0\n'
    job_id, _ = job_for(zip_bytes(project(policy=bad)))
    aws_lambda.handle(event_of(lambda_env, job_id), FakeContext())
    details = only_result(lambda_env, job_id).params["failureDetails"]
    assert details["type"] == "ConfigurationError"
    assert "bad policy" in details["message"] and "'maks'" in details["message"]


# -- refusals before any child ---------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (zip_bytes({**project(), "../escape.py": "print('out')\n"}), "escapes the target"),
        (zip_with_symlink("tests/link", "../../../../outside", project()), "symbolic link"),
    ],
    ids=["dot-dot", "symlink"],
)
def test_an_unsafe_artifact_is_refused_and_nothing_is_written_outside(
    lambda_env: CodePipelineEmulator,
    job_for: Callable[..., tuple[str, str]],
    tmp_path: Path,
    sandbox: Path,
    body: bytes,
    reason: str,
) -> None:
    job_id, _ = job_for(body)
    aws_lambda.handle(event_of(lambda_env, job_id), FakeContext(), tempdir=str(sandbox))
    details = only_result(lambda_env, job_id).params["failureDetails"]
    assert details["type"] == "JobFailed"
    assert (
        details["message"].startswith("unsafe input artifact refused")
        and reason in details["message"]
    )
    assert [p.name for p in tmp_path.iterdir()] == ["lambda-tmp"]
    assert list(sandbox.iterdir()) == []


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ("{policy: x}", "UserParameters is not valid JSON"),
        ('["policy"]', "must be a JSON object"),
        ('{"polcy": "gate.toml"}', "unknown key 'polcy'; did you mean 'policy'?"),
        ('{"pytest_args": 3}', "'pytest_args' must be a list of strings"),
        ('{"policy": "../../etc/gate.toml"}', "must be a path inside the input artifact"),
    ],
)
def test_bad_user_parameters_are_a_configuration_error(
    lambda_env: CodePipelineEmulator,
    job_for: Callable[..., tuple[str, str]],
    params: str,
    expected: str,
) -> None:
    job_id, _ = job_for(zip_bytes(project()))
    aws_lambda.handle(event_of(lambda_env, job_id, params), FakeContext())
    details = only_result(lambda_env, job_id).params["failureDetails"]
    assert details["type"] == "ConfigurationError"
    assert expected in details["message"]


def test_a_missing_artifact_is_revision_unavailable(
    lambda_env: CodePipelineEmulator, job_for: Callable[..., tuple[str, str]]
) -> None:
    job_id, _ = job_for(None)
    aws_lambda.handle(event_of(lambda_env, job_id), FakeContext())
    details = only_result(lambda_env, job_id).params["failureDetails"]
    assert (details["type"], "NoSuchKey" in details["message"]) == ("RevisionUnavailable", True)


def test_too_little_time_left_is_a_failure_not_a_timeout(
    lambda_env: CodePipelineEmulator, job_for: Callable[..., tuple[str, str]]
) -> None:
    job_id, _ = job_for(zip_bytes(project()))
    aws_lambda.handle(event_of(lambda_env, job_id), FakeContext(seconds=8))
    details = only_result(lambda_env, job_id).params["failureDetails"]
    assert (
        details["type"] == "SystemUnavailable"
        and "raise the function's timeout" in details["message"]
    )


def test_a_child_that_cannot_start_still_closes_the_job(
    lambda_env: CodePipelineEmulator, job_for: Callable[..., tuple[str, str]]
) -> None:
    job_id, _ = job_for(zip_bytes(project()))
    aws_lambda.handle(
        event_of(lambda_env, job_id), FakeContext(), pytest_command=["/nonexistent/python"]
    )
    details = only_result(lambda_env, job_id).params["failureDetails"]
    assert details["type"] == "SystemUnavailable"
    assert (
        "cannot start the gate run (/nonexistent/python): FileNotFoundError" in details["message"]
    )


def test_a_crash_anywhere_in_the_handler_still_publishes_a_failure(
    lambda_env: CodePipelineEmulator,
    job_for: Callable[..., tuple[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def crash(*_args: Any, **_kwargs: Any) -> Any:
        raise MemoryError("injected")

    job_id, _ = job_for(zip_bytes(project()))
    monkeypatch.setattr(runner_module, "fetch_input", crash)
    context = FakeContext()
    answer = aws_lambda.handler(event_of(lambda_env, job_id), context)
    assert only_result(lambda_env, job_id).params["failureDetails"] == {
        "type": "SystemUnavailable",
        "message": "releasegate internal error: MemoryError: injected",
        "externalExecutionId": context.aws_request_id,
    }
    assert answer["result"] == "failure"


def test_an_event_without_a_job_publishes_nothing_and_echoes_nothing(
    lambda_env: CodePipelineEmulator,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    answer = aws_lambda.handler({"artifactCredentials": SECRETS}, FakeContext())
    assert answer["result"] is None and lambda_env.calls() == []
    out, err = capsys.readouterr()
    assert "not a CodePipeline.job event" in out
    assert SECRETS["secretAccessKey"] not in caplog.text + out + err


# -- the bake seam: continuation tokens -------------------------------------------------


@pytest.fixture
def fake_child(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], Path]:
    script = tmp_path / "fake_child.py"
    script.write_text(FAKE_CHILD)
    record = tmp_path / "child-record.jsonl"
    monkeypatch.setenv("FAKE_CHILD_RECORD", str(record))
    return [sys.executable, str(script)], record


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_bake_longer_than_an_invocation_goes_on_through_continuation_tokens(
    lambda_env: CodePipelineEmulator,
    job_for: Callable[..., tuple[str, str]],
    client: Any,
    gate_type: dict[str, str],
    fake_child: tuple[list[str], Path],
) -> None:
    command, record = fake_child
    job_id, _ = job_for(zip_bytes(project()))
    chain = [job_id]
    for _invocation in range(3):
        aws_lambda.handle(event_of(lambda_env, chain[-1]), FakeContext(), pytest_command=command)
        follow_up = lambda_env.job(chain[-1]).continued_by
        if follow_up is None:
            break
        (polled,) = client.poll_for_jobs(actionTypeId=gate_type, queryParam={"GateId": "api"})[
            "jobs"
        ]
        client.acknowledge_job(jobId=follow_up, nonce=polled["nonce"])
        chain.append(follow_up)
    results = [only_result(lambda_env, j) for j in chain]
    assert len(chain) == 3
    first, second, final = (r.params for r in results)
    assert "outputVariables" not in first and "outputVariables" not in second
    assert first["executionDetails"]["percentComplete"] == 40
    assert "round 2 of 5" in first["executionDetails"]["summary"]
    assert len(first["continuationToken"]) <= 2048
    assert decode_token(first["continuationToken"])["bake"] == {"rounds": 2, "planned": 5}
    assert final["outputVariables"]["verdict"] == "pass" and "continuationToken" not in final
    seen = records(record)
    assert [r["state_in"] for r in seen] == [
        None,
        {"rounds": 2, "planned": 5},
        {"rounds": 4, "planned": 5},
    ]
    assert all(float(r["env"]["RELEASEGATE_BAKE_UNTIL"]) > 0 for r in seen)


def test_the_child_sees_no_credential_and_the_logs_show_none(
    lambda_env: CodePipelineEmulator,
    job_for: Callable[..., tuple[str, str]],
    fake_child: tuple[list[str], Path],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    command, record = fake_child
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "function-role-secret-DO-NOT-LEAK")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "function-role-token-DO-NOT-LEAK")
    # The job is made first: the test's own PollForJobs (standing in for the service)
    # is not the function, and botocore logs its response at DEBUG.
    job_id, _ = job_for(zip_bytes(project()))
    caplog.set_level(logging.DEBUG)
    aws_lambda.handle(event_of(lambda_env, job_id), FakeContext(), pytest_command=command)
    assert only_result(lambda_env, job_id).kind == "success"
    (seen,) = records(record)
    leaks = [
        *SECRETS.values(),
        "function-role-secret-DO-NOT-LEAK",
        "function-role-token-DO-NOT-LEAK",
    ]
    child_env = json.dumps(seen["env"])
    assert not any(secret in child_env for secret in leaks)
    assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} & set(
        seen["env"]
    )
    out, err = capsys.readouterr()
    logged = caplog.text + out + err
    events = [json.loads(line) for line in out.splitlines()]
    assert {e["event"] for e in events if e.get("job_id") == job_id} >= {
        "job.started",
        "job.gate_run",
        "job.finished",
    }
    assert not any(secret in logged for secret in leaks)


def test_tokens_round_trip_and_refuse_what_is_not_ours() -> None:
    state = {"rounds": 3, "checks": {"health": {"passed": 3}}}
    assert decode_token(encode_token(state)) == state
    with pytest.raises(JobFailure, match="not made by releasegate"):
        decode_token("someone-elses-token")
    with pytest.raises(JobFailure, match="over the service's 2048"):
        encode_token({"noise": os.urandom(3000).hex()})

"""The control interface: over HTTP, its input checks, S3 artifacts, the fixture, the command."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

import pytest_releasegate
from pytest_releasegate.testing.emulator import (
    CodePipelineEmulator,
    EmulatorError,
    S3Artifact,
    main,
)

PROJECT_ROOT = Path(pytest_releasegate.__file__).resolve().parent.parent


def control(emulator: CodePipelineEmulator, name: str, **args: Any) -> Any:
    answer = requests.post(f"{emulator.control_url}/{name}", json=args, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["result"]


def test_the_http_control_interface_drives_a_whole_job(
    codepipeline_emulator: CodePipelineEmulator,
) -> None:
    emulator = codepipeline_emulator
    listed = requests.get(emulator.control_url, timeout=10).json()["result"]
    assert "enqueue_job" in listed
    assert "lose_responses" in listed
    control(
        emulator,
        "register_action_type",
        provider="Gate",
        configuration_properties=[
            {"name": "GateId", "required": True, "key": True, "secret": False, "queryable": True}
        ],
    )
    job_id = control(
        emulator,
        "enqueue_job",
        provider="Gate",
        configuration={"GateId": "api"},
        input_artifacts=[{"name": "Src", "bucket": "b", "key": "k.zip"}],
        encryption_key={"id": "arn:aws:kms:us-east-1:123456789012:key/1", "type": "KMS"},
    )
    control(emulator, "throttle", count=1, operation="PollForJobs")
    client = emulator.client(retries={"total_max_attempts": 2})
    gate = {"category": "Test", "owner": "Custom", "provider": "Gate", "version": "1"}
    (job,) = client.poll_for_jobs(actionTypeId=gate, queryParam={"GateId": "api"})["jobs"]
    client.acknowledge_job(jobId=job["id"], nonce=job["nonce"])
    client.put_job_success_result(jobId=job_id, executionDetails={"summary": "ok"})

    (result,) = control(emulator, "results", job_id=job_id)
    assert result["kind"] == "success"
    assert result["params"]["executionDetails"] == {"summary": "ok"}
    calls = requests.get(
        f"{emulator.control_url}/calls", params={"operation": "PollForJobs"}, timeout=10
    ).json()["result"]
    assert [c["fault"] for c in calls] == ["throttle", None]
    (view,) = control(emulator, "jobs")
    assert view["status"] == "Succeeded"
    assert view["data"]["inputArtifacts"][0]["location"]["s3Location"]["objectKey"] == "k.zip"
    control(emulator, "reset")
    assert control(emulator, "jobs") == []


def test_the_http_control_interface_moves_the_clock(
    emulator: CodePipelineEmulator,
) -> None:
    job_id = emulator.enqueue_job("ReleaseGate", configuration={"GateId": "api"})
    before = emulator.job(job_id).created_at
    now = control(emulator, "advance", seconds=emulator.job_timeout)
    assert now >= before + emulator.job_timeout
    assert control(emulator, "job", job_id=job_id)["status"] == "TimedOut"


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("no_such_method", {}, "unknown control method"),
        ("throttle", {"count": 1, "colour": "red"}, "unexpected keyword"),
        ("job", {"job_id": "nope"}, "no job"),
        ("enqueue_job", {"provider": "Unregistered"}, "register it first"),
    ],
)
def test_control_mistakes_are_400_with_a_reason(
    emulator: CodePipelineEmulator, name: str, args: dict[str, Any], message: str
) -> None:
    answer = requests.post(f"{emulator.control_url}/{name}", json=args, timeout=10)
    assert answer.status_code == 400
    assert message in answer.json()["error"]


@pytest.mark.parametrize(
    ("enqueue", "message"),
    [
        ({"configuration": {}}, "'GateId' is required"),
        ({"configuration": {"GateId": "api", "Colour": "red"}}, "not properties"),
        ({"configuration": {"GateId": "a-much-longer-gate-id-than-20"}}, "at most 20"),
        ({"configuration": {"GateId": "api"}, "pipeline_name": "bad name"}, "pipelineName"),
        (
            {"configuration": {"GateId": "api"}, "input_artifacts": [S3Artifact("a b", "b", "k")]},
            "name",
        ),
        (
            {
                "configuration": {"GateId": "api"},
                "input_artifacts": [S3Artifact("a", "b", "k")] * 6,
            },
            "0 to 5 input artifacts",
        ),
        ({"configuration": {"GateId": "api"}, "continuation_token": ""}, "continuationToken"),
    ],
)
def test_enqueue_refuses_what_a_pipeline_definition_could_not_hold(
    emulator: CodePipelineEmulator, enqueue: dict[str, Any], message: str
) -> None:
    with pytest.raises(EmulatorError, match=message):
        emulator.enqueue_job("ReleaseGate", **enqueue)
    assert emulator.jobs() == []


def test_control_methods_refuse_wrong_states(emulator: CodePipelineEmulator) -> None:
    job_id = emulator.enqueue_job("ReleaseGate", configuration={"GateId": "api"})
    with pytest.raises(EmulatorError, match="not Dispatched"):
        emulator.requeue(job_id)
    with pytest.raises(EmulatorError, match="forward"):
        emulator.advance(-1)
    with pytest.raises(EmulatorError, match="accessKeyId"):
        emulator.set_artifact_credentials(job_id, {"secretAccessKey": "s", "sessionToken": "t"})


def test_a_worker_fetches_the_input_artifact_from_moto_with_the_job_credentials(
    emulator: CodePipelineEmulator, client: Any, gate_type: dict[str, str], moto_server: str
) -> None:
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
    s3.create_bucket(Bucket="pipeline-artifacts")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("pyproject.toml", "[tool.releasegate]\n")
    s3.put_object(Bucket="pipeline-artifacts", Key="p/Source/abc", Body=archive.getvalue())
    credentials = {"accessKeyId": "ASIAJOB", "secretAccessKey": "job-secret", "sessionToken": "t"}
    emulator.enqueue_job(
        "ReleaseGate",
        configuration={"GateId": "api"},
        input_artifacts=[S3Artifact("Source", "pipeline-artifacts", "p/Source/abc")],
        artifact_credentials=credentials,
    )

    (job,) = client.poll_for_jobs(actionTypeId=gate_type, queryParam={"GateId": "api"})["jobs"]
    given = job["data"]["artifactCredentials"]
    assert given == credentials
    location = job["data"]["inputArtifacts"][0]["location"]["s3Location"]
    job_s3 = boto3.client(
        "s3",
        endpoint_url=moto_server,
        region_name="us-east-1",
        aws_access_key_id=given["accessKeyId"],
        aws_secret_access_key=given["secretAccessKey"],
        aws_session_token=given["sessionToken"],
    )
    body = job_s3.get_object(Bucket=location["bucketName"], Key=location["objectKey"])["Body"]
    with zipfile.ZipFile(io.BytesIO(body.read())) as zf:
        assert zf.read("pyproject.toml") == b"[tool.releasegate]\n"


def test_the_fixture_works_in_a_users_test_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(PROJECT_ROOT))
    pytester.makeconftest('pytest_plugins = ["pytest_releasegate.testing"]\n')
    pytester.makepyfile(
        """
        def test_worker(codepipeline_emulator):
            emu = codepipeline_emulator
            emu.register_action_type("Gate")
            job_id = emu.enqueue_job("Gate")
            client = emu.client()
            gate = {"category": "Test", "owner": "Custom", "provider": "Gate", "version": "1"}
            (job,) = client.poll_for_jobs(actionTypeId=gate)["jobs"]
            client.acknowledge_job(jobId=job_id, nonce=job["nonce"])
            client.put_job_failure_result(
                jobId=job_id, failureDetails={"type": "JobFailed", "message": "m"}
            )
            assert [r.kind for r in emu.results()] == ["failure"]

        def test_fresh_emulator_per_test(codepipeline_emulator):
            assert codepipeline_emulator.jobs() == []
            assert codepipeline_emulator.endpoint_url.startswith("http://127.0.0.1:")
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


@pytest.mark.parametrize("enable", [(), ("-p", "pytest_releasegate.testing")])
def test_the_fixtures_are_opt_in(pytester: pytest.Pytester, enable: tuple[str, ...]) -> None:
    """Installed, the plugin gives a user's session no emulator or moto fixture unless asked."""
    result = pytester.runpytest("--fixtures", "-p", "no:cacheprovider", *enable)
    listed = {
        name: name in result.stdout.str() for name in ("codepipeline_emulator", "moto_server")
    }
    assert listed == dict.fromkeys(listed, bool(enable))


def test_fixture_module_imports_neither_boto3_nor_the_emulator() -> None:
    code = (
        "import sys, pytest_releasegate.testing as f; "
        "print(sorted(m for m in ('boto3', 'botocore', 'moto', "
        "'pytest_releasegate.testing.emulator') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT_ROOT,
        timeout=60,
    ).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_the_command_serves_until_a_signal_and_prints_its_url(
    stop_signal: signal.Signals,
) -> None:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest_releasegate.testing.emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        client = boto3.client(
            "codepipeline",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        assert client.list_action_types()["actionTypes"] == []
        process.send_signal(stop_signal)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_the_command_refuses_a_non_loopback_host(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--host", "0.0.0.0", "--port", "0"]) == 4
    assert "loopback" in capsys.readouterr().err


def test_the_command_reports_a_port_in_use(
    codepipeline_emulator: CodePipelineEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--port", str(codepipeline_emulator.port)]) == 3
    assert "cannot listen" in capsys.readouterr().err

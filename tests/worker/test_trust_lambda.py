"""Trust, the Lambda handler (SPEC §13, issue acceptance 3): its gate child runs as the
function's own user, as in a Lambda sandbox; the handler's process is non-dumpable and
the child's environment scrubbed, so the probe finds neither the function role nor
the job's artifact credentials, cannot forge the result, and leaves no daemon."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_releasegate.codepipeline.isolation import kill_uid
from pytest_releasegate.testing.emulator import CodePipelineEmulator

from ..aws.publish_support import lambda_event
from .conftest import WorldPython
from .probe import REPO, ReportServer, as_uid, probe_files, uid_block, world_dir
from .support import FAST_ADDOPTS, GATE_TYPE, Artifacts, enqueue
from .test_trust_root import _gone

FUNCTION_KEY_ID = "ASIAFUNCTIONROLE0042"
FUNCTION_SECRET = "FunctionRoleSecret/Key+00000000000000042"
FUNCTION_TOKEN = "FunctionRoleSessionToken" + "f" * 60
JOB_CREDENTIALS = {
    "accessKeyId": "ASIALAMBDAJOBKEY0042",
    "secretAccessKey": "LambdaJobArtifactSecret/0042+" + "j" * 12,
    "sessionToken": "LambdaJobArtifactToken0042" + "k" * 40,
}
NEEDLES = [FUNCTION_KEY_ID, FUNCTION_SECRET, FUNCTION_TOKEN, *JOB_CREDENTIALS.values()]

HOST = """
import json, sys
from pytest_releasegate.aws_lambda import handler

class Context:
    aws_request_id = "lambda-request-1"
    def get_remaining_time_in_millis(self):
        return 240_000

with open(sys.argv[1]) as f:
    event = json.load(f)
print(json.dumps(handler(event, Context())))
"""


@pytest.fixture
def function_uid() -> Iterator[int]:
    (uid,) = uid_block(1)
    yield uid
    kill_uid(uid)


@pytest.fixture
def function_tmp(function_uid: int) -> Iterator[Path]:
    path = world_dir("rg-lambda-", 0o700, owner=function_uid)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_the_lambda_child_finds_no_credential_and_cannot_forge(
    emulator: CodePipelineEmulator,
    artifacts: Artifacts,
    moto_server: str,
    world_python: WorldPython,
    report_server: ReportServer,
    function_uid: int,
    function_tmp: Path,
) -> None:
    python = world_python.require()
    files = probe_files(
        "lambda",
        report=report_server.url,
        endpoint=emulator.endpoint_url,
        needles=NEEDLES,
        kill=False,  # the function's user is the child's: it could end the invocation
    )
    job_id, _out = enqueue(emulator, artifacts, files, artifact_credentials=JOB_CREDENTIALS)
    client = emulator.client()
    (job,) = client.poll_for_jobs(actionTypeId=GATE_TYPE, queryParam={"GateId": "api"})["jobs"]
    assert client.acknowledge_job(jobId=job_id, nonce=job["nonce"])["status"] == "InProgress"
    report_server.jobs["lambda"] = job_id
    emulator.configure(access_key_ids=[FUNCTION_KEY_ID])  # from here on, the role's only

    event_file = function_tmp / "event.json"
    event_file.write_text(json.dumps(lambda_event(job_id, emulator.job(job_id).data)))
    os.chown(event_file, function_uid, function_uid)
    host = function_tmp / "host.py"
    host.write_text(HOST)
    env = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(REPO),
        "PYTEST_ADDOPTS": FAST_ADDOPTS,
        "HOME": str(function_tmp),
        "TMPDIR": str(function_tmp),
        "AWS_LAMBDA_FUNCTION_NAME": "releasegate",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": FUNCTION_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": FUNCTION_SECRET,
        "AWS_SESSION_TOKEN": FUNCTION_TOKEN,
        "AWS_ENDPOINT_URL_CODEPIPELINE": emulator.endpoint_url,
        "AWS_ENDPOINT_URL_S3": moto_server,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    proc = subprocess.run(
        as_uid(function_uid, python, str(host), str(event_file)),
        env=env,
        cwd=function_tmp,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout.splitlines()[-1])
    assert (summary["result"], summary["failure_type"]) == ("failure", "JobFailed")

    (report,) = report_server.reports.values()
    assert report["uid"] == function_uid
    assert report["parent_environ_readable"] is False
    assert report["parent_mem_readable"] is False
    assert report["found"] == {}, report["found"]
    assert (report["forge_status"], report["forge_error"]) == (403, "UnrecognizedClientException")
    assert _gone(report["daemon"]), "the daemon outlived its invocation"
    (result,) = emulator.results(job_id)
    assert result.kind == "failure" and result.params["failureDetails"]["type"] == "JobFailed"
    for secret in NEEDLES:
        assert secret not in proc.stdout + proc.stderr

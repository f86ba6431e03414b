"""Acceptance 3: no AWS credential reaches the tests, the log or a result."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pytest_releasegate.testing.emulator import CodePipelineEmulator

from .support import SERVE, Artifacts, enqueue, project_files

WORKER_KEY_ID = "AKIAWORKERKEYID00042"
WORKER_SECRET = "Worker/Secret+Access/Key0000000000000042"
WORKER_TOKEN = "WorkerSessionToken" + "x" * 120
ARTIFACT_CREDENTIALS = {
    "accessKeyId": "ASIAARTIFACTKEY00042",
    "secretAccessKey": "Artifact/Secret+Access/Key00000000000042",
    "sessionToken": "ArtifactSessionToken" + "y" * 120,
}
SECRETS = [WORKER_SECRET, WORKER_TOKEN, *ARTIFACT_CREDENTIALS.values()]

ENV_TESTS = """
import json, os

def test_environment():
    print(dict(os.environ))
    with open(os.environ["ENV_DUMP"], "w") as f:
        json.dump(dict(os.environ), f)
    assert False, dict(os.environ)  # the report shows it too
"""


def test_tests_printing_the_environment_see_no_credential(
    emulator: CodePipelineEmulator,
    artifacts: Artifacts,
    env: dict[str, str],
    spawn: Any,
    tmp_path: Path,
) -> None:
    dump = tmp_path / "env.json"
    env.update(
        {
            "AWS_ACCESS_KEY_ID": WORKER_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": WORKER_SECRET,
            "AWS_SESSION_TOKEN": WORKER_TOKEN,
            "AWS_PROFILE": "worker-profile",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/worker",
            "LEAKED_COPY": WORKER_SECRET,
            "ENV_DUMP": str(dump),
        }
    )
    env.pop("AWS_CONFIG_FILE")  # AWS_PROFILE must resolve: give it a config of its own
    config = tmp_path / "aws-config"
    config.write_text("[profile worker-profile]\nregion = us-east-1\n")
    env["AWS_CONFIG_FILE"] = str(config)
    job_id, out = enqueue(
        emulator,
        artifacts,
        project_files(tests=ENV_TESTS),
        artifact_credentials=ARTIFACT_CREDENTIALS,
    )
    worker = spawn(
        *SERVE,
        "--once",
        "--log-format",
        "json",
        env=env,
    )
    assert worker.wait(60) == 0, worker.text()

    child_env = json.loads(dump.read_text())
    assert child_env["ENV_DUMP"] == str(dump)  # the dump is the child's, and complete
    blob = json.dumps(child_env)
    for secret in [*SECRETS, WORKER_KEY_ID]:
        assert secret not in blob
    assert not [
        k
        for k in child_env
        if k
        in (
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "LEAKED_COPY",
        )
    ]
    assert child_env["AWS_EC2_METADATA_DISABLED"] == "true"

    # The job ran with the artifact's credentials and failed on its test, as it should.
    (result,) = emulator.results(job_id)
    assert result.kind == "failure"
    assert "no failing tests" in result.params["failureDetails"]["message"]
    assert out is not None and "verdict.json" in artifacts.read_zip(out)
    log = worker.text()
    assert worker.events("job.finished")
    for secret in SECRETS:
        assert secret not in log
        assert secret not in json.dumps(result.params)
    assert ARTIFACT_CREDENTIALS["accessKeyId"] not in log

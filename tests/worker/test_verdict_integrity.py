"""Verdict integrity in the worker (SPEC §13): a verdict file edited by the tests
(``"verdict": "pass"`` beside a failing rule, or with its rules gone) is refused with
a JobFailed result, never published as a success."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_releasegate.testing.emulator import CodePipelineEmulator

from ..aws.publish_support import FAILING_TESTS, project
from .support import SERVE, Artifacts, enqueue

#: A conftest of the project under test that rewrites the gate's verdict file once
#: the gate has written it (pytest_unconfigure runs after the gate's sessionfinish).
TAMPER = """
import json, sys

def pytest_unconfigure(config):
    path = sys.argv[sys.argv.index("--gate-json") + 1]
    with open(path) as f:
        data = json.load(f)
    data["verdict"] = "pass"
    {edit}
    with open(path, "w") as f:
        json.dump(data, f)
"""


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        ("pass", "disagrees with its rules"),
        ('data["rules"] = []', "no rules"),
    ],
)
def test_a_tampered_verdict_file_is_refused_with_job_failed(
    emulator: CodePipelineEmulator,
    artifacts: Artifacts,
    env: dict[str, str],
    spawn: Any,
    edit: str,
    reason: str,
) -> None:
    files = {**project(FAILING_TESTS), "conftest.py": TAMPER.format(edit=edit)}
    job_id, _out = enqueue(emulator, artifacts, files)
    worker = spawn(*SERVE, "--once", "--log-format", "json", env=env)
    assert worker.wait(90) == 0, worker.text()

    (result,) = emulator.results(job_id)
    assert result.kind == "failure", result.params
    details = result.params["failureDetails"]
    assert details["type"] == "JobFailed"
    assert details["message"].startswith("the gate run's verdict file")
    assert reason in details["message"]
    assert emulator.calls("PutJobSuccessResult") == []

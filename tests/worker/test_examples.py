"""examples/worker: the container image definition and the ECS service template."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_releasegate.codepipeline.action_type import DEFAULT_LOG_GROUP

from .support import REPO

EXAMPLE = REPO / "examples" / "worker"
JOB_API = {
    "codepipeline:PollForJobs",
    "codepipeline:AcknowledgeJob",
    "codepipeline:GetJobDetails",
    "codepipeline:PutJobSuccessResult",
    "codepipeline:PutJobFailureResult",
}


@pytest.fixture(scope="module")
def template() -> Any:
    from cfnlint.decode import cfn_yaml as decode

    return decode.load(str(EXAMPLE / "ecs-service.yaml"))


def test_the_service_template_is_cfn_lint_clean(template: Any) -> None:
    from cfnlint.api import lint_file

    matches = lint_file(EXAMPLE / "ecs-service.yaml")
    assert [str(m) for m in matches] == []


def test_the_service_runs_desired_count_workers_of_the_gate(template: Any) -> None:
    resources = template["Resources"]
    service = resources["Service"]["Properties"]
    assert service["DesiredCount"] == {"Ref": "DesiredCount"}
    assert service["LaunchType"] == "FARGATE"
    (container,) = resources["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    command = container["Command"]
    assert command[command.index("--query") + 1] == {"Fn::Sub": "GateId=${GateId}"}
    assert command[command.index("--concurrency") + 1] == {"Ref": "Concurrency"}
    # The grace period fits inside the time ECS waits between SIGTERM and SIGKILL.
    grace = template["Parameters"]["GracePeriod"]
    assert grace["MaxValue"] < container["StopTimeout"]
    assert template["Parameters"]["LogGroupName"]["Default"] == DEFAULT_LOG_GROUP


def test_the_task_role_may_use_the_job_api_and_nothing_else(template: Any) -> None:
    role = template["Resources"]["TaskRole"]["Properties"]
    (policy,) = role["Policies"]
    actions: set[str] = set()
    for statement in policy["PolicyDocument"]["Statement"]:
        assert statement["Effect"] == "Allow"
        granted = statement["Action"]
        actions.update([granted] if isinstance(granted, str) else granted)
    assert actions == JOB_API | {"codepipeline:ListActionTypes"}
    assert "ManagedPolicyArns" not in role


def test_the_image_runs_the_worker_as_root_so_that_tests_run_as_other_uids() -> None:
    lines = (EXAMPLE / "Dockerfile").read_text().splitlines()
    instructions = [
        line.split(None, 1) for line in lines if line and not line.startswith(("#", " "))
    ]
    first = {word: rest for word, rest in reversed(instructions)}
    assert first["FROM"] == "python:3.12-slim"
    assert "pip install" in first["RUN"] and "pytest-releasegate" in first["RUN"]
    # Root on purpose: only a worker that can switch users keeps jobs apart (SPEC §13).
    assert first["USER"] == "root"
    assert "--child-uids" in (EXAMPLE / "Dockerfile").read_text()
    assert first["ENTRYPOINT"].startswith('["releasegate", "worker"')
    assert "8081" in first["ENTRYPOINT"] and "8081/healthz" in (EXAMPLE / "Dockerfile").read_text()

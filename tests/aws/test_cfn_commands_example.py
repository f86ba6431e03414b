"""examples/codepipeline/commands-gate.yaml: a Commands action runs `releasegate evaluate` with
an ALB error-rate metric; it lints clean, a failure rolls back, and its output variables are
names the env file really holds."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_releasegate.manager import get_plugin_manager, known_metrics
from pytest_releasegate.model import Outcome, Verdict
from pytest_releasegate.policy import load_policy
from pytest_releasegate.sinks.envfile import env_text
from tests.aws.publish_support import REPO

EXAMPLE = REPO / "examples" / "codepipeline"
TEMPLATE = EXAMPLE / "commands-gate.yaml"

cfnlint_api = pytest.importorskip("cfnlint.api", reason="needs cfn-lint (pip install cfn-lint)")


def lint(text: str) -> list[str]:
    return [f"{m.rule.id} line {m.linenumber}: {m.message}" for m in cfnlint_api.lint(text)]


def stages() -> dict[str, Any]:
    from cfnlint.decode.decode import decode_str

    data, problems = decode_str(TEMPLATE.read_text())
    assert not problems
    pipeline = data["Resources"]["Pipeline"]["Properties"]
    assert pipeline["PipelineType"] == "V2"
    return {stage["Name"]: stage for stage in pipeline["Stages"]}


def gate_action() -> dict[str, Any]:
    (action,) = [a for a in stages()["Deploy"]["Actions"] if a["Name"] == "PostDeployGate"]
    return dict(action)


def test_the_template_passes_cfn_lint() -> None:
    assert lint(TEMPLATE.read_text()) == []


def test_cfn_lint_does_catch_a_broken_action() -> None:
    broken = TEMPLATE.read_text().replace("Category: Compute", "Category: Computer", 1)
    assert lint(broken)


def test_the_gate_is_a_commands_action_running_evaluate_and_a_failure_rolls_back() -> None:
    action = gate_action()
    assert action["ActionTypeId"]["Provider"] == "Commands"
    assert stages()["Deploy"]["OnFailure"]["Result"] == "ROLLBACK"
    commands = "\n".join(action["Commands"])
    assert "releasegate evaluate --profile deploy --export-env releasegate.env" in commands
    assert ". ./releasegate.env" in commands and 'test "$rc" -eq 0' in commands
    assert [v["Name"] for v in action["EnvironmentVariables"]] == ["ALB"]


def test_the_output_variables_are_lines_of_the_env_file_for_the_example_policy() -> None:
    policy = load_policy(
        EXAMPLE / "releasegate.toml", rootdir=EXAMPLE, metrics=known_metrics(get_plugin_manager())
    )
    (alb,) = [m for m in policy.runtime_metrics if m.name == "api.error_rate"]
    assert {q.metric for q in alb.queries} == {"HTTPCode_Target_5XX_Count", "RequestCount", None}
    assert alb.returning.expression == "100 * FILL(errors, 0) / requests"
    verdict = Verdict(
        verdict=Outcome.PASS,
        profile="deploy",
        policy="releasegate.toml",
        rules=(),
        metrics={"api.error_rate": 0.2, "api.p99_ms": 120.0},
        context={},
        started_at="",
        finished_at="",
        tool_version="1",
    )
    names = {line.split("=", 1)[0] for line in env_text(verdict).splitlines() if "=" in line}
    assert set(gate_action()["OutputVariables"]) <= names
    (rule,) = stages()["Release"]["BeforeEntry"]["Conditions"][0]["Rules"]
    assert rule["Configuration"]["Variable"] == "#{ReleaseGate.RELEASEGATE_VERDICT}"

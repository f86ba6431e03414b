"""examples/codepipeline: the CloudFormation template lints clean and wires the gate as documented."""

from __future__ import annotations

from typing import Any

import cfnlint.api as cfnlint_api

from tests.aws.publish_support import REPO

TEMPLATE = REPO / "examples" / "codepipeline" / "pipeline.yaml"


def lint(text: str) -> list[str]:
    return [f"{m.rule.id} line {m.linenumber}: {m.message}" for m in cfnlint_api.lint(text)]


def template() -> dict[str, Any]:
    from cfnlint.decode.decode import decode_str

    data, problems = decode_str(TEMPLATE.read_text())
    assert not problems
    return dict(data)


def test_the_template_passes_cfn_lint() -> None:
    assert lint(TEMPLATE.read_text()) == []


def test_cfn_lint_does_catch_a_broken_condition() -> None:
    broken = TEMPLATE.read_text().replace("Result: ROLLBACK", "Result: ROLLBAK", 1)
    assert any("ROLLBAK" in problem for problem in lint(broken))


def stages() -> dict[str, Any]:
    pipeline = template()["Resources"]["Pipeline"]["Properties"]
    assert pipeline["PipelineType"] == "V2"
    return {stage["Name"]: stage for stage in pipeline["Stages"]}


def test_a_variable_check_on_the_gates_verdict_guards_the_release() -> None:
    (condition,) = stages()["Release"]["BeforeEntry"]["Conditions"]
    checks = {
        rule["Configuration"]["Variable"]: rule["Configuration"]
        for rule in condition["Rules"]
        if rule["RuleTypeId"]["Provider"] == "VariableCheck"
    }
    assert set(checks) == {"#{BuildGate.verdict}", "#{ReleaseGate.verdict}"}
    assert all((c["Operator"], c["Value"]) == ("EQ", "pass") for c in checks.values())


def test_the_lambda_gate_runs_our_handler_and_a_failure_rolls_back() -> None:
    deploy = stages()["Deploy"]
    assert deploy["OnFailure"]["Result"] == "ROLLBACK"
    (gate,) = [a for a in deploy["Actions"] if a["ActionTypeId"]["Provider"] == "Lambda"]
    assert gate["Namespace"] == "ReleaseGate"
    function = template()["Resources"]["GateFunction"]["Properties"]
    assert function["ImageConfig"]["Command"] == ["pytest_releasegate.aws_lambda.handler"]
    role = template()["Resources"]["GateFunctionRole"]["Properties"]
    (statement,) = role["Policies"][0]["PolicyDocument"]["Statement"]
    assert sorted(statement["Action"]) == [
        "codepipeline:PutJobFailureResult",
        "codepipeline:PutJobSuccessResult",
    ]

"""PytestArgs reach nothing outside the job: each escape is a ConfigurationError (SPEC §13)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_releasegate.testing.emulator import CodePipelineEmulator

from .support import SERVE, Artifacts, enqueue, project_files

LENIENT = """
[tool.releasegate]
[[tool.releasegate.rule]]
name = "anything goes"
metric = "tests.total"
min = 0
"""


@pytest.mark.parametrize(
    ("args", "option"),
    [
        ("--gate-policy={outside}/lenient.toml", "--gate-policy"),
        ("--basetemp={outside}/victim", "--basetemp"),
        ("--gate-markdown {outside}/report.md", "--gate-markdown"),
        ("--junitxml={outside}/junit.xml", "--junitxml"),
        ("--gate-save-baseline={outside}/baseline.json", "--gate-save-baseline"),
        ("-p no:releasegate", "-p"),
    ],
)
def test_pytest_args_that_leave_the_job_are_refused(
    emulator: CodePipelineEmulator,
    artifacts: Artifacts,
    env: dict[str, str],
    spawn: Any,
    tmp_path: Path,
    args: str,
    option: str,
) -> None:
    outside = tmp_path / "outside"
    (outside / "victim").mkdir(parents=True)
    canary = outside / "victim" / "canary.txt"
    canary.write_text("still here")
    (outside / "lenient.toml").write_text(LENIENT)
    job_id, _out = enqueue(
        emulator,
        artifacts,
        project_files(passing=False),
        configuration={"PytestArgs": args.format(outside=outside)},
    )
    worker = spawn(*SERVE, "--once", "--log-format", "json", env=env)
    assert worker.wait(90) == 0, worker.text()

    (result,) = emulator.results(job_id)
    assert result.kind == "failure"
    details = result.params["failureDetails"]
    assert details["type"] == "ConfigurationError"
    assert details["message"].startswith(f"PytestArgs: {option} is not allowed")
    assert canary.read_text() == "still here"
    assert sorted(p.name for p in outside.iterdir()) == ["lenient.toml", "victim"]

"""`releasegate` commands, run as a user would: a subprocess in a project directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import run_cli

POLICY = """
[tool.releasegate]
default-profile = "ci"

[[tool.releasegate.rule]]
name = "no failures"
metric = "tests.failed"
max = 0

[[tool.releasegate.rule]]
name = "line coverage"
metric = "coverage.line_percent"
min = 80
profiles = ["ci"]

[tool.releasegate.profiles.ci]

[tool.releasegate.profiles.pre-push]
rules = ["no failures"]
"""


def releasegate(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_cli(cwd, *args, env=env)


def test_check_policy_prints_rules_per_profile(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(POLICY)
    proc = releasegate(tmp_path, "check-policy")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "profile ci (default): 2 rules" in out
    assert "profile pre-push: 1 rules" in out
    assert "  - line coverage: coverage.line_percent >= 80" in out


def test_check_policy_rejects_a_bad_policy_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "gate.toml").write_text(
        '[[rule]]\nname = "r"\nmetric = "tests.failed"\nmax = 0\nlevle = "warn"\n'
    )
    proc = releasegate(tmp_path, "check-policy", "gate.toml")
    assert proc.returncode == 4
    assert proc.stderr.strip().splitlines() == [
        "releasegate: bad policy: gate.toml, rule 'r', key 'levle': unknown key 'levle'; did you mean 'level'?"
    ]


def test_evaluate_without_inputs_is_an_error_not_a_pass(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(POLICY)
    proc = releasegate(tmp_path, "evaluate", "--profile", "pre-push", "--json", "out/v.json")
    assert proc.returncode == 3
    assert proc.stdout.startswith("releasegate: ERROR")
    verdict = json.loads((tmp_path / "out/v.json").read_text())
    assert verdict["verdict"] == "error" and verdict["profile"] == "pre-push"


def test_evaluate_bad_profile_exits_4(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(POLICY)
    proc = releasegate(tmp_path, "evaluate", "--profile", "prepush")
    assert proc.returncode == 4
    assert "did you mean 'pre-push'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_malformed_command_line_is_argparse_2(tmp_path: Path) -> None:
    assert releasegate(tmp_path, "evaluate", "--no-such-flag").returncode == 2
    assert releasegate(tmp_path, "--help").returncode == 0


@pytest.fixture
def git_project(tmp_path: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "pyproject.toml").write_text(POLICY)
    (tmp_path / "test_a.py").write_text("def test_ok():\n    pass\n")
    return tmp_path


def test_install_hook_writes_a_working_pre_push_hook(git_project: Path) -> None:
    proc = releasegate(git_project, "install-hook")
    assert proc.returncode == 0, proc.stderr
    hook = git_project / ".git" / "hooks" / "pre-push"
    assert os.access(hook, os.X_OK)
    text = hook.read_text()
    assert "--gate-profile=pre-push" in text
    run = subprocess.run(
        [str(hook)], cwd=git_project, capture_output=True, text=True, check=False, timeout=120
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "releasegate: PASS" in run.stdout and "profile pre-push" in run.stdout
    (git_project / "test_a.py").write_text("def test_ok():\n    assert 0\n")
    failing = subprocess.run(
        [str(hook)], cwd=git_project, capture_output=True, text=True, check=False, timeout=120
    )
    assert failing.returncode == 1


def test_install_hook_keeps_a_foreign_hook(git_project: Path) -> None:
    hook = git_project / ".git" / "hooks" / "pre-push"
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text("#!/bin/sh\necho mine\n")
    proc = releasegate(git_project, "install-hook")
    assert proc.returncode == 4 and "--force" in proc.stderr
    assert hook.read_text() == "#!/bin/sh\necho mine\n"
    assert releasegate(git_project, "install-hook", "--force").returncode == 0


def test_install_hook_needs_the_profile(git_project: Path) -> None:
    (git_project / "pyproject.toml").write_text(POLICY.replace("pre-push", "local"))
    proc = releasegate(git_project, "install-hook")
    assert proc.returncode == 4 and "unknown profile 'pre-push'" in proc.stderr


def test_bad_input_junit_spec_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(POLICY)
    proc = releasegate(tmp_path, "evaluate", "--input-junit", "=reports/*.xml")
    assert proc.returncode == 4
    assert "bad option --input-junit '=reports/*.xml'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_broken_junit_source_does_not_poison_another(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.releasegate]\n[[tool.releasegate.rule]]\nname = "ui"\nmetric = "tests.failed"\n'
        'select = { source = "junit:ui" }\nmax = 0\n'
        '[[tool.releasegate.rule]]\nname = "api"\nmetric = "tests.failed"\nselect = { source = "junit:api" }\nmax = 0\n'
    )
    (tmp_path / "ui.xml").write_text(
        '<testsuite name="ui"><testcase classname="a" name="b"/></testsuite>'
    )
    (tmp_path / "api.xml").write_text("<testsuite><testcase")
    proc = releasegate(
        tmp_path,
        "evaluate",
        "--input-junit",
        "ui=ui.xml",
        "--input-junit",
        "api=api.xml",
        "--json",
        "v.json",
    )
    verdict = json.loads((tmp_path / "v.json").read_text())
    outcomes = {r["name"]: r["outcome"] for r in verdict["rules"]}
    assert outcomes == {"ui": "pass", "api": "error"}
    assert proc.returncode == 3
    assert "api.xml" in proc.stdout


def test_pytest_flags_and_evaluate_options_are_the_same_set() -> None:
    import argparse

    from pytest_releasegate.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    evaluate = {o for a in sub.choices["evaluate"]._actions for o in a.option_strings}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    gate_flags = {w.split("=")[0] for w in proc.stdout.split() if w.startswith("--gate-")}
    assert {f.replace("--gate-", "--") for f in gate_flags} <= evaluate
    assert {"--policy", "--input-junit", "--codepipeline-job-id", "--dry-run"} <= evaluate
    from pytest_releasegate.options import SPECS

    # every option of the table (not --rootdir and -q, which pytest has itself)
    assert len(gate_flags) == len(SPECS) >= 16

"""Paths given as separate arguments never change pytest's rootdir or config (SPEC §14).

pytest picks its rootdir and config file before it loads plugins, so it reads
the value of `--gate-policy ../p.toml` as a test path at that moment. The gate
stops such a run with one line giving the `--gate-policy=../p.toml` form.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers import read_verdict, rule

PROJECT = """
[tool.pytest.ini_options]
markers = ["critical: must pass"]
addopts = "--strict-markers"
"""

POLICY = """
[[rule]]
name = "critical ran"
metric = "tests.total"
select = { marker = "critical" }
min = 1

[[rule]]
name = "no failures"
metric = "tests.failed"
max = 0
"""

TESTS = "import pytest\n\n@pytest.mark.critical\ndef test_c(): pass\n\ndef test_x(): pass\n"


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    proj = pytester.path / "proj"
    proj.mkdir()
    (proj / "pyproject.toml").write_text(PROJECT)
    (proj / "test_a.py").write_text(TESTS)
    (pytester.path / "policies").mkdir()
    (pytester.path / "policies" / "gate.toml").write_text(POLICY)
    monkeypatch.chdir(proj)
    return proj


def test_separate_policy_path_is_stopped_with_the_equals_form(
    pytester: pytest.Pytester, project: Path
) -> None:
    result = pytester.runpytest("--gate", "--gate-policy", "../policies/gate.toml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "--gate-policy=../policies/gate.toml" in err
    assert "rootdir" in err
    assert not [line for line in result.outlines if "passed" in line]  # no test ran


def test_equals_form_keeps_the_projects_rootdir_and_markers(
    pytester: pytest.Pytester, project: Path
) -> None:
    result = pytester.runpytest(
        "--gate", "--gate-policy=../policies/gate.toml", "--gate-json=v.json"
    )
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines([f"rootdir: {project}*"])
    verdict = read_verdict(project / "v.json")
    assert rule(verdict, "critical ran")["actual"] == 1
    assert verdict["policy"] == "../policies/gate.toml"


def test_an_output_path_outside_the_project_does_not_break_the_second_run(
    pytester: pytest.Pytester, project: Path
) -> None:
    for _ in range(2):
        result = pytester.runpytest(
            "--gate", "--gate-policy=../policies/gate.toml", "--gate-json=../out/v.json"
        )
        assert result.ret == 0, result.stdout.str() + result.stderr.str()
        result.stdout.fnmatch_lines([f"rootdir: {project}*"])
    # the separate form: harmless while the file does not exist, stopped once it does
    separate = pytester.runpytest(
        "--gate", "--gate-policy=../policies/gate.toml", "--gate-json", "../out/v.json"
    )
    assert separate.ret == pytest.ExitCode.USAGE_ERROR
    assert "--gate-json=../out/v.json" in separate.stderr.str()


def test_separate_paths_inside_the_project_are_fine(
    pytester: pytest.Pytester, project: Path
) -> None:
    (project / "gate.toml").write_text(POLICY)
    for _ in range(2):
        result = pytester.runpytest(
            "--gate", "--gate-policy", "gate.toml", "--gate-json", "out/v.json"
        )
        assert result.ret == 0, result.stderr.str()
    assert rule(read_verdict(project / "out/v.json"), "critical ran")["actual"] == 1


def test_install_hook_uses_the_equals_form(pytester: pytest.Pytester, project: Path) -> None:
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    proc = subprocess.run(
        [
            "releasegate",
            "install-hook",
            "--policy",
            "../policies/gate.toml",
            "--profile",
            "default",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    text = (project / ".git/hooks/pre-push").read_text()
    assert "--gate-policy=" in text and "--gate-profile=default" in text
    assert "--gate-policy " not in text
    run = subprocess.run(
        [str(project / ".git/hooks/pre-push")],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "(../policies/gate.toml, profile default)" in run.stdout  # rootdir: proj

"""Messages name what the user can type, in the spelling of the place they are in."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_cli import releasegate


def test_evaluate_names_its_own_baseline_flag(tmp_path: Path) -> None:
    (tmp_path / "releasegate.toml").write_text(
        '[[rule]]\nname = "r"\nmetric = "tests.total"\nmax-drop = 1\n'
    )
    (tmp_path / "r.xml").write_text('<testsuite><testcase name="a" classname="c"/></testsuite>')
    proc = releasegate(tmp_path, "evaluate", "--input-junit", "r.xml", "--json", "v.json")
    assert proc.returncode == 3
    text = (tmp_path / "v.json").read_text()
    assert "--baseline" in text and "--gate-baseline" not in text
    missing = releasegate(
        tmp_path, "evaluate", "--input-junit", "r.xml", "--baseline", "b.json", "--json", "v.json"
    )
    assert missing.returncode == 3
    text = (tmp_path / "v.json").read_text()
    assert "with --save-baseline " in text and "--gate-save-baseline" not in text


def test_pytest_names_its_gate_baseline_flag(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".toml",
        pyproject='[tool.releasegate]\n[[tool.releasegate.rule]]\nname = "r"\n'
        'metric = "tests.total"\nmax-drop = 1\n',
    )
    pytester.makepyfile(test_a="def test_x(): pass")
    result = pytester.runpytest("--gate")
    result.stdout.fnmatch_lines(["*pass --gate-baseline*"])


@pytest.mark.parametrize(
    ("filename", "table", "spelling", "wrong"),
    [
        ("releasegate.toml", "", "[profiles.cii]", "[tool.releasegate"),
        ("pyproject.toml", "[tool.releasegate]\n", "[tool.releasegate.profiles.cii]", None),
    ],
)
def test_policy_errors_use_the_files_own_spelling(
    tmp_path: Path, filename: str, table: str, spelling: str, wrong: str | None
) -> None:
    prefix = "tool.releasegate." if table else ""
    (tmp_path / filename).write_text(
        f'{table}[[{prefix}rule]]\nname = "r"\nmetric = "tests.total"\nmin = 1\n'
        'profiles = ["cii"]\n'
        f'[{prefix}bake]\nduration = "1m"\ninterval = "10s"\n'
    )
    proc = releasegate(tmp_path, "check-policy")
    assert proc.returncode == 4
    assert spelling in proc.stderr
    assert f"[[{prefix}smoke]]" in proc.stderr
    if wrong:
        assert wrong not in proc.stderr


def test_check_policy_shows_a_diff_rules_base(tmp_path: Path) -> None:
    (tmp_path / "releasegate.toml").write_text(
        '[[rule]]\nname = "changed lines"\nmetric = "coverage.diff_percent"\n'
        'base = "origin/main"\nmin = 90\n'
    )
    proc = releasegate(tmp_path, "check-policy")
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if "changed lines" in x)
    assert "base origin/main" in line


def test_metric_descriptions_read_as_english(tmp_path: Path) -> None:
    proc = releasegate(tmp_path, "check-policy", "--metrics")
    assert proc.returncode == 0
    described = dict(line.split(None, 1) for line in proc.stdout.splitlines())
    assert "errors tests" not in proc.stdout
    assert "tests that errored" in described["tests.errors"]
    assert "subtests" in described["tests.subtests_failed"]


def test_a_policy_outside_the_project_is_shown_normalized(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "gate.toml").write_text(
        '[[rule]]\nname = "r"\nmetric = "tests.total"\nmin = 1\n'
    )
    proc = releasegate(proj, "check-policy", "../policies/gate.toml")
    assert proc.returncode == 0, proc.stderr
    assert "policy: ../policies/gate.toml" in proc.stdout


def test_the_missing_coverage_hint_never_suggests_coverage_run_with_the_gate(
    pytester: pytest.Pytester,
) -> None:
    pytester.makefile(
        ".toml",
        pyproject='[tool.releasegate]\n[[tool.releasegate.rule]]\nname = "cov"\n'
        'metric = "coverage.line_percent"\nmin = 50\n',
    )
    pytester.makepyfile(test_a="def test_x(): pass")
    plain = pytester.runpytest_subprocess("--gate", "--gate-json=v.json")
    message = (pytester.path / "v.json").read_text()
    assert "coverage run -m pytest" not in message
    assert "pytest --cov" in message
    assert plain.ret == 3
    # Under `coverage run` the data is written only when pytest exits: say so.
    import subprocess
    import sys

    under = subprocess.run(
        [
            sys.executable,
            "-m",
            "coverage",
            "run",
            "-m",
            "pytest",
            "--gate",
            "--gate-json=w.json",
            "-p",
            "no:cacheprovider",
        ],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert under.returncode == 3, under.stdout + under.stderr
    message = (pytester.path / "w.json").read_text()
    assert "coverage run" in message and "releasegate evaluate" in message

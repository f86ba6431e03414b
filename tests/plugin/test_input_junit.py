"""`pytest --gate --gate-input-junit`: other tools' JUnit files merged with the pytest run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import read_verdict, rule, write_policy

DATA = Path(__file__).resolve().parents[1] / "data" / "junit"

POLICY = """
[[tool.releasegate.rule]]
name = "all"
metric = "tests.total"
min = 1

[[tool.releasegate.rule]]
name = "pytest failures"
metric = "tests.failed"
select = { source = "pytest" }
max = 0

[[tool.releasegate.rule]]
name = "go failures"
metric = "tests.failed"
select = { source = "junit:go" }
max = 5

[[tool.releasegate.rule]]
name = "go flaky"
metric = "tests.flaky"
select = { source = "junit:go" }
max = 0
level = "warn"
"""


def test_junit_inputs_count_next_to_the_pytest_run(pytester: pytest.Pytester) -> None:
    write_policy(pytester, POLICY)
    pytester.makepyfile(test_a="def test_one():\n    pass\n\ndef test_two():\n    pass\n")
    (pytester.path / "go-reports").mkdir()
    shutil.copy(DATA / "gotestsum-rerun.xml", pytester.path / "go-reports" / "go.xml")
    result = pytester.runpytest(
        "--gate", "--gate-input-junit", "go=go-reports/*.xml", "--gate-json", "v.json"
    )
    verdict = read_verdict(pytester.path / "v.json")
    assert rule(verdict, "all")["actual"] == 2 + 8
    assert rule(verdict, "pytest failures")["actual"] == 0
    assert rule(verdict, "go failures")["actual"] == 1
    assert rule(verdict, "go flaky")["outcome"] == "warn"
    assert verdict["verdict"] == "warn"
    assert result.ret == 0


def test_a_broken_junit_input_makes_the_run_exit_3(pytester: pytest.Pytester) -> None:
    write_policy(pytester, POLICY)
    pytester.makepyfile(test_a="def test_one():\n    pass\n")
    (pytester.path / "go-reports").mkdir()
    (pytester.path / "go-reports" / "go.xml").write_text("<testsuite><testcase name='x'>")
    result = pytester.runpytest("--gate", "--gate-input-junit", "go=go-reports/*.xml")
    assert result.ret == 3
    result.stdout.fnmatch_lines(["*go-reports/go.xml: not well-formed XML*"])
    # The pytest-only rule is not poisoned by the broken JUnit source.
    assert "pytest failures" not in "\n".join(
        line for line in result.stdout.lines if "ERROR" in line
    )

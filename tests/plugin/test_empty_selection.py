"""A rule whose selection matches no test is `error` (or what on-missing says), never a pass."""

from __future__ import annotations

import pytest

from tests.helpers import read_verdict, rule, write_policy

TESTS = """
import pytest

def test_ok():
    pass

@pytest.mark.critical
def test_critical():
    pass

def test_fails():
    assert 0
"""

TOLERANT = """
[[tool.releasegate.rule]]
name = "few failures"
metric = "tests.failed"
max = 1
"""


def policy(select: str, extra: str = "") -> str:
    return (
        TOLERANT
        + f"""
[[tool.releasegate.rule]]
name = "selected"
metric = "tests.failed"
select = {select}
max = 0
{extra}
"""
    )


@pytest.mark.parametrize(
    ("select", "named"),
    [
        ('{ marker = "critcal" }', "marker='critcal'"),
        ('{ path = "tests/api/**" }', "path='tests/api/**'"),
        ('{ nodeid = "*::test_nothing*" }', "nodeid='*::test_nothing*'"),
        ('{ name = "test_gone" }', "name='test_gone'"),
    ],
)
def test_a_selection_matching_no_test_is_an_error(
    pytester: pytest.Pytester, select: str, named: str
) -> None:
    write_policy(pytester, policy(select))
    pytester.makepyfile(test_a=TESTS)
    result = pytester.runpytest("--gate", "--gate-json", "v.json")
    verdict = read_verdict(pytester.path / "v.json")
    selected = rule(verdict, "selected")
    assert selected["outcome"] == "error"
    assert selected["actual"] is None
    assert named in selected["message"] and "matches none of the 3 tests" in selected["message"]
    assert verdict["verdict"] == "error"
    assert result.ret == 3


@pytest.mark.parametrize(
    ("on_missing", "outcome", "ret"), [("warn", "warn", 0), ("skip", "skipped", 0)]
)
def test_on_missing_decides_what_an_empty_selection_becomes(
    pytester: pytest.Pytester, on_missing: str, outcome: str, ret: int
) -> None:
    write_policy(pytester, policy('{ marker = "critcal" }', f'on-missing = "{on_missing}"'))
    pytester.makepyfile(test_a=TESTS)
    result = pytester.runpytest("--gate", "--gate-json", "v.json")
    selected = rule(read_verdict(pytester.path / "v.json"), "selected")
    assert selected["outcome"] == outcome
    assert "marker='critcal'" in selected["message"]
    assert result.ret == ret


def test_a_matching_selection_and_no_selection_still_pass(pytester: pytest.Pytester) -> None:
    write_policy(pytester, policy('{ marker = "critical" }'))
    pytester.makepyfile(test_a=TESTS)
    result = pytester.runpytest("--gate", "--gate-json", "v.json")
    verdict = read_verdict(pytester.path / "v.json")
    assert rule(verdict, "selected")["outcome"] == "pass"
    assert rule(verdict, "few failures")["outcome"] == "pass"
    assert result.ret == 0


def test_markers_cross_from_xdist_workers(pytester: pytest.Pytester) -> None:
    write_policy(
        pytester,
        policy('{ marker = "critical" }')
        + '\n[[tool.releasegate.rule]]\nname = "typo"\nmetric = "tests.total"\n'
        'select = { marker = "critcal" }\nmin = 0\n',
    )
    pytester.makepyfile(test_a=TESTS)
    result = pytester.runpytest_subprocess("-n", "2", "--gate", "--gate-json", "v.json")
    verdict = read_verdict(pytester.path / "v.json")
    assert rule(verdict, "selected")["outcome"] == "pass"
    assert rule(verdict, "selected")["actual"] == 0
    # `tests.total min 0` over nothing: still not a pass.
    assert rule(verdict, "typo")["outcome"] == "error"
    assert result.ret == 3


def test_a_marker_rule_over_junit_input_only_says_junit_has_no_markers(
    pytester: pytest.Pytester,
) -> None:
    write_policy(pytester, policy('{ marker = "critical" }'))
    (pytester.path / "ui.xml").write_text(
        '<testsuite name="ui"><testcase classname="ui" name="test_login"/></testsuite>'
    )
    import subprocess
    import sys

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest_releasegate",
            "evaluate",
            "--input-junit",
            "ui.xml",
            "--json",
            "v.json",
        ],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr
    selected = rule(read_verdict(pytester.path / "v.json"), "selected")
    assert selected["outcome"] == "error"
    assert "JUnit inputs carry no markers" in selected["message"]

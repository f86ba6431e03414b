"""`--no-gate`, info rules in every output, and a renamed smoke marker."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tests.helpers import read_verdict, rule, write_policy

FAILS = '[[tool.releasegate.rule]]\nname = "no failures"\nmetric = "tests.failed"\nmax = 0\n'


def test_no_gate_turns_an_ini_enabled_gate_off(pytester: pytest.Pytester) -> None:
    write_policy(pytester, FAILS, pytest_ini="releasegate = true\n")
    pytester.makepyfile(test_a="def test_x(): pass")
    assert any(line.startswith("releasegate: PASS") for line in pytester.runpytest().outlines)
    result = pytester.runpytest("--no-gate")
    assert result.ret == 0
    assert not [line for line in result.outlines if line.startswith("releasegate")]
    # the last flag wins, as with any pytest on/off pair
    later = pytester.runpytest("--no-gate", "--gate")
    assert any(line.startswith("releasegate: PASS") for line in later.outlines)


INFO = """
[[tool.releasegate.rule]]
name = "no failures"
metric = "tests.failed"
max = 5

[[tool.releasegate.rule]]
name = "few skips"
metric = "tests.skipped"
max = 0
level = "info"
"""


def test_a_broken_info_rule_never_looks_like_a_failure(pytester: pytest.Pytester) -> None:
    write_policy(pytester, INFO)
    pytester.makepyfile(
        test_a="import pytest\n\n@pytest.mark.skip\ndef test_s(): pass\n\ndef test_x(): pass\n"
    )
    result = pytester.runpytest(
        "--gate", "--gate-json=v.json", "--gate-junit=v.xml", "--gate-markdown=v.md"
    )
    assert result.ret == 0
    verdict = read_verdict(pytester.path / "v.json")
    assert verdict["verdict"] == "pass"
    assert rule(verdict, "few skips")["outcome"] == "fail"  # the JSON keeps the rule's outcome
    assert rule(verdict, "few skips")["level"] == "info"
    # JUnit: a passing testcase with the message in <system-out>
    suite = ET.parse(pytester.path / "v.xml").getroot()
    case = next(c for c in suite.iter("testcase") if c.get("name") == "few skips")
    assert case.find("failure") is None and case.find("error") is None
    assert case.find("skipped") is None
    system_out = case.findtext("system-out") or ""
    assert "1 is above max 0" in system_out
    assert suite.get("failures") == "0"
    # Markdown and terminal: `info`, never FAIL
    md_row = next(
        line for line in (pytester.path / "v.md").read_text().splitlines() if "few skips" in line
    )
    assert "| info |" in md_row and "FAIL" not in md_row
    out = result.stdout.str()
    term_row = next(line for line in result.outlines if line.startswith("few skips"))
    assert term_row.split()[-1] == "info"
    assert "FAIL" not in out.split("releasegate ---")[-1].split("short test summary")[0]
    headline = next(line for line in result.outlines if line.startswith("releasegate: PASS"))
    assert "1 info" in headline and "fail" not in headline


SMOKE_TESTS = """
import pytest

@pytest.mark.smoke
def test_unit_a(): pass

@pytest.mark.smoke
def test_unit_b(): pass

@pytest.mark.deploy_check
def test_deployed():
    assert 0
"""

SMOKE_RULE = '[[tool.releasegate.rule]]\nname = "smoke ok"\nmetric = "smoke.failed"\nmax = 0\n'


def test_the_smoke_marker_can_be_renamed(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".toml",
        pyproject='[tool.pytest.ini_options]\nmarkers = ["smoke: our fast unit subset"]\n'
        'addopts = "--strict-markers"\n\n[tool.releasegate]\nsmoke-marker = "deploy_check"\n'
        + SMOKE_RULE,
    )
    pytester.makepyfile(test_a=SMOKE_TESTS)
    result = pytester.runpytest("--gate", "--gate-json=v.json")
    verdict = read_verdict(pytester.path / "v.json")
    assert verdict["metrics"]["smoke.passed"] == 0  # the project's own `smoke` tests are not ours
    assert verdict["metrics"]["smoke.failed"] == 1
    assert rule(verdict, "smoke ok")["outcome"] == "fail"
    assert result.ret == 1


def test_the_default_smoke_marker_is_smoke(pytester: pytest.Pytester) -> None:
    write_policy(pytester, SMOKE_RULE)
    pytester.makepyfile(test_a=SMOKE_TESTS.replace("deploy_check", "smoke"))
    pytester.runpytest("--gate", "--gate-json=v.json")
    verdict = read_verdict(pytester.path / "v.json")
    assert (verdict["metrics"]["smoke.passed"], verdict["metrics"]["smoke.failed"]) == (2, 1)


@pytest.mark.parametrize(
    ("value", "expected"),
    [('""', "smoke-marker"), ("3", "smoke-marker"), ('"two words"', "smoke-marker")],
)
def test_a_bad_smoke_marker_is_a_usage_error(
    pytester: pytest.Pytester, value: str, expected: str
) -> None:
    write_policy(pytester, f"smoke-marker = {value}\n" + SMOKE_RULE)
    pytester.makepyfile(test_a="def test_x(): pass")
    result = pytester.runpytest("--gate")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert expected in result.stderr.str()

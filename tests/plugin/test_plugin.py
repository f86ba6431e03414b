"""The pytest adapter, end to end through pytester."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET

import pytest

from tests.helpers import JUNIT_XSD, read_verdict, rule, write_policy

TOLERANT = """
[[tool.releasegate.rule]]
name = "few failures"
metric = "tests.failed"
max = 2

[[tool.releasegate.rule]]
name = "critical tests pass"
metric = "tests.failed"
select = { marker = "critical" }
max = 0
"""

TESTS = """
import pytest

def test_ok():
    pass

def test_unmarked_fails():
    assert {fail_plain}

@pytest.mark.critical
def test_critical():
    assert {fail_critical}

@pytest.mark.skip(reason="later")
def test_skipped():
    pass

@pytest.mark.xfail(strict=False)
def test_xfail():
    assert 0

@pytest.mark.parametrize("n", range(4))
def test_many(n):
    pass
"""


def make_tests(pytester: pytest.Pytester, *, fail_plain: bool, fail_critical: bool) -> None:
    pytester.makepyfile(
        test_a=TESTS.format(fail_plain=not fail_plain, fail_critical=not fail_critical)
    )


def test_installed_but_not_asked_for_changes_nothing(pytester: pytest.Pytester) -> None:
    write_policy(pytester, TOLERANT)
    make_tests(pytester, fail_plain=True, fail_critical=False)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    ours = [
        line
        for line in result.outlines
        if "releasegate" in line and not line.startswith("plugins:")
    ]
    assert ours == []
    # The plugin can be disabled outright; then --gate is an unknown option.
    disabled = pytester.runpytest("-p", "no:releasegate")
    assert disabled.ret == pytest.ExitCode.TESTS_FAILED
    assert not [line for line in disabled.outlines if "releasegate" in line]
    assert pytester.runpytest("-p", "no:releasegate", "--gate").ret == pytest.ExitCode.USAGE_ERROR


def test_tolerated_unmarked_failure_passes(pytester: pytest.Pytester) -> None:
    write_policy(pytester, TOLERANT)
    make_tests(pytester, fail_plain=True, fail_critical=False)
    result = pytester.runpytest("--gate", "--gate-json", "v.json")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["releasegate: PASS * (pyproject.toml, profile default)"])
    verdict = read_verdict(pytester.path / "v.json")
    assert verdict["verdict"] == "pass"
    m = verdict["metrics"]
    assert (m["tests.total"], m["tests.passed"], m["tests.failed"]) == (9, 6, 1)
    assert (m["tests.skipped"], m["tests.xfailed"], m["tests.errors"]) == (1, 1, 0)
    assert m["tests.pass_rate"] == pytest.approx(600 / 7)


def test_critical_failure_fails_and_names_the_rule(pytester: pytest.Pytester) -> None:
    write_policy(pytester, TOLERANT)
    make_tests(pytester, fail_plain=False, fail_critical=True)
    result = pytester.runpytest("--gate", "--gate-json", "v.json")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        ["releasegate: FAIL — 1 of 2 rules failed*", "*critical tests pass*FAIL*"]
    )
    verdict = read_verdict(pytester.path / "v.json")
    assert verdict["verdict"] == "fail"
    failing = [r["name"] for r in verdict["rules"] if r["outcome"] == "fail"]
    assert failing == ["critical tests pass"]
    assert "test_a.py::test_critical" in rule(verdict, "critical tests pass")["message"]


def test_xdist_gives_the_same_metrics_as_a_serial_run(pytester: pytest.Pytester) -> None:
    write_policy(pytester, TOLERANT)
    make_tests(pytester, fail_plain=True, fail_critical=True)
    serial = pytester.runpytest_subprocess("--gate", "--gate-json", "serial.json")
    parallel = pytester.runpytest_subprocess("-n", "2", "--gate", "--gate-json", "parallel.json")
    assert serial.ret == parallel.ret == 1
    a, b = (
        read_verdict(pytester.path / "serial.json"),
        read_verdict(pytester.path / "parallel.json"),
    )
    drop = ("tests.duration_s.total", "tests.duration_s.max")
    assert {k: v for k, v in a["metrics"].items() if k not in drop} == {
        k: v for k, v in b["metrics"].items() if k not in drop
    }
    assert [(r["name"], r["actual"], r["outcome"]) for r in a["rules"]] == [
        (r["name"], r["actual"], r["outcome"]) for r in b["rules"]
    ]
    assert rule(b, "critical tests pass")["actual"] == 1  # markers crossed the xdist boundary
    assert parallel.stdout.str().count("releasegate: FAIL") == 1  # the controller alone evaluates


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (
            '[[tool.releasegate.rule]]\nname = "r"\nmetric = "tests.faild"\nmax = 0\n',
            "did you mean 'tests.failed'",
        ),
        (
            '[[tool.releasegate.rule]]\nname = "r"\nmetric = "tests.failed"\nmaxx = 0\n',
            "unknown key 'maxx'",
        ),
        (
            '[[tool.releasegate.rule]]\nname = "r"\nmetric = "tests.total"\nmin = 3\nmax = 1\n',
            "key 'min'",
        ),
        (
            '[[tool.releasegate.rule]]\nname = "r"\nmetric = "tests.total"\nmin = 1\n' * 2,
            "duplicate",
        ),
        (
            'default-profile = "ci"\n[[tool.releasegate.rule]]\nname = "r"\nmetric = "tests.total"\nmin = 1\n',
            "unknown profile 'ci'",
        ),
        (
            '[[tool.releasegate.rule]]\nname = "r"\nmetric = "tests.total"\nmin = 1\nwaiver = { reason = "x" }\n',
            "key 'waiver.expires'",
        ),
    ],
)
def test_bad_policy_stops_before_any_test_runs(
    pytester: pytest.Pytester, body: str, needle: str
) -> None:
    write_policy(pytester, body)
    pytester.makepyfile(
        test_a="import pathlib\ndef test_x():\n    pathlib.Path('ran').write_text('x')\n"
    )
    result = pytester.runpytest("--gate")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if "releasegate: bad policy" in line]
    assert len(errors) == 1
    assert "pyproject.toml" in errors[0] and needle in errors[0]
    assert "rule 'r'" in errors[0] or "default-profile" in errors[0]
    assert not (pytester.path / "ran").exists()
    assert "Traceback" not in result.stderr.str()


def test_unknown_profile_flag_is_a_usage_error(pytester: pytest.Pytester) -> None:
    write_policy(pytester, TOLERANT)
    pytester.makepyfile(test_a="def test_x(): pass")
    result = pytester.runpytest("--gate", "--gate-profile", "nightly")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown profile 'nightly'*"])


def test_waivers_expired_and_live(pytester: pytest.Pytester) -> None:
    today = dt.date.today()
    past, future = today - dt.timedelta(days=3), today + dt.timedelta(days=30)
    write_policy(
        pytester,
        f"""
[[tool.releasegate.rule]]
name = "waived failures"
metric = "tests.failed"
max = 0
waiver = {{ reason = "TICKET-7 known breakage", expires = {future.isoformat()} }}

[[tool.releasegate.rule]]
name = "old waiver"
metric = "tests.total"
min = 1
waiver = {{ reason = "TICKET-3 long fixed", expires = {past.isoformat()} }}
""",
    )
    pytester.makepyfile(test_a="def test_x(): assert 0")
    result = pytester.runpytest("--gate", "--gate-json", "v.json")
    verdict = read_verdict(pytester.path / "v.json")
    assert rule(verdict, "waived failures")["outcome"] == "waived"
    old = rule(verdict, "old waiver")
    assert (
        old["outcome"] == "fail"
        and "TICKET-3" in old["message"]
        and past.isoformat() in old["message"]
    )
    assert verdict["verdict"] == "fail" and result.ret == 1


def test_coverage_rule_without_data_is_an_error(pytester: pytest.Pytester) -> None:
    write_policy(
        pytester,
        '[[tool.releasegate.rule]]\nname = "cov"\nmetric = "coverage.line_percent"\nmin = 80\n',
    )
    pytester.makepyfile(test_a="def test_x(): pass")
    result = pytester.runpytest("--gate", "--gate-json", "v.json")
    assert result.ret == 3
    verdict = read_verdict(pytester.path / "v.json")
    assert verdict["verdict"] == "error" and rule(verdict, "cov")["outcome"] == "error"
    write_policy(
        pytester,
        '[[tool.releasegate.rule]]\nname = "cov"\nmetric = "coverage.line_percent"\nmin = 80\non-missing = "skip"\n'
        '[[tool.releasegate.rule]]\nname = "ran"\nmetric = "tests.total"\nmin = 1\n',
    )
    result = pytester.runpytest("--gate", "--gate-json", "v.json")
    assert result.ret == 0
    assert rule(read_verdict(pytester.path / "v.json"), "cov")["outcome"] == "skipped"


def test_junit_and_json_verdicts_are_valid(pytester: pytest.Pytester) -> None:
    import jsonschema
    from junitparser import JUnitXml

    from pytest_releasegate.model import verdict_schema

    write_policy(
        pytester,
        TOLERANT
        + '[[tool.releasegate.rule]]\nname = "cov <&>"\nmetric = "coverage.percent"\nmin = 1\n'
        + '[[tool.releasegate.rule]]\nname = "skips"\nmetric = "tests.skipped"\nmax = 0\n'
        + 'waiver = { reason = "T-1", expires = 2999-01-01 }\n',
    )
    make_tests(pytester, fail_plain=True, fail_critical=True)
    pytester.runpytest(
        "--gate", "--gate-json", "v.json", "--gate-junit", "j.xml", "--gate-markdown", "v.md"
    )
    verdict = read_verdict(pytester.path / "v.json")
    jsonschema.validate(verdict, verdict_schema())

    root = ET.parse(pytester.path / "j.xml").getroot()
    (suite,) = root.iter("testsuite")
    assert suite.get("name") == "releasegate"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [r["name"] for r in verdict["rules"]]
    assert {c.get("classname") for c in cases} == {"releasegate.default"}
    failed = {c.get("name") for c in cases if c.find("failure") is not None}
    assert failed == {r["name"] for r in verdict["rules"] if r["outcome"] in ("fail", "error")}
    assert failed == {"critical tests pass", "cov <&>"}
    skipped = {c.get("name") for c in cases if c.find("skipped") is not None}
    assert skipped == {"skips"}
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["tests.failed"] == "2" and props["releasegate.verdict"] == "error"

    parsed = JUnitXml.fromfile(str(pytester.path / "j.xml"))
    assert sum(s.tests for s in parsed) == len(verdict["rules"])

    if JUNIT_XSD.is_file():
        import xmlschema

        xmlschema.XMLSchema(str(JUNIT_XSD)).validate(str(pytester.path / "j.xml"))

    md = (pytester.path / "v.md").read_text()
    assert "Release gate: ERROR" in md and "| critical tests pass |" in md


def test_max_drop_against_a_saved_baseline(pytester: pytest.Pytester) -> None:
    write_policy(
        pytester,
        '[[tool.releasegate.rule]]\nname = "pass rate"\nmetric = "tests.pass_rate"\nmax-drop = 10\n',
    )
    pytester.makepyfile(
        test_a="import pytest\n@pytest.mark.parametrize('n', range(10))\ndef test_x(n): pass\n"
    )
    first = pytester.runpytest("--gate", "--gate-save-baseline", "base/baseline.json")
    assert first.ret == 3  # no baseline yet: the relative rule cannot pass
    assert (
        json.loads((pytester.path / "base/baseline.json").read_text())["metrics"]["tests.pass_rate"]
        == 100.0
    )

    pytester.makepyfile(
        test_a="import pytest\n@pytest.mark.parametrize('n', range(10))\ndef test_x(n): assert n != 0\n"
    )
    ok = pytester.runpytest(
        "--gate", "--gate-baseline", "base/baseline.json", "--gate-json", "v.json"
    )
    assert ok.ret == 0  # 90% is a drop of exactly 10
    assert rule(read_verdict(pytester.path / "v.json"), "pass rate")["baseline"] == 100.0

    pytester.makepyfile(
        test_a="import pytest\n@pytest.mark.parametrize('n', range(10))\ndef test_x(n): assert n > 1\n"
    )
    bad = pytester.runpytest(
        "--gate", "--gate-baseline", "base/baseline.json", "--gate-json", "v.json"
    )
    assert bad.ret == 1
    assert "dropped by 20" in rule(read_verdict(pytester.path / "v.json"), "pass rate")["message"]


def test_flaky_tests_with_rerunfailures(pytester: pytest.Pytester) -> None:
    write_policy(
        pytester,
        '[[tool.releasegate.rule]]\nname = "flaky"\nmetric = "tests.flaky"\nmax = 0\nlevel = "warn"\n'
        '[[tool.releasegate.rule]]\nname = "failed"\nmetric = "tests.failed"\nmax = 0\n',
    )
    pytester.makepyfile(
        test_a="""
import pathlib
def test_flaky(tmp_path_factory):
    marker = pathlib.Path(__file__).with_name("attempted")
    if not marker.exists():
        marker.write_text("x")
        assert 0
def test_always_fails():
    assert 0
def test_ok():
    pass
"""
    )
    result = pytester.runpytest_subprocess("--reruns", "2", "--gate", "--gate-json", "v.json")
    verdict = read_verdict(pytester.path / "v.json")
    assert verdict["metrics"]["tests.flaky"] == 1
    assert verdict["metrics"]["tests.failed"] == 1
    assert verdict["metrics"]["tests.total"] == 3
    assert rule(verdict, "flaky")["outcome"] == "warn"
    assert result.ret == 1


def test_quarantined_tests_are_not_counted(pytester: pytest.Pytester) -> None:
    future = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    write_policy(
        pytester,
        '[[tool.releasegate.rule]]\nname = "failed"\nmetric = "tests.failed"\nmax = 0\n'
        '[[tool.releasegate.rule]]\nname = "q"\nmetric = "tests.quarantined_failed"\nmax = 5\nlevel = "info"\n'
        f'[[tool.releasegate.quarantine]]\nnodeid = "test_a.py::test_clock*"\nreason = "T-40"\nexpires = {future}\n',
    )
    pytester.makepyfile(test_a="def test_clock_skew(): assert 0\ndef test_ok(): pass\n")
    result = pytester.runpytest("--gate", "--gate-json", "v.json")
    assert result.ret == 0
    verdict = read_verdict(pytester.path / "v.json")
    assert verdict["metrics"]["tests.failed"] == 0
    assert verdict["metrics"]["tests.total"] == 1
    assert verdict["metrics"]["tests.quarantined_failed"] == 1


def test_quiet_shows_only_rules_that_did_not_pass(pytester: pytest.Pytester) -> None:
    write_policy(pytester, TOLERANT)
    make_tests(pytester, fail_plain=False, fail_critical=True)
    result = pytester.runpytest("--gate", "-q")
    out = result.stdout.str()
    assert "critical tests pass" in out and "few failures" not in out


def test_collection_error_is_never_a_pass(pytester: pytest.Pytester) -> None:
    write_policy(
        pytester, '[[tool.releasegate.rule]]\nname = "failed"\nmetric = "tests.failed"\nmax = 0\n'
    )
    pytester.makepyfile(test_a="def test_ok(): pass", test_b="import nonexistent_module_xyz")
    result = pytester.runpytest("--gate", "--gate-json", "v.json")
    assert result.ret == 3
    verdict = read_verdict(pytester.path / "v.json")
    assert verdict["verdict"] == "error"
    assert verdict["metrics"]["tests.errors"] == 1


def test_builtin_default_policy_when_none_is_declared(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_a="def test_ok(): pass")
    result = pytester.runpytest("--gate")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        ["releasegate: PASS — 3 of 3 rules passed (built-in default policy, profile default)"]
    )


def test_ini_enables_the_gate_and_cli_profile_beats_env(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_policy(
        pytester,
        '[[tool.releasegate.rule]]\nname = "a"\nmetric = "tests.total"\nmin = 1\nprofiles = ["one"]\n'
        '[[tool.releasegate.rule]]\nname = "b"\nmetric = "tests.total"\nmin = 1\nprofiles = ["two"]\n'
        "[tool.releasegate.profiles.one]\n[tool.releasegate.profiles.two]\n",
        pytest_ini="releasegate = true\n",
    )
    pytester.makepyfile(test_a="def test_ok(): pass")
    monkeypatch.setenv("RELEASEGATE_PROFILE", "one")
    pytester.runpytest().stdout.fnmatch_lines(["*profile one)*"])
    pytester.runpytest("--gate-profile", "two").stdout.fnmatch_lines(["*profile two)*"])

"""`pytest --gate --gate-input-tests`: reports of any format next to the pytest run and JUnit inputs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import read_verdict, rule, write_policy

DATA = Path(__file__).resolve().parents[1] / "data"

POLICY = """
[[tool.releasegate.rule]]
name = "all"
metric = "tests.total"
min = 1

[[tool.releasegate.rule]]
name = "pytest"
metric = "tests.total"
select = { source = "pytest" }
min = 1

[[tool.releasegate.rule]]
name = "go"
metric = "tests.total"
select = { source = "junit:go" }
min = 1

[[tool.releasegate.rule]]
name = "java"
metric = "tests.total"
select = { source = "tests:java" }
min = 1

[[tool.releasegate.rule]]
name = "java failed"
metric = "tests.failed"
select = { source = "tests:java" }
max = 100

[[tool.releasegate.rule]]
name = "bdd"
metric = "tests.total"
select = { source = "tests:bdd" }
min = 1

[[tool.releasegate.rule]]
name = "dotnet"
metric = "tests.total"
select = { source = "tests:dotnet" }
min = 1

[[tool.releasegate.rule]]
name = "dotnet slow"
metric = "tests.total"
select = { source = "tests:dotnet", marker = "slow" }
min = 1

[[tool.releasegate.rule]]
name = "junit via tests"
metric = "tests.total"
select = { source = "tests:go2" }
min = 1
"""


def _copy(pytester: pytest.Pytester, src: Path, rel: str) -> None:
    dest = pytester.path / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(src, dest)


def test_select_source_picks_exactly_one_sources_tests(pytester: pytest.Pytester) -> None:
    write_policy(pytester, POLICY)
    pytester.makepyfile(test_a="def test_one():\n    pass\n\ndef test_two():\n    pass\n")
    _copy(pytester, DATA / "junit" / "gotestsum-rerun.xml", "go/go.xml")
    _copy(pytester, DATA / "reports" / "testng-results.xml", "java/testng-results.xml")
    _copy(pytester, DATA / "reports" / "cucumber.json", "bdd/cucumber.json")
    # Different formats may share one source: NUnit 2, NUnit 3 and TRX.
    _copy(pytester, DATA / "reports" / "nunit2.xml", "dotnet/a.xml")
    _copy(pytester, DATA / "reports" / "nunit3.xml", "dotnet/b.xml")
    _copy(pytester, DATA / "reports" / "trx.trx", "dotnet/c.trx")
    _copy(pytester, DATA / "junit" / "gtest.xml", "go2/gtest.xml")
    result = pytester.runpytest(
        "--gate",
        "--gate-input-junit=go=go/*.xml",
        "--gate-input-tests=java=java/*.xml",
        "--gate-input-tests=bdd=bdd/*.json",
        "--gate-input-tests=dotnet=dotnet/*",
        "--gate-input-tests=go2=go2/*.xml",
        "--gate-json=v.json",
    )
    verdict = read_verdict(pytester.path / "v.json")
    assert rule(verdict, "pytest")["actual"] == 2
    assert rule(verdict, "go")["actual"] == 8
    assert rule(verdict, "java")["actual"] == 20
    assert rule(verdict, "java failed")["actual"] == 7
    assert rule(verdict, "bdd")["actual"] == 9
    # Sample.MathTests::* share nodeids across the three .NET files: one
    # source, so later files are further attempts at the same tests.
    assert rule(verdict, "dotnet")["actual"] == 20
    assert rule(verdict, "dotnet slow")["actual"] == 1
    assert rule(verdict, "junit via tests")["actual"] == 9  # JUnit read through --input-tests
    assert rule(verdict, "all")["actual"] == 2 + 8 + 20 + 9 + 20 + 9
    assert verdict["verdict"] == "pass", result.stdout.str()
    assert result.ret == 0


def test_a_broken_report_errors_only_its_own_sources_rules(pytester: pytest.Pytester) -> None:
    write_policy(pytester, POLICY)
    pytester.makepyfile(test_a="def test_one():\n    pass\n")
    _copy(pytester, DATA / "reports" / "testng-results.xml", "java/testng-results.xml")
    (pytester.path / "bdd").mkdir()
    (pytester.path / "bdd" / "cucumber.json").write_bytes(b"[" * 100_000)
    result = pytester.runpytest(
        "--gate",
        "--gate-input-tests=java=java/*.xml",
        "--gate-input-tests=bdd=bdd/*.json",
        "--gate-json=v.json",
    )
    assert result.ret == 3
    verdict = read_verdict(pytester.path / "v.json")
    assert rule(verdict, "bdd")["outcome"] == "error"
    assert rule(verdict, "bdd")["message"].count("bdd/cucumber.json: JSON nested more than") == 1
    assert rule(verdict, "pytest")["outcome"] == "pass"
    assert rule(verdict, "java")["outcome"] == "pass"
    assert rule(verdict, "all")["outcome"] == "error"  # it covers every source
    assert "Traceback" not in result.stdout.str() + result.stderr.str()

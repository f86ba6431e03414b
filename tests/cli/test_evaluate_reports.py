"""`releasegate evaluate --input-tests`: unknown, broken and hostile reports fail closed, per source."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.cli.test_evaluate_junit import releasegate

DATA = Path(__file__).resolve().parents[1] / "data" / "reports"

POLICY = """
[[rule]]
name = "good"
metric = "tests.total"
select = { source = "tests:good" }
min = 1

[[rule]]
name = "bad"
metric = "tests.failed"
select = { source = "tests:bad" }
max = 100
"""

BAD = {
    "unknown.xml": (
        b"<coverage line-rate='1'/>",
        "unknown test-report format: root element <coverage>",
    ),
    "text.txt": (b"3 passed\n", "unknown test-report format: neither XML nor JSON"),
    "malformed.trx": (b"<TestRun><Results><UnitTestResult", "not well-formed XML"),
    "entities.xml": (
        b'<?xml version="1.0"?><!DOCTYPE test-results [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<test-results><test-case name="&e;" result="Success"/></test-results>',
        "a DOCTYPE is not allowed",
    ),
    "deep.json": (b"[" * 300_000 + b"]" * 300_000, "JSON nested more than 64 deep"),
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "P.toml").write_text(POLICY)
    (tmp_path / "good").mkdir()
    shutil.copy(DATA / "nunit2.xml", tmp_path / "good" / "TestResult.xml")
    (tmp_path / "bad").mkdir()
    return tmp_path


def _run(project: Path) -> tuple[int, dict[str, dict[str, str]], str]:
    proc = releasegate(
        project,
        "evaluate",
        "--policy",
        "P.toml",
        "--input-tests",
        "good=good/*",
        "--input-tests",
        "bad=bad/*",
        "--json",
        "v.json",
    )
    verdict = json.loads((project / "v.json").read_text())
    return proc.returncode, {r["name"]: r for r in verdict["rules"]}, proc.stdout + proc.stderr


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_report_is_one_line_naming_it_and_exit_3(project: Path, name: str) -> None:
    data, expected = BAD[name]
    (project / "bad" / name).write_bytes(data)
    code, rules, output = _run(project)
    assert code == 3
    assert rules["bad"]["outcome"] == "error"
    assert rules["good"]["outcome"] == "pass"  # only the broken source's rules error
    lines = [line for line in output.splitlines() if f"bad/{name}" in line]
    assert len(lines) == 1 and expected in lines[0]
    assert "Traceback" not in output
    assert "root:" not in output  # nothing from /etc/passwd


def test_a_huge_json_report_is_refused_without_reading_it(project: Path) -> None:
    path = project / "bad" / "huge.json"
    with path.open("wb") as f:
        f.write(b"[")
        f.truncate(65 * 1024 * 1024)  # sparse: costs no disk
    code, rules, _output = _run(project)
    assert code == 3
    assert "bad/huge.json: larger than 64 MiB: not read" in rules["bad"]["message"]
    assert rules["good"]["outcome"] == "pass"


def test_every_format_in_one_source_with_no_pytest_run(project: Path) -> None:
    for name in ("testng-results.xml", "cucumber.json", "trx.trx"):
        shutil.copy(DATA / name, project / "bad" / name)
    code, rules, _output = _run(project)
    assert rules["bad"]["actual"] == 7 + 3 + 3
    assert code == 0

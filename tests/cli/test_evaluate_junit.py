"""`releasegate evaluate --input-junit`: no pytest run, JUnit files from other tools."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import run_cli

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "junit"
SECRET = "TOPSECRET-cli-5b1e-never-printed"

POLICY = """
[[rule]]
name = "no failures"
metric = "tests.failed"
max = 0

[[rule]]
name = "tests ran"
metric = "tests.total"
min = 1

[[rule]]
name = "ui clean"
metric = "tests.errors"
select = { source = "junit:ui" }
max = 0
on-missing = "skip"
"""


def releasegate(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(cwd, *args)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "P.toml").write_text(POLICY)
    return tmp_path


def add_report(project: Path, rel: str, source: Path | str) -> None:
    path = project / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(source, Path):
        shutil.copy(source, path)
    else:
        path.write_text(source)


def evaluate(project: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return releasegate(
        project,
        "evaluate",
        "--input-junit",
        "reports/**/*.xml",
        "--policy",
        "P.toml",
        "--json",
        "v.json",
        *extra,
    )


def test_passing_reports_pass_with_no_pytest_run(project: Path) -> None:
    add_report(project, "reports/go/a.xml", '<testsuite><testcase name="TestA"/></testsuite>')
    add_report(
        project,
        "reports/js/b.xml",
        '<testsuites><testsuite><testcase name="b"/></testsuite></testsuites>',
    )
    proc = evaluate(project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    verdict = json.loads((project / "v.json").read_text())
    assert verdict["verdict"] == "pass"
    assert verdict["metrics"]["tests.total"] == 2
    assert proc.stdout.startswith("releasegate: PASS")


def test_failing_reports_fail_with_exit_1(project: Path) -> None:
    add_report(project, "reports/phpunit.xml", DATA / "phpunit.xml")
    add_report(project, "reports/nested/rspec.xml", DATA / "rspec.xml")
    proc = evaluate(project)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    verdict = json.loads((project / "v.json").read_text())
    assert verdict["verdict"] == "fail"
    assert verdict["metrics"]["tests.total"] == 16
    assert verdict["metrics"]["tests.failed"] == 4
    assert verdict["metrics"]["tests.errors"] == 2


def test_a_glob_matching_nothing_is_an_error(project: Path) -> None:
    proc = evaluate(project)
    assert proc.returncode == 3
    verdict = json.loads((project / "v.json").read_text())
    rules = {r["name"]: r for r in verdict["rules"]}
    assert rules["no failures"]["outcome"] == "error"
    assert "no files match 'reports/**/*.xml'" in rules["no failures"]["message"]
    assert "Traceback" not in proc.stderr


def test_named_source_missing_follows_on_missing(project: Path) -> None:
    add_report(project, "reports/a.xml", '<testsuite><testcase name="t"/></testsuite>')
    proc = evaluate(project, "--input-junit", "ui=ui-reports/*.xml")
    verdict = json.loads((project / "v.json").read_text())
    rules = {r["name"]: r for r in verdict["rules"]}
    assert rules["ui clean"]["outcome"] == "skipped"
    # The unselective rules cover junit:ui as well, so they cannot pass.
    assert rules["tests ran"]["outcome"] == "error"
    assert proc.returncode == 3


def hostile(tmp: Path) -> dict[str, bytes]:
    secret = tmp / "secret.txt"
    secret.write_text(SECRET)
    return {
        "truncated": b"<testsuite><testcase name='a'/>",
        "not-xml": b"all 3 tests passed\n",
        "binary": bytes(range(256)),
        "empty": b"",
        "wrong-root": b"<coverage line-rate='1'/>",
        "billion-laughs": (
            b'<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
            b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><testsuite><testcase name="&c;"/></testsuite>'
        ),
        "xxe": (
            f'<!DOCTYPE t [<!ENTITY x SYSTEM "file://{secret}">]>'
            '<testsuite name="&x;"><testcase classname="&x;" name="&x;"><failure message="&x;"/>'
            "</testcase></testsuite>"
        ).encode(),
        "external-dtd": (
            f'<!DOCTYPE testsuite SYSTEM "file://{secret}"><testsuite><testcase name="t"/></testsuite>'
        ).encode(),
    }


@pytest.mark.parametrize(
    "kind",
    [
        "truncated",
        "not-xml",
        "binary",
        "empty",
        "wrong-root",
        "billion-laughs",
        "xxe",
        "external-dtd",
    ],
)
def test_hostile_file_exits_3_naming_the_file_and_leaks_nothing(project: Path, kind: str) -> None:
    add_report(project, "reports/good.xml", '<testsuite><testcase name="ok"/></testsuite>')
    (project / "reports" / f"{kind}.xml").write_bytes(hostile(project)[kind])
    proc = evaluate(project, "--junit", "v-junit.xml", "--markdown", "v.md")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    verdict = json.loads((project / "v.json").read_text())
    assert verdict["verdict"] == "error"
    naming = [r["message"] for r in verdict["rules"] if f"reports/{kind}.xml: " in r["message"]]
    assert naming, verdict["rules"]
    assert all(line.count(f"reports/{kind}.xml") == 1 for line in naming)
    outputs = [
        proc.stdout,
        proc.stderr,
        (project / "v.json").read_text(),
        (project / "v-junit.xml").read_text(),
        (project / "v.md").read_text(),
    ]
    assert not any(SECRET in text for text in outputs)
    assert f"reports/{kind}.xml" in proc.stdout

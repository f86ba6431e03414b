"""The HTML report as a file: self-contained, complete, escaped; `--html` and `releasegate report`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_releasegate.cli import main
from pytest_releasegate.history import series_for
from pytest_releasegate.sinks.html import render
from tests.history_support import evaluate, history_lines
from tests.html_page import Page

POLICY = """
history = "h.jsonl"

[[rule]]
name = "no failing tests"
metric = "tests.failed"
max = 0

[[rule]]
name = "pass rate"
metric = "tests.pass_rate"
min = 80
warn-below = 95

[[rule]]
name = "pass rate floor (info)"
metric = "tests.pass_rate"
min = 50
level = "info"

[[rule]]
name = "some tests"
metric = "tests.total"
min = 1

[[rule]]
name = "junit clean"
metric = "tests.failed"
select = { source = "junit:default" }
max = 2
"""
FAILED = [0, 1, 0, 3, 0, 2]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "releasegate.toml").write_text(POLICY)
    for n, failed in enumerate(FAILED):
        args = ("--html", str(tmp_path / "report.html")) if n == len(FAILED) - 1 else ()
        evaluate(tmp_path, monkeypatch, *args, passed=20 + n, failed=failed)
    return tmp_path


def test_the_report_is_self_contained_and_complete(project: Path) -> None:
    text = (project / "report.html").read_text()
    page = Page(text)
    assert page.external_references() == []
    assert "://" not in text  # not even a namespace URL
    verdict = json.loads((project / "verdict.json").read_text())
    body = page.all_text()
    for rule in verdict["rules"]:
        assert rule["name"] in body
    # every outcome of this run, as a badge
    badges = [a.get("class", "") for _, a in page.elements if "badge" in (a.get("class") or "")]
    for outcome in {r["outcome"] for r in verdict["rules"]}:
        assert any(f"o-{outcome}" in b for b in badges), outcome
    # one chart per rule metric and selection (the two pass-rate rules share one)
    assert len(page.svgs) == 4
    for chart in page.svgs:
        assert chart["title"] and chart["title"].startswith("Trend of ")
        assert "over the last 6 runs" in chart["title"]
        assert chart["desc"] and "profile default" in chart["desc"]
        assert chart["attrs"]["role"] == "img"
    failed_chart = next(c for c in page.svgs if c["title"].startswith("Trend of tests.failed over"))
    assert "3 failing runs: #2" in failed_chart["desc"]
    assert "Thresholds: max 0." in failed_chart["desc"]
    # failing tests with the first line of their message
    assert "Failing tests (2)" in body
    assert "app.t::case_bad_1" in body and "assert 1 == 0" in body
    assert "second line" not in body


def test_the_page_forbids_every_fetch(project: Path) -> None:
    page = Page((project / "report.html").read_text())
    csp = next(
        a["content"]
        for t, a in page.elements
        if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    )
    assert "default-src 'none'" in csp
    assert not any(t == "script" for t, _ in page.elements)


def test_fewer_than_two_runs_draw_no_chart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "releasegate.toml").write_text(POLICY)
    evaluate(tmp_path, monkeypatch, "--html", "r.html")
    page = Page((tmp_path / "r.html").read_text())
    assert page.svgs == []
    assert "no failing tests" in page.all_text()


HOSTILE = '<script>alert(1)</script>"\' onmouseover="alert(2)" <img src=x onerror=alert(3)>'


def hostile_verdict() -> dict[str, Any]:
    rule = {
        "name": f"rule {HOSTILE}",
        "metric": "tests.failed",
        "select": {"nodeid": HOSTILE},
        "actual": 1,
        "threshold": {"max": 0},
        "baseline": None,
        "outcome": "fail",
        "level": "fail",
        "message": f"message {HOSTILE} </table></svg>",
        "waiver": None,
        "precision": None,
    }
    return {
        "schema": "releasegate.verdict/1",
        "verdict": "fail",
        "profile": f"p{HOSTILE}",
        "policy": f"policy{HOSTILE}",
        "rules": [rule],
        "metrics": {"tests.failed": 1},
        "context": {"git_branch": HOSTILE, "git_sha": HOSTILE},
        "warnings": [f"warning {HOSTILE}"],
        "started_at": "2026-01-01T00:00:00+00:00",
        "finished_at": f"2026-01-01T00:00:0{HOSTILE}",
        "tool_version": HOSTILE,
        "failures": [
            {"nodeid": HOSTILE, "source": HOSTILE, "outcome": "failed", "message": HOSTILE}
        ],
        "failures_omitted": 0,
        "flaky": [{"nodeid": HOSTILE, "source": HOSTILE}],
        "flaky_omitted": 0,
        "history_error": f"error {HOSTILE}",
        HOSTILE: {HOSTILE: {"samples": [{HOSTILE: HOSTILE, "value": 1}]}},
    }


def test_hostile_strings_are_text_never_markup() -> None:
    verdict = hostile_verdict()
    earlier = {**verdict, "started_at": "x", "finished_at": "y", "verdict": "pass"}
    text = render(verdict, series_for(verdict, [earlier] * 5))
    page = Page(text)
    tags = [t for t, _ in page.elements]
    assert "script" not in tags and "img" not in tags
    assert not [a for _, attrs in page.elements for a in attrs if a.startswith("on")]
    assert page.external_references() == []
    body = page.all_text()
    # every place the string went, it reads back as the same text
    assert body.count(HOSTILE) >= 10
    assert len(page.svgs) == 1


def test_evidence_the_verdict_carries_is_shown_generically() -> None:
    verdict = {
        **hostile_verdict(),
        "runtime": {
            "api.error_rate": {
                "provider": "cloudwatch",
                "window": "5m",
                "samples": [
                    {"time": "2026-01-01T00:00:00Z", "value": 0.4},
                    {"time": "2026-01-01T00:01:00Z", "value": 0.7},
                ],
            }
        },
    }
    body = Page(render(verdict)).all_text()
    assert "Evidence: runtime" in body
    assert "api.error_rate" in body and "cloudwatch" in body and "0.7" in body


# -- releasegate report ----------------------------------------------------------


def test_report_without_a_verdict_shows_the_last_run_of_the_history(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--html", "from-history.html"]) == 0
    out = capsys.readouterr().out.strip()
    assert out == "releasegate: wrote from-history.html (verdict FAIL, trends over 6 runs)"
    page = Page((project / "from-history.html").read_text())
    assert len(page.svgs) == 4
    assert page.external_references() == []
    last = history_lines(project / "h.jsonl")[-1]
    assert last["verdict"] == "fail"
    assert "no failing tests" in page.all_text()


def test_report_of_a_verdict_file_with_a_history(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "report",
            "--html",
            "r.html",
            "--verdict",
            "verdict.json",
            "--history",
            "h.jsonl",
            "--markdown",
            "r.md",
        ]
    )
    assert code == 0
    assert len(Page((project / "r.html").read_text()).svgs) == 4
    md = (project / "r.md").read_text()
    assert "### Trends (last 6 runs" in md


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--verdict", "nope.json"], "--verdict nope.json: no such file"),
        (["--verdict", "h.jsonl"], "--verdict h.jsonl: not JSON"),
        (["--verdict", "releasegate.toml"], "--verdict releasegate.toml: not JSON"),
        (["--verdict", "other.json"], "not a releasegate verdict"),
        (["--verdict", "tampered.json"], "disagrees with its rules"),
        (["--verdict", "."], "--verdict .: cannot read it"),
        (["--history", "empty.jsonl"], "history empty.jsonl has no runs to report"),
        (["--history", "s3://"], "history s3://: expected s3://bucket/key"),
        (["--html", "blocker/r.html"], "--html blocker/r.html: cannot write it"),
    ],
)
def test_report_bad_input_is_exit_4_and_one_line(
    project: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    (project / "other.json").write_text('{"schema": "something else"}')
    tampered = json.loads((project / "verdict.json").read_text())
    tampered["verdict"] = "pass"  # its failing rules say otherwise
    (project / "tampered.json").write_text(json.dumps(tampered))
    (project / "empty.jsonl").write_text("")
    (project / "blocker").write_text("a file")
    argv = ["report", "--html", "r.html", *args] if "--html" not in args else ["report", *args]
    assert main(argv) == 4
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("releasegate: ") and message in err


def test_report_with_nothing_to_report_says_what_to_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["report", "--html", "r.html"]) == 4
    assert "nothing to report: pass --verdict FILE or --history H" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


def test_report_of_a_verdict_takes_the_policys_history_for_trends(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--html", "r.html", "--verdict", "verdict.json"]) == 0
    assert len(Page((project / "r.html").read_text()).svgs) == 4
    (project / "releasegate.toml").write_text("history = 3\n")  # broken: the trends go
    assert main(["report", "--html", "r2.html", "--verdict", "verdict.json"]) == 0
    assert "warning: no trends: bad policy" in capsys.readouterr().err
    assert Page((project / "r2.html").read_text()).svgs == []


def test_the_pytest_plugin_writes_the_report_with_trends(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_a="def test_ok():\n    pass\n")
    for _ in range(2):
        result = pytester.runpytest(
            "--gate", "--gate-history", "h.jsonl", "--gate-html", "out/report.html"
        )
        assert result.ret == 0
    page = Page((pytester.path / "out" / "report.html").read_text())
    assert len(page.svgs) == 3  # the built-in policy: tests.failed, tests.errors, tests.total
    assert page.external_references() == []
    assert "no failing tests" in page.all_text()


def test_huge_names_and_messages_stay_bounded_in_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "releasegate.toml").write_text(POLICY)
    big = "n" * 300_000
    report = tmp_path / "reports" / "junit.xml"
    report.parent.mkdir()
    report.write_text(
        f'<testsuite name="s"><testcase classname="c" name="{big}">'
        f'<failure message="{"m" * 1_000_000}">x</failure></testcase></testsuite>'
    )
    monkeypatch.chdir(tmp_path)
    assert (
        main(["evaluate", "--input-junit", str(report), "--json", "v.json", "--html", "r.html"])
        == 1
    )
    verdict = json.loads((tmp_path / "v.json").read_text())
    (failure,) = verdict["failures"]
    assert len(failure["nodeid"]) <= 1100 and len(failure["message"]) <= 500
    assert (tmp_path / "r.html").stat().st_size < 200_000
    assert (tmp_path / "h.jsonl").stat().st_size < 50_000

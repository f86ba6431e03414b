"""Broken and hostile coverage reports: one line naming the file and line, no DTD ever read."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from pytest_releasegate.model import Outcome, Rule, Selection
from pytest_releasegate.sources.covreport import ReportError, read_report

from ._polycov_support import DATA, gate

LINE = "coverage.line_percent"

GOOD_LCOV = "SF:a.js\nDA:1,1\nDA:2,0\nend_of_record\n"

BROKEN = {
    "empty.info": ("", "empty file"),
    "blank.xml": ("\n\n  \n", "empty file"),
    "unknown.txt": ("hello world\n", "unknown format"),
    "truncated.xml": (
        '<?xml version="1.0"?>\n<coverage line-rate="1">\n<packages><package>\n<classes>',
        "line 4: not well-formed XML: no element found",
    ),
    "subset.xml": (
        '<?xml version="1.0"?>\n<!DOCTYPE coverage [\n<!ENTITY x "boom">\n]>\n<coverage/>',
        "line 2: a DOCTYPE with an internal subset is not allowed",
    ),
    "entity.xml": (
        '<?xml version="1.0"?>\n<!DOCTYPE report SYSTEM "report.dtd">\n<report name="r">&x;</report>',
        "line 3: entity reference &x; is not allowed",
    ),
    "second-mode.out": (
        "mode: set\na/b.go:1.1,2.2 1 1\nmode: count\na/b.go:3.1,4.2 1 1\n",
        "line 3: a second mode: line",
    ),
    "bad-block.out": ("mode: set\na/b.go:1.1,2.2 1 1\na/b.go:x 1\n", "line 3: not a profile block"),
    "garbage.info": (
        "SF:a.js\nDA:1,1\nthis is not lcov\nend_of_record\n",
        "line 3: not an LCOV line",
    ),
    "bad-da.info": ("SF:a.js\nDA:one,1\nend_of_record\n", "line 2: DA line number 'one' is not"),
    "no-end.info": ("SF:a.js\nDA:1,1\n", "line 2: truncated: the last record has no end_of_record"),
    "huge-line.info": ("SF:a.js\nDA:99999999999,1\nend_of_record\n", "line 2: DA line number"),
    "no-sf.info": ("TN:\nDA:1,1\n", "line 2: DA outside a record"),
    "bad-json.json": (
        '{"files": {"a.py": {"executed_lines": "all"}}}',
        "is not a list of line numbers",
    ),
    "not-json.json": ("{oops", "line 1: not valid JSON"),
    "other-root.xml": ("<testsuites/>", "root element <testsuites> is not a coverage report"),
    "bad-hits.xml": (
        '<coverage line-rate="1"><packages><package><classes><class filename="a.py">'
        '<lines>\n<line number="1" hits="many"/></lines></class></classes></package>'
        "</packages></coverage>",
        "line 2: <line> hits 'many' is not a number",
    ),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_report_is_one_line_naming_file_and_line(tmp_path: Path, name: str) -> None:
    text, expected = BROKEN[name]
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ReportError) as info:
        read_report(path, display=f"reports/{name}")
    message = str(info.value)
    assert message.startswith(f"reports/{name}: ")
    assert expected in message
    assert "\n" not in message


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.xml"
    path.write_text('<coverage line-rate="1">' + "<a>" * 100 + "</a>" * 100 + "</coverage>")
    with pytest.raises(ReportError, match="nested more than"):
        read_report(path)


def test_long_line_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "long.info"
    path.write_bytes(b"SF:" + b"a" * 200_000)
    with pytest.raises(ReportError, match="longer than"):
        read_report(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a FIFO")
def test_external_doctype_is_ignored_and_never_fetched(tmp_path: Path) -> None:
    # JaCoCo and Istanbul name an external DTD; reading it would block on this
    # FIFO (nobody writes to it), so finishing at all shows it was not opened.
    fifo = tmp_path / "report.dtd"
    os.mkfifo(fifo)
    path = tmp_path / "jacoco.xml"
    path.write_text(
        f'<?xml version="1.0"?>\n<!DOCTYPE report SYSTEM "{fifo}">\n'
        '<report name="x"><package name="p"><sourcefile name="A.java">'
        '<line nr="3" mi="0" ci="2" mb="1" cb="1"/></sourcefile></package></report>'
    )
    result: list[object] = []
    reader = threading.Thread(target=lambda: result.append(read_report(path)), daemon=True)
    reader.start()
    reader.join(timeout=30)
    if reader.is_alive():  # unblock the reader before failing
        with open(fifo, "w"):
            pass
        pytest.fail("the external DTD was opened")
    [report] = result
    assert report.files["p/A.java"].branch_totals() == (2, 1)  # type: ignore[attr-defined]


def test_a_broken_report_errors_only_its_sources_rules(tmp_path: Path) -> None:
    (tmp_path / "a.js").write_text("x\ny\n")
    (tmp_path / "good.info").write_text(GOOD_LCOV)
    (tmp_path / "bad.info").write_text("SF:a.js\nDA:1,1\nrubbish\n")
    rules = (
        Rule(name="good", metric=LINE, select=Selection(source="coverage:good"), min=50),
        Rule(name="bad", metric=LINE, select=Selection(source="coverage:bad"), min=50),
        Rule(name="all", metric=LINE, min=50),
    )
    verdict = gate(tmp_path, *rules, inputs=["good=good.info", "bad=bad.info"]).run()
    outcomes = {r.name: r.outcome for r in verdict.rules}
    assert outcomes == {"good": Outcome.PASS, "bad": Outcome.ERROR, "all": Outcome.ERROR}
    bad = next(r for r in verdict.rules if r.name == "bad")
    assert bad.message.startswith("no data") or "bad.info: line 3: not an LCOV line" in bad.message
    assert any("bad.info: line 3: not an LCOV line" in w for w in verdict.warnings)
    assert verdict.exit_code == 3


def test_no_report_matches_the_glob(tmp_path: Path) -> None:
    r = Rule(name="r", metric=LINE, min=1)
    verdict = gate(tmp_path, r, inputs=["web=nothing/*.info"]).run()
    assert verdict.rules[0].outcome is Outcome.ERROR
    assert "no coverage report matches 'nothing/*.info'" in verdict.rules[0].message


def test_evaluate_exit_3_and_one_stderr_line(tmp_path: Path) -> None:
    (tmp_path / "releasegate.toml").write_text(
        '[[rule]]\nname = "js lines"\nmetric = "coverage.line_percent"\nmin = 10\n'
        'select = { source = "coverage:js" }\n'
        '[[rule]]\nname = "go lines"\nmetric = "coverage.line_percent"\nmin = 10\n'
        'select = { source = "coverage:go" }\n'
    )
    (tmp_path / "lcov.info").write_text("SF:a.js\nDA:1,1\n<html>\nend_of_record\n")
    (tmp_path / "count.out").write_text((DATA / "go" / "reports" / "count.out").read_text())
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest_releasegate",
            "evaluate",
            "--input-coverage",
            "js=lcov.info",
            "--input-coverage",
            "go=count.out",
            "--json",
            "v.json",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = [line for line in proc.stdout.splitlines() if "lcov.info: line 3" in line]
    assert lines and all("not an LCOV line" in line for line in lines)
    import json

    rules = {r["name"]: r for r in json.loads((tmp_path / "v.json").read_text())["rules"]}
    assert rules["js lines"]["outcome"] == "error"
    assert rules["go lines"]["outcome"] == "pass"


def test_size_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_releasegate.sources import covreport

    path = tmp_path / "big.info"
    path.write_text(GOOD_LCOV * 10)
    monkeypatch.setattr(covreport, "MAX_BYTES", 100)
    with pytest.raises(ReportError, match=r"big.info: \d+ bytes is over the 100-byte limit"):
        read_report(path, display="big.info")


def test_utf16_cobertura_is_read(tmp_path: Path) -> None:
    path = tmp_path / "cobertura.xml"
    text = (
        '<?xml version="1.0" encoding="UTF-16"?>\n<coverage line-rate="0.5"><packages><package>'
        '<classes><class filename="\u00e9t\u00e9.py"><lines><line number="1" hits="3"/>'
        '<line number="2" hits="0"/></lines></class></classes></package></packages></coverage>'
    )
    path.write_bytes(text.encode("utf-16"))
    report = read_report(path)
    assert report.files["\u00e9t\u00e9.py"].line_totals() == (2, 1)


def test_openclover_cond_lines_have_two_branches(tmp_path: Path) -> None:
    # OpenClover: truecount/falsecount are how often the condition was true and
    # false, and a cond line has no count; Istanbul's carry a count.
    path = tmp_path / "clover.xml"
    path.write_text(
        '<coverage clover="4.4.1"><project><package name="p"><file name="A.java" path="A.java">'
        '<line num="3" type="cond" truecount="5" falsecount="0"/>'
        '<line num="4" type="cond" truecount="0" falsecount="0"/>'
        '<line num="5" type="stmt" count="2"/><line num="6" type="method" count="0"/>'
        '<line num="9" type="cond" count="1" truecount="3" falsecount="1"/>'
        "</file></package></project></coverage>"
    )
    f = read_report(path).files["A.java"]
    assert f.measured == {3, 4, 5, 9}
    assert f.covered == {3, 5, 9}
    assert f.branch_counts == {3: (1, 2), 4: (0, 2), 9: (3, 4)}


def test_a_report_without_files_is_no_data(tmp_path: Path) -> None:
    (tmp_path / "empty.xml").write_text('<coverage line-rate="1"><packages/></coverage>')
    r = Rule(name="r", metric=LINE, min=0)
    verdict = gate(tmp_path, r, inputs=["empty.xml"]).run()
    assert verdict.rules[0].outcome is Outcome.ERROR
    assert verdict.rules[0].message.endswith("(empty.xml) name no source file")

"""Hostile, broken and unknown reports for --input-tests: one line naming the file, bounded cost."""

from __future__ import annotations

import io
import json
import tracemalloc
from pathlib import Path

import pytest

from pytest_releasegate.sources._xml import ReportError
from pytest_releasegate.sources.cucumber import check_json_bounds, parse_cucumber
from pytest_releasegate.sources.reports import read_report

SECRET = "TOPSECRET-91c2-never-read"


def _doctype(root: str, inner: str, secret: Path) -> bytes:
    return (
        f'<?xml version="1.0"?><!DOCTYPE {root} [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        f"<{root}>{inner}</{root}>"
    ).encode()


def hostile(tmp_path: Path) -> dict[str, tuple[bytes, str]]:
    secret = tmp_path / "secret.txt"
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE test-run [<!ENTITY a "aaaaaaaaaa">'
        + "".join(
            f'<!ENTITY a{i} "{("&a" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
            for i in range(1, 10)
        )
        + ']><test-run><test-case name="&a9;" result="Passed"/></test-run>'
    )
    return {
        "plain-text.log": (
            b"Tests run: 3, Failures: 0\n",
            "unknown test-report format: neither XML nor JSON",
        ),
        "html.xml": (
            b"<html><body>report</body></html>",
            "unknown test-report format: root element <html>",
        ),
        "empty.xml": (b"", "empty file"),
        "testng-xxe.xml": (
            _doctype("testng-results", '<test-method name="&xxe;" status="PASS"/>', secret),
            "DOCTYPE is not allowed",
        ),
        "nunit2-xxe.xml": (
            _doctype("test-results", '<test-case name="&xxe;" result="Success"/>', secret),
            "DOCTYPE is not allowed",
        ),
        "nunit3-laughs.xml": (laughs.encode(), "DOCTYPE is not allowed"),
        "trx-xxe.trx": (
            _doctype(
                "TestRun",
                '<Results><UnitTestResult testName="&xxe;" outcome="Passed"/></Results>',
                secret,
            ),
            "DOCTYPE is not allowed",
        ),
        "testng-truncated.xml": (
            b'<testng-results><suite><test><class name="c"><test-method name="m" status="PA',
            "not well-formed XML",
        ),
        "nunit3-nested.xml": (
            b'<test-run><test-case name="a"><test-case name="b"/></test-case></test-run>',
            "<test-case> inside <test-case>",
        ),
        "trx-nameless.trx": (
            b'<TestRun><Results><UnitTestResult outcome="Passed"/></Results></TestRun>',
            "<UnitTestResult> without a testName",
        ),
        "deep.xml": (b"<test-results>" + b"<x>" * 100_000, "nested more than 256 deep"),
        "cucumber-truncated.json": (b'[{"uri": "a.feature", "elements": [', "not valid JSON"),
        "cucumber-deep.json": (b"[" * 200_000 + b"]" * 200_000, "JSON nested more than 64 deep"),
        "cucumber-unbalanced.json": (b"[" * 200_000, "JSON nested more than 64 deep"),
        "cucumber-object.json": (b'{"features": []}', "not Cucumber JSON"),
        "cucumber-no-result.json": (
            b'[{"uri": "a.feature", "elements": [{"name": "s", "steps": [{"name": "x"}]}]}]',
            "has no result",
        ),
        "cucumber-bad-utf8.json": (b'["\xff\xfe\xfd"]', "not valid JSON"),
    }


CASES = sorted(hostile(Path("/nonexistent")))


@pytest.mark.parametrize("name", CASES)
def test_hostile_report_is_one_line_naming_the_file(tmp_path: Path, name: str) -> None:
    (tmp_path / "secret.txt").write_text(SECRET)
    data, expected = hostile(tmp_path)[name]
    path = tmp_path / name
    path.write_bytes(data)
    tracemalloc.start()
    try:
        with pytest.raises(ReportError) as info:
            read_report(path, display=f"reports/{name}")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert message.startswith(f"reports/{name}: ")
    assert expected in message
    assert "\n" not in message
    assert SECRET not in message
    assert peak < 16 * 1024 * 1024


def test_json_bounds_never_recurse() -> None:
    # Far deeper than any recursion limit: refused by the linear scan.
    with pytest.raises(ReportError, match="nested more than 64 deep"):
        check_json_bounds(b'[{"a":' * 500_000 + b"1" + b"}]" * 500_000)
    check_json_bounds(json.dumps([{"a": [[[1, "]]]]]["]]]}]).encode())  # brackets in strings
    with pytest.raises(ReportError, match="more than 10 JSON values"):
        check_json_bounds(b"[" + b"0," * 20 + b"0]", max_items=10)


def test_huge_json_is_refused_before_it_is_read_whole() -> None:
    stream = io.BytesIO(b"[" + b"0," * 600_000 + b"0]")
    with pytest.raises(ReportError, match="larger than 1 MiB: not read"):
        parse_cucumber(stream, source="tests:x", max_bytes=1024 * 1024)


def test_a_large_cucumber_file_within_the_bounds_is_read(tmp_path: Path) -> None:
    step = {"keyword": "Given ", "name": "x", "result": {"status": "passed", "duration": 1000}}
    doc = [
        {
            "uri": f"f{i}.feature",
            "name": "F",
            "elements": [{"name": f"s{j}", "steps": [step] * 5} for j in range(100)],
        }
        for i in range(20)
    ]
    path = tmp_path / "big.json"
    path.write_text(json.dumps(doc))
    assert len(read_report(path)) == 2000


def test_input_junit_points_other_formats_to_input_tests(tmp_path: Path) -> None:
    from pytest_releasegate.sources.junit import JUnitError, read_junit

    path = tmp_path / "testng-results.xml"
    path.write_bytes(b'<testng-results total="0"/>')
    with pytest.raises(JUnitError, match=r"\(TestNG XML: read it with --input-tests\)"):
        read_junit(path)


def test_testng_retried_attempts_are_one_flaky_test(tmp_path: Path) -> None:
    # TestNG 7 writes each retried attempt as SKIP with retried="true".
    path = tmp_path / "testng-results.xml"
    path.write_text(
        '<testng-results><suite name="s"><test name="t"><class name="c.T">'
        '<test-method name="flaky" status="SKIP" retried="true" duration-ms="5"/>'
        '<test-method name="flaky" status="PASS" duration-ms="7"/>'
        '<test-method name="broken" status="SKIP" retried="true" duration-ms="1"/>'
        '<test-method name="broken" status="FAIL" duration-ms="1"/>'
        '<test-method name="lost" status="SKIP" retried="true" duration-ms="1"/>'
        "</class></test></suite></testng-results>"
    )
    records = read_report(path)
    assert sorted(records) == ["c.T::broken", "c.T::flaky", "c.T::lost"]
    assert records["c.T::flaky"].outcome == "passed" and records["c.T::flaky"].flaky
    assert records["c.T::flaky"].duration == pytest.approx(0.012)
    assert records["c.T::broken"].outcome == "failed" and not records["c.T::broken"].flaky
    assert records["c.T::lost"].outcome == "failed"


def test_a_failed_run_with_no_failed_test_is_one_error(tmp_path: Path) -> None:
    nunit2 = tmp_path / "TestResult.xml"
    nunit2.write_text(
        '<test-results total="0"><test-suite type="Assembly" name="Broken.dll" result="Failure">'
        "<reason><message>could not load</message></reason><results/></test-suite></test-results>"
    )
    assert {k: r.outcome for k, r in read_report(nunit2).items()} == {
        "Broken.dll::[suite error]": "error"
    }
    nunit3 = tmp_path / "nunit3.xml"
    nunit3.write_text(
        '<test-run total="0"><test-suite type="Assembly" fullname="/w/Broken.dll" '
        'result="Failed" label="Invalid"/></test-run>'
    )
    assert {k: r.outcome for k, r in read_report(nunit3).items()} == {
        "/w/Broken.dll::[suite error]": "error"
    }
    trx = tmp_path / "crash.trx"
    trx.write_text(
        '<TestRun xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010"><Results/>'
        '<ResultSummary outcome="Failed"><Counters total="0"/><RunInfos><RunInfo outcome="Error">'
        "<Text>Testhost process exited with error</Text></RunInfo></RunInfos></ResultSummary></TestRun>"
    )
    assert {k: r.outcome for k, r in read_report(trx).items()} == {"[run failed]": "error"}
    aborted = tmp_path / "aborted.trx"
    aborted.write_text(trx.read_text().replace('outcome="Failed"', 'outcome="Aborted"'))
    assert {k: r.outcome for k, r in read_report(aborted).items()} == {"[run aborted]": "error"}


def test_gigantic_names_are_cut_in_every_format(tmp_path: Path) -> None:
    big = "n" * 5_000_000
    path = tmp_path / "nunit3.xml"
    path.write_text(
        f'<test-run><test-case name="{big}1" classname="{big}" result="Passed"/>'
        f'<test-case name="{big}2" classname="{big}" result="Failed"/></test-run>'
    )
    records = read_report(path)
    assert len(records) == 2  # still two tests
    assert all(len(nodeid) <= 2 * 1024 + 2 for nodeid in records)
    assert sorted(r.outcome for r in records.values()) == ["failed", "passed"]

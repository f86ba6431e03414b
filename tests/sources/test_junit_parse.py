"""The JUnit parser's counting rules (docs/test-reports.md), one behaviour per test."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from pytest_releasegate.model import TestRecord
from pytest_releasegate.sources.junit import (
    DEFAULT_NAME,
    JUnitError,
    count_outcomes,
    parse_input_spec,
    parse_junit,
    read_junit,
)


def parse(xml: str | bytes, **kwargs: object) -> dict[str, TestRecord]:
    data = xml.encode() if isinstance(xml, str) else xml
    return parse_junit(io.BytesIO(data), **kwargs)  # type: ignore[arg-type]


def outcomes(xml: str | bytes) -> dict[str, str]:
    return {nodeid: r.outcome for nodeid, r in parse(xml).items()}


def test_bare_testsuite_root_and_testsuites_root_read_alike() -> None:
    body = '<testcase classname="a.B" name="t1"/><testcase classname="a.B" name="t2"/>'
    bare = outcomes(f'<testsuite name="s">{body}</testsuite>')
    wrapped = outcomes(f'<testsuites><testsuite name="s">{body}</testsuite></testsuites>')
    assert bare == wrapped == {"a.B::t1": "passed", "a.B::t2": "passed"}


def test_each_child_element_decides_the_outcome() -> None:
    got = outcomes(
        """<testsuite>
          <testcase classname="c" name="passes"><system-out>hi</system-out></testcase>
          <testcase classname="c" name="fails"><failure message="m">tb</failure></testcase>
          <testcase classname="c" name="errors"><error/></testcase>
          <testcase classname="c" name="skips"><skipped message="why"/></testcase>
          <testcase classname="c" name="skips-bare"><skipped/></testcase>
          <testcase classname="c" name="xfails"><skipped type="pytest.xfail" message="bug"/></testcase>
          <testcase classname="c" name="fails-and-errors"><failure/><error/></testcase>
        </testsuite>"""
    )
    assert got == {
        "c::passes": "passed",
        "c::fails": "failed",
        "c::errors": "error",
        "c::skips": "skipped",
        "c::skips-bare": "skipped",
        "c::xfails": "xfailed",
        "c::fails-and-errors": "failed",
    }


def test_only_direct_children_of_a_testcase_count() -> None:
    got = outcomes(
        '<testsuite><testcase name="t"><properties><property name="failure" value="x"/>'
        "<failure/></properties></testcase></testsuite>"
    )
    assert got == {"t": "passed"}


def test_not_run_status_without_a_child_is_skipped() -> None:
    # googletest DISABLED_ tests, ctest disabled tests.
    got = outcomes(
        '<testsuite><testcase classname="M" name="DISABLED_x" status="notrun"/>'
        '<testcase classname="M" name="y" status="disabled"/>'
        '<testcase classname="M" name="z" status="run"/></testsuite>'
    )
    assert got == {"M::DISABLED_x": "skipped", "M::y": "skipped", "M::z": "passed"}


def test_nodeid_is_classname_and_name_or_just_name() -> None:
    got = parse('<testsuite><testcase classname="" name="lone"/><testcase name="x"/></testsuite>')
    assert set(got) == {"lone", "x"}
    assert got["lone"].classname is None


def test_nested_suites_give_their_file_to_testcases_without_one() -> None:
    got = parse(
        """<testsuites>
          <testsuite name="outer" file="spec/outer_spec.js">
            <testsuite name="inner">
              <testcase classname="k" name="inherits"/>
              <testcase classname="k" name="own" file="./spec/own_spec.js"/>
            </testsuite>
          </testsuite>
          <testsuite name="other"><testcase classname="k" name="none"/></testsuite>
        </testsuites>"""
    )
    assert got["k::inherits"].path == "spec/outer_spec.js"
    assert got["k::own"].path == "spec/own_spec.js"
    assert got["k::none"].path is None


def test_absolute_file_under_the_root_becomes_relative(tmp_path: Path) -> None:
    file = tmp_path / "tests" / "test_x.py"
    got = parse(
        f'<testsuite><testcase classname="c" name="t" file="{file}"/></testsuite>',
        rootdir=tmp_path,
    )
    assert got["c::t"].path == "tests/test_x.py"


def test_records_carry_source_duration_and_classname() -> None:
    got = parse(
        '<testsuite><testcase classname="pkg.T" name="t" time="1.5"/></testsuite>',
        source="junit:ui",
    )
    record = got["pkg.T::t"]
    assert (record.source, record.duration, record.classname, record.name) == (
        "junit:ui",
        1.5,
        "pkg.T",
        "t",
    )


@pytest.mark.parametrize(
    ("time", "seconds"),
    [("0.25", 0.25), ("1,234.5", 1234.5), ("soon", 0.0), ("-3", 0.0), ("nan", 0.0), ("", 0.0)],
)
def test_time_attribute_is_read_leniently(time: str, seconds: float) -> None:
    got = parse(f'<testsuite><testcase name="t" time="{time}"/></testsuite>')
    assert got["t"].duration == seconds


def test_count_attributes_are_never_trusted_over_elements() -> None:
    got = outcomes(
        '<testsuite tests="99" failures="many" skipped="x" errors="">'
        '<testcase name="a"/><testcase name="b"><failure/></testcase></testsuite>'
    )
    assert got == {"a": "passed", "b": "failed"}


def test_suite_level_error_without_testcase_is_one_error_each() -> None:
    got = outcomes(
        """<testsuites>
          <testsuite name="pkg/broken"><error message="build failed"/></testsuite>
          <testsuite name="pkg/two"><error/><failure/><testcase name="ok"/></testsuite>
        </testsuites>"""
    )
    assert got == {
        "pkg/broken::[suite error]": "error",
        "pkg/two::[suite error]": "error",
        "pkg/two::[suite error] 2": "error",
        "ok": "passed",
    }


def test_suite_claiming_errors_it_does_not_show_gets_stand_in_errors() -> None:
    # gotestsum: a package that does not compile is only `errors="1"` on the root.
    got = outcomes(
        """<testsuites tests="2" failures="1" errors="1">
          <testsuite name="example.com/ok" failures="1">
            <testcase classname="example.com/ok" name="TestA"><failure/></testcase>
            <testcase classname="example.com/ok" name="TestB"/>
          </testsuite>
        </testsuites>"""
    )
    assert sorted(got.values()) == ["error", "failed", "passed"]
    assert got["[suite error]"] == "error"


def test_empty_suite_reporting_an_error_is_one_error() -> None:
    assert outcomes('<testsuite name="s" errors="1" tests="0"/>') == {"s::[suite error]": "error"}


def test_nested_suite_errors_are_not_counted_twice() -> None:
    got = outcomes(
        '<testsuites errors="2"><testsuite name="a" errors="1"/>'
        '<testsuite name="b" errors="1"><testcase name="t"><error/></testcase></testsuite>'
        "</testsuites>"
    )
    assert got == {"a::[suite error]": "error", "t": "error"}


def test_stand_in_errors_are_capped() -> None:
    got = parse('<testsuite name="s" errors="999999999999"/>')
    assert len(got) == 1000


def test_rerun_collapses_to_the_last_attempt_and_is_flaky_when_it_passed() -> None:
    # gotestsum --rerun-fails: each attempt is another testcase.
    got = parse(
        """<testsuite>
          <testcase classname="p" name="Flaky"><failure/></testcase>
          <testcase classname="p" name="Broken" time="1"><failure/></testcase>
          <testcase classname="p" name="Broken" time="2"><failure/></testcase>
          <testcase classname="p" name="Flaky"/>
        </testsuite>"""
    )
    assert {k: (r.outcome, r.flaky) for k, r in got.items()} == {
        "p::Flaky": ("passed", True),
        "p::Broken": ("failed", False),
    }
    assert got["p::Broken"].duration == 3.0


def test_pytest_rerunfailures_empty_attempts_still_make_a_pass_flaky() -> None:
    got = parse(
        '<testsuite><testcase classname="m" name="t"/><testcase classname="m" name="t"/>'
        '<testcase classname="m" name="u"/><testcase classname="m" name="u"><failure/></testcase>'
        "</testsuite>"
    )
    assert (got["m::t"].outcome, got["m::t"].flaky) == ("passed", True)
    assert (got["m::u"].outcome, got["m::u"].flaky) == ("failed", False)


def test_an_error_outweighs_a_failure_when_no_attempt_passed() -> None:
    # jest-junit writes a suite that failed to load as an error and a failure.
    got = outcomes(
        '<testsuite><testcase classname="Test suite failed to run" name="a.test.js"><error/>'
        '</testcase><testcase classname="Test suite failed to run" name="a.test.js">'
        "<failure/></testcase></testsuite>"
    )
    assert got == {"Test suite failed to run::a.test.js": "error"}


def test_surefire_rerun_children() -> None:
    got = parse(
        """<testsuite name="s">
          <testcase classname="C" name="flakyFail"><flakyFailure message="1st"/></testcase>
          <testcase classname="C" name="flakyErr"><flakyError/><flakyError/></testcase>
          <testcase classname="C" name="alwaysFails"><failure/><rerunFailure/></testcase>
          <testcase classname="C" name="alwaysErrors"><error/><rerunError/></testcase>
        </testsuite>"""
    )
    assert {k: (r.outcome, r.flaky) for k, r in got.items()} == {
        "C::flakyFail": ("passed", True),
        "C::flakyErr": ("passed", True),
        "C::alwaysFails": ("failed", False),
        "C::alwaysErrors": ("error", False),
    }


def test_properties_and_system_out_are_ignored_even_when_they_look_like_xml() -> None:
    got = outcomes(
        """<testsuite>
          <properties><property name="testcase" value="&lt;testcase name='fake'/&gt;"/></properties>
          <testcase name="real"><system-out><![CDATA[<testcase name="fake"><failure/>]]></system-out>
          <system-err>&lt;failure/&gt;</system-err></testcase>
          <system-out>suite output</system-out>
        </testsuite>"""
    )
    assert got == {"real": "passed"}


def test_utf16_with_bom_is_read() -> None:
    xml = '<?xml version="1.0" encoding="UTF-16"?><testsuite><testcase classname="ü" name="tést"><failure/></testcase></testsuite>'
    assert outcomes(xml.encode("utf-16")) == {"ü::tést": "failed"}


@pytest.mark.parametrize("encoding", ["Shift_JIS", "windows-1252", "ISO-8859-15"])
def test_any_declared_encoding_python_knows_is_read(encoding: str) -> None:
    name = "テスト" if encoding == "Shift_JIS" else "café"
    xml = f'<?xml version="1.0" encoding="{encoding}"?><testsuite><testcase name="{name}"/></testsuite>'
    assert outcomes(xml.encode(encoding)) == {name: "passed"}


def test_unknown_encoding_is_an_error() -> None:
    with pytest.raises(JUnitError, match="unknown encoding 'x-nonsense'"):
        parse('<?xml version="1.0" encoding="x-nonsense"?><testsuite/>')


def test_tiny_chunks_give_the_same_records() -> None:
    xml = (
        '<testsuites errors="1"><testsuite name="s" file="f.py"><testcase classname="c" name="a">'
        '<failure/></testcase><testcase classname="c" name="b"/><error/></testsuite></testsuites>'
    )
    whole = {k: (r.outcome, r.path) for k, r in parse(xml).items()}
    chunked = {k: (r.outcome, r.path) for k, r in parse(xml, chunk_size=3).items()}
    assert whole == chunked
    assert len(whole) == 3


def test_read_junit_names_the_file_in_errors(tmp_path: Path) -> None:
    bad = tmp_path / "report.xml"
    bad.write_text("<testsuite><testcase name='a'>")
    with pytest.raises(JUnitError) as info:
        read_junit(bad, display="reports/report.xml")
    assert str(info.value).startswith("reports/report.xml: not well-formed XML: ")
    assert "line 1" in str(info.value)


def test_read_junit_of_a_missing_file_is_a_junit_error(tmp_path: Path) -> None:
    with pytest.raises(JUnitError, match=r"gone\.xml: cannot read"):
        read_junit(tmp_path / "gone.xml", display="gone.xml")


def test_count_outcomes_matches_the_records() -> None:
    got = parse(
        '<testsuite><testcase name="a"/><testcase name="b"><failure/></testcase>'
        '<testcase name="c"><skipped type="pytest.xfail"/></testcase>'
        '<testcase name="a"/></testsuite>'
    )
    counts = count_outcomes(got.values())
    assert counts == {
        "total": 3,
        "passed": 1,
        "failed": 1,
        "error": 0,
        "skipped": 0,
        "xfailed": 1,
        "xpassed": 0,
        "flaky": 1,
    }


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("reports/*.xml", (DEFAULT_NAME, "reports/*.xml")),
        ("ui=reports/ui/**/*.xml", ("ui", "reports/ui/**/*.xml")),
        ("java.it-2=build/*.xml", ("java.it-2", "build/*.xml")),
        ("reports/a=b/*.xml", (DEFAULT_NAME, "reports/a=b/*.xml")),
        ("/abs/path/*.xml", (DEFAULT_NAME, "/abs/path/*.xml")),
    ],
)
def test_parse_input_spec(spec: str, expected: tuple[str, str]) -> None:
    assert parse_input_spec(spec) == expected


@pytest.mark.parametrize("spec", ["", "ui=", "=reports/*.xml", "  "])
def test_parse_input_spec_rejects_empty_parts(spec: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        parse_input_spec(spec)

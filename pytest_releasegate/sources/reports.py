"""Test reports in every format CodeBuild accepts, as a gate source.

``--gate-input-tests [NAME=]GLOB`` (and ``releasegate evaluate
--input-tests``) adds the tests of the matching files to the run's results
under the source ``tests:NAME`` (``tests:default`` without a NAME). Each
file's format is told by its content, never by its name:

=====================  ==============================================
root / first byte      format and reader
=====================  ==============================================
``<testsuites>``,      JUnit XML (:mod:`.junit`)
``<testsuite>``
``<testng-results>``   TestNG XML (:mod:`.testng`)
``<test-results>``     NUnit 2 XML (:mod:`.nunit2`)
``<test-run>``         NUnit 3 XML (:mod:`.nunit3`)
``<TestRun>``          Visual Studio TRX (:mod:`.trx`)
``[``                  Cucumber JSON (:mod:`.cucumber`)
=====================  ==============================================

Every XML format is read by the same hardened streaming expat set-up
(:mod:`._xml`); Cucumber JSON is bounded in size, depth and values before it
is parsed. What counts as what, per format and producer, is in
``docs/test-reports.md``. A file in no known format, or not well-formed, is
an error naming the file, for the rules covering its source only.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO

from .. import hookimpl
from ..records import RecordTable
from ._xml import CHUNK, ReportError, root_element
from .junit import collect_inputs, parse_junit

if TYPE_CHECKING:
    from ..engine import Gate

__all__ = ["FORMATS", "detect_format", "read_report", "read_report_stream"]

#: Root element → format name.
FORMATS = {
    "testsuites": "junit",
    "testsuite": "junit",
    "testng-results": "testng",
    "test-results": "nunit2",
    "test-run": "nunit3",
    "TestRun": "trx",
}
_JSON_START = (b"[", b"{")
_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def detect_format(stream: BinaryIO) -> str:
    """``junit``, ``testng``, ``nunit2``, ``nunit3``, ``trx`` or ``cucumber``; rewinds the stream.

    Raises :class:`ReportError` for an empty file, a file that is not XML
    up to its root element (or has a DOCTYPE), or an unknown root.
    """
    head = stream.read(CHUNK)
    stream.seek(0)
    text = head.removeprefix(_BOM).lstrip()
    if not text:
        raise ReportError("empty file")
    if text[:1] in _JSON_START:
        return "cucumber"
    if text[:1] != b"<" and not text.startswith(_UTF16_BOMS):
        raise ReportError(
            "unknown test-report format: neither XML nor JSON (expected JUnit, TestNG, "
            "NUnit 2 or 3, or TRX XML, or Cucumber JSON)"
        )
    tag, _attrs = root_element(stream)
    stream.seek(0)
    fmt = FORMATS.get(tag)
    if fmt is None:
        raise ReportError(
            f"unknown test-report format: root element <{tag}> (expected JUnit, TestNG, "
            "NUnit 2 or 3, or TRX XML, or Cucumber JSON)"
        )
    return fmt


def _reader(fmt: str) -> Callable[..., RecordTable]:
    if fmt == "junit":
        return parse_junit
    if fmt == "testng":
        from .testng import parse_testng

        return parse_testng
    if fmt == "nunit2":
        from .nunit2 import parse_nunit2

        return parse_nunit2
    if fmt == "nunit3":
        from .nunit3 import parse_nunit3

        return parse_nunit3
    if fmt == "trx":
        from .trx import parse_trx

        return parse_trx
    from .cucumber import parse_cucumber

    return parse_cucumber


def read_report_stream(
    stream: BinaryIO,
    *,
    source: str = "tests:default",
    rootdir: str | os.PathLike[str] | None = None,
) -> tuple[str, RecordTable]:
    """Detect the format of one seekable stream and read it: ``(format, records)``."""
    fmt = detect_format(stream)
    root = os.fspath(rootdir) if rootdir is not None else None
    return fmt, _reader(fmt)(stream, source=source, rootdir=root)


def read_report(
    path: str | os.PathLike[str],
    *,
    source: str = "tests:default",
    display: str | None = None,
    rootdir: str | os.PathLike[str] | None = None,
) -> RecordTable:
    """Read one test report of any known format into records keyed by nodeid.

    Raises :class:`ReportError` whose message starts with the file
    (``display``, default ``path``).
    """
    label = display if display is not None else os.fspath(path)
    try:
        with open(path, "rb") as stream:
            return read_report_stream(stream, source=source, rootdir=rootdir)[1]
    except ReportError as exc:
        raise ReportError(f"{label}: {exc}") from None
    except OSError as exc:
        raise ReportError(f"{label}: cannot read ({exc.strerror or exc})") from None


@hookimpl
def releasegate_collect(gate: Gate) -> None:
    """Read every ``gate.options.input_tests`` spec into ``gate.results`` (sources ``tests:NAME``).

    Problems (a glob matching nothing, an unknown or broken file) make the
    rules covering that source error out, as for ``--input-junit``.
    """
    collect_inputs(gate, gate.options.input_tests, kind="tests", read=read_report)

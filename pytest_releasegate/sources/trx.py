"""Visual Studio TRX (``dotnet test --logger trx``, root ``<TestRun>``) as test records.

Each ``<UnitTestResult>`` is one test; a data-driven result that holds
``<InnerResults>`` is a container and its data rows are the tests. The
mapping follows ``dotnet test``'s summary and exit code (docs/test-reports.md,
"TRX"):

* ``Passed``, ``Completed``, ``Warning`` and ``PassedButRunAborted`` (the
  test itself passed) → passed;
* ``Failed`` → failed; ``Error``, ``Timeout``, ``Aborted``, ``NotRunnable``,
  ``Disconnected``, ``InProgress`` and ``Pending`` (it did not finish, or
  could not run: the run fails) → error;
* ``NotExecuted`` and ``Inconclusive`` (vstest's skipped: the run does not
  fail) → skipped;
* any other ``outcome`` → error (fail closed);
* a run whose ``<ResultSummary outcome>`` is ``Aborted``, ``Timeout`` or
  ``Disconnected`` adds one error, ``[run aborted]``: tests it never reached
  are not in the file; one that is ``Failed`` or ``Error`` with no failed
  or errored test in the file (a test host that crashed, an adapter that
  failed to load) adds one error, ``[run failed]``.

The nodeid is ``className::testName`` (the class from ``<TestDefinitions>``;
a ``testName`` that already starts with the class is not repeated); a data
row named like its test gets `` [row N]``. ``<TestCategory>`` items are the markers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import BinaryIO
from xml.parsers import expat

from ..records import RecordTable
from ._collect import Collector
from ._xml import MAX_DEPTH, Refuse, parse_xml

__all__ = ["parse_trx", "trx_seconds"]

_OUTCOMES = {
    "Passed": "passed",
    "Completed": "passed",
    "Warning": "passed",
    "PassedButRunAborted": "passed",
    "Failed": "failed",
    "NotExecuted": "skipped",
    "Inconclusive": "skipped",
}
_RUN_ABORTED = frozenset(("Aborted", "Timeout", "Disconnected"))
_DURATION = re.compile(r"(?:(\d+)\.)?(\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)")


def trx_seconds(value: str | None) -> float:
    """``[d.]hh:mm:ss[.fffffff]`` (a .NET TimeSpan) as seconds; anything else is 0.0."""
    match = _DURATION.fullmatch(value or "")
    if not match:
        return 0.0
    days, hours, minutes, secs = match.groups()
    return ((int(days or 0) * 24 + int(hours)) * 60 + int(minutes)) * 60 + float(secs)


def parse_trx(stream: BinaryIO, *, source: str, rootdir: str | None = None) -> RecordTable:
    """Read a TRX stream; raises ``ReportError``."""
    return parse_xml(stream, lambda p, r: _handlers(p, r, source, rootdir), what="TRX")


def _handlers(
    parser: expat.XMLParserType, refuse: Refuse, source: str, rootdir: str | None
) -> Callable[[], RecordTable]:
    stack: list[str] = []
    # Results are written before the definitions that name their class, so
    # they wait here as (testId, testName, outcome, seconds).
    results: list[tuple[str, str, str, float]] = []
    open_results: list[list[object]] = []  # [attrs, inner results seen]
    classes: dict[str, str] = {}
    categories: dict[str, list[str]] = {}
    unit_test: list[str] = []  # id of the open <UnitTest> definition
    run_outcome: list[str] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        if not stack and tag != "TestRun":
            refuse(f"root element is <{tag}>, expected <TestRun>")
        stack.append(tag)
        if len(stack) > MAX_DEPTH:
            refuse(f"elements nested more than {MAX_DEPTH} deep")
        if tag == "UnitTestResult":
            if "testName" not in attrs:
                refuse(f"<UnitTestResult> without a testName at line {parser.CurrentLineNumber}")
            if open_results:
                open_results[-1][1] = int(str(open_results[-1][1])) + 1
            open_results.append([attrs, 0])
        elif tag == "UnitTest":
            unit_test[:] = [attrs.get("id", "")]
        elif tag == "TestMethod" and unit_test and "className" in attrs:
            classes[unit_test[0]] = attrs["className"]
        elif tag == "TestCategoryItem" and unit_test and "TestCategory" in attrs:
            categories.setdefault(unit_test[0], []).append(attrs["TestCategory"])
        elif tag == "ResultSummary":
            run_outcome[:] = [attrs.get("outcome", "")]

    def end(tag: str) -> None:
        stack.pop()
        if tag == "UnitTestResult":
            attrs, inner = open_results.pop()
            if inner:  # a data-driven container: its rows are the tests
                return
            assert isinstance(attrs, dict)
            name = attrs["testName"]
            parent = open_results[-1][0] if open_results else None
            if isinstance(parent, dict) and parent.get("testName") == name:
                # Older writers name each data row after its test: number them.
                name = f"{name} [row {attrs.get('dataRowInfo') or '?'}]"
            outcome = _OUTCOMES.get(attrs.get("outcome", ""), "error")
            results.append(
                (attrs.get("testId", ""), name, outcome, trx_seconds(attrs.get("duration")))
            )
        elif tag == "UnitTest":
            unit_test.clear()

    def finish() -> RecordTable:
        out = Collector(source, rootdir)
        for test_id, name, outcome, duration in results:
            classname = classes.get(test_id)
            if classname and name.startswith(classname + "."):
                name = name[len(classname) + 1 :]
            out.add(
                f"{classname}::{name}" if classname else name,
                outcome,
                duration,
                classname=classname,
                markers=tuple(categories.get(test_id, ())),
            )
        if run_outcome and run_outcome[0] in _RUN_ABORTED:
            out.add("[run aborted]", "error")
        elif (
            run_outcome
            and run_outcome[0] in ("Failed", "Error")
            and not any(outcome in ("failed", "error") for _, _, outcome, _ in results)
        ):
            out.add("[run failed]", "error")
        return out.records

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    return finish

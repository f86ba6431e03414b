"""NUnit 2 XML (``TestResult.xml``, root ``<test-results>``) as test records.

Each ``<test-case>`` is one test (a parameterised case too); the mapping
follows nunit-console 2.6's summary and exit code (the number of errors,
failures and not-runnable tests; docs/test-reports.md, "NUnit 2"):

* ``Success`` → passed, ``Failure`` → failed, ``Error`` and ``Cancelled`` →
  error, ``NotRunnable`` (the console's "Invalid": counted in its exit code)
  → error;
* ``Ignored``, ``Skipped`` and ``Inconclusive`` (not counted in the exit
  code) → skipped;
* any other ``result`` → error (fail closed);
* a ``<test-suite>`` that failed (``Failure``, ``Error``, ``NotRunnable``,
  ``Cancelled``) without holding any test case (an assembly that did not
  load) → one error, ``NAME::[suite error]``.

The nodeid is ``Namespace.Fixture::Method(args)``; categories of the test
and of its enclosing suites are its markers (``select.marker``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO
from xml.parsers import expat

from ..records import RecordTable
from ._collect import Collector, seconds
from ._xml import MAX_DEPTH, Refuse, parse_xml

__all__ = ["parse_nunit2", "split_name"]

_OUTCOMES = {
    "Success": "passed",
    "Failure": "failed",
    "Error": "error",
    "Cancelled": "error",
    "NotRunnable": "error",
    "Ignored": "skipped",
    "Skipped": "skipped",
    "Inconclusive": "skipped",
}


_SUITE_FAILED = frozenset(("Failure", "Error", "NotRunnable", "Cancelled"))


def split_name(fullname: str) -> tuple[str | None, str]:
    """``Ns.Fixture.Method(1.5,"a.b")`` → ``("Ns.Fixture", 'Method(1.5,"a.b")')``."""
    head = fullname.split("(", 1)[0]
    classname, dot, _ = head.rpartition(".")
    if not dot or not classname:
        return None, fullname
    return classname, fullname[len(classname) + 1 :]


def parse_nunit2(stream: BinaryIO, *, source: str, rootdir: str | None = None) -> RecordTable:
    """Read an NUnit 2 result stream; raises ``ReportError``."""
    return parse_xml(stream, lambda p, r: _handlers(p, r, source, rootdir), what="NUnit XML")


def _handlers(
    parser: expat.XMLParserType, refuse: Refuse, source: str, rootdir: str | None
) -> Callable[[], RecordTable]:
    out = Collector(source, rootdir)
    stack: list[str] = []
    # Categories of each open suite (innermost last), then the open test-case's.
    suite_categories: list[list[str]] = []
    # Open suites: (name, result, test cases seen when it opened).
    suites: list[tuple[str, str, int]] = []
    cases = 0
    case: dict[str, str] | None = None
    case_categories: list[str] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal case, cases
        if not stack and tag != "test-results":
            refuse(f"root element is <{tag}>, expected <test-results>")
        stack.append(tag)
        if len(stack) > MAX_DEPTH:
            refuse(f"elements nested more than {MAX_DEPTH} deep")
        if tag == "test-suite":
            suite_categories.append([])
            suites.append((attrs.get("name", ""), attrs.get("result", ""), cases))
        elif tag == "test-case":
            if case is not None:
                refuse(f"<test-case> inside <test-case> at line {parser.CurrentLineNumber}")
            if "name" not in attrs:
                refuse(f"<test-case> without a name at line {parser.CurrentLineNumber}")
            case = attrs
            cases += 1
            case_categories.clear()
        elif tag == "category" and "name" in attrs:
            if case is not None:
                case_categories.append(attrs["name"])
            elif suite_categories:
                suite_categories[-1].append(attrs["name"])

    def end(tag: str) -> None:
        nonlocal case
        stack.pop()
        if tag == "test-suite":
            suite_categories.pop()
            name, result, before = suites.pop()
            if cases == before and result in _SUITE_FAILED:
                out.add(f"{name}::[suite error]" if name else "[suite error]", "error")
        elif tag == "test-case" and case is not None:
            attrs, case = case, None
            classname, name = split_name(attrs["name"])
            markers = [c for cats in suite_categories for c in cats] + case_categories
            out.add(
                f"{classname}::{name}" if classname else name,
                _OUTCOMES.get(attrs.get("result", ""), "error"),
                seconds(attrs.get("time")),
                classname=classname,
                markers=tuple(dict.fromkeys(markers)),
            )

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    return lambda: out.records

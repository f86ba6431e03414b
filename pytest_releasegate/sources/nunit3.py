"""NUnit 3 XML (root ``<test-run>``) as test records.

Each ``<test-case>`` is one test (each parameterised case too); the mapping
follows the NUnit 3 console's summary and exit code (the number of failed,
errored and invalid tests; docs/test-reports.md, "NUnit 3"):

* ``Passed`` → passed; ``Warning`` (the run does not fail) → passed;
* ``Failed`` → failed, or error with ``label="Error"``, ``"Cancelled"`` or
  ``"Invalid"`` (an exception, a cancelled run, a test NUnit could not run:
  all fail the run);
* ``Skipped`` (``label="Ignored"``, ``"Explicit"``) and ``Inconclusive`` (the
  run does not fail) → skipped;
* any other ``result`` → error (fail closed);
* a ``<test-suite>`` that failed without holding any test case (an assembly
  that did not load, a fixture with no runnable test) → one error,
  ``FULLNAME::[suite error]``.

The nodeid is ``classname::name`` (``Ns.Fixture::Method(1,2)``); ``Category``
properties of the test and its enclosing suites are its markers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO
from xml.parsers import expat

from ..records import RecordTable
from ._collect import Collector, seconds
from ._xml import MAX_DEPTH, Refuse, parse_xml
from .nunit2 import split_name

__all__ = ["parse_nunit3"]

_ERROR_LABELS = frozenset(("Error", "Cancelled", "Invalid"))
_OUTCOMES = {
    "Passed": "passed",
    "Warning": "passed",
    "Failed": "failed",
    "Skipped": "skipped",
    "Inconclusive": "skipped",
}


def parse_nunit3(stream: BinaryIO, *, source: str, rootdir: str | None = None) -> RecordTable:
    """Read an NUnit 3 result stream; raises ``ReportError``."""
    return parse_xml(stream, lambda p, r: _handlers(p, r, source, rootdir), what="NUnit XML")


def outcome_of(attrs: dict[str, str]) -> str:
    outcome = _OUTCOMES.get(attrs.get("result", ""), "error")
    if outcome == "failed" and attrs.get("label") in _ERROR_LABELS:
        return "error"
    return outcome


def _handlers(
    parser: expat.XMLParserType, refuse: Refuse, source: str, rootdir: str | None
) -> Callable[[], RecordTable]:
    out = Collector(source, rootdir)
    stack: list[str] = []
    # Open suites, innermost last: [attrs, categories, test cases seen when it opened].
    suites: list[tuple[dict[str, str], list[str], int]] = []
    cases = 0
    case: dict[str, str] | None = None
    case_categories: list[str] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal case, cases
        if not stack and tag != "test-run":
            refuse(f"root element is <{tag}>, expected <test-run>")
        stack.append(tag)
        if len(stack) > MAX_DEPTH:
            refuse(f"elements nested more than {MAX_DEPTH} deep")
        if tag == "test-suite":
            suites.append((attrs, [], cases))
        elif tag == "test-case":
            if case is not None:
                refuse(f"<test-case> inside <test-case> at line {parser.CurrentLineNumber}")
            if "name" not in attrs:
                refuse(f"<test-case> without a name at line {parser.CurrentLineNumber}")
            case = attrs
            cases += 1
            case_categories.clear()
        elif tag == "property" and attrs.get("name") == "Category" and "value" in attrs:
            if case is not None:
                case_categories.append(attrs["value"])
            elif suites:
                suites[-1][1].append(attrs["value"])

    def end(tag: str) -> None:
        nonlocal case
        stack.pop()
        if tag == "test-suite":
            attrs, _categories, before = suites.pop()
            if cases == before and attrs.get("result") == "Failed":
                name = attrs.get("fullname") or attrs.get("name") or ""
                out.add(f"{name}::[suite error]" if name else "[suite error]", "error")
        elif tag == "test-case" and case is not None:
            attrs, case = case, None
            classname = attrs.get("classname")
            name = attrs["name"]
            if not classname:
                classname, name = split_name(attrs.get("fullname") or name)
            markers = [c for s in suites for c in s[1]] + case_categories
            out.add(
                f"{classname}::{name}" if classname else name,
                outcome_of(attrs),
                seconds(attrs.get("duration")),
                classname=classname,
                markers=tuple(dict.fromkeys(markers)),
            )

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    return lambda: out.records

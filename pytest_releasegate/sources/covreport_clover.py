"""Clover XML (OpenClover, Istanbul/nyc/c8 ``clover``, gcovr ``--clover``, PHPUnit).

A ``<file>`` (its ``path``, else its ``name``) holds ``<line num type count>``
elements: ``stmt`` and ``cond`` lines are measured, covered when ``count > 0``;
``method`` lines are function entries and are not lines of code. Branches of a
``cond`` line: Istanbul writes ``truecount`` = branches taken and
``falsecount`` = branches not taken (and always a ``count``), OpenClover
writes how often the condition was true and false (and no ``count``), so a
line with ``count`` has ``truecount + falsecount`` branches of which
``truecount`` were taken, and one without has 2, taken by a non-zero
``truecount`` and ``falsecount``. The ``<metrics>`` summaries are never read
(nyc's ``statements`` there are lines), nor is ``<testproject>`` (the
coverage of test code; gcovr writes a placeholder file there).
"""

from __future__ import annotations

from .covreport_model import (
    MAX_DEPTH,
    MAX_LINE_NUMBER,
    FileData,
    ReportData,
    ReportError,
    count,
    line_number,
    too_deep,
)


class CloverHandler:
    __slots__ = ("current", "depth", "in_tests", "report")

    def __init__(self, report: ReportData) -> None:
        self.report = report
        self.depth = 0
        self.current: FileData | None = None
        self.in_tests = False

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == "line":
            current = self.current
            if current is None:
                if self.in_tests:
                    return
                raise ReportError("<line> outside a <file>")
            kind = attrs.get("type")
            if kind != "stmt" and kind != "cond":
                return
            try:
                number = int(attrs["num"])
            except (KeyError, ValueError):
                number = line_number(attrs.get("num", ""), "<line> num")
            if not 0 < number <= MAX_LINE_NUMBER:
                line_number(str(number), "<line> num")
            hits = attrs.get("count")
            true_count = count(attrs.get("truecount", "0"), "truecount")
            false_count = count(attrs.get("falsecount", "0"), "falsecount")
            current.measured.add(number)
            if kind == "cond":
                if hits is not None:
                    branches = (true_count, true_count + false_count)
                else:
                    branches = ((true_count > 0) + (false_count > 0), 2)
                if branches[1]:
                    current.branch_counts[number] = branches
            if (hits is not None and count(hits, "count")) or (
                hits is None and kind == "cond" and (true_count or false_count)
            ):
                current.covered.add(number)
            return
        self.depth += 1
        if self.depth > MAX_DEPTH:
            too_deep()
        if tag == "file":
            if self.in_tests:
                return
            name = attrs.get("path") or attrs.get("name")
            if not name:
                raise ReportError("<file> without a path or name attribute")
            self.current = self.report.file(name)

        elif tag == "testproject":
            self.in_tests = True

    def end(self, tag: str) -> None:
        if tag == "line":
            return
        self.depth -= 1
        if tag == "file":
            self.current = None
        elif tag == "testproject":
            self.in_tests = False

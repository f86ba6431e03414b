"""Cobertura XML (coverage.py ``coverage xml``, Istanbul/nyc/c8, gcovr, ...).

A file is a ``<class filename=...>``; several classes of one file (Java inner
classes, gcovr's per-directory packages) merge. A ``<line number hits>`` is
measured, covered when ``hits > 0``; ``branch="true"`` with
``condition-coverage="50% (1/2)"`` gives the line's taken/total branches. The
``<line>`` copies under ``<methods>`` are skipped (they repeat the class's
lines), and so are every ``*-rate``/``*-valid`` summary attribute. Names are
mapped through ``<sources>`` (each ``<source>`` tried in order).
"""

from __future__ import annotations

import re
from typing import Any

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

_CONDITION = re.compile(r"\((\d+)/(\d+)\)")


class CoberturaHandler:
    __slots__ = ("current", "depth", "in_methods", "parser", "report", "text")

    def __init__(self, report: ReportData, parser: Any) -> None:
        self.report = report
        self.parser = parser
        self.current: FileData | None = None
        self.in_methods = 0
        self.depth = 0
        self.text: list[str] = []

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == "line":
            current = self.current
            if current is None or self.in_methods:
                return
            try:
                number = int(attrs["number"])
            except (KeyError, ValueError):
                number = line_number(attrs.get("number", ""), "<line> number")
            if not 0 < number <= MAX_LINE_NUMBER:
                line_number(str(number), "<line> number")
            current.measured.add(number)
            hits = attrs.get("hits", "0")
            if hits != "0":
                try:
                    n = int(hits)
                except ValueError:
                    n = count(hits, "<line> hits")
                if n > 0:
                    current.covered.add(number)
                elif n < 0:
                    count(hits, "<line> hits")
            if attrs.get("branch") == "true":
                self._branch(current, number, attrs.get("condition-coverage", ""))
            return
        self.depth += 1
        if self.depth > MAX_DEPTH:
            too_deep()
        if tag == "class":
            filename = attrs.get("filename")
            if not filename:
                raise ReportError("<class> without a filename attribute")
            self.current = self.report.file(filename)
        elif tag == "methods":
            self.in_methods += 1
        elif tag == "source":
            self.text = []
            self.parser.CharacterDataHandler = self.text.append
        elif tag == "coverage" and self.depth > 1:
            raise ReportError("<coverage> inside <coverage>")

    @staticmethod
    def _branch(current: FileData, number: int, condition: str) -> None:
        found = _CONDITION.search(condition)
        if not found:
            return
        taken, total = int(found.group(1)), int(found.group(2))
        if taken > total:
            raise ReportError(f"condition-coverage {taken}/{total} takes more than all")
        if total:
            known = current.branch_counts.get(number)
            if known is None or known[0] < taken:
                current.branch_counts[number] = (taken, total)

    def end(self, tag: str) -> None:
        if tag == "line":
            return
        self.depth -= 1
        if tag == "class":
            self.current = None
        elif tag == "methods":
            self.in_methods -= 1
        elif tag == "source":
            self.parser.CharacterDataHandler = None
            source = "".join(self.text).strip()
            if source:
                self.report.sources.append(source)

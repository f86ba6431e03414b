"""JaCoCo XML (JaCoCo's report engine: Maven/Gradle/Ant; gcovr ``--jacoco``).

Per ``<sourcefile>`` of a ``<package>``: a ``<line nr mi ci mb cb>`` is
measured, covered when ``ci > 0``, with ``mb + cb`` branches of which ``cb``
were taken. A line JaCoCo counts in two classes (a lambda, an inner class on
the same line) is one line here: the ``<class>`` counters are never read.
A ``<sourcefile>`` without ``<line>`` elements but with ``LINE``/``BRANCH``
counters is judged on those counters, and so is one whose ``<line>`` elements
carry no ``mi``/``ci`` instruction counts (gcovr's JaCoCo XML, which says per
line only which branches ran). Files are named
``package/sourcefile`` and mapped under ``source-roots``.
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


class JaCoCoHandler:
    __slots__ = ("counters", "current", "depth", "package", "report", "saw_line", "uncounted")

    def __init__(self, report: ReportData) -> None:
        self.report = report
        self.depth = 0
        self.package = ""
        self.current: FileData | None = None
        self.saw_line = False
        self.uncounted = False
        self.counters: dict[str, tuple[int, int]] = {}

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == "line":
            current = self.current
            if current is None:
                raise ReportError("<line> outside a <sourcefile>")
            try:
                number = int(attrs["nr"])
            except (KeyError, ValueError):
                number = line_number(attrs.get("nr", ""), "<line> nr")
            if not 0 < number <= MAX_LINE_NUMBER:
                line_number(str(number), "<line> nr")
            self.saw_line = True
            if "ci" not in attrs and "mi" not in attrs:
                self.uncounted = True
            current.measured.add(number)
            ci = attrs.get("ci", "0")
            if ci != "0" and count(ci, "ci"):
                current.covered.add(number)
            mb = attrs.get("mb", "0")
            cb = attrs.get("cb", "0")
            if mb != "0" or cb != "0":
                taken = count(cb, "cb")
                total = taken + count(mb, "mb")
                known = current.branch_counts.get(number)
                if known is None or known[0] < taken:
                    current.branch_counts[number] = (taken, total)
            return
        self.depth += 1
        if self.depth > MAX_DEPTH:
            too_deep()
        if tag == "counter":
            if self.current is not None:
                kind = attrs.get("type", "")
                if kind in ("LINE", "BRANCH"):
                    missed = count(attrs.get("missed", "0"), "missed")
                    covered = count(attrs.get("covered", "0"), "covered")
                    self.counters[kind] = (missed + covered, covered)
        elif tag == "sourcefile":
            name = attrs.get("name")
            if not name:
                raise ReportError("<sourcefile> without a name attribute")
            full = f"{self.package}/{name}" if self.package else name
            self.current = self.report.file(full)
            self.saw_line = self.uncounted = False
            self.counters = {}
        elif tag == "package":
            self.package = attrs.get("name", "").strip("/")

    def end(self, tag: str) -> None:
        if tag == "line":
            return
        self.depth -= 1
        if tag == "sourcefile":
            current = self.current
            per_file = not self.saw_line or self.uncounted
            if current is not None and per_file and "LINE" in self.counters:
                lines, covered = self.counters["LINE"]
                branches, taken = self.counters.get("BRANCH", (0, 0))
                current.counters = (lines, covered, branches, taken)
                current.measured.clear()
                current.covered.clear()
                current.branch_counts.clear()
            elif current is not None and self.uncounted:
                raise ReportError(
                    f"<sourcefile name={current.name!r}> has lines without instruction counts "
                    "and no LINE counter"
                )
            self.current = None
        elif tag == "package":
            self.package = ""

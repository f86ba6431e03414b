"""Cobertura XML (coverage.py ``coverage xml``, Istanbul/nyc/c8, gcovr, ...).

A file is a ``<class filename=...>``; several classes of one file (Java inner
classes, gcovr's per-directory packages) merge. A ``<line number hits>`` is
measured, covered when ``hits > 0``; ``branch="true"`` with
``condition-coverage="50% (1/2)"`` gives the line's taken/total branches. The
``<line>`` copies under ``<methods>`` are skipped (they repeat the class's
lines), and so are every ``*-rate``/``*-valid`` summary attribute. Names are
mapped through ``<sources>`` (each ``<source>`` tried in order).

Fast path. Most of a real report is plain ``<line>`` elements, and expat
calls Python twice for each. :class:`LineRuns` sees each chunk before expat
does and replaces every run of consecutive plain ``<line>`` elements (the
exact forms coverage.py, Istanbul and gcovr write; only whitespace between
them) by one marker element that keeps the run's whitespace, so line numbers
stay right. The marker's start event reads the run with one regex and C-level
``int`` maps. It is only a speed-up: a run goes through exactly the checks the
element-by-element path makes, and any run that would fail one is replayed
through that path, so errors name the same line with the same words
(``tests/sources/test_cobertura_fastpath.py`` compares both paths on every
producer's report, the hostile cases and random mutations, at many chunk
sizes). The rewrite is off for documents that are not UTF-8 (or ASCII or
Latin-1), and from the first ``<![CDATA[`` on, the one place where a
rewritten run could become text the reader sees.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from itertools import chain, compress
from typing import Any
from xml.parsers import expat

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


def _plain_line(group: bytes) -> bytes:
    """One plain ``<line>``: number, hits and, for a branch line, its taken/total."""
    digits = (group + rb"[0-9]{1,9})", group + rb"[0-9]{1,18})")
    return (
        rb'<line number="' + digits[0] + rb'" hits="' + digits[1] + rb'"'
        rb'(?: branch="false"| branch="true" condition-coverage="[0-9]{1,3}% \('
        + digits[0]
        + rb"/"
        + digits[0]
        + rb'\)"'
        rb'(?: missing-branches="[^"<&]*")?)?/>'
    )


_LINE = re.compile(_plain_line(b"("))
_RUN = re.compile(_plain_line(b"(?:") + rb"(?:[ \t\r\n]*" + _plain_line(b"(?:") + rb")*")
_ONE = re.compile(_plain_line(b"(?:"))
_DECLARED = re.compile(rb"^(?:\xef\xbb\xbf)?<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)")
_ASCII_BASED = {"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1"}
_CDATA = b"<![CDATA["
#: The marker element; its ``k`` is a fresh secret per document, so a report
#: that contains an element of this name is read like any unknown element.
MARKER = "releasegate-lines"
#: A chunk tail without ``>`` longer than this is fed as it is (no run can be in it).
_HOLD = 1024 * 1024


#: Enough of the document's start to hold its XML declaration.
_PROLOG = 512
#: Bytes before the root element past which the fast path is not tried. Until the
#: root is read, expat gets one piece per ``>``, and a token spanning many pieces
#: (a long comment) is scanned again with each: this bounds that.
_UNDECIDED = 8 * 1024


def _ascii_based(prolog: bytes) -> bool:
    """Whether the document's bytes below 0x80 are ASCII (UTF-8, ASCII, Latin-1)."""
    if prolog[:2] in (b"\xfe\xff", b"\xff\xfe") or b"\x00" in prolog[:4]:
        return False  # UTF-16 or UTF-32
    declared = _DECLARED.match(prolog)
    return not declared or declared.group(1).decode("ascii").lower() in _ASCII_BASED


class LocatedError(ReportError):
    """A :class:`ReportError` whose message already names its line."""


class LineRuns:
    """Rewrites runs of plain ``<line>`` elements into markers, chunk by chunk."""

    __slots__ = (
        "enabled",
        "off",
        "older",
        "pending",
        "prolog",
        "runs",
        "serial",
        "tail",
        "token",
        "undecided",
    )

    def __init__(self) -> None:
        self.token = secrets.token_hex(16)
        self.enabled: bool | None = None  # whether runs are rewritten, once the format is known
        self.off = False
        self.prolog = b""  # the document's first bytes, for its encoding
        self.undecided = 0  # bytes fed before the format was known
        self.pending = b""
        self.tail = b""
        # Runs by serial number, this chunk's and the one before's: a marker
        # inside a comment is never read, so older runs are dropped.
        self.runs: dict[int, bytes] = {}
        self.older: dict[int, bytes] = {}
        self.serial = 0

    def feed(self, chunk: bytes, final: bool) -> Iterator[bytes]:
        """What expat gets, piece by piece: the chunk (after what was held back),
        runs replaced; the part after its last ``>`` is held for the next call
        unless ``final``. Until the root element has picked the format, pieces
        end at each ``>``, so the format is known before the first run."""
        data = self.pending + chunk if self.pending else chunk
        self.pending = b""
        if not self.off and _CDATA in self.tail + data:
            self.off = True
        if self.enabled is None and not self.off:
            start = 0
            while self.enabled is None:
                if self.undecided > _UNDECIDED:
                    self.off = True  # no real report has its root element this far in
                    break
                cut = data.find(b">", start) + 1
                if not cut:
                    break
                self.prolog = (self.prolog + data[start:cut])[:_PROLOG]
                self.undecided += cut - start
                yield data[start:cut]
                start = cut
            data = data[start:]
            self.undecided += len(data)
            if self.enabled is None:
                self.prolog = (self.prolog + data)[:_PROLOG]
        if self.off or not self.enabled:
            head = data
        else:
            cut = len(data) if final else data.rfind(b">") + 1
            if len(data) - cut > _HOLD:
                cut = len(data)
            self.pending = data[cut:]
            head = data[:cut]
        # A "<![CDATA[" cut in two by a chunk end is found the next time.
        self.tail = (self.tail + head)[-len(_CDATA) :]
        if self.enabled and not self.off and b"<line " in head:
            self.older, self.runs = self.runs, {}
            head = _RUN.sub(self._mark, head)
        yield head

    def decide(self, cobertura: bool) -> None:
        """The root element picked the format: rewrite only a Cobertura report whose
        bytes below 0x80 are ASCII (read from its XML declaration)."""
        self.enabled = cobertura and _ascii_based(self.prolog)

    def _mark(self, found: re.Match[bytes]) -> bytes:
        run = found.group(0)
        self.serial += 1
        self.runs[self.serial] = run
        space = _ONE.sub(b"", run)
        if b"\r" in space:
            # "\r<line/>\n" is two line ends, "\r\n" one: spell each as expat reads it.
            space = _ONE.sub(b"", run.replace(b"\r\n", b"\n").replace(b"\r", b"\n"))
        return (
            f'<{MARKER} k="{self.token}" i="{self.serial}">'.encode("ascii")
            + space
            + f"</{MARKER}>".encode("ascii")
        )

    def take(self, serial: str) -> bytes:
        """The run a marker stands for (each is read once)."""
        run = self.runs.pop(int(serial), None) or self.older.pop(int(serial), None)
        if run is None:  # cannot happen: markers are read in the chunk that made them
            raise ReportError("internal error: a <line> run was lost")
        return run


class CoberturaHandler:
    __slots__ = (
        "current",
        "depth",
        "fast",
        "in_marker",
        "in_methods",
        "parser",
        "report",
        "text",
    )

    def __init__(self, report: ReportData, parser: Any, fast: LineRuns | None = None) -> None:
        self.report = report
        self.parser = parser
        self.current: FileData | None = None
        self.in_methods = 0
        self.depth = 0
        self.text: list[str] = []
        self.fast = fast
        self.in_marker = False

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
        if tag == MARKER and self.fast is not None and attrs.get("k") == self.fast.token:
            self.in_marker = True
            self._run(self.fast.take(attrs["i"]))
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

    def _run(self, run: bytes) -> None:
        """A run of plain ``<line>`` elements, read at once (what :meth:`start` does
        for each, in order); a run that breaks a rule is replayed element by element."""
        current = self.current
        if current is None or self.in_methods:
            return
        flat = list(chain.from_iterable(_LINE.findall(run)))
        numbers = list(map(int, flat[0::4]))
        takens, totals = flat[2::4], flat[3::4]
        branches = [
            (number, int(taken), int(total))
            for number, taken, total in compress(zip(numbers, takens, totals, strict=True), totals)
        ]
        if (
            min(numbers) < 1
            or max(numbers) > MAX_LINE_NUMBER
            or any(taken > total for _, taken, total in branches)
        ):
            self._replay(run)
            return
        current.measured.update(numbers)
        current.covered.update(compress(numbers, map(int, flat[1::4])))
        counts = current.branch_counts
        for number, taken, total in branches:
            if total:
                known = counts.get(number)
                if known is None or known[0] < taken:
                    counts[number] = (taken, total)

    def _replay(self, run: bytes) -> None:
        """Feed a run's elements to :meth:`start` one by one, so a failing check
        raises what the element-by-element path raises, naming the element's line."""
        first = self.parser.CurrentLineNumber
        replay = expat.ParserCreate()

        def start(tag: str, attrs: dict[str, str]) -> None:
            if tag == "line":
                self.start(tag, attrs)

        replay.StartElementHandler = start
        try:
            replay.Parse(b"<run>" + run + b"</run>", True)
        except ReportError as exc:
            raise LocatedError(f"line {first + replay.CurrentLineNumber - 1}: {exc}") from None

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
        if self.in_marker:  # a marker holds only whitespace: this is its end
            self.in_marker = False
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

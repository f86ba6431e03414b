"""The per-line model every coverage report reader feeds, and the merge rules.

A :class:`ReportData` is one report read: the files it names, each a
:class:`FileData` with the lines the report measures, the lines it covers
and its branches. Readers raise :class:`ReportError` (one line).
"""

from __future__ import annotations

from typing import NoReturn

#: A line number above this is refused: no real source file is that long.
MAX_LINE_NUMBER = 50_000_000
#: Files per report.
MAX_FILES = 1_000_000
#: Bytes per report file (the readers stream; this bounds the time spent).
MAX_BYTES = 4 * 1024**3
#: A coverage.py JSON report is one JSON document, loaded whole.
MAX_JSON_BYTES = 512 * 1024**2

FORMATS = ("cobertura", "clover", "jacoco", "lcov", "go", "coverage.py-json")


class ReportError(Exception):
    """A report that cannot be read. ``str()`` is one line; :func:`read_report` adds the file."""


class FileData:
    """One source file as a report (or several merged) measured it.

    ``measured``/``covered``: line numbers the report lists / lists with a hit
    count above 0. ``branch_ids``: line → {branch id: taken} for formats that
    identify branches (LCOV ``BRDA``, coverage.py JSON arcs);
    ``branch_counts``: line → (taken, total) for those that only count them
    (Cobertura, JaCoCo, Clover). ``counters``: (lines, covered lines,
    branches, taken branches) for a report without per-line data (gcovr's
    JaCoCo XML). ``blocks``: Go profile blocks (start line, start column, end
    line, end column) → [statements, count]; when present, statements are
    counted from the blocks, as ``go tool cover`` does.
    """

    __slots__ = (
        "blocks",
        "branch_counts",
        "branch_ids",
        "counters",
        "covered",
        "measured",
        "mode",
        "name",
    )

    def __init__(self, name: str) -> None:
        self.name = name
        self.measured: set[int] = set()
        self.covered: set[int] = set()
        self.branch_ids: dict[int, dict[str, bool]] = {}
        self.branch_counts: dict[int, tuple[int, int]] = {}
        self.counters: tuple[int, int, int, int] | None = None
        self.blocks: dict[tuple[int, int, int, int], list[int]] | None = None
        self.mode = ""  # Go: set, count or atomic

    # -- totals ---------------------------------------------------------------

    @property
    def has_lines(self) -> bool:
        """Whether the file has per-line data (else only per-file counters)."""
        return self.counters is None

    def line_totals(self) -> tuple[int, int]:
        """(statements, covered statements): Go statements, else measured lines."""
        if self.counters is not None:
            return self.counters[0], self.counters[1]
        if self.blocks is not None:
            total = covered = 0
            for n, count in self.blocks.values():
                total += n
                if count:
                    covered += n
            return total, covered
        return len(self.measured), len(self.covered)

    def branch_totals(self) -> tuple[int, int]:
        """(branches, taken branches)."""
        if self.counters is not None:
            return self.counters[2], self.counters[3]
        total = taken = 0
        for line, ids in self.branch_ids.items():
            if line in self.branch_counts:
                continue  # merged with a count-only report: the better one is in branch_counts
            total += len(ids)
            taken += sum(ids.values())
        for t, n in self.branch_counts.values():
            total += n
            taken += t
        return total, taken

    def finish(self) -> None:
        """Derive lines from Go blocks: a line is measured when a block with statements
        spans it, covered when every such block ran (SPEC §9, diff coverage)."""
        if self.blocks is None:
            return
        measured: set[int] = set()
        missed: set[int] = set()
        for (sl, _sc, el, _ec), (n, count) in self.blocks.items():
            if not n:
                continue
            span = range(sl, el + 1)
            measured.update(span)
            if not count:
                missed.update(span)
        self.measured = measured
        self.covered = measured - missed


def _better(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    """The better of two (taken, total) counts of one line: higher ratio, then more taken."""
    ra = a[0] / a[1] if a[1] else 0.0
    rb = b[0] / b[1] if b[1] else 0.0
    return a if (ra, a[0]) >= (rb, b[0]) else b


def merge_into(target: FileData, other: FileData) -> None:
    """Merge ``other`` (the same file from another report or shard) into ``target``.

    A line is covered if any report covers it; branches with ids merge per
    id; branches known only as counts take the better count per line; Go
    blocks merge as ``go tool cover`` merges them (set: either ran; count
    and atomic: the counts add up); per-file counters, when either side has
    only those, take the better side.
    """
    if target.counters is not None or other.counters is not None:
        mine = _as_counters(target)
        theirs = _as_counters(other)
        best = mine if _ratio(mine) >= _ratio(theirs) else theirs
        target.counters = best
        return
    if other.blocks is not None:
        if target.blocks is None:
            target.blocks = {}
        add = other.mode != "set" and target.mode != "set"
        blocks = target.blocks
        for key, (n, count) in other.blocks.items():
            known = blocks.get(key)
            if known is None:
                blocks[key] = [n, count]
            elif add:
                known[1] += count
            elif count and not known[1]:
                known[1] = count
        target.mode = target.mode or other.mode
        target.finish()
        return
    target.measured |= other.measured
    target.covered |= other.covered
    for line, ids in other.branch_ids.items():
        mine_ids = target.branch_ids.get(line)
        if mine_ids is None:
            target.branch_ids[line] = dict(ids)
        else:
            for branch, taken in ids.items():
                mine_ids[branch] = mine_ids.get(branch, False) or taken
    for line, counts in other.branch_counts.items():
        known_count = target.branch_counts.get(line)
        target.branch_counts[line] = counts if known_count is None else _better(known_count, counts)
    # A line with ids on one side and only counts on the other: best per line.
    for line in set(target.branch_ids) & set(target.branch_counts):
        ids = target.branch_ids[line]
        as_count = (sum(ids.values()), len(ids))
        target.branch_counts[line] = _better(target.branch_counts[line], as_count)


def _as_counters(f: FileData) -> tuple[int, int, int, int]:
    if f.counters is not None:
        return f.counters
    lines, covered = f.line_totals()
    branches, taken = f.branch_totals()
    return lines, covered, branches, taken


def _ratio(c: tuple[int, int, int, int]) -> tuple[float, int]:
    total = c[0] + c[2]
    return ((c[1] + c[3]) / total if total else 0.0, c[1] + c[3])


class ReportData:
    """One report file read: its format, files by the name the report gives them.

    ``kind`` says how names map to project paths (``plain``, ``cobertura``
    with ``sources``, ``jacoco`` package/file names, ``go`` import paths).
    """

    __slots__ = ("files", "format", "kind", "sources")

    def __init__(self, fmt: str, kind: str = "plain") -> None:
        self.format = fmt
        self.kind = kind
        self.sources: list[str] = []
        self.files: dict[str, FileData] = {}

    def file(self, name: str) -> FileData:
        """The entry for ``name``, created on first use (a file listed twice merges)."""
        found = self.files.get(name)
        if found is None:
            if len(self.files) >= MAX_FILES:
                raise ReportError(f"more than {MAX_FILES} files")
            found = self.files[name] = FileData(name)
        return found


#: Element nesting depth of the XML formats.
MAX_DEPTH = 64


def too_deep() -> NoReturn:
    raise ReportError(f"elements nested more than {MAX_DEPTH} deep")


def line_number(text: str | bytes, what: str = "line number") -> int:
    """A positive line number from report text; ReportError otherwise."""
    try:
        n = int(text)
    except ValueError:
        raise ReportError(f"{what} {_show(text)} is not a number") from None
    if not 0 < n <= MAX_LINE_NUMBER:
        raise ReportError(f"{what} {n} is out of range (1..{MAX_LINE_NUMBER})")
    return n


def count(text: str | bytes, what: str = "hit count") -> int:
    """A non-negative hit count (large counts and "1.0" are accepted); ReportError otherwise."""
    try:
        n = int(text)
    except ValueError:
        try:
            value = float(text)
        except ValueError:
            raise ReportError(f"{what} {_show(text)} is not a number") from None
        if not value >= 0 or value == float("inf"):
            raise ReportError(f"{what} {_show(text)} is not a count") from None
        return int(value) if value >= 1 or value == 0 else 1
    if n < 0:
        raise ReportError(f"{what} {n} is negative")
    return n


def _show(text: str | bytes) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return repr(text[:60])

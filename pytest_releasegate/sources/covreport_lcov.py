"""LCOV tracefiles (``lcov.info``: lcov/geninfo, c8/nyc/Istanbul, gcovr ``--lcov``,
coverage.py ``coverage lcov``, grcov, llvm-cov export, ...).

Between ``SF:`` and ``end_of_record``: a ``DA:line,count[,checksum]`` line is
measured, covered when the count is above 0; ``BRDA:line,block,branch,taken``
is a branch identified by ``block,branch``, taken when ``taken`` is a number
above 0 (``-`` means the block never ran). ``LF``/``LH``/``BRF``/``BRH``
summaries and function records (``FN``, ``FNDA``, ...) are never counted: a
function's declaration line is a line only when a ``DA`` line says so. Any
other line is refused with its line number.
"""

from __future__ import annotations

from typing import BinaryIO

from .covreport_lines import line_chunks
from .covreport_model import MAX_LINE_NUMBER, FileData, ReportData, ReportError, count, line_number

_IGNORED = frozenset(
    (b"TN", b"VER", b"FN", b"FNDA", b"FNF", b"FNH", b"FNL", b"FNA", b"LF", b"LH", b"BRF", b"BRH")
)


def read_lcov(stream: BinaryIO) -> ReportData:
    report = ReportData("lcov")
    current: FileData | None = None
    measured: set[int] = set()
    covered: set[int] = set()
    ignored = _IGNORED
    before = index = 0
    try:
        for before, lines in line_chunks(stream):  # noqa: B007 - named in errors
            for index, raw in enumerate(lines):  # noqa: B007
                if raw[:3] == b"DA:":
                    if current is None:
                        raise ReportError("DA outside a record (no SF: before it)")
                    line, _, rest = raw[3:].partition(b",")
                    hits, _, _checksum = rest.partition(b",")
                    try:
                        n = int(line)
                    except ValueError:
                        n = line_number(line, "DA line number")
                    if not 0 < n <= MAX_LINE_NUMBER:
                        line_number(line, "DA line number")
                    measured.add(n)
                    if hits != b"0":
                        try:
                            h = int(hits)  # negative counts (old gcov) are not hits
                        except ValueError:
                            h = count(hits, "DA hit count")
                        if h > 0:
                            covered.add(n)
                    continue
                if raw[:5] == b"BRDA:":
                    if current is None:
                        raise ReportError("BRDA outside a record (no SF: before it)")
                    parts = raw[5:].split(b",")
                    if len(parts) != 4:
                        raise ReportError(f"BRDA needs line,block,branch,taken: {raw[:80]!r}")
                    n = line_number(parts[0], "BRDA line number")
                    taken = parts[3] not in (b"-", b"0") and count(parts[3], "BRDA taken") > 0
                    key = (parts[1] + b"," + parts[2]).decode("utf-8", "replace")
                    ids = current.branch_ids.get(n)
                    if ids is None:
                        current.branch_ids[n] = {key: taken}
                    else:
                        ids[key] = ids.get(key, False) or taken
                    continue
                if raw[:3] == b"SF:":
                    if current is not None:
                        raise ReportError("SF: inside a record (end_of_record missing)")
                    name = raw[3:].strip().decode("utf-8", "surrogateescape")
                    if not name:
                        raise ReportError("SF: without a file name")
                    current = report.file(name)
                    measured = current.measured
                    covered = current.covered
                    continue
                if raw == b"end_of_record" or raw.rstrip() == b"end_of_record":
                    if current is None:
                        raise ReportError("end_of_record outside a record")
                    current = None
                    continue
                word, sep, _ = raw.partition(b":")
                if sep and word in ignored:
                    continue
                if not raw.strip():
                    continue
                raise ReportError(f"not an LCOV line: {raw[:80].decode('utf-8', 'replace')!r}")
    except ReportError as exc:
        raise ReportError(f"line {before + index + 1}: {exc}") from None
    if current is not None:
        last = before + index + 1
        raise ReportError(f"line {last}: truncated: the last record has no end_of_record")
    if not report.files:
        raise ReportError("no SF: record: not an LCOV tracefile with data")
    return report

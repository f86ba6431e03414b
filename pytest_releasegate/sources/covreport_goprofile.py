"""Go cover profiles (``go test -coverprofile``; ``mode: set|count|atomic``).

Each line ``import/path/file.go:startLine.startCol,endLine.endCol statements count``
is a block. Statements are counted as ``go tool cover -func`` counts them, so
a Go source's ``coverage.line_percent`` equals its ``total:`` line. A block
repeated (appended profiles, ``-coverpkg`` runs) merges as ``go tool cover``
merges it: ``set`` — ran if any copy ran; ``count``/``atomic`` — the counts
add up. A second ``mode:`` line is refused, as ``go tool cover`` refuses it.
Profiles carry no branches.
"""

from __future__ import annotations

from typing import BinaryIO

from .covreport_lines import numbered_lines
from .covreport_model import ReportData, ReportError, count, line_number

_MODES = (b"set", b"count", b"atomic")


def read_go_profile(stream: BinaryIO) -> ReportData:
    report = ReportData("go", "go")
    mode = b""
    number = 0
    try:
        for number, raw in numbered_lines(stream):  # noqa: B007 - named in errors
            if not raw.strip():
                continue
            if raw.startswith(b"mode:"):
                if mode:
                    raise ReportError("a second mode: line (go tool cover refuses this profile)")
                mode = raw[5:].strip()
                if mode not in _MODES:
                    raise ReportError(f"unknown mode {mode.decode('utf-8', 'replace')!r}")
                continue
            if not mode:
                raise ReportError("the first line must be mode: set|count|atomic")
            rest, _, hits = raw.rpartition(b" ")
            rest, _, stmts = rest.rpartition(b" ")
            name, colon, span = rest.rpartition(b":")
            start, comma, end = span.partition(b",")
            sl, dot1, sc = start.partition(b".")
            el, dot2, ec = end.partition(b".")
            if not (name and colon and comma and dot1 and dot2 and stmts):
                raise ReportError(
                    "not a profile block (file:line.col,line.col statements count): "
                    f"{raw[:80].decode('utf-8', 'replace')!r}"
                )
            key = (
                line_number(sl, "start line"),
                count(sc, "start column"),
                line_number(el, "end line"),
                count(ec, "end column"),
            )
            if key[2] < key[0]:
                raise ReportError(f"block ends (line {key[2]}) before it starts (line {key[0]})")
            n = count(stmts, "statement count")
            hit = count(hits, "count")
            f = report.file(name.decode("utf-8", "surrogateescape"))
            if f.blocks is None:
                f.blocks = {}
                f.mode = mode.decode()
            known = f.blocks.get(key)
            if known is None:
                f.blocks[key] = [n, hit]
            else:
                if known[0] != n:
                    raise ReportError(
                        f"inconsistent statement count for a repeated block ({known[0]} and {n})"
                    )
                if mode == b"set":
                    known[1] = known[1] or hit
                else:
                    known[1] += hit
    except ReportError as exc:
        raise ReportError(f"line {number}: {exc}") from None
    if not mode:
        raise ReportError("line 1: the first line must be mode: set|count|atomic")
    return report

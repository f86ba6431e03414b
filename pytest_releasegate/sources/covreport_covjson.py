"""coverage.py's JSON report (``coverage json``, format 2 and 3).

Per file: ``executed_lines`` and ``missing_lines`` are the measured
statements, the executed ones covered; ``executed_branches`` and
``missing_branches`` are the branches, identified by their arc
(``"from->to"``). The ``summary`` and ``totals`` blocks are never read.
"""

from __future__ import annotations

import json
from typing import Any, BinaryIO

from .covreport_model import ReportData, ReportError, line_number


def read_coverage_json(stream: BinaryIO) -> ReportData:
    try:
        data = json.load(stream)
    except json.JSONDecodeError as exc:
        raise ReportError(f"line {exc.lineno}: not valid JSON: {exc.msg}") from None
    except (UnicodeDecodeError, RecursionError):
        raise ReportError("line 1: not valid JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        raise ReportError('line 1: JSON without a "files" object: not a coverage.py JSON report')
    report = ReportData("coverage.py-json")
    for name, entry in data["files"].items():
        if not isinstance(entry, dict):
            raise ReportError(f"files[{name!r}] is not an object")
        f = report.file(name)
        executed = _lines(entry, "executed_lines", name)
        missing = _lines(entry, "missing_lines", name)
        f.measured.update(executed, missing)
        f.covered.update(executed)
        for key, taken in (("executed_branches", True), ("missing_branches", False)):
            arcs = entry.get(key, [])
            if not isinstance(arcs, list):
                raise ReportError(f"files[{name!r}].{key} is not a list")
            for arc in arcs:
                if not (isinstance(arc, list) and len(arc) == 2 and all(_is_int(a) for a in arc)):
                    raise ReportError(f"files[{name!r}].{key} holds {arc!r}, not a [from, to] arc")
                line = line_number(str(arc[0]), f"files[{name!r}].{key} line")
                ids = f.branch_ids.setdefault(line, {})
                arc_id = f"{arc[0]}->{arc[1]}"
                ids[arc_id] = ids.get(arc_id, False) or taken
    return report


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _lines(entry: dict[str, Any], key: str, name: str) -> list[int]:
    lines = entry.get(key, [])
    if not isinstance(lines, list) or not all(_is_int(n) for n in lines):
        raise ReportError(f"files[{name!r}].{key} is not a list of line numbers")
    for n in lines:
        line_number(str(n), f"files[{name!r}].{key}")
    return lines

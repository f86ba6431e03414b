"""Coverage reports written by other tools: format detection and reading.

Every reader (``covreport_cobertura``, ``_clover``, ``_jacoco``, ``_lcov``,
``_goprofile``, ``_covjson``) streams one file into the per-line model of
:mod:`.covreport_model`. Counting is always from the per-line (or, for Go,
per-block) data, never from summary attributes; see ``docs/coverage.md`` for
each producer. :func:`read_report` detects the format from the content and
names the file and line in every error.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import BinaryIO

from .covreport_covjson import read_coverage_json
from .covreport_goprofile import read_go_profile
from .covreport_lcov import read_lcov
from .covreport_model import (
    MAX_BYTES,
    MAX_JSON_BYTES,
    FileData,
    ReportData,
    ReportError,
    merge_into,
)
from .covreport_xml import read_xml_report

__all__ = [
    "FileData",
    "ReportData",
    "ReportError",
    "detect_format",
    "merge_into",
    "read_report",
]


# -- detection -----------------------------------------------------------------


_LCOV_KEYS = (
    b"TN:",
    b"SF:",
    b"VER:",
    b"FN:",
    b"FNDA:",
    b"FNF:",
    b"FNH:",
    b"FNL:",
    b"FNA:",
    b"DA:",
    b"LF:",
    b"LH:",
    b"BRDA:",
    b"BRF:",
    b"BRH:",
    b"end_of_record",
)


def detect_format(head: bytes) -> str | None:
    """The report format from the first bytes of a file, or None when unknown."""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"\xff\xfe") or text.startswith(b"\xfe\xff"):
        return "xml" if b"<\x00" in text[:8] or b"\x00<" in text[:8] else None
    if text.startswith(b"mode:"):
        return "go"
    if text.startswith(b"{"):
        return "coverage.py-json"
    if text.startswith(b"<"):
        return "xml"
    if text.startswith(_LCOV_KEYS):
        return "lcov"
    return None


def read_report(
    path: str | os.PathLike[str], *, display: str | None = None, root: str | None = None
) -> ReportData:
    """Read one coverage report of any supported format.

    Raises :class:`ReportError` with one line naming the file (``display``)
    and, where it applies, the line of the report.
    """
    label = display if display is not None else os.fspath(path)
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as stream:
            head = stream.read(4096)
            if not head.strip():
                raise ReportError("empty file: not a coverage report")
            fmt = detect_format(head)
            if fmt is None:
                raise ReportError(
                    "unknown format (expected Cobertura, Clover or JaCoCo XML, LCOV, "
                    "a Go cover profile or coverage.py JSON)"
                )
            limit = MAX_JSON_BYTES if fmt == "coverage.py-json" else MAX_BYTES
            if size > limit:
                raise ReportError(f"{size} bytes is over the {limit}-byte limit for {fmt}")
            stream.seek(0)
            report = _reader(fmt)(stream)
    except ReportError as exc:
        raise ReportError(f"{label}: {exc}") from None
    except OSError as exc:
        raise ReportError(f"{label}: cannot read ({exc.strerror or exc})") from None
    for f in report.files.values():
        f.finish()
    return report


_READERS: dict[str, Callable[[BinaryIO], ReportData]] = {
    "xml": read_xml_report,
    "lcov": read_lcov,
    "go": read_go_profile,
    "coverage.py-json": read_coverage_json,
}


def _reader(fmt: str) -> Callable[[BinaryIO], ReportData]:
    return _READERS[fmt]

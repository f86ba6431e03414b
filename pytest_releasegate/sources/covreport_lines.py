"""Line-wise reading for the text formats (LCOV, Go profiles): bounded line length."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from .covreport_model import ReportError

_CHUNK = 1024 * 1024
MAX_LINE = 64 * 1024


def line_chunks(stream: BinaryIO, chunk_size: int = _CHUNK) -> Iterator[tuple[int, list[bytes]]]:
    """(lines before this chunk, its lines without their ends), about a MiB at a time.

    A reader loops over each chunk's list itself (no generator step per line)
    and names line ``before + index + 1`` in its errors.
    """
    before = 0
    rest = b""
    while True:
        chunk = stream.read(chunk_size)
        if not chunk:
            break
        parts = (rest + chunk).split(b"\n")
        rest = parts.pop()
        if len(rest) > MAX_LINE:
            raise ReportError(f"line {before + len(parts) + 1}: longer than {MAX_LINE} bytes")
        if b"\r" in chunk:
            parts = [p.rstrip(b"\r") for p in parts]
        yield before, parts
        before += len(parts)
    if rest:
        yield before, [rest.rstrip(b"\r")]


def numbered_lines(stream: BinaryIO, chunk_size: int = _CHUNK) -> Iterator[tuple[int, bytes]]:
    """(line number, line without its end) for every line; a line over 64 KiB is refused."""
    number = 0
    rest = b""
    while True:
        chunk = stream.read(chunk_size)
        if not chunk:
            break
        parts = (rest + chunk).split(b"\n")
        rest = parts.pop()
        if len(rest) > MAX_LINE:
            raise ReportError(f"line {number + len(parts) + 1}: longer than {MAX_LINE} bytes")
        for part in parts:
            number += 1
            yield number, part.rstrip(b"\r")
    if rest:
        yield number + 1, rest.rstrip(b"\r")

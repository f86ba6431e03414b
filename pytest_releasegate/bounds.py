"""Limits on what the gate takes in and gives out (SPEC §13: fail-closed numbers, bounded inputs).

Everything here is pure and cheap; the other modules call it at their edges:

* :func:`finite` says whether a value is a number the gate can compare:
  a real ``int``/``float`` (never a ``bool``) representable as a finite
  double. ``nan``, ``±inf`` and ``10**400`` are not.
* :func:`json_safe` is the last step before any JSON is written: every
  number that is not finite becomes ``null``, so no file ever holds a bare
  ``NaN``/``Infinity`` (writers also pass ``allow_nan=False`` as a guard).
* :func:`clip_name` / :func:`clip_message` bound names taken from inputs
  (test ids, rule names) to :data:`MAX_NAME` characters and messages to
  :data:`MAX_MESSAGE`, and replace lone surrogates (a non-UTF-8 file name
  decoded with ``surrogateescape``) with U+FFFD, so every output can be
  encoded as UTF-8 and stays small whatever the input.
* :func:`one_line` escapes control characters for the terminal, so a name or
  message can never start a line of its own or move the cursor.
* :func:`too_deep` measures nesting without recursion.
* :func:`read_regular_text` refuses a directory, a FIFO or a device before
  opening it, so reading a policy, baseline or verdict never blocks.
"""

from __future__ import annotations

import math
import os
import re
import stat
from collections.abc import Mapping
from typing import Any

#: Longest name (test id, rule name, selection value) kept in any output.
MAX_NAME = 1024
#: Longest message (a rule's message, a warning) kept in any output.
MAX_MESSAGE = 8192
#: Deepest nesting accepted in a policy, a baseline or a verdict file.
MAX_DEPTH = 64

_ELLIPSIS = "\u2026"
_SURROGATES = re.compile("[\ud800-\udfff]")
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def finite(value: Any) -> float | None:
    """``value`` as a finite float, or None when it is not a finite real number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int beyond the double range (10**400)
        return None
    return number if math.isfinite(number) else None


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite number replaced by None (dicts, lists, tuples walked)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, int) and not isinstance(value, bool):
        return value if finite(value) is not None else None
    if isinstance(value, Mapping):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def _clip(text: str, limit: int) -> str:
    if len(text) > limit:
        text = text[: limit - 1] + _ELLIPSIS
    if _SURROGATES.search(text):
        text = _SURROGATES.sub("\ufffd", text)
    return text


def clip_name(text: str) -> str:
    """A name from the input, at most :data:`MAX_NAME` characters, encodable as UTF-8."""
    return _clip(text, MAX_NAME)


def clip_id(text: str) -> str:
    """An identifier from the input cut to :data:`MAX_NAME` characters, still distinct.

    Two long ids that share their first thousand characters stay two ids: the
    cut one ends in a digest of the whole.
    """
    if len(text) <= MAX_NAME:
        return text
    import hashlib

    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{text[: MAX_NAME - 18]}\u2026~{digest}"


def clip_message(text: str) -> str:
    """A message, at most :data:`MAX_MESSAGE` characters, encodable as UTF-8."""
    return _clip(text, MAX_MESSAGE)


def has_control(text: str) -> bool:
    """Whether ``text`` holds a control, line-separator or bidi-override character."""
    return _CONTROLS.search(text) is not None


def one_line(text: str) -> str:
    """``text`` with control characters escaped (``\\n``, ``\\x1b``, ``\\u202e``)."""
    if not _CONTROLS.search(text):
        return text
    return _CONTROLS.sub(
        lambda m: _ESCAPES.get(m.group(), m.group().encode("unicode_escape").decode()), text
    )


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` cut to ``limit`` and with the characters XML 1.0 cannot hold escaped (``\\x1b``)."""
    text = text if len(text) <= limit else text[: limit - 1] + _ELLIPSIS
    if not _NOT_XML.search(text):
        return text
    return _NOT_XML.sub(
        lambda m: m.group().encode("unicode_escape", "backslashreplace").decode(), text
    )


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether lists/dicts in ``value`` nest more than ``limit`` levels (no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if depth >= limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class NotRegularFile(OSError):
    """The path exists but is not a regular file (a directory, a FIFO, a device)."""


def file_kind(mode: int) -> str:
    """A few words for a non-regular file's type: 'a directory', 'a FIFO', ..."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def check_regular(path: str | os.PathLike[str]) -> None:
    """Raise :class:`NotRegularFile` (or FileNotFoundError…) unless ``path`` is a regular file."""
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise NotRegularFile(f"{os.fspath(path)} is {file_kind(mode)}, not a regular file")


def read_regular_text(path: str | os.PathLike[str]) -> str:
    """A regular file's UTF-8 text; a directory, FIFO or device raises :class:`NotRegularFile`.

    The file is opened without blocking and checked again after opening, so a
    FIFO swapped in between the two never makes the read wait.
    """
    check_regular(path)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as fh:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(f"{os.fspath(path)} is {file_kind(mode)}, not a regular file")
        data = fh.read()
    return data.decode("utf-8")

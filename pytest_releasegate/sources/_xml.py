"""The hardened streaming XML set-up every test-report reader shares.

One place decides how an XML report is read, whatever its format (JUnit,
TestNG, NUnit 2 and 3, TRX):

* expat, fed 64 KiB at a time: no tree is built, memory does not grow with
  the file's size;
* any ``<!DOCTYPE>`` is refused before its internal subset is read, so no
  entity is ever declared, expanded or fetched, and parameter-entity parsing
  is off;
* a declared encoding expat does not know (Shift_JIS, GB18030, ...) is
  decoded in Python and fed as UTF-8; an unknown one is an error;
* every problem is a :class:`ReportError` with a one-line message, never a
  traceback.

A reader passes :func:`parse_xml` a ``make(parser, refuse)`` callable that
installs its handlers on a fresh parser and returns a ``finish()`` callable
giving the result. ``make`` may be called twice (once more after an
encoding restart), so its state must live inside it.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from typing import BinaryIO, NoReturn, TypeVar
from xml.parsers import expat

__all__ = ["CHUNK", "MAX_DEPTH", "ReportError", "parse_xml", "root_element"]

CHUNK = 64 * 1024
#: Elements nested deeper than this are refused (no real report comes close).
MAX_DEPTH = 256

T = TypeVar("T")
Refuse = Callable[[str], NoReturn]
Make = Callable[["expat.XMLParserType", Refuse], Callable[[], T]]

_DECL_ENCODING = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']")
_UNKNOWN_ENCODING = expat.errors.codes[expat.errors.XML_ERROR_UNKNOWN_ENCODING]


class ReportError(Exception):
    """A test report that cannot be read. ``str()`` is one line (the caller adds the file)."""


class _Refused(Exception):
    """Raised from inside expat callbacks to stop the parse."""


class _UnknownEncoding(Exception):
    def __init__(self, encoding: str) -> None:
        super().__init__(encoding)
        self.encoding = encoding


def parse_xml(
    stream: BinaryIO,
    make: Make[T],
    *,
    what: str = "a test report",
    chunk_size: int = CHUNK,
) -> T:
    """Stream one XML document through hardened expat; ``make`` installs the handlers.

    ``what`` names the format in the DOCTYPE refusal. The stream must be
    seekable (a restart for an encoding expat does not know reads it again).
    Raises :class:`ReportError`.
    """
    head = stream.read(chunk_size)
    if not head:
        raise ReportError("empty file")
    try:
        return _run(head, stream, chunk_size, None, make, what)
    except _UnknownEncoding as exc:
        try:
            decoder = codecs.getincrementaldecoder(exc.encoding)(errors="strict")
        except LookupError:
            raise ReportError(f"unknown encoding {exc.encoding!r}") from None
        stream.seek(0)
        return _run(stream.read(chunk_size), stream, chunk_size, decoder, make, what)


def _run(
    head: bytes,
    stream: BinaryIO,
    chunk_size: int,
    decode: codecs.IncrementalDecoder | None,
    make: Make[T],
    what: str,
) -> T:
    parser = expat.ParserCreate("UTF-8" if decode is not None else None)
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    refused: list[str] = []

    def refuse(message: str) -> NoReturn:
        refused.append(message)
        raise _Refused(message)

    def doctype(*_: object) -> None:
        refuse(f"a DOCTYPE is not allowed in {what} (no DTD or entity is ever read)")

    parser.StartDoctypeDeclHandler = doctype
    finish = make(parser, refuse)
    chunk = head
    final = False
    run = 0  # bytes fed since the last chunk that held a `<`
    try:
        while True:
            if decode is not None:
                parser.Parse(decode.decode(chunk, final), final)
            else:
                parser.Parse(chunk, final)
            if final:
                break
            chunk = stream.read(chunk_size)
            final = not chunk
            if final:
                continue
            if b"<" in chunk:
                run = 0
            else:
                # No `<`: the chunk continues one token (a start tag with a
                # huge attribute) or a run of text. Expat 2.5 rescans an
                # unfinished token from its start on every call, so a 100 MB
                # attribute fed 64 KiB at a time costs minutes; blocks that
                # double (up to 32 MiB) keep it linear.
                chunk, final = _grow(chunk, stream, chunk_size, min(run, _MAX_RUN))
                run += len(chunk)
    except _Refused:
        raise ReportError(refused[-1]) from None
    except UnicodeDecodeError as exc:
        raise ReportError(f"cannot decode as {exc.encoding}: {exc.reason}") from None
    except LookupError:  # pyexpat asked Python for a codec it does not have
        raise ReportError(f"unknown encoding {_declared(head)!r}") from None
    except ValueError:  # pyexpat: "multi-byte encodings are not supported"
        if decode is None and _DECL_ENCODING.match(head):
            raise _UnknownEncoding(_declared(head)) from None
        raise ReportError("unsupported encoding") from None
    except expat.ExpatError as exc:
        if exc.code == _UNKNOWN_ENCODING and decode is None and _DECL_ENCODING.match(head):
            raise _UnknownEncoding(_declared(head)) from None
        reason = expat.errors.messages[exc.code]
        raise ReportError(
            f"not well-formed XML: {reason} at line {exc.lineno}, column {exc.offset}"
        ) from None
    return finish()


_MAX_RUN = 32 * 1024 * 1024


def _grow(chunk: bytes, stream: BinaryIO, chunk_size: int, target: int) -> tuple[bytes, bool]:
    """``chunk`` and what follows, up to ``target`` bytes or a ``<``; and whether at the end."""
    parts = [chunk]
    size = len(chunk)
    while size < target:
        more = stream.read(chunk_size)
        if not more:
            return b"".join(parts), True
        parts.append(more)
        size += len(more)
        if b"<" in more:
            break
    return b"".join(parts), False


def _declared(head: bytes) -> str:
    match = _DECL_ENCODING.match(head)
    return match.group(1).decode("ascii") if match else "?"


class _Root(Exception):
    def __init__(self, tag: str, attrs: dict[str, str]) -> None:
        super().__init__(tag)
        self.tag = tag
        self.attrs = attrs


def root_element(stream: BinaryIO) -> tuple[str, dict[str, str]]:
    """The root element's tag and attributes, read with the same hardening.

    Stops at the first start tag; raises :class:`ReportError` for a file
    that is empty, not XML up to there, or has a DOCTYPE.
    """

    def make(parser: expat.XMLParserType, refuse: Refuse) -> Callable[[], NoReturn]:
        def start(tag: str, attrs: dict[str, str]) -> None:
            raise _Root(tag, attrs)

        parser.StartElementHandler = start

        def finish() -> NoReturn:
            raise ReportError("no root element")

        return finish

    try:
        parse_xml(stream, make)
    except _Root as found:
        return found.tag, found.attrs
    raise AssertionError("unreachable")  # pragma: no cover

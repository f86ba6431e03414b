"""The hardened, streaming XML driver shared by the Cobertura, Clover and JaCoCo readers.

Expat, 64 KiB at a time, no tree. No DTD is ever processed: a DOCTYPE that
only names an external id (JaCoCo and Istanbul write one) is ignored and
never fetched; one with an internal subset is refused, and so is any entity
reference, so nothing is ever declared, expanded or read from elsewhere.
Nesting depth is capped. The root element picks the reader: ``<report>`` is
JaCoCo; ``<coverage>`` is Cobertura or Clover, told apart by its attributes
or its first child.
"""

from __future__ import annotations

from typing import Any, BinaryIO, NoReturn, Protocol
from xml.parsers import expat

from .covreport import ReportData, ReportError

_CHUNK = 64 * 1024
_MAX_DEPTH = 64


class Handler(Protocol):
    def start(self, tag: str, attrs: dict[str, str]) -> None: ...
    def end(self, tag: str) -> None: ...


class _Dispatch:
    """Decides the format from the root element (and maybe its first child)."""

    def __init__(self, parser: Any) -> None:
        self.parser = parser
        self.depth = 0
        self.handler: Handler | None = None
        self.report: ReportData | None = None
        self.root_attrs: dict[str, str] = {}

    def refuse(self, message: str) -> NoReturn:
        raise ReportError(message)

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            self.refuse(f"elements nested more than {_MAX_DEPTH} deep")
        if self.handler is not None:
            self.handler.start(tag, attrs)
            return
        if self.depth == 1:
            if tag == "report":
                self._use("jacoco")
            elif tag == "coverage":
                if "line-rate" in attrs or "lines-valid" in attrs:
                    self._use("cobertura")
                elif "clover" in attrs:
                    self._use("clover")
                else:
                    self.root_attrs = attrs
                return
            else:
                self.refuse(
                    f"root element <{tag}> is not a coverage report "
                    "(Cobertura or Clover <coverage>, JaCoCo <report>)"
                )
            assert self.handler is not None
            self.handler.start(tag, attrs)
            return
        # The first child of an undecided <coverage>.
        if tag in ("project", "testproject"):
            self._use("clover")
        else:
            self._use("cobertura")
        assert self.handler is not None
        self.handler.start("coverage", self.root_attrs)
        self.handler.start(tag, attrs)

    def end(self, tag: str) -> None:
        self.depth -= 1
        if self.handler is not None:
            self.handler.end(tag)
        elif self.depth == 0 and tag == "coverage":
            self._use("cobertura")  # an empty <coverage/>: no files

    def _use(self, fmt: str) -> None:
        if fmt == "jacoco":
            from .covreport_jacoco import JaCoCoHandler

            self.report = ReportData("jacoco", "jacoco")
            self.handler = JaCoCoHandler(self.report)
        elif fmt == "clover":
            from .covreport_clover import CloverHandler

            self.report = ReportData("clover")
            self.handler = CloverHandler(self.report)
        else:
            from .covreport_cobertura import CoberturaHandler

            self.report = ReportData("cobertura", "cobertura")
            self.handler = CoberturaHandler(self.report, self.parser)


def read_xml_report(stream: BinaryIO, chunk_size: int = _CHUNK) -> ReportData:
    """Read a Cobertura, Clover or JaCoCo XML report; ReportError names the line."""
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    dispatch = _Dispatch(parser)

    def doctype(name: str, system_id: Any, public_id: Any, has_internal_subset: int) -> None:
        if has_internal_subset:
            raise ReportError(
                "a DOCTYPE with an internal subset is not allowed (no DTD or entity is ever read)"
            )

    def entity(*_: Any) -> NoReturn:
        raise ReportError("entity declarations are not allowed (no entity is ever expanded)")

    def skipped(name: str, *_: Any) -> NoReturn:
        raise ReportError(f"entity reference &{name}; is not allowed (no entity is ever expanded)")

    def external(*_: Any) -> NoReturn:
        raise ReportError("external entities are not allowed (nothing is ever fetched)")

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.UnparsedEntityDeclHandler = entity
    parser.SkippedEntityHandler = skipped
    parser.ExternalEntityRefHandler = external
    parser.StartElementHandler = dispatch.start
    parser.EndElementHandler = dispatch.end
    try:
        while True:
            chunk = stream.read(chunk_size)
            parser.Parse(chunk, not chunk)
            if not chunk:
                break
            if dispatch.handler is not None:
                # The format is known: call its handlers directly from now on.
                handler = dispatch.handler
                parser.StartElementHandler = _deep(dispatch, handler)
                parser.EndElementHandler = _deep_end(dispatch, handler)
    except ReportError as exc:
        raise ReportError(f"line {parser.CurrentLineNumber}: {exc}") from None
    except expat.ExpatError as exc:
        reason = expat.errors.messages[exc.code]
        raise ReportError(f"line {exc.lineno}: not well-formed XML: {reason}") from None
    except (LookupError, ValueError, UnicodeDecodeError) as exc:
        raise ReportError(f"unsupported encoding: {exc}") from None
    if dispatch.report is None:
        raise ReportError("no root element")
    return dispatch.report


def _deep(dispatch: _Dispatch, handler: Handler) -> Any:
    start = handler.start

    def deep_start(tag: str, attrs: dict[str, str]) -> None:
        depth = dispatch.depth + 1
        if depth > _MAX_DEPTH:
            raise ReportError(f"elements nested more than {_MAX_DEPTH} deep")
        dispatch.depth = depth
        start(tag, attrs)

    return deep_start


def _deep_end(dispatch: _Dispatch, handler: Handler) -> Any:
    end = handler.end

    def deep_end(tag: str) -> None:
        dispatch.depth -= 1
        end(tag)

    return deep_end

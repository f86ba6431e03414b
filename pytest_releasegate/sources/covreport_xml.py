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

from .covreport_clover import CloverHandler
from .covreport_cobertura import CoberturaHandler, LineRuns, LocatedError
from .covreport_jacoco import JaCoCoHandler
from .covreport_model import ReportData, ReportError

_CHUNK = 64 * 1024


class Handler(Protocol):
    """A format's reader: ``start``/``end`` become the parser's handlers once the format
    is known. Each counts its own nesting ``depth`` (except on its hot leaf element,
    ``<line>``, to keep the per-line path short) and calls :func:`too_deep` past
    ``MAX_DEPTH``."""

    depth: int

    def start(self, tag: str, attrs: dict[str, str]) -> None: ...
    def end(self, tag: str) -> None: ...


class _Dispatch:
    """Decides the format from the root element (and maybe its first child)."""

    def __init__(self, parser: Any, fast: LineRuns | None) -> None:
        self.parser = parser
        self.fast = fast
        self.handler: Handler | None = None
        self.report: ReportData | None = None
        self.root: dict[str, str] | None = None

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if self.root is None:
            if tag == "report":
                self._use("jacoco")
            elif tag != "coverage":
                raise ReportError(
                    f"root element <{tag}> is not a coverage report "
                    "(Cobertura or Clover <coverage>, JaCoCo <report>)"
                )
            elif "line-rate" in attrs or "lines-valid" in attrs:
                self._use("cobertura")
            elif "clover" in attrs:
                self._use("clover")
            else:
                self.root = attrs  # undecided: look at the first child
                return
            assert self.handler is not None
            self.handler.start(tag, attrs)
            return
        # The first child of an undecided <coverage>.
        self._use("clover" if tag in ("project", "testproject") else "cobertura")
        assert self.handler is not None
        self.handler.start("coverage", self.root)
        self.handler.start(tag, attrs)

    def end(self, tag: str) -> None:
        # Only an empty, undecided <coverage/> gets here: no files.
        self._use("cobertura")

    def _use(self, fmt: str) -> None:
        handler: Handler
        if fmt == "jacoco":
            self.report = ReportData("jacoco", "jacoco")
            handler = JaCoCoHandler(self.report)
        elif fmt == "clover":
            self.report = ReportData("clover")
            handler = CloverHandler(self.report)
        else:
            self.report = ReportData("cobertura", "cobertura")
            handler = CoberturaHandler(self.report, self.parser, self.fast)
        if self.fast is not None:
            self.fast.decide(fmt == "cobertura")
        self.handler = handler
        self.parser.StartElementHandler = handler.start
        self.parser.EndElementHandler = handler.end


def read_xml_report(stream: BinaryIO, chunk_size: int = _CHUNK, *, fast: bool = True) -> ReportData:
    """Read a Cobertura, Clover or JaCoCo XML report; ReportError names the line.

    ``fast=False`` turns off the Cobertura fast path (the tests compare both)."""
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    runs = LineRuns() if fast else None
    dispatch = _Dispatch(parser, runs)

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
            final = not chunk
            if runs is None:
                parser.Parse(chunk, final)
            else:
                for piece in runs.feed(chunk, final):
                    parser.Parse(piece, False)
                if final:
                    parser.Parse(b"", True)
            if final:
                break
    except LocatedError:
        raise
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

"""Cucumber JSON (``--format json``) as test records.

Each scenario (each example row of a Scenario Outline) is one test, as in
Cucumber's own "N scenarios (...)" summary; its outcome is the worst of its
steps and hooks, mapped by what cucumber-js's run does by default (strict:
undefined, pending and ambiguous steps fail it; docs/test-reports.md,
"Cucumber"):

* a failed step or hook (``Before``/``After``) → failed;
* an ``undefined``, ``pending`` or ``ambiguous`` step (the run fails, but
  no assertion did) → error; any status this reader does not know → error;
* otherwise a ``skipped`` step (a step that returned ``'skipped'``, a
  dry run) → skipped; else passed.

The nodeid is ``URI::Scenario name`` (a repeated name, as outline rows
have, gets `` #2``, `` #3`` …); the path is the feature's ``uri``, the
classname the feature's name, the tags (without ``@``) the markers.

JSON is read whole, so it is bounded before it is parsed: at most
:data:`MAX_BYTES`, nesting at most :data:`MAX_DEPTH` deep (checked by a
scan that never recurses), at most :data:`MAX_ITEMS` values.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from typing import Any, BinaryIO

from ..records import RecordTable
from ._collect import Collector
from ._xml import ReportError

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_ITEMS", "check_json_bounds", "parse_cucumber"]

#: Largest Cucumber JSON file read (bytes).
MAX_BYTES = 64 * 1024 * 1024
#: Deepest nesting of arrays and objects (Cucumber writes about 8).
MAX_DEPTH = 64
#: Most commas and colons outside strings (a bound on the values built).
MAX_ITEMS = 4_000_000

_CHUNK = 1024 * 1024
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_KEEP = b"[]{},:"
_DROP = bytes(b for b in range(256) if b not in _KEEP)
_INNERMOST = re.compile(rb"\[\]|\{\}")
_TOO_DEEP = re.compile(rb"[\[{]{%d}" % (MAX_DEPTH + 1))
_RANK = {"passed": 0, "skipped": 1, "pending": 2, "undefined": 3, "ambiguous": 4, "failed": 5}


def check_json_bounds(
    data: bytes, *, max_depth: int = MAX_DEPTH, max_items: int = MAX_ITEMS
) -> None:
    """Refuse JSON nested deeper than ``max_depth`` or with more than ``max_items`` values.

    Works on the bytes with regular expressions only (no recursion, a bounded
    number of linear passes), so a hostile file cannot blow the stack.
    """
    structure = _STRING.sub(b"", data).translate(None, _DROP)
    if structure.count(b",") + structure.count(b":") > max_items:
        raise ReportError(f"more than {max_items:,} JSON values: not read")
    brackets = structure.translate(None, b",:")
    too_deep = _TOO_DEEP if max_depth == MAX_DEPTH else re.compile(rb"[\[{]{%d}" % (max_depth + 1))
    for _ in range(max_depth + 1):
        if not brackets:
            return
        if too_deep.search(brackets):  # a run of openers: refused in one linear pass
            raise ReportError(f"JSON nested more than {max_depth} deep")
        reduced = _INNERMOST.sub(b"", brackets)
        if reduced == brackets:  # unbalanced: json.loads names the syntax error
            return
        brackets = reduced
    if brackets:
        raise ReportError(f"JSON nested more than {max_depth} deep")


def parse_cucumber(
    stream: BinaryIO, *, source: str, rootdir: str | None = None, max_bytes: int = MAX_BYTES
) -> RecordTable:
    """Read one Cucumber JSON stream; raises ``ReportError``."""
    too_large = f"larger than {max_bytes // (1024 * 1024)} MiB: not read"
    with contextlib.suppress(OSError, ValueError, AttributeError):  # not a real file
        if os.fstat(stream.fileno()).st_size > max_bytes:
            raise ReportError(too_large)
    chunks: list[bytes] = []
    size = 0
    while size <= max_bytes:  # read(n) would reserve n bytes up front
        chunk = stream.read(_CHUNK)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > max_bytes:
        raise ReportError(too_large)
    data = b"".join(chunks)
    del chunks
    if not data.strip():
        raise ReportError("empty file")
    check_json_bounds(data)
    try:
        doc = json.loads(data)
    except RecursionError:  # pragma: no cover - check_json_bounds stops it first
        raise ReportError(f"JSON nested more than {MAX_DEPTH} deep") from None
    except UnicodeDecodeError as exc:
        raise ReportError(f"not valid JSON: cannot decode ({exc.reason})") from None
    except ValueError as exc:
        raise ReportError(f"not valid JSON: {exc}") from None
    del data
    if not isinstance(doc, list):
        raise ReportError("not Cucumber JSON: the top level is not an array of features")
    out = Collector(source, rootdir, repeats="number")
    for number, feature in enumerate(doc, 1):
        if not isinstance(feature, dict) or not isinstance(feature.get("elements", []), list):
            raise ReportError(f"not Cucumber JSON: feature {number} is not an object with elements")
        _feature(out, feature, number)
    return out.records


def _feature(out: Collector, feature: dict[str, Any], number: int) -> None:
    uri = _text(feature.get("uri")) or _text(feature.get("name")) or f"feature {number}"
    feature_name = _text(feature.get("name")) or None
    feature_tags = _tags(feature)
    background: list[Any] = []
    for element in feature.get("elements") or ():
        if not isinstance(element, dict):
            raise ReportError(f"not Cucumber JSON: an element of {uri!r} is not an object")
        steps = _list(element.get("steps"))
        if element.get("type") == "background":
            background = steps  # Ruby Cucumber: its steps belong to the next scenario
            continue
        results = [*_list(element.get("before")), *background, *steps, *_list(element.get("after"))]
        background = []
        worst = "passed"
        message = None  # what the worst step says: its error, or what it is
        duration = 0
        for item in results:
            result = item.get("result") if isinstance(item, dict) else None
            if not isinstance(result, dict):
                raise ReportError(f"not Cucumber JSON: a step in {uri!r} has no result")
            status = _text(result.get("status"))
            if _RANK.get(status, 99) > _RANK.get(worst, 99):
                worst = status
                step = f"{_text(item.get('keyword'))}{_text(item.get('name'))}".strip()
                message = _text(result.get("error_message")) or f"{status} step: {step or '?'}"
            if isinstance(result.get("duration"), (int, float)):
                duration += result["duration"]
        if worst == "failed":
            outcome = "failed"
        elif worst in ("passed", "skipped"):
            outcome = worst
        else:  # undefined, pending, ambiguous, or a status we do not know
            outcome = "error"
        name = _text(element.get("name")) or f"line {element.get('line', '?')}"
        markers = tuple(dict.fromkeys((*feature_tags, *_tags(element))))
        out.add(
            f"{uri}::{name}",
            outcome,
            duration / 1e9,
            classname=feature_name,
            file=uri if _text(feature.get("uri")) else None,
            markers=markers,
            message=message,
        )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _tags(element: dict[str, Any]) -> tuple[str, ...]:
    tags = []
    for tag in _list(element.get("tags")):
        name = _text(tag.get("name")) if isinstance(tag, dict) else ""
        if name:
            tags.append(name.removeprefix("@"))
    return tuple(tags)

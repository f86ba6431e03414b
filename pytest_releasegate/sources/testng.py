"""TestNG's own XML report (``testng-results.xml``) as test records.

Each ``<test-method>`` that is not a configuration method is one test; the
mapping follows TestNG's console summary (``Total tests run: N, Failures:
F, Skips: S``) and its exit code (docs/test-reports.md, "TestNG"):

* ``PASS`` → passed, ``FAIL`` → failed, ``SKIP`` → skipped (also a test
  skipped because a method it depends on failed: the failure is counted
  where it happened);
* ``SUCCESS_PERCENTAGE_FAILURE`` (an invocation that failed within
  ``successPercentage``) → failed: TestNG's console counts it among the
  failures and sets exit-code bit 4;
* a configuration method (``is-config="true"``: ``@BeforeClass`` …) is not
  a test; when it failed it is one error (``CLASS::METHOD [config]``), as
  TestNG's "Configuration Failures" line shows it;
* each invocation is a test: a data-provider row is ``CLASS::METHOD(ARGS)``,
  a repeated invocation without arguments ``CLASS::METHOD #2``, ``#3`` …;
* the groups a method belongs to are its markers (``select.marker``);
* an attempt TestNG 7 retried (``retried="true"``, written as ``SKIP``) is
  not a test of its own: the attempt after it counts, flaky when it passed,
  as JUnit reruns are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO
from xml.parsers import expat

from ..records import RecordTable
from ._collect import Collector, seconds
from ._xml import MAX_DEPTH, Refuse, parse_xml

__all__ = ["parse_testng"]

_OUTCOMES = {
    "PASS": "passed",
    "FAIL": "failed",
    "SKIP": "skipped",
    "SUCCESS_PERCENTAGE_FAILURE": "failed",
}
_MAX_PARAM = 200  # characters of one data-provider argument kept for the nodeid


def parse_testng(stream: BinaryIO, *, source: str, rootdir: str | None = None) -> RecordTable:
    """Read a ``testng-results.xml`` stream; raises ``ReportError``."""
    return parse_xml(stream, lambda p, r: _handlers(p, r, source, rootdir), what="TestNG XML")


def _handlers(
    parser: expat.XMLParserType, refuse: Refuse, source: str, rootdir: str | None
) -> Callable[[], RecordTable]:
    out = Collector(source, rootdir, repeats="number")
    retried: dict[str, float] = {}  # nodeid → seconds spent in retried attempts
    groups: dict[tuple[str, str], list[str]] = {}
    stack: list[str] = []
    state: dict[str, object] = {"class": None, "method": None, "group": None}
    params: list[str] = []
    text: list[str] = []

    def chars(data: str) -> None:
        if sum(map(len, text)) < _MAX_PARAM:
            text.append(data)

    def start(tag: str, attrs: dict[str, str]) -> None:
        if not stack and tag != "testng-results":
            refuse(f"root element is <{tag}>, expected <testng-results>")
        stack.append(tag)
        if len(stack) > MAX_DEPTH:
            refuse(f"elements nested more than {MAX_DEPTH} deep")
        if tag == "class":
            state["class"] = attrs.get("name") or ""
        elif tag == "test-method":
            if "name" not in attrs:
                refuse(f"<test-method> without a name at line {parser.CurrentLineNumber}")
            state["method"] = attrs
            params.clear()
        elif tag == "group" and "groups" in stack:
            state["group"] = attrs.get("name")
        elif tag == "method" and state["group"] and "groups" in stack:
            key = (attrs.get("class", ""), attrs.get("name", ""))
            groups.setdefault(key, []).append(str(state["group"]))
        elif tag == "value" and state["method"] is not None and "params" in stack:
            text.clear()
            parser.CharacterDataHandler = chars

    def end(tag: str) -> None:
        stack.pop()
        if tag == "value" and parser.CharacterDataHandler is chars:
            parser.CharacterDataHandler = None
            value = "".join(text).strip()
            params.append(value if len(value) <= _MAX_PARAM else value[:_MAX_PARAM] + "…")
        elif tag == "test-method":
            attrs = state["method"]
            state["method"] = None
            assert isinstance(attrs, dict)
            _add(out, str(state["class"] or ""), attrs, params, groups, retried)

    def finish() -> RecordTable:
        for nodeid, spent in retried.items():  # retried, and no later attempt written
            out.add(nodeid, "failed", spent, classname=nodeid.partition("::")[0] or None)
        return out.records

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    return finish


def _add(
    out: Collector,
    classname: str,
    attrs: dict[str, str],
    params: list[str],
    groups: dict[tuple[str, str], list[str]],
    retried: dict[str, float],
) -> None:
    name = attrs["name"]
    status = attrs.get("status", "")
    duration = seconds(attrs.get("duration-ms"), 0.001)
    base = f"{classname}::{name}" if classname else name
    if attrs.get("is-config") == "true":
        if status in ("FAIL", "SUCCESS_PERCENTAGE_FAILURE"):
            out.add(f"{base} [config]", "error", duration, classname=classname)
        return
    nodeid = f"{base}({', '.join(params)})" if params else base
    if attrs.get("retried") == "true":
        retried[nodeid] = retried.get(nodeid, 0.0) + duration
        return
    outcome = _OUTCOMES.get(status, "error")  # an unknown status fails closed
    markers = tuple(groups.get((classname, name), ()))
    earlier = retried.pop(nodeid, None)
    flaky = earlier is not None and outcome == "passed"
    duration += earlier or 0.0
    out.add(nodeid, outcome, duration, classname=classname, markers=markers, flaky=flaky)

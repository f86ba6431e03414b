"""The verdict's lists of failing and flaky tests (`failures[]`, `flaky[]`).

For the HTML report and PR comments: which tests failed or errored, with
the first line of their message, and which passed only on a rerun. At most
:data:`LIMIT` entries each; the verdict counts the rest, so a run with
100,000 failures still gives a verdict of bounded size; node ids and messages
are bounded as every output is (:mod:`.bounds`).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from .bounds import clip_id, clip_message, clip_name
from .model import TestRecord

LIMIT = 1000
MESSAGE_CHARS = 500


class Listed(NamedTuple):
    failures: tuple[dict[str, Any], ...]
    failures_omitted: int
    flaky: tuple[dict[str, Any], ...]
    flaky_omitted: int


def first_line(text: str | None, limit: int = MESSAGE_CHARS) -> str | None:
    """The first non-blank line of `text`, at most `limit` characters (None stays None)."""
    if text is None:
        return None
    for line in clip_message(text).splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 1] + "\u2026"
    return ""


def list_tests(records: Iterable[TestRecord], quarantined: Sequence[str] = ()) -> Listed:
    """Failing/erroring and flaky tests, in the order the records come.

    `quarantined` are node-id globs of live quarantine entries: their failures
    are listed too (they ran and failed) but marked ``quarantined``.
    """
    failures: list[dict[str, Any]] = []
    flaky: list[dict[str, Any]] = []
    failures_omitted = flaky_omitted = 0
    for record in records:
        outcome = record.outcome
        if outcome == "failed" or outcome == "error":
            if len(failures) >= LIMIT:
                failures_omitted += 1
                continue
            entry: dict[str, Any] = {
                "nodeid": clip_id(record.nodeid),
                "source": clip_name(record.source),
                "outcome": outcome,
                "message": first_line(record.message),
            }
            if quarantined and any(fnmatch.fnmatchcase(record.nodeid, q) for q in quarantined):
                entry["quarantined"] = True
            failures.append(entry)
        elif record.flaky:
            if len(flaky) >= LIMIT:
                flaky_omitted += 1
                continue
            flaky.append({"nodeid": clip_id(record.nodeid), "source": clip_name(record.source)})
    return Listed(tuple(failures), failures_omitted, tuple(flaky), flaky_omitted)

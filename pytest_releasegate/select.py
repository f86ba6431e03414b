"""Matching test records and files against a rule's `select`."""

from __future__ import annotations

import fnmatch
import functools
import re

from .model import Selection, TestRecord


@functools.lru_cache(maxsize=512)
def _path_regex(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


def path_matches(path: str, pattern: str) -> bool:
    """Glob on a `/`-separated relative path: `**` spans directories, `*` stays in one.

    A pattern without wildcards also matches everything below it (`app/payments`
    selects `app/payments/api.py`).
    """
    path = path.replace("\\", "/").removeprefix("./")
    pattern = pattern.replace("\\", "/").removeprefix("./")
    if _path_regex(pattern).fullmatch(path):
        return True
    return not any(c in pattern for c in "*?[") and path.startswith(pattern.rstrip("/") + "/")


def record_matches(record: TestRecord, sel: Selection) -> bool:
    """Whether a test record is in the selection (every set key must match)."""
    if sel.source is not None and record.source != sel.source:
        return False
    if sel.marker is not None and sel.marker not in record.markers:
        return False
    if sel.path is not None and not path_matches(record.file, sel.path):
        return False
    if sel.nodeid is not None and not fnmatch.fnmatchcase(record.nodeid, sel.nodeid):
        return False
    if sel.classname is not None and not fnmatch.fnmatchcase(record.classname or "", sel.classname):
        return False
    return sel.name is None or fnmatch.fnmatchcase(record.name, sel.name)

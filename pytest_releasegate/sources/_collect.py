"""What every test-report reader shares once it knows a test's outcome."""

from __future__ import annotations

import math
import os

from ..bounds import MAX_NAME, clip_id
from ..records import RecordTable
from .junit import _PathNormalizer

__all__ = ["Collector", "seconds"]


class Collector:
    """One file's records by nodeid, in a compact :class:`RecordTable`.

    ``repeats="merge"``: the same nodeid again is another attempt at the
    same test (a rerun), merged like JUnit reruns (:func:`merge_attempts`).
    ``repeats="number"``: it is another test (TestNG's ``invocationCount``,
    a Cucumber outline's example rows): ``NODEID #2``, ``#3``, ...
    """

    __slots__ = ("interned", "paths", "records", "repeats", "seen")

    def __init__(
        self,
        source: str,
        rootdir: str | os.PathLike[str] | None,
        *,
        repeats: str = "merge",
    ) -> None:
        self.paths = _PathNormalizer(rootdir)
        self.records = RecordTable(source)
        self.repeats = repeats
        self.seen: dict[str, int] = {}
        self.interned: dict[str, str] = {}

    def add(
        self,
        nodeid: str,
        outcome: str,
        duration: float = 0.0,
        *,
        classname: str | None = None,
        file: str | None = None,
        markers: tuple[str, ...] = (),
        flaky: bool = False,
        message: str | None = None,
    ) -> None:
        if self.repeats == "number" and nodeid in self.records:
            n = self.seen.get(nodeid, 1) + 1
            self.seen[nodeid] = n
            nodeid = f"{nodeid} #{n}"
        prefix, _, name = nodeid.rpartition("::")
        # A gigantic name from the input is kept cut, with a digest (bounds.clip_id).
        if len(name) > MAX_NAME:
            name = clip_id(name)
        if len(prefix) > MAX_NAME:
            prefix = clip_id(prefix)
        if classname:
            if len(classname) > MAX_NAME:
                classname = clip_id(classname)
            classname = self.interned.setdefault(classname, classname)
        if file is not None and len(file) > MAX_NAME:
            file = clip_id(file)
        self.records.add(
            prefix,
            name,
            outcome,
            duration if 0.0 <= duration < math.inf else 0.0,
            flaky,
            classname or None,
            self.paths(file or None),
            markers,
            message,
        )


def seconds(value: str | None, scale: float = 1.0) -> float:
    """A duration attribute as seconds; anything that is not a number is 0.0."""
    if not value:
        return 0.0
    try:
        result = float(value) * scale
    except ValueError:
        return 0.0
    return result if 0.0 <= result < math.inf else 0.0

"""Compact storage for the test records of one report source.

A report of 100,000 testcases would cost about 270 bytes a test as
:class:`~pytest_releasegate.model.TestRecord` objects in a dict. A
:class:`RecordTable` keeps the same facts column-wise: the nodeid split at
its last ``::`` into an interned prefix and the test's own name, the outcome
and the flaky flag in one byte each, the duration as a C double, and
(classname, path, markers) interned as one group id — about 170 bytes a
test.

It is a ``MutableMapping[str, TestRecord]``: reading an item builds a fresh
``TestRecord`` (changing that object changes nothing until it is stored
back with ``table[nodeid] = record``), so code written against the dicts of
records works unchanged. :meth:`RecordTable.tally` counts a selection
straight from the columns.
"""

from __future__ import annotations

import fnmatch
from array import array
from collections.abc import ItemsView, Iterator, MutableMapping, ValuesView
from typing import Any

from .failures import first_line
from .model import TEST_OUTCOMES, Selection, TestRecord
from .select import path_matches

__all__ = ["RecordTable"]

_CODE = {outcome: code for code, outcome in enumerate(TEST_OUTCOMES)}
_PASSED, _FAILED, _ERROR = _CODE["passed"], _CODE["failed"], _CODE["error"]
_NO_PREFIX = 0  # prefix id of a nodeid without "::"


class RecordTable(MutableMapping[str, TestRecord]):
    """One source's records by nodeid, in insertion order, stored column-wise."""

    __slots__ = (
        "_duration",
        "_flaky",
        "_group",
        "_group_ids",
        "_groups",
        "_index",
        "_last",
        "_messages",
        "_name",
        "_outcome",
        "_prefix",
        "_prefix_ids",
        "_prefixes",
        "source",
    )
    __test__ = False

    def __init__(self, source: str) -> None:
        self.source = source
        self._prefixes: list[str] = [""]
        self._prefix_ids: dict[str, int] = {}
        self._groups: list[tuple[str | None, str | None, tuple[str, ...]]] = []
        self._group_ids: dict[tuple[str | None, str | None, tuple[str, ...]], int] = {}
        # Per prefix: test name → row.
        self._index: list[dict[str, int]] = [{}]
        self._prefix = array("I")
        self._name: list[str] = []
        self._outcome = bytearray()
        self._flaky = bytearray()
        self._duration = array("d")
        self._group = array("I")
        # Row → the first line of a failed or erroring test's message (few rows have one).
        self._messages: dict[int, str] = {}
        # (prefix, its id, classname, path, markers, their group id) of the last add.
        self._last: tuple[Any, ...] = (object(), 0, object(), None, None, 0)

    # -- writing --------------------------------------------------------------

    def add(
        self,
        prefix: str | None,
        name: str,
        outcome: str,
        duration: float = 0.0,
        flaky: bool = False,
        classname: str | None = None,
        path: str | None = None,
        markers: tuple[str, ...] = (),
        message: str | None = None,
    ) -> None:
        """Add the test ``PREFIX::NAME`` (``NAME`` without a prefix); a repeat is a rerun.

        ``message`` is kept (its first line) for a failed or erroring test only.

        A repeated nodeid is another attempt at the same test, merged as
        :func:`~pytest_releasegate.sources.junit.merge_attempts` does.
        """
        if "::" in name:  # keep one canonical split: at the nodeid's last "::"
            full = f"{prefix}::{name}" if prefix else name
            prefix, _, name = full.rpartition("::")
        # Reports list a class's tests together: the last prefix and group
        # are checked first (by identity, then equality), a dict lookup only
        # when they change.
        last = self._last
        if prefix == last[0]:
            pid = last[1]
        elif prefix:
            pid = self._prefix_ids.get(prefix)
            if pid is None:
                pid = self._prefix_ids[prefix] = len(self._prefixes)
                self._prefixes.append(prefix)
                self._index.append({})
        else:
            pid = _NO_PREFIX
        if classname == last[2] and path == last[3] and markers == last[4]:
            gid = last[5]
        else:
            key = (classname, path, markers)
            gid = self._group_ids.get(key)
            if gid is None:
                gid = self._group_ids[key] = len(self._groups)
                self._groups.append(key)
        self._last = (prefix, pid, classname, path, markers, gid)
        index = self._index[pid]
        row = index.get(name)
        code = _CODE[outcome]
        if row is None:
            if message is not None and code in (_FAILED, _ERROR):
                self._messages[len(self._name)] = first_line(message) or ""
            index[name] = len(self._name)
            self._prefix.append(pid)
            self._name.append(name)
            self._outcome.append(code)
            self._flaky.append(flaky)
            self._duration.append(duration)
            self._group.append(gid)
            return
        # Another attempt: the later outcome counts; flaky when it passed; an
        # error outweighs a later failure; durations add up.
        if code == _FAILED and self._outcome[row] == _ERROR:
            code = _ERROR
        self._outcome[row] = code
        self._flaky[row] = code == _PASSED
        self._duration[row] += duration
        self._group[row] = gid
        self._set_message(row, code, message)

    def _set_message(self, row: int, code: int, message: str | None) -> None:
        if message is not None and code in (_FAILED, _ERROR):
            self._messages[row] = first_line(message) or ""
        else:
            self._messages.pop(row, None)

    def __setitem__(self, nodeid: str, record: TestRecord) -> None:
        prefix, _, name = nodeid.rpartition("::")
        row = self._find(nodeid)
        if row is None:
            self.add(
                prefix,
                name,
                record.outcome,
                record.duration,
                record.flaky,
                record.classname,
                record.path,
                tuple(record.markers),
                record.message,
            )
            return
        self._outcome[row] = _CODE[record.outcome]
        self._flaky[row] = bool(record.flaky)
        self._duration[row] = record.duration
        key = (record.classname, record.path, tuple(record.markers))
        gid = self._group_ids.get(key)
        if gid is None:
            gid = self._group_ids[key] = len(self._groups)
            self._groups.append(key)
        self._group[row] = gid
        self._set_message(row, self._outcome[row], record.message)

    def __delitem__(self, nodeid: str) -> None:
        raise TypeError("test records of a report source cannot be deleted")

    # -- reading --------------------------------------------------------------

    def _find(self, nodeid: str) -> int | None:
        prefix, _, name = nodeid.rpartition("::")
        pid = self._prefix_ids.get(prefix) if prefix else _NO_PREFIX
        return None if pid is None else self._index[pid].get(name)

    def _nodeid(self, row: int) -> str:
        pid = self._prefix[row]
        name = self._name[row]
        return f"{self._prefixes[pid]}::{name}" if pid else name

    def _record(self, row: int, nodeid: str) -> TestRecord:
        classname, path, markers = self._groups[self._group[row]]
        return TestRecord(
            nodeid,
            TEST_OUTCOMES[self._outcome[row]],
            self._duration[row],
            markers,
            bool(self._flaky[row]),
            self.source,
            path,
            classname,
            self._messages.get(row),
        )

    def __getitem__(self, nodeid: str) -> TestRecord:
        row = self._find(nodeid)
        if row is None:
            raise KeyError(nodeid)
        return self._record(row, nodeid)

    def __contains__(self, nodeid: object) -> bool:
        return isinstance(nodeid, str) and self._find(nodeid) is not None

    def __iter__(self) -> Iterator[str]:
        prefixes = self._prefixes
        for pid, name in zip(self._prefix, self._name, strict=True):
            yield f"{prefixes[pid]}::{name}" if pid else name

    def __len__(self) -> int:
        return len(self._name)

    def values(self) -> ValuesView[TestRecord]:
        """Every record, in order (each a fresh object); iterable again and again."""
        return _Values(self)

    def _iter_records(self) -> Iterator[TestRecord]:
        new = TestRecord
        prefixes = self._prefixes
        groups = self._groups
        source = self.source
        outcomes = TEST_OUTCOMES
        messages = self._messages
        columns = zip(
            self._prefix,
            self._name,
            self._outcome,
            self._flaky,
            self._duration,
            self._group,
            strict=True,
        )
        for row, (pid, name, code, flaky, duration, gid) in enumerate(columns):
            classname, path, markers = groups[gid]
            yield new(
                f"{prefixes[pid]}::{name}" if pid else name,
                outcomes[code],
                duration,
                markers,
                flaky == 1,
                source,
                path,
                classname,
                messages.get(row) if messages else None,
            )

    def failing_and_flaky(self) -> Iterator[TestRecord]:
        """The failed, erroring and flaky tests only, in order (what a verdict lists)."""
        rows: set[int] = set()
        for column, value in ((self._outcome, _FAILED), (self._outcome, _ERROR), (self._flaky, 1)):
            row = column.find(value)
            while row >= 0:
                rows.add(row)
                row = column.find(value, row + 1)
        for row in sorted(rows):
            yield self._record(row, self._nodeid(row))

    def items(self) -> ItemsView[str, TestRecord]:
        return _Items(self)

    def __repr__(self) -> str:
        return f"<RecordTable {self.source!r}: {len(self)} tests>"

    # -- counting -------------------------------------------------------------

    def tally(
        self, sel: Selection | None, counts: dict[str, int], examples: dict[str, list[str]]
    ) -> tuple[int, float, float]:
        """Add the selection's outcome counts to ``counts`` (keyed by outcome).

        Also fills ``examples`` (``failed``/``error`` → up to 3 nodeids).
        Returns ``(flaky, total seconds, max seconds)`` over the selection.
        Matches :func:`~pytest_releasegate.select.record_matches` without
        building a record per test.
        """
        if sel is not None and sel.source is not None and sel.source != self.source:
            return 0, 0.0, 0.0
        rows = self._selected_rows(sel)
        outcome_col = self._outcome
        if rows is None:  # every row
            for code, outcome in enumerate(TEST_OUTCOMES):
                n = outcome_col.count(code)
                if n:
                    counts[outcome] = counts.get(outcome, 0) + n
            for outcome, code in (("failed", _FAILED), ("error", _ERROR)):
                found = examples[outcome]
                start = 0
                while len(found) < 3:
                    row = outcome_col.find(code, start)
                    if row < 0:
                        break
                    found.append(self._nodeid(row))
                    start = row + 1
            durations = self._duration
            total = sum(durations)
            return self._flaky.count(1), total, max(durations, default=0.0)
        flaky = 0
        total = biggest = 0.0
        local = [0] * len(TEST_OUTCOMES)
        flaky_col = self._flaky
        durations = self._duration
        for row in rows:
            code = outcome_col[row]
            local[code] += 1
            if code in (_FAILED, _ERROR):
                found = examples[TEST_OUTCOMES[code]]
                if len(found) < 3:
                    found.append(self._nodeid(row))
            flaky += flaky_col[row]
            seconds = durations[row]
            total += seconds
            if seconds > biggest:
                biggest = seconds
        for code, n in enumerate(local):
            if n:
                outcome = TEST_OUTCOMES[code]
                counts[outcome] = counts.get(outcome, 0) + n
        return flaky, total, biggest

    def _selected_rows(self, sel: Selection | None) -> Any:
        """Row numbers in the selection (an iterable), or None for every row."""
        if sel is None:
            return None
        by_group = sel.marker is not None or sel.path is not None or sel.classname is not None
        by_name = sel.nodeid is not None or sel.name is not None
        if not by_group and not by_name:
            return None
        wanted_groups: set[int] | None = None
        if by_group:
            wanted_groups = set()
            for gid, (classname, path, markers) in enumerate(self._groups):
                if sel.marker is not None and sel.marker not in markers:
                    continue
                if sel.classname is not None and not fnmatch.fnmatchcase(
                    classname or "", sel.classname
                ):
                    continue
                if sel.path is not None:
                    # As TestRecord.file: the path, else the nodeid's first part (per row).
                    if path is None:
                        wanted_groups = None
                        break
                    if not path_matches(path, sel.path):
                        continue
                wanted_groups.add(gid)
        if wanted_groups is not None and not by_name:
            group = self._group
            return [row for row in range(len(group)) if group[row] in wanted_groups]
        return self._rows_by_record(sel, wanted_groups)

    def _rows_by_record(self, sel: Selection, wanted_groups: set[int] | None) -> Iterator[int]:
        from .select import record_matches

        group = self._group
        for row in range(len(self._name)):
            if wanted_groups is not None and group[row] not in wanted_groups:
                continue
            if record_matches(self._record(row, self._nodeid(row)), sel):
                yield row


class _Values(ValuesView[TestRecord]):
    """``RecordTable.values()``: builds the records straight from the columns."""

    _mapping: RecordTable

    def __iter__(self) -> Iterator[TestRecord]:
        return self._mapping._iter_records()


class _Items(ItemsView[str, TestRecord]):
    _mapping: RecordTable

    def __iter__(self) -> Iterator[tuple[str, TestRecord]]:
        for record in self._mapping._iter_records():
            yield record.nodeid, record
